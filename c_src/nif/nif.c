/* Entry point of supertester_nif: the function table and the load, upgrade
 * and unload callbacks. Reloading the module in a running VM (a test that
 * recompiles, `l(supertester_nif)`) takes the resource types over, so
 * histograms made by the old code keep working with the new one. */
#include <string.h>

#include "nif_priv.h"

/* Private data of one instance of the library: atoms and resource types
 * are made per instance; the isolation state is given (on upgrade, the
 * old instance's) or created. */
static st_nif_priv_t *priv_new(ErlNifEnv *env, ErlNifResourceFlags flags,
                               st_nif_iso_state_t *iso) {
  st_nif_priv_t *priv = enif_alloc(sizeof *priv);
  if (priv == NULL) return NULL;
  memset(priv, 0, sizeof *priv);
#define ST_NIF_ATOM_MAKE(name) priv->atom.name = enif_make_atom(env, #name);
  ST_NIF_ATOMS(ST_NIF_ATOM_MAKE)
#undef ST_NIF_ATOM_MAKE
#define ST_NIF_NAMED_ATOM_MAKE(field, name) priv->atom.field = enif_make_atom(env, name);
  ST_NIF_NAMED_ATOMS(ST_NIF_NAMED_ATOM_MAKE)
#undef ST_NIF_NAMED_ATOM_MAKE
  priv->iso = iso != NULL ? iso : st_nif_iso_state_new();
  if (priv->iso == NULL || !st_nif_hist_open(env, priv, flags) ||
      !st_nif_sampler_open(env, priv, flags) ||
      !st_nif_isolation_open(env, priv, flags) ||
      !st_nif_snapshot_open(env, priv, flags) ||
      !st_nif_trace_open(env, priv, flags) ||
      !st_nif_chaos_open(env, priv, flags)) {
    if (iso == NULL) st_nif_iso_state_free(priv->iso);
    enif_free(priv);
    return NULL;
  }
  return priv;
}

static int on_load(ErlNifEnv *env, void **priv_data, ERL_NIF_TERM info) {
  (void)info;
  st_nif_priv_t *priv =
      priv_new(env, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, NULL);
  if (priv == NULL) return 1;
  *priv_data = priv;
  return 0;
}

/* The old instance keeps its own private data until its unload, but hands
 * over the isolation state, so test ids never repeat and held names stay
 * held across a reload. */
static int on_upgrade(ErlNifEnv *env, void **priv_data, void **old_priv_data,
                      ERL_NIF_TERM info) {
  (void)info;
  st_nif_priv_t *old = *old_priv_data;
  st_nif_priv_t *priv =
      priv_new(env, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER, old ? old->iso : NULL);
  if (priv == NULL) return 1;
  if (old) old->iso = NULL;
  *priv_data = priv;
  return 0;
}

static void on_unload(ErlNifEnv *env, void *priv_data) {
  (void)env;
  st_nif_priv_t *priv = priv_data;
  st_nif_iso_state_free(priv->iso);
  enif_free(priv);
}

/* Every function is cheap on its normal path; those whose cost depends on
 * the size of their input move themselves to a dirty scheduler. */
static ErlNifFunc nif_funcs[] = {
    {"hist_new", 2, st_nif_hist_new, 0},
    {"hist_record", 2, st_nif_hist_record, 0},
    {"hist_record_n", 3, st_nif_hist_record_n, 0},
    {"hist_reset", 1, st_nif_hist_reset, 0},
    {"hist_merge", 2, st_nif_hist_merge, 0},
    {"hist_summary", 1, st_nif_hist_summary, 0},
    {"hist_percentiles", 2, st_nif_hist_percentiles, 0},
    {"hist_buckets", 1, st_nif_hist_buckets, 0},
    {"hist_info", 1, st_nif_hist_info, 0},
    {"stats_summary", 2, st_nif_stats_summary, 0},
    {"stats_regression", 2, st_nif_stats_regression, 0},
    {"stats_welch", 3, st_nif_stats_welch, 0},
    {"sampler_new", 1, st_nif_sampler_new, 0},
    {"sampler_push", 3, st_nif_sampler_push, 0},
    {"sampler_stats", 1, st_nif_sampler_stats, 0},
    {"sampler_window", 1, st_nif_sampler_window, 0},
    {"iso_new_id", 0, st_nif_iso_new_id, 0},
    {"iso_name_acquire", 1, st_nif_iso_name_acquire, 0},
    {"iso_name_release", 2, st_nif_iso_name_release, 0},
    {"iso_name_stats", 0, st_nif_iso_name_stats, 0},
    {"iso_record_new", 0, st_nif_iso_record_new, 0},
    {"iso_record_watch", 3, st_nif_iso_record_watch, 0},
    {"iso_record_track", 4, st_nif_iso_record_track, 0},
    {"iso_record_track_process", 4, st_nif_iso_record_track_process, 0},
    {"iso_record_untrack", 3, st_nif_iso_record_untrack, 0},
    {"iso_record_entries", 1, st_nif_iso_record_entries, 0},
    {"iso_record_take", 1, st_nif_iso_record_take, 0},
    {"iso_record_counts", 1, st_nif_iso_record_counts, 0},
    {"iso_snapshot", 3, st_nif_iso_snapshot, 0},
    {"iso_snapshot_diff", 4, st_nif_iso_snapshot_diff, 0},
    /* The erl_tracer callbacks: the VM calls them on every traced event. */
    {"enabled", 3, st_nif_trace_enabled, 0},
    {"trace", 5, st_nif_trace_trace, 0},
    {"trace_session_new", 3, st_nif_trace_session_new, 0},
    {"trace_session_drain", 2, st_nif_trace_session_drain, 0},
    {"trace_session_stop", 1, st_nif_trace_session_stop, 0},
    {"trace_session_info", 1, st_nif_trace_session_info, 0},
    {"supervision_derive", 3, st_nif_supervision_derive, 0},
    {"chaos_plan", 1, st_nif_chaos_plan, 0},
    {"chaos_plan_parse", 1, st_nif_chaos_plan_parse, 0},
    {"chaos_rng_new", 1, st_nif_chaos_rng_new, 0},
    {"chaos_rng_bernoulli", 2, st_nif_chaos_rng_bernoulli, 0},
    {"chaos_rng_between", 3, st_nif_chaos_rng_between, 0},
    {"chaos_interleave", 2, st_nif_chaos_interleave, 0},
    {"chaos_ddmin_new", 1, st_nif_chaos_ddmin_new, 0},
    {"chaos_ddmin_next", 1, st_nif_chaos_ddmin_next, 0},
    {"chaos_ddmin_report", 2, st_nif_chaos_ddmin_report, 0},
    {"chaos_ddmin_result", 1, st_nif_chaos_ddmin_result, 0},
};

ERL_NIF_INIT(supertester_nif, nif_funcs, on_load, NULL, on_upgrade, on_unload)
