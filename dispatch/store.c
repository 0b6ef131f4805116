/*
 * dispatch/store.c
 *	  Dispatch runs in PostgreSQL: a run from the database to stored
 *	  schedules and published controls, the read side (summary,
 *	  schedules, plot) and the re-dispatch test of the dispatch role.
 *
 * NOTES
 *	  A run is one transaction: an advisory lock per aggregation keeps two
 *	  runs of one aggregation (the role and an operator) in order, the
 *	  solve happens inside it, and a failure anywhere (publishing too)
 *	  rolls everything back.  Solving takes at most the instance's time
 *	  limit (dbinstance.c sets it).
 *
 *	  Delivered power is read from the members' mirrored power readings
 *	  (uom 38, W, times 10^powerOfTenMultiplier); flowDirection 19
 *	  (reverse, towards the grid) is injection, anything else withdrawal.
 *	  Per resource and interval it is the mean of the readings that start
 *	  in the interval.
 */
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dispatch/check.h"
#include "dispatch/coord.h"
#include "dispatch/dbinstance.h"
#include "dispatch/plot.h"

#define DISPATCH_LOCK_CLASS 7319	/* pg_advisory_xact_lock(class, aggregation) */

#define I64(a, v) arena_printf((a), "%" PRId64, (int64_t) (v))

/* ---- one run ---- */

/* The schedule rows as four PostgreSQL array literals. */
static derms_rc
schedule_arrays(arena *a, const dispatch_db_input *ip, const dispatch_schedule *s,
				const char *out[4], derms_err *err)
{
	const dispatch_instance *in = ip->in;
	char	   *buf[4] = {NULL, NULL, NULL, NULL};
	size_t		len[4];
	FILE	   *f[4];
	bool		first = true;
	derms_rc	rc = DERMS_OK;

	for (int k = 0; k < 4; k++)
		f[k] = open_memstream(&buf[k], &len[k]);
	for (int k = 0; k < 4; k++)
		if (f[k] == NULL)
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (int k = 0; rc == DERMS_OK && k < 4; k++)
		fputc('{', f[k]);
	for (int m = 0; rc == DERMS_OK && m < ip->nmembers; m++)
	{
		int			r = ip->members[m].res;

		if (r < 0)
			continue;
		for (int t = 0; t < in->T; t++)
		{
			size_t		i = (size_t) r * in->T + t;
			double		soc = in->res[r].capacity > 0 ? s->e[i] / in->res[r].capacity : NAN;

			if (!first)
				for (int k = 0; k < 4; k++)
					fputc(',', f[k]);
			first = false;
			fprintf(f[0], "%" PRId64, ip->members[m].der_id);
			fprintf(f[1], "%" PRId64, ip->horizon_start + (int64_t) t * ip->interval_s);
			fprintf(f[2], "%.6f", (s->pd[i] - s->pc[i]) * 1000.0);
			if (isnan(soc))
				fputs("NULL", f[3]);
			else
				fprintf(f[3], "%.6f", soc);
		}
	}
	for (int k = 0; k < 4; k++)
	{
		if (f[k] == NULL)
			continue;
		fputc('}', f[k]);
		if (fclose(f[k]) != 0)
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		if (rc == DERMS_OK)
			out[k] = arena_strndup(a, buf[k], len[k]);
		free(buf[k]);
	}
	return rc;
}

