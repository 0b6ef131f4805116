/*
 * dispatch/ctl.h
 *	  "dermsctl dispatch ...": the command-line side of dispatch.
 */
#ifndef DERMS_DISPATCH_CTL_H
#define DERMS_DISPATCH_CTL_H

#include <libpq-fe.h>

#include "dispatch/store.h"

/* argv[0] is "dispatch"; returns the process exit code. */
int			dispatch_ctl_main(int argc, char **argv);

/*
 * "dispatch run" and "dispatch show" on the database at c (argv[0] is
 * "dispatch"); defaults gives the horizon, the offline limit, the actor
 * and the publishing function.  Returns the process exit code.
 */
int			dispatch_ctl_db_main(PGconn *c, const dispatch_run_request *defaults,
								 int argc, char **argv);

#endif							/* DERMS_DISPATCH_CTL_H */
