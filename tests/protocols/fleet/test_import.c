/*
 * tests/protocols/fleet/test_import.c
 *	  Tests for protocols/fleet/import.c: the sample fleet imports; every
 *	  bad file in tests/data/fleet/bad/ imports nothing and reports exactly
 *	  the errors its .expected file lists ("LINE|FIELD|reason substring");
 *	  upsert mode updates sites and DERs in place (keeping their previous
 *	  versions) and changes enrollments only by ending open periods and
 *	  opening new ones, still all or nothing.
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
	ck_assert_int_eq(fleet_import(c, a, bad_files[_i].kind, FLEET_IMPORT_INSERT, data, len, "test", path, &res, &err),
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

/*
 * Import csv as kind in mode; on failure the errors, "LINE|FIELD|reason;..."
 * (arena), in *errs.
 */
static derms_rc
import_str(PGconn *c, arena *a, const char *kind, fleet_import_mode mode, const char *csv,
		   char **errs)
{
	fleet_import_result res;
	derms_err	err;
	derms_rc	rc = fleet_import(c, a, kind, mode, csv, strlen(csv), "test", "inline", &res, &err);

	*errs = arena_strdup(a, rc == DERMS_OK ? "" : err.msg);
	for (size_t i = 0; i < res.nerrors; i++)
		*errs = arena_printf(a, "%s;%ld|%s|%s", *errs, res.errors[i].line, res.errors[i].field,
							 res.errors[i].reason);
	ck_assert_int_eq(PQtransactionStatus(c), PQTRANS_IDLE);
	return rc;
}

#define SITES_HDR "meter_id,tenant,address,feeder,transformer,pricing_node,time_zone\n"
#define DERS_HDR "der_id,meter_id,tenant,kind,nameplate_kw,nameplate_kva,energy_kwh," \
	"max_charge_kw,max_discharge_kw,charge_efficiency,discharge_efficiency,inverter_make," \
	"inverter_model,lfdi,ven_name,resource_name,interconnection_status,interconnection_date," \
	"export_cap_kw\n"
#define ENR_HDR "tenant,aggregation,der_id,effective_from,effective_to\n"

