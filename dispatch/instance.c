/*
 * dispatch/instance.c
 *	  The JSON instance reader: jansson for the syntax, tables of allowed
 *	  fields for the shape, and range checks that name the field.
 *
 * NOTES
 *	  Every object is checked against its table before anything is read
 *	  from it, so a misspelt field is an error, never a silent default.
 *	  The whole instance lives in the caller's arena; the jansson tree is
 *	  released before returning.
 */
#include "instance.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

typedef struct ctx
{
	arena	   *a;
	derms_err  *err;
	int			T;
} ctx;

static const char *const top_keys[] = {
	"format", "name", "interval_minutes", "intervals", "targets",
	"penalties", "groups", "resources", "solver", NULL
};
static const char *const target_keys[] = {
	"mw", "price_per_mwh", "reserve_mwh", NULL
};
static const char *const penalty_keys[] = {
	"shortfall_per_mwh", "surplus_per_mwh", "reserve_per_mwh",
	"feeder_per_mwh", NULL
};
static const char *const group_keys[] = {
	"id", "import_limit_mw", "export_limit_mw", NULL
};
static const char *const solver_keys[] = {
	"gap_tolerance", "max_iterations", "time_limit_s", "block_size",
	"threads", NULL
};
static const char *const battery_keys[] = {
	"id", "type", "group", "capacity_mwh", "charge_mw", "discharge_mw",
	"eta_charge", "eta_discharge", "soc_min", "soc_max", "soc",
	"soc_final_min", "self_discharge_per_hour", "degradation", NULL
};
static const char *const ev_keys[] = {
	"id", "type", "group", "capacity_mwh", "charge_mw", "discharge_mw",
	"v2g", "eta_charge", "eta_discharge", "soc_min", "soc_max",
	"sessions", "degradation", NULL
};
static const char *const session_keys[] = {
	"arrive", "depart", "soc_arrive", "soc_depart_min", NULL
};
static const char *const pv_keys[] = {
	"id", "type", "group", "available_mw", "curtailable", NULL
};
static const char *const flex_keys[] = {
	"id", "type", "group", "baseline_mw", "shed_max_mw", "raise_max_mw",
	"shed_cost_per_mwh", "energy_neutral", NULL
};
static const char *const degr_keys[] = {
	"model", "replacement_cost", "cycle_life", "depth_exponent",
	"segments", NULL
};

/* Range kinds for numbers. */
enum
{
	R_ANY,						/* finite */
	R_NONNEG,					/* >= 0 */
	R_POS,						/* > 0 */
	R_FRAC,						/* [0, 1] */
	R_EFF,						/* (0, 1] */
	R_FRAC_OPEN					/* [0, 1) */
};

static const char *const range_text[] = {
	"a finite number", "at least 0", "greater than 0", "within [0, 1]",
	"within (0, 1]", "within [0, 1)"
};

static derms_rc
check_keys(ctx *c, json_t *obj, const char *path, const char *const *allowed)
{
	const char *key;
	json_t	   *v;

	if (!json_is_object(obj))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected an object",
							 path);
	json_object_foreach(obj, key, v)
	{
		int			ok = 0;

		for (int i = 0; allowed[i]; i++)
			if (strcmp(allowed[i], key) == 0)
				ok = 1;
		if (!ok)
			return derms_err_set(c->err, DERMS_EPARSE,
								 "%s%s%s: unknown field", path,
								 *path ? "." : "", key);
	}
	return DERMS_OK;
}

static int
in_range(double v, int kind)
{
	if (!isfinite(v))
		return 0;
	switch (kind)
	{
		case R_NONNEG:
			return v >= 0.0;
		case R_POS:
			return v > 0.0;
		case R_FRAC:
			return v >= 0.0 && v <= 1.0;
		case R_EFF:
			return v > 0.0 && v <= 1.0;
		case R_FRAC_OPEN:
			return v >= 0.0 && v < 1.0;
	}
	return 1;
}

