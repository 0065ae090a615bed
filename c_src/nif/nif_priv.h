/* Shared by the NIF glue files: the private data made in load (atoms and
 * resource types), argument decoding that never trusts a term, and the
 * helpers that turn core results into terms.
 *
 * Rules every NIF here follows:
 *   - a term of the wrong type or outside its domain raises {badarg, Term},
 *     naming the offending term;
 *   - a domain failure (empty histogram, degenerate data) returns
 *     {error, Reason}; the Erlang wrapper decides whether to raise;
 *   - work proportional to a caller-controlled size is moved to a dirty CPU
 *     scheduler once it could exceed about a millisecond. */
#ifndef SUPERTESTER_NIF_PRIV_H
#define SUPERTESTER_NIF_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "erl_nif.h"

/* Every atom the library returns, created once in load. */
#define ST_NIF_ATOMS(X)                                                   \
  X(ok) X(error) X(badarg) X(undefined) X(empty)                         \
  X(out_of_range) X(degenerate) X(enomem) X(count) X(min) X(max) X(mean) \
  X(stddev) X(n) X(variance) X(sem) X(ci_low) X(ci_high) X(slope)         \
  X(intercept) X(r2) X(slope_stderr) X(slope_ci_low) X(slope_ci_high)     \
  X(slope_p_value) X(residual_stddev) X(mean_diff) X(t) X(df) X(p_value)  \
  X(highest_trackable) X(significant_digits) X(bucket_count) X(memory)    \
  X(capacity) X(retained) X(total) X(dropped) X(none) X(process) X(ets)  \
  X(cleanup) X(processes) X(names) X(added) X(removed) X(exists)          \
  X(noproc) X(closed) X(not_found) X(in_use) X(created)                  \
  X(trace) X(discard) X(remove) X(trace_status) X(send)                  \
  X(send_to_non_existing_process) X(spawn) X(spawned) X(exit) X(link)    \
  X(unlink) X(getting_linked) X(getting_unlinked) X(unregister) X(extra) \
  X(normal) X(shutdown) X(EXIT) X(DOWN) X(child_started)                 \
  X(child_terminated) X(child_restarted) X(supervisor_terminated)        \
  X(permanent) X(transient) X(temporary) X(supertester_trace_event)

/* Atoms whose names are C keywords or not C names: (field, name). */
#define ST_NIF_NAMED_ATOMS(Y) Y(receive_, "receive") Y(register_, "register") \
  Y(truncated_, "$supertester_truncated")

typedef struct st_nif_atoms_s {
#define ST_NIF_ATOM_FIELD(name) ERL_NIF_TERM name;
  ST_NIF_ATOMS(ST_NIF_ATOM_FIELD)
#undef ST_NIF_ATOM_FIELD
#define ST_NIF_NAMED_ATOM_FIELD(field, name) ERL_NIF_TERM field;
  ST_NIF_NAMED_ATOMS(ST_NIF_NAMED_ATOM_FIELD)
#undef ST_NIF_NAMED_ATOM_FIELD
} st_nif_atoms_t;

/* Isolation state shared by the whole VM (ids, name pools): created at the
 * first load, handed from the old to the new code on upgrade. */
typedef struct st_nif_iso_state_s st_nif_iso_state_t;

typedef struct st_nif_priv_s {
  st_nif_atoms_t atom;
  ErlNifResourceType *hist_type;
  ErlNifResourceType *sampler_type;
  ErlNifResourceType *record_type;
  ErlNifResourceType *snapshot_type;
  ErlNifResourceType *session_type;
  ErlNifResourceType *rng_type;
  ErlNifResourceType *ddmin_type;
  st_nif_iso_state_t *iso;
} st_nif_priv_t;

static inline st_nif_priv_t *st_nif_priv(ErlNifEnv *env) {
  return (st_nif_priv_t *)enif_priv_data(env);
}

#define ST_ATOM(env, name) (st_nif_priv(env)->atom.name)

/* Resource types, opened in load and upgrade (one per glue file). */
bool st_nif_hist_open(ErlNifEnv *env, st_nif_priv_t *priv,
                      ErlNifResourceFlags flags);
bool st_nif_sampler_open(ErlNifEnv *env, st_nif_priv_t *priv,
                         ErlNifResourceFlags flags);
bool st_nif_isolation_open(ErlNifEnv *env, st_nif_priv_t *priv,
                           ErlNifResourceFlags flags);
bool st_nif_snapshot_open(ErlNifEnv *env, st_nif_priv_t *priv,
                          ErlNifResourceFlags flags);
bool st_nif_trace_open(ErlNifEnv *env, st_nif_priv_t *priv,
                       ErlNifResourceFlags flags);
bool st_nif_chaos_open(ErlNifEnv *env, st_nif_priv_t *priv,
                       ErlNifResourceFlags flags);

st_nif_iso_state_t *st_nif_iso_state_new(void);
void st_nif_iso_state_free(st_nif_iso_state_t *s);

