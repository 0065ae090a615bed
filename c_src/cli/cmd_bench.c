/* supertester bench: N concurrent callers against a named server for a
 * duration (or a number of calls); throughput and latency percentiles from
 * the metrics core's histogram. */
#include <stdio.h>

#include "cli.h"

int cmd_bench(cli_t *cli) {
  if (cli->server == NULL) return cli_fail(cli, ST_EINVAL, "bench needs --server NAME");
  st_term_t *req = NULL;
  int rc = st_term_parse(cli->conns[0], cli->request, &req);
  if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  st_cnode_bench_opts_t o = {.server = cli->server,
                             .request = req,
                             .callers = cli->callers,
                             .duration_ms = cli->calls > 0 ? 0
                                            : cli->duration_ms > 0 ? cli->duration_ms
                                                                   : 2000,
                             .calls = cli->calls,
                             .call_timeout_ms = cli->timeout_ms};
  st_cnode_bench_result_t r;
  rc = st_cnode_bench(cli->conns[0], &o, &r);
  st_term_free(req);
  if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  if (cli->json) {
    st_json_t *j = &cli->out;
    st_json_key(j, "server");
    st_json_string(j, cli->server);
    st_json_key(j, "callers");
    st_json_uint(j, cli->callers);
    st_json_key(j, "calls");
    st_json_uint(j, r.calls);
    st_json_key(j, "errors");
    st_json_uint(j, r.errors);
    st_json_key(j, "elapsed_s");
    st_json_double(j, r.elapsed_s);
    st_json_key(j, "throughput_per_s");
    st_json_double(j, r.throughput);
    st_json_key(j, "latency_ns");
    st_json_begin_object(j);
    st_json_key(j, "min");
    st_json_uint(j, r.min_ns);
    st_json_key(j, "p50");
    st_json_uint(j, r.p50_ns);
    st_json_key(j, "p90");
    st_json_uint(j, r.p90_ns);
    st_json_key(j, "p99");
    st_json_uint(j, r.p99_ns);
    st_json_key(j, "max");
    st_json_uint(j, r.max_ns);
    st_json_key(j, "mean");
    st_json_double(j, r.mean_ns);
    st_json_end_object(j);
  } else {
    printf("%s, %u callers: %llu calls in %.2f s, %.0f calls/s, %llu errors\n", cli->server,
           cli->callers, (unsigned long long)r.calls, r.elapsed_s, r.throughput,
           (unsigned long long)r.errors);
    printf("  latency  min %.1f us  p50 %.1f us  p90 %.1f us  p99 %.1f us  max %.1f us\n",
           (double)r.min_ns / 1e3, (double)r.p50_ns / 1e3, (double)r.p90_ns / 1e3,
           (double)r.p99_ns / 1e3, (double)r.max_ns / 1e3);
  }
  if (r.errors > 0) {
    return cli_check_failed(cli, "%llu calls failed or timed out", (unsigned long long)r.errors);
  }
  return EXIT_OK;
}
