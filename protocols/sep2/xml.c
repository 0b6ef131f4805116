/*
 * protocols/sep2/xml.c
 *	  Hardened libxml2 parsing of IEEE 2030.5 request bodies, optional
 *	  validation against sep.xsd, typed readers for handlers, the writer for
 *	  the documents we send, and the s/a/l list paging parameters.
 *
 * NOTES
 *	  Bytes from devices are hostile.  The parser never loads anything
 *	  (XML_PARSE_NONET, no DTD, no XInclude), never substitutes entities, and
 *	  stops at the first DOCTYPE, entity, processing instruction or element
 *	  nested too deep: our SAX hooks call xmlStopParser(), so a billion-laughs
 *	  document costs a few microseconds.  Every call makes its own parser
 *	  context and routes errors to that context's structured handler
 *	  (sax->serror; libxml2 2.9.14 has no xmlCtxtSetErrorHandler), so calls
 *	  on different threads share nothing but the parser's one-time init and
 *	  the compiled schema, which is read-only once built and guarded by a
 *	  reader-writer lock against replacement.
 *	  Documents belong to the caller's arena (xmlFreeDoc is registered with
 *	  arena_on_destroy); the writer allocates only from its arena.
 */
#include "xml.h"

#include <assert.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#define XML_PARSE_OPTS	(XML_PARSE_NONET | XML_PARSE_NOCDATA | \
						 XML_PARSE_NOERROR | XML_PARSE_NOWARNING | \
						 XML_PARSE_IGNORE_ENC)

/* Longest numeric or boolean value text we look at, whitespace included. */
#define VALUE_MAX	128

/* Per-parse state, reached from the parser context's _private. */
typedef struct parse_state
{
	int			depth;			/* current element depth */
	bool		refused;		/* one of our hooks stopped the parser */
	char		reason[256];	/* why, with the line */
	bool		have_xml_err;	/* libxml2 reported an error */
	int			xml_err_line;
	char		xml_err[256];	/* its one line, first error only */
} parse_state;

/*
 * Namespaces allowed on elements below the root besides SEP2_NS: the
 * CSIP-AUS extension elements its profile puts inside 2030.5 resources.
 */
static const char *const extension_ns[] = {
	"https://csipaus.org/ns/v1.3",
};

struct sep2_xw
{
	arena	   *a;
	char	   *buf;
	size_t		len;
	size_t		cap;
	bool		oom;
	const char *bad;			/* first element whose value XML can't carry */
	bool		started;		/* the root has been opened */
	bool		tag_open;		/* "<name attrs" written, '>' still due */
	int			depth;
	const char *stack[SEP2_XW_MAX_DEPTH];
};

static void parse_init(void);
static void refuse(xmlParserCtxtPtr ctxt, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
static void on_error(void *ctx, xmlErrorPtr e);
static void on_internal_subset(void *ctx, const xmlChar *name,
							   const xmlChar *ext, const xmlChar *sys);
static void on_external_subset(void *ctx, const xmlChar *name,
							   const xmlChar *ext, const xmlChar *sys);
static xmlEntityPtr on_get_entity(void *ctx, const xmlChar *name);
static xmlEntityPtr on_get_pentity(void *ctx, const xmlChar *name);
static void on_entity_decl(void *ctx, const xmlChar *name, int type,
						   const xmlChar *pub, const xmlChar *sys,
						   xmlChar *content);
static void on_unparsed_entity_decl(void *ctx, const xmlChar *name,
									const xmlChar *pub, const xmlChar *sys,
									const xmlChar *notation);
static xmlParserInputPtr on_resolve_entity(void *ctx, const xmlChar *pub,
										   const xmlChar *sys);
static void on_reference(void *ctx, const xmlChar *name);
static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data);
static void on_start(void *ctx, const xmlChar *localname,
					 const xmlChar *prefix, const xmlChar *uri,
					 int nb_namespaces, const xmlChar **namespaces,
					 int nb_attributes, int nb_defaulted,
					 const xmlChar **attributes);
static void on_end(void *ctx, const xmlChar *localname,
				   const xmlChar *prefix, const xmlChar *uri);
static void first_line(char *dst, size_t dstlen, const char *msg);
static derms_rc check_namespaces(xmlDocPtr doc, derms_err *err);
static xmlNodePtr next_element(xmlNodePtr n, xmlNodePtr top);
static bool is_sep2(const xmlNode *n);
static derms_rc find_value(xmlNodePtr parent, const char *name,
						   unsigned flags, xmlNodePtr *out, derms_err *err);
static size_t text_len(const xmlNode *el);
static void text_copy(const xmlNode *el, char *dst);
static derms_rc short_value(xmlNodePtr el, const char *name, char *buf,
							derms_err *err);
static void trim(char *s);
static bool parse_int64(const char *s, int64_t *out);
static derms_rc read_int(xmlNodePtr parent, const char *name, unsigned flags,
						 int64_t min, int64_t max, int64_t *out, bool *found,
						 derms_err *err);
