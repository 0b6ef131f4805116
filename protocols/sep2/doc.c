/*
 * protocols/sep2/doc.c
 *	  Element tables: checking, keeping and writing back IEEE 2030.5
 *	  documents (see doc.h).
 *
 * NOTES
 *	  Runs in sep2 workers; strings come from the caller's arena, jansson
 *	  values belong to the caller's json_t.
 */
#include "doc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

const sep2_child sep2_power_u[] = {{"multiplier", SEP2_V_MULT}, {"value", SEP2_V_U16}, {NULL, 0}};
const sep2_child sep2_power_i[] = {{"multiplier", SEP2_V_MULT}, {"value", SEP2_V_I16}, {NULL, 0}};
const sep2_child sep2_power_factor[] = {{"displacement", SEP2_V_U16}, {"multiplier", SEP2_V_MULT}, {NULL, 0}};
const sep2_child sep2_unit_value[] = {{"multiplier", SEP2_V_MULT}, {"unit", SEP2_V_U8}, {"value", SEP2_V_I32}, {NULL, 0}};
const sep2_child sep2_interval[] = {{"duration", SEP2_V_U32}, {"start", SEP2_V_TIME}, {NULL, 0}};
const sep2_child sep2_status_hex1[] = {{"dateTime", SEP2_V_TIME}, {"value", SEP2_V_HEX1}, {NULL, 0}};
const sep2_child sep2_status_u8[] = {{"dateTime", SEP2_V_TIME}, {"value", SEP2_V_U8}, {NULL, 0}};
const sep2_child sep2_status_str6[] = {{"dateTime", SEP2_V_TIME}, {"value", SEP2_V_STR6}, {NULL, 0}};
const sep2_child sep2_status_pct[] = {{"dateTime", SEP2_V_TIME}, {"value", SEP2_V_PCT}, {NULL, 0}};

/* Integer bounds per type; hex and string types have none here. */
static const struct
{
	int64_t		lo;
	int64_t		hi;
	size_t		hexlen;			/* bytes, hex types */
	size_t		strlen;			/* characters, string types */
}			vtypes[] = {
	[SEP2_V_HEX1] = {0, 0, 1, 0},
	[SEP2_V_HEX2] = {0, 0, 2, 0},
	[SEP2_V_HEX4] = {0, 0, 4, 0},
	[SEP2_V_HEX8] = {0, 0, 8, 0},
	[SEP2_V_HEX16] = {0, 0, 16, 0},
	[SEP2_V_HEX20] = {0, 0, 20, 0},
	[SEP2_V_BOOL] = {0, 0, 0, 0},
	[SEP2_V_U8] = {0, 255, 0, 0},
	[SEP2_V_MULT] = {-9, 9, 0, 0},
	[SEP2_V_U16] = {0, 65535, 0, 0},
	[SEP2_V_I16] = {-32768, 32767, 0, 0},
	[SEP2_V_U32] = {0, 4294967295LL, 0, 0},
	[SEP2_V_I32] = {-2147483648LL, 2147483647LL, 0, 0},
	[SEP2_V_U48] = {0, 281474976710655LL, 0, 0},
	[SEP2_V_I48] = {-140737488355328LL, 140737488355327LL, 0, 0},
	[SEP2_V_TIME] = {0, INT64_MAX, 0, 0},
	[SEP2_V_PCT] = {0, 10000, 0, 0},
	[SEP2_V_SPCT] = {-10000, 10000, 0, 0},
	[SEP2_V_HOUR] = {-3600, 3600, 0, 0},
	[SEP2_V_STR6] = {0, 0, 0, 6},
	[SEP2_V_STR32] = {0, 0, 0, 32},
	[SEP2_V_LINK] = {1, INT64_MAX, 0, 0},
};

