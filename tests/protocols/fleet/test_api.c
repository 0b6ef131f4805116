/*
 * tests/protocols/fleet/test_api.c
 *	  Tests for protocols/fleet/api.c through a real dermsd: the VTN
 *	  listener with client certificates, the sample fleet imported with
 *	  dermsctl, aggregators agg1 (demo certificate) and agg2 (a second
 *	  certificate issued here), and the operator.
 *
 * NOTES
 *	  One server for the whole lifecycle keeps the suite quick.  Without
 *	  the test cluster the test prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "server/pki.h"
#include "tests/integration/harness.h"
#include "tests/suites.h"

#define JSON_CT "application/json"

static it_server srv;

/* One request; returns status, *body (may be NULL) gets the parsed JSON. */
static long
call(const char *method, const char *path, const char *who, const char *body, json_t **out)
{
	it_response r = it_https(&srv, srv.vtn_port, method, path, who, IT_TLS_DEFAULT,
							 body ? JSON_CT : NULL, body);
	long		st = r.status;

	ck_assert_msg(r.curl_rc == 0, "%s %s as %s: curl error %d", method, path, who, r.curl_rc);
	if (out)
	{
		*out = json_loads(r.body, 0, NULL);
		ck_assert_msg(*out != NULL, "%s %s: not JSON: %s", method, path, r.body);
	}
	it_response_free(&r);
	return st;
}

/* status, and the Problem JSON detail must contain want */
static void
expect_problem(const char *method, const char *path, const char *who, const char *body,
			   long status, const char *want)
{
	json_t	   *j;
	long		st = call(method, path, who, body, &j);
	const char *detail = json_string_value(json_object_get(j, "detail"));

	ck_assert_msg(st == status, "%s %s as %s: status %ld, want %ld (%s)", method, path, who, st,
				  status, detail ? detail : "");
	ck_assert_msg(detail && strstr(detail, want), "%s %s: detail \"%s\" lacks \"%s\"", method, path,
				  detail ? detail : "(none)", want);
	json_decref(j);
}

/* size of array key of the JSON answer to GET path */
static size_t
list_size(const char *path, const char *who, const char *key)
{
	json_t	   *j;
	size_t		n;

	ck_assert_int_eq(call("GET", path, who, NULL, &j), 200);
	n = json_array_size(json_object_get(j, key));
	json_decref(j);
	return n;
}

static long long
db_id(const char *sql)
{
	PGconn	   *c = PQconnectdb(srv.conninfo);
	PGresult   *r = PQexec(c, sql);
	long long	v;

	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
				  PQerrorMessage(c));
	v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return v;
}

static bool
up(void)
{
	const char *why[1] = {"could not prepare"};
	pki_issued	it;
	derms_err	err;
	const char *b = test_build_dir();
	static const char *const kinds[] = {"feeders", "markets", "aggregations", "sites", "ders",
	"enrollments"};

	if (!it_prepare(&srv, "[vtn]\nca_file = pki/trust.pem\n", why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("fleet_api", why[0]);
			return false;
		}
		ck_abort_msg("harness setup failed: %s", why[0]);
	}
	ck_assert_int_eq(pki_issue(srv.pki, "aggregator-two", PKI_AGGREGATOR, &it, &err), DERMS_OK);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert register %s/aggregator-two.pem --role aggregator"
							" --tenant agg2 >/dev/null", b, srv.conf, srv.pki), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_int_eq(it_run("%s/dermsctl -c %s import %s tests/data/fleet/%s.csv >/dev/null",
								b, srv.conf, kinds[i], kinds[i]), 0);
	if (!it_start(&srv))
	{
		it_run("cat '%s' >&2", srv.log);
		ck_abort_msg("dermsd did not become ready");
	}
	return true;
}

