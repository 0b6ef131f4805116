/*
 * protocols/sep2/upt.c
 *	  IEEE 2030.5 Metering: the telemetry posted through mirrors (mup.c),
 *	  read back:
 *	    /upt                              UsagePointList
 *	    /upt/{u}                          UsagePoint (one per mirror)
 *	    /upt/{u}/mr, /upt/{u}/mr/{m}      MeterReadingList, MeterReading
 *	    /upt/{u}/mr/{m}/rt                ReadingType
 *	    /upt/{u}/mr/{m}/r                 the latest Reading (ReadingLink)
 *	    /upt/{u}/mr/{m}/rs, .../rs/{s}    ReadingSetList, ReadingSet
 *	    /upt/{u}/mr/{m}/rs/{s}/r[/{t}]    ReadingList, Reading
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  A UsagePoint is the read side of one MirrorUsagePoint (same id and
 *	  mRID), a MeterReading that of one MirrorMeterReading.  Visibility is
 *	  the mirrors' (mup.c): a device sees the mirrors it posted or that
 *	  name it, an aggregator its tenant's and those of the devices enrolled
 *	  now in its aggregations, an operator all; anything else is 404.
 *	  Readings are served in ReadingSets of one UTC day each: set {s} is
 *	  day s (UTC seconds / 86400) and holds the readings whose interval
 *	  starts in it, and a Reading's id {t} is its interval start.  Lists
 *	  honour s, l and a: a ReadingSetList with a lists the days that end
 *	  after a, newest first; a ReadingList with a lists the readings that
 *	  start at or after a, oldest first.  Every reading query starts from
 *	  the readings primary key (mmr_id, interval_start) of each month
 *	  partition.
 */
#include "upt.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocols/sep2/doc.h"
#include "protocols/sep2/xml.h"

#define DAY_S 86400

/* sep.xsd's ReadingType, in sequence order (mup.c checks the same on
 * ingest and keeps the values as canonical text). */
static const sep2_elem reading_type_elems[] = {
	{"accumulationBehaviour", false, SEP2_V_U8, NULL, false},
	{"calorificValue", false, 0, sep2_unit_value, false},
	{"commodity", false, SEP2_V_U8, NULL, false},
	{"conversionFactor", false, 0, sep2_unit_value, false},
	{"dataQualifier", false, SEP2_V_U8, NULL, false},
	{"flowDirection", false, SEP2_V_U8, NULL, false},
	{"intervalLength", false, SEP2_V_U32, NULL, false},
	{"kind", false, SEP2_V_U8, NULL, false},
	{"maxNumberOfIntervals", false, SEP2_V_U8, NULL, false},
	{"numberOfConsumptionBlocks", false, SEP2_V_U8, NULL, false},
	{"numberOfTouTiers", false, SEP2_V_U8, NULL, false},
	{"phase", false, SEP2_V_U8, NULL, false},
	{"powerOfTenMultiplier", false, SEP2_V_MULT, NULL, false},
	{"subIntervalLength", false, SEP2_V_U32, NULL, false},
	{"supplyLimit", false, SEP2_V_U48, NULL, false},
	{"tieredConsumptionBlocks", false, SEP2_V_BOOL, NULL, false},
	{"uom", false, SEP2_V_U8, NULL, false},
	{NULL, false, 0, NULL, false}
};

/* ---- visibility: the mirrors' rules (mup.c) ---- */

#define AGGREGATOR_SEES_ONE \
	"(m.tenant_id = $1 OR EXISTS (SELECT 1 FROM fleet_enrolled_lfdis($1, now()) x" \
	" WHERE x.lfdi = m.device_lfdi))"
#define AGGREGATOR_SEES_LIST \
	"m.id IN (SELECT o.id FROM mirror_usage_points o WHERE o.tenant_id = $1" \
	" UNION SELECT u.id FROM fleet_enrolled_lfdis($1, now()) x" \
	" JOIN mirror_usage_points u ON u.device_lfdi = x.lfdi)"

static const char *
visible(http_request *req, bool one, const char **param)
{
	switch (req->who.role)
	{
		case HTTP_ROLE_DEVICE:
			*param = req->who.id.lfdi;
			return "(m.posted_by = $1 OR m.device_lfdi = $1)";
		case HTTP_ROLE_AGGREGATOR:
			*param = arena_printf(req->arena, "%" PRId64, req->who.tenant_id);
			return one ? AGGREGATOR_SEES_ONE : AGGREGATOR_SEES_LIST;
		default:
			*param = "";
			return "$1 = $1";
	}
}

