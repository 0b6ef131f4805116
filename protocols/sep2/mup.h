/*
 * protocols/sep2/mup.h
 *	  IEEE 2030.5 Metering Mirror function set: telemetry ingest.
 */
#ifndef DERMS_SEP2_MUP_H
#define DERMS_SEP2_MUP_H

#include "server/http.h"

int			sep2_mup_list_get(http_request *req);
int			sep2_mup_list_post(http_request *req);
int			sep2_mup_get(http_request *req);
int			sep2_mup_post(http_request *req);

#endif							/* DERMS_SEP2_MUP_H */
