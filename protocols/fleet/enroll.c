/*
 * protocols/fleet/enroll.c
 *	  Enrollment requests: the aggregator asks, the checks run, the
 *	  operator approves or rejects, and approved enrollments are ended by
 *	  setting effective_to.
 *
 * NOTES
 *	  Values are validated in C before the transaction starts, so a bad
 *	  timestamp is a field error rather than an aborted transaction.  The
 *	  aggregator's view of DERs and aggregations is taken under the tenant
 *	  scope (RLS), so another tenant's id is "not found" by construction.
 *	  The exclusion constraint on aggregation_members is the last word on
 *	  double counting; the pre-check here only gives a better message.
 */
#include "enroll.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "sql.h"
#include "value.h"

static derms_rc
fail(PGconn *c, derms_err *err)
{
	fleet_sql_rollback(c);
	return err->code;
}

/* Name the DER's market clash, or DERMS_OK when there is none. */
static derms_rc
market_clash(PGconn *c, arena *a, const char *der, const char *agg,
			 const char *from, const char *to, derms_err *err)
{
	const char *p[4] = {der, agg, from, to};
	PGresult   *r;

	r = fleet_sql_exec(c, a,
					   "SELECT m.aggregation_id, k.name, " FLEET_TS("m.effective_from") ","
					   " coalesce(" FLEET_TS("m.effective_to") ", 'open end')"
					   " FROM aggregation_members m JOIN aggregations g ON g.id = $2"
					   " JOIN iso_markets k ON k.id = g.iso_market_id"
					   " WHERE m.der_id = $1 AND m.iso_market_id = g.iso_market_id"
					   "  AND tstzrange(m.effective_from, m.effective_to, '[)')"
					   "   && tstzrange($3::timestamptz, $4::timestamptz, '[)')"
					   " ORDER BY m.effective_from LIMIT 1", 4, p, NULL, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) > 0)
		return derms_err_set(err, DERMS_EEXIST,
							 "der_id: DER %s is already in aggregation %s in market %s from %s to %s",
							 der, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1),
							 PQgetvalue(r, 0, 2), PQgetvalue(r, 0, 3));
	return DERMS_OK;
}

