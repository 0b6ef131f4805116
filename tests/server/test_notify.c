/*
 * tests/server/test_notify.c
 *	  The notification outbox and the notify worker (server/notify.c): the
 *	  address rules and backoff as pure functions, then a real dermsd with
 *	  a notify worker delivering to receivers run here (libmicrohttpd on
 *	  loopback, plain HTTP or HTTPS with the test PKI).
 *
 * NOTES
 *	  The delivery tests start their own dermsd (tests/integration/
 *	  harness.c) with plain http to loopback allowed, short timeouts and a
 *	  one-second backoff, and enqueue with the SQL function or the C API.
 *	  Without the test cluster (DERMS_TEST_PG) they print SKIP.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <microhttpd.h>

#include "server/arena.h"
#include "server/db.h"
#include "server/notify.h"
#include "tests/integration/harness.h"
#include "tests/suites.h"

#define RX_MAX 64

/* ------------------------------------------------------------ pure parts */

static struct sockaddr_storage
sa_of(const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	if (strchr(text, ':'))
	{
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;

		in6->sin6_family = AF_INET6;
		ck_assert_msg(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1, "%s", text);
	}
	else
	{
		struct sockaddr_in *in = (struct sockaddr_in *) &ss;

		in->sin_family = AF_INET;
		ck_assert_msg(inet_pton(AF_INET, text, &in->sin_addr) == 1, "%s", text);
	}
	return ss;
}

static const struct
{
	const char *addr;
	notify_addr_class cls;
}			class_cases[] = {
	{"8.8.8.8", NOTIFY_ADDR_PUBLIC},
	{"1.1.1.1", NOTIFY_ADDR_PUBLIC},
	{"93.184.216.34", NOTIFY_ADDR_PUBLIC},
	{"0.0.0.0", NOTIFY_ADDR_UNSPECIFIED},
	{"0.1.2.3", NOTIFY_ADDR_UNSPECIFIED},
	{"10.0.0.1", NOTIFY_ADDR_PRIVATE},
	{"10.255.255.255", NOTIFY_ADDR_PRIVATE},
	{"11.0.0.1", NOTIFY_ADDR_PUBLIC},
	{"100.63.255.255", NOTIFY_ADDR_PUBLIC},
	{"100.64.0.1", NOTIFY_ADDR_CGNAT},
	{"100.127.255.254", NOTIFY_ADDR_CGNAT},
	{"100.128.0.1", NOTIFY_ADDR_PUBLIC},
	{"127.0.0.1", NOTIFY_ADDR_LOOPBACK},
	{"127.255.255.254", NOTIFY_ADDR_LOOPBACK},
	{"169.254.169.254", NOTIFY_ADDR_LINK_LOCAL},
	{"169.253.1.1", NOTIFY_ADDR_PUBLIC},
	{"172.15.255.255", NOTIFY_ADDR_PUBLIC},
	{"172.16.0.1", NOTIFY_ADDR_PRIVATE},
	{"172.31.255.255", NOTIFY_ADDR_PRIVATE},
	{"172.32.0.1", NOTIFY_ADDR_PUBLIC},
	{"192.0.0.8", NOTIFY_ADDR_RESERVED},
	{"192.0.2.1", NOTIFY_ADDR_RESERVED},
	{"192.88.99.1", NOTIFY_ADDR_RESERVED},
	{"192.168.1.1", NOTIFY_ADDR_PRIVATE},
	{"192.169.0.1", NOTIFY_ADDR_PUBLIC},
	{"198.18.0.1", NOTIFY_ADDR_RESERVED},
	{"198.19.255.255", NOTIFY_ADDR_RESERVED},
	{"198.20.0.1", NOTIFY_ADDR_PUBLIC},
	{"198.51.100.7", NOTIFY_ADDR_RESERVED},
	{"203.0.113.9", NOTIFY_ADDR_RESERVED},
	{"224.0.0.1", NOTIFY_ADDR_MULTICAST},
	{"239.255.255.250", NOTIFY_ADDR_MULTICAST},
	{"240.0.0.1", NOTIFY_ADDR_RESERVED},
	{"255.255.255.255", NOTIFY_ADDR_RESERVED},
	{"223.255.255.255", NOTIFY_ADDR_PUBLIC},
	{"::", NOTIFY_ADDR_UNSPECIFIED},
	{"::1", NOTIFY_ADDR_LOOPBACK},
	{"::2", NOTIFY_ADDR_RESERVED},
	{"::ffff:127.0.0.1", NOTIFY_ADDR_LOOPBACK},
	{"::ffff:10.1.2.3", NOTIFY_ADDR_PRIVATE},
	{"::ffff:169.254.169.254", NOTIFY_ADDR_LINK_LOCAL},
	{"::ffff:8.8.8.8", NOTIFY_ADDR_PUBLIC},
	{"::127.0.0.1", NOTIFY_ADDR_RESERVED},
	{"64:ff9b::a00:1", NOTIFY_ADDR_PRIVATE},	/* NAT64 of 10.0.0.1 */
	{"64:ff9b::808:808", NOTIFY_ADDR_PUBLIC},
	{"64:ff9b:1::1", NOTIFY_ADDR_RESERVED},
	{"100::1", NOTIFY_ADDR_RESERVED},
	{"2001:db8::1", NOTIFY_ADDR_RESERVED},
	{"2001::1", NOTIFY_ADDR_RESERVED},	/* Teredo */
	{"2001:4860:4860::8888", NOTIFY_ADDR_PUBLIC},
	{"2606:4700:4700::1111", NOTIFY_ADDR_PUBLIC},
	{"2002:7f00:1::1", NOTIFY_ADDR_LOOPBACK},	/* 6to4 of 127.0.0.1 */
	{"2002:c0a8:101::1", NOTIFY_ADDR_PRIVATE},
	{"2002:808:808::1", NOTIFY_ADDR_PUBLIC},
	{"3fff::1", NOTIFY_ADDR_RESERVED},
	{"fc00::1", NOTIFY_ADDR_UNIQUE_LOCAL},
	{"fd12:3456::1", NOTIFY_ADDR_UNIQUE_LOCAL},
	{"fe80::1", NOTIFY_ADDR_LINK_LOCAL},
	{"febf::1", NOTIFY_ADDR_LINK_LOCAL},
	{"fec0::1", NOTIFY_ADDR_PRIVATE},
	{"ff02::1", NOTIFY_ADDR_MULTICAST},
	{"ff0e::1", NOTIFY_ADDR_MULTICAST},
	{"4000::1", NOTIFY_ADDR_RESERVED},
	{"1000::1", NOTIFY_ADDR_RESERVED},
};

