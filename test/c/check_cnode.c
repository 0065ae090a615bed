/* C-node configuration suite: st_cnode_parse_node and
 * st_cnode_resolve_cookie against supertester/cnode.h.
 *
 * - parse_node: short and long names, an IPv4 host, every malformed shape
 *   (no '@', two, empty parts, spaces and other characters, over 255
 *   bytes), buffers one byte short and exact, nothing written on error.
 * - resolve_cookie: the option wins over the environment, which wins over
 *   the file; a bad first source is an error (no fall through); the file's
 *   newline and trailing blanks dropped; files others can read, a
 *   directory, a symlink, a missing file, no home: the right codes;
 *   empty, spaced, non-ASCII and over-long cookies refused; ERANGE with a
 *   small buffer; nothing written on error. Files live in a fresh
 *   directory per test (mkdtemp), removed at the end. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "supertester/cnode.h"
#include "suites.h"

/* ------------------------------------------------------------ node names */

START_TEST(test_parse_node_valid) {
  char name[64], host[64];
  ck_assert_int_eq(st_cnode_parse_node("shop@localhost", name, sizeof name, host, sizeof host),
                   ST_OK);
  ck_assert_str_eq(name, "shop");
  ck_assert_str_eq(host, "localhost");
  ck_assert_int_eq(st_cnode_parse_node("my_app-1@db.example.com", name, sizeof name, host,
                                       sizeof host),
                   ST_OK);
  ck_assert_str_eq(name, "my_app-1");
  ck_assert_str_eq(host, "db.example.com");
  ck_assert_int_eq(st_cnode_parse_node("n@127.0.0.1", name, sizeof name, host, sizeof host),
                   ST_OK);
  ck_assert_str_eq(host, "127.0.0.1");
}
END_TEST

START_TEST(test_parse_node_malformed) {
  static const char *bad[] = {"",         "shop",      "@host",     "shop@",    "a@b@c",
                              "sh op@h",  "shop@ho st", "shop@h/x", "sh\"op@h", "shop@h\n",
                              "é@host",   "shop@hôst",  "@",        "shop@@h"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char name[64] = "untouched", host[64] = "untouched";
    ck_assert_msg(st_cnode_parse_node(bad[i], name, sizeof name, host, sizeof host) == ST_EINVAL,
                  "\"%s\" accepted", bad[i]);
    ck_assert_str_eq(name, "untouched");
    ck_assert_str_eq(host, "untouched");
  }
  char long_node[300];
  memset(long_node, 'a', sizeof long_node);
  long_node[10] = '@';
  long_node[256] = '\0'; /* 256 bytes: one too many */
  char name[300], host[300];
  ck_assert_int_eq(st_cnode_parse_node(long_node, name, sizeof name, host, sizeof host),
                   ST_EINVAL);
  long_node[255] = '\0';
  ck_assert_int_eq(st_cnode_parse_node(long_node, name, sizeof name, host, sizeof host), ST_OK);
  ck_assert_int_eq(st_cnode_parse_node(NULL, name, sizeof name, host, sizeof host), ST_EINVAL);
  ck_assert_int_eq(st_cnode_parse_node("a@b", NULL, 4, host, sizeof host), ST_EINVAL);
}
END_TEST

START_TEST(test_parse_node_buffers) {
  char name[5] = "xxxx", host[4] = "xxx";
  /* "shop" needs 5 bytes, "host" 5: the host buffer is one short. */
  ck_assert_int_eq(st_cnode_parse_node("shop@host", name, sizeof name, host, sizeof host),
                   ST_ERANGE);
  ck_assert_str_eq(name, "xxxx");
  ck_assert_int_eq(st_cnode_parse_node("shop@hos", name, sizeof name, host, sizeof host), ST_OK);
  ck_assert_str_eq(name, "shop");
  ck_assert_str_eq(host, "hos");
  ck_assert_int_eq(st_cnode_parse_node("shops@h", name, sizeof name, host, sizeof host),
                   ST_ERANGE);
}
END_TEST

/* --------------------------------------------------------------- cookies */

/* A fresh directory standing in for $HOME. */
static char home[64];

static void make_home(void) {
  strcpy(home, "/tmp/st_cnode_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(home));
}

static void cookie_path(char *path, size_t cap) {
  snprintf(path, cap, "%s/.erlang.cookie", home);
}

static void write_cookie_file(const char *content, mode_t mode) {
  char path[128];
  cookie_path(path, sizeof path);
  (void)chmod(path, 0600); /* a read-only one from earlier in the test */
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, content, strlen(content)), (ssize_t)strlen(content));
  close(fd);
  ck_assert_int_eq(chmod(path, mode), 0);
}

static void remove_home(void) {
  char path[128];
  cookie_path(path, sizeof path);
  unlink(path);
  rmdir(path); /* when a test made it a directory */
  rmdir(home);
}

