/*
 * protocols/sep2/curve.c
 *	  IEEE 2030.5 DER curves under a DER program:
 *	    /edev/{e}/derp/{p}/dc         DERCurveList
 *	    /edev/{e}/derp/{p}/dc/{c}     DERCurve
 *	  and the operator's POST /api/v1/der-programs/{id}/curves.
 *
 * NOTES
 *	  Runs in sep2 and vtn workers; memory comes from the request arena.
 *	  Visibility is the program's (derp.c): a curve is served under every
 *	  EndDevice its program applies to, and nowhere else (404).
 *	  A curve is stored once and never changed (der_curves,
 *	  schema/0017_sep2_curves.sql); DERControls name it in their
 *	  curve-based modes (opModVoltVar ...: a SEP2_V_LINK entry of
 *	  sep2_derc_base_elems holding the curve id), and a trigger refuses a
 *	  control naming a curve of another program or type.
 *	  The API takes
 *	    {"curveType": "opModVoltVar" (or 11), "xMultiplier": 0,
 *	     "yMultiplier": 0, "yRefType": 2, "points": [{"x": 9200, "y": 3000,
 *	     "excitation": false}, ...], "description": "...", "rampTms" ...}
 *	  Checks: 1..10 points; x strictly increasing (every DERCurveType is a
 *	  function of x: voltage, frequency, active power or time); xvalue and
 *	  yvalue Int32; multipliers -9..9; yRefType one that makes sense for
 *	  the type (curve_types[]); excitation only on opModWattPF curves.
 *	  The list is ordered by creationTime, newest first, then id.
 */
#include "curve.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/sep2/derp.h"
#include "protocols/sep2/doc.h"
#include "protocols/sep2/xml.h"

#define JSON_CT "application/json"

/* DERUnitRefType bits allowed per DERCurveType. */
#define REF(n) (1u << (n))
#define REF_NA		REF(0)
#define REF_W		(REF(1) | REF(5) | REF(6) | REF(7))	/* %setMaxW, charge, discharge, %statWAvail */
#define REF_VAR		(REF(2) | REF(3))	/* %setMaxVar, %statVarAvail */
#define REF_V		REF(4)		/* %setEffectiveV */

static const struct
{
	const char *mode;			/* the DERControlBase element */
	unsigned	refs;			/* allowed yRefType values */
}			curve_types[] = {
	[0] = {"opModFreqWatt", REF_W},
	[1] = {"opModHFRTMayTrip", REF_NA},
	[2] = {"opModHFRTMustTrip", REF_NA},
	[3] = {"opModHVRTMayTrip", REF_V},
	[4] = {"opModHVRTMomentaryCessation", REF_V},
	[5] = {"opModHVRTMustTrip", REF_V},
	[6] = {"opModLFRTMayTrip", REF_NA},
	[7] = {"opModLFRTMustTrip", REF_NA},
	[8] = {"opModLVRTMayTrip", REF_V},
	[9] = {"opModLVRTMomentaryCessation", REF_V},
	[10] = {"opModLVRTMustTrip", REF_V},
	[11] = {"opModVoltVar", REF_VAR},
	[12] = {"opModVoltWatt", REF_W},
	[13] = {"opModWattPF", REF_NA},
	[14] = {"opModWattVar", REF_VAR},
};

#define NTYPES ((int) (sizeof(curve_types) / sizeof(curve_types[0])))
#define WATT_PF 13

/* The optional DERCurve elements, split where creationTime, CurveData
 * and curveType come between them in the schema's sequence. */
#define OPT_BEFORE \
	{"autonomousVRefEnable", false, SEP2_V_BOOL, NULL, false}, \
	{"autonomousVRefTimeConstant", false, SEP2_V_U32, NULL, false}
#define OPT_AFTER \
	{"openLoopTms", false, SEP2_V_U16, NULL, false}, \
	{"rampDecTms", false, SEP2_V_U16, NULL, false}, \
	{"rampIncTms", false, SEP2_V_U16, NULL, false}, \
	{"rampPT1Tms", false, SEP2_V_U16, NULL, false}, \
	{"vRef", false, SEP2_V_PCT, NULL, false}
#define END {NULL, false, 0, NULL, false}

