/* The C-node: attaching to a running Erlang/Elixir node from outside the
 * VM (erl_interface + libuv) to test the real processes running there.
 *
 * One st_cnode_t is one hidden node with one event loop; it can attach to
 * several nodes at once (st_conn_t each). Attaching loads a small agent
 * module onto the target (c_src/cnode/AGENT_PROTOCOL.md): it monitors and
 * traces there, and removes everything it did, itself included, when the
 * C-node detaches or its connection drops.
 *
 * Every function here is synchronous for its caller and bounded by a
 * timeout; while one waits, the loop keeps serving every connection (ticks
 * are answered, events are read). Failing functions return an st_err code
 * and leave a sentence for a person in st_cnode_error(). A cookie is a
 * secret: nothing here prints or logs one, and no error text carries it. */
#ifndef SUPERTESTER_CNODE_H
#define SUPERTESTER_CNODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "supertester/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest node name distribution accepts ("name@host"), and the
 * longest cookie (both are atoms on the Erlang side). */
#define ST_CNODE_MAX_NODE 255
#define ST_CNODE_MAX_COOKIE 255

/* Splits "name@host" into its parts (NUL-terminated, into buffers of
 * name_cap and host_cap bytes). The name is letters, digits, '_' and '-';
 * the host is letters, digits, '.', '-' and '_' (an IPv4 address too).
 * ST_EINVAL for a malformed name (no or two '@', an empty part, another
 * character, longer than ST_CNODE_MAX_NODE), ST_ERANGE when a buffer is
 * too small. Writes nothing on error. */
int st_cnode_parse_node(const char *node, char *name, size_t name_cap, char *host,
                        size_t host_cap);

/* Where a cookie came from. */
typedef enum st_cookie_source_e {
  ST_COOKIE_OPTION = 1,  /* given explicitly (--cookie) */
  ST_COOKIE_ENV = 2,     /* the environment (SUPERTESTER_COOKIE) */
  ST_COOKIE_FILE = 3     /* $HOME/.erlang.cookie */
} st_cookie_source_t;

/* The environment variable read for a cookie. */
#define ST_COOKIE_ENV_VAR "SUPERTESTER_COOKIE"

/* Finds the cookie: `option` when not NULL, else `env` (the caller passes
 * getenv(ST_COOKIE_ENV_VAR), so tests need not touch the environment)
 * when not NULL, else the file .erlang.cookie in `home`. The first source
 * present is used, even when it is invalid (a bad --cookie is an error,
 * not a reason to try the file).
 *
 * Like erl, the file must be a regular file that only its owner can read
 * or write (ST_EPERM otherwise); trailing white space (the file's newline)
 * is dropped. A cookie is 1 to ST_CNODE_MAX_COOKIE printable ASCII
 * characters without spaces (ST_EINVAL otherwise). ST_ENOTFOUND when
 * there is no source (no option, no variable, no file or no home);
 * ST_ERANGE when cap is too small. Writes the cookie and *source (may be
 * NULL) only on success. */
int st_cnode_resolve_cookie(const char *option, const char *env, const char *home,
                            char *out, size_t cap, st_cookie_source_t *source);

/* ------------------------------------------------------------- sessions */

typedef struct st_cnode_s st_cnode_t; /* one hidden node, one event loop */
typedef struct st_conn_s st_conn_t;   /* one attached node */
typedef struct st_term_s st_term_t;   /* an Erlang term, encoded */

typedef struct st_cnode_opts_s {
  const char *cookie;     /* required (st_cnode_resolve_cookie) */
  const char *agent_beam; /* supertester_agent.beam; NULL: the environment's
                             SUPERTESTER_AGENT_BEAM, else ../ beside the
                             running program (priv/bin/..), else the
                             build's priv/ */
  unsigned timeout_ms;    /* bound of each wait unless a call names one;
                             0: 5000 */
  bool no_agent;          /* attach without loading the agent: only calls,
                             casts and cast_and_sync work (the lightest
                             footprint on a node, and how tests check one) */
} st_cnode_opts_t;

