/* Supervisors on an attached node: their tree, and killing a child with
 * the check of who restarted against what the strategy promises. The agent
 * does the work there (AGENT_PROTOCOL.md); this file reads its answers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnode_priv.h"

/* A pid as its own node prints it (<0.N.S>), or the atom that stands in
 * for one (restarting, undefined). */
static int read_pid_text(const char *buf, int *index, char **out) {
  int type, size;
  if (ei_get_type(buf, index, &type, &size) < 0) return ST_EPROTO;
  if (type == ERL_PID_EXT || type == ERL_NEW_PID_EXT) {
    erlang_pid pid;
    if (ei_decode_pid(buf, index, &pid) < 0) return ST_EPROTO;
    char text[48];
    snprintf(text, sizeof text, "<0.%u.%u>", pid.num, pid.serial);
    *out = strdup(text);
    return *out != NULL ? ST_OK : ST_ENOMEM;
  }
  char atom[MAXATOMLEN_UTF8];
  if (term_atom(buf, index, atom, sizeof atom) != ST_OK) return ST_EPROTO;
  *out = strdup(atom);
  return *out != NULL ? ST_OK : ST_ENOMEM;
}

static bool is_pid_text(const char *s) { return s != NULL && s[0] == '<'; }

/* A child id as text: a pid as its node prints it, anything else as Erlang
 * prints it. */
static int read_id_text(const char *buf, int *index, char **out) {
  int type, size;
  if (ei_get_type(buf, index, &type, &size) < 0) return ST_EPROTO;
  if (type == ERL_PID_EXT || type == ERL_NEW_PID_EXT) return read_pid_text(buf, index, out);
  return term_print(buf, index, out);
}

/* {Id, PidOrStatus} or {Id, PidOrStatus, ...} at *index: the id's text and
 * (when term is not NULL) the id itself. Children of dynamic supervisors
 * (simple_one_for_one, DynamicSupervisor) have the id `undefined`: their
 * pid stands for it, as the agent takes it in kill_child. Leaves *index at
 * the pid. */
static int read_child_id(const char *buf, int *index, char **text, st_term_t **term) {
  int id_at = *index, pid_at = *index;
  if (ei_skip_term(buf, &pid_at) < 0) return ST_EPROTO;
  int type, size, from = id_at;
  bool dynamic = term_expect_atom(buf, &from, "undefined") == ST_OK &&
                 ei_get_type(buf, &pid_at, &type, &size) == 0 &&
                 (type == ERL_PID_EXT || type == ERL_NEW_PID_EXT);
  int at = dynamic ? pid_at : id_at;
  if (read_id_text(buf, &at, text) != ST_OK) return ST_EPROTO;
  at = dynamic ? pid_at : id_at;
  if (term != NULL && term_copy(buf, &at, term) != ST_OK) return ST_EPROTO;
  *index = pid_at;
  return ST_OK;
}

/* Encodes `name` as the request's supervisor: a registered name. */
static int encode_sup(st_conn_t *c, ei_x_buff *x, const char *sup) {
  if (term_encode_name(x, sup) != ST_OK)
    return cnode_fail(c->cn, ST_EINVAL, "'%s' is not a registered name", sup ? sup : "");
  return ST_OK;
}

/* ----------------------------------------------------------------- tree */

static int read_tree(const char *buf, int *index, int depth, st_sup_tree_t **out);

static void free_children(st_sup_child_t *ch, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(ch[i].id);
    st_term_free(ch[i].id_term);
    free(ch[i].pid);
    st_sup_tree_free(ch[i].sub);
  }
  free(ch);
}

void st_sup_tree_free(st_sup_tree_t *t) {
  if (t == NULL) return;
  free(t->name);
  free(t->pid);
  free_children(t->children, t->n_children);
  free(t);
}

/* {Id, PidOrStatus, Type, Restart, Sub} */
static int read_child(const char *buf, int *index, int depth, st_sup_child_t *ch) {
  char type[MAXATOMLEN_UTF8];
  int at = *index;
  if (term_tuple(buf, &at, 5) != ST_OK ||
      read_child_id(buf, &at, &ch->id, &ch->id_term) != ST_OK ||
      read_pid_text(buf, &at, &ch->pid) != ST_OK ||
      term_atom(buf, &at, type, sizeof type) != ST_OK ||
      term_atom(buf, &at, ch->restart, sizeof ch->restart) != ST_OK)
    return ST_EPROTO;
  ch->supervisor = strcmp(type, "supervisor") == 0;
  if (term_expect_atom(buf, &at, "none") != ST_OK &&
      read_tree(buf, &at, depth + 1, &ch->sub) != ST_OK)
    return ST_EPROTO;
  *index = at;
  return ST_OK;
}

