/* Names suite: st_idgen_*, st_slots_* and st_namepool_* against the contract
 * in supertester/names.h.
 *
 * - idgen: sequential from the first value; four threads drawing 250,000 ids
 *   each get 1,000,000 distinct ids, exactly first .. first + 999,999.
 * - slots: the lowest free slot every time (one or several free, across word
 *   boundaries), ST_ENOTFOUND for slots not held and double releases,
 *   st_slots_held, in_use, and a 1,000,000-step random acquire/release run
 *   against a bool-array model (at most 50 held) whose high water mark must
 *   stay at most 50: the bound on atoms the toolkit creates. ST_ERANGE at
 *   ST_SLOTS_MAX held.
 * - namepool: keys are independent pools, 10,000 keys (several rehashes),
 *   keys equal in their low 20 bits, unknown keys, in_use and high_water
 *   totals against a model. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/names.h"
#include "suites.h"
#include "test_util.h"

/* ---------------------------------------------------------------- helpers */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

static st_slots_t *new_slots(void) {
  st_slots_t *s = NULL;
  int rc = st_slots_create(&s);
  ck_assert_msg(rc == ST_OK && s != NULL, "st_slots_create = %d", rc);
  return s;
}

static st_namepool_t *new_pool(void) {
  st_namepool_t *p = NULL;
  int rc = st_namepool_create(&p);
  ck_assert_msg(rc == ST_OK && p != NULL, "st_namepool_create = %d", rc);
  return p;
}

static uint32_t acquire_ok(st_slots_t *s) {
  uint32_t slot = UINT32_MAX;
  int rc = st_slots_acquire(s, &slot);
  require_msg(rc == ST_OK, "st_slots_acquire = %d", rc);
  return slot;
}

static void release_ok(st_slots_t *s, uint32_t slot) {
  int rc = st_slots_release(s, slot);
  require_msg(rc == ST_OK, "st_slots_release(%u) = %d", (unsigned)slot, rc);
}

static uint32_t pool_acquire_ok(st_namepool_t *p, uint64_t key) {
  uint32_t slot = UINT32_MAX;
  int rc = st_namepool_acquire(p, key, &slot);
  require_msg(rc == ST_OK, "st_namepool_acquire(key %#llx) = %d",
              (unsigned long long)key, rc);
  return slot;
}

static void pool_release_ok(st_namepool_t *p, uint64_t key, uint32_t slot) {
  int rc = st_namepool_release(p, key, slot);
  require_msg(rc == ST_OK, "st_namepool_release(key %#llx, %u) = %d",
              (unsigned long long)key, (unsigned)slot, rc);
}

/* Lowest index i < n with !held[i]; n when all are held. */
static uint32_t model_lowest_free(const bool *held, uint32_t n) {
  uint32_t i = 0;
  while (i < n && held[i]) i++;
  return i;
}

/* ------------------------------------------------------------------ idgen */

START_TEST(test_idgen_sequential_from_first) {
  static const uint64_t firsts[] = {0, 1, 1000, UINT64_C(1) << 40,
                                    UINT64_MAX - 100};
  for (size_t f = 0; f < sizeof firsts / sizeof firsts[0]; f++) {
    st_idgen_t g;
    st_idgen_init(&g, firsts[f]);
    for (uint64_t i = 0; i < 100; i++) {
      uint64_t id = st_idgen_next(&g);
      ck_assert_msg(id == firsts[f] + i,
                    "first %llu: id #%llu is %llu, expected %llu",
                    (unsigned long long)firsts[f], (unsigned long long)i,
                    (unsigned long long)id,
                    (unsigned long long)(firsts[f] + i));
    }
  }
}
END_TEST

enum { ID_THREADS = 4, IDS_PER_THREAD = 250000 };

typedef struct {
  st_idgen_t *g;
  pthread_barrier_t *start;
  uint64_t *out;
} id_job_t;

