/*
 * tests/integration/test_oadr_webhook.c
 *	  OpenADR subscription callbacks end to end: a real dermsd with a
 *	  notify worker, clients made by dermsctl with tokens from
 *	  /auth/token, and a receiver run here (libmicrohttpd, plain HTTP on
 *	  loopback, which notify.allow_http_loopback allows).
 *
 *	  The callback verification (dermsd's own exchange, see
 *	  protocols/openadr/DESIGN.md): the VERIFY POST with the challenge and
 *	  the subscriber's bearer token, answered with the JSON or the bare
 *	  echo; notifications held until the callback is verified and then
 *	  delivered; a verification retried after a wrong answer; a delivery
 *	  retried after a 500; a dead callback left unverified with its
 *	  notifications held.  Every delivered notification is checked against
 *	  the YAML's notification schema and its object against the event
 *	  schema (model.c's validation of an event, plus the metadata).
 *
 * NOTES
 *	  Without the test cluster (DERMS_TEST_PG) the tests print SKIP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "harness.h"
#include "protocols/openadr/model.h"
#include "tests/suites.h"

#define JSON_CT "application/json"
#define RX_MAX 64
#define EXTRA_CONF \
	"[notify]\nworkers = 1\nallow_http_loopback = true\nbackoff_s = 1\n" \
	"max_attempts = 3\nendpoint_dead_after = 50\ntimeout_s = 2\n"

typedef struct actor
{
	const char *label;
	char		id[512];
	char		secret[512];
	char	   *token;
} actor;

/* How the receiver answers a VERIFY. */
typedef enum rx_mode
{
	RX_ECHO_JSON = 0,			/* 200 {"challenge": ...} */
	RX_ECHO_TEXT,				/* 200 text/plain challenge */
	RX_WRONG_ECHO				/* 200 {"challenge": "nope"} */
} rx_mode;

typedef struct rx_req
{
	char		path[128];
	char		auth[256];
	char	   *body;
} rx_req;

typedef struct receiver
{
	struct MHD_Daemon *d;
	int			port;
	pthread_mutex_t mu;
	rx_req		reqs[RX_MAX];
	int			n;
	rx_mode		mode;
	int			fail_next;		/* answer 500 to this many notifications */
} receiver;

typedef struct rx_conn
{
	char	   *body;
	size_t		len;
} rx_conn;

static it_server srv;