/* {supervisor, RegName | undefined, Pid, Strategy, Intensity, Period, Children} */
static int read_tree(const char *buf, int *index, int depth, st_sup_tree_t **out) {
  if (depth > 16) return ST_EPROTO;
  st_sup_tree_t *t = calloc(1, sizeof *t);
  if (t == NULL) return ST_ENOMEM;
  char name[MAXATOMLEN_UTF8];
  long long intensity, period;
  int n, rc = ST_EPROTO;
  if (term_tuple(buf, index, 7) != ST_OK || term_expect_atom(buf, index, "supervisor") != ST_OK ||
      term_atom(buf, index, name, sizeof name) != ST_OK ||
      read_pid_text(buf, index, &t->pid) != ST_OK ||
      term_atom(buf, index, t->strategy, sizeof t->strategy) != ST_OK ||
      term_long(buf, index, &intensity) != ST_OK || term_long(buf, index, &period) != ST_OK ||
      ei_decode_list_header(buf, index, &n) < 0 || n < 0)
    goto fail;
  t->name = strcmp(name, "undefined") != 0 ? strdup(name) : NULL;
  t->intensity = (long)intensity;
  t->period = (long)period;
  if (n > 0) {
    t->children = calloc((size_t)n, sizeof *t->children);
    if (t->children == NULL) {
      rc = ST_ENOMEM;
      goto fail;
    }
    for (int i = 0; i < n; i++) {
      t->n_children = (size_t)i + 1;
      if (read_child(buf, index, depth, &t->children[i]) != ST_OK) goto fail;
    }
    if (ei_decode_list_header(buf, index, &n) < 0 || n != 0) goto fail;
  }
  *out = t;
  return ST_OK;
fail:
  st_sup_tree_free(t);
  return rc;
}

int st_cnode_tree(st_conn_t *c, const char *sup, const char *app, st_sup_tree_t **out) {
  if (c == NULL || out == NULL || (sup == NULL && app == NULL)) return ST_EINVAL;
  ei_x_buff req, reply;
  ei_x_new(&req);
  ei_x_new(&reply);
  int rc = ST_OK;
  if (sup != NULL) {
    ei_x_encode_tuple_header(&req, 3);
    ei_x_encode_atom(&req, "tree");
    rc = encode_sup(c, &req, sup);
  } else {
    /* The application's top supervisor, by pid: first ask which it is. */
    ei_x_buff top;
    ei_x_new(&top);
    ei_x_encode_tuple_header(&top, 2);
    ei_x_encode_atom(&top, "top_supervisor");
    rc = term_encode_name(&top, app);
    if (rc == ST_OK) rc = agent_request(c, &top, 0, NULL, NULL, &reply);
    if (rc == ST_EAGENT)
      rc = cnode_fail(c->cn, ST_ENOTFOUND, "application %s is not running on %s", app, c->node);
    int index = 0;
    erlang_pid pid;
    if (rc == ST_OK && (term_ok(reply.buff, &index) != ST_OK ||
                        ei_decode_pid(reply.buff, &index, &pid) < 0))
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's top_supervisor reply has the wrong shape");
    ei_x_free(&top);
    if (rc == ST_OK) {
      ei_x_encode_tuple_header(&req, 3);
      ei_x_encode_atom(&req, "tree");
      ei_x_encode_pid(&req, &pid);
    }
  }
  if (rc == ST_OK) {
    ei_x_encode_long(&req, (long)c->cn->timeout_ms);
    rc = agent_request(c, &req, 0, NULL, NULL, &reply);
  }
  if (rc == ST_OK) {
    int index = 0;
    if (term_ok(reply.buff, &index) != ST_OK ||
        read_tree(reply.buff, &index, 0, out) != ST_OK)
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's tree reply has the wrong shape");
  }
  if (rc == ST_OK) cnode_ok(c->cn);
  ei_x_free(&req);
  ei_x_free(&reply);
  return rc;
}

/* ----------------------------------------------------------- kill_child */

void st_kill_report_free(st_kill_report_t *r) {
  if (r == NULL) return;
  free(r->victim);
  for (size_t i = 0; i < r->n_children; i++) {
    free(r->children[i].id);
    free(r->children[i].before);
    free(r->children[i].after);
  }
  free(r->children);
  free(r);
}

/* Reads [{Id, PidOrStatus}] into the report's children: the first list
 * creates them, the second (same ids, same order) fills `after`. */
