/*
 * tests/protocols/sep2/test_xml.c
 *	  Tests for protocols/sep2/xml.c: hostile and valid request bodies from
 *	  golden files, the size and depth caps, the namespace rewrite, the typed
 *	  readers, schema validation, the writer, list paging, and parsing from
 *	  several threads at once.
 *
 * NOTES
 *	  Golden cases live in tests/data/sep2/<case>/: request.xml plus either
 *	  "error" (a substring of the message sep2_xml_parse must give) or
 *	  "expected.txt" (what the typed readers must extract; the format is in
 *	  tests/data/sep2/README.md).  Every refusal must come back in under
 *	  50 ms: a sanity bound against expansion, not a benchmark.
 *	  sep.xsd is read from DERMS_SPEC_DIR; without it the schema checks print
 *	  a SKIP line and pass.
 */
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libxml/tree.h>

#include "protocols/sep2/xml.h"
#include "server/arena.h"
#include "server/err.h"
#include "tests/suites.h"

#define DATA_DIR "tests/data/sep2/"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define REFUSE_MS_MAX 50.0

/* Every directory in tests/data/sep2/ (test_golden_table_complete). */
static const char *const golden_cases[] = {
	"billion_laughs",
	"child_no_namespace",
	"deep_nesting",
	"doctype_in_content",
	"doctype_internal_subset",
	"empty",
	"entity_in_attribute",
	"extension_as_root",
	"invalid_utf8",
	"latin1_declared",
	"no_namespace",
	"not_xml",
	"nul_bytes",
	"ok_cdata",
	"ok_comments_whitespace",
	"ok_csipaus_extension",
	"ok_list_repeated",
	"ok_pre2018_namespace",
	"ok_pre2018_prefixed",
	"ok_time",
	"parameter_entities",
	"processing_instruction",
	"processing_instruction_inside",
	"reader_errors",
	"schema_out_of_order",
	"truncated",
	"two_roots",
	"unclosed_cdata",
	"undeclared_entity",
	"undefined_prefix",
	"utf16",
	"wrong_namespace",
	"xinclude",
	"xxe_network",
	"xxe_passwd",
};

static bool have_schema;

/* ---- helpers ---- */

/* New buffer with the whole file (NUL-terminated; *len excludes it), or
 * NULL when it cannot be read. */
