/* Helpers shared by the Check suites: a deterministic PRNG (splitmix64, fixed
 * seeds only, never rand() or the clock), uniform and normal draws, and a
 * relative-tolerance assertion that prints the numbers when it fails. */
#ifndef SUPERTESTER_TEST_UTIL_H
#define SUPERTESTER_TEST_UTIL_H

#include <math.h>
#include <stdint.h>

#include <check.h>

#define TEST_PI 3.14159265358979323846

typedef struct test_rng_s {
  uint64_t state;
} test_rng_t;

static inline test_rng_t test_rng_seeded(uint64_t seed) {
  return (test_rng_t){seed};
}

/* splitmix64 (Steele, Lea and Flood). */
static inline uint64_t test_rng_next(test_rng_t *r) {
  uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 random bits. */
static inline double test_rng_unit(test_rng_t *r) {
  return (double)(test_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [lo, hi] (hi - lo well below 2^64; the modulo bias is
 * irrelevant here). */
static inline uint64_t test_rng_between(test_rng_t *r, uint64_t lo,
                                        uint64_t hi) {
  return lo + test_rng_next(r) % (hi - lo + 1);
}

/* Standard normal by Box-Muller (one of the pair is discarded). */
static inline double test_rng_normal(test_rng_t *r) {
  double u1 = 1.0 - test_rng_unit(r); /* (0, 1]: log(u1) is finite */
  double u2 = test_rng_unit(r);
  return sqrt(-2.0 * log(u1)) * cos(2.0 * TEST_PI * u2);
}

/* Like ck_assert_msg, but quiet while the condition holds: ck_assert_*
 * reports its location to the parent process on every call, which dominates
 * loops of millions of checks. The message should carry the values. */
#define require_msg(cond, ...)                                                 \
  do {                                                                         \
    if (!(cond)) ck_abort_msg(__VA_ARGS__);                                    \
  } while (0)

/* |actual - expected| <= rel * |expected|, printing both values. */
#define ck_assert_rel_close(actual, expected, rel)                             \
  do {                                                                         \
    double ck_rel_a_ = (actual), ck_rel_e_ = (expected), ck_rel_r_ = (rel);    \
    ck_assert_msg(fabs(ck_rel_a_ - ck_rel_e_) <= ck_rel_r_ * fabs(ck_rel_e_),  \
                  "%s = %.17g, expected %s = %.17g within relative %g "        \
                  "(off by %.3g)",                                             \
                  #actual, ck_rel_a_, #expected, ck_rel_e_, ck_rel_r_,         \
                  fabs(ck_rel_a_ - ck_rel_e_));                                \
  } while (0)

#endif
