/* supertester trace: a bounded trace of a process's messages, or of a
 * supervisor's child exits and starts. The agent on the node enforces the
 * bounds; events print as they arrive. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void on_event(void *ud, const st_trace_event_t *e) {
  cli_t *cli = ud;
  if (cli->json) {
    st_json_t *j = &cli->out;
    st_json_begin_object(j);
    st_json_key(j, "us");
    st_json_int(j, e->us);
    st_json_key(j, "event");
    st_json_string(j, e->what);
    st_json_key(j, "peer");
    st_json_string(j, e->peer);
    st_json_key(j, "detail");
    st_json_string(j, e->detail);
    st_json_end_object(j);
    return;
  }
  printf("%10.3f ms  %-14s %-16s %s\n", (double)e->us / 1e3, e->what, e->peer, e->detail);
  fflush(stdout);
}

int cmd_trace(cli_t *cli) {
  bool supervision = strcmp(cli->kind, "supervision") == 0;
  const char *target = cli->process;
  int code = EXIT_OK;
  char *sup = NULL;
  if (target == NULL && supervision) target = sup = cli_supervisor(cli, &code);
  if (target == NULL)
    return code != EXIT_OK ? code
                           : cli_fail(cli, ST_EINVAL, "trace needs --process NAME (or "
                                                      "--kind supervision --supervisor NAME)");
  if (cli->json) {
    st_json_key(&cli->out, "events");
    st_json_begin_array(&cli->out);
  }
  st_trace_result_t res;
  int rc = st_cnode_trace(cli->conns[0], target,
                          supervision ? ST_TRACE_SUPERVISION : ST_TRACE_MESSAGES,
                          cli->max_events, cli->duration_ms > 0 ? cli->duration_ms : 5000,
                          on_event, cli, &res);
  if (cli->json) st_json_end_array(&cli->out);
  if (rc != ST_OK) {
    code = cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  } else if (cli->json) {
    st_json_key(&cli->out, "count");
    st_json_uint(&cli->out, res.events);
    st_json_key(&cli->out, "dropped");
    st_json_uint(&cli->out, res.dropped);
    st_json_key(&cli->out, "stopped_by");
    st_json_string(&cli->out, res.why);
  } else {
    printf("%llu events, %llu dropped, stopped by %s\n", (unsigned long long)res.events,
           (unsigned long long)res.dropped, res.why);
  }
  free(sup);
  return code;
}