#define UPT_COLUMNS "m.id, m.mrid, m.device_lfdi, m.doc," \
	" (SELECT count(*) FROM mirror_meter_readings r WHERE r.mup_id = m.id)"

/* The visible UsagePoint {u}, or NULL after answering. */
static PGresult *
upt_or_answer(http_request *req, int *status)
{
	const char *params[2];
	const char *where = visible(req, true, &params[0]);

	params[1] = req->params[0];
	return sep2_fetch_one(req, req->params[0],
						  arena_printf(req->arena, "SELECT " UPT_COLUMNS
									   " FROM mirror_usage_points m WHERE %s AND m.id = $2", where),
						  2, params, status);
}

#define MR_COLUMNS "r.id, r.mrid, r.doc, r.reading_type IS NOT NULL," \
	" EXISTS (SELECT 1 FROM readings x WHERE x.mmr_id = r.id)"

/* The MeterReading {m} of the visible UsagePoint {u}, or NULL after answering. */
static PGresult *
mr_or_answer(http_request *req, int *status)
{
	PGresult   *u = upt_or_answer(req, status);
	const char *params[2];

	if (u == NULL)
		return NULL;
	params[0] = PQgetvalue(u, 0, 0);
	params[1] = req->params[1];
	return sep2_fetch_one(req, req->params[1],
						  "SELECT " MR_COLUMNS " FROM mirror_meter_readings r"
						  " WHERE r.mup_id = $1 AND r.id = $2", 2, params, status);
}

static void
xw_link(sep2_xw *w, const char *name, const char *href)
{
	sep2_xw_open(w, name, "href", href, (char *) NULL);
	sep2_xw_close(w);
}

/* Write the text elements names of the stored doc that are present. */
static void
write_doc_texts(sep2_xw *w, json_t *doc, const char *const *names, size_t n)
{
	for (size_t i = 0; doc && i < n; i++)
	{
		json_t	   *v = json_object_get(doc, names[i]);

		if (json_is_string(v))
			sep2_xw_text(w, names[i], json_string_value(v));
	}
}

static json_t *
load_doc(http_request *req, const char *text)
{
	json_error_t jerr;

	return sep2_json_own(req, json_loads(text, 0, &jerr));
}

/* ---- UsagePoint ---- */

static void
write_upt(http_request *req, sep2_xw *w, PGresult *r, int row)
{
	static const char *const ident[] = {"description", "version"};
	static const char *const base[] = {"roleFlags", "serviceCategoryKind", "status"};
	json_t	   *doc = load_doc(req, PQgetvalue(r, row, 3));
	char		href[64], mr[80];

	snprintf(href, sizeof(href), "/upt/%s", PQgetvalue(r, row, 0));
	snprintf(mr, sizeof(mr), "%s/mr", href);
	sep2_xw_open(w, "UsagePoint", "href", href, (char *) NULL);
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	write_doc_texts(w, doc, ident, 2);
	write_doc_texts(w, doc, base, 3);
	/* required by the schema; a mirror always has them, but be safe */
	if (doc == NULL || !json_object_get(doc, "roleFlags"))
		sep2_xw_text(w, "roleFlags", "00");
	if (doc == NULL || !json_object_get(doc, "serviceCategoryKind"))
		sep2_xw_text(w, "serviceCategoryKind", "0");
	if (doc == NULL || !json_object_get(doc, "status"))
		sep2_xw_text(w, "status", "0");
	sep2_xw_text(w, "deviceLFDI", PQgetvalue(r, row, 2));
	sep2_xw_open(w, "MeterReadingListLink", "href", mr, "all", PQgetvalue(r, row, 4),
				 (char *) NULL);
	sep2_xw_close(w);
	sep2_xw_close(w);
}

