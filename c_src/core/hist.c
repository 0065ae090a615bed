/* Log-linear histogram; see include/supertester/hist.h for the scheme.
 *
 * Index of a value v, with M = sub_bucket_bits and half = 2^(M-1):
 *   g     = max(0, msb(v) - (M-1))   (how far v is shifted to fit M bits)
 *   index = g * half + (v >> g)
 * For g = 0 this is v itself (exact buckets 0 .. 2^M-1). Each further g adds
 * `half` buckets of width 2^g covering [2^(M-1+g), 2^(M+g)). */
#include "supertester/hist.h"

#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct st_hist_s {
  uint64_t highest_trackable;
  int significant_digits;
  unsigned sub_bucket_bits; /* M */
  uint64_t sub_bucket_mask; /* 2^M - 1: or-ed in so msb() is at least M-1 */
  size_t counts_len;
  bool heap_allocated; /* made by st_hist_create, released by destroy */
  _Atomic uint64_t min;
  _Atomic uint64_t max;
  _Atomic uint64_t out_of_range;
  _Atomic uint64_t counts[];
};

static unsigned msb64(uint64_t v) { return 63u - (unsigned)__builtin_clzll(v); }

static bool config_valid(const st_hist_config_t *cfg) {
  return cfg != NULL && cfg->significant_digits >= ST_HIST_MIN_DIGITS &&
         cfg->significant_digits <= ST_HIST_MAX_DIGITS &&
         cfg->highest_trackable >= 2 &&
         cfg->highest_trackable <= ST_HIST_MAX_HIGHEST;
}

/* Smallest M with 2^(M-1) >= 10^digits. */
static unsigned sub_bucket_bits_for(int digits) {
  uint64_t want = 1;
  for (int i = 0; i < digits; i++) want *= 10;
  unsigned m = 1;
  while ((UINT64_C(1) << (m - 1)) < want) m++;
  return m;
}

static size_t index_for(unsigned m, uint64_t mask, uint64_t v) {
  unsigned g = msb64(v | mask) - (m - 1);
  return ((size_t)g << (m - 1)) + (size_t)(v >> g);
}

static size_t index_of(const st_hist_t *h, uint64_t v) {
  return index_for(h->sub_bucket_bits, h->sub_bucket_mask, v);
}

/* Shift applied to the values of bucket i (its width is 2^shift). */
static unsigned shift_of_index(const st_hist_t *h, size_t i) {
  size_t group = i >> (h->sub_bucket_bits - 1);
  return group < 2 ? 0 : (unsigned)(group - 1);
}

static uint64_t lowest_of_index(const st_hist_t *h, size_t i) {
  unsigned g = shift_of_index(h, i);
  uint64_t s = (uint64_t)i - ((uint64_t)g << (h->sub_bucket_bits - 1));
  return s << g;
}

static uint64_t highest_of_index(const st_hist_t *h, size_t i) {
  return lowest_of_index(h, i) + ((UINT64_C(1) << shift_of_index(h, i)) - 1);
}

/* A representative value for means and cross-configuration merges. */
static double midpoint_of_index(const st_hist_t *h, size_t i) {
  uint64_t lo = lowest_of_index(h, i);
  uint64_t width = UINT64_C(1) << shift_of_index(h, i);
  return (double)lo + (double)(width - 1) / 2.0;
}

size_t st_hist_footprint(const st_hist_config_t *cfg) {
  if (!config_valid(cfg)) return 0;
  unsigned m = sub_bucket_bits_for(cfg->significant_digits);
  size_t len = index_for(m, (UINT64_C(1) << m) - 1, cfg->highest_trackable) + 1;
  return sizeof(st_hist_t) + len * sizeof(_Atomic uint64_t);
}

