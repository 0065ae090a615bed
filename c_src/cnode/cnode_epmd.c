/* Asking epmd for a node's port ourselves, before ei connects: it tells
 * "no epmd on that host" apart from "no such node", which ei's single
 * failure code does not. The exchange is epmd's PORT_PLEASE2_REQ
 * (ERTS's "Distribution Protocol" chapter): a 2-byte length, the byte 122
 * and the node's short name; the answer starts with 119, a result byte
 * (0: found) and the 2-byte port. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cnode_priv.h"

#define EPMD_PORT "4369"
#define PORT_PLEASE2_REQ 122
#define PORT2_RESP 119

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for fd to be ready for `events` until the deadline. */
static bool wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return false;
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, (int)left);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

/* A connected socket to host's epmd, or -1 (refused: no epmd). */
static int connect_epmd(const char *host, int64_t deadline, bool *refused) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  *refused = false;
  /* ERL_EPMD_PORT moves epmd, for erl and ei alike. */
  const char *port = getenv("ERL_EPMD_PORT");
  if (port == NULL || *port == '\0') port = EPMD_PORT;
  if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
  int fd = -1;
  for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    int err = errno;
    if (err == EINPROGRESS && wait_fd(fd, POLLOUT, deadline)) {
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) break;
    }
    if (err == ECONNREFUSED) *refused = true;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

/* Reads exactly n bytes before the deadline. */
static bool read_full(int fd, unsigned char *buf, size_t n, int64_t deadline) {
  size_t got = 0;
  while (got < n) {
    if (!wait_fd(fd, POLLIN, deadline)) return false;
    ssize_t r = read(fd, buf + got, n - got);
    if (r <= 0) {
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      return false;
    }
    got += (size_t)r;
  }
  return true;
}

int cnode_epmd_port(const char *host, const char *alive, unsigned timeout_ms, int *port,
                    char *why, size_t why_cap) {
  size_t alive_len = strlen(alive);
  if (alive_len == 0 || alive_len > 255) {
    snprintf(why, why_cap, "invalid node name");
    return ST_EINVAL;
  }
  int64_t deadline = now_ms() + timeout_ms;
  bool refused;
  int fd = connect_epmd(host, deadline, &refused);
  if (fd < 0) {
    snprintf(why, why_cap, refused ? "no epmd is running on %s (is any Erlang node started there?)"
                                   : "cannot reach epmd on %s (unknown host or no answer)",
             host);
    return ST_ENOEPMD;
  }
  unsigned char req[3 + 255];
  req[0] = (unsigned char)((alive_len + 1) >> 8);
  req[1] = (unsigned char)((alive_len + 1) & 0xff);
  req[2] = PORT_PLEASE2_REQ;
  memcpy(req + 3, alive, alive_len);
  size_t sent = 0, total = 3 + alive_len;
  while (sent < total) {
    if (!wait_fd(fd, POLLOUT, deadline)) break;
    ssize_t w = write(fd, req + sent, total - sent);
    if (w < 0 && errno != EINTR && errno != EAGAIN) break;
    if (w > 0) sent += (size_t)w;
  }
  unsigned char head[4];
  bool answered = sent == total && read_full(fd, head, 2, deadline);
  int rc = ST_OK;
  if (!answered || head[0] != PORT2_RESP) {
    snprintf(why, why_cap, "epmd on %s did not answer", host);
    rc = answered ? ST_EPROTO : ST_ETIMEDOUT;
  } else if (head[1] != 0) {
    snprintf(why, why_cap, "no node named '%s' is running on %s (epmd does not know it)", alive,
             host);
    rc = ST_ENONODE;
  } else if (!read_full(fd, head + 2, 2, deadline)) {
    snprintf(why, why_cap, "epmd on %s did not answer", host);
    rc = ST_ETIMEDOUT;
  } else {
    *port = (head[2] << 8) | head[3];
  }
  close(fd);
  return rc;
}
