/*
 * protocols/sep2/derp.c
 *	  IEEE 2030.5 DER programs and controls, per EndDevice:
 *	    /edev/{e}/fsa, /edev/{e}/fsa/0        FunctionSetAssignments
 *	    /edev/{e}/derp, /edev/{e}/derp/{p}    DERProgramList, DERProgram
 *	    .../derp/{p}/derc, .../derc/{c}       DERControlList, DERControl
 *	    .../derp/{p}/actderc                  active controls
 *	    .../derp/{p}/dderc                    DefaultDERControl
 *	    /edev/{e}/rsp (POST)                  responses to controls
 *	  and the operator's JSON API on the VTN listener that creates programs
 *	  and controls and cancels them.
 *
 * NOTES
 *	  Runs in sep2 and vtn workers; memory comes from the request arena.
 *	  Visibility is the EndDevice's (edev.c); a program is served under an
 *	  EndDevice only if its scope covers that device (PROGRAMS_OF_EDEV).
 *	  Event status is derived when served, from the rows and the clock:
 *	  cancelled (cancelled_at set), superseded (a later-created, not
 *	  cancelled control of the same program overlaps it), active (now in
 *	  its interval), else scheduled.  potentiallySuperseded marks an
 *	  overlap with a control of another applicable program of better
 *	  (lower) primacy.  Controls whose interval has ended are not listed.
 *	  Lists are ordered by interval start, then creation time descending.
 *	  Every change through the API is audited in its own transaction.
 */
#include "derp.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/rand.h>

#include "protocols/sep2/edev.h"
#include "protocols/sep2/sub.h"
#include "protocols/sep2/xml.h"

#define SEP2_CT "application/sep+xml"
#define JSON_CT "application/json"

#define LINK(n) {n, false, SEP2_V_LINK, NULL, false}
#define AUS(n) {"csipaus:" n, false, 0, sep2_power_i, false}

/* Curve-based modes (SEP2_V_LINK) hold a der_curves id (curve.c). */
const sep2_elem sep2_derc_base_elems[] = {
	{"opModConnect", false, SEP2_V_BOOL, NULL, false},
	{"opModEnergize", false, SEP2_V_BOOL, NULL, false},
	{"opModFixedW", false, SEP2_V_SPCT, NULL, false},
	LINK("opModFreqWatt"),
	LINK("opModHFRTMayTrip"),
	LINK("opModHFRTMustTrip"),
	LINK("opModHVRTMayTrip"),
	LINK("opModHVRTMomentaryCessation"),
	LINK("opModHVRTMustTrip"),
	LINK("opModLFRTMayTrip"),
	LINK("opModLFRTMustTrip"),
	LINK("opModLVRTMayTrip"),
	LINK("opModLVRTMomentaryCessation"),
	LINK("opModLVRTMustTrip"),
	{"opModMaxLimW", false, SEP2_V_PCT, NULL, false},
	{"opModTargetVar", false, 0, sep2_power_i, false},
	{"opModTargetW", false, 0, sep2_power_i, false},
	LINK("opModVoltVar"),
	LINK("opModVoltWatt"),
	LINK("opModWattPF"),
	LINK("opModWattVar"),
	{"rampTms", false, SEP2_V_U16, NULL, false},
	/* CSIP-AUS v1.3 dynamic operating envelopes (ActivePower) */
	AUS("opModImpLimW"),
	AUS("opModExpLimW"),
	AUS("opModGenLimW"),
	AUS("opModLoadLimW"),
	AUS("opModStorageTargetW"),
	{NULL, false, 0, NULL, false}
};

#undef LINK
#undef AUS

/*
 * Where EndDevice e is enrolled now: the tenants whose aggregations hold a
 * DER with its LFDI (the reverse of fleet_enrolled_lfdis()), and the
 * aggregations holding a DER with its LFDI or linked to it.  Index lookups
 * from e (der_resources_lfdi_key, der_resources_end_device_id_idx,
 * aggregation_members by der_id, aggregations_pkey), once per request
 * rather than once per program.
 */
#define ENROLLMENTS_OF_EDEV \
	"SELECT array_agg(DISTINCT g.tenant_id) FILTER (WHERE d.lfdi = e.lfdi) AS tenants," \
	" array_agg(DISTINCT m.aggregation_id) AS aggregations FROM der_resources d" \
	" JOIN aggregation_members m ON m.der_id = d.id JOIN aggregations g ON g.id = m.aggregation_id" \
	" WHERE (d.lfdi = e.lfdi OR d.end_device_id = e.id) AND m.effective_from <= now()" \
	" AND (m.effective_to IS NULL OR m.effective_to > now())"

