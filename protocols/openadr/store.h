/*
 * protocols/openadr/store.h
 *	  The OpenADR objects in PostgreSQL (schema/0011_openadr.sql): the
 *	  caller's privacy scope, searches, reads, writes, and the subscription
 *	  notifications a change causes.
 *
 * NOTES
 *	  Everything takes a PGconn and an arena; results belong to the arena.
 *	  A request is one transaction: oadr_store_begin() enters the caller's
 *	  scope (role dermsd_tenant and the dermsd.* settings; the operator's
 *	  BL client, without a tenant, runs unscoped), and every statement
 *	  until oadr_store_commit() runs under row-level security.  Rows come
 *	  back with the columns OADR_COL_*; bodies of programs and events
 *	  already lack the targets a VEN was not granted.
 */
#ifndef DERMS_OADR_STORE_H
#define DERMS_OADR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "model.h"
#include "server/arena.h"
#include "server/err.h"

typedef enum oadr_role
{
	OADR_ROLE_BL = 0,
	OADR_ROLE_VEN
} oadr_role;

/* Who is calling, as the store needs it. */
typedef struct oadr_caller
{
	oadr_role	role;
	int64_t		tenant_id;		/* 0: none (operator BL; VEN of no tenant) */
	const char *client_id;		/* the OAuth client_id */
} oadr_caller;

/* Columns of every returned row. */
#define OADR_COL_ID			0
#define OADR_COL_CREATED	1	/* RFC 3339 UTC */
#define OADR_COL_MODIFIED	2
#define OADR_COL_BODY		3	/* jsonb text */
#define OADR_COL_CLIENT		4	/* NULL for programs and events */
#define OADR_COL_TENANT		5	/* NULL: utility-wide */
#define OADR_COL_PARENT		6	/* program (events), event (reports), ven
								 * (resources); NULL otherwise */
/* for notifications only, never served: */
#define OADR_COL_PROGRAM	7	/* the program the object belongs to */
#define OADR_COL_OWNER		8	/* resources: the client_id of their ven */
#define OADR_COL_TARGETS	9	/* all targets, unfiltered (JSON) */
#define OADR_COL_PTARGETS	10	/* events: their program's targets (JSON) */

/* Search filters; NULL / false / 0 when not given. */
typedef struct oadr_filter
{
	int64_t		program_id;
	int64_t		event_id;
	int64_t		ven_id;
	const char *client_name;
	const char *ven_name;
	const char *resource_name;
	const char *const *targets;	/* ntargets strings */
	size_t		ntargets;
	const char *const *objects;	/* subscriptions: objectTypes */
	size_t		nobjects;
	bool		active;			/* events: only those not yet ended */
	int			skip;
	int			limit;
} oadr_filter;

/* What a write stores; fields a kind does not use are ignored. */
typedef struct oadr_row
{
	int64_t		tenant_id;		/* programs, subscriptions, vens; 0 = NULL */
	const char *client_id;		/* reports, subscriptions, vens, resources */
	int64_t		parent_id;		/* events, reports, resources */
	const char *ends_at;		/* events: RFC 3339, NULL = unbounded */
	oadr_role	role;			/* subscriptions: the subscriber's role */
	const char *body;			/* the normalized request, JSON text */
} oadr_row;

derms_rc	oadr_store_begin(PGconn *c, arena *a, const oadr_caller *who,
							 derms_err *err);
derms_rc	oadr_store_commit(PGconn *c, arena *a, derms_err *err);
/* Roll back if a transaction is open; never fails. */
void		oadr_store_rollback(PGconn *c);

/*
 * The statements below return DERMS_OK with *out set, or: DERMS_EEXIST
 * (a unique name), DERMS_ENOTFOUND (a write's parent is not visible),
 * DERMS_EPERM (refused by row-level security), DERMS_EINVAL (a data
 * error), DERMS_EDB.  A missing or invisible row is 0 rows, not an error.
 */
derms_rc	oadr_store_list(PGconn *c, arena *a, oadr_kind kind,
							const oadr_filter *f, PGresult **out, derms_err *err);
derms_rc	oadr_store_get(PGconn *c, arena *a, oadr_kind kind, int64_t id,
						   PGresult **out, derms_err *err);
derms_rc	oadr_store_insert(PGconn *c, arena *a, oadr_kind kind,
							  const oadr_row *row, PGresult **out, derms_err *err);
derms_rc	oadr_store_update(PGconn *c, arena *a, oadr_kind kind, int64_t id,
							  const oadr_row *row, PGresult **out, derms_err *err);
derms_rc	oadr_store_delete(PGconn *c, arena *a, oadr_kind kind, int64_t id,
							  PGresult **out, derms_err *err);

/*
 * The objects deleted along with object id of kind (ON DELETE CASCADE in
 * schema/0011): a program's events and their reports, an event's
 * reports, a ven's resources.  Read in the open transaction, in the
 * caller's scope, before the delete, so that their notifications can be
 * queued after it; the caller sees all of them (children share their
 * parent's tenant, and a VEN's vens' resources are its own).
 */
#define OADR_MAX_CASCADE 2

typedef struct oadr_cascade
{
	int			n;
	oadr_kind	kind[OADR_MAX_CASCADE];
	PGresult   *rows[OADR_MAX_CASCADE];	/* OADR_COL_* rows, arena-owned */
} oadr_cascade;

derms_rc	oadr_store_cascade(PGconn *c, arena *a, oadr_kind kind, int64_t id,
							   oadr_cascade *out, derms_err *err);

/*
 * Queue, in the open transaction, one notification for every
 * subscription whose objectOperations name kind and operation ("CREATE",
 * "UPDATE", "DELETE") and each row of rows (what the write returned, or
 * oadr_store_cascade found), whose programID and targets (when set) match the
 * object's, and whose subscriber could read the object: a VEN's
 * subscription gets only objects that VEN can read, with the targets it
 * was not granted removed.  Leaves the caller's scope (it must be the
 * last statement before commit).  *queued (may be NULL) counts them.
 * A notification for a callback not verified yet (schema/0011,
 * oadr_callbacks) is held, not queued, until the verification succeeds;
 * *queued counts it too.
 */
derms_rc	oadr_store_notify(PGconn *c, arena *a, oadr_kind kind,
							  const char *operation, PGresult *rows,
							  int *queued, derms_err *err);

/* Strict decimal id > 0, as the ids this VTN hands out. */
bool		oadr_store_parse_id(const char *s, int64_t *out);

#endif							/* DERMS_OADR_STORE_H */
