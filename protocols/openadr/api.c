/*
 * protocols/openadr/api.c
 *	  The handlers of the OpenADR object API, one set for all six kinds,
 *	  driven by a table of what differs: the query filters a search takes,
 *	  the scopes that read and write, and the roles that may write.
 *
 * NOTES
 *	  Runs in vtn workers; memory from the request arena (jansson values
 *	  and libpq results are registered with it).  A write is one
 *	  transaction: the privacy scope, the checks on what the object refers
 *	  to, the write, and the notifications for matching subscriptions
 *	  (oadr_store_notify, last), answered only after COMMIT.
 *	  References to other objects in a body that name nothing visible:
 *	  eventID of a report and programID of an event or a subscription are
 *	  400 (the YAML lists no 404 for those operations), venID of a
 *	  resource is 404.  A delete also notifies the subscribers of what it
 *	  takes with it (oadr_store_cascade).
 */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "model.h"
#include "store.h"

#define JSON_CT "application/json"
#define MAX_QUERY 64

#define READ_TARGETS (HTTP_SCOPE_READ_ALL | HTTP_SCOPE_READ_TARGETS)
#define READ_OWN (HTTP_SCOPE_READ_ALL | HTTP_SCOPE_READ_VEN_OBJECTS)
#define BOTH (HTTP_ROLE_BL | HTTP_ROLE_VEN)

/* query parameters, as bits */
#define Q_PROGRAM	0x001u
#define Q_EVENT		0x002u
#define Q_VEN		0x004u
#define Q_CLIENT	0x008u
#define Q_VENNAME	0x010u
#define Q_RESNAME	0x020u
#define Q_TARGETS	0x040u
#define Q_OBJECTS	0x080u
#define Q_ACTIVE	0x100u

static const struct
{
	const char *noun;			/* for messages */
	const char *id_param;		/* the path parameter's name in the YAML */
	unsigned	query;			/* Q_* a search accepts (with skip, limit) */
	unsigned	read_scopes;	/* any of these reads */
	unsigned	write_scope;	/* this writes */
	unsigned	write_roles;	/* HTTP_ROLE_* that may write at all */
}			kinds[OADR_NKINDS] = {
	[OADR_PROGRAM] = {"program", "programID", Q_TARGETS, READ_TARGETS,
	HTTP_SCOPE_WRITE_PROGRAMS, HTTP_ROLE_BL},
	[OADR_EVENT] = {"event", "eventID", Q_PROGRAM | Q_TARGETS | Q_ACTIVE, READ_TARGETS,
	HTTP_SCOPE_WRITE_EVENTS, HTTP_ROLE_BL},
	[OADR_REPORT] = {"report", "reportID", Q_PROGRAM | Q_EVENT | Q_CLIENT, READ_OWN,
	HTTP_SCOPE_WRITE_REPORTS, HTTP_ROLE_VEN},
	[OADR_SUBSCRIPTION] = {"subscription", "subscriptionID", Q_PROGRAM | Q_CLIENT | Q_OBJECTS,
	READ_OWN, HTTP_SCOPE_WRITE_SUBSCRIPTIONS, BOTH},
	[OADR_VEN] = {"ven", "venID", Q_VENNAME | Q_TARGETS, READ_OWN, HTTP_SCOPE_WRITE_VENS, BOTH},
	[OADR_RESOURCE] = {"resource", "resourceID", Q_RESNAME | Q_VEN | Q_TARGETS, READ_OWN,
	HTTP_SCOPE_WRITE_VENS, BOTH},
};

/* query parameter names, the Q_* bit, and whether it may repeat */
static const struct
{
	const char *name;
	unsigned	bit;
	bool		repeats;
}			params[] = {
	{"programID", Q_PROGRAM, false},
	{"eventID", Q_EVENT, false},
	{"venID", Q_VEN, false},
	{"clientName", Q_CLIENT, false},
	{"venName", Q_VENNAME, false},
	{"resourceName", Q_RESNAME, false},
	{"targets", Q_TARGETS, true},
	{"objects", Q_OBJECTS, true},
	{"active", Q_ACTIVE, false},
	{"skip", 0, false},
	{"limit", 0, false},
};

