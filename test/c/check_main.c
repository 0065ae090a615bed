/* Runner for every Check suite of the C core. Check forks each test (its
 * default mode), so a crash fails one test instead of the whole run; the
 * Makefile sets CK_DEFAULT_TIMEOUT. Exit status 1 when anything failed. */
#include <stdlib.h>

#include "suites.h"

int main(void) {
  SRunner *sr = srunner_create(err_suite());
  srunner_add_suite(sr, hist_suite());
  srunner_add_suite(sr, names_suite());
  srunner_add_suite(sr, record_suite());
  srunner_add_suite(sr, sampler_suite());
  srunner_add_suite(sr, set_suite());
  srunner_add_suite(sr, stats_suite());
  srunner_add_suite(sr, supervision_suite());
  srunner_add_suite(sr, trace_suite());
  srunner_add_suite(sr, chaos_suite());
  srunner_add_suite(sr, cnode_suite());
  srunner_add_suite(sr, json_suite());
  srunner_add_suite(sr, test_node_suite());
  srunner_add_suite(sr, cnode_live_suite());
  srunner_add_suite(sr, cli_suite());

  /* CK_NORMAL prints Check's summary line and every failure. */
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
