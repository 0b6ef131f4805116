/*
 * tests/settlement/test_store.c
 *	  Settlement from the database (settlement/store.c and statement.c)
 *	  through the real "dermsctl settle ..." against the test cluster:
 *	  bulk import validated as a whole, idempotent re-import and the
 *	  version it gives exports, exports read from the database equal to
 *	  the same data exported from CSV, membership as of the trading day,
 *	  estimated data replaced by actual data, instructions (file and
 *	  table), stale temporaries of a killed export swept, and statements
 *	  (versions, show, the chart of a fall-back day).
 *
 * NOTES
 *	  Each test makes its own fleet with a name prefix (one database
 *	  serves every suite): tenant, market, aggregation PX-AGG with members
 *	  PX-D1 and PX-D2, and PX-D3 whose enrollment ended 2024-11-01, before
 *	  the trading day 2024-11-03 (America/Los_Angeles, fall-back).
 *	  Readings are 5-minute, 1 + r + (t / 300) % 7 Wh.  Without the test
 *	  cluster every test prints SKIP.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "settlement/tz.h"
#include "tests/settlement/helpers.h"
#include "tests/suites.h"

#define DAY "2024-11-03"

/* Run "dermsctl --db CI settle ARGS" in dir; returns the exit code. */
static int
settle(const char *dir, const char *args, char *out, size_t outsz, char *errb,
	   size_t errsz)
{
	char		pre[1024];

	snprintf(pre, sizeof(pre), "--db '%s'", test_pg_conninfo());
	return settle_test_ctl(dir, pre, args, out, outsz, errb, errsz);
}

static void
sql(PGconn *c, const char *q)
{
	PGresult   *r = PQexec(c, q);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
				  "%s: %s", q, PQerrorMessage(c));
	PQclear(r);
}

/* First value of q; malloc'd */
static char *
value(PGconn *c, const char *q)
{
	PGresult   *r = PQexec(c, q);
	char	   *v;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", q,
				  PQerrorMessage(c));
	v = strdup(PQgetvalue(r, 0, 0));
	PQclear(r);
	return v;
}

/* The fleet of one test, named by px. */
static void
fleet(PGconn *c, const char *px)
{
	char		q[2048];

	snprintf(q, sizeof(q),
			 "INSERT INTO tenants (name, kind) VALUES ('%1$s-t', 'aggregator');"
			 "INSERT INTO iso_markets (name) VALUES ('%1$s-M');"
			 "INSERT INTO aggregations (tenant_id, name, iso_resource_id, iso_market_id)"
			 " SELECT t.id, '%1$s-A', '%1$s-AGG', m.id FROM tenants t, iso_markets m"
			 " WHERE t.name = '%1$s-t' AND m.name = '%1$s-M';"
			 "INSERT INTO der_resources (kind, external_id, tenant_id)"
			 " SELECT 'battery', '%1$s-D' || i, t.id FROM tenants t, generate_series(1, 3) i"
			 " WHERE t.name = '%1$s-t';"
			 "INSERT INTO aggregation_members (aggregation_id, der_id, effective_from, effective_to)"
			 " SELECT g.id, d.id, '2024-01-01Z',"
			 "  CASE WHEN d.external_id = '%1$s-D3' THEN '2024-11-01Z'::timestamptz END"
			 " FROM aggregations g, der_resources d"
			 " WHERE g.iso_resource_id = '%1$s-AGG' AND d.external_id LIKE '%1$s-D%%'", px);
	sql(c, q);
}

/* Readings of PX-D1..3 for local days 11-02..11-04, skipping r == skip_r
 * over [skip_from, skip_from + 300 * skip_n), bumping one of D1 by bump. */