int st_hist_init(void *mem, size_t bytes, const st_hist_config_t *cfg,
                 st_hist_t **out) {
  size_t need = st_hist_footprint(cfg);
  if (mem == NULL || out == NULL || need == 0 || bytes < need) return ST_EINVAL;
  if (((uintptr_t)mem % _Alignof(st_hist_t)) != 0) return ST_EINVAL;

  st_hist_t *h = mem;
  h->highest_trackable = cfg->highest_trackable;
  h->significant_digits = cfg->significant_digits;
  h->sub_bucket_bits = sub_bucket_bits_for(cfg->significant_digits);
  h->sub_bucket_mask = (UINT64_C(1) << h->sub_bucket_bits) - 1;
  h->counts_len = (need - sizeof(st_hist_t)) / sizeof(_Atomic uint64_t);
  h->heap_allocated = false;
  atomic_init(&h->min, UINT64_MAX);
  atomic_init(&h->max, 0);
  atomic_init(&h->out_of_range, 0);
  for (size_t i = 0; i < h->counts_len; i++) atomic_init(&h->counts[i], 0);
  *out = h;
  return ST_OK;
}

int st_hist_create(const st_hist_config_t *cfg, st_hist_t **out) {
  size_t need = st_hist_footprint(cfg);
  if (out == NULL || need == 0) return ST_EINVAL;
  void *mem = malloc(need);
  if (mem == NULL) return ST_ENOMEM;
  st_hist_t *h;
  int rc = st_hist_init(mem, need, cfg, &h);
  if (rc != ST_OK) {
    free(mem);
    return rc;
  }
  h->heap_allocated = true;
  *out = h;
  return ST_OK;
}

void st_hist_destroy(st_hist_t *h) {
  if (h != NULL && h->heap_allocated) free(h);
}

static void update_min(st_hist_t *h, uint64_t v) {
  uint64_t cur = atomic_load_explicit(&h->min, memory_order_relaxed);
  while (v < cur && !atomic_compare_exchange_weak_explicit(
                        &h->min, &cur, v, memory_order_relaxed,
                        memory_order_relaxed)) {
  }
}

static void update_max(st_hist_t *h, uint64_t v) {
  uint64_t cur = atomic_load_explicit(&h->max, memory_order_relaxed);
  while (v > cur && !atomic_compare_exchange_weak_explicit(
                        &h->max, &cur, v, memory_order_relaxed,
                        memory_order_relaxed)) {
  }
}

int st_hist_record_n(st_hist_t *h, uint64_t value, uint64_t count) {
  if (h == NULL) return ST_EINVAL;
  if (value > h->highest_trackable) {
    atomic_fetch_add_explicit(&h->out_of_range, count, memory_order_relaxed);
    return ST_ERANGE;
  }
  if (count == 0) return ST_OK;
  /* min and max first, the count last with release: a reader that sees the
   * count also sees the extremes that go with it. */
  update_min(h, value);
  update_max(h, value);
  atomic_fetch_add_explicit(&h->counts[index_of(h, value)], count,
                            memory_order_release);
  return ST_OK;
}

int st_hist_record(st_hist_t *h, uint64_t value) {
  return st_hist_record_n(h, value, 1);
}

void st_hist_reset(st_hist_t *h) {
  if (h == NULL) return;
  for (size_t i = 0; i < h->counts_len; i++)
    atomic_store_explicit(&h->counts[i], 0, memory_order_relaxed);
  atomic_store_explicit(&h->out_of_range, 0, memory_order_relaxed);
  atomic_store_explicit(&h->min, UINT64_MAX, memory_order_relaxed);
  atomic_store_explicit(&h->max, 0, memory_order_relaxed);
}

static uint64_t load_count(const st_hist_t *h, size_t i) {
  return atomic_load_explicit(&h->counts[i], memory_order_acquire);
}

/* Exact extremes, repaired if a concurrent reset left them inconsistent. */
static void load_extremes(const st_hist_t *h, uint64_t *min, uint64_t *max) {
  *min = atomic_load_explicit(&h->min, memory_order_relaxed);
  *max = atomic_load_explicit(&h->max, memory_order_relaxed);
  if (*min > *max) *min = *max;
}