static void *draw_ids(void *arg) {
  id_job_t *job = arg;
  pthread_barrier_wait(job->start);
  for (size_t i = 0; i < IDS_PER_THREAD; i++) job->out[i] = st_idgen_next(job->g);
  return NULL;
}

START_TEST(test_idgen_unique_across_threads) {
  const uint64_t first = UINT64_C(5000000000);
  const size_t total = (size_t)ID_THREADS * IDS_PER_THREAD;
  st_idgen_t g;
  st_idgen_init(&g, first);
  uint64_t *ids = malloc(total * sizeof *ids);
  ck_assert_ptr_nonnull(ids);
  pthread_barrier_t start;
  ck_assert_int_eq(pthread_barrier_init(&start, NULL, ID_THREADS), 0);
  pthread_t threads[ID_THREADS];
  id_job_t jobs[ID_THREADS];
  for (int t = 0; t < ID_THREADS; t++) {
    jobs[t] = (id_job_t){&g, &start, ids + (size_t)t * IDS_PER_THREAD};
    ck_assert_int_eq(pthread_create(&threads[t], NULL, draw_ids, &jobs[t]), 0);
  }
  for (int t = 0; t < ID_THREADS; t++)
    ck_assert_int_eq(pthread_join(threads[t], NULL), 0);
  pthread_barrier_destroy(&start);

  /* Each thread sees its own ids increasing (one counter, fetch-and-add). */
  for (int t = 0; t < ID_THREADS; t++)
    for (size_t i = 1; i < IDS_PER_THREAD; i++) {
      const uint64_t *o = jobs[t].out;
      require_msg(o[i] > o[i - 1], "thread %d: id %llu then %llu", t,
                  (unsigned long long)o[i - 1], (unsigned long long)o[i]);
    }

  qsort(ids, total, sizeof *ids, cmp_u64);
  for (size_t i = 1; i < total; i++)
    require_msg(ids[i] > ids[i - 1], "id %llu handed out twice (rank %zu)",
                (unsigned long long)ids[i], i);
  /* Distinct, so exactly first .. first + total - 1: nothing skipped. */
  ck_assert_uint_eq(ids[0], first);
  ck_assert_uint_eq(ids[total - 1], first + total - 1);
  ck_assert_uint_eq(st_idgen_next(&g), first + total);
  free(ids);
}
END_TEST

/* ------------------------------------------------------------------ slots */

START_TEST(test_slots_first_acquisitions_count_up) {
  st_slots_t *s = new_slots();
  ck_assert_uint_eq(st_slots_in_use(s), 0);
  ck_assert_uint_eq(st_slots_high_water(s), 0);
  ck_assert_int_eq(st_slots_held(s, 0), 0);
  for (uint32_t i = 0; i < 10; i++) {
    uint32_t slot = acquire_ok(s);
    ck_assert_uint_eq(slot, i);
    ck_assert_int_eq(st_slots_held(s, i), 1);
    ck_assert_uint_eq(st_slots_in_use(s), i + 1);
    ck_assert_uint_eq(st_slots_high_water(s), i + 1);
  }
  ck_assert_int_eq(st_slots_held(s, 10), 0);
  st_slots_destroy(s);
}
END_TEST

START_TEST(test_slots_release_then_acquire_reuses) {
  st_slots_t *s = new_slots();
  for (int i = 0; i < 10; i++) acquire_ok(s);
  for (uint32_t k = 0; k < 10; k++) {
    release_ok(s, k);
    ck_assert_int_eq(st_slots_held(s, k), 0);
    ck_assert_uint_eq(st_slots_in_use(s), 9);
    ck_assert_uint_eq(acquire_ok(s), k);
    ck_assert_uint_eq(st_slots_in_use(s), 10);
    ck_assert_uint_eq(st_slots_high_water(s), 10);
  }
  st_slots_destroy(s);
}
END_TEST

