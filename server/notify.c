/*
 * server/notify.c
 *	  The notification outbox: notify_enqueue() for producers, the SSRF
 *	  address rules, and the "notify" worker that claims due rows and POSTs
 *	  them with libcurl's multi interface, many at a time.
 *
 *	  The worker LISTENs on NOTIFY_CHANNEL and sleeps in ppoll() on its
 *	  database socket and curl's sockets (curl's socket and timer
 *	  callbacks), waking for an enqueue, a finished transfer, curl's timer,
 *	  the next due retry (at most NOTIFY_IDLE_MS away) or a signal.  It
 *	  claims due rows in batches with FOR UPDATE SKIP LOCKED, so several
 *	  workers share one outbox; a claim is committed at once (a lease), and
 *	  the outcome of each transfer is written when it ends.
 *
 *	  Security.  Only https with peer and host verification, unless
 *	  notify.allow_http_loopback lets plain http reach loopback addresses.
 *	  The address rule is applied in curl's open-socket callback, to the
 *	  very address about to be connected to, so a name that resolves
 *	  differently later (DNS rebinding) gains nothing: private, loopback,
 *	  link-local, unique-local, multicast, unspecified, CGNAT and reserved
 *	  addresses are refused unless in notify.allow_networks.  No proxies,
 *	  no redirects, responses capped at NOTIFY_RESPONSE_MAX bytes.
 *
 *	  Verifications.  Rows of a kind in verifiers[] (OpenADR callback
 *	  verification, "oadr_verify") are delivered like any other, but a 2xx
 *	  counts only if the producer's SQL accepts the answer (the echoed
 *	  challenge); a refused answer is a failed attempt, retried with
 *	  backoff.  When such a row is given up, the producer's SQL hears it.
 *
 * NOTES
 *	  Runs in the forked "notify" worker only (notify_enqueue and the pure
 *	  functions run wherever they are called).  The worker owns its config
 *	  copy, one db handle, one curl multi handle and its transfers; each
 *	  loop iteration's queries live in one arena.  A transfer's body and
 *	  strings are malloc'd and freed with the transfer.
 *
 *	  At least once: a worker killed mid-transfer leaves its rows claimed
 *	  by a backend that no longer exists; any worker releases such rows
 *	  (at its start and every NOTIFY_RECLAIM_MS) and the lease runs out in
 *	  any case.  An outcome is written only if the row is still the same
 *	  claim (same attempts), so a late result never overwrites a newer one.
 */
#include "notify.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "notify_mqtt.h"

#define NOTIFY_BATCH 16			/* rows claimed per query */
#define NOTIFY_MAX_INFLIGHT 64	/* transfers at once per worker */
#define NOTIFY_MAX_SOCKS 256	/* curl sockets watched */
#define NOTIFY_IDLE_MS 5000		/* longest sleep without a wake-up */
#define NOTIFY_MIN_RECHECK_MS 200	/* shortest wait for the next due row */
#define NOTIFY_DB_RETRY_MS 1000 /* database down: retry this often */
#define NOTIFY_RECLAIM_MS 10000 /* release claims of vanished backends */
#define NOTIFY_GAUGE_MS 5000	/* refresh the pending gauges */
#define NOTIFY_PURGE_MS 3600000 /* purge finished rows */
#define NOTIFY_PURGE_BATCH 10000
#define NOTIFY_LEASE_EXTRA_S 30 /* lease beyond notify.timeout_s */
#define NOTIFY_RESPONSE_MAX 65536	/* response bytes read */
#define NOTIFY_SNIPPET 200		/* response bytes kept for last_error */
#define NOTIFY_BACKOFF_MAX_MS 3600000
#define NOTIFY_WHY_MAX 256
#define NOTIFY_ANSWER_MAX 4096	/* answer bytes kept for a verification */

/*
 * Outbox kinds whose 2xx is not enough: the answer must satisfy the
 * producer.  answer_sql ($1 row id, $2 the answer as text) returns NULL
 * when it does, else why not (the attempt then counts as failed);
 * failed_sql ($1 row id, $2 why) runs once the row is given up.  Both are
 * the producer's SQL functions (OpenADR callbacks: schema/0011).
 */
typedef struct notify_verifier
{
	const char *kind;
	const char *answer_sql;
	const char *failed_sql;
} notify_verifier;

static const notify_verifier verifiers[] = {
	{"oadr_verify", "SELECT oadr_callback_verify($1::bigint, $2)",
	"SELECT oadr_callback_failed($1::bigint, $2)"},
};

/* One delivery in flight. */
typedef struct notify_xfer
{
	struct notify_xfer *next;
	struct notify_worker *w;
	CURL	   *easy;
	int64_t		id;
	int			attempts;		/* after the claim: identifies it */
	double		age_s;			/* at the claim */
	char	   *origin;
	bool		plain_http;
	bool		refused;		/* an address was refused by the rules */
	int			connects;		/* sockets opened to allowed addresses */
	bool		too_large;		/* response over NOTIFY_RESPONSE_MAX */
	char		why[NOTIFY_WHY_MAX];
	struct curl_slist *headers;
	unsigned char *body;		/* PQfreemem */
	size_t		body_len;
	size_t		resp_len;
	char		snippet[NOTIFY_SNIPPET + 1];
	char		errbuf[CURL_ERROR_SIZE];
	const notify_verifier *verify;	/* NULL for plain deliveries */
	char	   *answer;			/* verify: the answer, NUL-terminated */
	size_t		answer_len;
} notify_xfer;

typedef struct notify_sock
{
	curl_socket_t fd;
	short		events;
} notify_sock;

typedef struct notify_worker
{
	derms_config cfg;			/* owned */
	notify_policy policy;
	db		   *db;				/* owned */
	CURLM	   *multi;			/* owned */
	notify_xfer *inflight;		/* list */
	int			ninflight;
	notify_sock socks[NOTIFY_MAX_SOCKS];
	int			nsocks;
	bool		curl_timer;		/* curl asked to be called back */
	uint64_t	curl_at_ms;
	PGconn	   *listen_conn;	/* the connection that LISTENs */
	int			listen_pid;		/* and its backend pid */
	bool		wake;			/* claim as soon as possible */
	uint64_t	claim_at_ms;	/* next claim attempt */
	uint64_t	reclaim_at_ms;
	uint64_t	gauge_at_ms;
	uint64_t	purge_at_ms;
	notify_mqtt *mqtt;			/* owned; NULL unless mqtt.enabled */
	uint64_t	mqtt_at_ms;		/* its next turn */
} notify_worker;

typedef enum notify_outcome
{
	NOTIFY_DELIVERED,
	NOTIFY_RETRY,				/* dead when attempts or age are spent */
	NOTIFY_PERMANENT
} notify_outcome;

static volatile sig_atomic_t n_term;
static volatile sig_atomic_t n_hup;

/* ------------------------------------------------------------ producers */

