/*
 * tests/server/test_identity.c
 *	  Check suite for server/identity.c: LFDI, SFDI and fingerprint.
 *
 * NOTES
 *	  Every expected value here was computed independently of identity.c:
 *	  the IEEE 2030.5 example, and for the certificates under
 *	  tests/data/identity/ the output of "openssl x509 -outform DER |
 *	  sha256sum" and Python's hashlib (see that directory's README.md).
 *	  Data files are found relative to the working directory, which is the
 *	  repository root when tests/run.sh runs the suites.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "server/identity.h"
#include "tests/suites.h"

#define DATA_DIR "tests/data/identity/"

/* A certificate file and what identity.c must make of it. */
struct cert_vector
{
	const char *file;
	const char *lfdi;
	uint64_t	sfdi;
	const char *fingerprint;
};

#define EC_LFDI "D6ADBC923A78A944D759DA71FE9F9A4C6A2CADAA"
#define EC_SFDI UINT64_C(576273636195)
#define EC_FP \
	"d6adbc923a78a944d759da71fe9f9a4c6a2cadaa76c12add8d099e608dbd6310"
#define RSA_LFDI "2A48D595F7523D6DC26A076E45FE502B0C8631A7"
#define RSA_SFDI UINT64_C(113506614715)
#define RSA_FP \
	"2a48d595f7523d6dc26a076e45fe502b0c8631a7454c896568ee269d2fa84a08"

static const struct cert_vector pem_vectors[] = {
	{"ec-p256.pem", EC_LFDI, EC_SFDI, EC_FP},
	{"rsa-2048.pem", RSA_LFDI, RSA_SFDI, RSA_FP},
	{"chain.pem", EC_LFDI, EC_SFDI, EC_FP},	/* first certificate wins */
	{"csr-then-cert.pem", RSA_LFDI, RSA_SFDI, RSA_FP},	/* CSR skipped */
};

/* LFDI (either case) and the SFDI it must give. */
static const struct
{
	const char *lfdi;
	uint64_t	sfdi;
}			sfdi_vectors[] = {
	/* IEEE 2030.5 */
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", UINT64_C(167261211391)},
	{"3e4f45ab31edfe5b67e343e5e4562e31984e23e5", UINT64_C(167261211391)},
	{"0000000000000000000000000000000000000000", UINT64_C(0)},
	{"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", UINT64_C(687194767357)},
	{"0123456789abcdef0123456789abcdef01234567", UINT64_C(3054198965)},
	{EC_LFDI, EC_SFDI},
	{RSA_LFDI, RSA_SFDI},
};

/* SFDI without its check digit, and the check digit. */
static const struct
{
	uint64_t	value;
	int			digit;
}			check_digits[] = {
	{UINT64_C(0), 0},
	{UINT64_C(1), 9},
	{UINT64_C(9), 1},
	{UINT64_C(10), 9},
	{UINT64_C(19), 0},
	{UINT64_C(123456789), 5},
	{UINT64_C(16726121139), 1},
	{UINT64_C(68719476735), 7},	/* 2^36 - 1 */
};

static const struct
{
	const char *s;
	bool		valid;
}			lfdi_cases[] = {
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23E5", true},
	{"3e4f45ab31edfe5b67e343e5e4562e31984e23e5", true},
	{"", false},
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23E", false},	/* 39 */
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23E50", false},	/* 41 */
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23EG", false},
	{"3E4F45AB31EDFE5B67E343E5E4562E31984E23E ", false},
	{" 3E4F45AB31EDFE5B67E343E5E4562E31984E23E", false},
	{"0x4F45AB31EDFE5B67E343E5E4562E31984E23E5", false},
	{"3E4F45AB-1EDFE5B67E343E5E4562E31984E23E5", false},
};