START_TEST(test_slots_acquire_takes_smallest_of_several_free) {
  st_slots_t *s = new_slots();
  for (int i = 0; i < 10; i++) acquire_ok(s);
  /* Released in a scrambled order: they come back smallest first. */
  release_ok(s, 7);
  release_ok(s, 3);
  release_ok(s, 9);
  release_ok(s, 5);
  ck_assert_uint_eq(st_slots_in_use(s), 6);
  ck_assert_uint_eq(acquire_ok(s), 3);
  ck_assert_uint_eq(acquire_ok(s), 5);
  ck_assert_uint_eq(acquire_ok(s), 7);
  ck_assert_uint_eq(acquire_ok(s), 9);
  ck_assert_uint_eq(acquire_ok(s), 10);
  ck_assert_uint_eq(st_slots_high_water(s), 11);
  /* Release everything: the next is 0 again, the high water stays. */
  for (uint32_t k = 0; k <= 10; k++) release_ok(s, k);
  ck_assert_uint_eq(st_slots_in_use(s), 0);
  ck_assert_uint_eq(acquire_ok(s), 0);
  ck_assert_uint_eq(st_slots_high_water(s), 11);
  st_slots_destroy(s);
}
END_TEST

START_TEST(test_slots_release_not_held) {
  st_slots_t *s = new_slots();
  /* Empty pool: nothing is held, whatever the slot. */
  ck_assert_int_eq(st_slots_release(s, 0), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, 63), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, 64), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, ST_SLOTS_MAX), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, UINT32_MAX), ST_ENOTFOUND);
  for (int i = 0; i < 5; i++) acquire_ok(s);
  /* In an allocated word but not held; far beyond the allocation. */
  ck_assert_int_eq(st_slots_release(s, 5), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, 40), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, 1000000), ST_ENOTFOUND);
  ck_assert_int_eq(st_slots_release(s, UINT32_MAX), ST_ENOTFOUND);
  ck_assert_uint_eq(st_slots_in_use(s), 5);
  /* Double release. */
  ck_assert_int_eq(st_slots_release(s, 2), ST_OK);
  ck_assert_int_eq(st_slots_release(s, 2), ST_ENOTFOUND);
  ck_assert_uint_eq(st_slots_in_use(s), 4);
  ck_assert_int_eq(st_slots_held(s, 2), 0);
  /* The failed releases did not disturb the rest. */
  for (uint32_t k = 0; k < 5; k++)
    ck_assert_int_eq(st_slots_held(s, k), k != 2);
  ck_assert_uint_eq(acquire_ok(s), 2);
  ck_assert_uint_eq(acquire_ok(s), 5);
  ck_assert_uint_eq(st_slots_high_water(s), 6);
  st_slots_destroy(s);
}
END_TEST

START_TEST(test_slots_held_far_out_of_range) {
  st_slots_t *s = new_slots();
  acquire_ok(s);
  ck_assert_int_eq(st_slots_held(s, 0), 1);
  ck_assert_int_eq(st_slots_held(s, 1), 0);
  ck_assert_int_eq(st_slots_held(s, 64), 0);
  ck_assert_int_eq(st_slots_held(s, ST_SLOTS_MAX - 1), 0);
  ck_assert_int_eq(st_slots_held(s, ST_SLOTS_MAX), 0);
  ck_assert_int_eq(st_slots_held(s, UINT32_MAX), 0);
  st_slots_destroy(s);
}
END_TEST

/* Acquire 0..199 (four 64-bit words), free some slots at and around word
 * boundaries, and get them back in increasing order. */
