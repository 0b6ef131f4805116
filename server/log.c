/*
 * server/log.c
 *	  The logger: stderr lines with pid and role, or journald fields.
 *
 * NOTES
 *	  Runs in every process.  No allocation: the line is formatted into a
 *	  stack buffer and written once.  errno is preserved, so callers may
 *	  log between a failing call and reading errno (and %m works).
 */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#define LOG_LINE_MAX 2048

static char log_role[32] = "dermsd";
static int	log_level = LOG_INFO;
static int	log_journal = -1;	/* -1 unknown, 0 stderr, 1 journald */

static const char *const level_names[] = {
	[LOG_EMERG] = "fatal", [LOG_ALERT] = "fatal", [LOG_CRIT] = "fatal",
	[LOG_ERR] = "error", [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

/*
 * stderr is the journal when JOURNAL_STREAM names the device and inode of
 * our stderr (systemd's documented test).
 */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%lu:%lu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long) st.st_dev == dev && (unsigned long) st.st_ino == ino;
}

void
log_init(const char *role)
{
	snprintf(log_role, sizeof(log_role), "%s", role);
	log_journal = stderr_is_journal();
}

void
log_set_level(int level)
{
	log_level = level;
}

int
log_level_from_name(const char *name)
{
	if (strcmp(name, "error") == 0)
		return LOG_ERR;
	if (strcmp(name, "warning") == 0)
		return LOG_WARNING;
	if (strcmp(name, "info") == 0)
		return LOG_INFO;
	if (strcmp(name, "debug") == 0)
		return LOG_DEBUG;
	return -1;
}

void
log_msg(int level, const char *fmt,...)
{
	char		line[LOG_LINE_MAX];
	int			saved_errno = errno;
	va_list		ap;
	int			n;
	size_t		len;

	if (level > log_level)
		return;
	if (level < 0 || level > LOG_DEBUG)
		level = LOG_ERR;
	if (log_journal < 0)
		log_journal = stderr_is_journal();

	if (log_journal)
	{
		char		msg[LOG_LINE_MAX];

		va_start(ap, fmt);
		errno = saved_errno;
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", level,
						"DERMS_ROLE=%s", log_role, "DERMS_PID=%d", (int) getpid(),
						"SYSLOG_IDENTIFIER=dermsd", NULL);
		errno = saved_errno;
		return;
	}

	n = snprintf(line, sizeof(line), "[%d %s] %s: ", (int) getpid(), log_role,
				 level_names[level]);
	len = (n < 0) ? 0 : (size_t) n;
	va_start(ap, fmt);
	errno = saved_errno;
	n = vsnprintf(line + len, sizeof(line) - len - 1, fmt, ap);
	va_end(ap);
	if (n > 0)
		len += ((size_t) n < sizeof(line) - len - 1) ? (size_t) n
			: sizeof(line) - len - 2;
	/* fold embedded newlines so one event stays one line */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[len++] = '\n';
	if (write(STDERR_FILENO, line, len) < 0)
	{
		/* nowhere left to report it */
	}
	errno = saved_errno;
}
