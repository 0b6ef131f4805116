/*
 * settlement/baseline.c
 *	  The baseline methods as one table, and the like-day engine.
 *
 * NOTES
 *	  Section numbers cite the revisions named in DESIGN.md; re-check them
 *	  when a rule document is revised.  What the engine does, in order:
 *	  1. candidates: days from event day - skip_days back to event day -
 *	     lookback_days, of the event day's class, not listed as event or
 *	     dispatch days, with data;
 *	  2. the most recent want_days of them; when low_usage_frac > 0, days
 *	     whose event-period mean is below frac x the mean of that set are
 *	     dropped and replaced by older candidates that pass the same test;
 *	  3. fewer than min_days: error; select_high > 0 keeps the highest N
 *	     by event-period mean (ties: the more recent);
 *	  4. the baseline of each interval is the mean, over the kept days, of
 *	     the interval at the same local clock time (a day lacking that
 *	     time, i.e. a spring-forward day, is left out of that mean);
 *	  5. the day-of adjustment compares actual with baseline over a window
 *	     before the event and scales (RATIO, bounded) or shifts (ADDITIVE)
 *	     every event interval.
 */
#include "baseline.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "settlement/tz.h"

/*
 * The methods.  Field order: name, kind, zone, interval, scheme, weekday
 * {lookback, skip, want, min, high, low-usage}, weekend {...}, adjustment
 * kind, window begin and length (minutes before the event start), factor
 * bounds, meter-before minutes, rule.
 */
static const settle_method settle_methods[] = {
	/*
	 * CAISO Tariff 4.13.4 and BPM for Demand Response sec. 7 (Customer
	 * Load Baseline): weekdays 10-in-10 in a 45-day window (at least 5);
	 * weekends/holidays 4-in-4; load point adjustment from the three hours
	 * ending one hour before the event, capped at +/-20%.
	 */
	{"caiso-10in10", SETTLE_BASE_DAYMATCH, "America/Los_Angeles", 60,
		SETTLE_SCHEME_WEEKDAY_WEEKEND,
		{45, 1, 10, 5, 0, 0.0}, {45, 1, 4, 2, 0, 0.0},
		SETTLE_ADJ_RATIO, 240, 180, 0.8, 1.2, 0,
	"CAISO Tariff 4.13.4; BPM for Demand Response sec. 7.1 (10-in-10, load point adjustment)"},

	/*
	 * PJM OATT Attachment K-Appendix / Operating Agreement Schedule 1 sec.
	 * 3.3A.2 and Manual 11 sec. 10 (Customer Baseline Load): High 4 of 5
	 * weekdays in a 45-day window, low-usage days (< 25% of the average)
	 * excluded; Saturday and Sunday/holiday CBL High 2 of 3; symmetric
	 * additive adjustment over the three hours ending one hour before the
	 * event.
	 */
	{"pjm-cbl", SETTLE_BASE_DAYMATCH, "America/New_York", 60,
		SETTLE_SCHEME_WEEKDAY_SAT_SUN,
		{45, 1, 5, 4, 4, 0.25}, {45, 1, 3, 2, 2, 0.0},
		SETTLE_ADJ_ADDITIVE, 240, 180, 0.0, 0.0, 0,
	"PJM OATT Att. K-Appendix sec. 3.3A.2; PJM Manual 11 sec. 10 (High 4 of 5, SAA)"},

	/*
	 * NYISO Emergency Demand Response Program Manual sec. 5 and ICAP
	 * Manual sec. 4.12 (Average Day CBL): the 10 most recent weekdays in
	 * a 30-day window beginning two days before the event, low-usage
	 * days (< 25% of the average) excluded, the highest 5 averaged;
	 * weekends the highest 2 of the 3 most recent like days; weather-
	 * sensitive adjustment from the two hours beginning four hours before
	 * the event, bounded to 0.8-1.2.
	 */
	{"nyiso-cbl", SETTLE_BASE_DAYMATCH, "America/New_York", 60,
		SETTLE_SCHEME_WEEKDAY_SAT_SUN,
		{30, 2, 10, 5, 5, 0.25}, {30, 2, 3, 2, 2, 0.0},
		SETTLE_ADJ_RATIO, 240, 120, 0.8, 1.2, 0,
	"NYISO EDRP Manual sec. 5; ICAP Manual sec. 4.12 (Average Day CBL, weather-sensitive adjustment)"},

	/*
	 * NAESB WEQ-015 (Measurement and Verification of DR), Meter Before /
	 * Meter After: demand over a period just before deployment, held
	 * through the event.
	 */
	{"mbma", SETTLE_BASE_MBMA, "UTC", 0,
		SETTLE_SCHEME_WEEKDAY_WEEKEND,
		{0, 0, 0, 0, 0, 0.0}, {0, 0, 0, 0, 0, 0.0},
		SETTLE_ADJ_NONE, 0, 0, 0.0, 0.0, 15,
	"NAESB WEQ-015 Meter Before / Meter After"},

	/*
	 * CAISO Tariff 4.13.4 and BPM for Demand Response sec. 7 (Metered
	 * Generator Output, ESDER 1): performance is the device's own meter
	 * less its 10-in-10 baseline (no day-of adjustment); energy exported
	 * past the facility's load earns no credit (DESIGN.md).
	 */
	{"mgo", SETTLE_BASE_MGO, "America/Los_Angeles", 0,
		SETTLE_SCHEME_WEEKDAY_WEEKEND,
		{45, 1, 10, 5, 0, 0.0}, {45, 1, 4, 2, 0, 0.0},
		SETTLE_ADJ_NONE, 0, 0, 0.0, 0.0, 0,
	"CAISO Tariff 4.13.4; BPM for Demand Response sec. 7 (Metered Generator Output)"},
};

