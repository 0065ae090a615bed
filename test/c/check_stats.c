/* Stats suite: supertester/stats.h.
 *
 * - summary: Welford mean/variance/stddev/sem against an independent
 *   two-pass computation (including a large offset), NaN for n < 2,
 *   refusal of non-finite input, merging.
 * - t distribution: st_t_quantile / st_t_cdf / st_beta_regularized against
 *   table values and closed forms (references computed with mpmath at 30
 *   digits, or by hand where noted), round trips, invalid arguments.
 * - mean CI: a hand-checkable interval, argument errors, and the coverage of
 *   the 95% interval over 2000 fixed-seed normal samples.
 * - regression: exact and noisy lines, p-values, degenerate inputs, large
 *   offsets.
 * - Welch: a worked example checked against the formula, constant and
 *   identical samples, and the false-positive rate under the null. */
#include <math.h>
#include <string.h>

#include "supertester/stats.h"
#include "suites.h"
#include "test_util.h"

/* ---- independent reference computations ---- */

typedef struct {
  double mean, var; /* sample variance, n - 1 denominator */
} two_pass_t;

/* Mean and sample variance in two passes, accumulated in long double. */
static two_pass_t two_pass(const double *x, size_t n) {
  long double sum = 0;
  for (size_t i = 0; i < n; i++) sum += x[i];
  long double mean = sum / (long double)n, ss = 0;
  for (size_t i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
  return (two_pass_t){(double)mean,
                      n > 1 ? (double)(ss / (long double)(n - 1)) : NAN};
}

static st_summary_t summary_of(const double *x, size_t n) {
  st_summary_t s;
  st_summary_init(&s);
  for (size_t i = 0; i < n; i++)
    require_msg(st_summary_add(&s, x[i]) == ST_OK,
                "st_summary_add(%.17g) failed", x[i]);
  return s;
}

static void fill_normal(test_rng_t *rng, double *x, size_t n, double mu,
                        double sigma) {
  for (size_t i = 0; i < n; i++) x[i] = mu + sigma * test_rng_normal(rng);
}

/* ====================== summary ====================== */

START_TEST(test_summary_matches_two_pass) {
  enum { N = 10000 };
  static double x[N];
  test_rng_t rng = test_rng_seeded(11);
  fill_normal(&rng, x, N, 5.0, 2.0);
  double mn = x[0], mx = x[0];
  for (size_t i = 1; i < N; i++) {
    mn = fmin(mn, x[i]);
    mx = fmax(mx, x[i]);
  }
  two_pass_t ref = two_pass(x, N);
  st_summary_t s = summary_of(x, N);
  ck_assert_uint_eq(s.n, N);
  ck_assert_rel_close(s.mean, ref.mean, 1e-12);
  ck_assert_rel_close(st_summary_variance(&s), ref.var, 1e-12);
  ck_assert_rel_close(st_summary_stddev(&s), sqrt(ref.var), 1e-12);
  ck_assert_rel_close(st_summary_sem(&s), sqrt(ref.var / N), 1e-12);
  ck_assert_double_eq(s.min, mn);
  ck_assert_double_eq(s.max, mx);
}
END_TEST

/* 1e9 + noise of variance 1/12: a naive sum of squares (sum x^2 - n mean^2)
 * would cancel every significant digit here. */
START_TEST(test_summary_large_offset) {
  enum { N = 10000 };
  static double x[N];
  test_rng_t rng = test_rng_seeded(12);
  for (size_t i = 0; i < N; i++) x[i] = 1e9 + (test_rng_unit(&rng) - 0.5);
  two_pass_t ref = two_pass(x, N);
  st_summary_t s = summary_of(x, N);
  ck_assert_rel_close(s.mean, ref.mean, 1e-15);
  ck_assert_rel_close(st_summary_variance(&s), ref.var, 1e-6);
  ck_assert_rel_close(st_summary_variance(&s), 1.0 / 12.0, 0.05);
}
END_TEST

START_TEST(test_summary_fewer_than_two_values) {
  st_summary_t s;
  st_summary_init(&s);
  ck_assert_uint_eq(s.n, 0);
  ck_assert_double_nan(st_summary_variance(&s));
  ck_assert_double_nan(st_summary_stddev(&s));
  ck_assert_double_nan(st_summary_sem(&s));
  ck_assert_int_eq(st_summary_add(&s, -4.25), ST_OK);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_double_eq(s.mean, -4.25);
  ck_assert_double_eq(s.min, -4.25);
  ck_assert_double_eq(s.max, -4.25);
  ck_assert_double_nan(st_summary_variance(&s));
  ck_assert_double_nan(st_summary_stddev(&s));
  ck_assert_double_nan(st_summary_sem(&s));
  ck_assert_int_eq(st_summary_add(&s, 0.75), ST_OK);
  ck_assert_double_eq(st_summary_variance(&s), 12.5); /* (2.5^2 * 2) / 1 */
}
END_TEST

START_TEST(test_summary_add_rejects_non_finite) {
  st_summary_t s;
  st_summary_init(&s);
  st_summary_add(&s, 1.0);
  st_summary_add(&s, 3.0);
  st_summary_t before = s;
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(st_summary_add(&s, bad[i]), ST_EINVAL);
    ck_assert_msg(memcmp(&s, &before, sizeof s) == 0,
                  "summary changed by a refused value: n=%llu mean=%g m2=%g",
                  (unsigned long long)s.n, s.mean, s.m2);
  }
  /* A refused first value leaves an empty summary empty. */
  st_summary_t e;
  st_summary_init(&e);
  ck_assert_int_eq(st_summary_add(&e, NAN), ST_EINVAL);
  ck_assert_uint_eq(e.n, 0);
  ck_assert_int_eq(st_summary_add(&e, 2.0), ST_OK);
  ck_assert_double_eq(e.min, 2.0);
  ck_assert_double_eq(e.max, 2.0);
}
END_TEST

