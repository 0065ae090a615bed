/* Record suite: st_record_* against the contract in supertester/record.h.
 *
 * - basics: seq counts arrivals from 1, (kind, key) unique within a kind
 *   (ST_EEXIST) but free across kinds, kinds outside 1..15 refused, remove
 *   and find by (kind, key), pop newest first over removed entries,
 *   ST_EEMPTY, counts per kind and in total, iteration newest first equal to
 *   the pop order, out parameters untouched on errors, NULL arguments.
 * - model: 200,000 random pushes, removals (of live and absent entries),
 *   pops and finds over four kinds against a reference list, with counts
 *   checked after every step and the whole order at intervals. The workload
 *   cycles between growing (index growth) and shrinking with removals from
 *   the middle (holes, compaction); the reference applies record.c's
 *   compaction rule to prove the workload did trigger it hundreds of times.
 *   Keys: scattered, multiples of 2^20, 2^32, 2^52, and keys whose hash
 *   (record.c's mixer, inverted) homes them all in the index's last bucket,
 *   so probe runs wrap around the table end through backward-shift deletion.
 * - destroy calls free_data once for each remaining entry, never for removed
 *   or popped ones; 100,000 entries removed in random order leave it empty. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/record.h"
#include "suites.h"
#include "test_util.h"

/* ---------------------------------------------------------------- helpers */

static st_record_t *new_record(void) {
  st_record_t *r = NULL;
  int rc = st_record_create(&r);
  ck_assert_msg(rc == ST_OK && r != NULL, "st_record_create = %d", rc);
  return r;
}

static uint64_t push_ok(st_record_t *r, int kind, uint64_t key, void *data) {
  uint64_t seq = 0;
  int rc = st_record_push(r, kind, key, data, &seq);
  require_msg(rc == ST_OK, "st_record_push(kind %d, key %#llx) = %d", kind,
              (unsigned long long)key, rc);
  return seq;
}

/* Opaque data pointers that identify an entry: addresses inside a static
 * arena (never dereferenced by the record). */
static char data_arena[1 << 16];

static void *data_for(uint64_t n) {
  return &data_arena[n % sizeof data_arena];
}

#define ASSERT_ENTRY(e, want_seq, want_kind, want_key, want_data)              \
  do {                                                                         \
    const st_record_entry_t ck_e_ = (e);                                       \
    ck_assert_msg(ck_e_.seq == (want_seq) && ck_e_.kind == (want_kind) &&      \
                      ck_e_.key == (want_key) && ck_e_.data == (want_data),    \
                  "entry (seq %llu, kind %d, key %#llx, data %p), expected "   \
                  "(seq %llu, kind %d, key %#llx, data %p)",                   \
                  (unsigned long long)ck_e_.seq, ck_e_.kind,                   \
                  (unsigned long long)ck_e_.key, ck_e_.data,                   \
                  (unsigned long long)(want_seq), (int)(want_kind),            \
                  (unsigned long long)(want_key), (void *)(want_data));        \
  } while (0)

/* record.c's index hash, inverted: the key of `kind` whose mixed hash is h.
 * Only used to build colliding keys; should the core change its mixer, the
 * keys merely stop colliding and the tests still check the contract. */
static uint64_t mul_inverse(uint64_t odd) {
  uint64_t x = odd; /* correct to 3 bits; each step doubles them */
  for (int i = 0; i < 6; i++) x *= 2 - odd * x;
  return x;
}

static uint64_t mix(uint64_t h) {
  h ^= h >> 33;
  h *= UINT64_C(0xff51afd7ed558ccd);
  h ^= h >> 33;
  return h;
}

static uint64_t key_with_hash(int kind, uint64_t h) {
  uint64_t x = h ^ (h >> 33); /* x ^ x >> 33 is its own inverse on 64 bits */
  x *= mul_inverse(UINT64_C(0xff51afd7ed558ccd));
  x ^= x >> 33;
  const uint64_t salt = (uint64_t)kind * UINT64_C(0x9E3779B97F4A7C15);
  uint64_t key = x ^ salt;
  require_msg(mix(key ^ salt) == h, "hash inversion is wrong for %#llx",
              (unsigned long long)h);
  return key;
}

/* Distinct keys of kind 1 all homed in the last bucket of any index of up to
 * 2^20 buckets: their mixed hashes end in twenty 1 bits. */
static uint64_t colliding_key(uint64_t i) {
  return key_with_hash(1, (i << 20) | 0xFFFFF);
}

/* Pops everything, checking that the entries come out newest first exactly as
 * the iterator listed them, then ST_EEMPTY. */
