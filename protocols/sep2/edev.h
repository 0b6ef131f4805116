/*
 * protocols/sep2/edev.h
 *	  IEEE 2030.5 EndDevice function set: EndDeviceList, EndDevice,
 *	  Registration.
 */
#ifndef DERMS_SEP2_EDEV_H
#define DERMS_SEP2_EDEV_H

#include "server/http.h"

int			sep2_edev_list_get(http_request *req);
int			sep2_edev_list_post(http_request *req);
int			sep2_edev_get(http_request *req);
int			sep2_edev_rg_get(http_request *req);

/*
 * The EndDevice row with id edev_id if the caller may see it (columns: id,
 * lfdi, sfdi, enabled, changedTime, has PIN, post_rate); otherwise NULL after
 * answering 404 (or 503), with the status in *status.  Borrowed from the
 * request arena.
 */
PGresult   *sep2_edev_fetch(http_request *req, const char *edev_id, int *status);

#endif							/* DERMS_SEP2_EDEV_H */
