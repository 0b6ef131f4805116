/*
 * tests/integration/test_oadr_grid.c
 *	  One fleet, one event model, end to end on a real dermsd:
 *	  - a grid event created once by the operator (POST
 *	    /api/v1/aggregations/{id}/events) shows up as an IEEE 2030.5
 *	    DERControl for the aggregation's device (GET over mutual TLS,
 *	    valid against sep.xsd) and as an OpenADR event for the
 *	    aggregator's VEN (GET /events through Prism); cancelling cancels
 *	    both; the utility's BL token speaks for the operator; a capacity
 *	    limit as a CSIP-AUS DERControl (valid against
 *	    csipaus-core-v1.3.xsd), a price as an event only; refusals;
 *	  - OpenADR reports written as telemetry into the mirror readings the
 *	    2030.5 side uses, for the DER the reported resource maps to, and
 *	    replaced by a PUT, removed by a DELETE.
 *
 * NOTES
 *	  The fleet rows (device, DER, aggregation, membership) are made with
 *	  SQL, as the fleet import would make them; the device is the harness's
 *	  device-demo certificate.  Without the test cluster the tests print
 *	  SKIP; without Prism or sep.xsd those checks print SKIP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "harness.h"
#include "prism.h"
#include "server/identity.h"
#include "tests/suites.h"

#define JSON_CT "application/json"
#define EXTRA_CONF "[vtn]\nca_file = pki/trust.pem\n[notify]\nworkers = 0\n"

typedef struct actor
{
	const char *label;
	char		id[512];
	char		secret[512];
	char	   *token;
} actor;

/* the fleet made by scene() */
typedef struct fleet
{
	char		edev[32];		/* end_devices.id */
	char		der[32];
	char		agg[32];
	actor		ubl;			/* the utility's BL */
	actor		abl;			/* agg1's BL */
	actor		ven;			/* agg1's VEN, granted target RES-1 */
} fleet;

static it_server srv;
static it_prism prism;

/* ---- plumbing ---- */

static bool
up(void)
{
	const char *why[1] = {"could not prepare"};

	if (!it_prepare(&srv, EXTRA_CONF, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("oadr_grid", why[0]);
			return false;
		}
		ck_abort_msg("harness setup failed: %s", why[0]);
	}
	if (!it_start(&srv))
	{
		it_run("cat '%s' >&2", srv.log);
		ck_abort_msg("dermsd did not become ready");
	}
	return true;
}

static void
teardown(void)
{
	it_prism_stop(&prism);
	it_cleanup(&srv);
}

static const char *
pth(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static const char *
pth(const char *fmt,...)
{
	static char bufs[8][2048];
	static int	next;
	char	   *b = bufs[next++ % 8];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(bufs[0]), fmt, ap);
	va_end(ap);
	return b;
}

static char *
sql_value(const char *sql)
{
	char		cmd[4096];
	char		line[2048] = "";
	FILE	   *p;

	snprintf(cmd, sizeof(cmd), "psql -qAtX -v ON_ERROR_STOP=1 '%s' -c \"%s\"", srv.conninfo, sql);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	pclose(p);
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

static void
make_actor(actor *a, const char *label, const char *args)
{
	char		cmd[2048], line[512], body[2048];
	FILE	   *p;
	it_response r;
	json_t	   *j;

	memset(a, 0, sizeof(*a));
	a->label = label;
	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s vtn client create %s",
			 test_build_dir(), srv.conf, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p))
	{
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "client_id=", 10) == 0)
			snprintf(a->id, sizeof(a->id), "%s", line + 10);
		else if (strncmp(line, "client_secret=", 14) == 0)
			snprintf(a->secret, sizeof(a->secret), "%s", line + 14);
	}
	ck_assert_int_eq(pclose(p), 0);
	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=%s", a->id, a->secret);
	r = it_https(&srv, srv.vtn_port, "POST", "/auth/token", NULL, IT_TLS_DEFAULT,
				 "application/x-www-form-urlencoded", body);
	ck_assert_msg(r.status == 200, "%s: token: %ld %s", label, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	a->token = strdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	it_response_free(&r);
}

/* A VTN request with a's token (NULL a: as cert, on the VTN listener). */
static it_response
vtn(const actor *a, const char *cert, const char *method, const char *path,
	const char *body)
{
	char		auth[4200];
	const char *hs[2] = {auth, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a ? a->token : "");
	return it_https_h(&srv, srv.vtn_port, method, path, cert, IT_TLS_DEFAULT,
					  body ? JSON_CT : NULL, body, a ? hs : NULL);
}

