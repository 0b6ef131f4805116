/*
 * protocols/grid/api.c
 *	  The operator's dispatch API on the VTN listener (JSON):
 *	    POST /api/v1/aggregations/{id}/targets     ISO awards, utility requests
 *	    GET  /api/v1/aggregations/{id}/targets     the targets in force
 *	    POST /api/v1/aggregations/{id}/dispatch    run now (solve, store, publish)
 *	    GET  /api/v1/dispatch-runs/{id}            summary
 *	    GET  /api/v1/dispatch-runs/{id}/schedules  JSON, or CSV (?format=csv)
 *	    GET  /api/v1/dispatch-runs/{id}/plot.svg   target, scheduled, delivered, SoC
 *
 * NOTES
 *	  Runs in vtn workers; memory from the request arena.  The route table
 *	  lets the operator only (certificate, or the utility's BL token).  A
 *	  run now solves inside the request (at most the solver's time limit,
 *	  dispatch/dbinstance.c) and holds the worker meanwhile.  Bad targets
 *	  are answered 400 naming the field ("intervals[2].mw: ...").
 */
#include "api.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "dispatch/store.h"
#include "protocols/grid/publish.h"

#define JSON_CT "application/json"
#define GRID_MAX_TARGETS 576	/* 48 h of 5-minute intervals */
#define GRID_PLOT_MAX_RES 10

static const char *
actor(http_request *req)
{
	if (req->who.client_id[0] != '\0')
		return arena_printf(req->arena, "bl:%s", req->who.client_id);
	return arena_printf(req->arena, "operator:%s", req->who.id.lfdi);
}

static bool
id_ok(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s < '1' || *s > '9')
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v <= 0)
		return false;
	*out = (int64_t) v;
	return true;
}

static int
db_failed(http_request *req, const derms_err *err)
{
	switch (err->code)
	{
		case DERMS_ENOTFOUND:
			return http_error(req, 404, "%s", err->msg);
		case DERMS_EINVAL:
			return http_error(req, 409, "nothing to dispatch: %s", err->msg);
		case DERMS_ERANGE:
		case DERMS_EPARSE:
			return http_error(req, 422, "%s", err->msg);
		default:
			return http_db_error(req, NULL, err);
	}
}

/* The body as a JSON object (NULL after answering). */
static json_t *
body_object(http_request *req, int *status, bool may_be_empty)
{
	json_error_t jerr;
	json_t	   *j;

	if (may_be_empty && req->body_len == 0)
		j = json_object();
	else
		j = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL)
	{
		*status = http_error(req, 400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, j);
	if (!json_is_object(j))
	{
		*status = http_error(req, 400, "expected a JSON object");
		return NULL;
	}
	return j;
}

static bool
only_keys(json_t *o, const char *const *keys, const char **bad)
{
	const char *key;
	json_t	   *v;

	json_object_foreach(o, key, v)
	{
		bool		ok = false;

		for (int i = 0; keys[i]; i++)
			ok = ok || strcmp(key, keys[i]) == 0;
		if (!ok)
		{
			*bad = key;
			return false;
		}
	}
	return true;
}

/* ---- targets ---- */

/* Append v (a number, or NULL for SQL NULL) to an array literal stream. */
static void
put_num(FILE *f, bool first, json_t *v)
{
	if (!first)
		fputc(',', f);
	if (v == NULL || json_is_null(v))
		fputs("NULL", f);
	else
		fprintf(f, "%.17g", json_number_value(v));
}