/* A hidden node named supertester_<pid>_<n>@<this host>. */
int st_cnode_new(const st_cnode_opts_t *opts, st_cnode_t **out);
/* Detaches every node still attached, then frees. NULL is ignored. */
void st_cnode_free(st_cnode_t *cn);
/* The last error's sentence ("" after a success). */
const char *st_cnode_error(const st_cnode_t *cn);
/* Waits ms while the loop keeps serving every connection (ticks, events):
 * the way to space samples without leaving the node unanswered. */
void st_cnode_pause(st_cnode_t *cn, unsigned ms);
/* This node's own name. */
const char *st_cnode_name(const st_cnode_t *cn);

/* Connects to `node` ("name@host") and starts an agent there. The errors
 * say why: ST_ENOEPMD, ST_ENONODE, ST_EAUTH, ST_ETIMEDOUT, ST_EAGENT (the
 * agent could not be loaded or started), ST_EINVAL (a malformed name). */
int st_cnode_attach(st_cnode_t *cn, const char *node, st_conn_t **out);
/* Stops the agent, unloads it and closes the connection; frees conn.
 * ST_ENODELOST when the node was already gone (conn is freed anyway). */
int st_cnode_detach(st_conn_t *conn);
const char *st_conn_node(const st_conn_t *conn);
/* Whether the connection has dropped (the node died or cut it). */
bool st_conn_lost(const st_conn_t *conn);
/* Messages that reached this node but matched no request (counted, then
 * dropped). */
uint64_t st_conn_unexpected(const st_conn_t *conn);

/* ---------------------------------------------------------------- terms */

/* Parses Erlang term text ("{add, 1}.", the dot optional) on the node,
 * with the node's own parser. ST_EINVAL with the parser's message. */
int st_term_parse(st_conn_t *conn, const char *text, st_term_t **out);
/* An atom. */
int st_term_atom(const char *name, st_term_t **out);
/* The term as Erlang would print it; malloc'd, the caller frees. */
char *st_term_format(const st_term_t *t);
/* The term in the external format, without the version byte. */
const char *st_term_bytes(const st_term_t *t, size_t *len);
void st_term_free(st_term_t *t);

/* Evaluates Erlang expressions ("lists:sum([1, 2])." ) on the node with
 * its own erl_eval, through rex: no agent needed. A failure (bad syntax,
 * an exception) is ST_EINVAL or ST_EAGENT with the reason in the error. */
int st_cnode_eval(st_conn_t *conn, const char *exprs, st_term_t **value);

/* ------------------------------------------------------- servers (calls) */

/* gen_server:call(server, request) from this node; the reply in *reply.
 * ST_ETIMEDOUT when no reply within timeout_ms (0: the session's). */
int st_cnode_call(st_conn_t *conn, const char *server, const st_term_t *request,
                  unsigned timeout_ms, st_term_t **reply);
/* gen_server:cast(server, request). */
int st_cnode_cast(st_conn_t *conn, const char *server, const st_term_t *request);
/* A cast, then a sys get_state request to the same server: the server
 * handles messages from one sender in order, so when the second is
 * answered the cast has been handled. */
int st_cnode_cast_and_sync(st_conn_t *conn, const char *server, const st_term_t *request,
                           unsigned timeout_ms);

/* ---------------------------------------------------------- supervisors */

typedef struct st_sup_tree_s st_sup_tree_t;

typedef struct st_sup_child_s {
  char *id;            /* the id as Erlang prints it */
  st_term_t *id_term;  /* the id itself, to name the child again */
  char *pid;           /* "<0.93.0>", "restarting" or "undefined" */
  bool supervisor;     /* type supervisor, else worker */
  char restart[16];    /* permanent | transient | temporary */
  st_sup_tree_t *sub;  /* a running supervisor child's own tree, else NULL */
} st_sup_child_t;

struct st_sup_tree_s {
  char *name;          /* registered name, or NULL */
  char *pid;
  char strategy[32];   /* one_for_one, one_for_all, rest_for_one, ... */
  long intensity, period;
  size_t n_children;
  st_sup_child_t *children; /* in start order */
};

