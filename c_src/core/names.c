/* Test ids and slot pools; see include/supertester/names.h.
 *
 * A pool is a bitmap of held slots plus the index of the lowest word that
 * may have a free bit, so acquiring the lowest free slot is a scan that
 * usually stops at the first word. The pools of a name pool are found by
 * key in an open-addressing table (linear probing, grown at half full). */
#include "supertester/names.h"

#include "mix.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

void st_idgen_init(st_idgen_t *g, uint64_t first) { atomic_init(&g->next, first); }

uint64_t st_idgen_next(st_idgen_t *g) {
  return atomic_fetch_add_explicit(&g->next, 1, memory_order_relaxed);
}

/* ---------------------------------------------------------------- slots */

struct st_slots_s {
  uint64_t *words;   /* bit i of word w set: slot 64w + i is held */
  size_t nwords;
  size_t hint;       /* no word below this has a free bit */
  size_t in_use;
  uint32_t high_water;
};

int st_slots_create(st_slots_t **out) {
  if (out == NULL) return ST_EINVAL;
  st_slots_t *s = calloc(1, sizeof *s);
  if (s == NULL) return ST_ENOMEM;
  *out = s;
  return ST_OK;
}

void st_slots_destroy(st_slots_t *s) {
  if (s == NULL) return;
  free(s->words);
  free(s);
}

static int grow_words(st_slots_t *s) {
  size_t n = s->nwords ? s->nwords * 2 : 1;
  uint64_t *w = realloc(s->words, n * sizeof *w);
  if (w == NULL) return ST_ENOMEM;
  memset(w + s->nwords, 0, (n - s->nwords) * sizeof *w);
  s->words = w;
  s->nwords = n;
  return ST_OK;
}

int st_slots_acquire(st_slots_t *s, uint32_t *slot) {
  if (s == NULL || slot == NULL) return ST_EINVAL;
  if (s->in_use >= ST_SLOTS_MAX) return ST_ERANGE;
  size_t w = s->hint;
  while (w < s->nwords && s->words[w] == UINT64_MAX) w++;
  if (w == s->nwords) {
    int rc = grow_words(s);
    if (rc != ST_OK) return rc;
  }
  unsigned bit = (unsigned)__builtin_ctzll(~s->words[w]);
  s->words[w] |= UINT64_C(1) << bit;
  s->hint = w;
  s->in_use++;
  uint32_t taken = (uint32_t)(w * 64 + bit);
  if (taken + 1 > s->high_water) s->high_water = taken + 1;
  *slot = taken;
  return ST_OK;
}

int st_slots_held(const st_slots_t *s, uint32_t slot) {
  size_t w = slot / 64;
  return s != NULL && w < s->nwords && (s->words[w] >> (slot % 64)) & 1;
}

int st_slots_release(st_slots_t *s, uint32_t slot) {
  if (s == NULL) return ST_EINVAL;
  if (!st_slots_held(s, slot)) return ST_ENOTFOUND;
  size_t w = slot / 64;
  s->words[w] &= ~(UINT64_C(1) << (slot % 64));
  if (w < s->hint) s->hint = w;
  s->in_use--;
  return ST_OK;
}

size_t st_slots_in_use(const st_slots_t *s) { return s ? s->in_use : 0; }
uint32_t st_slots_high_water(const st_slots_t *s) { return s ? s->high_water : 0; }

/* ------------------------------------------------------------ namepool */

typedef struct {
  uint64_t key;
  st_slots_t *slots; /* NULL: empty bucket */
} pool_bucket_t;

struct st_namepool_s {
  pool_bucket_t *buckets;
  size_t nbuckets; /* a power of two */
  size_t nkeys;
};

static size_t hash_key(uint64_t key) { return (size_t)st__mix64(key); }

int st_namepool_create(st_namepool_t **out) {
  if (out == NULL) return ST_EINVAL;
  st_namepool_t *p = calloc(1, sizeof *p);
  if (p == NULL) return ST_ENOMEM;
  p->nbuckets = 16;
  p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
  if (p->buckets == NULL) {
    free(p);
    return ST_ENOMEM;
  }
  *out = p;
  return ST_OK;
}

void st_namepool_destroy(st_namepool_t *p) {
  if (p == NULL) return;
  for (size_t i = 0; i < p->nbuckets; i++) st_slots_destroy(p->buckets[i].slots);
  free(p->buckets);
  free(p);
}

static pool_bucket_t *find_bucket(pool_bucket_t *buckets, size_t n, uint64_t key) {
  size_t i = hash_key(key) & (n - 1);
  while (buckets[i].slots != NULL && buckets[i].key != key) i = (i + 1) & (n - 1);
  return &buckets[i];
}

static int rehash(st_namepool_t *p) {
  size_t n = p->nbuckets * 2;
  pool_bucket_t *b = calloc(n, sizeof *b);
  if (b == NULL) return ST_ENOMEM;
  for (size_t i = 0; i < p->nbuckets; i++)
    if (p->buckets[i].slots != NULL)
      *find_bucket(b, n, p->buckets[i].key) = p->buckets[i];
  free(p->buckets);
  p->buckets = b;
  p->nbuckets = n;
  return ST_OK;
}

int st_namepool_acquire(st_namepool_t *p, uint64_t key, uint32_t *slot) {
  if (p == NULL || slot == NULL) return ST_EINVAL;
  pool_bucket_t *b = find_bucket(p->buckets, p->nbuckets, key);
  if (b->slots == NULL) {
    if (2 * (p->nkeys + 1) > p->nbuckets) {
      int rc = rehash(p);
      if (rc != ST_OK) return rc;
      b = find_bucket(p->buckets, p->nbuckets, key);
    }
    int rc = st_slots_create(&b->slots);
    if (rc != ST_OK) return rc;
    b->key = key;
    p->nkeys++;
  }
  return st_slots_acquire(b->slots, slot);
}

int st_namepool_release(st_namepool_t *p, uint64_t key, uint32_t slot) {
  if (p == NULL) return ST_EINVAL;
  pool_bucket_t *b = find_bucket(p->buckets, p->nbuckets, key);
  if (b->slots == NULL) return ST_ENOTFOUND;
  return st_slots_release(b->slots, slot);
}

size_t st_namepool_in_use(const st_namepool_t *p) {
  if (p == NULL) return 0;
  size_t total = 0;
  for (size_t i = 0; i < p->nbuckets; i++)
    if (p->buckets[i].slots != NULL) total += st_slots_in_use(p->buckets[i].slots);
  return total;
}

uint64_t st_namepool_high_water(const st_namepool_t *p) {
  if (p == NULL) return 0;
  uint64_t total = 0;
  for (size_t i = 0; i < p->nbuckets; i++)
    if (p->buckets[i].slots != NULL) total += st_slots_high_water(p->buckets[i].slots);
  return total;
}
