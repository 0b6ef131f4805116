/*
 * dispatch/repair.c
 *	  Primal recovery: block coordinate descent over the devices.  Each
 *	  device in turn is taken out of the fleet and re-solved exactly
 *	  (storage_dp.c, piecewise stage costs) against its energy price, its
 *	  own costs, and what the rest of the fleet leaves: the residual of the
 *	  target and the room left under its feeder's limits.
 *
 * NOTES
 *	  With duals y, the fleet objective splits into the devices'
 *	  Lagrangian terms plus, per interval, the mismatch excess
 *	  E_t(u) = (pen_short dt - y_t) max(u, 0) + (pen_surplus dt + y_t)
 *	  max(-u, 0) of the residual u = target - net.  A device that covers a
 *	  residual pays its reduced cost and saves excess.
 *
 *	  Soft phase.  Early sweeps replace the excess by a convex
 *	  piecewise-linear bowl around the residual: on a grid of one
 *	  sixteenth of the device's power range, the slope at j steps from r
 *	  is soft * j / 16 (3 steps each side get their own kink; the pieces
 *	  beyond take the slope at their midpoint), capped at kappa.  soft and
 *	  kappa grow by half every sweep from a small fraction of the price.
 *	  Under the exact L1 excess a device covers the whole residual or none
 *	  of it, so whichever device is swept first takes it at full power,
 *	  and the sweeps end where one device discharges while another charges
 *	  to cover it (no single device can leave that point).  Under the bowl
 *	  a device takes only what is worth its own cost at the current
 *	  slope, so the residual is shared and such crossings do not form.
 *	  Once kappa passes the true slopes, every step is exact block descent
 *	  on the true objective and is kept only when it lowers it, so the cost
 *	  never rises after that.  Feeder limits always carry their full
 *	  penalty.
 *
 *	  After every sweep exchange.c nets out what crosses (pairs of devices
 *	  in one interval, one discharging, one charging): the sums do not
 *	  change and the wear falls.
 *
 *	  In the stored-energy change d a device's net injection is
 *	  p = -d / (eta_c dt) when charging and -d eta_d / dt when discharging,
 *	  so a stage cost convex in p is convex in d on each side of 0; where
 *	  it is not convex across 0 the lower hull is used, which charging and
 *	  discharging within the same interval achieves (the LP allows it).
 *
 *	  Batteries and EV sessions are re-solved, PV in closed form; flexible
 *	  loads and batteries with several cycle-depth segments keep the
 *	  schedule they have.  Reserve rows are priced by rho only.  Runs on
 *	  the calling thread; deterministic.  With o->trace, one line per
 *	  sweep goes to stderr (the coordinator's DERMS_DISPATCH_TRACE).
 *
 *	  Measured on tier S seed 1 (CLP's optimum 5886.7, bound 5886.75):
 *	  exact L1 sweeps alone stopped at 6122.9 (EFC 756 against CLP's
 *	  451); with the exchange 6107.6; with the soft phase and the exchange
 *	  after every sweep 5928.8 (0.7 %) in about 22 sweeps.  What is left is
 *	  wear from crossings that only a chain of moves over several devices
 *	  or intervals would undo.  The coordinator therefore keeps its own
 *	  master as well and returns the cheaper schedule.
 */
#include "repair.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/degrade.h"
#include "dispatch/exchange.h"
#include "dispatch/storage_dp.h"

#define KAPPA_START 1e-3		/* first cap, relative to the mean price */
#define KAPPA_GROWTH 1.5		/* the cap grows this much per sweep */
#define WARM_KAPPA 0.1			/* warm start: first kappa, per true slope */
#define SOFT_START 0.25			/* soft slope one range off r, per kappa */
#define SOFT_GRID 16.0			/* soft phase: grid steps per device range */
#define SOFT_KINKS 3			/* soft phase: grid kinks each side of r */

