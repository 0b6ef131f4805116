/*
 * protocols/openadr/auth.c
 *	  OAuth2 client credentials, the token endpoint and bearer checks.
 *
 * NOTES
 *	  See auth.h.  Signing and checking keys are loaded per configuration
 *	  (a reload brings a new derms_config and so new keys); two listener
 *	  generations may run at once during a reload, so key use and the
 *	  token cache are under one mutex.  The cache is direct-mapped on the
 *	  SHA-256 of the token: a hit costs one hash instead of an ECDSA
 *	  verification and a database round trip.
 */
#include "auth.h"

#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "jwt.h"
#include "server/log.h"

#define CLOCK_LEEWAY_S 60
#define SALT_LEN 16
#define JWKS_MAX 8
#define CACHE_SLOTS 4096
#define FORM_MAX_PARAMS 16

static const struct
{
	const char *name;
	unsigned	bit;
}			scope_names[] = {
	{"read_all", HTTP_SCOPE_READ_ALL},
	{"read_targets", HTTP_SCOPE_READ_TARGETS},
	{"read_ven_objects", HTTP_SCOPE_READ_VEN_OBJECTS},
	{"write_programs", HTTP_SCOPE_WRITE_PROGRAMS},
	{"write_events", HTTP_SCOPE_WRITE_EVENTS},
	{"write_reports", HTTP_SCOPE_WRITE_REPORTS},
	{"write_subscriptions", HTTP_SCOPE_WRITE_SUBSCRIPTIONS},
	{"write_vens", HTTP_SCOPE_WRITE_VENS},
};

#define NSCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

/* Keys of one configuration. */
typedef struct auth_keys
{
	const derms_config *cfg;	/* NULL: slot free */
	jwt_key    *own;			/* signs and checks our tokens; may be NULL */
	jwt_key    *ext[JWKS_MAX];	/* the external issuer's keys */
	size_t		next;
} auth_keys;

typedef struct cache_entry
{
	unsigned char digest[32];
	time_t		until;			/* 0: empty */
	unsigned	role;
	int64_t		tenant_id;
	unsigned	scopes;
	char		client_id[HTTP_CLIENT_ID_MAX + 1];
} cache_entry;

static pthread_mutex_t auth_lock = PTHREAD_MUTEX_INITIALIZER;
static auth_keys key_slots[2];
static cache_entry *token_cache;

/* ---------------------------------------------------------------- */
/* scopes and secrets                                                */
/* ---------------------------------------------------------------- */

unsigned
vtn_role_scopes(unsigned role)
{
	if (role == HTTP_ROLE_BL)
		return HTTP_SCOPE_READ_ALL | HTTP_SCOPE_WRITE_PROGRAMS |
			HTTP_SCOPE_WRITE_EVENTS | HTTP_SCOPE_WRITE_SUBSCRIPTIONS |
			HTTP_SCOPE_WRITE_VENS;
	if (role == HTTP_ROLE_VEN)
		return HTTP_SCOPE_READ_TARGETS | HTTP_SCOPE_READ_VEN_OBJECTS |
			HTTP_SCOPE_WRITE_REPORTS | HTTP_SCOPE_WRITE_SUBSCRIPTIONS |
			HTTP_SCOPE_WRITE_VENS;
	return 0;
}

bool
vtn_scopes_parse(const char *s, unsigned *out, char *bad, size_t badlen)
{
	*out = 0;
	while (s && *s)
	{
		size_t		n;
		bool		known = false;

		while (*s == ' ')
			s++;
		n = strcspn(s, " ");
		if (n == 0)
			break;
		for (size_t i = 0; i < NSCOPES; i++)
			if (strlen(scope_names[i].name) == n &&
				strncmp(s, scope_names[i].name, n) == 0)
			{
				*out |= scope_names[i].bit;
				known = true;
			}
		if (!known)
		{
			if (bad)
				snprintf(bad, badlen, "%.*s", (int) (n > 64 ? 64 : n), s);
			return false;
		}
		s += n;
	}
	return true;
}

