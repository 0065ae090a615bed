/* Requests and their replies: gen_server calls made by hand, rex calls
 * (ei_rpc blocks the loop and breaks on any other message, PLATFORM.md),
 * and the agent's requests, plus loading and unloading the agent. The
 * message shapes are those of AGENT_PROTOCOL.md. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"

#define AGENT_MODULE "supertester_agent"

/* Sends go with ei's 0 ("no timeout"), which writes at once instead of
 * polling first; the kernel still bounds them, through the socket's send
 * timeout set at attach (SO_SNDTIMEO), so a peer that stops reading cannot
 * hang the loop. */

/* Sends an encoded message (with version byte) to a registered name. */
int conn_send_reg(st_conn_t *c, const char *name, const ei_x_buff *msg) {
  if (c->lost) return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost", c->node);
  if (ei_reg_send_tmo(&c->cn->ec, c->fd, (char *)name, msg->buff, msg->index, 0) < 0) {
    conn_mark_lost(c);
    return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost", c->node);
  }
  return ST_OK;
}

static int send_pid(st_conn_t *c, erlang_pid *to, const ei_x_buff *msg) {
  if (c->lost) return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost", c->node);
  if (ei_send_tmo(c->fd, to, msg->buff, msg->index, 0) < 0) {
    conn_mark_lost(c);
    return cnode_fail(c->cn, ST_ENODELOST, "the connection to %s was lost", c->node);
  }
  return ST_OK;
}

/* Fails with the right sentence for a wait that ended without a reply. */
static int wait_failed(st_conn_t *c, int rc, const char *what, unsigned timeout_ms) {
  if (rc == ST_ETIMEDOUT)
    return cnode_fail(c->cn, rc, "%s on %s: no reply within %u ms", what, c->node,
                      cnode_timeout(c->cn, timeout_ms));
  return cnode_fail(c->cn, rc, "%s on %s: the connection was lost", what, c->node);
}

/* Moves p's reply into *reply (or drops it) and frees p. */
static void take_reply(st_conn_t *c, pending_t *p, ei_x_buff *reply) {
  if (reply != NULL) {
    ei_x_buff tmp = *reply;
    *reply = p->reply;
    p->reply = tmp;
  }
  conn_pending_free(c, p);
}

void encode_call(st_conn_t *c, ei_x_buff *x, const char *tag, const erlang_ref *ref,
                 const char *req, int req_len) {
  ei_x_new_with_version(x);
  ei_x_encode_tuple_header(x, 3);
  ei_x_encode_atom(x, tag);
  ei_x_encode_tuple_header(x, 2);
  ei_x_encode_pid(x, ei_self(&c->cn->ec));
  ei_x_encode_ref(x, ref);
  ei_x_append_buf(x, req, req_len);
}

int rpc_tagged_call(st_conn_t *c, const char *name, const char *tag, const char *req,
                    int req_len, unsigned timeout_ms, ei_x_buff *reply) {
  pending_t *p = conn_pending_new(c, PENDING_CALL);
  if (p == NULL) return ST_ENOMEM;
  ei_x_buff x;
  encode_call(c, &x, tag, &p->ref, req, req_len);
  int rc = conn_send_reg(c, name, &x);
  ei_x_free(&x);
  if (rc == ST_OK) rc = conn_wait(c, p, timeout_ms);
  if (rc != ST_OK) {
    conn_pending_free(c, p);
    char what[300];
    snprintf(what, sizeof what, "call to %s", name);
    return wait_failed(c, rc, what, timeout_ms);
  }
  take_reply(c, p, reply);
  return ST_OK;
}

int rpc_gen_call(st_conn_t *c, const char *name, const char *req, int req_len,
                 unsigned timeout_ms, ei_x_buff *reply) {
  return rpc_tagged_call(c, name, "$gen_call", req, req_len, timeout_ms, reply);
}