START_TEST(test_slots_growth_across_words) {
  st_slots_t *s = new_slots();
  for (uint32_t i = 0; i < 200; i++) ck_assert_uint_eq(acquire_ok(s), i);
  ck_assert_uint_eq(st_slots_high_water(s), 200);
  release_ok(s, 130);
  release_ok(s, 65);
  release_ok(s, 64);
  ck_assert_uint_eq(st_slots_in_use(s), 197);
  ck_assert_uint_eq(acquire_ok(s), 64);
  ck_assert_uint_eq(acquire_ok(s), 65);
  ck_assert_uint_eq(acquire_ok(s), 130);
  ck_assert_uint_eq(acquire_ok(s), 200);
  ck_assert_uint_eq(st_slots_high_water(s), 201);

  static const uint32_t edges[] = {199, 192, 191, 128, 127, 63, 0, 1};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    release_ok(s, edges[i]);
  static const uint32_t back[] = {0, 1, 63, 127, 128, 191, 192, 199, 201};
  for (size_t i = 0; i < sizeof back / sizeof back[0]; i++)
    ck_assert_uint_eq(acquire_ok(s), back[i]);
  ck_assert_uint_eq(st_slots_in_use(s), 202);
  ck_assert_uint_eq(st_slots_high_water(s), 202);
  for (uint32_t k = 0; k < 202; k++) ck_assert_int_eq(st_slots_held(s, k), 1);
  ck_assert_int_eq(st_slots_held(s, 202), 0);

  /* Empty the pool from the top: the next slot is 0, then 1. */
  for (uint32_t k = 202; k-- > 0;) release_ok(s, k);
  ck_assert_uint_eq(st_slots_in_use(s), 0);
  ck_assert_uint_eq(acquire_ok(s), 0);
  ck_assert_uint_eq(acquire_ok(s), 1);
  st_slots_destroy(s);
}
END_TEST

/* The bound that matters: 1,000,000 random acquisitions and releases, never
 * more than 50 held, leave a high water mark of at most 50. Every acquire is
 * the model's lowest free slot; in_use matches after every step. Loop index:
 * the seed, and with it how strongly the walk leans towards full. */
enum { HW_STEPS = 1000000, HW_MAX_HELD = 50 };

START_TEST(test_slots_high_water_bounded_by_max_held) {
  test_rng_t rng = test_rng_seeded(4242 + (uint64_t)_i);
  /* Acquire with probability lean/8 while below the cap. */
  const unsigned lean = 3 + (unsigned)_i; /* 3/8, 4/8, 5/8 */
  st_slots_t *s = new_slots();
  bool model[HW_MAX_HELD + 1] = {false};
  uint32_t held[HW_MAX_HELD]; /* the held slots, unordered */
  size_t nheld = 0;
  uint32_t model_hw = 0;
  size_t acquisitions = 0;

  for (size_t step = 0; step < HW_STEPS; step++) {
    bool acquire = nheld == 0 ||
                   (nheld < HW_MAX_HELD && test_rng_next(&rng) % 8 < lean);
    if (acquire) {
      uint32_t want = model_lowest_free(model, HW_MAX_HELD + 1);
      uint32_t got = acquire_ok(s);
      require_msg(got == want,
                  "step %zu: acquired %u, lowest free is %u (%zu held)", step,
                  (unsigned)got, (unsigned)want, nheld);
      model[got] = true;
      held[nheld++] = got;
      if (got + 1 > model_hw) model_hw = got + 1;
      acquisitions++;
    } else {
      size_t pick = (size_t)(test_rng_next(&rng) % nheld);
      uint32_t slot = held[pick];
      held[pick] = held[--nheld];
      release_ok(s, slot);
      model[slot] = false;
      /* Now free: a second release must fail and change nothing. */
      if (test_rng_next(&rng) % 16 == 0) {
        int rc = st_slots_release(s, slot);
        require_msg(rc == ST_ENOTFOUND, "step %zu: double release of %u = %d",
                    step, (unsigned)slot, rc);
      }
    }
    size_t in_use = st_slots_in_use(s);
    require_msg(in_use == nheld, "step %zu: in_use %zu, model %zu", step,
                in_use, nheld);
    if (step % 4096 == 0) {
      for (uint32_t k = 0; k <= HW_MAX_HELD; k++)
        require_msg(st_slots_held(s, k) == (int)model[k],
                    "step %zu: held(%u) = %d, model %d", step, (unsigned)k,
                    st_slots_held(s, k), (int)model[k]);
      uint32_t hw = st_slots_high_water(s);
      require_msg(hw == model_hw, "step %zu: high water %u, model %u", step,
                  (unsigned)hw, (unsigned)model_hw);
    }
  }
  ck_assert_uint_ge(acquisitions, HW_STEPS / 3); /* the run did churn */
  ck_assert_uint_le(st_slots_high_water(s), HW_MAX_HELD);
  ck_assert_uint_eq(st_slots_high_water(s), model_hw);
  ck_assert_uint_eq(st_slots_in_use(s), nheld);
  st_slots_destroy(s);
}
END_TEST

