/* Chaos glue: fault plans from a seed (core/chaos*.c), their string form,
 * a seeded generator for the Erlang side's random decisions, and the
 * step-driven minimisation of a failing run.
 *
 * The Erlang side (supertester_chaos) does everything that talks OTP:
 * mapping plan targets to children, sending exit signals, waiting for
 * restarts. Here only pure computation happens, so replaying a seed gives
 * the same decisions whatever the machine. */
#include <string.h>

#include "nif_priv.h"
#include "supertester/chaos.h"

/* Plans longer than this are refused: a plan is made in one call. */
#define MAX_PLAN_ACTIONS 1000000

typedef struct rng_res_s {
  ErlNifMutex *lock;
  st_rng_t rng;
} rng_res_t;

typedef struct ddmin_res_s {
  ErlNifMutex *lock;
  st_chaos_ddmin_t *d;
  size_t n;
} ddmin_res_t;

static void rng_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  rng_res_t *r = obj;
  if (r->lock) enif_mutex_destroy(r->lock);
}

static void ddmin_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  ddmin_res_t *r = obj;
  if (r->d) st_chaos_ddmin_destroy(r->d);
  if (r->lock) enif_mutex_destroy(r->lock);
}

bool st_nif_chaos_open(ErlNifEnv *env, st_nif_priv_t *priv,
                       ErlNifResourceFlags flags) {
  ErlNifResourceTypeInit rng_init = {.dtor = rng_dtor};
  ErlNifResourceTypeInit ddmin_init = {.dtor = ddmin_dtor};
  priv->rng_type = enif_open_resource_type_x(env, "supertester_rng", &rng_init,
                                             flags, NULL);
  priv->ddmin_type = enif_open_resource_type_x(env, "supertester_ddmin",
                                               &ddmin_init, flags, NULL);
  return priv->rng_type != NULL && priv->ddmin_type != NULL;
}

static bool get_u32_key(ErlNifEnv *env, ERL_NIF_TERM map, const char *key,
                        uint32_t *out) {
  ERL_NIF_TERM v;
  unsigned u;
  if (!enif_get_map_value(env, map, enif_make_atom(env, key), &v) ||
      !enif_get_uint(env, v, &u))
    return false;
  *out = u;
  return true;
}

/* The plan parameters from a map with every key present. */
static bool get_params(ErlNifEnv *env, ERL_NIF_TERM map, st_chaos_params_t *p) {
  ERL_NIF_TERM v;
  ErlNifUInt64 seed;
  memset(p, 0, sizeof *p);
  if (!enif_is_map(env, map)) return false;
  if (!enif_get_map_value(env, map, enif_make_atom(env, "seed"), &v) ||
      !enif_get_uint64(env, v, &seed))
    return false;
  p->seed = seed;
  if (!enif_get_map_value(env, map, enif_make_atom(env, "kill_rate"), &v) ||
      !st_nif_get_number(env, v, &p->kill_rate))
    return false;
  return get_u32_key(env, map, "duration_ms", &p->duration_ms) &&
         get_u32_key(env, map, "interval_ms", &p->interval_ms) &&
         get_u32_key(env, map, "jitter_pct", &p->jitter_pct) &&
         get_u32_key(env, map, "max_kills", &p->max_kills) &&
         get_u32_key(env, map, "n_targets", &p->n_targets) &&
         get_u32_key(env, map, "n_reasons", &p->n_reasons);
}

