/*
 * server/err.h
 *	  Error codes and the caller-owned error buffer every fallible function
 *	  fills.
 *
 * NOTES
 *	  A function returns DERMS_OK or a negative code and, on failure, writes
 *	  a one-line lowercase message into the derms_err the caller passed.
 *	  Passing a NULL derms_err is allowed; the message is then dropped.
 */
#ifndef DERMS_ERR_H
#define DERMS_ERR_H

#include <stddef.h>

typedef enum derms_rc
{
	DERMS_OK = 0,
	DERMS_EINVAL = -1,			/* a caller's argument or an input is invalid */
	DERMS_EPARSE = -2,			/* malformed input (config, XML, JSON, PEM) */
	DERMS_ERANGE = -3,			/* a value outside its bounds */
	DERMS_ENOMEM = -4,			/* allocation failed */
	DERMS_EIO = -5,				/* a system call failed */
	DERMS_EDB = -6,				/* the database failed or is unreachable */
	DERMS_ETLS = -7,			/* a TLS or certificate operation failed */
	DERMS_ENOTFOUND = -8,		/* the thing asked for does not exist */
	DERMS_EEXIST = -9,			/* the thing to create exists already */
	DERMS_EPERM = -10			/* not allowed */
} derms_rc;

#define DERMS_ERR_MSG_MAX 512

typedef struct derms_err
{
	derms_rc	code;
	char		msg[DERMS_ERR_MSG_MAX];
	char		detail[DERMS_ERR_MSG_MAX];	/* optional, "" when none */
} derms_err;

/* Fill err (if not NULL) and return code. */
derms_rc	derms_err_set(derms_err *err, derms_rc code, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));

/* Fill err->detail (if err is not NULL); code and msg are left alone. */
void		derms_err_detail(derms_err *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

void		derms_err_clear(derms_err *err);

/* A short, static name for a code: "parse error", "database error" ... */
const char *derms_rc_name(derms_rc rc);

#endif							/* DERMS_ERR_H */
