/* The JSON writer of the supertester CLI; see json.h for the output rules.
 *
 * Every writing call goes through one gate: the sticky error first, then
 * the grammar (is a value, a key or an end allowed here?), then the
 * separator that position needs. The buffer doubles as it grows and always
 * keeps one byte spare, so finish can add the NUL without allocating. */
#include "json.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_CAP 256

static void fail(st_json_t *j, int err) {
  if (j->err == ST_OK) j->err = err;
}

/* Room for `extra` more bytes plus the NUL. The buffer never grows past
 * PTRDIFF_MAX, so sizes stay sane for pointer arithmetic (and a
 * sanitizer's allocator is never asked for an absurd size). */
static bool reserve(st_json_t *j, size_t extra) {
  if (j->err != ST_OK) return false;
  if (extra < j->cap - j->len) return true; /* len < cap, or both 0 */
  if (extra > (size_t)PTRDIFF_MAX - 1 - j->len) {
    fail(j, ST_ENOMEM);
    return false;
  }
  size_t need = j->len + extra + 1;
  size_t cap = j->cap != 0 ? j->cap : INITIAL_CAP;
  while (cap < need) cap = cap > (size_t)PTRDIFF_MAX / 2 ? need : cap * 2;
  char *buf = realloc(j->buf, cap);
  if (buf == NULL) {
    fail(j, ST_ENOMEM);
    return false;
  }
  j->buf = buf;
  j->cap = cap;
  return true;
}

static void put(st_json_t *j, const char *s, size_t n) {
  if (!reserve(j, n)) return;
  memcpy(j->buf + j->len, s, n);
  j->len += n;
}

static void put_char(st_json_t *j, char c) {
  if (!reserve(j, 1)) return;
  j->buf[j->len++] = c;
}

/* A newline and the indentation of `level` (pretty mode only). */
static void newline(st_json_t *j, int level) {
  size_t n = 1 + 2 * (size_t)level;
  if (!reserve(j, n)) return;
  j->buf[j->len] = '\n';
  memset(j->buf + j->len + 1, ' ', n - 1);
  j->len += n;
}

/* The comma (if the container has members already) and, pretty, the line
 * break before a member of the innermost container. */
static void member_prefix(st_json_t *j) {
  int top = j->depth - 1;
  if (!j->first[top]) put_char(j, ',');
  j->first[top] = 0;
  if (j->pretty) newline(j, j->depth);
}

/* May a value go here? Writes what must precede it. On misuse records
 * ST_EINVAL and says no. */
static bool value_gate(st_json_t *j) {
  if (j->err != ST_OK) return false;
  if (j->depth == 0) {
    if (j->done) {
      fail(j, ST_EINVAL); /* a second top-level value */
      return false;
    }
    return true;
  }
  if (j->in_object[j->depth - 1]) {
    if (!j->key_pending) {
      fail(j, ST_EINVAL); /* a value where a key is due */
      return false;
    }
    j->key_pending = false; /* the key wrote the separator */
    return true;
  }
  member_prefix(j);
  return j->err == ST_OK;
}

/* After a scalar: at the top level the document is complete. */
static void value_done(st_json_t *j) {
  if (j->depth == 0) j->done = true;
}

static void begin(st_json_t *j, bool object) {
  if (j == NULL || j->err != ST_OK) return;
  if (j->depth == ST_JSON_MAX_DEPTH) {
    fail(j, ST_EINVAL);
    return;
  }
  if (!value_gate(j)) return;
  put_char(j, object ? '{' : '[');
  j->first[j->depth] = 1;
  j->in_object[j->depth] = object;
  j->depth++;
}

static void end(st_json_t *j, bool object) {
  if (j == NULL || j->err != ST_OK) return;
  if (j->depth == 0 || j->in_object[j->depth - 1] != object ||
      j->key_pending) {
    fail(j, ST_EINVAL);
    return;
  }
  bool empty = j->first[j->depth - 1];
  j->depth--;
  if (j->pretty && !empty) newline(j, j->depth);
  put_char(j, object ? '}' : ']');
  value_done(j);
}

/* ------------------------------------------------------------- strings */

/* Bytes copied as they are: printable ASCII but the quote and backslash. */
static bool plain(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

/* The length of the well-formed UTF-8 sequence starting at s (n > 0 bytes
 * available), or 0 when there is none; then *bad is the length of the
 * maximal subpart to replace (at least 1). The second-byte ranges are
 * those of Unicode's Table 3-7, which rule out overlong forms, surrogates
 * and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t need;
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad = 1; /* a stray continuation byte, C0, C1 or F5..FF */
    return 0;
  }
  size_t i = 1;
  for (; i < need && i < n; i++) {
    if (s[i] < lo || s[i] > hi) break;
    lo = 0x80;
    hi = 0xBF;
  }
  if (i == need) return need;
  *bad = i;
  return 0;
}

static void put_escaped(st_json_t *j, unsigned char c) {
  static const char hex[] = "0123456789abcdef";
  char e[6] = {'\\', 0, 0, 0, 0, 0};
  size_t n = 2;
  switch (c) {
    case '"': e[1] = '"'; break;
    case '\\': e[1] = '\\'; break;
    case '\b': e[1] = 'b'; break;
    case '\f': e[1] = 'f'; break;
    case '\n': e[1] = 'n'; break;
    case '\r': e[1] = 'r'; break;
    case '\t': e[1] = 't'; break;
    default:
      e[1] = 'u';
      e[2] = '0';
      e[3] = '0';
      e[4] = hex[c >> 4];
      e[5] = hex[c & 0xF];
      n = 6;
  }
  put(j, e, n);
}

