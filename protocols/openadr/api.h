/*
 * protocols/openadr/api.h
 *	  The OpenADR 3.1.0 VTN object API on the VTN listener: /programs,
 *	  /events, /reports, /subscriptions, /vens and /resources, each with
 *	  search (GET on the collection), create (POST), and get, update (PUT)
 *	  and delete on /{id}.
 *
 * NOTES
 *	  Handlers run in vtn workers after the HTTP core has checked that the
 *	  caller holds a bearer token of role BL or VEN (req->who: role,
 *	  tenant_id, client_id, scopes) and the JSON content type.  They check
 *	  the token's scopes (403), validate with model.h (400), and run one
 *	  transaction in the caller's privacy scope (store.h), where row-level
 *	  security repeats the privacy rules.  A foreign object is 404, a
 *	  search with nothing visible is [].  Errors are Problem JSON.
 */
#ifndef DERMS_OADR_API_H
#define DERMS_OADR_API_H

#include "server/http.h"

#define OADR_API_DECLARE(name) \
	int oadr_##name##_search(http_request *req); \
	int oadr_##name##_create(http_request *req); \
	int oadr_##name##_get(http_request *req); \
	int oadr_##name##_update(http_request *req); \
	int oadr_##name##_delete(http_request *req)

OADR_API_DECLARE(programs);
OADR_API_DECLARE(events);
OADR_API_DECLARE(reports);
OADR_API_DECLARE(subscriptions);
OADR_API_DECLARE(vens);
OADR_API_DECLARE(resources);

/* Search results per page when limit is absent, and the most allowed. */
#define OADR_API_LIMIT 50

#endif							/* DERMS_OADR_API_H */