/* The tree under `sup` (a registered name), or under application `app`'s
 * top supervisor when sup is NULL. */
int st_cnode_tree(st_conn_t *conn, const char *sup, const char *app, st_sup_tree_t **out);
void st_sup_tree_free(st_sup_tree_t *t);
/* Whether the child runs (its pid is a pid, not restarting/undefined). */
bool st_sup_child_running(const st_sup_child_t *child);

typedef struct st_kill_child_s {
  char *id;
  char *before, *after; /* pids */
  bool restarted;       /* its pid changed to a new pid */
  bool expected;        /* the strategy promises its restart */
} st_kill_child_t;

typedef struct st_kill_report_s {
  char *victim;       /* the killed child's id */
  char strategy[32];
  int64_t elapsed_us; /* from the kill to the supervisor done restarting */
  size_t n_children;
  st_kill_child_t *children; /* in start order */
  bool as_promised;   /* restarted == expected, child by child */
} st_kill_report_t;

/* Kills child `id` of `sup` and waits (event-driven, on the agent) until
 * the supervisor has handled it; the report compares who restarted with
 * what the strategy promises. ST_ENOTFOUND for no such child; ST_EAGENT
 * with the reason in st_cnode_error() otherwise. */
int st_cnode_kill_child(st_conn_t *conn, const char *sup, const st_term_t *id,
                        unsigned timeout_ms, st_kill_report_t **out);
void st_kill_report_free(st_kill_report_t *r);

typedef struct st_restart_s {
  char old_pid[48], new_pid[48];
  int64_t elapsed_us; /* the supervisor receiving the exit to the restart done */
} st_restart_t;

/* Waits for the next restart of child `id` of `sup`, whatever kills it
 * (event-driven: the agent traces the supervisor). on_armed (may be NULL)
 * is called once the wait is armed: a death before that may be missed, so
 * whoever causes the restart is told then. It runs inside the loop: it
 * must not call this library (signal another thread or process instead).
 * ST_ETIMEDOUT when no restart within timeout_ms; ST_EAGENT with
 * supervisor_died or not_restarted in the error otherwise. */
int st_cnode_wait_restart(st_conn_t *conn, const char *sup, const st_term_t *id,
                          unsigned timeout_ms, void (*on_armed)(void *ud), void *ud,
                          st_restart_t *out);

/* exit(Target, Reason) for a registered process, waiting until it is
 * dead. */
int st_cnode_kill(st_conn_t *conn, const char *target, const char *reason);

/* ----------------------------------------------------------- processes */

typedef struct st_proc_sample_s {
  uint64_t memory, reductions, message_queue_len;
} st_proc_sample_t;

/* ST_ENOTFOUND when no such process is alive. */
int st_cnode_process_info(st_conn_t *conn, const char *target, st_proc_sample_t *out);

/* ------------------------------------------------------------- tracing */

typedef enum st_trace_kind_e { ST_TRACE_MESSAGES = 1, ST_TRACE_SUPERVISION = 2 } st_trace_kind_t;

typedef struct st_trace_event_s {
  int64_t us;        /* since the trace began */
  const char *what;  /* send, receive, child_exit, child_started */
  const char *peer;  /* the other process (or the child) */
  const char *detail;/* the message, the exit reason, the start MFA */
} st_trace_event_t;

typedef struct st_trace_result_s {
  uint64_t events, dropped;
  char why[16]; /* max_events | duration | target_down | backlog */
} st_trace_result_t;

/* Traces `target` on the node for at most max_events events and
 * duration_ms; each event is handed to on_event as it arrives (its strings
 * live until the callback returns). The agent enforces the limits. */
int st_cnode_trace(st_conn_t *conn, const char *target, st_trace_kind_t kind,
                   uint32_t max_events, uint32_t duration_ms,
                   void (*on_event)(void *ud, const st_trace_event_t *e), void *ud,
                   st_trace_result_t *out);

/* ----------------------------------------------------- several nodes */

typedef struct st_partition_report_s {
  int64_t apart_us;     /* how long the nodes could not reach each other */
  int64_t reconnect_us; /* how long the reconnection took */
} st_partition_report_t;

