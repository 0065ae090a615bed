/* Supervision suite: st_supv_* against the contract in
 * supertester/supervision.h.
 *
 * Most tests are tables: the inputs an OTP supervisor's trace yields, in the
 * order supervisor.erl produces them (fake pids 101, 102...; fake reasons),
 * each with the events it must give and the number of children left waiting.
 * run_steps feeds a table and compares every field of every event, naming
 * the table, the step and both events on a mismatch.
 *
 * - strategies: one_for_one (one child restarted, the others untouched),
 *   one_for_all (siblings shut down in reverse start order, all restarted in
 *   start order, latency from the crash), rest_for_one (the crashed child and
 *   those after it; the last child alone), the 'EXIT' that unlink_flush
 *   consumes after each 'DOWN', a restart whose start fails and is retried,
 *   restart intensity exceeded (supervisor shutdown, then silence), plain
 *   supervisor shutdown.
 * - restart types: transient after normal, shutdown and {shutdown, _} exits
 *   (not restarted: the next spawn is a new child), after a crash and after a
 *   shutdown by the supervisor (restarted); temporary (never restarted, alone
 *   or in a cascade).
 * - pids: stale and unknown pids, spawns of current pids, children not
 *   running in the initial map, 10,000 dynamic children (growth) restarted in
 *   the order they crashed in.
 * - latency: from each child's own exit when exits queue up, 0 without an
 *   exit, never negative, saturated at INT64_MAX.
 * - errors: NULL arguments, unknown restart types and kinds, pid 0, duplicate
 *   pids; out parameters and state untouched.
 * - model: 30,000 random inputs per seed against a reference written from
 *   the header with linear scans. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "supertester/supervision.h"
#include "suites.h"
#include "test_util.h"

Suite *supervision_suite(void);

/* ---------------------------------------------------------------- helpers */

/* Fake exit reasons: opaque to the core. */
enum {
  R_NORMAL = 1,
  R_SHUTDOWN = 2,
  R_SHUTDOWN_TERM = 3, /* {shutdown, Term} */
  R_KILLED = 4,
  R_CRASH = 5, /* {badarith, Stack} */
  R_BADMATCH = 6,
  R_START_FAILED = 7 /* init/1 returned {stop, _} */
};

/* Inputs: {kind, flags, time, pid, reason}. */
#define IN_SPAWN(t, pid) {ST_SUPV_IN_SPAWN, 0, (t), (pid), 0}
#define IN_CRASH(t, pid, reason)                                               \
  {ST_SUPV_IN_CHILD_EXIT, ST_SUPV_ABNORMAL, (t), (pid), (reason)}
/* An exit the NIF judged normal: normal, shutdown or {shutdown, _}. */
#define IN_EXIT(t, pid, reason) {ST_SUPV_IN_CHILD_EXIT, 0, (t), (pid), (reason)}
#define IN_DOWN(t, pid, reason) {ST_SUPV_IN_CHILD_DOWN, 0, (t), (pid), (reason)}
#define IN_DOWN_ABNORMAL(t, pid, reason)                                       \
  {ST_SUPV_IN_CHILD_DOWN, ST_SUPV_ABNORMAL, (t), (pid), (reason)}
#define IN_SUP_EXIT(t, reason) {ST_SUPV_IN_SUPERVISOR_EXIT, 0, (t), 0, (reason)}

/* Events: {kind, time, child, old_pid, new_pid, reason, latency}; the
 * fields an event kind does not use are 0. */
#define EV_STARTED(t, child, pid)                                              \
  {ST_SUPV_CHILD_STARTED, (t), (child), 0, (pid), 0, 0}
#define EV_TERMINATED(t, child, pid, reason)                                   \
  {ST_SUPV_CHILD_TERMINATED, (t), (child), (pid), 0, (reason), 0}
#define EV_RESTARTED(t, child, old, new_, latency)                             \
  {ST_SUPV_CHILD_RESTARTED, (t), (child), (old), (new_), 0, (latency)}
#define EV_SUP_TERMINATED(t, reason)                                           \
  {ST_SUPV_SUPERVISOR_TERMINATED, (t), 0, 0, 0, (reason), 0}

typedef struct step_s {
  st_supv_input_t in;
  size_t n; /* events expected */
  st_supv_event_t ev[ST_SUPV_MAX_EVENTS_PER_INPUT];
  size_t pending; /* st_supv_pending after the step */
} step_t;

#define EMITS(input, event, waiting)                                           \
  {.in = input, .n = 1, .ev = {event}, .pending = (waiting)}
#define QUIET(input, waiting) {.in = input, .n = 0, .pending = (waiting)}

static const char *input_kind_name(int kind) {
  switch (kind) {
  case ST_SUPV_IN_SPAWN: return "SPAWN";
  case ST_SUPV_IN_CHILD_EXIT: return "CHILD_EXIT";
  case ST_SUPV_IN_CHILD_DOWN: return "CHILD_DOWN";
  case ST_SUPV_IN_SUPERVISOR_EXIT: return "SUPERVISOR_EXIT";
  default: return "?";
  }
}

static const char *event_kind_name(int kind) {
  switch (kind) {
  case ST_SUPV_CHILD_STARTED: return "STARTED";
  case ST_SUPV_CHILD_TERMINATED: return "TERMINATED";
  case ST_SUPV_CHILD_RESTARTED: return "RESTARTED";
  case ST_SUPV_SUPERVISOR_TERMINATED: return "SUPERVISOR_TERMINATED";
  default: return "?";
  }
}

static void describe_input(char *buf, size_t size, const st_supv_input_t *in) {
  snprintf(buf, size, "%s(t %lld, pid %llu, reason %llu, flags %u)",
           input_kind_name((int)in->kind), (long long)in->time,
           (unsigned long long)in->pid, (unsigned long long)in->reason,
           (unsigned)in->flags);
}

static void describe_event(char *buf, size_t size, const st_supv_event_t *e) {
  snprintf(buf, size,
           "%s(kind %d, t %lld, child %zu, old %llu, new %llu, reason %llu, "
           "latency %lld)",
           event_kind_name((int)e->kind), (int)e->kind, (long long)e->time,
           e->child, (unsigned long long)e->old_pid,
           (unsigned long long)e->new_pid, (unsigned long long)e->reason,
           (long long)e->latency);
}

/* The first field where got and want differ, or NULL. */
static const char *first_difference(const st_supv_event_t *got,
                                    const st_supv_event_t *want) {
  if (got->kind != want->kind) return "kind";
  if (got->time != want->time) return "time";
  if (got->child != want->child) return "child";
  if (got->old_pid != want->old_pid) return "old_pid";
  if (got->new_pid != want->new_pid) return "new_pid";
  if (got->reason != want->reason) return "reason";
  if (got->latency != want->latency) return "latency";
  return NULL;
}