/* Files that must give an error, and which one. */
static const struct
{
	const char *path;
	derms_rc	rc;
}			bad_files[] = {
	{DATA_DIR "does-not-exist.pem", DERMS_ENOTFOUND},
	{DATA_DIR "pubkey.pem", DERMS_EPARSE},
	{DATA_DIR "garbage.pem", DERMS_EPARSE},
	{DATA_DIR "ec-p256.der", DERMS_EPARSE},	/* DER is not PEM */
	{DATA_DIR "README.md", DERMS_EPARSE},
	{"", DERMS_EINVAL},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Read a whole file; new buffer. */
static unsigned char *
read_file(const char *path, size_t *len)
{
	FILE	   *fp = fopen(path, "rb");
	unsigned char *buf;
	long		n;

	ck_assert_msg(fp != NULL, "cannot open %s (run from the repository root)",
				  path);
	ck_assert_int_eq(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	ck_assert_int_gt(n, 0);
	rewind(fp);
	buf = malloc((size_t) n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, (size_t) n, fp), (size_t) n);
	fclose(fp);
	*len = (size_t) n;
	return buf;
}

/* Sum of the decimal digits of v. */
static unsigned
digit_sum(uint64_t v)
{
	unsigned	s = 0;

	for (; v > 0; v /= 10)
		s += (unsigned) (v % 10);
	return s;
}

START_TEST(test_sfdi_ieee_vector)
{
	ck_assert_uint_eq(
		identity_sfdi_from_lfdi_hex("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"),
		UINT64_C(167261211391));
}
END_TEST

START_TEST(test_sfdi_vectors)
{
	uint64_t	sfdi = identity_sfdi_from_lfdi_hex(sfdi_vectors[_i].lfdi);

	ck_assert_msg(sfdi == sfdi_vectors[_i].sfdi,
				  "lfdi %s: sfdi %llu, want %llu", sfdi_vectors[_i].lfdi,
				  (unsigned long long) sfdi,
				  (unsigned long long) sfdi_vectors[_i].sfdi);
	ck_assert_uint_le(sfdi, IDENTITY_SFDI_MAX);
	ck_assert_uint_eq(digit_sum(sfdi) % 10, 0);
}
END_TEST

START_TEST(test_sfdi_bad_lfdi)
{
	ck_assert_uint_eq(identity_sfdi_from_lfdi_hex(NULL), 0);
	ck_assert_uint_eq(identity_sfdi_from_lfdi_hex(""), 0);
	ck_assert_uint_eq(identity_sfdi_from_lfdi_hex("3E4F45AB31"), 0);
	ck_assert_uint_eq(
		identity_sfdi_from_lfdi_hex("ZZ4F45AB31EDFE5B67E343E5E4562E31984E23E5"),
		0);
}
END_TEST

START_TEST(test_check_digit)
{
	int			d = identity_sfdi_check_digit(check_digits[_i].value);

	ck_assert_msg(d == check_digits[_i].digit, "%llu: check digit %d, want %d",
				  (unsigned long long) check_digits[_i].value, d,
				  check_digits[_i].digit);
	ck_assert_uint_eq(digit_sum(check_digits[_i].value * 10 + (uint64_t) d) % 10,
					  0);
}
END_TEST

START_TEST(test_lfdi_valid)
{
	ck_assert_msg(identity_lfdi_valid(lfdi_cases[_i].s) == lfdi_cases[_i].valid,
				  "\"%s\" should be %s", lfdi_cases[_i].s,
				  lfdi_cases[_i].valid ? "valid" : "invalid");
}
END_TEST

START_TEST(test_from_lfdi)
{
	derms_identity id;

	/* lower case in, upper case out, SFDI derived (IEEE 2030.5 vector) */
	ck_assert(identity_from_lfdi("3e4f45ab31edfe5b67e343e5e4562e31984e23e5", &id));
	ck_assert_str_eq(id.lfdi, "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5");
	ck_assert_uint_eq(id.sfdi, 167261211391ULL);
	ck_assert_str_eq(id.fingerprint, "");
	ck_assert(!identity_from_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E", &id));
	ck_assert(!identity_from_lfdi("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5X", &id));
	ck_assert(!identity_from_lfdi("", &id));
	ck_assert_str_eq(id.lfdi, "");
}
END_TEST

START_TEST(test_lfdi_valid_null)
{
	ck_assert(!identity_lfdi_valid(NULL));
}
END_TEST

START_TEST(test_from_pem_file)
{
	derms_identity id;
	derms_err	err;
	char		path[256];

	snprintf(path, sizeof(path), DATA_DIR "%s", pem_vectors[_i].file);
	derms_err_clear(&err);
	ck_assert_msg(identity_from_pem_file(path, &id, &err) == DERMS_OK,
				  "%s: %s (%s)", path, err.msg, err.detail);
	ck_assert_str_eq(id.lfdi, pem_vectors[_i].lfdi);
	ck_assert_uint_eq(id.sfdi, pem_vectors[_i].sfdi);
	ck_assert_str_eq(id.fingerprint, pem_vectors[_i].fingerprint);
	ck_assert(identity_lfdi_valid(id.lfdi));
	ck_assert_uint_eq(identity_sfdi_from_lfdi_hex(id.lfdi), id.sfdi);
}
END_TEST

START_TEST(test_from_der)
{
	derms_identity id;
	derms_err	err;
	size_t		len;
	unsigned char *der = read_file(DATA_DIR "ec-p256.der", &len);

	derms_err_clear(&err);
	ck_assert_int_eq(identity_from_der(der, len, &id, &err), DERMS_OK);
	ck_assert_str_eq(id.lfdi, EC_LFDI);
	ck_assert_uint_eq(id.sfdi, EC_SFDI);
	ck_assert_str_eq(id.fingerprint, EC_FP);
	/* the handshake path hashes without parsing: same identity */
	ck_assert_int_eq(identity_from_verified_der(der, len, &id, &err), DERMS_OK);
	ck_assert_str_eq(id.lfdi, EC_LFDI);
	ck_assert_uint_eq(id.sfdi, EC_SFDI);
	ck_assert_str_eq(id.fingerprint, EC_FP);
	free(der);
}
END_TEST

START_TEST(test_der_bad)
{
	static const unsigned char junk[] = "not a certificate at all";
	derms_identity id;
	derms_err	err;
	size_t		len;
	unsigned char *der = read_file(DATA_DIR "ec-p256.der", &len);
	unsigned char *longer = malloc(len + 1);

	ck_assert_ptr_nonnull(longer);

	/* Empty. */
	derms_err_clear(&err);
	ck_assert_int_eq(identity_from_der(NULL, 0, &id, &err), DERMS_EINVAL);
	ck_assert_str_ne(err.msg, "");
	ck_assert_int_eq(identity_from_der(der, 0, &id, &err), DERMS_EINVAL);
	ck_assert_str_eq(id.lfdi, "");

	/* Not DER at all. */
	ck_assert_int_eq(identity_from_der(junk, sizeof(junk), &id, &err),
					 DERMS_EPARSE);
	ck_assert_str_ne(err.msg, "");

	/* Truncated, at every length: an error, never a crash. */
	for (size_t n = 1; n < len; n++)
		ck_assert_int_eq(identity_from_der(der, n, &id, NULL), DERMS_EPARSE);

	/* One byte of trailing data. */
	memcpy(longer, der, len);
	longer[len] = 0;
	ck_assert_int_eq(identity_from_der(longer, len + 1, &id, &err),
					 DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "trailing"));

	/* One flipped byte inside the TBSCertificate header. */
	memcpy(longer, der, len);
	longer[1] ^= 0x40;
	ck_assert_int_ne(identity_from_der(longer, len, &id, NULL), DERMS_OK);

	free(longer);
	free(der);
}
END_TEST

START_TEST(test_pem_bad)
{
	derms_identity id;
	derms_err	err;

	derms_err_clear(&err);
	ck_assert_msg(identity_from_pem_file(bad_files[_i].path, &id, &err) ==
				  bad_files[_i].rc, "\"%s\": got %d (%s), want %d",
				  bad_files[_i].path, err.code, err.msg, bad_files[_i].rc);
	ck_assert_int_eq(err.code, bad_files[_i].rc);
	ck_assert_str_ne(err.msg, "");
	ck_assert_str_eq(id.lfdi, "");
	ck_assert_uint_eq(id.sfdi, 0);
}
END_TEST

START_TEST(test_pem_directory)
{
	derms_identity id;
	derms_err	err;

	derms_err_clear(&err);
	ck_assert_int_ne(identity_from_pem_file(DATA_DIR, &id, &err), DERMS_OK);
	ck_assert_str_ne(err.msg, "");
}
END_TEST

START_TEST(test_pem_empty_and_truncated)
{
	char	   *dir = test_mkdtemp("identity");
	char		path[512];
	derms_identity id;
	derms_err	err;
	size_t		len;
	unsigned char *pem;
	FILE	   *fp;

	ck_assert_ptr_nonnull(dir);
	pem = read_file(DATA_DIR "ec-p256.pem", &len);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);

	/* Empty file. */
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	fclose(fp);
	ck_assert_int_eq(identity_from_pem_file(path, &id, &err), DERMS_EPARSE);

	/* Cut off before the END line. */
	fp = fopen(path, "w");
	ck_assert_ptr_nonnull(fp);
	ck_assert_uint_eq(fwrite(pem, 1, len / 2, fp), len / 2);
	fclose(fp);
	ck_assert_int_eq(identity_from_pem_file(path, &id, &err), DERMS_EPARSE);

	free(pem);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	free(dir);
}
END_TEST

