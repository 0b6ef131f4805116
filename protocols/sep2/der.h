/*
 * protocols/sep2/der.h
 *	  IEEE 2030.5 DER function set: DERList, DER, and the four documents a
 *	  device reports about a DER (DERCapability, DERSettings, DERStatus,
 *	  DERAvailability).
 */
#ifndef DERMS_SEP2_DER_H
#define DERMS_SEP2_DER_H

#include "server/http.h"

int			sep2_der_list_get(http_request *req);
int			sep2_der_get(http_request *req);
int			sep2_der_doc_get(http_request *req);
int			sep2_der_doc_put(http_request *req);

#endif							/* DERMS_SEP2_DER_H */
