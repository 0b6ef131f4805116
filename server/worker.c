/*
 * server/worker.c
 *	  Worker role main loops: startup (migrations), the three HTTP
 *	  listeners, and idle roles.
 *
 * NOTES
 *	  Runs in forked children only.  Each worker blocks SIGTERM, SIGHUP and
 *	  SIGINT, lets handlers set flags and sleeps in ppoll() with the old
 *	  mask.  libmicrohttpd's thread is started with the signals blocked, so
 *	  they are always delivered to the main thread.
 *
 *	  An HTTP worker serves through a "generation": a configuration, a
 *	  database handle and a listener built from them.  SIGHUP re-reads the
 *	  configuration file; if it is valid a new generation starts on the same
 *	  listening socket, the old one stops accepting and is stopped once its
 *	  connections are gone (or after the idle timeout).  A generation's
 *	  database handle is used only by its listener's thread.
 */
#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "migrate.h"

#define MAX_DRAINING 4

typedef struct generation
{
	derms_config cfg;			/* owned */
	db		   *db;				/* owned */
	http_server *server;		/* owned */
	time_t		draining_since; /* 0 while serving */
} generation;

static volatile sig_atomic_t w_term;
static volatile sig_atomic_t w_hup;

static void
worker_on_signal(int sig)
{
	if (sig == SIGHUP)
		w_hup = 1;
	else
		w_term = 1;
}

/* Block the worker's signals and install flag-setting handlers. */
static void
worker_signals(sigset_t *oldmask)
{
	struct sigaction sa;
	sigset_t	block;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, oldmask);
	sigdelset(oldmask, SIGPIPE);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = worker_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void
worker_sleep(const sigset_t *oldmask, int ms)
{
	struct timespec ts = {ms / 1000, (long) (ms % 1000) * 1000000L};

	if (w_term || w_hup)
		return;
	ppoll(NULL, 0, &ts, oldmask);
}

/*
 * Re-read the configuration file into *out, keeping cur's values of the
 * settings that need a restart; false (logged) when invalid.
 */
static bool
config_reread(const char *path, const derms_config *cur, derms_config *out)
{
	derms_err	err;

	if (config_load(path, out, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "could not read the configuration: %s", err.msg);
		return false;
	}
	if (config_keep_restart(out, cur, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "could not apply the configuration: %s", err.msg);
		config_free(out);
		return false;
	}
	return true;
}

static void
generation_free(generation *g)
{
	if (g == NULL)
		return;
	http_server_stop(g->server);
	db_destroy(g->db);
	config_free(&g->cfg);
	free(g);
}

/* New generation on fd.  cfg is stolen (its strings move into the
 * generation, or are freed on failure) and left zeroed. */
static generation *
generation_start(http_listener_kind kind, int fd, derms_config *cfg)
{
	generation *g = calloc(1, sizeof(*g));
	derms_err	err;

	if (g == NULL)
	{
		config_free(cfg);
		return NULL;
	}
	g->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	if (kind == HTTP_SEP2)
	{
		/*
		 * The 2030.5 Time resource speaks the territory's zone; it is the
		 * only zone this process uses.  Set before the listener's thread
		 * starts (on a reload the old thread may still convert a time
		 * meanwhile; glibc serializes tzset against localtime_r).
		 */
		setenv("TZ", g->cfg.sep2_time_zone, 1);
		tzset();
	}
	g->db = db_create(g->cfg.db_conninfo, g->cfg.db_reconnect_max_ms);
	if (g->db == NULL)
	{
		generation_free(g);
		return NULL;
	}
	g->server = http_server_start(kind, fd, &g->cfg, g->db, &err);
	if (g->server == NULL)
	{
		log_msg(LOG_ERR, "%s", err.msg);
		generation_free(g);
		return NULL;
	}
	return g;
}

