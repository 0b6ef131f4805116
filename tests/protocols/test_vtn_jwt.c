/*
 * tests/protocols/test_vtn_jwt.c
 *	  ES256 tokens and base64url (protocols/openadr/jwt.c), and the
 *	  client-secret and scope helpers of auth.c.
 *
 * NOTES
 *	  A token signed by the openssl command line (DER signature turned
 *	  into r||s here, by hand) must verify, so verification is not only
 *	  checked against our own signer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "protocols/openadr/auth.h"
#include "protocols/openadr/jwt.h"
#include "tests/integration/harness.h"
#include "tests/suites.h"

START_TEST(test_b64url)
{
	/* RFC 4648 section 10 vectors, in the URL alphabet without padding */
	static const struct
	{
		const char *in;
		const char *out;
	}			v[] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"},
	};
	char		buf[64];
	unsigned char raw[64];
	static const unsigned char hi[] = {0xfb, 0xff, 0xfe};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
	{
		jwt_b64url_encode((const unsigned char *) v[i].in, strlen(v[i].in), buf);
		ck_assert_str_eq(buf, v[i].out);
		ck_assert_int_eq(jwt_b64url_decode(v[i].out, strlen(v[i].out), raw, sizeof(raw)),
						 (long) strlen(v[i].in));
		ck_assert(memcmp(raw, v[i].in, strlen(v[i].in)) == 0);
	}
	jwt_b64url_encode(hi, 3, buf);
	ck_assert_str_eq(buf, "-__-");
	/* refused: padding, the standard alphabet, one dangling character,
	 * non-zero unused bits, too little room */
	ck_assert_int_eq(jwt_b64url_decode("Zg==", 4, raw, sizeof(raw)), -1);
	ck_assert_int_eq(jwt_b64url_decode("+/8", 3, raw, sizeof(raw)), -1);
	ck_assert_int_eq(jwt_b64url_decode("Zm9vY", 5, raw, sizeof(raw)), -1);
	ck_assert_int_eq(jwt_b64url_decode("Zh", 2, raw, sizeof(raw)), -1);
	ck_assert_int_eq(jwt_b64url_decode("Zm9vYmFy", 8, raw, 5), -1);
}
END_TEST

static char *
tmpfile_path(const char *dir, const char *name)
{
	char	   *p = malloc(strlen(dir) + strlen(name) + 2);

	sprintf(p, "%s/%s", dir, name);
	return p;
}

/* r||s from a DER ECDSA signature, parsed by hand. */
static bool
der_to_raw(const unsigned char *d, size_t n, unsigned char raw[64])
{
	size_t		i = 2;

	if (n < 8 || d[0] != 0x30 || d[1] != n - 2)
		return false;
	for (int k = 0; k < 2; k++)
	{
		size_t		len;

		if (d[i] != 0x02)
			return false;
		len = d[i + 1];
		i += 2;
		while (len > 32 && d[i] == 0)
		{
			i++;
			len--;
		}
		if (len > 32)
			return false;
		memset(raw + 32 * k, 0, 32 - len);
		memcpy(raw + 32 * k + 32 - len, d + i, len);
		i += len;
	}
	return i == n;
}

