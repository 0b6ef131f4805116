/*
 * protocols/fleet/aggapi.c
 *	  The aggregators' fleet API beside api.c: GET /fleet/v1/resources
 *	  (enrolled resources with their latest state), /resources/{id}, and
 *	  /resources/{id}/telemetry (a time series at a chosen resolution).
 *
 * NOTES
 *	  Runs in vtn workers only; memory comes from the request arena and
 *	  libpq results are registered with it.  Errors are Problem JSON from
 *	  http_error whose detail begins with the parameter at fault (400), or
 *	  404 for an unknown or foreign resource, 503 when the database is
 *	  unavailable.
 *
 *	  Visibility.  A resource is a DER of the caller's tenant that is
 *	  enrolled now in one of its aggregations or sits at one of its sites.
 *	  Each request is one read transaction in two steps: the ids are
 *	  chosen under the tenant's row-level security scope (fleet_sql_scope,
 *	  so a forgotten predicate shows no foreign row), then the scope is
 *	  left and the state of exactly those ids is read from the device
 *	  tables (der_reports, readings, end_device_reports,
 *	  der_control_responses), which have no tenant column and are not
 *	  granted to dermsd_tenant.  The operator (scope 0) sees every DER that
 *	  has a site or an enrollment.
 *
 *	  Device data is found through the DER's 2030.5 identity: the LFDI of
 *	  its EndDevice (der_resources.end_device_id) or else its own LFDI;
 *	  mirror usage points name it as deviceLFDI, responses as the
 *	  responding device.  Power is uom 38 (W), energy uom 72 (Wh), both
 *	  scaled by powerOfTenMultiplier; SoC is DERStatus stateOfChargeStatus
 *	  (hundredths of a percent).
 *
 *	  Series are computed in SQL: date_bin() with the request's "from" as
 *	  origin, generate_series() for the buckets so that a bucket with no
 *	  sample is null, never zero.  Times go out as RFC 3339 UTC, to the
 *	  second.
 */
#include "aggapi.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enroll.h"
#include "sql.h"
#include "value.h"

#define JSON_CT "application/json"

/* The 2030.5 identity a DER's device data is filed under. */
#define DER_LFDI(d) \
	"coalesce((SELECT e.lfdi FROM end_devices e WHERE e.id = " d ".end_device_id), " d ".lfdi)"

/* Enrolled now in aggregation g (NULL: in any visible one). */
#define ENROLLED_NOW(g) \
	"EXISTS (SELECT 1 FROM aggregation_members m WHERE m.der_id = d.id" \
	" AND (" g " IS NULL OR m.aggregation_id = " g ")" \
	" AND m.effective_from <= now()" \
	" AND (m.effective_to IS NULL OR m.effective_to > now()))"

/*
 * Step 1, scoped: the visible resource ids of one page.
 * $1 aggregation, $2 type, $3 feeder, $4 one id, $5 after id, $6 limit,
 * $7 offset; NULL parameters do not filter.
 */
static const char visible_sql[] =
"SELECT d.id FROM der_resources d"
" LEFT JOIN sites s ON s.id = d.site_id"
" LEFT JOIN feeders f ON f.id = s.feeder_id"
" WHERE (s.id IS NOT NULL OR " ENROLLED_NOW("NULL::bigint") ")"
"  AND ($1::bigint IS NULL OR " ENROLLED_NOW("$1::bigint") ")"
"  AND ($2::text IS NULL OR d.kind = $2)"
"  AND ($3::text IS NULL OR f.name = $3)"
"  AND ($4::bigint IS NULL OR d.id = $4)"
"  AND d.id > coalesce($5::bigint, 0)"
" ORDER BY d.id LIMIT $6::int OFFSET $7::int";

/*
 * Step 2, unscoped: the resources of $1 (ids, in that order) with their
 * latest state, as one JSON array.
 */
