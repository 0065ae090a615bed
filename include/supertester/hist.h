/* A log-linear latency histogram in the spirit of HdrHistogram.
 *
 * Values are unsigned integers in whatever unit the caller chooses
 * (nanoseconds everywhere in Supertester). Values below 2^M are counted
 * exactly; above that, every power-of-two range is split into 2^(M-1) equal
 * buckets, where M is the smallest integer with 2^(M-1) >= 10^digits. A
 * recorded value is therefore reported within a relative error below
 * 10^-digits: with 3 significant digits, 1234567 ns reads back as a number
 * between 1234567 and 1235771.
 *
 * Recording is lock-free: every bucket is an atomic counter, so any number of
 * threads may record into the same histogram at once without losing a count.
 * Readers (percentiles, mean, iteration) walk the buckets without a lock and
 * see a consistent-enough snapshot: values recorded during the walk may or
 * may not be included. Reset and merge are likewise lock-free; a value
 * recorded concurrently with a reset may survive it.
 *
 * Memory: one 8-byte counter per bucket. The default (3 digits, up to one
 * hour in nanoseconds) has 33,421 buckets, 267 KB. */
#ifndef SUPERTESTER_HIST_H
#define SUPERTESTER_HIST_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_HIST_DEFAULT_HIGHEST UINT64_C(3600000000000) /* one hour in ns */
#define ST_HIST_DEFAULT_DIGITS 3
#define ST_HIST_MIN_DIGITS 1
#define ST_HIST_MAX_DIGITS 5
#define ST_HIST_MAX_HIGHEST (UINT64_C(1) << 62)

typedef struct st_hist_config_s {
  uint64_t highest_trackable; /* largest recordable value, 2..2^62 */
  int significant_digits;     /* 1..5 */
} st_hist_config_t;

typedef struct st_hist_s st_hist_t;

/* Bytes a histogram with this configuration occupies, or 0 when the
 * configuration is invalid. */
size_t st_hist_footprint(const st_hist_config_t *cfg);

/* Builds an empty histogram in caller-provided memory of `bytes` bytes
 * (at least the footprint, aligned for uint64_t). Used by the NIF to place
 * the histogram inside a resource. Nothing to release afterwards. */
int st_hist_init(void *mem, size_t bytes, const st_hist_config_t *cfg,
                 st_hist_t **out);

/* Allocates and builds a histogram; release it with st_hist_destroy. */
int st_hist_create(const st_hist_config_t *cfg, st_hist_t **out);
void st_hist_destroy(st_hist_t *h);

/* Record one value, or `count` occurrences of it. A value above the highest
 * trackable value is not recorded: it is counted as out of range and
 * ST_ERANGE is returned. Zero is a valid value. */
int st_hist_record(st_hist_t *h, uint64_t value);
int st_hist_record_n(st_hist_t *h, uint64_t value, uint64_t count);

/* Forget everything recorded. */
void st_hist_reset(st_hist_t *h);

/* Adds every count of `src` to `dst`. Histograms of different configurations
 * can be merged: each source bucket is re-recorded at its midpoint, clamped
 * to the source's exact min and max. A bucket whose representative `dst`
 * cannot hold is counted as out of range in `dst`, as are the values `src`
 * itself refused; their number goes to `*dropped` when it is not NULL.
 * Near `dst`'s highest trackable value a bucket is kept or dropped whole, so
 * the split there is as precise as the source's buckets. */
int st_hist_merge(st_hist_t *dst, const st_hist_t *src, uint64_t *dropped);

/* Configuration and size. */
uint64_t st_hist_highest_trackable(const st_hist_t *h);
int st_hist_significant_digits(const st_hist_t *h);
size_t st_hist_bucket_count(const st_hist_t *h);

/* The range of values that share a bucket with `value`. */
uint64_t st_hist_lowest_equivalent(const st_hist_t *h, uint64_t value);
uint64_t st_hist_highest_equivalent(const st_hist_t *h, uint64_t value);

typedef struct st_hist_summary_s {
  uint64_t count;        /* values recorded */
  uint64_t out_of_range; /* values refused because they were too large */
  uint64_t min, max;     /* exact; 0 when count is 0 */
  double mean, stddev;   /* from bucket midpoints (population stddev) */
} st_hist_summary_t;

/* Count, exact min and max, mean and standard deviation in two passes over
 * the buckets. An empty histogram gives count 0 and ST_EEMPTY. */
int st_hist_summarize(const st_hist_t *h, st_hist_summary_t *out);

/* Number of values recorded (walks the buckets). */
uint64_t st_hist_count(const st_hist_t *h);

/* The value at percentile p (0..100) by the nearest-rank definition: the
 * smallest recorded value v such that at least p% of the values are <= v,
 * reported as the highest value equivalent to v's bucket and clamped to the
 * exact min and max. p = 0 gives the min, p = 100 the max.
 * ST_EEMPTY on an empty histogram, ST_EINVAL for p outside 0..100 or NaN. */
int st_hist_percentile(const st_hist_t *h, double p, uint64_t *out);

/* Several percentiles in one pass; `ps` may be in any order. */
int st_hist_percentiles(const st_hist_t *h, const double *ps, uint64_t *out,
                        size_t n);

/* Iteration over the non-empty buckets, in increasing order of value. */
typedef struct st_hist_bucket_s {
  uint64_t lowest, highest, count;
} st_hist_bucket_t;

typedef struct st_hist_iter_s {
  const st_hist_t *h;
  size_t index;
} st_hist_iter_t;

void st_hist_iter_init(st_hist_iter_t *it, const st_hist_t *h);
/* 1 when a bucket was written to *out, 0 at the end. */
int st_hist_iter_next(st_hist_iter_t *it, st_hist_bucket_t *out);

#ifdef __cplusplus
}
#endif

#endif
