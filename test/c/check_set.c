/* Set suite: st_set_sort, st_set_unique and st_set_diff against the contract
 * in supertester/set.h.
 *
 * - sort: equal to qsort on random uint64 arrays (0 .. 100,000 elements, few
 *   and many duplicates, sorted, reversed and constant inputs), ascending
 *   and descending as the comparator's context says, at most n ceil(log2 n)
 *   comparisons; element sizes 1, 3, 13 and 40 bytes; stable (equal keys
 *   keep their original order in both directions); invalid arguments.
 * - unique: keeps the first element of each run, against an independent
 *   reference; the comparator's context decides what is equal.
 * - diff: two 100,000-element snapshots, 10,000 gone and 5,000 new, against
 *   an independently computed reference, in order, in at most na + nb
 *   comparisons; NULL callbacks; empty, identical and disjoint inputs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/set.h"
#include "suites.h"
#include "test_util.h"

/* ---------------------------------------------------------------- helpers */

#define CTX_MAGIC UINT32_C(0x5e7c0de5)

/* What the comparators read from their context. */
typedef struct {
  uint32_t magic; /* proves the pointer given is the one passed */
  int dir;        /* +1 ascending, -1 descending */
  unsigned shift; /* compare keys >> shift */
  size_t size;    /* element size, for the byte-wise comparator */
  size_t calls;
} cmp_ctx_t;

static cmp_ctx_t make_ctx(int dir) {
  return (cmp_ctx_t){CTX_MAGIC, dir, 0, 0, 0};
}

static int cmp_u64_ctx(const void *a, const void *b, void *ctx) {
  cmp_ctx_t *c = ctx;
  require_msg(c != NULL && c->magic == CTX_MAGIC,
              "comparator called with a foreign context %p", ctx);
  c->calls++;
  uint64_t x = *(const uint64_t *)a >> c->shift,
           y = *(const uint64_t *)b >> c->shift;
  return c->dir * ((x > y) - (x < y));
}

static int cmp_u64_qsort(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return (x > y) - (x < y);
}

/* Records keyed by `key` alone; `idx` is the original position. */
typedef struct {
  uint32_t key;
  uint32_t idx;
} keyed_t;

static int cmp_keyed_ctx(const void *a, const void *b, void *ctx) {
  cmp_ctx_t *c = ctx;
  require_msg(c != NULL && c->magic == CTX_MAGIC,
              "comparator called with a foreign context %p", ctx);
  c->calls++;
  uint32_t x = ((const keyed_t *)a)->key >> c->shift,
           y = ((const keyed_t *)b)->key >> c->shift;
  return c->dir * ((x > y) - (x < y));
}

static int cmp_bytes_ctx(const void *a, const void *b, void *ctx) {
  cmp_ctx_t *c = ctx;
  require_msg(c != NULL && c->magic == CTX_MAGIC,
              "comparator called with a foreign context %p", ctx);
  c->calls++;
  return memcmp(a, b, c->size);
}

static size_t qsort_bytes_size;
static int cmp_bytes_qsort(const void *a, const void *b) {
  return memcmp(a, b, qsort_bytes_size);
}

/* ceil(log2 n) for n >= 1. */
static size_t ceil_log2(size_t n) {
  size_t k = 0;
  while (((size_t)1 << k) < n) k++;
  return k;
}

static void sort_ok(void *base, size_t n, size_t size, st_cmp_fn cmp,
                    cmp_ctx_t *ctx) {
  int rc = st_set_sort(base, n, size, cmp, ctx);
  ck_assert_msg(rc == ST_OK, "st_set_sort(n %zu, size %zu) = %d", n, size, rc);
}

/* A bijection of 64-bit integers (splitmix64's finalizer): distinct inputs,
 * distinct, scattered outputs. */
static uint64_t scatter(uint64_t z) {
  z += UINT64_C(0x9E3779B97F4A7C15);
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

static void shuffle_u32(uint32_t *v, size_t n, test_rng_t *rng) {
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)(test_rng_next(rng) % i);
    uint32_t t = v[i - 1];
    v[i - 1] = v[j];
    v[j] = t;
  }
}

/* ------------------------------------------------------------------- sort */

