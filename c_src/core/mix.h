/* Internal to the core: the 64-bit mixer the hash tables (names.c,
 * record.c) apply to their keys. Keys are often pointers or tagged words
 * whose low bits barely vary; mixing spreads them before masking. This is
 * the finaliser of MurmurHash3 (public domain), a bijection on 64 bits. */
#ifndef SUPERTESTER_CORE_MIX_H
#define SUPERTESTER_CORE_MIX_H

#include <stdint.h>

static inline uint64_t st__mix64(uint64_t x) {
  x ^= x >> 33;
  x *= UINT64_C(0xff51afd7ed558ccd);
  x ^= x >> 33;
  return x;
}

#endif
