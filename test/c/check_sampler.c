/* Sampler suite: st_sampler_* against supertester/sampler.h. Covers the ring
 * buffer's eviction order (sample 0 is the oldest), len/capacity/total,
 * all-time statistics against window statistics after eviction, capacity 1,
 * reset, refusal of NaN and infinities, invalid capacities and memory, and
 * the error codes for out-of-bounds reads and empty samplers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/sampler.h"
#include "suites.h"
#include "test_util.h"

static st_sampler_t *new_sampler(size_t capacity) {
  st_sampler_t *s = NULL;
  int rc = st_sampler_create(capacity, &s);
  ck_assert_msg(rc == ST_OK && s != NULL, "st_sampler_create(%zu) = %d",
                capacity, rc);
  return s;
}

/* Pushes samples (time i, value f(i)) for i in [first, last]. */
static double value_at(int64_t i) { return 0.5 * (double)i - 3.0; }

static void push_range(st_sampler_t *s, int64_t first, int64_t last) {
  for (int64_t i = first; i <= last; i++)
    ck_assert_int_eq(st_sampler_push(s, i, value_at(i)), ST_OK);
}

/* The retained window is exactly samples first..last, oldest first. */
static void assert_window_is(const st_sampler_t *s, int64_t first,
                             int64_t last) {
  ck_assert_uint_eq(st_sampler_len(s), (uint64_t)(last - first + 1));
  for (int64_t i = first; i <= last; i++) {
    st_sample_t got;
    ck_assert_int_eq(st_sampler_get(s, (size_t)(i - first), &got), ST_OK);
    ck_assert_msg(got.time == i && got.value == value_at(i),
                  "slot %lld holds (%lld, %g), expected (%lld, %g)",
                  (long long)(i - first), (long long)got.time, got.value,
                  (long long)i, value_at(i));
  }
}

START_TEST(test_new_sampler_is_empty) {
  st_sampler_t *s = new_sampler(8);
  ck_assert_uint_eq(st_sampler_capacity(s), 8);
  ck_assert_uint_eq(st_sampler_len(s), 0);
  ck_assert_uint_eq(st_sampler_total(s), 0);
  st_sampler_stats_t st = {.count = 77, .min = 1, .max = 2, .mean = 3};
  ck_assert_int_eq(st_sampler_stats(s, &st), ST_EEMPTY);
  ck_assert_int_eq(st_sampler_window_stats(s, &st), ST_EEMPTY);
  ck_assert_uint_eq(st.count, 77); /* untouched on error */
  st_sample_t smp = {.time = 5, .value = 6.0};
  ck_assert_int_eq(st_sampler_get(s, 0, &smp), ST_EINVAL);
  ck_assert_int_eq(smp.time, 5);
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_fills_in_push_order) {
  st_sampler_t *s = new_sampler(5);
  push_range(s, 1, 3);
  assert_window_is(s, 1, 3);
  ck_assert_uint_eq(st_sampler_total(s), 3);
  push_range(s, 4, 5);
  assert_window_is(s, 1, 5);
  st_sampler_destroy(s);
}
END_TEST

/* Once full, each push evicts the oldest; get(0) is always the oldest,
 * through several wraps of the ring. */
START_TEST(test_evicts_oldest_first) {
  st_sampler_t *s = new_sampler(5);
  for (int64_t last = 1; last <= 23; last++) {
    push_range(s, last, last);
    int64_t first = last > 5 ? last - 4 : 1;
    assert_window_is(s, first, last);
    ck_assert_uint_eq(st_sampler_total(s), (uint64_t)last);
    ck_assert_uint_eq(st_sampler_capacity(s), 5);
  }
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_get_out_of_bounds) {
  st_sampler_t *s = new_sampler(4);
  push_range(s, 1, 3);
  st_sample_t smp = {.time = -9, .value = -9.0};
  ck_assert_int_eq(st_sampler_get(s, 3, &smp), ST_EINVAL); /* len is 3 */
  ck_assert_int_eq(st_sampler_get(s, 4, &smp), ST_EINVAL);
  ck_assert_int_eq(st_sampler_get(s, SIZE_MAX, &smp), ST_EINVAL);
  ck_assert_int_eq(smp.time, -9);
  ck_assert_double_eq(smp.value, -9.0);
  push_range(s, 4, 10); /* full and wrapped */
  ck_assert_int_eq(st_sampler_get(s, 4, &smp), ST_EINVAL);
  ck_assert_int_eq(st_sampler_get(s, 3, &smp), ST_OK);
  ck_assert_int_eq(smp.time, 10);
  st_sampler_destroy(s);
}
END_TEST

