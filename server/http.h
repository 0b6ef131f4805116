/*
 * server/http.h
 *	  The HTTP(S) core: route table, request context, listeners.
 *
 * NOTES
 *	  Every route of every listener is one row of http_routes[] (routes.c).
 *	  The core matches method and path, resolves the caller's identity,
 *	  checks the route's roles and content type and the body size, and only
 *	  then runs the handler; handlers never re-check those.  Each request
 *	  has its own arena, destroyed when libmicrohttpd reports the request
 *	  completed; handlers allocate from it and never free.
 *	  A listener runs libmicrohttpd's own polling thread; all handlers of a
 *	  worker process run on that one thread, which owns the worker's
 *	  database handle.
 */
#ifndef DERMS_HTTP_H
#define DERMS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "identity.h"

typedef enum http_listener_kind
{
	HTTP_SEP2 = 0,				/* IEEE 2030.5, mutual TLS */
	HTTP_VTN = 1,				/* OpenADR VTN and JSON APIs */
	HTTP_ADMIN = 2				/* health and metrics, plain HTTP, loopback */
} http_listener_kind;

#define HTTP_NLISTENERS 3

/* Caller roles, as bits so a route can allow several. */
#define HTTP_ROLE_DEVICE		0x01u
#define HTTP_ROLE_AGGREGATOR	0x02u
#define HTTP_ROLE_OPERATOR		0x04u
#define HTTP_ROLE_ANON			0x08u	/* nobody identified (admin) */
#define HTTP_ROLE_BL			0x10u	/* OpenADR business logic (bearer token) */
#define HTTP_ROLE_VEN			0x20u	/* OpenADR VEN (bearer token) */
#define HTTP_ROLE_ALL_TOKEN	(HTTP_ROLE_BL | HTTP_ROLE_VEN)
#define HTTP_ROLE_ALL_CERT	(HTTP_ROLE_DEVICE | HTTP_ROLE_AGGREGATOR | HTTP_ROLE_OPERATOR)

typedef enum http_ctype
{
	HTTP_CT_NONE = 0,			/* no request body allowed */
	HTTP_CT_SEP2_XML,			/* application/sep+xml */
	HTTP_CT_JSON,				/* application/json */
	HTTP_CT_FORM,				/* application/x-www-form-urlencoded */
	HTTP_CT_TEXT				/* text/plain */
} http_ctype;

#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_HEADERS 8

typedef struct http_request http_request;

/* Returns the status it queued (http_reply and friends return it). */
typedef int (*http_handler) (http_request *req);

typedef struct http_route
{
	http_listener_kind listener;
	const char *method;			/* "GET", "POST", "PUT", "DELETE" */
	const char *pattern;		/* "/edev/{id}/der"; "{x}" matches one segment */
	http_handler handler;
	unsigned	roles;			/* HTTP_ROLE_* bits allowed */
	http_ctype	body_type;		/* accepted request body */
	unsigned	flags;			/* none yet; reserved for paging etc. */
} http_route;

extern const http_route http_routes[];
extern const size_t http_nroutes;

/* OpenADR 3 scopes, as bits (the token's "scope" claim, space separated). */
#define HTTP_SCOPE_READ_ALL				0x001u
#define HTTP_SCOPE_READ_TARGETS			0x002u
#define HTTP_SCOPE_READ_VEN_OBJECTS		0x004u
#define HTTP_SCOPE_WRITE_PROGRAMS		0x008u
#define HTTP_SCOPE_WRITE_EVENTS			0x010u
#define HTTP_SCOPE_WRITE_REPORTS		0x020u
#define HTTP_SCOPE_WRITE_SUBSCRIPTIONS	0x040u
#define HTTP_SCOPE_WRITE_VENS			0x080u
#define HTTP_CLIENT_ID_MAX 128

/* Who is calling. */
typedef struct http_identity
{
	unsigned	role;			/* one HTTP_ROLE_* bit */
	int64_t		tenant_id;		/* 0 when none */
	bool		has_cert;		/* false only for ANON and proxied calls */
	bool		via_proxy;		/* taken from the trusted proxy's header */
	derms_identity id;			/* lfdi/sfdi (fingerprint "" via proxy) */
	/* OpenADR bearer-token callers (role BL or VEN); empty otherwise */
	char		client_id[HTTP_CLIENT_ID_MAX + 1];	/* the token's subject */
	unsigned	scopes;			/* HTTP_SCOPE_* bits the token grants */
} http_identity;