static bool same_layout(const st_hist_t *a, const st_hist_t *b) {
  return a->sub_bucket_bits == b->sub_bucket_bits &&
         a->counts_len == b->counts_len;
}

int st_hist_merge(st_hist_t *dst, const st_hist_t *src, uint64_t *dropped) {
  if (dst == NULL || src == NULL) return ST_EINVAL;
  uint64_t lost = atomic_load_explicit(&src->out_of_range, memory_order_relaxed);
  uint64_t smin, smax;
  load_extremes(src, &smin, &smax);
  bool same = same_layout(dst, src);
  /* Range of the buckets actually merged, to carry the exact extremes over. */
  uint64_t merged_lo = UINT64_MAX, merged_hi = 0;
  /* Each source bucket is represented by its midpoint, clamped to the exact
   * extremes of the source: a lone value is then represented exactly, and
   * is kept or dropped at dst's limit as it would have been if recorded.
   * Every count is read once before it is added, so merging a histogram
   * into itself doubles it. */
  for (size_t i = 0; i < src->counts_len; i++) {
    uint64_t c = load_count(src, i);
    if (c == 0) continue;
    uint64_t lo = lowest_of_index(src, i), hi = highest_of_index(src, i);
    uint64_t rep = (uint64_t)midpoint_of_index(src, i);
    if (rep < smin) rep = smin;
    if (rep > smax) rep = smax;
    if (rep > dst->highest_trackable) {
      lost += c;
      continue;
    }
    size_t j = same ? i : index_of(dst, rep);
    atomic_fetch_add_explicit(&dst->counts[j], c, memory_order_release);
    if (lo < merged_lo) merged_lo = lo;
    merged_hi = hi;
  }
  if (merged_lo <= merged_hi) {
    update_min(dst, merged_lo > smin ? merged_lo : smin);
    uint64_t hi = merged_hi < smax ? merged_hi : smax;
    update_max(dst, hi < dst->highest_trackable ? hi : dst->highest_trackable);
  }
  atomic_fetch_add_explicit(&dst->out_of_range, lost, memory_order_relaxed);
  if (dropped) *dropped = lost;
  return ST_OK;
}

uint64_t st_hist_highest_trackable(const st_hist_t *h) {
  return h->highest_trackable;
}

int st_hist_significant_digits(const st_hist_t *h) {
  return h->significant_digits;
}

size_t st_hist_bucket_count(const st_hist_t *h) { return h->counts_len; }

uint64_t st_hist_lowest_equivalent(const st_hist_t *h, uint64_t value) {
  return lowest_of_index(h, index_of(h, value));
}

uint64_t st_hist_highest_equivalent(const st_hist_t *h, uint64_t value) {
  return highest_of_index(h, index_of(h, value));
}

uint64_t st_hist_count(const st_hist_t *h) {
  uint64_t total = 0;
  for (size_t i = 0; i < h->counts_len; i++) total += load_count(h, i);
  return total;
}

