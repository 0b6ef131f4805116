/*
 * tests/integration/test_oadr_mqtt.c
 *	  The OpenADR MQTT notifier binding end to end: a private Mosquitto
 *	  broker (deploy/mosquitto.sh) with TLS and client certificates, a real
 *	  dermsd publishing to it, clients made by dermsctl, their broker
 *	  credentials from GET /notifiers, and libmosquitto subscribers.
 *
 * NOTES
 *	  Each test gets its own broker (port, directory) and database.  The
 *	  ACL is written by "dermsctl vtn mqtt sync" after the vens exist.
 *	  /notifiers and the topic endpoints pass Prism; refusals go straight
 *	  to dermsd.  Without mosquitto, PostgreSQL or Prism the test prints a
 *	  SKIP.  Run from the repository root (tests/run.sh does).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <mosquitto.h>

#include "harness.h"
#include "prism.h"
#include "tests/suites.h"

#define JSON_CT "application/json"
#define MOSQUITTO_BIN "/usr/sbin/mosquitto"
#define MAX_MSGS 64

typedef struct actor
{
	char		id[IT_VTN_CRED_MAX];
	char		secret[IT_VTN_CRED_MAX];
	char	   *token;
} actor;

/* A libmosquitto subscriber; callbacks run in its thread. */
typedef struct sub
{
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	bool		connected;
	int			nsubacks;
	int			granted[8];		/* granted QoS of each SUBACK, in order */
	int			nmsgs;
	char	   *topics[MAX_MSGS];
	char	   *payloads[MAX_MSGS];
} sub;

static it_server srv;
static it_prism prism;
static char broker[1024];
static int	broker_port;

/* ---- helpers ---- */

static void
sync_acl(void)
{
	ck_assert_int_eq(it_run("%s/dermsctl -c %s vtn mqtt sync --pki %s --broker %s >/dev/null",
							test_build_dir(), srv.conf, srv.pki, broker), 0);
}

/* A client made by dermsctl and its token. */
static void
make_actor(actor *a, const char *args)
{
	memset(a, 0, sizeof(*a));
	it_vtn_client(&srv, args, a->id, a->secret);
	a->token = it_vtn_token(&srv, a->id, a->secret, NULL);
	ck_assert_msg(a->token != NULL, "no token for %s", args);
}

/* A request straight to dermsd (or through Prism: no sl-violations). */
static json_t *
call(bool via_prism, const actor *a, const char *method, const char *path,
	 const char *body, long want)
{
	char		auth[4200];
	const char *hs[2] = {auth, NULL};
	it_response r;
	json_t	   *j;

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", a->token);
	if (via_prism)
		r = it_prism_request(&prism, method, path, body ? JSON_CT : NULL, body, hs);
	else
		r = it_bearer(&srv, method, path, a->token, body ? JSON_CT : NULL, body);
	ck_assert_msg(r.curl_rc == 0, "%s %s: no response", method, path);
	if (via_prism)
	{
		char	   *v = it_prism_violations(&r);

		ck_assert_msg(v == NULL, "%s %s: sl-violations: %s (status %ld, body %s)", method,
					  path, v, r.status, r.body);
	}
	ck_assert_msg(r.status == want, "%s %s: status %ld, want %ld: %s", method, path,
				  r.status, want, r.body);
	j = json_loads(r.body, JSON_DECODE_ANY, NULL);
	ck_assert_msg(j != NULL, "%s %s: not JSON: %s", method, path, r.body);
	it_response_free(&r);
	return j;
}

static void
take_id(json_t *o, char *out, size_t len)
{
	const char *id = json_string_value(json_object_get(o, "id"));

	ck_assert_ptr_nonnull(id);
	snprintf(out, len, "%s", id);
	json_decref(o);
}

/* Write the client's broker credentials from /notifiers to DIR/NAME.{pem,key}. */
static void
credentials(const actor *a, const char *name)
{
	json_t	   *n = call(false, a, "GET", "/notifiers", NULL, 200);
	json_t	   *auth = json_object_get(json_object_get(n, "MQTT"), "authentication");
	char		path[1024];
	FILE	   *f;

	ck_assert_msg(auth != NULL, "/notifiers has no MQTT authentication");
	ck_assert_str_eq(json_string_value(json_object_get(auth, "method")), "CERTIFICATE");
	snprintf(path, sizeof(path), "%s/%s.pem", srv.dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(json_string_value(json_object_get(auth, "clientCert")), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s.key", srv.dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(json_string_value(json_object_get(auth, "clientKey")), f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%s-ca.pem", srv.dir, name);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fputs(json_string_value(json_object_get(auth, "caCert")), f);
	fclose(f);
	json_decref(n);
}

/* ---- the subscriber ---- */

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
	sub		   *s = obj;

	(void) m;
	pthread_mutex_lock(&s->lock);
	s->connected = rc == 0;
	pthread_mutex_unlock(&s->lock);
}