static int	hex_digit(char c);
static void on_schema_error(void *data, xmlErrorPtr e);
static void on_schema_read_error(void *ctx, xmlErrorPtr e);
static void xw_start(sep2_xw *w, const char *name);
static void xw_put(sep2_xw *w, const char *s, size_t n);
static void xw_puts(sep2_xw *w, const char *s);
static void xw_escaped(sep2_xw *w, const char *value, bool attr);
static void xw_end_start_tag(sep2_xw *w);
static int	utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);
static derms_rc page_number(const char *name, const char *v, uint64_t max,
							uint64_t *out, derms_err *err);

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static pthread_rwlock_t schema_lock = PTHREAD_RWLOCK_INITIALIZER;
static xmlSchemaPtr schema;		/* NULL when none is loaded */
static xmlDocPtr schema_doc;	/* the schema's source, kept with it */

/* ---------------------------------------------------------------- */
/* parsing															*/
/* ---------------------------------------------------------------- */

static void
parse_init(void)
{
	xmlInitParser();
}

/* Stop the parser with our own reason; the first reason wins. */
static void
refuse(xmlParserCtxtPtr ctxt, const char *fmt,...)
{
	parse_state *st = ctxt->_private;
	va_list		ap;
	char		what[192];

	if (!st->refused)
	{
		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		snprintf(st->reason, sizeof(st->reason), "%s at line %d", what,
				 xmlSAX2GetLineNumber(ctxt));
		st->refused = true;
	}
	xmlStopParser(ctxt);
}

/* Structured error handler of one parser context (data is the context). */
static void
on_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;
	parse_state *st;

	if (ctxt == NULL || e == NULL || e->level < XML_ERR_ERROR)
		return;
	st = ctxt->_private;
	if (st == NULL || st->have_xml_err)
		return;
	st->have_xml_err = true;
	st->xml_err_line = e->line;
	first_line(st->xml_err, sizeof(st->xml_err), e->message);
}

static void
on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
				   const xmlChar *sys)
{
	(void) name;
	(void) ext;
	(void) sys;
	refuse(ctx, "DOCTYPE not allowed");
}

static void
on_external_subset(void *ctx, const xmlChar *name, const xmlChar *ext,
				   const xmlChar *sys)
{
	(void) name;
	(void) ext;
	(void) sys;
	refuse(ctx, "external DTD subset not allowed");
}

static xmlEntityPtr
on_get_entity(void *ctx, const xmlChar *name)
{
	refuse(ctx, "entity reference &%.64s; not allowed",
		   (const char *) name);
	return NULL;
}

static xmlEntityPtr
on_get_pentity(void *ctx, const xmlChar *name)
{
	refuse(ctx, "parameter entity reference %%%.64s; not allowed",
		   (const char *) name);
	return NULL;
}

static void
on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
			   const xmlChar *sys, xmlChar *content)
{
	(void) type;
	(void) pub;
	(void) sys;
	(void) content;
	refuse(ctx, "entity declaration %.64s not allowed", (const char *) name);
}

static void
on_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *pub,
						const xmlChar *sys, const xmlChar *notation)
{
	(void) pub;
	(void) sys;
	(void) notation;
	refuse(ctx, "entity declaration %.64s not allowed", (const char *) name);
}

static xmlParserInputPtr
on_resolve_entity(void *ctx, const xmlChar *pub, const xmlChar *sys)
{
	(void) pub;
	(void) sys;
	refuse(ctx, "external entity not allowed");
	return NULL;
}

static void
on_reference(void *ctx, const xmlChar *name)
{
	refuse(ctx, "entity reference &%.64s; not allowed",
		   (const char *) name);
}

static void
on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
	(void) data;
	refuse(ctx, "processing instruction <?%.64s?> not allowed",
		   (const char *) target);
}

static void
on_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
		 const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
		 int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxtPtr ctxt = ctx;
	parse_state *st = ctxt->_private;

	if (++st->depth > SEP2_XML_MAX_DEPTH)
	{
		refuse(ctxt, "element nesting deeper than %d",
			   SEP2_XML_MAX_DEPTH);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, uri, nb_namespaces,
						  namespaces, nb_attributes, nb_defaulted,
						  attributes);
}

static void
on_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
	   const xmlChar *uri)
{
	xmlParserCtxtPtr ctxt = ctx;
	parse_state *st = ctxt->_private;

	st->depth--;
	xmlSAX2EndElementNs(ctx, localname, prefix, uri);
}

/*
 * Copy msg as one line: line breaks and tabs (libxml2 ends messages with
 * one, and some quote the offending bytes on a second line) become single
 * spaces, trailing blanks go, and the first letter is lowercased as our
 * messages are.
 */