/* A quoted, escaped string; the grammar has been checked. */
static void put_string(st_json_t *j, const unsigned char *s, size_t n) {
  /* Room for the common case (nothing to escape) up front: a huge n fails
   * here, before any byte of s is read. */
  if (!reserve(j, n + 2 < n ? SIZE_MAX : n + 2)) return;
  put_char(j, '"');
  size_t i = 0;
  while (i < n && j->err == ST_OK) {
    size_t run = i;
    while (run < n && plain(s[run])) run++;
    put(j, (const char *)s + i, run - i);
    i = run;
    if (i == n) break;
    if (s[i] < 0x80) {
      put_escaped(j, s[i]);
      i++;
      continue;
    }
    size_t bad = 0, k = utf8_seq(s + i, n - i, &bad);
    if (k != 0) {
      put(j, (const char *)s + i, k);
      i += k;
    } else {
      put(j, "\\ufffd", 6);
      i += bad;
    }
  }
  put_char(j, '"');
}

/* ------------------------------------------------------------------ API */

void st_json_init(st_json_t *j, bool pretty) {
  if (j == NULL) return;
  memset(j, 0, sizeof *j);
  j->err = ST_OK;
  j->pretty = pretty;
}

void st_json_free(st_json_t *j) {
  if (j == NULL) return;
  bool pretty = j->pretty;
  free(j->buf);
  st_json_init(j, pretty);
}

void st_json_begin_object(st_json_t *j) { begin(j, true); }
void st_json_end_object(st_json_t *j) { end(j, true); }
void st_json_begin_array(st_json_t *j) { begin(j, false); }
void st_json_end_array(st_json_t *j) { end(j, false); }

void st_json_key(st_json_t *j, const char *key) {
  if (j == NULL || j->err != ST_OK) return;
  if (key == NULL || j->depth == 0 || !j->in_object[j->depth - 1] ||
      j->key_pending) {
    fail(j, ST_EINVAL);
    return;
  }
  member_prefix(j);
  put_string(j, (const unsigned char *)key, strlen(key));
  if (j->pretty)
    put(j, ": ", 2);
  else
    put_char(j, ':');
  j->key_pending = true;
}

void st_json_string_n(st_json_t *j, const char *s, size_t n) {
  if (j == NULL || j->err != ST_OK) return;
  if (s == NULL && n != 0) {
    fail(j, ST_EINVAL);
    return;
  }
  if (!value_gate(j)) return;
  put_string(j, (const unsigned char *)s, n);
  value_done(j);
}

void st_json_string(st_json_t *j, const char *s) {
  if (j == NULL || j->err != ST_OK) return;
  if (s == NULL) {
    fail(j, ST_EINVAL);
    return;
  }
  st_json_string_n(j, s, strlen(s));
}

/* A preformatted number or literal. */
static void put_token(st_json_t *j, const char *tok, size_t n) {
  if (j == NULL || !value_gate(j)) return;
  put(j, tok, n);
  value_done(j);
}

void st_json_int(st_json_t *j, long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%lld", v);
  put_token(j, tmp, (size_t)n);
}

void st_json_uint(st_json_t *j, unsigned long long v) {
  char tmp[32];
  int n = snprintf(tmp, sizeof tmp, "%llu", v);
  put_token(j, tmp, (size_t)n);
}

static bool number_char(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e';
}

void st_json_double(st_json_t *j, double v) {
  if (!isfinite(v)) {
    put_token(j, "null", 4);
    return;
  }
  /* printf and strtod share LC_NUMERIC, so the round-trip test holds in
   * any locale; the decimal point is rewritten to '.' afterwards. */
  char tmp[48];
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*g", prec, v);
    if (strtod(tmp, NULL) == v) break;
  }
  char out[56];
  size_t n = 0;
  bool fraction = false;
  for (size_t i = 0; tmp[i] != '\0';) {
    if (number_char(tmp[i])) {
      if (tmp[i] == 'e') fraction = true;
      out[n++] = tmp[i++];
    } else { /* the locale's decimal point, possibly multibyte */
      out[n++] = '.';
      fraction = true;
      while (tmp[i] != '\0' && !number_char(tmp[i])) i++;
    }
  }
  if (!fraction) {
    out[n++] = '.';
    out[n++] = '0';
  }
  put_token(j, out, n);
}

void st_json_bool(st_json_t *j, bool v) {
  if (v)
    put_token(j, "true", 4);
  else
    put_token(j, "false", 5);
}

void st_json_null(st_json_t *j) { put_token(j, "null", 4); }

int st_json_finish(st_json_t *j, const char **out, size_t *len) {
  if (j == NULL || out == NULL) return ST_EINVAL;
  if (j->err == ST_OK && (j->depth != 0 || !j->done)) fail(j, ST_EINVAL);
  if (j->err != ST_OK) return j->err;
  j->buf[j->len] = '\0'; /* reserve always leaves the byte */
  *out = j->buf;
  if (len != NULL) *len = j->len;
  return ST_OK;
}
