/* Chaos suite: st_rng_*, st_chaos_plan*, st_chaos_log_* and
 * st_chaos_ddmin_* against the contract in supertester/chaos.h.
 *
 * - rng: splitmix64 seeding against the published first outputs for seed 0
 *   and against test_util.h's separate splitmix64; xoshiro256** against the
 *   published outputs from the state {1, 2, 3, 4} and against a reference
 *   transcription in this file over 10,000 outputs of several seeds; the
 *   first outputs for seeds 0 and 42 hard-coded; between: lo == hi draws
 *   nothing, the full range is one raw draw, bounds near UINT64_MAX, the
 *   exact rejection rule against the reference, chi-square of
 *   between(0, 9) over 100,000 draws, no modulo bias on a span of 2/3 of
 *   2^64; bernoulli: 0, 1, NaN and out-of-range p, exactly one draw each,
 *   the outcome equal to d < ceil(p 2^53) for many p, frequency of 0.3 over
 *   1e6 draws within 1%; shuffle: a permutation for element sizes 1, 3, 8
 *   and 100, uniform final positions and uniform permutations of 3 by
 *   chi-square, n 0 and 1 draw nothing; choose: distinct and in range,
 *   k == n, k == 0, k > n, n = 2^40, a k needing the heap, uniform
 *   inclusion and first-draw frequencies by chi-square; jitter: ranges,
 *   every value reached, minimum 1, jitter 0 draws nothing, above 100 acts
 *   as 100, base 0 and UINT64_MAX.
 * - plan: same seed twice, different seeds differ, a golden string for
 *   seed 1234 (and one for a forced kill), equal to a model of the
 *   documented draw order over 300 random parameter sets; a duration
 *   shorter than the interval, kill_rate 0 and duration 0 give exactly one
 *   kill at 0; max_kills; kill frequency; tick spacing within the jitter;
 *   targets and reasons uniform by chi-square; ST_ERANGE with *n and the
 *   written prefix, cap 0 with NULL out; invalid parameters (rate < 0, > 1,
 *   NaN, interval 0, jitter > 100, targets, reasons or max_kills 0, NULL
 *   pointers) give ST_EINVAL and write nothing.
 * - format/parse: the header's example string exactly, snprintf-style
 *   truncation and length, -0.0 printed as 0, round trip of 500 random
 *   plans (rates 0.1, 1/3, 0.7, 0, 1, random, subnormal), ST_ERANGE with
 *   *n, 50 malformed strings rejected with nothing written.
 * - log: append/get/count/count_kind, growth to 100,000 entries, invalid
 *   kinds and indices, NULL arguments.
 * - ddmin: a pair {7, 23} among 40 (fewer than 400 runs), a single culprit,
 *   three among 60, n = 1 to 4 against every monotone cause,
 *   1-minimality under every outcome table for n <= 4 and random tables
 *   for n = 10, candidates increasing, non-empty and within the current
 *   result, next twice gives the same candidate, report without next and
 *   twice, create(0).
 * - interleave: each thread's count, same seed same order, another seed
 *   another order, a golden order for seed 7, equal to a model of the
 *   documented draw order over 200 random length sets (up to 1,500
 *   threads) with the generator left in the same state, the six
 *   interleavings of {2, 2} uniform and the first mover of {1, 1, 1, 1}
 *   uniform by chi-square, invalid arguments write and draw nothing. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/chaos.h"
#include "suites.h"
#include "test_util.h"

/* --------------------------------------------------- reference generator */

/* The reference algorithms transcribed again, as plainly as possible, to
 * cross-check the library: splitmix64 (Steele, Lea and Flood) to fill the
 * state, xoshiro256** (Blackman and Vigna) to step it. */
typedef struct {
  uint64_t s[4];
} ref_rng_t;

static uint64_t ref_rotl(uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

static ref_rng_t ref_seeded(uint64_t seed) {
  ref_rng_t r;
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) {
    x += UINT64_C(0x9E3779B97F4A7C15);
    uint64_t z = x;
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    r.s[i] = z ^ (z >> 31);
  }
  return r;
}

static uint64_t ref_next(ref_rng_t *r) {
  const uint64_t result = ref_rotl(r->s[1] * 5, 7) * 9;
  const uint64_t t = r->s[1] << 17;
  r->s[2] ^= r->s[0];
  r->s[3] ^= r->s[1];
  r->s[1] ^= r->s[2];
  r->s[0] ^= r->s[3];
  r->s[2] ^= t;
  r->s[3] = ref_rotl(r->s[3], 45);
  return result;
}

/* The documented rejection rule: draws below 2^64 mod span are refused. */
static uint64_t ref_between(ref_rng_t *r, uint64_t lo, uint64_t hi) {
  if (lo == hi) return lo;
  uint64_t span = hi - lo + 1;
  if (span == 0) return ref_next(r);
  uint64_t refused = (UINT64_MAX % span + 1) % span; /* 2^64 mod span */
  uint64_t x;
  do x = ref_next(r);
  while (x < refused);
  return lo + x % span;
}

static int ref_bernoulli(ref_rng_t *r, double p) {
  uint64_t d = ref_next(r) >> 11;
  if (isnan(p) || p <= 0) return 0;
  if (p >= 1) return 1;
  return d < (uint64_t)ceil(ldexp(p, 53));
}

/* For bases below 2^32 only. */
static uint64_t ref_jitter(ref_rng_t *r, uint64_t base, uint32_t pct) {
  if (pct > 100) pct = 100;
  uint64_t d = base * pct / 100;
  uint64_t lo = base - d < 1 && base >= 1 ? 1 : base - d;
  return ref_between(r, lo, base + d);
}

/* The plan as chaos_plan.c documents its draws. */
static size_t model_plan(const st_chaos_params_t *p, st_chaos_action_t *out,
                         size_t cap) {
  ref_rng_t r = ref_seeded(p->seed);
  size_t count = 0;
  uint64_t t = 0;
  for (;;) {
    uint64_t next = t + ref_jitter(&r, p->interval_ms, p->jitter_pct);
    if (ref_bernoulli(&r, p->kill_rate)) {
      st_chaos_action_t a = {(uint32_t)t, 0, 0};
      a.target = (uint32_t)ref_between(&r, 0, p->n_targets - 1);
      a.reason = (uint32_t)ref_between(&r, 0, p->n_reasons - 1);
      require_msg(count < cap, "model plan longer than %zu", cap);
      out[count++] = a;
      if (count == p->max_kills) break;
    }
    if (next >= p->duration_ms) break;
    t = next;
  }
  if (count == 0) {
    out[0].at_ms = 0;
    out[0].target = (uint32_t)ref_between(&r, 0, p->n_targets - 1);
    out[0].reason = (uint32_t)ref_between(&r, 0, p->n_reasons - 1);
    count = 1;
  }
  return count;
}

/* ---------------------------------------------------------------- helpers */

/* Chi-square critical values at p = 0.001. */
#define CHI2_DF3 16.266
#define CHI2_DF4 18.467
#define CHI2_DF5 20.515
#define CHI2_DF9 27.877
#define CHI2_DF19 43.820

static double chi_square(const uint64_t *counts, size_t bins,
                         double expected) {
  double chi2 = 0;
  for (size_t i = 0; i < bins; i++) {
    double d = (double)counts[i] - expected;
    chi2 += d * d / expected;
  }
  return chi2;
}

static st_rng_t seeded(uint64_t seed) {
  st_rng_t r;
  st_rng_seed(&r, seed);
  return r;
}

static bool same_state(const st_rng_t *a, const st_rng_t *b) {
  return memcmp(a->s, b->s, sizeof a->s) == 0;
}

/* The state after `draws` more raw draws. */
static st_rng_t advanced(st_rng_t r, int draws) {
  for (int i = 0; i < draws; i++) st_rng_next(&r);
  return r;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Every value < n and no two equal (sorts a copy). */
static void assert_distinct_below(const uint64_t *v, size_t k, uint64_t n) {
  uint64_t *copy = malloc((k > 0 ? k : 1) * sizeof *copy);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, v, k * sizeof *copy);
  qsort(copy, k, sizeof *copy, cmp_u64);
  for (size_t i = 0; i < k; i++) {
    require_msg(copy[i] < n, "chosen value %llu not below n = %llu",
                (unsigned long long)copy[i], (unsigned long long)n);
    require_msg(i == 0 || copy[i] != copy[i - 1],
                "value %llu chosen twice (k = %zu)",
                (unsigned long long)copy[i], k);
  }
  free(copy);
}

static st_chaos_params_t params(uint64_t seed, double rate, uint32_t dur,
                                uint32_t interval, uint32_t jit, uint32_t max,
                                uint32_t tg, uint32_t rs) {
  return (st_chaos_params_t){.seed = seed,
                             .kill_rate = rate,
                             .duration_ms = dur,
                             .interval_ms = interval,
                             .jitter_pct = jit,
                             .max_kills = max,
                             .n_targets = tg,
                             .n_reasons = rs};
}

/* A plan into a fresh heap array (freed by the caller). */
static st_chaos_action_t *plan_of(const st_chaos_params_t *p, size_t *n) {
  size_t need = 0;
  int rc = st_chaos_plan(p, NULL, 0, &need);
  ck_assert_msg(rc == ST_ERANGE && need >= 1,
                "sizing st_chaos_plan(seed %llu) = %d, need %zu",
                (unsigned long long)p->seed, rc, need);
  st_chaos_action_t *a = malloc(need * sizeof *a);
  ck_assert_ptr_nonnull(a);
  rc = st_chaos_plan(p, a, need, n);
  ck_assert_msg(rc == ST_OK && *n == need,
                "st_chaos_plan(seed %llu, cap %zu) = %d, n %zu",
                (unsigned long long)p->seed, need, rc, *n);
  return a;
}

static bool same_actions(const st_chaos_action_t *a, const st_chaos_action_t *b,
                         size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i].at_ms != b[i].at_ms || a[i].target != b[i].target ||
        a[i].reason != b[i].reason)
      return false;
  return true;
}

static bool same_params(const st_chaos_params_t *a,
                        const st_chaos_params_t *b) {
  return a->seed == b->seed &&
         memcmp(&a->kill_rate, &b->kill_rate, sizeof(double)) == 0 &&
         a->duration_ms == b->duration_ms && a->interval_ms == b->interval_ms &&
         a->jitter_pct == b->jitter_pct && a->max_kills == b->max_kills &&
         a->n_targets == b->n_targets && a->n_reasons == b->n_reasons;
}

