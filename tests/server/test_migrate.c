/*
 * tests/server/test_migrate.c
 *	  Tests for server/migrate.c and for the base schema it applies
 *	  (schema/0001_init.sql: audit chain, check constraints).
 *
 * NOTES
 *	  Needs the private cluster tests/run.sh starts (DERMS_TEST_PG); without
 *	  it every test prints SKIP and passes.  Each test gets a database of
 *	  its own, created in the fixture and dropped (WITH (FORCE)) after it,
 *	  and a private directory for its migration files.  Run from the
 *	  repository root: the real migrations are read from "schema".
 *	  The fixture opens no connection: the concurrency test forks first
 *	  and connects after, so no PGconn is ever shared across fork().
 */
#include <errno.h>
#include <dirent.h>
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <libpq-fe.h>

#include "server/err.h"
#include "server/migrate.h"
#include "tests/suites.h"

#define SCHEMA_DIR "schema"

static char test_db[64];		/* this test's database, "" when none */
static char *test_dir;			/* this test's migration directory */
static PGconn *test_conn;		/* opened by the test, closed by teardown */

#define NEED_PG() \
	do { \
		if (test_pg_conninfo() == NULL) \
		{ \
			test_skip(__func__, "DERMS_TEST_PG is not set"); \
			return; \
		} \
	} while (0)

/* Connect to database dbname of the test cluster; new. */
static PGconn *
connect_db(const char *dbname)
{
	const char *const keys[] = {"dbname", "dbname", NULL};
	const char *const vals[] = {test_pg_conninfo(), dbname, NULL};
	PGconn	   *c = PQconnectdbParams(keys, vals, 1);

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect to %s: %s",
				  dbname ? dbname : "(default)", PQerrorMessage(c));
	return c;
}

static PGconn *
open_conn(void)
{
	ck_assert(test_conn == NULL);
	test_conn = connect_db(test_db);
	return test_conn;
}

static void
admin_exec(const char *sql)
{
	PGconn	   *c = connect_db(NULL);
	PGresult   *res = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
				  PQerrorMessage(c));
	PQclear(res);
	PQfinish(c);
}

static void
setup(void)
{
	static unsigned counter;
	struct timespec ts;
	char		sql[128];

	test_db[0] = '\0';
	test_dir = NULL;
	test_conn = NULL;
	if (test_pg_conninfo() == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(test_db, sizeof(test_db), "migtest_%ld_%u_%lx",
			 (long) getpid(), counter++, (unsigned long) ts.tv_nsec);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", test_db);
	admin_exec(sql);
	test_dir = test_mkdtemp("migrate");
	ck_assert_msg(test_dir != NULL, "test_mkdtemp: %s", strerror(errno));
}

static void
remove_dir(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	char		path[4096];

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static void
teardown(void)
{
	char		sql[128];

	if (test_conn != NULL)
		PQfinish(test_conn);
	test_conn = NULL;
	if (test_db[0] != '\0')
	{
		snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)",
				 test_db);
		admin_exec(sql);
		test_db[0] = '\0';
	}
	if (test_dir != NULL)
	{
		remove_dir(test_dir);
		free(test_dir);
		test_dir = NULL;
	}
}

static void
write_file(const char *name, const char *text)
{
	char		path[4096];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	f = fopen(path, "w");
	ck_assert_msg(f != NULL, "fopen %s: %s", path, strerror(errno));
	ck_assert(fputs(text, f) >= 0);
	ck_assert(fclose(f) == 0);
}

