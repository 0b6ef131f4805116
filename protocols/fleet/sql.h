/*
 * protocols/fleet/sql.h
 *	  Statement, transaction, tenant-scope and audit helpers shared by the
 *	  fleet modules.
 *
 * NOTES
 *	  Everything takes a PGconn, so the same code runs in dermsctl and in
 *	  the vtn worker (which passes db_conn(req->db)).  Results are owned by
 *	  the arena passed in (PQclear registered with it).  A tenant scope
 *	  (SET LOCAL ROLE dermsd_tenant plus the dermsd.tenant_id setting, see
 *	  schema/0002_fleet.sql) lasts until fleet_sql_unscope() or the end of
 *	  the transaction.
 */
#ifndef DERMS_FLEET_SQL_H
#define DERMS_FLEET_SQL_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/*
 * Run a parameterized statement.  Returns the result (owned by a) or NULL
 * with err filled: DERMS_EEXIST for unique and exclusion violations,
 * DERMS_EINVAL for check, not-null and data errors, DERMS_ENOTFOUND for
 * foreign-key violations, DERMS_EDB otherwise.  sqlstate may be NULL.
 */
PGresult   *fleet_sql_exec(PGconn *c, arena *a, const char *sql, int n,
						   const char *const *params, char sqlstate[6],
						   derms_err *err);

derms_rc	fleet_sql_begin(PGconn *c, arena *a, derms_err *err);
derms_rc	fleet_sql_commit(PGconn *c, arena *a, derms_err *err);
/* Roll back if a transaction is open; never fails. */
void		fleet_sql_rollback(PGconn *c);

/* Enter (tenant_id > 0) the aggregator scope for the open transaction. */
derms_rc	fleet_sql_scope(PGconn *c, arena *a, int64_t tenant_id, derms_err *err);
derms_rc	fleet_sql_unscope(PGconn *c, arena *a, derms_err *err);

/* SELECT audit_append(actor, action, object, detail) in the open transaction. */
derms_rc	fleet_sql_audit(PGconn *c, arena *a, const char *actor,
							const char *action, const char *object,
							const char *detail_json, derms_err *err);

/* Decimal text of v in the arena; borrowed. */
const char *fleet_sql_i64(arena *a, int64_t v);

/* Strict decimal id > 0; false when s is not one. */
bool		fleet_sql_parse_id(const char *s, int64_t *out);

#endif							/* DERMS_FLEET_SQL_H */