static const size_t sort_sizes[] = {0, 1, 2, 3, 7, 100, 100000};
#define N_SORT_SIZES (sizeof sort_sizes / sizeof sort_sizes[0])

typedef enum {
  FILL_MANY_DUPS, /* values in 0 .. n/4: long runs of equal values */
  FILL_WIDE,      /* full 64-bit range (few or no duplicates) */
  FILL_SORTED,    /* nondecreasing with duplicates */
  FILL_REVERSED,  /* nonincreasing with duplicates */
  FILL_CONSTANT,
  FILL_COUNT
} fill_t;

static void fill(uint64_t *v, size_t n, fill_t how, test_rng_t *rng) {
  for (size_t i = 0; i < n; i++) {
    switch (how) {
      case FILL_MANY_DUPS: v[i] = test_rng_between(rng, 0, n / 4); break;
      case FILL_WIDE: v[i] = test_rng_next(rng); break;
      case FILL_SORTED: v[i] = i / 3; break;
      case FILL_REVERSED: v[i] = (n - i) / 3; break;
      case FILL_CONSTANT: v[i] = 42; break;
      case FILL_COUNT: break;
    }
  }
}

/* Loop index: size x fill x direction. */
START_TEST(test_sort_matches_qsort) {
  const size_t n = sort_sizes[_i % N_SORT_SIZES];
  const fill_t how = (fill_t)(_i / N_SORT_SIZES % FILL_COUNT);
  const int dir = _i / (N_SORT_SIZES * FILL_COUNT) == 0 ? 1 : -1;
  test_rng_t rng = test_rng_seeded(600 + (uint64_t)_i);
  uint64_t *v = malloc((n + 1) * sizeof *v);
  uint64_t *ref = malloc((n + 1) * sizeof *ref);
  ck_assert_ptr_nonnull(v);
  ck_assert_ptr_nonnull(ref);
  fill(v, n, how, &rng);
  memcpy(ref, v, n * sizeof *v);
  qsort(ref, n, sizeof *ref, cmp_u64_qsort);

  cmp_ctx_t ctx = make_ctx(dir);
  sort_ok(v, n, sizeof *v, cmp_u64_ctx, &ctx);
  for (size_t i = 0; i < n; i++) {
    uint64_t want = dir > 0 ? ref[i] : ref[n - 1 - i];
    require_msg(v[i] == want,
                "n %zu, fill %d, dir %d: element %zu is %llu, qsort gives "
                "%llu",
                n, (int)how, dir, i, (unsigned long long)v[i],
                (unsigned long long)want);
  }
  /* The context was used (the direction proves it was read), and a merge
   * sort needs at most n ceil(log2 n) comparisons whatever the input. */
  if (n >= 2) ck_assert_uint_gt(ctx.calls, 0);
  ck_assert_uint_le(ctx.calls, n * ceil_log2(n > 0 ? n : 1));
  free(v);
  free(ref);
}
END_TEST

/* Elements of 1, 3, 13 and 40 bytes ordered byte-wise (the comparator takes
 * the size from its context): same result as qsort. */
START_TEST(test_sort_element_sizes) {
  static const size_t sizes[] = {1, 3, 13, 40};
  const size_t size = sizes[_i];
  const size_t n = 20000;
  test_rng_t rng = test_rng_seeded(700 + (uint64_t)_i);
  unsigned char *v = malloc(n * size), *ref = malloc(n * size);
  ck_assert_ptr_nonnull(v);
  ck_assert_ptr_nonnull(ref);
  /* Few distinct leading bytes so that comparisons go deep. */
  for (size_t i = 0; i < n * size; i++)
    v[i] = (unsigned char)(i % size < size / 2 ? test_rng_next(&rng) % 3
                                               : test_rng_next(&rng));
  memcpy(ref, v, n * size);
  qsort_bytes_size = size;
  qsort(ref, n, size, cmp_bytes_qsort);
  cmp_ctx_t ctx = make_ctx(1);
  ctx.size = size;
  sort_ok(v, n, size, cmp_bytes_ctx, &ctx);
  for (size_t i = 0; i < n; i++)
    require_msg(memcmp(v + i * size, ref + i * size, size) == 0,
                "size %zu: element %zu differs from qsort's", size, i);
  free(v);
  free(ref);
}
END_TEST