/* All-time stats keep every sample; window stats only the retained ones. */
START_TEST(test_all_time_vs_window_stats) {
  st_sampler_t *s = new_sampler(4);
  const double values[] = {100.0, -50.0, 7.0, 8.0, 9.0, 10.0, 11.0};
  for (size_t i = 0; i < 7; i++)
    ck_assert_int_eq(st_sampler_push(s, (int64_t)i * 10, values[i]), ST_OK);

  st_sampler_stats_t all, win;
  ck_assert_int_eq(st_sampler_stats(s, &all), ST_OK);
  ck_assert_uint_eq(all.count, 7);
  ck_assert_double_eq(all.min, -50.0);
  ck_assert_double_eq(all.max, 100.0);
  ck_assert_double_eq_tol(all.mean, 95.0 / 7.0, 1e-12);

  ck_assert_int_eq(st_sampler_window_stats(s, &win), ST_OK);
  ck_assert_uint_eq(win.count, 4); /* 8, 9, 10, 11 */
  ck_assert_double_eq(win.min, 8.0);
  ck_assert_double_eq(win.max, 11.0);
  ck_assert_double_eq_tol(win.mean, 9.5, 1e-12);
  ck_assert_uint_eq(st_sampler_total(s), 7);
  st_sampler_destroy(s);
}
END_TEST

/* Random values through many wraps: both summaries against direct sums. */
START_TEST(test_stats_match_direct_computation) {
  enum { CAP = 37, N = 1000 };
  st_sampler_t *s = new_sampler(CAP);
  test_rng_t rng = test_rng_seeded(0x5A3D1E);
  double values[N];
  for (int i = 0; i < N; i++) {
    values[i] = 1e6 * (test_rng_unit(&rng) - 0.3);
    ck_assert_int_eq(st_sampler_push(s, i, values[i]), ST_OK);
  }
  double sum = 0, mn = INFINITY, mx = -INFINITY;
  for (int i = 0; i < N; i++) {
    sum += values[i];
    mn = fmin(mn, values[i]);
    mx = fmax(mx, values[i]);
  }
  double wsum = 0, wmn = INFINITY, wmx = -INFINITY;
  for (int i = N - CAP; i < N; i++) {
    wsum += values[i];
    wmn = fmin(wmn, values[i]);
    wmx = fmax(wmx, values[i]);
  }
  st_sampler_stats_t all, win;
  ck_assert_int_eq(st_sampler_stats(s, &all), ST_OK);
  ck_assert_int_eq(st_sampler_window_stats(s, &win), ST_OK);
  ck_assert_uint_eq(all.count, N);
  ck_assert_double_eq(all.min, mn);
  ck_assert_double_eq(all.max, mx);
  ck_assert_rel_close(all.mean, sum / N, 1e-9);
  ck_assert_uint_eq(win.count, CAP);
  ck_assert_double_eq(win.min, wmn);
  ck_assert_double_eq(win.max, wmx);
  ck_assert_rel_close(win.mean, wsum / CAP, 1e-9);
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_capacity_one) {
  st_sampler_t *s = new_sampler(1);
  for (int64_t i = 1; i <= 4; i++) {
    push_range(s, i, i);
    assert_window_is(s, i, i);
  }
  ck_assert_uint_eq(st_sampler_total(s), 4);
  st_sampler_stats_t win, all;
  ck_assert_int_eq(st_sampler_window_stats(s, &win), ST_OK);
  ck_assert_uint_eq(win.count, 1);
  ck_assert_double_eq(win.mean, value_at(4));
  ck_assert_int_eq(st_sampler_stats(s, &all), ST_OK);
  ck_assert_double_eq(all.min, value_at(1));
  ck_assert_double_eq(all.max, value_at(4));
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_reset_empties_and_is_reusable) {
  st_sampler_t *s = new_sampler(3);
  push_range(s, 1, 7);
  st_sampler_reset(s);
  ck_assert_uint_eq(st_sampler_len(s), 0);
  ck_assert_uint_eq(st_sampler_total(s), 0);
  ck_assert_uint_eq(st_sampler_capacity(s), 3);
  st_sampler_stats_t st;
  ck_assert_int_eq(st_sampler_stats(s, &st), ST_EEMPTY);
  ck_assert_int_eq(st_sampler_window_stats(s, &st), ST_EEMPTY);
  st_sample_t smp;
  ck_assert_int_eq(st_sampler_get(s, 0, &smp), ST_EINVAL);

  /* Afterwards nothing from before the reset leaks into any summary. */
  push_range(s, 20, 21);
  assert_window_is(s, 20, 21);
  ck_assert_int_eq(st_sampler_stats(s, &st), ST_OK);
  ck_assert_uint_eq(st.count, 2);
  ck_assert_double_eq(st.min, value_at(20));
  ck_assert_double_eq(st.max, value_at(21));
  ck_assert_double_eq_tol(st.mean, (value_at(20) + value_at(21)) / 2, 1e-12);
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_refuses_non_finite) {
  st_sampler_t *s = new_sampler(4);
  push_range(s, 1, 2);
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++)
    ck_assert_int_eq(st_sampler_push(s, 99, bad[i]), ST_EINVAL);
  ck_assert_uint_eq(st_sampler_total(s), 2);
  assert_window_is(s, 1, 2);
  st_sampler_stats_t st;
  ck_assert_int_eq(st_sampler_stats(s, &st), ST_OK);
  ck_assert_uint_eq(st.count, 2);
  ck_assert_double_eq_tol(st.mean, (value_at(1) + value_at(2)) / 2, 1e-12);
  ck_assert_double_eq(st.max, value_at(2));
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_extreme_values_accepted) {
  st_sampler_t *s = new_sampler(2);
  ck_assert_int_eq(st_sampler_push(s, INT64_MIN, -1e300), ST_OK);
  ck_assert_int_eq(st_sampler_push(s, INT64_MAX, 4.9e-324), ST_OK);
  st_sample_t smp;
  ck_assert_int_eq(st_sampler_get(s, 0, &smp), ST_OK);
  ck_assert_int_eq(smp.time, INT64_MIN);
  ck_assert_double_eq(smp.value, -1e300);
  ck_assert_int_eq(st_sampler_get(s, 1, &smp), ST_OK);
  ck_assert_int_eq(smp.time, INT64_MAX);
  st_sampler_destroy(s);
}
END_TEST

