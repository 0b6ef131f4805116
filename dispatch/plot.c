/*
 * dispatch/plot.c
 *	  One SVG document per run: the upper panel draws the aggregation's
 *	  target (steps), its scheduled power (steps) and what was delivered
 *	  (points where telemetry exists), in MW, against time; the lower
 *	  panel the SoC of each resource, 0 to 100 %.
 *
 * NOTES
 *	  Plain SVG 1.1 with no script, no external reference and every piece
 *	  of text escaped, so it is well-formed XML (tests check it with
 *	  xmllint) and safe to open in a browser.  Written to a memory stream,
 *	  then copied into the arena.
 */
#include "plot.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define W 960
#define LEFT 70
#define RIGHT 170
#define TOP1 40
#define H1 260
#define TOP2 (TOP1 + H1 + 60)
#define H2 200
#define HEIGHT (TOP2 + H2 + 50)

static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
	"#e377c2", "#7f7f7f", "#bcbd22", "#17becf"
};

/* s with XML's five special characters escaped. */
static void
put_text(FILE *f, const char *s)
{
	for (; s && *s; s++)
	{
		switch (*s)
		{
			case '&':
				fputs("&amp;", f);
				break;
			case '<':
				fputs("&lt;", f);
				break;
			case '>':
				fputs("&gt;", f);
				break;
			case '"':
				fputs("&quot;", f);
				break;
			case '\'':
				fputs("&apos;", f);
				break;
			default:
				/* control characters are not allowed in XML 1.0 */
				fputc((unsigned char) *s < 0x20 ? ' ' : *s, f);
		}
	}
}

static double
xpos(const dispatch_plot_data *d, double t)
{
	return LEFT + (W - LEFT - RIGHT) * t / (d->T > 0 ? d->T : 1);
}

/* A step line of v[T] in the upper panel, scaled lo..hi; NAN breaks it. */
static void
steps(FILE *f, const dispatch_plot_data *d, const double *v, double lo, double hi,
	  const char *color, const char *dash)
{
	bool		open = false;

	for (int t = 0; t < d->T; t++)
	{
		double		y;

		if (isnan(v[t]))
		{
			if (open)
				fputs("\"/>\n", f);
			open = false;
			continue;
		}
		y = TOP1 + H1 - H1 * (v[t] - lo) / (hi - lo);
		if (!open)
			fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"",
					color, dash);
		fprintf(f, "%.1f,%.1f %.1f,%.1f ", xpos(d, t), y, xpos(d, t + 1), y);
		open = true;
	}
	if (open)
		fputs("\"/>\n", f);
}

static void
time_axis(FILE *f, const dispatch_plot_data *d, int top, int h)
{
	int			every = d->T > 12 ? (d->T + 11) / 12 : 1;

	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n",
			LEFT, top + h, W - RIGHT, top + h);
	for (int t = 0; t <= d->T; t += every)
	{
		time_t		tt = (time_t) (d->t0 + (int64_t) t * d->interval_s);
		struct tm	tm;
		char		buf[16] = "";

		if (gmtime_r(&tt, &tm) != NULL)
			strftime(buf, sizeof(buf), "%H:%M", &tm);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">%s</text>\n",
				xpos(d, t), top + h + 14, buf);
	}
}

