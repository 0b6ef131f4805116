/*
 * protocols/openadr/store.c
 *	  Statements over the oadr_* tables, one table row per object kind.
 *
 * NOTES
 *	  Every statement names its parameters' types, so a kind's statement
 *	  may leave some of the common parameters unused:
 *	    $1 tenant (int8)  $2 client_id  $3 parent id (int8)
 *	    $4 ends_at (timestamptz)  $5 vtn role  $6 body (jsonb as text)
 *	    $7 the object's id (int8)
 *	  Rows are returned with the same select list (OADR_COL_*) from
 *	  SELECT, INSERT/UPDATE/DELETE ... RETURNING alike, over alias "o".
 *	  SQLSTATEs map to derms_rc in one table.
 */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "notifiers.h"

#define OID_INT8 20
#define OID_TEXT 25
#define OID_TIMESTAMPTZ 1184

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define META "o.id::text, " TS("o.created_at") ", " TS("o.modified_at") ", "
/* programs and events: targets a VEN was not granted are left out */
#define RAW_TARGETS ", to_jsonb(o.targets)::text"
/* events: their program's targets, for notifications that outlive it */
#define PROGRAM_TARGETS "(SELECT to_jsonb(pp.targets)::text FROM oadr_programs pp" \
	" WHERE pp.id = o.program_id)"
#define STRIPPED_BODY "(CASE WHEN o.targets IS NULL THEN o.body ELSE jsonb_set(o.body," \
	" '{targets}', to_jsonb(oadr_visible_targets(o.targets))) END)::text"

static const struct
{
	const char *table;
	const char *cols;			/* the OADR_COL_* select list */
	const char *insert;			/* INSERT ... AS o ...; RETURNING cols appended */
	const char *update;			/* UPDATE ... o ... WHERE o.id = $7 */
	const char *program_col;	/* the program a filter/notification refers to */
}			tables[OADR_NKINDS] = {
	[OADR_PROGRAM] = {"oadr_programs",
		META STRIPPED_BODY ", NULL::text, o.tenant_id::text, NULL::text,"
		" o.id::text, NULL::text" RAW_TARGETS ", NULL::text",
		"INSERT INTO oadr_programs AS o (tenant_id, body) VALUES ($1, $6::jsonb)",
		"UPDATE oadr_programs o SET body = $6::jsonb, modified_at = now() WHERE o.id = $7",
	"o.id"},
	[OADR_EVENT] = {"oadr_events",
		META STRIPPED_BODY ", NULL::text, o.tenant_id::text, o.program_id::text,"
		" o.program_id::text, NULL::text" RAW_TARGETS ", " PROGRAM_TARGETS,
		"INSERT INTO oadr_events AS o (tenant_id, program_id, ends_at, body)"
		" SELECT p.tenant_id, p.id, $4, $6::jsonb FROM oadr_programs p WHERE p.id = $3",
		"UPDATE oadr_events o SET body = $6::jsonb, ends_at = $4, program_id = p.id,"
		" tenant_id = p.tenant_id, modified_at = now() FROM oadr_programs p"
		" WHERE o.id = $7 AND p.id = $3",
	"o.program_id"},
	[OADR_REPORT] = {"oadr_reports",
		META "o.body::text, o.client_id, o.tenant_id::text, o.event_id::text,"
		" o.program_id::text, NULL::text, NULL::text, NULL::text",
		"INSERT INTO oadr_reports AS o (tenant_id, event_id, program_id, client_id, body)"
		" SELECT $1, e.id, e.program_id, $2, $6::jsonb FROM oadr_events e WHERE e.id = $3",
		"UPDATE oadr_reports o SET body = $6::jsonb, event_id = e.id,"
		" program_id = e.program_id, modified_at = now() FROM oadr_events e"
		" WHERE o.id = $7 AND e.id = $3",
	"o.program_id"},
	[OADR_SUBSCRIPTION] = {"oadr_subscriptions",
		META "o.body::text, o.client_id, o.tenant_id::text, NULL::text,"
		" o.program_id, NULL::text" RAW_TARGETS ", NULL::text",
		"INSERT INTO oadr_subscriptions AS o (tenant_id, client_id, vtn_role, body)"
		" VALUES ($1, $2, $5, $6::jsonb)",
		"UPDATE oadr_subscriptions o SET body = $6::jsonb, modified_at = now() WHERE o.id = $7",
	"o.program_id"},
	[OADR_VEN] = {"oadr_vens",
		META "o.body::text, o.client_id, o.tenant_id::text, NULL::text,"
		" NULL::text, NULL::text" RAW_TARGETS ", NULL::text",
		"INSERT INTO oadr_vens AS o (tenant_id, client_id, body) VALUES ($1, $2, $6::jsonb)",
		"UPDATE oadr_vens o SET body = $6::jsonb, client_id = $2, modified_at = now()"
		" WHERE o.id = $7",
	NULL},
	[OADR_RESOURCE] = {"oadr_resources",
		META "o.body::text, o.client_id, o.tenant_id::text, o.ven_id::text,"
		" NULL::text, (SELECT v.client_id FROM oadr_vens v WHERE v.id = o.ven_id)"
		RAW_TARGETS ", NULL::text",
		"INSERT INTO oadr_resources AS o (tenant_id, ven_id, client_id, body)"
		" SELECT v.tenant_id, v.id, $2, $6::jsonb FROM oadr_vens v WHERE v.id = $3",
		"UPDATE oadr_resources o SET body = $6::jsonb, client_id = $2, ven_id = v.id,"
		" tenant_id = v.tenant_id, modified_at = now() FROM oadr_vens v"
		" WHERE o.id = $7 AND v.id = $3",
	NULL},
};

