/* The C-node against real nodes: each test starts its own node of
 * examples/factory (supervisors of all three strategies and a temporary
 * child), attaches, and checks through the public API of cnode.h:
 *
 * - calls, casts and cast_and_sync on a real gen_server, also without agent;
 * - the tree (strategies, intensities, types, restart kinds, nesting), by
 *   supervisor and by application;
 * - kill_child on one_for_one, rest_for_one and one_for_all supervisors and
 *   on a temporary child: who restarted equals what the strategy promises;
 *   wait_restart sees a restart caused by someone else;
 * - traces: message events arrive, max_events and the duration stop them,
 *   supervision events of a kill;
 * - clean detach: afterwards the node has no agent module (current or old),
 *   no agent process (so no monitor of one: monitors end with their owner),
 *   no trace flag on the processes traced;
 * - two nodes from one loop; a seeded chaos run replayed from its plan;
 * - failures: wrong cookie, no such node, no epmd, a node killed mid-run,
 *   the agent killed, another build of the agent loaded, stray and
 *   malformed messages, bad arguments.
 *
 * Checks on the node itself go through rex with the C-node's own
 * internals (cnode_priv.h), from a session without agent. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../c_src/cnode/cnode_priv.h"
#include "suites.h"
#include "test_node.h"

#define COOKIE "supertester_check_cookie"
#define START_MS 30000

static tnode_t node;
static st_cnode_t *cn;
static st_conn_t *conn;

static st_cnode_t *new_session(const char *cookie, bool no_agent) {
  st_cnode_opts_t o = {.cookie = cookie, .timeout_ms = 5000, .no_agent = no_agent,
                       .agent_beam = ST_AGENT_BEAM_PATH};
  st_cnode_t *s = NULL;
  ck_assert_int_eq(st_cnode_new(&o, &s), ST_OK);
  return s;
}

static void start_node(void) {
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "live"));
  ck_assert_msg(tnode_start(&node, sname, COOKIE, START_MS) == 0, "the factory node did not start");
}

/* A node and an attached session, for most tests. */
static void attach_setup(void) {
  start_node();
  cn = new_session(COOKIE, false);
  int rc = st_cnode_attach(cn, node.node, &conn);
  ck_assert_msg(rc == ST_OK, "attach: %s", st_cnode_error(cn));
}

static void attach_teardown(void) {
  if (conn != NULL) (void)st_cnode_detach(conn);
  conn = NULL;
  st_cnode_free(cn);
  cn = NULL;
  if (node.pid > 0) (void)tnode_stop(&node, 10000);
}

static st_term_t *parse(const char *text) {
  st_term_t *t = NULL;
  ck_assert_msg(st_term_parse(conn, text, &t) == ST_OK, "parse %s: %s", text, st_cnode_error(cn));
  return t;
}

/* The reply of a call, printed. */
static char *call_text(st_conn_t *c, const char *server, const char *request) {
  st_term_t *req = parse(request), *reply = NULL;
  int rc = st_cnode_call(c, server, req, 0, &reply);
  ck_assert_msg(rc == ST_OK, "call %s %s: %s", server, request, st_cnode_error(c->cn));
  char *text = st_term_format(reply);
  st_term_free(req);
  st_term_free(reply);
  return text;
}

/* An expression evaluated on the node (no agent needed), printed. */
static char *eval_text(st_conn_t *c, const char *expr) {
  st_term_t *v = NULL;
  int rc = st_cnode_eval(c, expr, &v);
  ck_assert_msg(rc == ST_OK, "eval %s: %s", expr, st_cnode_error(c->cn));
  char *text = st_term_format(v);
  st_term_free(v);
  return text;
}

/* expr evaluated on the node from a session of its own, without agent:
 * how a test looks at the node after its main session is gone. */
static char *probe_eval(const char *expr) {
  st_cnode_t *probe = new_session(COOKIE, true);
  st_conn_t *c = NULL;
  ck_assert_int_eq(st_cnode_attach(probe, node.node, &c), ST_OK);
  char *text = eval_text(c, expr);
  (void)st_cnode_detach(c);
  st_cnode_free(probe);
  return text;
}

/* Evaluates expr every 10 ms until it prints `want`, at most 5 s: for
 * what another OS process does, which no message of ours can wait on. */
static bool eval_until(st_conn_t *c, const char *expr, const char *want) {
  for (int i = 0; i < 500; i++) {
    char *got = eval_text(c, expr);
    bool same = strcmp(got, want) == 0;
    free(got);
    if (same) return true;
    st_cnode_pause(c->cn, 10);
  }
  return false;
}

