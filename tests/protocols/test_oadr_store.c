/*
 * tests/protocols/test_oadr_store.c
 *	  Tests for protocols/openadr/store.c and the row-level security of
 *	  schema/0011_openadr.sql, against the private PostgreSQL cluster.
 *
 * NOTES
 *	  The fixture: aggregators agg1 and agg2; utility-wide programs P0
 *	  (targets g1, hidden), P3 (targets secret) and P4 (targets r2); P1 of
 *	  agg1 (no targets), P2 of agg2; one event per program with the
 *	  program's targets; vens A1 (client ven-a1, agg1, targets g1), A2
 *	  (ven-a2, agg1, no targets, a resource with targets r2) and B1
 *	  (ven-b1, agg2); a report and a subscription of ven-a1 and ven-b1.
 *	  The privacy checks enter a caller's scope with oadr_store_begin()
 *	  and then run raw SELECTs, so they prove what the database shows
 *	  without any check in C.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "protocols/openadr/store.h"
#include "tests/protocols/fleet/fixture.h"
#include "tests/suites.h"

static PGconn *conn;
static int64_t agg1, agg2;
static int64_t prog[5], ev[5], ven_a1, ven_a2, ven_b1, res_a2, rep_a1, rep_b1;

static const oadr_caller operator_bl = {OADR_ROLE_BL, 0, "op-bl"};

static int64_t
put(const oadr_caller *who, oadr_kind kind, int64_t tenant, const char *client,
	int64_t parent, const char *body)
{
	arena	   *a = arena_create(0);
	oadr_row	row = {tenant, client, parent, NULL, who->role, body};
	PGresult   *r;
	derms_err	err;
	int64_t		id;

	ck_assert_int_eq(oadr_store_begin(conn, a, who, &err), DERMS_OK);
	ck_assert_msg(oadr_store_insert(conn, a, kind, &row, &r, &err) == DERMS_OK, "%s: %s",
				  body, err.msg);
	id = strtoll(PQgetvalue(r, 0, OADR_COL_ID), NULL, 10);
	ck_assert_int_eq(oadr_store_commit(conn, a, &err), DERMS_OK);
	arena_destroy(a);
	return id;
}

static void
setup(void)
{
	char		body[256];

	conn = fleet_fx_setup("oadr_store");
	if (conn == NULL)
		return;
	agg1 = fleet_fx_id(conn, "SELECT id FROM tenants WHERE name = 'agg1'");
	agg2 = fleet_fx_id(conn, "SELECT id FROM tenants WHERE name = 'agg2'");
	prog[0] = put(&operator_bl, OADR_PROGRAM, 0, NULL, 0,
				  "{\"programName\":\"P0\",\"targets\":[\"g1\",\"hidden\"]}");
	prog[1] = put(&operator_bl, OADR_PROGRAM, agg1, NULL, 0, "{\"programName\":\"P1\"}");
	prog[2] = put(&operator_bl, OADR_PROGRAM, agg2, NULL, 0, "{\"programName\":\"P2\"}");
	prog[3] = put(&operator_bl, OADR_PROGRAM, 0, NULL, 0,
				  "{\"programName\":\"P3\",\"targets\":[\"secret\"]}");
	prog[4] = put(&operator_bl, OADR_PROGRAM, 0, NULL, 0,
				  "{\"programName\":\"P4\",\"targets\":[\"r2\"]}");
	for (int i = 0; i < 5; i++)
	{
		static const char *const tg[5] = {",\"targets\":[\"g1\",\"hidden\"]", "", "",
		",\"targets\":[\"secret\"]", ",\"targets\":[\"r2\"]"};

		snprintf(body, sizeof(body), "{\"programID\":\"%lld\"%s}", (long long) prog[i], tg[i]);
		ev[i] = put(&operator_bl, OADR_EVENT, 0, NULL, prog[i], body);
	}
	ven_a1 = put(&operator_bl, OADR_VEN, agg1, "ven-a1", 0,
				 "{\"venName\":\"A1\",\"targets\":[\"g1\"]}");
	ven_a2 = put(&operator_bl, OADR_VEN, agg1, "ven-a2", 0, "{\"venName\":\"A2\"}");
	ven_b1 = put(&operator_bl, OADR_VEN, agg2, "ven-b1", 0, "{\"venName\":\"B1\"}");
	snprintf(body, sizeof(body), "{\"resourceName\":\"r\",\"venID\":\"%lld\",\"targets\":[\"r2\"]}",
			 (long long) ven_a2);
	res_a2 = put(&operator_bl, OADR_RESOURCE, 0, "ven-a2", ven_a2, body);
	{
		oadr_caller a1 = {OADR_ROLE_VEN, agg1, "ven-a1"};
		oadr_caller b1 = {OADR_ROLE_VEN, agg2, "ven-b1"};

		snprintf(body, sizeof(body), "{\"eventID\":\"%lld\",\"clientName\":\"A1\",\"resources\":[]}",
				 (long long) ev[0]);
		rep_a1 = put(&a1, OADR_REPORT, agg1, "ven-a1", ev[0], body);
		snprintf(body, sizeof(body), "{\"eventID\":\"%lld\",\"clientName\":\"B1\",\"resources\":[]}",
				 (long long) ev[2]);
		rep_b1 = put(&b1, OADR_REPORT, agg2, "ven-b1", ev[2], body);
		put(&a1, OADR_SUBSCRIPTION, agg1, "ven-a1", 0,
			"{\"clientName\":\"A1\",\"objectOperations\":[{\"objects\":[\"EVENT\"],"
			"\"operations\":[\"CREATE\"],\"callbackUrl\":\"https://a1.example/cb\"}]}");
		put(&b1, OADR_SUBSCRIPTION, agg2, "ven-b1", 0,
			"{\"clientName\":\"B1\",\"objectOperations\":[{\"objects\":[\"EVENT\"],"
			"\"operations\":[\"CREATE\"],\"callbackUrl\":\"https://b1.example/cb\"}]}");
	}
}

static void
teardown(void)
{
	fleet_fx_teardown();
	conn = NULL;
}

/* ids a raw query returns in the caller's scope, "1,2,3" */
static char *
visible(const oadr_caller *who, const char *sql)
{
	arena	   *a = arena_create(0);
	derms_err	err;
	char	   *out;

	ck_assert_int_eq(oadr_store_begin(conn, a, who, &err), DERMS_OK);
	out = fleet_fx_sql(conn, sql);
	oadr_store_rollback(conn);
	arena_destroy(a);
	return out;
}

