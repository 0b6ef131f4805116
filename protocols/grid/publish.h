/*
 * protocols/grid/publish.h
 *	  Publishing a stored dispatch run: IEEE 2030.5 DERControls for the
 *	  members behind an EndDevice, OpenADR events for the members behind a
 *	  VEN.
 */
#ifndef DERMS_GRID_PUBLISH_H
#define DERMS_GRID_PUBLISH_H

#include <stdint.h>

#include <libpq-fe.h>

#include "server/arena.h"
#include "server/err.h"

/*
 * Publish run run_id in the caller's open transaction on c (a
 * dispatch_publish_fn): supersede the aggregation's earlier runs, make
 * the controls and events of the intervals not ended yet, mark the run
 * published and audit it (actor).  Memory from a.
 */
derms_rc	grid_publish_run(PGconn *c, arena *a, int64_t run_id, const char *actor,
							 derms_err *err);

#endif							/* DERMS_GRID_PUBLISH_H */