static void
first_line(char *dst, size_t dstlen, const char *msg)
{
	size_t		n = 0;

	assert(dstlen > 1);
	if (msg == NULL)
		msg = "unknown error";
	for (; *msg != '\0' && n < dstlen - 1; msg++)
	{
		char		c = *msg;

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if (c == ' ' && (n == 0 || dst[n - 1] == ' '))
			continue;
		dst[n++] = c;
	}
	while (n > 0 && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
	if (dst[0] >= 'A' && dst[0] <= 'Z' && !(dst[1] >= 'A' && dst[1] <= 'Z'))
		dst[0] = (char) (dst[0] - 'A' + 'a');
}

derms_rc
sep2_xml_parse(arena *a, const char *body, size_t len, xmlDocPtr *out,
			   derms_err *err)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	doc;
	parse_state st;
	bool		ok;
	derms_rc	rc;

	assert(a != NULL);
	assert(out != NULL);
	assert(body != NULL || len == 0);

	*out = NULL;
	if (len == 0)
		return derms_err_set(err, DERMS_EPARSE, "empty body");
	if (len > SEP2_XML_MAX_BODY)
		return derms_err_set(err, DERMS_EPARSE,
							 "body of %zu bytes exceeds the limit of %d bytes",
							 len, SEP2_XML_MAX_BODY);
	if (len >= 4)
	{
		xmlCharEncoding enc;

		enc = xmlDetectCharEncoding((const unsigned char *) body, 4);
		if (enc != XML_CHAR_ENCODING_NONE && enc != XML_CHAR_ENCODING_UTF8)
		{
			const char *name = xmlGetCharEncodingName(enc);

			return derms_err_set(err, DERMS_EPARSE,
								 "document is not UTF-8 (its first bytes say %s)",
								 name ? name : "another encoding");
		}
	}
	if (memchr(body, '\0', len) != NULL)
		return derms_err_set(err, DERMS_EPARSE,
							 "body contains a NUL byte; documents must be UTF-8 XML");

	pthread_once(&init_once, parse_init);

	ctxt = xmlCreateMemoryParserCtxt(body, (int) len);
	if (ctxt == NULL)
		return derms_err_set(err, DERMS_ENOMEM,
							 "could not create an XML parser");
	memset(&st, 0, sizeof(st));
	ctxt->_private = &st;
	xmlCtxtUseOptions(ctxt, XML_PARSE_OPTS);

	/* Our hooks on this context's own SAX block (a private copy). */
	ctxt->sax->initialized = XML_SAX2_MAGIC;
	ctxt->sax->serror = on_error;
	ctxt->sax->internalSubset = on_internal_subset;
	ctxt->sax->externalSubset = on_external_subset;
	ctxt->sax->getEntity = on_get_entity;
	ctxt->sax->getParameterEntity = on_get_pentity;
	ctxt->sax->entityDecl = on_entity_decl;
	ctxt->sax->unparsedEntityDecl = on_unparsed_entity_decl;
	ctxt->sax->resolveEntity = on_resolve_entity;
	ctxt->sax->reference = on_reference;
	ctxt->sax->processingInstruction = on_pi;
	ctxt->sax->startElementNs = on_start;
	ctxt->sax->endElementNs = on_end;
	ctxt->replaceEntities = 0;
	ctxt->loadsubset = 0;
	ctxt->validate = 0;

	xmlParseDocument(ctxt);
	doc = ctxt->myDoc;
	ctxt->myDoc = NULL;
	ok = !st.refused && ctxt->wellFormed && ctxt->nsWellFormed &&
		doc != NULL;
	xmlFreeParserCtxt(ctxt);

	if (!ok)
	{
		if (doc != NULL)
			xmlFreeDoc(doc);
		if (st.refused)
			return derms_err_set(err, DERMS_EPARSE, "%s", st.reason);
		if (st.have_xml_err)
			return derms_err_set(err, DERMS_EPARSE,
								 "malformed XML at line %d: %s",
								 st.xml_err_line, st.xml_err);
		return derms_err_set(err, DERMS_EPARSE, "malformed XML");
	}
	if (arena_on_destroy(a, (arena_cleanup_fn) xmlFreeDoc, doc) != 0)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");

	rc = check_namespaces(doc, err);
	if (rc != DERMS_OK)
		return rc;
	*out = doc;
	return DERMS_OK;
}

/* The next element after n in document order, staying below top. */
static xmlNodePtr
next_element(xmlNodePtr n, xmlNodePtr top)
{
	for (;;)
	{
		if (n->children != NULL && n->type == XML_ELEMENT_NODE)
			n = n->children;
		else
		{
			while (n != top && n->next == NULL)
				n = n->parent;
			if (n == top)
				return NULL;
			n = n->next;
		}
		if (n->type == XML_ELEMENT_NODE)
			return n;
	}
}

/*
 * Every element in a 2030.5 namespace (extensions allowed below the root);
 * then the pre-2018 namespace is rewritten in place to the 2018 one.  The
 * xmlNs structures are shared by the nodes that use them, so rewriting
 * each declaration's href renames every element and attribute at once.
 */
static derms_rc
check_namespaces(xmlDocPtr doc, derms_err *err)
{
	xmlNodePtr	root = xmlDocGetRootElement(doc);
	xmlNodePtr	n;

	if (root == NULL)
		return derms_err_set(err, DERMS_EPARSE, "document has no element");
	for (n = root; n != NULL; n = next_element(n, root))
	{
		const char *href;
		bool		fine = false;

		if (n->ns == NULL || n->ns->href == NULL)
			return derms_err_set(err, DERMS_EPARSE,
								 "element <%s> at line %ld has no namespace; expected \"%s\"",
								 (const char *) n->name, xmlGetLineNo(n),
								 SEP2_NS);
		href = (const char *) n->ns->href;
		if (strcmp(href, SEP2_NS) == 0 || strcmp(href, SEP2_NS_OLD) == 0)
			fine = true;
		for (size_t i = 0; n != root && !fine &&
			 i < sizeof(extension_ns) / sizeof(extension_ns[0]); i++)
			fine = strcmp(href, extension_ns[i]) == 0;
		if (!fine)
			return derms_err_set(err, DERMS_EPARSE,
								 "element <%s> at line %ld has namespace \"%.100s\"; expected \"%s\"",
								 (const char *) n->name, xmlGetLineNo(n),
								 href, SEP2_NS);
	}
	for (n = root; n != NULL; n = next_element(n, root))
	{
		for (xmlNsPtr ns = n->nsDef; ns != NULL; ns = ns->next)
		{
			xmlChar    *href;

			if (ns->href == NULL ||
				strcmp((const char *) ns->href, SEP2_NS_OLD) != 0)
				continue;
			href = xmlStrdup((const xmlChar *) SEP2_NS);
			if (href == NULL)
				return derms_err_set(err, DERMS_ENOMEM, "out of memory");
			xmlFree((void *) (uintptr_t) ns->href);
			ns->href = href;
		}
	}
	return DERMS_OK;
}