static ERL_NIF_TERM params_map(ErlNifEnv *env, const st_chaos_params_t *p) {
  ERL_NIF_TERM keys[] = {
      enif_make_atom(env, "seed"),       enif_make_atom(env, "kill_rate"),
      enif_make_atom(env, "duration_ms"), enif_make_atom(env, "interval_ms"),
      enif_make_atom(env, "jitter_pct"), enif_make_atom(env, "max_kills"),
      enif_make_atom(env, "n_targets"),  enif_make_atom(env, "n_reasons")};
  ERL_NIF_TERM values[] = {
      enif_make_uint64(env, p->seed),      enif_make_double(env, p->kill_rate),
      enif_make_uint(env, p->duration_ms), enif_make_uint(env, p->interval_ms),
      enif_make_uint(env, p->jitter_pct),  enif_make_uint(env, p->max_kills),
      enif_make_uint(env, p->n_targets),   enif_make_uint(env, p->n_reasons)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

static ERL_NIF_TERM actions_list(ErlNifEnv *env, const st_chaos_action_t *a,
                                 size_t n) {
  ERL_NIF_TERM list = enif_make_list(env, 0);
  for (size_t i = n; i-- > 0;)
    list = enif_make_list_cell(
        env,
        enif_make_tuple3(env, enif_make_uint(env, a[i].at_ms),
                         enif_make_uint(env, a[i].target),
                         enif_make_uint(env, a[i].reason)),
        list);
  return list;
}

static ERL_NIF_TERM plan_string(ErlNifEnv *env, const st_chaos_params_t *p,
                                const st_chaos_action_t *a, size_t n) {
  size_t len = st_chaos_plan_format(p, a, n, NULL, 0);
  ERL_NIF_TERM bin;
  unsigned char *buf = enif_make_new_binary(env, len + 1, &bin);
  if (buf == NULL) return enif_make_badarg(env);
  st_chaos_plan_format(p, a, n, (char *)buf, len + 1);
  return enif_make_sub_binary(env, bin, 0, len); /* without the NUL */
}

/* Making a plan costs a few ns per tick, kill or not: a plan of more
 * ticks than this (hours of chaos at 1 ms) is refused. */
#define MAX_PLAN_TICKS 50000000u

/* The most ticks a plan of these parameters can have: one at 0, then one
 * per shortest jittered interval. */
static size_t plan_ticks(const st_chaos_params_t *p) {
  uint64_t jit = p->jitter_pct > 100 ? 100 : p->jitter_pct;
  uint64_t shortest = (uint64_t)p->interval_ms * (100 - jit) / 100;
  if (shortest == 0) shortest = 1;
  return (size_t)((uint64_t)p->duration_ms / shortest + 1);
}

/* The number of actions a plan can have at most: one per tick, at most
 * max_kills. */
static size_t plan_bound(const st_chaos_params_t *p) {
  size_t ticks = plan_ticks(p);
  return ticks < p->max_kills ? ticks : p->max_kills;
}

static ERL_NIF_TERM plan_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_chaos_params_t p;
  if (!get_params(env, argv[0], &p)) return st_nif_badarg(env, argv[0]);
  size_t cap = plan_bound(&p);
  if (cap == 0) cap = 1;
  if (cap > MAX_PLAN_ACTIONS) cap = MAX_PLAN_ACTIONS;
  st_chaos_action_t *a = enif_alloc(cap * sizeof *a);
  if (a == NULL) return st_nif_error(env, ST_ENOMEM);
  size_t n = 0;
  int rc = st_chaos_plan(&p, a, cap, &n);
  ERL_NIF_TERM result;
  if (rc != ST_OK)
    result = st_nif_error(env, rc);
  else
    result = enif_make_tuple3(env, ST_ATOM(env, ok), actions_list(env, a, n),
                              plan_string(env, &p, a, n));
  enif_free(a);
  return result;
}

/* chaos_plan(Params) -> {ok, [{AtMs, Target, Reason}], PlanString}
 *                     | {error, einval | erange} */
ERL_NIF_TERM st_nif_chaos_plan(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  st_chaos_params_t p;
  if (!get_params(env, argv[0], &p) || p.interval_ms == 0)
    return st_nif_badarg(env, argv[0]);
  size_t ticks = plan_ticks(&p);
  if (ticks > MAX_PLAN_TICKS) return st_nif_badarg(env, argv[0]);
  /* About 100 ticks per microsecond: go dirty past a millisecond's worth. */
  return st_nif_run_sized(env, "chaos_plan", ticks / 100, ST_NIF_DIRTY_LIST_ELEMENTS / 20,
                          plan_now, argc, argv);
}

/* chaos_plan_parse(Binary) -> {ok, Params, Actions} | {error, einval} */
ERL_NIF_TERM st_nif_chaos_plan_parse(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  ErlNifBinary bin;
  if (!enif_inspect_iolist_as_binary(env, argv[0], &bin) || bin.size > 64 * 1024 * 1024)
    return st_nif_badarg(env, argv[0]);
  char *s = enif_alloc(bin.size + 1);
  if (s == NULL) return st_nif_error(env, ST_ENOMEM);
  memcpy(s, bin.data, bin.size);
  s[bin.size] = '\0';
  ERL_NIF_TERM result;
  st_chaos_params_t p;
  size_t n = 0;
  /* A plan has at least one action, so a valid string never fits in no
   * room: ST_ERANGE tells its count, anything else is ST_EINVAL. */
  int rc = st_chaos_plan_parse(s, &p, NULL, 0, &n);
  if (rc == ST_ERANGE) {
    st_chaos_action_t *a = enif_alloc(n * sizeof *a);
    if (a == NULL) {
      enif_free(s);
      return st_nif_error(env, ST_ENOMEM);
    }
    size_t got = 0;
    rc = st_chaos_plan_parse(s, &p, a, n, &got);
    result = rc == ST_OK ? enif_make_tuple3(env, ST_ATOM(env, ok), params_map(env, &p),
                                            actions_list(env, a, got))
                         : st_nif_error(env, rc);
    enif_free(a);
  } else {
    result = st_nif_error(env, rc);
  }
  enif_free(s);
  return result;
}

/* chaos_rng_new(Seed) -> Rng */
ERL_NIF_TERM st_nif_chaos_rng_new(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  ErlNifUInt64 seed;
  if (!enif_get_uint64(env, argv[0], &seed)) return st_nif_badarg(env, argv[0]);
  rng_res_t *r = enif_alloc_resource(st_nif_priv(env)->rng_type, sizeof *r);
  if (r == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(r, 0, sizeof *r);
  r->lock = enif_mutex_create("supertester_rng");
  if (r->lock == NULL) {
    enif_release_resource(r);
    return st_nif_error(env, ST_ENOMEM);
  }
  st_rng_seed(&r->rng, seed);
  ERL_NIF_TERM t = enif_make_resource(env, r);
  enif_release_resource(r);
  return t;
}

static bool get_rng(ErlNifEnv *env, ERL_NIF_TERM t, rng_res_t **out) {
  return enif_get_resource(env, t, st_nif_priv(env)->rng_type, (void **)out);
}

/* chaos_rng_bernoulli(Rng, P) -> boolean() */
ERL_NIF_TERM st_nif_chaos_rng_bernoulli(ErlNifEnv *env, int argc,
                                        const ERL_NIF_TERM argv[]) {
  (void)argc;
  rng_res_t *r;
  double p;
  if (!get_rng(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  if (!st_nif_get_number(env, argv[1], &p) || p < 0.0 || p > 1.0)
    return st_nif_badarg(env, argv[1]);
  enif_mutex_lock(r->lock);
  int hit = st_rng_bernoulli(&r->rng, p);
  enif_mutex_unlock(r->lock);
  return enif_make_atom(env, hit ? "true" : "false");
}

/* chaos_rng_between(Rng, Lo, Hi) -> integer() in [Lo, Hi] */
ERL_NIF_TERM st_nif_chaos_rng_between(ErlNifEnv *env, int argc,
                                      const ERL_NIF_TERM argv[]) {
  (void)argc;
  rng_res_t *r;
  ErlNifUInt64 lo, hi;
  if (!get_rng(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_uint64(env, argv[1], &lo)) return st_nif_badarg(env, argv[1]);
  if (!enif_get_uint64(env, argv[2], &hi) || hi < lo) return st_nif_badarg(env, argv[2]);
  enif_mutex_lock(r->lock);
  uint64_t v = st_rng_between(&r->rng, lo, hi);
  enif_mutex_unlock(r->lock);
  return enif_make_uint64(env, v);
}

/* Schedules longer than this (operations of all threads together) are
 * refused: the whole order is built as one list. */
#define MAX_SCHEDULE_STEPS 1000000u

/* The script lengths of chaos_interleave, checked: at most
 * MAX_SCHEDULE_STEPS in all. Returns the lengths (enif_alloc'd) or NULL. */
static uint32_t *get_lengths(ErlNifEnv *env, ERL_NIF_TERM list, unsigned *n,
                             size_t *total) {
  if (!enif_get_list_length(env, list, n) || *n > MAX_SCHEDULE_STEPS) return NULL;
  uint32_t *lengths = enif_alloc((*n ? *n : 1) * sizeof *lengths);
  if (lengths == NULL) return NULL;
  ERL_NIF_TERM head, tail = list;
  *total = 0;
  for (unsigned i = 0; i < *n; i++) {
    unsigned len;
    if (!enif_get_list_cell(env, tail, &head, &tail) || !enif_get_uint(env, head, &len) ||
        len > MAX_SCHEDULE_STEPS - *total) {
      enif_free(lengths);
      return NULL;
    }
    lengths[i] = len;
    *total += len;
  }
  return lengths;
}

static ERL_NIF_TERM interleave_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  rng_res_t *r;
  unsigned n;
  size_t total;
  if (!get_rng(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  uint32_t *lengths = get_lengths(env, argv[1], &n, &total);
  if (lengths == NULL) return st_nif_badarg(env, argv[1]);
  uint32_t *order = enif_alloc((total ? total : 1) * sizeof *order);
  if (order == NULL) {
    enif_free(lengths);
    return st_nif_error(env, ST_ENOMEM);
  }
  enif_mutex_lock(r->lock);
  int rc = st_chaos_interleave(&r->rng, lengths, n, order, total);
  enif_mutex_unlock(r->lock);
  ERL_NIF_TERM result;
  if (rc != ST_OK) {
    result = st_nif_error(env, rc);
  } else {
    result = enif_make_list(env, 0);
    for (size_t i = total; i-- > 0;)
      result = enif_make_list_cell(env, enif_make_uint(env, order[i]), result);
  }
  enif_free(order);
  enif_free(lengths);
  return result;
}

/* chaos_interleave(Rng, [ScriptLength]) -> [ThreadIndex]: a uniformly
 * random interleaving drawn from Rng (thread indices from 0). */
ERL_NIF_TERM st_nif_chaos_interleave(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  /* One draw per step: size the work by the steps. A list of more threads
   * than a millisecond's walk goes dirty without being walked here. */
  unsigned n;
  size_t steps = 0;
  if (!enif_get_list_length(env, argv[1], &n)) return st_nif_badarg(env, argv[1]);
  if (n > ST_NIF_DIRTY_LIST_ELEMENTS) {
    steps = n;
  } else {
    ERL_NIF_TERM head, tail = argv[1];
    unsigned len;
    while (enif_get_list_cell(env, tail, &head, &tail))
      if (enif_get_uint(env, head, &len)) steps += len;
  }
  return st_nif_run_sized(env, "chaos_interleave", steps, ST_NIF_DIRTY_LIST_ELEMENTS,
                          interleave_now, argc, argv);
}

/* chaos_ddmin_new(N) -> Ddmin, for a failing run of N actions. */
ERL_NIF_TERM st_nif_chaos_ddmin_new(ErlNifEnv *env, int argc,
                                    const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned n;
  if (!enif_get_uint(env, argv[0], &n) || n == 0 || n > MAX_PLAN_ACTIONS)
    return st_nif_badarg(env, argv[0]);
  ddmin_res_t *r = enif_alloc_resource(st_nif_priv(env)->ddmin_type, sizeof *r);
  if (r == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(r, 0, sizeof *r);
  r->n = n;
  r->lock = enif_mutex_create("supertester_ddmin");
  int rc = r->lock ? st_chaos_ddmin_create(n, &r->d) : ST_ENOMEM;
  if (rc != ST_OK) {
    enif_release_resource(r);
    return st_nif_error(env, rc);
  }
  ERL_NIF_TERM t = enif_make_resource(env, r);
  enif_release_resource(r);
  return t;
}

static bool get_ddmin(ErlNifEnv *env, ERL_NIF_TERM t, ddmin_res_t **out) {
  return enif_get_resource(env, t, st_nif_priv(env)->ddmin_type, (void **)out);
}

static ERL_NIF_TERM index_list(ErlNifEnv *env, const size_t *idx, size_t k) {
  ERL_NIF_TERM list = enif_make_list(env, 0);
  for (size_t i = k; i-- > 0;)
    list = enif_make_list_cell(env, enif_make_uint64(env, idx[i]), list);
  return list;
}

/* chaos_ddmin_next(Ddmin) -> {ok, [Index]} | done  (indices from 0) */
ERL_NIF_TERM st_nif_chaos_ddmin_next(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  ddmin_res_t *r;
  if (!get_ddmin(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  size_t *idx = enif_alloc(r->n * sizeof *idx);
  if (idx == NULL) return st_nif_error(env, ST_ENOMEM);
  size_t k = 0;
  enif_mutex_lock(r->lock);
  int rc = st_chaos_ddmin_next(r->d, idx, &k);
  enif_mutex_unlock(r->lock);
  ERL_NIF_TERM result = rc == ST_OK ? st_nif_ok(env, index_list(env, idx, k))
                                    : enif_make_atom(env, "done");
  enif_free(idx);
  return result;
}

/* chaos_ddmin_report(Ddmin, Failed :: boolean()) -> ok | {error, einval} */
ERL_NIF_TERM st_nif_chaos_ddmin_report(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  ddmin_res_t *r;
  if (!get_ddmin(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  int failed = argv[1] == enif_make_atom(env, "true");
  if (!failed && argv[1] != enif_make_atom(env, "false"))
    return st_nif_badarg(env, argv[1]);
  enif_mutex_lock(r->lock);
  int rc = st_chaos_ddmin_report(r->d, failed);
  enif_mutex_unlock(r->lock);
  return rc == ST_OK ? ST_ATOM(env, ok) : st_nif_error(env, rc);
}

/* chaos_ddmin_result(Ddmin) -> {[Index], Runs} */
ERL_NIF_TERM st_nif_chaos_ddmin_result(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  ddmin_res_t *r;
  if (!get_ddmin(env, argv[0], &r)) return st_nif_badarg(env, argv[0]);
  size_t *idx = enif_alloc(r->n * sizeof *idx);
  if (idx == NULL) return st_nif_error(env, ST_ENOMEM);
  size_t k = 0;
  enif_mutex_lock(r->lock);
  int rc = st_chaos_ddmin_result(r->d, idx, &k);
  size_t runs = st_chaos_ddmin_runs(r->d);
  enif_mutex_unlock(r->lock);
  ERL_NIF_TERM result = rc == ST_OK ? enif_make_tuple2(env, index_list(env, idx, k),
                                                       enif_make_uint64(env, runs))
                                    : st_nif_error(env, rc);
  enif_free(idx);
  return result;
}
