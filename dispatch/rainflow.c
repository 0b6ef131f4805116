/*
 * dispatch/rainflow.c
 *	  Rainflow counting as in ASTM E1049-85 (reapproved 2017), 5.4.4: the
 *	  three-point method with the starting point handled as half cycles.
 *
 * NOTES
 *	  Pure arithmetic on caller-owned buffers; no allocation.  The history
 *	  is first reduced to its peaks and valleys (equal neighbours merged),
 *	  then ranges are taken off a stack as the standard describes:
 *	    X = range of the two newest points, Y = the range before it;
 *	    X < Y: read on; Y holds the start: half cycle, drop the start;
 *	    otherwise a full cycle, drop both points of Y.
 *	  What is left on the stack counts as half cycles.
 */
#include "rainflow.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>

static void
emit(dispatch_cycle *out, int *nout, double a, double b, double count)
{
	out[*nout].range = fabs(a - b);
	out[*nout].mean = (a + b) / 2.0;
	out[*nout].count = count;
	(*nout)++;
}

int
dispatch_rainflow(const double *x, int n, double *work, dispatch_cycle *out)
{
	double	   *stk = work;
	int			top = 0;		/* points on the stack */
	int			start = 0;		/* index of the starting point S */
	int			nout = 0;
	int			nrev = 0;
	double		prev = 0.0;
	int			dir = 0;		/* +1 rising, -1 falling, 0 unknown */

	assert(n >= 0);
	assert(n == 0 || (x != NULL && work != NULL && out != NULL));
	for (int i = 0; i < n; i++)
	{
		int			isrev = 0;
		double		v = x[i];

		/* turn the history into reversals, one at a time */
		if (nrev == 0)
		{
			prev = v;
			nrev = 1;
			stk[top++] = v;
			continue;
		}
		if (v == prev)
			continue;
		if (dir == 0)
		{
			dir = v > prev ? 1 : -1;
			prev = v;
			stk[top++] = v;
			isrev = 1;
		}
		else if ((v > prev) == (dir > 0))
		{
			/* same direction: the newest point moves */
			prev = v;
			stk[top - 1] = v;
			isrev = 1;
		}
		else
		{
			dir = -dir;
			prev = v;
			stk[top++] = v;
			isrev = 1;
		}
		if (!isrev)
			continue;

		/*
		 * The newest point may still move in the same direction, which can
		 * only widen X; counting now would be premature.  So the stack is
		 * reduced only when a point is confirmed as a reversal, i.e. when
		 * the direction changes: handled below by reducing before a new
		 * point is pushed.  Here we reduce with the points below the
		 * newest one, which are all confirmed.
		 */
		while (top - start >= 4)
		{
			/* confirmed points: stk[start .. top-2]; newest moving */
			double		X = fabs(stk[top - 2] - stk[top - 3]);
			double		Y = fabs(stk[top - 3] - stk[top - 4]);

			if (X < Y)
				break;
			if (top - 4 == start)
			{
				emit(out, &nout, stk[top - 4], stk[top - 3], 0.5);
				start++;
			}
			else
			{
				emit(out, &nout, stk[top - 4], stk[top - 3], 1.0);
				stk[top - 4] = stk[top - 2];
				stk[top - 3] = stk[top - 1];
				top -= 2;
			}
		}
	}
	/* the last point is now a reversal too: reduce fully */
	for (;;)
	{
		double		X,
					Y;

		if (top - start < 3)
			break;
		X = fabs(stk[top - 1] - stk[top - 2]);
		Y = fabs(stk[top - 2] - stk[top - 3]);
		if (X < Y)
			break;
		if (top - 3 == start)
		{
			emit(out, &nout, stk[top - 3], stk[top - 2], 0.5);
			start++;
		}
		else
		{
			emit(out, &nout, stk[top - 3], stk[top - 2], 1.0);
			stk[top - 3] = stk[top - 1];
			top -= 2;
		}
	}
	for (int i = start; i + 1 < top; i++)
		emit(out, &nout, stk[i], stk[i + 1], 0.5);
	return nout;
}
