/* supertester restart-check: kill one child, report who restarted against
 * what the strategy promises. Exit 1 when they differ. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

static void print_report(const st_kill_report_t *r) {
  char took[32];
  printf("killed %s (%s): supervisor done in %s\n", r->victim, r->strategy,
         cli_us(r->elapsed_us, took, sizeof took));
  printf("  %-24s %-12s %-12s %-10s %s\n", "child", "before", "after", "restarted", "promised");
  for (size_t i = 0; i < r->n_children; i++) {
    const st_kill_child_t *ch = &r->children[i];
    printf("  %-24s %-12s %-12s %-10s %s%s\n", ch->id, ch->before, ch->after,
           ch->restarted ? "yes" : "no", ch->expected ? "yes" : "no",
           ch->restarted != ch->expected ? "   <- differs" : "");
  }
  printf("%s\n", r->as_promised ? "restarts as the strategy promises"
                                : "restarts DIFFER from what the strategy promises");
}

void cli_json_kill_report(st_json_t *j, const st_kill_report_t *r) {
  st_json_key(j, "victim");
  st_json_string(j, r->victim);
  st_json_key(j, "strategy");
  st_json_string(j, r->strategy);
  st_json_key(j, "elapsed_us");
  st_json_int(j, r->elapsed_us);
  st_json_key(j, "as_promised");
  st_json_bool(j, r->as_promised);
  st_json_key(j, "children");
  st_json_begin_array(j);
  for (size_t i = 0; i < r->n_children; i++) {
    const st_kill_child_t *ch = &r->children[i];
    st_json_begin_object(j);
    st_json_key(j, "id");
    st_json_string(j, ch->id);
    st_json_key(j, "before");
    st_json_string(j, ch->before);
    st_json_key(j, "after");
    st_json_string(j, ch->after);
    st_json_key(j, "restarted");
    st_json_bool(j, ch->restarted);
    st_json_key(j, "expected");
    st_json_bool(j, ch->expected);
    st_json_end_object(j);
  }
  st_json_end_array(j);
}

int cmd_restart_check(cli_t *cli) {
  if (cli->child == NULL) return cli_fail(cli, ST_EINVAL, "restart-check needs --child ID");
  int code = EXIT_OK;
  char *sup = cli_supervisor(cli, &code);
  if (sup == NULL) return code;
  st_term_t *id = NULL;
  st_kill_report_t *r = NULL;
  int rc = st_term_parse(cli->conns[0], cli->child, &id);
  if (rc == ST_OK) rc = st_cnode_kill_child(cli->conns[0], sup, id, cli->timeout_ms, &r);
  if (rc != ST_OK) {
    code = cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  } else {
    if (cli->json) cli_json_kill_report(&cli->out, r);
    else print_report(r);
    if (!r->as_promised)
      code = cli_check_failed(cli, "the restarts differ from the %s promise", r->strategy);
  }
  st_kill_report_free(r);
  st_term_free(id);
  free(sup);
  return code;
}