static void
scopes_join(unsigned scopes, char sep, char *buf, size_t len)
{
	size_t		o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NSCOPES; i++)
	{
		int			n;

		if (!(scopes & scope_names[i].bit))
			continue;
		n = snprintf(buf + o, len - o, "%s%s", o ? (sep == ' ' ? " " : ",") : "",
					 scope_names[i].name);
		if (n < 0 || (size_t) n >= len - o)
			return;
		o += (size_t) n;
	}
}

void
vtn_scopes_format(unsigned scopes, char *buf, size_t len)
{
	scopes_join(scopes, ' ', buf, len);
}

void
vtn_scopes_pgarray(unsigned scopes, char *buf, size_t len)
{
	char		inner[256];

	scopes_join(scopes, ',', inner, sizeof(inner));
	snprintf(buf, len, "{%s}", inner);
}

static void
hmac_digest(const unsigned char *salt, const char *secret, unsigned char out[32])
{
	unsigned int n = 32;

	HMAC(EVP_sha256(), salt, SALT_LEN, (const unsigned char *) secret,
		 strlen(secret), out, &n);
}

derms_rc
vtn_client_credentials(const char *prefix, char *id, char *secret, char *hash,
					   derms_err *err)
{
	unsigned char idraw[10];
	unsigned char key[32];
	unsigned char salt[SALT_LEN];
	unsigned char digest[32];
	char		saltb[JWT_B64_LEN(SALT_LEN) + 1];
	char		digb[JWT_B64_LEN(32) + 1];
	char		hex[21];

	if (RAND_bytes(idraw, sizeof(idraw)) != 1 ||
		RAND_bytes(key, sizeof(key)) != 1 ||
		RAND_bytes(salt, sizeof(salt)) != 1)
		return derms_err_set(err, DERMS_ETLS, "no randomness for client credentials");
	for (size_t i = 0; i < sizeof(idraw); i++)
		snprintf(hex + 2 * i, 3, "%02x", idraw[i]);
	snprintf(id, 64, "%s_%s", prefix, hex);
	jwt_b64url_encode(key, sizeof(key), secret);
	hmac_digest(salt, secret, digest);
	jwt_b64url_encode(salt, sizeof(salt), saltb);
	jwt_b64url_encode(digest, sizeof(digest), digb);
	snprintf(hash, VTN_SECRET_HASH_MAX, "hmac-sha256$%s$%s", saltb, digb);
	OPENSSL_cleanse(key, sizeof(key));
	return DERMS_OK;
}

bool
vtn_secret_matches(const char *secret, const char *stored)
{
	static const char tag[] = "hmac-sha256$";
	unsigned char salt[SALT_LEN];
	unsigned char want[32];
	unsigned char got[32];
	const char *dollar;

	if (strncmp(stored, tag, sizeof(tag) - 1) != 0)
		return false;
	stored += sizeof(tag) - 1;
	dollar = strchr(stored, '$');
	if (dollar == NULL ||
		jwt_b64url_decode(stored, (size_t) (dollar - stored), salt, sizeof(salt)) != SALT_LEN ||
		jwt_b64url_decode(dollar + 1, strlen(dollar + 1), want, sizeof(want)) != 32)
		return false;
	hmac_digest(salt, secret, got);
	return CRYPTO_memcmp(got, want, sizeof(got)) == 0;
}

/* ---------------------------------------------------------------- */
/* keys                                                              */
/* ---------------------------------------------------------------- */

static void
keys_release(auth_keys *k)
{
	jwt_key_free(k->own);
	for (size_t i = 0; i < k->next; i++)
		jwt_key_free(k->ext[i]);
	memset(k, 0, sizeof(*k));
}