#define TRACED(name) "erlang:trace_info(erlang:whereis(" name "), flags) =/= {flags, []}."
#define AGENT_GONE                                                                        \
  "{code:is_loaded(supertester_agent), erlang:check_old_code(supertester_agent),"         \
  " [P || P <- erlang:processes(), case erlang:process_info(P, initial_call) of"          \
  "   {initial_call, {supertester_agent, _, _}} -> true; _ -> false end]}."

/* In a forked process, with a session of its own (no agent): once `traced`
 * is traced on the node, evaluates `expr` there, or kills the node when
 * expr is NULL. Exits 0 when it did. For what another party does while
 * this process waits on the C-node. */
static pid_t fork_when_traced(const char *traced, const char *expr) {
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid > 0) return pid;
  st_cnode_t *s = new_session(COOKIE, true);
  st_conn_t *c = NULL;
  if (st_cnode_attach(s, node.node, &c) != ST_OK) _exit(1);
  char check[200];
  snprintf(check, sizeof check, "erlang:trace_info(erlang:whereis(%s), flags) =/= {flags, []}.",
           traced);
  if (!eval_until(c, check, "true")) _exit(2);
  if (expr == NULL) {
    kill(node.pid, SIGKILL);
    _exit(0);
  }
  st_term_t *v = NULL;
  int rc = st_cnode_eval(c, expr, &v);
  st_term_free(v);
  _exit(rc == ST_OK ? 0 : 3);
}

static void expect_exit_0(pid_t pid) {
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "helper process status %d", status);
}

#define KILL_COUNTER "erlang:exit(erlang:whereis(factory_counter), kill)."

/* ------------------------------------------------------------- calls */

START_TEST(test_call_cast_sync) {
  char *v = call_text(conn, "factory_counter", "{add, 5}");
  ck_assert_str_eq(v, "5");
  free(v);
  st_term_t *add2 = parse("{add, 2}");
  ck_assert_int_eq(st_cnode_cast(conn, "factory_counter", add2), ST_OK);
  ck_assert_int_eq(st_cnode_cast_and_sync(conn, "factory_counter", add2, 0), ST_OK);
  st_term_free(add2);
  v = call_text(conn, "factory_counter", "value");
  ck_assert_str_eq(v, "9");
  free(v);
  /* A name nobody has: the call times out, bounded. */
  st_term_t *ping = parse("ping"), *reply = NULL;
  ck_assert_int_eq(st_cnode_call(conn, "no_such_server", ping, 300, &reply), ST_ETIMEDOUT);
  ck_assert_ptr_null(reply);
  ck_assert_int_eq(st_cnode_call(conn, "", ping, 300, &reply), ST_EINVAL);
  st_term_free(ping);
}
END_TEST

START_TEST(test_parse_errors) {
  st_term_t *t = NULL;
  ck_assert_int_eq(st_term_parse(conn, "{unclosed", &t), ST_EINVAL);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "not an Erlang term"));
  ck_assert_int_eq(st_term_parse(conn, "[1, 2, three].", &t), ST_OK);
  char *s = st_term_format(t);
  ck_assert_str_eq(s, "[1, 2, three]");
  free(s);
  st_term_free(t);
}
END_TEST

START_TEST(test_no_agent_session_calls) {
  start_node();
  cn = new_session(COOKIE, true);
  ck_assert_int_eq(st_cnode_attach(cn, node.node, &conn), ST_OK);
  st_term_t *ping = NULL, *reply = NULL;
  ck_assert_int_eq(st_term_atom("ping", &ping), ST_OK);
  ck_assert_int_eq(st_cnode_call(conn, "factory_counter", ping, 0, &reply), ST_OK);
  char *s = st_term_format(reply);
  ck_assert_str_eq(s, "pong");
  free(s);
  st_term_free(reply);
  st_term_free(ping);
  /* Nothing was loaded. */
  s = eval_text(conn, "code:is_loaded(supertester_agent).");
  ck_assert_str_eq(s, "false");
  free(s);
  /* Agent requests say there is no agent. */
  st_sup_tree_t *tree = NULL;
  ck_assert_int_eq(st_cnode_tree(conn, "factory_sup", NULL, &tree), ST_EAGENT);
}
END_TEST

/* -------------------------------------------------------------- tree */

static const st_sup_child_t *child(const st_sup_tree_t *t, const char *id) {
  for (size_t i = 0; i < t->n_children; i++)
    if (strcmp(t->children[i].id, id) == 0) return &t->children[i];
  ck_abort_msg("no child %s", id);
  return NULL;
}