/* Feeds one input, requiring ST_OK, and compares what comes out with the n
 * events of want. `where` names the step in messages. */
static void feed_expect(st_supv_t *s, const st_supv_input_t *in,
                        const st_supv_event_t *want, size_t n,
                        const char *where) {
  char in_text[160], got_text[200], want_text[200];
  st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT];
  size_t n_out = 99;
  int rc = st_supv_feed(s, in, out, &n_out);
  if (rc != ST_OK || n_out != n) {
    describe_input(in_text, sizeof in_text, in);
    if (rc == ST_OK && n_out > 0 && n_out <= ST_SUPV_MAX_EVENTS_PER_INPUT)
      describe_event(got_text, sizeof got_text, &out[0]);
    else
      snprintf(got_text, sizeof got_text, "nothing");
    ck_abort_msg("%s: %s gave rc %d (%s) and %zu events (first: %s); "
                 "expected ST_OK and %zu events",
                 where, in_text, rc, st_err_name(rc), n_out, got_text, n);
  }
  for (size_t e = 0; e < n; e++) {
    const char *field = first_difference(&out[e], &want[e]);
    if (field == NULL) continue;
    describe_input(in_text, sizeof in_text, in);
    describe_event(got_text, sizeof got_text, &out[e]);
    describe_event(want_text, sizeof want_text, &want[e]);
    ck_abort_msg("%s: %s, event %zu differs in %s:\n  got      %s\n"
                 "  expected %s",
                 where, in_text, e, field, got_text, want_text);
  }
}

static void run_steps_(st_supv_t *s, const step_t *steps, size_t n,
                       const char *table) {
  char where[96];
  for (size_t k = 0; k < n; k++) {
    snprintf(where, sizeof where, "%s step %zu", table, k + 1);
    feed_expect(s, &steps[k].in, steps[k].ev, steps[k].n, where);
    size_t pending = st_supv_pending(s);
    require_msg(pending == steps[k].pending,
                "%s: %zu children waiting, expected %zu", where, pending,
                steps[k].pending);
  }
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RUN_STEPS(s, steps) run_steps_((s), (steps), ARRAY_LEN(steps), #steps)

static st_supv_t *new_supv_(const st_supv_child_t *children, size_t n) {
  st_supv_t *s = NULL;
  int rc = st_supv_create(children, n, &s);
  ck_assert_msg(rc == ST_OK && s != NULL, "st_supv_create(%zu children) = %d",
                n, rc);
  ck_assert_uint_eq(st_supv_child_count(s), n);
  ck_assert_uint_eq(st_supv_pending(s), 0);
  for (size_t i = 0; i < n; i++)
    ck_assert_uint_eq(st_supv_child_pid(s, i), children[i].pid);
  return s;
}

#define NEW_SUPV(children) new_supv_((children), ARRAY_LEN(children))

/* The map holds exactly these current pids, in index order. */
static void expect_pids_(const st_supv_t *s, const uint64_t *pids, size_t n) {
  size_t count = st_supv_child_count(s);
  ck_assert_msg(count == n, "%zu children, expected %zu", count, n);
  for (size_t i = 0; i < n; i++) {
    uint64_t pid = st_supv_child_pid(s, i);
    ck_assert_msg(pid == pids[i], "child %zu has pid %llu, expected %llu", i,
                  (unsigned long long)pid, (unsigned long long)pids[i]);
  }
  ck_assert_uint_eq(st_supv_child_pid(s, n), 0);
}

#define EXPECT_PIDS(s, ...)                                                    \
  expect_pids_((s), (const uint64_t[]){__VA_ARGS__},                           \
               ARRAY_LEN(((const uint64_t[]){__VA_ARGS__})))

#define P ST_SUPV_PERMANENT
#define TR ST_SUPV_TRANSIENT
#define TEMP ST_SUPV_TEMPORARY

static const st_supv_child_t three_permanent[] = {
    {101, P}, {102, P}, {103, P}};

/* ------------------------------------------------------------- strategies */

START_TEST(test_one_for_one_restarts_only_the_crashed_child) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t one_for_one[] = {
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(1040, 202), EV_RESTARTED(1040, 1, 102, 202, 40), 0),
      /* The same child again: old_pid is the pid of the last run. */
      EMITS(IN_CRASH(5000, 202, R_BADMATCH),
            EV_TERMINATED(5000, 1, 202, R_BADMATCH), 1),
      EMITS(IN_SPAWN(5010, 302), EV_RESTARTED(5010, 1, 202, 302, 10), 0),
  };
  RUN_STEPS(s, one_for_one);
  EXPECT_PIDS(s, 101, 302, 103);
  st_supv_destroy(s);
}
END_TEST

/* supervisor.erl, restart(one_for_all): the crashed child's siblings are
 * shut down in reverse start order (a 'DOWN' each), then every child is
 * started again in start order. */
START_TEST(test_one_for_all_restarts_all_in_start_order) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t one_for_all[] = {
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      EMITS(IN_DOWN(1005, 103, R_SHUTDOWN),
            EV_TERMINATED(1005, 2, 103, R_SHUTDOWN), 2),
      EMITS(IN_DOWN(1010, 101, R_SHUTDOWN),
            EV_TERMINATED(1010, 0, 101, R_SHUTDOWN), 3),
      /* Latencies all count from the crash of child 1. */
      EMITS(IN_SPAWN(1100, 201), EV_RESTARTED(1100, 0, 101, 201, 100), 2),
      EMITS(IN_SPAWN(1120, 202), EV_RESTARTED(1120, 1, 102, 202, 120), 1),
      EMITS(IN_SPAWN(1140, 203), EV_RESTARTED(1140, 2, 103, 203, 140), 0),
  };
  RUN_STEPS(s, one_for_all);
  EXPECT_PIDS(s, 201, 202, 203);
  st_supv_destroy(s);
}
END_TEST

/* shutdown/1 reads the 'DOWN', then unlink_flush/2 consumes the child's
 * 'EXIT' (which the trace also shows): by then the pid is no child. A
 * brutal_kill child's reason is killed, abnormal for the NIF. */
START_TEST(test_one_for_all_flushed_exit_after_down_is_stale) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t flushed_exits[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_DOWN(1005, 103, R_SHUTDOWN),
            EV_TERMINATED(1005, 2, 103, R_SHUTDOWN), 2),
      QUIET(IN_EXIT(1005, 103, R_SHUTDOWN), 2),
      EMITS(IN_DOWN_ABNORMAL(1007, 102, R_KILLED),
            EV_TERMINATED(1007, 1, 102, R_KILLED), 3),
      QUIET(IN_CRASH(1007, 102, R_KILLED), 3),
      EMITS(IN_SPAWN(1050, 201), EV_RESTARTED(1050, 0, 101, 201, 50), 2),
      EMITS(IN_SPAWN(1060, 202), EV_RESTARTED(1060, 1, 102, 202, 60), 1),
      EMITS(IN_SPAWN(1070, 203), EV_RESTARTED(1070, 2, 103, 203, 70), 0),
  };
  RUN_STEPS(s, flushed_exits);
  EXPECT_PIDS(s, 201, 202, 203);
  st_supv_destroy(s);
}
END_TEST