START_TEST(test_summary_merge_equals_whole) {
  enum { N = 5001 };
  static double x[N];
  test_rng_t rng = test_rng_seeded(13);
  fill_normal(&rng, x, N, 1e6, 10.0);
  st_summary_t whole = summary_of(x, N);
  /* Uneven halves, each with its own mean. */
  st_summary_t a = summary_of(x, 1234), b = summary_of(x + 1234, N - 1234);
  st_summary_merge(&a, &b);
  ck_assert_uint_eq(a.n, whole.n);
  ck_assert_rel_close(a.mean, whole.mean, 1e-14);
  ck_assert_rel_close(a.m2, whole.m2, 1e-9);
  ck_assert_double_eq(a.min, whole.min);
  ck_assert_double_eq(a.max, whole.max);
}
END_TEST

START_TEST(test_summary_merge_with_empty) {
  const double x[] = {4.0, 8.0, 6.0};
  st_summary_t full = summary_of(x, 3), empty, into;
  st_summary_init(&empty);

  into = full;
  st_summary_merge(&into, &empty);
  ck_assert_mem_eq(&into, &full, sizeof into);

  st_summary_init(&into);
  st_summary_merge(&into, &full);
  ck_assert_uint_eq(into.n, 3);
  ck_assert_double_eq(into.mean, 6.0);
  ck_assert_double_eq(st_summary_variance(&into), 4.0);
  ck_assert_double_eq(into.min, 4.0);
  ck_assert_double_eq(into.max, 8.0);
}
END_TEST

/* ====================== t distribution ====================== */

/* t_{0.975, df}; mpmath, 30 digits. */
static const struct {
  double df, q;
} t975[] = {
    {1, 12.7062047361747046},  {2, 4.30265272974946385},
    {9, 2.26215716279820554},  {10, 2.22813885198627475},
    {30, 2.04227245630123831},
};

START_TEST(test_t_quantile_table) {
  for (size_t i = 0; i < sizeof t975 / sizeof t975[0]; i++) {
    double q = st_t_quantile(0.975, t975[i].df);
    ck_assert_msg(fabs(q - t975[i].q) < 1e-9,
                  "t_quantile(0.975, %g) = %.15g, expected %.15g", t975[i].df,
                  q, t975[i].q);
  }
  /* Large df approaches the normal quantile; mpmath: 1.959966356814107. */
  ck_assert_double_eq_tol(st_t_quantile(0.975, 1e6), 1.959966356814107, 1e-7);
  /* Other levels and fractional df (mpmath). */
  ck_assert_double_eq_tol(st_t_quantile(0.6, 1), 0.324919696232906249, 1e-10);
  ck_assert_double_eq_tol(st_t_quantile(0.9, 2.5), 1.73025092880717683, 1e-9);
  ck_assert_double_eq_tol(st_t_quantile(0.99, 5), 3.36492999890721778, 1e-9);
  ck_assert_double_eq_tol(st_t_quantile(0.999, 3), 10.2145318524073835, 1e-8);
  ck_assert_double_eq_tol(st_t_quantile(0.95, 100), 1.66023432608533911, 1e-9);
  ck_assert_double_eq_tol(st_t_quantile(0.995, 7.3), 3.45103165562218463, 1e-9);
}
END_TEST

START_TEST(test_t_quantile_median_and_symmetry) {
  const double dfs[] = {0.5, 1, 3, 17.5, 1000};
  const double ps[] = {0.001, 0.025, 0.2, 0.45, 0.7, 0.99};
  for (size_t i = 0; i < 5; i++) {
    ck_assert_double_eq(st_t_quantile(0.5, dfs[i]), 0.0);
    for (size_t j = 0; j < 6; j++) {
      double lo = st_t_quantile(ps[j], dfs[i]);
      double hi = st_t_quantile(1.0 - ps[j], dfs[i]);
      ck_assert_msg(fabs(lo + hi) <= 1e-12 * (1 + fabs(hi)),
                    "q(%g, %g) = %.17g but q(1-p) = %.17g", ps[j], dfs[i], lo,
                    hi);
      ck_assert_msg((ps[j] < 0.5) == (lo < 0),
                    "q(%g, %g) = %g has the wrong sign", ps[j], dfs[i], lo);
    }
  }
}
END_TEST

