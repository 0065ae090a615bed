/* The tracer: supertester_nif is an erl_tracer module whose enabled/3 and
 * trace/5 are these NIFs, writing into a session's ring (core/trace.c).
 *
 * A session is a resource given as the tracer state:
 *   erlang:trace(Pid, true, [{tracer, supertester_nif, Session} | Flags])
 * enabled/3 decides per event, before the VM builds anything: it keeps the
 * kinds the session asked for and, when the session names its tracees, only
 * those; it answers `remove` once the session has stopped, which clears the
 * tracee's flags, and for the session's own processes (its controller and
 * the process it notifies), so a session never traces its own machinery.
 * trace/5 stores the event (payload in the external term format) and, for
 * the kinds the session asked to hear about, sends it at once to the notify
 * process: that is how a waiter learns of a restart the moment it happens.
 *
 * The session monitors its owner. When the owner dies, or a limit trips on
 * the traced side, the session stops and its controller (an Erlang process
 * in supertester_trace) is told {supertester_trace_stopped, Session, Why};
 * it clears the flags the session set. Nothing here sends to a tracee. */
#include <string.h>

#include "nif_priv.h"
#include "supertester/trace.h"

/* Event kinds, one bit each in a session's masks. 0 means unknown. */
enum {
  K_SEND = 1, K_SEND_NOPROC, K_RECEIVE, K_SPAWN, K_SPAWNED, K_EXIT, K_LINK,
  K_UNLINK, K_GETTING_LINKED, K_GETTING_UNLINKED, K_REGISTER, K_UNREGISTER,
  K_COUNT
};

/* Kinds whose trace/5 Opts carry `extra` (the recipient of a send, the
 * MFA of a spawn), stored with the term. */
#define KINDS_WITH_EXTRA \
  ((1u << K_SEND) | (1u << K_SEND_NOPROC) | (1u << K_SPAWN) | (1u << K_SPAWNED))

typedef struct session_s {
  st_trace_ring_t *ring;
  ErlNifMutex *drain_lock; /* one drainer at a time */
  uint32_t kinds;          /* stored */
  uint32_t notify_kinds;   /* also sent to `notify` at once */
  uint32_t max_payload;
  ErlNifPid controller;
  ErlNifPid notify;
  int has_notify;
  ErlNifMonitor owner_mon;
  int monitoring_owner;
  size_t n_only; /* 0: every tracee; else only these local pids */
  ERL_NIF_TERM *only;
} session_t;

static uint32_t kind_of(ErlNifEnv *env, ERL_NIF_TERM tag) {
  const st_nif_atoms_t *a = &st_nif_priv(env)->atom;
  if (tag == a->receive_) return K_RECEIVE;
  if (tag == a->send) return K_SEND;
  if (tag == a->spawn) return K_SPAWN;
  if (tag == a->exit) return K_EXIT;
  if (tag == a->spawned) return K_SPAWNED;
  if (tag == a->link) return K_LINK;
  if (tag == a->unlink) return K_UNLINK;
  if (tag == a->getting_linked) return K_GETTING_LINKED;
  if (tag == a->getting_unlinked) return K_GETTING_UNLINKED;
  if (tag == a->register_) return K_REGISTER;
  if (tag == a->unregister) return K_UNREGISTER;
  if (tag == a->send_to_non_existing_process) return K_SEND_NOPROC;
  return 0;
}

static ERL_NIF_TERM tag_of(ErlNifEnv *env, uint32_t kind) {
  const st_nif_atoms_t *a = &st_nif_priv(env)->atom;
  switch (kind) {
    case K_SEND: return a->send;
    case K_SEND_NOPROC: return a->send_to_non_existing_process;
    case K_RECEIVE: return a->receive_;
    case K_SPAWN: return a->spawn;
    case K_SPAWNED: return a->spawned;
    case K_EXIT: return a->exit;
    case K_LINK: return a->link;
    case K_UNLINK: return a->unlink;
    case K_GETTING_LINKED: return a->getting_linked;
    case K_GETTING_UNLINKED: return a->getting_unlinked;
    case K_REGISTER: return a->register_;
    case K_UNREGISTER: return a->unregister;
    default: return a->undefined;
  }
}

