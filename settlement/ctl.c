/*
 * settlement/ctl.c
 *	  "dermsctl settle ...": the offline settlement calculator.
 *
 *	  dermsctl settle baseline --method M --input READINGS.csv
 *	      --event START/END [--tz ZONE] [--interval 5|15|60]
 *	      [--event-days FILE] [--holidays FILE] [--instruction FILE]
 *	      [--prices FILE]
 *
 * NOTES
 *	  Needs no database.  Output is built in memory and written to stdout
 *	  only when every resource succeeded, so a failure leaves stdout empty
 *	  and prints one line on stderr; the exit code is then 2 (1 when out
 *	  of memory).  Sets TZ for the process (settle_tz_use).
 */
#include "ctl.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/err.h"
#include "settlement/baseline.h"
#include "settlement/calendar.h"
#include "settlement/meter_read.h"
#include "settlement/perform.h"
#include "settlement/series.h"
#include "settlement/tz.h"

#define CTL_PREFIX "dermsctl: settle: "
#define CTL_TOTAL "*total*"

typedef struct baseline_opts
{
	const char *method;
	const char *input;
	const char *event;
	const char *tz;
	const char *interval;
	const char *event_days;
	const char *holidays;
	const char *instruction;
	const char *prices;
} baseline_opts;

/* Every option of "settle baseline", as data. */
static const struct ctl_opt
{
	const char *name;
	size_t		off;
	bool		required;
}			baseline_optv[] = {
	{"--method", offsetof(baseline_opts, method), true},
	{"--input", offsetof(baseline_opts, input), true},
	{"--event", offsetof(baseline_opts, event), true},
	{"--tz", offsetof(baseline_opts, tz), false},
	{"--interval", offsetof(baseline_opts, interval), false},
	{"--event-days", offsetof(baseline_opts, event_days), false},
	{"--holidays", offsetof(baseline_opts, holidays), false},
	{"--instruction", offsetof(baseline_opts, instruction), false},
	{"--prices", offsetof(baseline_opts, prices), false},
};

#define NBASELINE_OPTS (sizeof(baseline_optv) / sizeof(baseline_optv[0]))

static const char usage_text[] =
"usage: dermsctl settle baseline --method caiso-10in10|pjm-cbl|nyiso-cbl|mbma|mgo\n"
"           --input READINGS.csv --event START/END [--tz ZONE]\n"
"           [--interval 5|15|60] [--event-days FILE] [--holidays FILE]\n"
"           [--instruction FILE] [--prices FILE]\n"
"  READINGS.csv: " SETTLE_CSV_HEADER "\n"
"  START/END: ISO 8601 with Z or an offset, e.g.\n"
"             2024-07-15T14:00-07:00/2024-07-15T18:00-07:00\n"
"  --event-days, --holidays: one YYYY-MM-DD a line (default holidays: NERC)\n"
"  --instruction: " SETTLE_CSV_HEADER " (kWh to deliver)\n"
"  --prices: " SETTLE_PRICE_HEADER "\n";

/* State of one run; everything here is freed by run_free(). */
typedef struct run
{
	baseline_opts o;
	const settle_method *m;
	settle_series_set *set;
	settle_dayset events;
	settle_dayset holidays;
	bool		have_holidays;
	settle_instr_set instr;
	settle_price_set prices;
	settle_calendar cal;
	settle_row *rows;
	double	   *tot;			/* nk x 6 sums for the total rows */
	unsigned   *totflags;
	bool	   *tot_has;		/* nk x 3: instructed, price seen */
	char	   *out;
	size_t		outlen;
	FILE	   *f;
} run;

static void
run_free(run *r)
{
	if (r->f != NULL)
		fclose(r->f);
	free(r->out);
	settle_series_set_destroy(r->set);
	settle_dayset_free(&r->events);
	settle_dayset_free(&r->holidays);
	settle_instr_free(&r->instr);
	settle_price_free(&r->prices);
	settle_calendar_free(&r->cal);
	free(r->rows);
	free(r->tot);
	free(r->totflags);
	free(r->tot_has);
}