/* Equal keys keep their original order, ascending and descending. Loop
 * index: a few sizes (small ones hit the odd tails of the merge passes) x
 * the direction. */
START_TEST(test_sort_is_stable) {
  static const size_t sizes[] = {2, 5, 33, 1000, 100000};
  const size_t n = sizes[_i % 5];
  const int dir = _i / 5 == 0 ? 1 : -1;
  const uint32_t nkeys = n < 100 ? 3 : 10;
  test_rng_t rng = test_rng_seeded(800 + (uint64_t)_i);
  keyed_t *v = malloc(n * sizeof *v);
  ck_assert_ptr_nonnull(v);
  size_t per_key[10] = {0};
  for (size_t i = 0; i < n; i++) {
    v[i].key = (uint32_t)(test_rng_next(&rng) % nkeys);
    v[i].idx = (uint32_t)i;
    per_key[v[i].key]++;
  }
  cmp_ctx_t ctx = make_ctx(dir);
  sort_ok(v, n, sizeof *v, cmp_keyed_ctx, &ctx);
  size_t seen[10] = {0};
  for (size_t i = 0; i < n; i++) {
    seen[v[i].key]++;
    if (i == 0) continue;
    bool ordered = dir > 0 ? v[i - 1].key <= v[i].key : v[i - 1].key >= v[i].key;
    require_msg(ordered, "n %zu, dir %d: key %u before key %u at %zu", n, dir,
                (unsigned)v[i - 1].key, (unsigned)v[i].key, i);
    if (v[i - 1].key == v[i].key)
      require_msg(v[i - 1].idx < v[i].idx,
                  "n %zu, dir %d: equal keys %u out of their original order: "
                  "index %u before %u at %zu",
                  n, dir, (unsigned)v[i].key, (unsigned)v[i - 1].idx,
                  (unsigned)v[i].idx, i);
  }
  /* A permutation: every key kept its multiplicity. */
  for (uint32_t k = 0; k < nkeys; k++) ck_assert_uint_eq(seen[k], per_key[k]);
  free(v);
}
END_TEST

/* Stability against an input whose equal keys arrive in long descending and
 * ascending stretches (the worst case for a sort that swaps). */
START_TEST(test_sort_stable_on_structured_input) {
  enum { N = 4096 };
  keyed_t v[N];
  for (uint32_t i = 0; i < N; i++) {
    v[i].key = i < N / 2 ? (N / 2 - i) / 64 : (i - N / 2) / 64;
    v[i].idx = i;
  }
  cmp_ctx_t ctx = make_ctx(1);
  sort_ok(v, N, sizeof *v, cmp_keyed_ctx, &ctx);
  for (size_t i = 1; i < N; i++)
    require_msg(v[i - 1].key < v[i].key ||
                    (v[i - 1].key == v[i].key && v[i - 1].idx < v[i].idx),
                "at %zu: (key %u, idx %u) before (key %u, idx %u)", i,
                (unsigned)v[i - 1].key, (unsigned)v[i - 1].idx,
                (unsigned)v[i].key, (unsigned)v[i].idx);
}
END_TEST

START_TEST(test_sort_invalid_args) {
  uint64_t v[4] = {4, 3, 2, 1};
  cmp_ctx_t ctx = make_ctx(1);
  ck_assert_int_eq(st_set_sort(v, 4, 0, cmp_u64_ctx, &ctx), ST_EINVAL);
  ck_assert_int_eq(st_set_sort(NULL, 4, sizeof *v, cmp_u64_ctx, &ctx),
                   ST_EINVAL);
  ck_assert_int_eq(st_set_sort(NULL, 1, sizeof *v, cmp_u64_ctx, &ctx),
                   ST_EINVAL);
  /* Refused calls leave the array alone and compare nothing. */
  ck_assert_uint_eq(v[0], 4);
  ck_assert_uint_eq(v[3], 1);
  ck_assert_uint_eq(ctx.calls, 0);
  /* A NULL base with nothing to sort is fine; size 0 is refused even then. */
  ck_assert_int_eq(st_set_sort(NULL, 0, sizeof *v, cmp_u64_ctx, &ctx), ST_OK);
  ck_assert_int_eq(st_set_sort(v, 0, 0, cmp_u64_ctx, &ctx), ST_EINVAL);
  ck_assert_int_eq(st_set_sort(v, 1, sizeof *v, cmp_u64_ctx, &ctx), ST_OK);
  ck_assert_uint_eq(v[0], 4);
  ck_assert_int_eq(st_set_sort(v, 4, sizeof *v, cmp_u64_ctx, &ctx), ST_OK);
  ck_assert_uint_eq(v[0], 1);
  ck_assert_uint_eq(v[3], 4);
}
END_TEST