static void
on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *qos)
{
	sub		   *s = obj;

	(void) m;
	(void) mid;
	pthread_mutex_lock(&s->lock);
	if (s->nsubacks < 8)
		s->granted[s->nsubacks++] = n > 0 ? qos[0] : -1;
	pthread_mutex_unlock(&s->lock);
}

static void
on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	sub		   *s = obj;

	(void) m;
	pthread_mutex_lock(&s->lock);
	if (s->nmsgs < MAX_MSGS)
	{
		s->topics[s->nmsgs] = strdup(msg->topic);
		s->payloads[s->nmsgs] = strndup(msg->payload, (size_t) msg->payloadlen);
		s->nmsgs++;
	}
	pthread_mutex_unlock(&s->lock);
}

/* Connect as DIR/name.pem; true when the broker accepted. */
static bool
sub_start(sub *s, const char *name)
{
	char		cert[1024], key[1024], ca[1024];

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	snprintf(cert, sizeof(cert), "%s/%s.pem", srv.dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", srv.dir, name);
	snprintf(ca, sizeof(ca), "%s/%s-ca.pem", srv.dir, name);
	s->mosq = mosquitto_new(NULL, true, s);
	ck_assert_ptr_nonnull(s->mosq);
	mosquitto_int_option(s->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	ck_assert_int_eq(mosquitto_tls_set(s->mosq, ca, NULL, cert, key, NULL), 0);
	mosquitto_connect_callback_set(s->mosq, on_connect);
	mosquitto_subscribe_callback_set(s->mosq, on_subscribe);
	mosquitto_message_callback_set(s->mosq, on_message);
	ck_assert_int_eq(mosquitto_connect(s->mosq, "127.0.0.1", broker_port, 30), 0);
	ck_assert_int_eq(mosquitto_loop_start(s->mosq), 0);
	return IT_WAIT(({ bool c_; pthread_mutex_lock(&s->lock); c_ = s->connected;
					pthread_mutex_unlock(&s->lock); c_; }), 5000);
}

static int
sub_count(sub *s, int what)		/* 0: messages, 1: SUBACKs */
{
	int			n;

	pthread_mutex_lock(&s->lock);
	n = what == 0 ? s->nmsgs : s->nsubacks;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Subscribe to topic; the granted QoS (0x80: refused). */
static int
sub_to(sub *s, const char *topic)
{
	int			before = sub_count(s, 1);

	ck_assert_int_eq(mosquitto_subscribe(s->mosq, NULL, topic, 1), 0);
	ck_assert_msg(IT_WAIT(sub_count(s, 1) > before, 5000), "no SUBACK for %s", topic);
	return s->granted[before];
}

static void
sub_stop(sub *s)
{
	if (s->mosq == NULL)
		return;
	mosquitto_disconnect(s->mosq);
	mosquitto_loop_stop(s->mosq, true);
	mosquitto_destroy(s->mosq);
	for (int i = 0; i < s->nmsgs; i++)
	{
		free(s->topics[i]);
		free(s->payloads[i]);
	}
	s->mosq = NULL;
}

/* Index of the first message on topic, or -1. */
static int
sub_find(sub *s, const char *topic)
{
	int			found = -1;

	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nmsgs && found < 0; i++)
		if (strcmp(s->topics[i], topic) == 0)
			found = i;
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* ---- setup ---- */

typedef struct world
{
	actor		bl;				/* BL of aggregator agg1 */
	actor		v1;				/* VENs of agg1 */
	actor		v2;
	char		ven1[32];		/* v1's ven, targets group-1 */
	char		ven2[32];		/* v2's ven, targets group-2 */
	char		program[32];
} world;

/* dermsd and a broker, the clients, their vens, the ACL; false: SKIP. */
static bool
up(world *w)
{
	char		conf[4096];
	FILE	   *p;
	size_t		n;
	char		body[512];

	if (access(MOSQUITTO_BIN, X_OK) != 0)
	{
		test_skip("oadr_mqtt", MOSQUITTO_BIN " is not installed (deploy/install-deps.sh)");
		return false;
	}
	if (!it_setup(&srv, "[notify]\nworkers = 1\nmax_attempts = 5\n", "oadr_mqtt"))
		return false;
	snprintf(broker, sizeof(broker), "%s/broker", srv.dir);
	broker_port = it_free_port();
	ck_assert_int_gt(broker_port, 0);
	ck_assert_int_eq(it_run("deploy/mosquitto.sh init %s %s %d >/dev/null", broker, srv.pki,
							broker_port), 0);
	ck_assert_int_eq(it_run("deploy/mosquitto.sh start %s", broker), 0);
	sync_acl();					/* the publisher's certificate */
	snprintf(conf, sizeof(conf), "deploy/mosquitto.sh conf %s", broker);
	p = popen(conf, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(conf, 1, sizeof(conf) - 1, p);
	conf[n] = '\0';
	ck_assert_int_eq(pclose(p), 0);
	p = fopen(srv.conf, "a");
	fprintf(p, "\n%s", conf);
	fclose(p);
	it_launch(&srv);
	make_actor(&w->bl, "--name bl1 --role bl --tenant agg1");
	make_actor(&w->v1, "--name ven1 --role ven --tenant agg1");
	make_actor(&w->v2, "--name ven2 --role ven --tenant agg1");
	snprintf(body, sizeof(body), "{\"objectType\": \"BL_VEN_REQUEST\", \"clientID\": \"%s\","
			 " \"venName\": \"VEN-1\", \"targets\": [\"group-1\"]}", w->v1.id);
	take_id(call(false, &w->bl, "POST", "/vens", body, 201), w->ven1, sizeof(w->ven1));
	snprintf(body, sizeof(body), "{\"objectType\": \"BL_VEN_REQUEST\", \"clientID\": \"%s\","
			 " \"venName\": \"VEN-2\", \"targets\": [\"group-2\"]}", w->v2.id);
	take_id(call(false, &w->bl, "POST", "/vens", body, 201), w->ven2, sizeof(w->ven2));
	take_id(call(false, &w->bl, "POST", "/programs",
				 "{\"programName\": \"mqtt-program\"}", 201), w->program, sizeof(w->program));
	sync_acl();					/* certificates for the clients, the vens' ACL */
	credentials(&w->v1, "v1");
	credentials(&w->v2, "v2");
	credentials(&w->bl, "bl");
	return true;
}

static void
down(void)
{
	it_prism_stop(&prism);
	if (broker[0])
		it_run("deploy/mosquitto.sh stop %s", broker);
	broker[0] = '\0';
	it_cleanup(&srv);
}

/* POST an event of w's program with targets; its id into out. */
static void
post_event(world *w, const char *name, const char *targets, char *out, size_t len)
{
	char		body[512];

	snprintf(body, sizeof(body), "{\"programID\": \"%s\", \"eventName\": \"%s\","
			 " \"targets\": %s, \"intervals\": [{\"id\": 0, \"payloads\":"
			 " [{\"type\": \"SIMPLE\", \"values\": [1]}]}]}", w->program, name, targets);
	take_id(call(false, &w->bl, "POST", "/events", body, 201), out, len);
}

/* ---- tests ---- */

/*
 * A VEN subscribed to its own ven's event topic gets the event a BL
 * creates, as the notification schema says; it cannot subscribe to the
 * other VEN's topics (SUBACK refuses, nothing arrives), and the other
 * VEN, not granted the event's target, gets nothing.  A BL reads the
 * tenant's collection topic.
 */
START_TEST(test_mqtt_event_reaches_ven)
{
	world		w;
	sub			s1, s2, sb;
	char		topic[256], other[256], coll[256], ev[32];
	json_t	   *n;
	int			i;
	int			refused;

	if (!up(&w))
		return;
	ck_assert_msg(sub_start(&s1, "v1"), "VEN 1 could not connect to the broker");
	ck_assert_msg(sub_start(&s2, "v2"), "VEN 2 could not connect to the broker");
	ck_assert_msg(sub_start(&sb, "bl"), "BL could not connect to the broker");
	snprintf(topic, sizeof(topic), "openadr3/vens/%s/events/+", w.ven1);
	snprintf(other, sizeof(other), "openadr3/vens/%s/events/+", w.ven2);
	ck_assert_int_eq(sub_to(&s1, topic), 1);

	/*
	 * Mosquitto 2.0's ACL file grants SUBSCRIBE to any filter and checks
	 * read access per message; a later version may refuse in the SUBACK
	 * (0x80).  Either way nothing foreign may arrive (checked below).
	 */
	refused = sub_to(&s1, other);
	ck_assert_msg(refused == 1 || refused == 0x80, "SUBACK %d", refused);
	refused = sub_to(&s1, "openadr3/#");
	ck_assert_msg(refused == 1 || refused == 0x80, "SUBACK %d", refused);
	ck_assert_int_eq(sub_to(&s2, other), 1);
	{
		/* the tenant's id, as /notifiers/mqtt/topics/events names it */
		json_t	   *t = call(false, &w.bl, "GET", "/notifiers/mqtt/topics/events", NULL, 200);

		snprintf(coll, sizeof(coll), "%s", json_string_value(json_object_get(
											 json_object_get(t, "topics"), "CREATE")));
		json_decref(t);
	}
	ck_assert_int_eq(sub_to(&sb, coll), 1);

	post_event(&w, "for-ven-1", "[\"group-1\"]", ev, sizeof(ev));
	snprintf(topic, sizeof(topic), "openadr3/vens/%s/events/create", w.ven1);
	ck_assert_msg(IT_WAIT(sub_find(&s1, topic) >= 0, 10000),
				  "VEN 1 got no notification on %s", topic);
	ck_assert_msg(IT_WAIT(sub_find(&sb, coll) >= 0, 10000), "BL got nothing on %s", coll);
	i = sub_find(&s1, topic);
	n = json_loads(s1.payloads[i], 0, NULL);
	ck_assert_msg(n != NULL, "not JSON: %s", s1.payloads[i]);
	ck_assert_str_eq(json_string_value(json_object_get(n, "objectType")), "EVENT");
	ck_assert_str_eq(json_string_value(json_object_get(n, "operation")), "CREATE");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(n, "object"), "id")),
					 ev);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(n, "object"),
													   "objectType")), "EVENT");
	json_decref(n);

	/* nothing on VEN 2's topic: VEN 1 may not read it, VEN 2 was not granted */
	usleep(1000000);
	snprintf(other, sizeof(other), "openadr3/vens/%s/events/create", w.ven2);
	ck_assert_int_eq(sub_find(&s1, other), -1);
	ck_assert_int_eq(sub_find(&s2, other), -1);
	for (int k = 0; k < sub_count(&s1, 0); k++)
	{
		snprintf(topic, sizeof(topic), "openadr3/vens/%s/", w.ven1);
		ck_assert_msg(strncmp(s1.topics[k], topic, strlen(topic)) == 0,
					  "VEN 1 got %s", s1.topics[k]);
	}

	/* an event for group-2 reaches VEN 2 only */
	i = sub_count(&s1, 0);
	post_event(&w, "for-ven-2", "[\"group-2\"]", ev, sizeof(ev));
	ck_assert_msg(IT_WAIT(sub_find(&s2, other) >= 0, 10000),
				  "VEN 2 got no notification on %s", other);
	usleep(500000);
	ck_assert_int_eq(sub_count(&s1, 0), i);

	sub_stop(&s1);
	sub_stop(&s2);
	sub_stop(&sb);
	down();
}
END_TEST

