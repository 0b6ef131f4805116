/*
 * server/worker.h
 *	  The main functions of the worker roles.
 */
#ifndef DERMS_WORKER_H
#define DERMS_WORKER_H

#include "supervisor.h"

int			worker_startup_main(derms_config *cfg, const worker_env *env);
int			worker_sep2_main(derms_config *cfg, const worker_env *env);
int			worker_vtn_main(derms_config *cfg, const worker_env *env);
int			worker_admin_main(derms_config *cfg, const worker_env *env);
int			worker_idle_main(derms_config *cfg, const worker_env *env);

#endif							/* DERMS_WORKER_H */
