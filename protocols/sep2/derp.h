/*
 * protocols/sep2/derp.h
 *	  IEEE 2030.5 DER programs and controls as an EndDevice sees them
 *	  (FunctionSetAssignments, DERProgram, DERControl, ActiveDERControl,
 *	  DefaultDERControl, Response), and the operator API that makes them.
 */
#ifndef DERMS_SEP2_DERP_H
#define DERMS_SEP2_DERP_H

#include "protocols/sep2/doc.h"
#include "server/http.h"

/* DERControlBase elements (the subset served), in schema order. */
extern const sep2_elem sep2_derc_base_elems[];

int			sep2_fsa_list_get(http_request *req);
int			sep2_fsa_get(http_request *req);
int			sep2_derp_list_get(http_request *req);
int			sep2_derp_get(http_request *req);
int			sep2_derc_list_get(http_request *req);
int			sep2_derc_active_get(http_request *req);
int			sep2_derc_get(http_request *req);
int			sep2_dderc_get(http_request *req);
int			sep2_rsp_post(http_request *req);

/* operator JSON API (VTN listener) */
int			sep2_api_program_post(http_request *req);
int			sep2_api_control_post(http_request *req);
int			sep2_api_control_cancel(http_request *req);
int			sep2_api_control_responses(http_request *req);

#endif							/* DERMS_SEP2_DERP_H */
