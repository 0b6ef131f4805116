/*
 * protocols/openadr/jwt.c
 *	  ES256 JSON Web Tokens with OpenSSL.
 *
 * NOTES
 *	  See jwt.h.  OpenSSL signs ECDSA into DER (SEQUENCE of two INTEGERs);
 *	  JWS wants the two 32-byte big-endian numbers side by side, so
 *	  sign_raw() and verify_raw() convert.  Decoding is strict: base64url
 *	  without padding, no trailing bits, JSON without duplicate keys, so
 *	  one token has one meaning.
 */
#include "jwt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "server/ossl.h"

#define P256_LEN 32
#define SIG_LEN (2 * P256_LEN)
#define HEADER_MAX 1024

struct jwt_key
{
	EVP_PKEY   *pkey;
	bool		has_private;
	unsigned char x[P256_LEN];
	unsigned char y[P256_LEN];
	char		kid[JWT_KID_MAX];
};

static const char b64url_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---------------------------------------------------------------- */
/* base64url                                                         */
/* ---------------------------------------------------------------- */

size_t
jwt_b64url_encode(const unsigned char *in, size_t n, char *out)
{
	size_t		o = 0;
	size_t		i;

	for (i = 0; i + 3 <= n; i += 3)
	{
		unsigned long v = ((unsigned long) in[i] << 16) |
			((unsigned long) in[i + 1] << 8) | in[i + 2];

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
		out[o++] = b64url_alphabet[v & 63];
	}
	if (n - i == 1)
	{
		unsigned long v = (unsigned long) in[i] << 16;

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
	}
	else if (n - i == 2)
	{
		unsigned long v = ((unsigned long) in[i] << 16) |
			((unsigned long) in[i + 1] << 8);

		out[o++] = b64url_alphabet[(v >> 18) & 63];
		out[o++] = b64url_alphabet[(v >> 12) & 63];
		out[o++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
jwt_b64url_decode(const char *in, size_t n, unsigned char *out, size_t outmax)
{
	size_t		o = 0;
	unsigned long acc = 0;
	int			bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		int			v = b64url_value((unsigned char) in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long) v;
		bits += 6;
		if (bits >= 8)
		{
			bits -= 8;
			if (o >= outmax)
				return -1;
			out[o++] = (unsigned char) ((acc >> bits) & 0xff);
		}
	}
	/* the unused low bits of the last character must be zero */
	if (bits > 0 && (acc & ((1ul << bits) - 1)) != 0)
		return -1;
	return (long) o;
}

/* ---------------------------------------------------------------- */
/* keys                                                              */
/* ---------------------------------------------------------------- */

/* RFC 7638: SHA-256 of the required members in lexical order. */
static void
key_set_kid(jwt_key *k)
{
	char		xb[JWT_B64_LEN(P256_LEN) + 1];
	char		yb[JWT_B64_LEN(P256_LEN) + 1];
	char		canon[256];
	unsigned char md[32];
	unsigned int mdlen = 0;
	int			n;

	jwt_b64url_encode(k->x, P256_LEN, xb);
	jwt_b64url_encode(k->y, P256_LEN, yb);
	n = snprintf(canon, sizeof(canon),
				 "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
				 xb, yb);
	EVP_Digest(canon, (size_t) n, md, &mdlen, EVP_sha256(), NULL);
	jwt_b64url_encode(md, mdlen, k->kid);
}

/* Is pkey an EC key on P-256?  Then fill k's coordinates and kid. */
static bool
key_adopt(jwt_key *k, EVP_PKEY *pkey, derms_err *err)
{
	char		group[64];
	BIGNUM	   *x = NULL;
	BIGNUM	   *y = NULL;
	bool		ok;

	if (!EVP_PKEY_is_a(pkey, "EC") ||
		!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
										group, sizeof(group), NULL) ||
		strcmp(group, "prime256v1") != 0)
	{
		derms_err_set(err, DERMS_EINVAL, "token key is not an EC P-256 key");
		return false;
	}
	ok = EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &x) &&
		EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &y) &&
		BN_bn2binpad(x, k->x, P256_LEN) == P256_LEN &&
		BN_bn2binpad(y, k->y, P256_LEN) == P256_LEN;
	BN_free(x);
	BN_free(y);
	if (!ok)
	{
		derms_err_set(err, DERMS_ETLS, "cannot read the token key's public point");
		ossl_err_detail(err);
		return false;
	}
	k->pkey = pkey;
	key_set_kid(k);
	return true;
}