static const sep2_elem opt_before[] = {OPT_BEFORE, END};
static const sep2_elem opt_after[] = {OPT_AFTER, END};
static const sep2_elem opt_all[] = {OPT_BEFORE, OPT_AFTER, END};

const char	sep2_curve_insert_sql[] =
"INSERT INTO der_curves (program_id, mrid, curve_type, x_multiplier, y_multiplier,"
" y_ref_type, points, doc, created_by)"
" SELECT p.id, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9"
" FROM der_programs p WHERE p.id = $1 RETURNING id, mrid";

int
sep2_curve_type_of_mode(const char *mode)
{
	for (int i = 0; i < NTYPES; i++)
		if (strcmp(curve_types[i].mode, mode) == 0)
			return i;
	return -1;
}

/* An integer field of j in lo..hi into *out. */
static derms_rc
int_field(json_t *j, const char *name, int64_t lo, int64_t hi, int64_t *out,
		  derms_err *err)
{
	json_t	   *v = json_object_get(j, name);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return derms_err_set(err, DERMS_ERANGE, "\"%s\" must be an integer in %" PRId64 "..%" PRId64,
							 name, lo, hi);
	*out = json_integer_value(v);
	return DERMS_OK;
}

static derms_rc
points_from_json(arena *a, json_t *pts, int type, const char **out, derms_err *err)
{
	json_t	   *canon = json_array();
	int64_t		last_x = 0;
	char	   *text;

	if (!json_is_array(pts) || json_array_size(pts) < 1 ||
		json_array_size(pts) > SEP2_CURVE_MAX_POINTS)
	{
		json_decref(canon);
		return derms_err_set(err, DERMS_ERANGE, "\"points\" must be an array of 1 to %d points",
							 SEP2_CURVE_MAX_POINTS);
	}
	for (size_t i = 0; i < json_array_size(pts); i++)
	{
		json_t	   *p = json_array_get(pts, i);
		json_t	   *ex = json_object_get(p, "excitation");
		int64_t		x, y;
		char		name[32];

		snprintf(name, sizeof(name), "points[%zu]", i);
		if (!json_is_object(p) || json_object_size(p) != (ex ? 3u : 2u))
		{
			json_decref(canon);
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be {\"x\": int, \"y\": int}"
								 " (and \"excitation\" on opModWattPF curves)", name);
		}
		if (int_field(p, "x", INT32_MIN, INT32_MAX, &x, err) != DERMS_OK ||
			int_field(p, "y", INT32_MIN, INT32_MAX, &y, err) != DERMS_OK)
		{
			json_decref(canon);
			return derms_err_set(err, err->code, "%s: %s", name, err->msg);
		}
		if (i > 0 && x <= last_x)
		{
			json_decref(canon);
			return derms_err_set(err, DERMS_EPARSE, "%s: x must be greater than the previous"
								 " point's (%" PRId64 " after %" PRId64 ")", name, x, last_x);
		}
		if (ex && (type != WATT_PF || !json_is_boolean(ex)))
		{
			json_decref(canon);
			return derms_err_set(err, DERMS_EPARSE, "%s: \"excitation\" is a boolean and only"
								 " taken on opModWattPF curves", name);
		}
		last_x = x;
		if (ex)
			json_array_append_new(canon, json_pack("{sIsIsb}", "x", (json_int_t) x,
												   "y", (json_int_t) y, "excitation",
												   json_is_true(ex)));
		else
			json_array_append_new(canon, json_pack("{sIsI}", "x", (json_int_t) x,
												   "y", (json_int_t) y));
	}
	text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(canon);
	*out = text ? arena_strdup(a, text) : NULL;
	free(text);
	return *out ? DERMS_OK : derms_err_set(err, DERMS_ENOMEM, "out of memory");
}

