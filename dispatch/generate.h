/*
 * dispatch/generate.h
 *	  Seeded instance generator for tests and benchmarks (tiers S, M, L).
 */
#ifndef DERMS_DISPATCH_GENERATE_H
#define DERMS_DISPATCH_GENERATE_H

#include <stdint.h>
#include <stdio.h>

#include "server/err.h"

typedef struct dispatch_gen
{
	int			batteries;
	int			evs;
	int			pvs;
	int			groups;
	int			T;
	double		minutes;
} dispatch_gen;

/* Fill g for tier "S", "M" or "L"; DERMS_EINVAL for anything else. */
derms_rc	dispatch_gen_tier(const char *tier, dispatch_gen *g, derms_err *err);

/* Write the instance (the JSON format of instance.h) to f. */
derms_rc	dispatch_gen_write(const dispatch_gen *g, uint64_t seed, FILE *f,
							   derms_err *err);

#endif							/* DERMS_DISPATCH_GENERATE_H */