static const char state_sql[] =
"SELECT coalesce(json_agg(json_build_object("
"  'id', d.id, 'der_id', d.external_id, 'kind', d.kind, 'name', d.name,"
"  'lfdi', d.lfdi, 'ven_name', d.ven_name, 'resource_name', d.resource_name,"
"  'nameplate_kw', d.rated_w / 1000.0, 'energy_kwh', d.rated_wh / 1000.0,"
"  'interconnection_status', d.interconnection_status,"
"  'site', CASE WHEN s.id IS NULL THEN NULL ELSE json_build_object("
"    'id', s.id, 'meter_id', s.meter_id, 'feeder', f.name,"
"    'pricing_node', s.pricing_node) END,"
"  'aggregations', coalesce((SELECT json_agg(json_build_object("
"      'id', g.id, 'name', g.name, 'effective_from', " FLEET_TS("m.effective_from") ","
"      'effective_to', " FLEET_TS("m.effective_to") ") ORDER BY g.id)"
"    FROM aggregation_members m JOIN aggregations g ON g.id = m.aggregation_id"
"    WHERE m.der_id = d.id AND m.effective_from <= now()"
"      AND (m.effective_to IS NULL OR m.effective_to > now())), '[]'::json),"
"  'state', json_build_object("
"    'soc_percent', (st.doc #>> '{stateOfChargeStatus,value}')::numeric / 100,"
"    'soc_at', " FLEET_TS("coalesce(to_timestamp("
						 "(st.doc #>> '{stateOfChargeStatus,dateTime}')::bigint),"
						 " st.reading_time)") ","
"    'power_w', pw.w,"
"    'power_at', " FLEET_TS("pw.interval_start") ","
"    'availability', CASE WHEN av.doc IS NULL THEN NULL ELSE json_build_object("
"      'w', (av.doc #>> '{statWAvail,value}')::float8"
"        * power(10::float8, coalesce((av.doc #>> '{statWAvail,multiplier}')::int, 0)),"
"      'var', (av.doc #>> '{statVarAvail,value}')::float8"
"        * power(10::float8, coalesce((av.doc #>> '{statVarAvail,multiplier}')::int, 0)),"
"      'duration_s', (av.doc ->> 'availabilityDuration')::bigint,"
"      'max_charge_duration_s', (av.doc ->> 'maxChargeDuration')::bigint,"
"      'reserve_percent', (av.doc ->> 'reservePercent')::numeric / 100,"
"      'reserve_charge_percent', (av.doc ->> 'reserveChargePercent')::numeric / 100,"
"      'at', " FLEET_TS("av.reading_time") ") END,"
"    'last_seen', " FLEET_TS("greatest(rd.at, st.received_at, av.received_at, es.received_at)") ","
"    'last_response', CASE WHEN rs.id IS NULL THEN NULL ELSE json_build_object("
"      'control_id', rs.control_id, 'control_mrid', c.mrid, 'status', rs.status,"
"      'at', " FLEET_TS("rs.received_at") ") END)"
"  ) ORDER BY k.n), '[]'::json)"
" FROM unnest($1::bigint[]) WITH ORDINALITY AS k(id, n)"
" JOIN der_resources d ON d.id = k.id"
" LEFT JOIN sites s ON s.id = d.site_id"
" LEFT JOIN feeders f ON f.id = s.feeder_id"
" CROSS JOIN LATERAL (SELECT " DER_LFDI("d") " AS lfdi,"
"   (SELECT e.id FROM end_devices e WHERE e.id = d.end_device_id OR e.lfdi = d.lfdi"
"    ORDER BY e.id = d.end_device_id DESC LIMIT 1) AS edev) who"
" LEFT JOIN LATERAL (SELECT x.received_at, x.reading_time, x.doc FROM der_reports x"
"   WHERE x.der_id = d.id AND x.resource = 'status' ORDER BY x.id DESC LIMIT 1) st ON true"
" LEFT JOIN LATERAL (SELECT x.received_at, x.reading_time, x.doc FROM der_reports x"
"   WHERE x.der_id = d.id AND x.resource = 'availability' ORDER BY x.id DESC LIMIT 1) av ON true"
" LEFT JOIN LATERAL (SELECT x.received_at FROM end_device_reports x"
"   WHERE x.end_device_id = who.edev AND x.resource = 'status'"
"   ORDER BY x.id DESC LIMIT 1) es ON true"
" LEFT JOIN LATERAL (SELECT r.interval_start,"
"     r.value * power(10::float8,"
"       coalesce((mm.reading_type ->> 'powerOfTenMultiplier')::int, 0)) AS w"
"   FROM mirror_usage_points u JOIN mirror_meter_readings mm ON mm.mup_id = u.id"
"   CROSS JOIN LATERAL (SELECT x.interval_start, x.value FROM readings x"
"     WHERE x.mmr_id = mm.id ORDER BY x.interval_start DESC LIMIT 1) r"
"   WHERE u.device_lfdi = who.lfdi AND mm.reading_type ->> 'uom' = '38'"
"   ORDER BY r.interval_start DESC LIMIT 1) pw ON true"
" LEFT JOIN LATERAL (SELECT max(r.received_at) AS at"
"   FROM mirror_usage_points u JOIN mirror_meter_readings mm ON mm.mup_id = u.id"
"   CROSS JOIN LATERAL (SELECT x.received_at FROM readings x"
"     WHERE x.mmr_id = mm.id ORDER BY x.interval_start DESC LIMIT 1) r"
"   WHERE u.device_lfdi = who.lfdi) rd ON true"
" LEFT JOIN LATERAL (SELECT x.id, x.control_id, x.status, x.received_at"
"   FROM der_control_responses x WHERE x.end_device_lfdi = who.lfdi"
"   ORDER BY x.received_at DESC, x.id DESC LIMIT 1) rs ON true"
" LEFT JOIN der_controls c ON c.id = rs.control_id";

