/* Seeded, replayable chaos: a PRNG, fault plans made from one seed, a log
 * of what was planned and what happened, and the minimisation of a failing
 * run.
 *
 * Everything here is a pure function of its inputs: the same seed and
 * parameters give the same plan on every run and every platform (no
 * floating-point draw depends on the platform's rounding: probabilities
 * are compared as 53-bit integers). Targets are given by their stable
 * position (a child's index in the supervisor's start order, never a pid),
 * so a plan replays against the same tree.
 *
 * Not thread-safe: one caller per object. */
#ifndef SUPERTESTER_CHAOS_H
#define SUPERTESTER_CHAOS_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ PRNG */

/* xoshiro256** (Blackman and Vigna), its state filled from the seed by
 * splitmix64, so every seed (0 included) gives a good state. */
typedef struct st_rng_s {
  uint64_t s[4];
} st_rng_t;

void st_rng_seed(st_rng_t *rng, uint64_t seed);
uint64_t st_rng_next(st_rng_t *rng);
/* Uniform integer in [lo, hi], without modulo bias; lo <= hi. */
uint64_t st_rng_between(st_rng_t *rng, uint64_t lo, uint64_t hi);
/* 1 with probability p (clamped to [0, 1]), else 0: a 53-bit draw compared
 * with p scaled to 2^53, so the outcome does not depend on the platform. */
int st_rng_bernoulli(st_rng_t *rng, double p);
/* Fisher-Yates shuffle of n items of `size` bytes. */
void st_rng_shuffle(st_rng_t *rng, void *items, size_t n, size_t size);
/* Chooses k distinct indices of [0, n) into out (k <= n), in the order
 * drawn. ST_EINVAL when k > n. Uses O(k) memory (Floyd's algorithm plus a
 * draw-order shuffle is fine, or a partial shuffle for small n). */
int st_rng_choose(st_rng_t *rng, uint64_t n, uint64_t k, uint64_t *out);
/* base ± jitter_pct percent, uniform, never below 1 when base >= 1. */
uint64_t st_rng_jitter(st_rng_t *rng, uint64_t base, uint32_t jitter_pct);

/* ------------------------------------------------------------ schedules */

/* The order in which concurrent scripts take turns: a uniformly random
 * interleaving of n_threads scripts, where thread t has lengths[t]
 * operations. out[i] is the thread whose next operation is the i-th
 * overall; every thread's operations keep their order. Each step picks a
 * thread with probability proportional to the operations it has left,
 * which makes every interleaving equally likely. Draws one `between` per
 * step (nothing once a single operation is left). out_len must equal the
 * sum of the lengths (ST_EINVAL otherwise, or when a pointer is NULL with
 * a non-zero count); ST_ENOMEM when the working tree cannot be allocated.
 * O(total log n_threads). */
int st_chaos_interleave(st_rng_t *rng, const uint32_t *lengths, size_t n_threads,
                        uint32_t *out, size_t out_len);

/* ----------------------------------------------------------------- plans */

typedef struct st_chaos_params_s {
  uint64_t seed;
  double kill_rate;     /* probability that a tick kills, [0, 1] */
  uint32_t duration_ms; /* ticks happen while their time < duration */
  uint32_t interval_ms; /* between ticks, >= 1 */
  uint32_t jitter_pct;  /* 0..100: each interval is interval ± this % */
  uint32_t max_kills;   /* upper bound on the kills of a plan, >= 1 */
  uint32_t n_targets;   /* >= 1 */
  uint32_t n_reasons;   /* >= 1: kill reasons are indices into the
                           caller's list, drawn uniformly */
} st_chaos_params_t;

typedef struct st_chaos_action_s {
  uint32_t at_ms;  /* from the start of the run */
  uint32_t target; /* 0 .. n_targets - 1 */
  uint32_t reason; /* 0 .. n_reasons - 1 */
} st_chaos_action_t;

/* The plan of a run: ticks at 0, then every jittered interval while before
 * duration_ms; each tick kills with probability kill_rate a uniformly
 * drawn target with a uniformly drawn reason; at most max_kills kills. A
 * plan always has at least one kill: when no tick drew one, the first tick
 * (at 0) kills, drawn from the same generator, so even a run shorter than
 * one interval exercises recovery and its report does not depend on the
 * machine's load. Writes up to cap actions, the count to *n; ST_ERANGE
 * when cap is too small (then *n is the count needed), ST_EINVAL for
 * parameters outside their ranges. */
int st_chaos_plan(const st_chaos_params_t *p, st_chaos_action_t *out,
                  size_t cap, size_t *n);