START_TEST(test_classify)
{
	struct sockaddr_storage ss = sa_of(class_cases[_i].addr);
	notify_addr_class got = notify_addr_classify((struct sockaddr *) &ss);

	ck_assert_msg(got == class_cases[_i].cls, "%s: got %s, want %s",
				  class_cases[_i].addr, notify_addr_class_name(got),
				  notify_addr_class_name(class_cases[_i].cls));
}
END_TEST

START_TEST(test_classify_other_family)
{
	struct sockaddr sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	ck_assert_int_eq(notify_addr_classify(&sa), NOTIFY_ADDR_RESERVED);
}
END_TEST

START_TEST(test_networks)
{
	notify_networks nets;
	derms_err	err;
	static const struct
	{
		const char *addr;
		bool		in;
	}			cases[] = {
		{"10.1.2.3", true}, {"10.2.0.1", false}, {"::ffff:10.1.9.9", true},
		{"192.0.2.7", true}, {"192.0.2.8", false}, {"fd00::5", true},
		{"fe00::5", false}, {"172.16.5.200", true}, {"172.16.0.1", false},
		{"8.8.8.8", false},
	};

	ck_assert_int_eq(notify_networks_parse("", &nets, &err), DERMS_OK);
	ck_assert_int_eq(nets.n, 0);
	ck_assert_int_eq(notify_networks_parse(NULL, &nets, &err), DERMS_OK);
	ck_assert_int_eq(notify_networks_parse(" 10.1.0.0/16, 192.0.2.7 ,fd00::/8,"
										   "172.16.5.9/24", &nets, &err), DERMS_OK);
	ck_assert_int_eq(nets.n, 4);
	ck_assert_int_eq(nets.net[1].prefix, 32);
	ck_assert_int_eq(nets.net[3].addr[3], 0);	/* host bits cleared */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		struct sockaddr_storage ss = sa_of(cases[i].addr);

		ck_assert_msg(notify_networks_contain(&nets, (struct sockaddr *) &ss) == cases[i].in,
					  "%s", cases[i].addr);
	}

	ck_assert_int_eq(notify_networks_parse("10.0.0.0/33", &nets, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "0..32"));
	ck_assert_int_eq(notify_networks_parse("example.com", &nets, &err), DERMS_EPARSE);
	ck_assert_int_eq(notify_networks_parse("10.0.0.0/", &nets, &err), DERMS_EPARSE);
	ck_assert_int_eq(notify_networks_parse("10.0.0.0/-1", &nets, &err), DERMS_EPARSE);
	ck_assert_int_eq(notify_networks_parse("::/129", &nets, &err), DERMS_EPARSE);
	ck_assert_int_eq(notify_networks_parse("0.0.0.0/0", &nets, &err), DERMS_OK);
	{
		struct sockaddr_storage ss = sa_of("127.0.0.1");

		ck_assert(notify_networks_contain(&nets, (struct sockaddr *) &ss));
	}
}
END_TEST