static const char *
fpath(ctx *c, const char *path, const char *key)
{
	return arena_printf(c->a, "%s%s%s", path, *path ? "." : "", key);
}

/* Number field: required unless def is not NAN. */
static derms_rc
get_num(ctx *c, json_t *obj, const char *path, const char *key, double def,
		int kind, double *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
	{
		if (isnan(def))
			return derms_err_set(c->err, DERMS_EPARSE, "%s: required field is missing",
								 fpath(c, path, key));
		*out = def;
		return DERMS_OK;
	}
	if (!json_is_number(v))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected a number",
							 fpath(c, path, key));
	*out = json_number_value(v);
	if (!in_range(*out, kind))
		return derms_err_set(c->err, DERMS_ERANGE, "%s: %g is not %s",
							 fpath(c, path, key), *out, range_text[kind]);
	return DERMS_OK;
}

static derms_rc
get_int(ctx *c, json_t *obj, const char *path, const char *key, int def,
		int lo, int hi, int *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL || json_is_null(v))
	{
		if (def == INT32_MIN)
			return derms_err_set(c->err, DERMS_EPARSE, "%s: required field is missing",
								 fpath(c, path, key));
		*out = def;
		return DERMS_OK;
	}
	if (!json_is_integer(v))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected an integer",
							 fpath(c, path, key));
	if (json_integer_value(v) < lo || json_integer_value(v) > hi)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s: %lld is outside [%d, %d]", fpath(c, path, key),
							 (long long) json_integer_value(v), lo, hi);
	*out = (int) json_integer_value(v);
	return DERMS_OK;
}

static derms_rc
get_bool(ctx *c, json_t *obj, const char *path, const char *key, int def,
		 int *out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL)
	{
		*out = def;
		return DERMS_OK;
	}
	if (!json_is_boolean(v))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected true or false",
							 fpath(c, path, key));
	*out = json_is_true(v);
	return DERMS_OK;
}

static derms_rc
get_str(ctx *c, json_t *obj, const char *path, const char *key, int required,
		const char **out)
{
	json_t	   *v = json_object_get(obj, key);

	if (v == NULL)
	{
		if (required)
			return derms_err_set(c->err, DERMS_EPARSE, "%s: required field is missing",
								 fpath(c, path, key));
		*out = NULL;
		return DERMS_OK;
	}
	if (!json_is_string(v))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected a string",
							 fpath(c, path, key));
	*out = arena_strdup(c->a, json_string_value(v));
	return *out ? DERMS_OK : derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
}

/*
 * Array of T numbers into out[T].  nulls allowed (-> NAN) when nullable;
 * an absent array gives def everywhere.
 */
static derms_rc
get_series(ctx *c, json_t *obj, const char *path, const char *key,
		   int nullable, int kind, double def, int required, double *out)
{
	json_t	   *v = json_object_get(obj, key);
	size_t		i;
	json_t	   *x;

	if (v == NULL)
	{
		if (required)
			return derms_err_set(c->err, DERMS_EPARSE, "%s: required field is missing",
								 fpath(c, path, key));
		for (int t = 0; t < c->T; t++)
			out[t] = def;
		return DERMS_OK;
	}
	if (!json_is_array(v))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected an array",
							 fpath(c, path, key));
	if (json_array_size(v) != (size_t) c->T)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s: has %zu values, expected one per interval (%d)",
							 fpath(c, path, key), json_array_size(v), c->T);
	json_array_foreach(v, i, x)
	{
		if (json_is_null(x) && nullable)
		{
			out[i] = NAN;
			continue;
		}
		if (!json_is_number(x))
			return derms_err_set(c->err, DERMS_EPARSE, "%s[%zu]: expected a number%s",
								 fpath(c, path, key), i,
								 nullable ? " or null" : "");
		out[i] = json_number_value(x);
		if (!in_range(out[i], kind))
			return derms_err_set(c->err, DERMS_ERANGE, "%s[%zu]: %g is not %s",
								 fpath(c, path, key), i, out[i],
								 range_text[kind]);
	}
	return DERMS_OK;
}

