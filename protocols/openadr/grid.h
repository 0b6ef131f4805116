/*
 * protocols/openadr/grid.h
 *	  Grid events: the operator's JSON API on the VTN listener that sends
 *	  one instruction to an aggregation through both protocols.
 *
 * NOTES
 *	  POST   /api/v1/aggregations/{id}/events              create
 *	  GET    /api/v1/aggregations/{id}/events              list
 *	  GET    /api/v1/aggregations/{id}/events/{e}          one
 *	  POST   /api/v1/aggregations/{id}/events/{e}/cancel   cancel
 *	  For the operator (certificate, or the utility's BL token, which the
 *	  HTTP core maps to the operator role on these routes).  Body and
 *	  answers are described in DESIGN.md beside this file.
 */
#ifndef DERMS_OADR_GRID_H
#define DERMS_OADR_GRID_H

#include "server/http.h"

int			oadr_grid_create(http_request *req);
int			oadr_grid_list(http_request *req);
int			oadr_grid_get(http_request *req);
int			oadr_grid_cancel(http_request *req);

#endif							/* DERMS_OADR_GRID_H */