/* The plan's string, on the heap. */
static char *format_of(const st_chaos_params_t *p, const st_chaos_action_t *a,
                       size_t n) {
  size_t len = st_chaos_plan_format(p, a, n, NULL, 0);
  char *s = malloc(len + 1);
  ck_assert_ptr_nonnull(s);
  size_t again = st_chaos_plan_format(p, a, n, s, len + 1);
  ck_assert_msg(again == len && strlen(s) == len,
                "format returned %zu then %zu, strlen %zu", len, again,
                strlen(s));
  return s;
}

/* -------------------------------------------------------------------- rng */

START_TEST(test_splitmix_seeding) {
  /* Published splitmix64 outputs for seed 0 (Steele, Lea and Flood's
   * algorithm as in Vigna's splitmix64.c): they are the state. */
  const uint64_t seed0[4] = {
      UINT64_C(0xE220A8397B1DCDAF), UINT64_C(0x6E789E6AA1B965F4),
      UINT64_C(0x06C45D188009454F), UINT64_C(0xF88BB8A8724C81EC)};
  st_rng_t r = seeded(0);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(r.s[i] == seed0[i], "seed 0: s[%d] = %#llx, expected %#llx",
                  i, (unsigned long long)r.s[i],
                  (unsigned long long)seed0[i]);
  /* And test_util.h's splitmix64, written separately, for other seeds. */
  const uint64_t seeds[] = {1, 42, 1234, UINT64_MAX,
                            UINT64_C(0x9E3779B97F4A7C15)};
  for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
    test_rng_t t = test_rng_seeded(seeds[k]);
    r = seeded(seeds[k]);
    for (int i = 0; i < 4; i++) {
      uint64_t want = test_rng_next(&t);
      ck_assert_msg(r.s[i] == want, "seed %llu: s[%d] = %#llx, expected %#llx",
                    (unsigned long long)seeds[k], i,
                    (unsigned long long)r.s[i], (unsigned long long)want);
    }
  }
}
END_TEST

START_TEST(test_xoshiro_published_vector) {
  /* The outputs of Blackman and Vigna's reference xoshiro256starstar.c from
   * the state {1, 2, 3, 4}, as published with several ports of it. */
  const uint64_t want[10] = {UINT64_C(11520),
                             UINT64_C(0),
                             UINT64_C(1509978240),
                             UINT64_C(1215971899390074240),
                             UINT64_C(1216172134540287360),
                             UINT64_C(607988272756665600),
                             UINT64_C(16172922978634559625),
                             UINT64_C(8476171486693032832),
                             UINT64_C(10595114339597558777),
                             UINT64_C(2904607092377533576)};
  st_rng_t r = {{1, 2, 3, 4}};
  for (int i = 0; i < 10; i++) {
    uint64_t got = st_rng_next(&r);
    ck_assert_msg(got == want[i], "output %d = %llu, expected %llu", i,
                  (unsigned long long)got, (unsigned long long)want[i]);
  }
}
END_TEST

START_TEST(test_xoshiro_matches_reference) {
  const uint64_t seeds[] = {0, 1, 42, 1234, UINT64_MAX};
  for (size_t k = 0; k < sizeof seeds / sizeof seeds[0]; k++) {
    st_rng_t r = seeded(seeds[k]);
    ref_rng_t ref = ref_seeded(seeds[k]);
    for (int i = 0; i < 10000; i++) {
      uint64_t got = st_rng_next(&r), want = ref_next(&ref);
      require_msg(got == want, "seed %llu, output %d: %#llx, reference %#llx",
                  (unsigned long long)seeds[k], i, (unsigned long long)got,
                  (unsigned long long)want);
    }
  }
}
END_TEST

START_TEST(test_seeded_known_answers) {
  /* Computed once with the reference algorithms (splitmix64 seeding, then
   * xoshiro256**), in an independent transcription outside this tree; the
   * seed-42 values also agree with published ports seeded the same way.
   * They pin the algorithm: any change to it fails here. */
  const uint64_t seed0[6] = {
      UINT64_C(0x99EC5F36CB75F2B4), UINT64_C(0xBF6E1F784956452A),
      UINT64_C(0x1A5F849D4933E6E0), UINT64_C(0x6AA594F1262D2D2C),
      UINT64_C(0xBBA5AD4A1F842E59), UINT64_C(0xFFEF8375D9EBCACA)};
  const uint64_t seed42[6] = {
      UINT64_C(0x15780B2E0C2EC716), UINT64_C(0x6104D9866D113A7E),
      UINT64_C(0xAE17533239E499A1), UINT64_C(0xECB8AD4703B360A1),
      UINT64_C(0xFDE6DC7FE2EC5E64), UINT64_C(0xC50DA53101795238)};
  st_rng_t a = seeded(0), b = seeded(42);
  for (int i = 0; i < 6; i++) {
    uint64_t x = st_rng_next(&a), y = st_rng_next(&b);
    ck_assert_msg(x == seed0[i], "seed 0, output %d = %#llx, expected %#llx",
                  i, (unsigned long long)x, (unsigned long long)seed0[i]);
    ck_assert_msg(y == seed42[i], "seed 42, output %d = %#llx, expected %#llx",
                  i, (unsigned long long)y, (unsigned long long)seed42[i]);
  }
}
END_TEST

START_TEST(test_between_edges) {
  st_rng_t r = seeded(7), before = r;
  /* One value: nothing drawn. */
  ck_assert_uint_eq(st_rng_between(&r, 5, 5), 5);
  ck_assert_uint_eq(st_rng_between(&r, UINT64_MAX, UINT64_MAX), UINT64_MAX);
  ck_assert_msg(same_state(&r, &before), "between(x, x) drew");
  /* The full range is one raw draw. */
  st_rng_t raw = r;
  uint64_t want = st_rng_next(&raw);
  ck_assert_uint_eq(st_rng_between(&r, 0, UINT64_MAX), want);
  ck_assert_msg(same_state(&r, &raw), "between(0, max) drew more than once");
  /* Bounds at the top, and every result within them. */
  bool seen[2] = {false, false};
  for (int i = 0; i < 1000; i++) {
    uint64_t v = st_rng_between(&r, UINT64_MAX - 1, UINT64_MAX);
    require_msg(v >= UINT64_MAX - 1, "between(max - 1, max) = %llu",
                (unsigned long long)v);
    seen[v - (UINT64_MAX - 1)] = true;
  }
  ck_assert(seen[0] && seen[1]);
  for (int i = 0; i < 10000; i++) {
    uint64_t lo = st_rng_next(&r) >> 1, hi = lo + (st_rng_next(&r) >> 40);
    uint64_t v = st_rng_between(&r, lo, hi);
    require_msg(v >= lo && v <= hi, "between(%llu, %llu) = %llu",
                (unsigned long long)lo, (unsigned long long)hi,
                (unsigned long long)v);
  }
}
END_TEST

START_TEST(test_between_matches_rejection_rule) {
  /* Spans where rejection is frequent (just above 2^63) and rare. */
  const uint64_t spans[] = {2, 3, 7, 10, 1000, UINT64_C(1) << 32,
                            (UINT64_C(1) << 63) + 1, UINT64_MAX / 3 * 2,
                            UINT64_MAX};
  for (size_t k = 0; k < sizeof spans / sizeof spans[0]; k++) {
    st_rng_t r = seeded(100 + k);
    ref_rng_t ref = ref_seeded(100 + k);
    /* lo + span - 1 must not wrap. */
    uint64_t lo = spans[k] - 1 <= UINT64_MAX - 88 ? k * 11 : 1;
    for (int i = 0; i < 2000; i++) {
      uint64_t got = st_rng_between(&r, lo, lo + spans[k] - 1);
      uint64_t want = ref_between(&ref, lo, lo + spans[k] - 1);
      require_msg(got == want, "span %llu, draw %d: %llu, reference %llu",
                  (unsigned long long)spans[k], i, (unsigned long long)got,
                  (unsigned long long)want);
    }
    ck_assert_msg(memcmp(r.s, ref.s, sizeof r.s) == 0,
                  "span %llu: states differ after 2000 draws",
                  (unsigned long long)spans[k]);
  }
}
END_TEST

START_TEST(test_between_chi_square) {
  enum { DRAWS = 100000, BINS = 10 };
  uint64_t counts[BINS] = {0};
  st_rng_t r = seeded(2024);
  for (int i = 0; i < DRAWS; i++) {
    uint64_t v = st_rng_between(&r, 0, 9);
    require_msg(v <= 9, "between(0, 9) = %llu", (unsigned long long)v);
    counts[v]++;
  }
  double chi2 = chi_square(counts, BINS, DRAWS / (double)BINS);
  ck_assert_msg(chi2 < CHI2_DF9, "chi-square %.3f >= %.3f (df 9, p 0.001)",
                chi2, CHI2_DF9);
}
END_TEST

START_TEST(test_between_no_modulo_bias) {
  /* A span of 2/3 of 2^64: a plain modulo would put two thirds of the
   * draws in the lower half of the range instead of half. */
  enum { DRAWS = 20000 };
  const uint64_t span = UINT64_MAX / 3 * 2;
  st_rng_t r = seeded(99);
  int low = 0;
  for (int i = 0; i < DRAWS; i++)
    low += st_rng_between(&r, 0, span - 1) < span / 2;
  double frac = low / (double)DRAWS;
  ck_assert_msg(fabs(frac - 0.5) < 0.02,
                "fraction in the lower half %.4f, expected 0.5 +- 0.02", frac);
}
END_TEST

START_TEST(test_bernoulli_edges) {
  const double always_false[] = {0.0, -0.0, -1.0, -INFINITY, NAN};
  const double always_true[] = {1.0, 1.5, INFINITY};
  st_rng_t r = seeded(3);
  for (int i = 0; i < 1000; i++) {
    for (size_t k = 0; k < sizeof always_false / sizeof always_false[0]; k++) {
      st_rng_t want = advanced(r, 1);
      require_msg(st_rng_bernoulli(&r, always_false[k]) == 0,
                  "bernoulli(%g) returned 1", always_false[k]);
      require_msg(same_state(&r, &want), "bernoulli(%g) drew other than once",
                  always_false[k]);
    }
    for (size_t k = 0; k < sizeof always_true / sizeof always_true[0]; k++) {
      st_rng_t want = advanced(r, 1);
      require_msg(st_rng_bernoulli(&r, always_true[k]) == 1,
                  "bernoulli(%g) returned 0", always_true[k]);
      require_msg(same_state(&r, &want), "bernoulli(%g) drew other than once",
                  always_true[k]);
    }
  }
}
END_TEST