static bool
is_sep2(const xmlNode *n)
{
	return n->type == XML_ELEMENT_NODE && n->ns != NULL &&
		n->ns->href != NULL &&
		strcmp((const char *) n->ns->href, SEP2_NS) == 0;
}

derms_rc
sep2_xml_root(xmlDocPtr doc, const char *name, xmlNodePtr *root,
			  derms_err *err)
{
	xmlNodePtr	r;

	assert(doc != NULL);
	assert(name != NULL);
	r = xmlDocGetRootElement(doc);
	if (r == NULL || !is_sep2(r))
		return derms_err_set(err, DERMS_EPARSE,
							 "expected a <%s> document in namespace \"%s\"",
							 name, SEP2_NS);
	if (strcmp((const char *) r->name, name) != 0)
		return derms_err_set(err, DERMS_EPARSE, "expected <%s>, got <%.64s>",
							 name, (const char *) r->name);
	if (root != NULL)
		*root = r;
	return DERMS_OK;
}

/* ---------------------------------------------------------------- */
/* schema validation												*/
/* ---------------------------------------------------------------- */

typedef struct schema_errors
{
	bool		have;
	int			line;
	char		msg[300];
} schema_errors;

static void
on_schema_error(void *data, xmlErrorPtr e)
{
	schema_errors *se = data;

	if (se->have || e == NULL || e->level < XML_ERR_ERROR)
		return;
	se->have = true;
	se->line = e->line;
	first_line(se->msg, sizeof(se->msg), e->message);
}

/* Errors while reading the schema file (data is its parser context). */
static void
on_schema_read_error(void *ctx, xmlErrorPtr e)
{
	xmlParserCtxtPtr ctxt = ctx;

	if (ctxt != NULL && ctxt->_private != NULL)
		on_schema_error(ctxt->_private, e);
}

derms_rc
sep2_xml_schema_load(const char *path, derms_err *err)
{
	xmlParserCtxtPtr pctxt;
	xmlSchemaParserCtxtPtr sctxt;
	xmlDocPtr	doc;
	xmlSchemaPtr s;
	schema_errors se;

	assert(path != NULL);
	pthread_once(&init_once, parse_init);
	memset(&se, 0, sizeof(se));

	pctxt = xmlNewParserCtxt();
	if (pctxt == NULL)
		return derms_err_set(err, DERMS_ENOMEM,
							 "could not create an XML parser");
	pctxt->sax->initialized = XML_SAX2_MAGIC;
	pctxt->sax->serror = on_schema_read_error;
	pctxt->_private = &se;
	doc = xmlCtxtReadFile(pctxt, path, NULL,
						  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING);
	if (doc == NULL)
	{
		xmlErrorPtr e = xmlCtxtGetLastError(pctxt);

		if (!se.have)
			first_line(se.msg, sizeof(se.msg), e ? e->message : NULL);
		xmlFreeParserCtxt(pctxt);
		return derms_err_set(err, DERMS_EPARSE,
							 "could not read schema \"%s\": %s", path, se.msg);
	}
	xmlFreeParserCtxt(pctxt);

	sctxt = xmlSchemaNewDocParserCtxt(doc);
	if (sctxt == NULL)
	{
		xmlFreeDoc(doc);
		return derms_err_set(err, DERMS_ENOMEM,
							 "could not create a schema parser");
	}
	xmlSchemaSetParserStructuredErrors(sctxt, on_schema_error, &se);
	s = xmlSchemaParse(sctxt);
	xmlSchemaFreeParserCtxt(sctxt);
	if (s == NULL)
	{
		xmlFreeDoc(doc);
		return derms_err_set(err, DERMS_EPARSE,
							 "could not compile schema \"%s\" at line %d: %s",
							 path, se.line,
							 se.have ? se.msg : "unknown error");
	}

	pthread_rwlock_wrlock(&schema_lock);
	if (schema != NULL)
	{
		xmlSchemaFree(schema);
		xmlFreeDoc(schema_doc);
	}
	schema = s;
	schema_doc = doc;
	pthread_rwlock_unlock(&schema_lock);
	return DERMS_OK;
}

void
sep2_xml_schema_unload(void)
{
	pthread_rwlock_wrlock(&schema_lock);
	if (schema != NULL)
	{
		xmlSchemaFree(schema);
		xmlFreeDoc(schema_doc);
	}
	schema = NULL;
	schema_doc = NULL;
	pthread_rwlock_unlock(&schema_lock);
}