static derms_rc
parse_opts(int argc, char **argv, baseline_opts *o, derms_err *err)
{
	memset(o, 0, sizeof(*o));
	for (int i = 2; i < argc; i++)
	{
		const struct ctl_opt *opt = NULL;

		for (size_t j = 0; j < NBASELINE_OPTS; j++)
			if (strcmp(argv[i], baseline_optv[j].name) == 0)
				opt = &baseline_optv[j];
		if (opt == NULL)
			return derms_err_set(err, DERMS_EINVAL, "unknown option \"%s\"",
								 argv[i]);
		if (i + 1 >= argc)
			return derms_err_set(err, DERMS_EINVAL, "%s needs a value",
								 argv[i]);
		*(const char **) ((char *) o + opt->off) = argv[++i];
	}
	for (size_t j = 0; j < NBASELINE_OPTS; j++)
		if (baseline_optv[j].required &&
			*(const char *const *) ((const char *) o + baseline_optv[j].off) == NULL)
			return derms_err_set(err, DERMS_EINVAL, "%s is required",
								 baseline_optv[j].name);
	return DERMS_OK;
}

static derms_rc
load_dayset(const char *path, settle_dayset *out, derms_err *err)
{
	char	   *buf;
	size_t		len;
	derms_rc	rc = settle_file_read(path, &buf, &len, err);

	if (rc != DERMS_OK)
		return rc;
	rc = settle_dayset_parse(buf, len, path, out, err);
	free(buf);
	return rc;
}

static derms_rc
parse_event(const char *s, int64_t *start, int64_t *end, derms_err *err)
{
	const char *slash = strchr(s, '/');
	derms_err	sub;

	if (slash == NULL)
		return derms_err_set(err, DERMS_EPARSE,
							 "--event: want START/END, got \"%.80s\"", s);
	if (settle_parse_instant(s, (size_t) (slash - s), start, &sub) != DERMS_OK ||
		settle_parse_instant(slash + 1, strlen(slash + 1), end, &sub) != DERMS_OK)
		return derms_err_set(err, DERMS_EPARSE, "--event: %s", sub.msg);
	if (*end <= *start)
		return derms_err_set(err, DERMS_EINVAL,
							 "--event: the end must be after the start");
	return DERMS_OK;
}

static void
put_num(FILE *f, double v)
{
	fprintf(f, ",%.6f", v + 0.0);	/* + 0.0 turns -0 into 0 */
}

static void
put_flags(FILE *f, unsigned flags)
{
	fputc(',', f);
	if (flags & SETTLE_F_EST_ACTUAL)
		fputs((flags & SETTLE_F_EST_BASELINE) ? "estimated;baseline_estimated"
			  : "estimated", f);
	else if (flags & SETTLE_F_EST_BASELINE)
		fputs("baseline_estimated", f);
	fputc('\n', f);
}

/* Total-row accumulator columns */
enum
{
	T_BASE, T_ADJ, T_ACT, T_DEL, T_INSTR, T_VALUE, T_NCOL
};

static void
put_row(run *r, const char *res, const settle_row *row,
		const settle_perf *p)
{
	char		u[SETTLE_TIME_STRMAX];
	char		l[SETTLE_TIME_STRMAX];

	settle_fmt_utc(row->start, u);
	settle_fmt_local(row->start, l);
	fprintf(r->f, "%s,%s,%s", res, u, l);
	put_num(r->f, row->baseline);
	put_num(r->f, row->adjustment);
	put_num(r->f, row->baseline + row->adjustment);
	put_num(r->f, row->actual);
	put_num(r->f, row->delivered);
	if (p->has_instr)
	{
		put_num(r->f, p->instructed);
		put_num(r->f, p->under);
		put_num(r->f, p->over);
	}
	else
		fputs(",,,", r->f);
	if (p->has_ratio)
		put_num(r->f, p->ratio);
	else
		fputc(',', r->f);
	if (p->has_price)
	{
		put_num(r->f, p->price);
		put_num(r->f, p->value);
	}
	else
		fputs(",,", r->f);
	put_flags(r->f, row->flags);
}

static int
fail(run *r, const derms_err *err)
{
	fprintf(stderr, CTL_PREFIX "%s\n", err->msg);
	run_free(r);
	return err->code == DERMS_ENOMEM ? 1 : 2;
}