START_TEST(test_tree) {
  st_sup_tree_t *t = NULL;
  ck_assert_int_eq(st_cnode_tree(conn, "factory_sup", NULL, &t), ST_OK);
  ck_assert_str_eq(t->name, "factory_sup");
  ck_assert_str_eq(t->strategy, "one_for_one");
  ck_assert_int_eq(t->intensity, 50);
  ck_assert_int_eq(t->period, 5);
  ck_assert_uint_eq(t->n_children, 5);
  /* Start order. */
  ck_assert_str_eq(t->children[0].id, "counter");
  ck_assert_str_eq(t->children[4].id, "probe");
  ck_assert_str_eq(child(t, "probe")->restart, "temporary");
  ck_assert(!child(t, "counter")->supervisor);
  const st_sup_child_t *line = child(t, "line"), *pair = child(t, "pair");
  ck_assert(line->supervisor && line->sub != NULL);
  ck_assert_str_eq(line->sub->strategy, "rest_for_one");
  ck_assert_uint_eq(line->sub->n_children, 3);
  ck_assert_str_eq(line->sub->children[1].id, "welder");
  ck_assert(st_sup_child_running(&line->sub->children[1]));
  ck_assert_str_eq(pair->sub->strategy, "one_for_all");
  ck_assert_uint_eq(pair->sub->n_children, 2);
  /* A simple_one_for_one pool: its children are named by their pids. */
  const st_sup_child_t *pool = child(t, "pool");
  ck_assert_str_eq(pool->sub->strategy, "simple_one_for_one");
  ck_assert_uint_eq(pool->sub->n_children, 3);
  for (size_t i = 0; i < 3; i++)
    ck_assert_str_eq(pool->sub->children[i].id, pool->sub->children[i].pid);
  st_sup_tree_free(t);

  /* By application: the same top supervisor. */
  ck_assert_int_eq(st_cnode_tree(conn, NULL, "factory", &t), ST_OK);
  ck_assert_str_eq(t->name, "factory_sup");
  st_sup_tree_free(t);
  t = NULL;
  ck_assert_int_eq(st_cnode_tree(conn, NULL, "no_such_app", &t), ST_ENOTFOUND);
  ck_assert_int_eq(st_cnode_tree(conn, "factory_counter_nope", NULL, &t), ST_EAGENT);
  ck_assert_ptr_null(t);
}
END_TEST

/* -------------------------------------------------------- kill_child */

/* Kills `id` under `sup` and checks the set of restarted children. */
static void check_kill(const char *sup, const char *id, const char *const *restarted, size_t n) {
  st_term_t *idt = parse(id);
  st_kill_report_t *r = NULL;
  int rc = st_cnode_kill_child(conn, sup, idt, 5000, &r);
  ck_assert_msg(rc == ST_OK, "kill %s: %s", id, st_cnode_error(cn));
  ck_assert_str_eq(r->victim, id);
  ck_assert_msg(r->as_promised, "%s under %s: restarts differ from the strategy", id, sup);
  size_t got = 0;
  for (size_t i = 0; i < r->n_children; i++) {
    const st_kill_child_t *ch = &r->children[i];
    bool want = false;
    for (size_t j = 0; j < n; j++) want = want || strcmp(restarted[j], ch->id) == 0;
    ck_assert_msg(ch->restarted == want, "%s restarted=%d, wanted %d", ch->id, ch->restarted,
                  want);
    if (ch->restarted) {
      got++;
      ck_assert_str_ne(ch->before, ch->after);
    } else if (strcmp(ch->id, id) != 0) {
      ck_assert_str_eq(ch->before, ch->after);
    }
  }
  ck_assert_uint_eq(got, n);
  ck_assert_int_ge(r->elapsed_us, 0);
  st_kill_report_free(r);
  st_term_free(idt);
}

START_TEST(test_kill_child_strategies) {
  static const char *const one[] = {"counter"};
  check_kill("factory_sup", "counter", one, 1);
  static const char *const rest[] = {"welder", "painter"};
  check_kill("factory_line_sup", "welder", rest, 2);
  static const char *const all[] = {"left", "right"};
  check_kill("factory_pair_sup", "left", all, 2);
  /* A temporary child is not restarted, and none is promised. */
  check_kill("factory_sup", "probe", NULL, 0);
  /* A restarted counter forgot its state: it is a new process. */
  char *v = call_text(conn, "factory_counter", "value");
  ck_assert_str_eq(v, "0");
  free(v);
}
END_TEST

