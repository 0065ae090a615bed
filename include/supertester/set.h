/* Sorted sets of fixed-size elements, ordered by a comparator that receives
 * a context pointer (the NIF orders Erlang terms with enif_compare).
 * Contamination detection uses them: a snapshot of the processes, ETS
 * tables and registered names before a test is sorted once, and after the
 * test the difference with the new state comes out of one merge walk,
 * O(n log n) overall, for 100,000 processes as for 10. */
#ifndef SUPERTESTER_SET_H
#define SUPERTESTER_SET_H

#include <stddef.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Negative, zero or positive as a sorts before, with or after b. */
typedef int (*st_cmp_fn)(const void *a, const void *b, void *ctx);

/* Stable merge sort. ST_ENOMEM when the scratch buffer (n * size bytes)
 * cannot be allocated, ST_EINVAL for size 0 or a NULL base with n > 0. */
int st_set_sort(void *base, size_t n, size_t size, st_cmp_fn cmp, void *ctx);

/* Removes the duplicates of a sorted array in place, keeping the first of
 * each run; returns the new length. */
size_t st_set_unique(void *base, size_t n, size_t size, st_cmp_fn cmp,
                     void *ctx);

/* Called for each element of a difference. */
typedef void (*st_set_emit_fn)(const void *elem, void *ctx);

/* One merge walk over two sorted, duplicate-free arrays: only_a receives the
 * elements of a missing from b, only_b those of b missing from a, both in
 * order. Either callback may be NULL. */
void st_set_diff(const void *a, size_t na, const void *b, size_t nb,
                 size_t size, st_cmp_fn cmp, void *cmp_ctx,
                 st_set_emit_fn only_a, st_set_emit_fn only_b, void *emit_ctx);

#ifdef __cplusplus
}
#endif

#endif
