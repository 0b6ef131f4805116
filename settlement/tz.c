/*
 * settlement/tz.c
 *	  Civil-date arithmetic, strict ISO 8601 parsing and formatting, and
 *	  the prevailing-time-zone helpers trading days are built from.
 *
 * NOTES
 *	  Date arithmetic is done on proleptic Gregorian day numbers, so it
 *	  never depends on the process zone.  Local time comes only from
 *	  localtime_r() on a UTC instant (tm_gmtoff); mktime() is not used,
 *	  because its handling of the repeated and skipped hours differs
 *	  between libcs.  glibc silently falls back to UTC for an unknown TZ,
 *	  so settle_tz_use() opens the zone file first and checks its magic.
 */
#include "tz.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TZ_NAME_MAX 64

/* Days from 1970-01-01 to y-m-d (era arithmetic, 400-year cycles). */
int64_t
settle_days_from_civil(int y, int m, int d)
{
	int64_t		yy = (int64_t) y - (m <= 2);
	int64_t		era = (yy >= 0 ? yy : yy - 399) / 400;
	int64_t		yoe = yy - era * 400;
	int64_t		mp = (m + 9) % 12;
	int64_t		doy = (153 * mp + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + doe - 719468;
}

void
settle_civil_from_days(int64_t days, int *y, int *m, int *d)
{
	int64_t		z = days + 719468;
	int64_t		era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t		doe = z - era * 146097;
	int64_t		yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t		doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t		mp = (5 * doy + 2) / 153;
	int64_t		dd = doy - (153 * mp + 2) / 5 + 1;
	int64_t		mm = mp < 10 ? mp + 3 : mp - 9;

	*y = (int) (yoe + era * 400 + (mm <= 2));
	*m = (int) mm;
	*d = (int) dd;
}

int
settle_weekday(int64_t days)
{
	/* 1970-01-01 was a Thursday (4) */
	int64_t		w = (days + 4) % 7;

	return (int) (w < 0 ? w + 7 : w);
}

static int
days_in_month(int y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool		leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return (m == 2 && leap) ? 29 : mdays[m - 1];
}

/* n decimal digits at s; -1 when any is not a digit */
static int
digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Parse "YYYY-MM-DD" at s (len >= 10); day number or fails. */
static bool
parse_ymd(const char *s, int64_t *days)
{
	int			y = digits(s, 4);
	int			m = digits(s + 5, 2);
	int			d = digits(s + 8, 2);

	if (y < 1900 || s[4] != '-' || s[7] != '-' || m < 1 || m > 12 ||
		d < 1 || d > days_in_month(y, m))
		return false;
	*days = settle_days_from_civil(y, m, d);
	return true;
}

derms_rc
settle_parse_date(const char *s, size_t len, int64_t *days, derms_err *err)
{
	assert(s != NULL && days != NULL);
	if (len != 10 || !parse_ymd(s, days))
		return derms_err_set(err, DERMS_EPARSE,
							 "invalid date \"%.*s\" (want YYYY-MM-DD)",
							 (int) (len > 40 ? 40 : len), s);
	return DERMS_OK;
}

derms_rc
settle_parse_instant(const char *s, size_t len, int64_t *out, derms_err *err)
{
	int64_t		days;
	int			hh,
				mi,
				ss = 0;
	size_t		p = 16;
	int32_t		off = 0;

	assert(s != NULL && out != NULL);
	if (len < 17 || !parse_ymd(s, &days) || s[10] != 'T' ||
		(hh = digits(s + 11, 2)) < 0 || hh > 23 || s[13] != ':' ||
		(mi = digits(s + 14, 2)) < 0 || mi > 59)
		goto bad;
	if (s[p] == ':')
	{
		if (len < 20 || (ss = digits(s + 17, 2)) < 0 || ss > 59)
			goto bad;
		p = 19;
	}
	if (p + 1 == len && s[p] == 'Z')
		off = 0;
	else if (p + 6 == len && (s[p] == '+' || s[p] == '-') && s[p + 3] == ':')
	{
		int			oh = digits(s + p + 1, 2);
		int			om = digits(s + p + 4, 2);

		if (oh < 0 || oh > 14 || om < 0 || om > 59)
			goto bad;
		off = (oh * 60 + om) * 60;
		if (s[p] == '-')
			off = -off;
	}
	else
		goto bad;
	*out = days * 86400 + hh * 3600 + mi * 60 + ss - off;
	return DERMS_OK;

bad:
	return derms_err_set(err, DERMS_EPARSE,
						 "invalid timestamp \"%.*s\" (want ISO 8601 with Z or an offset, e.g. 2024-07-01T14:00-07:00)",
						 (int) (len > 40 ? 40 : len), s);
}

static bool
zone_name_ok(const char *z)
{
	size_t		n = strlen(z);

	if (n == 0 || n > TZ_NAME_MAX || z[0] == '/' || z[n - 1] == '/' ||
		strstr(z, "..") != NULL || strstr(z, "//") != NULL)
		return false;
	for (size_t i = 0; i < n; i++)
	{
		char		c = z[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '+' ||
			  c == '/'))
			return false;
	}
	return true;
}

