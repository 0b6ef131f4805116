/*
 * dispatch/exact.h
 *	  The --exact reference mode: the whole instance as one LP for CLP.
 */
#ifndef DERMS_DISPATCH_EXACT_H
#define DERMS_DISPATCH_EXACT_H

#include "dispatch/model.h"

/* *out is new (dispatch_schedule_free); lower_bound = LP optimum. */
derms_rc	dispatch_exact_solve(const dispatch_instance *in,
								 dispatch_schedule **out, derms_err *err);

/*
 * Solve in's LP and copy the duals ($ per MW per interval, the
 * Lagrangian's sign) of its target rows into y[T], reserve rows into
 * rho[T] and feeder rows into nu[G * T] (group-major); 0 where an
 * instance has no such row.  The coordinator's warm start.
 */
derms_rc	dispatch_exact_duals(const dispatch_instance *in, double *y,
								 double *rho, double *nu, derms_err *err);

#endif							/* DERMS_DISPATCH_EXACT_H */