typedef struct query_arg
{
	const char *key;
	const char *value;
} query_arg;

typedef struct query_list
{
	query_arg	args[MAX_QUERY];
	size_t		n;
	bool		overflow;
} query_list;

/* ---- small helpers ---- */

static int
send_json(http_request *req, int status, json_t *j)
{
	char	   *s;
	char	   *body;

	if (j == NULL)
		return http_error(req, 500, "out of memory");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (s == NULL)
		return http_error(req, 500, "out of memory");
	body = arena_strdup(req->arena, s);
	free(s);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, status, JSON_CT, body, strlen(body));
}

/* Row i of r as the served object (new reference). */
static json_t *
row_object(oadr_kind kind, PGresult *r, int i)
{
	json_t	   *body = json_loads(PQgetvalue(r, i, OADR_COL_BODY), 0, NULL);
	json_t	   *o;

	if (body == NULL)
		return NULL;
	o = oadr_model_object(kind, PQgetvalue(r, i, OADR_COL_ID),
						  PQgetvalue(r, i, OADR_COL_CREATED),
						  PQgetvalue(r, i, OADR_COL_MODIFIED), body,
						  PQgetisnull(r, i, OADR_COL_CLIENT) ? NULL
						  : PQgetvalue(r, i, OADR_COL_CLIENT));
	json_decref(body);
	return o;
}

/* derms_rc of a failed store call -> status */
static int
fail(http_request *req, PGconn *c, const derms_err *err)
{
	static const struct
	{
		derms_rc	rc;
		int			status;
	}			map[] = {
		{DERMS_EINVAL, 400},
		{DERMS_EPARSE, 400},
		{DERMS_ENOTFOUND, 404},
		{DERMS_EEXIST, 409},
		{DERMS_EPERM, 403},
		{DERMS_EDB, 503},
	};
	int			status = 500;

	oadr_store_rollback(c);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rc == err->code)
			status = map[i].status;
	if (err->code == DERMS_EEXIST)
		return http_error(req, 409, "an object with that name exists already: %s", err->msg);
	if (status == 503)
		return http_error(req, 503, "database unavailable: %s", err->msg);
	return http_error(req, status, "%s", err->msg);
}

static oadr_caller
caller_of(const http_request *req)
{
	oadr_caller who;

	who.role = req->who.role == HTTP_ROLE_VEN ? OADR_ROLE_VEN : OADR_ROLE_BL;
	who.tenant_id = req->who.tenant_id > 0 ? req->who.tenant_id : 0;
	who.client_id = req->who.client_id;
	return who;
}

static PGconn *
conn_of(http_request *req, derms_err *err)
{
	PGconn	   *c = db_conn(req->db, err);

	if (c == NULL)
		err->code = DERMS_EDB;
	return c;
}

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	query_list *q = cls;

	(void) kind;
	if (q->n >= MAX_QUERY)
	{
		q->overflow = true;
		return MHD_NO;
	}
	q->args[q->n].key = key;
	q->args[q->n].value = value ? value : "";
	q->n++;
	return MHD_YES;
}

/* 0..max int32 from text; false when not */
static bool
parse_count(const char *s, long max, int *out)
{
	char	   *end;
	long		v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > max)
		return false;
	*out = (int) v;
	return true;
}

/*
 * An objectID in a query or path: false after answering 400 when it is
 * not one; *id 0 when it is one but names nothing this VTN hands out.
 */
static bool
object_id(http_request *req, const char *name, const char *s, int64_t *id)
{
	*id = 0;
	if (!oadr_model_object_id(s))
	{
		http_error(req, 400, "%s: must match ^[a-zA-Z0-9_-]*$ and be 1 to 128 characters", name);
		return false;
	}
	if (!oadr_store_parse_id(s, id))
		*id = 0;
	return true;
}

