/*
 * tests/protocols/test_oadr_model.c
 *	  Tests for protocols/openadr/model.c: good and bad request bodies of
 *	  every kind against the OpenADR 3.1.0 schemas, the error path each
 *	  bad one names, normalization (metadata dropped, reportDescriptor
 *	  defaults), serialization, the date-time and duration grammars, and
 *	  when an event ends.
 *
 * NOTES
 *	  Pure: no database.  Each bad case is one row: kind, body, and the
 *	  text the error message must start with.  Documents under
 *	  tests/data/openadr/ are read from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <jansson.h>

#include "protocols/openadr/model.h"
#include "tests/suites.h"

static const char *
load(const char *name)
{
	static char buf[65536];
	char		path[256];
	FILE	   *f;
	size_t		n;

	snprintf(path, sizeof(path), "tests/data/openadr/%s", name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "open %s", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* ---- good documents ---- */

static const struct
{
	oadr_kind	kind;
	const char *file;
	oadr_variant variant;
}			good[] = {
	{OADR_PROGRAM, "program.json", OADR_VARIANT_PLAIN},
	{OADR_EVENT, "event.json", OADR_VARIANT_PLAIN},
	{OADR_REPORT, "report.json", OADR_VARIANT_PLAIN},
	{OADR_SUBSCRIPTION, "subscription.json", OADR_VARIANT_PLAIN},
	{OADR_VEN, "ven_bl.json", OADR_VARIANT_BL},
	{OADR_VEN, "ven_ven.json", OADR_VARIANT_VEN},
	{OADR_RESOURCE, "resource_bl.json", OADR_VARIANT_BL},
	{OADR_RESOURCE, "resource_ven.json", OADR_VARIANT_VEN},
};

START_TEST(good_documents)
{
	const char *text = load(good[_i].file);
	oadr_doc	doc;
	derms_err	err;
	json_t	   *in = json_loads(text, 0, NULL);
	const char *key;
	json_t	   *v;

	ck_assert_msg(oadr_model_parse(good[_i].kind, text, strlen(text), &doc, &err) == DERMS_OK,
				  "%s: %s", good[_i].file, err.msg);
	ck_assert_int_eq(doc.variant, good[_i].variant);
	/* every field sent (but metadata) is kept as sent */
	json_object_foreach(in, key, v)
	{
		if (strcmp(key, "objectType") == 0 || strcmp(key, "clientID") == 0 ||
			strcmp(key, "id") == 0)
			continue;
		ck_assert_msg(json_object_get(doc.body, key) != NULL, "%s: %s lost", good[_i].file, key);
	}
	ck_assert_ptr_null(json_object_get(doc.body, "objectType"));
	ck_assert_ptr_null(json_object_get(doc.body, "clientID"));
	if (good[_i].variant == OADR_VARIANT_BL)
		ck_assert_str_eq(doc.client_id, json_string_value(json_object_get(in, "clientID")));
	else
		ck_assert_str_eq(doc.client_id, "");
	json_decref(in);
	json_decref(doc.body);
}
END_TEST

/* ---- bad documents: kind, body, start of the message ---- */

