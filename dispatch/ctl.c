/*
 * dispatch/ctl.c
 *	  "dermsctl dispatch ...".  PLACEHOLDER: being written.
 */
#include "ctl.h"

#include <stdio.h>

int
dispatch_ctl_main(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	fprintf(stderr, "dermsctl: dispatch: not available yet\n");
	return 2;
}