/* supervisor.erl, restart(rest_for_one): the children after the crashed one
 * are shut down, last first, then restarted with it in start order. */
START_TEST(test_rest_for_one_restarts_the_crashed_child_and_later_ones) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t first_crashes[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_DOWN(1010, 103, R_SHUTDOWN),
            EV_TERMINATED(1010, 2, 103, R_SHUTDOWN), 2),
      EMITS(IN_DOWN(1020, 102, R_SHUTDOWN),
            EV_TERMINATED(1020, 1, 102, R_SHUTDOWN), 3),
      EMITS(IN_SPAWN(1100, 201), EV_RESTARTED(1100, 0, 101, 201, 100), 2),
      EMITS(IN_SPAWN(1150, 202), EV_RESTARTED(1150, 1, 102, 202, 150), 1),
      EMITS(IN_SPAWN(1190, 203), EV_RESTARTED(1190, 2, 103, 203, 190), 0),
  };
  RUN_STEPS(s, first_crashes);
  EXPECT_PIDS(s, 201, 202, 203);

  /* The middle one: child 2 is shut down, child 0 keeps running. */
  static const step_t middle_crashes[] = {
      EMITS(IN_CRASH(2000, 202, R_BADMATCH),
            EV_TERMINATED(2000, 1, 202, R_BADMATCH), 1),
      EMITS(IN_DOWN(2003, 203, R_SHUTDOWN),
            EV_TERMINATED(2003, 2, 203, R_SHUTDOWN), 2),
      EMITS(IN_SPAWN(2010, 302), EV_RESTARTED(2010, 1, 202, 302, 10), 1),
      EMITS(IN_SPAWN(2020, 303), EV_RESTARTED(2020, 2, 203, 303, 20), 0),
  };
  RUN_STEPS(s, middle_crashes);
  EXPECT_PIDS(s, 201, 302, 303);

  /* The last one: nothing after it, it alone restarts. */
  static const step_t last_crashes[] = {
      EMITS(IN_CRASH(3000, 303, R_CRASH),
            EV_TERMINATED(3000, 2, 303, R_CRASH), 1),
      EMITS(IN_SPAWN(3030, 403), EV_RESTARTED(3030, 2, 303, 403, 30), 0),
  };
  RUN_STEPS(s, last_crashes);
  EXPECT_PIDS(s, 201, 302, 403);
  st_supv_destroy(s);
}
END_TEST

/* Child start fails: the new process dies in init, the supervisor receives
 * its 'EXIT' from proc_lib, and retries later (try_again_restart). */
START_TEST(test_failed_restart_is_retried) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t retried[] = {
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(1010, 202), EV_RESTARTED(1010, 1, 102, 202, 10), 0),
      EMITS(IN_CRASH(1012, 202, R_START_FAILED),
            EV_TERMINATED(1012, 1, 202, R_START_FAILED), 1),
      EMITS(IN_SPAWN(1030, 302), EV_RESTARTED(1030, 1, 202, 302, 18), 0),
  };
  RUN_STEPS(s, retried);
  EXPECT_PIDS(s, 101, 302, 103);
  st_supv_destroy(s);
}
END_TEST

/* MaxR = 3: the fourth crash in the period makes the supervisor give up
 * (add_restart -> terminate): it shuts the remaining children down in
 * reverse start order and exits with shutdown. */
START_TEST(test_restart_intensity_exceeded_ends_everything) {
  static const st_supv_child_t children[] = {
      {101, P}, {102, P}, {103, TEMP}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t intensity[] = {
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(1010, 202), EV_RESTARTED(1010, 1, 102, 202, 10), 0),
      EMITS(IN_CRASH(1100, 202, R_CRASH),
            EV_TERMINATED(1100, 1, 202, R_CRASH), 1),
      EMITS(IN_SPAWN(1105, 302), EV_RESTARTED(1105, 1, 202, 302, 5), 0),
      EMITS(IN_CRASH(1200, 302, R_CRASH),
            EV_TERMINATED(1200, 1, 302, R_CRASH), 1),
      EMITS(IN_SPAWN(1220, 402), EV_RESTARTED(1220, 1, 302, 402, 20), 0),
      EMITS(IN_CRASH(1300, 402, R_CRASH),
            EV_TERMINATED(1300, 1, 402, R_CRASH), 1),
      /* The temporary child is shut down without waiting; 101 waits. */
      EMITS(IN_DOWN(1301, 103, R_SHUTDOWN),
            EV_TERMINATED(1301, 2, 103, R_SHUTDOWN), 1),
      EMITS(IN_DOWN(1302, 101, R_SHUTDOWN),
            EV_TERMINATED(1302, 0, 101, R_SHUTDOWN), 2),
      EMITS(IN_SUP_EXIT(1303, R_SHUTDOWN),
            EV_SUP_TERMINATED(1303, R_SHUTDOWN), 2),
      /* Nothing after that produces events. */
      QUIET(IN_SPAWN(1400, 501), 2),
      QUIET(IN_CRASH(1401, 501, R_CRASH), 2),
      QUIET(IN_DOWN(1402, 402, R_SHUTDOWN), 2),
      QUIET(IN_SUP_EXIT(1403, R_KILLED), 2),
  };
  RUN_STEPS(s, intensity);
  EXPECT_PIDS(s, 0, 0, 0);
  st_supv_destroy(s);
}
END_TEST

/* The parent's 'EXIT' is no child's; terminate/2 then shuts the children
 * down, last started first. */
START_TEST(test_supervisor_shutdown_terminates_children_last_first) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t shutdown[] = {
      QUIET(IN_EXIT(500, 42, R_SHUTDOWN), 0),
      EMITS(IN_DOWN(510, 103, R_SHUTDOWN),
            EV_TERMINATED(510, 2, 103, R_SHUTDOWN), 1),
      EMITS(IN_DOWN(520, 102, R_SHUTDOWN),
            EV_TERMINATED(520, 1, 102, R_SHUTDOWN), 2),
      EMITS(IN_DOWN(530, 101, R_SHUTDOWN),
            EV_TERMINATED(530, 0, 101, R_SHUTDOWN), 3),
      EMITS(IN_SUP_EXIT(540, R_SHUTDOWN), EV_SUP_TERMINATED(540, R_SHUTDOWN),
            3),
      QUIET(IN_SPAWN(600, 201), 3),
  };
  RUN_STEPS(s, shutdown);
  EXPECT_PIDS(s, 0, 0, 0);
  st_supv_destroy(s);
}
END_TEST

