/*
 * tests/integration/test_aggapi.c
 *	  The aggregators' fleet API (protocols/fleet/aggapi.c and api.c)
 *	  through a real dermsd, validated by Prism against
 *	  protocols/fleet/fleet-v1.yaml: every /fleet/v1 operation, as an
 *	  aggregator certificate and as business-logic tokens; tenant
 *	  isolation between two aggregators; telemetry buckets checked
 *	  against values worked out by hand; bad parameters answered 400 with
 *	  Problem JSON naming the parameter.
 *
 * NOTES
 *	  The sample fleet of tests/data/fleet is imported with dermsctl: agg1
 *	  ("aggregator-demo") has sites M1-M3 with DERs D1-D4 and aggregation
 *	  A1; agg2 ("aggregator-two") has site M4 with D5 and aggregation B1.
 *	  Device "aggapi-dev" is D1's inverter: it registers its EndDevice,
 *	  mirrors power and energy readings and reports DERStatus and
 *	  DERAvailability over IEEE 2030.5, and answers a DERControl.
 *
 *	  One Prism serves every caller.  Node presents a client certificate
 *	  only when asked, so the test preloads into Prism's node a small
 *	  script (written here, at run time) that takes the certificate named
 *	  by an X-Test-Client-Cert request header for the upstream TLS
 *	  connection; requests with a bearer token carry no such header.
 *	  Negative cases go straight to dermsd, since Prism answers invalid
 *	  requests itself.  Without the test cluster or Prism the tests print
 *	  SKIP.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <jansson.h>

#include "harness.h"
#include "prism.h"
#include "server/pki.h"
#include "tests/suites.h"

#define SEP2_CT "application/sep+xml"
#define JSON_CT "application/json"
#define NS "xmlns=\"urn:ieee:std:2030.5:ns\""
#define T0 1772323200LL			/* 2026-03-01T00:00:00Z */
#define EXTRA_CONF "[vtn]\nca_file = pki/trust.pem\n[notify]\nworkers = 0\n"

/* Who calls: a client certificate of the PKI, or a bearer token. */
typedef struct actor
{
	const char *label;
	const char *cert;			/* NULL for token callers */
	char	   *token;
} actor;

static it_server srv;
static it_prism prism;
static bool have_prism;

static actor agg1_cert = {"agg1 certificate", "aggregator-demo", NULL};
static actor agg2_cert = {"agg2 certificate", "aggregator-two", NULL};
static actor op_cert = {"operator certificate", "operator-demo", NULL};
static actor agg1_tok = {"agg1 BL token", NULL, NULL};
static actor agg2_tok = {"agg2 BL token", NULL, NULL};
static actor op_tok = {"operator BL token", NULL, NULL};

/* Preloaded into Prism's node: the upstream client certificate per request. */
static const char client_cert_js[] =
"'use strict';\n"
"const fs = require('fs');\n"
"const https = require('https');\n"
"const dir = process.env.DERMS_TEST_PKI;\n"
"const request = https.request;\n"
"https.request = function (options, ...rest) {\n"
"  const h = options && typeof options === 'object' ? options.headers : null;\n"
"  const k = h ? Object.keys(h).find(n => n.toLowerCase() === 'x-test-client-cert') : null;\n"
"  if (k) {\n"
"    const name = String(h[k]);\n"
"    delete h[k];\n"
"    options.cert = fs.readFileSync(dir + '/' + name + '.pem');\n"
"    options.key = fs.readFileSync(dir + '/' + name + '.key');\n"
"  }\n"
"  return request.call(this, options, ...rest);\n"
"};\n";

/* ---- helpers ---- */