derms_rc
notify_enqueue(db *d, arena *a, const char *kind, int64_t tenant_id,
			   const char *subscription_ref, const char *url,
			   const char *bearer, const char *content_type,
			   const void *body, size_t body_len, int64_t *id,
			   derms_err *err)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = body;
	const char *params[7];
	char	   *tenant = NULL;
	char	   *body_hex;
	PGresult   *r;

	assert(d != NULL && a != NULL && kind != NULL);
	assert(subscription_ref != NULL && url != NULL && content_type != NULL);
	assert(body != NULL || body_len == 0);
	if (body_len > (SIZE_MAX - 3) / 2)
		return derms_err_set(err, DERMS_ERANGE, "notification body too large");
	body_hex = arena_alloc(a, 2 * body_len + 3);
	if (body_hex == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	body_hex[0] = '\\';
	body_hex[1] = 'x';
	for (size_t i = 0; i < body_len; i++)
	{
		body_hex[2 + 2 * i] = hex[b[i] >> 4];
		body_hex[3 + 2 * i] = hex[b[i] & 15];
	}
	body_hex[2 + 2 * body_len] = '\0';
	if (tenant_id != NOTIFY_NO_TENANT &&
		(tenant = arena_printf(a, "%" PRId64, tenant_id)) == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");

	params[0] = kind;
	params[1] = tenant;
	params[2] = subscription_ref;
	params[3] = url;
	params[4] = bearer;
	params[5] = content_type;
	params[6] = body_hex;
	r = db_exec(d, a,
				"SELECT notify_enqueue($1, $2::bigint, $3, $4, $5, $6, $7::bytea)",
				7, params, NULL, err);
	if (r == NULL)
		return err ? err->code : DERMS_EDB;
	if (id != NULL)
		*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	return DERMS_OK;
}

/* ---------------------------------------------------- the address rules */

static notify_addr_class
classify_v4(uint32_t a)
{
	static const struct
	{
		uint32_t	net;
		int			prefix;
		notify_addr_class cls;
	}			v4[] = {
		{0x00000000, 8, NOTIFY_ADDR_UNSPECIFIED},	/* "this network" */
		{0x0A000000, 8, NOTIFY_ADDR_PRIVATE},
		{0x64400000, 10, NOTIFY_ADDR_CGNAT},
		{0x7F000000, 8, NOTIFY_ADDR_LOOPBACK},
		{0xA9FE0000, 16, NOTIFY_ADDR_LINK_LOCAL},
		{0xAC100000, 12, NOTIFY_ADDR_PRIVATE},
		{0xC0000000, 24, NOTIFY_ADDR_RESERVED},	/* IETF assignments */
		{0xC0000200, 24, NOTIFY_ADDR_RESERVED},	/* TEST-NET-1 */
		{0xC0586300, 24, NOTIFY_ADDR_RESERVED},	/* 6to4 relay anycast */
		{0xC0A80000, 16, NOTIFY_ADDR_PRIVATE},
		{0xC6120000, 15, NOTIFY_ADDR_RESERVED},	/* benchmarking */
		{0xC6336400, 24, NOTIFY_ADDR_RESERVED},	/* TEST-NET-2 */
		{0xCB007100, 24, NOTIFY_ADDR_RESERVED},	/* TEST-NET-3 */
		{0xE0000000, 4, NOTIFY_ADDR_MULTICAST},
		{0xF0000000, 4, NOTIFY_ADDR_RESERVED},	/* and the broadcast */
	};

	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
	{
		uint32_t	mask = 0xFFFFFFFFu << (32 - v4[i].prefix);

		if ((a & mask) == v4[i].net)
			return v4[i].cls;
	}
	return NOTIFY_ADDR_PUBLIC;
}

static uint32_t
v4_at(const unsigned char *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | p[3];
}

static notify_addr_class
classify_v6(const unsigned char *b)
{
	static const unsigned char zero[16];
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b};

	if (memcmp(b, zero, 16) == 0)
		return NOTIFY_ADDR_UNSPECIFIED;
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return NOTIFY_ADDR_LOOPBACK;
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return classify_v4(v4_at(b + 12));
	if (memcmp(b, zero, 12) == 0)
		return NOTIFY_ADDR_RESERVED;	/* IPv4-compatible, deprecated */
	if (b[0] == 0xff)
		return NOTIFY_ADDR_MULTICAST;
	if ((b[0] & 0xfe) == 0xfc)
		return NOTIFY_ADDR_UNIQUE_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return NOTIFY_ADDR_LINK_LOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return NOTIFY_ADDR_PRIVATE;		/* site-local, deprecated */
	if (b[0] == 0x20 && b[1] == 0x02)
		return classify_v4(v4_at(b + 2));	/* 6to4 */
	if ((b[0] & 0xe0) != 0x20)
		return NOTIFY_ADDR_RESERVED;	/* not global unicast (2000::/3) */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return NOTIFY_ADDR_RESERVED;	/* documentation */
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] <= 0x01)
		return NOTIFY_ADDR_RESERVED;	/* 2001::/23: Teredo, ORCHID ... */
	if (b[0] == 0x3f && b[1] == 0xff && (b[2] & 0xf0) == 0)
		return NOTIFY_ADDR_RESERVED;	/* 3fff::/20, documentation */
	return NOTIFY_ADDR_PUBLIC;
}

notify_addr_class
notify_addr_classify(const struct sockaddr *sa)
{
	assert(sa != NULL);
	if (sa->sa_family == AF_INET)
	{
		const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) sa;

		return classify_v4(ntohl(in->sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6)
	{
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) sa;

		return classify_v6(in6->sin6_addr.s6_addr);
	}
	return NOTIFY_ADDR_RESERVED;
}

const char *
notify_addr_class_name(notify_addr_class c)
{
	switch (c)
	{
		case NOTIFY_ADDR_PUBLIC:
			return "public";
		case NOTIFY_ADDR_UNSPECIFIED:
			return "unspecified";
		case NOTIFY_ADDR_LOOPBACK:
			return "loopback";
		case NOTIFY_ADDR_PRIVATE:
			return "private";
		case NOTIFY_ADDR_LINK_LOCAL:
			return "link-local";
		case NOTIFY_ADDR_UNIQUE_LOCAL:
			return "unique-local";
		case NOTIFY_ADDR_MULTICAST:
			return "multicast";
		case NOTIFY_ADDR_CGNAT:
			return "shared (CGNAT)";
		case NOTIFY_ADDR_RESERVED:
			return "reserved";
	}
	return "reserved";
}

/* Parse one "addr[/prefix]" of len bytes at s. */
static derms_rc
network_parse(const char *s, size_t len, notify_network *net, derms_err *err)
{
	char		text[INET6_ADDRSTRLEN + 8];
	char	   *slash;
	int			max;

	if (len >= sizeof(text))
		return derms_err_set(err, DERMS_EPARSE, "invalid network \"%.*s\"",
							 (int) (len > 64 ? 64 : len), s);
	memcpy(text, s, len);
	text[len] = '\0';
	memset(net, 0, sizeof(*net));
	slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	if (inet_pton(AF_INET, text, net->addr) == 1)
		net->family = AF_INET, max = 32;
	else if (inet_pton(AF_INET6, text, net->addr) == 1)
		net->family = AF_INET6, max = 128;
	else
		return derms_err_set(err, DERMS_EPARSE,
							 "invalid network \"%.*s\": not a numeric address",
							 (int) len, s);
	net->prefix = max;
	if (slash != NULL)
	{
		char	   *end;
		long		p;

		errno = 0;
		p = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || !isdigit((unsigned char) slash[1]) ||
			*end != '\0' || errno != 0 || p < 0 || p > max)
			return derms_err_set(err, DERMS_EPARSE,
								 "invalid network \"%.*s\": prefix length must be 0..%d",
								 (int) len, s, max);
		net->prefix = (int) p;
	}
	/* clear the host bits */
	for (int bit = net->prefix; bit < max; bit++)
		net->addr[bit / 8] &= (unsigned char) ~(0x80u >> (bit % 8));
	return DERMS_OK;
}

