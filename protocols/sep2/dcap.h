/*
 * protocols/sep2/dcap.h
 *	  IEEE 2030.5 DeviceCapability (/dcap).
 */
#ifndef DERMS_SEP2_DCAP_H
#define DERMS_SEP2_DCAP_H

#include "server/http.h"

int			sep2_dcap_get(http_request *req);

#endif							/* DERMS_SEP2_DCAP_H */
