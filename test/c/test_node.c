/* Real Erlang nodes for the Check suites; see test_node.h.
 *
 * The node is spawned with posix_spawnp (no code of ours runs between fork
 * and exec, so this is safe in a threaded test). Our ends of the pipes are
 * close-on-exec from the moment they exist under their final numbers, which
 * are >= 3 so the dup2 onto 0 and 1 always happens (a dup2 onto itself would
 * keep the flag). The window between pipe() and fcntl() is only a risk to a
 * thread spawning at that instant; the suites do not do that.
 *
 * Why end of file on stdout means "the node is gone": its write end is held
 * by beam.smp (exec'd from erl, same pid) and by beam's erl_child_setup
 * helper, which exits when beam does. Once both have closed it, beam is
 * exiting or dead, so the waitpid that follows does not wait for long. */
#include "test_node.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EBIN_SUFFIX "/_build/examples/factory/ebin"
#define READY_PREFIX "ready "

/* ------------------------------------------------------------- helpers */

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Milliseconds left before deadline, 0 when it has passed. */
static int ms_left(uint64_t deadline) {
  uint64_t now = now_ms();
  if (now >= deadline) return 0;
  uint64_t left = deadline - now;
  return left > INT32_MAX ? INT32_MAX : (int)left;
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool valid_sname(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n >= sizeof ((tnode_t *)0)->sname) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/* <top>/_build/examples/factory/ebin into buf; 0 or -1. */
static int find_ebin(char *buf, size_t cap) {
  char top[4096];
#ifdef ST_TOP_DIR
  if (snprintf(top, sizeof top, "%s", ST_TOP_DIR) >= (int)sizeof top || !is_dir(top)) {
    fprintf(stderr, "tnode: ST_TOP_DIR %s is not a directory\n", ST_TOP_DIR);
    return -1;
  }
#else
  if (getcwd(top, sizeof top) == NULL) {
    fprintf(stderr, "tnode: getcwd: %s\n", strerror(errno));
    return -1;
  }
  for (;;) {
    char probe[sizeof top + 32];
    snprintf(probe, sizeof probe, "%s/rebar.config", top);
    bool has_config = is_file(probe);
    snprintf(probe, sizeof probe, "%s/examples/factory", top);
    if (has_config && is_dir(probe)) break;
    char *slash = strrchr(top, '/');
    if (slash == NULL || slash == top) {
      fprintf(stderr, "tnode: no rebar.config with examples/factory above the working "
                      "directory (define ST_TOP_DIR)\n");
      return -1;
    }
    *slash = '\0';
  }
#endif
  if (snprintf(buf, cap, "%s" EBIN_SUFFIX, top) >= (int)cap) return -1;
  char app[4096 + 64];
  snprintf(app, sizeof app, "%s/factory.app", buf);
  if (!is_file(app)) {
    fprintf(stderr, "tnode: %s missing: run `make -C examples/factory` first\n", app);
    return -1;
  }
  return 0;
}

/* A pipe whose two ends are close-on-exec and numbered >= 3. */
static int cloexec_pipe(int p[2]) {
  int raw[2];
  if (pipe(raw) != 0) return -1;
  for (int i = 0; i < 2; i++) {
    p[i] = fcntl(raw[i], F_DUPFD_CLOEXEC, 3);
    close(raw[i]);
  }
  if (p[0] >= 0 && p[1] >= 0) return 0;
  if (p[0] >= 0) close(p[0]);
  if (p[1] >= 0) close(p[1]);
  return -1;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* waitpid, retried on EINTR. */
static pid_t reap(pid_t pid, int *status, int flags) {
  pid_t r;
  do {
    r = waitpid(pid, status, flags);
  } while (r < 0 && errno == EINTR);
  return r;
}

static void forget(tnode_t *t) {
  close_fd(&t->stdin_fd);
  close_fd(&t->stdout_fd);
  t->pid = -1;
}

static void kill_and_forget(tnode_t *t) {
  if (t->pid > 0) {
    int status;
    kill(t->pid, SIGKILL);
    reap(t->pid, &status, 0);
  }
  forget(t);
}

/* Handles one complete line from the node: 1 for the expected ready line
 * (t->node filled in), 0 for anything else (passed on to stderr), -1 for a
 * ready line naming another node. */
static int take_line(tnode_t *t, const char *line) {
  size_t plen = strlen(READY_PREFIX);
  if (strncmp(line, READY_PREFIX, plen) != 0) {
    fprintf(stderr, "tnode: %s says: %s\n", t->sname, line);
    return 0;
  }
  const char *node = line + plen;
  size_t slen = strlen(t->sname);
  if (strncmp(node, t->sname, slen) != 0 || node[slen] != '@' || node[slen + 1] == '\0' ||
      strlen(node) >= sizeof t->node) {
    fprintf(stderr, "tnode: %s: unexpected ready line \"%s\"\n", t->sname, line);
    return -1;
  }
  memcpy(t->node, node, strlen(node) + 1);
  return 1;
}

/* Reads the node's stdout until its ready line; 0 or -1. */
static int await_ready(tnode_t *t, unsigned timeout_ms) {
  uint64_t deadline = now_ms() + timeout_ms;
  char buf[512];
  size_t len = 0;
  for (;;) {
    int left = ms_left(deadline);
    struct pollfd p = {.fd = t->stdout_fd, .events = POLLIN};
    int r = left > 0 ? poll(&p, 1, left) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      fprintf(stderr, "tnode: %s: poll: %s\n", t->sname, strerror(errno));
      return -1;
    }
    if (r == 0) {
      fprintf(stderr, "tnode: %s: no ready line within %u ms\n", t->sname, timeout_ms);
      return -1;
    }
    ssize_t n = read(t->stdout_fd, buf + len, sizeof buf - 1 - len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) {
      fprintf(stderr, "tnode: %s: read: %s\n", t->sname, strerror(errno));
      return -1;
    }
    if (n == 0) {
      fprintf(stderr, "tnode: %s: exited before its ready line\n", t->sname);
      return -1;
    }
    len += (size_t)n;
    char *nl;
    while ((nl = memchr(buf, '\n', len)) != NULL) {
      *nl = '\0';
      int got = take_line(t, buf);
      if (got != 0) return got > 0 ? 0 : -1;
      len -= (size_t)(nl + 1 - buf);
      memmove(buf, nl + 1, len);
    }
    if (len == sizeof buf - 1) { /* a very long line: show it and go on */
      buf[len] = '\0';
      fprintf(stderr, "tnode: %s says: %s...\n", t->sname, buf);
      len = 0;
    }
  }
}

/* ------------------------------------------------------------- the API */

int tnode_start(tnode_t *t, const char *sname, const char *cookie, unsigned timeout_ms) {
  if (t == NULL) return -1;
  memset(t, 0, sizeof *t);
  t->pid = -1;
  t->stdin_fd = t->stdout_fd = -1;
  if (sname == NULL || !valid_sname(sname)) {
    fprintf(stderr, "tnode: bad sname \"%s\" (want [A-Za-z0-9_-], 1 to 63 bytes)\n",
            sname != NULL ? sname : "(null)");
    return -1;
  }
  if (cookie == NULL || cookie[0] == '\0') {
    fprintf(stderr, "tnode: %s: empty cookie\n", sname);
    return -1;
  }
  memcpy(t->sname, sname, strlen(sname) + 1);
  /* posix_spawnp takes char *const argv[]: the arguments are our copies. */
  char cookie_arg[256];
  if (snprintf(cookie_arg, sizeof cookie_arg, "%s", cookie) >= (int)sizeof cookie_arg) {
    fprintf(stderr, "tnode: %s: cookie over 255 bytes\n", sname);
    return -1;
  }

  char ebin[4096];
  if (find_ebin(ebin, sizeof ebin) != 0) return -1;

  int in[2], out[2];
  if (cloexec_pipe(in) != 0) {
    fprintf(stderr, "tnode: pipe: %s\n", strerror(errno));
    return -1;
  }
  if (cloexec_pipe(out) != 0) {
    fprintf(stderr, "tnode: pipe: %s\n", strerror(errno));
    close(in[0]);
    close(in[1]);
    return -1;
  }

  /* No crash dump: a node that fails to boot would leave erl_crash.dump in
   * the runner's working directory. Logger at critical: the suites kill
   * children on purpose, and every kill would print a supervisor report. */
  char *argv[] = {(char *)"erl",
                  (char *)"-sname", t->sname,
                  (char *)"-setcookie", cookie_arg,
                  (char *)"-noshell",
                  (char *)"-pa", ebin,
                  (char *)"-env", (char *)"ERL_CRASH_DUMP_BYTES", (char *)"0",
                  (char *)"-kernel", (char *)"logger_level", (char *)"critical",
                  (char *)"-run", (char *)"factory_node", (char *)"main",
                  NULL};
  pid_t pid = -1;
  posix_spawn_file_actions_t fa;
  int err = posix_spawn_file_actions_init(&fa);
  if (err == 0) {
    err = posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
    if (err == 0) err = posix_spawn_file_actions_adddup2(&fa, out[1], STDOUT_FILENO);
    if (err == 0) err = posix_spawnp(&pid, "erl", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
  }
  close(in[0]);
  close(out[1]);
  t->stdin_fd = in[1];
  t->stdout_fd = out[0];
  if (err != 0) {
    fprintf(stderr, "tnode: cannot run erl: %s\n", strerror(err));
    forget(t);
    return -1;
  }
  t->pid = pid;

  if (await_ready(t, timeout_ms) != 0) {
    kill_and_forget(t);
    return -1;
  }
  return 0;
}

int tnode_stop(tnode_t *t, unsigned timeout_ms) {
  if (t == NULL || t->pid <= 0) return -1;
  close_fd(&t->stdin_fd);

  /* Drain stdout to end of file; whatever comes is shown on stderr. */
  uint64_t deadline = now_ms() + timeout_ms;
  bool eof = false;
  while (!eof && t->stdout_fd >= 0) {
    int left = ms_left(deadline);
    struct pollfd p = {.fd = t->stdout_fd, .events = POLLIN};
    int r = left > 0 ? poll(&p, 1, left) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    char buf[512];
    ssize_t n = read(t->stdout_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      eof = true;
    } else {
      fprintf(stderr, "tnode: %s says: %.*s", t->sname, (int)n, buf);
    }
  }

  int status = 0;
  bool killed = false;
  pid_t r = reap(t->pid, &status, eof ? 0 : WNOHANG);
  if (r == 0) {
    fprintf(stderr, "tnode: %s still running after %u ms, killing it\n", t->sname, timeout_ms);
    kill(t->pid, SIGKILL);
    r = reap(t->pid, &status, 0);
    killed = true;
  }
  forget(t);
  return r > 0 && !killed && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int tnode_kill(tnode_t *t) {
  if (t == NULL || t->pid <= 0) return -1;
  int status = 0;
  int sent = kill(t->pid, SIGKILL);
  pid_t r = reap(t->pid, &status, 0);
  forget(t);
  return sent == 0 && r > 0 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL ? 0 : -1;
}

const char *tnode_unique_sname(char *buf, size_t cap, const char *prefix) {
  static atomic_uint counter;
  if (buf == NULL || prefix == NULL) return NULL;
  unsigned n = atomic_fetch_add(&counter, 1u);
  char tmp[256];
  int len = snprintf(tmp, sizeof tmp, "%s_%ld_%u", prefix, (long)getpid(), n);
  if (len < 0 || (size_t)len >= cap || (size_t)len >= sizeof tmp) return NULL;
  memcpy(buf, tmp, (size_t)len + 1);
  return buf;
}
