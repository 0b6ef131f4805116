/*
 * tests/server/test_pki.c
 *	  Check suite for server/pki.c: the demo PKI, checked with the OpenSSL
 *	  library rather than with pki.c's own code.
 *
 * NOTES
 *	  Every test makes its own PKI in a fresh test_mkdtemp() directory and
 *	  removes that directory before it returns.  Chains are verified with
 *	  X509_verify_cert against a store holding only trust.pem and with no
 *	  untrusted certificates, so the intermediate must come from trust.pem.
 */
#include <ftw.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "server/identity.h"
#include "server/pki.h"
#include "tests/suites.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DEMO_COUNT 7			/* ca, intermediate and five leaves */

/* A PKI made for one test. */
struct test_pki
{
	char	   *tmp;			/* the test_mkdtemp() directory */
	char		dir[512];		/* tmp/pki, created by pki_init */
	pki_result *res;
};

/* What pki_init must list, in order. */
static const struct
{
	const char *name;
	pki_kind	kind;
}			demo_items[DEMO_COUNT] = {
	{"ca", PKI_CA},
	{"intermediate", PKI_CA},
	{"sep2-server", PKI_SERVER},
	{"vtn-server", PKI_SERVER},
	{"device-demo", PKI_DEVICE},
	{"aggregator-demo", PKI_AGGREGATOR},
	{"operator-demo", PKI_OPERATOR},
};

static const char *const bad_names[] = {
	"",
	"a/b",
	"../escape",
	"..",
	".hidden",
	"has space",
	"tab\tname",
	"new\nline",
	"semi;colon",
	"star*",
	"caf\xc3\xa9",
	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",	/* 65 */
};

static const struct
{
	pki_kind	kind;
	const char *name;
}			kind_names[] = {
	{PKI_DEVICE, "device"},
	{PKI_AGGREGATOR, "aggregator"},
	{PKI_OPERATOR, "operator"},
	{PKI_SERVER, "server"},
	{PKI_CA, "ca"},
	{(pki_kind) 42, "unknown"},
};

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void) sb;
	(void) flag;
	(void) ftw;
	return remove(path);
}

