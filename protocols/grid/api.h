/*
 * protocols/grid/api.h
 *	  The operator's dispatch API: targets, runs now, run summaries,
 *	  schedules and plots (JSON on the VTN listener; see api.c).
 */
#ifndef DERMS_GRID_API_H
#define DERMS_GRID_API_H

#include "server/http.h"

int			grid_targets_post(http_request *req);
int			grid_targets_get(http_request *req);
int			grid_dispatch_post(http_request *req);
int			grid_run_get(http_request *req);
int			grid_run_schedules(http_request *req);
int			grid_run_plot(http_request *req);

#endif							/* DERMS_GRID_API_H */
