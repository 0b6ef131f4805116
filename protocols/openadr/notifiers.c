/*
 * protocols/openadr/notifiers.c
 *	  The notifier bindings of the VTN: GET /notifiers, the MQTT topic
 *	  endpoints, and the fan-out of an object change into MQTT
 *	  publications in the notification outbox.
 *
 *	  Broker access is the YAML's CERTIFICATE method: every client gets a
 *	  certificate whose CN is its client_id ("dermsctl vtn mqtt sync"
 *	  issues it and keeps it with its key in vtn_mqtt_clients); the broker
 *	  takes the CN as the username, and its ACL lets each client read the
 *	  topics of notifiers.h.  /notifiers gives a client its own
 *	  certificate, key and the broker's trust anchors.
 *
 * NOTES
 *	  Handlers run in vtn workers, memory from the request arena.  The
 *	  fan-out runs inside the writing request's transaction, as the owner
 *	  (oadr_store_notify has left the caller's scope), in one statement
 *	  that reads only its parameters, vtn_clients, vtn_mqtt_clients and,
 *	  for programs and events, oadr_vens: the objects of a cascaded delete
 *	  are gone when it runs.
 */
#include "notifiers.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "server/config.h"
#include "server/db.h"
#include "store.h"

#define JSON_CT "application/json"
#define CA_FILE_MAX 65536

/* What a topic endpoint names. */
typedef enum topic_scope
{
	TOPIC_COLLECTION,			/* BL clients: a collection */
	TOPIC_PROGRAM,				/* BL clients: {programID} must be visible */
	TOPIC_VEN					/* {venID} must be visible (VEN: its own) */
} topic_scope;

