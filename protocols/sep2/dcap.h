/*
 * protocols/sep2/dcap.h
 *	  IEEE 2030.5 DeviceCapability (/dcap) and Time (/tm).
 */
#ifndef DERMS_SEP2_DCAP_H
#define DERMS_SEP2_DCAP_H

#include "server/http.h"

int			sep2_dcap_get(http_request *req);
int			sep2_tm_get(http_request *req);

/* The Time document for the given UTC second, written into buf. */
int			sep2_tm_format(char *buf, size_t len, long long now);

#endif							/* DERMS_SEP2_DCAP_H */