static void assert_pop_order_equals_iteration(st_record_t *r) {
  size_t n = st_record_count(r, 0);
  st_record_entry_t *listed = malloc((n + 1) * sizeof *listed);
  ck_assert_ptr_nonnull(listed);
  st_record_iter_t it;
  st_record_iter_init(&it, r);
  size_t k = 0;
  st_record_entry_t e;
  while (st_record_iter_next(&it, &e)) {
    require_msg(k < n, "iteration yields more than the %zu entries", n);
    listed[k++] = e;
  }
  ck_assert_uint_eq(k, n);
  for (size_t i = 1; i < n; i++)
    require_msg(listed[i].seq < listed[i - 1].seq,
                "iteration not newest first: seq %llu after %llu",
                (unsigned long long)listed[i].seq,
                (unsigned long long)listed[i - 1].seq);
  for (size_t i = 0; i < n; i++) {
    int rc = st_record_pop(r, &e);
    require_msg(rc == ST_OK && e.seq == listed[i].seq &&
                    e.kind == listed[i].kind && e.key == listed[i].key &&
                    e.data == listed[i].data,
                "pop #%zu: rc %d, seq %llu (kind %d, key %#llx); iteration "
                "listed seq %llu (kind %d, key %#llx)",
                i, rc, (unsigned long long)e.seq, e.kind,
                (unsigned long long)e.key, (unsigned long long)listed[i].seq,
                listed[i].kind, (unsigned long long)listed[i].key);
    require_msg(st_record_count(r, 0) == n - i - 1, "count %zu after %zu pops",
                st_record_count(r, 0), i + 1);
  }
  ck_assert_int_eq(st_record_pop(r, &e), ST_EEMPTY);
  free(listed);
}

/* ----------------------------------------------------------------- basics */

START_TEST(test_new_record_is_empty) {
  st_record_t *r = new_record();
  ck_assert_uint_eq(st_record_count(r, 0), 0);
  for (int k = 1; k <= ST_RECORD_MAX_KIND; k++)
    ck_assert_uint_eq(st_record_count(r, k), 0);
  st_record_entry_t e = {.seq = 99, .kind = 3, .key = 4, .data = NULL};
  ck_assert_int_eq(st_record_pop(r, &e), ST_EEMPTY);
  ck_assert_uint_eq(e.seq, 99); /* untouched on error */
  ck_assert_int_eq(st_record_find(r, 1, 0, &e), ST_ENOTFOUND);
  ck_assert_int_eq(st_record_remove(r, 1, 0, &e), ST_ENOTFOUND);
  ck_assert_uint_eq(e.seq, 99);
  st_record_iter_t it;
  st_record_iter_init(&it, r);
  ck_assert_int_eq(st_record_iter_next(&it, &e), 0);
  ck_assert_uint_eq(e.seq, 99);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_push_seq_counts_arrivals_from_one) {
  st_record_t *r = new_record();
  for (uint64_t i = 0; i < 1000; i++) {
    uint64_t seq = push_ok(r, 1 + (int)(i % ST_RECORD_MAX_KIND), i, data_for(i));
    require_msg(seq == i + 1, "push #%llu: seq %llu", (unsigned long long)i,
                (unsigned long long)seq);
  }
  /* seq is optional. */
  ck_assert_int_eq(st_record_push(r, 2, 5000, NULL, NULL), ST_OK);
  ck_assert_uint_eq(push_ok(r, 2, 5001, NULL), 1002);
  /* Removals and pops do not rewind the sequence. */
  ck_assert_int_eq(st_record_remove(r, 2, 5001, NULL), ST_OK);
  st_record_entry_t e;
  ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
  ck_assert_uint_eq(e.seq, 1001);
  ck_assert_uint_eq(push_ok(r, 2, 5001, NULL), 1003);
  ck_assert_uint_eq(st_record_count(r, 0), 1001);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_duplicate_key_within_kind) {
  st_record_t *r = new_record();
  int a = 0, b = 0;
  ck_assert_uint_eq(push_ok(r, 3, 42, &a), 1);
  uint64_t seq = 777;
  ck_assert_int_eq(st_record_push(r, 3, 42, &b, &seq), ST_EEXIST);
  ck_assert_uint_eq(seq, 777); /* untouched on error */
  ck_assert_uint_eq(st_record_count(r, 0), 1);
  ck_assert_uint_eq(st_record_count(r, 3), 1);
  /* The first entry is intact, data included. */
  st_record_entry_t e;
  ck_assert_int_eq(st_record_find(r, 3, 42, &e), ST_OK);
  ASSERT_ENTRY(e, 1, 3, 42, &a);

  /* The same key under other kinds is another entry. */
  ck_assert_uint_eq(push_ok(r, 4, 42, &b), 2);
  ck_assert_uint_eq(push_ok(r, 1, 42, NULL), 3);
  ck_assert_uint_eq(push_ok(r, ST_RECORD_MAX_KIND, 42, NULL), 4);
  ck_assert_int_eq(st_record_find(r, 4, 42, &e), ST_OK);
  ASSERT_ENTRY(e, 2, 4, 42, &b);
  ck_assert_uint_eq(st_record_count(r, 0), 4);
  ck_assert_uint_eq(st_record_count(r, 3), 1);
  ck_assert_uint_eq(st_record_count(r, 4), 1);

  /* Once removed, the key can be recorded again, with a new seq. */
  ck_assert_int_eq(st_record_remove(r, 3, 42, NULL), ST_OK);
  ck_assert_int_eq(st_record_find(r, 4, 42, NULL), ST_OK);
  ck_assert_uint_eq(push_ok(r, 3, 42, &b), 5);
  ck_assert_int_eq(st_record_find(r, 3, 42, &e), ST_OK);
  ASSERT_ENTRY(e, 5, 3, 42, &b);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_invalid_kinds) {
  static const int bad[] = {0, ST_RECORD_MAX_KIND + 1, -1, 16, 1000, INT32_MIN,
                            INT32_MAX};
  st_record_t *r = new_record();
  /* Something under every valid kind, key 7, so nothing is found by
   * accident of an empty record. */
  for (int k = 1; k <= ST_RECORD_MAX_KIND; k++) push_ok(r, k, 7, NULL);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint64_t seq = 555;
    ck_assert_int_eq(st_record_push(r, bad[i], 7, NULL, &seq), ST_EINVAL);
    ck_assert_int_eq(st_record_push(r, bad[i], 8, NULL, &seq), ST_EINVAL);
    ck_assert_uint_eq(seq, 555);
    st_record_entry_t e = {.seq = 66};
    ck_assert_int_eq(st_record_remove(r, bad[i], 7, &e), ST_ENOTFOUND);
    ck_assert_int_eq(st_record_find(r, bad[i], 7, &e), ST_ENOTFOUND);
    ck_assert_uint_eq(e.seq, 66);
    ck_assert_uint_eq(st_record_count(r, bad[i] == 0 ? -1 : bad[i]), 0);
  }
  ck_assert_uint_eq(st_record_count(r, 0), ST_RECORD_MAX_KIND);
  /* Failed pushes are not arrivals. */
  ck_assert_uint_eq(push_ok(r, 1, 8, NULL), ST_RECORD_MAX_KIND + 1);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_null_record) {
  ck_assert_int_eq(st_record_create(NULL), ST_EINVAL);
  uint64_t seq = 1;
  st_record_entry_t e = {.seq = 2};
  ck_assert_int_eq(st_record_push(NULL, 1, 1, NULL, &seq), ST_EINVAL);
  ck_assert_int_eq(st_record_remove(NULL, 1, 1, &e), ST_EINVAL);
  ck_assert_int_eq(st_record_find(NULL, 1, 1, &e), ST_EINVAL);
  ck_assert_int_eq(st_record_pop(NULL, &e), ST_EINVAL);
  ck_assert_uint_eq(st_record_count(NULL, 0), 0);
  ck_assert_uint_eq(st_record_count(NULL, 1), 0);
  ck_assert_uint_eq(seq, 1);
  ck_assert_uint_eq(e.seq, 2);
  st_record_destroy(NULL, NULL, NULL);
}
END_TEST