START_TEST(test_policy)
{
	notify_policy p;
	char		why[256];
	derms_err	err;
	struct sockaddr_storage lo = sa_of("127.0.0.1");
	struct sockaddr_storage lo6 = sa_of("::1");
	struct sockaddr_storage meta = sa_of("169.254.169.254");
	struct sockaddr_storage pub = sa_of("8.8.8.8");
	struct sockaddr_storage mapped = sa_of("::ffff:192.168.0.10");

	memset(&p, 0, sizeof(p));
	/* https: public only */
	ck_assert(notify_addr_allowed(&p, false, (struct sockaddr *) &pub, why, sizeof(why)));
	ck_assert(!notify_addr_allowed(&p, false, (struct sockaddr *) &meta, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "169.254.169.254 is link-local"));
	ck_assert(!notify_addr_allowed(&p, false, (struct sockaddr *) &lo, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "loopback"));
	ck_assert(!notify_addr_allowed(&p, false, (struct sockaddr *) &mapped, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "private"));
	/* plain http: never unless allowed, then loopback only */
	ck_assert(!notify_addr_allowed(&p, true, (struct sockaddr *) &lo, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "allow_http_loopback"));
	p.allow_http_loopback = true;
	ck_assert(notify_addr_allowed(&p, true, (struct sockaddr *) &lo, why, sizeof(why)));
	ck_assert(notify_addr_allowed(&p, true, (struct sockaddr *) &lo6, why, sizeof(why)));
	ck_assert(!notify_addr_allowed(&p, true, (struct sockaddr *) &pub, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "only to loopback"));
	/* https to loopback is not opened by allow_http_loopback */
	ck_assert(!notify_addr_allowed(&p, false, (struct sockaddr *) &lo, why, sizeof(why)));
	/* the allow-list opens https, not plain http */
	ck_assert_int_eq(notify_networks_parse("192.168.0.0/24,127.0.0.1", &p.allow, &err),
					 DERMS_OK);
	ck_assert(notify_addr_allowed(&p, false, (struct sockaddr *) &mapped, why, sizeof(why)));
	ck_assert(notify_addr_allowed(&p, false, (struct sockaddr *) &lo, why, sizeof(why)));
	ck_assert(!notify_addr_allowed(&p, false, (struct sockaddr *) &lo6, why, sizeof(why)));
	p.allow_http_loopback = false;
	ck_assert(!notify_addr_allowed(&p, true, (struct sockaddr *) &lo, why, sizeof(why)));
}
END_TEST

START_TEST(test_backoff)
{
	/* equal jitter: within [d/2, d] */
	ck_assert_int_eq(notify_backoff_ms(10, 1, 0), 5000);
	ck_assert_int_eq(notify_backoff_ms(10, 1, 5000), 10000);
	ck_assert_int_eq(notify_backoff_ms(10, 1, 5001), 5000);
	ck_assert_int_eq(notify_backoff_ms(10, 2, 0), 10000);
	ck_assert_int_eq(notify_backoff_ms(10, 3, 0), 20000);
	ck_assert_int_eq(notify_backoff_ms(10, 4, 40000), 80000);
	/* capped at an hour, however many attempts */
	ck_assert_int_eq(notify_backoff_ms(10, 30, 0), 1800000);
	ck_assert_int_eq(notify_backoff_ms(10, 1000, 1800000), 3600000);
	for (uint32_t r = 0; r < 100000; r += 997)
	{
		int64_t		d = notify_backoff_ms(1, 2, r * 7919u);

		ck_assert(d >= 1000 && d <= 2000);
	}
}
END_TEST

/* ------------------------------------------------------------ a receiver */

typedef struct rx_req
{
	char		path[128];
	char		auth[256];
	char		ctype[128];
	char	   *body;
	size_t		len;
} rx_req;

typedef struct receiver
{
	struct MHD_Daemon *d;
	int			port;
	pthread_mutex_t mu;
	rx_req		reqs[RX_MAX];
	int			n;				/* stored in reqs */
	int			total;			/* POSTs seen */
	int			active;			/* being answered now */
	int			max_active;
	double		last_at;		/* CLOCK_MONOTONIC seconds of the last POST */
	int			fail_next;		/* answer 500 this many times */
	int			delay_ms;		/* before answering */
} receiver;

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

typedef struct rx_conn
{
	char	   *body;
	size_t		len;
} rx_conn;

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *c, const char *url,
		   const char *method, const char *version, const char *upload,
		   size_t *upload_size, void **con_cls)
{
	receiver   *rx = cls;
	rx_conn    *b = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	int			status = 204;
	int			delay;

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
	pthread_mutex_lock(&rx->mu);
	rx->total++;
	rx->last_at = mono_s();
	if (++rx->active > rx->max_active)
		rx->max_active = rx->active;
	if (rx->n < RX_MAX && strcmp(method, "POST") == 0)
	{
		rx_req	   *r = &rx->reqs[rx->n++];
		const char *h;

		snprintf(r->path, sizeof(r->path), "%s", url);
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		snprintf(r->auth, sizeof(r->auth), "%s", h ? h : "");
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		snprintf(r->ctype, sizeof(r->ctype), "%s", h ? h : "");
		r->body = b->body ? b->body : strdup("");
		r->len = b->len;
		b->body = NULL;
	}
	if (rx->fail_next > 0)
	{
		rx->fail_next--;
		status = 500;
	}
	delay = rx->delay_ms;
	pthread_mutex_unlock(&rx->mu);
	if (delay > 0)
		usleep((useconds_t) delay * 1000);
	pthread_mutex_lock(&rx->mu);
	rx->active--;
	pthread_mutex_unlock(&rx->mu);
	resp = MHD_create_response_from_buffer(2, (void *) "ok", MHD_RESPMEM_PERSISTENT);
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

static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *s = NULL;
	size_t		len = 0;

	if (f == NULL)
		return NULL;
	s = calloc(1, 1 << 16);
	len = fread(s, 1, (1 << 16) - 1, f);
	s[len] = '\0';
	fclose(f);
	return s;
}

