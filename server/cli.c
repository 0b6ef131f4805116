/*
 * server/cli.c
 *	  Shared by dermsctl and the modules' command-line front ends.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

void
cli_fail(const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "dermsctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}
