/*
 * tests/bench/vtn_notify.c
 *	  Webhook fan-out of the OpenADR VTN: how long from the POST /events
 *	  that creates an event until every subscriber's callback has it.
 *
 *	  vtn_notify --url https://127.0.0.1:PORT --ca CA.pem --db CONNINFO
 *	             [--subs 1000] [--receivers 4] [--runs 3]
 *
 * NOTES
 *	  Setup: a utility BL client and --subs VEN clients are written
 *	  straight into vtn_clients (secrets made with the server's own code);
 *	  every VEN gets a token from /auth/token and POSTs one subscription to
 *	  EVENT CREATE whose callback is one of --receivers plain-HTTP
 *	  receivers run here on loopback (libmicrohttpd, internal epoll
 *	  thread), which answer the verification by echoing the challenge.
 *	  Runs start once every callback is verified.  A run: the BL POSTs
 *	  one event (utility-wide program, no targets, so every VEN may read
 *	  it); each receiver notes when a CREATE notification of that event
 *	  arrives.  Latency = arrival - the moment the POST was sent.  Prints
 *	  one "bench: vtn_notify: run K: ..." line per run with p50, p99 and
 *	  max in ms (the script takes the medians).
 */
#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <microhttpd.h>

#include "protocols/openadr/auth.h"

typedef struct client
{
	char		id[64];
	char		secret[VTN_SECRET_LEN + 1];
	char		auth[4200];
	CURL	   *h;
	struct curl_slist *hdrs;
	char	   *body;
	size_t		len;
} client;

typedef struct rx_conn
{
	char	   *body;
	size_t		len;
} rx_conn;

static const char *base_url;
static const char *ca_file;

/* what the receivers count, under mu */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char run_name[64];
static double run_t0;
static double *arrivals;
static size_t narrivals;
static size_t nverified;
static size_t nother;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) __attribute__((noreturn));

static void
die(const char *what, const char *detail)
{
	fprintf(stderr, "vtn_notify: %s: %s\n", what, detail);
	exit(1);
}

/* ---- receivers ---- */