/* raise {badarg, Term} */
ERL_NIF_TERM st_nif_badarg(ErlNifEnv *env, ERL_NIF_TERM offending);
/* {error, Reason} for a core error code (ST_E*). */
ERL_NIF_TERM st_nif_error(ErlNifEnv *env, int st_err);
/* {ok, Term} */
ERL_NIF_TERM st_nif_ok(ErlNifEnv *env, ERL_NIF_TERM value);

/* A finite number from an integer or float term. */
bool st_nif_get_number(ErlNifEnv *env, ERL_NIF_TERM term, double *out);
/* A confidence level: a number strictly between 0 and 1. */
bool st_nif_get_confidence(ErlNifEnv *env, ERL_NIF_TERM term, double *out);
/* NaN and infinities become the atom undefined. */
ERL_NIF_TERM st_nif_make_number(ErlNifEnv *env, double value);

/* Builds a map from parallel key/value arrays; the keys are distinct atoms. */
ERL_NIF_TERM st_nif_make_map(ErlNifEnv *env, ERL_NIF_TERM *keys,
                             ERL_NIF_TERM *values, size_t n);

typedef ERL_NIF_TERM (*st_nif_fun_t)(ErlNifEnv *, int, const ERL_NIF_TERM[]);

/* Work units (list elements, buckets) above which a call goes dirty. */
#define ST_NIF_DIRTY_LIST_ELEMENTS 20000
#define ST_NIF_DIRTY_BUCKETS 250000

/* Calls `fun` now, or reschedules it on a dirty CPU scheduler when `work`
 * exceeds `limit`. `fun` must not call this helper again. */
ERL_NIF_TERM st_nif_run_sized(ErlNifEnv *env, const char *name, size_t work,
                              size_t limit, st_nif_fun_t fun, int argc,
                              const ERL_NIF_TERM argv[]);

/* The NIFs, one group per glue file; nif.c lists them in its table. */
#define ST_NIF_DECLARE(name) \
  ERL_NIF_TERM name(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]);

/* nif_hist.c */
ST_NIF_DECLARE(st_nif_hist_new)
ST_NIF_DECLARE(st_nif_hist_record)
ST_NIF_DECLARE(st_nif_hist_record_n)
ST_NIF_DECLARE(st_nif_hist_reset)
ST_NIF_DECLARE(st_nif_hist_merge)
ST_NIF_DECLARE(st_nif_hist_summary)
ST_NIF_DECLARE(st_nif_hist_percentiles)
ST_NIF_DECLARE(st_nif_hist_buckets)
ST_NIF_DECLARE(st_nif_hist_info)
/* nif_stats.c */
ST_NIF_DECLARE(st_nif_stats_summary)
ST_NIF_DECLARE(st_nif_stats_regression)
ST_NIF_DECLARE(st_nif_stats_welch)
/* nif_sampler.c */
ST_NIF_DECLARE(st_nif_sampler_new)
ST_NIF_DECLARE(st_nif_sampler_push)
ST_NIF_DECLARE(st_nif_sampler_stats)
ST_NIF_DECLARE(st_nif_sampler_window)
/* nif_isolation.c */
ST_NIF_DECLARE(st_nif_iso_new_id)
ST_NIF_DECLARE(st_nif_iso_name_acquire)
ST_NIF_DECLARE(st_nif_iso_name_release)
ST_NIF_DECLARE(st_nif_iso_name_stats)
ST_NIF_DECLARE(st_nif_iso_record_new)
ST_NIF_DECLARE(st_nif_iso_record_watch)
ST_NIF_DECLARE(st_nif_iso_record_track)
ST_NIF_DECLARE(st_nif_iso_record_track_process)
ST_NIF_DECLARE(st_nif_iso_record_untrack)
ST_NIF_DECLARE(st_nif_iso_record_entries)
ST_NIF_DECLARE(st_nif_iso_record_take)
ST_NIF_DECLARE(st_nif_iso_record_counts)
ST_NIF_DECLARE(st_nif_iso_snapshot)
ST_NIF_DECLARE(st_nif_iso_snapshot_diff)
/* nif_trace.c */
ST_NIF_DECLARE(st_nif_trace_enabled)
ST_NIF_DECLARE(st_nif_trace_trace)
ST_NIF_DECLARE(st_nif_trace_session_new)
ST_NIF_DECLARE(st_nif_trace_session_drain)
ST_NIF_DECLARE(st_nif_trace_session_stop)
ST_NIF_DECLARE(st_nif_trace_session_info)
/* nif_supervision.c */
ST_NIF_DECLARE(st_nif_supervision_derive)
/* nif_chaos.c */
ST_NIF_DECLARE(st_nif_chaos_plan)
ST_NIF_DECLARE(st_nif_chaos_plan_parse)
ST_NIF_DECLARE(st_nif_chaos_rng_new)
ST_NIF_DECLARE(st_nif_chaos_rng_bernoulli)
ST_NIF_DECLARE(st_nif_chaos_rng_between)
ST_NIF_DECLARE(st_nif_chaos_interleave)
ST_NIF_DECLARE(st_nif_chaos_ddmin_new)
ST_NIF_DECLARE(st_nif_chaos_ddmin_next)
ST_NIF_DECLARE(st_nif_chaos_ddmin_report)
ST_NIF_DECLARE(st_nif_chaos_ddmin_result)

#endif
