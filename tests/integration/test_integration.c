/*
 * tests/integration/test_integration.c
 *	  dermsd end to end: real processes, real certificates, real
 *	  PostgreSQL, real TLS clients.
 *
 * NOTES
 *	  Each test starts its own dermsd on free loopback ports with its own
 *	  database and PKI (tests/integration/harness.c).  Without the test
 *	  cluster (DERMS_TEST_PG) every test prints SKIP.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
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

static it_server srv;

static char *sql_value(const char *query);

/* Prepare and start; false (after a SKIP line) when there is no cluster. */
static bool
up_with(const char *extra)
{
	return it_up(&srv, extra, "integration");
}

static bool
up(void)
{
	return up_with(NULL);
}

static void
down(void)
{
	it_cleanup(&srv);
}

static void
dump_log(void)
{
	it_run("tail -n 40 '%s' >&2", srv.log);
}

static long
dcap_status(const char *cert)
{
	it_response r = it_https(&srv, srv.sep2_port, "GET", "/dcap", cert, IT_TLS_CSIP,
							 NULL, NULL);
	long		st = r.status;

	it_response_free(&r);
	return st;
}

/* Validate an XML document against sep.xsd with xmllint; SKIP if absent. */
static void
check_sep2_schema(const char *doc, size_t len)
{
	char		xsd[1024], file[1024];
	struct stat st;
	FILE	   *f;

	snprintf(xsd, sizeof(xsd), "%s/sep2/sep.xsd", test_spec_dir());
	if (stat(xsd, &st) != 0)
	{
		test_skip("sep.xsd validation", "spec file not found (set DERMS_SPEC_DIR)");
		return;
	}
	snprintf(file, sizeof(file), "%s/doc.xml", srv.dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(doc, 1, len, f);
	fclose(f);
	ck_assert_msg(it_run("xmllint --noout --nonet --schema '%s' '%s' 2>&1", xsd, file) == 0,
				  "document not valid against sep.xsd: %.*s", (int) len, doc);
}

START_TEST(test_device_gets_dcap)
{
	it_response r;

	if (!up_with("[sep2]\ntime_zone = America/New_York\n"))
		return;
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.curl_rc == 0, "curl error %d", r.curl_rc);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.headers, "Content-Type: application/sep+xml"));
	ck_assert_ptr_nonnull(strstr(r.headers, "Content-Length: "));
	ck_assert_ptr_nonnull(strstr(r.body, "<DeviceCapability"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	r = it_https(&srv, srv.sep2_port, "GET", "/tm", "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	/* the configured zone: Eastern standard time, one hour of DST */
	ck_assert_ptr_nonnull(strstr(r.body, "<tzOffset>-18000</tzOffset>"));
	ck_assert_ptr_nonnull(strstr(r.body, "<dstOffset>3600</dstOffset>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* aggregator and operator certificates get through too */
	ck_assert_int_eq(dcap_status("aggregator-demo"), 200);
	ck_assert_int_eq(dcap_status("operator-demo"), 200);
	down();
}
END_TEST

static char *
edev_xml(const derms_identity *id)
{
	char	   *x;

	ck_assert_int_ge(asprintf(&x, "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">"
							  "<lFDI>%s</lFDI><sFDI>%llu</sFDI><changedTime>0</changedTime>"
							  "</EndDevice>", id->lfdi, (unsigned long long) id->sfdi), 0);
	return x;
}

/* POST an EndDevice; returns the status and copies the Location. */
static long
edev_post(const char *cert, const char *body, char *loc, size_t loclen)
{
	it_response r = it_https(&srv, srv.sep2_port, "POST", "/edev", cert, IT_TLS_CSIP,
							 SEP2_CT, body);
	long		st = r.status;
	const char *l = strstr(r.headers, "Location: ");

	if (loc)
	{
		loc[0] = '\0';
		if (l)
			snprintf(loc, loclen, "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	}
	it_response_free(&r);
	return st;
}

static it_response
sep2_get(const char *cert, const char *path)
{
	return it_https(&srv, srv.sep2_port, "GET", path, cert, IT_TLS_CSIP, NULL, NULL);
}

START_TEST(test_end_devices)
{
	derms_identity me;
	derms_err	err;
	pki_issued	fleet[3];
	char		loc[128], loc2[128], path[256];
	char	   *x;
	it_response r;

	if (!up_with("[http]\nbody_max = 2048\n[sep2]\npoll_rate_s = 600\npost_rate_s = 120\n"))
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);

	/* poll rates come from the configuration */
	r = sep2_get("device-demo", "/dcap");
	ck_assert_ptr_nonnull(strstr(r.body, "pollRate=\"600\""));
	it_response_free(&r);

	/* nothing registered yet */
	r = sep2_get("device-demo", "/edev");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"0\""));
	ck_assert_ptr_nonnull(strstr(r.body, "pollRate=\"600\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* a device registers itself; the retry gets the same answer */
	x = edev_xml(&me);
	ck_assert_int_eq(edev_post("device-demo", x, loc, sizeof(loc)), 201);
	ck_assert_int_eq(strncmp(loc, "/edev/", 6), 0);
	ck_assert_int_eq(edev_post("device-demo", x, loc2, sizeof(loc2)), 201);
	ck_assert_str_eq(loc, loc2);
	free(x);
	r = sep2_get("device-demo", loc);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, me.lfdi));
	ck_assert_ptr_nonnull(strstr(r.body, "<postRate>120</postRate>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	/* a per-device postRate overrides the setting */
	{
		char		q[160];

		snprintf(q, sizeof(q), "UPDATE end_devices SET post_rate = 60 WHERE lfdi = '%s' RETURNING id", me.lfdi);
		free(sql_value(q));
		r = sep2_get("device-demo", loc);
		ck_assert_ptr_nonnull(strstr(r.body, "<postRate>60</postRate>"));
		check_sep2_schema(r.body, r.len);
		it_response_free(&r);
	}
	/* the operator provisions the Registration PIN and resets the postRate */
	{
		char		rg[160];

		snprintf(rg, sizeof(rg), "%s/rg", loc);
		r = sep2_get("device-demo", rg);
		ck_assert_int_eq(r.status, 404);	/* no PIN yet */
		it_response_free(&r);
		ck_assert_int_eq(it_run("%s/dermsctl -c %s device pin %s/device-demo.pem 111111 2>/dev/null",
								test_build_dir(), srv.conf, srv.pki), 2);	/* bad check digit */
		ck_assert_int_eq(it_run("%s/dermsctl -c %s device pin %s/device-demo.pem 111115 >/dev/null",
								test_build_dir(), srv.conf, srv.pki), 0);
		r = sep2_get("device-demo", rg);
		ck_assert_int_eq(r.status, 200);
		ck_assert_ptr_nonnull(strstr(r.body, "<pIN>111115</pIN>"));
		check_sep2_schema(r.body, r.len);
		it_response_free(&r);
		ck_assert_int_eq(it_run("%s/dermsctl -c %s device post-rate %s default >/dev/null",
								test_build_dir(), srv.conf, me.lfdi), 0);
		r = sep2_get("device-demo", loc);
		ck_assert_ptr_nonnull(strstr(r.body, "<postRate>120</postRate>"));
		ck_assert_ptr_nonnull(strstr(r.body, "RegistrationLink"));
		it_response_free(&r);
		ck_assert_int_eq(it_run("%s/dermsctl -c %s device pin 0123456789012345678901234567890123456789 111115 2>/dev/null",
								test_build_dir(), srv.conf), 1);	/* not registered */
	}
	r = sep2_get("device-demo", "/edev");
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* an aggregator registers its fleet */
	for (int i = 0; i < 3; i++)
	{
		char		name[32];

		snprintf(name, sizeof(name), "fleet-%d", i);
		ck_assert_int_eq(pki_issue(srv.pki, name, PKI_DEVICE, &fleet[i], &err), DERMS_OK);
		x = edev_xml(&fleet[i].id);
		ck_assert_int_eq(edev_post("aggregator-demo", x, NULL, 0), 201);
		free(x);
	}
	r = sep2_get("aggregator-demo", "/edev?l=2");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"3\" results=\"2\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = sep2_get("aggregator-demo", "/edev?s=2&l=10");
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"3\" results=\"1\""));
	it_response_free(&r);
	/* the aggregator does not see the self-registered device */
	r = sep2_get("aggregator-demo", loc);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	/* a fleet device sees itself only */
	r = sep2_get("fleet-0", "/edev");
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(r.body, fleet[0].id.lfdi));
	it_response_free(&r);
	r = sep2_get("fleet-0", loc);	/* another device's URL: 404 */
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	r = sep2_get("fleet-0", "/edev/999999999");	/* one that does not exist */
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	r = sep2_get("fleet-0", "/edev/x1");
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);

	/* a device may register only itself */
	x = edev_xml(&fleet[1].id);
	ck_assert_int_eq(edev_post("device-demo", x, NULL, 0), 403);
	free(x);

	/* bad requests */
	{
		derms_identity bad = me;

		bad.sfdi = me.sfdi + 1;
		x = edev_xml(&bad);
		ck_assert_int_eq(edev_post("device-demo", x, NULL, 0), 400);	/* sFDI mismatch */
		free(x);
	}
	ck_assert_int_eq(edev_post("device-demo", "<EndDevice xmlns=\"urn:ieee:std:2030.5:ns\">", NULL, 0), 400);
	ck_assert_int_eq(edev_post("device-demo", "<!DOCTYPE x [<!ENTITY a \"b\">]><EndDevice/>", NULL, 0), 400);
	ck_assert_int_eq(edev_post("device-demo", "<EndDevice xmlns=\"urn:example\"/>", NULL, 0), 400);
	r = sep2_get("device-demo", "/edev?l=abc");
	ck_assert_int_eq(r.status, 400);
	it_response_free(&r);
	/* wrong content type: 415 */
	r = it_https(&srv, srv.sep2_port, "POST", "/edev", "device-demo", IT_TLS_CSIP,
				 "application/json", "{}");
	ck_assert_int_eq(r.status, 415);
	it_response_free(&r);
	/* larger than http.body_max: 413 */
	{
		char	   *big = malloc(4096);

		memset(big, ' ', 4095);
		big[4095] = '\0';
		memcpy(big, "<EndDevice", 10);
		ck_assert_int_eq(edev_post("device-demo", big, NULL, 0), 413);
		free(big);
	}
	/* the pre-2018 namespace is still accepted */
	x = edev_xml(&me);
	{
		char	   *old = strstr(x, "urn:ieee:std:2030.5:ns");
		char	   *y;

		*old = '\0';
		ck_assert_int_ge(asprintf(&y, "%shttp://ieee.org/2030.5%s", x,
								  old + strlen("urn:ieee:std:2030.5:ns")), 0);
		ck_assert_int_eq(edev_post("device-demo", y, loc2, sizeof(loc2)), 201);
		ck_assert_str_eq(loc, loc2);
		free(y);
	}
	free(x);
	ck_assert_int_eq(dcap_status("device-demo"), 200);
	down();
}
END_TEST

static long
sep2_put(const char *cert, const char *path, const char *body)
{
	it_response r = it_https(&srv, srv.sep2_port, "PUT", path, cert, IT_TLS_CSIP,
							 SEP2_CT, body);
	long		st = r.status;

	if (st >= 400)
		fprintf(stderr, "PUT %s: %ld %s", path, st, r.body);
	it_response_free(&r);
	return st;
}

static char *
sql_value(const char *query)
{
	return it_sql_value(&srv, query);
}

#define NS "xmlns=\"urn:ieee:std:2030.5:ns\""

START_TEST(test_der_reports)
{
	derms_identity me;
	derms_err	err;
	char		loc[128], base[256], path[512], q[512];
	char	   *x, *der;
	it_response r;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	x = edev_xml(&me);
	ck_assert_int_eq(edev_post("device-demo", x, loc, sizeof(loc)), 201);
	free(x);

	/* no DER enrolled for the device: an empty list */
	snprintf(path, sizeof(path), "%s/der", loc);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"0\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* the utility's fleet record of the battery behind this device */
	snprintf(q, sizeof(q), "INSERT INTO der_resources (kind, lfdi, rated_w, rated_wh)"
			 " VALUES ('battery', '%s', 5000, 13500) RETURNING id", me.lfdi);
	der = sql_value(q);
	ck_assert_str_ne(der, "");
	snprintf(base, sizeof(base), "%s/der/%s", loc, der);

	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = sep2_get("device-demo", base);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "DERStatusLink"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* nothing reported yet */
	snprintf(path, sizeof(path), "%s/dercap", base);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);

	/* capability, settings, status, availability */
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DERCapability " NS "><modesSupported>00500088</modesSupported>"
							  "<rtgMaxChargeRateW><multiplier>0</multiplier><value>5000</value></rtgMaxChargeRateW>"
							  "<rtgMaxW><multiplier>3</multiplier><value>5</value></rtgMaxW>"
							  "<rtgMaxWh><multiplier>2</multiplier><value>135</value></rtgMaxWh>"
							  "<type>83</type></DERCapability>"), 204);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "<rtgMaxW><multiplier>3</multiplier><value>5</value></rtgMaxW>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	snprintf(path, sizeof(path), "%s/derg", base);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DERSettings " NS "><setGradW>100</setGradW>"
							  "<setMaxW><multiplier>0</multiplier><value>5000</value></setMaxW>"
							  "<updatedTime>1782907200</updatedTime></DERSettings>"), 204);
	r = sep2_get("device-demo", path);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	snprintf(path, sizeof(path), "%s/ders", base);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DERStatus " NS "><genConnectStatus><dateTime>1782907200</dateTime>"
							  "<value>01</value></genConnectStatus><readingTime>1782907200</readingTime>"
							  "<stateOfChargeStatus><dateTime>1782907200</dateTime><value>5500</value>"
							  "</stateOfChargeStatus></DERStatus>"), 204);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DERStatus " NS "><readingTime>1782907500</readingTime>"
							  "<stateOfChargeStatus><dateTime>1782907500</dateTime><value>6100</value>"
							  "</stateOfChargeStatus></DERStatus>"), 204);
	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "<value>6100</value>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	/* history is kept; dispatch reads the latest */
	snprintf(q, sizeof(q), "SELECT count(*) FROM der_reports WHERE der_id = %s AND resource = 'status'", der);
	x = sql_value(q);
	ck_assert_str_eq(x, "2");
	free(x);
	snprintf(q, sizeof(q), "SELECT doc->'stateOfChargeStatus'->>'value' FROM der_state_current"
			 " WHERE der_id = %s AND resource = 'status'", der);
	x = sql_value(q);
	ck_assert_str_eq(x, "6100");
	free(x);

	snprintf(path, sizeof(path), "%s/dera", base);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DERAvailability " NS "><availabilityDuration>3600</availabilityDuration>"
							  "<readingTime>1782907200</readingTime><reservePercent>2000</reservePercent>"
							  "<statWAvail><multiplier>0</multiplier><value>4000</value></statWAvail>"
							  "</DERAvailability>"), 204);
	r = sep2_get("device-demo", path);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* bad documents: 400 naming the element */
	snprintf(path, sizeof(path), "%s/ders", base);
	{
		static const char *const bad[][2] = {
			{"<DERStatus " NS "><readingTime>1</readingTime><bogus>1</bogus></DERStatus>", "bogus"},
			{"<DERStatus " NS "><stateOfChargeStatus><dateTime>1</dateTime><value>1</value>"
			 "</stateOfChargeStatus><readingTime>1</readingTime></DERStatus>", "out of order"},
			{"<DERStatus " NS "><stateOfChargeStatus><dateTime>1</dateTime><value>1</value>"
			 "</stateOfChargeStatus></DERStatus>", "readingTime"},
			{"<DERStatus " NS "><readingTime>1</readingTime><stateOfChargeStatus><dateTime>1"
			 "</dateTime><value>10001</value></stateOfChargeStatus></DERStatus>", "value"},
			{"<DERCapability " NS "><modesSupported>00</modesSupported></DERCapability>", "DERStatus"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			r = it_https(&srv, srv.sep2_port, "PUT", path, "device-demo", IT_TLS_CSIP,
						 SEP2_CT, bad[i][0]);
			ck_assert_msg(r.status == 400 && strstr(r.body, bad[i][1]),
						  "case %zu: %ld %s", i, r.status, r.body);
			it_response_free(&r);
		}
	}
	/* nothing half-written: still two status reports */
	snprintf(q, sizeof(q), "SELECT count(*) FROM der_reports WHERE der_id = %s AND resource = 'status'", der);
	x = sql_value(q);
	ck_assert_str_eq(x, "2");
	free(x);

	/* others: a foreign device and an aggregator without this device */
	{
		pki_issued	other;

		ck_assert_int_eq(pki_issue(srv.pki, "other", PKI_DEVICE, &other, &err), DERMS_OK);
		r = sep2_get("other", base);
		ck_assert_int_eq(r.status, 404);
		it_response_free(&r);
		ck_assert_int_eq(sep2_put("other", path, "<DERStatus " NS "><readingTime>1</readingTime></DERStatus>"), 404);
		r = sep2_get("aggregator-demo", base);
		ck_assert_int_eq(r.status, 404);
		it_response_free(&r);
	}
	/* an operator reads but does not report */
	r = sep2_get("operator-demo", path);
	ck_assert_int_eq(r.status, 200);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "PUT", path, "operator-demo", IT_TLS_CSIP, SEP2_CT,
				 "<DERStatus " NS "><readingTime>1</readingTime></DERStatus>");
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	free(der);
	down();
}
END_TEST

