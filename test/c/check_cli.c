/* The CLI, priv/bin/supertester (the sanitized build's own under
 * check-asan), run as a user runs it against a real factory node: its
 * output, its JSON envelope and its exit codes.
 *
 * - tree by application, restart-check on rest_for_one, chaos with a seed
 *   and its replay by plan, bench, watch, trace: exit 0 and the facts;
 * - a supervisor that exceeds its restart intensity under chaos: exit 1;
 * - usage errors (no node, unknown command or option, bad values): exit 2;
 * - wrong cookie, no such node, no epmd, no cookie at all: exit 3, and the
 *   cookie never printed;
 * - partition between two nodes, services answering on both after: 0,
 *   a service that does not: exit 1;
 * - the node killed during a trace: exit 4, promptly. */
#define _GNU_SOURCE /* pipe2 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "suites.h"
#include "supertester/cnode.h"
#include "test_node.h"

#define COOKIE "supertester_cli_cookie"

extern char **environ;

static tnode_t node;

typedef struct run_s {
  int status; /* exit code, or 128 + signal */
  char out[65536];
} run_t;

/* Runs the CLI with args (NULL-terminated) and `cookie` in the
 * environment (NULL: none), capturing stdout and stderr; kills it past
 * timeout_ms (a hang fails the test rather than the suite). */
static void run_cli(run_t *r, const char *cookie, unsigned timeout_ms, const char *const *args) {
  char *argv[32];
  int n = 0;
  argv[n++] = (char *)ST_CLI_PATH;
  for (; args[n - 1] != NULL && n < 31; n++) argv[n] = (char *)args[n - 1];
  argv[n] = NULL;
  char *envp[64];
  int e = 0;
  char cookie_var[128];
  for (char **p = environ; *p != NULL && e < 60; p++)
    if (strncmp(*p, "SUPERTESTER_COOKIE=", 19) != 0 && strncmp(*p, "HOME=", 5) != 0)
      envp[e++] = *p;
  if (cookie != NULL) {
    snprintf(cookie_var, sizeof cookie_var, "SUPERTESTER_COOKIE=%s", cookie);
    envp[e++] = cookie_var;
  }
  envp[e++] = (char *)"HOME=/nonexistent"; /* no ~/.erlang.cookie to fall back on */
  envp[e] = NULL;
  int pipefd[2];
  ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
  pid_t pid;
  ck_assert_int_eq(posix_spawn(&pid, ST_CLI_PATH, &fa, NULL, argv, envp), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  size_t len = 0;
  struct timespec t0, t;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &t);
    long spent = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
    long left = (long)timeout_ms - spent;
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    ssize_t got = read(pipefd[0], r->out + len, sizeof r->out - 1 - len);
    if (got <= 0) break;
    len += (size_t)got;
  }
  r->out[len] = '\0';
  close(pipefd[0]);
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#define RUN(r, cookie, ...)                                   \
  do {                                                        \
    const char *const args_[] = {__VA_ARGS__, NULL};          \
    run_cli((r), (cookie), 60000, args_);                     \
  } while (0)

static void expect_exit(const run_t *r, int code) {
  ck_assert_msg(r->status == code, "exit %d, not %d:\n%s", r->status, code, r->out);
}

static void has(const run_t *r, const char *needle) {
  ck_assert_msg(strstr(r->out, needle) != NULL, "\"%s\" not in:\n%s", needle, r->out);
}

static void node_setup(void) {
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "cli"));
  ck_assert_int_eq(tnode_start(&node, sname, COOKIE, 30000), 0);
}

static void node_teardown(void) {
  if (node.pid > 0) (void)tnode_stop(&node, 10000);
}