/* The keys of cfg, loading them on first use.  Caller holds auth_lock. */
static auth_keys *
keys_for(const derms_config *cfg)
{
	auth_keys  *k = NULL;
	derms_err	err;

	for (size_t i = 0; i < 2; i++)
		if (key_slots[i].cfg == cfg)
			return &key_slots[i];
	/* a new configuration: it replaces the slot not last loaded */
	for (size_t i = 0; i < 2 && k == NULL; i++)
		if (key_slots[i].cfg == NULL)
			k = &key_slots[i];
	if (k == NULL)
	{
		k = &key_slots[0];
		keys_release(k);
		key_slots[0] = key_slots[1];
		memset(&key_slots[1], 0, sizeof(key_slots[1]));
		k = &key_slots[1];
	}
	k->cfg = cfg;
	if (cfg->vtn_token_key_file)
	{
		k->own = jwt_key_load_private(cfg->vtn_token_key_file, &err);
		if (k->own == NULL)
			log_msg(LOG_ERR, "vtn: token key not usable, /auth/token answers 503: %s%s%s",
					err.msg, err.detail[0] ? ": " : "", err.detail);
	}
	if (cfg->vtn_jwks_file)
	{
		int			n = jwt_keys_load_jwks(cfg->vtn_jwks_file, k->ext, JWKS_MAX, &err);

		if (n < 0)
			log_msg(LOG_ERR, "vtn: external issuer keys not usable: %s", err.msg);
		else
			k->next = (size_t) n;
	}
	if (token_cache == NULL)
		token_cache = calloc(CACHE_SLOTS, sizeof(cache_entry));
	return k;
}

void
vtn_auth_cache_clear(void)
{
	pthread_mutex_lock(&auth_lock);
	if (token_cache)
		memset(token_cache, 0, CACHE_SLOTS * sizeof(cache_entry));
	pthread_mutex_unlock(&auth_lock);
}

/* ---------------------------------------------------------------- */
/* replies                                                           */
/* ---------------------------------------------------------------- */

static int
reply_json(http_request *req, int status, json_t *j)
{
	char	   *s = json_dumps(j, JSON_COMPACT);
	char	   *body;

	json_decref(j);
	if (s == NULL)
		return http_error(req, 500, "out of memory");
	body = arena_strdup(req->arena, s);
	free(s);
	if (body == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, status, "application/json", body, strlen(body));
}

/*
 * An RFC 6749 section 5.2 error that is also a Problem: the OpenADR
 * document answers the token endpoint's errors with its problem schema.
 */
static int
token_error(http_request *req, int status, const char *code, const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

static int
token_error(http_request *req, int status, const char *code, const char *fmt,...)
{
	va_list		ap;
	char	   *msg;

	va_start(ap, fmt);
	msg = arena_vprintf(req->arena, fmt, ap);
	va_end(ap);
	http_add_header(req, "Cache-Control", "no-store");
	if (status == 401)
		http_add_header(req, "WWW-Authenticate", "Basic realm=\"dermsd\"");
	return reply_json(req, status,
					  json_pack("{s:s, s:s, s:s, s:s, s:i, s:s}",
								"error", code,
								"error_description", msg ? msg : "",
								"type", "about:blank",
								"title", status == 401 ? "Unauthorized" : "Bad Request",
								"status", status,
								"detail", msg ? msg : ""));
}

/* ---------------------------------------------------------------- */
/* form bodies                                                       */
/* ---------------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* application/x-www-form-urlencoded decoding of s[0..n); NULL if malformed. */
static char *
form_decode(arena *a, const char *s, size_t n)
{
	char	   *out = arena_alloc(a, n + 1);
	size_t		o = 0;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] == '%')
		{
			int			hi;
			int			lo;

			if (i + 2 >= n)
				return NULL;
			hi = hexval((unsigned char) s[i + 1]);
			lo = hexval((unsigned char) s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			out[o++] = (char) (hi * 16 + lo);
			i += 2;
		}
		else
			out[o++] = s[i];
	}
	out[o] = '\0';
	return out;
}

typedef struct form
{
	const char *name[FORM_MAX_PARAMS];
	const char *value[FORM_MAX_PARAMS];
	size_t		n;
} form;

