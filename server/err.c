/*
 * server/err.c
 *	  Filling derms_err buffers.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

derms_rc
derms_err_set(derms_err *err, derms_rc code, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->detail[0] = '\0';
	return code;
}

void
derms_err_detail(derms_err *err, const char *fmt,...)
{
	va_list		ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
}

void
derms_err_clear(derms_err *err)
{
	if (err == NULL)
		return;
	err->code = DERMS_OK;
	err->msg[0] = '\0';
	err->detail[0] = '\0';
}

const char *
derms_rc_name(derms_rc rc)
{
	switch (rc)
	{
		case DERMS_OK:
			return "ok";
		case DERMS_EINVAL:
			return "invalid argument";
		case DERMS_EPARSE:
			return "parse error";
		case DERMS_ERANGE:
			return "value out of range";
		case DERMS_ENOMEM:
			return "out of memory";
		case DERMS_EIO:
			return "i/o error";
		case DERMS_EDB:
			return "database error";
		case DERMS_ETLS:
			return "tls error";
		case DERMS_ENOTFOUND:
			return "not found";
		case DERMS_EEXIST:
			return "already exists";
		case DERMS_EPERM:
			return "not permitted";
	}
	return "unknown error";
}
