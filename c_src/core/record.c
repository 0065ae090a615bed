/* The per-test record; see include/supertester/record.h.
 *
 * Entries live in an array in arrival order; a removed entry leaves a hole
 * (kind 0) until the array is compacted, which happens when holes outnumber
 * live entries. An index maps (kind, key) to the entry's position: linear
 * probing with backward-shift deletion, so removals leave no tombstones in
 * the index and lookups stay short. */
#include "supertester/record.h"

#include "mix.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
  uint64_t key;
  uint32_t kind; /* 0: empty bucket */
  uint32_t pos;  /* position in the entries array */
} index_bucket_t;

struct st_record_s {
  st_record_entry_t *entries;
  size_t len, cap; /* used and allocated entries, holes included */
  size_t live;
  size_t live_by_kind[ST_RECORD_MAX_KIND + 1];
  uint64_t next_seq;
  index_bucket_t *index;
  size_t nbuckets; /* a power of two, at least twice the live entries */
};

/* Kinds are folded in so one key under two kinds lands apart. */
static size_t hash_entry(int kind, uint64_t key) {
  return (size_t)st__mix64(key ^ ((uint64_t)kind * UINT64_C(0x9E3779B97F4A7C15)));
}

int st_record_create(st_record_t **out) {
  if (out == NULL) return ST_EINVAL;
  st_record_t *r = calloc(1, sizeof *r);
  if (r == NULL) return ST_ENOMEM;
  r->nbuckets = 16;
  r->index = calloc(r->nbuckets, sizeof *r->index);
  if (r->index == NULL) {
    free(r);
    return ST_ENOMEM;
  }
  r->next_seq = 1;
  *out = r;
  return ST_OK;
}

void st_record_destroy(st_record_t *r, void (*free_data)(void *data, void *ctx),
                       void *ctx) {
  if (r == NULL) return;
  if (free_data != NULL)
    for (size_t i = 0; i < r->len; i++)
      if (r->entries[i].kind != 0) free_data(r->entries[i].data, ctx);
  free(r->entries);
  free(r->index);
  free(r);
}

/* Bucket holding (kind, key), or the empty bucket where it would go. */
static size_t probe(const st_record_t *r, int kind, uint64_t key) {
  size_t mask = r->nbuckets - 1;
  size_t i = hash_entry(kind, key) & mask;
  while (r->index[i].kind != 0 &&
         !(r->index[i].kind == (uint32_t)kind && r->index[i].key == key))
    i = (i + 1) & mask;
  return i;
}

static void index_insert(st_record_t *r, int kind, uint64_t key, size_t pos) {
  size_t i = probe(r, kind, key);
  r->index[i] = (index_bucket_t){key, (uint32_t)kind, (uint32_t)pos};
}

/* Backward-shift deletion: pull later members of the probe run into the
 * hole so every remaining key is still reachable from its home bucket. */
static void index_delete(st_record_t *r, size_t hole) {
  size_t mask = r->nbuckets - 1;
  size_t i = hole;
  for (;;) {
    i = (i + 1) & mask;
    if (r->index[i].kind == 0) break;
    size_t home = hash_entry((int)r->index[i].kind, r->index[i].key) & mask;
    /* Move i into the hole unless its home lies cyclically in (hole, i]. */
    int home_after_hole = hole <= i ? (home > hole && home <= i)
                                    : (home > hole || home <= i);
    if (!home_after_hole) {
      r->index[hole] = r->index[i];
      hole = i;
    }
  }
  r->index[hole].kind = 0;
}

/* Replaces the index by `fresh` (zeroed, nbuckets long) and fills it. */
static void install_index(st_record_t *r, index_bucket_t *fresh, size_t nbuckets) {
  free(r->index);
  r->index = fresh;
  r->nbuckets = nbuckets;
  for (size_t i = 0; i < r->len; i++)
    if (r->entries[i].kind != 0)
      index_insert(r, r->entries[i].kind, r->entries[i].key, i);
}

static int grow_index(st_record_t *r) {
  index_bucket_t *fresh = calloc(r->nbuckets * 2, sizeof *fresh);
  if (fresh == NULL) return ST_ENOMEM;
  install_index(r, fresh, r->nbuckets * 2);
  return ST_OK;
}