static void
expect_ids(const oadr_caller *who, const char *table, const int64_t *want, size_t n)
{
	char		sql[256];
	char		buf[256] = "";
	char	   *got;

	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%lld", i ? "," : "",
				 (long long) want[i]);
	snprintf(sql, sizeof(sql), "SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '')"
			 " FROM %s", table);
	got = visible(who, sql);
	ck_assert_msg(strcmp(got, buf) == 0, "%s as %s/%lld: got {%s}, want {%s}", table,
				  who->client_id, (long long) who->tenant_id, got, buf);
	free(got);
}

START_TEST(ven_sees_only_its_own)
{
	oadr_caller a1 = {OADR_ROLE_VEN, 0, "ven-a1"};
	oadr_caller a2 = {OADR_ROLE_VEN, 0, "ven-a2"};
	oadr_caller b1 = {OADR_ROLE_VEN, 0, "ven-b1"};
	int64_t		w[4];

	if (conn == NULL)
		return;
	a1.tenant_id = agg1;
	a2.tenant_id = agg1;
	b1.tenant_id = agg2;
	/* A1 granted g1: P0 (g1), P1 (its tenant, untargeted) */
	w[0] = prog[0], w[1] = prog[1];
	expect_ids(&a1, "oadr_programs", w, 2);
	w[0] = ev[0], w[1] = ev[1];
	expect_ids(&a1, "oadr_events", w, 2);
	expect_ids(&a1, "oadr_vens", &ven_a1, 1);
	expect_ids(&a1, "oadr_resources", NULL, 0);
	expect_ids(&a1, "oadr_reports", &rep_a1, 1);
	/* A2 granted r2 through its resource: P1 and P4 */
	w[0] = prog[1], w[1] = prog[4];
	expect_ids(&a2, "oadr_programs", w, 2);
	expect_ids(&a2, "oadr_resources", &res_a2, 1);
	expect_ids(&a2, "oadr_reports", NULL, 0);
	/* B1: only its tenant's untargeted program */
	expect_ids(&b1, "oadr_programs", &prog[2], 1);
	expect_ids(&b1, "oadr_vens", &ven_b1, 1);
	expect_ids(&b1, "oadr_reports", &rep_b1, 1);
	{
		char	   *n = visible(&b1, "SELECT count(*) FROM oadr_subscriptions"
								" WHERE client_id <> 'ven-b1'");

		ck_assert_str_eq(n, "0");
		free(n);
	}
}
END_TEST

