/* Histogram suite: st_hist_* against the contract in supertester/hist.h.
 *
 * - accuracy: for 1..5 significant digits and five distributions, every
 *   percentile agrees with the exact nearest-rank percentile of the sorted
 *   data within 10^-digits (exactly below 2^M); batch == single requests.
 * - concurrency: four threads recording 1,000,000 values each into one
 *   histogram lose no count (bucket by bucket against a serial reference).
 * - edge cases: empty, one value, zero, the highest trackable value and one
 *   above, record_n with 0 and huge counts, invalid percentiles,
 *   configurations and memory.
 * - mean and stddev against the exact values of the data.
 * - merge (same and different configurations, into a smaller range, into
 *   itself), reset, iteration, and the bucket layout. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/hist.h"
#include "suites.h"
#include "test_util.h"

#define DEFAULT_HIGHEST ST_HIST_DEFAULT_HIGHEST

/* ---------------------------------------------------------------- helpers */

static st_hist_t *new_hist(uint64_t highest, int digits) {
  st_hist_config_t cfg = {.highest_trackable = highest,
                          .significant_digits = digits};
  st_hist_t *h = NULL;
  int rc = st_hist_create(&cfg, &h);
  ck_assert_msg(rc == ST_OK && h != NULL,
                "st_hist_create(highest %llu, digits %d) = %d",
                (unsigned long long)highest, digits, rc);
  return h;
}

static void record_ok(st_hist_t *h, uint64_t v) {
  int rc = st_hist_record(h, v);
  require_msg(rc == ST_OK, "st_hist_record(%llu) = %d", (unsigned long long)v,
              rc);
}

static uint64_t pow10_u64(int d) {
  uint64_t p = 1;
  while (d-- > 0) p *= 10;
  return p;
}

/* 2^M, M the smallest integer with 2^(M-1) >= 10^digits: hist.h says values
 * below it are counted exactly. */
static uint64_t exact_limit(int digits) {
  unsigned m = 1;
  while ((UINT64_C(1) << (m - 1)) < pow10_u64(digits)) m++;
  return UINT64_C(1) << m;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Percentiles under test, in hundredths of a percent so that the exact rank
 * ceil(p / 100 * n) is computed in integers, free of rounding. */
static const unsigned pct_hundredths[] = {0,    10,   100,  1000, 2500, 5000,
                                          7500, 9000, 9900, 9990, 9999, 10000};
#define N_PCTS (sizeof pct_hundredths / sizeof pct_hundredths[0])

/* Nearest rank: the value of rank ceil(p/100 * n), at least 1. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n,
                                 unsigned hundredths) {
  uint64_t rank = ((uint64_t)hundredths * n + 9999) / 10000;
  if (rank < 1) rank = 1;
  return sorted[rank - 1];
}

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Value distributions for the accuracy tests. */
typedef enum {
  DIST_UNIFORM_WIDE, /* 1 .. 10^9 */
  DIST_LOG_UNIFORM,  /* 1 ns .. 1 hour, uniform in log: latency-like */
  DIST_NARROW,       /* 5,000,000 .. 5,000,999: a tight cluster */
  DIST_EXACT_RANGE,  /* 0 .. 2^M - 1: must be exact */
  DIST_DUPLICATES,   /* seven distinct values, zero and the maximum included */
  DIST_COUNT
} dist_t;

static const char *const dist_names[DIST_COUNT] = {
    "uniform 1..1e9", "log-uniform 1..1h", "narrow cluster", "exact range",
    "duplicates"};

static uint64_t log_uniform(test_rng_t *rng, uint64_t highest) {
  double v = exp(test_rng_unit(rng) * log((double)highest));
  return clamp_u64((uint64_t)v, 1, highest);
}

static uint64_t draw(dist_t dist, test_rng_t *rng, int digits) {
  static const uint64_t dups[] = {
      0, 1, 777, 1234567, 987654321, UINT64_C(3599999999999), DEFAULT_HIGHEST};
  switch (dist) {
    case DIST_UNIFORM_WIDE: return test_rng_between(rng, 1, 1000000000);
    case DIST_LOG_UNIFORM: return log_uniform(rng, DEFAULT_HIGHEST);
    case DIST_NARROW: return test_rng_between(rng, 5000000, 5000999);
    case DIST_EXACT_RANGE:
      return test_rng_between(rng, 0, exact_limit(digits) - 1);
    case DIST_DUPLICATES: return dups[test_rng_next(rng) % 7];
    case DIST_COUNT: break;
  }
  ck_abort_msg("bad distribution %d", (int)dist);
  return 0;
}

/* Fills `values` and `h` with n draws, then sorts `values`. */
static void record_sorted_sample(st_hist_t *h, uint64_t *values, size_t n,
                                 dist_t dist, int digits, uint64_t seed) {
  test_rng_t rng = test_rng_seeded(seed);
  for (size_t i = 0; i < n; i++) {
    values[i] = draw(dist, &rng, digits);
    record_ok(h, values[i]);
  }
  qsort(values, n, sizeof *values, cmp_u64);
}

/* Every bucket of a and b (same layout) holds the same count. */
static void assert_same_buckets(const st_hist_t *a, const st_hist_t *b) {
  st_hist_iter_t ia, ib;
  st_hist_bucket_t ba, bb;
  st_hist_iter_init(&ia, a);
  st_hist_iter_init(&ib, b);
  size_t n = 0;
  for (;;) {
    int more_a = st_hist_iter_next(&ia, &ba),
        more_b = st_hist_iter_next(&ib, &bb);
    require_msg(more_a == more_b, "bucket lists differ in length after %zu", n);
    if (!more_a) break;
    require_msg(ba.lowest == bb.lowest && ba.highest == bb.highest &&
                    ba.count == bb.count,
                "bucket %zu: [%llu, %llu] x %llu vs [%llu, %llu] x %llu", n,
                (unsigned long long)ba.lowest, (unsigned long long)ba.highest,
                (unsigned long long)ba.count, (unsigned long long)bb.lowest,
                (unsigned long long)bb.highest, (unsigned long long)bb.count);
    n++;
  }
}

/* ------------------------------------------------------ percentile accuracy */

/* Loop index: digits 1..5 times the distributions. */
START_TEST(test_percentiles_match_exact_nearest_rank) {
  const int digits = 1 + _i / DIST_COUNT;
  const dist_t dist = (dist_t)(_i % DIST_COUNT);
  enum { N = 100000 };
  uint64_t *values = malloc(N * sizeof *values);
  ck_assert_ptr_nonnull(values);
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, digits);
  record_sorted_sample(h, values, N, dist, digits, 1000 + (uint64_t)_i);
  ck_assert_uint_eq(st_hist_count(h), N);

  const uint64_t min = values[0], max = values[N - 1];
  const uint64_t scale = pow10_u64(digits), exact_below = exact_limit(digits);
  uint64_t single[N_PCTS];
  for (size_t k = 0; k < N_PCTS; k++) {
    double p = pct_hundredths[k] / 100.0;
    uint64_t exact = exact_percentile(values, N, pct_hundredths[k]);
    uint64_t got = 0;
    ck_assert_int_eq(st_hist_percentile(h, p, &got), ST_OK);
    single[k] = got;
    ck_assert_msg(got >= exact && got <= max && (got - exact) * scale <= exact,
                  "%s, digits %d, p%g: got %llu, exact %llu (max %llu)",
                  dist_names[dist], digits, p, (unsigned long long)got,
                  (unsigned long long)exact, (unsigned long long)max);
    if (exact < exact_below)
      ck_assert_msg(got == exact,
                    "%s, digits %d, p%g: got %llu, exact %llu "
                    "below 2^M = %llu",
                    dist_names[dist], digits, p, (unsigned long long)got,
                    (unsigned long long)exact, (unsigned long long)exact_below);
    /* Documented report: the exact value's highest equivalent, clamped to
     * the exact extremes (p = 0 is tested on its own below). */
    if (pct_hundredths[k] > 0) {
      uint64_t want = clamp_u64(st_hist_highest_equivalent(h, exact), min, max);
      ck_assert_msg(got == want,
                    "%s, digits %d, p%g: got %llu, expected highest "
                    "equivalent %llu of exact %llu",
                    dist_names[dist], digits, p, (unsigned long long)got,
                    (unsigned long long)want, (unsigned long long)exact);
    }
  }

  /* The batch call, requests in a scrambled order, agrees with single calls. */
  double ps[N_PCTS];
  uint64_t batch[N_PCTS];
  for (size_t k = 0; k < N_PCTS; k++) {
    size_t src = (k * 5 + 3) % N_PCTS; /* 5 is coprime with 12 */
    ps[k] = pct_hundredths[src] / 100.0;
    batch[k] = UINT64_MAX;
  }
  ck_assert_int_eq(st_hist_percentiles(h, ps, batch, N_PCTS), ST_OK);
  for (size_t k = 0; k < N_PCTS; k++) {
    size_t src = (k * 5 + 3) % N_PCTS;
    ck_assert_msg(batch[k] == single[src], "batch p%g = %llu, single = %llu",
                  ps[k], (unsigned long long)batch[k],
                  (unsigned long long)single[src]);
  }
  st_hist_destroy(h);
  free(values);
}
END_TEST

