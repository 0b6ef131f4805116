/*
 * server/db.c
 *	  Worker database connection with bounded exponential reconnect backoff.
 *
 * NOTES
 *	  Counters for connections, connect errors and query errors go to the
 *	  shared metrics region.  A result that failed because the connection
 *	  broke (PQstatus is CONNECTION_BAD afterwards) marks the handle down
 *	  and the failure is logged once, not for every request.
 */
#include "db.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#define DB_BACKOFF_MIN_MS 100

struct db
{
	char	   *conninfo;
	int			reconnect_max_ms;
	PGconn	   *conn;
	int			backoff_ms;		/* 0 while healthy */
	uint64_t	next_try_ms;	/* monotonic */
	bool		logged_down;
	bool		counted;		/* counted in the connections gauge */
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

db *
db_create(const char *conninfo, int reconnect_max_ms)
{
	db		   *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	d->conninfo = strdup(conninfo);
	if (d->conninfo == NULL)
	{
		free(d);
		return NULL;
	}
	d->reconnect_max_ms = reconnect_max_ms > 0 ? reconnect_max_ms : 30000;
	return d;
}

static void
db_drop(db *d)
{
	if (d->conn != NULL)
	{
		if (d->counted)
			METRICS_ADD(db_connections, -1);
		d->counted = false;
		PQfinish(d->conn);
		d->conn = NULL;
	}
}

void
db_destroy(db *d)
{
	if (d == NULL)
		return;
	db_drop(d);
	free(d->conninfo);
	free(d);
}

void
db_set_conninfo(db *d, const char *conninfo, int reconnect_max_ms)
{
	char	   *c;

	if (strcmp(conninfo, d->conninfo) != 0 && (c = strdup(conninfo)) != NULL)
	{
		free(d->conninfo);
		d->conninfo = c;
		/* reconnect with the new settings at the next use */
		db_drop(d);
		metrics_set_db_ok(false);
		d->backoff_ms = 0;
		d->next_try_ms = 0;
	}
	d->reconnect_max_ms = reconnect_max_ms > 0 ? reconnect_max_ms : 30000;
}

static void
mark_down(db *d, const char *why)
{
	db_drop(d);
	metrics_set_db_ok(false);
	d->backoff_ms = d->backoff_ms ? d->backoff_ms * 2 : DB_BACKOFF_MIN_MS;
	if (d->backoff_ms > d->reconnect_max_ms)
		d->backoff_ms = d->reconnect_max_ms;
	d->next_try_ms = now_ms() + (uint64_t) d->backoff_ms;
	if (!d->logged_down)
	{
		log_msg(LOG_WARNING, "database unavailable, retrying with backoff: %s", why);
		d->logged_down = true;
	}
}

PGconn *
db_conn(db *d, derms_err *err)
{
	assert(d != NULL);
	if (d->conn != NULL && PQstatus(d->conn) == CONNECTION_OK)
		return d->conn;
	if (d->conn != NULL)
		mark_down(d, "connection lost");
	if (now_ms() < d->next_try_ms)
	{
		derms_err_set(err, DERMS_EDB, "database unavailable (retrying in %d ms)",
					  (int) (d->next_try_ms - now_ms()));
		return NULL;
	}

	METRICS_ADD(db_connects, 1);
	d->conn = PQconnectdb(d->conninfo);
	if (d->conn == NULL || PQstatus(d->conn) != CONNECTION_OK)
	{
		char		msg[256];

		snprintf(msg, sizeof(msg), "%s",
				 d->conn ? PQerrorMessage(d->conn) : "out of memory");
		msg[strcspn(msg, "\n")] = '\0';
		METRICS_ADD(db_connect_errors, 1);
		if (d->conn)
		{
			PQfinish(d->conn);
			d->conn = NULL;
		}
		mark_down(d, msg);
		derms_err_set(err, DERMS_EDB, "could not connect to database: %s", msg);
		return NULL;
	}
	METRICS_ADD(db_connections, 1);
	d->counted = true;
	metrics_set_db_ok(true);
	if (d->logged_down || d->backoff_ms)
		log_msg(LOG_INFO, "database connection restored");
	d->backoff_ms = 0;
	d->logged_down = false;
	return d->conn;
}

bool
db_is_up(const db *d)
{
	return d->conn != NULL && PQstatus(d->conn) == CONNECTION_OK;
}

static void
pqclear_cb(void *p)
{
	PQclear(p);
}

PGresult *
db_exec(db *d, arena *a, const char *sql, int nparams,
		const char *const *params, char sqlstate[6], derms_err *err)
{
	PGconn	   *c;
	PGresult   *r;
	ExecStatusType st;

	if (sqlstate)
		sqlstate[0] = '\0';
	c = db_conn(d, err);
	if (c == NULL)
		return NULL;
	r = PQexecParams(c, sql, nparams, NULL, params, NULL, NULL, 0);
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
	{
		if (arena_on_destroy(a, pqclear_cb, r) != 0)
		{
			derms_err_set(err, DERMS_ENOMEM, "out of memory");
			return NULL;
		}
		return r;
	}

	METRICS_ADD(db_query_errors, 1);
	{
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

		if (sqlstate && state)
			snprintf(sqlstate, 6, "%s", state);
		if (msg == NULL)
			msg = PQerrorMessage(c);
		derms_err_set(err, DERMS_EDB, "%s", msg);
		if (err)
			err->msg[strcspn(err->msg, "\n")] = '\0';
	}
	if (r)
		PQclear(r);
	if (PQstatus(c) != CONNECTION_OK)
		mark_down(d, "connection lost during a query");
	return NULL;
}

bool
db_wait_connected(db *d, volatile const int *stop, derms_err *err)
{
	while (stop == NULL || !*stop)
	{
		if (db_conn(d, err) != NULL)
			return true;
		usleep(50 * 1000);
	}
	return false;
}