START_TEST(test_t_cdf_values) {
  const double dfs[] = {0.3, 1, 2.5, 30, 1e5};
  for (size_t i = 0; i < 5; i++)
    ck_assert_double_eq(st_t_cdf(0.0, dfs[i]), 0.5);
  /* Two-sided p of t = 2, df = 10 (mpmath 0.07338803477074037). */
  ck_assert_double_eq_tol(2.0 * st_t_cdf(-2.0, 10), 0.0733880347707403656,
                          1e-12);
  ck_assert_double_eq_tol(2.0 * (1.0 - st_t_cdf(2.0, 10)),
                          0.0733880347707403656, 1e-12);
  /* Closed forms: df = 1 is Cauchy, 1/2 + atan(t)/pi; df = 2 is
   * 1/2 + t / (2 sqrt(2 + t^2)). */
  const double ts[] = {-50, -3.5, -1, -0.1, 0.2, 1.5, 7, 1e3};
  for (size_t i = 0; i < 8; i++) {
    double t = ts[i];
    ck_assert_double_eq_tol(st_t_cdf(t, 1), 0.5 + atan(t) / TEST_PI, 1e-13);
    ck_assert_double_eq_tol(st_t_cdf(t, 2), 0.5 + t / (2 * sqrt(2 + t * t)),
                            1e-13);
  }
  ck_assert_double_eq(st_t_cdf(INFINITY, 4), 1.0);
  ck_assert_double_eq(st_t_cdf(-INFINITY, 4), 0.0);
}
END_TEST

/* Large df (Welch and regression reach df ~ n): cdf(-2, df) against mpmath
 * (40 digits). The beta form loses digits to lgamma cancellation as df
 * grows (about 1e-6 relative at df = 1e9), hence the looser bounds there. */
START_TEST(test_t_cdf_large_df) {
  const struct {
    double df, want, rel;
  } cases[] = {{1e4, 0.022763630330717721369, 1e-10},
               {1e6, 0.022750266925659604211, 1e-8},
               {1e8, 0.022750133297953376441, 1e-7},
               {1e9, 0.022750132083156623547, 1e-5}};
  for (size_t i = 0; i < 4; i++) {
    double got = st_t_cdf(-2.0, cases[i].df);
    ck_assert_msg(fabs(got - cases[i].want) < cases[i].rel * cases[i].want,
                  "cdf(-2, %g) = %.17g, expected %.17g within relative %g",
                  cases[i].df, got, cases[i].want, cases[i].rel);
  }
}
END_TEST

START_TEST(test_t_cdf_quantile_round_trip) {
  const double dfs[] = {1, 2.5, 7, 30, 1000};
  const double ps[] = {0.001, 0.025, 0.3, 0.6, 0.9, 0.975, 0.999};
  for (size_t i = 0; i < 5; i++)
    for (size_t j = 0; j < 7; j++) {
      double q = st_t_quantile(ps[j], dfs[i]);
      double back = st_t_cdf(q, dfs[i]);
      ck_assert_msg(fabs(back - ps[j]) < 1e-10,
                    "cdf(q(%g, df=%g) = %.17g) = %.17g", ps[j], dfs[i], q,
                    back);
    }
}
END_TEST

START_TEST(test_t_cdf_monotone) {
  const double dfs[] = {1, 4, 60};
  for (size_t i = 0; i < 3; i++) {
    double prev = st_t_cdf(-40.0, dfs[i]);
    for (double t = -39.75; t <= 40.0; t += 0.25) {
      double c = st_t_cdf(t, dfs[i]);
      ck_assert_msg(c >= prev && c >= 0.0 && c <= 1.0,
                    "cdf(%g, %g) = %.17g after %.17g", t, dfs[i], c, prev);
      prev = c;
    }
  }
}
END_TEST

START_TEST(test_beta_regularized_values) {
  /* Integer a, b: I_x(a, b) = P(Binomial(a+b-1, x) >= a), by hand:
   * I_0.5(2,3) = 1 - (1 + 4)/16 = 0.6875;
   * I_0.3(2,5) = 1 - 0.7^6 - 6 * 0.3 * 0.7^5 = 0.579825. */
  ck_assert_double_eq_tol(st_beta_regularized(0.5, 2, 3), 0.6875, 1e-12);
  ck_assert_double_eq_tol(st_beta_regularized(0.3, 2, 5), 0.579825, 1e-12);
  for (double x = 0.0; x <= 1.0; x += 0.0625)
    ck_assert_double_eq_tol(st_beta_regularized(x, 1, 1), x, 1e-14);
  /* I_x(1/2, 1/2) = (2/pi) asin(sqrt(x)) (arcsine distribution). */
  ck_assert_double_eq_tol(st_beta_regularized(0.2, 0.5, 0.5),
                          2.0 / TEST_PI * asin(sqrt(0.2)), 1e-12);
  /* Heavy a, far in the tail (mpmath 0.096633285137252125). */
  ck_assert_double_eq_tol(st_beta_regularized(0.9, 50, 3),
                          0.0966332851372521246, 1e-12);
  ck_assert_double_eq(st_beta_regularized(0.0, 2, 3), 0.0);
  ck_assert_double_eq(st_beta_regularized(1.0, 2, 3), 1.0);
}
END_TEST

