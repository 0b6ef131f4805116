/*
 * protocols/fleet/import.c
 *	  CSV bulk import: one table of kinds, each with its columns, its
 *	  cross-field rule, its set-based checks and its final INSERT.
 *
 * NOTES
 *	  The temporary table fleet_in (line, one text column per CSV column)
 *	  lives until the transaction ends.  Records that fail a field check
 *	  are not copied, so the SQL checks may cast every column safely.
 *	  Each SQL check returns (line, field, reason) rows.  Power is kW in
 *	  the files; der_resources stores W, VA and Wh.
 */
#include "import.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "sql.h"
#include "value.h"

typedef enum col_type
{
	COL_TEXT,
	COL_NONNEG,					/* number >= 0 */
	COL_FRACTION,				/* number in (0, 1] */
	COL_DATE,
	COL_TIME,
	COL_LFDI,
	COL_BOOL,
	COL_ENUM
} col_type;

typedef struct import_col
{
	const char *name;
	col_type	type;
	bool		required;
	const char *const *values;	/* COL_ENUM: NULL-terminated */
} import_col;

/* Records a cross-field problem of one record (f in column order). */
typedef struct import_ctx import_ctx;
typedef void (*row_rule) (import_ctx *x, long line, const char *const *f);

typedef struct import_kind
{
	const char *name;
	const import_col *cols;
	size_t		ncols;
	row_rule	rule;			/* may be NULL */
	const char *const *checks;	/* both modes; NULL-terminated */
	const char *const *insert_checks;	/* insert mode only; may be NULL */
	const char *const *upsert_checks;	/* upsert mode only; may be NULL */
	const char *apply;			/* insert mode */
	const char *const *upsert_apply;	/* in order; NULL: insert only */
} import_kind;

typedef struct err_node
{
	fleet_import_error e;
	int			order;			/* column index for sorting */
	struct err_node *next;
} err_node;

struct import_ctx
{
	arena	   *a;
	const import_kind *k;
	err_node   *head;
	size_t		n;
};

static const char *const der_kinds[] = {"pv", "battery", "ev_charger",
"flexible_load", "generator", NULL};
static const char *const ic_states[] = {"applied", "approved", "interconnected",
"disconnected", NULL};
static const char *const market_kinds[] = {"wholesale", "retail", NULL};

/* ---- feeders ---- */

static const import_col feeder_cols[] = {
	{"name", COL_TEXT, true, NULL},
	{"hosting_capacity_kw", COL_NONNEG, true, NULL},
};

static const char *const feeder_checks[] = {
	"SELECT line, 'name', format('duplicate feeder \"%s\" (first on line %s)', name, first)"
	" FROM (SELECT line, name, min(line) OVER (PARTITION BY name) AS first FROM fleet_in) x"
	" WHERE line > first",
	NULL
};

static const char *const feeder_insert_checks[] = {
	"SELECT i.line, 'name', format('feeder \"%s\" already exists', i.name)"
	" FROM fleet_in i JOIN feeders f ON f.name = i.name",
	NULL
};

static const char *const feeder_upsert[] = {
	"INSERT INTO feeders (name, hosting_capacity_kw)"
	" SELECT name, hosting_capacity_kw::float8 FROM fleet_in ORDER BY line"
	" ON CONFLICT (name) DO UPDATE SET hosting_capacity_kw = EXCLUDED.hosting_capacity_kw",
	NULL
};

/* ---- markets ---- */

static const import_col market_cols[] = {
	{"name", COL_TEXT, true, NULL},
	{"kind", COL_ENUM, false, market_kinds},
	{"min_size_kw", COL_NONNEG, false, NULL},
	{"allow_dual_participation", COL_BOOL, false, NULL},
};

static void market_rule(import_ctx *x, long line, const char *const *f);

static const char *const market_checks[] = {
	"SELECT line, 'name', format('duplicate market \"%s\" (first on line %s)', name, first)"
	" FROM (SELECT line, name, min(line) OVER (PARTITION BY name) AS first FROM fleet_in) x"
	" WHERE line > first",
	NULL
};

static const char *const market_insert_checks[] = {
	"SELECT i.line, 'name', format('market \"%s\" already exists', i.name)"
	" FROM fleet_in i JOIN iso_markets m ON m.name = i.name",
	NULL
};

/* a market's kind decides the dual-participation rule of its members */
static const char *const market_upsert_checks[] = {
	"SELECT i.line, 'kind', format('market \"%s\" is %s; its kind cannot change', i.name, m.kind)"
	" FROM fleet_in i JOIN iso_markets m ON m.name = i.name"
	" WHERE m.kind <> coalesce(i.kind, 'wholesale')",
	NULL
};

static const char *const market_upsert[] = {
	"INSERT INTO iso_markets (name, kind, min_size_kw, allow_dual_participation)"
	" SELECT name, coalesce(kind, 'wholesale'), coalesce(min_size_kw::float8, 100),"
	" coalesce(allow_dual_participation::boolean, false) FROM fleet_in ORDER BY line"
	" ON CONFLICT (name) DO UPDATE SET min_size_kw = EXCLUDED.min_size_kw,"
	" allow_dual_participation = EXCLUDED.allow_dual_participation",
	NULL
};

/* ---- aggregations ---- */