derms_rc
sep2_doc_value(arena *a, xmlNodePtr parent, const char *name, sep2_vtype t,
			   const char **out, derms_err *err)
{
	int64_t		v;

	if (vtypes[t].hexlen)
	{
		uint8_t		hex[20];
		size_t		n;
		char	   *s;

		if (sep2_xml_hex(parent, name, SEP2_XML_REQUIRED, 1, vtypes[t].hexlen,
						 hex, sizeof(hex), &n, err) != DERMS_OK)
			return err->code;
		s = arena_alloc(a, 2 * n + 1);
		if (s == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			snprintf(s + 2 * i, 3, "%02X", hex[i]);
		*out = s;
		return DERMS_OK;
	}
	if (vtypes[t].strlen)
		return sep2_xml_string(a, parent, name, SEP2_XML_REQUIRED, vtypes[t].strlen,
							   out, err);
	if (t == SEP2_V_BOOL)
	{
		bool		b;

		if (sep2_xml_bool(parent, name, SEP2_XML_REQUIRED, &b, err) != DERMS_OK)
			return err->code;
		*out = b ? "true" : "false";
		return DERMS_OK;
	}
	if (sep2_xml_int64(parent, name, SEP2_XML_REQUIRED, vtypes[t].lo, vtypes[t].hi,
					   &v, err) != DERMS_OK)
		return err->code;
	*out = arena_printf(a, "%" PRId64, v);
	return *out ? DERMS_OK : derms_err_set(err, DERMS_ENOMEM, "out of memory");
}

/* Position of name in elems (or children), or -1. */
static int
index_of(const sep2_elem *elems, const sep2_child *kids, const char *name)
{
	if (elems)
	{
		for (int i = 0; elems[i].name; i++)
			if (strcmp(elems[i].name, name) == 0)
				return i;
	}
	else
	{
		for (int i = 0; kids[i].name; i++)
			if (strcmp(kids[i].name, name) == 0)
				return i;
	}
	return -1;
}

/*
 * The table key of element c: its name, or "csipaus:" and its name for an
 * element in the CSIP-AUS namespace.  Borrowed from buf (or c).
 */
static const char *
elem_key(xmlNodePtr c, char *buf, size_t buflen)
{
	if (c->ns != NULL && c->ns->href != NULL &&
		strcmp((const char *) c->ns->href, SEP2_CSIPAUS_NS) == 0)
	{
		snprintf(buf, buflen, SEP2_CSIPAUS_PREFIX "%s", (const char *) c->name);
		return buf;
	}
	return (const char *) c->name;
}

/* The first child of el whose table key is key, or NULL. */
static xmlNodePtr
child_by_key(xmlNodePtr el, const char *key)
{
	char		buf[128];

	if (strncmp(key, SEP2_CSIPAUS_PREFIX, strlen(SEP2_CSIPAUS_PREFIX)) != 0)
		return sep2_xml_child(el, key);
	for (xmlNodePtr c = el->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE &&
			strcmp(elem_key(c, buf, sizeof(buf)), key) == 0)
			return c;
	return NULL;
}

/*
 * A simple CSIP-AUS element (node) of type t; only the hex bitmaps
 * (DOEControlType, VPPControlType) are simple there.
 */
static derms_rc
ext_value(arena *a, xmlNodePtr node, sep2_vtype t, const char **out,
		  derms_err *err)
{
	xmlChar    *text = xmlNodeGetContent(node);
	const char *p = (const char *) text;
	size_t		n;
	char	   *s;

	if (text == NULL || vtypes[t].hexlen == 0)
	{
		xmlFree(text);
		return derms_err_set(err, DERMS_EPARSE, "<%s> at line %ld is not readable",
							 (const char *) node->name, (long) xmlGetLineNo(node));
	}
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	n = strspn(p, "0123456789ABCDEFabcdef");
	if (n == 0 || n % 2 || n / 2 > vtypes[t].hexlen || p[n + strspn(p + n, " \t\r\n")] != '\0')
	{
		xmlFree(text);
		return derms_err_set(err, DERMS_EPARSE, "value of <%s> at line %ld must be up to %zu bytes of hex",
							 (const char *) node->name, (long) xmlGetLineNo(node),
							 vtypes[t].hexlen);
	}
	s = arena_alloc(a, n + 1);
	if (s == NULL)
	{
		xmlFree(text);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		s[i] = (p[i] >= 'a' && p[i] <= 'f') ? (char) (p[i] - 'a' + 'A') : p[i];
	s[n] = '\0';
	xmlFree(text);
	*out = s;
	return DERMS_OK;
}

static derms_rc
check_children(xmlNodePtr el, const sep2_elem *elems, const sep2_child *kids,
			   derms_err *err)
{
	int			at = 0;
	int			last = -1;
	char		buf[128];

	for (xmlNodePtr c = el->children; c; c = c->next)
	{
		int			k;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		k = index_of(elems, kids, elem_key(c, buf, sizeof(buf)));
		if (k < 0)
			return derms_err_set(err, DERMS_EPARSE, "unknown element <%s> in <%s> at line %ld",
								 (const char *) c->name, (const char *) el->name,
								 (long) xmlGetLineNo(c));
		if (k < at && !(k == last && elems && elems[k].repeat))
			return derms_err_set(err, DERMS_EPARSE, "element <%s> out of order or repeated in <%s> at line %ld",
								 (const char *) c->name, (const char *) el->name,
								 (long) xmlGetLineNo(c));
		at = k + 1;
		last = k;
	}
	return DERMS_OK;
}

derms_rc
sep2_doc_check(xmlNodePtr el, const sep2_elem *elems, derms_err *err)
{
	return check_children(el, elems, NULL, err);
}

derms_rc
sep2_doc_parse(arena *a, xmlNodePtr el, const sep2_elem *elems, json_t *out,
			   derms_err *err)
{
	if (check_children(el, elems, NULL, err) != DERMS_OK)
		return err->code;
	for (const sep2_elem *e = elems; e->name; e++)
	{
		xmlNodePtr	c = child_by_key(el, e->name);
		const char *v;
		bool		ext = c != NULL && c->ns != NULL &&
			strcmp((const char *) c->ns->href, SEP2_CSIPAUS_NS) == 0;

		if (c == NULL)
		{
			if (e->required)
				return derms_err_set(err, DERMS_EPARSE, "<%s> is missing <%s>",
									 (const char *) el->name, e->name);
			continue;
		}
		if (e->repeat)
			continue;			/* the caller walks repeated elements */
		if (e->children == NULL && e->type == SEP2_V_LINK)
			return derms_err_set(err, DERMS_EPARSE, "<%s> at line %ld is not accepted here",
								 e->name, (long) xmlGetLineNo(c));
		if (e->children == NULL)
		{
			if ((ext ? ext_value(a, c, e->type, &v, err)
				 : sep2_doc_value(a, el, e->name, e->type, &v, err)) != DERMS_OK)
				return err->code;
			json_object_set_new(out, e->name, json_string(v));
			continue;
		}
		if (check_children(c, NULL, e->children, err) != DERMS_OK)
			return err->code;
		{
			json_t	   *obj = json_object();

			for (const sep2_child *k = e->children; k->name; k++)
			{
				if (sep2_doc_value(a, c, k->name, k->type, &v, err) != DERMS_OK)
				{
					json_decref(obj);
					return err->code;
				}
				json_object_set_new(obj, k->name, json_string(v));
			}
			json_object_set_new(out, e->name, obj);
		}
	}
	return DERMS_OK;
}

/* One JSON value for type t, as canonical text into *text (static or
 * malloc'd by jansson's string: the caller copies it at once). */
static derms_rc
json_value(const char *key, sep2_vtype t, json_t *v, json_t **text, derms_err *err)
{
	if (t == SEP2_V_BOOL)
	{
		if (!json_is_boolean(v))
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be true or false", key);
		*text = json_string(json_is_true(v) ? "true" : "false");
		return DERMS_OK;
	}
	if (vtypes[t].hexlen || vtypes[t].strlen)
	{
		const char *s = json_string_value(v);
		size_t		n = s ? strlen(s) : 0;

		if (s == NULL)
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be a string", key);
		if (vtypes[t].strlen && n > vtypes[t].strlen)
			return derms_err_set(err, DERMS_ERANGE, "\"%s\" is longer than %zu characters",
								 key, vtypes[t].strlen);
		if (vtypes[t].hexlen &&
			(n == 0 || n % 2 || n / 2 > vtypes[t].hexlen || strspn(s, "0123456789ABCDEFabcdef") != n))
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be up to %zu bytes of hex",
								 key, vtypes[t].hexlen);
		*text = json_string(s);
		return DERMS_OK;
	}
	if (!json_is_integer(v))
		return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be an integer", key);
	if (json_integer_value(v) < vtypes[t].lo || json_integer_value(v) > vtypes[t].hi)
		return derms_err_set(err, DERMS_ERANGE, "\"%s\" must be in %" PRId64 "..%" PRId64,
							 key, vtypes[t].lo, vtypes[t].hi);
	{
		char		buf[24];

		snprintf(buf, sizeof(buf), "%" PRId64, (int64_t) json_integer_value(v));
		*text = json_string(buf);
	}
	return DERMS_OK;
}

derms_rc
sep2_doc_from_json(const sep2_elem *elems, json_t *in, json_t *out, derms_err *err)
{
	const char *key;
	json_t	   *v;

	if (!json_is_object(in))
		return derms_err_set(err, DERMS_EPARSE, "expected a JSON object");
	json_object_foreach(in, key, v)
	{
		int			k = index_of(elems, NULL, key);
		const sep2_elem *e;
		json_t	   *text;

		if (k < 0)
		{
			/* "opModExpLimW" for "csipaus:opModExpLimW" */
			char		pk[128];

			snprintf(pk, sizeof(pk), SEP2_CSIPAUS_PREFIX "%s", key);
			k = index_of(elems, NULL, pk);
		}

		if (k < 0 || elems[k].repeat)
			return derms_err_set(err, DERMS_EPARSE, "unknown field \"%s\"", key);
		e = &elems[k];
		if (e->children == NULL)
		{
			if (json_value(key, e->type, v, &text, err) != DERMS_OK)
				return err->code;
			json_object_set_new(out, e->name, text);
			continue;
		}
		if (!json_is_object(v))
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" must be an object", key);
		{
			json_t	   *obj = json_object();
			size_t		nk = 0;

			for (const sep2_child *c = e->children; c->name; c++, nk++)
			{
				json_t	   *cv = json_object_get(v, c->name);
				char		path[128];

				snprintf(path, sizeof(path), "%s.%s", key, c->name);
				if (cv == NULL)
				{
					json_decref(obj);
					return derms_err_set(err, DERMS_EPARSE, "\"%s\" is missing", path);
				}
				if (json_value(path, c->type, cv, &text, err) != DERMS_OK)
				{
					json_decref(obj);
					return err->code;
				}
				json_object_set_new(obj, c->name, text);
			}
			if (json_object_size(v) != nk)
			{
				json_decref(obj);
				return derms_err_set(err, DERMS_EPARSE, "\"%s\" has unknown fields", key);
			}
			json_object_set_new(out, e->name, obj);
		}
	}
	for (const sep2_elem *e = elems; e->name; e++)
		if (e->required && json_object_get(out, e->name) == NULL)
			return derms_err_set(err, DERMS_EPARSE, "\"%s\" is missing", e->name);
	return DERMS_OK;
}

