/*
 * tests/protocols/fleet/test_enroll.c
 *	  Tests for protocols/fleet/enroll.c, checks.c and query.c: the
 *	  enrollment lifecycle, the automatic checks (min_size warns without
 *	  blocking), withdrawal and removal with their state transitions,
 *	  conflicts, history as of past dates, immutability of history, and
 *	  row-level security.
 *
 * NOTES
 *	  Each test gets a fresh database with the sample fleet of
 *	  tests/data/fleet (fixture.c): agg1 owns D1..D4 at M1..M3 and the
 *	  aggregations A1 (CAISO), A1R (retail, dual allowed), A1X (retail, no
 *	  dual); agg2 owns D5 at M4 and B1 (CAISO); D2 is in A1 for the first
 *	  half of 2024.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "fixture.h"
#include "protocols/fleet/enroll.h"
#include "protocols/fleet/query.h"
#include "server/arena.h"
#include "tests/suites.h"

static PGconn *conn;
static arena *ar;
static int64_t agg1,
			agg2;

#define SETUP() \
	do { \
		if ((conn = fleet_fx_setup(__func__)) == NULL) \
			return; \
		fleet_fx_import_sample(conn); \
		ar = arena_create(0); \
		agg1 = fleet_fx_id(conn, "SELECT id FROM tenants WHERE name = 'agg1'"); \
		agg2 = fleet_fx_id(conn, "SELECT id FROM tenants WHERE name = 'agg2'"); \
	} while (0)

static void
done(void)
{
	arena_destroy(ar);
	ar = NULL;
	fleet_fx_teardown();
}

static int64_t
der(const char *ext)
{
	char		sql[128];

	snprintf(sql, sizeof(sql), "SELECT id FROM der_resources WHERE external_id = '%s'", ext);
	return fleet_fx_id(conn, sql);
}

static int64_t
agg(const char *name)
{
	char		sql[128];

	snprintf(sql, sizeof(sql), "SELECT id FROM aggregations WHERE name = '%s'", name);
	return fleet_fx_id(conn, sql);
}

/* request as tenant; returns the rc, fills out and err */
static derms_rc
request(int64_t tenant, const char *d, const char *g, const char *feeder,
		const char *from, const char *to, fleet_enroll_out *out, derms_err *err)
{
	fleet_enroll_in in = {tenant, der(d), agg(g), feeder, from, to, "test"};

	return fleet_enroll_request(conn, ar, &in, out, err);
}

/* the external ids in force at as_of for tenant, "D1,D2" */
static char *
fleet_at(int64_t tenant, const char *as_of)
{
	PGresult   *r;
	derms_err	err;
	char	   *s = arena_strdup(ar, "");

	ck_assert_msg(fleet_query_as_of(conn, ar, tenant, as_of, 0, &r, &err) == DERMS_OK, "%s", err.msg);
	for (int i = 0; i < PQntuples(r); i++)
		s = arena_printf(ar, "%s%s%s", s, i ? "," : "", PQgetvalue(r, i, PQfnumber(r, "der")));
	return s;
}

