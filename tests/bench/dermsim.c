/*
 * tests/bench/dermsim.c
 *	  dermsim: a fleet of simulated IEEE 2030.5 devices for benchmarks,
 *	  tests and `make run`.  Each device has its own certificate and its
 *	  own keep-alive TLS 1.2 connection (ECDHE-ECDSA-AES128-CCM8, as CSIP
 *	  clients), discovers from /dcap, registers itself (--register), then
 *	  polls its resources every --poll-rate seconds.
 *
 *	  dermsim --url https://127.0.0.1:PORT --pki DIR --devices N
 *	          [--connections C] [--duration S] [--poll-rate S] [--ramp S]
 *	          [--register] [--report-every S] [--fresh] [--threads T] ...
 *	  (dermsim --help lists every option.)
 *
 * NOTES
 *	  One process, --threads worker threads, each running its share of the
 *	  devices on an epoll loop that drives libcurl's multi interface
 *	  (curl_multi_socket_action).  libcurl looks for a reusable connection
 *	  by walking the idle connections to the same host in its multi
 *	  handle, so every device connects through a host name of its own
 *	  (CURLOPT_CONNECT_TO + CURLOPT_RESOLVE to the URL's address; TLS still
 *	  verifies the URL's host): its connection is the only one it can
 *	  find or reuse.  Devices are also spread over small multi handles
 *	  ("groups", --group-size) to keep each handle's tables small.
 *	  libcurl makes a new OpenSSL SSL_CTX for every connection;
 *	  sim_on_ssl_ctx fills it with the device's certificate and key and the
 *	  trust store, parsed once (OpenSSL 3's PEM decoding costs more than
 *	  the handshake), so a handshake costs the client about 1-2 ms of CPU.
 *
 *	  A device is a small state machine: DISCOVER (GET /dcap), REGISTER
 *	  (POST its own EndDevice to the EndDeviceListLink) or FIND (GET the
 *	  list and take the EndDevice it may see), then POLL.  What it polls is
 *	  the table sim_polls[]: one cycle runs the entries in order on the
 *	  keep-alive connection, then the device sleeps --poll-rate seconds
 *	  (+-10 % jitter); the first cycles wait for the end of --ramp, so
 *	  the fleet connects first and polls afterwards.  Setup requests that
 *	  fail are retried after 1 s.
 *	  A device's battery model moves with time; its state is shown in the
 *	  reports and is what the telemetry entries will send.
 *
 *	  Latency is measured from handing a request to libcurl to its last
 *	  byte; with --connections below the device count a request may wait
 *	  for a slot first, and that wait is not included (the report counts
 *	  such deferrals).  The final summary's rate and percentiles cover the
 *	  steady window: from the moment every device is polling (or half the
 *	  post-ramp time, if some never get there) to the end.
 *
 *	  Exit status: 0 when the run completed (errors are reported, not
 *	  fatal), 1 when it could not start, 2 on a usage error.  Only loopback
 *	  URLs are accepted unless --allow-remote is given.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/ssl.h>

#include "protocols/sep2/xml.h"
#include "server/arena.h"
#include "server/err.h"
#include "server/identity.h"
#include "server/pki.h"

#include "dermsim_der.h"
#include "dermsim_fleet.h"
#include "dermsim_stats.h"

#define SIM_CIPHER "ECDHE-ECDSA-AES128-CCM8"
#define SIM_CT "application/sep+xml"
#define SIM_PATH_MAX 256
#define SIM_BODY_MAX (16 * 1024)	/* response bytes kept for parsing */
#define SIM_JITTER 0.10			/* +- fraction of the poll period */
#define SIM_RETRY_S 1.0			/* a failed setup step waits this long */
#define SIM_GRACE_S 3.0			/* in-flight requests may finish after the end */
#define SIM_FD_SPARE 64			/* descriptors beyond the sockets */
#define SIM_EVENTS 512

/* ---- options ---- */

typedef struct sim_opts
{
	const char *url;			/* https://HOST:PORT, no path */
	const char *pki;
	int			devices;
	int			connections;	/* requests in flight at once */
	double		duration;
	double		poll_rate;
	double		ramp;
	double		report_every;
	double		timeout;
	bool		do_register;
	bool		fresh;			/* a new connection for every request */
	bool		allow_remote;
	int			threads;
	int			group_size;
	int			jobs;			/* certificate issuing processes */
	uint64_t	seed;
	bool		der;			/* DER programs, controls, status, telemetry */
	double		der_poll_rate;	/* > 0: overrides the programs' pollRate */
	double		post_rate;		/* > 0: overrides the EndDevice's postRate */
} sim_opts;

/* ---- devices ---- */

typedef enum sim_state
{
	SIM_DISCOVER,				/* GET /dcap */
	SIM_REGISTER,				/* POST EndDevice to the list */
	SIM_FIND,					/* GET the list, take our EndDevice */
	SIM_DISC_EDEV,				/* --der: GET our EndDevice: FSA, DERs, postRate */
	SIM_DISC_FSA,				/* GET the FSA list: the DERProgramList */
	SIM_DISC_DER,				/* GET the DERList: status, availability */
	SIM_DISC_MUP,				/* POST our MirrorUsagePoint */
	SIM_POLL					/* the sim_polls[] cycle */
} sim_state;

/* When a sim_polls[] entry runs: bits of sim_device.cycle */
#define SIM_EVERY_POLL 0x1u		/* every --poll-rate */
#define SIM_EVERY_DER 0x2u		/* every DER pollRate (--der) */
#define SIM_EVERY_POST 0x4u		/* every postRate (--der) */

typedef struct sim_group sim_group;
typedef struct sim_worker sim_worker;

typedef struct sim_device
{
	int			index;
	CURL	   *easy;
	sim_group  *group;
	sim_cred	cred;
	struct curl_slist *resolve; /* CURLOPT_RESOLVE, new */
	struct curl_slist *connect_to;	/* CURLOPT_CONNECT_TO, new */
	sim_state	state;
	int			step;			/* index in sim_polls[] within a cycle */
	int			failures;		/* consecutive, for setup retries */
	bool		in_flight;
	double		due;			/* next start, monotonic s */
	double		started;		/* of the request in flight */
	long		expect;			/* HTTP status expected */
	char		edev_list[SIM_PATH_MAX];	/* from /dcap */
	char		edev[SIM_PATH_MAX]; /* our EndDevice */
	char	   *req_body;		/* POST/PUT body in flight, new */
	char	   *resp;			/* response kept for parsing, new; NULL: discard */
	size_t		resp_len;
	char		location[SIM_PATH_MAX];
	sim_battery battery;
	uint64_t	rng;
	sim_der    *der;			/* --der only, new */
	unsigned	cycle;			/* SIM_EVERY_* classes due in this cycle */
	double		poll_due;		/* when each class is due next, monotonic s */
	double		der_due;
	double		post_due;
} sim_device;

/*
 * What a polling device does each cycle, in order.  path() writes the
 * path into buf (false: skip the entry for this device), body() builds a
 * new request body (NULL for GET), on_body() reads the answer (NULL:
 * the body is discarded unread).
 */
typedef struct sim_poll
{
	const char *name;
	const char *method;
	long		expect;
	unsigned	when;			/* SIM_EVERY_* class */
	bool		(*path) (const sim_device *d, char *buf, size_t size);
	char	   *(*body) (sim_device *d);
	void		(*on_body) (sim_device *d, const char *body, size_t len);
	bool		(*more) (const sim_device *d);	/* run the entry again */
} sim_poll;

static bool sim_path_edev(const sim_device *d, char *buf, size_t size);
static bool sim_path_derp(const sim_device *d, char *buf, size_t size);
static void sim_on_derp(sim_device *d, const char *body, size_t len);
static bool sim_path_derc(const sim_device *d, char *buf, size_t size);
static void sim_on_derc(sim_device *d, const char *body, size_t len);
static bool sim_more_derc(const sim_device *d);
static bool sim_path_rsp(const sim_device *d, char *buf, size_t size);
static char *sim_body_rsp(sim_device *d);
static void sim_on_rsp(sim_device *d, const char *body, size_t len);
static bool sim_more_rsp(const sim_device *d);
static bool sim_path_ders(const sim_device *d, char *buf, size_t size);
static char *sim_body_ders(sim_device *d);
static void sim_on_ders(sim_device *d, const char *body, size_t len);
static bool sim_path_dera(const sim_device *d, char *buf, size_t size);
static char *sim_body_dera(sim_device *d);
static void sim_on_dera(sim_device *d, const char *body, size_t len);
static bool sim_path_mmr(const sim_device *d, char *buf, size_t size);
static char *sim_body_mmr(sim_device *d);
static void sim_on_mmr(sim_device *d, const char *body, size_t len);