derms_rc
sep2_curve_from_json(arena *a, json_t *j, const char *params[6], derms_err *err)
{
	json_t	   *ct, *opts, *v;
	const char *key;
	int			type = -1;
	int64_t		xm, ym, ref;
	char	   *text;

	if (!json_is_object(j))
		return derms_err_set(err, DERMS_EPARSE, "expected a JSON object");
	ct = json_object_get(j, "curveType");
	if (json_is_string(ct))
		type = sep2_curve_type_of_mode(json_string_value(ct));
	else if (json_is_integer(ct) && json_integer_value(ct) >= 0 && json_integer_value(ct) < NTYPES)
		type = (int) json_integer_value(ct);
	if (type < 0)
		return derms_err_set(err, DERMS_EPARSE, "\"curveType\" must be a curve-based mode"
							 " (opModVoltVar ...) or its DERCurveType 0..14");
	if (int_field(j, "xMultiplier", -9, 9, &xm, err) != DERMS_OK ||
		int_field(j, "yMultiplier", -9, 9, &ym, err) != DERMS_OK ||
		int_field(j, "yRefType", 0, 7, &ref, err) != DERMS_OK)
		return err->code;
	if ((curve_types[type].refs & REF(ref)) == 0)
		return derms_err_set(err, DERMS_EPARSE, "\"yRefType\" %" PRId64 " does not fit a %s curve",
							 ref, curve_types[type].mode);
	if (points_from_json(a, json_object_get(j, "points"), type, &params[4], err) != DERMS_OK)
		return err->code;

	/* everything else is an optional DERCurve element */
	if ((opts = json_object()) == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "curveType") == 0 || strcmp(key, "xMultiplier") == 0 ||
			strcmp(key, "yMultiplier") == 0 || strcmp(key, "yRefType") == 0 ||
			strcmp(key, "points") == 0)
			continue;
		if (strcmp(key, "description") == 0)
		{
			if (!json_is_string(v) || strlen(json_string_value(v)) > 32)
			{
				json_decref(opts);
				return derms_err_set(err, DERMS_EPARSE, "\"description\" must be a string of"
									 " at most 32 characters");
			}
			continue;
		}
		json_object_set(opts, key, v);
	}
	{
		json_t	   *canon = json_object();
		derms_rc	rc = sep2_doc_from_json(opt_all, opts, canon, err);

		json_decref(opts);
		if (rc != DERMS_OK)
		{
			json_decref(canon);
			return rc;
		}
		if ((v = json_object_get(j, "description")) != NULL)
			json_object_set(canon, "description", v);
		text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(canon);
	}
	params[5] = text ? arena_strdup(a, text) : NULL;
	free(text);
	params[0] = arena_printf(a, "%d", type);
	params[1] = arena_printf(a, "%" PRId64, xm);
	params[2] = arena_printf(a, "%" PRId64, ym);
	params[3] = arena_printf(a, "%" PRId64, ref);
	for (int i = 0; i < 6; i++)
		if (params[i] == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	return DERMS_OK;
}

int
sep2_api_curve_post(http_request *req)
{
	json_error_t jerr;
	json_t	   *j;
	const char *params[9];
	char		mrid[33];
	derms_err	err;
	int			status;
	PGresult   *r;
	char	   *body;

	if (!sep2_id_ok(req->params[0]))
		return http_error(req, 404, "no program %s", req->params[0]);
	j = sep2_json_own(req, json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr));
	if (j == NULL)
		return http_error(req, 400, "malformed JSON at line %d: %s", jerr.line, jerr.text);
	if (sep2_curve_from_json(req->arena, j, &params[2], &err) != DERMS_OK)
		return http_error(req, err.code == DERMS_ENOMEM ? 500 : 400, "%s", err.msg);
	if (!sep2_new_mrid(mrid))
		return http_error(req, 500, "could not make an mRID");
	params[0] = req->params[0];
	params[1] = mrid;
	params[8] = "operator";
	r = sep2_write_audited(req, sep2_curve_insert_sql, 9, params, "der_curve.create", &status);
	if (r == NULL)
		return req->status == 409 ? http_error(req, 404, "no program %s", req->params[0]) : status;
	body = arena_printf(req->arena, "{\"id\":%s,\"mrid\":\"%s\"}",
						PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	return http_reply(req, 201, JSON_CT, body, strlen(body));
}

/* ---- resources ---- */

#define CURVE_COLUMNS "c.id, c.mrid, extract(epoch FROM c.creation_time)::bigint," \
	" c.curve_type, c.x_multiplier, c.y_multiplier, c.y_ref_type, c.points, c.doc"

