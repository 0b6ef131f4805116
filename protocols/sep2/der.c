/*
 * protocols/sep2/der.c
 *	  IEEE 2030.5 DER function set under an EndDevice:
 *	    /edev/{e}/der                 DERList
 *	    /edev/{e}/der/{d}             DER
 *	    /edev/{e}/der/{d}/dercap|derg|ders|dera   GET and PUT
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  The four reported documents are described by tables below, in the
 *	  schema's sequence order, with each element's value type (and the
 *	  children of compound types such as ActivePower or the status types).
 *	  A PUT is checked against its table: unknown elements, elements out of
 *	  order, missing required ones and out-of-range values are 400 with the
 *	  element named.  The accepted values are stored as jsonb, appended to
 *	  der_reports (history is never overwritten), and a GET writes the
 *	  latest one back in table order, so what is served is valid whatever
 *	  the device sent.
 *	  The DERs of an EndDevice are the der_resources whose end_device_id or
 *	  LFDI is the EndDevice's; visibility is the EndDevice's (edev.c).
 */
#include "der.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocols/sep2/edev.h"
#include "protocols/sep2/xml.h"

#define SEP2_CT "application/sep+xml"
#define DER_POLL_RATE 300

/* Value types of simple elements. */
typedef enum der_vtype
{
	V_HEX1,						/* HexBinary8 */
	V_HEX4,						/* HexBinary32 (and DERControlType) */
	V_U8,
	V_MULT,						/* PowerOfTenMultiplierType: -9..9 */
	V_U16,
	V_I16,
	V_U32,
	V_TIME,						/* TimeType, UTC seconds */
	V_PCT,						/* PerCent: hundredths, 0..10000 */
	V_STR6						/* String6 */
} der_vtype;

typedef struct der_child
{
	const char *name;
	der_vtype	type;
} der_child;

/* Compound types: their children, in order. */
static const der_child power_u[] = {{"multiplier", V_MULT}, {"value", V_U16}, {NULL, 0}};
static const der_child power_i[] = {{"multiplier", V_MULT}, {"value", V_I16}, {NULL, 0}};
static const der_child power_factor[] = {{"displacement", V_U16}, {"multiplier", V_MULT}, {NULL, 0}};
static const der_child st_hex1[] = {{"dateTime", V_TIME}, {"value", V_HEX1}, {NULL, 0}};
static const der_child st_u8[] = {{"dateTime", V_TIME}, {"value", V_U8}, {NULL, 0}};
static const der_child st_str6[] = {{"dateTime", V_TIME}, {"value", V_STR6}, {NULL, 0}};
static const der_child st_pct[] = {{"dateTime", V_TIME}, {"value", V_PCT}, {NULL, 0}};

typedef struct der_elem
{
	const char *name;
	bool		required;
	der_vtype	type;			/* when children is NULL */
	const der_child *children;	/* compound element */
} der_elem;

#define S(n, req, t) {n, req, t, NULL}
#define C(n, req, kids) {n, req, 0, kids}

static const der_elem cap_elems[] = {
	S("modesSupported", true, V_HEX4),
	S("rtgAbnormalCategory", false, V_U8),
	C("rtgMaxA", false, power_u),
	C("rtgMaxAh", false, power_u),
	C("rtgMaxChargeRateVA", false, power_u),
	C("rtgMaxChargeRateW", false, power_i),
	C("rtgMaxDischargeRateVA", false, power_u),
	C("rtgMaxDischargeRateW", false, power_i),
	C("rtgMaxV", false, power_u),
	C("rtgMaxVA", false, power_u),
	C("rtgMaxVar", false, power_i),
	C("rtgMaxVarNeg", false, power_i),
	C("rtgMaxW", true, power_i),
	C("rtgMaxWh", false, power_u),
	C("rtgMinPFOverExcited", false, power_factor),
	C("rtgMinPFUnderExcited", false, power_factor),
	C("rtgMinV", false, power_u),
	S("rtgNormalCategory", false, V_U8),
	C("rtgOverExcitedPF", false, power_factor),
	C("rtgOverExcitedW", false, power_i),
	C("rtgReactiveSusceptance", false, power_u),
	C("rtgUnderExcitedPF", false, power_factor),
	C("rtgUnderExcitedW", false, power_i),
	C("rtgVNom", false, power_u),
	S("type", true, V_U8),
	{NULL, false, 0, NULL}
};

