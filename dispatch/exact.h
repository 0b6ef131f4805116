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

#endif							/* DERMS_DISPATCH_EXACT_H */
