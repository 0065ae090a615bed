/* The test-node helper suite (test_node.h), against real erl nodes running
 * examples/factory (built by `make -C examples/factory`).
 *
 * - start/stop: the ready line names "<sname>@<short host>"; stop closes
 *   stdin, the node halts with status 0 and is reaped.
 * - kill: a node killed mid-run is reaped and reported as killed.
 * - timeouts: a start given no time fails and leaves nothing; a node that
 *   cannot halt (SIGSTOPped) is killed by stop at its deadline.
 * - refusals: a bad sname, a name already taken by a running node (erl
 *   exits before its ready line), and stop/kill on no node all fail cleanly.
 * - unique names: distinct, prefixed, NULL when the buffer is short. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "suites.h"
#include "test_node.h"

#define COOKIE "tnode_check_cookie"
#define START_MS 30000u
#define STOP_MS 10000u

/* The pid is gone and reaped: no zombie left for us to wait on. */
static void assert_reaped(pid_t pid) {
  int status;
  errno = 0;
  ck_assert_int_eq(waitpid(pid, &status, WNOHANG), -1);
  ck_assert_int_eq(errno, ECHILD);
}

static void short_host(char *buf, size_t cap) {
  ck_assert_int_eq(gethostname(buf, cap), 0);
  buf[cap - 1] = '\0';
  char *dot = strchr(buf, '.');
  if (dot != NULL) *dot = '\0';
}

START_TEST(test_start_stop) {
  char sname[64], expect[256], host[128];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "tnode"));
  short_host(host, sizeof host);
  snprintf(expect, sizeof expect, "%s@%s", sname, host);

  tnode_t t;
  ck_assert_int_eq(tnode_start(&t, sname, COOKIE, START_MS), 0);
  ck_assert_str_eq(t.node, expect);
  ck_assert_str_eq(t.sname, sname);
  ck_assert_int_gt(t.pid, 0);
  ck_assert_int_ge(t.stdin_fd, 3);
  ck_assert_int_ge(t.stdout_fd, 3);
  ck_assert_int_eq(kill(t.pid, 0), 0);

  pid_t pid = t.pid;
  ck_assert_int_eq(tnode_stop(&t, STOP_MS), 0);
  ck_assert_int_eq(t.pid, -1);
  ck_assert_int_eq(t.stdin_fd, -1);
  ck_assert_int_eq(t.stdout_fd, -1);
  assert_reaped(pid);
  /* Stopping twice is a harmless no-op. */
  ck_assert_int_eq(tnode_stop(&t, STOP_MS), -1);
}
END_TEST

START_TEST(test_kill) {
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "tnode"));
  tnode_t t;
  ck_assert_int_eq(tnode_start(&t, sname, COOKIE, START_MS), 0);
  pid_t pid = t.pid;
  ck_assert_int_eq(tnode_kill(&t), 0);
  ck_assert_int_eq(t.pid, -1);
  assert_reaped(pid);
  ck_assert_int_eq(tnode_kill(&t), -1);
}
END_TEST

START_TEST(test_name_taken) {
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "tnode"));
  tnode_t first, second;
  ck_assert_int_eq(tnode_start(&first, sname, COOKIE, START_MS), 0);
  /* erl refuses the name and exits: the start fails on end of file, well
   * before its timeout, and leaves nothing behind. */
  ck_assert_int_eq(tnode_start(&second, sname, COOKIE, START_MS), -1);
  ck_assert_int_eq(second.pid, -1);
  ck_assert_int_eq(second.stdin_fd, -1);
  ck_assert_int_eq(second.stdout_fd, -1);
  ck_assert_int_eq(tnode_stop(&first, STOP_MS), 0);
}
END_TEST

START_TEST(test_timeouts) {
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "tnode"));
  tnode_t t;
  /* No time at all: the node is spawned, then killed and reaped. */
  ck_assert_int_eq(tnode_start(&t, sname, COOKIE, 0), -1);
  ck_assert_int_eq(t.pid, -1);
  /* A stopped node cannot halt: stop kills it at the deadline. */
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "tnode"));
  ck_assert_int_eq(tnode_start(&t, sname, COOKIE, START_MS), 0);
  pid_t pid = t.pid;
  ck_assert_int_eq(kill(pid, SIGSTOP), 0);
  ck_assert_int_eq(tnode_stop(&t, 200), -1);
  ck_assert_int_eq(t.pid, -1);
  assert_reaped(pid);
}
END_TEST

START_TEST(test_refusals) {
  tnode_t t;
  ck_assert_int_eq(tnode_start(&t, "", COOKIE, 100), -1);
  ck_assert_int_eq(t.pid, -1);
  ck_assert_int_eq(tnode_start(&t, "a@b", COOKIE, 100), -1);
  ck_assert_int_eq(tnode_start(&t, "has space", COOKIE, 100), -1);
  ck_assert_int_eq(tnode_start(&t, "ok", "", 100), -1);
  ck_assert_int_eq(tnode_start(&t, NULL, COOKIE, 100), -1);
  ck_assert_int_eq(tnode_start(NULL, "ok", COOKIE, 100), -1);
  char long_name[80];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  ck_assert_int_eq(tnode_start(&t, long_name, COOKIE, 100), -1);
  /* A zeroed struct has pid 0: kill(0, ...) would hit our process group. */
  tnode_t zero;
  memset(&zero, 0, sizeof zero);
  ck_assert_int_eq(tnode_stop(&zero, 10), -1);
  ck_assert_int_eq(tnode_kill(&zero), -1);
  ck_assert_int_eq(tnode_stop(NULL, 10), -1);
  ck_assert_int_eq(tnode_kill(NULL), -1);
}
END_TEST

START_TEST(test_unique_sname) {
  char a[64], b[64], prefix[16];
  ck_assert_ptr_eq(tnode_unique_sname(a, sizeof a, "x"), a);
  ck_assert_ptr_eq(tnode_unique_sname(b, sizeof b, "x"), b);
  ck_assert_str_ne(a, b);
  snprintf(prefix, sizeof prefix, "x_%ld_", (long)getpid());
  ck_assert_int_eq(strncmp(a, prefix, strlen(prefix)), 0);
  char tiny[4] = "abc";
  ck_assert_ptr_null(tnode_unique_sname(tiny, sizeof tiny, "x"));
  ck_assert_str_eq(tiny, "abc");
}
END_TEST

Suite *test_node_suite(void) {
  Suite *s = suite_create("test_node");
  TCase *nodes = tcase_create("real nodes");
  tcase_set_timeout(nodes, 60);
  tcase_add_test(nodes, test_start_stop);
  tcase_add_test(nodes, test_kill);
  tcase_add_test(nodes, test_name_taken);
  tcase_add_test(nodes, test_timeouts);
  suite_add_tcase(s, nodes);
  TCase *args = tcase_create("arguments");
  tcase_add_test(args, test_refusals);
  tcase_add_test(args, test_unique_sname);
  suite_add_tcase(s, args);
  return s;
}