static void
rm_rf(const char *path)
{
	ck_assert_int_eq(nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Make a temporary directory and a PKI in tmp/pki. */
static void
pki_setup(struct test_pki *t)
{
	derms_err	err;

	memset(t, 0, sizeof(*t));
	t->tmp = test_mkdtemp("pki");
	ck_assert_ptr_nonnull(t->tmp);
	snprintf(t->dir, sizeof(t->dir), "%s/pki", t->tmp);
	t->res = calloc(1, sizeof(*t->res));
	ck_assert_ptr_nonnull(t->res);
	derms_err_clear(&err);
	ck_assert_msg(pki_init(t->dir, false, t->res, &err) == DERMS_OK,
				  "pki_init: %s (%s)", err.msg, err.detail);
}

static void
pki_teardown(struct test_pki *t)
{
	rm_rf(t->tmp);
	free(t->tmp);
	free(t->res);
	ck_assert_int_eq((int) ERR_peek_error(), 0);
}

/* dir/file */
static void
join(char *buf, size_t size, const char *dir, const char *file)
{
	int			n = snprintf(buf, size, "%s/%s", dir, file);

	ck_assert(n > 0 && (size_t) n < size);
}

/* Every certificate in a PEM file; new stack. */
static STACK_OF(X509) *
load_certs(const char *path)
{
	BIO		   *bio = BIO_new_file(path, "r");
	STACK_OF(X509) *sk = sk_X509_new_null();
	X509	   *x;

	ck_assert_msg(bio != NULL, "cannot open %s", path);
	ck_assert_ptr_nonnull(sk);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	ERR_clear_error();			/* the end of the file */
	BIO_free(bio);
	ck_assert_msg(sk_X509_num(sk) > 0, "no certificate in %s", path);
	return sk;
}

/* The first certificate in a PEM file; new. */
static X509 *
load_cert(const char *path)
{
	STACK_OF(X509) *sk = load_certs(path);
	X509	   *x = sk_X509_shift(sk);

	sk_X509_pop_free(sk, X509_free);
	return x;
}

static EVP_PKEY *
load_key(const char *path)
{
	BIO		   *bio = BIO_new_file(path, "r");
	EVP_PKEY   *key;

	ck_assert_msg(bio != NULL, "cannot open %s", path);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ck_assert_msg(key != NULL, "no key in %s", path);
	return key;
}

/*
 * Verify the first certificate of chain_file against trust_file, for
 * purpose (0: any).  With use_rest, the other certificates of chain_file
 * are offered as untrusted intermediates.  Returns the X509_V_* result;
 * *chain (when not NULL) gets the verified chain, new.
 */
static int
verify_file(const char *trust_file, const char *chain_file, int purpose,
			bool use_rest, STACK_OF(X509) **chain)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *certs = load_certs(chain_file);
	X509	   *leaf = sk_X509_shift(certs);
	int			result;

	ck_assert_ptr_nonnull(store);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(X509_STORE_load_file(store, trust_file), 1);
	ck_assert_int_eq(X509_STORE_CTX_init(ctx, store, leaf,
										 use_rest ? certs : NULL), 1);
	if (purpose != 0)
		ck_assert_int_eq(X509_STORE_CTX_set_purpose(ctx, purpose), 1);
	if (X509_verify_cert(ctx) == 1)
		result = X509_V_OK;
	else
	{
		result = X509_STORE_CTX_get_error(ctx);
		if (result == X509_V_OK)
			result = X509_V_ERR_UNSPECIFIED;
	}
	if (chain != NULL)
		*chain = result == X509_V_OK ? X509_STORE_CTX_get1_chain(ctx) : NULL;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(leaf);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return result;
}

/* 1 when extension nid is present and critical, 0 when not critical. */
static int
ext_critical(X509 *x, int nid)
{
	int			i = X509_get_ext_by_NID(x, nid, -1);

	ck_assert_msg(i >= 0, "extension %s missing", OBJ_nid2sn(nid));
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

static void
subject_ou(X509 *x, char *buf, int size)
{
	ck_assert_int_gt(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
											   NID_organizationalUnitName,
											   buf, size), 0);
}

/* Days from notBefore to notAfter. */
static int
lifetime_days(X509 *x)
{
	int			days,
				secs;

	ck_assert_int_eq(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x),
									X509_get0_notAfter(x)), 1);
	return days;
}

static bool
never_expires(X509 *x)
{
	const ASN1_TIME *t = X509_get0_notAfter(x);

	return ASN1_STRING_type(t) == V_ASN1_GENERALIZEDTIME &&
		ASN1_STRING_length(t) == 15 &&
		memcmp(ASN1_STRING_get0_data(t), "99991231235959Z", 15) == 0;
}

static void
assert_mode(const char *path, mode_t want)
{
	struct stat st;

	ck_assert_msg(stat(path, &st) == 0, "cannot stat %s", path);
	ck_assert_msg((st.st_mode & 07777) == want, "%s has mode %o, want %o",
				  path, (unsigned) (st.st_mode & 07777), (unsigned) want);
}

/* Entries of dir other than "." and ".."; *tmp_seen counts ".tmp-*". */
static int
count_entries(const char *dir, int *tmp_seen)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	ck_assert_ptr_nonnull(d);
	*tmp_seen = 0;
	while ((de = readdir(d)) != NULL)
	{
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (strncmp(de->d_name, ".tmp-", 5) == 0)
			(*tmp_seen)++;
		n++;
	}
	closedir(d);
	return n;
}

