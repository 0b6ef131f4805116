/*
 * settlement/ctl.h
 *	  "dermsctl settle ...": the command-line side of settlement.
 */
#ifndef DERMS_SETTLEMENT_CTL_H
#define DERMS_SETTLEMENT_CTL_H

/* argv[0] is "settle"; returns the process exit code. */
int			settle_ctl_main(int argc, char **argv);

#endif							/* DERMS_SETTLEMENT_CTL_H */