/* Programs whose scope covers EndDevice $1: a tenant's reach the devices
 * it registered and those enrolled now in its aggregations. */
#define PROGRAMS_OF_EDEV \
	"SELECT p.* FROM der_programs p JOIN end_devices e ON e.id = $1" \
	" CROSS JOIN LATERAL (" ENROLLMENTS_OF_EDEV ") t WHERE" \
	" p.scope_kind = 'all'" \
	" OR (p.scope_kind = 'tenant' AND (p.scope_id = e.tenant_id OR p.scope_id = ANY (t.tenants)))" \
	" OR (p.scope_kind = 'end_device' AND p.scope_id = e.id)" \
	" OR (p.scope_kind = 'aggregation' AND p.scope_id = ANY (t.aggregations))"

/* Controls of program $2 (under EndDevice $1) with their derived status. */
#define CONTROLS_OF_PROGRAM \
	"WITH progs AS (" PROGRAMS_OF_EDEV "), now_s AS (SELECT extract(epoch FROM now())::bigint AS t)" \
	" SELECT c.id, c.mrid, c.description, extract(epoch FROM c.creation_time)::bigint," \
	"  c.start_time, c.duration_s, c.randomize_start, c.randomize_duration, c.base," \
	"  CASE WHEN c.cancelled_at IS NOT NULL THEN 2 WHEN sup.id IS NOT NULL THEN 4" \
	"   WHEN n.t >= c.start_time THEN 1 ELSE 0 END AS status," \
	"  CASE WHEN c.cancelled_at IS NOT NULL THEN extract(epoch FROM c.cancelled_at)::bigint" \
	"   WHEN sup.id IS NOT NULL THEN extract(epoch FROM sup.creation_time)::bigint" \
	"   WHEN n.t >= c.start_time THEN c.start_time" \
	"   ELSE extract(epoch FROM c.creation_time)::bigint END AS status_time," \
	"  EXISTS (SELECT 1 FROM der_controls o JOIN progs op ON op.id = o.program_id" \
	"   WHERE op.id <> p.id AND op.primacy < p.primacy AND o.cancelled_at IS NULL" \
	"   AND o.start_time < c.start_time + c.duration_s AND c.start_time < o.start_time + o.duration_s)" \
	"   AS potentially_superseded" \
	" FROM der_controls c JOIN progs p ON p.id = c.program_id CROSS JOIN now_s n" \
	" LEFT JOIN LATERAL (SELECT o.id, o.creation_time FROM der_controls o" \
	"  WHERE o.program_id = c.program_id AND o.id <> c.id AND o.cancelled_at IS NULL" \
	"  AND (o.creation_time, o.id) > (c.creation_time, c.id)" \
	"  AND o.start_time < c.start_time + c.duration_s AND c.start_time < o.start_time + o.duration_s" \
	"  ORDER BY o.creation_time LIMIT 1) sup ON true" \
	" WHERE c.program_id = $2 AND c.start_time + c.duration_s > n.t"

static void
xw_link(sep2_xw *w, const char *name, const char *href)
{
	sep2_xw_open(w, name, "href", href, (char *) NULL);
	sep2_xw_close(w);
}

/* ---- FunctionSetAssignments ---- */

static void
write_fsa(sep2_xw *w, const char *e, bool root)
{
	char		href[64], derp[64], mrid[40];

	snprintf(mrid, sizeof(mrid), "%032llX", (unsigned long long) strtoull(e, NULL, 10));
	snprintf(href, sizeof(href), "/edev/%s/fsa/0", e);
	snprintf(derp, sizeof(derp), "/edev/%s/derp", e);
	if (root)
		sep2_xw_open(w, "FunctionSetAssignments", "href", href, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, "FunctionSetAssignments", "href", href, (char *) NULL);
	xw_link(w, "DERProgramListLink", derp);
	xw_link(w, "TimeLink", "/tm");
	sep2_xw_text(w, "mRID", mrid);
	sep2_xw_close(w);
}

