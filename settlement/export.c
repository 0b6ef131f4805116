/*
 * settlement/export.c
 *	  Export quantities for one aggregation and day, and the CSV and JSON
 *	  files built from them: CAISO MRI-S meter data, PJM hourly MWh, the
 *	  generic interval CSV and JSON.  The ESPI feed is in espi.c, the
 *	  manifest in manifest.c, the crash-safe writing in afile.c.
 *
 * NOTES
 *	  Quantities are int64 Wh.  Each reading is rounded to Wh once, then
 *	  only added, so a resource's interval is the exact sum of its
 *	  readings and the aggregation's the exact sum of its members'.
 *	  Baselines come from the engine in doubles and are rounded to Wh per
 *	  member interval; delivered is then baseline - actual (MGO: actual -
 *	  baseline) in Wh.  Value is kept in millionths of the currency:
 *	  delivered Wh x price per MWh (Wh / 10^6 MWh x 10^6 units).
 *	  File layouts are in DESIGN.md ("Exports").
 */
#include "export.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settlement/meter_read.h"
#include "settlement/tz.h"

/* The ISOs, as data: zone and the ISO-specific files. */
static const settle_iso_info settle_isos[] = {
	{SETTLE_ISO_CAISO, "caiso", "America/Los_Angeles", true, false, false},
	{SETTLE_ISO_PJM, "pjm", "America/New_York", false, true, false},
	{SETTLE_ISO_NYISO, "nyiso", "America/New_York", false, false, true},
	{SETTLE_ISO_GENERIC, "generic", NULL, false, false, false},
};

const settle_iso_info *
settle_iso_find(const char *name)
{
	for (size_t i = 0; i < sizeof(settle_isos) / sizeof(settle_isos[0]); i++)
		if (strcmp(settle_isos[i].name, name) == 0)
			return &settle_isos[i];
	return NULL;
}

void
settle_fmt_fixed(int64_t v, int decimals, char *buf)
{
	/* by hand: this runs once per number written, millions of times */
	uint64_t	a = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;
	char		tmp[SETTLE_FIXED_MAX];
	int			n = 0;
	char	   *p = buf;

	assert(decimals >= 0 && decimals <= 9);
	do
	{
		if (n == decimals && decimals > 0)
			tmp[n++] = '.';
		tmp[n++] = (char) ('0' + a % 10);
		a /= 10;
	} while (a > 0 || n <= decimals);
	if (v < 0)
		*p++ = '-';
	while (n > 0)
		*p++ = tmp[--n];
	*p = '\0';
}

/* ---- membership ---- */

static int
cmp_pair(const void *a, const void *b)
{
	const char *const *x = a;
	const char *const *y = b;
	int			c = strcmp(x[0], y[0]);

	return c != 0 ? c : strcmp(x[1], y[1]);
}

void
settle_members_free(settle_members *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n; i++)
	{
		free(m->agg[i]);
		free(m->res[i]);
	}
	free(m->agg);
	free(m->res);
	memset(m, 0, sizeof(*m));
}