int
grid_targets_post(http_request *req)
{
	static const char *const top[] = {"source", "intervalMinutes", "intervals", NULL};
	static const char *const ivk[] = {"start", "mw", "pricePerMWh", "reserveMWh", NULL};
	const char *src, *bad = NULL;
	json_t	   *j, *ivs, *iv, *v;
	json_int_t	minutes, prev_end = -1;
	int64_t		agg;
	int			status;
	size_t		i;
	char	   *buf[4] = {NULL, NULL, NULL, NULL};
	size_t		len[4];
	FILE	   *f[4];
	const char *p[7];
	derms_err	err;
	PGresult   *r;
	PGconn	   *c;

	if (!id_ok(req->params[0], &agg))
		return http_error(req, 404, "no aggregation \"%s\"", req->params[0]);
	if ((j = body_object(req, &status, false)) == NULL)
		return status;
	if (!only_keys(j, top, &bad))
		return http_error(req, 400, "%s: unknown field", bad);
	v = json_object_get(j, "source");
	src = json_string_value(v);
	if (src == NULL || (strcmp(src, "iso_award") != 0 && strcmp(src, "utility_request") != 0))
		return http_error(req, 400, "source: must be \"iso_award\" or \"utility_request\"");
	v = json_object_get(j, "intervalMinutes");
	minutes = json_is_integer(v) ? json_integer_value(v) : 0;
	if (minutes != 5 && minutes != 15 && minutes != 60)
		return http_error(req, 400, "intervalMinutes: must be 5, 15 or 60");
	ivs = json_object_get(j, "intervals");
	if (!json_is_array(ivs) || json_array_size(ivs) < 1 ||
		json_array_size(ivs) > GRID_MAX_TARGETS)
		return http_error(req, 400, "intervals: must be an array of 1 to %d intervals",
						  GRID_MAX_TARGETS);
	json_array_foreach(ivs, i, iv)
	{
		json_t	   *s = json_object_get(iv, "start");
		json_t	   *mw = json_object_get(iv, "mw");
		json_t	   *pr = json_object_get(iv, "pricePerMWh");
		json_t	   *rs = json_object_get(iv, "reserveMWh");

		if (!json_is_object(iv))
			return http_error(req, 400, "intervals[%zu]: must be an object", i);
		if (!only_keys(iv, ivk, &bad))
			return http_error(req, 400, "intervals[%zu].%s: unknown field", i, bad);
		if (!json_is_integer(s) || json_integer_value(s) < 0 ||
			json_integer_value(s) > 253402300799LL)
			return http_error(req, 400, "intervals[%zu].start: must be a UTC time in seconds",
							  i);
		if (json_integer_value(s) % (minutes * 60) != 0)
			return http_error(req, 400, "intervals[%zu].start: must be a multiple of %d s",
							  i, (int) minutes * 60);
		if (json_integer_value(s) < prev_end)
			return http_error(req, 400, "intervals[%zu].start: overlaps or precedes the"
							  " interval before", i);
		prev_end = json_integer_value(s) + minutes * 60;
		if (!json_is_number(mw) || !isfinite(json_number_value(mw)) ||
			fabs(json_number_value(mw)) > 1e5)
			return http_error(req, 400, "intervals[%zu].mw: must be a number of MW"
							  " (at most 100000 either way)", i);
		if (pr != NULL && !json_is_null(pr) &&
			(!json_is_number(pr) || fabs(json_number_value(pr)) > 1e6))
			return http_error(req, 400, "intervals[%zu].pricePerMWh: must be a number"
							  " (at most 1000000 either way)", i);
		if (rs != NULL && !json_is_null(rs) &&
			(!json_is_number(rs) || json_number_value(rs) < 0 || json_number_value(rs) > 1e6))
			return http_error(req, 400, "intervals[%zu].reserveMWh: must be a number of MWh,"
							  " 0 or more", i);
	}
	for (int k = 0; k < 4; k++)
		if ((f[k] = open_memstream(&buf[k], &len[k])) == NULL)
			return http_error(req, 500, "out of memory");
	for (int k = 0; k < 4; k++)
		fputc('{', f[k]);
	json_array_foreach(ivs, i, iv)
	{
		fprintf(f[0], "%s%" JSON_INTEGER_FORMAT, i ? "," : "",
				json_integer_value(json_object_get(iv, "start")));
		put_num(f[1], i == 0, json_object_get(iv, "mw"));
		put_num(f[2], i == 0, json_object_get(iv, "pricePerMWh"));
		put_num(f[3], i == 0, json_object_get(iv, "reserveMWh"));
	}
	for (int k = 0; k < 4; k++)
	{
		fputc('}', f[k]);
		fclose(f[k]);
		p[k + 1] = arena_strndup(req->arena, buf[k], len[k]);
		free(buf[k]);
	}
	p[0] = req->params[0];
	p[5] = arena_printf(req->arena, "%d", (int) minutes * 60);
	p[6] = src;
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	r = db_exec(req->db, req->arena, "SELECT 1 FROM aggregations WHERE id = $1::bigint",
				1, p, NULL, &err);
	if (r == NULL || PQntuples(r) == 0)
	{
		db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, &err);
		return r == NULL ? http_db_error(req, NULL, &err)
			: http_error(req, 404, "no aggregation %s", req->params[0]);
	}
	{
		const char *q[8] = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], actor(req)};

		r = db_exec(req->db, req->arena,
					"WITH ins AS (INSERT INTO dispatch_targets (aggregation_id, interval_start,"
					" interval_s, mw, price_per_mwh, reserve_mwh, source, created_by)"
					" SELECT $1::bigint, to_timestamp(s), $6::int, mw, pr, rs, $7, $8"
					" FROM unnest($2::bigint[], $3::float8[], $4::float8[], $5::float8[])"
					" AS x (s, mw, pr, rs) RETURNING *)"
					" SELECT json_build_object('aggregationID', $1::bigint, 'source', $7,"
					" 'intervalMinutes', $6::int / 60, 'targets', json_agg(json_build_object("
					" 'id', id, 'start', extract(epoch FROM interval_start)::bigint, 'mw', mw,"
					" 'pricePerMWh', price_per_mwh, 'reserveMWh', reserve_mwh) ORDER BY id))::text,"
					" min(id), max(id) FROM ins", 8, q, NULL, &err);
		if (r == NULL)
		{
			db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, &err);
			return http_db_error(req, NULL, &err);
		}
	}
	{
		const char *body = PQgetvalue(r, 0, 0);
		const char *q[4] = {actor(req), "dispatch.targets",
			arena_printf(req->arena, "aggregation:%s", req->params[0]),
			arena_printf(req->arena, "{\"source\":\"%s\",\"count\":%zu,\"first_id\":%s,"
						 "\"last_id\":%s}", src, json_array_size(ivs), PQgetvalue(r, 0, 1),
						 PQgetvalue(r, 0, 2))};

		if (db_exec(req->db, req->arena, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, q,
					NULL, &err) == NULL ||
			db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, &err) == NULL)
		{
			db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, &err);
			return http_db_error(req, NULL, &err);
		}
		return http_reply(req, 201, JSON_CT, body, strlen(body));
	}
}

