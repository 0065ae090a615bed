/* supertester partition NODE PEER: keeps the two nodes apart for a while
 * (the agent on NODE refuses PEER's cookie meanwhile), then checks that they
 * reconnect and that every --service name answers on both nodes. */
#include <stdio.h>

#include "cli.h"

int cmd_partition(cli_t *cli) {
  st_partition_report_t r;
  uint32_t duration = cli->duration_ms > 0 ? cli->duration_ms : 1000;
  int rc = st_cnode_partition(cli->conns[0], cli->nodes[1], duration, &r);
  if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  char a[32], b[32];
  if (!cli->json)
    printf("%s and %s apart for %s, reconnected in %s\n", cli->nodes[0], cli->nodes[1],
           cli_us(r.apart_us, a, sizeof a), cli_us(r.reconnect_us, b, sizeof b));
  else {
    st_json_key(&cli->out, "apart_us");
    st_json_int(&cli->out, r.apart_us);
    st_json_key(&cli->out, "reconnect_us");
    st_json_int(&cli->out, r.reconnect_us);
    st_json_key(&cli->out, "services");
    st_json_begin_array(&cli->out);
  }
  int down = 0;
  for (int s = 0; s < cli->n_services; s++) {
    for (int n = 0; n < 2; n++) {
      bool alive = false;
      rc = st_cnode_service_alive(cli->conns[n], cli->services[s], cli->timeout_ms, &alive);
      if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
      if (!alive) down++;
      if (cli->json) {
        st_json_begin_object(&cli->out);
        st_json_key(&cli->out, "name");
        st_json_string(&cli->out, cli->services[s]);
        st_json_key(&cli->out, "node");
        st_json_string(&cli->out, cli->nodes[n]);
        st_json_key(&cli->out, "alive");
        st_json_bool(&cli->out, alive);
        st_json_end_object(&cli->out);
      } else {
        printf("  %-24s on %-28s %s\n", cli->services[s], cli->nodes[n],
               alive ? "answers" : "DOES NOT ANSWER");
      }
    }
  }
  if (cli->json) st_json_end_array(&cli->out);
  if (down > 0) {
    return cli_check_failed(cli, "%d service(s) did not recover after the partition", down);
  }
  return EXIT_OK;
}