START_TEST(test_upsert_sites_ders)
{
	PGconn	   *c = fleet_fx_setup(__func__);
	arena	   *a;
	char	   *e;
	fleet_import_mode m;

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	a = arena_create(0);
	ck_assert(fleet_import_parse_mode("upsert", &m) && m == FLEET_IMPORT_UPSERT);
	ck_assert(!fleet_import_parse_mode("merge", &m));

	/* insert mode keeps refusing what exists */
	ck_assert_int_eq(import_str(c, a, "sites", FLEET_IMPORT_INSERT, SITES_HDR
								"M1,agg1,1 New St,F2,T9,NODE-B,America/Chicago\n", &e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";2|meter_id|meter_id \"M1\" already exists"), "%s", e);

	/* upsert: M1 changes, M5 is new; the old M1 is kept in the history */
	ck_assert_msg(import_str(c, a, "sites", FLEET_IMPORT_UPSERT, SITES_HDR
							 "M1,agg1,1 New St,F2,T9,NODE-B,America/Chicago\n"
							 "M5,agg2,5 Oak Ave,F1,T3,NODE-A,America/Chicago\n", &e) == DERMS_OK, "%s", e);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM sites"), 5);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM sites s JOIN feeders f ON f.id = s.feeder_id"
								 " WHERE s.meter_id = 'M1' AND s.address = '1 New St' AND f.name = 'F2'"
								 " AND s.time_zone = 'America/Chicago'"), 1);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM fleet_row_history WHERE table_name = 'sites'"
								 " AND old_row->>'address' = '1 Main St, Springfield'"), 1);
	/* the same file again changes nothing and records nothing */
	ck_assert_int_eq(import_str(c, a, "sites", FLEET_IMPORT_UPSERT, SITES_HDR
								"M1,agg1,1 New St,F2,T9,NODE-B,America/Chicago\n", &e), DERMS_OK);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM fleet_row_history"), 1);
	/* all or nothing: one bad row (unknown feeder), a site of agg1 given to agg2 */
	ck_assert_int_eq(import_str(c, a, "sites", FLEET_IMPORT_UPSERT, SITES_HDR
								"M2,agg1,2 Elm St,F1,T1,NODE-A,America/Los_Angeles\n"
								"M3,agg2,3 Main St,F2,T2,NODE-B,America/Los_Angeles\n"
								"M6,agg1,6 Main St,F7,T2,NODE-B,America/Los_Angeles\n", &e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";3|tenant|site \"M3\" has DERs of tenant agg1;4|feeder|unknown feeder \"F7\"")
				  && !strstr(e, ";2|"), "%s", e);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM sites WHERE address = '2 Elm St' OR meter_id = 'M6'"),
					 0);

	/* DERs: D1 grows, gets a new LFDI; D6 is new */
	ck_assert_msg(import_str(c, a, "ders", FLEET_IMPORT_UPSERT, DERS_HDR
							 "D1,M1,agg1,battery,12,12,27,5,5,0.95,0.95,Acme,B-12,"
							 "00000000000000000000000000000000000000AA,ven1,res1,interconnected,2023-06-01,8\n"
							 "D6,M5,,pv,4,,,,,,,,,,,,applied,,\n", &e) == DERMS_OK, "%s", e);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT rated_w FROM der_resources WHERE external_id = 'D1'"), 12000);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM der_resources WHERE external_id = 'D1'"
								 " AND lfdi = '00000000000000000000000000000000000000AA'"), 1);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM der_resources r JOIN tenants t ON t.id = r.tenant_id"
								 " WHERE r.external_id = 'D6' AND t.name = 'agg2'"), 1);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM fleet_row_history WHERE table_name = 'der_resources'"
								 " AND (old_row->>'rated_w')::float8 = 10000"), 1);
	/* bad: an LFDI of another DER, a charge limit above nameplate, a DER
	 * moved to agg2 while enrolled with agg1 */
	free(fleet_fx_sql(c, "INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
					  " SELECT g.id, r.id, '2024-08-01Z' FROM aggregations g, der_resources r"
					  " WHERE g.name = 'A1' AND r.external_id = 'D2'"));
	ck_assert_int_eq(import_str(c, a, "ders", FLEET_IMPORT_UPSERT, DERS_HDR
								"D3,M3,agg1,pv,30,,,,,,,,,00000000000000000000000000000000000000AA,,,"
								"interconnected,2023-06-01,\n"
								"D4,M1,agg1,ev_charger,11,,,20,,,,,,,,,applied,,\n"
								"D2,M4,,pv,7.5,,,,,,,,,,,,interconnected,2023-06-01,\n", &e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";2|lfdi|lfdi 00000000000000000000000000000000000000AA is already used by DER \"D1\""
						 ";3|max_charge_kw|charge limit 20 kW exceeds nameplate 11 kW"
						 ";4|tenant|DER \"D2\" is enrolled in aggregation \"A1\" of another tenant"), "%s", e);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM der_resources WHERE lfdi IS NULL"
								 " AND external_id = 'D3'"), 1);
	/* aggregations are insert-only */
	ck_assert_int_eq(import_str(c, a, "aggregations", FLEET_IMPORT_UPSERT,
								"tenant,name,market,iso_resource_id,pricing_node,min_size_kw,effective_from,"
								"effective_to\n", &e), DERMS_EINVAL);
	ck_assert_msg(strncmp(e, "mode: aggregations can only be inserted", 39) == 0, "%s", e);
	/* a market's minimum size is set by upserting the market; not its kind */
	ck_assert_int_eq(import_str(c, a, "markets", FLEET_IMPORT_UPSERT,
								"name,kind,min_size_kw,allow_dual_participation\nCAISO,wholesale,250,false\n",
								&e), DERMS_OK);
	ck_assert_int_eq(fleet_fx_id(c, "SELECT min_size_kw FROM iso_markets WHERE name = 'CAISO'"), 250);
	ck_assert_int_eq(import_str(c, a, "markets", FLEET_IMPORT_UPSERT,
								"name,kind,min_size_kw,allow_dual_participation\nCAISO,retail,250,false\n",
								&e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";2|kind|market \"CAISO\" is wholesale"), "%s", e);
	arena_destroy(a);
	fleet_fx_teardown();
}
END_TEST

/* "AGG:FROM-TO,..." of DER ext's enrollment rows, in order */
static char *
periods(PGconn *c, arena *a, const char *ext)
{
	char		sql[512];
	PGresult   *r;
	char	   *s = arena_strdup(a, "");

	snprintf(sql, sizeof(sql), "SELECT g.name, to_char(m.effective_from AT TIME ZONE 'UTC', 'YYYY-MM-DD'),"
			 " coalesce(to_char(m.effective_to AT TIME ZONE 'UTC', 'YYYY-MM-DD'), 'open')"
			 " FROM aggregation_members m JOIN aggregations g ON g.id = m.aggregation_id"
			 " JOIN der_resources r ON r.id = m.der_id WHERE r.external_id = '%s'"
			 " ORDER BY m.effective_from", ext);
	r = PQexec(c, sql);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	for (int i = 0; i < PQntuples(r); i++)
		s = arena_printf(a, "%s%s%s:%s-%s", s, i ? "," : "", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
						 PQgetvalue(r, i, 2));
	PQclear(r);
	return s;
}