START_TEST(test_invalid_capacity) {
  static char dummy; /* a sentinel pointer that must stay untouched */
  st_sampler_t *const sentinel = (st_sampler_t *)(void *)&dummy;
  st_sampler_t *s = sentinel;
  ck_assert_uint_eq(st_sampler_footprint(0), 0);
  ck_assert_uint_eq(st_sampler_footprint(ST_SAMPLER_MAX_CAPACITY + 1), 0);
  ck_assert_uint_eq(st_sampler_footprint(SIZE_MAX), 0);
  ck_assert_int_eq(st_sampler_create(0, &s), ST_EINVAL);
  ck_assert_int_eq(st_sampler_create(ST_SAMPLER_MAX_CAPACITY + 1, &s),
                   ST_EINVAL);
  ck_assert_ptr_eq(s, sentinel);
  ck_assert_int_eq(st_sampler_create(4, NULL), ST_EINVAL);
  /* The bounds themselves are valid. */
  ck_assert_uint_gt(st_sampler_footprint(1), 0);
  ck_assert_uint_ge(st_sampler_footprint(ST_SAMPLER_MAX_CAPACITY),
                    ST_SAMPLER_MAX_CAPACITY * sizeof(st_sample_t));
}
END_TEST

START_TEST(test_init_in_caller_memory) {
  enum { CAP = 6 };
  size_t need = st_sampler_footprint(CAP);
  ck_assert_uint_ge(need, CAP * sizeof(st_sample_t));
  unsigned char *buf = malloc(need + 16);
  ck_assert_ptr_nonnull(buf);
  st_sampler_t *s = NULL;
  ck_assert_int_eq(st_sampler_init(buf, need - 1, CAP, &s), ST_EINVAL);
  ck_assert_int_eq(st_sampler_init(buf + 1, need, CAP, &s), ST_EINVAL);
  ck_assert_int_eq(st_sampler_init(NULL, need, CAP, &s), ST_EINVAL);
  ck_assert_int_eq(st_sampler_init(buf, need, 0, &s), ST_EINVAL);
  ck_assert_ptr_null(s);

  /* Aligned but not at the start of the allocation: destroy must not free
   * it (AddressSanitizer would report a bad free). */
  ck_assert_int_eq(st_sampler_init(buf + 8, need, CAP, &s), ST_OK);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(st_sampler_capacity(s), CAP);
  ck_assert_uint_eq(st_sampler_len(s), 0);
  push_range(s, 1, 9);
  assert_window_is(s, 4, 9);
  st_sampler_destroy(s);
  free(buf);
}
END_TEST

Suite *sampler_suite(void) {
  Suite *s = suite_create("sampler");
  TCase *ring = tcase_create("ring");
  tcase_add_test(ring, test_new_sampler_is_empty);
  tcase_add_test(ring, test_fills_in_push_order);
  tcase_add_test(ring, test_evicts_oldest_first);
  tcase_add_test(ring, test_get_out_of_bounds);
  tcase_add_test(ring, test_capacity_one);
  tcase_add_test(ring, test_reset_empties_and_is_reusable);
  suite_add_tcase(s, ring);

  TCase *stats = tcase_create("stats");
  tcase_add_test(stats, test_all_time_vs_window_stats);
  tcase_add_test(stats, test_stats_match_direct_computation);
  tcase_add_test(stats, test_refuses_non_finite);
  tcase_add_test(stats, test_extreme_values_accepted);
  suite_add_tcase(s, stats);

  TCase *alloc = tcase_create("allocation");
  tcase_add_test(alloc, test_invalid_capacity);
  tcase_add_test(alloc, test_init_in_caller_memory);
  suite_add_tcase(s, alloc);
  return s;
}