static const import_col agg_cols[] = {
	{"tenant", COL_TEXT, true, NULL},
	{"name", COL_TEXT, true, NULL},
	{"market", COL_TEXT, true, NULL},
	{"iso_resource_id", COL_TEXT, false, NULL},
	{"pricing_node", COL_TEXT, false, NULL},
	{"min_size_kw", COL_NONNEG, false, NULL},
	{"effective_from", COL_TIME, false, NULL},
	{"effective_to", COL_TIME, false, NULL},
};

static const char *const agg_checks[] = {
	"SELECT i.line, 'tenant', format('unknown aggregator tenant \"%s\"', i.tenant)"
	" FROM fleet_in i LEFT JOIN tenants t ON t.name = i.tenant AND t.kind = 'aggregator'"
	" WHERE t.id IS NULL",
	"SELECT i.line, 'market', format('unknown market \"%s\"', i.market)"
	" FROM fleet_in i LEFT JOIN iso_markets m ON m.name = i.market WHERE m.id IS NULL",
	"SELECT line, 'name', format('duplicate aggregation \"%s\" of tenant \"%s\" (first on line %s)',"
	" name, tenant, first) FROM (SELECT line, name, tenant,"
	" min(line) OVER (PARTITION BY tenant, name) AS first FROM fleet_in) x WHERE line > first",
	"SELECT i.line, 'name', format('aggregation \"%s\" of tenant \"%s\" already exists', i.name, i.tenant)"
	" FROM fleet_in i JOIN tenants t ON t.name = i.tenant"
	" JOIN aggregations g ON g.tenant_id = t.id AND g.name = i.name",
	"SELECT line, 'iso_resource_id', format('duplicate iso_resource_id \"%s\" in market \"%s\""
	" (first on line %s)', iso_resource_id, market, first) FROM (SELECT line, iso_resource_id, market,"
	" min(line) OVER (PARTITION BY market, iso_resource_id) AS first FROM fleet_in"
	" WHERE iso_resource_id IS NOT NULL) x WHERE line > first",
	"SELECT i.line, 'iso_resource_id', format('iso_resource_id \"%s\" already exists in market \"%s\"',"
	" i.iso_resource_id, i.market) FROM fleet_in i JOIN iso_markets m ON m.name = i.market"
	" JOIN aggregations g ON g.iso_market_id = m.id AND g.iso_resource_id = i.iso_resource_id",
	"SELECT line, 'effective_to', 'must be after effective_from' FROM fleet_in"
	" WHERE effective_to::timestamptz <= effective_from::timestamptz",
	NULL
};

/* ---- sites ---- */

static const import_col site_cols[] = {
	{"meter_id", COL_TEXT, true, NULL},
	{"tenant", COL_TEXT, false, NULL},
	{"address", COL_TEXT, true, NULL},
	{"feeder", COL_TEXT, true, NULL},
	{"transformer", COL_TEXT, false, NULL},
	{"pricing_node", COL_TEXT, true, NULL},
	{"time_zone", COL_TEXT, true, NULL},
};

static const char *const site_checks[] = {
	"SELECT line, 'meter_id', format('duplicate meter_id \"%s\" (first on line %s)', meter_id, first)"
	" FROM (SELECT line, meter_id, min(line) OVER (PARTITION BY meter_id) AS first FROM fleet_in) x"
	" WHERE line > first",
	"SELECT i.line, 'tenant', format('unknown aggregator tenant \"%s\"', i.tenant)"
	" FROM fleet_in i LEFT JOIN tenants t ON t.name = i.tenant AND t.kind = 'aggregator'"
	" WHERE i.tenant IS NOT NULL AND t.id IS NULL",
	"SELECT i.line, 'feeder', format('unknown feeder \"%s\"', i.feeder)"
	" FROM fleet_in i LEFT JOIN feeders f ON f.name = i.feeder WHERE f.id IS NULL",
	"SELECT i.line, 'time_zone', format('unknown time zone \"%s\"', i.time_zone)"
	" FROM fleet_in i WHERE i.time_zone NOT IN (SELECT name FROM pg_timezone_names)",
	NULL
};

static const char *const site_insert_checks[] = {
	"SELECT i.line, 'meter_id', format('meter_id \"%s\" already exists', i.meter_id)"
	" FROM fleet_in i JOIN sites s ON s.meter_id = i.meter_id",
	NULL
};

/* a site's DERs belong to its tenant */
static const char *const site_upsert_checks[] = {
	"SELECT i.line, 'tenant', format('site \"%s\" has DERs of tenant %s',"
	" i.meter_id, string_agg(DISTINCT coalesce(tn.name, 'none'), ', '))"
	" FROM fleet_in i JOIN tenants t ON t.name = i.tenant"
	" JOIN sites s ON s.meter_id = i.meter_id JOIN der_resources r ON r.site_id = s.id"
	" LEFT JOIN tenants tn ON tn.id = r.tenant_id"
	" WHERE r.tenant_id IS DISTINCT FROM t.id GROUP BY i.line, i.meter_id",
	NULL
};

static const char *const site_upsert[] = {
	"INSERT INTO sites (meter_id, tenant_id, address, feeder_id, transformer,"
	" pricing_node, time_zone)"
	" SELECT i.meter_id, t.id, i.address, f.id, i.transformer, i.pricing_node, i.time_zone"
	" FROM fleet_in i JOIN feeders f ON f.name = i.feeder"
	" LEFT JOIN tenants t ON t.name = i.tenant ORDER BY i.line"
	" ON CONFLICT (meter_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,"
	" address = EXCLUDED.address, feeder_id = EXCLUDED.feeder_id,"
	" transformer = EXCLUDED.transformer, pricing_node = EXCLUDED.pricing_node,"
	" time_zone = EXCLUDED.time_zone",
	NULL
};

