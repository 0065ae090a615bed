/* Minimising a failing chaos run; see include/supertester/chaos.h.
 *
 * Zeller and Hildebrandt's ddmin ("Simplifying and Isolating
 * Failure-Inducing Input", 2002), turned inside out so that the caller runs
 * each test. The state is the current failing configuration c (sorted
 * action indices, m of them), the granularity g (c is cut into g contiguous
 * chunks of sizes m/g or m/g + 1), a phase and the chunk i being tried:
 *
 *   SUBSETS      try chunk i alone. Fails: c = chunk i, g = 2.
 *   COMPLEMENTS  try c without chunk i. Fails: c = that, g = max(g - 1, 2).
 *
 * After the last subset comes the first complement, except when g = 2,
 * where the complements are the two subsets again and are skipped. After
 * the last complement, with nothing failing: g doubles (at most m) when
 * g < m; when g = m every single action has been removed once without
 * the run failing, so c is 1-minimal and the search ends. It also ends as
 * soon as c holds one action (the empty run is assumed to pass, as in
 * ddmin). Each reduction starts a new round at SUBSETS, chunk 0.
 *
 * c only ever shrinks to a candidate that failed, so the result is always
 * a failing configuration; its 1-minimality holds for the outcomes
 * reported (no outcome is cached: a candidate seen twice is run twice).
 * Memory: c, n indices. */
#include "supertester/chaos.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

typedef enum { SUBSETS, COMPLEMENTS } phase_t;

struct st_chaos_ddmin_s {
  size_t *c; /* the current failing configuration, increasing */
  size_t m;  /* its size */
  size_t g;  /* granularity: 2 <= g <= m while searching */
  size_t i;  /* the chunk being tried */
  phase_t phase;
  bool done;
  bool pending; /* a candidate was handed out and awaits its outcome */
  size_t runs;
};

/* Chunk i of g over m items: [start, end). The first m % g chunks are one
 * longer; i * (m / g) <= m, so nothing overflows. */
static void chunk(const st_chaos_ddmin_t *d, size_t i, size_t *start,
                  size_t *end) {
  size_t base = d->m / d->g, extra = d->m % d->g;
  *start = i * base + (i < extra ? i : extra);
  *end = *start + base + (i < extra ? 1 : 0);
}

static void new_round(st_chaos_ddmin_t *d, size_t g) {
  d->g = g;
  d->i = 0;
  d->phase = SUBSETS;
  if (d->m < 2) d->done = true;
}

int st_chaos_ddmin_create(size_t n, st_chaos_ddmin_t **out) {
  if (n == 0 || out == NULL || n > SIZE_MAX / sizeof(size_t)) return ST_EINVAL;
  st_chaos_ddmin_t *d = calloc(1, sizeof *d);
  if (d == NULL) return ST_ENOMEM;
  d->c = malloc(n * sizeof *d->c);
  if (d->c == NULL) {
    free(d);
    return ST_ENOMEM;
  }
  for (size_t j = 0; j < n; j++) d->c[j] = j;
  d->m = n;
  new_round(d, 2);
  *out = d;
  return ST_OK;
}

void st_chaos_ddmin_destroy(st_chaos_ddmin_t *d) {
  if (d == NULL) return;
  free(d->c);
  free(d);
}

int st_chaos_ddmin_next(st_chaos_ddmin_t *d, size_t *idx, size_t *k) {
  if (d == NULL || idx == NULL || k == NULL) return ST_EINVAL;
  if (d->done) return ST_EEMPTY;
  size_t start, end;
  chunk(d, d->i, &start, &end);
  if (d->phase == SUBSETS) {
    memcpy(idx, d->c + start, (end - start) * sizeof *idx);
    *k = end - start;
  } else {
    memcpy(idx, d->c, start * sizeof *idx);
    memcpy(idx + start, d->c + end, (d->m - end) * sizeof *idx);
    *k = d->m - (end - start);
  }
  d->pending = true;
  return ST_OK;
}

/* Nothing in this round failed: refine, or stop when already at single
 * actions. */
static void round_passed(st_chaos_ddmin_t *d) {
  if (d->g < d->m)
    new_round(d, d->g <= d->m / 2 ? d->g * 2 : d->m);
  else
    d->done = true;
}

int st_chaos_ddmin_report(st_chaos_ddmin_t *d, int failed) {
  if (d == NULL || !d->pending) return ST_EINVAL;
  d->pending = false;
  d->runs++;
  size_t start, end;
  chunk(d, d->i, &start, &end);
  if (d->phase == SUBSETS) {
    if (failed) {
      memmove(d->c, d->c + start, (end - start) * sizeof *d->c);
      d->m = end - start;
      new_round(d, 2);
    } else if (++d->i == d->g) {
      if (d->g == 2)
        round_passed(d);
      else {
        d->phase = COMPLEMENTS;
        d->i = 0;
      }
    }
  } else {
    if (failed) {
      memmove(d->c + start, d->c + end, (d->m - end) * sizeof *d->c);
      d->m -= end - start;
      /* g - 1 chunks of at least one action each remain: g - 1 <= m. */
      new_round(d, d->g > 3 ? d->g - 1 : 2);
    } else if (++d->i == d->g) {
      round_passed(d);
    }
  }
  return ST_OK;
}

int st_chaos_ddmin_result(const st_chaos_ddmin_t *d, size_t *idx, size_t *k) {
  if (d == NULL || idx == NULL || k == NULL) return ST_EINVAL;
  memcpy(idx, d->c, d->m * sizeof *idx);
  *k = d->m;
  return ST_OK;
}

size_t st_chaos_ddmin_runs(const st_chaos_ddmin_t *d) {
  return d == NULL ? 0 : d->runs;
}
