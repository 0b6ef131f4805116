/*
 * settlement/statement.c
 *	  A statement's figures from an export, its JSON, and its SVG chart.
 *
 * NOTES
 *	  Under- and over-delivery are summed per interval over the intervals
 *	  that carry both an instruction and a baseline; the ratio is delivered
 *	  over instructed across those intervals.  The chart's x axis is the
 *	  trading day's intervals in order (23, 24 or 25 hours); every local
 *	  hour is labelled with its local clock time, and where the UTC offset
 *	  differs from the day's first the zone abbreviation is added, so the
 *	  repeated hour of a fall-back day reads "01:00 PDT", "01:00 PST" and a
 *	  spring-forward day has no 02:00.
 */
#include "statement.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "settlement/tz.h"

#define SVG_W	960
#define SVG_H	440
#define SVG_L	80
#define SVG_R	20
#define SVG_T	50
#define SVG_B	90

void
settle_statement_compute(const settle_export *x, settle_statement *st)
{
	size_t		agg = x->req->nmembers;
	int64_t		del_i = 0;

	memset(st, 0, sizeof(*st));
	st->est_member_intervals = x->nestimated;
	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, agg, k);

		st->energy_wh += c->wh;
		if (c->flags & SETTLE_X_EST)
			st->est_intervals++;
		if (c->flags & SETTLE_X_BASELINE)
		{
			st->has_baseline = true;
			st->baseline_wh += c->base_wh;
			st->delivered_wh += c->del_wh;
		}
		if (c->flags & SETTLE_X_INSTR)
		{
			st->has_instr = true;
			st->instructed_wh += c->instr_wh;
			if (c->flags & SETTLE_X_BASELINE)
			{
				int64_t		d = c->del_wh - c->instr_wh;

				del_i += c->del_wh;
				if (d < 0)
					st->under_wh += -d;
				else
					st->over_wh += d;
			}
		}
		if (c->flags & SETTLE_X_VALUE)
		{
			st->has_value = true;
			st->value_u += c->value_u;
		}
	}
	if (st->has_instr && st->has_baseline && st->instructed_wh != 0)
	{
		st->has_ratio = true;
		st->ratio = (double) del_i / (double) st->instructed_wh;
	}
}

static void
put_kwh(FILE *f, const char *key, bool has, int64_t wh, int decimals)
{
	char		b[SETTLE_FIXED_MAX];

	fprintf(f, ",\"%s\":", key);
	if (!has)
	{
		fputs("null", f);
		return;
	}
	settle_fmt_fixed(wh, decimals, b);
	fputs(b, f);
}

