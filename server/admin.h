/*
 * server/admin.h
 *	  Health, readiness and Prometheus metrics (the admin listener).
 */
#ifndef DERMS_ADMIN_H
#define DERMS_ADMIN_H

#include "http.h"

int			admin_healthz(http_request *req);
int			admin_readyz(http_request *req);
int			admin_metrics(http_request *req);

#endif							/* DERMS_ADMIN_H */