int
sep2_fsa_list_get(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sep2_xw    *w;
	char		href[64];

	if (e == NULL)
		return status;
	snprintf(href, sizeof(href), "/edev/%s/fsa", req->params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "FunctionSetAssignmentsList", "href", href, "subscribable", SEP2_SUB_YES,
				 (char *) NULL);
	sep2_xw_list_attrs(w, 1, 1);
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_der_poll_rate_s);
	write_fsa(w, req->params[0], false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_fsa_get(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sep2_xw    *w;

	if (e == NULL)
		return status;
	if (strcmp(req->params[1], "0") != 0)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	w = sep2_xw_new(req->arena);
	write_fsa(w, req->params[0], true);
	return sep2_reply_xml(req, w, 200);
}

/* ---- programs ---- */

#define PROGRAM_COLUMNS "p.id, p.mrid, p.description, p.primacy, p.default_base IS NOT NULL, p.default_base"

static void
write_program(sep2_xw *w, const char *e, PGresult *r, int row, bool root)
{
	char		href[96], l[128];
	const char *id = PQgetvalue(r, row, 0);

	snprintf(href, sizeof(href), "/edev/%s/derp/%s", e, id);
	if (root)
		sep2_xw_open(w, "DERProgram", "href", href, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, "DERProgram", "href", href, (char *) NULL);
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	if (!PQgetisnull(r, row, 2))
		sep2_xw_text(w, "description", PQgetvalue(r, row, 2));
	snprintf(l, sizeof(l), "%s/actderc", href);
	xw_link(w, "ActiveDERControlListLink", l);
	if (PQgetvalue(r, row, 4)[0] == 't')
	{
		snprintf(l, sizeof(l), "%s/dderc", href);
		xw_link(w, "DefaultDERControlLink", l);
	}
	snprintf(l, sizeof(l), "%s/derc", href);
	xw_link(w, "DERControlListLink", l);
	snprintf(l, sizeof(l), "%s/dc", href);
	xw_link(w, "DERCurveListLink", l);
	sep2_xw_text(w, "primacy", PQgetvalue(r, row, 3));
	sep2_xw_close(w);
}

int
sep2_derp_list_get(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[3];
	PGresult   *rows;
	uint32_t	all;
	sep2_xw    *w;
	char		href[64];

	if (e == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = req->params[0];
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	/* ordered by primacy, then mRID; count(*) OVER gives all */
	rows = db_exec(req->db, req->arena,
				   "SELECT " PROGRAM_COLUMNS ", count(*) OVER () FROM (" PROGRAMS_OF_EDEV ") p"
				   " ORDER BY p.primacy, p.mrid OFFSET $2 LIMIT $3", 3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(rows) > 0)
		all = (uint32_t) strtoul(PQgetvalue(rows, 0, 6), NULL, 10);
	else
	{
		PGresult   *c = db_exec(req->db, req->arena,
								"SELECT count(*) FROM (" PROGRAMS_OF_EDEV ") p", 1, params, NULL, &err);

		if (c == NULL)
			return http_db_error(req, NULL, &err);
		all = (uint32_t) strtoul(PQgetvalue(c, 0, 0), NULL, 10);
	}
	snprintf(href, sizeof(href), "/edev/%s/derp", req->params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DERProgramList", "href", href, "subscribable", SEP2_SUB_YES, (char *) NULL);
	sep2_xw_list_attrs(w, all, (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_der_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_program(w, req->params[0], rows, i, false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* The program {p} under visible EndDevice {e}: its row, or NULL after answering. */
static PGresult *
program_or_answer(http_request *req, int *status)
{
	PGresult   *e = sep2_edev_fetch(req, req->params[0], status);
	const char *params[2] = {req->params[0], req->params[1]};

	if (e == NULL)
		return NULL;
	return sep2_fetch_one(req, req->params[1],
						  "SELECT " PROGRAM_COLUMNS " FROM (" PROGRAMS_OF_EDEV ") p WHERE p.id = $2",
						  2, params, status);
}

PGresult *
sep2_derp_fetch(http_request *req, int *status)
{
	return program_or_answer(req, status);
}

int
sep2_derp_get(http_request *req)
{
	int			status;
	PGresult   *p = program_or_answer(req, &status);
	sep2_xw    *w;

	if (p == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_program(w, req->params[0], p, 0, true);
	return sep2_reply_xml(req, w, 200);
}

/* ---- controls ---- */

/* The DERControlBase of a control or default control of program p under
 * EndDevice e: curve links point at the program's DERCurves there. */
static void
write_base(sep2_xw *w, const char *e, const char *p, const char *json_text)
{
	json_error_t jerr;
	json_t	   *base = json_loads(json_text, 0, &jerr);
	char		curves[96];

	snprintf(curves, sizeof(curves), "/edev/%s/derp/%s/dc/", e, p);
	sep2_xw_open(w, "DERControlBase", (char *) NULL);
	if (base)
		sep2_doc_write_links(w, sep2_derc_base_elems, base, curves);
	json_decref(base);
	sep2_xw_close(w);
}

static void
write_control(sep2_xw *w, const char *e, const char *p, PGresult *r, int row,
			  bool root)
{
	char		href[128], rsp[64];

	snprintf(href, sizeof(href), "/edev/%s/derp/%s/derc/%s", e, p, PQgetvalue(r, row, 0));
	snprintf(rsp, sizeof(rsp), "/edev/%s/rsp", e);
	sep2_xw_open(w, "DERControl", "href", href, "replyTo", rsp, "responseRequired", "03",
				 (char *) NULL);
	if (root)
		sep2_xw_attr(w, "subscribable", "0");
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	if (!PQgetisnull(r, row, 2))
		sep2_xw_text(w, "description", PQgetvalue(r, row, 2));
	sep2_xw_text(w, "creationTime", PQgetvalue(r, row, 3));
	sep2_xw_open(w, "EventStatus", (char *) NULL);
	sep2_xw_text(w, "currentStatus", PQgetvalue(r, row, 9));
	sep2_xw_text(w, "dateTime", PQgetvalue(r, row, 10));
	sep2_xw_bool(w, "potentiallySuperseded", PQgetvalue(r, row, 11)[0] == 't');
	sep2_xw_close(w);
	sep2_xw_open(w, "interval", (char *) NULL);
	sep2_xw_text(w, "duration", PQgetvalue(r, row, 5));
	sep2_xw_text(w, "start", PQgetvalue(r, row, 4));
	sep2_xw_close(w);
	if (!PQgetisnull(r, row, 7))
		sep2_xw_text(w, "randomizeDuration", PQgetvalue(r, row, 7));
	if (!PQgetisnull(r, row, 6))
		sep2_xw_text(w, "randomizeStart", PQgetvalue(r, row, 6));
	write_base(w, e, p, PQgetvalue(r, row, 8));
	sep2_xw_close(w);
}

static int
control_list(http_request *req, bool active_only)
{
	int			status;
	PGresult   *p = program_or_answer(req, &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[2];
	PGresult   *rows;
	sep2_xw    *w;
	char		href[128];
	uint32_t	all = 0, results = 0;

	if (p == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = req->params[0];
	params[1] = req->params[1];
	rows = db_exec(req->db, req->arena,
				   arena_printf(req->arena, "SELECT * FROM (" CONTROLS_OF_PROGRAM ") x%s"
								" ORDER BY start_time, 4 DESC, id DESC",
								active_only ? " WHERE status = 1" : ""),
				   2, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	all = (uint32_t) PQntuples(rows);
	snprintf(href, sizeof(href), "/edev/%s/derp/%s/%s", req->params[0], req->params[1],
			 active_only ? "actderc" : "derc");
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DERControlList", "href", href, "subscribable",
				 active_only ? "0" : SEP2_SUB_YES, (char *) NULL);
	results = sep2_page_results(&pg, all);
	sep2_xw_list_attrs(w, all, results);
	for (uint32_t i = pg.start; i < pg.start + results; i++)
		write_control(w, req->params[0], req->params[1], rows, (int) i, false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_derc_list_get(http_request *req)
{
	return control_list(req, false);
}

int
sep2_derc_active_get(http_request *req)
{
	return control_list(req, true);
}

int
sep2_derc_get(http_request *req)
{
	int			status;
	PGresult   *p = program_or_answer(req, &status);
	const char *params[3] = {req->params[0], req->params[1], req->params[2]};
	PGresult   *r;
	sep2_xw    *w;

	if (p == NULL)
		return status;
	r = sep2_fetch_one(req, req->params[2],
					   "SELECT * FROM (" CONTROLS_OF_PROGRAM ") x WHERE id = $3", 3, params,
					   &status);
	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_control(w, req->params[0], req->params[1], r, 0, true);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_dderc_get(http_request *req)
{
	int			status;
	PGresult   *p = program_or_answer(req, &status);
	sep2_xw    *w;

	if (p == NULL)
		return status;
	if (PQgetvalue(p, 0, 4)[0] != 't')
		return http_error(req, 404, "this program has no default control");
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DefaultDERControl", "href", req->path, "subscribable", SEP2_SUB_YES,
				 (char *) NULL);
	sep2_xw_text(w, "mRID", PQgetvalue(p, 0, 1));
	write_base(w, req->params[0], req->params[1], PQgetvalue(p, 0, 5));
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* ---- responses ---- */

int
sep2_rsp_post(http_request *req)
{
	static const sep2_elem rsp_elems[] = {
		{"createdDateTime", false, SEP2_V_TIME, NULL, false},
		{"endDeviceLFDI", true, SEP2_V_HEX20, NULL, false},
		{"status", false, SEP2_V_U8, NULL, false},
		{"subject", true, SEP2_V_HEX16, NULL, false},
		{NULL, false, 0, NULL, false}
	};
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	json_t	   *j;
	const char *params[5];
	PGresult   *c;

	if (e == NULL)
		return status;
	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *) root->name, "DERControlResponse") != 0 &&
		strcmp((const char *) root->name, "Response") != 0)
		return http_error(req, 400, "expected <DERControlResponse>, not <%s>",
						  (const char *) root->name);
	if ((j = json_object()) == NULL)
		return http_error(req, 500, "out of memory");
	sep2_json_own(req, j);
	if (sep2_doc_parse(req->arena, root, rsp_elems, j, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	if (strcmp(json_string_value(json_object_get(j, "endDeviceLFDI")), PQgetvalue(e, 0, 1)) != 0)
		return http_error(req, 400, "endDeviceLFDI is not this EndDevice's (%s)", PQgetvalue(e, 0, 1));
	/* the subject must be a control served to this device */
	params[0] = req->params[0];
	params[1] = json_string_value(json_object_get(j, "subject"));
	c = db_exec(req->db, req->arena,
				"SELECT c.id FROM der_controls c JOIN (" PROGRAMS_OF_EDEV ") p ON p.id = c.program_id"
				" WHERE c.mrid = $2", 2, params, NULL, &err);
	if (c == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(c) == 0)
		return http_error(req, 400, "subject %s is not a control of this device's programs", params[1]);
	params[0] = PQgetvalue(c, 0, 0);
	params[1] = PQgetvalue(e, 0, 1);
	params[2] = json_object_get(j, "status") ? json_string_value(json_object_get(j, "status")) : "0";
	params[3] = json_object_get(j, "createdDateTime")
		? json_string_value(json_object_get(j, "createdDateTime")) : NULL;
	if (db_exec(req->db, req->arena,
				"INSERT INTO der_control_responses (control_id, end_device_lfdi, status, created_time)"
				" VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", 4, params, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	return http_reply(req, 201, SEP2_CT, "", 0);
}

/* ---- operator API ---- */

static json_t *
json_body(http_request *req, int *status)
{
	json_error_t jerr;
	json_t	   *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
	{
		*status = http_error(req, 400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
		return NULL;
	}
	sep2_json_own(req, j);
	if (!json_is_object(j))
	{
		*status = http_error(req, 400, "expected a JSON object");
		return NULL;
	}
	return j;
}

static bool
new_mrid(char out[33])
{
	unsigned char b[16];

	if (RAND_bytes(b, sizeof(b)) != 1)
		return false;
	for (int i = 0; i < 16; i++)
		snprintf(out + 2 * i, 3, "%02X", b[i]);
	return true;
}

static const char *
actor(http_request *req)
{
	return arena_printf(req->arena, "operator:%s", req->who.id.lfdi);
}

/*
 * Run one write, its audit record and the subscription Notifications it
 * causes (sub.c) in a transaction; returns the first row of the write's
 * result, or NULL after answering.
 */
static PGresult *
write_audited(http_request *req, const char *sql, int n, const char *const *params,
			  const char *action, const char *detail, int *status)
{
	derms_err	err;
	char		state[6];
	PGresult   *r;
	const char *a[4];

	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, &err) == NULL)
	{
		*status = http_db_error(req, NULL, &err);
		return NULL;
	}
	r = db_exec(req->db, req->arena, sql, n, params, state, &err);
	if (r == NULL || PQntuples(r) == 0)
	{
		db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, NULL);
		if (r != NULL)
			*status = http_error(req, 409, "nothing to change");
		else
			*status = http_db_error(req, state, &err);
		return NULL;
	}
	a[0] = actor(req);
	a[1] = action;
	a[2] = PQgetvalue(r, 0, 0);
	a[3] = detail;
	if (db_exec(req->db, req->arena, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, a,
				NULL, &err) == NULL ||
		sep2_sub_changed(req, action, a[2], &err) != DERMS_OK ||
		db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, &err) == NULL)
	{
		db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, NULL);
		*status = http_db_error(req, NULL, &err);
		return NULL;
	}
	return r;
}

PGresult *
sep2_write_audited(http_request *req, const char *sql, int n,
				   const char *const *params, const char *action, int *status)
{
	return write_audited(req, sql, n, params, action, "{}", status);
}

static int
created(http_request *req, PGresult *r)
{
	char	   *body = arena_printf(req->arena, "{\"id\":%s,\"mrid\":\"%s\"}",
									PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));

	return http_reply(req, 201, JSON_CT, body, strlen(body));
}

/* ---- programs and controls from JSON (operator API and dermsctl) ---- */

const char	sep2_program_insert_sql[] =
"INSERT INTO der_programs (mrid, description, primacy, scope_kind, scope_id,"
" default_base, created_by) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)"
" RETURNING id, mrid";

const char	sep2_control_insert_sql[] =
"INSERT INTO der_controls (program_id, mrid, start_time, duration_s,"
" randomize_start, randomize_duration, description, base, created_by)"
" SELECT p.id, $2, $3, $4, $5, $6, $7, $8::jsonb, $9"
" FROM der_programs p WHERE p.id = $1 RETURNING id, mrid";

bool
sep2_new_mrid(char out[33])
{
	return new_mrid(out);
}

/* json_dumps of j into a; NULL on allocation failure. */
static const char *
arena_json_text(arena *a, json_t *j)
{
	char	   *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	char	   *copy = t ? arena_strdup(a, t) : NULL;

	free(t);
	return copy;
}

/* A DERControlBase given as JSON, canonical, as jsonb text into *out. */
static derms_rc
base_from_json(arena *a, const char *what, json_t *in, bool need_one,
			   const char **out, derms_err *err)
{
	json_t	   *base = json_object();
	derms_err	e;

	if (base == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (sep2_doc_from_json(sep2_derc_base_elems, in, base, &e) != DERMS_OK)
	{
		json_decref(base);
		return derms_err_set(err, e.code, "%s: %s", what, e.msg);
	}
	if (need_one && json_object_size(base) == 0)
	{
		json_decref(base);
		return derms_err_set(err, DERMS_EPARSE, "%s: at least one control mode is needed", what);
	}
	*out = arena_json_text(a, base);
	json_decref(base);
	return *out ? DERMS_OK : derms_err_set(err, DERMS_ENOMEM, "out of memory");
}

derms_rc
sep2_program_from_json(arena *a, json_t *j, const char *params[5], derms_err *err)
{
	static const char *const kinds[] = {"all", "tenant", "aggregation", "end_device"};
	json_t	   *scope, *dflt, *v;
	const char *kind = NULL, *key;

	assert(a != NULL && params != NULL);
	if (!json_is_object(j))
		return derms_err_set(err, DERMS_EPARSE, "expected a JSON object");
	json_object_foreach(j, key, v)
		if (strcmp(key, "description") && strcmp(key, "primacy") && strcmp(key, "scope") &&
			strcmp(key, "defaultControl"))
		return derms_err_set(err, DERMS_EPARSE, "unknown field \"%s\"", key);
	v = json_object_get(j, "primacy");
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 255)
		return derms_err_set(err, DERMS_ERANGE, "\"primacy\" must be an integer in 0..255");
	params[1] = arena_printf(a, "%d", (int) json_integer_value(v));
	v = json_object_get(j, "description");
	if (v && (!json_is_string(v) || strlen(json_string_value(v)) > 32))
		return derms_err_set(err, DERMS_EPARSE, "\"description\" must be a string of at most 32 characters");
	params[0] = v ? arena_strdup(a, json_string_value(v)) : NULL;
	scope = json_object_get(j, "scope");
	if (!json_is_object(scope))
		return derms_err_set(err, DERMS_EPARSE, "\"scope\" must be an object with \"kind\" (and \"id\")");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (json_is_string(json_object_get(scope, "kind")) &&
			strcmp(json_string_value(json_object_get(scope, "kind")), kinds[i]) == 0)
			kind = kinds[i];
	if (kind == NULL)
		return derms_err_set(err, DERMS_EPARSE, "\"scope.kind\" must be all, tenant, aggregation or end_device");
	v = json_object_get(scope, "id");
	if (strcmp(kind, "all") == 0 ? v != NULL : (!json_is_integer(v) || json_integer_value(v) <= 0))
		return derms_err_set(err, DERMS_EPARSE, "\"scope.id\" is %s", strcmp(kind, "all") == 0
							 ? "not taken with kind all" : "required: a positive integer");
	params[2] = kind;
	params[3] = v ? arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) : NULL;
	params[4] = NULL;
	if ((dflt = json_object_get(j, "defaultControl")) != NULL &&
		base_from_json(a, "defaultControl", dflt, false, &params[4], err) != DERMS_OK)
		return err->code;
	return DERMS_OK;
}

derms_rc
sep2_control_from_json(arena *a, json_t *j, const char *params[6], derms_err *err)
{
	json_t	   *v;
	const char *key;

	assert(a != NULL && params != NULL);
	if (!json_is_object(j))
		return derms_err_set(err, DERMS_EPARSE, "expected a JSON object");
	json_object_foreach(j, key, v)
		if (strcmp(key, "start") && strcmp(key, "duration") && strcmp(key, "randomizeStart") &&
			strcmp(key, "randomizeDuration") && strcmp(key, "description") && strcmp(key, "base"))
		return derms_err_set(err, DERMS_EPARSE, "unknown field \"%s\"", key);
	v = json_object_get(j, "start");
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return derms_err_set(err, DERMS_EPARSE, "\"start\" must be a UTC time in seconds");
	params[0] = arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	v = json_object_get(j, "duration");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > 4294967295LL)
		return derms_err_set(err, DERMS_ERANGE, "\"duration\" must be a positive number of seconds");
	params[1] = arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	for (int k = 0; k < 2; k++)
	{
		const char *name = k ? "randomizeDuration" : "randomizeStart";

		v = json_object_get(j, name);
		if (v && (!json_is_integer(v) || json_integer_value(v) < -3600 || json_integer_value(v) > 3600))
			return derms_err_set(err, DERMS_ERANGE, "\"%s\" must be an integer in -3600..3600", name);
		params[2 + k] = v ? arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) : NULL;
	}
	v = json_object_get(j, "description");
	if (v && (!json_is_string(v) || strlen(json_string_value(v)) > 32))
		return derms_err_set(err, DERMS_EPARSE, "\"description\" must be a string of at most 32 characters");
	params[4] = v ? arena_strdup(a, json_string_value(v)) : NULL;
	if (json_object_get(j, "base") == NULL)
		return derms_err_set(err, DERMS_EPARSE, "\"base\" is missing: the DERControlBase to apply");
	return base_from_json(a, "base", json_object_get(j, "base"), true, &params[5], err);
}

int
sep2_api_program_post(http_request *req)
{
	int			status;
	json_t	   *j = json_body(req, &status);
	const char *params[7];
	char		mrid[33];
	derms_err	err;
	PGresult   *r;

	if (j == NULL)
		return status;
	if (sep2_program_from_json(req->arena, j, &params[1], &err) != DERMS_OK)
		return http_error(req, err.code == DERMS_ENOMEM ? 500 : 400, "%s", err.msg);
	if (!new_mrid(mrid))
		return http_error(req, 500, "could not make an mRID");
	params[0] = mrid;
	params[6] = "operator";
	r = write_audited(req, sep2_program_insert_sql, 7, params, "der_program.create",
					  "{}", &status);
	return r ? created(req, r) : status;
}

int
sep2_api_control_post(http_request *req)
{
	int			status;
	json_t	   *j = json_body(req, &status);
	const char *params[9];
	char		mrid[33];
	derms_err	err;
	PGresult   *r;

	if (j == NULL)
		return status;
	if (!sep2_id_ok(req->params[0]))
		return http_error(req, 404, "no program %s", req->params[0]);
	if (sep2_control_from_json(req->arena, j, &params[2], &err) != DERMS_OK)
		return http_error(req, err.code == DERMS_ENOMEM ? 500 : 400, "%s", err.msg);
	if (!new_mrid(mrid))
		return http_error(req, 500, "could not make an mRID");
	params[0] = req->params[0];
	params[1] = mrid;
	params[8] = "operator";
	r = write_audited(req, sep2_control_insert_sql, 9, params, "der_control.create",
					  "{}", &status);
	if (r == NULL && req->status == 409)
		return http_error(req, 404, "no program %s", req->params[0]);
	return r ? created(req, r) : status;
}

int
sep2_api_control_cancel(http_request *req)
{
	int			status;
	const char *params[1];
	PGresult   *r;
	char	   *body;

	if (!sep2_id_ok(req->params[0]))
		return http_error(req, 404, "no control %s", req->params[0]);
	params[0] = req->params[0];
	r = write_audited(req,
					  "UPDATE der_controls SET cancelled_at = now() WHERE id = $1"
					  " AND cancelled_at IS NULL RETURNING id, mrid",
					  1, params, "der_control.cancel", "{}", &status);
	if (r == NULL)
	{
		if (req->status == 409)
		{
			/* tell "cancelled already" from "no such control" */
			derms_err	err;
			PGresult   *x = db_exec(req->db, req->arena, "SELECT 1 FROM der_controls WHERE id = $1",
									1, params, NULL, &err);

			if (x != NULL && PQntuples(x) == 0)
				return http_error(req, 404, "no control %s", req->params[0]);
			return http_error(req, 409, "control %s is cancelled already", req->params[0]);
		}
		return status;
	}
	body = arena_printf(req->arena, "{\"id\":%s,\"mrid\":\"%s\",\"cancelled\":true}",
						PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	return http_reply(req, 200, JSON_CT, body, strlen(body));
}

int
sep2_api_control_responses(http_request *req)
{
	const char *params[1];
	derms_err	err;
	PGresult   *r;

	if (!sep2_id_ok(req->params[0]))
		return http_error(req, 404, "no control %s", req->params[0]);
	params[0] = req->params[0];
	r = db_exec(req->db, req->arena,
				"SELECT COALESCE(json_agg(json_build_object('lfdi', end_device_lfdi,"
				" 'status', status, 'createdDateTime', created_time,"
				" 'received', extract(epoch FROM received_at)::bigint) ORDER BY id), '[]')"
				" FROM der_control_responses WHERE control_id = $1", 1, params, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	return http_reply(req, 200, JSON_CT, PQgetvalue(r, 0, 0), strlen(PQgetvalue(r, 0, 0)));
}

/* ---- controls for grid events (protocols/openadr/grid.c) ---- */

derms_rc
sep2_derp_grid_control(db *d, arena *a, int64_t aggregation_id,
					   int64_t grid_event_id, int64_t start, int64_t duration,
					   json_t *base, int64_t *control_id, derms_err *err)
{
	const char *params[6];
	char		mrid[33], pmrid[33];
	json_t	   *canon = json_object();
	char	   *text;
	PGresult   *r;

	assert(d != NULL && a != NULL && base != NULL && control_id != NULL);
	if (canon == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (sep2_doc_from_json(sep2_derc_base_elems, base, canon, err) != DERMS_OK)
	{
		json_decref(canon);
		return err->code;
	}
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(canon);
	params[5] = text ? arena_strdup(a, text) : NULL;
	free(text);
	if (params[5] == NULL || !new_mrid(mrid) || !new_mrid(pmrid))
		return derms_err_set(err, DERMS_ENOMEM, "could not make a control");
	params[0] = arena_printf(a, "%" PRId64, aggregation_id);
	params[1] = pmrid;
	/* the aggregation's program: its oldest aggregation-scoped one, or a new one */
	r = db_exec(d, a,
				"WITH old AS (SELECT id FROM der_programs WHERE scope_kind = 'aggregation'"
				"  AND scope_id = $1::bigint ORDER BY id LIMIT 1),"
				" made AS (INSERT INTO der_programs (mrid, description, primacy, scope_kind,"
				"  scope_id, created_by) SELECT $2, 'grid events', 1, 'aggregation', $1::bigint,"
				"  'grid_events' WHERE NOT EXISTS (SELECT 1 FROM old) RETURNING id)"
				" SELECT id FROM old UNION ALL SELECT id FROM made",
				2, params, NULL, err);
	if (r == NULL)
		return err->code;
	params[0] = PQgetvalue(r, 0, 0);
	params[1] = mrid;
	params[2] = arena_printf(a, "%" PRId64, start);
	params[3] = arena_printf(a, "%" PRId64, duration);
	params[4] = arena_printf(a, "%" PRId64, grid_event_id);
	r = db_exec(d, a,
				"INSERT INTO der_controls (program_id, mrid, start_time, duration_s,"
				" description, base, created_by, grid_event_id)"
				" VALUES ($1::bigint, $2, $3::bigint, $4::int, 'grid event ' || $5, $6::jsonb,"
				" 'grid_events', $5::bigint) RETURNING id",
				6, params, NULL, err);
	if (r == NULL)
		return err->code;
	*control_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	return DERMS_OK;
}

derms_rc
sep2_derp_grid_cancel(db *d, arena *a, int64_t grid_event_id, int *cancelled,
					  derms_err *err)
{
	const char *params[1];
	PGresult   *r;

	assert(d != NULL && a != NULL);
	params[0] = arena_printf(a, "%" PRId64, grid_event_id);
	r = db_exec(d, a,
				"UPDATE der_controls SET cancelled_at = now() WHERE grid_event_id = $1::bigint"
				" AND cancelled_at IS NULL",
				1, params, NULL, err);
	if (r == NULL)
		return err->code;
	if (cancelled != NULL)
		*cancelled = atoi(PQcmdTuples(r));
	return DERMS_OK;
}