static const char *
pth(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* A path from a format, in one of a few rotating buffers. */
static const char *
pth(const char *fmt,...)
{
	static char bufs[8][1024];
	static int	next;
	char	   *b = bufs[next++ % 8];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* Run SQL on the server's database; the first value, malloc'd. */
static char *
db_value(const char *sql)
{
	return it_sql_value(&srv, sql);
}

static long
db_long(const char *sql)
{
	char	   *v = db_value(sql);
	long		n = strtol(v, NULL, 10);

	free(v);
	return n;
}

/* A BL client made by dermsctl (args after "create"), and its token. */
static char *
make_token(const char *args)
{
	char		id[IT_VTN_CRED_MAX],
				secret[IT_VTN_CRED_MAX];
	char	   *tok;

	it_vtn_client(&srv, args, id, secret);
	tok = it_vtn_token(&srv, id, secret, NULL);
	ck_assert_msg(tok != NULL, "no token for %s", args);
	return tok;
}

/*
 * A fleet API call by a, through Prism or straight to dermsd, expecting
 * status want.  Through Prism any sl-violations header fails the test; an
 * error status must come as Problem JSON.  Returns the parsed body (new).
 */
static json_t *
call(bool via_prism, const actor *a, const char *method, const char *path,
	 const char *body, long want)
{
	char		auth[4096],
				certh[256];
	const char *hs[3] = {NULL, NULL, NULL};
	it_response r;
	json_t	   *j;
	char	   *v;

	if (a->token)
	{
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
		hs[0] = auth;
	}
	else if (via_prism)
	{
		snprintf(certh, sizeof(certh), "X-Test-Client-Cert: %s", a->cert);
		hs[0] = certh;
	}
	if (via_prism)
		r = it_prism_request(&prism, method, path, body ? JSON_CT : NULL, body, hs);
	else
		r = it_https_h(&srv, srv.vtn_port, method, path, a->token ? NULL : a->cert,
					   IT_TLS_DEFAULT, body ? JSON_CT : NULL, body, hs);
	ck_assert_msg(r.curl_rc == 0, "%s %s as %s: no response (curl %d)", method, path,
				  a->label, r.curl_rc);
	v = via_prism ? it_prism_violations(&r) : NULL;
	ck_assert_msg(v == NULL, "%s %s as %s: sl-violations: %s (status %ld, body %s)",
				  method, path, a->label, v, r.status, r.body);
	ck_assert_msg(r.status == want, "%s %s as %s: status %ld, want %ld: %s", method, path,
				  a->label, r.status, want, r.body);
	if (r.status >= 400)
		ck_assert_msg(strcasestr(r.headers, "content-type: application/problem+json") != NULL,
					  "%s %s: error without Problem JSON: %s", method, path, r.headers);
	j = json_loads(r.body, 0, NULL);
	ck_assert_msg(j != NULL, "%s %s as %s: not JSON: %s", method, path, a->label, r.body);
	it_response_free(&r);
	return j;
}

/* GET through Prism, answered 200; the body (new). */
static json_t *
get_ok(const actor *a, const char *path)
{
	return call(have_prism, a, "GET", path, NULL, 200);
}

/* 400 straight from dermsd whose detail begins with "param:". */
static void
expect_400(const actor *a, const char *path, const char *param)
{
	json_t	   *j = call(false, a, "GET", path, NULL, 400);
	const char *d = json_string_value(json_object_get(j, "detail"));
	size_t		n = strlen(param);

	ck_assert_msg(d && strncmp(d, param, n) == 0 && d[n] == ':',
				  "GET %s: detail does not name %s: %s", path, param, d ? d : "(none)");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), 400);
	json_decref(j);
}

static void
expect_404(const actor *a, const char *path)
{
	json_decref(call(false, a, "GET", path, NULL, 404));
}

/* ids of a {"resources": [...]} page, as "1,2,3". */
static char *
ids_of(json_t *page)
{
	static char buf[256];
	json_t	   *e;
	size_t		i;

	buf[0] = '\0';
	json_array_foreach(json_object_get(page, "resources"), i, e)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%" JSON_INTEGER_FORMAT,
				 i ? "," : "", json_integer_value(json_object_get(e, "id")));
	return buf;
}

/* One resource by external DER id from a page; borrowed, NULL if absent. */
static json_t *
find_der(json_t *page, const char *der)
{
	json_t	   *e;
	size_t		i;

	json_array_foreach(json_object_get(page, "resources"), i, e)
		if (strcmp(json_string_value(json_object_get(e, "der_id")), der) == 0)
		return e;
	return NULL;
}

/* ---- IEEE 2030.5 side ---- */

