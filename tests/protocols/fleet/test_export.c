/*
 * tests/protocols/fleet/test_export.c
 *	  Tests for protocols/fleet/export.c: the ISO registration export is
 *	  reproducible byte for byte, and its manifest's hashes, sizes and row
 *	  counts match the files; an aggregation below its minimum size is
 *	  refused (nothing written) unless explicitly allowed, and then the
 *	  manifest records it.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "fixture.h"
#include "protocols/fleet/enroll.h"
#include "protocols/fleet/export.h"
#include "server/arena.h"
#include "tests/suites.h"

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

/* files whose name starts with "." (temporary files) in dir */
static int
count_tmp(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	int			n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static const char *const names[] = {"members.csv", "members.json", "manifest.json"};

START_TEST(test_reproducible)
{
	PGconn	   *c = fleet_fx_setup(__func__);
	arena	   *a;
	fleet_export_result res;
	fleet_enroll_out out;
	derms_err	err;
	char	   *dir1,
			   *dir2;
	int64_t		agg;

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	a = arena_create(0);
	agg = fleet_fx_id(c, "SELECT id FROM aggregations WHERE name = 'A1'");
	{
		fleet_enroll_in in = {0, fleet_fx_id(c, "SELECT id FROM der_resources WHERE external_id = 'D1'"),
		agg, "F1", "2024-02-01T00:00:00Z", NULL, "test"};

		ck_assert_int_eq(fleet_enroll_request(c, a, &in, &out, &err), DERMS_OK);
		ck_assert_int_eq(fleet_enroll_approve(c, a, out.id, "test", &out, &err), DERMS_OK);
	}
	dir1 = test_mkdtemp("fleet-export");
	dir2 = test_mkdtemp("fleet-export");
	ck_assert_msg(fleet_export_aggregation(c, a, agg, NULL, dir1, FLEET_EXPORT_ALLOW_BELOW_MIN, "test", &res, &err) == DERMS_OK, "%s", err.msg);
	ck_assert_int_eq(res.rows, 2);
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, NULL, dir2, FLEET_EXPORT_ALLOW_BELOW_MIN, "test", &res, &err), DERMS_OK);
	for (size_t i = 0; i < 3; i++)
	{
		char		name[128],
					p1[512],
					p2[512];
		size_t		l1,
					l2;
		char	   *b1,
				   *b2;

		snprintf(name, sizeof(name), "aggregation-%lld-%s", (long long) agg, names[i]);
		snprintf(p1, sizeof(p1), "%s/%s", dir1, name);
		snprintf(p2, sizeof(p2), "%s/%s", dir2, name);
		b1 = slurp(p1, &l1);
		b2 = slurp(p2, &l2);
		ck_assert_msg(l1 == l2 && memcmp(b1, b2, l1) == 0, "%s differs between exports", name);
		free(b1);
		free(b2);
	}
	/* the manifest describes the files */
	{
		char		p[512];
		json_error_t je;
		json_t	   *m,
				   *f;
		size_t		i;

		snprintf(p, sizeof(p), "%s/aggregation-%lld-manifest.json", dir1, (long long) agg);
		m = json_load_file(p, 0, &je);
		ck_assert_msg(m != NULL, "%s", je.text);
		ck_assert_int_eq(json_array_size(json_object_get(m, "files")), 2);
		json_array_foreach(json_object_get(m, "files"), i, f)
		{
			char		fp[512],
						hex[65];
			size_t		len;
			char	   *data;

			snprintf(fp, sizeof(fp), "%s/%s", dir1, json_string_value(json_object_get(f, "name")));
			data = slurp(fp, &len);
			fleet_export_sha256(data, len, hex);
			ck_assert_str_eq(hex, json_string_value(json_object_get(f, "sha256")));
			ck_assert_int_eq(len, json_integer_value(json_object_get(f, "bytes")));
			ck_assert_int_eq(json_integer_value(json_object_get(f, "rows")), 2);
			free(data);
		}
		json_decref(m);
	}
	/* CSV content: both members with their capacities and dates */
	{
		char		p[512];
		size_t		len;
		char	   *csv;

		snprintf(p, sizeof(p), "%s/aggregation-%lld-members.csv", dir1, (long long) agg);
		csv = slurp(p, &len);
		ck_assert_ptr_nonnull(strstr(csv, "D1,battery,M1,\"1 Main St, Springfield\",F1,T1,NODE-A,"
									 "America/Los_Angeles,10.000,12.000,27.000,5.000,5.000,8.000,"));
		ck_assert_ptr_nonnull(strstr(csv, "2024-01-01T00:00:00Z,2024-07-01T00:00:00Z\r\n"));
		free(csv);
	}
	/* as of a date before D1 joined: one member; no temp files left */
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, "2024-01-15T00:00:00Z", dir1, FLEET_EXPORT_ALLOW_BELOW_MIN, "test", &res, &err),
					 DERMS_OK);
	ck_assert_int_eq(res.rows, 1);
	ck_assert_int_eq(count_tmp(dir1), 0);
	ck_assert_int_eq(fleet_export_aggregation(c, a, 999, NULL, dir1, FLEET_EXPORT_ALLOW_BELOW_MIN, "test", &res, &err), DERMS_ENOTFOUND);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM audit_log WHERE action = 'fleet.export'"), 3);
	arena_destroy(a);
	free(dir1);
	free(dir2);
	fleet_fx_teardown();
}
END_TEST