static const struct
{
	const char *prefix;			/* SQLSTATE or class */
	derms_rc	rc;
}			sqlstates[] = {
	{"23505", DERMS_EEXIST},	/* unique_violation */
	{"23503", DERMS_ENOTFOUND},	/* foreign_key_violation */
	{"42501", DERMS_EPERM},		/* insufficient_privilege, RLS WITH CHECK */
	{"23", DERMS_EINVAL},
	{"22", DERMS_EINVAL},
};

static PGresult *
run(PGconn *c, arena *a, const char *sql, int n, const Oid *types,
	const char *const *params, derms_err *err)
{
	PGresult   *r;
	ExecStatusType st;

	assert(a != NULL && err != NULL);
	if (c == NULL)
	{
		derms_err_set(err, DERMS_EDB, "no database connection");
		return NULL;
	}
	r = PQexecParams(c, sql, n, types, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		derms_rc	rc = DERMS_EDB;

		for (size_t i = 0; state && i < sizeof(sqlstates) / sizeof(sqlstates[0]); i++)
			if (strncmp(state, sqlstates[i].prefix, strlen(sqlstates[i].prefix)) == 0)
			{
				rc = sqlstates[i].rc;
				break;
			}
		derms_err_set(err, rc, "%s", msg ? msg : PQerrorMessage(c));
		if (state)
			derms_err_detail(err, "SQLSTATE %s", state);
		PQclear(r);
		return NULL;
	}
	if (arena_on_destroy(a, (arena_cleanup_fn) PQclear, r) != 0)
	{
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	return r;
}

static const char *
i64(arena *a, int64_t v)
{
	return v > 0 ? arena_printf(a, "%" PRId64, v) : NULL;
}

bool
oadr_store_parse_id(const char *s, int64_t *out)
{
	char	   *end;
	long long	v;

	if (s == NULL || *s < '1' || *s > '9')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v <= 0)
		return false;
	*out = (int64_t) v;
	return true;
}