static void
remove_file(const char *name)
{
	char		path[4096];

	snprintf(path, sizeof(path), "%s/%s", test_dir, name);
	ck_assert_msg(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
}

/* The first column of the first row as a long; -1 for NULL. */
static long
query_long(PGconn *c, const char *sql)
{
	PGresult   *res = PQexec(c, sql);
	long		v;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
				  PQerrorMessage(c));
	ck_assert_int_eq(PQntuples(res), 1);
	v = PQgetisnull(res, 0, 0) ? -1 : atol(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static bool
table_exists(PGconn *c, const char *table)
{
	char		sql[256];

	snprintf(sql, sizeof(sql),
			 "SELECT CASE WHEN to_regclass('%s') IS NULL THEN 0 ELSE 1 END",
			 table);
	return query_long(c, sql) == 1;
}

static long
count_recorded(PGconn *c)
{
	if (!table_exists(c, "schema_migrations"))
		return 0;
	return query_long(c, "SELECT count(*) FROM schema_migrations");
}

static void
exec_ok(PGconn *c, const char *sql)
{
	PGresult   *res = PQexec(c, sql);

	ck_assert_msg(PQresultStatus(res) == PGRES_COMMAND_OK ||
				  PQresultStatus(res) == PGRES_TUPLES_OK,
				  "%s: %s", sql, PQerrorMessage(c));
	PQclear(res);
}

/* sql must fail with SQLSTATE state and a message containing text. */
static void
exec_fails(PGconn *c, const char *sql, const char *state, const char *text)
{
	PGresult   *res = PQexec(c, sql);
	const char *got = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	ck_assert_msg(PQresultStatus(res) == PGRES_FATAL_ERROR,
				  "%s: succeeded, expected %s", sql, state);
	ck_assert_msg(got != NULL && strcmp(got, state) == 0,
				  "%s: SQLSTATE %s, expected %s (%s)", sql,
				  got ? got : "(none)", state, PQerrorMessage(c));
	ck_assert_msg(strstr(PQerrorMessage(c), text) != NULL,
				  "%s: message \"%s\" lacks \"%s\"", sql, PQerrorMessage(c),
				  text);
	PQclear(res);
}

/* Migration files in the real schema directory, counted independently. */
static int
count_schema_files(void)
{
	glob_t		g;
	int			n = 0;

	if (glob(SCHEMA_DIR "/[0-9][0-9][0-9][0-9]_*.sql", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++)
	{
		const char *base = g.gl_pathv[i] + strlen(SCHEMA_DIR "/0000_");
		size_t		len = strlen(base) - strlen(".sql");

		if (len > 0 && strspn(base, "abcdefghijklmnopqrstuvwxyz0123456789_")
			== len)
			n++;
	}
	globfree(&g);
	return n;
}

static void
apply_ok(PGconn *c, const char *dir, int expect)
{
	derms_err	err = {0};
	int			n = -1;
	derms_rc	rc = migrate_apply(c, dir, &n, &err);

	ck_assert_msg(rc == DERMS_OK, "migrate_apply(%s): %s (%s)", dir, err.msg,
				  err.detail);
	ck_assert_int_eq(n, expect);
}

START_TEST(test_apply_real_schema)
{
	static const char *const tables[] = {
		"tenants", "certificates", "end_devices", "der_resources",
		"aggregations", "aggregation_members", "health_probe", "audit_log",
	};
	PGconn	   *c;
	int			nfiles;

	NEED_PG();
	c = open_conn();
	nfiles = count_schema_files();
	ck_assert_int_ge(nfiles, 1);
	apply_ok(c, SCHEMA_DIR, nfiles);
	ck_assert_int_eq(count_recorded(c), nfiles);
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM schema_migrations"
								" WHERE version = 1 AND name = '0001_init.sql'"
								" AND length(checksum) = 64"), 1);
	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		ck_assert_msg(table_exists(c, tables[i]), "table %s missing",
					  tables[i]);
	/* the readiness probe's upsert works */
	exec_ok(c, "INSERT INTO health_probe (id, at) VALUES (1, now())"
			" ON CONFLICT (id) DO UPDATE SET at = now()");
	exec_ok(c, "INSERT INTO health_probe (id, at) VALUES (1, now())"
			" ON CONFLICT (id) DO UPDATE SET at = now()");
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM health_probe"), 1);

	/* a second run is a no-op */
	apply_ok(c, SCHEMA_DIR, 0);
	ck_assert_int_eq(count_recorded(c), nfiles);
}
END_TEST

START_TEST(test_broken_second)
{
	derms_err	err = {0};
	PGconn	   *c;
	int			n = -1;
	derms_rc	rc;

	NEED_PG();
	write_file("0001_first.sql", "CREATE TABLE first_t (id integer);\n");
	write_file("0002_second.sql",
			   "CREATE TABLE second_t (id integer);\n"
			   "\n"
			   "SELECT * FROM no_such_table;\n");
	c = open_conn();
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert_int_eq(rc, DERMS_EDB);
	ck_assert_int_eq(n, 1);
	ck_assert_msg(strstr(err.msg, "0002_second.sql") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "no_such_table") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "line 3") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.detail, "42P01") != NULL, "%s", err.detail);
	ck_assert(PQtransactionStatus(c) == PQTRANS_IDLE);

	ck_assert(table_exists(c, "first_t"));
	ck_assert(!table_exists(c, "second_t"));
	ck_assert_int_eq(count_recorded(c), 1);
	ck_assert_int_eq(query_long(c, "SELECT max(version)"
								" FROM schema_migrations"), 1);
	/* the lock was released: another session can take it */
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM pg_locks l"
								" JOIN pg_database d ON d.oid = l.database"
								" WHERE l.locktype = 'advisory'"
								" AND d.datname = current_database()"), 0);

	/* fixed, it applies */
	write_file("0002_second.sql", "CREATE TABLE second_t (id integer);\n");
	apply_ok(c, test_dir, 1);
	ck_assert(table_exists(c, "second_t"));
}
END_TEST