static void
readings(const char *dir, const char *name, const char *px, int skip_r,
		 int64_t skip_from, int skip_n, int bump)
{
	char		path[512];
	FILE	   *f;
	derms_err	err;
	int64_t		day = settle_days_from_civil(2024, 11, 3);

	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("resource,interval_start,interval_minutes,kwh\n", f);
	for (int r = 0; r < 3; r++)
		for (int64_t t = settle_tz_day_start(day - 1); t < settle_tz_day_start(day + 2); t += 300)
		{
			char		ts[SETTLE_TIME_STRMAX];
			int64_t		wh = settle_test_wh(r, t);

			if (r == skip_r && t >= skip_from && t < skip_from + 300 * skip_n)
				continue;
			if (r == 0 && t == settle_tz_day_start(day) + 3600 * 10)
				wh += bump;
			settle_fmt_utc(t, ts);
			fprintf(f, "%s-D%d,%s,5,%d.%03d\n", px, r + 1, ts, (int) (wh / 1000),
					(int) (wh % 1000));
		}
	fclose(f);
}

static char *
file_in(const char *dir, const char *sub, const char *px, const char *suffix)
{
	char		path[1024];

	snprintf(path, sizeof(path), "%s/%s/caiso_%s-AGG_" DAY "%s", dir, sub, px, suffix);
	return settle_test_slurp(NULL, path, NULL);
}

static bool
skip_without_db(const char *what)
{
	if (test_pg_conninfo() != NULL)
		return false;
	test_skip(what, "DERMS_TEST_PG not set");
	return true;
}

/* ---- import validated as a whole ---- */

