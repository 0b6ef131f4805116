/*
 * server/cli.h
 *	  Shared by dermsctl and the modules' command-line front ends.
 */
#ifndef DERMS_CLI_H
#define DERMS_CLI_H

/* One line on stderr: "dermsctl: " and the message. */
void		cli_fail(const char *fmt,...) __attribute__((format(printf, 1, 2)));

#endif							/* DERMS_CLI_H */
