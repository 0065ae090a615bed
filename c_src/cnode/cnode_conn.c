/* Sessions and connections: the event loop, attach and detach, and the
 * reading of distribution frames.
 *
 * ei has no non-blocking read, and it answers ticks only while it reads
 * (PLATFORM.md). So each connection's socket is watched by a uv_poll, and
 * ei is asked to read only once a whole frame is buffered (FIONREAD against
 * the 4-byte length at its head): reading never blocks the loop, and every
 * connection keeps being served while a caller waits on one of them.
 * Frames larger than the kernel may buffer are the exception: for those,
 * ei reads with a timeout while the rest streams in. */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "cnode_priv.h"

#define DEFAULT_TIMEOUT_MS 5000
/* How long a wait polls before it sleeps. */
#define SPIN_NS 50000
/* Frames up to this size are read only once wholly buffered. */
#define BUFFERED_FRAME_MAX (64 * 1024)

#ifndef ST_AGENT_BEAM_DEFAULT
#define ST_AGENT_BEAM_DEFAULT "priv/supertester_agent.beam"
#endif

/* ------------------------------------------------------------ errors */

int cnode_fail(st_cnode_t *cn, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cn->error, sizeof cn->error, fmt, ap);
  va_end(ap);
  return err;
}

void cnode_ok(st_cnode_t *cn) { cn->error[0] = '\0'; }

const char *st_cnode_error(const st_cnode_t *cn) { return cn != NULL ? cn->error : ""; }

unsigned cnode_timeout(const st_cnode_t *cn, unsigned timeout_ms) {
  return timeout_ms != 0 ? timeout_ms : cn->timeout_ms;
}

/* ----------------------------------------------------------- session */

/* The agent's beam: the option, the environment, the copy installed beside
 * the program (priv/bin/supertester finds priv/supertester_agent.beam),
 * else the build tree's. */
static int find_agent_beam(const char *option, char *out, size_t cap) {
  const char *beam = option != NULL ? option : getenv("SUPERTESTER_AGENT_BEAM");
  char exe[4096];
  if (beam == NULL) {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash;
    if (n > 0) {
      exe[n] = '\0';
      slash = strrchr(exe, '/');
      if (slash != NULL && (size_t)(slash - exe) + 32 < sizeof exe) {
        strcpy(slash, "/../supertester_agent.beam");
        if (access(exe, R_OK) == 0) beam = exe;
      }
    }
  }
  if (beam == NULL) beam = ST_AGENT_BEAM_DEFAULT;
  if (strlen(beam) >= cap) return ST_EINVAL;
  strcpy(out, beam);
  return ST_OK;
}

int st_cnode_new(const st_cnode_opts_t *opts, st_cnode_t **out) {
  static unsigned instance;
  if (opts == NULL || out == NULL || opts->cookie == NULL) return ST_EINVAL;
  /* A peer that disconnects makes the next write raise SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  if (ei_init() != 0) return ST_ENOMEM;
  st_cnode_t *cn = calloc(1, sizeof *cn);
  if (cn == NULL) return ST_ENOMEM;
  cn->timeout_ms = opts->timeout_ms != 0 ? opts->timeout_ms : DEFAULT_TIMEOUT_MS;
  cn->no_agent = opts->no_agent;
  if (find_agent_beam(opts->agent_beam, cn->agent_beam, sizeof cn->agent_beam) != ST_OK) {
    free(cn);
    return ST_EINVAL;
  }
  char alive[64];
  snprintf(alive, sizeof alive, "supertester_%ld_%u", (long)getpid(), instance++);
  /* A creation that differs between runs, as a restarted node's would. */
  unsigned creation = ((unsigned)getpid() * 2654435761u + instance) % 0x7ffffffe + 1;
  if (ei_connect_init(&cn->ec, alive, opts->cookie, creation) < 0) {
    free(cn);
    return ST_EINVAL;
  }
  if (uv_loop_init(&cn->loop) != 0) {
    free(cn);
    return ST_ENOMEM;
  }
  *out = cn;
  return ST_OK;
}

