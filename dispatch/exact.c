/*
 * dispatch/exact.c
 *	  One LP for the whole fleet, solved by CLP: the reference that the
 *	  coordinator's bound and cost are checked against.
 *
 * NOTES
 *	  Rows tying resources together: one per interval with a target (net
 *	  injection plus shortfall minus surplus equals the target), one per
 *	  feeder group and interval (ranged, with penalised slacks so that the
 *	  LP is always feasible), one per interval with a reserve (stored
 *	  battery energy plus the reserve shortfall at least the reserve).
 *	  It does not scale: on 1,000 batteries x 96 intervals CLP needs tens
 *	  of seconds.
 */
#include "exact.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "dispatch/lp.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * Build and solve the LP of in.  With out, extract the schedule; with y
 * (and rho, nu), copy the duals of the target, reserve and feeder rows
 * (0 where a row is absent).
 */
static derms_rc
solve_lp(const dispatch_instance *in, dispatch_schedule **out, double *y,
		 double *rho, double *nu, derms_err *err)
{
	int			T = in->T,
				G = in->ngroups;
	double		t0 = now();
	dispatch_lp *lp = dispatch_lp_new();
	int		   *trow = malloc(sizeof(int) * (size_t) T);
	int		   *rrow = malloc(sizeof(int) * (size_t) T);
	int		   *frow = malloc(sizeof(int) * (size_t) T * (size_t) G);
	int		   *col0 = malloc(sizeof(int) * ((size_t) in->nres + 1));
	double	   *c = malloc(sizeof(double) * (size_t) T);
	dispatch_schedule *s = NULL;
	derms_rc	rc = DERMS_OK;

	if (out != NULL)
		*out = NULL;
	if (!lp || !trow || !rrow || !frow || !col0 || !c)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (int t = 0; t < T; t++)
	{
		c[t] = in->dt * in->price[t];
		trow[t] = rrow[t] = -1;
		if (!isnan(in->target[t]))
		{
			trow[t] = dispatch_lp_row(lp, in->target[t], in->target[t]);
			dispatch_lp_coef(lp, trow[t],
							 dispatch_lp_col(lp, 0, DISPATCH_LP_INF,
											 in->pen_shortfall * in->dt), 1.0);
			dispatch_lp_coef(lp, trow[t],
							 dispatch_lp_col(lp, 0, DISPATCH_LP_INF,
											 in->pen_surplus * in->dt), -1.0);
		}
		if (!isnan(in->reserve[t]))
		{
			rrow[t] = dispatch_lp_row(lp, in->reserve[t], DISPATCH_LP_INF);
			dispatch_lp_coef(lp, rrow[t],
							 dispatch_lp_col(lp, 0, DISPATCH_LP_INF,
											 in->pen_reserve), 1.0);
		}
	}
	for (int g = 0; g < G; g++)
		for (int t = 0; t < T; t++)
		{
			int		   *f = &frow[(size_t) g * T + t];
			double		lo = isinf(in->groups[g].import_limit) ?
				-DISPATCH_LP_INF : -in->groups[g].import_limit;
			double		up = isinf(in->groups[g].export_limit) ?
				DISPATCH_LP_INF : in->groups[g].export_limit;

			*f = -1;
			if (lo <= -DISPATCH_LP_INF && up >= DISPATCH_LP_INF)
				continue;
			*f = dispatch_lp_row(lp, lo, up);
			dispatch_lp_coef(lp, *f, dispatch_lp_col(lp, 0, DISPATCH_LP_INF,
													 in->pen_feeder * in->dt),
							 -1.0);
			dispatch_lp_coef(lp, *f, dispatch_lp_col(lp, 0, DISPATCH_LP_INF,
													 in->pen_feeder * in->dt),
							 1.0);
		}
	for (int r = 0; r < in->nres; r++)
	{
		dispatch_lp_links l;

		l.target = trow;
		l.feeder = &frow[(size_t) in->res[r].group * T];
		l.reserve = in->res[r].kind == DISPATCH_BATTERY ? rrow : NULL;
		col0[r] = dispatch_lp_add_resource(lp, in, r, c, NULL, &l);
	}
	rc = dispatch_lp_solve(lp, in->opt.time_limit, err);
	if (rc != DERMS_OK)
		goto done;
	if (y != NULL)
	{
		for (int t = 0; t < T; t++)
		{
			y[t] = dispatch_lp_row_dual(lp, trow[t]);
			rho[t] = dispatch_lp_row_dual(lp, rrow[t]);
			for (int g = 0; g < G; g++)
				nu[(size_t) g * T + t] =
					dispatch_lp_row_dual(lp, frow[(size_t) g * T + t]);
		}
	}
	if (out == NULL)
		goto done;
	s = dispatch_schedule_new(in->nres, T);
	if (s == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (int r = 0; r < in->nres; r++)
	{
		size_t		k = (size_t) r * T;

		dispatch_lp_extract(lp, in, r, col0[r], &s->pc[k], &s->pd[k], &s->e[k],
							&s->degr_cost[r], &s->efc[r], &s->flex_cost[r]);
	}
	dispatch_schedule_evaluate(in, s);
	s->lower_bound = dispatch_lp_objective(lp);
	s->gap = fmax(0.0, s->cost.total - s->lower_bound) /
		fmax(fmax(fabs(s->cost.total), fabs(s->lower_bound)), 1.0);
	s->iterations = 1;
	s->method = "exact-clp";
	s->seconds = now() - t0;
	*out = s;
done:
	dispatch_lp_free(lp);
	free(trow);
	free(rrow);
	free(frow);
	free(col0);
	free(c);
	return rc;
}

derms_rc
dispatch_exact_solve(const dispatch_instance *in, dispatch_schedule **out,
					 derms_err *err)
{
	return solve_lp(in, out, NULL, NULL, NULL, err);
}

derms_rc
dispatch_exact_duals(const dispatch_instance *in, double *y, double *rho,
					 double *nu, derms_err *err)
{
	return solve_lp(in, NULL, y, rho, nu, err);
}