static char *
read_file(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) n + 1);
	ck_assert_ptr_nonnull(buf);
	if (fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		fclose(f);
		free(buf);
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = (size_t) n;
	return buf;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char *
spec_xsd(void)
{
	char	   *path;

	if (asprintf(&path, "%s/sep2/sep.xsd", test_spec_dir()) < 0)
		return NULL;
	return path;
}

/* Unchecked fixture: compile sep.xsd once, before the tests fork. */
static void
schema_setup(void)
{
	char	   *xsd = spec_xsd();
	struct stat st;
	derms_err	err;

	have_schema = false;
	if (xsd == NULL || stat(xsd, &st) != 0)
		test_skip("sep2_xml schema checks",
				  "sep2/sep.xsd not found under DERMS_SPEC_DIR");
	else if (sep2_xml_schema_load(xsd, &err) != DERMS_OK)
		fprintf(stderr, "sep2_xml: could not load %s: %s\n", xsd, err.msg);
	else
		have_schema = true;
	free(xsd);
}

static void
schema_teardown(void)
{
	sep2_xml_schema_unload();
}

/* The element a "a/b/c" path leads to, and its last part in *last. */
static xmlNodePtr
walk_path(xmlNodePtr root, char *path, const char **last)
{
	char	   *slash;

	while ((slash = strchr(path, '/')) != NULL)
	{
		*slash = '\0';
		root = sep2_xml_child(root, path);
		ck_assert_msg(root != NULL, "no element <%s> on the path", path);
		path = slash + 1;
	}
	*last = path;
	return root;
}

static void
hex_string(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02X", b[i]);
	out[2 * n] = '\0';
}

/*
 * One line of expected.txt against the parsed document.
 * "TYPE PATH VALUE" or "TYPE PATH ! SUBSTRING"; see the README.
 */
static void
check_line(const char *tc, arena *a, xmlDocPtr doc, xmlNodePtr root,
		   char *line)
{
	char	   *type = line;
	char	   *path;
	char	   *want;
	const char *name;
	xmlNodePtr	parent;
	derms_err	err;
	derms_rc	rc = DERMS_OK;
	char		got[256] = "";
	bool		expect_error;

	path = strchr(type, ' ');
	ck_assert_msg(path != NULL, "%s: bad expected line \"%s\"", tc, line);
	*path++ = '\0';
	want = strchr(path, ' ');
	if (want != NULL)
		*want++ = '\0';
	else
		want = path + strlen(path);

	if (strcmp(type, "root") == 0)
	{
		xmlNodePtr	r;

		rc = sep2_xml_root(doc, path, &r, &err);
		ck_assert_msg(rc == DERMS_OK, "%s: root: %s", tc, err.msg);
		ck_assert_str_eq((const char *) r->ns->href, SEP2_NS);
		return;
	}
	if (strcmp(type, "schema") == 0)
	{
		if (!have_schema)
			return;				/* the fixture printed the SKIP */
		rc = sep2_xml_validate(doc, &err);
		if (strcmp(path, "ok") == 0)
			ck_assert_msg(rc == DERMS_OK, "%s: schema: %s", tc, err.msg);
		else
		{
			ck_assert_msg(rc == DERMS_EPARSE, "%s: schema accepted", tc);
			ck_assert_msg(strstr(err.msg, want) != NULL,
						  "%s: schema: \"%s\" lacks \"%s\"", tc, err.msg,
						  want);
		}
		return;
	}
	if (strcmp(type, "absent") == 0)
	{
		uint32_t	v = 4242;

		rc = sep2_xml_uint32(root, path, SEP2_XML_OPTIONAL, &v, &err);
		ck_assert_int_eq(rc, DERMS_OK);
		ck_assert_uint_eq(v, 4242);
		rc = sep2_xml_uint32(root, path, SEP2_XML_REQUIRED, &v, &err);
		ck_assert_int_eq(rc, DERMS_EPARSE);
		ck_assert_ptr_nonnull(strstr(err.msg, "missing"));
		return;
	}

	parent = walk_path(root, path, &name);
	expect_error = strncmp(want, "! ", 2) == 0;

	if (strcmp(type, "count") == 0)
	{
		int			n = 0;

		for (xmlNodePtr c = sep2_xml_child(parent, name); c != NULL;
			 c = sep2_xml_next(c))
			n++;
		snprintf(got, sizeof(got), "%d", n);
	}
	else if (strcmp(type, "int64") == 0)
	{
		int64_t		v = 0;

		rc = sep2_xml_int64(parent, name, SEP2_XML_REQUIRED, INT64_MIN,
							INT64_MAX, &v, &err);
		snprintf(got, sizeof(got), "%" PRId64, v);
	}
	else if (strcmp(type, "uint32") == 0)
	{
		uint32_t	v = 0;

		rc = sep2_xml_uint32(parent, name, SEP2_XML_REQUIRED, &v, &err);
		snprintf(got, sizeof(got), "%" PRIu32, v);
	}
	else if (strcmp(type, "uint8") == 0)
	{
		uint8_t		v = 0;

		rc = sep2_xml_uint8(parent, name, SEP2_XML_REQUIRED, &v, &err);
		snprintf(got, sizeof(got), "%u", (unsigned) v);
	}
	else if (strcmp(type, "bool") == 0)
	{
		bool		v = false;

		rc = sep2_xml_bool(parent, name, SEP2_XML_REQUIRED, &v, &err);
		snprintf(got, sizeof(got), "%s", v ? "true" : "false");
	}
	else if (strcmp(type, "hex") == 0 || strcmp(type, "hex20") == 0)
	{
		uint8_t		b[64];
		size_t		n;
		size_t		min = type[3] ? 20 : 0;
		size_t		max = type[3] ? 20 : 64;

		rc = sep2_xml_hex(parent, name, SEP2_XML_REQUIRED, min, max, b,
						  sizeof(b), &n, &err);
		if (rc == DERMS_OK)
			hex_string(b, n, got);
	}
	else if (strcmp(type, "string") == 0 || strcmp(type, "string32") == 0)
	{
		const char *v;

		rc = sep2_xml_string(a, parent, name, SEP2_XML_REQUIRED,
							 type[6] ? 32 : SIZE_MAX, &v, &err);
		if (rc == DERMS_OK)
			snprintf(got, sizeof(got), "%s", v);
	}
	else
		ck_abort_msg("%s: unknown type \"%s\"", tc, type);

	if (expect_error)
	{
		ck_assert_msg(rc == DERMS_EPARSE,
					  "%s: <%s> read as \"%s\", expected an error",
					  tc, name, got);
		ck_assert_msg(strstr(err.msg, want + 2) != NULL,
					  "%s: <%s>: \"%s\" lacks \"%s\"", tc, name, err.msg,
					  want + 2);
	}
	else
	{
		ck_assert_msg(rc == DERMS_OK, "%s: <%s>: %s", tc, name, err.msg);
		ck_assert_msg(strcmp(got, want) == 0,
					  "%s: <%s> is \"%s\", expected \"%s\"",
					  tc, name, got, want);
	}
}

/* ---- golden files ---- */

START_TEST(test_golden)
{
	const char *tc = golden_cases[_i];
	char		path[512];
	char	   *body;
	char	   *expect_err;
	size_t		len;
	arena	   *a = arena_create(0);
	xmlDocPtr	doc = NULL;
	derms_err	err;
	derms_rc	rc;
	double		t0;
	double		ms;

	snprintf(path, sizeof(path), DATA_DIR "%s/request.xml", tc);
	body = read_file(path, &len);
	ck_assert_msg(body != NULL, "cannot read %s", path);
	snprintf(path, sizeof(path), DATA_DIR "%s/error", tc);
	expect_err = read_file(path, NULL);

	t0 = now_ms();
	rc = sep2_xml_parse(a, body, len, &doc, &err);
	ms = now_ms() - t0;

	if (expect_err != NULL)
	{
		expect_err[strcspn(expect_err, "\n")] = '\0';
		ck_assert_msg(rc == DERMS_EPARSE, "%s: accepted, expected \"%s\"", tc,
					  expect_err);
		ck_assert_ptr_null(doc);
		ck_assert_msg(strstr(err.msg, expect_err) != NULL,
					  "%s: message \"%s\" lacks \"%s\"", tc, err.msg,
					  expect_err);
		ck_assert_msg(ms < REFUSE_MS_MAX, "%s: refused in %.2f ms", tc, ms);
	}
	else
	{
		char	   *expected;
		char	   *line;
		char	   *save = NULL;
		xmlNodePtr	root;

		ck_assert_msg(rc == DERMS_OK, "%s: refused: %s", tc, err.msg);
		ck_assert_ptr_nonnull(doc);
		root = xmlDocGetRootElement(doc);
		snprintf(path, sizeof(path), DATA_DIR "%s/expected.txt", tc);
		expected = read_file(path, NULL);
		ck_assert_msg(expected != NULL, "%s: no error nor expected.txt", tc);
		for (line = strtok_r(expected, "\n", &save); line != NULL;
			 line = strtok_r(NULL, "\n", &save))
			check_line(tc, a, doc, root, line);
		free(expected);
	}
	free(expect_err);
	free(body);
	arena_destroy(a);
}
END_TEST

START_TEST(test_golden_table_complete)
{
	DIR		   *d = opendir(DATA_DIR);
	struct dirent *e;
	int			n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
	{
		bool		listed = false;
		char		path[512];
		struct stat st;

		snprintf(path, sizeof(path), DATA_DIR "%s", e->d_name);
		if (e->d_name[0] == '.' || stat(path, &st) != 0 ||
			!S_ISDIR(st.st_mode))
			continue;
		for (size_t i = 0; i < NELEM(golden_cases); i++)
			listed |= strcmp(golden_cases[i], e->d_name) == 0;
		ck_assert_msg(listed, "%s%s is not in golden_cases[]", DATA_DIR,
					  e->d_name);
		n++;
	}
	closedir(d);
	ck_assert_int_eq(n, (int) NELEM(golden_cases));
}
END_TEST

/* ---- caps ---- */

/* A Time document of exactly size bytes, padded with a comment. */
static char *
padded_doc(size_t size)
{
	static const char head[] = "<Time xmlns=\"" SEP2_NS "\"><!--";
	static const char tail[] = "--></Time>";
	size_t		fixed = sizeof(head) - 1 + sizeof(tail) - 1;
	char	   *s;

	ck_assert_uint_ge(size, fixed);
	s = malloc(size + 1);
	ck_assert_ptr_nonnull(s);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'x', size - fixed);
	memcpy(s + size - (sizeof(tail) - 1), tail, sizeof(tail));
	return s;
}

