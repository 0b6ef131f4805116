/*
 * tests/integration/test_vtn_auth.c
 *	  OAuth2 client credentials on the VTN listener, end to end: clients
 *	  made by dermsctl, tokens from /auth/token over TLS, bearer tokens on
 *	  the APIs, revocation, expiry, forged and foreign tokens, an external
 *	  issuer's JWKS.
 *
 * NOTES
 *	  The token's signature is also checked with the openssl command line
 *	  (the r||s signature turned into DER by hand here), so the ES256 code
 *	  is not only checked against itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "harness.h"
#include "prism.h"
#include "protocols/openadr/jwt.h"
#include "tests/suites.h"

#define FORM "application/x-www-form-urlencoded"

static it_server srv;

static bool
up_with(const char *extra)
{
	return it_up(&srv, extra, "vtn_auth");
}

static void
teardown(void)
{
	it_cleanup(&srv);
}

typedef struct client
{
	char		id[IT_VTN_CRED_MAX];
	char		secret[IT_VTN_CRED_MAX];
} client;

/* dermsctl vtn client create ARGS into c. */
static void
make_client(const char *args, client *c)
{
	it_vtn_client(&srv, args, c->id, c->secret);
}

static it_response
token_post(const char *body, const char *const *headers)
{
	return it_https_h(&srv, srv.vtn_port, "POST", "/auth/token", NULL,
					  IT_TLS_DEFAULT, FORM, body, headers);
}

/* A token for c by client_secret_post, or NULL when refused. */
static char *
get_token(const client *c, const char *scope)
{
	return it_vtn_token(&srv, c->id, c->secret, scope);
}

static long
get_with_token(const char *path, const char *token)
{
	it_response r = it_bearer(&srv, "GET", path, token, NULL, NULL);
	long		st = r.status;

	it_response_free(&r);
	return st;
}

static json_t *
body_json(const it_response *r)
{
	json_t	   *j = json_loads(r->body ? r->body : "", 0, NULL);

	ck_assert_msg(j != NULL, "not JSON: %s", r->body ? r->body : "(null)");
	return j;
}

static const char *
jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