/* A plan as a compact string, and back:
 *   "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=1;a=0.2.0,130.1.0"
 * (`a` lists at_ms.target.reason). Writes at most cap bytes including the
 * NUL; returns the length the string needs (without NUL) like snprintf.
 * The rate is printed with 17 significant digits so it parses back to the
 * same double. */
size_t st_chaos_plan_format(const st_chaos_params_t *p,
                            const st_chaos_action_t *actions, size_t n,
                            char *buf, size_t cap);
/* Parses a string made by st_chaos_plan_format. Actions go to out (up to
 * cap; ST_ERANGE and *n set to the count when cap is too small).
 * ST_EINVAL for a malformed string or values outside their ranges. */
int st_chaos_plan_parse(const char *s, st_chaos_params_t *p,
                        st_chaos_action_t *out, size_t cap, size_t *n);

/* ------------------------------------------------------------------- log */

typedef enum st_chaos_log_kind_e {
  ST_CHAOS_PLANNED = 1,      /* an action of the plan */
  ST_CHAOS_KILLED = 2,       /* the kill was sent */
  ST_CHAOS_SKIPPED = 3,      /* the target was already dead or restarting */
  ST_CHAOS_RESTART_SEEN = 4, /* the target runs again (new pid) */
  ST_CHAOS_SUPERVISOR_DOWN = 5
} st_chaos_log_kind_t;

typedef struct st_chaos_log_entry_s {
  int64_t time_ns; /* caller's clock */
  st_chaos_log_kind_t kind;
  uint32_t target; /* SUPERVISOR_DOWN: 0 */
  uint32_t action; /* index of the plan's action it belongs to */
} st_chaos_log_entry_t;

typedef struct st_chaos_log_s st_chaos_log_t;

int st_chaos_log_create(st_chaos_log_t **out);
void st_chaos_log_destroy(st_chaos_log_t *log);
/* ST_EINVAL for an unknown kind; ST_ENOMEM when it cannot grow. */
int st_chaos_log_append(st_chaos_log_t *log, const st_chaos_log_entry_t *e);
size_t st_chaos_log_count(const st_chaos_log_t *log);
/* Entry i in order of appending; ST_EINVAL when out of range. */
int st_chaos_log_get(const st_chaos_log_t *log, size_t i,
                     st_chaos_log_entry_t *out);
/* Entries of one kind. */
size_t st_chaos_log_count_kind(const st_chaos_log_t *log,
                               st_chaos_log_kind_t kind);

/* ---------------------------------------------------------- minimisation */

/* Delta debugging (Zeller's ddmin) over the actions of a failing run,
 * driven step by step so that the caller can run each candidate however
 * it likes (the NIF hands candidates to Erlang, which replays them):
 *
 *   st_chaos_ddmin_t *d; st_chaos_ddmin_create(n, &d);
 *   while (st_chaos_ddmin_next(d, idx, &k) == ST_OK) {
 *     int failed = run(idx, k);  // replay actions idx[0..k), in order
 *     st_chaos_ddmin_report(d, failed);
 *   }
 *   st_chaos_ddmin_result(d, idx, &k);  // a 1-minimal failing subset
 *
 * The full sequence (n actions) is assumed to fail. Candidates are subsets
 * of action indices in increasing order. The result is 1-minimal: removing
 * any single action from it makes the run pass (for the outcomes
 * reported). */
typedef struct st_chaos_ddmin_s st_chaos_ddmin_t;

/* ST_EINVAL for n == 0. */
int st_chaos_ddmin_create(size_t n, st_chaos_ddmin_t **out);
void st_chaos_ddmin_destroy(st_chaos_ddmin_t *d);
/* The next candidate to run: its indices into idx (room for n), its size
 * into *k. ST_EEMPTY when the search is over. Calling next twice without a
 * report returns the same candidate. */
int st_chaos_ddmin_next(st_chaos_ddmin_t *d, size_t *idx, size_t *k);
/* Whether the last candidate failed (non-zero) or passed. ST_EINVAL when
 * there is no candidate waiting for its outcome. */
int st_chaos_ddmin_report(st_chaos_ddmin_t *d, int failed);
/* The smallest failing subset found so far (all n before any report). */
int st_chaos_ddmin_result(const st_chaos_ddmin_t *d, size_t *idx, size_t *k);
/* Candidates run so far. */
size_t st_chaos_ddmin_runs(const st_chaos_ddmin_t *d);

#ifdef __cplusplus
}
#endif

#endif
