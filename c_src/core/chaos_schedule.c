/* Seeded interleavings of concurrent scripts; see
 * include/supertester/chaos.h.
 *
 * A uniform interleaving of scripts of lengths n_1..n_k is made one step at
 * a time: with r operations left in all, draw x uniform in [0, r) and give
 * the step to the thread whose block of remaining operations holds x
 * (thread t owns rem_t consecutive values). The probability of a whole
 * interleaving is then prod(rem_t / r) over its steps, which is
 * prod(n_t!) / N! for every interleaving: all are equally likely.
 *
 * Finding the thread that holds x is a prefix-sum search; a Fenwick tree
 * (binary indexed tree) over the remaining counts makes each step
 * O(log k), so scripts of many threads stay cheap. */
#include "supertester/chaos.h"

#include <stdlib.h>

/* Fenwick tree over counts, 1-based: tree[i] sums counts (i - lowbit(i), i]. */
typedef struct {
  uint64_t *tree;
  size_t n;
  size_t top; /* highest power of two <= n */
} fenwick_t;

static void fenwick_add(fenwick_t *f, size_t i, int64_t delta) {
  for (i++; i <= f->n; i += i & (~i + 1)) f->tree[i] += (uint64_t)delta;
}

/* The owner of value x: the 0-based index t such that the counts before t
 * sum to at most x and those up to t exceed x. The walk finds the largest
 * 1-based prefix length whose sum is <= x; that length is t. */
static size_t fenwick_find(const fenwick_t *f, uint64_t x) {
  size_t pos = 0;
  for (size_t step = f->top; step > 0; step >>= 1) {
    size_t next = pos + step;
    if (next <= f->n && f->tree[next] <= x) {
      pos = next;
      x -= f->tree[next];
    }
  }
  return pos;
}

int st_chaos_interleave(st_rng_t *rng, const uint32_t *lengths, size_t n_threads,
                        uint32_t *out, size_t out_len) {
  if (rng == NULL) return ST_EINVAL;
  if (n_threads > 0 && lengths == NULL) return ST_EINVAL;
  if (out_len > 0 && out == NULL) return ST_EINVAL;
  if (n_threads > UINT32_MAX) return ST_EINVAL;
  uint64_t total = 0;
  for (size_t t = 0; t < n_threads; t++) total += lengths[t];
  if (total != (uint64_t)out_len) return ST_EINVAL;
  if (total == 0) return ST_OK;

  fenwick_t f = {.tree = calloc(n_threads + 1, sizeof(uint64_t)), .n = n_threads, .top = 1};
  if (f.tree == NULL) return ST_ENOMEM;
  while (f.top * 2 <= n_threads) f.top *= 2;
  for (size_t t = 0; t < n_threads; t++)
    if (lengths[t] > 0) fenwick_add(&f, t, lengths[t]);

  for (uint64_t left = total, i = 0; left > 0; left--, i++) {
    uint64_t x = st_rng_between(rng, 0, left - 1);
    size_t t = fenwick_find(&f, x);
    out[i] = (uint32_t)t;
    fenwick_add(&f, t, -1);
  }
  free(f.tree);
  return ST_OK;
}