START_TEST(test_kill_dynamic_child) {
  /* A simple_one_for_one child, named by its pid as the tree gives it:
   * it alone restarts, and its new pid is reported. */
  st_sup_tree_t *t = NULL;
  ck_assert_int_eq(st_cnode_tree(conn, "factory_pool_sup", NULL, &t), ST_OK);
  ck_assert_uint_eq(t->n_children, 3);
  st_kill_report_t *r = NULL;
  int rc = st_cnode_kill_child(conn, "factory_pool_sup", t->children[1].id_term, 5000, &r);
  ck_assert_msg(rc == ST_OK, "kill: %s", st_cnode_error(cn));
  ck_assert_str_eq(r->victim, t->children[1].pid);
  ck_assert(r->as_promised);
  size_t restarted = 0;
  for (size_t i = 0; i < r->n_children; i++) {
    const st_kill_child_t *ch = &r->children[i];
    if (strcmp(ch->id, r->victim) == 0) {
      ck_assert(ch->restarted && ch->expected);
      ck_assert(ch->after[0] == '<');
      ck_assert_str_ne(ch->after, ch->before);
      restarted++;
    } else {
      ck_assert(!ch->restarted && !ch->expected);
      ck_assert_str_eq(ch->after, ch->before);
    }
  }
  ck_assert_uint_eq(restarted, 1);
  st_kill_report_free(r);
  st_sup_tree_free(t);
  /* And chaos on the pool: same seed, same plan, every kill as promised. */
  st_cnode_chaos_opts_t o = {.seed = 3, .kill_rate = 0.5, .duration_ms = 200,
                             .interval_ms = 20, .recovery_timeout_ms = 5000};
  st_cnode_chaos_report_t *c = NULL;
  ck_assert_int_eq(st_cnode_chaos(conn, "factory_pool_sup", &o, &c), ST_OK);
  ck_assert_uint_ge(c->n_kills, 1);
  ck_assert_uint_eq(c->as_promised, c->n_kills);
  ck_assert(c->recovered);
  st_cnode_chaos_report_free(c);
}
END_TEST

START_TEST(test_kill_child_errors) {
  st_term_t *id = parse("nobody");
  st_kill_report_t *r = NULL;
  ck_assert_int_eq(st_cnode_kill_child(conn, "factory_sup", id, 2000, &r), ST_ENOTFOUND);
  ck_assert_ptr_null(r);
  ck_assert_int_eq(st_cnode_kill_child(conn, "no_such_sup", id, 2000, &r), ST_EAGENT);
  ck_assert_int_eq(st_cnode_kill_child(conn, "", id, 2000, &r), ST_EINVAL);
  st_term_free(id);
  /* The probe is temporary: once killed it is gone, and killing it again
   * says so. */
  id = parse("probe");
  ck_assert_int_eq(st_cnode_kill_child(conn, "factory_sup", id, 2000, &r), ST_OK);
  st_kill_report_free(r);
  r = NULL;
  ck_assert_int_ne(st_cnode_kill_child(conn, "factory_sup", id, 2000, &r), ST_OK);
  ck_assert_ptr_null(r);
  st_term_free(id);
}
END_TEST

START_TEST(test_kill_and_process_info) {
  st_proc_sample_t sample;
  ck_assert_int_eq(st_cnode_process_info(conn, "factory_probe", &sample), ST_OK);
  ck_assert_uint_gt(sample.memory, 0);
  /* The probe is temporary: killed, it stays dead. */
  ck_assert_int_eq(st_cnode_kill(conn, "factory_probe", "kill"), ST_OK);
  ck_assert_int_eq(st_cnode_process_info(conn, "factory_probe", &sample), ST_ENOTFOUND);
  ck_assert_int_eq(st_cnode_kill(conn, "factory_probe", "kill"), ST_EAGENT);
  ck_assert_int_eq(st_cnode_kill(conn, "", "kill"), ST_EINVAL);
}
END_TEST

/* Called when the wait is armed: tells the killer process through its pipe. */
static void tell_killer(void *ud) {
  int fd = *(int *)ud;
  ck_assert_int_eq(write(fd, "k", 1), 1);
}

START_TEST(test_wait_restart) {
  /* Another OS process kills the counter once our wait is armed (told
   * through a pipe by the armed callback); the wait returns with the new
   * pid, without polling. */
  int go[2];
  ck_assert_int_eq(pipe(go), 0);
  pid_t killer = fork();
  ck_assert_int_ge(killer, 0);
  if (killer == 0) {
    char b;
    close(go[1]);
    st_cnode_t *s2 = new_session(COOKIE, true);
    st_conn_t *c2 = NULL;
    if (st_cnode_attach(s2, node.node, &c2) != ST_OK || read(go[0], &b, 1) != 1) _exit(1);
    st_term_t *v = NULL;
    _exit(st_cnode_eval(c2, KILL_COUNTER, &v) == ST_OK ? 0 : 2);
  }
  close(go[0]);
  st_term_t *id = parse("counter");
  st_restart_t r;
  int rc = st_cnode_wait_restart(conn, "factory_sup", id, 10000, tell_killer, &go[1], &r);
  ck_assert_msg(rc == ST_OK, "wait_restart: %s", st_cnode_error(cn));
  ck_assert_str_ne(r.old_pid, r.new_pid);
  ck_assert_int_ge(r.elapsed_us, 0);
  expect_exit_0(killer);
  close(go[1]);
  char *v = call_text(conn, "factory_counter", "value");
  ck_assert_str_eq(v, "0");
  free(v);
  /* Nobody kills it now: a bounded wait that says so. */
  ck_assert_int_eq(st_cnode_wait_restart(conn, "factory_sup", id, 200, NULL, NULL, &r),
                   ST_ETIMEDOUT);
  st_term_free(id);
  id = parse("nobody");
  ck_assert_int_eq(st_cnode_wait_restart(conn, "factory_sup", id, 200, NULL, NULL, &r),
                   ST_ENOTFOUND);
  st_term_free(id);
}
END_TEST