/*
 * In order within a cycle.  Entries whose class is not due, or whose
 * path() says there is nothing to do, are skipped; more() repeats an
 * entry (one GET per program, one POST per Response owed).
 */
static const sim_poll sim_polls[] = {
	{"edev", "GET", 200, SIM_EVERY_POLL, sim_path_edev, NULL, NULL, NULL},
	{"derp", "GET", 200, SIM_EVERY_DER, sim_path_derp, NULL, sim_on_derp, NULL},
	{"derc", "GET", 200, SIM_EVERY_DER, sim_path_derc, NULL, sim_on_derc, sim_more_derc},
	{"rsp", "POST", 201, SIM_EVERY_DER, sim_path_rsp, sim_body_rsp, sim_on_rsp, sim_more_rsp},
	{"ders", "PUT", 204, SIM_EVERY_POST, sim_path_ders, sim_body_ders, sim_on_ders, NULL},
	{"dera", "PUT", 204, SIM_EVERY_POST, sim_path_dera, sim_body_dera, sim_on_dera, NULL},
	{"mmr", "POST", 201, SIM_EVERY_POST, sim_path_mmr, sim_body_mmr, sim_on_mmr, NULL},
};

#define SIM_NPOLLS ((int) (sizeof(sim_polls) / sizeof(sim_polls[0])))

/* ---- groups and workers ---- */

/* A socket libcurl asked us to watch. */
typedef struct sim_sock
{
	curl_socket_t fd;
	sim_group  *group;
	bool		in_epoll;
	bool		removed;		/* libcurl is done with it: ignore events */
} sim_sock;

struct sim_group
{
	CURLM	   *multi;
	sim_worker *worker;
	double		deadline;		/* libcurl's timer, monotonic s; < 0: none */
	bool		dirty;			/* transfers may have finished */
};

/* Min-heap of devices by due time. */
typedef struct sim_heap
{
	sim_device **items;
	int			len;
	int			cap;
} sim_heap;

struct sim_worker
{
	int			index;
	pthread_t	thread;
	int			ep;				/* epoll */
	sim_group  *groups;
	int			ngroups;
	sim_device *devices;		/* borrowed slice of the global array */
	int			ndevices;
	sim_heap	heap;
	int			in_flight;
	int			max_in_flight;
	double		end;			/* stop starting requests */
	sim_sock  **dead;			/* sockets libcurl let go of, freed after */
	int			ndead;			/* the current batch of epoll events */
	int			dead_cap;

	pthread_mutex_t mu;			/* guards everything below */
	sim_stats	interval;
	sim_stats	total;
	sim_stats	steady;
	uint64_t	deferred;		/* starts delayed by --connections */
	uint64_t	registered;
	int			polling;		/* devices in SIM_POLL */
	double		soc_sum;		/* state of charge at each finished cycle */
	uint64_t	soc_n;			/* cycles in soc_sum */
	sim_der_counts der;			/* --der: what the devices did */
};

/* ---- globals (set before the workers start) ---- */

static sim_opts opts;
static struct curl_slist *sim_sep2_headers;
static X509_STORE *sim_trust;	/* ca.pem: what the server must chain to */
static X509 *sim_intermediate;	/* sent after each device's leaf */
static char sim_connect_ip[64]; /* the URL host's address */
static int	sim_port;
static volatile sig_atomic_t sim_stop_requested;
static atomic_int sim_polling_total;
static atomic_bool sim_steady;		/* steady window has begun */
static double sim_t0;

static double
sim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* ---- heap ---- */

static void
sim_heap_swap(sim_heap *h, int a, int b)
{
	sim_device *t = h->items[a];

	h->items[a] = h->items[b];
	h->items[b] = t;
}

static bool
sim_heap_push(sim_heap *h, sim_device *d)
{
	int			i;

	if (h->len == h->cap)
	{
		int			ncap = h->cap ? h->cap * 2 : 64;
		sim_device **n = realloc(h->items, sizeof(*n) * (size_t) ncap);

		if (n == NULL)
			return false;
		h->items = n;
		h->cap = ncap;
	}
	i = h->len++;
	h->items[i] = d;
	while (i > 0 && h->items[(i - 1) / 2]->due > h->items[i]->due)
	{
		sim_heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
	return true;
}

static sim_device *
sim_heap_pop(sim_heap *h)
{
	sim_device *top;
	int			i = 0;

	if (h->len == 0)
		return NULL;
	top = h->items[0];
	h->items[0] = h->items[--h->len];
	for (;;)
	{
		int			l = 2 * i + 1, r = l + 1, m = i;

		if (l < h->len && h->items[l]->due < h->items[m]->due)
			m = l;
		if (r < h->len && h->items[r]->due < h->items[m]->due)
			m = r;
		if (m == i)
			break;
		sim_heap_swap(h, i, m);
		i = m;
	}
	return top;
}

/* ---- poll table entries ---- */

static bool
sim_path_edev(const sim_device *d, char *buf, size_t size)
{
	/* our EndDevice when we know it, else the list we may see */
	snprintf(buf, size, "%s", d->edev[0] ? d->edev : d->edev_list);
	return buf[0] != '\0';
}

/* ---- the DER side of a polling device (--der) ---- */

/* Add to one of d's worker's DER counters. */
#define SIM_DER_COUNT(d, field, n) \
	do { \
		sim_worker *w_ = (d)->group->worker; \
		pthread_mutex_lock(&w_->mu); \
		w_->der.field += (n); \
		pthread_mutex_unlock(&w_->mu); \
	} while (0)

static bool
sim_path_derp(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->derp_list[0] == '\0')
		return false;
	snprintf(buf, size, "%s?l=%d", d->der->derp_list, SIM_MAX_PROGRAMS);
	return true;
}

static void
sim_on_derp(sim_device *d, const char *body, size_t len)
{
	arena	   *a = arena_create(8192);

	if (a == NULL)
		return;
	sim_der_on_derp(d->der, a, body, len, opts.der_poll_rate > 0);
	arena_destroy(a);
	SIM_DER_COUNT(d, derp, 1);
}

static bool
sim_path_derc(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->prog_at >= d->der->nprograms)
		return false;
	snprintf(buf, size, "%s?l=%d", d->der->actderc[d->der->prog_at], SIM_MAX_CONTROLS);
	return true;
}

static void
sim_on_derc(sim_device *d, const char *body, size_t len)
{
	arena	   *a = arena_create(16384);
	int			fresh;

	d->der->prog_at++;
	if (a == NULL)
		return;
	fresh = sim_der_on_derc(d->der, a, body, len, sim_wall());
	arena_destroy(a);
	/* a control with a target drives the battery while it lasts */
	if (d->der->target_until > sim_wall())
		sim_battery_force(&d->battery, -d->der->target_w,
						  sim_now() + (double) (d->der->target_until - sim_wall()));
	pthread_mutex_lock(&d->group->worker->mu);
	d->group->worker->der.derc++;
	if (fresh > 0)
		d->group->worker->der.controls += (uint64_t) fresh;
	pthread_mutex_unlock(&d->group->worker->mu);
}

static bool
sim_more_derc(const sim_device *d)
{
	return d->der->prog_at < d->der->nprograms;
}

static bool
sim_path_rsp(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->npending == 0)
		return false;
	snprintf(buf, size, "%s", d->der->pending[0].reply_to);
	return true;
}

static char *
sim_body_rsp(sim_device *d)
{
	return sim_der_rsp_body(d->der, d->cred.id.lfdi);
}

static void
sim_on_rsp(sim_device *d, const char *body, size_t len)
{
	int			st = d->der->pending[0].status;

	(void) body;
	(void) len;
	sim_der_rsp_done(d->der);
	SIM_DER_COUNT(d, rsp[st], 1);
}

static bool
sim_more_rsp(const sim_device *d)
{
	return d->der->npending > 0;
}

static bool
sim_path_ders(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->ders[0] == '\0')
		return false;
	snprintf(buf, size, "%s", d->der->ders);
	return true;
}

static char *
sim_body_ders(sim_device *d)
{
	return sim_der_status_body(&d->battery);
}

static void
sim_on_ders(sim_device *d, const char *body, size_t len)
{
	(void) body;
	(void) len;
	SIM_DER_COUNT(d, ders, 1);
}

static bool
sim_path_dera(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->dera[0] == '\0')
		return false;
	snprintf(buf, size, "%s", d->der->dera);
	return true;
}

