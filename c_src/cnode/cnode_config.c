/* Node names and cookies for the C-node; see include/supertester/cnode.h.
 *
 * The cookie rules follow erl's own: .erlang.cookie in the home directory,
 * refused unless only its owner can read or write it, its trailing
 * newline ignored. The cookie is copied out only once it is known to be
 * valid, and the file buffer is wiped before it is released. */
#include "supertester/cnode.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

static bool host_char(char c) { return name_char(c) || c == '.'; }

int st_cnode_parse_node(const char *node, char *name, size_t name_cap, char *host,
                        size_t host_cap) {
  if (node == NULL || name == NULL || host == NULL) return ST_EINVAL;
  size_t len = strnlen(node, ST_CNODE_MAX_NODE + 1);
  if (len > ST_CNODE_MAX_NODE) return ST_EINVAL;
  const char *at = memchr(node, '@', len);
  if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - node) - 1) != NULL)
    return ST_EINVAL;
  size_t name_len = (size_t)(at - node), host_len = len - name_len - 1;
  if (name_len == 0 || host_len == 0) return ST_EINVAL;
  for (size_t i = 0; i < name_len; i++)
    if (!name_char(node[i])) return ST_EINVAL;
  for (size_t i = 0; i < host_len; i++)
    if (!host_char(at[1 + i])) return ST_EINVAL;
  if (name_len >= name_cap || host_len >= host_cap) return ST_ERANGE;
  memcpy(name, node, name_len);
  name[name_len] = '\0';
  memcpy(host, at + 1, host_len);
  host[host_len] = '\0';
  return ST_OK;
}

/* A cookie of len bytes: printable ASCII, no space, not empty, not too
 * long. */
static int check_cookie(const char *c, size_t len) {
  if (len == 0 || len > ST_CNODE_MAX_COOKIE) return ST_EINVAL;
  for (size_t i = 0; i < len; i++)
    if (c[i] <= ' ' || c[i] > '~') return ST_EINVAL;
  return ST_OK;
}

static int copy_cookie(const char *c, size_t len, char *out, size_t cap) {
  int rc = check_cookie(c, len);
  if (rc != ST_OK) return rc;
  if (len >= cap) return ST_ERANGE;
  memcpy(out, c, len);
  out[len] = '\0';
  return ST_OK;
}

/* Reads home/.erlang.cookie into out, as erl would accept it. */
static int read_cookie_file(const char *home, char *out, size_t cap) {
  char path[4096];
  int n = snprintf(path, sizeof path, "%s/.erlang.cookie", home);
  if (n < 0 || (size_t)n >= sizeof path) return ST_EINVAL;
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ENOTDIR ? ST_ENOTFOUND : ST_EPERM;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
      st.st_uid != geteuid()) {
    close(fd);
    return ST_EPERM;
  }
  /* One byte more than a valid cookie and its newline, to see a long one. */
  char buf[ST_CNODE_MAX_COOKIE + 3];
  size_t len = 0;
  ssize_t got;
  while (len < sizeof buf && (got = read(fd, buf + len, sizeof buf - len)) > 0)
    len += (size_t)got;
  close(fd);
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
                     buf[len - 1] == '\t'))
    len--;
  int rc = copy_cookie(buf, len, out, cap);
  memset(buf, 0, sizeof buf);
  return rc;
}

int st_cnode_resolve_cookie(const char *option, const char *env, const char *home,
                            char *out, size_t cap, st_cookie_source_t *source) {
  if (out == NULL) return ST_EINVAL;
  int rc;
  st_cookie_source_t from;
  if (option != NULL) {
    from = ST_COOKIE_OPTION;
    rc = copy_cookie(option, strnlen(option, ST_CNODE_MAX_COOKIE + 1), out, cap);
  } else if (env != NULL) {
    from = ST_COOKIE_ENV;
    rc = copy_cookie(env, strnlen(env, ST_CNODE_MAX_COOKIE + 1), out, cap);
  } else if (home != NULL && home[0] != '\0') {
    from = ST_COOKIE_FILE;
    rc = read_cookie_file(home, out, cap);
  } else {
    return ST_ENOTFOUND;
  }
  if (rc == ST_OK && source != NULL) *source = from;
  return rc;
}
