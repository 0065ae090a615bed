/* Statistics for performance claims: summaries with confidence intervals,
 * least-squares regression, and Welch's t-test, so that "A is faster than B"
 * or "memory grows with every iteration" is a statement with a p-value.
 *
 * Quantities the data cannot define (a variance from one sample, a standard
 * error with no degrees of freedom) are NaN; callers decide how to show them.
 * Confidence levels are fractions in (0, 1), e.g. 0.95. */
#ifndef SUPERTESTER_STATS_H
#define SUPERTESTER_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Running summary (Welford's algorithm): numerically stable in one pass and
 * mergeable, so partial summaries from several threads can be combined. */
typedef struct st_summary_s {
  uint64_t n;
  double mean;
  double m2; /* sum of squared deviations from the mean */
  double min, max;
} st_summary_t;

void st_summary_init(st_summary_t *s);
/* ST_EINVAL for NaN or infinite x (the summary is left unchanged). */
int st_summary_add(st_summary_t *s, double x);
void st_summary_merge(st_summary_t *into, const st_summary_t *from);

/* Sample variance (n - 1 denominator) and its square root; NaN when n < 2. */
double st_summary_variance(const st_summary_t *s);
double st_summary_stddev(const st_summary_t *s);
/* Standard error of the mean; NaN when n < 2. */
double st_summary_sem(const st_summary_t *s);

/* Two-sided confidence interval of the mean from Student's t.
 * ST_EEMPTY when n < 2, ST_EINVAL for a confidence outside (0, 1). */
int st_summary_mean_ci(const st_summary_t *s, double confidence, double *low,
                       double *high);

/* Least-squares fit of y = intercept + slope * x. */
typedef struct st_regression_s {
  uint64_t n;
  double slope, intercept;
  double r2;              /* coefficient of determination; 1 when y is constant */
  double slope_stderr;    /* NaN when n < 3 */
  double slope_ci_low, slope_ci_high; /* at the requested confidence */
  double slope_p_value;   /* two-sided test of slope == 0; NaN when n < 3 */
  double residual_stddev; /* NaN when n < 3 */
} st_regression_t;

/* ST_EEMPTY when n < 2, ST_EDEGENERATE when every x is equal, ST_EINVAL for
 * non-finite data or a bad confidence. */
int st_regression_fit(const double *x, const double *y, size_t n,
                      double confidence, st_regression_t *out);

/* Welch's unequal-variances t-test of mean(a) == mean(b). */
typedef struct st_welch_s {
  double mean_diff;       /* mean(a) - mean(b) */
  double t;               /* +-INFINITY when both variances are zero */
  double df;              /* Welch-Satterthwaite degrees of freedom */
  double p_value;         /* two-sided */
  double ci_low, ci_high; /* of mean_diff, at the requested confidence */
} st_welch_t;

/* ST_EEMPTY unless both samples have n >= 2. */
int st_welch_test(const st_summary_t *a, const st_summary_t *b,
                  double confidence, st_welch_t *out);

/* Student's t distribution with df > 0 degrees of freedom (df may be
 * fractional). NaN for invalid arguments. */
double st_t_cdf(double t, double df);
/* Inverse of st_t_cdf for p in (0, 1). */
double st_t_quantile(double p, double df);

/* Regularized incomplete beta function I_x(a, b), a, b > 0, x in [0, 1]. */
double st_beta_regularized(double x, double a, double b);

#ifdef __cplusplus
}
#endif

#endif
