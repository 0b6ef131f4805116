/*
 * protocols/fleet/aggapi.h
 *	  The aggregators' read side of /fleet/v1 on the VTN listener: their
 *	  enrolled resources with the latest state, and telemetry series.
 *
 * NOTES
 *	  Handlers run in vtn workers; the HTTP core has already checked the
 *	  route's roles (an aggregator certificate, an aggregator's business-
 *	  logic token, or the operator).  Which resources a caller sees is
 *	  decided under the tenant's row-level security scope; the state and
 *	  telemetry of exactly those resources are then read unscoped, since
 *	  those tables have no tenant of their own.  The whole API is
 *	  described by protocols/fleet/fleet-v1.yaml.
 */
#ifndef DERMS_FLEET_AGGAPI_H
#define DERMS_FLEET_AGGAPI_H

#include "server/http.h"

#define FLEET_AGGAPI_MAX_LIMIT		500		/* resources per page */
#define FLEET_AGGAPI_DEFAULT_LIMIT	100
#define FLEET_AGGAPI_MAX_POINTS		2016	/* buckets per series (7 days of PT5M) */
#define FLEET_AGGAPI_MAX_RANGE_S	(366 * 86400)	/* to - from */

/* GET /fleet/v1/resources[?limit&cursor|offset&aggregation&type&feeder] */
int			fleet_aggapi_resources(http_request *req);

/* GET /fleet/v1/resources/{id} */
int			fleet_aggapi_resource_get(http_request *req);

/* GET /fleet/v1/resources/{id}/telemetry?from&to[&resolution][&quantity] */
int			fleet_aggapi_telemetry(http_request *req);

#endif							/* DERMS_FLEET_AGGAPI_H */