/* ----------------------------------------------------------------- unique */

/* Loop index: the seed; run lengths 1..6. shift 0 compares whole keys,
 * shift 2 treats keys equal when they agree but for the low two bits. */
START_TEST(test_unique_keeps_first_of_each_run) {
  enum { N = 20000 };
  test_rng_t rng = test_rng_seeded(900 + (uint64_t)_i);
  keyed_t *v = malloc(N * sizeof *v), *ref = malloc(N * sizeof *ref);
  ck_assert_ptr_nonnull(v);
  ck_assert_ptr_nonnull(ref);
  for (unsigned shift = 0; shift <= 2; shift += 2) {
    /* Sorted keys with runs; idx tells the members of a run apart. */
    uint32_t key = 0;
    size_t n = 0;
    while (n < N) {
      key += 1 + (uint32_t)(test_rng_next(&rng) % 3);
      size_t run = 1 + (size_t)(test_rng_next(&rng) % 6);
      for (size_t k = 0; k < run && n < N; k++, n++)
        v[n] = (keyed_t){key, (uint32_t)n};
    }
    /* Reference: first element whenever (key >> shift) changes. */
    size_t nref = 0;
    for (size_t i = 0; i < N; i++)
      if (i == 0 || (v[i].key >> shift) != (v[i - 1].key >> shift))
        ref[nref++] = v[i];
    cmp_ctx_t ctx = make_ctx(1);
    ctx.shift = shift;
    size_t got = st_set_unique(v, N, sizeof *v, cmp_keyed_ctx, &ctx);
    ck_assert_msg(got == nref, "shift %u: unique kept %zu, expected %zu",
                  shift, got, nref);
    for (size_t i = 0; i < nref; i++)
      require_msg(v[i].key == ref[i].key && v[i].idx == ref[i].idx,
                  "shift %u: kept #%zu is (key %u, idx %u), expected (key "
                  "%u, idx %u)",
                  shift, i, (unsigned)v[i].key, (unsigned)v[i].idx,
                  (unsigned)ref[i].key, (unsigned)ref[i].idx);
    ck_assert_uint_gt(ctx.calls, 0);
    ck_assert_uint_lt(nref, N); /* there were duplicates to drop */
  }
  free(v);
  free(ref);
}
END_TEST

START_TEST(test_unique_edge_cases) {
  cmp_ctx_t ctx = make_ctx(1);
  uint64_t v[6] = {5, 5, 5, 5, 5, 5};
  ck_assert_uint_eq(st_set_unique(NULL, 0, sizeof *v, cmp_u64_ctx, &ctx), 0);
  ck_assert_uint_eq(st_set_unique(v, 0, sizeof *v, cmp_u64_ctx, &ctx), 0);
  ck_assert_uint_eq(st_set_unique(v, 1, sizeof *v, cmp_u64_ctx, &ctx), 1);
  ck_assert_uint_eq(v[0], 5);
  /* All equal: one left. */
  ck_assert_uint_eq(st_set_unique(v, 6, sizeof *v, cmp_u64_ctx, &ctx), 1);
  ck_assert_uint_eq(v[0], 5);
  /* All distinct: untouched. */
  uint64_t d[5] = {1, 2, 3, 10, 11};
  ck_assert_uint_eq(st_set_unique(d, 5, sizeof *d, cmp_u64_ctx, &ctx), 5);
  static const uint64_t d_want[] = {1, 2, 3, 10, 11};
  for (size_t i = 0; i < 5; i++) ck_assert_uint_eq(d[i], d_want[i]);
  /* Duplicates at the ends only. */
  uint64_t e[7] = {1, 1, 2, 3, 4, 9, 9};
  ck_assert_uint_eq(st_set_unique(e, 7, sizeof *e, cmp_u64_ctx, &ctx), 5);
  static const uint64_t e_want[] = {1, 2, 3, 4, 9};
  for (size_t i = 0; i < 5; i++) ck_assert_uint_eq(e[i], e_want[i]);
  /* Descending order, as the context says. */
  ctx.dir = -1;
  uint64_t f[6] = {9, 9, 7, 3, 3, 3};
  ck_assert_uint_eq(st_set_unique(f, 6, sizeof *f, cmp_u64_ctx, &ctx), 3);
  static const uint64_t f_want[] = {9, 7, 3};
  for (size_t i = 0; i < 3; i++) ck_assert_uint_eq(f[i], f_want[i]);
}
END_TEST