bool
sep2_xml_schema_loaded(void)
{
	bool		loaded;

	pthread_rwlock_rdlock(&schema_lock);
	loaded = schema != NULL;
	pthread_rwlock_unlock(&schema_lock);
	return loaded;
}

derms_rc
sep2_xml_validate(xmlDocPtr doc, derms_err *err)
{
	xmlSchemaValidCtxtPtr vctxt;
	schema_errors se;
	int			r;

	assert(doc != NULL);
	pthread_rwlock_rdlock(&schema_lock);
	if (schema == NULL)
	{
		pthread_rwlock_unlock(&schema_lock);
		return DERMS_OK;
	}
	vctxt = xmlSchemaNewValidCtxt(schema);
	if (vctxt == NULL)
	{
		pthread_rwlock_unlock(&schema_lock);
		return derms_err_set(err, DERMS_ENOMEM,
							 "could not create a schema validator");
	}
	memset(&se, 0, sizeof(se));
	xmlSchemaSetValidStructuredErrors(vctxt, on_schema_error, &se);
	r = xmlSchemaValidateDoc(vctxt, doc);
	xmlSchemaFreeValidCtxt(vctxt);
	pthread_rwlock_unlock(&schema_lock);

	if (r == 0)
		return DERMS_OK;
	if (r < 0)
		return derms_err_set(err, DERMS_ENOMEM,
							 "schema validation failed internally");
	return derms_err_set(err, DERMS_EPARSE,
						 "document not valid against the schema at line %d: %s",
						 se.line, se.have ? se.msg : "unknown error");
}

/* ---------------------------------------------------------------- */
/* typed readers													*/
/* ---------------------------------------------------------------- */

xmlNodePtr
sep2_xml_child(xmlNodePtr parent, const char *name)
{
	assert(name != NULL);
	if (parent == NULL)
		return NULL;
	for (xmlNodePtr c = parent->children; c != NULL; c = c->next)
		if (is_sep2(c) && strcmp((const char *) c->name, name) == 0)
			return c;
	return NULL;
}

xmlNodePtr
sep2_xml_next(xmlNodePtr node)
{
	assert(node != NULL);
	for (xmlNodePtr c = node->next; c != NULL; c = c->next)
		if (is_sep2(c) && xmlStrEqual(c->name, node->name))
			return c;
	return NULL;
}

/*
 * The one child <name> of parent holding only text: *out is NULL when the
 * element is absent and optional.
 */
static derms_rc
find_value(xmlNodePtr parent, const char *name, unsigned flags,
		   xmlNodePtr *out, derms_err *err)
{
	xmlNodePtr	el;
	xmlNodePtr	dup;

	assert(parent != NULL);
	assert(name != NULL);
	assert((flags & ~SEP2_XML_OPTIONAL) == 0);

	*out = NULL;
	el = sep2_xml_child(parent, name);
	if (el == NULL)
	{
		if (flags & SEP2_XML_OPTIONAL)
			return DERMS_OK;
		return derms_err_set(err, DERMS_EPARSE,
							 "element <%s> missing in <%s> at line %ld",
							 name, (const char *) parent->name,
							 xmlGetLineNo(parent));
	}
	dup = sep2_xml_next(el);
	if (dup != NULL)
		return derms_err_set(err, DERMS_EPARSE,
							 "element <%s> repeated at line %ld",
							 name, xmlGetLineNo(dup));
	for (xmlNodePtr c = el->children; c != NULL; c = c->next)
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE &&
			c->type != XML_COMMENT_NODE)
			return derms_err_set(err, DERMS_EPARSE,
								 "element <%s> at line %ld must hold text only",
								 name, xmlGetLineNo(el));
	*out = el;
	return DERMS_OK;
}

static size_t
text_len(const xmlNode *el)
{
	size_t		n = 0;

	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
			c->content != NULL)
			n += strlen((const char *) c->content);
	return n;
}

/* dst has room for text_len(el) + 1 bytes. */
static void
text_copy(const xmlNode *el, char *dst)
{
	size_t		n = 0;

	for (const xmlNode *c = el->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
			c->content != NULL)
		{
			size_t		k = strlen((const char *) c->content);

			memcpy(dst + n, c->content, k);
			n += k;
		}
	dst[n] = '\0';
}

/* The trimmed text of a numeric or boolean element into buf[VALUE_MAX]. */
static derms_rc
short_value(xmlNodePtr el, const char *name, char *buf, derms_err *err)
{
	if (text_len(el) >= VALUE_MAX)
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is too long",
							 name, xmlGetLineNo(el));
	text_copy(el, buf);
	trim(buf);
	return DERMS_OK;
}

/* Drop XML whitespace at both ends, in place. */
static void
trim(char *s)
{
	size_t		n = strlen(s);
	size_t		i = 0;

	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
					 s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
					 s[i] == '\r'))
		i++;
	memmove(s, s + i, n - i);
	s[n - i] = '\0';
}

/* xs:integer lexical form: optional sign, one or more decimal digits. */
static bool
parse_int64(const char *s, int64_t *out)
{
	bool		neg = false;
	uint64_t	v = 0;
	uint64_t	lim;

	if (*s == '+' || *s == '-')
		neg = (*s++ == '-');
	if (*s == '\0')
		return false;
	lim = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
	for (; *s != '\0'; s++)
	{
		unsigned	d;

		if (*s < '0' || *s > '9')
			return false;
		d = (unsigned) (*s - '0');
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) v;
	else
		*out = (int64_t) v;
	return true;
}

