/* Trace suite: st_trace_* against the contract in supertester/trace.h.
 *
 * - ring: create and destroy, invalid limits (NULL arguments, capacity 0
 *   and above ST_TRACE_MAX_CAPACITY, out untouched), capacity rounded up to
 *   a power of two and holding exactly that many; every field of every
 *   event back in push order with seq from 0 (inline and out-of-line
 *   payloads, extreme tracee/kind/time values); payloads of exactly
 *   ST_TRACE_INLINE_PAYLOAD, one more, exactly max_payload and one more
 *   (TRUNCATED, payload_len 0, offered_len kept), max_payload 0, a NULL
 *   payload with a length; a full ring drops and counts without blocking
 *   and accepts again once drained; a ring of one slot; 10,000 events
 *   through a ring of 8 in random bursts and partial drains against a model
 *   queue.
 * - limits: max_events stores exactly N, the Nth push alone trips, later
 *   pushes are STOPPED, a dropped event uses its ticket; max_rate with the
 *   caller's clock trips on the event past the limit within one second (not
 *   stored), not when the events spread over windows; the window opens at
 *   the first event, not on a second boundary; negative and INT64_MIN times;
 *   both limits together; stop keeps the first reason and returns 1 once,
 *   refuses later pushes and keeps what was stored for the drain; state
 *   names.
 * - drain: early exit when fn returns non-zero (that event counts), max
 *   (0, 2, SIZE_MAX), an empty ring, a NULL callback; stats.memory back at
 *   the ring-only value after the out-of-line payloads are drained; destroy
 *   with undrained and wrapped out-of-line payloads (AddressSanitizer checks
 *   nothing leaks).
 * - concurrency: 4 producers x 200,000 events (payloads encode producer and
 *   counter; inline, out-of-line and truncated sizes) against a consumer
 *   draining at the same time: stored + dropped == offered, every event
 *   intact, seq consecutive, each producer's events in its order, drained
 *   == stored and equal to what each producer was told was stored; the same
 *   through a ring of one slot; with max_events (exactly N stored, exactly
 *   one tripped); with max_rate (exactly max_rate stored within one window,
 *   exactly one tripped); with a stop requested midway (a producer told
 *   STOPPED never stores again; stats read meanwhile are each consistent). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/trace.h"
#include "suites.h"
#include "test_util.h"

Suite *trace_suite(void);

/* ---------------------------------------------------------------- helpers */

#define NS_PER_S INT64_C(1000000000)
#define MAX_TEST_PAYLOAD 2048

static st_trace_ring_t *new_ring(st_trace_limits_t limits) {
  st_trace_ring_t *r = NULL;
  int rc = st_trace_create(&limits, &r);
  ck_assert_msg(rc == ST_OK && r != NULL,
                "st_trace_create(capacity %u, max_payload %u) = %d",
                limits.capacity, limits.max_payload, rc);
  return r;
}

static st_trace_stats_t stats_of(const st_trace_ring_t *r) {
  st_trace_stats_t st;
  memset(&st, 0xA5, sizeof st);
  st_trace_stats(r, &st);
  return st;
}

/* Test event i: its fields and payload bytes follow from i alone. */
static int64_t time_of(uint64_t i) { return 1000 + (int64_t)i * 10; }
static uint64_t tracee_of(uint64_t i) { return UINT64_C(0xABCD000000) + i; }
static uint32_t kind_of(uint64_t i) { return (uint32_t)(i % 7); }
static uint8_t byte_of(uint64_t i, uint32_t j) {
  return (uint8_t)(i * 31 + j * 7 + 1);
}

static void fill(uint8_t *buf, uint64_t i, uint32_t len) {
  for (uint32_t j = 0; j < len; j++) buf[j] = byte_of(i, j);
}

static st_trace_push_t push_event(st_trace_ring_t *r, uint64_t i, uint32_t len,
                                  int *tripped) {
  uint8_t buf[MAX_TEST_PAYLOAD];
  ck_assert_uint_le(len, MAX_TEST_PAYLOAD);
  fill(buf, i, len);
  return st_trace_push(r, time_of(i), tracee_of(i), kind_of(i), buf, len,
                       tripped);
}

static void push_stored(st_trace_ring_t *r, uint64_t i, uint32_t len) {
  int tripped = -1;
  st_trace_push_t res = push_event(r, i, len, &tripped);
  require_msg(res == ST_TRACE_STORED && tripped == 0,
              "push of event %llu (%u bytes) = %d, tripped %d, expected "
              "STORED, 0",
              (unsigned long long)i, len, (int)res, tripped);
}

/* What a drain callback saw: a copy of each event, payload included. */
typedef struct {
  st_trace_event_t ev; /* ev.payload cleared: it dies with the callback */
  uint8_t bytes[MAX_TEST_PAYLOAD];
  bool payload_non_null;
} seen_t;

typedef struct {
  seen_t *items;
  size_t n, cap;
  size_t stop_at; /* return non-zero on the stop_at-th call (0: never) */
  size_t calls;
} collector_t;

static collector_t collector(size_t cap) {
  collector_t c = {.items = calloc(cap, sizeof(seen_t)), .cap = cap};
  ck_assert_ptr_nonnull(c.items);
  return c;
}

static int collect(const st_trace_event_t *ev, void *ctx) {
  collector_t *c = ctx;
  c->calls++;
  require_msg(c->n < c->cap, "more than %zu events drained", c->cap);
  require_msg(ev->payload_len <= MAX_TEST_PAYLOAD, "payload_len %u",
              ev->payload_len);
  seen_t *s = &c->items[c->n++];
  s->ev = *ev;
  s->ev.payload = NULL;
  s->payload_non_null = ev->payload != NULL;
  if (ev->payload != NULL) memcpy(s->bytes, ev->payload, ev->payload_len);
  return c->stop_at != 0 && c->calls == c->stop_at;
}

static size_t drain_into(st_trace_ring_t *r, collector_t *c, size_t max) {
  return st_trace_drain(r, max, collect, c);
}

/* The seen event is test event i, stored at position seq, offered with len
 * bytes and kept whole (or cut, when the ring's max_payload is below len). */