/* Start on loopback port (0: a free one); TLS with pki's vtn-server when
 * pki is set. */
static void
rx_start_on(receiver *rx, const char *pki, int port)
{
	unsigned	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
		MHD_USE_ERROR_LOG;
	struct sockaddr_in sa;
	char	   *cert = NULL,
			   *key = NULL;

	memset(rx, 0, sizeof(*rx));
	pthread_mutex_init(&rx->mu, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t) port);
	if (pki != NULL)
	{
		char		path[1024];

		snprintf(path, sizeof(path), "%s/vtn-server.pem", pki);
		cert = slurp(path);
		snprintf(path, sizeof(path), "%s/vtn-server.key", pki);
		key = slurp(path);
		ck_assert(cert && key);
		rx->d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, rx_handler, rx,
								 MHD_OPTION_SOCK_ADDR, &sa,
								 MHD_OPTION_HTTPS_MEM_CERT, cert,
								 MHD_OPTION_HTTPS_MEM_KEY, key,
								 MHD_OPTION_NOTIFY_COMPLETED, rx_completed, rx,
								 MHD_OPTION_END);
	}
	else
		rx->d = MHD_start_daemon(flags, 0, NULL, NULL, rx_handler, rx,
								 MHD_OPTION_SOCK_ADDR, &sa,
								 MHD_OPTION_NOTIFY_COMPLETED, rx_completed, rx,
								 MHD_OPTION_END);
	ck_assert_ptr_nonnull(rx->d);
	rx->port = MHD_get_daemon_info(rx->d, MHD_DAEMON_INFO_BIND_PORT)->port;
	free(cert);
	free(key);
}

static void
rx_start(receiver *rx, const char *pki)
{
	rx_start_on(rx, pki, 0);
}

static int
rx_count(receiver *rx)
{
	int			n;

	pthread_mutex_lock(&rx->mu);
	n = rx->total;
	pthread_mutex_unlock(&rx->mu);
	return n;
}

static void
rx_set(receiver *rx, int fail_next, int delay_ms)
{
	pthread_mutex_lock(&rx->mu);
	rx->fail_next = fail_next;
	rx->delay_ms = delay_ms;
	pthread_mutex_unlock(&rx->mu);
}

static void
rx_stop(receiver *rx)
{
	if (rx->d)
		MHD_stop_daemon(rx->d);
	for (int i = 0; i < rx->n; i++)
		free(rx->reqs[i].body);
	rx->d = NULL;
}

/* ------------------------------------------------------------- dermsd */

#define COMMON_EXTRA \
	"[notify]\nworkers = 1\nallow_http_loopback = true\n" \
	"backoff_s = 1\nmax_attempts = 3\nendpoint_dead_after = 3\n"
#define BASE_EXTRA COMMON_EXTRA "timeout_s = 2\n"

static it_server srv;
static PGconn *pg;