derms_rc
oadr_store_begin(PGconn *c, arena *a, const oadr_caller *who, derms_err *err)
{
	const char *p[3];

	assert(who != NULL);
	if (run(c, a, "BEGIN", 0, NULL, NULL, err) == NULL)
		return err->code;
	if (who->role == OADR_ROLE_BL && who->tenant_id == 0)
		return DERMS_OK;		/* the operator: unscoped */
	p[0] = who->tenant_id > 0 ? i64(a, who->tenant_id) : "";
	p[1] = who->role == OADR_ROLE_VEN ? "ven" : "bl";
	p[2] = who->client_id ? who->client_id : "";
	if (run(c, a, "SET LOCAL ROLE dermsd_tenant", 0, NULL, NULL, err) == NULL ||
		run(c, a, "SELECT set_config('dermsd.tenant_id', $1, true),"
			" set_config('dermsd.vtn_role', $2, true),"
			" set_config('dermsd.client_id', $3, true),"
			" set_config('dermsd.targets', '', true)", 3, NULL, p, err) == NULL)
		goto fail;
	if (who->role == OADR_ROLE_VEN &&
		run(c, a, "SELECT set_config('dermsd.targets', oadr_granted_targets($1)::text, true)",
			1, NULL, p + 2, err) == NULL)
		goto fail;
	return DERMS_OK;

fail:
	oadr_store_rollback(c);
	return err->code;
}

derms_rc
oadr_store_commit(PGconn *c, arena *a, derms_err *err)
{
	return run(c, a, "COMMIT", 0, NULL, NULL, err) ? DERMS_OK : err->code;
}

void
oadr_store_rollback(PGconn *c)
{
	if (c && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

/* text[] literal-free: a JSON array parameter, unpacked in SQL */
static const char *
json_list(arena *a, const char *const *v, size_t n)
{
	json_t	   *arr = json_array();
	char	   *s;
	const char *out;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(v[i]));
	s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	out = s ? arena_strdup(a, s) : NULL;
	free(s);
	return out;
}

derms_rc
oadr_store_list(PGconn *c, arena *a, oadr_kind kind, const oadr_filter *f,
				PGresult **out, derms_err *err)
{
	const char *p[12];
	int			n = 0;
	char	   *where = arena_strdup(a, "TRUE");
	PGresult   *r;

#define ADD(cond, val) do { \
		p[n++] = (val); \
		where = arena_printf(a, "%s AND " cond, where, n); \
	} while (0)

	assert((unsigned) kind < OADR_NKINDS && f != NULL);
	if (f->program_id > 0 && tables[kind].program_col)
	{
		if (kind == OADR_SUBSCRIPTION)
			ADD("o.program_id = $%d", i64(a, f->program_id));
		else
			ADD("o.program_id = $%d::bigint", i64(a, f->program_id));
	}
	if (f->event_id > 0 && kind == OADR_REPORT)
		ADD("o.event_id = $%d::bigint", i64(a, f->event_id));
	if (f->ven_id > 0 && kind == OADR_RESOURCE)
		ADD("o.ven_id = $%d::bigint", i64(a, f->ven_id));
	if (f->client_name && (kind == OADR_REPORT || kind == OADR_SUBSCRIPTION))
		ADD("o.client_name = $%d", f->client_name);
	if (f->ven_name && kind == OADR_VEN)
		ADD("o.ven_name = $%d", f->ven_name);
	if (f->resource_name && kind == OADR_RESOURCE)
		ADD("o.resource_name = $%d", f->resource_name);
	if (f->ntargets > 0 && kind != OADR_REPORT)
		ADD("oadr_visible_targets(o.targets) && oadr_text_array($%d::jsonb)",
			json_list(a, f->targets, f->ntargets));
	if (f->nobjects > 0 && kind == OADR_SUBSCRIPTION)
		ADD("EXISTS (SELECT 1 FROM jsonb_array_elements(o.body -> 'objectOperations') op"
			" WHERE op -> 'objects' ?| oadr_text_array($%d::jsonb))",
			json_list(a, f->objects, f->nobjects));
	if (f->active && kind == OADR_EVENT)
		where = arena_printf(a, "%s AND (o.ends_at IS NULL OR o.ends_at > now())", where);
#undef ADD
	p[n++] = arena_printf(a, "%d", f->skip);
	p[n++] = arena_printf(a, "%d", f->limit);
	r = run(c, a, arena_printf(a, "SELECT %s FROM %s o WHERE %s ORDER BY o.id"
							   " OFFSET $%d::int LIMIT $%d::int",
							   tables[kind].cols, tables[kind].table, where, n - 1, n),
			n, NULL, p, err);
	if (r == NULL)
		return err->code;
	*out = r;
	return DERMS_OK;
}