START_TEST(test_size_cap)
{
	static const size_t sizes[] = {SEP2_XML_MAX_BODY, SEP2_XML_MAX_BODY + 1,
	10 * SEP2_XML_MAX_BODY};
	size_t		size = sizes[_i];
	char	   *doc = padded_doc(size);
	arena	   *a = arena_create(0);
	xmlDocPtr	d;
	derms_err	err;
	derms_rc	rc;
	double		t0 = now_ms();

	rc = sep2_xml_parse(a, doc, size, &d, &err);
	if (size <= SEP2_XML_MAX_BODY)
		ck_assert_msg(rc == DERMS_OK, "%zu bytes: %s", size, err.msg);
	else
	{
		ck_assert_int_eq(rc, DERMS_EPARSE);
		ck_assert_ptr_nonnull(strstr(err.msg,
									 "exceeds the limit of 65536 bytes"));
		ck_assert(now_ms() - t0 < REFUSE_MS_MAX);
	}
	free(doc);
	arena_destroy(a);
}
END_TEST

START_TEST(test_depth_cap)
{
	static const int depths[] = {1, SEP2_XML_MAX_DEPTH - 1, SEP2_XML_MAX_DEPTH,
	SEP2_XML_MAX_DEPTH + 1, 5000};
	int			depth = depths[_i];
	size_t		cap = 64 + (size_t) depth * 8;
	char	   *s = malloc(cap);
	size_t		n = 0;
	arena	   *a = arena_create(0);
	xmlDocPtr	d;
	derms_err	err;
	derms_rc	rc;
	double		t0;

	ck_assert_ptr_nonnull(s);
	n += (size_t) sprintf(s, "<r xmlns=\"" SEP2_NS "\">");
	for (int i = 1; i < depth; i++)
		n += (size_t) sprintf(s + n, "<e>");
	for (int i = 1; i < depth; i++)
		n += (size_t) sprintf(s + n, "</e>");
	n += (size_t) sprintf(s + n, "</r>");
	t0 = now_ms();
	rc = sep2_xml_parse(a, s, n, &d, &err);
	if (depth <= SEP2_XML_MAX_DEPTH)
		ck_assert_msg(rc == DERMS_OK, "depth %d: %s", depth, err.msg);
	else
	{
		ck_assert_int_eq(rc, DERMS_EPARSE);
		ck_assert_str_eq(err.msg, "element nesting deeper than 32 at line 1");
		ck_assert(now_ms() - t0 < REFUSE_MS_MAX);
	}
	free(s);
	arena_destroy(a);
}
END_TEST