static bool
up_with(const char *extra)
{
	const char *why[1] = {"could not prepare"};

	if (!it_prepare(&srv, extra, why))
	{
		if (test_pg_conninfo() == NULL)
		{
			test_skip("notify", why[0]);
			return false;
		}
		ck_abort_msg("harness setup failed: %s", why[0]);
	}
	if (!it_start(&srv))
	{
		it_run("cat '%s' >&2", srv.log);
		ck_abort_msg("dermsd did not become ready");
	}
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

/* First column of the first row, or "" (static buffer). */
static const char *
sql1(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static const char *
sql1(const char *fmt,...)
{
	static char out[4096];
	char		q[4096];
	va_list		ap;
	PGresult   *r;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	r = PQexec(pg, q);
	ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK ||
				  PQresultStatus(r) == PGRES_COMMAND_OK,
				  "%s: %s", q, PQerrorMessage(pg));
	out[0] = '\0';
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
		PQnfields(r) > 0)
		snprintf(out, sizeof(out), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

static bool
state_is(long long id, const char *state)
{
	return strcmp(sql1("SELECT state FROM notify_outbox WHERE id = %lld", id),
				  state) == 0;
}

static long long
enqueue(const char *url, const char *bearer, const char *body)
{
	char	   *q;
	long long	id;

	ck_assert_int_ge(asprintf(&q,
							  "SELECT notify_enqueue('openadr', NULL, 'sub-1', '%s', %s%s%s, "
							  "'application/json', '%s'::text)",
							  url, bearer ? "'" : "", bearer ? bearer : "NULL",
							  bearer ? "'" : "", body), 0);
	id = atoll(sql1("%s", q));
	free(q);
	ck_assert_int_gt(id, 0);
	return id;
}

static int
closed_port(void)
{
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	int			port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	ck_assert(getsockname(fd, (struct sockaddr *) &sa, &len) == 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static long long
metric(const char *name)
{
	it_response r = it_admin_get(&srv, "/metrics");
	char		key[128];
	const char *p;
	long long	v = -1;

	snprintf(key, sizeof(key), "\n%s ", name);
	p = strstr(r.body, key);
	if (p)
		v = atoll(p + strlen(key));
	it_response_free(&r);
	return v;
}

/* The bearer header, the content type and the exact bytes; C API too. */
START_TEST(test_delivers_with_bearer)
{
	receiver	rx;
	char		url[128];
	long long	id1;
	const char *body = "{\"objectType\":\"EVENT\",\"x\":\"\xc3\xa9\\n\"}";

	if (!up_with(BASE_EXTRA))
		return;
	rx_start(&rx, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hooks/ven1?x=1", rx.port);
	id1 = enqueue(url, "tok-123", body);
	ck_assert(IT_WAIT(state_is(id1, "delivered"), 10000));
	ck_assert_int_eq(rx_count(&rx), 1);
	ck_assert_str_eq(rx.reqs[0].path, "/hooks/ven1");
	ck_assert_str_eq(rx.reqs[0].auth, "Bearer tok-123");
	ck_assert_str_eq(rx.reqs[0].ctype, "application/json");
	ck_assert_uint_eq(rx.reqs[0].len, strlen(body));
	ck_assert_mem_eq(rx.reqs[0].body, body, strlen(body));
	ck_assert_str_eq(sql1("SELECT attempts || ' ' || last_status || ' ' ||"
						  " (delivered_at IS NOT NULL) || ' ' || (claimed_by IS NULL)"
						  " FROM notify_outbox WHERE id = %lld", id1), "1 204 true true");

	/* the C API, binary body, no bearer; nothing before the commit */
	{
		db		   *d = db_create(srv.conninfo, 1000);
		arena	   *a = arena_create(0);
		derms_err	err;
		int64_t		id2 = 0;
		const unsigned char bin[] = {0x00, 0xff, 0x0a, 0x0d, 'x', 0x00};
		char		url2[128];

		snprintf(url2, sizeof(url2), "http://127.0.0.1:%d/sep2/ntfy", rx.port);
		ck_assert_ptr_nonnull(db_exec(d, a, "BEGIN", 0, NULL, NULL, &err));
		ck_assert_int_eq(notify_enqueue(d, a, "sep2", 7, "sub-9", url2, NULL,
										"application/sep+xml", bin, sizeof(bin),
										&id2, &err), DERMS_OK);
		ck_assert_int_gt(id2, id1);
		usleep(700 * 1000);
		ck_assert_int_eq(rx_count(&rx), 1);
		ck_assert_ptr_nonnull(db_exec(d, a, "COMMIT", 0, NULL, NULL, &err));
		ck_assert(IT_WAIT(state_is(id2, "delivered"), 10000));
		ck_assert_int_eq(rx_count(&rx), 2);
		ck_assert_str_eq(rx.reqs[1].auth, "");
		ck_assert_str_eq(rx.reqs[1].ctype, "application/sep+xml");
		ck_assert_uint_eq(rx.reqs[1].len, sizeof(bin));
		ck_assert_mem_eq(rx.reqs[1].body, bin, sizeof(bin));
		ck_assert_str_eq(sql1("SELECT kind || '/' || tenant_id || '/' || subscription_ref"
							  " FROM notify_outbox WHERE id = %lld", (long long) id2),
						 "sep2/7/sub-9");

		/* rolled back: never queued, never sent */
		ck_assert_ptr_nonnull(db_exec(d, a, "BEGIN", 0, NULL, NULL, &err));
		ck_assert_int_eq(notify_enqueue(d, a, "sep2", NOTIFY_NO_TENANT, "sub-9", url2,
										NULL, "text/plain", "no", 2, NULL, &err),
						 DERMS_OK);
		ck_assert_ptr_nonnull(db_exec(d, a, "ROLLBACK", 0, NULL, NULL, &err));
		/* a bad URL is refused at enqueue */
		ck_assert_int_eq(notify_enqueue(d, a, "sep2", NOTIFY_NO_TENANT, "s",
										"ftp://127.0.0.1/x", NULL, "text/plain",
										"no", 2, NULL, &err), DERMS_EDB);
		ck_assert_int_eq(notify_enqueue(d, a, "sep2", NOTIFY_NO_TENANT, "s",
										"https://user:pw@example.com/x", NULL,
										"text/plain", "no", 2, NULL, &err), DERMS_EDB);
		arena_destroy(a);
		db_destroy(d);
	}
	usleep(1500 * 1000);
	ck_assert_int_eq(rx_count(&rx), 2);
	ck_assert_str_eq(sql1("SELECT count(*) FROM notify_outbox"), "2");
	ck_assert(IT_WAIT(metric("dermsd_notify_delivered_total") == 2, 3000));
	rx_stop(&rx);
}
END_TEST

/* A 500 is retried after the backoff, then delivered. */
START_TEST(test_retry_after_500)
{
	receiver	rx;
	char		url[128];
	long long	id;

	if (!up_with(BASE_EXTRA))
		return;
	rx_start(&rx, NULL);
	rx_set(&rx, 1, 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/r", rx.port);
	id = enqueue(url, NULL, "retry me");
	ck_assert(IT_WAIT(rx_count(&rx) == 1, 5000));
	ck_assert(IT_WAIT(strcmp(sql1("SELECT last_status FROM notify_outbox WHERE id = %lld",
								  id), "500") == 0, 3000));
	ck_assert(state_is(id, "pending"));
	ck_assert_ptr_nonnull(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
									  id), "receiver answered 500"));
	ck_assert(IT_WAIT(state_is(id, "delivered"), 10000));
	ck_assert_int_eq(rx_count(&rx), 2);
	ck_assert_str_eq(rx.reqs[1].body, "retry me");
	ck_assert_str_eq(sql1("SELECT attempts || ' ' || last_status FROM notify_outbox"
						  " WHERE id = %lld", id), "2 204");
	/* the receiver answered: its failure count is back to 0 */
	ck_assert_str_eq(sql1("SELECT consecutive_failures FROM notify_endpoints"), "0");
	ck_assert_int_ge(metric("dermsd_notify_failed_total"), 1);
	rx_stop(&rx);
}
END_TEST

/* Connection refused every time: the row dies, the receiver is marked
 * dead, and its next row waits for the probe. */
START_TEST(test_dead_endpoint)
{
	char		url[128];
	long long	id, id2;
	int			port = closed_port();

	if (!up_with(BASE_EXTRA))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/gone", port);
	id = enqueue(url, NULL, "x");
	ck_assert(IT_WAIT(state_is(id, "dead"), 15000));
	ck_assert_str_eq(sql1("SELECT attempts FROM notify_outbox WHERE id = %lld", id), "3");
	ck_assert_ptr_nonnull(strcasestr(sql1("SELECT last_error FROM notify_outbox"
										  " WHERE id = %lld", id), "connect"));
	ck_assert_str_eq(sql1("SELECT consecutive_failures || ' ' || (dead_since IS NOT NULL)"
						  " || ' ' || (probe_at > now() + interval '200 seconds')"
						  " FROM notify_endpoints WHERE origin = 'http://127.0.0.1:%d'",
						  port), "3 true true");
	ck_assert(IT_WAIT(metric("dermsd_notify_dead_total") == 1, 3000));
	ck_assert_int_eq(metric("dermsd_notify_endpoints_marked_dead_total"), 1);
	ck_assert(IT_WAIT(metric("dermsd_notify_dead_endpoints") == 1, 8000));
	ck_assert_msg(it_run("grep -q 'marked dead after 3 consecutive failures' '%s'",
						 srv.log) == 0, "no log line for the dead receiver");

	/* a new row to the dead receiver is held until the probe */
	id2 = enqueue(url, NULL, "later");
	usleep(2500 * 1000);
	ck_assert(state_is(id2, "pending"));
	ck_assert_str_eq(sql1("SELECT attempts || ' ' || (next_attempt_at > now() + interval"
						  " '200 seconds') FROM notify_outbox WHERE id = %lld", id2),
					 "0 true");
}
END_TEST

/* A dead receiver is left alone until its cool-off ends; then one row
 * probes it, and when that works the held rows follow at once. */
START_TEST(test_probe_revives)
{
	receiver	rx;
	char		url[128];
	long long	a, b, c;
	int			port = closed_port();

	if (!up_with("[notify]\nworkers = 1\nallow_http_loopback = true\n"
				 "timeout_s = 2\nbackoff_s = 1\nmax_attempts = 10\n"
				 "endpoint_dead_after = 2\nendpoint_cooloff_s = 3\n"))
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/p", port);
	a = enqueue(url, NULL, "a");
	ck_assert(IT_WAIT(strcmp(sql1("SELECT (dead_since IS NOT NULL) FROM notify_endpoints"),
							 "t") == 0, 10000));
	b = enqueue(url, NULL, "b");
	c = enqueue(url, NULL, "c");
	rx_start_on(&rx, NULL, port);
	/* held during the cool-off: nothing tried */
	usleep(1000 * 1000);
	ck_assert_str_eq(sql1("SELECT attempts FROM notify_outbox WHERE id = %lld", a), "2");
	ck_assert_int_eq(rx_count(&rx), 0);
	ck_assert(IT_WAIT(state_is(a, "delivered") && state_is(b, "delivered") &&
					  state_is(c, "delivered"), 15000));
	ck_assert_int_eq(rx_count(&rx), 3);
	ck_assert_str_eq(rx.reqs[0].body, "a");		/* the probe */
	ck_assert_str_eq(sql1("SELECT string_agg(attempts::text, ',' ORDER BY id)"
						  " FROM notify_outbox"), "3,1,1");
	ck_assert_str_eq(sql1("SELECT consecutive_failures || ' ' || (dead_since IS NULL)"
						  " FROM notify_endpoints"), "0 true");
	ck_assert_int_eq(it_run("grep -q 'is reachable again' '%s'", srv.log), 0);
	rx_stop(&rx);
}
END_TEST

/* Private and metadata addresses are refused before any connection. */
START_TEST(test_refuses_private)
{
	long long	meta, ten, lo, mapped;
	int			lfd;
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	char		url[128];
	struct pollfd pfd;

	if (!up_with(BASE_EXTRA))
		return;
	/* a listener that would see any connection attempt */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert(bind(lfd, (struct sockaddr *) &sa, sizeof(sa)) == 0);
	ck_assert(listen(lfd, 16) == 0);
	ck_assert(getsockname(lfd, (struct sockaddr *) &sa, &len) == 0);

	meta = enqueue("https://169.254.169.254/latest/meta-data", NULL, "x");
	ten = enqueue("http://10.0.0.1/", NULL, "x");
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/", ntohs(sa.sin_port));
	lo = enqueue(url, NULL, "x");
	snprintf(url, sizeof(url), "https://[::ffff:127.0.0.1]:%d/", ntohs(sa.sin_port));
	mapped = enqueue(url, NULL, "x");
	ck_assert(IT_WAIT(state_is(meta, "failed_permanent") && state_is(ten, "failed_permanent") &&
					  state_is(lo, "failed_permanent") &&
					  state_is(mapped, "failed_permanent"), 10000));
	ck_assert_ptr_nonnull(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
									  meta), "169.254.169.254 is link-local"));
	ck_assert_ptr_nonnull(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
									  ten), "plain http is allowed only to loopback"));
	ck_assert_ptr_nonnull(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
									  lo), "127.0.0.1 is loopback and not in notify.allow_networks"));
	ck_assert_ptr_nonnull(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
									  mapped), "is loopback"));
	ck_assert_str_eq(sql1("SELECT string_agg(attempts::text, ',') FROM notify_outbox"), "1,1,1,1");
	/* policy refusals do not count against a receiver */
	ck_assert_str_eq(sql1("SELECT count(*) FROM notify_endpoints"), "0");
	pfd.fd = lfd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);	/* nobody connected */
	close(lfd);
	ck_assert(IT_WAIT(metric("dermsd_notify_refused_total") == 4, 3000));
}
END_TEST