derms_rc
settle_members_parse(const char *buf, size_t len, const char *label,
					 settle_members *out, derms_err *err)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	size_t		cap = 0;
	char	  **pairs = NULL;	/* 2 per entry, for sorting */
	size_t		n = 0;
	derms_rc	rc = DERMS_OK;

	memset(out, 0, sizeof(*out));
	settle_lines_init(&it, buf, len);
	if (!settle_lines_next(&it, &line, &ll) ||
		ll != strlen(SETTLE_MEMBERS_HEADER) ||
		memcmp(line, SETTLE_MEMBERS_HEADER, ll) != 0)
		return derms_err_set(err, DERMS_EPARSE,
							 "%s line 1: header must be \"%s\"", label,
							 SETTLE_MEMBERS_HEADER);
	while (settle_lines_next(&it, &line, &ll))
	{
		const char *f[2];
		size_t		fl[2];

		if (ll == 0 && it.pos >= it.len)
			break;
		if (!settle_split(line, ll, 2, f, fl) ||
			!settle_resource_ok(f[0], fl[0]) ||
			!settle_resource_ok(f[1], fl[1]))
		{
			rc = derms_err_set(err, DERMS_EPARSE,
							   "%s line %zu: want \"aggregation,resource\" with ids of 1-64 of [A-Za-z0-9_.:-]",
							   label, it.lineno);
			goto done;
		}
		if (n == cap)
		{
			size_t		ncap = cap == 0 ? 64 : cap * 2;
			char	  **np = realloc(pairs, ncap * 2 * sizeof(char *));

			if (np == NULL)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
			pairs = np;
			cap = ncap;
		}
		pairs[2 * n] = strndup(f[0], fl[0]);
		pairs[2 * n + 1] = strndup(f[1], fl[1]);
		n++;
		if (pairs[2 * n - 2] == NULL || pairs[2 * n - 1] == NULL)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
	}
	if (n > 0)
		qsort(pairs, n, 2 * sizeof(char *), cmp_pair);
	for (size_t i = 1; i < n; i++)
		if (cmp_pair(&pairs[2 * i], &pairs[2 * i - 2]) == 0)
		{
			rc = derms_err_set(err, DERMS_EPARSE,
							   "%s: resource \"%s\" listed twice in aggregation \"%s\"",
							   label, pairs[2 * i + 1], pairs[2 * i]);
			goto done;
		}
	out->agg = calloc(n ? n : 1, sizeof(char *));
	out->res = calloc(n ? n : 1, sizeof(char *));
	if (out->agg == NULL || out->res == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
	{
		out->agg[i] = pairs[2 * i];
		out->res[i] = pairs[2 * i + 1];
		pairs[2 * i] = pairs[2 * i + 1] = NULL;
	}
	out->n = n;
done:
	for (size_t i = 0; i < 2 * n; i++)
		free(pairs[i]);
	free(pairs);
	if (rc != DERMS_OK)
	{
		free(out->agg);
		free(out->res);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

size_t
settle_members_of(const settle_members *m, const char *agg, size_t *first)
{
	size_t		i = 0,
				j;

	while (i < m->n && strcmp(m->agg[i], agg) != 0)
		i++;
	for (j = i; j < m->n && strcmp(m->agg[j], agg) == 0; j++)
		;
	*first = i;
	return j - i;
}

/* ---- quantities ---- */

static int64_t
to_wh(double kwh)
{
	return (int64_t) llround(kwh * 1000.0);
}

void
settle_export_free(settle_export *x)
{
	if (x == NULL)
		return;
	free(x->cells);
	x->cells = NULL;
}

/*
 * Actual Wh of series s over [t, t + S): each reading rounded to Wh, then
 * summed.  Slots outside the series' span hold its nearest reading and
 * count as estimated; *actual counts readings that were not.
 */
static void
sum_actual(const settle_series *s, int64_t t, int32_t S, settle_xcell *c,
		   size_t *actual)
{
	int64_t		k = S / s->len_s;
	int64_t		first = (t - s->t0) / s->len_s;

	for (int64_t i = first; i < first + k; i++)
	{
		if (i < 0)
		{
			c->wh += to_wh(s->kwh[0]);
			c->flags |= SETTLE_X_EST;
		}
		else if (i >= (int64_t) s->n)
		{
			c->wh += to_wh(s->kwh[s->n - 1]);
			c->flags |= SETTLE_X_EST;
		}
		else
		{
			c->wh += to_wh(s->kwh[i]);
			if (s->est != NULL && s->est[i])
				c->flags |= SETTLE_X_EST;
			else
				(*actual)++;
		}
	}
}

/* Baseline, delivered, instruction, price and value of one member. */
static derms_rc
member_baseline(const settle_export_req *req, const settle_calendar *cal,
				const settle_series *s, settle_export *x, size_t r,
				settle_row *rows, derms_err *err)
{
	int			nk = 0;
	derms_rc	rc;

	if (req->method != NULL)
	{
		nk = (int) ((req->ev_end - req->ev_start) / x->interval_s);
		rc = settle_baseline_compute(req->method, cal, s, req->ev_start,
									 req->ev_end, rows, NULL, err);
		if (rc != DERMS_OK)
			return rc;
	}
	for (int k = 0; k < x->nslots; k++)
	{
		settle_xcell *c = &x->cells[r * (size_t) x->nslots + (size_t) k];
		int64_t		t = x->start + (int64_t) k * x->interval_s;
		settle_row	row;
		settle_perf p;
		int			ek = (int) ((t - req->ev_start) / x->interval_s);

		memset(&row, 0, sizeof(row));
		row.start = t;
		if (req->method != NULL && t >= req->ev_start && t < req->ev_end &&
			ek < nk)
		{
			const settle_row *br = &rows[ek];

			c->base_wh = to_wh(br->baseline + br->adjustment);
			c->del_wh = req->method->kind == SETTLE_BASE_MGO
				? c->wh - c->base_wh : c->base_wh - c->wh;
			c->flags |= SETTLE_X_BASELINE;
			if (br->flags & SETTLE_F_EST_BASELINE)
				c->flags |= SETTLE_X_EST_BASE;
			row.delivered = (double) c->del_wh / 1000.0;
		}
		settle_perform(&row, x->interval_s, s->name, req->instr, req->prices,
					   &p);
		if (p.has_instr)
		{
			c->instr_wh = to_wh(p.instructed);
			c->flags |= SETTLE_X_INSTR;
		}
		if (p.has_price)
		{
			c->price = p.price;
			c->flags |= SETTLE_X_PRICE;
			if (c->flags & SETTLE_X_BASELINE)
			{
				c->value_u = (int64_t) llround((double) c->del_wh * p.price);
				c->flags |= SETTLE_X_VALUE;
			}
		}
	}
	return DERMS_OK;
}

derms_rc
settle_export_compute(const settle_export_req *req, settle_export *x,
					  derms_err *err)
{
	settle_calendar cal;
	settle_row *rows = NULL;
	size_t		nactual = 0;
	int32_t		S = req->interval_s;
	char		ds[SETTLE_TIME_STRMAX];
	derms_rc	rc = DERMS_OK;

	assert(req != NULL && x != NULL && req->set != NULL);
	memset(x, 0, sizeof(*x));
	memset(&cal, 0, sizeof(cal));
	x->req = req;
	settle_fmt_date(req->day, ds);
	if (req->nmembers == 0)
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "aggregation \"%s\" has no members",
							 req->aggregation);
	for (size_t i = 0; i < req->nmembers; i++)
	{
		const settle_series *s = settle_series_find(req->set, req->members[i]);

		if (s == NULL || s->n == 0)
			return derms_err_set(err, DERMS_ENOTFOUND,
								 "no data for resource \"%s\" of aggregation \"%s\"",
								 req->members[i], req->aggregation);
		if (req->interval_s == 0 && s->len_s > S)
			S = s->len_s;
	}
	for (size_t i = 0; i < req->nmembers; i++)
	{
		const settle_series *s = settle_series_find(req->set, req->members[i]);

		if (S % s->len_s != 0)
			return derms_err_set(err, DERMS_EINVAL,
								 "resource \"%s\" has %d-minute data; cannot settle at %d-minute intervals",
								 s->name, (int) (s->len_s / 60), (int) (S / 60));
	}
	x->interval_s = S;
	x->start = settle_tz_day_start(req->day);
	x->end = settle_tz_day_start(req->day + 1);
	if (x->start % S != 0 || x->end % S != 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "trading day %s in %s does not start on a %d-minute boundary",
							 ds, req->zone, (int) (S / 60));
	if (req->method != NULL &&
		(req->ev_start < x->start || req->ev_end > x->end ||
		 req->ev_start % S != 0 || req->ev_end % S != 0 ||
		 req->ev_end <= req->ev_start))
		return derms_err_set(err, DERMS_EINVAL,
							 "--event must lie within trading day %s on %d-minute boundaries",
							 ds, (int) (S / 60));
	x->nslots = (int) ((x->end - x->start) / S);
	x->nrows = req->nmembers + 1;
	x->cells = calloc(x->nrows * (size_t) x->nslots, sizeof(settle_xcell));
	if (x->cells == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (req->method != NULL)
	{
		rc = settle_calendar_build(&cal,
								   req->day - settle_method_history_days(req->method) - 1,
								   req->day, S, req->holidays, req->events, err);
		if (rc != DERMS_OK)
			goto fail;
		rows = calloc((size_t) x->nslots, sizeof(settle_row));
		if (rows == NULL)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto fail;
		}
	}
	for (size_t r = 0; r < req->nmembers; r++)
	{
		const settle_series *s = settle_series_find(req->set, req->members[r]);

		for (int k = 0; k < x->nslots; k++)
		{
			settle_xcell *c = &x->cells[r * (size_t) x->nslots + (size_t) k];

			sum_actual(s, x->start + (int64_t) k * S, S, c, &nactual);
			if (c->flags & SETTLE_X_EST)
				x->nestimated++;
		}
		rc = member_baseline(req, &cal, s, x, r, rows, err);
		if (rc != DERMS_OK)
			goto fail;
	}
	if (nactual == 0)
	{
		rc = derms_err_set(err, DERMS_ENOTFOUND,
						   "no data for aggregation \"%s\" on %s",
						   req->aggregation, ds);
		goto fail;
	}
	if (x->nestimated > 0 && !req->allow_estimated)
	{
		rc = derms_err_set(err, DERMS_EINVAL,
						   "%zu member intervals of aggregation \"%s\" on %s are estimated (missing data); pass --allow-estimated to export them flagged",
						   x->nestimated, req->aggregation, ds);
		goto fail;
	}
	/* the aggregation: exactly the sum of its members */
	for (int k = 0; k < x->nslots; k++)
	{
		settle_xcell *a = &x->cells[req->nmembers * (size_t) x->nslots + (size_t) k];

		for (size_t r = 0; r < req->nmembers; r++)
		{
			const settle_xcell *c = settle_export_cell(x, r, k);

			a->wh += c->wh;
			a->base_wh += c->base_wh;
			a->del_wh += c->del_wh;
			a->instr_wh += c->instr_wh;
			a->value_u += c->value_u;
			a->flags |= c->flags;
			if (c->flags & SETTLE_X_PRICE)
				a->price = c->price;
		}
	}
	settle_calendar_free(&cal);
	free(rows);
	return DERMS_OK;

fail:
	settle_calendar_free(&cal);
	free(rows);
	settle_export_free(x);
	return rc;
}

/* ---- rendering ---- */

typedef struct out
{
	FILE	   *f;
	char	   *buf;
	size_t		len;
} out;

static derms_rc
out_open(out *o, derms_err *err)
{
	o->buf = NULL;
	o->len = 0;
	o->f = open_memstream(&o->buf, &o->len);
	if (o->f == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	return DERMS_OK;
}

static derms_rc
out_close(out *o, settle_xfile *file, derms_err *err)
{
	int			rc = fclose(o->f);

	o->f = NULL;
	if (rc != 0)
	{
		free(o->buf);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	file->buf = o->buf;
	file->len = o->len;
	return settle_sha256_hex(file->buf, file->len, file->sha256, err);
}

/* ",v" with Wh shown in the unit of 10^decimals Wh */
static void
put_fixed(FILE *f, int64_t v, int decimals)
{
	char		b[SETTLE_FIXED_MAX];

	settle_fmt_fixed(v, decimals, b);
	fputc(',', f);
	fputs(b, f);
}

static const char *
member_name(const settle_export *x, size_t r)
{
	return r < x->req->nmembers ? x->req->members[r] : "";
}

/* Local time of instant t written with the offset in force at instant
 * at (the interval's own offset for an interval end). */
static void
fmt_local_at(int64_t t, int64_t at, char *buf)
{
	int32_t		off = settle_tz_offset(at);
	char		u[SETTLE_TIME_STRMAX];
	int			oh = (off < 0 ? -off : off) / 3600 % 24;
	int			om = (off < 0 ? -off : off) / 60 % 60;

	settle_fmt_utc(t + off, u);
	/* u is "YYYY-MM-DDTHH:MM:SSZ"; replace Z by the offset */
	snprintf(buf, SETTLE_TIME_STRMAX, "%.19s%c%02d:%02d", u, off < 0 ? '-' : '+',
			 oh, om);
}

/*
 * CAISO MRI-S settlement-quality meter data: the aggregation's resource
 * ID, one row per settlement interval (DESIGN.md, "CAISO").
 */
static derms_rc
render_caiso(const settle_export *x, settle_xfile *file, derms_err *err)
{
	out			o;
	char		ds[SETTLE_TIME_STRMAX];
	const char *mtype = (x->req->method != NULL &&
						 x->req->method->kind == SETTLE_BASE_MGO) ? "GEN" : "LOAD";

	if (out_open(&o, err) != DERMS_OK)
		return DERMS_ENOMEM;
	settle_fmt_date(x->req->day, ds);
	fputs("RESOURCE_ID,MEASUREMENT_TYPE,UOM,INTERVAL_LENGTH,TRADE_DATE,"
		  "INTERVAL_NUM,INTERVAL_END_GMT,INTERVAL_END_PPT,VALUE,ESTIMATED\n",
		  o.f);
	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, x->req->nmembers, k);
		int64_t		t = x->start + (int64_t) k * x->interval_s;
		char		g[SETTLE_TIME_STRMAX];
		char		l[SETTLE_TIME_STRMAX];

		settle_fmt_utc(t + x->interval_s, g);
		fmt_local_at(t + x->interval_s, t, l);
		fprintf(o.f, "%s,%s,MWH,%d,%s,%d,%s,%s", x->req->aggregation, mtype,
				(int) (x->interval_s / 60), ds, k + 1, g, l);
		put_fixed(o.f, c->wh, 6);
		fputs((c->flags & SETTLE_X_EST) ? ",Y\n" : ",N\n", o.f);
	}
	file->rows = (size_t) x->nslots;
	return out_close(&o, file, err);
}

/*
 * The hourly files in prevailing local time, aggregation first (record A),
 * then each member (R).  The fall-back day's repeated hour has
 * repeated_hour 1 and its own offset in the local column.
 */
typedef struct hourly_layout
{
	const char *iso;			/* for the error message */
	const char *header;
	bool		ending;			/* hour ending ("HE01", at the hour's end,
								 * "*" on the repeated hour), else hour
								 * beginning ("HB00", at its start) */
} hourly_layout;

/*
 * PJM hourly MWh in prevailing Eastern time, hour ending; the repeated
 * hour of the fall-back day is "HE02*" with repeated_hour 1.
 */
static const hourly_layout pjm_hourly = {
	"PJM",
	"record,aggregation_id,resource_id,trading_date,hour_ending,"
	"repeated_hour,interval_end_ept,interval_end_utc,mwh,estimated\n",
	true
};

/*
 * NYISO hourly MWh in prevailing Eastern time, hour beginning (HB00 ..
 * HB23); the fall-back day's second 01:00 hour has repeated_hour 1.  Our
 * reading of the DR settlement meter data layout; to be checked against
 * NYISO's current template (DESIGN.md).
 */
static const hourly_layout nyiso_hourly = {
	"NYISO",
	"record,aggregation_id,resource_id,trade_date,hour_beginning,"
	"repeated_hour,interval_begin_ept,interval_begin_utc,mwh,estimated\n",
	false
};

static derms_rc
render_hourly(const settle_export *x, const hourly_layout *lay,
			  settle_xfile *file, derms_err *err)
{
	out			o;
	char		ds[SETTLE_TIME_STRMAX];
	int			per = (int) (3600 / x->interval_s);
	int			nhours = x->nslots / per;

	if (3600 % x->interval_s != 0 || x->nslots % per != 0 ||
		x->start % 3600 != 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "the %s hourly file needs whole hours in %s",
							 lay->iso, x->req->zone);
	if (out_open(&o, err) != DERMS_OK)
		return DERMS_ENOMEM;
	settle_fmt_date(x->req->day, ds);
	fputs(lay->header, o.f);
	file->rows = 0;
	for (size_t i = 0; i < x->nrows; i++)
	{
		/* aggregation first */
		size_t		r = i == 0 ? x->req->nmembers : i - 1;
		int			prev_hour = -1;

		for (int h = 0; h < nhours; h++)
		{
			int64_t		t = x->start + (int64_t) h * 3600;
			int64_t		lt = t + settle_tz_offset(t);
			int			lhour = (int) ((lt - x->req->day * 86400) / 3600);
			bool		repeated = lhour == prev_hour;
			int64_t		at = lay->ending ? t + 3600 : t;
			int64_t		wh = 0;
			bool		est = false;
			char		g[SETTLE_TIME_STRMAX];
			char		l[SETTLE_TIME_STRMAX];

			prev_hour = lhour;
			for (int k = h * per; k < (h + 1) * per; k++)
			{
				const settle_xcell *c = settle_export_cell(x, r, k);

				wh += c->wh;
				est |= (c->flags & SETTLE_X_EST) != 0;
			}
			settle_fmt_utc(at, g);
			fmt_local_at(at, t, l);
			fprintf(o.f, "%s,%s,%s,%s,%s%02d%s,%d,%s,%s",
					r == x->req->nmembers ? "A" : "R", x->req->aggregation,
					member_name(x, r), ds, lay->ending ? "HE" : "HB",
					lay->ending ? lhour + 1 : lhour,
					lay->ending && repeated ? "*" : "", repeated ? 1 : 0, l, g);
			put_fixed(o.f, wh, 6);
			fputs(est ? ",1\n" : ",0\n", o.f);
			file->rows++;
		}
	}
	return out_close(&o, file, err);
}

static void
put_opt(FILE *f, bool has, int64_t v, int decimals)
{
	if (has)
		put_fixed(f, v, decimals);
	else
		fputc(',', f);
}

/*
 * UTC boundaries of every slot, formatted once per file: new array of
 * nslots + 1 strings (slot k starts at [k] and ends at [k + 1]).
 */
typedef char time_str[SETTLE_TIME_STRMAX];

static time_str *
slot_times(const settle_export *x)
{
	time_str   *v = calloc((size_t) x->nslots + 1, sizeof(time_str));

	for (int k = 0; v != NULL && k <= x->nslots; k++)
		settle_fmt_utc(x->start + (int64_t) k * x->interval_s, v[k]);
	return v;
}

/* "%.6f" of a price, remembered: prices repeat across resources */
typedef struct price_cache
{
	double		v;
	bool		set;
	char		s[64];
} price_cache;

static const char *
price_str(price_cache *pc, double v)
{
	if (!pc->set || pc->v != v)
	{
		snprintf(pc->s, sizeof(pc->s), "%.6f", v + 0.0);
		pc->v = v;
		pc->set = true;
	}
	return pc->s;
}

/* The generic interval CSV: members (sorted), then the aggregation. */
static derms_rc
render_csv(const settle_export *x, settle_xfile *file, derms_err *err)
{
	out			o;
	time_str   *ts = slot_times(x);
	price_cache pc = {0};

	if (ts == NULL || out_open(&o, err) != DERMS_OK)
	{
		free(ts);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	fputs("level,resource,aggregation,interval_start_utc,interval_end_utc,"
		  "kwh,baseline_kwh,delivered_kwh,estimated,baseline_estimated,"
		  "instructed_kwh,price_per_mwh,value\n", o.f);
	for (size_t r = 0; r < x->nrows; r++)
		for (int k = 0; k < x->nslots; k++)
		{
			const settle_xcell *c = settle_export_cell(x, r, k);

			/* fputs, not fprintf: this loop runs for every cell */
			fputs(r == x->req->nmembers ? "aggregation," : "resource,", o.f);
			fputs(member_name(x, r), o.f);
			fputc(',', o.f);
			fputs(x->req->aggregation, o.f);
			fputc(',', o.f);
			fputs(ts[k], o.f);
			fputc(',', o.f);
			fputs(ts[k + 1], o.f);
			put_fixed(o.f, c->wh, 3);
			put_opt(o.f, c->flags & SETTLE_X_BASELINE, c->base_wh, 3);
			put_opt(o.f, c->flags & SETTLE_X_BASELINE, c->del_wh, 3);
			fputs((c->flags & SETTLE_X_EST) ? ",1" : ",0", o.f);
			fputs((c->flags & SETTLE_X_EST_BASE) ? ",1" : ",0", o.f);
			put_opt(o.f, c->flags & SETTLE_X_INSTR, c->instr_wh, 3);
			fputc(',', o.f);
			if (c->flags & SETTLE_X_PRICE)
				fputs(price_str(&pc, c->price), o.f);
			put_opt(o.f, c->flags & SETTLE_X_VALUE, c->value_u, 6);
			fputc('\n', o.f);
		}
	file->rows = x->nrows * (size_t) x->nslots;
	free(ts);
	return out_close(&o, file, err);
}

/* JSON number or null */
static void
json_fixed(FILE *f, const char *key, bool has, int64_t v, int decimals)
{
	char		b[SETTLE_FIXED_MAX];

	fputs(",\"", f);
	fputs(key, f);
	fputs("\":", f);
	if (!has)
	{
		fputs("null", f);
		return;
	}
	settle_fmt_fixed(v, decimals, b);
	fputs(b, f);
}

/* The generic interval JSON: the same rows as the CSV, grouped. */
static derms_rc
render_json(const settle_export *x, settle_xfile *file, derms_err *err)
{
	out			o;
	char		ds[SETTLE_TIME_STRMAX];
	time_str   *ts = slot_times(x);
	price_cache pc = {0};

	if (ts == NULL || out_open(&o, err) != DERMS_OK)
	{
		free(ts);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	settle_fmt_date(x->req->day, ds);
	/* ids are [A-Za-z0-9_.:-]: no JSON escaping needed */
	fprintf(o.f, "{\"aggregation\":\"%s\",\"iso\":\"%s\",\"trading_day\":\"%s\","
			"\"zone\":\"%s\",\"interval_minutes\":%d,\"intervals\":%d,"
			"\"energy_unit\":\"kWh\",\"price_unit\":\"per MWh\",\"series\":[\n",
			x->req->aggregation, x->req->iso->name, ds, x->req->zone,
			(int) (x->interval_s / 60), x->nslots);
	for (size_t r = 0; r < x->nrows; r++)
	{
		bool		agg = r == x->req->nmembers;

		fprintf(o.f, "{\"level\":\"%s\",\"resource\":", agg ? "aggregation" : "resource");
		if (agg)
			fputs("null", o.f);
		else
			fprintf(o.f, "\"%s\"", member_name(x, r));
		fputs(",\"intervals\":[\n", o.f);
		for (int k = 0; k < x->nslots; k++)
		{
			const settle_xcell *c = settle_export_cell(x, r, k);

			fputs("{\"start_utc\":\"", o.f);
			fputs(ts[k], o.f);
			fputs("\",\"end_utc\":\"", o.f);
			fputs(ts[k + 1], o.f);
			fputc('"', o.f);
			json_fixed(o.f, "kwh", true, c->wh, 3);
			json_fixed(o.f, "baseline_kwh", c->flags & SETTLE_X_BASELINE, c->base_wh, 3);
			json_fixed(o.f, "delivered_kwh", c->flags & SETTLE_X_BASELINE, c->del_wh, 3);
			fputs((c->flags & SETTLE_X_EST) ? ",\"estimated\":true"
				  : ",\"estimated\":false", o.f);
			fputs((c->flags & SETTLE_X_EST_BASE) ? ",\"baseline_estimated\":true"
				  : ",\"baseline_estimated\":false", o.f);
			json_fixed(o.f, "instructed_kwh", c->flags & SETTLE_X_INSTR, c->instr_wh, 3);
			if (c->flags & SETTLE_X_PRICE)
			{
				fputs(",\"price_per_mwh\":", o.f);
				fputs(price_str(&pc, c->price), o.f);
			}
			else
				fputs(",\"price_per_mwh\":null", o.f);
			json_fixed(o.f, "value", c->flags & SETTLE_X_VALUE, c->value_u, 6);
			fputs(k + 1 < x->nslots ? "},\n" : "}\n", o.f);
		}
		fputs(r + 1 < x->nrows ? "]},\n" : "]}\n", o.f);
	}
	fputs("]}\n", o.f);
	file->rows = x->nrows * (size_t) x->nslots;
	free(ts);
	return out_close(&o, file, err);
}

void
settle_xfiles_free(settle_xfile *files, int nfiles)
{
	for (int i = 0; i < nfiles; i++)
	{
		free(files[i].buf);
		files[i].buf = NULL;
	}
}

derms_rc
settle_export_render(const settle_export *x, const settle_xinput *inputs,
					 int ninputs, settle_xfile *files, int *nfiles,
					 derms_err *err)
{
	char		prefix[SETTLE_AFILE_NAME_MAX - 32];
	char		ds[SETTLE_TIME_STRMAX];
	int			n = 0;
	derms_rc	rc = DERMS_OK;

	settle_fmt_date(x->req->day, ds);
	snprintf(prefix, sizeof(prefix), "%s_%s_%s", x->req->iso->name,
			 x->req->aggregation, ds);
	memset(files, 0, sizeof(settle_xfile) * SETTLE_XFILES_MAX);
	if (x->req->iso->caiso_sqmd)
	{
		snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.mris-sqmd.csv", prefix);
		if ((rc = render_caiso(x, &files[n], err)) != DERMS_OK)
			goto fail;
		n++;
	}
	if (x->req->iso->pjm_hourly)
	{
		snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.pjm-hourly.csv", prefix);
		if ((rc = render_hourly(x, &pjm_hourly, &files[n], err)) != DERMS_OK)
			goto fail;
		n++;
	}
	if (x->req->iso->nyiso_hourly)
	{
		snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.nyiso-hourly.csv", prefix);
		if ((rc = render_hourly(x, &nyiso_hourly, &files[n], err)) != DERMS_OK)
			goto fail;
		n++;
	}
	snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.espi.xml", prefix);
	if ((rc = settle_espi_render(x, &files[n].buf, &files[n].len,
								 &files[n].rows, err)) != DERMS_OK ||
		(rc = settle_sha256_hex(files[n].buf, files[n].len, files[n].sha256,
								err)) != DERMS_OK)
	{
		n++;
		goto fail;
	}
	n++;
	snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.intervals.csv", prefix);
	if ((rc = render_csv(x, &files[n], err)) != DERMS_OK)
		goto fail;
	n++;
	snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.intervals.json", prefix);
	if ((rc = render_json(x, &files[n], err)) != DERMS_OK)
		goto fail;
	n++;
	snprintf(files[n].name, SETTLE_AFILE_NAME_MAX, "%s.manifest.json", prefix);
	if ((rc = settle_manifest_render(x, files, n, inputs, ninputs,
									 &files[n].buf, &files[n].len,
									 err)) != DERMS_OK ||
		(rc = settle_sha256_hex(files[n].buf, files[n].len, files[n].sha256,
								err)) != DERMS_OK)
	{
		n++;
		goto fail;
	}
	n++;
	*nfiles = n;
	return DERMS_OK;

fail:
	settle_xfiles_free(files, n + 1 > SETTLE_XFILES_MAX ? SETTLE_XFILES_MAX : n + 1);
	*nfiles = 0;
	return rc;
}

derms_rc
settle_export_write(const char *dir, const settle_xfile *files, int nfiles,
					derms_err *err)
{
	settle_afile_set set;
	derms_rc	rc;

	assert(nfiles >= 1);
	settle_afile_init(&set, dir);
	for (int i = 0; i < nfiles - 1; i++)
		if ((rc = settle_afile_stage(&set, files[i].name, files[i].buf,
									 files[i].len, err)) != DERMS_OK)
			return rc;
	if ((rc = settle_afile_commit(&set, err)) != DERMS_OK)
		return rc;
	/* the manifest last, so a manifest always names files that exist */
	if ((rc = settle_afile_stage(&set, files[nfiles - 1].name,
								 files[nfiles - 1].buf,
								 files[nfiles - 1].len, err)) != DERMS_OK)
		return rc;
	return settle_afile_commit(&set, err);
}
