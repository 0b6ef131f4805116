/*
 * dispatch/device.c
 *	  Exact per-resource subproblems: batteries, EV sessions and flexible
 *	  loads go through the storage dynamic programme; PV is solved in
 *	  closed form; batteries with several cycle-depth segments (a state
 *	  per segment) go to CLP as a small LP.
 *
 * NOTES
 *	  Charging a of stored energy and discharging b in one interval cost
 *	  (stored-energy units, price c per MW of net injection):
 *	    a * c / (eta_c dt)  +  b * (k - c eta_d / dt)
 *	  so the cost of the net change d = a - b is convex piecewise linear
 *	  with at most two pieces.  When the sum of the two unit costs is
 *	  negative (strongly negative prices) charging and discharging at
 *	  once pays, as it does in the LP; the kink then sits at A - B.
 */
#include "device.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "dispatch/degrade.h"
#include "dispatch/lp.h"
#include "dispatch/storage_dp.h"

struct dispatch_dev_work
{
	int			T;
	dispatch_dp *dp;
	dispatch_dp_step *st;
	double	   *d;
	double	   *x;
	double	   *s;				/* unit-cost sum per step */
};

dispatch_dev_work *
dispatch_dev_work_new(int T)
{
	dispatch_dev_work *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->T = T;
	w->dp = dispatch_dp_new(T);
	w->st = malloc(sizeof(dispatch_dp_step) * (size_t) T);
	w->d = malloc(sizeof(double) * (size_t) T);
	w->x = malloc(sizeof(double) * (size_t) T);
	w->s = malloc(sizeof(double) * (size_t) T);
	if (!w->dp || !w->st || !w->d || !w->x || !w->s)
	{
		dispatch_dev_work_free(w);
		return NULL;
	}
	return w;
}

void
dispatch_dev_work_free(dispatch_dev_work *w)
{
	if (w == NULL)
		return;
	dispatch_dp_free(w->dp);
	free(w->st);
	free(w->d);
	free(w->x);
	free(w->s);
	free(w);
}

/* Stage cost of a storage step; returns the unit-cost sum s. */
static double
storage_step(dispatch_dp_step *st, double c, double k, double eta_c,
			 double eta_d, double dt, double A, double B)
{
	double		ac = c / (eta_c * dt);	/* per stored MWh charged */
	double		bd = k - c * eta_d / dt;	/* per stored MWh discharged */
	double		s = ac + bd;

	st->A = A;
	st->B = B;
	st->kink = 0.0;
	if (A == 0.0 || B == 0.0)
	{
		/* one side only: its slope is the only one that matters */
		st->sL = st->sR = (A == 0.0) ? -bd : ac;
		return 0.0;
	}
	if (s >= 0.0)
	{
		st->sL = -bd;
		st->sR = ac;
		return 0.0;
	}
	st->kink = A - B;
	st->sL = ac;
	st->sR = -bd;
	return s;
}

/* Split the net change d back into stored charge a and discharge b. */
static void
storage_split(const dispatch_dp_step *st, double s, double d, double *a,
			  double *b)
{
	if (s >= 0.0)
	{
		*a = fmax(d, 0.0);
		*b = fmax(-d, 0.0);
	}
	else
	{
		*a = fmin(st->A, st->B + d);
		*b = *a - d;
	}
	if (*a < 0.0)
		*a = 0.0;
	if (*b < 0.0)
		*b = 0.0;
}

static derms_rc
solve_battery(dispatch_dev_work *w, const dispatch_instance *in, int r,
			  const double *c, const double *rho, double *pc, double *pd,
			  double *e, dispatch_dev_cost *cost, derms_err *err)
{
	const dispatch_resource *b = &in->res[r];
	int			T = in->T;
	double		dt = in->dt,
				k = dispatch_degr_segment_cost(b, 0),
				rr = dispatch_retention(b, dt),
				A = b->eta_c * b->p_charge * dt,
				B = b->p_discharge * dt / b->eta_d;
	derms_rc	rc;

	for (int t = 0; t < T; t++)
	{
		dispatch_dp_step *st = &w->st[t];

		w->s[t] = storage_step(st, c[t], k, b->eta_c, b->eta_d, dt, A, B);
		st->r = rr;
		st->lo = b->e_min;
		st->hi = b->e_max;
		st->rho = rho ? rho[t] : 0.0;
	}
	if (b->e_final_min > w->st[T - 1].lo)
		w->st[T - 1].lo = b->e_final_min;
	rc = dispatch_dp_solve(w->dp, w->st, T, b->e_init, w->d, w->x, err);
	if (rc != DERMS_OK)
		return rc;
	for (int t = 0; t < T; t++)
	{
		double		a,
					o;

		storage_split(&w->st[t], w->s[t], w->d[t], &a, &o);
		pc[t] = a / (b->eta_c * dt);
		pd[t] = o * b->eta_d / dt;
		e[t] = w->x[t];
		cost->degr += k * o;
		cost->efc += o / b->capacity;
	}
	return DERMS_OK;
}