/* ---------------------------------------------------------- restart types */

START_TEST(test_transient_normal_exits_are_not_restarted) {
  static const st_supv_child_t children[] = {
      {101, TR}, {102, TR}, {103, TR}, {104, P}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t normal_exits[] = {
      EMITS(IN_EXIT(1000, 101, R_NORMAL),
            EV_TERMINATED(1000, 0, 101, R_NORMAL), 0),
      EMITS(IN_EXIT(1010, 102, R_SHUTDOWN),
            EV_TERMINATED(1010, 1, 102, R_SHUTDOWN), 0),
      EMITS(IN_EXIT(1020, 103, R_SHUTDOWN_TERM),
            EV_TERMINATED(1020, 2, 103, R_SHUTDOWN_TERM), 0),
      /* supervisor:start_child: a new child, not a restart. */
      EMITS(IN_SPAWN(1030, 301), EV_STARTED(1030, 4, 301), 0),
      /* A crash of another child restarts that one, not the transients. */
      EMITS(IN_CRASH(1040, 104, R_CRASH),
            EV_TERMINATED(1040, 3, 104, R_CRASH), 1),
      EMITS(IN_SPAWN(1045, 204), EV_RESTARTED(1045, 3, 104, 204, 5), 0),
  };
  RUN_STEPS(s, normal_exits);
  EXPECT_PIDS(s, 0, 0, 0, 204, 301);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_transient_abnormal_exit_is_restarted) {
  static const st_supv_child_t children[] = {{101, P}, {102, TR}, {103, P}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t transient_crash[] = {
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(1025, 202), EV_RESTARTED(1025, 1, 102, 202, 25), 0),
      /* killed is abnormal too */
      EMITS(IN_CRASH(2000, 202, R_KILLED),
            EV_TERMINATED(2000, 1, 202, R_KILLED), 1),
      EMITS(IN_SPAWN(2001, 302), EV_RESTARTED(2001, 1, 202, 302, 1), 0),
  };
  RUN_STEPS(s, transient_crash);
  EXPECT_PIDS(s, 101, 302, 103);
  st_supv_destroy(s);
}
END_TEST

/* terminate_children/2 keeps every non-temporary child for the restart,
 * whatever reason its 'DOWN' carries. */
START_TEST(test_transient_shut_down_by_supervisor_is_restarted) {
  static const st_supv_child_t children[] = {{101, P}, {102, TR}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t transient_sibling[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_DOWN(1002, 102, R_SHUTDOWN),
            EV_TERMINATED(1002, 1, 102, R_SHUTDOWN), 2),
      EMITS(IN_SPAWN(1010, 201), EV_RESTARTED(1010, 0, 101, 201, 10), 1),
      EMITS(IN_SPAWN(1020, 202), EV_RESTARTED(1020, 1, 102, 202, 20), 0),
  };
  RUN_STEPS(s, transient_sibling);
  EXPECT_PIDS(s, 201, 202);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_temporary_child_is_never_restarted) {
  static const st_supv_child_t children[] = {{101, TEMP}, {102, P}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t temporary[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 0),
      EMITS(IN_SPAWN(1010, 301), EV_STARTED(1010, 2, 301), 0),
      /* Child 0 stays out: a later restart goes to the crashed child. */
      EMITS(IN_CRASH(1100, 102, R_CRASH),
            EV_TERMINATED(1100, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(1110, 202), EV_RESTARTED(1110, 1, 102, 202, 10), 0),
      EMITS(IN_SPAWN(1120, 401), EV_STARTED(1120, 3, 401), 0),
  };
  RUN_STEPS(s, temporary);
  EXPECT_PIDS(s, 0, 202, 301, 401);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_temporary_sibling_in_cascade_is_not_restarted) {
  static const st_supv_child_t children[] = {{101, P}, {102, TEMP}, {103, P}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t temporary_sibling[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_DOWN(1001, 103, R_SHUTDOWN),
            EV_TERMINATED(1001, 2, 103, R_SHUTDOWN), 2),
      EMITS(IN_DOWN(1002, 102, R_SHUTDOWN),
            EV_TERMINATED(1002, 1, 102, R_SHUTDOWN), 2),
      EMITS(IN_SPAWN(1010, 201), EV_RESTARTED(1010, 0, 101, 201, 10), 1),
      EMITS(IN_SPAWN(1020, 203), EV_RESTARTED(1020, 2, 103, 203, 20), 0),
      EMITS(IN_SPAWN(1030, 301), EV_STARTED(1030, 3, 301), 0),
  };
  RUN_STEPS(s, temporary_sibling);
  EXPECT_PIDS(s, 201, 0, 203, 301);
  st_supv_destroy(s);
}
END_TEST

/* ------------------------------------------------------------------- pids */

START_TEST(test_stale_and_unknown_pids_are_ignored) {
  static const st_supv_child_t children[] = {{101, P}, {102, P}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t stale[] = {
      QUIET(IN_CRASH(900, 999, R_CRASH), 0),
      QUIET(IN_DOWN(901, 998, R_SHUTDOWN), 0),
      QUIET(IN_EXIT(902, 997, R_NORMAL), 0),
      EMITS(IN_CRASH(1000, 102, R_CRASH),
            EV_TERMINATED(1000, 1, 102, R_CRASH), 1),
      /* The dead pid while its child waits. */
      QUIET(IN_CRASH(1001, 102, R_CRASH), 1),
      QUIET(IN_DOWN(1002, 102, R_SHUTDOWN), 1),
      EMITS(IN_SPAWN(1010, 202), EV_RESTARTED(1010, 1, 102, 202, 10), 0),
      /* And after the restart. */
      QUIET(IN_CRASH(1020, 102, R_CRASH), 0),
      QUIET(IN_DOWN(1021, 102, R_SHUTDOWN), 0),
      /* Spawns of pids that are current children. */
      QUIET(IN_SPAWN(1030, 202), 0),
      QUIET(IN_SPAWN(1031, 101), 0),
  };
  RUN_STEPS(s, stale);
  EXPECT_PIDS(s, 101, 202);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_spawn_of_current_pid_while_children_wait_is_ignored) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t current_spawn[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      QUIET(IN_SPAWN(1001, 103), 1),
      EMITS(IN_SPAWN(1002, 201), EV_RESTARTED(1002, 0, 101, 201, 2), 0),
  };
  RUN_STEPS(s, current_spawn);
  EXPECT_PIDS(s, 201, 102, 103);
  st_supv_destroy(s);
}
END_TEST

/* A child with pid 0 in the map (never started, or restarting when tracing
 * began) does not wait: the next spawn is a new child. */
START_TEST(test_not_running_child_in_map_does_not_wait_so_spawn_is_new_child) {
  static const st_supv_child_t children[] = {{101, P}, {0, P}, {103, TR}};
  st_supv_t *s = NEW_SUPV(children);
  static const step_t not_running[] = {
      EMITS(IN_SPAWN(1000, 201), EV_STARTED(1000, 3, 201), 0),
      EMITS(IN_CRASH(1010, 103, R_CRASH),
            EV_TERMINATED(1010, 2, 103, R_CRASH), 1),
      EMITS(IN_SPAWN(1020, 203), EV_RESTARTED(1020, 2, 103, 203, 10), 0),
  };
  RUN_STEPS(s, not_running);
  EXPECT_PIDS(s, 101, 0, 203, 201);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_back_to_back_crashes_match_their_children) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t back_to_back[] = {
      EMITS(IN_CRASH(1000, 103, R_CRASH),
            EV_TERMINATED(1000, 2, 103, R_CRASH), 1),
      EMITS(IN_SPAWN(1010, 203), EV_RESTARTED(1010, 2, 103, 203, 10), 0),
      EMITS(IN_CRASH(1020, 101, R_BADMATCH),
            EV_TERMINATED(1020, 0, 101, R_BADMATCH), 1),
      EMITS(IN_SPAWN(1025, 201), EV_RESTARTED(1025, 0, 101, 201, 5), 0),
  };
  RUN_STEPS(s, back_to_back);
  EXPECT_PIDS(s, 201, 102, 203);
  st_supv_destroy(s);
}
END_TEST

/* Two 'EXIT's traced before the supervisor restarts the first: each latency
 * counts from the exit of its own child, the lower index restarts first. */
START_TEST(test_queued_exits_measure_latency_from_own_exit) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t queued[] = {
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_CRASH(1004, 103, R_CRASH),
            EV_TERMINATED(1004, 2, 103, R_CRASH), 2),
      EMITS(IN_SPAWN(1010, 201), EV_RESTARTED(1010, 0, 101, 201, 10), 1),
      EMITS(IN_SPAWN(1020, 203), EV_RESTARTED(1020, 2, 103, 203, 16), 0),
  };
  RUN_STEPS(s, queued);
  EXPECT_PIDS(s, 201, 102, 203);
  st_supv_destroy(s);
}
END_TEST

