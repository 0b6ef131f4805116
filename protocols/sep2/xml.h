/*
 * protocols/sep2/xml.h
 *	  The XML layer every IEEE 2030.5 resource stands on: hardened parsing,
 *	  optional schema validation, typed readers, a writer, list paging.
 *
 * NOTES
 *	  Safe to call from any thread (libmicrohttpd's included): the parser is
 *	  initialised once, every call uses its own parser context and error
 *	  handler, and the compiled schema is read-only once loaded.
 *	  Documents and strings live in the caller's arena.  After a successful
 *	  sep2_xml_parse() every 2030.5 element is in SEP2_NS, whichever of the
 *	  two namespaces the client used.  See DESIGN.md beside this file.
 */
#ifndef DERMS_SEP2_XML_H
#define DERMS_SEP2_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libxml/tree.h>

#include "server/arena.h"
#include "server/err.h"

/* The 2018 namespace, the only one handlers see and the only one we send. */
#define SEP2_NS			"urn:ieee:std:2030.5:ns"
/* Sent by some pre-2018 clients; accepted and rewritten to SEP2_NS. */
#define SEP2_NS_OLD		"http://ieee.org/2030.5"

#define SEP2_XML_MAX_BODY	(64 * 1024)	/* bytes; larger bodies are refused */
#define SEP2_XML_MAX_DEPTH	32		/* element nesting; the root is depth 1 */

/* ---- parsing ---- */

/*
 * Parse a request body.  Refused with DERMS_EPARSE, and a message naming
 * the problem and (when known) the line: an empty or oversize body, bytes
 * that are not well-formed UTF-8 XML 1.0, a DOCTYPE, any entity declaration
 * or reference other than the five predefined ones and character references,
 * a processing instruction, nesting deeper than SEP2_XML_MAX_DEPTH, a root
 * element outside the 2030.5 namespace, or a descendant element in no
 * namespace or a foreign one (CSIP-AUS extension elements excepted).
 * Nothing is ever fetched: no network, no DTD, no XInclude.
 * CDATA sections are accepted and read as text; comments are ignored.
 * *out is borrowed: freed when a is destroyed.
 */
derms_rc	sep2_xml_parse(arena *a, const char *body, size_t len,
						   xmlDocPtr *out, derms_err *err);

/*
 * Check that doc's root element is <name> in SEP2_NS; the root is returned
 * borrowed in *root.
 */
derms_rc	sep2_xml_root(xmlDocPtr doc, const char *name, xmlNodePtr *root,
						  derms_err *err);

/* ---- schema validation (optional) ---- */

/*
 * Compile the schema at path (sep.xsd) for sep2_xml_validate().  Call once
 * per process, before serving; a second call replaces the first schema.
 */
derms_rc	sep2_xml_schema_load(const char *path, derms_err *err);

/* Forget the loaded schema (shutdown and tests). */
void		sep2_xml_schema_unload(void);

bool		sep2_xml_schema_loaded(void);

/*
 * Validate doc against the loaded schema: DERMS_EPARSE naming the first
 * problem and its line.  DERMS_OK when no schema is loaded: strictness is
 * then the typed readers' job.
 */
derms_rc	sep2_xml_validate(xmlDocPtr doc, derms_err *err);

/* ---- typed readers ---- */

/*
 * Each reader looks for the child element <name> (SEP2_NS) of parent.
 * Flags: SEP2_XML_REQUIRED, or SEP2_XML_OPTIONAL (then an absent element
 * leaves *out untouched and returns DERMS_OK: preset the default).
 * A missing required element, one that appears twice, one holding element
 * children, or text that is not a valid value of the type within bounds is
 * DERMS_EPARSE with a message naming <name> and its line.  Numbers and
 * booleans follow XML Schema's lexical forms (surrounding whitespace
 * allowed, decimal digits only, "true"/"false"/"1"/"0").
 */
#define SEP2_XML_REQUIRED	0x0u
#define SEP2_XML_OPTIONAL	0x1u

derms_rc	sep2_xml_int64(xmlNodePtr parent, const char *name, unsigned flags,
						   int64_t min, int64_t max, int64_t *out,
						   derms_err *err);
derms_rc	sep2_xml_uint32(xmlNodePtr parent, const char *name,
							unsigned flags, uint32_t *out, derms_err *err);
derms_rc	sep2_xml_uint8(xmlNodePtr parent, const char *name, unsigned flags,
						   uint8_t *out, derms_err *err);
