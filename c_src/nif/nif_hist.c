/* Histogram resources. The resource's memory is the histogram itself
 * (st_hist_init places it there), so recording is one resource lookup, one
 * integer decode and one atomic add: any number of processes may record into
 * the same histogram at once. */
#include "nif_priv.h"
#include "supertester/hist.h"

bool st_nif_hist_open(ErlNifEnv *env, st_nif_priv_t *priv,
                      ErlNifResourceFlags flags) {
  /* No destructor: the histogram owns nothing outside the resource. */
  priv->hist_type =
      enif_open_resource_type(env, NULL, "supertester_hist", NULL, flags, NULL);
  return priv->hist_type != NULL;
}

static bool get_hist(ErlNifEnv *env, ERL_NIF_TERM term, st_hist_t **out) {
  void *res;
  if (!enif_get_resource(env, term, st_nif_priv(env)->hist_type, &res))
    return false;
  *out = res;
  return true;
}

#define GET_HIST_OR_BADARG(env, term, h) \
  if (!get_hist(env, term, &h)) return st_nif_badarg(env, term)

/* Runs `fun`, which walks the histogram in argv[0] `passes` times, on a
 * dirty scheduler when the histogram is large. */
static ERL_NIF_TERM run_walk(ErlNifEnv *env, const char *name, size_t passes,
                             st_nif_fun_t fun, int argc,
                             const ERL_NIF_TERM argv[]) {
  st_hist_t *h;
  GET_HIST_OR_BADARG(env, argv[0], h);
  return st_nif_run_sized(env, name, passes * st_hist_bucket_count(h),
                          ST_NIF_DIRTY_BUCKETS, fun, argc, argv);
}

static ERL_NIF_TERM hist_build(ErlNifEnv *env, int argc,
                               const ERL_NIF_TERM argv[]) {
  (void)argc;
  ErlNifUInt64 highest;
  int digits;
  enif_get_uint64(env, argv[0], &highest);
  enif_get_int(env, argv[1], &digits);
  st_hist_config_t cfg = {.highest_trackable = highest,
                          .significant_digits = digits};
  size_t bytes = st_hist_footprint(&cfg);
  void *mem = enif_alloc_resource(st_nif_priv(env)->hist_type, bytes);
  if (mem == NULL) return st_nif_error(env, ST_ENOMEM);
  st_hist_t *h;
  int rc = st_hist_init(mem, bytes, &cfg, &h);
  if (rc != ST_OK || (void *)h != mem) {
    enif_release_resource(mem);
    return st_nif_error(env, rc != ST_OK ? rc : ST_EINVAL);
  }
  ERL_NIF_TERM ref = enif_make_resource(env, mem);
  enif_release_resource(mem); /* the term now holds the only reference */
  return st_nif_ok(env, ref);
}

/* hist_new(HighestTrackable, SignificantDigits) -> {ok, Ref} */
ERL_NIF_TERM st_nif_hist_new(ErlNifEnv *env, int argc,
                             const ERL_NIF_TERM argv[]) {
  ErlNifUInt64 highest;
  int digits;
  if (!enif_get_uint64(env, argv[0], &highest) || highest < 2 ||
      highest > ST_HIST_MAX_HIGHEST)
    return st_nif_badarg(env, argv[0]);
  if (!enif_get_int(env, argv[1], &digits) || digits < ST_HIST_MIN_DIGITS ||
      digits > ST_HIST_MAX_DIGITS)
    return st_nif_badarg(env, argv[1]);
  st_hist_config_t cfg = {.highest_trackable = highest,
                          .significant_digits = digits};
  size_t buckets = (st_hist_footprint(&cfg) / sizeof(uint64_t));
  return st_nif_run_sized(env, "hist_new", buckets, ST_NIF_DIRTY_BUCKETS,
                          hist_build, argc, argv);
}

static ERL_NIF_TERM record_result(ErlNifEnv *env, int rc) {
  return rc == ST_OK ? ST_ATOM(env, ok) : st_nif_error(env, rc);
}

/* hist_record(Ref, Value) -> ok | {error, out_of_range}
 * The hot path of every timing measurement: the private data is fetched
 * once (each enif_priv_data costs about 2 ns, a third of the record). */
