/*
 * dispatch/degrade.c
 *	  Degradation costs of batteries.
 *
 * NOTES
 *	  Cycle life follows N(d) = N100 * d^-k_p, so one cycle of depth d
 *	  consumes phi(d) = d^k_p / N100 of the battery's life and costs
 *	  replacement_cost * phi(d).  Xu, Zhao, Zheng, Litvinov and Kirschen
 *	  (IEEE Trans. Power Syst. 33(2), 2018) split the capacity into J
 *	  equal segments; discharging segment j (j = 1 shallowest) costs
 *	  R * J * (phi(j/J) - phi((j-1)/J)) per MWh, R = replacement_cost /
 *	  capacity in $/MWh.  With k_p >= 1 the segment costs rise with depth,
 *	  so a cycle of depth j/J uses the j cheapest segments and costs
 *	  replacement_cost * phi(j/J): the LP prices every depth exactly at the
 *	  segment boundaries.  Depth is measured against the full capacity.
 */
#include "degrade.h"

#include <assert.h>
#include <math.h>

#include "dispatch/rainflow.h"

double
dispatch_degr_phi(const dispatch_resource *r, double depth)
{
	assert(r->cycle_life > 0.0);
	if (depth <= 0.0)
		return 0.0;
	return pow(depth, r->depth_exponent) / r->cycle_life;
}

int
dispatch_degr_nsegments(const dispatch_resource *r)
{
	if (r->degr == DISPATCH_DEGR_CYCLE_DEPTH && r->segments > 1)
		return r->segments;
	return 1;
}

double
dispatch_degr_segment_cost(const dispatch_resource *r, int j)
{
	int			J = dispatch_degr_nsegments(r);
	double		R;

	assert(j >= 0 && j < J);
	if (r->degr == DISPATCH_DEGR_NONE || r->replacement_cost <= 0.0)
		return 0.0;
	assert(r->capacity > 0.0);
	R = r->replacement_cost / r->capacity;
	if (r->degr == DISPATCH_DEGR_THROUGHPUT)
		return R / r->cycle_life;
	return R * J * (dispatch_degr_phi(r, (double) (j + 1) / J) -
					dispatch_degr_phi(r, (double) j / J));
}

void
dispatch_degr_rainflow(const dispatch_resource *r, const double *e, int n,
					   double *work, void *cyc, double *cost, double *efc)
{
	dispatch_cycle *c = cyc;
	int			nc = dispatch_rainflow(e, n, work, c);
	double		k = 0.0,
				f = 0.0;

	assert(r->capacity > 0.0);
	for (int i = 0; i < nc; i++)
	{
		double		d = c[i].range / r->capacity;

		if (r->degr != DISPATCH_DEGR_NONE && r->replacement_cost > 0.0)
			k += c[i].count * r->replacement_cost * dispatch_degr_phi(r, d);
		f += c[i].count * d;
	}
	*cost = k;
	*efc = f;
}
