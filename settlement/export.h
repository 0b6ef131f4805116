/*
 * settlement/export.h
 *	  Settlement exports for one aggregation and one trading day: the
 *	  quantities (integer Wh), and the files the ISOs and aggregators take
 *	  (CAISO MRI-S meter data, PJM hourly MWh, ESPI XML, generic CSV and
 *	  JSON) with their manifest.
 *
 * NOTES
 *	  Database-free: inputs are the calculator's CSV files plus an
 *	  aggregation membership.  Every quantity is an int64 count of Wh
 *	  (each reading rounded half away from zero once, on the way in), so
 *	  an aggregation is exactly the sum of its members in every file.  The
 *	  rendered files depend only on the inputs: no clock, stable order,
 *	  fixed number formats.  Sets the process zone (settle_tz_use).
 */
#ifndef DERMS_SETTLEMENT_EXPORT_H
#define DERMS_SETTLEMENT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"
#include "settlement/afile.h"
#include "settlement/baseline.h"
#include "settlement/calendar.h"
#include "settlement/perform.h"
#include "settlement/series.h"

#define SETTLE_MEMBERS_HEADER "aggregation,resource"

typedef enum settle_iso
{
	SETTLE_ISO_CAISO,
	SETTLE_ISO_PJM,
	SETTLE_ISO_NYISO,
	SETTLE_ISO_GENERIC
} settle_iso;

typedef struct settle_iso_info
{
	settle_iso	iso;
	const char *name;			/* "caiso" */
	const char *zone;			/* prevailing zone; NULL = any (--tz) */
	bool		caiso_sqmd;		/* writes the MRI-S meter data file */
	bool		pjm_hourly;		/* writes the PJM hourly file */
	bool		nyiso_hourly;	/* writes the NYISO hourly file */
} settle_iso_info;

/* Cell flags */
#define SETTLE_X_EST		0x01	/* actual includes estimated data */
#define SETTLE_X_BASELINE	0x02	/* baseline, delivered present */
#define SETTLE_X_EST_BASE	0x04	/* baseline used estimated data */
#define SETTLE_X_INSTR		0x08	/* instructed present */
#define SETTLE_X_PRICE		0x10	/* price present */
#define SETTLE_X_VALUE		0x20	/* value present */

/* One resource (or the aggregation) in one settlement interval. */
typedef struct settle_xcell
{
	int64_t		wh;				/* actual (MGO: device output) */
	int64_t		base_wh;		/* adjusted baseline */
	int64_t		del_wh;			/* delivered */
	int64_t		instr_wh;		/* instructed */
	int64_t		value_u;		/* value, millionths of the currency */
	double		price;			/* per MWh */
	unsigned	flags;
} settle_xcell;

/* Aggregation membership: aggregation -> resources. */
typedef struct settle_members
{
	char	  **agg;			/* pairs, sorted by aggregation, resource */
	char	  **res;
	size_t		n;
} settle_members;

/* What to export; pointers are borrowed. */
typedef struct settle_export_req
{
	const settle_iso_info *iso;
	const char *zone;			/* set with settle_tz_use already */
	const char *aggregation;
	int64_t		day;
	int32_t		interval_s;		/* 0 = the members' data length */
	const settle_method *method;	/* NULL: no baseline */
	int64_t		ev_start;		/* with method: the event, UTC */
	int64_t		ev_end;
	const settle_dayset *holidays;	/* NULL = NERC */
	const settle_dayset *events;
	const settle_series_set *set;
	const char *const *members;	/* sorted, unique */
	size_t		nmembers;
	const settle_instr_set *instr;	/* NULL when not given */
	const settle_price_set *prices;
	bool		allow_estimated;
} settle_export_req;

/* The computed export: (nmembers + 1) x nslots cells, the last row the
 * aggregation.  Owns cells (malloc); members are borrowed from the req. */
typedef struct settle_export
{
	const settle_export_req *req;
	int64_t		start;			/* local midnight, UTC */
	int64_t		end;
	int32_t		interval_s;
	int			nslots;
	size_t		nrows;			/* nmembers + 1 */
	settle_xcell *cells;
	size_t		nestimated;		/* member intervals estimated */
} settle_export;

/* One rendered file. */
typedef struct settle_xfile
{
	char		name[SETTLE_AFILE_NAME_MAX];
	char	   *buf;			/* new (malloc) */
	size_t		len;
	size_t		rows;			/* data rows or readings */
	char		sha256[SETTLE_SHA256_HEX];
} settle_xfile;

/* An input file as read, for the manifest. */
typedef struct settle_xinput
{
	const char *role;			/* "readings", "members", ... */
	const char *path;			/* file; NULL when from the database */
	size_t		bytes;
	char		sha256[SETTLE_SHA256_HEX];
	/* database inputs (path NULL): the relation read, rows, version */
	const char *relation;
	size_t		rows;
	int64_t		version;		/* max import sequence of the rows */
} settle_xinput;

#define SETTLE_XFILES_MAX 6
#define SETTLE_XINPUTS_MAX 6

/* borrowed (static); NULL when unknown */
const settle_iso_info *settle_iso_find(const char *name);

/* Parse a membership CSV (header SETTLE_MEMBERS_HEADER); out is new (free
 * with settle_members_free).  A repeated pair is an error. */
derms_rc	settle_members_parse(const char *buf, size_t len,
								 const char *label, settle_members *out,
								 derms_err *err);
void		settle_members_free(settle_members *m);

/* The resources of aggregation agg: *first and *n index out->res; 0 when
 * agg is unknown. */
size_t		settle_members_of(const settle_members *m, const char *agg,
							  size_t *first);

/* Compute every cell; refuses estimated intervals unless allowed. */
derms_rc	settle_export_compute(const settle_export_req *req,
								  settle_export *x, derms_err *err);
void		settle_export_free(settle_export *x);

/* Cell of row r (member index; nmembers = the aggregation), slot k. */
static inline const settle_xcell *
settle_export_cell(const settle_export *x, size_t r, int k)
{
	return &x->cells[r * (size_t) x->nslots + (size_t) k];
}

/*
 * Render every file of the export into files[] (*nfiles set), the
 * manifest last; inputs are listed in it.  Each file's buf is new.
 */
derms_rc	settle_export_render(const settle_export *x,
								 const settle_xinput *inputs, int ninputs,
								 settle_xfile *files, int *nfiles,
								 derms_err *err);
void		settle_xfiles_free(settle_xfile *files, int nfiles);

/* Write files[] to dir: the data files as one atomic set, then the
 * manifest (the last file) on its own. */
derms_rc	settle_export_write(const char *dir, const settle_xfile *files,
								int nfiles, derms_err *err);

/* The ESPI (Green Button) Atom feed of an export (espi.c); *buf new. */
derms_rc	settle_espi_render(const settle_export *x, char **buf,
							   size_t *len, size_t *readings,
							   derms_err *err);

/* The JSON manifest of files[0..nfiles) (manifest.c); *buf new. */
derms_rc	settle_manifest_render(const settle_export *x,
								   const settle_xfile *files, int nfiles,
								   const settle_xinput *inputs, int ninputs,
								   char **buf, size_t *len, derms_err *err);

/* v / 10^decimals exactly, e.g. Wh as kWh (3) or MWh (6), -0 never
 * printed; buf holds at least SETTLE_FIXED_MAX bytes. */
#define SETTLE_FIXED_MAX 48
void		settle_fmt_fixed(int64_t v, int decimals, char *buf);

#endif							/* DERMS_SETTLEMENT_EXPORT_H */