derms_rc
fleet_enroll_request(PGconn *c, arena *a, const fleet_enroll_in *in,
					 fleet_enroll_out *out, derms_err *err)
{
	const char *der = fleet_sql_i64(a, in->der_id);
	const char *agg = fleet_sql_i64(a, in->aggregation_id);
	int64_t		feeder_id = 0;
	int64_t		tenant;
	fleet_check_result chk;
	PGresult   *r;

	assert(in != NULL && out != NULL && in->actor != NULL);
	memset(out, 0, sizeof(*out));
	if (in->der_id <= 0)
		return derms_err_set(err, DERMS_EINVAL, "der_id: must be a positive integer");
	if (in->aggregation_id <= 0)
		return derms_err_set(err, DERMS_EINVAL, "aggregation_id: must be a positive integer");
	if (!fleet_value_time(in->effective_from))
		return derms_err_set(err, DERMS_EINVAL,
							 "effective_from: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");
	if (in->effective_to && !fleet_value_time(in->effective_to))
		return derms_err_set(err, DERMS_EINVAL,
							 "effective_to: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");

	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	/* what the caller may see */
	if (in->tenant_id > 0)
	{
		const char *p1[1] = {der};
		const char *p2[1] = {agg};

		if (fleet_sql_scope(c, a, in->tenant_id, err) != DERMS_OK)
			return fail(c, err);
		if ((r = fleet_sql_exec(c, a, "SELECT 1 FROM der_resources WHERE id = $1",
								1, p1, NULL, err)) == NULL)
			return fail(c, err);
		if (PQntuples(r) == 0)
		{
			derms_err_set(err, DERMS_ENOTFOUND, "der_id: no DER %s", der);
			return fail(c, err);
		}
		if ((r = fleet_sql_exec(c, a, "SELECT 1 FROM aggregations WHERE id = $1",
								1, p2, NULL, err)) == NULL)
			return fail(c, err);
		if (PQntuples(r) == 0)
		{
			derms_err_set(err, DERMS_ENOTFOUND, "aggregation_id: no aggregation %s", agg);
			return fail(c, err);
		}
		if (fleet_sql_unscope(c, a, err) != DERMS_OK)
			return fail(c, err);
	}
	{
		const char *p[5] = {der, agg, in->feeder, in->effective_from, in->effective_to};

		r = fleet_sql_exec(c, a,
						   "SELECT (SELECT tenant_id FROM der_resources WHERE id = $1),"
						   " (SELECT tenant_id FROM aggregations WHERE id = $2),"
						   " (SELECT iso_market_id FROM aggregations WHERE id = $2),"
						   " (SELECT id FROM feeders WHERE name = $3),"
						   " $5::timestamptz <= $4::timestamptz",
						   5, p, NULL, err);
		if (r == NULL)
			return fail(c, err);
		if (PQgetisnull(r, 0, 1))
		{
			/* aggregations.tenant_id is NOT NULL: no such aggregation */
			derms_err_set(err, DERMS_ENOTFOUND, "aggregation_id: no aggregation %s", agg);
			return fail(c, err);
		}
		if (in->tenant_id == 0)
		{
			const char *p1[1] = {der};
			PGresult   *e = fleet_sql_exec(c, a, "SELECT 1 FROM der_resources WHERE id = $1",
										   1, p1, NULL, err);

			if (e == NULL)
				return fail(c, err);
			if (PQntuples(e) == 0)
			{
				derms_err_set(err, DERMS_ENOTFOUND, "der_id: no DER %s", der);
				return fail(c, err);
			}
		}
		if (PQgetisnull(r, 0, 0) ||
			strcmp(PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1)) != 0)
		{
			derms_err_set(err, DERMS_EINVAL,
						  "der_id: DER %s does not belong to the tenant of aggregation %s",
						  der, agg);
			return fail(c, err);
		}
		tenant = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		if (PQgetisnull(r, 0, 2))
		{
			derms_err_set(err, DERMS_EINVAL,
						  "aggregation_id: aggregation %s has no ISO market", agg);
			return fail(c, err);
		}
		if (in->feeder && PQgetisnull(r, 0, 3))
		{
			derms_err_set(err, DERMS_EINVAL, "feeder: unknown feeder \"%s\"", in->feeder);
			return fail(c, err);
		}
		if (in->feeder)
			feeder_id = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
		if (PQgetvalue(r, 0, 4)[0] == 't')
		{
			derms_err_set(err, DERMS_EINVAL, "effective_to: must be after effective_from");
			return fail(c, err);
		}
	}
	if (market_clash(c, a, der, agg, in->effective_from, in->effective_to, err) != DERMS_OK)
		return fail(c, err);
	if (fleet_checks_run(c, a, in->der_id, in->aggregation_id, feeder_id,
						 in->effective_from, &chk, err) != DERMS_OK)
		return fail(c, err);
	{
		const char *p[8] = {fleet_sql_i64(a, tenant), der, agg,
			feeder_id ? fleet_sql_i64(a, feeder_id) : NULL,
			in->effective_from, in->effective_to, chk.findings_json, in->actor};

		r = fleet_sql_exec(c, a,
						   "INSERT INTO enrollment_requests (tenant_id, der_id, aggregation_id,"
						   " feeder_id, effective_from, effective_to, findings, requested_by)"
						   " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8) RETURNING id",
						   8, p, NULL, err);
		if (r == NULL)
		{
			if (err->code == DERMS_EEXIST)
				derms_err_set(err, DERMS_EEXIST,
							  "der_id: DER %s already has an open request for aggregation %s",
							  der, agg);
			return fail(c, err);
		}
		out->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	}
	{
		const char *detail = arena_printf(a,
										  "{\"der_id\": %s, \"aggregation_id\": %s, \"failed\": \"%s\"}",
										  der, agg, chk.failed);

		if (fleet_sql_audit(c, a, in->actor, "enroll.request",
							arena_printf(a, "enrollment_request:%lld", (long long) out->id),
							detail, err) != DERMS_OK)
			return fail(c, err);
	}
	if (fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	out->status = "requested";
	out->findings_json = chk.findings_json;
	out->failed = chk.failed;
	out->warnings = chk.warnings;
	return DERMS_OK;
}

