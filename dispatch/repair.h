/*
 * dispatch/repair.h
 *	  Primal recovery for the price coordinator: sweeps over the devices,
 *	  each re-solved exactly against what the rest of the fleet leaves
 *	  of the targets and feeder limits.
 */
#ifndef DERMS_DISPATCH_REPAIR_H
#define DERMS_DISPATCH_REPAIR_H

#include "dispatch/model.h"

typedef struct dispatch_repair_opts
{
	const double *y;			/* [T] target duals of the pricing pass */
	const double *rho;			/* [T] reserve duals, or NULL */
	const int  *order;			/* [nres] sweep order */
	double		lower_bound;	/* certified; the sweeps stop at the gap */
	double		gap_tolerance;
	double		deadline;		/* CLOCK_MONOTONIC seconds, 0 = none */
	int			max_sweeps;
	int			trace;			/* one line per sweep to stderr */
	int			warm;			/* s is already good: short soft phase */
} dispatch_repair_opts;

/*
 * Improve schedule s (feasible for every device, as the pricing pass
 * leaves it) in place; s->cost is re-evaluated.  Returns the number of
 * sweeps run, or -1 on ENOMEM (s is then unchanged or still feasible).
 */
int			dispatch_repair(const dispatch_instance *in, dispatch_schedule *s,
							const dispatch_repair_opts *o);

#endif							/* DERMS_DISPATCH_REPAIR_H */