derms_rc
notify_networks_parse(const char *text, notify_networks *out, derms_err *err)
{
	const char *p = text ? text : "";

	assert(out != NULL);
	memset(out, 0, sizeof(*out));
	for (;;)
	{
		size_t		len;
		derms_rc	rc;

		while (*p == ',' || isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			return DERMS_OK;
		len = strcspn(p, ", \t\r\n");
		if (out->n == NOTIFY_MAX_NETWORKS)
			return derms_err_set(err, DERMS_ERANGE,
								 "too many networks (at most %d)",
								 NOTIFY_MAX_NETWORKS);
		rc = network_parse(p, len, &out->net[out->n], err);
		if (rc != DERMS_OK)
			return rc;
		out->n++;
		p += len;
	}
}

static bool
prefix_match(const unsigned char *a, const unsigned char *net, int prefix)
{
	int			full = prefix / 8;
	int			rest = prefix % 8;

	if (memcmp(a, net, (size_t) full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (0xFFu << (8 - rest)) & 0xFFu) == 0;
}

bool
notify_networks_contain(const notify_networks *nets, const struct sockaddr *sa)
{
	static const unsigned char mapped[12] = {[10] = 0xff, [11] = 0xff};
	unsigned char bytes[16];
	int			family;

	assert(nets != NULL && sa != NULL);
	if (sa->sa_family == AF_INET)
	{
		memcpy(bytes, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, 4);
		family = AF_INET;
	}
	else if (sa->sa_family == AF_INET6)
	{
		const unsigned char *b =
			((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr.s6_addr;

		if (memcmp(b, mapped, 12) == 0)
		{
			memcpy(bytes, b + 12, 4);
			family = AF_INET;
		}
		else
		{
			memcpy(bytes, b, 16);
			family = AF_INET6;
		}
	}
	else
		return false;
	for (int i = 0; i < nets->n; i++)
		if (nets->net[i].family == family &&
			prefix_match(bytes, nets->net[i].addr, nets->net[i].prefix))
			return true;
	return false;
}

static void
addr_text(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = NULL;

	if (sa->sa_family == AF_INET)
		a = &((const struct sockaddr_in *) (const void *) sa)->sin_addr;
	else if (sa->sa_family == AF_INET6)
		a = &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr;
	if (a == NULL || inet_ntop(sa->sa_family, a, buf, (socklen_t) len) == NULL)
		snprintf(buf, len, "(address family %d)", (int) sa->sa_family);
}

bool
notify_addr_allowed(const notify_policy *p, bool plain_http,
					const struct sockaddr *sa, char *why, size_t why_len)
{
	notify_addr_class cls;
	char		text[INET6_ADDRSTRLEN];

	assert(p != NULL && sa != NULL);
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
	{
		snprintf(why, why_len, "address family %d is not allowed",
				 (int) sa->sa_family);
		return false;
	}
	cls = notify_addr_classify(sa);
	addr_text(sa, text, sizeof(text));
	if (plain_http)
	{
		if (!p->allow_http_loopback)
		{
			snprintf(why, why_len,
					 "plain http is not allowed (notify.allow_http_loopback is false)");
			return false;
		}
		if (cls != NOTIFY_ADDR_LOOPBACK)
		{
			snprintf(why, why_len,
					 "plain http is allowed only to loopback addresses, not to %s (%s)",
					 text, notify_addr_class_name(cls));
			return false;
		}
		return true;
	}
	if (cls == NOTIFY_ADDR_PUBLIC || notify_networks_contain(&p->allow, sa))
		return true;
	snprintf(why, why_len,
			 "address %s is %s and not in notify.allow_networks",
			 text, notify_addr_class_name(cls));
	return false;
}

int64_t
notify_backoff_ms(int base_s, int attempts, uint32_t rnd)
{
	int64_t		d = (int64_t) (base_s > 0 ? base_s : 1) * 1000;
	int64_t		half;

	for (int i = 1; i < attempts && d < NOTIFY_BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > NOTIFY_BACKOFF_MAX_MS)
		d = NOTIFY_BACKOFF_MAX_MS;
	half = d / 2;
	return half + (int64_t) (rnd % (uint32_t) (d - half + 1));
}

/* ------------------------------------------------------------ the worker */

static void
notify_on_signal(int sig)
{
	if (sig == SIGHUP)
		n_hup = 1;
	else
		n_term = 1;
}

/* Block the worker's signals and install flag-setting handlers. */
static void
notify_signals(sigset_t *oldmask)
{
	struct sigaction sa;
	sigset_t	block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, oldmask);
	sigdelset(oldmask, SIGPIPE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = notify_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
gauge_set(int64_t *field, int64_t v)
{
	if (metrics != NULL)
		__atomic_store_n(field, v, __ATOMIC_RELAXED);
}

/* The policy of cfg; false (logged) when notify.allow_networks is bad. */
static bool
policy_from(const derms_config *cfg, notify_policy *p)
{
	derms_err	err;

	p->allow_http_loopback = cfg->notify_allow_http_loopback;
	if (notify_networks_parse(cfg->notify_allow_networks, &p->allow, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "invalid notify.allow_networks: %s", err.msg);
		return false;
	}
	return true;
}

/* curl: which sockets to watch. */
static int
on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp,
			   void *socketp)
{
	notify_worker *w = userp;
	int			i;

	(void) easy;
	(void) socketp;
	for (i = 0; i < w->nsocks; i++)
		if (w->socks[i].fd == s)
			break;
	if (what == CURL_POLL_REMOVE)
	{
		if (i < w->nsocks)
			w->socks[i] = w->socks[--w->nsocks];
		return 0;
	}
	if (i == w->nsocks)
	{
		if (w->nsocks == NOTIFY_MAX_SOCKS)
			return -1;
		w->socks[w->nsocks++].fd = s;
	}
	w->socks[i].events = (short) (((what & CURL_POLL_IN) ? POLLIN : 0) |
								  ((what & CURL_POLL_OUT) ? POLLOUT : 0));
	return 0;
}

/* curl: when to call curl_multi_socket_action(CURL_SOCKET_TIMEOUT). */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	notify_worker *w = userp;

	(void) multi;
	w->curl_timer = timeout_ms >= 0;
	w->curl_at_ms = now_ms() + (uint64_t) (timeout_ms > 0 ? timeout_ms : 0);
	return 0;
}

/* curl: the socket of a connection about to be made; the address rules. */
static curl_socket_t
on_open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	notify_xfer *x = clientp;

	if (purpose != CURLSOCKTYPE_IPCXN ||
		!notify_addr_allowed(&x->w->policy, x->plain_http, &addr->addr,
							 x->why, sizeof(x->why)))
	{
		if (purpose != CURLSOCKTYPE_IPCXN)
			snprintf(x->why, sizeof(x->why), "unexpected socket type");
		x->refused = true;
		return CURL_SOCKET_BAD;
	}
	x->connects++;
	return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* curl: response bytes; keep a snippet, refuse more than the cap. */
static size_t
on_response(char *data, size_t size, size_t n, void *userp)
{
	notify_xfer *x = userp;
	size_t		len = size * n;
	size_t		kept = strlen(x->snippet);

	if (x->resp_len + len > NOTIFY_RESPONSE_MAX)
	{
		x->too_large = true;
		return 0;
	}
	x->resp_len += len;
	if (x->verify != NULL && x->answer_len < NOTIFY_ANSWER_MAX)
	{
		size_t		add = NOTIFY_ANSWER_MAX - x->answer_len < len ?
			NOTIFY_ANSWER_MAX - x->answer_len : len;
		char	   *grown = realloc(x->answer, x->answer_len + add + 1);

		if (grown != NULL)
		{
			memcpy(grown + x->answer_len, data, add);
			x->answer_len += add;
			grown[x->answer_len] = '\0';
			x->answer = grown;
		}
	}
	if (kept < NOTIFY_SNIPPET)
	{
		size_t		add = NOTIFY_SNIPPET - kept < len ? NOTIFY_SNIPPET - kept : len;

		for (size_t i = 0; i < add; i++)
			x->snippet[kept + i] = isprint((unsigned char) data[i]) ? data[i] : ' ';
		x->snippet[kept + add] = '\0';
	}
	return len;
}

static void
xfer_free(notify_xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	if (x->body)
		PQfreemem(x->body);
	free(x->origin);
	free(x->answer);
	free(x);
}

/* Any byte that would end a header line early? */
static bool
header_safe(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* The verifier of outbox kind, or NULL. */
static const notify_verifier *
verifier_of(const char *kind)
{
	for (size_t i = 0; i < sizeof(verifiers) / sizeof(verifiers[0]); i++)
		if (strcmp(verifiers[i].kind, kind) == 0)
			return &verifiers[i];
	return NULL;
}

/*
 * A transfer for one claimed row (columns as in CLAIM_SQL).  NULL with
 * why filled when the row cannot be sent at all.
 */
static notify_xfer *
xfer_new(notify_worker *w, PGresult *r, int row, char *why, size_t why_len)
{
	notify_xfer *x = calloc(1, sizeof(*x));
	const char *url = PQgetvalue(r, row, 2);
	const char *ctype = PQgetvalue(r, row, 5);
	char	   *line;
	CURL	   *e;

	if (x == NULL)
	{
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	x->w = w;
	x->id = strtoll(PQgetvalue(r, row, 0), NULL, 10);
	x->attempts = atoi(PQgetvalue(r, row, 1));
	x->origin = strdup(PQgetvalue(r, row, 3));
	x->age_s = strtod(PQgetvalue(r, row, 7), NULL);
	x->plain_http = strncasecmp(url, "http://", 7) == 0;
	x->verify = verifier_of(PQgetvalue(r, row, 8));
	x->body = PQunescapeBytea((const unsigned char *) PQgetvalue(r, row, 6),
							  &x->body_len);
	x->easy = e = curl_easy_init();
	if (x->origin == NULL || x->body == NULL || e == NULL)
	{
		snprintf(why, why_len, "out of memory");
		xfer_free(x);
		return NULL;
	}
	if (x->plain_http && !w->policy.allow_http_loopback)
	{
		snprintf(why, why_len,
				 "plain http is not allowed (notify.allow_http_loopback is false)");
		xfer_free(x);
		return NULL;
	}
	if (!header_safe(ctype) ||
		(!PQgetisnull(r, row, 4) && !header_safe(PQgetvalue(r, row, 4))))
	{
		snprintf(why, why_len, "content type or bearer token holds control characters");
		xfer_free(x);
		return NULL;
	}

	if (asprintf(&line, "Content-Type: %s", ctype) >= 0)
	{
		x->headers = curl_slist_append(x->headers, line);
		free(line);
	}
	if (!PQgetisnull(r, row, 4) &&
		asprintf(&line, "Authorization: Bearer %s", PQgetvalue(r, row, 4)) >= 0)
	{
		x->headers = curl_slist_append(x->headers, line);
		explicit_bzero(line, strlen(line));
		free(line);
	}
	x->headers = curl_slist_append(x->headers, "Expect:");

	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR,
					 w->policy.allow_http_loopback ? "http,https" : "https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *) x->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) x->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "dermsd-notify");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) w->cfg.notify_timeout_s * 1000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
					 (long) (w->cfg.notify_timeout_s < 10 ?
							 w->cfg.notify_timeout_s : 10) * 1000L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long) CURL_SSLVERSION_TLSv1_2);
	if (w->cfg.notify_ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, w->cfg.notify_ca_file);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) NOTIFY_RESPONSE_MAX);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	return x;
}

/* ---- outcomes */

static const char *const RESULT_SQL[] = {
	[NOTIFY_DELIVERED] =
	"UPDATE notify_outbox SET state = 'delivered', delivered_at = now(),"
	" finished_at = now(), claimed_by = NULL, last_status = $3,"
	" last_error = NULL"
	" WHERE id = $1 AND state = 'pending' AND attempts = $2",
	[NOTIFY_RETRY] =
	"UPDATE notify_outbox SET claimed_by = NULL, last_status = $3,"
	" last_error = $4, next_attempt_at = now() + $5::bigint * interval '1 millisecond'"
	" WHERE id = $1 AND state = 'pending' AND attempts = $2",
	[NOTIFY_PERMANENT] =
	"UPDATE notify_outbox SET state = 'failed_permanent', finished_at = now(),"
	" claimed_by = NULL, last_status = $3, last_error = $4"
	" WHERE id = $1 AND state = 'pending' AND attempts = $2",
};

static const char DEAD_SQL[] =
"UPDATE notify_outbox SET state = 'dead', finished_at = now(),"
" claimed_by = NULL, last_status = $3, last_error = $4"
" WHERE id = $1 AND state = 'pending' AND attempts = $2";

/* One more failure of origin; marks it dead at the threshold. */
static const char ENDPOINT_FAIL_SQL[] =
"INSERT INTO notify_endpoints AS e"
"  (origin, consecutive_failures, last_failure_at, last_error, dead_since, probe_at)"
" VALUES ($1, 1, now(), $2,"
"  CASE WHEN $3::int <= 1 THEN now() END,"
"  CASE WHEN $3::int <= 1 THEN now() + $4::int * interval '1 second' END)"
" ON CONFLICT (origin) DO UPDATE SET"
"  consecutive_failures = e.consecutive_failures + 1,"
"  last_failure_at = now(), last_error = $2,"
"  dead_since = CASE WHEN e.dead_since IS NULL"
"    AND e.consecutive_failures + 1 >= $3::int THEN now() ELSE e.dead_since END,"
"  probe_at = CASE WHEN e.dead_since IS NOT NULL"
"    OR e.consecutive_failures + 1 >= $3::int"
"    THEN now() + $4::int * interval '1 second' END"
" RETURNING consecutive_failures, dead_since IS NOT NULL,"
"  dead_since = now()";

/* A dead origin's waiting rows wait for its next probe. */
static const char HOLD_SQL[] =
"UPDATE notify_outbox o SET next_attempt_at = e.probe_at"
" FROM notify_endpoints e"
" WHERE e.origin = $1 AND o.origin = e.origin AND o.state = 'pending'"
"  AND o.claimed_by IS NULL AND e.probe_at IS NOT NULL"
"  AND o.next_attempt_at < e.probe_at";

/* origin answered; true in the result when it had been dead. */
static const char ENDPOINT_OK_SQL[] =
"WITH old AS (SELECT origin, dead_since FROM notify_endpoints"
"  WHERE origin = $1 AND (consecutive_failures > 0 OR dead_since IS NOT NULL)"
"  FOR UPDATE)"
" UPDATE notify_endpoints e SET consecutive_failures = 0, dead_since = NULL,"
"  probe_at = NULL FROM old WHERE e.origin = old.origin"
" RETURNING old.dead_since IS NOT NULL";

static const char RELEASE_HELD_SQL[] =
"UPDATE notify_outbox SET next_attempt_at = now()"
" WHERE origin = $1 AND state = 'pending' AND claimed_by IS NULL"
"  AND next_attempt_at > now()";

/* Record that origin answered. */
static void
endpoint_ok(notify_worker *w, arena *a, const char *origin)
{
	const char *params[1] = {origin};
	derms_err	err;
	PGresult   *r;

	r = db_exec(w->db, a, ENDPOINT_OK_SQL, 1, params, NULL, &err);
	if (r == NULL)
	{
		log_msg(LOG_WARNING, "could not update notification receiver %s: %s",
				origin, err.msg);
		return;
	}
	if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0)
	{
		log_msg(LOG_INFO, "notification receiver %s is reachable again", origin);
		METRICS_ADD(notify_dead_endpoints, -1);
		if (db_exec(w->db, a, RELEASE_HELD_SQL, 1, params, NULL, &err) == NULL)
			log_msg(LOG_WARNING, "could not release notifications to %s: %s",
					origin, err.msg);
		w->wake = true;
	}
}

