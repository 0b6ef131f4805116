/*
 * dispatch/check.c
 *	  Re-derives every limit from the instance and checks a schedule
 *	  against it, without sharing code with the solvers: every test runs
 *	  its schedules through this.
 */
#include "check.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

typedef struct chk
{
	int			n;
	derms_err  *err;
	double		tol;
} chk;

static void
bad(chk *k, int cond, const dispatch_resource *r, int t, const char *what,
	double v, double lim)
{
	if (!cond)
		return;
	if (k->n++ == 0 && k->err != NULL)
		derms_err_set(k->err, DERMS_ERANGE, "%s at interval %d: %s %.9g vs %.9g",
					  r ? r->id : "feeder", t, what, v, lim);
}

static void
check_storage(chk *k, const dispatch_instance *in, const dispatch_resource *r,
			  const double *pc, const double *pd, const double *e, int t0,
			  int t1, double e0, double need, double rr)
{
	double		prev = e0;
	double		tol = k->tol;

	for (int t = t0; t < t1; t++)
	{
		double		want = rr * prev + r->eta_c * pc[t] * in->dt -
			pd[t] * in->dt / r->eta_d;

		bad(k, pc[t] < -tol || pc[t] > r->p_charge + tol, r, t, "charge", pc[t], r->p_charge);
		bad(k, pd[t] < -tol || pd[t] > r->p_discharge + tol, r, t, "discharge", pd[t], r->p_discharge);
		bad(k, e[t] < r->e_min - tol, r, t, "stored below minimum", e[t], r->e_min);
		bad(k, e[t] > r->e_max + tol, r, t, "stored above maximum", e[t], r->e_max);
		bad(k, fabs(e[t] - want) > tol, r, t, "SoC dynamics", e[t], want);
		prev = e[t];
	}
	bad(k, t1 > t0 && e[t1 - 1] < need - tol, r, t1 - 1, "end energy", e[t1 - 1], need);
}

/* The limits of resource i alone. */
static void
check_resource(chk *k, const dispatch_instance *in, const dispatch_schedule *s,
			   int i)
{
	const dispatch_resource *r = &in->res[i];
	int			T = in->T;
	double		tol = k->tol;
	const double *pc = &s->pc[(size_t) i * T],
			   *pd = &s->pd[(size_t) i * T],
			   *e = &s->e[(size_t) i * T];

	switch (r->kind)
	{
		case DISPATCH_BATTERY:
			check_storage(k, in, r, pc, pd, e, 0, T, r->e_init,
						  r->e_final_min, dispatch_retention(r, in->dt));
			break;
		case DISPATCH_EV:
			{
				int			t = 0;

				for (int q = 0; q < r->nsessions; q++)
				{
					const dispatch_session *x = &r->sessions[q];

					for (; t < x->arrive; t++)
						bad(k, fabs(pc[t]) + fabs(pd[t]) > tol, r, t,
							"power while unplugged", pc[t] + pd[t], 0);
					check_storage(k, in, r, pc, pd, e, x->arrive, x->depart,
								  x->e_arrive, x->e_need, 1.0);
					t = x->depart;
				}
				for (; t < T; t++)
					bad(k, fabs(pc[t]) + fabs(pd[t]) > tol, r, t,
						"power while unplugged", pc[t] + pd[t], 0);
				break;
			}
		case DISPATCH_PV:
			for (int t = 0; t < T; t++)
			{
				bad(k, pc[t] != 0.0, r, t, "PV consumption", pc[t], 0);
				bad(k, pd[t] > r->profile[t] + tol, r, t, "PV above forecast", pd[t], r->profile[t]);
				bad(k, pd[t] < (r->curtailable ? 0.0 : r->profile[t]) - tol, r, t,
					"PV below its floor", pd[t], r->profile[t]);
			}
			break;
		case DISPATCH_FLEX:
			{
				double		dev = 0.0;

				for (int t = 0; t < T; t++)
				{
					double		b = r->profile[t];

					bad(k, pd[t] != 0.0, r, t, "load generation", pd[t], 0);
					bad(k, pc[t] < b - fmin(r->shed_max, b) - tol, r, t,
						"load below shed limit", pc[t], b - r->shed_max);
					bad(k, pc[t] > b + r->raise_max + tol, r, t,
						"load above raise limit", pc[t], b + r->raise_max);
					dev += (pc[t] - b) * in->dt;
				}
				bad(k, r->energy_neutral && fabs(dev) > tol * T, r, T - 1,
					"energy neutrality", dev, 0);
				break;
			}
	}
}

int
dispatch_check_resource(const dispatch_instance *in, const dispatch_schedule *s,
						int r, double tol)
{
	chk			k = {0, NULL, tol};

	assert(r >= 0 && r < in->nres && s->nres == in->nres && s->T == in->T);
	check_resource(&k, in, s, r);
	return k.n;
}

int
dispatch_check_schedule(const dispatch_instance *in, const dispatch_schedule *s,
						double tol, derms_err *err)
{
	chk			k = {0, err, tol};
	int			T = in->T;
	double	   *gnet = calloc((size_t) in->ngroups * T, sizeof(double));

	if (gnet == NULL)
		return -1;
	for (int i = 0; i < in->nres; i++)
	{
		const dispatch_resource *r = &in->res[i];

		for (int t = 0; t < T; t++)
			gnet[(size_t) r->group * T + t] +=
				s->pd[(size_t) i * T + t] - s->pc[(size_t) i * T + t];
		check_resource(&k, in, s, i);
	}
	for (int g = 0; g < in->ngroups; g++)
		for (int t = 0; t < T; t++)
		{
			double		v = gnet[(size_t) g * T + t];

			bad(&k, v > in->groups[g].export_limit + tol, NULL, t,
				"group export", v, in->groups[g].export_limit);
			bad(&k, -v > in->groups[g].import_limit + tol, NULL, t,
				"group import", -v, in->groups[g].import_limit);
		}
	free(gnet);
	return k.n;
}
