/* Ordinary least squares for one predictor, in two passes (means first, then
 * centred sums) so large offsets such as byte counts in the tens of millions
 * do not cancel the precision away. */
#include <math.h>

#include "supertester/stats.h"

int st_regression_fit(const double *x, const double *y, size_t n,
                      double confidence, st_regression_t *out) {
  if (x == NULL || y == NULL || out == NULL ||
      !(confidence > 0.0 && confidence < 1.0))
    return ST_EINVAL;
  if (n < 2) return ST_EEMPTY;

  double mean_x = 0.0, mean_y = 0.0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(x[i]) || !isfinite(y[i])) return ST_EINVAL;
    mean_x += x[i];
    mean_y += y[i];
  }
  mean_x /= (double)n;
  mean_y /= (double)n;

  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (size_t i = 0; i < n; i++) {
    double dx = x[i] - mean_x, dy = y[i] - mean_y;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx == 0.0) return ST_EDEGENERATE;

  st_regression_t r;
  r.n = n;
  r.slope = sxy / sxx;
  r.intercept = mean_y - r.slope * mean_x;
  /* Residual sum of squares, clamped: rounding can push it below zero. */
  double sse = syy - r.slope * sxy;
  if (sse < 0.0) sse = 0.0;
  r.r2 = syy == 0.0 ? 1.0 : 1.0 - sse / syy;

  if (n < 3) {
    r.slope_stderr = r.residual_stddev = r.slope_p_value = NAN;
    r.slope_ci_low = r.slope_ci_high = NAN;
    *out = r;
    return ST_OK;
  }
  double df = (double)(n - 2);
  r.residual_stddev = sqrt(sse / df);
  r.slope_stderr = r.residual_stddev / sqrt(sxx);
  if (r.slope_stderr == 0.0) {
    /* A perfect fit: the slope is known exactly. */
    r.slope_p_value = r.slope == 0.0 ? 1.0 : 0.0;
    r.slope_ci_low = r.slope_ci_high = r.slope;
  } else {
    double t = r.slope / r.slope_stderr;
    r.slope_p_value = 2.0 * st_t_cdf(-fabs(t), df);
    double half = st_t_quantile(0.5 + confidence / 2.0, df) * r.slope_stderr;
    r.slope_ci_low = r.slope - half;
    r.slope_ci_high = r.slope + half;
  }
  *out = r;
  return ST_OK;
}
