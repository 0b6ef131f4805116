/*
 * settlement/series.h
 *	  Interval series per resource: storage, ordering rules, estimation of
 *	  missing intervals and aggregation to settlement intervals.
 *
 * NOTES
 *	  A series is dense: slot i covers [t0 + i*len, t0 + (i+1)*len) UTC.
 *	  A gap is NaN until settle_series_set_estimate() fills it and marks
 *	  it estimated; nothing is ever filled silently.  The set owns every
 *	  series and name (malloc); settle_series_set_destroy() frees them.
 */
#ifndef DERMS_SETTLEMENT_SERIES_H
#define DERMS_SETTLEMENT_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

#define SETTLE_RESOURCE_MAX 64
/* a series may span at most this many days (bounds memory per resource) */
#define SETTLE_SPAN_MAX_DAYS 1100

typedef struct settle_series
{
	char	   *name;
	int64_t		t0;				/* start of slot 0, UTC seconds */
	int32_t		len_s;			/* interval length, seconds */
	size_t		n;				/* slots from t0 through the last reading */
	size_t		cap;
	double	   *kwh;			/* NaN = no reading (before estimation) */
	uint8_t    *est;			/* NULL, or est[i] != 0 when estimated */
	size_t		nreadings;		/* actual readings */
	size_t		nestimated;
} settle_series;

typedef struct settle_series_set
{
	settle_series **v;
	size_t		n;
	size_t		cap;
	uint32_t   *hash;			/* index + 1; 0 = empty */
	size_t		hcap;
	size_t		nreadings;
} settle_series_set;

/* One settlement interval's quantity. */
typedef struct settle_agg
{
	double		kwh;
	bool		estimated;		/* at least one member was estimated */
	int			inside;			/* members inside the series' span */
} settle_agg;

/* new; NULL on allocation failure */
settle_series_set *settle_series_set_create(void);
void		settle_series_set_destroy(settle_series_set *set);

/* The series named name (len bytes), created when absent; borrowed. */
derms_rc	settle_series_get(settle_series_set *set, const char *name,
							  size_t len, settle_series **out,
							  derms_err *err);

/* borrowed; NULL when absent */
settle_series *settle_series_find(const settle_series_set *set,
								  const char *name);

/* Add one reading; intervals must be strictly increasing, aligned to their
 * length in UTC and all of one length per resource. */
derms_rc	settle_series_append(settle_series *s, int64_t start,
								 int32_t len_s, double kwh, derms_err *err);

/* Fill every gap by the documented rule (linear interpolation between the
 * nearest actual readings of the same resource) and flag it estimated.
 * Returns the number of intervals estimated in *count. */
derms_rc	settle_series_set_estimate(settle_series_set *set,
									   size_t *count, derms_err *err);

/* Does [start, end) overlap the series' span? */
bool		settle_series_covers_any(const settle_series *s, int64_t start,
									 int64_t end);

/* Does the span contain [start, end) entirely? */
bool		settle_series_covers_all(const settle_series *s, int64_t start,
									 int64_t end);

/* The sum of the members of [start, start + len_s); len_s must be a
 * multiple of s->len_s and start aligned to it.  Members outside the span
 * hold the nearest reading and count as estimated. */
void		settle_series_sum(const settle_series *s, int64_t start,
							  int32_t len_s, settle_agg *out);

#endif							/* DERMS_SETTLEMENT_SERIES_H */
