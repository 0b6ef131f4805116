/*
 * protocols/grid/worker.h
 *	  The "dispatch" role: watches the aggregations with targets and
 *	  dispatches them again when something changed.
 */
#ifndef DERMS_GRID_WORKER_H
#define DERMS_GRID_WORKER_H

#include "server/supervisor.h"

/* A worker_main_fn; server/supervisor.c runs it through routes.c. */
int			grid_dispatch_main(derms_config *cfg, const worker_env *env);

#endif							/* DERMS_GRID_WORKER_H */
