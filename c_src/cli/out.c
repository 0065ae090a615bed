/* What every command writes the same way: failures (exit code, message on
 * stderr or in the JSON envelope) and the supervisor to work on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(cli_t *cli, int err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cli->error, sizeof cli->error, fmt, ap);
  va_end(ap);
  cli->error_code = st_err_name(err);
  switch (err) {
    case ST_EINVAL: return EXIT_USAGE;
    case ST_ENOEPMD:
    case ST_ENONODE:
    case ST_EAUTH:
    case ST_EPERM: return EXIT_CONNECT;
    case ST_ENODELOST: return EXIT_NODE_LOST;
    default: return EXIT_ERROR;
  }
}

int cli_check_failed(cli_t *cli, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cli->error, sizeof cli->error, fmt, ap);
  va_end(ap);
  cli->error_code = "check_failed";
  return EXIT_CHECK_FAILED;
}

char *cli_supervisor(cli_t *cli, int *exit_code) {
  if (cli->supervisor != NULL) return strdup(cli->supervisor);
  if (cli->app == NULL) {
    *exit_code = cli_fail(cli, ST_EINVAL, "%s needs --supervisor NAME or --app APP", cli->command);
    return NULL;
  }
  st_sup_tree_t *tree = NULL;
  int rc = st_cnode_tree(cli->conns[0], NULL, cli->app, &tree);
  if (rc != ST_OK) {
    *exit_code = cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
    return NULL;
  }
  char *name = tree->name != NULL ? strdup(tree->name) : NULL;
  st_sup_tree_free(tree);
  if (name == NULL)
    *exit_code = cli_fail(cli, ST_EINVAL,
                          "the top supervisor of %s has no registered name: use --supervisor",
                          cli->app);
  return name;
}

const char *cli_us(int64_t us, char *buf, size_t cap) {
  if (us < 1000) snprintf(buf, cap, "%lld us", (long long)us);
  else if (us < 1000000) snprintf(buf, cap, "%.1f ms", (double)us / 1e3);
  else snprintf(buf, cap, "%.2f s", (double)us / 1e6);
  return buf;
}
