/*
 * tests/bench/vtn_load.c
 *	  Load on the OpenADR VTN: many VEN clients, each with its own OAuth2
 *	  client, token and TLS keep-alive connection, searching /events with a
 *	  targets filter as VENs poll for their events.
 *
 *	  vtn_load --url https://127.0.0.1:PORT --ca CA.pem --db CONNINFO
 *	           [--vens 1000] [--groups 10] [--events 20] [--seconds 10]
 *
 * NOTES
 *	  Setup: the VEN clients are written straight into vtn_clients (secrets
 *	  made with the server's own code); the utility's BL client, made the
 *	  same way, creates a program, the events (G target groups, named
 *	  after the run) and one ven object per VEN client granting it its
 *	  group, so runs against one database do not see each other's events;
 *	  every VEN then fetches a token from /auth/token.  Load: all VENs at
 *	  once, closed loop (the next request leaves when the answer arrives),
 *	  GET /events?targets=group-K; after a warm-up in which every VEN has
 *	  been answered once (TLS handshakes, token checks), requests are
 *	  counted for --seconds.  Every answer must be 200 with a non-empty
 *	  array.  One process drives all connections with libcurl's multi
 *	  interface; on a shared 2-core machine it competes with the server.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "protocols/openadr/auth.h"

typedef struct ven
{
	char		id[64];
	char		secret[VTN_SECRET_LEN + 1];
	char		auth[4200];		/* "Authorization: Bearer ..." */
	char		url[256];
	CURL	   *h;
	struct curl_slist *hdrs;
	double		t0;
	char	   *body;
	size_t		len;
	long		answered;
} ven;

static const char *base_url;
static const char *ca_file;

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
	fprintf(stderr, "vtn_load: %s: %s\n", what, detail);
	exit(1);
}

