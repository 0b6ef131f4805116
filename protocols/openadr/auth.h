/*
 * protocols/openadr/auth.h
 *	  OAuth2 client credentials for the OpenADR VTN: clients, secrets,
 *	  the token endpoint, and bearer-token checks.
 *
 * NOTES
 *	  Clients live in vtn_clients (schema/0010_vtn_auth.sql) and are made
 *	  with `dermsctl vtn client create`.  /auth/token takes
 *	  client_secret_basic or client_secret_post (RFC 6749 section 2.3.1) and
 *	  issues an ES256 JWT signed with vtn.token_key_file.  Every request on
 *	  the VTN listener that carries "Authorization: Bearer" is checked by
 *	  vtn_auth_bearer (server/http.c calls it through http_bearer_verify):
 *	  signature (our key, or an external issuer's JWKS), issuer, expiry,
 *	  and the client row, which must exist and not be revoked; role and
 *	  tenant come from that row, and the scopes are those of the token that
 *	  the client is still granted.  Checked tokens are cached for at most
 *	  sep2.identity_cache_s seconds (a revocation takes effect within that).
 */
#ifndef DERMS_OADR_AUTH_H
#define DERMS_OADR_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "server/err.h"
#include "server/http.h"

/* 256 random bits, base64url: 43 characters */
#define VTN_SECRET_LEN 43
#define VTN_SECRET_HASH_MAX 128

/* The scopes a role is granted by default. */
unsigned	vtn_role_scopes(unsigned role);

/*
 * Parse a space-separated scope list into HTTP_SCOPE_* bits.  Returns
 * false (and the first unknown name in bad, if given) on an unknown name.
 */
bool		vtn_scopes_parse(const char *s, unsigned *out, char *bad, size_t badlen);

/* Space-separated names of the bits set, in a fixed order. */
void		vtn_scopes_format(unsigned scopes, char *buf, size_t len);

/* The scope names as a PostgreSQL text[] literal ("{read_all,...}"). */
void		vtn_scopes_pgarray(unsigned scopes, char *buf, size_t len);

/*
 * A new client: client_id "<prefix>_<20 hex>", a secret and its stored
 * hash.  id must hold 64 bytes, secret VTN_SECRET_LEN + 1, hash
 * VTN_SECRET_HASH_MAX.
 */
derms_rc	vtn_client_credentials(const char *prefix, char *id, char *secret,
								   char *hash, derms_err *err);

/* Does secret match the stored hash?  Constant time in the secret. */
bool		vtn_secret_matches(const char *secret, const char *stored);

/* Route handlers: POST /auth/token, GET /auth/server. */
int			vtn_auth_token_post(http_request *req);
int			vtn_auth_server_get(http_request *req);

/*
 * Check a bearer token and fill req->who (role BL or VEN, tenant,
 * client_id, scopes).  Returns 0, or 401 (bad token) or 503 (database
 * down) with *why set.
 */
int			vtn_auth_bearer(http_request *req, const char *token, const char **why);

/* Forget cached token checks (after a reload). */
void		vtn_auth_cache_clear(void);

#endif							/* DERMS_OADR_AUTH_H */