START_TEST(test_lifecycle)
{
	fleet_enroll_out out;
	derms_err	err;
	PGresult   *r;
	int64_t		id;

	SETUP();
	ck_assert_msg(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err) == DERMS_OK,
				  "%s", err.msg);
	ck_assert_str_eq(out.failed, "");
	/* 10 kW + D2's 7.5 kW against CAISO's 100 kW: a warning only */
	ck_assert_str_eq(out.warnings, "min_size");
	ck_assert_ptr_nonnull(strstr(out.findings_json, "\"hosting_capacity\""));
	ck_assert_ptr_nonnull(strstr(out.findings_json, "17.500 kW"));
	id = out.id;

	/* agg1 sees its request, agg2 does not */
	ck_assert_int_eq(fleet_enroll_list(conn, ar, agg1, "requested", 0, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_int_eq(fleet_enroll_list(conn, ar, agg2, NULL, 0, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 0);
	ck_assert_str_eq(fleet_at(agg1, "2024-03-01T00:00:00Z"), "D2");

	ck_assert_msg(fleet_enroll_approve(conn, ar, id, "op", &out, &err) == DERMS_OK, "%s", err.msg);
	ck_assert_str_eq(out.status, "approved");
	ck_assert_int_eq(fleet_enroll_approve(conn, ar, id, "op", &out, &err), DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "already approved"));

	/* history as of past dates */
	ck_assert_str_eq(fleet_at(agg1, "2023-12-31T23:59:59Z"), "");
	ck_assert_str_eq(fleet_at(agg1, "2024-01-15T00:00:00Z"), "D2");
	ck_assert_str_eq(fleet_at(agg1, "2024-03-01T00:00:00Z"), "D1,D2");
	ck_assert_str_eq(fleet_at(agg2, "2024-03-01T00:00:00Z"), "");

	/* removal ends visibility at the effective time, keeps the history */
	ck_assert_msg(fleet_enroll_remove(conn, ar, der("D1"), agg("A1"), "2024-05-01T00:00:00Z", "op", &err)
				  == DERMS_OK, "%s", err.msg);
	ck_assert_str_eq(fleet_at(agg1, "2024-04-30T23:59:59Z"), "D1,D2");
	ck_assert_str_eq(fleet_at(agg1, "2024-05-01T00:00:00Z"), "D2");
	ck_assert_str_eq(fleet_at(agg1, "2024-08-01T00:00:00Z"), "");
	ck_assert_str_eq(fleet_at(agg1, "2024-03-01T00:00:00Z"), "D1,D2");
	ck_assert_int_eq(fleet_enroll_remove(conn, ar, der("D1"), agg("A1"), "2024-06-01T00:00:00Z", "op", &err),
					 DERMS_ENOTFOUND);
	ck_assert_int_eq(fleet_fx_id(conn, "SELECT count(*) FROM audit_log WHERE action IN"
								 " ('enroll.request', 'enroll.approve', 'enroll.remove')"), 3);
	ck_assert_int_eq(fleet_fx_id(conn, "SELECT count(*) FROM audit_log WHERE audit_verify() IS NOT NULL"), 0);
	done();
}
END_TEST

START_TEST(test_checks_fail)
{
	fleet_enroll_out out;
	derms_err	err;
	PGresult   *r;

	SETUP();
	/* D3: feeder F2 (20 kW), 30 kW, node B */
	ck_assert_int_eq(request(agg1, "D3", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	ck_assert_str_eq(out.failed, "feeder,hosting_capacity,pricing_node");
	ck_assert_str_eq(out.warnings, "min_size");
	ck_assert_int_eq(fleet_enroll_approve(conn, ar, out.id, "op", &out, &err), DERMS_EPERM);
	ck_assert_ptr_nonnull(strstr(err.msg, "fails checks: feeder,hosting_capacity,pricing_node"));
	ck_assert_int_eq(fleet_enroll_reject(conn, ar, out.id, "", "op", &err), DERMS_EINVAL);
	ck_assert_int_eq(fleet_enroll_reject(conn, ar, out.id, "wrong node", "op", &err), DERMS_OK);
	ck_assert_int_eq(fleet_enroll_list(conn, ar, 0, "rejected", 0, &r, &err), DERMS_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, PQfnumber(r, "reason")), "wrong node");

	/* D4 is not interconnected */
	ck_assert_int_eq(request(agg1, "D4", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	ck_assert_str_eq(out.failed, "interconnected");

	/* D1's LFDI registered to agg2's device: claimed elsewhere */
	free(fleet_fx_sql(conn, "INSERT INTO end_devices (lfdi, sfdi, tenant_id) SELECT lfdi, 1, t.id"
					  " FROM der_resources, tenants t WHERE external_id = 'D1' AND t.name = 'agg2'"));
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	ck_assert_str_eq(out.failed, "lfdi_unclaimed");
	done();
}
END_TEST

START_TEST(test_conflicts)
{
	fleet_enroll_out out;
	derms_err	err;
	PGresult   *r;

	SETUP();
	/* D2 is in A1 (CAISO) for 2024H1 */
	ck_assert_int_eq(request(agg1, "D2", "A1", "F1", "2024-03-01T00:00:00Z", NULL, &out, &err), DERMS_EEXIST);
	ck_assert_msg(strncmp(err.msg, "der_id: DER", 11) == 0 && strstr(err.msg, "market CAISO"), "%s", err.msg);
	/* after it ends: fine */
	ck_assert_int_eq(request(agg1, "D2", "A1", "F1", "2024-07-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	/* the same open request again */
	ck_assert_int_eq(request(agg1, "D2", "A1", "F1", "2024-08-01T00:00:00Z", NULL, &out, &err), DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "open request"));
	/* another tenant's objects are not found */
	ck_assert_int_eq(request(agg1, "D5", "A1", "F1", "2024-03-01T00:00:00Z", NULL, &out, &err), DERMS_ENOTFOUND);
	ck_assert_msg(strncmp(err.msg, "der_id:", 7) == 0, "%s", err.msg);
	ck_assert_int_eq(request(agg1, "D1", "B1", "F1", "2024-03-01T00:00:00Z", NULL, &out, &err), DERMS_ENOTFOUND);
	ck_assert_msg(strncmp(err.msg, "aggregation_id:", 15) == 0, "%s", err.msg);
	/* bad values name their field */
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-03-01", NULL, &out, &err), DERMS_EINVAL);
	ck_assert_msg(strncmp(err.msg, "effective_from:", 15) == 0, "%s", err.msg);
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-03-01T00:00:00Z", "2024-02-01T00:00:00Z", &out, &err),
					 DERMS_EINVAL);
	ck_assert_msg(strncmp(err.msg, "effective_to:", 13) == 0, "%s", err.msg);
	ck_assert_int_eq(request(agg1, "D1", "A1", "F9", "2024-03-01T00:00:00Z", NULL, &out, &err), DERMS_EINVAL);
	ck_assert_msg(strncmp(err.msg, "feeder:", 7) == 0, "%s", err.msg);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);

	/* the exclusion constraint is the last word */
	r = PQexec(conn, "INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
			   " SELECT g.id, r.id, '2024-02-01Z' FROM aggregations g, der_resources r"
			   " WHERE g.name = 'A1' AND r.external_id = 'D2'");
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23P01");
	PQclear(r);

	/* retail programs: A1R allows dual participation, A1X does not */
	free(fleet_fx_sql(conn, "INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
					  " SELECT g.id, r.id, '2024-02-01Z' FROM aggregations g, der_resources r"
					  " WHERE g.name = 'A1R' AND r.external_id = 'D2'"));
	r = PQexec(conn, "INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
			   " SELECT g.id, r.id, '2024-02-01Z' FROM aggregations g, der_resources r"
			   " WHERE g.name = 'A1X' AND r.external_id = 'D2'");
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23P01");
	ck_assert_ptr_nonnull(strstr(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY), "dual participation"));
	PQclear(r);
	done();
}
END_TEST

START_TEST(test_history_immutable)
{
	static const char *const refused[] = {
		"DELETE FROM aggregation_members",
		"UPDATE aggregation_members SET effective_from = '2023-01-01Z'",
		"UPDATE aggregation_members SET effective_to = '2024-08-01Z'",	/* already ended */
	};

	SETUP();
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
	{
		PGresult   *r = PQexec(conn, refused[i]);

		ck_assert_msg(PQresultStatus(r) == PGRES_FATAL_ERROR, "%s succeeded", refused[i]);
		ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
		PQclear(r);
	}
	done();
}
END_TEST

/* count(*) of table under the tenant scope (tenant "" = setting unset) */
static int64_t
scoped_count(PGconn *c, const char *tenant, const char *table)
{
	char		sql[512];
	PGresult   *r;
	int64_t		n;

	free(fleet_fx_sql(c, "BEGIN"));
	free(fleet_fx_sql(c, "SET LOCAL ROLE dermsd_tenant"));
	snprintf(sql, sizeof(sql), "SELECT set_config('dermsd.tenant_id', '%s', true)", tenant);
	free(fleet_fx_sql(c, sql));
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	r = PQexec(c, sql);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
	n = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	free(fleet_fx_sql(c, "ROLLBACK"));
	return n;
}

START_TEST(test_rls)
{
	static const struct
	{
		const char *table;
		int			agg1,
					agg2,
					unset;
	}			want[] = {
		{"sites", 3, 1, 0},
		{"der_resources", 4, 1, 0},
		{"aggregations", 3, 1, 0},
		{"aggregation_members", 1, 0, 0},
		{"enrollment_requests", 1, 0, 0},
	};
	fleet_enroll_out out;
	derms_err	err;
	PGconn	   *other;
	char		t1[32],
				t2[32];
	PGresult   *r;

	SETUP();
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	/* a separate session, as a missed WHERE clause in C would see it */
	other = PQconnectdb(fleet_fx_conninfo());
	ck_assert_int_eq(PQstatus(other), CONNECTION_OK);
	snprintf(t1, sizeof(t1), "%lld", (long long) agg1);
	snprintf(t2, sizeof(t2), "%lld", (long long) agg2);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
	{
		ck_assert_int_eq(scoped_count(other, t1, want[i].table), want[i].agg1);
		ck_assert_int_eq(scoped_count(other, t2, want[i].table), want[i].agg2);
		ck_assert_int_eq(scoped_count(other, "", want[i].table), want[i].unset);
	}
	/* agg2 cannot file a request in agg1's name */
	free(fleet_fx_sql(other, "BEGIN"));
	free(fleet_fx_sql(other, "SET LOCAL ROLE dermsd_tenant"));
	{
		char		sql[512];

		snprintf(sql, sizeof(sql), "SELECT set_config('dermsd.tenant_id', '%s', true)", t2);
		free(fleet_fx_sql(other, sql));
		snprintf(sql, sizeof(sql), "INSERT INTO enrollment_requests (tenant_id, der_id, aggregation_id,"
				 " effective_from, requested_by) VALUES (%s, 1, 1, now(), 'x')", t1);
		r = PQexec(other, sql);
	}
	ck_assert_str_eq(PQresultErrorField(r, PG_DIAG_SQLSTATE), "42501");
	PQclear(r);
	PQfinish(other);
	done();
}
END_TEST

START_TEST(test_min_size)
{
	fleet_enroll_out out;
	derms_err	err;

	SETUP();
	/* the market's minimum, then the aggregation's own, decide */
	free(fleet_fx_sql(conn, "UPDATE iso_markets SET min_size_kw = 17.5 WHERE name = 'CAISO'"));
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	ck_assert_str_eq(out.warnings, "");
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, out.id, NULL, "agg", &err), DERMS_OK);
	free(fleet_fx_sql(conn, "UPDATE aggregations SET min_size_kw = 17.501 WHERE name = 'A1'"));
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	ck_assert_str_eq(out.warnings, "min_size");
	ck_assert_str_eq(out.failed, "");
	ck_assert_ptr_nonnull(strstr(out.findings_json, "against its minimum of 17.501 kW"));
	/* it does not block approval */
	ck_assert_msg(fleet_enroll_approve(conn, ar, out.id, "op", &out, &err) == DERMS_OK, "%s", err.msg);
	ck_assert_str_eq(out.warnings, "min_size");
	done();
}
END_TEST

