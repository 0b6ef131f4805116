/*
 * protocols/fleet/api.c
 *	  JSON handlers for /fleet/v1: enrollment requests, sites, DERs and
 *	  enrollments as of a time.
 *
 * NOTES
 *	  Runs in vtn workers only; all memory comes from the request arena
 *	  (jansson values and libpq results are registered with it).  Errors
 *	  are Problem JSON from http_error, their detail naming the field:
 *	  400 bad or missing field, 404 unknown or foreign object, 409
 *	  conflict (market overlap, open duplicate, decided request, failed
 *	  checks at approval), 503 database unavailable.  Each fleet call is
 *	  one transaction, answered only after COMMIT.
 */
#include "api.h"

#include <string.h>

#include <jansson.h>

#include "enroll.h"
#include "query.h"
#include "sql.h"

#define JSON_CT "application/json"

/* derms_rc -> HTTP status, as data. */
static const struct
{
	derms_rc	rc;
	int			status;
}			status_map[] = {
	{DERMS_EINVAL, 400},
	{DERMS_EPARSE, 400},
	{DERMS_ENOTFOUND, 404},
	{DERMS_EEXIST, 409},
	{DERMS_EPERM, 409},
	{DERMS_EDB, 503},
};

static int
fail(http_request *req, const derms_err *err)
{
	int			status = 500;

	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].rc == err->code)
			status = status_map[i].status;
	return http_error(req, status, "%s", err->msg);
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

static const char *
actor_of(const http_request *req)
{
	return arena_printf(req->arena, "vtn:%s:%lld:%s", http_role_name(req->who.role),
						(long long) req->who.tenant_id, req->who.id.lfdi);
}

static PGconn *
conn_of(http_request *req, derms_err *err)
{
	PGconn	   *c = db_conn(req->db, err);

	if (c == NULL)
		err->code = DERMS_EDB;
	return c;
}

/* A value of column i in row as JSON, by the column's type. */
static json_t *
cell(PGresult *r, int row, int i)
{
	const char *v = PQgetvalue(r, row, i);

	if (PQgetisnull(r, row, i))
		return json_null();
	switch (PQftype(r, i))
	{
		case 20:				/* int8 */
		case 21:				/* int2 */
		case 23:				/* int4 */
			return json_integer(strtoll(v, NULL, 10));
		case 700:				/* float4 */
		case 701:				/* float8 */
		case 1700:				/* numeric */
			return json_real(strtod(v, NULL));
		case 16:				/* bool */
			return json_boolean(v[0] == 't');
		case 114:				/* json */
		case 3802:				/* jsonb */
			{
				json_t	   *j = json_loads(v, 0, NULL);

				return j ? j : json_string(v);
			}
	}
	return json_string(v);
}

static json_t *
row_object(PGresult *r, int row)
{
	json_t	   *o = json_object();

	for (int i = 0; i < PQnfields(r); i++)
		json_object_set_new(o, PQfname(r, i), cell(r, row, i));
	return o;
}

/* Send j (stolen) with status. */
static int
send_json(http_request *req, int status, json_t *j)
{
	char	   *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	char	   *body;

	json_decref(j);
	if (s == NULL)
		return http_error(req, 500, "out of memory");
	body = arena_strdup(req->arena, s);
	free(s);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, status, JSON_CT, body, strlen(body));
}

static int
send_rows(http_request *req, const char *key, PGresult *r)
{
	json_t	   *arr = json_array();
	json_t	   *doc = json_object();

	for (int row = 0; row < PQntuples(r); row++)
		json_array_append_new(arr, row_object(r, row));
	json_object_set_new(doc, key, arr);
	return send_json(req, 200, doc);
}