/* ---- namespaces ---- */

START_TEST(test_namespace_rewrite)
{
	static const char doc[] =
		"<a:EndDevice xmlns:a=\"" SEP2_NS_OLD "\" a:href=\"/edev/1\">"
		"<b:sFDI xmlns:b=\"" SEP2_NS_OLD "\">1</b:sFDI>"
		"<changedTime xmlns=\"" SEP2_NS_OLD "\">2</changedTime>"
		"<a:enabled>true</a:enabled>"
		"</a:EndDevice>";
	arena	   *a = arena_create(0);
	xmlDocPtr	d;
	xmlNodePtr	root;
	derms_err	err;
	int64_t		v;
	uint32_t	t;
	bool		en;

	ck_assert_int_eq(sep2_xml_parse(a, doc, sizeof(doc) - 1, &d, &err),
					 DERMS_OK);
	ck_assert_int_eq(sep2_xml_root(d, "EndDevice", &root, &err), DERMS_OK);
	for (xmlNodePtr n = root; n != NULL;
		 n = n == root ? n->children : (n->next ? n->next : NULL))
	{
		if (n->type != XML_ELEMENT_NODE)
			continue;
		ck_assert_str_eq((const char *) n->ns->href, SEP2_NS);
		for (xmlNsPtr ns = n->nsDef; ns != NULL; ns = ns->next)
			ck_assert_str_eq((const char *) ns->href, SEP2_NS);
	}
	ck_assert_str_eq((const char *) root->properties->ns->href, SEP2_NS);
	ck_assert_int_eq(sep2_xml_int64(root, "sFDI", 0, 0, INT64_MAX, &v, &err),
					 DERMS_OK);
	ck_assert_int_eq(v, 1);
	ck_assert_int_eq(sep2_xml_uint32(root, "changedTime", 0, &t, &err),
					 DERMS_OK);
	ck_assert_uint_eq(t, 2);
	ck_assert_int_eq(sep2_xml_bool(root, "enabled", 0, &en, &err), DERMS_OK);
	ck_assert(en);
	ck_assert_int_eq(sep2_xml_root(d, "Time", NULL, &err), DERMS_EPARSE);
	ck_assert_str_eq(err.msg, "expected <Time>, got <EndDevice>");
	arena_destroy(a);
}
END_TEST

/* ---- schema ---- */

START_TEST(test_schema_lifecycle)
{
	static const char bad[] =
		"<Time xmlns=\"" SEP2_NS "\">\n<quality>7</quality>\n</Time>";
	arena	   *a = arena_create(0);
	xmlDocPtr	d;
	derms_err	err;
	char	   *xsd;
	char	   *dir;
	char	   *junk;
	FILE	   *f;

	ck_assert_int_eq(sep2_xml_schema_load("/nonexistent/sep.xsd", &err),
					 DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "could not read schema"));

	dir = test_mkdtemp("sep2xml");
	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&junk, "%s/junk.xsd", dir), 0);
	f = fopen(junk, "w");
	ck_assert_ptr_nonnull(f);
	fputs("<notaschema/>", f);
	fclose(f);
	ck_assert_int_eq(sep2_xml_schema_load(junk, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "could not compile schema"));
	remove(junk);
	remove(dir);
	free(junk);
	free(dir);

	ck_assert_int_eq(sep2_xml_parse(a, bad, sizeof(bad) - 1, &d, &err),
					 DERMS_OK);
	if (!have_schema)
	{
		test_skip("sep2_xml schema lifecycle", "sep.xsd not loaded");
		arena_destroy(a);
		return;
	}
	/* failed loads kept the loaded schema */
	ck_assert(sep2_xml_schema_loaded());
	ck_assert_int_eq(sep2_xml_validate(d, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "at line 2"));
	ck_assert_ptr_nonnull(strstr(err.msg, "quality"));

	/* without a schema, validation is a no-op */
	sep2_xml_schema_unload();
	ck_assert(!sep2_xml_schema_loaded());
	ck_assert_int_eq(sep2_xml_validate(d, &err), DERMS_OK);

	xsd = spec_xsd();
	ck_assert_int_eq(sep2_xml_schema_load(xsd, &err), DERMS_OK);
	ck_assert_int_eq(sep2_xml_validate(d, &err), DERMS_EPARSE);
	free(xsd);
	arena_destroy(a);
}
END_TEST

/* ---- writer ---- */

static const char *const roundtrip_values[] = {
	"plain",
	"",
	"a & b",
	"<tag attr=\"x\">",
	"]]>",
	"quote \" and apos '",
	"tab\there",
	"line\nfeed",
	"cr\rand crlf\r\n",
	"  leading and trailing  ",
	"caf\xc3\xa9 \xe2\x98\x83 \xf0\x9d\x84\x9e",
	"&amp; stays literal",
};

