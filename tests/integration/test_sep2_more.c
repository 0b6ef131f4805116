/*
 * tests/integration/test_sep2_more.c
 *	  IEEE 2030.5 end to end over mutual TLS: UsagePoint readback of mirror
 *	  telemetry (protocols/sep2/upt.c), DERCurves and curve-based controls
 *	  (curve.c), CSIP-AUS envelopes and DER extensions, tenant-scoped
 *	  programs following enrollments, SelfDevice (sdev.c), and dermsctl der
 *	  (ctl.c).
 *
 * NOTES
 *	  Each test starts its own dermsd (harness.c).  Every 200 document is
 *	  validated with xmllint against sep.xsd, or against
 *	  csipaus-core-v1.3.xsd (which redefines sep.xsd) when it carries
 *	  CSIP-AUS elements; a missing schema prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "server/identity.h"
#include "server/pki.h"
#include "tests/suites.h"

#define SEP2_CT "application/sep+xml"
#define NS "xmlns=\"urn:ieee:std:2030.5:ns\""
#define AUS "xmlns:csipaus=\"https://csipaus.org/ns/v1.3\""
#define SEP_XSD "sep.xsd"
#define AUS_XSD "csipaus-core-v1.3.xsd"

static it_server srv;

static bool
up(void)
{
	return it_up(&srv, "[vtn]\nca_file = pki/trust.pem\n", "sep2_more");
}

/* Validate doc against DERMS_SPEC_DIR/sep2/xsd with xmllint; SKIP if absent. */
static void
check_schema(const char *doc, size_t len, const char *xsd_name)
{
	char		xsd[1024], file[1024];
	struct stat st;
	FILE	   *f;

	snprintf(xsd, sizeof(xsd), "%s/sep2/%s", test_spec_dir(), xsd_name);
	if (stat(xsd, &st) != 0)
	{
		test_skip(xsd_name, "spec file not found (set DERMS_SPEC_DIR)");
		return;
	}
	snprintf(file, sizeof(file), "%s/doc.xml", srv.dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(doc, 1, len, f);
	fclose(f);
	ck_assert_msg(it_run("xmllint --noout --nonet --schema '%s' '%s' >/dev/null 2>&1",
						 xsd, file) == 0,
				  "document not valid against %s: %.*s", xsd_name, (int) len, doc);
}

/* GET path as cert; the status must be want; a 200 body is validated
 * against xsd (NULL: not validated) and returned (malloc'd) if body. */
static void
get_ok(const char *cert, const char *path, long want, const char *xsd, char **body)
{
	it_response r = it_https(&srv, srv.sep2_port, "GET", path, cert, IT_TLS_CSIP, NULL, NULL);

	ck_assert_msg(r.status == want, "GET %s as %s: %ld, expected %ld: %s", path, cert,
				  r.status, want, r.body);
	if (r.status == 200 && xsd)
		check_schema(r.body, r.len, xsd);
	if (body)
		*body = strdup(r.body ? r.body : "");
	it_response_free(&r);
}

static long
send_xml(const char *method, const char *cert, const char *path, const char *body,
		 char *loc, size_t loclen)
{
	it_response r = it_https(&srv, srv.sep2_port, method, path, cert, IT_TLS_CSIP,
							 SEP2_CT, body);
	long		st = r.status;
	const char *l = strstr(r.headers, "Location: ");

	if (loc)
	{
		loc[0] = '\0';
		if (l)
			snprintf(loc, loclen, "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	}
	if (st >= 400)
		fprintf(stderr, "%s %s: %ld %s\n", method, path, st, r.body);
	it_response_free(&r);
	return st;
}

/* POST JSON to the operator API; the status, "id" into *id. */
static long
api_post(const char *path, const char *body, long *id, char **answer)
{
	it_response r = it_https(&srv, srv.vtn_port, "POST", path, "operator-demo", IT_TLS_DEFAULT,
							 body ? "application/json" : NULL, body);
	long		st = r.status;
	const char *p;

	if (id && (p = strstr(r.body, "\"id\":")) != NULL)
		*id = strtol(p + 5, NULL, 10);
	if (answer)
		*answer = strdup(r.body ? r.body : "");
	it_response_free(&r);
	return st;
}

static char *
sql_value(const char *query)
{
	return it_sql_value(&srv, query);
}

/* Run a dermsctl command; its exit status, stdout into out. */
static int
ctl(char *out, size_t outlen, const char *args)
{
	char		cmd[4096];
	FILE	   *p;
	size_t		n;
	int			st;

	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s %s 2>&1", test_build_dir(), srv.conf, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, outlen - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
register_self(const char *cert, const derms_identity *id, char *loc, size_t loclen)
{
	char		body[512];

	snprintf(body, sizeof(body), "<EndDevice " NS "><lFDI>%s</lFDI><sFDI>%llu</sFDI>"
			 "<changedTime>0</changedTime></EndDevice>", id->lfdi, (unsigned long long) id->sfdi);
	ck_assert_int_eq(send_xml("POST", cert, "/edev", body, loc, loclen), 201);
}

static void
demo_identity(derms_identity *me)
{
	char		path[1024];
	derms_err	err;

	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, me, &err), DERMS_OK);
}

/* ---- UsagePoint readback ---- */

/* A MirrorUsagePoint with one MirrorMeterReading of n readings of step s. */
static char *
mup_xml(const char *lfdi, long long start, int n, int step)
{
	size_t		cap = 2048 + (size_t) n * 200;
	char	   *x = malloc(cap);
	size_t		len;

	ck_assert_ptr_nonnull(x);
	len = (size_t) snprintf(x, cap, "<MirrorUsagePoint " NS "><mRID>0600006CC8</mRID>"
							"<description>PCC</description><roleFlags>03</roleFlags>"
							"<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
							"<deviceLFDI>%s</deviceLFDI><MirrorMeterReading><mRID>0A01</mRID>"
							"<description>site power</description><MirrorReadingSet><mRID>0A0101</mRID>"
							"<timePeriod><duration>%d</duration><start>%lld</start></timePeriod>",
							lfdi, n * step, start);
	for (int i = 0; i < n; i++)
		len += (size_t) snprintf(x + len, cap - len,
								 "<Reading><qualityFlags>0001</qualityFlags><timePeriod><duration>%d"
								 "</duration><start>%lld</start></timePeriod><value>%d</value></Reading>",
								 step, start + (long long) i * step, 100 + i);
	snprintf(x + len, cap - len,
			 "</MirrorReadingSet><ReadingType><accumulationBehaviour>12</accumulationBehaviour>"
			 "<commodity>1</commodity><flowDirection>1</flowDirection><intervalLength>%d"
			 "</intervalLength><kind>37</kind><powerOfTenMultiplier>0</powerOfTenMultiplier>"
			 "<uom>38</uom></ReadingType></MirrorMeterReading></MirrorUsagePoint>", step);
	return x;
}

START_TEST(test_usage_points)
{
	derms_identity me;
	pki_issued	other;
	derms_err	err;
	/* 2026-07-01 23:00 UTC: four hourly readings over two UTC days */
	const long long t0 = 1782946800;
	const long long day0 = t0 / 86400;
	char		mup[128], upt[160], path[512];
	char	   *x, *body, *mr;

	if (!up())
		return;
	demo_identity(&me);
	ck_assert_int_eq(pki_issue(srv.pki, "other-u", PKI_DEVICE, &other, &err), DERMS_OK);

	/* discovery links the UsagePointList */
	get_ok("device-demo", "/dcap", 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<UsagePointListLink href=\"/upt\"/>"));
	free(body);
	get_ok("device-demo", "/upt", 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"0\""));
	ck_assert_ptr_nonnull(strstr(body, "pollRate="));
	free(body);

	x = mup_xml(me.lfdi, t0, 4, 3600);
	ck_assert_int_eq(send_xml("POST", "device-demo", "/mup", x, mup, sizeof(mup)), 201);
	free(x);
	snprintf(upt, sizeof(upt), "/upt/%s", mup + strlen("/mup/"));

	get_ok("device-demo", "/upt?l=10", 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"1\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(body, upt));
	free(body);
	get_ok("device-demo", upt, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<mRID>0600006CC8</mRID>"));
	ck_assert_ptr_nonnull(strstr(body, me.lfdi));
	ck_assert_ptr_nonnull(strstr(body, "MeterReadingListLink"));
	free(body);

	snprintf(path, sizeof(path), "%s/mr?l=10", upt);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"1\" results=\"1\""));
	{
		const char *h = strstr(body, "<MeterReading href=\"");

		ck_assert_ptr_nonnull(h);
		h += strlen("<MeterReading href=\"");
		mr = strndup(h, strcspn(h, "\""));
	}
	free(body);
	get_ok("device-demo", mr, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<mRID>0A01</mRID>"));
	ck_assert_ptr_nonnull(strstr(body, "ReadingTypeLink"));
	ck_assert_ptr_nonnull(strstr(body, "ReadingSetListLink"));
	free(body);
	snprintf(path, sizeof(path), "%s/rt", mr);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<uom>38</uom>"));
	ck_assert_ptr_nonnull(strstr(body, "<intervalLength>3600</intervalLength>"));
	free(body);
	/* the latest reading */
	snprintf(path, sizeof(path), "%s/r", mr);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<value>103</value>"));
	free(body);

	/* one ReadingSet per UTC day, newest first; a filters */
	snprintf(path, sizeof(path), "%s/rs?l=10", mr);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"2\" results=\"2\""));
	{
		char		d0[64], d1[64];

		snprintf(d0, sizeof(d0), "/rs/%lld\"", day0);
		snprintf(d1, sizeof(d1), "/rs/%lld\"", day0 + 1);
		ck_assert_ptr_nonnull(strstr(body, d0));
		ck_assert_ptr_nonnull(strstr(body, d1));
		ck_assert(strstr(body, d1) < strstr(body, d0));
	}
	free(body);
	snprintf(path, sizeof(path), "%s/rs?l=10&a=%lld", mr, (day0 + 1) * 86400);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"1\" results=\"1\""));
	free(body);
	snprintf(path, sizeof(path), "%s/rs/%lld", mr, day0);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<duration>86400</duration>"));
	free(body);
	snprintf(path, sizeof(path), "%s/rs/%lld", mr, day0 - 5);
	get_ok("device-demo", path, 404, NULL, NULL);
	/* day0 holds the 23:00 reading, day0 + 1 the other three */
	snprintf(path, sizeof(path), "%s/rs/%lld/r?l=10", mr, day0 + 1);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"3\" results=\"3\""));
	ck_assert(strstr(body, "<value>101</value>") < strstr(body, "<value>103</value>"));
	ck_assert_ptr_nonnull(strstr(body, "<qualityFlags>0001</qualityFlags>"));
	free(body);
	snprintf(path, sizeof(path), "%s/rs/%lld/r?l=10&a=%lld", mr, day0 + 1, t0 + 2 * 3600);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"2\" results=\"2\""));
	ck_assert_ptr_null(strstr(body, "<value>101</value>"));
	free(body);
	snprintf(path, sizeof(path), "%s/rs/%lld/r?s=1&l=1", mr, day0 + 1);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"3\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(body, "<value>102</value>"));
	free(body);
	snprintf(path, sizeof(path), "%s/rs/%lld/r/%lld", mr, day0, t0);
	get_ok("device-demo", path, 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "<value>100</value>"));
	free(body);
	/* a reading under the wrong day's set does not exist */
	snprintf(path, sizeof(path), "%s/rs/%lld/r/%lld", mr, day0 + 1, t0);
	get_ok("device-demo", path, 404, NULL, NULL);
	snprintf(path, sizeof(path), "%s/rs?a=x", mr);
	get_ok("device-demo", path, 400, NULL, NULL);

	/* visibility is the mirror's */
	get_ok("other-u", upt, 404, NULL, NULL);
	get_ok("other-u", mr, 404, NULL, NULL);
	get_ok("other-u", "/upt?l=10", 200, SEP_XSD, &body);
	ck_assert_ptr_nonnull(strstr(body, "all=\"0\""));
	free(body);
	get_ok("aggregator-demo", upt, 404, NULL, NULL);
	get_ok("operator-demo", upt, 200, SEP_XSD, NULL);
	snprintf(path, sizeof(path), "%s/rs/%lld/r/%lld", mr, day0, t0);
	get_ok("operator-demo", path, 200, SEP_XSD, NULL);
	get_ok("device-demo", "/upt/999999", 404, NULL, NULL);
	snprintf(path, sizeof(path), "%s/mr/999999", upt);
	get_ok("device-demo", path, 404, NULL, NULL);
	free(mr);
}
END_TEST

