/*
 * tests/integration/test_oadr.c
 *	  The OpenADR 3.1 VTN object API end to end: a real dermsd, clients
 *	  made by dermsctl, OAuth2 tokens from /auth/token, requests over
 *	  HTTPS.  Every operation of /programs, /events, /reports,
 *	  /subscriptions, /vens and /resources passes Prism as a validating
 *	  proxy; refusals (400, 401, 403, 404, 409) go straight to dermsd; a
 *	  privacy matrix of two aggregators with two VENs each; notifications
 *	  of cascaded deletes and the programID of subscriptions.
 *
 * NOTES
 *	  Request bodies start from the files in tests/data/openadr/ (run from the
 *	  repository root, as tests/run.sh does).  Notifications are checked
 *	  as rows of notify_outbox or oadr_held (the notify workers are off
 *	  here, so callbacks stay unverified and their notifications held),
 *	  not as deliveries; test_oadr_webhook.c delivers them.  Without Prism or the YAML the conformance tests print a
 *	  SKIP; the rest still run.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"
#include "prism.h"
#include "protocols/openadr/jwt.h"
#include "tests/suites.h"

#define JSON_CT "application/json"
#define EXTRA_CONF "[notify]\nworkers = 0\n"

typedef struct actor
{
	const char *label;
	char		id[512];
	char		secret[512];
	char	   *token;
} actor;

static it_server srv;
static it_prism prism;

/* ---- setup ---- */