void
sep2_doc_write(sep2_xw *w, const sep2_elem *elems, json_t *doc)
{
	sep2_doc_write_links(w, elems, doc, NULL);
}

bool
sep2_doc_has_csipaus(json_t *doc)
{
	const char *key;
	json_t	   *v;

	json_object_foreach(doc, key, v)
		if (strncmp(key, SEP2_CSIPAUS_PREFIX, strlen(SEP2_CSIPAUS_PREFIX)) == 0)
		return true;
	return false;
}

void
sep2_doc_write_links(sep2_xw *w, const sep2_elem *elems, json_t *doc,
					 const char *link_prefix)
{
	for (const sep2_elem *e = elems; e->name; e++)
	{
		json_t	   *v = json_object_get(doc, e->name);
		bool		ext = strncmp(e->name, SEP2_CSIPAUS_PREFIX,
								  strlen(SEP2_CSIPAUS_PREFIX)) == 0;

		if (v == NULL || e->repeat)
			continue;
		if (e->children == NULL && e->type == SEP2_V_LINK)
		{
			char		href[160];

			if (link_prefix == NULL)
				continue;
			snprintf(href, sizeof(href), "%s%s", link_prefix, json_string_value(v));
			sep2_xw_open(w, e->name, "href", href, (char *) NULL);
			sep2_xw_close(w);
		}
		else if (e->children == NULL)
			sep2_xw_text(w, e->name, json_string_value(v));
		else
		{
			/* an extension element declares its namespace itself */
			if (ext)
				sep2_xw_open(w, e->name, "xmlns:csipaus", SEP2_CSIPAUS_NS, (char *) NULL);
			else
				sep2_xw_open(w, e->name, (char *) NULL);
			for (const sep2_child *k = e->children; k->name; k++)
				sep2_xw_text(w, k->name, json_string_value(json_object_get(v, k->name)));
			sep2_xw_close(w);
		}
	}
}

