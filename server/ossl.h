/*
 * server/ossl.h
 *	  Small shared pieces for code that uses the OpenSSL library.
 */
#ifndef DERMS_OSSL_H
#define DERMS_OSSL_H

#include "err.h"

/* Move OpenSSL's most recent error into err->detail; empty its queue. */
void		ossl_err_detail(derms_err *err);

/* A pem_password_cb that refuses, so OpenSSL never prompts on a tty. */
int			ossl_no_passphrase(char *buf, int size, int rwflag, void *u);

#endif							/* DERMS_OSSL_H */