/* The JSON object body; NULL after answering 400. */
static json_t *
body_object(http_request *req, const char *const *allowed)
{
	json_error_t jerr;
	json_t	   *j = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
	const char *key;
	json_t	   *v;

	if (j == NULL)
	{
		http_error(req, 400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, j);
	if (!json_is_object(j))
	{
		http_error(req, 400, "the body must be a JSON object");
		return NULL;
	}
	json_object_foreach(j, key, v)
	{
		bool		ok = false;

		for (const char *const *a = allowed; *a; a++)
			if (strcmp(*a, key) == 0)
				ok = true;
		if (!ok)
		{
			http_error(req, 400, "%s: unknown field", key);
			return NULL;
		}
	}
	return j;
}

/* ---- enrollment requests ---- */

int
fleet_api_request_create(http_request *req)
{
	static const char *const fields[] = {"der_id", "aggregation_id", "feeder",
	"effective_from", "effective_to", NULL};
	static const char *const ids[] = {"der_id", "aggregation_id"};
	fleet_enroll_in in = {0};
	fleet_enroll_out out;
	derms_err	err;
	json_t	   *j,
			   *v;
	PGconn	   *c;
	PGresult   *r;
	int64_t		got[2];

	if (scope_of(req) <= 0)
		return http_error(req, 403, "only an aggregator with a tenant may request enrollments");
	if ((j = body_object(req, fields)) == NULL)
		return req->status;
	for (int i = 0; i < 2; i++)
	{
		v = json_object_get(j, ids[i]);
		if (v == NULL)
			return http_error(req, 400, "%s: is required", ids[i]);
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return http_error(req, 400, "%s: must be a positive integer", ids[i]);
		got[i] = json_integer_value(v);
	}
	in.der_id = got[0];
	in.aggregation_id = got[1];
	v = json_object_get(j, "effective_from");
	if (v == NULL)
		return http_error(req, 400, "effective_from: is required");
	if (!json_is_string(v))
		return http_error(req, 400, "effective_from: must be a string");
	in.effective_from = json_string_value(v);
	v = json_object_get(j, "effective_to");
	if (v && !json_is_null(v) && !json_is_string(v))
		return http_error(req, 400, "effective_to: must be a string or null");
	in.effective_to = v && json_is_string(v) ? json_string_value(v) : NULL;
	v = json_object_get(j, "feeder");
	if (v == NULL)
		return http_error(req, 400, "feeder: is required");
	if (!json_is_string(v))
		return http_error(req, 400, "feeder: must be a string");
	in.feeder = json_string_value(v);
	in.tenant_id = scope_of(req);
	in.actor = actor_of(req);

	if ((c = conn_of(req, &err)) == NULL)
		return fail(req, &err);
	if (fleet_enroll_request(c, req->arena, &in, &out, &err) != DERMS_OK ||
		fleet_enroll_list(c, req->arena, in.tenant_id, NULL, out.id, &r, &err) != DERMS_OK)
		return fail(req, &err);
	if (PQntuples(r) != 1)
		return http_error(req, 500, "the new request is not visible");
	http_add_header(req, "Location",
					arena_printf(req->arena, "/fleet/v1/enrollment-requests/%lld",
								 (long long) out.id));
	return send_json(req, 201, row_object(r, 0));
}

int
fleet_api_request_list(http_request *req)
{
	static const char *const states[] = {"requested", "approved", "rejected", "withdrawn", NULL};
	const char *status = http_query(req, "status");
	int64_t		scope = scope_of(req);
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if (status)
	{
		bool		ok = false;

		for (const char *const *s = states; *s; s++)
			ok = ok || strcmp(*s, status) == 0;
		if (!ok)
			return http_error(req, 400, "status: must be requested, approved, rejected or withdrawn");
	}
	if ((c = conn_of(req, &err)) == NULL ||
		fleet_enroll_list(c, req->arena, scope, status, 0, &r, &err) != DERMS_OK)
		return fail(req, &err);
	return send_rows(req, "requests", r);
}

/* The {id} of the path; 0 after answering 404. */
static int64_t
path_id(http_request *req)
{
	int64_t		id;

	if (req->nparams < 1 || !fleet_sql_parse_id(req->params[0], &id))
	{
		http_error(req, 404, "no enrollment request \"%s\"",
				   req->nparams ? req->params[0] : "");
		return 0;
	}
	return id;
}

int
fleet_api_request_get(http_request *req)
{
	int64_t		scope = scope_of(req);
	int64_t		id;
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((id = path_id(req)) == 0)
		return req->status;
	if ((c = conn_of(req, &err)) == NULL ||
		fleet_enroll_list(c, req->arena, scope, NULL, id, &r, &err) != DERMS_OK)
		return fail(req, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "id: no enrollment request %lld", (long long) id);
	return send_json(req, 200, row_object(r, 0));
}

static int
decided(http_request *req, int64_t id)
{
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if ((c = conn_of(req, &err)) == NULL ||
		fleet_enroll_list(c, req->arena, 0, NULL, id, &r, &err) != DERMS_OK)
		return fail(req, &err);
	return send_json(req, 200, row_object(r, 0));
}

int
fleet_api_request_approve(http_request *req)
{
	static const char *const fields[] = {NULL};
	fleet_enroll_out out;
	derms_err	err;
	int64_t		id;
	PGconn	   *c;

	if ((id = path_id(req)) == 0)
		return req->status;
	if (req->body_len > 0 && body_object(req, fields) == NULL)
		return req->status;
	if ((c = conn_of(req, &err)) == NULL)
		return fail(req, &err);
	if (fleet_enroll_approve(c, req->arena, id, actor_of(req), &out, &err) != DERMS_OK)
		return fail(req, &err);
	return decided(req, id);
}

int
fleet_api_request_reject(http_request *req)
{
	static const char *const fields[] = {"reason", NULL};
	derms_err	err;
	int64_t		id;
	json_t	   *j,
			   *v;
	PGconn	   *c;

	if ((id = path_id(req)) == 0)
		return req->status;
	if ((j = body_object(req, fields)) == NULL)
		return req->status;
	v = json_object_get(j, "reason");
	if (v == NULL || !json_is_string(v) || json_string_length(v) == 0)
		return http_error(req, 400, "reason: a non-empty string is required");
	if ((c = conn_of(req, &err)) == NULL)
		return fail(req, &err);
	if (fleet_enroll_reject(c, req->arena, id, json_string_value(v), actor_of(req),
							&err) != DERMS_OK)
		return fail(req, &err);
	return decided(req, id);
}

/* The aggregator withdraws its pending request: {} or {"reason": "..."}. */
int
fleet_api_request_withdraw(http_request *req)
{
	static const char *const fields[] = {"reason", NULL};
	int64_t		scope = scope_of(req);
	const char *reason = NULL;
	derms_err	err;
	int64_t		id;
	json_t	   *j,
			   *v;
	PGconn	   *c;

	if (scope <= 0)
		return http_error(req, 403, "only an aggregator with a tenant may withdraw its requests");
	if ((id = path_id(req)) == 0)
		return req->status;
	if (req->body_len > 0)
	{
		if ((j = body_object(req, fields)) == NULL)
			return req->status;
		v = json_object_get(j, "reason");
		if (v && !json_is_null(v) && !json_is_string(v))
			return http_error(req, 400, "reason: must be a string or null");
		reason = v && json_is_string(v) && json_string_length(v) > 0 ? json_string_value(v) : NULL;
	}
	if ((c = conn_of(req, &err)) == NULL)
		return fail(req, &err);
	if (fleet_enroll_withdraw(c, req->arena, scope, id, reason, actor_of(req), &err) != DERMS_OK)
		return fail(req, &err);
	return decided(req, id);
}

/*
 * End the enrollment an approved request made: {"effective_to": T}, T not
 * in the past.  The aggregator (its own requests) or the operator.
 */
int
fleet_api_request_remove(http_request *req)
{
	static const char *const fields[] = {"effective_to", NULL};
	int64_t		scope = scope_of(req);
	derms_err	err;
	int64_t		id;
	json_t	   *j,
			   *v;
	PGconn	   *c;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((id = path_id(req)) == 0)
		return req->status;
	if ((j = body_object(req, fields)) == NULL)
		return req->status;
	v = json_object_get(j, "effective_to");
	if (v == NULL)
		return http_error(req, 400, "effective_to: is required");
	if (!json_is_string(v))
		return http_error(req, 400, "effective_to: must be a string");
	if ((c = conn_of(req, &err)) == NULL)
		return fail(req, &err);
	if (fleet_enroll_end_request(c, req->arena, scope, id, json_string_value(v),
								 actor_of(req), &err) != DERMS_OK)
		return fail(req, &err);
	return decided(req, id);
}

/* ---- the fleet ---- */

int
fleet_api_sites(http_request *req)
{
	int64_t		scope = scope_of(req);
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((c = conn_of(req, &err)) == NULL ||
		fleet_query_sites(c, req->arena, scope, &r, &err) != DERMS_OK)
		return fail(req, &err);
	return send_rows(req, "sites", r);
}

int
fleet_api_ders(http_request *req)
{
	int64_t		scope = scope_of(req);
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((c = conn_of(req, &err)) == NULL ||
		fleet_query_ders(c, req->arena, scope, &r, &err) != DERMS_OK)
		return fail(req, &err);
	return send_rows(req, "ders", r);
}

int
fleet_api_enrollments(http_request *req)
{
	int64_t		scope = scope_of(req);
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;

	if (scope < 0)
		return http_error(req, 403, "no tenant");
	if ((c = conn_of(req, &err)) == NULL ||
		fleet_query_as_of(c, req->arena, scope, http_query(req, "as_of"), 0, &r, &err) != DERMS_OK)
		return fail(req, &err);
	return send_rows(req, "enrollments", r);
}
