/*
 * dispatch/dbinstance.h
 *	  A dispatch instance built from the database: the members of an
 *	  aggregation enrolled now, their ratings (der_resources), their SoC
 *	  from their latest DERStatus, their feeders' limits and the targets
 *	  of the horizon.
 *
 * NOTES
 *	  Everything is allocated from the caller's arena (PGresults are
 *	  cleared with it).  The statements run on the caller's connection, in
 *	  whatever transaction it has open.
 */
#ifndef DERMS_DISPATCH_DBINSTANCE_H
#define DERMS_DISPATCH_DBINSTANCE_H

#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include "dispatch/model.h"

/* Assumed when a battery never reported a SoC. */
#define DISPATCH_DB_SOC_ASSUMED 0.5
/* Operating band when the device does not say otherwise (fractions). */
#define DISPATCH_DB_SOC_MIN 0.1
#define DISPATCH_DB_SOC_MAX 0.95
/* Throughput degradation: $ per kWh of capacity, cycles at full depth. */
#define DISPATCH_DB_COST_PER_KWH 300.0
#define DISPATCH_DB_CYCLE_LIFE 5000.0

typedef struct dispatch_db_params
{
	int64_t		aggregation_id;
	int			horizon_h;		/* 1..48 */
	int			offline_s;		/* a status older than this: offline */
	time_t		now;
} dispatch_db_params;

/* How a member entered the instance. */
typedef struct dispatch_db_member
{
	int64_t		der_id;
	const char *state;			/* online, offline, assumed, unsupported */
	double		soc;			/* fraction; NAN when unknown */
	const char *status_at;		/* timestamptz text of the DERStatus, or NULL */
	int			res;			/* index in the instance, -1 when left out */
} dispatch_db_member;

typedef struct dispatch_db_input
{
	int64_t		aggregation_id;
	int64_t		horizon_start;	/* epoch seconds */
	int			interval_s;
	int64_t		targets_seen;	/* newest dispatch_targets.id */
	int			nmembers;
	dispatch_db_member *members;
	const char *json;			/* the instance, dermsd-dispatch-instance/1 */
	dispatch_instance *in;		/* parsed from json */
} dispatch_db_input;

/*
 * Build the instance of p->aggregation_id.  DERMS_ENOTFOUND when there is
 * no such aggregation; DERMS_EINVAL (message says which) when it has no
 * target in the horizon or no resource that can be dispatched;
 * DERMS_EDB.  *out is borrowed from a.
 */
derms_rc	dispatch_db_build(PGconn *c, arena *a, const dispatch_db_params *p,
							  dispatch_db_input **out, derms_err *err);

/*
 * Run a parameterized statement; the result belongs to a.  NULL with err
 * filled (DERMS_EDB and PostgreSQL's message) on failure.
 */
PGresult   *dispatch_db_exec(PGconn *c, arena *a, const char *sql, int n,
							 const char *const *params, derms_err *err);

#endif							/* DERMS_DISPATCH_DBINSTANCE_H */