const char *
dispatch_plot_svg(arena *a, const dispatch_plot_data *d)
{
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f;
	double		lo = 0,
				hi = 0;
	const char *out;

	assert(a != NULL && d != NULL && d->T >= 0);
	f = open_memstream(&buf, &len);
	if (f == NULL)
		return NULL;
	for (int t = 0; t < d->T; t++)
	{
		const double v[3] = {d->target_mw[t], d->scheduled_mw[t],
		d->delivered_mw ? d->delivered_mw[t] : NAN};

		for (int k = 0; k < 3; k++)
			if (!isnan(v[k]))
			{
				lo = fmin(lo, v[k]);
				hi = fmax(hi, v[k]);
			}
	}
	if (hi - lo < 1e-9)
		hi = lo + 1;
	{
		double		pad = 0.05 * (hi - lo);

		lo -= pad;
		hi += pad;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\""
			" height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
			"<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
			"<text x=\"%d\" y=\"22\" font-size=\"15\">", W, HEIGHT, W, HEIGHT, LEFT);
	put_text(f, d->title);
	fputs("</text>\n", f);

	/* upper panel: MW */
	fprintf(f, "<g id=\"power\">\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
			" fill=\"none\" stroke=\"#ccc\"/>\n", LEFT, TOP1, W - LEFT - RIGHT, H1);
	for (int k = 0; k <= 4; k++)
	{
		double		v = lo + (hi - lo) * k / 4;
		double		y = TOP1 + H1 - H1 * k / 4.0;

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>\n"
				"<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.3g</text>\n",
				LEFT, y, W - RIGHT, y, LEFT - 4, y + 3, v);
	}
	if (lo < 0 && hi > 0)
	{
		double		y0 = TOP1 + H1 - H1 * (0 - lo) / (hi - lo);

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\"/>\n",
				LEFT, y0, W - RIGHT, y0);
	}
	fprintf(f, "<text x=\"14\" y=\"%d\" font-size=\"11\" transform=\"rotate(-90 14 %d)\""
			" text-anchor=\"middle\">MW (injection +)</text>\n", TOP1 + H1 / 2, TOP1 + H1 / 2);
	steps(f, d, d->target_mw, lo, hi, "#d62728", " stroke-dasharray=\"6 3\"");
	steps(f, d, d->scheduled_mw, lo, hi, "#1f77b4", "");
	for (int t = 0; d->delivered_mw && t < d->T; t++)
		if (!isnan(d->delivered_mw[t]))
			fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"#2ca02c\"/>\n",
					xpos(d, t + 0.5), TOP1 + H1 - H1 * (d->delivered_mw[t] - lo) / (hi - lo));
	time_axis(f, d, TOP1, H1);
	fprintf(f, "<g font-size=\"11\">\n"
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#d62728\" stroke-width=\"2\""
			" stroke-dasharray=\"6 3\"/><text x=\"%d\" y=\"%d\">target</text>\n"
			"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#1f77b4\" stroke-width=\"2\"/>"
			"<text x=\"%d\" y=\"%d\">scheduled</text>\n"
			"<circle cx=\"%d\" cy=\"%d\" r=\"3\" fill=\"#2ca02c\"/><text x=\"%d\" y=\"%d\">"
			"delivered</text>\n</g>\n</g>\n",
			W - RIGHT + 10, TOP1 + 10, W - RIGHT + 30, TOP1 + 10, W - RIGHT + 36, TOP1 + 14,
			W - RIGHT + 10, TOP1 + 28, W - RIGHT + 30, TOP1 + 28, W - RIGHT + 36, TOP1 + 32,
			W - RIGHT + 20, TOP1 + 46, W - RIGHT + 36, TOP1 + 50);

	/* lower panel: SoC */
	fprintf(f, "<g id=\"soc\">\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\""
			" fill=\"none\" stroke=\"#ccc\"/>\n", LEFT, TOP2, W - LEFT - RIGHT, H2);
	for (int k = 0; k <= 4; k++)
	{
		double		y = TOP2 + H2 - H2 * k / 4.0;

		fprintf(f, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%d %%</text>\n",
				LEFT - 4, y + 3, 25 * k);
	}
	for (int r = 0; r < d->nres; r++)
	{
		const char *color = palette[r % (sizeof(palette) / sizeof(palette[0]))];
		bool		open = false;

		for (int t = 0; t < d->T; t++)
		{
			double		s = d->soc[(size_t) r * d->T + t];

			if (isnan(s))
				continue;
			if (!open)
				fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
						color);
			fprintf(f, "%.1f,%.1f ", xpos(d, t + 1), TOP2 + H2 - H2 * fmin(fmax(s, 0), 1));
			open = true;
		}
		if (open)
			fputs("\"/>\n", f);
		fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">", W - RIGHT + 10,
				TOP2 + 14 + 14 * r, color);
		put_text(f, d->res_names[r]);
		fputs("</text>\n", f);
	}
	time_axis(f, d, TOP2, H2);
	fputs("</g>\n</svg>\n", f);
	if (fclose(f) != 0 || buf == NULL)
	{
		free(buf);
		return NULL;
	}
	out = arena_strndup(a, buf, len);
	free(buf);
	return out;
}