static bool
name_ok(const char *s)
{
	size_t		n = 0;

	for (const char *p = s; *p; p++)
		if (((unsigned char) *p & 0xC0) != 0x80)
			n++;
	return n >= 1 && n <= 128;
}

/*
 * The query of a search into f.  Returns 0, 1 when a filter can match
 * nothing (an objectID this VTN never issued), or the status answered.
 */
static int
parse_filter(http_request *req, oadr_kind kind, oadr_filter *f)
{
	static const char *const object_types[] = {"PROGRAM", "EVENT", "REPORT",
	"SUBSCRIPTION", "VEN", "RESOURCE"};
	query_list *q = arena_calloc(req->arena, 1, sizeof(*q));
	const char **targets;
	const char **objects;
	bool		seen[sizeof(params) / sizeof(params[0])] = {false};
	bool		empty = false;

	if (q == NULL)
		return http_error(req, 500, "out of memory");
	memset(f, 0, sizeof(*f));
	f->limit = OADR_API_LIMIT;
	if (req->conn != NULL)
		MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, collect_arg, q);
	if (q->overflow)
		return http_error(req, 400, "more than %d query parameters", MAX_QUERY);
	targets = arena_calloc(req->arena, q->n + 1, sizeof(char *));
	objects = arena_calloc(req->arena, q->n + 1, sizeof(char *));
	if (targets == NULL || objects == NULL)
		return http_error(req, 500, "out of memory");
	f->targets = targets;
	f->objects = objects;
	for (size_t i = 0; i < q->n; i++)
	{
		const char *k = q->args[i].key;
		const char *v = q->args[i].value;
		size_t		p;
		int64_t		id;

		for (p = 0; p < sizeof(params) / sizeof(params[0]); p++)
			if (strcmp(params[p].name, k) == 0 &&
				(params[p].bit == 0 || (kinds[kind].query & params[p].bit)))
				break;
		if (p == sizeof(params) / sizeof(params[0]))
			return http_error(req, 400, "%s: unknown query parameter", k);
		if (seen[p] && !params[p].repeats)
			return http_error(req, 400, "%s: given more than once", k);
		seen[p] = true;
		switch (params[p].bit)
		{
			case 0:
				if (strcmp(k, "skip") == 0 && !parse_count(v, INT32_MAX, &f->skip))
					return http_error(req, 400, "skip: must be an integer of at least 0");
				if (strcmp(k, "limit") == 0 && !parse_count(v, OADR_API_LIMIT, &f->limit))
					return http_error(req, 400, "limit: must be an integer from 0 to %d",
									  OADR_API_LIMIT);
				break;
			case Q_PROGRAM:
			case Q_EVENT:
			case Q_VEN:
				if (!object_id(req, k, v, &id))
					return req->status;
				if (id == 0)
					empty = true;
				if (params[p].bit == Q_PROGRAM)
					f->program_id = id;
				else if (params[p].bit == Q_EVENT)
					f->event_id = id;
				else
					f->ven_id = id;
				break;
			case Q_CLIENT:
			case Q_VENNAME:
			case Q_RESNAME:
				if (!name_ok(v))
					return http_error(req, 400, "%s: must be 1 to 128 characters", k);
				if (params[p].bit == Q_CLIENT)
					f->client_name = v;
				else if (params[p].bit == Q_VENNAME)
					f->ven_name = v;
				else
					f->resource_name = v;
				break;
			case Q_TARGETS:
				if (!name_ok(v))
					return http_error(req, 400, "targets: each must be 1 to 128 characters");
				targets[f->ntargets++] = v;
				break;
			case Q_OBJECTS:
				{
					bool		ok = false;

					for (size_t t = 0; t < 6; t++)
						ok = ok || strcmp(object_types[t], v) == 0;
					if (!ok)
						return http_error(req, 400, "objects: must be one of PROGRAM, EVENT,"
										  " REPORT, SUBSCRIPTION, VEN, RESOURCE");
					objects[f->nobjects++] = v;
				}
				break;
			case Q_ACTIVE:
				if (strcmp(v, "true") == 0)
					f->active = true;
				else if (strcmp(v, "false") != 0)
					return http_error(req, 400, "active: must be true or false");
				break;
		}
	}
	return empty ? 1 : 0;
}

