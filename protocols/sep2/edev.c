/*
 * protocols/sep2/edev.c
 *	  IEEE 2030.5 EndDevice function set: the EndDeviceList (GET with
 *	  paging, POST to register), one EndDevice, and its Registration.
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  Visibility: a device certificate sees only the EndDevice whose LFDI
 *	  is its own; an aggregator sees the devices its tenant registered and
 *	  those whose LFDI is a DER enrolled, at this instant, in one of its
 *	  aggregations (fleet_enrolled_lfdis(), schema/0008_fleet_history.sql),
 *	  so approval shows a device and the end of its enrollment hides it at
 *	  the effective time; an operator sees all.  Anything else answers
 *	  404, exactly like a URL that does not exist, so ids reveal nothing.
 *	  One EndDevice (the hot path) is checked with a correlated EXISTS
 *	  that runs as index lookups from its LFDI; the list starts from the
 *	  tenant's devices and aggregations (both indexed), never a scan of
 *	  end_devices.
 *	  Registration (POST) is idempotent: posting the same device again
 *	  answers 201 with the same Location, so a client that lost the first
 *	  answer can retry.  The lFDI and sFDI must agree (the sFDI is derived
 *	  from the lFDI), and a device may register only itself.
 *	  The list is ordered by sFDI, then id; times are UTC seconds.
 */
#include "edev.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocols/sep2/doc.h"
#include "protocols/sep2/sub.h"
#include "protocols/sep2/xml.h"

#define SEP2_CT "application/sep+xml"

/* An aggregator ($1) sees one EndDevice row of end_devices: */
#define AGGREGATOR_SEES_ONE \
	"(tenant_id = $1 OR EXISTS (SELECT 1 FROM fleet_enrolled_lfdis($1, now()) x" \
	" WHERE x.lfdi = end_devices.lfdi))"

/* An aggregator ($1) sees these EndDevice ids: */
#define AGGREGATOR_SEES_LIST \
	"id IN (SELECT o.id FROM end_devices o WHERE o.tenant_id = $1" \
	" UNION SELECT e.id FROM fleet_enrolled_lfdis($1, now()) x" \
	" JOIN end_devices e ON e.lfdi = x.lfdi)"

/*
 * The WHERE clause and its one parameter for what the caller may see;
 * one: the clause for a query by id, else the one for the list.
 */
static const char *
visible(http_request *req, bool one, const char **param)
{
	switch (req->who.role)
	{
		case HTTP_ROLE_DEVICE:
			*param = req->who.id.lfdi;
			return "lfdi = $1";
		case HTTP_ROLE_AGGREGATOR:
			*param = arena_printf(req->arena, "%" PRId64, req->who.tenant_id);
			return one ? AGGREGATOR_SEES_ONE : AGGREGATOR_SEES_LIST;
		default:
			*param = "";
			return "$1 = $1";
	}
}

/* Write one EndDevice from a row: id, lfdi, sfdi, enabled, changed,
 * has_pin, post_rate (NULL: post_rate is the default). */
