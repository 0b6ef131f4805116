/*
 * protocols/fleet/enroll.h
 *	  Enrollment requests and their decisions: request, approve, reject,
 *	  withdraw, remove, list.
 *
 * NOTES
 *	  Each call is one transaction on an idle connection: it begins,
 *	  writes its audit record, and returns DERMS_OK only after COMMIT; on
 *	  failure it has rolled back.  Error messages start with the field
 *	  they are about ("der_id: ...") so the API can answer 400/404/409
 *	  naming it: DERMS_EINVAL = bad value, DERMS_ENOTFOUND = no such
 *	  object (or another tenant's), DERMS_EEXIST = conflict, DERMS_EPERM =
 *	  the automatic checks failed at approval.
 *	  tenant_id > 0 scopes the lookups to that aggregator (RLS); 0 is the
 *	  operator, who sees everything.
 */
#ifndef DERMS_FLEET_ENROLL_H
#define DERMS_FLEET_ENROLL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/* ISO-8601 UTC text of a timestamptz column, for every fleet output. */
#define FLEET_TS(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

typedef struct fleet_enroll_in
{
	int64_t		tenant_id;		/* caller's tenant, 0 = operator */
	int64_t		der_id;
	int64_t		aggregation_id;
	const char *feeder;			/* feeder name as stated, may be NULL */
	const char *effective_from;	/* timestamp with zone */
	const char *effective_to;	/* may be NULL: open-ended */
	const char *actor;			/* for the audit record */
} fleet_enroll_in;

typedef struct fleet_enroll_out
{
	int64_t		id;				/* the request */
	const char *status;			/* borrowed */
	const char *findings_json;	/* borrowed */
	const char *failed;			/* failed blocking checks, "" when none */
	const char *warnings;		/* failed non-blocking checks, "" when none */
} fleet_enroll_out;

derms_rc	fleet_enroll_request(PGconn *c, arena *a, const fleet_enroll_in *in,
								 fleet_enroll_out *out, derms_err *err);

/* Re-run the checks; refuse (DERMS_EPERM) if any fails; else enroll. */
derms_rc	fleet_enroll_approve(PGconn *c, arena *a, int64_t request_id,
								 const char *actor, fleet_enroll_out *out,
								 derms_err *err);

derms_rc	fleet_enroll_reject(PGconn *c, arena *a, int64_t request_id,
								const char *reason, const char *actor,
								derms_err *err);

/* End the open enrollment of der_id in aggregation_id at time at. */
derms_rc	fleet_enroll_remove(PGconn *c, arena *a, int64_t der_id,
								int64_t aggregation_id, const char *at,
								const char *actor, derms_err *err);

/*
 * The aggregator tenant_id (> 0) withdraws its own pending request
 * (requested -> withdrawn); reason may be NULL.  DERMS_ENOTFOUND for an
 * unknown or foreign request, DERMS_EEXIST (409) naming the state when it
 * is no longer pending: an approved enrollment is ended with
 * fleet_enroll_end_request() instead.
 */
derms_rc	fleet_enroll_withdraw(PGconn *c, arena *a, int64_t tenant_id,
								  int64_t request_id, const char *reason,
								  const char *actor, derms_err *err);

/*
 * End the enrollment that approved request request_id made, at time at
 * (not in the past; after the enrollment's start).  tenant_id > 0 scopes
 * the request to that aggregator, 0 is the operator.  DERMS_EEXIST when
 * the request is not approved or its enrollment already has an end (the
 * end is set once, history is never rewritten).
 */
derms_rc	fleet_enroll_end_request(PGconn *c, arena *a, int64_t tenant_id,
									 int64_t request_id, const char *at,
									 const char *actor, derms_err *err);

/*
 * Requests visible to tenant_id (0: all), optionally one status and/or
 * one id (0: all).  Columns: id, tenant, der_id, aggregation_id, feeder,
 * effective_from, effective_to, status, findings (jsonb), requested_by,
 * requested_at, decided_by, decided_at, reason.  *out is owned by a.
 */
derms_rc	fleet_enroll_list(PGconn *c, arena *a, int64_t tenant_id,
							  const char *status, int64_t id, PGresult **out,
							  derms_err *err);

#endif							/* DERMS_FLEET_ENROLL_H */
