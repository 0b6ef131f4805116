/*
 * tests/integration/test_dispatch_pub.c
 *	  Fleet dispatch in production, end to end on a real dermsd over TLS:
 *	  the sample fleet imported with dermsctl; battery D1 behind the
 *	  harness's device-demo EndDevice, which reports its capability and
 *	  SoC over IEEE 2030.5, and battery D6 behind an OpenADR VEN only;
 *	  both in aggregation A1 on feeder F1, whose limit (8 kW) is below
 *	  what they could deliver together.  The operator posts targets (bad
 *	  ones are refused naming the field) and runs a dispatch: the stored
 *	  schedule respects every power, SoC and feeder limit; the device
 *	  fetches its DERControls over mutual TLS (valid against sep.xsd); the
 *	  VEN fetches its events; schedules come as JSON and CSV and the plot
 *	  is well-formed SVG.  When the device stops reporting, the dispatch
 *	  role dispatches the rest of the aggregation without it and cancels
 *	  its controls.  dermsctl dispatch run / show do the same from the
 *	  command line.
 *
 * NOTES
 *	  The dispatch role runs every second here and a resource is offline
 *	  after 15 s without a DERStatus (post_rate_s 1, offline_polls 15); the
 *	  test re-posts the device's status before each step that needs it
 *	  online.  Targets are hourly, so a run's first interval has begun.
 *	  Without the test cluster the test prints SKIP; without sep.xsd or
 *	  xmllint those checks print SKIP.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "server/identity.h"
#include "tests/suites.h"

#define JSON_CT "application/json"
#define SEP2_CT "application/sep+xml"
#define NS "xmlns=\"urn:ieee:std:2030.5:ns\""
#define EXTRA_CONF "[vtn]\nca_file = pki/trust.pem\n[notify]\nworkers = 0\n" \
	"[sep2]\npost_rate_s = 1\n[dispatch]\ninterval_s = 1\noffline_polls = 15\n"
#define FEEDER_KW 8.0

static it_server srv;

static const char *
pth(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static const char *
pth(const char *fmt,...)
{
	static char bufs[8][4096];
	static int	next;
	char	   *b = bufs[next++ % 8];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

/* First value of sql (malloc'd; "" when no row). */
static char *
sql_value(const char *sql)
{
	char		cmd[8192];
	char		line[4096] = "";
	FILE	   *p;

	snprintf(cmd, sizeof(cmd), "psql -qAtX -v ON_ERROR_STOP=1 '%s' -c \"%s\"", srv.conninfo, sql);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	ck_assert_msg(pclose(p) == 0, "psql failed: %s", sql);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

static void
sql_into(const char *sql, char *out)
{
	char	   *v = sql_value(sql);

	ck_assert_msg(v[0] != '\0', "no value from %s", sql);
	snprintf(out, 32, "%s", v);
	free(v);
}

static void
expect_sql(const char *sql, const char *want)
{
	char	   *v = sql_value(sql);

	ck_assert_msg(strcmp(v, want) == 0, "%s: got \"%s\", want \"%s\"", sql, v, want);
	free(v);
}

/* An operator call on the VTN listener; the answer parsed (new reference). */
static json_t *
op_json(const char *method, const char *path, const char *body, long want, char **raw)
{
	it_response r = it_https(&srv, srv.vtn_port, method, path, "operator-demo",
							 IT_TLS_DEFAULT, body ? JSON_CT : NULL, body);
	json_t	   *j;

	ck_assert_msg(r.status == want, "%s %s: %ld, want %ld: %s", method, path, r.status, want,
				  r.body);
	j = json_loads(r.body, JSON_DECODE_ANY, NULL);
	if (raw)
		*raw = strdup(r.body);
	it_response_free(&r);
	return j;
}

static bool
have_tool(const char *name)
{
	return it_run("command -v %s >/dev/null 2>&1", name) == 0;
}

/* doc written to a file and checked by xmllint (with schema xsd, or just well-formed). */
static void
xmllint(const char *doc, size_t len, const char *name, const char *xsd)
{
	char		file[1024];
	FILE	   *f;

	if (!have_tool("xmllint"))
	{
		test_skip("dispatch_pub xmllint", "xmllint not installed");
		return;
	}
	snprintf(file, sizeof(file), "%s/%s", srv.dir, name);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(doc, 1, len, f);
	fclose(f);
	if (xsd)
		ck_assert_msg(it_run("xmllint --noout --nonet --schema '%s' '%s' 2>&1", xsd, file) == 0,
					  "%s not valid against sep.xsd: %.*s", name, (int) len, doc);
	else
		ck_assert_msg(it_run("xmllint --noout --nonet '%s' 2>&1", file) == 0,
					  "%s is not well-formed: %.300s", name, doc);
}

static const char *
sep_xsd(void)
{
	static char xsd[1024];
	struct stat st;

	snprintf(xsd, sizeof(xsd), "%s/sep2/sep.xsd", test_spec_dir());
	if (stat(xsd, &st) != 0)
	{
		test_skip("dispatch_pub sep.xsd validation", "spec file not found (set DERMS_SPEC_DIR)");
		return NULL;
	}
	return xsd;
}

/* The device reports SoC soc (hundredths of a percent) now. */
static void
report_soc(const char *base, int soc)
{
	long long	now = (long long) time(NULL);
	it_response r = it_https(&srv, srv.sep2_port, "PUT", pth("%s/ders", base), "device-demo",
							 IT_TLS_CSIP, SEP2_CT,
							 pth("<DERStatus " NS "><readingTime>%lld</readingTime>"
								 "<stateOfChargeStatus><dateTime>%lld</dateTime><value>%d</value>"
								 "</stateOfChargeStatus></DERStatus>", now, now, soc));

	ck_assert_msg(r.status == 204, "PUT ders: %ld %s", r.status, r.body);
	it_response_free(&r);
}

/* A VEN client of agg1 with its token (malloc'd). */
static char *
ven_token(void)
{
	char		cmd[2048], line[512], body[2048], id[256] = "", secret[256] = "";
	FILE	   *p;
	it_response r;
	json_t	   *j;
	char	   *tok;

	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s vtn client create --name d-ven --role ven"
			 " --tenant agg1", test_build_dir(), srv.conf);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p))
	{
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "client_id=", 10) == 0)
			snprintf(id, sizeof(id), "%.200s", line + 10);
		else if (strncmp(line, "client_secret=", 14) == 0)
			snprintf(secret, sizeof(secret), "%.200s", line + 14);
	}
	ck_assert_int_eq(pclose(p), 0);
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s",
			 id, secret);
	r = it_https(&srv, srv.vtn_port, "POST", "/auth/token", NULL, IT_TLS_DEFAULT,
				 "application/x-www-form-urlencoded", body);
	ck_assert_msg(r.status == 200, "token: %ld %s", r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	tok = strdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	it_response_free(&r);
	/* the utility's VEN object for it, granted D1's and D6's resource names */
	free(sql_value(pth("INSERT INTO oadr_vens (client_id, tenant_id, body) SELECT '%s', id,"
					   " '{\\\"venName\\\": \\\"ven1\\\", \\\"targets\\\": [\\\"res1\\\", \\\"res6\\\"]}'"
					   " FROM tenants WHERE name = 'agg1' RETURNING 1", id)));
	return tok;
}

