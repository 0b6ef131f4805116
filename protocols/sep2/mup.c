/*
 * protocols/sep2/mup.c
 *	  IEEE 2030.5 Metering Mirror: MirrorUsagePointList (GET, POST to
 *	  create), MirrorUsagePoint (GET, POST of MirrorMeterReading or
 *	  MirrorMeterReadingList), and the readings they carry.
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  Who may do what: a device mirrors only its own meters (deviceLFDI must
 *	  be its certificate's); an aggregator mirrors the devices it sees
 *	  (registered to its tenant, or enrolled now in one of its aggregations:
 *	  see edev.c); an operator any.  A mirror belongs to the tenant of the
 *	  device it mirrors.  A device sees the mirrors it posted or that name
 *	  it, an aggregator its tenant's and those of the devices enrolled now
 *	  in its aggregations, an operator all; anything else is 404.
 *	  Ingest is idempotent: a MirrorUsagePoint is found again by its mRID, a
 *	  MirrorMeterReading by (mirror, mRID), a reading by (meter reading,
 *	  interval start), so a client that lost an acknowledgement can post
 *	  again.  A request commits its meter-reading records first, then
 *	  makes any missing month partitions, then inserts all its readings in
 *	  one statement; the answer is sent only after that committed.  A
 *	  failure in between leaves only records a retry finds again.  (Making
 *	  a partition inside the data transaction would hold a lock on the
 *	  readings table and could deadlock two posts that each add a month.)
 */
#include "mup.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "protocols/sep2/doc.h"
#include "protocols/sep2/xml.h"

#define SEP2_CT "application/sep+xml"
#define MUP_MAX_READINGS 20000	/* per request; larger posts are refused */
#define MONTHS_CACHED 64

#define S(n, req, t) {n, req, t, NULL, false}
#define C(n, req, kids) {n, req, 0, kids, false}
#define R(n) {n, false, 0, NULL, true}