/* A private key is EC P-256, PKCS#8 PEM, 0600 and matches its cert. */
static void
assert_key(const char *key_path, const char *cert_path)
{
	EVP_PKEY   *key = load_key(key_path);
	X509	   *cert = load_cert(cert_path);
	char		group[64];
	size_t		glen = 0;
	char		head[32] = "";
	FILE	   *fp;

	ck_assert_int_eq(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	ck_assert_int_eq(EVP_PKEY_get_group_name(key, group, sizeof(group), &glen),
					 1);
	ck_assert_msg(OBJ_txt2nid(group) == NID_X9_62_prime256v1 ||
				  EC_curve_nist2nid(group) == NID_X9_62_prime256v1,
				  "%s: curve %s", key_path, group);
	ck_assert_int_eq(X509_check_private_key(cert, key), 1);
	ck_assert_int_eq(EVP_PKEY_get_base_id(X509_get0_pubkey(cert)),
					 EVP_PKEY_EC);

	fp = fopen(key_path, "r");
	ck_assert_ptr_nonnull(fp);
	ck_assert_ptr_nonnull(fgets(head, sizeof(head), fp));
	fclose(fp);
	ck_assert_str_eq(head, "-----BEGIN PRIVATE KEY-----\n");
	assert_mode(key_path, 0600);

	X509_free(cert);
	EVP_PKEY_free(key);
}

/*
 * A leaf chains leaf -> intermediate -> root using trust.pem alone, and
 * its file carries the intermediate after it.
 */
static void
assert_chains(const struct test_pki *t, const char *cert_path, int purpose)
{
	char		path[600];
	STACK_OF(X509) *chain = NULL;
	STACK_OF(X509) *file = load_certs(cert_path);
	X509	   *root,
			   *inter;
	int			r;

	join(path, sizeof(path), t->dir, "ca.pem");
	root = load_cert(path);
	join(path, sizeof(path), t->dir, "intermediate.pem");
	inter = load_cert(path);

	r = verify_file(t->res->trust_path, cert_path, purpose, false, &chain);
	ck_assert_msg(r == X509_V_OK, "%s: %s", cert_path,
				  X509_verify_cert_error_string(r));
	ck_assert_int_eq(sk_X509_num(chain), 3);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 0), sk_X509_value(file, 0)),
					 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 1), inter), 0);
	ck_assert_int_eq(X509_cmp(sk_X509_value(chain, 2), root), 0);

	ck_assert_int_eq(sk_X509_num(file), 2);
	ck_assert_int_eq(X509_cmp(sk_X509_value(file, 1), inter), 0);

	sk_X509_pop_free(chain, X509_free);
	sk_X509_pop_free(file, X509_free);
	X509_free(inter);
	X509_free(root);
}

START_TEST(test_kind_names)
{
	ck_assert_str_eq(pki_kind_name(kind_names[_i].kind), kind_names[_i].name);
}
END_TEST