derms_rc	sep2_xml_bool(xmlNodePtr parent, const char *name, unsigned flags,
						  bool *out, derms_err *err);

/*
 * hexBinary into buf (capacity bufsize bytes); *outlen gets the byte count,
 * which must lie in [minlen, maxlen] (maxlen <= bufsize).
 */
derms_rc	sep2_xml_hex(xmlNodePtr parent, const char *name, unsigned flags,
						 size_t minlen, size_t maxlen, uint8_t *buf,
						 size_t bufsize, size_t *outlen, derms_err *err);

/*
 * Text as is (a string type: whitespace kept), at most maxchars characters
 * (the schema's String32 etc. count characters, not bytes).  *out is
 * borrowed from a.
 */
derms_rc	sep2_xml_string(arena *a, xmlNodePtr parent, const char *name,
							unsigned flags, size_t maxchars,
							const char **out, derms_err *err);

/* First child element <name> in SEP2_NS, and the next sibling of the same
 * name (for repeated elements); NULL when there is none.  Borrowed. */
xmlNodePtr	sep2_xml_child(xmlNodePtr parent, const char *name);
xmlNodePtr	sep2_xml_next(xmlNodePtr node);

/* ---- writer ---- */

/*
 * Arena-backed builder for the documents we send.  The first element
 * opened carries xmlns=SEP2_NS; no other does.  Text and attribute values
 * are escaped; a value that XML 1.0 cannot carry (a control character, bad
 * UTF-8) makes sep2_xw_finish() fail with DERMS_EINVAL.  Names are ours and
 * must be valid XML names; misuse (an attribute after content, closing
 * more than was opened, finishing with open elements) is asserted.
 */
typedef struct sep2_xw sep2_xw;

#define SEP2_XW_MAX_DEPTH	SEP2_XML_MAX_DEPTH

/* borrowed; NULL on allocation failure. */
sep2_xw    *sep2_xw_new(arena *a);

/* Open <name>, with attributes given as name, value pairs ending in NULL:
 * sep2_xw_open(w, "EndDevice", "href", "/edev/3", "subscribable", "0",
 * (char *) NULL). */
void		sep2_xw_open(sep2_xw *w, const char *name,...)
			__attribute__((sentinel));
/* More attributes on the element just opened (before any content). */
void		sep2_xw_attr(sep2_xw *w, const char *name, const char *value);
void		sep2_xw_attr_int(sep2_xw *w, const char *name, int64_t value);
/* The list attributes all= and results= (see sep2_page_results()). */
void		sep2_xw_list_attrs(sep2_xw *w, uint32_t all, uint32_t results);
/* Close the innermost open element. */
void		sep2_xw_close(sep2_xw *w);

/* Simple elements: <name>value</name>. */
void		sep2_xw_text(sep2_xw *w, const char *name, const char *value);
void		sep2_xw_int(sep2_xw *w, const char *name, int64_t value);
void		sep2_xw_uint(sep2_xw *w, const char *name, uint64_t value);
void		sep2_xw_bool(sep2_xw *w, const char *name, bool value);
void		sep2_xw_hex(sep2_xw *w, const char *name, const uint8_t *bytes,
						size_t len);

/* The document, borrowed from the arena and NUL-terminated; *len excludes
 * the NUL.  All elements must be closed. */
derms_rc	sep2_xw_finish(sep2_xw *w, const char **out, size_t *len,
						   derms_err *err);

/* ---- list paging ---- */

#define SEP2_MAX_PAGE		100	/* l is clamped to this */
#define SEP2_DEFAULT_PAGE	1	/* l when absent (the 2030.5 default) */

typedef struct sep2_page
{
	uint32_t	start;			/* s: index of the first item, default 0 */
	bool		has_after;		/* a given */
	int64_t		after;			/* a: only items after this time (UTC s) */
	uint32_t	limit;			/* l: at most this many, <= SEP2_MAX_PAGE */
} sep2_page;

/*
 * Parse the raw values of the s, a and l query parameters (NULL when
 * absent, as http_query() returns them).  A value that is empty, not all
 * decimal digits, or out of range (s, l: UInt32; a: TimeType, >= 0) is
 * DERMS_EPARSE naming the parameter.
 */
derms_rc	sep2_page_parse(const char *s, const char *a, const char *l,
							sep2_page *out, derms_err *err);

/*
 * results= for a list holding all items (after any a filter): how many the
 * page starting at start returns.
 */
uint32_t	sep2_page_results(const sep2_page *pg, uint32_t all);

#endif							/* DERMS_SEP2_XML_H */