/* HTTPS to loopback: refused, then let through by the allow-list after a
 * reload, with the peer verified against notify.ca_file. */
START_TEST(test_allow_list_https)
{
	receiver	rx;
	char		url[128];
	long long	id1, id2;

	if (!up_with(BASE_EXTRA "ca_file = pki/ca.pem\nallow_networks = \"192.0.2.0/24\"\n"))
		return;
	rx_start(&rx, srv.pki);
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/tls", rx.port);
	id1 = enqueue(url, "t", "one");
	ck_assert(IT_WAIT(state_is(id1, "failed_permanent"), 10000));
	ck_assert_int_eq(rx_count(&rx), 0);

	ck_assert_int_eq(it_run("sed -i 's|^allow_networks = .*|allow_networks = "
							"\"192.0.2.0/24, 127.0.0.0/8\"|' '%s'", srv.conf), 0);
	kill(srv.pid, SIGHUP);
	ck_assert(IT_WAIT(it_run("grep -q 'delivering with the new configuration' '%s'",
							 srv.log) == 0, 10000));
	id2 = enqueue(url, "t", "two");
	ck_assert(IT_WAIT(state_is(id2, "delivered"), 10000));
	ck_assert_int_eq(rx_count(&rx), 1);
	ck_assert_str_eq(rx.reqs[0].body, "two");
	ck_assert_str_eq(rx.reqs[0].auth, "Bearer t");
	rx_stop(&rx);

	/* a certificate not from notify.ca_file: verification fails, retried */
	ck_assert_int_eq(it_run("sed -i 's|^ca_file = pki/ca.pem|ca_file = /etc/ssl/certs/"
							"ca-certificates.crt|' '%s'", srv.conf), 0);
	rx_start(&rx, srv.pki);
	kill(srv.pid, SIGHUP);
	ck_assert(IT_WAIT(it_run("test $(grep -c 'delivering with the new configuration' '%s')"
							 " -ge 2", srv.log) == 0, 10000));
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/tls", rx.port);
	id1 = enqueue(url, NULL, "three");
	ck_assert(IT_WAIT(strstr(sql1("SELECT last_error FROM notify_outbox WHERE id = %lld",
								  id1), "certificate") != NULL, 10000));
	ck_assert(!state_is(id1, "delivered") && !state_is(id1, "failed_permanent"));
	ck_assert_int_eq(rx_count(&rx), 0);
	rx_stop(&rx);
}
END_TEST

