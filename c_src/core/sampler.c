#include "supertester/sampler.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

struct st_sampler_s {
  size_t capacity;
  size_t head; /* slot of the oldest retained sample */
  size_t len;
  bool heap_allocated;
  st_sampler_stats_t all; /* running summary of everything pushed */
  double sum;
  st_sample_t ring[];
};

size_t st_sampler_footprint(size_t capacity) {
  if (capacity == 0 || capacity > ST_SAMPLER_MAX_CAPACITY) return 0;
  return sizeof(st_sampler_t) + capacity * sizeof(st_sample_t);
}

void st_sampler_reset(st_sampler_t *s) {
  s->head = 0;
  s->len = 0;
  s->all = (st_sampler_stats_t){0};
  s->sum = 0.0;
}

int st_sampler_init(void *mem, size_t bytes, size_t capacity,
                    st_sampler_t **out) {
  size_t need = st_sampler_footprint(capacity);
  if (mem == NULL || out == NULL || need == 0 || bytes < need) return ST_EINVAL;
  if (((uintptr_t)mem % _Alignof(st_sampler_t)) != 0) return ST_EINVAL;
  st_sampler_t *s = mem;
  s->capacity = capacity;
  s->heap_allocated = false;
  st_sampler_reset(s);
  *out = s;
  return ST_OK;
}

int st_sampler_create(size_t capacity, st_sampler_t **out) {
  size_t need = st_sampler_footprint(capacity);
  if (out == NULL || need == 0) return ST_EINVAL;
  void *mem = malloc(need);
  if (mem == NULL) return ST_ENOMEM;
  st_sampler_t *s;
  int rc = st_sampler_init(mem, need, capacity, &s);
  if (rc != ST_OK) {
    free(mem);
    return rc;
  }
  s->heap_allocated = true;
  *out = s;
  return ST_OK;
}

void st_sampler_destroy(st_sampler_t *s) {
  if (s != NULL && s->heap_allocated) free(s);
}

int st_sampler_push(st_sampler_t *s, int64_t time, double value) {
  if (s == NULL || !isfinite(value)) return ST_EINVAL;
  size_t slot = (s->head + s->len) % s->capacity;
  s->ring[slot] = (st_sample_t){time, value};
  if (s->len < s->capacity)
    s->len++;
  else
    s->head = (s->head + 1) % s->capacity;

  st_sampler_stats_t *a = &s->all;
  if (a->count == 0 || value < a->min) a->min = value;
  if (a->count == 0 || value > a->max) a->max = value;
  a->count++;
  s->sum += value;
  a->mean = s->sum / (double)a->count;
  return ST_OK;
}

size_t st_sampler_capacity(const st_sampler_t *s) { return s->capacity; }
size_t st_sampler_len(const st_sampler_t *s) { return s->len; }
uint64_t st_sampler_total(const st_sampler_t *s) { return s->all.count; }

int st_sampler_get(const st_sampler_t *s, size_t i, st_sample_t *out) {
  if (s == NULL || out == NULL || i >= s->len) return ST_EINVAL;
  *out = s->ring[(s->head + i) % s->capacity];
  return ST_OK;
}

int st_sampler_stats(const st_sampler_t *s, st_sampler_stats_t *out) {
  if (s == NULL || out == NULL) return ST_EINVAL;
  if (s->all.count == 0) return ST_EEMPTY;
  *out = s->all;
  return ST_OK;
}

int st_sampler_window_stats(const st_sampler_t *s, st_sampler_stats_t *out) {
  if (s == NULL || out == NULL) return ST_EINVAL;
  if (s->len == 0) return ST_EEMPTY;
  st_sampler_stats_t w = {.count = s->len};
  double sum = 0.0;
  for (size_t i = 0; i < s->len; i++) {
    double v = s->ring[(s->head + i) % s->capacity].value;
    if (i == 0 || v < w.min) w.min = v;
    if (i == 0 || v > w.max) w.max = v;
    sum += v;
  }
  w.mean = sum / (double)s->len;
  *out = w;
  return ST_OK;
}
