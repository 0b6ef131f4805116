/*
 * protocols/openadr/ctl.h
 *	  dermsctl's vtn commands: OAuth2 clients of the VTN, token keys.
 *
 * NOTES
 *	  dermsctl connects and passes the connection; argv[0] is "vtn".
 *	  Returns the exit status: 0 done, 1 failed (nothing changed), 2 usage.
 */
#ifndef DERMS_OADR_CTL_H
#define DERMS_OADR_CTL_H

#include <libpq-fe.h>

int			vtn_ctl_main(PGconn *conn, int argc, char **argv);

/* dermsctl vtn jwks KEY.pem: print the public JWKS (no database). */
int			vtn_ctl_jwks(const char *keyfile);

extern const char vtn_ctl_usage[];

#endif							/* DERMS_OADR_CTL_H */