int
sep2_reply_xml(http_request *req, sep2_xw *w, int status)
{
	const char *doc;
	size_t		len;
	derms_err	err;

	if (sep2_xw_finish(w, &doc, &len, &err) != DERMS_OK)
		return http_error(req, 500, "%s", err.msg);
	return http_reply(req, status, "application/sep+xml", doc, len);
}

static void
json_decref_cb(void *p)
{
	json_decref(p);
}

json_t *
sep2_json_own(http_request *req, json_t *j)
{
	if (j != NULL)
		arena_on_destroy(req->arena, json_decref_cb, j);
	return j;
}

bool
sep2_id_ok(const char *s)
{
	char	   *end;

	errno = 0;
	(void) strtoll(s, &end, 10);
	return s[0] >= '0' && s[0] <= '9' && *end == '\0' && errno == 0;
}

PGresult *
sep2_fetch_one(http_request *req, const char *id, const char *sql, int nparams,
			   const char *const *params, int *status)
{
	derms_err	err;
	PGresult   *r;

	if (!sep2_id_ok(id))
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return NULL;
	}
	r = db_exec(req->db, req->arena, sql, nparams, params, NULL, &err);
	if (r == NULL)
	{
		*status = http_db_error(req, NULL, &err);
		return NULL;
	}
	if (PQntuples(r) == 0)
	{
		*status = http_error(req, 404, "no resource at \"%s\"", req->path);
		return NULL;
	}
	return r;
}

