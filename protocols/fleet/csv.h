/*
 * protocols/fleet/csv.h
 *	  A strict RFC 4180 CSV reader over a buffer in memory.
 *
 * NOTES
 *	  Fields are separated by commas, records by LF or CRLF.  A quoted
 *	  field may hold commas, doubled quotes and line breaks; a quote inside
 *	  an unquoted field, text after a closing quote, an unterminated quote,
 *	  a NUL byte and a blank line are errors.  After an error the reader
 *	  skips to the next line, so a caller can report every bad record.
 *	  Fields point into the reader's own buffer and stay valid until the
 *	  next call.  Pure: no I/O, testable without files.
 */
#ifndef DERMS_FLEET_CSV_H
#define DERMS_FLEET_CSV_H

#include <stddef.h>

#include "server/err.h"

#define FLEET_CSV_MAX_FIELDS 64

typedef struct fleet_csv
{
	const char *p;				/* next byte */
	const char *end;
	long		line;			/* line of the next byte, from 1 */
	char	   *buf;			/* field text, reused per record */
	size_t		cap;
} fleet_csv;

typedef struct fleet_csv_record
{
	long		line;			/* where the record starts */
	size_t		nfields;
	const char *fields[FLEET_CSV_MAX_FIELDS];	/* borrowed */
} fleet_csv_record;

void		fleet_csv_init(fleet_csv *r, const char *data, size_t len);
void		fleet_csv_free(fleet_csv *r);

/*
 * Read the next record.  Returns DERMS_OK, DERMS_ENOTFOUND at the end of
 * the data, or DERMS_EPARSE with err naming the problem (rec->line is the
 * record's first line); DERMS_ENOMEM when the buffer cannot grow.
 */
derms_rc	fleet_csv_next(fleet_csv *r, fleet_csv_record *rec, derms_err *err);

#endif							/* DERMS_FLEET_CSV_H */