/* The same, expecting want; the body parsed (new reference). */
static json_t *
vtn_json(const actor *a, const char *cert, const char *method, const char *path,
		 const char *body, long want)
{
	it_response r = vtn(a, cert, method, path, body);
	json_t	   *j;

	ck_assert_msg(r.status == want, "%s %s: %ld, want %ld: %s", method, path, r.status, want,
				  r.body);
	j = json_loads(r.body, JSON_DECODE_ANY, NULL);
	ck_assert_msg(j != NULL, "%s %s: not JSON: %s", method, path, r.body);
	it_response_free(&r);
	return j;
}

/* doc valid against the spec's sep2/NAME (sep.xsd, csipaus-core-v1.3.xsd) */
static void
check_schema(const char *name, const char *doc, size_t len)
{
	char		xsd[1024], file[1024];
	struct stat st;
	FILE	   *f;

	snprintf(xsd, sizeof(xsd), "%s/sep2/%s", test_spec_dir(), name);
	if (stat(xsd, &st) != 0)
	{
		test_skip(name, "spec file not found (set DERMS_SPEC_DIR)");
		return;
	}
	snprintf(file, sizeof(file), "%s/derc.xml", srv.dir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(doc, 1, len, f);
	fclose(f);
	ck_assert_msg(it_run("xmllint --noout --nonet --schema '%s' '%s' 2>&1", xsd, file) == 0,
				  "document not valid against %s: %.*s", name, (int) len, doc);
}

static void
check_sep2_schema(const char *doc, size_t len)
{
	check_schema("sep.xsd", doc, len);
}

/*
 * The device-demo EndDevice with one battery (external id D1, OpenADR
 * identity VEN-A1/res1) in aggregation A1 (ISO resource RES-1) of agg1;
 * agg1's BL, and its VEN granted RES-1.
 */
static void
scene(fleet *f)
{
	derms_identity me;
	derms_err	err;
	char		path[1024], v[32];
	json_t	   *j;

	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	ck_assert_int_eq(identity_from_pem_file(path, &me, &err), DERMS_OK);
	make_actor(&f->ubl, "utility BL", "--name u-bl --role bl");
	make_actor(&f->abl, "agg1 BL", "--name a-bl --role bl --tenant agg1");
	make_actor(&f->ven, "agg1 VEN", "--name a-v1 --role ven --tenant agg1");
	sql_into(pth("INSERT INTO end_devices (lfdi, sfdi, tenant_id) SELECT '%s', %llu, id"
				 " FROM tenants WHERE name = 'agg1' RETURNING id", me.lfdi,
				 (unsigned long long) me.sfdi), f->edev);
	sql_into(pth("INSERT INTO der_resources (end_device_id, kind, rated_w, tenant_id, external_id,"
				 " lfdi, ven_name, resource_name) SELECT %s, 'battery', 10000, id, 'D1', '%s',"
				 " 'VEN-A1', 'res1' FROM tenants WHERE name = 'agg1' RETURNING id",
				 f->edev, me.lfdi), f->der);
	sql_into("INSERT INTO aggregations (tenant_id, name, iso_resource_id) SELECT id, 'A1',"
			 " 'RES-1' FROM tenants WHERE name = 'agg1' RETURNING id", f->agg);
	free(sql_value(pth("INSERT INTO aggregation_members (aggregation_id, der_id, effective_from)"
					   " VALUES (%s, %s, now() - interval '1 day') RETURNING 1", f->agg,
					   f->der)));
	j = vtn_json(&f->abl, NULL, "POST", "/vens",
				 pth("{\"objectType\":\"BL_VEN_REQUEST\",\"clientID\":\"%s\","
					 "\"venName\":\"VEN-A1\",\"targets\":[\"RES-1\"]}", f->ven.id), 201);
	snprintf(v, sizeof(v), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
}

/* ---- one event, both protocols ---- */

START_TEST(test_one_event_both_protocols)
{
	fleet		f;
	json_t	   *g, *j;
	char		gid[32], cid[32], eid[32], prog[32];
	long long	start = (long long) time(NULL) + 3600;
	it_response r;
	bool		skip;
	const char *why = NULL;

	if (!up())
		return;
	scene(&f);

	/* created once, by the operator's certificate */
	g = vtn_json(NULL, "operator-demo", "POST", pth("/api/v1/aggregations/%s/events", f.agg),
				 pth("{\"kind\":\"dispatch_setpoint\",\"units\":\"KW\",\"intervals\":["
					 "{\"start\":%lld,\"duration\":900,\"value\":5},"
					 "{\"start\":%lld,\"duration\":900,\"value\":-120.5}]}", start, start + 900),
				 201);
	snprintf(gid, sizeof(gid), "%lld", (long long) json_integer_value(json_object_get(g, "id")));
	ck_assert_str_eq(json_string_value(json_object_get(g, "status")), "active");
	ck_assert_int_eq(json_array_size(json_object_get(g, "derControls")), 2);
	ck_assert_int_eq(json_array_size(json_object_get(g, "oadrEvents")), 1);
	snprintf(cid, sizeof(cid), "%lld",
			 (long long) json_integer_value(json_array_get(json_object_get(g, "derControls"), 0)));
	snprintf(eid, sizeof(eid), "%s",
			 json_string_value(json_array_get(json_object_get(g, "oadrEvents"), 0)));
	json_decref(g);
	/* one record; both carry its id; audited */
	expect_sql(pth("SELECT count(*) FROM der_controls WHERE grid_event_id = %s", gid), "2");
	expect_sql(pth("SELECT grid_event_id FROM oadr_events WHERE id = %s", eid), gid);
	expect_sql("SELECT count(*) FROM audit_log WHERE action = 'grid_event.create'", "1");

	/* as a DERControl for the aggregation's device, over mutual TLS */
	sql_into(pth("SELECT program_id FROM der_controls WHERE id = %s", cid), prog);
	expect_sql(pth("SELECT scope_kind || ' ' || scope_id FROM der_programs WHERE id = %s", prog),
			   pth("aggregation %s", f.agg));
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp", f.edev), "device-demo",
				 IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(r.status == 200 && strstr(r.body, pth("/derp/%s\"", prog)) != NULL,
				  "program not listed: %ld %s", r.status, r.body);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp/%s/derc", f.edev, prog),
				 "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_msg(strstr(r.body, "all=\"2\"") != NULL, "two controls: %s", r.body);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp/%s/derc/%s", f.edev, prog, cid),
				 "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	check_sep2_schema(r.body, r.len);
	/* 5 kW = 5000 W: value 5000, multiplier 0 */
	ck_assert_msg(strstr(r.body, "<opModTargetW><multiplier>0</multiplier><value>5000</value>"
						 "</opModTargetW>") != NULL, "setpoint: %s", r.body);
	ck_assert_msg(strstr(r.body, pth("<start>%lld</start>", start)) != NULL, "start: %s", r.body);
	ck_assert_msg(strstr(r.body, "<currentStatus>0</currentStatus>") != NULL, "status: %s",
				  r.body);
	it_response_free(&r);
	/* -120.5 kW does not fit an Int16 in W: multiplier 1 */
	expect_sql(pth("SELECT base::text FROM der_controls WHERE grid_event_id = %s"
				   " ORDER BY id OFFSET 1", gid),
			   "{\"opModTargetW\": {\"value\": \"-12050\", \"multiplier\": \"1\"}}");

	/* as an OpenADR event for the aggregator's VEN, through Prism */
	if (!it_prism_start(&prism, &srv, &skip, &why))
	{
		ck_assert_msg(skip, "%s", why);
		test_skip("oadr_grid through Prism", why);
	}
	else
	{
		char		auth[4200];
		const char *hs[2] = {auth, NULL};
		char	   *viol;

		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f.ven.token);
		r = it_prism_request(&prism, "GET", "/events?targets=RES-1", NULL, NULL, hs);
		viol = it_prism_violations(&r);
		ck_assert_msg(viol == NULL, "sl-violations: %s", viol);
		ck_assert_int_eq(r.status, 200);
		j = json_loads(r.body, 0, NULL);
		ck_assert_msg(json_array_size(j) == 1, "events: %s", r.body);
		{
			json_t	   *e = json_array_get(j, 0);
			json_t	   *iv = json_object_get(e, "intervals");
			json_t	   *pl = json_array_get(json_object_get(json_array_get(iv, 0), "payloads"), 0);

			ck_assert_str_eq(json_string_value(json_object_get(e, "id")), eid);
			ck_assert_str_eq(json_string_value(json_array_get(json_object_get(e, "targets"), 0)),
							 "RES-1");
			ck_assert_int_eq(json_array_size(iv), 2);
			ck_assert_str_eq(json_string_value(json_object_get(pl, "type")), "DISPATCH_SETPOINT");
			ck_assert(json_number_value(json_array_get(json_object_get(pl, "values"), 0)) == 5);
			ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
								 json_object_get(e, "payloadDescriptors"), 0), "units")), "KW");
		}
		json_decref(j);
		it_response_free(&r);
		r = it_prism_request(&prism, "GET", pth("/events/%s", eid), NULL, NULL, hs);
		viol = it_prism_violations(&r);
		ck_assert_msg(viol == NULL && r.status == 200, "GET /events/%s: %ld %s", eid, r.status,
					  viol ? viol : r.body);
		it_response_free(&r);
	}

	/* listed and read back by the operator */
	j = vtn_json(NULL, "operator-demo", "GET", pth("/api/v1/aggregations/%s/events", f.agg), NULL,
				 200);
	ck_assert_int_eq(json_array_size(j), 1);
	json_decref(j);

	/* cancelled once: both sides */
	j = vtn_json(NULL, "operator-demo", "POST",
				 pth("/api/v1/aggregations/%s/events/%s/cancel", f.agg, gid), NULL, 200);
	ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "cancelled");
	ck_assert_int_eq(json_array_size(json_object_get(j, "oadrEvents")), 0);
	json_decref(j);
	expect_sql(pth("SELECT count(*) FROM der_controls WHERE grid_event_id = %s"
				   " AND cancelled_at IS NOT NULL", gid), "2");
	r = it_https(&srv, srv.sep2_port, "GET", pth("/edev/%s/derp/%s/derc/%s", f.edev, prog, cid),
				 "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_msg(strstr(r.body, "<currentStatus>2</currentStatus>") != NULL,
				  "not cancelled: %s", r.body);
	check_sep2_schema(r.body, r.len);
	it_response_free(&r);
	j = vtn_json(&f.ven, NULL, "GET", pth("/events/%s", eid), NULL, 404);
	json_decref(j);
	j = vtn_json(NULL, "operator-demo", "POST",
				 pth("/api/v1/aggregations/%s/events/%s/cancel", f.agg, gid), NULL, 409);
	json_decref(j);
	expect_sql("SELECT count(*) FROM audit_log WHERE action LIKE 'grid_event.%'", "2");
}
END_TEST

