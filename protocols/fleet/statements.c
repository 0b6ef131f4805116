/*
 * protocols/fleet/statements.c
 *	  GET /fleet/v1/statements and /fleet/v1/statements/{id}/chart.svg:
 *	  the settlement statements that "dermsctl settle statement --store"
 *	  wrote, every version, and each one's SVG chart.
 *
 * NOTES
 *	  Runs in vtn workers; memory from the request arena (results are
 *	  registered with it by fleet_sql_exec).  Each call is one read
 *	  transaction, entered into the caller's tenant scope when the caller
 *	  is an aggregator, so row-level security decides what exists: a
 *	  statement of another tenant is 404, a list of another tenant's
 *	  aggregation is empty.  The JSON is built by PostgreSQL (json_agg) from
 *	  the stored columns, so numbers keep their stored decimals.
 */
#include "statements.h"

#include <string.h>

#include "sql.h"

#define JSON_CT "application/json"
#define SVG_CT "image/svg+xml"

/* The caller's tenant scope: >0 aggregator, 0 operator, -1 none. */
static int64_t
scope_of(const http_request *req)
{
	if (req->who.role == HTTP_ROLE_OPERATOR)
		return 0;
	if (req->who.role == HTTP_ROLE_AGGREGATOR && req->who.tenant_id > 0)
		return req->who.tenant_id;
	return -1;
}

/* Run one read statement in its own transaction under scope; NULL after
 * answering the error. */
static PGresult *
scoped_read(http_request *req, int64_t scope, const char *sql, int n,
			const char *const *p)
{
	derms_err	err;
	PGconn	   *c = db_conn(req->db, &err);
	PGresult   *r = NULL;

	if (c == NULL)
	{
		http_error(req, 503, "%s", err.msg);
		return NULL;
	}
	if (fleet_sql_begin(c, req->arena, &err) != DERMS_OK ||
		(scope > 0 && fleet_sql_scope(c, req->arena, scope, &err) != DERMS_OK) ||
		(r = fleet_sql_exec(c, req->arena, sql, n, p, NULL, &err)) == NULL ||
		fleet_sql_commit(c, req->arena, &err) != DERMS_OK)
	{
		fleet_sql_rollback(c);
		http_error(req, err.code == DERMS_EINVAL ? 400 : 503, "%s", err.msg);
		return NULL;
	}
	return r;
}

static bool
is_date(const char *s)
{
	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	return true;
}

int
fleet_statements_list(http_request *req)
{
	int64_t		scope = scope_of(req);
	const char *agg = http_query(req, "aggregation");
	const char *day = http_query(req, "day");
	const char *p[2];
	PGresult   *r;
	const char *body;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if (agg == NULL || *agg == '\0')
		return http_error(req, 400, "aggregation: required (id or ISO resource id)");
	if (day != NULL && !is_date(day))
		return http_error(req, 400, "day: not a date (YYYY-MM-DD)");
	p[0] = agg;
	p[1] = day;
	r = scoped_read(req, scope,
					"SELECT json_build_object('statements', coalesce(json_agg(json_build_object("
					" 'id', s.id, 'aggregation_id', s.aggregation_id,"
					" 'aggregation', coalesce(g.iso_resource_id, g.id::text),"
					" 'trading_day', s.trading_day, 'version', s.version, 'iso', s.iso,"
					" 'zone', s.zone, 'interval_minutes', s.interval_minutes,"
					" 'method', s.method, 'event_start', s.event_start, 'event_end', s.event_end,"
					" 'members', s.members, 'energy_kwh', s.energy_kwh,"
					" 'baseline_kwh', s.baseline_kwh, 'delivered_kwh', s.delivered_kwh,"
					" 'instructed_kwh', s.instructed_kwh, 'under_kwh', s.under_kwh,"
					" 'over_kwh', s.over_kwh, 'performance_ratio', s.performance_ratio,"
					" 'estimated_intervals', s.estimated_intervals, 'value', s.value,"
					" 'inputs', s.inputs, 'inputs_sha256', s.inputs_sha256,"
					" 'created_at', s.created_at, 'intervals', s.intervals,"
					" 'chart', '/fleet/v1/statements/' || s.id || '/chart.svg')"
					" ORDER BY s.trading_day, s.version), '[]'))"
					" FROM settlement_statements s JOIN aggregations g ON g.id = s.aggregation_id"
					" WHERE (g.iso_resource_id = $1 OR g.id::text = $1)"
					"  AND ($2::date IS NULL OR s.trading_day = $2::date)", 2, p);
	if (r == NULL)
		return req->status;
	body = PQgetvalue(r, 0, 0);
	return http_reply(req, 200, JSON_CT, body, strlen(body));
}

int
fleet_statements_chart(http_request *req)
{
	int64_t		scope = scope_of(req);
	int64_t		id;
	const char *p[1];
	PGresult   *r;
	const char *svg;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if (!fleet_sql_parse_id(req->params[0], &id))
		return http_error(req, 404, "no such statement");
	p[0] = fleet_sql_i64(req->arena, id);
	r = scoped_read(req, scope, "SELECT chart_svg FROM settlement_statements WHERE id = $1",
					1, p);
	if (r == NULL)
		return req->status;
	if (PQntuples(r) != 1)
		return http_error(req, 404, "no such statement");
	svg = PQgetvalue(r, 0, 0);
	return http_reply(req, 200, SVG_CT, svg, strlen(svg));
}