START_TEST(test_token_endpoint)
{
	client		bl;
	client		ven;
	char		body[2048];
	char		h[1100];
	const char *hs[2] = {h, NULL};
	it_response r;
	json_t	   *j;

	if (!up_with(NULL))
		return;
	make_client("--name utility-bl --role bl", &bl);
	make_client("--name ven-a --role ven --tenant agg-a", &ven);

	/* client_secret_post */
	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=%s", bl.id, bl.secret);
	r = token_post(body, NULL);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strcasestr(r.headers, "Cache-Control: no-store"));
	j = body_json(&r);
	ck_assert_str_eq(jstr(j, "token_type"), "Bearer");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "expires_in")), 3600);
	ck_assert_str_eq(jstr(j, "scope"),
					 "read_all write_programs write_events write_subscriptions write_vens");
	ck_assert_int_gt(strlen(jstr(j, "access_token")), 100);
	json_decref(j);
	it_response_free(&r);

	/* client_secret_basic (RFC 6749 2.3.1: each part form-encoded first) */
	{
		char		raw[1200];
		char		b64[1024];
		FILE	   *p;

		snprintf(raw, sizeof(raw), "printf '%%s' '%s:%s' | base64 -w0", ven.id, ven.secret);
		p = popen(raw, "r");
		ck_assert_ptr_nonnull(fgets(b64, sizeof(b64), p));
		pclose(p);
		snprintf(h, sizeof(h), "Authorization: Basic %s", b64);
	}
	r = token_post("grant_type=client_credentials&scope=read_targets+write_reports", hs);
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	ck_assert_str_eq(jstr(j, "scope"), "read_targets write_reports");
	json_decref(j);
	it_response_free(&r);

	/* refusals, each with an RFC 6749 error code */
	{
		static const struct
		{
			const char *pre;	/* body: pre, then the id, then post */
			const char *post;
			long		status;
			const char *error;
		}			cases[] = {
			{"grant_type=client_credentials&client_id=", "&client_secret=wrong", 401, "invalid_client"},
			{"grant_type=client_credentials&client_id=x", "&client_secret=y", 401, "invalid_client"},
			{"grant_type=client_credentials&client_id=", "", 400, "invalid_request"},
			{"client_id=", "&client_secret=x", 400, "invalid_request"},
			{"grant_type=password&client_id=", "&client_secret=x", 400, "unsupported_grant_type"},
			{"grant_type=client_credentials&grant_type=client_credentials&client_id=", "", 400, "invalid_request"},
			{"grant_type=client_credentials&client_id=", "%zz&client_secret=x", 400, "invalid_request"},
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		{
			snprintf(body, sizeof(body), "%s%s%s", cases[i].pre, bl.id, cases[i].post);
			r = token_post(body, NULL);
			ck_assert_msg(r.status == cases[i].status, "case %zu: %ld %s", i,
						  r.status, r.body);
			j = body_json(&r);
			ck_assert_str_eq(jstr(j, "error"), cases[i].error);
			ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), cases[i].status);
			json_decref(j);
			if (cases[i].status == 401)
				ck_assert_ptr_nonnull(strcasestr(r.headers, "WWW-Authenticate: Basic"));
			it_response_free(&r);
		}
	}
	/* a scope the client was not granted, and one that does not exist */
	ck_assert_ptr_null(get_token(&ven, "write_programs"));
	ck_assert_ptr_null(get_token(&ven, "root"));
	/* Basic and form secret together */
	r = token_post("grant_type=client_credentials&client_secret=x", hs);
	ck_assert_int_eq(r.status, 400);
	it_response_free(&r);
	/* wrong content type: the core refuses it */
	r = it_https(&srv, srv.vtn_port, "POST", "/auth/token", NULL, IT_TLS_DEFAULT,
				 "application/json", "{}");
	ck_assert_int_eq(r.status, 415);
	it_response_free(&r);

	/* /auth/server names the token endpoint */
	r = it_https(&srv, srv.vtn_port, "GET", "/auth/server", NULL, IT_TLS_DEFAULT, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	j = body_json(&r);
	{
		char		want[128];

		snprintf(want, sizeof(want), "https://127.0.0.1:%d/auth/token", srv.vtn_port);
		ck_assert_str_eq(jstr(j, "tokenURL"), want);
	}
	json_decref(j);
	it_response_free(&r);
}
END_TEST

/* DER of SEQUENCE { INTEGER r, INTEGER s } from 32-byte r and s. */
static size_t
der_int(const unsigned char *v, unsigned char *out)
{
	size_t		i = 0;
	size_t		n;

	while (i < 31 && v[i] == 0)
		i++;
	n = 32 - i;
	out[0] = 0x02;
	if (v[i] & 0x80)
	{
		out[1] = (unsigned char) (n + 1);
		out[2] = 0;
		memcpy(out + 3, v + i, n);
		return n + 3;
	}
	out[1] = (unsigned char) n;
	memcpy(out + 2, v + i, n);
	return n + 2;
}