static char *
sim_body_dera(sim_device *d)
{
	return sim_der_avail_body(&d->battery);
}

static void
sim_on_dera(sim_device *d, const char *body, size_t len)
{
	(void) body;
	(void) len;
	SIM_DER_COUNT(d, dera, 1);
}

static bool
sim_path_mmr(const sim_device *d, char *buf, size_t size)
{
	if (d->der == NULL || d->der->mup[0] == '\0')
		return false;
	snprintf(buf, size, "%s", d->der->mup);
	return true;
}

static char *
sim_body_mmr(sim_device *d)
{
	return sim_der_mmr_body(d->der, &d->battery, d->cred.id.lfdi);
}

static void
sim_on_mmr(sim_device *d, const char *body, size_t len)
{
	(void) body;
	(void) len;
	pthread_mutex_lock(&d->group->worker->mu);
	d->group->worker->der.mmr++;
	d->group->worker->der.readings += 2;
	pthread_mutex_unlock(&d->group->worker->mu);
}

/* ---- libcurl callbacks ---- */

static size_t
sim_on_write(char *data, size_t size, size_t n, void *arg)
{
	sim_device *d = arg;
	size_t		add = size * n;

	if (d->resp != NULL && d->resp_len < SIM_BODY_MAX)
	{
		size_t		take = add;

		if (take > SIM_BODY_MAX - d->resp_len)
			take = SIM_BODY_MAX - d->resp_len;
		memcpy(d->resp + d->resp_len, data, take);
		d->resp_len += take;
		d->resp[d->resp_len] = '\0';
	}
	return add;
}

static size_t
sim_on_header(char *data, size_t size, size_t n, void *arg)
{
	sim_device *d = arg;
	size_t		len = size * n;

	if (len > 9 && strncasecmp(data, "Location:", 9) == 0)
	{
		const char *v = data + 9;
		size_t		vlen;

		while (v < data + len && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t) (data + len - v);
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
							v[vlen - 1] == ' '))
			vlen--;
		if (vlen < sizeof(d->location))
		{
			memcpy(d->location, v, vlen);
			d->location[vlen] = '\0';
		}
	}
	return len;
}

/*
 * libcurl made a new SSL_CTX for a connection of device arg: give it the
 * device's certificate, key and chain, and the shared trust store, all
 * parsed once; idle connections give their 16+ KiB TLS buffers back.
 */
static CURLcode
sim_on_ssl_ctx(CURL *easy, void *ssl_ctx, void *arg)
{
	sim_device *d = arg;
	SSL_CTX    *ctx = ssl_ctx;

	(void) easy;
	if (!sim_cred_parse(&d->cred))
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate(ctx, d->cred.x509) != 1 ||
		SSL_CTX_use_PrivateKey(ctx, d->cred.pkey) != 1 ||
		(sim_intermediate && SSL_CTX_add1_chain_cert(ctx, sim_intermediate) != 1))
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set1_cert_store(ctx, sim_trust);
	return CURLE_OK;
}

