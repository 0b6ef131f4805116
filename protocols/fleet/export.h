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

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

typedef struct fleet_export_result
{
	size_t		rows;			/* member rows exported */
	const char *csv_path;		/* borrowed (arena) */
	const char *json_path;
	const char *manifest_path;
} fleet_export_result;

/*
 * Export aggregation agg_id into dir (which must exist).  as_of (may be
 * NULL) limits the export to the enrollments in force at that time;
 * otherwise every enrollment row, past and present, is listed.  An audit
 * record is written; DERMS_ENOTFOUND when there is no such aggregation.
 */
derms_rc	fleet_export_aggregation(PGconn *c, arena *a, int64_t agg_id,
									 const char *as_of, const char *dir,
									 const char *actor, fleet_export_result *out,
									 derms_err *err);

/* Lower-case hex SHA-256 of data into hex[65]. */
void		fleet_export_sha256(const void *data, size_t len, char hex[65]);

#endif							/* DERMS_FLEET_EXPORT_H */