/* ---- curves, curve-based and CSIP-AUS controls, tenant scope ---- */

static const char volt_var[] =
"{\"curveType\":\"opModVoltVar\",\"description\":\"vv\",\"xMultiplier\":-2,\"yMultiplier\":0,"
"\"yRefType\":2,\"rampIncTms\":500,\"vRef\":10000,\"autonomousVRefEnable\":false,"
"\"points\":[{\"x\":9200,\"y\":3000},{\"x\":9670,\"y\":0},{\"x\":10300,\"y\":0},"
"{\"x\":10700,\"y\":-3000}]}";

START_TEST(test_curves_and_envelopes)
{
	static const char *const bad_curves[] = {
		/* no points, eleven points, x not increasing, wrong yRefType,
		 * excitation off a Watt-PF curve, multiplier out of range, unknown
		 * field, unknown type */
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,\"points\":[]}",
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,\"points\":["
		"{\"x\":1,\"y\":0},{\"x\":2,\"y\":0},{\"x\":3,\"y\":0},{\"x\":4,\"y\":0},{\"x\":5,\"y\":0},"
		"{\"x\":6,\"y\":0},{\"x\":7,\"y\":0},{\"x\":8,\"y\":0},{\"x\":9,\"y\":0},{\"x\":10,\"y\":0},"
		"{\"x\":11,\"y\":0}]}",
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,\"points\":["
		"{\"x\":5,\"y\":0},{\"x\":5,\"y\":1}]}",
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":1,\"points\":["
		"{\"x\":5,\"y\":0}]}",
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,\"points\":["
		"{\"x\":5,\"y\":0,\"excitation\":true}]}",
		"{\"curveType\":11,\"xMultiplier\":10,\"yMultiplier\":0,\"yRefType\":2,\"points\":["
		"{\"x\":5,\"y\":0}]}",
		"{\"curveType\":11,\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,\"colour\":1,"
		"\"points\":[{\"x\":5,\"y\":0}]}",
		"{\"curveType\":\"opModWarp\",\"xMultiplier\":0,\"yMultiplier\":0,\"yRefType\":2,"
		"\"points\":[{\"x\":5,\"y\":0}]}",
	};
	derms_identity me;
	char		loc[128], path[512], body[2048], q[512];
	long		prog, prog2, vv, vw, other_vv, ctl_vv, ctl_doe, tprog;
	long long	now = (long long) time(NULL);
	char	   *x, *doc, *answer;

	if (!up())
		return;
	demo_identity(&me);
	register_self("device-demo", &me, loc, sizeof(loc));

	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":10,\"scope\":{\"kind\":\"all\"}}", &prog, NULL), 201);
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":20,\"scope\":{\"kind\":\"all\"}}", &prog2, NULL), 201);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/curves", prog);
	ck_assert_int_eq(api_post(path, volt_var, &vv, NULL), 201);
	ck_assert_int_eq(api_post(path, "{\"curveType\":\"opModVoltWatt\",\"xMultiplier\":0,"
							  "\"yMultiplier\":0,\"yRefType\":1,\"points\":[{\"x\":106,\"y\":100},"
							  "{\"x\":110,\"y\":0}]}", &vw, NULL), 201);
	ck_assert_int_eq(api_post("/api/v1/der-programs/424242/curves", volt_var, NULL, NULL), 404);
	for (size_t i = 0; i < sizeof(bad_curves) / sizeof(bad_curves[0]); i++)
	{
		long		st = api_post(path, bad_curves[i], NULL, &answer);

		ck_assert_msg(st == 400, "bad curve %zu: %ld %s", i, st, answer);
		free(answer);
	}
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/curves", prog2);
	ck_assert_int_eq(api_post(path, volt_var, &other_vv, NULL), 201);

	/* the program links its curves; list and curve are valid */
	snprintf(path, sizeof(path), "%s/derp/%ld", loc, prog);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "DERCurveListLink"));
	free(doc);
	snprintf(path, sizeof(path), "%s/derp/%ld/dc?l=10", loc, prog);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "all=\"2\" results=\"2\""));
	free(doc);
	snprintf(path, sizeof(path), "%s/derp/%ld/dc/%ld", loc, prog, vv);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<curveType>11</curveType>"));
	ck_assert_ptr_nonnull(strstr(doc, "<xvalue>9200</xvalue><yvalue>3000</yvalue>"));
	ck_assert_ptr_nonnull(strstr(doc, "<rampIncTms>500</rampIncTms>"));
	ck_assert_ptr_nonnull(strstr(doc, "<vRef>10000</vRef>"));
	free(doc);
	/* another program's curve is not under this one */
	snprintf(path, sizeof(path), "%s/derp/%ld/dc/%ld", loc, prog, other_vv);
	get_ok("device-demo", path, 404, NULL, NULL);

	/* a volt-var control names the curve; wrong type or program: 400 */
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,\"base\":{\"opModVoltVar\":%ld,"
			 "\"opModConnect\":true}}", now - 60, vv);
	ck_assert_int_eq(api_post(path, body, &ctl_vv, NULL), 201);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":60,\"base\":{\"opModVoltVar\":%ld}}",
			 now + 86400, vw);
	ck_assert_int_eq(api_post(path, body, NULL, &answer), 400);
	ck_assert_ptr_nonnull(strstr(answer, "type"));
	free(answer);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":60,\"base\":{\"opModVoltVar\":%ld}}",
			 now + 86400, other_vv);
	ck_assert_int_eq(api_post(path, body, NULL, NULL), 400);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":60,\"base\":{\"opModVoltVar\":0}}",
			 now + 86400);
	ck_assert_int_eq(api_post(path, body, NULL, NULL), 400);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc/%ld", loc, prog, ctl_vv);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	snprintf(q, sizeof(q), "<opModVoltVar href=\"%s/derp/%ld/dc/%ld\"/>", loc, prog, vv);
	ck_assert_msg(strstr(doc, q) != NULL, "no curve link %s in %s", q, doc);
	free(doc);

	/* CSIP-AUS envelopes: set by the operator, served in their namespace */
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog2);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":1800,\"base\":{"
			 "\"opModExpLimW\":{\"multiplier\":3,\"value\":5},"
			 "\"csipaus:opModImpLimW\":{\"multiplier\":3,\"value\":10},"
			 "\"opModGenLimW\":{\"multiplier\":0,\"value\":4000},"
			 "\"opModLoadLimW\":{\"multiplier\":0,\"value\":7000},\"rampTms\":100}}", now - 30);
	ck_assert_int_eq(api_post(path, body, &ctl_doe, NULL), 201);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":60,\"base\":{"
			 "\"opModExpLimW\":{\"multiplier\":3}}}", now);
	ck_assert_int_eq(api_post(path, body, NULL, NULL), 400);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc/%ld", loc, prog2, ctl_doe);
	get_ok("device-demo", path, 200, AUS_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<csipaus:opModExpLimW " AUS "><multiplier>3</multiplier>"
								 "<value>5</value></csipaus:opModExpLimW>"));
	ck_assert_ptr_nonnull(strstr(doc, "<csipaus:opModLoadLimW"));
	/* after rampTms, as the CSIP-AUS schema extends DERControlBase */
	ck_assert(strstr(doc, "<rampTms>") < strstr(doc, "<csipaus:opModImpLimW"));
	free(doc);
	snprintf(path, sizeof(path), "%s/derp/%ld/actderc", loc, prog2);
	get_ok("device-demo", path, 200, AUS_XSD, NULL);

	/* a tenant's program reaches the devices enrolled in its aggregations */
	{
		char	   *tenant = sql_value("SELECT id FROM tenants WHERE name = 'agg1'");

		snprintf(body, sizeof(body), "{\"primacy\":5,\"scope\":{\"kind\":\"tenant\",\"id\":%s}}",
				 tenant);
		ck_assert_int_eq(api_post("/api/v1/der-programs", body, &tprog, NULL), 201);
		snprintf(path, sizeof(path), "%s/derp/%ld", loc, tprog);
		get_ok("device-demo", path, 404, NULL, NULL);	/* self-registered, not enrolled */
		snprintf(q, sizeof(q), "WITH g AS (INSERT INTO aggregations (tenant_id, name)"
				 " VALUES (%s, 'T1') RETURNING id), d AS (INSERT INTO der_resources (kind, lfdi)"
				 " VALUES ('battery', '%s') RETURNING id) INSERT INTO aggregation_members"
				 " (aggregation_id, der_id, effective_from) SELECT g.id, d.id, now() - interval"
				 " '1 minute' FROM g, d RETURNING der_id", tenant, me.lfdi);
		x = sql_value(q);
		ck_assert_msg(strlen(x) > 0, "could not enroll the device");
		free(x);
		get_ok("device-demo", path, 200, SEP_XSD, NULL);
		snprintf(path, sizeof(path), "%s/derp?l=10", loc);
		get_ok("device-demo", path, 200, SEP_XSD, &doc);
		ck_assert_ptr_nonnull(strstr(doc, "all=\"3\""));
		free(doc);
		/* the enrollment ends: the program is gone again */
		snprintf(q, sizeof(q), "UPDATE aggregation_members SET effective_to = now()"
				 " WHERE der_id = (SELECT id FROM der_resources WHERE lfdi = '%s') RETURNING 1",
				 me.lfdi);
		free(sql_value(q));
		snprintf(path, sizeof(path), "%s/derp/%ld", loc, tprog);
		get_ok("device-demo", path, 404, NULL, NULL);
		free(tenant);
	}
	x = sql_value("SELECT count(*) FROM audit_log WHERE action = 'der_curve.create'");
	ck_assert_str_eq(x, "3");
	free(x);
}
END_TEST

