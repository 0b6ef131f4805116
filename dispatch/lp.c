/*
 * dispatch/lp.c
 *	  The dispatch model as a linear programme, solved with COIN-OR CLP
 *	  through its C API.
 *
 * NOTES
 *	  Used by the --exact reference mode (the whole fleet as one LP) and
 *	  for per-device subproblems that the dynamic programme cannot take
 *	  (batteries with several cycle-depth segments).  Columns per resource
 *	  and interval t:
 *	    battery  for each segment j: charge, discharge, stored energy
 *	    EV       charge, discharge, stored energy (0 outside sessions)
 *	    PV       output
 *	    FLEX     raise, shed (consumption = baseline + raise - shed)
 *	  The segments of a battery each hold capacity / J; the initial energy
 *	  fills the cheapest segment first.  Objective constants (the cost of
 *	  a flexible load's baseline) are kept apart and added back.
 *	  Memory is malloc'd and owned by the dispatch_lp.
 */
#include "lp.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* CLP's C header declares some functions as f() */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <Clp_C_Interface.h>
#pragma GCC diagnostic pop

#include "dispatch/degrade.h"

#define DISPATCH_LP_BARRIER_COLS 20000

struct dispatch_lp
{
	int			nrow,
				caprow;
	double	   *rlo,
			   *rup;
	int			ncol,
				capcol;
	double	   *clo,
			   *cup,
			   *obj;
	size_t		nz,
				capnz;
	int		   *zi,
			   *zj;
	double	   *zv;
	double		obj_const;
	int			oom;
	Clp_Simplex *clp;
	double		objval;
};

dispatch_lp *
dispatch_lp_new(void)
{
	return calloc(1, sizeof(dispatch_lp));
}

void
dispatch_lp_free(dispatch_lp *lp)
{
	if (lp == NULL)
		return;
	free(lp->rlo);
	free(lp->rup);
	free(lp->clo);
	free(lp->cup);
	free(lp->obj);
	free(lp->zi);
	free(lp->zj);
	free(lp->zv);
	if (lp->clp)
		Clp_deleteModel(lp->clp);
	free(lp);
}

static int
grow(void **p, int *cap, int need, size_t elt)
{
	int			c = *cap ? *cap : 1024;
	void	   *q;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	q = realloc(*p, elt * (size_t) c);
	if (q == NULL)
		return -1;
	*p = q;
	return 0;
}

int
dispatch_lp_row(dispatch_lp *lp, double lo, double up)
{
	int			cap = lp->caprow;

	if (lp->oom)
		return 0;
	if (grow((void **) &lp->rlo, &cap, lp->nrow + 1, sizeof(double)) < 0 ||
		(cap = lp->caprow, grow((void **) &lp->rup, &cap, lp->nrow + 1,
								sizeof(double)) < 0))
	{
		lp->oom = 1;
		return 0;
	}
	lp->caprow = cap;
	lp->rlo[lp->nrow] = lo;
	lp->rup[lp->nrow] = up;
	return lp->nrow++;
}

int
dispatch_lp_col(dispatch_lp *lp, double lo, double up, double obj)
{
	int			cap;

	if (lp->oom)
		return 0;
	cap = lp->capcol;
	if (grow((void **) &lp->clo, &cap, lp->ncol + 1, sizeof(double)) < 0)
		goto oom;
	cap = lp->capcol;
	if (grow((void **) &lp->cup, &cap, lp->ncol + 1, sizeof(double)) < 0)
		goto oom;
	cap = lp->capcol;
	if (grow((void **) &lp->obj, &cap, lp->ncol + 1, sizeof(double)) < 0)
		goto oom;
	lp->capcol = cap;
	lp->clo[lp->ncol] = lo;
	lp->cup[lp->ncol] = up;
	lp->obj[lp->ncol] = obj;
	return lp->ncol++;
oom:
	lp->oom = 1;
	return 0;
}

void
dispatch_lp_coef(dispatch_lp *lp, int row, int col, double v)
{
	if (lp->oom || row < 0 || v == 0.0)
		return;
	if (lp->nz == lp->capnz)
	{
		size_t		c = lp->capnz ? lp->capnz * 2 : 4096;
		int		   *a = realloc(lp->zi, sizeof(int) * c);
		int		   *b;
		double	   *d;

		if (a)
			lp->zi = a;
		b = realloc(lp->zj, sizeof(int) * c);
		if (b)
			lp->zj = b;
		d = realloc(lp->zv, sizeof(double) * c);
		if (d)
			lp->zv = d;
		if (!a || !b || !d)
		{
			lp->oom = 1;
			return;
		}
		lp->capnz = c;
	}
	lp->zi[lp->nz] = row;
	lp->zj[lp->nz] = col;
	lp->zv[lp->nz] = v;
	lp->nz++;
}