Suite *
identity_suite(void)
{
	Suite	   *s = suite_create("identity");
	TCase	   *tc;

	tc = tcase_create("sfdi");
	tcase_add_test(tc, test_sfdi_ieee_vector);
	tcase_add_loop_test(tc, test_sfdi_vectors, 0, NELEM(sfdi_vectors));
	tcase_add_test(tc, test_sfdi_bad_lfdi);
	tcase_add_loop_test(tc, test_check_digit, 0, NELEM(check_digits));
	suite_add_tcase(s, tc);

	tc = tcase_create("lfdi");
	tcase_add_loop_test(tc, test_lfdi_valid, 0, NELEM(lfdi_cases));
	tcase_add_test(tc, test_lfdi_valid_null);
	tcase_add_test(tc, test_from_lfdi);
	suite_add_tcase(s, tc);

	tc = tcase_create("certificate");
	tcase_add_loop_test(tc, test_from_pem_file, 0, NELEM(pem_vectors));
	tcase_add_test(tc, test_from_der);
	tcase_add_test(tc, test_der_bad);
	tcase_add_loop_test(tc, test_pem_bad, 0, NELEM(bad_files));
	tcase_add_test(tc, test_pem_directory);
	tcase_add_test(tc, test_pem_empty_and_truncated);
	suite_add_tcase(s, tc);

	return s;
}