static long
sep2_send(const char *method, const char *cert, const char *path, const char *body,
		  char *loc, size_t loclen)
{
	it_response r = it_https(&srv, srv.sep2_port, method, path, cert, IT_TLS_CSIP,
							 body ? SEP2_CT : NULL, body);
	long		st = r.status;
	const char *l = strstr(r.headers, "Location: ");

	if (loc)
	{
		loc[0] = '\0';
		if (l)
			snprintf(loc, loclen, "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	}
	if (st >= 400)
		fprintf(stderr, "%s %s: %ld %s", method, path, st, r.body);
	it_response_free(&r);
	return st;
}

/*
 * A MirrorMeterReading (no xmlns) with readings of 300 s at T0 + off[i],
 * values val[i], of the given uom, multiplier and accumulation.
 */
static char *
mmr_xml(const char *mrid, int uom, int mult, int accum, const int *off, const int *val, int n)
{
	char	   *x = malloc(4096);
	size_t		len;

	ck_assert_ptr_nonnull(x);
	len = (size_t) snprintf(x, 4096, "<MirrorMeterReading><mRID>%s</mRID>"
							"<MirrorReadingSet><mRID>%s01</mRID><timePeriod><duration>3600"
							"</duration><start>%lld</start></timePeriod>", mrid, mrid, T0);
	for (int i = 0; i < n; i++)
		len += (size_t) snprintf(x + len, 4096 - len,
								 "<Reading><timePeriod><duration>300</duration><start>%lld"
								 "</start></timePeriod><value>%d</value></Reading>",
								 T0 + off[i], val[i]);
	snprintf(x + len, 4096 - len,
			 "</MirrorReadingSet><ReadingType><accumulationBehaviour>%d</accumulationBehaviour>"
			 "<commodity>1</commodity><flowDirection>1</flowDirection>"
			 "<intervalLength>300</intervalLength><kind>37</kind>"
			 "<powerOfTenMultiplier>%d</powerOfTenMultiplier><uom>%d</uom></ReadingType>"
			 "</MirrorMeterReading>", accum, mult, uom);
	return x;
}

/* A DERStatus at T0 + off with SoC in hundredths of a percent. */
static void
put_status(const char *base, long long off, int soc)
{
	char		body[512];

	snprintf(body, sizeof(body), "<DERStatus " NS "><readingTime>%lld</readingTime>"
			 "<stateOfChargeStatus><dateTime>%lld</dateTime><value>%d</value>"
			 "</stateOfChargeStatus></DERStatus>", T0 + off, T0 + off, soc);
	ck_assert_int_eq(sep2_send("PUT", "aggapi-dev", pth("%s/ders", base), body, NULL, 0), 204);
}

/*
 * D1's device: EndDevice, mirrored power and energy, status, availability
 * and a response to a control.  Returns the control's id.
 *
 * Power (W, multiplier 0) at minute: 0 1000, 5 2000, 10 3000, 30 500,
 * 40 1500.  Energy (0.1 Wh, multiplier -1, delta data) at minute: 0 100,
 * 5 200, 20 50, 30 0.  SoC (DERStatus) at 00:01 50 %, 00:10 60 %,
 * 00:31:40 70 %.
 */
static long
device_reports(const pki_issued *dev, long d1)
{
	static const int poff[] = {0, 300, 600, 1800, 2400};
	static const int pval[] = {1000, 2000, 3000, 500, 1500};
	static const int eoff[] = {0, 300, 1200, 1800};
	static const int eval[] = {100, 200, 50, 0};
	char		loc[128],
				base[256],
				body[8192],
				mrid[40];
	char	   *pw,
			   *en,
			   *v;
	long		prog,
				ctl;
	it_response r;

	snprintf(body, sizeof(body), "<EndDevice " NS "><lFDI>%s</lFDI><sFDI>%llu</sFDI>"
			 "<changedTime>0</changedTime></EndDevice>", dev->id.lfdi,
			 (unsigned long long) dev->id.sfdi);
	ck_assert_int_eq(sep2_send("POST", "aggapi-dev", "/edev", body, loc, sizeof(loc)), 201);

	pw = mmr_xml("0C01", 38, 0, 12, poff, pval, 5);
	en = mmr_xml("0C02", 72, -1, 4, eoff, eval, 4);
	snprintf(body, sizeof(body), "<MirrorUsagePoint " NS "><mRID>0C00</mRID>"
			 "<description>inverter</description><roleFlags>03</roleFlags>"
			 "<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
			 "<deviceLFDI>%s</deviceLFDI>%s%s</MirrorUsagePoint>", dev->id.lfdi, pw, en);
	free(pw);
	free(en);
	ck_assert_int_eq(sep2_send("POST", "aggapi-dev", "/mup", body, NULL, 0), 201);
	v = db_value("SELECT count(*) FROM readings");
	ck_assert_str_eq(v, "9");
	free(v);

	snprintf(base, sizeof(base), "%s/der/%ld", loc, d1);
	put_status(base, 60, 5000);
	put_status(base, 600, 6000);
	put_status(base, 1900, 7000);
	ck_assert_int_eq(sep2_send("PUT", "aggapi-dev", pth("%s/dera", base),
							   "<DERAvailability " NS "><availabilityDuration>3600"
							   "</availabilityDuration><readingTime>1772323500</readingTime>"
							   "<reservePercent>2000</reservePercent><statWAvail><multiplier>0"
							   "</multiplier><value>4000</value></statWAvail></DERAvailability>",
							   NULL, 0), 204);

	/* the operator's control for everyone, and the device's answer */
	r = it_https(&srv, srv.vtn_port, "POST", "/api/v1/der-programs", "operator-demo",
				 IT_TLS_DEFAULT, JSON_CT, "{\"primacy\":10,\"scope\":{\"kind\":\"all\"}}");
	ck_assert_msg(r.status == 201, "program: %ld %s", r.status, r.body);
	prog = strtol(strstr(r.body, "\"id\":") + 5, NULL, 10);
	it_response_free(&r);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,"
			 "\"base\":{\"opModTargetW\":{\"multiplier\":0,\"value\":3000}}}",
			 (long long) time(NULL) - 60);
	r = it_https(&srv, srv.vtn_port, "POST", pth("/api/v1/der-programs/%ld/controls", prog),
				 "operator-demo", IT_TLS_DEFAULT, JSON_CT, body);
	ck_assert_msg(r.status == 201, "control: %ld %s", r.status, r.body);
	ctl = strtol(strstr(r.body, "\"id\":") + 5, NULL, 10);
	snprintf(mrid, sizeof(mrid), "%.32s", strstr(r.body, "\"mrid\":\"") + 8);
	it_response_free(&r);
	snprintf(body, sizeof(body), "<DERControlResponse " NS "><createdDateTime>%lld"
			 "</createdDateTime><endDeviceLFDI>%s</endDeviceLFDI><status>2</status>"
			 "<subject>%s</subject></DERControlResponse>", (long long) time(NULL),
			 dev->id.lfdi, mrid);
	ck_assert_int_eq(sep2_send("POST", "aggapi-dev", pth("%s/rsp", loc), body, NULL, 0), 201);
	return ctl;
}

/* ---- setup ---- */

static bool
up(bool with_prism)
{
	memset(&prism, 0, sizeof(prism));
	have_prism = false;
	if (!it_setup(&srv, EXTRA_CONF, "aggapi"))
		return false;
	it_sample_fleet(&srv);
	it_launch(&srv);
	agg1_tok.token = make_token("--name aggapi-agg1 --role bl --tenant agg1");
	agg2_tok.token = make_token("--name aggapi-agg2 --role bl --tenant agg2");
	op_tok.token = make_token("--name aggapi-utility --role bl");

	if (with_prism)
	{
		char		js[4096],
					opt[4200];
		bool		skip;
		const char *pwhy = NULL;
		FILE	   *f;

		snprintf(js, sizeof(js), "%s/client-cert.js", srv.dir);
		f = fopen(js, "w");
		ck_assert_ptr_nonnull(f);
		fputs(client_cert_js, f);
		ck_assert_int_eq(fclose(f), 0);
		snprintf(opt, sizeof(opt), "--require %s", js);
		setenv("NODE_OPTIONS", opt, 1);
		setenv("DERMS_TEST_PKI", srv.pki, 1);
		have_prism = it_prism_start_spec(&prism, &srv, "protocols/fleet/fleet-v1.yaml",
										 &skip, &pwhy);
		unsetenv("NODE_OPTIONS");
		if (!have_prism)
		{
			if (!skip)
				ck_abort_msg("%s", pwhy);
			test_skip("aggapi (Prism)", pwhy);
			return false;
		}
	}
	return true;
}

static void
down(void)
{
	it_prism_stop(&prism);
	it_cleanup(&srv);
	free(agg1_tok.token);
	free(agg2_tok.token);
	free(op_tok.token);
	agg1_tok.token = agg2_tok.token = op_tok.token = NULL;
}

/* ---- tests ---- */

/* Check one series point: start, value (NAN: null) and samples. */
static void
expect_point(json_t *series, size_t i, const char *start, double value, int samples)
{
	json_t	   *p = json_array_get(json_object_get(series, "points"), i);
	json_t	   *v = json_object_get(p, "value");

	ck_assert_msg(p != NULL, "no point %zu", i);
	ck_assert_str_eq(json_string_value(json_object_get(p, "start")), start);
	if (isnan(value))
		ck_assert_msg(json_is_null(v), "point %zu (%s): want null", i, start);
	else
		ck_assert_msg(json_is_number(v) && fabs(json_number_value(v) - value) < 1e-9,
					  "point %zu (%s): %g, want %g", i, start,
					  json_is_number(v) ? json_number_value(v) : -1.0, value);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "samples")), samples);
}

