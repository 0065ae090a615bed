/* Baselines of the benchmark: the "empty NIF call" (bench/bench_hist.erl)
 * and the discarding tracer (bench/bench_trace.erl).
 *
 * empty(Term, Integer) takes the same two arguments as
 * supertester_nif:hist_record/2 and does the least a real NIF must do with
 * them: it decodes the integer with enif_get_uint64 (raising badarg when it
 * is not one, as hist_record does) and returns the atom ok, created once at
 * load time. The first argument is not inspected: looking up a resource is
 * part of the work a histogram record does, not of the call itself. */
#include <erl_nif.h>

static ERL_NIF_TERM atom_ok, atom_discard, atom_trace;

static int on_load(ErlNifEnv *env, void **priv_data, ERL_NIF_TERM info) {
  (void)priv_data;
  (void)info;
  atom_ok = enif_make_atom(env, "ok");
  atom_discard = enif_make_atom(env, "discard");
  atom_trace = enif_make_atom(env, "trace");
  return 0;
}

/* Reloading the stub in a running VM keeps working. */
static int on_upgrade(ErlNifEnv *env, void **priv_data, void **old_priv_data,
                      ERL_NIF_TERM info) {
  (void)old_priv_data;
  return on_load(env, priv_data, info);
}

static ERL_NIF_TERM empty(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  ErlNifUInt64 value;
  (void)argc;
  if (!enif_get_uint64(env, argv[1], &value)) return enif_make_badarg(env);
  return atom_ok;
}

/* The floors of tracing (bench/bench_trace.erl). As an erl_tracer module
 * whose enabled/3 discards every event, this module costs the traced
 * process only the VM's trace hook and one NIF call per event. With the
 * tracer state `trace', enabled/3 lets every event through to a trace/5
 * that does nothing: the VM's cost of handing an event to a tracer. */
static ERL_NIF_TERM enabled(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)env;
  (void)argc;
  return argv[1] == atom_trace ? atom_trace : atom_discard;
}

static ERL_NIF_TERM trace(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)env;
  (void)argc;
  (void)argv;
  return atom_ok;
}

static ErlNifFunc nif_funcs[] = {
    {"empty", 2, empty, 0},
    {"enabled", 3, enabled, 0},
    {"trace", 5, trace, 0},
};

ERL_NIF_INIT(bench_empty_nif, nif_funcs, on_load, NULL, on_upgrade, NULL)