/* ------------------------------------------------------------------- diff */

typedef struct {
  uint32_t magic;
  uint64_t *only_a, *only_b;
  size_t na, nb, cap;
} emit_ctx_t;

static void emit_a(const void *elem, void *ctx) {
  emit_ctx_t *c = ctx;
  require_msg(c != NULL && c->magic == CTX_MAGIC,
              "only_a called with a foreign context %p", ctx);
  require_msg(c->na < c->cap, "only_a called more than %zu times", c->cap);
  c->only_a[c->na++] = *(const uint64_t *)elem;
}

static void emit_b(const void *elem, void *ctx) {
  emit_ctx_t *c = ctx;
  require_msg(c != NULL && c->magic == CTX_MAGIC,
              "only_b called with a foreign context %p", ctx);
  require_msg(c->nb < c->cap, "only_b called more than %zu times", c->cap);
  c->only_b[c->nb++] = *(const uint64_t *)elem;
}

static emit_ctx_t new_emit(size_t cap) {
  emit_ctx_t c = {CTX_MAGIC, malloc((cap + 1) * sizeof(uint64_t)),
                  malloc((cap + 1) * sizeof(uint64_t)), 0, 0, cap};
  ck_assert_ptr_nonnull(c.only_a);
  ck_assert_ptr_nonnull(c.only_b);
  return c;
}

static void free_emit(emit_ctx_t *c) {
  free(c->only_a);
  free(c->only_b);
}

static void assert_emitted(const uint64_t *got, size_t ngot,
                           const uint64_t *want, size_t nwant,
                           const char *which) {
  ck_assert_msg(ngot == nwant, "%s: %zu elements emitted, expected %zu", which,
                ngot, nwant);
  for (size_t i = 0; i < nwant; i++)
    require_msg(got[i] == want[i], "%s #%zu: emitted %llu, expected %llu",
                which, i, (unsigned long long)got[i],
                (unsigned long long)want[i]);
}

enum { SNAP = 100000, GONE = 10000, NEW = 5000 };

/* Before: 100,000 distinct ids. After: 90,000 of them and 5,000 new ones.
 * The diff emits exactly the 10,000 gone (only_a) and 5,000 new (only_b).
 * Loop index: 0 both callbacks, 1 only_a NULL, 2 only_b NULL, 3 both NULL. */
