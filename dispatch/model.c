/*
 * dispatch/model.c
 *	  Schedules: allocation, and the cost breakdown every solver reports.
 *
 * NOTES
 *	  dispatch_schedule_evaluate() is the one place where the objective of
 *	  the whole fleet is written down; the solvers' own objective values
 *	  are checked against it in the tests.
 */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

dispatch_schedule *
dispatch_schedule_new(int nres, int T)
{
	dispatch_schedule *s = calloc(1, sizeof(*s));
	size_t		n = (size_t) nres * (size_t) T;

	assert(nres >= 0 && T > 0);
	if (s == NULL)
		return NULL;
	s->nres = nres;
	s->T = T;
	s->pc = calloc(n ? n : 1, sizeof(double));
	s->pd = calloc(n ? n : 1, sizeof(double));
	s->e = calloc(n ? n : 1, sizeof(double));
	s->degr_cost = calloc(nres ? nres : 1, sizeof(double));
	s->efc = calloc(nres ? nres : 1, sizeof(double));
	s->flex_cost = calloc(nres ? nres : 1, sizeof(double));
	s->method = "";
	if (!s->pc || !s->pd || !s->e || !s->degr_cost || !s->efc || !s->flex_cost)
	{
		dispatch_schedule_free(s);
		return NULL;
	}
	return s;
}

void
dispatch_schedule_free(dispatch_schedule *s)
{
	if (s == NULL)
		return;
	free(s->pc);
	free(s->pd);
	free(s->e);
	free(s->degr_cost);
	free(s->efc);
	free(s->flex_cost);
	free(s);
}

double
dispatch_retention(const dispatch_resource *r, double dt)
{
	if (r->self_discharge <= 0.0)
		return 1.0;
	return pow(1.0 - r->self_discharge, dt);
}

void
dispatch_options_default(dispatch_options *o)
{
	o->gap_tolerance = 5e-4;
	o->max_iterations = 200;
	o->time_limit = 0.0;
	o->block_size = 0;
	o->threads = 0;
}

void
dispatch_schedule_evaluate(const dispatch_instance *in, dispatch_schedule *s)
{
	int			T = in->T;
	dispatch_costs c = {0};
	double		sh = 0.0,
				su = 0.0;
	double	   *gnet;

	assert(s->nres == in->nres && s->T == T);
	for (int r = 0; r < in->nres; r++)
	{
		c.degradation += s->degr_cost[r];
		c.flex += s->flex_cost[r];
	}
	for (int t = 0; t < T; t++)
	{
		double		net = 0.0,
					stored = 0.0;

		for (int r = 0; r < in->nres; r++)
		{
			size_t		k = (size_t) r * T + t;

			net += s->pd[k] - s->pc[k];
			if (in->res[r].kind == DISPATCH_BATTERY)
				stored += s->e[k];
		}
		c.energy -= in->dt * in->price[t] * net;
		if (!isnan(in->target[t]))
		{
			double		d = in->target[t] - net;

			if (d > 0)
			{
				sh += d * in->dt;
				c.shortfall += in->pen_shortfall * d * in->dt;
			}
			else
			{
				su += -d * in->dt;
				c.shortfall += in->pen_surplus * -d * in->dt;
			}
		}
		if (!isnan(in->reserve[t]) && stored < in->reserve[t])
			c.reserve += in->pen_reserve * (in->reserve[t] - stored);
	}
	gnet = calloc((size_t) (in->ngroups ? in->ngroups : 1) * T, sizeof(double));
	if (gnet != NULL)
	{
		for (int r = 0; r < in->nres; r++)
			for (int t = 0; t < T; t++)
				gnet[(size_t) in->res[r].group * T + t] +=
					s->pd[(size_t) r * T + t] - s->pc[(size_t) r * T + t];
		for (int g = 0; g < in->ngroups; g++)
			for (int t = 0; t < T; t++)
			{
				double		net = gnet[(size_t) g * T + t];

				if (net > in->groups[g].export_limit)
					c.feeder += in->pen_feeder * in->dt *
						(net - in->groups[g].export_limit);
				else if (-net > in->groups[g].import_limit)
					c.feeder += in->pen_feeder * in->dt *
						(-net - in->groups[g].import_limit);
			}
		free(gnet);
	}
	c.total = c.energy + c.degradation + c.shortfall + c.reserve +
		c.feeder + c.flex;
	s->cost = c;
	s->shortfall_mwh = sh;
	s->surplus_mwh = su;
}
