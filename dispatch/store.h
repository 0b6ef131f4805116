/*
 * dispatch/store.h
 *	  Dispatch runs in the database (schema/0018_dispatch.sql): one run
 *	  from the database to stored schedules (and, through a callback, to
 *	  published controls) in one transaction; run summaries, schedules as
 *	  JSON or CSV, the plot; and the dispatch role's re-dispatch test.
 *
 * NOTES
 *	  Everything takes the caller's connection and arena; returned text
 *	  belongs to the arena.  Publishing lives with the protocols
 *	  (protocols/grid/publish.c): dispatch/ never includes them, so the
 *	  caller hands it in as a dispatch_publish_fn.
 */
#ifndef DERMS_DISPATCH_STORE_H
#define DERMS_DISPATCH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/*
 * Publish run run_id (its schedules are stored) in the caller's open
 * transaction; actor names who asked.  Returns DERMS_OK or an error that
 * rolls the whole run back.
 */
typedef derms_rc (*dispatch_publish_fn) (PGconn *c, arena *a, int64_t run_id,
										 const char *actor, derms_err *err);

typedef struct dispatch_run_request
{
	int64_t		aggregation_id;
	int			horizon_h;		/* 1..48 */
	int			offline_s;		/* a DERStatus older than this: offline */
	const char *actor;			/* created_by and the audit actor */
	const char *reason;			/* why this run, kept with it */
	dispatch_publish_fn publish;	/* NULL: store only */
} dispatch_run_request;

/*
 * Build the instance from the database, solve it with the decomposition
 * (dispatch_coord_solve), store the run, its members' states and its
 * schedules, audit it and publish it: one transaction, serialized per
 * aggregation.  *run_id is the new run.  DERMS_ENOTFOUND: no such
 * aggregation; DERMS_EINVAL: nothing to dispatch (message says why);
 * DERMS_ERANGE: the solver refused a resource; DERMS_EDB.
 */
derms_rc	dispatch_run_db(PGconn *c, arena *a, const dispatch_run_request *rq,
							int64_t *run_id, derms_err *err);

/* The run's summary as JSON text (borrowed); DERMS_ENOTFOUND. */
derms_rc	dispatch_store_summary(PGconn *c, arena *a, int64_t run_id,
								   const char **json, derms_err *err);

/*
 * The run's schedules: JSON {"run", "intervalSeconds", "resources":
 * [{"derID", "externalID", "intervals": [{"start", "powerKW", "soc"}]}]}
 * or CSV (run,der_id,external_id,interval_start,power_kw,soc).
 */
derms_rc	dispatch_store_schedules(PGconn *c, arena *a, int64_t run_id,
									 bool csv, const char **text, derms_err *err);

/* The plot of the run (dispatch/plot.c) with at most max_res SoC lines. */
derms_rc	dispatch_store_plot(PGconn *c, arena *a, int64_t run_id, int max_res,
								const char **svg, derms_err *err);

/* What the dispatch role watches. */
typedef struct dispatch_watch
{
	int64_t		aggregation_id;
	time_t		now;
	int			offline_s;
	double		tolerance_pct;	/* of a resource's power rating */
	double		soc_tolerance_pct;	/* percentage points of SoC */
} dispatch_watch;

/*
 * Should the aggregation be dispatched again?  *why is set (arena text)
 * when it should: no run yet, a new target, the horizon running out, a
 * resource offline or back, a missed setpoint or a SoC drift (naming the
 * resource and the figures); NULL when not.
 */
derms_rc	dispatch_store_need(PGconn *c, arena *a, const dispatch_watch *w,
								const char **why, derms_err *err);

#endif							/* DERMS_DISPATCH_STORE_H */
