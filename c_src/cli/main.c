/* supertester: test the supervisors and servers of a running Erlang or
 * Elixir node from outside it. Parses the command line, resolves the
 * cookie, attaches (a hidden C-node, an agent loaded on the node), runs one
 * command and detaches, leaving nothing behind on the node. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char USAGE[] =
    "NAME\n"
    "    supertester - test the supervisors and servers of a live Erlang/Elixir node\n"
    "\n"
    "SYNOPSIS\n"
    "    supertester COMMAND NODE [options]\n"
    "    supertester partition NODE PEER [options]\n"
    "    supertester --help\n"
    "\n"
    "    NODE is name@host, as the node was started (-sname shop gives shop@<short host>).\n"
    "    The tool attaches as a hidden node, loads a small agent module there, and on\n"
    "    exit removes the agent, its processes, monitors and trace flags.\n"
    "\n"
    "COMMANDS\n"
    "    tree           the supervision tree: ids, pids, strategy, restart intensity,\n"
    "                   child types\n"
    "    restart-check  kill one child (--child) and compare who restarted with what\n"
    "                   the supervisor's strategy promises\n"
    "    chaos          seeded chaos run on a supervisor's children, recovery verified;\n"
    "                   prints the seed and the plan that replays it\n"
    "    trace          bounded trace of a process's messages (--process), or of a\n"
    "                   supervisor's child exits and starts (--kind supervision)\n"
    "    bench          concurrent callers against a server: throughput, latency\n"
    "                   percentiles\n"
    "    watch          memory, reductions and mailbox length of a process over time\n"
    "    partition      keep NODE and PEER apart for a while, then check that they\n"
    "                   reconnect and that the --service names answer on both\n"
    "\n"
    "OPTIONS\n"
    "    --cookie C        the cookie (else $SUPERTESTER_COOKIE, else ~/.erlang.cookie)\n"
    "    --supervisor NAME a registered supervisor\n"
    "    --app APP         use the application's top supervisor\n"
    "    --child ID        a child id, as an Erlang term (worker_1, {pool, 2})\n"
    "    --seed N          chaos seed (default: drawn, and printed)\n"
    "    --timeout MS      bound of every wait (default 5000)\n"
    "    --json            one JSON document on stdout: {\"format\": 1, \"command\", \"nodes\",\n"
    "                      \"ok\", \"exit_code\", \"result\" | \"error\"}\n"
    "    chaos:     --kill-rate R (0.3) --duration MS (2000) --interval MS (100)\n"
    "               --jitter PCT (0) --max-kills N --plan PLAN (replay a run)\n"
    "    trace:     --process NAME --kind messages|supervision --max-events N (100)\n"
    "               --duration MS (5000)\n"
    "    bench:     --server NAME --request TERM (ping) --callers N (4)\n"
    "               --duration MS (2000) | --calls N\n"
    "    watch:     --process NAME --interval MS (500) --samples N (10)\n"
    "    partition: --duration MS (1000) --service NAME (repeatable)\n"
    "\n"
    "EXIT STATUS\n"
    "    0  ok          1  a check failed (restarts not as promised, no recovery)\n"
    "    2  usage       3  cannot connect or authenticate (no epmd, no node, cookie)\n"
    "    4  node lost   5  the node or its agent refused the request\n"
    "\n"
    "EXAMPLES\n"
    "    supertester tree shop@myhost --app shop\n"
    "    supertester restart-check shop@myhost --supervisor shop_sup --child audit\n"
    "    supertester chaos shop@myhost --supervisor shop_sup --seed 42 --duration 3000\n"
    "    supertester bench shop@myhost --server shop_audit --request count --callers 8\n";

enum {
  OPT_COOKIE = 256, OPT_SUPERVISOR, OPT_APP, OPT_CHILD, OPT_SEED, OPT_TIMEOUT, OPT_JSON,
  OPT_KILL_RATE, OPT_DURATION, OPT_INTERVAL, OPT_JITTER, OPT_MAX_KILLS, OPT_PLAN,
  OPT_PROCESS, OPT_KIND, OPT_MAX_EVENTS, OPT_SERVER, OPT_REQUEST, OPT_CALLERS, OPT_CALLS,
  OPT_SAMPLES, OPT_SERVICE, OPT_HELP
};

static const struct option OPTIONS[] = {
    {"cookie", required_argument, NULL, OPT_COOKIE},
    {"supervisor", required_argument, NULL, OPT_SUPERVISOR},
    {"app", required_argument, NULL, OPT_APP},
    {"child", required_argument, NULL, OPT_CHILD},
    {"seed", required_argument, NULL, OPT_SEED},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"kill-rate", required_argument, NULL, OPT_KILL_RATE},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"interval", required_argument, NULL, OPT_INTERVAL},
    {"jitter", required_argument, NULL, OPT_JITTER},
    {"max-kills", required_argument, NULL, OPT_MAX_KILLS},
    {"plan", required_argument, NULL, OPT_PLAN},
    {"process", required_argument, NULL, OPT_PROCESS},
    {"kind", required_argument, NULL, OPT_KIND},
    {"max-events", required_argument, NULL, OPT_MAX_EVENTS},
    {"server", required_argument, NULL, OPT_SERVER},
    {"request", required_argument, NULL, OPT_REQUEST},
    {"callers", required_argument, NULL, OPT_CALLERS},
    {"calls", required_argument, NULL, OPT_CALLS},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"service", required_argument, NULL, OPT_SERVICE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0}};

typedef struct command_s {
  const char *name;
  int nodes;
  int (*run)(cli_t *);
} command_t;

static const command_t COMMANDS[] = {
    {"tree", 1, cmd_tree},         {"restart-check", 1, cmd_restart_check},
    {"chaos", 1, cmd_chaos},       {"trace", 1, cmd_trace},
    {"bench", 1, cmd_bench},       {"watch", 1, cmd_watch},
    {"partition", 2, cmd_partition}};

/* An unsigned number within [lo, hi], or false. */
static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out) {
  if (s == NULL || *s == '\0' || *s == '-') return false;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return false;
  *out = v;
  return true;
}

