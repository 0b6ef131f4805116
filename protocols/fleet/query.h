/*
 * protocols/fleet/query.h
 *	  Read-side fleet queries: sites, DERs, and the enrollments in force at
 *	  a time ("the fleet as of a past date").
 *
 * NOTES
 *	  Each call is one read transaction; tenant_id > 0 runs it under that
 *	  aggregator's RLS scope, 0 unscoped (operator).  Results are owned by
 *	  the arena.  Times are returned as ISO-8601 UTC text (FLEET_TS).
 */
#ifndef DERMS_FLEET_QUERY_H
#define DERMS_FLEET_QUERY_H

#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/* Columns: id, meter_id, address, feeder, transformer, pricing_node, time_zone. */
derms_rc	fleet_query_sites(PGconn *c, arena *a, int64_t tenant_id,
							  PGresult **out, derms_err *err);

/* Columns: id, der_id (external), meter_id, kind, nameplate_kw, energy_kwh,
 * lfdi, interconnection_status, export_cap_kw. */
derms_rc	fleet_query_ders(PGconn *c, arena *a, int64_t tenant_id,
							 PGresult **out, derms_err *err);

/*
 * Enrollments in force at as_of (timestamp with zone; NULL = now),
 * optionally of one aggregation (0 = all).  Columns: aggregation_id,
 * aggregation, market, der_id, der, meter_id, feeder, pricing_node,
 * nameplate_kw, effective_from, effective_to.  DERMS_EINVAL for a bad
 * as_of.
 */
derms_rc	fleet_query_as_of(PGconn *c, arena *a, int64_t tenant_id,
							  const char *as_of, int64_t aggregation_id,
							  PGresult **out, derms_err *err);

#endif							/* DERMS_FLEET_QUERY_H */
