/*
 * server/http.c
 *	  libmicrohttpd glue: listeners, TLS policy, caller identity, request
 *	  life cycle, and the response helpers handlers use.
 *
 * NOTES
 *	  Runs in the http worker roles (sep2, vtn, admin).  All callbacks run
 *	  on libmicrohttpd's internal polling thread, one per listener; the
 *	  worker's main thread only starts, quiesces and stops listeners.
 *
 *	  IEEE 2030.5 requires a client certificate during the handshake;
 *	  libmicrohttpd only requests one, so on every new connection of the
 *	  sep2 listener we set GNUTLS_CERT_REQUIRE and a verify function on the
 *	  GnuTLS session.  The verify function checks the chain against the
 *	  configured trust anchors and refuses certificates revoked in the
 *	  certificates table, so such clients fail the handshake.
 *
 *	  Sessions resume with TLS session tickets under one key made by the
 *	  supervisor before forking, so a device reconnecting to another worker
 *	  skips the public-key operations.  A resumed session runs no verify
 *	  callback, so revocation is checked again for every request (through
 *	  the identity cache) and a revoked certificate gets 403.
 *
 *	  Certificate-to-role mappings are cached per process for
 *	  sep2.identity_cache_s seconds (a revocation takes effect within that
 *	  time; 0 disables the cache).
 */
#include "http.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "log.h"
#include "metrics.h"

#define IDCACHE_SIZE 65536		/* entries, power of two (~5 MB) */

struct http_server
{
	http_listener_kind kind;
	struct MHD_Daemon *daemon;
	const derms_config *cfg;
	db		   *db;
	char	   *cert_pem;
	char	   *key_pem;
	char	   *trust_pem;
	bool		quiesced;
	bool		require_cert;
	struct chain_entry *chains; /* verified client chains (see verify_peer) */
};

/*
 * A client certificate chain that verified against this server's trust
 * anchors: the SHA-256 of the chain as presented, and until when the
 * result may be reused (never past the leaf's notAfter).  Verifying a
 * chain costs two ECDSA verifications, about a third of a full handshake;
 * devices reconnect with the same chain, so the result is kept per listener
 * generation (a reload, with perhaps new anchors, starts empty).  Only
 * successes are kept; the handshake's own CertificateVerify (proof of the
 * private key) is checked by GnuTLS every time.
 */
#define CHAIN_CACHE_SLOTS 4096
#define CHAIN_CACHE_TTL_S 600

typedef struct chain_entry
{
	unsigned char digest[32];
	time_t		until;			/* 0: empty */
} chain_entry;

/* per-request state between libmicrohttpd callbacks */
typedef struct request_ctx
{
	http_request req;
	uint64_t	start_us;
	bool		rejected;		/* answered before the body arrived */
	bool		too_large;
} request_ctx;

typedef struct idcache_entry
{
	char		lfdi[41];
	unsigned	role;
	int64_t		tenant_id;
	bool		revoked;
	bool		registered;		/* a row exists in certificates */
	time_t		fetched;
} idcache_entry;

static idcache_entry idcache[IDCACHE_SIZE];

/* While a reload overlaps two listener threads, both may use the cache. */
static pthread_mutex_t idcache_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The listener whose thread is running: set at the start of each
 * connection, so the GnuTLS verify callback (which gets only the session)
 * uses that listener's database handle, never another generation's.
 */
static _Thread_local http_server *thread_server;

/* session-ticket key, shared by all workers (made before fork) */
static gnutls_datum_t ticket_key = {NULL, 0};

static const char *const listener_names[HTTP_NLISTENERS] = {
	[HTTP_SEP2] = "sep2", [HTTP_VTN] = "vtn", [HTTP_ADMIN] = "admin",
};

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}

/* ---------------------------------------------------------------- */
/* identity: certificate -> role and tenant                          */
/* ---------------------------------------------------------------- */