static int
cmd_baseline(int argc, char **argv)
{
	run			r;
	derms_err	err;
	derms_err	sub;
	int64_t		ev_start,
				ev_end,
				evday;
	int32_t		S = 0;
	int			nk;
	size_t		nest;
	char	   *buf;
	size_t		len;

	memset(&r, 0, sizeof(r));
	derms_err_clear(&err);
	if (parse_opts(argc, argv, &r.o, &err) != DERMS_OK)
		return fail(&r, &err);
	r.m = settle_method_find(r.o.method);
	if (r.m == NULL)
	{
		derms_err_set(&err, DERMS_EINVAL, "--method: unknown method \"%.64s\" (known: %s)",
					  r.o.method, settle_method_names());
		return fail(&r, &err);
	}
	if (settle_tz_use(r.o.tz ? r.o.tz : r.m->zone, &sub) != DERMS_OK)
	{
		derms_err_set(&err, sub.code, "--tz: %s", sub.msg);
		return fail(&r, &err);
	}
	if (parse_event(r.o.event, &ev_start, &ev_end, &err) != DERMS_OK)
		return fail(&r, &err);
	if (r.o.interval != NULL)
	{
		if (strcmp(r.o.interval, "5") == 0)
			S = 300;
		else if (strcmp(r.o.interval, "15") == 0)
			S = 900;
		else if (strcmp(r.o.interval, "60") == 0)
			S = 3600;
		else
		{
			derms_err_set(&err, DERMS_EINVAL,
						  "--interval: \"%.16s\" is not 5, 15 or 60",
						  r.o.interval);
			return fail(&r, &err);
		}
	}
	else
		S = r.m->interval_min * 60;

	if ((r.set = settle_series_set_create()) == NULL)
	{
		derms_err_set(&err, DERMS_ENOMEM, "out of memory");
		return fail(&r, &err);
	}
	if (settle_meter_read(r.o.input, r.set, &err) != DERMS_OK ||
		settle_series_set_estimate(r.set, &nest, &err) != DERMS_OK)
		return fail(&r, &err);
	if (S == 0)
		for (size_t i = 0; i < r.set->n; i++)
			if (r.set->v[i]->len_s > S)
				S = r.set->v[i]->len_s;
	if (ev_start % S != 0 || ev_end % S != 0)
	{
		derms_err_set(&err, DERMS_EINVAL,
					  "--event: start and end must fall on %d-minute interval boundaries",
					  (int) (S / 60));
		return fail(&r, &err);
	}
	evday = settle_tz_local_day(ev_start);
	if (ev_end > settle_tz_day_start(evday + 1))
	{
		derms_err_set(&err, DERMS_EINVAL,
					  "--event: the event must lie within one trading day");
		return fail(&r, &err);
	}
	if ((r.o.event_days && load_dayset(r.o.event_days, &r.events, &err) != DERMS_OK) ||
		(r.o.holidays && load_dayset(r.o.holidays, &r.holidays, &err) != DERMS_OK))
		return fail(&r, &err);
	if (settle_calendar_build(&r.cal,
							  evday - settle_method_history_days(r.m) - 1,
							  evday, S, r.o.holidays ? &r.holidays : NULL,
							  &r.events, &err) != DERMS_OK)
		return fail(&r, &err);
	if (r.o.instruction)
	{
		if (settle_file_read(r.o.instruction, &buf, &len, &err) != DERMS_OK)
			return fail(&r, &err);
		if (settle_instr_parse(buf, len, r.o.instruction, &r.instr, &err) != DERMS_OK)
		{
			free(buf);
			return fail(&r, &err);
		}
		free(buf);
	}
	if (r.o.prices)
	{
		if (settle_file_read(r.o.prices, &buf, &len, &err) != DERMS_OK)
			return fail(&r, &err);
		if (settle_price_parse(buf, len, r.o.prices, &r.prices, &err) != DERMS_OK)
		{
			free(buf);
			return fail(&r, &err);
		}
		free(buf);
	}

	nk = (int) ((ev_end - ev_start) / S);
	r.rows = calloc((size_t) nk, sizeof(settle_row));
	r.tot = calloc((size_t) nk * T_NCOL, sizeof(double));
	r.totflags = calloc((size_t) nk, sizeof(unsigned));
	r.tot_has = calloc((size_t) nk * 3, sizeof(bool));
	r.f = open_memstream(&r.out, &r.outlen);
	if (r.rows == NULL || r.tot == NULL || r.totflags == NULL ||
		r.tot_has == NULL || r.f == NULL)
	{
		derms_err_set(&err, DERMS_ENOMEM, "out of memory");
		return fail(&r, &err);
	}
	fputs("resource,interval_start_utc,interval_start_local,baseline_kwh,"
		  "adjustment_kwh,adjusted_baseline_kwh,actual_kwh,delivered_kwh,"
		  "instructed_kwh,under_kwh,over_kwh,performance_ratio,"
		  "price_per_mwh,value,flags\n", r.f);
	for (size_t i = 0; i < r.set->n; i++)
	{
		const settle_series *s = r.set->v[i];

		if (settle_baseline_compute(r.m, &r.cal, s, ev_start, ev_end, r.rows,
									NULL, &err) != DERMS_OK)
			return fail(&r, &err);
		for (int k = 0; k < nk; k++)
		{
			settle_perf p;
			double	   *t = &r.tot[(size_t) k * T_NCOL];

			settle_perform(&r.rows[k], S, s->name,
						   r.o.instruction ? &r.instr : NULL,
						   r.o.prices ? &r.prices : NULL, &p);
			put_row(&r, s->name, &r.rows[k], &p);
			t[T_BASE] += r.rows[k].baseline;
			t[T_ADJ] += r.rows[k].adjustment;
			t[T_ACT] += r.rows[k].actual;
			t[T_DEL] += r.rows[k].delivered;
			t[T_INSTR] += p.instructed;
			t[T_VALUE] += p.value;
			r.totflags[k] |= r.rows[k].flags;
			r.tot_has[(size_t) k * 3] |= p.has_instr;
			r.tot_has[(size_t) k * 3 + 1] |= p.has_price;
		}
	}
	/* the aggregation: every resource in the input, per interval */
	for (int k = 0; k < nk && r.set->n > 1; k++)
	{
		const double *t = &r.tot[(size_t) k * T_NCOL];
		settle_row	row;
		settle_perf p;

		memset(&row, 0, sizeof(row));
		memset(&p, 0, sizeof(p));
		row.start = ev_start + (int64_t) k * S;
		row.baseline = t[T_BASE];
		row.adjustment = t[T_ADJ];
		row.actual = t[T_ACT];
		row.delivered = t[T_DEL];
		row.flags = r.totflags[k];
		if (r.tot_has[(size_t) k * 3 + 1])
			settle_perform(&row, S, CTL_TOTAL, NULL, &r.prices, &p);
		if (r.tot_has[(size_t) k * 3])
		{
			double		d = row.delivered - t[T_INSTR];

			p.has_instr = true;
			p.instructed = t[T_INSTR];
			p.under = d < 0 ? -d : 0.0;
			p.over = d > 0 ? d : 0.0;
			p.has_ratio = t[T_INSTR] != 0.0;
			p.ratio = p.has_ratio ? row.delivered / t[T_INSTR] : 0.0;
		}
		put_row(&r, CTL_TOTAL, &row, &p);
	}
	if (fclose(r.f) != 0)
	{
		r.f = NULL;
		derms_err_set(&err, DERMS_ENOMEM, "out of memory");
		return fail(&r, &err);
	}
	r.f = NULL;
	if (fwrite(r.out, 1, r.outlen, stdout) != r.outlen || fflush(stdout) != 0)
	{
		derms_err_set(&err, DERMS_EIO, "could not write the output: %m");
		run_free(&r);
		fprintf(stderr, CTL_PREFIX "%s\n", err.msg);
		return 1;
	}
	run_free(&r);
	return 0;
}

/* The subcommands of "dermsctl settle", as data. */
static const struct
{
	const char *name;
	int			(*fn) (int argc, char **argv);
}			settle_cmds[] = {
	{"baseline", cmd_baseline},
};

int
settle_ctl_main(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(settle_cmds) / sizeof(settle_cmds[0]); i++)
		if (strcmp(argv[1], settle_cmds[i].name) == 0)
			return settle_cmds[i].fn(argc, argv);
	fprintf(stderr, CTL_PREFIX "unknown command \"%.64s\" (known: baseline)\n",
			argv[1]);
	return 2;
}
