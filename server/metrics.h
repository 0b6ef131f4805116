/*
 * server/metrics.h
 *	  Counters shared by every process, and the worker slot table.
 *
 * NOTES
 *	  The supervisor maps one anonymous MAP_SHARED region before it forks
 *	  anything, so every worker (and every restarted worker) sees the same
 *	  counters.  Counters are only touched with __atomic builtins; nothing
 *	  here takes a lock, so a worker that dies mid-update cannot wedge the
 *	  others.  The admin role renders them in the Prometheus text format.
 */
#ifndef DERMS_METRICS_H
#define DERMS_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

#define METRICS_MAX_ROUTES 256		/* route table rows, plus "unmatched" */
#define METRICS_MAX_SLOTS 256		/* worker processes */
#define METRICS_MAX_ROLES 16
#define METRICS_LISTENERS 3			/* sep2, vtn, admin */

/* HTTP status classes counted per route. */
enum metrics_status
{
	METRICS_S200, METRICS_S201, METRICS_S204, METRICS_S304,
	METRICS_S400, METRICS_S401, METRICS_S403, METRICS_S404, METRICS_S405,
	METRICS_S406, METRICS_S409, METRICS_S413, METRICS_S415, METRICS_S429,
	METRICS_S500, METRICS_S503, METRICS_SOTHER,
	METRICS_NSTATUS
};

#define METRICS_NBUCKETS 12

typedef struct metrics_slot
{
	pid_t		pid;			/* 0 when the slot is free */
	int			role;			/* index in the supervisor's role table */
	int			ready;			/* set by the worker once serving */
	int			db_ok;			/* worker's database connection is up */
} metrics_slot;

typedef struct metrics_shared
{
	uint64_t	requests[METRICS_MAX_ROUTES][METRICS_NSTATUS];
	uint64_t	latency_bucket[METRICS_LISTENERS][METRICS_NBUCKETS + 1];
	uint64_t	latency_sum_us[METRICS_LISTENERS];
	uint64_t	latency_count[METRICS_LISTENERS];
	uint64_t	tls_refused[METRICS_LISTENERS];
	uint64_t	tls_resumed_requests[METRICS_LISTENERS];
	int64_t		db_connections;	/* gauge */
	uint64_t	db_connects;
	uint64_t	db_connect_errors;
	uint64_t	db_query_errors;
	uint64_t	worker_restarts[METRICS_MAX_ROLES];
	uint64_t	reloads;
	uint64_t	reload_failures;
	uint64_t	notify_delivered;	/* notifications delivered (2xx) */
	uint64_t	notify_failed;	/* attempts that did not deliver */
	uint64_t	notify_dead;	/* given up after retries */
	uint64_t	notify_permanent;	/* failed for good (refused, 4xx) */
	uint64_t	notify_refused; /* refused by the address rules */
	uint64_t	notify_endpoints_dead;	/* receivers marked dead */
	int64_t		notify_pending; /* gauge: pending outbox rows */
	int64_t		notify_dead_endpoints;	/* gauge: receivers marked dead */
	metrics_slot slots[METRICS_MAX_SLOTS];
} metrics_shared;

/* Upper bounds of the latency buckets, in microseconds. */
extern const uint64_t metrics_bucket_us[METRICS_NBUCKETS];

/* The shared region; NULL until metrics_init (tests may run without). */
extern metrics_shared *metrics;

/* Map the region.  Called once by the supervisor before forking. */
derms_rc	metrics_init(derms_err *err);

/* This process's slot index, or -1 (set by the supervisor after fork). */
extern int	metrics_my_slot;

/* Add n to a counter or gauge of the shared region, if it is mapped. */
#define METRICS_ADD(field, n) \
	do { \
		if (metrics != NULL) \
			__atomic_fetch_add(&metrics->field, (n), __ATOMIC_RELAXED); \
	} while (0)

void		metrics_count_request(int route_index, int listener, int status,
								  uint64_t elapsed_us);
void		metrics_set_ready(bool ready);
void		metrics_set_db_ok(bool ok);

int			metrics_status_index(int status);
const char *metrics_status_label(int index);

#endif							/* DERMS_METRICS_H */