#define TRY(x) do { derms_rc rc_ = (x); if (rc_ != DERMS_OK) return rc_; } while (0)

static derms_rc
parse_degr(ctx *c, json_t *obj, const char *path, dispatch_resource *r)
{
	json_t	   *d = json_object_get(obj, "degradation");
	const char *p = fpath(c, path, "degradation");
	const char *model;

	r->degr = DISPATCH_DEGR_NONE;
	r->cycle_life = 1.0;
	r->depth_exponent = 1.0;
	r->segments = 1;
	if (d == NULL)
		return DERMS_OK;
	TRY(check_keys(c, d, p, degr_keys));
	TRY(get_str(c, d, p, "model", 1, &model));
	if (strcmp(model, "none") == 0)
		return DERMS_OK;
	if (strcmp(model, "throughput") == 0)
		r->degr = DISPATCH_DEGR_THROUGHPUT;
	else if (strcmp(model, "cycle_depth") == 0)
		r->degr = DISPATCH_DEGR_CYCLE_DEPTH;
	else
		return derms_err_set(c->err, DERMS_EPARSE,
							 "%s.model: \"%s\" is not none, throughput or cycle_depth",
							 p, model);
	TRY(get_num(c, d, p, "replacement_cost", NAN, R_NONNEG, &r->replacement_cost));
	TRY(get_num(c, d, p, "cycle_life", NAN, R_POS, &r->cycle_life));
	TRY(get_num(c, d, p, "depth_exponent", 1.0, R_POS, &r->depth_exponent));
	if (r->depth_exponent < 1.0)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s.depth_exponent: %g is below 1 (aging must be convex in depth)",
							 p, r->depth_exponent);
	TRY(get_int(c, d, p, "segments", r->degr == DISPATCH_DEGR_CYCLE_DEPTH ? 4 : 1,
				1, DISPATCH_MAX_SEGMENTS, &r->segments));
	return DERMS_OK;
}

static derms_rc
parse_soc_limits(ctx *c, json_t *o, const char *path, dispatch_resource *r)
{
	double		smin,
				smax;

	TRY(get_num(c, o, path, "capacity_mwh", NAN, R_POS, &r->capacity));
	TRY(get_num(c, o, path, "charge_mw", NAN, R_NONNEG, &r->p_charge));
	TRY(get_num(c, o, path, "eta_charge", 1.0, R_EFF, &r->eta_c));
	TRY(get_num(c, o, path, "eta_discharge", 1.0, R_EFF, &r->eta_d));
	TRY(get_num(c, o, path, "soc_min", 0.0, R_FRAC, &smin));
	TRY(get_num(c, o, path, "soc_max", 1.0, R_FRAC, &smax));
	if (smin > smax)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s: soc_min %g is above soc_max %g",
							 fpath(c, path, "soc_min"), smin, smax);
	r->e_min = smin * r->capacity;
	r->e_max = smax * r->capacity;
	return parse_degr(c, o, path, r);
}

static derms_rc
soc_within(ctx *c, const char *path, const char *key, double soc,
		   const dispatch_resource *r)
{
	double		e = soc * r->capacity;

	if (e < r->e_min - 1e-12 || e > r->e_max + 1e-12)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s: %g is outside [soc_min, soc_max] = [%g, %g]",
							 fpath(c, path, key), soc, r->e_min / r->capacity,
							 r->e_max / r->capacity);
	return DERMS_OK;
}