/* Record a failure of origin; mark it dead at the threshold. */
static void
endpoint_failed(notify_worker *w, arena *a, const char *origin, const char *why)
{
	char		dead_after[16], cooloff[16];
	const char *params[4] = {origin, why, dead_after, cooloff};
	derms_err	err;
	PGresult   *r;

	snprintf(dead_after, sizeof(dead_after), "%d", w->cfg.notify_endpoint_dead_after);
	snprintf(cooloff, sizeof(cooloff), "%d", w->cfg.notify_endpoint_cooloff_s);
	r = db_exec(w->db, a, ENDPOINT_FAIL_SQL, 4, params, NULL, &err);
	if (r == NULL || PQntuples(r) != 1)
	{
		log_msg(LOG_WARNING, "could not update notification receiver %s: %s",
				origin, r ? "no row" : err.msg);
		return;
	}
	if (strcmp(PQgetvalue(r, 0, 1), "t") != 0)
		return;
	if (strcmp(PQgetvalue(r, 0, 2), "t") == 0)
	{
		log_msg(LOG_WARNING,
				"notification receiver %s marked dead after %s consecutive failures "
				"(next probe in %d s): %s",
				origin, PQgetvalue(r, 0, 0), w->cfg.notify_endpoint_cooloff_s, why);
		METRICS_ADD(notify_endpoints_dead, 1);
		METRICS_ADD(notify_dead_endpoints, 1);
	}
	if (db_exec(w->db, a, HOLD_SQL, 1, params, NULL, &err) == NULL)
		log_msg(LOG_WARNING, "could not hold notifications to %s: %s", origin,
				err.msg);
}