/* A MirrorMeterReading with one set of n readings from start, step s. */
static char *
mmr_xml(const char *mrid, long long start, int n, int step, int base)
{
	size_t		cap = 1024 + (size_t) n * 160;
	char	   *x = malloc(cap);
	size_t		len;

	ck_assert_ptr_nonnull(x);
	len = (size_t) snprintf(x, cap, "<MirrorMeterReading " NS "><mRID>%s</mRID>"
							"<description>site power</description><MirrorReadingSet><mRID>%s01</mRID>"
							"<timePeriod><duration>%d</duration><start>%lld</start></timePeriod>",
							mrid, mrid, n * step, start);
	for (int i = 0; i < n; i++)
		len += (size_t) snprintf(x + len, cap - len,
								 "<Reading><timePeriod><duration>%d</duration><start>%lld</start>"
								 "</timePeriod><value>%d</value></Reading>",
								 step, start + (long long) i * step, base + i);
	snprintf(x + len, cap - len,
			 "</MirrorReadingSet><ReadingType><accumulationBehaviour>12</accumulationBehaviour>"
			 "<commodity>1</commodity><flowDirection>1</flowDirection><intervalLength>%d</intervalLength>"
			 "<kind>37</kind><powerOfTenMultiplier>0</powerOfTenMultiplier><uom>38</uom></ReadingType>"
			 "</MirrorMeterReading>", step);
	return x;
}

