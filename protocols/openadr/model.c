/*
 * protocols/openadr/model.c
 *	  The OpenADR 3.1.0 request schemas as tables, one validator that walks
 *	  them, and the serializer of stored objects.
 *
 * NOTES
 *	  Each schema of the YAML is one otype row: its JSON kind, string
 *	  format and length bounds (in code points, as JSON Schema counts),
 *	  integer range, enum, array item type or object fields.  Objects
 *	  refuse properties the YAML does not list (a mistyped field would be
 *	  a control silently not applied); only the top level accepts and
 *	  drops the server-provided metadata (see DESIGN.md).  Recursion
 *	  follows the schema, never the input, so its depth is bounded by the
 *	  tables.  Nothing here allocates outside jansson.
 */
#include "model.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PATH_MAX_LEN 256

typedef enum ot_kind
{
	OT_STRING,
	OT_INT,
	OT_NUMBER,
	OT_BOOL,
	OT_OBJECT,
	OT_ARRAY,
	OT_VALUE,					/* valuesMap item: number, string, bool, point */
	OT_PAYLOAD_DESC				/* event or report payload descriptor */
} ot_kind;

typedef enum ot_format
{
	OF_NONE,
	OF_OBJECT_ID,
	OF_DATETIME,
	OF_DURATION,
	OF_URI
} ot_format;

typedef struct otype otype;

#define F_REQ	0x1u			/* required */
#define F_NULL	0x2u			/* nullable */

typedef struct ofield
{
	const char *name;
	const otype *type;
	unsigned	flags;
	const char *dflt;			/* JSON text filled in when absent, or NULL */
} ofield;

struct otype
{
	ot_kind		kind;
	ot_format	fmt;
	int64_t		min;			/* string: code points; int: value */
	int64_t		max;
	const char *const *enums;	/* NULL-terminated, or NULL */
	const otype *items;			/* OT_ARRAY */
	const ofield *fields;		/* OT_OBJECT, ends with a NULL name */
};

/* ---- the schemas of openadr3-3.1.0.yaml ---- */

#define STR(lo, hi)		{OT_STRING, OF_NONE, (lo), (hi), NULL, NULL, NULL}
#define ARRAY_OF(t)		{OT_ARRAY, OF_NONE, 0, 0, NULL, (t), NULL}
#define OBJECT(f)		{OT_OBJECT, OF_NONE, 0, 0, NULL, NULL, (f)}
#define NOLIMIT			INT64_MAX

static const otype t_string = STR(0, NOLIMIT);
static const otype t_name = STR(1, 128);	/* names, targets, types, clientID */
static const otype t_object_id = {OT_STRING, OF_OBJECT_ID, 1, 128, NULL, NULL, NULL};
static const otype t_datetime = {OT_STRING, OF_DATETIME, 0, NOLIMIT, NULL, NULL, NULL};
static const otype t_duration = {OT_STRING, OF_DURATION, 0, NOLIMIT, NULL, NULL, NULL};
static const otype t_uri = {OT_STRING, OF_URI, 2, 8000, NULL, NULL, NULL};
static const otype t_int32 = {OT_INT, OF_NONE, INT32_MIN, INT32_MAX, NULL, NULL, NULL};
static const otype t_priority = {OT_INT, OF_NONE, 0, INT64_MAX, NULL, NULL, NULL};
static const otype t_confidence = {OT_INT, OF_NONE, 0, 100, NULL, NULL, NULL};
static const otype t_number = {OT_NUMBER, OF_NONE, 0, 0, NULL, NULL, NULL};
static const otype t_bool = {OT_BOOL, OF_NONE, 0, 0, NULL, NULL, NULL};
static const otype t_value = {OT_VALUE, OF_NONE, 0, 0, NULL, NULL, NULL};
static const otype t_payload_desc = {OT_PAYLOAD_DESC, OF_NONE, 0, 0, NULL, NULL, NULL};

static const char *const e_object_types[] = {"PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION",
"VEN", "RESOURCE", NULL};
static const char *const e_operations[] = {"READ", "CREATE", "UPDATE", "DELETE", NULL};
static const char *const e_report_intervals[] = {"INTERVALS", "SUB_INTERVALS",
"OPEN_INTERVALS", NULL};
static const char *const e_epd[] = {"EVENT_PAYLOAD_DESCRIPTOR", NULL};
static const char *const e_rpd[] = {"REPORT_PAYLOAD_DESCRIPTOR", NULL};
static const char *const e_bl_ven[] = {"BL_VEN_REQUEST", NULL};
static const char *const e_ven_ven[] = {"VEN_VEN_REQUEST", NULL};
static const char *const e_bl_res[] = {"BL_RESOURCE_REQUEST", NULL};
static const char *const e_ven_res[] = {"VEN_RESOURCE_REQUEST", NULL};

