/*
 * dispatch/dbinstance.c
 *	  Building a dispatch instance from the database.  The instance is
 *	  written as the documented JSON format first and then read back with
 *	  dispatch_instance_parse(), so what is solved is exactly what a run
 *	  stores and every value goes through the same checks as an offline
 *	  instance.
 *
 * NOTES
 *	  Horizon.  Intervals are as long as the shortest target interval of
 *	  the horizon; the first one is the interval holding "now", the last
 *	  one ends with the last target (at most horizon_h after now).  An
 *	  interval's target is the newest dispatch_targets row covering its
 *	  start; intervals without one have no instruction (null).
 *
 *	  Members.  Batteries only: other kinds are recorded as 'unsupported'
 *	  and left out (their output is not dispatchable here).  A battery
 *	  whose latest DERStatus is older than offline_s is 'offline' and left
 *	  out: the rest of the aggregation is dispatched without it.  One that
 *	  never reported a SoC is dispatched from DISPATCH_DB_SOC_ASSUMED
 *	  ('assumed').  A SoC outside the operating band widens the band to
 *	  it, so the device's real state is always feasible.
 *
 *	  Groups are the members' feeders, limited both ways by the feeder's
 *	  hosting capacity; members without a site share one unlimited group.
 */
#include "dbinstance.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dispatch/instance.h"

#define NO_FEEDER_GROUP "no-feeder"
#define UNLIMITED_MW 1e6