static unsigned
role_from_name(const char *s)
{
	if (strcmp(s, "device") == 0)
		return HTTP_ROLE_DEVICE;
	if (strcmp(s, "aggregator") == 0)
		return HTTP_ROLE_AGGREGATOR;
	if (strcmp(s, "operator") == 0)
		return HTTP_ROLE_OPERATOR;
	return 0;
}

static idcache_entry *
idcache_slot(const char *lfdi)
{
	uint32_t	h = 2166136261u;

	for (const char *p = lfdi; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	return &idcache[h & (IDCACHE_SIZE - 1)];
}

void
http_identity_cache_clear(void)
{
	pthread_mutex_lock(&idcache_lock);
	memset(idcache, 0, sizeof(idcache));
	pthread_mutex_unlock(&idcache_lock);
}

/*
 * Look up the role of the certificate whose LFDI is given.  An LFDI that
 * is not registered is a device (IEEE 2030.5: any certificate from the
 * trusted chain identifies a device).  Returns DERMS_OK, or DERMS_EDB
 * when the database could not be asked.
 */
static derms_rc
identity_lookup(db *dbh, int cache_s, const char *lfdi, idcache_entry *out,
				derms_err *err)
{
	idcache_entry *slot = idcache_slot(lfdi);
	time_t		now = time(NULL);
	arena	   *a;
	PGresult   *r;
	const char *params[1] = {lfdi};

	if (cache_s > 0)
	{
		bool		hit;

		pthread_mutex_lock(&idcache_lock);
		hit = strcmp(slot->lfdi, lfdi) == 0 && now - slot->fetched < cache_s;
		if (hit)
			*out = *slot;
		pthread_mutex_unlock(&idcache_lock);
		if (hit)
			return DERMS_OK;
	}
	if (dbh == NULL)
		return derms_err_set(err, DERMS_EDB, "no database handle");
	a = arena_create(1024);
	if (a == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	r = db_exec(dbh, a,
				"SELECT role, COALESCE(tenant_id, 0), revoked FROM certificates"
				" WHERE lfdi = $1 ORDER BY revoked DESC, id DESC LIMIT 1",
				1, params, NULL, err);
	if (r == NULL)
	{
		arena_destroy(a);
		return DERMS_EDB;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->lfdi, sizeof(out->lfdi), "%s", lfdi);
	out->fetched = now;
	if (PQntuples(r) == 0)
		out->role = HTTP_ROLE_DEVICE;
	else
	{
		out->registered = true;
		out->role = role_from_name(PQgetvalue(r, 0, 0));
		out->tenant_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
		out->revoked = PQgetvalue(r, 0, 2)[0] == 't';
	}
	arena_destroy(a);
	if (cache_s > 0)
	{
		pthread_mutex_lock(&idcache_lock);
		*slot = *out;
		pthread_mutex_unlock(&idcache_lock);
	}
	return DERMS_OK;
}

/* The peer's leaf certificate identity from a GnuTLS session. */
static bool
session_identity(gnutls_session_t session, derms_identity *id)
{
	const gnutls_datum_t *peers;
	unsigned int n = 0;

	peers = gnutls_certificate_get_peers(session, &n);
	if (peers == NULL || n == 0)
		return false;
	/* GnuTLS parsed the certificate (and verified it, or restored it from
	 * a verified session): hashing is enough */
	return identity_from_verified_der(peers[0].data, peers[0].size, id, NULL) == DERMS_OK;
}

/* SHA-256 over the presented chain, certificate by certificate. */
static bool
chain_digest(const gnutls_datum_t *certs, unsigned int n, unsigned char out[32])
{
	gnutls_hash_hd_t h;

	if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0)
		return false;
	for (unsigned int i = 0; i < n; i++)
	{
		uint32_t	len = certs[i].size;

		/* length-prefixed, so certificate boundaries count */
		gnutls_hash(h, &len, sizeof(len));
		gnutls_hash(h, certs[i].data, certs[i].size);
	}
	gnutls_hash_deinit(h, out);
	return true;
}

/*
 * GnuTLS verify callback: chain to the trust anchors, then revocation.  On
 * the 2030.5 listener a certificate is required; on the VTN listener (with
 * a trust file configured) one is optional, but verified when presented.
 * A database outage does not fail the handshake; the request is then
 * answered 503 instead.
 */
static int
verify_peer(gnutls_session_t session, bool required, http_listener_kind kind)
{
	unsigned int status = 0;
	unsigned int npeers = 0;
	derms_identity id;
	idcache_entry ent;
	int			rc;
	const gnutls_datum_t *peers;
	chain_entry *slot = NULL;
	unsigned char digest[32];
	time_t		now = time(NULL);

	peers = gnutls_certificate_get_peers(session, &npeers);
	if (!required && peers == NULL)
		return 0;
	if (peers != NULL && npeers > 0 && thread_server != NULL &&
		chain_digest(peers, npeers, digest))
	{
		if (thread_server->chains == NULL)
			thread_server->chains = calloc(CHAIN_CACHE_SLOTS, sizeof(chain_entry));
		if (thread_server->chains != NULL)
			slot = &thread_server->chains[(((unsigned) digest[0] << 8) | digest[1]) %
										  CHAIN_CACHE_SLOTS];
	}
	if (slot != NULL && slot->until > now && memcmp(slot->digest, digest, 32) == 0)
		rc = 0;					/* this very chain verified a moment ago */
	else
	{
		rc = gnutls_certificate_verify_peers2(session, &status);
		if (rc >= 0 && status == 0 && slot != NULL)
		{
			time_t		expires = gnutls_certificate_expiration_time_peers(session);

			memcpy(slot->digest, digest, 32);
			slot->until = now + CHAIN_CACHE_TTL_S;
			if (expires > 0 && expires < slot->until)
				slot->until = expires;
		}
	}
	if (rc < 0 || status != 0)
	{
		gnutls_datum_t txt = {NULL, 0};

		if (rc >= 0)
			gnutls_certificate_verification_status_print(status,
														  GNUTLS_CRT_X509, &txt, 0);
		log_msg(LOG_INFO, "client certificate refused: %s",
				rc < 0 ? gnutls_strerror(rc) : (txt.data ? (char *) txt.data : "invalid"));
		gnutls_free(txt.data);
		METRICS_ADD(tls_refused[kind], 1);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (!session_identity(session, &id))
	{
		METRICS_ADD(tls_refused[kind], 1);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	if (thread_server != NULL &&
		identity_lookup(thread_server->db, thread_server->cfg->sep2_identity_cache_s,
						id.lfdi, &ent, NULL) == DERMS_OK &&
		ent.revoked)
	{
		log_msg(LOG_INFO, "client certificate refused: LFDI %s is revoked", id.lfdi);
		METRICS_ADD(tls_refused[kind], 1);
		return GNUTLS_E_CERTIFICATE_ERROR;
	}
	return 0;
}

static int
verify_required(gnutls_session_t session)
{
	return verify_peer(session, true, HTTP_SEP2);
}

static int
verify_optional(gnutls_session_t session)
{
	return verify_peer(session, false, HTTP_VTN);
}

derms_rc
http_tls_tickets_init(derms_err *err)
{
	int			rc;

	if (ticket_key.data != NULL)
		return DERMS_OK;
	rc = gnutls_session_ticket_key_generate(&ticket_key);
	if (rc < 0)
		return derms_err_set(err, DERMS_ETLS, "could not make the TLS session-ticket key: %s",
							 gnutls_strerror(rc));
	return DERMS_OK;
}

static void
notify_connection(void *cls, struct MHD_Connection *connection,
				  void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
	http_server *s = cls;
	const union MHD_ConnectionInfo *ci;

	(void) socket_context;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	thread_server = s;			/* this thread serves s (see verify_peer) */
	/* the headers must arrive within the header timeout */
	MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT,
							  (unsigned int) s->cfg->http_header_timeout_s);
	ci = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci == NULL || ci->tls_session == NULL)
		return;
	if (ticket_key.data != NULL)
		gnutls_session_ticket_enable_server((gnutls_session_t) ci->tls_session,
											&ticket_key);
	if (s->trust_pem == NULL)
		return;					/* client certificates are not used here */
	gnutls_certificate_server_set_request((gnutls_session_t) ci->tls_session,
										  s->require_cert ? GNUTLS_CERT_REQUIRE
										  : GNUTLS_CERT_REQUEST);
	gnutls_session_set_verify_function((gnutls_session_t) ci->tls_session,
									   s->require_cert ? verify_required
									   : verify_optional);
}

static bool
addr_is_trusted_proxy(const derms_config *cfg, const struct sockaddr *sa)
{
	unsigned char want[16], got[16];
	int			fam = sa->sa_family;
	size_t		len;

	if (fam == AF_INET)
	{
		memcpy(got, &((const struct sockaddr_in *) (const void *) sa)->sin_addr, 4);
		len = 4;
	}
	else if (fam == AF_INET6)
	{
		memcpy(got, &((const struct sockaddr_in6 *) (const void *) sa)->sin6_addr, 16);
		len = 16;
	}
	else
		return false;
	for (int i = 0; i < cfg->sep2_nproxies; i++)
	{
		if (inet_pton(fam, cfg->sep2_proxies[i], want) == 1 &&
			memcmp(want, got, len) == 0)
			return true;
	}
	return false;
}

/*
 * Resolve who is calling.  Returns 0 when known, else the status to answer
 * (403 no identity, 503 database down).
 */
static int
resolve_identity(http_server *s, struct MHD_Connection *conn,
				 http_request *req, const char **why)
{
	const union MHD_ConnectionInfo *ci;
	const derms_config *cfg = s->cfg;
	idcache_entry ent;
	derms_err	err;
	bool		have = false;

	memset(&req->who, 0, sizeof(req->who));
	if (s->kind == HTTP_ADMIN)
	{
		req->who.role = HTTP_ROLE_ANON;
		return 0;
	}

	if (s->kind == HTTP_VTN)
	{
		const char *authz;

		/* the token endpoints are where credentials are presented */
		if (req->route->roles & HTTP_ROLE_ANON)
		{
			req->who.role = HTTP_ROLE_ANON;
			return 0;
		}
		authz = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
											MHD_HTTP_HEADER_AUTHORIZATION);
		if (authz != NULL)
		{
			if (strncasecmp(authz, "Bearer ", 7) != 0)
			{
				*why = "authorization must be a Bearer token";
				return 401;
			}
			authz += 7;
			while (*authz == ' ')
				authz++;
			return http_bearer_verify(req, authz, why);
		}
		/* else a registered client certificate (operator, aggregator) */
	}

	/* trusted proxy: the LFDI header counts only from configured addresses */
	if (s->kind == HTTP_SEP2 && cfg->sep2_nproxies > 0)
	{
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		if (ci && ci->client_addr && addr_is_trusted_proxy(cfg, ci->client_addr))
		{
			const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
														cfg->sep2_proxy_header);

			if (h != NULL)
			{
				if (!identity_from_lfdi(h, &req->who.id))
				{
					*why = "proxy identity header is not a 40-digit LFDI";
					return 400;
				}
				req->who.via_proxy = true;
				have = true;
			}
		}
	}

	if (!have && (s->kind != HTTP_SEP2 || cfg->sep2_tls))
	{
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci && ci->tls_session &&
			session_identity((gnutls_session_t) ci->tls_session, &req->who.id))
		{
			req->who.has_cert = true;
			have = true;
			if (gnutls_session_is_resumed((gnutls_session_t) ci->tls_session))
				METRICS_ADD(tls_resumed_requests[s->kind], 1);
		}
	}
	if (!have)
	{
		*why = "no client identity";
		return s->kind == HTTP_VTN ? 401 : 403;
	}
	if (identity_lookup(s->db, cfg->sep2_identity_cache_s, req->who.id.lfdi,
						&ent, &err) != DERMS_OK)
	{
		*why = "identity lookup failed: database unavailable";
		return 503;
	}
	if (ent.revoked)
	{
		*why = "certificate revoked";
		return 403;
	}
	if (ent.role == 0)
	{
		*why = "certificate has an unknown role";
		return 403;
	}
	if (!ent.registered && s->kind != HTTP_SEP2)
	{
		/* only IEEE 2030.5 treats any certificate of the chain as a device */
		*why = "certificate is not registered";
		return 403;
	}
	req->who.role = ent.role;
	req->who.tenant_id = ent.tenant_id;
	return 0;
}

