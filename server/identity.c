/*
 * server/identity.c
 *	  IEEE 2030.5 client identity (LFDI, SFDI, fingerprint) from a
 *	  certificate, with OpenSSL 3 doing the parsing and the SHA-256.
 *
 * NOTES
 *	  The hash is over the certificate's DER bytes exactly as presented;
 *	  a PEM file is decoded to its DER bytes and never re-encoded, so the
 *	  identity matches what a TLS peer computes from the same certificate.
 *	  The OpenSSL error queue is left empty on return.
 */
#include "identity.h"
#include "ossl.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define IDENTITY_SHA256_LEN 32
#define IDENTITY_LFDI_BYTES 20
#define IDENTITY_SFDI_BITS 36

static void identity_hex(const unsigned char *in, size_t n, const char *digits,
						 char *out);
static int	identity_hex_value(char c);
static uint64_t identity_sfdi_from_hash(const unsigned char *hash);

/* Write n bytes as 2n hex digits from the table digits, NUL-terminated. */
static void
identity_hex(const unsigned char *in, size_t n, const char *digits, char *out)
{
	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* Value of one hex digit, or -1. */
static int
identity_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* SFDI from the leading 36 bits of a hash (at least 5 bytes long). */
static uint64_t
identity_sfdi_from_hash(const unsigned char *hash)
{
	uint64_t	v = 0;

	for (int i = 0; i < 5; i++)
		v = (v << 8) | hash[i];
	v >>= 40 - IDENTITY_SFDI_BITS;
	return v * 10 + (uint64_t) identity_sfdi_check_digit(v);
}

int
identity_sfdi_check_digit(uint64_t sfdi_without_check)
{
	unsigned	sum = 0;

	for (uint64_t v = sfdi_without_check; v > 0; v /= 10)
		sum += (unsigned) (v % 10);
	return (int) ((10 - sum % 10) % 10);
}

bool
identity_lfdi_valid(const char *s)
{
	size_t		i;

	if (s == NULL)
		return false;
	for (i = 0; i < IDENTITY_LFDI_HEX_LEN; i++)
		if (identity_hex_value(s[i]) < 0)
			return false;		/* also stops at an early NUL */
	return s[i] == '\0';
}

bool
identity_from_lfdi(const char *lfdi, derms_identity *out)
{
	memset(out, 0, sizeof(*out));
	if (!identity_lfdi_valid(lfdi))
		return false;
	for (int i = 0; i < IDENTITY_LFDI_HEX_LEN; i++)
		out->lfdi[i] = (char) toupper((unsigned char) lfdi[i]);
	out->sfdi = identity_sfdi_from_lfdi_hex(out->lfdi);
	return true;
}

uint64_t
identity_sfdi_from_lfdi_hex(const char *lfdi40)
{
	unsigned char head[5];

	if (!identity_lfdi_valid(lfdi40))
		return 0;
	for (int i = 0; i < 5; i++)
		head[i] = (unsigned char) (identity_hex_value(lfdi40[2 * i]) << 4 |
								   identity_hex_value(lfdi40[2 * i + 1]));
	return identity_sfdi_from_hash(head);
}

derms_rc
identity_from_der(const unsigned char *der, size_t len, derms_identity *out,
				  derms_err *err)
{
	const unsigned char *p = der;
	X509	   *x;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));

	if (der == NULL || len == 0)
		return derms_err_set(err, DERMS_EINVAL, "certificate is empty");
	if (len > LONG_MAX)
		return derms_err_set(err, DERMS_ERANGE,
							 "certificate of %zu bytes is too large", len);

	x = d2i_X509(NULL, &p, (long) len);
	if (x == NULL)
	{
		derms_err_set(err, DERMS_EPARSE, "could not parse certificate DER");
		ossl_err_detail(err);
		return DERMS_EPARSE;
	}
	X509_free(x);
	if ((size_t) (p - der) != len)
		return derms_err_set(err, DERMS_EPARSE,
							 "%zu bytes of trailing data after certificate",
							 len - (size_t) (p - der));
	return identity_from_verified_der(der, len, out, err);
}

derms_rc
identity_from_verified_der(const unsigned char *der, size_t len,
						   derms_identity *out, derms_err *err)
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	assert(out != NULL && der != NULL && len > 0);
	memset(out, 0, sizeof(*out));
	if (EVP_Digest(der, len, hash, &hlen, EVP_sha256(), NULL) != 1 ||
		hlen != IDENTITY_SHA256_LEN)
	{
		derms_err_set(err, DERMS_ETLS, "could not compute SHA-256");
		ossl_err_detail(err);
		return DERMS_ETLS;
	}

	identity_hex(hash, IDENTITY_LFDI_BYTES, "0123456789ABCDEF", out->lfdi);
	identity_hex(hash, IDENTITY_SHA256_LEN, "0123456789abcdef",
				 out->fingerprint);
	out->sfdi = identity_sfdi_from_hash(hash);
	return DERMS_OK;
}

derms_rc
identity_from_pem_file(const char *path, derms_identity *out, derms_err *err)
{
	FILE	   *fp;
	BIO		   *bio;
	char	   *name = NULL;
	unsigned char *data = NULL;
	long		len = 0;
	derms_rc	rc;

	assert(out != NULL);
	memset(out, 0, sizeof(*out));

	if (path == NULL || *path == '\0')
		return derms_err_set(err, DERMS_EINVAL,
							 "certificate file name is empty");

	fp = fopen(path, "re");
	if (fp == NULL)
		return derms_err_set(err,
							 errno == ENOENT ? DERMS_ENOTFOUND : DERMS_EIO,
							 "could not open certificate file \"%s\": %m",
							 path);
	bio = BIO_new_fp(fp, BIO_NOCLOSE);
	if (bio == NULL)
	{
		fclose(fp);
		ERR_clear_error();
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}

	/*
	 * PEM_bytes_read_bio skips blocks of other types and hands back the DER
	 * bytes of the first certificate untouched.
	 */
	if (!PEM_bytes_read_bio(&data, &len, &name, PEM_STRING_X509, bio,
							ossl_no_passphrase, NULL))
	{
		int			ioerr = ferror(fp);

		BIO_free(bio);
		fclose(fp);
		if (ioerr)
		{
			ERR_clear_error();
			return derms_err_set(err, DERMS_EIO,
								 "could not read certificate file \"%s\"",
								 path);
		}
		derms_err_set(err, DERMS_EPARSE,
					  "no certificate found in file \"%s\"", path);
		ossl_err_detail(err);
		return DERMS_EPARSE;
	}
	BIO_free(bio);
	fclose(fp);

	rc = identity_from_der(data, len > 0 ? (size_t) len : 0, out, err);
	if (rc != DERMS_OK && err != NULL)
	{
		char		why[DERMS_ERR_MSG_MAX];

		snprintf(why, sizeof(why), "%s", err->msg);
		derms_err_set(err, rc, "invalid certificate in file \"%s\"", path);
		derms_err_detail(err, "%s", why);
	}
	OPENSSL_free(data);
	OPENSSL_free(name);
	return rc;
}
