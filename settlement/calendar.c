/*
 * settlement/calendar.c
 *	  Trading-day calendar, NERC holidays and date lists.
 *
 * NOTES
 *	  NERC holidays (the default; --holidays replaces them): New Year's
 *	  Day, Memorial Day (last Monday of May), Independence Day, Labor Day
 *	  (first Monday of September), Thanksgiving (fourth Thursday of
 *	  November) and Christmas Day.  A fixed-date holiday on a Sunday is
 *	  observed the Monday after; one on a Saturday stays on Saturday, as
 *	  NERC publishes them.
 */
#include "calendar.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "settlement/meter_read.h"
#include "settlement/tz.h"

#define CAL_MAX_DAYS 400

bool
settle_nerc_holiday(int64_t day)
{
	int			y,
				m,
				d;
	int			wd = settle_weekday(day);

	settle_civil_from_days(day, &y, &m, &d);
	/* fixed dates, and the Monday after one that fell on a Sunday */
	if ((m == 1 && d == 1) || (m == 7 && d == 4) || (m == 12 && d == 25))
		return true;
	if (wd == 1 && ((m == 1 && d == 2) || (m == 7 && d == 5) ||
					(m == 12 && d == 26)))
		return true;
	if (m == 5 && wd == 1 && d + 7 > 31)
		return true;			/* Memorial Day */
	if (m == 9 && wd == 1 && d <= 7)
		return true;			/* Labor Day */
	if (m == 11 && wd == 4 && d >= 22 && d <= 28)
		return true;			/* Thanksgiving */
	return false;
}

static int
cmp_day(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a;
	int64_t		y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

derms_rc
settle_dayset_parse(const char *buf, size_t len, const char *label,
					settle_dayset *out, derms_err *err)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	size_t		cap = 0;
	derms_err	sub;

	assert(buf != NULL && out != NULL);
	out->days = NULL;
	out->n = 0;
	settle_lines_init(&it, buf, len);
	while (settle_lines_next(&it, &line, &ll))
	{
		int64_t		day;

		while (ll > 0 && (line[ll - 1] == ' ' || line[ll - 1] == '\t'))
			ll--;
		if (ll == 0 || line[0] == '#')
			continue;
		if (settle_parse_date(line, ll, &day, &sub) != DERMS_OK)
		{
			settle_dayset_free(out);
			return derms_err_set(err, DERMS_EPARSE, "%s line %zu: %s", label,
								 it.lineno, sub.msg);
		}
		if (out->n == cap)
		{
			size_t		ncap = cap == 0 ? 32 : cap * 2;
			int64_t    *nd = realloc(out->days, ncap * sizeof(int64_t));

			if (nd == NULL)
			{
				settle_dayset_free(out);
				return derms_err_set(err, DERMS_ENOMEM, "out of memory");
			}
			out->days = nd;
			cap = ncap;
		}
		out->days[out->n++] = day;
	}
	if (out->n > 1)
		qsort(out->days, out->n, sizeof(int64_t), cmp_day);
	return DERMS_OK;
}

bool
settle_dayset_has(const settle_dayset *set, int64_t day)
{
	return set != NULL && set->n > 0 &&
		bsearch(&day, set->days, set->n, sizeof(int64_t), cmp_day) != NULL;
}

void
settle_dayset_free(settle_dayset *set)
{
	if (set == NULL)
		return;
	free(set->days);
	set->days = NULL;
	set->n = 0;
}

void
settle_calendar_free(settle_calendar *cal)
{
	if (cal == NULL)
		return;
	free(cal->days);
	free(cal->slot_of_local);
	free(cal->local_of_slot);
	memset(cal, 0, sizeof(*cal));
}

derms_rc
settle_calendar_build(settle_calendar *cal, int64_t first, int64_t last,
					  int32_t interval_s, const settle_dayset *holidays,
					  const settle_dayset *events, derms_err *err)
{
	size_t		nd;

	assert(cal != NULL);
	assert(interval_s == 300 || interval_s == 900 || interval_s == 3600);
	memset(cal, 0, sizeof(*cal));
	if (last < first || last - first + 1 > CAL_MAX_DAYS)
		return derms_err_set(err, DERMS_ERANGE,
							 "calendar must span 1 to %d days", CAL_MAX_DAYS);
	nd = (size_t) (last - first + 1);
	cal->interval_s = interval_s;
	cal->nlocal = 86400 / interval_s;
	cal->maxslots = 90000 / interval_s;
	cal->ndays = nd;
	cal->days = calloc(nd, sizeof(settle_day));
	cal->slot_of_local = malloc(nd * (size_t) cal->nlocal * sizeof(int16_t));
	cal->local_of_slot = malloc(nd * (size_t) cal->maxslots * sizeof(int16_t));
	if (cal->days == NULL || cal->slot_of_local == NULL ||
		cal->local_of_slot == NULL)
	{
		settle_calendar_free(cal);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	memset(cal->slot_of_local, 0xff, nd * (size_t) cal->nlocal * sizeof(int16_t));
	memset(cal->local_of_slot, 0xff, nd * (size_t) cal->maxslots * sizeof(int16_t));
	for (size_t i = 0; i < nd; i++)
	{
		settle_day *d = &cal->days[i];
		int64_t		len;

		d->day = first + (int64_t) i;
		d->start = settle_tz_day_start(d->day);
		d->end = settle_tz_day_start(d->day + 1);
		d->wday = settle_weekday(d->day);
		d->holiday = holidays ? settle_dayset_has(holidays, d->day)
			: settle_nerc_holiday(d->day);
		d->event = settle_dayset_has(events, d->day);
		len = d->end - d->start;
		if (len % interval_s != 0 || len / interval_s > cal->maxslots ||
			d->start % interval_s != 0)
		{
			char		ds[SETTLE_TIME_STRMAX];

			settle_fmt_date(d->day, ds);
			settle_calendar_free(cal);
			return derms_err_set(err, DERMS_EINVAL,
								 "trading day %s does not divide into %d-minute intervals in this zone",
								 ds, (int) (interval_s / 60));
		}
		d->nslots = (int) (len / interval_s);
		for (int k = 0; k < d->nslots; k++)
		{
			int64_t		t = d->start + (int64_t) k * interval_s;
			int64_t		lsec = t + settle_tz_offset(t) - d->day * 86400;
			int			li = (int) (lsec / interval_s);

			if (lsec < 0 || li >= cal->nlocal)
				continue;		/* cannot happen for whole-hour shifts */
			cal->local_of_slot[i * (size_t) cal->maxslots + (size_t) k] =
				(int16_t) li;
			if (cal->slot_of_local[i * (size_t) cal->nlocal + (size_t) li] < 0)
				cal->slot_of_local[i * (size_t) cal->nlocal + (size_t) li] =
					(int16_t) k;
		}
	}
	return DERMS_OK;
}

long
settle_calendar_find(const settle_calendar *cal, int64_t day)
{
	if (cal->ndays == 0 || day < cal->days[0].day ||
		day > cal->days[cal->ndays - 1].day)
		return -1;
	return (long) (day - cal->days[0].day);
}

settle_day_class
settle_day_classify(const settle_day *d, settle_day_scheme scheme)
{
	bool		weekend = (d->wday == 0 || d->wday == 6);

	if (!weekend && !d->holiday)
		return SETTLE_CLASS_WEEKDAY;
	if (scheme == SETTLE_SCHEME_WEEKDAY_WEEKEND)
		return SETTLE_CLASS_WEEKEND;
	if (d->wday == 6 && !d->holiday)
		return SETTLE_CLASS_SATURDAY;
	return SETTLE_CLASS_SUNHOL;
}
