/*
 * settlement/ctl.c
 *	  "dermsctl settle ...": the offline settlement calculator.
 *
 *	  dermsctl settle baseline --method M --input READINGS.csv
 *	      --event START/END [--tz ZONE] [--interval 5|15|60]
 *	      [--event-days FILE] [--holidays FILE] [--instruction FILE]
 *	      [--prices FILE]
 *	  dermsctl settle export --iso caiso|pjm|nyiso|generic
 *	      --aggregation ID[,ID...]|all --day YYYY-MM-DD --input READINGS.csv
 *	      --out DIR [--members FILE | --resources ID,...] [--method M
 *	      --event START/END] [--instructions FILE] [--prices FILE]
 *	      [--interval 5|15|60] [--allow-estimated] [--tz ZONE]
 *
 * NOTES
 *	  Needs no database.  Output is built in memory and written to stdout
 *	  only when every resource succeeded, so a failure leaves stdout empty
 *	  and prints one line on stderr; the exit code is then 2 (1 when out
 *	  of memory, or when files were written but the audit record failed).
 *	  Sets TZ for the process (settle_tz_use).  An export run with a
 *	  database (dermsctl -c FILE or --db) appends one audit record per
 *	  aggregation after its files are on disk; without one it says on
 *	  stderr that no audit record was written.
 */
#include "ctl.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "server/cli.h"
#include "server/err.h"
#include "settlement/baseline.h"
#include "settlement/calendar.h"
#include "settlement/export.h"
#include "settlement/meter_read.h"
#include "settlement/perform.h"
#include "settlement/series.h"
#include "settlement/statement.h"
#include "settlement/store.h"
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

/* An option: its name, where its value goes, and whether it must be
 * given; a flag takes no value (its field is set to "1"). */
typedef struct ctl_opt
{
	const char *name;
	size_t		off;
	bool		required;
	bool		flag;
} ctl_opt;

/* Every option of "settle baseline", as data. */
static const ctl_opt baseline_optv[] = {
	{"--method", offsetof(baseline_opts, method), true, false},
	{"--input", offsetof(baseline_opts, input), true, false},
	{"--event", offsetof(baseline_opts, event), true, false},
	{"--tz", offsetof(baseline_opts, tz), false, false},
	{"--interval", offsetof(baseline_opts, interval), false, false},
	{"--event-days", offsetof(baseline_opts, event_days), false, false},
	{"--holidays", offsetof(baseline_opts, holidays), false, false},
	{"--instruction", offsetof(baseline_opts, instruction), false, false},
	{"--prices", offsetof(baseline_opts, prices), false, false},
};

#define NBASELINE_OPTS (sizeof(baseline_optv) / sizeof(baseline_optv[0]))

typedef struct export_opts
{
	const char *iso;
	const char *aggregation;
	const char *day;
	const char *input;
	const char *members;
	const char *resources;
	const char *method;
	const char *event;
	const char *event_days;
	const char *holidays;
	const char *instructions;
	const char *prices;
	const char *out;
	const char *interval;
	const char *allow_estimated;
	const char *tz;
	const char *store;			/* statement only */
} export_opts;

/* Every option of "settle export", as data. */
static const ctl_opt export_optv[] = {
	{"--iso", offsetof(export_opts, iso), true, false},
	{"--aggregation", offsetof(export_opts, aggregation), true, false},
	{"--day", offsetof(export_opts, day), true, false},
	{"--input", offsetof(export_opts, input), false, false},
	{"--out", offsetof(export_opts, out), true, false},
	{"--members", offsetof(export_opts, members), false, false},
	{"--resources", offsetof(export_opts, resources), false, false},
	{"--method", offsetof(export_opts, method), false, false},
	{"--event", offsetof(export_opts, event), false, false},
	{"--event-days", offsetof(export_opts, event_days), false, false},
	{"--holidays", offsetof(export_opts, holidays), false, false},
	{"--instructions", offsetof(export_opts, instructions), false, false},
	{"--instruction", offsetof(export_opts, instructions), false, false},
	{"--prices", offsetof(export_opts, prices), false, false},
	{"--interval", offsetof(export_opts, interval), false, false},
	{"--allow-estimated", offsetof(export_opts, allow_estimated), false, true},
	{"--tz", offsetof(export_opts, tz), false, false},
};

#define NEXPORT_OPTS (sizeof(export_optv) / sizeof(export_optv[0]))

/* Every option of "settle statement": the export's, from the database. */
static const ctl_opt statement_optv[] = {
	{"--aggregation", offsetof(export_opts, aggregation), true, false},
	{"--day", offsetof(export_opts, day), true, false},
	{"--iso", offsetof(export_opts, iso), false, false},
	{"--method", offsetof(export_opts, method), false, false},
	{"--event", offsetof(export_opts, event), false, false},
	{"--event-days", offsetof(export_opts, event_days), false, false},
	{"--holidays", offsetof(export_opts, holidays), false, false},
	{"--instructions", offsetof(export_opts, instructions), false, false},
	{"--prices", offsetof(export_opts, prices), false, false},
	{"--interval", offsetof(export_opts, interval), false, false},
	{"--tz", offsetof(export_opts, tz), false, false},
	{"--out", offsetof(export_opts, out), false, false},
	{"--store", offsetof(export_opts, store), false, true},
};

#define NSTATEMENT_OPTS (sizeof(statement_optv) / sizeof(statement_optv[0]))

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
"  --prices: " SETTLE_PRICE_HEADER "\n"
"       dermsctl settle export --iso caiso|pjm|nyiso|generic\n"
"           --aggregation ID[,ID...]|all --day YYYY-MM-DD --input READINGS.csv\n"
"           --out DIR [--members FILE | --resources ID,...]\n"
"           [--method M --event START/END] [--event-days FILE] [--holidays FILE]\n"
"           [--instructions FILE] [--prices FILE] [--interval 5|15|60]\n"
"           [--allow-estimated] [--tz ZONE]\n"
"  --members: " SETTLE_MEMBERS_HEADER " (default: every resource in the input)\n";

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

