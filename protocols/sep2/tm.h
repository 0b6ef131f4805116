/*
 * protocols/sep2/tm.h
 *	  IEEE 2030.5 Time (/tm): current time, the zone's standard offset and
 *	  this year's daylight-saving rule results.
 */
#ifndef DERMS_SEP2_TM_H
#define DERMS_SEP2_TM_H

#include <stdint.h>
#include <time.h>

#include "server/http.h"

typedef struct sep2_time
{
	int64_t		current;		/* UTC seconds */
	int32_t		tz_offset;		/* standard time offset from UTC, seconds */
	int32_t		dst_offset;		/* added while daylight saving is in effect */
	int64_t		dst_start;		/* this year's start of DST, UTC; 0 if none */
	int64_t		dst_end;		/* this year's end of DST, UTC; 0 if none */
	int64_t		local;			/* current + tz_offset (+ dst_offset) */
} sep2_time;

/*
 * Fill t for the instant now in the process's time zone (TZ, set by the
 * sep2 worker from sep2.time_zone).  Pure apart from the C library's zone.
 */
void		sep2_time_at(time_t now, sep2_time *t);

/* The Time document for t; returns its length (buf always terminated). */
int			sep2_time_format(char *buf, size_t len, const sep2_time *t, int poll_rate);

int			sep2_tm_get(http_request *req);

#endif							/* DERMS_SEP2_TM_H */