static size_t
collect(char *p, size_t s, size_t n, void *u)
{
	ven		   *v = u;
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
prepare(ven *v, const char *path, const char *ctype, const char *body)
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

/* Run every handle of vs[0..n) once, at most inflight at a time. */
static void
run_all(CURLM *m, ven **vs, size_t n, long want, const char *what)
{
	size_t		next = 0;
	size_t		running = 0;
	int			still;

	while (next < n || running > 0)
	{
		CURLMsg    *msg;
		int			left;

		while (next < n && running < 200)
		{
			curl_multi_add_handle(m, vs[next++]->h);
			running++;
		}
		curl_multi_perform(m, &still);
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
		{
			ven		   *v;
			long		st = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &v);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
			if (msg->data.result != CURLE_OK || st != want)
			{
				fprintf(stderr, "vtn_load: %s: status %ld (%s): %s\n", what, st,
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
token_for(ven *v)
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

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"url", required_argument, NULL, 'u'},
		{"ca", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"vens", required_argument, NULL, 'v'},
		{"groups", required_argument, NULL, 'g'},
		{"events", required_argument, NULL, 'e'},
		{"seconds", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0}
	};
	const char *conninfo = NULL;
	int			nvens = 1000;
	int			groups = 10;
	int			nevents = 20;
	double		seconds = 10;
	int			ch;
	PGconn	   *pg;
	ven		   *vens;
	ven			bl;
	ven		  **list;
	CURLM	   *m;
	char		body[1024];
	char		program_id[64];
	double	   *lat;
	size_t		nlat = 0;
	size_t		cap = 1 << 20;
	long		errors = 0;

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
			case 'v':
				nvens = atoi(optarg);
				break;
			case 'g':
				groups = atoi(optarg);
				break;
			case 'e':
				nevents = atoi(optarg);
				break;
			case 's':
				seconds = atof(optarg);
				break;
			default:
				return 2;
		}
	}
	if (!base_url || !ca_file || !conninfo || nvens < 1 || groups < 1 || nevents < 1)
	{
		fprintf(stderr, "usage: vtn_load --url URL --ca CA --db CONNINFO [--vens N] "
				"[--groups G] [--events E] [--seconds S]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	vens = calloc((size_t) nvens, sizeof(ven));
	list = calloc((size_t) nvens, sizeof(ven *));
	lat = malloc(cap * sizeof(double));
	memset(&bl, 0, sizeof(bl));

	/* clients, straight into the table */
	pg = PQconnectdb(conninfo);
	if (PQstatus(pg) != CONNECTION_OK)
		die("database", PQerrorMessage(pg));
	PQclear(PQexec(pg, "BEGIN"));
	PQclear(PQexec(pg, "INSERT INTO tenants (name, kind) VALUES ('bench-agg', 'aggregator')"
				   " ON CONFLICT (name) DO NOTHING"));
	for (int i = -1; i < nvens; i++)
	{
		ven		   *v = i < 0 ? &bl : &vens[i];
		char		hash[VTN_SECRET_HASH_MAX];
		char		name[128];
		char		scopes[256];
		const char *p[5];
		PGresult   *r;

		vtn_client_credentials(i < 0 ? "bl" : "ven", v->id, v->secret, hash, NULL);
		snprintf(name, sizeof(name), "%s-%d-%s", i < 0 ? "bench-bl" : "bench-ven", i, v->id);
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
						 : "INSERT INTO vtn_clients (client_id, name, role, tenant_id, secret_hash, scopes)"
						 "  SELECT $1, $2, $3, id, $4, $5::text[] FROM tenants WHERE name = 'bench-agg'",
						 5, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			die("insert client", PQerrorMessage(pg));
		PQclear(r);
	}
	PQclear(PQexec(pg, "COMMIT"));
	PQfinish(pg);

	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, (long) nvens + 16);

	/* the BL: token, program, events, one ven object per VEN */
	snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s",
			 bl.id, bl.secret);
	prepare(&bl, "/auth/token", "application/x-www-form-urlencoded", body);
	list[0] = &bl;
	run_all(m, list, 1, 200, "BL token");
	token_for(&bl);
	{
		char		pname[128];

		snprintf(pname, sizeof(pname), "{\"programName\":\"bench-%s\"}", bl.id);
		prepare(&bl, "/programs", "application/json", pname);
	}
	run_all(m, list, 1, 201, "program");
	{
		json_t	   *j = json_loads(bl.body, 0, NULL);

		snprintf(program_id, sizeof(program_id), "%s",
				 json_string_value(json_object_get(j, "id")));
		json_decref(j);
	}
	for (int e = 0; e < nevents; e++)
	{
		snprintf(body, sizeof(body),
				 "{\"programID\":\"%s\",\"eventName\":\"bench-%d\",\"targets\":[\"%s-%d\"],"
				 "\"intervalPeriod\":{\"start\":\"2030-01-01T00:00:00Z\",\"duration\":\"PT1H\"},"
				 "\"intervals\":[{\"id\":0,\"payloads\":[{\"type\":\"DISPATCH_SETPOINT\",\"values\":[%d]}]}]}",
				 program_id, e, bl.id, e % groups, 10 + e);
		prepare(&bl, "/events", "application/json", body);
		run_all(m, list, 1, 201, "event");
	}
	for (int i = 0; i < nvens; i++)
	{
		ven		   *v = &vens[i];

		/* the BL's token creates every VEN's object */
		snprintf(v->auth, sizeof(v->auth), "%s", bl.auth);
		snprintf(body, sizeof(body),
				 "{\"objectType\":\"BL_VEN_REQUEST\",\"clientID\":\"%s\",\"venName\":\"%s\","
				 "\"targets\":[\"%s-%d\"]}", v->id, v->id, bl.id, i % groups);
		prepare(v, "/vens", "application/json", body);
		list[i] = v;
	}
	run_all(m, list, (size_t) nvens, 201, "ven object");
	for (int i = 0; i < nvens; i++)
	{
		ven		   *v = &vens[i];

		v->auth[0] = '\0';
		snprintf(body, sizeof(body), "grant_type=client_credentials&client_id=%s&client_secret=%s",
				 v->id, v->secret);
		prepare(v, "/auth/token", "application/x-www-form-urlencoded", body);
	}
	run_all(m, list, (size_t) nvens, 200, "VEN token");
	for (int i = 0; i < nvens; i++)
	{
		token_for(&vens[i]);
		snprintf(vens[i].url, sizeof(vens[i].url), "/events?targets=%s-%d", bl.id, i % groups);
	}
	printf("bench: vtn: setup done: %d VEN clients, %d events in %d target groups\n",
		   nvens, nevents, groups);
	fflush(stdout);

	/* the load: every VEN in flight at once, closed loop */
	{
		double		start = now_s();
		double		measure_from = 0;
		double		end = 0;
		int			warm = 0;
		int			still;

		for (int i = 0; i < nvens; i++)
		{
			prepare(&vens[i], vens[i].url, NULL, NULL);
			vens[i].t0 = now_s();
			curl_multi_add_handle(m, vens[i].h);
		}
		for (;;)
		{
			CURLMsg    *msg;
			int			left;
			double		t;

			curl_multi_perform(m, &still);
			t = now_s();
			while ((msg = curl_multi_info_read(m, &left)) != NULL)
			{
				ven		   *v;
				long		st = 0;

				if (msg->msg != CURLMSG_DONE)
					continue;
				curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &v);
				curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &st);
				if (msg->data.result != CURLE_OK || st != 200 ||
					v->len < 3 || v->body[0] != '[')
				{
					if (errors++ < 5)
						fprintf(stderr, "vtn_load: GET %s: %ld %s %.200s\n", v->url, st,
								curl_easy_strerror(msg->data.result), v->body ? v->body : "");
				}
				else if (measure_from > 0 && t < end && nlat < cap)
					lat[nlat++] = t - v->t0;
				if (v->answered++ == 0 && ++warm == nvens)
				{
					measure_from = t;
					end = t + seconds;
					printf("bench: vtn: warm-up (every VEN answered once) took %.1f s\n",
						   t - start);
					fflush(stdout);
				}
				curl_multi_remove_handle(m, msg->easy_handle);
				if (end > 0 && t >= end)
					continue;
				free(v->body);
				v->body = NULL;
				v->len = 0;
				v->t0 = t;
				curl_multi_add_handle(m, v->h);
			}
			if (end > 0 && t >= end && still == 0)
				break;
			if (end > 0 && t >= end + 30)
				break;
			if (end == 0 && t - start > 300)
				die("warm-up", "did not finish in 300 s");
			curl_multi_poll(m, NULL, 0, 50, NULL);
		}
		qsort(lat, nlat, sizeof(double), cmp_double);
		printf("bench: vtn: GET /events?targets= from %d VENs over keep-alive TLS: "
			   "%.0f req/s, p50 %.2f ms, p99 %.2f ms, %zu requests in %.1f s, %ld errors\n",
			   nvens, nlat / seconds, nlat ? lat[nlat / 2] * 1000 : 0,
			   nlat ? lat[(size_t) (nlat * 0.99)] * 1000 : 0, nlat, seconds, errors);
	}
	return errors ? 1 : 0;
}