START_TEST(test_token_signature_openssl)
{
	client		c;
	char	   *tok;
	char	   *dot;
	unsigned char raw[64];
	unsigned char der[80];
	size_t		n;
	char		path[1024];
	FILE	   *f;

	if (!up_with(NULL))
		return;
	make_client("--name bl-sig --role bl --tenant agg-s", &c);
	tok = get_token(&c, NULL);
	ck_assert_ptr_nonnull(tok);
	dot = strrchr(tok, '.');
	ck_assert_int_eq(jwt_b64url_decode(dot + 1, strlen(dot + 1), raw, sizeof(raw)), 64);
	n = der_int(raw, der + 2);
	n += der_int(raw + 32, der + 2 + n);
	der[0] = 0x30;
	der[1] = (unsigned char) n;

	snprintf(path, sizeof(path), "%s/sig.der", srv.dir);
	f = fopen(path, "wb");
	fwrite(der, 1, n + 2, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/signed.txt", srv.dir);
	f = fopen(path, "wb");
	fwrite(tok, 1, (size_t) (dot - tok), f);
	fclose(f);
	ck_assert_int_eq(it_run("cd '%s' && openssl pkey -in pki/vtn-token.key -pubout -out tok.pub"
							" && openssl dgst -sha256 -verify tok.pub -signature sig.der signed.txt >/dev/null",
							srv.dir), 0);
	/* one flipped bit of the signed text and openssl refuses it */
	f = fopen(path, "r+b");
	fseek(f, 5, SEEK_SET);
	fputc(tok[5] == 'A' ? 'B' : 'A', f);
	fclose(f);
	ck_assert_int_ne(it_run("cd '%s' && openssl dgst -sha256 -verify tok.pub -signature sig.der"
							" signed.txt >/dev/null 2>&1", srv.dir), 0);
	free(tok);
}
END_TEST

/* A token signed with the key file at key_path, claims as given. */
static char *
forge(const char *key_path, json_t *claims)
{
	derms_err	err;
	jwt_key    *k = jwt_key_load_private(key_path, &err);
	char	   *t;

	ck_assert_msg(k != NULL, "%s", err.msg);
	t = jwt_sign(k, claims, &err);
	jwt_key_free(k);
	json_decref(claims);
	ck_assert_ptr_nonnull(t);
	return t;
}

START_TEST(test_bearer_tokens)
{
	client		agg;
	client		ven;
	char	   *tok;
	char	   *bad;
	char		key[1024];
	char		other[1024];
	time_t		now = time(NULL);

	if (!up_with(NULL))
		return;
	make_client("--name agg-bl --role bl --tenant agg-b", &agg);
	make_client("--name agg-ven --role ven --tenant agg-b", &ven);
	snprintf(key, sizeof(key), "%s/vtn-token.key", srv.pki);
	snprintf(other, sizeof(other), "%s/other.key", srv.dir);
	ck_assert_int_eq(it_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' 2>/dev/null",
							other), 0);

	/* no credential, a non-Bearer scheme, garbage */
	{
		it_response r = it_https(&srv, srv.vtn_port, "GET", "/fleet/v1/sites", NULL,
								 IT_TLS_DEFAULT, NULL, NULL);

		ck_assert_int_eq(r.status, 401);
		ck_assert_ptr_nonnull(strcasestr(r.headers, "WWW-Authenticate: Bearer"));
		ck_assert_ptr_nonnull(strstr(r.headers, "application/problem+json"));
		it_response_free(&r);
	}
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", "not.a.token"), 401);
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", ""), 401);

	/* an aggregator's BL token reads its fleet; its VEN's token may not */
	tok = get_token(&agg, NULL);
	ck_assert_ptr_nonnull(tok);
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", tok), 200);
	ck_assert_int_eq(get_with_token("/fleet/v1/enrollments", tok), 200);
	{
		char	   *vt = get_token(&ven, NULL);

		ck_assert_ptr_nonnull(vt);
		ck_assert_int_eq(get_with_token("/fleet/v1/sites", vt), 404);
		free(vt);
	}

	/* tampered payload: same signature, one claim changed */
	{
		char	   *d1 = strchr(tok, '.');
		char	   *copy = strdup(tok);

		copy[(d1 - tok) + 3] = copy[(d1 - tok) + 3] == 'A' ? 'B' : 'A';
		ck_assert_int_eq(get_with_token("/fleet/v1/sites", copy), 401);
		free(copy);
	}

	/* expired, not yet valid, wrong issuer, unknown subject, foreign key */
	bad = forge(key, json_pack("{s:s, s:s, s:I, s:s}", "iss", "dermsd", "sub", agg.id,
							   "exp", (json_int_t) now - 120, "scope", "read_all"));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	bad = forge(key, json_pack("{s:s, s:s, s:I, s:I}", "iss", "dermsd", "sub", agg.id,
							   "exp", (json_int_t) now + 600, "nbf", (json_int_t) now + 300));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	bad = forge(key, json_pack("{s:s, s:s, s:I}", "iss", "someone-else", "sub", agg.id,
							   "exp", (json_int_t) now + 600));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	bad = forge(key, json_pack("{s:s, s:s, s:I}", "iss", "dermsd", "sub", "bl_nobody",
							   "exp", (json_int_t) now + 600));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	bad = forge(other, json_pack("{s:s, s:s, s:I}", "iss", "dermsd", "sub", agg.id,
								 "exp", (json_int_t) now + 600));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	/* no expiry at all */
	bad = forge(key, json_pack("{s:s, s:s}", "iss", "dermsd", "sub", agg.id));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 401);
	free(bad);
	/* alg "none" with the payload of a good token */
	{
		char		none[4096];
		char	   *d1 = strchr(tok, '.');
		char	   *d2 = strrchr(tok, '.');

		/* {"alg":"none","typ":"JWT"} */
		snprintf(none, sizeof(none), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.%.*s.",
				 (int) (d2 - d1 - 1), d1 + 1);
		ck_assert_int_eq(get_with_token("/fleet/v1/sites", none), 401);
	}
	/* a good forged-by-us token works, proving the cases above fail for
	 * the reason they test */
	bad = forge(key, json_pack("{s:s, s:s, s:I}", "iss", "dermsd", "sub", agg.id,
							   "exp", (json_int_t) now + 600));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", bad), 200);
	free(bad);

	/* revocation: the next request is refused (identity cache off here) */
	ck_assert_int_eq(it_run("%s/dermsctl -c %s vtn client revoke %s >/dev/null",
							test_build_dir(), srv.conf, agg.id), 0);
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", tok), 401);
	ck_assert_ptr_null(get_token(&agg, NULL));
	ck_assert_int_eq(it_run("%s/dermsctl -c %s vtn client revoke nosuch 2>/dev/null",
							test_build_dir(), srv.conf), 1);
	free(tok);
}
END_TEST