/* Parse a form body; false with *why on malformed input or a repeat. */
static bool
form_parse(arena *a, const char *body, size_t len, form *f, const char **why)
{
	size_t		i = 0;

	f->n = 0;
	while (i < len)
	{
		size_t		end = i;
		size_t		eq;
		char	   *name;
		char	   *value;

		while (end < len && body[end] != '&')
			end++;
		if (end == i)
		{
			i++;
			continue;
		}
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		name = form_decode(a, body + i, eq - i);
		value = eq < end ? form_decode(a, body + eq + 1, end - eq - 1)
			: arena_strdup(a, "");
		if (name == NULL || value == NULL)
		{
			*why = "malformed form encoding";
			return false;
		}
		for (size_t k = 0; k < f->n; k++)
			if (strcmp(f->name[k], name) == 0)
			{
				*why = arena_printf(a, "parameter \"%s\" given more than once", name);
				return false;
			}
		if (f->n == FORM_MAX_PARAMS)
		{
			*why = "too many parameters";
			return false;
		}
		f->name[f->n] = name;
		f->value[f->n++] = value;
		i = end + 1;
	}
	return true;
}

static const char *
form_get(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return NULL;
}

/* "Basic base64(urlencode(id):urlencode(secret))" (RFC 6749 2.3.1). */
static bool
basic_credentials(http_request *req, const char *h, const char **id,
				  const char **secret)
{
	unsigned char *raw;
	int			n;
	char	   *colon;
	size_t		len;

	h += 6;
	while (*h == ' ')
		h++;
	len = strlen(h);
	if (len == 0 || len > 8192 || len % 4 != 0)
		return false;
	raw = arena_alloc(req->arena, len + 1);
	if (raw == NULL)
		return false;
	n = EVP_DecodeBlock(raw, (const unsigned char *) h, (int) len);
	if (n < 0)
		return false;
	/* EVP_DecodeBlock counts the padding as zero bytes */
	if (len >= 1 && h[len - 1] == '=')
		n--;
	if (len >= 2 && h[len - 2] == '=')
		n--;
	raw[n] = '\0';
	if (memchr(raw, '\0', (size_t) n) != NULL)
		return false;
	colon = strchr((char *) raw, ':');
	if (colon == NULL)
		return false;
	*id = form_decode(req->arena, (char *) raw, (size_t) (colon - (char *) raw));
	*secret = form_decode(req->arena, colon + 1, strlen(colon + 1));
	return *id != NULL && *secret != NULL;
}

/* ---------------------------------------------------------------- */
/* the token endpoint                                                */
/* ---------------------------------------------------------------- */

static bool
client_id_ok(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > HTTP_CLIENT_ID_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* Scopes from a PostgreSQL text[] output ("{read_all,write_vens}"). */
static unsigned
scopes_from_pgarray(const char *s)
{
	char		buf[512];
	unsigned	bits = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *p = buf; *p; p++)
		if (*p == '{' || *p == '}' || *p == ',' || *p == '"')
			*p = ' ';
	for (char *tok = strtok(buf, " "); tok; tok = strtok(NULL, " "))
	{
		unsigned	b;

		if (vtn_scopes_parse(tok, &b, NULL, 0))
			bits |= b;
	}
	return bits;
}