/* The {id} of the path: 0 after answering (400 malformed, 404 unknown). */
static int64_t
path_id(http_request *req, oadr_kind kind)
{
	int64_t		id;

	if (req->nparams < 1 || !object_id(req, kinds[kind].id_param, req->params[0], &id))
		return req->nparams < 1 ? (http_error(req, 404, "no %s", kinds[kind].noun), 0) : 0;
	if (id == 0)
		http_error(req, 404, "%s: no %s \"%s\"", kinds[kind].id_param, kinds[kind].noun,
				   req->params[0]);
	return id;
}

/* Is the caller allowed to write this kind at all?  403 otherwise. */
static bool
may_write(http_request *req, oadr_kind kind)
{
	if ((req->who.role & kinds[kind].write_roles) == 0)
	{
		http_error(req, 403, "a %s client may not write %ss",
				   req->who.role == HTTP_ROLE_VEN ? "VEN" : "BL", kinds[kind].noun);
		return false;
	}
	if ((req->who.scopes & kinds[kind].write_scope) == 0)
	{
		http_error(req, 403, "the token lacks the scope to write %ss", kinds[kind].noun);
		return false;
	}
	return true;
}

static bool
may_read(http_request *req, oadr_kind kind)
{
	if ((req->who.scopes & kinds[kind].read_scopes) == 0)
	{
		http_error(req, 403, "the token lacks the scope to read %ss", kinds[kind].noun);
		return false;
	}
	return true;
}

/* ---- reads ---- */

static int
api_search(http_request *req, oadr_kind kind)
{
	oadr_caller who = caller_of(req);
	oadr_filter f;
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;
	json_t	   *arr;
	int			st;

	if (!may_read(req, kind))
		return req->status;
	if ((st = parse_filter(req, kind, &f)) > 1)
		return st;
	if ((arr = json_array()) == NULL)
		return http_error(req, 500, "out of memory");
	if (st == 1 || f.limit == 0)
		return send_json(req, 200, arr);
	if ((c = conn_of(req, &err)) == NULL ||
		oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK ||
		oadr_store_list(c, req->arena, kind, &f, &r, &err) != DERMS_OK ||
		oadr_store_commit(c, req->arena, &err) != DERMS_OK)
	{
		json_decref(arr);
		return fail(req, c, &err);
	}
	for (int i = 0; i < PQntuples(r); i++)
		json_array_append_new(arr, row_object(kind, r, i));
	return send_json(req, 200, arr);
}

static int
api_get(http_request *req, oadr_kind kind)
{
	oadr_caller who = caller_of(req);
	derms_err	err;
	int64_t		id;
	PGconn	   *c;
	PGresult   *r;

	if (!may_read(req, kind))
		return req->status;
	if ((id = path_id(req, kind)) == 0)
		return req->status;
	if ((c = conn_of(req, &err)) == NULL ||
		oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK ||
		oadr_store_get(c, req->arena, kind, id, &r, &err) != DERMS_OK ||
		oadr_store_commit(c, req->arena, &err) != DERMS_OK)
		return fail(req, c, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "%s: no %s \"%s\"", kinds[kind].id_param,
						  kinds[kind].noun, req->params[0]);
	return send_json(req, 200, row_object(kind, r, 0));
}

/* ---- writes ---- */

/* Text of a body string field, or NULL. */
static const char *
body_str(json_t *body, const char *key)
{
	return json_string_value(json_object_get(body, key));
}