/* An integer element within [min, max]; *found false when absent. */
static derms_rc
read_int(xmlNodePtr parent, const char *name, unsigned flags, int64_t min,
		 int64_t max, int64_t *out, bool *found, derms_err *err)
{
	xmlNodePtr	el;
	char		buf[VALUE_MAX];
	const char *digits;
	int64_t		v;
	derms_rc	rc;

	assert(min <= max);
	*found = false;
	if ((rc = find_value(parent, name, flags, &el, err)) != DERMS_OK ||
		el == NULL)
		return rc;
	if ((rc = short_value(el, name, buf, err)) != DERMS_OK)
		return rc;
	digits = buf[0] == '+' || buf[0] == '-' ? buf + 1 : buf;
	if (*digits == '\0' || strspn(digits, "0123456789") != strlen(digits))
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is not an integer",
							 name, xmlGetLineNo(el));
	if (!parse_int64(buf, &v) || v < min || v > max)
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is out of range [%" PRId64 ", %" PRId64 "]",
							 name, xmlGetLineNo(el), min, max);
	*out = v;
	*found = true;
	return DERMS_OK;
}

derms_rc
sep2_xml_int64(xmlNodePtr parent, const char *name, unsigned flags,
			   int64_t min, int64_t max, int64_t *out, derms_err *err)
{
	bool		found;

	assert(out != NULL);
	return read_int(parent, name, flags, min, max, out, &found, err);
}

derms_rc
sep2_xml_uint32(xmlNodePtr parent, const char *name, unsigned flags,
				uint32_t *out, derms_err *err)
{
	int64_t		v = 0;
	bool		found;
	derms_rc	rc;

	assert(out != NULL);
	rc = read_int(parent, name, flags, 0, UINT32_MAX, &v, &found, err);
	if (rc == DERMS_OK && found)
		*out = (uint32_t) v;
	return rc;
}

derms_rc
sep2_xml_uint8(xmlNodePtr parent, const char *name, unsigned flags,
			   uint8_t *out, derms_err *err)
{
	int64_t		v = 0;
	bool		found;
	derms_rc	rc;

	assert(out != NULL);
	rc = read_int(parent, name, flags, 0, UINT8_MAX, &v, &found, err);
	if (rc == DERMS_OK && found)
		*out = (uint8_t) v;
	return rc;
}

derms_rc
sep2_xml_bool(xmlNodePtr parent, const char *name, unsigned flags,
			  bool *out, derms_err *err)
{
	xmlNodePtr	el;
	char		buf[VALUE_MAX];
	derms_rc	rc;

	assert(out != NULL);
	if ((rc = find_value(parent, name, flags, &el, err)) != DERMS_OK ||
		el == NULL)
		return rc;
	if ((rc = short_value(el, name, buf, err)) != DERMS_OK)
		return rc;
	if (strcmp(buf, "true") == 0 || strcmp(buf, "1") == 0)
		*out = true;
	else if (strcmp(buf, "false") == 0 || strcmp(buf, "0") == 0)
		*out = false;
	else
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is not a boolean",
							 name, xmlGetLineNo(el));
	return DERMS_OK;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

derms_rc
sep2_xml_hex(xmlNodePtr parent, const char *name, unsigned flags,
			 size_t minlen, size_t maxlen, uint8_t *buf, size_t bufsize,
			 size_t *outlen, derms_err *err)
{
	xmlNodePtr	el;
	char		text[2 * 64 + VALUE_MAX];
	size_t		n;
	derms_rc	rc;

	assert(minlen <= maxlen && maxlen <= bufsize && maxlen <= 64);
	assert(buf != NULL && outlen != NULL);
	if ((rc = find_value(parent, name, flags, &el, err)) != DERMS_OK ||
		el == NULL)
		return rc;
	if (text_len(el) >= sizeof(text))
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is too long",
							 name, xmlGetLineNo(el));
	text_copy(el, text);
	trim(text);
	n = strlen(text);
	for (size_t i = 0; i < n; i++)
		if (hex_digit(text[i]) < 0)
			return derms_err_set(err, DERMS_EPARSE,
								 "value of <%s> at line %ld is not hexBinary",
								 name, xmlGetLineNo(el));
	if (n % 2 != 0)
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld has an odd number of hex digits",
							 name, xmlGetLineNo(el));
	if (n / 2 < minlen || n / 2 > maxlen)
	{
		if (minlen == maxlen)
			return derms_err_set(err, DERMS_EPARSE,
								 "value of <%s> at line %ld must be %zu bytes, not %zu",
								 name, xmlGetLineNo(el), minlen, n / 2);
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld must be %zu to %zu bytes, not %zu",
							 name, xmlGetLineNo(el), minlen, maxlen, n / 2);
	}
	for (size_t i = 0; i < n / 2; i++)
		buf[i] = (uint8_t) (hex_digit(text[2 * i]) * 16 +
							hex_digit(text[2 * i + 1]));
	*outlen = n / 2;
	return DERMS_OK;
}