START_TEST(test_bernoulli_exact_threshold) {
  /* The outcome is d < ceil(p 2^53) for d the draw's top 53 bits. */
  const double ps[] = {0x1p-53, 0x1p-54, 5e-324, 0.1, 0.3, 1.0 / 3, 0.5, 0.7,
                       0.99999999999999989, 1.0 - 0x1p-53};
  for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
    st_rng_t r = seeded(500 + k);
    ref_rng_t ref = ref_seeded(500 + k);
    for (int i = 0; i < 20000; i++) {
      int got = st_rng_bernoulli(&r, ps[k]);
      int want = ref_bernoulli(&ref, ps[k]);
      require_msg(got == want, "bernoulli(%.17g), draw %d: %d, reference %d",
                  ps[k], i, got, want);
    }
  }
  /* 0.5: exactly when the draw's top bit is clear. */
  st_rng_t r = seeded(77), raw = r;
  for (int i = 0; i < 1000; i++) {
    int want = (st_rng_next(&raw) >> 63) == 0;
    require_msg(st_rng_bernoulli(&r, 0.5) == want, "bernoulli(0.5), draw %d",
                i);
  }
  /* The smallest positive threshold: true only for a zero draw. */
  st_rng_t z = {{0, 0, 0, 0}}; /* yields 0 forever */
  ck_assert_int_eq(st_rng_bernoulli(&z, 5e-324), 1);
  ck_assert_int_eq(st_rng_bernoulli(&z, 0.0), 0);
}
END_TEST

START_TEST(test_bernoulli_frequency) {
  enum { DRAWS = 1000000 };
  st_rng_t r = seeded(31337);
  long hits = 0;
  for (int i = 0; i < DRAWS; i++) hits += st_rng_bernoulli(&r, 0.3);
  double freq = hits / (double)DRAWS;
  ck_assert_msg(fabs(freq - 0.3) <= 0.003,
                "bernoulli(0.3) frequency %.5f, expected 0.3 within 1%% "
                "(0.003)",
                freq);
}
END_TEST

START_TEST(test_shuffle_permutes) {
  const size_t sizes[] = {1, 3, 8, 100};
  st_rng_t r = seeded(11);
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    enum { N = 50 };
    size_t size = sizes[k];
    unsigned char *items = malloc(N * size);
    ck_assert_ptr_nonnull(items);
    /* Item i: every byte i, so a torn swap shows. */
    for (size_t i = 0; i < N; i++) memset(items + i * size, (int)i, size);
    st_rng_shuffle(&r, items, N, size);
    bool seen[N] = {false};
    size_t moved = 0;
    for (size_t i = 0; i < N; i++) {
      unsigned char v = items[i * size];
      for (size_t b = 1; b < size; b++)
        ck_assert_msg(items[i * size + b] == v,
                      "size %zu: item %zu torn (byte %zu = %u, byte 0 = %u)",
                      size, i, b, items[i * size + b], v);
      ck_assert_msg(v < N && !seen[v], "size %zu: value %u lost or doubled",
                    size, v);
      seen[v] = true;
      moved += v != i;
    }
    ck_assert_msg(moved > N / 2, "size %zu: only %zu of %d moved", size,
                  moved, N);
    free(items);
  }
  /* n 0 and 1, NULL: nothing drawn. */
  st_rng_t before = r;
  int one = 5;
  st_rng_shuffle(&r, &one, 1, sizeof one);
  st_rng_shuffle(&r, &one, 0, sizeof one);
  st_rng_shuffle(&r, NULL, 10, sizeof one);
  ck_assert_int_eq(one, 5);
  ck_assert_msg(same_state(&r, &before), "an empty shuffle drew");
}
END_TEST

START_TEST(test_shuffle_uniform) {
  /* Where item 0 of 5 ends up, and which of the 6 orders of 3 comes out. */
  enum { TRIALS = 60000 };
  uint64_t pos[5] = {0}, perms[6] = {0};
  st_rng_t r = seeded(12);
  for (int t = 0; t < TRIALS; t++) {
    int a[5] = {0, 1, 2, 3, 4};
    st_rng_shuffle(&r, a, 5, sizeof a[0]);
    for (int i = 0; i < 5; i++)
      if (a[i] == 0) pos[i]++;
    uint16_t b[3] = {0, 1, 2};
    st_rng_shuffle(&r, b, 3, sizeof b[0]);
    /* Lehmer code of the permutation of 3. */
    int code = b[0] * 2 + (b[1] > b[2] ? 1 : 0);
    perms[code]++;
  }
  double c1 = chi_square(pos, 5, TRIALS / 5.0);
  double c2 = chi_square(perms, 6, TRIALS / 6.0);
  ck_assert_msg(c1 < CHI2_DF4, "positions: chi-square %.3f >= %.3f (df 4)", c1,
                CHI2_DF4);
  ck_assert_msg(c2 < CHI2_DF5, "permutations: chi-square %.3f >= %.3f (df 5)",
                c2, CHI2_DF5);
}
END_TEST

START_TEST(test_choose_distinct) {
  st_rng_t r = seeded(21);
  uint64_t out[64];
  /* k == n: a permutation. */
  for (uint64_t n = 1; n <= 64; n++) {
    ck_assert_int_eq(st_rng_choose(&r, n, n, out), ST_OK);
    assert_distinct_below(out, (size_t)n, n);
  }
  /* A huge n with small k: no O(n) memory, values spread over the range. */
  const uint64_t huge = UINT64_C(1) << 40;
  for (int t = 0; t < 100; t++) {
    ck_assert_int_eq(st_rng_choose(&r, huge, 10, out), ST_OK);
    assert_distinct_below(out, 10, huge);
  }
  ck_assert_int_eq(st_rng_choose(&r, UINT64_MAX, 64, out), ST_OK);
  assert_distinct_below(out, 64, UINT64_MAX);
  /* A k whose table lives on the heap, n a little above k (many
   * collisions). */
  enum { K = 5000 };
  uint64_t *big = malloc(K * sizeof *big);
  ck_assert_ptr_nonnull(big);
  ck_assert_int_eq(st_rng_choose(&r, K + 7, K, big), ST_OK);
  assert_distinct_below(big, K, K + 7);
  ck_assert_int_eq(st_rng_choose(&r, UINT64_C(1) << 50, K, big), ST_OK);
  assert_distinct_below(big, K, UINT64_C(1) << 50);
  free(big);
  /* k == 0 draws nothing; k > n is refused and writes nothing. */
  st_rng_t before = r;
  ck_assert_int_eq(st_rng_choose(&r, 10, 0, NULL), ST_OK);
  ck_assert_int_eq(st_rng_choose(&r, 0, 0, out), ST_OK);
  out[0] = 12345;
  ck_assert_int_eq(st_rng_choose(&r, 3, 4, out), ST_EINVAL);
  ck_assert_int_eq(st_rng_choose(&r, 0, 1, out), ST_EINVAL);
  ck_assert_int_eq(st_rng_choose(&r, 10, 2, NULL), ST_EINVAL);
  ck_assert_uint_eq(out[0], 12345);
  ck_assert_msg(same_state(&r, &before), "a refused or empty choose drew");
}
END_TEST

START_TEST(test_choose_uniform) {
  enum { N = 20, K = 5, TRIALS = 40000 };
  uint64_t included[N] = {0}, first[N] = {0}, out[K];
  st_rng_t r = seeded(22);
  for (int t = 0; t < TRIALS; t++) {
    ck_assert_int_eq(st_rng_choose(&r, N, K, out), ST_OK);
    for (int i = 0; i < K; i++) included[out[i]]++;
    first[out[0]]++;
  }
  double c1 = chi_square(included, N, TRIALS * (double)K / N);
  double c2 = chi_square(first, N, TRIALS / (double)N);
  ck_assert_msg(c1 < CHI2_DF19, "inclusion: chi-square %.3f >= %.3f (df 19)",
                c1, CHI2_DF19);
  ck_assert_msg(c2 < CHI2_DF19, "first drawn: chi-square %.3f >= %.3f (df 19)",
                c2, CHI2_DF19);
}
END_TEST

START_TEST(test_jitter) {
  st_rng_t r = seeded(33);
  /* 100 +- 10%: [90, 110], every value reached. */
  bool seen[21] = {false};
  for (int i = 0; i < 5000; i++) {
    uint64_t v = st_rng_jitter(&r, 100, 10);
    require_msg(v >= 90 && v <= 110, "jitter(100, 10) = %llu",
                (unsigned long long)v);
    seen[v - 90] = true;
  }
  for (int i = 0; i < 21; i++)
    ck_assert_msg(seen[i], "jitter(100, 10) never gave %d", 90 + i);
  /* 100%: never below 1, up to 2 base. */
  uint64_t lo = UINT64_MAX, hi = 0;
  for (int i = 0; i < 5000; i++) {
    uint64_t v = st_rng_jitter(&r, 3, 100);
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    require_msg(st_rng_jitter(&r, 1, 100) >= 1, "jitter(1, 100) below 1");
  }
  ck_assert_msg(lo == 1 && hi == 6, "jitter(3, 100) in [%llu, %llu], "
                "expected [1, 6]", (unsigned long long)lo,
                (unsigned long long)hi);
  /* Above 100 acts as 100: the same value from the same state. */
  for (int i = 0; i < 100; i++) {
    st_rng_t a = r, b = r;
    uint64_t x = st_rng_jitter(&a, 50, 100), y = st_rng_jitter(&b, 50, 250);
    require_msg(x == y && same_state(&a, &b), "jitter(50, 250) = %llu, "
                "jitter(50, 100) = %llu", (unsigned long long)y,
                (unsigned long long)x);
    st_rng_next(&r);
  }
  /* No spread, or base 0: the base, nothing drawn. */
  st_rng_t before = r;
  ck_assert_uint_eq(st_rng_jitter(&r, 100, 0), 100);
  ck_assert_uint_eq(st_rng_jitter(&r, 9, 10), 9); /* 10% of 9 rounds to 0 */
  ck_assert_uint_eq(st_rng_jitter(&r, 0, 100), 0);
  ck_assert_msg(same_state(&r, &before), "a jitter without spread drew");
  /* The top of the range does not wrap. */
  for (int i = 0; i < 1000; i++) {
    uint64_t v = st_rng_jitter(&r, UINT64_MAX, 50);
    require_msg(v >= UINT64_MAX - UINT64_MAX / 2 - 1,
                "jitter(max, 50) = %llu", (unsigned long long)v);
  }
}
END_TEST