static void
write_edev(sep2_xw *w, PGresult *r, int row, bool root, int post_rate)
{
	char		href[64];
	const char *id = PQgetvalue(r, row, 0);

	snprintf(href, sizeof(href), "/edev/%s", id);
	if (root)
		sep2_xw_open(w, "EndDevice", "href", href, "subscribable", SEP2_SUB_YES,
					 (char *) NULL);
	else
		sep2_xw_open(w, "EndDevice", "href", href, (char *) NULL);
	{
		char		der[80];

		snprintf(der, sizeof(der), "/edev/%s/der", id);
		sep2_xw_open(w, "DERListLink", "href", der, (char *) NULL);
		sep2_xw_close(w);
		snprintf(der, sizeof(der), "/edev/%s/di", id);
		sep2_xw_open(w, "DeviceInformationLink", "href", der, (char *) NULL);
		sep2_xw_close(w);
		snprintf(der, sizeof(der), "/edev/%s/dstat", id);
		sep2_xw_open(w, "DeviceStatusLink", "href", der, (char *) NULL);
		sep2_xw_close(w);
	}
	sep2_xw_text(w, "lFDI", PQgetvalue(r, row, 1));
	{
		char		l[80];

		snprintf(l, sizeof(l), "/edev/%s/lel", id);
		sep2_xw_open(w, "LogEventListLink", "href", l, (char *) NULL);
		sep2_xw_close(w);
		snprintf(l, sizeof(l), "/edev/%s/ps", id);
		sep2_xw_open(w, "PowerStatusLink", "href", l, (char *) NULL);
		sep2_xw_close(w);
	}
	sep2_xw_text(w, "sFDI", PQgetvalue(r, row, 2));
	sep2_xw_text(w, "changedTime", PQgetvalue(r, row, 4));
	sep2_xw_bool(w, "enabled", PQgetvalue(r, row, 3)[0] == 't');
	{
		char		fsa[80];

		snprintf(fsa, sizeof(fsa), "/edev/%s/fsa", id);
		sep2_xw_open(w, "FunctionSetAssignmentsListLink", "href", fsa, (char *) NULL);
		sep2_xw_close(w);
	}
	if (!PQgetisnull(r, row, 6))
		sep2_xw_text(w, "postRate", PQgetvalue(r, row, 6));
	else
		sep2_xw_int(w, "postRate", post_rate);
	if (PQgetvalue(r, row, 5)[0] == 't')
	{
		char		rg[80];

		snprintf(rg, sizeof(rg), "/edev/%s/rg", id);
		sep2_xw_open(w, "RegistrationLink", "href", rg, (char *) NULL);
		sep2_xw_close(w);
	}
	sep2_xw_close(w);
}

#define EDEV_COLUMNS "id, lfdi, sfdi, enabled, " \
	"extract(epoch FROM changed_at)::bigint, registration_pin IS NOT NULL, post_rate"