/*
 * Series from mirror readings of one uom: $1 DER id, $2 from and $3 to
 * (epoch seconds), $4 bucket seconds.  agg is the SQL aggregate, extra a
 * further condition on the meter reading (mm).
 */
#define READINGS_SERIES(uom, agg, extra) \
"WITH s AS (SELECT date_bin($4::int * interval '1 second', r.interval_start," \
"    to_timestamp($2::bigint)) AS t," \
"    r.value * power(10::float8," \
"      coalesce((mm.reading_type ->> 'powerOfTenMultiplier')::int, 0)) AS v" \
"  FROM der_resources d" \
"  JOIN mirror_usage_points u ON u.device_lfdi = " DER_LFDI("d") \
"  JOIN mirror_meter_readings mm ON mm.mup_id = u.id" \
"  JOIN readings r ON r.mmr_id = mm.id" \
"  WHERE d.id = $1 AND mm.reading_type ->> 'uom' = '" uom "'" extra \
"    AND r.interval_start >= to_timestamp($2::bigint)" \
"    AND r.interval_start < to_timestamp($3::bigint))," \
" b AS (SELECT t, " agg "(v) AS v, count(*) AS n FROM s GROUP BY t) " \
SERIES_TAIL

/* SoC from DERStatus reports, by readingTime; parameters as above. */
#define SOC_SERIES \
"WITH s AS (SELECT date_bin($4::int * interval '1 second', x.reading_time," \
"    to_timestamp($2::bigint)) AS t," \
"    (x.doc #>> '{stateOfChargeStatus,value}')::float8 / 100 AS v" \
"  FROM der_reports x" \
"  WHERE x.der_id = $1 AND x.resource = 'status'" \
"    AND x.reading_time >= to_timestamp($2::bigint)" \
"    AND x.reading_time < to_timestamp($3::bigint)" \
"    AND x.doc ? 'stateOfChargeStatus')," \
" b AS (SELECT t, avg(v) AS v, count(*) AS n FROM s GROUP BY t) " \
SERIES_TAIL

/* Every bucket of [from, to), null where no sample fell. */
#define SERIES_TAIL \
"SELECT " FLEET_TS("g.t") ", b.v, coalesce(b.n, 0)" \
" FROM generate_series(to_timestamp($2::bigint)," \
"   to_timestamp($3::bigint) - interval '1 microsecond'," \
"   $4::int * interval '1 second') AS g(t)" \
" LEFT JOIN b ON b.t = g.t ORDER BY g.t"

/* What a series may show. */
static const struct quantity
{
	const char *name;
	const char *unit;
	const char *aggregate;		/* how samples of a bucket combine */
	const char *sql;
}			quantities[] = {
	{"power", "W", "mean", READINGS_SERIES("38", "avg", "")},
	/* interval data only: summing cumulative registers means nothing */
	{"energy", "Wh", "sum", READINGS_SERIES("72", "sum",
											" AND coalesce(mm.reading_type ->> 'accumulationBehaviour', '4')"
											" NOT IN ('3', '9')")},
	{"soc", "%", "mean", SOC_SERIES},
};

/* The resolutions a series may have, as ISO 8601 durations. */
static const struct resolution
{
	const char *name;
	int			seconds;
}			resolutions[] = {
	{"PT5M", 300},
	{"PT15M", 900},
	{"PT1H", 3600},
	{"P1D", 86400},
};