static void close_walk(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void st_cnode_free(st_cnode_t *cn) {
  if (cn == NULL) return;
  while (cn->conns != NULL) (void)st_cnode_detach(cn->conns);
  uv_walk(&cn->loop, close_walk, NULL);
  (void)uv_run(&cn->loop, UV_RUN_DEFAULT);
  (void)uv_loop_close(&cn->loop);
  memset(&cn->ec, 0, sizeof cn->ec); /* it holds the cookie */
  free(cn);
}

const char *st_cnode_name(const st_cnode_t *cn) { return ei_thisnodename(&cn->ec); }

/* ------------------------------------------------------------ waiting */

typedef struct wait_timer_s {
  uv_timer_t timer;
  bool fired;
} wait_timer_t;

static void on_wait_timer(uv_timer_t *t) { ((wait_timer_t *)t->data)->fired = true; }

bool cnode_run_until(st_cnode_t *cn, const bool *flag, unsigned timeout_ms) {
  if (*flag) return true;
  wait_timer_t *w = malloc(sizeof *w);
  if (w == NULL) return *flag;
  w->fired = false;
  uv_timer_init(&cn->loop, &w->timer);
  w->timer.data = w;
  uv_timer_start(&w->timer, on_wait_timer, timeout_ms, 0);
  while (!*flag && !w->fired) {
    /* Poll without sleeping for a few microseconds first, as the BEAM's
     * schedulers do before they sleep: a reply on loopback usually comes
     * within that, and a sleeping thread takes longer to wake. */
    uint64_t spin_until = uv_hrtime() + SPIN_NS;
    while (!*flag && uv_hrtime() < spin_until) (void)uv_run(&cn->loop, UV_RUN_NOWAIT);
    if (!*flag) (void)uv_run(&cn->loop, UV_RUN_ONCE);
  }
  uv_close((uv_handle_t *)&w->timer, (uv_close_cb)free);
  return *flag;
}

void st_cnode_pause(st_cnode_t *cn, unsigned ms) {
  const bool never = false;
  if (cn != NULL && ms > 0) (void)cnode_run_until(cn, &never, ms);
}

int conn_wait(st_conn_t *c, pending_t *p, unsigned timeout_ms) {
  if (!p->done && !c->lost) cnode_run_until(c->cn, &p->done, cnode_timeout(c->cn, timeout_ms));
  if (p->done) return p->status;
  return c->lost ? ST_ENODELOST : ST_ETIMEDOUT;
}

/* ----------------------------------------------------------- pending */

pending_t *conn_pending_new(st_conn_t *c, pending_kind_t kind) {
  pending_t *p = calloc(1, sizeof *p);
  if (p == NULL) return NULL;
  if (ei_make_ref(&c->cn->ec, &p->ref) < 0 || ei_x_new(&p->reply) < 0) {
    free(p);
    return NULL;
  }
  p->kind = kind;
  p->next = c->pending;
  c->pending = p;
  return p;
}

void conn_pending_free(st_conn_t *c, pending_t *p) {
  for (pending_t **pp = &c->pending; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  }
  ei_x_free(&p->reply);
  free(p);
}

static void pending_finish(st_conn_t *c, pending_t *p, int status) {
  p->done = true;
  p->status = status;
  if (p->on_done != NULL) {
    p->on_done(p->ud, p);
    conn_pending_free(c, p);
  }
}

void conn_mark_lost(st_conn_t *c) {
  if (c->lost) return;
  c->lost = true;
  if (c->polling) {
    uv_poll_stop(&c->poll);
    c->polling = false;
  }
  pending_t *p = c->pending;
  while (p != NULL) {
    pending_t *next = p->next;
    if (!p->done) pending_finish(c, p, ST_ENODELOST);
    p = next;
  }
}

static pending_t *find_pending(st_conn_t *c, erlang_ref *ref, pending_kind_t kind) {
  for (pending_t *p = c->pending; p != NULL; p = p->next)
    if (!p->done && p->kind == kind && ei_cmp_refs(&p->ref, ref) == 0) return p;
  return NULL;
}

/* ------------------------------------------------------------ dispatch */

/* Copies the term at buf[index] into p->reply. */
static int keep_term(pending_t *p, const char *buf, int index) {
  int end = index;
  if (ei_skip_term(buf, &end) < 0) return ST_EPROTO;
  p->reply.index = 0;
  if (ei_x_append_buf(&p->reply, buf + index, end - index) < 0) return ST_ENOMEM;
  return ST_OK;
}

/* One message for this node: a reply, an event, or something unexpected
 * (counted and dropped: a C-node must not be stopped by a stray message). */
static void dispatch(st_conn_t *c, const char *buf, int len) {
  int index = 0, version, arity;
  erlang_ref ref;
  if (ei_decode_version(buf, &index, &version) < 0 ||
      ei_decode_tuple_header(buf, &index, &arity) < 0) {
    c->unexpected++;
    return;
  }
  if (arity == 2) {
    /* {Ref, Reply}: a rex or gen_server call's answer. */
    pending_t *p;
    if (ei_decode_ref(buf, &index, &ref) == 0 &&
        (p = find_pending(c, &ref, PENDING_CALL)) != NULL) {
      pending_finish(c, p, keep_term(p, buf, index));
      return;
    }
  } else if (arity == 3) {
    char tag[MAXATOMLEN];
    pending_t *p;
    if (ei_decode_atom(buf, &index, tag) == 0 && ei_decode_ref(buf, &index, &ref) == 0 &&
        (p = find_pending(c, &ref, PENDING_AGENT)) != NULL) {
      if (strcmp(tag, "st_reply") == 0) {
        pending_finish(c, p, keep_term(p, buf, index));
        return;
      }
      if (strcmp(tag, "st_event") == 0) {
        int end = index;
        if (ei_skip_term(buf, &end) == 0 && end <= len) {
          if (p->on_event != NULL) p->on_event(p->ud, buf, index);
          return;
        }
      }
    }
  }
  c->unexpected++;
}

/* Bytes readable now, or -1 when the peer closed or failed. */
static int readable_bytes(int fd) {
  int avail = 0;
  if (ioctl(fd, FIONREAD, &avail) < 0) return -1;
  return avail;
}

/* Whether a whole frame is waiting (1), or a frame too large to be wholly
 * buffered, which ei must read as it streams in (2); 0 when not yet, -1 on
 * a closed connection. */
static int frame_ready(int fd) {
  int avail = readable_bytes(fd);
  if (avail < 0) return -1;
  if (avail < 4) {
    if (avail == 0) {
      /* Readable with nothing to read: the peer closed. */
      char b;
      ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        return -1;
    }
    return 0;
  }
  unsigned char head[4];
  if (recv(fd, head, 4, MSG_PEEK | MSG_DONTWAIT) != 4) return 0;
  uint32_t len = ((uint32_t)head[0] << 24) | ((uint32_t)head[1] << 16) |
                 ((uint32_t)head[2] << 8) | head[3];
  if ((uint32_t)avail >= len + 4) return 1;
  return len > BUFFERED_FRAME_MAX ? 2 : 0;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  st_conn_t *c = h->data;
  if (status < 0 || (events & UV_DISCONNECT)) {
    conn_mark_lost(c);
    return;
  }
  for (;;) {
    int ready = frame_ready(c->fd);
    if (ready < 0) {
      conn_mark_lost(c);
      return;
    }
    if (ready == 0) return;
    erlang_msg msg;
    c->rx.index = 0;
    /* A whole frame is read without waiting: ei's 0 ("no timeout") skips
     * the poll it would make before each read. A large frame still
     * streaming in is read with the session's bound. */
    int r = ei_xreceive_msg_tmo(c->fd, &msg, &c->rx, ready == 1 ? 0 : c->cn->timeout_ms);
    if (r == ERL_TICK) continue; /* ei has answered it */
    if (r == ERL_ERROR) {
      if (erl_errno == EAGAIN) continue;
      conn_mark_lost(c);
      return;
    }
    if (msg.msgtype == ERL_SEND || msg.msgtype == ERL_REG_SEND)
      dispatch(c, c->rx.buff, c->rx.index);
    /* Links, exits and monitors: the agent does those; ignore. */
    if (c->lost) return;
  }
}

/* ------------------------------------------------------------ attach */

int st_cnode_attach(st_cnode_t *cn, const char *node, st_conn_t **out) {
  if (cn == NULL || node == NULL || out == NULL) return ST_EINVAL;
  char alive[ST_CNODE_MAX_NODE + 1], host[ST_CNODE_MAX_NODE + 1];
  if (st_cnode_parse_node(node, alive, sizeof alive, host, sizeof host) != ST_OK)
    return cnode_fail(cn, ST_EINVAL, "'%s' is not a node name (expected name@host)", node);
  int port = 0;
  char why[300];
  int rc = cnode_epmd_port(host, alive, cn->timeout_ms, &port, why, sizeof why);
  if (rc != ST_OK) return cnode_fail(cn, rc, "cannot attach to %s: %s", node, why);

  int fd = ei_connect_host_port_tmo(&cn->ec, host, port, cn->timeout_ms);
  if (fd < 0) {
    if (erl_errno == ETIMEDOUT)
      return cnode_fail(cn, ST_ETIMEDOUT,
                        "cannot attach to %s: no answer to the handshake in %u ms",
                        node, cn->timeout_ms);
    return cnode_fail(cn, ST_EAUTH,
                      "cannot attach to %s: the node refused the handshake "
                      "(is the cookie the node's?)",
                      node);
  }
  /* Writes are bounded by the kernel (see conn_send_reg). */
  struct timeval send_bound = {.tv_sec = cn->timeout_ms / 1000,
                               .tv_usec = (suseconds_t)(cn->timeout_ms % 1000) * 1000};
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_bound, sizeof send_bound);
  st_conn_t *c = calloc(1, sizeof *c);
  if (c == NULL || ei_x_new(&c->rx) < 0) {
    free(c);
    ei_close_connection(fd);
    return ST_ENOMEM;
  }
  c->cn = cn;
  c->fd = fd;
  snprintf(c->node, sizeof c->node, "%s", node);
  uv_poll_init(&cn->loop, &c->poll, fd);
  c->poll.data = c;
  uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_readable);
  c->polling = true;
  c->next = cn->conns;
  cn->conns = c;

  rc = cn->no_agent ? ST_OK : agent_start(c);
  if (rc != ST_OK) {
    char keep[sizeof cn->error];
    memcpy(keep, cn->error, sizeof keep);
    (void)st_cnode_detach(c);
    memcpy(cn->error, keep, sizeof keep);
    return rc;
  }
  cnode_ok(cn);
  *out = c;
  return ST_OK;
}

