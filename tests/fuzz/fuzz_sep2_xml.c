/*
 * tests/fuzz/fuzz_sep2_xml.c
 *	  libFuzzer target for protocols/sep2/xml.c: every input goes through
 *	  sep2_xml_parse() with a fresh arena, and a document that parses goes
 *	  through the typed readers and the writer as a handler would use them.
 *
 * NOTES
 *	  Built by "make fuzz" with clang-14 and -fsanitize=fuzzer,address,
 *	  undefined into build-fuzz/; never part of check_dermsd (tests/module.mk
 *	  filters tests/fuzz/ out).  Seeds are in tests/fuzz/corpus/sep2_xml/.
 *	  A refusal is a normal outcome; only a crash, a sanitizer report, a
 *	  leak or a broken invariant (checked with abort()) is a finding.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "protocols/sep2/xml.h"
#include "server/arena.h"
#include "server/err.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every child of el with every reader; errors are expected. */
static void
read_children(arena *a, xmlNodePtr el, sep2_xw *w)
{
	for (xmlNodePtr c = el->children; c != NULL; c = c->next)
	{
		const char *name;
		const char *s;
		derms_err	err;
		int64_t		i64;
		uint32_t	u32;
		uint8_t		u8;
		bool		b;
		uint8_t		hex[64];
		size_t		n;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		name = (const char *) c->name;
		(void) sep2_xml_int64(el, name, SEP2_XML_OPTIONAL, INT64_MIN,
							  INT64_MAX, &i64, &err);
		(void) sep2_xml_uint32(el, name, SEP2_XML_REQUIRED, &u32, &err);
		(void) sep2_xml_uint8(el, name, SEP2_XML_REQUIRED, &u8, &err);
		(void) sep2_xml_bool(el, name, SEP2_XML_REQUIRED, &b, &err);
		(void) sep2_xml_hex(el, name, SEP2_XML_REQUIRED, 0, sizeof(hex), hex,
							sizeof(hex), &n, &err);
		if (sep2_xml_string(a, el, name, SEP2_XML_REQUIRED, 32, &s,
							&err) == DERMS_OK)
			sep2_xw_text(w, "mfModel", s);
		if (c->children != NULL)
			read_children(a, c, w);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	arena	   *a = arena_create(0);
	xmlDocPtr	doc = NULL;
	xmlNodePtr	root;
	derms_err	err;
	derms_rc	rc;
	sep2_xw    *w;
	const char *out;
	size_t		outlen;
	sep2_page	pg;

	if (a == NULL)
		return 0;

	/* the first three lines as s, a and l */
	{
		char	   *copy = arena_strndup(a, (const char *) data,
										 size < 256 ? size : 256);
		char	   *q[3] = {NULL, NULL, NULL};

		if (copy != NULL)
		{
			char	   *save = NULL;

			q[0] = strtok_r(copy, "\n", &save);
			q[1] = q[0] ? strtok_r(NULL, "\n", &save) : NULL;
			q[2] = q[1] ? strtok_r(NULL, "\n", &save) : NULL;
			if (sep2_page_parse(q[0], q[1], q[2], &pg, &err) == DERMS_OK &&
				(pg.limit > SEP2_MAX_PAGE ||
				 sep2_page_results(&pg, 1000) > pg.limit))
				abort();
		}
	}

	rc = sep2_xml_parse(a, (const char *) data, size, &doc, &err);
	if (rc != DERMS_OK)
	{
		/* a refusal always says why, in one line */
		if (doc != NULL || err.msg[0] == '\0' || strchr(err.msg, '\n'))
			abort();
		arena_destroy(a);
		return 0;
	}
	root = xmlDocGetRootElement(doc);
	if (root == NULL || root->ns == NULL ||
		strcmp((const char *) root->ns->href, SEP2_NS) != 0)
		abort();				/* handlers only ever see the 2018 namespace */
	(void) sep2_xml_validate(doc, &err);

	w = sep2_xw_new(a);
	if (w != NULL)
	{
		sep2_xw_open(w, "DeviceInformation", (char *) NULL);
		read_children(a, root, w);
		sep2_xw_close(w);
		/* what the parser accepted, the writer can carry and we re-read */
		if (sep2_xw_finish(w, &out, &outlen, &err) != DERMS_OK)
			abort();
		if (outlen <= SEP2_XML_MAX_BODY &&
			sep2_xml_parse(a, out, outlen, &doc, &err) != DERMS_OK)
			abort();
	}

	arena_destroy(a);
	return 0;
}
