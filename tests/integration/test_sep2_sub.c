/*
 * tests/integration/test_sep2_sub.c
 *	  IEEE 2030.5 subscriptions end to end (protocols/sep2/sub.c): a device
 *	  subscribes over TLS, the operator changes programs and controls
 *	  through the JSON API, and the notify role POSTs the Notifications to
 *	  an HTTPS receiver run here (libmicrohttpd with the test PKI's
 *	  vtn-server certificate, allowed by notify.allow_networks and trusted
 *	  through notify.ca_file).  Every document is checked against sep.xsd.
 *
 * NOTES
 *	  One dermsd per test (tests/integration/harness.c).  Without the test
 *	  cluster (DERMS_TEST_PG) every test prints SKIP; without sep.xsd the
 *	  schema checks print SKIP.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <microhttpd.h>

#include "server/identity.h"
#include "server/pki.h"
#include "tests/integration/harness.h"
#include "tests/suites.h"

#define SEP2_CT "application/sep+xml"
#define NS "xmlns=\"urn:ieee:std:2030.5:ns\""
#define RX_MAX 32

static it_server srv;
static PGconn *pg;

/* ---- an HTTPS receiver of Notifications ---- */

typedef struct rx_msg
{
	char		path[128];
	char		ctype[128];
	char	   *body;
} rx_msg;

typedef struct receiver
{
	struct MHD_Daemon *d;
	int			port;
	pthread_mutex_t mu;
	rx_msg		msgs[RX_MAX];
	int			n;
} receiver;

typedef struct rx_upload
{
	char	   *body;
	size_t		len;
} rx_upload;

static enum MHD_Result
rx_answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		  const char *version, const char *data, size_t *data_size, void **state)
{
	receiver   *rx = cls;
	rx_upload  *up = *state;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	(void) version;
	if (up == NULL)
	{
		*state = up = calloc(1, sizeof(*up));
		return up ? MHD_YES : MHD_NO;
	}
	if (*data_size > 0)
	{
		char	   *nb = realloc(up->body, up->len + *data_size + 1);

		if (nb == NULL)
			return MHD_NO;
		memcpy(nb + up->len, data, *data_size);
		up->len += *data_size;
		nb[up->len] = '\0';
		up->body = nb;
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&rx->mu);
	if (rx->n < RX_MAX && strcmp(method, "POST") == 0)
	{
		rx_msg	   *m = &rx->msgs[rx->n++];
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");

		snprintf(m->path, sizeof(m->path), "%s", url);
		snprintf(m->ctype, sizeof(m->ctype), "%s", ct ? ct : "");
		m->body = up->body ? up->body : strdup("");
		up->body = NULL;
	}
	pthread_mutex_unlock(&rx->mu);
	resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
rx_done(void *cls, struct MHD_Connection *c, void **state,
		enum MHD_RequestTerminationCode why)
{
	rx_upload  *up = *state;

	(void) cls;
	(void) c;
	(void) why;
	if (up)
	{
		free(up->body);
		free(up);
		*state = NULL;
	}
}

static char *
read_all(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *s;
	size_t		n;

	ck_assert_msg(f != NULL, "cannot read %s", path);
	s = calloc(1, 65536);
	n = fread(s, 1, 65535, f);
	s[n] = '\0';
	fclose(f);
	return s;
}

static void
rx_start(receiver *rx)
{
	struct sockaddr_in sa;
	char		path[1024];
	char	   *cert, *key;

	memset(rx, 0, sizeof(*rx));
	pthread_mutex_init(&rx->mu, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(path, sizeof(path), "%s/vtn-server.pem", srv.pki);
	cert = read_all(path);
	snprintf(path, sizeof(path), "%s/vtn-server.key", srv.pki);
	key = read_all(path);
	rx->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
							 MHD_USE_ERROR_LOG | MHD_USE_TLS, 0, NULL, NULL, rx_answer, rx,
							 MHD_OPTION_SOCK_ADDR, &sa,
							 MHD_OPTION_HTTPS_MEM_CERT, cert,
							 MHD_OPTION_HTTPS_MEM_KEY, key,
							 MHD_OPTION_NOTIFY_COMPLETED, rx_done, rx,
							 MHD_OPTION_END);
	ck_assert_ptr_nonnull(rx->d);
	rx->port = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	free(cert);
	free(key);
}

static int
rx_count(receiver *rx)
{
	int			n;

	pthread_mutex_lock(&rx->mu);
	n = rx->n;
	pthread_mutex_unlock(&rx->mu);
	return n;
}

static void
rx_stop(receiver *rx)
{
	if (rx->d)
		MHD_stop_daemon(rx->d);
	rx->d = NULL;
	for (int i = 0; i < rx->n; i++)
		free(rx->msgs[i].body);
	pthread_mutex_destroy(&rx->mu);
}

/* ---- dermsd ---- */

#define EXTRA \
	"[vtn]\nca_file = pki/trust.pem\n" \
	"[notify]\nworkers = 1\nallow_networks = \"127.0.0.1/32\"\nca_file = pki/ca.pem\n" \
	"backoff_s = 1\ntimeout_s = 5\n"

static bool
up(void)
{
	if (!it_up(&srv, EXTRA, "sep2_sub"))
		return false;
	pg = PQconnectdb(srv.conninfo);
	ck_assert_int_eq(PQstatus(pg), CONNECTION_OK);
	return true;
}

static void
teardown(void)
{
	if (pg)
		PQfinish(pg);
	pg = NULL;
	it_cleanup(&srv);
}

static void
sql(const char *q)
{
	PGresult   *r = PQexec(pg, q);

	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
				  "%s: %s", q, PQerrorMessage(pg));
	PQclear(r);
}

