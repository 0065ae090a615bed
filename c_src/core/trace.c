/* Trace session store; see include/supertester/trace.h.
 *
 * The ring is a bounded multi-producer, single-consumer queue of fixed-size
 * slots in the style of Vyukov's bounded queue: every slot carries a sequence
 * number that says whose turn it is, FREE(pos) when position pos may be
 * written there and FULL(pos) once it holds that event. Slot i starts at
 * FREE(i). A producer claims position pos, only while its slot reads
 * FREE(pos), with a CAS on the enqueue counter; once the slot is written it
 * publishes FULL(pos). The consumer takes the slot at head when it reads
 * FULL(head) and hands it to the next lap with FREE(head + capacity). A slot
 * still below FREE(pos) holds last lap's event: the ring is full, and the
 * producer drops instead of waiting. (The classic pos / pos + 1 numbering
 * cannot tell FULL(pos) from FREE(pos + 1) in a ring of one slot, hence the
 * doubling.)
 *
 * Positions only advance on a successful claim, so the enqueue counter is
 * also the number of stored events and the position is the event's `seq`;
 * the dequeue counter is the number drained. Offered is derived from those
 * plus the two refusal counters, which keeps the common path to one CAS and
 * no statistics writes. */
#include "supertester/trace.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64
#define FREE(pos) ((uint64_t)(pos) << 1)
#define FULL(pos) (((uint64_t)(pos) << 1) | 1)
#define NS_PER_S INT64_C(1000000000)
/* A slot keeps its sequence number minus its first one, FREE(index): a ring
 * straight from calloc is then in its initial state, and a large ring costs
 * nothing until used (the kernel hands zeroed pages over lazily; writing a
 * start value into every slot made a 65536-slot ring cost milliseconds). */
#define SEQ_BIAS(r, pos) FREE((pos) & (r)->mask)

/* The rate window's word: its start time with the low two bits replaced by
 * the window's generation modulo 3, which picks its counter (so a window
 * may close up to 3 ns early). The first event finds a window opened at
 * INT64_MIN and long closed. */
#define WINDOW_TAG UINT64_C(3)
#define WINDOW_INITIAL ((int64_t)((uint64_t)INT64_MIN | 2))

typedef struct slot_s {
  _Atomic uint64_t seq;
  int64_t time;
  uint64_t tracee;
  uint32_t kind;
  uint32_t flags;
  uint32_t payload_len; /* > ST_TRACE_INLINE_PAYLOAD: bytes are at heap */
  uint32_t offered_len;
  union {
    uint8_t bytes[ST_TRACE_INLINE_PAYLOAD];
    uint8_t *heap;
  } payload;
} slot_t;

struct st_trace_ring_s {
  /* Written at creation (state: once, at the stop), read by every push. */
  slot_t *slots;
  uint64_t mask;
  uint64_t max_events;
  uint64_t max_rate;
  uint32_t capacity;
  uint32_t max_payload;
  size_t ring_bytes;
  _Atomic int state;
  _Atomic int64_t window; /* max_rate: start and generation, see above */

  /* Producers' lines, apart from each other where every push may write. */
  _Alignas(CACHE_LINE) _Atomic uint64_t tail;     /* next position to claim */
  _Alignas(CACHE_LINE) _Atomic uint64_t admitted; /* max_events tickets */
  _Alignas(CACHE_LINE) _Atomic uint64_t window_count[3];
  /* Written only on the rarer paths. */
  _Alignas(CACHE_LINE) _Atomic uint64_t dropped;
  _Atomic uint64_t refused; /* calls that found the session stopped */
  _Atomic uint64_t truncated;
  _Atomic size_t heap_bytes; /* live out-of-line payloads */

  /* The consumer's line: the next position to drain, read by stats. */
  _Alignas(CACHE_LINE) _Atomic uint64_t head;
};

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