START_TEST(test_changed_checksum)
{
	derms_err	err = {0};
	PGconn	   *c;
	int			n = -1;
	derms_rc	rc;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\n");
	c = open_conn();
	apply_ok(c, test_dir, 1);

	write_file("0001_a.sql", "CREATE TABLE a_t (id bigint);\n");
	write_file("0002_b.sql", "CREATE TABLE b_t (id integer);\n");
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert_int_eq(rc, DERMS_EINVAL);
	ck_assert_int_eq(n, 0);
	ck_assert_msg(strstr(err.msg, "0001_a.sql") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "changed") != NULL, "%s", err.msg);
	ck_assert(!table_exists(c, "b_t"));
	ck_assert_int_eq(count_recorded(c), 1);
}
END_TEST

START_TEST(test_missing_file)
{
	derms_err	err = {0};
	PGconn	   *c;
	int			n = -1;
	derms_rc	rc;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\n");
	write_file("0002_b.sql", "CREATE TABLE b_t (id integer);\n");
	c = open_conn();
	apply_ok(c, test_dir, 2);

	remove_file("0002_b.sql");
	write_file("0003_c.sql", "CREATE TABLE c_t (id integer);\n");
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert_int_eq(rc, DERMS_EINVAL);
	ck_assert_int_eq(n, 0);
	ck_assert_msg(strstr(err.msg, "0002_b.sql") != NULL, "%s", err.msg);
	ck_assert_msg(strstr(err.msg, "missing") != NULL, "%s", err.msg);
	ck_assert(!table_exists(c, "c_t"));
	ck_assert_int_eq(count_recorded(c), 2);
}
END_TEST

START_TEST(test_duplicate_versions)
{
	derms_err	err = {0};
	PGconn	   *c;
	int			n = -1;
	derms_rc	rc;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\n");
	write_file("0001_b.sql", "CREATE TABLE b_t (id integer);\n");
	c = open_conn();
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert_int_eq(rc, DERMS_EINVAL);
	ck_assert_int_eq(n, 0);
	ck_assert_msg(strstr(err.msg, "0001_a.sql") != NULL &&
				  strstr(err.msg, "0001_b.sql") != NULL, "%s", err.msg);
	ck_assert(!table_exists(c, "a_t"));
	ck_assert(!table_exists(c, "b_t"));
	ck_assert_int_eq(count_recorded(c), 0);
}
END_TEST

