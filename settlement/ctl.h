/*
 * settlement/ctl.h
 *	  "dermsctl settle ...": the command-line side of settlement.
 */
#ifndef DERMS_SETTLEMENT_CTL_H
#define DERMS_SETTLEMENT_CTL_H

/*
 * argv[0] is "settle"; returns the process exit code.  conninfo is the
 * database of dermsctl's -c/--db options, or NULL; only "settle export"
 * uses it (for the audit record).
 */
int			settle_ctl_main(const char *conninfo, int argc, char **argv);

#endif							/* DERMS_SETTLEMENT_CTL_H */