START_TEST(test_upsert_enrollments)
{
	PGconn	   *c = fleet_fx_setup(__func__);
	arena	   *a;
	char	   *e;

	if (c == NULL)
		return;
	fleet_fx_import_sample(c);
	a = arena_create(0);
	ck_assert_int_eq(import_str(c, a, "aggregations", FLEET_IMPORT_INSERT,
								"tenant,name,market,iso_resource_id,pricing_node,min_size_kw,effective_from,"
								"effective_to\nagg1,A2,CAISO,RES-3,NODE-A,,,\n", &e), DERMS_OK);

	/* re-importing the sample: insert refuses, upsert changes nothing */
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_INSERT,
								ENR_HDR "agg1,A1,D2,2024-01-01T00:00:00Z,2024-07-01T00:00:00Z\n", &e),
					 DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";2|der_id|DER \"D2\" is already in aggregation"), "%s", e);
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT,
								ENR_HDR "agg1,A1,D2,2024-01-01T00:00:00Z,2024-07-01T00:00:00Z\n", &e), DERMS_OK);
	ck_assert_str_eq(periods(c, a, "D2"), "A1:2024-01-01-2024-07-01");

	/* D1 joins A1; later a file moves it to A2: the old period is closed */
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT,
								ENR_HDR "agg1,A1,D1,2024-02-01T00:00:00Z,\n", &e), DERMS_OK);
	ck_assert_str_eq(periods(c, a, "D1"), "A1:2024-02-01-open");
	ck_assert_msg(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT,
							 ENR_HDR "agg1,A2,D1,2024-06-01T00:00:00Z,\n", &e) == DERMS_OK, "%s", e);
	ck_assert_str_eq(periods(c, a, "D1"), "A1:2024-02-01-2024-06-01,A2:2024-06-01-open");
	/* a full snapshot of both periods again: nothing changes */
	ck_assert_msg(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT, ENR_HDR
							 "agg1,A1,D1,2024-02-01T00:00:00Z,2024-06-01T00:00:00Z\n"
							 "agg1,A2,D1,2024-06-01T00:00:00Z,\n", &e) == DERMS_OK, "%s", e);
	ck_assert_str_eq(periods(c, a, "D1"), "A1:2024-02-01-2024-06-01,A2:2024-06-01-open");

	/* history is never rewritten: a different end for a closed period, a
	 * period overlapping one that stays; nothing at all is written */
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT, ENR_HDR
								"agg1,A2,D1,2024-06-01T00:00:00Z,2024-12-01T00:00:00Z\n"
								"agg1,A1,D1,2024-02-01T00:00:00Z,2024-05-01T00:00:00Z\n"
								"agg1,A1,D2,2024-03-01T00:00:00Z,\n", &e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, ";3|effective_to|the enrollment of DER \"D1\" in this aggregation from") &&
				  strstr(e, "history is never rewritten;4|der_id|DER \"D2\" is already in aggregation") &&
				  !strstr(e, ";2|"), "%s", e);
	ck_assert_str_eq(periods(c, a, "D1"), "A1:2024-02-01-2024-06-01,A2:2024-06-01-open");

	/* ending an open period */
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT,
								ENR_HDR "agg1,A2,D1,2024-06-01T00:00:00Z,2024-12-01T00:00:00Z\n", &e), DERMS_OK);
	ck_assert_str_eq(periods(c, a, "D1"), "A1:2024-02-01-2024-06-01,A2:2024-06-01-2024-12-01");
	/* a new period that starts before an open one ends is an overlap */
	ck_assert_int_eq(import_str(c, a, "enrollments", FLEET_IMPORT_UPSERT, ENR_HDR
								"agg1,A2,D2,2024-09-01T00:00:00Z,\n"
								"agg1,A1,D2,2024-08-01T00:00:00Z,2024-10-01T00:00:00Z\n", &e), DERMS_EINVAL);
	ck_assert_msg(strstr(e, "|der_id|DER \"D2\" is in two aggregations of one market at once"), "%s", e);
	ck_assert_str_eq(periods(c, a, "D2"), "A1:2024-01-01-2024-07-01");
	ck_assert_int_eq(fleet_fx_id(c, "SELECT count(*) FROM audit_log WHERE action = 'fleet.import.enrollments'"
								 " AND detail->>'mode' = 'upsert'"), 5);
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
	tcase_add_test(tc, test_upsert_sites_ders);
	tcase_add_test(tc, test_upsert_enrollments);
	tcase_add_loop_test(tc, test_bad_file, 0, (int) (sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