typedef struct rep
{
	const dispatch_instance *in;
	const dispatch_repair_opts *o;
	int			T;
	double		kappa;			/* cap of the excess slopes; INFINITY = true */
	double		soft;			/* soft phase: slope one range off r */
	double	   *S;				/* [T] fleet net injection */
	double	   *Gn;				/* [G * T] group net injection */
	dispatch_dp *dp;
	dispatch_dp_pstep *st;		/* [T] */
	double	   *mlo,
			   *mhi;			/* [T] hull bridge across d = 0, or NAN */
	double	   *d,
			   *x,
			   *pc,
			   *pd,
			   *e;				/* [T] scratch */
} rep;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The view of interval t that device i sees (others' sums, no device i). */
typedef struct view
{
	int			has_target;
	double		r;				/* target residual, MW */
	double		sh,
				su;				/* excess slopes (capped) */
	double		base;			/* linear price per MW injected */
	double		fu,
				fl;				/* feeder room above / below, MW */
	double		pf;				/* feeder penalty per MW */
	double		kdeg;			/* degradation per MW discharged */
	double		qs;				/* soft phase: excess slope per MW off r */
	double		qh;				/* soft phase: grid of the excess, MW */
} view;

static void
make_view(const rep *R, const dispatch_resource *res, int t, double kdeg,
		  double eta_d, view *v)
{
	const dispatch_instance *in = R->in;
	double		dt = in->dt,
				y = R->o->y[t];

	v->has_target = !isnan(in->target[t]);
	v->r = v->has_target ? in->target[t] - R->S[t] : 0.0;
	if (!v->has_target)
		y = 0.0;
	v->base = -(dt * in->price[t] + y);
	v->sh = fmin(R->kappa, in->pen_shortfall * dt - y);
	v->su = fmin(R->kappa, in->pen_surplus * dt + y);
	v->fu = INFINITY;
	v->fl = -INFINITY;
	v->pf = in->pen_feeder * dt;
	if (in->ngroups > 0)
	{
		const dispatch_group *g = &in->groups[res->group];
		double		o = R->Gn[(size_t) res->group * R->T + t];

		v->fu = g->export_limit - o;
		v->fl = -g->import_limit - o;
	}
	v->kdeg = kdeg * dt / eta_d;
	v->qs = 0.0;
	v->qh = 0.0;
	if (R->soft > 0.0 && isfinite(R->kappa))
	{
		double		span = res->p_charge + res->p_discharge;

		if (span > 0.0)
		{
			v->qh = span / SOFT_GRID;
			v->qs = R->soft / span;
		}
	}
}

/* Slope in p of the stage cost at p (not at a kink). */
static double
view_slope(const view *v, double p)
{
	double		g = v->base;

	if (p > 0.0)
		g += v->kdeg;
	if (v->has_target && v->qs > 0.0)
	{
		double		j = rint((p - v->r) / v->qh);

		g += fmin(fmax(v->qs * j * v->qh, -v->sh), v->su);
	}
	else if (v->has_target)
		g += p < v->r ? -v->sh : v->su;
	if (p > v->fu)
		g += v->pf;
	if (p < v->fl)
		g -= v->pf;
	return g;
}

/* True stage cost of injecting p at t (degradation counted elsewhere). */
static double
true_cost(const rep *R, const dispatch_resource *res, int t, double p)
{
	const dispatch_instance *in = R->in;
	double		dt = in->dt,
				c = -dt * in->price[t] * p;

	if (!isnan(in->target[t]))
	{
		double		u = in->target[t] - R->S[t] - p;

		c += u > 0 ? in->pen_shortfall * dt * u : -in->pen_surplus * dt * u;
	}
	if (in->ngroups > 0)
	{
		const dispatch_group *g = &in->groups[res->group];
		double		n = R->Gn[(size_t) res->group * R->T + t] + p;

		if (n > g->export_limit)
			c += in->pen_feeder * dt * (n - g->export_limit);
		else if (-n > g->import_limit)
			c += in->pen_feeder * dt * (-n - g->import_limit);
	}
	return c;
}

static void
add_kink(double *k, int *n, double p, double lo, double hi)
{
	if (p > lo && p < hi && isfinite(p))
		k[(*n)++] = p;
}

/*
 * Stage cost of a storage step in d: p in [-Pc, Pd] maps to d in
 * [-B, A], reversed.  Fills st (n, b, s) with the lower convex hull and
 * *ml, *mh with the bridge across 0 when the hull has one.
 */
static void
storage_pieces(const view *v, double Pc, double Pd, double eta_c,
			   double eta_d, double dt, dispatch_dp_pstep *st, double *ml,
			   double *mh)
{
	double		kp[16],
				xd[16],
				hd[16];
	int			nk = 0,
				np = 0,
				nh = 0;
	double		ptsd[16],
				ptsh[16];

	kp[nk++] = -Pc;
	add_kink(kp, &nk, 0.0, -Pc, Pd);
	if (v->has_target && v->qs > 0.0)
	{
		for (int j = -SOFT_KINKS; j < SOFT_KINKS; j++)
			add_kink(kp, &nk, v->r + (j + 0.5) * v->qh, -Pc, Pd);
	}
	else if (v->has_target)
		add_kink(kp, &nk, v->r, -Pc, Pd);
	add_kink(kp, &nk, v->fu, -Pc, Pd);
	add_kink(kp, &nk, v->fl, -Pc, Pd);
	kp[nk++] = Pd;
	/* at most a dozen kinks: insertion sort */
	for (int j = 1; j < nk; j++)
	{
		double		v0 = kp[j];
		int			q = j;

		while (q > 0 && kp[q - 1] > v0)
		{
			kp[q] = kp[q - 1];
			q--;
		}
		kp[q] = v0;
	}
	/* points in d, ascending (p descending), with values */
	for (int j = nk - 1; j >= 0; j--)
	{
		double		p = kp[j],
					dd = p >= 0.0 ? -p * dt / eta_d : -p * eta_c * dt;

		if (np > 0 && dd - xd[np - 1] <= 1e-15)
			continue;
		if (np == 0)
			hd[np] = 0.0;
		else
		{
			double		pm = (kp[j] + kp[j + 1]) / 2.0,
						g = view_slope(v, pm),
						sd = pm >= 0.0 ? -g * eta_d / dt : -g / (eta_c * dt);

			hd[np] = hd[np - 1] + sd * (dd - xd[np - 1]);
		}
		xd[np++] = dd;
	}
	/* lower hull (monotone chain) */
	for (int j = 0; j < np; j++)
	{
		while (nh >= 2)
		{
			double		x1 = ptsd[nh - 2],
						y1 = ptsh[nh - 2],
						x2 = ptsd[nh - 1],
						y2 = ptsh[nh - 1];

			/* drop the middle point when it lies above the chord */
			if ((y2 - y1) * (xd[j] - x1) > (hd[j] - y1) * (x2 - x1))
				nh--;
			else
				break;
		}
		ptsd[nh] = xd[j];
		ptsh[nh++] = hd[j];
	}
	*ml = *mh = NAN;
	if (nh < 2)
	{
		/* a single point: no freedom in this step */
		st->n = 1;
		st->b[0] = st->b[1] = xd[0];
		st->s[0] = 0.0;
		return;
	}
	st->n = nh - 1;
	for (int j = 0; j < nh; j++)
		st->b[j] = ptsd[j];
	for (int j = 0; j + 1 < nh; j++)
	{
		st->s[j] = (ptsh[j + 1] - ptsh[j]) / (ptsd[j + 1] - ptsd[j]);
		if (j > 0 && st->s[j] < st->s[j - 1])
			st->s[j] = st->s[j - 1];	/* rounding */
		if (ptsd[j] < 0.0 && ptsd[j + 1] > 0.0)
		{
			*ml = ptsd[j];
			*mh = ptsd[j + 1];
		}
	}
}

/* Split a stored-energy change into stored charge a and discharge b. */
static void
split(double d, double ml, double mh, double *a, double *b)
{
	if (!isnan(ml) && d > ml && d < mh)
	{
		double		lam = (mh - d) / (mh - ml);

		*b = -lam * ml;
		*a = (1.0 - lam) * mh;
		return;
	}
	*a = fmax(d, 0.0);
	*b = fmax(-d, 0.0);
}

/*
 * Re-solve storage device i over [t0, t1) from e0 (need at the end),
 * into R->pc/pd/e; *degr and *efc get its wear.  Returns 0, or -1 when
 * the DP fails (then the device keeps its schedule).
 */
static int
solve_storage(rep *R, const dispatch_resource *res, int t0, int t1,
			  double e0, double need, double rr, double *degr, double *efc)
{
	const dispatch_instance *in = R->in;
	double		dt = in->dt,
				k = dispatch_degr_segment_cost(res, 0);
	int			n = t1 - t0;

	for (int q = 0; q < n; q++)
	{
		int			t = t0 + q;
		dispatch_dp_pstep *st = &R->st[q];
		view		v;

		make_view(R, res, t, k, res->eta_d, &v);
		storage_pieces(&v, res->p_charge, res->p_discharge, res->eta_c,
					   res->eta_d, dt, st, &R->mlo[q], &R->mhi[q]);
		st->r = rr;
		st->lo = res->e_min;
		st->hi = res->e_max;
		st->rho = (res->kind == DISPATCH_BATTERY && R->o->rho) ? R->o->rho[t] : 0.0;
	}
	if (need > R->st[n - 1].lo)
		R->st[n - 1].lo = need;
	if (dispatch_dp_solve_pwl(R->dp, R->st, n, e0, R->d, R->x, NULL) != DERMS_OK)
		return -1;
	for (int q = 0; q < n; q++)
	{
		int			t = t0 + q;
		double		a,
					b;

		split(R->d[q], R->mlo[q], R->mhi[q], &a, &b);
		R->pc[t] = a / (res->eta_c * dt);
		R->pd[t] = b * res->eta_d / dt;
		R->e[t] = R->x[q];
		*degr += k * b;
		*efc += b / res->capacity;
	}
	return 0;
}

/* PV: the cheapest output in [floor, available] at each interval. */
static void
solve_pv(rep *R, const dispatch_resource *res)
{
	for (int t = 0; t < R->T; t++)
	{
		double		hi = res->profile[t],
					lo = res->curtailable ? 0.0 : hi,
					cand[4],
					best = lo,
					bc;
		int			nc = 0;

		R->pc[t] = R->e[t] = 0.0;
		if (!isnan(R->in->target[t]))
			cand[nc++] = R->in->target[t] - R->S[t];
		if (R->in->ngroups > 0)
		{
			const dispatch_group *g = &R->in->groups[res->group];
			double		o = R->Gn[(size_t) res->group * R->T + t];

			cand[nc++] = g->export_limit - o;
			cand[nc++] = -g->import_limit - o;
		}
		cand[nc++] = hi;
		bc = true_cost(R, res, t, lo);
		for (int j = 0; j < nc; j++)
		{
			double		p = fmin(fmax(cand[j], lo), hi),
						c = true_cost(R, res, t, p);

			if (c < bc - 1e-12)
			{
				bc = c;
				best = p;
			}
		}
		R->pd[t] = best;
	}
}

/* Move device i's contribution in or out of the sums. */
static void
account(rep *R, const dispatch_resource *res, const double *pc,
		const double *pd, double sign)
{
	double	   *gn = R->in->ngroups > 0 ? &R->Gn[(size_t) res->group * R->T] : NULL;

	for (int t = 0; t < R->T; t++)
	{
		double		p = sign * (pd[t] - pc[t]);

		R->S[t] += p;
		if (gn)
			gn[t] += p;
	}
}

/* Re-solve device i; keep the result when it does not cost more (true
 * slopes) or always (capped slopes). */
static void
step_device(rep *R, dispatch_schedule *s, int i)
{
	const dispatch_instance *in = R->in;
	const dispatch_resource *res = &in->res[i];
	int			T = R->T;
	size_t		k0 = (size_t) i * T;
	double	   *pc = &s->pc[k0],
			   *pd = &s->pd[k0],
			   *e = &s->e[k0];
	double		degr = 0.0,
				efc = 0.0,
				before,
				after;

	if (res->kind == DISPATCH_FLEX ||
		(res->kind == DISPATCH_BATTERY && dispatch_degr_nsegments(res) > 1))
		return;
	account(R, res, pc, pd, -1.0);
	switch (res->kind)
	{
		case DISPATCH_BATTERY:
			if (solve_storage(R, res, 0, T, res->e_init, res->e_final_min,
							  dispatch_retention(res, in->dt), &degr, &efc) < 0)
				goto keep;
			break;
		case DISPATCH_EV:
			memset(R->pc, 0, sizeof(double) * (size_t) T);
			memset(R->pd, 0, sizeof(double) * (size_t) T);
			memset(R->e, 0, sizeof(double) * (size_t) T);
			for (int q = 0; q < res->nsessions; q++)
			{
				const dispatch_session *x = &res->sessions[q];

				if (solve_storage(R, res, x->arrive, x->depart, x->e_arrive,
								  x->e_need, 1.0, &degr, &efc) < 0)
					goto keep;
			}
			break;
		case DISPATCH_PV:
			solve_pv(R, res);
			break;
		case DISPATCH_FLEX:
			goto keep;
	}
	before = s->degr_cost[i];
	after = degr;
	for (int t = 0; t < T; t++)
	{
		before += true_cost(R, res, t, pd[t] - pc[t]);
		after += true_cost(R, res, t, R->pd[t] - R->pc[t]);
	}
	if (isinf(R->kappa) && !(after < before - 1e-12 * (1.0 + fabs(before))))
		goto keep;
	memcpy(pc, R->pc, sizeof(double) * (size_t) T);
	memcpy(pd, R->pd, sizeof(double) * (size_t) T);
	memcpy(e, R->e, sizeof(double) * (size_t) T);
	s->degr_cost[i] = degr;
	s->efc[i] = efc;
keep:
	account(R, res, pc, pd, 1.0);
}

int
dispatch_repair(const dispatch_instance *in, dispatch_schedule *s,
				const dispatch_repair_opts *o)
{
	rep			R;
	int			T = in->T,
				sweep = 0;
	double		price = 0.0,
				full;
	size_t		G = in->ngroups > 0 ? (size_t) in->ngroups : 1;

	assert(s->nres == in->nres && s->T == T && o->y != NULL);
	memset(&R, 0, sizeof(R));
	R.in = in;
	R.o = o;
	R.T = T;
	R.S = calloc((size_t) T, sizeof(double));
	R.Gn = calloc(G * T, sizeof(double));
	R.dp = dispatch_dp_new(T);
	R.st = malloc(sizeof(dispatch_dp_pstep) * (size_t) T);
	R.mlo = malloc(sizeof(double) * 7 * (size_t) T);
	if (!R.S || !R.Gn || !R.dp || !R.st || !R.mlo)
	{
		sweep = -1;
		goto out;
	}
	R.mhi = R.mlo + T;
	R.d = R.mlo + 2 * T;
	R.x = R.mlo + 3 * T;
	R.pc = R.mlo + 4 * T;
	R.pd = R.mlo + 5 * T;
	R.e = R.mlo + 6 * T;
	for (int i = 0; i < in->nres; i++)
		account(&R, &in->res[i], &s->pc[(size_t) i * T],
				&s->pd[(size_t) i * T], 1.0);
	for (int t = 0; t < T; t++)
		price += fabs(in->dt * in->price[t] +
					  (isnan(in->target[t]) ? 0.0 : o->y[t])) / T;
	full = in->dt * fmax(in->pen_shortfall, in->pen_surplus);
	R.kappa = KAPPA_START * fmax(price, 1e-4 * full);
	R.soft = SOFT_START * R.kappa;
	if (o->warm)
	{
		/* a short soft phase: long ones undo the start, none leaves the
		 * re-priced devices' crossings (tier S: 0.14 % dearer than cold) */
		R.kappa = WARM_KAPPA * full;
		R.soft = SOFT_START * R.kappa;
	}
	dispatch_schedule_evaluate(in, s);
	while (sweep < o->max_sweeps)
	{
		double		ub = s->cost.total;

		if ((ub - o->lower_bound) <= o->gap_tolerance *
			fmax(fmax(fabs(ub), fabs(o->lower_bound)), 1.0))
			break;
		if (o->deadline > 0 && now() > o->deadline)
			break;
		for (int j = 0; j < in->nres; j++)
			step_device(&R, s, o->order ? o->order[j] : j);
		sweep++;
		dispatch_schedule_evaluate(in, s);
		if (o->trace)
			fprintf(stderr, "dispatch: repair sweep %d kappa %g cost %.6f "
					"(degradation %.4f, deviation %.4f, feeder %.4f)\n",
					sweep, R.kappa, s->cost.total, s->cost.degradation,
					s->cost.shortfall, s->cost.feeder);
		/* pairwise exchange: net out what the sweep left crossing */
		{
			int			moves = 0;
			double		saved = dispatch_exchange_net(in, s, &moves);

			if (saved < 0.0)
			{
				sweep = -1;
				goto out;
			}
			if (o->trace)
				fprintf(stderr, "dispatch: exchange %d moves saved %.6f\n",
						moves, saved);
			if (moves > 0)
			{
				memset(R.S, 0, sizeof(double) * (size_t) T);
				memset(R.Gn, 0, sizeof(double) * G * T);
				for (int i = 0; i < in->nres; i++)
					account(&R, &in->res[i], &s->pc[(size_t) i * T],
							&s->pd[(size_t) i * T], 1.0);
				dispatch_schedule_evaluate(in, s);
			}
			if (isinf(R.kappa) && s->cost.total >= ub - 1e-9 * fmax(fabs(ub), 1.0))
				break;			/* a fixed point of descent and exchange */
		}
		R.kappa *= KAPPA_GROWTH;
		R.soft *= KAPPA_GROWTH;
		if (R.kappa >= full)
			R.kappa = INFINITY;
	}
out:
	dispatch_dp_free(R.dp);
	free(R.S);
	free(R.Gn);
	free(R.st);
	free(R.mlo);
	return sweep;
}