ERL_NIF_TERM st_nif_hist_record(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[]) {
  (void)argc;
  const st_nif_priv_t *priv = st_nif_priv(env);
  void *res;
  ErlNifUInt64 value;
  if (!enif_get_resource(env, argv[0], priv->hist_type, &res))
    return st_nif_badarg(env, argv[0]);
  if (!enif_get_uint64(env, argv[1], &value)) return st_nif_badarg(env, argv[1]);
  int rc = st_hist_record(res, value);
  return rc == ST_OK ? priv->atom.ok : st_nif_error(env, rc);
}

/* hist_record_n(Ref, Value, Count) -> ok | {error, out_of_range} */
ERL_NIF_TERM st_nif_hist_record_n(ErlNifEnv *env, int argc,
                                  const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  ErlNifUInt64 value, count;
  GET_HIST_OR_BADARG(env, argv[0], h);
  if (!enif_get_uint64(env, argv[1], &value)) return st_nif_badarg(env, argv[1]);
  if (!enif_get_uint64(env, argv[2], &count)) return st_nif_badarg(env, argv[2]);
  return record_result(env, st_hist_record_n(h, value, count));
}

static ERL_NIF_TERM hist_reset_now(ErlNifEnv *env, int argc,
                                   const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  GET_HIST_OR_BADARG(env, argv[0], h);
  st_hist_reset(h);
  return ST_ATOM(env, ok);
}

/* hist_reset(Ref) -> ok */
ERL_NIF_TERM st_nif_hist_reset(ErlNifEnv *env, int argc,
                               const ERL_NIF_TERM argv[]) {
  return run_walk(env, "hist_reset", 1, hist_reset_now, argc, argv);
}

static ERL_NIF_TERM hist_merge_now(ErlNifEnv *env, int argc,
                                   const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *dst, *src;
  GET_HIST_OR_BADARG(env, argv[0], dst);
  GET_HIST_OR_BADARG(env, argv[1], src);
  uint64_t dropped = 0;
  int rc = st_hist_merge(dst, src, &dropped);
  if (rc != ST_OK) return st_nif_error(env, rc);
  return st_nif_ok(env, enif_make_uint64(env, dropped));
}

/* hist_merge(Dst, Src) -> {ok, DroppedCount} */
ERL_NIF_TERM st_nif_hist_merge(ErlNifEnv *env, int argc,
                               const ERL_NIF_TERM argv[]) {
  st_hist_t *dst, *src;
  GET_HIST_OR_BADARG(env, argv[0], dst);
  GET_HIST_OR_BADARG(env, argv[1], src);
  size_t work = st_hist_bucket_count(src) + st_hist_bucket_count(dst);
  return st_nif_run_sized(env, "hist_merge", work, ST_NIF_DIRTY_BUCKETS,
                          hist_merge_now, argc, argv);
}