int
sep2_edev_list_get(http_request *req)
{
	sep2_page	pg;
	derms_err	err;
	const char *param;
	const char *where = visible(req, false, &param);
	char	   *sql;
	char		off[16], lim[16];
	const char *params[3];
	PGresult   *count, *rows;
	uint32_t	all;
	sep2_xw    *w;

	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);

	params[0] = param;
	sql = arena_printf(req->arena, "SELECT count(*) FROM end_devices WHERE %s", where);
	count = db_exec(req->db, req->arena, sql, 1, params, NULL, &err);
	if (count == NULL)
		return http_db_error(req, NULL, &err);
	all = (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10);

	snprintf(off, sizeof(off), "%" PRIu32, pg.start);
	snprintf(lim, sizeof(lim), "%" PRIu32, pg.limit);
	params[1] = off;
	params[2] = lim;
	sql = arena_printf(req->arena,
					   "SELECT " EDEV_COLUMNS " FROM end_devices WHERE %s"
					   " ORDER BY sfdi, id OFFSET $2 LIMIT $3", where);
	rows = db_exec(req->db, req->arena, sql, 3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);

	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "EndDeviceList", "href", "/edev", "subscribable", "0",
				 (char *) NULL);
	sep2_xw_list_attrs(w, all, (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_edev(w, rows, i, false, req->cfg->sep2_post_rate_s);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

PGresult *
sep2_edev_fetch(http_request *req, const char *edev_id, int *status)
{
	const char *params[2];
	const char *where = visible(req, true, &params[0]);

	params[1] = edev_id;
	return sep2_fetch_one(req, edev_id,
						  arena_printf(req->arena, "SELECT " EDEV_COLUMNS
									   " FROM end_devices WHERE %s AND id = $2", where),
						  2, params, status);
}

int
sep2_edev_get(http_request *req)
{
	int			status;
	PGresult   *r = sep2_edev_fetch(req, req->params[0], &status);
	sep2_xw    *w;

	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_edev(w, r, 0, true, req->cfg->sep2_post_rate_s);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_edev_rg_get(http_request *req)
{
	int			status;
	PGresult   *r = sep2_edev_fetch(req, req->params[0], &status);
	const char *params[1];
	derms_err	err;
	PGresult   *rg;
	sep2_xw    *w;
	char		href[80];

	if (r == NULL)
		return status;
	params[0] = PQgetvalue(r, 0, 0);
	rg = db_exec(req->db, req->arena,
				 "SELECT extract(epoch FROM created_at)::bigint, registration_pin"
				 " FROM end_devices WHERE id = $1 AND registration_pin IS NOT NULL",
				 1, params, NULL, &err);
	if (rg == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(rg) == 0)
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	snprintf(href, sizeof(href), "/edev/%s/rg", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "Registration", "href", href, (char *) NULL);
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	sep2_xw_text(w, "dateTimeRegistered", PQgetvalue(rg, 0, 0));
	sep2_xw_text(w, "pIN", PQgetvalue(rg, 0, 1));
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_edev_list_post(http_request *req)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	uint8_t		lfdi_bytes[20];
	size_t		lfdi_len = 0;
	int64_t		sfdi;
	char		lfdi[41], sfdi_s[24], tenant[32];
	const char *params[4];
	PGresult   *r;
	char		state[6];
	char	   *loc;

	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_root(doc, "EndDevice", &root, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK ||
		sep2_xml_hex(root, "lFDI", SEP2_XML_REQUIRED, 20, 20, lfdi_bytes,
					 sizeof(lfdi_bytes), &lfdi_len, &err) != DERMS_OK ||
		sep2_xml_int64(root, "sFDI", SEP2_XML_REQUIRED, 0,
					   (int64_t) IDENTITY_SFDI_MAX, &sfdi, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);

	for (size_t i = 0; i < 20; i++)
		snprintf(lfdi + 2 * i, 3, "%02X", lfdi_bytes[i]);
	if ((uint64_t) sfdi != identity_sfdi_from_lfdi_hex(lfdi))
		return http_error(req, 400, "sFDI %" PRId64 " does not belong to lFDI %s (expected %" PRIu64 ")",
						  sfdi, lfdi, identity_sfdi_from_lfdi_hex(lfdi));
	if (req->who.role == HTTP_ROLE_DEVICE && strcmp(lfdi, req->who.id.lfdi) != 0)
		return http_error(req, 403, "a device may register only itself (its certificate's lFDI is %s)",
						  req->who.id.lfdi);

	snprintf(sfdi_s, sizeof(sfdi_s), "%" PRId64, sfdi);
	snprintf(tenant, sizeof(tenant), "%" PRId64, req->who.tenant_id);
	params[0] = lfdi;
	params[1] = sfdi_s;
	params[2] = req->who.role == HTTP_ROLE_AGGREGATOR ? tenant : NULL;
	/*
	 * Insert, or find the same device again.  A row registered by another
	 * tenant is a conflict, not something to take over.
	 */
	r = db_exec(req->db, req->arena,
				"WITH ins AS ("
				" INSERT INTO end_devices (lfdi, sfdi, tenant_id) VALUES ($1, $2, $3)"
				" ON CONFLICT (lfdi) DO NOTHING RETURNING id, true AS created)"
				" SELECT id, created FROM ins"
				" UNION ALL"
				" SELECT id, false FROM end_devices"
				"  WHERE lfdi = $1 AND tenant_id IS NOT DISTINCT FROM $3::bigint"
				"  AND NOT EXISTS (SELECT 1 FROM ins)",
				3, params, state, &err);
	if (r == NULL)
		return http_db_error(req, state, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 409, "lFDI %s is registered to another owner", lfdi);
	loc = arena_printf(req->arena, "/edev/%s", PQgetvalue(r, 0, 0));
	http_add_header(req, "Location", loc);
	return http_reply(req, 201, SEP2_CT, "", 0);
}