/* More than 16 requests (the batch's heap path), repeats, any order. */
START_TEST(test_percentiles_many_requests) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  for (uint64_t v = 1; v <= 1000; v++) record_ok(h, v * 1000);
  enum { K = 40 };
  double ps[K];
  uint64_t out[K];
  for (size_t k = 0; k < K; k++) ps[k] = (double)((k * 37) % 101); /* 0..100 */
  ps[7] = ps[8] = 50.0;
  ck_assert_int_eq(st_hist_percentiles(h, ps, out, K), ST_OK);
  for (size_t k = 0; k < K; k++) {
    uint64_t one;
    ck_assert_int_eq(st_hist_percentile(h, ps[k], &one), ST_OK);
    ck_assert_msg(out[k] == one, "batch p%g = %llu, single = %llu", ps[k],
                  (unsigned long long)out[k], (unsigned long long)one);
  }
  st_hist_destroy(h);
}
END_TEST

/* Nearest rank on 1..1000 (exact range of 3 digits): 99.9% of 1000 is rank
 * 999 despite floating point; a hair more is rank 1000. */
START_TEST(test_percentile_nearest_rank_boundaries) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  for (uint64_t v = 1000; v >= 1; v--) record_ok(h, v);
  const struct {
    double p;
    uint64_t want;
  } cases[] = {{0, 1},        {0.1, 1},      {0.11, 2},    {1, 10},
               {33.3, 333},   {50, 500},     {50.05, 501}, {99.9, 999},
               {99.91, 1000}, {99.99, 1000}, {100, 1000}};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    uint64_t got;
    ck_assert_int_eq(st_hist_percentile(h, cases[k].p, &got), ST_OK);
    ck_assert_msg(got == cases[k].want, "p%g of 1..1000 = %llu, expected %llu",
                  cases[k].p, (unsigned long long)got,
                  (unsigned long long)cases[k].want);
  }
  st_hist_destroy(h);
}
END_TEST

/* hist.h: "p = 0 gives the min". The min here is not in the exact range, so
 * its bucket's highest equivalent differs from it. */
START_TEST(test_percentile_zero_is_exact_min) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  record_ok(h, 1234567);
  record_ok(h, 1500000);
  record_ok(h, 2000000);
  uint64_t got = 0;
  ck_assert_int_eq(st_hist_percentile(h, 0.0, &got), ST_OK);
  ck_assert_msg(got == 1234567,
                "p0 = %llu, expected the exact min 1234567 (highest "
                "equivalent of the min is %llu)",
                (unsigned long long)got,
                (unsigned long long)st_hist_highest_equivalent(h, 1234567));
  ck_assert_int_eq(st_hist_percentile(h, 100.0, &got), ST_OK);
  ck_assert_uint_eq(got, 2000000);
  st_hist_destroy(h);
}
END_TEST

/* 999,999 values: 999,998 ones and a single 2. p99.9999 asks for rank
 * ceil(0.999999 * 999999) = ceil(999998.000001) = 999999, the 2: only
 * 99.9998999...% of the values are <= 1. The fractional part 1e-6 is ten
 * orders of magnitude above the floating-point error of p / 100 * n here
 * (about 1e-16 relative), so it must not be snapped away. */
START_TEST(test_percentile_rank_rounds_up_small_fractions) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  ck_assert_int_eq(st_hist_record_n(h, 1, 999998), ST_OK);
  record_ok(h, 2);
  uint64_t got;
  ck_assert_int_eq(st_hist_percentile(h, 99.9998, &got), ST_OK);
  ck_assert_uint_eq(got, 1); /* rank ceil(999997.000002) = 999998 */
  ck_assert_int_eq(st_hist_percentile(h, 99.9999, &got), ST_OK);
  ck_assert_msg(got == 2,
                "p99.9999 of 999,998 x 1 + 1 x 2 = %llu, expected 2 "
                "(rank ceil(999998.000001) = 999999 was rounded down)",
                (unsigned long long)got);
  st_hist_destroy(h);
}
END_TEST

