/* The C-node: attaching to a running Erlang/Elixir node from outside the
 * VM (erl_interface + libuv).
 *
 * This header grows with the C-node. Today it holds the configuration
 * every attach starts from: the target's node name and the cookie, found
 * where Erlang users keep it. A cookie is a secret: nothing here prints or
 * logs one, and error codes never carry it. */
#ifndef SUPERTESTER_CNODE_H
#define SUPERTESTER_CNODE_H

#include <stddef.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest node name distribution accepts ("name@host"), and the
 * longest cookie (both are atoms on the Erlang side). */
#define ST_CNODE_MAX_NODE 255
#define ST_CNODE_MAX_COOKIE 255

/* Splits "name@host" into its parts (NUL-terminated, into buffers of
 * name_cap and host_cap bytes). The name is letters, digits, '_' and '-';
 * the host is letters, digits, '.', '-' and '_' (an IPv4 address too).
 * ST_EINVAL for a malformed name (no or two '@', an empty part, another
 * character, longer than ST_CNODE_MAX_NODE), ST_ERANGE when a buffer is
 * too small. Writes nothing on error. */
int st_cnode_parse_node(const char *node, char *name, size_t name_cap, char *host,
                        size_t host_cap);

/* Where a cookie came from. */
typedef enum st_cookie_source_e {
  ST_COOKIE_OPTION = 1,  /* given explicitly (--cookie) */
  ST_COOKIE_ENV = 2,     /* the environment (SUPERTESTER_COOKIE) */
  ST_COOKIE_FILE = 3     /* $HOME/.erlang.cookie */
} st_cookie_source_t;

/* The environment variable read for a cookie. */
#define ST_COOKIE_ENV_VAR "SUPERTESTER_COOKIE"

/* Finds the cookie: `option` when not NULL, else `env` (the caller passes
 * getenv(ST_COOKIE_ENV_VAR), so tests need not touch the environment)
 * when not NULL, else the file .erlang.cookie in `home`. The first source
 * present is used, even when it is invalid (a bad --cookie is an error,
 * not a reason to try the file).
 *
 * Like erl, the file must be a regular file that only its owner can read
 * or write (ST_EPERM otherwise); trailing white space (the file's newline)
 * is dropped. A cookie is 1 to ST_CNODE_MAX_COOKIE printable ASCII
 * characters without spaces (ST_EINVAL otherwise). ST_ENOTFOUND when
 * there is no source (no option, no variable, no file or no home);
 * ST_ERANGE when cap is too small. Writes the cookie and *source (may be
 * NULL) only on success. */
int st_cnode_resolve_cookie(const char *option, const char *env, const char *home,
                            char *out, size_t cap, st_cookie_source_t *source);

#ifdef __cplusplus
}
#endif

#endif