/* A verification was given up: tell its producer. */
static void
verify_failed(notify_worker *w, arena *a, const notify_xfer *x, const char *why)
{
	char		id[24];
	const char *params[2] = {id, why ? why : "given up"};
	derms_err	err;
	PGresult   *r;

	snprintf(id, sizeof(id), "%" PRId64, x->id);
	r = db_exec(w->db, a, x->verify->failed_sql, 2, params, NULL, &err);
	if (r == NULL)
		log_msg(LOG_WARNING, "could not record the failed verification %s: %s", id, err.msg);
	else
		log_msg(LOG_WARNING,
				"callback %s was not verified (%s notification %s, subscription %s):"
				" its notifications are held until the subscription is updated",
				x->origin, x->verify->kind, id,
				PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "gone");
}

/*
 * The producer's judgement of a verification's 2xx answer: NULL when it
 * is accepted, else why not (in a).
 */
static const char *
verify_answer(notify_worker *w, arena *a, const notify_xfer *x)
{
	char		id[24];
	const char *params[2] = {id, x->answer ? x->answer : ""};
	derms_err	err;
	PGresult   *r;

	snprintf(id, sizeof(id), "%" PRId64, x->id);
	r = db_exec(w->db, a, x->verify->answer_sql, 2, params, NULL, &err);
	if (r == NULL)
		return arena_printf(a, "could not check the answer: %s", err.msg);
	if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		return arena_strdup(a, PQgetvalue(r, 0, 0));
	return NULL;
}

/* Write the outcome of a claim. */
static void
record(notify_worker *w, arena *a, const notify_xfer *x, notify_outcome o,
	   long status, const char *why)
{
	char		id[24], attempts[16], st[16], delay[24];
	const char *params[5] = {id, attempts, status > 0 ? st : NULL, why, delay};
	const char *sql = RESULT_SQL[o];
	int			nparams = 4;
	derms_err	err;
	PGresult   *r;
	bool		dead = false;

	snprintf(id, sizeof(id), "%" PRId64, x->id);
	snprintf(attempts, sizeof(attempts), "%d", x->attempts);
	snprintf(st, sizeof(st), "%ld", status);
	if (o == NOTIFY_DELIVERED)
		nparams = 3;
	else if (o == NOTIFY_RETRY)
	{
		if (x->attempts >= w->cfg.notify_max_attempts ||
			x->age_s >= (double) w->cfg.notify_max_age_s)
		{
			sql = DEAD_SQL;
			dead = true;
		}
		else
		{
			snprintf(delay, sizeof(delay), "%" PRId64,
					 notify_backoff_ms(w->cfg.notify_backoff_s, x->attempts,
									   (uint32_t) random()));
			nparams = 5;
		}
	}
	r = db_exec(w->db, a, sql, nparams, params, NULL, &err);
	if (r == NULL)
	{
		log_msg(LOG_WARNING,
				"could not record the outcome of notification %" PRId64
				" (it will be retried): %s", x->id, err.msg);
		return;
	}
	if (PQcmdTuples(r)[0] == '0')
	{
		log_msg(LOG_DEBUG, "notification %" PRId64 " was claimed again meanwhile",
				x->id);
		return;
	}
	switch (o)
	{
		case NOTIFY_DELIVERED:
			METRICS_ADD(notify_delivered, 1);
			log_msg(LOG_DEBUG, "notification %" PRId64 " delivered to %s (%ld)",
					x->id, x->origin, status);
			break;
		case NOTIFY_PERMANENT:
			METRICS_ADD(notify_failed, 1);
			METRICS_ADD(notify_permanent, 1);
			log_msg(LOG_WARNING, "notification %" PRId64 " to %s failed for good: %s",
					x->id, x->origin, why);
			break;
		case NOTIFY_RETRY:
			METRICS_ADD(notify_failed, 1);
			if (dead)
			{
				METRICS_ADD(notify_dead, 1);
				log_msg(LOG_WARNING,
						"notification %" PRId64 " to %s given up after %d attempt(s): %s",
						x->id, x->origin, x->attempts, why);
			}
			else
				log_msg(LOG_INFO,
						"notification %" PRId64 " to %s failed (attempt %d), retrying in %s ms: %s",
						x->id, x->origin, x->attempts, delay, why);
			break;
	}
	if (x->verify != NULL && (o == NOTIFY_PERMANENT || dead))
		verify_failed(w, a, x, why);
}