START_TEST(test_ignores_other_files)
{
	PGconn	   *c;

	NEED_PG();
	write_file("0001_ok.sql", "CREATE TABLE ok_t (id integer);\n");
	write_file("README.md", "not a migration\n");
	write_file("0002_Upper.sql", "SELECT no_such_function();\n");
	write_file("002_short.sql", "SELECT no_such_function();\n");
	write_file("0003_x.sql.orig", "SELECT no_such_function();\n");
	write_file("0004-dash.sql", "SELECT no_such_function();\n");
	write_file("0005_.sql", "SELECT no_such_function();\n");
	write_file("00061_long.sql", "SELECT no_such_function();\n");
	c = open_conn();
	apply_ok(c, test_dir, 1);
	ck_assert(table_exists(c, "ok_t"));
}
END_TEST

START_TEST(test_file_too_large)
{
	derms_err	err = {0};
	PGconn	   *c;
	char	   *big;
	int			n = -1;
	derms_rc	rc;

	NEED_PG();
	big = malloc(MIGRATE_MAX_FILE + 2);
	ck_assert(big != NULL);
	memset(big, ' ', MIGRATE_MAX_FILE + 1);
	big[MIGRATE_MAX_FILE + 1] = '\0';
	write_file("0001_big.sql", big);
	free(big);
	c = open_conn();
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert_int_eq(rc, DERMS_ERANGE);
	ck_assert_msg(strstr(err.msg, "0001_big.sql") != NULL, "%s", err.msg);
	ck_assert_int_eq(count_recorded(c), 0);
}
END_TEST

START_TEST(test_in_transaction_refused)
{
	derms_err	err = {0};
	PGconn	   *c;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\n");
	c = open_conn();
	exec_ok(c, "BEGIN");
	ck_assert_int_eq(migrate_apply(c, test_dir, NULL, &err), DERMS_EINVAL);
	exec_ok(c, "ROLLBACK");
	ck_assert(!table_exists(c, "a_t"));
}
END_TEST

START_TEST(test_transaction_control_refused)
{
	derms_err	err = {0};
	PGconn	   *c;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\nCOMMIT;\n");
	c = open_conn();
	ck_assert_int_eq(migrate_apply(c, test_dir, NULL, &err), DERMS_EINVAL);
	ck_assert_msg(strstr(err.msg, "0001_a.sql") != NULL, "%s", err.msg);
	ck_assert(PQtransactionStatus(c) == PQTRANS_IDLE);
	ck_assert_int_eq(count_recorded(c), 0);
}
END_TEST

/* Two migrators at once, on two connections in two processes. */
START_TEST(test_concurrent)
{
	derms_err	err = {0};
	PGconn	   *c;
	int			pfd[2];
	pid_t		pid;
	int			status;
	int			n = -1;
	char		ready;
	derms_rc	rc;

	NEED_PG();
	write_file("0001_slow.sql",
			   "SELECT pg_sleep(0.3);\n"
			   "CREATE TABLE conc_t (id integer);\n"
			   "INSERT INTO conc_t VALUES (1);\n");
	ck_assert(pipe(pfd) == 0);
	pid = fork();
	ck_assert(pid >= 0);
	if (pid == 0)
	{
		/* child: own connection, report napplied as the exit status */
		const char *const keys[] = {"dbname", "dbname", NULL};
		const char *const vals[] = {test_pg_conninfo(), test_db, NULL};
		PGconn	   *cc = PQconnectdbParams(keys, vals, 1);
		derms_err	cerr = {0};
		int			cn = -1;

		close(pfd[0]);
		if (PQstatus(cc) != CONNECTION_OK)
			_exit(20);
		if (write(pfd[1], "x", 1) != 1)
			_exit(21);
		close(pfd[1]);
		rc = migrate_apply(cc, test_dir, &cn, &cerr);
		PQfinish(cc);
		if (rc != DERMS_OK)
		{
			fprintf(stderr, "child migrate_apply: %s\n", cerr.msg);
			_exit(22);
		}
		_exit(cn);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &ready, 1), 1);
	close(pfd[0]);
	c = open_conn();
	rc = migrate_apply(c, test_dir, &n, &err);
	ck_assert(waitpid(pid, &status, 0) == pid);
	ck_assert_msg(rc == DERMS_OK, "%s (%s)", err.msg, err.detail);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) <= 1,
				  "child status %d", status);
	ck_assert_int_eq(n + WEXITSTATUS(status), 1);
	ck_assert_int_eq(count_recorded(c), 1);
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM conc_t"), 1);
}
END_TEST