static long
sep2_post(const char *cert, const char *path, const char *body, char *loc, size_t loclen)
{
	it_response r = it_https(&srv, srv.sep2_port, "POST", path, cert, IT_TLS_CSIP,
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
		fprintf(stderr, "POST %s: %ld %s", path, st, r.body);
	it_response_free(&r);
	return st;
}

START_TEST(test_mirror_ingest)
{
	derms_identity me;
	derms_err	err;
	char		path[512], loc[128], loc2[128], body[2048];
	char	   *x, *v;
	it_response r;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);

	/* a device creates its mirror, with one meter reading inside */
	x = mmr_xml("0A01", 1782907200, 3, 300, 1000);	/* 2026-07-01 */
	snprintf(body, sizeof(body), "<MirrorUsagePoint " NS "><mRID>0600006CC8</mRID>"
			 "<description>PCC</description><roleFlags>03</roleFlags>"
			 "<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
			 "<deviceLFDI>%s</deviceLFDI>%s</MirrorUsagePoint>", me.lfdi, x);
	/* nest the MirrorMeterReading without its own xmlns */
	{
		char	   *nsx = strstr(body, "<MirrorMeterReading " NS ">");

		memmove(nsx + strlen("<MirrorMeterReading"), nsx + strlen("<MirrorMeterReading " NS),
				strlen(nsx + strlen("<MirrorMeterReading " NS)) + 1);
	}
	free(x);
	ck_assert_int_eq(sep2_post("device-demo", "/mup", body, loc, sizeof(loc)), 201);
	ck_assert_int_eq(strncmp(loc, "/mup/", 5), 0);
	/* posting it again finds the same mirror and adds no reading */
	ck_assert_int_eq(sep2_post("device-demo", "/mup", body, loc2, sizeof(loc2)), 201);
	ck_assert_str_eq(loc, loc2);
	v = sql_value("SELECT count(*) FROM readings");
	ck_assert_str_eq(v, "3");
	free(v);

	/* more readings, across a month boundary, as a list */
	{
		char	   *a = mmr_xml("0A01", 1785542400 - 600, 4, 300, 2000);	/* into August */
		char	   *b = mmr_xml("0A02", 1782907200, 2, 900, 50);
		char	   *list;

		/* strip the namespace of the inner elements, wrap them in a list */
		char	   *both[2] = {a, b};

		for (int k = 0; k < 2; k++)
		{
			char	   *nsx = strstr(both[k], " " NS);

			memmove(nsx, nsx + strlen(" " NS), strlen(nsx + strlen(" " NS)) + 1);
		}
		ck_assert_int_ge(asprintf(&list, "<MirrorMeterReadingList " NS " all=\"2\" results=\"2\">%s%s"
								  "</MirrorMeterReadingList>", a, b), 0);
		ck_assert_int_eq(sep2_post("device-demo", loc, list, NULL, 0), 201);
		ck_assert_int_eq(sep2_post("device-demo", loc, list, NULL, 0), 201);	/* retry */
		free(a);
		free(b);
		free(list);
	}
	v = sql_value("SELECT count(*) FROM readings");
	ck_assert_str_eq(v, "9");
	free(v);
	v = sql_value("SELECT count(*) FROM pg_inherits WHERE inhparent = 'readings'::regclass");
	ck_assert_str_eq(v, "2");	/* July and August */
	free(v);
	v = sql_value("SELECT sum(value) FROM readings r JOIN mirror_meter_readings m ON m.id = r.mmr_id"
				  " WHERE m.mrid = '0A02'");
	ck_assert_str_eq(v, "101");
	free(v);
	v = sql_value("SELECT reading_type->>'uom' FROM mirror_meter_readings WHERE mrid = '0A01'");
	ck_assert_str_eq(v, "38");
	free(v);

	/* a single MirrorMeterReading as the document */
	x = mmr_xml("0A03", 1782907200, 1, 60, 7);
	ck_assert_int_eq(sep2_post("device-demo", loc, x, NULL, 0), 201);
	free(x);

	/* read back */
	r = sep2_get("device-demo", "/mup");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = sep2_get("device-demo", loc);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "<mRID>0600006CC8</mRID>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* refusals */
	{
		pki_issued	other;

		ck_assert_int_eq(pki_issue(srv.pki, "other-m", PKI_DEVICE, &other, &err), DERMS_OK);
		r = sep2_get("other-m", loc);
		ck_assert_int_eq(r.status, 404);
		it_response_free(&r);
		x = mmr_xml("0B01", 1782907200, 1, 60, 1);
		ck_assert_int_eq(sep2_post("other-m", loc, x, NULL, 0), 404);
		free(x);
		/* a device may not mirror another device's meter */
		ck_assert_int_eq(sep2_post("other-m", "/mup", body, NULL, 0), 403);
	}
	x = mmr_xml("0A01", 1782907200, 1, 60, 1);
	{
		char	   *cut = strstr(x, "<value>");

		ck_assert_ptr_nonnull(cut);
		*cut = '\0';
	}
	ck_assert_int_eq(sep2_post("device-demo", loc, x, NULL, 0), 400);	/* truncated */
	free(x);
	ck_assert_int_eq(sep2_post("device-demo", loc,
							   "<MirrorMeterReading " NS "><mRID>0A01</mRID><bogus/></MirrorMeterReading>",
							   NULL, 0), 400);
	ck_assert_int_eq(sep2_post("device-demo", loc,
							   "<MirrorMeterReading " NS "><mRID>0A01</mRID><MirrorReadingSet><mRID>01</mRID>"
							   "<timePeriod><duration>60</duration><start>1</start></timePeriod>"
							   "<Reading><value>999999999999999999</value></Reading></MirrorReadingSet>"
							   "</MirrorMeterReading>", NULL, 0), 400);	/* beyond Int48 */
	ck_assert_int_eq(sep2_post("device-demo", loc, "<Time " NS "/>", NULL, 0), 400);
	v = sql_value("SELECT count(*) FROM readings");
	ck_assert_str_eq(v, "10");
	free(v);
	/* an operator reads, but does not post readings */
	r = sep2_get("operator-demo", loc);
	ck_assert_int_eq(r.status, 200);
	it_response_free(&r);
	x = mmr_xml("0C01", 1782907200, 1, 60, 1);
	ck_assert_int_eq(sep2_post("operator-demo", loc, x, NULL, 0), 404);
	free(x);
	down();
}
END_TEST

/* POST JSON to the operator API; returns the status, copies "id" and "mrid". */
static long
api_post(const char *cert, const char *path, const char *body, long *id, char *mrid)
{
	it_response r = it_https(&srv, srv.vtn_port, "POST", path, cert, IT_TLS_DEFAULT,
							 body ? "application/json" : NULL, body);
	long		st = r.status;
	const char *p;

	if (id && (p = strstr(r.body, "\"id\":")) != NULL)
		*id = strtol(p + 5, NULL, 10);
	if (mrid && (p = strstr(r.body, "\"mrid\":\"")) != NULL)
		snprintf(mrid, 33, "%.32s", p + 8);
	if (st >= 400)
		fprintf(stderr, "API POST %s: %ld %s\n", path, st, r.body);
	it_response_free(&r);
	return st;
}

/* currentStatus of the control with mRID m in a DERControlList body. */
static int
status_of(const char *list, const char *m)
{
	const char *p = strstr(list, m);
	const char *s = p ? strstr(p, "<currentStatus>") : NULL;

	return s ? atoi(s + strlen("<currentStatus>")) : -1;
}