static const struct
{
	oadr_kind	kind;
	const char *body;
	const char *want;
}			bad[] = {
	/* JSON itself */
	{OADR_PROGRAM, "", "malformed JSON"},
	{OADR_PROGRAM, "{\"programName\":", "malformed JSON"},
	{OADR_PROGRAM, "{\"programName\":\"a\",\"programName\":\"b\"}", "malformed JSON"},
	{OADR_PROGRAM, "[]", "(body): must be a JSON object"},
	/* required, types, lengths */
	{OADR_PROGRAM, "{}", "programName: required"},
	{OADR_PROGRAM, "{\"programName\":\"\"}", "programName: must be at least 1"},
	{OADR_PROGRAM, "{\"programName\":7}", "programName: must be a string"},
	{OADR_PROGRAM, "{\"programName\":null}", "programName: must not be null"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"programname\":\"q\"}", "programname: unknown field"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"objectType\":\"EVENT\"}", "objectType: must be PROGRAM"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"targets\":[\"\"]}", "targets[0]: must be at least 1"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"targets\":\"a\"}", "targets: must be an array"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"programDescriptions\":[{}]}",
	"programDescriptions[0].URL: required"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"programDescriptions\":[{\"URL\":\"no scheme\"}]}",
	"programDescriptions[0].URL: must be an absolute URI"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"payloadDescriptors\":[{\"payloadType\":\"PRICE\"}]}",
	"payloadDescriptors[0].objectType: required"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"payloadDescriptors\":[{\"objectType\":\"X\","
	"\"payloadType\":\"PRICE\"}]}", "payloadDescriptors[0].objectType: must be EVENT_PAYLOAD"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"intervalPeriod\":{\"start\":\"2024-02-30T00:00:00Z\"}}",
	"intervalPeriod.start: must be an RFC 3339 date-time"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"intervalPeriod\":{\"duration\":\"1H\"}}",
	"intervalPeriod.duration: must be an ISO 8601 duration"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"attributes\":[{\"type\":\"X\",\"values\":[[1]]}]}",
	"attributes[0].values[0]: must be a number, string"},
	{OADR_PROGRAM, "{\"programName\":\"p\",\"attributes\":[{\"type\":\"X\",\"values\":[{\"x\":1}]}]}",
	"attributes[0].values[0].y: required"},
	/* events */
	{OADR_EVENT, "{}", "programID: required"},
	{OADR_EVENT, "{\"programID\":\"a b\"}", "programID: must match"},
	{OADR_EVENT, "{\"programID\":\"1\",\"priority\":-1}", "priority: must be at least 0"},
	{OADR_EVENT, "{\"programID\":\"1\",\"priority\":1.5}", "priority: must be an integer"},
	{OADR_EVENT, "{\"programID\":\"1\",\"intervals\":[{\"id\":0,\"payloads\":[]},"
	"{\"id\":1,\"payloads\":[]},{\"id\":2,\"payloads\":[{\"values\":[1]}]}]}",
	"intervals[2].payloads[0].type: required"},
	{OADR_EVENT, "{\"programID\":\"1\",\"intervals\":[{\"id\":2147483648,\"payloads\":[]}]}",
	"intervals[0].id: must be between"},
	{OADR_EVENT, "{\"programID\":\"1\",\"intervals\":[{\"payloads\":[]}]}", "intervals[0].id: required"},
	{OADR_EVENT, "{\"programID\":\"1\",\"reportDescriptors\":[{\"payloadType\":\"U\","
	"\"reportIntervals\":\"SOME\"}]}", "reportDescriptors[0].reportIntervals: must be one of"},
	{OADR_EVENT, "{\"programID\":\"1\",\"payloadDescriptors\":[{\"objectType\":"
	"\"REPORT_PAYLOAD_DESCRIPTOR\",\"payloadType\":\"U\"}]}",
	"payloadDescriptors[0].objectType: must be one of EVENT_PAYLOAD_DESCRIPTOR"},
	/* reports */
	{OADR_REPORT, "{\"eventID\":\"1\",\"clientName\":\"c\"}", "resources: required"},
	{OADR_REPORT, "{\"eventID\":\"1\",\"clientName\":\"c\",\"resources\":[{\"resourceName\":\"r\"}]}",
	"resources[0].intervals: required"},
	{OADR_REPORT, "{\"eventID\":\"1\",\"clientName\":\"c\",\"resources\":[],"
	"\"payloadDescriptors\":[{\"objectType\":\"REPORT_PAYLOAD_DESCRIPTOR\",\"payloadType\":\"U\","
	"\"confidence\":101}]}", "payloadDescriptors[0].confidence: must be between 0 and 100"},
	/* subscriptions */
	{OADR_SUBSCRIPTION, "{\"clientName\":\"c\",\"objectOperations\":[{\"objects\":[\"EVENTS\"],"
	"\"operations\":[\"CREATE\"],\"callbackUrl\":\"https://x\"}]}",
	"objectOperations[0].objects[0]: must be one of"},
	{OADR_SUBSCRIPTION, "{\"clientName\":\"c\",\"objectOperations\":[{\"objects\":[\"EVENT\"],"
	"\"operations\":[\"POST\"],\"callbackUrl\":\"https://x\"}]}",
	"objectOperations[0].operations[0]: must be one of"},
	{OADR_SUBSCRIPTION, "{\"clientName\":\"c\",\"objectOperations\":[{\"objects\":[\"EVENT\"],"
	"\"operations\":[\"CREATE\"]}]}", "objectOperations[0].callbackUrl: required"},
	/* vens and resources */
	{OADR_VEN, "{\"venName\":\"v\"}", "objectType: required"},
	{OADR_VEN, "{\"objectType\":\"VEN\",\"venName\":\"v\"}", "objectType: must be BL_VEN_REQUEST"},
	{OADR_VEN, "{\"objectType\":\"BL_VEN_REQUEST\",\"venName\":\"v\"}", "clientID: required"},
	{OADR_VEN, "{\"objectType\":\"VEN_VEN_REQUEST\",\"venName\":\"v\",\"targets\":[\"a\"]}",
	"targets: unknown field"},
	{OADR_RESOURCE, "{\"objectType\":\"VEN_RESOURCE_REQUEST\",\"resourceName\":\"r\"}",
	"venID: required"},
	{OADR_RESOURCE, "{\"objectType\":\"BL_RESOURCE_REQUEST\",\"resourceName\":\"r\","
	"\"venID\":\"1\",\"clientID\":\"\"}", "clientID: must be at least 1"},
};

