/* Identifiers and bounded names for test isolation.
 *
 * Test ids come from a 64-bit counter: unique for the life of the VM,
 * lock-free, a few nanoseconds each.
 *
 * Names come from slot pools. A pool hands out small integers, always the
 * lowest free one, and takes them back when released; a name built from a
 * key and a slot ("MyApp.Server#3") is therefore reused once its holder is
 * gone. On the BEAM, where atoms are never collected, this bounds the atoms
 * the toolkit creates by the highest number of names held at once per key,
 * not by the number of tests run: a suite of a million tests starting one
 * server each, 50 at a time, creates about 50 atoms per module.
 *
 * The pools are not thread-safe (the NIF holds a lock around them); the id
 * generator is. */
#ifndef SUPERTESTER_NAMES_H
#define SUPERTESTER_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest slot a pool hands out (plus one): beyond it ST_ERANGE. */
#define ST_SLOTS_MAX (UINT32_C(1) << 24)

typedef struct st_idgen_s {
  _Atomic uint64_t next;
} st_idgen_t;

void st_idgen_init(st_idgen_t *g, uint64_t first);
/* Thread-safe; never returns the same id twice. */
uint64_t st_idgen_next(st_idgen_t *g);

/* One pool of slots. */
typedef struct st_slots_s st_slots_t;

int st_slots_create(st_slots_t **out);
void st_slots_destroy(st_slots_t *s);

/* The lowest free slot, now held. ST_ERANGE when ST_SLOTS_MAX are held. */
int st_slots_acquire(st_slots_t *s, uint32_t *slot);
/* Gives a held slot back; ST_ENOTFOUND when it is not held. */
int st_slots_release(st_slots_t *s, uint32_t slot);
int st_slots_held(const st_slots_t *s, uint32_t slot);
size_t st_slots_in_use(const st_slots_t *s);
/* One more than the highest slot ever handed out: the names ever built. */
uint32_t st_slots_high_water(const st_slots_t *s);

/* Slot pools by 64-bit key (the NIF uses the atom of a module). */
typedef struct st_namepool_s st_namepool_t;

int st_namepool_create(st_namepool_t **out);
void st_namepool_destroy(st_namepool_t *p);

int st_namepool_acquire(st_namepool_t *p, uint64_t key, uint32_t *slot);
/* ST_ENOTFOUND when the key has no such slot held. */
int st_namepool_release(st_namepool_t *p, uint64_t key, uint32_t slot);
size_t st_namepool_in_use(const st_namepool_t *p);
/* Distinct (key, slot) pairs ever handed out: the names ever built. */
uint64_t st_namepool_high_water(const st_namepool_t *p);

#ifdef __cplusplus
}
#endif

#endif