/* ---- DERs ---- */

enum
{
	D_ID, D_METER, D_TENANT, D_KIND, D_KW, D_KVA, D_KWH, D_CHG, D_DIS, D_CEFF,
	D_DEFF, D_MAKE, D_MODEL, D_LFDI, D_VEN, D_RES, D_ICS, D_ICD, D_EXPORT
};

static const import_col der_cols[] = {
	[D_ID] = {"der_id", COL_TEXT, true, NULL},
	[D_METER] = {"meter_id", COL_TEXT, true, NULL},
	[D_TENANT] = {"tenant", COL_TEXT, false, NULL},
	[D_KIND] = {"kind", COL_ENUM, true, der_kinds},
	[D_KW] = {"nameplate_kw", COL_NONNEG, true, NULL},
	[D_KVA] = {"nameplate_kva", COL_NONNEG, false, NULL},
	[D_KWH] = {"energy_kwh", COL_NONNEG, false, NULL},
	[D_CHG] = {"max_charge_kw", COL_NONNEG, false, NULL},
	[D_DIS] = {"max_discharge_kw", COL_NONNEG, false, NULL},
	[D_CEFF] = {"charge_efficiency", COL_FRACTION, false, NULL},
	[D_DEFF] = {"discharge_efficiency", COL_FRACTION, false, NULL},
	[D_MAKE] = {"inverter_make", COL_TEXT, false, NULL},
	[D_MODEL] = {"inverter_model", COL_TEXT, false, NULL},
	[D_LFDI] = {"lfdi", COL_LFDI, false, NULL},
	[D_VEN] = {"ven_name", COL_TEXT, false, NULL},
	[D_RES] = {"resource_name", COL_TEXT, false, NULL},
	[D_ICS] = {"interconnection_status", COL_ENUM, true, ic_states},
	[D_ICD] = {"interconnection_date", COL_DATE, false, NULL},
	[D_EXPORT] = {"export_cap_kw", COL_NONNEG, false, NULL},
};

static void der_rule(import_ctx *x, long line, const char *const *f);

static const char *const der_checks[] = {
	"SELECT line, 'der_id', format('duplicate der_id \"%s\" (first on line %s)', der_id, first)"
	" FROM (SELECT line, der_id, min(line) OVER (PARTITION BY der_id) AS first FROM fleet_in) x"
	" WHERE line > first",
	"SELECT line, 'lfdi', format('duplicate lfdi %s (first on line %s)', lfdi, first)"
	" FROM (SELECT line, lfdi, min(line) OVER (PARTITION BY lfdi) AS first FROM fleet_in"
	" WHERE lfdi IS NOT NULL) x WHERE line > first",
	"SELECT i.line, 'meter_id', format('unknown site meter_id \"%s\"', i.meter_id)"
	" FROM fleet_in i LEFT JOIN sites s ON s.meter_id = i.meter_id WHERE s.id IS NULL",
	"SELECT i.line, 'tenant', format('unknown aggregator tenant \"%s\"', i.tenant)"
	" FROM fleet_in i LEFT JOIN tenants t ON t.name = i.tenant AND t.kind = 'aggregator'"
	" WHERE i.tenant IS NOT NULL AND t.id IS NULL",
	"SELECT i.line, 'tenant', format('site \"%s\" belongs to another tenant', i.meter_id)"
	" FROM fleet_in i JOIN sites s ON s.meter_id = i.meter_id JOIN tenants t ON t.name = i.tenant"
	" WHERE s.tenant_id IS NOT NULL AND s.tenant_id <> t.id",
	NULL
};

static const char *const der_insert_checks[] = {
	"SELECT i.line, 'der_id', format('der_id \"%s\" already exists', i.der_id)"
	" FROM fleet_in i JOIN der_resources r ON r.external_id = i.der_id",
	"SELECT i.line, 'lfdi', format('lfdi %s is already used by DER \"%s\"', i.lfdi,"
	" coalesce(r.external_id, r.id::text)) FROM fleet_in i JOIN der_resources r ON r.lfdi = i.lfdi",
	NULL
};

static const char *const der_upsert_checks[] = {
	"SELECT i.line, 'lfdi', format('lfdi %s is already used by DER \"%s\"', i.lfdi,"
	" coalesce(r.external_id, r.id::text)) FROM fleet_in i JOIN der_resources r ON r.lfdi = i.lfdi"
	" WHERE r.external_id IS DISTINCT FROM i.der_id",
	/* moving a DER to another tenant while enrolled with its old one */
	"SELECT DISTINCT ON (i.line) i.line, 'tenant', format('DER \"%s\" is enrolled in aggregation"
	" \"%s\" of another tenant from %s; end that enrollment first', i.der_id, g.name,"
	" m.effective_from) FROM fleet_in i JOIN der_resources r ON r.external_id = i.der_id"
	" JOIN sites s ON s.meter_id = i.meter_id LEFT JOIN tenants t ON t.name = i.tenant"
	" JOIN aggregation_members m ON m.der_id = r.id JOIN aggregations g ON g.id = m.aggregation_id"
	" WHERE g.tenant_id IS DISTINCT FROM coalesce(t.id, s.tenant_id)"
	" AND (m.effective_to IS NULL OR m.effective_to > now()) ORDER BY i.line, m.effective_from",
	NULL
};

