/*
 * tests/integration/test_statements.c
 *	  Settlement statements on the fleet API over real TLS
 *	  (protocols/fleet/statements.c): the aggregator that owns an
 *	  aggregation lists its statements and fetches the SVG chart; another
 *	  aggregator gets an empty list and 404; the operator sees them all.
 *
 * NOTES
 *	  The sample fleet of tests/data/fleet is imported with dermsctl (agg1
 *	  owns A1 = RES-1; agg2, certificate "aggregator-two", owns B1).  D1
 *	  and D3 are enrolled in A1 for the test; their readings are imported
 *	  and the statement stored with "dermsctl settle statement --store".
 *	  Without the test cluster the test prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "tests/suites.h"

static it_server srv;

/* GET path on the VTN listener as cert: status, body into *body. */
static long
get(const char *cert, const char *path, char **body, char **headers)
{
	it_response r = it_https(&srv, srv.vtn_port, "GET", path, cert, IT_TLS_DEFAULT,
							 NULL, NULL);
	long		st = r.status;

	ck_assert_msg(r.curl_rc == 0, "GET %s as %s: curl error %d", path, cert, r.curl_rc);
	*body = strdup(r.body ? r.body : "");
	if (headers)
		*headers = strdup(r.headers ? r.headers : "");
	it_response_free(&r);
	return st;
}

/* 5-minute readings of D1 and D3 for 2024-07-10..2024-07-12 UTC */
static void
write_readings(const char *path)
{
	FILE	   *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs("resource,interval_start,interval_minutes,kwh\n", f);
	for (int r = 0; r < 2; r++)
		for (long t = 1720569600; t < 1720569600 + 3 * 86400; t += 300)
		{
			char		ts[32];
			time_t		tt = t;
			struct tm	tm;

			gmtime_r(&tt, &tm);
			strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
			fprintf(f, "%s,%s,5,0.%03ld\n", r ? "D3" : "D1", ts, 1 + r + (t / 300) % 7);
		}
	fclose(f);
}

START_TEST(test_statements_api)
{
	const char *b = test_build_dir();
	char		path[256];
	char	   *body,
			   *hdr;
	json_t	   *j,
			   *st;
	long long	id;

	if (!it_setup(&srv, "[vtn]\nca_file = pki/trust.pem\n", "statements"))
		return;
	it_sample_fleet(&srv);
	free(it_sql_value(&srv, "INSERT INTO aggregation_members"
					  " (aggregation_id, der_id, effective_from)"
					  " SELECT g.id, d.id, '2024-06-01Z' FROM aggregations g, der_resources d"
					  " WHERE g.name = 'A1' AND d.external_id IN ('D1', 'D3')"));
	snprintf(path, sizeof(path), "%s/r.csv", srv.dir);
	write_readings(path);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s settle import %s >/dev/null", b, srv.conf, path), 0);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s settle statement --aggregation RES-1 --day 2024-07-11"
							" --store >/dev/null", b, srv.conf), 0);
	it_launch(&srv);

	/* the owner: one statement, with its chart */
	ck_assert_int_eq(get("aggregator-demo", "/fleet/v1/statements?aggregation=RES-1&day=2024-07-11",
						 &body, NULL), 200);
	j = json_loads(body, 0, NULL);
	ck_assert_msg(j != NULL, "not JSON: %s", body);
	ck_assert_int_eq(json_array_size(json_object_get(j, "statements")), 1);
	st = json_array_get(json_object_get(j, "statements"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(st, "version")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(st, "trading_day")), "2024-07-11");
	ck_assert_int_eq(json_integer_value(json_object_get(st, "members")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(st, "intervals")), 288);
	ck_assert_msg(json_number_value(json_object_get(st, "energy_kwh")) > 0, "%s", body);
	id = json_integer_value(json_object_get(st, "id"));
	json_decref(j);
	free(body);
	snprintf(path, sizeof(path), "/fleet/v1/statements/%lld/chart.svg", id);
	ck_assert_int_eq(get("aggregator-demo", path, &body, &hdr), 200);
	ck_assert_ptr_nonnull(strstr(hdr, "image/svg+xml"));
	ck_assert_ptr_nonnull(strstr(body, "<svg "));
	ck_assert_ptr_nonnull(strstr(body, "America/Los_Angeles"));
	free(body);
	free(hdr);

	/* another aggregator: nothing */
	ck_assert_int_eq(get("aggregator-two", "/fleet/v1/statements?aggregation=RES-1&day=2024-07-11",
						 &body, NULL), 200);
	j = json_loads(body, 0, NULL);
	ck_assert_msg(j != NULL && json_is_array(json_object_get(j, "statements")), "%s", body);
	ck_assert_int_eq(json_array_size(json_object_get(j, "statements")), 0);
	json_decref(j);
	free(body);
	ck_assert_int_eq(get("aggregator-two", path, &body, NULL), 404);
	free(body);

	/* the operator sees it; bad input is 400 */
	ck_assert_int_eq(get("operator-demo", path, &body, NULL), 200);
	free(body);
	ck_assert_int_eq(get("aggregator-demo", "/fleet/v1/statements?aggregation=RES-1&day=11-07-2024",
						 &body, NULL), 400);
	free(body);
	ck_assert_int_eq(get("aggregator-demo", "/fleet/v1/statements", &body, NULL), 400);
	free(body);
	it_cleanup(&srv);
}
END_TEST

Suite *
statements_suite(void)
{
	Suite	   *s = suite_create("statements");
	TCase	   *tc = tcase_create("api");

	tcase_add_test(tc, test_statements_api);
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	return s;
}