int
grid_targets_get(http_request *req)
{
	const char *p[1] = {req->params[0]};
	derms_err	err;
	PGresult   *r;
	int64_t		agg;

	if (!id_ok(req->params[0], &agg))
		return http_error(req, 404, "no aggregation \"%s\"", req->params[0]);
	/* in force: the newest target of each interval that has not ended */
	r = db_exec(req->db, req->arena,
				"SELECT (SELECT count(*) FROM aggregations WHERE id = $1::bigint),"
				" (SELECT coalesce(json_agg(json_build_object('id', t.id,"
				"  'start', extract(epoch FROM t.interval_start)::bigint,"
				"  'intervalMinutes', t.interval_s / 60, 'mw', t.mw,"
				"  'pricePerMWh', t.price_per_mwh, 'reserveMWh', t.reserve_mwh,"
				"  'source', t.source, 'createdBy', t.created_by,"
				"  'createdAt', extract(epoch FROM t.created_at)::bigint)"
				"  ORDER BY t.interval_start), '[]')::text"
				"  FROM (SELECT DISTINCT ON (interval_start) * FROM dispatch_targets"
				"   WHERE aggregation_id = $1::bigint"
				"   AND interval_start + interval_s * interval '1 second' > now()"
				"   ORDER BY interval_start, id DESC) t)", 1, p, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		return http_error(req, 404, "no aggregation %s", req->params[0]);
	return http_reply(req, 200, JSON_CT, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
}

/* ---- runs ---- */

int
grid_dispatch_post(http_request *req)
{
	static const char *const keys[] = {"horizonHours", "publish", NULL};
	dispatch_run_request rq;
	const char *bad = NULL;
	const char *summary;
	json_t	   *j, *v;
	int64_t		agg, run;
	int			status;
	derms_err	err;
	PGconn	   *c;

	if (!id_ok(req->params[0], &agg))
		return http_error(req, 404, "no aggregation \"%s\"", req->params[0]);
	if ((j = body_object(req, &status, true)) == NULL)
		return status;
	if (!only_keys(j, keys, &bad))
		return http_error(req, 400, "%s: unknown field", bad);
	memset(&rq, 0, sizeof(rq));
	rq.aggregation_id = agg;
	rq.horizon_h = req->cfg->dispatch_horizon_h;
	rq.offline_s = req->cfg->dispatch_offline_polls * req->cfg->sep2_post_rate_s;
	rq.actor = actor(req);
	rq.reason = "operator request";
	rq.publish = grid_publish_run;
	if ((v = json_object_get(j, "horizonHours")) != NULL)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 48)
			return http_error(req, 400, "horizonHours: must be an integer of 1 to 48");
		rq.horizon_h = (int) json_integer_value(v);
	}
	if ((v = json_object_get(j, "publish")) != NULL)
	{
		if (!json_is_boolean(v))
			return http_error(req, 400, "publish: must be true or false");
		if (json_is_false(v))
			rq.publish = NULL;
	}
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (dispatch_run_db(c, req->arena, &rq, &run, &err) != DERMS_OK)
		return db_failed(req, &err);
	if (dispatch_store_summary(c, req->arena, run, &summary, &err) != DERMS_OK)
		return db_failed(req, &err);
	http_add_header(req, "Location",
					arena_printf(req->arena, "/api/v1/dispatch-runs/%" PRId64, run));
	return http_reply(req, 201, JSON_CT, summary, strlen(summary));
}