static derms_rc
parse_battery(ctx *c, json_t *o, const char *path, dispatch_resource *r)
{
	double		soc,
				fin;

	TRY(check_keys(c, o, path, battery_keys));
	TRY(parse_soc_limits(c, o, path, r));
	TRY(get_num(c, o, path, "discharge_mw", NAN, R_NONNEG, &r->p_discharge));
	TRY(get_num(c, o, path, "soc", NAN, R_FRAC, &soc));
	TRY(soc_within(c, path, "soc", soc, r));
	r->e_init = soc * r->capacity;
	TRY(get_num(c, o, path, "soc_final_min", r->e_min / r->capacity, R_FRAC, &fin));
	TRY(soc_within(c, path, "soc_final_min", fin, r));
	r->e_final_min = fin * r->capacity;
	TRY(get_num(c, o, path, "self_discharge_per_hour", 0.0, R_FRAC_OPEN,
				&r->self_discharge));
	return DERMS_OK;
}

static derms_rc
parse_ev(ctx *c, json_t *o, const char *path, dispatch_resource *r)
{
	json_t	   *ss,
			   *s;
	size_t		i;
	int			prev_depart = 0;
	const char *sp = fpath(c, path, "sessions");

	TRY(check_keys(c, o, path, ev_keys));
	TRY(parse_soc_limits(c, o, path, r));
	TRY(get_bool(c, o, path, "v2g", 0, &r->curtailable));
	TRY(get_num(c, o, path, "discharge_mw", 0.0, R_NONNEG, &r->p_discharge));
	if (!r->curtailable && r->p_discharge > 0.0)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "%s: discharge needs \"v2g\": true",
							 fpath(c, path, "discharge_mw"));
	r->curtailable = 0;
	ss = json_object_get(o, "sessions");
	if (!json_is_array(ss))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected an array", sp);
	r->nsessions = (int) json_array_size(ss);
	r->sessions = arena_calloc(c->a, (size_t) r->nsessions + 1,
							   sizeof(dispatch_session));
	if (r->sessions == NULL)
		return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
	json_array_foreach(ss, i, s)
	{
		dispatch_session *x = &r->sessions[i];
		const char *p = arena_printf(c->a, "%s[%zu]", sp, i);
		double		sa,
					sd;

		TRY(check_keys(c, s, p, session_keys));
		TRY(get_int(c, s, p, "arrive", INT32_MIN, 0, c->T - 1, &x->arrive));
		TRY(get_int(c, s, p, "depart", INT32_MIN, 1, c->T, &x->depart));
		if (x->depart <= x->arrive)
			return derms_err_set(c->err, DERMS_ERANGE,
								 "%s.depart: %d is not after arrive %d", p,
								 x->depart, x->arrive);
		if (x->arrive < prev_depart)
			return derms_err_set(c->err, DERMS_ERANGE,
								 "%s.arrive: %d is before the previous session departs (%d); sessions must be in time order and must not overlap",
								 p, x->arrive, prev_depart);
		prev_depart = x->depart;
		TRY(get_num(c, s, p, "soc_arrive", NAN, R_FRAC, &sa));
		TRY(soc_within(c, p, "soc_arrive", sa, r));
		TRY(get_num(c, s, p, "soc_depart_min", r->e_min / r->capacity, R_FRAC, &sd));
		TRY(soc_within(c, p, "soc_depart_min", sd, r));
		x->e_arrive = sa * r->capacity;
		x->e_need = sd * r->capacity;
	}
	return DERMS_OK;
}

static derms_rc
parse_pv(ctx *c, json_t *o, const char *path, dispatch_resource *r)
{
	TRY(check_keys(c, o, path, pv_keys));
	r->profile = arena_alloc(c->a, sizeof(double) * (size_t) c->T);
	if (r->profile == NULL)
		return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
	TRY(get_series(c, o, path, "available_mw", 0, R_NONNEG, 0, 1, r->profile));
	TRY(get_bool(c, o, path, "curtailable", 1, &r->curtailable));
	return DERMS_OK;
}

