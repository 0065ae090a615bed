/* Chaos plans: made from one seed, and written to and read from their
 * string form; see include/supertester/chaos.h.
 *
 * Replay compatibility. A plan is a pure function of its parameters and of
 * the order in which it draws from its one generator (st_rng_seed(seed)).
 * That order is fixed here, and changing it changes every plan already
 * printed in someone's report. Tick by tick, starting with the tick at
 * time t = 0:
 *   1. the interval to the next tick: st_rng_jitter(interval_ms,
 *      jitter_pct), so next = t + interval;
 *   2. whether this tick kills: st_rng_bernoulli(kill_rate), one draw;
 *   3. only when it kills: the target, st_rng_between(0, n_targets - 1);
 *   4. only when it kills: the reason, st_rng_between(0, n_reasons - 1).
 * The plan ends after the kill that reaches max_kills, or when next is not
 * before duration_ms. The tick at 0 always happens, so duration_ms 0 plans
 * one tick. When no tick killed, the same generator continues (no
 * re-seeding) and draws a target and then a reason, in that order, for a
 * kill at time 0. (How many values each st_rng_* call draws is written in
 * chaos_rng.c.)
 *
 * Output. On success and on ST_ERANGE, out holds the first min(count, cap)
 * actions and *n the plan's full count; st_chaos_plan_parse also fills *p
 * then. On ST_EINVAL nothing is written.
 *
 * String form: "st1;seed=S;rate=R;dur=D;int=I;jit=J;max=M;tg=T;rs=Q;a=L"
 * with the keys in exactly that order, integers in plain decimal (no sign,
 * no leading zero, no spaces), R as printed by %.17g (parsed with strtod:
 * a digit first, then only digits, '.', 'e', 'E', '+' and '-'), and L one
 * or more at_ms.target.reason triples separated by ','. The parser accepts
 * exactly what a plan can be: every parameter in its range (as for
 * st_chaos_plan), between 1 and max actions, each with target < tg,
 * reason < rs, at_ms either 0 or before dur, and times that never go back.
 * A subset of a plan, such as the one ddmin leaves, is still a plan. */
#include "supertester/chaos.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool params_valid(const st_chaos_params_t *p) {
  return p->kill_rate >= 0.0 && p->kill_rate <= 1.0 && /* false for NaN */
         p->interval_ms >= 1 && p->jitter_pct <= 100 && p->max_kills >= 1 &&
         p->n_targets >= 1 && p->n_reasons >= 1;
}

/* A kill at `at`: draws its target, then its reason (steps 3 and 4 above),
 * and writes it as action i when it fits. */
static void draw_kill(st_rng_t *rng, const st_chaos_params_t *p,
                      st_chaos_action_t *out, size_t cap, size_t i,
                      uint64_t at) {
  uint32_t target = (uint32_t)st_rng_between(rng, 0, p->n_targets - 1);
  uint32_t reason = (uint32_t)st_rng_between(rng, 0, p->n_reasons - 1);
  if (i < cap)
    out[i] = (st_chaos_action_t){(uint32_t)at, target, reason};
}

int st_chaos_plan(const st_chaos_params_t *p, st_chaos_action_t *out,
                  size_t cap, size_t *n) {
  if (p == NULL || n == NULL || (out == NULL && cap > 0) || !params_valid(p))
    return ST_EINVAL;
  st_rng_t rng;
  st_rng_seed(&rng, p->seed);
  size_t count = 0;
  /* Times stay below 2^32 (t < duration_ms) and an interval below 2^33, so
   * next never wraps. */
  uint64_t t = 0;
  for (;;) {
    uint64_t next = t + st_rng_jitter(&rng, p->interval_ms, p->jitter_pct);
    if (st_rng_bernoulli(&rng, p->kill_rate)) {
      draw_kill(&rng, p, out, cap, count++, t);
      if (count == p->max_kills) break;
    }
    if (next >= p->duration_ms) break;
    t = next;
  }
  if (count == 0) draw_kill(&rng, p, out, cap, count++, 0);
  *n = count;
  return count > cap ? ST_ERANGE : ST_OK;
}

/* ------------------------------------------------------------------ format */

/* snprintf's contract over several pieces: len counts every byte the whole
 * string needs, buf receives what fits, always NUL-terminated when cap > 0. */
typedef struct {
  char *buf;
  size_t cap;
  size_t len;
} writer_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void put(writer_t *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int r;
  if (w->len < w->cap)
    r = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
  else
    r = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (r > 0) w->len += (size_t)r;
}