/* the DER columns from the file, shared by both modes */
#define DER_SELECT \
	" SELECT i.der_id, s.id, coalesce(t.id, s.tenant_id), i.kind," \
	" i.nameplate_kw::float8 * 1000, i.nameplate_kva::float8 * 1000," \
	" i.energy_kwh::float8 * 1000, i.max_charge_kw::float8 * 1000," \
	" i.max_discharge_kw::float8 * 1000, i.charge_efficiency::float8," \
	" i.discharge_efficiency::float8, i.inverter_make, i.inverter_model, i.lfdi," \
	" i.ven_name, i.resource_name, i.interconnection_status," \
	" i.interconnection_date::date, i.export_cap_kw::float8" \
	" FROM fleet_in i JOIN sites s ON s.meter_id = i.meter_id" \
	" LEFT JOIN tenants t ON t.name = i.tenant ORDER BY i.line"
#define DER_INSERT \
	"INSERT INTO der_resources (external_id, site_id, tenant_id, kind, rated_w, rated_va," \
	" rated_wh, max_charge_w, max_discharge_w, charge_efficiency, discharge_efficiency," \
	" inverter_make, inverter_model, lfdi, ven_name, resource_name," \
	" interconnection_status, interconnection_date, export_cap_kw)" DER_SELECT

/* an SFDI set at registration belongs to the old LFDI */
static const char *const der_upsert[] = {
	DER_INSERT
	" ON CONFLICT (external_id) DO UPDATE SET site_id = EXCLUDED.site_id,"
	" tenant_id = EXCLUDED.tenant_id, kind = EXCLUDED.kind, rated_w = EXCLUDED.rated_w,"
	" rated_va = EXCLUDED.rated_va, rated_wh = EXCLUDED.rated_wh,"
	" max_charge_w = EXCLUDED.max_charge_w, max_discharge_w = EXCLUDED.max_discharge_w,"
	" charge_efficiency = EXCLUDED.charge_efficiency,"
	" discharge_efficiency = EXCLUDED.discharge_efficiency,"
	" inverter_make = EXCLUDED.inverter_make, inverter_model = EXCLUDED.inverter_model,"
	" sfdi = CASE WHEN der_resources.lfdi IS NOT DISTINCT FROM EXCLUDED.lfdi"
	"  THEN der_resources.sfdi END, lfdi = EXCLUDED.lfdi,"
	" ven_name = EXCLUDED.ven_name, resource_name = EXCLUDED.resource_name,"
	" interconnection_status = EXCLUDED.interconnection_status,"
	" interconnection_date = EXCLUDED.interconnection_date,"
	" export_cap_kw = EXCLUDED.export_cap_kw",
	NULL
};

/* ---- enrollments ---- */

static const import_col enr_cols[] = {
	{"tenant", COL_TEXT, true, NULL},
	{"aggregation", COL_TEXT, true, NULL},
	{"der_id", COL_TEXT, true, NULL},
	{"effective_from", COL_TIME, true, NULL},
	{"effective_to", COL_TIME, false, NULL},
};

/* the records resolved to ids; reused by the checks and the INSERT */
#define ENR_RESOLVED \
	"SELECT i.line, i.der_id AS ext, r.id AS der, g.id AS agg, g.iso_market_id AS market," \
	" i.effective_from::timestamptz AS f, i.effective_to::timestamptz AS t" \
	" FROM fleet_in i JOIN tenants tn ON tn.name = i.tenant" \
	" JOIN aggregations g ON g.tenant_id = tn.id AND g.name = i.aggregation" \
	" JOIN der_resources r ON r.external_id = i.der_id" \
	" WHERE g.iso_market_id IS NOT NULL AND (i.effective_to IS NULL" \
	"  OR i.effective_to::timestamptz > i.effective_from::timestamptz)"

static const char *const enr_checks[] = {
	"SELECT i.line, 'aggregation', format('unknown aggregation \"%s\" of tenant \"%s\"',"
	" i.aggregation, i.tenant) FROM fleet_in i LEFT JOIN (aggregations g JOIN tenants t"
	" ON t.id = g.tenant_id) ON t.name = i.tenant AND g.name = i.aggregation WHERE g.id IS NULL",
	"SELECT i.line, 'aggregation', format('aggregation \"%s\" has no market', i.aggregation)"
	" FROM fleet_in i JOIN tenants t ON t.name = i.tenant"
	" JOIN aggregations g ON g.tenant_id = t.id AND g.name = i.aggregation"
	" WHERE g.iso_market_id IS NULL",
	"SELECT i.line, 'der_id', format('unknown der_id \"%s\"', i.der_id)"
	" FROM fleet_in i LEFT JOIN der_resources r ON r.external_id = i.der_id WHERE r.id IS NULL",
	"SELECT i.line, 'der_id', format('DER \"%s\" does not belong to tenant \"%s\"', i.der_id, i.tenant)"
	" FROM fleet_in i JOIN der_resources r ON r.external_id = i.der_id"
	" JOIN tenants t ON t.name = i.tenant WHERE r.tenant_id IS DISTINCT FROM t.id",
	"SELECT line, 'effective_to', 'must be after effective_from' FROM fleet_in"
	" WHERE effective_to::timestamptz <= effective_from::timestamptz",
	"SELECT line, 'der_id', format('DER \"%s\" is in two aggregations of one market at once"
	" (overlaps line %s)', ext, prev) FROM (SELECT line, ext, f,"
	" lag(line) OVER w AS prev, max(coalesce(t, 'infinity')) OVER (w ROWS BETWEEN"
	" UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end FROM (" ENR_RESOLVED ") x"
	" WINDOW w AS (PARTITION BY der, market ORDER BY f, line)) y WHERE prev_end > f",
	NULL
};

