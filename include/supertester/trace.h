/* The event store of one trace session: a bounded ring buffer written by the
 * traced side and read by one drainer, with the session's limits enforced
 * where the events are produced.
 *
 * Producers are the VM's scheduler threads calling the tracer (several at a
 * time, one per traced process being scheduled). A push never blocks and
 * never allocates unless the payload is larger than the inline slot space:
 * when the ring is full the event is dropped and counted. Limits:
 *   - max_events: the session stops after accepting this many events (an
 *     event dropped because the ring was full counts as accepted);
 *   - max_rate: the session stops when more than this many events arrive
 *     within one second (a fixed one-second window);
 *   - max_payload: payload bytes kept per event; a longer payload is not
 *     stored, the event keeps its original length and the TRUNCATED flag.
 * A stopped session accepts nothing more; the first stop reason is kept.
 *
 * The ring knows nothing of the BEAM: a tracee is an opaque 64-bit value, an
 * event kind a small caller-chosen code, a payload a byte string (the NIF
 * stores the external term format). Memory is fixed at creation, plus at
 * most capacity * max_payload bytes of out-of-line payloads.
 *
 * Thread safety: any number of threads may call st_trace_push, _stop,
 * _state and _stats concurrently; st_trace_drain must be called by one
 * thread at a time (the NIF holds a mutex). */
#ifndef SUPERTESTER_TRACE_H
#define SUPERTESTER_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_TRACE_MAX_CAPACITY (UINT32_C(1) << 24)
/* Payload bytes stored inside a slot; longer payloads (up to max_payload)
 * are copied to the heap and freed when drained or destroyed. */
#define ST_TRACE_INLINE_PAYLOAD 40

typedef struct st_trace_limits_s {
  uint64_t max_events;  /* 0: unlimited */
  uint64_t max_rate;    /* events per second; 0: unlimited */
  uint32_t max_payload; /* bytes; 0 keeps no payload at all */
  uint32_t capacity;    /* events held before drops; rounded up to a power
                           of two; 1 .. ST_TRACE_MAX_CAPACITY */
} st_trace_limits_t;

/* Why a session no longer records. RUNNING is 0 so a state reads as a
 * boolean "stopped". */
typedef enum st_trace_state_e {
  ST_TRACE_RUNNING = 0,
  ST_TRACE_STOP_MAX_EVENTS = 1,
  ST_TRACE_STOP_MAX_RATE = 2,
  ST_TRACE_STOP_OWNER_DOWN = 3, /* the process that owned the session died */
  ST_TRACE_STOP_REQUESTED = 4   /* stopped by its owner */
} st_trace_state_t;

/* Results of st_trace_push. */
typedef enum st_trace_push_e {
  ST_TRACE_STORED = 0,  /* in the ring */
  ST_TRACE_DROPPED = 1, /* ring full (or out-of-line copy failed): counted */
  ST_TRACE_STOPPED = 2  /* the session had stopped: nothing recorded */
} st_trace_push_t;

#define ST_TRACE_TRUNCATED 1u /* event flag: payload longer than max_payload */

typedef struct st_trace_event_s {
  uint64_t seq;         /* order of arrival among stored events, from 0 */
  int64_t time;         /* caller's clock (the NIF uses monotonic ns) */
  uint64_t tracee;      /* opaque */
  uint32_t kind;        /* caller's code */
  uint32_t flags;       /* ST_TRACE_TRUNCATED */
  uint32_t payload_len; /* bytes at payload (0 when truncated) */
  uint32_t offered_len; /* bytes the producer offered */
  const uint8_t *payload; /* valid only during the drain callback */
} st_trace_event_t;

typedef struct st_trace_stats_s {
  uint64_t offered;   /* push calls, whatever their outcome */
  uint64_t stored;    /* events written to the ring */
  uint64_t dropped;   /* events lost because the ring was full */
  uint64_t truncated; /* stored events whose payload was cut */
  uint64_t drained;   /* events handed to a drain callback */
  uint64_t pending;   /* stored and not yet drained */
  uint32_t capacity;  /* after rounding */
  st_trace_state_t state;
  size_t memory;      /* bytes held now, ring and out-of-line payloads */
} st_trace_stats_t;

typedef struct st_trace_ring_s st_trace_ring_t;

/* ST_EINVAL for a NULL argument or a capacity outside its range. */
int st_trace_create(const st_trace_limits_t *limits, st_trace_ring_t **out);
/* Frees everything, including undrained out-of-line payloads. No producer
 * may still be pushing. */
void st_trace_destroy(st_trace_ring_t *r);

/* Records one event. `tripped` (may be NULL) is set to 1 when this very
 * call stopped the session (it reached max_events or exceeded max_rate), so
 * exactly one producer learns of the stop and can announce it; else 0.
 * The event that reaches max_events is stored; one that exceeds max_rate is
 * not. */
st_trace_push_t st_trace_push(st_trace_ring_t *r, int64_t now_ns,
                              uint64_t tracee, uint32_t kind,
                              const void *payload, uint32_t len, int *tripped);

/* Stops the session with `reason` (not RUNNING). Returns 1 when this call
 * stopped it, 0 when it was already stopped (its first reason stays). */
int st_trace_stop(st_trace_ring_t *r, st_trace_state_t reason);

st_trace_state_t st_trace_state(const st_trace_ring_t *r);

/* Hands up to `max` stored events to `fn`, oldest first, and frees their
 * slots. Returns how many were handed over. Stops early when fn returns
 * non-zero (that event counts as handed over). An event whose producer has
 * reserved but not yet finished writing its slot ends the drain: it and
 * everything after it come with a later drain. */
size_t st_trace_drain(st_trace_ring_t *r, size_t max,
                      int (*fn)(const st_trace_event_t *ev, void *ctx),
                      void *ctx);

void st_trace_stats(const st_trace_ring_t *r, st_trace_stats_t *out);

/* A stable short name for a state: "running", "max_events", "max_rate",
 * "owner_down", "requested". */
const char *st_trace_state_name(st_trace_state_t s);

#ifdef __cplusplus
}
#endif

#endif