/* The run's stored schedule respects every limit; returns the number of rows. */
static int
check_limits(const char *run)
{
	char	   *v;
	int			n;

	/* power of each battery within its rating (5 kW both ways) */
	expect_sql(pth("SELECT count(*) FROM dispatch_schedules s JOIN der_resources d"
				   " ON d.id = s.der_id WHERE s.run_id = %s AND (s.power_kw > d.max_discharge_w"
				   " / 1000 + 1e-6 OR s.power_kw < -d.max_charge_w / 1000 - 1e-6)", run), "0");
	/* SoC within the band it was given (never below 10 %% or above 95 %% here) */
	expect_sql(pth("SELECT count(*) FROM dispatch_schedules WHERE run_id = %s"
				   " AND (soc < 0.1 - 1e-6 OR soc > 0.95 + 1e-6 OR soc IS NULL)", run), "0");
	/* the feeder, both ways, in every interval */
	expect_sql(pth("SELECT count(*) FROM (SELECT interval_start, sum(power_kw) AS kw"
				   " FROM dispatch_schedules WHERE run_id = %s GROUP BY interval_start) x"
				   " WHERE abs(kw) > %g + 1e-6", run, FEEDER_KW), "0");
	/* SoC follows the power: discharging lowers it */
	expect_sql(pth("SELECT violations FROM dispatch_runs WHERE id = %s", run), "0");
	v = sql_value(pth("SELECT count(*) FROM dispatch_schedules WHERE run_id = %s", run));
	n = atoi(v);
	free(v);
	return n;
}

