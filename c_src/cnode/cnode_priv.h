/* What the C-node's files share: the session, the connection, requests in
 * flight, and the helpers that build and read messages. Nothing here is
 * public; include/supertester/cnode.h is the API. */
#ifndef SUPERTESTER_CNODE_PRIV_H
#define SUPERTESTER_CNODE_PRIV_H

#include <ei.h>
#include <uv.h>

#include "supertester/cnode.h"

/* A request waiting for its answer. Replies are matched by reference:
 * `{Ref, Reply}` for rex and gen_server calls, `{st_reply, Ref, Reply}` and
 * `{st_event, Ref, Event}` for the agent's. */
typedef enum pending_kind_e { PENDING_CALL = 1, PENDING_AGENT = 2 } pending_kind_t;

typedef struct pending_s pending_t;

/* Called for an agent event, with buf[*index] the event term. */
typedef void (*event_fn)(void *ud, const char *buf, int index);
/* Called when the reply arrives (status ST_OK, reply in p->reply) or the
 * wait fails (status ST_ETIMEDOUT or ST_ENODELOST); for requests that do
 * not wait (the bench's). The pending is freed after it returns. */
typedef void (*done_fn)(void *ud, pending_t *p);

struct pending_s {
  erlang_ref ref;
  pending_kind_t kind;
  bool done;
  int status;
  ei_x_buff reply; /* the reply term, without version byte */
  event_fn on_event;
  done_fn on_done;
  void *ud;
  pending_t *next;
};

struct st_conn_s {
  st_cnode_t *cn;
  st_conn_t *next;
  int fd;
  uv_poll_t poll;
  bool polling;
  bool lost;
  bool closing;
  char node[MAXNODELEN + 1];
  erlang_pid agent;
  bool agent_started;
  uint64_t unexpected;
  pending_t *pending;
  ei_x_buff rx; /* receive buffer, reused */
};

struct st_cnode_s {
  uv_loop_t loop;
  ei_cnode ec;
  char agent_beam[4096];
  unsigned timeout_ms;
  bool no_agent;
  st_conn_t *conns;
  char error[512];
};

struct st_term_s {
  char *bytes; /* external format, no version byte */
  int len;
};

/* cnode_conn.c */
int cnode_fail(st_cnode_t *cn, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cnode_ok(st_cnode_t *cn);
/* A new pending request on conn (not yet sent). NULL when out of memory. */
pending_t *conn_pending_new(st_conn_t *c, pending_kind_t kind);
/* Unlinks and frees p. */
void conn_pending_free(st_conn_t *c, pending_t *p);
/* Runs the loop until p is done or timeout_ms passes: ST_OK, ST_ETIMEDOUT
 * or ST_ENODELOST. */
int conn_wait(st_conn_t *c, pending_t *p, unsigned timeout_ms);
/* Runs the loop until *flag or timeout_ms; whether *flag. */
bool cnode_run_until(st_cnode_t *cn, const bool *flag, unsigned timeout_ms);
unsigned cnode_timeout(const st_cnode_t *cn, unsigned timeout_ms);
/* The connection dropped: fails every request in flight. */
void conn_mark_lost(st_conn_t *c);

/* cnode_epmd.c: the port `alive` listens on at `host`, asked of epmd. */
int cnode_epmd_port(const char *host, const char *alive, unsigned timeout_ms, int *port,
                    char *why, size_t why_cap);

/* cnode_rpc.c */
/* A new buffer (the caller frees it) holding a call message as gen and sys
 * make them, {Tag, {Self, Ref}, Request}: Tag '$gen_call' for gen_server
 * calls, system for sys requests. request is encoded without version. */
void encode_call(st_conn_t *c, ei_x_buff *x, const char *tag, const erlang_ref *ref,
                 const char *req, int req_len);
/* Sends {Tag, {Self, Ref}, Request} to a registered name and waits for
 * {Ref, Reply}; rpc_gen_call is it with '$gen_call'. reply may be NULL. */
int rpc_tagged_call(st_conn_t *c, const char *name, const char *tag, const char *req,
                    int req_len, unsigned timeout_ms, ei_x_buff *reply);
int rpc_gen_call(st_conn_t *c, const char *name, const char *req, int req_len,
                 unsigned timeout_ms, ei_x_buff *reply);
/* M:F(Args) through the node's rex; args is an encoded list. A
 * {badrpc, R} result is ST_EAGENT with R in the error text. */
int rpc_call(st_conn_t *c, const char *mod, const char *fun, const ei_x_buff *args,
             unsigned timeout_ms, ei_x_buff *reply);
/* {st, Ref, Request} to the agent; waits for {st_reply, Ref, Reply}, events
 * going to on_event meanwhile. An {error, R} reply is ST_EAGENT with R
 * in the error text (and the reply still in *reply). */
int agent_request(st_conn_t *c, const ei_x_buff *req, unsigned timeout_ms, event_fn on_event,
                  void *ud, ei_x_buff *reply);
/* Loads (unless loaded) and starts the agent; stops it. */
int agent_start(st_conn_t *c);
int agent_stop(st_conn_t *c);
/* Sends a message to the agent or a registered name, no reply expected. */
int conn_send_reg(st_conn_t *c, const char *name, const ei_x_buff *msg_with_version);

/* cnode_term.c: reading replies. Each advances *index past what it read
 * and returns ST_EPROTO on the wrong shape. */
int term_expect_atom(const char *buf, int *index, const char *atom);
int term_atom(const char *buf, int *index, char *out, size_t cap);
/* {ok, X}: leaves *index at X. */
int term_ok(const char *buf, int *index);
int term_long(const char *buf, int *index, long long *out);
int term_tuple(const char *buf, int *index, int arity);
/* Prints the term at *index (malloc'd) and skips it. */
int term_print(const char *buf, int *index, char **out);
/* A binary's bytes as a NUL-terminated string (malloc'd). */
int term_binary_text(const char *buf, int *index, char **out);
/* Copies the term at *index into a new st_term_t and skips it. */
int term_copy(const char *buf, int *index, st_term_t **out);
/* Encodes a registered-name atom or fails with ST_EINVAL on a bad name. */
int term_encode_name(ei_x_buff *x, const char *name);

#endif
