/*
 * server/db.h
 *	  One PostgreSQL connection per worker, with reconnection.
 *
 * NOTES
 *	  The conninfo is passed to libpq untouched, so multi-host strings with
 *	  target_session_attrs=read-write work.  A worker never exits because
 *	  the database went away: db_conn() reports it down, and the next call
 *	  after the backoff (100 ms doubling up to reconnect_max_ms) tries to
 *	  connect again.  A db handle is used by one thread only.
 */
#ifndef DERMS_DB_H
#define DERMS_DB_H

#include <stdbool.h>
#include <libpq-fe.h>

#include "arena.h"
#include "err.h"

typedef struct db db;

/* new; never connects here.  conninfo is copied. */
db		   *db_create(const char *conninfo, int reconnect_max_ms);
void		db_destroy(db *d);

/* Replace the conninfo (reload); the next connect uses it. */
void		db_set_conninfo(db *d, const char *conninfo, int reconnect_max_ms);

/*
 * borrowed; a connected PGconn, or NULL with err filled when the database
 * is down and the backoff has not elapsed or the attempt failed.
 */
PGconn	   *db_conn(db *d, derms_err *err);

/* Is the handle believed connected (no I/O)? */
bool		db_is_up(const db *d);

/*
 * Run a parameterized statement.  On success returns the result, owned
 * by arena a (cleared with it).  On failure returns NULL, fills err with
 * PostgreSQL's message (DERMS_EDB) and, when the connection broke, marks
 * the handle down so the next call reconnects.  sqlstate (may be NULL)
 * receives the 5-character SQLSTATE or "" for connection failures.
 */
PGresult   *db_exec(db *d, arena *a, const char *sql, int nparams,
					const char *const *params, char sqlstate[6], derms_err *err);

/* Wait until connected, retrying with backoff; false if stop became set. */
bool		db_wait_connected(db *d, volatile const int *stop, derms_err *err);

#endif							/* DERMS_DB_H */