/* entries of dir other than . and .. */
static int
count_files(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *e;
	int			n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

START_TEST(test_minimum_size)
{
	PGconn	   *c = fleet_fx_setup(__func__);
	arena	   *a;
	fleet_export_result res;
	derms_err	err;
	char	   *dir;
	char		p[512];
	int64_t		agg;
	json_t	   *m,
			   *bm;
	json_error_t je;

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	a = arena_create(0);
	agg = fleet_fx_id(c, "SELECT id FROM aggregations WHERE name = 'A1'");
	dir = test_mkdtemp("fleet-export-min");

	/* D2 (7.5 kW) in force on 2024-03-01 against CAISO's 100 kW: refused */
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, "2024-03-01T00:00:00Z", dir, 0, "test", &res, &err),
					 DERMS_EPERM);
	ck_assert_msg(strncmp(err.msg, "aggregation: ", 13) == 0 && strstr(err.msg, "\"A1\"") &&
				  strstr(err.msg, "7.500 kW") && strstr(err.msg, "minimum size of 100.000 kW"),
				  "%s", err.msg);
	ck_assert_int_eq(count_files(dir), 0);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);

	/* allowed: exported, and the manifest says so */
	ck_assert_msg(fleet_export_aggregation(c, a, agg, "2024-03-01T00:00:00Z", dir,
										   FLEET_EXPORT_ALLOW_BELOW_MIN, "test", &res, &err) == DERMS_OK,
				  "%s", err.msg);
	ck_assert(res.below_minimum);
	ck_assert_int_eq(res.rows, 1);
	snprintf(p, sizeof(p), "%s/aggregation-%lld-manifest.json", dir, (long long) agg);
	m = json_load_file(p, 0, &je);
	ck_assert_msg(m != NULL, "%s", je.text);
	bm = json_object_get(m, "below_minimum");
	ck_assert_ptr_nonnull(bm);
	ck_assert_double_eq_tol(json_real_value(json_object_get(bm, "size_kw")), 7.5, 1e-9);
	ck_assert_double_eq_tol(json_real_value(json_object_get(bm, "min_size_kw")), 100, 1e-9);
	ck_assert_str_eq(json_string_value(json_object_get(bm, "as_of")), "2024-03-01T00:00:00Z");
	json_decref(m);

	/* the market's minimum is configurable; the aggregation's own wins */
	free(fleet_fx_sql(c, "UPDATE iso_markets SET min_size_kw = 7.5 WHERE name = 'CAISO'"));
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, "2024-03-01T00:00:00Z", dir, 0, "test", &res, &err),
					 DERMS_OK);
	ck_assert(!res.below_minimum);
	m = json_load_file(p, 0, &je);
	ck_assert_ptr_null(json_object_get(m, "below_minimum"));
	json_decref(m);
	free(fleet_fx_sql(c, "UPDATE aggregations SET min_size_kw = 8 WHERE name = 'A1'"));
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, "2024-03-01T00:00:00Z", dir, 0, "test", &res, &err),
					 DERMS_EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "minimum size of 8.000 kW"));
	/* after D2 left, the aggregation is empty */
	ck_assert_int_eq(fleet_export_aggregation(c, a, agg, "2024-08-01T00:00:00Z", dir, 0, "test", &res, &err),
					 DERMS_EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "has 0.000 kW"));
	arena_destroy(a);
	free(dir);
	fleet_fx_teardown();
}
END_TEST

Suite *
fleet_export_suite(void)
{
	Suite	   *s = suite_create("fleet_export");
	TCase	   *tc = tcase_create("export");

	tcase_add_test(tc, test_reproducible);
	tcase_add_test(tc, test_minimum_size);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