START_TEST(test_import_bad_rows)
{
	static char out[4096];
	char		errb[8192];
	char	   *dir;
	PGconn	   *c;
	char	   *n;
	FILE	   *f;
	char		path[512];

	if (skip_without_db("settle_store import"))
		return;
	c = settle_test_db();
	fleet(c, "ib");
	dir = test_mkdtemp("settle-store");
	snprintf(path, sizeof(path), "%s/bad.csv", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("resource,interval_start,interval_minutes,kwh\n"
		  "ib-D1,2024-11-03T08:00:00Z,5,0.001\n"
		  "ib-D1,2024-11-03T08:05:00Z,5,abc\n"		/* line 3 */
		  "nobody,2024-11-03T08:00:00Z,5,0.001\n"	/* line 4 */
		  "ib-D1,2024-11-03T08:05:00Z,7,0.001\n"	/* line 5 */
		  "ib-D1,2024-11-03T08:07:00Z,5,0.001\n"	/* line 6 */
		  "ib-D1,2024-11-03T08:00:00Z,5,0.001\n"	/* line 7: earlier */
		  "ib-D2,2024-11-03T08:00:00Z,5,0.002\n", f);
	fclose(f);
	ck_assert_int_eq(settle(dir, "import bad.csv", out, sizeof(out), errb, sizeof(errb)), 2);
	for (int line = 3; line <= 7; line++)
	{
		char		needle[64];

		snprintf(needle, sizeof(needle), "bad.csv line %d: ", line);
		ck_assert_msg(strstr(errb, needle) != NULL, "line %d not reported: %s", line, errb);
	}
	ck_assert_ptr_nonnull(strstr(errb, "5 bad rows in bad.csv; nothing imported"));
	ck_assert_ptr_null(strstr(errb, "line 2:"));
	ck_assert_ptr_null(strstr(errb, "line 8:"));
	n = value(c, "SELECT count(*) FROM settlement_readings r JOIN der_resources d"
			  " ON d.id = r.der_id WHERE d.external_id LIKE 'ib-%'");
	ck_assert_str_eq(n, "0");
	free(n);
	PQfinish(c);
	free(dir);
}
END_TEST

/* ---- idempotent import, DB export == CSV export, versions ---- */

START_TEST(test_import_export_versions)
{
	static char out[8192];
	char		errb[8192];
	char	   *dir;
	PGconn	   *c;
	const char *const files[] = {".mris-sqmd.csv", ".espi.xml", ".intervals.csv",
	".intervals.json"};
	char	   *m1,
			   *m2,
			   *v;
	char		args[1024];

	if (skip_without_db("settle_store export"))
		return;
	c = settle_test_db();
	fleet(c, "ie");
	dir = test_mkdtemp("settle-store");
	readings(dir, "r.csv", "ie", -1, 0, 0, 0);
	readings(dir, "r2.csv", "ie", -1, 0, 0, 5);
	ck_assert_int_eq(settle(dir, "import r.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "rows=2628 inserted=2628 replaced=0 unchanged=0") != NULL, "%s", out);
	ck_assert_int_eq(settle(dir, "import r.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "inserted=0 replaced=0 unchanged=2628") != NULL, "%s", out);

	/* from the database: D3 left the aggregation before the day */
	ck_assert_int_eq(mkdir(strcat(strcpy(args, dir), "/db"), 0755), 0);
	ck_assert_int_eq(mkdir(strcat(strcpy(args, dir), "/csv"), 0755), 0);
	ck_assert_msg(settle(dir, "export --iso caiso --aggregation ie-AGG --day " DAY " --out db",
						 out, sizeof(out), errb, sizeof(errb)) == 0, "%s", errb);
	ck_assert_msg(settle(dir, "export --iso caiso --aggregation ie-AGG --day " DAY
						 " --input r.csv --resources ie-D1,ie-D2 --out csv",
						 out, sizeof(out), errb, sizeof(errb)) == 0, "%s", errb);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
	{
		char	   *a = file_in(dir, "db", "ie", files[i]);
		char	   *b = file_in(dir, "csv", "ie", files[i]);

		ck_assert_msg(a != NULL && b != NULL && strcmp(a, b) == 0, "%s differs", files[i]);
		free(a);
		free(b);
	}
	m1 = file_in(dir, "db", "ie", ".manifest.json");
	ck_assert_ptr_nonnull(strstr(m1, "\"members\":[\"ie-D1\",\"ie-D2\"]"));
	v = value(c, "SELECT min(id) FROM settlement_imports WHERE rows = 2628 AND kind = 'readings'"
			  " AND id IN (SELECT import_id FROM settlement_readings r JOIN der_resources d"
			  " ON d.id = r.der_id WHERE d.external_id = 'ie-D1')");
	snprintf(args, sizeof(args), "\"database\":\"settlement_interval_data\",\"rows\":1752,"
			 "\"import_version\":%s,", v);
	ck_assert_msg(strstr(m1, args) != NULL, "want %s in %.600s", args, m1);
	free(v);

	/* the same data again: the same bytes, manifest included */
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ie-AGG --day " DAY " --out db",
							out, sizeof(out), errb, sizeof(errb)), 0);
	m2 = file_in(dir, "db", "ie", ".manifest.json");
	ck_assert_str_eq(m1, m2);
	free(m2);

	/* one changed value: replaced, a new version, different files */
	ck_assert_int_eq(settle(dir, "import r2.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "inserted=0 replaced=1 unchanged=2627") != NULL, "%s", out);
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ie-AGG --day " DAY " --out db",
							out, sizeof(out), errb, sizeof(errb)), 0);
	m2 = file_in(dir, "db", "ie", ".manifest.json");
	ck_assert_ptr_null(strstr(m2, args));
	ck_assert_str_ne(m1, m2);
	free(m1);
	free(m2);

	/* unknown aggregation, one without members that day */
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ie-NOPE --day " DAY " --out db",
							out, sizeof(out), errb, sizeof(errb)), 2);
	ck_assert_ptr_nonnull(strstr(errb, "unknown aggregation \"ie-NOPE\""));
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ie-AGG --day 2023-11-03 --out db",
							out, sizeof(out), errb, sizeof(errb)), 2);
	ck_assert_ptr_nonnull(strstr(errb, "no members"));
	PQfinish(c);
	free(dir);
}
END_TEST

/* ---- estimated, then actual data ---- */

