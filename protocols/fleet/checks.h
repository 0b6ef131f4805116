/*
 * protocols/fleet/checks.h
 *	  The automatic checks an enrollment request goes through before an
 *	  operator decides on it.
 *
 * NOTES
 *	  One statement computes every check as of the enrollment's start, so
 *	  the findings are consistent with each other.  Findings are a JSON
 *	  array of {"check", "ok", "detail"} in FLEET_CHECK_NAMES order; a
 *	  finding with "blocking": false (min_size) warns and does not stop
 *	  approval.  Runs unscoped (the checks look across tenants: LFDI
 *	  claims, feeder load).
 */
#ifndef DERMS_FLEET_CHECKS_H
#define DERMS_FLEET_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/* The checks, in the order findings list them. */
#define FLEET_CHECK_NAMES \
	"interconnected", "lfdi_unclaimed", "feeder", "hosting_capacity", \
	"pricing_node", "min_size"

typedef struct fleet_check_result
{
	const char *findings_json;	/* borrowed (arena) */
	bool		all_ok;			/* no blocking check failed */
	const char *failed;			/* comma-separated failed blocking checks, "" if none */
	const char *warnings;		/* failed non-blocking checks (min_size), "" if none */
} fleet_check_result;

/*
 * Run the checks for DER der_id joining aggregation agg_id from
 * effective_from (timestamptz text).  feeder_id is the feeder the request
 * states, or 0 when none was stated (the feeder check then fails).
 */
derms_rc	fleet_checks_run(PGconn *c, arena *a, int64_t der_id, int64_t agg_id,
							 int64_t feeder_id, const char *effective_from,
							 fleet_check_result *out, derms_err *err);

#endif							/* DERMS_FLEET_CHECKS_H */