derms_rc
settle_statement_json(const settle_export *x, const settle_statement *st,
					  const settle_xinput *inputs, int ninputs,
					  char **summary, char **intervals, derms_err *err)
{
	FILE	   *f;
	size_t		len;
	char		ds[SETTLE_TIME_STRMAX];
	char		a[SETTLE_TIME_STRMAX];
	char		b[SETTLE_TIME_STRMAX];
	size_t		agg = x->req->nmembers;

	*summary = *intervals = NULL;
	settle_fmt_date(x->req->day, ds);
	if ((f = open_memstream(summary, &len)) == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	fprintf(f, "{\"aggregation\":\"%s\",\"iso\":\"%s\",\"trading_day\":\"%s\","
			"\"zone\":\"%s\",\"interval_minutes\":%d,\"intervals\":%d,"
			"\"members\":%zu,\"method\":", x->req->aggregation,
			x->req->iso->name, ds, x->req->zone, (int) (x->interval_s / 60),
			x->nslots, x->req->nmembers);
	if (x->req->method != NULL)
	{
		settle_fmt_utc(x->req->ev_start, a);
		settle_fmt_utc(x->req->ev_end, b);
		fprintf(f, "\"%s\",\"event_start_utc\":\"%s\",\"event_end_utc\":\"%s\"",
				x->req->method->name, a, b);
	}
	else
		fputs("null,\"event_start_utc\":null,\"event_end_utc\":null", f);
	put_kwh(f, "energy_kwh", true, st->energy_wh, 3);
	put_kwh(f, "baseline_kwh", st->has_baseline, st->baseline_wh, 3);
	put_kwh(f, "delivered_kwh", st->has_baseline, st->delivered_wh, 3);
	put_kwh(f, "instructed_kwh", st->has_instr, st->instructed_wh, 3);
	put_kwh(f, "under_kwh", st->has_instr && st->has_baseline, st->under_wh, 3);
	put_kwh(f, "over_kwh", st->has_instr && st->has_baseline, st->over_wh, 3);
	if (st->has_ratio)
		fprintf(f, ",\"performance_ratio\":%.6f", st->ratio + 0.0);
	else
		fputs(",\"performance_ratio\":null", f);
	fprintf(f, ",\"estimated_intervals\":%d,\"estimated_member_intervals\":%zu",
			st->est_intervals, st->est_member_intervals);
	put_kwh(f, "value", st->has_value, st->value_u, 6);
	fputs(",\"inputs\":[", f);
	for (int i = 0; i < ninputs; i++)
	{
		const settle_xinput *in = &inputs[i];

		fprintf(f, "%s{\"role\":\"%s\",", i ? "," : "", in->role);
		if (in->path == NULL)
			fprintf(f, "\"database\":\"%s\",\"rows\":%zu,\"import_version\":%" PRId64 ",",
					in->relation, in->rows, in->version);
		else
		{
			const char *base = strrchr(in->path, '/');

			/* file names here are the user's own; escape the two JSON
			 * specials and control characters */
			fputs("\"file\":\"", f);
			for (const unsigned char *p = (const unsigned char *) (base ? base + 1 : in->path);
				 *p; p++)
			{
				if (*p == '"' || *p == '\\')
					fprintf(f, "\\%c", *p);
				else if (*p < 0x20)
					fprintf(f, "\\u%04x", *p);
				else
					fputc(*p, f);
			}
			fprintf(f, "\",\"bytes\":%zu,", in->bytes);
		}
		fprintf(f, "\"sha256\":\"%s\"}", in->sha256);
	}
	fputs("]}", f);
	if (fclose(f) != 0)
	{
		free(*summary);
		*summary = NULL;
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	if ((f = open_memstream(intervals, &len)) == NULL)
	{
		free(*summary);
		*summary = NULL;
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	fputc('[', f);
	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, agg, k);
		int64_t		t = x->start + (int64_t) k * x->interval_s;

		settle_fmt_utc(t, a);
		fprintf(f, "%s{\"start_utc\":\"%s\"", k ? "," : "", a);
		put_kwh(f, "kwh", true, c->wh, 3);
		put_kwh(f, "baseline_kwh", c->flags & SETTLE_X_BASELINE, c->base_wh, 3);
		put_kwh(f, "delivered_kwh", c->flags & SETTLE_X_BASELINE, c->del_wh, 3);
		put_kwh(f, "instructed_kwh", c->flags & SETTLE_X_INSTR, c->instr_wh, 3);
		put_kwh(f, "value", c->flags & SETTLE_X_VALUE, c->value_u, 6);
		fprintf(f, ",\"estimated\":%s}", (c->flags & SETTLE_X_EST) ? "true" : "false");
	}
	fputc(']', f);
	if (fclose(f) != 0)
	{
		free(*summary);
		free(*intervals);
		*summary = *intervals = NULL;
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	return DERMS_OK;
}

/* ---- the chart ---- */

typedef struct plot
{
	double		x0,
				dx;				/* px per interval */
	double		y0,
				ymin,
				ymax;			/* kWh range */
	double		h;				/* plot height, px */
} plot;

static double
py(const plot *p, double v)
{
	return p->y0 + p->h - (v - p->ymin) / (p->ymax - p->ymin) * p->h;
}

/* One series as a polyline through interval midpoints; which: 0 actual,
 * 1 baseline, 2 instructed level.  Gaps (no value) break the line. */
static void
put_series(FILE *f, const settle_export *x, const plot *p, int which,
		   const char *style)
{
	size_t		agg = x->req->nmembers;
	bool		open = false;

	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, agg, k);
		bool		has;
		double		v;

		switch (which)
		{
			case 0:
				has = true;
				v = (double) c->wh / 1000.0;
				break;
			case 1:
				has = (c->flags & SETTLE_X_BASELINE) != 0;
				v = (double) c->base_wh / 1000.0;
				break;
			default:
				has = (c->flags & SETTLE_X_BASELINE) && (c->flags & SETTLE_X_INSTR);
				v = (double) (c->base_wh - c->instr_wh) / 1000.0;
				break;
		}
		if (!has)
		{
			if (open)
				fputs("\"/>\n", f);
			open = false;
			continue;
		}
		if (!open)
			fprintf(f, "<polyline %s points=\"", style);
		fprintf(f, "%s%.1f,%.1f", open ? " " : "", p->x0 + (k + 0.5) * p->dx,
				py(p, v));
		open = true;
	}
	if (open)
		fputs("\"/>\n", f);
}

/* A "nice" tick step for a range. */
static double
nice_step(double range)
{
	double		raw = range / 6.0;
	double		mag = 1.0;

	while (mag * 10.0 <= raw)
		mag *= 10.0;
	while (mag > raw)
		mag /= 10.0;
	if (raw / mag >= 5.0)
		return 5.0 * mag;
	if (raw / mag >= 2.0)
		return 2.0 * mag;
	return mag;
}