/* simple_one_for_one: an empty map, children added by start_child. */
START_TEST(test_dynamic_children_grow_and_restart_in_crash_order) {
  enum { N = 10000 };
  st_supv_t *s = NULL;
  ck_assert_int_eq(st_supv_create(NULL, 0, &s), ST_OK);
  ck_assert_uint_eq(st_supv_child_count(s), 0);
  ck_assert_uint_eq(st_supv_child_pid(s, 0), 0);
  char where[64];
  int64_t t = 0;
  for (size_t i = 0; i < N; i++) {
    st_supv_input_t in = IN_SPAWN(++t, 1000 + i);
    st_supv_event_t want = EV_STARTED(t, i, 1000 + i);
    snprintf(where, sizeof where, "spawn %zu", i);
    feed_expect(s, &in, &want, 1, where);
  }
  ck_assert_uint_eq(st_supv_child_count(s), N);
  for (size_t i = 0; i < N; i++)
    require_msg(st_supv_child_pid(s, i) == 1000 + i,
                "child %zu has pid %llu, expected %zu", i,
                (unsigned long long)st_supv_child_pid(s, i), 1000 + i);

  /* Crashes out of start order, all queued before the first respawn: the
   * supervisor handles them in the order they came, so the respawns go to
   * the children in crash order. */
  static const size_t crashed[] = {9000, 5, 7000, 5000, 9999, 0};
  static const size_t restart_order[] = {9000, 5, 7000, 5000, 9999, 0};
  const int64_t crash_at = t + 1;
  for (size_t k = 0; k < ARRAY_LEN(crashed); k++) {
    size_t i = crashed[k];
    st_supv_input_t in = IN_CRASH(++t, 1000 + i, R_CRASH);
    st_supv_event_t want = EV_TERMINATED(t, i, 1000 + i, R_CRASH);
    snprintf(where, sizeof where, "crash %zu of child %zu", k, i);
    feed_expect(s, &in, &want, 1, where);
  }
  ck_assert_uint_eq(st_supv_pending(s), ARRAY_LEN(crashed));
  for (size_t k = 0; k < ARRAY_LEN(restart_order); k++) {
    size_t i = restart_order[k];
    st_supv_input_t in = IN_SPAWN(++t, 100000 + i);
    /* Each latency from the child's own crash. */
    size_t pos = 0;
    while (crashed[pos] != i) pos++;
    st_supv_event_t want =
        EV_RESTARTED(t, i, 1000 + i, 100000 + i, t - (crash_at + (int64_t)pos));
    snprintf(where, sizeof where, "respawn %zu", k);
    feed_expect(s, &in, &want, 1, where);
  }
  ck_assert_uint_eq(st_supv_pending(s), 0);

  /* All of them, last first, then all respawned first first. */
  for (size_t k = 0; k < N; k++) {
    size_t i = N - 1 - k;
    uint64_t pid = st_supv_child_pid(s, i);
    st_supv_input_t in = IN_DOWN(++t, pid, R_SHUTDOWN);
    st_supv_event_t want = EV_TERMINATED(t, i, pid, R_SHUTDOWN);
    snprintf(where, sizeof where, "shutdown of child %zu", i);
    feed_expect(s, &in, &want, 1, where);
  }
  ck_assert_uint_eq(st_supv_pending(s), N);
  for (size_t i = 0; i < N; i++) {
    uint64_t old = (i == 0 || i == 5 || i == 5000 || i == 7000 || i == 9000 ||
                    i == 9999)
                       ? 100000 + i
                       : 1000 + i;
    st_supv_input_t in = IN_SPAWN(++t, 200000 + i);
    /* No 'EXIT' since the last crash (of child 0, at crash_at + 5). */
    st_supv_event_t want =
        EV_RESTARTED(t, i, old, 200000 + i, t - (crash_at + 5));
    snprintf(where, sizeof where, "second respawn of child %zu", i);
    feed_expect(s, &in, &want, 1, where);
  }
  ck_assert_uint_eq(st_supv_pending(s), 0);
  for (size_t i = 0; i < N; i++)
    require_msg(st_supv_child_pid(s, i) == 200000 + i,
                "child %zu has pid %llu, expected %zu", i,
                (unsigned long long)st_supv_child_pid(s, i), 200000 + i);
  /* And one more is a new child again. */
  st_supv_input_t in = IN_SPAWN(++t, 7);
  st_supv_event_t want = EV_STARTED(t, N, 7);
  feed_expect(s, &in, &want, 1, "spawn after the restarts");
  ck_assert_uint_eq(st_supv_child_count(s), N + 1);
  st_supv_destroy(s);
}
END_TEST

