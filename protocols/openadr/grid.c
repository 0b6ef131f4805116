/*
 * protocols/openadr/grid.c
 *	  Grid events: an operator's instruction to an aggregation (dispatch
 *	  setpoint, price, import or export capacity limit), kept once in
 *	  grid_events (schema/0016) and sent through both protocols: as
 *	  IEEE 2030.5 DERControls in the aggregation's aggregation-scoped
 *	  DERProgram (sep2_derp_grid_control) and as one OpenADR event, in the
 *	  aggregation's tenant's grid program, targeted at the aggregation.
 *
 * NOTES
 *	  Runs in vtn workers; memory from the request arena.  A create or a
 *	  cancel is one transaction on the request's connection: the
 *	  grid_events row, the controls, the OpenADR program (made on first
 *	  use) and event with their subscription notifications, and the audit
 *	  record.  The OpenADR event body is built here and then validated by
 *	  model.c like any client's, so what VENs read conforms to the YAML.
 *	  Setpoints become opModTargetW, import and export capacity limits the
 *	  CSIP-AUS opModImpLimW / opModExpLimW; a price is OpenADR only
 *	  (DESIGN.md, "Grid events", says why).
 */
#include "grid.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "model.h"
#include "protocols/sep2/derp.h"
#include "store.h"

#define JSON_CT "application/json"
#define GRID_MAX_INTERVALS 96
#define GRID_MAX_DURATION 86400

/* What differs between kinds. */
static const struct
{
	const char *kind;			/* grid_events.kind and the API's "kind" */
	const char *payload;		/* the OpenADR payload type */
	const char *units;			/* default units */
	const char *der_control;	/* the DERControlBase element, or NULL */
}			kinds[] = {
	{"dispatch_setpoint", "DISPATCH_SETPOINT", "KW", "opModTargetW"},
	{"price", "PRICE", "KWH", NULL},
	{"import_capacity_limit", "IMPORT_CAPACITY_LIMIT", "KW", "csipaus:opModImpLimW"},
	{"export_capacity_limit", "EXPORT_CAPACITY_LIMIT", "KW", "csipaus:opModExpLimW"},
};

/* Power units a setpoint may be given in, and their watts. */
static const struct
{
	const char *units;
	double		watts;
}			power_units[] = {
	{"W", 1}, {"KW", 1e3}, {"MW", 1e6},
};

/* One grid event as the API answers it ($1: its id). */
#define GRID_JSON(g) \
	"json_build_object('id', " g ".id, 'aggregationID', " g ".aggregation_id," \
	" 'kind', " g ".kind, 'units', " g ".units, 'intervals', " g ".intervals," \
	" 'status', " g ".status, 'createdBy', " g ".created_by," \
	" 'createdAt', extract(epoch FROM " g ".created_at)::bigint," \
	" 'cancelledAt', extract(epoch FROM " g ".cancelled_at)::bigint," \
	" 'derControls', (SELECT coalesce(json_agg(c.id ORDER BY c.id), '[]')" \
	"   FROM der_controls c WHERE c.grid_event_id = " g ".id)," \
	" 'oadrEvents', (SELECT coalesce(json_agg(e.id::text ORDER BY e.id), '[]')" \
	"   FROM oadr_events e WHERE e.grid_event_id = " g ".id))"

/* ---- helpers ---- */

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
	return oadr_store_parse_id(s, out);
}

static void
rollback(http_request *req)
{
	db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, NULL);
}

/* Answer a failed statement inside the transaction (rolled back). */
static int
failed(http_request *req, const derms_err *err)
{
	rollback(req);
	if (err->code == DERMS_EINVAL || err->code == DERMS_EPARSE || err->code == DERMS_ERANGE)
		return http_error(req, 400, "%s", err->msg);
	return http_db_error(req, NULL, err);
}

