/*
 * dispatch/exchange.c
 *	  Pairwise exchange moves that net out opposite flows.  In interval t
 *	  device A discharges (grid side) and device B charges: lowering A's
 *	  discharge and B's charge by the same delta leaves the fleet's net
 *	  injection, and so every target and price term, unchanged, and saves
 *	  A's wear on delta.  A then holds delta dt / eta_d more energy from t
 *	  on, B delta dt eta_c less; the move is as large as both state paths
 *	  allow.  A device that charges and discharges in the same interval is
 *	  netted with itself the same way.
 *
 * NOTES
 *	  Why this exists: block descent over single devices (repair.c) stops
 *	  where one device discharges while another charges to cover it; no
 *	  single device can leave that point without paying the deviation
 *	  penalty, the pair can.
 *
 *	  Slack arrays: up[i][t] is the most stored energy device i can gain
 *	  at t and keep (decayed by its retention) until the end of its
 *	  horizon (battery) or session (EV) without passing e_max; lo[i][t]
 *	  the most it can lose without passing e_min or the energy needed at
 *	  the end.  Both are suffix minima, recomputed for a device after each
 *	  move on it.
 *
 *	  Pairs in different feeder groups move each group's net by delta:
 *	  the move is capped so that neither group passes its limit.  With
 *	  reserve targets, only self-netting runs (it only raises the energy
 *	  held).  Batteries with several cycle-depth segments are left alone
 *	  (their wear is not per MWh).  Deterministic; one thread.
 */
#include "exchange.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/degrade.h"

#define EX_EPS 1e-10			/* MW below which a flow counts as zero */

typedef struct ex
{
	const dispatch_instance *in;
	dispatch_schedule *s;
	int			T;
	double	   *up,
			   *lo;				/* [nres * T] */
	double	   *gn;				/* [G * T] group net injection */
	double	   *wear;			/* [nres] $ per MWh discharged (grid side) */
	int		   *dis,
			   *chg;			/* candidates at one interval */
} ex;

/* The horizon segment [*a, *b) of device i holding t; 0 when none. */
static int
segment(const dispatch_instance *in, int i, int t, int *a, int *b,
		double *need, double *r)
{
	const dispatch_resource *x = &in->res[i];

	if (x->kind == DISPATCH_BATTERY)
	{
		*a = 0;
		*b = in->T;
		*need = x->e_final_min;
		*r = dispatch_retention(x, in->dt);
		return 1;
	}
	if (x->kind != DISPATCH_EV)
		return 0;
	for (int q = 0; q < x->nsessions; q++)
		if (t >= x->sessions[q].arrive && t < x->sessions[q].depart)
		{
			*a = x->sessions[q].arrive;
			*b = x->sessions[q].depart;
			*need = x->sessions[q].e_need;
			*r = 1.0;
			return 1;
		}
	return 0;
}

/* Recompute device i's slacks on the segment holding t. */
static void
slacks(ex *X, int i, int t)
{
	const dispatch_resource *x = &X->in->res[i];
	const double *e = &X->s->e[(size_t) i * X->T];
	double	   *up = &X->up[(size_t) i * X->T],
			   *lo = &X->lo[(size_t) i * X->T];
	double		need,
				r,
				u = INFINITY,
				l = INFINITY;
	int			a,
				b;

	if (!segment(X->in, i, t, &a, &b, &need, &r))
		return;
	for (int q = b - 1; q >= a; q--)
	{
		double		floor_ = (q == b - 1) ? fmax(x->e_min, need) : x->e_min;

		u = fmin(x->e_max - e[q], u / r);
		l = fmin(e[q] - floor_, l / r);
		up[q] = fmax(u, 0.0);
		lo[q] = fmax(l, 0.0);
	}
}

/* Add stored energy de at t (decaying) to device i's path. */
static void
shift_energy(ex *X, int i, int t, double de)
{
	double	   *e = &X->s->e[(size_t) i * X->T];
	double		need,
				r;
	int			a,
				b;

	if (!segment(X->in, i, t, &a, &b, &need, &r))
		return;
	for (int q = t; q < b; q++)
	{
		e[q] += de;
		de *= r;
	}
	slacks(X, i, t);
}

static int
eligible(const dispatch_resource *x)
{
	if (x->kind == DISPATCH_EV)
		return 1;
	return x->kind == DISPATCH_BATTERY && dispatch_degr_nsegments(x) == 1;
}

