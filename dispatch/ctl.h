/*
 * dispatch/ctl.h
 *	  "dermsctl dispatch ...": the command-line side of dispatch.
 */
#ifndef DERMS_DISPATCH_CTL_H
#define DERMS_DISPATCH_CTL_H

/* argv[0] is "dispatch"; returns the process exit code. */
int			dispatch_ctl_main(int argc, char **argv);

#endif							/* DERMS_DISPATCH_CTL_H */