struct status_seen
{
	int			n;
	int			version[4];
	migrate_state state[4];
	bool		has_applied_at[4];
};

static void
status_cb(const migrate_info *info, void *arg)
{
	struct status_seen *s = arg;

	if (s->n < 4)
	{
		s->version[s->n] = info->version;
		s->state[s->n] = info->state;
		s->has_applied_at[s->n] = info->applied_at != NULL;
	}
	s->n++;
}

START_TEST(test_status)
{
	struct status_seen s = {0};
	derms_err	err = {0};
	PGconn	   *c;

	NEED_PG();
	write_file("0001_a.sql", "CREATE TABLE a_t (id integer);\n");
	write_file("0002_b.sql", "CREATE TABLE b_t (id integer);\n");
	c = open_conn();

	/* nothing applied, no table yet: all pending, and nothing created */
	ck_assert_int_eq(migrate_status(c, test_dir, status_cb, &s, &err),
					 DERMS_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.state[0], MIGRATE_PENDING);
	ck_assert_int_eq(s.state[1], MIGRATE_PENDING);
	ck_assert(!table_exists(c, "schema_migrations"));

	apply_ok(c, test_dir, 2);
	write_file("0001_a.sql", "CREATE TABLE a_t (id bigint);\n");
	remove_file("0002_b.sql");
	write_file("0003_c.sql", "CREATE TABLE c_t (id integer);\n");
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(migrate_status(c, test_dir, status_cb, &s, &err),
					 DERMS_OK);
	ck_assert_int_eq(s.n, 3);
	ck_assert_int_eq(s.version[0], 1);
	ck_assert_int_eq(s.state[0], MIGRATE_CHANGED);
	ck_assert_int_eq(s.version[1], 2);
	ck_assert_int_eq(s.state[1], MIGRATE_MISSING);
	ck_assert(s.has_applied_at[1]);
	ck_assert_int_eq(s.version[2], 3);
	ck_assert_int_eq(s.state[2], MIGRATE_PENDING);
	ck_assert(!s.has_applied_at[2]);
	ck_assert_str_eq(migrate_state_name(MIGRATE_APPLIED), "applied");
}
END_TEST

