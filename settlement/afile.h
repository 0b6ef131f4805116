/*
 * settlement/afile.h
 *	  Crash-safe output files: a set of files that appear under their final
 *	  names complete or not at all, and SHA-256 of what was written.
 *
 * NOTES
 *	  Each file is written to a hidden temporary name in the destination
 *	  directory (".NAME.tmp.PID"), fsync'ed and closed; only when every
 *	  file of the set is on disk are they renamed over their final names,
 *	  and then the directory is fsync'ed.  A failure before the renames
 *	  removes every temporary and leaves the directory as it was.  A
 *	  process killed by a signal can leave a temporary behind, never a
 *	  truncated file under a final name; the next export into the same
 *	  directory sweeps such leftovers away (settle_afile_sweep).
 */
#ifndef DERMS_SETTLEMENT_AFILE_H
#define DERMS_SETTLEMENT_AFILE_H

#include <stddef.h>

#include "server/err.h"

#define SETTLE_SHA256_HEX 65	/* 64 hex digits and a NUL */
#define SETTLE_AFILE_MAX 8		/* files in one set */
#define SETTLE_AFILE_NAME_MAX 200

typedef struct settle_afile_set
{
	const char *dir;			/* borrowed */
	int			n;
	char		name[SETTLE_AFILE_MAX][SETTLE_AFILE_NAME_MAX];
	char		tmp[SETTLE_AFILE_MAX][SETTLE_AFILE_NAME_MAX + 32];
} settle_afile_set;

/* Lowercase hex SHA-256 of buf (OpenSSL EVP) into hex. */
derms_rc	settle_sha256_hex(const void *buf, size_t len,
							  char hex[SETTLE_SHA256_HEX], derms_err *err);

/* Is dir an existing directory we may create files in? */
derms_rc	settle_afile_check_dir(const char *dir, derms_err *err);

void		settle_afile_init(settle_afile_set *set, const char *dir);

/* Write buf to a temporary of name in the set's directory and fsync it.
 * On failure every temporary of the set is removed. */
derms_rc	settle_afile_stage(settle_afile_set *set, const char *name,
							   const char *buf, size_t len, derms_err *err);

/* Rename every staged file over its final name, then fsync the directory.
 * The set is empty afterwards. */
derms_rc	settle_afile_commit(settle_afile_set *set, derms_err *err);

/* Remove every staged temporary (after a failure elsewhere). */
void		settle_afile_abort(settle_afile_set *set);

/* Remove the hidden temporaries (".NAME.tmp.PID") that a killed writer
 * left in dir: those whose PID is no longer a live process.  Returns how
 * many were removed. */
int			settle_afile_sweep(const char *dir);

#endif							/* DERMS_SETTLEMENT_AFILE_H */