int st_trace_create(const st_trace_limits_t *limits, st_trace_ring_t **out) {
  if (limits == NULL || out == NULL || limits->capacity == 0 ||
      limits->capacity > ST_TRACE_MAX_CAPACITY)
    return ST_EINVAL;
  uint32_t cap = 1;
  while (cap < limits->capacity) cap <<= 1;

  /* aligned_alloc wants a size that is a multiple of the alignment. */
  size_t ring_size = round_up(sizeof(st_trace_ring_t), CACHE_LINE);
  size_t slots_size = round_up((size_t)cap * sizeof(slot_t), CACHE_LINE);
  st_trace_ring_t *r = aligned_alloc(CACHE_LINE, ring_size);
  if (r == NULL) return ST_ENOMEM;
  slot_t *slots = calloc(cap, sizeof(slot_t)); /* every seq at its start */
  if (slots == NULL) {
    free(r);
    return ST_ENOMEM;
  }

  r->slots = slots;
  r->mask = cap - 1;
  r->max_events = limits->max_events;
  r->max_rate = limits->max_rate;
  r->capacity = cap;
  r->max_payload = limits->max_payload;
  r->ring_bytes = ring_size + slots_size;
  atomic_init(&r->state, ST_TRACE_RUNNING);
  atomic_init(&r->tail, 0);
  atomic_init(&r->admitted, 0);
  atomic_init(&r->window, WINDOW_INITIAL);
  for (int i = 0; i < 3; i++) atomic_init(&r->window_count[i], 0);
  atomic_init(&r->dropped, 0);
  atomic_init(&r->refused, 0);
  atomic_init(&r->truncated, 0);
  atomic_init(&r->heap_bytes, 0);
  atomic_init(&r->head, 0);
  *out = r;
  return ST_OK;
}

void st_trace_destroy(st_trace_ring_t *r) {
  if (r == NULL) return;
  /* No producer is left, so every claimed slot has been published. */
  uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  for (uint64_t pos = head; pos != tail; pos++) {
    slot_t *s = &r->slots[pos & r->mask];
    if (s->payload_len > ST_TRACE_INLINE_PAYLOAD) free(s->payload.heap);
  }
  free(r->slots);
  free(r);
}

int st_trace_stop(st_trace_ring_t *r, st_trace_state_t reason) {
  if (r == NULL || reason <= ST_TRACE_RUNNING ||
      reason > ST_TRACE_STOP_REQUESTED)
    return 0;
  int running = ST_TRACE_RUNNING;
  return atomic_compare_exchange_strong_explicit(
      &r->state, &running, (int)reason, memory_order_acq_rel,
      memory_order_acquire);
}

st_trace_state_t st_trace_state(const st_trace_ring_t *r) {
  return (st_trace_state_t)atomic_load_explicit(&((st_trace_ring_t *)r)->state,
                                                memory_order_acquire);
}

static st_trace_push_t refuse(st_trace_ring_t *r) {
  atomic_fetch_add_explicit(&r->refused, 1, memory_order_relaxed);
  return ST_TRACE_STOPPED;
}

static st_trace_push_t drop(st_trace_ring_t *r) {
  atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
  return ST_TRACE_DROPPED;
}

/* Counts an arrival in the current one-second window, which opens at the
 * first event after the previous one closed; false when the window now holds
 * more than max_rate events.
 *
 * One thread opens the next window with a CAS on the window word; whoever
 * loses the race counts in the window the winner opened. Generations rotate
 * over three counters, so the one a new window counts in was zeroed when
 * the window before it opened (by then idle for a whole window) and no
 * reset ever wipes a count of the open window: every event is counted, none
 * waits. Only a thread stalled for a whole window between opening one and
 * zeroing could clear a live count. Clocks read on different threads may
 * disagree slightly; a time before the start counts in the open window. */
