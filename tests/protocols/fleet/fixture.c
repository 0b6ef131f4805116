/*
 * tests/protocols/fleet/fixture.c
 *	  Per-test databases for the fleet suites (see fixture.h).
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "protocols/fleet/import.h"
#include "server/arena.h"
#include "server/migrate.h"
#include "tests/suites.h"

static char fx_db[64];
static char *fx_conninfo;
static PGconn *fx_conn;

static void
admin(const char *sql)
{
	PGconn	   *c = PQconnectdb(test_pg_conninfo());
	PGresult   *r = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
}

PGconn *
fleet_fx_setup(const char *test)
{
	static unsigned counter;
	struct timespec ts;
	char		sql[128];
	derms_err	err;
	int			n;

	if (test_pg_conninfo() == NULL)
	{
		test_skip(test, "DERMS_TEST_PG is not set");
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(fx_db, sizeof(fx_db), "fleet_%ld_%u_%lx", (long) getpid(), counter++,
			 (unsigned long) ts.tv_nsec);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", fx_db);
	admin(sql);
	free(fx_conninfo);
	ck_assert(asprintf(&fx_conninfo, "%s dbname=%s", test_pg_conninfo(), fx_db) > 0);
	fx_conn = PQconnectdb(fx_conninfo);
	ck_assert_msg(PQstatus(fx_conn) == CONNECTION_OK, "%s", PQerrorMessage(fx_conn));
	ck_assert_msg(migrate_apply(fx_conn, "schema", &n, &err) == DERMS_OK, "migrate: %s %s",
				  err.msg, err.detail);
	free(fleet_fx_sql(fx_conn, "INSERT INTO tenants (name, kind) VALUES"
					  " ('agg1', 'aggregator'), ('agg2', 'aggregator'), ('utility', 'utility')"));
	return fx_conn;
}

void
fleet_fx_teardown(void)
{
	char		sql[128];

	if (fx_conn)
		PQfinish(fx_conn);
	fx_conn = NULL;
	if (fx_db[0])
	{
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", fx_db);
		admin(sql);
		fx_db[0] = '\0';
	}
	free(fx_conninfo);
	fx_conninfo = NULL;
}

const char *
fleet_fx_conninfo(void)
{
	return fx_conninfo;
}

char *
fleet_fx_sql(PGconn *c, const char *sql)
{
	PGresult   *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	char	   *out;

	ck_assert_msg(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK, "%s: %s", sql,
				  PQerrorMessage(c));
	out = strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	return out;
}

int64_t
fleet_fx_id(PGconn *c, const char *sql)
{
	char	   *s = fleet_fx_sql(c, sql);
	int64_t		v = strtoll(s, NULL, 10);

	free(s);
	return v;
}

void
fleet_fx_import_sample(PGconn *c)
{
	static const char *const kinds[] = {"feeders", "markets", "aggregations", "sites",
	"ders", "enrollments"};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
	{
		char		path[256];
		FILE	   *f;
		char	   *data;
		long		len;
		arena	   *a = arena_create(0);
		fleet_import_result res;
		derms_err	err;
		derms_rc	rc;

		snprintf(path, sizeof(path), "tests/data/fleet/%s.csv", kinds[i]);
		f = fopen(path, "rb");
		ck_assert_msg(f != NULL, "open %s", path);
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		rewind(f);
		data = malloc((size_t) len + 1);
		ck_assert((long) fread(data, 1, (size_t) len, f) == len);
		fclose(f);
		rc = fleet_import(c, a, kinds[i], FLEET_IMPORT_INSERT, data, (size_t) len, "test", path, &res, &err);
		ck_assert_msg(rc == DERMS_OK, "import %s: %s (%zu errors, first: %ld %s %s)", path,
					  err.msg, res.nerrors, res.nerrors ? res.errors[0].line : 0,
					  res.nerrors ? res.errors[0].field : "", res.nerrors ? res.errors[0].reason : "");
		free(data);
		arena_destroy(a);
	}
}
