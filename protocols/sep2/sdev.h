/*
 * protocols/sep2/sdev.h
 *	  IEEE 2030.5 SelfDevice: the server's own identity (/sdev) and its
 *	  DeviceInformation (/sdev/di).
 */
#ifndef DERMS_SEP2_SDEV_H
#define DERMS_SEP2_SDEV_H

#include "server/http.h"

int			sep2_sdev_get(http_request *req);
int			sep2_sdev_di_get(http_request *req);

#endif							/* DERMS_SEP2_SDEV_H */
