/*
 * protocols/sep2/doc.h
 *	  IEEE 2030.5 documents described by element tables: check a received
 *	  element against its table (names, order, required ones, value ranges),
 *	  keep the accepted values as jsonb, and write them back in order.
 *
 * NOTES
 *	  A table lists an element's children in the schema's sequence order.
 *	  Simple children have a value type; compound ones (ActivePower, the
 *	  DER status types, DateTimeInterval ...) list their own children.
 *	  Values are kept as canonical text (decimal integers, upper-case hex),
 *	  so what is written back is valid whatever spelling the client used.
 */
#ifndef DERMS_SEP2_DOC_H
#define DERMS_SEP2_DOC_H

#include <stdbool.h>

#include <jansson.h>
#include <libxml/tree.h>

#include "protocols/sep2/xml.h"
#include "server/arena.h"
#include "server/err.h"
#include "server/http.h"

typedef enum sep2_vtype
{
	SEP2_V_HEX1,				/* HexBinary8 */
	SEP2_V_HEX2,				/* HexBinary16 */
	SEP2_V_HEX4,				/* HexBinary32, DERControlType */
	SEP2_V_HEX8,				/* HexBinary64 */
	SEP2_V_HEX16,				/* HexBinary128, mRIDType */
	SEP2_V_HEX20,				/* HexBinary160, an LFDI */
	SEP2_V_BOOL,
	SEP2_V_U8,
	SEP2_V_MULT,				/* PowerOfTenMultiplierType: -9..9 */
	SEP2_V_U16,
	SEP2_V_I16,
	SEP2_V_U32,
	SEP2_V_I32,
	SEP2_V_U48,
	SEP2_V_I48,
	SEP2_V_TIME,				/* TimeType: UTC seconds, >= 0 */
	SEP2_V_PCT,					/* PerCent: hundredths, 0..10000 */
	SEP2_V_SPCT,				/* SignedPerCent: -10000..10000 */
	SEP2_V_HOUR,				/* OneHourRangeType: -3600..3600 */
	SEP2_V_STR6,				/* String6 */
	SEP2_V_STR32,				/* String32 */
	SEP2_V_LINK					/* a Link (DERCurveLink): kept as the id it
								 * names, a positive integer; written as
								 * <name href="PREFIX<id>"/> */
} sep2_vtype;

/*
 * A table entry named "csipaus:NAME" is the element NAME in the CSIP-AUS
 * namespace (an extension of the 2030.5 type); it is kept under that key.
 */
#define SEP2_CSIPAUS_NS		"https://csipaus.org/ns/v1.3"
#define SEP2_CSIPAUS_PREFIX	"csipaus:"

typedef struct sep2_child
{
	const char *name;
	sep2_vtype	type;
} sep2_child;

typedef struct sep2_elem
{
	const char *name;
	bool		required;
	sep2_vtype	type;			/* when children is NULL */
	const sep2_child *children; /* compound element, NULL-name terminated */
	bool		repeat;			/* may occur more than once, or is accepted
								 * unchecked: not stored either way */
} sep2_elem;

/* Compound types used by several tables. */
extern const sep2_child sep2_power_u[];	/* multiplier, UInt16 value */
extern const sep2_child sep2_power_i[];	/* multiplier, Int16 value */
extern const sep2_child sep2_power_factor[];
extern const sep2_child sep2_unit_value[];	/* multiplier, unit, Int32 value */
extern const sep2_child sep2_interval[];	/* DateTimeInterval */
extern const sep2_child sep2_status_hex1[];
extern const sep2_child sep2_status_u8[];
extern const sep2_child sep2_status_str6[];
extern const sep2_child sep2_status_pct[];

/* One simple value of type t from the child <name> of parent; canonical
 * text, borrowed from a. */
derms_rc	sep2_doc_value(arena *a, xmlNodePtr parent, const char *name,
						   sep2_vtype t, const char **out, derms_err *err);

/* The element children of el name only table entries, in table order,
 * each once unless it repeats. */
derms_rc	sep2_doc_check(xmlNodePtr el, const sep2_elem *elems, derms_err *err);

/* Check el against elems and put the values of its non-repeating children
 * into out (element -> text, or -> object of child -> text). */
derms_rc	sep2_doc_parse(arena *a, xmlNodePtr el, const sep2_elem *elems,
						   json_t *out, derms_err *err);

/*
 * The same check for values given as JSON (the operator API): in must be
 * an object whose keys are table elements, with JSON integers or booleans
 * for simple elements and objects for compound ones; out gets the
 * canonical text form sep2_doc_write expects.  Errors name the key.
 */
derms_rc	sep2_doc_from_json(const sep2_elem *elems, json_t *in, json_t *out,
							   derms_err *err);

/* Write the children held in doc, in table order (the caller opens and
 * closes the enclosing element). */
void		sep2_doc_write(sep2_xw *w, const sep2_elem *elems, json_t *doc);

/* The same, writing SEP2_V_LINK elements as links to link_prefix + id
 * (sep2_doc_write leaves them out). */
void		sep2_doc_write_links(sep2_xw *w, const sep2_elem *elems, json_t *doc,
								 const char *link_prefix);

/* Does doc hold a CSIP-AUS extension element (a root that carries one
 * declares the namespace)? */
bool		sep2_doc_has_csipaus(json_t *doc);

/* Finish the writer and queue it as the response (500 if it cannot be
 * written); returns the status queued. */
int			sep2_reply_xml(http_request *req, sep2_xw *w, int status);

/* The request body as the element root_name checked against elems, as
 * json owned by the request; NULL after answering 400 (or 500). */
json_t	   *sep2_doc_read_body(http_request *req, const char *root_name,
								const sep2_elem *elems, int *status);

/* json_dumps of j (compact, keys sorted), freed with the request arena;
 * NULL on allocation failure. */
char	   *sep2_json_text(http_request *req, json_t *j);

/*
 * Serve the latest stored report: sql selects its doc (one row, newest
 * first) with the two params; the document is written back as root with
 * the request path as href.  404 when nothing was reported yet.
 */
int			sep2_doc_reply_latest(http_request *req, const char *sql,
								  const char *const *params, const char *root,
								  const sep2_elem *elems, bool subscribable);

/* Is s a resource id: decimal digits only, fits a bigint? */
bool		sep2_id_ok(const char *s);

/*
 * The row a resource URL names: runs sql (which selects at most one row)
 * and returns its result, or NULL after answering 404 (no row, or id not
 * sep2_id_ok) or 503, with the status in *status.  Borrowed from the
 * request arena.
 */
PGresult   *sep2_fetch_one(http_request *req, const char *id, const char *sql,
							int nparams, const char *const *params, int *status);

/* j (stolen) now dies with the request arena; returns j (NULL stays NULL). */
json_t	   *sep2_json_own(http_request *req, json_t *j);

#endif							/* DERMS_SEP2_DOC_H */