void
dispatch_lp_row_shift(dispatch_lp *lp, int row, double k)
{
	if (lp->oom || row < 0)
		return;
	if (lp->rlo[row] > -DISPATCH_LP_INF)
		lp->rlo[row] += k;
	if (lp->rup[row] < DISPATCH_LP_INF)
		lp->rup[row] += k;
}

void
dispatch_lp_add_const(dispatch_lp *lp, double k)
{
	lp->obj_const += k;
}

static void
link_net(dispatch_lp *lp, const dispatch_lp_links *l, int t, int col, double v)
{
	if (l == NULL)
		return;
	if (l->target)
		dispatch_lp_coef(lp, l->target[t], col, v);
	if (l->feeder)
		dispatch_lp_coef(lp, l->feeder[t], col, v);
}

static void
link_shift(dispatch_lp *lp, const dispatch_lp_links *l, int t, double k)
{
	if (l == NULL)
		return;
	if (l->target)
		dispatch_lp_row_shift(lp, l->target[t], k);
	if (l->feeder)
		dispatch_lp_row_shift(lp, l->feeder[t], k);
}

static int
add_battery(dispatch_lp *lp, const dispatch_instance *in, int r,
			const double *c, const double *rho, const dispatch_lp_links *l)
{
	const dispatch_resource *b = &in->res[r];
	int			T = in->T,
				J = dispatch_degr_nsegments(b);
	double		dt = in->dt,
				rr = dispatch_retention(b, dt),
				w = b->capacity / J;
	int			col0 = lp->ncol;

	for (int t = 0; t < T; t++)
	{
		double		elo = b->e_min;
		int			rc = -1,
					rd = -1,
					re = -1;

		if (t == T - 1 && b->e_final_min > elo)
			elo = b->e_final_min;
		if (J > 1)
		{
			rc = dispatch_lp_row(lp, -DISPATCH_LP_INF, b->p_charge);
			rd = dispatch_lp_row(lp, -DISPATCH_LP_INF, b->p_discharge);
			re = dispatch_lp_row(lp, elo, b->e_max);
		}
		for (int j = 0; j < J; j++)
		{
			double		k = dispatch_degr_segment_cost(b, j);
			int			cc,
						cd,
						ce,
						dyn;
			double		e0j = fmin(fmax(b->e_init - j * w, 0.0), w);

			cc = dispatch_lp_col(lp, 0, J > 1 ? DISPATCH_LP_INF : b->p_charge,
								 c[t]);
			cd = dispatch_lp_col(lp, 0, J > 1 ? DISPATCH_LP_INF : b->p_discharge,
								 -c[t] + k * dt / b->eta_d);
			ce = dispatch_lp_col(lp, J > 1 ? 0.0 : elo, J > 1 ? w : b->e_max,
								 rho ? -rho[t] : 0.0);
			dyn = dispatch_lp_row(lp, t == 0 ? rr * e0j : 0.0,
								  t == 0 ? rr * e0j : 0.0);
			dispatch_lp_coef(lp, dyn, ce, 1.0);
			if (t > 0)
				dispatch_lp_coef(lp, dyn, ce - 3 * J, -rr);
			dispatch_lp_coef(lp, dyn, cc, -b->eta_c * dt);
			dispatch_lp_coef(lp, dyn, cd, dt / b->eta_d);
			dispatch_lp_coef(lp, rc, cc, 1.0);
			dispatch_lp_coef(lp, rd, cd, 1.0);
			dispatch_lp_coef(lp, re, ce, 1.0);
			link_net(lp, l, t, cc, -1.0);
			link_net(lp, l, t, cd, 1.0);
			if (l && l->reserve)
				dispatch_lp_coef(lp, l->reserve[t], ce, 1.0);
		}
	}
	return col0;
}

static int
in_session(const dispatch_resource *v, int t, const dispatch_session **sp)
{
	for (int i = 0; i < v->nsessions; i++)
		if (t >= v->sessions[i].arrive && t < v->sessions[i].depart)
		{
			*sp = &v->sessions[i];
			return 1;
		}
	return 0;
}

