/* Sorted sets; see include/supertester/set.h. The sort is a bottom-up
 * merge sort (stable, O(n log n) comparisons whatever the input, one
 * scratch buffer), since qsort takes no context for its comparator. */
#include "supertester/set.h"

#include <stdlib.h>
#include <string.h>

#define AT(base, i, size) ((char *)(base) + (size_t)(i) * (size))

/* Merges the sorted runs [lo, mid) and [mid, hi) of src into dst. */
static void merge_runs(const char *src, char *dst, size_t lo, size_t mid,
                       size_t hi, size_t size, st_cmp_fn cmp, void *ctx) {
  size_t i = lo, j = mid, k = lo;
  while (i < mid && j < hi) {
    /* Taking from the left on ties keeps the sort stable. */
    if (cmp(AT(src, j, size), AT(src, i, size), ctx) < 0)
      memcpy(AT(dst, k++, size), AT(src, j++, size), size);
    else
      memcpy(AT(dst, k++, size), AT(src, i++, size), size);
  }
  if (i < mid) memcpy(AT(dst, k, size), AT(src, i, size), (mid - i) * size);
  if (j < hi) memcpy(AT(dst, k + (mid - i), size), AT(src, j, size), (hi - j) * size);
}

int st_set_sort(void *base, size_t n, size_t size, st_cmp_fn cmp, void *ctx) {
  if (size == 0 || cmp == NULL || (base == NULL && n > 0)) return ST_EINVAL;
  if (n < 2) return ST_OK;
  char *scratch = malloc(n * size);
  if (scratch == NULL) return ST_ENOMEM;
  char *src = base, *dst = scratch;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      merge_runs(src, dst, lo, mid, hi, size, cmp, ctx);
    }
    char *t = src;
    src = dst;
    dst = t;
  }
  if (src != base) memcpy(base, src, n * size);
  free(scratch);
  return ST_OK;
}

size_t st_set_unique(void *base, size_t n, size_t size, st_cmp_fn cmp,
                     void *ctx) {
  if (n < 2) return n;
  size_t kept = 1;
  for (size_t i = 1; i < n; i++) {
    if (cmp(AT(base, kept - 1, size), AT(base, i, size), ctx) == 0) continue;
    if (kept != i) memcpy(AT(base, kept, size), AT(base, i, size), size);
    kept++;
  }
  return kept;
}

void st_set_diff(const void *a, size_t na, const void *b, size_t nb,
                 size_t size, st_cmp_fn cmp, void *cmp_ctx,
                 st_set_emit_fn only_a, st_set_emit_fn only_b, void *emit_ctx) {
  size_t i = 0, j = 0;
  while (i < na && j < nb) {
    int c = cmp(AT(a, i, size), AT(b, j, size), cmp_ctx);
    if (c < 0) {
      if (only_a) only_a(AT(a, i, size), emit_ctx);
      i++;
    } else if (c > 0) {
      if (only_b) only_b(AT(b, j, size), emit_ctx);
      j++;
    } else {
      i++;
      j++;
    }
  }
  for (; only_a && i < na; i++) only_a(AT(a, i, size), emit_ctx);
  for (; only_b && j < nb; j++) only_b(AT(b, j, size), emit_ctx);
}