/* The utility's BL token is the operator here; prices are OpenADR only. */
START_TEST(test_bl_and_refusals)
{
	fleet		f;
	json_t	   *g;
	long long	start = (long long) time(NULL) + 7200;
	const char *path;
	it_response r;

	if (!up())
		return;
	scene(&f);
	path = pth("/api/v1/aggregations/%s/events", f.agg);
	g = vtn_json(&f.ubl, NULL, "POST", path,
				 pth("{\"kind\":\"price\",\"units\":\"KWH\",\"eventName\":\"peak price\","
					 "\"intervals\":[{\"start\":%lld,\"duration\":3600,\"value\":0.42}]}", start),
				 201);
	ck_assert_int_eq(json_array_size(json_object_get(g, "derControls")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(g, "oadrEvents")), 1);
	json_decref(g);
	expect_sql("SELECT body #>> '{intervals,0,payloads,0,type}' || ' ' || (body ->> 'eventName')"
			   " FROM oadr_events", "PRICE peak price");
	expect_sql("SELECT actor LIKE 'bl:%' FROM audit_log WHERE action = 'grid_event.create'", "t");
	g = vtn_json(&f.ubl, NULL, "POST", path,
				 pth("{\"kind\":\"export_capacity_limit\",\"intervals\":[{\"start\":%lld,"
					 "\"duration\":3600,\"value\":40}]}", start), 201);
	ck_assert_int_eq(json_array_size(json_object_get(g, "derControls")), 1);
	{
		long long	cid = json_integer_value(json_array_get(json_object_get(g, "derControls"), 0));
		char		prog[32];

		sql_into(pth("SELECT program_id FROM der_controls WHERE id = %lld", cid), prog);
		r = it_https(&srv, srv.sep2_port, "GET",
					 pth("/edev/%s/derp/%s/derc/%lld", f.edev, prog, cid), "device-demo",
					 IT_TLS_CSIP, NULL, NULL);
		ck_assert_int_eq(r.status, 200);
		/* a CSIP-AUS export limit: 40 kW = 4000 x 10^1 W */
		ck_assert_msg(strstr(r.body, "opModExpLimW") != NULL &&
					  strstr(r.body, "<multiplier>1</multiplier><value>4000</value>") != NULL,
					  "export limit: %s", r.body);
		check_schema("csipaus-core-v1.3.xsd", r.body, r.len);
		it_response_free(&r);
	}
	json_decref(g);
	expect_sql("SELECT count(*) FROM oadr_events WHERE body #>> '{payloadDescriptors,0,payloadType}'"
			   " = 'EXPORT_CAPACITY_LIMIT'", "1");
	/* one grid program per tenant */
	expect_sql("SELECT count(*) || ' ' || min(program_name) FROM oadr_programs", "1 grid-agg1");

	/* refusals */
	json_decref(vtn_json(&f.ubl, NULL, "POST", path, "{\"kind\":\"nope\",\"intervals\":[]}", 400));
	json_decref(vtn_json(&f.ubl, NULL, "POST", path,
						 "{\"kind\":\"price\",\"intervals\":[{\"start\":1}]}", 400));
	json_decref(vtn_json(&f.ubl, NULL, "POST", path,
						 "{\"kind\":\"dispatch_setpoint\",\"units\":\"KWH\",\"intervals\":"
						 "[{\"start\":1,\"duration\":60,\"value\":1}]}", 400));
	json_decref(vtn_json(&f.ubl, NULL, "POST", path,
						 "{\"kind\":\"price\",\"extra\":1,\"intervals\":"
						 "[{\"start\":1,\"duration\":60,\"value\":1}]}", 400));
	json_decref(vtn_json(&f.ubl, NULL, "POST", path,
						 "{\"kind\":\"price\",\"intervals\":[{\"start\":100,\"duration\":60,"
						 "\"value\":1},{\"start\":120,\"duration\":60,\"value\":1}]}", 400));
	json_decref(vtn_json(&f.ubl, NULL, "POST", "/api/v1/aggregations/999999/events",
						 "{\"kind\":\"price\",\"intervals\":[{\"start\":1,\"duration\":60,"
						 "\"value\":1}]}", 404));
	json_decref(vtn_json(NULL, "operator-demo", "GET",
						 pth("/api/v1/aggregations/%s/events/999999", f.agg), NULL, 404));
	/* an aggregator's BL or certificate and a VEN: not the operator */
	r = vtn(&f.abl, NULL, "POST", path, "{\"kind\":\"price\",\"intervals\":[]}");
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	r = vtn(NULL, "aggregator-demo", "GET", path, NULL);
	ck_assert_int_eq(r.status, 404);
	it_response_free(&r);
	r = vtn(&f.ven, NULL, "GET", path, NULL);
	ck_assert_msg(r.status == 404 || r.status == 403, "VEN: %ld", r.status);
	it_response_free(&r);
	/* nothing of the refused requests was kept */
	expect_sql("SELECT count(*) FROM grid_events", "2");
}
END_TEST