derms_rc
sep2_xml_string(arena *a, xmlNodePtr parent, const char *name,
				unsigned flags, size_t maxchars, const char **out,
				derms_err *err)
{
	xmlNodePtr	el;
	char	   *s;
	size_t		n;
	size_t		chars = 0;
	derms_rc	rc;

	assert(a != NULL && out != NULL);
	if ((rc = find_value(parent, name, flags, &el, err)) != DERMS_OK ||
		el == NULL)
		return rc;
	n = text_len(el);
	s = arena_alloc(a, n + 1);
	if (s == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	text_copy(el, s);
	/* the parser checked UTF-8: count the bytes that start a character */
	for (size_t i = 0; i < n; i++)
		if (((unsigned char) s[i] & 0xC0) != 0x80)
			chars++;
	if (chars > maxchars)
		return derms_err_set(err, DERMS_EPARSE,
							 "value of <%s> at line %ld is longer than %zu characters",
							 name, xmlGetLineNo(el), maxchars);
	*out = s;
	return DERMS_OK;
}

/* ---------------------------------------------------------------- */
/* writer															*/
/* ---------------------------------------------------------------- */

sep2_xw *
sep2_xw_new(arena *a)
{
	sep2_xw    *w;

	assert(a != NULL);
	w = arena_calloc(a, 1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->a = a;
	w->cap = 1024;
	w->buf = arena_alloc(a, w->cap);
	if (w->buf == NULL)
		return NULL;
	w->buf[0] = '\0';
	return w;
}

static void
xw_put(sep2_xw *w, const char *s, size_t n)
{
	if (w->oom)
		return;
	if (w->len + n + 1 > w->cap)
	{
		size_t		cap = w->cap * 2;
		char	   *nb;

		while (cap < w->len + n + 1)
			cap *= 2;
		nb = arena_alloc(w->a, cap);
		if (nb == NULL)
		{
			w->oom = true;
			return;
		}
		memcpy(nb, w->buf, w->len);
		w->buf = nb;
		w->cap = cap;
	}
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = '\0';
}

static void
xw_puts(sep2_xw *w, const char *s)
{
	xw_put(w, s, strlen(s));
}

/*
 * Decode one UTF-8 character of s[0..len): its length, or -1 when the
 * bytes are not well-formed UTF-8 (overlong forms and surrogates too).
 */
static int
utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	int			n;
	uint32_t	c;

	if (s[0] < 0x80)
	{
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
	{
		n = 2;
		c = s[0] & 0x1F;
	}
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
	{
		n = 3;
		c = s[0] & 0x0F;
	}
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
	{
		n = 4;
		c = s[0] & 0x07;
	}
	else
		return -1;
	if ((size_t) n > len)
		return -1;
	for (int i = 1; i < n; i++)
	{
		if ((s[i] & 0xC0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
		(c >= 0xD800 && c <= 0xDFFF))
		return -1;
	*cp = c;
	return n;
}

/*
 * Append value escaped for text content or (attr) a double-quoted attribute.
 * Characters that would be normalised away on reading (CR anywhere, tab
 * and newline in attributes) are written as character references, so
 * what a reader gets back is exactly value.
 */
static void
xw_escaped(sep2_xw *w, const char *value, bool attr)
{
	const unsigned char *s = (const unsigned char *) value;
	size_t		len = strlen(value);
	size_t		run = 0;		/* start of the pending unescaped run */
	size_t		i = 0;

	while (i < len)
	{
		const char *rep = NULL;
		uint32_t	cp;
		int			n = utf8_decode(s + i, len - i, &cp);

		if (n < 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
			cp == 0xFFFE || cp == 0xFFFF)
		{
			if (w->bad == NULL)
				w->bad = w->depth > 0 ? w->stack[w->depth - 1] : "?";
			return;
		}
		switch (cp)
		{
			case '&':
				rep = "&amp;";
				break;
			case '<':
				rep = "&lt;";
				break;
			case '>':
				rep = "&gt;";
				break;
			case '\r':
				rep = "&#13;";
				break;
			case '"':
				rep = attr ? "&quot;" : NULL;
				break;
			case '\t':
				rep = attr ? "&#9;" : NULL;
				break;
			case '\n':
				rep = attr ? "&#10;" : NULL;
				break;
			default:
				break;
		}
		if (rep != NULL)
		{
			xw_put(w, value + run, i - run);
			xw_puts(w, rep);
			run = i + (size_t) n;
		}
		i += (size_t) n;
	}
	xw_put(w, value + run, len - run);
}

static void
xw_end_start_tag(sep2_xw *w)
{
	if (w->tag_open)
	{
		xw_put(w, ">", 1);
		w->tag_open = false;
	}
}

static void
xw_start(sep2_xw *w, const char *name)
{
	assert(name != NULL && name[0] != '\0');
	assert(w->depth < SEP2_XW_MAX_DEPTH);
	assert(w->depth > 0 || !w->started);	/* one root only */
	xw_end_start_tag(w);
	xw_put(w, "<", 1);
	xw_puts(w, name);
	if (!w->started)
	{
		xw_puts(w, " xmlns=\"" SEP2_NS "\"");
		w->started = true;
	}
	w->stack[w->depth++] = name;
	w->tag_open = true;
}

void
sep2_xw_open(sep2_xw *w, const char *name,...)
{
	va_list		ap;
	const char *an;

	assert(w != NULL);
	xw_start(w, name);
	va_start(ap, name);
	while ((an = va_arg(ap, const char *)) != NULL)
	{
		const char *av = va_arg(ap, const char *);

		sep2_xw_attr(w, an, av);
	}
	va_end(ap);
}

void
sep2_xw_attr(sep2_xw *w, const char *name, const char *value)
{
	assert(w != NULL && name != NULL && value != NULL);
	assert(w->tag_open);		/* attributes come before any content */
	xw_put(w, " ", 1);
	xw_puts(w, name);
	xw_put(w, "=\"", 2);
	xw_escaped(w, value, true);
	xw_put(w, "\"", 1);
}

void
sep2_xw_attr_int(sep2_xw *w, const char *name, int64_t value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, value);
	sep2_xw_attr(w, name, buf);
}

void
sep2_xw_list_attrs(sep2_xw *w, uint32_t all, uint32_t results)
{
	assert(results <= all);
	sep2_xw_attr_int(w, "all", all);
	sep2_xw_attr_int(w, "results", results);
}

void
sep2_xw_close(sep2_xw *w)
{
	assert(w != NULL && w->depth > 0);
	w->depth--;
	if (w->tag_open)
	{
		xw_put(w, "/>", 2);
		w->tag_open = false;
		return;
	}
	xw_put(w, "</", 2);
	xw_puts(w, w->stack[w->depth]);
	xw_put(w, ">", 1);
}

void
sep2_xw_text(sep2_xw *w, const char *name, const char *value)
{
	assert(w != NULL && value != NULL);
	assert(w->depth > 0);		/* a simple element is never the root */
	xw_start(w, name);
	xw_end_start_tag(w);
	xw_escaped(w, value, false);
	xw_put(w, "</", 2);
	xw_puts(w, name);
	xw_put(w, ">", 1);
	w->depth--;
}

void
sep2_xw_int(sep2_xw *w, const char *name, int64_t value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, value);
	sep2_xw_text(w, name, buf);
}

void
sep2_xw_uint(sep2_xw *w, const char *name, uint64_t value)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, value);
	sep2_xw_text(w, name, buf);
}