START_TEST(test_remove_returns_entry) {
  st_record_t *r = new_record();
  int payload[3] = {0};
  push_ok(r, 2, 100, &payload[0]);
  push_ok(r, 2, 200, &payload[1]);
  push_ok(r, 5, 100, &payload[2]);
  st_record_entry_t e;
  ck_assert_int_eq(st_record_remove(r, 2, 200, &e), ST_OK);
  ASSERT_ENTRY(e, 2, 2, 200, &payload[1]);
  ck_assert_int_eq(st_record_remove(r, 2, 200, &e), ST_ENOTFOUND);
  ck_assert_int_eq(st_record_find(r, 2, 200, &e), ST_ENOTFOUND);
  ASSERT_ENTRY(e, 2, 2, 200, &payload[1]); /* untouched by the failures */
  ck_assert_uint_eq(st_record_count(r, 0), 2);
  ck_assert_uint_eq(st_record_count(r, 2), 1);
  ck_assert_uint_eq(st_record_count(r, 5), 1);

  /* find leaves it in place; a NULL out pointer is allowed for both. */
  ck_assert_int_eq(st_record_find(r, 5, 100, &e), ST_OK);
  ASSERT_ENTRY(e, 3, 5, 100, &payload[2]);
  ck_assert_int_eq(st_record_find(r, 5, 100, NULL), ST_OK);
  ck_assert_uint_eq(st_record_count(r, 5), 1);
  ck_assert_int_eq(st_record_remove(r, 5, 100, NULL), ST_OK);
  ck_assert_int_eq(st_record_find(r, 5, 100, NULL), ST_ENOTFOUND);
  /* (2, 100) is unaffected by the removal of (5, 100). */
  ck_assert_int_eq(st_record_find(r, 2, 100, &e), ST_OK);
  ASSERT_ENTRY(e, 1, 2, 100, &payload[0]);
  ck_assert_uint_eq(st_record_count(r, 0), 1);
  ck_assert_uint_eq(st_record_count(r, 5), 0);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_pop_newest_first_skipping_removed) {
  st_record_t *r = new_record();
  for (uint64_t i = 1; i <= 10; i++) push_ok(r, 1 + (int)(i % 3), i, data_for(i));
  /* Remove the newest (10), an inner one (5) and the oldest (1). */
  ck_assert_int_eq(st_record_remove(r, 1 + 10 % 3, 10, NULL), ST_OK);
  ck_assert_int_eq(st_record_remove(r, 1 + 5 % 3, 5, NULL), ST_OK);
  ck_assert_int_eq(st_record_remove(r, 1 + 1 % 3, 1, NULL), ST_OK);
  static const uint64_t order[] = {9, 8, 7};
  st_record_entry_t e;
  for (size_t i = 0; i < 3; i++) {
    ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
    ASSERT_ENTRY(e, order[i], 1 + (int)(order[i] % 3), order[i],
                 data_for(order[i]));
  }
  /* A push between pops is the newest. */
  push_ok(r, 1, 11, data_for(11));
  ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
  ASSERT_ENTRY(e, 11, 1, 11, data_for(11));
  static const uint64_t rest[] = {6, 4, 3, 2};
  for (size_t i = 0; i < 4; i++) {
    ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
    ASSERT_ENTRY(e, rest[i], 1 + (int)(rest[i] % 3), rest[i], data_for(rest[i]));
  }
  ck_assert_uint_eq(st_record_count(r, 0), 0);
  e.seq = 1234;
  ck_assert_int_eq(st_record_pop(r, &e), ST_EEMPTY);
  ck_assert_uint_eq(e.seq, 1234);
  /* Popped entries are gone from the index too. */
  for (uint64_t i = 1; i <= 11; i++)
    ck_assert_int_eq(st_record_find(r, 1 + (int)(i % 3), i, NULL), ST_ENOTFOUND);
  /* And the record is reusable. */
  ck_assert_uint_eq(push_ok(r, 1, 1, NULL), 12);
  ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
  ck_assert_uint_eq(e.seq, 12);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

START_TEST(test_count_per_kind) {
  st_record_t *r = new_record();
  size_t want[ST_RECORD_MAX_KIND + 1] = {0};
  test_rng_t rng = test_rng_seeded(8080);
  for (uint64_t i = 0; i < 3000; i++) {
    int kind = 1 + (int)(test_rng_next(&rng) % ST_RECORD_MAX_KIND);
    push_ok(r, kind, i, NULL);
    want[kind]++;
  }
  for (uint64_t i = 0; i < 3000; i += 3) {
    st_record_entry_t e;
    /* Try every kind: exactly one holds key i. */
    int found = 0;
    for (int k = 1; k <= ST_RECORD_MAX_KIND; k++)
      if (st_record_remove(r, k, i, &e) == ST_OK) {
        found++;
        want[k]--;
        require_msg(e.kind == k && e.key == i, "removed (%d, %llu) as (%d, %llu)",
                    k, (unsigned long long)i, e.kind, (unsigned long long)e.key);
      }
    require_msg(found == 1, "key %llu removed under %d kinds",
                (unsigned long long)i, found);
  }
  size_t total = 0;
  for (int k = 1; k <= ST_RECORD_MAX_KIND; k++) {
    ck_assert_uint_eq(st_record_count(r, k), want[k]);
    total += want[k];
  }
  ck_assert_uint_eq(total, 2000);
  ck_assert_uint_eq(st_record_count(r, 0), total);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

/* Iteration newest first, over holes, equals the pop order; before any
 * compaction (few entries) and after many removals from the middle. */
START_TEST(test_iteration_equals_pop_order) {
  const size_t n = _i == 0 ? 40 : 5000;
  st_record_t *r = new_record();
  test_rng_t rng = test_rng_seeded(31337 + (uint64_t)_i);
  for (uint64_t i = 0; i < n; i++) push_ok(r, 1 + (int)(i % 4), i, data_for(i));
  /* Remove about 60 %, never the newest, so holes stay inside. */
  for (uint64_t i = 0; i + 1 < n; i++)
    if (test_rng_next(&rng) % 5 < 3) {
      int rc = st_record_remove(r, 1 + (int)(i % 4), i, NULL);
      require_msg(rc == ST_OK, "remove(key %llu) = %d", (unsigned long long)i,
                  rc);
    }

  /* The iterator lists exactly the survivors, newest first. */
  st_record_iter_t it;
  st_record_iter_init(&it, r);
  st_record_entry_t e;
  uint64_t expect = n; /* keys are seq - 1 */
  size_t listed = 0;
  while (st_record_iter_next(&it, &e)) {
    /* the survivor before `expect`: the next key still found */
    do expect--;
    while (st_record_find(r, 1 + (int)(expect % 4), expect, NULL) != ST_OK);
    require_msg(e.key == expect && e.seq == expect + 1 &&
                    e.data == data_for(expect),
                "iteration #%zu: key %llu seq %llu, expected key %llu", listed,
                (unsigned long long)e.key, (unsigned long long)e.seq,
                (unsigned long long)expect);
    listed++;
  }
  ck_assert_uint_eq(listed, st_record_count(r, 0));
  /* The end is sticky. */
  ck_assert_int_eq(st_record_iter_next(&it, &e), 0);
  assert_pop_order_equals_iteration(r);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

/* ------------------------------------------------------------------ model */

enum {
  M_KINDS = 4,
  M_KEYS = 1024,
  M_STEPS = 200000,
  M_PHASE = 5000,
  M_CHECK_EVERY = 997
};
static const int model_kinds[M_KINDS] = {1, 2, 7, ST_RECORD_MAX_KIND};

typedef struct {
  uint64_t seq;
  int kind_ix, key_ix;
  bool live;
} ment_t;

typedef struct {
  ment_t *list; /* arrival order, dead entries kept until compacted */
  size_t len, cap;
  uint64_t seq_of[M_KINDS][M_KEYS];   /* 0: not recorded */
  uint32_t live_ix[M_KINDS][M_KEYS];  /* position in `live` */
  uint32_t live[M_KINDS * M_KEYS][2]; /* (kind_ix, key_ix) of live entries */
  size_t nlive;
  size_t by_kind[M_KINDS];
  uint64_t next_seq;
  uint64_t keys[M_KEYS];
  size_t compactions, max_live;
} model_t;

static void model_init(model_t *m, int shape, uint64_t seed) {
  memset(m, 0, sizeof *m);
  m->next_seq = 1;
  m->cap = 1024;
  m->list = malloc(m->cap * sizeof *m->list);
  ck_assert_ptr_nonnull(m->list);
  test_rng_t rng = test_rng_seeded(seed);
  for (uint64_t i = 0; i < M_KEYS; i++) {
    switch (shape) {
      case 0: m->keys[i] = test_rng_next(&rng); break; /* distinct w.h.p. */
      case 1: m->keys[i] = i << 20; break;
      case 2: m->keys[i] = i << 32; break;
      case 3: m->keys[i] = i << 52; break;
      case 4: /* half homed in the last bucket (kind 1), half scattered */
        m->keys[i] = i % 2 == 0 ? colliding_key(i) : test_rng_next(&rng);
        break;
      default: ck_abort_msg("bad key shape %d", shape);
    }
  }
  /* Keys must be distinct for the model to hold (shape 0 and 4 are random). */
  for (size_t i = 0; i < M_KEYS; i++)
    for (size_t j = i + 1; j < M_KEYS; j++)
      require_msg(m->keys[i] != m->keys[j], "shape %d: keys %zu, %zu equal",
                  shape, i, j);
}

static void *model_data(uint64_t seq) { return data_for(seq * 7); }

static size_t model_find_pos(const model_t *m, uint64_t seq) {
  size_t lo = 0, hi = m->len; /* list is sorted by seq */
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (m->list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  require_msg(lo < m->len && m->list[lo].seq == seq, "model lost seq %llu",
              (unsigned long long)seq);
  return lo;
}

static void model_push(model_t *m, int ki, int kk) {
  if (m->len == m->cap) {
    m->cap *= 2;
    m->list = realloc(m->list, m->cap * sizeof *m->list);
    ck_assert_ptr_nonnull(m->list);
  }
  uint64_t seq = m->next_seq++;
  m->list[m->len++] = (ment_t){seq, ki, kk, true};
  m->seq_of[ki][kk] = seq;
  m->live_ix[ki][kk] = (uint32_t)m->nlive;
  m->live[m->nlive][0] = (uint32_t)ki;
  m->live[m->nlive][1] = (uint32_t)kk;
  m->nlive++;
  m->by_kind[ki]++;
  if (m->nlive > m->max_live) m->max_live = m->nlive;
}

/* Forgets (ki, kk), which is live; applies record.c's rule: trailing holes
 * dropped, compaction when len > 64 and holes outnumber live entries. */
static void model_remove(model_t *m, int ki, int kk) {
  size_t pos = model_find_pos(m, m->seq_of[ki][kk]);
  m->list[pos].live = false;
  m->seq_of[ki][kk] = 0;
  uint32_t ix = m->live_ix[ki][kk];
  m->nlive--;
  m->live[ix][0] = m->live[m->nlive][0];
  m->live[ix][1] = m->live[m->nlive][1];
  m->live_ix[m->live[ix][0]][m->live[ix][1]] = ix;
  m->by_kind[ki]--;
  while (m->len > 0 && !m->list[m->len - 1].live) m->len--;
  if (m->len > 64 && m->len > 2 * m->nlive) {
    size_t j = 0;
    for (size_t i = 0; i < m->len; i++)
      if (m->list[i].live) m->list[j++] = m->list[i];
    m->len = j;
    m->compactions++;
  }
}

static void model_check_counts(const model_t *m, const st_record_t *r,
                               size_t step) {
  size_t total = st_record_count(r, 0);
  require_msg(total == m->nlive, "step %zu: count %zu, model %zu", step, total,
              m->nlive);
  for (int ki = 0; ki < M_KINDS; ki++) {
    size_t c = st_record_count(r, model_kinds[ki]);
    require_msg(c == m->by_kind[ki], "step %zu: count(kind %d) %zu, model %zu",
                step, model_kinds[ki], c, m->by_kind[ki]);
  }
}

/* The iteration lists the model's live entries newest first, and every live
 * entry is found with its fields. */
static void model_check_all(const model_t *m, const st_record_t *r,
                            size_t step) {
  st_record_iter_t it;
  st_record_iter_init(&it, r);
  size_t pos = m->len;
  st_record_entry_t e;
  while (st_record_iter_next(&it, &e)) {
    while (pos > 0 && !m->list[pos - 1].live) pos--;
    require_msg(pos > 0, "step %zu: iteration yields more than %zu entries",
                step, m->nlive);
    const ment_t *x = &m->list[--pos];
    require_msg(e.seq == x->seq && e.kind == model_kinds[x->kind_ix] &&
                    e.key == m->keys[x->key_ix] && e.data == model_data(x->seq),
                "step %zu: iteration gave seq %llu (kind %d, key %#llx), "
                "model seq %llu (kind %d, key %#llx)",
                step, (unsigned long long)e.seq, e.kind,
                (unsigned long long)e.key, (unsigned long long)x->seq,
                model_kinds[x->kind_ix],
                (unsigned long long)m->keys[x->key_ix]);
  }
  while (pos > 0 && !m->list[pos - 1].live) pos--;
  require_msg(pos == 0, "step %zu: iteration stopped with %zu model entries "
              "left", step, pos);
  for (size_t i = 0; i < m->nlive; i++) {
    int ki = (int)m->live[i][0], kk = (int)m->live[i][1];
    int rc = st_record_find(r, model_kinds[ki], m->keys[kk], &e);
    require_msg(rc == ST_OK && e.seq == m->seq_of[ki][kk],
                "step %zu: find(kind %d, key %#llx) = %d, seq %llu, model %llu",
                step, model_kinds[ki], (unsigned long long)m->keys[kk], rc,
                (unsigned long long)e.seq,
                (unsigned long long)m->seq_of[ki][kk]);
  }
}

/* Loop index: the key shape (see model_init). */
START_TEST(test_random_ops_against_model) {
  const int shape = _i;
  model_t *m = malloc(sizeof *m);
  ck_assert_ptr_nonnull(m);
  model_init(m, shape, 2024 + (uint64_t)shape);
  test_rng_t rng = test_rng_seeded(99 + (uint64_t)shape);
  st_record_t *r = new_record();
  size_t n_push = 0, n_exist = 0, n_remove = 0, n_absent = 0, n_pop = 0,
         n_empty = 0;

  for (size_t step = 0; step < M_STEPS; step++) {
    const bool growing = (step / M_PHASE) % 2 == 0;
    unsigned dice = (unsigned)(test_rng_next(&rng) % 100);
    int ki = (int)(test_rng_next(&rng) % M_KINDS);
    int kk = (int)(test_rng_next(&rng) % M_KEYS);
    const int kind = model_kinds[ki];
    const uint64_t key = m->keys[kk];
    st_record_entry_t e = {.seq = 0xdead};

    /* growing: 55 push, 25 remove live, 5 remove any, 5 pop, 10 find;
     * shrinking: 30 push, 40 remove live, 10 remove any, 10 pop, 10 find. */
    unsigned p_push = growing ? 55 : 30, p_live = growing ? 80 : 70,
             p_any = growing ? 85 : 80, p_pop = 90;
    if (dice < p_push) {
      uint64_t seq = 0xbeef;
      int rc = st_record_push(r, kind, key, model_data(m->next_seq), &seq);
      if (m->seq_of[ki][kk] != 0) {
        require_msg(rc == ST_EEXIST && seq == 0xbeef,
                    "step %zu: push of recorded (%d, %#llx) = %d, seq %llu",
                    step, kind, (unsigned long long)key, rc,
                    (unsigned long long)seq);
        n_exist++;
      } else {
        require_msg(rc == ST_OK && seq == m->next_seq,
                    "step %zu: push(%d, %#llx) = %d, seq %llu, model %llu",
                    step, kind, (unsigned long long)key, rc,
                    (unsigned long long)seq, (unsigned long long)m->next_seq);
        model_push(m, ki, kk);
        n_push++;
      }
    } else if (dice < p_any) {
      if (dice < p_live && m->nlive > 0) { /* a live entry, anywhere */
        size_t pick = (size_t)(test_rng_next(&rng) % m->nlive);
        ki = (int)m->live[pick][0];
        kk = (int)m->live[pick][1];
      }
      uint64_t want_seq = m->seq_of[ki][kk];
      int rc = st_record_remove(r, model_kinds[ki], m->keys[kk], &e);
      if (want_seq != 0) {
        require_msg(rc == ST_OK && e.seq == want_seq &&
                        e.kind == model_kinds[ki] && e.key == m->keys[kk] &&
                        e.data == model_data(want_seq),
                    "step %zu: remove(%d, %#llx) = %d, seq %llu (kind %d, key "
                    "%#llx), model seq %llu",
                    step, model_kinds[ki], (unsigned long long)m->keys[kk], rc,
                    (unsigned long long)e.seq, e.kind,
                    (unsigned long long)e.key, (unsigned long long)want_seq);
        model_remove(m, ki, kk);
        n_remove++;
      } else {
        require_msg(rc == ST_ENOTFOUND && e.seq == 0xdead,
                    "step %zu: remove of absent (%d, %#llx) = %d", step,
                    model_kinds[ki], (unsigned long long)m->keys[kk], rc);
        n_absent++;
      }
    } else if (dice < p_pop) {
      int rc = st_record_pop(r, &e);
      if (m->nlive == 0) {
        require_msg(rc == ST_EEMPTY && e.seq == 0xdead,
                    "step %zu: pop of empty = %d", step, rc);
        n_empty++;
      } else {
        const ment_t x = m->list[m->len - 1]; /* the model keeps no trailing
                                                 holes either */
        require_msg(rc == ST_OK && e.seq == x.seq &&
                        e.kind == model_kinds[x.kind_ix] &&
                        e.key == m->keys[x.key_ix] &&
                        e.data == model_data(x.seq),
                    "step %zu: pop = %d, seq %llu (kind %d, key %#llx), model "
                    "newest seq %llu (kind %d, key %#llx)",
                    step, rc, (unsigned long long)e.seq, e.kind,
                    (unsigned long long)e.key, (unsigned long long)x.seq,
                    model_kinds[x.kind_ix],
                    (unsigned long long)m->keys[x.key_ix]);
        model_remove(m, x.kind_ix, x.key_ix);
        n_pop++;
      }
    } else {
      int rc = st_record_find(r, kind, key, &e);
      uint64_t want_seq = m->seq_of[ki][kk];
      require_msg(want_seq != 0 ? rc == ST_OK && e.seq == want_seq &&
                                      e.data == model_data(want_seq)
                                : rc == ST_ENOTFOUND && e.seq == 0xdead,
                  "step %zu: find(%d, %#llx) = %d, seq %llu, model seq %llu",
                  step, kind, (unsigned long long)key, rc,
                  (unsigned long long)e.seq, (unsigned long long)want_seq);
    }
    model_check_counts(m, r, step);
    if (step % M_CHECK_EVERY == 0) model_check_all(m, r, step);
  }
  model_check_all(m, r, M_STEPS);

  /* The workload did what it is for: every branch taken, the index grown
   * well past its 16 buckets, hundreds of compactions. */
  ck_assert_uint_gt(n_push, 40000);
  ck_assert_uint_gt(n_exist, 1000);
  ck_assert_uint_gt(n_remove, 20000);
  ck_assert_uint_gt(n_absent, 1000);
  ck_assert_uint_gt(n_pop, 5000);
  ck_assert_uint_gt(n_empty, 10);
  ck_assert_uint_gt(m->max_live, 500);
  ck_assert_uint_gt(m->compactions, 100);

  /* Drain: pops in the model's newest-first order. */
  assert_pop_order_equals_iteration(r);
  st_record_destroy(r, NULL, NULL);
  free(m->list);
  free(m);
}
END_TEST

/* 300 keys homed in the index's last bucket: one probe run wrapping around
 * the table end. Removed in random order, each removal followed by a find
 * of every key (the backward shift must keep all remaining reachable). */
START_TEST(test_colliding_keys_backward_shift) {
  enum { N = 300 };
  uint64_t keys[N];
  for (uint64_t i = 0; i < N; i++) keys[i] = colliding_key(i + 1);
  st_record_t *r = new_record();
  for (size_t i = 0; i < N; i++) {
    push_ok(r, 1, keys[i], data_for(i));
    /* The same keys under kind 2 hash elsewhere: bystanders. */
    if (i % 3 == 0) push_ok(r, 2, keys[i], data_for(i + N));
  }
  size_t order[N];
  for (size_t i = 0; i < N; i++) order[i] = i;
  test_rng_t rng = test_rng_seeded(1234);
  for (size_t i = N; i > 1; i--) {
    size_t j = (size_t)(test_rng_next(&rng) % i);
    size_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  bool gone[N] = {false};
  for (size_t n = 0; n < N; n++) {
    size_t victim = order[n];
    st_record_entry_t e;
    int rc = st_record_remove(r, 1, keys[victim], &e);
    require_msg(rc == ST_OK && e.key == keys[victim] &&
                    e.data == data_for(victim),
                "removal #%zu of key #%zu: rc %d", n, victim, rc);
    gone[victim] = true;
    for (size_t i = 0; i < N; i++) {
      rc = st_record_find(r, 1, keys[i], &e);
      require_msg(gone[i] ? rc == ST_ENOTFOUND
                          : rc == ST_OK && e.key == keys[i] &&
                                e.data == data_for(i) && e.seq == 1 + i + (i + 2) / 3,
                  "after %zu removals: find(1, key #%zu) = %d (seq %llu), "
                  "removed: %d",
                  n + 1, i, rc, (unsigned long long)e.seq, (int)gone[i]);
    }
  }
  ck_assert_uint_eq(st_record_count(r, 1), 0);
  ck_assert_uint_eq(st_record_count(r, 2), N / 3);
  for (size_t i = 0; i < N; i += 3)
    ck_assert_int_eq(st_record_find(r, 2, keys[i], NULL), ST_OK);
  assert_pop_order_equals_iteration(r);
  st_record_destroy(r, NULL, NULL);
}
END_TEST

/* ----------------------------------------------------- destroy, bulk drain */

typedef struct {
  unsigned *calls; /* per entry */
  size_t total;
  size_t n;
} free_ctx_t;

static void count_free(void *data, void *ctx) {
  free_ctx_t *c = ctx;
  unsigned *slot = data;
  require_msg(slot >= c->calls && slot < c->calls + c->n,
              "free_data got a pointer (%p) that was never recorded",
              (void *)slot);
  (*slot)++;
  c->total++;
}

/* Loop index: 0 leaves holes in the array, 1 forces compactions too. */
START_TEST(test_destroy_frees_remaining_once) {
  const size_t n = _i == 0 ? 50 : 5000;
  free_ctx_t ctx = {calloc(n, sizeof(unsigned)), 0, n};
  ck_assert_ptr_nonnull(ctx.calls);
  bool remains[5000];
  st_record_t *r = new_record();
  for (size_t i = 0; i < n; i++) {
    push_ok(r, 1 + (int)(i % 5), i, &ctx.calls[i]);
    remains[i] = true;
  }
  test_rng_t rng = test_rng_seeded(555 + (uint64_t)_i);
  size_t expected = n;
  for (size_t i = 0; i < n; i++)
    if (test_rng_next(&rng) % 10 < 7) {
      int rc = st_record_remove(r, 1 + (int)(i % 5), i, NULL);
      require_msg(rc == ST_OK, "remove(key %zu) = %d", i, rc);
      remains[i] = false;
      expected--;
    }
  for (int k = 0; k < 5 && expected > 0; k++) {
    st_record_entry_t e;
    ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
    remains[e.key] = false;
    expected--;
  }
  ck_assert_uint_eq(st_record_count(r, 0), expected);
  st_record_destroy(r, count_free, &ctx);
  ck_assert_uint_eq(ctx.total, expected);
  for (size_t i = 0; i < n; i++)
    require_msg(ctx.calls[i] == (remains[i] ? 1u : 0u),
                "entry %zu (%s): free_data called %u times", i,
                remains[i] ? "remaining" : "removed or popped", ctx.calls[i]);
  free(ctx.calls);
}
END_TEST

START_TEST(test_destroy_without_free_data_and_empty) {
  /* Entries left, no callback: just freed (ASan/LSan would see a leak). */
  st_record_t *r = new_record();
  for (uint64_t i = 0; i < 200; i++) push_ok(r, 3, i, NULL);
  st_record_destroy(r, NULL, NULL);
  /* Emptied record: the callback is never called. */
  free_ctx_t ctx = {calloc(1, sizeof(unsigned)), 0, 1};
  ck_assert_ptr_nonnull(ctx.calls);
  r = new_record();
  push_ok(r, 3, 1, ctx.calls);
  ck_assert_int_eq(st_record_remove(r, 3, 1, NULL), ST_OK);
  st_record_destroy(r, count_free, &ctx);
  ck_assert_uint_eq(ctx.total, 0);
  ck_assert_uint_eq(ctx.calls[0], 0);
  free(ctx.calls);
}
END_TEST

/* 100,000 entries, removed in a random order: each removal returns its own
 * entry, and the record ends empty and reusable. */
START_TEST(test_bulk_push_remove_random_order) {
  enum { N = 100000 };
  uint64_t *keys = malloc(N * sizeof *keys);
  uint32_t *order = malloc(N * sizeof *order);
  ck_assert_ptr_nonnull(keys);
  ck_assert_ptr_nonnull(order);
  test_rng_t rng = test_rng_seeded(777777);
  const uint64_t odd = test_rng_next(&rng) | 1; /* distinct keys */
  st_record_t *r = new_record();
  for (uint32_t i = 0; i < N; i++) {
    keys[i] = (uint64_t)(i + 1) * odd;
    order[i] = i;
    uint64_t seq = push_ok(r, 1 + (int)(i % 3), keys[i], data_for(i));
    require_msg(seq == (uint64_t)i + 1, "push #%u: seq %llu", (unsigned)i,
                (unsigned long long)seq);
  }
  ck_assert_uint_eq(st_record_count(r, 0), N);
  for (uint32_t i = N; i > 1; i--) {
    uint32_t j = (uint32_t)(test_rng_next(&rng) % i);
    uint32_t t = order[i - 1];
    order[i - 1] = order[j];
    order[j] = t;
  }
  for (uint32_t n = 0; n < N; n++) {
    uint32_t i = order[n];
    st_record_entry_t e;
    int rc = st_record_remove(r, 1 + (int)(i % 3), keys[i], &e);
    require_msg(rc == ST_OK && e.seq == (uint64_t)i + 1 &&
                    e.key == keys[i] && e.kind == 1 + (int)(i % 3) &&
                    e.data == data_for(i),
                "removal #%u of entry %u: rc %d, seq %llu, key %#llx", n, i,
                rc, (unsigned long long)e.seq, (unsigned long long)e.key);
    if (n % 1000 == 0) {
      require_msg(st_record_count(r, 0) == N - n - 1, "count %zu after %u",
                  st_record_count(r, 0), n + 1);
      /* A few survivors are still found. */
      for (uint32_t k = n + 1; k < N && k < n + 20; k++) {
        uint32_t s = order[k];
        rc = st_record_find(r, 1 + (int)(s % 3), keys[s], &e);
        require_msg(rc == ST_OK && e.seq == (uint64_t)s + 1,
                    "after %u removals: find entry %u = %d", n + 1, s, rc);
      }
    }
  }
  ck_assert_uint_eq(st_record_count(r, 0), 0);
  for (int k = 1; k <= 3; k++) ck_assert_uint_eq(st_record_count(r, k), 0);
  st_record_entry_t e;
  ck_assert_int_eq(st_record_pop(r, &e), ST_EEMPTY);
  st_record_iter_t it;
  st_record_iter_init(&it, r);
  ck_assert_int_eq(st_record_iter_next(&it, &e), 0);
  ck_assert_int_eq(st_record_find(r, 1, keys[0], NULL), ST_ENOTFOUND);
  /* Reusable; the sequence goes on. */
  ck_assert_uint_eq(push_ok(r, 1, keys[0], NULL), N + 1);
  ck_assert_int_eq(st_record_pop(r, &e), ST_OK);
  ck_assert_uint_eq(e.key, keys[0]);
  st_record_destroy(r, NULL, NULL);
  free(keys);
  free(order);
}
END_TEST

Suite *record_suite(void) {
  Suite *s = suite_create("record");

  TCase *basics = tcase_create("basics");
  tcase_add_test(basics, test_new_record_is_empty);
  tcase_add_test(basics, test_push_seq_counts_arrivals_from_one);
  tcase_add_test(basics, test_duplicate_key_within_kind);
  tcase_add_test(basics, test_invalid_kinds);
  tcase_add_test(basics, test_null_record);
  tcase_add_test(basics, test_remove_returns_entry);
  tcase_add_test(basics, test_pop_newest_first_skipping_removed);
  tcase_add_test(basics, test_count_per_kind);
  tcase_add_loop_test(basics, test_iteration_equals_pop_order, 0, 2);
  suite_add_tcase(s, basics);

  TCase *model = tcase_create("model");
  tcase_add_loop_test(model, test_random_ops_against_model, 0, 5);
  tcase_add_test(model, test_colliding_keys_backward_shift);
  suite_add_tcase(s, model);

  TCase *life = tcase_create("lifetime");
  tcase_add_loop_test(life, test_destroy_frees_remaining_once, 0, 2);
  tcase_add_test(life, test_destroy_without_free_data_and_empty);
  tcase_add_test(life, test_bulk_push_remove_random_order);
  suite_add_tcase(s, life);
  return s;
}