static int
add_ev(dispatch_lp *lp, const dispatch_instance *in, int r, const double *c,
	   const dispatch_lp_links *l)
{
	const dispatch_resource *v = &in->res[r];
	double		dt = in->dt,
				k = dispatch_degr_segment_cost(v, 0);
	int			col0 = lp->ncol;

	for (int t = 0; t < in->T; t++)
	{
		const dispatch_session *s = NULL;
		int			on = in_session(v, t, &s);
		int			cc,
					cd,
					ce,
					dyn;
		double		elo = v->e_min;

		if (on && t == s->depart - 1 && s->e_need > elo)
			elo = s->e_need;
		cc = dispatch_lp_col(lp, 0, on ? v->p_charge : 0, c[t]);
		cd = dispatch_lp_col(lp, 0, on ? v->p_discharge : 0,
							 -c[t] + k * dt / v->eta_d);
		ce = dispatch_lp_col(lp, on ? elo : 0, on ? v->e_max : 0, 0);
		if (on)
		{
			double		rhs = (t == s->arrive) ? s->e_arrive : 0.0;

			dyn = dispatch_lp_row(lp, rhs, rhs);
			dispatch_lp_coef(lp, dyn, ce, 1.0);
			if (t > s->arrive)
				dispatch_lp_coef(lp, dyn, ce - 3, -1.0);
			dispatch_lp_coef(lp, dyn, cc, -v->eta_c * dt);
			dispatch_lp_coef(lp, dyn, cd, dt / v->eta_d);
		}
		link_net(lp, l, t, cc, -1.0);
		link_net(lp, l, t, cd, 1.0);
	}
	return col0;
}

static int
add_pv(dispatch_lp *lp, const dispatch_instance *in, int r, const double *c,
	   const dispatch_lp_links *l)
{
	const dispatch_resource *p = &in->res[r];
	int			col0 = lp->ncol;

	for (int t = 0; t < in->T; t++)
	{
		double		a = p->profile[t];
		int			cp = dispatch_lp_col(lp, p->curtailable ? 0 : a, a, -c[t]);

		link_net(lp, l, t, cp, 1.0);
	}
	return col0;
}

static int
add_flex(dispatch_lp *lp, const dispatch_instance *in, int r, const double *c,
		 const dispatch_lp_links *l)
{
	const dispatch_resource *f = &in->res[r];
	int			col0 = lp->ncol;
	int			neutral = -1;

	if (f->energy_neutral)
		neutral = dispatch_lp_row(lp, 0.0, 0.0);
	for (int t = 0; t < in->T; t++)
	{
		double		base = f->profile[t];
		int			cu = dispatch_lp_col(lp, 0, f->raise_max, c[t]);
		int			cs = dispatch_lp_col(lp, 0, fmin(f->shed_max, base),
										 -c[t] + f->shed_cost * in->dt);

		dispatch_lp_add_const(lp, c[t] * base);
		link_net(lp, l, t, cu, -1.0);
		link_net(lp, l, t, cs, 1.0);
		link_shift(lp, l, t, -base);
		dispatch_lp_coef(lp, neutral, cu, 1.0);
		dispatch_lp_coef(lp, neutral, cs, -1.0);
	}
	return col0;
}

int
dispatch_lp_add_resource(dispatch_lp *lp, const dispatch_instance *in, int r,
						 const double *c, const double *rho,
						 const dispatch_lp_links *links)
{
	assert(r >= 0 && r < in->nres);
	switch (in->res[r].kind)
	{
		case DISPATCH_BATTERY:
			return add_battery(lp, in, r, c, rho, links);
		case DISPATCH_EV:
			return add_ev(lp, in, r, c, links);
		case DISPATCH_PV:
			return add_pv(lp, in, r, c, links);
		case DISPATCH_FLEX:
			return add_flex(lp, in, r, c, links);
	}
	return -1;
}

