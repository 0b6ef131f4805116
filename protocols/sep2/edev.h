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

#endif							/* DERMS_SEP2_EDEV_H */
