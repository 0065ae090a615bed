/* A streaming JSON writer for the supertester CLI's --json output.
 *
 * The caller says what comes next (begin an object, a key, a value, end)
 * and the writer puts in the commas, the colons and, when asked, the
 * newlines and indentation, so whatever reaches st_json_finish is one
 * valid JSON text (RFC 8259) or an error:
 *
 *   st_json_t j;
 *   st_json_init(&j, pretty);
 *   st_json_begin_object(&j);
 *   st_json_key(&j, "version");
 *   st_json_int(&j, 1);
 *   st_json_key(&j, "node");
 *   st_json_string(&j, node);
 *   st_json_end_object(&j);
 *   const char *doc;
 *   size_t len;
 *   int rc = st_json_finish(&j, &doc, &len);
 *   if (rc == ST_OK) fwrite(doc, 1, len, stdout);
 *   st_json_free(&j);
 *
 * The writing calls return nothing: the first error (misuse or allocation
 * failure) is kept in the writer, every later call does nothing, and
 * st_json_finish reports it. Check once, at the end.
 *
 * Output rules:
 * - Compact: no whitespace at all. Pretty: one member per line, 2 spaces
 *   per level, ": " after keys; empty containers stay "{}" and "[]". In
 *   neither mode does the document end with a newline.
 * - Strings (and keys) are escaped: '"' and '\\' with a backslash, \b \f
 *   \n \r \t by name, the other bytes below 0x20 and DEL (0x7f) as \u00xx
 *   (lowercase hex); '/' is left alone. Bytes from 0x80 up are copied when
 *   they form well-formed UTF-8 (no overlong forms, no surrogates, nothing
 *   above U+10FFFF); each maximal ill-formed subpart (Unicode's
 *   "substitution of maximal subparts") becomes the six characters
 *   \ufffd.
 * - Doubles: the shortest of %.15g, %.16g, %.17g that reads back to the
 *   same double, so 0.1 prints 0.1 and 0.1 + 0.2 prints
 *   0.30000000000000004. A result with neither '.' nor an exponent gets
 *   ".0" (3.0 prints 3.0, -0.0 prints -0.0), so a decoder that types
 *   numbers (Erlang's json, Jason, Python) reads a float back. The decimal
 *   point is '.' whatever LC_NUMERIC says. NaN and infinities print null.
 * - Keys are not checked for duplicates: that is the caller's business.
 *
 * Not thread-safe; one writer per thread. */
#ifndef SUPERTESTER_CNODE_JSON_H
#define SUPERTESTER_CNODE_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The deepest nesting accepted: 32 containers may be open at once; the
 * 33rd begin is ST_EINVAL. */
#define ST_JSON_MAX_DEPTH 32

/* A writer. The fields are for json.c; callers use the functions. */
typedef struct st_json_s {
  char *buf;  /* the document so far; NULL until the first byte */
  size_t len; /* bytes written, not counting the NUL finish adds */
  size_t cap; /* bytes allocated; when buf is set, len < cap */
  int depth;  /* containers open, 0 .. ST_JSON_MAX_DEPTH */
  /* For each open container, outermost at 0: first[i] is 1 until it has
   * a member, in_object[i] is 1 for an object, 0 for an array. */
  unsigned char first[ST_JSON_MAX_DEPTH];
  unsigned char in_object[ST_JSON_MAX_DEPTH];
  bool key_pending; /* in an object, a key was written and awaits its value */
  bool done;        /* the top-level value is complete */
  int err;          /* the first error (ST_OK while there is none) */
  bool pretty;      /* newlines and 2-space indentation */
} st_json_t;

/* An empty writer; allocates nothing (the buffer comes with the first
 * byte), so it cannot fail. */
void st_json_init(st_json_t *j, bool pretty);

/* Releases the buffer; the document st_json_finish returned goes with it.
 * The writer is left empty, as after st_json_init with the same layout, so
 * freeing twice is harmless and the writer can be used again. */
void st_json_free(st_json_t *j);

/* Containers. A begin is a value, so inside an object it needs a key
 * first. An end must match the innermost open container and may not
 * follow a key that has no value yet. */
void st_json_begin_object(st_json_t *j);
void st_json_end_object(st_json_t *j);
void st_json_begin_array(st_json_t *j);
void st_json_end_array(st_json_t *j);

/* The next value is this key's. Only inside an object, and only where a
 * key is due (not right after another key). NULL is ST_EINVAL. */
void st_json_key(st_json_t *j, const char *key);

/* Values. Inside an object each needs a key first; at the top level only
 * one value is allowed (a container counts as one). */
void st_json_string(st_json_t *j, const char *s); /* NUL-terminated; NULL is
                                                     ST_EINVAL */
/* n bytes, NULs included (written \u0000); s may be NULL when n is 0. */
void st_json_string_n(st_json_t *j, const char *s, size_t n);
void st_json_int(st_json_t *j, long long v);
void st_json_uint(st_json_t *j, unsigned long long v);
void st_json_double(st_json_t *j, double v);
void st_json_bool(st_json_t *j, bool v);
void st_json_null(st_json_t *j);

/* Ends the document. ST_OK with *out the NUL-terminated document and *len
 * (when len is not NULL) its length without the NUL; both stay valid until
 * st_json_free and the same answer comes on a second call. Otherwise the
 * first error, out parameters untouched: ST_EINVAL for misuse (a value
 * where a key is due, a key outside an object or after a key, an end
 * without its begin, nesting deeper than ST_JSON_MAX_DEPTH, a second
 * top-level value, a NULL string or key, containers still open or no value
 * at all at finish) or ST_ENOMEM. ST_EINVAL too for a NULL j or out, which
 * is not recorded in the writer. */
int st_json_finish(st_json_t *j, const char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
