/* Argument decoding and term building shared by the glue files. */
#include <math.h>

#include "nif_priv.h"
#include "supertester/err.h"

ERL_NIF_TERM st_nif_badarg(ErlNifEnv *env, ERL_NIF_TERM offending) {
  return enif_raise_exception(
      env, enif_make_tuple2(env, ST_ATOM(env, badarg), offending));
}

ERL_NIF_TERM st_nif_error(ErlNifEnv *env, int st_err) {
  ERL_NIF_TERM reason;
  switch (st_err) {
    case ST_ERANGE: reason = ST_ATOM(env, out_of_range); break;
    case ST_EEMPTY: reason = ST_ATOM(env, empty); break;
    case ST_EDEGENERATE: reason = ST_ATOM(env, degenerate); break;
    case ST_ENOMEM: reason = ST_ATOM(env, enomem); break;
    default: reason = enif_make_atom(env, st_err_name(st_err)); break;
  }
  return enif_make_tuple2(env, ST_ATOM(env, error), reason);
}

ERL_NIF_TERM st_nif_ok(ErlNifEnv *env, ERL_NIF_TERM value) {
  return enif_make_tuple2(env, ST_ATOM(env, ok), value);
}

bool st_nif_get_number(ErlNifEnv *env, ERL_NIF_TERM term, double *out) {
  double d;
  ErlNifSInt64 i;
  ErlNifUInt64 u;
  if (enif_get_double(env, term, &d)) {
    /* The VM never makes non-finite floats, but be sure. */
    if (!isfinite(d)) return false;
    *out = d;
    return true;
  }
  if (enif_get_int64(env, term, &i)) {
    *out = (double)i;
    return true;
  }
  if (enif_get_uint64(env, term, &u)) {
    *out = (double)u;
    return true;
  }
  return false; /* not a number, or a bignum beyond 64 bits */
}

bool st_nif_get_confidence(ErlNifEnv *env, ERL_NIF_TERM term, double *out) {
  double c;
  if (!st_nif_get_number(env, term, &c) || !(c > 0.0 && c < 1.0)) return false;
  *out = c;
  return true;
}

ERL_NIF_TERM st_nif_make_number(ErlNifEnv *env, double value) {
  if (!isfinite(value)) return ST_ATOM(env, undefined);
  return enif_make_double(env, value);
}

ERL_NIF_TERM st_nif_make_map(ErlNifEnv *env, ERL_NIF_TERM *keys,
                             ERL_NIF_TERM *values, size_t n) {
  ERL_NIF_TERM map;
  /* Fails only for duplicate keys, which the callers never pass. */
  if (!enif_make_map_from_arrays(env, keys, values, n, &map))
    return enif_make_badarg(env);
  return map;
}

ERL_NIF_TERM st_nif_run_sized(ErlNifEnv *env, const char *name, size_t work,
                              size_t limit, st_nif_fun_t fun, int argc,
                              const ERL_NIF_TERM argv[]) {
  if (work <= limit) return fun(env, argc, argv);
  return enif_schedule_nif(env, name, ERL_NIF_DIRTY_JOB_CPU_BOUND, fun, argc,
                           argv);
}