static int
sim_on_socket(CURL *easy, curl_socket_t fd, int what, void *arg, void *sockp)
{
	sim_group  *g = arg;
	sim_sock   *s = sockp;
	struct epoll_event ev;

	(void) easy;
	if (what == CURL_POLL_REMOVE)
	{
		if (s)
		{
			sim_worker *w = g->worker;

			if (s->in_epoll)
				epoll_ctl(w->ep, EPOLL_CTL_DEL, fd, NULL);
			curl_multi_assign(g->multi, fd, NULL);
			/* events for it may still wait in this batch: free it after */
			s->removed = true;
			if (w->ndead == w->dead_cap)
			{
				int			ncap = w->dead_cap ? w->dead_cap * 2 : 64;
				sim_sock  **n = realloc(w->dead, sizeof(*n) * (size_t) ncap);

				if (n == NULL)
					return -1;
				w->dead = n;
				w->dead_cap = ncap;
			}
			w->dead[w->ndead++] = s;
		}
		return 0;
	}
	if (s == NULL)
	{
		s = calloc(1, sizeof(*s));
		if (s == NULL)
			return -1;
		s->fd = fd;
		s->group = g;
		curl_multi_assign(g->multi, fd, s);
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
	ev.data.ptr = s;
	if (s->in_epoll)
		return epoll_ctl(g->worker->ep, EPOLL_CTL_MOD, fd, &ev) == 0 ? 0 : -1;
	if (epoll_ctl(g->worker->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
	{
		/* a descriptor number reused before libcurl told us it closed */
		if (errno != EEXIST || epoll_ctl(g->worker->ep, EPOLL_CTL_MOD, fd, &ev) != 0)
			return -1;
	}
	s->in_epoll = true;
	return 0;
}

static int
sim_on_timer(CURLM *multi, long timeout_ms, void *arg)
{
	sim_group  *g = arg;

	(void) multi;
	g->deadline = timeout_ms < 0 ? -1.0 : sim_now() + (double) timeout_ms / 1000.0;
	return 0;
}

/* ---- device requests ---- */

/* The EndDevice registration body, new; NULL when out of memory. */
static char *
sim_edev_body(const sim_device *d)
{
	arena	   *a = arena_create(1024);
	sep2_xw    *w;
	const char *doc;
	size_t		len;
	char		sfdi[24];
	char	   *out = NULL;
	derms_err	err;

	if (a == NULL)
		return NULL;
	w = sep2_xw_new(a);
	if (w != NULL)
	{
		snprintf(sfdi, sizeof(sfdi), "%" PRIu64, d->cred.id.sfdi);
		sep2_xw_open(w, "EndDevice", (char *) NULL);
		sep2_xw_text(w, "lFDI", d->cred.id.lfdi);
		sep2_xw_text(w, "sFDI", sfdi);
		sep2_xw_text(w, "changedTime", "0");
		sep2_xw_close(w);
		if (sep2_xw_finish(w, &doc, &len, &err) == DERMS_OK)
			out = strndup(doc, len);
	}
	arena_destroy(a);
	return out;
}

/* The href attribute of the first <name> child of the root <root>. */
static bool
sim_find_href(const char *body, size_t len, const char *root, const char *name,
			  char *out, size_t size)
{
	arena	   *a = arena_create(4096);
	xmlDocPtr	doc;
	xmlNodePtr	r, child;
	bool		ok = false;

	if (a == NULL)
		return false;
	if (len > 0 && sep2_xml_parse(a, body, len, &doc, NULL) == DERMS_OK &&
		sep2_xml_root(doc, root, &r, NULL) == DERMS_OK &&
		(child = sep2_xml_child(r, name)) != NULL)
	{
		xmlChar    *href = xmlGetProp(child, (const xmlChar *) "href");

		if (href && href[0] == '/' && strlen((const char *) href) < size)
		{
			snprintf(out, size, "%s", (const char *) href);
			ok = true;
		}
		xmlFree(href);
	}
	arena_destroy(a);
	return ok;
}

static void
sim_record(sim_worker *w, const sim_device *d, double now, sim_err_kind kind,
		   long status, bool handshake, double hs_s)
{
	uint64_t	us = (uint64_t) ((now - d->started) * 1e6);
	sim_stats  *sets[3] = {&w->interval, &w->total, &w->steady};
	int			nsets = atomic_load_explicit(&sim_steady, memory_order_relaxed) ? 3 : 2;

	pthread_mutex_lock(&w->mu);
	for (int i = 0; i < nsets; i++)
	{
		sim_stats  *s = sets[i];

		s->requests++;
		if (kind != SIM_ERR_NONE)
			s->errors[kind]++;
		if (kind == SIM_ERR_HTTP && status > 0 && status < SIM_STATUS_MAX)
			s->status[status]++;
		sim_hist_add(&s->latency, us);
		if (handshake)
		{
			s->handshakes++;
			sim_hist_add(&s->handshake, (uint64_t) (hs_s * 1e6));
		}
	}
	pthread_mutex_unlock(&w->mu);
}

/* Next cycle start: poll-rate seconds away, with jitter. */
static double
sim_next_poll(sim_device *d, double now)
{
	double		j;

	if (opts.poll_rate <= 0)
		return now;
	j = 1.0 + SIM_JITTER * (2.0 * sim_rand01(&d->rng) - 1.0);
	return now + opts.poll_rate * j;
}

/* now + rate seconds, +- SIM_JITTER; now when rate is 0 */
static double
sim_jittered(sim_device *d, double now, double rate)
{
	if (rate <= 0)
		return now;
	return now + rate * (1.0 + SIM_JITTER * (2.0 * sim_rand01(&d->rng) - 1.0));
}

/* Which classes of sim_polls[] are due now. */
static void
sim_cycle_begin(sim_device *d, double now)
{
	d->cycle = now >= d->poll_due ? SIM_EVERY_POLL : 0;
	if (d->der != NULL)
	{
		if (now >= d->der_due)
		{
			d->cycle |= SIM_EVERY_DER;
			sim_der_tick(d->der, sim_wall());
		}
		if (now >= d->post_due)
			d->cycle |= SIM_EVERY_POST;
	}
}

/*
 * The first entry from step on that runs in this cycle, its path in buf;
 * SIM_NPOLLS when none is left.
 */
static int
sim_next_step(const sim_device *d, int step, char *buf, size_t size)
{
	while (step < SIM_NPOLLS &&
		   (!(sim_polls[step].when & d->cycle) || !sim_polls[step].path(d, buf, size)))
		step++;
	return step;
}

/* The cycle is over (or failed): plan the next one. */
static void
sim_cycle_end(sim_worker *w, sim_device *d, double now)
{
	if (d->cycle & SIM_EVERY_POLL)
		d->poll_due = sim_next_poll(d, now);
	if (d->cycle & SIM_EVERY_DER)
		d->der_due = sim_jittered(d, now, d->der->der_rate);
	if (d->cycle & SIM_EVERY_POST)
		d->post_due = sim_jittered(d, now, d->der->post_rate);
	d->step = 0;
	d->cycle = 0;
	sim_battery_step(&d->battery, &d->rng, now);
	pthread_mutex_lock(&w->mu);
	w->soc_sum += d->battery.soc;
	w->soc_n++;
	pthread_mutex_unlock(&w->mu);
	d->due = d->poll_due;
	if (d->der != NULL)
		d->due = fmin(d->due, fmin(d->der_due, d->post_due));
}

/* Configure d's handle for its next request and hand it to libcurl. */
static bool
sim_start(sim_worker *w, sim_device *d, double now)
{
	char		path[SIM_PATH_MAX];
	char		url[SIM_PATH_MAX + 256];
	const char *method = "GET";
	bool		keep_body = false;

	free(d->req_body);
	d->req_body = NULL;
	d->location[0] = '\0';
	switch (d->state)
	{
		case SIM_DISCOVER:
			snprintf(path, sizeof(path), "/dcap");
			keep_body = true;
			d->expect = 200;
			break;
		case SIM_REGISTER:
			snprintf(path, sizeof(path), "%s", d->edev_list);
			method = "POST";
			d->req_body = sim_edev_body(d);
			if (d->req_body == NULL)
				return false;
			d->expect = 201;
			break;
		case SIM_FIND:
			snprintf(path, sizeof(path), "%s", d->edev_list);
			keep_body = true;
			d->expect = 200;
			break;
		case SIM_DISC_EDEV:
		case SIM_DISC_FSA:
		case SIM_DISC_DER:
			snprintf(path, sizeof(path), "%s", d->state == SIM_DISC_EDEV ? d->edev :
					 d->state == SIM_DISC_FSA ? d->der->fsa_list : d->der->der_list);
			keep_body = true;
			d->expect = 200;
			break;
		case SIM_DISC_MUP:
			snprintf(path, sizeof(path), "%s", d->der->mup_list);
			method = "POST";
			d->req_body = sim_der_mup_body(d->cred.id.lfdi);
			if (d->req_body == NULL)
				return false;
			d->expect = 201;
			break;
		case SIM_POLL:
			{
				const sim_poll *p;

				if (d->step == 0 && d->cycle == 0)
					sim_cycle_begin(d, now);
				d->step = sim_next_step(d, d->step, path, sizeof(path));
				if (d->step >= SIM_NPOLLS)
				{
					/* nothing (more) to do in this cycle: sleep */
					sim_cycle_end(w, d, now);
					return true;
				}
				p = &sim_polls[d->step];
				method = p->method;
				keep_body = p->on_body != NULL;
				d->expect = p->expect;
				if (p->body)
				{
					d->req_body = p->body(d);
					if (d->req_body == NULL)
						return false;
				}
				break;
			}
	}
	if (keep_body && d->resp == NULL)
		d->resp = malloc(SIM_BODY_MAX + 1);
	else if (!keep_body && d->resp != NULL)
	{
		free(d->resp);
		d->resp = NULL;
	}
	d->resp_len = 0;
	if (d->resp)
		d->resp[0] = '\0';

	snprintf(url, sizeof(url), "%s%s", opts.url, path);
	curl_easy_setopt(d->easy, CURLOPT_URL, url);
	if (d->req_body)
	{
		curl_easy_setopt(d->easy, CURLOPT_POSTFIELDS, d->req_body);
		curl_easy_setopt(d->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(d->req_body));
		curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, sim_sep2_headers);
		curl_easy_setopt(d->easy, CURLOPT_CUSTOMREQUEST,
						 strcmp(method, "POST") == 0 ? NULL : method);
	}
	else
	{
		curl_easy_setopt(d->easy, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(d->easy, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(d->easy, CURLOPT_CUSTOMREQUEST,
						 strcmp(method, "GET") == 0 ? NULL : method);
	}
	d->started = now;
	if (curl_multi_add_handle(d->group->multi, d->easy) != CURLM_OK)
		return false;
	d->in_flight = true;
	w->in_flight++;
	return true;
}

static void
sim_enter_poll(sim_worker *w, sim_device *d, double now)
{
	d->state = SIM_POLL;
	d->step = 0;
	free(d->resp);
	d->resp = NULL;
	/*
	 * The first cycle anywhere in one period, so the fleet spreads out,
	 * and not before the ramp ends: while devices come up, the machine's
	 * time goes to their handshakes, not to the early ones' polls.
	 */
	d->due = now + (opts.poll_rate > 0 ? opts.poll_rate * sim_rand01(&d->rng) : 0);
	if (d->due < sim_t0 + opts.ramp)
		d->due = sim_t0 + opts.ramp +
			(opts.poll_rate > 0 ? opts.poll_rate * sim_rand01(&d->rng) : 0);
	d->poll_due = d->der_due = d->post_due = d->due;
	d->cycle = 0;
	if (d->der != NULL)
	{
		/* the DER work spreads over its own periods, after the ramp */
		double		base = fmax(now, sim_t0 + opts.ramp);

		d->der_due = base + d->der->der_rate * sim_rand01(&d->rng);
		d->post_due = base + d->der->post_rate * sim_rand01(&d->rng);
		d->due = fmin(d->poll_due, fmin(d->der_due, d->post_due));
	}
	pthread_mutex_lock(&w->mu);
	w->polling++;
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_add(&sim_polling_total, 1);
}

/* An answer with the expected status but nothing usable in it: counted
 * as an HTTP-level error, and the step is retried. */
static void
sim_useless(sim_worker *w, sim_device *d, double now)
{
	pthread_mutex_lock(&w->mu);
	w->interval.errors[SIM_ERR_HTTP]++;
	w->total.errors[SIM_ERR_HTTP]++;
	pthread_mutex_unlock(&w->mu);
	d->due = now + SIM_RETRY_S;
}

/* Registered (or found): with --der, discover the DER side first. */
static void
sim_discover_der(sim_worker *w, sim_device *d, double now)
{
	if (d->der != NULL && d->edev[0] == '/')
	{
		d->state = SIM_DISC_EDEV;
		d->due = now;
	}
	else
		sim_enter_poll(w, d, now);
}

/* A transfer of d finished with rc: account for it and plan what's next. */
static void
sim_finish(sim_worker *w, sim_device *d, CURLcode rc, double now)
{
	long		status = 0;
	long		nconn = 0;
	curl_off_t	t_conn = 0, t_app = 0;
	sim_err_kind kind = sim_err_classify(rc);

	curl_multi_remove_handle(d->group->multi, d->easy);
	d->in_flight = false;
	w->in_flight--;
	curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(d->easy, CURLINFO_NUM_CONNECTS, &nconn);
	if (nconn > 0)
	{
		curl_easy_getinfo(d->easy, CURLINFO_CONNECT_TIME_T, &t_conn);
		curl_easy_getinfo(d->easy, CURLINFO_APPCONNECT_TIME_T, &t_app);
	}
	if (kind == SIM_ERR_NONE && status != d->expect)
		kind = SIM_ERR_HTTP;
	sim_record(w, d, now, kind, status,
			   nconn > 0 && t_app > 0, (double) (t_app - t_conn) / 1e6);
	free(d->req_body);
	d->req_body = NULL;

	if (kind != SIM_ERR_NONE)
	{
		d->failures++;
		if (d->state == SIM_POLL)
			sim_cycle_end(w, d, now);
		else
			d->due = now + SIM_RETRY_S * (0.5 + sim_rand01(&d->rng));
		return;
	}
	d->failures = 0;
	switch (d->state)
	{
		case SIM_DISCOVER:
			if (!sim_find_href(d->resp, d->resp_len, "DeviceCapability",
							   "EndDeviceListLink", d->edev_list, sizeof(d->edev_list)))
			{
				sim_useless(w, d, now);
				return;
			}
			if (d->der != NULL &&
				!sim_find_href(d->resp, d->resp_len, "DeviceCapability",
							   "MirrorUsagePointListLink", d->der->mup_list,
							   sizeof(d->der->mup_list)))
				d->der->mup_list[0] = '\0';
			d->state = opts.do_register ? SIM_REGISTER : SIM_FIND;
			d->due = now;
			return;
		case SIM_REGISTER:
			if (strncmp(d->location, "/", 1) == 0)
				snprintf(d->edev, sizeof(d->edev), "%s", d->location);
			pthread_mutex_lock(&w->mu);
			w->registered++;
			pthread_mutex_unlock(&w->mu);
			sim_discover_der(w, d, now);
			return;
		case SIM_FIND:
			if (!sim_find_href(d->resp, d->resp_len, "EndDeviceList", "EndDevice",
							   d->edev, sizeof(d->edev)))
				d->edev[0] = '\0';	/* not registered: poll the list */
			sim_discover_der(w, d, now);
			return;
		case SIM_DISC_EDEV:
		case SIM_DISC_FSA:
		case SIM_DISC_DER:
			{
				arena	   *a = arena_create(8192);
				bool		ok = a != NULL;

				if (ok && d->state == SIM_DISC_EDEV)
					ok = sim_der_on_edev(d->der, a, d->resp, d->resp_len);
				else if (ok && d->state == SIM_DISC_FSA)
					ok = sim_der_on_fsa(d->der, a, d->resp, d->resp_len,
										opts.der_poll_rate > 0);
				else if (ok)
					ok = sim_der_on_der_list(d->der, a, d->resp, d->resp_len);
				if (a)
					arena_destroy(a);
				if (!ok)
				{
					sim_useless(w, d, now);
					return;
				}
				if (d->state == SIM_DISC_DER && d->der->ders[0] != '\0')
					SIM_DER_COUNT(d, with_der, 1);
				if (d->state == SIM_DISC_EDEV)
					d->state = SIM_DISC_FSA;
				else if (d->state == SIM_DISC_FSA && d->der->der_list[0] != '\0')
					d->state = SIM_DISC_DER;
				else if (d->der->mup_list[0] != '\0')
					d->state = SIM_DISC_MUP;
				else
				{
					sim_enter_poll(w, d, now);
					return;
				}
				d->due = now;
				return;
			}
		case SIM_DISC_MUP:
			if (d->location[0] == '/' && strlen(d->location) < sizeof(d->der->mup))
				memcpy(d->der->mup, d->location, strlen(d->location) + 1);
			sim_enter_poll(w, d, now);
			return;
		case SIM_POLL:
			{
				const sim_poll *p = &sim_polls[d->step];

				if (p->on_body)
					p->on_body(d, d->resp, d->resp_len);
				if (!(p->more && p->more(d)))
					d->step++;
				/* sim_start runs the next entry, or ends the cycle */
				d->due = now;
				return;
			}
	}
}

/* ---- worker ---- */

static bool
sim_device_setup(sim_device *d, sim_group *g, double now)
{
	CURL	   *e = curl_easy_init();
	char		hostpair[160], connto[96];

	if (e == NULL)
		return false;
	d->easy = e;
	d->group = g;
	curl_easy_setopt(e, CURLOPT_PRIVATE, d);
	/* certificate, key and trust come from sim_on_ssl_ctx, pre-parsed */
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, d);

	/*
	 * Connect through a host name of the device's own ("dermsim-N",
	 * resolved here to the server's address; TLS still checks the URL's
	 * host): libcurl files connections by the host connected to, so each
	 * device's connection is alone in its bucket.  Nobody else's can be
	 * reused by it, and finding its own takes one look, not a walk
	 * through thousands of idle connections.
	 */
	snprintf(hostpair, sizeof(hostpair), SIM_CERT_PREFIX "%d:%d:%s", d->index,
			 sim_port, sim_connect_ip);
	snprintf(connto, sizeof(connto), "::" SIM_CERT_PREFIX "%d:", d->index);
	d->resolve = curl_slist_append(NULL, hostpair);
	d->connect_to = curl_slist_append(NULL, connto);
	if (d->resolve == NULL || d->connect_to == NULL)
		return false;
	curl_easy_setopt(e, CURLOPT_RESOLVE, d->resolve);
	curl_easy_setopt(e, CURLOPT_CONNECT_TO, d->connect_to);
	curl_easy_setopt(e, CURLOPT_SSLVERSION,
					 (long) (CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
	curl_easy_setopt(e, CURLOPT_SSL_CIPHER_LIST, SIM_CIPHER);
	/* every new connection is a full handshake, as a fresh device's */
	curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, sim_on_ssl_ctx);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long) CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) (opts.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) (opts.timeout * 1000));
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 4096L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sim_on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, d);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, sim_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, d);
	if (opts.fresh)
	{
		curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	}
	d->rng = opts.seed ^ ((uint64_t) (d->index + 1) * UINT64_C(0x9E3779B97F4A7C15));
	if (d->rng == 0)
		d->rng = 1;
	sim_battery_init(&d->battery, &d->rng, now);
	if (opts.der)
	{
		d->der = calloc(1, sizeof(*d->der));
		if (d->der == NULL)
			return false;
		d->der->der_rate = opts.der_poll_rate > 0 ? opts.der_poll_rate : 300;
		d->der->post_rate = opts.post_rate;
	}
	d->state = SIM_DISCOVER;
	/* devices come up evenly over the ramp */
	d->due = sim_t0 + (opts.devices > 1 ? opts.ramp * d->index / (opts.devices - 1) : 0);
	return true;
}

