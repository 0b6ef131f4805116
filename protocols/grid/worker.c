/*
 * protocols/grid/worker.c
 *	  The "dispatch" role.  Every dispatch.interval_s it looks at each
 *	  aggregation with targets in the horizon and dispatches it again
 *	  (build, solve, store, publish: dispatch_run_db with
 *	  grid_publish_run) when dispatch_store_need() says why: no run yet,
 *	  a new target, the horizon running out, a resource gone offline or
 *	  back, a missed setpoint or a SoC drift beyond the tolerances.  The
 *	  reason is logged and kept with the run.
 *
 * NOTES
 *	  A forked child of the supervisor (server/supervisor.c runs it
 *	  through the function pointer routes.c defines), with its own
 *	  database handle.  Signals as in every worker: blocked, flag-setting
 *	  handlers, ppoll() with the old mask.  SIGHUP re-reads the
 *	  configuration (invalid: kept, logged).  One arena per pass, destroyed
 *	  at its end.  A resource is offline when its latest DERStatus is older
 *	  than dispatch.offline_polls times sep2.post_rate_s.
 */
#include "worker.h"

#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/dbinstance.h"
#include "dispatch/store.h"
#include "protocols/grid/publish.h"
#include "server/db.h"
#include "server/log.h"
#include "server/metrics.h"

static volatile sig_atomic_t g_term;
static volatile sig_atomic_t g_hup;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		g_hup = 1;
	else
		g_term = 1;
}

static void
block_signals(sigset_t *oldmask)
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
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* One pass over the aggregations with targets in the horizon. */
static void
pass(db *d, const derms_config *cfg)
{
	arena	   *a = arena_create(0);
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;
	const char *p[1];

	if (a == NULL)
		return;
	if ((c = db_conn(d, &err)) == NULL)
	{
		log_msg(LOG_WARNING, "dispatch: database unavailable: %s", err.msg);
		arena_destroy(a);
		return;
	}
	p[0] = arena_printf(a, "%d", cfg->dispatch_horizon_h);
	r = dispatch_db_exec(c, a,
						 "SELECT DISTINCT aggregation_id FROM dispatch_targets"
						 " WHERE interval_start + interval_s * interval '1 second' > now()"
						 " AND interval_start < now() + $1::int * interval '1 hour'"
						 " ORDER BY aggregation_id", 1, p, &err);
	if (r == NULL)
	{
		log_msg(LOG_WARNING, "dispatch: could not list aggregations: %s", err.msg);
		arena_destroy(a);
		return;
	}
	for (int i = 0; i < PQntuples(r) && !g_term; i++)
	{
		dispatch_watch w;
		dispatch_run_request rq;
		const char *why = NULL;
		int64_t		run;

		memset(&w, 0, sizeof(w));
		w.aggregation_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		w.now = time(NULL);
		w.offline_s = cfg->dispatch_offline_polls * cfg->sep2_post_rate_s;
		w.tolerance_pct = cfg->dispatch_tolerance_pct;
		w.soc_tolerance_pct = cfg->dispatch_soc_tolerance_pct;
		if (dispatch_store_need(c, a, &w, &why, &err) != DERMS_OK)
		{
			log_msg(LOG_WARNING, "dispatch: aggregation %" PRId64 ": %s", w.aggregation_id,
					err.msg);
			continue;
		}
		if (why == NULL)
			continue;
		memset(&rq, 0, sizeof(rq));
		rq.aggregation_id = w.aggregation_id;
		rq.horizon_h = cfg->dispatch_horizon_h;
		rq.offline_s = w.offline_s;
		rq.actor = "dispatch";
		rq.reason = why;
		rq.publish = grid_publish_run;
		if (dispatch_run_db(c, a, &rq, &run, &err) != DERMS_OK)
			log_msg(LOG_WARNING, "dispatch: aggregation %" PRId64 " (%s): %s",
					w.aggregation_id, why, err.msg);
		else
			log_msg(LOG_INFO, "dispatch: aggregation %" PRId64 ": run %" PRId64 ": %s",
					w.aggregation_id, run, why);
	}
	arena_destroy(a);
}

int
grid_dispatch_main(derms_config *cfg, const worker_env *env)
{
	sigset_t	oldmask;
	derms_config cur;
	char	   *path;
	db		   *d;
	time_t		next = 0;

	block_signals(&oldmask);
	log_set_level(cfg->log_level);
	/* the forked copy of the supervisor's configuration is ours now */
	cur = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	path = strdup(env->config_path ? env->config_path : "");
	d = db_create(cur.db_conninfo, cur.db_reconnect_max_ms);
	if (d == NULL || path == NULL)
	{
		free(path);
		config_free(&cur);
		return DERMS_EXIT_FAILURE;
	}
	metrics_set_ready(true);
	while (!g_term)
	{
		struct timespec ts = {1, 0};

		if (g_hup)
		{
			derms_config next_cfg;
			derms_err	err;

			g_hup = 0;
			if (config_load(path, &next_cfg, &err) != DERMS_OK)
				log_msg(LOG_ERR, "could not read the configuration: %s", err.msg);
			else if (config_keep_restart(&next_cfg, &cur, &err) != DERMS_OK)
			{
				log_msg(LOG_ERR, "could not reload the configuration: %s", err.msg);
				config_free(&next_cfg);
			}
			else
			{
				config_free(&cur);
				cur = next_cfg;
				log_set_level(cur.log_level);
				db_set_conninfo(d, cur.db_conninfo, cur.db_reconnect_max_ms);
			}
		}
		if (time(NULL) >= next)
		{
			pass(d, &cur);
			next = time(NULL) + cur.dispatch_interval_s;
		}
		if (!g_term && !g_hup)
			ppoll(NULL, 0, &ts, &oldmask);
	}
	db_destroy(d);
	config_free(&cur);
	free(path);
	return DERMS_EXIT_OK;
}