/* ------------------------------------------------------------ tracing */

typedef struct seen_s {
  int events;
  int receives;
  int child_exits, child_starts;
} seen_t;

static void count_event(void *ud, const st_trace_event_t *e) {
  seen_t *s = ud;
  s->events++;
  if (strcmp(e->what, "receive") == 0) s->receives++;
  if (strcmp(e->what, "child_exit") == 0) s->child_exits++;
  if (strcmp(e->what, "child_started") == 0) s->child_starts++;
  ck_assert_int_ge(e->us, 0);
  ck_assert_ptr_nonnull(e->detail);
}

START_TEST(test_trace_limits) {
  /* A second session makes traffic while the first traces: both on one
   * loop would need callbacks; a forked caller is simpler and real. */
  st_trace_result_t res;
  seen_t seen = {0};
  pid_t caller = fork();
  ck_assert_int_ge(caller, 0);
  if (caller == 0) {
    st_cnode_t *s = new_session(COOKIE, true);
    st_conn_t *c2 = NULL;
    if (st_cnode_attach(s, node.node, &c2) != ST_OK) _exit(1);
    st_term_t *ping = NULL;
    (void)st_term_atom("ping", &ping);
    for (int i = 0; i < 2000; i++) {
      st_term_t *reply = NULL;
      if (st_cnode_call(c2, "factory_counter", ping, 2000, &reply) != ST_OK) break;
      st_term_free(reply);
    }
    _exit(0);
  }
  int rc = st_cnode_trace(conn, "factory_counter", ST_TRACE_MESSAGES, 10, 10000, count_event,
                          &seen, &res);
  ck_assert_msg(rc == ST_OK, "trace: %s", st_cnode_error(cn));
  ck_assert_str_eq(res.why, "max_events");
  ck_assert_uint_eq(res.events, 10);
  ck_assert_int_eq(seen.events, 10);
  ck_assert_int_gt(seen.receives, 0);
  kill(caller, SIGKILL);
  /* Nothing happens on the probe: the duration ends it. */
  memset(&seen, 0, sizeof seen);
  rc = st_cnode_trace(conn, "factory_probe", ST_TRACE_MESSAGES, 10, 200, count_event, &seen,
                      &res);
  ck_assert_int_eq(rc, ST_OK);
  ck_assert_str_eq(res.why, "duration");
  ck_assert_uint_eq(res.events, 0);
}
END_TEST

START_TEST(test_trace_supervision) {
  /* Kill the counter from another OS process while this one traces its
   * supervisor: an exit and a start, and the trace ends at max_events. */
  pid_t killer = fork_when_traced("factory_sup", KILL_COUNTER);
  st_trace_result_t res;
  seen_t seen = {0};
  int rc = st_cnode_trace(conn, "factory_sup", ST_TRACE_SUPERVISION, 2, 10000, count_event,
                          &seen, &res);
  ck_assert_msg(rc == ST_OK, "trace: %s", st_cnode_error(cn));
  ck_assert_int_eq(seen.child_exits, 1);
  ck_assert_int_eq(seen.child_starts, 1);
  expect_exit_0(killer);
}
END_TEST

/* ------------------------------------------------------- clean detach */

START_TEST(test_detach_leaves_nothing) {
  /* Use the agent: a trace (flags on the counter), a kill (a trace on the
   * supervisor, a monitor), a tree. */
  st_trace_result_t res;
  seen_t seen = {0};
  ck_assert_int_eq(st_cnode_trace(conn, "factory_counter", ST_TRACE_MESSAGES, 5, 100,
                                  count_event, &seen, &res),
                   ST_OK);
  static const char *const rest[] = {"painter"};
  check_kill("factory_line_sup", "painter", rest, 1);
  ck_assert_int_eq(st_cnode_detach(conn), ST_OK);
  conn = NULL;

  char *s = probe_eval(AGENT_GONE);
  ck_assert_str_eq(s, "{false, false, []}");
  free(s);
  /* No trace flags left on what was traced. */
  s = probe_eval("{erlang:trace_info(erlang:whereis(factory_counter), flags),"
                 " erlang:trace_info(erlang:whereis(factory_line_sup), flags)}.");
  ck_assert_str_eq(s, "{{flags, []}, {flags, []}}");
  free(s);
}
END_TEST