START_TEST(bl_sees_its_tenant_and_utility_programs)
{
	oadr_caller bl1 = {OADR_ROLE_BL, 0, "bl-agg1"};
	int64_t		w[4];

	if (conn == NULL)
		return;
	bl1.tenant_id = agg1;
	w[0] = prog[0], w[1] = prog[1], w[2] = prog[3], w[3] = prog[4];
	expect_ids(&bl1, "oadr_programs", w, 4);
	w[0] = ven_a1, w[1] = ven_a2;
	expect_ids(&bl1, "oadr_vens", w, 2);
	expect_ids(&bl1, "oadr_reports", &rep_a1, 1);
	/* the operator sees everything */
	w[0] = rep_a1, w[1] = rep_b1;
	expect_ids(&operator_bl, "oadr_reports", w, 2);
}
END_TEST

/* a statement's SQLSTATE in the caller's scope ("" when it succeeded) */
static char *
attempt(const oadr_caller *who, const char *sql)
{
	arena	   *a = arena_create(0);
	derms_err	err;
	PGresult   *r;
	char	   *out;

	ck_assert_int_eq(oadr_store_begin(conn, a, who, &err), DERMS_OK);
	r = PQexec(conn, sql);
	if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
		out = strdup(PQcmdTuples(r));
	else
		out = strdup(PQresultErrorField(r, PG_DIAG_SQLSTATE));
	PQclear(r);
	oadr_store_rollback(conn);
	arena_destroy(a);
	return out;
}

START_TEST(writes_refused_by_the_database)
{
	oadr_caller a1 = {OADR_ROLE_VEN, 0, "ven-a1"};
	oadr_caller bl1 = {OADR_ROLE_BL, 0, "bl-agg1"};
	char		sql[256];
	char	   *s;

	if (conn == NULL)
		return;
	a1.tenant_id = agg1;
	bl1.tenant_id = agg1;
	/* a VEN writes no programs */
	s = attempt(&a1, "INSERT INTO oadr_programs (tenant_id, body) VALUES"
				" (NULL, '{\"programName\":\"x\"}')");
	ck_assert_str_eq(s, "42501");
	free(s);
	/* nor targets on its ven */
	s = attempt(&a1, "UPDATE oadr_vens SET body = body || '{\"targets\":[\"secret\"]}'");
	ck_assert_str_eq(s, "42501");
	free(s);
	/* nor reports on an event it cannot see */
	snprintf(sql, sizeof(sql), "INSERT INTO oadr_reports (tenant_id, event_id, program_id,"
			 " client_id, body) VALUES (%lld, %lld, %lld, 'ven-a1', '{}')",
			 (long long) agg1, (long long) ev[2], (long long) prog[2]);
	s = attempt(&a1, sql);
	ck_assert_str_eq(s, "42501");
	free(s);
	/* another VEN's ven is not there to update or delete */
	s = attempt(&a1, "DELETE FROM oadr_vens WHERE client_id = 'ven-b1'");
	ck_assert_str_eq(s, "0");
	free(s);
	/* an aggregator's BL cannot change utility-wide programs ... */
	snprintf(sql, sizeof(sql), "UPDATE oadr_programs SET body = body WHERE id = %lld",
			 (long long) prog[0]);
	s = attempt(&bl1, sql);
	ck_assert_str_eq(s, "0");
	free(s);
	/* ... nor write for another tenant */
	snprintf(sql, sizeof(sql), "INSERT INTO oadr_programs (tenant_id, body) VALUES"
			 " (%lld, '{\"programName\":\"x\"}')", (long long) agg2);
	s = attempt(&bl1, sql);
	ck_assert_str_eq(s, "42501");
	free(s);
	/* but writes its own */
	snprintf(sql, sizeof(sql), "INSERT INTO oadr_programs (tenant_id, body) VALUES"
			 " (%lld, '{\"programName\":\"x\"}')", (long long) agg1);
	s = attempt(&bl1, sql);
	ck_assert_str_eq(s, "1");
	free(s);
}
END_TEST