int
vtn_auth_token_post(http_request *req)
{
	const char *authz = http_header(req, "Authorization");
	const char *why = NULL;
	const char *id = NULL;
	const char *secret = NULL;
	const char *grant;
	const char *scope;
	form		f;
	PGresult   *r;
	char		state[6];
	derms_err	err;
	unsigned	granted;
	unsigned	asked;
	unsigned	role;
	char		bad[80];
	char		scopes[256];
	char		jti_hex[33];
	unsigned char jti[16];
	time_t		now = time(NULL);
	json_t	   *claims;
	char	   *token;
	auth_keys  *keys;
	bool		matched;

	if (!form_parse(req->arena, req->body ? req->body : "", req->body_len, &f, &why))
		return token_error(req, 400, "invalid_request", "%s", why);
	grant = form_get(&f, "grant_type");
	if (grant == NULL)
		return token_error(req, 400, "invalid_request", "grant_type is required");
	if (strcmp(grant, "client_credentials") != 0)
		return token_error(req, 400, "unsupported_grant_type",
						   "only the client_credentials grant is supported");

	if (authz != NULL && strncasecmp(authz, "Basic ", 6) == 0)
	{
		if (form_get(&f, "client_secret") != NULL)
			return token_error(req, 400, "invalid_request",
							   "use one client authentication method, not both");
		if (!basic_credentials(req, authz, &id, &secret))
			return token_error(req, 401, "invalid_client",
							   "malformed Basic authorization header");
		if (form_get(&f, "client_id") && strcmp(form_get(&f, "client_id"), id) != 0)
			return token_error(req, 400, "invalid_request",
							   "client_id differs from the authenticated client");
	}
	else if (authz != NULL)
		return token_error(req, 400, "invalid_request",
						   "the token endpoint takes Basic authorization or form credentials");
	else
	{
		id = form_get(&f, "client_id");
		secret = form_get(&f, "client_secret");
		if (id == NULL || secret == NULL)
			return token_error(req, 400, "invalid_request",
							   "client_id and client_secret are required");
	}

	if (req->cfg->vtn_token_key_file == NULL)
		return http_error(req, 501, "this VTN does not issue tokens "
						  "(vtn.token_key_file is not set)");

	if (!client_id_ok(id))
	{
		(void) vtn_secret_matches(secret, "hmac-sha256$AAAAAAAAAAAAAAAAAAAAAA$"
								  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
		return token_error(req, 401, "invalid_client", "unknown client or wrong secret");
	}
	{
		const char *p[1] = {id};

		r = db_exec(req->db, req->arena,
					"SELECT role, COALESCE(tenant_id, 0), secret_hash, scopes,"
					"       revoked_at IS NOT NULL"
					"  FROM vtn_clients WHERE client_id = $1", 1, p, state, &err);
	}
	if (r == NULL)
		return http_db_error(req, state, &err);
	matched = PQntuples(r) == 1 && vtn_secret_matches(secret, PQgetvalue(r, 0, 2));
	if (PQntuples(r) != 1)
		(void) vtn_secret_matches(secret, "hmac-sha256$AAAAAAAAAAAAAAAAAAAAAA$"
								  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	if (!matched || strcmp(PQgetvalue(r, 0, 4), "t") == 0)
	{
		log_msg(LOG_NOTICE, "vtn: token refused for client \"%s\"", id);
		return token_error(req, 401, "invalid_client", "unknown client or wrong secret");
	}
	role = strcmp(PQgetvalue(r, 0, 0), "bl") == 0 ? HTTP_ROLE_BL : HTTP_ROLE_VEN;
	granted = scopes_from_pgarray(PQgetvalue(r, 0, 3));

	scope = form_get(&f, "scope");
	if (scope != NULL && scope[strspn(scope, " ")] != '\0')
	{
		if (!vtn_scopes_parse(scope, &asked, bad, sizeof(bad)))
			return token_error(req, 400, "invalid_scope", "unknown scope \"%s\"", bad);
		if ((asked & ~granted) != 0)
		{
			vtn_scopes_format(asked & ~granted, scopes, sizeof(scopes));
			return token_error(req, 400, "invalid_scope",
							   "scope not granted to this client: %s", scopes);
		}
	}
	else
		asked = granted;
	vtn_scopes_format(asked, scopes, sizeof(scopes));

	if (RAND_bytes(jti, sizeof(jti)) != 1)
		return http_error(req, 500, "no randomness");
	for (size_t i = 0; i < sizeof(jti); i++)
		snprintf(jti_hex + 2 * i, 3, "%02x", jti[i]);
	claims = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s}",
					   "iss", req->cfg->vtn_token_issuer,
					   "sub", id,
					   "iat", (json_int_t) now,
					   "nbf", (json_int_t) now,
					   "exp", (json_int_t) now + req->cfg->vtn_token_ttl_s,
					   "jti", jti_hex,
					   "scope", scopes,
					   "role", role == HTTP_ROLE_BL ? "bl" : "ven");
	if (claims && strcmp(PQgetvalue(r, 0, 1), "0") != 0)
		json_object_set_new(claims, "tenant",
							json_integer(strtoll(PQgetvalue(r, 0, 1), NULL, 10)));
	pthread_mutex_lock(&auth_lock);
	keys = keys_for(req->cfg);
	token = claims && keys->own ? jwt_sign(keys->own, claims, &err) : NULL;
	pthread_mutex_unlock(&auth_lock);
	json_decref(claims);
	if (token == NULL)
		return http_error(req, 503, "cannot sign the token: the signing key is not usable");
	log_msg(LOG_INFO, "vtn: token issued to client \"%s\" (%s)", id, scopes);

	http_add_header(req, "Cache-Control", "no-store");
	http_add_header(req, "Pragma", "no-cache");
	{
		json_t	   *j = json_pack("{s:s, s:s, s:i, s:s}",
								  "access_token", token,
								  "token_type", "Bearer",
								  "expires_in", req->cfg->vtn_token_ttl_s,
								  "scope", scopes);

		free(token);
		return reply_json(req, 200, j);
	}
}

