/*
 * settlement/baseline.h
 *	  Baseline methods (CAISO 10-in-10, PJM CBL, NYISO average-day CBL,
 *	  Meter Before / Meter After, Metered Generator Output) as parameter
 *	  tables, and the engine that applies one to a resource's series.
 *
 * NOTES
 *	  Every method is data: a row of settle_methods[] in baseline.c whose
 *	  comment cites the rule section it implements (see DESIGN.md).  The
 *	  engine is pure: it reads a calendar and a series and fills rows.
 */
#ifndef DERMS_SETTLEMENT_BASELINE_H
#define DERMS_SETTLEMENT_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"
#include "settlement/calendar.h"
#include "settlement/series.h"

#define SETTLE_MAX_DAYS_USED 16

typedef enum settle_base_kind
{
	SETTLE_BASE_DAYMATCH,		/* like-day average (CAISO, PJM, NYISO) */
	SETTLE_BASE_MBMA,			/* meter before / meter after */
	SETTLE_BASE_MGO				/* metered generator output */
} settle_base_kind;

typedef enum settle_adj_kind
{
	SETTLE_ADJ_NONE,
	SETTLE_ADJ_RATIO,			/* baseline x clamp(actual / baseline) */
	SETTLE_ADJ_ADDITIVE			/* baseline + (actual - baseline) */
} settle_adj_kind;

/* Like-day selection for one day class. */
typedef struct settle_daymatch
{
	int			lookback_days;	/* oldest candidate: event day - this */
	int			skip_days;		/* newest candidate: event day - this */
	int			want_days;		/* most recent eligible like days taken */
	int			min_days;		/* fewer eligible days: error */
	int			select_high;	/* keep the N highest; 0 = keep all */
	double		low_usage_frac; /* drop days below frac x mean; 0 = off */
} settle_daymatch;

typedef struct settle_method
{
	const char *name;
	settle_base_kind kind;
	const char *zone;			/* default prevailing zone */
	int			interval_min;	/* default settlement interval; 0 = data */
	settle_day_scheme scheme;
	settle_daymatch weekday;
	settle_daymatch weekend;	/* Saturday and Sunday/holiday alike */
	settle_adj_kind adj;
	int			adj_begin_min;	/* window starts this long before event */
	int			adj_len_min;
	double		adj_min;		/* RATIO: factor bounds */
	double		adj_max;
	int			before_min;		/* MBMA: meter-before window */
	const char *rule;			/* the rule document and section */
} settle_method;

/* Row flags */
#define SETTLE_F_EST_ACTUAL		0x01	/* actual includes estimated data */
#define SETTLE_F_EST_BASELINE	0x02	/* baseline used estimated data */

typedef struct settle_row
{
	int64_t		start;			/* UTC */
	double		baseline;		/* unadjusted */
	double		adjustment;		/* added to baseline */
	double		actual;			/* metered load, or MGO output */
	double		delivered;
	unsigned	flags;
} settle_row;

typedef struct settle_baseline_info
{
	int			ndays;			/* like days averaged */
	int64_t		days[SETTLE_MAX_DAYS_USED];
	int			neligible;
	double		factor;			/* RATIO: applied factor, else 1 */
	double		additive;		/* ADDITIVE: kWh added per interval */
} settle_baseline_info;

/* borrowed (static); NULL when unknown */
const settle_method *settle_method_find(const char *name);

/* "caiso-10in10|pjm-cbl|..." for messages; static */
const char *settle_method_names(void);

/* How many days before the event day the calendar must reach. */
int			settle_method_history_days(const settle_method *m);

/*
 * Compute rows [ev_start, ev_end) for series s.  The event must lie in
 * the calendar's last day and be aligned to cal->interval_s; rows holds
 * (ev_end - ev_start) / interval_s entries.  info may be NULL.
 */
derms_rc	settle_baseline_compute(const settle_method *m,
									const settle_calendar *cal,
									const settle_series *s,
									int64_t ev_start, int64_t ev_end,
									settle_row *rows,
									settle_baseline_info *info,
									derms_err *err);

#endif							/* DERMS_SETTLEMENT_BASELINE_H */
