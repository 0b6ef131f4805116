/*
 * protocols/fleet/query.c
 *	  Sites, DERs and the fleet as of a time (see query.h).
 *
 * NOTES
 *	  The as-of query reads the effective-dated rows of
 *	  aggregation_members; it needs no separate history table because
 *	  those rows are never rewritten (schema/0002_fleet.sql).
 */
#include "query.h"

#include "enroll.h"
#include "sql.h"
#include "value.h"

static derms_rc
run(PGconn *c, arena *a, int64_t tenant_id, const char *sql, int n,
	const char *const *p, PGresult **out, derms_err *err)
{
	PGresult   *r;

	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if ((tenant_id > 0 && fleet_sql_scope(c, a, tenant_id, err) != DERMS_OK) ||
		(r = fleet_sql_exec(c, a, sql, n, p, NULL, err)) == NULL ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
	{
		fleet_sql_rollback(c);
		return err->code;
	}
	*out = r;
	return DERMS_OK;
}

derms_rc
fleet_query_sites(PGconn *c, arena *a, int64_t tenant_id, PGresult **out,
				  derms_err *err)
{
	return run(c, a, tenant_id,
			   "SELECT s.id, s.meter_id, s.address, f.name AS feeder, s.transformer,"
			   " s.pricing_node, s.time_zone FROM sites s JOIN feeders f ON f.id = s.feeder_id"
			   " ORDER BY s.id", 0, NULL, out, err);
}

derms_rc
fleet_query_ders(PGconn *c, arena *a, int64_t tenant_id, PGresult **out,
				 derms_err *err)
{
	return run(c, a, tenant_id,
			   "SELECT r.id, r.external_id AS der_id, s.meter_id, r.kind,"
			   " r.rated_w / 1000.0 AS nameplate_kw, r.rated_wh / 1000.0 AS energy_kwh,"
			   " r.lfdi, r.interconnection_status, r.export_cap_kw"
			   " FROM der_resources r LEFT JOIN sites s ON s.id = r.site_id ORDER BY r.id",
			   0, NULL, out, err);
}

derms_rc
fleet_query_as_of(PGconn *c, arena *a, int64_t tenant_id, const char *as_of,
				  int64_t aggregation_id, PGresult **out, derms_err *err)
{
	const char *p[2] = {as_of, aggregation_id > 0 ? fleet_sql_i64(a, aggregation_id) : NULL};

	if (as_of && !fleet_value_time(as_of))
		return derms_err_set(err, DERMS_EINVAL,
							 "as_of: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");
	return run(c, a, tenant_id,
			   "SELECT m.aggregation_id, g.name AS aggregation, k.name AS market,"
			   " m.der_id, r.external_id AS der, s.meter_id, f.name AS feeder,"
			   " s.pricing_node, r.rated_w / 1000.0 AS nameplate_kw, "
			   FLEET_TS("m.effective_from") " AS effective_from, "
			   FLEET_TS("m.effective_to") " AS effective_to"
			   " FROM aggregation_members m JOIN aggregations g ON g.id = m.aggregation_id"
			   " LEFT JOIN iso_markets k ON k.id = m.iso_market_id"
			   " JOIN der_resources r ON r.id = m.der_id"
			   " LEFT JOIN sites s ON s.id = r.site_id LEFT JOIN feeders f ON f.id = s.feeder_id"
			   " WHERE m.effective_from <= coalesce($1::timestamptz, now())"
			   "  AND (m.effective_to IS NULL OR m.effective_to > coalesce($1::timestamptz, now()))"
			   "  AND ($2::bigint IS NULL OR m.aggregation_id = $2)"
			   " ORDER BY m.aggregation_id, m.der_id", 2, p, out, err);
}
