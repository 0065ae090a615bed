/* Supervision events from a supervisor's trace: decodes the drained events
 * of a session that traced a supervisor with [procs, 'receive'] into the
 * inputs of core/supervision.c and turns its output back into terms.
 *
 * What counts, from the supervisor's own events:
 *   spawn of P                          -> it started P (a child, new or restarted)
 *   'receive' {'EXIT', P, R}            -> P exited by itself
 *   'receive' {'DOWN', _, process, P, R} -> P was shut down by the supervisor
 *   exit R                              -> the supervisor terminated
 * A child the supervisor shuts down is still linked when it dies, so its
 * 'EXIT' arrives just before the 'DOWN' of the shutdown: an 'EXIT' whose pid
 * also has a 'DOWN' in the batch is read as the shutdown it is. */
#include <stdlib.h>
#include <string.h>

#include "nif_priv.h"
#include "supertester/supervision.h"

static int cmp_term(const void *a, const void *b) {
  ERL_NIF_TERM x = *(const ERL_NIF_TERM *)a, y = *(const ERL_NIF_TERM *)b;
  return x < y ? -1 : x > y;
}

/* Normal, shutdown and {shutdown, _} are the reasons a transient child is
 * not restarted for. */
static bool abnormal(ErlNifEnv *env, ERL_NIF_TERM reason) {
  const ERL_NIF_TERM *t;
  int arity;
  if (reason == ST_ATOM(env, normal) || reason == ST_ATOM(env, shutdown)) return false;
  if (enif_get_tuple(env, reason, &arity, &t) && arity == 2 &&
      t[0] == ST_ATOM(env, shutdown))
    return false;
  return true;
}

static bool get_restart(ErlNifEnv *env, ERL_NIF_TERM t, st_supv_restart_t *out) {
  if (t == ST_ATOM(env, permanent)) *out = ST_SUPV_PERMANENT;
  else if (t == ST_ATOM(env, transient)) *out = ST_SUPV_TRANSIENT;
  else if (t == ST_ATOM(env, temporary)) *out = ST_SUPV_TEMPORARY;
  else return false;
  return true;
}

/* A child of the map: {pid() | undefined, RestartType}. */
static bool get_child(ErlNifEnv *env, ERL_NIF_TERM t, st_supv_child_t *out) {
  const ERL_NIF_TERM *c;
  int arity;
  ErlNifPid pid;
  if (!enif_get_tuple(env, t, &arity, &c) || arity != 2 ||
      !get_restart(env, c[1], &out->restart))
    return false;
  if (enif_get_local_pid(env, c[0], &pid)) out->pid = (uint64_t)pid.pid;
  else if (c[0] == ST_ATOM(env, undefined)) out->pid = 0;
  else return false;
  return true;
}

/* One drained event {Seq, Time, Pid, Tag, Term, Extra}, decoded as far as
 * the reconstruction needs. Returns false for events that do not count. */
static bool decode_event(ErlNifEnv *env, ERL_NIF_TERM sup, ERL_NIF_TERM ev,
                         st_supv_input_t *in, ERL_NIF_TERM *reason,
                         bool *badarg) {
  const ERL_NIF_TERM *e, *m;
  int arity, marity;
  ErlNifSInt64 time;
  ErlNifPid pid;
  *badarg = false;
  if (!enif_get_tuple(env, ev, &arity, &e) || arity != 6 ||
      !enif_get_int64(env, e[1], &time)) {
    *badarg = true;
    return false;
  }
  if (e[2] != sup) return false;
  memset(in, 0, sizeof *in);
  in->time = time;
  *reason = ST_ATOM(env, undefined);
  if (e[3] == ST_ATOM(env, spawn)) {
    if (!enif_get_local_pid(env, e[4], &pid)) return false;
    in->kind = ST_SUPV_IN_SPAWN;
    in->pid = (uint64_t)pid.pid;
    return true;
  }
  if (e[3] == ST_ATOM(env, exit)) {
    in->kind = ST_SUPV_IN_SUPERVISOR_EXIT;
    *reason = e[4];
    return true;
  }
  if (e[3] != ST_ATOM(env, receive_) || !enif_get_tuple(env, e[4], &marity, &m))
    return false;
  if (marity == 3 && m[0] == ST_ATOM(env, EXIT) && enif_get_local_pid(env, m[1], &pid)) {
    in->kind = ST_SUPV_IN_CHILD_EXIT;
    *reason = m[2];
  } else if (marity == 5 && m[0] == ST_ATOM(env, DOWN) && m[2] == ST_ATOM(env, process) &&
             enif_get_local_pid(env, m[3], &pid)) {
    in->kind = ST_SUPV_IN_CHILD_DOWN;
    *reason = m[4];
  } else {
    return false;
  }
  in->pid = (uint64_t)pid.pid;
  if (abnormal(env, *reason)) in->flags |= ST_SUPV_ABNORMAL;
  return true;
}