static const otype t_object_type = {OT_STRING, OF_NONE, 0, NOLIMIT, e_object_types, NULL, NULL};
static const otype t_operation = {OT_STRING, OF_NONE, 0, NOLIMIT, e_operations, NULL, NULL};
static const otype t_report_intervals = {OT_STRING, OF_NONE, 0, NOLIMIT, e_report_intervals,
NULL, NULL};
static const otype t_epd_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_epd, NULL, NULL};
static const otype t_rpd_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_rpd, NULL, NULL};
static const otype t_bl_ven_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_bl_ven, NULL, NULL};
static const otype t_ven_ven_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_ven_ven, NULL, NULL};
static const otype t_bl_res_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_bl_res, NULL, NULL};
static const otype t_ven_res_tag = {OT_STRING, OF_NONE, 0, NOLIMIT, e_ven_res, NULL, NULL};

static const otype t_targets = ARRAY_OF(&t_name);
static const otype t_values = ARRAY_OF(&t_value);

static const ofield f_interval_period[] = {
	{"start", &t_datetime, 0, NULL},
	{"duration", &t_duration, 0, NULL},
	{"randomizeStart", &t_duration, 0, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_interval_period = OBJECT(f_interval_period);

static const ofield f_point[] = {
	{"x", &t_number, F_REQ, NULL},
	{"y", &t_number, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_values_map[] = {
	{"type", &t_name, F_REQ, NULL},
	{"values", &t_values, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_values_map = OBJECT(f_values_map);
static const otype t_values_maps = ARRAY_OF(&t_values_map);

static const ofield f_interval[] = {
	{"id", &t_int32, F_REQ, NULL},
	{"intervalPeriod", &t_interval_period, 0, NULL},
	{"payloads", &t_values_maps, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_interval = OBJECT(f_interval);
static const otype t_intervals = ARRAY_OF(&t_interval);

static const ofield f_event_pd[] = {
	{"objectType", &t_epd_tag, F_REQ, NULL},
	{"payloadType", &t_name, F_REQ, NULL},
	{"units", &t_name, F_NULL, NULL},
	{"currency", &t_string, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_event_pd = OBJECT(f_event_pd);
static const otype t_event_pds = ARRAY_OF(&t_event_pd);

static const ofield f_report_pd[] = {
	{"objectType", &t_rpd_tag, F_REQ, NULL},
	{"payloadType", &t_name, F_REQ, NULL},
	{"readingType", &t_name, F_NULL, NULL},
	{"units", &t_name, F_NULL, NULL},
	{"accuracy", &t_number, F_NULL, NULL},
	{"confidence", &t_confidence, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_report_pd = OBJECT(f_report_pd);
static const otype t_report_pds = ARRAY_OF(&t_report_pd);
static const otype t_any_pds = ARRAY_OF(&t_payload_desc);

static const ofield f_report_desc[] = {
	{"payloadType", &t_name, F_REQ, NULL},
	{"readingType", &t_name, F_NULL, NULL},
	{"units", &t_name, F_NULL, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{"aggregate", &t_bool, 0, "false"},
	{"startInterval", &t_int32, 0, "-1"},
	{"numIntervals", &t_int32, 0, "-1"},
	{"historical", &t_bool, 0, "true"},
	{"frequency", &t_int32, 0, "-1"},
	{"repeat", &t_int32, 0, "1"},
	{"reportIntervals", &t_report_intervals, 0, "\"INTERVALS\""},
	{NULL, NULL, 0, NULL}
};
static const otype t_report_desc = OBJECT(f_report_desc);
static const otype t_report_descs = ARRAY_OF(&t_report_desc);

static const ofield f_program_description[] = {
	{"URL", &t_uri, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_program_description = OBJECT(f_program_description);
static const otype t_program_descriptions = ARRAY_OF(&t_program_description);

static const ofield f_program[] = {
	{"programName", &t_name, F_REQ, NULL},
	{"intervalPeriod", &t_interval_period, 0, NULL},
	{"programDescriptions", &t_program_descriptions, F_NULL, NULL},
	{"payloadDescriptors", &t_any_pds, F_NULL, NULL},
	{"attributes", &t_values_maps, F_NULL, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_event[] = {
	{"programID", &t_object_id, F_REQ, NULL},
	{"eventName", &t_string, F_NULL, NULL},
	{"duration", &t_duration, 0, NULL},
	{"priority", &t_priority, F_NULL, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{"reportDescriptors", &t_report_descs, F_NULL, NULL},
	{"payloadDescriptors", &t_event_pds, F_NULL, NULL},
	{"intervalPeriod", &t_interval_period, 0, NULL},
	{"intervals", &t_intervals, 0, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_report_resource[] = {
	{"resourceName", &t_name, F_REQ, NULL},
	{"intervalPeriod", &t_interval_period, 0, NULL},
	{"intervals", &t_intervals, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_report_resource = OBJECT(f_report_resource);
static const otype t_report_resources = ARRAY_OF(&t_report_resource);

static const ofield f_report[] = {
	{"eventID", &t_object_id, F_REQ, NULL},
	{"clientName", &t_name, F_REQ, NULL},
	{"reportName", &t_string, F_NULL, NULL},
	{"payloadDescriptors", &t_report_pds, F_NULL, NULL},
	{"resources", &t_report_resources, F_REQ, NULL},
	{NULL, NULL, 0, NULL}
};

static const otype t_object_types = ARRAY_OF(&t_object_type);
static const otype t_operations = ARRAY_OF(&t_operation);
static const ofield f_object_operation[] = {
	{"objects", &t_object_types, F_REQ, NULL},
	{"operations", &t_operations, F_REQ, NULL},
	{"callbackUrl", &t_uri, F_REQ, NULL},
	{"bearerToken", &t_string, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};
static const otype t_object_operation = OBJECT(f_object_operation);
static const otype t_object_operations = ARRAY_OF(&t_object_operation);

static const ofield f_subscription[] = {
	{"clientName", &t_name, F_REQ, NULL},
	{"programID", &t_object_id, 0, NULL},
	{"objectOperations", &t_object_operations, F_REQ, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_bl_ven[] = {
	{"objectType", &t_bl_ven_tag, F_REQ, NULL},
	{"clientID", &t_name, F_REQ, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{"venName", &t_name, F_REQ, NULL},
	{"attributes", &t_values_maps, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_ven_ven[] = {
	{"objectType", &t_ven_ven_tag, F_REQ, NULL},
	{"venName", &t_name, F_REQ, NULL},
	{"attributes", &t_values_maps, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_bl_resource[] = {
	{"objectType", &t_bl_res_tag, F_REQ, NULL},
	{"clientID", &t_name, F_REQ, NULL},
	{"targets", &t_targets, F_NULL, NULL},
	{"resourceName", &t_name, F_REQ, NULL},
	{"venID", &t_object_id, F_REQ, NULL},
	{"attributes", &t_values_maps, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

static const ofield f_ven_resource[] = {
	{"objectType", &t_ven_res_tag, F_REQ, NULL},
	{"resourceName", &t_name, F_REQ, NULL},
	{"venID", &t_object_id, F_REQ, NULL},
	{"attributes", &t_values_maps, F_NULL, NULL},
	{NULL, NULL, 0, NULL}
};

/*
 * Per kind: the objectType it is stored and served as, its request
 * fields (or the BL and VEN variants, told apart by objectType), and
 * whether a clientID sent back on PUT is server metadata to drop.
 */
static const struct
{
	const char *type;
	const ofield *fields;
	const ofield *bl_fields;
	const ofield *ven_fields;
	const char *bl_tag;
	const char *ven_tag;
	bool		client_id_is_meta;
}			kinds[OADR_NKINDS] = {
	[OADR_PROGRAM] = {"PROGRAM", f_program, NULL, NULL, NULL, NULL, false},
	[OADR_EVENT] = {"EVENT", f_event, NULL, NULL, NULL, NULL, false},
	[OADR_REPORT] = {"REPORT", f_report, NULL, NULL, NULL, NULL, true},
	[OADR_SUBSCRIPTION] = {"SUBSCRIPTION", f_subscription, NULL, NULL, NULL, NULL, true},
	[OADR_VEN] = {"VEN", NULL, f_bl_ven, f_ven_ven, "BL_VEN_REQUEST", "VEN_VEN_REQUEST", false},
	[OADR_RESOURCE] = {"RESOURCE", NULL, f_bl_resource, f_ven_resource, "BL_RESOURCE_REQUEST",
	"VEN_RESOURCE_REQUEST", false},
};

/* Metadata the server provides; accepted at the top level and dropped. */
static const char *const meta_fields[] = {"id", "createdDateTime", "modificationDateTime", NULL};

/* ---- walking ---- */

typedef struct walk
{
	char		path[PATH_MAX_LEN];
	size_t		len;
	derms_err  *err;
} walk;

/* Append ".name" (or "name" at the top) or "[index]" to the path. */
static void
path_push(walk *w, size_t *saved, const char *name, size_t index)
{
	int			n;

	*saved = w->len;
	if (w->len >= sizeof(w->path) - 1)
		return;
	if (name != NULL)
		n = snprintf(w->path + w->len, sizeof(w->path) - w->len, "%s%s",
					 w->len == 0 ? "" : ".", name);
	else
		n = snprintf(w->path + w->len, sizeof(w->path) - w->len, "[%zu]", index);
	if (n > 0)
		w->len += (size_t) n;
	if (w->len >= sizeof(w->path))
		w->len = sizeof(w->path) - 1;
}

static void
path_pop(walk *w, size_t saved)
{
	w->len = saved;
	w->path[saved] = '\0';
}

static derms_rc
fail(walk *w, const char *what)
{
	return derms_err_set(w->err, DERMS_EINVAL, "%s: %s",
						 w->len ? w->path : "(body)", what);
}

/* Code points of valid UTF-8 text (jansson only hands us valid UTF-8). */
static size_t
utf8_len(const char *s, size_t bytes)
{
	size_t		n = 0;

	for (size_t i = 0; i < bytes; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

static bool
all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
num(const char *s, size_t n)
{
	int			v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe,
				doy,
				doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

bool
oadr_model_datetime(const char *s, int64_t *epoch)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t		n = strlen(s);
	size_t		i = 19;
	int			y,
				mo,
				d,
				h,
				mi,
				sec,
				off = 0;

	/* YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM) */
	if (n < 20 || !all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) ||
		s[7] != '-' || !all_digits(s + 8, 2) ||
		(s[10] != 'T' && s[10] != 't') || !all_digits(s + 11, 2) ||
		s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
		!all_digits(s + 17, 2))
		return false;
	y = num(s, 4);
	mo = num(s + 5, 2);
	d = num(s + 8, 2);
	h = num(s + 11, 2);
	mi = num(s + 14, 2);
	sec = num(s + 17, 2);
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || sec > 60)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	if (s[i] == '.')
	{
		size_t		j = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == j)
			return false;
	}
	if (i < n && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < n && (s[i] == '+' || s[i] == '-'))
	{
		if (n - i != 6 || !all_digits(s + i + 1, 2) || s[i + 3] != ':' ||
			!all_digits(s + i + 4, 2))
			return false;
		if (num(s + i + 1, 2) > 23 || num(s + i + 4, 2) > 59)
			return false;
		off = (num(s + i + 1, 2) * 60 + num(s + i + 4, 2)) * 60;
		if (s[i] == '-')
			off = -off;
		i += 6;
	}
	else
		return false;
	if (i != n)
		return false;
	if (epoch)
		*epoch = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	return true;
}

/* A parsed duration; fields beyond DURATION_CAP make it "unbounded". */
typedef struct duration
{
	bool		negative;
	int64_t		years,
				months,
				days,
				hours,
				minutes;
	double		seconds;
} duration;

#define DURATION_CAP 1000000

/* Digits at *p into *v (capped); false when there are none. */
static bool
digits(const char **p, int64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		if (*v < DURATION_CAP)
			*v = *v * 10 + (*s - '0');
	*p = s;
	return true;
}

/*
 * ^(-?)P(?=\d|T\d)(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)([DW]))?
 *   (?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$
 * parsed by hand: each optional group is tried in order, backing up when
 * the digits are not followed by its letter.
 */
static bool
duration_parse(const char *s, duration *d)
{
	const char *p = s;
	const char *q;
	int64_t		v;

	memset(d, 0, sizeof(*d));
	if (*p == '-')
	{
		d->negative = true;
		p++;
	}
	if (*p++ != 'P')
		return false;
	if (!((*p >= '0' && *p <= '9') || (p[0] == 'T' && p[1] >= '0' && p[1] <= '9')))
		return false;
	q = p;
	if (digits(&q, &v) && *q == 'Y')
	{
		d->years = v;
		p = q + 1;
	}
	q = p;
	if (digits(&q, &v) && *q == 'M')
	{
		d->months = v;
		p = q + 1;
	}
	q = p;
	if (digits(&q, &v) && (*q == 'D' || *q == 'W'))
	{
		d->days = *q == 'W' ? (v < DURATION_CAP ? v * 7 : v) : v;
		p = q + 1;
	}
	if (*p == 'T')
	{
		p++;
		q = p;
		if (digits(&q, &v) && *q == 'H')
		{
			d->hours = v;
			p = q + 1;
		}
		q = p;
		if (digits(&q, &v) && *q == 'M')
		{
			d->minutes = v;
			p = q + 1;
		}
		q = p;
		if (digits(&q, &v))
		{
			const char *start = p;

			if (*q == '.')
			{
				q++;
				if (!digits(&q, &v))
					return false;
			}
			if (*q != 'S')
				return false;
			d->seconds = strtod(start, NULL);
			p = q + 1;
		}
	}
	return *p == '\0';
}

bool
oadr_model_duration(const char *s)
{
	duration	d;

	return duration_parse(s, &d);
}

static bool
uri_ok(const char *s)
{
	const char *p = s;

	/* scheme ":" rest, no spaces or controls: an absolute URI */
	if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		   (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (*p != ':')
		return false;
	for (; *p; p++)
		if ((unsigned char) *p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' ||
			*p == '>' || *p == '\\' || *p == '^' || *p == '`' || *p == '{' ||
			*p == '|' || *p == '}')
			return false;
	return true;
}

bool
oadr_model_object_id(const char *s)
{
	size_t		n = 0;

	for (const char *p = s; *p; p++, n++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			  (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
			return false;
	return n >= 1 && n <= OADR_ID_MAX;
}

static derms_rc check(walk *w, const otype *t, json_t *in, json_t **out);

static derms_rc
check_string(walk *w, const otype *t, json_t *in, json_t **out)
{
	const char *s;
	size_t		n;
	char		msg[160];

	if (!json_is_string(in))
		return fail(w, "must be a string");
	s = json_string_value(in);
	if (strlen(s) != json_string_length(in))
		return fail(w, "must not contain NUL characters");
	n = utf8_len(s, json_string_length(in));
	if ((int64_t) n < t->min)
	{
		snprintf(msg, sizeof(msg), "must be at least %lld characters long", (long long) t->min);
		return fail(w, msg);
	}
	if (t->max != NOLIMIT && (int64_t) n > t->max)
	{
		snprintf(msg, sizeof(msg), "must be at most %lld characters long", (long long) t->max);
		return fail(w, msg);
	}
	switch (t->fmt)
	{
		case OF_NONE:
			break;
		case OF_OBJECT_ID:
			if (!oadr_model_object_id(s))
				return fail(w, "must match ^[a-zA-Z0-9_-]*$");
			break;
		case OF_DATETIME:
			if (!oadr_model_datetime(s, NULL))
				return fail(w, "must be an RFC 3339 date-time (2024-06-15T09:30:00Z)");
			break;
		case OF_DURATION:
			if (!oadr_model_duration(s))
				return fail(w, "must be an ISO 8601 duration (PT1H)");
			break;
		case OF_URI:
			if (!uri_ok(s))
				return fail(w, "must be an absolute URI");
			break;
	}
	if (t->enums)
	{
		bool		ok = false;
		size_t		k = 0;

		for (const char *const *e = t->enums; *e; e++)
			ok = ok || strcmp(*e, s) == 0;
		if (!ok)
		{
			k = (size_t) snprintf(msg, sizeof(msg), "must be one of");
			for (const char *const *e = t->enums; *e && k < sizeof(msg); e++)
				k += (size_t) snprintf(msg + k, sizeof(msg) - k, "%s %s",
									   e == t->enums ? "" : ",", *e);
			return fail(w, msg);
		}
	}
	*out = json_incref(in);
	return DERMS_OK;
}

static derms_rc
check_int(walk *w, const otype *t, json_t *in, json_t **out)
{
	json_int_t	v;
	char		msg[160];

	if (json_is_integer(in))
		v = json_integer_value(in);
	else if (json_is_real(in) && json_real_value(in) == floor(json_real_value(in)) &&
			 fabs(json_real_value(in)) < 9e15)
		v = (json_int_t) json_real_value(in);
	else
		return fail(w, "must be an integer");
	if (v < t->min || v > t->max)
	{
		if (t->max == INT64_MAX)
			snprintf(msg, sizeof(msg), "must be at least %lld", (long long) t->min);
		else
			snprintf(msg, sizeof(msg), "must be between %lld and %lld",
					 (long long) t->min, (long long) t->max);
		return fail(w, msg);
	}
	*out = json_integer(v);
	return *out ? DERMS_OK : derms_err_set(w->err, DERMS_ENOMEM, "out of memory");
}

static derms_rc
check_array(walk *w, const otype *t, json_t *in, json_t **out)
{
	json_t	   *arr;
	json_t	   *v;
	size_t		i;

	if (!json_is_array(in))
		return fail(w, "must be an array");
	if ((arr = json_array()) == NULL)
		return derms_err_set(w->err, DERMS_ENOMEM, "out of memory");
	json_array_foreach(in, i, v)
	{
		size_t		saved;
		json_t	   *o = NULL;
		derms_rc	rc;

		path_push(w, &saved, NULL, i);
		rc = check(w, t->items, v, &o);
		path_pop(w, saved);
		if (rc != DERMS_OK)
		{
			json_decref(arr);
			return rc;
		}
		json_array_append_new(arr, o);
	}
	*out = arr;
	return DERMS_OK;
}

static const ofield *
field_of(const ofield *fields, const char *name)
{
	for (const ofield *f = fields; f->name; f++)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

static bool
in_list(const char *const *list, const char *name)
{
	for (const char *const *p = list; p && *p; p++)
		if (strcmp(*p, name) == 0)
			return true;
	return false;
}

/*
 * An object against fields.  skip lists top-level metadata to accept and
 * drop (NULL inside the body).
 */
static derms_rc
check_fields(walk *w, const ofield *fields, const char *const *skip, json_t *in,
			 json_t **out)
{
	const char *key;
	json_t	   *v;
	json_t	   *obj;

	if (!json_is_object(in))
		return fail(w, "must be an object");
	json_object_foreach(in, key, v)
	{
		if (field_of(fields, key) == NULL && !in_list(skip, key))
		{
			size_t		saved;
			derms_rc	rc;

			path_push(w, &saved, key, 0);
			rc = fail(w, "unknown field");
			path_pop(w, saved);
			return rc;
		}
	}
	if ((obj = json_object()) == NULL)
		return derms_err_set(w->err, DERMS_ENOMEM, "out of memory");
	for (const ofield *f = fields; f->name; f++)
	{
		size_t		saved;
		json_t	   *o = NULL;
		derms_rc	rc = DERMS_OK;

		v = json_object_get(in, f->name);
		path_push(w, &saved, f->name, 0);
		if (v == NULL)
		{
			if (f->flags & F_REQ)
				rc = fail(w, "required");
			else if (f->dflt)
				o = json_loads(f->dflt, JSON_DECODE_ANY, NULL);
		}
		else if (json_is_null(v))
		{
			if (f->flags & F_NULL)
				o = json_null();
			else
				rc = fail(w, "must not be null");
		}
		else
			rc = check(w, f->type, v, &o);
		path_pop(w, saved);
		if (rc != DERMS_OK)
		{
			json_decref(obj);
			return rc;
		}
		if (o != NULL)
			json_object_set_new(obj, f->name, o);
	}
	*out = obj;
	return DERMS_OK;
}

/* valuesMap values: number, integer, string, boolean or point. */
static derms_rc
check_value(walk *w, json_t *in, json_t **out)
{
	if (json_is_number(in) || json_is_string(in) || json_is_boolean(in))
	{
		*out = json_incref(in);
		return DERMS_OK;
	}
	if (json_is_object(in))
		return check_fields(w, f_point, NULL, in, out);
	return fail(w, "must be a number, string, boolean or point {x, y}");
}

/* programRequest payloadDescriptors: told apart by objectType. */
static derms_rc
check_payload_desc(walk *w, json_t *in, json_t **out)
{
	const char *tag;
	size_t		saved;
	derms_rc	rc;

	if (!json_is_object(in))
		return fail(w, "must be an object");
	tag = json_string_value(json_object_get(in, "objectType"));
	if (tag && strcmp(tag, "EVENT_PAYLOAD_DESCRIPTOR") == 0)
		return check_fields(w, f_event_pd, NULL, in, out);
	if (tag && strcmp(tag, "REPORT_PAYLOAD_DESCRIPTOR") == 0)
		return check_fields(w, f_report_pd, NULL, in, out);
	path_push(w, &saved, "objectType", 0);
	rc = fail(w, json_object_get(in, "objectType") == NULL ? "required"
			  : "must be EVENT_PAYLOAD_DESCRIPTOR or REPORT_PAYLOAD_DESCRIPTOR");
	path_pop(w, saved);
	return rc;
}

static derms_rc
check(walk *w, const otype *t, json_t *in, json_t **out)
{
	switch (t->kind)
	{
		case OT_STRING:
			return check_string(w, t, in, out);
		case OT_INT:
			return check_int(w, t, in, out);
		case OT_NUMBER:
			if (!json_is_number(in))
				return fail(w, "must be a number");
			*out = json_incref(in);
			return DERMS_OK;
		case OT_BOOL:
			if (!json_is_boolean(in))
				return fail(w, "must be a boolean");
			*out = json_incref(in);
			return DERMS_OK;
		case OT_OBJECT:
			return check_fields(w, t->fields, NULL, in, out);
		case OT_ARRAY:
			return check_array(w, t, in, out);
		case OT_VALUE:
			return check_value(w, in, out);
		case OT_PAYLOAD_DESC:
			return check_payload_desc(w, in, out);
	}
	return fail(w, "unsupported schema");
}

/* ---- entry points ---- */

const char *
oadr_kind_type(oadr_kind kind)
{
	assert((unsigned) kind < OADR_NKINDS);
	return kinds[kind].type;
}

derms_rc
oadr_model_check(oadr_kind kind, json_t *in, oadr_doc *out, derms_err *err)
{
	static const char *const skip_plain[] = {"id", "createdDateTime", "modificationDateTime",
	"objectType", NULL};
	static const char *const skip_client[] = {"id", "createdDateTime", "modificationDateTime",
	"objectType", "clientID", NULL};
	walk		w = {.len = 0, .err = err};
	const ofield *fields;
	json_t	   *body = NULL;
	json_t	   *ot;
	derms_rc	rc;

	assert((unsigned) kind < OADR_NKINDS && out != NULL);
	memset(out, 0, sizeof(*out));
	w.path[0] = '\0';
	if (!json_is_object(in))
		return derms_err_set(err, DERMS_EINVAL, "(body): must be a JSON object");
	ot = json_object_get(in, "objectType");
	if (kinds[kind].fields != NULL)
	{
		/* a sent-back objectType must name this kind */
		if (ot != NULL && (!json_is_string(ot) ||
						   strcmp(json_string_value(ot), kinds[kind].type) != 0))
			return derms_err_set(err, DERMS_EINVAL, "objectType: must be %s",
								 kinds[kind].type);
		fields = kinds[kind].fields;
		rc = check_fields(&w, fields, kinds[kind].client_id_is_meta ? skip_client
						  : skip_plain, in, &body);
		out->variant = OADR_VARIANT_PLAIN;
	}
	else
	{
		const char *tag = json_string_value(ot);

		if (ot == NULL)
			return derms_err_set(err, DERMS_EINVAL, "objectType: required");
		if (tag && strcmp(tag, kinds[kind].bl_tag) == 0)
		{
			fields = kinds[kind].bl_fields;
			out->variant = OADR_VARIANT_BL;
		}
		else if (tag && strcmp(tag, kinds[kind].ven_tag) == 0)
		{
			fields = kinds[kind].ven_fields;
			out->variant = OADR_VARIANT_VEN;
		}
		else
			return derms_err_set(err, DERMS_EINVAL, "objectType: must be %s or %s",
								 kinds[kind].bl_tag, kinds[kind].ven_tag);
		rc = check_fields(&w, fields, meta_fields, in, &body);
		if (rc == DERMS_OK)
		{
			/* stored in the served (BL) form: objectType is the kind's,
			 * clientID lives in its column */
			const char *cid = json_string_value(json_object_get(body, "clientID"));

			if (cid != NULL)
				snprintf(out->client_id, sizeof(out->client_id), "%s", cid);
			json_object_del(body, "objectType");
			json_object_del(body, "clientID");
		}
	}
	if (rc != DERMS_OK)
		return rc;
	out->body = body;
	return DERMS_OK;
}

derms_rc
oadr_model_parse(oadr_kind kind, const char *text, size_t len, oadr_doc *out,
				 derms_err *err)
{
	json_error_t jerr;
	json_t	   *in;
	derms_rc	rc;

	memset(out, 0, sizeof(*out));
	in = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (in == NULL)
		return derms_err_set(err, DERMS_EPARSE, "malformed JSON at line %d column %d: %s",
							 jerr.line, jerr.column, jerr.text);
	rc = oadr_model_check(kind, in, out, err);
	json_decref(in);
	return rc;
}

json_t *
oadr_model_object(oadr_kind kind, const char *id, const char *created,
				  const char *modified, json_t *body, const char *client_id)
{
	json_t	   *o = json_object();
	const char *key;
	json_t	   *v;

	assert((unsigned) kind < OADR_NKINDS);
	if (o == NULL)
		return NULL;
	if (json_object_set_new(o, "id", json_string(id)) != 0 ||
		json_object_set_new(o, "createdDateTime", json_string(created)) != 0 ||
		json_object_set_new(o, "modificationDateTime", json_string(modified)) != 0 ||
		json_object_set_new(o, "objectType", json_string(kinds[kind].type)) != 0)
	{
		json_decref(o);
		return NULL;
	}
	if (client_id != NULL && json_object_set_new(o, "clientID", json_string(client_id)) != 0)
	{
		json_decref(o);
		return NULL;
	}
	json_object_foreach(body, key, v)
	{
		if (json_object_get(o, key) == NULL &&
			json_object_set(o, key, v) != 0)
		{
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* ---- when an event ends ---- */

/* The first instant of year 2: earlier starts are the "now" placeholder. */
#define YEAR_TWO_EPOCH (-62104060800LL)

static bool
period_of(json_t *ip, int64_t *start, bool *has_start, duration *dur, bool *has_dur)
{
	const char *s = json_string_value(json_object_get(ip, "start"));
	const char *d = json_string_value(json_object_get(ip, "duration"));

	*has_start = s != NULL && oadr_model_datetime(s, start);
	*has_dur = d != NULL && duration_parse(d, dur);
	return true;
}

/* start + times * d; false when unbounded */
static bool
add_duration(int64_t start, const duration *d, int64_t times, int64_t *out)
{
	struct tm	tm;
	time_t		t = (time_t) start;
	double		secs;

	if (d->negative)
	{
		*out = start;
		return true;
	}
	if (d->years >= 9999 || times > DURATION_CAP ||
		(d->years + d->months / 12 + d->days / 365 + d->hours / 8760) * times > 100000)
		return false;
	if (gmtime_r(&t, &tm) == NULL)
		return false;
	tm.tm_year += (int) (d->years * times);
	tm.tm_mon += (int) (d->months * times);
	tm.tm_year += tm.tm_mon / 12;
	tm.tm_mon %= 12;
	{
		/* a month later than Jan 31 is the last day of February */
		static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
		int			y = tm.tm_year + 1900;
		int			last = mdays[tm.tm_mon] +
			(tm.tm_mon == 1 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));

		if (tm.tm_mday > last)
			tm.tm_mday = last;
	}
	tm.tm_mday += (int) (d->days * times);
	tm.tm_hour += (int) (d->hours * times);
	tm.tm_min += (int) (d->minutes * times);
	secs = d->seconds * (double) times;
	t = timegm(&tm);
	*out = (int64_t) t + (int64_t) ceil(secs);
	return true;
}

void
oadr_model_event_end(json_t *body, bool *bounded, int64_t *end_epoch)
{
	json_t	   *intervals = json_object_get(body, "intervals");
	int64_t		dstart = 0,
				end = INT64_MIN;
	bool		has_dstart,
				has_ddur;
	duration	ddur;
	json_t	   *iv;
	size_t		i;

	*bounded = false;
	*end_epoch = 0;
	period_of(json_object_get(body, "intervalPeriod"), &dstart, &has_dstart, &ddur, &has_ddur);
	if (json_array_size(intervals) == 0)
	{
		if (!has_dstart || !has_ddur || dstart < YEAR_TWO_EPOCH ||
			!add_duration(dstart, &ddur, 1, &end))
			return;
		*bounded = true;
		*end_epoch = end;
		return;
	}
	json_array_foreach(intervals, i, iv)
	{
		int64_t		s = 0,
					e;
		bool		has_s,
					has_d;
		duration	d;

		period_of(json_object_get(iv, "intervalPeriod"), &s, &has_s, &d, &has_d);
		if (!has_d)
		{
			if (!has_ddur)
				return;
			d = ddur;
		}
		if (!has_s)
		{
			if (!has_dstart || (i > 0 && !has_ddur) ||
				!add_duration(dstart, &ddur, (int64_t) i, &s))
				return;
		}
		if (s < YEAR_TWO_EPOCH || !add_duration(s, &d, 1, &e))
			return;
		if (e > end)
			end = e;
	}
	*bounded = true;
	*end_epoch = end;
}