/* ---- the receiver ---- */

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	receiver   *rx = cls;
	rx_conn    *b = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	json_t	   *j;
	char	   *answer = NULL;
	const char *ctype = "text/plain";
	int			status = 204;

	(void) version;
	if (b == NULL)
	{
		*con_cls = calloc(1, sizeof(rx_conn));
		return *con_cls ? MHD_YES : MHD_NO;
	}
	if (*upload_size > 0)
	{
		b->body = realloc(b->body, b->len + *upload_size + 1);
		memcpy(b->body + b->len, upload, *upload_size);
		b->len += *upload_size;
		b->body[b->len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	j = json_loads(b->body ? b->body : "", 0, NULL);
	pthread_mutex_lock(&rx->mu);
	if (rx->n < RX_MAX && strcmp(method, "POST") == 0)
	{
		rx_req	   *r = &rx->reqs[rx->n++];
		const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

		snprintf(r->path, sizeof(r->path), "%s", url);
		snprintf(r->auth, sizeof(r->auth), "%s", h ? h : "");
		r->body = b->body ? b->body : strdup("");
		b->body = NULL;
	}
	if (j && json_is_string(json_object_get(j, "operation")) &&
		strcmp(json_string_value(json_object_get(j, "operation")), "VERIFY") == 0)
	{
		const char *ch = json_string_value(json_object_get(j, "challenge"));

		status = 200;
		if (rx->mode == RX_WRONG_ECHO)
			answer = strdup("{\"challenge\":\"nope\"}"), ctype = JSON_CT;
		else if (rx->mode == RX_ECHO_TEXT || strncmp(url, "/text", 5) == 0)
			answer = strdup(ch ? ch : "");
		else
		{
			json_t	   *o = json_pack("{s:s}", "challenge", ch ? ch : "");

			answer = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			ctype = JSON_CT;
		}
	}
	else if (rx->fail_next > 0)
	{
		rx->fail_next--;
		status = 500;
	}
	pthread_mutex_unlock(&rx->mu);
	json_decref(j);
	if (answer)
		resp = MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", ctype);
	ret = MHD_queue_response(c, (unsigned) status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
rx_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	rx_conn    *b = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (b)
	{
		free(b->body);
		free(b);
		*con_cls = NULL;
	}
}

static void
rx_start(receiver *rx)
{
	struct sockaddr_in sa;

	memset(rx, 0, sizeof(*rx));
	pthread_mutex_init(&rx->mu, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
							 0, NULL, NULL, rx_handler, rx, MHD_OPTION_SOCK_ADDR, &sa,
							 MHD_OPTION_NOTIFY_COMPLETED, rx_completed, rx, MHD_OPTION_END);
	ck_assert_ptr_nonnull(rx->d);
	rx->port = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void
rx_stop(receiver *rx)
{
	if (rx->d)
		MHD_stop_daemon(rx->d);
	for (int i = 0; i < rx->n; i++)
		free(rx->reqs[i].body);
	rx->d = NULL;
	rx->n = 0;
}

/* Requests received whose body's "operation" is op (and path, if set). */
static int
rx_count(receiver *rx, const char *op, const char *path)
{
	int			n = 0;

	pthread_mutex_lock(&rx->mu);
	for (int i = 0; i < rx->n; i++)
	{
		json_t	   *j = json_loads(rx->reqs[i].body, 0, NULL);
		const char *o = json_string_value(json_object_get(j, "operation"));

		if (o && strcmp(o, op) == 0 && (path == NULL || strcmp(rx->reqs[i].path, path) == 0))
			n++;
		json_decref(j);
	}
	pthread_mutex_unlock(&rx->mu);
	return n;
}

/* The last request of operation op: its body (new reference), auth. */
static json_t *
rx_last(receiver *rx, const char *op, char *auth, size_t authlen)
{
	json_t	   *out = NULL;

	pthread_mutex_lock(&rx->mu);
	for (int i = rx->n - 1; i >= 0 && out == NULL; i--)
	{
		json_t	   *j = json_loads(rx->reqs[i].body, 0, NULL);
		const char *o = json_string_value(json_object_get(j, "operation"));

		if (o && strcmp(o, op) == 0)
		{
			out = j;
			snprintf(auth, authlen, "%s", rx->reqs[i].auth);
		}
		else
			json_decref(j);
	}
	pthread_mutex_unlock(&rx->mu);
	return out;
}

/* ---- dermsd and its clients ---- */

static bool
up(void)
{
	const char *why[1] = {"could not prepare"};

	if (!it_prepare(&srv, EXTRA_CONF, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("oadr_webhook", why[0]);
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
	it_cleanup(&srv);
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

/* A request with a's token and body (JSON text); the id of the answer. */
static void
call(const actor *a, const char *method, const char *path, const char *body, long want,
	 char *id_out)
{
	char		auth[4200];
	const char *hs[2] = {auth, NULL};
	it_response r;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
	r = it_https_h(&srv, srv.vtn_port, method, path, NULL, IT_TLS_DEFAULT,
				   body ? JSON_CT : NULL, body, hs);
	ck_assert_msg(r.status == want, "%s %s as %s: %ld, want %ld: %s", method, path, a->label,
				  r.status, want, r.body);
	if (id_out)
	{
		json_t	   *j = json_loads(r.body, 0, NULL);

		ck_assert_msg(json_is_string(json_object_get(j, "id")), "no id: %s", r.body);
		snprintf(id_out, 32, "%s", json_string_value(json_object_get(j, "id")));
		json_decref(j);
	}
	it_response_free(&r);
}

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

static bool
sql_is(const char *sql, const char *want)
{
	char	   *v = sql_value(sql);
	bool		eq = strcmp(v, want) == 0;

	free(v);
	return eq;
}

/* A subscription of a to EVENT CREATE with callback url and bearer. */
static void
subscribe(const actor *a, const char *program, const char *url, const char *bearer,
		  char *id_out)
{
	call(a, "POST", "/subscriptions",
		 pth("{\"clientName\":\"%s\",\"programID\":\"%s\",\"objectOperations\":"
			 "[{\"objects\":[\"EVENT\"],\"operations\":[\"CREATE\"],\"callbackUrl\":\"%s\","
			 "\"bearerToken\":\"%s\"}]}", a->label, program, url, bearer), 201, id_out);
}

static void
create_event(const actor *bl, const char *program, const char *name, const char *target)
{
	call(bl, "POST", "/events",
		 pth("{\"programID\":\"%s\",\"eventName\":\"%s\",\"targets\":[\"%s\"],"
			 "\"payloadDescriptors\":[{\"objectType\":\"EVENT_PAYLOAD_DESCRIPTOR\","
			 "\"payloadType\":\"PRICE\",\"units\":\"KWH\",\"currency\":\"USD\"}],"
			 "\"intervalPeriod\":{\"start\":\"2030-06-15T17:00:00Z\",\"duration\":\"PT1H\"},"
			 "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"PRICE\",\"values\":[0.21]}]}]}",
			 program, name, target), 201, NULL);
}

/*
 * A notification body as the YAML's notification schema has it:
 * objectType, operation (CREATE ... DELETE), object, optional targets
 * (array of strings or null), nothing else; the object an event (model.c
 * validates it as a request, and the metadata is checked here) named
 * event_name with exactly the targets given.
 */
static void
check_notification(json_t *n, const char *event_name, const char *target)
{
	static const char *const ops[] = {"CREATE", "READ", "UPDATE", "DELETE"};
	json_t	   *obj = json_object_get(n, "object");
	json_t	   *copy;
	const char *key;
	json_t	   *v;
	oadr_doc	doc;
	derms_err	err;
	bool		op_ok = false;
	char	   *text = json_dumps(n, JSON_COMPACT);

	json_object_foreach(n, key, v)
		ck_assert_msg(strcmp(key, "objectType") == 0 || strcmp(key, "operation") == 0 ||
					  strcmp(key, "object") == 0 || strcmp(key, "targets") == 0,
					  "notification has \"%s\": %s", key, text);
	ck_assert_str_eq(json_string_value(json_object_get(n, "objectType")), "EVENT");
	for (size_t i = 0; i < 4; i++)
		op_ok = op_ok || (json_is_string(json_object_get(n, "operation")) &&
						  strcmp(json_string_value(json_object_get(n, "operation")), ops[i]) == 0);
	ck_assert_msg(op_ok, "operation: %s", text);
	v = json_object_get(n, "targets");
	ck_assert_msg(v == NULL || json_is_null(v) ||
				  (json_is_array(v) && json_array_size(v) == 1 &&
				   strcmp(json_string_value(json_array_get(v, 0)), target) == 0),
				  "targets: %s", text);
	ck_assert_msg(json_is_object(obj), "object: %s", text);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "objectType")), "EVENT");
	ck_assert_msg(oadr_model_object_id(json_string_value(json_object_get(obj, "id"))),
				  "object.id: %s", text);
	ck_assert_msg(oadr_model_datetime(json_string_value(json_object_get(obj, "createdDateTime")),
									  NULL), "object.createdDateTime: %s", text);
	ck_assert_msg(oadr_model_datetime(json_string_value(json_object_get(obj,
																		"modificationDateTime")),
									  NULL), "object.modificationDateTime: %s", text);
	copy = json_deep_copy(obj);
	ck_assert_msg(oadr_model_check(OADR_EVENT, copy, &doc, &err) == DERMS_OK,
				  "object is not an event: %s: %s", err.msg, text);
	json_decref(doc.body);
	json_decref(copy);
	ck_assert_str_eq(json_string_value(json_object_get(obj, "eventName")), event_name);
	free(text);
}

/* A BL of agg-a, its VEN with a ven granted target "t1", a program. */
static void
scene(actor *abl, actor *ven, char *prog)
{
	char		v[32];

	make_actor(abl, "agg-a BL", "--name a-bl --role bl --tenant agg-a");
	make_actor(ven, "VEN-A1", "--name a-v1 --role ven --tenant agg-a");
	call(abl, "POST", "/vens",
		 pth("{\"objectType\":\"BL_VEN_REQUEST\",\"clientID\":\"%s\",\"venName\":\"VEN-A1\","
			 "\"targets\":[\"t1\"]}", ven->id), 201, v);
	call(abl, "POST", "/programs", "{\"programName\":\"P-A\"}", 201, prog);
}

/* ---- tests ---- */

/* The echo (JSON and bare), the bearer token, an event delivered. */
START_TEST(test_verify_and_deliver)
{
	receiver	rx;
	actor		abl, ven;
	char		prog[32], sub[32], sub2[32];
	char		auth[256];
	json_t	   *n;

	if (!up())
		return;
	rx_start(&rx);
	scene(&abl, &ven, prog);
	subscribe(&ven, prog, pth("http://127.0.0.1:%d/cb", rx.port), "tok-a1", sub);
	subscribe(&ven, prog, pth("http://127.0.0.1:%d/text", rx.port), "tok-a2", sub2);
	ck_assert_msg(IT_WAIT(sql_is("SELECT string_agg(state, ',' ORDER BY id) FROM oadr_callbacks",
								 "verified,verified"), 15000),
				  "callbacks not verified: %s",
				  sql_value("SELECT string_agg(state || ' ' || coalesce(last_error, ''), ',')"
							" FROM oadr_callbacks"));
	ck_assert_int_eq(rx_count(&rx, "VERIFY", "/cb"), 1);
	ck_assert_int_eq(rx_count(&rx, "VERIFY", "/text"), 1);
	n = rx_last(&rx, "VERIFY", auth, sizeof(auth));
	ck_assert_ptr_nonnull(n);
	ck_assert_str_eq(json_string_value(json_object_get(n, "objectType")), "SUBSCRIPTION");
	ck_assert_int_ge(strlen(json_string_value(json_object_get(n, "challenge"))), 32);
	ck_assert_msg(strcmp(json_string_value(json_object_get(n, "subscriptionID")), sub2) == 0 ||
				  strcmp(json_string_value(json_object_get(n, "subscriptionID")), sub) == 0,
				  "subscriptionID");
	ck_assert_msg(strcmp(auth, "Bearer tok-a1") == 0 || strcmp(auth, "Bearer tok-a2") == 0,
				  "verification without the bearer token: \"%s\"", auth);
	json_decref(n);
	/* the verification rows are delivered */
	ck_assert(sql_is("SELECT count(*) FROM notify_outbox WHERE kind = 'oadr_verify'"
					 " AND state = 'delivered'", "2"));

	create_event(&abl, prog, "e-1", "t1");
	ck_assert_msg(IT_WAIT(rx_count(&rx, "CREATE", NULL) == 2, 10000),
				  "event notifications: %d", rx_count(&rx, "CREATE", NULL));
	n = rx_last(&rx, "CREATE", auth, sizeof(auth));
	check_notification(n, "e-1", "t1");
	json_decref(n);
	ck_assert_msg(strncmp(auth, "Bearer tok-a", 12) == 0, "auth \"%s\"", auth);
	/* marked delivered in the outbox */
	ck_assert_msg(IT_WAIT(sql_is("SELECT count(*) FROM notify_outbox WHERE kind = 'openadr'"
								 " AND state = 'delivered'", "2"), 5000), "not marked delivered");
	/* an event the VEN may not see (target not granted) reaches nobody */
	create_event(&abl, prog, "e-hidden", "t9");
	usleep(1500000);
	ck_assert_int_eq(rx_count(&rx, "CREATE", NULL), 2);
	rx_stop(&rx);
}
END_TEST

/*
 * A wrong echo: the verification is retried, notifications meanwhile are
 * held; once the receiver echoes, the held notification is delivered.
 * Then a delivery that fails once (500) is retried.
 */
START_TEST(test_held_and_retried)
{
	receiver	rx;
	actor		abl, ven;
	char		prog[32], sub[32];
	json_t	   *n;
	char		auth[256];

	if (!up())
		return;
	rx_start(&rx);
	rx.mode = RX_WRONG_ECHO;
	scene(&abl, &ven, prog);
	subscribe(&ven, prog, pth("http://127.0.0.1:%d/cb", rx.port), "tok-h", sub);
	ck_assert_msg(IT_WAIT(rx_count(&rx, "VERIFY", NULL) >= 1, 10000), "no VERIFY");
	create_event(&abl, prog, "e-held", "t1");
	ck_assert(sql_is("SELECT count(*) FROM oadr_held", "1"));
	ck_assert(sql_is("SELECT count(*) FROM notify_outbox WHERE kind = 'openadr'", "0"));
	ck_assert_msg(IT_WAIT(sql_is("SELECT last_error FROM oadr_callbacks",
								 "the answer did not echo the challenge"), 5000),
				  "wrong echo not recorded");
	pthread_mutex_lock(&rx.mu);
	rx.mode = RX_ECHO_JSON;
	pthread_mutex_unlock(&rx.mu);
	ck_assert_msg(IT_WAIT(rx_count(&rx, "CREATE", NULL) == 1, 15000),
				  "held notification not delivered: %s",
				  sql_value("SELECT state || ' ' || coalesce(last_error, '') FROM oadr_callbacks"));
	ck_assert_int_ge(rx_count(&rx, "VERIFY", NULL), 2);
	ck_assert(sql_is("SELECT state FROM oadr_callbacks", "verified"));
	ck_assert(sql_is("SELECT count(*) FROM oadr_held", "0"));
	n = rx_last(&rx, "CREATE", auth, sizeof(auth));
	check_notification(n, "e-held", "t1");
	ck_assert_str_eq(auth, "Bearer tok-h");
	json_decref(n);

	/* a delivery answered 500 once is delivered on the retry */
	pthread_mutex_lock(&rx.mu);
	rx.fail_next = 1;
	pthread_mutex_unlock(&rx.mu);
	create_event(&abl, prog, "e-retry", "t1");
	ck_assert_msg(IT_WAIT(rx_count(&rx, "CREATE", NULL) == 3, 15000), "no retry: %d",
				  rx_count(&rx, "CREATE", NULL));
	ck_assert_msg(IT_WAIT(sql_is("SELECT attempts || ' ' || state FROM notify_outbox"
								 " WHERE kind = 'openadr' AND convert_from(body, 'UTF8')::jsonb"
								 " -> 'object' ->> 'eventName' = 'e-retry'", "2 delivered"), 5000),
				  "retry row: %s", sql_value("SELECT attempts || ' ' || state FROM notify_outbox"
											 " ORDER BY id DESC LIMIT 1"));
	n = rx_last(&rx, "CREATE", auth, sizeof(auth));
	check_notification(n, "e-retry", "t1");
	json_decref(n);
	rx_stop(&rx);
}
END_TEST

/* Nobody listens: the verification dies, the callback is unverified, and
 * notifications stay held (never sent) until a PUT verifies again. */
START_TEST(test_dead_callback)
{
	receiver	rx;
	actor		abl, ven;
	char		prog[32], sub[32];
	int			port;
	int			fd;
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);

	if (!up())
		return;
	/* a loopback port with nothing behind it */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *) &sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);

	scene(&abl, &ven, prog);
	subscribe(&ven, prog, pth("http://127.0.0.1:%d/cb", port), "tok-d", sub);
	create_event(&abl, prog, "e-dead", "t1");
	ck_assert_msg(IT_WAIT(sql_is("SELECT state FROM oadr_callbacks", "unverified"), 20000),
				  "callback not unverified: %s",
				  sql_value("SELECT state || ' ' || coalesce(last_error, '') FROM oadr_callbacks"));
	ck_assert(sql_is("SELECT state || ' ' || attempts FROM notify_outbox"
					 " WHERE kind = 'oadr_verify'", "dead 3"));
	ck_assert(sql_is("SELECT count(*) FROM oadr_held", "1"));
	ck_assert(sql_is("SELECT count(*) FROM notify_outbox WHERE kind = 'openadr'", "0"));
	ck_assert_msg(IT_WAIT(it_run("grep -q 'was not verified' '%s'", srv.log) == 0, 3000),
				  "no log line for the unverified callback");
	/* the subscription still reads as the YAML has it (no extra fields) */
	call(&ven, "GET", pth("/subscriptions/%s", sub), NULL, 200, NULL);

	/* the receiver comes up there; a PUT of the subscription verifies anew */
	rx_start(&rx);
	MHD_stop_daemon(rx.d);
	{
		struct sockaddr_in at;

		memset(&at, 0, sizeof(at));
		at.sin_family = AF_INET;
		at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		at.sin_port = htons((uint16_t) port);
		rx.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
								MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, rx_handler, &rx,
								MHD_OPTION_SOCK_ADDR, &at,
								MHD_OPTION_NOTIFY_COMPLETED, rx_completed, &rx, MHD_OPTION_END);
		ck_assert_ptr_nonnull(rx.d);
	}
	call(&ven, "PUT", pth("/subscriptions/%s", sub),
		 pth("{\"clientName\":\"VEN-A1\",\"programID\":\"%s\",\"objectOperations\":"
			 "[{\"objects\":[\"EVENT\"],\"operations\":[\"CREATE\"],\"callbackUrl\":"
			 "\"http://127.0.0.1:%d/cb\",\"bearerToken\":\"tok-d\"}]}", prog, port), 200, NULL);
	ck_assert_msg(IT_WAIT(rx_count(&rx, "CREATE", NULL) == 1, 15000),
				  "held notification not delivered after re-verification: %s",
				  sql_value("SELECT state || ' ' || coalesce(last_error, '') FROM oadr_callbacks"));
	rx_stop(&rx);
}
END_TEST

Suite *
oadr_webhook_suite(void)
{
	Suite	   *s = suite_create("oadr_webhook");
	TCase	   *tc = tcase_create("oadr_webhook");

	tcase_set_timeout(tc, 180);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_verify_and_deliver);
	tcase_add_test(tc, test_held_and_retried);
	tcase_add_test(tc, test_dead_callback);
	suite_add_tcase(s, tc);
	return s;
}