/* ------------------------------------------------------------------- plan */

START_TEST(test_plan_same_seed_same_plan) {
  st_chaos_params_t p = params(987654321, 0.4, 10000, 100, 25, 1000, 7, 3);
  size_t n1, n2;
  st_chaos_action_t *a = plan_of(&p, &n1), *b = plan_of(&p, &n2);
  ck_assert_msg(n1 > 10, "only %zu actions", n1);
  ck_assert_msg(n1 == n2 && same_actions(a, b, n1),
                "two plans of one seed differ (%zu and %zu actions)", n1, n2);
  /* Another seed, another plan. */
  p.seed++;
  size_t n3;
  st_chaos_action_t *c = plan_of(&p, &n3);
  ck_assert_msg(n3 != n1 || !same_actions(a, c, n1),
                "seeds %llu and %llu give the same plan",
                (unsigned long long)p.seed - 1, (unsigned long long)p.seed);
  free(a);
  free(b);
  free(c);
}
END_TEST

/* Golden plans (see test_plan_golden). */
#define GOLDEN_1234                                                           \
  "st1;seed=1234;rate=0.29999999999999999;dur=2000;int=100;jit=20;max=10;"    \
  "tg=5;rs=3;a=299.1.2,391.2.2,806.0.1,921.2.0,1036.3.2,1246.0.0,1651.0.0"
#define GOLDEN_1234_FORCED                                                    \
  "st1;seed=1234;rate=0;dur=500;int=100;jit=10;max=10;tg=5;rs=3;a=0.3.0"

START_TEST(test_plan_golden) {
  /* Hard-coded from this implementation, and reproduced once by an
   * independent transcription (outside this tree) of the reference
   * generator and of the draw order chaos_plan.c documents. They pin that
   * order: any change to it (or to the generator) fails here, and would
   * break the replay of every plan already printed. The second one is a
   * plan where no tick kills: the forced kill at 0. */
  const struct {
    st_chaos_params_t p;
    const char *want;
  } cases[] = {
      {params(1234, 0.3, 2000, 100, 20, 10, 5, 3), GOLDEN_1234},
      {params(1234, 0.0, 500, 100, 10, 10, 5, 3), GOLDEN_1234_FORCED},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    size_t n;
    st_chaos_action_t *a = plan_of(&cases[k].p, &n);
    char *s = format_of(&cases[k].p, a, n);
    ck_assert_msg(strcmp(s, cases[k].want) == 0, "plan\n  %s\nexpected\n  %s",
                  s, cases[k].want);
    free(s);
    free(a);
  }
}
END_TEST

START_TEST(test_plan_matches_model) {
  enum { CAP = 4096 };
  st_chaos_action_t *want = malloc(CAP * sizeof *want);
  ck_assert_ptr_nonnull(want);
  test_rng_t t = test_rng_seeded(0xC4A05);
  const double rates[] = {0.0, 0.05, 0.1, 1.0 / 3, 0.5, 0.7, 1.0};
  for (int k = 0; k < 300; k++) {
    st_chaos_params_t p = params(
        test_rng_next(&t), rates[test_rng_between(&t, 0, 6)],
        (uint32_t)test_rng_between(&t, 0, 20000),
        (uint32_t)test_rng_between(&t, 1, 500),
        (uint32_t)test_rng_between(&t, 0, 100),
        (uint32_t)test_rng_between(&t, 1, 60),
        (uint32_t)test_rng_between(&t, 1, 12),
        (uint32_t)test_rng_between(&t, 1, 4));
    if (k % 10 == 0) p.kill_rate = test_rng_unit(&t);
    size_t n, m = model_plan(&p, want, CAP);
    st_chaos_action_t *a = plan_of(&p, &n);
    if (n != m || !same_actions(a, want, n)) {
      char *s1 = format_of(&p, a, n), *s2 = format_of(&p, want, m);
      ck_abort_msg("plan %d differs from the model:\n  %s\n  %s", k, s1, s2);
    }
    free(a);
  }
  free(want);
}
END_TEST

START_TEST(test_plan_one_forced_kill) {
  const st_chaos_params_t cases[] = {
      params(1, 0.0, 50, 100, 0, 10, 4, 2),    /* duration < interval */
      params(2, 1.0, 50, 100, 50, 10, 4, 2),   /* the one tick kills */
      params(3, 0.5, 99, 100, 0, 10, 4, 2),
      params(4, 0.0, 0, 100, 0, 10, 4, 2),     /* duration 0 */
      params(5, 0.0, 100000, 10, 30, 10, 4, 2), /* many ticks, none kills */
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    st_chaos_action_t a[4];
    memset(a, 0xEE, sizeof a);
    size_t n = 99;
    int rc = st_chaos_plan(&cases[k], a, 4, &n);
    ck_assert_msg(rc == ST_OK && n == 1 && a[0].at_ms == 0 &&
                      a[0].target < 4 && a[0].reason < 2,
                  "case %zu: rc %d, n %zu, first (%u, %u, %u)", k, rc, n,
                  a[0].at_ms, a[0].target, a[0].reason);
  }
  /* The forced kill varies with the seed (it is drawn, not fixed). */
  bool targets[4] = {false};
  for (uint64_t seed = 0; seed < 200; seed++) {
    st_chaos_params_t p = params(seed, 0.0, 10, 100, 0, 10, 4, 2);
    st_chaos_action_t a;
    size_t n;
    ck_assert_int_eq(st_chaos_plan(&p, &a, 1, &n), ST_OK);
    targets[a.target] = true;
  }
  ck_assert(targets[0] && targets[1] && targets[2] && targets[3]);
}
END_TEST

START_TEST(test_plan_max_kills) {
  /* Rate 1 and no jitter: a kill at every multiple of the interval until
   * max_kills. */
  const uint32_t maxes[] = {1, 2, 7, 100};
  for (size_t k = 0; k < sizeof maxes / sizeof maxes[0]; k++) {
    st_chaos_params_t p = params(8, 1.0, 1000000, 10, 0, maxes[k], 3, 2);
    size_t n;
    st_chaos_action_t *a = plan_of(&p, &n);
    ck_assert_msg(n == maxes[k], "max_kills %u: %zu actions", maxes[k], n);
    for (size_t i = 0; i < n; i++)
      ck_assert_msg(a[i].at_ms == 10 * i, "action %zu at %u, expected %zu", i,
                    a[i].at_ms, 10 * i);
    free(a);
  }
  /* A lower rate, still capped. */
  st_chaos_params_t p = params(9, 0.3, 1000000, 10, 20, 50, 3, 2);
  size_t n;
  st_chaos_action_t *a = plan_of(&p, &n);
  ck_assert_uint_eq(n, 50);
  free(a);
}
END_TEST

START_TEST(test_plan_ticks_and_rate) {
  /* Rate 1, jitter 20%: consecutive kills 80..120 ms apart, all before
   * the duration, the first at 0. */
  st_chaos_params_t p = params(10, 1.0, 100000, 100, 20, 100000, 3, 2);
  size_t n;
  st_chaos_action_t *a = plan_of(&p, &n);
  ck_assert_msg(n >= 100000 / 120 && n <= 100000 / 80 + 1, "%zu ticks", n);
  ck_assert_uint_eq(a[0].at_ms, 0);
  uint32_t lo = UINT32_MAX, hi = 0;
  for (size_t i = 1; i < n; i++) {
    uint32_t gap = a[i].at_ms - a[i - 1].at_ms;
    require_msg(a[i].at_ms > a[i - 1].at_ms && gap >= 80 && gap <= 120,
                "actions %zu, %zu at %u, %u", i - 1, i, a[i - 1].at_ms,
                a[i].at_ms);
    lo = gap < lo ? gap : lo;
    hi = gap > hi ? gap : hi;
  }
  ck_assert_msg(lo == 80 && hi == 120, "gaps in [%u, %u]", lo, hi);
  ck_assert_uint_lt(a[n - 1].at_ms, 100000);
  free(a);
  /* Rate 0.25 without jitter: 10,000 ticks, about 2,500 kills. */
  p = params(11, 0.25, 100000, 10, 0, 100000, 3, 2);
  a = plan_of(&p, &n);
  ck_assert_msg(n > 2350 && n < 2650, "%zu kills of 10000 ticks at 0.25", n);
  for (size_t i = 0; i < n; i++)
    require_msg(a[i].at_ms % 10 == 0 && a[i].at_ms < 100000,
                "action %zu at %u", i, a[i].at_ms);
  free(a);
}
END_TEST

START_TEST(test_plan_targets_uniform) {
  enum { TG = 10, RS = 4 };
  st_chaos_params_t p = params(12, 1.0, 200000, 1, 0, 1000000, TG, RS);
  size_t n;
  st_chaos_action_t *a = plan_of(&p, &n);
  ck_assert_uint_eq(n, 200000);
  uint64_t targets[TG] = {0}, reasons[RS] = {0};
  for (size_t i = 0; i < n; i++) {
    targets[a[i].target]++;
    reasons[a[i].reason]++;
  }
  double c1 = chi_square(targets, TG, n / (double)TG);
  double c2 = chi_square(reasons, RS, n / (double)RS);
  ck_assert_msg(c1 < CHI2_DF9, "targets: chi-square %.3f >= %.3f (df 9)", c1,
                CHI2_DF9);
  ck_assert_msg(c2 < CHI2_DF3, "reasons: chi-square %.3f >= %.3f (df 3)", c2,
                CHI2_DF3);
  free(a);
}
END_TEST

