/*
 * protocols/sep2/sub.c
 *	  IEEE 2030.5 Subscription/Notification function set:
 *	    /edev/{e}/sub        SubscriptionList: GET (paged), POST to subscribe
 *	    /edev/{e}/sub/{s}    Subscription: GET, DELETE
 *	  and the Notifications a change queues in the notify outbox.
 *
 *	  Subscribable resources (subscribable="1", non-conditional only):
 *	    /edev/{e}                  EndDevice
 *	    /edev/{e}/fsa              FunctionSetAssignmentsList
 *	    /edev/{e}/derp             DERProgramList
 *	    /edev/{e}/derp/{p}/derc    DERControlList
 *	    /edev/{e}/derp/{p}/dderc   DefaultDERControl
 *	  A subscription names a resource of the EndDevice whose list it is
 *	  posted to, and one the caller may read at that moment; anything else
 *	  (unknown, not subscribable, another device's, a program the device
 *	  does not see) is the same 400, so the answer reveals nothing about
 *	  other devices.  Only https notification URIs and encoding 0
 *	  (application/sep+xml) are taken; a Condition is refused, as no
 *	  resource here supports conditional subscriptions.
 *
 *	  What a Notification carries is what a GET by the subscriber would
 *	  return: the resource is rendered by the very route handler that
 *	  serves it, called in-process with the subscriber's identity (a
 *	  device, or the aggregator that subscribed for it).  A list
 *	  subscription gets the list element (href, all) holding the item that
 *	  changed (results="1"), or no item when its limit is 0; other
 *	  resources their representation, or none when the limit is 0.  When
 *	  the subscriber may no longer read the resource, the Notification has
 *	  status 4 (subscription cancelled, resource deleted) and the
 *	  subscription is removed.
 *
 * NOTES
 *	  Handlers run in sep2 workers; sep2_sub_changed() runs in the worker
 *	  of the operator API (vtn) inside the caller's transaction, so a
 *	  committed change always has its Notifications queued and a rolled
 *	  back one never does (server/notify.h).  Delivery, retries, dead
 *	  receivers and the SSRF rules are the notify role's.
 *	  An in-process request has no connection: libmicrohttpd reads query
 *	  arguments of a NULL connection as absent, so list handlers give
 *	  their first page (used only for the all= count).
 *	  Memory comes from the request arena.
 */
#include "sub.h"

#include <assert.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "protocols/sep2/doc.h"
#include "protocols/sep2/edev.h"
#include "protocols/sep2/xml.h"
#include "server/notify.h"

#define SEP2_CT "application/sep+xml"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define SUB_URI_MAX 2048		/* notificationURI, as the outbox allows */
#define SUB_PATH_MAX 256		/* a subscribed resource's path */
#define SUB_LEVEL_MAX 16		/* String16 */

/* Notification status values */
#define SUB_STATUS_DEFAULT 0
#define SUB_STATUS_DELETED 4

/* A subscribable resource: its kind (the table's), path and types. */
typedef struct sub_kind
{
	const char *kind;			/* sep2_subscriptions.kind */
	const char *pattern;		/* {e}: the EndDevice, {p}: a program */
	const char *type;			/* xsi:type of the Resource in a Notification */
	bool		list;			/* a list: Notifications hold changed items */
} sub_kind;

static const sub_kind sub_kinds[] = {
	{"edev", "/edev/{e}", "EndDevice", false},
	{"fsa", "/edev/{e}/fsa", "FunctionSetAssignmentsList", true},
	{"derp", "/edev/{e}/derp", "DERProgramList", true},
	{"derc", "/edev/{e}/derp/{p}/derc", "DERControlList", true},
	{"dderc", "/edev/{e}/derp/{p}/dderc", "DefaultDERControl", false},
};

#define NKINDS (sizeof(sub_kinds) / sizeof(sub_kinds[0]))

/* Columns of a subscription row, as every query here selects them. */
#define SUB_COLUMNS "s.id, s.end_device_id, s.kind, s.subscribed_resource, s.level," \
	" s.lim, s.notification_uri, s.base_uri, s.caller_role, s.caller_lfdi," \
	" s.caller_tenant"
enum
{
	C_ID, C_EDEV, C_KIND, C_RESOURCE, C_LEVEL, C_LIM, C_URI, C_BASE, C_ROLE,
	C_LFDI, C_TENANT
};