START_TEST(bad_documents)
{
	oadr_doc	doc;
	derms_err	err;
	derms_rc	rc = oadr_model_parse(bad[_i].kind, bad[_i].body, strlen(bad[_i].body), &doc, &err);

	ck_assert_msg(rc != DERMS_OK, "accepted: %s", bad[_i].body);
	ck_assert_ptr_null(doc.body);
	ck_assert_msg(strncmp(err.msg, bad[_i].want, strlen(bad[_i].want)) == 0,
				  "%s: got \"%s\", want \"%s...\"", bad[_i].body, err.msg, bad[_i].want);
}
END_TEST

START_TEST(metadata_dropped_and_defaults)
{
	const char *text = "{\"id\":\"9\",\"createdDateTime\":\"x\",\"modificationDateTime\":\"y\","
		"\"objectType\":\"EVENT\",\"programID\":\"1\",\"priority\":2.0,"
		"\"reportDescriptors\":[{\"payloadType\":\"USAGE\",\"repeat\":3}]}";
	oadr_doc	doc;
	derms_err	err;
	json_t	   *rd;

	ck_assert_int_eq(oadr_model_parse(OADR_EVENT, text, strlen(text), &doc, &err), DERMS_OK);
	ck_assert_ptr_null(json_object_get(doc.body, "id"));
	ck_assert_ptr_null(json_object_get(doc.body, "createdDateTime"));
	ck_assert(json_is_integer(json_object_get(doc.body, "priority")));
	rd = json_array_get(json_object_get(doc.body, "reportDescriptors"), 0);
	ck_assert(json_is_false(json_object_get(rd, "aggregate")));
	ck_assert_int_eq(json_integer_value(json_object_get(rd, "startInterval")), -1);
	ck_assert_int_eq(json_integer_value(json_object_get(rd, "numIntervals")), -1);
	ck_assert(json_is_true(json_object_get(rd, "historical")));
	ck_assert_int_eq(json_integer_value(json_object_get(rd, "frequency")), -1);
	ck_assert_int_eq(json_integer_value(json_object_get(rd, "repeat")), 3);
	ck_assert_str_eq(json_string_value(json_object_get(rd, "reportIntervals")), "INTERVALS");
	json_decref(doc.body);

	/* a report's and subscription's clientID is the server's: dropped */
	text = "{\"clientID\":\"someone\",\"eventID\":\"1\",\"clientName\":\"c\",\"resources\":[]}";
	ck_assert_int_eq(oadr_model_parse(OADR_REPORT, text, strlen(text), &doc, &err), DERMS_OK);
	ck_assert_ptr_null(json_object_get(doc.body, "clientID"));
	json_decref(doc.body);
	/* but not a program's */
	text = "{\"clientID\":\"someone\",\"programName\":\"p\"}";
	ck_assert_int_ne(oadr_model_parse(OADR_PROGRAM, text, strlen(text), &doc, &err), DERMS_OK);
	ck_assert_str_eq(err.msg, "clientID: unknown field");
}
END_TEST

