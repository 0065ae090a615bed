/* Watching processes on an attached node: samples of a process's memory,
 * reductions and mailbox, bounded traces, and partitions between nodes.
 * The agent enforces the limits on the node (AGENT_PROTOCOL.md); the
 * C-node only reads what it forwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"

int st_cnode_process_info(st_conn_t *c, const char *target, st_proc_sample_t *out) {
  if (c == NULL || out == NULL) return ST_EINVAL;
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  ei_x_encode_tuple_header(&req, 2);
  ei_x_encode_atom(&req, "process_info");
  int rc = term_encode_name(&req, target);
  if (rc != ST_OK) rc = cnode_fail(c->cn, ST_EINVAL, "'%s' is not a registered name", target);
  if (rc == ST_OK) rc = agent_request(c, &req, 0, NULL, NULL, &reply);
  if (rc == ST_EAGENT)
    rc = cnode_fail(c->cn, ST_ENOTFOUND, "no process %s is alive on %s", target, c->node);
  if (rc == ST_OK) {
    int index = 0;
    long long mem, reds, mq;
    if (term_ok(reply.buff, &index) != ST_OK ||
        term_tuple(reply.buff, &index, 3) != ST_OK ||
        term_long(reply.buff, &index, &mem) != ST_OK ||
        term_long(reply.buff, &index, &reds) != ST_OK ||
        term_long(reply.buff, &index, &mq) != ST_OK || mem < 0 || reds < 0 || mq < 0) {
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's process_info reply has the wrong shape");
    } else {
      out->memory = (uint64_t)mem;
      out->reductions = (uint64_t)reds;
      out->message_queue_len = (uint64_t)mq;
      cnode_ok(c->cn);
    }
  }
  ei_x_free(&req);
  ei_x_free(&reply);
  return rc;
}

/* ---------------------------------------------------------------- trace */

typedef struct trace_ctx_s {
  void (*on_event)(void *ud, const st_trace_event_t *e);
  void *ud;
  uint64_t malformed;
} trace_ctx_t;

/* {Us, What, PeerText, DetailText} */
static void on_trace_event(void *ud, const char *buf, int index) {
  trace_ctx_t *t = ud;
  long long us;
  char what[32];
  char *peer = NULL, *detail = NULL;
  if (term_tuple(buf, &index, 4) == ST_OK && term_long(buf, &index, &us) == ST_OK &&
      term_atom(buf, &index, what, sizeof what) == ST_OK &&
      term_binary_text(buf, &index, &peer) == ST_OK &&
      term_binary_text(buf, &index, &detail) == ST_OK) {
    st_trace_event_t e = {.us = us, .what = what, .peer = peer, .detail = detail};
    if (t->on_event != NULL) t->on_event(t->ud, &e);
  } else {
    t->malformed++;
  }
  free(peer);
  free(detail);
}

int st_cnode_trace(st_conn_t *c, const char *target, st_trace_kind_t kind, uint32_t max_events,
                   uint32_t duration_ms, void (*on_event)(void *ud, const st_trace_event_t *e),
                   void *ud, st_trace_result_t *out) {
  if (c == NULL || out == NULL || max_events == 0 || duration_ms == 0 ||
      (kind != ST_TRACE_MESSAGES && kind != ST_TRACE_SUPERVISION))
    return ST_EINVAL;
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  ei_x_encode_tuple_header(&req, 5);
  ei_x_encode_atom(&req, "trace");
  int rc = term_encode_name(&req, target);
  if (rc != ST_OK) rc = cnode_fail(c->cn, ST_EINVAL, "'%s' is not a registered name", target);
  trace_ctx_t ctx = {.on_event = on_event, .ud = ud};
  if (rc == ST_OK) {
    ei_x_encode_atom(&req, kind == ST_TRACE_MESSAGES ? "messages" : "supervision");
    ei_x_encode_ulong(&req, max_events);
    ei_x_encode_ulong(&req, duration_ms);
    /* The agent ends the trace at duration_ms; the reply follows. */
    rc = agent_request(c, &req, duration_ms + cnode_timeout(c->cn, 0), on_trace_event, &ctx,
                       &reply);
  }
  if (rc == ST_OK) {
    int index = 0;
    long long count, dropped;
    if (term_ok(reply.buff, &index) != ST_OK ||
        term_tuple(reply.buff, &index, 4) != ST_OK ||
        term_expect_atom(reply.buff, &index, "trace_done") != ST_OK ||
        term_long(reply.buff, &index, &count) != ST_OK ||
        term_long(reply.buff, &index, &dropped) != ST_OK ||
        term_atom(reply.buff, &index, out->why, sizeof out->why) != ST_OK) {
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's trace reply has the wrong shape");
    } else {
      out->events = (uint64_t)count;
      out->dropped = (uint64_t)dropped + ctx.malformed;
      cnode_ok(c->cn);
    }
  }
  ei_x_free(&req);
  ei_x_free(&reply);
  return rc;
}

/* ------------------------------------------------------------ partition */

int st_cnode_partition(st_conn_t *a, const char *peer_node, uint32_t duration_ms,
                       st_partition_report_t *out) {
  if (a == NULL || out == NULL || peer_node == NULL) return ST_EINVAL;
  char alive[ST_CNODE_MAX_NODE + 1], host[ST_CNODE_MAX_NODE + 1];
  if (st_cnode_parse_node(peer_node, alive, sizeof alive, host, sizeof host) != ST_OK)
    return cnode_fail(a->cn, ST_EINVAL, "'%s' is not a node name", peer_node);
  /* The nodes must be connected for a partition to cut them apart:
   * distribution connects lazily, so connect them first. */
  char expr[2 * ST_CNODE_MAX_NODE];
  snprintf(expr, sizeof expr, "net_kernel:connect_node('%s').", peer_node);
  st_term_t *connected = NULL;
  int rc = st_cnode_eval(a, expr, &connected);
  char *text = rc == ST_OK ? st_term_format(connected) : NULL;
  bool ok = text != NULL && strcmp(text, "true") == 0;
  free(text);
  st_term_free(connected);
  if (rc != ST_OK) return rc;
  if (!ok)
    return cnode_fail(a->cn, ST_EAGENT, "%s cannot connect to %s (not running, or another cookie)",
                      a->node, peer_node);
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  ei_x_encode_tuple_header(&req, 3);
  ei_x_encode_atom(&req, "partition");
  ei_x_encode_atom(&req, peer_node);
  ei_x_encode_ulong(&req, duration_ms);
  rc = agent_request(a, &req, duration_ms + 2 * cnode_timeout(a->cn, 0), NULL, NULL, &reply);
  if (rc == ST_OK) {
    int index = 0;
    long long apart, reconnect;
    if (term_ok(reply.buff, &index) != ST_OK ||
        term_tuple(reply.buff, &index, 3) != ST_OK ||
        term_expect_atom(reply.buff, &index, "partition_done") != ST_OK ||
        term_long(reply.buff, &index, &apart) != ST_OK ||
        term_long(reply.buff, &index, &reconnect) != ST_OK) {
      rc = cnode_fail(a->cn, ST_EPROTO, "the agent's partition reply has the wrong shape");
    } else {
      out->apart_us = apart;
      out->reconnect_us = reconnect;
      cnode_ok(a->cn);
    }
  }
  ei_x_free(&req);
  ei_x_free(&reply);
  return rc;
}