/* ---------------------------------------------------------------- */
/* responses                                                         */
/* ---------------------------------------------------------------- */

int
http_reply(http_request *req, int status, const char *ctype,
		   const char *body, size_t len)
{
	req->status = status;
	req->resp_ctype = ctype;
	req->resp_body = body;
	req->resp_len = len;
	return status;
}

void
http_add_header(http_request *req, const char *name, const char *value)
{
	if (req->nheaders < HTTP_MAX_HEADERS)
	{
		req->headers[req->nheaders].name = name;
		req->headers[req->nheaders].value = value;
		req->nheaders++;
	}
}

static const char *
status_title(int status)
{
	switch (status)
	{
		case 400:
			return "Bad Request";
		case 401:
			return "Unauthorized";
		case 403:
			return "Forbidden";
		case 404:
			return "Not Found";
		case 405:
			return "Method Not Allowed";
		case 406:
			return "Not Acceptable";
		case 409:
			return "Conflict";
		case 413:
			return "Content Too Large";
		case 415:
			return "Unsupported Media Type";
		case 500:
			return "Internal Server Error";
		case 503:
			return "Service Unavailable";
	}
	return "Error";
}

/* JSON string escaping into the arena. */
static char *
json_escape(arena *a, const char *s)
{
	size_t		n = strlen(s);
	char	   *out = arena_alloc(a, n * 6 + 1);
	char	   *o = out;

	if (out == NULL)
		return NULL;
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c == '"' || c == '\\')
		{
			*o++ = '\\';
			*o++ = (char) c;
		}
		else if (c < 0x20)
			o += sprintf(o, "\\u%04x", c);
		else
			*o++ = (char) c;
	}
	*o = '\0';
	return out;
}