static derms_rc
parse_flex(ctx *c, json_t *o, const char *path, dispatch_resource *r)
{
	TRY(check_keys(c, o, path, flex_keys));
	r->profile = arena_alloc(c->a, sizeof(double) * (size_t) c->T);
	if (r->profile == NULL)
		return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
	TRY(get_series(c, o, path, "baseline_mw", 0, R_NONNEG, 0, 1, r->profile));
	TRY(get_num(c, o, path, "shed_max_mw", 0.0, R_NONNEG, &r->shed_max));
	TRY(get_num(c, o, path, "raise_max_mw", 0.0, R_NONNEG, &r->raise_max));
	TRY(get_num(c, o, path, "shed_cost_per_mwh", 0.0, R_NONNEG, &r->shed_cost));
	TRY(get_bool(c, o, path, "energy_neutral", 0, &r->energy_neutral));
	return DERMS_OK;
}

static const struct
{
	const char *name;
	dispatch_kind kind;
	derms_rc	(*parse) (ctx *, json_t *, const char *, dispatch_resource *);
}			kinds[] = {
	{"battery", DISPATCH_BATTERY, parse_battery},
	{"ev", DISPATCH_EV, parse_ev},
	{"pv", DISPATCH_PV, parse_pv},
	{"flexible_load", DISPATCH_FLEX, parse_flex},
};

static derms_rc
parse_resource(ctx *c, dispatch_instance *in, json_t *o, const char *path,
			   dispatch_resource *r)
{
	const char *type,
			   *group;
	int			k = -1;

	if (!json_is_object(o))
		return derms_err_set(c->err, DERMS_EPARSE, "%s: expected an object", path);
	TRY(get_str(c, o, path, "id", 1, &r->id));
	TRY(get_str(c, o, path, "type", 1, &type));
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(kinds[i].name, type) == 0)
			k = (int) i;
	if (k < 0)
		return derms_err_set(c->err, DERMS_EPARSE,
							 "%s.type: \"%s\" is not battery, ev, pv or flexible_load",
							 path, type);
	r->kind = kinds[k].kind;
	TRY(get_str(c, o, path, "group", 0, &group));
	r->group = -1;
	if (group == NULL)
	{
		if (in->ngroups != 1)
			return derms_err_set(c->err, DERMS_EPARSE,
								 "%s.group: required field is missing", path);
		r->group = 0;
	}
	else
	{
		for (int g = 0; g < in->ngroups; g++)
			if (strcmp(in->groups[g].id, group) == 0)
				r->group = g;
		if (r->group < 0)
			return derms_err_set(c->err, DERMS_ERANGE,
								 "%s.group: no group has id \"%s\"", path, group);
	}
	return kinds[k].parse(c, o, path, r);
}

