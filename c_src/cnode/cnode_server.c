/* Talking to a named server from the C-node: call, cast, cast_and_sync.
 * The C-node speaks gen_server's own messages, so a call costs one round
 * trip and no agent hop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"

static int check_args(st_conn_t *c, const char *server, const st_term_t *request) {
  if (c == NULL) return ST_EINVAL;
  if (server == NULL || server[0] == '\0' || strlen(server) >= MAXATOMLEN || request == NULL)
    return cnode_fail(c->cn, ST_EINVAL, "a call needs a registered name and a request");
  return ST_OK;
}

int st_cnode_call(st_conn_t *c, const char *server, const st_term_t *request,
                  unsigned timeout_ms, st_term_t **reply) {
  int rc = check_args(c, server, request);
  if (rc != ST_OK) return rc;
  ei_x_buff out;
  ei_x_new(&out);
  rc = rpc_gen_call(c, server, request->bytes, request->len, timeout_ms, &out);
  int index = 0;
  if (rc == ST_OK && reply != NULL && term_copy(out.buff, &index, reply) != ST_OK)
    rc = cnode_fail(c->cn, ST_EPROTO, "the reply of %s cannot be read", server);
  ei_x_free(&out);
  if (rc == ST_OK) cnode_ok(c->cn);
  return rc;
}

int st_cnode_cast(st_conn_t *c, const char *server, const st_term_t *request) {
  int rc = check_args(c, server, request);
  if (rc != ST_OK) return rc;
  ei_x_buff x;
  ei_x_new_with_version(&x);
  ei_x_encode_tuple_header(&x, 2);
  ei_x_encode_atom(&x, "$gen_cast");
  ei_x_append_buf(&x, request->bytes, request->len);
  rc = conn_send_reg(c, server, &x);
  ei_x_free(&x);
  return rc;
}

/* {system, From, get_state}, answered as {Ref, State}: sys's message, so
 * it works on any gen_server, not only those with a sync handler. A server
 * handles one sender's messages in order: once this is answered, whatever
 * this node sent it before has been handled. */
static int sys_sync(st_conn_t *c, const char *server, unsigned timeout_ms) {
  ei_x_buff get_state;
  ei_x_new(&get_state);
  ei_x_encode_atom(&get_state, "get_state");
  int rc = rpc_tagged_call(c, server, "system", get_state.buff, get_state.index, timeout_ms,
                           NULL);
  ei_x_free(&get_state);
  if (rc == ST_OK) cnode_ok(c->cn);
  return rc;
}

int st_cnode_cast_and_sync(st_conn_t *c, const char *server, const st_term_t *request,
                           unsigned timeout_ms) {
  int rc = st_cnode_cast(c, server, request);
  return rc == ST_OK ? sys_sync(c, server, timeout_ms) : rc;
}

int st_cnode_service_alive(st_conn_t *c, const char *name, unsigned timeout_ms, bool *alive) {
  if (c == NULL || name == NULL || alive == NULL) return ST_EINVAL;
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  ei_x_encode_tuple_header(&req, 2);
  ei_x_encode_atom(&req, "whereis");
  int rc = term_encode_name(&req, name);
  if (rc == ST_OK) rc = agent_request(c, &req, timeout_ms, NULL, NULL, &reply);
  ei_x_free(&req);
  ei_x_free(&reply);
  if (rc == ST_EAGENT) {
    *alive = false;
    cnode_ok(c->cn);
    return ST_OK;
  }
  if (rc != ST_OK) return rc;
  /* Registered: now it must answer a sys request. */
  rc = sys_sync(c, name, timeout_ms);
  if (rc == ST_ENODELOST) return rc;
  *alive = rc == ST_OK;
  cnode_ok(c->cn);
  return ST_OK;
}