START_TEST(test_programs_and_controls)
{
	derms_identity me;
	derms_err	err;
	char		loc[128], path[512], body[1024], m1[33], m2[33], m3[33], pm[33];
	long		prog, c1, c3, other;
	long long	now = (long long) time(NULL);
	char	   *x;
	it_response r;

	if (!up_with("[vtn]\nca_file = pki/trust.pem\n"))
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	x = edev_xml(&me);
	ck_assert_int_eq(edev_post("device-demo", x, loc, sizeof(loc)), 201);
	free(x);

	/* discovery: EndDevice -> FunctionSetAssignments -> DERProgramList */
	r = sep2_get("device-demo", loc);
	ck_assert_ptr_nonnull(strstr(r.body, "FunctionSetAssignmentsListLink"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/fsa", loc);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "DERProgramListLink"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* the operator makes a program for everyone, with a default control */
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs",
							  "{\"description\":\"fleet\",\"primacy\":10,\"scope\":{\"kind\":\"all\"},"
							  "\"defaultControl\":{\"opModConnect\":true,\"opModMaxLimW\":10000}}",
							  &prog, pm), 201);
	/* and one for another device only */
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs",
							  "{\"primacy\":1,\"scope\":{\"kind\":\"end_device\",\"id\":999999}}",
							  &other, NULL), 201);
	snprintf(path, sizeof(path), "%s/derp", loc);
	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(r.body, pm));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/derp/%ld", loc, other);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/derp/%ld/dderc", loc, prog);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "<opModConnect>true</opModConnect>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* an active control and a scheduled one */
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,\"description\":\"discharge\","
			 "\"base\":{\"opModTargetW\":{\"multiplier\":0,\"value\":3000}}}", now - 60);
	ck_assert_int_eq(api_post("operator-demo", path, body, &c1, m1), 201);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":600,\"randomizeStart\":60,"
			 "\"base\":{\"opModFixedW\":-5000}}", now + 7200);
	ck_assert_int_eq(api_post("operator-demo", path, body, NULL, m2), 201);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc?l=10", loc, prog);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"2\" results=\"2\""));
	ck_assert_int_eq(status_of(r.body, m1), 1);
	ck_assert_int_eq(status_of(r.body, m2), 0);
	ck_assert(strstr(r.body, m1) < strstr(r.body, m2));	/* by start */
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/derp/%ld/actderc", loc, prog);
	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(r.body, m1));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* a newer overlapping control supersedes the first; cancelling it
	 * brings the first back */
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":600,"
			 "\"base\":{\"opModTargetW\":{\"multiplier\":0,\"value\":1000}}}", now - 30);
	ck_assert_int_eq(api_post("operator-demo", path, body, &c3, m3), 201);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc?l=10", loc, prog);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(status_of(r.body, m1), 4);
	ck_assert_int_eq(status_of(r.body, m3), 1);
	it_response_free(&r);
	snprintf(path, sizeof(path), "/api/v1/der-controls/%ld/cancel", c3);
	ck_assert_int_eq(api_post("operator-demo", path, NULL, NULL, NULL), 200);
	ck_assert_int_eq(api_post("operator-demo", path, NULL, NULL, NULL), 409);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc?l=10", loc, prog);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(status_of(r.body, m3), 2);	/* marked, never deleted */
	ck_assert_int_eq(status_of(r.body, m1), 1);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc/%ld", loc, prog, c1);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "replyTo="));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* the device answers; a retry is not a second answer */
	snprintf(body, sizeof(body), "<DERControlResponse " NS "><createdDateTime>%lld</createdDateTime>"
			 "<endDeviceLFDI>%s</endDeviceLFDI><status>1</status><subject>%s</subject>"
			 "</DERControlResponse>", now, me.lfdi, m1);
	snprintf(path, sizeof(path), "%s/rsp", loc);
	ck_assert_int_eq(sep2_post("device-demo", path, body, NULL, 0), 201);
	ck_assert_int_eq(sep2_post("device-demo", path, body, NULL, 0), 201);
	snprintf(body, sizeof(body), "<DERControlResponse " NS "><endDeviceLFDI>%s</endDeviceLFDI>"
			 "<status>1</status><subject>00112233445566778899AABBCCDDEEFF</subject>"
			 "</DERControlResponse>", me.lfdi);
	ck_assert_int_eq(sep2_post("device-demo", path, body, NULL, 0), 400);
	snprintf(path, sizeof(path), "/api/v1/der-controls/%ld/responses", c1);
	r = it_https(&srv, srv.vtn_port, "GET", path, "operator-demo", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, me.lfdi));
	ck_assert_ptr_null(strstr(strstr(r.body, me.lfdi) + 40, me.lfdi));	/* once */
	it_response_free(&r);

	/* bad API input, and not an operator */
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs",
							  "{\"primacy\":300,\"scope\":{\"kind\":\"all\"}}", NULL, NULL), 400);
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs",
							  "{\"primacy\":1,\"scope\":{\"kind\":\"all\"},\"colour\":1}", NULL, NULL), 400);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	ck_assert_int_eq(api_post("operator-demo", path,
							  "{\"start\":1,\"duration\":60,\"base\":{\"opModFixedW\":20000}}", NULL, NULL), 400);
	ck_assert_int_eq(api_post("operator-demo", path,
							  "{\"start\":1,\"duration\":60,\"base\":{\"opModWarp\":1}}", NULL, NULL), 400);
	ck_assert_int_eq(api_post("operator-demo", path, "{\"start\":1,", NULL, NULL), 400);
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs/424242/controls",
							  "{\"start\":1,\"duration\":60,\"base\":{\"opModConnect\":false}}", NULL, NULL), 404);
	ck_assert_int_eq(api_post("aggregator-demo", "/api/v1/der-programs",
							  "{\"primacy\":1,\"scope\":{\"kind\":\"all\"}}", NULL, NULL), 404);
	x = sql_value("SELECT count(*) FROM audit_log WHERE action LIKE 'der_%'");
	ck_assert_str_eq(x, "6");	/* 2 programs, 3 controls, 1 cancel */
	free(x);
	down();
}
END_TEST

START_TEST(test_device_reports)
{
	derms_identity me;
	derms_err	err;
	char		loc[128], path[512], body[2048];
	char	   *x;
	it_response r;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	x = edev_xml(&me);
	ck_assert_int_eq(edev_post("device-demo", x, loc, sizeof(loc)), 201);
	free(x);
	r = sep2_get("device-demo", loc);
	ck_assert_ptr_nonnull(strstr(r.body, "DeviceInformationLink"));
	ck_assert_ptr_nonnull(strstr(r.body, "PowerStatusLink"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	snprintf(path, sizeof(path), "%s/di", loc);
	snprintf(body, sizeof(body), "<DeviceInformation " NS "><DRLCCapabilities><averageEnergy>"
			 "<multiplier>0</multiplier><value>1</value></averageEnergy><maxDemand><multiplier>0"
			 "</multiplier><value>1</value></maxDemand><optionsImplemented>00</optionsImplemented>"
			 "</DRLCCapabilities><lFDI>%s</lFDI><mfDate>1700000000</mfDate><mfHwVer>A1</mfHwVer>"
			 "<mfID>37250</mfID><mfModel>BAT-13</mfModel><mfSerNum>SN0001</mfSerNum>"
			 "<primaryPower>1</primaryPower><secondaryPower>0</secondaryPower>"
			 "<swActTime>1700000000</swActTime><swVer>2.4.1</swVer></DeviceInformation>", me.lfdi);
	ck_assert_int_eq(sep2_put("device-demo", path, body), 204);
	r = sep2_get("device-demo", path);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "<mfModel>BAT-13</mfModel>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	/* another device's LFDI in the document */
	{
		char	   *bad = strdup(body);
		char	   *l = strstr(bad, me.lfdi);

		l[0] = l[0] == 'A' ? 'B' : 'A';
		r = it_https(&srv, srv.sep2_port, "PUT", path, "device-demo", IT_TLS_CSIP, SEP2_CT, bad);
		ck_assert_int_eq(r.status, 400);
		it_response_free(&r);
		free(bad);
	}

	snprintf(path, sizeof(path), "%s/dstat", loc);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<DeviceStatus " NS "><changedTime>1782907200</changedTime><onCount>3</onCount>"
							  "<opState>1</opState><Temperature><multiplier>0</multiplier><subject>0</subject>"
							  "<value>35</value></Temperature></DeviceStatus>"), 204);
	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "<onCount>3</onCount>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	snprintf(path, sizeof(path), "%s/ps", loc);
	ck_assert_int_eq(sep2_put("device-demo", path,
							  "<PowerStatus " NS "><batteryStatus>1</batteryStatus><changedTime>1782907200"
							  "</changedTime><currentPowerSource>1</currentPowerSource>"
							  "<estimatedChargeRemaining>8000</estimatedChargeRemaining></PowerStatus>"), 204);
	r = sep2_get("device-demo", path);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "PUT", path, "device-demo", IT_TLS_CSIP, SEP2_CT,
				 "<PowerStatus " NS "><changedTime>1</changedTime><currentPowerSource>1"
				 "</currentPowerSource></PowerStatus>");
	ck_assert_int_eq(r.status, 400);
	ck_assert_ptr_nonnull(strstr(r.body, "batteryStatus"));
	it_response_free(&r);

	snprintf(path, sizeof(path), "%s/lel", loc);
	snprintf(body, sizeof(body), "<LogEvent " NS "><createdDateTime>1782907200</createdDateTime>"
			 "<details>grid fault</details><functionSet>0</functionSet><logEventCode>3</logEventCode>"
			 "<logEventID>17</logEventID><logEventPEN>37250</logEventPEN><profileID>0</profileID>"
			 "</LogEvent>");
	ck_assert_int_eq(sep2_post("device-demo", path, body, NULL, 0), 201);
	ck_assert_int_eq(sep2_post("device-demo", path, body, NULL, 0), 201);	/* retry */
	r = sep2_get("device-demo", path);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	ck_assert_ptr_nonnull(strstr(r.body, "<details>grid fault</details>"));
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);

	/* foreign device: 404; operator reads but does not report */
	{
		pki_issued	other;

		ck_assert_int_eq(pki_issue(srv.pki, "other-d", PKI_DEVICE, &other, &err), DERMS_OK);
		snprintf(path, sizeof(path), "%s/ps", loc);
		r = sep2_get("other-d", path);
		ck_assert_int_eq(r.status, 404);
		it_response_free(&r);
	}
	r = sep2_get("operator-demo", path);
	ck_assert_int_eq(r.status, 200);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "PUT", path, "operator-demo", IT_TLS_CSIP, SEP2_CT,
				 "<PowerStatus " NS "><batteryStatus>1</batteryStatus><changedTime>1</changedTime>"
				 "<currentPowerSource>1</currentPowerSource></PowerStatus>");
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	down();
}
END_TEST