static enum MHD_Result
rx_handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
		   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	rx_conn    *b = *con_cls;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	json_t	   *j;
	const char *op;
	char	   *answer = NULL;
	double		t = now_s();

	(void) cls;
	(void) url;
	(void) method;
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
	op = json_string_value(json_object_get(j, "operation"));
	pthread_mutex_lock(&mu);
	if (op && strcmp(op, "VERIFY") == 0)
	{
		json_t	   *o = json_pack("{s:O}", "challenge", json_object_get(j, "challenge"));

		answer = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		nverified++;
	}
	else if (op && strcmp(op, "CREATE") == 0 && run_name[0] &&
			 json_is_string(json_object_get(json_object_get(j, "object"), "eventName")) &&
			 strcmp(json_string_value(json_object_get(json_object_get(j, "object"), "eventName")),
					run_name) == 0)
		arrivals[narrivals++] = t - run_t0;
	else
		nother++;
	pthread_mutex_unlock(&mu);
	json_decref(j);
	if (answer)
		resp = MHD_create_response_from_buffer(strlen(answer), answer, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(0, (void *) "", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(resp, "Content-Type", "application/json");
	ret = MHD_queue_response(c, answer ? 200 : 204, resp);
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

static int
rx_start(void)
{
	struct sockaddr_in sa;
	struct MHD_Daemon *d;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
						 rx_handler, NULL, MHD_OPTION_SOCK_ADDR, &sa,
						 MHD_OPTION_CONNECTION_LIMIT, (unsigned) 4096,
						 MHD_OPTION_NOTIFY_COMPLETED, rx_completed, NULL, MHD_OPTION_END);
	if (d == NULL)
		die("receiver", "could not start");
	return MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

/* ---- the VTN client side ---- */

static size_t
collect(char *p, size_t s, size_t n, void *u)
{
	client	   *v = u;
	char	   *np = realloc(v->body, v->len + s * n + 1);

	if (np == NULL)
		return 0;
	memcpy(np + v->len, p, s * n);
	v->body = np;
	v->len += s * n;
	v->body[v->len] = '\0';
	return s * n;
}

static void
prepare(client *v, const char *path, const char *ctype, const char *body)
{
	char		url[512];

	if (v->h == NULL)
		v->h = curl_easy_init();
	else
		curl_easy_reset(v->h);
	curl_slist_free_all(v->hdrs);
	v->hdrs = NULL;
	snprintf(url, sizeof(url), "%s%s", base_url, path);
	curl_easy_setopt(v->h, CURLOPT_URL, url);
	curl_easy_setopt(v->h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(v->h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(v->h, CURLOPT_WRITEDATA, v);
	curl_easy_setopt(v->h, CURLOPT_PRIVATE, v);
	curl_easy_setopt(v->h, CURLOPT_TIMEOUT, 60L);
	if (v->auth[0])
		v->hdrs = curl_slist_append(v->hdrs, v->auth);
	if (body)
	{
		char		ct[128];

		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		v->hdrs = curl_slist_append(v->hdrs, ct);
		curl_easy_setopt(v->h, CURLOPT_COPYPOSTFIELDS, body);
	}
	curl_easy_setopt(v->h, CURLOPT_HTTPHEADER, v->hdrs);
	free(v->body);
	v->body = NULL;
	v->len = 0;
}

/* Run every handle of vs[0..n) once, at most 100 at a time. */
static void
run_all(CURLM *m, client **vs, size_t n, long want, const char *what)
{
	size_t		next = 0;
	size_t		running = 0;
	int			still;

	while (next < n || running > 0)
	{
		CURLMsg    *msg;
		int			left;

		while (next < n && running < 100)
		{
			curl_multi_add_handle(m, vs[next++]->h);
			running++;
		}
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
		{
			client	   *v;
			long		st = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &v);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
			if (msg->data.result != CURLE_OK || st != want)
			{
				fprintf(stderr, "vtn_notify: %s: status %ld (%s): %s\n", what, st,
						curl_easy_strerror(msg->data.result), v->body ? v->body : "");
				exit(1);
			}
			curl_multi_remove_handle(m, msg->easy_handle);
			running--;
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
}

static void
token_for(client *v)
{
	json_t	   *j = json_loads(v->body ? v->body : "", 0, NULL);
	const char *t = json_string_value(json_object_get(j, "access_token"));

	if (t == NULL)
		die("no access_token in", v->body ? v->body : "(nothing)");
	snprintf(v->auth, sizeof(v->auth), "Authorization: Bearer %s", t);
	json_decref(j);
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

static double
pct(const double *v, size_t n, double p)
{
	size_t		i = (size_t) (p * (double) n);

	if (i >= n)
		i = n - 1;
	return v[i];
}

/* Insert the clients (BL first) into vtn_clients. */
static void
insert_clients(const char *conninfo, client *bl, client *vens, int n)
{
	PGconn	   *pg = PQconnectdb(conninfo);

	if (PQstatus(pg) != CONNECTION_OK)
		die("database", PQerrorMessage(pg));
	PQclear(PQexec(pg, "BEGIN"));
	PQclear(PQexec(pg, "INSERT INTO tenants (name, kind) VALUES ('bench-notify', 'aggregator')"
				   " ON CONFLICT (name) DO NOTHING"));
	for (int i = -1; i < n; i++)
	{
		client	   *v = i < 0 ? bl : &vens[i];
		char		hash[VTN_SECRET_HASH_MAX];
		char		name[128];
		char		scopes[256];
		const char *p[5];
		PGresult   *r;

		vtn_client_credentials(i < 0 ? "bl" : "ven", v->id, v->secret, hash, NULL);
		snprintf(name, sizeof(name), "%s-%d-%s", i < 0 ? "notify-bl" : "notify-ven", i, v->id);
		vtn_scopes_pgarray(vtn_role_scopes(i < 0 ? HTTP_ROLE_BL : HTTP_ROLE_VEN),
						   scopes, sizeof(scopes));
		p[0] = v->id;
		p[1] = name;
		p[2] = i < 0 ? "bl" : "ven";
		p[3] = hash;
		p[4] = scopes;
		r = PQexecParams(pg, i < 0
						 ? "INSERT INTO vtn_clients (client_id, name, role, secret_hash, scopes)"
						 "  VALUES ($1, $2, $3, $4, $5::text[])"
						 : "INSERT INTO vtn_clients (client_id, name, role, tenant_id, secret_hash,"
						 " scopes) SELECT $1, $2, $3, id, $4, $5::text[] FROM tenants"
						 " WHERE name = 'bench-notify'",
						 5, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("insert client", PQerrorMessage(pg));
		PQclear(r);
	}
	PQclear(PQexec(pg, "COMMIT"));
	PQfinish(pg);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"ca", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"subs", required_argument, NULL, 's'},
		{"receivers", required_argument, NULL, 'r'},
		{"runs", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0}
	};
	const char *conninfo = NULL;
	int			nsubs = 1000;
	int			nrx = 4;
	int			runs = 3;
	int			ch;
	int		   *ports;
	client	   *vens;
	client		bl;
	client	  **list;
	CURLM	   *m;
	char		body[1024];
	char		program_id[64];
	double		t;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'u':
				base_url = optarg;
				break;
			case 'c':
				ca_file = optarg;
				break;
			case 'd':
				conninfo = optarg;
				break;
			case 's':
				nsubs = atoi(optarg);
				break;
			case 'r':
				nrx = atoi(optarg);
				break;
			case 'n':
				runs = atoi(optarg);
				break;
			default:
				return 2;
		}
	}
	if (!base_url || !ca_file || !conninfo || nsubs < 1 || nrx < 1 || runs < 1)
	{
		fprintf(stderr, "usage: vtn_notify --url URL --ca CA --db CONNINFO [--subs N]"
				" [--receivers R] [--runs K]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	vens = calloc((size_t) nsubs, sizeof(client));
	list = calloc((size_t) nsubs, sizeof(client *));
	arrivals = calloc((size_t) nsubs * 2 + 16, sizeof(double));
	ports = calloc((size_t) nrx, sizeof(int));
	if (!vens || !list || !arrivals || !ports)
		die("setup", "out of memory");
	memset(&bl, 0, sizeof(bl));
	for (int i = 0; i < nrx; i++)
		ports[i] = rx_start();
	insert_clients(conninfo, &bl, vens, nsubs);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long) 256);

	/* the BL: token and a utility-wide program */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s",
			 bl.id, bl.secret);
	prepare(&bl, "/auth/token", "application/x-www-form-urlencoded", body);
	list[0] = &bl;
	run_all(m, list, 1, 200, "BL token");
	token_for(&bl);
	snprintf(body, sizeof(body), "{\"programName\":\"notify-%s\"}", bl.id);
	prepare(&bl, "/programs", "application/json", body);
	run_all(m, list, 1, 201, "program");
	{
		json_t	   *j = json_loads(bl.body, 0, NULL);

		snprintf(program_id, sizeof(program_id), "%s", json_string_value(json_object_get(j, "id")));
		json_decref(j);
	}

	/* every VEN: a token, then its subscription */
	for (int i = 0; i < nsubs; i++)
	{
		snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s",
				 vens[i].id, vens[i].secret);
		prepare(&vens[i], "/auth/token", "application/x-www-form-urlencoded", body);
		list[i] = &vens[i];
	}
	run_all(m, list, (size_t) nsubs, 200, "VEN token");
	for (int i = 0; i < nsubs; i++)
	{
		token_for(&vens[i]);
		snprintf(body, sizeof(body),
				 "{\"clientName\":\"%s\",\"programID\":\"%s\",\"objectOperations\":[{\"objects\":"
				 "[\"EVENT\"],\"operations\":[\"CREATE\"],\"callbackUrl\":"
				 "\"http://127.0.0.1:%d/cb/%d\",\"bearerToken\":\"bench-%d\"}]}",
				 vens[i].id, program_id, ports[i % nrx], i, i);
		prepare(&vens[i], "/subscriptions", "application/json", body);
	}
	t = now_s();
	run_all(m, list, (size_t) nsubs, 201, "subscription");
	printf("bench: vtn_notify: setup: %d VEN clients subscribed in %.1f s, %d receivers\n",
		   nsubs, now_s() - t, nrx);
	fflush(stdout);
	for (;;)
	{
		size_t		v;

		pthread_mutex_lock(&mu);
		v = nverified;
		pthread_mutex_unlock(&mu);
		if (v >= (size_t) nsubs)
			break;
		if (now_s() - t > 300)
			die("verification", "not every callback was verified in 300 s");
		usleep(50000);
	}
	printf("bench: vtn_notify: every callback verified %.1f s after the first subscription\n",
		   now_s() - t);
	sleep(1);					/* let the notify role go idle */

	for (int run = 1; run <= runs; run++)
	{
		double		post_s, done;
		size_t		got;

		pthread_mutex_lock(&mu);
		snprintf(run_name, sizeof(run_name), "bench-run-%d", run);
		narrivals = 0;
		pthread_mutex_unlock(&mu);
		snprintf(body, sizeof(body),
				 "{\"programID\":\"%s\",\"eventName\":\"%s\","
				 "\"intervalPeriod\":{\"start\":\"2030-01-01T00:00:00Z\",\"duration\":\"PT1H\"},"
				 "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"PRICE\",\"values\":[0.3]}]}]}",
				 program_id, run_name);
		prepare(&bl, "/events", "application/json", body);
		list[0] = &bl;
		pthread_mutex_lock(&mu);
		run_t0 = now_s();
		pthread_mutex_unlock(&mu);
		run_all(m, list, 1, 201, "event");
		post_s = now_s() - run_t0;
		for (;;)
		{
			pthread_mutex_lock(&mu);
			got = narrivals;
			pthread_mutex_unlock(&mu);
			if (got >= (size_t) nsubs || now_s() - run_t0 > 60)
				break;
			usleep(2000);
		}
		done = now_s() - run_t0;
		if (got < (size_t) nsubs)
		{
			fprintf(stderr, "vtn_notify: run %d: only %zu of %d callbacks in 60 s\n", run, got,
					nsubs);
			return 1;
		}
		pthread_mutex_lock(&mu);
		qsort(arrivals, narrivals, sizeof(double), cmp_double);
		printf("bench: vtn_notify: run %d: %zu callbacks, p50 %.0f ms, p99 %.0f ms,"
			   " max %.0f ms (POST /events answered in %.0f ms; all in %.0f ms)\n",
			   run, narrivals, pct(arrivals, narrivals, 0.50) * 1000,
			   pct(arrivals, narrivals, 0.99) * 1000, arrivals[narrivals - 1] * 1000,
			   post_s * 1000, done * 1000);
		pthread_mutex_unlock(&mu);
		fflush(stdout);
		sleep(1);
	}
	return 0;
}