START_TEST(test_writer_roundtrip)
{
	const char *value = roundtrip_values[_i];
	arena	   *a = arena_create(0);
	sep2_xw    *w = sep2_xw_new(a);
	const char *out;
	const char *got;
	size_t		len;
	xmlDocPtr	d;
	xmlNodePtr	root;
	xmlChar    *attr;
	derms_err	err;

	ck_assert_ptr_nonnull(w);
	sep2_xw_open(w, "DeviceInformation", "href", value, (char *) NULL);
	sep2_xw_text(w, "mfModel", value);
	sep2_xw_close(w);
	ck_assert_int_eq(sep2_xw_finish(w, &out, &len, &err), DERMS_OK);
	ck_assert_uint_eq(strlen(out), len);

	ck_assert_msg(sep2_xml_parse(a, out, len, &d, &err) == DERMS_OK,
				  "%s: %s", out, err.msg);
	ck_assert_int_eq(sep2_xml_root(d, "DeviceInformation", &root, &err),
					 DERMS_OK);
	ck_assert_int_eq(sep2_xml_string(a, root, "mfModel", 0, SIZE_MAX, &got,
									 &err), DERMS_OK);
	ck_assert_str_eq(got, value);
	attr = xmlGetProp(root, (const xmlChar *) "href");
	ck_assert_ptr_nonnull(attr);
	ck_assert_str_eq((const char *) attr, value);
	xmlFree(attr);
	arena_destroy(a);
}
END_TEST

static const char *const unwritable_values[] = {
	"ctl \x01",
	"esc \x1b[0m",
	"bad utf-8 \xff",
	"truncated \xe2\x98",
	"overlong \xc0\xaf",
	"surrogate \xed\xa0\x80",
	"nonchar \xef\xbf\xbe",
};

START_TEST(test_writer_refuses)
{
	arena	   *a = arena_create(0);
	sep2_xw    *w = sep2_xw_new(a);
	const char *out;
	size_t		len;
	derms_err	err;

	sep2_xw_open(w, "DeviceInformation", (char *) NULL);
	sep2_xw_text(w, "mfModel", unwritable_values[_i]);
	sep2_xw_close(w);
	ck_assert_int_eq(sep2_xw_finish(w, &out, &len, &err), DERMS_EINVAL);
	ck_assert_str_eq(err.msg,
					 "value of <mfModel> holds a character XML cannot carry");

	w = sep2_xw_new(a);
	sep2_xw_open(w, "DeviceInformation", "href", unwritable_values[_i],
				 (char *) NULL);
	sep2_xw_close(w);
	ck_assert_int_eq(sep2_xw_finish(w, &out, &len, &err), DERMS_EINVAL);
	arena_destroy(a);
}
END_TEST

START_TEST(test_writer_shape)
{
	static const uint8_t lfdi[20] = {0x3e, 0x4f, 0x45, 0xab, 0x31, 0xed, 0xfe,
		0x5b, 0x67, 0xe3, 0x43, 0xe5, 0xe4, 0x56, 0x2e, 0x31, 0x98, 0x4e, 0x23,
	0xe5};
	arena	   *a = arena_create(0);
	sep2_xw    *w = sep2_xw_new(a);
	const char *out;
	size_t		len;
	derms_err	err;

	sep2_xw_open(w, "EndDeviceList", "href", "/edev", (char *) NULL);
	sep2_xw_list_attrs(w, 3, 1);
	sep2_xw_attr_int(w, "pollRate", 900);
	sep2_xw_open(w, "EndDevice", "href", "/edev/1", (char *) NULL);
	sep2_xw_open(w, "ConfigurationLink", "href", "/edev/1/cfg", (char *) NULL);
	sep2_xw_close(w);
	sep2_xw_hex(w, "lFDI", lfdi, sizeof(lfdi));
	sep2_xw_uint(w, "sFDI", 167261211391ULL);
	sep2_xw_int(w, "changedTime", -1);
	sep2_xw_bool(w, "enabled", true);
	sep2_xw_close(w);
	sep2_xw_close(w);
	ck_assert_int_eq(sep2_xw_finish(w, &out, &len, &err), DERMS_OK);
	ck_assert_str_eq(out,
					 "<EndDeviceList xmlns=\"urn:ieee:std:2030.5:ns\" href=\"/edev\""
					 " all=\"3\" results=\"1\" pollRate=\"900\">"
					 "<EndDevice href=\"/edev/1\">"
					 "<ConfigurationLink href=\"/edev/1/cfg\"/>"
					 "<lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>"
					 "<sFDI>167261211391</sFDI>"
					 "<changedTime>-1</changedTime>"
					 "<enabled>true</enabled>"
					 "</EndDevice></EndDeviceList>");
	arena_destroy(a);
}
END_TEST

