/*
 * settlement/calendar.h
 *	  Trading days in the ISO's prevailing time zone: their UTC bounds,
 *	  settlement slots, local clock mapping, day types, holidays and event
 *	  days.
 *
 * NOTES
 *	  Build a calendar after settle_tz_use().  A trading day runs from
 *	  local midnight to local midnight, so with 5-minute intervals a
 *	  spring-forward day has 276 slots and a fall-back day 300.  Local
 *	  clock positions ("local index" = seconds after local midnight / S)
 *	  map to slots; a skipped local time maps to -1 and a repeated one to
 *	  its first occurrence.  The calendar owns its arrays (malloc).
 */
#ifndef DERMS_SETTLEMENT_CALENDAR_H
#define DERMS_SETTLEMENT_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

/* A sorted set of dates (days since 1970-01-01). */
typedef struct settle_dayset
{
	int64_t    *days;
	size_t		n;
} settle_dayset;

/* Like-day classes the baseline rules group days into. */
typedef enum settle_day_class
{
	SETTLE_CLASS_WEEKDAY = 0,	/* Monday-Friday, not a holiday */
	SETTLE_CLASS_WEEKEND,		/* weekend or holiday (2-class rules) */
	SETTLE_CLASS_SATURDAY,		/* Saturday (3-class rules) */
	SETTLE_CLASS_SUNHOL			/* Sunday or holiday (3-class rules) */
} settle_day_class;

typedef enum settle_day_scheme
{
	SETTLE_SCHEME_WEEKDAY_WEEKEND = 2,	/* weekday | weekend+holiday */
	SETTLE_SCHEME_WEEKDAY_SAT_SUN = 3	/* weekday | Saturday |
										 * Sunday+holiday */
} settle_day_scheme;

typedef struct settle_day
{
	int64_t		day;			/* local date */
	int64_t		start;			/* UTC instant of local midnight */
	int64_t		end;			/* start of the next day */
	int			nslots;			/* (end - start) / interval */
	int			wday;			/* 0 = Sunday */
	bool		holiday;
	bool		event;			/* listed as an event or dispatch day */
} settle_day;

typedef struct settle_calendar
{
	int32_t		interval_s;		/* settlement interval S */
	int			nlocal;			/* 86400 / S */
	int			maxslots;		/* 90000 / S: room for a 25-hour day */
	size_t		ndays;
	settle_day *days;			/* oldest first */
	int16_t    *slot_of_local;	/* ndays x nlocal; -1 = skipped */
	int16_t    *local_of_slot;	/* ndays x maxslots */
} settle_calendar;

/* Is day a NERC holiday?  (Sunday holidays observed on Monday.) */
bool		settle_nerc_holiday(int64_t day);

/* Parse one YYYY-MM-DD a line; '#' comments and blank lines allowed.
 * out->days is new (free with settle_dayset_free). */
derms_rc	settle_dayset_parse(const char *buf, size_t len, const char *label,
								settle_dayset *out, derms_err *err);
bool		settle_dayset_has(const settle_dayset *set, int64_t day);
void		settle_dayset_free(settle_dayset *set);

/* Days first..last inclusive; holidays NULL means the NERC holidays. */
derms_rc	settle_calendar_build(settle_calendar *cal, int64_t first,
								  int64_t last, int32_t interval_s,
								  const settle_dayset *holidays,
								  const settle_dayset *events,
								  derms_err *err);
void		settle_calendar_free(settle_calendar *cal);

/* Index of date day in cal, or -1. */
long		settle_calendar_find(const settle_calendar *cal, int64_t day);

settle_day_class settle_day_classify(const settle_day *d,
									 settle_day_scheme scheme);

static inline int
settle_calendar_slot(const settle_calendar *cal, size_t di, int li)
{
	return cal->slot_of_local[di * (size_t) cal->nlocal + (size_t) li];
}

static inline int
settle_calendar_local(const settle_calendar *cal, size_t di, int slot)
{
	return cal->local_of_slot[di * (size_t) cal->maxslots + (size_t) slot];
}

#endif							/* DERMS_SETTLEMENT_CALENDAR_H */
