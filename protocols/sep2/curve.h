/*
 * protocols/sep2/curve.h
 *	  IEEE 2030.5 DER curves: DERCurveList and DERCurve under a DER program,
 *	  and the operator API that makes them.
 */
#ifndef DERMS_SEP2_CURVE_H
#define DERMS_SEP2_CURVE_H

#include <jansson.h>

#include "server/arena.h"
#include "server/err.h"
#include "server/http.h"

#define SEP2_CURVE_MAX_POINTS 10	/* CurveData maxOccurs */

/*
 * A curve as the operator API takes it (see curve.c), checked: points
 * count, x strictly increasing, multipliers, yRefType against the curve
 * type, excitation only on Watt-PF curves.  params gets the text values of
 * sep2_curve_insert_sql's $3..$8 (curve_type, x_multiplier, y_multiplier,
 * y_ref_type, points, doc), borrowed from a.
 */
derms_rc	sep2_curve_from_json(arena *a, json_t *j, const char *params[6],
								 derms_err *err);

/* $1 program id, $2 mRID, $3..$8 as above, $9 created_by; returns id,
 * mrid, or no row when the program does not exist. */
extern const char sep2_curve_insert_sql[];

/* DERCurveType of a curve-based DERControlBase element, or -1. */
int			sep2_curve_type_of_mode(const char *mode);

int			sep2_dc_list_get(http_request *req);
int			sep2_dc_get(http_request *req);

/* operator JSON API: POST /api/v1/der-programs/{id}/curves */
int			sep2_api_curve_post(http_request *req);

#endif							/* DERMS_SEP2_CURVE_H */