START_TEST(test_connection_drop_unloads_agent) {
  /* Another OS process attaches, traces the counter, and dies without
   * detaching: the agent must remove its trace flags and itself. */
  start_node();
  pid_t child_pid = fork();
  ck_assert_int_ge(child_pid, 0);
  if (child_pid == 0) {
    st_cnode_t *s = new_session(COOKIE, false);
    st_conn_t *c2 = NULL;
    if (st_cnode_attach(s, node.node, &c2) != ST_OK) _exit(1);
    st_trace_result_t res;
    (void)st_cnode_trace(c2, "factory_counter", ST_TRACE_MESSAGES, 100000, 60000, NULL, NULL,
                         &res);
    _exit(0);
  }
  cn = new_session(COOKIE, true);
  ck_assert_int_eq(st_cnode_attach(cn, node.node, &conn), ST_OK);
  ck_assert_msg(eval_until(conn, TRACED("factory_counter"), "true"), "the trace never started");
  char *s = eval_text(conn, "code:is_loaded(supertester_agent) =/= false.");
  ck_assert_str_eq(s, "true");
  free(s);
  kill(child_pid, SIGKILL);
  int status;
  ck_assert_int_eq(waitpid(child_pid, &status, 0), child_pid);
  ck_assert_msg(eval_until(conn, AGENT_GONE, "{false, false, []}"), "the agent stayed");
  ck_assert(eval_until(conn, TRACED("factory_counter"), "false"));
}
END_TEST

/* --------------------------------------------------------------- chaos */

START_TEST(test_chaos_replays) {
  st_cnode_chaos_opts_t o = {.seed = 42, .kill_rate = 0.5, .duration_ms = 400,
                             .interval_ms = 50, .recovery_timeout_ms = 5000};
  st_cnode_chaos_report_t *a = NULL, *b = NULL;
  int rc = st_cnode_chaos(conn, "factory_line_sup", &o, &a);
  ck_assert_msg(rc == ST_OK, "chaos: %s", st_cnode_error(cn));
  ck_assert_uint_ge(a->n_kills, 1);
  ck_assert(!a->supervisor_crashed);
  ck_assert(a->recovered);
  ck_assert_uint_eq(a->as_promised, a->n_kills);
  ck_assert_str_eq(a->strategy, "rest_for_one");
  /* Replaying the plan kills the same children at the same times. */
  st_cnode_chaos_opts_t r = {.plan = a->plan, .recovery_timeout_ms = 5000};
  ck_assert_int_eq(st_cnode_chaos(conn, "factory_line_sup", &r, &b), ST_OK);
  ck_assert_str_eq(a->plan, b->plan);
  ck_assert_uint_eq(a->n_kills, b->n_kills);
  for (size_t i = 0; i < a->n_kills; i++) {
    ck_assert_str_eq(a->kills[i].victim, b->kills[i].victim);
    ck_assert_uint_eq(a->kills[i].at_ms, b->kills[i].at_ms);
  }
  st_cnode_chaos_report_free(b);
  /* A plan drawn for another tree is refused. */
  r.plan = a->plan;
  b = NULL;
  ck_assert_int_eq(st_cnode_chaos(conn, "factory_pair_sup", &r, &b), ST_EINVAL);
  ck_assert_ptr_null(b);
  st_cnode_chaos_report_free(a);
}
END_TEST

/* ------------------------------------------------------ several nodes */

START_TEST(test_two_nodes_one_loop) {
  tnode_t other;
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "other"));
  ck_assert_int_eq(tnode_start(&other, sname, COOKIE, START_MS), 0);
  st_conn_t *c2 = NULL;
  ck_assert_int_eq(st_cnode_attach(cn, other.node, &c2), ST_OK);
  char *a = call_text(conn, "factory_counter", "{add, 1}");
  char *b = call_text(c2, "factory_counter", "{add, 10}");
  ck_assert_str_eq(a, "1");
  ck_assert_str_eq(b, "10");
  free(a);
  free(b);
  st_partition_report_t pr;
  /* The two nodes have not talked yet: the partition connects them first. */
  char expr[400];
  snprintf(expr, sizeof expr, "lists:member('%s', nodes()).", other.node);
  char *connected = eval_text(conn, expr);
  ck_assert_str_eq(connected, "false");
  free(connected);
  int rc = st_cnode_partition(conn, other.node, 300, &pr);
  ck_assert_msg(rc == ST_OK, "partition: %s", st_cnode_error(cn));
  ck_assert_int_ge(pr.apart_us, 300000);
  /* Reconnected, as the report says. */
  connected = eval_text(conn, expr);
  ck_assert_str_eq(connected, "true");
  free(connected);
  bool alive = false;
  ck_assert_int_eq(st_cnode_service_alive(c2, "factory_counter", 2000, &alive), ST_OK);
  ck_assert(alive);
  ck_assert_int_eq(st_cnode_service_alive(conn, "no_such_service", 2000, &alive), ST_OK);
  ck_assert(!alive);
  ck_assert_int_eq(st_cnode_detach(c2), ST_OK);
  ck_assert_int_eq(tnode_stop(&other, 10000), 0);
}
END_TEST