jwt_key *
jwt_key_load_private(const char *path, derms_err *err)
{
	BIO		   *bio;
	EVP_PKEY   *pkey;
	jwt_key    *k;

	bio = BIO_new_file(path, "r");
	if (bio == NULL)
	{
		derms_err_set(err, DERMS_EIO, "cannot open token key \"%s\"", path);
		ossl_err_detail(err);
		return NULL;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, ossl_no_passphrase, NULL);
	BIO_free(bio);
	if (pkey == NULL)
	{
		derms_err_set(err, DERMS_EPARSE, "\"%s\" holds no PEM private key", path);
		ossl_err_detail(err);
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (k == NULL)
	{
		EVP_PKEY_free(pkey);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	if (!key_adopt(k, pkey, err))
	{
		derms_err_detail(err, "in \"%s\"", path);
		EVP_PKEY_free(pkey);
		free(k);
		return NULL;
	}
	k->has_private = true;
	return k;
}

static bool
jwk_coord(json_t *jwk, const char *name, unsigned char *out, derms_err *err)
{
	const char *s = json_string_value(json_object_get(jwk, name));

	if (s == NULL ||
		jwt_b64url_decode(s, strlen(s), out, P256_LEN) != P256_LEN)
	{
		derms_err_set(err, DERMS_EPARSE,
					  "JWK \"%s\" is not a 32-byte base64url coordinate", name);
		return false;
	}
	return true;
}

jwt_key *
jwt_key_from_jwk(json_t *jwk, derms_err *err)
{
	unsigned char point[1 + SIG_LEN];
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY   *pkey = NULL;
	jwt_key    *k = NULL;
	const char *kty = json_string_value(json_object_get(jwk, "kty"));
	const char *crv = json_string_value(json_object_get(jwk, "crv"));

	if (!json_is_object(jwk) || kty == NULL || strcmp(kty, "EC") != 0 ||
		crv == NULL || strcmp(crv, "P-256") != 0)
	{
		derms_err_set(err, DERMS_EINVAL, "JWK is not an EC P-256 key");
		return NULL;
	}
	point[0] = 0x04;
	if (!jwk_coord(jwk, "x", point + 1, err) ||
		!jwk_coord(jwk, "y", point + 1 + P256_LEN, err))
		return NULL;

	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL ||
		!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
										 "prime256v1", 0) ||
		!OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
										  point, sizeof(point)) ||
		(params = OSSL_PARAM_BLD_to_param(bld)) == NULL ||
		(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
		EVP_PKEY_fromdata_init(ctx) <= 0 ||
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0 ||
		(check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
		EVP_PKEY_public_check(check) <= 0)
	{
		derms_err_set(err, DERMS_EINVAL, "JWK is not a valid P-256 public key");
		ossl_err_detail(err);
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	if (pkey == NULL)
		return NULL;

	k = calloc(1, sizeof(*k));
	if (k == NULL)
	{
		EVP_PKEY_free(pkey);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	if (!key_adopt(k, pkey, err))
	{
		EVP_PKEY_free(pkey);
		free(k);
		return NULL;
	}
	/* a kid given by the issuer is the one its tokens name */
	{
		const char *kid = json_string_value(json_object_get(jwk, "kid"));

		if (kid != NULL && kid[0] != '\0' && strlen(kid) < JWT_KID_MAX)
			strcpy(k->kid, kid);
	}
	return k;
}

int
jwt_keys_load_jwks(const char *path, jwt_key **keys, size_t max, derms_err *err)
{
	json_error_t jerr;
	json_t	   *root;
	json_t	   *arr;
	json_t	   *jwk;
	size_t		i;
	size_t		n = 0;

	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		derms_err_set(err, DERMS_EPARSE, "JWKS \"%s\": %s (line %d)",
					  path, jerr.text, jerr.line);
		return -1;
	}
	arr = json_object_get(root, "keys");
	if (!json_is_array(arr))
	{
		json_decref(root);
		derms_err_set(err, DERMS_EPARSE, "JWKS \"%s\" has no \"keys\" array", path);
		return -1;
	}
	json_array_foreach(arr, i, jwk)
	{
		const char *use = json_string_value(json_object_get(jwk, "use"));
		const char *alg = json_string_value(json_object_get(jwk, "alg"));
		jwt_key    *k;

		if ((use != NULL && strcmp(use, "sig") != 0) ||
			(alg != NULL && strcmp(alg, "ES256") != 0))
			continue;
		k = jwt_key_from_jwk(jwk, NULL);
		if (k == NULL)
			continue;
		if (n == max)
		{
			jwt_key_free(k);
			break;
		}
		keys[n++] = k;
	}
	json_decref(root);
	if (n == 0)
	{
		derms_err_set(err, DERMS_EINVAL, "JWKS \"%s\" has no EC P-256 signing key", path);
		return -1;
	}
	return (int) n;
}

void
jwt_key_free(jwt_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

const char *
jwt_key_kid(const jwt_key *k)
{
	return k->kid;
}

json_t *
jwt_key_public_jwk(const jwt_key *k)
{
	char		xb[JWT_B64_LEN(P256_LEN) + 1];
	char		yb[JWT_B64_LEN(P256_LEN) + 1];

	jwt_b64url_encode(k->x, P256_LEN, xb);
	jwt_b64url_encode(k->y, P256_LEN, yb);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
					 "kty", "EC", "crv", "P-256", "x", xb, "y", yb,
					 "kid", k->kid, "use", "sig", "alg", "ES256");
}

/* ---------------------------------------------------------------- */
/* signatures                                                        */
/* ---------------------------------------------------------------- */

static bool
sign_raw(const jwt_key *k, const char *msg, size_t len,
		 unsigned char raw[SIG_LEN], derms_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char der[128];
	size_t		derlen = sizeof(der);
	const unsigned char *p = der;
	ECDSA_SIG  *sig = NULL;
	const BIGNUM *r;
	const BIGNUM *s;
	bool		ok;

	ok = md != NULL &&
		EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k->pkey) > 0 &&
		EVP_DigestSign(md, der, &derlen, (const unsigned char *) msg, len) > 0 &&
		(sig = d2i_ECDSA_SIG(NULL, &p, (long) derlen)) != NULL;
	if (ok)
	{
		ECDSA_SIG_get0(sig, &r, &s);
		ok = BN_bn2binpad(r, raw, P256_LEN) == P256_LEN &&
			BN_bn2binpad(s, raw + P256_LEN, P256_LEN) == P256_LEN;
	}
	ECDSA_SIG_free(sig);
	EVP_MD_CTX_free(md);
	if (!ok)
	{
		derms_err_set(err, DERMS_ETLS, "ES256 signing failed");
		ossl_err_detail(err);
	}
	return ok;
}

static bool
verify_raw(const jwt_key *k, const char *msg, size_t len,
		   const unsigned char raw[SIG_LEN])
{
	ECDSA_SIG  *sig = ECDSA_SIG_new();
	BIGNUM	   *r = BN_bin2bn(raw, P256_LEN, NULL);
	BIGNUM	   *s = BN_bin2bn(raw + P256_LEN, P256_LEN, NULL);
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int			derlen;
	bool		ok = false;

	if (sig == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s))
	{
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return false;
	}
	derlen = i2d_ECDSA_SIG(sig, &der);
	md = EVP_MD_CTX_new();
	if (derlen > 0 && md != NULL &&
		EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, k->pkey) > 0)
		ok = EVP_DigestVerify(md, der, (size_t) derlen,
							  (const unsigned char *) msg, len) == 1;
	EVP_MD_CTX_free(md);
	OPENSSL_free(der);
	ECDSA_SIG_free(sig);
	ERR_clear_error();
	return ok;
}