/*
 * Fill row from the validated doc, checking what it refers to inside the
 * open transaction.  old is the stored row being replaced (NULL on
 * create).  Returns 0 or the status answered (after rollback).
 */
static int
prepare_row(http_request *req, PGconn *c, oadr_kind kind, oadr_doc *doc,
			PGresult *old, oadr_row *row)
{
	oadr_caller who = caller_of(req);
	derms_err	err;
	PGresult   *r;
	int64_t		ref;
	char	   *text;

	memset(row, 0, sizeof(*row));
	row->tenant_id = who.tenant_id;
	row->role = who.role;
	row->client_id = who.client_id;
	switch (kind)
	{
		case OADR_PROGRAM:
			break;
		case OADR_SUBSCRIPTION:
			/* a programID names a program the subscriber can read */
			if (body_str(doc->body, "programID") != NULL &&
				(!oadr_store_parse_id(body_str(doc->body, "programID"), &ref) ||
				 oadr_store_get(c, req->arena, OADR_PROGRAM, ref, &r, &err) != DERMS_OK ||
				 PQntuples(r) == 0))
			{
				oadr_store_rollback(c);
				return http_error(req, 400, "programID: no program \"%s\"",
								  body_str(doc->body, "programID"));
			}
			break;
		case OADR_EVENT:
			{
				bool		bounded;
				int64_t		end;

				if (!oadr_store_parse_id(body_str(doc->body, "programID"), &ref) ||
					oadr_store_get(c, req->arena, OADR_PROGRAM, ref, &r, &err) != DERMS_OK ||
					PQntuples(r) == 0)
				{
					oadr_store_rollback(c);
					return http_error(req, 400, "programID: no program \"%s\"",
									  body_str(doc->body, "programID"));
				}
				if (who.tenant_id > 0 && PQgetisnull(r, 0, OADR_COL_TENANT))
				{
					oadr_store_rollback(c);
					return http_error(req, 403, "programID: events of a utility-wide program"
									  " are written by the utility only");
				}
				row->parent_id = ref;
				oadr_model_event_end(doc->body, &bounded, &end);
				if (bounded)
				{
					time_t		t = (time_t) end;
					struct tm	tm;
					char		buf[40];

					if (gmtime_r(&t, &tm) == NULL ||
						strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
						row->ends_at = NULL;
					else
						row->ends_at = arena_strdup(req->arena, buf);
				}
			}
			break;
		case OADR_REPORT:
			if (!oadr_store_parse_id(body_str(doc->body, "eventID"), &ref) ||
				oadr_store_get(c, req->arena, OADR_EVENT, ref, &r, &err) != DERMS_OK ||
				PQntuples(r) == 0)
			{
				oadr_store_rollback(c);
				return http_error(req, 400, "eventID: no event \"%s\"",
								  body_str(doc->body, "eventID"));
			}
			row->parent_id = ref;
			break;
		case OADR_VEN:
		case OADR_RESOURCE:
			if (who.role == OADR_ROLE_VEN && doc->variant == OADR_VARIANT_BL)
			{
				oadr_store_rollback(c);
				return http_error(req, 403, "objectType: a VEN sends %s",
								  kind == OADR_VEN ? "VEN_VEN_REQUEST" : "VEN_RESOURCE_REQUEST");
			}
			if (who.role == OADR_ROLE_BL && doc->variant == OADR_VARIANT_VEN)
			{
				oadr_store_rollback(c);
				return http_error(req, 400, "objectType: a BL client sends %s (with clientID)",
								  kind == OADR_VEN ? "BL_VEN_REQUEST" : "BL_RESOURCE_REQUEST");
			}
			if (doc->variant == OADR_VARIANT_BL)
				row->client_id = doc->client_id;
			else if (old != NULL)
			{
				/* a VEN keeps the targets the BL gave, and its clientID */
				json_t	   *ob = json_loads(PQgetvalue(old, 0, OADR_COL_BODY), 0, NULL);
				json_t	   *t = json_object_get(ob, "targets");

				if (t != NULL)
					json_object_set(doc->body, "targets", t);
				json_decref(ob);
				row->client_id = arena_strdup(req->arena, PQgetvalue(old, 0, OADR_COL_CLIENT));
			}
			if (kind == OADR_RESOURCE)
			{
				if (!oadr_store_parse_id(body_str(doc->body, "venID"), &ref) ||
					oadr_store_get(c, req->arena, OADR_VEN, ref, &r, &err) != DERMS_OK ||
					PQntuples(r) == 0)
				{
					oadr_store_rollback(c);
					return http_error(req, 404, "venID: no ven \"%s\"",
									  body_str(doc->body, "venID"));
				}
				row->parent_id = ref;
			}
			break;
	}
	if (old != NULL && kind == OADR_REPORT)
		row->client_id = arena_strdup(req->arena, PQgetvalue(old, 0, OADR_COL_CLIENT));
	text = json_dumps(doc->body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	row->body = text ? arena_strdup(req->arena, text) : NULL;
	free(text);
	if (row->body == NULL)
	{
		oadr_store_rollback(c);
		return http_error(req, 500, "out of memory");
	}
	return 0;
}

/* The body, validated: false after answering 400. */
static bool
parse_body(http_request *req, oadr_kind kind, oadr_doc *doc)
{
	derms_err	err;

	if (oadr_model_parse(kind, req->body ? req->body : "", req->body_len, doc, &err) != DERMS_OK)
	{
		http_error(req, 400, "%s", err.msg);
		return false;
	}
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, doc->body);
	return true;
}

static int
api_create(http_request *req, oadr_kind kind)
{
	oadr_caller who = caller_of(req);
	oadr_doc	doc;
	oadr_row	row;
	derms_err	err;
	PGconn	   *c;
	PGresult   *r;
	int			st;

	if (!may_write(req, kind) || !parse_body(req, kind, &doc))
		return req->status;
	if ((c = conn_of(req, &err)) == NULL ||
		oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK)
		return fail(req, c, &err);
	if ((st = prepare_row(req, c, kind, &doc, NULL, &row)) != 0)
		return st;
	if (oadr_store_insert(c, req->arena, kind, &row, &r, &err) != DERMS_OK ||
		oadr_store_notify(c, req->arena, kind, "CREATE", r, NULL, &err) != DERMS_OK ||
		oadr_store_commit(c, req->arena, &err) != DERMS_OK)
		return fail(req, c, &err);
	http_add_header(req, "Location",
					arena_printf(req->arena, "/%ss/%s", kinds[kind].noun,
								 PQgetvalue(r, 0, OADR_COL_ID)));
	return send_json(req, 201, row_object(kind, r, 0));
}

/* The stored object of the path, in the open transaction; NULL after
 * answering 404 (rolled back). */
static PGresult *
existing(http_request *req, PGconn *c, oadr_kind kind, int64_t id)
{
	derms_err	err;
	PGresult   *r;

	if (oadr_store_get(c, req->arena, kind, id, &r, &err) != DERMS_OK)
	{
		fail(req, c, &err);
		return NULL;
	}
	if (PQntuples(r) == 0)
	{
		oadr_store_rollback(c);
		http_error(req, 404, "%s: no %s \"%s\"", kinds[kind].id_param, kinds[kind].noun,
				   req->params[0]);
		return NULL;
	}
	return r;
}

/* A visible object the caller's tenant may not write (utility-wide). */
static bool
foreign_tenant(http_request *req, PGconn *c, oadr_kind kind, PGresult *old)
{
	if (req->who.tenant_id > 0 && req->who.role == HTTP_ROLE_BL &&
		PQgetisnull(old, 0, OADR_COL_TENANT))
	{
		oadr_store_rollback(c);
		http_error(req, 403, "utility-wide %ss are written by the utility only",
				   kinds[kind].noun);
		return true;
	}
	return false;
}

static int
api_update(http_request *req, oadr_kind kind)
{
	oadr_caller who = caller_of(req);
	oadr_doc	doc;
	oadr_row	row;
	derms_err	err;
	int64_t		id;
	PGconn	   *c;
	PGresult   *old;
	PGresult   *r;
	int			st;

	if (!may_write(req, kind))
		return req->status;
	if ((id = path_id(req, kind)) == 0 || !parse_body(req, kind, &doc))
		return req->status;
	if ((c = conn_of(req, &err)) == NULL ||
		oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK)
		return fail(req, c, &err);
	if ((old = existing(req, c, kind, id)) == NULL || foreign_tenant(req, c, kind, old))
		return req->status;
	if ((st = prepare_row(req, c, kind, &doc, old, &row)) != 0)
		return st;
	if (oadr_store_update(c, req->arena, kind, id, &row, &r, &err) != DERMS_OK)
		return fail(req, c, &err);
	if (PQntuples(r) == 0)
	{
		oadr_store_rollback(c);
		return http_error(req, 403, "this %s may not be changed by this client",
						  kinds[kind].noun);
	}
	if (oadr_store_notify(c, req->arena, kind, "UPDATE", r, NULL, &err) != DERMS_OK ||
		oadr_store_commit(c, req->arena, &err) != DERMS_OK)
		return fail(req, c, &err);
	return send_json(req, 200, row_object(kind, r, 0));
}

static int
api_delete(http_request *req, oadr_kind kind)
{
	oadr_caller who = caller_of(req);
	derms_err	err;
	int64_t		id;
	PGconn	   *c;
	PGresult   *old;
	PGresult   *r;
	oadr_cascade gone;

	if (!may_write(req, kind))
		return req->status;
	if ((id = path_id(req, kind)) == 0)
		return req->status;
	if ((c = conn_of(req, &err)) == NULL ||
		oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK)
		return fail(req, c, &err);
	if ((old = existing(req, c, kind, id)) == NULL || foreign_tenant(req, c, kind, old))
		return req->status;
	if (oadr_store_cascade(c, req->arena, kind, id, &gone, &err) != DERMS_OK ||
		oadr_store_delete(c, req->arena, kind, id, &r, &err) != DERMS_OK)
		return fail(req, c, &err);
	if (PQntuples(r) == 0)
	{
		oadr_store_rollback(c);
		return http_error(req, 403, "this %s may not be deleted by this client",
						  kinds[kind].noun);
	}
	/* what went with it first, then the object itself */
	for (int i = 0; i < gone.n; i++)
		if (oadr_store_notify(c, req->arena, gone.kind[i], "DELETE", gone.rows[i], NULL,
							  &err) != DERMS_OK)
			return fail(req, c, &err);
	if (oadr_store_notify(c, req->arena, kind, "DELETE", r, NULL, &err) != DERMS_OK ||
		oadr_store_commit(c, req->arena, &err) != DERMS_OK)
		return fail(req, c, &err);
	return send_json(req, 200, row_object(kind, r, 0));
}

/* ---- the route handlers ---- */

#define OADR_API_DEFINE(name, kind) \
	int oadr_##name##_search(http_request *req) { return api_search(req, kind); } \
	int oadr_##name##_create(http_request *req) { return api_create(req, kind); } \
	int oadr_##name##_get(http_request *req) { return api_get(req, kind); } \
	int oadr_##name##_update(http_request *req) { return api_update(req, kind); } \
	int oadr_##name##_delete(http_request *req) { return api_delete(req, kind); }

OADR_API_DEFINE(programs, OADR_PROGRAM)
OADR_API_DEFINE(events, OADR_EVENT)
OADR_API_DEFINE(reports, OADR_REPORT)
OADR_API_DEFINE(subscriptions, OADR_SUBSCRIPTION)
OADR_API_DEFINE(vens, OADR_VEN)
OADR_API_DEFINE(resources, OADR_RESOURCE)
