/*
 * tests/bench/sep2_load.c
 *	  Load on the IEEE 2030.5 listener: GET /dcap over mutual TLS 1.2 with
 *	  ECDHE-ECDSA-AES128-CCM8, as devices do.
 *
 *	  sep2_load URL CERT KEY CA REQUESTS CLIENTS MODE
 *	    MODE "new": a full handshake for every request (devices that poll
 *	    rarely); "keep": one connection per client, reused.
 *
 * NOTES
 *	  CLIENTS processes run side by side; each prints its latencies, the
 *	  parent merges them and prints the median, p99 and the rate.  On a
 *	  2-core machine the clients compete with the server for the CPU, so
 *	  the figures are a floor, not a ceiling.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t s, size_t n, void *u)
{
	(void) p;
	(void) u;
	return s * n;
}

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a, y = *(const double *) b;

	return (x > y) - (x < y);
}

static int
client(const char *url, const char *cert, const char *key, const char *ca,
	   int n, int reuse, FILE *out)
{
	CURL	   *c = NULL;
	int			failures = 0;

	for (int i = 0; i < n; i++)
	{
		double		t0;
		long		st = 0;

		if (c == NULL || !reuse)
		{
			if (c)
				curl_easy_cleanup(c);
			c = curl_easy_init();
			curl_easy_setopt(c, CURLOPT_URL, url);
			curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
			curl_easy_setopt(c, CURLOPT_SSLKEY, key);
			curl_easy_setopt(c, CURLOPT_CAINFO, ca);
			curl_easy_setopt(c, CURLOPT_SSLVERSION,
							 (long) (CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
			curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "ECDHE-ECDSA-AES128-CCM8");
			curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
			curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L);
			curl_easy_setopt(c, CURLOPT_FORBID_REUSE, reuse ? 0L : 1L);
		}
		t0 = now_s();
		if (curl_easy_perform(c) != CURLE_OK ||
			curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK || st != 200)
			failures++;
		fprintf(out, "%.9f\n", now_s() - t0);
	}
	if (c)
		curl_easy_cleanup(c);
	return failures;
}

int
main(int argc, char **argv)
{
	int			n, clients, reuse;
	double		t0, wall;
	double	   *lat;
	size_t		nlat = 0;
	int			failures = 0;
	char		tmpl[] = "/tmp/sep2_load.XXXXXX";
	FILE	   *f;

	if (argc != 8)
	{
		fprintf(stderr, "usage: sep2_load URL CERT KEY CA REQUESTS CLIENTS new|keep\n");
		return 2;
	}
	n = atoi(argv[5]);
	clients = atoi(argv[6]);
	reuse = strcmp(argv[7], "keep") == 0;
	if (n <= 0 || clients <= 0 || clients > 64)
		return 2;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (mkdtemp(tmpl) == NULL)
		return 1;

	t0 = now_s();
	for (int k = 0; k < clients; k++)
	{
		if (fork() == 0)
		{
			char		path[256];
			FILE	   *out;

			snprintf(path, sizeof(path), "%s/%d", tmpl, k);
			int			bad;

			out = fopen(path, "w");
			if (out == NULL)
				_exit(1);
			bad = client(argv[1], argv[2], argv[3], argv[4], n / clients, reuse, out);
			/* _exit does not flush stdio */
			_exit(fclose(out) == 0 && bad == 0 ? 0 : 1);
		}
	}
	for (int k = 0; k < clients; k++)
	{
		int			st;

		wait(&st);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failures++;
	}
	wall = now_s() - t0;

	lat = malloc(sizeof(double) * (size_t) n);
	for (int k = 0; k < clients; k++)
	{
		char		path[256];
		double		v;

		snprintf(path, sizeof(path), "%s/%d", tmpl, k);
		f = fopen(path, "r");
		while (f && nlat < (size_t) n && fscanf(f, "%lf", &v) == 1)
			lat[nlat++] = v;
		if (f)
			fclose(f);
		unlink(path);
	}
	rmdir(tmpl);
	qsort(lat, nlat, sizeof(double), cmp_double);
	printf("bench: sep2: GET /dcap mode=%s clients=%d requests=%zu: median %.2f ms, p99 %.2f ms, %.0f req/s%s\n",
		   argv[7], clients, nlat, nlat ? lat[nlat / 2] * 1e3 : 0.0,
		   nlat ? lat[(nlat * 99) / 100] * 1e3 : 0.0, (double) nlat / wall,
		   failures ? " (CLIENT FAILURES)" : "");
	free(lat);
	return failures ? 1 : 0;
}
