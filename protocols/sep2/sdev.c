/*
 * protocols/sep2/sdev.c
 *	  IEEE 2030.5 SelfDevice: the server as a device of its own.  /sdev
 *	  carries the lFDI and sFDI of the certificate the 2030.5 listener
 *	  presents (sep2.cert_file), so a client can check the server it talks
 *	  to against what it was provisioned with; /sdev/di is the server's
 *	  DeviceInformation (model "dermsd", software version, when this
 *	  process started).
 *
 * NOTES
 *	  Runs in sep2 workers; memory comes from the request arena.
 *	  The certificate is read on each request, so after a reload that
 *	  replaces it the new identity is served at once.  Behind a
 *	  TLS-terminating proxy (sep2.tls = false) there is no certificate of
 *	  ours: 404.  No database access.
 */
#include "sdev.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "protocols/sep2/doc.h"
#include "protocols/sep2/xml.h"
#include "server/identity.h"
#include "server/version.h"

/* When this process first served /sdev/di: the software's activation time. */
static time_t started;

/* The listener certificate's identity, or false after answering. */
static bool
self_identity(http_request *req, derms_identity *id, int *status)
{
	derms_err	err;

	if (req->cfg->sep2.cert_file == NULL || !req->cfg->sep2_tls)
	{
		*status = http_error(req, 404, "this server presents no certificate of its own");
		return false;
	}
	if (identity_from_pem_file(req->cfg->sep2.cert_file, id, &err) != DERMS_OK)
	{
		*status = http_error(req, 500, "could not read the server certificate: %s", err.msg);
		return false;
	}
	return true;
}

int
sep2_sdev_get(http_request *req)
{
	derms_identity id;
	int			status;
	sep2_xw    *w;

	if (!self_identity(req, &id, &status))
		return status;
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "SelfDevice", "href", "/sdev", "subscribable", "0", (char *) NULL);
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	sep2_xw_open(w, "DeviceInformationLink", "href", "/sdev/di", (char *) NULL);
	sep2_xw_close(w);
	sep2_xw_text(w, "lFDI", id.lfdi);
	sep2_xw_uint(w, "sFDI", id.sfdi);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}

int
sep2_sdev_di_get(http_request *req)
{
	derms_identity id;
	int			status;
	sep2_xw    *w;

	if (!self_identity(req, &id, &status))
		return status;
	if (started == 0)
		started = time(NULL);
	w = sep2_xw_new(req->arena);
	sep2_xw_open(w, "DeviceInformation", "href", "/sdev/di", (char *) NULL);
	sep2_xw_attr_int(w, "pollRate", req->cfg->sep2_poll_rate_s);
	sep2_xw_text(w, "lFDI", id.lfdi);
	sep2_xw_int(w, "mfDate", 0);
	sep2_xw_text(w, "mfHwVer", "server");
	sep2_xw_int(w, "mfID", 0);	/* no IANA PEN registered */
	sep2_xw_text(w, "mfInfo", "DERMS headend");
	sep2_xw_text(w, "mfModel", "dermsd");
	sep2_xw_uint(w, "mfSerNum", id.sfdi);
	sep2_xw_int(w, "primaryPower", 1);	/* mains */
	sep2_xw_int(w, "secondaryPower", 0);	/* none */
	sep2_xw_int(w, "swActTime", (int64_t) started);
	sep2_xw_text(w, "swVer", DERMS_VERSION);
	sep2_xw_close(w);
	return sep2_reply_xml(req, w, 200);
}
