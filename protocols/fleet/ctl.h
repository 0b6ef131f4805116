/*
 * protocols/fleet/ctl.h
 *	  dermsctl's fleet commands: enroll, import, fleet.
 *
 * NOTES
 *	  dermsctl connects and passes the connection; argv[0] is the command
 *	  name ("enroll", "import" or "fleet").  Returns the exit status:
 *	  0 done, 1 failed (nothing changed), 2 usage error.
 */
#ifndef DERMS_FLEET_CTL_H
#define DERMS_FLEET_CTL_H

#include <libpq-fe.h>

int			fleet_ctl_main(PGconn *conn, int argc, char **argv);

/* One usage line per command, for dermsctl --help. */
extern const char fleet_ctl_usage_enroll[];
extern const char fleet_ctl_usage_import[];
extern const char fleet_ctl_usage_fleet[];

#endif							/* DERMS_FLEET_CTL_H */