/* ST_SLOTS_MAX slots held: the next acquire is ST_ERANGE, leaves *slot and
 * the counts alone; one release makes room again for exactly that slot. */
START_TEST(test_slots_range_limit) {
  st_slots_t *s = new_slots();
  for (uint32_t i = 0; i < ST_SLOTS_MAX; i++) {
    uint32_t slot = UINT32_MAX;
    int rc = st_slots_acquire(s, &slot);
    require_msg(rc == ST_OK && slot == i, "acquire #%u: rc %d, slot %u",
                (unsigned)i, rc, (unsigned)slot);
  }
  ck_assert_uint_eq(st_slots_in_use(s), ST_SLOTS_MAX);
  ck_assert_uint_eq(st_slots_high_water(s), ST_SLOTS_MAX);
  uint32_t slot = 12345678;
  ck_assert_int_eq(st_slots_acquire(s, &slot), ST_ERANGE);
  ck_assert_uint_eq(slot, 12345678);
  ck_assert_int_eq(st_slots_acquire(s, &slot), ST_ERANGE);
  ck_assert_uint_eq(st_slots_in_use(s), ST_SLOTS_MAX);
  ck_assert_uint_eq(st_slots_high_water(s), ST_SLOTS_MAX);
  ck_assert_int_eq(st_slots_held(s, ST_SLOTS_MAX), 0);

  release_ok(s, 4321);
  ck_assert_int_eq(st_slots_acquire(s, &slot), ST_OK);
  ck_assert_uint_eq(slot, 4321);
  release_ok(s, ST_SLOTS_MAX - 1);
  ck_assert_int_eq(st_slots_acquire(s, &slot), ST_OK);
  ck_assert_uint_eq(slot, ST_SLOTS_MAX - 1);
  ck_assert_uint_eq(st_slots_high_water(s), ST_SLOTS_MAX);
  st_slots_destroy(s);
}
END_TEST

START_TEST(test_slots_invalid_args) {
  ck_assert_int_eq(st_slots_create(NULL), ST_EINVAL);
  st_slots_t *s = new_slots();
  uint32_t slot = 777;
  ck_assert_int_eq(st_slots_acquire(NULL, &slot), ST_EINVAL);
  ck_assert_uint_eq(slot, 777);
  ck_assert_int_eq(st_slots_acquire(s, NULL), ST_EINVAL);
  ck_assert_int_eq(st_slots_release(NULL, 0), ST_EINVAL);
  ck_assert_int_eq(st_slots_held(NULL, 0), 0);
  /* The refused calls took nothing. */
  ck_assert_uint_eq(st_slots_in_use(s), 0);
  ck_assert_uint_eq(st_slots_high_water(s), 0);
  ck_assert_uint_eq(acquire_ok(s), 0);
  st_slots_destroy(s);
  st_slots_destroy(NULL);
}
END_TEST

/* --------------------------------------------------------------- namepool */

