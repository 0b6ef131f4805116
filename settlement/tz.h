/*
 * settlement/tz.h
 *	  Civil dates, ISO 8601 instants and the ISO's prevailing time zone.
 *
 * NOTES
 *	  Instants are int64 UTC seconds since the epoch; dates are int64 days
 *	  since 1970-01-01.  settle_tz_use() sets TZ for the whole process (it
 *	  is not thread-safe); every other function here is pure or only reads
 *	  the zone through localtime_r().
 */
#ifndef DERMS_SETTLEMENT_TZ_H
#define DERMS_SETTLEMENT_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "server/err.h"

#define SETTLE_TIME_STRMAX 32

int64_t		settle_days_from_civil(int y, int m, int d);
void		settle_civil_from_days(int64_t days, int *y, int *m, int *d);

/* 0 = Sunday ... 6 = Saturday */
int			settle_weekday(int64_t days);

/* "YYYY-MM-DDTHH:MM[:SS]" then "Z" or "+HH:MM" / "-HH:MM". */
derms_rc	settle_parse_instant(const char *s, size_t len, int64_t *out,
								 derms_err *err);

/* "YYYY-MM-DD" */
derms_rc	settle_parse_date(const char *s, size_t len, int64_t *days,
							  derms_err *err);

/* Validate an IANA zone name against the tz database and make it the zone
 * of the process. */
derms_rc	settle_tz_use(const char *zone, derms_err *err);

/* Seconds east of UTC in the current zone at UTC instant t. */
int32_t		settle_tz_offset(int64_t t);

/* The local date (days) of UTC instant t. */
int64_t		settle_tz_local_day(int64_t t);

/* First UTC instant of local date day (local midnight). */
int64_t		settle_tz_day_start(int64_t day);

/* "2024-07-01T19:00:00Z" and "2024-07-01T12:00:00-07:00"; buf holds at
 * least SETTLE_TIME_STRMAX bytes. */
void		settle_fmt_utc(int64_t t, char *buf);
void		settle_fmt_local(int64_t t, char *buf);
void		settle_fmt_date(int64_t day, char *buf);

#endif							/* DERMS_SETTLEMENT_TZ_H */