derms_rc
dispatch_lp_solve(dispatch_lp *lp, double time_limit, derms_err *err)
{
	int		   *start,
			   *idx;
	double	   *val;
	int			st;

	if (lp->oom)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory building the LP");
	start = calloc((size_t) lp->ncol + 1, sizeof(int));
	idx = malloc(sizeof(int) * (lp->nz ? lp->nz : 1));
	val = malloc(sizeof(double) * (lp->nz ? lp->nz : 1));
	if (!start || !idx || !val)
	{
		free(start);
		free(idx);
		free(val);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory building the LP");
	}
	for (size_t k = 0; k < lp->nz; k++)
		start[lp->zj[k] + 1]++;
	for (int j = 0; j < lp->ncol; j++)
		start[j + 1] += start[j];
	{
		int		   *fill = malloc(sizeof(int) * ((size_t) lp->ncol + 1));

		if (fill == NULL)
		{
			free(start);
			free(idx);
			free(val);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
		memcpy(fill, start, sizeof(int) * ((size_t) lp->ncol + 1));
		for (size_t k = 0; k < lp->nz; k++)
		{
			int			p = fill[lp->zj[k]]++;

			idx[p] = lp->zi[k];
			val[p] = lp->zv[k];
		}
		free(fill);
	}
	if (lp->clp)
		Clp_deleteModel(lp->clp);
	lp->clp = Clp_newModel();
	Clp_setLogLevel(lp->clp, 0);
	Clp_loadProblem(lp->clp, lp->ncol, lp->nrow, start, idx, val, lp->clo,
					lp->cup, lp->obj, lp->rlo, lp->rup);
	free(start);
	free(idx);
	free(val);
	if (time_limit > 0)
		Clp_setMaximumSeconds(lp->clp, time_limit);
	if (lp->ncol >= DISPATCH_LP_BARRIER_COLS)
	{
		/*
		 * Whole-fleet LPs: presolve, then barrier with crossover.  On tier
		 * S (288k columns) this took 50 s where warm-less dual simplex
		 * took 121 s and primal did not finish in 150 s.
		 */
		Clp_Solve  *so = ClpSolve_new();

		ClpSolve_setSolveType(so, 3, -1);
		ClpSolve_setPresolveType(so, 0, -1);
		Clp_initialSolveWithOptions(lp->clp, so);
		ClpSolve_delete(so);
	}
	else
		Clp_dual(lp->clp, 0);
	st = Clp_status(lp->clp);
	if (st != 0)
		return derms_err_set(err, DERMS_ERANGE,
							 "the LP solver stopped with status %d (%s)", st,
							 st == 1 ? "infeasible" : st == 3 ? "time limit" :
							 "not optimal");
	lp->objval = Clp_objectiveValue(lp->clp) + lp->obj_const;
	return DERMS_OK;
}

double
dispatch_lp_row_dual(const dispatch_lp *lp, int row)
{
	if (row < 0 || lp->clp == NULL)
		return 0.0;
	return Clp_getRowPrice(lp->clp)[row];
}

double
dispatch_lp_objective(const dispatch_lp *lp)
{
	return lp->objval;
}

void
dispatch_lp_extract(const dispatch_lp *lp, const dispatch_instance *in, int r,
					int col0, double *pc, double *pd, double *e, double *degr,
					double *efc, double *flex)
{
	const dispatch_resource *x = &in->res[r];
	const double *sol = Clp_getColSolution(lp->clp);
	int			T = in->T;
	double		dt = in->dt;

	*degr = *efc = *flex = 0.0;
	switch (x->kind)
	{
		case DISPATCH_BATTERY:
		case DISPATCH_EV:
			{
				int			J = x->kind == DISPATCH_EV ? 1 :
					dispatch_degr_nsegments(x);

				for (int t = 0; t < T; t++)
				{
					pc[t] = pd[t] = e[t] = 0.0;
					for (int j = 0; j < J; j++)
					{
						const double *v = &sol[col0 + 3 * (t * J + j)];
						double		out = fmax(v[1], 0.0) * dt / x->eta_d;

						pc[t] += fmax(v[0], 0.0);
						pd[t] += fmax(v[1], 0.0);
						e[t] += v[2];
						*degr += dispatch_degr_segment_cost(x, j) * out;
						*efc += out / x->capacity;
					}
				}
				break;
			}
		case DISPATCH_PV:
			for (int t = 0; t < T; t++)
			{
				pc[t] = e[t] = 0.0;
				pd[t] = sol[col0 + t];
			}
			break;
		case DISPATCH_FLEX:
			for (int t = 0; t < T; t++)
			{
				double		up = sol[col0 + 2 * t],
							sh = sol[col0 + 2 * t + 1];

				pc[t] = x->profile[t] + up - sh;
				pd[t] = e[t] = 0.0;
				*flex += x->shed_cost * dt * fmax(sh, 0.0);
			}
			break;
	}
}

derms_rc
dispatch_lp_solve_resource(const dispatch_instance *in, int r,
						   const double *c, const double *rho, double *pc,
						   double *pd, double *e, double *degr, double *efc,
						   double *flex, derms_err *err)
{
	dispatch_lp *lp = dispatch_lp_new();
	derms_rc	rc;
	int			col0;

	if (lp == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	col0 = dispatch_lp_add_resource(lp, in, r, c, rho, NULL);
	rc = dispatch_lp_solve(lp, 0, err);
	if (rc == DERMS_OK)
		dispatch_lp_extract(lp, in, r, col0, pc, pd, e, degr, efc, flex);
	dispatch_lp_free(lp);
	return rc;
}
