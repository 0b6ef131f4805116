/*
 * server/ossl.c
 *	  Small shared pieces for code that uses the OpenSSL library.
 */
#include "ossl.h"

#include <openssl/err.h>

void
ossl_err_detail(derms_err *err)
{
	unsigned long e = ERR_peek_last_error();

	if (e != 0)
	{
		char		buf[256];

		ERR_error_string_n(e, buf, sizeof(buf));
		derms_err_detail(err, "%s", buf);
	}
	ERR_clear_error();
}

int
ossl_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void) buf;
	(void) size;
	(void) rwflag;
	(void) u;
	return -1;
}