static void assert_seen(const seen_t *s, uint64_t seq, uint64_t i, uint32_t len,
                        uint32_t max_payload) {
  bool cut = len > max_payload;
  uint32_t kept = cut ? 0 : len;
  const st_trace_event_t *e = &s->ev;
  require_msg(e->seq == seq && e->time == time_of(i) &&
                  e->tracee == tracee_of(i) && e->kind == kind_of(i) &&
                  e->flags == (cut ? ST_TRACE_TRUNCATED : 0u) &&
                  e->payload_len == kept && e->offered_len == len,
              "event (seq %llu, time %lld, tracee %#llx, kind %u, flags %u, "
              "payload_len %u, offered_len %u), expected event %llu (seq %llu, "
              "time %lld, tracee %#llx, kind %u, flags %u, payload_len %u, "
              "offered_len %u)",
              (unsigned long long)e->seq, (long long)e->time,
              (unsigned long long)e->tracee, e->kind, e->flags, e->payload_len,
              e->offered_len, (unsigned long long)i, (unsigned long long)seq,
              (long long)time_of(i), (unsigned long long)tracee_of(i),
              kind_of(i), cut ? ST_TRACE_TRUNCATED : 0u, kept, len);
  require_msg(s->payload_non_null, "event %llu: NULL payload pointer",
              (unsigned long long)i);
  for (uint32_t j = 0; j < kept; j++)
    require_msg(s->bytes[j] == byte_of(i, j),
                "event %llu: payload byte %u is %u, expected %u",
                (unsigned long long)i, j, s->bytes[j], byte_of(i, j));
}

/* ------------------------------------------------------------------- ring */

START_TEST(test_create_destroy) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 8, .max_payload = 64});
  st_trace_stats_t st = stats_of(r);
  ck_assert_msg(st.offered == 0 && st.stored == 0 && st.dropped == 0 &&
                    st.truncated == 0 && st.drained == 0 && st.pending == 0,
                "fresh ring: offered %llu stored %llu dropped %llu truncated "
                "%llu drained %llu pending %llu",
                (unsigned long long)st.offered, (unsigned long long)st.stored,
                (unsigned long long)st.dropped,
                (unsigned long long)st.truncated,
                (unsigned long long)st.drained, (unsigned long long)st.pending);
  ck_assert_uint_eq(st.capacity, 8);
  ck_assert_int_eq(st.state, ST_TRACE_RUNNING);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_RUNNING);
  /* At least the slots' inline payload space. */
  ck_assert_uint_ge(st.memory, 8 * ST_TRACE_INLINE_PAYLOAD);
  st_trace_destroy(r);
  st_trace_destroy(NULL);
}
END_TEST

START_TEST(test_invalid_limits) {
  static char dummy; /* a sentinel pointer that must stay untouched */
  st_trace_ring_t *const sentinel = (st_trace_ring_t *)(void *)&dummy;
  st_trace_ring_t *r = sentinel;
  st_trace_limits_t ok = {.capacity = 4};
  ck_assert_int_eq(st_trace_create(NULL, &r), ST_EINVAL);
  ck_assert_int_eq(st_trace_create(&ok, NULL), ST_EINVAL);
  const uint32_t bad[] = {0, ST_TRACE_MAX_CAPACITY + 1, UINT32_MAX};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    st_trace_limits_t l = {.capacity = bad[i], .max_payload = 10};
    int rc = st_trace_create(&l, &r);
    ck_assert_msg(rc == ST_EINVAL, "capacity %u: st_trace_create = %d", bad[i],
                  rc);
  }
  ck_assert_ptr_eq(r, sentinel);
}
END_TEST

START_TEST(test_capacity_rounding) {
  const uint32_t asked[] = {1, 2, 3, 5, 8, 9, 1000, 1024, 1025};
  const uint32_t got[] = {1, 2, 4, 8, 8, 16, 1024, 1024, 2048};
  for (size_t k = 0; k < sizeof asked / sizeof asked[0]; k++) {
    st_trace_ring_t *r = new_ring((st_trace_limits_t){.capacity = asked[k]});
    st_trace_stats_t st = stats_of(r);
    ck_assert_msg(st.capacity == got[k], "capacity %u rounded to %u, not %u",
                  asked[k], st.capacity, got[k]);
    /* It holds exactly that many before dropping. */
    for (uint32_t i = 0; i < got[k]; i++) push_stored(r, i, 0);
    ck_assert_int_eq(push_event(r, got[k], 0, NULL), ST_TRACE_DROPPED);
    st = stats_of(r);
    ck_assert_msg(st.stored == got[k] && st.dropped == 1 &&
                      st.pending == got[k],
                  "capacity %u: stored %llu dropped %llu pending %llu", got[k],
                  (unsigned long long)st.stored, (unsigned long long)st.dropped,
                  (unsigned long long)st.pending);
    st_trace_destroy(r);
  }
}
END_TEST

/* Events of many sizes come back in push order, every field intact. */
START_TEST(test_order_and_content) {
  enum { N = 60, MAXP = 300 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 64, .max_payload = MAXP});
  uint32_t lens[N];
  test_rng_t rng = test_rng_seeded(0x7ACE);
  for (uint64_t i = 0; i < N; i++) {
    lens[i] = (uint32_t)(i % 3 == 0 ? test_rng_between(&rng, 0, 40)
                                    : test_rng_between(&rng, 41, MAXP + 20));
    st_trace_push_t res = push_event(r, i, lens[i], NULL);
    ck_assert_int_eq(res, ST_TRACE_STORED);
  }
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.offered, N);
  ck_assert_uint_eq(st.stored, N);
  ck_assert_uint_eq(st.pending, N);
  ck_assert_uint_eq(st.drained, 0);

  collector_t c = collector(N);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), N);
  uint64_t cut = 0;
  for (uint64_t i = 0; i < N; i++) {
    assert_seen(&c.items[i], i, i, lens[i], MAXP);
    cut += lens[i] > MAXP;
  }
  ck_assert_uint_gt(cut, 0); /* the sizes did cover truncation */
  st = stats_of(r);
  ck_assert_uint_eq(st.drained, N);
  ck_assert_uint_eq(st.pending, 0);
  ck_assert_uint_eq(st.truncated, cut);
  ck_assert_uint_eq(st.dropped, 0);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_extreme_field_values) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4, .max_payload = 8});
  const uint8_t p[3] = {0, 0xFF, 0x80};
  ck_assert_int_eq(
      st_trace_push(r, INT64_MIN, UINT64_MAX, UINT32_MAX, p, 3, NULL),
      ST_TRACE_STORED);
  ck_assert_int_eq(st_trace_push(r, INT64_MAX, 0, 0, p, 0, NULL),
                   ST_TRACE_STORED);
  collector_t c = collector(2);
  ck_assert_uint_eq(drain_into(r, &c, 10), 2);
  const st_trace_event_t *a = &c.items[0].ev, *b = &c.items[1].ev;
  ck_assert_msg(a->seq == 0 && a->time == INT64_MIN &&
                    a->tracee == UINT64_MAX && a->kind == UINT32_MAX &&
                    a->payload_len == 3 && a->flags == 0,
                "first event: seq %llu time %lld tracee %#llx kind %u len %u",
                (unsigned long long)a->seq, (long long)a->time,
                (unsigned long long)a->tracee, a->kind, a->payload_len);
  ck_assert_int_eq(memcmp(c.items[0].bytes, p, 3), 0);
  ck_assert_msg(b->seq == 1 && b->time == INT64_MAX && b->tracee == 0 &&
                    b->kind == 0 && b->payload_len == 0 &&
                    b->offered_len == 0 && c.items[1].payload_non_null,
                "second event: seq %llu time %lld len %u",
                (unsigned long long)b->seq, (long long)b->time, b->payload_len);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_payload_boundaries) {
  enum { MAXP = 100 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 8, .max_payload = MAXP});
  const uint32_t lens[] = {0,
                           ST_TRACE_INLINE_PAYLOAD - 1,
                           ST_TRACE_INLINE_PAYLOAD,
                           ST_TRACE_INLINE_PAYLOAD + 1,
                           MAXP,
                           MAXP + 1,
                           1000};
  const size_t n = sizeof lens / sizeof lens[0];
  for (uint64_t i = 0; i < n; i++)
    ck_assert_int_eq(push_event(r, i, lens[i], NULL), ST_TRACE_STORED);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.truncated, 2);
  collector_t c = collector(n);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), n);
  for (uint64_t i = 0; i < n; i++)
    assert_seen(&c.items[i], i, i, lens[i], MAXP);
  ck_assert_uint_eq(c.items[5].ev.flags, ST_TRACE_TRUNCATED);
  ck_assert_uint_eq(c.items[5].ev.payload_len, 0);
  ck_assert_uint_eq(c.items[5].ev.offered_len, MAXP + 1);
  ck_assert_uint_eq(c.items[4].ev.flags, 0);
  ck_assert_uint_eq(c.items[4].ev.payload_len, MAXP);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_max_payload_zero) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4, .max_payload = 0});
  ck_assert_int_eq(push_event(r, 0, 0, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_event(r, 1, 1, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_event(r, 2, 500, NULL), ST_TRACE_STORED);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.truncated, 2);
  collector_t c = collector(3);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 3);
  assert_seen(&c.items[0], 0, 0, 0, 0); /* nothing offered, nothing cut */
  assert_seen(&c.items[1], 1, 1, 1, 0);
  assert_seen(&c.items[2], 2, 2, 500, 0);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

