/*
 * server/cli.h
 *	  Shared by dermsctl and the modules' command-line front ends.
 *
 * NOTES
 *	  Every failure is reported on stderr here, as one line starting with
 *	  "dermsctl: "; callers only turn it into an exit code.
 */
#ifndef DERMS_CLI_H
#define DERMS_CLI_H

#include <stdbool.h>

#include <libpq-fe.h>

/* One line on stderr: "dermsctl: " and the message. */
void		cli_fail(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* sql with n text parameters; the result (new), or NULL after a
 * "database error" line. */
PGresult   *cli_exec(PGconn *c, const char *sql, int n,
					 const char *const *params);

/* A statement without parameters whose rows are not needed (BEGIN,
 * COMMIT); false after a "database error" line. */
bool		cli_run(PGconn *c, const char *sql);

/* "dermsctl:USER", the actor of the tool's audit records; borrowed. */
const char *cli_actor(void);

/* An audit_log record by cli_actor(); detail_json is a JSON object.
 * false after a "database error" line. */
bool		cli_audit(PGconn *c, const char *action, const char *object,
					  const char *detail_json);

#endif							/* DERMS_CLI_H */
