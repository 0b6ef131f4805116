/*
 * protocols/sep2/tm.c
 *	  IEEE 2030.5 Time resource (/tm).
 *
 * NOTES
 *	  Runs in sep2 workers.  The zone is the process's (the worker sets TZ
 *	  from sep2.time_zone before it serves), so conversions go through the
 *	  C library's tz database: tzOffset is the zone's standard offset,
 *	  dstOffset the extra offset while daylight saving is in effect, and
 *	  dstStartTime / dstEndTime the UTC instants of this calendar year's
 *	  transitions (found by a day-by-day scan, then bisection to the
 *	  second), as IEEE 2030.5 describes them as results of the DST rules.
 *	  A zone without daylight saving reports 0 for all three.  The year's
 *	  results are cached per zone (one thread per process uses them).
 */
#include "tm.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP2_NS "urn:ieee:std:2030.5:ns"
#define SEP2_CT "application/sep+xml"
#define DAY 86400

typedef struct year_rule
{
	int			year;
	char		zone[128];
	int32_t		std_offset;
	int32_t		dst_offset;
	int64_t		dst_start;
	int64_t		dst_end;
} year_rule;

static year_rule cached = {.year = -1};

static bool
is_dst(time_t t, long *gmtoff)
{
	struct tm	tm;

	localtime_r(&t, &tm);
	if (gmtoff)
		*gmtoff = tm.tm_gmtoff;
	return tm.tm_isdst > 0;
}

/* The first second in (lo, hi] whose DST state differs from lo's. */
static time_t
bisect(time_t lo, time_t hi)
{
	bool		s = is_dst(lo, NULL);

	while (hi - lo > 1)
	{
		time_t		mid = lo + (hi - lo) / 2;

		if (is_dst(mid, NULL) == s)
			lo = mid;
		else
			hi = mid;
	}
	return hi;
}

static void
compute_year(int year, const char *zone, year_rule *r)
{
	struct tm	jan = {.tm_year = year - 1900, .tm_mon = 0, .tm_mday = 1};
	time_t		start = timegm(&jan);
	time_t		t;
	bool		prev;
	long		off;
	bool		have_std = false;

	memset(r, 0, sizeof(*r));
	r->year = year;
	snprintf(r->zone, sizeof(r->zone), "%s", zone);
	prev = is_dst(start, &off);
	if (!prev)
	{
		r->std_offset = (int32_t) off;
		have_std = true;
	}
	for (t = start + DAY; t <= start + 366 * DAY; t += DAY)
	{
		bool		now = is_dst(t, &off);

		if (!now && !have_std)
		{
			r->std_offset = (int32_t) off;
			have_std = true;
		}
		if (now != prev)
		{
			time_t		edge = bisect(t - DAY, t);
			long		dst_off;

			if (now)
			{
				r->dst_start = edge;
				is_dst(edge, &dst_off);
				r->dst_offset = (int32_t) dst_off;	/* made relative below */
			}
			else
				r->dst_end = edge;
			prev = now;
		}
	}
	if (!have_std)
		r->std_offset = (int32_t) off;	/* all year in "DST": treat as standard */
	if (r->dst_start || r->dst_end)
		r->dst_offset -= r->std_offset;
	else
		r->dst_offset = 0;
	if (r->dst_offset <= 0)
	{
		/* transitions without a positive offset are not daylight saving */
		r->dst_offset = 0;
		r->dst_start = r->dst_end = 0;
	}
}

void
sep2_time_at(time_t now, sep2_time *t)
{
	struct tm	utc;
	const char *zone = getenv("TZ");
	bool		dst;

	gmtime_r(&now, &utc);
	if (zone == NULL)
		zone = "";
	if (cached.year != utc.tm_year + 1900 || strcmp(cached.zone, zone) != 0)
		compute_year(utc.tm_year + 1900, zone, &cached);
	dst = is_dst(now, NULL) && cached.dst_offset > 0;
	t->current = (int64_t) now;
	t->tz_offset = cached.std_offset;
	t->dst_offset = cached.dst_offset;
	t->dst_start = cached.dst_start;
	t->dst_end = cached.dst_end;
	t->local = t->current + t->tz_offset + (dst ? t->dst_offset : 0);
}

int
sep2_time_format(char *buf, size_t len, const sep2_time *t, int poll_rate)
{
	/* quality 7: the server's clock is not claimed to be authoritative */
	return snprintf(buf, len,
					"<Time xmlns=\"" SEP2_NS "\" href=\"/tm\" pollRate=\"%d\">"
					"<currentTime>%lld</currentTime>"
					"<dstEndTime>%lld</dstEndTime>"
					"<dstOffset>%ld</dstOffset>"
					"<dstStartTime>%lld</dstStartTime>"
					"<localTime>%lld</localTime>"
					"<quality>7</quality>"
					"<tzOffset>%ld</tzOffset>"
					"</Time>",
					poll_rate, (long long) t->current, (long long) t->dst_end,
					(long) t->dst_offset, (long long) t->dst_start,
					(long long) t->local, (long) t->tz_offset);
}

int
sep2_tm_get(http_request *req)
{
	char	   *buf = arena_alloc(req->arena, 512);
	sep2_time	t;
	int			n;

	if (buf == NULL)
		return http_error(req, 500, "out of memory");
	sep2_time_at(time(NULL), &t);
	n = sep2_time_format(buf, 512, &t, req->cfg->sep2_poll_rate_s);
	return http_reply(req, 200, SEP2_CT, buf, (size_t) n);
}
