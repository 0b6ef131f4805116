/*
 * dispatch/model.h
 *	  The dispatch instance (resources, feeder groups, targets) and the
 *	  schedule a solver returns.  Plain data; no solver lives here.
 *
 * NOTES
 *	  Units: power in MW (positive = injection into the grid), energy in
 *	  MWh, money in $, interval length in hours (dt).  SoC fields of the
 *	  JSON format are fractions of capacity; here they are already MWh.
 *	  An instance and everything it points to is owned by one arena.  A
 *	  schedule is malloc'd (it may be large) and freed with
 *	  dispatch_schedule_free().
 */
#ifndef DERMS_DISPATCH_MODEL_H
#define DERMS_DISPATCH_MODEL_H

#include <stddef.h>

#include "server/arena.h"
#include "server/err.h"

#define DISPATCH_MAX_INTERVALS	2880
#define DISPATCH_MAX_SEGMENTS	32

typedef enum dispatch_kind
{
	DISPATCH_BATTERY,
	DISPATCH_EV,
	DISPATCH_PV,
	DISPATCH_FLEX
} dispatch_kind;

typedef enum dispatch_degr
{
	DISPATCH_DEGR_NONE,
	DISPATCH_DEGR_THROUGHPUT,	/* $/MWh discharged, from cost and life */
	DISPATCH_DEGR_CYCLE_DEPTH	/* Xu et al. 2018 piecewise-linear */
} dispatch_degr;

/* One plug-in session of an EV: intervals [arrive, depart). */
typedef struct dispatch_session
{
	int			arrive;
	int			depart;
	double		e_arrive;		/* MWh stored on arrival */
	double		e_need;			/* MWh stored at departure, at least */
} dispatch_session;

typedef struct dispatch_resource
{
	const char *id;
	dispatch_kind kind;
	int			group;			/* index into instance groups */

	/* battery and EV */
	double		capacity;		/* MWh */
	double		p_charge;		/* MW, grid side */
	double		p_discharge;	/* MW, grid side (EV: 0 unless V2G) */
	double		eta_c;
	double		eta_d;
	double		e_min;			/* MWh */
	double		e_max;			/* MWh */
	double		e_init;			/* MWh (battery) */
	double		e_final_min;	/* MWh at end of horizon (battery) */
	double		self_discharge; /* fraction per hour */
	dispatch_degr degr;
	double		replacement_cost;	/* $ for the whole pack */
	double		cycle_life;		/* full cycles at 100 % depth */
	double		depth_exponent; /* k_p in N(d) = N100 * d^-k_p */
	int			segments;		/* J for cycle-depth (1 = throughput) */

	/* EV */
	int			nsessions;
	dispatch_session *sessions;

	/* PV: available[t]; FLEX: baseline[t] */
	double	   *profile;
	int			curtailable;	/* PV */
	double		shed_max;		/* FLEX: MW below baseline */
	double		raise_max;		/* FLEX: MW above baseline */
	double		shed_cost;		/* FLEX: $/MWh shed */
	int			energy_neutral; /* FLEX: total energy equals baseline */
} dispatch_resource;

typedef struct dispatch_group
{
	const char *id;
	double		import_limit;	/* MW, >= 0: net withdrawal at most this */
	double		export_limit;	/* MW, >= 0: net injection at most this */
} dispatch_group;

typedef struct dispatch_options
{
	double		gap_tolerance;	/* relative; stop when reached */
	int			max_iterations;
	double		time_limit;		/* seconds, 0 = none */
	int			block_size;		/* devices per DW block, 0 = automatic */
	int			threads;		/* pricing threads, 0 = automatic */
} dispatch_options;

typedef struct dispatch_instance
{
	const char *name;
	int			T;				/* intervals */
	double		dt;				/* hours per interval */
	double	   *target;			/* [T] MW; NAN = no instruction */
	double	   *price;			/* [T] $/MWh (0 when absent) */
	double	   *reserve;		/* [T] MWh held by batteries; NAN = none */
	double		pen_shortfall;	/* $/MWh below target */
	double		pen_surplus;	/* $/MWh above target */
	double		pen_reserve;	/* $/MWh of reserve not held */
	double		pen_feeder;		/* $/MWh beyond a feeder limit (elastic) */
	int			ngroups;
	dispatch_group *groups;
	int			nres;
	dispatch_resource *res;
	dispatch_options opt;
} dispatch_instance;

/*
 * A schedule: per resource r and interval t, index r * T + t.
 *	pc  charge / consumption (MW, >= 0)
 *	pd  discharge / generation (MW, >= 0); net injection = pd - pc
 *	e   stored energy at the end of the interval (MWh); 0 for PV and FLEX
 */
typedef struct dispatch_costs
{
	double		energy;			/* - sum dt * price * net injection */
	double		degradation;
	double		shortfall;		/* penalty for deviation from targets */
	double		reserve;
	double		feeder;
	double		flex;			/* shed cost of flexible loads */
	double		total;
} dispatch_costs;

typedef struct dispatch_schedule
{
	int			nres;
	int			T;
	double	   *pc;
	double	   *pd;
	double	   *e;
	double	   *degr_cost;		/* [nres] modelled degradation $ */
	double	   *efc;			/* [nres] equivalent full cycles */
	double	   *flex_cost;		/* [nres] shed cost $ */
	dispatch_costs cost;
	double		lower_bound;
	double		gap;			/* (cost - bound) / max(|cost|, |bound|, 1) */
	double		shortfall_mwh;	/* energy below target, summed */
	double		surplus_mwh;	/* energy above target, summed */
	int			iterations;
	double		seconds;
	const char *method;			/* static string */
} dispatch_schedule;

/* new; all arrays zeroed; NULL on ENOMEM. */
dispatch_schedule *dispatch_schedule_new(int nres, int T);
void		dispatch_schedule_free(dispatch_schedule *s);

/* Fill s->cost, shortfall_mwh and surplus_mwh from the schedule and the
 * per-resource costs it already holds. */
void		dispatch_schedule_evaluate(const dispatch_instance *in,
									   dispatch_schedule *s);

/* Per-interval retention factor of a battery: (1 - sd)^dt. */
double		dispatch_retention(const dispatch_resource *r, double dt);

/* Default solver options. */
void		dispatch_options_default(dispatch_options *o);

#endif							/* DERMS_DISPATCH_MODEL_H */