static const der_elem settings_elems[] = {
	S("modesEnabled", false, V_HEX4),
	S("setESDelay", false, V_U32),
	S("setESHighFreq", false, V_U16),
	S("setESHighVolt", false, V_I16),
	S("setESLowFreq", false, V_U16),
	S("setESLowVolt", false, V_I16),
	S("setESRampTms", false, V_U32),
	S("setESRandomDelay", false, V_U32),
	S("setGradW", true, V_U16),
	C("setMaxA", false, power_u),
	C("setMaxAh", false, power_u),
	C("setMaxChargeRateVA", false, power_u),
	C("setMaxChargeRateW", false, power_i),
	C("setMaxDischargeRateVA", false, power_u),
	C("setMaxDischargeRateW", false, power_i),
	C("setMaxV", false, power_u),
	C("setMaxVA", false, power_u),
	C("setMaxVar", false, power_i),
	C("setMaxVarNeg", false, power_i),
	C("setMaxW", true, power_i),
	C("setMaxWh", false, power_u),
	C("setMinPFOverExcited", false, power_factor),
	C("setMinPFUnderExcited", false, power_factor),
	C("setMinV", false, power_u),
	S("setSoftGradW", false, V_U16),
	C("setVNom", false, power_u),
	C("setVRef", false, power_u),
	C("setVRefOfs", false, power_u),
	S("updatedTime", true, V_TIME),
	{NULL, false, 0, NULL}
};

static const der_elem status_elems[] = {
	S("alarmStatus", false, V_HEX4),
	C("genConnectStatus", false, st_hex1),
	C("inverterStatus", false, st_u8),
	C("localControlModeStatus", false, st_u8),
	C("manufacturerStatus", false, st_str6),
	C("operationalModeStatus", false, st_u8),
	S("readingTime", true, V_TIME),
	C("stateOfChargeStatus", false, st_pct),
	C("storageModeStatus", false, st_u8),
	C("storConnectStatus", false, st_hex1),
	{NULL, false, 0, NULL}
};

static const der_elem avail_elems[] = {
	S("availabilityDuration", false, V_U32),
	S("maxChargeDuration", false, V_U32),
	S("readingTime", true, V_TIME),
	S("reserveChargePercent", false, V_PCT),
	S("reservePercent", false, V_PCT),
	C("statVarAvail", false, power_i),
	C("statWAvail", false, power_i),
	{NULL, false, 0, NULL}
};

#undef S
#undef C

/* The four documents: URL segment, root element, table, history column. */
static const struct der_doc
{
	const char *segment;
	const char *root;
	const char *resource;		/* der_reports.resource */
	const der_elem *elems;
	const char *time_elem;		/* copied to der_reports.reading_time */
	bool		subscribable;
}			der_docs[] = {
	{"dercap", "DERCapability", "capability", cap_elems, NULL, false},
	{"derg", "DERSettings", "settings", settings_elems, "updatedTime", true},
	{"ders", "DERStatus", "status", status_elems, "readingTime", true},
	{"dera", "DERAvailability", "availability", avail_elems, "readingTime", true},
};

#define NDOCS (sizeof(der_docs) / sizeof(der_docs[0]))

static const struct der_doc *
doc_for_path(const char *path)
{
	const char *last = strrchr(path, '/');

	for (size_t i = 0; last && i < NDOCS; i++)
		if (strcmp(last + 1, der_docs[i].segment) == 0)
			return &der_docs[i];
	return NULL;
}

static int
db_error(http_request *req, const derms_err *err)
{
	return http_error(req, 503, "database unavailable: %s", err->msg);
}

/* ---- reading a document against its table ---- */

