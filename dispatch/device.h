/*
 * dispatch/device.h
 *	  One resource's subproblem at given prices, solved exactly: the
 *	  building block of the fleet coordinator.
 */
#ifndef DERMS_DISPATCH_DEVICE_H
#define DERMS_DISPATCH_DEVICE_H

#include "dispatch/model.h"

typedef struct dispatch_dev_work dispatch_dev_work;

/* What a resource's schedule costs by itself. */
typedef struct dispatch_dev_cost
{
	double		degr;			/* modelled degradation $ */
	double		efc;			/* equivalent full cycles */
	double		flex;			/* shed cost $ */
} dispatch_dev_cost;

/* new; per-thread scratch for horizons up to T; NULL on ENOMEM. */
dispatch_dev_work *dispatch_dev_work_new(int T);
void		dispatch_dev_work_free(dispatch_dev_work *w);

/*
 * Minimise own cost - sum_t c[t] * net_t - sum_t rho[t] * stored_t over
 * resource r's feasible set (rho applies to batteries; may be NULL).
 * Writes pc, pd, e ([T] each).  DERMS_ERANGE when r has no feasible
 * schedule at all.
 */
derms_rc	dispatch_dev_solve(dispatch_dev_work *w, const dispatch_instance *in,
							   int r, const double *c, const double *rho,
							   double *pc, double *pd, double *e,
							   dispatch_dev_cost *cost, derms_err *err);

#endif							/* DERMS_DISPATCH_DEVICE_H */