/* ---------------------------------------------------------------- latency */

/* terminate_child then restart_child: no 'EXIT' came before the restart. */
START_TEST(test_restart_without_any_exit_has_zero_latency) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t no_exit[] = {
      EMITS(IN_DOWN(1000, 102, R_SHUTDOWN),
            EV_TERMINATED(1000, 1, 102, R_SHUTDOWN), 1),
      EMITS(IN_SPAWN(5000, 202), EV_RESTARTED(5000, 1, 102, 202, 0), 0),
  };
  RUN_STEPS(s, no_exit);
  EXPECT_PIDS(s, 101, 202, 103);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_latency_is_never_negative_and_saturates) {
  st_supv_t *s = NEW_SUPV(three_permanent);
  static const step_t extremes[] = {
      /* Times are documented non-decreasing; a clock stepping back still
       * gives no negative latency. */
      EMITS(IN_CRASH(1000, 101, R_CRASH),
            EV_TERMINATED(1000, 0, 101, R_CRASH), 1),
      EMITS(IN_SPAWN(900, 201), EV_RESTARTED(900, 0, 101, 201, 0), 0),
      /* Same instant. */
      EMITS(IN_CRASH(2000, 102, R_CRASH),
            EV_TERMINATED(2000, 1, 102, R_CRASH), 1),
      EMITS(IN_SPAWN(2000, 202), EV_RESTARTED(2000, 1, 102, 202, 0), 0),
      /* The widest span does not overflow. */
      EMITS(IN_CRASH(INT64_MIN, 103, R_CRASH),
            EV_TERMINATED(INT64_MIN, 2, 103, R_CRASH), 1),
      EMITS(IN_SPAWN(INT64_MAX, 203),
            EV_RESTARTED(INT64_MAX, 2, 103, 203, INT64_MAX), 0),
  };
  RUN_STEPS(s, extremes);
  EXPECT_PIDS(s, 201, 202, 203);
  st_supv_destroy(s);
}
END_TEST

/* ----------------------------------------------------------------- errors */

START_TEST(test_create_rejects_bad_arguments) {
  st_supv_t *sentinel = (st_supv_t *)&sentinel;
  st_supv_t *s = sentinel;
  static const st_supv_child_t ok[] = {{101, P}, {102, TR}};
  ck_assert_int_eq(st_supv_create(NULL, 2, &s), ST_EINVAL);
  ck_assert_ptr_eq(s, sentinel);
  ck_assert_int_eq(st_supv_create(ok, 2, NULL), ST_EINVAL);

  st_supv_child_t bad[] = {{101, P}, {102, (st_supv_restart_t)3}};
  ck_assert_int_eq(st_supv_create(bad, 2, &s), ST_EINVAL);
  ck_assert_ptr_eq(s, sentinel);
  bad[1].restart = (st_supv_restart_t)-1;
  ck_assert_int_eq(st_supv_create(bad, 2, &s), ST_EINVAL);
  ck_assert_ptr_eq(s, sentinel);

  /* One pid cannot be two children. */
  static const st_supv_child_t twice[] = {{101, P}, {102, P}, {101, TR}};
  ck_assert_int_eq(st_supv_create(twice, 3, &s), ST_EINVAL);
  ck_assert_ptr_eq(s, sentinel);

  /* Several children not running are fine; so is an empty map with or
   * without an array. */
  static const st_supv_child_t idle[] = {{0, P}, {0, TEMP}, {0, TR}};
  st_supv_destroy(NEW_SUPV(idle));
  ck_assert_int_eq(st_supv_create(ok, 0, &s), ST_OK);
  ck_assert_uint_eq(st_supv_child_count(s), 0);
  st_supv_destroy(s);
  s = sentinel;
  ck_assert_int_eq(st_supv_create(NULL, 0, &s), ST_OK);
  ck_assert_ptr_ne(s, sentinel);
  st_supv_destroy(s);
  st_supv_destroy(NULL);
}
END_TEST

/* Feeds an input that must fail with ST_EINVAL and checks that neither the
 * out parameters nor the state moved. */
static void expect_einval(st_supv_t *s, const st_supv_input_t *in,
                          const char *what) {
  st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT];
  st_supv_event_t before[ST_SUPV_MAX_EVENTS_PER_INPUT];
  memset(out, 0xA5, sizeof out);
  memcpy(before, out, sizeof out);
  size_t n_out = 77;
  size_t count = st_supv_child_count(s), pending = st_supv_pending(s);
  uint64_t pid0 = st_supv_child_pid(s, 0);
  int rc = st_supv_feed(s, in, out, &n_out);
  ck_assert_msg(rc == ST_EINVAL, "%s: rc %d, expected ST_EINVAL", what, rc);
  ck_assert_msg(n_out == 77, "%s: n_out changed to %zu", what, n_out);
  ck_assert_msg(memcmp(out, before, sizeof out) == 0, "%s: out was written",
                what);
  ck_assert_uint_eq(st_supv_child_count(s), count);
  ck_assert_uint_eq(st_supv_pending(s), pending);
  ck_assert_uint_eq(st_supv_child_pid(s, 0), pid0);
}