START_TEST(test_estimated_then_actual)
{
	static char out[8192];
	char		errb[8192];
	char	   *dir;
	PGconn	   *c;
	char	   *x;
	int64_t		gap = 1730620800 + 3600 * 5;	/* 2024-11-03T08:00Z + 5 h */

	if (skip_without_db("settle_store estimated"))
		return;
	c = settle_test_db();
	fleet(c, "ea");
	dir = test_mkdtemp("settle-store");
	readings(dir, "gap.csv", "ea", 1, gap, 6, 0);
	readings(dir, "full.csv", "ea", -1, 0, 0, 0);
	ck_assert_int_eq(mkdir(strcat(strcpy(errb, dir), "/o"), 0755), 0);
	ck_assert_int_eq(settle(dir, "import gap.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ea-AGG --day " DAY " --out o",
							out, sizeof(out), errb, sizeof(errb)), 2);
	ck_assert_msg(strstr(errb, "6 member intervals") != NULL &&
				  strstr(errb, "--allow-estimated") != NULL, "%s", errb);
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ea-AGG --day " DAY
							" --out o --allow-estimated", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_ptr_nonnull(strstr(out, "estimated=6"));
	x = file_in(dir, "o", "ea", ".mris-sqmd.csv");
	ck_assert_ptr_nonnull(strstr(x, ",Y\n"));
	free(x);
	/* the actual data arrives: the export is complete and unflagged */
	ck_assert_int_eq(settle(dir, "import full.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "inserted=6 replaced=0") != NULL, "%s", out);
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation ea-AGG --day " DAY " --out o",
							out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_ptr_nonnull(strstr(out, "estimated=0"));
	x = file_in(dir, "o", "ea", ".mris-sqmd.csv");
	ck_assert_ptr_null(strstr(x, ",Y\n"));
	free(x);
	PQfinish(c);
	free(dir);
}
END_TEST

/* The line of csv starting with head ends with tail. */
static void
expect_instructed(const char *csv, const char *head, const char *tail)
{
	const char *l = strstr(csv, head);
	const char *nl;
	size_t		tl = strlen(tail);

	ck_assert_msg(l != NULL, "no line %s", head);
	nl = strchr(l, '\n');
	ck_assert_ptr_nonnull(nl);
	ck_assert_msg((size_t) (nl + 1 - l) >= tl && memcmp(nl + 1 - tl, tail, tl) == 0,
				  "%.*s: want it to end in %s", (int) (nl - l), l, tail);
}

/* ---- instructions (file and table), stale temporaries ---- */

START_TEST(test_instructions_and_sweep)
{
	static char out[8192];
	char		errb[8192];
	char		path[1024];
	char	   *dir;
	PGconn	   *c;
	char	   *x;
	FILE	   *f;
	struct stat st;

	if (skip_without_db("settle_store instructions"))
		return;
	c = settle_test_db();
	fleet(c, "in");
	dir = test_mkdtemp("settle-store");
	readings(dir, "r.csv", "in", -1, 0, 0, 0);
	snprintf(path, sizeof(path), "%s/instr.csv", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	/* 1.2 kWh over the hour from 12:00 PST: 100 Wh per 5 minutes */
	fputs("resource,interval_start,interval_minutes,kwh\n"
		  "in-D1,2024-11-03T20:00:00Z,60,1.2\n", f);
	fclose(f);
	ck_assert_int_eq(mkdir(strcat(strcpy(path, dir), "/o"), 0755), 0);
	/* a killed export's leftover (no such pid) and a live writer's */
	snprintf(path, sizeof(path), "%s/o/.caiso_x.csv.tmp.999999999", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/o/.caiso_y.csv.tmp.%ld", dir, (long) getpid());
	fclose(fopen(path, "w"));
	ck_assert_int_eq(settle(dir, "import r.csv", out, sizeof(out), errb, sizeof(errb)), 0);

	/* --instructions FILE with --input */
	ck_assert_msg(settle(dir, "export --iso caiso --aggregation in-AGG --day " DAY
						 " --input r.csv --resources in-D1,in-D2 --instructions instr.csv --out o",
						 out, sizeof(out), errb, sizeof(errb)) == 0, "%s", errb);
	x = file_in(dir, "o", "in", ".intervals.csv");
	expect_instructed(x, "resource,in-D1,in-AGG,2024-11-03T20:00:00Z,", ",0.100,,\n");
	expect_instructed(x, "resource,in-D1,in-AGG,2024-11-03T20:55:00Z,", ",0.100,,\n");
	expect_instructed(x, "resource,in-D1,in-AGG,2024-11-03T21:00:00Z,", ",,,\n");
	expect_instructed(x, "resource,in-D2,in-AGG,2024-11-03T20:00:00Z,", ",,,\n");
	expect_instructed(x, "aggregation,,in-AGG,2024-11-03T20:30:00Z,", ",0.100,,\n");
	free(x);
	snprintf(path, sizeof(path), "%s/o/.caiso_x.csv.tmp.999999999", dir);
	ck_assert_int_ne(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/o/.caiso_y.csv.tmp.%ld", dir, (long) getpid());
	ck_assert_int_eq(stat(path, &st), 0);

	/* the same from the instructions table */
	ck_assert_int_eq(settle(dir, "import-instructions instr.csv", out, sizeof(out), errb,
							sizeof(errb)), 0);
	ck_assert_int_eq(settle(dir, "export --iso caiso --aggregation in-AGG --day " DAY " --out o",
							out, sizeof(out), errb, sizeof(errb)), 0);
	x = file_in(dir, "o", "in", ".intervals.csv");
	expect_instructed(x, "resource,in-D1,in-AGG,2024-11-03T20:00:00Z,", ",0.100,,\n");
	expect_instructed(x, "aggregation,,in-AGG,2024-11-03T20:30:00Z,", ",0.100,,\n");
	free(x);
	x = file_in(dir, "o", "in", ".manifest.json");
	ck_assert_ptr_nonnull(strstr(x, "{\"role\":\"instructions\",\"database\":"
								 "\"settlement_instructions\",\"rows\":1,"));
	free(x);
	/* an instruction for an unknown resource imports nothing */
	snprintf(path, sizeof(path), "%s/bad.csv", dir);
	f = fopen(path, "w");
	fputs("resource,interval_start,interval_minutes,kwh\nghost,2024-11-03T20:00:00Z,60,1\n", f);
	fclose(f);
	ck_assert_int_eq(settle(dir, "import-instructions bad.csv", out, sizeof(out), errb,
							sizeof(errb)), 2);
	ck_assert_ptr_nonnull(strstr(errb, "unknown resource \"ghost\""));
	PQfinish(c);
	free(dir);
}
END_TEST

/* ---- statements ---- */

START_TEST(test_statements)
{
	static char out[16384];
	char		errb[8192];
	char	   *dir;
	PGconn	   *c;
	char	   *x;
	PGresult   *r;

	if (skip_without_db("settle_store statements"))
		return;
	c = settle_test_db();
	fleet(c, "sm");
	dir = test_mkdtemp("settle-store");
	readings(dir, "r.csv", "sm", -1, 0, 0, 0);
	readings(dir, "r2.csv", "sm", -1, 0, 0, 9);
	ck_assert_int_eq(mkdir(strcat(strcpy(errb, dir), "/o"), 0755), 0);
	ck_assert_int_eq(settle(dir, "import r.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(settle(dir, "statement --aggregation sm-AGG --iso caiso --day " DAY " --store --out o",
						 out, sizeof(out), errb, sizeof(errb)) == 0, "%s", errb);
	ck_assert_msg(strstr(out, "statement stored aggregation=sm-AGG day=" DAY) != NULL &&
				  strstr(out, "version=1") != NULL, "%.300s", out);
	ck_assert_ptr_nonnull(strstr(out, "\"intervals\":300,\"members\":2"));
	/* the same inputs: no new version */
	ck_assert_int_eq(settle(dir, "statement --aggregation sm-AGG --iso caiso --day " DAY " --store",
							out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "statement unchanged") != NULL, "%.300s", out);
	/* newer data: version 2, version 1 kept */
	ck_assert_int_eq(settle(dir, "import r2.csv", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_int_eq(settle(dir, "statement --aggregation sm-AGG --iso caiso --day " DAY " --store",
							out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strstr(out, "version=2") != NULL, "%.300s", out);
	ck_assert_int_eq(settle(dir, "statement show --aggregation sm-AGG --day " DAY
							" --chart o/shown.svg", out, sizeof(out), errb, sizeof(errb)), 0);
	ck_assert_msg(strncmp(out, "version,id,", 11) == 0 && strstr(out, "\n1,") != NULL &&
				  strstr(out, "\n2,") != NULL, "%s", out);
	/* the chart of the fall-back day: 25 hours, 01:00 twice */
	x = file_in(dir, "o", "sm", ".chart.svg");
	ck_assert_ptr_nonnull(x);
	ck_assert_ptr_nonnull(strstr(x, ">01:00 PST<"));
	ck_assert_ptr_nonnull(strstr(x, ">00:00 PDT<"));
	ck_assert_ptr_nonnull(strstr(x, "300 intervals of 5 minutes"));
	ck_assert_ptr_nonnull(strstr(x, "id=\"actual\""));
	free(x);
	{
		char		path[1024];

		snprintf(path, sizeof(path), "%s/o/shown.svg", dir);
		x = settle_test_slurp(NULL, path, NULL);
		ck_assert_ptr_nonnull(x);
		ck_assert_ptr_nonnull(strstr(x, "<svg "));
		free(x);
	}
	/* never rewritten */
	r = PQexec(c, "UPDATE settlement_statements SET version = 9 WHERE aggregation_id ="
			   " (SELECT id FROM aggregations WHERE iso_resource_id = 'sm-AGG')");
	ck_assert_int_eq(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	x = value(c, "SELECT string_agg(version || ':' || energy_kwh, ' ' ORDER BY version)"
			  " FROM settlement_statements s JOIN aggregations g ON g.id = s.aggregation_id"
			  " WHERE g.iso_resource_id = 'sm-AGG'");
	ck_assert_msg(strncmp(x, "1:", 2) == 0 && strstr(x, " 2:") != NULL, "%s", x);
	free(x);
	PQfinish(c);
	free(dir);
}
END_TEST

/* ---- the NYISO hourly file (no database needed) ---- */

START_TEST(test_nyiso_hourly)
{
	static char out[8192];
	char		errb[8192];
	char		cmd[2048];
	char	   *dir = test_mkdtemp("settle-store");
	char	   *x;
	char		path[1024];
	int			nagg = 0;
	FILE	   *p;

	readings(dir, "r.csv", "ny", -1, 0, 0, 0);
	ck_assert_int_eq(mkdir(strcat(strcpy(path, dir), "/o"), 0755), 0);
	snprintf(cmd, sizeof(cmd), "cd %s && \"%s/dermsctl\" settle export --iso nyiso"
			 " --aggregation NY1 --day " DAY " --input r.csv --out o 2>stderr", dir,
			 test_build_dir());
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	out[fread(out, 1, sizeof(out) - 1, p)] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	(void) errb;
	snprintf(path, sizeof(path), "%s/o/nyiso_NY1_" DAY ".nyiso-hourly.csv", dir);
	x = settle_test_slurp(NULL, path, NULL);
	ck_assert_ptr_nonnull(x);
	ck_assert(strncmp(x, "record,aggregation_id,resource_id,trade_date,hour_beginning,"
					  "repeated_hour,interval_begin_ept,interval_begin_utc,mwh,estimated\n",
					  100) == 0);
	/* 25 hours: 01:00 EDT, then 01:00 EST again */
	for (const char *q = x; (q = strstr(q, "\nA,NY1,,")) != NULL; q++)
		nagg++;
	ck_assert_int_eq(nagg, 25);
	ck_assert_ptr_nonnull(strstr(x, "\nA,NY1,,2024-11-03,HB00,0,2024-11-03T00:00:00-04:00,"
								 "2024-11-03T04:00:00Z,"));
	ck_assert_ptr_nonnull(strstr(x, "\nA,NY1,,2024-11-03,HB01,0,2024-11-03T01:00:00-04:00,"
								 "2024-11-03T05:00:00Z,"));
	ck_assert_ptr_nonnull(strstr(x, "\nA,NY1,,2024-11-03,HB01,1,2024-11-03T01:00:00-05:00,"
								 "2024-11-03T06:00:00Z,"));
	ck_assert_ptr_nonnull(strstr(x, "\nA,NY1,,2024-11-03,HB23,0,2024-11-03T23:00:00-05:00,"));
	ck_assert_ptr_nonnull(strstr(x, "\nR,NY1,ny-D3,2024-11-03,HB23,"));
	free(x);
	free(dir);
}
END_TEST

Suite *
settle_store_suite(void)
{
	Suite	   *s = suite_create("settle_store");
	TCase	   *tc = tcase_create("store");

	tcase_add_test(tc, test_import_bad_rows);
	tcase_add_test(tc, test_import_export_versions);
	tcase_add_test(tc, test_estimated_then_actual);
	tcase_add_test(tc, test_instructions_and_sweep);
	tcase_add_test(tc, test_statements);
	tcase_add_test(tc, test_nyiso_hourly);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}