void
sep2_xw_bool(sep2_xw *w, const char *name, bool value)
{
	sep2_xw_text(w, name, value ? "true" : "false");
}

void
sep2_xw_hex(sep2_xw *w, const char *name, const uint8_t *bytes, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	char		buf[2 * 64 + 1];

	assert(len <= 64);
	for (size_t i = 0; i < len; i++)
	{
		buf[2 * i] = digits[bytes[i] >> 4];
		buf[2 * i + 1] = digits[bytes[i] & 0x0F];
	}
	buf[2 * len] = '\0';
	sep2_xw_text(w, name, buf);
}

derms_rc
sep2_xw_finish(sep2_xw *w, const char **out, size_t *len, derms_err *err)
{
	assert(w != NULL && out != NULL && len != NULL);
	assert(w->started && w->depth == 0);	/* every element closed */
	if (w->oom)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (w->bad != NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "value of <%s> holds a character XML cannot carry",
							 w->bad);
	*out = w->buf;
	*len = w->len;
	return DERMS_OK;
}

/* ---------------------------------------------------------------- */
/* list paging														*/
/* ---------------------------------------------------------------- */

/* A query value of decimal digits only, at most max. */
static derms_rc
page_number(const char *name, const char *v, uint64_t max, uint64_t *out,
			derms_err *err)
{
	uint64_t	n = 0;

	if (*v == '\0')
		return derms_err_set(err, DERMS_EPARSE,
							 "query parameter \"%s\" is empty", name);
	for (const char *p = v; *p != '\0'; p++)
	{
		uint64_t	d;

		if (*p < '0' || *p > '9')
			return derms_err_set(err, DERMS_EPARSE,
								 "query parameter \"%s\" must be a decimal number",
								 name);
		d = (uint64_t) (*p - '0');
		if (n > (max - d) / 10)
			return derms_err_set(err, DERMS_EPARSE,
								 "query parameter \"%s\" is larger than %" PRIu64,
								 name, max);
		n = n * 10 + d;
	}
	*out = n;
	return DERMS_OK;
}

derms_rc
sep2_page_parse(const char *s, const char *a, const char *l, sep2_page *out,
				derms_err *err)
{
	uint64_t	v;
	derms_rc	rc;
	sep2_page	pg = {0, false, 0, SEP2_DEFAULT_PAGE};

	assert(out != NULL);
	if (s != NULL)
	{
		if ((rc = page_number("s", s, UINT32_MAX, &v, err)) != DERMS_OK)
			return rc;
		pg.start = (uint32_t) v;
	}
	if (a != NULL)
	{
		if ((rc = page_number("a", a, INT64_MAX, &v, err)) != DERMS_OK)
			return rc;
		pg.has_after = true;
		pg.after = (int64_t) v;
	}
	if (l != NULL)
	{
		if ((rc = page_number("l", l, UINT32_MAX, &v, err)) != DERMS_OK)
			return rc;
		pg.limit = v > SEP2_MAX_PAGE ? SEP2_MAX_PAGE : (uint32_t) v;
	}
	*out = pg;
	return DERMS_OK;
}

uint32_t
sep2_page_results(const sep2_page *pg, uint32_t all)
{
	assert(pg != NULL);
	if (pg->start >= all)
		return 0;
	return all - pg->start < pg->limit ? all - pg->start : pg->limit;
}
