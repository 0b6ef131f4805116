/*
 * settlement/statement.h
 *	  Settlement statements: per aggregation and trading day, the energy,
 *	  baseline, instructed against delivered, performance ratio, estimated
 *	  intervals and value, as JSON, and the day's chart as SVG.
 *
 * NOTES
 *	  Computed from a settle_export (the aggregation row), so a statement
 *	  and the export files of the same inputs agree to the Wh.  Rendering
 *	  is deterministic (no clock; fixed formats).  Buffers are new
 *	  (malloc).  The SVG labels its x axis in the export's zone, which must
 *	  be the process zone (settle_tz_use).
 */
#ifndef DERMS_SETTLEMENT_STATEMENT_H
#define DERMS_SETTLEMENT_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"
#include "settlement/export.h"

typedef struct settle_statement
{
	int64_t		energy_wh;		/* actual over the day */
	int64_t		baseline_wh;	/* over the baseline intervals */
	int64_t		delivered_wh;
	int64_t		instructed_wh;
	int64_t		under_wh;		/* per interval max(0, instructed - delivered) */
	int64_t		over_wh;
	int64_t		value_u;		/* millionths of the currency */
	bool		has_baseline;
	bool		has_instr;
	bool		has_value;
	bool		has_ratio;
	double		ratio;			/* delivered / instructed, instructed intervals */
	size_t		est_member_intervals;
	int			est_intervals;	/* aggregation intervals with estimates */
} settle_statement;

void		settle_statement_compute(const settle_export *x,
									 settle_statement *st);

/* The statement as one JSON object (inputs listed), and the aggregation's
 * intervals as a JSON array; both new. */
derms_rc	settle_statement_json(const settle_export *x,
								  const settle_statement *st,
								  const settle_xinput *inputs, int ninputs,
								  char **summary, char **intervals,
								  derms_err *err);

/* Baseline vs actual vs instructed level over the day's intervals. */
derms_rc	settle_statement_svg(const settle_export *x, char **svg,
								 size_t *len, derms_err *err);

#endif							/* DERMS_SETTLEMENT_STATEMENT_H */