/* Keeps a's node and peer_node apart for duration_ms (the agent on a's
 * node refuses the peer's cookie meanwhile), then reconnects them. */
int st_cnode_partition(st_conn_t *a, const char *peer_node, uint32_t duration_ms,
                       st_partition_report_t *out);

/* Whether `name` is registered on the node and answers a sys request. */
int st_cnode_service_alive(st_conn_t *conn, const char *name, unsigned timeout_ms, bool *alive);

/* ---------------------------------------------------------------- chaos */

/* The default bound on a run's kills: the Erlang ChaosHelpers' default,
 * so that the same options draw the same plan string on both sides. */
#define ST_CNODE_CHAOS_MAX_KILLS 1000

typedef struct st_cnode_chaos_opts_s {
  uint64_t seed;
  double kill_rate;      /* chance that a tick kills, 0..1 */
  uint32_t duration_ms;  /* ticks while before this */
  uint32_t interval_ms;  /* between ticks */
  uint32_t jitter_pct;   /* 0..100 */
  uint32_t max_kills;    /* 0: ST_CNODE_CHAOS_MAX_KILLS */
  unsigned recovery_timeout_ms; /* per kill; 0: the session's */
  const char *plan;      /* replay this plan string instead of drawing one */
  /* Called after each kill (may be NULL): done of total, the kill's report. */
  void (*on_kill)(void *ud, size_t done, size_t total, const st_kill_report_t *r);
  void *ud;
} st_cnode_chaos_opts_t;

typedef struct st_cnode_chaos_kill_s {
  uint32_t at_ms;        /* planned time from the start of the run */
  char *victim;          /* the child's id */
  int status;            /* ST_OK, or why this kill has no report */
  char *error;           /* then: the sentence saying why */
  bool as_promised;      /* the restarts matched the strategy */
  int64_t recovery_us;   /* kill to supervisor done */
} st_cnode_chaos_kill_t;

typedef struct st_cnode_chaos_report_s {
  uint64_t seed;
  char *plan;            /* st_chaos_plan_format's string: replays the run */
  char strategy[32];
  size_t n_kills;
  st_cnode_chaos_kill_t *kills;
  size_t as_promised;    /* kills whose restarts matched the strategy */
  size_t failed;         /* kills that could not be made or checked */
  bool supervisor_crashed;
  bool recovered;        /* at the end every child that ran at the start runs */
  uint64_t recovery_p50_us, recovery_p99_us, recovery_max_us;
  int64_t elapsed_us;
} st_cnode_chaos_report_t;

/* A seeded chaos run on the direct children of `sup`: the chaos core
 * draws the plan (targets by start order, as the Erlang ChaosHelpers do),
 * each kill is checked like st_cnode_kill_child, and recovery is verified
 * at the end. The same seed on the same tree kills the same children. */
int st_cnode_chaos(st_conn_t *conn, const char *sup, const st_cnode_chaos_opts_t *opts,
                   st_cnode_chaos_report_t **out);
void st_cnode_chaos_report_free(st_cnode_chaos_report_t *r);

/* ---------------------------------------------------------------- bench */

typedef struct st_cnode_bench_opts_s {
  const char *server;      /* registered name */
  const st_term_t *request;
  uint32_t callers;        /* concurrent callers, >= 1 */
  uint32_t duration_ms;    /* or, when calls > 0, until that many calls */
  uint64_t calls;
  unsigned call_timeout_ms;
} st_cnode_bench_opts_t;

typedef struct st_cnode_bench_result_s {
  uint64_t calls, errors;
  double elapsed_s, throughput; /* calls per second */
  uint64_t p50_ns, p90_ns, p99_ns, max_ns, min_ns;
  double mean_ns;
} st_cnode_bench_result_t;

/* N callers, each making its next call when its reply arrives, all on the
 * loop; latencies go to a metrics-core histogram. */
int st_cnode_bench(st_conn_t *conn, const st_cnode_bench_opts_t *opts,
                   st_cnode_bench_result_t *out);

#ifdef __cplusplus
}
#endif

#endif
