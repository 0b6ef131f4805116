/*
 * protocols/sep2/devstat.c
 *	  EndDevice self-reports:
 *	    /edev/{e}/di      DeviceInformation   PUT, GET
 *	    /edev/{e}/dstat   DeviceStatus        PUT, GET
 *	    /edev/{e}/ps      PowerStatus         PUT, GET
 *	    /edev/{e}/lel     LogEventList        POST, GET
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  Documents are checked against element tables (doc.h).  A few
 *	  optional compound elements (DRLCCapabilities, gpsLocation, PEVInfo,
 *	  Temperature, links) are accepted without being kept, so field
 *	  devices that send them are not refused; everything kept is written
 *	  back in schema order.  Reports are appended (end_device_reports) and
 *	  the latest is served; log events are kept once per (device,
 *	  logEventID, createdDateTime), newest first in the list.
 *	  Visibility is the EndDevice's (edev.c); writes come from the device
 *	  or its aggregator (route roles).
 */
#include "devstat.h"

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
#define R(n) {n, false, 0, NULL, true}

static const sep2_elem di_elems[] = {
	R("DRLCCapabilities"),
	S("functionsImplemented", false, SEP2_V_HEX8),
	R("gpsLocation"),
	S("lFDI", true, SEP2_V_HEX20),
	S("mfDate", true, SEP2_V_TIME),
	S("mfHwVer", true, SEP2_V_STR32),
	S("mfID", true, SEP2_V_U32),
	S("mfInfo", false, SEP2_V_STR32),
	S("mfModel", true, SEP2_V_STR32),
	S("mfSerNum", true, SEP2_V_STR32),
	S("primaryPower", true, SEP2_V_U8),
	S("secondaryPower", true, SEP2_V_U8),
	R("SupportedLocaleListLink"),
	S("swActTime", true, SEP2_V_TIME),
	S("swVer", true, SEP2_V_STR32),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem dstat_elems[] = {
	S("changedTime", true, SEP2_V_TIME),
	S("onCount", false, SEP2_V_U16),
	S("opState", false, SEP2_V_U8),
	S("opTime", false, SEP2_V_U32),
	R("Temperature"),
	R("TimeLink"),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem ps_elems[] = {
	S("batteryStatus", true, SEP2_V_U8),
	S("changedTime", true, SEP2_V_TIME),
	S("currentPowerSource", true, SEP2_V_U8),
	S("estimatedChargeRemaining", false, SEP2_V_PCT),
	S("estimatedTimeRemaining", false, SEP2_V_U32),
	R("PEVInfo"),
	S("sessionTimeOnBattery", false, SEP2_V_U32),
	S("totalTimeOnBattery", false, SEP2_V_U32),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem lel_elems[] = {
	S("createdDateTime", true, SEP2_V_TIME),
	S("details", false, SEP2_V_STR32),
	S("extendedData", false, SEP2_V_U32),
	S("functionSet", true, SEP2_V_U8),
	S("logEventCode", true, SEP2_V_U8),
	S("logEventID", true, SEP2_V_U16),
	S("logEventPEN", true, SEP2_V_U32),
	S("profileID", true, SEP2_V_U8),
	{NULL, false, 0, NULL, false}
};

#undef S
#undef R

static const struct dev_doc
{
	const char *segment;
	const char *root;
	const char *resource;		/* end_device_reports.resource */
	const sep2_elem *elems;
}			dev_docs[] = {
	{"di", "DeviceInformation", "information", di_elems},
	{"dstat", "DeviceStatus", "status", dstat_elems},
	{"ps", "PowerStatus", "power", ps_elems},
};

static const struct dev_doc *
doc_for_path(const char *path)
{
	const char *last = strrchr(path, '/');

	for (size_t i = 0; last && i < sizeof(dev_docs) / sizeof(dev_docs[0]); i++)
		if (strcmp(last + 1, dev_docs[i].segment) == 0)
			return &dev_docs[i];
	return NULL;
}

static json_t *
arena_json_loads(http_request *req, const char *text)
{
	json_error_t jerr;
	return sep2_json_own(req, json_loads(text, 0, &jerr));
}

int
sep2_devdoc_get(http_request *req)
{
	const struct dev_doc *d = doc_for_path(req->path);
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	const char *params[2];

	if (e == NULL)
		return status;
	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = d->resource;
	return sep2_doc_reply_latest(req, "SELECT doc FROM end_device_reports WHERE end_device_id = $1"
								 " AND resource = $2 ORDER BY id DESC LIMIT 1",
								 params, d->root, d->elems, false);
}

int
sep2_devdoc_put(http_request *req)
{
	const struct dev_doc *d = doc_for_path(req->path);
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	json_t	   *j;
	const char *params[3];
	derms_err	err;
	char	   *text;

	if (e == NULL)
		return status;
	if (d == NULL)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	if ((j = sep2_doc_read_body(req, d->root, d->elems, &status)) == NULL)
		return status;
	if (json_object_get(j, "lFDI") &&
		strcmp(json_string_value(json_object_get(j, "lFDI")), PQgetvalue(e, 0, 1)) != 0)
		return http_error(req, 400, "lFDI is not this EndDevice's (%s)", PQgetvalue(e, 0, 1));
	if ((text = sep2_json_text(req, j)) == NULL)
		return http_error(req, 500, "out of memory");
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = d->resource;
	params[2] = text;
	if (db_exec(req->db, req->arena,
				"INSERT INTO end_device_reports (end_device_id, resource, doc) VALUES ($1, $2, $3::jsonb)",
				3, params, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	return http_reply(req, 204, NULL, "", 0);
}

int
sep2_lel_post(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	json_t	   *j;
	const char *params[4];
	derms_err	err;
	char	   *text;
	PGresult   *r;

	if (e == NULL)
		return status;
	if ((j = sep2_doc_read_body(req, "LogEvent", lel_elems, &status)) == NULL)
		return status;
	if ((text = sep2_json_text(req, j)) == NULL)
		return http_error(req, 500, "out of memory");
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = json_string_value(json_object_get(j, "createdDateTime"));
	params[2] = json_string_value(json_object_get(j, "logEventID"));
	params[3] = text;
	r = db_exec(req->db, req->arena,
				"WITH ins AS (INSERT INTO log_events (end_device_id, created_time, log_event_id, doc)"
				" VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING RETURNING id)"
				" SELECT id FROM ins UNION ALL SELECT id FROM log_events WHERE end_device_id = $1"
				" AND log_event_id = $3 AND created_time = $2 AND NOT EXISTS (SELECT 1 FROM ins)",
				4, params, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	http_add_header(req, "Location", arena_printf(req->arena, "/edev/%s/lel/%s",
												  params[0], PQgetvalue(r, 0, 0)));
	return http_reply(req, 201, SEP2_CT, "", 0);
}

int
sep2_lel_get(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[3];
	PGresult   *count, *rows;
	sep2_xw    *w;
	char		href[64];

	if (e == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(e, 0, 0);
	count = db_exec(req->db, req->arena,
					"SELECT count(*) FROM log_events WHERE end_device_id = $1", 1, params, NULL, &err);
	if (count == NULL)
		return http_db_error(req, NULL, &err);
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	rows = db_exec(req->db, req->arena,
				   "SELECT id, doc FROM log_events WHERE end_device_id = $1"
				   " ORDER BY created_time DESC, log_event_id DESC OFFSET $2 LIMIT $3",
				   3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	snprintf(href, sizeof(href), "/edev/%s/lel", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "LogEventList", "href", href, "subscribable", "0", (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	for (int i = 0; i < PQntuples(rows); i++)
	{
		json_t	   *doc = arena_json_loads(req, PQgetvalue(rows, i, 1));
		char	   *h = arena_printf(req->arena, "%s/%s", href, PQgetvalue(rows, i, 0));

		sep2_xw_open(w, "LogEvent", "href", h, (char *) NULL);
		if (doc)
			sep2_doc_write(w, lel_elems, doc);
		sep2_xw_close(w);
	}
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}
