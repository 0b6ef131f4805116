/*
 * server/migrate.h
 *	  Schema migrations: apply schema/NNNN_name.sql files in order, once
 *	  each, and report which are applied or pending.
 *
 * NOTES
 *	  A migration file is named NNNN_name.sql: four digits (the version),
 *	  an underscore, [a-z0-9_]+ and ".sql".  Other files in the directory
 *	  are ignored; two files with the same version are an error.  Files are
 *	  limited to MIGRATE_MAX_FILE bytes and must not contain BEGIN/COMMIT:
 *	  each is applied in one transaction together with its row in
 *	  schema_migrations (version, name = the file name, checksum = SHA-256
 *	  hex of the file, applied_at).  A released migration never changes:
 *	  a recorded version whose file changed or disappeared stops
 *	  migrate_apply() before it applies anything.
 *
 *	  migrate_apply() holds a session advisory lock (MIGRATE_LOCK_KEY) for
 *	  its whole run, so concurrent migrators (several dermsd starting at
 *	  once, dermsctl) apply each migration exactly once.  The connection
 *	  must be idle (not inside a transaction); it is idle again on return.
 */
#ifndef DERMS_MIGRATE_H
#define DERMS_MIGRATE_H

#include <libpq-fe.h>

#include "err.h"

/* pg_advisory_lock key: "dermsd" in ASCII, then 0x0001. */
#define MIGRATE_LOCK_KEY "7234314190853505025"

#define MIGRATE_MAX_FILE (4 * 1024 * 1024)

typedef enum migrate_state
{
	MIGRATE_APPLIED,			/* recorded, and the file matches */
	MIGRATE_PENDING,			/* file present, not recorded yet */
	MIGRATE_CHANGED,			/* recorded, but the file's checksum differs */
	MIGRATE_MISSING				/* recorded, but its file is gone */
} migrate_state;

typedef struct migrate_info
{
	int			version;
	const char *name;			/* file name, "0001_init.sql" */
	migrate_state state;
	const char *checksum;		/* of the file; of the record if MISSING */
	const char *applied_at;		/* "2024-05-01 12:00:00+00", NULL if pending */
} migrate_info;

/* info and its strings are borrowed: valid during the call only. */
typedef void (*migrate_status_cb) (const migrate_info *info, void *arg);

/*
 * Apply every pending migration in schema_dir, in version order.
 * *napplied (may be NULL) receives how many were applied by this call,
 * also on failure.  Errors: DERMS_EINVAL (bad directory content, a changed
 * or missing applied migration, duplicate versions, connection inside a
 * transaction), DERMS_ERANGE (file too large), DERMS_EIO (unreadable
 * directory or file), DERMS_EDB (a statement failed; the message names
 * the file, the line when PostgreSQL reports a position, and PostgreSQL's
 * message; err->detail holds SQLSTATE, detail, hint and context).
 */
derms_rc	migrate_apply(PGconn *conn, const char *schema_dir, int *napplied,
						  derms_err *err);

/*
 * Call cb once per migration known to the directory or to the database,
 * in version order.  Read-only: takes no lock and creates nothing (with no
 * schema_migrations table, every file is pending).
 */
derms_rc	migrate_status(PGconn *conn, const char *schema_dir,
						   migrate_status_cb cb, void *arg, derms_err *err);

/* "applied", "pending", "changed", "missing". */
const char *migrate_state_name(migrate_state state);

#endif							/* DERMS_MIGRATE_H */