/* Not in the contract, but must not crash: no bytes to copy, so the event
 * keeps its length alone, as if truncated. */
START_TEST(test_null_payload_with_length) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4, .max_payload = 100});
  ck_assert_int_eq(st_trace_push(r, 1, 2, 3, NULL, 50, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(st_trace_push(r, 1, 2, 3, NULL, 0, NULL), ST_TRACE_STORED);
  collector_t c = collector(2);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 2);
  ck_assert_uint_eq(c.items[0].ev.payload_len, 0);
  ck_assert_uint_eq(c.items[0].ev.offered_len, 50);
  ck_assert_uint_eq(c.items[0].ev.flags, ST_TRACE_TRUNCATED);
  ck_assert_uint_eq(c.items[1].ev.payload_len, 0);
  ck_assert_uint_eq(c.items[1].ev.flags, 0);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

/* One slot: FULL(pos) and the next lap's FREE(pos + 1) must differ. */
START_TEST(test_one_slot_ring) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 1, .max_payload = 100});
  collector_t c = collector(1);
  for (uint64_t i = 0; i < 100; i++) {
    push_stored(r, 2 * i, (uint32_t)(i % 90));
    ck_assert_int_eq(push_event(r, 2 * i + 1, 3, NULL), ST_TRACE_DROPPED);
    c.n = 0;
    ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 1);
    assert_seen(&c.items[0], i, 2 * i, (uint32_t)(i % 90), 100);
  }
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.stored, 100);
  ck_assert_uint_eq(st.dropped, 100);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_ring_full_drops) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4, .max_payload = 200});
  /* Half the events need an out-of-line copy, which a full ring frees. */
  for (uint64_t i = 0; i < 10; i++) {
    int tripped = -1;
    st_trace_push_t res = push_event(r, i, i % 2 ? 150 : 10, &tripped);
    ck_assert_msg(res == (i < 4 ? ST_TRACE_STORED : ST_TRACE_DROPPED) &&
                      tripped == 0,
                  "push %llu = %d (tripped %d)", (unsigned long long)i,
                  (int)res, tripped);
  }
  st_trace_stats_t st = stats_of(r);
  ck_assert_msg(st.offered == 10 && st.stored == 4 && st.dropped == 6 &&
                    st.pending == 4 && st.state == ST_TRACE_RUNNING,
                "offered %llu stored %llu dropped %llu pending %llu state %d",
                (unsigned long long)st.offered, (unsigned long long)st.stored,
                (unsigned long long)st.dropped, (unsigned long long)st.pending,
                (int)st.state);

  collector_t c = collector(8);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 4);
  for (uint64_t i = 0; i < 4; i++)
    assert_seen(&c.items[i], i, i, i % 2 ? 150 : 10, 200);

  /* Room again: the next stored event is position 4. */
  push_stored(r, 100, 150);
  push_stored(r, 101, 3);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 2);
  assert_seen(&c.items[4], 4, 100, 150, 200);
  assert_seen(&c.items[5], 5, 101, 3, 200);
  st = stats_of(r);
  ck_assert_uint_eq(st.offered, 12);
  ck_assert_uint_eq(st.dropped, 6);
  ck_assert_uint_eq(st.drained, 6);
  ck_assert_uint_eq(st.pending, 0);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

/* Random bursts and partial drains through a ring of 8, many times round,
 * against a model FIFO of the event numbers that should be in the ring. */