/* ---- CSIP-AUS DER extensions ---- */

START_TEST(test_csipaus_der_reports)
{
	derms_identity me;
	char		loc[128], path[512], q[256];
	char	   *der, *doc;

	if (!up())
		return;
	demo_identity(&me);
	register_self("device-demo", &me, loc, sizeof(loc));
	snprintf(q, sizeof(q), "INSERT INTO der_resources (kind, lfdi) VALUES ('pv', '%s') RETURNING id",
			 me.lfdi);
	der = sql_value(q);

	snprintf(path, sizeof(path), "%s/der/%s/dercap", loc, der);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERCapability " NS " " AUS "><modesSupported>01</modesSupported>"
							  "<rtgMaxW><multiplier>0</multiplier><value>5000</value></rtgMaxW>"
							  "<type>4</type><csipaus:doeModesSupported>0f</csipaus:doeModesSupported>"
							  "</DERCapability>", NULL, 0), 204);
	get_ok("device-demo", path, 200, AUS_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<csipaus:doeModesSupported>0F</csipaus:doeModesSupported>"));
	free(doc);
	snprintf(path, sizeof(path), "%s/der/%s/derg", loc, der);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS " " AUS "><setGradW>10</setGradW><setMaxW>"
							  "<multiplier>0</multiplier><value>5000</value></setMaxW><updatedTime>1"
							  "</updatedTime><csipaus:doeModesEnabled>03</csipaus:doeModesEnabled>"
							  "<csipaus:setMinWh><multiplier>0</multiplier><value>500</value>"
							  "</csipaus:setMinWh></DERSettings>", NULL, 0), 204);
	get_ok("device-demo", path, 200, AUS_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<csipaus:doeModesEnabled>03</csipaus:doeModesEnabled>"));
	ck_assert_ptr_nonnull(strstr(doc, "<csipaus:setMinWh " AUS "><multiplier>0</multiplier>"));
	free(doc);
	/* refused: out of order, unknown extension, not hex, too long */
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS " " AUS "><csipaus:doeModesEnabled>03"
							  "</csipaus:doeModesEnabled><setGradW>10</setGradW><setMaxW><multiplier>0"
							  "</multiplier><value>1</value></setMaxW><updatedTime>1</updatedTime>"
							  "</DERSettings>", NULL, 0), 400);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS " " AUS "><setGradW>10</setGradW><setMaxW><multiplier>0"
							  "</multiplier><value>1</value></setMaxW><updatedTime>1</updatedTime>"
							  "<csipaus:warpModes>03</csipaus:warpModes></DERSettings>", NULL, 0), 400);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS " " AUS "><setGradW>10</setGradW><setMaxW><multiplier>0"
							  "</multiplier><value>1</value></setMaxW><updatedTime>1</updatedTime>"
							  "<csipaus:doeModesEnabled>zz</csipaus:doeModesEnabled></DERSettings>",
							  NULL, 0), 400);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS " " AUS "><setGradW>10</setGradW><setMaxW><multiplier>0"
							  "</multiplier><value>1</value></setMaxW><updatedTime>1</updatedTime>"
							  "<csipaus:doeModesEnabled>0303</csipaus:doeModesEnabled></DERSettings>",
							  NULL, 0), 400);
	/* a document without extensions stays plain 2030.5 */
	ck_assert_int_eq(send_xml("PUT", "device-demo", path,
							  "<DERSettings " NS "><setGradW>10</setGradW><setMaxW><multiplier>0"
							  "</multiplier><value>1</value></setMaxW><updatedTime>2</updatedTime>"
							  "</DERSettings>", NULL, 0), 204);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_null(strstr(doc, "csipaus"));
	free(doc);
	free(der);
}
END_TEST