PGresult *
dispatch_db_exec(PGconn *c, arena *a, const char *sql, int n,
				 const char *const *params, derms_err *err)
{
	PGresult   *r;
	ExecStatusType st;

	assert(c != NULL && a != NULL && sql != NULL);
	r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		derms_err_set(err, DERMS_EDB, "%s", m ? m : PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	arena_on_destroy(a, (arena_cleanup_fn) PQclear, r);
	return r;
}

static double
num_or(PGresult *r, int row, int col, double dflt)
{
	return PQgetisnull(r, row, col) ? dflt : strtod(PQgetvalue(r, row, col), NULL);
}

/* Targets of the horizon into the instance JSON; T and start into *ip. */
static derms_rc
add_targets(PGconn *c, arena *a, const dispatch_db_params *p, json_t *inst,
			dispatch_db_input *ip, derms_err *err)
{
	const char *par[3];
	PGresult   *r;
	int64_t		L = 0,
				t0,
				last_end = 0;
	int			T,
				n;
	json_t	   *mw, *price, *reserve;
	bool		any_price = false,
				any_reserve = false;

	par[0] = arena_printf(a, "%" PRId64, p->aggregation_id);
	par[1] = arena_printf(a, "%lld", (long long) p->now);
	par[2] = arena_printf(a, "%d", p->horizon_h);
	r = dispatch_db_exec(c, a,
						 "SELECT extract(epoch FROM interval_start)::bigint, interval_s, mw,"
						 " price_per_mwh, reserve_mwh, id FROM dispatch_targets"
						 " WHERE aggregation_id = $1::bigint"
						 " AND interval_start + interval_s * interval '1 second' > to_timestamp($2::bigint)"
						 " AND interval_start < to_timestamp($2::bigint) + $3::int * interval '1 hour'"
						 " ORDER BY id", 3, par, err);
	if (r == NULL)
		return err->code;
	n = PQntuples(r);
	if (n == 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "aggregation %" PRId64 " has no target in the next %d h",
							 p->aggregation_id, p->horizon_h);
	for (int i = 0; i < n; i++)
	{
		int64_t		s = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		int64_t		len = strtoll(PQgetvalue(r, i, 1), NULL, 10);

		if (L == 0 || len < L)
			L = len;
		if (s + len > last_end)
			last_end = s + len;
	}
	t0 = ((int64_t) p->now / L) * L;
	if (last_end > (int64_t) p->now + (int64_t) p->horizon_h * 3600)
		last_end = (int64_t) p->now + (int64_t) p->horizon_h * 3600;
	T = (int) ((last_end - t0 + L - 1) / L);
	if (T < 1)
		T = 1;
	if (T > DISPATCH_MAX_INTERVALS)
		T = DISPATCH_MAX_INTERVALS;
	mw = json_array();
	price = json_array();
	reserve = json_array();
	for (int t = 0; t < T; t++)
	{
		int64_t		at = t0 + (int64_t) t * L;
		int			best = -1;

		/* rows are in id order: the last covering one is the newest */
		for (int i = 0; i < n; i++)
		{
			int64_t		s = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			int64_t		len = strtoll(PQgetvalue(r, i, 1), NULL, 10);

			if (s <= at && at < s + len)
				best = i;
		}
		if (best < 0)
		{
			json_array_append_new(mw, json_null());
			json_array_append_new(price, json_real(0));
			json_array_append_new(reserve, json_null());
			continue;
		}
		json_array_append_new(mw, json_real(num_or(r, best, 2, 0)));
		json_array_append_new(price, json_real(num_or(r, best, 3, 0)));
		any_price = any_price || !PQgetisnull(r, best, 3);
		if (PQgetisnull(r, best, 4))
			json_array_append_new(reserve, json_null());
		else
		{
			json_array_append_new(reserve, json_real(num_or(r, best, 4, 0)));
			any_reserve = true;
		}
	}
	{
		json_t	   *tg = json_object();

		json_object_set_new(tg, "mw", mw);
		if (any_price)
			json_object_set_new(tg, "price_per_mwh", price);
		else
			json_decref(price);
		if (any_reserve)
			json_object_set_new(tg, "reserve_mwh", reserve);
		else
			json_decref(reserve);
		json_object_set_new(inst, "targets", tg);
	}
	json_object_set_new(inst, "interval_minutes", json_integer((json_int_t) (L / 60)));
	json_object_set_new(inst, "intervals", json_integer(T));
	ip->horizon_start = t0;
	ip->interval_s = (int) L;
	return DERMS_OK;
}

/* The battery of row i as an instance resource (new reference). */
static json_t *
battery_json(PGresult *r, int i, const char *group, double soc)
{
	double		cap = num_or(r, i, 3, 0) / 1e6;
	double		rated = num_or(r, i, 2, 0);
	double		pc = num_or(r, i, 4, rated) / 1e6;
	double		pd = num_or(r, i, 5, rated) / 1e6;
	double		lo = DISPATCH_DB_SOC_MIN,
				hi = DISPATCH_DB_SOC_MAX;

	if (soc < lo)
		lo = soc;
	if (soc > hi)
		hi = soc;
	return json_pack("{s:s,s:s,s:s,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f,"
					 "s:{s:s,s:f,s:f}}",
					 "id", PQgetvalue(r, i, 0), "type", "battery", "group", group,
					 "capacity_mwh", cap, "charge_mw", pc, "discharge_mw", pd,
					 "eta_charge", num_or(r, i, 6, 0.95),
					 "eta_discharge", num_or(r, i, 7, 0.95),
					 "soc_min", lo, "soc_max", hi, "soc", soc, "soc_final_min", lo,
					 "degradation", "model", "throughput",
					 "replacement_cost", DISPATCH_DB_COST_PER_KWH * cap * 1000.0,
					 "cycle_life", DISPATCH_DB_CYCLE_LIFE);
}

/* Members into the instance JSON and ip->members. */
static derms_rc
add_members(PGconn *c, arena *a, const dispatch_db_params *p, json_t *inst,
			dispatch_db_input *ip, derms_err *err)
{
	const char *par[3];
	PGresult   *r;
	json_t	   *res = json_array();
	json_t	   *groups = json_array();
	json_t	   *seen = json_object();
	int			n,
				nres = 0;

	json_object_set_new(inst, "resources", res);
	json_object_set_new(inst, "groups", groups);
	arena_on_destroy(a, (arena_cleanup_fn) json_decref, seen);
	par[0] = arena_printf(a, "%" PRId64, p->aggregation_id);
	par[1] = arena_printf(a, "%lld", (long long) p->now);
	par[2] = arena_printf(a, "%d", p->offline_s);
	/* the latest status of each member, as der_state_current defines it */
	r = dispatch_db_exec(c, a,
						 "SELECT d.id, d.kind, d.rated_w, d.rated_wh, d.max_charge_w,"
						 " d.max_discharge_w, d.charge_efficiency, d.discharge_efficiency,"
						 " f.name, f.hosting_capacity_kw,"
						 " (s.doc #>> '{stateOfChargeStatus,value}')::double precision / 10000,"
						 " s.received_at,"
						 " s.received_at < to_timestamp($2::bigint) - $3::int * interval '1 second'"
						 " FROM aggregation_members m JOIN der_resources d ON d.id = m.der_id"
						 " LEFT JOIN sites si ON si.id = d.site_id"
						 " LEFT JOIN feeders f ON f.id = si.feeder_id"
						 " LEFT JOIN LATERAL (SELECT x.received_at, x.doc FROM der_reports x"
						 "   WHERE x.der_id = d.id AND x.resource = 'status'"
						 "   ORDER BY x.id DESC LIMIT 1) s ON true"
						 " WHERE m.aggregation_id = $1::bigint"
						 " AND m.effective_from <= to_timestamp($2::bigint)"
						 " AND (m.effective_to IS NULL OR m.effective_to > to_timestamp($2::bigint))"
						 " ORDER BY d.id", 3, par, err);
	if (r == NULL)
		return err->code;
	n = PQntuples(r);
	ip->nmembers = n;
	ip->members = arena_calloc(a, n > 0 ? (size_t) n : 1, sizeof(dispatch_db_member));
	if (ip->members == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (int i = 0; i < n; i++)
	{
		dispatch_db_member *m = &ip->members[i];
		bool		has_soc = !PQgetisnull(r, i, 10);
		double		cap = num_or(r, i, 3, 0);
		double		rated = num_or(r, i, 2, 0);
		const char *group;

		m->der_id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		m->res = -1;
		m->soc = has_soc ? num_or(r, i, 10, NAN) : NAN;
		m->status_at = PQgetisnull(r, i, 11) ? NULL : PQgetvalue(r, i, 11);
		if (strcmp(PQgetvalue(r, i, 1), "battery") != 0 || cap <= 0 ||
			(num_or(r, i, 4, rated) <= 0 && num_or(r, i, 5, rated) <= 0))
		{
			m->state = "unsupported";
			continue;
		}
		if (has_soc && strcmp(PQgetvalue(r, i, 12), "t") == 0)
		{
			m->state = "offline";
			continue;
		}
		if (!has_soc || m->soc < 0 || m->soc > 1)
		{
			m->state = "assumed";
			m->soc = DISPATCH_DB_SOC_ASSUMED;
		}
		else
			m->state = "online";
		if (PQgetisnull(r, i, 8))
		{
			group = NO_FEEDER_GROUP;
			if (json_object_get(seen, group) == NULL)
				json_array_append_new(groups, json_pack("{s:s,s:f,s:f}", "id", group,
														"import_limit_mw", UNLIMITED_MW,
														"export_limit_mw", UNLIMITED_MW));
		}
		else
		{
			double		lim = num_or(r, i, 9, 0) / 1000.0;

			group = arena_printf(a, "feeder %s", PQgetvalue(r, i, 8));
			if (json_object_get(seen, group) == NULL)
				json_array_append_new(groups, json_pack("{s:s,s:f,s:f}", "id", group,
														"import_limit_mw", lim,
														"export_limit_mw", lim));
		}
		json_object_set_new(seen, group, json_true());
		json_array_append_new(res, battery_json(r, i, group, m->soc));
		m->res = nres++;
	}
	if (nres == 0)
		return derms_err_set(err, DERMS_EINVAL,
							 "aggregation %" PRId64 " has no battery that can be dispatched now"
							 " (%d members)", p->aggregation_id, n);
	return DERMS_OK;
}

derms_rc
dispatch_db_build(PGconn *c, arena *a, const dispatch_db_params *p,
				  dispatch_db_input **out, derms_err *err)
{
	dispatch_db_input *ip;
	const char *par[1];
	PGresult   *r;
	json_t	   *inst;
	char	   *text;
	derms_rc	rc;

	assert(c != NULL && a != NULL && p != NULL && out != NULL);
	assert(p->horizon_h > 0);
	ip = arena_calloc(a, 1, sizeof(*ip));
	if (ip == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	ip->aggregation_id = p->aggregation_id;
	par[0] = arena_printf(a, "%" PRId64, p->aggregation_id);
	r = dispatch_db_exec(c, a,
						 "SELECT a.name, (SELECT coalesce(max(t.id), 0) FROM dispatch_targets t"
						 " WHERE t.aggregation_id = a.id) FROM aggregations a"
						 " WHERE a.id = $1::bigint", 1, par, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "no aggregation %" PRId64,
							 p->aggregation_id);
	ip->targets_seen = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	inst = json_object();
	arena_on_destroy(a, (arena_cleanup_fn) json_decref, inst);
	json_object_set_new(inst, "format", json_string(DISPATCH_FORMAT));
	json_object_set_new(inst, "name", json_string(PQgetvalue(r, 0, 0)));
	if ((rc = add_targets(c, a, p, inst, ip, err)) != DERMS_OK ||
		(rc = add_members(c, a, p, inst, ip, err)) != DERMS_OK)
		return rc;
	json_object_set_new(inst, "penalties",
						json_pack("{s:f,s:f,s:f,s:f}", "shortfall_per_mwh", 1000.0,
								  "surplus_per_mwh", 1000.0, "reserve_per_mwh", 1000.0,
								  "feeder_per_mwh", 100000.0));
	json_object_set_new(inst, "solver", json_pack("{s:f}", "time_limit_s", 20.0));
	text = json_dumps(inst, JSON_COMPACT | JSON_PRESERVE_ORDER);
	ip->json = text ? arena_strdup(a, text) : NULL;
	free(text);
	if (ip->json == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if ((rc = dispatch_instance_parse(a, ip->json, strlen(ip->json), &ip->in, err)) != DERMS_OK)
		return rc;
	*out = ip;
	return DERMS_OK;
}