START_TEST(test_wraparound_keeps_order) {
  enum { CAP = 8, TOTAL = 10000, MAXP = 64 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = CAP, .max_payload = MAXP});
  test_rng_t rng = test_rng_seeded(0x3A9F);
  uint64_t model[CAP];
  size_t model_head = 0, model_len = 0;
  uint64_t next = 0, stored = 0, dropped = 0, seq = 0;
  collector_t c = collector(CAP);
  while (next < TOTAL) {
    uint64_t burst = test_rng_between(&rng, 1, 12);
    for (uint64_t b = 0; b < burst && next < TOTAL; b++, next++) {
      uint32_t len = (uint32_t)(next % 70); /* inline, heap and cut */
      st_trace_push_t res = push_event(r, next, len, NULL);
      if (model_len < CAP) {
        require_msg(res == ST_TRACE_STORED, "event %llu: %d with %zu pending",
                    (unsigned long long)next, (int)res, model_len);
        model[(model_head + model_len++) % CAP] = next;
        stored++;
      } else {
        require_msg(res == ST_TRACE_DROPPED, "event %llu: %d on a full ring",
                    (unsigned long long)next, (int)res);
        dropped++;
      }
    }
    size_t want = (size_t)test_rng_between(&rng, 0, CAP);
    c.n = 0;
    size_t got = drain_into(r, &c, want);
    size_t expect = want < model_len ? want : model_len;
    require_msg(got == expect, "drained %zu, expected %zu", got, expect);
    for (size_t k = 0; k < got; k++) {
      uint64_t i = model[model_head];
      model_head = (model_head + 1) % CAP;
      model_len--;
      assert_seen(&c.items[k], seq++, i, (uint32_t)(i % 70), MAXP);
    }
  }
  ck_assert_uint_gt(dropped, 0);
  ck_assert_uint_gt(stored, 10 * CAP);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.offered, TOTAL);
  ck_assert_uint_eq(st.stored, stored);
  ck_assert_uint_eq(st.dropped, dropped);
  ck_assert_uint_eq(st.pending, model_len);
  ck_assert_uint_eq(st.drained, stored - model_len);
  free(c.items);
  st_trace_destroy(r); /* with model_len events left in it */
}
END_TEST

/* ----------------------------------------------------------------- limits */

START_TEST(test_max_events) {
  enum { N = 5 };
  st_trace_ring_t *r = new_ring(
      (st_trace_limits_t){.capacity = 16, .max_payload = 64, .max_events = N});
  for (uint64_t i = 0; i < N; i++) {
    int tripped = -1;
    st_trace_push_t res = push_event(r, i, 50, &tripped);
    int want_tripped = i == N - 1;
    ck_assert_msg(res == ST_TRACE_STORED && tripped == want_tripped,
                  "push %llu = %d, tripped %d (expected STORED, %d)",
                  (unsigned long long)i, (int)res, tripped, want_tripped);
    ck_assert_int_eq(st_trace_state(r),
                     i == N - 1 ? ST_TRACE_STOP_MAX_EVENTS : ST_TRACE_RUNNING);
  }
  for (uint64_t i = N; i < N + 3; i++) {
    int tripped = -1;
    ck_assert_int_eq(push_event(r, i, 50, &tripped), ST_TRACE_STOPPED);
    ck_assert_int_eq(tripped, 0);
  }
  ck_assert_int_eq(push_event(r, 99, 0, NULL), ST_TRACE_STOPPED);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.stored, N);
  ck_assert_uint_eq(st.offered, N + 4);
  ck_assert_uint_eq(st.dropped, 0);
  ck_assert_int_eq(st.state, ST_TRACE_STOP_MAX_EVENTS);
  collector_t c = collector(N);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), N);
  for (uint64_t i = 0; i < N; i++) assert_seen(&c.items[i], i, i, 50, 64);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_max_events_one) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 2, .max_events = 1});
  int tripped = -1;
  ck_assert_int_eq(push_event(r, 0, 0, &tripped), ST_TRACE_STORED);
  ck_assert_int_eq(tripped, 1);
  ck_assert_int_eq(push_event(r, 1, 0, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 0);
  ck_assert_uint_eq(stats_of(r).stored, 1);
  st_trace_destroy(r);
}
END_TEST

/* max_events counts accepted events: one the full ring drops still uses its
 * ticket, and the drop of the last one still trips. */
START_TEST(test_max_events_counts_drops) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4, .max_events = 6});
  for (uint64_t i = 0; i < 6; i++) {
    int tripped = -1;
    st_trace_push_t res = push_event(r, i, 4, &tripped);
    ck_assert_msg(res == (i < 4 ? ST_TRACE_STORED : ST_TRACE_DROPPED) &&
                      tripped == (i == 5),
                  "push %llu = %d, tripped %d", (unsigned long long)i, (int)res,
                  tripped);
  }
  collector_t c = collector(4);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 4); /* room again... */
  int tripped = -1;
  ck_assert_int_eq(push_event(r, 6, 4, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 0); /* ...but the session is over */
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.stored, 4);
  ck_assert_uint_eq(st.dropped, 2);
  ck_assert_uint_eq(st.offered, 7);
  ck_assert_int_eq(st.state, ST_TRACE_STOP_MAX_EVENTS);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

static st_trace_push_t push_at(st_trace_ring_t *r, int64_t t, int *tripped) {
  uint8_t b = 7;
  return st_trace_push(r, t, 1, 2, &b, 1, tripped);
}

START_TEST(test_max_rate_trips) {
  enum { RATE = 10 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 64, .max_rate = RATE});
  const int64_t t0 = 5 * NS_PER_S;
  int tripped = -1;
  for (int i = 0; i < RATE; i++) { /* 10 events within 0.45 s */
    st_trace_push_t res = push_at(r, t0 + i * NS_PER_S / 20, &tripped);
    ck_assert_msg(res == ST_TRACE_STORED && tripped == 0,
                  "push %d = %d, tripped %d", i, (int)res, tripped);
  }
  /* The 11th, 0.999 s after the first: over the limit, not stored. */
  ck_assert_int_eq(push_at(r, t0 + NS_PER_S - 1000000, &tripped),
                   ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_MAX_RATE);
  /* Stopped for good, even in a later window. */
  ck_assert_int_eq(push_at(r, t0 + 10 * NS_PER_S, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 0);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.stored, RATE);
  ck_assert_uint_eq(st.offered, RATE + 2);
  ck_assert_uint_eq(st.dropped, 0);
  collector_t c = collector(RATE);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), RATE);
  ck_assert_int_eq(c.items[RATE - 1].ev.time, t0 + (RATE - 1) * NS_PER_S / 20);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_max_rate_spread_over_windows) {
  enum { RATE = 10, WINDOWS = 20 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 256, .max_rate = RATE});
  for (int w = 0; w < WINDOWS; w++) {
    for (int i = 0; i < RATE; i++) { /* 10 events in 0.9 s, each window */
      int tripped = -1;
      st_trace_push_t res =
          push_at(r, w * NS_PER_S + i * (NS_PER_S / 10), &tripped);
      ck_assert_msg(res == ST_TRACE_STORED && tripped == 0,
                    "window %d, push %d = %d, tripped %d", w, i, (int)res,
                    tripped);
    }
  }
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.stored, RATE * WINDOWS);
  ck_assert_int_eq(st.state, ST_TRACE_RUNNING);
  st_trace_destroy(r);
}
END_TEST

/* The window opens at the first event: events at 0.5, 0.9 and 1.2 s share
 * it (a window on second boundaries would have closed at 1.0 s), and 1.5 s
 * opens the next. */
