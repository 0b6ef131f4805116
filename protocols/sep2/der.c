/*
 * protocols/sep2/der.c
 *	  IEEE 2030.5 DER function set under an EndDevice:
 *	    /edev/{e}/der                 DERList
 *	    /edev/{e}/der/{d}             DER
 *	    /edev/{e}/der/{d}/dercap|derg|ders|dera   GET and PUT
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  The four reported documents are described by element tables (doc.h)
 *	  in the schema's sequence order.  A PUT is checked against its table: unknown elements, elements out of
 *	  order, missing required ones and out-of-range values are 400 with the
 *	  element named.  The accepted values are stored as jsonb, appended to
 *	  der_reports (history is never overwritten), and a GET writes the
 *	  latest one back in table order, so what is served is valid whatever
 *	  the device sent.
 *	  CSIP-AUS extension elements (doeModesSupported, doeModesEnabled ...)
 *	  are accepted at the end of DERCapability and DERSettings, as the
 *	  CSIP-AUS schema extends them, and served back in their namespace.
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

#include "protocols/sep2/doc.h"
#include "protocols/sep2/edev.h"
#include "protocols/sep2/xml.h"

#define SEP2_CT "application/sep+xml"

#define S(n, req, t) {n, req, t, NULL, false}
#define C(n, req, kids) {n, req, 0, kids, false}

static const sep2_elem cap_elems[] = {
	S("modesSupported", true, SEP2_V_HEX4),
	S("rtgAbnormalCategory", false, SEP2_V_U8),
	C("rtgMaxA", false, sep2_power_u),
	C("rtgMaxAh", false, sep2_power_u),
	C("rtgMaxChargeRateVA", false, sep2_power_u),
	C("rtgMaxChargeRateW", false, sep2_power_i),
	C("rtgMaxDischargeRateVA", false, sep2_power_u),
	C("rtgMaxDischargeRateW", false, sep2_power_i),
	C("rtgMaxV", false, sep2_power_u),
	C("rtgMaxVA", false, sep2_power_u),
	C("rtgMaxVar", false, sep2_power_i),
	C("rtgMaxVarNeg", false, sep2_power_i),
	C("rtgMaxW", true, sep2_power_i),
	C("rtgMaxWh", false, sep2_power_u),
	C("rtgMinPFOverExcited", false, sep2_power_factor),
	C("rtgMinPFUnderExcited", false, sep2_power_factor),
	C("rtgMinV", false, sep2_power_u),
	S("rtgNormalCategory", false, SEP2_V_U8),
	C("rtgOverExcitedPF", false, sep2_power_factor),
	C("rtgOverExcitedW", false, sep2_power_i),
	C("rtgReactiveSusceptance", false, sep2_power_u),
	C("rtgUnderExcitedPF", false, sep2_power_factor),
	C("rtgUnderExcitedW", false, sep2_power_i),
	C("rtgVNom", false, sep2_power_u),
	S("type", true, SEP2_V_U8),
	/* CSIP-AUS v1.3 extension */
	S("csipaus:doeModesSupported", false, SEP2_V_HEX1),
	S("csipaus:vppModesSupported", false, SEP2_V_HEX1),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem settings_elems[] = {
	S("modesEnabled", false, SEP2_V_HEX4),
	S("setESDelay", false, SEP2_V_U32),
	S("setESHighFreq", false, SEP2_V_U16),
	S("setESHighVolt", false, SEP2_V_I16),
	S("setESLowFreq", false, SEP2_V_U16),
	S("setESLowVolt", false, SEP2_V_I16),
	S("setESRampTms", false, SEP2_V_U32),
	S("setESRandomDelay", false, SEP2_V_U32),
	S("setGradW", true, SEP2_V_U16),
	C("setMaxA", false, sep2_power_u),
	C("setMaxAh", false, sep2_power_u),
	C("setMaxChargeRateVA", false, sep2_power_u),
	C("setMaxChargeRateW", false, sep2_power_i),
	C("setMaxDischargeRateVA", false, sep2_power_u),
	C("setMaxDischargeRateW", false, sep2_power_i),
	C("setMaxV", false, sep2_power_u),
	C("setMaxVA", false, sep2_power_u),
	C("setMaxVar", false, sep2_power_i),
	C("setMaxVarNeg", false, sep2_power_i),
	C("setMaxW", true, sep2_power_i),
	C("setMaxWh", false, sep2_power_u),
	C("setMinPFOverExcited", false, sep2_power_factor),
	C("setMinPFUnderExcited", false, sep2_power_factor),
	C("setMinV", false, sep2_power_u),
	S("setSoftGradW", false, SEP2_V_U16),
	C("setVNom", false, sep2_power_u),
	C("setVRef", false, sep2_power_u),
	C("setVRefOfs", false, sep2_power_u),
	S("updatedTime", true, SEP2_V_TIME),
	/* CSIP-AUS v1.3 extension */
	S("csipaus:doeModesEnabled", false, SEP2_V_HEX1),
	S("csipaus:vppModesEnabled", false, SEP2_V_HEX1),
	C("csipaus:setMinWh", false, sep2_power_u),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem status_elems[] = {
	S("alarmStatus", false, SEP2_V_HEX4),
	C("genConnectStatus", false, sep2_status_hex1),
	C("inverterStatus", false, sep2_status_u8),
	C("localControlModeStatus", false, sep2_status_u8),
	C("manufacturerStatus", false, sep2_status_str6),
	C("operationalModeStatus", false, sep2_status_u8),
	S("readingTime", true, SEP2_V_TIME),
	C("stateOfChargeStatus", false, sep2_status_pct),
	C("storageModeStatus", false, sep2_status_u8),
	C("storConnectStatus", false, sep2_status_hex1),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem avail_elems[] = {
	S("availabilityDuration", false, SEP2_V_U32),
	S("maxChargeDuration", false, SEP2_V_U32),
	S("readingTime", true, SEP2_V_TIME),
	S("reserveChargePercent", false, SEP2_V_PCT),
	S("reservePercent", false, SEP2_V_PCT),
	C("statVarAvail", false, sep2_power_i),
	C("statWAvail", false, sep2_power_i),
	{NULL, false, 0, NULL, false}
};

#undef S
#undef C

/* The four documents: URL segment, root element, table, history column. */
static const struct der_doc
{
	const char *segment;
	const char *root;
	const char *resource;		/* der_reports.resource */
	const sep2_elem *elems;
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
		return http_db_error(req, NULL, &err);
	snprintf(off, sizeof(off), "%" PRIu32, pg.start);
	snprintf(lim, sizeof(lim), "%" PRIu32, pg.limit);
	params[2] = off;
	params[3] = lim;
	rows = db_exec(req->db, req->arena,
				   "SELECT d.id FROM der_resources d WHERE " DER_OF_EDEV
				   " ORDER BY d.id OFFSET $3 LIMIT $4", 4, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);

	snprintf(href, sizeof(href), "/edev/%s/der", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DERList", "href", href, (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_der_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_der(w, params[0], PQgetvalue(rows, i, 0), false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* The DER {d} of the visible EndDevice {e}: its id, or NULL after answering. */
static const char *
der_or_answer(http_request *req, int *status)
{
	PGresult   *e = edev_or_answer(req, status);
	const char *params[3];
	PGresult   *r;

	if (e == NULL)
		return NULL;
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = PQgetvalue(e, 0, 1);
	params[2] = req->params[1];
	r = sep2_fetch_one(req, req->params[1],
					   "SELECT d.id FROM der_resources d WHERE " DER_OF_EDEV " AND d.id = $3",
					   3, params, status);
	return r ? PQgetvalue(r, 0, 0) : NULL;
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
	return sep2_reply_xml(req, w, 200);
}

int
sep2_der_doc_get(http_request *req)
{
	const struct der_doc *d = doc_for_path(req->path);
	int			status;
	const char *der = der_or_answer(req, &status);
	const char *params[2];

	if (der == NULL)
		return status;
	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	params[0] = der;
	params[1] = d->resource;
	return sep2_doc_reply_latest(req, "SELECT doc FROM der_reports WHERE der_id = $1"
								 " AND resource = $2 ORDER BY id DESC LIMIT 1",
								 params, d->root, d->elems, d->subscribable);
}

int
sep2_der_doc_put(http_request *req)
{
	const struct der_doc *d = doc_for_path(req->path);
	int			status;
	const char *der;
	derms_err	err;
	json_t	   *doc;
	const char *params[4];

	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	der = der_or_answer(req, &status);
	if (der == NULL)
		return status;
	if ((doc = sep2_doc_read_body(req, d->root, d->elems, &status)) == NULL)
		return status;
	params[0] = der;
	params[1] = d->resource;
	params[2] = d->time_elem ? json_string_value(json_object_get(doc, d->time_elem)) : NULL;
	if ((params[3] = sep2_json_text(req, doc)) == NULL)
		return http_error(req, 500, "out of memory");
	if (db_exec(req->db, req->arena,
				"INSERT INTO der_reports (der_id, resource, reading_time, doc)"
				" VALUES ($1, $2, to_timestamp($3::bigint), $4::jsonb)",
				4, params, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	/* acknowledged only now that the row is committed */
	return http_reply(req, 204, NULL, "", 0);
}