char *
jwt_sign(const jwt_key *k, json_t *claims, derms_err *err)
{
	char		header[160];
	char	   *payload;
	size_t		plen;
	size_t		hlen;
	char	   *out;
	size_t		o;
	unsigned char raw[SIG_LEN];

	if (!k->has_private)
	{
		derms_err_set(err, DERMS_EINVAL, "token key has no private part");
		return NULL;
	}
	snprintf(header, sizeof(header),
			 "{\"alg\":\"ES256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", k->kid);
	payload = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS);
	if (payload == NULL)
	{
		derms_err_set(err, DERMS_EINVAL, "token claims are not serializable");
		return NULL;
	}
	hlen = strlen(header);
	plen = strlen(payload);
	out = malloc(JWT_B64_LEN(hlen) + JWT_B64_LEN(plen) + JWT_B64_LEN(SIG_LEN) + 3);
	if (out == NULL)
	{
		free(payload);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	o = jwt_b64url_encode((const unsigned char *) header, hlen, out);
	out[o++] = '.';
	o += jwt_b64url_encode((const unsigned char *) payload, plen, out + o);
	free(payload);
	if (!sign_raw(k, out, o, raw, err))
	{
		free(out);
		return NULL;
	}
	out[o++] = '.';
	jwt_b64url_encode(raw, SIG_LEN, out + o);
	return out;
}