#define NMETHODS (sizeof(settle_methods) / sizeof(settle_methods[0]))

const settle_method *
settle_method_find(const char *name)
{
	for (size_t i = 0; i < NMETHODS; i++)
		if (strcmp(settle_methods[i].name, name) == 0)
			return &settle_methods[i];
	return NULL;
}

const char *
settle_method_names(void)
{
	return "caiso-10in10, pjm-cbl, nyiso-cbl, mbma, mgo";
}

int
settle_method_history_days(const settle_method *m)
{
	int			a = m->weekday.lookback_days;
	int			b = m->weekend.lookback_days;

	return a > b ? a : b;
}

/* Per-call working state. */
typedef struct bctx
{
	const settle_method *m;
	const settle_calendar *cal;
	const settle_series *s;
	int32_t		S;
	size_t		evi;			/* event day index */
	int			k0;				/* first event slot */
	int			nk;				/* event slots */
	int			sel[SETTLE_MAX_DAYS_USED + 64];
	double		selmean[SETTLE_MAX_DAYS_USED + 64];
	int			nsel;
} bctx;

/* Value of day di at local index li; false when that time is skipped. */
static bool
value_at(const bctx *c, size_t di, int li, settle_agg *out)
{
	int			slot = settle_calendar_slot(c->cal, di, li);

	if (slot < 0)
		return false;
	settle_series_sum(c->s, c->cal->days[di].start + (int64_t) slot * c->S,
					  c->S, out);
	return true;
}

/* Mean over the event period's local times on day di. */
static double
event_mean(const bctx *c, size_t di)
{
	double		sum = 0.0;
	int			n = 0;

	for (int k = 0; k < c->nk; k++)
	{
		int			li = settle_calendar_local(c->cal, c->evi, c->k0 + k);
		settle_agg	a;

		if (li >= 0 && value_at(c, di, li, &a))
		{
			sum += a.kwh;
			n++;
		}
	}
	return n > 0 ? sum / n : 0.0;
}

/* Mean of the selected days at local index li. */
static bool
profile(const bctx *c, int li, double *v, bool *est)
{
	double		sum = 0.0;
	int			n = 0;

	for (int i = 0; i < c->nsel; i++)
	{
		settle_agg	a;

		if (value_at(c, (size_t) c->sel[i], li, &a))
		{
			sum += a.kwh;
			n++;
			if (a.estimated)
				*est = true;
		}
	}
	if (n == 0)
		return false;
	*v = sum / n;
	return true;
}