/* A transfer ended with rc: classify, record, update its receiver. */
static void
xfer_done(notify_worker *w, arena *a, notify_xfer *x, CURLcode rc)
{
	char		why[NOTIFY_WHY_MAX + NOTIFY_SNIPPET + 64];
	long		status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (x->refused && x->connects == 0)
	{
		METRICS_ADD(notify_refused, 1);
		snprintf(why, sizeof(why), "refused: %s", x->why);
		record(w, a, x, NOTIFY_PERMANENT, 0, why);
		return;
	}
	if (status > 0 && (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && x->too_large) ||
					   rc == CURLE_FILESIZE_EXCEEDED))
	{
		if (status >= 200 && status <= 299)
		{
			const char *no = x->verify ? verify_answer(w, a, x) : NULL;

			if (no != NULL)
			{
				snprintf(why, sizeof(why), "receiver answered %ld: %s", status, no);
				record(w, a, x, NOTIFY_RETRY, status, why);
			}
			else
				record(w, a, x, NOTIFY_DELIVERED, status, NULL);
			endpoint_ok(w, a, x->origin);
			return;
		}
		snprintf(why, sizeof(why), "receiver answered %ld%s%s", status,
				 x->snippet[0] ? ": " : "", x->snippet);
		if ((status >= 300 && status <= 399) ||
			(status >= 400 && status <= 499 && status != 408 && status != 429))
		{
			if (status <= 399)
				snprintf(why, sizeof(why),
						 "receiver answered %ld (redirects are not followed)", status);
			record(w, a, x, NOTIFY_PERMANENT, status, why);
			endpoint_ok(w, a, x->origin);
			return;
		}
	}
	else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT)
	{
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf :
				 curl_easy_strerror(rc));
		record(w, a, x, NOTIFY_PERMANENT, 0, why);
		return;
	}
	else
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf :
				 curl_easy_strerror(rc));
	record(w, a, x, NOTIFY_RETRY, status, why);
	endpoint_failed(w, a, x->origin, why);
}

/* Collect finished transfers. */
static void
harvest(notify_worker *w, arena *a)
{
	CURLMsg    *m;
	int			left;

	while ((m = curl_multi_info_read(w->multi, &left)) != NULL)
	{
		notify_xfer *x;
		notify_xfer **pp;
		void	   *priv = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &priv);
		x = priv;
		{
			CURLcode	rc = m->data.result;

			/* m is invalid once the handle leaves the multi handle */
			curl_multi_remove_handle(w->multi, x->easy);
			xfer_done(w, a, x, rc);
		}
		for (pp = &w->inflight; *pp != NULL; pp = &(*pp)->next)
			if (*pp == x)
			{
				*pp = x->next;
				break;
			}
		w->ninflight--;
		xfer_free(x);
		w->wake = true;			/* a slot is free */
	}
}

/* ---- claiming */

static const char CLAIM_SQL[] =
"WITH due AS ("
" SELECT o.id FROM notify_outbox o"
"  LEFT JOIN notify_endpoints e ON e.origin = o.origin"
"  WHERE o.state = 'pending' AND o.next_attempt_at <= now()"
"   AND o.kind <> 'mqtt'"		/* notify_mqtt.c publishes those */
"   AND (e.dead_since IS NULL"
"        OR (e.probe_at <= now()"
"            AND o.id = (SELECT min(p.id) FROM notify_outbox p"
"                        WHERE p.origin = o.origin AND p.state = 'pending')))"
"  ORDER BY o.next_attempt_at"
"  LIMIT $1::int"
"  FOR UPDATE OF o SKIP LOCKED)"
" UPDATE notify_outbox o SET attempts = o.attempts + 1,"
"  claimed_by = pg_backend_pid(), last_attempt_at = now(),"
"  next_attempt_at = now() + $2::int * interval '1 second'"
" FROM due WHERE o.id = due.id"
" RETURNING o.id, o.attempts, o.url, o.origin, o.bearer_token,"
"  o.content_type, o.body,"
"  extract(epoch FROM now() - o.created_at), o.kind";

static const char NEXT_DUE_SQL[] =
"SELECT (extract(epoch FROM min(next_attempt_at) - now()) * 1000)::bigint"
" FROM notify_outbox WHERE state = 'pending' AND kind <> 'mqtt'";

/* Claim up to the free slots and start them; false when the db failed. */
static bool
claim(notify_worker *w, arena *a, uint64_t now)
{
	int			want = NOTIFY_MAX_INFLIGHT - w->ninflight;
	char		limit[16], lease[16];
	const char *params[2] = {limit, lease};
	derms_err	err;
	PGresult   *r;
	int			n;

	if (want > NOTIFY_BATCH)
		want = NOTIFY_BATCH;
	if (want <= 0)
		return true;
	snprintf(limit, sizeof(limit), "%d", want);
	snprintf(lease, sizeof(lease), "%d", w->cfg.notify_timeout_s + NOTIFY_LEASE_EXTRA_S);
	r = db_exec(w->db, a, CLAIM_SQL, 2, params, NULL, &err);
	if (r == NULL)
	{
		log_msg(LOG_WARNING, "could not claim notifications: %s", err.msg);
		w->wake = false;
		w->claim_at_ms = now + NOTIFY_DB_RETRY_MS;
		return false;
	}
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
	{
		char		why[NOTIFY_WHY_MAX];
		notify_xfer *x = xfer_new(w, r, i, why, sizeof(why));

		if (x == NULL)
		{
			notify_xfer stub;

			memset(&stub, 0, sizeof(stub));
			stub.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			stub.attempts = atoi(PQgetvalue(r, i, 1));
			stub.origin = PQgetvalue(r, i, 3);
			stub.verify = verifier_of(PQgetvalue(r, i, 8));
			METRICS_ADD(notify_refused, 1);
			record(w, a, &stub, NOTIFY_PERMANENT, 0, why);
			continue;
		}
		if (curl_multi_add_handle(w->multi, x->easy) != CURLM_OK)
		{
			log_msg(LOG_ERR, "could not start notification %" PRId64, x->id);
			xfer_free(x);
			continue;
		}
		x->next = w->inflight;
		w->inflight = x;
		w->ninflight++;
	}
	if (n == want)
	{
		/* there may be more due right now */
		w->claim_at_ms = now;
		w->wake = true;
		return true;
	}
	w->wake = false;
	r = db_exec(w->db, a, NEXT_DUE_SQL, 0, NULL, NULL, &err);
	{
		int64_t		delay = NOTIFY_IDLE_MS;

		if (r != NULL && !PQgetisnull(r, 0, 0))
			delay = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (delay < NOTIFY_MIN_RECHECK_MS)
			delay = NOTIFY_MIN_RECHECK_MS;
		if (delay > NOTIFY_IDLE_MS)
			delay = NOTIFY_IDLE_MS;
		w->claim_at_ms = now + (uint64_t) delay;
	}
	return true;
}