static int read_pid_list(const char *buf, int *index, st_kill_report_t *r, bool after) {
  int n;
  if (ei_decode_list_header(buf, index, &n) < 0 || n < 0) return ST_EPROTO;
  if (!after) {
    r->children = calloc(n > 0 ? (size_t)n : 1, sizeof *r->children);
    if (r->children == NULL) return ST_ENOMEM;
    r->n_children = (size_t)n;
  }
  for (int i = 0; i < n; i++) {
    char *id = NULL, *pid = NULL;
    if (term_tuple(buf, index, 2) != ST_OK || read_child_id(buf, index, &id, NULL) != ST_OK ||
        read_pid_text(buf, index, &pid) != ST_OK) {
      free(id);
      return ST_EPROTO;
    }
    st_kill_child_t *ch = NULL;
    if (!after) {
      ch = &r->children[i];
      ch->id = id;
      ch->before = pid;
      continue;
    }
    for (size_t j = 0; j < r->n_children && ch == NULL; j++)
      if (strcmp(r->children[j].id, id) == 0) ch = &r->children[j];
    free(id);
    if (ch == NULL) {
      /* Not there before: a dynamic supervisor's restarted child, whose pid
       * is its id. It is the `after' of the restarted child without one. */
      for (size_t j = 0; j < r->n_children && ch == NULL; j++)
        if (r->children[j].restarted && r->children[j].after == NULL) ch = &r->children[j];
      if (ch == NULL) {
        free(pid);
        continue;
      }
    }
    free(ch->after);
    ch->after = pid;
  }
  if (n > 0 && (ei_decode_list_header(buf, index, &n) < 0 || n != 0)) return ST_EPROTO;
  return ST_OK;
}

/* Marks the children named in a list of ids. */
static int read_id_marks(const char *buf, int *index, st_kill_report_t *r, bool expected) {
  int n;
  if (ei_decode_list_header(buf, index, &n) < 0 || n < 0) return ST_EPROTO;
  for (int i = 0; i < n; i++) {
    char *id = NULL;
    if (read_id_text(buf, index, &id) != ST_OK) return ST_EPROTO;
    for (size_t j = 0; j < r->n_children; j++) {
      if (strcmp(r->children[j].id, id) != 0) continue;
      if (expected) r->children[j].expected = true;
      else r->children[j].restarted = true;
    }
    free(id);
  }
  if (n > 0 && (ei_decode_list_header(buf, index, &n) < 0 || n != 0)) return ST_EPROTO;
  return ST_OK;
}

/* {kill_report, Id, OldPid, Strategy, Before, After, Restarted, Expected, ElapsedUs} */
static int read_kill_report(const char *buf, int *index, st_kill_report_t **out) {
  st_kill_report_t *r = calloc(1, sizeof *r);
  if (r == NULL) return ST_ENOMEM;
  char *old_pid = NULL;
  long long elapsed;
  int rc = ST_EPROTO;
  int after_at = 0;
  if (term_tuple(buf, index, 9) == ST_OK && term_expect_atom(buf, index, "kill_report") == ST_OK &&
      read_id_text(buf, index, &r->victim) == ST_OK &&
      read_pid_text(buf, index, &old_pid) == ST_OK &&
      term_atom(buf, index, r->strategy, sizeof r->strategy) == ST_OK &&
      read_pid_list(buf, index, r, false) == ST_OK &&
      /* After is read once the marks are known (see read_pid_list). */
      (after_at = *index, ei_skip_term(buf, index)) == 0 &&
      read_id_marks(buf, index, r, false) == ST_OK && read_id_marks(buf, index, r, true) == ST_OK &&
      term_long(buf, index, &elapsed) == ST_OK && read_pid_list(buf, &after_at, r, true) == ST_OK) {
    r->elapsed_us = elapsed;
    r->as_promised = true;
    for (size_t i = 0; i < r->n_children; i++) {
      if (r->children[i].after == NULL) r->children[i].after = strdup("gone");
      if (r->children[i].restarted != r->children[i].expected) r->as_promised = false;
    }
    rc = ST_OK;
  }
  free(old_pid);
  if (rc != ST_OK) {
    st_kill_report_free(r);
    return rc;
  }
  *out = r;
  return ST_OK;
}

/* {Verb, Sup, Id, TimeoutMs} to the agent: kill_child and wait_restart. The
 * agent's own bound comes first; ours leaves room for its reply. */