/* ----------------------------------------------------------- concurrency */

enum { REC_THREADS = 4, REC_PER_THREAD = 1000000 };

typedef struct {
  st_hist_t *h;
  uint64_t seed;
  uint64_t out_of_range; /* ST_ERANGE results seen */
  uint64_t failures;     /* any other unexpected result */
} recorder_t;

/* In-range values for thread `seed`: half in a hot range shared by every
 * thread (so the threads contend for the same counters), half log-uniform. */
static uint64_t recorder_value(test_rng_t *rng) {
  uint64_t r = test_rng_next(rng);
  if (r & 1) return 1000 + (r >> 1) % 100;
  return log_uniform(rng, DEFAULT_HIGHEST);
}

static void *record_from_thread(void *arg) {
  recorder_t *rec = arg;
  test_rng_t rng = test_rng_seeded(rec->seed);
  for (uint64_t i = 0; i < REC_PER_THREAD; i++) {
    if (st_hist_record(rec->h, recorder_value(&rng)) != ST_OK) rec->failures++;
    if (i % 1000 == 0) { /* and a value above the range now and then */
      if (st_hist_record(rec->h, DEFAULT_HIGHEST + 1 + i) == ST_ERANGE)
        rec->out_of_range++;
      else
        rec->failures++;
    }
  }
  return NULL;
}

START_TEST(test_concurrent_recording_loses_nothing) {
  st_hist_t *shared = new_hist(DEFAULT_HIGHEST, 3);
  recorder_t recs[REC_THREADS];
  pthread_t threads[REC_THREADS];
  for (int t = 0; t < REC_THREADS; t++) {
    recs[t] = (recorder_t){.h = shared, .seed = 0xC0FFEE + (uint64_t)t * 7919};
    ck_assert_int_eq(
        pthread_create(&threads[t], NULL, record_from_thread, &recs[t]), 0);
  }
  for (int t = 0; t < REC_THREADS; t++)
    ck_assert_int_eq(pthread_join(threads[t], NULL), 0);

  /* The same values, serially, into a reference. */
  st_hist_t *ref = new_hist(DEFAULT_HIGHEST, 3);
  uint64_t min = UINT64_MAX, max = 0, refused = 0;
  for (int t = 0; t < REC_THREADS; t++) {
    ck_assert_uint_eq(recs[t].failures, 0);
    refused += recs[t].out_of_range;
    test_rng_t rng = test_rng_seeded(recs[t].seed);
    for (uint64_t i = 0; i < REC_PER_THREAD; i++) {
      uint64_t v = recorder_value(&rng);
      if (v < min) min = v;
      if (v > max) max = v;
      record_ok(ref, v);
    }
  }
  ck_assert_uint_eq(refused, REC_THREADS * (REC_PER_THREAD / 1000));
  ck_assert_uint_eq(st_hist_count(shared),
                    (uint64_t)REC_THREADS * REC_PER_THREAD);
  assert_same_buckets(shared, ref);

  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(shared, &s), ST_OK);
  ck_assert_uint_eq(s.count, (uint64_t)REC_THREADS * REC_PER_THREAD);
  ck_assert_uint_eq(s.out_of_range, refused);
  ck_assert_uint_eq(s.min, min);
  ck_assert_uint_eq(s.max, max);
  st_hist_destroy(ref);
  st_hist_destroy(shared);
}
END_TEST

/* ------------------------------------------------------------ edge cases */

START_TEST(test_empty_summarize) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  st_hist_summary_t s;
  memset(&s, 0x5A, sizeof s);
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_EEMPTY);
  ck_assert_uint_eq(s.count, 0);
  ck_assert_uint_eq(s.out_of_range, 0);
  ck_assert_uint_eq(s.min, 0);
  ck_assert_uint_eq(s.max, 0);
  ck_assert_uint_eq(st_hist_count(h), 0);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_empty_percentile_leaves_out_untouched) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  uint64_t out = 0xDEADBEEF;
  ck_assert_int_eq(st_hist_percentile(h, 50.0, &out), ST_EEMPTY);
  ck_assert_int_eq(st_hist_percentile(h, 0.0, &out), ST_EEMPTY);
  ck_assert_int_eq(st_hist_percentile(h, 100.0, &out), ST_EEMPTY);
  ck_assert_uint_eq(out, 0xDEADBEEF);
  double ps[2] = {10.0, 90.0};
  uint64_t outs[2] = {7, 8};
  ck_assert_int_eq(st_hist_percentiles(h, ps, outs, 2), ST_EEMPTY);
  ck_assert_uint_eq(outs[0], 7);
  ck_assert_uint_eq(outs[1], 8);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_empty_iteration_yields_nothing) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  st_hist_iter_t it;
  st_hist_bucket_t b = {1, 2, 3};
  st_hist_iter_init(&it, h);
  ck_assert_int_eq(st_hist_iter_next(&it, &b), 0);
  ck_assert_int_eq(st_hist_iter_next(&it, &b), 0);
  ck_assert_uint_eq(b.count, 3);
  st_hist_destroy(h);
}
END_TEST

/* One value, inside and outside the exact range: everything reads it back. */
START_TEST(test_one_value) {
  const uint64_t vs[] = {0, 1, 2047, 12345678901ULL, DEFAULT_HIGHEST};
  for (size_t k = 0; k < sizeof vs / sizeof vs[0]; k++) {
    st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
    record_ok(h, vs[k]);
    st_hist_summary_t s;
    ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
    ck_assert_uint_eq(s.count, 1);
    ck_assert_uint_eq(s.min, vs[k]);
    ck_assert_uint_eq(s.max, vs[k]);
    ck_assert_double_eq(s.mean, (double)vs[k]);
    ck_assert_double_eq(s.stddev, 0.0);
    for (size_t i = 0; i < N_PCTS; i++) {
      uint64_t got;
      ck_assert_int_eq(st_hist_percentile(h, pct_hundredths[i] / 100.0, &got),
                       ST_OK);
      ck_assert_msg(got == vs[k], "one value %llu: p%g = %llu",
                    (unsigned long long)vs[k], pct_hundredths[i] / 100.0,
                    (unsigned long long)got);
    }
    st_hist_destroy(h);
  }
}
END_TEST