START_TEST(test_beta_regularized_symmetry) {
  const double ab[][2] = {{0.5, 3}, {2, 2}, {7.5, 1.25}, {30, 40}};
  for (size_t i = 0; i < 4; i++)
    for (double x = 0.05; x < 1.0; x += 0.1) {
      double a = ab[i][0], b = ab[i][1];
      double l = st_beta_regularized(x, a, b);
      double r = 1.0 - st_beta_regularized(1.0 - x, b, a);
      ck_assert_msg(fabs(l - r) < 1e-12,
                    "I_%g(%g,%g) = %.17g, 1 - I_%g(%g,%g) = %.17g", x, a, b, l,
                    1.0 - x, b, a, r);
    }
}
END_TEST

START_TEST(test_distribution_invalid_args_nan) {
  ck_assert_double_nan(st_beta_regularized(0.5, 0, 1));
  ck_assert_double_nan(st_beta_regularized(0.5, 1, 0));
  ck_assert_double_nan(st_beta_regularized(0.5, -1, 1));
  ck_assert_double_nan(st_beta_regularized(-0.01, 1, 1));
  ck_assert_double_nan(st_beta_regularized(1.01, 1, 1));
  ck_assert_double_nan(st_beta_regularized(NAN, 1, 1));
  ck_assert_double_nan(st_beta_regularized(0.5, NAN, 1));
  ck_assert_double_nan(st_t_cdf(1.0, 0.0));
  ck_assert_double_nan(st_t_cdf(1.0, -3.0));
  ck_assert_double_nan(st_t_cdf(1.0, NAN));
  ck_assert_double_nan(st_t_cdf(NAN, 3.0));
  ck_assert_double_nan(st_t_quantile(0.0, 3.0));
  ck_assert_double_nan(st_t_quantile(1.0, 3.0));
  ck_assert_double_nan(st_t_quantile(-0.2, 3.0));
  ck_assert_double_nan(st_t_quantile(1.5, 3.0));
  ck_assert_double_nan(st_t_quantile(NAN, 3.0));
  ck_assert_double_nan(st_t_quantile(0.9, 0.0));
  ck_assert_double_nan(st_t_quantile(0.9, NAN));
}
END_TEST

/* ====================== mean confidence interval ====================== */

START_TEST(test_mean_ci_hand_checked) {
  const double x[] = {10.2, 9.8, 11.5, 10.9, 9.1, 10.4, 12.0, 8.7, 10.6, 10.8};
  two_pass_t ref = two_pass(x, 10);
  st_summary_t s = summary_of(x, 10);
  double lo, hi;
  ck_assert_int_eq(st_summary_mean_ci(&s, 0.95, &lo, &hi), ST_OK);
  double half =
      2.262157162798205 * sqrt(ref.var) / sqrt(10.0); /* t(0.975, 9) */
  ck_assert_double_eq_tol(lo, ref.mean - half, 1e-9);
  ck_assert_double_eq_tol(hi, ref.mean + half, 1e-9);
  /* 90%: t(0.95, 9) = 1.833112932656237 (mpmath). */
  ck_assert_int_eq(st_summary_mean_ci(&s, 0.90, &lo, &hi), ST_OK);
  half = 1.83311293265623717 * sqrt(ref.var) / sqrt(10.0);
  ck_assert_double_eq_tol(lo, ref.mean - half, 1e-9);
  ck_assert_double_eq_tol(hi, ref.mean + half, 1e-9);
}
END_TEST

START_TEST(test_mean_ci_invalid_confidence) {
  const double x[] = {1, 2, 3, 4};
  st_summary_t s = summary_of(x, 4);
  const double bad[] = {0.0, 1.0, -0.5, 1.5, NAN, INFINITY};
  for (size_t i = 0; i < 6; i++) {
    double lo = 123.0, hi = 456.0;
    ck_assert_int_eq(st_summary_mean_ci(&s, bad[i], &lo, &hi), ST_EINVAL);
    ck_assert_double_eq(lo, 123.0);
    ck_assert_double_eq(hi, 456.0);
  }
}
END_TEST

START_TEST(test_mean_ci_needs_two_values) {
  st_summary_t s;
  st_summary_init(&s);
  double lo = 123.0, hi = 456.0;
  ck_assert_int_eq(st_summary_mean_ci(&s, 0.95, &lo, &hi), ST_EEMPTY);
  st_summary_add(&s, 5.0);
  ck_assert_int_eq(st_summary_mean_ci(&s, 0.95, &lo, &hi), ST_EEMPTY);
  ck_assert_double_eq(lo, 123.0);
  ck_assert_double_eq(hi, 456.0);
}
END_TEST