static int child_request(st_conn_t *c, const char *verb, const char *sup, const st_term_t *id,
                         unsigned timeout_ms, event_fn on_event, void *ud, ei_x_buff *reply) {
  unsigned tmo = cnode_timeout(c->cn, timeout_ms);
  ei_x_buff req;
  ei_x_new(&req);
  ei_x_encode_tuple_header(&req, 4);
  ei_x_encode_atom(&req, verb);
  int rc = encode_sup(c, &req, sup);
  if (rc == ST_OK) {
    ei_x_append_buf(&req, id->bytes, id->len);
    ei_x_encode_long(&req, (long)tmo);
    rc = agent_request(c, &req, tmo + 1000, on_event, ud, reply);
  }
  ei_x_free(&req);
  if (rc == ST_EAGENT && strstr(c->cn->error, "no_child") != NULL) rc = ST_ENOTFOUND;
  return rc;
}

int st_cnode_kill_child(st_conn_t *c, const char *sup, const st_term_t *id, unsigned timeout_ms,
                        st_kill_report_t **out) {
  if (c == NULL || id == NULL || out == NULL) return ST_EINVAL;
  ei_x_buff reply;
  ei_x_new(&reply);
  int rc = child_request(c, "kill_child", sup, id, timeout_ms, NULL, NULL, &reply);
  if (rc == ST_OK) {
    int index = 0;
    if (term_ok(reply.buff, &index) != ST_OK ||
        read_kill_report(reply.buff, &index, out) != ST_OK)
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's kill report has the wrong shape");
    else
      cnode_ok(c->cn);
  }
  ei_x_free(&reply);
  return rc;
}

/* ----------------------------------------------------------- wait_restart */

static int copy_pid_text(const char *buf, int *index, char *out, size_t cap) {
  char *text = NULL;
  if (read_pid_text(buf, index, &text) != ST_OK) return ST_EPROTO;
  snprintf(out, cap, "%s", text);
  free(text);
  return ST_OK;
}

typedef struct armed_s {
  void (*fn)(void *ud);
  void *ud;
} armed_t;

/* The agent's `armed' event. */
static void on_armed_event(void *ud, const char *buf, int index) {
  armed_t *a = ud;
  if (a->fn != NULL && term_expect_atom(buf, &index, "armed") == ST_OK) a->fn(a->ud);
}

int st_cnode_wait_restart(st_conn_t *c, const char *sup, const st_term_t *id,
                          unsigned timeout_ms, void (*on_armed)(void *ud), void *ud,
                          st_restart_t *out) {
  if (c == NULL || id == NULL || out == NULL) return ST_EINVAL;
  ei_x_buff reply;
  ei_x_new(&reply);
  armed_t armed = {on_armed, ud};
  int rc = child_request(c, "wait_restart", sup, id, timeout_ms, on_armed_event, &armed, &reply);
  if (rc == ST_EAGENT && strstr(c->cn->error, "timeout") != NULL) rc = ST_ETIMEDOUT;
  if (rc == ST_OK) {
    int index = 0;
    long long us;
    if (term_ok(reply.buff, &index) != ST_OK ||
        term_tuple(reply.buff, &index, 5) != ST_OK ||
        term_expect_atom(reply.buff, &index, "restarted") != ST_OK ||
        ei_skip_term(reply.buff, &index) < 0 ||
        copy_pid_text(reply.buff, &index, out->old_pid, sizeof out->old_pid) != ST_OK ||
        copy_pid_text(reply.buff, &index, out->new_pid, sizeof out->new_pid) != ST_OK ||
        term_long(reply.buff, &index, &us) != ST_OK) {
      rc = cnode_fail(c->cn, ST_EPROTO, "the agent's wait_restart reply has the wrong shape");
    } else {
      out->elapsed_us = us;
      cnode_ok(c->cn);
    }
  }
  ei_x_free(&reply);
  return rc;
}

int st_cnode_kill(st_conn_t *c, const char *target, const char *reason) {
  if (c == NULL) return ST_EINVAL;
  ei_x_buff req;
  ei_x_new(&req);
  ei_x_encode_tuple_header(&req, 3);
  ei_x_encode_atom(&req, "kill");
  int rc = term_encode_name(&req, target);
  if (rc == ST_OK) rc = term_encode_name(&req, reason != NULL ? reason : "kill");
  if (rc != ST_OK) rc = cnode_fail(c->cn, ST_EINVAL, "kill needs a registered name and a reason");
  if (rc == ST_OK) rc = agent_request(c, &req, 0, NULL, NULL, NULL);
  if (rc == ST_OK) cnode_ok(c->cn);
  ei_x_free(&req);
  return rc;
}

/* Whether a child's pid is a live pid (for callers checking recovery). */
bool st_sup_child_running(const st_sup_child_t *ch) { return is_pid_text(ch->pid); }