/* ---- housekeeping */

/* Rows claimed by backends that are gone (a killed worker) are due again. */
static const char RECLAIM_SQL[] =
"UPDATE notify_outbox o SET claimed_by = NULL, next_attempt_at = now()"
" WHERE o.claimed_by IS NOT NULL AND o.state = 'pending'"
"  AND NOT EXISTS (SELECT 1 FROM pg_stat_activity s WHERE s.pid = o.claimed_by)";

static const char GAUGE_SQL[] =
"SELECT (SELECT count(*) FROM notify_outbox WHERE state = 'pending'),"
" (SELECT count(*) FROM notify_endpoints WHERE dead_since IS NOT NULL)";

static const char PURGE_SQL[] =
"DELETE FROM notify_outbox WHERE id IN (SELECT id FROM notify_outbox"
" WHERE state <> 'pending' AND finished_at < now() - $1::int * interval '1 day'"
" LIMIT $2::int)";

static void
housekeeping(notify_worker *w, arena *a, uint64_t now)
{
	derms_err	err;
	PGresult   *r;

	if (now >= w->reclaim_at_ms)
	{
		w->reclaim_at_ms = now + NOTIFY_RECLAIM_MS;
		r = db_exec(w->db, a, RECLAIM_SQL, 0, NULL, NULL, &err);
		if (r == NULL)
			log_msg(LOG_WARNING, "could not release stale claims: %s", err.msg);
		else if (PQcmdTuples(r)[0] != '0')
		{
			log_msg(LOG_INFO, "released %s notification(s) claimed by a stopped worker",
					PQcmdTuples(r));
			w->wake = true;
		}
	}
	if (now >= w->gauge_at_ms)
	{
		w->gauge_at_ms = now + NOTIFY_GAUGE_MS;
		r = db_exec(w->db, a, GAUGE_SQL, 0, NULL, NULL, &err);
		if (r != NULL && metrics != NULL)
		{
			gauge_set(&metrics->notify_pending, strtoll(PQgetvalue(r, 0, 0), NULL, 10));
			gauge_set(&metrics->notify_dead_endpoints,
					  strtoll(PQgetvalue(r, 0, 1), NULL, 10));
		}
	}
	if (now >= w->purge_at_ms)
	{
		char		days[16], batch[16];
		const char *params[2] = {days, batch};
		long		total = 0;

		w->purge_at_ms = now + NOTIFY_PURGE_MS;
		snprintf(days, sizeof(days), "%d", w->cfg.notify_retention_days);
		snprintf(batch, sizeof(batch), "%d", NOTIFY_PURGE_BATCH);
		for (int i = 0; i < 10; i++)
		{
			long		n;

			r = db_exec(w->db, a, PURGE_SQL, 2, params, NULL, &err);
			if (r == NULL)
			{
				log_msg(LOG_WARNING, "could not purge finished notifications: %s",
						err.msg);
				break;
			}
			n = atol(PQcmdTuples(r));
			total += n;
			if (n < NOTIFY_PURGE_BATCH)
				break;
		}
		if (total > 0)
			log_msg(LOG_INFO, "purged %ld finished notification(s) older than %d day(s)",
					total, w->cfg.notify_retention_days);
	}
}

/*
 * Connected and LISTENing?  A new connection LISTENs, and stale claims
 * are released at once (this worker may be the restart of a killed one).
 */
static PGconn *
ensure_listening(notify_worker *w, arena *a)
{
	derms_err	err;
	PGconn	   *c = db_conn(w->db, &err);

	if (c == NULL)
		return NULL;
	if (c != w->listen_conn || PQbackendPID(c) != w->listen_pid)
	{
		w->listen_conn = NULL;
		if (db_exec(w->db, a, "LISTEN " NOTIFY_CHANNEL, 0, NULL, NULL, &err) == NULL)
		{
			log_msg(LOG_WARNING, "could not listen for notifications: %s", err.msg);
			return NULL;
		}
		w->listen_conn = c;
		w->listen_pid = PQbackendPID(c);
		w->reclaim_at_ms = 0;
		w->wake = true;
	}
	return c;
}

/*
 * Drain the connection's notifications; true when any arrived.  Those
 * libpq read during our own queries are already buffered: look at them
 * even when the socket has nothing new.
 */
static bool
drain_notifies(PGconn *c)
{
	PGnotify   *n;
	bool		any = false;

	if (c == NULL)
		return false;
	while ((n = PQnotifies(c)) != NULL)
	{
		any = true;
		PQfreemem(n);
	}
	if (PQconsumeInput(c) == 0)
		return any;				/* db_conn notices the broken connection */
	while ((n = PQnotifies(c)) != NULL)
	{
		any = true;
		PQfreemem(n);
	}
	return any;
}

/* Give back claims of transfers we stop (shutdown): not an attempt. */
static void
abandon_all(notify_worker *w, arena *a)
{
	while (w->inflight != NULL)
	{
		notify_xfer *x = w->inflight;
		char		id[24], attempts[16];
		const char *params[2] = {id, attempts};
		derms_err	err;

		w->inflight = x->next;
		w->ninflight--;
		curl_multi_remove_handle(w->multi, x->easy);
		snprintf(id, sizeof(id), "%" PRId64, x->id);
		snprintf(attempts, sizeof(attempts), "%d", x->attempts);
		if (db_exec(w->db, a,
					"UPDATE notify_outbox SET claimed_by = NULL,"
					" attempts = attempts - 1, next_attempt_at = now()"
					" WHERE id = $1 AND state = 'pending' AND attempts = $2",
					2, params, NULL, &err) == NULL)
			log_msg(LOG_WARNING, "could not release notification %s: %s", id, err.msg);
		xfer_free(x);
	}
}

/* Re-read the configuration; keep the old one when the new is invalid. */
static void
reload(notify_worker *w, const char *path)
{
	derms_config next;
	notify_policy p;
	derms_err	err;

	if (config_load(path, &next, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "could not read the configuration: %s", err.msg);
		return;
	}
	if (config_keep_restart(&next, &w->cfg, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "could not apply the configuration: %s", err.msg);
		config_free(&next);
		return;
	}
	if (!policy_from(&next, &p))
	{
		config_free(&next);
		return;
	}
	config_free(&w->cfg);
	w->cfg = next;
	w->policy = p;
	log_set_level(w->cfg.log_level);
	db_set_conninfo(w->db, w->cfg.db_conninfo, w->cfg.db_reconnect_max_ms);
	w->wake = true;
	log_msg(LOG_INFO, "reloaded; delivering with the new configuration");
}

