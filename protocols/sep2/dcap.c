/*
 * protocols/sep2/dcap.c
 *	  IEEE 2030.5 DeviceCapability (/dcap).
 *
 * NOTES
 *	  Runs in sep2 workers only.  Documents are in the 2018 namespace and
 *	  list only resources that exist, so every link a client follows
 *	  resolves.
 */
#include "dcap.h"

#include <stdio.h>
#include <string.h>

#define SEP2_NS "urn:ieee:std:2030.5:ns"
#define SEP2_CT "application/sep+xml"

int
sep2_dcap_get(http_request *req)
{
	/* SelfDevice needs our own certificate (none behind a TLS proxy) */
	bool		self = req->cfg->sep2_tls && req->cfg->sep2.cert_file != NULL;
	char	   *doc = arena_printf(req->arena,
								   "<DeviceCapability xmlns=\"" SEP2_NS "\" href=\"/dcap\" pollRate=\"%d\">"
								   "<TimeLink href=\"/tm\"/>"
								   "<UsagePointListLink href=\"/upt\"/>"
								   "<EndDeviceListLink href=\"/edev\"/>"
								   "<MirrorUsagePointListLink href=\"/mup\"/>"
								   "%s</DeviceCapability>", req->cfg->sep2_poll_rate_s,
								   self ? "<SelfDeviceLink href=\"/sdev\"/>" : "");

	if (doc == NULL)
		return http_error(req, 500, "out of memory");
	return http_reply(req, 200, SEP2_CT, doc, strlen(doc));
}