derms_rc
settle_tz_use(const char *zone, derms_err *err)
{
	const char *dir = getenv("TZDIR");
	char		path[512];
	char		magic[4];
	FILE	   *f;
	size_t		got;

	assert(zone != NULL);
	if (!zone_name_ok(zone))
		return derms_err_set(err, DERMS_EINVAL,
							 "invalid time zone name \"%.64s\"", zone);
	if (dir == NULL || *dir == '\0')
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%s", dir, zone);
	f = fopen(path, "rb");
	if (f == NULL)
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "unknown time zone \"%s\"", zone);
	got = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	if (got != sizeof(magic) || memcmp(magic, "TZif", 4) != 0)
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "unknown time zone \"%s\"", zone);
	if (setenv("TZ", zone, 1) != 0)
		return derms_err_set(err, DERMS_ENOMEM, "could not set TZ: %m");
	tzset();
	return DERMS_OK;
}

int32_t
settle_tz_offset(int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;

	if (localtime_r(&tt, &tm) == NULL)
		return 0;
	return (int32_t) tm.tm_gmtoff;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
settle_tz_local_day(int64_t t)
{
	return floor_div(t + settle_tz_offset(t), 86400);
}

int64_t
settle_tz_day_start(int64_t day)
{
	int64_t		g = day * 86400;	/* local midnight read as if UTC */
	int64_t		t1 = g - settle_tz_offset(g);
	int64_t		t2 = g - settle_tz_offset(t1);
	int64_t		lo,
				hi;

	if (t2 + settle_tz_offset(t2) == g)
		return t2;
	if (t1 + settle_tz_offset(t1) == g)
		return t1;
	/* midnight falls in a gap: the first instant whose local time >= g */
	lo = (t1 < t2 ? t1 : t2) - 86400;
	hi = (t1 > t2 ? t1 : t2) + 86400;
	while (hi - lo > 1)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (mid + settle_tz_offset(mid) >= g)
			hi = mid;
		else
			lo = mid;
	}
	return hi;
}

static void
fmt(int64_t t, int32_t off, bool zulu, char *buf)
{
	int64_t		lt = t + off;
	int64_t		days = floor_div(lt, 86400);
	int64_t		sod = lt - days * 86400;
	int			y,
				m,
				d;

	settle_civil_from_days(days, &y, &m, &d);
	if (zulu)
	{
		snprintf(buf, SETTLE_TIME_STRMAX, "%04d-%02d-%02dT%02d:%02d:%02dZ",
				 y, m, d, (int) (sod / 3600), (int) (sod / 60 % 60),
				 (int) (sod % 60));
		return;
	}
	snprintf(buf, SETTLE_TIME_STRMAX,
			 "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d",
			 y, m, d, (int) (sod / 3600), (int) (sod / 60 % 60),
			 (int) (sod % 60), off < 0 ? '-' : '+',
			 (int) ((off < 0 ? -off : off) / 3600),
			 (int) ((off < 0 ? -off : off) / 60 % 60));
}

void
settle_fmt_utc(int64_t t, char *buf)
{
	fmt(t, 0, true, buf);
}

void
settle_fmt_local(int64_t t, char *buf)
{
	fmt(t, settle_tz_offset(t), false, buf);
}

void
settle_fmt_date(int64_t day, char *buf)
{
	int			y,
				m,
				d;

	settle_civil_from_days(day, &y, &m, &d);
	snprintf(buf, SETTLE_TIME_STRMAX, "%04d-%02d-%02d", y, m, d);
}
