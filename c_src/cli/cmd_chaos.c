/* supertester chaos: a seeded chaos run on a supervisor's children with
 * recovery verified; prints the seed and the command that replays it.
 * Exit 1 when the supervisor crashed, did not recover, or restarted other
 * children than its strategy promises. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void progress(void *ud, size_t done, size_t total, const st_kill_report_t *r) {
  cli_t *cli = ud;
  if (!cli->tty || cli->json) return;
  fprintf(stderr, "\rchaos: %zu/%zu kills%s%s", done, total, r != NULL ? ", last: " : "",
          r != NULL ? r->victim : "");
  fprintf(stderr, "\x1b[K%s", done == total ? "\n" : "");
  fflush(stderr);
}

static void print_report(const cli_t *cli, const char *sup, const st_cnode_chaos_report_t *r) {
  char a[32], b[32], c[32];
  printf("chaos on %s (%s), seed %" PRIu64 ": %zu kills, %zu as the strategy promises\n", sup,
         r->strategy, r->seed, r->n_kills, r->as_promised);
  printf("  %-8s %-24s %-12s %s\n", "at", "victim", "recovery", "restarts");
  for (size_t i = 0; i < r->n_kills; i++) {
    const st_cnode_chaos_kill_t *k = &r->kills[i];
    snprintf(a, sizeof a, "%u ms", k->at_ms);
    printf("  %-8s %-24s %-12s %s\n", a, k->victim,
           k->status == ST_OK ? cli_us(k->recovery_us, b, sizeof b) : "-",
           k->status != ST_OK ? (k->error != NULL ? k->error : st_strerror(k->status))
           : k->as_promised   ? "as promised"
                              : "DIFFER");
  }
  printf("recovery: p50 %s, p99 %s, max %s\n", cli_us((int64_t)r->recovery_p50_us, a, sizeof a),
         cli_us((int64_t)r->recovery_p99_us, b, sizeof b),
         cli_us((int64_t)r->recovery_max_us, c, sizeof c));
  printf("supervisor %s; %s\n", r->supervisor_crashed ? "CRASHED" : "survived",
         r->recovered ? "every child runs again" : "NOT every child runs again");
  printf("plan: %s\n", r->plan);
  printf("replay: supertester chaos %s --supervisor %s --plan '%s'\n", cli->nodes[0], sup,
         r->plan);
}

static void json_report(st_json_t *j, const st_cnode_chaos_report_t *r) {
  st_json_key(j, "seed");
  st_json_uint(j, r->seed);
  st_json_key(j, "plan");
  st_json_string(j, r->plan);
  st_json_key(j, "strategy");
  st_json_string(j, r->strategy);
  st_json_key(j, "supervisor_crashed");
  st_json_bool(j, r->supervisor_crashed);
  st_json_key(j, "recovered");
  st_json_bool(j, r->recovered);
  st_json_key(j, "as_promised");
  st_json_uint(j, r->as_promised);
  st_json_key(j, "failed");
  st_json_uint(j, r->failed);
  st_json_key(j, "recovery_us");
  st_json_begin_object(j);
  st_json_key(j, "p50");
  st_json_uint(j, r->recovery_p50_us);
  st_json_key(j, "p99");
  st_json_uint(j, r->recovery_p99_us);
  st_json_key(j, "max");
  st_json_uint(j, r->recovery_max_us);
  st_json_end_object(j);
  st_json_key(j, "elapsed_us");
  st_json_int(j, r->elapsed_us);
  st_json_key(j, "kills");
  st_json_begin_array(j);
  for (size_t i = 0; i < r->n_kills; i++) {
    const st_cnode_chaos_kill_t *k = &r->kills[i];
    st_json_begin_object(j);
    st_json_key(j, "at_ms");
    st_json_uint(j, k->at_ms);
    st_json_key(j, "victim");
    st_json_string(j, k->victim);
    st_json_key(j, "status");
    st_json_string(j, st_err_name(k->status));
    if (k->error != NULL) {
      st_json_key(j, "error");
      st_json_string(j, k->error);
    }
    st_json_key(j, "as_promised");
    st_json_bool(j, k->as_promised);
    st_json_key(j, "recovery_us");
    st_json_int(j, k->recovery_us);
    st_json_end_object(j);
  }
  st_json_end_array(j);
}

int cmd_chaos(cli_t *cli) {
  int code = EXIT_OK;
  char *sup = cli_supervisor(cli, &code);
  if (sup == NULL) return code;
  st_cnode_chaos_opts_t o = {.seed = cli->seed,
                             .kill_rate = cli->kill_rate,
                             .duration_ms = cli->duration_ms > 0 ? cli->duration_ms : 2000,
                             .interval_ms = cli->interval_ms,
                             .jitter_pct = cli->jitter_pct,
                             .max_kills = cli->max_kills,
                             .recovery_timeout_ms = cli->timeout_ms,
                             .plan = cli->plan,
                             .on_kill = progress,
                             .ud = cli};
  st_cnode_chaos_report_t *r = NULL;
  int rc = st_cnode_chaos(cli->conns[0], sup, &o, &r);
  if (rc != ST_OK) {
    code = cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  } else {
    if (cli->json) json_report(&cli->out, r);
    else print_report(cli, sup, r);
    bool ok = !r->supervisor_crashed && r->recovered && r->as_promised == r->n_kills;
    if (!ok)
      code = cli_check_failed(cli, "chaos check failed (seed %" PRIu64 "): %s", r->seed,
                              r->supervisor_crashed ? "the supervisor crashed"
                              : !r->recovered       ? "not every child recovered"
                              : r->failed > 0 ? "some kills could not be made or checked"
                                              : "restarts differ from the strategy's promise");
  }
  st_cnode_chaos_report_free(r);
  free(sup);
  return code;
}
