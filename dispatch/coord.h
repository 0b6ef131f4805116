/*
 * dispatch/coord.h
 *	  The scalable fleet solver: price coordination (Dantzig-Wolfe with a
 *	  CLP master) of exact per-device subproblems, with a certified lower
 *	  bound from the Lagrangian dual.
 */
#ifndef DERMS_DISPATCH_COORD_H
#define DERMS_DISPATCH_COORD_H

#include "dispatch/model.h"

/*
 * Solve in (options in in->opt).  *out is new (dispatch_schedule_free).
 * The schedule is feasible for every device and, unless the instance
 * leaves no way to respect them (then the excess is reported in
 * cost.feeder), for every feeder limit.  DERMS_ERANGE when a resource has
 * no feasible schedule of its own (the message names it).
 */
derms_rc	dispatch_coord_solve(const dispatch_instance *in,
								 dispatch_schedule **out, derms_err *err);

/*
 * Re-solve in from prev, a schedule of the same resources and horizon (a
 * re-dispatch after a resource missed its setpoint or its state drifted):
 * each resource whose previous schedule is still within its own limits
 * keeps it as the start of the repair, the others start from their
 * priced schedules, and the repair's soft phase is short.  The
 * bound is computed afresh.  Same results and errors as
 * dispatch_coord_solve().
 */
derms_rc	dispatch_coord_resolve(const dispatch_instance *in,
								   const dispatch_schedule *prev,
								   dispatch_schedule **out, derms_err *err);

#endif							/* DERMS_DISPATCH_COORD_H */
