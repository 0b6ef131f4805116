/*
 * tests/suites.h
 *	  Every Check suite in the tree; tests/check_main.c runs them.
 */
#ifndef DERMS_TESTS_SUITES_H
#define DERMS_TESTS_SUITES_H

#include <check.h>

Suite	   *arena_suite(void);
Suite	   *config_suite(void);
Suite	   *identity_suite(void);
Suite	   *pki_suite(void);
Suite	   *dispatch_rainflow_suite(void);
Suite	   *dispatch_degrade_suite(void);
Suite	   *dispatch_storage_dp_suite(void);
Suite	   *dispatch_instance_suite(void);
Suite	   *dispatch_output_suite(void);
Suite	   *dispatch_coord_suite(void);
Suite	   *dispatch_repair_suite(void);
Suite	   *dispatch_exchange_suite(void);
Suite	   *http_suite(void);
Suite	   *sep2_xml_suite(void);
Suite	   *sep2_tm_suite(void);
Suite	   *migrate_suite(void);
Suite	   *notify_suite(void);
Suite	   *fleet_csv_suite(void);
Suite	   *fleet_value_suite(void);
Suite	   *fleet_import_suite(void);
Suite	   *fleet_enroll_suite(void);
Suite	   *fleet_export_suite(void);
Suite	   *fleet_api_suite(void);
Suite	   *integration_suite(void);
Suite	   *dermsim_suite(void);
Suite	   *vtn_auth_suite(void);
Suite	   *vtn_jwt_suite(void);
Suite	   *fleet_visibility_suite(void);
Suite	   *aggapi_suite(void);
Suite	   *sep2_more_suite(void);
Suite	   *settle_tz_suite(void);
Suite	   *settle_calendar_suite(void);
Suite	   *settle_series_suite(void);
Suite	   *settle_meter_read_suite(void);
Suite	   *settle_baseline_suite(void);
Suite	   *settle_perform_suite(void);
Suite	   *settle_ctl_suite(void);
Suite	   *settle_export_suite(void);
Suite	   *settle_store_suite(void);
Suite	   *statements_suite(void);
Suite	   *oadr_model_suite(void);
Suite	   *oadr_store_suite(void);
Suite	   *oadr_suite(void);
Suite	   *oadr_webhook_suite(void);
Suite	   *oadr_grid_suite(void);
Suite	   *dispatch_pub_suite(void);
Suite	   *oadr_mqtt_suite(void);
Suite	   *sep2_sub_suite(void);

/*
 * Environment the runner (tests/run.sh) provides:
 *   DERMS_TEST_PG       conninfo of a private PostgreSQL cluster, or unset
 *   DERMS_TEST_PGCTL    "DIR" of that cluster for restart tests
 *   DERMS_SPEC_DIR      published specs (default ../shared/spec)
 *   DERMS_BUILD         the build directory holding dermsd and dermsctl
 * A test that needs one that is absent prints "SKIP: ..." and passes.
 */
const char *test_pg_conninfo(void);
const char *test_spec_dir(void);
const char *test_build_dir(void);

/* Print a visible SKIP line (stderr and stdout). */
void		test_skip(const char *what, const char *why);

/* Make a fresh private directory under the test temp root; new string. */
char	   *test_mkdtemp(const char *tag);

#endif							/* DERMS_TESTS_SUITES_H */