static derms_rc
parse_root(ctx *c, json_t *root, dispatch_instance *in)
{
	const char *fmt;
	double		minutes;
	json_t	   *tg,
			   *pen,
			   *gs,
			   *rs,
			   *sol,
			   *x;
	size_t		i;

	TRY(check_keys(c, root, "", top_keys));
	TRY(get_str(c, root, "", "format", 1, &fmt));
	if (strcmp(fmt, DISPATCH_FORMAT) != 0)
		return derms_err_set(c->err, DERMS_EPARSE,
							 "format: \"%s\" is not \"%s\"", fmt, DISPATCH_FORMAT);
	TRY(get_str(c, root, "", "name", 0, &in->name));
	if (in->name == NULL)
		in->name = "";
	TRY(get_num(c, root, "", "interval_minutes", NAN, R_POS, &minutes));
	if (minutes > 1440)
		return derms_err_set(c->err, DERMS_ERANGE,
							 "interval_minutes: %g is longer than a day", minutes);
	in->dt = minutes / 60.0;
	TRY(get_int(c, root, "", "intervals", INT32_MIN, 1, DISPATCH_MAX_INTERVALS,
				&in->T));
	c->T = in->T;
	in->target = arena_alloc(c->a, sizeof(double) * (size_t) in->T);
	in->price = arena_alloc(c->a, sizeof(double) * (size_t) in->T);
	in->reserve = arena_alloc(c->a, sizeof(double) * (size_t) in->T);
	if (!in->target || !in->price || !in->reserve)
		return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
	tg = json_object_get(root, "targets");
	if (tg == NULL)
		tg = json_object();
	else
		json_incref(tg);
	{
		derms_rc	rc = check_keys(c, tg, "targets", target_keys);

		if (rc == DERMS_OK)
			rc = get_series(c, tg, "targets", "mw", 1, R_ANY, NAN, 0, in->target);
		if (rc == DERMS_OK)
			rc = get_series(c, tg, "targets", "price_per_mwh", 0, R_ANY, 0.0, 0,
							in->price);
		if (rc == DERMS_OK)
			rc = get_series(c, tg, "targets", "reserve_mwh", 1, R_NONNEG, NAN, 0,
							in->reserve);
		json_decref(tg);
		if (rc != DERMS_OK)
			return rc;
	}
	pen = json_object_get(root, "penalties");
	in->pen_shortfall = 1000.0;
	in->pen_reserve = 1000.0;
	in->pen_feeder = 100000.0;
	if (pen != NULL)
	{
		TRY(check_keys(c, pen, "penalties", penalty_keys));
		TRY(get_num(c, pen, "penalties", "shortfall_per_mwh", 1000.0, R_NONNEG,
					&in->pen_shortfall));
		TRY(get_num(c, pen, "penalties", "reserve_per_mwh", 1000.0, R_NONNEG,
					&in->pen_reserve));
		TRY(get_num(c, pen, "penalties", "feeder_per_mwh", 100000.0, R_NONNEG,
					&in->pen_feeder));
	}
	in->pen_surplus = in->pen_shortfall;
	if (pen != NULL)
		TRY(get_num(c, pen, "penalties", "surplus_per_mwh", in->pen_shortfall,
					R_NONNEG, &in->pen_surplus));

	dispatch_options_default(&in->opt);
	sol = json_object_get(root, "solver");
	if (sol != NULL)
	{
		TRY(check_keys(c, sol, "solver", solver_keys));
		TRY(get_num(c, sol, "solver", "gap_tolerance", in->opt.gap_tolerance,
					R_NONNEG, &in->opt.gap_tolerance));
		TRY(get_int(c, sol, "solver", "max_iterations", in->opt.max_iterations,
					1, 100000, &in->opt.max_iterations));
		TRY(get_num(c, sol, "solver", "time_limit_s", 0.0, R_NONNEG,
					&in->opt.time_limit));
		TRY(get_int(c, sol, "solver", "block_size", 0, 0, 1000000,
					&in->opt.block_size));
		TRY(get_int(c, sol, "solver", "threads", 0, 0, 256, &in->opt.threads));
	}

	gs = json_object_get(root, "groups");
	if (gs == NULL)
	{
		in->ngroups = 1;
		in->groups = arena_calloc(c->a, 1, sizeof(dispatch_group));
		if (in->groups == NULL)
			return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
		in->groups[0].id = "all";
		in->groups[0].import_limit = HUGE_VAL;
		in->groups[0].export_limit = HUGE_VAL;
	}
	else
	{
		if (!json_is_array(gs) || json_array_size(gs) == 0)
			return derms_err_set(c->err, DERMS_EPARSE,
								 "groups: expected a non-empty array");
		in->ngroups = (int) json_array_size(gs);
		in->groups = arena_calloc(c->a, (size_t) in->ngroups, sizeof(dispatch_group));
		if (in->groups == NULL)
			return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
		json_array_foreach(gs, i, x)
		{
			dispatch_group *g = &in->groups[i];
			const char *p = arena_printf(c->a, "groups[%zu]", i);

			TRY(check_keys(c, x, p, group_keys));
			TRY(get_str(c, x, p, "id", 1, &g->id));
			TRY(get_num(c, x, p, "import_limit_mw", HUGE_VAL, R_NONNEG,
						&g->import_limit));
			TRY(get_num(c, x, p, "export_limit_mw", HUGE_VAL, R_NONNEG,
						&g->export_limit));
			for (size_t j = 0; j < i; j++)
				if (strcmp(in->groups[j].id, g->id) == 0)
					return derms_err_set(c->err, DERMS_ERANGE,
										 "%s.id: \"%s\" is used twice", p, g->id);
		}
	}

	rs = json_object_get(root, "resources");
	if (!json_is_array(rs))
		return derms_err_set(c->err, DERMS_EPARSE, "resources: expected an array");
	in->nres = (int) json_array_size(rs);
	in->res = arena_calloc(c->a, (size_t) in->nres + 1, sizeof(dispatch_resource));
	if (in->res == NULL)
		return derms_err_set(c->err, DERMS_ENOMEM, "out of memory");
	json_array_foreach(rs, i, x)
	{
		char		p[48];

		snprintf(p, sizeof(p), "resources[%zu]", i);
		TRY(parse_resource(c, in, x, p, &in->res[i]));
	}
	return DERMS_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

derms_rc
dispatch_instance_parse(arena *a, const char *text, size_t len,
						dispatch_instance **out, derms_err *err)
{
	json_error_t jerr;
	json_t	   *root;
	dispatch_instance *in;
	ctx			c = {a, err, 0};
	derms_rc	rc;

	assert(a != NULL && out != NULL);
	*out = NULL;
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return derms_err_set(err, DERMS_EPARSE, "line %d, column %d: %s",
							 jerr.line, jerr.column, jerr.text);
	in = arena_calloc(a, 1, sizeof(*in));
	if (in == NULL)
	{
		json_decref(root);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	rc = parse_root(&c, root, in);
	json_decref(root);
	if (rc == DERMS_OK)
	{
		/* duplicate ids would make schedules ambiguous */
		const char **ids = malloc(sizeof(char *) * ((size_t) in->nres + 1));

		if (ids == NULL)
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		for (int r = 0; ids && r < in->nres; r++)
			ids[r] = in->res[r].id;
		if (ids)
			qsort(ids, (size_t) in->nres, sizeof(char *), cmp_str);
		for (int r = 1; ids && r < in->nres && rc == DERMS_OK; r++)
			if (strcmp(ids[r], ids[r - 1]) == 0)
				rc = derms_err_set(err, DERMS_ERANGE,
								   "resources: id \"%s\" is used twice", ids[r]);
		free(ids);
	}
	if (rc == DERMS_OK)
		*out = in;
	return rc;
}

derms_rc
dispatch_instance_load(arena *a, const char *path, dispatch_instance **out,
					   derms_err *err)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char	   *buf = NULL;
	size_t		len = 0,
				cap = 0;
	derms_rc	rc;

	if (f == NULL)
		return derms_err_set(err, DERMS_EIO, "could not open \"%s\": %s", path,
							 strerror(errno));
	for (;;)
	{
		size_t		n;

		if (len + 65536 > cap)
		{
			char	   *q;

			cap = cap ? cap * 2 : 1 << 20;
			q = realloc(buf, cap);
			if (q == NULL)
			{
				free(buf);
				if (f != stdin)
					fclose(f);
				return derms_err_set(err, DERMS_ENOMEM, "out of memory");
			}
			buf = q;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f))
	{
		free(buf);
		if (f != stdin)
			fclose(f);
		return derms_err_set(err, DERMS_EIO, "could not read \"%s\"", path);
	}
	if (f != stdin)
		fclose(f);
	rc = dispatch_instance_parse(a, buf, len, out, err);
	free(buf);
	return rc;
}