/* Read one simple value; canonical text into the arena. */
static derms_rc
read_value(arena *a, xmlNodePtr parent, const char *name, der_vtype t,
		   const char **out, derms_err *err)
{
	int64_t		v;
	int64_t		lo = 0, hi = 0;
	uint8_t		hex[4];
	size_t		n;

	switch (t)
	{
		case V_HEX1:
		case V_HEX4:
			if (sep2_xml_hex(parent, name, SEP2_XML_REQUIRED, 1, t == V_HEX1 ? 1 : 4,
							 hex, sizeof(hex), &n, err) != DERMS_OK)
				return err->code;
			{
				char	   *s = arena_alloc(a, 2 * n + 1);

				if (s == NULL)
					return derms_err_set(err, DERMS_ENOMEM, "out of memory");
				for (size_t i = 0; i < n; i++)
					snprintf(s + 2 * i, 3, "%02X", hex[i]);
				*out = s;
			}
			return DERMS_OK;
		case V_STR6:
			return sep2_xml_string(a, parent, name, SEP2_XML_REQUIRED, 6, out, err);
		case V_U8:
			hi = 255;
			break;
		case V_MULT:
			lo = -9;
			hi = 9;
			break;
		case V_U16:
			hi = 65535;
			break;
		case V_I16:
			lo = -32768;
			hi = 32767;
			break;
		case V_U32:
			hi = 4294967295LL;
			break;
		case V_TIME:
			hi = INT64_MAX;
			break;
		case V_PCT:
			hi = 10000;
			break;
	}
	if (sep2_xml_int64(parent, name, SEP2_XML_REQUIRED, lo, hi, &v, err) != DERMS_OK)
		return err->code;
	*out = arena_printf(a, "%" PRId64, v);
	return *out ? DERMS_OK : derms_err_set(err, DERMS_ENOMEM, "out of memory");
}

/* Children of el, in document order, must follow the table's order and
 * name only elements the table knows. */
static derms_rc
check_order(xmlNodePtr el, const char *const *names, size_t n, derms_err *err)
{
	size_t		at = 0;

	for (xmlNodePtr c = el->children; c; c = c->next)
	{
		size_t		k;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		for (k = 0; k < n; k++)
			if (strcmp((const char *) c->name, names[k]) == 0)
				break;
		if (k == n)
			return derms_err_set(err, DERMS_EPARSE, "unknown element <%s> in <%s> at line %ld",
								 (const char *) c->name, (const char *) el->name,
								 (long) xmlGetLineNo(c));
		if (k < at)
			return derms_err_set(err, DERMS_EPARSE, "element <%s> out of order in <%s> at line %ld",
								 (const char *) c->name, (const char *) el->name,
								 (long) xmlGetLineNo(c));
		at = k + 1;				/* each element at most once */
	}
	return DERMS_OK;
}

static derms_rc
parse_doc(arena *a, const struct der_doc *d, xmlNodePtr root, json_t *out,
		  derms_err *err)
{
	const char *names[40];
	size_t		n = 0;

	for (const der_elem *e = d->elems; e->name; e++)
		names[n++] = e->name;
	if (check_order(root, names, n, err) != DERMS_OK)
		return err->code;

	for (const der_elem *e = d->elems; e->name; e++)
	{
		xmlNodePtr	el = sep2_xml_child(root, e->name);
		const char *v;

		if (el == NULL)
		{
			if (e->required)
				return derms_err_set(err, DERMS_EPARSE, "<%s> is missing <%s>", d->root, e->name);
			continue;
		}
		if (e->children == NULL)
		{
			if (read_value(a, root, e->name, e->type, &v, err) != DERMS_OK)
				return err->code;
			json_object_set_new(out, e->name, json_string(v));
		}
		else
		{
			json_t	   *obj = json_object();
			const char *kids[4];
			size_t		nk = 0;

			for (const der_child *c = e->children; c->name; c++)
				kids[nk++] = c->name;
			if (check_order(el, kids, nk, err) != DERMS_OK)
			{
				json_decref(obj);
				return err->code;
			}
			for (const der_child *c = e->children; c->name; c++)
			{
				if (read_value(a, el, c->name, c->type, &v, err) != DERMS_OK)
				{
					json_decref(obj);
					return err->code;
				}
				json_object_set_new(obj, c->name, json_string(v));
			}
			json_object_set_new(out, e->name, obj);
		}
	}
	return DERMS_OK;
}

