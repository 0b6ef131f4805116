/*
 * protocols/fleet/checks.c
 *	  Enrollment checks: interconnection, LFDI claims, feeder, feeder
 *	  hosting capacity, one pricing node per aggregation.
 *
 * NOTES
 *	  Hosting capacity counts each DER at the feeder once (whatever number
 *	  of markets it is enrolled in) when it has an enrollment active at
 *	  the new enrollment's start, plus the DER being checked; nameplate is
 *	  rated_w.  The pricing-node check compares the DER's site with the
 *	  aggregation's declared node and with the sites of its members active
 *	  at that time.
 *
 *	  min_size is the only finding that does not block approval (it
 *	  carries "blocking": false): an aggregation grows one DER at a time,
 *	  so refusing every enrollment that leaves it below its minimum would
 *	  refuse its first members.  It warns the operator instead; the ISO
 *	  export is where the minimum is enforced (export.c).  A device that
 *	  registered itself (end_devices.tenant_id NULL) is not a claim by
 *	  another tenant.
 */
#include "checks.h"

#include <assert.h>
#include <string.h>

#include "sql.h"

static const char checks_sql[] =
	"WITH t AS (SELECT $4::timestamptz AS at),"
	" d AS (SELECT r.id, r.lfdi, r.tenant_id, coalesce(r.rated_w, 0) AS rated_w,"
	"   r.interconnection_status AS ics, r.interconnection_date AS icd,"
	"   s.feeder_id, s.pricing_node, f.name AS feeder, f.hosting_capacity_kw AS cap"
	"   FROM der_resources r LEFT JOIN sites s ON s.id = r.site_id"
	"   LEFT JOIN feeders f ON f.id = s.feeder_id WHERE r.id = $1),"
	" ag AS (SELECT g.id, g.pricing_node, coalesce(g.min_size_kw, k.min_size_kw, 100) AS min_kw"
	"   FROM aggregations g LEFT JOIN iso_markets k ON k.id = g.iso_market_id WHERE g.id = $2),"
	" stated AS (SELECT name FROM feeders WHERE id = $3),"
	" claims AS (SELECT string_agg(DISTINCT who, ', ') AS who FROM ("
	"   SELECT 'end device ' || e.id AS who FROM end_devices e, d"
	"    WHERE e.lfdi = d.lfdi AND e.tenant_id IS NOT NULL"
	"      AND e.tenant_id IS DISTINCT FROM d.tenant_id"
	"   UNION ALL SELECT 'certificate of tenant ' || c.tenant_id FROM certificates c, d"
	"    WHERE c.lfdi = d.lfdi AND NOT c.revoked AND c.tenant_id IS NOT NULL"
	"      AND c.tenant_id IS DISTINCT FROM d.tenant_id) x),"
	" load AS (SELECT coalesce(sum(r.rated_w), 0) / 1000.0 AS kw"
	"   FROM der_resources r JOIN sites s ON s.id = r.site_id, d, t"
	"   WHERE s.feeder_id = d.feeder_id AND r.id <> d.id AND EXISTS ("
	"     SELECT 1 FROM aggregation_members m WHERE m.der_id = r.id"
	"      AND m.effective_from <= t.at"
	"      AND (m.effective_to IS NULL OR m.effective_to > t.at))),"
	" nodes AS (SELECT string_agg(DISTINCT s.pricing_node, ', ') AS other"
	"   FROM aggregation_members m JOIN der_resources r ON r.id = m.der_id"
	"   JOIN sites s ON s.id = r.site_id, d, t"
	"   WHERE m.aggregation_id = $2 AND m.der_id <> d.id"
	"    AND s.pricing_node IS DISTINCT FROM d.pricing_node"
	"    AND m.effective_from <= t.at"
	"    AND (m.effective_to IS NULL OR m.effective_to > t.at)),"
	" size AS (SELECT coalesce(sum(r.rated_w), 0) / 1000.0 AS kw"
	"   FROM aggregation_members m JOIN der_resources r ON r.id = m.der_id, d, t"
	"   WHERE m.aggregation_id = $2 AND m.der_id <> d.id"
	"    AND m.effective_from <= t.at"
	"    AND (m.effective_to IS NULL OR m.effective_to > t.at)),"
	" f AS (SELECT jsonb_build_array("
	"  jsonb_build_object('check', 'interconnected', 'ok',"
	"   d.ics = 'interconnected' AND d.icd <= (t.at AT TIME ZONE 'UTC')::date,"
	"   'detail', format('interconnection status %s since %s', d.ics,"
	"     coalesce(d.icd::text, 'unknown'))),"
	"  jsonb_build_object('check', 'lfdi_unclaimed', 'ok', claims.who IS NULL,"
	"   'detail', CASE WHEN d.lfdi IS NULL THEN 'DER has no LFDI'"
	"     WHEN claims.who IS NULL THEN format('LFDI %s is not claimed elsewhere', d.lfdi)"
	"     ELSE format('LFDI %s is claimed by %s', d.lfdi, claims.who) END),"
	"  jsonb_build_object('check', 'feeder', 'ok',"
	"   d.feeder_id IS NOT NULL AND d.feeder_id = $3,"
	"   'detail', format('site is on feeder %s; request states %s',"
	"     coalesce(d.feeder, 'none'), coalesce((SELECT name FROM stated), 'none'))),"
	"  jsonb_build_object('check', 'hosting_capacity', 'ok',"
	"   d.cap IS NOT NULL AND load.kw + d.rated_w / 1000.0 <= d.cap,"
	"   'detail', format('%s kW enrolled + %s kW of this DER against %s kW hosting capacity',"
	"     round(load.kw::numeric, 3), round((d.rated_w / 1000.0)::numeric, 3),"
	"     coalesce(round(d.cap::numeric, 3)::text, 'unknown'))),"
	"  jsonb_build_object('check', 'pricing_node', 'ok',"
	"   d.pricing_node IS NOT NULL AND nodes.other IS NULL"
	"   AND (ag.pricing_node IS NULL OR ag.pricing_node = d.pricing_node),"
	"   'detail', format('site pricing node %s; aggregation %s; other members at %s',"
	"     coalesce(d.pricing_node, 'none'), coalesce(ag.pricing_node, 'unset'),"
	"     coalesce(nodes.other, 'the same node'))),"
	"  jsonb_build_object('check', 'min_size', 'ok',"
	"   size.kw + d.rated_w / 1000.0 >= ag.min_kw, 'blocking', false,"
	"   'detail', format('aggregation would have %s kW (%s kW of members + %s kW of this DER)"
	" against its minimum of %s kW', round((size.kw + d.rated_w / 1000.0)::numeric, 3),"
	"     round(size.kw::numeric, 3), round((d.rated_w / 1000.0)::numeric, 3),"
	"     round(ag.min_kw::numeric, 3)))"
	" ) AS j FROM d, ag, t, claims, load, nodes, size)"
	" SELECT j::text,"
	"  (SELECT string_agg(e->>'check', ',') FROM jsonb_array_elements(j) e"
	"   WHERE NOT (e->>'ok')::boolean AND coalesce((e->>'blocking')::boolean, true)),"
	"  (SELECT string_agg(e->>'check', ',') FROM jsonb_array_elements(j) e"
	"   WHERE NOT (e->>'ok')::boolean AND NOT coalesce((e->>'blocking')::boolean, true))"
	" FROM f";

derms_rc
fleet_checks_run(PGconn *c, arena *a, int64_t der_id, int64_t agg_id,
				 int64_t feeder_id, const char *effective_from,
				 fleet_check_result *out, derms_err *err)
{
	const char *p[4];
	PGresult   *r;

	assert(out != NULL && effective_from != NULL);
	p[0] = fleet_sql_i64(a, der_id);
	p[1] = fleet_sql_i64(a, agg_id);
	p[2] = feeder_id > 0 ? fleet_sql_i64(a, feeder_id) : NULL;
	p[3] = effective_from;
	r = fleet_sql_exec(c, a, checks_sql, 4, p, NULL, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) != 1)
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "DER %lld or aggregation %lld does not exist",
							 (long long) der_id, (long long) agg_id);
	out->findings_json = PQgetvalue(r, 0, 0);
	out->failed = PQgetvalue(r, 0, 1);
	out->all_ok = PQgetisnull(r, 0, 1);
	out->warnings = PQgetvalue(r, 0, 2);
	return DERMS_OK;
}