START_TEST(test_cookie_precedence) {
  make_home();
  write_cookie_file("FROMFILE\n", 0400);
  char out[64];
  st_cookie_source_t src = 0;
  ck_assert_int_eq(st_cnode_resolve_cookie("OPT", "ENV", home, out, sizeof out, &src), ST_OK);
  ck_assert_str_eq(out, "OPT");
  ck_assert_int_eq(src, ST_COOKIE_OPTION);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, "ENV", home, out, sizeof out, &src), ST_OK);
  ck_assert_str_eq(out, "ENV");
  ck_assert_int_eq(src, ST_COOKIE_ENV);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, &src), ST_OK);
  ck_assert_str_eq(out, "FROMFILE");
  ck_assert_int_eq(src, ST_COOKIE_FILE);
  /* A bad first source is an error: no falling through to the next. */
  strcpy(out, "untouched");
  ck_assert_int_eq(st_cnode_resolve_cookie("bad cookie", "ENV", home, out, sizeof out, &src),
                   ST_EINVAL);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, "", home, out, sizeof out, &src), ST_EINVAL);
  ck_assert_str_eq(out, "untouched");
  remove_home();
}
END_TEST

START_TEST(test_cookie_file_rules) {
  make_home();
  char out[300];
  /* Trailing newline, CR and blanks dropped; inner characters kept. */
  write_cookie_file("Ab_9-x.Z \t\r\n", 0600);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_OK);
  ck_assert_str_eq(out, "Ab_9-x.Z");
  /* Readable or writable by group or others: refused, as erl does. */
  static const mode_t loose[] = {0640, 0604, 0660, 0644, 0602};
  for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
    write_cookie_file("SECRET\n", loose[i]);
    strcpy(out, "untouched");
    ck_assert_msg(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL) == ST_EPERM,
                  "mode %o accepted", (unsigned)loose[i]);
    ck_assert_str_eq(out, "untouched");
  }
  /* Empty, a space inside, non-ASCII, too long. */
  write_cookie_file("\n", 0400);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EINVAL);
  write_cookie_file("two words\n", 0400);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EINVAL);
  write_cookie_file("caf\xc3\xa9\n", 0400);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EINVAL);
  char longest[ST_CNODE_MAX_COOKIE + 2];
  memset(longest, 'k', ST_CNODE_MAX_COOKIE);
  longest[ST_CNODE_MAX_COOKIE] = '\0';
  write_cookie_file(longest, 0400);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_OK);
  ck_assert_uint_eq(strlen(out), ST_CNODE_MAX_COOKIE);
  strcat(longest, "k");
  write_cookie_file(longest, 0400);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EINVAL);
  /* A buffer too small for a valid cookie. */
  write_cookie_file("ABCDEFGH\n", 0400);
  char small[8];
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, small, sizeof small, NULL),
                   ST_ERANGE);
  remove_home();
}
END_TEST

START_TEST(test_cookie_missing_and_odd_files) {
  make_home();
  char out[64];
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL),
                   ST_ENOTFOUND);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, NULL, out, sizeof out, NULL),
                   ST_ENOTFOUND);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, "", out, sizeof out, NULL), ST_ENOTFOUND);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, "/nonexistent/dir", out, sizeof out, NULL),
                   ST_ENOTFOUND);
  /* A directory in the cookie's place. */
  char path[128];
  cookie_path(path, sizeof path);
  ck_assert_int_eq(mkdir(path, 0700), 0);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EPERM);
  rmdir(path);
  /* A symlink is not followed (someone else's file could sit behind it). */
  char target[128];
  snprintf(target, sizeof target, "%s/real", home);
  int fd = open(target, O_WRONLY | O_CREAT, 0400);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, "LINKED", 6), 6);
  close(fd);
  ck_assert_int_eq(symlink(target, path), 0);
  ck_assert_int_eq(st_cnode_resolve_cookie(NULL, NULL, home, out, sizeof out, NULL), ST_EPERM);
  unlink(path);
  unlink(target);
  ck_assert_int_eq(st_cnode_resolve_cookie("X", NULL, NULL, NULL, 0, NULL), ST_EINVAL);
  remove_home();
}
END_TEST

Suite *cnode_suite(void) {
  Suite *s = suite_create("cnode");
  TCase *names = tcase_create("node names");
  tcase_add_test(names, test_parse_node_valid);
  tcase_add_test(names, test_parse_node_malformed);
  tcase_add_test(names, test_parse_node_buffers);
  suite_add_tcase(s, names);
  TCase *cookies = tcase_create("cookies");
  tcase_add_test(cookies, test_cookie_precedence);
  tcase_add_test(cookies, test_cookie_file_rules);
  tcase_add_test(cookies, test_cookie_missing_and_odd_files);
  suite_add_tcase(s, cookies);
  return s;
}