/* Is h a plausible Host header (name or [v6] literal, optional port)? */
static bool
host_ok(const char *h)
{
	size_t		n = strlen(h);

	if (n == 0 || n > 255)
		return false;
	for (; *h; h++)
		if (!isalnum((unsigned char) *h) && strchr(".-:[]", *h) == NULL)
			return false;
	return true;
}

int
vtn_auth_server_get(http_request *req)
{
	const char *base = req->cfg->vtn_public_url;
	const char *host = http_header(req, "Host");
	char	   *url;

	if (base != NULL && base[0] != '\0')
		url = arena_printf(req->arena, "%s%sauth/token", base,
						   base[strlen(base) - 1] == '/' ? "" : "/");
	else if (host != NULL && host_ok(host))
		url = arena_printf(req->arena, "https://%s/auth/token", host);
	else
		url = arena_printf(req->arena, "https://%s:%d/auth/token",
						   req->cfg->vtn.address, req->cfg->vtn.port);
	if (url == NULL)
		return http_error(req, 500, "out of memory");
	return reply_json(req, 200, json_pack("{s:s}", "tokenURL", url));
}

/* ---------------------------------------------------------------- */
/* bearer tokens                                                     */
/* ---------------------------------------------------------------- */

/* Judge the claims of a token whose signature verified. */
static bool
claims_ok(json_t *claims, const char *issuer, time_t now, const char **why)
{
	json_t	   *exp = json_object_get(claims, "exp");
	json_t	   *nbf = json_object_get(claims, "nbf");
	const char *iss = json_string_value(json_object_get(claims, "iss"));
	json_t	   *sub = json_object_get(claims, "sub");
	json_t	   *scope = json_object_get(claims, "scope");

	if (iss == NULL || strcmp(iss, issuer) != 0)
		*why = "token issuer is not trusted";
	else if (!json_is_integer(exp) && !json_is_real(exp))
		*why = "token has no expiry";
	else if (json_number_value(exp) + CLOCK_LEEWAY_S <= (double) now)
		*why = "token expired";
	else if (nbf != NULL && (!json_is_number(nbf) ||
							 json_number_value(nbf) > (double) now + CLOCK_LEEWAY_S))
		*why = "token not yet valid";
	else if (!json_is_string(sub) || !client_id_ok(json_string_value(sub)))
		*why = "token subject is not a client id";
	else if (scope != NULL && !json_is_string(scope))
		*why = "token scope is not a string";
	else
		return true;
	return false;
}

