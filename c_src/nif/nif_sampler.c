/* Time-series sampler resources. The core sampler has one writer at a time,
 * so each resource carries a mutex; every critical section is O(1) except
 * the copy of the window, which is bounded by MAX_CAPACITY (1 MB). Terms are
 * built after the lock is released. */
#include "nif_priv.h"
#include "supertester/sampler.h"

/* 65,536 samples: enough for any measurement the toolkit makes. */
#define MAX_CAPACITY 65536

typedef struct sampler_res_s {
  ErlNifMutex *lock;
  st_sampler_t *sampler; /* lives in the same resource, after this header */
} sampler_res_t;

/* Offset of the sampler inside the resource, aligned for its fields. */
#define SAMPLER_OFFSET                                            \
  ((sizeof(sampler_res_t) + _Alignof(max_align_t) - 1) /          \
   _Alignof(max_align_t) * _Alignof(max_align_t))

static void sampler_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  sampler_res_t *res = obj;
  if (res->lock != NULL) enif_mutex_destroy(res->lock);
}

bool st_nif_sampler_open(ErlNifEnv *env, st_nif_priv_t *priv,
                         ErlNifResourceFlags flags) {
  priv->sampler_type = enif_open_resource_type(env, NULL, "supertester_sampler",
                                               sampler_dtor, flags, NULL);
  return priv->sampler_type != NULL;
}

static bool get_sampler(ErlNifEnv *env, ERL_NIF_TERM term, sampler_res_t **out) {
  void *res;
  if (!enif_get_resource(env, term, st_nif_priv(env)->sampler_type, &res))
    return false;
  *out = res;
  return true;
}

/* sampler_new(Capacity) -> {ok, Ref}; Capacity in 1..65536 */
ERL_NIF_TERM st_nif_sampler_new(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[]) {
  (void)argc;
  unsigned capacity;
  if (!enif_get_uint(env, argv[0], &capacity) || capacity == 0 ||
      capacity > MAX_CAPACITY)
    return st_nif_badarg(env, argv[0]);
  size_t bytes = st_sampler_footprint(capacity);
  sampler_res_t *res =
      enif_alloc_resource(st_nif_priv(env)->sampler_type, SAMPLER_OFFSET + bytes);
  if (res == NULL) return st_nif_error(env, ST_ENOMEM);
  res->lock = enif_mutex_create("supertester_sampler");
  int rc = res->lock == NULL
               ? ST_ENOMEM
               : st_sampler_init((char *)res + SAMPLER_OFFSET, bytes, capacity,
                                 &res->sampler);
  if (rc != ST_OK) {
    enif_release_resource(res); /* the destructor frees the lock */
    return st_nif_error(env, rc);
  }
  ERL_NIF_TERM ref = enif_make_resource(env, res);
  enif_release_resource(res);
  return st_nif_ok(env, ref);
}

/* sampler_push(Ref, Time, Value) -> ok; Time an integer, Value a number */
ERL_NIF_TERM st_nif_sampler_push(ErlNifEnv *env, int argc,
                                 const ERL_NIF_TERM argv[]) {
  (void)argc;
  sampler_res_t *res;
  ErlNifSInt64 time;
  double value;
  if (!get_sampler(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_int64(env, argv[1], &time)) return st_nif_badarg(env, argv[1]);
  if (!st_nif_get_number(env, argv[2], &value)) return st_nif_badarg(env, argv[2]);
  enif_mutex_lock(res->lock);
  int rc = st_sampler_push(res->sampler, time, value);
  enif_mutex_unlock(res->lock);
  return rc == ST_OK ? ST_ATOM(env, ok) : st_nif_error(env, rc);
}

/* sampler_stats(Ref) -> #{count, min, max, mean, retained, capacity};
 * min, max and mean cover every sample pushed, undefined before the first. */
ERL_NIF_TERM st_nif_sampler_stats(ErlNifEnv *env, int argc,
                                  const ERL_NIF_TERM argv[]) {
  (void)argc;
  sampler_res_t *res;
  if (!get_sampler(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  st_sampler_stats_t s = {0};
  enif_mutex_lock(res->lock);
  int rc = st_sampler_stats(res->sampler, &s);
  size_t retained = st_sampler_len(res->sampler);
  size_t capacity = st_sampler_capacity(res->sampler);
  enif_mutex_unlock(res->lock);
  bool empty = rc != ST_OK;
  ERL_NIF_TERM undefined = ST_ATOM(env, undefined);
  ERL_NIF_TERM keys[] = {ST_ATOM(env, count), ST_ATOM(env, min),
                         ST_ATOM(env, max),   ST_ATOM(env, mean),
                         ST_ATOM(env, retained), ST_ATOM(env, capacity)};
  ERL_NIF_TERM values[] = {enif_make_uint64(env, s.count),
                           empty ? undefined : st_nif_make_number(env, s.min),
                           empty ? undefined : st_nif_make_number(env, s.max),
                           empty ? undefined : st_nif_make_number(env, s.mean),
                           enif_make_uint64(env, retained),
                           enif_make_uint64(env, capacity)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}

static ERL_NIF_TERM sampler_window_now(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  sampler_res_t *res;
  if (!get_sampler(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  /* The capacity never changes, so the copy is sized before locking. */
  st_sample_t *copy =
      enif_alloc(st_sampler_capacity(res->sampler) * sizeof *copy);
  if (copy == NULL) return st_nif_error(env, ST_ENOMEM);
  enif_mutex_lock(res->lock);
  size_t n = st_sampler_len(res->sampler);
  for (size_t i = 0; i < n; i++) st_sampler_get(res->sampler, i, &copy[i]);
  enif_mutex_unlock(res->lock);

  ERL_NIF_TERM list = enif_make_list(env, 0);
  for (size_t i = n; i-- > 0;) {
    ERL_NIF_TERM sample = enif_make_tuple2(env, enif_make_int64(env, copy[i].time),
                                           enif_make_double(env, copy[i].value));
    list = enif_make_list_cell(env, sample, list);
  }
  enif_free(copy);
  return list;
}

/* sampler_window(Ref) -> [{Time, Value}], oldest first */
ERL_NIF_TERM st_nif_sampler_window(ErlNifEnv *env, int argc,
                                   const ERL_NIF_TERM argv[]) {
  sampler_res_t *res;
  if (!get_sampler(env, argv[0], &res)) return st_nif_badarg(env, argv[0]);
  return st_nif_run_sized(env, "sampler_window",
                          st_sampler_capacity(res->sampler),
                          ST_NIF_DIRTY_LIST_ELEMENTS, sampler_window_now, argc,
                          argv);
}