size_t st_chaos_plan_format(const st_chaos_params_t *p,
                            const st_chaos_action_t *actions, size_t n,
                            char *buf, size_t cap) {
  if (buf == NULL) cap = 0;
  if (cap > 0) buf[0] = '\0';
  if (p == NULL || (actions == NULL && n > 0)) return 0;
  writer_t w = {buf, cap, 0};
  /* -0.0 is a valid rate (it compares equal to 0) but "-0" would not parse
   * back: both print as "0". */
  double rate = p->kill_rate == 0.0 ? 0.0 : p->kill_rate;
  put(&w,
      "st1;seed=%" PRIu64 ";rate=%.17g;dur=%" PRIu32 ";int=%" PRIu32
      ";jit=%" PRIu32 ";max=%" PRIu32 ";tg=%" PRIu32 ";rs=%" PRIu32 ";a=",
      p->seed, rate, p->duration_ms, p->interval_ms, p->jitter_pct,
      p->max_kills, p->n_targets, p->n_reasons);
  for (size_t i = 0; i < n; i++)
    put(&w, "%s%" PRIu32 ".%" PRIu32 ".%" PRIu32, i > 0 ? "," : "",
        actions[i].at_ms, actions[i].target, actions[i].reason);
  return w.len;
}

/* ------------------------------------------------------------------- parse */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool literal(const char **s, const char *lit) {
  size_t len = strlen(lit);
  if (strncmp(*s, lit, len) != 0) return false;
  *s += len;
  return true;
}

/* Plain decimal: one or more digits, no leading zero, at most max. */
static bool number(const char **s, uint64_t max, uint64_t *out) {
  const char *c = *s;
  if (!is_digit(*c)) return false;
  if (*c == '0' && is_digit(c[1])) return false;
  uint64_t v = 0;
  for (; is_digit(*c); c++) {
    uint64_t d = (uint64_t)(*c - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *s = c;
  *out = v;
  return true;
}

static bool field_u32(const char **s, const char *key, uint32_t *out) {
  uint64_t v;
  if (!literal(s, key) || !number(s, UINT32_MAX, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

static bool rate_chars_only(const char *c, const char *end) {
  if (c == end || !is_digit(*c)) return false;
  for (; c < end; c++)
    if (!is_digit(*c) && *c != '.' && *c != 'e' && *c != 'E' && *c != '+' &&
        *c != '-')
      return false;
  return true;
}

static bool field_rate(const char **s, double *out) {
  if (!literal(s, "rate=")) return false;
  const char *end = strchr(*s, ';');
  if (end == NULL || !rate_chars_only(*s, end)) return false;
  char *stop;
  /* errno is not checked: a subnormal rate, which %.17g prints and strtod
   * reads back exactly, sets ERANGE on some libcs. Overflow comes back as
   * HUGE_VAL and fails the range check. */
  double v = strtod(*s, &stop);
  if (stop != end) return false;
  *s = end;
  *out = v;
  return true;
}

static bool parse_header(const char **s, st_chaos_params_t *p) {
  return literal(s, "st1;seed=") && number(s, UINT64_MAX, &p->seed) &&
         literal(s, ";") && field_rate(s, &p->kill_rate) &&
         field_u32(s, ";dur=", &p->duration_ms) &&
         field_u32(s, ";int=", &p->interval_ms) &&
         field_u32(s, ";jit=", &p->jitter_pct) &&
         field_u32(s, ";max=", &p->max_kills) &&
         field_u32(s, ";tg=", &p->n_targets) &&
         field_u32(s, ";rs=", &p->n_reasons) && literal(s, ";a=") &&
         params_valid(p);
}

/* The action list up to the end of the string, checked against p; writes
 * the first cap actions to out when out is not NULL. */
static bool parse_actions(const char *s, const st_chaos_params_t *p,
                          st_chaos_action_t *out, size_t cap, size_t *count) {
  size_t i = 0;
  uint64_t last_at = 0;
  for (;;) {
    uint64_t at, target, reason;
    if (!number(&s, UINT32_MAX, &at) || !literal(&s, ".") ||
        !number(&s, UINT32_MAX, &target) || !literal(&s, ".") ||
        !number(&s, UINT32_MAX, &reason))
      return false;
    if (target >= p->n_targets || reason >= p->n_reasons ||
        (at != 0 && at >= p->duration_ms) || at < last_at ||
        i >= p->max_kills)
      return false;
    if (out != NULL && i < cap)
      out[i] = (st_chaos_action_t){(uint32_t)at, (uint32_t)target,
                                   (uint32_t)reason};
    last_at = at;
    i++;
    if (*s == '\0') break;
    if (!literal(&s, ",")) return false;
  }
  *count = i;
  return true;
}

int st_chaos_plan_parse(const char *s, st_chaos_params_t *p,
                        st_chaos_action_t *out, size_t cap, size_t *n) {
  if (s == NULL || p == NULL || n == NULL || (out == NULL && cap > 0))
    return ST_EINVAL;
  st_chaos_params_t params = {0};
  size_t count;
  /* Checked whole before anything is written. */
  if (!parse_header(&s, &params) || !parse_actions(s, &params, NULL, 0, &count))
    return ST_EINVAL;
  parse_actions(s, &params, out, cap, &count);
  *p = params;
  *n = count;
  return count > cap ? ST_ERANGE : ST_OK;
}