START_TEST(test_plan_erange) {
  st_chaos_params_t p = params(13, 0.5, 5000, 100, 10, 100, 4, 2);
  size_t n_full;
  st_chaos_action_t *full = plan_of(&p, &n_full);
  ck_assert_uint_gt(n_full, 5);
  st_chaos_action_t part[5];
  size_t n = 0;
  ck_assert_int_eq(st_chaos_plan(&p, part, 5, &n), ST_ERANGE);
  ck_assert_uint_eq(n, n_full);
  ck_assert_msg(same_actions(part, full, 5), "the written prefix differs");
  n = 0;
  ck_assert_int_eq(st_chaos_plan(&p, NULL, 0, &n), ST_ERANGE);
  ck_assert_uint_eq(n, n_full);
  /* One more than needed is fine. */
  st_chaos_action_t *roomy = malloc((n_full + 1) * sizeof *roomy);
  ck_assert_ptr_nonnull(roomy);
  ck_assert_int_eq(st_chaos_plan(&p, roomy, n_full + 1, &n), ST_OK);
  ck_assert_uint_eq(n, n_full);
  free(roomy);
  free(full);
}
END_TEST

START_TEST(test_plan_invalid) {
  const st_chaos_params_t good = params(14, 0.5, 1000, 100, 10, 5, 3, 2);
  st_chaos_params_t bad[10];
  for (int i = 0; i < 10; i++) bad[i] = good;
  bad[0].kill_rate = -0.01;
  bad[1].kill_rate = 1.0000000000000002;
  bad[2].kill_rate = NAN;
  bad[3].kill_rate = INFINITY;
  bad[4].interval_ms = 0;
  bad[5].n_targets = 0;
  bad[6].n_reasons = 0;
  bad[7].max_kills = 0;
  bad[8].jitter_pct = 101;
  bad[9].kill_rate = -INFINITY;
  st_chaos_action_t a[8];
  for (int i = 0; i < 10; i++) {
    memset(a, 0xEE, sizeof a);
    size_t n = 4242;
    int rc = st_chaos_plan(&bad[i], a, 8, &n);
    ck_assert_msg(rc == ST_EINVAL && n == 4242 && a[0].at_ms == 0xEEEEEEEEu,
                  "bad params %d: rc %d, n %zu", i, rc, n);
  }
  size_t n = 4242;
  ck_assert_int_eq(st_chaos_plan(NULL, a, 8, &n), ST_EINVAL);
  ck_assert_int_eq(st_chaos_plan(&good, a, 8, NULL), ST_EINVAL);
  ck_assert_int_eq(st_chaos_plan(&good, NULL, 8, &n), ST_EINVAL);
  ck_assert_uint_eq(n, 4242);
  /* The boundaries themselves are valid. */
  st_chaos_params_t edge = params(0, 1.0, UINT32_MAX, UINT32_MAX, 100, 1, 1, 1);
  ck_assert_int_eq(st_chaos_plan(&edge, a, 8, &n), ST_OK);
  ck_assert_uint_eq(n, 1);
}
END_TEST

/* ---------------------------------------------------------- format, parse */

