/*
 * server/identity.h
 *	  IEEE 2030.5 client identity: the LFDI, SFDI and SHA-256 fingerprint
 *	  of a certificate.
 *
 * NOTES
 *	  IEEE 2030.5 names a client by the hash of its certificate: the LFDI is
 *	  the first 160 bits of SHA-256 over the certificate's DER encoding,
 *	  written as 40 hex digits; the SFDI is the first 36 bits of the same
 *	  hash as a decimal number followed by one check digit chosen so that
 *	  the sum of all the decimal digits is a multiple of 10.
 *
 *	  Everything here is a pure function of its arguments (identity_from_
 *	  pem_file only reads the file), safe in any process and any thread.
 *	  Nothing allocates memory the caller must free.
 */
#ifndef DERMS_IDENTITY_H
#define DERMS_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define IDENTITY_LFDI_HEX_LEN 40	/* hex digits in an LFDI */
#define IDENTITY_FINGERPRINT_HEX_LEN 64	/* hex digits in a SHA-256 */
/* The largest SFDI: that of an all-ones hash, check digit included. */
#define IDENTITY_SFDI_MAX UINT64_C(687194767357)

typedef struct derms_identity
{
	char		lfdi[IDENTITY_LFDI_HEX_LEN + 1];	/* upper-case hex */
	uint64_t	sfdi;			/* 36 hash bits, then the check digit */
	char		fingerprint[IDENTITY_FINGERPRINT_HEX_LEN + 1];	/* lower-case */
} derms_identity;

/*
 * Identity of the certificate whose DER encoding is der[0..len).  The bytes
 * must be exactly one X.509 certificate (DERMS_EINVAL when empty,
 * DERMS_EPARSE when not a certificate or followed by trailing bytes).  The
 * hash is taken over the bytes as given.  *out is zeroed on failure.
 */
derms_rc	identity_from_der(const unsigned char *der, size_t len,
							  derms_identity *out, derms_err *err);

/*
 * Identity of the first certificate in the PEM file at path (other PEM
 * blocks before it are skipped).  DERMS_ENOTFOUND when the file does not
 * exist, DERMS_EIO when it cannot be read, DERMS_EPARSE when it holds no
 * certificate.
 */
/*
 * Same as identity_from_der for a certificate the TLS library has already
 * parsed and verified: hashes the bytes without parsing them again (the
 * handshake path, where a second parse is measurable).
 */
derms_rc	identity_from_verified_der(const unsigned char *der, size_t len,
									   derms_identity *out, derms_err *err);

derms_rc	identity_from_pem_file(const char *path, derms_identity *out,
								   derms_err *err);

/*
 * SFDI of an LFDI given as 40 hex digits (either case), check digit
 * included.  Returns 0 when lfdi40 is not a valid LFDI.
 */
uint64_t	identity_sfdi_from_lfdi_hex(const char *lfdi40);

/*
 * The digit (0..9) that, appended to sfdi_without_check, makes the sum of
 * all decimal digits a multiple of 10.
 */
int			identity_sfdi_check_digit(uint64_t sfdi_without_check);

/* True when s is exactly 40 hex digits (either case) and nothing else. */
bool		identity_lfdi_valid(const char *s);

/*
 * An identity known only by its LFDI (from a trusted proxy's header or an
 * operator's command line): lfdi upper-cased, sfdi derived, fingerprint
 * empty.  False when lfdi is not 40 hex digits.
 */
bool		identity_from_lfdi(const char *lfdi, derms_identity *out);

#endif							/* DERMS_IDENTITY_H */