static const char *const enr_insert_checks[] = {
	"SELECT x.line, 'der_id', format('DER \"%s\" is already in aggregation %s of that market"
	" from %s', x.ext, m.aggregation_id, m.effective_from) FROM (" ENR_RESOLVED ") x"
	" JOIN aggregation_members m ON m.der_id = x.der AND m.iso_market_id = x.market"
	" AND tstzrange(m.effective_from, m.effective_to, '[)') && tstzrange(x.f, x.t, '[)')",
	NULL
};

/*
 * Upsert: x the records, nx those that are new periods (no row with the
 * same DER, aggregation and start), adj the existing rows of those DERs
 * with the end they will have: their own, the one the file gives an open
 * row, or the start of the DER's next new period in that market.
 */
#define ENR_UPSERT_CTE \
	"WITH x AS (" ENR_RESOLVED ")," \
	" nx AS (SELECT x.* FROM x WHERE NOT EXISTS (SELECT 1 FROM aggregation_members m" \
	"  WHERE m.der_id = x.der AND m.aggregation_id = x.agg AND m.effective_from = x.f))," \
	" mx AS (SELECT m.aggregation_id, m.der_id, m.effective_from, m.effective_to," \
	"  m.iso_market_id, s.line AS sline, s.t AS st FROM aggregation_members m" \
	"  LEFT JOIN x s ON s.der = m.der_id AND s.agg = m.aggregation_id AND s.f = m.effective_from" \
	"  WHERE m.der_id IN (SELECT der FROM x))," \
	" closing AS (SELECT mx.der_id, mx.aggregation_id, mx.effective_from, min(n.f) AS at" \
	"  FROM mx JOIN nx n ON n.der = mx.der_id AND n.market = mx.iso_market_id" \
	"  AND n.f > mx.effective_from WHERE mx.effective_to IS NULL AND mx.sline IS NULL" \
	"  GROUP BY 1, 2, 3)," \
	" adj AS (SELECT mx.*, CASE WHEN mx.effective_to IS NOT NULL THEN mx.effective_to" \
	"  WHEN mx.sline IS NOT NULL THEN mx.st ELSE c.at END AS new_to FROM mx" \
	"  LEFT JOIN closing c USING (der_id, aggregation_id, effective_from))"

static const char *const enr_upsert_checks[] = {
	"SELECT x.line, 'effective_to', format('the enrollment of DER \"%s\" in this aggregation"
	" from %s already ends at %s; history is never rewritten', x.ext, m.effective_from,"
	" m.effective_to) FROM (" ENR_RESOLVED ") x JOIN aggregation_members m"
	" ON m.der_id = x.der AND m.aggregation_id = x.agg AND m.effective_from = x.f"
	" WHERE m.effective_to IS NOT NULL AND m.effective_to IS DISTINCT FROM x.t",
	ENR_UPSERT_CTE
	" SELECT n.line, 'der_id', format('DER \"%s\" is already in aggregation %s of that market"
	" from %s', n.ext, a.aggregation_id, a.effective_from) FROM nx n JOIN adj a"
	" ON a.der_id = n.der AND a.iso_market_id = n.market"
	" AND tstzrange(a.effective_from, a.new_to, '[)') && tstzrange(n.f, n.t, '[)')",
	NULL
};

static const char *const enr_upsert[] = {
	ENR_UPSERT_CTE
	" UPDATE aggregation_members m SET effective_to = a.new_to FROM adj a"
	" WHERE m.der_id = a.der_id AND m.aggregation_id = a.aggregation_id"
	" AND m.effective_from = a.effective_from AND m.effective_to IS NULL"
	" AND a.new_to IS NOT NULL",
	"INSERT INTO aggregation_members (aggregation_id, der_id, effective_from,"
	" effective_to, iso_market_id)"
	" SELECT agg, der, f, t, market FROM (" ENR_RESOLVED ") x WHERE NOT EXISTS ("
	" SELECT 1 FROM aggregation_members m WHERE m.der_id = x.der"
	" AND m.aggregation_id = x.agg AND m.effective_from = x.f) ORDER BY line",
	NULL
};