START_TEST(test_zero_is_valid_and_exact) {
  for (int d = ST_HIST_MIN_DIGITS; d <= ST_HIST_MAX_DIGITS; d++) {
    st_hist_t *h = new_hist(1000, d);
    ck_assert_uint_eq(st_hist_lowest_equivalent(h, 0), 0);
    ck_assert_uint_eq(st_hist_highest_equivalent(h, 0), 0);
    ck_assert_int_eq(st_hist_record_n(h, 0, 3), ST_OK);
    record_ok(h, 1);
    uint64_t got;
    ck_assert_int_eq(st_hist_percentile(h, 75.0, &got), ST_OK);
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(st_hist_percentile(h, 75.1, &got), ST_OK);
    ck_assert_uint_eq(got, 1);
    st_hist_summary_t s;
    ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
    ck_assert_uint_eq(s.min, 0);
    ck_assert_uint_eq(s.count, 4);
    ck_assert_double_eq(s.mean, 0.25);
    st_hist_destroy(h);
  }
}
END_TEST

/* highest_trackable is recordable, one above is refused and counted as out
 * of range, not in the count. A highest that is not a bucket boundary. */
START_TEST(test_highest_trackable_boundary) {
  const uint64_t highest = 1000003;
  st_hist_t *h = new_hist(highest, 3);
  ck_assert_uint_eq(st_hist_highest_trackable(h), highest);
  ck_assert_int_eq(st_hist_significant_digits(h), 3);
  ck_assert_int_eq(st_hist_record(h, highest), ST_OK);
  ck_assert_int_eq(st_hist_record(h, highest + 1), ST_ERANGE);
  ck_assert_int_eq(st_hist_record(h, UINT64_MAX), ST_ERANGE);
  ck_assert_int_eq(st_hist_record_n(h, highest + 1, 5), ST_ERANGE);
  ck_assert_uint_eq(st_hist_count(h), 1);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.count, 1);
  ck_assert_uint_eq(s.out_of_range, 7);
  ck_assert_uint_eq(s.max, highest);
  uint64_t got;
  ck_assert_int_eq(st_hist_percentile(h, 100.0, &got), ST_OK);
  ck_assert_uint_eq(got, highest);
  st_hist_destroy(h);
}
END_TEST

/* An out-of-range value alone leaves the histogram empty. */
START_TEST(test_only_out_of_range_is_empty) {
  st_hist_t *h = new_hist(100, 2);
  ck_assert_int_eq(st_hist_record(h, 101), ST_ERANGE);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_EEMPTY);
  ck_assert_uint_eq(s.count, 0);
  ck_assert_uint_eq(s.out_of_range, 1);
  uint64_t out = 42;
  ck_assert_int_eq(st_hist_percentile(h, 50.0, &out), ST_EEMPTY);
  ck_assert_uint_eq(out, 42);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_record_n_zero_count) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  ck_assert_int_eq(st_hist_record_n(h, 5, 0), ST_OK);
  ck_assert_uint_eq(st_hist_count(h), 0);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_EEMPTY);
  /* The zero-count record must not have moved min or max. */
  ck_assert_int_eq(st_hist_record_n(h, 1, 0), ST_OK);
  ck_assert_int_eq(st_hist_record_n(h, 900000, 0), ST_OK);
  record_ok(h, 5000);
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.count, 1);
  ck_assert_uint_eq(s.min, 5000);
  ck_assert_uint_eq(s.max, 5000);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_record_n_large_counts) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  const uint64_t big = UINT64_C(1) << 40;
  ck_assert_int_eq(st_hist_record_n(h, 10, big), ST_OK);
  ck_assert_int_eq(st_hist_record_n(h, 20, 3 * big), ST_OK);
  ck_assert_uint_eq(st_hist_count(h), 4 * big);
  uint64_t got;
  ck_assert_int_eq(st_hist_percentile(h, 25.0, &got), ST_OK);
  ck_assert_uint_eq(got, 10); /* rank exactly 2^40 */
  ck_assert_int_eq(st_hist_percentile(h, 26.0, &got), ST_OK);
  ck_assert_uint_eq(got, 20);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.count, 4 * big);
  ck_assert_double_eq_tol(s.mean, 17.5, 1e-9);
  ck_assert_double_eq_tol(s.stddev, sqrt(0.25 * 56.25 + 0.75 * 6.25), 1e-9);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_percentile_invalid_p) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  record_ok(h, 10);
  const double bad[] = {-0.001, -1.0, 100.001, 1e9, NAN, INFINITY, -INFINITY};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    uint64_t out = 77;
    ck_assert_msg(st_hist_percentile(h, bad[k], &out) == ST_EINVAL,
                  "p = %g not refused", bad[k]);
    ck_assert_uint_eq(out, 77);
  }
  /* One bad request spoils a batch, and no output is written. */
  double ps[3] = {50.0, NAN, 90.0};
  uint64_t outs[3] = {1, 2, 3};
  ck_assert_int_eq(st_hist_percentiles(h, ps, outs, 3), ST_EINVAL);
  ck_assert_uint_eq(outs[0], 1);
  ck_assert_uint_eq(outs[2], 3);
  st_hist_destroy(h);
}
END_TEST

START_TEST(test_invalid_configs) {
  const st_hist_config_t bad[] = {
      {DEFAULT_HIGHEST, 0},
      {DEFAULT_HIGHEST, 6},
      {DEFAULT_HIGHEST, -1},
      {0, 3},
      {1, 3},
      {ST_HIST_MAX_HIGHEST + 1, 3},
      {UINT64_MAX, 1},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    st_hist_t *h = NULL;
    ck_assert_msg(st_hist_footprint(&bad[k]) == 0,
                  "footprint(highest %llu, digits %d) = %zu, expected 0",
                  (unsigned long long)bad[k].highest_trackable,
                  bad[k].significant_digits, st_hist_footprint(&bad[k]));
    ck_assert_int_eq(st_hist_create(&bad[k], &h), ST_EINVAL);
    ck_assert_ptr_null(h);
  }
  ck_assert_uint_eq(st_hist_footprint(NULL), 0);
  st_hist_t *h = NULL;
  ck_assert_int_eq(st_hist_create(NULL, &h), ST_EINVAL);

  /* The limits themselves are valid. */
  const st_hist_config_t good[] = {
      {2, 1}, {2, 5}, {ST_HIST_MAX_HIGHEST, 1}, {ST_HIST_MAX_HIGHEST, 3}};
  for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
    ck_assert_uint_gt(st_hist_footprint(&good[k]), 0);
    ck_assert_int_eq(st_hist_create(&good[k], &h), ST_OK);
    ck_assert_int_eq(st_hist_record(h, good[k].highest_trackable), ST_OK);
    ck_assert_int_eq(st_hist_record(h, good[k].highest_trackable + 1),
                     ST_ERANGE);
    st_hist_destroy(h);
  }
}
END_TEST