START_TEST(test_max_rate_window_opens_at_first_event) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 16, .max_rate = 3});
  const int64_t ms = NS_PER_S / 1000;
  ck_assert_int_eq(push_at(r, 500 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 900 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1200 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1500 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1600 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 2400 * ms, NULL), ST_TRACE_STORED);
  int tripped = -1;
  ck_assert_int_eq(push_at(r, 2499 * ms, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  ck_assert_uint_eq(stats_of(r).stored, 6);
  st_trace_destroy(r);

  /* Same thing, but the 1.49 s event is still in the first window. */
  r = new_ring((st_trace_limits_t){.capacity = 16, .max_rate = 3});
  ck_assert_int_eq(push_at(r, 500 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 900 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1200 * ms, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1490 * ms, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  st_trace_destroy(r);
}
END_TEST

/* The VM's monotonic clock is often negative; the extremes must not wrap. */
START_TEST(test_max_rate_negative_and_extreme_times) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 16, .max_rate = 2});
  int tripped = -1;
  ck_assert_int_eq(push_at(r, -5 * NS_PER_S, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, -5 * NS_PER_S + 1, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, -4 * NS_PER_S, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, -4 * NS_PER_S + 10, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, -3 * NS_PER_S - 10, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  st_trace_destroy(r);

  r = new_ring((st_trace_limits_t){.capacity = 16, .max_rate = 2});
  ck_assert_int_eq(push_at(r, INT64_MIN, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, INT64_MIN + 1, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, INT64_MAX, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, INT64_MAX, NULL), ST_TRACE_STORED);
  /* A time before the window's start counts in the open window. */
  ck_assert_int_eq(push_at(r, INT64_MIN, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  ck_assert_uint_eq(stats_of(r).stored, 4);
  st_trace_destroy(r);
}
END_TEST

/* With both limits, whichever is reached first stops the session. */
START_TEST(test_max_rate_and_max_events) {
  st_trace_ring_t *r = new_ring(
      (st_trace_limits_t){.capacity = 64, .max_rate = 5, .max_events = 8});
  int tripped = -1, trips = 0;
  for (int i = 0; i < 20; i++) { /* 5 per second: under the rate */
    st_trace_push_t res = push_at(r, i * (NS_PER_S / 5), &tripped);
    trips += tripped;
    ck_assert_int_eq(res, i < 8 ? ST_TRACE_STORED : ST_TRACE_STOPPED);
  }
  ck_assert_int_eq(trips, 1);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_MAX_EVENTS);
  st_trace_destroy(r);

  r = new_ring(
      (st_trace_limits_t){.capacity = 64, .max_rate = 5, .max_events = 8});
  for (int i = 0; i < 5; i++)
    ck_assert_int_eq(push_at(r, 0, NULL), ST_TRACE_STORED);
  ck_assert_int_eq(push_at(r, 1, &tripped), ST_TRACE_STOPPED);
  ck_assert_int_eq(tripped, 1);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_MAX_RATE);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_stop_first_reason_wins) {
  st_trace_ring_t *r = new_ring(
      (st_trace_limits_t){.capacity = 8, .max_payload = 100, .max_events = 4});
  push_stored(r, 0, 10);
  push_stored(r, 1, 90);
  push_stored(r, 2, 0);
  /* Not reasons: no effect. */
  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_RUNNING), 0);
  ck_assert_int_eq(st_trace_stop(r, (st_trace_state_t)99), 0);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_RUNNING);

  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_STOP_REQUESTED), 1);
  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_STOP_OWNER_DOWN), 0);
  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_STOP_REQUESTED), 0);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_REQUESTED);

  /* The last max_events ticket was never taken: no trip after the stop. */
  for (uint64_t i = 3; i < 6; i++) {
    int tripped = -1;
    ck_assert_int_eq(push_event(r, i, 10, &tripped), ST_TRACE_STOPPED);
    ck_assert_int_eq(tripped, 0);
  }
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_REQUESTED);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.offered, 6);
  ck_assert_uint_eq(st.stored, 3);
  ck_assert_uint_eq(st.dropped, 0);
  ck_assert_int_eq(st.state, ST_TRACE_STOP_REQUESTED);

  collector_t c = collector(3);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 3);
  assert_seen(&c.items[0], 0, 0, 10, 100);
  assert_seen(&c.items[1], 1, 1, 90, 100);
  assert_seen(&c.items[2], 2, 2, 0, 100);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 0);
  free(c.items);
  st_trace_destroy(r);

  r = new_ring((st_trace_limits_t){.capacity = 8});
  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_STOP_OWNER_DOWN), 1);
  ck_assert_int_eq(st_trace_stop(r, ST_TRACE_STOP_MAX_RATE), 0);
  ck_assert_int_eq(st_trace_state(r), ST_TRACE_STOP_OWNER_DOWN);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_state_names) {
  ck_assert_str_eq(st_trace_state_name(ST_TRACE_RUNNING), "running");
  ck_assert_str_eq(st_trace_state_name(ST_TRACE_STOP_MAX_EVENTS), "max_events");
  ck_assert_str_eq(st_trace_state_name(ST_TRACE_STOP_MAX_RATE), "max_rate");
  ck_assert_str_eq(st_trace_state_name(ST_TRACE_STOP_OWNER_DOWN), "owner_down");
  ck_assert_str_eq(st_trace_state_name(ST_TRACE_STOP_REQUESTED), "requested");
  ck_assert_ptr_nonnull(st_trace_state_name((st_trace_state_t)42));
  ck_assert_int_eq(ST_TRACE_RUNNING, 0); /* reads as "not stopped" */
}
END_TEST

/* ------------------------------------------------------------------ drain */