int
grid_run_get(http_request *req)
{
	const char *text;
	int64_t		run;
	derms_err	err;
	PGconn	   *c;

	if (!id_ok(req->params[0], &run))
		return http_error(req, 404, "no dispatch run \"%s\"", req->params[0]);
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (dispatch_store_summary(c, req->arena, run, &text, &err) != DERMS_OK)
		return db_failed(req, &err);
	return http_reply(req, 200, JSON_CT, text, strlen(text));
}

int
grid_run_schedules(http_request *req)
{
	const char *fmt = http_query(req, "format");
	const char *accept = http_header(req, "Accept");
	const char *text;
	bool		csv;
	int64_t		run;
	derms_err	err;
	PGconn	   *c;

	if (!id_ok(req->params[0], &run))
		return http_error(req, 404, "no dispatch run \"%s\"", req->params[0]);
	if (fmt != NULL && strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0)
		return http_error(req, 400, "format: must be csv or json");
	csv = fmt ? strcmp(fmt, "csv") == 0 : (accept && strstr(accept, "text/csv") != NULL);
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (dispatch_store_schedules(c, req->arena, run, csv, &text, &err) != DERMS_OK)
		return db_failed(req, &err);
	return http_reply(req, 200, csv ? "text/csv; charset=utf-8" : JSON_CT, text, strlen(text));
}

int
grid_run_plot(http_request *req)
{
	const char *svg;
	int64_t		run;
	derms_err	err;
	PGconn	   *c;

	if (!id_ok(req->params[0], &run))
		return http_error(req, 404, "no dispatch run \"%s\"", req->params[0]);
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (dispatch_store_plot(c, req->arena, run, GRID_PLOT_MAX_RES, &svg, &err) != DERMS_OK)
		return db_failed(req, &err);
	return http_reply(req, 200, "image/svg+xml", svg, strlen(svg));
}