START_TEST(test_diff_snapshots) {
  const bool with_a = _i == 0 || _i == 2, with_b = _i == 0 || _i == 1;
  test_rng_t rng = test_rng_seeded(1000);
  uint64_t *before = malloc(SNAP * sizeof *before);
  uint64_t *after = malloc((SNAP - GONE + NEW) * sizeof *after);
  uint64_t *gone = malloc(GONE * sizeof *gone), *fresh = malloc(NEW * sizeof *fresh);
  uint32_t *perm = malloc(SNAP * sizeof *perm);
  ck_assert(before && after && gone && fresh && perm);

  for (uint32_t i = 0; i < SNAP; i++) {
    before[i] = scatter(i);
    perm[i] = i;
  }
  shuffle_u32(perm, SNAP, &rng);
  /* perm[0 .. GONE) die; the rest survive, plus NEW fresh ids. */
  size_t na = 0;
  for (size_t k = 0; k < GONE; k++) gone[k] = scatter(perm[k]);
  for (size_t k = GONE; k < SNAP; k++) after[na++] = scatter(perm[k]);
  for (size_t k = 0; k < NEW; k++) {
    fresh[k] = scatter(SNAP + k);
    after[na++] = fresh[k];
  }
  ck_assert_uint_eq(na, SNAP - GONE + NEW);
  /* Snapshots and references sorted by qsort, independently of st_set_sort. */
  qsort(before, SNAP, sizeof *before, cmp_u64_qsort);
  qsort(after, na, sizeof *after, cmp_u64_qsort);
  qsort(gone, GONE, sizeof *gone, cmp_u64_qsort);
  qsort(fresh, NEW, sizeof *fresh, cmp_u64_qsort);
  for (size_t i = 1; i < SNAP; i++)
    require_msg(before[i - 1] < before[i], "scatter() repeated a value");

  emit_ctx_t out = new_emit(SNAP);
  cmp_ctx_t ctx = make_ctx(1);
  st_set_diff(before, SNAP, after, na, sizeof *before, cmp_u64_ctx, &ctx,
              with_a ? emit_a : NULL, with_b ? emit_b : NULL, &out);
  assert_emitted(out.only_a, out.na, gone, with_a ? GONE : 0, "only_a");
  assert_emitted(out.only_b, out.nb, fresh, with_b ? NEW : 0, "only_b");
  /* One merge walk: every comparison advances at least one side. */
  ck_assert_uint_gt(ctx.calls, 0);
  ck_assert_uint_le(ctx.calls, SNAP + na);

  /* Swapping the snapshots swaps the callbacks' roles. */
  if (_i == 0) {
    emit_ctx_t back = new_emit(SNAP);
    st_set_diff(after, na, before, SNAP, sizeof *before, cmp_u64_ctx, &ctx,
                emit_a, emit_b, &back);
    assert_emitted(back.only_a, back.na, fresh, NEW, "swapped only_a");
    assert_emitted(back.only_b, back.nb, gone, GONE, "swapped only_b");
    free_emit(&back);
  }
  free_emit(&out);
  free(before);
  free(after);
  free(gone);
  free(fresh);
  free(perm);
}
END_TEST