START_TEST(test_format_documented_example) {
  const char *want =
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=1;"
      "a=0.2.0,130.1.0";
  st_chaos_params_t p = params(42, 0.5, 3000, 100, 10, 50, 3, 1);
  const st_chaos_action_t a[2] = {{0, 2, 0}, {130, 1, 0}};
  char buf[256];
  size_t len = st_chaos_plan_format(&p, a, 2, buf, sizeof buf);
  ck_assert_msg(strcmp(buf, want) == 0, "formatted\n  %s\nexpected\n  %s",
                buf, want);
  ck_assert_uint_eq(len, strlen(want));
  /* snprintf-style: the length needed whatever cap, truncated with NUL. */
  ck_assert_uint_eq(st_chaos_plan_format(&p, a, 2, NULL, 0), len);
  char small[11];
  memset(small, 'X', sizeof small);
  ck_assert_uint_eq(st_chaos_plan_format(&p, a, 2, small, sizeof small), len);
  ck_assert_str_eq(small, "st1;seed=4");
  for (size_t cap = 1; cap <= len + 1; cap++) {
    memset(buf, 'X', sizeof buf);
    size_t got = st_chaos_plan_format(&p, a, 2, buf, cap);
    require_msg(got == len && strlen(buf) == cap - 1 &&
                    strncmp(buf, want, cap - 1) == 0 && buf[cap] == 'X',
                "cap %zu: returned %zu, wrote \"%s\"", cap, got, buf);
  }
  /* It parses back to the same. */
  st_chaos_params_t q;
  st_chaos_action_t b[2];
  size_t n;
  ck_assert_int_eq(st_chaos_plan_parse(want, &q, b, 2, &n), ST_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert(same_params(&p, &q));
  ck_assert(same_actions(a, b, 2));
  /* A -0.0 rate prints as 0 and parses back as 0. */
  p.kill_rate = -0.0;
  st_chaos_plan_format(&p, a, 1, buf, sizeof buf);
  ck_assert_msg(strstr(buf, ";rate=0;") != NULL, "-0.0 formatted as %s", buf);
  ck_assert_int_eq(st_chaos_plan_parse(buf, &q, b, 2, &n), ST_OK);
  ck_assert(q.kill_rate == 0.0 && !signbit(q.kill_rate));
}
END_TEST

START_TEST(test_format_parse_round_trip) {
  const double rates[] = {0.1, 1.0 / 3, 0.7, 0.0, 1.0, 0.5, 5e-324,
                          0x1p-60, 0.99999999999999989, 2.0 / 3};
  const size_t nrates = sizeof rates / sizeof rates[0];
  test_rng_t t = test_rng_seeded(0xF0A7);
  for (int k = 0; k < 500; k++) {
    st_chaos_params_t p = params(
        k == 0 ? UINT64_MAX : test_rng_next(&t),
        k % 4 == 3 ? test_rng_unit(&t)
                   : rates[test_rng_between(&t, 0, nrates - 1)],
        (uint32_t)test_rng_between(&t, 0, 30000),
        (uint32_t)test_rng_between(&t, 1, 1000),
        (uint32_t)test_rng_between(&t, 0, 100),
        (uint32_t)test_rng_between(&t, 1, 200),
        (uint32_t)test_rng_between(&t, 1, 100),
        (uint32_t)test_rng_between(&t, 1, 10));
    if (k == 1) p = params(0, 1.0, UINT32_MAX, UINT32_MAX, 100, UINT32_MAX,
                           UINT32_MAX, UINT32_MAX);
    size_t n;
    st_chaos_action_t *a = plan_of(&p, &n);
    char *s = format_of(&p, a, n);
    st_chaos_params_t q;
    memset(&q, 0xEE, sizeof q);
    st_chaos_action_t *b = malloc(n * sizeof *b);
    ck_assert_ptr_nonnull(b);
    size_t m = 0;
    int rc = st_chaos_plan_parse(s, &q, b, n, &m);
    ck_assert_msg(rc == ST_OK && m == n, "parse(%s) = %d, n %zu of %zu", s, rc,
                  m, n);
    ck_assert_msg(same_params(&p, &q) && same_actions(a, b, n),
                  "round trip of %s changed it (rate %.17g -> %.17g)", s,
                  p.kill_rate, q.kill_rate);
    free(b);
    free(s);
    free(a);
  }
}
END_TEST

START_TEST(test_parse_erange) {
  const char *s =
      "st1;seed=7;rate=1;dur=1000;int=100;jit=0;max=10;tg=4;rs=2;"
      "a=0.1.0,100.2.1,200.3.0,300.0.1";
  st_chaos_params_t q;
  st_chaos_action_t a[4];
  memset(a, 0xEE, sizeof a);
  size_t n = 0;
  ck_assert_int_eq(st_chaos_plan_parse(s, &q, a, 2, &n), ST_ERANGE);
  ck_assert_uint_eq(n, 4);
  ck_assert_msg(a[0].at_ms == 0 && a[0].target == 1 && a[1].at_ms == 100 &&
                    a[1].reason == 1 && a[2].at_ms == 0xEEEEEEEEu,
                "prefix (%u.%u.%u, %u.%u.%u), third at %u", a[0].at_ms,
                a[0].target, a[0].reason, a[1].at_ms, a[1].target, a[1].reason,
                a[2].at_ms);
  n = 0;
  ck_assert_int_eq(st_chaos_plan_parse(s, &q, NULL, 0, &n), ST_ERANGE);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(st_chaos_plan_parse(s, &q, a, 4, &n), ST_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(a[3].at_ms, 300);
  ck_assert_uint_eq(q.max_kills, 10);
  /* A subset of a plan (what ddmin leaves) is a plan. */
  ck_assert_int_eq(
      st_chaos_plan_parse("st1;seed=7;rate=1;dur=1000;int=100;jit=0;max=10;"
                          "tg=4;rs=2;a=200.3.0",
                          &q, a, 4, &n),
      ST_OK);
  ck_assert_uint_eq(n, 1);
}
END_TEST

START_TEST(test_parse_rejects_malformed) {
#define HEAD "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;"
  const char *bad[] = {
      "",
      "garbage",
      "st1",
      "st2;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      /* missing keys */
      "st1;seed=42;rate=0.5;dur=3000;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      HEAD,
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2",
      /* keys out of order, duplicated, renamed, spaced */
      "st1;rate=0.5;seed=42;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;"
      "a=0.2.0",
      "st1;SEED=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1; seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed= 42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      /* trailing junk */
      HEAD "a=0.2.0x",
      HEAD "a=0.2.0,",
      HEAD "a=0.2.0;",
      HEAD "a=0.2.0 ",
      HEAD "a=0.2.0\n",
      HEAD "a=0.2.0;extra=1",
      /* the actions themselves */
      HEAD "a=",
      HEAD "a=0.2",
      HEAD "a=0.2.0.1",
      HEAD "a=0.2.0,,130.1.0",
      HEAD "a=.2.0",
      HEAD "a=0.3.0",          /* target >= tg */
      HEAD "a=0.0.2",          /* reason >= rs */
      HEAD "a=3000.0.0",       /* at or after the duration */
      HEAD "a=130.1.0,0.2.0",  /* time going back */
      HEAD "a=-1.0.0",
      HEAD "a=0.4294967296.0",
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=1;tg=3;rs=2;"
      "a=0.2.0,130.1.0", /* more actions than max */
      /* numbers */
      "st1;seed=-1;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=+42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=042;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=18446744073709551616;rate=0.5;dur=3000;int=100;jit=10;max=50;"
      "tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5;dur=4294967296;int=100;jit=10;max=50;tg=3;rs=2;"
      "a=0.2.0",
      "st1;seed=;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=0x2A;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      /* rates */
      "st1;seed=42;rate=1.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=-0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=nan;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=inf;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0x1p-1;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;"
      "a=0.2.0",
      "st1;seed=42;rate=;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate= 0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5e;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=1e400;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;"
      "a=0.2.0",
      /* parameters out of range */
      "st1;seed=42;rate=0.5;dur=3000;int=0;jit=10;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=101;max=50;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=0;tg=3;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=0;rs=2;a=0.2.0",
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=0;a=0.2.0",
  };
#undef HEAD
  const size_t nbad = sizeof bad / sizeof bad[0];
  ck_assert_uint_ge(nbad, 50);
  for (size_t i = 0; i < nbad; i++) {
    st_chaos_params_t q;
    memset(&q, 0xEE, sizeof q);
    st_chaos_action_t a[4];
    memset(a, 0xEE, sizeof a);
    size_t n = 4242;
    int rc = st_chaos_plan_parse(bad[i], &q, a, 4, &n);
    require_msg(rc == ST_EINVAL, "case %zu: parse(\"%s\") = %d, not ST_EINVAL",
                i, bad[i], rc);
    require_msg(n == 4242 && q.seed == UINT64_C(0xEEEEEEEEEEEEEEEE) &&
                    a[0].at_ms == 0xEEEEEEEEu,
                "case %zu: parse(\"%s\") wrote to its outputs", i, bad[i]);
  }
  /* NULL arguments. */
  st_chaos_params_t q;
  st_chaos_action_t a[1];
  size_t n;
  const char *ok =
      "st1;seed=42;rate=0.5;dur=3000;int=100;jit=10;max=50;tg=3;rs=2;a=0.2.0";
  ck_assert_int_eq(st_chaos_plan_parse(ok, &q, a, 1, &n), ST_OK);
  ck_assert_int_eq(st_chaos_plan_parse(NULL, &q, a, 1, &n), ST_EINVAL);
  ck_assert_int_eq(st_chaos_plan_parse(ok, NULL, a, 1, &n), ST_EINVAL);
  ck_assert_int_eq(st_chaos_plan_parse(ok, &q, NULL, 1, &n), ST_EINVAL);
  ck_assert_int_eq(st_chaos_plan_parse(ok, &q, a, 1, NULL), ST_EINVAL);
}
END_TEST

/* -------------------------------------------------------------------- log */

static st_chaos_log_entry_t entry_of(size_t i) {
  return (st_chaos_log_entry_t){
      .time_ns = (int64_t)i * 1000 - 5,
      .kind = (st_chaos_log_kind_t)(1 + i % 5),
      .target = (uint32_t)(i * 7),
      .action = (uint32_t)(i / 2),
  };
}

START_TEST(test_log_basics) {
  st_chaos_log_t *log = NULL;
  ck_assert_int_eq(st_chaos_log_create(&log), ST_OK);
  ck_assert_ptr_nonnull(log);
  ck_assert_uint_eq(st_chaos_log_count(log), 0);
  for (int k = 1; k <= 5; k++)
    ck_assert_uint_eq(st_chaos_log_count_kind(log, (st_chaos_log_kind_t)k), 0);
  st_chaos_log_entry_t e;
  ck_assert_int_eq(st_chaos_log_get(log, 0, &e), ST_EINVAL);

  const st_chaos_log_entry_t in[3] = {
      {INT64_MIN, ST_CHAOS_PLANNED, 2, 0},
      {INT64_MAX, ST_CHAOS_KILLED, UINT32_MAX, UINT32_MAX},
      {0, ST_CHAOS_SUPERVISOR_DOWN, 0, 1},
  };
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(st_chaos_log_append(log, &in[i]), ST_OK);
  ck_assert_uint_eq(st_chaos_log_count(log), 3);
  for (size_t i = 0; i < 3; i++) {
    memset(&e, 0, sizeof e);
    ck_assert_int_eq(st_chaos_log_get(log, i, &e), ST_OK);
    ck_assert_msg(e.time_ns == in[i].time_ns && e.kind == in[i].kind &&
                      e.target == in[i].target && e.action == in[i].action,
                  "entry %zu: (%lld, %d, %u, %u)", i, (long long)e.time_ns,
                  (int)e.kind, e.target, e.action);
  }
  ck_assert_uint_eq(st_chaos_log_count_kind(log, ST_CHAOS_PLANNED), 1);
  ck_assert_uint_eq(st_chaos_log_count_kind(log, ST_CHAOS_KILLED), 1);
  ck_assert_uint_eq(st_chaos_log_count_kind(log, ST_CHAOS_SKIPPED), 0);
  ck_assert_uint_eq(st_chaos_log_count_kind(log, ST_CHAOS_RESTART_SEEN), 0);
  ck_assert_uint_eq(st_chaos_log_count_kind(log, ST_CHAOS_SUPERVISOR_DOWN), 1);

  /* Unknown kinds are refused and counted as nothing; get past the end. */
  const int bad_kinds[] = {0, 6, -1, 1000};
  for (size_t i = 0; i < sizeof bad_kinds / sizeof bad_kinds[0]; i++) {
    st_chaos_log_entry_t b = {1, (st_chaos_log_kind_t)bad_kinds[i], 0, 0};
    ck_assert_int_eq(st_chaos_log_append(log, &b), ST_EINVAL);
    ck_assert_uint_eq(
        st_chaos_log_count_kind(log, (st_chaos_log_kind_t)bad_kinds[i]), 0);
  }
  ck_assert_uint_eq(st_chaos_log_count(log), 3);
  e.target = 99;
  ck_assert_int_eq(st_chaos_log_get(log, 3, &e), ST_EINVAL);
  ck_assert_int_eq(st_chaos_log_get(log, SIZE_MAX, &e), ST_EINVAL);
  ck_assert_uint_eq(e.target, 99);
  /* NULL arguments. */
  ck_assert_int_eq(st_chaos_log_create(NULL), ST_EINVAL);
  ck_assert_int_eq(st_chaos_log_append(NULL, &in[0]), ST_EINVAL);
  ck_assert_int_eq(st_chaos_log_append(log, NULL), ST_EINVAL);
  ck_assert_int_eq(st_chaos_log_get(log, 0, NULL), ST_EINVAL);
  ck_assert_uint_eq(st_chaos_log_count(NULL), 0);
  ck_assert_uint_eq(st_chaos_log_count_kind(NULL, ST_CHAOS_KILLED), 0);
  st_chaos_log_destroy(log);
  st_chaos_log_destroy(NULL);
}
END_TEST

START_TEST(test_log_growth) {
  enum { N = 100000 };
  st_chaos_log_t *log;
  ck_assert_int_eq(st_chaos_log_create(&log), ST_OK);
  for (size_t i = 0; i < N; i++) {
    st_chaos_log_entry_t e = entry_of(i);
    int rc = st_chaos_log_append(log, &e);
    require_msg(rc == ST_OK, "append %zu = %d", i, rc);
    require_msg(st_chaos_log_count(log) == i + 1, "count %zu after %zu",
                st_chaos_log_count(log), i + 1);
  }
  for (size_t i = 0; i < N; i++) {
    st_chaos_log_entry_t e, want = entry_of(i);
    require_msg(st_chaos_log_get(log, i, &e) == ST_OK &&
                    e.time_ns == want.time_ns && e.kind == want.kind &&
                    e.target == want.target && e.action == want.action,
                "entry %zu: (%lld, %d, %u, %u)", i, (long long)e.time_ns,
                (int)e.kind, e.target, e.action);
  }
  for (int k = 1; k <= 5; k++)
    ck_assert_msg(st_chaos_log_count_kind(log, (st_chaos_log_kind_t)k) ==
                      N / 5,
                  "kind %d: %zu entries", k,
                  st_chaos_log_count_kind(log, (st_chaos_log_kind_t)k));
  st_chaos_log_destroy(log);
}
END_TEST

/* ------------------------------------------------------------------ ddmin */

/* A run's outcome, from the candidate's indices. */
typedef bool (*outcome_fn)(const size_t *idx, size_t k, const void *ctx);

typedef struct {
  const size_t *need;
  size_t n_need;
} superset_ctx_t;

/* Fails iff every needed action is in the candidate. */
static bool fails_with_all(const size_t *idx, size_t k, const void *ctx) {
  const superset_ctx_t *c = ctx;
  for (size_t j = 0; j < c->n_need; j++) {
    bool found = false;
    for (size_t i = 0; i < k && !found; i++) found = idx[i] == c->need[j];
    if (!found) return false;
  }
  return true;
}

typedef struct {
  const uint8_t *table; /* outcome of each subset, by bit mask */
} table_ctx_t;

static size_t mask_of(const size_t *idx, size_t k) {
  size_t m = 0;
  for (size_t i = 0; i < k; i++) m |= (size_t)1 << idx[i];
  return m;
}

static bool fails_by_table(const size_t *idx, size_t k, const void *ctx) {
  const table_ctx_t *c = ctx;
  return c->table[mask_of(idx, k)] != 0;
}

/* Runs ddmin over n actions to the end, checking every candidate (non-empty,
 * increasing, within the current result); the result into res, its size
 * returned; the runs into *runs. */
static size_t run_ddmin(size_t n, outcome_fn fails, const void *ctx,
                        size_t *res, size_t *runs) {
  /* require_msg rather than ck_assert: this runs some 10^5 times. */
  st_chaos_ddmin_t *d = NULL;
  require_msg(st_chaos_ddmin_create(n, &d) == ST_OK, "create(%zu)", n);
  size_t *idx = malloc(n * sizeof *idx), *cur = malloc(n * sizeof *cur);
  require_msg(idx != NULL && cur != NULL, "out of memory");
  size_t k, m, steps = 0;
  while (st_chaos_ddmin_next(d, idx, &k) == ST_OK) {
    require_msg(st_chaos_ddmin_result(d, cur, &m) == ST_OK, "result");
    require_msg(k >= 1 && k < m, "candidate of %zu from a result of %zu", k,
                m);
    for (size_t i = 0, j = 0; i < k; i++) {
      require_msg(i == 0 || idx[i] > idx[i - 1], "candidate not increasing");
      while (j < m && cur[j] != idx[i]) j++;
      require_msg(j < m, "candidate index %zu not in the current result",
                  idx[i]);
    }
    require_msg(st_chaos_ddmin_report(d, fails(idx, k, ctx)) == ST_OK,
                "report refused");
    require_msg(++steps <= 100000, "ddmin over %zu does not end", n);
  }
  require_msg(st_chaos_ddmin_next(d, idx, &k) == ST_EEMPTY,
              "next after the end is not ST_EEMPTY");
  require_msg(st_chaos_ddmin_result(d, res, &m) == ST_OK, "result");
  *runs = st_chaos_ddmin_runs(d);
  require_msg(*runs == steps, "runs %zu, reported %zu", *runs, steps);
  st_chaos_ddmin_destroy(d);
  free(idx);
  free(cur);
  return m;
}

static void assert_result(const size_t *res, size_t m, const size_t *want,
                          size_t n_want) {
  bool same = m == n_want;
  for (size_t i = 0; same && i < m; i++) same = res[i] == want[i];
  if (!same) {
    char buf[256] = "";
    for (size_t i = 0; i < m && strlen(buf) < 200; i++)
      snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " %zu", res[i]);
    ck_abort_msg("ddmin result {%s } (%zu), expected %zu actions", buf, m,
                 n_want);
  }
}

START_TEST(test_ddmin_pair) {
  const size_t need[] = {7, 23};
  superset_ctx_t c = {need, 2};
  size_t res[40], runs;
  size_t m = run_ddmin(40, fails_with_all, &c, res, &runs);
  assert_result(res, m, need, 2);
  ck_assert_msg(runs < 400, "%zu runs for a pair among 40", runs);
}
END_TEST

START_TEST(test_ddmin_single_and_triple) {
  const size_t one[] = {13};
  superset_ctx_t c1 = {one, 1};
  size_t res[60], runs;
  size_t m = run_ddmin(40, fails_with_all, &c1, res, &runs);
  assert_result(res, m, one, 1);
  ck_assert_msg(runs < 100, "%zu runs for one culprit among 40", runs);

  const size_t three[] = {5, 31, 58};
  superset_ctx_t c3 = {three, 3};
  m = run_ddmin(60, fails_with_all, &c3, res, &runs);
  assert_result(res, m, three, 3);
  ck_assert_msg(runs < 600, "%zu runs for three among 60", runs);

  /* Everything needed: the whole set stays. */
  size_t all[9];
  for (size_t i = 0; i < 9; i++) all[i] = i;
  superset_ctx_t c9 = {all, 9};
  m = run_ddmin(9, fails_with_all, &c9, res, &runs);
  assert_result(res, m, all, 9);
}
END_TEST

START_TEST(test_ddmin_small_n_monotone) {
  /* n = 1, 2, 3, 4 and every non-empty cause T: the result is T. */
  for (size_t n = 1; n <= 4; n++) {
    for (size_t t = 1; t < ((size_t)1 << n); t++) {
      size_t need[4], nn = 0, res[4], runs;
      for (size_t i = 0; i < n; i++)
        if (t & ((size_t)1 << i)) need[nn++] = i;
      superset_ctx_t c = {need, nn};
      size_t m = run_ddmin(n, fails_with_all, &c, res, &runs);
      assert_result(res, m, need, nn);
    }
  }
  /* n = 1 runs nothing: the one action is the answer. */
  st_chaos_ddmin_t *d;
  size_t idx[1] = {99}, k = 99;
  ck_assert_int_eq(st_chaos_ddmin_create(1, &d), ST_OK);
  ck_assert_int_eq(st_chaos_ddmin_next(d, idx, &k), ST_EEMPTY);
  ck_assert_int_eq(st_chaos_ddmin_report(d, 1), ST_EINVAL);
  ck_assert_int_eq(st_chaos_ddmin_result(d, idx, &k), ST_OK);
  ck_assert_msg(k == 1 && idx[0] == 0, "n = 1: result of %zu, first %zu", k,
                idx[0]);
  ck_assert_uint_eq(st_chaos_ddmin_runs(d), 0);
  st_chaos_ddmin_destroy(d);
}
END_TEST

/* The result fails and dropping any one of its actions passes (the empty
 * run counts as passing). */
static void assert_one_minimal(const uint8_t *table, size_t n,
                               const size_t *res, size_t m) {
  size_t mask = mask_of(res, m);
  require_msg(m >= 1 && table[mask], "n %zu: result (mask %#zx) does not fail",
              n, mask);
  for (size_t i = 0; i < m; i++) {
    size_t without = mask & ~((size_t)1 << res[i]);
    require_msg(without == 0 || !table[without],
                "n %zu: result mask %#zx, still fails without %zu", n, mask,
                res[i]);
  }
}

START_TEST(test_ddmin_one_minimal_exhaustive) {
  /* Every outcome table over the non-empty proper subsets, n <= 4 (2^14
   * tables for n = 4); the full set fails. */
  uint8_t table[16];
  for (size_t n = 1; n <= 4; n++) {
    size_t full = ((size_t)1 << n) - 1, free_sets = full - 1;
    for (size_t bits = 0; bits < ((size_t)1 << free_sets); bits++) {
      table[0] = 0;
      table[full] = 1;
      for (size_t s = 1; s < full; s++) table[s] = (bits >> (s - 1)) & 1;
      table_ctx_t c = {table};
      size_t res[4], runs;
      size_t m = run_ddmin(n, fails_by_table, &c, res, &runs);
      assert_one_minimal(table, n, res, m);
    }
  }
}
END_TEST

START_TEST(test_ddmin_one_minimal_random) {
  enum { N = 10 };
  uint8_t *table = malloc((size_t)1 << N);
  ck_assert_ptr_nonnull(table);
  test_rng_t t = test_rng_seeded(0xDD);
  const double densities[] = {0.05, 0.3, 0.5, 0.9};
  for (int k = 0; k < 400; k++) {
    double dens = densities[k % 4];
    for (size_t s = 0; s < ((size_t)1 << N); s++)
      table[s] = test_rng_unit(&t) < dens;
    table[0] = 0;
    table[((size_t)1 << N) - 1] = 1;
    table_ctx_t c = {table};
    size_t res[N], runs;
    size_t m = run_ddmin(N, fails_by_table, &c, res, &runs);
    assert_one_minimal(table, N, res, m);
  }
  free(table);
}
END_TEST

START_TEST(test_ddmin_protocol) {
  st_chaos_ddmin_t *d = (st_chaos_ddmin_t *)(uintptr_t)0x1;
  ck_assert_int_eq(st_chaos_ddmin_create(0, &d), ST_EINVAL);
  ck_assert_ptr_eq(d, (st_chaos_ddmin_t *)(uintptr_t)0x1);
  ck_assert_int_eq(st_chaos_ddmin_create(5, NULL), ST_EINVAL);

  ck_assert_int_eq(st_chaos_ddmin_create(8, &d), ST_OK);
  size_t idx[8], again[8], k, k2;
  /* Before any report: all n, no runs; report without next refused. */
  ck_assert_int_eq(st_chaos_ddmin_result(d, idx, &k), ST_OK);
  ck_assert_uint_eq(k, 8);
  for (size_t i = 0; i < 8; i++) ck_assert_uint_eq(idx[i], i);
  ck_assert_int_eq(st_chaos_ddmin_report(d, 1), ST_EINVAL);
  ck_assert_uint_eq(st_chaos_ddmin_runs(d), 0);
  /* next twice: the same candidate. */
  ck_assert_int_eq(st_chaos_ddmin_next(d, idx, &k), ST_OK);
  ck_assert_int_eq(st_chaos_ddmin_next(d, again, &k2), ST_OK);
  ck_assert_msg(k == k2 && memcmp(idx, again, k * sizeof *idx) == 0,
                "next twice: %zu then %zu indices", k, k2);
  ck_assert_uint_eq(k, 4); /* the first half */
  ck_assert_int_eq(st_chaos_ddmin_report(d, 0), ST_OK);
  /* Reported once: a second report is refused and counts nothing. */
  ck_assert_int_eq(st_chaos_ddmin_report(d, 0), ST_EINVAL);
  ck_assert_uint_eq(st_chaos_ddmin_runs(d), 1);
  ck_assert_int_eq(st_chaos_ddmin_next(d, idx, &k), ST_OK);
  ck_assert_msg(k == 4 && idx[0] == 4, "second candidate: %zu from %zu", k,
                idx[0]);
  /* The second half fails: the result shrinks to it. */
  ck_assert_int_eq(st_chaos_ddmin_report(d, 1), ST_OK);
  ck_assert_int_eq(st_chaos_ddmin_result(d, idx, &k), ST_OK);
  ck_assert_msg(k == 4 && idx[0] == 4 && idx[3] == 7, "result %zu from %zu",
                k, idx[0]);
  /* NULL arguments. */
  ck_assert_int_eq(st_chaos_ddmin_next(NULL, idx, &k), ST_EINVAL);
  ck_assert_int_eq(st_chaos_ddmin_next(d, NULL, &k), ST_EINVAL);
  ck_assert_int_eq(st_chaos_ddmin_report(NULL, 1), ST_EINVAL);
  ck_assert_int_eq(st_chaos_ddmin_result(NULL, idx, &k), ST_EINVAL);
  ck_assert_uint_eq(st_chaos_ddmin_runs(NULL), 0);
  st_chaos_ddmin_destroy(d);
  st_chaos_ddmin_destroy(NULL);
}
END_TEST

/* ------------------------------------------------------------- schedules */

/* The documented draw order, as plainly as possible: with `left`
 * operations remaining, draw x in [0, left) and walk the threads until the
 * one whose remaining block holds x. */
static void model_interleave(uint64_t seed, const uint32_t *lengths, size_t n,
                             uint32_t *out, size_t total) {
  ref_rng_t r = ref_seeded(seed);
  uint32_t *rem = malloc(n * sizeof *rem);
  ck_assert_ptr_nonnull(rem);
  memcpy(rem, lengths, n * sizeof *rem);
  for (size_t i = 0; i < total; i++) {
    uint64_t x = ref_between(&r, 0, total - i - 1);
    size_t t = 0;
    while (x >= rem[t]) x -= rem[t++];
    out[i] = (uint32_t)t;
    rem[t]--;
  }
  free(rem);
}

START_TEST(test_interleave_counts_and_replay) {
  const uint32_t lengths[] = {3, 0, 5, 1, 4};
  enum { N = 5, TOTAL = 13 };
  uint32_t a[TOTAL], b[TOTAL];
  st_rng_t r1 = seeded(42), r2 = seeded(42);
  ck_assert_int_eq(st_chaos_interleave(&r1, lengths, N, a, TOTAL), ST_OK);
  ck_assert_int_eq(st_chaos_interleave(&r2, lengths, N, b, TOTAL), ST_OK);
  ck_assert_mem_eq(a, b, sizeof a);
  uint32_t seen[N] = {0};
  for (int i = 0; i < TOTAL; i++) {
    ck_assert_uint_lt(a[i], N);
    seen[a[i]]++;
  }
  for (int t = 0; t < N; t++) ck_assert_uint_eq(seen[t], lengths[t]);
  /* Another seed gives another order (for these lengths, 13!/(3!5!4!)
   * orders: the chance of a tie is negligible). */
  st_rng_t r3 = seeded(43);
  ck_assert_int_eq(st_chaos_interleave(&r3, lengths, N, b, TOTAL), ST_OK);
  ck_assert(memcmp(a, b, sizeof a) != 0);
}
END_TEST

START_TEST(test_interleave_golden) {
  /* The replay contract: this order for seed 7 on every platform. */
  const uint32_t lengths[] = {2, 3, 2};
  const uint32_t expected[] = {0, 1, 2, 0, 2, 1, 1};
  uint32_t out[7];
  st_rng_t r = seeded(7);
  ck_assert_int_eq(st_chaos_interleave(&r, lengths, 3, out, 7), ST_OK);
  ck_assert_mem_eq(out, expected, sizeof out);
}
END_TEST

START_TEST(test_interleave_matches_model) {
  test_rng_t g = test_rng_seeded(99);
  for (int round = 0; round < 200; round++) {
    size_t n = (size_t)test_rng_between(&g, 1, round < 150 ? 8 : 1500);
    uint32_t *lengths = malloc(n * sizeof *lengths);
    ck_assert_ptr_nonnull(lengths);
    size_t total = 0;
    for (size_t t = 0; t < n; t++) {
      lengths[t] = (uint32_t)test_rng_between(&g, 0, 12);
      total += lengths[t];
    }
    uint32_t *got = malloc((total + 1) * sizeof *got);
    uint32_t *want = malloc((total + 1) * sizeof *want);
    ck_assert_ptr_nonnull(got);
    ck_assert_ptr_nonnull(want);
    uint64_t seed = test_rng_next(&g);
    st_rng_t r = seeded(seed);
    ck_assert_int_eq(st_chaos_interleave(&r, lengths, n, got, total), ST_OK);
    model_interleave(seed, lengths, n, want, total);
    require_msg(memcmp(got, want, total * sizeof *got) == 0,
                "round %d (%zu threads, %zu steps): differs from the model", round, n,
                total);
    /* And the generator is left where the model's is. */
    ref_rng_t m = ref_seeded(seed);
    for (size_t i = 0; i < total; i++) (void)ref_between(&m, 0, total - i - 1);
    require_msg(st_rng_next(&r) == ref_next(&m), "round %d: draws differ", round);
    free(lengths);
    free(got);
    free(want);
  }
}
END_TEST

/* Index of an interleaving of two threads of two operations each (a
 * 4-bit pattern of which thread moves), among the six. */
static int pattern_index(const uint32_t *order, size_t total) {
  static const unsigned patterns[6] = {0x3, 0x5, 0x6, 0x9, 0xA, 0xC};
  unsigned bits = 0;
  for (size_t i = 0; i < total; i++) bits |= order[i] << i;
  for (int k = 0; k < 6; k++)
    if (patterns[k] == bits) return k;
  return -1;
}

START_TEST(test_interleave_uniform) {
  /* {2, 2}: 6 interleavings, each 1/6 (a thread-by-thread coin toss
   * would give 0011 and 1100 a quarter each). */
  enum { RUNS = 60000 };
  const uint32_t lengths[] = {2, 2};
  uint64_t counts[6] = {0};
  st_rng_t r = seeded(31337);
  for (int i = 0; i < RUNS; i++) {
    uint32_t out[4];
    ck_assert_int_eq(st_chaos_interleave(&r, lengths, 2, out, 4), ST_OK);
    int k = pattern_index(out, 4);
    require_msg(k >= 0, "run %d: not an interleaving of {2, 2}", i);
    counts[k]++;
  }
  double chi2 = chi_square(counts, 6, RUNS / 6.0);
  ck_assert_msg(chi2 < CHI2_DF5, "chi-square %.3f >= %.3f (df 5, p 0.001)", chi2,
                CHI2_DF5);
  /* {1, 1, 1, 1}: 24 permutations, the first mover uniform over 4. */
  const uint32_t ones[] = {1, 1, 1, 1};
  uint64_t first[4] = {0};
  for (int i = 0; i < RUNS; i++) {
    uint32_t out[4];
    ck_assert_int_eq(st_chaos_interleave(&r, ones, 4, out, 4), ST_OK);
    first[out[0]]++;
  }
  chi2 = chi_square(first, 4, RUNS / 4.0);
  ck_assert_msg(chi2 < CHI2_DF3, "chi-square %.3f >= %.3f (df 3, p 0.001)", chi2,
                CHI2_DF3);
}
END_TEST

START_TEST(test_interleave_invalid) {
  const uint32_t lengths[] = {2, 1};
  uint32_t out[4] = {9, 9, 9, 9};
  st_rng_t r = seeded(1);
  st_rng_t before = r;
  ck_assert_int_eq(st_chaos_interleave(&r, lengths, 2, out, 2), ST_EINVAL);
  ck_assert_int_eq(st_chaos_interleave(&r, lengths, 2, out, 4), ST_EINVAL);
  ck_assert_int_eq(st_chaos_interleave(NULL, lengths, 2, out, 3), ST_EINVAL);
  ck_assert_int_eq(st_chaos_interleave(&r, NULL, 2, out, 3), ST_EINVAL);
  ck_assert_int_eq(st_chaos_interleave(&r, lengths, 2, NULL, 3), ST_EINVAL);
  ck_assert_uint_eq(out[0], 9);
  ck_assert_mem_eq(&r, &before, sizeof r);
  /* Nothing to schedule is fine and draws nothing. */
  ck_assert_int_eq(st_chaos_interleave(&r, NULL, 0, NULL, 0), ST_OK);
  const uint32_t zeros[] = {0, 0};
  ck_assert_int_eq(st_chaos_interleave(&r, zeros, 2, NULL, 0), ST_OK);
  ck_assert_mem_eq(&r, &before, sizeof r);
  /* One thread: its operations in order, without a draw. */
  const uint32_t one[] = {3};
  ck_assert_int_eq(st_chaos_interleave(&r, one, 1, out, 3), ST_OK);
  ck_assert_uint_eq(out[0] + out[1] + out[2], 0);
}
END_TEST

Suite *chaos_suite(void) {
  Suite *s = suite_create("chaos");
  TCase *rng = tcase_create("rng");
  tcase_add_test(rng, test_splitmix_seeding);
  tcase_add_test(rng, test_xoshiro_published_vector);
  tcase_add_test(rng, test_xoshiro_matches_reference);
  tcase_add_test(rng, test_seeded_known_answers);
  tcase_add_test(rng, test_between_edges);
  tcase_add_test(rng, test_between_matches_rejection_rule);
  tcase_add_test(rng, test_between_chi_square);
  tcase_add_test(rng, test_between_no_modulo_bias);
  tcase_add_test(rng, test_bernoulli_edges);
  tcase_add_test(rng, test_bernoulli_exact_threshold);
  tcase_add_test(rng, test_bernoulli_frequency);
  tcase_add_test(rng, test_shuffle_permutes);
  tcase_add_test(rng, test_shuffle_uniform);
  tcase_add_test(rng, test_choose_distinct);
  tcase_add_test(rng, test_choose_uniform);
  tcase_add_test(rng, test_jitter);
  suite_add_tcase(s, rng);

  TCase *plan = tcase_create("plan");
  tcase_add_test(plan, test_plan_same_seed_same_plan);
  tcase_add_test(plan, test_plan_golden);
  tcase_add_test(plan, test_plan_matches_model);
  tcase_add_test(plan, test_plan_one_forced_kill);
  tcase_add_test(plan, test_plan_max_kills);
  tcase_add_test(plan, test_plan_ticks_and_rate);
  tcase_add_test(plan, test_plan_targets_uniform);
  tcase_add_test(plan, test_plan_erange);
  tcase_add_test(plan, test_plan_invalid);
  suite_add_tcase(s, plan);

  TCase *fmt = tcase_create("format");
  tcase_add_test(fmt, test_format_documented_example);
  tcase_add_test(fmt, test_format_parse_round_trip);
  tcase_add_test(fmt, test_parse_erange);
  tcase_add_test(fmt, test_parse_rejects_malformed);
  suite_add_tcase(s, fmt);

  TCase *log = tcase_create("log");
  tcase_add_test(log, test_log_basics);
  tcase_add_test(log, test_log_growth);
  suite_add_tcase(s, log);

  TCase *dd = tcase_create("ddmin");
  tcase_add_test(dd, test_ddmin_pair);
  tcase_add_test(dd, test_ddmin_single_and_triple);
  tcase_add_test(dd, test_ddmin_small_n_monotone);
  tcase_add_test(dd, test_ddmin_one_minimal_exhaustive);
  tcase_add_test(dd, test_ddmin_one_minimal_random);
  tcase_add_test(dd, test_ddmin_protocol);
  suite_add_tcase(s, dd);

  TCase *sched = tcase_create("interleave");
  tcase_add_test(sched, test_interleave_counts_and_replay);
  tcase_add_test(sched, test_interleave_golden);
  tcase_add_test(sched, test_interleave_matches_model);
  tcase_add_test(sched, test_interleave_uniform);
  tcase_add_test(sched, test_interleave_invalid);
  suite_add_tcase(s, sched);
  return s;
}
