/*
 * protocols/fleet/import.h
 *	  Bulk import of feeders, markets, aggregations, sites, DERs and
 *	  enrollments from CSV, validated as a whole.
 *
 * NOTES
 *	  One call is one transaction: every record is checked field by field
 *	  in C, the good ones are COPYed into a temporary table, and set-based
 *	  queries find the rest (duplicates, unknown references, overlaps).
 *	  If anything is wrong nothing is written and every bad record is
 *	  reported with its line, field and reason; otherwise the rows go in
 *	  with one INSERT ... SELECT and one audit record, and DERMS_OK is
 *	  returned after COMMIT.  The columns of each kind are in DESIGN.md.
 */
#ifndef DERMS_FLEET_IMPORT_H
#define DERMS_FLEET_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

typedef struct fleet_import_error
{
	long		line;			/* 1 is the header */
	const char *field;			/* column name, "(record)" or "(header)" */
	const char *reason;
} fleet_import_error;

typedef struct fleet_import_result
{
	size_t		rows;			/* data records read (imported on success) */
	size_t		nerrors;
	fleet_import_error *errors;	/* borrowed (arena), by line then column */
} fleet_import_result;

/*
 * What a record whose natural key (feeder or market name, meter_id,
 * der_id; for enrollments DER, aggregation and effective_from) is already
 * in the database means.  INSERT: an error ("already exists").  UPSERT:
 * feeders, markets, sites and DERs are updated in place (their previous
 * version is kept in fleet_row_history); an enrollment is never
 * rewritten: the same enrollment again is a no-op, an open one may be
 * given its end, and a new period for a DER closes the DER's open
 * enrollment in that market at the new period's start.  Aggregations
 * support INSERT only.
 */
typedef enum fleet_import_mode
{
	FLEET_IMPORT_INSERT,
	FLEET_IMPORT_UPSERT
} fleet_import_mode;

/*
 * Import data (len bytes of CSV) as kind ("feeders", "markets",
 * "aggregations", "sites", "ders", "enrollments").  Returns DERMS_OK,
 * DERMS_EINVAL with res->errors filled when any record is bad (nothing
 * imported), or another code with err filled.  source names the file in
 * the audit record.
 */
derms_rc	fleet_import(PGconn *c, arena *a, const char *kind,
						 fleet_import_mode mode, const char *data, size_t len,
						 const char *actor, const char *source,
						 fleet_import_result *res, derms_err *err);

/* "insert" or "upsert" into *out; false for anything else. */
bool		fleet_import_parse_mode(const char *s, fleet_import_mode *out);

/* The header kind expects, "a,b,c"; NULL for an unknown kind. */
const char *fleet_import_header(arena *a, const char *kind);

#endif							/* DERMS_FLEET_IMPORT_H */