START_TEST(test_init_in_caller_memory) {
  const st_hist_config_t cfg = {100000, 2};
  size_t need = st_hist_footprint(&cfg);
  ck_assert_uint_gt(need, 0);
  unsigned char *buf = malloc(need + 16);
  ck_assert_ptr_nonnull(buf);
  st_hist_t *h = NULL;
  ck_assert_int_eq(st_hist_init(buf, need - 1, &cfg, &h), ST_EINVAL);
  ck_assert_int_eq(st_hist_init(buf + 1, need, &cfg, &h), ST_EINVAL);
  ck_assert_int_eq(st_hist_init(buf + 4, need, &cfg, &h), ST_EINVAL);
  ck_assert_int_eq(st_hist_init(NULL, need, &cfg, &h), ST_EINVAL);
  const st_hist_config_t bad = {100000, 0};
  ck_assert_int_eq(st_hist_init(buf, need, &bad, &h), ST_EINVAL);
  ck_assert_ptr_null(h);

  /* Aligned, inside a larger allocation: usable, and destroy must not free
   * it (AddressSanitizer would flag a free of a non-malloc'd address). */
  memset(buf, 0xAB, need + 16);
  ck_assert_int_eq(st_hist_init(buf + 8, need, &cfg, &h), ST_OK);
  ck_assert_ptr_nonnull(h);
  ck_assert_uint_eq(st_hist_count(h), 0);
  record_ok(h, 100000);
  record_ok(h, 3);
  ck_assert_uint_eq(st_hist_count(h), 2);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.min, 3);
  ck_assert_uint_eq(s.max, 100000);
  st_hist_destroy(h);
  free(buf);
}
END_TEST

/* --------------------------------------------------------- mean, stddev */

/* Loop index: digits 1..5 times {log-uniform, uniform, narrow}. The bucket
 * midpoint is within half a bucket of each value, so the mean is within
 * 10^-digits of the exact mean, and (triangle inequality in L2) the stddev
 * within 10^-digits of the root mean square of the data. */
START_TEST(test_mean_stddev_close_to_exact) {
  static const dist_t dists[] = {DIST_LOG_UNIFORM, DIST_UNIFORM_WIDE,
                                 DIST_NARROW};
  const int digits = 1 + _i / 3;
  const dist_t dist = dists[_i % 3];
  enum { N = 100000 };
  uint64_t *values = malloc(N * sizeof *values);
  ck_assert_ptr_nonnull(values);
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, digits);
  record_sorted_sample(h, values, N, dist, digits, 2000 + (uint64_t)_i);

  long double sum = 0, ss = 0;
  for (size_t i = 0; i < N; i++) sum += values[i];
  long double mean = sum / N;
  for (size_t i = 0; i < N; i++) ss += (values[i] - mean) * (values[i] - mean);
  double exact_mean = (double)mean, exact_sd = sqrt((double)(ss / N));
  double eps = 1.0 / (double)pow10_u64(digits);

  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.count, N);
  ck_assert_uint_eq(s.out_of_range, 0);
  ck_assert_uint_eq(s.min, values[0]);
  ck_assert_uint_eq(s.max, values[N - 1]);
  ck_assert_msg(fabs(s.mean - exact_mean) <= eps * exact_mean,
                "%s, digits %d: mean %.17g, exact %.17g", dist_names[dist],
                digits, s.mean, exact_mean);
  double rms = sqrt(exact_sd * exact_sd + exact_mean * exact_mean);
  ck_assert_msg(fabs(s.stddev - exact_sd) <= eps * rms,
                "%s, digits %d: stddev %.17g, exact %.17g (bound %g)",
                dist_names[dist], digits, s.stddev, exact_sd, eps * rms);
  st_hist_destroy(h);
  free(values);
}
END_TEST

/* Below 2^M every bucket is one value wide, so mean and population stddev
 * are those of the data: {1, 2, 3, 4} has mean 2.5 and stddev sqrt(1.25). */
START_TEST(test_mean_stddev_exact_in_exact_range) {
  st_hist_t *h = new_hist(1000, 1); /* exact below 32 */
  for (uint64_t v = 1; v <= 4; v++) record_ok(h, v);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_double_eq_tol(s.mean, 2.5, 1e-15);
  ck_assert_double_eq_tol(s.stddev, sqrt(1.25), 1e-15);
  st_hist_destroy(h);
}
END_TEST

/* ------------------------------------------------------------ merge, reset */