/* Sleep until a socket is ready, a timer is due or a signal came. */
static void
wait_events(notify_worker *w, PGconn *c, const sigset_t *oldmask, uint64_t now,
			arena *a, bool claiming, bool urgent)
{
	struct pollfd fds[NOTIFY_MAX_SOCKS + 2];
	uint64_t	until = now + NOTIFY_IDLE_MS;
	struct timespec ts;
	int			n = 0;
	int			pgfd = c ? PQsocket(c) : -1;
	int			first_curl;
	int			mqtt_fd;

	if (claiming && c != NULL && drain_notifies(c))
		w->wake = true;
	if (claiming)
		until = w->wake ? now : (w->claim_at_ms < until ? w->claim_at_ms : until);
	if (c == NULL && until > now + NOTIFY_DB_RETRY_MS)
		until = now + NOTIFY_DB_RETRY_MS;
	if (w->curl_timer && w->curl_at_ms < until)
		until = w->curl_at_ms;
	if (urgent)
		until = now;
	if (w->mqtt != NULL && w->mqtt_at_ms < until)
		until = w->mqtt_at_ms > now ? w->mqtt_at_ms : now;
	if (pgfd >= 0)
	{
		fds[n].fd = pgfd;
		fds[n].events = POLLIN;
		fds[n].revents = 0;
		n++;
	}
	first_curl = n;
	for (int i = 0; i < w->nsocks; i++, n++)
	{
		fds[n].fd = w->socks[i].fd;
		fds[n].events = w->socks[i].events;
		fds[n].revents = 0;
	}
	mqtt_fd = w->mqtt ? notify_mqtt_pollfd(w->mqtt, &fds[n].events) : -1;
	if (mqtt_fd >= 0)
	{
		fds[n].fd = mqtt_fd;
		fds[n].revents = 0;
		n++;
	}
	ts.tv_sec = (time_t) ((until > now ? until - now : 0) / 1000);
	ts.tv_nsec = (long) ((until > now ? until - now : 0) % 1000) * 1000000L;
	if (ppoll(fds, (nfds_t) n, &ts, oldmask) < 0 && errno != EINTR)
		log_msg(LOG_WARNING, "ppoll failed: %s", strerror(errno));

	if (pgfd >= 0 && fds[0].revents && drain_notifies(c))
		w->wake = true;
	if (mqtt_fd >= 0 && fds[n - 1].revents)
		notify_mqtt_io(w->mqtt, fds[n - 1].revents);
	for (int i = first_curl; i < n - (mqtt_fd >= 0); i++)
	{
		int			ev = 0;
		int			running;

		if (fds[i].revents == 0)
			continue;
		if (fds[i].revents & POLLIN)
			ev |= CURL_CSELECT_IN;
		if (fds[i].revents & POLLOUT)
			ev |= CURL_CSELECT_OUT;
		if (fds[i].revents & (POLLERR | POLLHUP | POLLNVAL))
			ev |= CURL_CSELECT_ERR;
		curl_multi_socket_action(w->multi, fds[i].fd, ev, &running);
	}
	if (w->curl_timer && now_ms() >= w->curl_at_ms)
	{
		int			running;

		w->curl_timer = false;
		curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	}
	harvest(w, a);
}

int
notify_main(derms_config *cfg, const worker_env *env)
{
	notify_worker *w;
	sigset_t	oldmask;
	uint64_t	term_at = 0;
	int			rc = DERMS_EXIT_OK;
	char	   *config_path;

	notify_signals(&oldmask);
	log_set_level(cfg->log_level);
	srandom((unsigned) getpid() ^ (unsigned) time(NULL));
	/* env's path may be the config's own string, which a reload frees */
	config_path = strdup(env->config_path);
	w = calloc(1, sizeof(*w));
	if (w == NULL || config_path == NULL)
	{
		free(w);
		free(config_path);
		return DERMS_EXIT_FAILURE;
	}
	/* the forked copy of the supervisor's configuration is ours now */
	w->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (!policy_from(&w->cfg, &w->policy))
	{
		config_free(&w->cfg);
		free(w);
		free(config_path);
		return DERMS_EXIT_CONFIG;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
		(w->multi = curl_multi_init()) == NULL ||
		(w->db = db_create(w->cfg.db_conninfo, w->cfg.db_reconnect_max_ms)) == NULL)
	{
		log_msg(LOG_ERR, "could not start the notify worker: out of memory");
		if (w->multi)
			curl_multi_cleanup(w->multi);
		config_free(&w->cfg);
		free(w);
		free(config_path);
		return DERMS_EXIT_FAILURE;
	}
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
	if (w->cfg.mqtt_enabled)
	{
		derms_err	err;

		if ((w->mqtt = notify_mqtt_create(&w->cfg, &err)) == NULL)
			log_msg(LOG_ERR, "MQTT publishing is off: %s", err.msg);
	}
	metrics_set_ready(true);

	for (;;)
	{
		arena	   *a = arena_create(0);
		uint64_t	now = now_ms();
		PGconn	   *c;

		if (a == NULL)
		{
			rc = DERMS_EXIT_FAILURE;
			break;
		}
		if (n_term && term_at == 0)
		{
			term_at = now;
			metrics_set_ready(false);
			if (w->ninflight > 0)
				log_msg(LOG_INFO, "stopping; waiting for %d delivery(ies)", w->ninflight);
		}
		if (term_at)
		{
			uint64_t	grace = (uint64_t) (w->cfg.shutdown_timeout_s > 1 ?
											w->cfg.shutdown_timeout_s - 1 : 1) * 1000;

			if (w->ninflight == 0 || now - term_at >= grace)
			{
				abandon_all(w, a);
				notify_mqtt_destroy(w->mqtt, w->db, a);
				w->mqtt = NULL;
				arena_destroy(a);
				break;
			}
		}
		if (n_hup)
		{
			n_hup = 0;
			reload(w, config_path);
		}
		c = ensure_listening(w, a);
		if (c != NULL)
		{
			if (drain_notifies(c))
				w->wake = true;
			housekeeping(w, a, now);
			if (w->mqtt != NULL)
				w->mqtt_at_ms = notify_mqtt_turn(w->mqtt, w->db, a, now, w->wake,
												 !term_at);
			if (!term_at && (w->wake || now >= w->claim_at_ms) &&
				w->ninflight < NOTIFY_MAX_INFLIGHT)
				claim(w, a, now);
			/* the connection may have broken meanwhile */
			c = db_is_up(w->db) ? c : NULL;
		}
		wait_events(w, c, &oldmask, now_ms(), a,
					c != NULL && !term_at && w->ninflight < NOTIFY_MAX_INFLIGHT,
					n_hup || (n_term && !term_at));
		arena_destroy(a);
	}

	curl_multi_cleanup(w->multi);
	curl_global_cleanup();
	db_destroy(w->db);
	config_free(&w->cfg);
	free(w);
	free(config_path);
	return rc;
}
