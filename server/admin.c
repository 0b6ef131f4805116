/*
 * server/admin.c
 *	  /healthz, /readyz and /metrics.
 *
 * NOTES
 *	  Runs in the admin worker.  /healthz says the process answers.
 *	  /readyz is 200 only when the database is reachable and writable (a
 *	  real write to health_probe, so a full disk or a read-only standby
 *	  shows) and every worker that serves a listener reports ready (its
 *	  certificates loaded).  /metrics renders the shared counters in the
 *	  Prometheus text exposition format 0.0.4.
 */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "supervisor.h"

#define TEXT_CT "text/plain; charset=utf-8"
#define PROM_CT "text/plain; version=0.0.4; charset=utf-8"

static const char *const listener_label[METRICS_LISTENERS] = {"sep2", "vtn", "admin"};

int
admin_healthz(http_request *req)
{
	return http_reply(req, 200, TEXT_CT, "ok\n", 3);
}

/* Copy an open_memstream buffer into the arena and free it. */
static char *
stream_to_arena(arena *a, FILE *f, char **buf, size_t *len)
{
	char	   *out = NULL;

	/* the buffer and length are only valid after fclose */
	if (fclose(f) == 0 && *buf != NULL)
		out = arena_strndup(a, *buf, *len);
	free(*buf);
	return out;
}

int
admin_readyz(http_request *req)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	derms_err	err;
	bool		ok = true;
	char	   *body;
	PGresult   *r;

	if (f == NULL)
		return http_error(req, 500, "out of memory");

	r = db_exec(req->db, req->arena,
				"INSERT INTO health_probe (id, at) VALUES (1, now())"
				" ON CONFLICT (id) DO UPDATE SET at = now()",
				0, NULL, NULL, &err);
	if (r == NULL)
	{
		ok = false;
		fprintf(f, "database: not ready: %s\n", err.msg);
	}
	else
		fprintf(f, "database: ok\n");

	for (int role = 0; role < supervisor_nroles(); role++)
	{
		int			want = 0, ready = 0, done = 0;

		if (metrics == NULL)
			break;
		want = supervisor_role_count(req->cfg, role);
		if (want == 0)
			continue;
		for (int i = 0; i < METRICS_MAX_SLOTS; i++)
		{
			const metrics_slot *s = &metrics->slots[i];

			if (s->role != role || s->pid == 0)
				continue;
			if (__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE))
				ready++;
			else
				done++;
		}
		if (supervisor_role_is_oneshot(role))
		{
			/* the startup role is ready once it has finished */
			if (ready + done > 0)
			{
				ok = false;
				fprintf(f, "%s: running (applying schema migrations)\n",
						supervisor_role_name(role));
			}
			continue;
		}
		if (ready < want)
			ok = false;
		fprintf(f, "%s workers: %d/%d ready\n", supervisor_role_name(role), ready, want);
	}
	body = stream_to_arena(req->arena, f, &buf, &len);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, ok ? 200 : 503, TEXT_CT, body, len);
}