static ERL_NIF_TERM state_atom(ErlNifEnv *env, st_trace_state_t s) {
  return enif_make_atom(env, st_trace_state_name(s));
}

static void session_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  session_t *s = obj;
  if (s->ring) st_trace_destroy(s->ring);
  if (s->drain_lock) enif_mutex_destroy(s->drain_lock);
  if (s->only) enif_free(s->only);
}

/* Tells the controller that the session stopped and why. `env` is the
 * calling process's (or callback's) environment. */
static void announce_stop(ErlNifEnv *env, session_t *s, st_trace_state_t why) {
  ErlNifEnv *msg_env = enif_alloc_env();
  if (msg_env == NULL) return;
  ERL_NIF_TERM msg = enif_make_tuple3(
      msg_env, enif_make_atom(msg_env, "supertester_trace_stopped"),
      enif_make_resource(msg_env, s), state_atom(msg_env, why));
  enif_send(env, &s->controller, msg_env, msg);
  enif_free_env(msg_env);
}

static void session_down(ErlNifEnv *env, void *obj, ErlNifPid *pid,
                         ErlNifMonitor *mon) {
  (void)pid;
  (void)mon;
  session_t *s = obj;
  if (st_trace_stop(s->ring, ST_TRACE_STOP_OWNER_DOWN))
    announce_stop(env, s, ST_TRACE_STOP_OWNER_DOWN);
}

bool st_nif_trace_open(ErlNifEnv *env, st_nif_priv_t *priv,
                       ErlNifResourceFlags flags) {
  ErlNifResourceTypeInit init = {.dtor = session_dtor, .down = session_down};
  priv->session_type = enif_open_resource_type_x(env, "supertester_trace_session",
                                                 &init, flags, NULL);
  return priv->session_type != NULL;
}

static bool get_session(ErlNifEnv *env, ERL_NIF_TERM term, session_t **out) {
  return enif_get_resource(env, term, st_nif_priv(env)->session_type,
                           (void **)out);
}

/* A list of kind atoms as a mask; false for anything else. */
static bool get_kinds(ErlNifEnv *env, ERL_NIF_TERM list, uint32_t *out) {
  uint32_t mask = 0;
  ERL_NIF_TERM head, tail = list;
  while (enif_get_list_cell(env, tail, &head, &tail)) {
    uint32_t k = kind_of(env, head);
    if (k == 0) return false;
    mask |= 1u << k;
  }
  if (!enif_is_empty_list(env, tail)) return false;
  *out = mask;
  return true;
}

static bool get_u64_field(ErlNifEnv *env, ERL_NIF_TERM map, const char *key,
                          uint64_t max, uint64_t *out) {
  ERL_NIF_TERM v;
  ErlNifUInt64 u;
  if (!enif_get_map_value(env, map, enif_make_atom(env, key), &v)) return false;
  if (!enif_get_uint64(env, v, &u) || u > max) return false;
  *out = u;
  return true;
}

/* trace_session_new(Owner, Controller, Config) -> Session
 * Config is a map with every key present (supertester_trace fills the
 * defaults): kinds, notify_kinds, notify (pid | undefined), only
 * ([pid()], [] for all), max_events, max_rate, max_payload, capacity. */