static const struct
{
	const char *pattern;		/* the route's */
	const char *head;			/* the topic path below the scope: head, */
	const char *tail;			/* then the path parameter and tail */
	topic_scope scope;
	bool		create;			/* a CREATE topic exists */
}			endpoints[] = {
	{"/notifiers/mqtt/topics/programs", "programs", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/programs/{programID}", "programs/", "", TOPIC_PROGRAM, false},
	{"/notifiers/mqtt/topics/programs/{programID}/events", "programs/", "/events",
	TOPIC_PROGRAM, true},
	{"/notifiers/mqtt/topics/events", "events", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/reports", "reports", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/subscriptions", "subscriptions", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/vens", "vens", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/resources", "resources", NULL, TOPIC_COLLECTION, true},
	{"/notifiers/mqtt/topics/vens/{venID}", "vens/", "", TOPIC_VEN, false},
	{"/notifiers/mqtt/topics/vens/{venID}/events", "vens/", "/events", TOPIC_VEN, true},
	{"/notifiers/mqtt/topics/vens/{venID}/programs", "vens/", "/programs", TOPIC_VEN, true},
	{"/notifiers/mqtt/topics/vens/{venID}/resources", "vens/", "/resources", TOPIC_VEN, true},
};

/* ---- topics ---- */

bool
oadr_mqtt_topic(char *buf, size_t len, const char *scope, const char *path,
				const char *operation)
{
	int			n;

	assert(buf != NULL && path != NULL && operation != NULL);
	n = snprintf(buf, len, "%s/%s%s/%s", OADR_MQTT_ROOT, scope ? scope : "", path,
				 operation);
	return n > 0 && (size_t) n < len;
}

/* ---- the fan-out ---- */

/*
 * $1 objectType, $2 operation, $3 the served object (jsonb), $4 its
 * tenant, $5 its client_id, $6 its program id, $7 the owner of a
 * resource's ven, $8 its targets (jsonb), $9 an event's program's
 * targets, $10 its id, $11 its parent (a resource's ven).  Readers are
 * clients with broker credentials that are not revoked; a scope is
 * published only when one of its readers exists.
 */
static const char fanout_sql[] =
"WITH o AS (SELECT $1::text AS kind, lower($2::text) AS op, $3::jsonb AS obj,"
"  $4::bigint AS tenant, $5::text AS client, $6::text AS program, $7::text AS owner,"
"  oadr_text_array($8::jsonb) AS targets, oadr_text_array($9::jsonb) AS ptargets,"
"  $10::text AS id, $11::text AS parent, lower($1::text) || 's' AS coll),"
" m AS (SELECT c.client_id, c.role, c.tenant_id FROM vtn_clients c"
"  JOIN vtn_mqtt_clients q ON q.client_id = c.client_id WHERE c.revoked_at IS NULL),"
/* BL scopes that may read the object: the utility's (NULL) and tenants' */
" bl AS (SELECT DISTINCT m.tenant_id AS t FROM m CROSS JOIN o WHERE m.role = 'bl'"
"  AND (m.tenant_id IS NULL OR m.tenant_id = o.tenant"
"       OR (o.tenant IS NULL AND o.kind IN ('PROGRAM', 'EVENT')))),"
" sc AS (SELECT t, CASE WHEN t IS NULL THEN '" OADR_MQTT_ROOT "/'"
"  ELSE '" OADR_MQTT_ROOT "/tenants/' || t || '/' END AS p FROM bl),"
/* vens whose topics have a reader: the ven's client or a BL over it */
" rv AS (SELECT v.id::text AS id, v.tenant_id, v.client_id FROM oadr_vens v"
"  WHERE EXISTS (SELECT 1 FROM m WHERE m.client_id = v.client_id"
"   OR (m.role = 'bl' AND (m.tenant_id IS NULL OR m.tenant_id = v.tenant_id)))),"
" pub AS ("
"  SELECT sc.t AS tenant, sc.p || o.coll || '/' || o.op AS topic, o.targets AS tg"
"   FROM sc CROSS JOIN o"
"  UNION ALL SELECT sc.t, sc.p || 'programs/' || o.id || '/' || o.op, o.targets"
"   FROM sc CROSS JOIN o WHERE o.kind = 'PROGRAM' AND o.op <> 'create'"
"  UNION ALL SELECT sc.t, sc.p || 'programs/' || o.program || '/events/' || o.op, o.targets"
"   FROM sc CROSS JOIN o WHERE o.kind = 'EVENT' AND o.program IS NOT NULL"
"  UNION ALL SELECT o.tenant, '" OADR_MQTT_ROOT "/vens/' || o.id || '/' || o.op, o.targets"
"   FROM o WHERE o.kind = 'VEN' AND o.op <> 'create' AND EXISTS (SELECT 1 FROM m"
"    WHERE m.client_id = o.client"
"     OR (m.role = 'bl' AND (m.tenant_id IS NULL OR m.tenant_id = o.tenant)))"
"  UNION ALL SELECT o.tenant, '" OADR_MQTT_ROOT "/vens/' || o.parent || '/resources/' || o.op,"
"   o.targets FROM o WHERE o.kind = 'RESOURCE' AND o.parent IS NOT NULL"
"   AND EXISTS (SELECT 1 FROM m WHERE m.client_id = o.owner"
"    OR (m.role = 'bl' AND (m.tenant_id IS NULL OR m.tenant_id = o.tenant)))"
"  UNION ALL SELECT rv.tenant_id, '" OADR_MQTT_ROOT "/vens/' || rv.id || '/' || o.coll || '/' || o.op,"
"   CASE WHEN o.targets IS NULL THEN NULL"
"    ELSE ARRAY(SELECT x FROM unnest(o.targets) WITH ORDINALITY u(x, n)"
"               WHERE x = ANY (g.granted) ORDER BY n) END"
"   FROM o CROSS JOIN rv"
"   CROSS JOIN LATERAL (SELECT oadr_granted_targets(rv.client_id) AS granted) g"
"   WHERE o.kind IN ('PROGRAM', 'EVENT')"
"    AND (o.tenant IS NULL OR o.tenant = rv.tenant_id)"
"    AND (o.targets IS NULL OR o.targets && g.granted)"
"    AND (o.kind = 'PROGRAM' OR o.ptargets IS NULL OR o.ptargets && g.granted))"
" SELECT count(notify_enqueue('mqtt', pub.tenant, 'mqtt', '" OADR_MQTT_URL_PREFIX "' || pub.topic,"
"   NULL, 'application/json',"
"   jsonb_build_object('objectType', o.kind, 'operation', $2::text,"
"    'object', CASE WHEN pub.tg IS NULL OR o.obj -> 'targets' IS NULL THEN o.obj"
"     ELSE jsonb_set(o.obj, '{targets}', to_jsonb(pub.tg)) END,"
"    'targets', to_jsonb(pub.tg))::text))"
" FROM pub CROSS JOIN o";

static derms_rc
fanout_row(PGconn *c, arena *a, oadr_kind kind, const char *operation,
		   PGresult *rows, int i, int *queued, derms_err *err)
{
	static const int cols[6] = {OADR_COL_TENANT, OADR_COL_CLIENT, OADR_COL_PROGRAM,
	OADR_COL_OWNER, OADR_COL_TARGETS, OADR_COL_PTARGETS};
	const char *p[11];
	json_t	   *body;
	json_t	   *obj;
	char	   *s;
	PGresult   *r;

	body = json_loads(PQgetvalue(rows, i, OADR_COL_BODY), 0, NULL);
	obj = body ? oadr_model_object(kind, PQgetvalue(rows, i, OADR_COL_ID),
								   PQgetvalue(rows, i, OADR_COL_CREATED),
								   PQgetvalue(rows, i, OADR_COL_MODIFIED), body,
								   PQgetisnull(rows, i, OADR_COL_CLIENT) ? NULL
								   : PQgetvalue(rows, i, OADR_COL_CLIENT)) : NULL;
	json_decref(body);
	s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	json_decref(obj);
	p[0] = oadr_kind_type(kind);
	p[1] = operation;
	p[2] = s ? arena_strdup(a, s) : NULL;
	free(s);
	if (p[2] == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (int k = 0; k < 6; k++)
		p[3 + k] = PQgetisnull(rows, i, cols[k]) ? NULL : PQgetvalue(rows, i, cols[k]);
	p[9] = PQgetvalue(rows, i, OADR_COL_ID);
	p[10] = PQgetisnull(rows, i, OADR_COL_PARENT) ? NULL
		: PQgetvalue(rows, i, OADR_COL_PARENT);

	r = PQexecParams(c, fanout_sql, 11, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
	{
		const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		derms_err_set(err, DERMS_EDB, "could not queue MQTT publications: %s",
					  msg ? msg : PQerrorMessage(c));
		PQclear(r);
		return DERMS_EDB;
	}
	*queued += atoi(PQgetvalue(r, 0, 0));
	PQclear(r);
	return DERMS_OK;
}

derms_rc
oadr_notifiers_enqueue(PGconn *c, arena *a, oadr_kind kind, const char *operation,
					   PGresult *rows, int *queued, derms_err *err)
{
	int			n = 0;

	assert((unsigned) kind < OADR_NKINDS && rows != NULL && operation != NULL);
	if (queued)
		*queued = 0;
	if (c == NULL)
		return derms_err_set(err, DERMS_EDB, "no database connection");
	assert(PQntuples(rows) == 0 || PQnfields(rows) > OADR_COL_PTARGETS);
	for (int i = 0; i < PQntuples(rows); i++)
		if (fanout_row(c, a, kind, operation, rows, i, &n, err) != DERMS_OK)
			return err->code;
	if (queued)
		*queued = n;
	return DERMS_OK;
}

/* ---- the REST side ---- */

static int
send_json(http_request *req, json_t *j)
{
	char	   *s;
	char	   *body;

	if (j == NULL)
		return http_error(req, 500, "out of memory");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(j);
	body = s ? arena_strdup(req->arena, s) : NULL;
	free(s);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, 200, JSON_CT, body, strlen(body));
}

/* The whole file at path, NUL-terminated, from a; NULL with err set. */
static char *
read_small_file(arena *a, const char *path, derms_err *err)
{
	FILE	   *f = fopen(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
	{
		derms_err_set(err, DERMS_EIO, "could not open file \"%s\": %s", path,
					  strerror(errno));
		return NULL;
	}
	buf = arena_alloc(a, CA_FILE_MAX + 1);
	if (buf == NULL)
	{
		fclose(f);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	n = fread(buf, 1, CA_FILE_MAX + 1, f);
	fclose(f);
	if (n > CA_FILE_MAX)
	{
		derms_err_set(err, DERMS_ERANGE, "file \"%s\" is larger than %d bytes", path,
					  CA_FILE_MAX);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* mqtt.public_uri, else mqtts://host:port (IPv6 literals bracketed). */
static const char *
broker_uri(http_request *req)
{
	const derms_config *cfg = req->cfg;

	if (cfg->mqtt_public_uri && cfg->mqtt_public_uri[0])
		return cfg->mqtt_public_uri;
	if (strchr(cfg->mqtt_host, ':'))
		return arena_printf(req->arena, "mqtts://[%s]:%d", cfg->mqtt_host, cfg->mqtt_port);
	return arena_printf(req->arena, "mqtts://%s:%d", cfg->mqtt_host, cfg->mqtt_port);
}

int
oadr_notifiers_get(http_request *req)
{
	const char *p[1] = {req->who.client_id};
	json_t	   *out;
	json_t	   *auth;
	PGresult   *r;
	derms_err	err;
	char		state[6] = "";
	char	   *ca;

	/*
	 * Any bearer token (the YAML's bearerAuth alternative): a VEN holds no
	 * read_all but needs its broker credentials.
	 */
	out = json_pack("{s:b}", "WEBHOOK", 1);
	if (out == NULL)
		return http_error(req, 500, "out of memory");
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, out);
	if (!req->cfg->mqtt_enabled)
		return send_json(req, json_incref(out));
	r = db_exec(req->db, req->arena,
				"SELECT q.cert_pem, q.key_pem FROM vtn_mqtt_clients q"
				" JOIN vtn_clients c ON c.client_id = q.client_id"
				" WHERE q.client_id = $1 AND c.revoked_at IS NULL", 1, p, state, &err);
	if (r == NULL)
		return http_db_error(req, state, &err);
	if (PQntuples(r) == 0)
		return send_json(req, json_incref(out));	/* no credentials yet */
	ca = read_small_file(req->arena, req->cfg->mqtt_ca_file, &err);
	if (ca == NULL)
		return http_error(req, 500, "%s", err.msg);
	auth = json_pack("{s:s, s:s, s:s, s:s}", "method", "CERTIFICATE", "caCert", ca,
					 "clientCert", PQgetvalue(r, 0, 0), "clientKey", PQgetvalue(r, 0, 1));
	if (auth == NULL ||
		json_object_set_new(out, "MQTT",
							json_pack("{s:[s], s:s, s:o}", "URIS", broker_uri(req),
									  "serialization", "JSON", "authentication",
									  auth)) != 0)
		return http_error(req, 500, "out of memory");
	return send_json(req, json_incref(out));
}

/*
 * Is the object id of kind visible to the caller (its privacy scope)?
 * Returns 0 when it is, else the status answered.
 */
static int
check_visible(http_request *req, oadr_kind kind, const char *noun, const char *id_text)
{
	oadr_caller who;
	derms_err	err;
	PGresult   *r;
	PGconn	   *c;
	int64_t		id;

	if (!oadr_model_object_id(id_text))
		return http_error(req, 400, "%sID: must match ^[a-zA-Z0-9_-]*$ and be 1 to 128 "
						  "characters", noun);
	if (!oadr_store_parse_id(id_text, &id))
		return http_error(req, 404, "no %s %s", noun, id_text);
	who.role = req->who.role == HTTP_ROLE_VEN ? OADR_ROLE_VEN : OADR_ROLE_BL;
	who.tenant_id = req->who.tenant_id > 0 ? req->who.tenant_id : 0;
	who.client_id = req->who.client_id;
	if ((c = db_conn(req->db, &err)) == NULL)
		return http_error(req, 503, "database unavailable: %s", err.msg);
	if (oadr_store_begin(c, req->arena, &who, &err) != DERMS_OK ||
		oadr_store_get(c, req->arena, kind, id, &r, &err) != DERMS_OK)
	{
		oadr_store_rollback(c);
		return http_error(req, err.code == DERMS_EDB ? 503 : 500, "%s", err.msg);
	}
	oadr_store_rollback(c);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "no %s %s", noun, id_text);
	return 0;
}

int
oadr_notifiers_topics_get(http_request *req)
{
	const char *pattern = req->route ? req->route->pattern : "";
	const char *scope = "";
	const char *path;
	json_t	   *topics;
	size_t		e;
	char		t[512];
	int			st;

	for (e = 0; e < sizeof(endpoints) / sizeof(endpoints[0]); e++)
		if (strcmp(endpoints[e].pattern, pattern) == 0)
			break;
	if (e == sizeof(endpoints) / sizeof(endpoints[0]))
		return http_error(req, 500, "no topics for route %s", pattern);
	if (!req->cfg->mqtt_enabled)
		return http_error(req, 404, "the MQTT notifier binding is not enabled");

	/* scopes: read_all (read_bl) for BL topics, read_ven_objects for a ven's */
	if (endpoints[e].scope == TOPIC_VEN)
	{
		if (!(req->who.scopes & (HTTP_SCOPE_READ_ALL | HTTP_SCOPE_READ_VEN_OBJECTS)))
			return http_error(req, 403, "needs scope read_all or read_ven_objects");
	}
	else if (req->who.role != HTTP_ROLE_BL || !(req->who.scopes & HTTP_SCOPE_READ_ALL))
		return http_error(req, 403, "needs a business-logic client with scope read_all");

	if (endpoints[e].scope == TOPIC_PROGRAM &&
		(st = check_visible(req, OADR_PROGRAM, "program", req->params[0])) != 0)
		return st;
	if (endpoints[e].scope == TOPIC_VEN &&
		(st = check_visible(req, OADR_VEN, "ven", req->params[0])) != 0)
		return st;
	if (endpoints[e].scope != TOPIC_VEN && req->who.tenant_id > 0)
		scope = arena_printf(req->arena, "tenants/%lld/", (long long) req->who.tenant_id);
	path = endpoints[e].tail == NULL ? endpoints[e].head
		: arena_printf(req->arena, "%s%s%s", endpoints[e].head, req->params[0],
					   endpoints[e].tail);
	if (scope == NULL || path == NULL || (topics = json_object()) == NULL)
		return http_error(req, 500, "out of memory");
	arena_on_destroy(req->arena, (arena_cleanup_fn) json_decref, topics);
	{
		static const struct
		{
			const char *key;
			const char *op;
		}			ops[] = {
			{"CREATE", "create"}, {"UPDATE", "update"}, {"DELETE", "delete"}, {"ALL", "+"},
		};

		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		{
			if (i == 0 && !endpoints[e].create)
				continue;
			if (!oadr_mqtt_topic(t, sizeof(t), scope, path, ops[i].op))
				return http_error(req, 500, "topic name too long");
			json_object_set_new(topics, ops[i].key, json_string(t));
		}
	}
	return send_json(req, json_pack("{s:O}", "topics", topics));
}
