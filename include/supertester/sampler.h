/* A bounded time series: the last `capacity` (time, value) samples in a ring
 * buffer, plus count, min, max and mean over every sample ever pushed, so the
 * summary stays exact however long the series runs while memory stays fixed.
 *
 * Not thread-safe: one writer at a time (the NIF serialises access). */
#ifndef SUPERTESTER_SAMPLER_H
#define SUPERTESTER_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_SAMPLER_MAX_CAPACITY (UINT64_C(1) << 24)

typedef struct st_sample_s {
  int64_t time; /* caller's clock and unit */
  double value;
} st_sample_t;

typedef struct st_sampler_stats_s {
  uint64_t count;
  double min, max, mean;
} st_sampler_stats_t;

typedef struct st_sampler_s st_sampler_t;

/* Bytes a sampler retaining `capacity` samples occupies; 0 if capacity is
 * 0 or above ST_SAMPLER_MAX_CAPACITY. */
size_t st_sampler_footprint(size_t capacity);

/* Builds an empty sampler in caller-provided memory (see st_hist_init). */
int st_sampler_init(void *mem, size_t bytes, size_t capacity,
                    st_sampler_t **out);

int st_sampler_create(size_t capacity, st_sampler_t **out);
void st_sampler_destroy(st_sampler_t *s);

/* Appends a sample, evicting the oldest when full. NaN and infinities are
 * refused. */
int st_sampler_push(st_sampler_t *s, int64_t time, double value);

void st_sampler_reset(st_sampler_t *s);

size_t st_sampler_capacity(const st_sampler_t *s);
/* Samples currently retained (at most the capacity). */
size_t st_sampler_len(const st_sampler_t *s);
/* Samples pushed since creation or reset, evicted ones included. */
uint64_t st_sampler_total(const st_sampler_t *s);

/* Retained sample i, 0 being the oldest. ST_EINVAL when out of bounds. */
int st_sampler_get(const st_sampler_t *s, size_t i, st_sample_t *out);

/* Over every sample pushed; ST_EEMPTY before the first. */
int st_sampler_stats(const st_sampler_t *s, st_sampler_stats_t *out);

/* Over the retained window only; ST_EEMPTY when it is empty. */
int st_sampler_window_stats(const st_sampler_t *s, st_sampler_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif
