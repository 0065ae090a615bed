/* JSON suite: the C-node's JSON writer against the contract in
 * c_src/cnode/json.h.
 *
 * - structure: nested objects and arrays, compact and pretty, compared
 *   byte for byte; top-level scalars; the deepest nesting allowed; finish
 *   twice; free and reuse.
 * - strings: every control byte, the quote and the backslash; well-formed
 *   UTF-8 copied; ill-formed bytes replaced per maximal subpart (Unicode's
 *   own Table 3-8 example among them); random valid strings decoded back
 *   to the same bytes by the test's own parser.
 * - numbers: integers at their limits; doubles in their chosen form (0.1,
 *   1e+300, -0.0, 3.0, 0.30000000000000004, null for NaN and infinities);
 *   random doubles read back bit for bit; a comma-decimal locale when one
 *   is installed.
 * - errors: every misuse is ST_EINVAL, sticky, out parameters untouched;
 *   NULL arguments; ST_ENOMEM under an address-space limit (in a forked
 *   child, skipped under AddressSanitizer, whose allocator aborts instead
 *   of failing).
 * - large: a 50,000-member document that grows the buffer many times,
 *   compared with an independently built string, and random documents
 *   checked by a strict RFC 8259 parser written here (which is itself
 *   checked on documents it must reject). */
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <locale.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../c_src/cnode/json.h"
#include "suites.h"
#include "test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---------------------------------------------------------------- helpers */

/* The codes this writer returns, by name (the suite links nothing but the
 * writer). */
static const char *err_label(int err) {
  switch (err) {
    case ST_OK: return "ST_OK";
    case ST_EINVAL: return "ST_EINVAL";
    case ST_ENOMEM: return "ST_ENOMEM";
    default: return "unexpected";
  }
}

/* Finishes j, requires ST_OK and a length that matches strlen, and
 * compares with the expected document. */
#define assert_doc(j, expected)                                                \
  do {                                                                         \
    const char *doc_ = NULL;                                                   \
    size_t len_ = 0;                                                           \
    int rc_ = st_json_finish((j), &doc_, &len_);                               \
    ck_assert_msg(rc_ == ST_OK, "st_json_finish = %d (%s)", rc_,               \
                  err_label(rc_));                                           \
    ck_assert_str_eq(doc_, (expected));                                        \
    ck_assert_uint_eq(len_, strlen(expected));                                 \
  } while (0)

/* A growable string for expected documents. */
typedef struct {
  char *s;
  size_t len, cap;
} sbuf_t;

static void sbuf_printf(sbuf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  ck_assert_int_ge(n, 0);
  if (b->len + (size_t)n + 1 > b->cap) {
    b->cap = (b->len + (size_t)n + 1) * 2;
    b->s = realloc(b->s, b->cap);
    ck_assert_ptr_nonnull(b->s);
  }
  va_start(ap, fmt);
  vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
}

/* ------------------------------------------------- a strict JSON parser */

/* RFC 8259, strictly: no trailing commas, no leading zeros, no raw control
 * bytes in strings, only well-formed UTF-8, no lone surrogate escapes, one
 * value and nothing after it. It counts the values (containers included,
 * keys not), tracks the deepest nesting and decodes the last string it
 * read (into str, as UTF-8) so tests can compare it with what was
 * written. Written apart from the writer: it shares no code with it. */
typedef struct {
  const unsigned char *p, *end;
  int depth, max_depth;
  size_t values;
  unsigned char *str;
  size_t str_len, str_cap;
} parser_t;

static void str_push(parser_t *ps, unsigned char c) {
  if (ps->str_len == ps->str_cap) {
    ps->str_cap = ps->str_cap ? ps->str_cap * 2 : 64;
    ps->str = realloc(ps->str, ps->str_cap);
    ck_assert_ptr_nonnull(ps->str);
  }
  ps->str[ps->str_len++] = c;
}

static void str_push_cp(parser_t *ps, uint32_t cp) {
  if (cp < 0x80) {
    str_push(ps, (unsigned char)cp);
  } else if (cp < 0x800) {
    str_push(ps, (unsigned char)(0xC0 | cp >> 6));
    str_push(ps, (unsigned char)(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    str_push(ps, (unsigned char)(0xE0 | cp >> 12));
    str_push(ps, (unsigned char)(0x80 | (cp >> 6 & 0x3F)));
    str_push(ps, (unsigned char)(0x80 | (cp & 0x3F)));
  } else {
    str_push(ps, (unsigned char)(0xF0 | cp >> 18));
    str_push(ps, (unsigned char)(0x80 | (cp >> 12 & 0x3F)));
    str_push(ps, (unsigned char)(0x80 | (cp >> 6 & 0x3F)));
    str_push(ps, (unsigned char)(0x80 | (cp & 0x3F)));
  }
}

static bool at(const parser_t *ps, char c) {
  return ps->p < ps->end && *ps->p == (unsigned char)c;
}

static void skip_ws(parser_t *ps) {
  while (at(ps, ' ') || at(ps, '\n') || at(ps, '\r') || at(ps, '\t')) ps->p++;
}

static bool digits(parser_t *ps) {
  const unsigned char *start = ps->p;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
  return ps->p > start;
}

static bool parse_number(parser_t *ps) {
  if (at(ps, '-')) ps->p++;
  if (at(ps, '0'))
    ps->p++;
  else if (ps->p < ps->end && *ps->p >= '1' && *ps->p <= '9')
    digits(ps);
  else
    return false;
  if (at(ps, '.')) {
    ps->p++;
    if (!digits(ps)) return false;
  }
  if (at(ps, 'e') || at(ps, 'E')) {
    ps->p++;
    if (at(ps, '+') || at(ps, '-')) ps->p++;
    if (!digits(ps)) return false;
  }
  return true;
}

static bool parse_hex4(parser_t *ps, uint32_t *v) {
  if (ps->end - ps->p < 4) return false;
  *v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned char c = *ps->p++;
    uint32_t d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return false;
    *v = *v << 4 | d;
  }
  return true;
}

static bool parse_escape(parser_t *ps) {
  if (ps->p >= ps->end) return false;
  unsigned char c = *ps->p++;
  uint32_t cp, lo;
  switch (c) {
    case '"': case '\\': case '/': str_push(ps, c); return true;
    case 'b': str_push(ps, '\b'); return true;
    case 'f': str_push(ps, '\f'); return true;
    case 'n': str_push(ps, '\n'); return true;
    case 'r': str_push(ps, '\r'); return true;
    case 't': str_push(ps, '\t'); return true;
    case 'u':
      if (!parse_hex4(ps, &cp)) return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF) return false;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
          return false;
        ps->p += 2;
        if (!parse_hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF) return false;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      }
      str_push_cp(ps, cp);
      return true;
    default:
      return false;
  }
}

/* One UTF-8 encoded code point at p, decoded arithmetically and checked
 * against the shortest form, the surrogates and U+10FFFF. */
static bool parse_utf8(parser_t *ps) {
  unsigned char c = *ps->p;
  size_t n;
  uint32_t cp, min;
  if ((c & 0xE0) == 0xC0) {
    n = 2, cp = c & 0x1F, min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3, cp = c & 0x0F, min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return false;
  }
  if ((size_t)(ps->end - ps->p) < n) return false;
  for (size_t i = 1; i < n; i++) {
    if ((ps->p[i] & 0xC0) != 0x80) return false;
    cp = cp << 6 | (ps->p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return false;
  for (size_t i = 0; i < n; i++) str_push(ps, ps->p[i]);
  ps->p += n;
  return true;
}

static bool parse_string(parser_t *ps) {
  ps->str_len = 0;
  if (!at(ps, '"')) return false;
  ps->p++;
  for (;;) {
    if (ps->p >= ps->end) return false;
    unsigned char c = *ps->p;
    if (c == '"') {
      ps->p++;
      return true;
    }
    if (c < 0x20) return false;
    if (c == '\\') {
      ps->p++;
      if (!parse_escape(ps)) return false;
    } else if (c < 0x80) {
      str_push(ps, c);
      ps->p++;
    } else if (!parse_utf8(ps)) {
      return false;
    }
  }
}

static bool parse_value(parser_t *ps);

/* The members of an object or array, after its opening bracket. */
static bool parse_members(parser_t *ps, bool object) {
  char close = object ? '}' : ']';
  if (++ps->depth > ps->max_depth) ps->max_depth = ps->depth;
  skip_ws(ps);
  if (at(ps, close)) {
    ps->p++;
    ps->depth--;
    return true;
  }
  for (;;) {
    if (object) {
      skip_ws(ps);
      if (!parse_string(ps)) return false;
      skip_ws(ps);
      if (!at(ps, ':')) return false;
      ps->p++;
    }
    if (!parse_value(ps)) return false;
    skip_ws(ps);
    if (at(ps, ',')) {
      ps->p++;
      continue;
    }
    if (!at(ps, close)) return false;
    ps->p++;
    ps->depth--;
    return true;
  }
}

static bool parse_literal(parser_t *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return false;
  ps->p += n;
  return true;
}

static bool parse_value(parser_t *ps) {
  skip_ws(ps);
  if (ps->p >= ps->end) return false;
  ps->values++;
  switch (*ps->p) {
    case '{': ps->p++; return parse_members(ps, true);
    case '[': ps->p++; return parse_members(ps, false);
    case '"': return parse_string(ps);
    case 't': return parse_literal(ps, "true");
    case 'f': return parse_literal(ps, "false");
    case 'n': return parse_literal(ps, "null");
    default: return parse_number(ps);
  }
}

/* Parses a whole document; the caller frees ps->str. */
static bool json_parse(parser_t *ps, const char *doc, size_t len) {
  memset(ps, 0, sizeof *ps);
  ps->p = (const unsigned char *)doc;
  ps->end = ps->p + len;
  if (!parse_value(ps)) return false;
  skip_ws(ps);
  return ps->p == ps->end;
}

static bool json_valid(const char *doc) {
  parser_t ps;
  bool ok = json_parse(&ps, doc, strlen(doc));
  free(ps.str);
  return ok;
}

/* The parser is a test instrument: it must reject what is not JSON. */
START_TEST(test_parser_rejects_invalid) {
  static const char *bad[] = {
      "", " ", "[1,]", "[,1]", "{\"a\":1,}", "{\"a\"}", "{\"a\" 1}", "{1:2}",
      "[1 2]", "01", "1.", ".5", "-", "1e", "+1", "\"abc", "\"a\x01\"",
      "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\xc0\x80\"",
      "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\x80\"", "\"\xe2\x82\"",
      "[1]]", "[[1]", "tru", "nul", "1 2", "{\"a\":1}{}", "NaN", "[\"a\"",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    ck_assert_msg(!json_valid(bad[i]), "parser accepted \"%s\"", bad[i]);
  static const char *good[] = {
      "0", "-0", "-0.0", "1e+300", "1E-5", "[]", "{}", " [ 1 , {} ] ",
      "{\"a\":[true,false,null]}", "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"",
      "\"\\u0000\\/\"",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    ck_assert_msg(json_valid(good[i]), "parser rejected \"%s\"", good[i]);
}
END_TEST

/* -------------------------------------------------------------- structure */

/* The document the two layout tests write. */
static void write_nested(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "name");
  st_json_string(j, "sup");
  st_json_key(j, "n");
  st_json_begin_array(j);
  st_json_int(j, 1);
  st_json_uint(j, 2);
  st_json_begin_object(j);
  st_json_key(j, "a");
  st_json_bool(j, true);
  st_json_key(j, "b");
  st_json_null(j);
  st_json_key(j, "c");
  st_json_bool(j, false);
  st_json_end_object(j);
  st_json_end_array(j);
  st_json_key(j, "e");
  st_json_begin_object(j);
  st_json_end_object(j);
  st_json_key(j, "f");
  st_json_begin_array(j);
  st_json_end_array(j);
  st_json_key(j, "g");
  st_json_begin_array(j);
  st_json_begin_array(j);
  st_json_end_array(j);
  st_json_double(j, 2.5);
  st_json_end_array(j);
  st_json_key(j, "k\"ey");
  st_json_string(j, "");
  st_json_end_object(j);
}

START_TEST(test_nested_compact) {
  st_json_t j;
  st_json_init(&j, false);
  write_nested(&j);
  assert_doc(&j, "{\"name\":\"sup\",\"n\":[1,2,{\"a\":true,\"b\":null,\"c\":"
                 "false}],\"e\":{},\"f\":[],\"g\":[[],2.5],\"k\\\"ey\":\"\"}");
  st_json_free(&j);
}
END_TEST

START_TEST(test_nested_pretty) {
  st_json_t j;
  st_json_init(&j, true);
  write_nested(&j);
  assert_doc(&j,
             "{\n"
             "  \"name\": \"sup\",\n"
             "  \"n\": [\n"
             "    1,\n"
             "    2,\n"
             "    {\n"
             "      \"a\": true,\n"
             "      \"b\": null,\n"
             "      \"c\": false\n"
             "    }\n"
             "  ],\n"
             "  \"e\": {},\n"
             "  \"f\": [],\n"
             "  \"g\": [\n"
             "    [],\n"
             "    2.5\n"
             "  ],\n"
             "  \"k\\\"ey\": \"\"\n"
             "}");
  st_json_free(&j);
}
END_TEST

START_TEST(test_top_level_scalars) {
  st_json_t j;
  for (int pretty = 0; pretty <= 1; pretty++) {
    st_json_init(&j, pretty);
    st_json_int(&j, 42);
    assert_doc(&j, "42");
    st_json_free(&j);
    st_json_init(&j, pretty);
    st_json_string(&j, "x");
    assert_doc(&j, "\"x\"");
    st_json_free(&j);
    st_json_init(&j, pretty);
    st_json_null(&j);
    assert_doc(&j, "null");
    st_json_free(&j);
    st_json_init(&j, pretty);
    st_json_begin_array(&j);
    st_json_end_array(&j);
    assert_doc(&j, "[]");
    st_json_free(&j);
    st_json_init(&j, pretty);
    st_json_begin_object(&j);
    st_json_end_object(&j);
    assert_doc(&j, "{}");
    st_json_free(&j);
  }
}
END_TEST

/* 32 levels is the limit, and it is allowed: arrays compact, objects
 * pretty (the indentation reaches 64 spaces). */
START_TEST(test_deepest_nesting_allowed) {
  st_json_t j;
  st_json_init(&j, false);
  for (int i = 0; i < ST_JSON_MAX_DEPTH; i++) st_json_begin_array(&j);
  st_json_int(&j, 7);
  for (int i = 0; i < ST_JSON_MAX_DEPTH; i++) st_json_end_array(&j);
  char want[2 * ST_JSON_MAX_DEPTH + 2];
  memset(want, '[', ST_JSON_MAX_DEPTH);
  want[ST_JSON_MAX_DEPTH] = '7';
  memset(want + ST_JSON_MAX_DEPTH + 1, ']', ST_JSON_MAX_DEPTH);
  want[2 * ST_JSON_MAX_DEPTH + 1] = '\0';
  assert_doc(&j, want);
  st_json_free(&j);

  /* One more is refused on the spot, before writing anything. */
  for (int pretty = 0; pretty <= 1; pretty++) {
    st_json_init(&j, pretty);
    for (int i = 0; i < ST_JSON_MAX_DEPTH; i++) st_json_begin_array(&j);
    size_t len = j.len;
    ck_assert_int_eq(j.err, ST_OK);
    st_json_begin_object(&j);
    ck_assert_int_eq(j.err, ST_EINVAL);
    ck_assert_int_eq(j.depth, ST_JSON_MAX_DEPTH);
    ck_assert_uint_eq(j.len, len);
    st_json_free(&j);
  }

  st_json_init(&j, true);
  sbuf_t exp = {0};
  for (int i = 0; i < ST_JSON_MAX_DEPTH; i++) {
    if (i > 0) {
      st_json_key(&j, "k");
      sbuf_printf(&exp, "\n%*s\"k\": ", 2 * i, "");
    }
    st_json_begin_object(&j);
    sbuf_printf(&exp, "{");
  }
  for (int i = ST_JSON_MAX_DEPTH - 1; i >= 0; i--) {
    st_json_end_object(&j);
    sbuf_printf(&exp, i == ST_JSON_MAX_DEPTH - 1 ? "}" : "\n%*s}", 2 * i, "");
  }
  assert_doc(&j, exp.s);
  free(exp.s);
  st_json_free(&j);
}
END_TEST

START_TEST(test_finish_twice_free_reuse) {
  st_json_t j;
  st_json_init(&j, false);
  st_json_free(&j); /* never used */
  st_json_free(&j); /* twice */
  st_json_begin_array(&j);
  st_json_int(&j, 1);
  st_json_end_array(&j);
  const char *a = NULL, *b = NULL;
  size_t la = 0, lb = 0;
  ck_assert_int_eq(st_json_finish(&j, &a, &la), ST_OK);
  ck_assert_int_eq(st_json_finish(&j, &b, NULL), ST_OK);
  ck_assert_ptr_eq(a, b);
  ck_assert_str_eq(b, "[1]");
  ck_assert_uint_eq(la, 3);
  /* Done: another value is a second top-level value. */
  st_json_int(&j, 2);
  ck_assert_int_eq(st_json_finish(&j, &b, &lb), ST_EINVAL);
  st_json_free(&j);
  ck_assert_ptr_null(j.buf);
  /* Reuse after free: a clean writer, still compact. */
  st_json_string(&j, "again");
  assert_doc(&j, "\"again\"");
  st_json_free(&j);
}
END_TEST

/* ---------------------------------------------------------------- strings */

/* One string written alone, compared with its expected JSON text. */
static void assert_string_n(const char *s, size_t n, const char *expected) {
  st_json_t j;
  st_json_init(&j, false);
  st_json_string_n(&j, s, n);
  const char *doc = NULL;
  size_t len = 0;
  ck_assert_int_eq(st_json_finish(&j, &doc, &len), ST_OK);
  ck_assert_msg(strcmp(doc, expected) == 0 && len == strlen(expected),
                "string of %zu bytes written as %s, expected %s", n, doc,
                expected);
  ck_assert_msg(json_valid(doc), "invalid JSON: %s", doc);
  st_json_free(&j);
}

START_TEST(test_every_control_char_escaped) {
  static const char *named[32] = {
      ['\b'] = "\\b", ['\f'] = "\\f", ['\n'] = "\\n", ['\r'] = "\\r",
      ['\t'] = "\\t"};
  for (int c = 0; c < 0x20; c++) {
    char in[3] = {'a', (char)c, 'z'}, want[16];
    if (named[c] != NULL)
      snprintf(want, sizeof want, "\"a%sz\"", named[c]);
    else
      snprintf(want, sizeof want, "\"a\\u00%02xz\"", c);
    assert_string_n(in, 3, want);
  }
  assert_string_n("\x7f", 1, "\"\\u007f\"");
  /* All 32 in one string, through st_json_key too. */
  char all[32];
  for (int c = 0; c < 32; c++) all[c] = (char)(c == 0 ? 1 : c);
  st_json_t j;
  st_json_init(&j, false);
  st_json_begin_object(&j);
  char key[33];
  memcpy(key, all, 32);
  key[32] = '\0';
  st_json_key(&j, key);
  st_json_string_n(&j, all, 32);
  st_json_end_object(&j);
  const char *doc;
  ck_assert_int_eq(st_json_finish(&j, &doc, NULL), ST_OK);
  ck_assert(json_valid(doc));
  for (const char *p = doc; *p; p++)
    ck_assert_msg((unsigned char)*p >= 0x20, "raw control byte in %s", doc);
  st_json_free(&j);
}
END_TEST

START_TEST(test_quote_backslash_slash) {
  assert_string_n("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
  assert_string_n("\"\"\\\\", 4, "\"\\\"\\\"\\\\\\\\\"");
  assert_string_n("nul\0in", 6, "\"nul\\u0000in\"");
  assert_string_n(NULL, 0, "\"\"");
  assert_string_n("", 0, "\"\"");
}
END_TEST

START_TEST(test_valid_utf8_kept) {
  static const char *ok[] = {
      "\xc3\xa9",         /* U+00E9 */
      "\xc2\x80",         /* U+0080, the smallest two-byte */
      "\xdf\xbf",         /* U+07FF */
      "\xe0\xa0\x80",     /* U+0800, the smallest three-byte */
      "\xe2\x82\xac",     /* U+20AC euro sign */
      "\xed\x9f\xbf",     /* U+D7FF, just below the surrogates */
      "\xee\x80\x80",     /* U+E000, just above */
      "\xef\xbf\xbf",     /* U+FFFF */
      "\xef\xbf\xbd",     /* U+FFFD itself */
      "\xf0\x90\x80\x80", /* U+10000, the smallest four-byte */
      "\xf0\x9f\x98\x80", /* U+1F600 */
      "\xf4\x8f\xbf\xbf", /* U+10FFFF, the largest */
      "na\xc3\xafve caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x9a\x80!",
  };
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", ok[i]);
    assert_string_n(ok[i], strlen(ok[i]), want);
  }
}
END_TEST

#define FFFD "\\ufffd"

START_TEST(test_invalid_utf8_replaced) {
  static const struct {
    const char *in, *out;
  } cases[] = {
      {"\x80", FFFD},                        /* lone continuation */
      {"\xbf\xbf", FFFD FFFD},               /* two of them */
      {"\xc0\x80", FFFD FFFD},               /* overlong NUL */
      {"\xc1\xbf", FFFD FFFD},               /* overlong */
      {"\xe0\x80\x80", FFFD FFFD FFFD},      /* overlong three-byte */
      {"\xe0\x9f\xbf", FFFD FFFD FFFD},      /* overlong U+07FF */
      {"\xf0\x8f\xbf\xbf", FFFD FFFD FFFD FFFD}, /* overlong U+FFFF */
      {"\xed\xa0\x80", FFFD FFFD FFFD},      /* surrogate U+D800 */
      {"\xed\xbf\xbf", FFFD FFFD FFFD},      /* surrogate U+DFFF */
      {"\xf4\x90\x80\x80", FFFD FFFD FFFD FFFD}, /* U+110000 */
      {"\xf5\x80", FFFD FFFD},               /* F5..FF never appear */
      {"\xfe", FFFD},
      {"\xff", FFFD},
      {"\xc3", FFFD},                        /* truncated at the end */
      {"\xe2\x82", FFFD},                    /* one subpart, one U+FFFD */
      {"\xf0\x9f\x98", FFFD},
      {"\xe2\x82x", FFFD "x"},               /* cut short by ASCII */
      {"\xe2\x82\xe2\x82\xac", FFFD "\xe2\x82\xac"}, /* ... by a lead */
      {"\xc3\xa9\x80\xc3\xa9", "\xc3\xa9" FFFD "\xc3\xa9"},
      /* Unicode 15, Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64. */
      {"\x61\xf1\x80\x80\xe1\x80\xc2\x62\x80\x63\x80\xbf\x64",
       "a" FFFD FFFD FFFD "b" FFFD "c" FFFD FFFD "d"},
      {"\n\xff\"", "\\n" FFFD "\\\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char want[128];
    snprintf(want, sizeof want, "\"%s\"", cases[i].out);
    assert_string_n(cases[i].in, strlen(cases[i].in), want);
  }
}
END_TEST

/* Random well-formed strings (controls, ASCII, two- to four-byte code
 * points) written and parsed back: the same bytes. */
START_TEST(test_string_round_trip) {
  test_rng_t rng = test_rng_seeded(0x15011u + (uint64_t)_i);
  parser_t ps;
  unsigned char in[256];
  for (int iter = 0; iter < 2000; iter++) {
    size_t n = 0;
    size_t target = (size_t)test_rng_between(&rng, 0, 60);
    for (size_t k = 0; k < target; k++) {
      uint32_t cp;
      switch (test_rng_between(&rng, 0, 4)) {
        case 0: cp = (uint32_t)test_rng_between(&rng, 0, 0x1F); break;
        case 1: cp = (uint32_t)test_rng_between(&rng, 0x20, 0x7F); break;
        case 2: cp = (uint32_t)test_rng_between(&rng, 0x80, 0x7FF); break;
        case 3:
          do cp = (uint32_t)test_rng_between(&rng, 0x800, 0xFFFF);
          while (cp >= 0xD800 && cp <= 0xDFFF);
          break;
        default: cp = (uint32_t)test_rng_between(&rng, 0x10000, 0x10FFFF);
      }
      parser_t enc = {0};
      str_push_cp(&enc, cp);
      memcpy(in + n, enc.str, enc.str_len);
      n += enc.str_len;
      free(enc.str);
    }
    st_json_t j;
    st_json_init(&j, _i % 2);
    st_json_string_n(&j, (const char *)in, n);
    const char *doc;
    size_t len;
    ck_assert_int_eq(st_json_finish(&j, &doc, &len), ST_OK);
    require_msg(json_parse(&ps, doc, len), "invalid JSON: %s", doc);
    require_msg(ps.str_len == n && (n == 0 || memcmp(ps.str, in, n) == 0),
                "round trip changed %zu bytes into %zu: %s", n, ps.str_len,
                doc);
    free(ps.str);
    st_json_free(&j);
  }
}
END_TEST

/* ---------------------------------------------------------------- numbers */

START_TEST(test_integer_limits) {
  st_json_t j;
  st_json_init(&j, false);
  st_json_begin_array(&j);
  st_json_int(&j, LLONG_MIN);
  st_json_int(&j, LLONG_MAX);
  st_json_int(&j, 0);
  st_json_int(&j, -1);
  st_json_uint(&j, ULLONG_MAX);
  st_json_uint(&j, 0);
  st_json_end_array(&j);
  assert_doc(&j, "[-9223372036854775808,9223372036854775807,0,-1,"
                 "18446744073709551615,0]");
  st_json_free(&j);
}
END_TEST

static void assert_double(double v, const char *expected) {
  st_json_t j;
  st_json_init(&j, false);
  st_json_double(&j, v);
  const char *doc = NULL;
  ck_assert_int_eq(st_json_finish(&j, &doc, NULL), ST_OK);
  ck_assert_msg(strcmp(doc, expected) == 0, "%.17g written as %s, expected %s",
                v, doc, expected);
  ck_assert_msg(json_valid(doc), "invalid JSON number %s", doc);
  st_json_free(&j);
}

START_TEST(test_double_forms) {
  assert_double(0.1, "0.1");
  assert_double(1e300, "1e+300");
  assert_double(-0.0, "-0.0");
  assert_double(0.0, "0.0");
  assert_double(3.0, "3.0"); /* always reads back as a float */
  assert_double(-3.0, "-3.0");
  assert_double(100.0, "100.0");
  assert_double(2.5, "2.5");
  assert_double(123.456, "123.456");
  assert_double(1e15, "1e+15");
  assert_double(1e14, "100000000000000.0");
  assert_double(1e-7, "1e-07");
  assert_double(0.1 + 0.2, "0.30000000000000004"); /* needs 17 digits */
  assert_double(1.0 / 3.0, "0.3333333333333333");  /* needs 16 */
  assert_double(1.7976931348623157e308, "1.7976931348623157e+308");
  assert_double(2.2250738585072014e-308, "2.2250738585072014e-308");
  assert_double(4.9406564584124654e-324, "4.94065645841247e-324");
  assert_double(NAN, "null");
  assert_double(-NAN, "null");
  assert_double(INFINITY, "null");
  assert_double(-INFINITY, "null");
}
END_TEST

/* Random doubles, from raw bit patterns and from a human range, read back
 * bit for bit by strtod, at most 24 bytes. */
START_TEST(test_double_round_trip) {
  test_rng_t rng = test_rng_seeded(0xd0b1e);
  for (int iter = 0; iter < 50000; iter++) {
    double v;
    if (iter % 2 == 0) {
      uint64_t bits = test_rng_next(&rng);
      memcpy(&v, &bits, sizeof v);
    } else {
      v = (test_rng_unit(&rng) - 0.5) *
          pow(10.0, (double)test_rng_between(&rng, 0, 40) - 20.0);
    }
    st_json_t j;
    st_json_init(&j, false);
    st_json_double(&j, v);
    const char *doc;
    size_t len;
    ck_assert_int_eq(st_json_finish(&j, &doc, &len), ST_OK);
    if (!isfinite(v)) {
      require_msg(strcmp(doc, "null") == 0, "non-finite written as %s", doc);
    } else {
      char *end;
      double back = strtod(doc, &end);
      require_msg(end == doc + len && memcmp(&back, &v, sizeof v) == 0,
                  "%.17g written as %s, read back as %.17g", v, doc, back);
      /* "-2.2250738585072014e-308" is as long as a number gets. */
      require_msg(len <= 24, "%s is %zu bytes", doc, len);
      require_msg(json_valid(doc), "invalid JSON number %s", doc);
    }
    st_json_free(&j);
  }
}
END_TEST

/* Under a locale whose decimal point is a comma the output keeps '.'.
 * Passes without checking anything when no such locale is installed. */
START_TEST(test_double_comma_locale) {
  static const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8",
                                "fr_FR.utf8",  "ru_RU.UTF-8", "nl_NL.UTF-8",
                                "de_DE",       "fr_FR"};
  bool found = false;
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !found; i++)
    found = setlocale(LC_NUMERIC, names[i]) != NULL &&
            strcmp(localeconv()->decimal_point, ".") != 0;
  if (!found) {
    setlocale(LC_NUMERIC, "C");
    return;
  }
  assert_double(0.1, "0.1");
  assert_double(1234.25, "1234.25");
  assert_double(1.0 / 3.0, "0.3333333333333333");
  assert_double(3.0, "3.0");
  setlocale(LC_NUMERIC, "C");
}
END_TEST

/* ----------------------------------------------------------------- errors */

static void misuse_value_without_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_int(j, 1);
}
static void misuse_container_without_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_begin_array(j);
}
static void misuse_key_at_top(st_json_t *j) { st_json_key(j, "k"); }
static void misuse_key_in_array(st_json_t *j) {
  st_json_begin_array(j);
  st_json_key(j, "k");
}
static void misuse_key_after_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "a");
  st_json_key(j, "b");
}
static void misuse_second_value_for_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "a");
  st_json_int(j, 1);
  st_json_int(j, 2);
}
static void misuse_end_object_alone(st_json_t *j) { st_json_end_object(j); }
static void misuse_end_array_alone(st_json_t *j) { st_json_end_array(j); }
static void misuse_end_object_in_array(st_json_t *j) {
  st_json_begin_array(j);
  st_json_end_object(j);
}
static void misuse_end_array_in_object(st_json_t *j) {
  st_json_begin_object(j);
  st_json_end_array(j);
}
static void misuse_end_after_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "a");
  st_json_end_object(j);
}
static void misuse_end_too_many(st_json_t *j) {
  st_json_begin_array(j);
  st_json_end_array(j);
  st_json_end_array(j);
}
/* The two deep ones close what they open: the depth alone is wrong. */
static void misuse_too_deep_arrays(st_json_t *j) {
  for (int i = 0; i <= ST_JSON_MAX_DEPTH; i++) st_json_begin_array(j);
  for (int i = 0; i <= ST_JSON_MAX_DEPTH; i++) st_json_end_array(j);
}
static void misuse_too_deep_objects(st_json_t *j) {
  st_json_begin_array(j);
  for (int i = 1; i < ST_JSON_MAX_DEPTH; i++) {
    st_json_begin_object(j);
    st_json_key(j, "k");
  }
  st_json_begin_object(j); /* the 33rd */
  st_json_end_object(j);
  for (int i = 1; i < ST_JSON_MAX_DEPTH; i++) st_json_end_object(j);
  st_json_end_array(j);
}
static void misuse_unclosed_array(st_json_t *j) {
  st_json_begin_array(j);
  st_json_int(j, 1);
}
static void misuse_unclosed_inner(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "a");
  st_json_begin_array(j);
  st_json_end_array(j);
  st_json_key(j, "b");
  st_json_begin_object(j);
}
static void misuse_dangling_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, "a");
}
static void misuse_empty_document(st_json_t *j) { (void)j; }
static void misuse_two_top_values(st_json_t *j) {
  st_json_int(j, 1);
  st_json_int(j, 2);
}
static void misuse_two_top_containers(st_json_t *j) {
  st_json_begin_array(j);
  st_json_end_array(j);
  st_json_begin_object(j);
  st_json_end_object(j);
}
static void misuse_null_string(st_json_t *j) {
  st_json_begin_array(j);
  st_json_string(j, NULL);
  st_json_end_array(j);
}
static void misuse_null_string_n(st_json_t *j) {
  st_json_begin_array(j);
  st_json_string_n(j, NULL, 1);
  st_json_end_array(j);
}
static void misuse_null_key(st_json_t *j) {
  st_json_begin_object(j);
  st_json_key(j, NULL);
  st_json_int(j, 1);
  st_json_end_object(j);
}

static const struct {
  const char *name;
  void (*run)(st_json_t *);
} misuses[] = {
    {"value without key", misuse_value_without_key},
    {"container without key", misuse_container_without_key},
    {"key at top level", misuse_key_at_top},
    {"key in array", misuse_key_in_array},
    {"key after key", misuse_key_after_key},
    {"second value for a key", misuse_second_value_for_key},
    {"end_object without begin", misuse_end_object_alone},
    {"end_array without begin", misuse_end_array_alone},
    {"end_object closing an array", misuse_end_object_in_array},
    {"end_array closing an object", misuse_end_array_in_object},
    {"end right after a key", misuse_end_after_key},
    {"one end too many", misuse_end_too_many},
    {"33 arrays deep", misuse_too_deep_arrays},
    {"33 containers deep", misuse_too_deep_objects},
    {"unclosed array", misuse_unclosed_array},
    {"unclosed inner object", misuse_unclosed_inner},
    {"key without value at finish", misuse_dangling_key},
    {"empty document", misuse_empty_document},
    {"two top-level values", misuse_two_top_values},
    {"two top-level containers", misuse_two_top_containers},
    {"NULL string", misuse_null_string},
    {"NULL string_n with n > 0", misuse_null_string_n},
    {"NULL key", misuse_null_key},
};
#define N_MISUSES (sizeof misuses / sizeof misuses[0])

/* Each misuse in both layouts: ST_EINVAL with out parameters untouched,
 * and sticky: the calls after it (valid ones included) write nothing and
 * the error stays. */
START_TEST(test_misuse_is_einval_and_sticky) {
  size_t m = (size_t)_i / 2;
  st_json_t j;
  st_json_init(&j, _i % 2);
  misuses[m].run(&j);
  const char *sentinel = "untouched", *doc = sentinel;
  size_t len = 12345;
  int rc = st_json_finish(&j, &doc, &len);
  ck_assert_msg(rc == ST_EINVAL, "%s: st_json_finish = %d (%s)",
                misuses[m].name, rc, err_label(rc));
  size_t len_at_error = j.len;
  st_json_null(&j);
  st_json_end_array(&j);
  st_json_end_object(&j);
  st_json_begin_array(&j);
  st_json_string(&j, "more");
  st_json_double(&j, 1.5);
  ck_assert_msg(j.len == len_at_error, "%s: %zu bytes written after it",
                misuses[m].name, j.len - len_at_error);
  rc = st_json_finish(&j, &doc, &len);
  ck_assert_msg(rc == ST_EINVAL, "%s: second st_json_finish = %d (%s)",
                misuses[m].name, rc, err_label(rc));
  ck_assert_ptr_eq(doc, sentinel);
  ck_assert_uint_eq(len, 12345);
  st_json_free(&j);
}
END_TEST

/* The first error is the one reported, even when a different misuse
 * follows. */
START_TEST(test_first_error_kept) {
  st_json_t j;
  st_json_init(&j, false);
  st_json_begin_array(&j);
  st_json_int(&j, 1);
  size_t len = j.len;
  st_json_key(&j, "k"); /* the first error */
  ck_assert_int_eq(j.err, ST_EINVAL);
  st_json_end_object(&j);
  st_json_end_array(&j); /* valid before the error: now nothing */
  ck_assert_uint_eq(j.len, len);
  ck_assert_int_eq(j.depth, 1);
  const char *doc;
  ck_assert_int_eq(st_json_finish(&j, &doc, NULL), ST_EINVAL);
  st_json_free(&j);
}
END_TEST

START_TEST(test_null_arguments) {
  /* No writer: nothing happens, nothing crashes. */
  st_json_init(NULL, false);
  st_json_free(NULL);
  st_json_begin_object(NULL);
  st_json_end_object(NULL);
  st_json_begin_array(NULL);
  st_json_end_array(NULL);
  st_json_key(NULL, "k");
  st_json_string(NULL, "s");
  st_json_string_n(NULL, "s", 1);
  st_json_int(NULL, 1);
  st_json_uint(NULL, 1);
  st_json_double(NULL, 1.0);
  st_json_bool(NULL, true);
  st_json_null(NULL);
  const char *doc = NULL;
  size_t len = 0;
  ck_assert_int_eq(st_json_finish(NULL, &doc, &len), ST_EINVAL);
  /* A NULL out is refused without spoiling the writer. */
  st_json_t j;
  st_json_init(&j, false);
  st_json_bool(&j, false);
  ck_assert_int_eq(st_json_finish(&j, NULL, &len), ST_EINVAL);
  ck_assert_int_eq(j.err, ST_OK);
  assert_doc(&j, "false");
  st_json_free(&j);
}
END_TEST

/* ST_ENOMEM, sticky like the others, when the address space runs out: in
 * a child with RLIMIT_AS 48 MiB above what it already maps, a document of
 * 1 MiB strings cannot reach 1 GiB. The child reports by exit status. */
START_TEST(test_enomem_under_rlimit) {
  if (UNDER_ASAN) return;
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL || fscanf(f, "%lu", &pages) != 1) _exit(77);
    fclose(f);
    size_t chunk = (size_t)1 << 20;
    char *s = malloc(chunk);
    if (s == NULL) _exit(10);
    memset(s, 'a', chunk);
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max =
        (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)48 << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(77);
    st_json_t j;
    st_json_init(&j, false);
    st_json_begin_array(&j);
    for (int i = 0; i < 1024 && j.err == ST_OK; i++)
      st_json_string_n(&j, s, chunk);
    if (j.err != ST_ENOMEM) _exit(11);
    size_t len = j.len;
    st_json_string_n(&j, "x", 1);
    st_json_end_array(&j);
    if (j.len != len) _exit(12);
    const char *doc = NULL;
    if (st_json_finish(&j, &doc, NULL) != ST_ENOMEM || doc != NULL) _exit(13);
    st_json_free(&j);
    free(s);
    _exit(0);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status), "child died, status %d", status);
  int code = WEXITSTATUS(status);
  ck_assert_msg(code == 0 || code == 77, "child failed with code %d", code);
}
END_TEST