ERL_NIF_TERM st_nif_trace_session_new(ErlNifEnv *env, int argc,
                                      const ERL_NIF_TERM argv[]) {
  (void)argc;
  ErlNifPid owner, controller, notify;
  if (!enif_get_local_pid(env, argv[0], &owner)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_local_pid(env, argv[1], &controller))
    return st_nif_badarg(env, argv[1]);
  ERL_NIF_TERM cfg = argv[2], v;
  if (!enif_is_map(env, cfg)) return st_nif_badarg(env, cfg);

  uint32_t kinds, notify_kinds;
  if (!enif_get_map_value(env, cfg, enif_make_atom(env, "kinds"), &v) ||
      !get_kinds(env, v, &kinds) || kinds == 0)
    return st_nif_badarg(env, cfg);
  if (!enif_get_map_value(env, cfg, enif_make_atom(env, "notify_kinds"), &v) ||
      !get_kinds(env, v, &notify_kinds))
    return st_nif_badarg(env, cfg);
  int has_notify = 0;
  if (!enif_get_map_value(env, cfg, enif_make_atom(env, "notify"), &v))
    return st_nif_badarg(env, cfg);
  if (enif_get_local_pid(env, v, &notify)) has_notify = 1;
  else if (v != ST_ATOM(env, undefined)) return st_nif_badarg(env, v);
  if (notify_kinds != 0 && !has_notify) return st_nif_badarg(env, cfg);

  ERL_NIF_TERM only_list;
  unsigned only_len;
  if (!enif_get_map_value(env, cfg, enif_make_atom(env, "only"), &only_list) ||
      !enif_get_list_length(env, only_list, &only_len) || only_len > 1000000)
    return st_nif_badarg(env, cfg);

  st_trace_limits_t limits;
  uint64_t max_payload, capacity;
  if (!get_u64_field(env, cfg, "max_events", UINT64_MAX, &limits.max_events) ||
      !get_u64_field(env, cfg, "max_rate", UINT64_MAX, &limits.max_rate) ||
      !get_u64_field(env, cfg, "max_payload", UINT32_MAX, &max_payload) ||
      !get_u64_field(env, cfg, "capacity", ST_TRACE_MAX_CAPACITY, &capacity) ||
      capacity == 0)
    return st_nif_badarg(env, cfg);
  limits.max_payload = (uint32_t)max_payload;
  limits.capacity = (uint32_t)capacity;

  session_t *s = enif_alloc_resource(st_nif_priv(env)->session_type, sizeof *s);
  if (s == NULL) return st_nif_error(env, ST_ENOMEM);
  memset(s, 0, sizeof *s);
  s->kinds = kinds;
  s->max_payload = limits.max_payload;
  s->notify_kinds = notify_kinds & kinds;
  s->controller = controller;
  s->notify = notify;
  s->has_notify = has_notify;
  ERL_NIF_TERM result;
  int rc = st_trace_create(&limits, &s->ring);
  if (rc != ST_OK) goto fail;
  s->drain_lock = enif_mutex_create("supertester_trace_drain");
  if (s->drain_lock == NULL) { rc = ST_ENOMEM; goto fail; }
  if (only_len > 0) {
    s->only = enif_alloc(only_len * sizeof *s->only);
    if (s->only == NULL) { rc = ST_ENOMEM; goto fail; }
    ERL_NIF_TERM head, tail = only_list;
    while (enif_get_list_cell(env, tail, &head, &tail)) {
      ErlNifPid p;
      if (!enif_get_local_pid(env, head, &p)) {
        enif_release_resource(s);
        return st_nif_badarg(env, head);
      }
      s->only[s->n_only++] = p.pid; /* local pids are immediates */
    }
  }
  if (enif_monitor_process(env, s, &owner, &s->owner_mon) == 0)
    s->monitoring_owner = 1;
  else
    st_trace_stop(s->ring, ST_TRACE_STOP_OWNER_DOWN); /* owner already dead */
  result = enif_make_resource(env, s);
  enif_release_resource(s);
  return result;
fail:
  enif_release_resource(s);
  return st_nif_error(env, rc);
}

static bool is_machinery(const session_t *s, ERL_NIF_TERM tracee) {
  return tracee == s->controller.pid || (s->has_notify && tracee == s->notify.pid);
}

static bool wanted_tracee(const session_t *s, ERL_NIF_TERM tracee) {
  if (s->n_only == 0) return true;
  for (size_t i = 0; i < s->n_only; i++)
    if (s->only[i] == tracee) return true;
  return false;
}

/* enabled(TraceTag, Session, Tracee) -> trace | discard | remove
 * Called by the VM before every event: cheap, no side effect. */