static const char *const der_kinds[] = {"pv", "battery", "ev_charger", "flexible_load",
"generator", NULL};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static int
fail(http_request *req, const derms_err *err)
{
	switch (err->code)
	{
		case DERMS_EINVAL:
		case DERMS_EPARSE:
			return http_error(req, 400, "%s", err->msg);
		case DERMS_ENOTFOUND:
			return http_error(req, 404, "%s", err->msg);
		case DERMS_EDB:
			return http_error(req, 503, "database unavailable: %s", err->msg);
		default:
			return http_error(req, 500, "%s", err->msg);
	}
}

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

static int
send_body(http_request *req, const char *body)
{
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, 200, JSON_CT, body, strlen(body));
}

/* Strict integer in [lo, hi]; false when s is not one. */
static bool
parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 18)
		return false;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi)
		return false;
	*out = (int64_t) v;
	return true;
}

/*
 * Epoch seconds of an RFC 3339 time that fleet_value_time() accepted;
 * fractions of a second are dropped.
 */
static int64_t
epoch_of(const char *s)
{
	struct tm	tm;
	const char *p;
	int64_t		t;
	int			sign,
				oh = 0,
				om = 0;

	assert(fleet_value_time(s));
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	p = s + 16;
	if (*p == ':')
	{
		tm.tm_sec = atoi(p + 1);
		p += 3;
		if (*p == '.')
			p += 1 + strspn(p + 1, "0123456789");
	}
	t = (int64_t) timegm(&tm);
	if (*p == 'Z')
		return t;
	sign = *p == '-' ? -1 : 1;
	oh = atoi(p + 1);
	p += 3;
	if (*p == ':')
		p++;
	if (*p)
		om = atoi(p);
	return t - sign * (oh * 3600 + om * 60);
}

static const char *
utc_text(arena *a, int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;
	char		buf[32];

	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return arena_strdup(a, buf);
}

/* The {id} of the path; 0 after answering 404. */
static int64_t
path_id(http_request *req)
{
	int64_t		id;

	if (req->nparams < 1 || !fleet_sql_parse_id(req->params[0], &id))
	{
		http_error(req, 404, "id: no resource \"%s\"", req->nparams ? req->params[0] : "");
		return 0;
	}
	return id;
}

/* ---- resources ---- */

typedef struct page_query
{
	const char *aggregation;	/* decimal id or NULL */
	const char *type;
	const char *feeder;
	const char *id;				/* one resource, or NULL */
	const char *after;			/* cursor: the last id of the previous page */
	int64_t		limit;
	int64_t		offset;
} page_query;

/*
 * Run both steps for q under scope.  *nids receives how many visible ids
 * step 1 found (at most q->limit + 1); *json (borrowed) the array of at
 * most q->limit resources, or step 2 is skipped when json is NULL; *last
 * the id of the last one returned.
 */
static derms_rc
fetch_resources(http_request *req, int64_t scope, const page_query *q,
				int *nids, const char **json, int64_t *last, derms_err *err)
{
	const char *p[7];
	PGconn	   *c;
	PGresult   *r;
	char	   *arr;
	size_t		len = 2;
	int			n;

	*nids = 0;
	*last = 0;
	if ((c = db_conn(req->db, err)) == NULL)
	{
		err->code = DERMS_EDB;
		return err->code;
	}
	p[0] = q->aggregation;
	p[1] = q->type;
	p[2] = q->feeder;
	p[3] = q->id;
	p[4] = q->after;
	p[5] = fleet_sql_i64(req->arena, q->limit + 1);
	p[6] = fleet_sql_i64(req->arena, q->offset);
	if (fleet_sql_begin(c, req->arena, err) != DERMS_OK)
		return err->code;
	if ((scope > 0 && fleet_sql_scope(c, req->arena, scope, err) != DERMS_OK) ||
		(r = fleet_sql_exec(c, req->arena, visible_sql, 7, p, NULL, err)) == NULL ||
		(scope > 0 && fleet_sql_unscope(c, req->arena, err) != DERMS_OK))
		goto fail;

	/* the ids of this page as an array literal */
	n = PQntuples(r);
	*nids = n;
	if (n > q->limit)
		n = (int) q->limit;
	for (int i = 0; i < n; i++)
		len += strlen(PQgetvalue(r, i, 0)) + 1;
	if ((arr = arena_alloc(req->arena, len + 1)) == NULL)
	{
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto fail;
	}
	arr[0] = '{';
	arr[1] = '\0';
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			strcat(arr, ",");
		strcat(arr, PQgetvalue(r, i, 0));
	}
	strcat(arr, "}");
	if (n > 0)
		*last = strtoll(PQgetvalue(r, n - 1, 0), NULL, 10);

	p[0] = arr;
	if ((json && (r = fleet_sql_exec(c, req->arena, state_sql, 1, p, NULL, err)) == NULL) ||
		fleet_sql_commit(c, req->arena, err) != DERMS_OK)
		goto fail;
	if (json)
		*json = PQgetvalue(r, 0, 0);
	return DERMS_OK;