/* ---- writing ---- */

static void
write_doc(sep2_xw *w, const struct der_doc *d, const char *href, json_t *doc)
{
	if (d->subscribable)
		sep2_xw_open(w, d->root, "href", href, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, d->root, "href", href, (char *) NULL);
	for (const der_elem *e = d->elems; e->name; e++)
	{
		json_t	   *v = json_object_get(doc, e->name);

		if (v == NULL)
			continue;
		if (e->children == NULL)
			sep2_xw_text(w, e->name, json_string_value(v));
		else
		{
			sep2_xw_open(w, e->name, (char *) NULL);
			for (const der_child *c = e->children; c->name; c++)
				sep2_xw_text(w, c->name, json_string_value(json_object_get(v, c->name)));
			sep2_xw_close(w);
		}
	}
	sep2_xw_close(w);
}

static int
reply_xml(http_request *req, sep2_xw *w)
{
	const char *doc;
	size_t		len;
	derms_err	err;

	if (sep2_xw_finish(w, &doc, &len, &err) != DERMS_OK)
		return http_error(req, 500, "%s", err.msg);
	return http_reply(req, 200, SEP2_CT, doc, len);
}

/* ---- DERs of an EndDevice ---- */

#define DER_OF_EDEV "(d.end_device_id = $1 OR d.lfdi = $2)"

/* The visible EndDevice row, or NULL after answering. */
static PGresult *
edev_or_answer(http_request *req, int *status)
{
	return sep2_edev_fetch(req, req->params[0], status);
}

static void
write_der(sep2_xw *w, const char *edev, const char *der, bool root)
{
	static const char *const links[][2] = {
		{"DERAvailabilityLink", "dera"}, {"DERCapabilityLink", "dercap"},
		{"DERSettingsLink", "derg"}, {"DERStatusLink", "ders"},
	};
	char		href[96];

	snprintf(href, sizeof(href), "/edev/%s/der/%s", edev, der);
	if (root)
		sep2_xw_open(w, "DER", "href", href, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, "DER", "href", href, (char *) NULL);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
	{
		char		link[112];

		snprintf(link, sizeof(link), "%s/%s", href, links[i][1]);
		sep2_xw_open(w, links[i][0], "href", link, (char *) NULL);
		sep2_xw_close(w);
	}
	sep2_xw_close(w);
}

int
sep2_der_list_get(http_request *req)
{
	int			status;
	PGresult   *e = edev_or_answer(req, &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[4];
	char		off[16], lim[16];
	PGresult   *count, *rows;
	sep2_xw    *w;
	char		href[64];

	if (e == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = PQgetvalue(e, 0, 1);
	count = db_exec(req->db, req->arena,
					"SELECT count(*) FROM der_resources d WHERE " DER_OF_EDEV,
					2, params, NULL, &err);
	if (count == NULL)
		return db_error(req, &err);
	snprintf(off, sizeof(off), "%" PRIu32, pg.start);
	snprintf(lim, sizeof(lim), "%" PRIu32, pg.limit);
	params[2] = off;
	params[3] = lim;
	rows = db_exec(req->db, req->arena,
				   "SELECT d.id FROM der_resources d WHERE " DER_OF_EDEV
				   " ORDER BY d.id OFFSET $3 LIMIT $4", 4, params, NULL, &err);
	if (rows == NULL)
		return db_error(req, &err);

	snprintf(href, sizeof(href), "/edev/%s/der", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DERList", "href", href, (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", DER_POLL_RATE);
	for (int i = 0; i < PQntuples(rows); i++)
		write_der(w, params[0], PQgetvalue(rows, i, 0), false);
	sep2_xw_close(w);
	return reply_xml(req, w);
}

/* The DER {d} of the visible EndDevice {e}: its id, or NULL after answering. */
static const char *
der_or_answer(http_request *req, int *status)
{
	PGresult   *e = edev_or_answer(req, status);
	const char *params[3];
	derms_err	err;
	PGresult   *r;
	char	   *end;

	if (e == NULL)
		return NULL;
	errno = 0;
	(void) strtoll(req->params[1], &end, 10);
	if (*end != '\0' || errno || req->params[1][0] == '-' || req->params[1][0] == '\0')
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return NULL;
	}
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = PQgetvalue(e, 0, 1);
	params[2] = req->params[1];
	r = db_exec(req->db, req->arena,
				"SELECT d.id FROM der_resources d WHERE " DER_OF_EDEV " AND d.id = $3",
				3, params, NULL, &err);
	if (r == NULL)
	{
		*status = db_error(req, &err);
		return NULL;
	}
	if (PQntuples(r) == 0)
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return NULL;
	}
	return PQgetvalue(r, 0, 0);
}

