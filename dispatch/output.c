/*
 * dispatch/output.c
 *	  Schedules as JSON (DESIGN.md, "The schedule format") and as CSV.
 *
 * NOTES
 *	  Streamed with fprintf: a tier-L schedule has tens of millions of
 *	  numbers, too many for a jansson tree.  Resource ids are written as
 *	  given; the reader (instance.c) only accepts JSON strings, and we
 *	  escape the two characters that matter.  CSV fields are quoted as
 *	  RFC 4180 says when an id holds a comma, a quote or a line break.
 */
#include "output.h"

#include <math.h>
#include <string.h>

static const char *const kind_names[] = {"battery", "ev", "pv", "flexible_load"};

static void
put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char) *s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* A CSV field (RFC 4180): quoted, with quotes doubled, when it holds a
 * comma, a quote or a line break; as is otherwise. */
static void
put_csv(FILE *f, const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL)
	{
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++)
	{
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
put_num(FILE *f, double v)
{
	if (!isfinite(v))
		fputs("null", f);
	else
		fprintf(f, "%.9g", v);
}

derms_rc
dispatch_output_json(const dispatch_instance *in, const dispatch_schedule *s,
					 FILE *f, derms_err *err)
{
	int			T = in->T;
	const dispatch_costs *c = &s->cost;

	fprintf(f, "{\"format\": \"%s\",\n \"instance\": ", DISPATCH_SCHEDULE_FORMAT);
	put_str(f, in->name);
	fprintf(f, ",\n \"method\": \"%s\", \"iterations\": %d, \"seconds\": %.3f,\n",
			s->method, s->iterations, s->seconds);
	fprintf(f, " \"cost\": {\"total\": %.9g, \"energy\": %.9g, \"degradation\": %.9g, "
			"\"shortfall_penalty\": %.9g, \"reserve_penalty\": %.9g, "
			"\"feeder_penalty\": %.9g, \"flexible_load\": %.9g},\n",
			c->total, c->energy, c->degradation, c->shortfall, c->reserve,
			c->feeder, c->flex);
	fprintf(f, " \"lower_bound\": %.9g, \"gap\": %.6g,\n", s->lower_bound, s->gap);
	fprintf(f, " \"shortfall_mwh\": %.9g, \"surplus_mwh\": %.9g,\n",
			s->shortfall_mwh, s->surplus_mwh);
	fprintf(f, " \"aggregate_mw\": [");
	for (int t = 0; t < T; t++)
	{
		double		net = 0.0;

		for (int r = 0; r < in->nres; r++)
			net += s->pd[(size_t) r * T + t] - s->pc[(size_t) r * T + t];
		fprintf(f, "%s", t ? "," : "");
		put_num(f, net);
	}
	fprintf(f, "],\n \"resources\": [");
	for (int r = 0; r < in->nres; r++)
	{
		const dispatch_resource *x = &in->res[r];
		size_t		k = (size_t) r * T;
		int			stores = x->kind == DISPATCH_BATTERY || x->kind == DISPATCH_EV;

		fprintf(f, "%s\n  {\"id\": ", r ? "," : "");
		put_str(f, x->id);
		fprintf(f, ", \"type\": \"%s\", \"degradation_cost\": %.9g, "
				"\"equivalent_full_cycles\": %.9g, \"shed_cost\": %.9g,\n   \"mw\": [",
				kind_names[x->kind], s->degr_cost[r], s->efc[r], s->flex_cost[r]);
		for (int t = 0; t < T; t++)
		{
			fprintf(f, "%s", t ? "," : "");
			put_num(f, s->pd[k + t] - s->pc[k + t]);
		}
		fprintf(f, "]");
		if (stores)
		{
			fprintf(f, ",\n   \"soc\": [");
			for (int t = 0; t < T; t++)
			{
				fprintf(f, "%s", t ? "," : "");
				put_num(f, s->e[k + t] / x->capacity);
			}
			fprintf(f, "]");
		}
		fprintf(f, "}");
	}
	fprintf(f, "\n]}\n");
	if (ferror(f))
		return derms_err_set(err, DERMS_EIO, "could not write the schedule");
	return DERMS_OK;
}

derms_rc
dispatch_output_csv(const dispatch_instance *in, const dispatch_schedule *s,
					FILE *f, derms_err *err)
{
	int			T = in->T;

	fprintf(f, "resource,type,interval,net_mw,charge_mw,discharge_mw,stored_mwh,soc\n");
	for (int r = 0; r < in->nres; r++)
	{
		const dispatch_resource *x = &in->res[r];
		int			stores = x->kind == DISPATCH_BATTERY || x->kind == DISPATCH_EV;

		for (int t = 0; t < T; t++)
		{
			size_t		k = (size_t) r * T + t;

			put_csv(f, x->id);
			fprintf(f, ",%s,%d,%.9g,%.9g,%.9g,", kind_names[x->kind], t,
					s->pd[k] - s->pc[k], s->pc[k], s->pd[k]);
			if (stores)
				fprintf(f, "%.9g,%.9g\n", s->e[k], s->e[k] / x->capacity);
			else
				fprintf(f, ",\n");
		}
	}
	if (ferror(f))
		return derms_err_set(err, DERMS_EIO, "could not write the CSV");
	return DERMS_OK;
}