/* Decode one base64url JSON object segment. */
static json_t *
segment_json(const char *seg, size_t len, size_t max, const char *what,
			 derms_err *err)
{
	unsigned char *buf;
	long		n;
	json_t	   *j;
	json_error_t jerr;

	if (len == 0 || len > JWT_B64_LEN(max))
	{
		derms_err_set(err, DERMS_EPARSE, "token %s has a bad length", what);
		return NULL;
	}
	buf = malloc(len);
	if (buf == NULL)
	{
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		return NULL;
	}
	n = jwt_b64url_decode(seg, len, buf, len);
	if (n <= 0)
	{
		free(buf);
		derms_err_set(err, DERMS_EPARSE, "token %s is not base64url", what);
		return NULL;
	}
	j = json_loadb((const char *) buf, (size_t) n,
				   JSON_REJECT_DUPLICATES, &jerr);
	free(buf);
	if (!json_is_object(j))
	{
		json_decref(j);
		derms_err_set(err, DERMS_EPARSE, "token %s is not a JSON object", what);
		return NULL;
	}
	return j;
}

json_t *
jwt_verify(const char *token, jwt_key *const *keys, size_t nkeys, derms_err *err)
{
	size_t		len = strnlen(token, JWT_TOKEN_MAX + 1);
	const char *dot1;
	const char *dot2;
	json_t	   *header;
	const char *alg;
	const char *kid;
	const char *typ;
	unsigned char raw[SIG_LEN + 1];
	bool		good = false;
	size_t		signed_len;

	if (len > JWT_TOKEN_MAX)
	{
		derms_err_set(err, DERMS_EPARSE, "token longer than %d bytes", JWT_TOKEN_MAX);
		return NULL;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t) (dot1 + 1 - token)) : NULL;
	if (dot1 == NULL || dot2 == NULL ||
		memchr(dot2 + 1, '.', len - (size_t) (dot2 + 1 - token)) != NULL)
	{
		derms_err_set(err, DERMS_EPARSE, "token is not header.payload.signature");
		return NULL;
	}

	header = segment_json(token, (size_t) (dot1 - token), HEADER_MAX, "header", err);
	if (header == NULL)
		return NULL;
	alg = json_string_value(json_object_get(header, "alg"));
	kid = json_string_value(json_object_get(header, "kid"));
	typ = json_string_value(json_object_get(header, "typ"));
	if (alg == NULL || strcmp(alg, "ES256") != 0)
	{
		derms_err_set(err, DERMS_EPERM, "token algorithm \"%s\" is not ES256",
					  alg ? alg : "");
		json_decref(header);
		return NULL;
	}
	if (json_object_get(header, "crit") != NULL ||
		(json_object_get(header, "kid") != NULL && kid == NULL) ||
		(json_object_get(header, "typ") != NULL &&
		 (typ == NULL || (strcasecmp(typ, "JWT") != 0 && strcasecmp(typ, "at+jwt") != 0))))
	{
		derms_err_set(err, DERMS_EPERM, "token header has an unsupported typ, kid or crit");
		json_decref(header);
		return NULL;
	}

	if (jwt_b64url_decode(dot2 + 1, len - (size_t) (dot2 + 1 - token),
						  raw, sizeof(raw)) != SIG_LEN)
	{
		json_decref(header);
		derms_err_set(err, DERMS_EPARSE, "token signature is not 64 bytes of base64url");
		return NULL;
	}
	signed_len = (size_t) (dot2 - token);
	for (size_t i = 0; i < nkeys && !good; i++)
	{
		if (kid != NULL && strcmp(kid, keys[i]->kid) != 0)
			continue;
		good = verify_raw(keys[i], token, signed_len, raw);
	}
	json_decref(header);
	if (!good)
	{
		derms_err_set(err, DERMS_EPERM, "token signature does not verify");
		return NULL;
	}
	return segment_json(dot1 + 1, (size_t) (dot2 - dot1 - 1), JWT_TOKEN_MAX,
						"payload", err);
}
