/*
 * server/cli.c
 *	  Shared by dermsctl and the modules' command-line front ends: the
 *	  error line, statements that report their own errors, and the audit
 *	  record of a change made from the command line.
 *
 * NOTES
 *	  Runs in dermsctl only, never in dermsd.
 */
#include "cli.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

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

PGresult *
cli_exec(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult   *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		cli_fail("database error: %s", m ? m : PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

bool
cli_run(PGconn *c, const char *sql)
{
	PGresult   *r = cli_exec(c, sql, 0, NULL);

	if (r == NULL)
		return false;
	PQclear(r);
	return true;
}

const char *
cli_actor(void)
{
	static char buf[128];
	struct passwd *pw = getpwuid(getuid());

	snprintf(buf, sizeof(buf), "dermsctl:%s", pw ? pw->pw_name : "unknown");
	return buf;
}

bool
cli_audit(PGconn *c, const char *action, const char *object,
		  const char *detail_json)
{
	const char *p[4] = {cli_actor(), action, object, detail_json};
	PGresult   *r = cli_exec(c, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p);

	if (r == NULL)
		return false;
	PQclear(r);
	return true;
}
