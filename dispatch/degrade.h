/*
 * dispatch/degrade.h
 *	  Battery degradation arithmetic: throughput cost, the cycle-depth
 *	  segments of Xu et al. (2018), equivalent full cycles and the
 *	  rainflow-counted aging cost of a realised SoC history.
 */
#ifndef DERMS_DISPATCH_DEGRADE_H
#define DERMS_DISPATCH_DEGRADE_H

#include "dispatch/model.h"

/* Aging per cycle of depth d (0..1): d^k_p / N100. */
double		dispatch_degr_phi(const dispatch_resource *r, double depth);

/* Segments J the LP uses for r: CYCLE_DEPTH -> r->segments, else 1. */
int			dispatch_degr_nsegments(const dispatch_resource *r);

/*
 * $ per MWh of stored energy discharged from segment j (0-based, the
 * shallowest first).  THROUGHPUT: replacement_cost / (capacity * N100).
 * CYCLE_DEPTH: replacement_cost / capacity * J * (phi((j+1)/J) - phi(j/J)).
 * NONE: 0.
 */
double		dispatch_degr_segment_cost(const dispatch_resource *r, int j);

/*
 * Aging cost and equivalent full cycles of a stored-energy history
 * e[0..n-1] (MWh; include the initial value first), rainflow-counted:
 * sum over cycles of count * replacement_cost * phi(range / capacity),
 * and sum of count * range / capacity.  work must hold 2n doubles and
 * cyc n cycles.
 */
void		dispatch_degr_rainflow(const dispatch_resource *r, const double *e,
								   int n, double *work, void *cyc,
								   double *cost, double *efc);

#endif							/* DERMS_DISPATCH_DEGRADE_H */