static int
http_worker(http_listener_kind kind, derms_config *cfg0, const worker_env *env)
{
	sigset_t	oldmask;
	generation *cur;
	generation *draining[MAX_DRAINING] = {0};
	int			fd = env->listen_fd[kind];
	time_t		term_at = 0;

	worker_signals(&oldmask);
	log_set_level(cfg0->log_level);
	/* the forked copy of the supervisor's configuration is ours now */
	cur = generation_start(kind, fd, cfg0);
	if (cur == NULL)
		return DERMS_EXIT_FAILURE;
	metrics_set_ready(true);

	for (;;)
	{
		time_t		now = time(NULL);

		if (w_term && term_at == 0)
		{
			/* stop accepting; finish in-flight requests */
			term_at = now;
			metrics_set_ready(false);
			http_server_quiesce(cur->server);
			for (int i = 0; i < MAX_DRAINING; i++)
				if (draining[i])
					http_server_quiesce(draining[i]->server);
		}
		if (term_at)
		{
			unsigned	open = http_server_connections(cur->server);

			for (int i = 0; i < MAX_DRAINING; i++)
				if (draining[i])
					open += http_server_connections(draining[i]->server);
			if (open == 0 || now - term_at >= cur->cfg.shutdown_timeout_s)
				break;
			worker_sleep(&oldmask, 20);
			continue;
		}
		if (w_hup)
		{
			derms_config ncfg;

			w_hup = 0;
			if (config_reread(env->config_path, &cur->cfg, &ncfg))
			{
				generation *next;
				int			slot = -1;

				log_set_level(ncfg.log_level);
				for (int i = 0; i < MAX_DRAINING; i++)
					if (draining[i] == NULL)
						slot = i;
				if (slot < 0)
				{
					log_msg(LOG_WARNING, "too many reloads in progress; reload ignored");
					config_free(&ncfg);
				}
				else if ((next = generation_start(kind, fd, &ncfg)) != NULL)
				{
					http_server_quiesce(cur->server);
					cur->draining_since = now;
					draining[slot] = cur;
					cur = next;
					http_identity_cache_clear();
					log_msg(LOG_INFO, "reloaded; serving with the new configuration");
				}
				else
					log_msg(LOG_ERR, "reload failed; still serving with the old configuration");
			}
		}
		for (int i = 0; i < MAX_DRAINING; i++)
		{
			generation *g = draining[i];

			if (g && (http_server_connections(g->server) == 0 ||
					  now - g->draining_since > g->cfg.http_idle_timeout_s))
			{
				generation_free(g);
				draining[i] = NULL;
			}
		}
		worker_sleep(&oldmask, 500);
	}

	for (int i = 0; i < MAX_DRAINING; i++)
		generation_free(draining[i]);
	generation_free(cur);
	return DERMS_EXIT_OK;
}

int
worker_sep2_main(derms_config *cfg, const worker_env *env)
{
	return http_worker(HTTP_SEP2, cfg, env);
}

int
worker_vtn_main(derms_config *cfg, const worker_env *env)
{
	return http_worker(HTTP_VTN, cfg, env);
}

int
worker_admin_main(derms_config *cfg, const worker_env *env)
{
	return http_worker(HTTP_ADMIN, cfg, env);
}

/* Roles with no work yet: start, report ready, wait to be stopped. */
int
worker_idle_main(derms_config *cfg, const worker_env *env)
{
	sigset_t	oldmask;

	(void) env;
	worker_signals(&oldmask);
	log_set_level(cfg->log_level);
	metrics_set_ready(true);
	while (!w_term)
	{
		w_hup = 0;
		worker_sleep(&oldmask, 1000);
	}
	return DERMS_EXIT_OK;
}

/* Apply migrations, retrying while the database is unreachable. */
int
worker_startup_main(derms_config *cfg, const worker_env *env)
{
	sigset_t	oldmask;
	db		   *d;
	derms_err	err;
	int			napplied = 0;
	int			delay_ms = 100;
	bool		logged = false;

	(void) env;
	worker_signals(&oldmask);
	d = db_create(cfg->db_conninfo, cfg->db_reconnect_max_ms);
	if (d == NULL)
		return DERMS_EXIT_FAILURE;
	for (;;)
	{
		PGconn	   *c;

		if (w_term)
		{
			db_destroy(d);
			return DERMS_EXIT_OK;
		}
		c = db_conn(d, &err);
		if (c != NULL)
			break;
		if (!logged)
		{
			log_msg(LOG_WARNING, "waiting for the database: %s", err.msg);
			logged = true;
		}
		worker_sleep(&oldmask, delay_ms);
		w_hup = 0;
		if (delay_ms < cfg->db_reconnect_max_ms)
			delay_ms *= 2;
		if (delay_ms > cfg->db_reconnect_max_ms)
			delay_ms = cfg->db_reconnect_max_ms;
	}
	if (migrate_apply(db_conn(d, &err), cfg->db_schema_dir, &napplied, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "schema migration failed: %s", err.msg);
		db_destroy(d);
		return DERMS_EXIT_FAILURE;
	}
	log_msg(LOG_INFO, "database schema is current (%d migration(s) applied now)", napplied);
	db_destroy(d);
	return DERMS_EXIT_OK;
}