/* The 95% interval of n = 20 normal samples contains the true mean in about
 * 95% of 2000 fixed-seed trials (binomial sd 0.5%, so 93..97% is 4 sd). */
START_TEST(test_mean_ci_coverage) {
  enum { TRIALS = 2000, N = 20 };
  const double mu = 10.0, sigma = 3.0;
  test_rng_t rng = test_rng_seeded(2024);
  int covered = 0;
  for (int t = 0; t < TRIALS; t++) {
    double x[N];
    fill_normal(&rng, x, N, mu, sigma);
    st_summary_t s = summary_of(x, N);
    double lo, hi;
    ck_assert_int_eq(st_summary_mean_ci(&s, 0.95, &lo, &hi), ST_OK);
    covered += lo <= mu && mu <= hi;
  }
  double rate = (double)covered / TRIALS;
  ck_assert_msg(rate >= 0.93 && rate <= 0.97,
                "95%% CI covered the mean in %d of %d trials (%.3f)", covered,
                TRIALS, rate);
}
END_TEST

/* ====================== regression ====================== */

START_TEST(test_regression_exact_line) {
  enum { N = 20 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = i;
    y[i] = 3.0 + 2.0 * i;
  }
  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, N, 0.95, &r), ST_OK);
  ck_assert_uint_eq(r.n, N);
  ck_assert_double_eq(r.slope, 2.0);
  ck_assert_double_eq(r.intercept, 3.0);
  ck_assert_double_eq(r.r2, 1.0);
  ck_assert_double_eq(r.slope_stderr, 0.0);
  ck_assert_double_eq(r.residual_stddev, 0.0);
  ck_assert_double_eq(r.slope_p_value, 0.0);
  ck_assert_double_eq(r.slope_ci_low, 2.0);
  ck_assert_double_eq(r.slope_ci_high, 2.0);
}
END_TEST

/* y = 5 + 0.5 x + N(0, 1): estimates against the textbook formulas computed
 * here, and the true slope inside the 95% interval. */
START_TEST(test_regression_noisy_line) {
  enum { N = 200 };
  double x[N], y[N];
  test_rng_t rng = test_rng_seeded(31);
  for (int i = 0; i < N; i++) {
    x[i] = 0.25 * i + test_rng_unit(&rng);
    y[i] = 5.0 + 0.5 * x[i] + test_rng_normal(&rng);
  }
  two_pass_t mx = two_pass(x, N), my = two_pass(y, N);
  long double sxy = 0, sxx = 0, syy = 0;
  for (int i = 0; i < N; i++) {
    sxy += (x[i] - mx.mean) * (long double)(y[i] - my.mean);
    sxx += (x[i] - mx.mean) * (long double)(x[i] - mx.mean);
    syy += (y[i] - my.mean) * (long double)(y[i] - my.mean);
  }
  double slope = (double)(sxy / sxx);
  double sse = (double)(syy - sxy * sxy / sxx);
  double stderr_ = sqrt(sse / (N - 2) / (double)sxx);

  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, N, 0.95, &r), ST_OK);
  ck_assert_rel_close(r.slope, slope, 1e-10);
  ck_assert_rel_close(r.intercept, my.mean - slope * mx.mean, 1e-10);
  ck_assert_rel_close(r.r2, 1.0 - sse / (double)syy, 1e-10);
  ck_assert_rel_close(r.slope_stderr, stderr_, 1e-9);
  ck_assert_rel_close(r.residual_stddev, sqrt(sse / (N - 2)), 1e-9);
  double t198 = st_t_quantile(0.975, N - 2);
  ck_assert_rel_close(r.slope_ci_low, slope - t198 * stderr_, 1e-9);
  ck_assert_rel_close(r.slope_ci_high, slope + t198 * stderr_, 1e-9);
  ck_assert_msg(r.slope_ci_low <= 0.5 && 0.5 <= r.slope_ci_high,
                "true slope 0.5 outside [%g, %g]", r.slope_ci_low,
                r.slope_ci_high);
  ck_assert_msg(r.slope_p_value < 1e-6, "p = %g for a real slope",
                r.slope_p_value);
}
END_TEST

START_TEST(test_regression_pure_noise) {
  enum { N = 100 };
  double x[N], y[N];
  test_rng_t rng = test_rng_seeded(32);
  for (int i = 0; i < N; i++) {
    x[i] = i;
    y[i] = 50.0 + test_rng_normal(&rng);
  }
  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, N, 0.95, &r), ST_OK);
  ck_assert_msg(r.slope_p_value > 0.01 && r.slope_p_value <= 1.0,
                "p = %g for noise (slope %g +- %g)", r.slope_p_value, r.slope,
                r.slope_stderr);
  ck_assert_msg(r.r2 >= 0.0 && r.r2 < 0.1, "r2 = %g for noise", r.r2);
}
END_TEST

