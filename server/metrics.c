/*
 * server/metrics.c
 *	  The shared counter region and its atomic updates.
 *
 * NOTES
 *	  Rendering lives in admin.c; this file only maps and counts.
 */
#include "metrics.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

metrics_shared *metrics = NULL;
int			metrics_my_slot = -1;

const uint64_t metrics_bucket_us[METRICS_NBUCKETS] = {
	250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
	1000000, 5000000
};

static const struct
{
	int			status;
	const char *label;
}			status_table[METRICS_NSTATUS] = {
	[METRICS_S200] = {200, "200"}, [METRICS_S201] = {201, "201"},
	[METRICS_S204] = {204, "204"}, [METRICS_S304] = {304, "304"},
	[METRICS_S400] = {400, "400"}, [METRICS_S401] = {401, "401"},
	[METRICS_S403] = {403, "403"}, [METRICS_S404] = {404, "404"},
	[METRICS_S405] = {405, "405"}, [METRICS_S406] = {406, "406"},
	[METRICS_S409] = {409, "409"}, [METRICS_S413] = {413, "413"},
	[METRICS_S415] = {415, "415"}, [METRICS_S429] = {429, "429"},
	[METRICS_S500] = {500, "500"}, [METRICS_S503] = {503, "503"},
	[METRICS_SOTHER] = {0, "other"},
};

derms_rc
metrics_init(derms_err *err)
{
	void	   *p;

	if (metrics != NULL)
		return DERMS_OK;
	p = mmap(NULL, sizeof(metrics_shared), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return derms_err_set(err, DERMS_EIO,
							 "could not map shared metrics: %s", strerror(errno));
	memset(p, 0, sizeof(metrics_shared));
	metrics = p;
	return DERMS_OK;
}

int
metrics_status_index(int status)
{
	for (int i = 0; i < METRICS_SOTHER; i++)
		if (status_table[i].status == status)
			return i;
	return METRICS_SOTHER;
}

const char *
metrics_status_label(int index)
{
	if (index < 0 || index >= METRICS_NSTATUS)
		return "other";
	return status_table[index].label;
}

void
metrics_count_request(int route_index, int listener, int status,
					  uint64_t elapsed_us)
{
	int			b;

	if (metrics == NULL)
		return;
	if (route_index < 0 || route_index >= METRICS_MAX_ROUTES)
		route_index = METRICS_MAX_ROUTES - 1;
	if (listener < 0 || listener >= METRICS_LISTENERS)
		return;
	__atomic_fetch_add(&metrics->requests[route_index][metrics_status_index(status)],
					   1, __ATOMIC_RELAXED);
	for (b = 0; b < METRICS_NBUCKETS; b++)
		if (elapsed_us <= metrics_bucket_us[b])
			break;
	__atomic_fetch_add(&metrics->latency_bucket[listener][b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&metrics->latency_sum_us[listener], elapsed_us, __ATOMIC_RELAXED);
	__atomic_fetch_add(&metrics->latency_count[listener], 1, __ATOMIC_RELAXED);
}

void
metrics_set_ready(bool ready)
{
	if (metrics != NULL && metrics_my_slot >= 0)
		__atomic_store_n(&metrics->slots[metrics_my_slot].ready, ready ? 1 : 0,
						 __ATOMIC_RELEASE);
}

void
metrics_set_db_ok(bool ok)
{
	if (metrics != NULL && metrics_my_slot >= 0)
		__atomic_store_n(&metrics->slots[metrics_my_slot].db_ok, ok ? 1 : 0,
						 __ATOMIC_RELEASE);
}
