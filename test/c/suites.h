/* The Check suites of the Supertester C core, one per public header. */
#ifndef SUPERTESTER_CHECK_SUITES_H
#define SUPERTESTER_CHECK_SUITES_H

#include <check.h>

Suite *chaos_suite(void);
Suite *cli_suite(void);
Suite *cnode_suite(void);
Suite *cnode_live_suite(void);
Suite *err_suite(void);
Suite *hist_suite(void);
Suite *json_suite(void);
Suite *names_suite(void);
Suite *record_suite(void);
Suite *sampler_suite(void);
Suite *set_suite(void);
Suite *stats_suite(void);
Suite *supervision_suite(void);
Suite *test_node_suite(void);
Suite *trace_suite(void);

#endif
