/*
 * settlement/perform.h
 *	  Delivered performance per interval against a dispatch instruction,
 *	  and its energy value at the interval's price.
 *
 * NOTES
 *	  Instructions (CSV, header "resource,interval_start,interval_minutes,
 *	  kwh") give the energy the resource was told to deliver over each
 *	  instruction interval; prices (CSV, header "interval_start,
 *	  interval_minutes,price_per_mwh") apply to every resource.  Both are
 *	  spread over settlement intervals pro rata by time.  The sets own
 *	  their arrays (malloc).
 */
#ifndef DERMS_SETTLEMENT_PERFORM_H
#define DERMS_SETTLEMENT_PERFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"
#include "settlement/baseline.h"
#include "settlement/series.h"

#define SETTLE_PRICE_HEADER "interval_start,interval_minutes,price_per_mwh"

typedef struct settle_instr
{
	char		res[SETTLE_RESOURCE_MAX + 1];
	int64_t		start;
	int32_t		len_s;
	double		kwh;
} settle_instr;

typedef struct settle_instr_set
{
	settle_instr *v;			/* sorted by resource, then start */
	size_t		n;
} settle_instr_set;

typedef struct settle_price
{
	int64_t		start;
	int32_t		len_s;
	double		price;			/* per MWh */
} settle_price;

typedef struct settle_price_set
{
	settle_price *v;			/* sorted by start, no overlaps */
	size_t		n;
} settle_price_set;

typedef struct settle_perf
{
	bool		has_instr;
	double		instructed;
	double		under;			/* instructed - delivered when positive */
	double		over;			/* delivered - instructed when positive */
	bool		has_ratio;		/* instructed != 0 */
	double		ratio;			/* delivered / instructed */
	bool		has_price;
	double		price;			/* time-weighted, per MWh */
	double		value;			/* delivered MWh x price */
} settle_perf;

derms_rc	settle_instr_parse(const char *buf, size_t len, const char *label,
							   settle_instr_set *out, derms_err *err);
void		settle_instr_free(settle_instr_set *set);

derms_rc	settle_price_parse(const char *buf, size_t len, const char *label,
							   settle_price_set *out, derms_err *err);
void		settle_price_free(settle_price_set *set);

/* Performance of one row of resource res over [row->start, +len_s);
 * instr and prices may be NULL. */
void		settle_perform(const settle_row *row, int32_t len_s,
						   const char *res, const settle_instr_set *instr,
						   const settle_price_set *prices, settle_perf *out);

#endif							/* DERMS_SETTLEMENT_PERFORM_H */