derms_rc
settle_statement_svg(const settle_export *x, char **svg, size_t *len,
					 derms_err *err)
{
	FILE	   *f;
	size_t		agg = x->req->nmembers;
	plot		p;
	double		lo = 0.0,
				hi = 0.0;
	bool		any_base = false,
				any_instr = false;
	char		ds[SETTLE_TIME_STRMAX];
	int32_t		off0 = settle_tz_offset(x->start);

	*svg = NULL;
	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, agg, k);
		double		v[3] = {(double) c->wh / 1000.0, (double) c->base_wh / 1000.0,
		(double) (c->base_wh - c->instr_wh) / 1000.0};
		int			nv = 1;

		if (c->flags & SETTLE_X_BASELINE)
		{
			nv = 2;
			any_base = true;
			if (c->flags & SETTLE_X_INSTR)
			{
				nv = 3;
				any_instr = true;
			}
		}
		for (int i = 0; i < nv; i++)
		{
			if (v[i] < lo)
				lo = v[i];
			if (v[i] > hi)
				hi = v[i];
		}
	}
	if (hi - lo < 1e-9)
		hi = lo + 1.0;
	p.x0 = SVG_L;
	p.dx = (double) (SVG_W - SVG_L - SVG_R) / x->nslots;
	p.y0 = SVG_T;
	p.h = SVG_H - SVG_T - SVG_B;
	{
		double		step = nice_step(hi - lo);

		p.ymin = lo < 0 ? -step * (double) (int64_t) (-lo / step + 0.999999) : 0.0;
		p.ymax = step * (double) (int64_t) (hi / step + 0.999999);
		if (p.ymax <= p.ymin)
			p.ymax = p.ymin + step;
		if ((f = open_memstream(svg, len)) == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		settle_fmt_date(x->req->day, ds);
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
				"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
				"viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"11\">\n"
				"<title>Aggregation %s, trading day %s: baseline, actual and instructed level</title>\n"
				"<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
				"<text x=\"%d\" y=\"22\" font-size=\"15\">Aggregation %s, trading day %s (%s)</text>\n",
				SVG_W, SVG_H, SVG_W, SVG_H, x->req->aggregation, ds, SVG_W, SVG_H,
				SVG_L, x->req->aggregation, ds, x->req->iso->name);
		/* y grid and labels */
		for (double v = p.ymin; v <= p.ymax + step / 2; v += step)
			fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
					"<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
					SVG_L, SVG_W - SVG_R, py(&p, v), py(&p, v), SVG_L - 6,
					py(&p, v) + 4, v + 0.0);
	}
	fprintf(f, "<text transform=\"translate(18,%d) rotate(-90)\" text-anchor=\"middle\">"
			"kWh per %d-minute interval</text>\n", SVG_T + (int) p.h / 2,
			(int) (x->interval_s / 60));
	/* x axis: every local hour */
	for (int k = 0; k < x->nslots; k++)
	{
		int64_t		t = x->start + (int64_t) k * x->interval_s;
		time_t		tt = (time_t) t;
		struct tm	tm;
		double		px = p.x0 + k * p.dx;
		int32_t		off;

		if (localtime_r(&tt, &tm) == NULL || tm.tm_min != 0 || tm.tm_sec != 0)
			continue;
		off = settle_tz_offset(t);
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#999\"/>"
				"<text transform=\"translate(%.1f,%d) rotate(-60)\" text-anchor=\"end\">"
				"%02d:00%s%s</text>\n", px, px, SVG_H - SVG_B, SVG_H - SVG_B + 5, px + 3,
				SVG_H - SVG_B + 14, tm.tm_hour, off != off0 || k == 0 ? " " : "",
				off != off0 || k == 0 ? tm.tm_zone : "");
	}
	fprintf(f, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
			"<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
			"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">Local time (%s), interval start; "
			"%d intervals of %d minutes</text>\n",
			SVG_L, SVG_W - SVG_R, SVG_H - SVG_B, SVG_H - SVG_B,
			SVG_L, SVG_L, SVG_T, SVG_H - SVG_B,
			(SVG_L + SVG_W - SVG_R) / 2, SVG_H - 12, x->req->zone, x->nslots,
			(int) (x->interval_s / 60));
	put_series(f, x, &p, 0, "id=\"actual\" fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"1.5\"");
	if (any_base)
		put_series(f, x, &p, 1, "id=\"baseline\" fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"");
	if (any_instr)
		put_series(f, x, &p, 2, "id=\"instructed\" fill=\"none\" stroke=\"#ff7f0e\" stroke-width=\"1.5\"");
	/* legend */
	fprintf(f, "<g transform=\"translate(%d,%d)\">"
			"<line x1=\"0\" x2=\"24\" y1=\"0\" y2=\"0\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
			"<text x=\"30\" y=\"4\">actual</text>"
			"<line x1=\"100\" x2=\"124\" y1=\"0\" y2=\"0\" stroke=\"#555\" stroke-width=\"2\" stroke-dasharray=\"6 3\"/>"
			"<text x=\"130\" y=\"4\">baseline%s</text>"
			"<line x1=\"260\" x2=\"284\" y1=\"0\" y2=\"0\" stroke=\"#ff7f0e\" stroke-width=\"2\"/>"
			"<text x=\"290\" y=\"4\">instructed level (baseline - instruction)%s</text></g>\n"
			"</svg>\n", SVG_L + 300, 22, any_base ? "" : " (none)",
			any_instr ? "" : " (none)");
	if (fclose(f) != 0)
	{
		free(*svg);
		*svg = NULL;
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	return DERMS_OK;
}