/* Validate an XML document against sep.xsd with xmllint; SKIP if absent. */
static void
check_schema(const char *doc)
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
	fputs(doc, f);
	fclose(f);
	ck_assert_msg(it_run("xmllint --noout --nonet --schema '%s' '%s' 2>&1", xsd, file) == 0,
				  "document not valid against sep.xsd: %s", doc);
}

/* Register cert's own EndDevice; its path into loc. */
static void
register_device(const char *cert, const char *pem, char *loc, size_t loclen)
{
	derms_identity id;
	derms_err	err;
	char		body[512];
	it_response r;
	const char *l;

	ck_assert_int_eq(identity_from_pem_file(pem, &id, &err), DERMS_OK);
	snprintf(body, sizeof(body), "<EndDevice " NS "><lFDI>%s</lFDI><sFDI>%llu</sFDI>"
			 "<changedTime>0</changedTime></EndDevice>", id.lfdi, (unsigned long long) id.sfdi);
	r = it_https(&srv, srv.sep2_port, "POST", "/edev", cert, IT_TLS_CSIP, SEP2_CT, body);
	ck_assert_int_eq(r.status, 201);
	l = strstr(r.headers, "Location: ");
	ck_assert_ptr_nonnull(l);
	snprintf(loc, loclen, "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	it_response_free(&r);
}

/* POST JSON to the operator API; returns the status, copies id and mrid. */
static long
api_post(const char *path, const char *body, long *id, char *mrid)
{
	it_response r = it_https(&srv, srv.vtn_port, "POST", path, "operator-demo", IT_TLS_DEFAULT,
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

/* A Subscription document. */
static char *
sub_xml(const char *resource, const char *uri, const char *extra, int encoding, int limit)
{
	char	   *x;

	ck_assert_int_ge(asprintf(&x, "<Subscription " NS "><subscribedResource>%s</subscribedResource>"
							  "%s<encoding>%d</encoding><level>-S1</level><limit>%d</limit>"
							  "<notificationURI>%s</notificationURI></Subscription>",
							  resource, extra ? extra : "", encoding, limit, uri), 0);
	return x;
}

/* POST a Subscription to list as cert; status, and Location into loc. */
static long
subscribe(const char *cert, const char *list, const char *body, char *loc, size_t loclen)
{
	it_response r = it_https(&srv, srv.sep2_port, "POST", list, cert, IT_TLS_CSIP, SEP2_CT, body);
	long		st = r.status;
	const char *l = strstr(r.headers, "Location: ");

	if (loc)
	{
		loc[0] = '\0';
		if (l)
			snprintf(loc, loclen, "%.*s", (int) strcspn(l + 10, "\r\n"), l + 10);
	}
	if (st >= 400)
		fprintf(stderr, "POST %s: %ld %s", list, st, r.body);
	it_response_free(&r);
	return st;
}

static long
sub_post(const char *cert, const char *list, const char *resource, const char *uri,
		 char *loc, size_t loclen)
{
	char	   *x = sub_xml(resource, uri, NULL, 0, 10);
	long		st = subscribe(cert, list, x, loc, loclen);

	free(x);
	return st;
}

static long
status_of(const char *cert, const char *method, const char *path)
{
	it_response r = it_https(&srv, srv.sep2_port, method, path, cert, IT_TLS_CSIP, NULL, NULL);
	long		st = r.status;

	it_response_free(&r);
	return st;
}

/* The i-th message the receiver got, waiting up to 15 s for it. */
static const rx_msg *
rx_wait(receiver *rx, int i)
{
	ck_assert_msg(IT_WAIT(rx_count(rx) > i, 15000),
				  "notification %d did not arrive (%d so far)", i + 1, rx_count(rx));
	return &rx->msgs[i];
}

START_TEST(test_control_notifications)
{
	receiver	rx;
	char		edev[128], sub[128], path[512], uri[256], body[1024], expect[512];
	char		m1[33], pm[33];
	long		prog, c1;
	long long	now = (long long) time(NULL);
	const rx_msg *m;
	it_response r;

	if (!up())
		return;
	rx_start(&rx);
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	register_device("device-demo", path, edev, sizeof(edev));
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":10,\"scope\":{\"kind\":\"all\"}}", &prog, pm), 201);

	/* the list says it takes subscriptions; the active list does not */
	snprintf(path, sizeof(path), "%s/derp/%ld/derc", edev, prog);
	r = it_https(&srv, srv.sep2_port, "GET", path, "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "subscribable=\"1\""));
	it_response_free(&r);
	snprintf(path, sizeof(path), "%s/derp/%ld/actderc", edev, prog);
	r = it_https(&srv, srv.sep2_port, "GET", path, "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_ptr_nonnull(strstr(r.body, "subscribable=\"0\""));
	it_response_free(&r);

	/* subscribe to the program's DERControlList */
	snprintf(uri, sizeof(uri), "https://127.0.0.1:%d/notify/derc", rx.port);
	snprintf(path, sizeof(path), "%s/derp/%ld/derc", edev, prog);
	snprintf(body, sizeof(body), "%s/sub", edev);
	ck_assert_int_eq(sub_post("device-demo", body, path, uri, sub, sizeof(sub)), 201);
	ck_assert_int_eq(strncmp(sub, edev, strlen(edev)), 0);
	r = it_https(&srv, srv.sep2_port, "GET", sub, "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, path));
	check_schema(r.body);
	it_response_free(&r);
	r = it_https(&srv, srv.sep2_port, "GET", body, "device-demo", IT_TLS_CSIP, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "all=\"1\" results=\"1\""));
	check_schema(r.body);
	it_response_free(&r);

	/* the operator creates a control: the device is told */
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,"
			 "\"base\":{\"opModMaxLimW\":5000}}", now + 600);
	ck_assert_int_eq(api_post(path, body, &c1, m1), 201);
	m = rx_wait(&rx, 0);
	ck_assert_str_eq(m->path, "/notify/derc");
	ck_assert_str_eq(m->ctype, SEP2_CT);
	check_schema(m->body);
	ck_assert_ptr_nonnull(strstr(m->body, "<Notification"));
	ck_assert_ptr_nonnull(strstr(m->body, m1));
	ck_assert_ptr_nonnull(strstr(m->body, "xsi:type=\"DERControlList\""));
	ck_assert_ptr_nonnull(strstr(m->body, "<status>0</status>"));
	ck_assert_ptr_nonnull(strstr(m->body, "<opModMaxLimW>5000</opModMaxLimW>"));
	snprintf(expect, sizeof(expect), "<subscribedResource>%s/derp/%ld/derc</subscribedResource>",
			 edev, prog);
	ck_assert_ptr_nonnull(strstr(m->body, expect));
	snprintf(expect, sizeof(expect), "<subscriptionURI>https://127.0.0.1:%d%s</subscriptionURI>",
			 srv.sep2_port, sub);
	ck_assert_ptr_nonnull(strstr(m->body, expect));
	snprintf(expect, sizeof(expect), "href=\"%s/derp/%ld/derc/%ld\"", edev, prog, c1);
	ck_assert_ptr_nonnull(strstr(m->body, expect));

	/* cancelling it is a change too: the control, now cancelled */
	snprintf(path, sizeof(path), "/api/v1/der-controls/%ld/cancel", c1);
	ck_assert_int_eq(api_post(path, NULL, NULL, NULL), 200);
	m = rx_wait(&rx, 1);
	check_schema(m->body);
	ck_assert_ptr_nonnull(strstr(m->body, m1));
	ck_assert_ptr_nonnull(strstr(m->body, "<currentStatus>2</currentStatus>"));

	/* a program for another device says nothing to this one */
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":1,\"scope\":{\"kind\":\"end_device\",\"id\":999999}}",
							  NULL, NULL), 201);

	/* a DERProgramList subscription hears of a new program it sees */
	snprintf(uri, sizeof(uri), "https://127.0.0.1:%d/notify/derp", rx.port);
	snprintf(path, sizeof(path), "%s/derp", edev);
	snprintf(body, sizeof(body), "%s/sub", edev);
	ck_assert_int_eq(sub_post("device-demo", body, path, uri, NULL, 0), 201);
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":5,\"scope\":{\"kind\":\"all\"}}", NULL, pm), 201);
	m = rx_wait(&rx, 2);
	ck_assert_str_eq(m->path, "/notify/derp");
	check_schema(m->body);
	ck_assert_ptr_nonnull(strstr(m->body, "xsi:type=\"DERProgramList\""));
	ck_assert_ptr_nonnull(strstr(m->body, pm));
	sleep(1);
	ck_assert_int_eq(rx_count(&rx), 3);

	/* deleted, it is quiet */
	ck_assert_int_eq(status_of("device-demo", "DELETE", sub), 204);
	ck_assert_int_eq(status_of("device-demo", "GET", sub), 404);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":60,"
			 "\"base\":{\"opModConnect\":false}}", now + 7200);
	ck_assert_int_eq(api_post(path, body, NULL, NULL), 201);
	sleep(2);
	ck_assert_int_eq(rx_count(&rx), 3);
	rx_stop(&rx);
}
END_TEST