START_TEST(test_diff_small_cases) {
  cmp_ctx_t ctx = make_ctx(1);
  emit_ctx_t out = new_emit(16);
  const uint64_t a[] = {1, 3, 5, 7}, b[] = {2, 3, 4, 7, 8};
  st_set_diff(a, 4, b, 5, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, (const uint64_t[]){1, 5}, 2, "only_a");
  assert_emitted(out.only_b, out.nb, (const uint64_t[]){2, 4, 8}, 3, "only_b");

  /* Identical: nothing. */
  out.na = out.nb = 0;
  st_set_diff(a, 4, a, 4, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  ck_assert_uint_eq(out.na, 0);
  ck_assert_uint_eq(out.nb, 0);

  /* Empty on either side, NULL pointers included. */
  out.na = out.nb = 0;
  st_set_diff(NULL, 0, b, 5, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, NULL, 0, "only_a (a empty)");
  assert_emitted(out.only_b, out.nb, b, 5, "only_b (a empty)");
  out.na = out.nb = 0;
  st_set_diff(a, 4, NULL, 0, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, a, 4, "only_a (b empty)");
  assert_emitted(out.only_b, out.nb, NULL, 0, "only_b (b empty)");
  out.na = out.nb = 0;
  size_t calls = ctx.calls;
  st_set_diff(NULL, 0, NULL, 0, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b,
              &out);
  st_set_diff(a, 4, b, 5, sizeof *a, cmp_u64_ctx, &ctx, NULL, NULL, &out);
  ck_assert_uint_eq(out.na, 0);
  ck_assert_uint_eq(out.nb, 0);
  ck_assert_uint_le(ctx.calls - calls, 9);

  /* Disjoint and interleaved; then all of a before all of b. */
  const uint64_t ev[] = {0, 2, 4, 6}, od[] = {1, 3, 5, 7, 9};
  out.na = out.nb = 0;
  st_set_diff(ev, 4, od, 5, sizeof *ev, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, ev, 4, "only_a (disjoint)");
  assert_emitted(out.only_b, out.nb, od, 5, "only_b (disjoint)");
  const uint64_t lo[] = {1, 2}, hi[] = {10, 20, 30};
  out.na = out.nb = 0;
  st_set_diff(hi, 3, lo, 2, sizeof *hi, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, hi, 3, "only_a (a after b)");
  assert_emitted(out.only_b, out.nb, lo, 2, "only_b (a after b)");

  /* Descending sets under a descending comparator. */
  ctx.dir = -1;
  const uint64_t da[] = {9, 7, 5, 1}, db[] = {8, 7, 1, 0};
  out.na = out.nb = 0;
  st_set_diff(da, 4, db, 4, sizeof *da, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  assert_emitted(out.only_a, out.na, (const uint64_t[]){9, 5}, 2,
                 "only_a (descending)");
  assert_emitted(out.only_b, out.nb, (const uint64_t[]){8, 0}, 2,
                 "only_b (descending)");
  free_emit(&out);
}
END_TEST

/* Sort, unique and diff together, as contamination detection uses them:
 * unsorted snapshots with repeats go through sort + unique, then diff. */
START_TEST(test_sort_unique_diff_pipeline) {
  enum { N = 30000 };
  test_rng_t rng = test_rng_seeded(4321);
  uint64_t *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
  ck_assert(a && b);
  /* a: values 0..19999 (repeats); b: values 10000..29999. */
  for (size_t i = 0; i < N; i++) {
    a[i] = test_rng_between(&rng, 0, 19999);
    b[i] = test_rng_between(&rng, 10000, 29999);
  }
  bool in_a[30000] = {false}, in_b[30000] = {false};
  for (size_t i = 0; i < N; i++) {
    in_a[a[i]] = true;
    in_b[b[i]] = true;
  }
  cmp_ctx_t ctx = make_ctx(1);
  sort_ok(a, N, sizeof *a, cmp_u64_ctx, &ctx);
  sort_ok(b, N, sizeof *b, cmp_u64_ctx, &ctx);
  size_t na = st_set_unique(a, N, sizeof *a, cmp_u64_ctx, &ctx);
  size_t nb = st_set_unique(b, N, sizeof *b, cmp_u64_ctx, &ctx);
  emit_ctx_t out = new_emit(N);
  st_set_diff(a, na, b, nb, sizeof *a, cmp_u64_ctx, &ctx, emit_a, emit_b, &out);
  /* Reference from the membership tables, in increasing order. */
  uint64_t *want_a = malloc(N * sizeof *want_a), *want_b = malloc(N * sizeof *want_b);
  ck_assert(want_a && want_b);
  size_t wa = 0, wb = 0;
  for (uint64_t v = 0; v < 30000; v++) {
    if (in_a[v] && !in_b[v]) want_a[wa++] = v;
    if (in_b[v] && !in_a[v]) want_b[wb++] = v;
  }
  assert_emitted(out.only_a, out.na, want_a, wa, "only_a");
  assert_emitted(out.only_b, out.nb, want_b, wb, "only_b");
  free_emit(&out);
  free(want_a);
  free(want_b);
  free(a);
  free(b);
}
END_TEST

Suite *set_suite(void) {
  Suite *s = suite_create("set");

  TCase *sort = tcase_create("sort");
  tcase_add_loop_test(sort, test_sort_matches_qsort, 0,
                      (int)(N_SORT_SIZES * FILL_COUNT * 2));
  tcase_add_loop_test(sort, test_sort_element_sizes, 0, 4);
  tcase_add_loop_test(sort, test_sort_is_stable, 0, 10);
  tcase_add_test(sort, test_sort_stable_on_structured_input);
  tcase_add_test(sort, test_sort_invalid_args);
  suite_add_tcase(s, sort);

  TCase *uniq = tcase_create("unique");
  tcase_add_loop_test(uniq, test_unique_keeps_first_of_each_run, 0, 3);
  tcase_add_test(uniq, test_unique_edge_cases);
  suite_add_tcase(s, uniq);

  TCase *diff = tcase_create("diff");
  tcase_add_loop_test(diff, test_diff_snapshots, 0, 4);
  tcase_add_test(diff, test_diff_small_cases);
  tcase_add_test(diff, test_sort_unique_diff_pipeline);
  suite_add_tcase(s, diff);
  return s;
}