/* ------------------------------------------------------------ failures */

START_TEST(test_other_agent_build_refused) {
  /* Another build of the agent is loaded (here: a stand-in compiled on the
   * node): attaching refuses to use it rather than speak to it blindly. */
  start_node();
  char *s = probe_eval("{ok, M, B} = compile:forms([{attribute, 1, module, supertester_agent},"
                       " {attribute, 2, export, [{start, 2}]},"
                       " {function, 3, start, 2, [{clause, 3, [{var, 3, '_'}, {var, 3, '_'}], [],"
                       " [{atom, 3, other}]}]}]),"
                       " code:load_binary(M, \"other.beam\", B).");
  ck_assert_str_eq(s, "{module, supertester_agent}");
  free(s);
  cn = new_session(COOKIE, false);
  ck_assert_int_eq(st_cnode_attach(cn, node.node, &conn), ST_EAGENT);
  ck_assert_ptr_null(conn);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "another build"));
}
END_TEST

START_TEST(test_missing_agent_beam) {
  start_node();
  st_cnode_opts_t o = {.cookie = COOKIE, .agent_beam = "/nonexistent/supertester_agent.beam"};
  ck_assert_int_eq(st_cnode_new(&o, &cn), ST_OK);
  ck_assert_int_eq(st_cnode_attach(cn, node.node, &conn), ST_EAGENT);
  ck_assert_ptr_null(conn);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "cannot read the agent's beam file"));
  char *s = probe_eval(AGENT_GONE);
  ck_assert_str_eq(s, "{false, false, []}");
  free(s);
}
END_TEST

START_TEST(test_wrong_cookie) {
  start_node();
  cn = new_session("not_the_cookie", false);
  ck_assert_int_eq(st_cnode_attach(cn, node.node, &conn), ST_EAUTH);
  ck_assert_ptr_null(conn);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "cookie"));
  ck_assert_ptr_null(strstr(st_cnode_error(cn), "not_the_cookie"));
}
END_TEST

START_TEST(test_no_such_node) {
  start_node(); /* epmd runs */
  cn = new_session(COOKIE, false);
  char name[300];
  snprintf(name, sizeof name, "nobody_here%s", strchr(node.node, '@'));
  ck_assert_int_eq(st_cnode_attach(cn, name, &conn), ST_ENONODE);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "nobody_here"));
  ck_assert_int_eq(st_cnode_attach(cn, "not a node", &conn), ST_EINVAL);
}
END_TEST

START_TEST(test_no_epmd) {
  /* Nothing listens on this port: epmd is absent for this session. */
  setenv("ERL_EPMD_PORT", "4", 1);
  cn = new_session(COOKIE, false);
  ck_assert_int_eq(st_cnode_attach(cn, "anything@localhost", &conn), ST_ENOEPMD);
  ck_assert_ptr_nonnull(strstr(st_cnode_error(cn), "epmd"));
}
END_TEST

START_TEST(test_node_killed_mid_run) {
  /* The node dies during a long trace: the wait ends at once with
   * ST_ENODELOST, not at the trace's 60 s. */
  pid_t killer = fork_when_traced("factory_counter", NULL);
  st_trace_result_t res;
  int rc = st_cnode_trace(conn, "factory_counter", ST_TRACE_MESSAGES, 1000, 60000, NULL, NULL,
                          &res);
  ck_assert_int_eq(rc, ST_ENODELOST);
  ck_assert(st_conn_lost(conn));
  st_term_t *ping = NULL, *reply = NULL;
  ck_assert_int_eq(st_term_atom("ping", &ping), ST_OK);
  ck_assert_int_eq(st_cnode_call(conn, "factory_counter", ping, 0, &reply), ST_ENODELOST);
  st_term_free(ping);
  ck_assert_int_eq(st_cnode_detach(conn), ST_ENODELOST);
  conn = NULL;
  expect_exit_0(killer);
  tnode_kill(&node);
}
END_TEST

