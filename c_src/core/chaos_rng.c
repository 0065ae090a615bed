/* The chaos PRNG; see include/supertester/chaos.h.
 *
 * The generator is xoshiro256** (David Blackman and Sebastiano Vigna,
 * "Scrambled linear pseudorandom number generators", 2018): a 256-bit
 * xor/shift/rotate state with the ** scrambler, rotl(s1 * 5, 7) * 9. Its
 * state is filled by four outputs of splitmix64 (Guy Steele, Doug Lea and
 * Christine Flood, "Fast splittable pseudorandom number generators", 2014),
 * the seeding the xoshiro authors recommend: splitmix64 is a bijection of
 * its counter, so the four words are never all zero, whatever the seed.
 * Both are written here from those descriptions.
 *
 * How many values each function draws is part of the replay contract of
 * the plans built on it (chaos_plan.c), so it is spelled out per function:
 *   - between: nothing when lo == hi; else one draw, repeated while the draw
 *     falls in the rejected zone (rare: less than half the time even in the
 *     worst case, almost never for small ranges);
 *   - bernoulli: exactly one draw, whatever p (0 and 1 included);
 *   - shuffle: one `between` per position from the last down to the second;
 *   - choose: one `between` per chosen index;
 *   - jitter: one `between`, nothing when the spread is zero.
 * Nothing depends on floating-point rounding except the one exact scaling
 * in bernoulli. */
#include "supertester/chaos.h"

#include "mix.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* splitmix64: advance the counter by the golden-ratio increment, then mix
 * it with two xor-shift-multiply rounds and a final xor-shift. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void st_rng_seed(st_rng_t *rng, uint64_t seed) {
  if (rng == NULL) return;
  uint64_t sm = seed;
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&sm);
}

uint64_t st_rng_next(st_rng_t *rng) {
  uint64_t *s = rng->s;
  uint64_t out = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return out;
}

/* Threshold rejection: of the 2^64 possible draws, the lowest
 * 2^64 mod span are rejected, so the ones kept are a whole number of copies
 * of [0, span) and the remainder is exactly uniform. (2^64 mod span is
 * computed in 64 bits as (-span) mod span.) lo > hi is outside the
 * contract: it returns lo without drawing. */
uint64_t st_rng_between(st_rng_t *rng, uint64_t lo, uint64_t hi) {
  if (hi <= lo) return lo;
  uint64_t range = hi - lo;
  if (range == UINT64_MAX) return st_rng_next(rng);
  uint64_t span = range + 1;
  uint64_t reject_below = (0 - span) % span;
  for (;;) {
    uint64_t x = st_rng_next(rng);
    if (x >= reject_below) return lo + x % span;
  }
}

/* The draw's top 53 bits d are uniform in [0, 2^53); the outcome is
 * d < p * 2^53 (as a real number), that is d < ceil(p * 2^53). The scaling
 * by a power of two is exact in binary floating point and the ceiling of a
 * double below 2^53 is an integer the conversion keeps exactly, so every
 * platform with IEEE doubles gets the same threshold. NaN counts as 0. */
int st_rng_bernoulli(st_rng_t *rng, double p) {
  uint64_t d = st_rng_next(rng) >> 11;
  if (!(p > 0.0)) return 0; /* also NaN */
  if (p >= 1.0) return 1;
  double scaled = p * 0x1p53; /* exact: in (0, 2^53) */
  uint64_t threshold = (uint64_t)scaled; /* truncation, exact */
  if ((double)threshold < scaled) threshold++;
  return d < threshold;
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size) {
  unsigned char tmp[64];
  while (size > 0) {
    size_t chunk = size < sizeof tmp ? size : sizeof tmp;
    memcpy(tmp, a, chunk);
    memcpy(a, b, chunk);
    memcpy(b, tmp, chunk);
    a += chunk;
    b += chunk;
    size -= chunk;
  }
}

/* Durstenfeld's form of Fisher-Yates: position i, from the last down to 1,
 * swaps with a uniform position in [0, i]. */