START_TEST(test_tree_and_restart_check) {
  static run_t r;
  RUN(&r, COOKIE, "tree", node.node, "--app", "factory");
  expect_exit(&r, 0);
  has(&r, "factory_sup");
  has(&r, "rest_for_one, intensity 50 per 5 s");
  has(&r, "probe");
  RUN(&r, COOKIE, "tree", node.node, "--supervisor", "factory_pair_sup", "--json");
  expect_exit(&r, 0);
  has(&r, "{\"format\":1,\"command\":\"tree\"");
  has(&r, "\"strategy\":\"one_for_all\"");
  has(&r, "\"ok\":true,\"exit_code\":0");
  RUN(&r, COOKIE, "restart-check", node.node, "--supervisor", "factory_line_sup", "--child",
      "welder", "--json");
  expect_exit(&r, 0);
  has(&r, "\"as_promised\":true");
  has(&r, "{\"id\":\"cutter\"");
  RUN(&r, COOKIE, "restart-check", node.node, "--supervisor", "factory_line_sup", "--child",
      "nobody");
  expect_exit(&r, 5);
  has(&r, "no_child");
}
END_TEST

START_TEST(test_chaos_seed_and_replay) {
  static run_t a, b;
  RUN(&a, COOKIE, "chaos", node.node, "--supervisor", "factory_sup", "--seed", "42",
      "--kill-rate", "0.5", "--duration", "300", "--interval", "50");
  expect_exit(&a, 0);
  has(&a, "seed 42");
  /* The plan the Erlang ChaosHelpers draw from the same options for five
   * children (test/erlang/supertester_chaos_tests.erl checks it there). */
  has(&a, "plan: st1;seed=42;rate=0.5;dur=300;int=50;jit=0;max=1000;tg=5;rs=1;a=0.2.0\n");
  has(&a, "every child runs again");
  char *plan = strstr(a.out, "plan: ");
  ck_assert_ptr_nonnull(plan);
  plan += 6;
  char line[512];
  size_t n = strcspn(plan, "\n");
  ck_assert_uint_lt(n, sizeof line);
  memcpy(line, plan, n);
  line[n] = '\0';
  RUN(&b, COOKIE, "chaos", node.node, "--supervisor", "factory_sup", "--plan", line, "--json");
  expect_exit(&b, 0);
  char want[600];
  snprintf(want, sizeof want, "\"plan\":\"%s\"", line);
  has(&b, want);
  /* The line supervisor exceeds its intensity (50 in 5 s): exit 1. */
  RUN(&b, COOKIE, "chaos", node.node, "--supervisor", "factory_line_sup", "--seed", "1",
      "--kill-rate", "1", "--duration", "2000", "--interval", "1", "--max-kills", "200");
  expect_exit(&b, 1);
  has(&b, "CRASHED");
}
END_TEST

START_TEST(test_bench_watch_trace) {
  static run_t r;
  RUN(&r, COOKIE, "bench", node.node, "--server", "factory_counter", "--request", "{add, 1}",
      "--callers", "3", "--calls", "300", "--json");
  expect_exit(&r, 0);
  has(&r, "\"calls\":300,\"errors\":0");
  has(&r, "\"p99\":");
  RUN(&r, COOKIE, "watch", node.node, "--process", "factory_counter", "--interval", "10",
      "--samples", "3", "--json");
  expect_exit(&r, 0);
  has(&r, "{\"t_ms\":0,\"memory\":");
  size_t samples = 0;
  for (const char *p = r.out; (p = strstr(p, "\"t_ms\":")) != NULL; p++) samples++;
  ck_assert_uint_eq(samples, 3);
  RUN(&r, COOKIE, "trace", node.node, "--process", "factory_probe", "--duration", "100");
  expect_exit(&r, 0);
  has(&r, "0 events, 0 dropped, stopped by duration");
  RUN(&r, COOKIE, "watch", node.node, "--process", "nobody_here");
  expect_exit(&r, 5);
}
END_TEST

START_TEST(test_usage_errors) {
  static run_t r;
  RUN(&r, COOKIE, "--help");
  expect_exit(&r, 0);
  has(&r, "EXIT STATUS");
  RUN(&r, COOKIE, "tree");
  expect_exit(&r, 2);
  has(&r, "needs a NODE");
  RUN(&r, COOKIE, "explode", "a@b");
  expect_exit(&r, 2);
  RUN(&r, COOKIE, "tree", "a@b", "--frobnicate");
  expect_exit(&r, 2);
  RUN(&r, COOKIE, "chaos", "a@b", "--kill-rate", "1.5");
  expect_exit(&r, 2);
  RUN(&r, COOKIE, "partition", "a@b");
  expect_exit(&r, 2);
  RUN(&r, COOKIE, "tree", "not-a-node", "--app", "x");
  expect_exit(&r, 2);
}
END_TEST