int rpc_call(st_conn_t *c, const char *mod, const char *fun, const ei_x_buff *args,
             unsigned timeout_ms, ei_x_buff *reply) {
  ei_x_buff req;
  ei_x_new(&req);
  ei_x_encode_tuple_header(&req, 5);
  ei_x_encode_atom(&req, "call");
  ei_x_encode_atom(&req, mod);
  ei_x_encode_atom(&req, fun);
  ei_x_append_buf(&req, args->buff, args->index);
  ei_x_encode_atom(&req, "user"); /* rex's group leader for hidden C-nodes */
  ei_x_buff out;
  ei_x_new(&out);
  int rc = rpc_gen_call(c, "rex", req.buff, req.index, timeout_ms, &out);
  ei_x_free(&req);
  if (rc == ST_OK) {
    int index = 0, arity;
    char tag[MAXATOMLEN];
    if (ei_decode_tuple_header(out.buff, &index, &arity) == 0 && arity == 2 &&
        ei_decode_atom(out.buff, &index, tag) == 0 && strcmp(tag, "badrpc") == 0) {
      char *text = NULL;
      (void)term_print(out.buff, &index, &text);
      rc = cnode_fail(c->cn, ST_EAGENT, "%s:%s failed on %s: %s", mod, fun, c->node,
                      text != NULL ? text : "?");
      free(text);
    }
  }
  if (rc == ST_OK && reply != NULL) {
    ei_x_buff tmp = *reply;
    *reply = out;
    out = tmp;
  }
  ei_x_free(&out);
  return rc;
}

int agent_request(st_conn_t *c, const ei_x_buff *req, unsigned timeout_ms, event_fn on_event,
                  void *ud, ei_x_buff *reply) {
  if (!c->agent_started) return cnode_fail(c->cn, ST_EAGENT, "no agent runs on %s", c->node);
  pending_t *p = conn_pending_new(c, PENDING_AGENT);
  if (p == NULL) return ST_ENOMEM;
  p->on_event = on_event;
  p->ud = ud;
  ei_x_buff x;
  ei_x_new_with_version(&x);
  ei_x_encode_tuple_header(&x, 3);
  ei_x_encode_atom(&x, "st");
  ei_x_encode_ref(&x, &p->ref);
  ei_x_append_buf(&x, req->buff, req->index);
  int rc = send_pid(c, &c->agent, &x);
  ei_x_free(&x);
  if (rc == ST_OK) rc = conn_wait(c, p, timeout_ms);
  if (rc != ST_OK) {
    conn_pending_free(c, p);
    return wait_failed(c, rc, "agent request", timeout_ms);
  }
  /* {error, Reason}: the agent's way to refuse. */
  int index = 0, arity;
  char tag[MAXATOMLEN];
  if (ei_decode_tuple_header(p->reply.buff, &index, &arity) == 0 && arity == 2 &&
      ei_decode_atom(p->reply.buff, &index, tag) == 0 && strcmp(tag, "error") == 0) {
    char *text = NULL;
    (void)term_print(p->reply.buff, &index, &text);
    rc = cnode_fail(c->cn, ST_EAGENT, "%s", text != NULL ? text : "error");
    free(text);
  }
  take_reply(c, p, reply);
  return rc;
}

/* ------------------------------------------------------------ the agent */

/* The agent's beam file, whole (the caller frees it). */
static int read_beam(st_conn_t *c, char **data, long *len) {
  FILE *f = fopen(c->cn->agent_beam, "rb");
  bool ok = f != NULL && fseek(f, 0, SEEK_END) == 0 && (*len = ftell(f)) > 0 &&
            fseek(f, 0, SEEK_SET) == 0 && (*data = malloc((size_t)*len)) != NULL;
  if (ok && fread(*data, 1, (size_t)*len, f) != (size_t)*len) {
    free(*data);
    ok = false;
  }
  if (f != NULL) fclose(f);
  if (!ok)
    return cnode_fail(c->cn, ST_EAGENT, "cannot read the agent's beam file %s",
                      c->cn->agent_beam);
  return ST_OK;
}

/* Mod:Fun(Atom) through rex. */
static int rpc_call_atom(st_conn_t *c, const char *mod, const char *fun, const char *atom,
                         ei_x_buff *reply) {
  ei_x_buff args;
  ei_x_new(&args);
  ei_x_encode_list_header(&args, 1);
  ei_x_encode_atom(&args, atom);
  ei_x_encode_empty_list(&args);
  int rc = rpc_call(c, mod, fun, &args, 0, reply);
  ei_x_free(&args);
  return rc;
}

/* Whether the node already has the agent loaded (another session's):
 * code:is_loaded/1 says false, or {file, F}. */
static int agent_loaded(st_conn_t *c, bool *loaded) {
  ei_x_buff reply;
  ei_x_new(&reply);
  int rc = rpc_call_atom(c, "code", "is_loaded", AGENT_MODULE, &reply);
  int index = 0;
  if (rc == ST_OK) *loaded = term_expect_atom(reply.buff, &index, "false") != ST_OK;
  ei_x_free(&reply);
  return rc;
}