void st_rng_shuffle(st_rng_t *rng, void *items, size_t n, size_t size) {
  if (items == NULL || n < 2 || size == 0) return;
  unsigned char *base = items;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = (size_t)st_rng_between(rng, 0, i);
    if (j != i) swap_bytes(base + i * size, base + j * size, size);
  }
}

/* ------------------------------------------------------------------ choose */

/* A partial Fisher-Yates shuffle of the virtual array a[x] = x, x < n: step
 * i swaps a[i] with a uniform a[j], j in [i, n), and outputs the value that
 * lands at i. Only positions displaced by an earlier swap differ from
 * a[x] = x; they are kept in a small open-addressing table (at most one
 * entry per step, so O(k) memory however large n is). The output is a
 * uniformly random ordered sample: each k-permutation of distinct indices
 * equally likely, hence also in the order drawn. */

typedef struct {
  uint64_t key; /* EMPTY_KEY when unused: keys are < n <= UINT64_MAX */
  uint64_t value;
} slot_t;

#define EMPTY_KEY UINT64_MAX
#define STACK_SLOTS 64

typedef struct {
  slot_t *slots;
  size_t mask;
} displaced_t;

static size_t slot_of(const displaced_t *t, uint64_t key) {
  size_t i = (size_t)st__mix64(key) & t->mask; /* spreads consecutive keys */
  while (t->slots[i].key != EMPTY_KEY && t->slots[i].key != key)
    i = (i + 1) & t->mask;
  return i;
}

/* a[key]: its displaced value, or key itself. */
static uint64_t displaced_get(const displaced_t *t, uint64_t key) {
  const slot_t *s = &t->slots[slot_of(t, key)];
  return s->key == key ? s->value : key;
}

static void displaced_set(displaced_t *t, uint64_t key, uint64_t value) {
  slot_t *s = &t->slots[slot_of(t, key)];
  s->key = key;
  s->value = value;
}

int st_rng_choose(st_rng_t *rng, uint64_t n, uint64_t k, uint64_t *out) {
  if (rng == NULL || k > n || (out == NULL && k > 0)) return ST_EINVAL;
  if (k == 0) return ST_OK;
  /* Step i inserts at most one key (j, when j > i), so k entries at most;
   * twice that many slots, rounded up to a power of two, keeps the probes
   * short. The bound keeps cap * sizeof(slot_t) from wrapping. A k above
   * STACK_SLOTS / 2 puts the table on the heap, hence ST_ENOMEM. */
  if (k > SIZE_MAX / (4 * sizeof(slot_t))) return ST_ENOMEM;
  size_t want = (size_t)k * 2, cap = STACK_SLOTS;
  while (cap < want) cap <<= 1;
  slot_t stack_slots[STACK_SLOTS];
  slot_t *slots =
      cap <= STACK_SLOTS ? stack_slots : malloc(cap * sizeof(slot_t));
  if (slots == NULL) return ST_ENOMEM;
  for (size_t i = 0; i < cap; i++) slots[i].key = EMPTY_KEY;
  displaced_t t = {slots, cap - 1};

  for (uint64_t i = 0; i < k; i++) {
    uint64_t j = st_rng_between(rng, i, n - 1);
    uint64_t at_j = displaced_get(&t, j);
    /* a[i] moves to j; position i is never read again. */
    if (j != i) displaced_set(&t, j, displaced_get(&t, i));
    out[i] = at_j;
  }
  if (slots != stack_slots) free(slots);
  return ST_OK;
}

/* ------------------------------------------------------------------ jitter */

/* Uniform in [base - d, base + d] with d = floor(base * pct / 100), the
 * lower end raised to 1 when base >= 1 (so uniform over [1, base + d]
 * then) and the upper end capped at UINT64_MAX. */
uint64_t st_rng_jitter(st_rng_t *rng, uint64_t base, uint32_t jitter_pct) {
  uint64_t pct = jitter_pct > 100 ? 100 : jitter_pct;
  /* base * pct / 100 without overflowing 64 bits. */
  uint64_t d = base / 100 * pct + base % 100 * pct / 100;
  uint64_t lo = base - d;
  uint64_t hi = base > UINT64_MAX - d ? UINT64_MAX : base + d;
  if (base >= 1 && lo < 1) lo = 1;
  return st_rng_between(rng, lo, hi);
}
