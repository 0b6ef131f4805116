/*
 * dispatch/check.h
 *	  Independent feasibility check of a schedule against its instance.
 */
#ifndef DERMS_DISPATCH_CHECK_H
#define DERMS_DISPATCH_CHECK_H

#include "dispatch/model.h"

/*
 * Count the violations of power, SoC, SoC-dynamics, end-target, session,
 * PV, flexible-load and feeder limits beyond tol (MW or MWh).  The first
 * one is described in err (DERMS_ERANGE) when err is not NULL.
 */
int			dispatch_check_schedule(const dispatch_instance *in,
									const dispatch_schedule *s, double tol,
									derms_err *err);

/* The same count for resource r's own limits alone (no feeders). */
int			dispatch_check_resource(const dispatch_instance *in,
									const dispatch_schedule *s, int r,
									double tol);

#endif							/* DERMS_DISPATCH_CHECK_H */
