/* Running summaries, confidence intervals of the mean, and Welch's t-test. */
#include <math.h>

#include "supertester/stats.h"

void st_summary_init(st_summary_t *s) {
  *s = (st_summary_t){.n = 0, .mean = 0.0, .m2 = 0.0, .min = NAN, .max = NAN};
}

int st_summary_add(st_summary_t *s, double x) {
  if (!isfinite(x)) return ST_EINVAL;
  s->n++;
  double delta = x - s->mean;
  s->mean += delta / (double)s->n;
  s->m2 += delta * (x - s->mean);
  if (s->n == 1 || x < s->min) s->min = x;
  if (s->n == 1 || x > s->max) s->max = x;
  return ST_OK;
}

/* Chan, Golub and LeVeque's pairwise combination of two summaries. */
void st_summary_merge(st_summary_t *into, const st_summary_t *from) {
  if (from->n == 0) return;
  if (into->n == 0) {
    *into = *from;
    return;
  }
  double n_a = (double)into->n, n_b = (double)from->n, n = n_a + n_b;
  double delta = from->mean - into->mean;
  into->mean += delta * n_b / n;
  into->m2 += from->m2 + delta * delta * n_a * n_b / n;
  into->n += from->n;
  if (from->min < into->min) into->min = from->min;
  if (from->max > into->max) into->max = from->max;
}

double st_summary_variance(const st_summary_t *s) {
  return s->n < 2 ? NAN : s->m2 / (double)(s->n - 1);
}

double st_summary_stddev(const st_summary_t *s) {
  return sqrt(st_summary_variance(s));
}

double st_summary_sem(const st_summary_t *s) {
  return s->n < 2 ? NAN : st_summary_stddev(s) / sqrt((double)s->n);
}

static int confidence_valid(double confidence) {
  return confidence > 0.0 && confidence < 1.0;
}

int st_summary_mean_ci(const st_summary_t *s, double confidence, double *low,
                       double *high) {
  if (s == NULL || low == NULL || high == NULL || !confidence_valid(confidence))
    return ST_EINVAL;
  if (s->n < 2) return ST_EEMPTY;
  double half = st_t_quantile(0.5 + confidence / 2.0, (double)(s->n - 1)) *
                st_summary_sem(s);
  *low = s->mean - half;
  *high = s->mean + half;
  return ST_OK;
}

int st_welch_test(const st_summary_t *a, const st_summary_t *b,
                  double confidence, st_welch_t *out) {
  if (a == NULL || b == NULL || out == NULL || !confidence_valid(confidence))
    return ST_EINVAL;
  if (a->n < 2 || b->n < 2) return ST_EEMPTY;
  double va = st_summary_variance(a) / (double)a->n;
  double vb = st_summary_variance(b) / (double)b->n;
  double se = sqrt(va + vb);
  st_welch_t w;
  w.mean_diff = a->mean - b->mean;
  if (se == 0.0) {
    /* Both samples constant: the difference is certain, or there is none. */
    w.df = (double)(a->n + b->n - 2);
    w.t = w.mean_diff == 0.0 ? 0.0 : copysign(INFINITY, w.mean_diff);
    w.p_value = w.mean_diff == 0.0 ? 1.0 : 0.0;
    w.ci_low = w.ci_high = w.mean_diff;
    *out = w;
    return ST_OK;
  }
  w.t = w.mean_diff / se;
  w.df = (va + vb) * (va + vb) /
         (va * va / (double)(a->n - 1) + vb * vb / (double)(b->n - 1));
  w.p_value = 2.0 * st_t_cdf(-fabs(w.t), w.df);
  double half = st_t_quantile(0.5 + confidence / 2.0, w.df) * se;
  w.ci_low = w.mean_diff - half;
  w.ci_high = w.mean_diff + half;
  *out = w;
  return ST_OK;
}
