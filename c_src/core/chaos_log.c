/* The log of a chaos run; see include/supertester/chaos.h.
 *
 * A growable array whose capacity doubles when full (amortised O(1)
 * append), with a counter per kind so st_chaos_log_count_kind is O(1). */
#include "supertester/chaos.h"

#include <stdbool.h>
#include <stdlib.h>

#define INITIAL_CAPACITY 16
#define KIND_MIN ST_CHAOS_PLANNED
#define KIND_MAX ST_CHAOS_SUPERVISOR_DOWN

struct st_chaos_log_s {
  st_chaos_log_entry_t *entries;
  size_t count;
  size_t capacity;
  size_t per_kind[KIND_MAX + 1];
};

static bool kind_valid(st_chaos_log_kind_t kind) {
  return (int)kind >= KIND_MIN && (int)kind <= KIND_MAX;
}

int st_chaos_log_create(st_chaos_log_t **out) {
  if (out == NULL) return ST_EINVAL;
  st_chaos_log_t *log = calloc(1, sizeof *log);
  if (log == NULL) return ST_ENOMEM;
  *out = log; /* entries come with the first append */
  return ST_OK;
}

void st_chaos_log_destroy(st_chaos_log_t *log) {
  if (log == NULL) return;
  free(log->entries);
  free(log);
}

int st_chaos_log_append(st_chaos_log_t *log, const st_chaos_log_entry_t *e) {
  if (log == NULL || e == NULL || !kind_valid(e->kind)) return ST_EINVAL;
  if (log->count == log->capacity) {
    size_t cap = log->capacity == 0 ? INITIAL_CAPACITY : log->capacity * 2;
    if (cap < log->capacity || cap > SIZE_MAX / sizeof *log->entries)
      return ST_ENOMEM;
    st_chaos_log_entry_t *grown =
        realloc(log->entries, cap * sizeof *log->entries);
    if (grown == NULL) return ST_ENOMEM; /* the log is unchanged */
    log->entries = grown;
    log->capacity = cap;
  }
  log->entries[log->count++] = *e;
  log->per_kind[e->kind]++;
  return ST_OK;
}

size_t st_chaos_log_count(const st_chaos_log_t *log) {
  return log == NULL ? 0 : log->count;
}

int st_chaos_log_get(const st_chaos_log_t *log, size_t i,
                     st_chaos_log_entry_t *out) {
  if (log == NULL || out == NULL || i >= log->count) return ST_EINVAL;
  *out = log->entries[i];
  return ST_OK;
}

size_t st_chaos_log_count_kind(const st_chaos_log_t *log,
                               st_chaos_log_kind_t kind) {
  if (log == NULL || !kind_valid(kind)) return 0;
  return log->per_kind[kind];
}