derms_rc
oadr_store_get(PGconn *c, arena *a, oadr_kind kind, int64_t id, PGresult **out,
			   derms_err *err)
{
	const char *p[1] = {i64(a, id)};
	PGresult   *r;

	assert((unsigned) kind < OADR_NKINDS);
	r = run(c, a, arena_printf(a, "SELECT %s FROM %s o WHERE o.id = $1::bigint",
							   tables[kind].cols, tables[kind].table), 1, NULL, p, err);
	if (r == NULL)
		return err->code;
	*out = r;
	return DERMS_OK;
}

/* The common parameters of a write. */
static void
row_params(arena *a, const oadr_row *row, int64_t id, const char **p, Oid *t)
{
	static const Oid types[7] = {OID_INT8, OID_TEXT, OID_INT8, OID_TIMESTAMPTZ, OID_TEXT,
	OID_TEXT, OID_INT8};

	memcpy(t, types, sizeof(types));
	p[0] = i64(a, row->tenant_id);
	p[1] = row->client_id;
	p[2] = i64(a, row->parent_id);
	p[3] = row->ends_at;
	p[4] = row->role == OADR_ROLE_VEN ? "ven" : "bl";
	p[5] = row->body;
	p[6] = i64(a, id);
}

static derms_rc
store_write(PGconn *c, arena *a, const char *sql, const oadr_row *row, int64_t id,
	  PGresult **out, derms_err *err)
{
	const char *p[7];
	Oid			t[7];
	PGresult   *r;

	row_params(a, row, id, p, t);
	if ((r = run(c, a, sql, 7, t, p, err)) == NULL)
		return err->code;
	*out = r;
	return DERMS_OK;
}

derms_rc
oadr_store_insert(PGconn *c, arena *a, oadr_kind kind, const oadr_row *row,
				  PGresult **out, derms_err *err)
{
	derms_rc	rc;

	assert((unsigned) kind < OADR_NKINDS && row != NULL && row->body != NULL);
	rc = store_write(c, a, arena_printf(a, "%s RETURNING %s", tables[kind].insert,
								  tables[kind].cols), row, 0, out, err);
	if (rc == DERMS_OK && PQntuples(*out) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "the object this one refers to does not exist");
	return rc;
}

derms_rc
oadr_store_update(PGconn *c, arena *a, oadr_kind kind, int64_t id,
				  const oadr_row *row, PGresult **out, derms_err *err)
{
	assert((unsigned) kind < OADR_NKINDS && row != NULL && row->body != NULL);
	return store_write(c, a, arena_printf(a, "%s RETURNING %s", tables[kind].update,
									tables[kind].cols), row, id, out, err);
}

derms_rc
oadr_store_delete(PGconn *c, arena *a, oadr_kind kind, int64_t id,
				  PGresult **out, derms_err *err)
{
	const char *p[1] = {i64(a, id)};
	PGresult   *r;

	assert((unsigned) kind < OADR_NKINDS);
	r = run(c, a, arena_printf(a, "DELETE FROM %s o WHERE o.id = $1::bigint RETURNING %s",
							   tables[kind].table, tables[kind].cols), 1, NULL, p, err);
	if (r == NULL)
		return err->code;
	*out = r;
	return DERMS_OK;
}

/* What a delete takes with it (the foreign keys of schema/0011). */
static const struct
{
	oadr_kind	parent;
	oadr_kind	child;
	const char *where;			/* $1: the parent's id */
}			cascades[] = {
	{OADR_PROGRAM, OADR_EVENT, "o.program_id = $1::bigint"},
	{OADR_PROGRAM, OADR_REPORT,
	"o.event_id IN (SELECT e.id FROM oadr_events e WHERE e.program_id = $1::bigint)"},
	{OADR_EVENT, OADR_REPORT, "o.event_id = $1::bigint"},
	{OADR_VEN, OADR_RESOURCE, "o.ven_id = $1::bigint"},
};