START_TEST(test_connect_failures) {
  static run_t r;
  RUN(&r, "wrong_cookie_value", "tree", node.node, "--app", "factory");
  expect_exit(&r, 3);
  has(&r, "refused the handshake");
  ck_assert_ptr_null(strstr(r.out, "wrong_cookie_value"));
  char nobody[300];
  snprintf(nobody, sizeof nobody, "nobody%s", strchr(node.node, '@'));
  RUN(&r, COOKIE, "tree", nobody, "--app", "factory", "--json");
  expect_exit(&r, 3);
  has(&r, "\"code\":\"enonode\"");
  RUN(&r, NULL, "tree", node.node, "--app", "factory");
  expect_exit(&r, 3);
  has(&r, "no cookie");
  /* No epmd where the tool looks (nothing listens on port 4). */
  setenv("ERL_EPMD_PORT", "4", 1);
  RUN(&r, COOKIE, "tree", node.node, "--app", "factory");
  unsetenv("ERL_EPMD_PORT");
  expect_exit(&r, 3);
  has(&r, "no epmd");
}
END_TEST

START_TEST(test_node_lost) {
  pid_t killer = fork();
  ck_assert_int_ge(killer, 0);
  if (killer == 0) {
    /* Once the CLI's trace is on (seen from a session of our own), the
     * node dies. */
    st_cnode_opts_t o = {.cookie = COOKIE, .no_agent = true};
    st_cnode_t *cn = NULL;
    st_conn_t *c = NULL;
    if (st_cnode_new(&o, &cn) != ST_OK || st_cnode_attach(cn, node.node, &c) != ST_OK) _exit(1);
    for (int i = 0; i < 1000; i++) {
      st_term_t *v = NULL;
      if (st_cnode_eval(c, "erlang:trace_info(erlang:whereis(factory_counter), flags) =/= "
                           "{flags, []}.", &v) != ST_OK) _exit(2);
      char *text = st_term_format(v);
      bool on = text != NULL && strcmp(text, "true") == 0;
      free(text);
      st_term_free(v);
      if (on) break;
      st_cnode_pause(cn, 10);
    }
    kill(node.pid, SIGKILL);
    _exit(0);
  }
  static run_t r;
  RUN(&r, COOKIE, "trace", node.node, "--process", "factory_counter", "--duration", "30000");
  expect_exit(&r, 4);
  has(&r, "lost");
  waitpid(killer, NULL, 0);
  (void)tnode_kill(&node);
}
END_TEST

START_TEST(test_partition) {
  tnode_t peer;
  char sname[64];
  ck_assert_ptr_nonnull(tnode_unique_sname(sname, sizeof sname, "clipeer"));
  ck_assert_int_eq(tnode_start(&peer, sname, COOKIE, 30000), 0);
  static run_t r;
  RUN(&r, COOKIE, "partition", node.node, peer.node, "--duration", "200", "--service",
      "factory_counter", "--service", "factory_sup");
  expect_exit(&r, 0);
  has(&r, "reconnected in");
  has(&r, "factory_sup");
  ck_assert_ptr_null(strstr(r.out, "DOES NOT ANSWER"));
  RUN(&r, COOKIE, "partition", node.node, peer.node, "--duration", "100", "--service",
      "nobody_registered", "--json");
  expect_exit(&r, 1);
  has(&r, "\"alive\":false");
  ck_assert_int_eq(tnode_stop(&peer, 10000), 0);
}
END_TEST

Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("real node");
  tcase_add_checked_fixture(tc, node_setup, node_teardown);
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, test_tree_and_restart_check);
  tcase_add_test(tc, test_chaos_seed_and_replay);
  tcase_add_test(tc, test_bench_watch_trace);
  tcase_add_test(tc, test_connect_failures);
  tcase_add_test(tc, test_partition);
  tcase_add_test(tc, test_node_lost);
  suite_add_tcase(s, tc);
  TCase *usage = tcase_create("usage");
  tcase_add_test(usage, test_usage_errors);
  suite_add_tcase(s, usage);
  return s;
}