START_TEST(test_feed_rejects_bad_arguments) {
  static const st_supv_child_t children[] = {{101, P}, {102, P}};
  st_supv_t *s = NEW_SUPV(children);
  const st_supv_input_t spawn = IN_SPAWN(10, 201);
  st_supv_event_t out[ST_SUPV_MAX_EVENTS_PER_INPUT];
  size_t n_out = 77;
  ck_assert_int_eq(st_supv_feed(NULL, &spawn, out, &n_out), ST_EINVAL);
  ck_assert_int_eq(st_supv_feed(s, NULL, out, &n_out), ST_EINVAL);
  ck_assert_int_eq(st_supv_feed(s, &spawn, NULL, &n_out), ST_EINVAL);
  ck_assert_uint_eq(n_out, 77);
  ck_assert_int_eq(st_supv_feed(s, &spawn, out, NULL), ST_EINVAL);
  ck_assert_uint_eq(st_supv_child_count(s), 2); /* the spawn never happened */

  st_supv_input_t in = IN_CRASH(10, 101, R_CRASH);
  in.kind = (st_supv_input_kind_t)0;
  expect_einval(s, &in, "kind 0");
  in.kind = (st_supv_input_kind_t)5;
  expect_einval(s, &in, "kind 5");
  in.kind = (st_supv_input_kind_t)-1;
  expect_einval(s, &in, "kind -1");

  const st_supv_input_t zero_spawn = IN_SPAWN(10, 0);
  const st_supv_input_t zero_exit = IN_CRASH(10, 0, R_CRASH);
  const st_supv_input_t zero_down = IN_DOWN(10, 0, R_SHUTDOWN);
  expect_einval(s, &zero_spawn, "SPAWN of pid 0");
  expect_einval(s, &zero_exit, "CHILD_EXIT of pid 0");
  expect_einval(s, &zero_down, "CHILD_DOWN of pid 0");

  /* A child waiting changes nothing. */
  static const step_t one_waits[] = {
      EMITS(IN_CRASH(20, 102, R_CRASH), EV_TERMINATED(20, 1, 102, R_CRASH),
            1),
  };
  RUN_STEPS(s, one_waits);
  expect_einval(s, &zero_spawn, "SPAWN of pid 0 while a child waits");

  /* SUPERVISOR_EXIT ignores its pid. Bad inputs stay errors afterwards,
   * good ones are ignored. */
  static const step_t gone[] = {
      EMITS(IN_SUP_EXIT(30, R_SHUTDOWN), EV_SUP_TERMINATED(30, R_SHUTDOWN), 1),
      QUIET(IN_SPAWN(31, 202), 1),
  };
  RUN_STEPS(s, gone);
  expect_einval(s, &zero_spawn, "SPAWN of pid 0 after the supervisor exited");
  expect_einval(s, &in, "kind -1 after the supervisor exited");
  EXPECT_PIDS(s, 101, 0);
  st_supv_destroy(s);
}
END_TEST

START_TEST(test_queries_tolerate_null_and_out_of_range) {
  ck_assert_uint_eq(st_supv_child_count(NULL), 0);
  ck_assert_uint_eq(st_supv_child_pid(NULL, 0), 0);
  ck_assert_uint_eq(st_supv_pending(NULL), 0);
  st_supv_t *s = NEW_SUPV(three_permanent);
  ck_assert_uint_eq(st_supv_child_pid(s, 3), 0);
  ck_assert_uint_eq(st_supv_child_pid(s, SIZE_MAX), 0);
  st_supv_destroy(s);
}
END_TEST

/* ------------------------------------------------------------------ model */

/* The header's rules, written again with arrays and linear scans. */
typedef struct model_s {
  size_t len, cap;
  uint64_t *pid, *last_pid;
  int *restart;
  bool *waiting, *has_fail;
  int64_t *fail;
  uint64_t *episode, episodes;
  bool has_last_fail, gone;
  int64_t last_fail;
} model_t;

static void model_grow(model_t *m) {
  m->cap = m->cap ? 2 * m->cap : 64;
  m->pid = realloc(m->pid, m->cap * sizeof *m->pid);
  m->last_pid = realloc(m->last_pid, m->cap * sizeof *m->last_pid);
  m->restart = realloc(m->restart, m->cap * sizeof *m->restart);
  m->waiting = realloc(m->waiting, m->cap * sizeof *m->waiting);
  m->has_fail = realloc(m->has_fail, m->cap * sizeof *m->has_fail);
  m->fail = realloc(m->fail, m->cap * sizeof *m->fail);
  m->episode = realloc(m->episode, m->cap * sizeof *m->episode);
  ck_assert(m->pid && m->last_pid && m->restart && m->waiting &&
            m->has_fail && m->fail && m->episode);
}

static void model_add(model_t *m, uint64_t pid, int restart) {
  if (m->len == m->cap) model_grow(m);
  size_t i = m->len++;
  m->pid[i] = pid;
  m->last_pid[i] = 0;
  m->restart[i] = restart;
  m->waiting[i] = false;
  m->has_fail[i] = false;
  m->fail[i] = 0;
  m->episode[i] = 0;
}

static void model_free(model_t *m) {
  free(m->pid);
  free(m->last_pid);
  free(m->restart);
  free(m->waiting);
  free(m->has_fail);
  free(m->fail);
  free(m->episode);
}

static size_t model_pending(const model_t *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->len; i++) n += m->waiting[i];
  return n;
}

/* The events the header prescribes for in (0 or 1 of them). */
static size_t model_feed(model_t *m, const st_supv_input_t *in,
                         st_supv_event_t *ev) {
  if (m->gone) return 0;
  memset(ev, 0, sizeof *ev);
  ev->time = in->time;
  if (in->kind == ST_SUPV_IN_SUPERVISOR_EXIT) {
    m->gone = true;
    ev->kind = ST_SUPV_SUPERVISOR_TERMINATED;
    ev->reason = in->reason;
    return 1;
  }
  size_t found = SIZE_MAX;
  for (size_t i = 0; i < m->len && found == SIZE_MAX; i++)
    if (m->pid[i] == in->pid) found = i;
  if (in->kind == ST_SUPV_IN_SPAWN) {
    if (found != SIZE_MAX) return 0;
    /* The waiting child of the oldest episode, first in start order. */
    size_t next = SIZE_MAX;
    for (size_t i = 0; i < m->len; i++)
      if (m->waiting[i] && (next == SIZE_MAX || m->episode[i] < m->episode[next]))
        next = i;
    for (size_t i = next; i != SIZE_MAX; i = SIZE_MAX) {
      m->waiting[i] = false;
      m->pid[i] = in->pid;
      ev->kind = ST_SUPV_CHILD_RESTARTED;
      ev->child = i;
      ev->old_pid = m->last_pid[i];
      ev->new_pid = in->pid;
      ev->latency = m->has_fail[i] && in->time > m->fail[i]
                        ? in->time - m->fail[i]
                        : 0;
      return 1;
    }
    model_add(m, in->pid, ST_SUPV_PERMANENT);
    ev->kind = ST_SUPV_CHILD_STARTED;
    ev->child = m->len - 1;
    ev->new_pid = in->pid;
    return 1;
  }
  if (found == SIZE_MAX) return 0;
  bool exited = in->kind == ST_SUPV_IN_CHILD_EXIT;
  if (exited) {
    m->last_fail = in->time;
    m->has_last_fail = true;
  }
  m->last_pid[found] = in->pid;
  m->pid[found] = 0;
  bool waits = m->restart[found] == ST_SUPV_PERMANENT ||
               (m->restart[found] == ST_SUPV_TRANSIENT &&
                (!exited || (in->flags & ST_SUPV_ABNORMAL)));
  if (waits) {
    size_t front = SIZE_MAX;
    for (size_t i = 0; i < m->len; i++)
      if (m->waiting[i] && (front == SIZE_MAX || m->episode[i] < m->episode[front]))
        front = i;
    if (!exited && front != SIZE_MAX) {
      m->episode[found] = m->episode[front];
      m->fail[found] = m->fail[front];
      m->has_fail[found] = m->has_fail[front];
    } else {
      m->episode[found] = ++m->episodes;
      m->fail[found] = m->last_fail;
      m->has_fail[found] = m->has_last_fail;
    }
    m->waiting[found] = true;
  }
  ev->kind = ST_SUPV_CHILD_TERMINATED;
  ev->child = found;
  ev->old_pid = in->pid;
  ev->reason = in->reason;
  return 1;
}