int
vtn_auth_bearer(http_request *req, const char *token, const char **why)
{
	unsigned char digest[32];
	unsigned int dlen = 0;
	cache_entry *ce = NULL;
	time_t		now = time(NULL);
	auth_keys  *keys;
	json_t	   *claims = NULL;
	const char *issuer = NULL;
	derms_err	err;
	PGresult   *r;
	char		state[6];
	unsigned	asked = 0;
	unsigned	granted;
	double		exp;
	int			cache_s = req->cfg->sep2_identity_cache_s;

	if (token[0] == '\0')
	{
		*why = "empty bearer token";
		return 401;
	}
	EVP_Digest(token, strlen(token), digest, &dlen, EVP_sha256(), NULL);

	pthread_mutex_lock(&auth_lock);
	keys = keys_for(req->cfg);
	if (token_cache)
	{
		ce = &token_cache[(((unsigned) digest[0] << 8) | digest[1]) % CACHE_SLOTS];
		if (ce->until > now && memcmp(ce->digest, digest, 32) == 0)
		{
			req->who.role = ce->role;
			req->who.tenant_id = ce->tenant_id;
			req->who.scopes = ce->scopes;
			memcpy(req->who.client_id, ce->client_id, sizeof(ce->client_id));
			pthread_mutex_unlock(&auth_lock);
			return 0;
		}
	}
	if (keys->own)
	{
		claims = jwt_verify(token, &keys->own, 1, &err);
		issuer = req->cfg->vtn_token_issuer;
	}
	if (claims == NULL && keys->next > 0)
	{
		claims = jwt_verify(token, keys->ext, keys->next, &err);
		issuer = req->cfg->vtn_jwks_issuer;
	}
	if (claims == NULL)
		*why = keys->own == NULL && keys->next == 0
			? "this VTN has no token keys configured"
			: "bearer token is not valid";
	pthread_mutex_unlock(&auth_lock);
	if (claims == NULL)
		return 401;
	if (!claims_ok(claims, issuer, now, why))
	{
		json_decref(claims);
		return 401;
	}
	exp = json_number_value(json_object_get(claims, "exp"));
	snprintf(req->who.client_id, sizeof(req->who.client_id), "%s",
			 json_string_value(json_object_get(claims, "sub")));
	if (json_object_get(claims, "scope") &&
		!vtn_scopes_parse(json_string_value(json_object_get(claims, "scope")),
						  &asked, NULL, 0))
		asked = 0;				/* unknown names grant nothing */
	json_decref(claims);

	{
		const char *p[1] = {req->who.client_id};

		r = db_exec(req->db, req->arena,
					"SELECT role, COALESCE(tenant_id, 0), scopes,"
					"       revoked_at IS NOT NULL"
					"  FROM vtn_clients WHERE client_id = $1", 1, p, state, &err);
	}
	if (r == NULL)
	{
		*why = "client lookup failed: database unavailable";
		return 503;
	}
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 3), "t") == 0)
	{
		*why = PQntuples(r) == 1 ? "client revoked" : "unknown client";
		return 401;
	}
	req->who.role = strcmp(PQgetvalue(r, 0, 0), "bl") == 0 ? HTTP_ROLE_BL : HTTP_ROLE_VEN;
	req->who.tenant_id = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	granted = scopes_from_pgarray(PQgetvalue(r, 0, 2));
	req->who.scopes = asked & granted;

	if (cache_s > 0)
	{
		pthread_mutex_lock(&auth_lock);
		if (token_cache)
		{
			ce = &token_cache[(((unsigned) digest[0] << 8) | digest[1]) % CACHE_SLOTS];
			memcpy(ce->digest, digest, 32);
			ce->until = now + cache_s < (time_t) exp ? now + cache_s : (time_t) exp;
			ce->role = req->who.role;
			ce->tenant_id = req->who.tenant_id;
			ce->scopes = req->who.scopes;
			memcpy(ce->client_id, req->who.client_id, sizeof(ce->client_id));
		}
		pthread_mutex_unlock(&auth_lock);
	}
	return 0;
}