static bool rate_admits(st_trace_ring_t *r, int64_t now) {
  int64_t w = atomic_load_explicit(&r->window, memory_order_acquire);
  int64_t start = (int64_t)((uint64_t)w & ~WINDOW_TAG);
  if (now > start && (uint64_t)now - (uint64_t)start >= (uint64_t)NS_PER_S) {
    unsigned next = (unsigned)(((uint64_t)w & WINDOW_TAG) + 1) % 3;
    int64_t opened = (int64_t)(((uint64_t)now & ~WINDOW_TAG) | next);
    if (atomic_compare_exchange_strong_explicit(&r->window, &w, opened,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
      atomic_store_explicit(&r->window_count[(next + 1) % 3], 0,
                            memory_order_relaxed);
      w = opened;
    }
    /* Else w is the window another thread just opened: count there. */
  }
  _Atomic uint64_t *count = &r->window_count[(uint64_t)w & WINDOW_TAG];
  uint64_t n = atomic_fetch_add_explicit(count, 1, memory_order_relaxed) + 1;
  return n <= r->max_rate;
}

/* Claims the next free position; false when the ring is full. */
static bool claim(st_trace_ring_t *r, uint64_t *pos_out) {
  uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
  for (;;) {
    slot_t *s = &r->slots[pos & r->mask];
    /* Acquire: the consumer's reads of this slot, and its free of the
     * payload, happen before we overwrite it. */
    uint64_t seq =
        atomic_load_explicit(&s->seq, memory_order_acquire) + SEQ_BIAS(r, pos);
    int64_t diff = (int64_t)(seq - FREE(pos));
    if (diff == 0) {
      if (atomic_compare_exchange_weak_explicit(&r->tail, &pos, pos + 1,
                                                memory_order_relaxed,
                                                memory_order_relaxed)) {
        *pos_out = pos;
        return true;
      }
      /* pos now holds the current tail: try there. */
    } else if (diff < 0) {
      return false; /* last lap's event is still there */
    } else {
      /* Another producer claimed pos after we read the tail. */
      pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
    }
  }
}

/* Whether the ring looks full right now; only a hint (used to spare a
 * malloc that the claim would have to free). */
static bool looks_full(st_trace_ring_t *r) {
  uint64_t pos = atomic_load_explicit(&r->tail, memory_order_relaxed);
  uint64_t seq =
      atomic_load_explicit(&r->slots[pos & r->mask].seq, memory_order_relaxed) +
      SEQ_BIAS(r, pos);
  return (int64_t)(seq - FREE(pos)) < 0;
}

static st_trace_push_t store(st_trace_ring_t *r, int64_t now, uint64_t tracee,
                             uint32_t kind, const void *payload, uint32_t len) {
  /* A payload we cannot keep (too long, or absent with a length) is stored
   * as its length alone. */
  bool cut = len > r->max_payload || (payload == NULL && len > 0);
  uint32_t keep = cut ? 0 : len;
  uint8_t *heap = NULL;
  if (keep > ST_TRACE_INLINE_PAYLOAD) {
    if (looks_full(r)) return drop(r);
    /* Copied before claiming, so a claimed slot is published within a few
     * stores and never waits on the allocator. */
    heap = malloc(keep);
    if (heap == NULL) return drop(r);
    memcpy(heap, payload, keep);
  }

  uint64_t pos;
  if (!claim(r, &pos)) {
    free(heap);
    return drop(r);
  }
  slot_t *s = &r->slots[pos & r->mask];
  s->time = now;
  s->tracee = tracee;
  s->kind = kind;
  s->flags = cut ? ST_TRACE_TRUNCATED : 0;
  s->payload_len = keep;
  s->offered_len = len;
  if (heap != NULL) {
    s->payload.heap = heap;
    atomic_fetch_add_explicit(&r->heap_bytes, keep, memory_order_relaxed);
  } else if (keep > 0) {
    memcpy(s->payload.bytes, payload, keep);
  }
  if (cut) atomic_fetch_add_explicit(&r->truncated, 1, memory_order_relaxed);
  atomic_store_explicit(&s->seq, FULL(pos) - SEQ_BIAS(r, pos),
                        memory_order_release);
  return ST_TRACE_STORED;
}

st_trace_push_t st_trace_push(st_trace_ring_t *r, int64_t now_ns,
                              uint64_t tracee, uint32_t kind,
                              const void *payload, uint32_t len, int *tripped) {
  if (tripped != NULL) *tripped = 0;
  if (r == NULL) return ST_TRACE_STOPPED;
  if (atomic_load_explicit(&r->state, memory_order_relaxed) != ST_TRACE_RUNNING)
    return refuse(r);

  if (r->max_rate != 0 && !rate_admits(r, now_ns)) {
    int won = st_trace_stop(r, ST_TRACE_STOP_MAX_RATE);
    if (tripped != NULL) *tripped = won;
    return refuse(r);
  }

  /* max_events counts accepted events: each takes a ticket, and one the
   * ring then drops (full, or its payload copy failed) has used its ticket
   * all the same. So a session stores exactly max_events events when the
   * ring keeps up, fewer when it dropped some. The holder of the last
   * ticket stops the session; tickets past it are refused, and the session
   * is stopped by then or within that holder's next few instructions. */
  int last = 0;
  if (r->max_events != 0) {
    uint64_t ticket =
        atomic_fetch_add_explicit(&r->admitted, 1, memory_order_relaxed) + 1;
    if (ticket > r->max_events) return refuse(r);
    if (ticket == r->max_events)
      last = st_trace_stop(r, ST_TRACE_STOP_MAX_EVENTS);
  }

  st_trace_push_t res = store(r, now_ns, tracee, kind, payload, len);
  if (tripped != NULL) *tripped = last;
  return res;
}

size_t st_trace_drain(st_trace_ring_t *r, size_t max,
                      int (*fn)(const st_trace_event_t *ev, void *ctx),
                      void *ctx) {
  if (r == NULL || fn == NULL) return 0;
  uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
  size_t n = 0;
  while (n < max) {
    slot_t *s = &r->slots[head & r->mask];
    /* Acquire: pairs with the producer's publishing store. */
    if (atomic_load_explicit(&s->seq, memory_order_acquire) + SEQ_BIAS(r, head) !=
        FULL(head))
      break; /* empty, or claimed and not yet written */
    bool on_heap = s->payload_len > ST_TRACE_INLINE_PAYLOAD;
    st_trace_event_t ev = {
        .seq = head,
        .time = s->time,
        .tracee = s->tracee,
        .kind = s->kind,
        .flags = s->flags,
        .payload_len = s->payload_len,
        .offered_len = s->offered_len,
        /* Never NULL, so a callback may memcpy zero bytes from it. */
        .payload = on_heap ? s->payload.heap : s->payload.bytes,
    };
    int stop = fn(&ev, ctx);
    if (on_heap) {
      free(s->payload.heap);
      atomic_fetch_sub_explicit(&r->heap_bytes, s->payload_len,
                                memory_order_relaxed);
    }
    /* Release: everything above is done before a producer reuses the slot. */
    atomic_store_explicit(&s->seq, FREE(head + r->capacity) - SEQ_BIAS(r, head),
                          memory_order_release);
    head++;
    /* Release, for st_trace_stats: see there. */
    atomic_store_explicit(&r->head, head, memory_order_release);
    n++;
    if (stop != 0) break;
  }
  return n;
}

void st_trace_stats(const st_trace_ring_t *r, st_trace_stats_t *out) {
  if (r == NULL || out == NULL) return;
  st_trace_ring_t *m = (st_trace_ring_t *)r; /* atomic loads take non-const */
  /* Head first, with acquire: every claim the drainer had seen (through the
   * slots it took) is then visible, so the tail read next is at least the
   * head and pending never comes out negative. */
  uint64_t head = atomic_load_explicit(&m->head, memory_order_acquire);
  uint64_t tail = atomic_load_explicit(&m->tail, memory_order_relaxed);
  uint64_t dropped = atomic_load_explicit(&m->dropped, memory_order_relaxed);
  uint64_t refused = atomic_load_explicit(&m->refused, memory_order_relaxed);
  *out = (st_trace_stats_t){
      .offered = tail + dropped + refused,
      .stored = tail,
      .dropped = dropped,
      .truncated = atomic_load_explicit(&m->truncated, memory_order_relaxed),
      .drained = head,
      .pending = tail - head,
      .capacity = r->capacity,
      .state = (st_trace_state_t)atomic_load_explicit(&m->state,
                                                      memory_order_acquire),
      .memory = r->ring_bytes +
                atomic_load_explicit(&m->heap_bytes, memory_order_relaxed),
  };
}

const char *st_trace_state_name(st_trace_state_t s) {
  switch (s) {
    case ST_TRACE_RUNNING: return "running";
    case ST_TRACE_STOP_MAX_EVENTS: return "max_events";
    case ST_TRACE_STOP_MAX_RATE: return "max_rate";
    case ST_TRACE_STOP_OWNER_DOWN: return "owner_down";
    case ST_TRACE_STOP_REQUESTED: return "requested";
  }
  return "unknown";
}