START_TEST(test_init_layout)
{
	static const char *const files[] = {
		"ca.pem", "ca.key", "intermediate.pem", "intermediate.key",
		"trust.pem", "sep2-server.pem", "sep2-server.key", "vtn-server.pem",
		"vtn-server.key", "device-demo.pem", "device-demo.key",
		"aggregator-demo.pem", "aggregator-demo.key", "operator-demo.pem",
		"operator-demo.key", "vtn-token.key",
	};
	struct test_pki t;
	char		path[600];
	int			tmp_seen;

	pki_setup(&t);
	assert_mode(t.dir, 0700);
	for (size_t i = 0; i < NELEM(files); i++)
	{
		join(path, sizeof(path), t.dir, files[i]);
		ck_assert_msg(access(path, R_OK) == 0, "%s missing", path);
	}
	ck_assert_int_eq(count_entries(t.dir, &tmp_seen), (int) NELEM(files));
	ck_assert_int_eq(tmp_seen, 0);

	join(path, sizeof(path), t.dir, "trust.pem");
	ck_assert_str_eq(t.res->trust_path, path);
	ck_assert_int_eq(t.res->count, DEMO_COUNT);
	for (int i = 0; i < DEMO_COUNT; i++)
	{
		const pki_issued *it = &t.res->items[i];
		derms_identity id;

		ck_assert_str_eq(it->name, demo_items[i].name);
		ck_assert_int_eq(it->kind, demo_items[i].kind);
		snprintf(path, sizeof(path), "%s/%s.pem", t.dir, it->name);
		ck_assert_str_eq(it->cert_path, path);
		snprintf(path, sizeof(path), "%s/%s.key", t.dir, it->name);
		ck_assert_str_eq(it->key_path, path);
		ck_assert_int_eq(identity_from_pem_file(it->cert_path, &id, NULL),
						 DERMS_OK);
		ck_assert_str_eq(it->id.lfdi, id.lfdi);
		ck_assert_uint_eq(it->id.sfdi, id.sfdi);
		ck_assert_str_eq(it->id.fingerprint, id.fingerprint);
	}

	/* trust.pem is the root, then the intermediate. */
	{
		STACK_OF(X509) *trust = load_certs(t.res->trust_path);
		X509	   *root = load_cert(t.res->items[0].cert_path);
		X509	   *inter = load_cert(t.res->items[1].cert_path);

		ck_assert_int_eq(sk_X509_num(trust), 2);
		ck_assert_int_eq(X509_cmp(sk_X509_value(trust, 0), root), 0);
		ck_assert_int_eq(X509_cmp(sk_X509_value(trust, 1), inter), 0);
		X509_free(inter);
		X509_free(root);
		sk_X509_pop_free(trust, X509_free);
	}
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_chains)
{
	struct test_pki t;

	pki_setup(&t);
	for (int i = 2; i < t.res->count; i++)
	{
		const pki_issued *it = &t.res->items[i];

		assert_chains(&t, it->cert_path,
					  it->kind == PKI_SERVER ? X509_PURPOSE_SSL_SERVER
					  : X509_PURPOSE_SSL_CLIENT);
	}
	/* The intermediate itself verifies against the root alone. */
	ck_assert_int_eq(verify_file(t.res->items[0].cert_path,
								 t.res->items[1].cert_path, 0, false, NULL),
					 X509_V_OK);
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_keys_and_signatures)
{
	struct test_pki t;
	BIGNUM	   *serials[DEMO_COUNT];

	pki_setup(&t);
	for (int i = 0; i < t.res->count; i++)
	{
		const pki_issued *it = &t.res->items[i];
		X509	   *x = load_cert(it->cert_path);

		assert_key(it->key_path, it->cert_path);
		ck_assert_int_eq(X509_get_signature_nid(x), NID_ecdsa_with_SHA256);
		ck_assert_int_eq(X509_get_version(x), X509_VERSION_3);
		serials[i] = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		ck_assert_ptr_nonnull(serials[i]);
		ck_assert_int_le(BN_num_bits(serials[i]), 128);
		ck_assert_int_gt(BN_num_bits(serials[i]), 64);	/* 2^-64 flake */
		ck_assert(!BN_is_negative(serials[i]));
		for (int j = 0; j < i; j++)
			ck_assert_int_ne(BN_cmp(serials[i], serials[j]), 0);
		assert_mode(it->cert_path, 0644);
		X509_free(x);
	}
	for (int i = 0; i < t.res->count; i++)
		BN_free(serials[i]);
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_cas)
{
	struct test_pki t;
	X509	   *root,
			   *inter;
	int			days;

	pki_setup(&t);
	root = load_cert(t.res->items[0].cert_path);
	inter = load_cert(t.res->items[1].cert_path);

	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(root),
								   X509_get_issuer_name(root)), 0);
	ck_assert_int_eq(X509_check_issued(root, root), X509_V_OK);
	ck_assert_int_eq(X509_check_issued(root, inter), X509_V_OK);
	ck_assert_int_ne(X509_NAME_cmp(X509_get_subject_name(root),
								   X509_get_subject_name(inter)), 0);
	ck_assert_int_ge(X509_check_ca(root), 1);
	ck_assert_int_ge(X509_check_ca(inter), 1);
	ck_assert_int_eq(X509_get_pathlen(inter), 0);
	ck_assert_int_eq(ext_critical(root, NID_basic_constraints), 1);
	ck_assert_int_eq(ext_critical(inter, NID_key_usage), 1);
	ck_assert(X509_get_key_usage(inter) & KU_KEY_CERT_SIGN);

	days = lifetime_days(root);
	ck_assert_int_ge(days, 19 * 365);
	ck_assert_int_le(days, 21 * 365);
	days = lifetime_days(inter);
	ck_assert_int_ge(days, 19 * 365);
	ck_assert_int_le(days, 21 * 365);

	X509_free(inter);
	X509_free(root);
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_servers)
{
	struct test_pki t;

	pki_setup(&t);
	for (int i = 2; i <= 3; i++)
	{
		X509	   *x = load_cert(t.res->items[i].cert_path);
		char		ou[64];
		int			days;

		ck_assert_int_eq(t.res->items[i].kind, PKI_SERVER);
		ck_assert_int_eq(ext_critical(x, NID_subject_alt_name), 1);
		ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
		ck_assert(X509_get_key_usage(x) & KU_DIGITAL_SIGNATURE);
		ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_SERVER);
		ck_assert(!(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT));
		ck_assert_int_eq(X509_check_ca(x), 0);
		ck_assert_int_eq(X509_check_host(x, "localhost", 0, 0, NULL), 1);
		ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
		ck_assert_int_eq(X509_check_ip_asc(x, "::1", 0), 1);
		ck_assert_int_ne(X509_check_host(x, "example.com", 0, 0, NULL), 1);
		subject_ou(x, ou, sizeof(ou));
		ck_assert_str_eq(ou, "server");
		days = lifetime_days(x);
		ck_assert_int_ge(days, 700);
		ck_assert_int_le(days, 740);
		ck_assert(!never_expires(x));
		X509_free(x);
	}
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_clients)
{
	struct test_pki t;

	pki_setup(&t);
	for (int i = 4; i < t.res->count; i++)
	{
		const pki_issued *it = &t.res->items[i];
		X509	   *x = load_cert(it->cert_path);
		uint32_t	ku = X509_get_key_usage(x);
		char		ou[64];

		ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
		ck_assert_uint_eq(ku, KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT);
		ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
		ck_assert(!(X509_get_extended_key_usage(x) & XKU_SSL_SERVER));
		ck_assert_int_eq(X509_check_ca(x), 0);
		subject_ou(x, ou, sizeof(ou));
		ck_assert_str_eq(ou, pki_kind_name(it->kind));
		if (it->kind == PKI_DEVICE)
			ck_assert_msg(never_expires(x), "%s expires", it->name);
		else
			ck_assert_msg(!never_expires(x), "%s never expires", it->name);
		X509_free(x);
	}
	pki_teardown(&t);
}
END_TEST