static derms_rc
select_days(bctx *c, derms_err *err)
{
	const settle_day *ev = &c->cal->days[c->evi];
	settle_day_class cls = settle_day_classify(ev, c->m->scheme);
	const settle_daymatch *p = (cls == SETTLE_CLASS_WEEKDAY)
		? &c->m->weekday : &c->m->weekend;
	int			cand[400];
	double		cmean[400];
	int			ncand = 0;
	double		threshold = 0.0;
	int			next;

	assert(p->want_days <= SETTLE_MAX_DAYS_USED);
	for (int back = p->skip_days; back <= p->lookback_days && ncand < 400; back++)
	{
		long		di = (long) c->evi - back;
		const settle_day *d;

		if (di < 0)
			break;
		d = &c->cal->days[di];
		if (settle_day_classify(d, c->m->scheme) != cls || d->event ||
			!settle_series_covers_any(c->s, d->start, d->end))
			continue;
		cand[ncand] = (int) di;
		cmean[ncand] = event_mean(c, (size_t) di);
		ncand++;
	}
	c->nsel = 0;
	next = 0;
	while (next < ncand && c->nsel < p->want_days)
	{
		c->sel[c->nsel] = cand[next];
		c->selmean[c->nsel++] = cmean[next++];
	}
	if (p->low_usage_frac > 0.0 && c->nsel > 0)
	{
		double		sum = 0.0;
		int			kept = 0;

		for (int i = 0; i < c->nsel; i++)
			sum += c->selmean[i];
		threshold = p->low_usage_frac * (sum / c->nsel);
		for (int i = 0; i < c->nsel; i++)
			if (c->selmean[i] >= threshold)
			{
				c->sel[kept] = c->sel[i];
				c->selmean[kept++] = c->selmean[i];
			}
		c->nsel = kept;
		for (; next < ncand && c->nsel < p->want_days; next++)
			if (cmean[next] >= threshold)
			{
				c->sel[c->nsel] = cand[next];
				c->selmean[c->nsel++] = cmean[next];
			}
	}
	if (c->nsel < p->min_days || c->nsel == 0)
	{
		char		ds[SETTLE_TIME_STRMAX];

		settle_fmt_date(ev->day, ds);
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "not enough history for resource \"%s\": %d eligible like days before %s, need %d",
							 c->s->name, c->nsel, ds,
							 p->min_days > 0 ? p->min_days : 1);
	}
	if (p->select_high > 0 && c->nsel > p->select_high)
	{
		/* insertion sort, highest first; stable keeps recent-first ties */
		for (int i = 1; i < c->nsel; i++)
		{
			int			d = c->sel[i];
			double		v = c->selmean[i];
			int			j = i - 1;

			while (j >= 0 && c->selmean[j] < v)
			{
				c->sel[j + 1] = c->sel[j];
				c->selmean[j + 1] = c->selmean[j];
				j--;
			}
			c->sel[j + 1] = d;
			c->selmean[j + 1] = v;
		}
		c->nsel = p->select_high;
	}
	return DERMS_OK;
}

/* Day-of adjustment over the method's window; fills factor or shift. */
static derms_rc
adjustment(bctx *c, double *factor, double *shift, bool *est,
		   derms_err *err)
{
	const settle_day *ev = &c->cal->days[c->evi];
	int64_t		ev_start = ev->start + (int64_t) c->k0 * c->S;
	int64_t		w0 = ev_start - (int64_t) c->m->adj_begin_min * 60;
	int64_t		w1 = w0 + (int64_t) c->m->adj_len_min * 60;
	double		sa = 0.0,
				sb = 0.0;
	int			n = 0;

	*factor = 1.0;
	*shift = 0.0;
	if (c->m->adj == SETTLE_ADJ_NONE)
		return DERMS_OK;
	if (w0 < ev->start)
		return derms_err_set(err, DERMS_EINVAL,
							 "the adjustment window (%d minutes before the event) starts before the trading day",
							 c->m->adj_begin_min);
	if (!settle_series_covers_all(c->s, w0, w1))
		return derms_err_set(err, DERMS_EINVAL,
							 "the adjustment window before the event is outside the data for resource \"%s\"",
							 c->s->name);
	for (int64_t t = w0; t < w1; t += c->S)
	{
		int			slot = (int) ((t - ev->start) / c->S);
		int			li = settle_calendar_local(c->cal, c->evi, slot);
		settle_agg	a;
		double		b;

		settle_series_sum(c->s, t, c->S, &a);
		if (li < 0 || !profile(c, li, &b, est))
			continue;
		if (a.estimated)
			*est = true;
		sa += a.kwh;
		sb += b;
		n++;
	}
	if (n == 0)
		return DERMS_OK;
	if (c->m->adj == SETTLE_ADJ_ADDITIVE)
		*shift = (sa - sb) / n;
	else if (sb > 0.0)
	{
		double		f = sa / sb;

		if (f < c->m->adj_min)
			f = c->m->adj_min;
		if (f > c->m->adj_max)
			f = c->m->adj_max;
		*factor = f;
	}
	return DERMS_OK;
}

