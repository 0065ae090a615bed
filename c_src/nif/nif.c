/* Entry point of supertester_nif: the function table and the load, upgrade
 * and unload callbacks. Reloading the module in a running VM (a test that
 * recompiles, `l(supertester_nif)`) takes the resource types over, so
 * histograms made by the old code keep working with the new one. */
#include <string.h>

#include "nif_priv.h"

static st_nif_priv_t *priv_new(ErlNifEnv *env, ErlNifResourceFlags flags) {
  st_nif_priv_t *priv = enif_alloc(sizeof *priv);
  if (priv == NULL) return NULL;
  memset(priv, 0, sizeof *priv);
#define ST_NIF_ATOM_MAKE(name) priv->atom.name = enif_make_atom(env, #name);
  ST_NIF_ATOMS(ST_NIF_ATOM_MAKE)
#undef ST_NIF_ATOM_MAKE
  if (!st_nif_hist_open(env, priv, flags) ||
      !st_nif_sampler_open(env, priv, flags)) {
    enif_free(priv);
    return NULL;
  }
  return priv;
}

static int on_load(ErlNifEnv *env, void **priv_data, ERL_NIF_TERM info) {
  (void)info;
  st_nif_priv_t *priv = priv_new(env, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER);
  if (priv == NULL) return 1;
  *priv_data = priv;
  return 0;
}

/* The old instance keeps its own private data until its unload. */
static int on_upgrade(ErlNifEnv *env, void **priv_data, void **old_priv_data,
                      ERL_NIF_TERM info) {
  (void)old_priv_data;
  (void)info;
  st_nif_priv_t *priv = priv_new(env, ERL_NIF_RT_CREATE | ERL_NIF_RT_TAKEOVER);
  if (priv == NULL) return 1;
  *priv_data = priv;
  return 0;
}

static void on_unload(ErlNifEnv *env, void *priv_data) {
  (void)env;
  enif_free(priv_data);
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
};

ERL_NIF_INIT(supertester_nif, nif_funcs, on_load, NULL, on_upgrade, on_unload)