START_TEST(test_ingest_survives_worker_kill)
{
	derms_identity me;
	derms_err	err;
	char		loc[128], path[512], body[1024], acked[1024];
	pid_t		child, workers[8];
	int			n, st, batches = 0;
	char	   *x;
	FILE	   *f;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	snprintf(body, sizeof(body), "<MirrorUsagePoint " NS "><mRID>0600006CC9</mRID><roleFlags>03</roleFlags>"
			 "<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
			 "<deviceLFDI>%s</deviceLFDI></MirrorUsagePoint>", me.lfdi);
	ck_assert_int_eq(sep2_post("device-demo", "/mup", body, loc, sizeof(loc)), 201);
	snprintf(acked, sizeof(acked), "%s/acked.txt", srv.dir);

	/* a device posts batches as fast as it can, noting each acknowledged one */
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
	{
		FILE	   *out = fopen(acked, "w");

		for (int b = 0; b < 150; b++)
		{
			char	   *m = mmr_xml("0D01", 1782907200 + (long long) b * 3000, 10, 300, b * 10);
			it_response r = it_https(&srv, srv.sep2_port, "POST", loc, "device-demo",
									 IT_TLS_CSIP, SEP2_CT, m);

			if (r.status == 201)
			{
				fprintf(out, "%d\n", b);
				fflush(out);
			}
			it_response_free(&r);
			free(m);
		}
		fclose(out);
		_exit(0);
	}
	/* meanwhile both sep2 workers die, one after the other */
	usleep(400000);
	n = it_children(srv.pid, "dermsd-sep2", workers, 8);
	ck_assert_int_eq(n, 2);
	kill(workers[0], SIGKILL);
	usleep(400000);
	kill(workers[1], SIGKILL);
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* every acknowledged batch is there, whole */
	f = fopen(acked, "r");
	ck_assert_ptr_nonnull(f);
	while (fscanf(f, "%d", &n) == 1)
	{
		char		q[512];

		snprintf(q, sizeof(q), "SELECT count(*) FROM readings WHERE interval_start >= to_timestamp(%lld)"
				 " AND interval_start < to_timestamp(%lld)",
				 1782907200LL + (long long) n * 3000, 1782907200LL + (long long) n * 3000 + 3000);
		x = sql_value(q);
		ck_assert_msg(strcmp(x, "10") == 0, "acknowledged batch %d has %s readings", n, x);
		free(x);
		batches++;
	}
	fclose(f);
	ck_assert_int_gt(batches, 100);		/* most got through despite the kills */
	ck_assert(it_pid_alive(srv.pid));
	down();
}
END_TEST

/*
 * The authorization matrix: every 2030.5 resource of one device, fetched by
 * the device itself, another device, its aggregator, another aggregator and
 * an operator.  Foreign callers get 404, exactly like a missing URL.
 */
START_TEST(test_authorization_matrix)
{
	static const char *const paths[] = {
		"{e}", "{e}/rg", "{e}/der", "{e}/der/{d}", "{e}/der/{d}/dercap", "{e}/der/{d}/derg",
		"{e}/der/{d}/ders", "{e}/der/{d}/dera", "{e}/di", "{e}/dstat", "{e}/ps", "{e}/lel",
		"{e}/fsa", "{e}/fsa/0", "{e}/derp", "{e}/derp/{p}", "{e}/derp/{p}/derc",
		"{e}/derp/{p}/actderc", "{e}/derp/{p}/derc/{c}", "{e}/derp/{p}/dderc", "{m}",
	};
	static const struct
	{
		const char *cert;
		int			expect;
	}			callers[] = {
		{"fleet-a", 200}, {"device-demo", 404}, {"aggregator-demo", 200}, {"agg2", 404},
		{"operator-demo", 200},
	};
	pki_issued	a, agg2;
	derms_err	err;
	char		e[128], m[128], body[1024], path[512], q[256];
	char	   *der;
	long		prog, ctl;
	long long	now = (long long) time(NULL);
	char	   *x;

	if (!up_with("[vtn]\nca_file = pki/trust.pem\n"))
		return;
	ck_assert_int_eq(pki_issue(srv.pki, "fleet-a", PKI_DEVICE, &a, &err), DERMS_OK);
	ck_assert_int_eq(pki_issue(srv.pki, "agg2", PKI_AGGREGATOR, &agg2, &err), DERMS_OK);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert register %s --role aggregator --tenant agg2 >/dev/null",
							test_build_dir(), srv.conf, agg2.cert_path), 0);
	/* the aggregator registers device A; device-demo registers itself */
	x = edev_xml(&a.id);
	ck_assert_int_eq(edev_post("aggregator-demo", x, e, sizeof(e)), 201);
	free(x);
	{
		derms_identity me;

		snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
		ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
		x = edev_xml(&me);
		ck_assert_int_eq(edev_post("device-demo", x, NULL, 0), 201);
		free(x);
	}
	snprintf(q, sizeof(q), "UPDATE end_devices SET registration_pin = 111115 WHERE lfdi = '%s'"
			 " RETURNING id", a.id.lfdi);
	free(sql_value(q));
	snprintf(q, sizeof(q), "INSERT INTO der_resources (kind, lfdi) VALUES ('battery', '%s') RETURNING id",
			 a.id.lfdi);
	der = sql_value(q);

	/* A reports everything once */
	{
		static const char *const docs[][2] = {
			{"der/{d}/dercap", "<DERCapability " NS "><modesSupported>01</modesSupported><rtgMaxW>"
			 "<multiplier>0</multiplier><value>5000</value></rtgMaxW><type>80</type></DERCapability>"},
			{"der/{d}/derg", "<DERSettings " NS "><setGradW>1</setGradW><setMaxW><multiplier>0</multiplier>"
			 "<value>5000</value></setMaxW><updatedTime>1</updatedTime></DERSettings>"},
			{"der/{d}/ders", "<DERStatus " NS "><readingTime>1</readingTime></DERStatus>"},
			{"der/{d}/dera", "<DERAvailability " NS "><readingTime>1</readingTime></DERAvailability>"},
			{"dstat", "<DeviceStatus " NS "><changedTime>1</changedTime></DeviceStatus>"},
			{"ps", "<PowerStatus " NS "><batteryStatus>0</batteryStatus><changedTime>1</changedTime>"
			 "<currentPowerSource>0</currentPowerSource></PowerStatus>"},
		};

		for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		{
			char		sub[64];

			snprintf(sub, sizeof(sub), "%s", docs[i][0]);
			if (strncmp(sub, "der/{d}", 7) == 0)
				snprintf(path, sizeof(path), "%s/der/%s%s", e, der, sub + 7);
			else
				snprintf(path, sizeof(path), "%s/%s", e, sub);
			ck_assert_int_eq(sep2_put("fleet-a", path, docs[i][1]), 204);
		}
		snprintf(body, sizeof(body), "<DeviceInformation " NS "><lFDI>%s</lFDI><mfDate>1</mfDate>"
				 "<mfHwVer>1</mfHwVer><mfID>1</mfID><mfModel>m</mfModel><mfSerNum>s</mfSerNum>"
				 "<primaryPower>0</primaryPower><secondaryPower>0</secondaryPower><swActTime>1</swActTime>"
				 "<swVer>1</swVer></DeviceInformation>", a.id.lfdi);
		snprintf(path, sizeof(path), "%s/di", e);
		ck_assert_int_eq(sep2_put("fleet-a", path, body), 204);
		snprintf(path, sizeof(path), "%s/lel", e);
		ck_assert_int_eq(sep2_post("fleet-a", path, "<LogEvent " NS "><createdDateTime>1</createdDateTime>"
								   "<functionSet>0</functionSet><logEventCode>0</logEventCode><logEventID>1"
								   "</logEventID><logEventPEN>1</logEventPEN><profileID>0</profileID></LogEvent>",
								   NULL, 0), 201);
		snprintf(body, sizeof(body), "<MirrorUsagePoint " NS "><mRID>0600006CCA</mRID><roleFlags>03</roleFlags>"
				 "<serviceCategoryKind>0</serviceCategoryKind><status>1</status>"
				 "<deviceLFDI>%s</deviceLFDI></MirrorUsagePoint>", a.id.lfdi);
		ck_assert_int_eq(sep2_post("fleet-a", "/mup", body, m, sizeof(m)), 201);
	}
	{
		char	   *tenant = sql_value("SELECT id FROM tenants WHERE name = 'agg1'");

		snprintf(body, sizeof(body), "{\"primacy\":5,\"scope\":{\"kind\":\"tenant\",\"id\":%s},"
				 "\"defaultControl\":{\"opModConnect\":true}}", tenant);
		free(tenant);
	}
	ck_assert_int_eq(api_post("operator-demo", "/api/v1/der-programs", body, &prog, NULL), 201);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,\"base\":{\"opModConnect\":false}}", now - 10);
	ck_assert_int_eq(api_post("operator-demo", path, body, &ctl, NULL), 201);

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
	{
		char		url[512];
		const char *t = paths[i];
		size_t		o = 0;

		/* fill the template */
		while (*t && o < sizeof(url) - 64)
		{
			if (strncmp(t, "{e}", 3) == 0)
				o += (size_t) snprintf(url + o, sizeof(url) - o, "%s", e), t += 3;
			else if (strncmp(t, "{d}", 3) == 0)
				o += (size_t) snprintf(url + o, sizeof(url) - o, "%s", der), t += 3;
			else if (strncmp(t, "{p}", 3) == 0)
				o += (size_t) snprintf(url + o, sizeof(url) - o, "%ld", prog), t += 3;
			else if (strncmp(t, "{c}", 3) == 0)
				o += (size_t) snprintf(url + o, sizeof(url) - o, "%ld", ctl), t += 3;
			else if (strncmp(t, "{m}", 3) == 0)
				o += (size_t) snprintf(url + o, sizeof(url) - o, "%s", m), t += 3;
			else
				url[o++] = *t++;
		}
		url[o] = '\0';
		for (size_t k = 0; k < sizeof(callers) / sizeof(callers[0]); k++)
		{
			it_response r = sep2_get(callers[k].cert, url);

			ck_assert_msg(r.status == callers[k].expect, "GET %s as %s: %ld, expected %d (%s)",
						  url, callers[k].cert, r.status, callers[k].expect, r.body);
			if (r.status == 200)
				check_sep2_schema(r.body, r.len);
			it_response_free(&r);
		}
	}
	free(der);
	down();
}
END_TEST