int
admin_metrics(http_request *req)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f;
	char	   *body;
	const metrics_shared *m = metrics;

	if (m == NULL)
		return http_error(req, 503, "metrics are not available");
	f = open_memstream(&buf, &len);
	if (f == NULL)
		return http_error(req, 500, "out of memory");

	fprintf(f, "# HELP dermsd_http_requests_total HTTP requests by listener, route and status.\n"
			"# TYPE dermsd_http_requests_total counter\n");
	for (size_t r = 0; r < METRICS_MAX_ROUTES; r++)
	{
		const char *method = "", *route = "unmatched", *listener = "";

		if (r < http_nroutes)
		{
			method = http_routes[r].method;
			route = http_routes[r].pattern;
			listener = listener_label[http_routes[r].listener];
		}
		else if (r != METRICS_MAX_ROUTES - 1)
			continue;
		for (int s = 0; s < METRICS_NSTATUS; s++)
		{
			uint64_t	v = __atomic_load_n(&m->requests[r][s], __ATOMIC_RELAXED);

			if (v == 0)
				continue;
			fprintf(f, "dermsd_http_requests_total{listener=\"%s\",method=\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
					listener, method, route, metrics_status_label(s),
					(unsigned long long) v);
		}
	}

	fprintf(f, "# HELP dermsd_http_request_duration_seconds Time from request start to response.\n"
			"# TYPE dermsd_http_request_duration_seconds histogram\n");
	for (int l = 0; l < METRICS_LISTENERS; l++)
	{
		uint64_t	cum = 0;

		for (int b = 0; b <= METRICS_NBUCKETS; b++)
		{
			cum += __atomic_load_n(&m->latency_bucket[l][b], __ATOMIC_RELAXED);
			if (b < METRICS_NBUCKETS)
				fprintf(f, "dermsd_http_request_duration_seconds_bucket{listener=\"%s\",le=\"%g\"} %llu\n",
						listener_label[l], (double) metrics_bucket_us[b] / 1e6,
						(unsigned long long) cum);
			else
				fprintf(f, "dermsd_http_request_duration_seconds_bucket{listener=\"%s\",le=\"+Inf\"} %llu\n",
						listener_label[l], (unsigned long long) cum);
		}
		fprintf(f, "dermsd_http_request_duration_seconds_sum{listener=\"%s\"} %.6f\n",
				listener_label[l], (double) m->latency_sum_us[l] / 1e6);
		fprintf(f, "dermsd_http_request_duration_seconds_count{listener=\"%s\"} %llu\n",
				listener_label[l], (unsigned long long) m->latency_count[l]);
	}

	fprintf(f, "# HELP dermsd_tls_handshakes_refused_total Client certificates refused during the handshake.\n"
			"# TYPE dermsd_tls_handshakes_refused_total counter\n");
	for (int l = 0; l < METRICS_LISTENERS; l++)
		fprintf(f, "dermsd_tls_handshakes_refused_total{listener=\"%s\"} %llu\n",
				listener_label[l], (unsigned long long) m->tls_refused[l]);

	fprintf(f, "# HELP dermsd_tls_resumed_requests_total Requests on TLS sessions resumed from a session ticket.\n"
			"# TYPE dermsd_tls_resumed_requests_total counter\n");
	for (int l = 0; l < METRICS_LISTENERS; l++)
		fprintf(f, "dermsd_tls_resumed_requests_total{listener=\"%s\"} %llu\n",
				listener_label[l], (unsigned long long) m->tls_resumed_requests[l]);

	fprintf(f, "# HELP dermsd_db_connections Open database connections of all workers.\n"
			"# TYPE dermsd_db_connections gauge\n"
			"dermsd_db_connections %lld\n"
			"# HELP dermsd_db_connects_total Database connection attempts.\n"
			"# TYPE dermsd_db_connects_total counter\n"
			"dermsd_db_connects_total %llu\n"
			"# HELP dermsd_db_connect_errors_total Failed database connection attempts.\n"
			"# TYPE dermsd_db_connect_errors_total counter\n"
			"dermsd_db_connect_errors_total %llu\n"
			"# HELP dermsd_db_query_errors_total Failed database statements.\n"
			"# TYPE dermsd_db_query_errors_total counter\n"
			"dermsd_db_query_errors_total %llu\n",
			(long long) m->db_connections, (unsigned long long) m->db_connects,
			(unsigned long long) m->db_connect_errors,
			(unsigned long long) m->db_query_errors);

	fprintf(f, "# HELP dermsd_worker_restarts_total Workers restarted after dying, by role.\n"
			"# TYPE dermsd_worker_restarts_total counter\n");
	for (int r = 0; r < supervisor_nroles() && r < METRICS_MAX_ROLES; r++)
		fprintf(f, "dermsd_worker_restarts_total{role=\"%s\"} %llu\n",
				supervisor_role_name(r), (unsigned long long) m->worker_restarts[r]);

	fprintf(f, "# HELP dermsd_workers_ready Workers reporting ready, by role.\n"
			"# TYPE dermsd_workers_ready gauge\n");
	for (int r = 0; r < supervisor_nroles() && r < METRICS_MAX_ROLES; r++)
	{
		int			n = 0;

		for (int i = 0; i < METRICS_MAX_SLOTS; i++)
			if (m->slots[i].pid != 0 && m->slots[i].role == r && m->slots[i].ready)
				n++;
		fprintf(f, "dermsd_workers_ready{role=\"%s\"} %d\n", supervisor_role_name(r), n);
	}

	fprintf(f, "# HELP dermsd_config_reloads_total Successful configuration reloads.\n"
			"# TYPE dermsd_config_reloads_total counter\n"
			"dermsd_config_reloads_total %llu\n"
			"# HELP dermsd_config_reload_failures_total Reloads refused because the new configuration was invalid.\n"
			"# TYPE dermsd_config_reload_failures_total counter\n"
			"dermsd_config_reload_failures_total %llu\n",
			(unsigned long long) m->reloads, (unsigned long long) m->reload_failures);

	fprintf(f, "# HELP dermsd_notify_delivered_total Notifications delivered (2xx).\n"
			"# TYPE dermsd_notify_delivered_total counter\n"
			"dermsd_notify_delivered_total %llu\n"
			"# HELP dermsd_notify_failed_total Notification attempts that did not deliver.\n"
			"# TYPE dermsd_notify_failed_total counter\n"
			"dermsd_notify_failed_total %llu\n"
			"# HELP dermsd_notify_dead_total Notifications given up after their retries.\n"
			"# TYPE dermsd_notify_dead_total counter\n"
			"dermsd_notify_dead_total %llu\n"
			"# HELP dermsd_notify_failed_permanent_total Notifications failed for good (refused address, 3xx, 4xx).\n"
			"# TYPE dermsd_notify_failed_permanent_total counter\n"
			"dermsd_notify_failed_permanent_total %llu\n"
			"# HELP dermsd_notify_refused_total Notifications refused by the address rules.\n"
			"# TYPE dermsd_notify_refused_total counter\n"
			"dermsd_notify_refused_total %llu\n"
			"# HELP dermsd_notify_endpoints_marked_dead_total Notification receivers marked dead.\n"
			"# TYPE dermsd_notify_endpoints_marked_dead_total counter\n"
			"dermsd_notify_endpoints_marked_dead_total %llu\n"
			"# HELP dermsd_notify_pending Notifications waiting in the outbox.\n"
			"# TYPE dermsd_notify_pending gauge\n"
			"dermsd_notify_pending %lld\n"
			"# HELP dermsd_notify_dead_endpoints Notification receivers currently marked dead.\n"
			"# TYPE dermsd_notify_dead_endpoints gauge\n"
			"dermsd_notify_dead_endpoints %lld\n",
			(unsigned long long) m->notify_delivered,
			(unsigned long long) m->notify_failed,
			(unsigned long long) m->notify_dead,
			(unsigned long long) m->notify_permanent,
			(unsigned long long) m->notify_refused,
			(unsigned long long) m->notify_endpoints_dead,
			(long long) m->notify_pending,
			(long long) m->notify_dead_endpoints);

	body = stream_to_arena(req->arena, f, &buf, &len);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, 200, PROM_CT, body, len);
}
