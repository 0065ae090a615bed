/* Error suite: st_strerror and st_err_name give a distinct, non-empty string
 * for every code of supertester/err.h, and still something for codes that do
 * not exist. */
#include <limits.h>
#include <string.h>

#include "supertester/err.h"
#include "suites.h"

static const int known_codes[] = {ST_OK,          ST_EINVAL,    ST_ENOMEM,
                                  ST_ERANGE,      ST_EEMPTY,    ST_EDEGENERATE,
                                  ST_ENOTFOUND,   ST_EEXIST,    ST_EPERM,
                                  ST_ENOEPMD,     ST_ENONODE,   ST_EAUTH,
                                  ST_ETIMEDOUT,   ST_ENODELOST, ST_EAGENT,
                                  ST_EPROTO};
#define N_KNOWN (sizeof known_codes / sizeof known_codes[0])

static const int unknown_codes[] = {1, -16, -100, 42, INT_MIN, INT_MAX};
#define N_UNKNOWN (sizeof unknown_codes / sizeof unknown_codes[0])

typedef const char *(*describe_fn)(int);

/* Every known code gets a non-empty string, and no two share one. */
static void assert_distinct_and_non_empty(describe_fn describe,
                                          const char *fn_name) {
  for (size_t i = 0; i < N_KNOWN; i++) {
    const char *s = describe(known_codes[i]);
    ck_assert_msg(s != NULL && s[0] != '\0', "%s(%d) is NULL or empty", fn_name,
                  known_codes[i]);
    for (size_t j = 0; j < i; j++)
      ck_assert_msg(strcmp(s, describe(known_codes[j])) != 0,
                    "%s(%d) and %s(%d) are both \"%s\"", fn_name,
                    known_codes[i], fn_name, known_codes[j], s);
  }
}

/* An unknown code gets a non-empty string that names no known code. */
static void assert_unknown_described(describe_fn describe,
                                     const char *fn_name) {
  for (size_t i = 0; i < N_UNKNOWN; i++) {
    const char *s = describe(unknown_codes[i]);
    ck_assert_msg(s != NULL && s[0] != '\0', "%s(%d) is NULL or empty", fn_name,
                  unknown_codes[i]);
    for (size_t j = 0; j < N_KNOWN; j++)
      ck_assert_msg(strcmp(s, describe(known_codes[j])) != 0,
                    "%s(%d) (unknown) reads \"%s\", like code %d", fn_name,
                    unknown_codes[i], s, known_codes[j]);
  }
}

START_TEST(test_codes_have_documented_values) {
  ck_assert_int_eq(ST_OK, 0);
  ck_assert_int_lt(ST_EINVAL, 0);
  ck_assert_int_lt(ST_ENOMEM, 0);
  ck_assert_int_lt(ST_ERANGE, 0);
  ck_assert_int_lt(ST_EEMPTY, 0);
  ck_assert_int_lt(ST_EDEGENERATE, 0);
}
END_TEST

START_TEST(test_strerror_distinct_non_empty) {
  assert_distinct_and_non_empty(st_strerror, "st_strerror");
}
END_TEST

START_TEST(test_err_name_distinct_non_empty) {
  assert_distinct_and_non_empty(st_err_name, "st_err_name");
}
END_TEST

/* The header's example, and machine names made of lowercase letters. */
START_TEST(test_err_name_is_machine_name) {
  ck_assert_str_eq(st_err_name(ST_ERANGE), "erange");
  for (size_t i = 0; i < N_KNOWN; i++) {
    const char *s = st_err_name(known_codes[i]);
    ck_assert_msg(strspn(s, "abcdefghijklmnopqrstuvwxyz") == strlen(s),
                  "st_err_name(%d) = \"%s\" is not lowercase letters only",
                  known_codes[i], s);
  }
}
END_TEST

START_TEST(test_unknown_codes_described) {
  assert_unknown_described(st_strerror, "st_strerror");
  assert_unknown_described(st_err_name, "st_err_name");
}
END_TEST

Suite *err_suite(void) {
  Suite *s = suite_create("err");
  TCase *tc = tcase_create("strings");
  tcase_add_test(tc, test_codes_have_documented_values);
  tcase_add_test(tc, test_strerror_distinct_non_empty);
  tcase_add_test(tc, test_err_name_distinct_non_empty);
  tcase_add_test(tc, test_err_name_is_machine_name);
  tcase_add_test(tc, test_unknown_codes_described);
  suite_add_tcase(s, tc);
  return s;
}
