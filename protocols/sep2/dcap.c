/*
 * protocols/sep2/dcap.c
 *	  IEEE 2030.5 DeviceCapability and Time resources.
 *
 * NOTES
 *	  Runs in sep2 workers only.  Documents are in the 2018 namespace and
 *	  list only resources that exist, so every link a client follows
 *	  resolves.  Time is served in UTC (tzOffset and dstOffset 0) until the
 *	  configured-zone support of the 2030.5 server lands.
 *	  Times are UTC seconds as in the standard; never local time.
 */
#include "dcap.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define SEP2_NS "urn:ieee:std:2030.5:ns"
#define SEP2_CT "application/sep+xml"

int
sep2_dcap_get(http_request *req)
{
	static const char doc[] =
		"<DeviceCapability xmlns=\"" SEP2_NS "\" href=\"/dcap\" pollRate=\"900\">"
		"<TimeLink href=\"/tm\"/>"
		"</DeviceCapability>";

	return http_reply(req, 200, SEP2_CT, doc, sizeof(doc) - 1);
}

int
sep2_tm_format(char *buf, size_t len, long long now)
{
	/* quality 7: the server's clock is not claimed to be authoritative */
	return snprintf(buf, len,
					"<Time xmlns=\"" SEP2_NS "\" href=\"/tm\" pollRate=\"900\">"
					"<currentTime>%lld</currentTime>"
					"<dstEndTime>0</dstEndTime>"
					"<dstOffset>0</dstOffset>"
					"<dstStartTime>0</dstStartTime>"
					"<localTime>%lld</localTime>"
					"<quality>7</quality>"
					"<tzOffset>0</tzOffset>"
					"</Time>", now, now);
}

int
sep2_tm_get(http_request *req)
{
	char	   *buf = arena_alloc(req->arena, 512);
	int			n;

	if (buf == NULL)
		return http_error(req, 500, "out of memory");
	n = sep2_tm_format(buf, 512, (long long) time(NULL));
	return http_reply(req, 200, SEP2_CT, buf, (size_t) n);
}