/* ---- SelfDevice, pollRate ---- */

START_TEST(test_self_device)
{
	derms_identity self, me;
	derms_err	err;
	char		path[1024], want[128], loc[128];
	char	   *doc;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/sep2-server.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &self, &err), DERMS_OK);
	get_ok("device-demo", "/dcap", 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<SelfDeviceLink href=\"/sdev\"/>"));
	free(doc);
	get_ok("device-demo", "/sdev", 200, SEP_XSD, &doc);
	snprintf(want, sizeof(want), "<lFDI>%s</lFDI>", self.lfdi);
	ck_assert_ptr_nonnull(strstr(doc, want));
	snprintf(want, sizeof(want), "<sFDI>%llu</sFDI>", (unsigned long long) self.sfdi);
	ck_assert_ptr_nonnull(strstr(doc, want));
	ck_assert_ptr_nonnull(strstr(doc, "pollRate="));
	free(doc);
	get_ok("aggregator-demo", "/sdev/di", 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "<mfModel>dermsd</mfModel>"));
	free(doc);

	/* pollRate on the Registration and the self-reports too */
	demo_identity(&me);
	register_self("device-demo", &me, loc, sizeof(loc));
	snprintf(path, sizeof(path), "UPDATE end_devices SET registration_pin = 111115"
			 " WHERE lfdi = '%s' RETURNING id", me.lfdi);
	free(sql_value(path));
	snprintf(path, sizeof(path), "%s/rg", loc);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "pollRate="));
	free(doc);
	snprintf(path, sizeof(path), "%s/dstat", loc);
	ck_assert_int_eq(send_xml("PUT", "device-demo", path, "<DeviceStatus " NS "><changedTime>1"
							  "</changedTime></DeviceStatus>", NULL, 0), 204);
	get_ok("device-demo", path, 200, SEP_XSD, &doc);
	ck_assert_ptr_nonnull(strstr(doc, "pollRate="));
	free(doc);
}
END_TEST