/*
 * /notifiers and every topic endpoint through Prism, with no
 * sl-violations; a VEN asking for another VEN's topics gets 404, for a
 * collection 403.
 */
START_TEST(test_mqtt_notifiers_api)
{
	world		w;
	bool		skip;
	const char *why = NULL;
	json_t	   *j;
	json_t	   *mq;
	const char *bl_paths[] = {
		"/notifiers/mqtt/topics/programs", "/notifiers/mqtt/topics/events",
		"/notifiers/mqtt/topics/reports", "/notifiers/mqtt/topics/subscriptions",
		"/notifiers/mqtt/topics/vens", "/notifiers/mqtt/topics/resources",
	};
	char		path[256];
	const char *ven_suffix[] = {"", "/events", "/programs", "/resources"};

	if (!up(&w))
		return;
	if (!it_prism_start(&prism, &srv, &skip, &why))
	{
		if (skip)
		{
			test_skip("oadr_mqtt notifiers through Prism", why);
			down();
			return;
		}
		ck_abort_msg("%s", why);
	}
	j = call(true, &w.bl, "GET", "/notifiers", NULL, 200);
	ck_assert(json_is_true(json_object_get(j, "WEBHOOK")));
	mq = json_object_get(j, "MQTT");
	ck_assert_ptr_nonnull(mq);
	ck_assert_str_eq(json_string_value(json_object_get(mq, "serialization")), "JSON");
	ck_assert_msg(strncmp(json_string_value(json_array_get(json_object_get(mq, "URIS"), 0)),
						  "mqtts://127.0.0.1:", 18) == 0, "URIS");
	json_decref(j);
	json_decref(call(true, &w.v1, "GET", "/notifiers", NULL, 200));

	for (size_t i = 0; i < sizeof(bl_paths) / sizeof(bl_paths[0]); i++)
	{
		j = call(true, &w.bl, "GET", bl_paths[i], NULL, 200);
		ck_assert_msg(strncmp(json_string_value(json_object_get(json_object_get(j, "topics"),
															   "CREATE")),
							  "openadr3/tenants/", 17) == 0, "%s", bl_paths[i]);
		json_decref(j);
		json_decref(call(false, &w.v1, "GET", bl_paths[i], NULL, 403));
	}
	snprintf(path, sizeof(path), "/notifiers/mqtt/topics/programs/%s", w.program);
	j = call(true, &w.bl, "GET", path, NULL, 200);
	ck_assert_ptr_null(json_object_get(json_object_get(j, "topics"), "CREATE"));
	json_decref(j);
	snprintf(path, sizeof(path), "/notifiers/mqtt/topics/programs/%s/events", w.program);
	json_decref(call(true, &w.bl, "GET", path, NULL, 200));
	json_decref(call(false, &w.bl, "GET", "/notifiers/mqtt/topics/programs/999", NULL, 404));

	for (size_t i = 0; i < sizeof(ven_suffix) / sizeof(ven_suffix[0]); i++)
	{
		char		want[256];

		snprintf(path, sizeof(path), "/notifiers/mqtt/topics/vens/%s%s", w.ven1, ven_suffix[i]);
		j = call(true, &w.v1, "GET", path, NULL, 200);
		snprintf(want, sizeof(want), "openadr3/vens/%s%s/update", w.ven1, ven_suffix[i]);
		ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "topics"),
														   "UPDATE")), want);
		json_decref(j);
		json_decref(call(true, &w.bl, "GET", path, NULL, 200));
		/* privacy: VEN 2 asking for VEN 1's topics */
		json_decref(call(false, &w.v2, "GET", path, NULL, 404));
	}
	down();
}
END_TEST

