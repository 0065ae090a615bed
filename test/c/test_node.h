/* Real Erlang nodes for the Check suites: start the examples/factory
 * application on a fresh node, stop it, or kill it.
 *
 *   tnode_t node;
 *   char sname[64];
 *   tnode_unique_sname(sname, sizeof sname, "cnode");
 *   ck_assert_int_eq(tnode_start(&node, sname, "test_cookie", 20000), 0);
 *   ... attach to node.node ("cnode_1234_0@host") ...
 *   ck_assert_int_eq(tnode_stop(&node, 5000), 0);
 *
 * The node runs
 *   erl -sname SNAME -setcookie COOKIE -noshell -pa EBIN
 *       -env ERL_CRASH_DUMP_BYTES 0 -run factory_node main
 * with its standard input and output on pipes, standard error inherited (so
 * its failures show in the test output). EBIN is
 * <top>/_build/examples/factory/ebin, built by `make -C examples/factory`;
 * <top> is the ST_TOP_DIR macro when it is defined, else the first directory
 * holding rebar.config and examples/factory, from the working directory up.
 *
 * The node halts when its standard input closes. The write end is held by
 * the starting process only (close-on-exec), so a test that dies, however it
 * dies, takes its nodes with it; nodes never keep each other alive.
 *
 * Every wait is bounded by the caller's timeout, with poll(); nothing sleeps.
 * Failures are described on stderr, prefixed "tnode:". */
#ifndef SUPERTESTER_TEST_NODE_H
#define SUPERTESTER_TEST_NODE_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
  pid_t pid;     /* the erl process (beam.smp after exec); -1 when none */
  int stdin_fd;  /* write end of the node's stdin; -1 when closed */
  int stdout_fd; /* read end of the node's stdout; -1 when closed */
  char node[256]; /* "sname@host", from the node's ready line */
  char sname[64];
} tnode_t;

/* Starts a node named `sname` (letters, digits, '_' and '-', at most 63
 * bytes) and waits up to timeout_ms for its `ready NODE` line, which must
 * name "sname@...". Returns 0 with *t filled in, or -1 with t->pid == -1,
 * both fds -1, and the child (if any) killed and reaped. */
int tnode_start(tnode_t *t, const char *sname, const char *cookie, unsigned timeout_ms);

/* Closes the node's stdin, so it halts, and waits up to timeout_ms for its
 * stdout to reach end of file, then reaps it. A node still running at the
 * deadline is killed. Returns 0 when the node exited on its own with status
 * 0, -1 otherwise (killed, other status, or no node). Always leaves t->pid
 * == -1 and both fds closed. */
int tnode_stop(tnode_t *t, unsigned timeout_ms);

/* SIGKILLs the node and reaps it: a node dying mid-run. Returns 0 when it
 * died of that SIGKILL, -1 otherwise (including no node). Leaves t like
 * tnode_stop does. */
int tnode_kill(tnode_t *t);

/* Writes "<prefix>_<pid>_<n>" into buf, n counting calls in this process,
 * so tests in forked or parallel runners never collide. Returns buf, or
 * NULL (buf untouched) when it does not fit in cap bytes. */
const char *tnode_unique_sname(char *buf, size_t cap, const char *prefix);

#endif