fail:
	fleet_sql_rollback(c);
	return err->code;
}

static bool
known_kind(const char *s)
{
	for (const char *const *k = der_kinds; *k; k++)
		if (strcmp(*k, s) == 0)
			return true;
	return false;
}

int
fleet_aggapi_resources(http_request *req)
{
	int64_t		scope = scope_of(req);
	const char *v;
	page_query	q;
	derms_err	err;
	const char *json;
	int64_t		last,
				tmp;
	int			nids;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	memset(&q, 0, sizeof(q));
	q.limit = FLEET_AGGAPI_DEFAULT_LIMIT;
	if ((v = http_query(req, "limit")) != NULL &&
		!parse_int(v, 1, FLEET_AGGAPI_MAX_LIMIT, &q.limit))
		return http_error(req, 400, "limit: must be an integer from 1 to %d",
						  FLEET_AGGAPI_MAX_LIMIT);
	if ((v = http_query(req, "offset")) != NULL &&
		!parse_int(v, 0, INT32_MAX, &q.offset))
		return http_error(req, 400, "offset: must be a non-negative integer");
	if ((q.after = http_query(req, "cursor")) != NULL)
	{
		if (!parse_int(q.after, 1, INT64_MAX, &tmp))
			return http_error(req, 400, "cursor: not a cursor this API returned");
		if (http_query(req, "offset") != NULL)
			return http_error(req, 400, "cursor: cannot be combined with offset");
	}
	if ((q.aggregation = http_query(req, "aggregation")) != NULL &&
		!fleet_sql_parse_id(q.aggregation, &tmp))
		return http_error(req, 400, "aggregation: must be a positive integer id");
	if ((q.type = http_query(req, "type")) != NULL && !known_kind(q.type))
		return http_error(req, 400,
						  "type: must be pv, battery, ev_charger, flexible_load or generator");
	if ((q.feeder = http_query(req, "feeder")) != NULL && q.feeder[0] == '\0')
		return http_error(req, 400, "feeder: must not be empty");

	if (fetch_resources(req, scope, &q, &nids, &json, &last, &err) != DERMS_OK)
		return fail(req, &err);
	if (nids > q.limit)
		return send_body(req, arena_printf(req->arena,
										   "{\"resources\":%s,\"next_cursor\":\"%" PRId64 "\"}",
										   json, last));
	return send_body(req, arena_printf(req->arena, "{\"resources\":%s,\"next_cursor\":null}",
									   json));
}

int
fleet_aggapi_resource_get(http_request *req)
{
	int64_t		scope = scope_of(req);
	page_query	q;
	derms_err	err;
	const char *json;
	int64_t		id,
				last;
	int			nids;
	size_t		len;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((id = path_id(req)) == 0)
		return req->status;
	memset(&q, 0, sizeof(q));
	q.id = fleet_sql_i64(req->arena, id);
	q.limit = 1;
	if (fetch_resources(req, scope, &q, &nids, &json, &last, &err) != DERMS_OK)
		return fail(req, &err);
	if (nids == 0)
		return http_error(req, 404, "id: no resource %" PRId64, id);
	/* the one element of the array */
	len = strlen(json);
	if (len < 2 || json[0] != '[' || json[len - 1] != ']')
		return http_error(req, 500, "unexpected resource document");
	return send_body(req, arena_strndup(req->arena, json + 1, len - 2));
}

/* ---- telemetry ---- */

