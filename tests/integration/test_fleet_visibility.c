/*
 * tests/integration/test_fleet_visibility.c
 *	  An aggregator's view of IEEE 2030.5 EndDevices follows its
 *	  enrollments (protocols/sep2/edev.c, schema/0008_fleet_history.sql):
 *	  a device that registered itself is invisible to the aggregator until
 *	  the operator approves the enrollment of the DER carrying its LFDI,
 *	  visible while the enrollment is in force, and invisible again from
 *	  the effective time of its removal.  The same holds for the aggregator
 *	  on the VTN listener with an OpenADR business-logic token: the DER is
 *	  in its aggregation's resources exactly while the enrollment is in
 *	  force.  Everything goes through a real dermsd over TLS: the device and
 *	  the aggregator on the 2030.5 listener, the aggregator (certificate and
 *	  token) and the operator on the fleet API.
 *
 * NOTES
 *	  The sample fleet of tests/data/fleet is imported with dermsctl; agg1
 *	  owns D1 (given the device's LFDI here) and aggregation A1, agg2
 *	  (certificate "aggregator-two") owns neither.  Without the test
 *	  cluster the test prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "server/pki.h"
#include "tests/suites.h"

#define SEP2_CT "application/sep+xml"
#define JSON_CT "application/json"

static it_server srv;

/* UTC timestamp of now + delta seconds, "YYYY-MM-DDTHH:MM:SSZ". */
static void
stamp(char *buf, size_t len, long delta)
{
	time_t		t = time(NULL) + delta;
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* GET path on the 2030.5 listener as cert; status, body into *body if given. */
static long
sep2_get(const char *cert, const char *path, char **body)
{
	it_response r = it_https(&srv, srv.sep2_port, "GET", path, cert, IT_TLS_CSIP, NULL, NULL);
	long		st = r.status;

	ck_assert_msg(r.curl_rc == 0, "GET %s as %s: curl error %d", path, cert, r.curl_rc);
	if (body)
		*body = strdup(r.body ? r.body : "");
	it_response_free(&r);
	return st;
}

/* A fleet API call; status, parsed answer into *out if given. */
static long
fleet_call(const char *method, const char *path, const char *cert, const char *body,
		   json_t **out)
{
	it_response r = it_https(&srv, srv.vtn_port, method, path, cert, IT_TLS_DEFAULT,
							 body ? JSON_CT : NULL, body);
	long		st = r.status;

	ck_assert_msg(r.curl_rc == 0, "%s %s as %s: curl error %d", method, path, cert, r.curl_rc);
	if (out)
	{
		*out = json_loads(r.body, 0, NULL);
		ck_assert_msg(*out != NULL, "%s %s: not JSON: %s", method, path, r.body);
	}
	it_response_free(&r);
	return st;
}

/* agg1's OpenADR BL token (see test) */
static char bl_token[4096];
static char a1_id[32];

/* Is DER d (an id) among aggregation A1's resources for agg1's token? */
static bool
token_sees_in_a1(const char *d)
{
	char		path[128];
	it_response r;
	json_t	   *j;
	json_t	   *v;
	size_t		i;
	bool		found = false;

	snprintf(path, sizeof(path), "/fleet/v1/resources?aggregation=%s", a1_id);
	r = it_bearer(&srv, "GET", path, bl_token, NULL, NULL);
	ck_assert_msg(r.status == 200, "GET %s with the BL token: %ld %s", path, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	v = json_is_array(j) ? j : json_object_get(j, "resources");
	ck_assert_msg(json_is_array(v), "no resource list in %s", r.body);
	for (i = 0; i < json_array_size(v); i++)
	{
		json_t	   *id = json_object_get(json_array_get(v, i), "id");
		char		buf[32];

		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(id));
		if ((json_is_integer(id) && strcmp(buf, d) == 0) ||
			(json_is_string(id) && strcmp(json_string_value(id), d) == 0))
			found = true;
	}
	json_decref(j);
	it_response_free(&r);
	return found;
}

/* What agg1 (aggregator-demo) and agg2 see of EndDevice loc and the list. */
static void
expect_visible(const char *loc, const char *lfdi, bool agg1, const char *when)
{
	char		path[160];
	char	   *body;

	ck_assert_msg(sep2_get("aggregator-demo", loc, &body) == (agg1 ? 200 : 404),
				  "%s: GET %s as agg1: %s", when, loc, body);
	if (agg1)
		ck_assert_ptr_nonnull(strstr(body, lfdi));
	free(body);
	/* a resource below the EndDevice follows the same rule */
	snprintf(path, sizeof(path), "%s/der", loc);
	ck_assert_msg(sep2_get("aggregator-demo", path, NULL) == (agg1 ? 200 : 404),
				  "%s: GET %s as agg1", when, path);
	ck_assert_int_eq(sep2_get("aggregator-demo", "/edev?l=10", &body), 200);
	ck_assert_msg(strstr(body, agg1 ? "all=\"1\"" : "all=\"0\"") != NULL &&
				  (strstr(body, lfdi) != NULL) == agg1, "%s: list as agg1: %s", when, body);
	free(body);
	/* never the other aggregator */
	ck_assert_msg(sep2_get("aggregator-two", loc, NULL) == 404, "%s: GET %s as agg2", when, loc);
	ck_assert_int_eq(sep2_get("aggregator-two", "/edev?l=10", &body), 200);
	ck_assert_msg(strstr(body, "all=\"0\"") != NULL, "%s: list as agg2: %s", when, body);
	free(body);
}

START_TEST(test_visibility_follows_enrollment)
{
	pki_issued	dev;
	derms_err	err;
	char		body[512],
				loc[128],
				path[160],
				from[32],
				until[32],
				sql[256];
	char	   *d1,
			   *a1;
	json_t	   *j;
	long long	req;
	it_response r;

	if (!it_setup(&srv, "[vtn]\nca_file = pki/trust.pem\n", "fleet_visibility"))
		return;
	ck_assert_int_eq(pki_issue(srv.pki, "fleet-dev", PKI_DEVICE, &dev, &err), DERMS_OK);
	it_sample_fleet(&srv);
	it_launch(&srv);

	/* the device registers itself: no tenant owns its EndDevice */
	snprintf(body, sizeof(body), "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\"><lFDI>%s</lFDI>"
			 "<sFDI>%llu</sFDI><changedTime>0</changedTime></EndDevice>", dev.id.lfdi,
			 (unsigned long long) dev.id.sfdi);
	r = it_https(&srv, srv.sep2_port, "POST", "/edev", "fleet-dev", IT_TLS_CSIP, SEP2_CT, body);
	ck_assert_int_eq(r.status, 201);
	{
		const char *l = strstr(r.headers, "Location: ");

		ck_assert_ptr_nonnull(l);
		snprintf(loc, sizeof(loc), "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	}
	it_response_free(&r);
	ck_assert_int_eq(sep2_get("fleet-dev", loc, NULL), 200);

	/* D1 is that device */
	snprintf(sql, sizeof(sql), "UPDATE der_resources SET lfdi = '%s' WHERE external_id = 'D1'",
			 dev.id.lfdi);
	free(it_sql_value(&srv, sql));
	d1 = it_sql_value(&srv, "SELECT id FROM der_resources WHERE external_id = 'D1'");
	a1 = it_sql_value(&srv, "SELECT id FROM aggregations WHERE name = 'A1'");
	snprintf(a1_id, sizeof(a1_id), "%s", a1);
	/* agg1's OpenADR business-logic client and its token */
	{
		char		id[IT_VTN_CRED_MAX];
		char		secret[IT_VTN_CRED_MAX];
		char	   *tok;

		it_vtn_client(&srv, "--name agg1-bl --role bl --tenant agg1", id, secret);
		tok = it_vtn_token(&srv, id, secret, NULL);
		ck_assert_ptr_nonnull(tok);
		snprintf(bl_token, sizeof(bl_token), "%s", tok);
		free(tok);
	}
	expect_visible(loc, dev.id.lfdi, false, "before any request");
	ck_assert_msg(!token_sees_in_a1(d1), "BL token sees D1 in A1 before any request");

	/* requested: still invisible */
	stamp(from, sizeof(from), -60);
	snprintf(body, sizeof(body), "{\"der_id\": %s, \"aggregation_id\": %s, \"feeder\": \"F1\","
			 " \"effective_from\": \"%s\"}", d1, a1, from);
	ck_assert_int_eq(fleet_call("POST", "/fleet/v1/enrollment-requests", "aggregator-demo", body, &j),
					 201);
	req = json_integer_value(json_object_get(j, "id"));
	{
		/* a self-registered device is not a claim by another tenant */
		json_t	   *f = json_array_get(json_object_get(j, "findings"), 1);

		ck_assert_str_eq(json_string_value(json_object_get(f, "check")), "lfdi_unclaimed");
		ck_assert_msg(json_is_true(json_object_get(f, "ok")), "lfdi_unclaimed failed: %s",
					  json_string_value(json_object_get(f, "detail")));
	}
	json_decref(j);
	expect_visible(loc, dev.id.lfdi, false, "requested");
	ck_assert_msg(!token_sees_in_a1(d1), "BL token sees D1 in A1 while requested");

	/* approved: visible to agg1, never to agg2 */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/approve", req);
	ck_assert_int_eq(fleet_call("POST", path, "operator-demo", "{}", NULL), 200);
	expect_visible(loc, dev.id.lfdi, true, "approved");
	ck_assert_msg(token_sees_in_a1(d1), "BL token does not see D1 in A1 once approved");

	/* removal a few seconds ahead: visible until then, not after */
	snprintf(path, sizeof(path), "/fleet/v1/enrollment-requests/%lld/remove", req);
	stamp(until, sizeof(until), 3);
	snprintf(body, sizeof(body), "{\"effective_to\": \"%s\"}", until);
	ck_assert_int_eq(fleet_call("POST", path, "aggregator-demo", body, NULL), 200);
	expect_visible(loc, dev.id.lfdi, true, "removal pending");
	{
		time_t		end = time(NULL) + 5;

		while (time(NULL) < end)
			usleep(200000);
	}
	expect_visible(loc, dev.id.lfdi, false, "after removal");
	ck_assert_msg(!token_sees_in_a1(d1), "BL token still sees D1 in A1 after removal");
	/* the device itself is unaffected */
	ck_assert_int_eq(sep2_get("fleet-dev", loc, NULL), 200);
	free(d1);
	free(a1);
	it_cleanup(&srv);
}
END_TEST

Suite *
fleet_visibility_suite(void)
{
	Suite	   *s = suite_create("fleet_visibility");
	TCase	   *tc = tcase_create("visibility");

	tcase_add_test(tc, test_visibility_follows_enrollment);
	tcase_set_timeout(tc, 90);
	suite_add_tcase(s, tc);
	return s;
}