static int agent_load(st_conn_t *c) {
  char *beam = NULL;
  long len = 0;
  int rc = read_beam(c, &beam, &len);
  if (rc != ST_OK) return rc;
  ei_x_buff args, reply;
  ei_x_new(&args);
  ei_x_new(&reply);
  ei_x_encode_list_header(&args, 3);
  ei_x_encode_atom(&args, AGENT_MODULE);
  ei_x_encode_string(&args, AGENT_MODULE ".beam");
  ei_x_encode_binary(&args, beam, (int)len);
  ei_x_encode_empty_list(&args);
  free(beam);
  rc = rpc_call(c, "code", "load_binary", &args, 0, &reply);
  if (rc == ST_OK) {
    int index = 0;
    if (term_tuple(reply.buff, &index, 2) != ST_OK ||
        term_expect_atom(reply.buff, &index, "module") != ST_OK) {
      char *text = NULL;
      index = 0;
      (void)term_print(reply.buff, &index, &text);
      rc = cnode_fail(c->cn, ST_EAGENT, "the agent could not be loaded on %s: %s", c->node,
                      text != NULL ? text : "?");
      free(text);
    }
  }
  ei_x_free(&args);
  ei_x_free(&reply);
  return rc;
}

/* supertester_agent:start(Self, #{}); ST_EAGENT with "undef" in the error
 * when the module is not there. */
static int agent_spawn(st_conn_t *c) {
  ei_x_buff args, reply;
  int rc;
  ei_x_new(&args);
  ei_x_new(&reply);
  ei_x_encode_list_header(&args, 2);
  ei_x_encode_pid(&args, ei_self(&c->cn->ec));
  ei_x_encode_map_header(&args, 0);
  ei_x_encode_empty_list(&args);
  rc = rpc_call(c, AGENT_MODULE, "start", &args, 0, &reply);
  if (rc == ST_OK) {
    int index = 0;
    if (term_ok(reply.buff, &index) != ST_OK ||
        ei_decode_pid(reply.buff, &index, &c->agent) < 0)
      rc = cnode_fail(c->cn, ST_EAGENT, "the agent did not start on %s", c->node);
    else
      c->agent_started = true;
  }
  ei_x_free(&args);
  ei_x_free(&reply);
  return rc;
}

/* The agent another session loaded is used only when it is this build's:
 * its module_info(md5) against beam_lib:md5/1 of our beam, both asked of
 * the node (the MD5 covers the code, not the file). */
static int agent_same_build(st_conn_t *c) {
  char *beam = NULL;
  long len = 0;
  int rc = read_beam(c, &beam, &len);
  if (rc != ST_OK) return rc;
  ei_x_buff args, ours, theirs;
  ei_x_new(&args);
  ei_x_new(&ours);
  ei_x_new(&theirs);
  ei_x_encode_list_header(&args, 1);
  ei_x_encode_binary(&args, beam, (int)len);
  ei_x_encode_empty_list(&args);
  free(beam);
  rc = rpc_call(c, "beam_lib", "md5", &args, 0, &ours);
  if (rc == ST_OK) rc = rpc_call_atom(c, AGENT_MODULE, "module_info", "md5", &theirs);
  if (rc == ST_OK) {
    /* ours is {ok, {supertester_agent, Md5}}: compare Md5's bytes. */
    int index = 0, end;
    if (term_ok(ours.buff, &index) != ST_OK ||
        term_tuple(ours.buff, &index, 2) != ST_OK || ei_skip_term(ours.buff, &index) < 0 ||
        (end = index, ei_skip_term(ours.buff, &end)) < 0)
      rc = cnode_fail(c->cn, ST_EPROTO, "beam_lib:md5 answered in the wrong shape");
    else if (end - index != theirs.index ||
             memcmp(ours.buff + index, theirs.buff, (size_t)theirs.index) != 0)
      rc = cnode_fail(c->cn, ST_EAGENT,
                      "another build of supertester_agent is loaded on %s (by another "
                      "session still attached): detach it first",
                      c->node);
  }
  ei_x_free(&args);
  ei_x_free(&ours);
  ei_x_free(&theirs);
  return rc;
}

int agent_start(st_conn_t *c) {
  bool loaded = false;
  int rc = agent_loaded(c, &loaded);
  if (rc == ST_OK) rc = loaded ? agent_same_build(c) : agent_load(c);
  if (rc == ST_OK) rc = agent_spawn(c);
  /* Another session, the last, unloaded the module between our look and
   * our start: load it again, once. */
  if (rc == ST_EAGENT && loaded && strstr(c->cn->error, "undef") != NULL) {
    rc = agent_load(c);
    if (rc == ST_OK) rc = agent_spawn(c);
  }
  return rc;
}

/* The agent died without cleaning up (killed, say): unload the module from
 * outside, unless another session's agent still runs on the node. */
