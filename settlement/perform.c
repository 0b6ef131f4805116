/*
 * settlement/perform.c
 *	  Instructions, prices and per-interval performance.
 *
 * NOTES
 *	  delivered comes from the baseline engine (baseline + adjustment -
 *	  actual, or MGO output - its baseline).  Under-delivery is
 *	  max(0, instructed - delivered), over-delivery max(0, delivered -
 *	  instructed), the performance ratio delivered / instructed (absent
 *	  when nothing was instructed).  Value is delivered kWh / 1000 x the
 *	  time-weighted price; it is absent unless prices cover the interval.
 */
#include "perform.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settlement/meter_read.h"
#include "settlement/tz.h"

static int
cmp_instr(const void *a, const void *b)
{
	const settle_instr *x = a;
	const settle_instr *y = b;
	int			c = strcmp(x->res, y->res);

	if (c != 0)
		return c;
	return (x->start > y->start) - (x->start < y->start);
}

static int
cmp_price(const void *a, const void *b)
{
	const settle_price *x = a;
	const settle_price *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static derms_rc
parse_minutes(const char *s, size_t len, int32_t *out)
{
	if (len == 1 && s[0] == '5')
		*out = 300;
	else if (len == 2 && memcmp(s, "15", 2) == 0)
		*out = 900;
	else if (len == 2 && memcmp(s, "60", 2) == 0)
		*out = 3600;
	else
		return DERMS_EPARSE;
	return DERMS_OK;
}

/* Grow *v (of elem bytes) to hold n + 1. */
static bool
grow(void **v, size_t *cap, size_t n, size_t elem)
{
	void	   *nv;
	size_t		ncap;

	if (n < *cap)
		return true;
	ncap = *cap == 0 ? 64 : *cap * 2;
	nv = realloc(*v, ncap * elem);
	if (nv == NULL)
		return false;
	*v = nv;
	*cap = ncap;
	return true;
}

derms_rc
settle_instr_parse(const char *buf, size_t len, const char *label,
				   settle_instr_set *out, derms_err *err)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	size_t		cap = 0;
	derms_err	sub;
	const char *what = NULL;

	assert(buf != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	settle_lines_init(&it, buf, len);
	if (!settle_lines_next(&it, &line, &ll) ||
		ll != strlen(SETTLE_CSV_HEADER) ||
		memcmp(line, SETTLE_CSV_HEADER, ll) != 0)
		return derms_err_set(err, DERMS_EPARSE,
							 "%s line 1: header must be \"%s\"", label,
							 SETTLE_CSV_HEADER);
	while (settle_lines_next(&it, &line, &ll))
	{
		const char *f[4];
		size_t		fl[4];
		settle_instr *in;

		if (ll == 0 && it.pos >= it.len)
			break;
		if (!grow((void **) &out->v, &cap, out->n, sizeof(settle_instr)))
		{
			settle_instr_free(out);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
		in = &out->v[out->n];
		if (!settle_split(line, ll, 4, f, fl))
			what = "want 4 fields: " SETTLE_CSV_HEADER;
		else if (!settle_resource_ok(f[0], fl[0]))
			what = "resource: invalid id";
		else if (settle_parse_instant(f[1], fl[1], &in->start, &sub) != DERMS_OK)
			what = "interval_start: invalid timestamp";
		else if (parse_minutes(f[2], fl[2], &in->len_s) != DERMS_OK)
			what = "interval_minutes: not 5, 15 or 60";
		else if (settle_parse_decimal(f[3], fl[3], &in->kwh) != DERMS_OK)
			what = "kwh: not a decimal number";
		if (what != NULL)
		{
			settle_instr_free(out);
			return derms_err_set(err, DERMS_EPARSE, "%s line %zu: %s", label,
								 it.lineno, what);
		}
		memcpy(in->res, f[0], fl[0]);
		in->res[fl[0]] = '\0';
		out->n++;
	}
	qsort(out->v, out->n, sizeof(settle_instr), cmp_instr);
	for (size_t i = 1; i < out->n; i++)
		if (strcmp(out->v[i].res, out->v[i - 1].res) == 0 &&
			out->v[i].start < out->v[i - 1].start + out->v[i - 1].len_s)
		{
			char		ts[SETTLE_TIME_STRMAX];

			settle_fmt_utc(out->v[i].start, ts);
			derms_err_set(err, DERMS_EPARSE,
						  "%s: overlapping instructions for resource \"%s\" at %s",
						  label, out->v[i].res, ts);
			settle_instr_free(out);
			return DERMS_EPARSE;
		}
	return DERMS_OK;
}

void
settle_instr_free(settle_instr_set *set)
{
	if (set == NULL)
		return;
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

derms_rc
settle_price_parse(const char *buf, size_t len, const char *label,
				   settle_price_set *out, derms_err *err)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	size_t		cap = 0;
	derms_err	sub;
	const char *what = NULL;

	assert(buf != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	settle_lines_init(&it, buf, len);
	if (!settle_lines_next(&it, &line, &ll) ||
		ll != strlen(SETTLE_PRICE_HEADER) ||
		memcmp(line, SETTLE_PRICE_HEADER, ll) != 0)
		return derms_err_set(err, DERMS_EPARSE,
							 "%s line 1: header must be \"%s\"", label,
							 SETTLE_PRICE_HEADER);
	while (settle_lines_next(&it, &line, &ll))
	{
		const char *f[3];
		size_t		fl[3];
		settle_price *p;

		if (ll == 0 && it.pos >= it.len)
			break;
		if (!grow((void **) &out->v, &cap, out->n, sizeof(settle_price)))
		{
			settle_price_free(out);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
		p = &out->v[out->n];
		if (!settle_split(line, ll, 3, f, fl))
			what = "want 3 fields: " SETTLE_PRICE_HEADER;
		else if (settle_parse_instant(f[0], fl[0], &p->start, &sub) != DERMS_OK)
			what = "interval_start: invalid timestamp";
		else if (parse_minutes(f[1], fl[1], &p->len_s) != DERMS_OK)
			what = "interval_minutes: not 5, 15 or 60";
		else if (settle_parse_decimal(f[2], fl[2], &p->price) != DERMS_OK)
			what = "price_per_mwh: not a decimal number";
		if (what != NULL)
		{
			settle_price_free(out);
			return derms_err_set(err, DERMS_EPARSE, "%s line %zu: %s", label,
								 it.lineno, what);
		}
		out->n++;
	}
	qsort(out->v, out->n, sizeof(settle_price), cmp_price);
	for (size_t i = 1; i < out->n; i++)
		if (out->v[i].start < out->v[i - 1].start + out->v[i - 1].len_s)
		{
			char		ts[SETTLE_TIME_STRMAX];

			settle_fmt_utc(out->v[i].start, ts);
			derms_err_set(err, DERMS_EPARSE, "%s: overlapping prices at %s",
						  label, ts);
			settle_price_free(out);
			return DERMS_EPARSE;
		}
	return DERMS_OK;
}

void
settle_price_free(settle_price_set *set)
{
	if (set == NULL)
		return;
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

static int64_t
overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
	int64_t		lo = a0 > b0 ? a0 : b0;
	int64_t		hi = a1 < b1 ? a1 : b1;

	return hi > lo ? hi - lo : 0;
}

/* First instruction of res (binary search); set->n when none. */
static size_t
instr_first(const settle_instr_set *set, const char *res)
{
	size_t		lo = 0,
				hi = set->n;

	while (lo < hi)
	{
		size_t		mid = lo + (hi - lo) / 2;

		if (strcmp(set->v[mid].res, res) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void
settle_perform(const settle_row *row, int32_t len_s, const char *res,
			   const settle_instr_set *instr, const settle_price_set *prices,
			   settle_perf *out)
{
	int64_t		t0 = row->start;
	int64_t		t1 = row->start + len_s;

	assert(row != NULL && out != NULL && len_s > 0);
	memset(out, 0, sizeof(*out));
	if (instr != NULL && instr->n > 0)
	{
		for (size_t i = instr_first(instr, res);
			 i < instr->n && strcmp(instr->v[i].res, res) == 0 &&
			 instr->v[i].start < t1; i++)
		{
			int64_t		ov = overlap(t0, t1, instr->v[i].start,
									 instr->v[i].start + instr->v[i].len_s);

			if (ov > 0)
			{
				out->has_instr = true;
				out->instructed += instr->v[i].kwh * (double) ov /
					(double) instr->v[i].len_s;
			}
		}
		if (out->has_instr)
		{
			double		d = row->delivered - out->instructed;

			out->under = d < 0 ? -d : 0.0;
			out->over = d > 0 ? d : 0.0;
			if (out->instructed != 0.0)
			{
				out->has_ratio = true;
				out->ratio = row->delivered / out->instructed;
			}
		}
	}
	if (prices != NULL && prices->n > 0)
	{
		int64_t		covered = 0;
		double		weighted = 0.0;

		for (size_t i = 0; i < prices->n && prices->v[i].start < t1; i++)
		{
			int64_t		ov = overlap(t0, t1, prices->v[i].start,
									 prices->v[i].start + prices->v[i].len_s);

			covered += ov;
			weighted += prices->v[i].price * (double) ov;
		}
		if (covered == len_s)
		{
			out->has_price = true;
			out->price = weighted / (double) len_s;
			out->value = row->delivered / 1000.0 * out->price;
		}
	}
}