static derms_rc
compute_mbma(bctx *c, settle_row *rows, derms_err *err)
{
	const settle_day *ev = &c->cal->days[c->evi];
	int64_t		ev_start = ev->start + (int64_t) c->k0 * c->S;
	int64_t		before = ((int64_t) c->m->before_min * 60 + c->S - 1) / c->S * c->S;
	double		sum = 0.0;
	int			n = 0;
	bool		est = false;

	if (!settle_series_covers_all(c->s, ev_start - before, ev_start))
		return derms_err_set(err, DERMS_EINVAL,
							 "the meter-before window is outside the data for resource \"%s\"",
							 c->s->name);
	for (int64_t t = ev_start - before; t < ev_start; t += c->S)
	{
		settle_agg	a;

		settle_series_sum(c->s, t, c->S, &a);
		sum += a.kwh;
		est = est || a.estimated;
		n++;
	}
	for (int k = 0; k < c->nk; k++)
	{
		rows[k].baseline = sum / n;
		if (est)
			rows[k].flags |= SETTLE_F_EST_BASELINE;
	}
	return DERMS_OK;
}

derms_rc
settle_baseline_compute(const settle_method *m, const settle_calendar *cal,
						const settle_series *s, int64_t ev_start,
						int64_t ev_end, settle_row *rows,
						settle_baseline_info *info, derms_err *err)
{
	bctx		c;
	const settle_day *ev;
	double		factor = 1.0,
				shift = 0.0;
	bool		adj_est = false;
	derms_rc	rc;

	assert(m != NULL && cal != NULL && s != NULL && rows != NULL);
	assert(cal->ndays > 0 && s->n > 0);
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.cal = cal;
	c.s = s;
	c.S = cal->interval_s;
	c.evi = cal->ndays - 1;
	ev = &cal->days[c.evi];
	assert(ev_start >= ev->start && ev_end <= ev->end && ev_start < ev_end);
	assert((ev_start - ev->start) % c.S == 0 && (ev_end - ev_start) % c.S == 0);
	c.k0 = (int) ((ev_start - ev->start) / c.S);
	c.nk = (int) ((ev_end - ev_start) / c.S);

	if (c.S % s->len_s != 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "resource \"%s\" has %d-minute data; cannot settle at %d-minute intervals",
							 s->name, (int) (s->len_s / 60), (int) (c.S / 60));
	if (!settle_series_covers_all(s, ev_start, ev_end))
		return derms_err_set(err, DERMS_EINVAL,
							 "the event is outside the data for resource \"%s\"",
							 s->name);
	for (int k = 0; k < c.nk; k++)
	{
		settle_agg	a;

		memset(&rows[k], 0, sizeof(rows[k]));
		rows[k].start = ev_start + (int64_t) k * c.S;
		settle_series_sum(s, rows[k].start, c.S, &a);
		rows[k].actual = a.kwh;
		if (a.estimated)
			rows[k].flags |= SETTLE_F_EST_ACTUAL;
	}

	if (m->kind == SETTLE_BASE_MBMA)
		rc = compute_mbma(&c, rows, err);
	else
	{
		rc = select_days(&c, err);
		if (rc == DERMS_OK)
			rc = adjustment(&c, &factor, &shift, &adj_est, err);
		for (int k = 0; rc == DERMS_OK && k < c.nk; k++)
		{
			int			li = settle_calendar_local(cal, c.evi, c.k0 + k);
			bool		est = adj_est;
			double		b = 0.0;

			if (li < 0 || !profile(&c, li, &b, &est))
				est = true;		/* no like day has this clock time */
			rows[k].baseline = b;
			rows[k].adjustment = m->adj == SETTLE_ADJ_ADDITIVE
				? shift : b * (factor - 1.0);
			if (est)
				rows[k].flags |= SETTLE_F_EST_BASELINE;
		}
	}
	if (rc != DERMS_OK)
		return rc;
	for (int k = 0; k < c.nk; k++)
	{
		double		adjusted = rows[k].baseline + rows[k].adjustment;

		rows[k].delivered = m->kind == SETTLE_BASE_MGO
			? rows[k].actual - adjusted : adjusted - rows[k].actual;
	}
	if (info != NULL)
	{
		memset(info, 0, sizeof(*info));
		info->ndays = c.nsel;
		for (int i = 0; i < c.nsel && i < SETTLE_MAX_DAYS_USED; i++)
			info->days[i] = cal->days[c.sel[i]].day;
		info->factor = factor;
		info->additive = shift;
	}
	return DERMS_OK;
}