/* Past the first buffer, and through the arena's block size, many times. */
START_TEST(test_writer_growth)
{
	arena	   *a = arena_create(0);
	sep2_xw    *w = sep2_xw_new(a);
	const char *out;
	size_t		len;
	xmlDocPtr	d;
	xmlNodePtr	root;
	derms_err	err;
	int			n = 0;

	sep2_xw_open(w, "EndDeviceList", "href", "/edev", (char *) NULL);
	sep2_xw_list_attrs(w, 600, 600);
	for (int i = 0; i < 600; i++)
	{
		char		href[32];

		snprintf(href, sizeof(href), "/edev/%d", i);
		sep2_xw_open(w, "EndDevice", "href", href, (char *) NULL);
		sep2_xw_int(w, "sFDI", i);
		sep2_xw_int(w, "changedTime", 1700000000 + i);
		sep2_xw_close(w);
	}
	sep2_xw_close(w);
	ck_assert_int_eq(sep2_xw_finish(w, &out, &len, &err), DERMS_OK);
	ck_assert_uint_gt(len, 40000);
	ck_assert_uint_eq(strlen(out), len);
	ck_assert_msg(sep2_xml_parse(a, out, len, &d, &err) == DERMS_OK, "%s",
				  err.msg);
	ck_assert_int_eq(sep2_xml_root(d, "EndDeviceList", &root, &err), DERMS_OK);
	for (xmlNodePtr c = sep2_xml_child(root, "EndDevice"); c != NULL;
		 c = sep2_xml_next(c))
	{
		int64_t		sfdi;

		ck_assert_int_eq(sep2_xml_int64(c, "sFDI", 0, 0, 1000, &sfdi, &err),
						 DERMS_OK);
		ck_assert_int_eq(sfdi, n);
		n++;
	}
	ck_assert_int_eq(n, 600);
	if (have_schema)
		ck_assert_msg(sep2_xml_validate(d, &err) == DERMS_OK, "%s", err.msg);
	arena_destroy(a);
}
END_TEST

/* Documents built with the writer, checked by xmllint against sep.xsd. */
static const char *
build_doc(arena *a, int which, size_t *len)
{
	sep2_xw    *w = sep2_xw_new(a);
	const char *out;
	derms_err	err;
	sep2_page	pg;

	ck_assert_ptr_nonnull(w);
	switch (which)
	{
		case 0:
			sep2_xw_open(w, "Time", "href", "/tm", "pollRate", "900",
						 (char *) NULL);
			sep2_xw_int(w, "currentTime", 1700000000);
			sep2_xw_int(w, "dstEndTime", 1699160400);
			sep2_xw_int(w, "dstOffset", 3600);
			sep2_xw_int(w, "dstStartTime", 1678600800);
			sep2_xw_int(w, "localTime", 1699971200);
			sep2_xw_uint(w, "quality", 7);
			sep2_xw_int(w, "tzOffset", -28800);
			sep2_xw_close(w);
			break;
		case 1:
			ck_assert_int_eq(sep2_page_parse("1", NULL, "2", &pg, &err),
							 DERMS_OK);
			sep2_xw_open(w, "EndDeviceList", "href", "/edev",
						 "subscribable", "0", (char *) NULL);
			sep2_xw_list_attrs(w, 5, sep2_page_results(&pg, 5));
			for (uint32_t i = pg.start; i < pg.start + 2; i++)
			{
				sep2_xw_open(w, "EndDevice", "href",
							 arena_printf(a, "/edev/%u", i), (char *) NULL);
				sep2_xw_text(w, "deviceCategory", "0F");
				sep2_xw_uint(w, "sFDI", 167261211391ULL + i);
				sep2_xw_int(w, "changedTime", 1700000000);
				sep2_xw_bool(w, "enabled", true);
				sep2_xw_close(w);
			}
			sep2_xw_close(w);
			break;
		default:
			sep2_xw_open(w, "DeviceInformation", "href", "/edev/1/di",
						 (char *) NULL);
			sep2_xw_text(w, "lFDI",
						 "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5");
			sep2_xw_int(w, "mfDate", 1699999999);
			sep2_xw_text(w, "mfHwVer", "rev <B> & \"C\"");
			sep2_xw_uint(w, "mfID", 37250);
			sep2_xw_text(w, "mfInfo", "caf\xc3\xa9 ]]> \xe2\x98\x83");
			sep2_xw_text(w, "mfModel", "M&M's");
			sep2_xw_text(w, "mfSerNum", "SN-1");
			sep2_xw_uint(w, "primaryPower", 0);
			sep2_xw_uint(w, "secondaryPower", 0);
			sep2_xw_int(w, "swActTime", 1699999999);
			sep2_xw_text(w, "swVer", "1.0");
			sep2_xw_close(w);
			break;
	}
	ck_assert_int_eq(sep2_xw_finish(w, &out, len, &err), DERMS_OK);
	return out;
}