START_TEST(test_audit_chain)
{
	PGconn	   *c;

	NEED_PG();
	c = open_conn();
	apply_ok(c, SCHEMA_DIR, count_schema_files());

	ck_assert_int_eq(query_long(c, "SELECT audit_verify()"), -1);
	ck_assert_int_gt(query_long(c, "SELECT audit_append('alice', 'login',"
								" NULL, NULL)"), 0);
	ck_assert_int_gt(query_long(c, "SELECT audit_append('bob', 'der.update',"
								" 'der/7',"
								" '{\"rated_w\": 5000, \"b\": [1, 2]}')"), 0);
	ck_assert_int_gt(query_long(c, "SELECT audit_append('carol', 'logout',"
								" 'session/é', '{}')"), 0);
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM audit_log"), 3);
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM audit_log a"
								" JOIN audit_log b ON b.id = (SELECT min(id)"
								"  FROM audit_log WHERE id > a.id)"
								" WHERE b.prev_hash = a.hash"), 2);
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM audit_log"
								" WHERE prev_hash ="
								"  decode(repeat('00', 32), 'hex')"
								" AND id = (SELECT min(id) FROM audit_log)"),
					 1);
	ck_assert_int_eq(query_long(c, "SELECT audit_verify()"), -1);

	exec_fails(c, "UPDATE audit_log SET actor = 'mallory'", "42501",
			   "append-only");
	exec_fails(c, "DELETE FROM audit_log", "42501", "append-only");
	exec_fails(c, "TRUNCATE audit_log", "42501", "append-only");
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM audit_log"), 3);

	/* tamper as the superuser would: bypass the trigger, edit, restore */
	exec_ok(c, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change");
	exec_ok(c, "UPDATE audit_log SET actor = 'mallory'"
			" WHERE id = (SELECT min(id) + 1 FROM audit_log)");
	exec_ok(c, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change");
	ck_assert_int_eq(query_long(c, "SELECT audit_verify()"),
					 query_long(c, "SELECT min(id) + 1 FROM audit_log"));

	/* a deleted tail is noticed too */
	exec_ok(c, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change");
	exec_ok(c, "UPDATE audit_log SET actor = 'bob'"
			" WHERE id = (SELECT min(id) + 1 FROM audit_log)");
	ck_assert_int_eq(query_long(c, "SELECT audit_verify()"), -1);
	exec_ok(c, "DELETE FROM audit_log"
			" WHERE id = (SELECT max(id) FROM audit_log)");
	exec_ok(c, "ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change");
	ck_assert_int_gt(query_long(c, "SELECT audit_verify()"), 0);
}
END_TEST

START_TEST(test_der_checks)
{
	PGconn	   *c;

	NEED_PG();
	c = open_conn();
	apply_ok(c, SCHEMA_DIR, count_schema_files());

	exec_ok(c, "INSERT INTO der_resources (kind, rated_w, max_charge_w,"
			" max_discharge_w, rated_wh, charge_efficiency,"
			" discharge_efficiency)"
			" VALUES ('battery', 5000, 5000, 4000, 13500, 0.95, 1)");
	exec_fails(c, "INSERT INTO der_resources (kind, rated_w)"
			   " VALUES ('pv', -1)", "23514", "der_resources_rated_w_check");
	exec_fails(c, "INSERT INTO der_resources (kind, rated_wh)"
			   " VALUES ('battery', -0.5)", "23514",
			   "der_resources_rated_wh_check");
	exec_fails(c, "INSERT INTO der_resources (kind, charge_efficiency)"
			   " VALUES ('battery', 1.01)", "23514",
			   "der_resources_charge_efficiency_check");
	exec_fails(c, "INSERT INTO der_resources (kind, discharge_efficiency)"
			   " VALUES ('battery', 0)", "23514",
			   "der_resources_discharge_efficiency_check");
	exec_fails(c, "INSERT INTO der_resources (kind, rated_w, max_charge_w)"
			   " VALUES ('battery', 5000, 6000)", "23514",
			   "der_resources_charge_rating_check");
	exec_fails(c, "INSERT INTO der_resources (kind) VALUES ('nuclear')",
			   "23514", "der_resources_kind_check");
	ck_assert_int_eq(query_long(c, "SELECT count(*) FROM der_resources"), 1);

	/* a revoked certificate needs revoked_at */
	exec_fails(c, "INSERT INTO certificates (fingerprint, lfdi, sfdi, role,"
			   " revoked) VALUES (repeat('ab', 32), repeat('AB', 20), 1,"
			   " 'device', true)", "23514", "certificates_revoked_at_check");
}
END_TEST

Suite *
migrate_suite(void)
{
	Suite	   *s = suite_create("migrate");
	TCase	   *tc = tcase_create("migrate");
	TCase	   *schema = tcase_create("schema");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_apply_real_schema);
	tcase_add_test(tc, test_broken_second);
	tcase_add_test(tc, test_changed_checksum);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_duplicate_versions);
	tcase_add_test(tc, test_ignores_other_files);
	tcase_add_test(tc, test_file_too_large);
	tcase_add_test(tc, test_in_transaction_refused);
	tcase_add_test(tc, test_transaction_control_refused);
	tcase_add_test(tc, test_concurrent);
	tcase_add_test(tc, test_status);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(schema, setup, teardown);
	tcase_set_timeout(schema, 60);
	tcase_add_test(schema, test_audit_chain);
	tcase_add_test(schema, test_der_checks);
	suite_add_tcase(s, schema);
	return s;
}