static ERL_NIF_TERM hist_summary_now(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  GET_HIST_OR_BADARG(env, argv[0], h);
  st_hist_summary_t s;
  int rc = st_hist_summarize(h, &s);
  if (rc != ST_OK && rc != ST_EEMPTY) return st_nif_error(env, rc);
  bool empty = rc == ST_EEMPTY;
  ERL_NIF_TERM undefined = ST_ATOM(env, undefined);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, count), ST_ATOM(env, out_of_range),
                         ST_ATOM(env, min),   ST_ATOM(env, max),
                         ST_ATOM(env, mean),  ST_ATOM(env, stddev)};
  ERL_NIF_TERM values[] = {
      enif_make_uint64(env, s.count),
      enif_make_uint64(env, s.out_of_range),
      empty ? undefined : enif_make_uint64(env, s.min),
      empty ? undefined : enif_make_uint64(env, s.max),
      empty ? undefined : st_nif_make_number(env, s.mean),
      empty ? undefined : st_nif_make_number(env, s.stddev)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

/* hist_summary(Ref) -> #{count, out_of_range, min, max, mean, stddev} */
ERL_NIF_TERM st_nif_hist_summary(ErlNifEnv *env, int argc,
                                 const ERL_NIF_TERM argv[]) {
  return run_walk(env, "hist_summary", 2, hist_summary_now, argc, argv);
}

/* Percentile lists longer than this are refused: no caller needs more, and
 * it bounds the temporary arrays. */
#define MAX_PERCENTILES 10000

static ERL_NIF_TERM hist_percentiles_now(ErlNifEnv *env, int argc,
                                         const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  unsigned n;
  GET_HIST_OR_BADARG(env, argv[0], h);
  if (!enif_get_list_length(env, argv[1], &n) || n > MAX_PERCENTILES)
    return st_nif_badarg(env, argv[1]);
  double *ps = enif_alloc((n ? n : 1) * sizeof *ps);
  uint64_t *values = enif_alloc((n ? n : 1) * sizeof *values);
  ERL_NIF_TERM *terms = enif_alloc((n ? n : 1) * sizeof *terms);
  ERL_NIF_TERM result;
  if (ps == NULL || values == NULL || terms == NULL) {
    result = st_nif_error(env, ST_ENOMEM);
    goto done;
  }
  ERL_NIF_TERM list = argv[1], head;
  for (unsigned i = 0; i < n; i++) {
    enif_get_list_cell(env, list, &head, &list);
    if (!st_nif_get_number(env, head, &ps[i]) || ps[i] < 0.0 || ps[i] > 100.0) {
      result = st_nif_badarg(env, head);
      goto done;
    }
  }
  int rc = st_hist_percentiles(h, ps, values, n);
  if (rc != ST_OK) {
    result = st_nif_error(env, rc);
    goto done;
  }
  for (unsigned i = 0; i < n; i++) terms[i] = enif_make_uint64(env, values[i]);
  result = enif_make_list_from_array(env, terms, n);
done:
  enif_free(ps);
  enif_free(values);
  enif_free(terms);
  return result;
}

/* hist_percentiles(Ref, [P]) -> [Value] | {error, empty}; P in 0..100 */
ERL_NIF_TERM st_nif_hist_percentiles(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  return run_walk(env, "hist_percentiles", 2, hist_percentiles_now, argc, argv);
}

static ERL_NIF_TERM hist_buckets_now(ErlNifEnv *env, int argc,
                                     const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  GET_HIST_OR_BADARG(env, argv[0], h);
  /* Built back to front by walking the buckets once and reversing. */
  ERL_NIF_TERM list = enif_make_list(env, 0);
  st_hist_iter_t it;
  st_hist_bucket_t b;
  st_hist_iter_init(&it, h);
  while (st_hist_iter_next(&it, &b)) {
    ERL_NIF_TERM bucket = enif_make_tuple3(env, enif_make_uint64(env, b.lowest),
                                           enif_make_uint64(env, b.highest),
                                           enif_make_uint64(env, b.count));
    list = enif_make_list_cell(env, bucket, list);
  }
  ERL_NIF_TERM ordered;
  enif_make_reverse_list(env, list, &ordered);
  return ordered;
}

/* hist_buckets(Ref) -> [{Lowest, Highest, Count}], non-empty, ascending */
ERL_NIF_TERM st_nif_hist_buckets(ErlNifEnv *env, int argc,
                                 const ERL_NIF_TERM argv[]) {
  return run_walk(env, "hist_buckets", 1, hist_buckets_now, argc, argv);
}

/* hist_info(Ref) -> #{highest_trackable, significant_digits, bucket_count,
 *                     memory} */
ERL_NIF_TERM st_nif_hist_info(ErlNifEnv *env, int argc,
                              const ERL_NIF_TERM argv[]) {
  (void)argc;
  st_hist_t *h;
  GET_HIST_OR_BADARG(env, argv[0], h);
  st_hist_config_t cfg = {.highest_trackable = st_hist_highest_trackable(h),
                          .significant_digits = st_hist_significant_digits(h)};
  ERL_NIF_TERM keys[] = {ST_ATOM(env, highest_trackable),
                         ST_ATOM(env, significant_digits),
                         ST_ATOM(env, bucket_count), ST_ATOM(env, memory)};
  ERL_NIF_TERM values[] = {
      enif_make_uint64(env, cfg.highest_trackable),
      enif_make_int(env, cfg.significant_digits),
      enif_make_uint64(env, st_hist_bucket_count(h)),
      enif_make_uint64(env, st_hist_footprint(&cfg))};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}