/* ---- dermsctl der ---- */

START_TEST(test_dermsctl_der)
{
	derms_identity me;
	char		out[8192], args[2048], loc[128], path[512], body[1024];
	char	   *p, *x;
	long		prog, ctl_id;
	long long	now = (long long) time(NULL);

	if (!up())
		return;
	demo_identity(&me);
	register_self("device-demo", &me, loc, sizeof(loc));

	ck_assert_int_eq(ctl(out, sizeof(out), "der program create --primacy 7 --scope all"
						 " --description cli --default '{\"opModConnect\":true}'"), 0);
	p = strstr(out, "id=");
	ck_assert_msg(p != NULL, "no id: %s", out);
	prog = strtol(p + 3, NULL, 10);
	ck_assert_ptr_nonnull(strstr(out, "mrid="));
	/* the same checks as the API, with the same words */
	ck_assert_int_eq(ctl(out, sizeof(out), "der program create --primacy 300 --scope all"), 2);
	ck_assert_ptr_nonnull(strstr(out, "\"primacy\" must be an integer in 0..255"));
	ck_assert_int_eq(ctl(out, sizeof(out), "der program create --primacy 1 --scope tenant"), 2);
	ck_assert_ptr_nonnull(strstr(out, "scope.id"));
	snprintf(args, sizeof(args), "der control create %ld --start 1 --duration 60"
			 " --base '{\"opModFixedW\":20000}'", prog);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 2);
	ck_assert_ptr_nonnull(strstr(out, "base: \"opModFixedW\" must be in -10000..10000"));
	snprintf(body, sizeof(body), "/api/v1/der-programs/%ld/controls", prog);
	{
		char	   *answer;

		ck_assert_int_eq(api_post(body, "{\"start\":1,\"duration\":60,\"base\":{\"opModFixedW\":20000}}",
								  NULL, &answer), 400);
		ck_assert_ptr_nonnull(strstr(answer, "opModFixedW"));
		ck_assert_ptr_nonnull(strstr(answer, "must be in -10000..10000"));
		free(answer);
	}
	ck_assert_int_eq(ctl(out, sizeof(out), "der control create 424242 --start now --duration 60"
						 " --base '{\"opModConnect\":false}'"), 1);
	snprintf(args, sizeof(args), "der control create %ld --start %lld --duration 3600"
			 " --description cli --base '{\"opModMaxLimW\":5000}'", prog, now - 10);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 0);
	ctl_id = strtol(strstr(out, "id=") + 3, NULL, 10);

	/* what dermsctl made is served to the device */
	snprintf(path, sizeof(path), "%s/derp/%ld/derc/%ld", loc, prog, ctl_id);
	get_ok("device-demo", path, 200, SEP_XSD, &x);
	ck_assert_ptr_nonnull(strstr(x, "<opModMaxLimW>5000</opModMaxLimW>"));
	ck_assert_ptr_nonnull(strstr(x, "<currentStatus>1</currentStatus>"));
	{
		const char *m = strstr(x, "<mRID>");
		char		rsp[512], mrid[33];

		ck_assert_ptr_nonnull(m);
		snprintf(mrid, sizeof(mrid), "%.32s", m + 6);
		snprintf(rsp, sizeof(rsp), "<DERControlResponse " NS "><endDeviceLFDI>%s</endDeviceLFDI>"
				 "<status>1</status><subject>%s</subject></DERControlResponse>", me.lfdi, mrid);
		snprintf(path, sizeof(path), "%s/rsp", loc);
		ck_assert_int_eq(send_xml("POST", "device-demo", path, rsp, NULL, 0), 201);
	}
	free(x);

	ck_assert_int_eq(ctl(out, sizeof(out), "der program list"), 0);
	snprintf(args, sizeof(args), "%ld\t", prog);
	ck_assert_ptr_nonnull(strstr(out, args));
	ck_assert_ptr_nonnull(strstr(out, "\t7\tall\tcli"));
	snprintf(args, sizeof(args), "der control list %ld", prog);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 0);
	ck_assert_ptr_nonnull(strstr(out, "\tactive\t"));
	snprintf(args, sizeof(args), "der responses %ld", ctl_id);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 0);
	ck_assert_ptr_nonnull(strstr(out, me.lfdi));
	snprintf(args, sizeof(args), "der control cancel %ld", ctl_id);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 0);
	ck_assert_int_eq(ctl(out, sizeof(out), args), 1);
	ck_assert_ptr_nonnull(strstr(out, "cancelled already"));
	ck_assert_int_eq(ctl(out, sizeof(out), "der control cancel 424242"), 1);
	ck_assert_int_eq(ctl(out, sizeof(out), "der control frobnicate"), 2);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc/%ld", loc, prog, ctl_id);
	get_ok("device-demo", path, 200, SEP_XSD, &x);
	ck_assert_ptr_nonnull(strstr(x, "<currentStatus>2</currentStatus>"));
	free(x);

	/* audited like the API, and the chain holds */
	x = sql_value("SELECT count(*) FROM audit_log WHERE actor LIKE 'dermsctl:%'"
				  " AND action IN ('der_program.create', 'der_control.create', 'der_control.cancel')");
	ck_assert_str_eq(x, "3");
	free(x);
	x = sql_value("SELECT audit_verify() IS NULL");
	ck_assert_str_eq(x, "t");
	free(x);
}
END_TEST

static void
teardown(void)
{
	if (srv.dir)
	{
		it_run("tail -n 30 '%s' >&2", srv.log);
		it_cleanup(&srv);
	}
}

Suite *
sep2_more_suite(void)
{
	Suite	   *s = suite_create("sep2_more");
	TCase	   *tc = tcase_create("sep2_more");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_usage_points);
	tcase_add_test(tc, test_curves_and_envelopes);
	tcase_add_test(tc, test_csipaus_der_reports);
	tcase_add_test(tc, test_self_device);
	tcase_add_test(tc, test_dermsctl_der);
	suite_add_tcase(s, tc);
	return s;
}
