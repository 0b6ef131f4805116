/*
 * protocols/sep2/upt.h
 *	  IEEE 2030.5 Metering function set: the telemetry devices post through
 *	  MirrorUsagePoints, read back as UsagePoint / MeterReading /
 *	  ReadingType / ReadingSet / Reading.
 */
#ifndef DERMS_SEP2_UPT_H
#define DERMS_SEP2_UPT_H

#include "server/http.h"

int			sep2_upt_list_get(http_request *req);
int			sep2_upt_get(http_request *req);
int			sep2_upt_mr_list_get(http_request *req);
int			sep2_upt_mr_get(http_request *req);
int			sep2_upt_rt_get(http_request *req);
int			sep2_upt_latest_get(http_request *req);
int			sep2_upt_rs_list_get(http_request *req);
int			sep2_upt_rs_get(http_request *req);
int			sep2_upt_r_list_get(http_request *req);
int			sep2_upt_r_get(http_request *req);

#endif							/* DERMS_SEP2_UPT_H */