int
sep2_der_get(http_request *req)
{
	int			status;
	const char *der = der_or_answer(req, &status);
	sep2_xw    *w;

	if (der == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_der(w, req->params[0], der, true);
	return reply_xml(req, w);
}

static void
json_decref_cb(void *p)
{
	json_decref(p);
}

int
sep2_der_doc_get(http_request *req)
{
	const struct der_doc *d = doc_for_path(req->path);
	int			status;
	const char *der = der_or_answer(req, &status);
	const char *params[2];
	derms_err	err;
	PGresult   *r;
	json_t	   *doc;
	json_error_t jerr;
	sep2_xw    *w;

	if (der == NULL)
		return status;
	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	params[0] = der;
	params[1] = d->resource;
	r = db_exec(req->db, req->arena,
				"SELECT doc FROM der_reports WHERE der_id = $1 AND resource = $2"
				" ORDER BY id DESC LIMIT 1", 2, params, NULL, &err);
	if (r == NULL)
		return db_error(req, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "no %s has been reported for this DER", d->root);
	doc = json_loads(PQgetvalue(r, 0, 0), 0, &jerr);
	if (doc == NULL)
		return http_error(req, 500, "stored %s is unreadable", d->root);
	arena_on_destroy(req->arena, json_decref_cb, doc);
	w = sep2_xw_new(req->arena);
	write_doc(w, d, req->path, doc);
	return reply_xml(req, w);
}

int
sep2_der_doc_put(http_request *req)
{
	const struct der_doc *d = doc_for_path(req->path);
	int			status;
	const char *der;
	xmlDocPtr	xdoc;
	xmlNodePtr	root;
	derms_err	err;
	json_t	   *doc;
	char	   *text;
	const char *params[4];

	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	der = der_or_answer(req, &status);
	if (der == NULL)
		return status;
	if (sep2_xml_parse(req->arena, req->body, req->body_len, &xdoc, &err) != DERMS_OK ||
		sep2_xml_root(xdoc, d->root, &root, &err) != DERMS_OK ||
		sep2_xml_validate(xdoc, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	doc = json_object();
	if (doc == NULL)
		return http_error(req, 500, "out of memory");
	arena_on_destroy(req->arena, json_decref_cb, doc);
	if (parse_doc(req->arena, d, root, doc, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL)
		return http_error(req, 500, "out of memory");
	arena_on_destroy(req->arena, free, text);

	params[0] = der;
	params[1] = d->resource;
	params[2] = d->time_elem ? json_string_value(json_object_get(doc, d->time_elem)) : NULL;
	params[3] = text;
	if (db_exec(req->db, req->arena,
				"INSERT INTO der_reports (der_id, resource, reading_time, doc)"
				" VALUES ($1, $2, to_timestamp($3::bigint), $4::jsonb)",
				4, params, NULL, &err) == NULL)
		return db_error(req, &err);
	/* acknowledged only now that the row is committed */
	return http_reply(req, 204, NULL, "", 0);
}