derms_rc
oadr_store_cascade(PGconn *c, arena *a, oadr_kind kind, int64_t id, oadr_cascade *out,
				   derms_err *err)
{
	const char *p[1] = {i64(a, id)};

	assert((unsigned) kind < OADR_NKINDS && out != NULL);
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(cascades) / sizeof(cascades[0]); i++)
	{
		oadr_kind	child = cascades[i].child;
		PGresult   *r;

		if (cascades[i].parent != kind)
			continue;
		assert(out->n < OADR_MAX_CASCADE);
		r = run(c, a, arena_printf(a, "SELECT %s FROM %s o WHERE %s ORDER BY o.id",
								   tables[child].cols, tables[child].table,
								   cascades[i].where), 1, NULL, p, err);
		if (r == NULL)
			return err->code;
		out->kind[out->n] = child;
		out->rows[out->n] = r;
		out->n++;
	}
	return DERMS_OK;
}

/*
 * The fan-out, as the owner (every subscription, unfiltered), one
 * statement.  $1 objectType, $2 operation, $3 the served object (jsonb),
 * $4 its tenant, $5 its client_id, $6 its program id, $7 the owner of a
 * resource's ven, $8 the object's targets (jsonb array or null), $9 the
 * targets of an event's program.  Nothing is looked up in the oadr_*
 * tables: the objects of a cascaded delete are gone when it runs.
 * notify_outbox holds bearer tokens of up to 4096 printable characters
 * (PostgreSQL's regular expressions count repetitions only to 255).
 * A callback not verified yet (oadr_callbacks, schema/0011) gets its
 * notification held in oadr_held instead; the verification queues it.
 * The result is (queued, held).
 */
static const char notify_sql[] =
"WITH o AS (SELECT $1::text AS kind, $2::text AS op, $3::jsonb AS obj, $4::bigint AS tenant,"
"  $5::text AS client, $6::text AS program, $7::text AS owner,"
"  oadr_text_array($8::jsonb) AS targets, oadr_text_array($9::jsonb) AS ptargets),"
" s AS (SELECT s.id, s.tenant_id, s.client_id, s.vtn_role, e ->> 'callbackUrl' AS url,"
"  e ->> 'bearerToken' AS bearer,"
"  CASE WHEN s.vtn_role = 'ven' AND (o.targets IS NOT NULL OR o.ptargets IS NOT NULL)"
"   THEN oadr_granted_targets(s.client_id) END AS granted"
"  FROM oadr_subscriptions s CROSS JOIN o"
"  CROSS JOIN LATERAL jsonb_array_elements(s.body -> 'objectOperations') e"
"  WHERE e -> 'objects' ? o.kind AND e -> 'operations' ? o.op"
"   AND (s.program_id IS NULL OR s.program_id = o.program)"
"   AND (s.targets IS NULL OR o.targets IS NULL OR s.targets && o.targets)"
"   AND (e ->> 'callbackUrl') ~* '^https?://[^/?#@[:space:]]+([/?#][^[:space:]]*)?$'),"
" v AS (SELECT s.*, CASE WHEN s.vtn_role = 'ven' AND o.targets IS NOT NULL"
"   THEN ARRAY(SELECT x FROM unnest(o.targets) WITH ORDINALITY u(x, n)"
"              WHERE x = ANY (s.granted) ORDER BY n) ELSE o.targets END AS tg"
"  FROM s CROSS JOIN o"
"  WHERE (s.vtn_role = 'bl' AND (s.tenant_id IS NULL OR s.tenant_id = o.tenant"
"         OR (o.tenant IS NULL AND o.kind IN ('PROGRAM', 'EVENT'))))"
"     OR (s.vtn_role = 'ven' AND ("
"         (o.kind IN ('PROGRAM', 'EVENT')"
"          AND (o.tenant IS NULL OR o.tenant = s.tenant_id)"
"          AND (o.targets IS NULL OR o.targets && s.granted)"
"          AND (o.kind = 'PROGRAM' OR o.ptargets IS NULL OR o.ptargets && s.granted))"
"      OR (o.kind IN ('REPORT', 'SUBSCRIPTION', 'VEN') AND o.client = s.client_id)"
"      OR (o.kind = 'RESOURCE' AND o.owner = s.client_id))))"
", m AS (SELECT v.tenant_id, v.id, v.url, k.id AS cb, k.state,"
"   CASE WHEN v.bearer ~ '^[!-~]+$' AND char_length(v.bearer) <= 4096 THEN v.bearer END"
"    AS bearer,"
"   jsonb_build_object('objectType', o.kind, 'operation', o.op,"
"    'object', CASE WHEN v.tg IS NULL OR o.obj -> 'targets' IS NULL THEN o.obj"
"     ELSE jsonb_set(o.obj, '{targets}', to_jsonb(v.tg)) END,"
"    'targets', to_jsonb(v.tg))::text AS body"
"  FROM v CROSS JOIN o"
"  JOIN oadr_callbacks k ON k.subscription_id = v.id AND k.url = v.url),"
" h AS (INSERT INTO oadr_held (callback_id, tenant_id, bearer_token, body)"
"  SELECT m.cb, m.tenant_id, m.bearer, m.body FROM m WHERE m.state <> 'verified'"
"  RETURNING 1)"
" SELECT (SELECT count(notify_enqueue('openadr', m.tenant_id, 'oadr_subscription:' || m.id,"
"   m.url, m.bearer, 'application/json', m.body)) FROM m WHERE m.state = 'verified'),"
"  (SELECT count(*) FROM h)";