START_TEST(test_external_issuer)
{
	client		c;
	char		extra[2048];
	char		ext[1024];
	char		jwks[1024];
	char	   *tok;
	char	   *dir = test_mkdtemp("jwks");
	time_t		now = time(NULL);

	snprintf(ext, sizeof(ext), "%s/ext.key", dir);
	snprintf(jwks, sizeof(jwks), "%s/ext.jwks", dir);
	ck_assert_int_eq(it_run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out '%s' 2>/dev/null",
							ext), 0);
	ck_assert_int_eq(it_run("%s/dermsctl vtn jwks '%s' > '%s'", test_build_dir(), ext, jwks), 0);
	snprintf(extra, sizeof(extra), "[vtn]\njwks_file = %s\njwks_issuer = https://idp.example\n", jwks);
	if (!up_with(extra))
	{
		free(dir);
		return;
	}
	make_client("--name ext-bl --role bl --tenant agg-x", &c);
	tok = forge(ext, json_pack("{s:s, s:s, s:I, s:s}", "iss", "https://idp.example",
							   "sub", c.id, "exp", (json_int_t) now + 600, "scope", "read_all"));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", tok), 200);
	free(tok);
	/* the external key with our issuer name is not believed */
	tok = forge(ext, json_pack("{s:s, s:s, s:I}", "iss", "dermsd",
							   "sub", c.id, "exp", (json_int_t) now + 600));
	ck_assert_int_eq(get_with_token("/fleet/v1/sites", tok), 401);
	free(tok);
	free(dir);
}
END_TEST