/* Under the null (no slope) p < 0.05 in about 5% of 1000 fits. */
START_TEST(test_regression_false_positive_rate) {
  enum { FITS = 1000, N = 30 };
  test_rng_t rng = test_rng_seeded(33);
  int rejected = 0;
  for (int f = 0; f < FITS; f++) {
    double x[N], y[N];
    for (int i = 0; i < N; i++) {
      x[i] = test_rng_unit(&rng) * 10.0;
      y[i] = test_rng_normal(&rng);
    }
    st_regression_t r;
    ck_assert_int_eq(st_regression_fit(x, y, N, 0.95, &r), ST_OK);
    rejected += r.slope_p_value < 0.05;
  }
  ck_assert_msg(rejected >= 30 && rejected <= 70,
                "slope p < 0.05 in %d of %d null fits", rejected, FITS);
}
END_TEST

START_TEST(test_regression_two_points) {
  const double x[] = {1.0, 3.0}, y[] = {10.0, 4.0};
  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, 2, 0.95, &r), ST_OK);
  ck_assert_double_eq(r.slope, -3.0);
  ck_assert_double_eq(r.intercept, 13.0);
  ck_assert_double_eq(r.r2, 1.0);
  ck_assert_double_nan(r.slope_stderr);
  ck_assert_double_nan(r.slope_p_value);
  ck_assert_double_nan(r.residual_stddev);
}
END_TEST

START_TEST(test_regression_too_few_points) {
  const double x[] = {1.0}, y[] = {2.0};
  st_regression_t r, before;
  memset(&r, 0x5A, sizeof r);
  before = r;
  ck_assert_int_eq(st_regression_fit(x, y, 1, 0.95, &r), ST_EEMPTY);
  ck_assert_int_eq(st_regression_fit(x, y, 0, 0.95, &r), ST_EEMPTY);
  ck_assert_mem_eq(&r, &before, sizeof r);
}
END_TEST

START_TEST(test_regression_all_x_equal) {
  const double x[] = {4.0, 4.0, 4.0, 4.0}, y[] = {1.0, 2.0, 3.0, 5.0};
  st_regression_t r, before;
  memset(&r, 0x5A, sizeof r);
  before = r;
  ck_assert_int_eq(st_regression_fit(x, y, 4, 0.95, &r), ST_EDEGENERATE);
  ck_assert_mem_eq(&r, &before, sizeof r);
}
END_TEST

START_TEST(test_regression_rejects_non_finite) {
  double x[] = {1, 2, 3, 4}, y[] = {2, 4, 6, 8};
  const double bad[] = {NAN, INFINITY, -INFINITY};
  st_regression_t r, before;
  memset(&r, 0x5A, sizeof r);
  before = r;
  for (size_t b = 0; b < 3; b++) {
    x[2] = bad[b];
    ck_assert_int_eq(st_regression_fit(x, y, 4, 0.95, &r), ST_EINVAL);
    x[2] = 3;
    y[3] = bad[b];
    ck_assert_int_eq(st_regression_fit(x, y, 4, 0.95, &r), ST_EINVAL);
    y[3] = 8;
  }
  ck_assert_int_eq(st_regression_fit(x, y, 4, 0.0, &r), ST_EINVAL);
  ck_assert_int_eq(st_regression_fit(x, y, 4, 1.0, &r), ST_EINVAL);
  ck_assert_int_eq(st_regression_fit(x, y, 4, NAN, &r), ST_EINVAL);
  ck_assert_mem_eq(&r, &before, sizeof r);
}
END_TEST

START_TEST(test_regression_constant_y) {
  const double x[] = {1, 2, 3, 5, 8}, y[] = {7.5, 7.5, 7.5, 7.5, 7.5};
  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, 5, 0.95, &r), ST_OK);
  ck_assert_double_eq(r.slope, 0.0);
  ck_assert_double_eq(r.intercept, 7.5);
  ck_assert_double_eq(r.r2, 1.0);
  ck_assert_double_eq(r.slope_stderr, 0.0);
  ck_assert_double_eq(r.slope_p_value, 1.0);
}
END_TEST

/* Memory-growth shape: x around 1e9 (bytes), y = 1e7 + 0.001 x. A one-pass
 * sum of x^2 would lose every digit of sxx (about 8e7 against 1e21). */
START_TEST(test_regression_large_offsets) {
  enum { N = 1000 };
  double x[N], y[N];
  for (int i = 0; i < N; i++) {
    x[i] = 1e9 + i;
    y[i] = 1e7 + 0.001 * i;
  }
  st_regression_t r;
  ck_assert_int_eq(st_regression_fit(x, y, N, 0.95, &r), ST_OK);
  ck_assert_rel_close(r.slope, 0.001, 1e-7);
  ck_assert_rel_close(r.intercept, 1e7 - 0.001 * 1e9, 1e-9);
  ck_assert_msg(r.r2 > 1.0 - 1e-9, "r2 = %.17g", r.r2);
  ck_assert_msg(r.slope_p_value < 1e-12, "p = %g", r.slope_p_value);
}
END_TEST

/* ====================== Welch ====================== */

