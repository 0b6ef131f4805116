/*
 * dispatch/rainflow.h
 *	  Rainflow cycle counting (ASTM E1049-85, section 5.4.4) of a history,
 *	  such as a battery's SoC.
 */
#ifndef DERMS_DISPATCH_RAINFLOW_H
#define DERMS_DISPATCH_RAINFLOW_H

typedef struct dispatch_cycle
{
	double		range;			/* |peak - valley| */
	double		mean;			/* (peak + valley) / 2 */
	double		count;			/* 1.0 full cycle, 0.5 half cycle */
} dispatch_cycle;

/*
 * Count the cycles of x[0..n-1] into out, which must hold n entries.
 * work must hold n doubles (the reversal stack).  Returns the number of
 * cycles written.  Plateaus and non-reversals are dropped first.
 */
int			dispatch_rainflow(const double *x, int n, double *work,
							  dispatch_cycle *out);

#endif							/* DERMS_DISPATCH_RAINFLOW_H */