int
http_error(http_request *req, int status, const char *fmt,...)
{
	va_list		ap;
	char	   *msg;
	char	   *body;

	va_start(ap, fmt);
	msg = arena_vprintf(req->arena, fmt, ap);
	va_end(ap);
	if (msg == NULL)
		msg = (char *) "out of memory";

	if (req->listener == HTTP_VTN)
	{
		char	   *esc = json_escape(req->arena, msg);

		body = arena_printf(req->arena,
							"{\"type\":\"about:blank\",\"title\":\"%s\","
							"\"status\":%d,\"detail\":\"%s\"}",
							status_title(status), status, esc ? esc : "");
		if (body)
			return http_reply(req, status, "application/problem+json", body,
							  strlen(body));
	}
	else
	{
		body = arena_printf(req->arena, "%s\n", msg);
		if (body)
			return http_reply(req, status, "text/plain; charset=utf-8", body,
							  strlen(body));
	}
	return http_reply(req, 500, "text/plain", "out of memory\n", 14);
}

int
http_db_error(http_request *req, const char *sqlstate, const derms_err *err)
{
	const char *msg = err ? err->msg : "unknown error";

	if (sqlstate == NULL || sqlstate[0] == '\0' ||
		strncmp(sqlstate, "08", 2) == 0 || strncmp(sqlstate, "53", 2) == 0 ||
		strncmp(sqlstate, "57", 2) == 0)
		return http_error(req, 503, "database unavailable: %s", msg);
	if (strcmp(sqlstate, "23505") == 0 || strcmp(sqlstate, "23P01") == 0)
		return http_error(req, 409, "conflict: %s", msg);
	if (strncmp(sqlstate, "22", 2) == 0 || strncmp(sqlstate, "23", 2) == 0)
		return http_error(req, 400, "refused: %s", msg);
	return http_error(req, 500, "database error %s: %s", sqlstate, msg);
}