ERL_NIF_TERM st_nif_trace_enabled(ErlNifEnv *env, int argc,
                                  const ERL_NIF_TERM argv[]) {
  (void)argc;
  const st_nif_atoms_t *a = &st_nif_priv(env)->atom;
  session_t *s;
  if (!get_session(env, argv[1], &s)) return a->remove;
  if (st_trace_state(s->ring) != ST_TRACE_RUNNING || is_machinery(s, argv[2]))
    return a->remove;
  if (argv[0] == a->trace_status) return a->trace;
  uint32_t k = kind_of(env, argv[0]);
  if (k == 0 || !(s->kinds & (1u << k)) || !wanted_tracee(s, argv[2]))
    return a->discard;
  return a->trace;
}

/* Payloads are stored in one of two forms, told apart by their first byte:
 *   131 (the external term format's version byte): enif_term_to_binary's
 *       encoding, for any term;
 *   'I': an immediate term (an atom, a small integer, a local pid, []) or a
 *       flat tuple of up to 4 of them, as the raw term words.
 * Immediates mean the same in every environment and are never freed (OTP
 * does not collect atoms), so their words can be stored and rebuilt as is.
 * Most small messages ({msg, N}, {'EXIT', Pid, killed}) take the second
 * form, which spares the traced process an allocation and an encoding. */
#define RAW_TAG 'I'
#define RAW_SINGLE 0xFF
#define RAW_MAX_ARITY 4
#define SMALL_LIMIT (INT64_C(1) << 59) /* small integers on 64-bit VMs */

static bool is_immediate(ErlNifEnv *env, ERL_NIF_TERM t) {
  ErlNifSInt64 i;
  ErlNifPid p;
  if (enif_is_atom(env, t) || enif_is_empty_list(env, t)) return true;
  if (enif_get_int64(env, t, &i)) return i > -SMALL_LIMIT && i < SMALL_LIMIT;
  return enif_get_local_pid(env, t, &p);
}

/* Writes the raw form of `t` to buf; returns its length, or 0 when `t` has
 * no raw form. */
static uint32_t encode_raw(ErlNifEnv *env, ERL_NIF_TERM t,
                           uint8_t buf[2 + RAW_MAX_ARITY * sizeof(ERL_NIF_TERM)]) {
  const ERL_NIF_TERM *elems;
  int arity;
  buf[0] = RAW_TAG;
  if (is_immediate(env, t)) {
    buf[1] = RAW_SINGLE;
    memcpy(buf + 2, &t, sizeof t);
    return 2 + sizeof t;
  }
  if (!enif_get_tuple(env, t, &arity, &elems) || arity < 1 || arity > RAW_MAX_ARITY)
    return 0;
  for (int i = 0; i < arity; i++)
    if (!is_immediate(env, elems[i])) return 0;
  buf[1] = (uint8_t)arity;
  memcpy(buf + 2, elems, (size_t)arity * sizeof *elems);
  return 2 + (uint32_t)arity * sizeof *elems;
}

/* Rebuilds a stored payload; false for bytes that are neither form. */
static bool decode_payload(ErlNifEnv *env, const uint8_t *data, uint32_t len,
                           ERL_NIF_TERM *out) {
  if (len >= 2 && data[0] == RAW_TAG) {
    ERL_NIF_TERM words[RAW_MAX_ARITY];
    size_t n = data[1] == RAW_SINGLE ? 1 : data[1];
    if (n < 1 || n > RAW_MAX_ARITY || len != 2 + n * sizeof words[0]) return false;
    memcpy(words, data + 2, n * sizeof words[0]);
    *out = data[1] == RAW_SINGLE ? words[0] : enif_make_tuple_from_array(env, words, (unsigned)n);
    return true;
  }
  return enif_binary_to_term(env, data, len, out, 0) != 0;
}

static bool has_extra(uint32_t k) { return (KINDS_WITH_EXTRA & (1u << k)) != 0; }

/* The `extra` of trace/5's Opts, or undefined. */
static ERL_NIF_TERM extra_of(ErlNifEnv *env, ERL_NIF_TERM opts) {
  ERL_NIF_TERM extra;
  if (!enif_is_map(env, opts) ||
      !enif_get_map_value(env, opts, ST_ATOM(env, extra), &extra))
    return ST_ATOM(env, undefined);
  return extra;
}