static bool
up(void)
{
	const char *why[1] = {"could not prepare"};

	if (!it_prepare(&srv, EXTRA_CONF, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("oadr", why[0]);
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

/* up(), then Prism in front of it; false (after a SKIP) without Prism */
static bool
up_prism(const char *what)
{
	bool		skip;
	const char *why = NULL;

	if (!up())
		return false;
	if (!it_prism_start(&prism, &srv, &skip, &why))
	{
		if (skip)
		{
			test_skip(what, why);
			return false;
		}
		ck_abort_msg("%s", why);
	}
	return true;
}

static void
teardown(void)
{
	it_prism_stop(&prism);
	it_cleanup(&srv);
}

/* A client made by dermsctl (args after "create"), and its token. */
static void
make_actor(actor *a, const char *label, const char *args)
{
	char		cmd[2048];
	char		line[512];
	char		body[2048];
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
	ck_assert_msg(a->id[0] && a->secret[0], "%s: dermsctl printed no credentials", label);

	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=%s", a->id, a->secret);
	r = it_https(&srv, srv.vtn_port, "POST", "/auth/token", NULL, IT_TLS_DEFAULT,
				 "application/x-www-form-urlencoded", body);
	ck_assert_msg(r.status == 200, "%s: token: %ld %s", label, r.status, r.body);
	j = json_loads(r.body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	a->token = strdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	it_response_free(&r);
}

/* ---- requests ---- */

/* A path from a format, in one of a few rotating buffers. */
static const char *
pth(const char *fmt,...) __attribute__((format(printf, 1, 2)));

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

static it_response
send_req(bool via_prism, const char *token, const char *method, const char *path,
		 const char *ctype, const char *body)
{
	char		auth[4200];
	const char *hs[2] = {auth, NULL};

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	if (via_prism)
		return it_prism_request(&prism, method, path, ctype, body, token ? hs : NULL);
	return it_https_h(&srv, srv.vtn_port, method, path, NULL, IT_TLS_DEFAULT, ctype, body,
					  token ? hs : NULL);
}

/*
 * The violations Prism reported for path, less the one no server can
 * avoid: the YAML's ven and resource schemas are allOf objectMetadata
 * (objectType one of PROGRAM ... RESOURCE) and BlVenRequest /
 * BlResourceRequest (objectType BL_VEN_REQUEST / BL_RESOURCE_REQUEST), so
 * no objectType satisfies both; dermsd serves VEN and RESOURCE
 * (protocols/openadr/DESIGN.md) and Prism reports the other enum.  NULL
 * when nothing else is left; otherwise malloc'd JSON text.  v is freed.
 */
static char *
real_violations(const char *path, char *v)
{
	bool		ven_like = strncmp(path, "/vens", 5) == 0 ||
		strncmp(path, "/resources", 10) == 0;
	json_t	   *all;
	json_t	   *left;
	json_t	   *e;
	size_t		i;
	char	   *out;

	if (v == NULL)
		return NULL;
	all = json_loads(v, 0, NULL);
	if (!json_is_array(all))
	{
		json_decref(all);
		return v;
	}
	left = json_array();
	json_array_foreach(all, i, e)
	{
		json_t	   *loc = json_object_get(e, "location");
		size_t		n = json_array_size(loc);
		const char *first = json_string_value(json_array_get(loc, 0));
		const char *last = json_string_value(json_array_get(loc, n - 1));
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		bool		known = ven_like && n >= 3 && last && strcmp(last, "objectType") == 0 &&
			first && strcmp(first, "response") == 0 &&
			code && strcmp(code, "enum") == 0 && msg &&
			(strstr(msg, ": BL_VEN_REQUEST") || strstr(msg, ": BL_RESOURCE_REQUEST"));

		if (!known)
			json_array_append(left, e);
	}
	out = json_array_size(left) > 0 ? json_dumps(left, JSON_COMPACT) : NULL;
	json_decref(left);
	json_decref(all);
	free(v);
	return out;
}

/*
 * An exchange that must succeed: status want and, through Prism, no
 * sl-violations header (but the one real_violations() explains).  body
 * is stolen (may be NULL); returns the response body parsed (new
 * reference).
 */
static json_t *
call(bool via_prism, const actor *a, const char *method, const char *path, json_t *body,
	 long want)
{
	char	   *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	it_response r;
	char	   *v;
	json_t	   *j;

	json_decref(body);
	r = send_req(via_prism, a->token, method, path, text ? JSON_CT : NULL, text);
	ck_assert_msg(r.curl_rc == 0, "%s %s as %s: no response (curl %d)", method, path,
				  a->label, r.curl_rc);
	v = via_prism ? real_violations(path, it_prism_violations(&r)) : NULL;
	ck_assert_msg(v == NULL, "%s %s as %s: sl-violations: %s (status %ld, body %s)",
				  method, path, a->label, v, r.status, r.body);
	ck_assert_msg(r.status == want, "%s %s as %s: status %ld, want %ld: %s", method, path,
				  a->label, r.status, want, r.body);
	j = json_loads(r.body, JSON_DECODE_ANY, NULL);
	ck_assert_msg(j != NULL, "%s %s as %s: not JSON: %s", method, path, a->label, r.body);
	free(text);
	it_response_free(&r);
	return j;
}

/*
 * A refusal straight from dermsd: status want with a Problem body
 * (application/problem+json, "status" equal to the HTTP status, a
 * non-empty "detail" containing needle when given).  token NULL sends no
 * Authorization header.
 */
static void
problem(const char *token, const char *method, const char *path, const char *ctype,
		const char *body, long want, const char *needle)
{
	it_response r = send_req(false, token, method, path, ctype, body);
	json_t	   *j;
	const char *detail;

	ck_assert_msg(r.status == want, "%s %s: status %ld, want %ld: %s", method, path,
				  r.status, want, r.body);
	ck_assert_msg(strcasestr(r.headers, "Content-Type: application/problem+json") != NULL,
				  "%s %s: %ld without a Problem content type: %s", method, path, want, r.headers);
	j = json_loads(r.body, 0, NULL);
	ck_assert_msg(j != NULL && json_is_object(j), "%s %s: not a JSON object: %s", method,
				  path, r.body);
	ck_assert_msg(json_integer_value(json_object_get(j, "status")) == want,
				  "%s %s: Problem status is not %ld: %s", method, path, want, r.body);
	detail = json_string_value(json_object_get(j, "detail"));
	ck_assert_msg(detail != NULL && detail[0] != '\0', "%s %s: no detail: %s", method, path,
				  r.body);
	if (needle)
		ck_assert_msg(strstr(detail, needle) != NULL, "%s %s: detail lacks \"%s\": %s",
					  method, path, needle, detail);
	json_decref(j);
	it_response_free(&r);
}

/* ---- bodies ---- */

/* tests/data/openadr/NAME.json (new reference). */
static json_t *
fixture(const char *name)
{
	char		path[256];
	json_error_t e;
	json_t	   *j;

	snprintf(path, sizeof(path), "tests/data/openadr/%s.json", name);
	j = json_load_file(path, 0, &e);
	ck_assert_msg(j != NULL, "%s: %s", path, e.text);
	return j;
}

/* Set key of o to the JSON text value (NULL: remove key); returns o. */
static json_t *
with(json_t *o, const char *key, const char *value)
{
	if (value == NULL)
		json_object_del(o, key);
	else
	{
		json_t	   *v = json_loads(value, JSON_DECODE_ANY, NULL);

		ck_assert_msg(v != NULL, "bad test JSON %s", value);
		json_object_set_new(o, key, v);
	}
	return o;
}

static json_t *
with_str(json_t *o, const char *key, const char *value)
{
	json_object_set_new(o, key, json_string(value));
	return o;
}

static json_t *
program_body(const char *name, const char *targets)
{
	return with(with_str(fixture("program"), "programName", name), "targets", targets);
}

static json_t *
event_body(const char *program_id, const char *name, const char *targets)
{
	json_t	   *o = with_str(fixture("event"), "programID", program_id);

	with_str(o, "eventName", name);
	with(o, "targets", targets);
	/* reportDescriptors name their own targets; keep them to the event's */
	if (targets == NULL)
		json_object_del(json_array_get(json_object_get(o, "reportDescriptors"), 0), "targets");
	else
		with(json_array_get(json_object_get(o, "reportDescriptors"), 0), "targets", targets);
	return o;
}

static json_t *
report_body(const char *event_id, const char *client_name, const char *name)
{
	json_t	   *o = with_str(fixture("report"), "eventID", event_id);

	with_str(o, "clientName", client_name);
	return with_str(o, "reportName", name);
}

static json_t *
subscription_body(const char *client_name, const char *program_id, const char *objects,
				  const char *operations)
{
	json_t	   *o = with_str(fixture("subscription"), "clientName", client_name);
	json_t	   *op = json_array_get(json_object_get(o, "objectOperations"), 0);

	if (program_id)
		with_str(o, "programID", program_id);
	else
		json_object_del(o, "programID");
	json_object_del(o, "targets");
	with(op, "objects", objects);
	with(op, "operations", operations);
	return o;
}

static json_t *
ven_bl_body(const char *client_id, const char *name, const char *targets)
{
	json_t	   *o = with_str(fixture("ven_bl"), "clientID", client_id);

	with_str(o, "venName", name);
	return with(o, "targets", targets);
}

static json_t *
ven_ven_body(const char *name)
{
	return with_str(fixture("ven_ven"), "venName", name);
}

static json_t *
resource_bl_body(const char *client_id, const char *ven_id, const char *name,
				 const char *targets)
{
	json_t	   *o = with_str(fixture("resource_bl"), "clientID", client_id);

	with_str(o, "venID", ven_id);
	with_str(o, "resourceName", name);
	return with(o, "targets", targets);
}

static json_t *
resource_ven_body(const char *ven_id, const char *name)
{
	json_t	   *o = with_str(fixture("resource_ven"), "venID", ven_id);

	return with_str(o, "resourceName", name);
}

/* o as compact JSON text, in one of a few rotating buffers; o is stolen. */
static const char *
jtext(json_t *o)
{
	static char bufs[4][8192];
	static int	next;
	char	   *b = bufs[next++ % 4];
	char	   *s = json_dumps(o, JSON_COMPACT);

	ck_assert_ptr_nonnull(s);
	snprintf(b, sizeof(bufs[0]), "%s", s);
	free(s);
	json_decref(o);
	return b;
}

/* The "id" of o into out (32 bytes); o is released. */
static void
take_id(json_t *o, char *out)
{
	const char *id = json_string_value(json_object_get(o, "id"));

	ck_assert_msg(id != NULL, "no id in %s", jtext(o));
	snprintf(out, 32, "%s", id);
	json_decref(o);
}

/* A search that must answer an array of n objects. */
static void
expect_count(bool via_prism, const actor *a, const char *path, size_t n)
{
	json_t	   *j = call(via_prism, a, "GET", path, NULL, 200);
	char	   *s = json_dumps(j, JSON_COMPACT);

	ck_assert_msg(json_is_array(j) && json_array_size(j) == n,
				  "GET %s as %s: want %zu objects, got %s", path, a->label, n, s);
	free(s);
	json_decref(j);
}

/* psql -c sql on the test database; the first line of output */
static char *
sql_value(const char *sql)
{
	char		cmd[4096];
	char		line[1024] = "";
	FILE	   *p;

	snprintf(cmd, sizeof(cmd), "psql -qAtX '%s' -c \"%s\"", srv.conninfo, sql);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	if (fgets(line, sizeof(line), p) == NULL)
		line[0] = '\0';
	pclose(p);
	line[strcspn(line, "\n")] = '\0';
	return strdup(line);
}

/* ---- 1. every operation through Prism ---- */

START_TEST(test_conforms)
{
	actor		ubl;
	actor		abl;
	actor		v1;
	char		prog[32], aprog[32], ev[32], aev[32], ven[32], vven[32], res[32], vres[32];
	char		rep[32], sub[32], bsub[32];
	bool		P = true;

	if (!up_prism("oadr conformance"))
		return;
	make_actor(&ubl, "utility BL", "--name u-bl --role bl");
	make_actor(&abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(&v1, "agg-a VEN 1", "--name a-ven1 --role ven --tenant agg-a");

	/* programs, by the utility and by an aggregator */
	take_id(call(P, &ubl, "POST", "/programs",
				 program_body("ResTOU", "[\"group-1\",\"group-2\"]"), 201), prog);
	take_id(call(P, &abl, "POST", "/programs", program_body("AggA-DR", "[\"group-1\"]"), 201),
			aprog);
	expect_count(P, &ubl, "/programs", 2);
	expect_count(P, &ubl, "/programs?targets=group-2", 1);
	expect_count(P, &ubl, "/programs?targets=group-2&targets=group-1", 2);
	expect_count(P, &ubl, "/programs?skip=1&limit=1", 1);
	expect_count(P, &abl, "/programs?limit=50", 2);
	json_decref(call(P, &ubl, "GET", pth("/programs/%s", prog), NULL, 200));
	json_decref(call(P, &ubl, "PUT", pth("/programs/%s", prog),
					 with(program_body("ResTOU", "[\"group-1\",\"group-2\"]"),
						  "programDescriptions",
						  "[{\"URL\":\"https://utility.example/programs/restou-2025\"}]"), 200));

	/* vens and resources by the aggregator's BL */
	take_id(call(P, &abl, "POST", "/vens", ven_bl_body(v1.id, "VEN-1", "[\"group-1\"]"), 201),
			ven);
	expect_count(P, &abl, "/vens", 1);
	expect_count(P, &abl, "/vens?venName=VEN-1", 1);
	expect_count(P, &abl, "/vens?targets=group-1", 1);
	expect_count(P, &abl, "/vens?skip=0&limit=10", 1);
	json_decref(call(P, &abl, "GET", pth("/vens/%s", ven), NULL, 200));
	json_decref(call(P, &abl, "PUT", pth("/vens/%s", ven),
					 ven_bl_body(v1.id, "VEN-1", "[\"group-1\",\"feeder-7\"]"), 200));
	take_id(call(P, &abl, "POST", "/resources",
				 resource_bl_body(v1.id, ven, "battery-1", "[\"feeder-7\"]"), 201), res);
	expect_count(P, &abl, "/resources", 1);
	expect_count(P, &abl, "/resources?resourceName=battery-1", 1);
	expect_count(P, &abl, pth("/resources?venID=%s", ven), 1);
	expect_count(P, &abl, "/resources?targets=feeder-7", 1);
	expect_count(P, &abl, "/resources?skip=0&limit=50", 1);
	json_decref(call(P, &abl, "GET", pth("/resources/%s", res), NULL, 200));
	json_decref(call(P, &abl, "PUT", pth("/resources/%s", res),
					 resource_bl_body(v1.id, ven, "battery-1", "[\"feeder-7\",\"group-1\"]"),
					 200));

	/* events */
	take_id(call(P, &ubl, "POST", "/events", event_body(prog, "price 1", "[\"group-1\"]"), 201),
			ev);
	take_id(call(P, &abl, "POST", "/events", event_body(aprog, "dr 1", "[\"group-1\"]"), 201),
			aev);
	expect_count(P, &ubl, "/events", 2);
	expect_count(P, &ubl, pth("/events?programID=%s", prog), 1);
	expect_count(P, &ubl, "/events?targets=group-1", 2);
	expect_count(P, &ubl, "/events?active=false", 2);
	expect_count(P, &ubl, "/events?active=true", 0);	/* 2024: over */
	expect_count(P, &ubl, "/events?skip=0&limit=1", 1);
	json_decref(call(P, &ubl, "GET", pth("/events/%s", ev), NULL, 200));
	json_decref(call(P, &ubl, "PUT", pth("/events/%s", ev),
					 with(event_body(prog, "price 1", "[\"group-1\"]"), "priority", "3"), 200));

	/* the VEN reads programs and events, writes reports */
	expect_count(P, &v1, "/programs", 2);
	json_decref(call(P, &v1, "GET", pth("/programs/%s", prog), NULL, 200));
	expect_count(P, &v1, "/events", 2);
	expect_count(P, &v1, pth("/events?programID=%s&targets=group-1", aprog), 1);
	json_decref(call(P, &v1, "GET", pth("/events/%s", aev), NULL, 200));
	take_id(call(P, &v1, "POST", "/reports", report_body(aev, "VEN-1", "usage 1"), 201), rep);
	expect_count(P, &v1, "/reports", 1);
	expect_count(P, &v1, pth("/reports?programID=%s", aprog), 1);
	expect_count(P, &v1, pth("/reports?eventID=%s", aev), 1);
	expect_count(P, &v1, "/reports?clientName=VEN-1&skip=0&limit=5", 1);
	json_decref(call(P, &v1, "GET", pth("/reports/%s", rep), NULL, 200));
	json_decref(call(P, &v1, "PUT", pth("/reports/%s", rep),
					 report_body(aev, "VEN-1", "usage 1, corrected"), 200));
	expect_count(P, &abl, "/reports", 1);

	/* subscriptions, of the VEN and of a BL */
	take_id(call(P, &v1, "POST", "/subscriptions",
				 subscription_body("VEN-1", aprog, "[\"EVENT\",\"PROGRAM\"]",
								   "[\"CREATE\",\"UPDATE\",\"DELETE\"]"), 201), sub);
	take_id(call(P, &ubl, "POST", "/subscriptions",
				 subscription_body("utility-ops", NULL, "[\"REPORT\"]", "[\"CREATE\"]"), 201),
			bsub);
	expect_count(P, &v1, "/subscriptions", 1);
	expect_count(P, &v1, pth("/subscriptions?programID=%s", aprog), 1);
	expect_count(P, &v1, "/subscriptions?clientName=VEN-1", 1);
	expect_count(P, &v1, "/subscriptions?objects=EVENT&objects=VEN", 1);
	expect_count(P, &v1, "/subscriptions?objects=REPORT&skip=0&limit=3", 0);
	expect_count(P, &ubl, "/subscriptions?objects=REPORT", 1);
	json_decref(call(P, &v1, "GET", pth("/subscriptions/%s", sub), NULL, 200));
	json_decref(call(P, &v1, "PUT", pth("/subscriptions/%s", sub),
					 subscription_body("VEN-1", aprog, "[\"EVENT\"]", "[\"CREATE\"]"), 200));

	/* the VEN's own ven and resource */
	take_id(call(P, &v1, "POST", "/vens", ven_ven_body("VEN-1-site-2"), 201), vven);
	json_decref(call(P, &v1, "PUT", pth("/vens/%s", vven),
					 with(ven_ven_body("VEN-1-site-2"), "attributes", NULL), 200));
	expect_count(P, &v1, "/vens", 2);
	json_decref(call(P, &v1, "GET", pth("/vens/%s", ven), NULL, 200));
	take_id(call(P, &v1, "POST", "/resources", resource_ven_body(vven, "battery-2"), 201), vres);
	json_decref(call(P, &v1, "PUT", pth("/resources/%s", vres),
					 with(resource_ven_body(vven, "battery-2"), "attributes",
						  "[{\"type\":\"MAX_POWER_EXPORT\",\"values\":[3.3]}]"), 200));
	expect_count(P, &v1, pth("/resources?venID=%s", vven), 1);
	json_decref(call(P, &v1, "GET", pth("/resources/%s", res), NULL, 200));

	/* deletes, children first */
	json_decref(call(P, &v1, "DELETE", pth("/reports/%s", rep), NULL, 200));
	json_decref(call(P, &v1, "DELETE", pth("/subscriptions/%s", sub), NULL, 200));
	json_decref(call(P, &ubl, "DELETE", pth("/subscriptions/%s", bsub), NULL, 200));
	json_decref(call(P, &v1, "DELETE", pth("/resources/%s", vres), NULL, 200));
	json_decref(call(P, &v1, "DELETE", pth("/vens/%s", vven), NULL, 200));
	json_decref(call(P, &abl, "DELETE", pth("/resources/%s", res), NULL, 200));
	json_decref(call(P, &abl, "DELETE", pth("/vens/%s", ven), NULL, 200));
	json_decref(call(P, &abl, "DELETE", pth("/events/%s", aev), NULL, 200));
	json_decref(call(P, &ubl, "DELETE", pth("/events/%s", ev), NULL, 200));
	json_decref(call(P, &abl, "DELETE", pth("/programs/%s", aprog), NULL, 200));
	json_decref(call(P, &ubl, "DELETE", pth("/programs/%s", prog), NULL, 200));
	expect_count(P, &ubl, "/programs", 0);
	expect_count(P, &ubl, "/vens", 0);
}
END_TEST

/*
 * What Prism says about an error answer: a 404 for an unknown id.  The
 * VTN answers errors as application/problem+json while the YAML declares
 * application/json for them; any violation other than about the content
 * type fails, that one is reported.
 */
START_TEST(test_error_through_prism)
{
	actor		ubl;
	it_response r;
	char	   *v;

	if (!up_prism("oadr error conformance"))
		return;
	make_actor(&ubl, "utility BL", "--name u-bl --role bl");
	r = send_req(true, ubl.token, "GET", "/programs/999999", NULL, NULL);
	ck_assert_int_eq(r.status, 404);
	v = it_prism_violations(&r);
	if (v != NULL)
	{
		printf("NOTE: oadr: Prism on a 404 Problem: %s\n", v);
		fflush(stdout);
		ck_assert_msg(strstr(v, "content") != NULL || strstr(v, "Content") != NULL ||
					  strstr(v, "media") != NULL,
					  "GET /programs/999999: violation other than the content type: %s", v);
	}
	free(v);
	it_response_free(&r);
}
END_TEST

/* ---- 2. refusals, straight to dermsd ---- */

/* A token signed with the VTN's key; claims stolen. */
static char *
forge(json_t *claims)
{
	char		key[1024];
	derms_err	err;
	jwt_key    *k;
	char	   *t;

	snprintf(key, sizeof(key), "%s/vtn-token.key", srv.pki);
	k = jwt_key_load_private(key, &err);
	ck_assert_msg(k != NULL, "%s", err.msg);
	t = jwt_sign(k, claims, &err);
	jwt_key_free(k);
	json_decref(claims);
	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_refusals)
{
	actor		ubl;
	actor		abl;
	actor		bbl;
	actor		v1;
	actor		b1;
	actor		narrow_ven;
	actor		narrow_bl;
	char		prog[32], prog2[32], ev[32], ven[32], bven[32], rep[32];
	char	   *t;
	time_t		now = time(NULL);

	if (!up())
		return;
	make_actor(&ubl, "utility BL", "--name u-bl --role bl");
	make_actor(&abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(&bbl, "agg-b BL", "--name b-bl --role bl --tenant agg-b");
	make_actor(&v1, "agg-a VEN", "--name a-ven1 --role ven --tenant agg-a");
	make_actor(&b1, "agg-b VEN", "--name b-ven1 --role ven --tenant agg-b");
	make_actor(&narrow_ven, "narrow VEN",
			   "--name a-ven-n --role ven --tenant agg-a --scopes 'read_targets write_reports'");
	make_actor(&narrow_bl, "narrow BL",
			   "--name u-bl-n --role bl --scopes 'read_all write_events'");
	take_id(call(false, &ubl, "POST", "/programs", program_body("P-1", NULL), 201), prog);
	take_id(call(false, &ubl, "POST", "/programs", program_body("P-2", NULL), 201), prog2);
	take_id(call(false, &ubl, "POST", "/events", event_body(prog, "e-1", NULL), 201), ev);
	take_id(call(false, &abl, "POST", "/vens", ven_bl_body(v1.id, "VEN-A", NULL), 201), ven);
	take_id(call(false, &bbl, "POST", "/vens", ven_bl_body(b1.id, "VEN-B", NULL), 201), bven);
	take_id(call(false, &v1, "POST", "/reports", report_body(ev, "VEN-A", "r-1"), 201), rep);

	/* 400: bodies */
	problem(ubl.token, "POST", "/programs", JSON_CT, "{\"programName\": ", 400, NULL);
	problem(ubl.token, "POST", "/programs", JSON_CT, "[1, 2", 400, NULL);
	problem(ubl.token, "POST", "/programs", JSON_CT, "{\"programName\": 5}", 400,
			"programName");
	problem(ubl.token, "POST", "/programs", JSON_CT,
			"{\"programName\": \"x\", \"colour\": \"red\"}", 400, "colour");
	problem(ubl.token, "POST", "/events", JSON_CT,
			pth("{\"programID\": \"%s\", \"intervals\": \"yes\"}", prog), 400, "intervals");
	problem(ubl.token, "POST", "/events", JSON_CT,
			pth("{\"programID\": \"%s\", \"priority\": -1}", prog), 400, "priority");
	problem(ubl.token, "PUT", pth("/programs/%s", prog), JSON_CT, "{}", 400, "programName");
	problem(v1.token, "POST", "/reports", JSON_CT,
			pth("{\"eventID\": \"%s\", \"clientName\": \"x\", \"resources\": {}}", ev), 400,
			"resources");
	problem(abl.token, "POST", "/vens", JSON_CT,
			"{\"objectType\": \"VEN_VEN_REQUEST\", \"venName\": \"V\"}", 400, "objectType");
	problem(ubl.token, "POST", "/subscriptions", JSON_CT,
			"{\"clientName\": \"c\", \"objectOperations\": [{\"objects\": [\"CAR\"],"
			" \"operations\": [\"CREATE\"], \"callbackUrl\": \"https://x.example/\"}]}", 400,
			"objects");
	/* 400: query values and ids */
	problem(ubl.token, "GET", "/programs?limit=51", NULL, NULL, 400, "limit");
	problem(ubl.token, "GET", "/programs?limit=-1", NULL, NULL, 400, "limit");
	problem(ubl.token, "GET", "/programs?limit=ten", NULL, NULL, 400, "limit");
	problem(ubl.token, "GET", "/programs?skip=-3", NULL, NULL, 400, "skip");
	problem(ubl.token, "GET", "/programs?colour=red", NULL, NULL, 400, "colour");
	problem(ubl.token, "GET", "/programs?programID=1", NULL, NULL, 400, "programID");
	problem(ubl.token, "GET", "/events?active=maybe", NULL, NULL, 400, "active");
	problem(ubl.token, "GET", "/events?programID=a.b", NULL, NULL, 400, "programID");
	problem(ubl.token, "GET", "/subscriptions?objects=CAR", NULL, NULL, 400, "objects");
	problem(ubl.token, "GET", "/reports?limit=1&limit=2", NULL, NULL, 400, "limit");
	problem(ubl.token, "GET", "/programs/a.b", NULL, NULL, 400, "programID");
	/* a body naming an object the caller cannot see */
	problem(ubl.token, "POST", "/events", JSON_CT, "{\"programID\": \"999999\"}", 400,
			"programID");
	problem(b1.token, "POST", "/reports", JSON_CT,
			jtext(report_body("999999", "x", "r")), 400, "eventID");

	/* 401 */
	problem(NULL, "GET", "/programs", NULL, NULL, 401, NULL);
	problem("not.a.token", "GET", "/events", NULL, NULL, 401, NULL);
	problem("", "GET", "/vens", NULL, NULL, 401, NULL);
	t = forge(json_pack("{s:s, s:s, s:I, s:s}", "iss", "dermsd", "sub", ubl.id,
						"exp", (json_int_t) now - 600, "scope", "read_all"));
	problem(t, "GET", "/programs", NULL, NULL, 401, NULL);
	problem(t, "POST", "/programs", JSON_CT, "{\"programName\": \"late\"}", 401, NULL);
	free(t);
	/* the same claims in date work: the refusal above was the expiry */
	t = forge(json_pack("{s:s, s:s, s:I, s:s}", "iss", "dermsd", "sub", ubl.id,
						"exp", (json_int_t) now + 600, "scope", "read_all"));
	{
		actor		f = ubl;

		f.token = t;
		expect_count(false, &f, "/programs", 2);
	}
	free(t);

	/* 403: role, scope, utility-wide objects */
	problem(v1.token, "POST", "/programs", JSON_CT, "{\"programName\": \"mine\"}", 403, NULL);
	problem(v1.token, "PUT", pth("/programs/%s", prog), JSON_CT,
			"{\"programName\": \"P-1\"}", 403, NULL);
	problem(v1.token, "DELETE", pth("/programs/%s", prog), NULL, NULL, 403, NULL);
	problem(v1.token, "POST", "/events", JSON_CT, pth("{\"programID\": \"%s\"}", prog), 403,
			NULL);
	problem(v1.token, "DELETE", pth("/events/%s", ev), NULL, NULL, 403, NULL);
	problem(abl.token, "POST", "/reports", JSON_CT, jtext(report_body(ev, "x", "r")),
			403, NULL);
	problem(narrow_ven.token, "GET", "/vens", NULL, NULL, 403, "scope");
	problem(narrow_ven.token, "POST", "/subscriptions", JSON_CT,
			jtext(subscription_body("n", NULL, "[\"EVENT\"]", "[\"CREATE\"]")), 403,
			"scope");
	problem(narrow_bl.token, "POST", "/programs", JSON_CT, "{\"programName\": \"n\"}", 403,
			"scope");
	problem(narrow_bl.token, "DELETE", pth("/programs/%s", prog), NULL, NULL, 403, "scope");
	problem(abl.token, "PUT", pth("/programs/%s", prog), JSON_CT,
			"{\"programName\": \"P-1\"}", 403, NULL);
	problem(abl.token, "POST", "/events", JSON_CT, pth("{\"programID\": \"%s\"}", prog), 403,
			NULL);
	problem(v1.token, "POST", "/vens", JSON_CT,
			jtext(ven_bl_body(v1.id, "VEN-A-2", NULL)), 403, "objectType");
	/* a VEN setting targets on its ven by PUT keeps the BL's (none) */

	/* 404: unknown ids, foreign ids */
	problem(ubl.token, "GET", "/programs/999999", NULL, NULL, 404, NULL);
	problem(ubl.token, "GET", "/events/nosuch", NULL, NULL, 404, NULL);
	problem(ubl.token, "PUT", "/events/999999", JSON_CT, pth("{\"programID\": \"%s\"}", prog),
			404, NULL);
	problem(ubl.token, "DELETE", "/subscriptions/999999", NULL, NULL, 404, NULL);
	problem(bbl.token, "GET", pth("/vens/%s", ven), NULL, NULL, 404, NULL);
	problem(bbl.token, "PUT", pth("/vens/%s", ven), JSON_CT,
			jtext(ven_bl_body(v1.id, "VEN-A", NULL)), 404, NULL);
	problem(bbl.token, "DELETE", pth("/vens/%s", ven), NULL, NULL, 404, NULL);
	problem(b1.token, "GET", pth("/reports/%s", rep), NULL, NULL, 404, NULL);
	problem(b1.token, "DELETE", pth("/reports/%s", rep), NULL, NULL, 404, NULL);
	problem(v1.token, "GET", pth("/vens/%s", bven), NULL, NULL, 404, NULL);
	problem(abl.token, "POST", "/resources", JSON_CT,
			jtext(resource_bl_body(v1.id, bven, "battery", NULL)), 404, "venID");

	/* 409: unique names */
	problem(ubl.token, "POST", "/programs", JSON_CT, "{\"programName\": \"P-1\"}", 409, NULL);
	problem(abl.token, "POST", "/programs", JSON_CT, "{\"programName\": \"P-2\"}", 409, NULL);
	problem(ubl.token, "PUT", pth("/programs/%s", prog2), JSON_CT,
			"{\"programName\": \"P-1\"}", 409, NULL);
	problem(bbl.token, "POST", "/vens", JSON_CT,
			jtext(ven_bl_body(b1.id, "VEN-A", NULL)), 409, NULL);
	problem(v1.token, "POST", "/vens", JSON_CT, "{\"objectType\": \"VEN_VEN_REQUEST\","
			" \"venName\": \"VEN-B\"}", 409, NULL);
	json_decref(call(false, &abl, "POST", "/resources",
					 resource_bl_body(v1.id, ven, "battery", NULL), 201));
	problem(abl.token, "POST", "/resources", JSON_CT,
			jtext(resource_bl_body(v1.id, ven, "battery", NULL)), 409, NULL);
	problem(v1.token, "POST", "/resources", JSON_CT,
			jtext(resource_ven_body(ven, "battery")), 409, NULL);
	/* the same resourceName under another ven is fine */
	json_decref(call(false, &bbl, "POST", "/resources",
					 resource_bl_body(b1.id, bven, "battery", NULL), 201));
}
END_TEST

/* ---- 3. the privacy matrix ---- */

enum
{
	U, A, A1, A2, B, B1, B2, NACTORS
};

#define BY(x) (1u << (x))
#define ALL ((1u << NACTORS) - 1)

static const struct
{
	const char *coll;			/* collection path */
	const char *name_key;		/* the field naming the objects below */
}			colls[] = {
	{"programs", "programName"},
	{"events", "eventName"},
	{"reports", "reportName"},
	{"subscriptions", "clientName"},
	{"vens", "venName"},
	{"resources", "resourceName"},
};

typedef struct mobj
{
	int			coll;			/* index into colls */
	const char *name;
	unsigned	seen_by;		/* BY() of the actors that read it */
	char		id[32];
} mobj;

START_TEST(test_privacy_matrix)
{
	static const struct
	{
		const char *label;
		const char *args;
		const char *granted;	/* VENs: space-separated granted targets */
	}			who[NACTORS] = {
		[U] = {"utility BL", "--name u-bl --role bl", NULL},
		[A] = {"agg-a BL", "--name a-bl --role bl --tenant agg-a", NULL},
		[A1] = {"agg-a VEN 1", "--name a-v1 --role ven --tenant agg-a", " ta1 ta1x "},
		[A2] = {"agg-a VEN 2", "--name a-v2 --role ven --tenant agg-a", " ta2 "},
		[B] = {"agg-b BL", "--name b-bl --role bl --tenant agg-b", NULL},
		[B1] = {"agg-b VEN 1", "--name b-v1 --role ven --tenant agg-b", " tb1 "},
		[B2] = {"agg-b VEN 2", "--name b-v2 --role ven --tenant agg-b", " tb2 "},
	};
	mobj		objs[] = {
		/* programs */
		{0, "U-open", ALL, ""},
		{0, "U-tgt", BY(U) | BY(A) | BY(B) | BY(A1) | BY(B1), ""},
		{0, "A-prog", BY(U) | BY(A) | BY(A1) | BY(A2), ""},
		{0, "B-prog", BY(U) | BY(B) | BY(B1) | BY(B2), ""},
		/* events */
		{1, "eU1", ALL, ""},
		{1, "eU2", BY(U) | BY(A) | BY(B) | BY(A1) | BY(B1), ""},
		{1, "eU3", BY(U) | BY(A) | BY(B) | BY(A1) | BY(B1), ""},
		{1, "eA1", BY(U) | BY(A) | BY(A1), ""},
		{1, "eA2", BY(U) | BY(A) | BY(A2), ""},
		{1, "eB1", BY(U) | BY(B) | BY(B1), ""},
		{1, "eB2", BY(U) | BY(B) | BY(B1) | BY(B2), ""},
		/* reports */
		{2, "rep-a1", BY(U) | BY(A) | BY(A1), ""},
		{2, "rep-a2", BY(U) | BY(A) | BY(A2), ""},
		{2, "rep-b1", BY(U) | BY(B) | BY(B1), ""},
		{2, "rep-b2", BY(U) | BY(B) | BY(B2), ""},
		/* subscriptions */
		{3, "sub-U", BY(U), ""},
		{3, "sub-A", BY(U) | BY(A), ""},
		{3, "sub-a1", BY(U) | BY(A) | BY(A1), ""},
		{3, "sub-B", BY(U) | BY(B), ""},
		{3, "sub-b2", BY(U) | BY(B) | BY(B2), ""},
		/* vens */
		{4, "VEN-A1", BY(U) | BY(A) | BY(A1), ""},
		{4, "VEN-A2", BY(U) | BY(A) | BY(A2), ""},
		{4, "VEN-B1", BY(U) | BY(B) | BY(B1), ""},
		{4, "VEN-B2", BY(U) | BY(B) | BY(B2), ""},
		/* resources */
		{5, "res-a1", BY(U) | BY(A) | BY(A1), ""},
		{5, "res-b2", BY(U) | BY(B) | BY(B2), ""},
	};
	enum
	{
		P_UOPEN, P_UTGT, P_A, P_B, E_U1, E_U2, E_U3, E_A1, E_A2, E_B1, E_B2,
		R_A1, R_A2, R_B1, R_B2, S_U, S_A, S_A1, S_B, S_B2, V_A1, V_A2, V_B1, V_B2,
		X_A1, X_B2, NOBJS
	};
	actor		act[NACTORS];
	const char *ops = "[\"CREATE\",\"UPDATE\",\"DELETE\"]";

	ck_assert_int_eq(sizeof(objs) / sizeof(objs[0]), NOBJS);
	if (!up())
		return;
	for (int i = 0; i < NACTORS; i++)
		make_actor(&act[i], who[i].label, who[i].args);

	/* the BLs: vens (granting targets), programs, events, a resource */
	take_id(call(false, &act[A], "POST", "/vens", ven_bl_body(act[A1].id, "VEN-A1", "[\"ta1\"]"),
				 201), objs[V_A1].id);
	take_id(call(false, &act[A], "POST", "/vens", ven_bl_body(act[A2].id, "VEN-A2", "[\"ta2\"]"),
				 201), objs[V_A2].id);
	take_id(call(false, &act[B], "POST", "/vens", ven_bl_body(act[B1].id, "VEN-B1", "[\"tb1\"]"),
				 201), objs[V_B1].id);
	take_id(call(false, &act[B], "POST", "/vens", ven_bl_body(act[B2].id, "VEN-B2", "[\"tb2\"]"),
				 201), objs[V_B2].id);
	take_id(call(false, &act[A], "POST", "/resources",
				 resource_bl_body(act[A1].id, objs[V_A1].id, "res-a1", "[\"ta1x\"]"), 201),
			objs[X_A1].id);
	take_id(call(false, &act[U], "POST", "/programs", program_body("U-open", NULL), 201),
			objs[P_UOPEN].id);
	take_id(call(false, &act[U], "POST", "/programs",
				 program_body("U-tgt", "[\"zz\",\"ta1\",\"tb1\"]"), 201), objs[P_UTGT].id);
	take_id(call(false, &act[A], "POST", "/programs", program_body("A-prog", "[\"ta1\",\"ta2\"]"),
				 201), objs[P_A].id);
	take_id(call(false, &act[B], "POST", "/programs", program_body("B-prog", NULL), 201),
			objs[P_B].id);
	take_id(call(false, &act[U], "POST", "/events", event_body(objs[P_UOPEN].id, "eU1", NULL),
				 201), objs[E_U1].id);
	take_id(call(false, &act[U], "POST", "/events",
				 event_body(objs[P_UTGT].id, "eU2", "[\"tb1\",\"zz\",\"ta1\"]"), 201),
			objs[E_U2].id);
	take_id(call(false, &act[U], "POST", "/events", event_body(objs[P_UTGT].id, "eU3", NULL),
				 201), objs[E_U3].id);
	take_id(call(false, &act[A], "POST", "/events", event_body(objs[P_A].id, "eA1", "[\"ta1\"]"),
				 201), objs[E_A1].id);
	take_id(call(false, &act[A], "POST", "/events", event_body(objs[P_A].id, "eA2", "[\"ta2\"]"),
				 201), objs[E_A2].id);
	take_id(call(false, &act[B], "POST", "/events", event_body(objs[P_B].id, "eB1", "[\"tb1\"]"),
				 201), objs[E_B1].id);
	take_id(call(false, &act[B], "POST", "/events", event_body(objs[P_B].id, "eB2", NULL), 201),
			objs[E_B2].id);

	/* the VENs: reports, subscriptions, a resource */
	take_id(call(false, &act[A1], "POST", "/reports",
				 report_body(objs[E_A1].id, "VEN-A1", "rep-a1"), 201), objs[R_A1].id);
	take_id(call(false, &act[A2], "POST", "/reports",
				 report_body(objs[E_U1].id, "VEN-A2", "rep-a2"), 201), objs[R_A2].id);
	take_id(call(false, &act[B1], "POST", "/reports",
				 report_body(objs[E_B1].id, "VEN-B1", "rep-b1"), 201), objs[R_B1].id);
	take_id(call(false, &act[B2], "POST", "/reports",
				 report_body(objs[E_B2].id, "VEN-B2", "rep-b2"), 201), objs[R_B2].id);
	take_id(call(false, &act[U], "POST", "/subscriptions",
				 subscription_body("sub-U", NULL, "[\"PROGRAM\"]", ops), 201), objs[S_U].id);
	take_id(call(false, &act[A], "POST", "/subscriptions",
				 subscription_body("sub-A", objs[P_A].id, "[\"EVENT\"]", ops), 201),
			objs[S_A].id);
	take_id(call(false, &act[A1], "POST", "/subscriptions",
				 subscription_body("sub-a1", objs[P_A].id, "[\"EVENT\"]", ops), 201),
			objs[S_A1].id);
	take_id(call(false, &act[B], "POST", "/subscriptions",
				 subscription_body("sub-B", NULL, "[\"REPORT\"]", ops), 201), objs[S_B].id);
	take_id(call(false, &act[B2], "POST", "/subscriptions",
				 subscription_body("sub-b2", NULL, "[\"EVENT\",\"RESOURCE\"]", ops), 201),
			objs[S_B2].id);
	take_id(call(false, &act[B2], "POST", "/resources",
				 resource_ven_body(objs[V_B2].id, "res-b2"), 201), objs[X_B2].id);

	/* every caller, every collection: exactly what it may read */
	for (int w = 0; w < NACTORS; w++)
	{
		for (size_t c = 0; c < sizeof(colls) / sizeof(colls[0]); c++)
		{
			json_t	   *list = call(false, &act[w], "GET", pth("/%s", colls[c].coll), NULL, 200);
			char		got[1024] = "";
			char		want[1024] = "";
			size_t		i;
			json_t	   *o;

			for (int k = 0; k < NOBJS; k++)
				if (objs[k].coll == (int) c && (objs[k].seen_by & BY(w)))
					snprintf(want + strlen(want), sizeof(want) - strlen(want), "%s ",
							 objs[k].name);
			json_array_foreach(list, i, o)
			{
				json_t	   *tg = json_object_get(o, "targets");
				size_t		ti;
				json_t	   *t;

				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s ",
						 json_string_value(json_object_get(o, colls[c].name_key)));
				/* a VEN sees only targets it was granted (programs, events) */
				if (who[w].granted == NULL || c > 1)
					continue;
				json_array_foreach(tg, ti, t)
				{
					char		needle[140];

					snprintf(needle, sizeof(needle), " %s ", json_string_value(t));
					ck_assert_msg(strstr(who[w].granted, needle) != NULL,
								  "%s sees target %s of %s", who[w].label,
								  json_string_value(t),
								  json_string_value(json_object_get(o, colls[c].name_key)));
				}
			}
			ck_assert_msg(strcmp(got, want) == 0, "GET /%s as %s: got [%s], want [%s]",
						  colls[c].coll, who[w].label, got, want);
			json_decref(list);
		}
		/* and by id: 200 for what it reads, 404 for the rest */
		for (int k = 0; k < NOBJS; k++)
		{
			const char *path = pth("/%s/%s", colls[objs[k].coll].coll, objs[k].id);

			if (objs[k].seen_by & BY(w))
				json_decref(call(false, &act[w], "GET", path, NULL, 200));
			else
				problem(act[w].token, "GET", path, NULL, NULL, 404, NULL);
		}
	}

	/* targets not granted are stripped, the granted ones kept in order */
	{
		static const struct
		{
			int			who;
			int			obj;
			const char *targets;
		}			strip[] = {
			{A1, P_UTGT, "[\"ta1\"]"},
			{B1, P_UTGT, "[\"tb1\"]"},
			{A1, E_U2, "[\"ta1\"]"},
			{B1, E_U2, "[\"tb1\"]"},
			{U, E_U2, "[\"tb1\",\"zz\",\"ta1\"]"},
			{A, P_UTGT, "[\"zz\",\"ta1\",\"tb1\"]"},
			{A1, P_A, "[\"ta1\"]"},
			{A2, P_A, "[\"ta2\"]"},
		};

		for (size_t i = 0; i < sizeof(strip) / sizeof(strip[0]); i++)
		{
			mobj	   *m = &objs[strip[i].obj];
			json_t	   *o = call(false, &act[strip[i].who], "GET",
								 pth("/%s/%s", colls[m->coll].coll, m->id), NULL, 200);
			char	   *s = json_dumps(json_object_get(o, "targets"), JSON_COMPACT);

			ck_assert_msg(strcmp(s, strip[i].targets) == 0, "%s reads %s with targets %s,"
						  " want %s", who[strip[i].who].label, m->name, s, strip[i].targets);
			free(s);
			json_decref(o);
		}
	}

	/* searches that match nothing of one's own: 200 [] */
	expect_count(false, &act[A2], "/resources", 0);
	expect_count(false, &act[B2], pth("/reports?eventID=%s", objs[E_A1].id), 0);
	expect_count(false, &act[B2], pth("/events?programID=%s", objs[P_A].id), 0);
	expect_count(false, &act[A1], "/events?targets=tb1", 0);
	expect_count(false, &act[A1], "/programs?targets=zz", 0);
	expect_count(false, &act[A], "/vens?venName=VEN-B1", 0);
	expect_count(false, &act[B], "/programs?targets=ta2", 0);
	expect_count(false, &act[A1], pth("/resources?venID=%s", objs[V_B2].id), 0);
	expect_count(false, &act[A1], "/subscriptions?clientName=sub-b2", 0);
	/* a granted target still finds what it should */
	expect_count(false, &act[A1], "/events?targets=ta1", 2);

	/* writes to foreign objects: 404, nothing changed */
	problem(act[A].token, "DELETE", pth("/programs/%s", objs[P_B].id), NULL, NULL, 404, NULL);
	problem(act[B1].token, "PUT", pth("/reports/%s", objs[R_A1].id), JSON_CT,
			jtext(report_body(objs[E_B1].id, "VEN-B1", "stolen")), 404, NULL);
	problem(act[A2].token, "DELETE", pth("/vens/%s", objs[V_A1].id), NULL, NULL, 404, NULL);
	problem(act[A2].token, "DELETE", pth("/resources/%s", objs[X_A1].id), NULL, NULL, 404,
			NULL);
	problem(act[B].token, "DELETE", pth("/subscriptions/%s", objs[S_A].id), NULL, NULL, 404,
			NULL);
	/* a report on an event the VEN cannot read */
	problem(act[A2].token, "POST", "/reports", JSON_CT,
			jtext(report_body(objs[E_A1].id, "VEN-A2", "x")), 400, "eventID");
	expect_count(false, &act[U], "/reports", 4);
	expect_count(false, &act[U], "/vens", 4);
}
END_TEST

/* ---- 4. cascades notify, subscriptions name visible programs ---- */

/*
 * Notification bodies for the subscription with that id: queued in
 * notify_outbox, or held until its callback is verified (oadr_held; the
 * notify workers are off here, so nothing is ever verified).
 */
#define NOTIFICATIONS(sub) \
	"(SELECT convert_from(body, 'UTF8')::jsonb AS b FROM notify_outbox" \
	" WHERE subscription_ref = 'oadr_subscription:" sub "'" \
	" UNION ALL SELECT h.body::jsonb FROM oadr_held h" \
	" JOIN oadr_callbacks k ON k.id = h.callback_id WHERE k.subscription_id = " sub ") n"

static int
queued(const char *sub_id, const char *type, const char *op)
{
	char	   *v = sql_value(pth("SELECT count(*) FROM " NOTIFICATIONS("%s")
								  " WHERE b ->> 'objectType' = '%s' AND b ->> 'operation' = '%s'",
								  sub_id, sub_id, type, op));
	int			n = atoi(v);

	free(v);
	return n;
}

START_TEST(test_cascade_notifications)
{
	actor		ubl, abl, bbl, a1, b1;
	char		prog[32], ev1[32], ev2[32], ven[32], res1[32], res2[32], rep[32];
	char		s_u[32], s_a[32], s_b[32], s_a1[32], s_b1[32];
	const char *all = "[\"PROGRAM\",\"EVENT\",\"REPORT\",\"VEN\",\"RESOURCE\"]";
	const char *del = "[\"DELETE\"]";

	if (!up())
		return;
	make_actor(&ubl, "utility BL", "--name u-bl --role bl");
	make_actor(&abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(&bbl, "agg-b BL", "--name b-bl --role bl --tenant agg-b");
	make_actor(&a1, "agg-a VEN", "--name a-v1 --role ven --tenant agg-a");
	make_actor(&b1, "agg-b VEN", "--name b-v1 --role ven --tenant agg-b");
	take_id(call(false, &abl, "POST", "/vens", ven_bl_body(a1.id, "VEN-A1", "[\"ta1\"]"), 201),
			ven);
	json_decref(call(false, &bbl, "POST", "/vens", ven_bl_body(b1.id, "VEN-B1", "[\"tb1\"]"),
					 201));
	take_id(call(false, &abl, "POST", "/resources",
				 resource_bl_body(a1.id, ven, "res-1", NULL), 201), res1);
	take_id(call(false, &a1, "POST", "/resources", resource_ven_body(ven, "res-2"), 201), res2);
	take_id(call(false, &abl, "POST", "/programs", program_body("A-prog", NULL), 201), prog);
	take_id(call(false, &abl, "POST", "/events", event_body(prog, "e1", "[\"ta1\"]"), 201), ev1);
	take_id(call(false, &abl, "POST", "/events", event_body(prog, "e2", "[\"ta9\"]"), 201), ev2);
	take_id(call(false, &a1, "POST", "/reports", report_body(ev1, "VEN-A1", "r1"), 201), rep);
	take_id(call(false, &ubl, "POST", "/subscriptions", subscription_body("s-u", NULL, all, del),
				 201), s_u);
	take_id(call(false, &abl, "POST", "/subscriptions",
				 subscription_body("s-a", prog, all, del), 201), s_a);
	take_id(call(false, &bbl, "POST", "/subscriptions", subscription_body("s-b", NULL, all, del),
				 201), s_b);
	take_id(call(false, &a1, "POST", "/subscriptions", subscription_body("s-a1", NULL, all, del),
				 201), s_a1);
	take_id(call(false, &b1, "POST", "/subscriptions", subscription_body("s-b1", NULL, all, del),
				 201), s_b1);

	/* deleting the program: the program, both events, the report */
	json_decref(call(false, &abl, "DELETE", pth("/programs/%s", prog), NULL, 200));
	ck_assert_int_eq(queued(s_u, "PROGRAM", "DELETE"), 1);
	ck_assert_int_eq(queued(s_u, "EVENT", "DELETE"), 2);
	ck_assert_int_eq(queued(s_u, "REPORT", "DELETE"), 1);
	ck_assert_int_eq(queued(s_a, "PROGRAM", "DELETE"), 1);
	ck_assert_int_eq(queued(s_a, "EVENT", "DELETE"), 2);
	ck_assert_int_eq(queued(s_a, "REPORT", "DELETE"), 1);
	/* the VEN: the program, its granted event (targets stripped), its report */
	ck_assert_int_eq(queued(s_a1, "PROGRAM", "DELETE"), 1);
	ck_assert_int_eq(queued(s_a1, "EVENT", "DELETE"), 1);
	ck_assert_int_eq(queued(s_a1, "REPORT", "DELETE"), 1);
	/* the other aggregator: nothing */
	ck_assert_int_eq(queued(s_b, "EVENT", "DELETE") + queued(s_b, "REPORT", "DELETE") +
					 queued(s_b, "PROGRAM", "DELETE"), 0);
	ck_assert_int_eq(queued(s_b1, "EVENT", "DELETE") + queued(s_b1, "REPORT", "DELETE") +
					 queued(s_b1, "PROGRAM", "DELETE"), 0);
	{
		char	   *v = sql_value(pth("SELECT b -> 'object' ->> 'eventName' FROM "
									  NOTIFICATIONS("%s") " WHERE b ->> 'objectType' = 'EVENT'",
									  s_a1, s_a1));

		ck_assert_str_eq(v, "e1");
		free(v);
	}
	/* the objects are gone */
	problem(ubl.token, "GET", pth("/events/%s", ev2), NULL, NULL, 404, NULL);
	problem(ubl.token, "GET", pth("/reports/%s", rep), NULL, NULL, 404, NULL);

	/* deleting the ven: the ven and both resources */
	json_decref(call(false, &abl, "DELETE", pth("/vens/%s", ven), NULL, 200));
	ck_assert_int_eq(queued(s_u, "VEN", "DELETE"), 1);
	ck_assert_int_eq(queued(s_u, "RESOURCE", "DELETE"), 2);
	ck_assert_int_eq(queued(s_a1, "VEN", "DELETE"), 1);
	ck_assert_int_eq(queued(s_a1, "RESOURCE", "DELETE"), 2);
	ck_assert_int_eq(queued(s_b, "RESOURCE", "DELETE") + queued(s_b, "VEN", "DELETE"), 0);
	ck_assert_int_eq(queued(s_b1, "RESOURCE", "DELETE") + queued(s_b1, "VEN", "DELETE"), 0);
	problem(ubl.token, "GET", pth("/resources/%s", res1), NULL, NULL, 404, NULL);
	problem(ubl.token, "GET", pth("/resources/%s", res2), NULL, NULL, 404, NULL);
}
END_TEST

START_TEST(test_subscription_program)
{
	actor		ubl, abl, bbl, a1;
	char		uprog[32], bprog[32], tprog[32], aprog[32], sub[32];
	const char *ev = "[\"EVENT\"]";
	const char *cr = "[\"CREATE\"]";

	if (!up())
		return;
	make_actor(&ubl, "utility BL", "--name u-bl --role bl");
	make_actor(&abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(&bbl, "agg-b BL", "--name b-bl --role bl --tenant agg-b");
	make_actor(&a1, "agg-a VEN", "--name a-v1 --role ven --tenant agg-a");
	take_id(call(false, &ubl, "POST", "/programs", program_body("U", NULL), 201), uprog);
	take_id(call(false, &ubl, "POST", "/programs", program_body("U-t", "[\"secret\"]"), 201),
			tprog);
	take_id(call(false, &bbl, "POST", "/programs", program_body("B", NULL), 201), bprog);
	take_id(call(false, &abl, "POST", "/programs", program_body("A", NULL), 201), aprog);

	/* visible programs: fine */
	json_decref(call(false, &abl, "POST", "/subscriptions", subscription_body("a", uprog, ev, cr),
					 201));
	take_id(call(false, &a1, "POST", "/subscriptions", subscription_body("v", aprog, ev, cr), 201),
			sub);
	/* unknown, foreign, or not granted: 400 naming programID */
	problem(ubl.token, "POST", "/subscriptions", JSON_CT,
			jtext(subscription_body("u", "999999", ev, cr)), 400, "programID");
	problem(ubl.token, "POST", "/subscriptions", JSON_CT,
			jtext(subscription_body("u", "prog-x", ev, cr)), 400, "programID");
	problem(abl.token, "POST", "/subscriptions", JSON_CT,
			jtext(subscription_body("a", bprog, ev, cr)), 400, "programID");
	problem(a1.token, "POST", "/subscriptions", JSON_CT,
			jtext(subscription_body("v", tprog, ev, cr)), 400, "programID");
	problem(a1.token, "PUT", pth("/subscriptions/%s", sub), JSON_CT,
			jtext(subscription_body("v", bprog, ev, cr)), 400, "programID");
	/* the PUT left it as it was */
	{
		json_t	   *o = call(false, &a1, "GET", pth("/subscriptions/%s", sub), NULL, 200);

		ck_assert_str_eq(json_string_value(json_object_get(o, "programID")), aprog);
		json_decref(o);
	}
	expect_count(false, &ubl, "/subscriptions", 2);
}
END_TEST

/* An event moved to another program: its reports follow it. */
START_TEST(test_event_moves)
{
	actor		abl, a1;
	char		p1[32], p2[32], ev[32];

	if (!up())
		return;
	make_actor(&abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(&a1, "agg-a VEN", "--name a-v1 --role ven --tenant agg-a");
	take_id(call(false, &abl, "POST", "/programs", program_body("P-1", NULL), 201), p1);
	take_id(call(false, &abl, "POST", "/programs", program_body("P-2", NULL), 201), p2);
	take_id(call(false, &abl, "POST", "/events", event_body(p1, "e", NULL), 201), ev);
	json_decref(call(false, &a1, "POST", "/reports", report_body(ev, "VEN-A1", "r"), 201));
	expect_count(false, &a1, pth("/reports?programID=%s", p1), 1);
	json_decref(call(false, &abl, "PUT", pth("/events/%s", ev), event_body(p2, "e", NULL), 200));
	expect_count(false, &a1, pth("/reports?programID=%s", p1), 0);
	expect_count(false, &a1, pth("/reports?programID=%s", p2), 1);
	expect_count(false, &abl, pth("/reports?programID=%s", p2), 1);
	expect_count(false, &abl, pth("/events?programID=%s", p2), 1);
}
END_TEST

Suite *
oadr_suite(void)
{
	Suite	   *s = suite_create("oadr");
	TCase	   *tc = tcase_create("oadr");

	tcase_set_timeout(tc, 300);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_conforms);
	tcase_add_test(tc, test_error_through_prism);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_privacy_matrix);
	tcase_add_test(tc, test_cascade_notifications);
	tcase_add_test(tc, test_subscription_program);
	tcase_add_test(tc, test_event_moves);
	suite_add_tcase(s, tc);
	return s;
}
