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

/*
 * The program req->params[1] under the visible EndDevice req->params[0],
 * if it applies to that device (columns: id, mrid, description, primacy,
 * has default, default base); else NULL after answering 404 (or 503).
 */
PGresult   *sep2_derp_fetch(http_request *req, int *status);

/*
 * Programs and controls as the operator API and dermsctl take them, as
 * JSON: a program {"primacy": 0..255, "scope": {"kind": "all" | "tenant" |
 * "aggregation" | "end_device", "id": N}, "description": "...",
 * "defaultControl": {DERControlBase}}, a control {"start": UTC s,
 * "duration": s, "randomizeStart": s, "randomizeDuration": s,
 * "description": "...", "base": {DERControlBase}}.  Checked, and turned
 * into the text values (NULL for SQL NULL, borrowed from a) of
 * sep2_program_insert_sql's $2..$6 and sep2_control_insert_sql's $3..$8.
 * Both statements return id, mrid; $1 is the new mRID (program) or the
 * program id (control), $2 the control's mRID, and the last parameter
 * ($7, $9) is created_by.  The control's INSERT returns no row when the
 * program does not exist.
 */
derms_rc	sep2_program_from_json(arena *a, json_t *j, const char *params[5],
								   derms_err *err);
derms_rc	sep2_control_from_json(arena *a, json_t *j, const char *params[6],
								   derms_err *err);
extern const char sep2_program_insert_sql[];
extern const char sep2_control_insert_sql[];

/*
 * Run the operator's write sql and its audit record (action, on the id the
 * write returns first) in one transaction: the first row of the write's
 * result, or NULL after answering (409 when it returned no row).
 */
PGresult   *sep2_write_audited(http_request *req, const char *sql, int n,
							   const char *const *params, const char *action,
							   int *status);

/* A fresh random mRID (32 hex digits); false when no randomness. */
bool		sep2_new_mrid(char out[33]);

/* operator JSON API (VTN listener) */
int			sep2_api_program_post(http_request *req);
int			sep2_api_control_post(http_request *req);
int			sep2_api_control_cancel(http_request *req);
int			sep2_api_control_responses(http_request *req);

/*
 * Controls made for an operator's grid event (protocols/openadr/grid.c),
 * in the caller's open transaction on d.  sep2_derp_grid_control adds a
 * DERControl with base (DERControlBase as the operator API takes it, e.g.
 * {"opModTargetW": {"multiplier": 3, "value": 5}}) over [start, start +
 * duration) to the aggregation's oldest aggregation-scoped DERProgram,
 * made (primacy 1) when there is none; the control carries grid_event_id.
 * sep2_derp_grid_cancel cancels every control of a grid event.
 */
derms_rc	sep2_derp_grid_control(db *d, arena *a, int64_t aggregation_id,
								   int64_t grid_event_id, int64_t start,
								   int64_t duration, json_t *base,
								   int64_t *control_id, derms_err *err);
derms_rc	sep2_derp_grid_cancel(db *d, arena *a, int64_t grid_event_id,
								  int *cancelled, derms_err *err);

#endif							/* DERMS_SEP2_DERP_H */