static void
write_curve(sep2_xw *w, const char *prefix, PGresult *r, int row)
{
	json_error_t jerr;
	json_t	   *pts = json_loads(PQgetvalue(r, row, 7), 0, &jerr);
	json_t	   *doc = json_loads(PQgetvalue(r, row, 8), 0, &jerr);
	json_t	   *p;
	size_t		i;
	char		href[160];

	snprintf(href, sizeof(href), "%s/%s", prefix, PQgetvalue(r, row, 0));
	sep2_xw_open(w, "DERCurve", "href", href, (char *) NULL);
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	if (doc && json_is_string(json_object_get(doc, "description")))
		sep2_xw_text(w, "description", json_string_value(json_object_get(doc, "description")));
	if (doc)
		sep2_doc_write(w, opt_before, doc);
	sep2_xw_text(w, "creationTime", PQgetvalue(r, row, 2));
	json_array_foreach(pts, i, p)
	{
		json_t	   *ex = json_object_get(p, "excitation");

		sep2_xw_open(w, "CurveData", (char *) NULL);
		if (ex)
			sep2_xw_bool(w, "excitation", json_is_true(ex));
		sep2_xw_int(w, "xvalue", json_integer_value(json_object_get(p, "x")));
		sep2_xw_int(w, "yvalue", json_integer_value(json_object_get(p, "y")));
		sep2_xw_close(w);
	}
	sep2_xw_text(w, "curveType", PQgetvalue(r, row, 3));
	if (doc)
		sep2_doc_write(w, opt_after, doc);
	sep2_xw_text(w, "xMultiplier", PQgetvalue(r, row, 4));
	sep2_xw_text(w, "yMultiplier", PQgetvalue(r, row, 5));
	sep2_xw_text(w, "yRefType", PQgetvalue(r, row, 6));
	sep2_xw_close(w);
	json_decref(pts);
	json_decref(doc);
}

int
sep2_dc_list_get(http_request *req)
{
	int			status;
	PGresult   *p = sep2_derp_fetch(req, &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[4];
	PGresult   *rows;
	uint32_t	all = 0;
	sep2_xw    *w;
	char		href[128];

	if (p == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(p, 0, 0);
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	params[3] = pg.has_after ? arena_printf(req->arena, "%" PRId64, pg.after) : NULL;
	rows = db_exec(req->db, req->arena,
				   "SELECT " CURVE_COLUMNS ", count(*) OVER () FROM der_curves c"
				   " WHERE c.program_id = $1 AND ($4::bigint IS NULL"
				   "  OR c.creation_time >= to_timestamp($4::bigint))"
				   " ORDER BY c.creation_time DESC, c.id DESC OFFSET $2 LIMIT $3",
				   4, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(rows) > 0)
		all = (uint32_t) strtoul(PQgetvalue(rows, 0, 9), NULL, 10);
	else
	{
		const char *cp[2] = {params[0], params[3]};
		PGresult   *c = db_exec(req->db, req->arena,
								"SELECT count(*) FROM der_curves c WHERE c.program_id = $1"
								" AND ($2::bigint IS NULL OR c.creation_time >= to_timestamp($2::bigint))",
								2, cp, NULL, &err);

		if (c == NULL)
			return http_db_error(req, NULL, &err);
		all = (uint32_t) strtoul(PQgetvalue(c, 0, 0), NULL, 10);
	}
	snprintf(href, sizeof(href), "/edev/%s/derp/%s/dc", req->params[0], req->params[1]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DERCurveList", "href", href, (char *) NULL);
	sep2_xw_list_attrs(w, all, (uint32_t) PQntuples(rows));
	for (int i = 0; i < PQntuples(rows); i++)
		write_curve(w, href, rows, i);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_dc_get(http_request *req)
{
	int			status;
	PGresult   *p = sep2_derp_fetch(req, &status);
	const char *params[2];
	PGresult   *r;
	sep2_xw    *w;
	char		prefix[128];

	if (p == NULL)
		return status;
	params[0] = PQgetvalue(p, 0, 0);
	params[1] = req->params[2];
	r = sep2_fetch_one(req, req->params[2],
					   "SELECT " CURVE_COLUMNS " FROM der_curves c"
					   " WHERE c.program_id = $1 AND c.id = $2", 2, params, &status);
	if (r == NULL)
		return status;
	snprintf(prefix, sizeof(prefix), "/edev/%s/derp/%s/dc", req->params[0], req->params[1]);
	w = sep2_xw_new(req->arena);
	write_curve(w, prefix, r, 0);
	return sep2_reply_xml(req, w, 200);
}