typedef struct http_header_kv
{
	const char *name;
	const char *value;
} http_header_kv;

struct http_request
{
	arena	   *arena;			/* dies when the request completes */
	const http_route *route;
	int			route_index;
	http_listener_kind listener;
	const char *method;
	const char *path;
	const char *params[HTTP_MAX_PARAMS];	/* "{x}" captures, in order */
	size_t		nparams;
	char	   *body;			/* NUL-terminated; body_len excludes NUL */
	size_t		body_len;
	http_identity who;
	db		   *db;				/* the worker's database handle */
	const derms_config *cfg;
	void	   *conn;			/* struct MHD_Connection * */

	/* response, set by http_reply */
	int			status;
	const char *resp_ctype;
	const char *resp_body;
	size_t		resp_len;
	http_header_kv headers[HTTP_MAX_HEADERS];
	size_t		nheaders;
};

/* ---- routing (pure; tested without sockets) ---- */

/*
 * Find the route for listener, method and path.  Returns its index, or -1
 * with *allow set to a comma-separated list of the methods the path does
 * accept ("" when the path matches nothing: 404; else 405).
 * Captured segments go to params (borrowed pointers into a, may be NULL
 * when a is NULL: then params are not filled).
 */
int			http_route_find(http_listener_kind listener, const char *method,
							const char *path, arena *a, const char **params,
							size_t *nparams, char *allow, size_t allowlen);

/* Pattern checks for the route table test: NULL when fine, else why. */
const char *http_route_check(const http_route *r);

const char *http_ctype_mime(http_ctype ct);
const char *http_role_name(unsigned role);

/* ---- responses (for handlers) ---- */

/* Queue body (copied at send time; may live in the arena). */
int			http_reply(http_request *req, int status, const char *ctype,
					   const char *body, size_t len);

/* An error in the listener's format: text for 2030.5 and admin,
 * application/problem+json for the VTN. */
int			http_error(http_request *req, int status, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

void		http_add_header(http_request *req, const char *name, const char *value);

/*
 * Answer a failed database call.  sqlstate is what db_exec filled (may be
 * NULL or ""): no state or a connection/resource class (08, 53, 57) is 503,
 * a unique or exclusion violation 409, another data error (22, 23) 400,
 * anything else 500.
 */
int			http_db_error(http_request *req, const char *sqlstate, const derms_err *err);

/* Request header, borrowed; NULL when absent. */
const char *http_header(http_request *req, const char *name);

/*
 * The bearer-token check of the VTN listener (routes.c names it): fill
 * req->who and return 0, or return the status to answer (401, 503) with
 * *why set.
 */
typedef int (*http_bearer_fn) (http_request *req, const char *token,
							   const char **why);
extern const http_bearer_fn http_bearer_verify;

/* Query-string argument, borrowed; NULL when absent. */
const char *http_query(http_request *req, const char *key);

/* ---- listeners ---- */

typedef struct http_server http_server;

/*
 * Start serving on listen_fd (bound and listening, owned by the
 * supervisor).  TLS material is read from cfg for the listener.
 */
http_server *http_server_start(http_listener_kind kind, int listen_fd,
							   const derms_config *cfg, db *dbh,
							   derms_err *err);

/* Stop accepting; in-flight requests continue.  Idempotent. */
void		http_server_quiesce(http_server *s);

/* Open connections. */
unsigned	http_server_connections(http_server *s);

/* Stop and free; open connections are closed. */
void		http_server_stop(http_server *s);

/* Drop cached certificate-to-role mappings (after a reload). */
void		http_identity_cache_clear(void);

/*
 * Make the TLS session-ticket key.  Called once by the supervisor before
 * it forks, so every worker of a listener can resume the sessions any
 * other worker issued.
 */
derms_rc	http_tls_tickets_init(derms_err *err);

#endif							/* DERMS_HTTP_H */