/* Run libcurl on every group whose timer has expired. */
static void
sim_run_timers(sim_worker *w, double now)
{
	int			running;

	for (int i = 0; i < w->ngroups; i++)
	{
		sim_group  *g = &w->groups[i];

		if (g->deadline >= 0 && g->deadline <= now)
		{
			g->deadline = -1;
			curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
			g->dirty = true;
		}
	}
}

static void
sim_reap(sim_worker *w)
{
	double		now = sim_now();

	for (int i = 0; i < w->ngroups; i++)
	{
		sim_group  *g = &w->groups[i];
		CURLMsg    *m;
		int			left;

		if (!g->dirty)
			continue;
		g->dirty = false;
		while ((m = curl_multi_info_read(g->multi, &left)) != NULL)
		{
			sim_device *d = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **) &d);
			sim_finish(w, d, m->data.result, now);
			if (!sim_heap_push(&w->heap, d))
				fprintf(stderr, "dermsim: out of memory\n");
		}
	}
}

/* Milliseconds until the next thing to do (capped), for epoll_wait. */
static int
sim_wait_ms(sim_worker *w, double now, bool starting)
{
	double		next = now + 0.1;

	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i].deadline >= 0 && w->groups[i].deadline < next)
			next = w->groups[i].deadline;
	if (starting && w->heap.len > 0 && w->in_flight < w->max_in_flight &&
		w->heap.items[0]->due < next)
		next = w->heap.items[0]->due;
	if (next <= now)
		return 0;
	return (int) ceil((next - now) * 1000.0);
}

