/*
 * tests/protocols/fleet/test_import.c
 *	  Tests for protocols/fleet/import.c: the sample fleet imports; every
 *	  bad file in tests/data/fleet/bad/ imports nothing and reports exactly
 *	  the errors its .expected file lists ("LINE|FIELD|reason substring").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fixture.h"
#include "protocols/fleet/import.h"
#include "server/arena.h"
#include "tests/suites.h"

static const struct
{
	const char *file;			/* tests/data/fleet/bad/FILE.{csv,expected} */
	const char *kind;
	const char *table;			/* whose row count must not change */
}			bad_files[] = {
	{"sites-mixed", "sites", "sites"},
	{"sites-syntax", "sites", "sites"},
	{"ders-capacity", "ders", "der_resources"},
	{"enrollments-overlap", "enrollments", "aggregation_members"},
	{"feeders-header", "feeders", "feeders"},
	{"aggregations-bad", "aggregations", "aggregations"},
	{"markets-bad", "markets", "iso_markets"},
};

static char *
slurp(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	ck_assert_msg(f != NULL, "open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t) n + 1);
	ck_assert((long) fread(buf, 1, (size_t) n, f) == n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t) n;
	return buf;
}

START_TEST(test_sample_imports)
{
	PGconn	   *c = fleet_fx_setup(__func__);

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM sites"), 4);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM der_resources"), 5);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM aggregation_members"), 1);
	/* kW in the file, W in the table; tenant taken from the site */
	ck_assert_int_eq(fleet_fx_id(c, "SELECT rated_w FROM der_resources WHERE external_id = 'D2'"), 7500);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM der_resources r JOIN tenants t"
								 " ON t.id = r.tenant_id WHERE t.name = 'agg1'"), 4);
	/* one audit record per import, chain intact */
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM audit_log WHERE action LIKE 'fleet.import.%'"), 6);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM audit_log WHERE audit_verify() IS NOT NULL"), 0);
	fleet_fx_teardown();
}
END_TEST

START_TEST(test_bad_file)
{
	PGconn	   *c = fleet_fx_setup(__func__);
	char		path[256],
				sql[128];
	size_t		len,
				elen;
	char	   *data,
			   *expected,
			   *line,
			   *save = NULL;
	arena	   *a;
	fleet_import_result res;
	derms_err	err;
	int64_t		before;
	size_t		k = 0;

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", bad_files[_i].table);
	before = fleet_fx_id(c, sql);
	snprintf(path, sizeof(path), "tests/data/fleet/bad/%s.csv", bad_files[_i].file);
	data = slurp(path, &len);
	snprintf(path, sizeof(path), "tests/data/fleet/bad/%s.expected", bad_files[_i].file);
	expected = slurp(path, &elen);
	a = arena_create(0);
	ck_assert_int_eq(fleet_import(c, a, bad_files[_i].kind, data, len, "test", path, &res, &err),
					 DERMS_EINVAL);
	for (line = strtok_r(expected, "\n", &save); line; line = strtok_r(NULL, "\n", &save), k++)
	{
		long		want_line = strtol(line, NULL, 10);
		char	   *field = strchr(line, '|') + 1;
		char	   *reason = strchr(field, '|');

		*reason++ = '\0';
		ck_assert_msg(k < res.nerrors, "%s: missing error %zu: %s", bad_files[_i].file, k, reason);
		ck_assert_msg(res.errors[k].line == want_line && strcmp(res.errors[k].field, field) == 0 &&
					  strstr(res.errors[k].reason, reason) != NULL,
					  "%s error %zu: got %ld %s \"%s\", want %ld %s \"%s\"", bad_files[_i].file, k,
					  res.errors[k].line, res.errors[k].field, res.errors[k].reason,
					  want_line, field, reason);
	}
	ck_assert_msg(k == res.nerrors, "%s: %zu errors, expected %zu (extra: %ld %s %s)",
				  bad_files[_i].file, res.nerrors, k, res.errors[k].line, res.errors[k].field,
				  res.errors[k].reason);
	/* nothing half-written; the connection is usable again */
	ck_assert_int_eq(fleet_fx_id(c, sql), before);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	free(data);
	free(expected);
	arena_destroy(a);
	fleet_fx_teardown();
}
END_TEST

Suite *
fleet_import_suite(void)
{
	Suite	   *s = suite_create("fleet_import");
	TCase	   *tc = tcase_create("import");

	tcase_add_test(tc, test_sample_imports);
	tcase_add_loop_test(tc, test_bad_file, 0, (int) (sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
