/*
 * protocols/sep2/devstat.h
 *	  What an IEEE 2030.5 EndDevice reports about itself: DeviceInformation,
 *	  DeviceStatus, PowerStatus (PUT and GET) and LogEvents (POST and GET).
 */
#ifndef DERMS_SEP2_DEVSTAT_H
#define DERMS_SEP2_DEVSTAT_H

#include "server/http.h"

int			sep2_devdoc_get(http_request *req);
int			sep2_devdoc_put(http_request *req);
int			sep2_lel_get(http_request *req);
int			sep2_lel_post(http_request *req);

#endif							/* DERMS_SEP2_DEVSTAT_H */