static void *
sim_worker_main(void *arg)
{
	sim_worker *w = arg;
	struct epoll_event evs[SIM_EVENTS];
	double		grace_end = w->end + SIM_GRACE_S;

	for (;;)
	{
		double		now = sim_now();
		bool		starting = now < w->end && !sim_stop_requested;
		int			n;

		if (sim_stop_requested && grace_end > now + SIM_GRACE_S)
			grace_end = now + SIM_GRACE_S;	/* asked to stop: end soon */

		if (!starting && (w->in_flight == 0 || now >= grace_end))
			break;
		n = epoll_wait(w->ep, evs, SIM_EVENTS, sim_wait_ms(w, now, starting));
		for (int i = 0; i < n; i++)
		{
			sim_sock   *s = evs[i].data.ptr;
			int			flags = 0;
			int			running;

			if (s->removed)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP))
				flags |= CURL_CSELECT_IN;
			if (evs[i].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[i].events & EPOLLERR)
				flags |= CURL_CSELECT_ERR;
			s->group->dirty = true;
			curl_multi_socket_action(s->group->multi, s->fd, flags, &running);
		}
		now = sim_now();
		sim_run_timers(w, now);
		sim_reap(w);
		for (int i = 0; i < w->ndead; i++)
			free(w->dead[i]);
		w->ndead = 0;
		if (!starting)
			continue;
		now = sim_now();
		while (w->heap.len > 0 && w->heap.items[0]->due <= now)
		{
			sim_device *d;

			if (w->in_flight >= w->max_in_flight)
			{
				pthread_mutex_lock(&w->mu);
				w->deferred++;
				pthread_mutex_unlock(&w->mu);
				break;
			}
			d = sim_heap_pop(&w->heap);
			if (!sim_start(w, d, now))
			{
				d->due = now + SIM_RETRY_S;
				sim_heap_push(&w->heap, d);
			}
			else if (!d->in_flight && !sim_heap_push(&w->heap, d))
				fprintf(stderr, "dermsim: out of memory\n");
		}
	}
	return NULL;
}

/* Groups and devices for worker w; false when out of resources. */
static bool
sim_worker_init(sim_worker *w, long maxconnects)
{
	double		now = sim_now();

	w->ep = epoll_create1(EPOLL_CLOEXEC);
	if (w->ep < 0)
		return false;
	pthread_mutex_init(&w->mu, NULL);
	w->ngroups = (w->ndevices + opts.group_size - 1) / opts.group_size;
	w->groups = calloc((size_t) (w->ngroups ? w->ngroups : 1), sizeof(sim_group));
	if (w->groups == NULL)
		return false;
	for (int i = 0; i < w->ngroups; i++)
	{
		sim_group  *g = &w->groups[i];

		g->worker = w;
		g->deadline = -1;
		g->multi = curl_multi_init();
		if (g->multi == NULL)
			return false;
		curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, sim_on_socket);
		curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
		curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, sim_on_timer);
		curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
		/* keep every device's idle connection: one each, never shared */
		curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, maxconnects);
		curl_multi_setopt(g->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
	}
	for (int i = 0; i < w->ndevices; i++)
	{
		sim_device *d = &w->devices[i];

		if (!sim_device_setup(d, &w->groups[i / opts.group_size], now) ||
			!sim_heap_push(&w->heap, d))
			return false;
	}
	return true;
}

static void
sim_worker_free(sim_worker *w)
{
	for (int i = 0; i < w->ndevices; i++)
	{
		sim_device *d = &w->devices[i];

		if (d->in_flight)
			curl_multi_remove_handle(d->group->multi, d->easy);
	}
	for (int i = 0; i < w->ngroups; i++)
		if (w->groups[i].multi)
			curl_multi_cleanup(w->groups[i].multi);
	for (int i = 0; i < w->ndevices; i++)
	{
		sim_device *d = &w->devices[i];

		if (d->easy)
			curl_easy_cleanup(d->easy);
		curl_slist_free_all(d->resolve);
		curl_slist_free_all(d->connect_to);
		free(d->req_body);
		free(d->resp);
		free(d->der);
	}
	for (int i = 0; i < w->ndead; i++)
		free(w->dead[i]);
	free(w->dead);
	free(w->groups);
	free(w->heap.items);
	if (w->ep >= 0)
		close(w->ep);
	pthread_mutex_destroy(&w->mu);
}

/* ---- reporting ---- */

typedef struct sim_snapshot
{
	sim_stats	stats;
	uint64_t	deferred;
	uint64_t	registered;
	int			polling;
	double		soc_sum;
	uint64_t	soc_n;
	sim_der_counts der;
} sim_snapshot;

/* Sum over workers of one of their stats (interval ones are reset). */
static void
sim_collect(sim_worker *ws, int nw, int which, sim_snapshot *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < nw; i++)
	{
		sim_worker *w = &ws[i];

		pthread_mutex_lock(&w->mu);
		if (which == 0)
		{
			sim_stats_merge(&out->stats, &w->interval);
			memset(&w->interval, 0, sizeof(w->interval));
		}
		else if (which == 1)
			sim_stats_merge(&out->stats, &w->total);
		else
			sim_stats_merge(&out->stats, &w->steady);
		out->deferred += w->deferred;
		out->registered += w->registered;
		out->polling += w->polling;
		out->soc_sum += w->soc_sum;
		out->soc_n += w->soc_n;
		sim_der_counts_add(&out->der, &w->der);
		if (which == 0)
		{
			w->soc_sum = 0;
			w->soc_n = 0;
		}
		pthread_mutex_unlock(&w->mu);
	}
}

static void
sim_print_errors(const sim_stats *s)
{
	bool		any = false;

	for (int k = SIM_ERR_NONE + 1; k < SIM_ERR_NKINDS; k++)
		printf(" %s=%" PRIu64, sim_err_names[k], s->errors[k]);
	for (int c = 0; c < SIM_STATUS_MAX; c++)
		if (s->status[c])
		{
			printf("%s%d:%" PRIu64, any ? "," : " status=", c, s->status[c]);
			any = true;
		}
}

static void
sim_print_interval(const sim_snapshot *s, double t, double dt)
{
	const sim_stats *st = &s->stats;

	printf("dermsim: t=%.0fs req/s=%.0f p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms"
		   " handshakes=%" PRIu64 " polling=%d registered=%" PRIu64 " errors=%" PRIu64,
		   t, dt > 0 ? (double) st->requests / dt : 0.0,
		   sim_hist_ms(&st->latency, 0.50), sim_hist_ms(&st->latency, 0.90),
		   sim_hist_ms(&st->latency, 0.99), (double) st->latency.max_us / 1000.0,
		   st->handshakes, s->polling, s->registered, sim_stats_errors(st));
	sim_print_errors(st);
	printf("\n");
}

/* ---- set-up ---- */

/* True when host (as libcurl's URL API returns it) is a loopback address. */
static bool
sim_host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char		buf[64];
	size_t		len = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (len > 2 && len < sizeof(buf) && host[0] == '[' && host[len - 1] == ']')
	{
		memcpy(buf, host + 1, len - 2);
		buf[len - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

/* Check the URL: https, a host, no path beyond "/"; loopback unless allowed. */
static bool
sim_check_url(const char *url, bool allow_remote)
{
	CURLU	   *u = curl_url();
	char	   *scheme = NULL, *host = NULL, *path = NULL;
	bool		ok = false;

	if (u == NULL)
		return false;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		fprintf(stderr, "dermsim: \"%s\" is not a URL\n", url);
	else if (strcmp(scheme, "https") != 0)
		fprintf(stderr, "dermsim: the URL must be https:// (IEEE 2030.5 over TLS)\n");
	else if (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
			 strcmp(path, "/") != 0)
		fprintf(stderr, "dermsim: give the server's base URL without a path (not \"%s\")\n",
				path);
	else if (!allow_remote && !sim_host_is_loopback(host))
		fprintf(stderr, "dermsim: refusing the non-loopback host \"%s\": dermsim is a load "
				"generator; pass --allow-remote to aim it elsewhere\n", host);
	else
		ok = true;
	curl_free(scheme);
	curl_free(host);
	curl_free(path);
	curl_url_cleanup(u);
	return ok;
}

/* The address and port devices connect to (sim_connect_ip, sim_port). */
static bool
sim_resolve_target(const char *url)
{
	CURLU	   *u = curl_url();
	char	   *host = NULL, *port = NULL;
	char		name[256];
	struct addrinfo hints, *res = NULL;
	bool		ok = false;
	size_t		len;
	int			gai;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
		curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
	{
		fprintf(stderr, "dermsim: \"%s\" is not a URL\n", url);
		goto done;
	}
	len = strlen(host);
	if (len >= sizeof(name))
		goto done;
	if (host[0] == '[' && len > 2)
		snprintf(name, sizeof(name), "%.*s", (int) len - 2, host + 1);
	else
		snprintf(name, sizeof(name), "%s", host);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((gai = getaddrinfo(name, port, &hints, &res)) != 0 || res == NULL)
	{
		fprintf(stderr, "dermsim: could not resolve \"%s\": %s\n", name,
				gai_strerror(gai));
		goto done;
	}
	if (res->ai_family == AF_INET6)
	{
		char		a[INET6_ADDRSTRLEN];

		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) res->ai_addr)->sin6_addr,
				  a, sizeof(a));
		snprintf(sim_connect_ip, sizeof(sim_connect_ip), "[%s]", a);
	}
	else
		inet_ntop(AF_INET, &((struct sockaddr_in *) res->ai_addr)->sin_addr,
				  sim_connect_ip, sizeof(sim_connect_ip));
	sim_port = atoi(port);
	ok = sim_port > 0;