/* Queue the notifications of row i of rows (already out of the caller's scope). */
static derms_rc
notify_row(PGconn *c, arena *a, oadr_kind kind, const char *operation,
		   PGresult *rows, int i, int *queued, derms_err *err)
{
	static const int cols[6] = {OADR_COL_TENANT, OADR_COL_CLIENT, OADR_COL_PROGRAM,
	OADR_COL_OWNER, OADR_COL_TARGETS, OADR_COL_PTARGETS};
	const char *p[9];
	PGresult   *r;
	json_t	   *body;
	json_t	   *obj;
	char	   *s;

	body = json_loads(PQgetvalue(rows, i, OADR_COL_BODY), 0, NULL);
	obj = oadr_model_object(kind, PQgetvalue(rows, i, OADR_COL_ID),
							PQgetvalue(rows, i, OADR_COL_CREATED),
							PQgetvalue(rows, i, OADR_COL_MODIFIED), body,
							PQgetisnull(rows, i, OADR_COL_CLIENT) ? NULL
							: PQgetvalue(rows, i, OADR_COL_CLIENT));
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
	if ((r = run(c, a, notify_sql, 9, NULL, p, err)) == NULL)
		return err->code;
	*queued += atoi(PQgetvalue(r, 0, 0)) + atoi(PQgetvalue(r, 0, 1));
	return DERMS_OK;
}

derms_rc
oadr_store_notify(PGconn *c, arena *a, oadr_kind kind, const char *operation,
				  PGresult *rows, int *queued, derms_err *err)
{
	int			n = 0;

	assert((unsigned) kind < OADR_NKINDS && rows != NULL);
	if (queued)
		*queued = 0;
	if (PQntuples(rows) == 0)
		return DERMS_OK;
	assert(PQnfields(rows) > OADR_COL_PTARGETS);
	/* every subscription, of every client: leave the caller's scope */
	if (run(c, a, "RESET ROLE", 0, NULL, NULL, err) == NULL ||
		run(c, a, "SELECT set_config('dermsd.vtn_role', '', true),"
			" set_config('dermsd.tenant_id', '', true)", 0, NULL, NULL, err) == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(rows); i++)
		if (notify_row(c, a, kind, operation, rows, i, &n, err) != DERMS_OK)
			return err->code;
	/* the MQTT notifier binding's publications (notifiers.c) */
	if (oadr_notifiers_enqueue(c, a, kind, operation, rows, NULL, err) != DERMS_OK)
		return err->code;
	if (queued)
		*queued = n;
	return DERMS_OK;
}