/* A random current pid (from a random child), else some earlier pid. */
static uint64_t pick_pid(test_rng_t *rng, const model_t *m, uint64_t next_pid) {
  if (m->len > 0 && test_rng_unit(rng) < 0.85) {
    size_t i = (size_t)test_rng_between(rng, 0, m->len - 1);
    if (m->pid[i] != 0) return m->pid[i];
  }
  return test_rng_between(rng, 1, next_pid - 1);
}

START_TEST(test_random_inputs_against_model) {
  enum { STEPS = 30000 };
  test_rng_t rng = test_rng_seeded(0x5C0FFEE0ULL + (uint64_t)_i);
  model_t m = {0};
  size_t n0 = (size_t)test_rng_between(&rng, 0, 40);
  st_supv_child_t *children = malloc((n0 + 1) * sizeof *children);
  ck_assert_ptr_nonnull(children);
  uint64_t next_pid = 1;
  for (size_t i = 0; i < n0; i++) {
    children[i].restart = (st_supv_restart_t)test_rng_between(&rng, 0, 2);
    children[i].pid = test_rng_unit(&rng) < 0.2 ? 0 : next_pid++;
    model_add(&m, children[i].pid, (int)children[i].restart);
  }
  if (next_pid == 1) next_pid = 2; /* pick_pid needs a range */
  st_supv_t *s = new_supv_(children, n0);
  free(children);

  int64_t t = 0;
  char where[64];
  for (size_t step = 0; step < STEPS; step++) {
    t += (int64_t)test_rng_between(&rng, 0, 50);
    st_supv_input_t in = {ST_SUPV_IN_SPAWN, 0, t, 0, 0};
    unsigned r = (unsigned)test_rng_between(&rng, 0, 99);
    if (step == STEPS - 200) {
      in.kind = ST_SUPV_IN_SUPERVISOR_EXIT;
      in.reason = R_SHUTDOWN;
    } else if (r < 30) {
      in.pid = next_pid++;
    } else if (r < 35) {
      in.pid = pick_pid(&rng, &m, next_pid); /* often a current child */
    } else if (r < 75) {
      in.kind = ST_SUPV_IN_CHILD_EXIT;
      in.pid = pick_pid(&rng, &m, next_pid);
      in.flags = test_rng_unit(&rng) < 0.7 ? ST_SUPV_ABNORMAL : 0;
      in.reason = in.flags ? R_CRASH : R_NORMAL;
    } else {
      in.kind = ST_SUPV_IN_CHILD_DOWN;
      in.pid = pick_pid(&rng, &m, next_pid);
      in.flags = test_rng_unit(&rng) < 0.2 ? ST_SUPV_ABNORMAL : 0;
      in.reason = in.flags ? R_KILLED : R_SHUTDOWN;
    }
    st_supv_event_t want;
    size_t n = model_feed(&m, &in, &want);
    snprintf(where, sizeof where, "seed %d step %zu", _i, step);
    feed_expect(s, &in, &want, n, where);
    require_msg(st_supv_child_count(s) == m.len &&
                    st_supv_pending(s) == model_pending(&m),
                "%s: %zu children, %zu waiting; model %zu, %zu", where,
                st_supv_child_count(s), st_supv_pending(s), m.len,
                model_pending(&m));
    if (step % 1000 == 0 || step == STEPS - 1)
      for (size_t i = 0; i < m.len; i++)
        require_msg(st_supv_child_pid(s, i) == m.pid[i],
                    "%s: child %zu has pid %llu, model %llu", where, i,
                    (unsigned long long)st_supv_child_pid(s, i),
                    (unsigned long long)m.pid[i]);
  }
  st_supv_destroy(s);
  model_free(&m);
}
END_TEST

Suite *supervision_suite(void) {
  Suite *s = suite_create("supervision");

  TCase *strategies = tcase_create("strategies");
  tcase_add_test(strategies, test_one_for_one_restarts_only_the_crashed_child);
  tcase_add_test(strategies, test_one_for_all_restarts_all_in_start_order);
  tcase_add_test(strategies, test_one_for_all_flushed_exit_after_down_is_stale);
  tcase_add_test(strategies,
                 test_rest_for_one_restarts_the_crashed_child_and_later_ones);
  tcase_add_test(strategies, test_failed_restart_is_retried);
  tcase_add_test(strategies, test_restart_intensity_exceeded_ends_everything);
  tcase_add_test(strategies,
                 test_supervisor_shutdown_terminates_children_last_first);
  suite_add_tcase(s, strategies);

  TCase *types = tcase_create("restart_types");
  tcase_add_test(types, test_transient_normal_exits_are_not_restarted);
  tcase_add_test(types, test_transient_abnormal_exit_is_restarted);
  tcase_add_test(types, test_transient_shut_down_by_supervisor_is_restarted);
  tcase_add_test(types, test_temporary_child_is_never_restarted);
  tcase_add_test(types, test_temporary_sibling_in_cascade_is_not_restarted);
  suite_add_tcase(s, types);

  TCase *pids = tcase_create("pids");
  tcase_add_test(pids, test_stale_and_unknown_pids_are_ignored);
  tcase_add_test(pids,
                 test_spawn_of_current_pid_while_children_wait_is_ignored);
  tcase_add_test(
      pids, test_not_running_child_in_map_does_not_wait_so_spawn_is_new_child);
  tcase_add_test(pids, test_back_to_back_crashes_match_their_children);
  tcase_add_test(pids, test_queued_exits_measure_latency_from_own_exit);
  tcase_add_test(pids, test_dynamic_children_grow_and_restart_in_crash_order);
  suite_add_tcase(s, pids);

  TCase *latency = tcase_create("latency");
  tcase_add_test(latency, test_restart_without_any_exit_has_zero_latency);
  tcase_add_test(latency, test_latency_is_never_negative_and_saturates);
  suite_add_tcase(s, latency);

  TCase *errors = tcase_create("errors");
  tcase_add_test(errors, test_create_rejects_bad_arguments);
  tcase_add_test(errors, test_feed_rejects_bad_arguments);
  tcase_add_test(errors, test_queries_tolerate_null_and_out_of_range);
  suite_add_tcase(s, errors);

  TCase *model = tcase_create("model");
  tcase_add_loop_test(model, test_random_inputs_against_model, 0, 4);
  suite_add_tcase(s, model);
  return s;
}