static const import_kind kinds[] = {
	{"feeders", feeder_cols, 2, NULL, feeder_checks, feeder_insert_checks, NULL,
		"INSERT INTO feeders (name, hosting_capacity_kw)"
		" SELECT name, hosting_capacity_kw::float8 FROM fleet_in ORDER BY line", feeder_upsert},
	{"markets", market_cols, 4, market_rule, market_checks, market_insert_checks,
		market_upsert_checks,
		"INSERT INTO iso_markets (name, kind, min_size_kw, allow_dual_participation)"
		" SELECT name, coalesce(kind, 'wholesale'), coalesce(min_size_kw::float8, 100),"
		" coalesce(allow_dual_participation::boolean, false) FROM fleet_in ORDER BY line",
	market_upsert},
	{"aggregations", agg_cols, 8, NULL, agg_checks, NULL, NULL,
		"INSERT INTO aggregations (tenant_id, name, iso_market_id, iso_resource_id,"
		" pricing_node, min_size_kw, effective_from, effective_to)"
		" SELECT t.id, i.name, m.id, i.iso_resource_id, i.pricing_node, i.min_size_kw::float8,"
		" i.effective_from::timestamptz, i.effective_to::timestamptz"
		" FROM fleet_in i JOIN tenants t ON t.name = i.tenant"
		" JOIN iso_markets m ON m.name = i.market ORDER BY i.line", NULL},
	{"sites", site_cols, 7, NULL, site_checks, site_insert_checks, site_upsert_checks,
		"INSERT INTO sites (meter_id, tenant_id, address, feeder_id, transformer,"
		" pricing_node, time_zone)"
		" SELECT i.meter_id, t.id, i.address, f.id, i.transformer, i.pricing_node, i.time_zone"
		" FROM fleet_in i JOIN feeders f ON f.name = i.feeder"
		" LEFT JOIN tenants t ON t.name = i.tenant ORDER BY i.line", site_upsert},
	{"ders", der_cols, 19, der_rule, der_checks, der_insert_checks, der_upsert_checks,
		DER_INSERT, der_upsert},
	{"enrollments", enr_cols, 5, NULL, enr_checks, enr_insert_checks, enr_upsert_checks,
		"INSERT INTO aggregation_members (aggregation_id, der_id, effective_from,"
		" effective_to, iso_market_id)"
		" SELECT agg, der, f, t, market FROM (" ENR_RESOLVED ") x ORDER BY line", enr_upsert},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const import_kind *
find_kind(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(kinds[i].name, name) == 0)
			return &kinds[i];
	return NULL;
}

const char *
fleet_import_header(arena *a, const char *kind)
{
	const import_kind *k = find_kind(kind);
	char	   *s = NULL;

	if (k == NULL)
		return NULL;
	for (size_t i = 0; i < k->ncols; i++)
		s = arena_printf(a, "%s%s%s", s ? s : "", s ? "," : "", k->cols[i].name);
	return s;
}

/* ---- error collection ---- */

static int
col_order(const import_kind *k, const char *field)
{
	for (size_t i = 0; i < k->ncols; i++)
		if (strcmp(k->cols[i].name, field) == 0)
			return (int) i;
	return -1;
}

static void
add_error(import_ctx *x, long line, const char *field, const char *reason)
{
	err_node   *n = arena_alloc(x->a, sizeof(*n));

	if (n == NULL)
		return;
	n->e.line = line;
	n->e.field = arena_strdup(x->a, field);
	n->e.reason = arena_strdup(x->a, reason);
	n->order = col_order(x->k, field);
	n->next = x->head;
	x->head = n;
	x->n++;
}

static int
cmp_error(const void *pa, const void *pb)
{
	const err_node *a = *(err_node * const *) pa;
	const err_node *b = *(err_node * const *) pb;

	if (a->e.line != b->e.line)
		return a->e.line < b->e.line ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	return strcmp(a->e.reason, b->e.reason);
}

static void
finish_errors(import_ctx *x, fleet_import_result *res)
{
	err_node  **v;
	size_t		i = 0;

	res->nerrors = 0;
	res->errors = NULL;
	if (x->n == 0)
		return;
	v = malloc(x->n * sizeof(*v));
	res->errors = arena_alloc(x->a, x->n * sizeof(*res->errors));
	if (v == NULL || res->errors == NULL)
	{
		free(v);
		return;
	}
	for (err_node *n = x->head; n; n = n->next)
		v[i++] = n;
	qsort(v, x->n, sizeof(*v), cmp_error);
	for (i = 0; i < x->n; i++)
		res->errors[i] = v[i]->e;
	res->nerrors = x->n;
	free(v);
}

/* ---- field and record rules ---- */

static bool
check_field(import_ctx *x, long line, const import_col *col, const char *v)
{
	const char *why = NULL;
	double		d;

	if (v[0] == '\0')
	{
		if (col->required)
			why = "is required";
	}
	else
		switch (col->type)
		{
			case COL_TEXT:
				break;
			case COL_NONNEG:
				if (!fleet_value_number(v, &d))
					why = "is not a number";
				else if (d < 0)
					why = "must not be negative";
				break;
			case COL_FRACTION:
				if (!fleet_value_number(v, &d) || d <= 0 || d > 1)
					why = "must be a number in (0, 1]";
				break;
			case COL_DATE:
				if (!fleet_value_date(v))
					why = "is not a date (YYYY-MM-DD)";
				break;
			case COL_TIME:
				if (!fleet_value_time(v))
					why = "is not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)";
				break;
			case COL_LFDI:
				if (!fleet_value_lfdi(v, NULL))
					why = "is not a 40-digit hexadecimal LFDI";
				break;
			case COL_BOOL:
				if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
					why = "must be true or false";
				break;
			case COL_ENUM:
				why = "is not one of the allowed values";
				for (const char *const *e = col->values; *e; e++)
					if (strcmp(*e, v) == 0)
						why = NULL;
				break;
		}
	if (why == NULL)
		return true;
	add_error(x, line, col->name,
			  arena_printf(x->a, "\"%s\" %s", v, why));
	return false;
}

static double
num(const char *s)
{
	return s[0] ? strtod(s, NULL) : -1;
}

static void
market_rule(import_ctx *x, long line, const char *const *f)
{
	if (strcmp(f[3], "true") == 0 && strcmp(f[1], "retail") != 0)
		add_error(x, line, "allow_dual_participation",
				  "only a retail program may allow dual participation");
}