/* status of request id */
static char *
status_of(int64_t id)
{
	char		sql[128];
	char	   *v;
	char	   *s;

	snprintf(sql, sizeof(sql), "SELECT status FROM enrollment_requests WHERE id = %lld", (long long) id);
	v = fleet_fx_sql(conn, sql);
	s = arena_strdup(ar, v);
	free(v);
	return s;
}

START_TEST(test_withdraw_and_remove)
{
	fleet_enroll_out out;
	derms_err	err;
	int64_t		pending,
				approved,
				rejected;

	SETUP();
	/* withdraw a pending request: only its own aggregator, only once */
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	pending = out.id;
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg2, pending, NULL, "agg2", &err), DERMS_ENOTFOUND);
	ck_assert_msg(strncmp(err.msg, "id: no enrollment request", 25) == 0, "%s", err.msg);
	ck_assert_str_eq(status_of(pending), "requested");
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, pending, "changed plans", "agg1", &err), DERMS_OK);
	ck_assert_str_eq(status_of(pending), "withdrawn");
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, pending, NULL, "agg1", &err), DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "already withdrawn"));
	ck_assert_int_eq(fleet_enroll_approve(conn, ar, pending, "op", &out, &err), DERMS_EEXIST);
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, 99999, NULL, "agg1", &err), DERMS_ENOTFOUND);

	/* an approved request cannot be withdrawn; its enrollment is removed */
	ck_assert_int_eq(request(agg1, "D1", "A1", "F1", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	approved = out.id;
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg1, approved, "2999-01-01T00:00:00Z", "agg1", &err),
					 DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "only an approved enrollment"));
	ck_assert_int_eq(fleet_enroll_approve(conn, ar, approved, "op", &out, &err), DERMS_OK);
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, approved, NULL, "agg1", &err), DERMS_EEXIST);
	ck_assert_msg(strstr(err.msg, "is approved") && strstr(err.msg, "removal"), "%s", err.msg);
	ck_assert_str_eq(status_of(approved), "approved");

	/* a rejected one cannot be withdrawn either */
	ck_assert_int_eq(request(agg1, "D3", "A1", "F2", "2024-02-01T00:00:00Z", NULL, &out, &err), DERMS_OK);
	rejected = out.id;
	ck_assert_int_eq(fleet_enroll_reject(conn, ar, rejected, "node", "op", &err), DERMS_OK);
	ck_assert_int_eq(fleet_enroll_withdraw(conn, ar, agg1, rejected, NULL, "agg1", &err), DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "already rejected"));

	/* removal: a time with zone, not in the past, by its own aggregator */
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg1, approved, "soon", "agg1", &err), DERMS_EINVAL);
	ck_assert_msg(strncmp(err.msg, "effective_to:", 13) == 0, "%s", err.msg);
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg1, approved, "2024-05-01T00:00:00Z", "agg1", &err),
					 DERMS_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "in the past"));
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg2, approved, "2999-01-01T00:00:00Z", "agg2", &err),
					 DERMS_ENOTFOUND);
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg1, rejected, "2999-01-01T00:00:00Z", "agg1", &err),
					 DERMS_EEXIST);
	ck_assert_str_eq(fleet_at(agg1, "2999-06-01T00:00:00Z"), "D1");
	ck_assert_msg(fleet_enroll_end_request(conn, ar, agg1, approved, "2999-01-01T00:00:00Z", "agg1", &err)
				  == DERMS_OK, "%s", err.msg);
	ck_assert_str_eq(fleet_at(agg1, "2998-12-31T23:59:59Z"), "D1");
	ck_assert_str_eq(fleet_at(agg1, "2999-01-01T00:00:00Z"), "");
	/* an end is set once */
	ck_assert_int_eq(fleet_enroll_end_request(conn, ar, agg1, approved, "2999-02-01T00:00:00Z", "agg1", &err),
					 DERMS_EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "already ends at 2999-01-01T00:00:00Z"));
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_IDLE);
	ck_assert_int_eq(fleet_fx_id(conn, "SELECT count(*) FROM audit_log WHERE action = 'enroll.withdraw'"), 1);
	ck_assert_int_eq(fleet_fx_id(conn, "SELECT count(*) FROM audit_log WHERE action = 'enroll.remove'"
								 " AND detail->>'request_id' IS NOT NULL"), 1);
	ck_assert_int_eq(fleet_fx_id(conn, "SELECT count(*) FROM audit_log WHERE audit_verify() IS NOT NULL"), 0);
	done();
}
END_TEST

Suite *
fleet_enroll_suite(void)
{
	Suite	   *s = suite_create("fleet_enroll");
	TCase	   *tc = tcase_create("enroll");

	tcase_add_test(tc, test_lifecycle);
	tcase_add_test(tc, test_checks_fail);
	tcase_add_test(tc, test_conflicts);
	tcase_add_test(tc, test_history_immutable);
	tcase_add_test(tc, test_rls);
	tcase_add_test(tc, test_min_size);
	tcase_add_test(tc, test_withdraw_and_remove);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