/* ---- reports as telemetry ---- */

static const char *
report_body(const char *event_id, const char *resource, const char *type, const char *units,
			const char *intervals)
{
	return pth("{\"eventID\":\"%s\",\"clientName\":\"VEN-A1\",\"payloadDescriptors\":"
			   "[{\"objectType\":\"REPORT_PAYLOAD_DESCRIPTOR\",\"payloadType\":\"%s\","
			   "\"units\":\"%s\"}],\"resources\":[{\"resourceName\":\"%s\",\"intervalPeriod\":"
			   "{\"start\":\"2030-01-01T00:00:00Z\",\"duration\":\"PT15M\"},\"intervals\":%s}]}",
			   event_id, type, units, resource, intervals);
}

/* readings of DER der for payload type, "start=value;..." by start */
static char *
readings_of(const char *der, const char *type)
{
	return sql_value(pth("SELECT coalesce(string_agg(to_char(r.interval_start AT TIME ZONE 'UTC',"
						 " 'HH24:MI') || '=' || r.value || '/' || r.duration_s, ';'"
						 " ORDER BY r.interval_start), '')"
						 " FROM readings r JOIN mirror_meter_readings m ON m.id = r.mmr_id"
						 " JOIN mirror_usage_points u ON u.id = m.mup_id"
						 " JOIN der_resources d ON d.lfdi = u.device_lfdi"
						 " WHERE d.id = %s AND m.doc ->> 'description' = '%s'", der, type));
}