START_TEST(test_bad_requests)
{
	it_response r;

	if (!up())
		return;
	/* unknown path: 404 */
	r = it_https(&srv, srv.sep2_port, "GET", "/nope", "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	/* wrong method: 405 with Allow */
	r = it_https(&srv, srv.sep2_port, "POST", "/dcap", "device-demo", IT_TLS_CSIP,
				 SEP2_CT, "<x/>");
	ck_assert_int_eq(r.status, 405);
	ck_assert_ptr_nonnull(strstr(r.headers, "Allow: GET"));
	it_response_free(&r);
	/* a body where none is taken: 400 */
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "device-demo", IT_TLS_CSIP,
				 SEP2_CT, "<x/>");
	ck_assert_int_eq(r.status, 400);
	it_response_free(&r);
	/* the service keeps serving */
	ck_assert_int_eq(dcap_status("device-demo"), 200);
	down();
}
END_TEST

START_TEST(test_tls_refusals)
{
	it_response r;
	pki_issued	it;
	derms_err	err;
	char		path[1024];

	if (!up())
		return;

	/* no client certificate */
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", NULL, IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "no cert: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);

	/* a certificate from a CA the server does not trust */
	ck_assert_int_eq(pki_self_signed_client(srv.pki, "stranger", &it, &err), DERMS_OK);
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "stranger", IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "unknown CA: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);

	/* a revoked certificate: valid chain, revoked in the database */
	ck_assert_int_eq(pki_issue(srv.pki, "dev-revoked", PKI_DEVICE, &it, &err), DERMS_OK);
	ck_assert_int_eq(dcap_status("dev-revoked"), 200);
	snprintf(path, sizeof(path), "%s/dev-revoked.pem", srv.pki);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert revoke %s >/dev/null", test_build_dir(),
							srv.conf, path), 0);
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "dev-revoked", IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "revoked: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);

	/* a TLS 1.3-only client */
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "device-demo", IT_TLS_13_ONLY, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "TLS 1.3: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);

	/* a GCM-only client */
	r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "device-demo", IT_TLS_GCM_ONLY, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "GCM: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);

	/* and the legitimate device still gets in */
	ck_assert_int_eq(dcap_status("device-demo"), 200);

	/* the VTN listener speaks modern TLS */
	r = it_https(&srv, srv.vtn_port, "GET", "/nothing", NULL, IT_TLS_13_ONLY, NULL, NULL);
	ck_assert_msg(r.curl_rc == 0, "vtn TLS 1.3: curl %d", r.curl_rc);
	ck_assert_int_eq(r.status, 404);
	ck_assert_ptr_nonnull(strstr(r.headers, "application/problem+json"));
	it_response_free(&r);
	down();
}
END_TEST