START_TEST(test_agent_killed) {
  /* Someone kills the agent: requests fail with a bounded wait, and the
   * session still detaches. */
  ei_x_buff args;
  ei_x_new(&args);
  ei_x_encode_list_header(&args, 2);
  ei_x_encode_pid(&args, &conn->agent);
  ei_x_encode_atom(&args, "kill");
  ei_x_encode_empty_list(&args);
  ck_assert_int_eq(rpc_call(conn, "erlang", "exit", &args, 0, NULL), ST_OK);
  ei_x_free(&args);
  st_sup_tree_t *t = NULL;
  conn->cn->timeout_ms = 500;
  ck_assert_int_eq(st_cnode_tree(conn, "factory_sup", NULL, &t), ST_ETIMEDOUT);
  ck_assert_ptr_null(t);
  /* Detach reports it, and removes what the dead agent left. */
  ck_assert_int_eq(st_cnode_detach(conn), ST_EAGENT);
  conn = NULL;
  char *s = probe_eval(AGENT_GONE);
  ck_assert_str_eq(s, "{false, false, []}");
  free(s);
}
END_TEST

START_TEST(test_stray_messages_ignored) {
  /* Messages of every wrong shape, sent to this node by the node itself
   * (rex runs erlang:send for us): counted, dropped, no harm. */
  static const char *const junk[] = {"hello", "{1, 2}", "{st_reply, not_a_ref, x}",
                                     "{st_event, make_ref, x}", "[1, 2, 3]", "<<1, 2>>"};
  uint64_t before = st_conn_unexpected(conn);
  for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
    st_term_t *t = parse(junk[i]);
    ei_x_buff args;
    ei_x_new(&args);
    ei_x_encode_list_header(&args, 2);
    ei_x_encode_pid(&args, ei_self(&cn->ec));
    ei_x_append_buf(&args, t->bytes, t->len);
    ei_x_encode_empty_list(&args);
    ck_assert_int_eq(rpc_call(conn, "erlang", "send", &args, 0, NULL), ST_OK);
    ei_x_free(&args);
    st_term_free(t);
  }
  /* The rex replies come after the sends (same sender, in order). */
  ck_assert_uint_eq(st_conn_unexpected(conn) - before, sizeof junk / sizeof junk[0]);
  char *v = call_text(conn, "factory_counter", "ping");
  ck_assert_str_eq(v, "pong");
  free(v);
}
END_TEST

START_TEST(test_bad_arguments) {
  st_cnode_t *s = NULL;
  st_cnode_opts_t none = {0};
  ck_assert_int_eq(st_cnode_new(&none, &s), ST_EINVAL);
  ck_assert_int_eq(st_cnode_new(NULL, &s), ST_EINVAL);
  s = new_session(COOKIE, false);
  st_conn_t *c = NULL;
  ck_assert_int_eq(st_cnode_attach(s, NULL, &c), ST_EINVAL);
  ck_assert_int_eq(st_cnode_attach(s, "a@b@c", &c), ST_EINVAL);
  ck_assert_int_eq(st_cnode_detach(NULL), ST_EINVAL);
  st_cnode_free(s);
  st_cnode_free(NULL);
}
END_TEST

Suite *cnode_live_suite(void) {
  Suite *s = suite_create("cnode_live");
  TCase *attached = tcase_create("attached");
  tcase_add_checked_fixture(attached, attach_setup, attach_teardown);
  tcase_set_timeout(attached, 120);
  tcase_add_test(attached, test_call_cast_sync);
  tcase_add_test(attached, test_parse_errors);
  tcase_add_test(attached, test_tree);
  tcase_add_test(attached, test_kill_child_strategies);
  tcase_add_test(attached, test_kill_dynamic_child);
  tcase_add_test(attached, test_kill_child_errors);
  tcase_add_test(attached, test_kill_and_process_info);
  tcase_add_test(attached, test_wait_restart);
  tcase_add_test(attached, test_trace_limits);
  tcase_add_test(attached, test_trace_supervision);
  tcase_add_test(attached, test_detach_leaves_nothing);
  tcase_add_test(attached, test_chaos_replays);
  tcase_add_test(attached, test_two_nodes_one_loop);
  tcase_add_test(attached, test_node_killed_mid_run);
  tcase_add_test(attached, test_agent_killed);
  tcase_add_test(attached, test_stray_messages_ignored);
  suite_add_tcase(s, attached);

  TCase *alone = tcase_create("alone");
  tcase_add_checked_fixture(alone, NULL, attach_teardown);
  tcase_set_timeout(alone, 120);
  tcase_add_test(alone, test_no_agent_session_calls);
  tcase_add_test(alone, test_connection_drop_unloads_agent);
  tcase_add_test(alone, test_wrong_cookie);
  tcase_add_test(alone, test_missing_agent_beam);
  tcase_add_test(alone, test_other_agent_build_refused);
  tcase_add_test(alone, test_no_such_node);
  tcase_add_test(alone, test_no_epmd);
  tcase_add_test(alone, test_bad_arguments);
  suite_add_tcase(s, alone);
  return s;
}