START_TEST(targets_stripped_and_filters)
{
	oadr_caller a1 = {OADR_ROLE_VEN, 0, "ven-a1"};
	arena	   *a = arena_create(0);
	oadr_filter f = {.limit = 50};
	const char *tg[1] = {"hidden"};
	derms_err	err;
	PGresult   *r;
	json_t	   *body;

	if (conn == NULL)
	{
		arena_destroy(a);
		return;
	}
	a1.tenant_id = agg1;
	ck_assert_int_eq(oadr_store_begin(conn, a, &a1, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_get(conn, a, OADR_PROGRAM, prog[0], &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	body = json_loads(PQgetvalue(r, 0, OADR_COL_BODY), 0, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(body, "targets")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(body, "targets"), 0)), "g1");
	json_decref(body);
	/* filtering on a target it was not granted finds nothing */
	f.targets = tg;
	f.ntargets = 1;
	ck_assert_int_eq(oadr_store_list(conn, a, OADR_EVENT, &f, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 0);
	tg[0] = "g1";
	ck_assert_int_eq(oadr_store_list(conn, a, OADR_EVENT, &f, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	/* skip and limit */
	f.ntargets = 0;
	f.limit = 1;
	f.skip = 1;
	ck_assert_int_eq(oadr_store_list(conn, a, OADR_PROGRAM, &f, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(strtoll(PQgetvalue(r, 0, 0), NULL, 10), prog[1]);
	oadr_store_rollback(conn);
	arena_destroy(a);
}
END_TEST

START_TEST(unique_names_and_cascade)
{
	arena	   *a = arena_create(0);
	oadr_row	row = {0, NULL, 0, NULL, OADR_ROLE_BL, "{\"programName\":\"P1\"}"};
	char		body[128];
	derms_err	err;
	PGresult   *r;
	char	   *n;

	if (conn == NULL)
	{
		arena_destroy(a);
		return;
	}
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_PROGRAM, &row, &r, &err), DERMS_EEXIST);
	oadr_store_rollback(conn);
	snprintf(body, sizeof(body), "{\"resourceName\":\"r\",\"venID\":\"%lld\"}", (long long) ven_a2);
	row.body = body;
	row.client_id = "ven-a2";
	row.parent_id = ven_a2;
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_RESOURCE, &row, &r, &err), DERMS_EEXIST);
	oadr_store_rollback(conn);
	/* a parent that is not there */
	row.parent_id = 999999;
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_RESOURCE, &row, &r, &err), DERMS_ENOTFOUND);
	oadr_store_rollback(conn);
	/* deleting a program deletes its events and their reports */
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_delete(conn, a, OADR_PROGRAM, prog[0], &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(oadr_store_commit(conn, a, &err), DERMS_OK);
	n = fleet_fx_sql(conn, "SELECT count(*) FROM oadr_events e JOIN oadr_reports r"
					 " ON r.event_id = e.id");
	ck_assert_str_eq(n, "1");
	free(n);
	arena_destroy(a);
}
END_TEST

START_TEST(notifications_respect_privacy)
{
	arena	   *a = arena_create(0);
	oadr_row	row = {0, NULL, 0, NULL, OADR_ROLE_BL, NULL};
	char		body[160];
	derms_err	err;
	PGresult   *r;
	int			queued;
	char	   *s;
	json_t	   *j;

	if (conn == NULL)
	{
		arena_destroy(a);
		return;
	}
	/* callbacks are verified by the notify role; here by hand */
	free(fleet_fx_sql(conn, "UPDATE oadr_callbacks SET state = 'verified' RETURNING 1"));
	/* an event in P0 (g1, hidden): A1's subscription only, targets cut */
	snprintf(body, sizeof(body), "{\"programID\":\"%lld\",\"targets\":[\"hidden\",\"g1\"]}",
			 (long long) prog[0]);
	row.body = body;
	row.parent_id = prog[0];
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_EVENT, &row, &r, &err), DERMS_OK);
	ck_assert_msg(oadr_store_notify(conn, a, OADR_EVENT, "CREATE", r, &queued, &err) == DERMS_OK,
				  "%s", err.msg);
	ck_assert_int_eq(queued, 1);
	ck_assert_int_eq(oadr_store_commit(conn, a, &err), DERMS_OK);
	s = fleet_fx_sql(conn, "SELECT url || ' ' || convert_from(body, 'UTF8') FROM notify_outbox"
					 " WHERE kind = 'openadr'");
	ck_assert_msg(strncmp(s, "https://a1.example/cb ", 22) == 0, "%s", s);
	j = json_loads(s + 22, 0, NULL);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_string_value(json_object_get(j, "objectType")), "EVENT");
	ck_assert_str_eq(json_string_value(json_object_get(j, "operation")), "CREATE");
	ck_assert_int_eq(json_array_size(json_object_get(j, "targets")), 1);
	ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "object"), "targets")), 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(json_object_get(j, "object"),
																	  "targets"), 0)), "g1");
	json_decref(j);
	free(s);
	/* an event in P3 (secret): nobody's */
	snprintf(body, sizeof(body), "{\"programID\":\"%lld\",\"targets\":[\"secret\"]}",
			 (long long) prog[3]);
	row.parent_id = prog[3];
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_EVENT, &row, &r, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_notify(conn, a, OADR_EVENT, "CREATE", r, &queued, &err), DERMS_OK);
	ck_assert_int_eq(queued, 0);
	oadr_store_rollback(conn);
	arena_destroy(a);
}
END_TEST