START_TEST(test_init_refuses_then_forces)
{
	struct test_pki t;
	pki_result *again = calloc(1, sizeof(*again));
	derms_identity before,
				after;
	derms_err	err;
	int			tmp_seen;

	ck_assert_ptr_nonnull(again);
	pki_setup(&t);
	before = t.res->items[0].id;

	derms_err_clear(&err);
	ck_assert_int_eq(pki_init(t.dir, false, again, &err), DERMS_EEXIST);
	ck_assert_int_eq(err.code, DERMS_EEXIST);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(again->count, 0);
	ck_assert_int_eq(identity_from_pem_file(t.res->items[0].cert_path, &after,
											NULL), DERMS_OK);
	ck_assert_str_eq(after.fingerprint, before.fingerprint);

	/* With force everything is new, and the old device is a stranger. */
	ck_assert_int_eq(pki_init(t.dir, true, again, &err), DERMS_OK);
	ck_assert_int_eq(again->count, DEMO_COUNT);
	ck_assert_int_eq(identity_from_pem_file(again->items[0].cert_path, &after,
											NULL), DERMS_OK);
	ck_assert_str_ne(after.fingerprint, before.fingerprint);
	ck_assert_str_eq(after.fingerprint, again->items[0].id.fingerprint);
	ck_assert_int_eq(count_entries(t.dir, &tmp_seen), 16);
	ck_assert_int_eq(tmp_seen, 0);
	for (int i = 2; i < again->count; i++)
		assert_chains(&t, again->items[i].cert_path,
					  again->items[i].kind == PKI_SERVER ?
					  X509_PURPOSE_SSL_SERVER : X509_PURPOSE_SSL_CLIENT);

	free(again);
	pki_teardown(&t);
}
END_TEST