/* Lock request id; fills the fields approve and reject need. */
static derms_rc
lock_request(PGconn *c, arena *a, int64_t id, PGresult **row, derms_err *err)
{
	const char *p[1] = {fleet_sql_i64(a, id)};
	PGresult   *r;

	r = fleet_sql_exec(c, a,
					   "SELECT status, der_id, aggregation_id, coalesce(feeder_id, 0),"
					   " effective_from::text, effective_to::text"
					   " FROM enrollment_requests WHERE id = $1 FOR UPDATE",
					   1, p, NULL, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "id: no enrollment request %lld",
							 (long long) id);
	if (strcmp(PQgetvalue(r, 0, 0), "requested") != 0)
		return derms_err_set(err, DERMS_EEXIST, "id: enrollment request %lld is already %s",
							 (long long) id, PQgetvalue(r, 0, 0));
	*row = r;
	return DERMS_OK;
}

derms_rc
fleet_enroll_approve(PGconn *c, arena *a, int64_t request_id, const char *actor,
					 fleet_enroll_out *out, derms_err *err)
{
	PGresult   *q;
	fleet_check_result chk;
	const char *id = fleet_sql_i64(a, request_id);

	assert(actor != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	out->id = request_id;
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (lock_request(c, a, request_id, &q, err) != DERMS_OK)
		return fail(c, err);
	if (fleet_checks_run(c, a, strtoll(PQgetvalue(q, 0, 1), NULL, 10),
						 strtoll(PQgetvalue(q, 0, 2), NULL, 10),
						 strtoll(PQgetvalue(q, 0, 3), NULL, 10),
						 PQgetvalue(q, 0, 4), &chk, err) != DERMS_OK)
		return fail(c, err);
	out->findings_json = chk.findings_json;
	out->failed = chk.failed;
	out->warnings = chk.warnings;
	if (!chk.all_ok)
	{
		derms_err_set(err, DERMS_EPERM, "id: enrollment request %s fails checks: %s",
					  id, chk.failed);
		return fail(c, err);
	}
	{
		const char *p[5] = {PQgetvalue(q, 0, 2), PQgetvalue(q, 0, 1), PQgetvalue(q, 0, 4),
			PQgetisnull(q, 0, 5) ? NULL : PQgetvalue(q, 0, 5), id};

		if (fleet_sql_exec(c, a,
						   "INSERT INTO aggregation_members (aggregation_id, der_id,"
						   " effective_from, effective_to, request_id)"
						   " VALUES ($1, $2, $3, $4, $5)", 5, p, NULL, err) == NULL)
		{
			if (err->code == DERMS_EEXIST)
				derms_err_set(err, DERMS_EEXIST,
							  "der_id: DER %s is already in an aggregation of that market at that time (%s)",
							  PQgetvalue(q, 0, 1), err->msg);
			return fail(c, err);
		}
	}
	{
		const char *p[3] = {id, actor, chk.findings_json};

		if (fleet_sql_exec(c, a,
						   "UPDATE enrollment_requests SET status = 'approved', decided_by = $2,"
						   " decided_at = now(), findings = $3::jsonb WHERE id = $1",
						   3, p, NULL, err) == NULL)
			return fail(c, err);
	}
	if (fleet_sql_audit(c, a, actor, "enroll.approve",
						arena_printf(a, "enrollment_request:%s", id),
						arena_printf(a, "{\"der_id\": %s, \"aggregation_id\": %s}",
									 PQgetvalue(q, 0, 1), PQgetvalue(q, 0, 2)),
						err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	out->status = "approved";
	return DERMS_OK;
}

derms_rc
fleet_enroll_reject(PGconn *c, arena *a, int64_t request_id, const char *reason,
					const char *actor, derms_err *err)
{
	PGresult   *q;
	const char *id = fleet_sql_i64(a, request_id);

	assert(actor != NULL);
	if (reason == NULL || reason[0] == '\0')
		return derms_err_set(err, DERMS_EINVAL, "reason: a rejection needs a reason");
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (lock_request(c, a, request_id, &q, err) != DERMS_OK)
		return fail(c, err);
	{
		const char *p[3] = {id, actor, reason};

		if (fleet_sql_exec(c, a,
						   "UPDATE enrollment_requests SET status = 'rejected', decided_by = $2,"
						   " decided_at = now(), reason = $3 WHERE id = $1",
						   3, p, NULL, err) == NULL)
			return fail(c, err);
	}
	if (fleet_sql_audit(c, a, actor, "enroll.reject",
						arena_printf(a, "enrollment_request:%s", id), "{}", err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	return DERMS_OK;
}

derms_rc
fleet_enroll_remove(PGconn *c, arena *a, int64_t der_id, int64_t aggregation_id,
					const char *at, const char *actor, derms_err *err)
{
	const char *p[3] = {fleet_sql_i64(a, der_id), fleet_sql_i64(a, aggregation_id), at};
	PGresult   *r;

	assert(actor != NULL);
	if (!fleet_value_time(at))
		return derms_err_set(err, DERMS_EINVAL,
							 "at: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	r = fleet_sql_exec(c, a,
					   "UPDATE aggregation_members SET effective_to = $3"
					   " WHERE der_id = $1 AND aggregation_id = $2 AND effective_to IS NULL"
					   "  AND effective_from < $3::timestamptz",
					   3, p, NULL, err);
	if (r == NULL)
		return fail(c, err);
	if (strcmp(PQcmdTuples(r), "0") == 0)
	{
		derms_err_set(err, DERMS_ENOTFOUND,
					  "der_id: DER %s has no open enrollment in aggregation %s that starts before %s",
					  p[0], p[1], at);
		return fail(c, err);
	}
	if (fleet_sql_audit(c, a, actor, "enroll.remove",
						arena_printf(a, "der:%s", p[0]),
						arena_printf(a, "{\"aggregation_id\": %s, \"at\": \"%s\"}", p[1], at),
						err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	return DERMS_OK;
}

/*
 * Under the tenant scope, is request id visible?  DERMS_OK, or
 * DERMS_ENOTFOUND naming it; leaves the transaction unscoped.
 */
static derms_rc
request_visible(PGconn *c, arena *a, int64_t tenant_id, int64_t id, derms_err *err)
{
	const char *p[1] = {fleet_sql_i64(a, id)};
	PGresult   *r;

	if (tenant_id <= 0)
		return DERMS_OK;
	if (fleet_sql_scope(c, a, tenant_id, err) != DERMS_OK)
		return err->code;
	if ((r = fleet_sql_exec(c, a, "SELECT 1 FROM enrollment_requests WHERE id = $1",
							1, p, NULL, err)) == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "id: no enrollment request %s", p[0]);
	return fleet_sql_unscope(c, a, err);
}

derms_rc
fleet_enroll_withdraw(PGconn *c, arena *a, int64_t tenant_id, int64_t request_id,
					  const char *reason, const char *actor, derms_err *err)
{
	const char *id = fleet_sql_i64(a, request_id);
	PGresult   *r;

	assert(actor != NULL);
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (request_visible(c, a, tenant_id, request_id, err) != DERMS_OK)
		return fail(c, err);
	{
		const char *p[1] = {id};

		r = fleet_sql_exec(c, a, "SELECT status FROM enrollment_requests WHERE id = $1 FOR UPDATE",
						   1, p, NULL, err);
		if (r == NULL)
			return fail(c, err);
		if (PQntuples(r) == 0)
		{
			derms_err_set(err, DERMS_ENOTFOUND, "id: no enrollment request %s", id);
			return fail(c, err);
		}
	}
	if (strcmp(PQgetvalue(r, 0, 0), "approved") == 0)
	{
		derms_err_set(err, DERMS_EEXIST,
					  "id: enrollment request %s is approved and cannot be withdrawn;"
					  " request the removal of its enrollment instead", id);
		return fail(c, err);
	}
	if (strcmp(PQgetvalue(r, 0, 0), "requested") != 0)
	{
		derms_err_set(err, DERMS_EEXIST,
					  "id: enrollment request %s is already %s and cannot be withdrawn",
					  id, PQgetvalue(r, 0, 0));
		return fail(c, err);
	}
	{
		const char *p[3] = {id, actor, reason};

		if (fleet_sql_exec(c, a,
						   "UPDATE enrollment_requests SET status = 'withdrawn', decided_by = $2,"
						   " decided_at = now(), reason = $3 WHERE id = $1",
						   3, p, NULL, err) == NULL)
			return fail(c, err);
	}
	if (fleet_sql_audit(c, a, actor, "enroll.withdraw",
						arena_printf(a, "enrollment_request:%s", id), "{}", err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	return DERMS_OK;
}

derms_rc
fleet_enroll_end_request(PGconn *c, arena *a, int64_t tenant_id, int64_t request_id,
						 const char *at, const char *actor, derms_err *err)
{
	const char *id = fleet_sql_i64(a, request_id);
	PGresult   *r;

	assert(actor != NULL);
	if (at == NULL || !fleet_value_time(at))
		return derms_err_set(err, DERMS_EINVAL,
							 "effective_to: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (request_visible(c, a, tenant_id, request_id, err) != DERMS_OK)
		return fail(c, err);
	{
		const char *p[2] = {id, at};

		/* the request, its enrollment, and where at falls */
		r = fleet_sql_exec(c, a,
						   "SELECT q.status, m.der_id, m.aggregation_id,"
						   " " FLEET_TS("m.effective_from") ", " FLEET_TS("m.effective_to") ","
						   " $2::timestamptz < date_trunc('second', now()),"
						   " $2::timestamptz <= m.effective_from"
						   " FROM enrollment_requests q"
						   " LEFT JOIN aggregation_members m ON m.request_id = q.id"
						   " WHERE q.id = $1 FOR UPDATE OF q",
						   2, p, NULL, err);
		if (r == NULL)
			return fail(c, err);
	}
	if (PQntuples(r) == 0)
	{
		derms_err_set(err, DERMS_ENOTFOUND, "id: no enrollment request %s", id);
		return fail(c, err);
	}
	if (strcmp(PQgetvalue(r, 0, 0), "approved") != 0 || PQgetisnull(r, 0, 1))
	{
		derms_err_set(err, DERMS_EEXIST,
					  "id: enrollment request %s is %s; only an approved enrollment can be removed",
					  id, PQgetvalue(r, 0, 0));
		return fail(c, err);
	}
	if (!PQgetisnull(r, 0, 4))
	{
		derms_err_set(err, DERMS_EEXIST,
					  "id: the enrollment of request %s already ends at %s; an end is set once",
					  id, PQgetvalue(r, 0, 4));
		return fail(c, err);
	}
	if (PQgetvalue(r, 0, 5)[0] == 't')
	{
		derms_err_set(err, DERMS_EINVAL, "effective_to: %s is in the past", at);
		return fail(c, err);
	}
	if (PQgetvalue(r, 0, 6)[0] == 't')
	{
		derms_err_set(err, DERMS_EINVAL,
					  "effective_to: must be after the enrollment's start %s", PQgetvalue(r, 0, 3));
		return fail(c, err);
	}
	{
		const char *p[2] = {id, at};
		PGresult   *u;

		u = fleet_sql_exec(c, a,
						   "UPDATE aggregation_members SET effective_to = $2"
						   " WHERE request_id = $1 AND effective_to IS NULL",
						   2, p, NULL, err);
		if (u == NULL)
			return fail(c, err);
	}
	if (fleet_sql_audit(c, a, actor, "enroll.remove",
						arena_printf(a, "der:%s", PQgetvalue(r, 0, 1)),
						arena_printf(a, "{\"aggregation_id\": %s, \"at\": \"%s\", \"request_id\": %s}",
									 PQgetvalue(r, 0, 2), at, id),
						err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	return DERMS_OK;
}

derms_rc
fleet_enroll_list(PGconn *c, arena *a, int64_t tenant_id, const char *status,
				  int64_t id, PGresult **out, derms_err *err)
{
	const char *p[2] = {status, id > 0 ? fleet_sql_i64(a, id) : NULL};
	PGresult   *r;

	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (tenant_id > 0 && fleet_sql_scope(c, a, tenant_id, err) != DERMS_OK)
		return fail(c, err);
	r = fleet_sql_exec(c, a,
					   "SELECT q.id, q.tenant_id AS tenant, q.der_id, q.aggregation_id,"
					   " f.name AS feeder, " FLEET_TS("q.effective_from") " AS effective_from, "
					   FLEET_TS("q.effective_to") " AS effective_to, q.status, q.findings,"
					   " q.requested_by, " FLEET_TS("q.requested_at") " AS requested_at,"
					   " q.decided_by, " FLEET_TS("q.decided_at") " AS decided_at, q.reason"
					   " FROM enrollment_requests q LEFT JOIN feeders f ON f.id = q.feeder_id"
					   " WHERE ($1::text IS NULL OR q.status = $1)"
					   "  AND ($2::bigint IS NULL OR q.id = $2)"
					   " ORDER BY q.id", 2, p, NULL, err);
	if (r == NULL)
		return fail(c, err);
	if (fleet_sql_commit(c, a, err) != DERMS_OK)
		return fail(c, err);
	*out = r;
	return DERMS_OK;
}