static const double welch_a[] = {19.8, 20.4, 19.6, 17.8, 18.5,
                                 18.9, 18.3, 18.9, 19.5, 22.0};
static const double welch_b[] = {28.2, 26.6, 20.1, 23.3, 25.2, 22.1, 17.7,
                                 27.6, 20.6, 13.7, 23.2, 17.5, 20.6, 18.0,
                                 23.9, 21.6, 24.3, 20.4, 23.9, 13.3};

START_TEST(test_welch_worked_example) {
  const size_t na = 10, nb = 20;
  two_pass_t ra = two_pass(welch_a, na), rb = two_pass(welch_b, nb);
  double va = ra.var / na, vb = rb.var / nb;
  double t = (ra.mean - rb.mean) / sqrt(va + vb);
  double df = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));

  st_summary_t a = summary_of(welch_a, na), b = summary_of(welch_b, nb);
  st_welch_t w;
  ck_assert_int_eq(st_welch_test(&a, &b, 0.95, &w), ST_OK);
  ck_assert_rel_close(w.mean_diff, ra.mean - rb.mean, 1e-12);
  ck_assert_rel_close(w.t, t, 1e-10);
  ck_assert_rel_close(w.df, df, 1e-10);
  /* mpmath from the same numbers: t = -2.22551203996985,
   * df = 24.5246349442573, p = 0.0354845308300102, t(0.975, df) =
   * 2.06156463312768. */
  ck_assert_double_eq_tol(w.t, -2.22551203996985351, 1e-9);
  ck_assert_double_eq_tol(w.df, 24.5246349442573470, 1e-9);
  ck_assert_double_eq_tol(w.p_value, 0.0354845308300101965, 1e-10);
  double half = 2.06156463312767971 * sqrt(va + vb);
  ck_assert_double_eq_tol(w.ci_low, w.mean_diff - half, 1e-9);
  ck_assert_double_eq_tol(w.ci_high, w.mean_diff + half, 1e-9);

  /* Swapping the samples flips the sign, not the p-value. */
  st_welch_t s;
  ck_assert_int_eq(st_welch_test(&b, &a, 0.95, &s), ST_OK);
  ck_assert_double_eq_tol(s.t, -w.t, 1e-12);
  ck_assert_double_eq_tol(s.p_value, w.p_value, 1e-14);
}
END_TEST

START_TEST(test_welch_identical_samples) {
  st_summary_t a = summary_of(welch_b, 20), b = summary_of(welch_b, 20);
  st_welch_t w;
  ck_assert_int_eq(st_welch_test(&a, &b, 0.95, &w), ST_OK);
  ck_assert_double_eq(w.mean_diff, 0.0);
  ck_assert_double_eq(w.t, 0.0);
  ck_assert_double_eq_tol(w.p_value, 1.0, 1e-12);
  ck_assert_double_eq_tol(w.ci_low, -w.ci_high, 1e-12);
  ck_assert_msg(w.ci_low < 0.0, "ci [%g, %g] should straddle 0", w.ci_low,
                w.ci_high);
}
END_TEST

START_TEST(test_welch_constant_samples) {
  const double fives[] = {5, 5, 5, 5}, sevens[] = {7, 7, 7};
  st_summary_t f1 = summary_of(fives, 4), f2 = summary_of(fives, 3),
               s = summary_of(sevens, 3);
  st_welch_t w;
  ck_assert_int_eq(st_welch_test(&f1, &f2, 0.95, &w), ST_OK);
  ck_assert_double_eq(w.mean_diff, 0.0);
  ck_assert_double_eq(w.p_value, 1.0);
  ck_assert_double_eq(w.t, 0.0);

  ck_assert_int_eq(st_welch_test(&f1, &s, 0.95, &w), ST_OK);
  ck_assert_double_eq(w.mean_diff, -2.0);
  ck_assert_double_eq(w.p_value, 0.0);
  ck_assert_msg(isinf(w.t) && w.t < 0, "t = %g, expected -inf", w.t);
  ck_assert_double_eq(w.ci_low, -2.0);
  ck_assert_double_eq(w.ci_high, -2.0);

  ck_assert_int_eq(st_welch_test(&s, &f1, 0.95, &w), ST_OK);
  ck_assert_msg(isinf(w.t) && w.t > 0, "t = %g, expected +inf", w.t);
  ck_assert_double_eq(w.p_value, 0.0);
}
END_TEST

START_TEST(test_welch_needs_two_each) {
  st_summary_t one = summary_of(welch_a, 1), many = summary_of(welch_a, 10),
               none;
  st_summary_init(&none);
  st_welch_t w, before;
  memset(&w, 0x5A, sizeof w);
  before = w;
  ck_assert_int_eq(st_welch_test(&one, &many, 0.95, &w), ST_EEMPTY);
  ck_assert_int_eq(st_welch_test(&many, &one, 0.95, &w), ST_EEMPTY);
  ck_assert_int_eq(st_welch_test(&none, &none, 0.95, &w), ST_EEMPTY);
  ck_assert_int_eq(st_welch_test(&many, &many, 1.0, &w), ST_EINVAL);
  ck_assert_int_eq(st_welch_test(&many, &many, 0.0, &w), ST_EINVAL);
  ck_assert_mem_eq(&w, &before, sizeof w);
}
END_TEST

