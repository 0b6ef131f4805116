/*
 * protocols/openadr/jwt.h
 *	  JSON Web Tokens signed with ES256 (ECDSA P-256, SHA-256), and the
 *	  base64url coding they use.
 *
 * NOTES
 *	  Only ES256 exists here: a token whose header names any other "alg"
 *	  (including "none" and the HMAC family) is refused before any key is
 *	  touched, so a public key can never be used as an HMAC secret.  The
 *	  signature is the 64-byte r||s of RFC 7518 section 3.4, converted to
 *	  and from OpenSSL's DER form here.  Keys carry a "kid": the RFC 7638
 *	  thumbprint of their public JWK.  Claims are not judged here (expiry,
 *	  issuer, scope): that is the caller's policy (auth.c).
 */
#ifndef DERMS_OADR_JWT_H
#define DERMS_OADR_JWT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "server/err.h"

#define JWT_KID_MAX 64

typedef struct jwt_key jwt_key;

/* A P-256 private key from a PEM file (signs and verifies). */
jwt_key    *jwt_key_load_private(const char *path, derms_err *err);

/* A P-256 public key from one JWK object ({"kty":"EC","crv":"P-256",...}). */
jwt_key    *jwt_key_from_jwk(json_t *jwk, derms_err *err);

/*
 * Every usable key of a JWKS file ({"keys":[...]}): EC P-256 keys whose
 * "use" is absent or "sig" and whose "alg" is absent or "ES256".  Others
 * are skipped.  Fills keys[] (up to max) and returns the count, or -1.
 */
int			jwt_keys_load_jwks(const char *path, jwt_key **keys, size_t max,
							   derms_err *err);

void		jwt_key_free(jwt_key *k);

/* The key's "kid" (RFC 7638 thumbprint, base64url). */
const char *jwt_key_kid(const jwt_key *k);

/* The public JWK of k, with its kid, "use":"sig" and "alg":"ES256". */
json_t	   *jwt_key_public_jwk(const jwt_key *k);

/*
 * Sign claims (a JSON object) with a private key: the compact form
 * header.payload.signature, malloc'd.  The header is
 * {"alg":"ES256","typ":"JWT","kid":...}.
 */
char	   *jwt_sign(const jwt_key *k, json_t *claims, derms_err *err);

/*
 * Check a compact token's form and ES256 signature against keys (the one
 * whose kid the header names; every key when it names none).  Returns the
 * claims (a new reference, a JSON object) or NULL with err set.  Tokens
 * longer than JWT_TOKEN_MAX are refused unread.
 */
#define JWT_TOKEN_MAX 4096
json_t	   *jwt_verify(const char *token, jwt_key *const *keys, size_t nkeys,
					   derms_err *err);

/* base64url without padding.  encode writes a NUL-terminated string of at
 * most JWT_B64_LEN(n) + 1 bytes; decode refuses padding and bad characters
 * and returns the length, or -1. */
#define JWT_B64_LEN(n) ((((n) + 2) / 3) * 4)
size_t		jwt_b64url_encode(const unsigned char *in, size_t n, char *out);
long		jwt_b64url_decode(const char *in, size_t n, unsigned char *out,
							  size_t outmax);

#endif							/* DERMS_OADR_JWT_H */
