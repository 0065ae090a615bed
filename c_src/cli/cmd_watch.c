/* supertester watch: a process's memory, reductions and mailbox length,
 * sampled at an interval. The wait between samples is a loop timer, so the
 * connection keeps being served. */
#include <stdio.h>
#include <time.h>

#include "cli.h"

int cmd_watch(cli_t *cli) {
  if (cli->process == NULL) return cli_fail(cli, ST_EINVAL, "watch needs --process NAME");
  uint32_t interval = cli->interval_ms;
  if (cli->json) {
    st_json_key(&cli->out, "process");
    st_json_string(&cli->out, cli->process);
    st_json_key(&cli->out, "samples");
    st_json_begin_array(&cli->out);
  } else {
    printf("%-10s %14s %14s %10s\n", "t (ms)", "memory (B)", "reductions", "mailbox");
  }
  int code = EXIT_OK;
  struct timespec start = {0, 0};
  for (uint32_t i = 0; i < cli->samples; i++) {
    if (i > 0) st_cnode_pause(cli->cn, interval);
    st_proc_sample_t s;
    int rc = st_cnode_process_info(cli->conns[0], cli->process, &s);
    if (rc != ST_OK) {
      code = cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
      break;
    }
    /* The time the sample was taken, not the one planned. */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (i == 0) start = now;
    unsigned long long t = (unsigned long long)((now.tv_sec - start.tv_sec) * 1000 +
                                                (now.tv_nsec - start.tv_nsec) / 1000000);
    if (cli->json) {
      st_json_begin_object(&cli->out);
      st_json_key(&cli->out, "t_ms");
      st_json_uint(&cli->out, t);
      st_json_key(&cli->out, "memory");
      st_json_uint(&cli->out, s.memory);
      st_json_key(&cli->out, "reductions");
      st_json_uint(&cli->out, s.reductions);
      st_json_key(&cli->out, "message_queue_len");
      st_json_uint(&cli->out, s.message_queue_len);
      st_json_end_object(&cli->out);
    } else {
      printf("%-10llu %14llu %14llu %10llu\n", t, (unsigned long long)s.memory,
             (unsigned long long)s.reductions, (unsigned long long)s.message_queue_len);
      fflush(stdout);
    }
  }
  if (cli->json) st_json_end_array(&cli->out);
  return code;
}
