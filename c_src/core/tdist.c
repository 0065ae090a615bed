/* Student's t distribution through the regularized incomplete beta function.
 *
 * I_x(a, b) is evaluated with its continued fraction (DLMF 8.17.22) by the
 * modified Lentz method; the fraction converges quickly for
 * x < (a + 1) / (a + b + 2), and the symmetry I_x(a, b) = 1 - I_{1-x}(b, a)
 * covers the rest. For t with df degrees of freedom,
 * P(|T| > |t|) = I_{df / (df + t^2)}(df / 2, 1 / 2). */
#include <math.h>

#include "supertester/stats.h"

#define CF_MAX_TERMS 300
#define CF_EPSILON 1e-15
#define CF_TINY 1e-300

/* Continued fraction part of I_x(a, b). */
static double beta_fraction(double x, double a, double b) {
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (fabs(d) < CF_TINY) d = CF_TINY;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= CF_MAX_TERMS; m++) {
    /* Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)). */
    double num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
    d = 1.0 + num * d;
    if (fabs(d) < CF_TINY) d = CF_TINY;
    c = 1.0 + num / c;
    if (fabs(c) < CF_TINY) c = CF_TINY;
    d = 1.0 / d;
    f *= d * c;
    /* Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)). */
    num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
    d = 1.0 + num * d;
    if (fabs(d) < CF_TINY) d = CF_TINY;
    c = 1.0 + num / c;
    if (fabs(c) < CF_TINY) c = CF_TINY;
    d = 1.0 / d;
    double delta = d * c;
    f *= delta;
    if (fabs(delta - 1.0) < CF_EPSILON) break;
  }
  return f;
}

double st_beta_regularized(double x, double a, double b) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0 && x <= 1.0)) return NAN;
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  /* x^a (1-x)^b / B(a, b), in logs to avoid overflow. */
  double log_front = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) +
                     b * log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0))
    return exp(log_front) * beta_fraction(x, a, b) / a;
  return 1.0 - exp(log_front) * beta_fraction(1.0 - x, b, a) / b;
}

/* Beyond this the t distribution is the normal one to double precision,
 * and the beta function's arguments lose the digits that would show it. */
#define NORMAL_LIMIT_DF 1e10

double st_t_cdf(double t, double df) {
  if (isnan(t) || !(df > 0.0)) return NAN;
  if (isinf(t)) return t > 0 ? 1.0 : 0.0;
  if (df > NORMAL_LIMIT_DF) return 0.5 * erfc(-t / sqrt(2.0));
  double tail = 0.5 * st_beta_regularized(df / (df + t * t), df / 2.0, 0.5);
  return t > 0 ? 1.0 - tail : tail;
}

double st_t_quantile(double p, double df) {
  if (!(p > 0.0 && p < 1.0) || !(df > 0.0)) return NAN;
  if (p == 0.5) return 0.0;
  if (p < 0.5) return -st_t_quantile(1.0 - p, df);
  /* Bracket, then bisect: the cdf is monotonic, and bisection cannot
   * diverge where Newton steps on a heavy tail (df near 1) might. */
  double lo = 0.0, hi = 1.0;
  while (st_t_cdf(hi, df) < p) {
    lo = hi;
    hi *= 2.0;
    if (hi > 1e300) return INFINITY;
  }
  for (int i = 0; i < 200 && hi - lo > 1e-13 * (1.0 + hi); i++) {
    double mid = 0.5 * (lo + hi);
    if (st_t_cdf(mid, df) < p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}