START_TEST(test_refused_subscriptions)
{
	pki_issued	b;
	derms_err	err;
	char		edev[128], edev_b[128], list[160], list_b[160], path[512], sub_b[160];
	const char *uri = "https://127.0.0.1:9/n";
	char	   *x;
	long		prog, only_b;

	if (!up())
		return;
	snprintf(path, sizeof(path), "%s/device-demo.pem", srv.pki);
	register_device("device-demo", path, edev, sizeof(edev));
	ck_assert_int_eq(pki_issue(srv.pki, "dev-b", PKI_DEVICE, &b, &err), DERMS_OK);
	snprintf(path, sizeof(path), "%s/dev-b.pem", srv.pki);
	register_device("dev-b", path, edev_b, sizeof(edev_b));
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":10,\"scope\":{\"kind\":\"all\"}}", &prog, NULL), 201);
	snprintf(path, sizeof(path), "{\"primacy\":3,\"scope\":{\"kind\":\"end_device\",\"id\":%s}}",
			 edev_b + strlen("/edev/"));
	ck_assert_int_eq(api_post("/api/v1/der-programs", path, &only_b, NULL), 201);
	snprintf(list, sizeof(list), "%s/sub", edev);
	snprintf(list_b, sizeof(list_b), "%s/sub", edev_b);

	/* B may subscribe to its own program; device-demo may not see it */
	snprintf(path, sizeof(path), "%s/derp/%ld/derc", edev_b, only_b);
	ck_assert_int_eq(sub_post("dev-b", list_b, path, uri, sub_b, sizeof(sub_b)), 201);
	ck_assert_int_eq(status_of("device-demo", "GET", sub_b), 404);
	ck_assert_int_eq(status_of("device-demo", "DELETE", sub_b), 404);
	ck_assert_int_eq(status_of("device-demo", "GET", list_b), 404);
	ck_assert_int_eq(sub_post("device-demo", list_b, path, uri, NULL, 0), 404);
	/* another device's resource, through one's own list */
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	snprintf(path, sizeof(path), "%s", edev_b);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	/* one's own URL of a program one does not see */
	snprintf(path, sizeof(path), "%s/derp/%ld/derc", edev, only_b);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	/* unknown, or not subscribable */
	snprintf(path, sizeof(path), "%s/nothing", edev);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	snprintf(path, sizeof(path), "%s/der", edev);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	snprintf(path, sizeof(path), "%s/derp/%ld/actderc", edev, prog);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	ck_assert_int_eq(sub_post("device-demo", list, "/tm", uri, NULL, 0), 400);
	/* bad notification URIs */
	snprintf(path, sizeof(path), "%s/derp/%ld/derc", edev, prog);
	ck_assert_int_eq(sub_post("device-demo", list, path, "http://127.0.0.1:9/n", NULL, 0), 400);
	ck_assert_int_eq(sub_post("device-demo", list, path, "not a uri", NULL, 0), 400);
	ck_assert_int_eq(sub_post("device-demo", list, path, "/relative/only", NULL, 0), 400);
	ck_assert_int_eq(sub_post("device-demo", list, path, "https://u:p@127.0.0.1/n", NULL, 0), 400);
	/* EXI, a Condition, broken XML */
	x = sub_xml(path, uri, NULL, 1, 1);
	ck_assert_int_eq(subscribe("device-demo", list, x, NULL, 0), 400);
	free(x);
	x = sub_xml(path, uri, "<Condition><attributeIdentifier>0</attributeIdentifier>"
				"<lowerThreshold>0</lowerThreshold><upperThreshold>1</upperThreshold></Condition>",
				0, 1);
	ck_assert_int_eq(subscribe("device-demo", list, x, NULL, 0), 400);
	free(x);
	ck_assert_int_eq(subscribe("device-demo", list, "<Subscription " NS "><subscribedResource>",
							   NULL, 0), 400);
	ck_assert_int_eq(status_of("device-demo", "GET", list), 200);

	/* the limit per EndDevice; a retry of the same subscription is not a new one */
	sql("UPDATE sep2_sub_settings SET max_per_device = 2");
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, sub_b, sizeof(sub_b)), 201);
	{
		char		again[160];

		ck_assert_int_eq(sub_post("device-demo", list, path, uri, again, sizeof(again)), 201);
		ck_assert_str_eq(again, sub_b);
	}
	ck_assert_int_eq(sub_post("device-demo", list, edev, uri, NULL, 0), 201);
	snprintf(path, sizeof(path), "%s/fsa", edev);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 400);
	ck_assert_int_eq(status_of("device-demo", "DELETE", sub_b), 204);
	ck_assert_int_eq(sub_post("device-demo", list, path, uri, NULL, 0), 201);
	{
		it_response r = it_https(&srv, srv.sep2_port, "GET", list, "device-demo", IT_TLS_CSIP,
								 NULL, NULL);
		char	   *l10;

		ck_assert_ptr_nonnull(strstr(r.body, "all=\"2\" results=\"1\""));
		it_response_free(&r);
		ck_assert_int_ge(asprintf(&l10, "%s?l=10", list), 0);
		r = it_https(&srv, srv.sep2_port, "GET", l10, "device-demo", IT_TLS_CSIP, NULL, NULL);
		ck_assert_ptr_nonnull(strstr(r.body, "all=\"2\" results=\"2\""));
		check_schema(r.body);
		it_response_free(&r);
		free(l10);
	}
}
END_TEST

Suite *
sep2_sub_suite(void)
{
	Suite	   *s = suite_create("sep2_sub");
	TCase	   *tc = tcase_create("subscriptions");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_control_notifications);
	tcase_add_test(tc, test_refused_subscriptions);
	suite_add_tcase(s, tc);
	return s;
}
