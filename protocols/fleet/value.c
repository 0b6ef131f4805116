/*
 * protocols/fleet/value.c
 *	  Strict field validators (see value.h).
 */
#include "value.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* n digits at s into *v; false if any is not a digit. */
static bool
digits(const char *s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (s[i] - '0');
	}
	return true;
}

static bool
date_prefix(const char *s)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int			y, m, d;

	if (strlen(s) < 10 || s[4] != '-' || s[7] != '-' ||
		!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d))
		return false;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	return true;
}

bool
fleet_value_date(const char *s)
{
	return s != NULL && strlen(s) == 10 && date_prefix(s);
}

bool
fleet_value_time(const char *s)
{
	int			hh, mi, ss;
	const char *p;

	if (s == NULL || !date_prefix(s) || (s[10] != 'T' && s[10] != ' '))
		return false;
	p = s + 11;
	if (!digits(p, 2, &hh) || p[2] != ':' || !digits(p + 3, 2, &mi) ||
		hh > 23 || mi > 59)
		return false;
	p += 5;
	if (*p == ':')
	{
		if (!digits(p + 1, 2, &ss) || ss > 59)
			return false;
		p += 3;
		if (*p == '.')
		{
			p++;
			if (!isdigit((unsigned char) *p))
				return false;
			while (isdigit((unsigned char) *p))
				p++;
		}
	}
	if (*p == 'Z')
		return p[1] == '\0';
	if (*p != '+' && *p != '-')
		return false;
	if (!digits(p + 1, 2, &hh) || hh > 15)
		return false;
	p += 3;
	if (*p == ':')
		p++;
	if (*p == '\0')
		return true;
	return digits(p, 2, &mi) && mi <= 59 && p[2] == '\0';
}

bool
fleet_value_number(const char *s, double *out)
{
	char	   *end;
	double		v;

	if (s == NULL || *s == '\0' || strspn(s, "0123456789.eE+-") != strlen(s))
		return false;
	v = strtod(s, &end);
	if (*end != '\0' || !isfinite(v))
		return false;
	if (out)
		*out = v;
	return true;
}

bool
fleet_value_lfdi(const char *s, char out[41])
{
	if (s == NULL || strlen(s) != 40 || strspn(s, "0123456789abcdefABCDEF") != 40)
		return false;
	if (out)
	{
		for (int i = 0; i < 40; i++)
			out[i] = (char) toupper((unsigned char) s[i]);
		out[40] = '\0';
	}
	return true;
}