json_t *
sep2_doc_read_body(http_request *req, const char *root_name,
				   const sep2_elem *elems, int *status)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	json_t	   *j;

	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_root(doc, root_name, &root, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK)
	{
		*status = http_error(req, 400, "%s", err.msg);
		return NULL;
	}
	if ((j = sep2_json_own(req, json_object())) == NULL)
	{
		*status = http_error(req, 500, "out of memory");
		return NULL;
	}
	if (sep2_doc_parse(req->arena, root, elems, j, &err) != DERMS_OK)
	{
		*status = http_error(req, 400, "%s", err.msg);
		return NULL;
	}
	return j;
}

char *
sep2_json_text(http_request *req, json_t *j)
{
	char	   *t = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);

	if (t != NULL)
		arena_on_destroy(req->arena, free, t);
	return t;
}

int
sep2_doc_reply_latest(http_request *req, const char *sql, const char *const *params,
					  const char *root, const sep2_elem *elems, bool subscribable)
{
	derms_err	err;
	PGresult   *r;
	json_t	   *doc;
	json_error_t jerr;
	sep2_xw    *w;

	r = db_exec(req->db, req->arena, sql, 2, params, NULL, &err);
	if (r == NULL)
		return http_db_error(req, NULL, &err);
	if (PQntuples(r) == 0)
		return http_error(req, 404, "no %s has been reported", root);
	doc = sep2_json_own(req, json_loads(PQgetvalue(r, 0, 0), 0, &jerr));
	if (doc == NULL)
		return http_error(req, 500, "stored %s is unreadable", root);
	w = sep2_xw_new(req->arena);
	if (subscribable)
		sep2_xw_open(w, root, "href", req->path, "subscribable", "0", (char *) NULL);
	else
		sep2_xw_open(w, root, "href", req->path, (char *) NULL);
	if (sep2_doc_has_csipaus(doc))
		sep2_xw_attr(w, "xmlns:csipaus", SEP2_CSIPAUS_NS);
	/* the self-reports the schema gives a pollRate */
	if (strcmp(root, "DeviceInformation") == 0 || strcmp(root, "DeviceStatus") == 0 ||
		strcmp(root, "PowerStatus") == 0)
		sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	sep2_doc_write(w, elems, doc);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}