START_TEST(test_merge_same_config) {
  st_hist_t *a = new_hist(DEFAULT_HIGHEST, 3),
            *b = new_hist(DEFAULT_HIGHEST, 3),
            *ref = new_hist(DEFAULT_HIGHEST, 3);
  test_rng_t rng = test_rng_seeded(77);
  for (int i = 0; i < 50000; i++) {
    uint64_t va = 1000 + log_uniform(&rng, 1000000); /* 1 us .. 1 ms */
    uint64_t vb = log_uniform(&rng, DEFAULT_HIGHEST / 2);
    record_ok(a, va);
    record_ok(b, vb);
    record_ok(ref, va);
    record_ok(ref, vb);
  }
  uint64_t dropped = 99;
  ck_assert_int_eq(st_hist_merge(a, b, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 0);
  ck_assert_uint_eq(st_hist_count(a), 100000);
  ck_assert_uint_eq(st_hist_count(b), 50000); /* the source is unchanged */
  assert_same_buckets(a, ref);
  st_hist_summary_t sa, sr;
  ck_assert_int_eq(st_hist_summarize(a, &sa), ST_OK);
  ck_assert_int_eq(st_hist_summarize(ref, &sr), ST_OK);
  ck_assert_uint_eq(sa.min, sr.min);
  ck_assert_uint_eq(sa.max, sr.max);
  ck_assert_uint_eq(sa.out_of_range, 0);
  st_hist_destroy(a);
  st_hist_destroy(b);
  st_hist_destroy(ref);
}
END_TEST

/* Loop index 0: digits 2 into digits 3; 1: digits 3 into digits 2. Counts
 * are preserved and percentiles stay within the coarser precision (each
 * source bucket lands at its midpoint: source error plus destination
 * error, below 2 x 10^-2). Extremes stay exact. */
START_TEST(test_merge_different_digits) {
  const int src_digits = _i == 0 ? 2 : 3, dst_digits = _i == 0 ? 3 : 2;
  enum { N = 40000 };
  uint64_t *values = malloc(2 * N * sizeof *values);
  ck_assert_ptr_nonnull(values);
  st_hist_t *dst = new_hist(DEFAULT_HIGHEST, dst_digits);
  st_hist_t *src = new_hist(DEFAULT_HIGHEST, src_digits);
  test_rng_t rng = test_rng_seeded(88 + (uint64_t)_i);
  for (size_t i = 0; i < N; i++) {
    values[i] = log_uniform(&rng, DEFAULT_HIGHEST);
    record_ok(dst, values[i]);
    values[N + i] = log_uniform(&rng, DEFAULT_HIGHEST);
    record_ok(src, values[N + i]);
  }
  qsort(values, 2 * N, sizeof *values, cmp_u64);
  uint64_t dropped = 99;
  ck_assert_int_eq(st_hist_merge(dst, src, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 0);
  ck_assert_uint_eq(st_hist_count(dst), 2 * N);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(dst, &s), ST_OK);
  ck_assert_uint_eq(s.min, values[0]);
  ck_assert_uint_eq(s.max, values[2 * N - 1]);
  for (size_t k = 0; k < N_PCTS; k++) {
    uint64_t exact = exact_percentile(values, 2 * N, pct_hundredths[k]), got;
    ck_assert_int_eq(st_hist_percentile(dst, pct_hundredths[k] / 100.0, &got),
                     ST_OK);
    double err = fabs((double)got - (double)exact);
    ck_assert_msg(err <= 2e-2 * (double)exact,
                  "digits %d into %d, p%g: got %llu, exact %llu", src_digits,
                  dst_digits, pct_hundredths[k] / 100.0,
                  (unsigned long long)got, (unsigned long long)exact);
  }
  st_hist_destroy(src);
  st_hist_destroy(dst);
  free(values);
}
END_TEST

/* Into a smaller highest_trackable (2047, the end of the exact range of 3
 * digits): the 2048 values above are dropped, reported through *dropped and
 * counted as out of range in the destination. */
START_TEST(test_merge_into_smaller_range_drops) {
  st_hist_t *src = new_hist(DEFAULT_HIGHEST, 3), *dst = new_hist(2047, 3);
  for (uint64_t v = 0; v < 4096; v++) record_ok(src, v);
  uint64_t dropped = 0;
  ck_assert_int_eq(st_hist_merge(dst, src, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 2048);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(dst, &s), ST_OK);
  ck_assert_uint_eq(s.count, 2048);
  ck_assert_uint_eq(s.out_of_range, 2048);
  ck_assert_uint_eq(s.min, 0);
  ck_assert_uint_eq(s.max, 2047);
  uint64_t got;
  ck_assert_int_eq(st_hist_percentile(dst, 50.0, &got), ST_OK);
  ck_assert_uint_eq(got, 1023);
  /* NULL dropped is allowed. */
  ck_assert_int_eq(st_hist_merge(dst, src, NULL), ST_OK);
  ck_assert_uint_eq(st_hist_count(dst), 4096);
  st_hist_destroy(src);
  st_hist_destroy(dst);
}
END_TEST

/* Whatever the boundary, merged + dropped is everything recorded. */
START_TEST(test_merge_into_smaller_range_conserves_total) {
  st_hist_t *src = new_hist(DEFAULT_HIGHEST, 3);
  test_rng_t rng = test_rng_seeded(99);
  for (int i = 0; i < 20000; i++) record_ok(src, log_uniform(&rng, 100000000));
  const uint64_t highests[] = {1000003, 5000000, 77777777};
  for (size_t k = 0; k < 3; k++) {
    st_hist_t *dst = new_hist(highests[k], 2);
    uint64_t dropped = 0;
    ck_assert_int_eq(st_hist_merge(dst, src, &dropped), ST_OK);
    ck_assert_uint_gt(dropped, 0);
    ck_assert_uint_eq(st_hist_count(dst) + dropped, 20000);
    st_hist_summary_t s;
    ck_assert_int_eq(st_hist_summarize(dst, &s), ST_OK);
    ck_assert_uint_eq(s.out_of_range, dropped);
    ck_assert_uint_le(s.max, highests[k]);
    st_hist_destroy(dst);
  }
  st_hist_destroy(src);
}
END_TEST

/* Regression: a coarse source bucket straddling dst's limit was judged by
 * its midpoint, so a lone value equal to dst's highest was dropped and one
 * just above it was kept. The representative is now clamped to the
 * source's exact extremes. */
START_TEST(test_merge_lone_value_at_the_limit) {
  st_hist_t *coarse = new_hist(DEFAULT_HIGHEST, 2); /* 1000 lies in [1000, 1003] */
  record_ok(coarse, 1000);
  st_hist_t *dst = new_hist(1000, 3);
  uint64_t dropped = 99;
  ck_assert_int_eq(st_hist_merge(dst, coarse, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 0);
  ck_assert_uint_eq(st_hist_count(dst), 1);

  st_hist_t *above = new_hist(DEFAULT_HIGHEST, 3);
  record_ok(above, 100030);
  st_hist_t *small = new_hist(100000, 3);
  ck_assert_int_eq(st_hist_merge(small, above, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 1);
  ck_assert_uint_eq(st_hist_count(small), 0);
  st_hist_destroy(coarse);
  st_hist_destroy(dst);
  st_hist_destroy(above);
  st_hist_destroy(small);
}
END_TEST

START_TEST(test_merge_into_itself_doubles) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3),
            *ref = new_hist(DEFAULT_HIGHEST, 3);
  test_rng_t rng = test_rng_seeded(111);
  for (int i = 0; i < 30000; i++) {
    uint64_t v = log_uniform(&rng, DEFAULT_HIGHEST);
    record_ok(h, v);
    ck_assert_int_eq(st_hist_record_n(ref, v, 2), ST_OK);
  }
  st_hist_summary_t before;
  ck_assert_int_eq(st_hist_summarize(h, &before), ST_OK);
  uint64_t dropped = 99;
  ck_assert_int_eq(st_hist_merge(h, h, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 0);
  ck_assert_uint_eq(st_hist_count(h), 60000);
  assert_same_buckets(h, ref);
  st_hist_summary_t after;
  ck_assert_int_eq(st_hist_summarize(h, &after), ST_OK);
  ck_assert_uint_eq(after.min, before.min);
  ck_assert_uint_eq(after.max, before.max);
  st_hist_destroy(h);
  st_hist_destroy(ref);
}
END_TEST

START_TEST(test_merge_empty_source) {
  st_hist_t *dst = new_hist(DEFAULT_HIGHEST, 3),
            *src = new_hist(DEFAULT_HIGHEST, 2);
  record_ok(dst, 5000);
  uint64_t dropped = 99;
  ck_assert_int_eq(st_hist_merge(dst, src, &dropped), ST_OK);
  ck_assert_uint_eq(dropped, 0);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(dst, &s), ST_OK);
  ck_assert_uint_eq(s.count, 1);
  ck_assert_uint_eq(s.min, 5000);
  ck_assert_uint_eq(s.max, 5000);
  st_hist_destroy(dst);
  st_hist_destroy(src);
}
END_TEST

START_TEST(test_reset_empties_and_is_reusable) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  record_ok(h, 5);
  record_ok(h, 999999999);
  ck_assert_int_eq(st_hist_record(h, DEFAULT_HIGHEST + 1), ST_ERANGE);
  st_hist_reset(h);
  ck_assert_uint_eq(st_hist_count(h), 0);
  st_hist_summary_t s;
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_EEMPTY);
  ck_assert_uint_eq(s.out_of_range, 0);
  st_hist_iter_t it;
  st_hist_bucket_t b;
  st_hist_iter_init(&it, h);
  ck_assert_int_eq(st_hist_iter_next(&it, &b), 0);
  uint64_t out = 31;
  ck_assert_int_eq(st_hist_percentile(h, 50.0, &out), ST_EEMPTY);

  /* Reused: the old extremes are gone. */
  record_ok(h, 1000);
  record_ok(h, 2000);
  ck_assert_int_eq(st_hist_summarize(h, &s), ST_OK);
  ck_assert_uint_eq(s.count, 2);
  ck_assert_uint_eq(s.min, 1000);
  ck_assert_uint_eq(s.max, 2000);
  ck_assert_int_eq(st_hist_percentile(h, 0.0, &out), ST_OK);
  ck_assert_uint_eq(out, 1000);
  st_hist_destroy(h);
}
END_TEST