START_TEST(test_dermsctl_clients)
{
	client		c;
	char		cmd[1024];

	if (!up_with(NULL))
		return;
	make_client("--name dup --role bl", &c);
	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s vtn client create", test_build_dir(), srv.conf);
	ck_assert_int_eq(it_run("%s --name dup --role bl >/dev/null 2>&1", cmd), 1);
	ck_assert_int_eq(it_run("%s --name v --role ven >/dev/null 2>&1", cmd), 2);
	ck_assert_int_eq(it_run("%s --name v --role admin >/dev/null 2>&1", cmd), 2);
	ck_assert_int_eq(it_run("%s --name v --role ven --tenant a --scopes write_programs >/dev/null 2>&1", cmd), 2);
	ck_assert_int_eq(it_run("%s --name v2 --role ven --tenant a --scopes 'read_targets write_reports' >/dev/null", cmd), 0);
	/* the secret is stored hashed, never as given */
	ck_assert_int_eq(it_run("psql -qAt '%s' -c \"SELECT 1 FROM vtn_clients WHERE secret_hash LIKE '%%%s%%'\" | grep -q 1",
							srv.conninfo, c.secret), 1);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s vtn client list | grep -q '%s'",
							test_build_dir(), srv.conf, c.id), 0);
	/* creation is audited */
	ck_assert_int_eq(it_run("psql -qAt '%s' -c \"SELECT count(*) FROM audit_log WHERE action = 'vtn.client.create'\" | grep -qx 2",
							srv.conninfo), 0);
}
END_TEST

/* The token endpoints through Prism: requests and responses conform. */
START_TEST(test_auth_conforms)
{
	client		c;
	char		body[2048];
	it_prism	p;
	bool		skip;
	const char *why = NULL;
	it_response r;
	char	   *v;

	if (!up_with(NULL))
		return;
	if (!it_prism_start(&p, &srv, &skip, &why))
	{
		if (skip)
		{
			test_skip("vtn_auth conformance", why);
			return;
		}
		ck_abort_msg("%s", why);
	}
	make_client("--name prism-ven --role ven --tenant agg-p", &c);
	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=%s", c.id, c.secret);
	r = it_prism_request(&p, "POST", "/auth/token", FORM, body, NULL);
	ck_assert_int_eq(r.status, 200);
	v = it_prism_violations(&r);
	ck_assert_msg(v == NULL, "POST /auth/token: %s", v);
	it_response_free(&r);

	r = it_prism_request(&p, "GET", "/auth/server", NULL, NULL, NULL);
	ck_assert_int_eq(r.status, 200);
	v = it_prism_violations(&r);
	ck_assert_msg(v == NULL, "GET /auth/server: %s", v);
	it_response_free(&r);

	/* a wrong secret: 401, and the error body still conforms */
	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=wrong", c.id);
	r = it_prism_request(&p, "POST", "/auth/token", FORM, body, NULL);
	ck_assert_int_eq(r.status, 401);
	v = it_prism_violations(&r);
	ck_assert_msg(v == NULL, "POST /auth/token (401): %s", v);
	it_response_free(&r);

	/* and Prism does notice a request outside the YAML (no client_secret) */
	r = it_prism_request(&p, "POST", "/auth/token", FORM,
						 "grant_type=client_credentials&client_id=x", NULL);
	v = it_prism_violations(&r);
	ck_assert_msg(v != NULL || r.status == 422, "Prism saw no violation: %ld %s",
				  r.status, r.headers);
	free(v);
	it_response_free(&r);
	it_prism_stop(&p);
}
END_TEST

Suite *
vtn_auth_suite(void)
{
	Suite	   *s = suite_create("vtn_auth");
	TCase	   *tc = tcase_create("vtn_auth");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_token_endpoint);
	tcase_add_test(tc, test_token_signature_openssl);
	tcase_add_test(tc, test_bearer_tokens);
	tcase_add_test(tc, test_external_issuer);
	tcase_add_test(tc, test_dermsctl_clients);
	tcase_add_test(tc, test_auth_conforms);
	suite_add_tcase(s, tc);
	return s;
}