static void
der_rule(import_ctx *x, long line, const char *const *f)
{
	double		kw = num(f[D_KW]);
	static const struct
	{
		int			col;
		const char *what;
	}			limits[] = {
		{D_CHG, "charge limit"},
		{D_DIS, "discharge limit"},
		{D_EXPORT, "export cap"},
	};

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		if (num(f[limits[i].col]) > kw)
			add_error(x, line, der_cols[limits[i].col].name,
					  arena_printf(x->a, "%s %s kW exceeds nameplate %s kW",
								   limits[i].what, f[limits[i].col], f[D_KW]));
	if (f[D_KVA][0] && num(f[D_KVA]) < kw)
		add_error(x, line, "nameplate_kva",
				  arena_printf(x->a, "nameplate %s kVA is below nameplate %s kW",
							   f[D_KVA], f[D_KW]));
	if (strcmp(f[D_ICS], "interconnected") == 0 && f[D_ICD][0] == '\0')
		add_error(x, line, "interconnection_date", "is required when interconnected");
	if (f[D_RES][0] && f[D_VEN][0] == '\0')
		add_error(x, line, "ven_name", "is required when resource_name is given");
}

/* ---- COPY ---- */

typedef struct copybuf
{
	char	   *p;
	size_t		len;
	size_t		cap;
} copybuf;

static bool
cb_put(copybuf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap)
	{
		size_t		cap = (b->len + n) * 2;
		char	   *np = realloc(b->p, cap);

		if (np == NULL)
			return false;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return true;
}

/* One value in COPY text format. */
static bool
cb_value(copybuf *b, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return cb_put(b, "\\N", 2);
	for (const char *s = v; *s; s++)
	{
		const char *esc = NULL;

		switch (*s)
		{
			case '\\':
				esc = "\\\\";
				break;
			case '\t':
				esc = "\\t";
				break;
			case '\n':
				esc = "\\n";
				break;
			case '\r':
				esc = "\\r";
				break;
		}
		if (esc ? !cb_put(b, esc, 2) : !cb_put(b, s, 1))
			return false;
	}
	return true;
}

static derms_rc
copy_flush(PGconn *c, copybuf *b, derms_err *err)
{
	if (b->len > 0 && PQputCopyData(c, b->p, (int) b->len) != 1)
		return derms_err_set(err, DERMS_EDB, "COPY failed: %s", PQerrorMessage(c));
	b->len = 0;
	return DERMS_OK;
}

static derms_rc
copy_end(PGconn *c, derms_err *err)
{
	PGresult   *r;
	derms_rc	rc = DERMS_OK;

	if (PQputCopyEnd(c, NULL) != 1)
		rc = derms_err_set(err, DERMS_EDB, "COPY failed: %s", PQerrorMessage(c));
	while ((r = PQgetResult(c)) != NULL)
	{
		if (PQresultStatus(r) != PGRES_COMMAND_OK && rc == DERMS_OK)
			rc = derms_err_set(err, DERMS_EDB, "COPY failed: %s",
							   PQresultErrorMessage(r));
		PQclear(r);
	}
	return rc;
}

/* ---- the import ---- */

static derms_rc
create_temp(PGconn *c, arena *a, const import_kind *k, derms_err *err)
{
	char	   *sql = arena_strdup(a, "CREATE TEMP TABLE fleet_in (line integer NOT NULL");

	for (size_t i = 0; i < k->ncols; i++)
		sql = arena_printf(a, "%s, %s text", sql, k->cols[i].name);
	sql = arena_printf(a, "%s) ON COMMIT DROP", sql);
	return fleet_sql_exec(c, a, sql, 0, NULL, NULL, err) ? DERMS_OK : err->code;
}