START_TEST(test_namepool_keys_are_independent) {
  st_namepool_t *p = new_pool();
  const uint64_t a = 0x1111, b = 0x2222;
  ck_assert_uint_eq(st_namepool_in_use(p), 0);
  ck_assert_uint_eq(st_namepool_high_water(p), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, a), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, a), 1);
  ck_assert_uint_eq(pool_acquire_ok(p, b), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, a), 2);
  ck_assert_uint_eq(pool_acquire_ok(p, b), 1);
  ck_assert_uint_eq(st_namepool_in_use(p), 5);
  ck_assert_uint_eq(st_namepool_high_water(p), 5);

  /* Releasing a's slot 1 frees nothing of b's. */
  pool_release_ok(p, a, 1);
  ck_assert_int_eq(st_namepool_release(p, a, 1), ST_ENOTFOUND);
  ck_assert_uint_eq(pool_acquire_ok(p, b), 2);
  ck_assert_uint_eq(pool_acquire_ok(p, a), 1);
  /* b holds 0..2, not 3; a never had 5. */
  ck_assert_int_eq(st_namepool_release(p, b, 3), ST_ENOTFOUND);
  ck_assert_int_eq(st_namepool_release(p, a, 5), ST_ENOTFOUND);
  ck_assert_uint_eq(st_namepool_in_use(p), 6);
  ck_assert_uint_eq(st_namepool_high_water(p), 6);

  /* Unknown keys, including 0 and the largest, hold nothing. */
  ck_assert_int_eq(st_namepool_release(p, 0x3333, 0), ST_ENOTFOUND);
  ck_assert_int_eq(st_namepool_release(p, 0, 0), ST_ENOTFOUND);
  ck_assert_int_eq(st_namepool_release(p, UINT64_MAX, 0), ST_ENOTFOUND);
  /* ...until they get slots of their own. */
  ck_assert_uint_eq(pool_acquire_ok(p, 0), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, UINT64_MAX), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, 0), 1);
  pool_release_ok(p, 0, 0);
  pool_release_ok(p, UINT64_MAX, 0);
  ck_assert_uint_eq(st_namepool_in_use(p), 7);
  ck_assert_uint_eq(st_namepool_high_water(p), 9);

  /* Everything back: in_use 0, the names ever built stay counted. */
  for (uint32_t k = 0; k < 3; k++) {
    pool_release_ok(p, a, k);
    pool_release_ok(p, b, k);
  }
  pool_release_ok(p, 0, 1);
  ck_assert_uint_eq(st_namepool_in_use(p), 0);
  ck_assert_uint_eq(st_namepool_high_water(p), 9);
  ck_assert_uint_eq(pool_acquire_ok(p, a), 0);
  ck_assert_uint_eq(st_namepool_high_water(p), 9);
  st_namepool_destroy(p);
}
END_TEST

/* 10,000 keys (the table starts at 16 buckets and grows at half full, so
 * about ten rehashes), three slots each taken round-robin so the rehashes
 * happen with pools half filled. Loop index: the key shape. */
enum { MANY_KEYS = 10000 };

static uint64_t key_shape(int shape, uint64_t i, uint64_t salt) {
  switch (shape) {
    case 0: { /* scattered 64-bit keys (distinct: an odd multiplier) */
      test_rng_t r = test_rng_seeded(salt);
      uint64_t odd = test_rng_next(&r) | 1;
      return (i + 1) * odd;
    }
    case 1: return i << 20;         /* equal in the low 20 bits (0 included) */
    case 2: return (i + 1) << 32;   /* equal in the low 32 bits */
    case 3: return i * 8 + 0x1000;  /* pointer-like: aligned, dense */
    default: break;
  }
  ck_abort_msg("bad key shape %d", shape);
  return 0;
}

