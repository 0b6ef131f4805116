/*
 * settlement/ctl.c
 *	  "dermsctl settle ...".  PLACEHOLDER: being written.
 */
#include "ctl.h"

#include <stdio.h>

int
settle_ctl_main(int argc, char **argv)
{
	(void) argc;
	(void) argv;
	fprintf(stderr, "dermsctl: settle: not available yet\n");
	return 2;
}
