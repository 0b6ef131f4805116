/*
 * protocols/fleet/statements.h
 *	  Settlement statements on the fleet API: an aggregator reads its own
 *	  aggregations' statements and their charts (/fleet/v1/statements).
 *
 * NOTES
 *	  Handlers run in vtn workers; the HTTP core has checked the roles.
 *	  Aggregators read under their tenant's RLS scope
 *	  (schema/0012_settlement.sql), so another tenant's statement answers
 *	  404 and a list of another tenant's aggregation is empty; operators
 *	  read every statement.
 */
#ifndef DERMS_FLEET_STATEMENTS_H
#define DERMS_FLEET_STATEMENTS_H

#include "server/http.h"

/* GET /fleet/v1/statements?aggregation=ID&day=YYYY-MM-DD */
int			fleet_statements_list(http_request *req);

/* GET /fleet/v1/statements/{id}/chart.svg */
int			fleet_statements_chart(http_request *req);

#endif							/* DERMS_FLEET_STATEMENTS_H */