START_TEST(names_count_code_points)
{
	char		text[1024];
	char		name[600] = "";
	oadr_doc	doc;
	derms_err	err;

	/* 128 two-byte characters: fine; 129: too long */
	for (int i = 0; i < 128; i++)
		strcat(name, "\xc3\xa9");
	snprintf(text, sizeof(text), "{\"programName\":\"%s\"}", name);
	ck_assert_int_eq(oadr_model_parse(OADR_PROGRAM, text, strlen(text), &doc, &err), DERMS_OK);
	json_decref(doc.body);
	strcat(name, "e");
	snprintf(text, sizeof(text), "{\"programName\":\"%s\"}", name);
	ck_assert_int_ne(oadr_model_parse(OADR_PROGRAM, text, strlen(text), &doc, &err), DERMS_OK);
	ck_assert_str_eq(err.msg, "programName: must be at most 128 characters long");
}
END_TEST

START_TEST(serialization)
{
	json_t	   *body = json_pack("{s:s, s:[s]}", "programName", "p", "targets", "a");
	json_t	   *o = oadr_model_object(OADR_PROGRAM, "12", "2024-01-01T00:00:00.000Z",
									  "2024-01-02T00:00:00.000Z", body, NULL);
	const char *key;
	json_t	   *v;
	size_t		k = 0;
	static const char *const order[] = {"id", "createdDateTime", "modificationDateTime",
	"objectType", "programName", "targets"};

	ck_assert_ptr_nonnull(o);
	json_object_foreach(o, key, v)
	{
		ck_assert_str_eq(key, order[k]);
		k++;
	}
	ck_assert_int_eq(k, 6);
	ck_assert_str_eq(json_string_value(json_object_get(o, "objectType")), "PROGRAM");
	ck_assert_str_eq(json_string_value(json_object_get(o, "id")), "12");
	json_decref(o);
	o = oadr_model_object(OADR_VEN, "3", "t", "t", body, "client-1");
	ck_assert_str_eq(json_string_value(json_object_get(o, "objectType")), "VEN");
	ck_assert_str_eq(json_string_value(json_object_get(o, "clientID")), "client-1");
	json_decref(o);
	json_decref(body);
}
END_TEST

START_TEST(datetimes)
{
	int64_t		t;

	ck_assert(oadr_model_datetime("1970-01-01T00:00:00Z", &t));
	ck_assert_int_eq(t, 0);
	ck_assert(oadr_model_datetime("2024-02-29T12:00:00.123+02:00", &t));
	ck_assert_int_eq(t, 1709200800);
	ck_assert(oadr_model_datetime("0001-01-01T00:00:00Z", NULL));
	ck_assert(!oadr_model_datetime("2023-02-29T12:00:00Z", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01T00:00:00", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01T24:00:00Z", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01T00:00:00+0200", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01T00:00:00.Z", NULL));
	ck_assert(!oadr_model_datetime("2024-01-01T00:00:00Zjunk", NULL));
}
END_TEST