/* The run's rows, members and schedules; the new id into *run_id. */
static derms_rc
store_run(PGconn *c, arena *a, const dispatch_run_request *rq,
		  const dispatch_db_input *ip, const dispatch_schedule *s, int violations,
		  int64_t *run_id, derms_err *err)
{
	const char *p[19];
	const char *arr[4];
	PGresult   *r;
	json_t	   *cost;
	char	   *ctext;
	derms_rc	rc;

	cost = json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "total", s->cost.total,
					 "energy", s->cost.energy, "degradation", s->cost.degradation,
					 "shortfall_penalty", s->cost.shortfall, "reserve_penalty", s->cost.reserve,
					 "feeder_penalty", s->cost.feeder, "flexible_load", s->cost.flex);
	ctext = cost ? json_dumps(cost, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(cost);
	p[0] = I64(a, rq->aggregation_id);
	p[1] = rq->reason;
	p[2] = I64(a, ip->horizon_start);
	p[3] = arena_printf(a, "%d", ip->interval_s);
	p[4] = arena_printf(a, "%d", ip->in->T);
	p[5] = ip->json;
	p[6] = s->method ? s->method : "coord";
	p[7] = ctext ? arena_strdup(a, ctext) : NULL;
	free(ctext);
	if (p[7] == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	p[8] = arena_printf(a, "%.9g", s->lower_bound);
	p[9] = arena_printf(a, "%.9g", s->gap);
	p[10] = arena_printf(a, "%.9g", s->shortfall_mwh);
	p[11] = arena_printf(a, "%.9g", s->surplus_mwh);
	p[12] = arena_printf(a, "%d", violations);
	p[13] = arena_printf(a, "%d", s->iterations);
	p[14] = arena_printf(a, "%.6f", s->seconds);
	p[15] = I64(a, ip->targets_seen);
	p[16] = rq->actor;
	r = dispatch_db_exec(c, a,
						 "INSERT INTO dispatch_runs (aggregation_id, reason, horizon_start,"
						 " interval_s, intervals, instance, method, cost, lower_bound, gap,"
						 " shortfall_mwh, surplus_mwh, violations, iterations, solve_s,"
						 " targets_seen, created_by) VALUES ($1::bigint, $2,"
						 " to_timestamp($3::bigint), $4::int, $5::int, $6::jsonb, $7, $8::jsonb,"
						 " $9::float8, $10::float8, $11::float8, $12::float8, $13::int,"
						 " $14::int, $15::float8, $16::bigint, $17) RETURNING id",
						 17, p, err);
	if (r == NULL)
		return err->code;
	*run_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	p[0] = PQgetvalue(r, 0, 0);
	for (int m = 0; m < ip->nmembers; m++)
	{
		const dispatch_db_member *mb = &ip->members[m];

		p[1] = I64(a, mb->der_id);
		p[2] = mb->state;
		p[3] = isnan(mb->soc) ? NULL : arena_printf(a, "%.6f", mb->soc);
		p[4] = mb->status_at;
		if (dispatch_db_exec(c, a,
							 "INSERT INTO dispatch_run_resources (run_id, der_id, state, soc,"
							 " status_at) VALUES ($1::bigint, $2::bigint, $3, $4::float8,"
							 " $5::timestamptz)", 5, p, err) == NULL)
			return err->code;
	}
	if ((rc = schedule_arrays(a, ip, s, arr, err)) != DERMS_OK)
		return rc;
	p[1] = arr[0];
	p[2] = arr[1];
	p[3] = arr[2];
	p[4] = arr[3];
	if (dispatch_db_exec(c, a,
						 "INSERT INTO dispatch_schedules (run_id, der_id, interval_start,"
						 " power_kw, soc) SELECT $1::bigint, d, to_timestamp(t), kw, soc"
						 " FROM unnest($2::bigint[], $3::bigint[], $4::float8[], $5::float8[])"
						 " AS x (d, t, kw, soc)", 5, p, err) == NULL)
		return err->code;
	p[1] = "dispatch.run";
	p[2] = arena_printf(a, "dispatch_run:%" PRId64, *run_id);
	{
		json_t	   *det = json_pack("{s:I,s:s,s:f,s:f,s:f,s:i}",
									"aggregation", (json_int_t) rq->aggregation_id,
									"reason", rq->reason,
									"cost", s->cost.total, "lower_bound", s->lower_bound,
									"gap", s->gap, "violations", violations);
		char	   *t;

		if (det == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		json_object_set_new(det, "method", json_string(s->method ? s->method : "coord"));
		t = json_dumps(det, JSON_COMPACT);
		json_decref(det);
		p[3] = t ? arena_strdup(a, t) : NULL;
		free(t);
	}
	p[0] = rq->actor;
	if (p[3] == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (dispatch_db_exec(c, a, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p, err) == NULL)
		return err->code;
	return DERMS_OK;
}

static void
rollback(PGconn *c, arena *a)
{
	derms_err	ignored;

	dispatch_db_exec(c, a, "ROLLBACK", 0, NULL, &ignored);
}

derms_rc
dispatch_run_db(PGconn *c, arena *a, const dispatch_run_request *rq,
				int64_t *run_id, derms_err *err)
{
	dispatch_db_params dp;
	dispatch_db_input *ip;
	dispatch_schedule *s = NULL;
	const char *p[2];
	int			violations;
	derms_rc	rc;

	assert(c != NULL && a != NULL && rq != NULL && run_id != NULL);
	assert(rq->actor != NULL && rq->reason != NULL);
	if (dispatch_db_exec(c, a, "BEGIN", 0, NULL, err) == NULL)
		return err->code;
	p[0] = arena_printf(a, "%d", DISPATCH_LOCK_CLASS);
	p[1] = arena_printf(a, "%d", (int) (rq->aggregation_id & 0x7fffffff));
	if (dispatch_db_exec(c, a, "SELECT pg_advisory_xact_lock($1::int, $2::int)", 2, p,
						 err) == NULL)
		goto fail;
	memset(&dp, 0, sizeof(dp));
	dp.aggregation_id = rq->aggregation_id;
	dp.horizon_h = rq->horizon_h;
	dp.offline_s = rq->offline_s;
	dp.now = time(NULL);
	if (dispatch_db_build(c, a, &dp, &ip, err) != DERMS_OK)
		goto fail;
	if (dispatch_coord_solve(ip->in, &s, err) != DERMS_OK)
		goto fail;
	arena_on_destroy(a, (arena_cleanup_fn) dispatch_schedule_free, s);
	violations = dispatch_check_schedule(ip->in, s, 1e-6, NULL);
	if (store_run(c, a, rq, ip, s, violations, run_id, err) != DERMS_OK)
		goto fail;
	if (rq->publish != NULL && rq->publish(c, a, *run_id, rq->actor, err) != DERMS_OK)
		goto fail;
	if (dispatch_db_exec(c, a, "COMMIT", 0, NULL, err) == NULL)
		goto fail;
	return DERMS_OK;

fail:
	rc = err->code;
	rollback(c, a);
	err->code = rc;
	return rc;
}

/* ---- reading runs back ---- */

derms_rc
dispatch_store_summary(PGconn *c, arena *a, int64_t run_id, const char **json,
					   derms_err *err)
{
	const char *p[1] = {I64(a, run_id)};
	PGresult   *r;

	r = dispatch_db_exec(c, a,
						 "SELECT json_build_object('id', r.id, 'aggregationID', r.aggregation_id,"
						 " 'reason', r.reason, 'status', r.status,"
						 " 'horizonStart', extract(epoch FROM r.horizon_start)::bigint,"
						 " 'intervalSeconds', r.interval_s, 'intervals', r.intervals,"
						 " 'method', r.method, 'cost', r.cost, 'lowerBound', r.lower_bound,"
						 " 'gap', r.gap, 'shortfallMWh', r.shortfall_mwh,"
						 " 'surplusMWh', r.surplus_mwh, 'violations', r.violations,"
						 " 'iterations', r.iterations, 'solveSeconds', r.solve_s,"
						 " 'derControls', r.der_controls, 'oadrEvents', r.oadr_events,"
						 " 'createdBy', r.created_by,"
						 " 'createdAt', extract(epoch FROM r.created_at)::bigint,"
						 " 'publishedAt', extract(epoch FROM r.published_at)::bigint,"
						 " 'resources', (SELECT coalesce(json_agg(json_build_object("
						 "   'derID', m.der_id, 'externalID', d.external_id, 'state', m.state,"
						 "   'soc', m.soc) ORDER BY m.der_id), '[]')"
						 "   FROM dispatch_run_resources m JOIN der_resources d ON d.id = m.der_id"
						 "   WHERE m.run_id = r.id))::text"
						 " FROM dispatch_runs r WHERE r.id = $1::bigint", 1, p, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "no dispatch run %" PRId64, run_id);
	*json = PQgetvalue(r, 0, 0);
	return DERMS_OK;
}

derms_rc
dispatch_store_schedules(PGconn *c, arena *a, int64_t run_id, bool csv,
						 const char **text, derms_err *err)
{
	const char *p[1] = {I64(a, run_id)};
	PGresult   *r;

	if (csv)
		r = dispatch_db_exec(c, a,
							 "SELECT (SELECT count(*) FROM dispatch_runs WHERE id = $1::bigint),"
							 " 'run,der_id,external_id,interval_start,power_kw,soc' || chr(10) ||"
							 " coalesce(string_agg(concat_ws(',', s.run_id, s.der_id,"
							 "   CASE WHEN d.external_id ~ '[,\"\\r\\n]'"
							 "   THEN '\"' || replace(d.external_id, '\"', '\"\"') || '\"'"
							 "   ELSE coalesce(d.external_id, '') END,"
							 "   to_char(s.interval_start AT TIME ZONE 'UTC',"
							 "   'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), round(s.power_kw::numeric, 4),"
							 "   coalesce(round(s.soc::numeric, 6)::text, '')) || chr(10), ''"
							 "   ORDER BY s.der_id, s.interval_start), '')"
							 " FROM dispatch_schedules s JOIN der_resources d ON d.id = s.der_id"
							 " WHERE s.run_id = $1::bigint", 1, p, err);
	else
		r = dispatch_db_exec(c, a,
							 "SELECT (SELECT count(*) FROM dispatch_runs WHERE id = $1::bigint),"
							 " json_build_object('run', $1::bigint, 'intervalSeconds',"
							 "  (SELECT interval_s FROM dispatch_runs WHERE id = $1::bigint),"
							 "  'resources', coalesce(json_agg(x.o ORDER BY x.der_id), '[]'))::text"
							 " FROM (SELECT s.der_id, json_build_object('derID', s.der_id,"
							 "   'externalID', min(d.external_id), 'intervals',"
							 "   json_agg(json_build_object('start',"
							 "   extract(epoch FROM s.interval_start)::bigint, 'powerKW', s.power_kw,"
							 "   'soc', s.soc) ORDER BY s.interval_start)) AS o"
							 "  FROM dispatch_schedules s JOIN der_resources d ON d.id = s.der_id"
							 "  WHERE s.run_id = $1::bigint GROUP BY s.der_id) x", 1, p, err);
	if (r == NULL)
		return err->code;
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "no dispatch run %" PRId64, run_id);
	*text = PQgetvalue(r, 0, 1);
	return DERMS_OK;
}

/*
 * Delivered power of the run's members: rows (der_id, interval index,
 * mean W) for the intervals of [t0, t0 + T * L).
 */
static PGresult *
delivered(PGconn *c, arena *a, int64_t run_id, int64_t t0, int L, int T, derms_err *err)
{
	const char *p[4] = {I64(a, run_id), I64(a, t0), arena_printf(a, "%d", L),
	arena_printf(a, "%d", T)};

	return dispatch_db_exec(c, a,
							"SELECT k.der_id, k.t, avg(k.w) FROM (SELECT d.id AS der_id,"
							" floor((extract(epoch FROM x.interval_start) - $2::bigint)"
							"  / $3::int)::int AS t,"
							" x.value * power(10::float8, coalesce((m.reading_type ->>"
							"  'powerOfTenMultiplier')::int, 0))"
							" * CASE WHEN m.reading_type ->> 'flowDirection' = '19' THEN 1"
							"   ELSE -1 END AS w"
							" FROM dispatch_run_resources rr JOIN der_resources d ON d.id = rr.der_id"
							" JOIN mirror_usage_points u ON u.device_lfdi = d.lfdi"
							" JOIN mirror_meter_readings m ON m.mup_id = u.id"
							"  AND m.reading_type ->> 'uom' = '38'"
							" JOIN readings x ON x.mmr_id = m.id"
							" WHERE rr.run_id = $1::bigint"
							" AND x.interval_start >= to_timestamp($2::bigint)"
							" AND x.interval_start < to_timestamp($2::bigint"
							"  + $3::int::bigint * $4::int)) k GROUP BY k.der_id, k.t",
							4, p, err);
}

derms_rc
dispatch_store_plot(PGconn *c, arena *a, int64_t run_id, int max_res,
					const char **svg, derms_err *err)
{
	const char *p[2] = {I64(a, run_id), arena_printf(a, "%d", max_res)};
	dispatch_plot_data d;
	PGresult   *r;
	json_t	   *mw;
	double	   *target, *sched, *deliv, *soc;
	const char **names;
	int64_t    *ids;
	int			T, L;
	int64_t		t0;
	bool		any_deliv = false;

	r = dispatch_db_exec(c, a,
						 "SELECT extract(epoch FROM r.horizon_start)::bigint, r.interval_s,"
						 " r.intervals, (r.instance -> 'targets' -> 'mw')::text, a.name"
						 " FROM dispatch_runs r JOIN aggregations a ON a.id = r.aggregation_id"
						 " WHERE r.id = $1::bigint", 1, p, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "no dispatch run %" PRId64, run_id);
	t0 = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	L = atoi(PQgetvalue(r, 0, 1));
	T = atoi(PQgetvalue(r, 0, 2));
	memset(&d, 0, sizeof(d));
	d.title = arena_printf(a, "Dispatch run %" PRId64 ", aggregation %s", run_id,
						   PQgetvalue(r, 0, 4));
	target = arena_calloc(a, (size_t) T + 1, sizeof(double));
	sched = arena_calloc(a, (size_t) T + 1, sizeof(double));
	deliv = arena_calloc(a, (size_t) T + 1, sizeof(double));
	if (target == NULL || sched == NULL || deliv == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	mw = json_loads(PQgetvalue(r, 0, 3), JSON_DECODE_ANY, NULL);
	for (int t = 0; t < T; t++)
	{
		json_t	   *v = json_array_get(mw, (size_t) t);

		target[t] = json_is_number(v) ? json_number_value(v) : NAN;
		deliv[t] = NAN;
	}
	json_decref(mw);
	/* the resources drawn: the first max_res by id */
	r = dispatch_db_exec(c, a,
						 "SELECT m.der_id, coalesce(d.external_id, 'DER ' || d.id)"
						 " FROM dispatch_run_resources m JOIN der_resources d ON d.id = m.der_id"
						 " WHERE m.run_id = $1::bigint AND EXISTS (SELECT 1 FROM dispatch_schedules s"
						 "  WHERE s.run_id = m.run_id AND s.der_id = m.der_id)"
						 " ORDER BY m.der_id LIMIT $2::int", 2, p, err);
	if (r == NULL)
		return err->code;
	d.nres = PQntuples(r);
	names = arena_calloc(a, (size_t) d.nres + 1, sizeof(char *));
	ids = arena_calloc(a, (size_t) d.nres + 1, sizeof(int64_t));
	soc = arena_calloc(a, (size_t) d.nres * T + 1, sizeof(double));
	if (names == NULL || ids == NULL || soc == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (int i = 0; i < d.nres; i++)
	{
		ids[i] = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		names[i] = PQgetvalue(r, i, 1);
	}
	for (size_t i = 0; i < (size_t) d.nres * T; i++)
		soc[i] = NAN;
	r = dispatch_db_exec(c, a,
						 "SELECT s.der_id, ((extract(epoch FROM s.interval_start)"
						 " - extract(epoch FROM r.horizon_start)) / r.interval_s)::int,"
						 " s.power_kw, s.soc FROM dispatch_schedules s"
						 " JOIN dispatch_runs r ON r.id = s.run_id WHERE s.run_id = $1::bigint",
						 1, p, err);
	if (r == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(r); i++)
	{
		int64_t		der = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		int			t = atoi(PQgetvalue(r, i, 1));

		if (t < 0 || t >= T)
			continue;
		sched[t] += strtod(PQgetvalue(r, i, 2), NULL) / 1000.0;
		for (int k = 0; k < d.nres; k++)
			if (ids[k] == der && !PQgetisnull(r, i, 3))
				soc[(size_t) k * T + t] = strtod(PQgetvalue(r, i, 3), NULL);
	}
	if ((r = delivered(c, a, run_id, t0, L, T, err)) == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(r); i++)
	{
		int			t = atoi(PQgetvalue(r, i, 1));

		if (t < 0 || t >= T)
			continue;
		if (isnan(deliv[t]))
			deliv[t] = 0;
		deliv[t] += strtod(PQgetvalue(r, i, 2), NULL) / 1e6;
		any_deliv = true;
	}
	d.T = T;
	d.t0 = t0;
	d.interval_s = L;
	d.target_mw = target;
	d.scheduled_mw = sched;
	d.delivered_mw = any_deliv ? deliv : NULL;
	d.res_names = names;
	d.soc = soc;
	*svg = dispatch_plot_svg(a, &d);
	return *svg ? DERMS_OK : derms_err_set(err, DERMS_ENOMEM, "out of memory");
}

/* ---- the dispatch role's test ---- */

derms_rc
dispatch_store_need(PGconn *c, arena *a, const dispatch_watch *w, const char **why,
					derms_err *err)
{
	const char *p[6];
	PGresult   *r;
	int64_t		t0, created;
	int			L, T, k;

	assert(c != NULL && a != NULL && w != NULL && why != NULL);
	*why = NULL;
	p[0] = I64(a, w->aggregation_id);
	p[1] = arena_printf(a, "%lld", (long long) w->now);
	p[2] = arena_printf(a, "%d", w->offline_s);
	r = dispatch_db_exec(c, a,
						 "SELECT r.id, r.targets_seen < (SELECT coalesce(max(t.id), 0)"
						 "  FROM dispatch_targets t WHERE t.aggregation_id = r.aggregation_id),"
						 " extract(epoch FROM r.horizon_start)::bigint, r.interval_s, r.intervals,"
						 " extract(epoch FROM r.created_at)::bigint,"
						 " EXISTS (SELECT 1 FROM dispatch_targets t"
						 "  WHERE t.aggregation_id = r.aggregation_id"
						 "  AND t.interval_start + t.interval_s * interval '1 second'"
						 "   > r.horizon_start + r.intervals * r.interval_s * interval '1 second')"
						 " FROM dispatch_runs r WHERE r.aggregation_id = $1::bigint"
						 " ORDER BY r.id DESC LIMIT 1", 1, p, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
	{
		*why = "no run yet";
		return DERMS_OK;
	}
	if (strcmp(PQgetvalue(r, 0, 1), "t") == 0)
	{
		*why = "a new target arrived";
		return DERMS_OK;
	}
	p[3] = PQgetvalue(r, 0, 0);
	t0 = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	L = atoi(PQgetvalue(r, 0, 3));
	T = atoi(PQgetvalue(r, 0, 4));
	created = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	if (strcmp(PQgetvalue(r, 0, 6), "t") == 0 && w->now >= t0 + (int64_t) (T - 1) * L)
	{
		*why = "the horizon runs out and later targets exist";
		return DERMS_OK;
	}

	/* members: offline, back, SoC drift against the schedule */
	r = dispatch_db_exec(c, a,
						 "SELECT m.der_id, m.state, s.received_at,"
						 " s.received_at < to_timestamp($1::bigint) - $2::int * interval '1 second',"
						 " (s.doc #>> '{stateOfChargeStatus,value}')::float8 / 10000,"
						 " s.received_at > (SELECT created_at FROM dispatch_runs WHERE id = $3::bigint),"
						 " coalesce((SELECT x.soc FROM dispatch_schedules x WHERE x.run_id = $3::bigint"
						 "  AND x.der_id = m.der_id AND x.interval_start + (SELECT interval_s"
						 "  FROM dispatch_runs WHERE id = $3::bigint) * interval '1 second'"
						 "  <= s.received_at ORDER BY x.interval_start DESC LIMIT 1), m.soc)"
						 " FROM dispatch_run_resources m"
						 " LEFT JOIN LATERAL (SELECT y.received_at, y.doc FROM der_reports y"
						 "   WHERE y.der_id = m.der_id AND y.resource = 'status'"
						 "   ORDER BY y.id DESC LIMIT 1) s ON true"
						 " WHERE m.run_id = $3::bigint ORDER BY m.der_id", 3, p + 1, err);
	if (r == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(r); i++)
	{
		const char *der = PQgetvalue(r, i, 0);
		const char *state = PQgetvalue(r, i, 1);
		bool		old = strcmp(PQgetvalue(r, i, 3), "t") == 0;

		if (strcmp(state, "online") == 0 && old)
		{
			*why = arena_printf(a, "resource %s went offline (last status at %s)", der,
								PQgetvalue(r, i, 2));
			return DERMS_OK;
		}
		if (strcmp(state, "offline") == 0 && !PQgetisnull(r, i, 2) && !old)
		{
			*why = arena_printf(a, "resource %s is back online", der);
			return DERMS_OK;
		}
		if (strcmp(state, "online") == 0 && strcmp(PQgetvalue(r, i, 5), "t") == 0 &&
			!PQgetisnull(r, i, 4) && !PQgetisnull(r, i, 6))
		{
			double		now_soc = strtod(PQgetvalue(r, i, 4), NULL);
			double		plan = strtod(PQgetvalue(r, i, 6), NULL);

			if (fabs(now_soc - plan) * 100.0 > w->soc_tolerance_pct)
			{
				*why = arena_printf(a, "resource %s SoC drifted: %.1f %% against %.1f %%"
									" scheduled", der, 100 * now_soc, 100 * plan);
				return DERMS_OK;
			}
		}
	}

	/* setpoints: the last complete interval that started after the run */
	k = (int) ((w->now - t0) / L) - 1;
	if (k < 0 || k >= T || t0 + (int64_t) k * L < created)
		return DERMS_OK;
	if ((r = delivered(c, a, strtoll(p[3], NULL, 10), t0, L, T, err)) == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(r); i++)
	{
		PGresult   *x;
		const char *q[3];
		double		got, plan, rating;

		if (atoi(PQgetvalue(r, i, 1)) != k)
			continue;
		q[0] = p[3];
		q[1] = PQgetvalue(r, i, 0);
		q[2] = I64(a, t0 + (int64_t) k * L);
		x = dispatch_db_exec(c, a,
							 "SELECT s.power_kw * 1000, greatest(coalesce(d.rated_w, 0),"
							 " coalesce(d.max_charge_w, 0), coalesce(d.max_discharge_w, 0))"
							 " FROM dispatch_schedules s JOIN der_resources d ON d.id = s.der_id"
							 " WHERE s.run_id = $1::bigint AND s.der_id = $2::bigint"
							 " AND s.interval_start = to_timestamp($3::bigint)", 3, q, err);
		if (x == NULL)
			return err->code;
		if (PQntuples(x) == 0)
			continue;
		got = strtod(PQgetvalue(r, i, 2), NULL);
		plan = strtod(PQgetvalue(x, 0, 0), NULL);
		rating = strtod(PQgetvalue(x, 0, 1), NULL);
		if (fabs(got - plan) > w->tolerance_pct / 100.0 * rating)
		{
			*why = arena_printf(a, "resource %s missed its setpoint: %.1f kW delivered,"
								" %.1f kW scheduled", q[1], got / 1000, plan / 1000);
			return DERMS_OK;
		}
	}
	return DERMS_OK;
}