START_TEST(test_namepool_many_keys) {
  const int shape = _i;
  st_namepool_t *p = new_pool();
  for (uint32_t round = 0; round < 3; round++)
    for (uint64_t i = 0; i < MANY_KEYS; i++) {
      uint64_t key = key_shape(shape, i, 99);
      uint32_t slot = pool_acquire_ok(p, key);
      require_msg(slot == round, "shape %d, key #%llu (%#llx): round %u got %u",
                  shape, (unsigned long long)i, (unsigned long long)key,
                  (unsigned)round, (unsigned)slot);
    }
  ck_assert_uint_eq(st_namepool_in_use(p), 3 * MANY_KEYS);
  ck_assert_uint_eq(st_namepool_high_water(p), 3 * MANY_KEYS);

  /* Free the middle slot of every key; each gets exactly its own back. */
  for (uint64_t i = 0; i < MANY_KEYS; i++)
    pool_release_ok(p, key_shape(shape, i, 99), 1);
  ck_assert_uint_eq(st_namepool_in_use(p), 2 * MANY_KEYS);
  for (uint64_t i = 0; i < MANY_KEYS; i++) {
    uint64_t key = key_shape(shape, i, 99);
    int rc = st_namepool_release(p, key, 1);
    require_msg(rc == ST_ENOTFOUND, "key %#llx: second release of 1 = %d",
                (unsigned long long)key, rc);
    uint32_t slot = pool_acquire_ok(p, key);
    require_msg(slot == 1, "key %#llx: reacquired %u, expected 1",
                (unsigned long long)key, (unsigned)slot);
  }
  /* Keys of the same shape that were never used hold nothing. */
  for (uint64_t i = MANY_KEYS; i < MANY_KEYS + 1000; i++) {
    int rc = st_namepool_release(p, key_shape(shape, i, 99), 0);
    require_msg(rc == ST_ENOTFOUND, "unused key #%llu: release = %d",
                (unsigned long long)i, rc);
  }
  ck_assert_uint_eq(st_namepool_in_use(p), 3 * MANY_KEYS);
  ck_assert_uint_eq(st_namepool_high_water(p), 3 * MANY_KEYS);

  for (uint64_t i = 0; i < MANY_KEYS; i++)
    for (uint32_t k = 0; k < 3; k++) pool_release_ok(p, key_shape(shape, i, 99), k);
  ck_assert_uint_eq(st_namepool_in_use(p), 0);
  ck_assert_uint_eq(st_namepool_high_water(p), 3 * MANY_KEYS);
  st_namepool_destroy(p);
}
END_TEST

/* Random acquire/release over 64 keys, at most 8 slots held per key, against
 * a per-key model: the lowest free slot of the right key every time, and the
 * totals (in_use, high_water = sum of per-key high water marks). Loop index:
 * the key shape, as above. */
enum { NP_KEYS = 64, NP_MAX_HELD = 8, NP_STEPS = 200000 };