int
sep2_upt_list_get(http_request *req)
{
	sep2_page	pg;
	derms_err	err;
	const char *params[3];
	const char *where = visible(req, false, &params[0]);
	PGresult   *count, *rows;
	sep2_xw    *w;

	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	count = db_exec(req->db, req->arena,
					arena_printf(req->arena, "SELECT count(*) FROM mirror_usage_points m WHERE %s", where),
					1, params, NULL, &err);
	if (count == NULL)
		return http_db_error(req, NULL, &err);
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	rows = db_exec(req->db, req->arena,
				   arena_printf(req->arena, "SELECT " UPT_COLUMNS " FROM mirror_usage_points m"
								" WHERE %s ORDER BY m.mrid OFFSET $2 LIMIT $3", where),
				   3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "UsagePointList", "href", "/upt", "subscribable", "0", (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_upt(req, w, rows, i);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_upt_get(http_request *req)
{
	int			status;
	PGresult   *r = upt_or_answer(req, &status);
	sep2_xw    *w;

	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_upt(req, w, r, 0);
	return sep2_reply_xml(req, w, 200);
}

/* ---- MeterReading ---- */

static void
write_mr(http_request *req, sep2_xw *w, const char *upt, PGresult *r, int row)
{
	static const char *const ident[] = {"description", "version"};
	json_t	   *doc = load_doc(req, PQgetvalue(r, row, 2));
	char		href[96], l[128];

	snprintf(href, sizeof(href), "/upt/%s/mr/%s", upt, PQgetvalue(r, row, 0));
	sep2_xw_open(w, "MeterReading", "href", href, (char *) NULL);
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	write_doc_texts(w, doc, ident, 2);
	if (PQgetvalue(r, row, 4)[0] == 't')
	{
		snprintf(l, sizeof(l), "%s/r", href);
		xw_link(w, "ReadingLink", l);
	}
	snprintf(l, sizeof(l), "%s/rs", href);
	xw_link(w, "ReadingSetListLink", l);
	snprintf(l, sizeof(l), "%s/rt", href);
	xw_link(w, "ReadingTypeLink", l);
	sep2_xw_close(w);
}

int
sep2_upt_mr_list_get(http_request *req)
{
	int			status;
	PGresult   *u = upt_or_answer(req, &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[3];
	PGresult   *rows;
	sep2_xw    *w;
	char		href[64];

	if (u == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(u, 0, 0);
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	rows = db_exec(req->db, req->arena,
				   "SELECT " MR_COLUMNS " FROM mirror_meter_readings r WHERE r.mup_id = $1"
				   " ORDER BY r.mrid, r.id OFFSET $2 LIMIT $3", 3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	snprintf(href, sizeof(href), "/upt/%s/mr", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "MeterReadingList", "href", href, "subscribable", "0", (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(u, 0, 4), NULL, 10),
					   (uint32_t) PQntuples(rows));
	for (int i = 0; i < PQntuples(rows); i++)
		write_mr(req, w, params[0], rows, i);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_upt_mr_get(http_request *req)
{
	int			status;
	PGresult   *r = mr_or_answer(req, &status);
	sep2_xw    *w;

	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_mr(req, w, req->params[0], r, 0);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_upt_rt_get(http_request *req)
{
	int			status;
	PGresult   *r = mr_or_answer(req, &status);
	const char *params[1];
	derms_err	err;
	PGresult   *rt;
	json_t	   *doc = NULL;
	sep2_xw    *w;

	if (r == NULL)
		return status;
	params[0] = PQgetvalue(r, 0, 0);
	rt = db_exec(req->db, req->arena,
				 "SELECT reading_type FROM mirror_meter_readings WHERE id = $1",
				 1, params, NULL, &err);
	if (rt == NULL)
		return http_db_error(req, NULL, &err);
	if (!PQgetisnull(rt, 0, 0))
		doc = load_doc(req, PQgetvalue(rt, 0, 0));
	/* every element is optional: a meter reading posted without one gets
	 * an empty ReadingType */
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "ReadingType", "href", req->path, (char *) NULL);
	if (doc)
		sep2_doc_write(w, reading_type_elems, doc);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* ---- Reading ---- */

#define READING_COLUMNS "extract(epoch FROM x.interval_start)::bigint, x.duration_s," \
	" x.value, x.quality_flags"

static void
write_reading(sep2_xw *w, const char *href, PGresult *r, int row, bool root)
{
	if (root)
		sep2_xw_open(w, "Reading", "href", href, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, "Reading", "href", href, (char *) NULL);
	if (!PQgetisnull(r, row, 3))
		sep2_xw_text(w, "qualityFlags", PQgetvalue(r, row, 3));
	sep2_xw_open(w, "timePeriod", (char *) NULL);
	sep2_xw_text(w, "duration", PQgetvalue(r, row, 1));
	sep2_xw_text(w, "start", PQgetvalue(r, row, 0));
	sep2_xw_close(w);
	sep2_xw_text(w, "value", PQgetvalue(r, row, 2));
	sep2_xw_close(w);
}

/* href of the Reading at row: under its day's ReadingSet */
static const char *
reading_href(http_request *req, PGresult *r, int row)
{
	int64_t		t = strtoll(PQgetvalue(r, row, 0), NULL, 10);

	return arena_printf(req->arena, "/upt/%s/mr/%s/rs/%" PRId64 "/r/%" PRId64,
						req->params[0], req->params[1], t / DAY_S, t);
}

int
sep2_upt_latest_get(http_request *req)
{
	int			status;
	PGresult   *m = mr_or_answer(req, &status);
	const char *params[1];
	derms_err	err;
	PGresult   *r;
	sep2_xw    *w;

	if (m == NULL)
		return status;
	params[0] = PQgetvalue(m, 0, 0);
	r = db_exec(req->db, req->arena,
				"SELECT " READING_COLUMNS " FROM readings x WHERE x.mmr_id = $1"
				" ORDER BY x.interval_start DESC LIMIT 1", 1, params, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "no reading has been posted");
	w = sep2_xw_new(req->arena);
	/* the latest Reading, served under its own href */
	write_reading(w, reading_href(req, r, 0), r, 0, true);
	return sep2_reply_xml(req, w, 200);
}

/* ---- ReadingSet: one UTC day ---- */

/* mRID of day d of meter reading m: 32 hex digits, unique per (m, d). */
static const char *
set_mrid(arena *a, const char *m, int64_t d)
{
	return arena_printf(a, "%020" PRIX64 "%012" PRIX64, (uint64_t) strtoull(m, NULL, 10),
						(uint64_t) d);
}

static void
write_set(http_request *req, sep2_xw *w, const char *mr, int64_t day)
{
	char		href[160], l[176];

	snprintf(href, sizeof(href), "/upt/%s/mr/%s/rs/%" PRId64, req->params[0],
			 req->params[1], day);
	snprintf(l, sizeof(l), "%s/r", href);
	sep2_xw_open(w, "ReadingSet", "href", href, (char *) NULL);
	sep2_xw_text(w, "mRID", set_mrid(req->arena, mr, day));
	sep2_xw_open(w, "timePeriod", (char *) NULL);
	sep2_xw_int(w, "duration", DAY_S);
	sep2_xw_int(w, "start", day * DAY_S);
	sep2_xw_close(w);
	xw_link(w, "ReadingListLink", l);
	sep2_xw_close(w);
}

int
sep2_upt_rs_list_get(http_request *req)
{
	int			status;
	PGresult   *m = mr_or_answer(req, &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[2];
	PGresult   *days;
	sep2_xw    *w;
	uint32_t	all, results;
	char		href[128];

	if (m == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(m, 0, 0);
	params[1] = pg.has_after ? arena_printf(req->arena, "%" PRId64, pg.after) : NULL;
	/* the days with readings (ending after a), newest first */
	days = db_exec(req->db, req->arena,
				   "SELECT DISTINCT (extract(epoch FROM x.interval_start)::bigint / 86400) AS d"
				   " FROM readings x WHERE x.mmr_id = $1 AND ($2::bigint IS NULL"
				   "  OR x.interval_start >= to_timestamp(($2::bigint / 86400) * 86400))"
				   " ORDER BY d DESC", 2, params, NULL, &err);
	if (days == NULL)
		return http_db_error(req, NULL, &err);
	all = (uint32_t) PQntuples(days);
	results = sep2_page_results(&pg, all);
	snprintf(href, sizeof(href), "/upt/%s/mr/%s/rs", req->params[0], req->params[1]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "ReadingSetList", "href", href, "subscribable", "0", (char *) NULL);
	sep2_xw_list_attrs(w, all, results);
	for (uint32_t i = pg.start; i < pg.start + results; i++)
		write_set(req, w, params[0], strtoll(PQgetvalue(days, (int) i, 0), NULL, 10));
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* The day {s} (req->params[2]) of meter reading m, if it has readings. */
static bool
day_ok(http_request *req, const char *m, int64_t *day, int *status)
{
	const char *params[2];
	derms_err	err;
	PGresult   *r;

	if (!sep2_id_ok(req->params[2]) ||
		(*day = strtoll(req->params[2], NULL, 10)) > INT64_MAX / DAY_S - 1)
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return false;
	}
	params[0] = m;
	params[1] = req->params[2];
	r = db_exec(req->db, req->arena,
				"SELECT 1 FROM readings x WHERE x.mmr_id = $1"
				" AND x.interval_start >= to_timestamp($2::bigint * 86400)"
				" AND x.interval_start < to_timestamp(($2::bigint + 1) * 86400) LIMIT 1",
				2, params, NULL, &err);
	if (r == NULL)
	{
		*status = http_db_error(req, NULL, &err);
		return false;
	}
	if (PQntuples(r) == 0)
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return false;
	}
	return true;
}

int
sep2_upt_rs_get(http_request *req)
{
	int			status;
	PGresult   *m = mr_or_answer(req, &status);
	int64_t		day;
	sep2_xw    *w;

	if (m == NULL)
		return status;
	if (!day_ok(req, PQgetvalue(m, 0, 0), &day, &status))
		return status;
	w = sep2_xw_new(req->arena);
	write_set(req, w, PQgetvalue(m, 0, 0), day);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_upt_r_list_get(http_request *req)
{
	int			status;
	PGresult   *m = mr_or_answer(req, &status);
	sep2_page	pg;
	derms_err	err;
	int64_t		day;
	const char *params[5];
	PGresult   *rows, *count;
	sep2_xw    *w;
	char		href[160];

	if (m == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	if (!day_ok(req, PQgetvalue(m, 0, 0), &day, &status))
		return status;
	params[0] = PQgetvalue(m, 0, 0);
	params[1] = req->params[2];
	params[2] = pg.has_after ? arena_printf(req->arena, "%" PRId64, pg.after) : NULL;
	count = db_exec(req->db, req->arena,
					"SELECT count(*) FROM readings x WHERE x.mmr_id = $1"
					" AND x.interval_start >= greatest(to_timestamp($2::bigint * 86400),"
					"  to_timestamp(coalesce($3::bigint, 0)))"
					" AND x.interval_start < to_timestamp(($2::bigint + 1) * 86400)",
					3, params, NULL, &err);
	if (count == NULL)
		return http_db_error(req, NULL, &err);
	params[3] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[4] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	rows = db_exec(req->db, req->arena,
				   "SELECT " READING_COLUMNS " FROM readings x WHERE x.mmr_id = $1"
				   " AND x.interval_start >= greatest(to_timestamp($2::bigint * 86400),"
				   "  to_timestamp(coalesce($3::bigint, 0)))"
				   " AND x.interval_start < to_timestamp(($2::bigint + 1) * 86400)"
				   " ORDER BY x.interval_start OFFSET $4 LIMIT $5", 5, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	snprintf(href, sizeof(href), "/upt/%s/mr/%s/rs/%s/r", req->params[0], req->params[1],
			 req->params[2]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "ReadingList", "href", href, "subscribable", "0", (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	for (int i = 0; i < PQntuples(rows); i++)
		write_reading(w, reading_href(req, rows, i), rows, i, false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_upt_r_get(http_request *req)
{
	int			status;
	PGresult   *m = mr_or_answer(req, &status);
	const char *params[3];
	PGresult   *r;
	sep2_xw    *w;

	if (m == NULL)
		return status;
	if (!sep2_id_ok(req->params[2]))
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	params[0] = PQgetvalue(m, 0, 0);
	params[1] = req->params[2];
	params[2] = req->params[3];
	/* the reading must lie in the day its URL names */
	r = sep2_fetch_one(req, req->params[3],
					   "SELECT " READING_COLUMNS " FROM readings x WHERE x.mmr_id = $1"
					   " AND x.interval_start = to_timestamp($3::bigint)"
					   " AND $3::bigint / 86400 = $2::bigint", 3, params, &status);
	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_reading(w, req->path, r, 0, true);
	return sep2_reply_xml(req, w, 200);
}