START_TEST(test_vtn_optional_client_cert)
{
	it_response r;
	pki_issued	it;
	derms_err	err;

	if (!up_with("[vtn]\nca_file = pki/trust.pem\n"))
		return;
	/* no certificate: the handshake completes (tokens are the VTN's way) */
	r = it_https(&srv, srv.vtn_port, "GET", "/nothing", NULL, IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_msg(r.curl_rc == 0 && r.status == 404, "no cert: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);
	/* a registered aggregator certificate */
	r = it_https(&srv, srv.vtn_port, "GET", "/nothing", "aggregator-demo", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_msg(r.curl_rc == 0 && r.status == 404, "aggregator: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);
	/* a presented certificate is verified: an unknown CA fails the handshake */
	ck_assert_int_eq(pki_self_signed_client(srv.pki, "stranger", &it, &err), DERMS_OK);
	r = it_https(&srv, srv.vtn_port, "GET", "/nothing", "stranger", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_msg(r.curl_rc != 0 && r.status == 0, "stranger: curl %d status %ld",
				  r.curl_rc, r.status);
	it_response_free(&r);
	r = it_admin_get(&srv, "/metrics");
	ck_assert_ptr_nonnull(strstr(r.body, "dermsd_tls_handshakes_refused_total{listener=\"vtn\"} 1"));
	it_response_free(&r);
	down();
}
END_TEST

START_TEST(test_check_config)
{
	const char *why[1] = {"could not prepare"};
	char		bad[1024];
	FILE	   *f;

	if (!it_prepare(&srv, NULL, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("integration", why[0]);
			return;
		}
		ck_abort_msg("harness setup failed");
	}
	/* a valid file, with its certificates, passes */
	ck_assert_int_eq(it_run("%s/dermsd --check-config -c %s >/dev/null 2>&1",
							test_build_dir(), srv.conf), 0);
	/* an unknown key: exit 78 and a message naming file, line and key */
	snprintf(bad, sizeof(bad), "%s/bad.conf", srv.dir);
	f = fopen(bad, "w");
	fprintf(f, "[sep2]\nprot = 1\n");
	fclose(f);
	ck_assert_int_eq(it_run("%s/dermsd --check-config -c %s 2>%s/err.txt", test_build_dir(),
							bad, srv.dir), 78);
	ck_assert_int_eq(it_run("grep -q 'bad.conf:2: unknown key \"sep2.prot\"' %s/err.txt",
							srv.dir), 0);
	/* a certificate file that is not a certificate: exit 78 */
	it_run("cp -r %s/pki %s/pki2 && echo junk > %s/pki2/sep2-server.pem && "
		   "sed 's#pki/#pki2/#' %s > %s/pki2.conf", srv.dir, srv.dir, srv.dir,
		   srv.conf, srv.dir);
	ck_assert_int_eq(it_run("%s/dermsd --check-config -c %s/pki2.conf 2>%s/err2.txt",
							test_build_dir(), srv.dir, srv.dir), 78);
	ck_assert_int_eq(it_run("grep -q 'sep2 certificate' %s/err2.txt", srv.dir), 0);
	/* usage errors */
	ck_assert_int_eq(it_run("%s/dermsd >/dev/null 2>&1", test_build_dir()), 2);
	ck_assert_int_eq(it_run("%s/dermsd -c /nonexistent.conf 2>/dev/null", test_build_dir()), 78);
	down();
}
END_TEST

START_TEST(test_worker_restart)
{
	pid_t		before[8], after[8];
	int			nb, na;
	it_response r;

	if (!up())
		return;
	nb = it_children(srv.pid, "dermsd-sep2", before, 8);
	ck_assert_int_eq(nb, 2);
	ck_assert_int_eq(kill(before[0], SIGKILL), 0);
	ck_assert_msg(IT_WAIT(!it_pid_alive(before[0]), 5000), "worker did not die");
	ck_assert_msg(IT_WAIT((na = it_children(srv.pid, "dermsd-sep2", after, 8)) == 2 &&
						  after[0] != before[0] && after[1] != before[0], 10000),
				  "sep2 worker not restarted");
	/* the restarted pool serves; several requests reach both workers */
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(dcap_status("device-demo"), 200);
	ck_assert(it_pid_alive(srv.pid));
	r = it_admin_get(&srv, "/metrics");
	ck_assert_ptr_nonnull(strstr(r.body, "dermsd_worker_restarts_total{role=\"sep2\"} 1"));
	it_response_free(&r);
	{
		char		line[256];
		char		cmd[1200];
		FILE	   *p;
		bool		found = false;

		snprintf(cmd, sizeof(cmd), "grep -c 'sep2 worker (pid %d) was terminated by signal 9' '%s'",
				 (int) before[0], srv.log);
		p = popen(cmd, "r");
		if (p && fgets(line, sizeof(line), p))
			found = atoi(line) == 1;
		if (p)
			pclose(p);
		ck_assert_msg(found, "death of the worker not logged with pid and signal");
	}
	down();
}
END_TEST

START_TEST(test_sighup_keeps_old_config)
{
	it_response r;
	FILE	   *f;
	char	   *good = NULL;
	size_t		goodlen = 0;

	if (!up())
		return;
	/* break the file: the running configuration must stay */
	f = fopen(srv.conf, "r");
	ck_assert_ptr_nonnull(f);
	{
		char		chunk[4096];
		size_t		n;
		FILE	   *m = open_memstream(&good, &goodlen);

		while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(m);
	}
	fclose(f);
	f = fopen(srv.conf, "a");
	fprintf(f, "[sep2]\nport = not-a-port\n");
	fclose(f);
	kill(srv.pid, SIGHUP);
	ck_assert_msg(IT_WAIT(it_run("grep -q 'keeping the current one' '%s'", srv.log) == 0, 5000),
				  "broken reload not reported");
	ck_assert(it_pid_alive(srv.pid));
	ck_assert_int_eq(dcap_status("device-demo"), 200);
	r = it_admin_get(&srv, "/metrics");
	ck_assert_ptr_nonnull(strstr(r.body, "dermsd_config_reload_failures_total 1"));
	it_response_free(&r);

	/* a certificate that cannot be loaded is refused too */
	f = fopen(srv.conf, "w");
	fwrite(good, 1, goodlen, f);
	fprintf(f, "\n[log]\n");
	fclose(f);
	{
		char		bad[1024];

		snprintf(bad, sizeof(bad), "%s/pki/sep2-server.pem", srv.dir);
		it_run("cp '%s' '%s.orig' && echo garbage > '%s'", bad, bad, bad);
		kill(srv.pid, SIGHUP);
		ck_assert_msg(IT_WAIT(it_run("grep -c 'keeping the current one' '%s' | grep -q 2", srv.log) == 0,
							  5000), "unusable certificate not refused");
		ck_assert_int_eq(dcap_status("device-demo"), 200);
		it_run("mv '%s.orig' '%s'", bad, bad);
	}

	/* a valid file reloads */
	f = fopen(srv.conf, "w");
	fwrite(good, 1, goodlen, f);
	fclose(f);
	free(good);
	kill(srv.pid, SIGHUP);
	ck_assert_msg(IT_WAIT(it_run("grep -q 'configuration reloaded' '%s'", srv.log) == 0, 5000),
				  "valid reload not done");
	ck_assert_msg(IT_WAIT(dcap_status("device-demo") == 200, 5000), "not serving after reload");

	/* and again: each reload must find the file (workers keep its path) */
	ck_assert_msg(IT_WAIT(it_run("test $(grep -c 'reloaded; serving' '%s') -ge 4", srv.log) == 0,
						  5000), "not every listener worker reloaded");
	kill(srv.pid, SIGHUP);
	ck_assert_msg(IT_WAIT(it_run("test $(grep -c 'reloaded; serving' '%s') -ge 8", srv.log) == 0,
						  5000), "second reload not done by every listener worker");
	ck_assert_int_ne(it_run("grep -q 'could not open configuration' '%s'", srv.log), 0);
	ck_assert_msg(IT_WAIT(dcap_status("device-demo") == 200, 5000), "not serving after reload");
	down();
}
END_TEST

/*
 * Verified client chains are remembered per listener generation: after a
 * reload that no longer trusts the devices' CA, a chain that verified a
 * moment before is refused at the next handshake.
 */
START_TEST(test_reload_drops_verified_chains)
{
	char		other[1024];

	if (!up())
		return;
	ck_assert_int_eq(dcap_status("device-demo"), 200);
	ck_assert_int_eq(dcap_status("device-demo"), 200);	/* from the cache */
	snprintf(other, sizeof(other), "%s/other-pki", srv.dir);
	ck_assert_int_eq(it_run("%s/dermsctl pki init --dir '%s' >/dev/null", test_build_dir(), other), 0);
	ck_assert_int_eq(it_run("sed -i 's|^ca_file = pki/trust.pem|ca_file = %s/trust.pem|' '%s'",
							other, srv.conf), 0);
	kill(srv.pid, SIGHUP);
	ck_assert_msg(IT_WAIT(it_run("test $(grep -c 'reloaded; serving' '%s') -ge 4", srv.log) == 0,
						  5000), "reload not done");
	ck_assert_msg(IT_WAIT(dcap_status("device-demo") == 0, 5000),
				  "a chain from the old trust anchors still accepted");
	down();
}
END_TEST

START_TEST(test_sigterm_clean_exit)
{
	pid_t		kids[32];
	int			n, st;

	if (!up())
		return;
	n = it_children(srv.pid, NULL, kids, 32);
	ck_assert_int_ge(n, 4);		/* admin, 2 sep2, vtn, dispatch, notify */
	st = it_stop(&srv, SIGTERM, 10);
	ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
				  "supervisor exit status %d", st);
	for (int i = 0; i < n; i++)
		ck_assert_msg(IT_WAIT(!it_pid_alive(kids[i]), 3000), "worker %d left behind",
					  (int) kids[i]);
	ck_assert_int_ne(it_run("grep -q 'killing them' '%s'", srv.log), 0);
	down();
}
END_TEST

START_TEST(test_no_orphans)
{
	pid_t		kids[32];
	int			n;

	if (!up())
		return;
	n = it_children(srv.pid, NULL, kids, 32);
	ck_assert_int_ge(n, 4);
	kill(srv.pid, SIGKILL);
	waitpid(srv.pid, NULL, 0);
	srv.pid = 0;
	for (int i = 0; i < n; i++)
		ck_assert_msg(IT_WAIT(!it_pid_alive(kids[i]), 8000), "worker %d orphaned",
					  (int) kids[i]);
	down();
}
END_TEST

START_TEST(test_database_restart)
{
	const char *ctl = getenv("DERMS_TEST_PGCTL");
	it_response r;
	pid_t		pid;

	if (!up())
		return;
	if (ctl == NULL)
	{
		test_skip("database restart", "DERMS_TEST_PGCTL not set");
		down();
		return;
	}
	pid = srv.pid;
	r = it_admin_get(&srv, "/readyz");
	ck_assert_int_eq(r.status, 200);
	it_response_free(&r);

	ck_assert_int_eq(it_run("deploy/pgcluster.sh stop '%s' >/dev/null 2>&1", ctl), 0);
	ck_assert_msg(IT_WAIT(({ it_response x = it_admin_get(&srv, "/readyz");
							 long s = x.status; it_response_free(&x); s == 503; }), 10000),
				  "readyz did not go red");
	ck_assert_int_eq(it_run("deploy/pgcluster.sh start '%s' >/dev/null 2>&1", ctl), 0);
	ck_assert_msg(IT_WAIT(({ it_response x = it_admin_get(&srv, "/readyz");
							 long s = x.status; it_response_free(&x); s == 200; }), 20000),
				  "readyz did not go green again");
	/* same supervisor, and requests work again */
	ck_assert_int_eq(srv.pid, pid);
	ck_assert(it_pid_alive(pid));
	ck_assert_msg(IT_WAIT(dcap_status("device-demo") == 200, 10000), "device not served");
	down();
}
END_TEST

START_TEST(test_metrics_and_health)
{
	it_response r;

	if (!up())
		return;
	ck_assert_int_eq(dcap_status("device-demo"), 200);
	r = it_admin_get(&srv, "/healthz");
	ck_assert_int_eq(r.status, 200);
	it_response_free(&r);
	r = it_admin_get(&srv, "/metrics");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body,
								 "dermsd_http_requests_total{listener=\"sep2\",method=\"GET\",route=\"/dcap\",status=\"200\"} 1"));
	ck_assert_ptr_nonnull(strstr(r.body, "dermsd_http_request_duration_seconds_count{listener=\"sep2\"} 1"));
	ck_assert_ptr_nonnull(strstr(r.body, "dermsd_db_connections "));
	it_response_free(&r);
	r = it_admin_get(&srv, "/readyz");
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "sep2 workers: 2/2 ready"));
	it_response_free(&r);
	down();
}
END_TEST

/* Plain HTTP to the 2030.5 port behind a TLS-terminating proxy. */
static long
proxied_status(const char *source, const char *lfdi)
{
	CURL	   *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char		url[128], hdr[128];
	long		st = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/dcap", srv.sep2_port);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_INTERFACE, source);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (lfdi)
	{
		snprintf(hdr, sizeof(hdr), "X-Client-LFDI: %s", lfdi);
		h = curl_slist_append(h, hdr);
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return st;
}

START_TEST(test_trusted_proxy)
{
	static const char lfdi[] = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5";

	if (!up_with("[sep2]\ntls = false\ntrusted_proxies = 127.0.0.2\n"))
		return;
	/* from the proxy: the header is the identity */
	ck_assert_int_eq(proxied_status("127.0.0.2", lfdi), 200);
	/* from anyone else: the header is ignored, so there is no identity */
	ck_assert_int_eq(proxied_status("127.0.0.1", lfdi), 403);
	/* from the proxy without the header, or with a malformed one */
	ck_assert_int_eq(proxied_status("127.0.0.2", NULL), 403);
	ck_assert_int_eq(proxied_status("127.0.0.2", "not-an-lfdi"), 400);
	/* a revoked LFDI is refused through the proxy too */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert revoke %s/device-demo.pem >/dev/null",
							test_build_dir(), srv.conf, srv.pki), 0);
	{
		char		dev[41];
		FILE	   *p;
		char		cmd[1200];

		snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s cert list | awk '$3 == \"device\" {print $1}'",
				 test_build_dir(), srv.conf);
		p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		ck_assert_ptr_nonnull(fgets(dev, sizeof(dev), p));
		pclose(p);
		ck_assert_int_eq(proxied_status("127.0.0.2", dev), 403);
	}
	down();
}
END_TEST