/* A directory with leftovers but no ca.pem is not a PKI: it is redone. */
START_TEST(test_init_redoes_half_pki)
{
	char	   *tmp = test_mkdtemp("pki");
	pki_result *res = calloc(1, sizeof(*res));
	char		path[600];
	derms_err	err;
	FILE	   *fp;

	ck_assert_ptr_nonnull(tmp);
	ck_assert_ptr_nonnull(res);
	join(path, sizeof(path), tmp, "intermediate.pem");
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fputs("half-written\n", fp);
	fclose(fp);

	derms_err_clear(&err);
	ck_assert_msg(pki_init(tmp, false, res, &err) == DERMS_OK, "%s (%s)",
				  err.msg, err.detail);
	ck_assert_int_eq(verify_file(res->items[0].cert_path, path, 0, false,
								 NULL), X509_V_OK);
	free(res);
	rm_rf(tmp);
	free(tmp);
}
END_TEST

START_TEST(test_init_bad_dir)
{
	char	   *tmp = test_mkdtemp("pki");
	char		path[600];
	derms_err	err;
	FILE	   *fp;

	ck_assert_ptr_nonnull(tmp);
	derms_err_clear(&err);
	ck_assert_int_eq(pki_init("", false, NULL, &err), DERMS_EINVAL);
	ck_assert_int_eq(pki_init(NULL, false, NULL, &err), DERMS_EINVAL);

	/* A file where the directory should be. */
	join(path, sizeof(path), tmp, "file");
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_ne(pki_init(path, false, NULL, &err), DERMS_OK);
	ck_assert_str_ne(err.msg, "");

	/* Nested directories are created, and res may be NULL. */
	join(path, sizeof(path), tmp, "a/b/c");
	ck_assert_int_eq(pki_init(path, false, NULL, &err), DERMS_OK);
	assert_mode(path, 0700);

	rm_rf(tmp);
	free(tmp);
}
END_TEST