static const sep2_elem mup_elems[] = {
	S("mRID", true, SEP2_V_HEX16),
	S("description", false, SEP2_V_STR32),
	S("version", false, SEP2_V_U16),
	S("roleFlags", true, SEP2_V_HEX2),
	S("serviceCategoryKind", true, SEP2_V_U8),
	S("status", true, SEP2_V_U8),
	S("deviceLFDI", true, SEP2_V_HEX20),
	R("MirrorMeterReading"),
	S("postRate", false, SEP2_V_U32),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem mmr_elems[] = {
	S("mRID", true, SEP2_V_HEX16),
	S("description", false, SEP2_V_STR32),
	S("version", false, SEP2_V_U16),
	S("lastUpdateTime", false, SEP2_V_TIME),
	R("MirrorReadingSet"),
	S("nextUpdateTime", false, SEP2_V_TIME),
	R("Reading"),				/* at most one; read by hand */
	R("ReadingType"),			/* at most one; its own table */
	{NULL, false, 0, NULL, false}
};

static const sep2_elem mrs_elems[] = {
	S("mRID", true, SEP2_V_HEX16),
	S("description", false, SEP2_V_STR32),
	S("version", false, SEP2_V_U16),
	C("timePeriod", true, sep2_interval),
	R("Reading"),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem reading_elems[] = {
	S("consumptionBlock", false, SEP2_V_U8),
	S("qualityFlags", false, SEP2_V_HEX2),
	C("timePeriod", false, sep2_interval),
	S("touTier", false, SEP2_V_U8),
	S("value", false, SEP2_V_I48),
	S("localID", false, SEP2_V_HEX2),
	{NULL, false, 0, NULL, false}
};

static const sep2_elem reading_type_elems[] = {
	S("accumulationBehaviour", false, SEP2_V_U8),
	C("calorificValue", false, sep2_unit_value),
	S("commodity", false, SEP2_V_U8),
	C("conversionFactor", false, sep2_unit_value),
	S("dataQualifier", false, SEP2_V_U8),
	S("flowDirection", false, SEP2_V_U8),
	S("intervalLength", false, SEP2_V_U32),
	S("kind", false, SEP2_V_U8),
	S("maxNumberOfIntervals", false, SEP2_V_U8),
	S("numberOfConsumptionBlocks", false, SEP2_V_U8),
	S("numberOfTouTiers", false, SEP2_V_U8),
	S("phase", false, SEP2_V_U8),
	S("powerOfTenMultiplier", false, SEP2_V_MULT),
	S("subIntervalLength", false, SEP2_V_U32),
	S("supplyLimit", false, SEP2_V_U48),
	S("tieredConsumptionBlocks", false, SEP2_V_BOOL),
	S("uom", false, SEP2_V_U8),
	{NULL, false, 0, NULL, false}
};

#undef S
#undef C
#undef R

/* Readings of one request, column-wise for one INSERT ... unnest(). */
typedef struct batch
{
	size_t		n;
	size_t		cap;
	int64_t    *mmr;
	int64_t    *start;
	int64_t    *duration;
	int64_t    *value;
	const char **quality;
} batch;

/* Months whose partition this process has made sure of. */
static int	months_done[MONTHS_CACHED];
static int	nmonths_done;

static json_t *
arena_json(http_request *req)
{
	return sep2_json_own(req, json_object());
}

/* ---- visibility ---- */

/* An aggregator ($1) sees mirror m (one) or these mirror ids (list). */
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

/* ---- readings ---- */

static bool
batch_add(arena *a, batch *b, int64_t mmr, int64_t start, int64_t dur,
		  int64_t value, const char *quality)
{
	if (b->n == b->cap)
	{
		size_t		cap = b->cap ? b->cap * 2 : 64;
		int64_t    *m = arena_alloc(a, cap * sizeof(int64_t) * 4);
		const char **q = arena_alloc(a, cap * sizeof(char *));

		if (m == NULL || q == NULL)
			return false;
		if (b->n)
		{
			memcpy(m, b->mmr, b->n * sizeof(int64_t));
			memcpy(m + cap, b->start, b->n * sizeof(int64_t));
			memcpy(m + 2 * cap, b->duration, b->n * sizeof(int64_t));
			memcpy(m + 3 * cap, b->value, b->n * sizeof(int64_t));
			memcpy(q, b->quality, b->n * sizeof(char *));
		}
		b->mmr = m;
		b->start = m + cap;
		b->duration = m + 2 * cap;
		b->value = m + 3 * cap;
		b->quality = q;
		b->cap = cap;
	}
	b->mmr[b->n] = mmr;
	b->start[b->n] = start;
	b->duration[b->n] = dur;
	b->value[b->n] = value;
	b->quality[b->n] = quality;
	b->n++;
	return true;
}

/*
 * One Reading element: its own timePeriod, else the default (the set's
 * period, or the meter reading's lastUpdateTime).  A Reading without a
 * value carries nothing to store and is skipped.
 */
static derms_rc
read_reading(http_request *req, xmlNodePtr r, int64_t mmr, int64_t def_start,
			 int64_t def_dur, batch *b, derms_err *err)
{
	json_t	   *j = arena_json(req);
	json_t	   *tp, *v, *q;
	int64_t		start = def_start, dur = def_dur;

	if (j == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (sep2_doc_parse(req->arena, r, reading_elems, j, err) != DERMS_OK)
		return err->code;
	if ((v = json_object_get(j, "value")) == NULL)
		return DERMS_OK;
	if ((tp = json_object_get(j, "timePeriod")) != NULL)
	{
		start = strtoll(json_string_value(json_object_get(tp, "start")), NULL, 10);
		dur = strtoll(json_string_value(json_object_get(tp, "duration")), NULL, 10);
	}
	if (start < 0)
		return derms_err_set(err, DERMS_EPARSE, "<Reading> at line %ld has no time",
							 (long) xmlGetLineNo(r));
	if (b->n >= MUP_MAX_READINGS)
		return derms_err_set(err, DERMS_ERANGE, "more than %d readings in one request",
							 MUP_MAX_READINGS);
	q = json_object_get(j, "qualityFlags");
	if (!batch_add(req->arena, b, mmr, start, dur,
				   strtoll(json_string_value(v), NULL, 10),
				   q ? arena_strdup(req->arena, json_string_value(q)) : NULL))
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	return DERMS_OK;
}

/*
 * A MirrorMeterReading under mirror mup: record it (and its ReadingType),
 * then collect its readings into b.  Runs inside the caller's transaction.
 */
static derms_rc
ingest_mmr(http_request *req, const char *mup, xmlNodePtr el, batch *b,
		   derms_err *err)
{
	json_t	   *j = arena_json(req);
	json_t	   *rt = NULL;
	xmlNodePtr	rtn, c;
	const char *params[4];
	PGresult   *r;
	int64_t		mmr, last;
	const char *mrid;

	if (j == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (sep2_doc_parse(req->arena, el, mmr_elems, j, err) != DERMS_OK)
		return err->code;
	if ((rtn = sep2_xml_child(el, "ReadingType")) != NULL)
	{
		if (sep2_xml_next(rtn) != NULL)
			return derms_err_set(err, DERMS_EPARSE, "<MirrorMeterReading> has more than one <ReadingType>");
		if ((rt = arena_json(req)) == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		if (sep2_doc_parse(req->arena, rtn, reading_type_elems, rt, err) != DERMS_OK)
			return err->code;
	}
	mrid = arena_strdup(req->arena, json_string_value(json_object_get(j, "mRID")));
	json_object_del(j, "mRID");
	if (mrid == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	params[0] = mup;
	params[1] = mrid;
	params[2] = sep2_json_text(req, j);
	params[3] = rt ? sep2_json_text(req, rt) : NULL;
	if (params[2] == NULL || (rt && params[3] == NULL))
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	r = db_exec(req->db, req->arena,
				"INSERT INTO mirror_meter_readings (mup_id, mrid, doc, reading_type)"
				" VALUES ($1, $2, $3::jsonb, $4::jsonb)"
				" ON CONFLICT (mup_id, mrid) DO UPDATE SET"
				"  reading_type = COALESCE(EXCLUDED.reading_type, mirror_meter_readings.reading_type)"
				" RETURNING id", 4, params, NULL, err);
	if (r == NULL)
		return DERMS_EDB;
	mmr = strtoll(PQgetvalue(r, 0, 0), NULL, 10);

	last = json_object_get(j, "lastUpdateTime")
		? strtoll(json_string_value(json_object_get(j, "lastUpdateTime")), NULL, 10)
		: (int64_t) time(NULL);
	for (c = sep2_xml_child(el, "MirrorReadingSet"); c; c = sep2_xml_next(c))
	{
		json_t	   *s = arena_json(req);
		json_t	   *tp;
		int64_t		start, dur;

		if (s == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		if (sep2_doc_parse(req->arena, c, mrs_elems, s, err) != DERMS_OK)
			return err->code;
		tp = json_object_get(s, "timePeriod");
		start = strtoll(json_string_value(json_object_get(tp, "start")), NULL, 10);
		dur = strtoll(json_string_value(json_object_get(tp, "duration")), NULL, 10);
		for (xmlNodePtr rd = sep2_xml_child(c, "Reading"); rd; rd = sep2_xml_next(rd))
			if (read_reading(req, rd, mmr, start, dur, b, err) != DERMS_OK)
				return err->code;
	}
	if ((c = sep2_xml_child(el, "Reading")) != NULL)
	{
		if (sep2_xml_next(c) != NULL)
			return derms_err_set(err, DERMS_EPARSE, "<MirrorMeterReading> has more than one <Reading>");
		if (read_reading(req, c, mmr, last, 0, b, err) != DERMS_OK)
			return err->code;
	}
	return DERMS_OK;
}

/* Make sure the month partitions of every reading in b exist. */
static derms_rc
ensure_months(http_request *req, const batch *b, derms_err *err)
{
	for (size_t i = 0; i < b->n; i++)
	{
		time_t		t = (time_t) b->start[i];
		struct tm	tm;
		int			ym;
		bool		done = false;
		const char *params[1];

		gmtime_r(&t, &tm);
		ym = (tm.tm_year + 1900) * 100 + tm.tm_mon + 1;
		for (int k = 0; k < nmonths_done && !done; k++)
			done = months_done[k] == ym;
		if (done)
			continue;
		params[0] = arena_printf(req->arena, "%" PRId64, b->start[i]);
		if (db_exec(req->db, req->arena, "SELECT readings_ensure_month(to_timestamp($1::bigint))",
					1, params, NULL, err) == NULL)
			return DERMS_EDB;
		if (nmonths_done < MONTHS_CACHED)
			months_done[nmonths_done++] = ym;
		else
			months_done[ym % MONTHS_CACHED] = ym;
	}
	return DERMS_OK;
}

/* PostgreSQL array literal of b's column (NULL-able text for quality). */
static char *
int_array(arena *a, const int64_t *v, size_t n)
{
	char	   *s = arena_alloc(a, n * 21 + 3);
	char	   *p = s;

	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%" PRId64, i ? "," : "", v[i]);
	*p++ = '}';
	*p = '\0';
	return s;
}

static char *
text_array(arena *a, const char *const *v, size_t n)
{
	char	   *s = arena_alloc(a, n * 8 + 3);
	char	   *p = s;

	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i ? "," : "", v[i] ? v[i] : "NULL");	/* hex only */
	*p++ = '}';
	*p = '\0';
	return s;
}

static derms_rc
insert_batch(http_request *req, const batch *b, derms_err *err)
{
	const char *params[5];

	if (b->n == 0)
		return DERMS_OK;
	params[0] = int_array(req->arena, b->mmr, b->n);
	params[1] = int_array(req->arena, b->start, b->n);
	params[2] = int_array(req->arena, b->duration, b->n);
	params[3] = int_array(req->arena, b->value, b->n);
	params[4] = text_array(req->arena, b->quality, b->n);
	for (int i = 0; i < 5; i++)
		if (params[i] == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (db_exec(req->db, req->arena,
				"INSERT INTO readings (mmr_id, interval_start, duration_s, value, quality_flags)"
				" SELECT m, to_timestamp(s), d, v, q"
				" FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::text[])"
				"  AS t(m, s, d, v, q)"
				" ON CONFLICT (mmr_id, interval_start) DO NOTHING",
				5, params, NULL, err) == NULL)
		return DERMS_EDB;
	return DERMS_OK;
}

/* Collect readings of the MirrorMeterReading elements under parent; the
 * caller is inside a transaction. */
static derms_rc
ingest_children(http_request *req, const char *mup, xmlNodePtr parent,
				batch *b, derms_err *err)
{
	for (xmlNodePtr c = sep2_xml_child(parent, "MirrorMeterReading"); c; c = sep2_xml_next(c))
		if (ingest_mmr(req, mup, c, b, err) != DERMS_OK)
			return err->code;
	return DERMS_OK;
}

/*
 * Run fn inside one transaction, then make partitions and insert the
 * batch; COMMIT before answering.  400 for bad documents, 503 when the
 * database fails.
 */
static int
transact(http_request *req, const char *mup, xmlNodePtr parent, derms_err *err,
		 bool *ok)
{
	batch		b = {0};
	derms_rc	rc;

	*ok = false;
	/* parse and record the meter readings, collecting readings */
	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, err) == NULL)
		return http_db_error(req, NULL, err);
	rc = ingest_children(req, mup, parent, &b, err);
	if (rc != DERMS_OK)
	{
		db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, NULL);
		return rc == DERMS_EDB ? http_db_error(req, NULL, err) : http_error(req, 400, "%s", err->msg);
	}
	if (db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, err) == NULL)
		return http_db_error(req, NULL, err);
	/* partitions outside the data transaction, then the readings */
	if (ensure_months(req, &b, err) != DERMS_OK)
		return http_db_error(req, NULL, err);
	if (insert_batch(req, &b, err) != DERMS_OK)
		return http_db_error(req, NULL, err);
	*ok = true;
	return 0;
}

/* ---- resources ---- */

static void
write_mup(sep2_xw *w, PGresult *r, int row, bool root)
{
	char		href[64];
	json_t	   *doc;
	json_error_t jerr;

	snprintf(href, sizeof(href), "/mup/%s", PQgetvalue(r, row, 0));
	sep2_xw_open(w, "MirrorUsagePoint", "href", href, (char *) NULL);
	(void) root;
	doc = json_loads(PQgetvalue(r, row, 3), 0, &jerr);
	sep2_xw_text(w, "mRID", PQgetvalue(r, row, 1));
	if (doc)
	{
		static const char *const before[] = {"description", "version", "roleFlags",
		"serviceCategoryKind", "status"};

		for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		{
			json_t	   *v = json_object_get(doc, before[i]);

			if (v)
				sep2_xw_text(w, before[i], json_string_value(v));
		}
	}
	sep2_xw_text(w, "deviceLFDI", PQgetvalue(r, row, 2));
	if (doc && json_object_get(doc, "postRate"))
		sep2_xw_text(w, "postRate", json_string_value(json_object_get(doc, "postRate")));
	json_decref(doc);
	sep2_xw_close(w);
}

#define MUP_COLUMNS "m.id, m.mrid, m.device_lfdi, m.doc"

int
sep2_mup_list_get(http_request *req)
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
				   arena_printf(req->arena, "SELECT " MUP_COLUMNS " FROM mirror_usage_points m"
								" WHERE %s ORDER BY m.mrid OFFSET $2 LIMIT $3", where),
				   3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "MirrorUsagePointList", "href", "/mup", (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_mup(w, rows, i, false);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* The visible mirror {id}: its row, or NULL after answering. */
static PGresult *
mup_or_answer(http_request *req, int *status)
{
	const char *params[2];
	const char *where = visible(req, true, &params[0]);

	params[1] = req->params[0];
	return sep2_fetch_one(req, req->params[0],
						  arena_printf(req->arena, "SELECT " MUP_COLUMNS " FROM mirror_usage_points m"
									   " WHERE %s AND m.id = $2", where),
						  2, params, status);
}

int
sep2_mup_get(http_request *req)
{
	int			status;
	PGresult   *r = mup_or_answer(req, &status);
	sep2_xw    *w;

	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_mup(w, r, 0, true);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_mup_list_post(http_request *req)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	json_t	   *j;
	const char *mrid, *lfdi;
	const char *params[5];
	PGresult   *r;
	const char *mup;
	bool		ok;
	int			st;

	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_root(doc, "MirrorUsagePoint", &root, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	if ((j = arena_json(req)) == NULL)
		return http_error(req, 500, "out of memory");
	if (sep2_doc_parse(req->arena, root, mup_elems, j, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	mrid = arena_strdup(req->arena, json_string_value(json_object_get(j, "mRID")));
	lfdi = arena_strdup(req->arena, json_string_value(json_object_get(j, "deviceLFDI")));
	json_object_del(j, "mRID");
	json_object_del(j, "deviceLFDI");

	/* who may mirror this device */
	if (req->who.role == HTTP_ROLE_DEVICE && strcmp(lfdi, req->who.id.lfdi) != 0)
		return http_error(req, 403, "a device may mirror only its own meters (deviceLFDI must be %s)",
						  req->who.id.lfdi);
	params[0] = mrid;
	params[1] = lfdi;
	params[2] = req->who.id.lfdi;
	params[3] = req->who.role == HTTP_ROLE_AGGREGATOR
		? arena_printf(req->arena, "%" PRId64, req->who.tenant_id) : NULL;
	params[4] = sep2_json_text(req, j);
	if (req->who.role == HTTP_ROLE_AGGREGATOR)
	{
		const char *p2[2] = {lfdi, params[3]};

		r = db_exec(req->db, req->arena,
					"SELECT 1 FROM end_devices e WHERE e.lfdi = $1 AND (e.tenant_id = $2"
					" OR EXISTS (SELECT 1 FROM fleet_enrolled_lfdis($2, now()) x"
					"  WHERE x.lfdi = e.lfdi))",
					2, p2, NULL, &err);
		if (r == NULL)
			return http_db_error(req, NULL, &err);
		if (PQntuples(r) == 0)
			return http_error(req, 403, "deviceLFDI %s is not a device of this aggregator", lfdi);
	}
	/* create, or find the same mirror again (same mRID and device) */
	r = db_exec(req->db, req->arena,
				"WITH ins AS ("
				" INSERT INTO mirror_usage_points (mrid, device_lfdi, posted_by, tenant_id, doc)"
				" VALUES ($1, $2, $3, COALESCE($4::bigint,"
				"  (SELECT tenant_id FROM end_devices WHERE lfdi = $2)), $5::jsonb)"
				" ON CONFLICT (mrid) DO NOTHING RETURNING id)"
				" SELECT id FROM ins"
				" UNION ALL"
				" SELECT id FROM mirror_usage_points WHERE mrid = $1 AND device_lfdi = $2"
				"  AND NOT EXISTS (SELECT 1 FROM ins)",
				5, params, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 409, "mRID %s is already used by another mirror", mrid);
	mup = arena_strdup(req->arena, PQgetvalue(r, 0, 0));
	st = transact(req, mup, root, &err, &ok);
	if (!ok)
		return st;
	http_add_header(req, "Location", arena_printf(req->arena, "/mup/%s", mup));
	return http_reply(req, 201, SEP2_CT, "", 0);
}

int
sep2_mup_post(http_request *req)
{
	int			status;
	PGresult   *m = mup_or_answer(req, &status);
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	bool		ok;
	int			st;

	if (m == NULL)
		return status;
	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	root = xmlDocGetRootElement(doc);
	if (strcmp((const char *) root->name, "MirrorMeterReadingList") == 0)
	{
		static const sep2_elem list[] = {
			{"MirrorMeterReading", false, 0, NULL, true},
			{NULL, false, 0, NULL, false}
		};

		if (sep2_doc_check(root, list, &err) != DERMS_OK)
			return http_error(req, 400, "%s", err.msg);
		st = transact(req, PQgetvalue(m, 0, 0), root, &err, &ok);
	}
	else if (strcmp((const char *) root->name, "MirrorMeterReading") == 0)
	{
		/* one reading element: wrap the walk over the document node */
		st = transact(req, PQgetvalue(m, 0, 0), (xmlNodePtr) doc, &err, &ok);
	}
	else
		return http_error(req, 400, "expected <MirrorMeterReading> or <MirrorMeterReadingList>, not <%s>",
						  (const char *) root->name);
	if (!ok)
		return st;
	return http_reply(req, 201, SEP2_CT, "", 0);
}