static json_t *
series(const actor *a, long id, const char *q)
{
	return get_ok(a, pth("/fleet/v1/resources/%ld/telemetry?%s", id, q));
}

START_TEST(test_fleet_api_through_prism)
{
	const actor *const agg1[] = {&agg1_cert, &agg1_tok};
	pki_issued	dev;
	derms_err	err;
	char		body[512];
	long		d1, d2, d3, d4, d5, a1, b1, ctl, req1, req2, req3;
	json_t	   *j,
			   *r,
			   *st;
	char	   *v;

	if (!up(true))
		return;
	d1 = db_long("SELECT id FROM der_resources WHERE external_id = 'D1'");
	d2 = db_long("SELECT id FROM der_resources WHERE external_id = 'D2'");
	d3 = db_long("SELECT id FROM der_resources WHERE external_id = 'D3'");
	d4 = db_long("SELECT id FROM der_resources WHERE external_id = 'D4'");
	d5 = db_long("SELECT id FROM der_resources WHERE external_id = 'D5'");
	a1 = db_long("SELECT id FROM aggregations WHERE name = 'A1'");
	b1 = db_long("SELECT id FROM aggregations WHERE name = 'B1'");

	/* D1 is the device's battery */
	ck_assert_int_eq(pki_issue(srv.pki, "aggapi-dev", PKI_DEVICE, &dev, &err), DERMS_OK);
	free(db_value(pth("UPDATE der_resources SET lfdi = '%s' WHERE id = %ld", dev.id.lfdi, d1)));

	/* enrollment: request (certificate), withdraw, request again (token),
	 * approve; agg2 requests D5 and is rejected once, then approved */
	snprintf(body, sizeof(body), "{\"der_id\":%ld,\"aggregation_id\":%ld,\"feeder\":\"F1\","
			 "\"effective_from\":\"2026-01-01T00:00:00Z\"}", d1, a1);
	j = call(true, &agg1_cert, "POST", "/fleet/v1/enrollment-requests", body, 201);
	req1 = (long) json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(call(true, &agg1_cert, "POST",
					 pth("/fleet/v1/enrollment-requests/%ld/withdraw", req1),
					 "{\"reason\":\"wrong date\"}", 200));
	snprintf(body, sizeof(body), "{\"der_id\":%ld,\"aggregation_id\":%ld,\"feeder\":\"F1\","
			 "\"effective_from\":\"2026-02-01T00:00:00Z\",\"effective_to\":null}", d1, a1);
	j = call(true, &agg1_tok, "POST", "/fleet/v1/enrollment-requests", body, 201);
	req2 = (long) json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(call(true, &op_tok, "POST", pth("/fleet/v1/enrollment-requests/%ld/approve", req2),
					 "{}", 200));
	snprintf(body, sizeof(body), "{\"der_id\":%ld,\"aggregation_id\":%ld,\"feeder\":\"F1\","
			 "\"effective_from\":\"2026-02-01T00:00:00Z\"}", d5, b1);
	j = call(true, &agg2_tok, "POST", "/fleet/v1/enrollment-requests", body, 201);
	req3 = (long) json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(call(true, &op_tok, "POST", pth("/fleet/v1/enrollment-requests/%ld/reject", req3),
					 "{\"reason\":\"paperwork\"}", 200));
	j = call(true, &agg2_tok, "POST", "/fleet/v1/enrollment-requests", body, 201);
	req3 = (long) json_integer_value(json_object_get(j, "id"));
	json_decref(j);
	json_decref(call(false, &op_cert, "POST",
					 pth("/fleet/v1/enrollment-requests/%ld/approve", req3), "{}", 200));

	ctl = device_reports(&dev, d1);

	/* every read operation, as agg1's certificate and as its token */
	for (size_t k = 0; k < 2; k++)
	{
		const actor *a = agg1[k];

		j = get_ok(a, "/fleet/v1/enrollment-requests");
		ck_assert_int_eq(json_array_size(json_object_get(j, "requests")), 2);
		json_decref(j);
		json_decref(get_ok(a, "/fleet/v1/enrollment-requests?status=approved"));
		json_decref(get_ok(a, pth("/fleet/v1/enrollment-requests/%ld", req2)));
		j = get_ok(a, "/fleet/v1/sites");
		ck_assert_int_eq(json_array_size(json_object_get(j, "sites")), 3);
		json_decref(j);
		j = get_ok(a, "/fleet/v1/ders");
		ck_assert_int_eq(json_array_size(json_object_get(j, "ders")), 4);
		json_decref(j);
		json_decref(get_ok(a, "/fleet/v1/enrollments"));
		json_decref(get_ok(a, "/fleet/v1/enrollments?as_of=2024-03-01T00:00:00Z"));

		/* resources: all four at agg1's sites, by id */
		j = get_ok(a, "/fleet/v1/resources");
		ck_assert_str_eq(ids_of(j), pth("%ld,%ld,%ld,%ld", d1, d2, d3, d4));
		ck_assert(json_is_null(json_object_get(j, "next_cursor")));
		r = find_der(j, "D1");
		ck_assert_ptr_nonnull(r);
		ck_assert_str_eq(json_string_value(json_object_get(r, "kind")), "battery");
		ck_assert_int_eq(json_integer_value(json_object_get(
			json_array_get(json_object_get(r, "aggregations"), 0), "id")), a1);
		st = json_object_get(r, "state");
		ck_assert(fabs(json_number_value(json_object_get(st, "soc_percent")) - 70.0) < 1e-9);
		ck_assert_str_eq(json_string_value(json_object_get(st, "soc_at")), "2026-03-01T00:31:40Z");
		ck_assert(fabs(json_number_value(json_object_get(st, "power_w")) - 1500.0) < 1e-9);
		ck_assert_str_eq(json_string_value(json_object_get(st, "power_at")), "2026-03-01T00:40:00Z");
		ck_assert(fabs(json_number_value(json_object_get(json_object_get(st, "availability"), "w"))
					   - 4000.0) < 1e-9);
		ck_assert(fabs(json_number_value(json_object_get(json_object_get(st, "availability"),
														 "reserve_percent")) - 20.0) < 1e-9);
		ck_assert_ptr_nonnull(json_string_value(json_object_get(st, "last_seen")));
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(st, "last_response"),
															"control_id")), ctl);
		ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(st, "last_response"),
															"status")), 2);
		/* a DER that never reported: nulls, not zeros */
		st = json_object_get(find_der(j, "D3"), "state");
		ck_assert(json_is_null(json_object_get(st, "soc_percent")));
		ck_assert(json_is_null(json_object_get(st, "power_w")));
		ck_assert(json_is_null(json_object_get(st, "last_seen")));
		ck_assert(json_is_null(json_object_get(st, "last_response")));
		json_decref(j);

		/* filters and paging */
		j = get_ok(a, pth("/fleet/v1/resources?aggregation=%ld", a1));
		ck_assert_str_eq(ids_of(j), pth("%ld", d1));
		json_decref(j);
		j = get_ok(a, "/fleet/v1/resources?type=pv");
		ck_assert_str_eq(ids_of(j), pth("%ld,%ld", d2, d3));
		json_decref(j);
		j = get_ok(a, "/fleet/v1/resources?feeder=F2");
		ck_assert_str_eq(ids_of(j), pth("%ld", d3));
		json_decref(j);
		j = get_ok(a, "/fleet/v1/resources?limit=2");
		ck_assert_str_eq(ids_of(j), pth("%ld,%ld", d1, d2));
		v = strdup(json_string_value(json_object_get(j, "next_cursor")));
		json_decref(j);
		j = get_ok(a, pth("/fleet/v1/resources?limit=2&cursor=%s", v));
		ck_assert_str_eq(ids_of(j), pth("%ld,%ld", d3, d4));
		ck_assert(json_is_null(json_object_get(j, "next_cursor")));
		json_decref(j);
		free(v);
		j = get_ok(a, "/fleet/v1/resources?offset=3");
		ck_assert_str_eq(ids_of(j), pth("%ld", d4));
		json_decref(j);
		j = get_ok(a, pth("/fleet/v1/resources/%ld", d1));
		ck_assert_int_eq(json_integer_value(json_object_get(j, "id")), d1);
		json_decref(j);
	}

	/* telemetry, worked out by hand (see device_reports) */
	j = series(&agg1_cert, d1, "from=2026-03-01T00:00:00Z&to=2026-03-01T00:45:00Z"
			   "&resolution=PT15M&quantity=power");
	ck_assert_str_eq(json_string_value(json_object_get(j, "unit")), "W");
	ck_assert_int_eq(json_array_size(json_object_get(j, "points")), 3);
	expect_point(j, 0, "2026-03-01T00:00:00Z", 2000.0, 3);	/* (1000+2000+3000)/3 */
	expect_point(j, 1, "2026-03-01T00:15:00Z", NAN, 0);		/* a gap */
	expect_point(j, 2, "2026-03-01T00:30:00Z", 1000.0, 2);	/* (500+1500)/2 */
	json_decref(j);
	j = series(&agg1_tok, d1, "from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z"
			   "&resolution=PT1H");	/* power by default */
	expect_point(j, 0, "2026-03-01T00:00:00Z", 1600.0, 5);	/* 8000/5 */
	json_decref(j);
	/* buckets start at "from", which need not be aligned */
	j = series(&agg1_cert, d1, "from=2026-03-01T00:05:00Z&to=2026-03-01T00:35:00Z"
			   "&resolution=PT15M&quantity=power");
	expect_point(j, 0, "2026-03-01T00:05:00Z", 2500.0, 2);	/* 2000, 3000 */
	expect_point(j, 1, "2026-03-01T00:20:00Z", 500.0, 1);
	json_decref(j);
	/* an offset zone; its + encoded */
	j = series(&agg1_cert, d1, "from=2026-03-01T01:00:00%2B01:00&to=2026-03-01T00:10:00Z"
			   "&resolution=PT5M");
	expect_point(j, 0, "2026-03-01T00:00:00Z", 1000.0, 1);
	expect_point(j, 1, "2026-03-01T00:05:00Z", 2000.0, 1);
	json_decref(j);
	/* energy: sums, scaled by 10^-1; a zero reading is 0, a gap null */
	j = series(&agg1_tok, d1, "from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z"
			   "&resolution=PT15M&quantity=energy");
	ck_assert_str_eq(json_string_value(json_object_get(j, "unit")), "Wh");
	ck_assert_int_eq(json_array_size(json_object_get(j, "points")), 4);
	expect_point(j, 0, "2026-03-01T00:00:00Z", 30.0, 2);	/* 10 + 20 */
	expect_point(j, 1, "2026-03-01T00:15:00Z", 5.0, 1);
	expect_point(j, 2, "2026-03-01T00:30:00Z", 0.0, 1);
	expect_point(j, 3, "2026-03-01T00:45:00Z", NAN, 0);
	json_decref(j);
	/* SoC: means of DERStatus, percent */
	j = series(&agg1_cert, d1, "from=2026-03-01T00:00:00Z&to=2026-03-01T00:45:00Z"
			   "&resolution=PT15M&quantity=soc");
	ck_assert_str_eq(json_string_value(json_object_get(j, "unit")), "%");
	expect_point(j, 0, "2026-03-01T00:00:00Z", 55.0, 2);
	expect_point(j, 1, "2026-03-01T00:15:00Z", NAN, 0);
	expect_point(j, 2, "2026-03-01T00:30:00Z", 70.0, 1);
	json_decref(j);
	/* a day: one bucket; the last bucket of a range may be short */
	j = series(&agg1_cert, d1, "from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z"
			   "&resolution=P1D&quantity=energy");
	ck_assert_int_eq(json_array_size(json_object_get(j, "points")), 1);
	expect_point(j, 0, "2026-03-01T00:00:00Z", 35.0, 4);
	json_decref(j);
	j = series(&agg1_cert, d1, "from=2026-03-01T00:00:00Z&to=2026-03-01T00:25:00Z"
			   "&resolution=PT15M&quantity=energy");
	ck_assert_int_eq(json_array_size(json_object_get(j, "points")), 2);
	expect_point(j, 1, "2026-03-01T00:15:00Z", 5.0, 1);
	json_decref(j);

	/* tenant isolation: agg2 sees D5 only; D1 is not there for it */
	j = get_ok(&agg2_tok, "/fleet/v1/resources");
	ck_assert_str_eq(ids_of(j), pth("%ld", d5));
	ck_assert_int_eq(json_integer_value(json_object_get(
		json_array_get(json_object_get(json_array_get(json_object_get(j, "resources"), 0),
									   "aggregations"), 0), "id")), b1);
	json_decref(j);
	j = get_ok(&agg2_tok, pth("/fleet/v1/resources?aggregation=%ld", a1));
	ck_assert_int_eq(json_array_size(json_object_get(j, "resources")), 0);
	json_decref(j);
	j = get_ok(&agg2_tok, "/fleet/v1/enrollment-requests");
	ck_assert_int_eq(json_array_size(json_object_get(j, "requests")), 2);
	json_decref(j);
	j = get_ok(&agg2_tok, "/fleet/v1/sites");
	ck_assert_int_eq(json_array_size(json_object_get(j, "sites")), 1);
	json_decref(j);
	json_decref(call(true, &agg2_tok, "GET", pth("/fleet/v1/resources/%ld", d1), NULL, 404));
	json_decref(call(true, &agg2_tok, "GET", pth("/fleet/v1/enrollment-requests/%ld", req2),
					 NULL, 404));
	json_decref(call(true, &agg2_tok, "GET",
					 pth("/fleet/v1/resources/%ld/telemetry?from=2026-03-01T00:00:00Z"
						 "&to=2026-03-01T01:00:00Z", d1), NULL, 404));
	expect_404(&agg2_cert, pth("/fleet/v1/resources/%ld", d1));
	expect_404(&agg2_cert, pth("/fleet/v1/resources/%ld/telemetry?from=2026-03-01T00:00:00Z"
							   "&to=2026-03-01T01:00:00Z", d1));
	expect_404(&agg1_cert, pth("/fleet/v1/resources/%ld", d5));
	expect_404(&agg1_tok, pth("/fleet/v1/resources/%ld", d5));
	expect_404(&agg1_cert, "/fleet/v1/resources/999999");
	j = call(false, &agg2_cert, "GET", "/fleet/v1/resources", NULL, 200);
	ck_assert_str_eq(ids_of(j), pth("%ld", d5));
	json_decref(j);

	/* the operator sees everyone's */
	j = get_ok(&op_tok, "/fleet/v1/resources?limit=500");
	ck_assert_str_eq(ids_of(j), pth("%ld,%ld,%ld,%ld,%ld", d1, d2, d3, d4, d5));
	json_decref(j);
	json_decref(get_ok(&op_tok, pth("/fleet/v1/resources/%ld/telemetry?from=2026-03-01T00:00:00Z"
									"&to=2026-03-01T01:00:00Z&quantity=soc", d1)));

	/* the approved enrollment ends: through Prism, as agg1's token */
	json_decref(call(true, &agg1_tok, "POST", pth("/fleet/v1/enrollment-requests/%ld/remove", req2),
					 "{\"effective_to\":\"2099-01-01T00:00:00Z\"}", 200));
	/* an approve by an aggregator does not exist for it */
	json_decref(call(false, &agg1_cert, "POST",
					 pth("/fleet/v1/enrollment-requests/%ld/approve", req1), "{}", 404));
	down();
}
END_TEST