START_TEST(test_writer_schema_valid)
{
	arena	   *a = arena_create(0);
	size_t		len;
	const char *doc = build_doc(a, _i, &len);
	char	   *xsd = spec_xsd();
	char	   *dir;
	char	   *file;
	char	   *cmd;
	struct stat st;
	FILE	   *f;
	FILE	   *p;
	char		output[2048];
	size_t		n;
	xmlDocPtr	d;
	derms_err	err;
	int			rc;

	ck_assert_msg(sep2_xml_parse(a, doc, len, &d, &err) == DERMS_OK, "%s",
				  err.msg);
	if (stat(xsd, &st) != 0)
	{
		test_skip("sep2_xml writer vs sep.xsd",
				  "sep2/sep.xsd not found under DERMS_SPEC_DIR");
		free(xsd);
		arena_destroy(a);
		return;
	}
	if (have_schema)
		ck_assert_msg(sep2_xml_validate(d, &err) == DERMS_OK, "%s\n%s",
					  err.msg, doc);
	if (system("command -v xmllint >/dev/null 2>&1") != 0)
	{
		test_skip("sep2_xml writer vs xmllint", "xmllint not installed");
		free(xsd);
		arena_destroy(a);
		return;
	}
	dir = test_mkdtemp("sep2xw");
	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&file, "%s/doc.xml", dir), 0);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fwrite(doc, 1, len, f);
	fclose(f);
	ck_assert_int_ge(asprintf(&cmd,
							  "xmllint --noout --nonet --schema '%s' '%s' 2>&1",
							  xsd, file), 0);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(output, 1, sizeof(output) - 1, p);
	output[n] = '\0';
	rc = pclose(p);
	ck_assert_msg(rc == 0, "not valid against sep.xsd:\n%s\n%s", output, doc);
	remove(file);
	remove(dir);
	free(cmd);
	free(file);
	free(dir);
	free(xsd);
	arena_destroy(a);
}
END_TEST

/* ---- paging ---- */

/* A refused s, a, l triple and a substring of the message. */
#define PAGE_ERR(s, a, l, msg) {s, a, l, msg, 0, false, 0, 0}

static const struct
{
	const char *s;
	const char *a;
	const char *l;
	const char *error;			/* substring, NULL when accepted */
	uint32_t	start;
	bool		has_after;
	int64_t		after;
	uint32_t	limit;
}			page_cases[] = {
	{NULL, NULL, NULL, NULL, 0, false, 0, SEP2_DEFAULT_PAGE},
	{"0", "0", "0", NULL, 0, true, 0, 0},
	{"5", NULL, "10", NULL, 5, false, 0, 10},
	{"007", "1700000000", "100", NULL, 7, true, 1700000000, 100},
	{NULL, NULL, "101", NULL, 0, false, 0, SEP2_MAX_PAGE},
	{NULL, NULL, "4294967295", NULL, 0, false, 0, SEP2_MAX_PAGE},
	{"4294967295", "9223372036854775807", NULL, NULL, UINT32_MAX, true,
	INT64_MAX, SEP2_DEFAULT_PAGE},
	PAGE_ERR(NULL, NULL, "4294967296",
			 "query parameter \"l\" is larger than 4294967295"),
	PAGE_ERR("4294967296", NULL, NULL, "query parameter \"s\" is larger than"),
	PAGE_ERR(NULL, "9223372036854775808", NULL,
			 "query parameter \"a\" is larger than"),
	PAGE_ERR(NULL, "99999999999999999999999", NULL, "\"a\" is larger than"),
	PAGE_ERR("", NULL, NULL, "query parameter \"s\" is empty"),
	PAGE_ERR(NULL, "", NULL, "query parameter \"a\" is empty"),
	PAGE_ERR(NULL, NULL, "", "query parameter \"l\" is empty"),
	PAGE_ERR("-1", NULL, NULL,
			 "query parameter \"s\" must be a decimal number"),
	PAGE_ERR("+1", NULL, NULL, "\"s\" must be a decimal number"),
	PAGE_ERR(" 1", NULL, NULL, "\"s\" must be a decimal number"),
	PAGE_ERR(NULL, NULL, "1 ", "\"l\" must be a decimal number"),
	PAGE_ERR(NULL, NULL, "0x10", "\"l\" must be a decimal number"),
	PAGE_ERR(NULL, "1e3", NULL, "\"a\" must be a decimal number"),
	PAGE_ERR(NULL, "-5", NULL, "\"a\" must be a decimal number"),
	PAGE_ERR("abc", NULL, NULL, "\"s\" must be a decimal number"),
	PAGE_ERR("1", "2", "x", "\"l\" must be a decimal number"),
};

START_TEST(test_page_parse)
{
	sep2_page	pg;
	derms_err	err;
	derms_rc	rc;

	memset(&pg, 0xa5, sizeof(pg));
	rc = sep2_page_parse(page_cases[_i].s, page_cases[_i].a,
						 page_cases[_i].l, &pg, &err);
	if (page_cases[_i].error != NULL)
	{
		ck_assert_int_eq(rc, DERMS_EPARSE);
		ck_assert_msg(strstr(err.msg, page_cases[_i].error) != NULL,
					  "\"%s\" lacks \"%s\"", err.msg, page_cases[_i].error);
		return;
	}
	ck_assert_msg(rc == DERMS_OK, "%s", err.msg);
	ck_assert_uint_eq(pg.start, page_cases[_i].start);
	ck_assert_int_eq(pg.has_after, page_cases[_i].has_after);
	if (pg.has_after)
		ck_assert_int_eq(pg.after, page_cases[_i].after);
	ck_assert_uint_eq(pg.limit, page_cases[_i].limit);
}
END_TEST