done:
	if (res)
		freeaddrinfo(res);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return ok;
}

/* The trust store (DIR/ca.pem) and the intermediate every leaf chains to. */
static bool
sim_load_trust(const char *dir)
{
	char		path[PATH_MAX];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/ca.pem", dir);
	sim_trust = X509_STORE_new();
	if (sim_trust == NULL || X509_STORE_load_file(sim_trust, path) != 1)
	{
		fprintf(stderr, "dermsim: could not load the trust anchor \"%s\"\n", path);
		return false;
	}
	snprintf(path, sizeof(path), "%s/intermediate.pem", dir);
	f = fopen(path, "r");
	if (f)
	{
		sim_intermediate = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	return true;
}

/*
 * Raise RLIMIT_NOFILE as far as allowed; false (after saying so) when it
 * stays below need.
 */
static bool
sim_raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need)
	{
		/* root may raise the hard limit too */
		struct rlimit up = {need, need};

		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return true;
	}
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
	{
		fprintf(stderr, "dermsim: %d devices need about %llu file descriptors, but "
				"RLIMIT_NOFILE allows only %llu (hard limit %llu): use fewer devices or "
				"raise the limit (ulimit -n)\n", opts.devices,
				(unsigned long long) need, (unsigned long long) rl.rlim_cur,
				(unsigned long long) rl.rlim_max);
		return false;
	}
	return true;
}

static void
sim_on_signal(int sig)
{
	(void) sig;
	sim_stop_requested = 1;
}

static void
sim_usage(FILE *f)
{
	fprintf(f,
			"usage: dermsim --url https://127.0.0.1:PORT --pki DIR --devices N [options]\n"
			"  --url URL           the server's IEEE 2030.5 base URL (loopback only)\n"
			"  --pki DIR           demo PKI (dermsctl pki init); device certificates are\n"
			"                      issued there as dermsim-NNNNN.pem/.key when missing\n"
			"  --devices N         simulated devices, one certificate and connection each\n"
			"  --connections C     at most C requests in flight at once (default N)\n"
			"  --duration S        run for S seconds, then stop (default 10)\n"
			"  --poll-rate S       seconds between a device's poll cycles, +-10%% jitter;\n"
			"                      0 polls back to back (default 5)\n"
			"  --ramp S            bring the devices up evenly over S seconds; polling\n"
			"                      starts when the ramp ends (default 0)\n"
			"  --register          POST each device's EndDevice before polling\n"
			"  --report-every S    print a line every S seconds, 0 for none (default 5)\n"
			"  --fresh             a new connection (full handshake) for every request\n"
			"  --timeout S         per-request timeout (default 10)\n"
			"  --threads T         worker threads (default 1)\n"
			"  --group-size G      devices per libcurl multi handle (default 32)\n"
			"  --jobs J            processes issuing missing certificates (default 8)\n"
			"  --seed X            random seed (default 1)\n"
			"  --der               after registering, discover the FSA and DER programs,\n"
			"                      poll each program's active controls at the DER\n"
			"                      pollRate and answer them with Responses, PUT DERStatus\n"
			"                      and DERAvailability and POST telemetry at the postRate\n"
			"  --der-poll-rate S   poll programs every S seconds, not at their pollRate\n"
			"  --post-rate S       post every S seconds, not at the EndDevice's postRate\n"
			"  --allow-remote      allow a non-loopback URL\n");
}

static bool
sim_parse_double(const char *s, double min, double *out)
{
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min) || v > 1e7)
		return false;
	*out = v;
	return true;
}

static bool
sim_parse_int(const char *s, int min, int max, int *out)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return false;
	*out = (int) v;
	return true;
}

static int
sim_parse_args(int argc, char **argv)
{
	enum
	{
		O_URL = 256, O_PKI, O_DEVICES, O_CONNECTIONS, O_DURATION, O_POLL, O_RAMP,
		O_REGISTER, O_REPORT, O_FRESH, O_TIMEOUT, O_THREADS, O_GROUP, O_JOBS,
		O_SEED, O_REMOTE, O_DER, O_DER_POLL, O_POST, O_HELP
	};
	static const struct option longopts[] = {
		{"url", required_argument, NULL, O_URL},
		{"pki", required_argument, NULL, O_PKI},
		{"devices", required_argument, NULL, O_DEVICES},
		{"connections", required_argument, NULL, O_CONNECTIONS},
		{"duration", required_argument, NULL, O_DURATION},
		{"poll-rate", required_argument, NULL, O_POLL},
		{"ramp", required_argument, NULL, O_RAMP},
		{"register", no_argument, NULL, O_REGISTER},
		{"report-every", required_argument, NULL, O_REPORT},
		{"fresh", no_argument, NULL, O_FRESH},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"threads", required_argument, NULL, O_THREADS},
		{"group-size", required_argument, NULL, O_GROUP},
		{"jobs", required_argument, NULL, O_JOBS},
		{"seed", required_argument, NULL, O_SEED},
		{"allow-remote", no_argument, NULL, O_REMOTE},
		{"der", no_argument, NULL, O_DER},
		{"der-poll-rate", required_argument, NULL, O_DER_POLL},
		{"post-rate", required_argument, NULL, O_POST},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;
	bool		ok = true;

	opts.duration = 10;
	opts.poll_rate = 5;
	opts.report_every = 5;
	opts.timeout = 10;
	opts.threads = 1;
	opts.group_size = 32;
	opts.jobs = 8;
	opts.seed = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case O_URL:
				opts.url = optarg;
				break;
			case O_PKI:
				opts.pki = optarg;
				break;
			case O_DEVICES:
				ok = sim_parse_int(optarg, 1, 1000000, &opts.devices);
				break;
			case O_CONNECTIONS:
				ok = sim_parse_int(optarg, 1, 1000000, &opts.connections);
				break;
			case O_DURATION:
				ok = sim_parse_double(optarg, 0.1, &opts.duration);
				break;
			case O_POLL:
				ok = sim_parse_double(optarg, 0, &opts.poll_rate);
				break;
			case O_RAMP:
				ok = sim_parse_double(optarg, 0, &opts.ramp);
				break;
			case O_REGISTER:
				opts.do_register = true;
				break;
			case O_REPORT:
				ok = sim_parse_double(optarg, 0, &opts.report_every);
				break;
			case O_FRESH:
				opts.fresh = true;
				break;
			case O_TIMEOUT:
				ok = sim_parse_double(optarg, 0.01, &opts.timeout);
				break;
			case O_THREADS:
				ok = sim_parse_int(optarg, 1, 64, &opts.threads);
				break;
			case O_GROUP:
				ok = sim_parse_int(optarg, 1, 100000, &opts.group_size);
				break;
			case O_JOBS:
				ok = sim_parse_int(optarg, 1, 256, &opts.jobs);
				break;
			case O_SEED:
				{
					int			s;

					ok = sim_parse_int(optarg, 0, INT_MAX, &s);
					opts.seed = (uint64_t) s + 1;
					break;
				}
			case O_REMOTE:
				opts.allow_remote = true;
				break;
			case O_DER:
				opts.der = true;
				break;
			case O_DER_POLL:
				ok = sim_parse_double(optarg, 0.1, &opts.der_poll_rate);
				break;
			case O_POST:
				ok = sim_parse_double(optarg, 1, &opts.post_rate);
				break;
			case O_HELP:
				sim_usage(stdout);
				exit(0);
			default:
				ok = false;
		}
		if (!ok)
		{
			if (c != '?')
				fprintf(stderr, "dermsim: invalid value for --%s: \"%s\"\n",
						longopts[c - O_URL].name, optarg ? optarg : "");
			return 2;
		}
	}
	if (optind != argc || opts.url == NULL || opts.pki == NULL || opts.devices == 0)
	{
		sim_usage(stderr);
		return 2;
	}
	if (opts.connections == 0 || opts.connections > opts.devices)
		opts.connections = opts.devices;
	if (opts.threads > opts.devices)
		opts.threads = opts.devices;
	if (opts.ramp > opts.duration)
		opts.ramp = opts.duration;
	return 0;
}