/* Squeezes the holes out of the array, keeping the order. Positions move,
 * so the index is rebuilt; without memory for it the holes simply stay. */
static void compact(st_record_t *r) {
  /* Sized for the live entries, not for the peak: rebuilding a peak-sized
   * index at every compaction would make removals cost O(peak). */
  size_t nbuckets = 16;
  while (nbuckets < 2 * r->live) nbuckets *= 2;
  index_bucket_t *fresh = calloc(nbuckets, sizeof *fresh);
  if (fresh == NULL) return;
  size_t j = 0;
  for (size_t i = 0; i < r->len; i++)
    if (r->entries[i].kind != 0) r->entries[j++] = r->entries[i];
  r->len = j;
  install_index(r, fresh, nbuckets);
}

int st_record_push(st_record_t *r, int kind, uint64_t key, void *data,
                   uint64_t *seq) {
  if (r == NULL || kind < 1 || kind > ST_RECORD_MAX_KIND) return ST_EINVAL;
  if (r->index[probe(r, kind, key)].kind != 0) return ST_EEXIST;
  if (2 * (r->live + 1) > r->nbuckets) {
    int rc = grow_index(r);
    if (rc != ST_OK) return rc;
  }
  if (r->len == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    st_record_entry_t *e = realloc(r->entries, cap * sizeof *e);
    if (e == NULL) return ST_ENOMEM;
    r->entries = e;
    r->cap = cap;
  }
  st_record_entry_t entry = {r->next_seq++, kind, key, data};
  r->entries[r->len] = entry;
  index_insert(r, kind, key, r->len);
  r->len++;
  r->live++;
  r->live_by_kind[kind]++;
  if (seq) *seq = entry.seq;
  return ST_OK;
}

static void forget(st_record_t *r, size_t bucket, st_record_entry_t *out) {
  size_t pos = r->index[bucket].pos;
  if (out) *out = r->entries[pos];
  r->live_by_kind[r->entries[pos].kind]--;
  r->live--;
  r->entries[pos].kind = 0;
  index_delete(r, bucket);
  /* Trailing holes cost nothing to drop; inner ones wait for compaction. */
  while (r->len > 0 && r->entries[r->len - 1].kind == 0) r->len--;
  if (r->len > 64 && r->len > 2 * r->live) compact(r);
}

int st_record_remove(st_record_t *r, int kind, uint64_t key,
                     st_record_entry_t *removed) {
  if (r == NULL) return ST_EINVAL;
  if (kind < 1 || kind > ST_RECORD_MAX_KIND) return ST_ENOTFOUND;
  size_t b = probe(r, kind, key);
  if (r->index[b].kind == 0) return ST_ENOTFOUND;
  forget(r, b, removed);
  return ST_OK;
}

int st_record_find(const st_record_t *r, int kind, uint64_t key,
                   st_record_entry_t *found) {
  if (r == NULL) return ST_EINVAL;
  if (kind < 1 || kind > ST_RECORD_MAX_KIND) return ST_ENOTFOUND;
  size_t b = probe(r, kind, key);
  if (r->index[b].kind == 0) return ST_ENOTFOUND;
  if (found) *found = r->entries[r->index[b].pos];
  return ST_OK;
}

int st_record_pop(st_record_t *r, st_record_entry_t *out) {
  if (r == NULL) return ST_EINVAL;
  if (r->live == 0) return ST_EEMPTY;
  /* No trailing holes (forget drops them), so the last entry is live. */
  st_record_entry_t *last = &r->entries[r->len - 1];
  return st_record_remove(r, last->kind, last->key, out);
}

size_t st_record_count(const st_record_t *r, int kind) {
  if (r == NULL) return 0;
  if (kind == 0) return r->live;
  if (kind < 1 || kind > ST_RECORD_MAX_KIND) return 0;
  return r->live_by_kind[kind];
}

void st_record_iter_init(st_record_iter_t *it, const st_record_t *r) {
  it->r = r;
  it->pos = r->len;
}

int st_record_iter_next(st_record_iter_t *it, st_record_entry_t *out) {
  while (it->pos > 0) {
    const st_record_entry_t *e = &it->r->entries[--it->pos];
    if (e->kind == 0) continue;
    *out = *e;
    return 1;
  }
  return 0;
}
