/*
 * dispatch/plot.h
 *	  The picture operators look at: per interval the target, the
 *	  scheduled and the delivered power of an aggregation, and the SoC of
 *	  each resource, as one SVG document.
 */
#ifndef DERMS_DISPATCH_PLOT_H
#define DERMS_DISPATCH_PLOT_H

#include <stdint.h>

#include "server/arena.h"

typedef struct dispatch_plot_data
{
	const char *title;
	int			T;
	int64_t		t0;				/* epoch seconds of the first interval */
	int			interval_s;
	const double *target_mw;	/* [T]; NAN: no instruction */
	const double *scheduled_mw; /* [T] */
	const double *delivered_mw; /* [T]; NAN: no telemetry */
	int			nres;
	const char *const *res_names;	/* [nres] */
	const double *soc;			/* [nres * T] fractions; NAN: none */
} dispatch_plot_data;

/* The SVG text (borrowed from a); NULL when out of memory. */
const char *dispatch_plot_svg(arena *a, const dispatch_plot_data *d);

#endif							/* DERMS_DISPATCH_PLOT_H */