/* kill -9 of the notify worker mid-batch: nothing is lost. */
START_TEST(test_kill9_at_least_once)
{
	receiver	rx;
	char		url[128];
	long long	ids[6];
	pid_t		pids[4];
	int			inflight;

	/* deliveries outlive the kill: the claims are released, not timed out */
	if (!up_with(COMMON_EXTRA "timeout_s = 10\n"))
		return;
	rx_start(&rx, NULL);
	rx_set(&rx, 0, 4000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/k", rx.port);
	ck_assert(IT_WAIT(it_children(srv.pid, "dermsd-notify", pids, 4) == 1, 5000));
	for (int i = 0; i < 6; i++)
	{
		char		body[16];

		snprintf(body, sizeof(body), "m%d", i);
		ids[i] = enqueue(url, NULL, body);
	}
	ck_assert(IT_WAIT(rx_count(&rx) == 6, 5000));
	inflight = atoi(sql1("SELECT count(*) FROM notify_outbox WHERE state = 'pending'"
						 " AND claimed_by IS NOT NULL"));
	ck_assert_int_eq(inflight, 6);
	ck_assert_int_eq(kill(pids[0], SIGKILL), 0);
	rx_set(&rx, 0, 0);
	/* the restarted worker finds the orphaned claims and delivers again */
	for (int i = 0; i < 6; i++)
		ck_assert_msg(IT_WAIT(state_is(ids[i], "delivered"), 30000),
					  "row %lld not delivered", ids[i]);
	ck_assert_int_ge(rx_count(&rx), 12);
	for (int i = 0; i < 6; i++)
	{
		char		body[16];
		int			seen = 0;

		snprintf(body, sizeof(body), "m%d", i);
		for (int k = 0; k < rx.n; k++)
			seen += strcmp(rx.reqs[k].body, body) == 0;
		ck_assert_int_ge(seen, 2);
	}
	ck_assert_str_eq(sql1("SELECT min(attempts) FROM notify_outbox"), "2");
	ck_assert_int_eq(it_run("grep -q 'claimed by a stopped worker' '%s'", srv.log), 0);
	rx_stop(&rx);
}
END_TEST

/* SIGTERM while deliveries are in flight: they finish, then exit 0. */
START_TEST(test_sigterm_drains)
{
	receiver	rx;
	char		url[128];
	long long	id;
	int			st;

	if (!up_with(BASE_EXTRA))
		return;
	rx_start(&rx, NULL);
	rx_set(&rx, 0, 1000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/t", rx.port);
	id = enqueue(url, NULL, "bye");
	ck_assert(IT_WAIT(rx_count(&rx) == 1, 5000));
	st = it_stop(&srv, SIGTERM, 10);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", st);
	ck_assert(state_is(id, "delivered"));
	rx_stop(&rx);
}
END_TEST

/*
 * Figures: enqueue-to-request latency of an idle worker (woken by NOTIFY),
 * and 300 deliveries to a receiver taking 100 ms each (30 s one by one).
 */
START_TEST(test_latency_and_concurrency)
{
	receiver	rx;
	char		url[128];
	double		t0,
				lat_ms[5],
				elapsed;
	char	   *q;

	if (!up_with(BASE_EXTRA))
		return;
	rx_start(&rx, NULL);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/lat", rx.port);
	usleep(300 * 1000);
	for (int i = 0; i < 5; i++)
	{
		t0 = mono_s();
		enqueue(url, NULL, "l");
		ck_assert(IT_WAIT(rx_count(&rx) == i + 1, 5000));
		lat_ms[i] = (rx.last_at - t0) * 1000;
		ck_assert_msg(lat_ms[i] < 1000, "latency %.1f ms: not woken by NOTIFY?", lat_ms[i]);
		usleep(200 * 1000);
	}

	rx_set(&rx, 0, 100);
	ck_assert_int_ge(asprintf(&q, "SELECT count(notify_enqueue('openadr', NULL, 's',"
							  " 'http://127.0.0.1:%d/c', NULL, 'text/plain', g::text))"
							  " FROM generate_series(1, 300) g", rx.port), 0);
	t0 = mono_s();
	ck_assert_str_eq(sql1("%s", q), "300");
	free(q);
	ck_assert(IT_WAIT(strcmp(sql1("SELECT count(*) FROM notify_outbox"
								  " WHERE state = 'delivered'"), "305") == 0, 30000));
	elapsed = mono_s() - t0;
	printf("notify: enqueue-to-request latency %.1f %.1f %.1f %.1f %.1f ms; "
		   "300 deliveries of 100 ms each in %.2f s (%.0f/s), %d at once at most\n",
		   lat_ms[0], lat_ms[1], lat_ms[2], lat_ms[3], lat_ms[4], elapsed,
		   300 / elapsed, rx.max_active);
	ck_assert_int_ge(rx.max_active, 16);
	ck_assert(elapsed < 10.0);
	ck_assert_int_eq(rx_count(&rx), 305);
	rx_stop(&rx);
}
END_TEST

Suite *
notify_suite(void)
{
	Suite	   *s = suite_create("notify");
	TCase	   *tc = tcase_create("rules");
	TCase	   *it = tcase_create("worker");

	tcase_add_loop_test(tc, test_classify, 0,
						(int) (sizeof(class_cases) / sizeof(class_cases[0])));
	tcase_add_test(tc, test_classify_other_family);
	tcase_add_test(tc, test_networks);
	tcase_add_test(tc, test_policy);
	tcase_add_test(tc, test_backoff);
	suite_add_tcase(s, tc);

	tcase_set_timeout(it, 120);
	tcase_add_checked_fixture(it, NULL, teardown);
	tcase_add_test(it, test_delivers_with_bearer);
	tcase_add_test(it, test_retry_after_500);
	tcase_add_test(it, test_dead_endpoint);
	tcase_add_test(it, test_probe_revives);
	tcase_add_test(it, test_refuses_private);
	tcase_add_test(it, test_allow_list_https);
	tcase_add_test(it, test_kill9_at_least_once);
	tcase_add_test(it, test_sigterm_drains);
	tcase_add_test(it, test_latency_and_concurrency);
	suite_add_tcase(s, it);
	return s;
}