/* ------------------------------------------------------------ detach */

static void unlink_conn(st_conn_t *c) {
  for (st_conn_t **pp = &c->cn->conns; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == c) {
      *pp = c->next;
      return;
    }
  }
}

static void on_poll_closed(uv_handle_t *h) {
  st_conn_t *c = h->data;
  c->closing = false;
}

int st_cnode_detach(st_conn_t *c) {
  if (c == NULL) return ST_EINVAL;
  st_cnode_t *cn = c->cn;
  int rc = ST_OK;
  if (c->agent_started && !c->lost) rc = agent_stop(c);
  else if (c->lost) rc = ST_ENODELOST;
  /* Requests still in flight end here; their owners are gone with us. */
  while (c->pending != NULL) conn_pending_free(c, c->pending);
  if (c->polling) uv_poll_stop(&c->poll);
  c->polling = false;
  c->closing = true;
  uv_close((uv_handle_t *)&c->poll, on_poll_closed);
  while (c->closing) (void)uv_run(&cn->loop, UV_RUN_ONCE);
  ei_close_connection(c->fd);
  unlink_conn(c);
  ei_x_free(&c->rx);
  free(c);
  return rc;
}

const char *st_conn_node(const st_conn_t *c) { return c->node; }
bool st_conn_lost(const st_conn_t *c) { return c->lost; }
uint64_t st_conn_unexpected(const st_conn_t *c) { return c->unexpected; }