static ERL_NIF_TERM event_out(ErlNifEnv *env, const st_supv_event_t *ev,
                              const ERL_NIF_TERM *reasons) {
  ERL_NIF_TERM idx = enif_make_uint64(env, ev->child);
  ERL_NIF_TERM time = enif_make_int64(env, ev->time);
  switch (ev->kind) {
    case ST_SUPV_CHILD_STARTED:
      return enif_make_tuple4(env, ST_ATOM(env, child_started), idx,
                              (ERL_NIF_TERM)ev->new_pid, time);
    case ST_SUPV_CHILD_TERMINATED:
      return enif_make_tuple5(env, ST_ATOM(env, child_terminated), idx,
                              (ERL_NIF_TERM)ev->old_pid, reasons[ev->reason], time);
    case ST_SUPV_CHILD_RESTARTED:
      return enif_make_tuple6(env, ST_ATOM(env, child_restarted), idx,
                              (ERL_NIF_TERM)ev->old_pid, (ERL_NIF_TERM)ev->new_pid,
                              time, enif_make_int64(env, ev->latency));
    default:
      return enif_make_tuple3(env, ST_ATOM(env, supervisor_terminated),
                              reasons[ev->reason], time);
  }
}

static ERL_NIF_TERM derive(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  ErlNifPid sup;
  unsigned n_children, n_events;
  if (!enif_get_local_pid(env, argv[0], &sup)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_list_length(env, argv[1], &n_children)) return st_nif_badarg(env, argv[1]);
  if (!enif_get_list_length(env, argv[2], &n_events)) return st_nif_badarg(env, argv[2]);

  ERL_NIF_TERM result = enif_make_list(env, 0);
  st_supv_child_t *children = enif_alloc((n_children + 1) * sizeof *children);
  ERL_NIF_TERM *downs = enif_alloc((n_events + 1) * sizeof *downs);
  ERL_NIF_TERM *reasons = enif_alloc((n_events + 1) * sizeof *reasons);
  st_supv_t *supv = NULL;
  if (!children || !downs || !reasons) {
    result = st_nif_error(env, ST_ENOMEM);
    goto out;
  }

  ERL_NIF_TERM head, tail = argv[1];
  for (unsigned i = 0; enif_get_list_cell(env, tail, &head, &tail); i++) {
    if (!get_child(env, head, &children[i])) {
      result = st_nif_badarg(env, head);
      goto out;
    }
  }

  /* First pass: the pids the supervisor shut down (their 'DOWN'). */
  size_t n_downs = 0;
  tail = argv[2];
  while (enif_get_list_cell(env, tail, &head, &tail)) {
    st_supv_input_t in;
    ERL_NIF_TERM reason;
    bool bad;
    if (decode_event(env, sup.pid, head, &in, &reason, &bad)) {
      if (in.kind == ST_SUPV_IN_CHILD_DOWN) downs[n_downs++] = (ERL_NIF_TERM)in.pid;
    } else if (bad) {
      result = st_nif_badarg(env, head);
      goto out;
    }
  }
  qsort(downs, n_downs, sizeof *downs, cmp_term);

  int rc = st_supv_create(children, n_children, &supv);
  if (rc != ST_OK) {
    result = st_nif_error(env, rc);
    goto out;
  }
  ERL_NIF_TERM acc = enif_make_list(env, 0);
  size_t n_reasons = 0;
  tail = argv[2];
  while (enif_get_list_cell(env, tail, &head, &tail)) {
    st_supv_input_t in;
    ERL_NIF_TERM reason;
    bool bad;
    if (!decode_event(env, sup.pid, head, &in, &reason, &bad)) continue;
    ERL_NIF_TERM key = (ERL_NIF_TERM)in.pid;
    if (in.kind == ST_SUPV_IN_CHILD_EXIT &&
        bsearch(&key, downs, n_downs, sizeof *downs, cmp_term) != NULL)
      continue; /* its 'DOWN' follows */
    reasons[n_reasons] = reason;
    in.reason = n_reasons++;
    st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT];
    size_t n_out = 0;
    rc = st_supv_feed(supv, &in, out, &n_out);
    if (rc != ST_OK) {
      result = st_nif_error(env, rc);
      goto out;
    }
    for (size_t i = 0; i < n_out; i++)
      acc = enif_make_list_cell(env, event_out(env, &out[i], reasons), acc);
  }
  enif_make_reverse_list(env, acc, &result);

out:
  if (supv) st_supv_destroy(supv);
  enif_free(children);
  enif_free(downs);
  enif_free(reasons);
  return result;
}

/* supervision_derive(Sup, Children, Events) -> [SupervisionEvent]
 * Children: [{pid() | undefined, permanent | transient | temporary}] in
 * start order; Events: drained trace events, oldest first. Out, in order:
 *   {child_started, Index, Pid, Time}
 *   {child_terminated, Index, Pid, Reason, Time}
 *   {child_restarted, Index, OldPid, NewPid, Time, LatencyNs}
 *   {supervisor_terminated, Reason, Time}
 * Index is the child's position in Children, or beyond for new children. */
ERL_NIF_TERM st_nif_supervision_derive(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  unsigned n = 0;
  enif_get_list_length(env, argv[2], &n);
  return st_nif_run_sized(env, "supervision_derive", n, ST_NIF_DIRTY_LIST_ELEMENTS,
                          derive, argc, argv);
}