static const sub_kind *
kind_named(const char *name)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (strcmp(sub_kinds[i].kind, name) == 0)
			return &sub_kinds[i];
	return NULL;
}

/*
 * Does path match pattern?  {e} and {p} match a resource id, copied to e
 * and p (each of size bytes).
 */
static bool
path_matches(const char *pattern, const char *path, char *e, char *p, size_t size)
{
	while (*pattern && *path)
	{
		if (*pattern == '{')
		{
			char	   *dst = pattern[1] == 'e' ? e : p;
			size_t		n = strcspn(path, "/");
			char		seg[32];

			if (n == 0 || n >= sizeof(seg) || n >= size)
				return false;
			memcpy(seg, path, n);
			seg[n] = '\0';
			if (!sep2_id_ok(seg))
				return false;
			memcpy(dst, seg, n + 1);
			path += n;
			pattern = strchr(pattern, '}') + 1;
			continue;
		}
		if (*pattern++ != *path++)
			return false;
	}
	return *pattern == '\0' && *path == '\0';
}

/*
 * The path of a subscribedResource: an absolute URI loses its scheme and
 * authority, any query string or fragment is ignored (as the standard
 * says servers shall), one trailing slash is dropped.  NULL when what is
 * left is not a plain path of letters, digits and slashes.
 */
static const char *
resource_path(arena *a, const char *uri)
{
	const char *s = uri;
	size_t		n;
	char	   *out;

	while (isspace((unsigned char) *s))
		s++;
	if (strncasecmp(s, "https://", 8) == 0 || strncasecmp(s, "http://", 7) == 0)
	{
		s = strstr(s, "//") + 2;
		s += strcspn(s, "/?#");
	}
	n = strcspn(s, "?# \t\r\n");
	if (n > 1 && s[n - 1] == '/')
		n--;
	if (n == 0 || n >= SUB_PATH_MAX || s[0] != '/')
		return NULL;
	out = arena_alloc(a, n + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char) out[i]) && out[i] != '/')
			return NULL;
	if (strstr(out, "//") != NULL)
		return NULL;
	return out;
}

/*
 * Is uri an absolute https URI the outbox takes: "https://" and a host
 * (no user information), at most SUB_URI_MAX bytes, printable ASCII with
 * no spaces?  why gets the reason when not.
 */
static bool
notification_uri_ok(const char *uri, const char **why)
{
	const char *host;
	size_t		hostlen;

	if (strlen(uri) > SUB_URI_MAX)
	{
		*why = "is longer than 2048 bytes";
		return false;
	}
	for (const char *c = uri; *c; c++)
		if (*c <= ' ' || *c > '~')
		{
			*why = "holds a space, a control character or non-ASCII";
			return false;
		}
	if (strncasecmp(uri, "https://", 8) != 0)
	{
		*why = "must be an absolute https:// URI (notifications are sent over TLS only)";
		return false;
	}
	host = uri + 8;
	hostlen = strcspn(host, "/?#");
	if (hostlen == 0 || memchr(host, '@', hostlen) != NULL)
	{
		*why = "must name a host, without user information";
		return false;
	}
	return true;
}

/*
 * "https://" and the Host the client addressed us by, or the listener's
 * address when it sent none usable: the base of absolute subscriptionURIs.
 */
static const char *
base_uri(http_request *req)
{
	const char *host = http_header(req, "Host");
	size_t		n = host ? strlen(host) : 0;

	if (n > 0 && n <= 255 && strspn(host, "abcdefghijklmnopqrstuvwxyz"
									"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:[]-") == n)
		return arena_printf(req->arena, "https://%s", host);
	if (strchr(req->cfg->sep2.address, ':') != NULL)
		return arena_printf(req->arena, "https://[%s]:%d", req->cfg->sep2.address,
							req->cfg->sep2.port);
	return arena_printf(req->arena, "https://%s:%d", req->cfg->sep2.address,
						req->cfg->sep2.port);
}

/* ---- rendering a resource as its reader sees it ---- */

typedef struct sub_caller
{
	unsigned	role;			/* HTTP_ROLE_DEVICE or HTTP_ROLE_AGGREGATOR */
	const char *lfdi;
	int64_t		tenant_id;
} sub_caller;