/* Fill the option struct at o (size bytes) from argv[2..] by optv. */
static derms_rc
parse_opts(int argc, char **argv, const ctl_opt *optv, size_t nopts,
		   void *o, size_t size, derms_err *err)
{
	memset(o, 0, size);
	for (int i = 2; i < argc; i++)
	{
		const ctl_opt *opt = NULL;

		for (size_t j = 0; j < nopts; j++)
			if (strcmp(argv[i], optv[j].name) == 0)
				opt = &optv[j];
		if (opt == NULL)
			return derms_err_set(err, DERMS_EINVAL, "unknown option \"%s\"",
								 argv[i]);
		if (opt->flag)
		{
			*(const char **) ((char *) o + opt->off) = "1";
			continue;
		}
		if (i + 1 >= argc)
			return derms_err_set(err, DERMS_EINVAL, "%s needs a value",
								 argv[i]);
		*(const char **) ((char *) o + opt->off) = argv[++i];
	}
	for (size_t j = 0; j < nopts; j++)
		if (optv[j].required &&
			*(const char *const *) ((const char *) o + optv[j].off) == NULL)
			return derms_err_set(err, DERMS_EINVAL, "%s is required",
								 optv[j].name);
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
cmd_baseline(const char *conninfo, int argc, char **argv)
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

	(void) conninfo;				/* the calculator needs no database */
	memset(&r, 0, sizeof(r));
	derms_err_clear(&err);
	if (parse_opts(argc, argv, baseline_optv, NBASELINE_OPTS, &r.o,
				   sizeof(r.o), &err) != DERMS_OK)
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

/* ---- settle export ---- */

/* State of one export run; everything here is freed by xrun_free(). */
typedef struct xrun
{
	export_opts o;
	const settle_iso_info *iso;
	const char *zone;
	const settle_method *m;
	int64_t		day;
	int64_t		ev_start;
	int64_t		ev_end;
	int32_t		S;
	settle_series_set *set;
	settle_members members;
	bool		have_members;
	char	  **list;			/* --resources or every input resource */
	size_t		nlist;
	char	   *listbuf;
	char	  **aggs;			/* aggregations to export */
	size_t		naggs;
	char	   *aggbuf;
	settle_dayset events;
	settle_dayset holidays;
	settle_instr_set instr;
	settle_price_set prices;
	settle_xinput inputs[SETTLE_XINPUTS_MAX];
	int			ninputs;
	settle_export_req *reqs;	/* naggs */
	settle_export *xs;			/* nxs computed */
	size_t		nxs;
	PGconn	   *db;
	bool		from_db;		/* no --input: the database's data */
	settle_dbfleet fleet;
	bool		db_instr;		/* instructions from the database */
	bool		db_prices;
	settle_xinput price_input;
} xrun;

static void
xrun_free(xrun *r)
{
	for (size_t i = 0; i < r->nxs; i++)
		settle_export_free(&r->xs[i]);
	free(r->xs);
	free(r->reqs);
	settle_series_set_destroy(r->set);
	if (!r->from_db)
		settle_members_free(&r->members);	/* else the fleet's */
	free(r->list);
	free(r->listbuf);
	free(r->aggs);
	free(r->aggbuf);
	settle_dayset_free(&r->events);
	settle_dayset_free(&r->holidays);
	settle_instr_free(&r->instr);
	settle_price_free(&r->prices);
	settle_store_fleet_free(&r->fleet);
	if (r->db != NULL)
		PQfinish(r->db);
}

static int
xfail(xrun *r, const derms_err *err)
{
	fprintf(stderr, CTL_PREFIX "%s\n", err->msg);
	xrun_free(r);
	return err->code == DERMS_ENOMEM ? 1 : 2;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * Split a comma-separated id list into *v (sorted; strings point into
 * *buf); what names the option in errors.  Duplicates are an error.
 */
static derms_rc
split_ids(const char *s, const char *what, char **buf, char ***v, size_t *n,
		  derms_err *err)
{
	size_t		cap = 1;
	char	   *p;

	for (const char *q = s; *q; q++)
		cap += (*q == ',');
	*buf = strdup(s);
	*v = calloc(cap, sizeof(char *));
	*n = 0;
	if (*buf == NULL || *v == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	p = *buf;
	for (;;)
	{
		char	   *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		if (!settle_resource_ok(p, strlen(p)))
			return derms_err_set(err, DERMS_EINVAL,
								 "%s: invalid id \"%.64s\" (1-64 of [A-Za-z0-9_.:-])",
								 what, p);
		(*v)[(*n)++] = p;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	qsort(*v, *n, sizeof(char *), cmp_str);
	for (size_t i = 1; i < *n; i++)
		if (strcmp((*v)[i], (*v)[i - 1]) == 0)
			return derms_err_set(err, DERMS_EINVAL, "%s: \"%s\" given twice",
								 what, (*v)[i]);
	return DERMS_OK;
}

/* Read path whole, noting its size and SHA-256 for the manifest. */
static derms_rc
read_input(xrun *r, const char *role, const char *path, char **buf,
		   size_t *len, derms_err *err)
{
	settle_xinput *in = &r->inputs[r->ninputs];
	derms_rc	rc;

	assert(r->ninputs < SETTLE_XINPUTS_MAX);
	if ((rc = settle_file_read(path, buf, len, err)) != DERMS_OK)
		return rc;
	in->role = role;
	in->path = path;
	in->bytes = *len;
	if ((rc = settle_sha256_hex(*buf, *len, in->sha256, err)) != DERMS_OK)
	{
		free(*buf);
		return rc;
	}
	r->ninputs++;
	return DERMS_OK;
}

static derms_rc
export_load(xrun *r, derms_err *err)
{
	char	   *buf = NULL;
	size_t		len;
	size_t		nest;
	derms_rc	rc;

	if ((r->set = settle_series_set_create()) == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (r->o.input != NULL)
	{
		if ((rc = read_input(r, "readings", r->o.input, &buf, &len, err)) != DERMS_OK)
			return rc;
		rc = settle_meter_parse(buf, len, r->o.input, r->set, err);
		free(buf);
		if (rc != DERMS_OK ||
			(rc = settle_series_set_estimate(r->set, &nest, err)) != DERMS_OK)
			return rc;
	}
	if (r->o.members != NULL)
	{
		if ((rc = read_input(r, "members", r->o.members, &buf, &len, err)) != DERMS_OK)
			return rc;
		rc = settle_members_parse(buf, len, r->o.members, &r->members, err);
		free(buf);
		if (rc != DERMS_OK)
			return rc;
		r->have_members = true;
	}
	if (r->o.instructions != NULL)
	{
		if ((rc = read_input(r, "instructions", r->o.instructions, &buf, &len,
							 err)) != DERMS_OK)
			return rc;
		rc = settle_instr_parse(buf, len, r->o.instructions, &r->instr, err);
		free(buf);
		if (rc != DERMS_OK)
			return rc;
	}
	if (r->o.prices != NULL)
	{
		if ((rc = read_input(r, "prices", r->o.prices, &buf, &len, err)) != DERMS_OK)
			return rc;
		rc = settle_price_parse(buf, len, r->o.prices, &r->prices, err);
		free(buf);
		if (rc != DERMS_OK)
			return rc;
	}
	if (r->o.event_days != NULL)
	{
		if ((rc = read_input(r, "event_days", r->o.event_days, &buf, &len,
							 err)) != DERMS_OK)
			return rc;
		rc = settle_dayset_parse(buf, len, r->o.event_days, &r->events, err);
		free(buf);
		if (rc != DERMS_OK)
			return rc;
	}
	if (r->o.holidays != NULL)
	{
		if ((rc = read_input(r, "holidays", r->o.holidays, &buf, &len, err)) != DERMS_OK)
			return rc;
		rc = settle_dayset_parse(buf, len, r->o.holidays, &r->holidays, err);
		free(buf);
		if (rc != DERMS_OK)
			return rc;
	}
	return DERMS_OK;
}

/*
 * Without --input: the fleet as of the trading day's start, its members'
 * readings (from the like days the method needs through the day after),
 * and instructions and prices from the database unless given as files.
 */
static derms_rc
export_load_db(xrun *r, derms_err *err)
{
	int64_t		start = settle_tz_day_start(r->day);
	int64_t		end = settle_tz_day_start(r->day + 1);
	int64_t		from = settle_tz_day_start(r->day - 1 -
										   (r->m ? settle_method_history_days(r->m) : 0));
	size_t		nest;
	derms_rc	rc;

	if ((rc = settle_store_fleet(r->db, r->o.aggregation, r->iso->name, start,
								 &r->fleet, err)) != DERMS_OK ||
		(rc = settle_store_load_readings(r->db, &r->fleet, from,
										 settle_tz_day_start(r->day + 2), r->set,
										 err)) != DERMS_OK ||
		(rc = settle_series_set_estimate(r->set, &nest, err)) != DERMS_OK)
		return rc;
	if (r->o.instructions == NULL)
	{
		if ((rc = settle_store_load_instructions(r->db, &r->fleet, start, end,
												 &r->instr, err)) != DERMS_OK)
			return rc;
		r->db_instr = true;
	}
	if (r->o.prices == NULL)
	{
		if ((rc = settle_store_load_prices(r->db, r->iso->name, start, end,
										   &r->prices, &r->price_input,
										   err)) != DERMS_OK)
			return rc;
		r->db_prices = r->prices.n > 0;
	}
	/* the run borrows the fleet's membership; labels are the aggregations */
	r->members = r->fleet.members;
	r->have_members = true;
	r->aggs = calloc(r->fleet.naggs + 1, sizeof(char *));
	if (r->aggs == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->fleet.naggs; i++)
		r->aggs[r->naggs++] = r->fleet.aggs[i].label;
	return DERMS_OK;
}

/* Options that need no input files: ISO, zone, day, method, event. */
static derms_rc
export_check_opts(xrun *r, derms_err *err)
{
	derms_err	sub;

	r->iso = settle_iso_find(r->o.iso);
	if (r->iso == NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "--iso: unknown ISO \"%.32s\" (known: caiso|pjm|nyiso|generic)",
							 r->o.iso);
	r->zone = r->iso->zone != NULL ? r->iso->zone : (r->o.tz ? r->o.tz : "UTC");
	if (r->iso->zone != NULL && r->o.tz != NULL &&
		strcmp(r->o.tz, r->iso->zone) != 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "--tz: %s trading days are in %s, not \"%.64s\"",
							 r->iso->name, r->iso->zone, r->o.tz);
	if (settle_tz_use(r->zone, &sub) != DERMS_OK)
		return derms_err_set(err, sub.code, "--tz: %s", sub.msg);
	if (settle_parse_date(r->o.day, strlen(r->o.day), &r->day, &sub) != DERMS_OK)
		return derms_err_set(err, DERMS_EINVAL, "--day: %s", sub.msg);
	if (r->o.interval != NULL)
	{
		if (strcmp(r->o.interval, "5") == 0)
			r->S = 300;
		else if (strcmp(r->o.interval, "15") == 0)
			r->S = 900;
		else if (strcmp(r->o.interval, "60") == 0)
			r->S = 3600;
		else
			return derms_err_set(err, DERMS_EINVAL,
								 "--interval: \"%.16s\" is not 5, 15 or 60",
								 r->o.interval);
	}
	if ((r->o.method == NULL) != (r->o.event == NULL))
		return derms_err_set(err, DERMS_EINVAL,
							 "--method and --event go together");
	if (r->o.method != NULL)
	{
		r->m = settle_method_find(r->o.method);
		if (r->m == NULL)
			return derms_err_set(err, DERMS_EINVAL,
								 "--method: unknown method \"%.64s\" (known: %s)",
								 r->o.method, settle_method_names());
		if (parse_event(r->o.event, &r->ev_start, &r->ev_end, err) != DERMS_OK)
			return err->code;
	}
	if (r->o.members != NULL && r->o.resources != NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "--members and --resources are alternatives");
	return r->o.out != NULL ? settle_afile_check_dir(r->o.out, err) : DERMS_OK;
}

/* The aggregations to export and, without --members, the member list. */
static derms_rc
export_targets(xrun *r, derms_err *err)
{
	derms_rc	rc;

	if (strcmp(r->o.aggregation, "all") == 0)
	{
		if (!r->have_members)
			return derms_err_set(err, DERMS_EINVAL,
								 "--aggregation all needs --members");
		r->aggs = calloc(r->members.n + 1, sizeof(char *));
		if (r->aggs == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		for (size_t i = 0; i < r->members.n; i++)
			if (i == 0 || strcmp(r->members.agg[i], r->members.agg[i - 1]) != 0)
				r->aggs[r->naggs++] = r->members.agg[i];
		if (r->naggs == 0)
			return derms_err_set(err, DERMS_ENOTFOUND,
								 "%s lists no aggregation", r->o.members);
	}
	else if ((rc = split_ids(r->o.aggregation, "--aggregation", &r->aggbuf,
							 &r->aggs, &r->naggs, err)) != DERMS_OK)
		return rc;
	if (r->have_members)
	{
		for (size_t i = 0; i < r->naggs; i++)
		{
			size_t		first;

			if (settle_members_of(&r->members, r->aggs[i], &first) == 0)
				return derms_err_set(err, DERMS_ENOTFOUND,
									 "unknown aggregation \"%s\" (not in %s)",
									 r->aggs[i], r->o.members);
		}
		return DERMS_OK;
	}
	if (r->naggs != 1)
		return derms_err_set(err, DERMS_EINVAL,
							 "several aggregations need --members");
	if (r->o.resources != NULL)
		return split_ids(r->o.resources, "--resources", &r->listbuf, &r->list,
						 &r->nlist, err);
	/* every resource in the input */
	r->list = calloc(r->set->n + 1, sizeof(char *));
	if (r->list == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (size_t i = 0; i < r->set->n; i++)
		r->list[r->nlist++] = r->set->v[i]->name;
	qsort(r->list, r->nlist, sizeof(char *), cmp_str);
	return DERMS_OK;
}

static void
export_req(const xrun *r, const char *agg, settle_export_req *q)
{
	memset(q, 0, sizeof(*q));
	q->iso = r->iso;
	q->zone = r->zone;
	q->aggregation = agg;
	q->day = r->day;
	q->interval_s = r->S;
	q->method = r->m;
	q->ev_start = r->ev_start;
	q->ev_end = r->ev_end;
	q->holidays = r->o.holidays ? &r->holidays : NULL;
	q->events = &r->events;
	q->set = r->set;
	q->instr = (r->o.instructions || r->db_instr) ? &r->instr : NULL;
	q->prices = (r->o.prices || r->db_prices) ? &r->prices : NULL;
	q->allow_estimated = r->o.allow_estimated != NULL;
	if (r->have_members)
	{
		size_t		first;

		q->nmembers = settle_members_of(&r->members, agg, &first);
		q->members = (const char *const *) &r->members.res[first];
	}
	else
	{
		q->nmembers = r->nlist;
		q->members = (const char *const *) r->list;
	}
}

/* Append the audit record of one written export; *id gets its id. */
static derms_rc
export_audit(xrun *r, const settle_export *x, const settle_xfile *manifest,
			 int nfiles, char *id, size_t idsz, derms_err *err)
{
	char		object[160];
	char		detail[1024];
	char		ds[SETTLE_TIME_STRMAX];
	const char *p[4];
	PGresult   *res;

	settle_fmt_date(r->day, ds);
	snprintf(object, sizeof(object), "%s/%s", x->req->aggregation, ds);
	snprintf(detail, sizeof(detail),
			 "{\"iso\":\"%s\",\"aggregation\":\"%s\",\"day\":\"%s\","
			 "\"manifest\":\"%s\",\"manifest_sha256\":\"%s\",\"files\":%d,"
			 "\"estimated\":%zu}", r->iso->name, x->req->aggregation, ds,
			 manifest->name, manifest->sha256, nfiles, x->nestimated);
	p[0] = cli_actor();
	p[1] = "settle.export";
	p[2] = object;
	p[3] = detail;
	res = PQexecParams(r->db, "SELECT audit_append($1, $2, $3, $4::jsonb)",
					   4, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		derms_err_set(err, DERMS_EDB,
					  "files written, but the audit record failed: %s",
					  m ? m : PQerrorMessage(r->db));
		PQclear(res);
		return DERMS_EDB;
	}
	snprintf(id, idsz, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return DERMS_OK;
}

/* The inputs of one aggregation's manifest into inputs[]. */
static derms_rc
export_inputs(const xrun *r, const settle_export *x, settle_xinput *inputs,
			  int *ninputs, derms_err *err)
{
	derms_rc	rc = DERMS_OK;

	memset(inputs, 0, sizeof(settle_xinput) * SETTLE_XINPUTS_MAX);
	*ninputs = 0;
	if (!r->from_db)
	{
		memcpy(inputs, r->inputs, sizeof(settle_xinput) * SETTLE_XINPUTS_MAX);
		*ninputs = r->ninputs;
		return DERMS_OK;
	}
	/* this aggregation's rows, so a manifest does not depend on which other
	 * aggregations were exported with it */
	rc = settle_store_agg_input(&r->fleet, x->req->aggregation,
								&inputs[(*ninputs)++], err);
	if (rc == DERMS_OK && r->db_instr)
		rc = settle_store_agg_instr_input(&r->fleet, x->req->aggregation,
										  &inputs[(*ninputs)++], err);
	if (r->db_prices)
		inputs[(*ninputs)++] = r->price_input;
	for (int i = 0; i < r->ninputs && *ninputs < SETTLE_XINPUTS_MAX; i++)
		inputs[(*ninputs)++] = r->inputs[i];
	return rc;
}

/* Render, write and audit one computed aggregation. */
static derms_rc
export_one(xrun *r, const settle_export *x, derms_err *err)
{
	settle_xfile files[SETTLE_XFILES_MAX];
	int			nfiles = 0;
	char		audit_id[32] = "none";
	settle_xinput inputs[SETTLE_XINPUTS_MAX];
	int			ninputs = 0;
	derms_rc	rc;

	if ((rc = export_inputs(r, x, inputs, &ninputs, err)) != DERMS_OK)
		return rc;
	settle_afile_sweep(r->o.out);
	rc = settle_export_render(x, inputs, ninputs, files, &nfiles, err);
	if (rc == DERMS_OK)
		rc = settle_export_write(r->o.out, files, nfiles, err);
	if (rc == DERMS_OK && r->db != NULL)
		rc = export_audit(r, x, &files[nfiles - 1], nfiles, audit_id,
						  sizeof(audit_id), err);
	if (rc == DERMS_OK)
		printf("exported iso=%s aggregation=%s day=%s files=%d estimated=%zu "
			   "manifest=%s/%s sha256=%s audit=%s\n", r->iso->name,
			   x->req->aggregation, r->o.day, nfiles, x->nestimated, r->o.out,
			   files[nfiles - 1].name, files[nfiles - 1].sha256, audit_id);
	settle_xfiles_free(files, nfiles);
	return rc;
}

static int
cmd_export(const char *conninfo, int argc, char **argv)
{
	xrun		r;
	derms_err	err;

	memset(&r, 0, sizeof(r));
	derms_err_clear(&err);
	if (parse_opts(argc, argv, export_optv, NEXPORT_OPTS, &r.o, sizeof(r.o),
				   &err) != DERMS_OK ||
		export_check_opts(&r, &err) != DERMS_OK)
		return xfail(&r, &err);
	if (conninfo != NULL)
	{
		r.db = PQconnectdb(conninfo);
		if (PQstatus(r.db) != CONNECTION_OK)
		{
			derms_err_set(&err, DERMS_EDB,
						  "could not connect to the database: %s",
						  PQerrorMessage(r.db));
			/* libpq's message ends in a newline: one line only */
			err.msg[strcspn(err.msg, "\n")] = '\0';
			return xfail(&r, &err);
		}
	}
	if (r.o.input == NULL)
	{
		if (r.db == NULL)
		{
			derms_err_set(&err, DERMS_EINVAL,
						  "--input FILE, or a database to read (dermsctl -c FILE or --db), is required");
			return xfail(&r, &err);
		}
		if (r.o.members != NULL || r.o.resources != NULL)
		{
			derms_err_set(&err, DERMS_EINVAL,
						  "--members and --resources go with --input; the database has the fleet");
			return xfail(&r, &err);
		}
		r.from_db = true;
		if (export_load(&r, &err) != DERMS_OK ||
			export_load_db(&r, &err) != DERMS_OK)
			return xfail(&r, &err);
	}
	else if (export_load(&r, &err) != DERMS_OK ||
			 export_targets(&r, &err) != DERMS_OK)
		return xfail(&r, &err);
	/* compute every aggregation before writing any */
	r.reqs = calloc(r.naggs, sizeof(settle_export_req));
	r.xs = calloc(r.naggs, sizeof(settle_export));
	if (r.reqs == NULL || r.xs == NULL)
	{
		derms_err_set(&err, DERMS_ENOMEM, "out of memory");
		return xfail(&r, &err);
	}
	for (size_t i = 0; i < r.naggs; i++)
	{
		export_req(&r, r.aggs[i], &r.reqs[i]);
		if (settle_export_compute(&r.reqs[i], &r.xs[i], &err) != DERMS_OK)
			return xfail(&r, &err);
		r.nxs++;
	}
	for (size_t i = 0; i < r.naggs; i++)
		if (export_one(&r, &r.xs[i], &err) != DERMS_OK)
		{
			fflush(stdout);
			fprintf(stderr, CTL_PREFIX "%s\n", err.msg);
			xrun_free(&r);
			return err.code == DERMS_EDB || err.code == DERMS_ENOMEM ? 1 : 2;
		}
	if (fflush(stdout) != 0)
	{
		derms_err_set(&err, DERMS_EIO, "could not write the output: %m");
		return xfail(&r, &err);
	}
	if (r.db == NULL)
		fprintf(stderr, CTL_PREFIX "export: no database (-c FILE or --db): "
				"no audit record written\n");
	xrun_free(&r);
	return 0;
}

/* ---- settle import, import-instructions, import-prices ---- */

static PGconn *
ctl_connect(const char *conninfo, derms_err *err)
{
	PGconn	   *c;

	if (conninfo == NULL)
	{
		derms_err_set(err, DERMS_EINVAL,
					  "needs a database (dermsctl -c FILE or --db CONNINFO)");
		return NULL;
	}
	c = PQconnectdb(conninfo);
	if (PQstatus(c) != CONNECTION_OK)
	{
		derms_err_set(err, DERMS_EDB, "could not connect to the database: %s",
					  PQerrorMessage(c));
		err->msg[strcspn(err->msg, "\n")] = '\0';
		PQfinish(c);
		return NULL;
	}
	return c;
}

static double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* "settle import FILE", "import-instructions FILE",
 * "import-prices --iso ISO FILE" */
static int
cmd_import(const char *conninfo, int argc, char **argv)
{
	const char *kind = argv[1];
	const char *path = NULL;
	const char *iso = NULL;
	settle_import_result res;
	derms_err	err;
	PGconn	   *c;
	double		t0 = mono_s();
	double		dt;
	derms_rc	rc;

	derms_err_clear(&err);
	for (int i = 2; i < argc; i++)
	{
		if (strcmp(argv[i], "--iso") == 0 && i + 1 < argc &&
			strcmp(kind, "import-prices") == 0)
			iso = argv[++i];
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i];
		else
		{
			fprintf(stderr, CTL_PREFIX "%s: unexpected argument \"%.64s\"\n", kind,
					argv[i]);
			return 2;
		}
	}
	if (path == NULL || (strcmp(kind, "import-prices") == 0 && iso == NULL))
	{
		fprintf(stderr, CTL_PREFIX "%s: usage: dermsctl settle %s%s FILE\n", kind,
				kind, strcmp(kind, "import-prices") == 0 ? " --iso ISO" : "");
		return 2;
	}
	if ((c = ctl_connect(conninfo, &err)) == NULL)
	{
		fprintf(stderr, CTL_PREFIX "%s: %s\n", kind, err.msg);
		return 2;
	}
	if (strcmp(kind, "import") == 0)
		rc = settle_store_import_readings(c, path, cli_actor(), stderr, &res, &err);
	else if (strcmp(kind, "import-instructions") == 0)
		rc = settle_store_import_instructions(c, path, cli_actor(), &res, &err);
	else
		rc = settle_store_import_prices(c, path, iso, cli_actor(), &res, &err);
	PQfinish(c);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, CTL_PREFIX "%s: %s\n", kind, err.msg);
		return rc == DERMS_EDB || rc == DERMS_ENOMEM ? 1 : 2;
	}
	dt = mono_s() - t0;
	printf("imported %s import_id=%" PRId64 " rows=%zu inserted=%" PRId64
		   " replaced=%" PRId64 " unchanged=%" PRId64 " seconds=%.2f rows_per_s=%.0f\n",
		   strcmp(kind, "import") == 0 ? "readings" : kind + 7, res.import_id,
		   res.rows, res.inserted, res.replaced, res.unchanged, dt,
		   dt > 0 ? (double) res.rows / dt : 0.0);
	return 0;
}

/* ---- settle statement [show] ---- */

/* The ISO of aggregation spec from its market, for a missing --iso. */
static derms_rc
statement_iso(PGconn *c, const char *spec, char *iso, size_t isosz,
			  derms_err *err)
{
	const char *p[1] = {spec};
	PGresult   *r = PQexecParams(c, "SELECT lower(coalesce(k.name, g.iso, ''))"
								 " FROM aggregations g LEFT JOIN iso_markets k ON k.id = g.iso_market_id"
								 " WHERE g.iso_resource_id = $1 OR g.id::text = $1",
								 1, NULL, p, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		derms_err_set(err, DERMS_EDB, "could not read aggregation \"%s\": %s",
					  spec, PQerrorMessage(c));
		err->msg[strcspn(err->msg, "\n")] = '\0';
		PQclear(r);
		return DERMS_EDB;
	}
	if (PQntuples(r) != 1)
	{
		PQclear(r);
		return derms_err_set(err, DERMS_ENOTFOUND, "unknown aggregation \"%s\"", spec);
	}
	snprintf(iso, isosz, "%s",
			 settle_iso_find(PQgetvalue(r, 0, 0)) ? PQgetvalue(r, 0, 0) : "generic");
	PQclear(r);
	return DERMS_OK;
}

/* Store one statement as the next version unless the latest has the same
 * digest; prints what happened. */
static derms_rc
statement_store(xrun *r, const settle_dbagg *g, const char *summary,
				const char *intervals, const char *svg, const char *sha,
				derms_err *err)
{
	char		ids[2][32];
	char		ds[SETTLE_TIME_STRMAX];
	char		detail[512];
	const char *p[8];
	PGresult   *res;
	PGconn	   *c = r->db;

	snprintf(ids[0], sizeof(ids[0]), "%" PRId64, g->id);
	snprintf(ids[1], sizeof(ids[1]), "%" PRId64, g->tenant_id);
	settle_fmt_date(r->day, ds);
	p[0] = ids[0];
	p[1] = ids[1];
	p[2] = ds;
	p[3] = sha;
	p[4] = intervals;
	p[5] = svg;
	p[6] = cli_actor();
	p[7] = summary;
	PQclear(PQexec(c, "BEGIN"));
	/* one writer per aggregation at a time */
	res = PQexecParams(c, "SELECT 1 FROM aggregations WHERE id = $1 FOR UPDATE", 1,
					   NULL, p, NULL, NULL, 0);
	PQclear(res);
	res = PQexecParams(c, "SELECT id, version, inputs_sha256 = $3 FROM settlement_statements"
					   " WHERE aggregation_id = $1 AND trading_day = $2::date"
					   " ORDER BY version DESC LIMIT 1", 3, NULL,
					   (const char *const[]) {p[0], p[2], p[3]}, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto dberr;
	if (PQntuples(res) == 1 && PQgetvalue(res, 0, 2)[0] == 't')
	{
		printf("statement unchanged aggregation=%s day=%s id=%s version=%s\n",
			   g->label, ds, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
		PQclear(res);
		PQclear(PQexec(c, "COMMIT"));
		return DERMS_OK;
	}
	PQclear(res);
	res = PQexecParams(c,
					   "INSERT INTO settlement_statements (aggregation_id, tenant_id, trading_day,"
					   " version, iso, zone, interval_minutes, method, event_start, event_end,"
					   " members, energy_kwh, baseline_kwh, delivered_kwh, instructed_kwh,"
					   " under_kwh, over_kwh, performance_ratio, estimated_intervals, value,"
					   " inputs_sha256, inputs, intervals, chart_svg, created_by)"
					   " SELECT $1, $2, $3::date, coalesce((SELECT max(version) FROM"
					   "  settlement_statements WHERE aggregation_id = $1 AND trading_day = $3::date), 0) + 1,"
					   " s->>'iso', s->>'zone', (s->>'interval_minutes')::int, s->>'method',"
					   " (s->>'event_start_utc')::timestamptz, (s->>'event_end_utc')::timestamptz,"
					   " (s->>'members')::int, (s->>'energy_kwh')::numeric,"
					   " (s->>'baseline_kwh')::numeric, (s->>'delivered_kwh')::numeric,"
					   " (s->>'instructed_kwh')::numeric, (s->>'under_kwh')::numeric,"
					   " (s->>'over_kwh')::numeric, (s->>'performance_ratio')::float8,"
					   " (s->>'estimated_intervals')::int, (s->>'value')::numeric,"
					   " $4, s->'inputs', $5::jsonb, $6, $7"
					   " FROM (SELECT $8::jsonb AS s) q RETURNING id, version",
					   8, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto dberr;
	printf("statement stored aggregation=%s day=%s id=%s version=%s\n", g->label, ds,
		   PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	snprintf(detail, sizeof(detail),
			 "{\"statement_id\":%s,\"version\":%s,\"aggregation\":\"%s\",\"day\":\"%s\","
			 "\"sha256\":\"%s\"}", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
			 g->label, ds, sha);
	PQclear(res);
	{
		char		object[160];

		snprintf(object, sizeof(object), "%s/%s", g->label, ds);
		res = PQexecParams(c, "SELECT audit_append($1, 'settle.statement', $2, $3::jsonb)",
						   3, NULL, (const char *const[]) {cli_actor(), object, detail},
						   NULL, NULL, 0);
	}
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		goto dberr;
	PQclear(res);
	res = PQexec(c, "COMMIT");
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		goto dberr;
	PQclear(res);
	return DERMS_OK;

dberr:
	{
		const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

		derms_err_set(err, DERMS_EDB, "could not store the statement: %s",
					  m ? m : PQerrorMessage(c));
		err->msg[strcspn(err->msg, "\n")] = '\0';
	}
	PQclear(res);
	PQclear(PQexec(c, "ROLLBACK"));
	return DERMS_EDB;
}

/* "settle statement show --aggregation ID --day D [--version N]
 * [--chart FILE]" */
static int
cmd_statement_show(const char *conninfo, int argc, char **argv)
{
	const char *agg = NULL,
			   *day = NULL,
			   *version = NULL,
			   *chart = NULL;
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;
	const char *p[3];
	int			n;

	for (int i = 2; i < argc; i++)
	{
		const char **dst = strcmp(argv[i], "--aggregation") == 0 ? &agg
			: strcmp(argv[i], "--day") == 0 ? &day
			: strcmp(argv[i], "--version") == 0 ? &version
			: strcmp(argv[i], "--chart") == 0 ? &chart : NULL;

		if (dst == NULL || i + 1 >= argc)
		{
			fprintf(stderr, CTL_PREFIX "statement show: unexpected argument \"%.64s\"\n",
					argv[i]);
			return 2;
		}
		*dst = argv[++i];
	}
	if (agg == NULL || day == NULL)
	{
		fprintf(stderr, CTL_PREFIX "statement show: --aggregation and --day are required\n");
		return 2;
	}
	if ((c = ctl_connect(conninfo, &err)) == NULL)
	{
		fprintf(stderr, CTL_PREFIX "statement show: %s\n", err.msg);
		return 2;
	}
	p[0] = agg;
	p[1] = day;
	p[2] = version;
	r = PQexecParams(c, "SELECT s.version, s.id, to_char(s.created_at AT TIME ZONE 'UTC',"
					 " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), s.iso, s.method, s.members,"
					 " s.energy_kwh, s.baseline_kwh, s.delivered_kwh, s.instructed_kwh,"
					 " s.under_kwh, s.over_kwh, s.performance_ratio, s.estimated_intervals,"
					 " s.value, s.inputs_sha256, s.created_by, s.chart_svg"
					 " FROM settlement_statements s JOIN aggregations g ON g.id = s.aggregation_id"
					 " WHERE (g.iso_resource_id = $1 OR g.id::text = $1)"
					 "  AND s.trading_day = $2::date AND ($3::int IS NULL OR s.version = $3::int)"
					 " ORDER BY s.version", 3, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		fprintf(stderr, CTL_PREFIX "statement show: %s", PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return 2;
	}
	n = PQntuples(r);
	if (n == 0)
	{
		fprintf(stderr, CTL_PREFIX "statement show: no statement of aggregation \"%s\" on %s%s%s\n",
				agg, day, version ? " version " : "", version ? version : "");
		PQclear(r);
		PQfinish(c);
		return 2;
	}
	fputs("version,id,created_at,iso,method,members,energy_kwh,baseline_kwh,"
		  "delivered_kwh,instructed_kwh,under_kwh,over_kwh,performance_ratio,"
		  "estimated_intervals,value,inputs_sha256,created_by\n", stdout);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < 17; j++)
			printf("%s%s", PQgetvalue(r, i, j), j == 16 ? "\n" : ",");
	if (chart != NULL)
	{
		settle_afile_set set;
		char	   *dir = strdup(chart);
		char	   *slash;
		const char *name = chart;
		const char *svg = PQgetvalue(r, n - 1, 17);

		/* atomically, next to where it is asked for */
		if (dir == NULL)
		{
			PQclear(r);
			PQfinish(c);
			return 1;
		}
		slash = strrchr(dir, '/');
		if (slash != NULL)
		{
			*slash = '\0';
			name = slash + 1 - dir + chart;
		}
		settle_afile_init(&set, slash != NULL ? dir : ".");
		if (settle_afile_stage(&set, name, svg, strlen(svg), &err) != DERMS_OK ||
			settle_afile_commit(&set, &err) != DERMS_OK)
		{
			fprintf(stderr, CTL_PREFIX "statement show: %s\n", err.msg);
			free(dir);
			PQclear(r);
			PQfinish(c);
			return 2;
		}
		free(dir);
	}
	PQclear(r);
	PQfinish(c);
	return 0;
}

/* "settle statement --aggregation ID --day D [--store] [--out DIR] ..." */
static int
cmd_statement(const char *conninfo, int argc, char **argv)
{
	xrun		r;
	derms_err	err;
	char		iso[16];
	settle_xinput inputs[SETTLE_XINPUTS_MAX];
	int			ninputs;
	settle_statement st;
	char	   *summary = NULL,
			   *intervals = NULL,
			   *svg = NULL;
	size_t		svglen = 0;
	char		sha[SETTLE_SHA256_HEX];
	int			rc = 0;

	if (argc >= 3 && strcmp(argv[2], "show") == 0)
		return cmd_statement_show(conninfo, argc - 1, argv + 1);
	memset(&r, 0, sizeof(r));
	derms_err_clear(&err);
	if (parse_opts(argc, argv, statement_optv, NSTATEMENT_OPTS, &r.o, sizeof(r.o),
				   &err) != DERMS_OK)
		return xfail(&r, &err);
	if ((r.db = ctl_connect(conninfo, &err)) == NULL)
		return xfail(&r, &err);
	if (strchr(r.o.aggregation, ',') != NULL || strcmp(r.o.aggregation, "all") == 0)
	{
		derms_err_set(&err, DERMS_EINVAL, "--aggregation: one aggregation per statement");
		return xfail(&r, &err);
	}
	if (r.o.iso == NULL)
	{
		if (statement_iso(r.db, r.o.aggregation, iso, sizeof(iso), &err) != DERMS_OK)
			return xfail(&r, &err);
		r.o.iso = iso;
	}
	r.o.allow_estimated = "1";	/* a statement counts them instead */
	r.from_db = true;
	if (export_check_opts(&r, &err) != DERMS_OK ||
		export_load(&r, &err) != DERMS_OK ||
		export_load_db(&r, &err) != DERMS_OK)
		return xfail(&r, &err);
	r.reqs = calloc(1, sizeof(settle_export_req));
	r.xs = calloc(1, sizeof(settle_export));
	if (r.reqs == NULL || r.xs == NULL)
	{
		derms_err_set(&err, DERMS_ENOMEM, "out of memory");
		return xfail(&r, &err);
	}
	export_req(&r, r.aggs[0], &r.reqs[0]);
	if (settle_export_compute(&r.reqs[0], &r.xs[0], &err) != DERMS_OK)
		return xfail(&r, &err);
	r.nxs = 1;
	settle_statement_compute(&r.xs[0], &st);
	if (export_inputs(&r, &r.xs[0], inputs, &ninputs, &err) != DERMS_OK ||
		settle_statement_json(&r.xs[0], &st, inputs, ninputs, &summary, &intervals,
							  &err) != DERMS_OK ||
		settle_statement_svg(&r.xs[0], &svg, &svglen, &err) != DERMS_OK ||
		settle_sha256_hex(summary, strlen(summary), sha, &err) != DERMS_OK)
		goto fail;
	if (r.o.out != NULL)
	{
		settle_afile_set set;
		char		name[2][SETTLE_AFILE_NAME_MAX];
		char		ds[SETTLE_TIME_STRMAX];

		settle_fmt_date(r.day, ds);
		snprintf(name[0], sizeof(name[0]), "%s_%s_%s.statement.json", r.iso->name,
				 r.aggs[0], ds);
		snprintf(name[1], sizeof(name[1]), "%s_%s_%s.chart.svg", r.iso->name,
				 r.aggs[0], ds);
		settle_afile_sweep(r.o.out);
		settle_afile_init(&set, r.o.out);
		if (settle_afile_stage(&set, name[0], summary, strlen(summary), &err) != DERMS_OK ||
			settle_afile_stage(&set, name[1], svg, svglen, &err) != DERMS_OK ||
			settle_afile_commit(&set, &err) != DERMS_OK)
			goto fail;
	}
	if (r.o.store != NULL &&
		statement_store(&r, settle_store_agg_find(&r.fleet, r.aggs[0]), summary,
						intervals, svg, sha, &err) != DERMS_OK)
		goto fail;
	printf("%s\n", summary);
	fflush(stdout);
	free(summary);
	free(intervals);
	free(svg);
	xrun_free(&r);
	return rc;

fail:
	free(summary);
	free(intervals);
	free(svg);
	return xfail(&r, &err);
}

/* The subcommands of "dermsctl settle", as data. */
static const struct
{
	const char *name;
	int			(*fn) (const char *conninfo, int argc, char **argv);
}			settle_cmds[] = {
	{"baseline", cmd_baseline},
	{"export", cmd_export},
	{"import", cmd_import},
	{"import-instructions", cmd_import},
	{"import-prices", cmd_import},
	{"statement", cmd_statement},
};

int
settle_ctl_main(const char *conninfo, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
		strcmp(argv[1], "help") == 0)
	{
		fputs(usage_text, argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(settle_cmds) / sizeof(settle_cmds[0]); i++)
		if (strcmp(argv[1], settle_cmds[i].name) == 0)
			return settle_cmds[i].fn(conninfo, argc, argv);
	fprintf(stderr, CTL_PREFIX "unknown command \"%.64s\" (known: baseline, export, import, import-instructions, import-prices, statement)\n",
			argv[1]);
	return 2;
}
