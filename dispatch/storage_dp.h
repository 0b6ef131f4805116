/*
 * dispatch/storage_dp.h
 *	  Exact dynamic programme for one storage-like device with a scalar
 *	  state and convex piecewise-linear stage costs.
 */
#ifndef DERMS_DISPATCH_STORAGE_DP_H
#define DERMS_DISPATCH_STORAGE_DP_H

#include "server/err.h"

/*
 * One step t: the state x (stored energy) moves to x' = r * x + d with
 * d in [-B, A]; the step costs g(d), convex with slope sL below kink and
 * sR above it (sL <= sR, -B <= kink <= A), plus -rho * x'; x' must lie in
 * [lo, hi].
 */
typedef struct dispatch_dp_step
{
	double		r;
	double		A;
	double		B;
	double		kink;
	double		sL;
	double		sR;
	double		lo;
	double		hi;
	double		rho;
} dispatch_dp_step;

/*
 * The same step with a convex piecewise-linear stage cost of up to
 * DISPATCH_DP_MAXP pieces: piece k covers d in [b[k], b[k+1]] at slope
 * s[k]; b[0] = -B, b[n] = A, b increasing, s nondecreasing.
 */
#define DISPATCH_DP_MAXP 12

typedef struct dispatch_dp_pstep
{
	double		r;
	double		lo;
	double		hi;
	double		rho;
	int			n;
	double		b[DISPATCH_DP_MAXP + 1];
	double		s[DISPATCH_DP_MAXP];
} dispatch_dp_pstep;

typedef struct dispatch_dp dispatch_dp;

/* new; scratch for horizons up to Tmax; NULL on ENOMEM. */
dispatch_dp *dispatch_dp_new(int Tmax);
void		dispatch_dp_free(dispatch_dp *w);

/*
 * Minimise sum_t g_t(d_t) - rho_t x_{t+1} from x_0 = x0.  Writes the
 * optimal d[t] and x[t] (= x_{t+1}).  DERMS_ERANGE when no feasible
 * trajectory exists (message in err), DERMS_ENOMEM.
 */
derms_rc	dispatch_dp_solve(dispatch_dp *w, const dispatch_dp_step *st, int T,
							  double x0, double *d, double *x, derms_err *err);

/* dispatch_dp_solve() for piecewise stage costs; same results and errors. */
derms_rc	dispatch_dp_solve_pwl(dispatch_dp *w, const dispatch_dp_pstep *st,
								  int T, double x0, double *d, double *x,
								  derms_err *err);

#endif							/* DERMS_DISPATCH_STORAGE_DP_H */