static sub_caller
caller_of(PGresult *r, int row)
{
	sub_caller	c;

	c.role = strcmp(PQgetvalue(r, row, C_ROLE), "aggregator") == 0
		? HTTP_ROLE_AGGREGATOR : HTTP_ROLE_DEVICE;
	c.lfdi = PQgetvalue(r, row, C_LFDI);
	c.tenant_id = PQgetisnull(r, row, C_TENANT) ? 0
		: strtoll(PQgetvalue(r, row, C_TENANT), NULL, 10);
	return c;
}

/*
 * GET path through the route table as caller, in-process, on req's
 * database handle (inside its transaction, if one is open).  Returns the
 * status; *body and *len (borrowed from req's arena) the answer.
 */
static int
render(http_request *req, const sub_caller *caller, const char *path,
	   const char **body, size_t *len)
{
	http_request in;
	char		allow[64];
	int			idx;

	memset(&in, 0, sizeof(in));
	in.arena = req->arena;
	in.db = req->db;
	in.cfg = req->cfg;
	in.listener = HTTP_SEP2;
	in.method = "GET";
	in.path = path;
	in.conn = NULL;
	in.who.role = caller->role;
	in.who.tenant_id = caller->tenant_id;
	in.who.has_cert = true;
	snprintf(in.who.id.lfdi, sizeof(in.who.id.lfdi), "%s", caller->lfdi);
	idx = http_route_find(HTTP_SEP2, "GET", path, req->arena, in.params,
						  &in.nparams, allow, sizeof(allow));
	*body = NULL;
	*len = 0;
	if (idx < 0)
		return 404;
	in.route = &http_routes[idx];
	in.route_index = idx;
	if ((http_routes[idx].roles & caller->role) == 0)
		return 404;
	http_routes[idx].handler(&in);
	*body = in.resp_body;
	*len = in.resp_len;
	return in.status;
}

/* The all= attribute of a list document's root; 0 when absent. */
static uint32_t
list_all(const char *doc, size_t len)
{
	const char *end = memchr(doc, '>', len);
	const char *a = strstr(doc, " all=\"");

	if (end == NULL || a == NULL || a > end)
		return 0;
	return (uint32_t) strtoul(a + 6, NULL, 10);
}

/*
 * doc (a document we wrote: one root element named root) as the Resource
 * element of a Notification: <Resource xsi:type="root" ...>...</Resource>.
 * NULL when doc is not shaped so.
 */
static const char *
as_resource(arena *a, const char *doc, size_t len, const char *root)
{
	size_t		rl = strlen(root);
	char		close[64];
	size_t		cl;

	snprintf(close, sizeof(close), "</%s>", root);
	cl = strlen(close);
	if (len < rl + 2 || doc[0] != '<' || strncmp(doc + 1, root, rl) != 0 ||
		(doc[rl + 1] != ' ' && doc[rl + 1] != '>'))
		return NULL;
	if (len >= cl && memcmp(doc + len - cl, close, cl) == 0)
		return arena_printf(a, "<Resource xsi:type=\"%s\"%.*s</Resource>", root,
							(int) (len - cl - rl - 1), doc + rl + 1);
	if (len >= 2 && memcmp(doc + len - 2, "/>", 2) == 0)
		return arena_printf(a, "<Resource xsi:type=\"%s\"%.*s", root,
							(int) (len - rl - 1), doc + rl + 1);
	return NULL;
}

/*
 * The Notification for subscription row of subs; resource is the Resource
 * element or NULL.  Paths and the base URI were checked to hold nothing
 * that needs escaping.
 */
static const char *
notification(arena *a, PGresult *subs, int row, const char *resource, int status)
{
	return arena_printf(a,
						"<Notification xmlns=\"" SEP2_NS "\" xmlns:xsi=\"" XSI_NS "\">"
						"<subscribedResource>%s</subscribedResource>%s"
						"<status>%d</status>"
						"<subscriptionURI>%s/edev/%s/sub/%s</subscriptionURI>"
						"</Notification>",
						PQgetvalue(subs, row, C_RESOURCE), resource ? resource : "",
						status, PQgetvalue(subs, row, C_BASE),
						PQgetvalue(subs, row, C_EDEV), PQgetvalue(subs, row, C_ID));
}