START_TEST(test_sign_verify)
{
	char	   *dir = test_mkdtemp("jwt");
	char	   *key = tmpfile_path(dir, "k.pem");
	char	   *key2 = tmpfile_path(dir, "k2.pem");
	derms_err	err;
	jwt_key    *k;
	jwt_key    *k2;
	jwt_key    *pub;
	json_t	   *claims;
	json_t	   *got;
	json_t	   *jwk;
	char	   *tok;

	ck_assert_int_eq(it_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' 2>/dev/null", key), 0);
	ck_assert_int_eq(it_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' 2>/dev/null", key2), 0);
	k = jwt_key_load_private(key, &err);
	ck_assert_msg(k != NULL, "%s", err.msg);
	k2 = jwt_key_load_private(key2, &err);
	ck_assert_ptr_nonnull(k2);
	ck_assert_int_eq(strlen(jwt_key_kid(k)), 43);
	ck_assert_str_ne(jwt_key_kid(k), jwt_key_kid(k2));

	claims = json_pack("{s:s, s:i}", "sub", "ven_1", "exp", 2000000000);
	tok = jwt_sign(k, claims, &err);
	ck_assert_ptr_nonnull(tok);
	got = jwt_verify(tok, &k, 1, &err);
	ck_assert_ptr_nonnull(got);
	ck_assert(json_equal(got, claims));
	json_decref(got);
	/* the other key does not verify it; nor does a list without ours */
	ck_assert_ptr_null(jwt_verify(tok, &k2, 1, &err));
	/* the public JWK verifies it (the kid survives the round trip) */
	jwk = jwt_key_public_jwk(k);
	ck_assert_ptr_null(json_object_get(jwk, "d"));
	pub = jwt_key_from_jwk(jwk, &err);
	ck_assert_msg(pub != NULL, "%s", err.msg);
	ck_assert_str_eq(jwt_key_kid(pub), jwt_key_kid(k));
	got = jwt_verify(tok, &pub, 1, &err);
	ck_assert_ptr_nonnull(got);
	json_decref(got);
	ck_assert_ptr_null(jwt_sign(pub, claims, &err));	/* public only */
	/* a point not on the curve is refused */
	json_object_set_new(jwk, "y", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
	ck_assert_ptr_null(jwt_key_from_jwk(jwk, &err));
	json_decref(jwk);

	/* malformed tokens */
	{
		static const char *const bad[] = {
			"", "a", "a.b", "a.b.c.d", "..", "eyJhbGciOiJFUzI1NiJ9..",
			/* {"alg":"HS256"} */
			"eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
			/* {"alg":"none"} */
			"eyJhbGciOiJub25lIn0.e30.",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(jwt_verify(bad[i], &k, 1, &err) == NULL, "accepted \"%s\"", bad[i]);
	}
	/* every single-character change of the token is refused */
	for (size_t i = 0; i < strlen(tok); i++)
	{
		char	   *c = strdup(tok);

		if (c[i] == '.')
		{
			free(c);
			continue;
		}
		c[i] = c[i] == 'A' ? 'B' : 'A';
		got = jwt_verify(c, &k, 1, &err);
		/* a change in the last character may only touch unused bits,
		 * which strict decoding refuses anyway */
		ck_assert_msg(got == NULL, "accepted a token changed at %zu", i);
		free(c);
	}
	free(tok);

	/* a token whose signature was made by the openssl command line */
	{
		char		header[128];
		char		hb[256];
		char		pb[256];
		char		input[600];
		char	   *in_path = tmpfile_path(dir, "in.txt");
		char	   *sig_path = tmpfile_path(dir, "sig.der");
		unsigned char der[128];
		unsigned char raw[64];
		char		sb[128];
		char		token[1024];
		size_t		n;
		FILE	   *f;
		const char *payload = "{\"sub\":\"bl_cli\",\"exp\":2000000000}";

		snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"kid\":\"%s\"}", jwt_key_kid(k));
		jwt_b64url_encode((const unsigned char *) header, strlen(header), hb);
		jwt_b64url_encode((const unsigned char *) payload, strlen(payload), pb);
		snprintf(input, sizeof(input), "%s.%s", hb, pb);
		f = fopen(in_path, "wb");
		fputs(input, f);
		fclose(f);
		ck_assert_int_eq(it_run("openssl dgst -sha256 -sign '%s' -out '%s' '%s'",
								key, sig_path, in_path), 0);
		f = fopen(sig_path, "rb");
		n = fread(der, 1, sizeof(der), f);
		fclose(f);
		ck_assert(der_to_raw(der, n, raw));
		jwt_b64url_encode(raw, 64, sb);
		snprintf(token, sizeof(token), "%s.%s", input, sb);
		got = jwt_verify(token, &k, 1, &err);
		ck_assert_msg(got != NULL, "%s", err.msg);
		ck_assert_str_eq(json_string_value(json_object_get(got, "sub")), "bl_cli");
		json_decref(got);
		/* with a kid naming another key, it is refused */
		ck_assert_ptr_null(jwt_verify(token, &k2, 1, &err));
		free(in_path);
		free(sig_path);
	}
	json_decref(claims);
	jwt_key_free(k);
	jwt_key_free(k2);
	jwt_key_free(pub);
	free(key);
	free(key2);
	free(dir);
}
END_TEST

START_TEST(test_secrets_and_scopes)
{
	char		id[64];
	char		secret[VTN_SECRET_LEN + 1];
	char		hash[VTN_SECRET_HASH_MAX];
	char		id2[64];
	char		secret2[VTN_SECRET_LEN + 1];
	char		hash2[VTN_SECRET_HASH_MAX];
	char		buf[256];
	char		bad[64];
	unsigned	s;

	ck_assert_int_eq(vtn_client_credentials("ven", id, secret, hash, NULL), DERMS_OK);
	ck_assert_int_eq(vtn_client_credentials("ven", id2, secret2, hash2, NULL), DERMS_OK);
	ck_assert_int_eq(strncmp(id, "ven_", 4), 0);
	ck_assert_int_eq(strlen(id), 24);
	ck_assert_int_eq(strlen(secret), VTN_SECRET_LEN);
	ck_assert_str_ne(id, id2);
	ck_assert_str_ne(secret, secret2);
	ck_assert_ptr_null(strstr(hash, secret));
	ck_assert(vtn_secret_matches(secret, hash));
	ck_assert(!vtn_secret_matches(secret2, hash));
	ck_assert(!vtn_secret_matches(secret, hash2));
	ck_assert(!vtn_secret_matches("", hash));
	ck_assert(!vtn_secret_matches(secret, "plain"));
	ck_assert(!vtn_secret_matches(secret, "hmac-sha256$$"));

	ck_assert(vtn_scopes_parse("read_all  write_vens", &s, NULL, 0));
	ck_assert_uint_eq(s, HTTP_SCOPE_READ_ALL | HTTP_SCOPE_WRITE_VENS);
	ck_assert(!vtn_scopes_parse("read_all admin", &s, bad, sizeof(bad)));
	ck_assert_str_eq(bad, "admin");
	ck_assert(!vtn_scopes_parse("read_al", &s, bad, sizeof(bad)));
	vtn_scopes_format(vtn_role_scopes(HTTP_ROLE_VEN), buf, sizeof(buf));
	ck_assert_str_eq(buf, "read_targets read_ven_objects write_reports write_subscriptions write_vens");
	vtn_scopes_pgarray(HTTP_SCOPE_READ_ALL | HTTP_SCOPE_WRITE_EVENTS, buf, sizeof(buf));
	ck_assert_str_eq(buf, "{read_all,write_events}");
	ck_assert_uint_eq(vtn_role_scopes(HTTP_ROLE_BL) & HTTP_SCOPE_WRITE_REPORTS, 0);
	ck_assert_uint_eq(vtn_role_scopes(HTTP_ROLE_VEN) & HTTP_SCOPE_WRITE_PROGRAMS, 0);
}
END_TEST

Suite *
vtn_jwt_suite(void)
{
	Suite	   *s = suite_create("vtn_jwt");
	TCase	   *tc = tcase_create("vtn_jwt");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_b64url);
	tcase_add_test(tc, test_sign_verify);
	tcase_add_test(tc, test_secrets_and_scopes);
	suite_add_tcase(s, tc);
	return s;
}
