/*
 * protocols/fleet/sql.c
 *	  Statement, transaction, tenant-scope and audit helpers for the fleet.
 *
 * NOTES
 *	  SQLSTATE classes are mapped to derms_rc once, here, so callers can
 *	  turn a constraint violation into 409 or 400 without parsing text.
 */
#include "sql.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct
{
	const char *prefix;			/* SQLSTATE or class prefix */
	derms_rc	rc;
}			sqlstate_map[] = {
	{"23505", DERMS_EEXIST},	/* unique_violation */
	{"23P01", DERMS_EEXIST},	/* exclusion_violation */
	{"23503", DERMS_ENOTFOUND},	/* foreign_key_violation */
	{"23514", DERMS_EINVAL},	/* check_violation */
	{"23502", DERMS_EINVAL},	/* not_null_violation */
	{"22", DERMS_EINVAL},		/* data exception */
	{"42501", DERMS_EPERM},		/* insufficient_privilege */
};

static derms_rc
rc_of_sqlstate(const char *st)
{
	for (size_t i = 0; i < sizeof(sqlstate_map) / sizeof(sqlstate_map[0]); i++)
		if (strncmp(st, sqlstate_map[i].prefix, strlen(sqlstate_map[i].prefix)) == 0)
			return sqlstate_map[i].rc;
	return DERMS_EDB;
}

PGresult *
fleet_sql_exec(PGconn *c, arena *a, const char *sql, int n,
			   const char *const *params, char sqlstate[6], derms_err *err)
{
	PGresult   *r;
	ExecStatusType st;

	assert(a != NULL && err != NULL);
	if (c == NULL)
	{
		derms_err_set(err, DERMS_EDB, "no database connection");
		return NULL;
	}
	r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
		const char *detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : NULL;

		if (sqlstate)
			snprintf(sqlstate, 6, "%s", state ? state : "");
		derms_err_set(err, state ? rc_of_sqlstate(state) : DERMS_EDB, "%s",
					  msg ? msg : PQerrorMessage(c));
		if (detail)
			derms_err_detail(err, "%s", detail);
		PQclear(r);
		return NULL;
	}
	if (sqlstate)
		sqlstate[0] = '\0';
	if (arena_on_destroy(a, (arena_cleanup_fn) PQclear, r) != 0)
	{
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	return r;
}

static derms_rc
simple(PGconn *c, arena *a, const char *sql, derms_err *err)
{
	return fleet_sql_exec(c, a, sql, 0, NULL, NULL, err) ? DERMS_OK : err->code;
}

derms_rc
fleet_sql_begin(PGconn *c, arena *a, derms_err *err)
{
	return simple(c, a, "BEGIN", err);
}

derms_rc
fleet_sql_commit(PGconn *c, arena *a, derms_err *err)
{
	return simple(c, a, "COMMIT", err);
}

void
fleet_sql_rollback(PGconn *c)
{
	if (c && PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

derms_rc
fleet_sql_scope(PGconn *c, arena *a, int64_t tenant_id, derms_err *err)
{
	const char *p[1] = {fleet_sql_i64(a, tenant_id)};

	if (tenant_id <= 0)
		return derms_err_set(err, DERMS_EPERM, "no tenant to scope to");
	if (simple(c, a, "SET LOCAL ROLE dermsd_tenant", err) != DERMS_OK)
		return err->code;
	if (fleet_sql_exec(c, a, "SELECT set_config('dermsd.tenant_id', $1, true)",
					   1, p, NULL, err) == NULL)
		return err->code;
	return DERMS_OK;
}

derms_rc
fleet_sql_unscope(PGconn *c, arena *a, derms_err *err)
{
	if (simple(c, a, "RESET ROLE", err) != DERMS_OK)
		return err->code;
	return simple(c, a, "SELECT set_config('dermsd.tenant_id', '', true)", err);
}

derms_rc
fleet_sql_audit(PGconn *c, arena *a, const char *actor, const char *action,
				const char *object, const char *detail_json, derms_err *err)
{
	const char *p[4] = {actor, action, object, detail_json};

	if (fleet_sql_exec(c, a, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p,
					   NULL, err) == NULL)
		return err->code;
	return DERMS_OK;
}

const char *
fleet_sql_i64(arena *a, int64_t v)
{
	return arena_printf(a, "%" PRId64, v);
}

bool
fleet_sql_parse_id(const char *s, int64_t *out)
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
