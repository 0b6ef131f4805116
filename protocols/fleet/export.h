/*
 * protocols/fleet/export.h
 *	  The ISO registration export of one aggregation: its member DERs with
 *	  location, pricing node, capacities and effective dates, as CSV and
 *	  JSON, plus a manifest.
 *
 * NOTES
 *	  Output is a pure function of the database content (no generation
 *	  time, fixed ordering and number formats), so exporting twice gives
 *	  the same bytes.  Each file is written to a temporary name, fsynced
 *	  and renamed into place; the manifest (file names, SHA-256, row and
 *	  byte counts) is written last, then the directory is fsynced.
 */
#ifndef DERMS_FLEET_EXPORT_H
#define DERMS_FLEET_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

typedef struct fleet_export_result
{
	size_t		rows;			/* member rows exported */
	double		size_kw;		/* members in force at as_of (or now) */
	double		min_size_kw;
	bool		below_minimum;	/* exported with FLEET_EXPORT_ALLOW_BELOW_MIN */
	const char *csv_path;		/* borrowed (arena) */
	const char *json_path;
	const char *manifest_path;
} fleet_export_result;

/* flags of fleet_export_aggregation() */
#define FLEET_EXPORT_ALLOW_BELOW_MIN 0x01u	/* export a too-small aggregation */

/*
 * Export aggregation agg_id into dir (which must exist).  as_of (may be
 * NULL) limits the export to the enrollments in force at that time;
 * otherwise every enrollment row, past and present, is listed.  An audit
 * record is written; DERMS_ENOTFOUND when there is no such aggregation.
 *
 * The aggregation's size (nameplate kW of the members in force at as_of,
 * or now when as_of is NULL) must reach its minimum (the aggregation's
 * min_size_kw, else its market's): otherwise DERMS_EPERM naming the
 * aggregation, its size and the minimum, and nothing is written, unless
 * flags has FLEET_EXPORT_ALLOW_BELOW_MIN, in which case the manifest
 * records "below_minimum" with both figures.
 */
derms_rc	fleet_export_aggregation(PGconn *c, arena *a, int64_t agg_id,
									 const char *as_of, const char *dir,
									 unsigned flags, const char *actor,
									 fleet_export_result *out, derms_err *err);

/* Lower-case hex SHA-256 of data into hex[65]. */
void		fleet_export_sha256(const void *data, size_t len, char hex[65]);

#endif							/* DERMS_FLEET_EXPORT_H */