START_TEST(test_dispatch_end_to_end)
{
	static const char *const kinds[] = {"feeders", "markets", "aggregations", "sites", "ders",
	"enrollments"};
	const char *why[1] = {"could not prepare"};
	const char *b = test_build_dir();
	const char *xsd;
	derms_identity me;
	derms_err	err;
	char		path[1024], edev[32], d1[32], d6[32], a1[32], run[32], prog[32], wrun[32];
	char	   *raw, *tok, *v;
	json_t	   *j;
	it_response r;
	long long	h0 = ((long long) time(NULL) / 3600) * 3600;
	int			rows;

	if (!it_prepare(&srv, EXTRA_CONF, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("dispatch_pub", why[0]);
			return;
		}
		ck_abort_msg("harness setup failed: %s", why[0]);
	}
	/* the sample fleet names a second aggregator */
	free(sql_value("INSERT INTO tenants (name, kind) VALUES ('agg2', 'aggregator')"
				   " ON CONFLICT (name) DO NOTHING RETURNING 1"));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_int_eq(it_run("%s/dermsctl -c %s import %s tests/data/fleet/%s.csv >/dev/null",
								b, srv.conf, kinds[i], kinds[i]), 0);
	if (!it_start(&srv))
	{
		it_run("cat '%s' >&2", srv.log);
		ck_abort_msg("dermsd did not become ready");
	}

	/* the fleet: D1 behind device-demo, D6 behind a VEN only, both in A1 on F1 */
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	sql_into(pth("INSERT INTO end_devices (lfdi, sfdi, tenant_id) SELECT '%s', %llu, id"
				 " FROM tenants WHERE name = 'agg1' RETURNING id", me.lfdi,
				 (unsigned long long) me.sfdi), edev);
	sql_into(pth("UPDATE der_resources SET lfdi = '%s' WHERE external_id = 'D1' RETURNING id",
				 me.lfdi), d1);
	sql_into("INSERT INTO der_resources (kind, rated_w, rated_wh, max_charge_w, max_discharge_w,"
			 " site_id, tenant_id, external_id, ven_name, resource_name)"
			 " SELECT 'battery', 5000, 13500, 5000, 5000, s.id, s.tenant_id, 'D6', 'ven1', 'res6'"
			 " FROM sites s WHERE s.meter_id = 'M1' RETURNING id", d6);
	sql_into("SELECT id FROM aggregations WHERE name = 'A1'", a1);
	free(sql_value(pth("INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
					   " VALUES (%s, %s, now() - interval '1 day'), (%s, %s, now() - interval"
					   " '1 day') RETURNING 1", a1, d1, a1, d6)));
	free(sql_value(pth("UPDATE feeders SET hosting_capacity_kw = %g WHERE name = 'F1'"
					   " RETURNING 1", FEEDER_KW)));
	snprintf(path, sizeof(path), "/edev/%s/der/%s", edev, d1);
	r = it_https(&srv, srv.sep2_port, "PUT", pth("%s/dercap", path), "device-demo", IT_TLS_CSIP,
				 SEP2_CT, "<DERCapability " NS "><modesSupported>00500088</modesSupported>"
				 "<rtgMaxChargeRateW><multiplier>0</multiplier><value>5000</value>"
				 "</rtgMaxChargeRateW><rtgMaxW><multiplier>3</multiplier><value>10</value></rtgMaxW>"
				 "<rtgMaxWh><multiplier>3</multiplier><value>27</value></rtgMaxWh>"
				 "<type>83</type></DERCapability>");
	ck_assert_msg(r.status == 204, "PUT dercap: %ld %s", r.status, r.body);
	it_response_free(&r);
	report_soc(path, 5500);
	tok = ven_token();

	/* bad targets: 400 naming the field, nothing kept */
	json_decref(op_json("POST", pth("/api/v1/aggregations/%s/targets", a1),
						"{\"source\":\"iso\",\"intervalMinutes\":60,\"intervals\":[]}", 400, &raw));
	ck_assert_msg(strstr(raw, "source") != NULL, "%s", raw);
	free(raw);
	json_decref(op_json("POST", pth("/api/v1/aggregations/%s/targets", a1),
						pth("{\"source\":\"iso_award\",\"intervalMinutes\":60,\"intervals\":"
							"[{\"start\":%lld,\"mw\":0.01},{\"start\":%lld,\"mw\":\"ten\"}]}",
							h0, h0 + 3600), 400, &raw));
	ck_assert_msg(strstr(raw, "intervals[1].mw") != NULL, "%s", raw);
	free(raw);
	json_decref(op_json("POST", pth("/api/v1/aggregations/%s/targets", a1),
						pth("{\"source\":\"iso_award\",\"intervalMinutes\":60,\"intervals\":"
							"[{\"start\":%lld,\"mw\":0.01,\"reserveMWh\":-1}]}", h0), 400, &raw));
	ck_assert_msg(strstr(raw, "intervals[0].reserveMWh") != NULL, "%s", raw);
	free(raw);
	json_decref(op_json("POST", pth("/api/v1/aggregations/%s/targets", a1),
						pth("{\"source\":\"iso_award\",\"intervalMinutes\":60,\"intervals\":"
							"[{\"start\":%lld,\"mw\":0.01}]}", h0 + 60), 400, &raw));
	ck_assert_msg(strstr(raw, "intervals[0].start") != NULL, "%s", raw);
	free(raw);
	json_decref(op_json("POST", "/api/v1/aggregations/999999/targets",
						pth("{\"source\":\"iso_award\",\"intervalMinutes\":60,\"intervals\":"
							"[{\"start\":%lld,\"mw\":0.01}]}", h0), 404, NULL));
	expect_sql("SELECT count(*) FROM dispatch_targets", "0");

	/* an ISO award for four hours: more than the feeder allows at first */
	j = op_json("POST", pth("/api/v1/aggregations/%s/targets", a1),
				pth("{\"source\":\"iso_award\",\"intervalMinutes\":60,\"intervals\":["
					"{\"start\":%lld,\"mw\":0.012,\"pricePerMWh\":80},"
					"{\"start\":%lld,\"mw\":0.006,\"pricePerMWh\":95},"
					"{\"start\":%lld,\"mw\":-0.006,\"pricePerMWh\":20},"
					"{\"start\":%lld,\"mw\":0.002,\"pricePerMWh\":60}]}",
					h0, h0 + 3600, h0 + 7200, h0 + 10800), 201, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(j, "targets")), 4);
	json_decref(j);
	j = op_json("GET", pth("/api/v1/aggregations/%s/targets", a1), NULL, 200, NULL);
	ck_assert_int_eq(json_array_size(j), 4);
	json_decref(j);
	expect_sql("SELECT count(*) FROM audit_log WHERE action = 'dispatch.targets'", "1");

	/* run now, by the operator */
	report_soc(path, 5500);
	j = op_json("POST", pth("/api/v1/aggregations/%s/dispatch", a1), "{}", 201, &raw);
	snprintf(run, sizeof(run), "%lld", (long long) json_integer_value(json_object_get(j, "id")));
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "published");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "intervals")), 4);
	ck_assert_msg(json_number_value(json_object_get(j, "gap")) >= 0 &&
				  json_number_value(json_object_get(j, "gap")) < 0.01, "gap: %s", raw);
	/* 12 kW asked in the first hour, the feeder allows 8: a reported shortfall */
	ck_assert_msg(json_number_value(json_object_get(j, "shortfallMWh")) > 0.001, "%s", raw);
	ck_assert_int_ge(json_integer_value(json_object_get(j, "derControls")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(j, "oadrEvents")), 2);
	free(raw);
	json_decref(j);
	report_soc(path, 5500);
	rows = check_limits(run);
	ck_assert_int_eq(rows, 8);
	expect_sql(pth("SELECT string_agg(state, ',' ORDER BY der_id) FROM dispatch_run_resources"
				   " WHERE run_id = %s", run), "online,assumed");
	expect_sql(pth("SELECT count(*) FROM audit_log WHERE object = 'dispatch_run:%s'", run), "2");
	/* the instance is stored as solved, in the documented format */
	expect_sql(pth("SELECT instance ->> 'format' FROM dispatch_runs WHERE id = %s", run),
			   "dermsd-dispatch-instance/1");

	/* the device fetches its controls over mutual TLS */
	sql_into(pth("SELECT id FROM der_programs WHERE scope_kind = 'end_device' AND scope_id = %s",
				 edev), prog);
	xsd = sep_xsd();
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp", edev), "device-demo",
				 IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.status == 200 && strstr(r.body, pth("/derp/%s\"", prog)) != NULL,
				  "program not listed: %ld %s", r.status, r.body);
	if (xsd)
		xmllint(r.body, r.len, "derp.xml", xsd);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp/%s/derc", edev, prog),
				 "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "<opModTargetW>") != NULL, "no setpoint: %s", r.body);
	v = sql_value(pth("SELECT count(*) FROM der_controls WHERE dispatch_run_id = %s", run));
	ck_assert_msg(strstr(r.body, pth("all=\"%s\"", v)) != NULL, "want %s controls: %s", v,
				  r.body);
	free(v);
	if (xsd)
		xmllint(r.body, r.len, "derc.xml", xsd);
	it_response_free(&r);
	/* the first control is the first interval's setpoint, in W */
	v = sql_value(pth("SELECT round(power_kw * 1000) FROM dispatch_schedules WHERE run_id = %s"
					  " AND der_id = %s ORDER BY interval_start LIMIT 1", run, d1));
	expect_sql(pth("SELECT (base -> 'opModTargetW' ->> 'value')::bigint * 10 ^"
				   " (base -> 'opModTargetW' ->> 'multiplier')::int FROM der_controls"
				   " WHERE dispatch_run_id = %s ORDER BY start_time LIMIT 1", run), v);
	free(v);

	/* the VEN fetches its events: one per resource, setpoints in kW */
	{
		char		auth[4200];
		const char *hs[2] = {auth, NULL};

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
		r = it_https_h(&srv, srv.vtn_port, "GET", "/events?targets=res6", NULL, IT_TLS_DEFAULT,
					   NULL, NULL, hs);
		ck_assert_msg(r.status == 200, "VEN GET /events: %ld %s", r.status, r.body);
		j = json_loads(r.body, 0, NULL);
		ck_assert_msg(json_array_size(j) == 1, "events: %s", r.body);
		{
			json_t	   *e = json_array_get(j, 0);
			json_t	   *iv = json_object_get(e, "intervals");
			json_t	   *pl = json_array_get(json_object_get(json_array_get(iv, 0), "payloads"), 0);

			ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "targets"), 0)),
							 "res6");
			ck_assert_int_eq(json_array_size(iv), 4);
			ck_assert_str_eq(json_string_value(json_object_get(pl, "type")), "DISPATCH_SETPOINT");
			v = sql_value(pth("SELECT round(power_kw::numeric, 3)::float8 FROM dispatch_schedules"
							  " WHERE run_id = %s AND der_id = %s ORDER BY interval_start"
							  " LIMIT 1", run, d6));
			ck_assert_msg(fabs(json_number_value(json_array_get(json_object_get(pl, "values"), 0))
							   - atof(v)) < 1e-3, "value: %s want %s", r.body, v);
			free(v);
		}
		json_decref(j);
		it_response_free(&r);
	}

	/* schedules as JSON and CSV, the run's summary, the plot */
	j = op_json("GET", pth("/api/v1/dispatch-runs/%s/schedules", run), NULL, 200, NULL);
	ck_assert_int_eq(json_array_size(json_object_get(j, "resources")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(json_array_get(
											  json_object_get(j, "resources"), 0), "intervals")), 4);
	json_decref(j);
	r = it_https(&srv, srv.vtn_port, "GET", pth("/api/v1/dispatch-runs/%s/schedules?format=csv",
												 run), "operator-demo", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strncmp(r.body, "run,der_id,external_id,interval_start,power_kw,soc\n", 51) == 0,
				  "csv: %s", r.body);
	ck_assert_msg(strstr(r.body, ",D6,") != NULL, "csv: %s", r.body);
	it_response_free(&r);
	json_decref(op_json("GET", pth("/api/v1/dispatch-runs/%s", run), NULL, 200, NULL));
	json_decref(op_json("GET", "/api/v1/dispatch-runs/999999", NULL, 404, NULL));
	r = it_https(&srv, srv.vtn_port, "GET", pth("/api/v1/dispatch-runs/%s/plot.svg", run),
				 "operator-demo", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "<svg") != NULL && strstr(r.body, "D6") != NULL, "%s", r.body);
	xmllint(r.body, r.len, "plot.svg", NULL);
	it_response_free(&r);
	/* an aggregator is not the operator here */
	r = it_https(&srv, srv.vtn_port, "GET", pth("/api/v1/dispatch-runs/%s", run),
				 "aggregator-demo", IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);

	/* the device stops reporting: the role dispatches A1 without it */
	{
		bool		redispatched;

	redispatched = IT_WAIT(({
		char	   *x = sql_value(pth("SELECT coalesce(max(id), 0) FROM dispatch_runs"
									  " WHERE id > %s AND reason LIKE '%%offline%%'", run));
		bool		got = strcmp(x, "0") != 0;

		if (got)
			snprintf(wrun, sizeof(wrun), "%s", x);
		free(x);
		got;
	}), 40000);
	if (!redispatched)
		it_run("grep -i dispatch '%s' >&2", srv.log);
	ck_assert_msg(redispatched, "no re-dispatch after the device went quiet");
	}
	expect_sql(pth("SELECT reason FROM dispatch_runs WHERE id = %s", wrun),
			   pth("resource %s went offline (last status at %s)", d1,
				   sql_value(pth("SELECT received_at FROM der_reports WHERE der_id = %s"
								 " AND resource = 'status' ORDER BY id DESC LIMIT 1", d1))));
	expect_sql(pth("SELECT string_agg(state, ',' ORDER BY der_id) FROM dispatch_run_resources"
				   " WHERE run_id = %s", wrun), "offline,assumed");
	expect_sql(pth("SELECT count(DISTINCT der_id) || ' ' || min(der_id) FROM dispatch_schedules"
				   " WHERE run_id = %s", wrun), pth("1 %s", d6));
	check_limits(wrun);
	/* its controls from the earlier run are cancelled, the VEN's events replaced */
	expect_sql(pth("SELECT count(*) FROM der_controls WHERE dispatch_run_id = %s"
				   " AND cancelled_at IS NULL", run), "0");
	expect_sql(pth("SELECT count(*) FROM oadr_events WHERE dispatch_run_id = %s", run), "0");
	expect_sql(pth("SELECT status || ' ' || der_controls || ' ' || oadr_events FROM dispatch_runs"
				   " WHERE id = %s", wrun), "published 0 1");
	expect_sql(pth("SELECT actor FROM audit_log WHERE object = 'dispatch_run:%s'"
				   " AND action = 'dispatch.run'", wrun), "dispatch");

	/* dermsctl: run without publishing, show as CSV and plot */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s dispatch run --aggregation %s --no-publish"
							" > %s/run.json", b, srv.conf, a1, srv.dir), 0);
	expect_sql(pth("SELECT status FROM dispatch_runs WHERE id = (SELECT max(id) FROM"
				   " dispatch_runs)"), "solved");
	ck_assert_int_eq(it_run("%s/dermsctl -c %s dispatch show %s --csv | grep -c ',D6,'"
							" | grep -qx 4", b, srv.conf, run), 0);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s dispatch show %s --plot %s/ctl.svg", b, srv.conf,
							run, srv.dir), 0);
	if (have_tool("xmllint"))
		ck_assert_int_eq(it_run("xmllint --noout --nonet %s/ctl.svg", srv.dir), 0);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s dispatch show 999999 2>/dev/null", b,
							srv.conf), 3);
	free(tok);
	it_cleanup(&srv);
}
END_TEST

Suite *
dispatch_pub_suite(void)
{
	Suite	   *s = suite_create("dispatch_pub");
	TCase	   *tc = tcase_create("dispatch_pub");

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, test_dispatch_end_to_end);
	suite_add_tcase(s, tc);
	return s;
}