/* Read every record, check it, COPY the good ones. */
static derms_rc
load_records(PGconn *c, import_ctx *x, const char *data, size_t len,
			 fleet_import_result *res, derms_err *err)
{
	const import_kind *k = x->k;
	fleet_csv	csv;
	fleet_csv_record rec;
	derms_err	perr;
	copybuf		b = {NULL, 0, 0};
	derms_rc	rc;
	PGresult   *r;
	bool		header = true;

	r = PQexec(c, "COPY fleet_in FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN)
	{
		derms_err_set(err, DERMS_EDB, "COPY failed: %s", PQerrorMessage(c));
		PQclear(r);
		return err->code;
	}
	PQclear(r);
	fleet_csv_init(&csv, data, len);
	while ((rc = fleet_csv_next(&csv, &rec, &perr)) != DERMS_ENOTFOUND)
	{
		bool		ok = true;
		char		lfdi[41];
		const char *vals[FLEET_CSV_MAX_FIELDS];
		size_t		before = x->n;

		if (rc == DERMS_ENOMEM)
		{
			derms_err_set(err, DERMS_ENOMEM, "out of memory");
			break;
		}
		if (rc != DERMS_OK)
		{
			add_error(x, rec.line, header ? "(header)" : "(record)", perr.msg);
			if (header)
				break;
			res->rows++;
			continue;
		}
		if (header)
		{
			bool		same = rec.nfields == k->ncols;

			for (size_t i = 0; same && i < k->ncols; i++)
				same = strcmp(rec.fields[i], k->cols[i].name) == 0;
			if (!same)
			{
				add_error(x, rec.line, "(header)",
						  arena_printf(x->a, "expected the columns %s",
									   fleet_import_header(x->a, k->name)));
				break;
			}
			header = false;
			continue;
		}
		res->rows++;
		if (rec.nfields != k->ncols)
		{
			add_error(x, rec.line, "(record)",
					  arena_printf(x->a, "expected %zu fields, found %zu",
								   k->ncols, rec.nfields));
			continue;
		}
		for (size_t i = 0; i < k->ncols; i++)
		{
			vals[i] = rec.fields[i];
			if (!check_field(x, rec.line, &k->cols[i], rec.fields[i]))
				ok = false;
			else if (k->cols[i].type == COL_LFDI && rec.fields[i][0])
			{
				fleet_value_lfdi(rec.fields[i], lfdi);
				vals[i] = lfdi;
			}
		}
		if (ok && k->rule)
			k->rule(x, rec.line, vals);
		if (!ok || x->n != before)
			continue;
		{
			char		ln[24];
			int			n = snprintf(ln, sizeof(ln), "%ld", rec.line);
			bool		put = cb_put(&b, ln, (size_t) n);

			for (size_t i = 0; put && i < k->ncols; i++)
				put = cb_put(&b, "\t", 1) && cb_value(&b, vals[i]);
			if (!put || !cb_put(&b, "\n", 1))
			{
				derms_err_set(err, DERMS_ENOMEM, "out of memory");
				rc = DERMS_ENOMEM;
				break;
			}
		}
		if (b.len >= 1 << 20 && copy_flush(c, &b, err) != DERMS_OK)
		{
			rc = err->code;
			break;
		}
	}
	fleet_csv_free(&csv);
	if (header && x->n == 0)
		add_error(x, 1, "(header)", "the file is empty");
	if (rc == DERMS_ENOTFOUND || rc == DERMS_OK || rc == DERMS_EPARSE)
		rc = copy_flush(c, &b, err);
	free(b.p);
	if (copy_end(c, rc == DERMS_OK ? err : NULL) != DERMS_OK && rc == DERMS_OK)
		rc = err->code;
	return rc;
}

bool
fleet_import_parse_mode(const char *s, fleet_import_mode *out)
{
	if (s && strcmp(s, "insert") == 0)
		*out = FLEET_IMPORT_INSERT;
	else if (s && strcmp(s, "upsert") == 0)
		*out = FLEET_IMPORT_UPSERT;
	else
		return false;
	return true;
}

/* Run the checks of list (may be NULL), collecting their errors. */
static derms_rc
run_checks(PGconn *c, import_ctx *x, const char *const *list, derms_err *err)
{
	PGresult   *r;

	for (const char *const *q = list; q && *q; q++)
	{
		if ((r = fleet_sql_exec(c, x->a, *q, 0, NULL, NULL, err)) == NULL)
			return err->code;
		for (int i = 0; i < PQntuples(r); i++)
			add_error(x, strtol(PQgetvalue(r, i, 0), NULL, 10), PQgetvalue(r, i, 1),
					  PQgetvalue(r, i, 2));
	}
	return DERMS_OK;
}

derms_rc
fleet_import(PGconn *c, arena *a, const char *kind, fleet_import_mode mode,
			 const char *data, size_t len, const char *actor, const char *source,
			 fleet_import_result *res, derms_err *err)
{
	import_ctx	x;
	PGresult   *r;
	bool		upsert = mode == FLEET_IMPORT_UPSERT;

	assert(res != NULL && actor != NULL);
	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.k = find_kind(kind);
	if (x.k == NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "unknown import kind \"%s\": use feeders, markets, aggregations, sites, ders or enrollments",
							 kind);
	if (upsert && x.k->upsert_apply == NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "mode: %s can only be inserted (upsert covers feeders, markets, sites, ders and enrollments)",
							 kind);
	if (fleet_sql_begin(c, a, err) != DERMS_OK)
		return err->code;
	if (create_temp(c, a, x.k, err) != DERMS_OK ||
		load_records(c, &x, data, len, res, err) != DERMS_OK)
		goto fail;
	if (run_checks(c, &x, x.k->checks, err) != DERMS_OK ||
		run_checks(c, &x, upsert ? x.k->upsert_checks : x.k->insert_checks, err) != DERMS_OK)
		goto fail;
	if (x.n > 0)
	{
		fleet_sql_rollback(c);
		finish_errors(&x, res);
		return derms_err_set(err, DERMS_EINVAL, "%zu bad record%s in %s; nothing imported",
							 x.n, x.n == 1 ? "" : "s", source ? source : kind);
	}
	if (!upsert && fleet_sql_exec(c, a, x.k->apply, 0, NULL, NULL, err) == NULL)
		goto fail;
	for (const char *const *q = x.k->upsert_apply; upsert && *q; q++)
		if (fleet_sql_exec(c, a, *q, 0, NULL, NULL, err) == NULL)
			goto fail;
	{
		const char *p[3] = {source ? source : "-", fleet_sql_i64(a, (int64_t) res->rows),
		upsert ? "upsert" : "insert"};

		if ((r = fleet_sql_exec(c, a,
								"SELECT jsonb_build_object('source', $1::text, 'rows', $2::bigint,"
								" 'mode', $3::text)::text",
								3, p, NULL, err)) == NULL ||
			fleet_sql_audit(c, a, actor, arena_printf(a, "fleet.import.%s", kind), kind,
							PQgetvalue(r, 0, 0), err) != DERMS_OK)
			goto fail;
	}
	if (fleet_sql_commit(c, a, err) != DERMS_OK)
		goto fail;
	return DERMS_OK;
fail:
	fleet_sql_rollback(c);
	return err->code;
}
