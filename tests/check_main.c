/*
 * tests/check_main.c
 *	  Runs every Check suite, or the ones named on the command line.
 *
 * NOTES
 *	  "check_dermsd config identity" runs two suites.  The exit status is
 *	  non-zero when any test failed.  Check's own summary line is printed
 *	  last by srunner_run_all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/suites.h"

typedef Suite *(*suite_fn) (void);

static const struct
{
	const char *name;
	suite_fn	fn;
}			suites[] = {
	{"arena", arena_suite},
	{"config", config_suite},
	{"identity", identity_suite},
	{"pki", pki_suite},
	{"dispatch_rainflow", dispatch_rainflow_suite},
	{"dispatch_degrade", dispatch_degrade_suite},
	{"dispatch_storage_dp", dispatch_storage_dp_suite},
	{"dispatch_instance", dispatch_instance_suite},
	{"dispatch_output", dispatch_output_suite},
	{"dispatch_coord", dispatch_coord_suite},
	{"dispatch_repair", dispatch_repair_suite},
	{"dispatch_exchange", dispatch_exchange_suite},
	{"http", http_suite},
	{"sep2_xml", sep2_xml_suite},
	{"sep2_tm", sep2_tm_suite},
	{"migrate", migrate_suite},
	{"notify", notify_suite},
	{"fleet_csv", fleet_csv_suite},
	{"fleet_value", fleet_value_suite},
	{"fleet_import", fleet_import_suite},
	{"fleet_enroll", fleet_enroll_suite},
	{"fleet_export", fleet_export_suite},
	{"fleet_api", fleet_api_suite},
	{"integration", integration_suite},
	{"dermsim", dermsim_suite},
	{"sep2_sub", sep2_sub_suite},
	{"vtn_auth", vtn_auth_suite},
	{"vtn_jwt", vtn_jwt_suite},
	{"fleet_visibility", fleet_visibility_suite},
	{"aggapi", aggapi_suite},
	{"sep2_more", sep2_more_suite},
	{"settle_tz", settle_tz_suite},
	{"settle_calendar", settle_calendar_suite},
	{"settle_series", settle_series_suite},
	{"settle_meter_read", settle_meter_read_suite},
	{"settle_baseline", settle_baseline_suite},
	{"settle_perform", settle_perform_suite},
	{"settle_ctl", settle_ctl_suite},
	{"settle_export", settle_export_suite},
	{"settle_store", settle_store_suite},
	{"statements", statements_suite},
	{"oadr_model", oadr_model_suite},
	{"oadr_store", oadr_store_suite},
	{"oadr", oadr_suite},
	{"oadr_webhook", oadr_webhook_suite},
	{"oadr_grid", oadr_grid_suite},
	{"dispatch_pub", dispatch_pub_suite},
	{"oadr_mqtt", oadr_mqtt_suite},
};

#define NSUITES (sizeof(suites) / sizeof(suites[0]))

const char *
test_pg_conninfo(void)
{
	const char *s = getenv("DERMS_TEST_PG");

	return (s && *s) ? s : NULL;
}

const char *
test_spec_dir(void)
{
	const char *s = getenv("DERMS_SPEC_DIR");

	return (s && *s) ? s : "../shared/spec";
}

const char *
test_build_dir(void)
{
	const char *s = getenv("DERMS_BUILD");

	return (s && *s) ? s : "build";
}

void
test_skip(const char *what, const char *why)
{
	printf("SKIP: %s: %s\n", what, why);
	fprintf(stderr, "SKIP: %s: %s\n", what, why);
	fflush(stdout);
}

char *
test_mkdtemp(const char *tag)
{
	const char *root = getenv("DERMS_TEST_TMP");
	char	   *path;

	if (root == NULL || *root == '\0')
		root = "/tmp";
	if (asprintf(&path, "%s/%s.XXXXXX", root, tag) < 0)
		return NULL;
	if (mkdtemp(path) == NULL)
	{
		free(path);
		return NULL;
	}
	return path;
}

int
main(int argc, char **argv)
{
	SRunner    *sr = NULL;
	int			failed;

	for (size_t i = 0; i < NSUITES; i++)
	{
		int			wanted = (argc < 2);

		for (int j = 1; j < argc; j++)
			if (strcmp(argv[j], suites[i].name) == 0)
				wanted = 1;
		if (!wanted)
			continue;
		if (sr == NULL)
			sr = srunner_create(suites[i].fn());
		else
			srunner_add_suite(sr, suites[i].fn());
	}
	if (sr == NULL)
	{
		fprintf(stderr, "check_dermsd: no suite matches; suites are:");
		for (size_t i = 0; i < NSUITES; i++)
			fprintf(stderr, " %s", suites[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