static derms_rc
solve_ev(dispatch_dev_work *w, const dispatch_instance *in, int r,
		 const double *c, double *pc, double *pd, double *e,
		 dispatch_dev_cost *cost, derms_err *err)
{
	const dispatch_resource *v = &in->res[r];
	double		dt = in->dt,
				k = dispatch_degr_segment_cost(v, 0),
				A = v->eta_c * v->p_charge * dt,
				B = v->p_discharge * dt / v->eta_d;

	for (int t = 0; t < in->T; t++)
		pc[t] = pd[t] = e[t] = 0.0;
	for (int i = 0; i < v->nsessions; i++)
	{
		const dispatch_session *s = &v->sessions[i];
		int			n = s->depart - s->arrive;
		derms_rc	rc;

		for (int q = 0; q < n; q++)
		{
			dispatch_dp_step *st = &w->st[q];

			w->s[q] = storage_step(st, c[s->arrive + q], k, v->eta_c,
								   v->eta_d, dt, A, B);
			st->r = 1.0;
			st->lo = v->e_min;
			st->hi = v->e_max;
			st->rho = 0.0;
		}
		if (s->e_need > w->st[n - 1].lo)
			w->st[n - 1].lo = s->e_need;
		rc = dispatch_dp_solve(w->dp, w->st, n, s->e_arrive, w->d, w->x, err);
		if (rc != DERMS_OK)
			return rc;
		for (int q = 0; q < n; q++)
		{
			int			t = s->arrive + q;
			double		a,
						o;

			storage_split(&w->st[q], w->s[q], w->d[q], &a, &o);
			pc[t] = a / (v->eta_c * dt);
			pd[t] = o * v->eta_d / dt;
			e[t] = w->x[q];
			cost->degr += k * o;
			cost->efc += o / v->capacity;
		}
	}
	return DERMS_OK;
}

static derms_rc
solve_flex(dispatch_dev_work *w, const dispatch_instance *in, int r,
		   const double *c, double *pc, double *pd, double *e,
		   dispatch_dev_cost *cost, derms_err *err)
{
	const dispatch_resource *f = &in->res[r];
	int			T = in->T;
	double		dt = in->dt,
				span = 0.0;
	derms_rc	rc;

	for (int t = 0; t < T; t++)
	{
		dispatch_dp_step *st = &w->st[t];

		st->r = 1.0;
		st->A = f->raise_max * dt;
		st->B = fmin(f->shed_max, f->profile[t]) * dt;
		st->kink = 0.0;
		st->sL = c[t] / dt - f->shed_cost;
		st->sR = c[t] / dt;
		st->rho = 0.0;
		span += st->A + st->B;
	}
	for (int t = 0; t < T; t++)
	{
		w->st[t].lo = -span - 1.0;
		w->st[t].hi = span + 1.0;
	}
	if (f->energy_neutral)
		w->st[T - 1].lo = w->st[T - 1].hi = 0.0;
	rc = dispatch_dp_solve(w->dp, w->st, T, 0.0, w->d, w->x, err);
	if (rc != DERMS_OK)
		return rc;
	for (int t = 0; t < T; t++)
	{
		pc[t] = f->profile[t] + w->d[t] / dt;
		pd[t] = 0.0;
		e[t] = 0.0;
		if (w->d[t] < 0.0)
			cost->flex += f->shed_cost * -w->d[t];
	}
	return DERMS_OK;
}

derms_rc
dispatch_dev_solve(dispatch_dev_work *w, const dispatch_instance *in, int r,
				   const double *c, const double *rho, double *pc, double *pd,
				   double *e, dispatch_dev_cost *cost, derms_err *err)
{
	const dispatch_resource *x = &in->res[r];

	assert(w != NULL && w->T >= in->T);
	cost->degr = cost->efc = cost->flex = 0.0;
	switch (x->kind)
	{
		case DISPATCH_BATTERY:
			if (dispatch_degr_nsegments(x) > 1)
				return dispatch_lp_solve_resource(in, r, c, rho, pc, pd, e,
												  &cost->degr, &cost->efc,
												  &cost->flex, err);
			return solve_battery(w, in, r, c, rho, pc, pd, e, cost, err);
		case DISPATCH_EV:
			return solve_ev(w, in, r, c, pc, pd, e, cost, err);
		case DISPATCH_PV:
			for (int t = 0; t < in->T; t++)
			{
				double		a = x->profile[t];

				pc[t] = e[t] = 0.0;
				pd[t] = (c[t] >= 0.0 || !x->curtailable) ? a : 0.0;
			}
			return DERMS_OK;
		case DISPATCH_FLEX:
			return solve_flex(w, in, r, c, pc, pd, e, cost, err);
	}
	return derms_err_set(err, DERMS_EINVAL, "unknown resource kind");
}
