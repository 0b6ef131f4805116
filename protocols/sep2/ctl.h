/*
 * protocols/sep2/ctl.h
 *	  dermsctl's der commands: IEEE 2030.5 DER programs and controls.
 *
 * NOTES
 *	  dermsctl connects and passes the connection; argv[0] is "der".
 *	  Returns the exit status: 0 done, 1 failed (nothing changed), 2 usage
 *	  or input refused.
 */
#ifndef DERMS_SEP2_CTL_H
#define DERMS_SEP2_CTL_H

#include <libpq-fe.h>

int			sep2_ctl_main(PGconn *conn, int argc, char **argv);

extern const char sep2_ctl_usage[];

#endif							/* DERMS_SEP2_CTL_H */
