/*
 * settlement/manifest.c
 *	  The manifest of an export: what was written, from what, and how.
 *
 * NOTES
 *	  JSON, written by hand so the bytes are fixed: keys in a fixed order,
 *	  quantities as fixed-point numbers (kWh with 3 decimals, value with
 *	  6), no time of writing.  Inputs are named by their base name, so the
 *	  same files exported from another directory give the same manifest;
 *	  their SHA-256 identifies them.  The manifest's own SHA-256 is what
 *	  the audit record names.
 */
#include "export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/version.h"
#include "settlement/tz.h"

static void
json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void
json_fixed(FILE *f, const char *key, int64_t v, int decimals)
{
	char		b[SETTLE_FIXED_MAX];

	settle_fmt_fixed(v, decimals, b);
	fprintf(f, "\"%s\":%s", key, b);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

static void
put_daymatch(FILE *f, const char *key, const settle_daymatch *d)
{
	fprintf(f, "\"%s\":{\"lookback_days\":%d,\"skip_days\":%d,"
			"\"want_days\":%d,\"min_days\":%d,\"select_high\":%d,"
			"\"low_usage_frac\":%.4f}",
			key, d->lookback_days, d->skip_days, d->want_days, d->min_days,
			d->select_high, d->low_usage_frac);
}

static void
put_method(FILE *f, const settle_export *x)
{
	const settle_method *m = x->req->method;
	static const char *const adj[] = {"none", "ratio", "additive"};
	static const char *const kind[] = {"daymatch", "mbma", "mgo"};
	char		a[SETTLE_TIME_STRMAX];
	char		b[SETTLE_TIME_STRMAX];

	if (m == NULL)
	{
		fputs("\"method\":null,\n", f);
		return;
	}
	settle_fmt_utc(x->req->ev_start, a);
	settle_fmt_utc(x->req->ev_end, b);
	fputs("\"method\":{\"name\":", f);
	json_str(f, m->name);
	fputs(",\"rule\":", f);
	json_str(f, m->rule);
	fprintf(f, ",\"event_start_utc\":\"%s\",\"event_end_utc\":\"%s\","
			"\"parameters\":{\"kind\":\"%s\",\"day_classes\":%d,",
			a, b, kind[m->kind], (int) m->scheme);
	put_daymatch(f, "weekday", &m->weekday);
	fputc(',', f);
	put_daymatch(f, "weekend", &m->weekend);
	fprintf(f, ",\"adjustment\":\"%s\",\"adjustment_begin_minutes\":%d,"
			"\"adjustment_minutes\":%d,\"adjustment_min\":%.4f,"
			"\"adjustment_max\":%.4f,\"meter_before_minutes\":%d}},\n",
			adj[m->adj], m->adj_begin_min, m->adj_len_min, m->adj_min,
			m->adj_max, m->before_min);
}

/* Sum of row r's cells into t (wh, base, del, instr, value). */
static void
row_totals(const settle_export *x, size_t r, int64_t t[5])
{
	memset(t, 0, 5 * sizeof(int64_t));
	for (int k = 0; k < x->nslots; k++)
	{
		const settle_xcell *c = settle_export_cell(x, r, k);

		t[0] += c->wh;
		t[1] += c->base_wh;
		t[2] += c->del_wh;
		t[3] += c->instr_wh;
		t[4] += c->value_u;
	}
}

static void
put_totals(FILE *f, const settle_export *x, size_t r)
{
	int64_t		t[5];

	row_totals(x, r, t);
	json_fixed(f, "kwh", t[0], 3);
	fputc(',', f);
	json_fixed(f, "baseline_kwh", t[1], 3);
	fputc(',', f);
	json_fixed(f, "delivered_kwh", t[2], 3);
	fputc(',', f);
	json_fixed(f, "instructed_kwh", t[3], 3);
	fputc(',', f);
	json_fixed(f, "value", t[4], 6);
}

derms_rc
settle_manifest_render(const settle_export *x, const settle_xfile *files,
					   int nfiles, const settle_xinput *inputs, int ninputs,
					   char **buf, size_t *len, derms_err *err)
{
	FILE	   *f;
	char		ds[SETTLE_TIME_STRMAX];
	char		a[SETTLE_TIME_STRMAX];
	char		b[SETTLE_TIME_STRMAX];
	bool		first = true;

	*buf = NULL;
	*len = 0;
	f = open_memstream(buf, len);
	if (f == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	settle_fmt_date(x->req->day, ds);
	settle_fmt_utc(x->start, a);
	settle_fmt_utc(x->end, b);
	fprintf(f, "{\"format\":\"dermsd-settlement-export/1\",\n"
			"\"generator\":\"dermsctl %s\",\n"
			"\"iso\":\"%s\",\n\"aggregation\":\"%s\",\n\"trading_day\":\"%s\",\n"
			"\"zone\":\"%s\",\n\"day_start_utc\":\"%s\",\n\"day_end_utc\":\"%s\",\n"
			"\"interval_minutes\":%d,\n\"intervals\":%d,\n"
			"\"quantity_unit\":\"Wh, integer; kWh shown with 3 decimals, MWh with 6\",\n",
			DERMS_VERSION, x->req->iso->name, x->req->aggregation, ds,
			x->req->zone, a, b, (int) (x->interval_s / 60), x->nslots);
	fputs("\"members\":[", f);
	for (size_t r = 0; r < x->req->nmembers; r++)
		fprintf(f, "%s\"%s\"", r ? "," : "", x->req->members[r]);
	fputs("],\n", f);
	put_method(f, x);
	fputs("\"inputs\":[", f);
	for (int i = 0; i < ninputs; i++)
	{
		fprintf(f, "%s\n{\"role\":\"%s\",", i ? "," : "", inputs[i].role);
		if (inputs[i].path == NULL)
		{
			/* from the database: what was read, how much, which version */
			fprintf(f, "\"database\":\"%s\",\"rows\":%zu,"
					"\"import_version\":%" PRId64 ",\"sha256\":\"%s\"}",
					inputs[i].relation, inputs[i].rows, inputs[i].version,
					inputs[i].sha256);
			continue;
		}
		fputs("\"file\":", f);
		json_str(f, base_name(inputs[i].path));
		fprintf(f, ",\"bytes\":%zu,\"sha256\":\"%s\"}", inputs[i].bytes,
				inputs[i].sha256);
	}
	fputs("],\n\"files\":[", f);
	for (int i = 0; i < nfiles; i++)
		fprintf(f, "%s\n{\"name\":\"%s\",\"bytes\":%zu,\"rows\":%zu,"
				"\"sha256\":\"%s\"}", i ? "," : "", files[i].name,
				files[i].len, files[i].rows, files[i].sha256);
	fputs("],\n\"totals\":{\"aggregation\":{", f);
	put_totals(f, x, x->req->nmembers);
	fputs("},\n\"members\":{", f);
	for (size_t r = 0; r < x->req->nmembers; r++)
	{
		fprintf(f, "%s\n\"%s\":{", r ? "," : "", x->req->members[r]);
		put_totals(f, x, r);
		fputc('}', f);
	}
	fprintf(f, "}},\n\"estimated\":{\"count\":%zu,\"allowed\":%s,"
			"\"rule\":\"linear interpolation between the nearest readings; "
			"outside the data the nearest reading is held\",\"intervals\":[",
			x->nestimated, x->req->allow_estimated ? "true" : "false");
	for (size_t r = 0; r < x->req->nmembers; r++)
		for (int k = 0; k < x->nslots; k++)
			if (settle_export_cell(x, r, k)->flags & SETTLE_X_EST)
			{
				settle_fmt_utc(x->start + (int64_t) k * x->interval_s, a);
				fprintf(f, "%s\n{\"resource\":\"%s\",\"interval_start_utc\":\"%s\"}",
						first ? "" : ",", x->req->members[r], a);
				first = false;
			}
	fputs("]}}\n", f);
	if (fclose(f) != 0)
	{
		free(*buf);
		*buf = NULL;
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	return DERMS_OK;
}
