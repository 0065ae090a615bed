/* The record of one test: what it started, created, registered and asked to
 * be done at its end, in the order it happened, so cleanup can undo it last
 * first (LIFO), as a supervisor shuts its children down.
 *
 * Each entry has a kind chosen by the caller (a small positive integer:
 * process, ETS table, name, cleanup action...), a 64-bit key unique within
 * its kind, and an opaque data pointer the caller owns. Entries can be
 * removed by (kind, key) at any time, in constant time: the NIF removes a
 * process the moment its monitor reports it dead, so the record only ever
 * holds live things and cleanup never polls.
 *
 * Not thread-safe: the NIF serialises access. */
#ifndef SUPERTESTER_RECORD_H
#define SUPERTESTER_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_RECORD_MAX_KIND 15

typedef struct st_record_entry_s {
  uint64_t seq; /* order of arrival, from 1 */
  int kind;     /* 1 .. ST_RECORD_MAX_KIND */
  uint64_t key;
  void *data;
} st_record_entry_t;

typedef struct st_record_s st_record_t;

int st_record_create(st_record_t **out);
/* Calls free_data (when not NULL) on the data of every remaining entry. */
void st_record_destroy(st_record_t *r, void (*free_data)(void *data, void *ctx),
                       void *ctx);

/* Appends an entry. ST_EEXIST when (kind, key) is already recorded,
 * ST_EINVAL for a kind outside 1..ST_RECORD_MAX_KIND. */
int st_record_push(st_record_t *r, int kind, uint64_t key, void *data,
                   uint64_t *seq);

/* Removes the entry (kind, key), copying it to *removed when not NULL.
 * ST_ENOTFOUND when there is none. */
int st_record_remove(st_record_t *r, int kind, uint64_t key,
                     st_record_entry_t *removed);

/* Finds (kind, key) without removing it. */
int st_record_find(const st_record_t *r, int kind, uint64_t key,
                   st_record_entry_t *found);

/* Removes and returns the newest entry; ST_EEMPTY when none is left. */
int st_record_pop(st_record_t *r, st_record_entry_t *out);

/* Entries of one kind, or of every kind when kind is 0. */
size_t st_record_count(const st_record_t *r, int kind);

/* Walks the entries newest first without removing them. The record must
 * not change during the walk. */
typedef struct st_record_iter_s {
  const st_record_t *r;
  size_t pos;
} st_record_iter_t;

void st_record_iter_init(st_record_iter_t *it, const st_record_t *r);
/* 1 when an entry was written to *out, 0 at the end. */
int st_record_iter_next(st_record_iter_t *it, st_record_entry_t *out);

#ifdef __cplusplus
}
#endif

#endif
