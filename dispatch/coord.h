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

#endif							/* DERMS_DISPATCH_COORD_H */