static derms_rc
enqueue(http_request *req, PGresult *subs, int row, const char *body, derms_err *err)
{
	sub_caller	c = caller_of(subs, row);
	const char *ref = arena_printf(req->arena, "sep2_sub:%s", PQgetvalue(subs, row, C_ID));

	if (body == NULL || ref == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	return notify_enqueue(req->db, req->arena, "sep2",
						  c.role == HTTP_ROLE_AGGREGATOR ? c.tenant_id : NOTIFY_NO_TENANT,
						  ref, PQgetvalue(subs, row, C_URI), NULL, SEP2_CT, body,
						  strlen(body), NULL, err);
}

/*
 * Queue the Notification of one subscription (row of subs) whose resource
 * changed; item is the path of the changed item of a list (NULL for other
 * resources).  An item the subscriber cannot read (a control that has
 * ended already) is no change for it.  A subscribed resource it can no
 * longer read is: status 4, and the subscription goes.
 */
static derms_rc
notify_one(http_request *req, PGresult *subs, int row, const char *item,
		   derms_err *err)
{
	const sub_kind *k = kind_named(PQgetvalue(subs, row, C_KIND));
	sub_caller	c = caller_of(subs, row);
	bool		want = strcmp(PQgetvalue(subs, row, C_LIM), "0") != 0;
	const char *path = PQgetvalue(subs, row, C_RESOURCE);
	const char *doc, *item_doc, *resource = NULL;
	size_t		len, item_len = 0;
	int			st;

	assert(k != NULL && (item != NULL) == k->list);
	st = render(req, &c, path, &doc, &len);
	if (st == 404)
	{
		const char *params[1] = {PQgetvalue(subs, row, C_ID)};

		if (db_exec(req->db, req->arena, "DELETE FROM sep2_subscriptions WHERE id = $1",
					1, params, NULL, err) == NULL)
			return DERMS_EDB;
		return enqueue(req, subs, row,
					   notification(req->arena, subs, row, NULL, SUB_STATUS_DELETED), err);
	}
	if (st != 200)
		return derms_err_set(err, DERMS_EDB, "could not render %s for a notification (status %d)",
							 path, st);
	if (!k->list)
	{
		if (want && (resource = as_resource(req->arena, doc, len, k->type)) == NULL)
			return derms_err_set(err, DERMS_EINVAL, "unexpected representation of %s", path);
		return enqueue(req, subs, row,
					   notification(req->arena, subs, row, resource, SUB_STATUS_DEFAULT), err);
	}
	st = render(req, &c, item, &item_doc, &item_len);
	if (st == 404)
		return DERMS_OK;
	if (st != 200)
		return derms_err_set(err, DERMS_EDB, "could not render %s for a notification (status %d)",
							 item, st);
	resource = arena_printf(req->arena,
							"<Resource xsi:type=\"%s\" href=\"%s\" subscribable=\"" SEP2_SUB_YES "\""
							" all=\"%" PRIu32 "\" results=\"%d\">%.*s</Resource>",
							k->type, path, list_all(doc, len), want ? 1 : 0,
							want ? (int) item_len : 0, item_doc);
	return enqueue(req, subs, row,
				   notification(req->arena, subs, row, resource, SUB_STATUS_DEFAULT), err);
}

derms_rc
sep2_sub_changed(http_request *req, const char *action, const char *id, derms_err *err)
{
	const char *params[1] = {id};
	PGresult   *subs;
	bool		program = strcmp(action, "der_program.create") == 0;

	assert(req != NULL && action != NULL && id != NULL);
	if (program)
	{
		PGresult   *p = db_exec(req->db, req->arena,
								"SELECT CASE WHEN scope_kind = 'end_device' THEN scope_id END"
								" FROM der_programs WHERE id = $1", 1, params, NULL, err);

		if (p == NULL)
			return DERMS_EDB;
		if (PQntuples(p) == 0)
			return DERMS_OK;
		/* a program for one EndDevice concerns only its subscriptions */
		params[0] = PQgetisnull(p, 0, 0) ? NULL : PQgetvalue(p, 0, 0);
		subs = db_exec(req->db, req->arena,
					   "SELECT " SUB_COLUMNS " FROM sep2_subscriptions s"
					   " WHERE s.kind IN ('derp', 'fsa')"
					   " AND ($1::bigint IS NULL OR s.end_device_id = $1::bigint)"
					   " ORDER BY s.id", 1, params, NULL, err);
	}
	else if (strcmp(action, "der_control.create") == 0 ||
			 strcmp(action, "der_control.cancel") == 0)
		subs = db_exec(req->db, req->arena,
					   "SELECT " SUB_COLUMNS " FROM sep2_subscriptions s"
					   " JOIN der_controls c ON c.program_id = s.program_id"
					   " WHERE c.id = $1 AND s.kind = 'derc' ORDER BY s.id",
					   1, params, NULL, err);
	else
		return DERMS_OK;
	if (subs == NULL)
		return DERMS_EDB;
	for (int i = 0; i < PQntuples(subs); i++)
	{
		const char *e = PQgetvalue(subs, i, C_EDEV);
		const char *item;
		derms_rc	rc;

		if (!program)
			item = arena_printf(req->arena, "%s/%s", PQgetvalue(subs, i, C_RESOURCE), id);
		else if (strcmp(PQgetvalue(subs, i, C_KIND), "derp") == 0)
			item = arena_printf(req->arena, "/edev/%s/derp/%s", e, id);
		else
		{
			/* the FSA changes only if the device sees the new program */
			const char *seen;
			size_t		seen_len;
			sub_caller	c = caller_of(subs, i);
			int			st = render(req, &c, arena_printf(req->arena, "/edev/%s/derp/%s", e, id),
									&seen, &seen_len);

			if (st == 404)
				continue;
			if (st != 200)
				return derms_err_set(err, DERMS_EDB, "could not read program %s for a"
									 " notification (status %d)", id, st);
			item = arena_printf(req->arena, "/edev/%s/fsa/0", e);
		}
		if (item == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		rc = notify_one(req, subs, i, item, err);
		if (rc != DERMS_OK)
			return rc;
	}
	return DERMS_OK;
}

/* ---- the resources ---- */

static void
write_sub(sep2_xw *w, PGresult *r, int row)
{
	char		href[96];

	snprintf(href, sizeof(href), "/edev/%s/sub/%s", PQgetvalue(r, row, C_EDEV),
			 PQgetvalue(r, row, C_ID));
	sep2_xw_open(w, "Subscription", "href", href, (char *) NULL);
	sep2_xw_text(w, "subscribedResource", PQgetvalue(r, row, C_RESOURCE));
	sep2_xw_text(w, "encoding", "0");
	sep2_xw_text(w, "level", PQgetvalue(r, row, C_LEVEL));
	sep2_xw_text(w, "limit", PQgetvalue(r, row, C_LIM));
	sep2_xw_text(w, "notificationURI", PQgetvalue(r, row, C_URI));
	sep2_xw_close(w);
}

int
sep2_sub_list_get(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sep2_page	pg;
	derms_err	err;
	const char *params[3];
	PGresult   *rows, *count;
	sep2_xw    *w;
	char		href[64];

	if (e == NULL)
		return status;
	if (sep2_page_parse(http_query(req, "s"), http_query(req, "a"),
						http_query(req, "l"), &pg, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = arena_printf(req->arena, "%" PRIu32, pg.start);
	params[2] = arena_printf(req->arena, "%" PRIu32, pg.limit);
	count = db_exec(req->db, req->arena,
					"SELECT count(*) FROM sep2_subscriptions WHERE end_device_id = $1",
					1, params, NULL, &err);
	if (count == NULL)
		return http_db_error(req, NULL, &err);
	rows = db_exec(req->db, req->arena,
				   "SELECT " SUB_COLUMNS " FROM sep2_subscriptions s WHERE s.end_device_id = $1"
				   " ORDER BY s.id OFFSET $2 LIMIT $3", 3, params, NULL, &err);
	if (rows == NULL)
		return http_db_error(req, NULL, &err);
	snprintf(href, sizeof(href), "/edev/%s/sub", params[0]);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "SubscriptionList", "href", href, (char *) NULL);
	sep2_xw_list_attrs(w, (uint32_t) strtoul(PQgetvalue(count, 0, 0), NULL, 10),
					   (uint32_t) PQntuples(rows));
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	for (int i = 0; i < PQntuples(rows); i++)
		write_sub(w, rows, i);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

/* The subscription {s} of the visible EndDevice {e}, or NULL after answering. */
static PGresult *
sub_or_answer(http_request *req, int *status)
{
	PGresult   *e = sep2_edev_fetch(req, req->params[0], status);
	const char *params[2];

	if (e == NULL)
		return NULL;
	params[0] = PQgetvalue(e, 0, 0);
	params[1] = req->params[1];
	return sep2_fetch_one(req, req->params[1],
						  "SELECT " SUB_COLUMNS " FROM sep2_subscriptions s"
						  " WHERE s.end_device_id = $1 AND s.id = $2", 2, params, status);
}

int
sep2_sub_get(http_request *req)
{
	int			status;
	PGresult   *r = sub_or_answer(req, &status);
	sep2_xw    *w;

	if (r == NULL)
		return status;
	w = sep2_xw_new(req->arena);
	write_sub(w, r, 0);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_sub_delete(http_request *req)
{
	int			status;
	PGresult   *r = sub_or_answer(req, &status);
	const char *params[1];
	derms_err	err;

	if (r == NULL)
		return status;
	params[0] = PQgetvalue(r, 0, C_ID);
	if (db_exec(req->db, req->arena, "DELETE FROM sep2_subscriptions WHERE id = $1",
				1, params, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	return http_reply(req, 204, NULL, "", 0);
}

/* The fields of a posted Subscription. */
typedef struct sub_post
{
	const char *resource;		/* normalised path */
	const sub_kind *kind;
	char		program[32];	/* {p}, or "" */
	const char *level;
	uint32_t	limit;
	const char *uri;
} sub_post;

/* Read and check the body; 0, or the status answered. */
static int
read_post(http_request *req, const char *edev_id, sub_post *out)
{
	xmlDocPtr	doc;
	xmlNodePtr	root;
	derms_err	err;
	const char *raw, *why;
	uint8_t		encoding;
	char		e[32];

	memset(out, 0, sizeof(*out));
	if (sep2_xml_parse(req->arena, req->body, req->body_len, &doc, &err) != DERMS_OK ||
		sep2_xml_root(doc, "Subscription", &root, &err) != DERMS_OK ||
		sep2_xml_validate(doc, &err) != DERMS_OK ||
		sep2_xml_string(req->arena, root, "subscribedResource", SEP2_XML_REQUIRED,
						SUB_URI_MAX, &raw, &err) != DERMS_OK ||
		sep2_xml_uint8(root, "encoding", SEP2_XML_REQUIRED, &encoding, &err) != DERMS_OK ||
		sep2_xml_string(req->arena, root, "level", SEP2_XML_REQUIRED, SUB_LEVEL_MAX,
						&out->level, &err) != DERMS_OK ||
		sep2_xml_uint32(root, "limit", SEP2_XML_REQUIRED, &out->limit, &err) != DERMS_OK ||
		sep2_xml_string(req->arena, root, "notificationURI", SEP2_XML_REQUIRED,
						SUB_URI_MAX, &out->uri, &err) != DERMS_OK)
		return http_error(req, 400, "%s", err.msg);
	if (sep2_xml_child(root, "Condition") != NULL)
		return http_error(req, 400, "conditional subscriptions are not supported:"
						  " no resource here has subscribable 2 or 3");
	if (encoding != 0)
		return http_error(req, 400, "encoding %u is not supported: only 0 (application/sep+xml)",
						  (unsigned) encoding);
	if (out->level[0] == '\0')
		return http_error(req, 400, "<level> is empty");
	if (!notification_uri_ok(out->uri, &why))
		return http_error(req, 400, "notificationURI %s", why);
	out->resource = resource_path(req->arena, raw);
	for (size_t i = 0; out->resource && i < NKINDS; i++)
	{
		e[0] = out->program[0] = '\0';
		if (path_matches(sub_kinds[i].pattern, out->resource, e, out->program,
						 sizeof(out->program)) &&
			strtoll(e, NULL, 10) == strtoll(edev_id, NULL, 10))
		{
			out->kind = &sub_kinds[i];
			break;
		}
	}
	if (out->kind == NULL)
		return http_error(req, 400, "subscribedResource \"%.200s\" is not a subscribable"
						  " resource of this EndDevice (/edev/%s, /edev/%s/fsa, /edev/%s/derp,"
						  " .../derp/{id}/derc, .../derp/{id}/dderc)", raw, edev_id, edev_id,
						  edev_id);
	return 0;
}

static const char *
role_name(unsigned role)
{
	return role == HTTP_ROLE_AGGREGATOR ? "aggregator" : "device";
}

int
sep2_sub_list_post(http_request *req)
{
	int			status;
	PGresult   *e = sep2_edev_fetch(req, req->params[0], &status);
	sub_post	sp;
	sub_caller	caller;
	const char *doc;
	size_t		len;
	const char *params[11];
	derms_err	err;
	char		state[6];
	PGresult   *r;
	const char *id;

	if (e == NULL)
		return status;
	if ((status = read_post(req, PQgetvalue(e, 0, 0), &sp)) != 0)
		return status;
	/* only what the caller may read now: unknown and foreign look alike */
	caller.role = req->who.role;
	caller.lfdi = req->who.id.lfdi;
	caller.tenant_id = req->who.tenant_id;
	status = render(req, &caller, sp.resource, &doc, &len);
	if (status == 404)
		return http_error(req, 400, "subscribedResource %s is not a resource this client may read",
						  sp.resource);
	if (status != 200)
		return http_error(req, status >= 500 ? status : 500,
						  "could not read subscribedResource %s", sp.resource);

	params[0] = PQgetvalue(e, 0, 0);
	params[1] = sp.kind->kind;
	params[2] = sp.program[0] ? sp.program : NULL;
	params[3] = sp.resource;
	params[4] = sp.level;
	params[5] = arena_printf(req->arena, "%" PRIu32, sp.limit);
	params[6] = sp.uri;
	params[7] = base_uri(req);
	params[8] = role_name(req->who.role);
	params[9] = req->who.id.lfdi;
	params[10] = req->who.role == HTTP_ROLE_AGGREGATOR
		? arena_printf(req->arena, "%" PRId64, req->who.tenant_id) : NULL;

	/*
	 * The EndDevice's row is locked while its subscriptions are counted, so
	 * two posts at once cannot both take the last place.  The same
	 * resource and URI again (a retry) updates the one subscription.
	 */
	if (db_exec(req->db, req->arena, "BEGIN", 0, NULL, NULL, &err) == NULL)
		return http_db_error(req, NULL, &err);
	r = db_exec(req->db, req->arena,
				"SELECT 1 FROM end_devices WHERE id = $1 FOR NO KEY UPDATE", 1, params, state, &err);
	if (r != NULL)
		r = db_exec(req->db, req->arena,
					"WITH upd AS (UPDATE sep2_subscriptions SET level = $5, lim = $6::bigint,"
					"  base_uri = $8, caller_role = $9, caller_lfdi = $10, caller_tenant = $11::bigint"
					"  WHERE end_device_id = $1 AND subscribed_resource = $4"
					"  AND notification_uri = $7 RETURNING id),"
					" ins AS (INSERT INTO sep2_subscriptions (end_device_id, kind, program_id,"
					"  subscribed_resource, level, lim, notification_uri, base_uri, caller_role,"
					"  caller_lfdi, caller_tenant)"
					"  SELECT $1, $2, $3::bigint, $4, $5, $6::bigint, $7, $8, $9, $10, $11::bigint"
					"  WHERE NOT EXISTS (SELECT 1 FROM upd)"
					"  AND (SELECT count(*) FROM sep2_subscriptions WHERE end_device_id = $1)"
					"   < (SELECT max_per_device FROM sep2_sub_settings)"
					"  RETURNING id)"
					" SELECT id FROM upd UNION ALL SELECT id FROM ins",
					11, params, state, &err);
	if (r == NULL || db_exec(req->db, req->arena, "COMMIT", 0, NULL, NULL, &err) == NULL)
	{
		db_exec(req->db, req->arena, "ROLLBACK", 0, NULL, NULL, NULL);
		return http_db_error(req, state, &err);
	}
	if (PQntuples(r) == 0)
	{
		PGresult   *m = db_exec(req->db, req->arena,
								"SELECT max_per_device FROM sep2_sub_settings", 0, NULL, NULL, &err);

		return http_error(req, 400, "this EndDevice has the most subscriptions allowed (%s):"
						  " delete one first", m ? PQgetvalue(m, 0, 0) : "?");
	}
	id = PQgetvalue(r, 0, 0);
	http_add_header(req, "Location",
					arena_printf(req->arena, "/edev/%s/sub/%s", PQgetvalue(e, 0, 0), id));
	return http_reply(req, 201, SEP2_CT, "", 0);
}
