/* The supertester CLI: what its files share. main.c parses the command
 * line and attaches; each cmd_*.c is one command; out.c writes the JSON
 * envelope and the human tables. */
#ifndef SUPERTESTER_CLI_H
#define SUPERTESTER_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "json.h"
#include "supertester/cnode.h"

/* Exit codes, as the usage text documents them. */
enum {
  EXIT_OK = 0,
  EXIT_CHECK_FAILED = 1, /* ran, and what it checked did not hold */
  EXIT_USAGE = 2,
  EXIT_CONNECT = 3,      /* cannot connect or authenticate */
  EXIT_NODE_LOST = 4,    /* the node went away during the run */
  EXIT_ERROR = 5         /* the node or its agent refused the request */
};

typedef struct cli_s {
  const char *command;
  const char *nodes[2]; /* NODE, and partition's second node */
  int n_nodes;
  const char *cookie;
  const char *supervisor, *app, *child, *process, *server, *request, *kind, *plan;
  const char *services[16];
  int n_services;
  uint64_t seed;
  bool seed_given;
  unsigned timeout_ms;
  double kill_rate;
  uint32_t duration_ms, interval_ms, jitter_pct, max_kills, max_events, callers, samples;
  uint64_t calls;
  bool json;
  bool tty; /* stderr is a terminal: progress lines */
  st_cnode_t *cn;
  st_conn_t *conns[2];
  st_json_t out; /* the result object, when json */
  char error[600]; /* the failure's sentence, for stderr or the envelope */
  const char *error_code; /* st_err_name of the failure */
} cli_t;

/* Each command runs with cli->conns attached and writes its result: into
 * cli->out (inside the envelope's "result" object, already open) when
 * json, else to stdout. Returns an exit code. */
int cmd_tree(cli_t *cli);
int cmd_restart_check(cli_t *cli);
int cmd_chaos(cli_t *cli);
int cmd_trace(cli_t *cli);
int cmd_bench(cli_t *cli);
int cmd_watch(cli_t *cli);
int cmd_partition(cli_t *cli);

/* out.c */
/* The exit code for a library error, with its message on stderr (or in the
 * JSON envelope). */
int cli_fail(cli_t *cli, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The command ran, and what it checked did not hold: the sentence, the
 * error code check_failed in JSON, and EXIT_CHECK_FAILED. */
int cli_check_failed(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The supervisor the command works on: --supervisor, else the top
 * supervisor of --app (its registered name). malloc'd; NULL after cli_fail. */
char *cli_supervisor(cli_t *cli, int *exit_code);
/* A kill report's fields into the current JSON object (cmd_restart.c). */
void cli_json_kill_report(st_json_t *j, const st_kill_report_t *r);
/* "12.3 ms" style durations for tables. */
const char *cli_us(int64_t us, char *buf, size_t cap);

#endif