const char *
http_header(http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
http_query(http_request *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* ---------------------------------------------------------------- */
/* request life cycle                                                */
/* ---------------------------------------------------------------- */

static bool
ctype_matches(const char *header, http_ctype want)
{
	const char *mime = http_ctype_mime(want);
	size_t		n = strlen(mime);

	if (header == NULL)
		return false;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, mime, n) != 0)
		return false;
	header += n;
	while (*header == ' ')
		header++;
	return *header == '\0' || *header == ';';
}

static enum MHD_Result
send_response(struct MHD_Connection *conn, request_ctx *ctx)
{
	http_request *req = &ctx->req;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(req->resp_len, (void *) (uintptr_t) req->resp_body,
										   MHD_RESPMEM_MUST_COPY);
	if (resp == NULL)
		return MHD_NO;
	if (req->resp_ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, req->resp_ctype);
	for (size_t i = 0; i < req->nheaders; i++)
		MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value);
	if (req->listener != HTTP_ADMIN)
		MHD_add_response_header(resp, "Cache-Control", "no-store");
	/* counted before the client can see the answer, so a scrape that
	 * follows a response always includes it */
	metrics_count_request(req->route_index, (int) req->listener, req->status,
						  now_us() - ctx->start_us);
	ret = MHD_queue_response(conn, (unsigned int) req->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void
request_completed(void *cls, struct MHD_Connection *connection,
				  void **con_cls, enum MHD_RequestTerminationCode toe)
{
	request_ctx *ctx = *con_cls;

	(void) cls;
	(void) connection;
	(void) toe;
	if (ctx == NULL)
		return;
	arena_destroy(ctx->req.arena);
	free(ctx);
	*con_cls = NULL;
}

/*
 * First call for a request: route, identity, role, content type and size.
 * Returns 0 to go on, or the status already set in req.
 */
static int
admit_request(http_server *s, struct MHD_Connection *conn, request_ctx *ctx)
{
	http_request *req = &ctx->req;
	char		allow[64];
	const char *why = NULL;
	const char *cl;
	int			st;

	req->route_index = http_route_find(s->kind, req->method, req->path,
									   req->arena, req->params, &req->nparams,
									   allow, sizeof(allow));
	if (req->route_index < 0)
	{
		req->route_index = METRICS_MAX_ROUTES - 1;
		if (allow[0] == '\0')
			return http_error(req, 404, "no resource at \"%s\"", req->path);
		http_add_header(req, "Allow", arena_strdup(req->arena, allow));
		return http_error(req, 405, "method %s not allowed; allowed: %s",
						  req->method, allow);
	}
	req->route = &http_routes[req->route_index];

	st = resolve_identity(s, conn, req, &why);
	if (st == 401)
		http_add_header(req, "WWW-Authenticate", "Bearer realm=\"dermsd\"");
	if (st != 0)
		return http_error(req, st, "%s", why);
	/*
	 * A business-logic token speaks for its aggregator (or, without a
	 * tenant, for the utility's operator) on the JSON APIs beside OpenADR.
	 */
	if (req->who.role == HTTP_ROLE_BL && (req->route->roles & HTTP_ROLE_BL) == 0)
	{
		unsigned	as = req->who.tenant_id ? HTTP_ROLE_AGGREGATOR : HTTP_ROLE_OPERATOR;

		if (req->route->roles & as)
			req->who.role = as;
	}
	if ((req->route->roles & req->who.role) == 0)
	{
		/* a resource the caller may not see does not exist for it */
		return http_error(req, 404, "no resource at \"%s\"", req->path);
	}

	cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
									 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (req->route->body_type == HTTP_CT_NONE)
	{
		if (cl != NULL && strtoull(cl, NULL, 10) > 0)
			return http_error(req, 400, "this resource takes no request body");
		return 0;
	}
	if (!ctype_matches(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
												   MHD_HTTP_HEADER_CONTENT_TYPE),
					   req->route->body_type))
		return http_error(req, 415, "content type must be %s",
						  http_ctype_mime(req->route->body_type));
	if (cl != NULL)
	{
		char	   *end;
		unsigned long long n;

		while (*cl == ' ')
			cl++;
		errno = 0;
		n = strtoull(cl, &end, 10);
		while (*end == ' ')
			end++;
		if (errno || *end != '\0' || *cl == '-')
			return http_error(req, 400, "invalid Content-Length");
		if (n > (unsigned long long) s->cfg->http_body_max)
			return http_error(req, 413, "request body of %llu bytes exceeds the limit of %d bytes",
							  n, s->cfg->http_body_max);
	}
	return 0;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *connection,
			   const char *url, const char *method, const char *version,
			   const char *upload_data, size_t *upload_data_size,
			   void **con_cls)
{
	http_server *s = cls;
	request_ctx *ctx = *con_cls;
	http_request *req;

	(void) version;
	if (ctx == NULL)
	{
		ctx = calloc(1, sizeof(*ctx));
		if (ctx == NULL)
			return MHD_NO;
		ctx->start_us = now_us();
		req = &ctx->req;
		req->arena = arena_create(0);
		if (req->arena == NULL)
		{
			free(ctx);
			return MHD_NO;
		}
		req->listener = s->kind;
		req->method = method;
		req->path = url;
		req->db = s->db;
		req->cfg = s->cfg;
		req->conn = connection;
		*con_cls = ctx;
		MHD_set_connection_option(connection, MHD_CONNECTION_OPTION_TIMEOUT,
								  (unsigned int) s->cfg->http_idle_timeout_s);
		if (admit_request(s, connection, ctx) != 0)
			ctx->rejected = true;
		return MHD_YES;
	}
	req = &ctx->req;

	if (*upload_data_size > 0)
	{
		size_t		n = *upload_data_size;

		*upload_data_size = 0;
		if (ctx->rejected || ctx->too_large)
			return MHD_YES;		/* discard; the answer is decided */
		if (req->body_len + n > (size_t) s->cfg->http_body_max)
		{
			ctx->too_large = true;
			return MHD_YES;
		}
		{
			size_t		cap = req->body_len + n + 1;
			char	   *nb = arena_alloc(req->arena, cap);

			if (nb == NULL)
				return MHD_NO;
			if (req->body_len)
				memcpy(nb, req->body, req->body_len);
			memcpy(nb + req->body_len, upload_data, n);
			req->body_len += n;
			nb[req->body_len] = '\0';
			req->body = nb;
		}
		return MHD_YES;
	}

	/* the whole request is here */
	if (!ctx->rejected)
	{
		if (ctx->too_large)
			http_error(req, 413, "request body exceeds the limit of %d bytes",
					   s->cfg->http_body_max);
		else
		{
			if (req->body == NULL)
			{
				req->body = arena_strdup(req->arena, "");
				if (req->body == NULL)
					return MHD_NO;
			}
			req->route->handler(req);
			if (req->status == 0)
				http_error(req, 500, "handler produced no response");
		}
	}
	return send_response(connection, ctx);
}