START_TEST(test_drain_early_exit) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 8, .max_payload = 100});
  for (uint64_t i = 0; i < 5; i++) push_stored(r, i, 60);
  collector_t c = collector(5);
  c.stop_at = 3;
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 3); /* the 3rd counts */
  ck_assert_uint_eq(c.calls, 3);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.drained, 3);
  ck_assert_uint_eq(st.pending, 2);
  c.stop_at = 0;
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 2);
  for (uint64_t i = 0; i < 5; i++) assert_seen(&c.items[i], i, i, 60, 100);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_drain_max) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 8, .max_payload = 100});
  collector_t c = collector(5);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 0); /* empty */
  ck_assert_uint_eq(c.calls, 0);
  for (uint64_t i = 0; i < 5; i++) push_stored(r, i, 45);
  ck_assert_uint_eq(drain_into(r, &c, 0), 0);
  ck_assert_uint_eq(c.calls, 0);
  ck_assert_uint_eq(st_trace_drain(r, SIZE_MAX, NULL, NULL), 0);
  ck_assert_uint_eq(stats_of(r).pending, 5);
  ck_assert_uint_eq(drain_into(r, &c, 2), 2);
  ck_assert_uint_eq(stats_of(r).pending, 3);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 3);
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 0);
  for (uint64_t i = 0; i < 5; i++) assert_seen(&c.items[i], i, i, 45, 100);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_memory_accounting) {
  enum { MAXP = 1000 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 16, .max_payload = MAXP});
  const size_t ring_only = stats_of(r).memory;
  const uint32_t lens[] = {ST_TRACE_INLINE_PAYLOAD, ST_TRACE_INLINE_PAYLOAD + 1,
                           500, MAXP, MAXP + 1};
  for (uint64_t i = 0; i < 5; i++) push_stored(r, i, lens[i]);
  const size_t heap = ST_TRACE_INLINE_PAYLOAD + 1 + 500 + MAXP;
  ck_assert_uint_eq(stats_of(r).memory, ring_only + heap);
  collector_t c = collector(5);
  ck_assert_uint_eq(drain_into(r, &c, 2), 2);
  ck_assert_uint_eq(stats_of(r).memory,
                    ring_only + heap - (ST_TRACE_INLINE_PAYLOAD + 1));
  ck_assert_uint_eq(drain_into(r, &c, SIZE_MAX), 3);
  ck_assert_uint_eq(stats_of(r).memory, ring_only);
  for (uint64_t i = 0; i < 5; i++)
    assert_seen(&c.items[i], i, i, lens[i], MAXP);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

/* AddressSanitizer's leak check is the assertion here. */
START_TEST(test_destroy_frees_undrained) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 8, .max_payload = 300});
  for (uint64_t i = 0; i < 12; i++) push_event(r, i, 200, NULL); /* 4 drop */
  ck_assert_uint_eq(stats_of(r).stored, 8);
  st_trace_destroy(r);

  /* Partly drained and wrapped: the live slots straddle the array's end. */
  r = new_ring((st_trace_limits_t){.capacity = 8, .max_payload = 300});
  collector_t c = collector(16);
  for (uint64_t i = 0; i < 6; i++) push_stored(r, i, 100 + (uint32_t)i);
  ck_assert_uint_eq(drain_into(r, &c, 5), 5);
  for (uint64_t i = 6; i < 13; i++) push_stored(r, i, 100 + (uint32_t)i);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.pending, 8);
  free(c.items);
  st_trace_destroy(r);
}
END_TEST

/* ------------------------------------------------------------ concurrency */

enum { PRODUCERS = 4, PER_PRODUCER = 200000, CONC_MAXP = 64 };

/* Producer p's event n: tracee p, kind n, time n, and a payload holding p
 * and n followed by a pattern; its length cycles through inline,
 * out-of-line and truncated sizes. */
static uint32_t conc_len(uint64_t n) {
  if (n % 64 == 9) return CONC_MAXP + 36; /* cut */
  if (n % 16 == 5) return CONC_MAXP;      /* out of line */
  return 16;
}

static void conc_payload(uint8_t *buf, uint32_t p, uint64_t n, uint32_t len) {
  memset(buf, 0, len);
  memcpy(buf, &p, sizeof p);
  memcpy(buf + 8, &n, sizeof n);
  for (uint32_t j = 16; j < len; j++) buf[j] = (uint8_t)(p + n + j);
}

typedef struct {
  st_trace_ring_t *r;
  uint32_t id;
  uint64_t count;     /* events to push at most */
  int64_t time;       /* >= 0: every push at this time; else time n */
  bool until_stopped; /* end after the first STOPPED (and a few more) */
  uint64_t pushed;
  uint64_t results[3]; /* per st_trace_push_t */
  uint64_t tripped;
  uint64_t stored_after_stopped; /* must stay 0 */
} producer_t;

static void *produce(void *arg) {
  producer_t *p = arg;
  uint8_t buf[CONC_MAXP + 64];
  uint64_t after_stop = 0;
  for (uint64_t n = 0; n < p->count; n++) {
    uint32_t len = conc_len(n);
    conc_payload(buf, p->id, n, len);
    int tripped = 0;
    st_trace_push_t res =
        st_trace_push(p->r, p->time >= 0 ? p->time : (int64_t)n, p->id,
                      (uint32_t)n, buf, len, &tripped);
    p->pushed++;
    p->results[res]++;
    p->tripped += (uint64_t)tripped;
    /* Let the consumer catch up, so most events go through the ring
     * rather than all but the first thousand being dropped. */
    if (res == ST_TRACE_DROPPED) sched_yield();
    if (p->results[ST_TRACE_STOPPED] > 0 && res != ST_TRACE_STOPPED)
      p->stored_after_stopped++;
    if (p->until_stopped && p->results[ST_TRACE_STOPPED] > 0 &&
        ++after_stop > 100)
      break;
  }
  return NULL;
}

typedef struct {
  st_trace_ring_t *r;
  int64_t time;     /* as the producers' */
  atomic_bool done; /* every producer has finished */
  uint64_t next_seq;
  int64_t last[PRODUCERS]; /* last counter seen from each producer */
  uint64_t per_producer[PRODUCERS];
  uint64_t errors;
  char first_error[256];
} consumer_t;

static void conc_error(consumer_t *c, const char *what,
                       const st_trace_event_t *ev) {
  if (c->errors++ == 0)
    snprintf(c->first_error, sizeof c->first_error,
             "%s: seq %llu (expected %llu), tracee %llu, kind %u, time %lld, "
             "payload_len %u, offered_len %u, flags %u",
             what, (unsigned long long)ev->seq, (unsigned long long)c->next_seq,
             (unsigned long long)ev->tracee, ev->kind, (long long)ev->time,
             ev->payload_len, ev->offered_len, ev->flags);
}

static int check_event(const st_trace_event_t *ev, void *ctx) {
  consumer_t *c = ctx;
  if (ev->seq != c->next_seq) conc_error(c, "seq not consecutive", ev);
  c->next_seq = ev->seq + 1;
  if (ev->tracee >= PRODUCERS) {
    conc_error(c, "unknown producer", ev);
    return 0;
  }
  uint32_t p = (uint32_t)ev->tracee;
  uint64_t n = ev->kind; /* the producer's counter */
  if (ev->time != (c->time >= 0 ? c->time : (int64_t)n))
    conc_error(c, "kind and time disagree", ev);
  uint32_t len = conc_len(n);
  bool cut = len > CONC_MAXP;
  if (ev->offered_len != len || ev->payload_len != (cut ? 0 : len) ||
      ev->flags != (cut ? ST_TRACE_TRUNCATED : 0u))
    conc_error(c, "lengths or flags wrong", ev);
  else if (!cut) {
    uint8_t want[CONC_MAXP];
    conc_payload(want, p, n, len);
    if (memcmp(want, ev->payload, len) != 0)
      conc_error(c, "payload does not match tracee and kind", ev);
  }
  if ((int64_t)n <= c->last[p]) conc_error(c, "producer order broken", ev);
  c->last[p] = (int64_t)n;
  c->per_producer[p]++;
  return 0;
}

