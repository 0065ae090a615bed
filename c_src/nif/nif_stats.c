/* Statistics over lists of numbers. Lists are walked in C (about 10 ns per
 * element); long ones go to a dirty scheduler. */
#include <math.h>

#include "nif_priv.h"
#include "supertester/stats.h"

/* Summarises a proper list of numbers; on a bad element sets *bad to it. */
static bool summarize_list(ErlNifEnv *env, ERL_NIF_TERM list, st_summary_t *s,
                           ERL_NIF_TERM *bad) {
  ERL_NIF_TERM head;
  st_summary_init(s);
  while (enif_get_list_cell(env, list, &head, &list)) {
    double x;
    if (!st_nif_get_number(env, head, &x)) {
      *bad = head;
      return false;
    }
    st_summary_add(s, x);
  }
  return true;
}

static size_t list_length_or_zero(ErlNifEnv *env, ERL_NIF_TERM list) {
  unsigned n;
  return enif_get_list_length(env, list, &n) ? n : 0;
}

static ERL_NIF_TERM stats_summary_now(ErlNifEnv *env, int argc,
                                      const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned len;
  double confidence;
  if (!enif_get_list_length(env, argv[0], &len))
    return st_nif_badarg(env, argv[0]);
  if (!st_nif_get_confidence(env, argv[1], &confidence))
    return st_nif_badarg(env, argv[1]);
  st_summary_t s;
  ERL_NIF_TERM bad;
  if (!summarize_list(env, argv[0], &s, &bad)) return st_nif_badarg(env, bad);

  double low = NAN, high = NAN;
  st_summary_mean_ci(&s, confidence, &low, &high); /* stays NaN when n < 2 */
  bool empty = s.n == 0;
  ERL_NIF_TERM undefined = ST_ATOM(env, undefined);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, n),        ST_ATOM(env, mean),
                         ST_ATOM(env, variance), ST_ATOM(env, stddev),
                         ST_ATOM(env, sem),      ST_ATOM(env, min),
                         ST_ATOM(env, max),      ST_ATOM(env, ci_low),
                         ST_ATOM(env, ci_high)};
  ERL_NIF_TERM values[] = {enif_make_uint64(env, s.n),
                           empty ? undefined : st_nif_make_number(env, s.mean),
                           st_nif_make_number(env, st_summary_variance(&s)),
                           st_nif_make_number(env, st_summary_stddev(&s)),
                           st_nif_make_number(env, st_summary_sem(&s)),
                           st_nif_make_number(env, s.min),
                           st_nif_make_number(env, s.max),
                           st_nif_make_number(env, low),
                           st_nif_make_number(env, high)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

/* stats_summary([number()], Confidence) -> #{n, mean, variance, stddev, sem,
 *   min, max, ci_low, ci_high}; undefined where the data cannot say. */
ERL_NIF_TERM st_nif_stats_summary(ErlNifEnv *env, int argc,
                                  const ERL_NIF_TERM argv[]) {
  return st_nif_run_sized(env, "stats_summary",
                          list_length_or_zero(env, argv[0]),
                          ST_NIF_DIRTY_LIST_ELEMENTS, stats_summary_now, argc,
                          argv);
}

static ERL_NIF_TERM regression_term(ErlNifEnv *env, const st_regression_t *r) {
  ERL_NIF_TERM keys[] = {ST_ATOM(env, n),
                         ST_ATOM(env, slope),
                         ST_ATOM(env, intercept),
                         ST_ATOM(env, r2),
                         ST_ATOM(env, slope_stderr),
                         ST_ATOM(env, slope_ci_low),
                         ST_ATOM(env, slope_ci_high),
                         ST_ATOM(env, slope_p_value),
                         ST_ATOM(env, residual_stddev)};
  ERL_NIF_TERM values[] = {enif_make_uint64(env, r->n),
                           st_nif_make_number(env, r->slope),
                           st_nif_make_number(env, r->intercept),
                           st_nif_make_number(env, r->r2),
                           st_nif_make_number(env, r->slope_stderr),
                           st_nif_make_number(env, r->slope_ci_low),
                           st_nif_make_number(env, r->slope_ci_high),
                           st_nif_make_number(env, r->slope_p_value),
                           st_nif_make_number(env, r->residual_stddev)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

static ERL_NIF_TERM stats_regression_now(ErlNifEnv *env, int argc,
                                         const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned n;
  double confidence;
  if (!enif_get_list_length(env, argv[0], &n)) return st_nif_badarg(env, argv[0]);
  if (!st_nif_get_confidence(env, argv[1], &confidence))
    return st_nif_badarg(env, argv[1]);
  double *xs = enif_alloc((n ? n : 1) * sizeof *xs);
  double *ys = enif_alloc((n ? n : 1) * sizeof *ys);
  ERL_NIF_TERM result;
  if (xs == NULL || ys == NULL) {
    result = st_nif_error(env, ST_ENOMEM);
    goto done;
  }
  ERL_NIF_TERM list = argv[0], point;
  for (unsigned i = 0; i < n; i++) {
    const ERL_NIF_TERM *xy;
    int arity;
    enif_get_list_cell(env, list, &point, &list);
    if (!enif_get_tuple(env, point, &arity, &xy) || arity != 2 ||
        !st_nif_get_number(env, xy[0], &xs[i]) ||
        !st_nif_get_number(env, xy[1], &ys[i])) {
      result = st_nif_badarg(env, point);
      goto done;
    }
  }
  st_regression_t r;
  int rc = st_regression_fit(xs, ys, n, confidence, &r);
  result = rc == ST_OK ? regression_term(env, &r) : st_nif_error(env, rc);
done:
  enif_free(xs);
  enif_free(ys);
  return result;
}

/* stats_regression([{X, Y}], Confidence) -> #{n, slope, intercept, r2, ...}
 *   | {error, empty | degenerate} */
ERL_NIF_TERM st_nif_stats_regression(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  return st_nif_run_sized(env, "stats_regression",
                          list_length_or_zero(env, argv[0]),
                          ST_NIF_DIRTY_LIST_ELEMENTS, stats_regression_now,
                          argc, argv);
}

static ERL_NIF_TERM stats_welch_now(ErlNifEnv *env, int argc,
                                    const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned len;
  double confidence;
  if (!enif_get_list_length(env, argv[0], &len)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_list_length(env, argv[1], &len)) return st_nif_badarg(env, argv[1]);
  if (!st_nif_get_confidence(env, argv[2], &confidence))
    return st_nif_badarg(env, argv[2]);
  st_summary_t a, b;
  ERL_NIF_TERM bad;
  if (!summarize_list(env, argv[0], &a, &bad)) return st_nif_badarg(env, bad);
  if (!summarize_list(env, argv[1], &b, &bad)) return st_nif_badarg(env, bad);
  st_welch_t w;
  int rc = st_welch_test(&a, &b, confidence, &w);
  if (rc != ST_OK) return st_nif_error(env, rc);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, mean_diff), ST_ATOM(env, t),
                         ST_ATOM(env, df),        ST_ATOM(env, p_value),
                         ST_ATOM(env, ci_low),    ST_ATOM(env, ci_high)};
  ERL_NIF_TERM values[] = {
      st_nif_make_number(env, w.mean_diff), st_nif_make_number(env, w.t),
      st_nif_make_number(env, w.df),        st_nif_make_number(env, w.p_value),
      st_nif_make_number(env, w.ci_low),    st_nif_make_number(env, w.ci_high)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

/* stats_welch(A, B, Confidence) -> #{mean_diff, t, df, p_value, ci_low,
 *   ci_high} | {error, empty} (each sample needs at least two values) */
ERL_NIF_TERM st_nif_stats_welch(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[]) {
  size_t work = list_length_or_zero(env, argv[0]) + list_length_or_zero(env, argv[1]);
  return st_nif_run_sized(env, "stats_welch", work, ST_NIF_DIRTY_LIST_ELEMENTS,
                          stats_welch_now, argc, argv);
}