/* -------------------------------------------------------------- iteration */

START_TEST(test_iteration_order_and_totals) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 2);
  enum { N = 50000 };
  uint64_t *values = malloc(N * sizeof *values);
  ck_assert_ptr_nonnull(values);
  record_sorted_sample(h, values, N, DIST_LOG_UNIFORM, 2, 123);

  st_hist_iter_t it;
  st_hist_bucket_t b;
  st_hist_iter_init(&it, h);
  uint64_t total = 0, prev_highest = 0;
  size_t buckets = 0, next_value = 0;
  while (st_hist_iter_next(&it, &b)) {
    require_msg(b.count > 0 && b.lowest <= b.highest &&
                    (buckets == 0 || b.lowest > prev_highest),
                "bucket %zu: [%llu, %llu] x %llu after one ending at %llu",
                buckets, (unsigned long long)b.lowest,
                (unsigned long long)b.highest, (unsigned long long)b.count,
                (unsigned long long)prev_highest);
    require_msg(st_hist_lowest_equivalent(h, b.lowest) == b.lowest &&
                    st_hist_highest_equivalent(h, b.lowest) == b.highest &&
                    st_hist_lowest_equivalent(h, b.highest) == b.lowest,
                "bucket [%llu, %llu] disagrees with the equivalents of its "
                "ends: [%llu, %llu]",
                (unsigned long long)b.lowest, (unsigned long long)b.highest,
                (unsigned long long)st_hist_lowest_equivalent(h, b.lowest),
                (unsigned long long)st_hist_highest_equivalent(h, b.lowest));
    /* The bucket holds exactly the sorted values in [lowest, highest]. */
    size_t in_bucket = 0;
    while (next_value < N && values[next_value] <= b.highest) {
      require_msg(values[next_value] >= b.lowest,
                  "value %llu falls before bucket [%llu, %llu]",
                  (unsigned long long)values[next_value],
                  (unsigned long long)b.lowest, (unsigned long long)b.highest);
      next_value++;
      in_bucket++;
    }
    require_msg(b.count == in_bucket,
                "bucket [%llu, %llu] counts %llu, the data has %zu",
                (unsigned long long)b.lowest, (unsigned long long)b.highest,
                (unsigned long long)b.count, in_bucket);
    total += b.count;
    prev_highest = b.highest;
    buckets++;
  }
  ck_assert_uint_eq(next_value, N);
  ck_assert_uint_eq(total, N);
  ck_assert_uint_eq(total, st_hist_count(h));
  ck_assert_uint_le(buckets, st_hist_bucket_count(h));
  ck_assert_int_eq(st_hist_iter_next(&it, &b), 0); /* stays at the end */
  st_hist_destroy(h);
  free(values);
}
END_TEST

/* ----------------------------------------------------------- bucket layout */

/* lowest <= v <= highest, width within 10^-digits of v, exact below 2^M,
 * and buckets tile the line with no gap or overlap around v. */
static void assert_bucket_sane(const st_hist_t *h, uint64_t v, int digits) {
  uint64_t lo = st_hist_lowest_equivalent(h, v);
  uint64_t hi = st_hist_highest_equivalent(h, v);
  uint64_t limit = v / pow10_u64(digits);
  require_msg(lo <= v && v <= hi && hi - lo + 1 <= (limit > 1 ? limit : 1),
              "digits %d, value %llu: bucket [%llu, %llu]", digits,
              (unsigned long long)v, (unsigned long long)lo,
              (unsigned long long)hi);
  if (v < exact_limit(digits))
    require_msg(lo == v && hi == v,
                "digits %d, value %llu below 2^M: "
                "bucket [%llu, %llu]",
                digits, (unsigned long long)v, (unsigned long long)lo,
                (unsigned long long)hi);
  require_msg(st_hist_lowest_equivalent(h, hi) == lo &&
                  st_hist_highest_equivalent(h, lo) == hi,
              "digits %d, value %llu: [%llu, %llu] is not one bucket", digits,
              (unsigned long long)v, (unsigned long long)lo,
              (unsigned long long)hi);
  if (lo > 0)
    require_msg(st_hist_highest_equivalent(h, lo - 1) == lo - 1,
                "digits %d: bucket before %llu ends at %llu", digits,
                (unsigned long long)lo,
                (unsigned long long)st_hist_highest_equivalent(h, lo - 1));
  if (hi < ST_HIST_MAX_HIGHEST)
    require_msg(st_hist_lowest_equivalent(h, hi + 1) == hi + 1,
                "digits %d: bucket after %llu starts at %llu", digits,
                (unsigned long long)hi,
                (unsigned long long)st_hist_lowest_equivalent(h, hi + 1));
}