static void *consume(void *arg) {
  consumer_t *c = arg;
  for (;;) {
    bool done = atomic_load(&c->done); /* read before the drain */
    size_t got = st_trace_drain(c->r, 256, check_event, c);
    if (got == 0) {
      if (done) break; /* nothing more can come */
      sched_yield();
    }
  }
  return NULL;
}

static void consumer_init(consumer_t *c, st_trace_ring_t *r, int64_t time) {
  memset(c, 0, sizeof *c);
  c->r = r;
  c->time = time;
  atomic_init(&c->done, false);
  for (int p = 0; p < PRODUCERS; p++) c->last[p] = -1;
}

/* Runs PRODUCERS producers of up to `count` events each (at `time`, or
 * time n when negative) against one consumer; returns once all are done
 * and the ring is empty. */
static void run_concurrently(st_trace_ring_t *r, uint64_t count, int64_t time,
                             bool until_stopped, producer_t *prod,
                             consumer_t *cons) {
  consumer_init(cons, r, time);
  pthread_t pt[PRODUCERS], ct;
  ck_assert_int_eq(pthread_create(&ct, NULL, consume, cons), 0);
  for (uint32_t p = 0; p < PRODUCERS; p++) {
    prod[p] = (producer_t){.r = r,
                           .id = p,
                           .count = count,
                           .time = time,
                           .until_stopped = until_stopped};
    ck_assert_int_eq(pthread_create(&pt[p], NULL, produce, &prod[p]), 0);
  }
  for (int p = 0; p < PRODUCERS; p++)
    ck_assert_int_eq(pthread_join(pt[p], NULL), 0);
  atomic_store(&cons->done, true);
  ck_assert_int_eq(pthread_join(ct, NULL), 0);
  ck_assert_msg(cons->errors == 0, "%llu bad events; first: %s",
                (unsigned long long)cons->errors, cons->first_error);
}

/* What every concurrent run must satisfy, whatever its limits. */
static void assert_accounts(const st_trace_ring_t *r, const producer_t *prod,
                            const consumer_t *cons) {
  st_trace_stats_t st = stats_of(r);
  uint64_t pushed = 0, stored = 0, dropped = 0, stopped = 0;
  for (int p = 0; p < PRODUCERS; p++) {
    pushed += prod[p].pushed;
    ck_assert_msg(prod[p].stored_after_stopped == 0,
                  "producer %d: %llu events stored after it saw STOPPED", p,
                  (unsigned long long)prod[p].stored_after_stopped);
    stored += prod[p].results[ST_TRACE_STORED];
    dropped += prod[p].results[ST_TRACE_DROPPED];
    stopped += prod[p].results[ST_TRACE_STOPPED];
    ck_assert_msg(cons->per_producer[p] == prod[p].results[ST_TRACE_STORED],
                  "producer %d: %llu events drained, %llu pushes stored", p,
                  (unsigned long long)cons->per_producer[p],
                  (unsigned long long)prod[p].results[ST_TRACE_STORED]);
  }
  ck_assert_msg(
      st.offered == pushed && st.stored + st.dropped + stopped == st.offered &&
          st.stored == stored && st.dropped == dropped &&
          st.drained == st.stored && st.pending == 0 &&
          cons->next_seq == st.stored,
      "offered %llu stored %llu dropped %llu (producers pushed %llu "
      "and saw %llu stored, %llu dropped, %llu stopped) drained %llu "
      "pending %llu last seq %llu",
      (unsigned long long)st.offered, (unsigned long long)st.stored,
      (unsigned long long)st.dropped, (unsigned long long)pushed,
      (unsigned long long)stored, (unsigned long long)dropped,
      (unsigned long long)stopped, (unsigned long long)st.drained,
      (unsigned long long)st.pending, (unsigned long long)cons->next_seq);
}

START_TEST(test_concurrent_producers_and_consumer) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 1024, .max_payload = CONC_MAXP});
  producer_t prod[PRODUCERS];
  consumer_t *cons = malloc(sizeof *cons);
  ck_assert_ptr_nonnull(cons);
  run_concurrently(r, PER_PRODUCER, -1, false, prod, cons);
  assert_accounts(r, prod, cons);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.offered, PRODUCERS * (uint64_t)PER_PRODUCER);
  ck_assert_int_eq(st.state, ST_TRACE_RUNNING);
  for (int p = 0; p < PRODUCERS; p++) {
    ck_assert_uint_eq(prod[p].results[ST_TRACE_STOPPED], 0);
    ck_assert_uint_eq(prod[p].tripped, 0);
    ck_assert_msg(prod[p].results[ST_TRACE_STORED] > 0,
                  "producer %d stored nothing", p);
  }
  ck_assert_msg(st.stored + st.dropped == st.offered,
                "stored %llu + dropped %llu != offered %llu",
                (unsigned long long)st.stored, (unsigned long long)st.dropped,
                (unsigned long long)st.offered);
  ck_assert_uint_gt(st.truncated, 0);
  /* Every out-of-line payload was freed on the way. */
  st_trace_ring_t *fresh =
      new_ring((st_trace_limits_t){.capacity = 1024, .max_payload = CONC_MAXP});
  ck_assert_uint_eq(st.memory, stats_of(fresh).memory);
  st_trace_destroy(fresh);
  free(cons);
  st_trace_destroy(r);
}
END_TEST

/* A ring of one slot, where a published event and the next lap's free slot
 * must not be confused. */
START_TEST(test_concurrent_one_slot) {
  enum { COUNT = 50000 };
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 1, .max_payload = CONC_MAXP});
  producer_t prod[PRODUCERS];
  consumer_t *cons = malloc(sizeof *cons);
  ck_assert_ptr_nonnull(cons);
  run_concurrently(r, COUNT, -1, false, prod, cons);
  assert_accounts(r, prod, cons);
  st_trace_stats_t st = stats_of(r);
  ck_assert_uint_eq(st.offered, PRODUCERS * (uint64_t)COUNT);
  ck_assert_uint_gt(st.stored, 0);
  free(cons);
  st_trace_destroy(r);
}
END_TEST

