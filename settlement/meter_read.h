/*
 * settlement/meter_read.h
 *	  The strict CSV reader for interval data, and the small line-oriented
 *	  input files the calculator takes (dates, instructions, prices).
 *
 * NOTES
 *	  Interval data, one reading a line, after the exact header
 *	    resource,interval_start,interval_minutes,kwh
 *	  resource: 1-64 of [A-Za-z0-9_.:-]; interval_start: ISO 8601 with Z
 *	  or an offset; interval_minutes: 5, 15 or 60; kwh: -?digits[.digits]
 *	  (at most 15 significant digits, no exponent).  LF or CRLF endings.
 *	  Every error names the file, the line and the field.
 */
#ifndef DERMS_SETTLEMENT_METER_READ_H
#define DERMS_SETTLEMENT_METER_READ_H

#include <stddef.h>

#include "server/err.h"
#include "settlement/series.h"

#define SETTLE_CSV_HEADER "resource,interval_start,interval_minutes,kwh"

/* Read a whole file; *buf is new (malloc), NUL-terminated. */
derms_rc	settle_file_read(const char *path, char **buf, size_t *len,
							 derms_err *err);

/* Parse interval data in buf into set; label names the input in errors.
 * Gaps are left for settle_series_set_estimate(). */
derms_rc	settle_meter_parse(const char *buf, size_t len, const char *label,
							   settle_series_set *set, derms_err *err);

derms_rc	settle_meter_read(const char *path, settle_series_set *set,
							  derms_err *err);

/* Strict decimal: -?digits[.digits], <= 15 significant digits. */
derms_rc	settle_parse_decimal(const char *s, size_t len, double *out);

/* Is s[0..len) a valid resource id? */
int			settle_resource_ok(const char *s, size_t len);

/*
 * Line iteration shared by the readers: line and len get the next line
 * without its LF or CRLF; returns 0 at the end of buf.
 */
typedef struct settle_lines
{
	const char *buf;
	size_t		len;
	size_t		pos;
	size_t		lineno;
} settle_lines;

void		settle_lines_init(settle_lines *it, const char *buf, size_t len);
int			settle_lines_next(settle_lines *it, const char **line,
							  size_t *len);

/* Split line into exactly nf comma-separated fields; 0 when the count
 * differs. */
int			settle_split(const char *line, size_t len, int nf,
						 const char **f, size_t *fl);

#endif							/* DERMS_SETTLEMENT_METER_READ_H */