/* ------------------------------------------------------------------ large */

/* 50,000 objects in an array, compact, against the same document built
 * with snprintf; the buffer grows from 256 bytes to megabytes. */
START_TEST(test_large_exact) {
  enum { N = 50000 };
  st_json_t j;
  st_json_init(&j, false);
  sbuf_t exp = {0};
  size_t growths = 0, cap = 0;
  st_json_begin_array(&j);
  sbuf_printf(&exp, "[");
  for (int i = 0; i < N; i++) {
    st_json_begin_object(&j);
    st_json_key(&j, "i");
    st_json_int(&j, i);
    st_json_key(&j, "name");
    char name[32];
    snprintf(name, sizeof name, "item-%d\t\"", i);
    st_json_string(&j, name);
    st_json_key(&j, "half");
    st_json_double(&j, i * 0.5);
    st_json_key(&j, "odd");
    st_json_bool(&j, i % 2);
    st_json_end_object(&j);
    sbuf_printf(&exp, "%s{\"i\":%d,\"name\":\"item-%d\\t\\\"\",\"half\":%d.%d,"
                      "\"odd\":%s}",
                i ? "," : "", i, i, i / 2, i % 2 ? 5 : 0,
                i % 2 ? "true" : "false");
    if (j.cap != cap) {
      growths++;
      cap = j.cap;
    }
  }
  st_json_end_array(&j);
  sbuf_printf(&exp, "]");
  ck_assert_uint_ge(growths, 10);
  const char *doc;
  size_t len;
  ck_assert_int_eq(st_json_finish(&j, &doc, &len), ST_OK);
  ck_assert_uint_eq(len, exp.len);
  ck_assert_msg(memcmp(doc, exp.s, len) == 0, "large document differs");
  parser_t ps;
  ck_assert(json_parse(&ps, doc, len));
  ck_assert_uint_eq(ps.values, 1 + (size_t)N * 5);
  free(ps.str);
  free(exp.s);
  st_json_free(&j);
}
END_TEST

