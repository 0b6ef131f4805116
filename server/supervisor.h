/*
 * server/supervisor.h
 *	  The supervisor process and its table of worker roles.
 *
 * NOTES
 *	  The supervisor binds the listening sockets, forks the workers of
 *	  each role, restarts a crashed worker alone with exponential backoff,
 *	  re-reads the configuration on SIGHUP and drains everything on
 *	  SIGTERM.  It opens no database connection and parses no request.
 */
#ifndef DERMS_SUPERVISOR_H
#define DERMS_SUPERVISOR_H

#include "config.h"
#include "http.h"

/* Exit codes shared by the supervisor and its workers. */
#define DERMS_EXIT_OK 0			/* asked to stop */
#define DERMS_EXIT_FAILURE 1	/* orderly failure: restart with backoff */
#define DERMS_EXIT_CONFIG 78	/* bad configuration: wait for SIGHUP */

/* What a worker gets from the supervisor. */
typedef struct worker_env
{
	const char *role;			/* role name, for logs */
	int			slot;			/* index in metrics->slots */
	int			listen_fd[HTTP_NLISTENERS];	/* -1 when not this role's */
	const char *config_path;
} worker_env;

/* A role's main function: runs in the forked child, returns its exit code.
 * cfg is the child's own copy; the role may replace it on reload. */
typedef int (*worker_main_fn) (derms_config *cfg, const worker_env *env);

/* Run the supervisor until asked to stop; returns the exit code.
 * cfg is owned by the supervisor from here on. */
int			supervisor_run(derms_config *cfg);

/* Role table queries (for /readyz and /metrics). */
int			supervisor_nroles(void);
const char *supervisor_role_name(int role);
int			supervisor_role_count(const derms_config *cfg, int role);
bool		supervisor_role_is_oneshot(int role);

/* Validate the TLS material the config names (for --check-config and
 * SIGHUP): each certificate and key loads and they match. */
derms_rc	supervisor_check_tls(const derms_config *cfg, derms_err *err);

#endif							/* DERMS_SUPERVISOR_H */
