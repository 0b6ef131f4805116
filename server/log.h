/*
 * server/log.h
 *	  One line per event on stderr, "[pid role] level: message".
 *
 * NOTES
 *	  Each line is written with a single write(2), so lines from several
 *	  processes sharing stderr never interleave.  When stderr is connected
 *	  to the journal (JOURNAL_STREAM matches it), events go to journald with
 *	  structured fields (PRIORITY, DERMS_ROLE, DERMS_PID) instead.
 *	  Levels are the syslog ones: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG.
 */
#ifndef DERMS_LOG_H
#define DERMS_LOG_H

#include <syslog.h>

/* Set the role shown in every line; role is copied.  Safe to call again. */
void		log_init(const char *role);

/* Lines above this level are dropped (default LOG_INFO). */
void		log_set_level(int level);

/* Parse "error", "warning", "info", "debug"; -1 when unknown. */
int			log_level_from_name(const char *name);

void		log_msg(int level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

#endif							/* DERMS_LOG_H */