START_TEST(test_lifecycle_and_isolation)
{
	long long	d1,
				d2,
				d3,
				d5,
				a1,
				req,
				req3;
	char		body[512],
				path[128];
	json_t	   *j;

	if (!up())
		return;
	d1 = db_id("SELECT id FROM der_resources WHERE external_id = 'D1'");
	d2 = db_id("SELECT id FROM der_resources WHERE external_id = 'D2'");
	d3 = db_id("SELECT id FROM der_resources WHERE external_id = 'D3'");
	d5 = db_id("SELECT id FROM der_resources WHERE external_id = 'D5'");
	a1 = db_id("SELECT id FROM aggregations WHERE name = 'A1'");

	/* each aggregator sees its own sites and DERs only */
	ck_assert_int_eq(list_size("/fleet/v1/sites", "aggregator-demo", "sites"), 3);
	ck_assert_int_eq(list_size("/fleet/v1/sites", "aggregator-two", "sites"), 1);
	ck_assert_int_eq(list_size("/fleet/v1/ders", "aggregator-demo", "ders"), 4);
	ck_assert_int_eq(list_size("/fleet/v1/ders", "aggregator-two", "ders"), 1);
	ck_assert_int_eq(list_size("/fleet/v1/ders", "operator-demo", "ders"), 5);

	/* request */
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
			 " \"effective_from\": \"2024-02-01T00:00:00Z\"}", d1, a1);
	ck_assert_int_eq(call("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, &j), 201);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "requested");
	ck_assert_int_eq(json_array_size(json_object_get(j, "findings")), 6);
	req = json_integer_value(json_object_get(j, "id"));
	json_decref(j);

	/* a failing one, rejected later */
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F2\","
			 " \"effective_from\": \"2024-02-01T00:00:00Z\", \"effective_to\": null}", d3, a1);
	ck_assert_int_eq(call("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, &j), 201);
	req3 = json_integer_value(json_object_get(j, "id"));
	json_decref(j);

	/* isolation: agg2 sees none of it; foreign ids are 404 */
	ck_assert_int_eq(list_size("/fleet/v1/enrollment-requests", "aggregator-two", "requests"), 0);
	ck_assert_int_eq(list_size("/fleet/v1/enrollment-requests", "aggregator-demo", "requests"), 2);
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld", req);
	expect_problem("GET", path, "aggregator-two", NULL, 404, "no enrollment request");
	ck_assert_int_eq(call("GET", path, "aggregator-demo", NULL, NULL), 200);
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
			 " \"effective_from\": \"2024-02-01T00:00:00Z\"}", d1, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-two", body, 404, "der_id");
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
			 " \"effective_from\": \"2024-02-01T00:00:00Z\"}", d5, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-two", body, 404, "aggregation_id");

	/* bad bodies name the field */
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", "{\"der_id\": ", 400,
				   "malformed JSON");
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", "[]", 400, "JSON object");
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\"}", d2, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, 400, "effective_from");
	snprintf(body, sizeof(body), "{\"der_id\": \"%lld\", \"aggregation_id\": %lld}", d2, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, 400, "der_id");
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", "{\"color\": 1}", 400,
				   "color: unknown field");
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
			 " \"effective_from\": \"yesterday\"}", d2, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, 400, "effective_from");
	/* conflict: D2 is in A1's market for 2024H1 */
	snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
			 " \"effective_from\": \"2024-03-01T00:00:00Z\"}", d2, a1);
	expect_problem("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, 409, "der_id: DER");

	/* only operators decide */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/approve", req);
	ck_assert_int_eq(call("POST", path, "aggregator-demo", "{}", NULL), 404);
	ck_assert_int_eq(list_size("/fleet/v1/enrollment-requests?status=requested", "operator-demo",
							   "requests"), 2);
	ck_assert_int_eq(call("POST", path, "operator-demo", "{}", &j), 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "approved");
	json_decref(j);
	expect_problem("POST", path, "operator-demo", "{}", 409, "already approved");
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/approve", req3);
	expect_problem("POST", path, "operator-demo", "{}", 409, "fails checks");
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/reject", req3);
	expect_problem("POST", path, "operator-demo", "{}", 400, "reason");
	ck_assert_int_eq(call("POST", path, "operator-demo", "{\"reason\": \"over hosting capacity\"}", NULL),
					 200);
	expect_problem("POST", "/fleet/v1/enrollment-requests/99999/approve", "operator-demo", "{}", 404,
				   "no enrollment request");

	/* withdrawal: decided requests are 409 with the reason */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/withdraw", req3);
	expect_problem("POST", path, "aggregator-demo", "{}", 409, "already rejected");
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/withdraw", req);
	expect_problem("POST", path, "aggregator-demo", "{}", 409, "is approved");
	{
		long long	d4 = db_id("SELECT id FROM der_resources WHERE external_id = 'D4'");
		long long	w;

		snprintf(body, sizeof(body), "{\"der_id\": %lld, \"aggregation_id\": %lld, \"feeder\": \"F1\","
				 " \"effective_from\": \"2024-02-01T00:00:00Z\"}", d4, a1);
		ck_assert_int_eq(call("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, &j), 201);
		w = json_integer_value(json_object_get(j, "id"));
		json_decref(j);
		snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/withdraw", w);
		expect_problem("POST", path, "aggregator-two", "{}", 404, "no enrollment request");
		ck_assert_int_eq(call("POST", path, "operator-demo", "{}", NULL), 404);	/* not its role */
		expect_problem("POST", path, "aggregator-demo", "{\"reason\": 5}", 400, "reason");
		ck_assert_int_eq(call("POST", path, "aggregator-demo", "{\"reason\": \"not yet installed\"}", &j),
						 200);
		ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "withdrawn");
		ck_assert_str_eq(json_string_value(json_object_get(j, "reason")), "not yet installed");
		json_decref(j);
		expect_problem("POST", path, "aggregator-demo", "{}", 409, "already withdrawn");
	}
	/* removal of the approved enrollment: bad input first */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/remove", req);
	expect_problem("POST", path, "aggregator-demo", "{}", 400, "effective_to: is required");
	expect_problem("POST", path, "aggregator-demo", "{\"effective_to\": 5}", 400, "effective_to");
	expect_problem("POST", path, "aggregator-demo", "{\"effective_to\": \"2024-05-01\"}", 400,
				   "effective_to");
	expect_problem("POST", path, "aggregator-demo", "{\"effective_to\": \"2024-05-01T00:00:00Z\"}", 400,
				   "in the past");
	expect_problem("POST", path, "aggregator-two", "{\"effective_to\": \"2999-01-01T00:00:00Z\"}", 404,
				   "no enrollment request");
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/remove", req3);
	expect_problem("POST", path, "aggregator-demo", "{\"effective_to\": \"2999-01-01T00:00:00Z\"}", 409,
				   "only an approved enrollment");

	/* visible to agg1 from its effective time, never to agg2 */
	ck_assert_int_eq(list_size("/fleet/v1/enrollments?as_of=2024-01-15T00:00:00Z", "aggregator-demo",
							   "enrollments"), 1);
	ck_assert_int_eq(list_size("/fleet/v1/enrollments?as_of=2024-03-01T00:00:00Z", "aggregator-demo",
							   "enrollments"), 2);
	ck_assert_int_eq(list_size("/fleet/v1/enrollments?as_of=2024-03-01T00:00:00Z", "aggregator-two",
							   "enrollments"), 0);
	expect_problem("GET", "/fleet/v1/enrollments?as_of=March", "aggregator-demo", NULL, 400, "as_of");

	/* removal ends visibility at the effective time */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s enroll remove --der %lld --aggregation %lld"
							" --at 2024-05-01T00:00:00Z >/dev/null", test_build_dir(), srv.conf, d1, a1), 0);
	ck_assert_int_eq(list_size("/fleet/v1/enrollments?as_of=2024-04-30T00:00:00Z", "aggregator-demo",
							   "enrollments"), 2);
	ck_assert_int_eq(list_size("/fleet/v1/enrollments?as_of=2024-05-01T00:00:00Z", "aggregator-demo",
							   "enrollments"), 1);
	/* its end is set: the aggregator cannot set another */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/remove", req);
	expect_problem("POST", path, "aggregator-demo", "{\"effective_to\": \"2999-01-01T00:00:00Z\"}", 409,
				   "already ends at 2024-05-01T00:00:00Z");
	it_cleanup(&srv);
}
END_TEST

Suite *
fleet_api_suite(void)
{
	Suite	   *s = suite_create("fleet_api");
	TCase	   *tc = tcase_create("api");

	tcase_add_test(tc, test_lifecycle_and_isolation);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