/* Epoch seconds as RFC 3339 UTC. */
static const char *
rfc3339(arena *a, int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;
	char		buf[40];

	if (gmtime_r(&tt, &tm) == NULL ||
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return arena_strdup(a, buf);
}

/* {elem: ActivePower {multiplier, value}} of watts, |value| <= 32767 */
static json_t *
active_power(const char *elem, double watts)
{
	int			m = 0;
	double		v = watts;

	while (fabs(round(v)) > 32767 && m < 9)
	{
		v /= 10;
		m++;
	}
	return json_pack("{s:{s:i,s:I}}", elem, "multiplier", m,
					 "value", (json_int_t) round(v));
}

/*
 * The request body: kind index, units, the intervals as the table keeps
 * them.  Returns 0 or the status answered.
 */
static int
parse_request(http_request *req, int *kind, const char **units, json_t **intervals,
			  const char **name)
{
	json_error_t jerr;
	json_t	   *j = json_loadb(req->body ? req->body : "", req->body_len,
							   JSON_REJECT_DUPLICATES, &jerr);
	json_t	   *v;
	json_t	   *iv;
	const char *key;
	size_t		i;
	int64_t		prev_end = -1;

	if (j == NULL)
		return http_error(req, 400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, j);
	if (!json_is_object(j))
		return http_error(req, 400, "expected a JSON object");
	json_object_foreach(j, key, v)
		if (strcmp(key, "kind") && strcmp(key, "units") && strcmp(key, "intervals") &&
			strcmp(key, "eventName"))
		return http_error(req, 400, "unknown field \"%s\"", key);
	*kind = -1;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (json_is_string(json_object_get(j, "kind")) &&
			strcmp(json_string_value(json_object_get(j, "kind")), kinds[i].kind) == 0)
			*kind = (int) i;
	if (*kind < 0)
		return http_error(req, 400, "\"kind\" must be dispatch_setpoint, price,"
						  " import_capacity_limit or export_capacity_limit");
	v = json_object_get(j, "units");
	*units = v ? json_string_value(v) : kinds[*kind].units;
	if (*units == NULL || strlen(*units) < 1 || strlen(*units) > 32 ||
		strspn(*units, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") != strlen(*units))
		return http_error(req, 400, "\"units\" must be 1 to 32 of A-Z and _");
	if (kinds[*kind].der_control)
	{
		bool		ok = false;

		for (i = 0; i < sizeof(power_units) / sizeof(power_units[0]); i++)
			ok = ok || strcmp(power_units[i].units, *units) == 0;
		if (!ok)
			return http_error(req, 400, "\"units\" of a %s must be W, KW or MW",
							  kinds[*kind].kind);
	}
	v = json_object_get(j, "eventName");
	*name = v ? json_string_value(v) : NULL;
	if (v && (*name == NULL || strlen(*name) < 1 || strlen(*name) > 128))
		return http_error(req, 400, "\"eventName\" must be a string of 1 to 128 characters");
	v = json_object_get(j, "intervals");
	if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > GRID_MAX_INTERVALS)
		return http_error(req, 400, "\"intervals\" must be an array of 1 to %d intervals",
						  GRID_MAX_INTERVALS);
	*intervals = json_array();
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, *intervals);
	json_array_foreach(v, i, iv)
	{
		json_t	   *s = json_object_get(iv, "start");
		json_t	   *d = json_object_get(iv, "duration");
		json_t	   *x = json_object_get(iv, "value");

		if (!json_is_object(iv) || json_object_size(iv) != 3 || !json_is_integer(s) ||
			!json_is_integer(d) || !json_is_number(x))
			return http_error(req, 400, "intervals[%zu]: must be {\"start\", \"duration\","
							  " \"value\"}: epoch seconds, seconds, a number", i);
		if (json_integer_value(s) < 0 || json_integer_value(s) > 253402300799LL)
			return http_error(req, 400, "intervals[%zu].start: out of range", i);
		if (json_integer_value(d) <= 0 || json_integer_value(d) > GRID_MAX_DURATION)
			return http_error(req, 400, "intervals[%zu].duration: must be 1 to %d seconds",
							  i, GRID_MAX_DURATION);
		if (json_integer_value(s) < prev_end)
			return http_error(req, 400, "intervals[%zu]: overlaps or precedes the one before",
							  i);
		if (kinds[*kind].der_control)
		{
			double		w = json_number_value(x);

			for (size_t u = 0; u < sizeof(power_units) / sizeof(power_units[0]); u++)
				if (strcmp(power_units[u].units, *units) == 0)
					w *= power_units[u].watts;
			if (fabs(w) > 32767e9)
				return http_error(req, 400, "intervals[%zu].value: too large", i);
		}
		prev_end = json_integer_value(s) + json_integer_value(d);
		json_array_append(*intervals, iv);
	}
	return 0;
}

/* The OpenADR event body for the grid event (new reference). */
static json_t *
event_body(http_request *req, int kind, const char *units, json_t *intervals,
		   const char *name, const char *program_id, const char *target, const char *gid)
{
	json_t	   *ev = json_object();
	json_t	   *desc = json_object();
	json_t	   *ivs = json_array();
	json_t	   *iv;
	size_t		i;

	json_object_set_new(ev, "programID", json_string(program_id));
	json_object_set_new(ev, "eventName",
						json_string(name ? name : arena_printf(req->arena, "grid event %s", gid)));
	json_object_set_new(ev, "targets", json_pack("[s]", target));
	json_object_set_new(desc, "objectType", json_string("EVENT_PAYLOAD_DESCRIPTOR"));
	json_object_set_new(desc, "payloadType", json_string(kinds[kind].payload));
	json_object_set_new(desc, "units", json_string(units));
	json_object_set_new(ev, "payloadDescriptors", json_pack("[o]", desc));
	json_array_foreach(intervals, i, iv)
	{
		json_int_t	s = json_integer_value(json_object_get(iv, "start"));
		json_int_t	d = json_integer_value(json_object_get(iv, "duration"));
		const char *start = rfc3339(req->arena, (int64_t) s);

		json_array_append_new(ivs, json_pack("{s:I,s:{s:s,s:s},s:[{s:s,s:[O]}]}",
											 "id", (json_int_t) i,
											 "intervalPeriod", "start", start ? start : "",
											 "duration",
											 arena_printf(req->arena, "PT%" JSON_INTEGER_FORMAT "S", d),
											 "payloads", "type", kinds[kind].payload,
											 "values", json_object_get(iv, "value")));
	}
	json_object_set_new(ev, "intervals", ivs);
	return ev;
}

/*
 * The grid program of tenant (name tname), made on first use; its id
 * into *pid (arena text).  Notifies its creation.
 */
static derms_rc
grid_program(http_request *req, PGconn *c, const char *tenant, const char *tname,
			 const char **pid, derms_err *err)
{
	const char *p[2] = {tenant, arena_printf(req->arena, "grid-%s", tname)};
	PGresult   *r;
	oadr_row	row;
	oadr_doc	doc;
	json_t	   *body;
	char	   *text;
	derms_rc	rc;

	r = db_exec(req->db, req->arena,
				"SELECT id::text FROM oadr_programs WHERE tenant_id = $1::bigint"
				" AND program_name = $2", 2, p, NULL, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 1)
	{
		*pid = PQgetvalue(r, 0, 0);
		return DERMS_OK;
	}
	body = json_pack("{s:s}", "programName", p[1]);
	rc = oadr_model_check(OADR_PROGRAM, body, &doc, err);
	json_decref(body);
	if (rc != DERMS_OK)
		return rc;
	text = json_dumps(doc.body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc.body);
	memset(&row, 0, sizeof(row));
	row.tenant_id = strtoll(tenant, NULL, 10);
	row.body = text ? arena_strdup(req->arena, text) : NULL;
	free(text);
	if (row.body == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if ((rc = oadr_store_insert(c, req->arena, OADR_PROGRAM, &row, &r, err)) != DERMS_OK ||
		(rc = oadr_store_notify(c, req->arena, OADR_PROGRAM, "CREATE", r, NULL, err)) != DERMS_OK)
		return rc;
	*pid = PQgetvalue(r, 0, OADR_COL_ID);
	return DERMS_OK;
}

/* The OpenADR event of grid event gid; its id into *eid. */
static derms_rc
grid_oadr_event(http_request *req, PGconn *c, int kind, const char *units,
				json_t *intervals, const char *name, const char *tenant,
				const char *tname, const char *target, const char *gid,
				const char **eid, derms_err *err)
{
	const char *pid = NULL;
	const char *p[2];
	json_t	   *body;
	oadr_doc	doc;
	oadr_row	row;
	PGresult   *r;
	derms_rc	rc;
	char	   *text;
	bool		bounded;
	int64_t		end;

	if ((rc = grid_program(req, c, tenant, tname, &pid, err)) != DERMS_OK)
		return rc;
	body = event_body(req, kind, units, intervals, name, pid, target, gid);
	rc = oadr_model_check(OADR_EVENT, body, &doc, err);
	json_decref(body);
	if (rc != DERMS_OK)
		return rc;
	memset(&row, 0, sizeof(row));
	oadr_model_event_end(doc.body, &bounded, &end);
	row.ends_at = bounded ? rfc3339(req->arena, end) : NULL;
	row.parent_id = strtoll(pid, NULL, 10);
	text = json_dumps(doc.body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc.body);
	row.body = text ? arena_strdup(req->arena, text) : NULL;
	free(text);
	if (row.body == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if ((rc = oadr_store_insert(c, req->arena, OADR_EVENT, &row, &r, err)) != DERMS_OK)
		return rc;
	p[0] = PQgetvalue(r, 0, OADR_COL_ID);
	p[1] = gid;
	if (db_exec(req->db, req->arena, "UPDATE oadr_events SET grid_event_id = $2::bigint"
				" WHERE id = $1::bigint", 2, p, NULL, err) == NULL)
		return err->code;
	if ((rc = oadr_store_notify(c, req->arena, OADR_EVENT, "CREATE", r, NULL, err)) != DERMS_OK)
		return rc;
	*eid = p[0];
	return DERMS_OK;
}

/* Answer with grid event gid of aggregation agg (status st), or 404. */
static int
answer_one(http_request *req, const char *agg, const char *gid, int st)
{
	const char *p[2] = {agg, gid};
	derms_err	err;
	PGresult   *r;

	r = db_exec(req->db, req->arena,
				"SELECT " GRID_JSON("g") "::text FROM grid_events g"
				" WHERE g.aggregation_id = $1::bigint AND g.id = $2::bigint", 2, p, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "no grid event %s of aggregation %s", gid, agg);
	return http_reply(req, st, JSON_CT, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
}

/* ---- handlers ---- */

int
oadr_grid_create(http_request *req)
{
	int			kind = 0;
	const char *units = NULL;
	const char *name = NULL;
	json_t	   *intervals = NULL;
	int64_t		agg;
	const char *p[6];
	const char *gid;
	const char *eid = NULL;
	const char *target;
	char	   *ivtext;
	derms_err	err;
	PGresult   *r;
	PGconn	   *c;
	int			st;

	if (req->nparams < 1 || !id_ok(req->params[0], &agg))
		return http_error(req, 404, "no aggregation \"%s\"",
						  req->nparams ? req->params[0] : "");
	if ((st = parse_request(req, &kind, &units, &intervals, &name)) != 0)
		return st;
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	p[0] = req->params[0];
	r = db_exec(req->db, req->arena,
				"SELECT a.tenant_id::text, t.name,"
				" coalesce(nullif(a.iso_resource_id, ''), 'aggregation-' || a.id)"
				" FROM aggregations a JOIN tenants t ON t.id = a.tenant_id"
				" WHERE a.id = $1::bigint FOR SHARE OF a", 1, p, NULL, &err);
	if (r == NULL)
		return failed(req, &err);
	if (PQntuples(r) == 0)
	{
		rollback(req);
		return http_error(req, 404, "no aggregation %s", req->params[0]);
	}
	p[1] = PQgetvalue(r, 0, 0);
	p[2] = kinds[kind].kind;
	p[3] = units;
	ivtext = json_dumps(intervals, JSON_COMPACT);
	p[4] = ivtext ? arena_strdup(req->arena, ivtext) : NULL;
	free(ivtext);
	p[5] = actor(req);
	target = PQgetvalue(r, 0, 2);
	{
		const char *tenant = PQgetvalue(r, 0, 0);
		const char *tname = PQgetvalue(r, 0, 1);

		r = db_exec(req->db, req->arena,
					"INSERT INTO grid_events (aggregation_id, tenant_id, kind, units, intervals,"
					" created_by) VALUES ($1::bigint, $2::bigint, $3, $4, $5::jsonb, $6)"
					" RETURNING id::text", 6, p, NULL, &err);
		if (r == NULL)
			return failed(req, &err);
		gid = PQgetvalue(r, 0, 0);
		if (kinds[kind].der_control)
		{
			json_t	   *iv;
			size_t		i;

			json_array_foreach(intervals, i, iv)
			{
				double		w = json_number_value(json_object_get(iv, "value"));
				json_t	   *base;
				int64_t		cid;
				derms_rc	rc;

				for (size_t u = 0; u < sizeof(power_units) / sizeof(power_units[0]); u++)
					if (strcmp(power_units[u].units, units) == 0)
						w *= power_units[u].watts;
				base = active_power(kinds[kind].der_control, w);
				rc = sep2_derp_grid_control(req->db, req->arena, agg, strtoll(gid, NULL, 10),
											json_integer_value(json_object_get(iv, "start")),
											json_integer_value(json_object_get(iv, "duration")),
											base, &cid, &err);
				json_decref(base);
				if (rc != DERMS_OK)
					return failed(req, &err);
			}
		}
		if (grid_oadr_event(req, c, kind, units, intervals, name, tenant, tname, target, gid,
							&eid, &err) != DERMS_OK)
			return failed(req, &err);
	}
	p[0] = actor(req);
	p[1] = "grid_event.create";
	p[2] = arena_printf(req->arena, "grid_event:%s", gid);
	p[3] = arena_printf(req->arena, "{\"aggregation\":%s,\"kind\":\"%s\",\"oadr_event\":%s}",
						req->params[0], kinds[kind].kind, eid ? eid : "null");
	if (db_exec(req->db, req->arena, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p,
				NULL, &err) == NULL ||
		db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, &err) == NULL)
		return failed(req, &err);
	http_add_header(req, "Location",
					arena_printf(req->arena, "/api/v1/aggregations/%s/events/%s",
								 req->params[0], gid));
	return answer_one(req, req->params[0], gid, 201);
}

int
oadr_grid_list(http_request *req)
{
	const char *p[1];
	derms_err	err;
	PGresult   *r;
	int64_t		agg;

	if (req->nparams < 1 || !id_ok(req->params[0], &agg))
		return http_error(req, 404, "no aggregation \"%s\"",
						  req->nparams ? req->params[0] : "");
	p[0] = req->params[0];
	r = db_exec(req->db, req->arena,
				"SELECT (SELECT count(*) FROM aggregations WHERE id = $1::bigint),"
				" (SELECT coalesce(json_agg(" GRID_JSON("g") " ORDER BY g.id), '[]')::text"
				"  FROM grid_events g WHERE g.aggregation_id = $1::bigint)", 1, p, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (strcmp(PQgetvalue(r, 0, 0), "0") == 0)
		return http_error(req, 404, "no aggregation %s", req->params[0]);
	return http_reply(req, 200, JSON_CT, PQgetvalue(r, 0, 1), strlen(PQgetvalue(r, 0, 1)));
}

int
oadr_grid_get(http_request *req)
{
	int64_t		agg, gid;

	if (req->nparams < 2 || !id_ok(req->params[0], &agg) || !id_ok(req->params[1], &gid))
		return http_error(req, 404, "no grid event");
	return answer_one(req, req->params[0], req->params[1], 200);
}

int
oadr_grid_cancel(http_request *req)
{
	const char *p[4];
	derms_err	err;
	PGresult   *r;
	PGconn	   *c;
	int64_t		agg, gid;
	int			ncontrols = 0;

	if (req->nparams < 2 || !id_ok(req->params[0], &agg) || !id_ok(req->params[1], &gid))
		return http_error(req, 404, "no grid event");
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_db_error(req, NULL, &err);
	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	p[0] = req->params[0];
	p[1] = req->params[1];
	p[2] = actor(req);
	r = db_exec(req->db, req->arena,
				"SELECT g.status FROM grid_events g WHERE g.aggregation_id = $1::bigint"
				" AND g.id = $2::bigint FOR UPDATE", 2, p, NULL, &err);
	if (r == NULL)
		return failed(req, &err);
	if (PQntuples(r) == 0)
	{
		rollback(req);
		return http_error(req, 404, "no grid event %s of aggregation %s", p[1], p[0]);
	}
	if (strcmp(PQgetvalue(r, 0, 0), "cancelled") == 0)
	{
		rollback(req);
		return http_error(req, 409, "grid event %s is cancelled already", p[1]);
	}
	if (db_exec(req->db, req->arena,
				"UPDATE grid_events SET status = 'cancelled', cancelled_at = now(),"
				" cancelled_by = $3 WHERE id = $2::bigint AND aggregation_id = $1::bigint",
				3, p, NULL, &err) == NULL ||
		sep2_derp_grid_cancel(req->db, req->arena, gid, &ncontrols, &err) != DERMS_OK)
		return failed(req, &err);
	/* the OpenADR events go, with their reports, notifying as a DELETE does */
	r = db_exec(req->db, req->arena,
				"SELECT id FROM oadr_events WHERE grid_event_id = $1::bigint ORDER BY id",
				1, p + 1, NULL, &err);
	if (r == NULL)
		return failed(req, &err);
	for (int i = 0; i < PQntuples(r); i++)
	{
		int64_t		eid = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		oadr_cascade gone;
		PGresult   *d;

		if (oadr_store_cascade(c, req->arena, OADR_EVENT, eid, &gone, &err) != DERMS_OK ||
			oadr_store_delete(c, req->arena, OADR_EVENT, eid, &d, &err) != DERMS_OK)
			return failed(req, &err);
		for (int k = 0; k < gone.n; k++)
			if (oadr_store_notify(c, req->arena, gone.kind[k], "DELETE", gone.rows[k], NULL,
								  &err) != DERMS_OK)
				return failed(req, &err);
		if (oadr_store_notify(c, req->arena, OADR_EVENT, "DELETE", d, NULL, &err) != DERMS_OK)
			return failed(req, &err);
	}
	p[0] = actor(req);
	p[1] = "grid_event.cancel";
	p[2] = arena_printf(req->arena, "grid_event:%s", req->params[1]);
	p[3] = arena_printf(req->arena, "{\"der_controls\":%d,\"oadr_events\":%d}", ncontrols,
						PQntuples(r));
	if (db_exec(req->db, req->arena, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p,
				NULL, &err) == NULL ||
		db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, &err) == NULL)
		return failed(req, &err);
	return answer_one(req, req->params[0], req->params[1], 200);
}