START_TEST(test_namepool_random_against_model) {
  const int shape = _i;
  test_rng_t rng = test_rng_seeded(777 + (uint64_t)_i);
  st_namepool_t *p = new_pool();
  uint64_t keys[NP_KEYS];
  bool model[NP_KEYS][NP_MAX_HELD + 1];
  uint32_t hw[NP_KEYS];
  size_t nheld[NP_KEYS];
  memset(model, 0, sizeof model);
  memset(hw, 0, sizeof hw);
  memset(nheld, 0, sizeof nheld);
  for (size_t k = 0; k < NP_KEYS; k++) keys[k] = key_shape(shape, k, 31);
  size_t total_held = 0;
  uint64_t total_hw = 0;

  for (size_t step = 0; step < NP_STEPS; step++) {
    size_t k = (size_t)(test_rng_next(&rng) % NP_KEYS);
    bool acquire = nheld[k] == 0 ||
                   (nheld[k] < NP_MAX_HELD && test_rng_next(&rng) % 2 == 0);
    if (acquire) {
      uint32_t want = model_lowest_free(model[k], NP_MAX_HELD + 1);
      uint32_t got = pool_acquire_ok(p, keys[k]);
      require_msg(got == want, "step %zu, key %#llx: acquired %u, want %u",
                  step, (unsigned long long)keys[k], (unsigned)got,
                  (unsigned)want);
      model[k][got] = true;
      nheld[k]++;
      total_held++;
      if (got + 1 > hw[k]) {
        total_hw += got + 1 - hw[k];
        hw[k] = got + 1;
      }
    } else {
      /* A random slot below the cap: held -> released, free -> ENOTFOUND. */
      uint32_t slot = (uint32_t)(test_rng_next(&rng) % (NP_MAX_HELD + 1));
      int rc = st_namepool_release(p, keys[k], slot);
      int want = model[k][slot] ? ST_OK : ST_ENOTFOUND;
      require_msg(rc == want, "step %zu, key %#llx: release(%u) = %d, want %d",
                  step, (unsigned long long)keys[k], (unsigned)slot, rc, want);
      if (model[k][slot]) {
        model[k][slot] = false;
        nheld[k]--;
        total_held--;
      }
    }
    if (step % 64 == 0) {
      size_t in_use = st_namepool_in_use(p);
      uint64_t got_hw = st_namepool_high_water(p);
      require_msg(in_use == total_held && got_hw == total_hw,
                  "step %zu: in_use %zu (model %zu), high water %llu "
                  "(model %llu)",
                  step, in_use, total_held, (unsigned long long)got_hw,
                  (unsigned long long)total_hw);
    }
  }
  ck_assert_uint_eq(st_namepool_in_use(p), total_held);
  ck_assert_uint_eq(st_namepool_high_water(p), total_hw);
  ck_assert_uint_le(total_hw, NP_KEYS * NP_MAX_HELD);
  st_namepool_destroy(p);
}
END_TEST

START_TEST(test_namepool_invalid_args) {
  ck_assert_int_eq(st_namepool_create(NULL), ST_EINVAL);
  st_namepool_t *p = new_pool();
  uint32_t slot = 555;
  ck_assert_int_eq(st_namepool_acquire(NULL, 1, &slot), ST_EINVAL);
  ck_assert_uint_eq(slot, 555);
  ck_assert_int_eq(st_namepool_acquire(p, 1, NULL), ST_EINVAL);
  ck_assert_int_eq(st_namepool_release(NULL, 1, 0), ST_EINVAL);
  ck_assert_uint_eq(st_namepool_in_use(p), 0);
  ck_assert_uint_eq(st_namepool_high_water(p), 0);
  ck_assert_uint_eq(pool_acquire_ok(p, 1), 0);
  st_namepool_destroy(p);
  st_namepool_destroy(NULL);
}
END_TEST

Suite *names_suite(void) {
  Suite *s = suite_create("names");

  TCase *ids = tcase_create("idgen");
  tcase_add_test(ids, test_idgen_sequential_from_first);
  tcase_add_test(ids, test_idgen_unique_across_threads);
  suite_add_tcase(s, ids);

  TCase *slots = tcase_create("slots");
  tcase_add_test(slots, test_slots_first_acquisitions_count_up);
  tcase_add_test(slots, test_slots_release_then_acquire_reuses);
  tcase_add_test(slots, test_slots_acquire_takes_smallest_of_several_free);
  tcase_add_test(slots, test_slots_release_not_held);
  tcase_add_test(slots, test_slots_held_far_out_of_range);
  tcase_add_test(slots, test_slots_growth_across_words);
  tcase_add_loop_test(slots, test_slots_high_water_bounded_by_max_held, 0, 3);
  tcase_add_test(slots, test_slots_range_limit);
  tcase_add_test(slots, test_slots_invalid_args);
  suite_add_tcase(s, slots);

  TCase *pool = tcase_create("namepool");
  tcase_add_test(pool, test_namepool_keys_are_independent);
  tcase_add_loop_test(pool, test_namepool_many_keys, 0, 4);
  tcase_add_loop_test(pool, test_namepool_random_against_model, 0, 4);
  tcase_add_test(pool, test_namepool_invalid_args);
  suite_add_tcase(s, pool);
  return s;
}
