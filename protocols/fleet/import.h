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
 * Import data (len bytes of CSV) as kind ("feeders", "markets",
 * "aggregations", "sites", "ders", "enrollments").  Returns DERMS_OK,
 * DERMS_EINVAL with res->errors filled when any record is bad (nothing
 * imported), or another code with err filled.  source names the file in
 * the audit record.
 */
derms_rc	fleet_import(PGconn *c, arena *a, const char *kind, const char *data,
						 size_t len, const char *actor, const char *source,
						 fleet_import_result *res, derms_err *err);

/* The header kind expects, "a,b,c"; NULL for an unknown kind. */
const char *fleet_import_header(arena *a, const char *kind);

#endif							/* DERMS_FLEET_IMPORT_H */