/* Bad parameters: 400 Problem JSON naming the parameter, straight to dermsd. */
START_TEST(test_bad_parameters)
{
	static const char *const cases[][2] = {	/* "?..." is a telemetry query of D1 */
		{"/fleet/v1/resources?limit=0", "limit"},
		{"/fleet/v1/resources?limit=501", "limit"},
		{"/fleet/v1/resources?limit=ten", "limit"},
		{"/fleet/v1/resources?offset=-1", "offset"},
		{"/fleet/v1/resources?cursor=abc", "cursor"},
		{"/fleet/v1/resources?cursor=2&offset=1", "cursor"},
		{"/fleet/v1/resources?aggregation=x", "aggregation"},
		{"/fleet/v1/resources?type=nuclear", "type"},
		{"/fleet/v1/resources?feeder=", "feeder"},
		{"?to=2026-03-01T01:00:00Z", "from"},
		{"?from=2026-03-01T00:00:00Z", "to"},
		{"?from=yesterday&to=2026-03-01T01:00:00Z", "from"},
		{"?from=2026-03-01T00:00:00&to=2026-03-01T01:00:00Z", "from"},
		{"?from=2026-03-01T00:00:00Z&to=2026-02-30T01:00:00Z", "to"},
		{"?from=2026-03-01T01:00:00Z&to=2026-03-01T01:00:00Z", "to"},
		{"?from=2026-03-01T00:00:00Z&to=2027-03-03T00:00:00Z"
		 "&resolution=P1D", "to"},
		{"?from=2026-03-01T00:00:00Z&to=2026-03-08T00:05:00Z"
		 "&resolution=PT5M", "resolution"},
		{"?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z"
		 "&resolution=PT10M", "resolution"},
		{"?from=2026-03-01T00:00:00Z&to=2026-03-01T01:00:00Z"
		 "&quantity=voltage", "quantity"},
	};
	long		d1;

	if (!up(false))
		return;
	d1 = db_long("SELECT id FROM der_resources WHERE external_id = 'D1'");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const char *path = cases[i][0][0] == '?' ?
			pth("/fleet/v1/resources/%ld/telemetry%s", d1, cases[i][0]) : cases[i][0];

		expect_400(&agg1_cert, path, cases[i][1]);
		expect_400(&agg1_tok, path, cases[i][1]);
	}
	/* the bounds themselves are allowed: 7 days at PT5M, 366 at P1D */
	json_decref(call(false, &agg1_cert, "GET",
					 pth("/fleet/v1/resources/%ld/telemetry?from=2026-03-01T00:00:00Z"
						 "&to=2026-03-08T00:00:00Z&resolution=PT5M", d1), NULL, 200));
	json_decref(call(false, &agg1_tok, "GET",
					 pth("/fleet/v1/resources/%ld/telemetry?from=2026-03-01T00:00:00Z"
						 "&to=2027-03-02T00:00:00Z&resolution=P1D", d1), NULL, 200));
	json_decref(call(false, &agg1_tok, "GET", "/fleet/v1/resources?limit=500", NULL, 200));
	/* not a resource id at all; no body on a GET; a bad token */
	expect_404(&agg1_cert, "/fleet/v1/resources/abc");
	expect_404(&agg1_cert, "/fleet/v1/resources/0/telemetry?from=2026-03-01T00:00:00Z"
			   "&to=2026-03-01T01:00:00Z");
	{
		actor		bad = {"a forged token", NULL, (char *) "not.a.token"};

		json_decref(call(false, &bad, "GET", "/fleet/v1/resources", NULL, 401));
	}
	down();
}
END_TEST

Suite *
aggapi_suite(void)
{
	Suite	   *s = suite_create("aggapi");
	TCase	   *tc = tcase_create("aggapi");

	tcase_add_test(tc, test_fleet_api_through_prism);
	tcase_add_test(tc, test_bad_parameters);
	tcase_set_timeout(tc, 180);
	suite_add_tcase(s, tc);
	return s;
}