int
main(int argc, char **argv)
{
	sim_device *devices;
	sim_worker *workers;
	char		base[SIM_PATH_MAX];
	derms_err	err;
	int			issued = 0, rc;
	double		t_issue, t_load, next_report, last_report, steady_at = -1;
	double		post_ramp_half;
	int			ngroups_total = 0;
	sim_snapshot snap;
	struct sigaction sa;

	rc = sim_parse_args(argc, argv);
	if (rc != 0)
		return rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
	{
		fprintf(stderr, "dermsim: could not initialise libcurl\n");
		return 1;
	}
	if (!sim_check_url(opts.url, opts.allow_remote))
		return 2;
	snprintf(base, sizeof(base), "%s", opts.url);
	if (base[0] && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	opts.url = base;
	if (!sim_resolve_target(opts.url) || !sim_load_trust(opts.pki))
		return 1;

	for (int t = 0; t < opts.threads; t++)
		ngroups_total += (opts.devices / opts.threads + 1 + opts.group_size - 1) /
			opts.group_size;
	/* a socket per device, a wakeup pair per multi handle, and spares */
	if (!sim_raise_nofile((rlim_t) opts.devices + 2 * (rlim_t) ngroups_total +
						  SIM_FD_SPARE))
		return 1;

	/* certificates */
	t_issue = sim_now();
	if (sim_fleet_issue(opts.pki, opts.devices, opts.jobs, &issued, &err) != DERMS_OK)
	{
		fprintf(stderr, "dermsim: %s\n", err.msg);
		return 1;
	}
	t_issue = sim_now() - t_issue;
	devices = calloc((size_t) opts.devices, sizeof(sim_device));
	workers = calloc((size_t) opts.threads, sizeof(sim_worker));
	if (devices == NULL || workers == NULL)
	{
		fprintf(stderr, "dermsim: out of memory\n");
		return 1;
	}
	t_load = sim_now();
	for (int i = 0; i < opts.devices; i++)
	{
		devices[i].index = i;
		if (sim_cred_load(opts.pki, i, &devices[i].cred, &err) != DERMS_OK)
		{
			fprintf(stderr, "dermsim: device %d: %s\n", i, err.msg);
			return 1;
		}
	}
	t_load = sim_now() - t_load;
	printf("dermsim: %d device certificates ready in %s (%d issued in %.1f s, "
		   "all loaded in %.1f s)\n", opts.devices, opts.pki, issued, t_issue, t_load);

	sim_sep2_headers = curl_slist_append(NULL, "Content-Type: " SIM_CT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sim_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	/* workers: contiguous slices of the device array */
	sim_t0 = sim_now() + 0.05;
	{
		int			start = 0;

		for (int t = 0; t < opts.threads; t++)
		{
			sim_worker *w = &workers[t];
			int			share = opts.devices / opts.threads +
				(t < opts.devices % opts.threads ? 1 : 0);

			w->index = t;
			w->ep = -1;
			w->devices = devices + start;
			w->ndevices = share;
			w->end = sim_t0 + opts.duration;
			w->max_in_flight = opts.connections / opts.threads +
				(t < opts.connections % opts.threads ? 1 : 0);
			if (w->max_in_flight < 1)
				w->max_in_flight = 1;
			start += share;
			if (!sim_worker_init(w, (long) share + 16))
			{
				fprintf(stderr, "dermsim: could not set up worker %d: %m\n", t);
				return 1;
			}
		}
	}
	printf("dermsim: %d devices against %s, %d thread(s), %s, poll every %.1f s, "
		   "ramp %.1f s, %.0f s\n", opts.devices, opts.url, opts.threads,
		   opts.fresh ? "a new connection per request" : "keep-alive",
		   opts.poll_rate, opts.ramp, opts.duration);
	for (int t = 0; t < opts.threads; t++)
		if (pthread_create(&workers[t].thread, NULL, sim_worker_main, &workers[t]) != 0)
		{
			fprintf(stderr, "dermsim: could not start a thread\n");
			return 1;
		}

	/* report while the workers run; decide when the steady window opens */
	last_report = sim_t0;
	next_report = opts.report_every > 0 ? sim_t0 + opts.report_every : INFINITY;
	post_ramp_half = sim_t0 + opts.ramp + (opts.duration - opts.ramp) / 2;
	for (;;)
	{
		double		now = sim_now();
		double		until = fmin(next_report, sim_t0 + opts.duration);

		if (steady_at < 0 &&
			((now >= sim_t0 + opts.ramp &&
			  atomic_load(&sim_polling_total) >= opts.devices) ||
			 now >= post_ramp_half))
		{
			steady_at = now;
			atomic_store(&sim_steady, true);
		}
		if (now >= next_report)
		{
			sim_collect(workers, opts.threads, 0, &snap);
			sim_print_interval(&snap, now - sim_t0, now - last_report);
			if (snap.soc_n > 0)
				printf("dermsim: fleet: mean battery state of charge %.1f %% over %"
					   PRIu64 " poll cycles\n",
					   100.0 * snap.soc_sum / (double) snap.soc_n, snap.soc_n);
			last_report = now;
			next_report += opts.report_every;
			continue;
		}
		if (now >= sim_t0 + opts.duration || sim_stop_requested)
			break;
		{
			double		nap = fmin(until - now, 0.05);

			if (nap > 0)
				usleep((useconds_t) (nap * 1e6));
		}
	}
	for (int t = 0; t < opts.threads; t++)
		pthread_join(workers[t].thread, NULL);

	/* the summary */
	{
		sim_snapshot all, steady;
		double		window = steady_at >= 0 ? sim_t0 + opts.duration - steady_at : 0;
		const sim_stats *pick;

		sim_collect(workers, opts.threads, 1, &all);
		sim_collect(workers, opts.threads, 2, &steady);
		pick = steady.stats.requests > 0 ? &steady.stats : &all.stats;
		if (window <= 0 || steady.stats.requests == 0)
			window = opts.duration;
		printf("dermsim: setup: %" PRIu64 " handshakes, handshake p50=%.2fms p99=%.2fms "
			   "max=%.2fms; %" PRIu64 " registered; %d of %d devices polling%s\n",
			   all.stats.handshakes, sim_hist_ms(&all.stats.handshake, 0.5),
			   sim_hist_ms(&all.stats.handshake, 0.99),
			   (double) all.stats.handshake.max_us / 1000.0, all.registered,
			   all.polling, opts.devices,
			   all.deferred ? " (some starts waited for --connections)" : "");
		if (steady.stats.requests == 0)
			printf("dermsim: no steady window (not every device got to polling): "
				   "figures below cover the whole run\n");
		printf("bench: dermsim: devices=%d requests=%" PRIu64 " req/s=%.0f p50=%.2fms "
			   "p90=%.2fms p99=%.2fms max=%.2fms errors=%" PRIu64,
			   opts.devices, all.stats.requests, (double) pick->requests / window,
			   sim_hist_ms(&pick->latency, 0.5), sim_hist_ms(&pick->latency, 0.9),
			   sim_hist_ms(&pick->latency, 0.99), (double) pick->latency.max_us / 1000.0,
			   sim_stats_errors(&all.stats));
		sim_print_errors(&all.stats);
		printf(" handshakes=%" PRIu64 " hs/s=%.0f registered=%" PRIu64 " polling=%d"
			   " window=%.1fs%s",
			   all.stats.handshakes, (double) pick->handshakes / window, all.registered,
			   all.polling, window, opts.fresh ? " fresh" : "");
		if (opts.der)
			printf(" with_der=%" PRIu64 " derp=%" PRIu64 " derc=%" PRIu64 " controls=%" PRIu64
				   " rsp_received=%" PRIu64 " rsp_started=%" PRIu64 " rsp_completed=%" PRIu64
				   " ders=%" PRIu64 " dera=%" PRIu64 " mmr=%" PRIu64 " readings=%" PRIu64,
				   all.der.with_der, all.der.derp, all.der.derc, all.der.controls,
				   all.der.rsp[SIM_RSP_RECEIVED], all.der.rsp[SIM_RSP_STARTED],
				   all.der.rsp[SIM_RSP_COMPLETED], all.der.ders, all.der.dera, all.der.mmr,
				   all.der.readings);
		printf("\n");
	}

	for (int t = 0; t < opts.threads; t++)
		sim_worker_free(&workers[t]);
	for (int i = 0; i < opts.devices; i++)
		sim_cred_free(&devices[i].cred);
	free(devices);
	free(workers);
	curl_slist_free_all(sim_sep2_headers);
	X509_STORE_free(sim_trust);
	X509_free(sim_intermediate);
	curl_global_cleanup();
	return 0;
}