START_TEST(test_header_timeout)
{
	struct sockaddr_in sa;
	int			fd;
	char		b;
	struct pollfd pfd;
	int			pr;

	if (!up_with("[http]\nheader_timeout_s = 1\n"))
		return;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) srv.admin_port);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	/* send nothing: the server must hang up after about a second */
	pfd.fd = fd;
	pfd.events = POLLIN;
	pr = poll(&pfd, 1, 6000);
	ck_assert_msg(pr == 1, "connection still open after 6 s");
	ck_assert_int_le(read(fd, &b, 1), 0);
	close(fd);
	/* the listener still serves */
	{
		it_response r = it_admin_get(&srv, "/healthz");

		ck_assert_int_eq(r.status, 200);
		it_response_free(&r);
	}
	down();
}
END_TEST

/* Read datagrams from fd for up to ms, appending them to acc. */
static void
notify_read(int fd, char *acc, size_t acclen, int ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};

	for (int waited = 0; waited < ms; waited += 50)
	{
		char		buf[512];
		ssize_t		n;

		if (poll(&pfd, 1, 50) != 1)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n > 0)
		{
			buf[n] = '\0';
			strncat(acc, buf, acclen - strlen(acc) - 2);
			strcat(acc, "\n");
		}
	}
}

START_TEST(test_sd_notify)
{
	const char *why[1] = {"could not prepare"};
	struct sockaddr_un sun;
	char		acc[8192] = "";
	int			fd;

	if (!it_prepare(&srv, NULL, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("integration", why[0]);
			return;
		}
		ck_abort_msg("harness setup failed");
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/notify.sock", srv.dir);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sun, sizeof(sun)), 0);
	srv.notify_socket = strdup(sun.sun_path);
	ck_assert(it_start(&srv));
	notify_read(fd, acc, sizeof(acc), 1500);
	ck_assert_msg(strstr(acc, "READY=1") != NULL, "no READY: %s", acc);
	ck_assert_msg(strstr(acc, "WATCHDOG=1") != NULL, "no WATCHDOG: %s", acc);
	kill(srv.pid, SIGHUP);
	notify_read(fd, acc, sizeof(acc), 1000);
	ck_assert_msg(strstr(acc, "RELOADING=1") != NULL, "no RELOADING: %s", acc);
	ck_assert_int_eq(WEXITSTATUS(it_stop(&srv, SIGTERM, 10)), 0);
	notify_read(fd, acc, sizeof(acc), 200);
	ck_assert_msg(strstr(acc, "STOPPING=1") != NULL, "no STOPPING: %s", acc);
	close(fd);
	down();
}
END_TEST

START_TEST(test_dermsctl_status_and_list)
{
	FILE	   *p;
	char		cmd[1200], out[8192] = "";
	size_t		n;
	int			st;

	if (!up())
		return;
	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s cert list", test_build_dir(), srv.conf);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_ptr_nonnull(strstr(out, "\tdevice\t-\tvalid\t"));
	ck_assert_ptr_nonnull(strstr(out, "\taggregator\tagg1\tvalid\t"));
	ck_assert_ptr_nonnull(strstr(out, "\toperator\tutility\tvalid\t"));

	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s status", test_build_dir(), srv.conf);
	p = popen(cmd, "r");
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	st = pclose(p);
	ck_assert_msg(WEXITSTATUS(st) == 0, "status exit %d: %s", WEXITSTATUS(st), out);
	ck_assert_ptr_nonnull(strstr(out, "migration 0001_init.sql: applied"));
	ck_assert_ptr_nonnull(strstr(out, "dermsd /readyz: 200"));

	/* bad invocations are refused with a usage error, not a crash */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert register /nonexistent --role device 2>/dev/null",
							test_build_dir(), srv.conf), 1);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert register %s/device-demo.pem --role king 2>/dev/null",
							test_build_dir(), srv.conf, srv.pki), 2);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert revoke ABC 2>/dev/null",
							test_build_dir(), srv.conf), 2);
	ck_assert_int_eq(it_run("%s/dermsctl frobnicate 2>/dev/null", test_build_dir()), 2);
	/* the audit trail recorded the registrations and stays intact */
	ck_assert_int_eq(it_run("psql -qAt '%s' -c 'SELECT count(*) FROM audit_log' | grep -qx 3",
							srv.conninfo), 0);
	ck_assert_int_eq(it_run("psql -qAt '%s' -c 'SELECT audit_verify() IS NULL' | grep -qx t",
							srv.conninfo), 0);
	down();
}
END_TEST

/*
 * One request over openssl s_client (curl does not offer session tickets):
 * writes the session to sess_out or resumes sess_in, returns the output.
 */
static char *
s_client_get(const char *cert, const char *key, const char *sess_opt, const char *sess_file)
{
	char		cmd[4096];
	char	   *out = malloc(65536);
	FILE	   *p;
	size_t		n;

	snprintf(cmd, sizeof(cmd),
			 "printf 'GET /dcap HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
			 "timeout 10 openssl s_client -ign_eof -connect 127.0.0.1:%d -tls1_2 "
			 "-cipher ECDHE-ECDSA-AES128-CCM8 -cert '%s' -key '%s' -CAfile '%s/ca.pem' "
			 "%s '%s' 2>&1",
			 srv.sep2_port, cert, key, srv.pki, sess_opt, sess_file);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, 65535, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

START_TEST(test_session_resumption)
{
	pki_issued	it;
	derms_err	err;
	char		sess[1024];
	char	   *out;

	if (!up())
		return;
	ck_assert_int_eq(pki_issue(srv.pki, "dev-resume", PKI_DEVICE, &it, &err), DERMS_OK);
	snprintf(sess, sizeof(sess), "%s/session.pem", srv.dir);

	out = s_client_get(it.cert_path, it.key_path, "-sess_out", sess);
	ck_assert_msg(strstr(out, "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-CCM8") &&
				  strstr(out, "HTTP/1.1 200"), "first connection: %s", out);
	free(out);

	/* a new connection resumes the session, on whichever worker takes it */
	out = s_client_get(it.cert_path, it.key_path, "-sess_in", sess);
	ck_assert_msg(strstr(out, "Reused, TLSv1.2") && strstr(out, "HTTP/1.1 200"),
				  "resumption: %s", out);
	free(out);

	/* revoked: a resumed session skips the handshake's verification, so
	 * the request itself is refused */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert revoke %s >/dev/null", test_build_dir(),
							srv.conf, it.cert_path), 0);
	out = s_client_get(it.cert_path, it.key_path, "-sess_in", sess);
	ck_assert_msg(strstr(out, "Reused, TLSv1.2") && strstr(out, "HTTP/1.1 403"),
				  "revoked on a resumed session: %s", out);
	free(out);
	{
		it_response r = it_admin_get(&srv, "/metrics");

		ck_assert_ptr_nonnull(strstr(r.body, "dermsd_tls_resumed_requests_total{listener=\"sep2\"} 2"));
		it_response_free(&r);
	}
	/* and a fresh handshake fails */
	{
		it_response r = it_https(&srv, srv.sep2_port, "GET", "/dcap", "dev-resume",
								 IT_TLS_CSIP, NULL, NULL);

		ck_assert_int_eq(r.status, 0);
		it_response_free(&r);
	}
	down();
}
END_TEST

static void
teardown(void)
{
	if (srv.dir)
	{
		dump_log();
		it_cleanup(&srv);
	}
}

Suite *
integration_suite(void)
{
	Suite	   *s = suite_create("integration");
	TCase	   *tc = tcase_create("dermsd");

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_device_gets_dcap);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_end_devices);
	tcase_add_test(tc, test_der_reports);
	tcase_add_test(tc, test_mirror_ingest);
	tcase_add_test(tc, test_programs_and_controls);
	tcase_add_test(tc, test_device_reports);
	tcase_add_test(tc, test_ingest_survives_worker_kill);
	tcase_add_test(tc, test_authorization_matrix);
	tcase_add_test(tc, test_tls_refusals);
	tcase_add_test(tc, test_vtn_optional_client_cert);
	tcase_add_test(tc, test_check_config);
	tcase_add_test(tc, test_worker_restart);
	tcase_add_test(tc, test_sighup_keeps_old_config);
	tcase_add_test(tc, test_reload_drops_verified_chains);
	tcase_add_test(tc, test_sigterm_clean_exit);
	tcase_add_test(tc, test_no_orphans);
	tcase_add_test(tc, test_metrics_and_health);
	tcase_add_test(tc, test_session_resumption);
	tcase_add_test(tc, test_trusted_proxy);
	tcase_add_test(tc, test_header_timeout);
	tcase_add_test(tc, test_sd_notify);
	tcase_add_test(tc, test_dermsctl_status_and_list);
	tcase_add_test(tc, test_database_restart);
	suite_add_tcase(s, tc);
	return s;
}