static ERL_NIF_TERM event_term(ErlNifEnv *env, uint64_t seq, int64_t time,
                               ERL_NIF_TERM tracee, uint32_t k,
                               ERL_NIF_TERM term, ERL_NIF_TERM extra) {
  return enif_make_tuple6(env, enif_make_uint64(env, seq),
                          enif_make_int64(env, time), tracee, tag_of(env, k),
                          term, extra);
}

static uint32_t clamp_u32(size_t n) {
  return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* trace(TraceTag, Session, Tracee, TraceTerm, Opts) -> ok */
ERL_NIF_TERM st_nif_trace_trace(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[]) {
  (void)argc;
  ERL_NIF_TERM ok = ST_ATOM(env, ok);
  session_t *s;
  ErlNifPid tracee;
  if (!get_session(env, argv[1], &s)) return ok;
  uint32_t k = kind_of(env, argv[0]);
  if (k == 0 || !(s->kinds & (1u << k))) return ok;
  /* Ports and remote processes are not traced by sessions. */
  if (!enif_get_local_pid(env, argv[2], &tracee)) return ok;

  int64_t now = (int64_t)enif_monotonic_time(ERL_NIF_NSEC);
  /* The stored form of an event: the term, with `extra` for the kinds that
   * have one. Encoded once here; decoded when drained. */
  ERL_NIF_TERM extra = ST_ATOM(env, undefined), payload = argv[3];
  if (has_extra(k)) {
    extra = extra_of(env, argv[4]);
    payload = enif_make_tuple2(env, argv[3], extra);
  }
  ErlNifBinary bin, big;
  uint8_t raw[2 + RAW_MAX_ARITY * sizeof(ERL_NIF_TERM)];
  const uint8_t *bytes = NULL;
  int encoded = 0;
  uint32_t offered;
  if ((offered = encode_raw(env, payload, raw)) != 0 && offered <= s->max_payload) {
    bytes = raw; /* else the encoded size is the one to report */
  } else if ((k == K_RECEIVE || k == K_SEND) && enif_inspect_binary(env, argv[3], &big) &&
             big.size > s->max_payload) {
    /* A binary message over the limit is never copied: the ring records
     * its size and the truncation. */
    offered = clamp_u32(big.size);
  } else if (enif_term_to_binary(env, payload, &bin)) {
    encoded = 1;
    bytes = bin.data;
    offered = clamp_u32(bin.size);
  } else {
    return ok;
  }
  int tripped = 0;
  st_trace_push_t pushed = st_trace_push(s->ring, now, (uint64_t)tracee.pid, k,
                                         bytes, offered,
                                         &tripped);
  if (encoded) enif_release_binary(&bin);
  if (pushed == ST_TRACE_STORED && s->has_notify && (s->notify_kinds & (1u << k))) {
    ERL_NIF_TERM msg = enif_make_tuple3(
        env, ST_ATOM(env, supertester_trace_event),
        enif_make_resource(env, s),
        event_term(env, 0, now, argv[2], k, argv[3], extra));
    enif_send(env, &s->notify, NULL, msg);
  }
  if (tripped) announce_stop(env, s, st_trace_state(s->ring));
  return ok;
}

typedef struct drain_ctx_s {
  ErlNifEnv *env;
  ERL_NIF_TERM list; /* built newest first, reversed at the end */
} drain_ctx_t;

static int drain_one(const st_trace_event_t *ev, void *ctx_) {
  drain_ctx_t *ctx = ctx_;
  ErlNifEnv *env = ctx->env;
  ERL_NIF_TERM term, extra = ST_ATOM(env, undefined);
  const ERL_NIF_TERM *t;
  int arity;
  if (ev->flags & ST_TRACE_TRUNCATED) {
    term = enif_make_tuple2(env, ST_ATOM(env, truncated_),
                            enif_make_uint(env, ev->offered_len));
  } else if (!decode_payload(env, ev->payload, ev->payload_len, &term)) {
    term = ST_ATOM(env, undefined);
  } else if (has_extra(ev->kind) && enif_get_tuple(env, term, &arity, &t) &&
             arity == 2) {
    term = t[0]; /* stored as {Term, Extra} */
    extra = t[1];
  }
  ERL_NIF_TERM tracee = (ERL_NIF_TERM)ev->tracee;
  ctx->list = enif_make_list_cell(
      env, event_term(env, ev->seq, ev->time, tracee, ev->kind, term, extra),
      ctx->list);
  return 0;
}

static ERL_NIF_TERM drain_now(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  (void)argc;
  session_t *s;
  unsigned max;
  if (!get_session(env, argv[0], &s)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_uint(env, argv[1], &max)) return st_nif_badarg(env, argv[1]);
  drain_ctx_t ctx = {env, enif_make_list(env, 0)};
  enif_mutex_lock(s->drain_lock);
  st_trace_drain(s->ring, max, drain_one, &ctx);
  enif_mutex_unlock(s->drain_lock);
  ERL_NIF_TERM ordered;
  enif_make_reverse_list(env, ctx.list, &ordered);
  return ordered;
}

/* trace_session_drain(Session, Max) -> [{Seq, Time, Pid, Tag, Term, Extra}]
 * oldest first; Time is erlang:monotonic_time(nanosecond). */
ERL_NIF_TERM st_nif_trace_session_drain(ErlNifEnv *env, int argc,
                                        const ERL_NIF_TERM argv[]) {
  session_t *s;
  unsigned max;
  if (!get_session(env, argv[0], &s)) return st_nif_badarg(env, argv[0]);
  if (!enif_get_uint(env, argv[1], &max) || max == 0 || max > 1000000)
    return st_nif_badarg(env, argv[1]);
  st_trace_stats_t st;
  st_trace_stats(s->ring, &st);
  size_t work = st.pending < max ? (size_t)st.pending : max;
  return st_nif_run_sized(env, "trace_session_drain", work,
                          ST_NIF_DIRTY_LIST_ELEMENTS / 4, drain_now, argc, argv);
}

/* trace_session_stop(Session) -> ok | already_stopped */
ERL_NIF_TERM st_nif_trace_session_stop(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  session_t *s;
  if (!get_session(env, argv[0], &s)) return st_nif_badarg(env, argv[0]);
  int stopped = st_trace_stop(s->ring, ST_TRACE_STOP_REQUESTED);
  if (s->monitoring_owner) {
    enif_demonitor_process(env, s, &s->owner_mon);
    s->monitoring_owner = 0;
  }
  return stopped ? ST_ATOM(env, ok) : enif_make_atom(env, "already_stopped");
}

/* trace_session_info(Session) -> #{state, offered, stored, dropped,
 *                                  truncated, drained, pending, capacity, memory} */
ERL_NIF_TERM st_nif_trace_session_info(ErlNifEnv *env, int argc,
                                       const ERL_NIF_TERM argv[]) {
  (void)argc;
  session_t *s;
  if (!get_session(env, argv[0], &s)) return st_nif_badarg(env, argv[0]);
  st_trace_stats_t st;
  st_trace_stats(s->ring, &st);
  ERL_NIF_TERM keys[] = {
      enif_make_atom(env, "state"),     enif_make_atom(env, "offered"),
      enif_make_atom(env, "stored"),    ST_ATOM(env, dropped),
      enif_make_atom(env, "truncated"), enif_make_atom(env, "drained"),
      enif_make_atom(env, "pending"),   ST_ATOM(env, capacity),
      ST_ATOM(env, memory)};
  ERL_NIF_TERM values[] = {
      state_atom(env, st.state),          enif_make_uint64(env, st.offered),
      enif_make_uint64(env, st.stored),   enif_make_uint64(env, st.dropped),
      enif_make_uint64(env, st.truncated), enif_make_uint64(env, st.drained),
      enif_make_uint64(env, st.pending),  enif_make_uint(env, st.capacity),
      enif_make_uint64(env, (ErlNifUInt64)st.memory)};
  return st_nif_make_map(env, keys, values, sizeof keys / sizeof keys[0]);
}
