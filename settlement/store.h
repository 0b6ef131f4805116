/*
 * settlement/store.h
 *	  Settlement in the database: bulk import of interval meter data,
 *	  instructions and prices (schema/0012_settlement.sql), and loading an
 *	  export's inputs back: the fleet as of a trading day, the readings of
 *	  its members, instructions, prices, and the versions of each.
 *
 * NOTES
 *	  Runs in dermsctl on the caller's connection; every import is one
 *	  transaction that commits whole or not at all.  Resources in the CSV
 *	  files are der_resources.external_id.  Loaded sets are new (malloc)
 *	  and freed with the matching *_free.
 */
#ifndef DERMS_SETTLEMENT_STORE_H
#define DERMS_SETTLEMENT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "server/err.h"
#include "settlement/export.h"
#include "settlement/perform.h"
#include "settlement/series.h"

/* What an import did. */
typedef struct settle_import_result
{
	int64_t		import_id;
	size_t		rows;
	int64_t		inserted;
	int64_t		replaced;		/* a different value or length before */
	int64_t		unchanged;		/* the same value was there */
	size_t		nbad;			/* rows refused (then nothing imported) */
} settle_import_result;

/*
 * Import interval data (SETTLE_CSV_HEADER) from path.  The whole file is
 * validated first: every bad row is written to report (one line each, with
 * line number and reason) and then nothing is imported (DERMS_EPARSE).
 * Valid data goes through COPY into a staging table and one INSERT .. ON
 * CONFLICT into settlement_readings, with an import row and an audit
 * record, in one transaction.
 */
derms_rc	settle_store_import_readings(PGconn *c, const char *path,
										 const char *actor, FILE *report,
										 settle_import_result *out,
										 derms_err *err);

/* Instructions (SETTLE_CSV_HEADER, kWh to deliver) into
 * settlement_instructions. */
derms_rc	settle_store_import_instructions(PGconn *c, const char *path,
											 const char *actor,
											 settle_import_result *out,
											 derms_err *err);

/* Prices (SETTLE_PRICE_HEADER) for iso into settlement_prices. */
derms_rc	settle_store_import_prices(PGconn *c, const char *path,
									   const char *iso, const char *actor,
									   settle_import_result *out,
									   derms_err *err);

/* One aggregation as the database has it. */
typedef struct settle_dbagg
{
	int64_t		id;
	int64_t		tenant_id;
	char		label[SETTLE_RESOURCE_MAX + 1];	/* iso_resource_id, else id */
	char		market[64];		/* lower-case market name, "" if none */
} settle_dbagg;

/* One member DER and what was read of it. */
typedef struct settle_dbder
{
	int64_t		id;
	char	   *name;			/* external_id */
	size_t		rows;
	int64_t		version;		/* max import_id of its rows */
	unsigned char sha[32];		/* SHA-256 of its rows as streamed */
	size_t		instr_rows;		/* the same for its instructions */
	int64_t		instr_version;
	unsigned char instr_sha[32];
} settle_dbder;

/* The fleet of an export: aggregations, membership, member DERs. */
typedef struct settle_dbfleet
{
	settle_dbagg *aggs;			/* sorted by label */
	size_t		naggs;
	settle_members members;		/* label -> external ids */
	settle_dbder *ders;			/* sorted by id, unique */
	size_t		nders;
	settle_dbder **byname;		/* the same, sorted by name */
} settle_dbfleet;

/*
 * The aggregations named by spec ("all", or ids / ISO resource ids
 * separated by commas) with their members in force at UTC instant at.
 * "all" takes every aggregation with members whose market is iso (every
 * one for "generic").  Unknown aggregations and aggregations without
 * members are errors.
 */
derms_rc	settle_store_fleet(PGconn *c, const char *spec, const char *iso,
							   int64_t at, settle_dbfleet *out,
							   derms_err *err);
void		settle_store_fleet_free(settle_dbfleet *f);

/* Readings of every DER of f over [from, to) from settlement_interval_data
 * into set (series named by external_id), with per-DER rows, version and
 * digest. */
derms_rc	settle_store_load_readings(PGconn *c, settle_dbfleet *f,
									   int64_t from, int64_t to,
									   settle_series_set *set,
									   derms_err *err);

/* The readings input of one aggregation for its manifest. */
derms_rc	settle_store_agg_input(const settle_dbfleet *f, const char *label,
								   settle_xinput *in, derms_err *err);

/* Instructions of f's DERs overlapping [from, to), with per-DER rows,
 * version and digest. */
derms_rc	settle_store_load_instructions(PGconn *c, settle_dbfleet *f,
										   int64_t from, int64_t to,
										   settle_instr_set *out,
										   derms_err *err);

/* The instructions input of one aggregation for its manifest. */
derms_rc	settle_store_agg_instr_input(const settle_dbfleet *f,
										 const char *label, settle_xinput *in,
										 derms_err *err);

/* Prices of iso over [from, to) (in->role "prices"). */
derms_rc	settle_store_load_prices(PGconn *c, const char *iso, int64_t from,
									 int64_t to, settle_price_set *out,
									 settle_xinput *in, derms_err *err);

/* borrowed; NULL when absent */
const settle_dbagg *settle_store_agg_find(const settle_dbfleet *f,
										  const char *label);

#endif							/* DERMS_SETTLEMENT_STORE_H */