static bool parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out) {
  uint64_t v;
  if (!parse_u64(s, lo, hi, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

/* Reads one option into cli; false for a bad value (message printed). */
static bool take_option(cli_t *cli, int opt, const char *arg) {
  uint64_t v64;
  bool ok = true;
  switch (opt) {
    case OPT_COOKIE: cli->cookie = arg; break;
    case OPT_SUPERVISOR: cli->supervisor = arg; break;
    case OPT_APP: cli->app = arg; break;
    case OPT_CHILD: cli->child = arg; break;
    case OPT_SEED:
      ok = parse_u64(arg, 0, UINT64_MAX, &cli->seed);
      cli->seed_given = true;
      break;
    case OPT_TIMEOUT:
      ok = parse_u64(arg, 1, 3600000, &v64);
      cli->timeout_ms = (unsigned)v64;
      break;
    case OPT_JSON: cli->json = true; break;
    case OPT_KILL_RATE: {
      char *end;
      cli->kill_rate = strtod(arg, &end);
      ok = *arg != '\0' && *end == '\0' && cli->kill_rate >= 0 && cli->kill_rate <= 1;
      break;
    }
    case OPT_DURATION: ok = parse_u32(arg, 1, 86400000, &cli->duration_ms); break;
    case OPT_INTERVAL: ok = parse_u32(arg, 1, 3600000, &cli->interval_ms); break;
    case OPT_JITTER: ok = parse_u32(arg, 0, 100, &cli->jitter_pct); break;
    case OPT_MAX_KILLS: ok = parse_u32(arg, 1, 1000000, &cli->max_kills); break;
    case OPT_PLAN: cli->plan = arg; break;
    case OPT_PROCESS: cli->process = arg; break;
    case OPT_KIND:
      cli->kind = arg;
      ok = strcmp(arg, "messages") == 0 || strcmp(arg, "supervision") == 0;
      break;
    case OPT_MAX_EVENTS: ok = parse_u32(arg, 1, 1000000, &cli->max_events); break;
    case OPT_SERVER: cli->server = arg; break;
    case OPT_REQUEST: cli->request = arg; break;
    case OPT_CALLERS: ok = parse_u32(arg, 1, 10000, &cli->callers); break;
    case OPT_CALLS: ok = parse_u64(arg, 1, UINT64_C(1000000000), &cli->calls); break;
    case OPT_SAMPLES: ok = parse_u32(arg, 1, 100000, &cli->samples); break;
    case OPT_SERVICE:
      ok = cli->n_services < 16;
      if (ok) cli->services[cli->n_services++] = arg;
      break;
    default: ok = false;
  }
  return ok;
}

static void defaults(cli_t *cli) {
  cli->timeout_ms = 5000;
  cli->kill_rate = 0.3;
  cli->interval_ms = 100;
  cli->max_events = 100;
  cli->callers = 4;
  cli->samples = 10;
  cli->kind = "messages";
  cli->request = "ping";
}

/* A seed when none was given: the time and pid, printed so the run can be
 * replayed. */
static uint64_t fresh_seed(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ((uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (uint64_t)ts.tv_sec) % 1000000000;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "supertester: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\nRun supertester --help for the usage.\n");
  return EXIT_USAGE;
}

/* Attaches to every node the command names. */
static int attach_all(cli_t *cli) {
  char cookie[ST_CNODE_MAX_COOKIE + 1];
  int rc = st_cnode_resolve_cookie(cli->cookie, getenv(ST_COOKIE_ENV_VAR), getenv("HOME"),
                                   cookie, sizeof cookie, NULL);
  if (rc != ST_OK) {
    const char *why = rc == ST_ENOTFOUND ? "no cookie: give --cookie, set SUPERTESTER_COOKIE "
                                           "or create ~/.erlang.cookie"
                      : rc == ST_EPERM   ? "~/.erlang.cookie must be a regular file that only "
                                           "its owner can read"
                                         : "the cookie is malformed";
    return cli_fail(cli, rc == ST_ENOTFOUND ? ST_EAUTH : rc, "%s", why);
  }
  st_cnode_opts_t opts = {.cookie = cookie, .timeout_ms = cli->timeout_ms};
  rc = st_cnode_new(&opts, &cli->cn);
  memset(cookie, 0, sizeof cookie);
  if (rc != ST_OK) return cli_fail(cli, rc, "cannot start the C-node: %s", st_strerror(rc));
  for (int i = 0; i < cli->n_nodes; i++) {
    rc = st_cnode_attach(cli->cn, cli->nodes[i], &cli->conns[i]);
    if (rc != ST_OK) return cli_fail(cli, rc, "%s", st_cnode_error(cli->cn));
  }
  return EXIT_OK;
}

static void json_open(cli_t *cli) {
  st_json_init(&cli->out, false);
  st_json_begin_object(&cli->out);
  st_json_key(&cli->out, "format");
  st_json_int(&cli->out, 1);
  st_json_key(&cli->out, "command");
  st_json_string(&cli->out, cli->command);
  st_json_key(&cli->out, "nodes");
  st_json_begin_array(&cli->out);
  for (int i = 0; i < cli->n_nodes; i++) st_json_string(&cli->out, cli->nodes[i]);
  st_json_end_array(&cli->out);
  st_json_key(&cli->out, "result");
  st_json_begin_object(&cli->out);
}

static void json_close(cli_t *cli, int code) {
  st_json_end_object(&cli->out);
  st_json_key(&cli->out, "ok");
  st_json_bool(&cli->out, code == EXIT_OK);
  st_json_key(&cli->out, "exit_code");
  st_json_int(&cli->out, code);
  if (cli->error[0] != '\0') {
    st_json_key(&cli->out, "error");
    st_json_begin_object(&cli->out);
    st_json_key(&cli->out, "code");
    st_json_string(&cli->out, cli->error_code != NULL ? cli->error_code : "error");
    st_json_key(&cli->out, "message");
    st_json_string(&cli->out, cli->error);
    st_json_end_object(&cli->out);
  }
  st_json_end_object(&cli->out);
  const char *doc;
  size_t len;
  if (st_json_finish(&cli->out, &doc, &len) == ST_OK) printf("%s\n", doc);
  st_json_free(&cli->out);
}

static int run(cli_t *cli, const command_t *cmd) {
  if (cli->json) json_open(cli);
  int code = attach_all(cli);
  if (code == EXIT_OK) code = cmd->run(cli);
  /* The agent goes whatever happened; a node lost meanwhile is the exit. */
  for (int i = 0; i < cli->n_nodes; i++) {
    if (cli->conns[i] == NULL) continue;
    bool lost = st_conn_lost(cli->conns[i]);
    if (lost && code == EXIT_OK) code = cli_fail(cli, ST_ENODELOST, "%s was lost", cli->nodes[i]);
    (void)st_cnode_detach(cli->conns[i]);
  }
  st_cnode_free(cli->cn);
  if (cli->json) json_close(cli, code);
  else if (cli->error[0] != '\0') fprintf(stderr, "supertester: %s\n", cli->error);
  return code;
}

int main(int argc, char **argv) {
  cli_t cli;
  memset(&cli, 0, sizeof cli);
  defaults(&cli);
  int opt;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, "+h", OPTIONS, NULL)) != -1) {
    if (opt == 'h' || opt == OPT_HELP) {
      fputs(USAGE, stdout);
      return EXIT_OK;
    }
    /* Options may also come after the command and nodes; see below. */
    if (opt == '?') return usage_error("unknown option %s", argv[optind - 1]);
    if (!take_option(&cli, opt, optarg)) return usage_error("bad value for %s", argv[optind - 2]);
  }
  if (optind >= argc) return usage_error("%s", "no command given");
  cli.command = argv[optind++];
  const command_t *cmd = NULL;
  for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
    if (strcmp(COMMANDS[i].name, cli.command) == 0) cmd = &COMMANDS[i];
  if (cmd == NULL) return usage_error("unknown command %s", cli.command);
  /* The rest: nodes and options in any order. */
  optind--;
  argv[optind] = argv[0];
  argc -= optind;
  argv += optind;
  optind = 0; /* 0: glibc starts over, reading the new optstring */
  for (;;) {
    opt = getopt_long(argc, argv, "-h", OPTIONS, NULL);
    if (opt == -1) break;
    if (opt == 1) {
      if (cli.n_nodes >= cmd->nodes) return usage_error("unexpected argument %s", optarg);
      cli.nodes[cli.n_nodes++] = optarg;
    } else if (opt == 'h' || opt == OPT_HELP) {
      fputs(USAGE, stdout);
      return EXIT_OK;
    } else if (opt == '?') {
      return usage_error("unknown option or missing value: %s", argv[optind - 1]);
    } else if (!take_option(&cli, opt, optarg)) {
      return usage_error("bad value for %s", argv[optind - 2]);
    }
  }
  if (cli.n_nodes != cmd->nodes)
    return usage_error(cmd->nodes == 2 ? "%s needs two nodes: NODE PEER" : "%s needs a NODE",
                       cli.command);
  if (!cli.seed_given) cli.seed = fresh_seed();
  cli.tty = isatty(STDERR_FILENO);
  return run(&cli, cmd);
}