static const struct
{
	const char *s;
	bool		ok;
}			durations[] = {
	{"PT1H", true}, {"P1Y2M3DT4H5M6.5S", true}, {"P2W", true}, {"-PT15M", true},
	{"P9999Y", true}, {"PT0S", true}, {"P1YT", true},	/* the pattern allows it */
	{"P", false}, {"PT", false}, {"1H", false}, {"P1H", false}, {"PT1.S", false},
	{"P1DT1H1M1S1", false}, {"P1W1D", false}, {"pt1h", false}, {"", false},
};

START_TEST(duration_pattern)
{
	ck_assert_msg(oadr_model_duration(durations[_i].s) == durations[_i].ok, "%s",
				  durations[_i].s);
}
END_TEST

START_TEST(object_ids)
{
	char		long_id[200];

	ck_assert(oadr_model_object_id("abc_DEF-123"));
	ck_assert(!oadr_model_object_id(""));
	ck_assert(!oadr_model_object_id("a/b"));
	ck_assert(!oadr_model_object_id("a.b"));
	memset(long_id, 'a', 128);
	long_id[128] = '\0';
	ck_assert(oadr_model_object_id(long_id));
	long_id[128] = 'a';
	long_id[129] = '\0';
	ck_assert(!oadr_model_object_id(long_id));
}
END_TEST

static bool
end_of(const char *text, int64_t *end)
{
	json_t	   *j = json_loads(text, 0, NULL);
	bool		bounded;

	ck_assert_ptr_nonnull(j);
	oadr_model_event_end(j, &bounded, end);
	json_decref(j);
	return bounded;
}

START_TEST(event_end)
{
	int64_t		e;

	/* three sequential one-hour intervals from the event's period */
	ck_assert(end_of("{\"intervalPeriod\":{\"start\":\"2024-01-01T00:00:00Z\",\"duration\":\"PT1H\"},"
					 "\"intervals\":[{\"id\":0},{\"id\":1},{\"id\":2}]}", &e));
	ck_assert_int_eq(e, 1704067200 + 3 * 3600);
	/* an interval's own period overrides */
	ck_assert(end_of("{\"intervalPeriod\":{\"start\":\"2024-01-01T00:00:00Z\",\"duration\":\"PT1H\"},"
					 "\"intervals\":[{\"id\":0,\"intervalPeriod\":{\"start\":\"2024-01-02T00:00:00Z\","
					 "\"duration\":\"P1D\"}}]}", &e));
	ck_assert_int_eq(e, 1704067200 + 2 * 86400);
	/* calendar months */
	ck_assert(end_of("{\"intervalPeriod\":{\"start\":\"2024-01-31T00:00:00Z\",\"duration\":\"P1M\"}}",
					 &e));
	ck_assert_int_eq(e, 1706659200 + 29 * 86400);
	/* no start, "now", or infinity: never ends */
	ck_assert(!end_of("{\"intervalPeriod\":{\"duration\":\"PT1H\"},\"intervals\":[{\"id\":0}]}", &e));
	ck_assert(!end_of("{\"intervalPeriod\":{\"start\":\"0001-01-01T00:00:00Z\",\"duration\":\"PT1H\"}}",
					  &e));
	ck_assert(!end_of("{\"intervalPeriod\":{\"start\":\"2024-01-01T00:00:00Z\",\"duration\":\"P9999Y\"}}",
					  &e));
	ck_assert(!end_of("{}", &e));
}
END_TEST

Suite *
oadr_model_suite(void)
{
	Suite	   *s = suite_create("oadr_model");
	TCase	   *tc = tcase_create("model");

	tcase_add_loop_test(tc, good_documents, 0, (int) (sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tc, bad_documents, 0, (int) (sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, metadata_dropped_and_defaults);
	tcase_add_test(tc, names_count_code_points);
	tcase_add_test(tc, serialization);
	tcase_add_test(tc, datetimes);
	tcase_add_loop_test(tc, duration_pattern, 0, (int) (sizeof(durations) / sizeof(durations[0])));
	tcase_add_test(tc, object_ids);
	tcase_add_test(tc, event_end);
	suite_add_tcase(s, tc);
	return s;
}