static int agent_remove_remains(st_conn_t *c) {
  st_term_t *v = NULL;
  int rc = st_cnode_eval(c,
                         "Agents = [P || P <- erlang:processes(),"
                         "  case erlang:process_info(P, initial_call) of"
                         "    {initial_call, {supertester_agent, _, _}} -> true;"
                         "    _ -> false end],"
                         "case Agents of"
                         "  [] -> code:delete(supertester_agent), code:purge(supertester_agent),"
                         "        unloaded;"
                         "  _ -> in_use end.",
                         &v);
  st_term_free(v);
  return rc;
}

int agent_stop(st_conn_t *c) {
  ei_x_buff req;
  ei_x_new(&req);
  ei_x_encode_atom(&req, "stop");
  int rc = agent_request(c, &req, 0, NULL, NULL, NULL);
  ei_x_free(&req);
  c->agent_started = false;
  if (rc != ST_OK) {
    if (c->lost) return rc;
    char why[sizeof c->cn->error];
    memcpy(why, c->cn->error, sizeof why);
    (void)agent_remove_remains(c);
    return cnode_fail(c->cn, ST_EAGENT, "the agent did not stop cleanly (%s); its remains were "
                      "removed", why);
  }
  /* The session deleted the module if it was the last; the purge that
   * removes it for good is ours, so that detach returns with nothing of the
   * agent left on the node. */
  return rpc_call_atom(c, "code", "purge", AGENT_MODULE, NULL);
}

/* ------------------------------------------------------------------ eval */

/* The second element of a {Tag, X, ...} reply, as the argument list [X]. */
static int second_as_args(st_conn_t *c, const ei_x_buff *reply, const char *tag, ei_x_buff *args,
                          const char *what) {
  int index = 0, arity;
  if (ei_decode_tuple_header(reply->buff, &index, &arity) < 0 || arity < 2 ||
      term_expect_atom(reply->buff, &index, tag) != ST_OK) {
    char *text = NULL;
    index = 0;
    (void)term_print(reply->buff, &index, &text);
    int rc = cnode_fail(c->cn, ST_EINVAL, "%s: %s", what, text != NULL ? text : "?");
    free(text);
    return rc;
  }
  int end = index;
  if (ei_skip_term(reply->buff, &end) < 0) return ST_EPROTO;
  args->index = 0;
  ei_x_encode_list_header(args, 1);
  ei_x_append_buf(args, reply->buff + index, end - index);
  ei_x_encode_empty_list(args);
  return ST_OK;
}

int st_cnode_eval(st_conn_t *c, const char *exprs, st_term_t **value) {
  if (c == NULL || exprs == NULL || value == NULL) return ST_EINVAL;
  ei_x_buff args, reply;
  ei_x_new(&args);
  ei_x_new(&reply);
  ei_x_encode_list_header(&args, 1);
  ei_x_encode_string(&args, exprs);
  ei_x_encode_empty_list(&args);
  /* erl_scan, erl_parse and erl_eval on the node: no agent needed. */
  int rc = rpc_call(c, "erl_scan", "string", &args, 0, &reply);
  if (rc == ST_OK) rc = second_as_args(c, &reply, "ok", &args, "cannot scan the expression");
  if (rc == ST_OK) rc = rpc_call(c, "erl_parse", "parse_exprs", &args, 0, &reply);
  if (rc == ST_OK) rc = second_as_args(c, &reply, "ok", &args, "cannot parse the expression");
  if (rc == ST_OK) {
    ei_x_buff with_bindings;
    ei_x_new(&with_bindings);
    /* [Exprs, []]: args holds [Exprs]; rebuild with the empty bindings. */
    int index = 0, n;
    ei_decode_list_header(args.buff, &index, &n);
    int end = index;
    ei_skip_term(args.buff, &end);
    ei_x_encode_list_header(&with_bindings, 2);
    ei_x_append_buf(&with_bindings, args.buff + index, end - index);
    ei_x_encode_empty_list(&with_bindings);
    ei_x_encode_empty_list(&with_bindings);
    rc = rpc_call(c, "erl_eval", "exprs", &with_bindings, 0, &reply);
    ei_x_free(&with_bindings);
  }
  if (rc == ST_OK) rc = second_as_args(c, &reply, "value", &args, "the expression failed");
  if (rc == ST_OK) {
    int index = 0, n;
    ei_decode_list_header(args.buff, &index, &n);
    rc = term_copy(args.buff, &index, value);
  }
  ei_x_free(&args);
  ei_x_free(&reply);
  if (rc == ST_OK) cnode_ok(c->cn);
  return rc;
}