/* Loop index: digits 1..5. */
START_TEST(test_bucket_layout) {
  const int digits = 1 + _i;
  st_hist_t *h = new_hist(ST_HIST_MAX_HIGHEST, digits);
  const uint64_t dense = exact_limit(digits) * 4;
  for (uint64_t v = 0; v < dense; v++) assert_bucket_sane(h, v, digits);
  for (unsigned k = 1; k <= 62; k++) {
    uint64_t p = UINT64_C(1) << k;
    assert_bucket_sane(h, p - 1, digits);
    assert_bucket_sane(h, p, digits);
    if (k < 62) assert_bucket_sane(h, p + 1, digits);
  }
  test_rng_t rng = test_rng_seeded(5150 + (uint64_t)_i);
  for (int i = 0; i < 20000; i++)
    assert_bucket_sane(h, log_uniform(&rng, ST_HIST_MAX_HIGHEST), digits);
  assert_bucket_sane(h, ST_HIST_MAX_HIGHEST, digits);
  st_hist_destroy(h);
}
END_TEST

/* hist.h: "The default (3 digits, up to one hour in nanoseconds) has 33,421
 * buckets, 267 KB", one 8-byte counter per bucket. Independently: M = 11,
 * 3.6e12 has its top bit at 41, so its bucket is (41 - 10) * 1024 +
 * (3.6e12 >> 31) = 31744 + 1676 = 33420, the last of 33,421. */
START_TEST(test_default_bucket_count) {
  const st_hist_config_t cfg = {ST_HIST_DEFAULT_HIGHEST,
                                ST_HIST_DEFAULT_DIGITS};
  st_hist_t *h = NULL;
  ck_assert_int_eq(st_hist_create(&cfg, &h), ST_OK);
  ck_assert_msg(st_hist_bucket_count(h) == 33421,
                "default histogram has %zu buckets (footprint %zu bytes); "
                "hist.h documents 33,421 (267 KB)",
                st_hist_bucket_count(h), st_hist_footprint(&cfg));
  size_t bytes = st_hist_footprint(&cfg);
  ck_assert_uint_ge(bytes, 33421 * sizeof(uint64_t));
  ck_assert_uint_lt(bytes, 33421 * sizeof(uint64_t) + 1024); /* 267 KB */
  st_hist_destroy(h);
}
END_TEST

/* hist.h's example: with 3 digits 1234567 reads back in [1234567, 1235771]. */
START_TEST(test_documented_example_value) {
  st_hist_t *h = new_hist(DEFAULT_HIGHEST, 3);
  record_ok(h, 1234567);
  record_ok(h, 9000000);
  uint64_t got;
  ck_assert_int_eq(st_hist_percentile(h, 50.0, &got), ST_OK);
  ck_assert_msg(got >= 1234567 && got <= 1235771, "1234567 reads back as %llu",
                (unsigned long long)got);
  ck_assert_uint_eq(got, st_hist_highest_equivalent(h, 1234567));
  st_hist_destroy(h);
}
END_TEST

Suite *hist_suite(void) {
  Suite *s = suite_create("hist");

  TCase *acc = tcase_create("accuracy");
  tcase_add_loop_test(acc, test_percentiles_match_exact_nearest_rank, 0,
                      (ST_HIST_MAX_DIGITS - ST_HIST_MIN_DIGITS + 1) *
                          DIST_COUNT);
  tcase_add_test(acc, test_percentiles_many_requests);
  tcase_add_test(acc, test_percentile_nearest_rank_boundaries);
  tcase_add_test(acc, test_percentile_zero_is_exact_min);
  tcase_add_test(acc, test_percentile_rank_rounds_up_small_fractions);
  tcase_add_loop_test(acc, test_mean_stddev_close_to_exact, 0, 5 * 3);
  tcase_add_test(acc, test_mean_stddev_exact_in_exact_range);
  suite_add_tcase(s, acc);

  TCase *conc = tcase_create("concurrency");
  tcase_add_test(conc, test_concurrent_recording_loses_nothing);
  suite_add_tcase(s, conc);

  TCase *edge = tcase_create("edge_cases");
  tcase_add_test(edge, test_empty_summarize);
  tcase_add_test(edge, test_empty_percentile_leaves_out_untouched);
  tcase_add_test(edge, test_empty_iteration_yields_nothing);
  tcase_add_test(edge, test_one_value);
  tcase_add_test(edge, test_zero_is_valid_and_exact);
  tcase_add_test(edge, test_highest_trackable_boundary);
  tcase_add_test(edge, test_only_out_of_range_is_empty);
  tcase_add_test(edge, test_record_n_zero_count);
  tcase_add_test(edge, test_record_n_large_counts);
  tcase_add_test(edge, test_percentile_invalid_p);
  tcase_add_test(edge, test_invalid_configs);
  tcase_add_test(edge, test_init_in_caller_memory);
  suite_add_tcase(s, edge);

  TCase *merge = tcase_create("merge_reset");
  tcase_add_test(merge, test_merge_same_config);
  tcase_add_loop_test(merge, test_merge_different_digits, 0, 2);
  tcase_add_test(merge, test_merge_into_smaller_range_drops);
  tcase_add_test(merge, test_merge_into_smaller_range_conserves_total);
  tcase_add_test(merge, test_merge_lone_value_at_the_limit);
  tcase_add_test(merge, test_merge_into_itself_doubles);
  tcase_add_test(merge, test_merge_empty_source);
  tcase_add_test(merge, test_reset_empties_and_is_reusable);
  suite_add_tcase(s, merge);

  TCase *layout = tcase_create("layout");
  tcase_add_test(layout, test_iteration_order_and_totals);
  tcase_add_loop_test(layout, test_bucket_layout, 0,
                      ST_HIST_MAX_DIGITS - ST_HIST_MIN_DIGITS + 1);
  tcase_add_test(layout, test_default_bucket_count);
  tcase_add_test(layout, test_documented_example_value);
  suite_add_tcase(s, layout);
  return s;
}
