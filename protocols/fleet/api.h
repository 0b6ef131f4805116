/*
 * protocols/fleet/api.h
 *	  The JSON fleet API on the VTN listener (/fleet/v1/...): aggregators
 *	  request enrollments and read their own fleet; operators review.
 *
 * NOTES
 *	  Handlers run in vtn workers; the HTTP core has already checked the
 *	  route's roles and body type.  They use only req->who.role and
 *	  req->who.tenant_id, never how the identity was established
 *	  (certificate today, OAuth later).  Aggregator work runs under the
 *	  tenant's RLS scope, so another tenant's id answers 404.
 */
#ifndef DERMS_FLEET_API_H
#define DERMS_FLEET_API_H

#include "server/http.h"

int			fleet_api_request_create(http_request *req);
int			fleet_api_request_list(http_request *req);
int			fleet_api_request_get(http_request *req);
int			fleet_api_request_approve(http_request *req);
int			fleet_api_request_reject(http_request *req);
int			fleet_api_request_withdraw(http_request *req);
int			fleet_api_request_remove(http_request *req);
int			fleet_api_sites(http_request *req);
int			fleet_api_ders(http_request *req);
int			fleet_api_enrollments(http_request *req);

#endif							/* DERMS_FLEET_API_H */