static const struct
{
	uint32_t	start;
	uint32_t	limit;
	uint32_t	all;
	uint32_t	results;
}			results_cases[] = {
	{0, 1, 0, 0},
	{0, 1, 5, 1},
	{0, 10, 5, 5},
	{3, 10, 5, 2},
	{4, 10, 5, 1},
	{5, 10, 5, 0},
	{6, 10, 5, 0},
	{0, 0, 5, 0},
	{0, 100, 1000, 100},
	{950, 100, 1000, 50},
	{UINT32_MAX, 100, UINT32_MAX, 0},
	{UINT32_MAX - 1, 100, UINT32_MAX, 1},
};

START_TEST(test_page_results)
{
	sep2_page	pg = {results_cases[_i].start, false, 0,
	results_cases[_i].limit};

	ck_assert_uint_eq(sep2_page_results(&pg, results_cases[_i].all),
					  results_cases[_i].results);
}
END_TEST

/* ---- threads ---- */

#define NTHREADS 4
#define NROUNDS 300

static void *
parse_worker(void *arg)
{
	static const char good[] =
		"<Time xmlns=\"" SEP2_NS "\"><currentTime>42</currentTime></Time>";
	static const char bad[] = "<Time xmlns=\"" SEP2_NS "\">\n\n<x></Time>";
	static const char dtd[] = "<!DOCTYPE x [<!ENTITY a \"b\">]><x/>";
	intptr_t	id = (intptr_t) arg;
	intptr_t	failures = 0;

	for (int i = 0; i < NROUNDS; i++)
	{
		arena	   *a = arena_create(0);
		xmlDocPtr	d;
		xmlNodePtr	root;
		derms_err	err;
		int64_t		v = 0;

		switch ((i + id) % 3)
		{
			case 0:
				if (sep2_xml_parse(a, good, sizeof(good) - 1, &d,
								   &err) != DERMS_OK ||
					sep2_xml_root(d, "Time", &root, &err) != DERMS_OK ||
					sep2_xml_int64(root, "currentTime", 0, 0, 100, &v,
								   &err) != DERMS_OK || v != 42)
					failures++;
				break;
			case 1:
				if (sep2_xml_parse(a, bad, sizeof(bad) - 1, &d,
								   &err) != DERMS_EPARSE ||
					strstr(err.msg, "malformed XML at line 3") == NULL)
					failures++;
				break;
			default:
				if (sep2_xml_parse(a, dtd, sizeof(dtd) - 1, &d,
								   &err) != DERMS_EPARSE ||
					strcmp(err.msg, "DOCTYPE not allowed at line 1") != 0)
					failures++;
				break;
		}
		arena_destroy(a);
	}
	return (void *) failures;
}

START_TEST(test_threads)
{
	pthread_t	th[NTHREADS];

	for (intptr_t i = 0; i < NTHREADS; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, parse_worker,
										(void *) i), 0);
	for (int i = 0; i < NTHREADS; i++)
	{
		void	   *failures;

		ck_assert_int_eq(pthread_join(th[i], &failures), 0);
		ck_assert_int_eq((intptr_t) failures, 0);
	}
}
END_TEST

Suite *
sep2_xml_suite(void)
{
	Suite	   *s = suite_create("sep2_xml");
	TCase	   *tc;

	tc = tcase_create("golden");
	tcase_add_unchecked_fixture(tc, schema_setup, schema_teardown);
	tcase_add_loop_test(tc, test_golden, 0, (int) NELEM(golden_cases));
	tcase_add_test(tc, test_golden_table_complete);
	suite_add_tcase(s, tc);

	tc = tcase_create("caps");
	tcase_add_loop_test(tc, test_size_cap, 0, 3);
	tcase_add_loop_test(tc, test_depth_cap, 0, 5);
	tcase_add_test(tc, test_namespace_rewrite);
	tcase_add_test(tc, test_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("schema");
	tcase_add_unchecked_fixture(tc, schema_setup, schema_teardown);
	tcase_add_test(tc, test_schema_lifecycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("writer");
	tcase_add_unchecked_fixture(tc, schema_setup, schema_teardown);
	tcase_add_loop_test(tc, test_writer_roundtrip, 0,
						(int) NELEM(roundtrip_values));
	tcase_add_loop_test(tc, test_writer_refuses, 0,
						(int) NELEM(unwritable_values));
	tcase_add_test(tc, test_writer_shape);
	tcase_add_test(tc, test_writer_growth);
	tcase_add_loop_test(tc, test_writer_schema_valid, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("paging");
	tcase_add_loop_test(tc, test_page_parse, 0, (int) NELEM(page_cases));
	tcase_add_loop_test(tc, test_page_results, 0, (int) NELEM(results_cases));
	suite_add_tcase(s, tc);
	return s;
}