START_TEST(test_concurrent_max_events) {
  enum { MAX_EVENTS = 50000, COUNT = 20000 };
  st_trace_ring_t *r = new_ring((st_trace_limits_t){
      .capacity = 65536, .max_payload = CONC_MAXP, .max_events = MAX_EVENTS});
  producer_t prod[PRODUCERS];
  consumer_t *cons = malloc(sizeof *cons);
  ck_assert_ptr_nonnull(cons);
  run_concurrently(r, COUNT, -1, false, prod, cons);
  assert_accounts(r, prod, cons);
  uint64_t tripped = 0;
  for (int p = 0; p < PRODUCERS; p++) tripped += prod[p].tripped;
  st_trace_stats_t st = stats_of(r);
  ck_assert_msg(st.stored == MAX_EVENTS && st.dropped == 0 && tripped == 1 &&
                    st.state == ST_TRACE_STOP_MAX_EVENTS,
                "stored %llu dropped %llu, %llu tripped, state %s",
                (unsigned long long)st.stored, (unsigned long long)st.dropped,
                (unsigned long long)tripped, st_trace_state_name(st.state));
  free(cons);
  st_trace_destroy(r);
}
END_TEST

/* Every push at the same instant: one window, exactly max_rate admitted. */
START_TEST(test_concurrent_max_rate) {
  enum { RATE = 30000, COUNT = 20000 };
  st_trace_ring_t *r = new_ring((st_trace_limits_t){
      .capacity = 65536, .max_payload = CONC_MAXP, .max_rate = RATE});
  producer_t prod[PRODUCERS];
  consumer_t *cons = malloc(sizeof *cons);
  ck_assert_ptr_nonnull(cons);
  run_concurrently(r, COUNT, 123456789, false, prod, cons);
  assert_accounts(r, prod, cons);
  uint64_t tripped = 0;
  for (int p = 0; p < PRODUCERS; p++) tripped += prod[p].tripped;
  st_trace_stats_t st = stats_of(r);
  ck_assert_msg(
      st.stored == RATE && tripped == 1 && st.state == ST_TRACE_STOP_MAX_RATE,
      "stored %llu, %llu tripped, state %s", (unsigned long long)st.stored,
      (unsigned long long)tripped, st_trace_state_name(st.state));
  free(cons);
  st_trace_destroy(r);
}
END_TEST

typedef struct {
  st_trace_ring_t *r;
  int won;
  uint64_t snapshots, inconsistent; /* stats read while others run */
} stopper_t;

/* Reads the stats while the others push and drain (each must make sense on
 * its own), and stops the session a quarter of the way. */
static void *stop_midway(void *arg) {
  stopper_t *s = arg;
  st_trace_stats_t st;
  do {
    st_trace_stats(s->r, &st);
    s->snapshots++;
    if (st.drained > st.stored || st.pending != st.stored - st.drained ||
        st.stored + st.dropped > st.offered)
      s->inconsistent++;
    sched_yield();
  } while (st.offered < PRODUCERS * (uint64_t)PER_PRODUCER / 4);
  s->won = st_trace_stop(s->r, ST_TRACE_STOP_OWNER_DOWN);
  return NULL;
}

/* A stop while producers push: a producer told STOPPED never stores
 * again, and the accounts still balance. */
START_TEST(test_concurrent_stop) {
  st_trace_ring_t *r =
      new_ring((st_trace_limits_t){.capacity = 4096, .max_payload = CONC_MAXP});
  producer_t prod[PRODUCERS];
  consumer_t *cons = malloc(sizeof *cons);
  ck_assert_ptr_nonnull(cons);
  stopper_t stopper = {.r = r};
  pthread_t st_thread;
  ck_assert_int_eq(pthread_create(&st_thread, NULL, stop_midway, &stopper), 0);
  /* Each producer pushes until it is told STOPPED, then 100 more. */
  run_concurrently(r, UINT64_C(1) << 32, -1, true, prod, cons);
  ck_assert_int_eq(pthread_join(st_thread, NULL), 0);
  ck_assert_int_eq(stopper.won, 1);
  ck_assert_msg(stopper.inconsistent == 0,
                "%llu of %llu stats snapshots inconsistent",
                (unsigned long long)stopper.inconsistent,
                (unsigned long long)stopper.snapshots);
  assert_accounts(r, prod, cons);
  uint64_t stopped = 0;
  for (int p = 0; p < PRODUCERS; p++)
    stopped += prod[p].results[ST_TRACE_STOPPED];
  ck_assert_uint_gt(stopped, 0);
  st_trace_stats_t st = stats_of(r);
  ck_assert_int_eq(st.state, ST_TRACE_STOP_OWNER_DOWN);
  /* Stopped for good. */
  ck_assert_int_eq(push_event(r, 0, 4, NULL), ST_TRACE_STOPPED);
  free(cons);
  st_trace_destroy(r);
}
END_TEST

Suite *trace_suite(void) {
  Suite *s = suite_create("trace");
  TCase *ring = tcase_create("ring");
  tcase_add_test(ring, test_create_destroy);
  tcase_add_test(ring, test_invalid_limits);
  tcase_add_test(ring, test_capacity_rounding);
  tcase_add_test(ring, test_order_and_content);
  tcase_add_test(ring, test_extreme_field_values);
  tcase_add_test(ring, test_payload_boundaries);
  tcase_add_test(ring, test_max_payload_zero);
  tcase_add_test(ring, test_null_payload_with_length);
  tcase_add_test(ring, test_one_slot_ring);
  tcase_add_test(ring, test_ring_full_drops);
  tcase_add_test(ring, test_wraparound_keeps_order);
  suite_add_tcase(s, ring);

  TCase *limits = tcase_create("limits");
  tcase_add_test(limits, test_max_events);
  tcase_add_test(limits, test_max_events_one);
  tcase_add_test(limits, test_max_events_counts_drops);
  tcase_add_test(limits, test_max_rate_trips);
  tcase_add_test(limits, test_max_rate_spread_over_windows);
  tcase_add_test(limits, test_max_rate_window_opens_at_first_event);
  tcase_add_test(limits, test_max_rate_negative_and_extreme_times);
  tcase_add_test(limits, test_max_rate_and_max_events);
  tcase_add_test(limits, test_stop_first_reason_wins);
  tcase_add_test(limits, test_state_names);
  suite_add_tcase(s, limits);

  TCase *drain = tcase_create("drain");
  tcase_add_test(drain, test_drain_early_exit);
  tcase_add_test(drain, test_drain_max);
  tcase_add_test(drain, test_memory_accounting);
  tcase_add_test(drain, test_destroy_frees_undrained);
  suite_add_tcase(s, drain);

  TCase *conc = tcase_create("concurrency");
  tcase_add_test(conc, test_concurrent_producers_and_consumer);
  tcase_add_test(conc, test_concurrent_one_slot);
  tcase_add_test(conc, test_concurrent_max_events);
  tcase_add_test(conc, test_concurrent_max_rate);
  tcase_add_test(conc, test_concurrent_stop);
  suite_add_tcase(s, conc);
  return s;
}