/* the one value of sql, compared with want */
static void
expect(const char *sql, const char *want)
{
	char	   *v = fleet_fx_sql(conn, sql);

	ck_assert_msg(v != NULL && strcmp(v, want) == 0, "%s: \"%s\", want \"%s\"", sql,
				  v ? v : "(null)", want);
	free(v);
}

/*
 * A callback not verified holds its notification; a wrong echo leaves it
 * held; the right echo (JSON or bare) verifies it and queues what was
 * held; a verification given up leaves it unverified.
 */
START_TEST(notifications_held_until_verified)
{
	arena	   *a = arena_create(0);
	oadr_row	row = {0, NULL, 0, NULL, OADR_ROLE_BL, NULL};
	char		body[160];
	char		sql[512];
	derms_err	err;
	PGresult   *r;
	int			queued;
	char	   *box;
	char	   *ch;

	if (conn == NULL)
	{
		arena_destroy(a);
		return;
	}
	/* each subscription's callback is pending, with a VERIFY queued */
	expect("SELECT string_agg(state, ',') FROM oadr_callbacks", "pending,pending");
	expect("SELECT count(*) FROM notify_outbox WHERE kind = 'oadr_verify'"
		   " AND convert_from(body, 'UTF8')::jsonb ->> 'operation' = 'VERIFY'", "2");
	snprintf(body, sizeof(body), "{\"programID\":\"%lld\",\"targets\":[\"g1\"]}",
			 (long long) prog[0]);
	row.body = body;
	row.parent_id = prog[0];
	ck_assert_int_eq(oadr_store_begin(conn, a, &operator_bl, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_insert(conn, a, OADR_EVENT, &row, &r, &err), DERMS_OK);
	ck_assert_int_eq(oadr_store_notify(conn, a, OADR_EVENT, "CREATE", r, &queued, &err),
					 DERMS_OK);
	ck_assert_int_eq(queued, 1);
	ck_assert_int_eq(oadr_store_commit(conn, a, &err), DERMS_OK);
	expect("SELECT count(*) FROM oadr_held", "1");
	expect("SELECT count(*) FROM notify_outbox WHERE kind = 'openadr'", "0");

	box = fleet_fx_sql(conn, "SELECT k.outbox_id FROM oadr_callbacks k"
					   " JOIN oadr_held h ON h.callback_id = k.id");
	ch = fleet_fx_sql(conn, "SELECT k.challenge FROM oadr_callbacks k"
					  " JOIN oadr_held h ON h.callback_id = k.id");
	ck_assert_int_eq((int) strlen(ch), 64);
	snprintf(sql, sizeof(sql), "SELECT oadr_callback_verify(%s, '{\"challenge\":\"x\"}')", box);
	expect(sql, "the answer did not echo the challenge");
	expect("SELECT count(*) FROM oadr_held", "1");
	snprintf(sql, sizeof(sql), "SELECT coalesce(oadr_callback_verify(%s, ' %s\n'), 'ok')", box,
			 ch);
	expect(sql, "ok");
	expect("SELECT count(*) FROM oadr_held", "0");
	expect("SELECT url FROM notify_outbox WHERE kind = 'openadr'", "https://a1.example/cb");
	expect("SELECT string_agg(state, ',' ORDER BY id) FROM oadr_callbacks", "verified,pending");
	/* the other one is given up */
	free(box);
	box = fleet_fx_sql(conn, "SELECT outbox_id FROM oadr_callbacks WHERE state = 'pending'");
	snprintf(sql, sizeof(sql), "SELECT oadr_callback_failed(%s, 'connection refused') IS NOT NULL",
			 box);
	expect(sql, "t");
	expect("SELECT string_agg(state || ':' || coalesce(last_error, ''), ',' ORDER BY id)"
		   " FROM oadr_callbacks", "verified:,unverified:connection refused");
	free(box);
	free(ch);
	arena_destroy(a);
}
END_TEST

Suite *
oadr_store_suite(void)
{
	Suite	   *s = suite_create("oadr_store");
	TCase	   *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, ven_sees_only_its_own);
	tcase_add_test(tc, bl_sees_its_tenant_and_utility_programs);
	tcase_add_test(tc, writes_refused_by_the_database);
	tcase_add_test(tc, targets_stripped_and_filters);
	tcase_add_test(tc, unique_names_and_cascade);
	tcase_add_test(tc, notifications_respect_privacy);
	tcase_add_test(tc, notifications_held_until_verified);
	suite_add_tcase(s, tc);
	return s;
}