START_TEST(test_reports_as_telemetry)
{
	fleet		f;
	json_t	   *g, *j;
	char		eid[32], rid[32], rid2[32];
	char	   *v;
	long long	start = (long long) time(NULL) + 3600;

	if (!up())
		return;
	scene(&f);
	g = vtn_json(NULL, "operator-demo", "POST", pth("/api/v1/aggregations/%s/events", f.agg),
				 pth("{\"kind\":\"dispatch_setpoint\",\"intervals\":[{\"start\":%lld,"
					 "\"duration\":900,\"value\":5}]}", start), 201);
	snprintf(eid, sizeof(eid), "%s",
			 json_string_value(json_array_get(json_object_get(g, "oadrEvents"), 0)));
	json_decref(g);

	/* USAGE of res1 (VEN-A1's resource name): two 15-minute intervals in Wh */
	j = vtn_json(&f.ven, NULL, "POST", "/reports",
				 report_body(eid, "res1", "USAGE", "KWH",
							 "[{\"id\":0,\"payloads\":[{\"type\":\"USAGE\",\"values\":[2.5]}]},"
							 "{\"id\":1,\"payloads\":[{\"type\":\"USAGE\",\"values\":[1.25]}]}]"),
				 201);
	snprintf(rid, sizeof(rid), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	v = readings_of(f.der, "USAGE");
	ck_assert_str_eq(v, "00:00=2500/900;00:15=1250/900");
	free(v);
	/* the settlement view sees it as the DER's interval energy */
	expect_sql(pth("SELECT string_agg(kwh::text || ' ' || source, ',' ORDER BY interval_start)"
				   " FROM settlement_interval_data WHERE der_id = %s", f.der),
			   "2.5 sep2,1.25 sep2");
	/* written again by the same report: idempotent */
	expect_sql("SELECT count(*) FROM oadr_report_readings", "2");

	/* a PUT replaces the report's readings */
	json_decref(vtn_json(&f.ven, NULL, "PUT", pth("/reports/%s", rid),
						 report_body(eid, "res1", "USAGE", "WH",
									 "[{\"id\":0,\"intervalPeriod\":{\"start\":"
									 "\"2030-01-01T01:00:00Z\",\"duration\":\"PT1H\"},"
									 "\"payloads\":[{\"type\":\"USAGE\",\"values\":[900]}]}]"),
						 200));
	v = readings_of(f.der, "USAGE");
	ck_assert_str_eq(v, "01:00=900/3600");
	free(v);

	/* DEMAND by the DER's external id, in kW, as power (uom 38) */
	j = vtn_json(&f.ven, NULL, "POST", "/reports",
				 report_body(eid, "D1", "DEMAND", "KW",
							 "[{\"id\":0,\"payloads\":[{\"type\":\"DEMAND\",\"values\":[3.2]}]}]"),
				 201);
	snprintf(rid2, sizeof(rid2), "%s", json_string_value(json_object_get(j, "id")));
	json_decref(j);
	v = readings_of(f.der, "DEMAND");
	ck_assert_str_eq(v, "00:00=3200/900");
	free(v);
	expect_sql("SELECT reading_type ->> 'uom' FROM mirror_meter_readings"
			   " WHERE doc ->> 'description' = 'DEMAND'", "38");

	/* a resource that maps to no DER writes nothing */
	json_decref(vtn_json(&f.ven, NULL, "POST", "/reports",
						 report_body(eid, "unknown-res", "USAGE", "KWH",
									 "[{\"id\":0,\"payloads\":[{\"type\":\"USAGE\","
									 "\"values\":[7]}]}]"), 201));
	expect_sql("SELECT count(*) FROM readings", "2");

	/* DELETE removes what the report wrote */
	json_decref(vtn_json(&f.ven, NULL, "DELETE", pth("/reports/%s", rid), NULL, 200));
	v = readings_of(f.der, "USAGE");
	ck_assert_str_eq(v, "");
	free(v);
	v = readings_of(f.der, "DEMAND");
	ck_assert_str_eq(v, "00:00=3200/900");
	free(v);
	(void) rid2;
}
END_TEST

Suite *
oadr_grid_suite(void)
{
	Suite	   *s = suite_create("oadr_grid");
	TCase	   *tc = tcase_create("oadr_grid");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_one_event_both_protocols);
	tcase_add_test(tc, test_bl_and_refusals);
	tcase_add_test(tc, test_reports_as_telemetry);
	suite_add_tcase(s, tc);
	return s;
}