/* Candidates of interval t sorted by wear, dearest first. */
static int
cmp_wear(const void *pa, const void *pb, void *arg)
{
	const ex   *X = arg;
	int			a = *(const int *) pa,
				b = *(const int *) pb;
	double		wa = X->wear[a],
				wb = X->wear[b];

	if (wa != wb)
		return wa > wb ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* Lower A's discharge and B's charge at t by delta. */
static void
apply(ex *X, int A, int B, int t, double delta)
{
	const dispatch_instance *in = X->in;
	const dispatch_resource *ra = &in->res[A],
			   *rb = &in->res[B];
	size_t		ka = (size_t) A * X->T + t,
				kb = (size_t) B * X->T + t;
	double		dt = in->dt,
				da = delta * dt / ra->eta_d;

	X->s->pd[ka] = fmax(X->s->pd[ka] - delta, 0.0);
	X->s->pc[kb] = fmax(X->s->pc[kb] - delta, 0.0);
	X->s->degr_cost[A] -= X->wear[A] * delta * dt;
	X->s->efc[A] -= da / ra->capacity;
	if (A == B)
		shift_energy(X, A, t, da - delta * dt * rb->eta_c);
	else
	{
		shift_energy(X, A, t, da);
		shift_energy(X, B, t, -delta * dt * rb->eta_c);
		if (in->ngroups > 0 && ra->group != rb->group)
		{
			X->gn[(size_t) ra->group * X->T + t] -= delta;
			X->gn[(size_t) rb->group * X->T + t] += delta;
		}
	}
}

/* The largest delta for pair (A, B) at t. */
static double
room(const ex *X, int A, int B, int t)
{
	const dispatch_instance *in = X->in;
	const dispatch_resource *ra = &in->res[A],
			   *rb = &in->res[B];
	size_t		ka = (size_t) A * X->T + t,
				kb = (size_t) B * X->T + t;
	double		dt = in->dt,
				d = fmin(X->s->pd[ka], X->s->pc[kb]);

	if (A == B)
	{
		double		gain = dt * (1.0 / ra->eta_d - rb->eta_c);

		if (gain > 0.0)
			d = fmin(d, X->up[ka] / gain);
		return d;
	}
	d = fmin(d, X->up[ka] * ra->eta_d / dt);
	d = fmin(d, X->lo[kb] / (dt * rb->eta_c));
	if (in->ngroups > 0 && ra->group != rb->group)
	{
		const dispatch_group *ga = &in->groups[ra->group],
				   *gb = &in->groups[rb->group];

		d = fmin(d, X->gn[(size_t) ra->group * X->T + t] + ga->import_limit);
		d = fmin(d, gb->export_limit - X->gn[(size_t) rb->group * X->T + t]);
	}
	return d;
}

double
dispatch_exchange_net(const dispatch_instance *in, dispatch_schedule *s,
					  int *moves)
{
	ex			X;
	int			T = in->T,
				N = in->nres,
				nmove = 0,
				pairs = 1;
	size_t		G = in->ngroups > 0 ? (size_t) in->ngroups : 1;
	double		saved = 0.0;

	assert(s->nres == N && s->T == T);
	for (int t = 0; t < T; t++)
		if (!isnan(in->reserve[t]))
			pairs = 0;
	memset(&X, 0, sizeof(X));
	X.in = in;
	X.s = s;
	X.T = T;
	X.up = malloc(sizeof(double) * (size_t) N * T + 1);
	X.lo = malloc(sizeof(double) * (size_t) N * T + 1);
	X.gn = calloc(G * T, sizeof(double));
	X.wear = calloc((size_t) N + 1, sizeof(double));
	X.dis = malloc(sizeof(int) * ((size_t) N + 1));
	X.chg = malloc(sizeof(int) * ((size_t) N + 1));
	if (!X.up || !X.lo || !X.gn || !X.wear || !X.dis || !X.chg)
	{
		saved = -1.0;
		goto out;
	}
	for (int i = 0; i < N; i++)
	{
		const dispatch_resource *x = &in->res[i];

		for (int t = 0; t < T; t++)
		{
			size_t		k = (size_t) i * T + t;

			X.up[k] = X.lo[k] = 0.0;
			if (in->ngroups > 0)
				X.gn[(size_t) x->group * T + t] += s->pd[k] - s->pc[k];
		}
		if (!eligible(x))
			continue;
		X.wear[i] = dispatch_degr_segment_cost(x, 0) / x->eta_d;
		if (x->kind == DISPATCH_BATTERY)
			slacks(&X, i, 0);
		else
			for (int q = 0; q < x->nsessions; q++)
				slacks(&X, i, x->sessions[q].arrive);
	}
	for (int t = 0; t < T; t++)
	{
		int			nd = 0,
					nc = 0;

		for (int i = 0; i < N; i++)
		{
			size_t		k = (size_t) i * T + t;

			if (!eligible(&in->res[i]) || X.wear[i] <= 0.0)
			{
				if (eligible(&in->res[i]) && s->pc[k] > EX_EPS)
					X.chg[nc++] = i;
				continue;
			}
			if (s->pd[k] > EX_EPS)
				X.dis[nd++] = i;
			if (s->pc[k] > EX_EPS)
				X.chg[nc++] = i;
		}
		if (nd == 0)
			continue;
		qsort_r(X.dis, (size_t) nd, sizeof(int), cmp_wear, &X);
		/* a device against itself, then same group, then any group */
		for (int pass = 0; pass < (pairs ? 3 : 1); pass++)
			for (int a = 0; a < nd; a++)
			{
				int			A = X.dis[a];

				for (int c = 0; c < nc; c++)
				{
					int			B = X.chg[c];
					double		d;

					if ((pass == 0) != (A == B))
						continue;
					if (pass == 1 && in->ngroups > 0 &&
						in->res[A].group != in->res[B].group)
						continue;
					d = room(&X, A, B, t);
					if (d <= EX_EPS)
						continue;
					apply(&X, A, B, t, d);
					saved += X.wear[A] * d * in->dt;
					nmove++;
					if (s->pd[(size_t) A * T + t] <= EX_EPS)
						break;
				}
			}
	}
out:
	free(X.up);
	free(X.lo);
	free(X.gn);
	free(X.wear);
	free(X.dis);
	free(X.chg);
	if (moves)
		*moves = nmove;
	return saved;
}