/* Same mean, unequal variances and sizes (Welch's case): p < 0.05 in about
 * 5% of 1000 pairs (binomial sd 0.7%). */
START_TEST(test_welch_false_positive_rate) {
  enum { PAIRS = 1000, NA = 15, NB = 25 };
  test_rng_t rng = test_rng_seeded(41);
  int rejected = 0;
  for (int k = 0; k < PAIRS; k++) {
    double a[NA], b[NB];
    fill_normal(&rng, a, NA, 100.0, 1.0);
    fill_normal(&rng, b, NB, 100.0, 3.0);
    st_summary_t sa = summary_of(a, NA), sb = summary_of(b, NB);
    st_welch_t w;
    ck_assert_int_eq(st_welch_test(&sa, &sb, 0.95, &w), ST_OK);
    rejected += w.p_value < 0.05;
  }
  double rate = (double)rejected / PAIRS;
  ck_assert_msg(rate >= 0.03 && rate <= 0.07,
                "p < 0.05 in %d of %d null pairs (%.3f)", rejected, PAIRS,
                rate);
}
END_TEST

/* A shift of 1.5 sd with n = 20 each is detected nearly always. */
START_TEST(test_welch_detects_real_difference) {
  enum { PAIRS = 200, N = 20 };
  test_rng_t rng = test_rng_seeded(42);
  int detected = 0;
  for (int k = 0; k < PAIRS; k++) {
    double a[N], b[N];
    fill_normal(&rng, a, N, 10.0, 2.0);
    fill_normal(&rng, b, N, 13.0, 2.0);
    st_summary_t sa = summary_of(a, N), sb = summary_of(b, N);
    st_welch_t w;
    ck_assert_int_eq(st_welch_test(&sa, &sb, 0.95, &w), ST_OK);
    detected += w.p_value < 0.05 && w.ci_high < 0.0;
  }
  ck_assert_msg(detected >= 190, "detected in %d of %d pairs", detected, PAIRS);
}
END_TEST

Suite *stats_suite(void) {
  Suite *s = suite_create("stats");

  TCase *sum = tcase_create("summary");
  tcase_add_test(sum, test_summary_matches_two_pass);
  tcase_add_test(sum, test_summary_large_offset);
  tcase_add_test(sum, test_summary_fewer_than_two_values);
  tcase_add_test(sum, test_summary_add_rejects_non_finite);
  tcase_add_test(sum, test_summary_merge_equals_whole);
  tcase_add_test(sum, test_summary_merge_with_empty);
  suite_add_tcase(s, sum);

  TCase *t = tcase_create("t_distribution");
  tcase_add_test(t, test_t_quantile_table);
  tcase_add_test(t, test_t_quantile_median_and_symmetry);
  tcase_add_test(t, test_t_cdf_values);
  tcase_add_test(t, test_t_cdf_large_df);
  tcase_add_test(t, test_t_cdf_quantile_round_trip);
  tcase_add_test(t, test_t_cdf_monotone);
  tcase_add_test(t, test_beta_regularized_values);
  tcase_add_test(t, test_beta_regularized_symmetry);
  tcase_add_test(t, test_distribution_invalid_args_nan);
  suite_add_tcase(s, t);

  TCase *ci = tcase_create("mean_ci");
  tcase_add_test(ci, test_mean_ci_hand_checked);
  tcase_add_test(ci, test_mean_ci_invalid_confidence);
  tcase_add_test(ci, test_mean_ci_needs_two_values);
  tcase_add_test(ci, test_mean_ci_coverage);
  suite_add_tcase(s, ci);

  TCase *reg = tcase_create("regression");
  tcase_add_test(reg, test_regression_exact_line);
  tcase_add_test(reg, test_regression_noisy_line);
  tcase_add_test(reg, test_regression_pure_noise);
  tcase_add_test(reg, test_regression_false_positive_rate);
  tcase_add_test(reg, test_regression_two_points);
  tcase_add_test(reg, test_regression_too_few_points);
  tcase_add_test(reg, test_regression_all_x_equal);
  tcase_add_test(reg, test_regression_rejects_non_finite);
  tcase_add_test(reg, test_regression_constant_y);
  tcase_add_test(reg, test_regression_large_offsets);
  suite_add_tcase(s, reg);

  TCase *w = tcase_create("welch");
  tcase_add_test(w, test_welch_worked_example);
  tcase_add_test(w, test_welch_identical_samples);
  tcase_add_test(w, test_welch_constant_samples);
  tcase_add_test(w, test_welch_needs_two_each);
  tcase_add_test(w, test_welch_false_positive_rate);
  tcase_add_test(w, test_welch_detects_real_difference);
  suite_add_tcase(s, w);
  return s;
}