int
fleet_aggapi_telemetry(http_request *req)
{
	int64_t		scope = scope_of(req);
	const char *from = http_query(req, "from");
	const char *to = http_query(req, "to");
	const char *res = http_query(req, "resolution");
	const char *qty = http_query(req, "quantity");
	const struct quantity *quant = NULL;
	const struct resolution *step = NULL;
	const char *p[4];
	page_query	q;
	derms_err	err;
	int64_t		id,
				lo,
				hi,
				last,
				npoints;
	int			nids;
	PGconn	   *c;
	PGresult   *r;
	char	   *body,
			   *w;
	size_t		cap;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((id = path_id(req)) == 0)
		return req->status;

	/* parameters, each named when refused */
	if (from == NULL)
		return http_error(req, 400, "from: is required");
	if (!fleet_value_time(from))
		return http_error(req, 400, "from: not an RFC 3339 time with zone (YYYY-MM-DDTHH:MM:SSZ)");
	if (to == NULL)
		return http_error(req, 400, "to: is required");
	if (!fleet_value_time(to))
		return http_error(req, 400, "to: not an RFC 3339 time with zone (YYYY-MM-DDTHH:MM:SSZ)");
	for (size_t i = 0; i < NELEM(resolutions); i++)
		if (strcmp(resolutions[i].name, res ? res : "PT15M") == 0)
			step = &resolutions[i];
	if (step == NULL)
		return http_error(req, 400, "resolution: must be PT5M, PT15M, PT1H or P1D");
	for (size_t i = 0; i < NELEM(quantities); i++)
		if (strcmp(quantities[i].name, qty ? qty : "power") == 0)
			quant = &quantities[i];
	if (quant == NULL)
		return http_error(req, 400, "quantity: must be power, energy or soc");
	lo = epoch_of(from);
	hi = epoch_of(to);
	if (hi <= lo)
		return http_error(req, 400, "to: must be after from");
	if (hi - lo > FLEET_AGGAPI_MAX_RANGE_S)
		return http_error(req, 400, "to: the range exceeds %d days",
						  FLEET_AGGAPI_MAX_RANGE_S / 86400);
	npoints = (hi - lo + step->seconds - 1) / step->seconds;
	if (npoints > FLEET_AGGAPI_MAX_POINTS)
		return http_error(req, 400, "resolution: %s over this range gives %" PRId64
						  " points, more than %d; choose a coarser resolution or a shorter range",
						  step->name, npoints, FLEET_AGGAPI_MAX_POINTS);

	/* visible?  (step 1 alone; the resource document is not needed) */
	memset(&q, 0, sizeof(q));
	q.id = fleet_sql_i64(req->arena, id);
	q.limit = 1;
	if (fetch_resources(req, scope, &q, &nids, NULL, &last, &err) != DERMS_OK)
		return fail(req, &err);
	if (nids == 0)
		return http_error(req, 404, "id: no resource %" PRId64, id);

	if ((c = db_conn(req->db, &err)) == NULL)
		return http_error(req, 503, "database unavailable: %s", err.msg);
	p[0] = q.id;
	p[1] = fleet_sql_i64(req->arena, lo);
	p[2] = fleet_sql_i64(req->arena, hi);
	p[3] = fleet_sql_i64(req->arena, step->seconds);
	if ((r = fleet_sql_exec(c, req->arena, quant->sql, 4, p, NULL, &err)) == NULL)
		return fail(req, &err);

	/* {"resource_id":..,"points":[{"start":"..","value":..,"samples":n},..]} */
	cap = 512 + (size_t) PQntuples(r) * 96;
	for (int i = 0; i < PQntuples(r); i++)
		cap += strlen(PQgetvalue(r, i, 1));
	if ((body = arena_alloc(req->arena, cap)) == NULL)
		return http_error(req, 500, "out of memory");
	w = body;
	w += snprintf(w, cap, "{\"resource_id\":%" PRId64 ",\"quantity\":\"%s\",\"unit\":\"%s\","
				  "\"aggregate\":\"%s\",\"resolution\":\"%s\",\"from\":\"%s\",\"to\":\"%s\","
				  "\"points\":[", id, quant->name, quant->unit, quant->aggregate, step->name,
				  utc_text(req->arena, lo), utc_text(req->arena, hi));
	for (int i = 0; i < PQntuples(r); i++)
		w += snprintf(w, cap - (size_t) (w - body),
					  "%s{\"start\":\"%s\",\"value\":%s,\"samples\":%s}", i ? "," : "",
					  PQgetvalue(r, i, 0),
					  PQgetisnull(r, i, 1) ? "null" : PQgetvalue(r, i, 1),
					  PQgetvalue(r, i, 2));
	snprintf(w, cap - (size_t) (w - body), "]}");
	return send_body(req, body);
}