START_TEST(test_issue)
{
	static const struct
	{
		const char *name;
		pki_kind	kind;
	}			issues[] = {
		{"meter-42", PKI_DEVICE},
		{"ven.Aggregator_1", PKI_AGGREGATOR},
		{"ops", PKI_OPERATOR},
		{"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		PKI_DEVICE},			/* 64 */
	};
	struct test_pki t;

	pki_setup(&t);
	for (size_t i = 0; i < NELEM(issues); i++)
	{
		pki_issued	out;
		derms_identity id;
		derms_err	err;
		char		path[600];
		char		ou[64];
		X509	   *x;

		derms_err_clear(&err);
		ck_assert_msg(pki_issue(t.dir, issues[i].name, issues[i].kind, &out,
								&err) == DERMS_OK, "%s: %s (%s)",
					  issues[i].name, err.msg, err.detail);
		ck_assert_str_eq(out.name, issues[i].name);
		ck_assert_int_eq(out.kind, issues[i].kind);
		snprintf(path, sizeof(path), "%s/%s.pem", t.dir, issues[i].name);
		ck_assert_str_eq(out.cert_path, path);
		snprintf(path, sizeof(path), "%s/%s.key", t.dir, issues[i].name);
		ck_assert_str_eq(out.key_path, path);

		assert_chains(&t, out.cert_path, X509_PURPOSE_SSL_CLIENT);
		assert_key(out.key_path, out.cert_path);
		ck_assert_int_eq(identity_from_pem_file(out.cert_path, &id, &err),
						 DERMS_OK);
		ck_assert_str_eq(id.lfdi, out.id.lfdi);
		ck_assert_uint_eq(id.sfdi, out.id.sfdi);
		ck_assert_str_eq(id.fingerprint, out.id.fingerprint);

		x = load_cert(out.cert_path);
		subject_ou(x, ou, sizeof(ou));
		ck_assert_str_eq(ou, pki_kind_name(issues[i].kind));
		ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
		ck_assert_int_eq(never_expires(x), issues[i].kind == PKI_DEVICE);
		X509_free(x);

		/* The same name again is refused and leaves the files alone. */
		ck_assert_int_eq(pki_issue(t.dir, issues[i].name, PKI_OPERATOR, NULL,
								   &err), DERMS_EEXIST);
		ck_assert_int_eq(identity_from_pem_file(out.cert_path, &id, NULL),
						 DERMS_OK);
		ck_assert_str_eq(id.fingerprint, out.id.fingerprint);
	}
	pki_teardown(&t);
}
END_TEST

START_TEST(test_issue_refusals)
{
	struct test_pki t;
	pki_issued	out;
	derms_err	err;
	int			tmp_seen;
	int			before;

	pki_setup(&t);
	before = count_entries(t.dir, &tmp_seen);
	derms_err_clear(&err);

	/* Names the demo PKI already uses. */
	ck_assert_int_eq(pki_issue(t.dir, "ca", PKI_DEVICE, &out, &err),
					 DERMS_EEXIST);
	ck_assert_int_eq(pki_issue(t.dir, "trust", PKI_DEVICE, &out, &err),
					 DERMS_EEXIST);
	ck_assert_int_eq(pki_issue(t.dir, "device-demo", PKI_DEVICE, &out, &err),
					 DERMS_EEXIST);

	/* Kinds that are not client kinds. */
	ck_assert_int_eq(pki_issue(t.dir, "srv", PKI_SERVER, &out, &err),
					 DERMS_EINVAL);
	ck_assert_int_eq(pki_issue(t.dir, "ca2", PKI_CA, &out, &err),
					 DERMS_EINVAL);
	ck_assert_int_eq(pki_issue(t.dir, "odd", (pki_kind) 42, &out, &err),
					 DERMS_EINVAL);

	/* No PKI there. */
	ck_assert_int_eq(pki_issue(t.tmp, "lost", PKI_DEVICE, &out, &err),
					 DERMS_ENOTFOUND);

	ck_assert_int_eq(count_entries(t.dir, &tmp_seen), before);
	ck_assert_int_eq(tmp_seen, 0);
	pki_teardown(&t);
}
END_TEST

START_TEST(test_issue_bad_names)
{
	struct test_pki t;
	pki_issued	out;
	derms_err	err;
	int			tmp_seen;
	int			before;

	pki_setup(&t);
	before = count_entries(t.dir, &tmp_seen);
	derms_err_clear(&err);
	ck_assert_msg(pki_issue(t.dir, bad_names[_i], PKI_DEVICE, &out, &err) ==
				  DERMS_EINVAL, "name \"%s\" accepted", bad_names[_i]);
	ck_assert_str_ne(err.msg, "");
	ck_assert_str_eq(out.cert_path, "");
	ck_assert_int_eq(pki_issue(t.dir, NULL, PKI_DEVICE, NULL, &err),
					 DERMS_EINVAL);
	ck_assert_int_eq(pki_self_signed_client(t.dir, bad_names[_i], NULL, &err),
					 DERMS_EINVAL);
	ck_assert_int_eq(count_entries(t.dir, &tmp_seen), before);
	pki_teardown(&t);
}
END_TEST

START_TEST(test_self_signed_client)
{
	struct test_pki t;
	pki_issued	out;
	derms_identity id;
	derms_err	err;
	STACK_OF(X509) *file;
	char		own_ca[600];
	X509	   *x;
	int			r;

	pki_setup(&t);
	derms_err_clear(&err);
	ck_assert_msg(pki_self_signed_client(t.dir, "rogue", &out, &err) ==
				  DERMS_OK, "%s (%s)", err.msg, err.detail);
	ck_assert_str_eq(out.name, "rogue");
	assert_key(out.key_path, out.cert_path);
	ck_assert_int_eq(identity_from_pem_file(out.cert_path, &id, NULL),
					 DERMS_OK);
	ck_assert_str_eq(id.lfdi, out.id.lfdi);

	/* Not trusted, even when it presents its own CA. */
	r = verify_file(t.res->trust_path, out.cert_path, X509_PURPOSE_SSL_CLIENT,
					false, NULL);
	ck_assert_int_ne(r, X509_V_OK);
	r = verify_file(t.res->trust_path, out.cert_path, X509_PURPOSE_SSL_CLIENT,
					true, NULL);
	ck_assert_int_ne(r, X509_V_OK);

	/* But a well-formed client certificate under its own CA. */
	file = load_certs(out.cert_path);
	ck_assert_int_eq(sk_X509_num(file), 2);
	join(own_ca, sizeof(own_ca), t.tmp, "rogue-ca.pem");
	{
		FILE	   *fp = fopen(own_ca, "w");

		ck_assert_ptr_nonnull(fp);
		ck_assert_int_eq(PEM_write_X509(fp, sk_X509_value(file, 1)), 1);
		fclose(fp);
	}
	ck_assert_int_eq(verify_file(own_ca, out.cert_path,
								 X509_PURPOSE_SSL_CLIENT, false, NULL),
					 X509_V_OK);
	x = sk_X509_value(file, 0);
	ck_assert(never_expires(x));
	ck_assert(X509_get_extended_key_usage(x) & XKU_SSL_CLIENT);
	sk_X509_pop_free(file, X509_free);

	ck_assert_int_eq(pki_self_signed_client(t.dir, "rogue", NULL, &err),
					 DERMS_EEXIST);
	ck_assert_int_eq(pki_self_signed_client(t.dir, "device-demo", NULL, &err),
					 DERMS_EEXIST);
	join(own_ca, sizeof(own_ca), t.tmp, "nowhere");
	ck_assert_int_eq(pki_self_signed_client(own_ca, "x", NULL, &err),
					 DERMS_ENOTFOUND);
	pki_teardown(&t);
}
END_TEST

Suite *
pki_suite(void)
{
	Suite	   *s = suite_create("pki");
	TCase	   *tc;

	tc = tcase_create("init");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_kind_names, 0, NELEM(kind_names));
	tcase_add_test(tc, test_init_layout);
	tcase_add_test(tc, test_init_chains);
	tcase_add_test(tc, test_init_keys_and_signatures);
	tcase_add_test(tc, test_init_cas);
	tcase_add_test(tc, test_init_servers);
	tcase_add_test(tc, test_init_clients);
	tcase_add_test(tc, test_init_refuses_then_forces);
	tcase_add_test(tc, test_init_redoes_half_pki);
	tcase_add_test(tc, test_init_bad_dir);
	suite_add_tcase(s, tc);

	tc = tcase_create("issue");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_issue);
	tcase_add_test(tc, test_issue_refusals);
	tcase_add_loop_test(tc, test_issue_bad_names, 0, NELEM(bad_names));
	tcase_add_test(tc, test_self_signed_client);
	suite_add_tcase(s, tc);

	return s;
}