/* A random document: containers up to the depth limit, strings of any
 * bytes, every number kind. Counts what it writes. */
typedef struct {
  test_rng_t rng;
  size_t budget, values;
} gen_t;

static void gen_value(st_json_t *j, gen_t *g, int depth) {
  g->values++;
  uint64_t kind = test_rng_between(&g->rng, 0, 9);
  if (g->budget > 0 && depth < ST_JSON_MAX_DEPTH && kind <= 2) {
    bool object = kind == 0;
    size_t n = (size_t)test_rng_between(&g->rng, 0, kind == 2 ? 1 : 6);
    if (object)
      st_json_begin_object(j);
    else
      st_json_begin_array(j);
    for (size_t i = 0; i < n && g->budget > 0; i++) {
      g->budget--;
      if (object) {
        char key[24];
        snprintf(key, sizeof key, "k%zu", i);
        st_json_key(j, key);
      }
      gen_value(j, g, depth + 1);
    }
    if (object)
      st_json_end_object(j);
    else
      st_json_end_array(j);
    return;
  }
  switch (kind) {
    case 3: case 4: {
      unsigned char s[48];
      size_t n = (size_t)test_rng_between(&g->rng, 0, sizeof s);
      for (size_t i = 0; i < n; i++) {
        uint64_t r = test_rng_between(&g->rng, 0, 9);
        s[i] = (unsigned char)(r < 5   ? test_rng_between(&g->rng, 0x20, 0x7E)
                               : r < 7 ? test_rng_between(&g->rng, 0, 0x1F)
                                       : test_rng_between(&g->rng, 0x80, 0xFF));
      }
      st_json_string_n(j, (const char *)s, n);
      break;
    }
    case 5: st_json_int(j, (long long)test_rng_next(&g->rng)); break;
    case 6: st_json_uint(j, test_rng_next(&g->rng)); break;
    case 7: {
      uint64_t bits = test_rng_next(&g->rng);
      double v;
      memcpy(&v, &bits, sizeof v);
      st_json_double(j, v);
      break;
    }
    case 8: st_json_bool(j, test_rng_next(&g->rng) & 1); break;
    default: st_json_null(j);
  }
}

START_TEST(test_large_random_valid) {
  bool pretty = _i % 2;
  gen_t g = {test_rng_seeded(0x7a11u + (uint64_t)_i), 40000, 0};
  st_json_t j;
  st_json_init(&j, pretty);
  st_json_begin_array(&j);
  while (g.budget > 0) {
    g.budget--;
    gen_value(&j, &g, 1);
  }
  st_json_end_array(&j);
  const char *doc;
  size_t len;
  int rc = st_json_finish(&j, &doc, &len);
  ck_assert_msg(rc == ST_OK, "st_json_finish = %d (%s)", rc, err_label(rc));
  ck_assert_uint_eq(len, strlen(doc));
  if (!pretty) ck_assert_ptr_null(memchr(doc, '\n', len));
  parser_t ps;
  ck_assert_msg(json_parse(&ps, doc, len), "invalid JSON near byte %td",
                ps.p - (const unsigned char *)doc);
  ck_assert_uint_eq(ps.values, g.values + 1);
  ck_assert_int_le(ps.max_depth, ST_JSON_MAX_DEPTH);
  free(ps.str);
  st_json_free(&j);
}
END_TEST

Suite *json_suite(void) {
  Suite *s = suite_create("json");

  TCase *structure = tcase_create("structure");
  tcase_add_test(structure, test_nested_compact);
  tcase_add_test(structure, test_nested_pretty);
  tcase_add_test(structure, test_top_level_scalars);
  tcase_add_test(structure, test_deepest_nesting_allowed);
  tcase_add_test(structure, test_finish_twice_free_reuse);
  suite_add_tcase(s, structure);

  TCase *strings = tcase_create("strings");
  tcase_add_test(strings, test_every_control_char_escaped);
  tcase_add_test(strings, test_quote_backslash_slash);
  tcase_add_test(strings, test_valid_utf8_kept);
  tcase_add_test(strings, test_invalid_utf8_replaced);
  tcase_add_loop_test(strings, test_string_round_trip, 0, 2);
  suite_add_tcase(s, strings);

  TCase *numbers = tcase_create("numbers");
  tcase_add_test(numbers, test_integer_limits);
  tcase_add_test(numbers, test_double_forms);
  tcase_add_test(numbers, test_double_round_trip);
  tcase_add_test(numbers, test_double_comma_locale);
  suite_add_tcase(s, numbers);

  TCase *errors = tcase_create("errors");
  tcase_add_loop_test(errors, test_misuse_is_einval_and_sticky, 0,
                      (int)(2 * N_MISUSES));
  tcase_add_test(errors, test_first_error_kept);
  tcase_add_test(errors, test_null_arguments);
  tcase_add_test(errors, test_enomem_under_rlimit);
  suite_add_tcase(s, errors);

  TCase *large = tcase_create("large");
  tcase_add_test(large, test_parser_rejects_invalid);
  tcase_add_test(large, test_large_exact);
  tcase_add_loop_test(large, test_large_random_valid, 0, 4);
  suite_add_tcase(s, large);
  return s;
}