/* Rows stay pending while the broker is down and go out when it is back. */
START_TEST(test_mqtt_broker_restart)
{
	world		w;
	sub			s1;
	char		topic[256], ev[32];
	PGconn	   *c;

	if (!up(&w))
		return;
	ck_assert_int_eq(it_run("deploy/mosquitto.sh stop %s", broker), 0);
	post_event(&w, "while-down", "[\"group-1\"]", ev, sizeof(ev));
	c = PQconnectdb(srv.conninfo);
	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	usleep(1500000);
	{
		PGresult   *r = PQexec(c, "SELECT count(*) FILTER (WHERE state = 'pending'),"
							   " count(*) FILTER (WHERE state <> 'pending')"
							   " FROM notify_outbox WHERE kind = 'mqtt'");

		ck_assert_msg(atoi(PQgetvalue(r, 0, 0)) > 0, "no pending MQTT rows");
		ck_assert_str_eq(PQgetvalue(r, 0, 1), "0");
		PQclear(r);
	}
	ck_assert_int_eq(it_run("deploy/mosquitto.sh start %s", broker), 0);
	/* the row goes out; a persistent-less broker does not keep it for a
	 * later subscriber, so watch the outbox */
	ck_assert_msg(IT_WAIT(({ PGresult *r_ = PQexec(c, "SELECT count(*) FROM notify_outbox"
												   " WHERE kind = 'mqtt' AND state <> 'delivered'");
							 bool d_ = strcmp(PQgetvalue(r_, 0, 0), "0") == 0;
							 PQclear(r_); d_; }), 40000),
				  "MQTT rows not delivered after the broker came back");
	/* and new ones reach a subscriber over the new connection */
	ck_assert(sub_start(&s1, "v1"));
	snprintf(topic, sizeof(topic), "openadr3/vens/%s/events/+", w.ven1);
	ck_assert_int_eq(sub_to(&s1, topic), 1);
	post_event(&w, "after-restart", "[\"group-1\"]", ev, sizeof(ev));
	snprintf(topic, sizeof(topic), "openadr3/vens/%s/events/create", w.ven1);
	ck_assert_msg(IT_WAIT(sub_find(&s1, topic) >= 0, 10000), "nothing after the restart");
	sub_stop(&s1);
	PQfinish(c);
	down();
}
END_TEST

Suite *
oadr_mqtt_suite(void)
{
	Suite	   *s = suite_create("oadr_mqtt");
	TCase	   *tc = tcase_create("broker");

	mosquitto_lib_init();
	tcase_set_timeout(tc, 180);
	tcase_add_test(tc, test_mqtt_event_reaches_ven);
	tcase_add_test(tc, test_mqtt_notifiers_api);
	tcase_add_test(tc, test_mqtt_broker_restart);
	suite_add_tcase(s, tc);
	return s;
}