/* ---------------------------------------------------------------- */
/* listeners                                                         */
/* ---------------------------------------------------------------- */

static void
mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];

	(void) cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_msg(LOG_DEBUG, "http: %s", buf);
}

static char *
read_file(const char *path, derms_err *err)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf;
	long		n;

	if (f == NULL)
	{
		derms_err_set(err, DERMS_EIO, "could not open \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > 1024 * 1024 ||
		fseek(f, 0, SEEK_SET) != 0)
	{
		fclose(f);
		derms_err_set(err, DERMS_EIO, "could not read \"%s\": not a regular file of at most 1 MiB", path);
		return NULL;
	}
	buf = malloc((size_t) n + 1);
	if (buf == NULL || fread(buf, 1, (size_t) n, f) != (size_t) n)
	{
		free(buf);
		fclose(f);
		derms_err_set(err, DERMS_EIO, "could not read \"%s\"", path);
		return NULL;
	}
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
server_free(http_server *s)
{
	if (s == NULL)
		return;
	free(s->cert_pem);
	if (s->key_pem)
	{
		explicit_bzero(s->key_pem, strlen(s->key_pem));
		free(s->key_pem);
	}
	free(s->trust_pem);
	free(s->chains);
	free(s);
}

http_server *
http_server_start(http_listener_kind kind, int listen_fd,
				  const derms_config *cfg, db *dbh, derms_err *err)
{
	http_server *s = calloc(1, sizeof(*s));
	const config_listener *l;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
		MHD_USE_ITC | MHD_USE_ERROR_LOG;
	bool		tls;
	struct MHD_OptionItem opts[16];
	int			n = 0;

	assert((unsigned) kind < HTTP_NLISTENERS);
	if (s == NULL)
	{
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	s->kind = kind;
	s->cfg = cfg;
	s->db = dbh;
	l = kind == HTTP_SEP2 ? &cfg->sep2 : kind == HTTP_VTN ? &cfg->vtn : &cfg->admin;
	tls = kind == HTTP_VTN || (kind == HTTP_SEP2 && cfg->sep2_tls);

#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem) {(o), (intptr_t) (v), (p)})
	OPT(MHD_OPTION_LISTEN_SOCKET, listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, cfg->http_connection_limit, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, cfg->http_idle_timeout_s, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, cfg->http_memory_limit, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, notify_connection, s);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, NULL);
	if (tls)
	{
		flags |= MHD_USE_TLS;
		if ((s->cert_pem = read_file(l->cert_file, err)) == NULL ||
			(s->key_pem = read_file(l->key_file, err)) == NULL)
			goto fail;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, l->tls_priorities);
		if (l->ca_file && l->ca_file[0])
		{
			if ((s->trust_pem = read_file(l->ca_file, err)) == NULL)
				goto fail;
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, s->trust_pem);
		}
		s->require_cert = (kind == HTTP_SEP2);
		if (s->require_cert && s->trust_pem == NULL)
		{
			derms_err_set(err, DERMS_EINVAL, "sep2 listener needs sep2.ca_file to verify client certificates");
			goto fail;
		}
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT

	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_handler, s,
								 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (s->daemon == NULL)
	{
		derms_err_set(err, DERMS_ETLS,
					  "could not start the %s listener (check the certificate, key and TLS priorities)",
					  listener_names[kind]);
		goto fail;
	}
	return s;

fail:
	server_free(s);
	return NULL;
}

void
http_server_quiesce(http_server *s)
{
	if (s == NULL || s->quiesced || s->daemon == NULL)
		return;
	/* the listening socket stays open: the supervisor owns it */
	MHD_quiesce_daemon(s->daemon);
	s->quiesced = true;
}

unsigned
http_server_connections(http_server *s)
{
	const union MHD_DaemonInfo *di;

	if (s == NULL || s->daemon == NULL)
		return 0;
	di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	return di ? di->num_connections : 0;
}

void
http_server_stop(http_server *s)
{
	if (s == NULL)
		return;
	/* quiesce first so MHD does not close the shared listening socket */
	http_server_quiesce(s);
	if (s->daemon)
		MHD_stop_daemon(s->daemon);
	server_free(s);
}
