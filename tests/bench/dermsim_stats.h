/*
 * tests/bench/dermsim_stats.h
 *	  dermsim's measurements: a latency histogram with bounded relative
 *	  error, and the request and error counters one interval or one run
 *	  adds up.
 *
 * NOTES
 *	  Included by tests/bench/dermsim.c only (every .c in tests/bench is a
 *	  program of its own), so everything here is static.
 *	  Latencies are whole microseconds.  Below SIM_HIST_LINEAR they are
 *	  kept exactly; above, each power of two is cut into SIM_HIST_SUB
 *	  buckets, so a percentile is off by at most 1/SIM_HIST_SUB (3 %).
 *	  The maximum is kept exactly.  A sim_stats is plain data: the worker
 *	  thread that owns one fills it under its own mutex, the reporting
 *	  thread merges copies.
 */
#ifndef DERMS_BENCH_DERMSIM_STATS_H
#define DERMS_BENCH_DERMSIM_STATS_H

#include <curl/curl.h>
#include <stdint.h>
#include <string.h>

#define SIM_HIST_LINEAR 64		/* exact below this many microseconds */
#define SIM_HIST_SUB 32			/* buckets per power of two above */
#define SIM_HIST_OCTAVES 36		/* 2^(6+36) us: far beyond any timeout */
#define SIM_HIST_BUCKETS (SIM_HIST_LINEAR + SIM_HIST_OCTAVES * SIM_HIST_SUB)
#define SIM_STATUS_MAX 600		/* HTTP status codes counted one by one */

typedef struct sim_hist
{
	uint64_t	count;
	uint64_t	max_us;
	uint64_t	bucket[SIM_HIST_BUCKETS];
} sim_hist;

/* What went wrong with one request. */
typedef enum sim_err_kind
{
	SIM_ERR_NONE = 0,
	SIM_ERR_TLS,				/* handshake, certificate, cipher */
	SIM_ERR_HTTP,				/* an answer, but not the status expected */
	SIM_ERR_TIMEOUT,			/* the request took longer than --timeout */
	SIM_ERR_CONNECT,			/* TCP connect refused or failed */
	SIM_ERR_IO,					/* connection reset, closed, nothing back */
	SIM_ERR_OTHER,				/* anything else libcurl reports */
	SIM_ERR_NKINDS
} sim_err_kind;

static const char *const sim_err_names[SIM_ERR_NKINDS] = {
	"ok", "tls", "http", "timeout", "connect", "io", "other"
};

typedef struct sim_stats
{
	uint64_t	requests;		/* finished, whatever the outcome */
	uint64_t	errors[SIM_ERR_NKINDS];	/* [SIM_ERR_NONE] unused */
	uint64_t	handshakes;		/* new TLS connections (full handshakes) */
	uint64_t	status[SIM_STATUS_MAX]; /* unexpected HTTP statuses */
	sim_hist	latency;		/* every finished request */
	sim_hist	handshake;		/* TCP connect done to TLS done */
} sim_stats;

static unsigned
sim_hist_index(uint64_t us)
{
	int			msb;
	unsigned	idx;

	if (us < SIM_HIST_LINEAR)
		return (unsigned) us;
	msb = 63 - __builtin_clzll(us); /* >= 6 */
	idx = SIM_HIST_LINEAR + (unsigned) (msb - 6) * SIM_HIST_SUB +
		(unsigned) ((us >> (msb - 5)) - SIM_HIST_SUB);
	return idx < SIM_HIST_BUCKETS ? idx : SIM_HIST_BUCKETS - 1;
}

/* The middle of bucket idx, in microseconds. */
static double
sim_hist_value(unsigned idx)
{
	unsigned	octave, sub;
	double		lo, width;

	if (idx < SIM_HIST_LINEAR)
		return (double) idx;
	octave = (idx - SIM_HIST_LINEAR) / SIM_HIST_SUB;
	sub = (idx - SIM_HIST_LINEAR) % SIM_HIST_SUB;
	width = (double) (UINT64_C(1) << (octave + 1));
	lo = (double) (SIM_HIST_SUB + sub) * width;
	return lo + width / 2;
}

static void
sim_hist_add(sim_hist *h, uint64_t us)
{
	h->bucket[sim_hist_index(us)]++;
	h->count++;
	if (us > h->max_us)
		h->max_us = us;
}

static void
sim_hist_merge(sim_hist *into, const sim_hist *from)
{
	into->count += from->count;
	if (from->max_us > into->max_us)
		into->max_us = from->max_us;
	for (unsigned i = 0; i < SIM_HIST_BUCKETS; i++)
		into->bucket[i] += from->bucket[i];
}

/* The q-quantile (0 < q <= 1) in milliseconds; 0 when empty. */
static double
sim_hist_ms(const sim_hist *h, double q)
{
	uint64_t	rank, seen = 0;

	if (h->count == 0)
		return 0.0;
	rank = (uint64_t) (q * (double) h->count + 0.5);
	if (rank < 1)
		rank = 1;
	for (unsigned i = 0; i < SIM_HIST_BUCKETS; i++)
	{
		seen += h->bucket[i];
		if (seen >= rank)
		{
			double		v = sim_hist_value(i);

			/* never report more than what was seen */
			if (v > (double) h->max_us)
				v = (double) h->max_us;
			return v / 1000.0;
		}
	}
	return (double) h->max_us / 1000.0;
}

static void
sim_stats_merge(sim_stats *into, const sim_stats *from)
{
	into->requests += from->requests;
	into->handshakes += from->handshakes;
	for (int k = 0; k < SIM_ERR_NKINDS; k++)
		into->errors[k] += from->errors[k];
	for (int s = 0; s < SIM_STATUS_MAX; s++)
		into->status[s] += from->status[s];
	sim_hist_merge(&into->latency, &from->latency);
	sim_hist_merge(&into->handshake, &from->handshake);
}

static uint64_t
sim_stats_errors(const sim_stats *s)
{
	uint64_t	n = 0;

	for (int k = SIM_ERR_NONE + 1; k < SIM_ERR_NKINDS; k++)
		n += s->errors[k];
	return n;
}

/* Sort a libcurl result into a kind (CURLE_OK is never an error here). */
static sim_err_kind
sim_err_classify(CURLcode rc)
{
	switch (rc)
	{
		case CURLE_OK:
			return SIM_ERR_NONE;
		case CURLE_OPERATION_TIMEDOUT:
			return SIM_ERR_TIMEOUT;
		case CURLE_COULDNT_CONNECT:
		case CURLE_COULDNT_RESOLVE_HOST:
			return SIM_ERR_CONNECT;
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_SSL_CERTPROBLEM:
		case CURLE_SSL_CIPHER:
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_ENGINE_NOTFOUND:
		case CURLE_SSL_ENGINE_SETFAILED:
		case CURLE_SSL_ENGINE_INITFAILED:
		case CURLE_SSL_CACERT_BADFILE:
		case CURLE_SSL_SHUTDOWN_FAILED:
		case CURLE_SSL_CRL_BADFILE:
		case CURLE_SSL_ISSUER_ERROR:
		case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
		case CURLE_SSL_INVALIDCERTSTATUS:
		case CURLE_SSL_CLIENTCERT:
		case CURLE_USE_SSL_FAILED:
			return SIM_ERR_TLS;
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
			return SIM_ERR_IO;
		default:
			return SIM_ERR_OTHER;
	}
}

#endif							/* DERMS_BENCH_DERMSIM_STATS_H */