static double clamp(double v, double lo, double hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

int st_hist_summarize(const st_hist_t *h, st_hist_summary_t *out) {
  if (h == NULL || out == NULL) return ST_EINVAL;
  uint64_t total = 0;
  double sum = 0.0;
  for (size_t i = 0; i < h->counts_len; i++) {
    uint64_t c = load_count(h, i);
    if (c == 0) continue;
    total += c;
    sum += (double)c * midpoint_of_index(h, i);
  }
  st_hist_summary_t s = {0};
  s.out_of_range = atomic_load_explicit(&h->out_of_range, memory_order_relaxed);
  if (total == 0) {
    *out = s;
    return ST_EEMPTY;
  }
  load_extremes(h, &s.min, &s.max);
  s.count = total;
  /* Bucket midpoints can stray outside the exact extremes (one value, or all
   * values in one bucket): clamping makes those cases exact. */
  s.mean = clamp(sum / (double)total, (double)s.min, (double)s.max);
  double sq = 0.0;
  uint64_t seen = 0;
  for (size_t i = 0; i < h->counts_len && seen < total; i++) {
    uint64_t c = load_count(h, i);
    if (c == 0) continue;
    seen += c;
    double d = clamp(midpoint_of_index(h, i), (double)s.min, (double)s.max) - s.mean;
    sq += (double)c * d * d;
  }
  s.stddev = sqrt(sq / (double)total);
  *out = s;
  return ST_OK;
}

/* Rank (1-based) of the nearest-rank percentile p among n values. The
 * product is snapped down only when floating point lands a few ulps above an
 * integer (99.9% of 1000 must be rank 999, not 1000); a wider tolerance
 * would round genuine fractions down (99.9999% of 999999 is rank 999999). */
static uint64_t rank_for(double p, uint64_t n) {
  double x = p / 100.0 * (double)n;
  double f = floor(x);
  double noise = 4 * DBL_EPSILON * (x > 1.0 ? x : 1.0);
  uint64_t r = (x - f) <= noise ? (uint64_t)f : (uint64_t)f + 1;
  if (r < 1) r = 1;
  if (r > n) r = n;
  return r;
}

typedef struct {
  double p;
  size_t slot;
  uint64_t rank;
} pct_request_t;

static int by_percentile(const void *a, const void *b) {
  double x = ((const pct_request_t *)a)->p, y = ((const pct_request_t *)b)->p;
  return (x > y) - (x < y);
}

int st_hist_percentiles(const st_hist_t *h, const double *ps, uint64_t *out,
                        size_t n) {
  if (h == NULL || (n > 0 && (ps == NULL || out == NULL))) return ST_EINVAL;
  for (size_t k = 0; k < n; k++)
    if (!(ps[k] >= 0.0 && ps[k] <= 100.0)) return ST_EINVAL; /* rejects NaN */
  uint64_t total = st_hist_count(h);
  if (total == 0) return ST_EEMPTY;
  if (n == 0) return ST_OK;

  pct_request_t stack_reqs[16];
  pct_request_t *reqs = n <= 16 ? stack_reqs : malloc(n * sizeof *reqs);
  if (reqs == NULL) return ST_ENOMEM;
  for (size_t k = 0; k < n; k++)
    reqs[k] = (pct_request_t){ps[k], k, rank_for(ps[k], total)};
  qsort(reqs, n, sizeof *reqs, by_percentile);

  uint64_t min, max;
  load_extremes(h, &min, &max);
  size_t k = 0;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h->counts_len && k < n; i++) {
    uint64_t c = load_count(h, i);
    if (c == 0) continue;
    cumulative += c;
    while (k < n && reqs[k].rank <= cumulative) {
      /* p = 0 is the exact min, not the top of the min's bucket. */
      uint64_t v = reqs[k].p == 0.0 ? min : highest_of_index(h, i);
      out[reqs[k].slot] = v < min ? min : (v > max ? max : v);
      k++;
    }
  }
  /* Counts removed by a concurrent reset can leave ranks unreached. */
  for (; k < n; k++) out[reqs[k].slot] = max;
  if (reqs != stack_reqs) free(reqs);
  return ST_OK;
}

int st_hist_percentile(const st_hist_t *h, double p, uint64_t *out) {
  return st_hist_percentiles(h, &p, out, 1);
}

void st_hist_iter_init(st_hist_iter_t *it, const st_hist_t *h) {
  it->h = h;
  it->index = 0;
}

int st_hist_iter_next(st_hist_iter_t *it, st_hist_bucket_t *out) {
  const st_hist_t *h = it->h;
  while (it->index < h->counts_len) {
    size_t i = it->index++;
    uint64_t c = load_count(h, i);
    if (c == 0) continue;
    out->lowest = lowest_of_index(h, i);
    out->highest = highest_of_index(h, i);
    out->count = c;
    return 1;
  }
  return 0;
}
