/*
 * dispatch/storage_dp.c
 *	  Backward recursion over convex piecewise-linear value functions.
 *
 * NOTES
 *	  A value function is kept as its domain's left end and its segments
 *	  (length, slope) in increasing slope order; values themselves are
 *	  never needed because the caller prices the schedule it gets back.
 *	  With that representation each step is exact and cheap:
 *	    adding -rho * x       shifts every slope by -rho;
 *	    x' in [lo, hi]        trims segments from both ends;
 *	    min_d g(d) + W(rx+d)  is the infimal convolution of W with the
 *	                          reflected stage cost: its two pieces are
 *	                          inserted into the sorted segment list;
 *	    x -> r x              scales lengths by 1/r and slopes by r.
 *	  The shift and the scaling are kept lazily (actual slope = as * s +
 *	  ao, actual length = al * l), so a step costs one scan of the list
 *	  and one memmove, and the list is never copied.  The forward pass
 *	  needs only four numbers of each W_t, recorded on the way back: its
 *	  domain and the two points where its slope crosses -sR and -sL.  The
 *	  step's minimiser of W(y) + g(y - rx) is the kink clamped to those
 *	  crossings and to what the step can reach.  Ties go to the left, so
 *	  the result is deterministic (the coordinator relies on that).
 *	  One dispatch_dp belongs to one thread.
 */
#include "storage_dp.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DP_EPS 1e-12

/* What the forward pass needs of W_t. */
typedef struct mark
{
	double		lo;
	double		hi;
	double		yR;				/* leftmost minimiser of W(y) + sR y */
	double		yL;				/* same for sL */
} mark;

struct dispatch_dp
{
	int			Tmax;
	mark	   *mk;				/* [Tmax] */
	double	   *Y;				/* [Tmax * DISPATCH_DP_MAXP], pwl crossings */
	double	   *sl;				/* stored slopes, [cap] */
	double	   *ln;				/* stored lengths, [cap] */
	int			cap;
	int			head;			/* first segment */
	int			n;				/* segments */
};

dispatch_dp *
dispatch_dp_new(int Tmax)
{
	dispatch_dp *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->Tmax = Tmax;
	w->cap = (DISPATCH_DP_MAXP + 2) * Tmax + 16;
	w->mk = malloc(sizeof(mark) * (size_t) Tmax);
	w->Y = malloc(sizeof(double) * (size_t) Tmax * DISPATCH_DP_MAXP);
	w->sl = malloc(sizeof(double) * (size_t) w->cap);
	w->ln = malloc(sizeof(double) * (size_t) w->cap);
	if (!w->mk || !w->Y || !w->sl || !w->ln)
	{
		dispatch_dp_free(w);
		return NULL;
	}
	return w;
}

void
dispatch_dp_free(dispatch_dp *w)
{
	if (w == NULL)
		return;
	free(w->mk);
	free(w->Y);
	free(w->sl);
	free(w->ln);
	free(w);
}

/*
 * Insert (stored) segment (len, slope) before index k (relative to
 * head); an equal slope at k - 1 or k absorbs it.  The list never holds
 * more than (pieces per step) T + 1 segments, and cap leaves room for a
 * recentre.
 */
static void
insert_at(dispatch_dp *w, int k, double len, double slope)
{
	double	   *sl,
			   *ln;

	if (k > 0 && w->sl[w->head + k - 1] == slope)
	{
		w->ln[w->head + k - 1] += len;
		return;
	}
	if (k < w->n && w->sl[w->head + k] == slope)
	{
		w->ln[w->head + k] += len;
		return;
	}
	if (w->head + w->n + 1 > w->cap)
	{
		memmove(&w->sl[0], &w->sl[w->head], sizeof(double) * (size_t) w->n);
		memmove(&w->ln[0], &w->ln[w->head], sizeof(double) * (size_t) w->n);
		w->head = 0;
	}
	sl = &w->sl[w->head];
	ln = &w->ln[w->head];
	memmove(&sl[k + 1], &sl[k], sizeof(double) * (size_t) (w->n - k));
	memmove(&ln[k + 1], &ln[k], sizeof(double) * (size_t) (w->n - k));
	sl[k] = slope;
	ln[k] = len;
	w->n++;
}

static double
clampd(double v, double a, double b)
{
	return v < a ? a : (v > b ? b : v);
}

derms_rc
dispatch_dp_solve(dispatch_dp *w, const dispatch_dp_step *st, int T,
				  double x0, double *d, double *x, derms_err *err)
{
	double		lo,
				total,
				as = 1.0,
				ao = 0.0,
				al = 1.0;

	assert(w != NULL && st != NULL && T > 0 && T <= w->Tmax);
	w->head = 2 * T + 4;
	w->n = 0;
	if (st[T - 1].hi < st[T - 1].lo - 1e-9)
		return derms_err_set(err, DERMS_ERANGE,
							 "state bounds of the last interval are empty");
	lo = st[T - 1].lo;
	total = 0.0;
	if (st[T - 1].hi - st[T - 1].lo > DP_EPS)
	{
		total = st[T - 1].hi - st[T - 1].lo;
		w->sl[w->head] = 0.0;
		w->ln[w->head] = total;
		w->n = 1;
	}
	for (int t = T - 1; t >= 0; t--)
	{
		const dispatch_dp_step *s = &st[t];
		mark	   *m = &w->mk[t];
		double		cut,
					y,
					thR,
					thL;
		int			iR,
					iL;

		assert(s->r > 0.0 && s->A >= 0.0 && s->B >= 0.0);
		assert(s->sL <= s->sR + 1e-9);
		ao -= s->rho;
		/* restrict to [s->lo, s->hi], right end first */
		if (lo + total < s->lo - 1e-9 || lo > s->hi + 1e-9 || s->lo > s->hi + 1e-9)
			return derms_err_set(err, DERMS_ERANGE,
								 "no feasible state at interval %d", t);
		cut = lo + total - s->hi;
		if (cut > 0.0)
		{
			total -= cut;
			while (cut > DP_EPS && w->n > 0)
			{
				double	   *l = &w->ln[w->head + w->n - 1];

				if (*l * al <= cut + DP_EPS)
				{
					cut -= *l * al;
					w->n--;
				}
				else
				{
					*l -= cut / al;
					cut = 0.0;
				}
			}
		}
		cut = s->lo - lo;
		if (cut > 0.0)
		{
			total -= cut;
			lo = s->lo;
			while (cut > DP_EPS && w->n > 0)
			{
				double	   *l = &w->ln[w->head];

				if (*l * al <= cut + DP_EPS)
				{
					cut -= *l * al;
					w->head++;
					w->n--;
				}
				else
				{
					*l -= cut / al;
					cut = 0.0;
				}
			}
		}
		if (total < 0.0)
			total = 0.0;
		m->lo = lo;
		m->hi = lo + total;
		/* crossings of -sR and -sL (stored units), one scan */
		thR = (-s->sR - ao) / as;
		thL = (-s->sL - ao) / as;
		y = lo;
		iR = 0;
		while (iR < w->n && w->sl[w->head + iR] < thR)
			y += w->ln[w->head + iR++] * al;
		m->yR = y;
		iL = iR;
		while (iL < w->n && w->sl[w->head + iL] < thL)
			y += w->ln[w->head + iL++] * al;
		m->yL = y;
		/* infimal convolution with the reflected stage cost */
		if (s->kink + s->B > DP_EPS)
			insert_at(w, iL, (s->kink + s->B) / al, thL);
		if (s->A - s->kink > DP_EPS)
			insert_at(w, iR, (s->A - s->kink) / al, thR);
		lo -= s->A;
		total += s->A + s->B;
		if (s->r != 1.0)
		{
			lo /= s->r;
			total /= s->r;
			al /= s->r;
			as *= s->r;
			ao *= s->r;
		}
	}
	if (x0 < lo - 1e-7 || x0 > lo + total + 1e-7)
		return derms_err_set(err, DERMS_ERANGE,
							 "initial state %.6g outside the feasible range [%.6g, %.6g]",
							 x0, lo, lo + total);
	for (int t = 0; t < T; t++)
	{
		const dispatch_dp_step *s = &st[t];
		const mark *m = &w->mk[t];
		double		xr = s->r * x0,
					y,
					a,
					b;

		y = clampd(xr + s->kink, m->yR, m->yL);
		a = fmax(xr - s->B, m->lo);
		b = fmin(xr + s->A, m->hi);
		if (a > b)
		{
			/* only rounding can get here: the recursion proved it feasible */
			double		mid = (a + b) / 2.0;

			a = b = mid;
		}
		y = clampd(y, a, b);
		d[t] = y - xr;
		x[t] = y;
		x0 = y;
	}
	return DERMS_OK;
}

/*
 * Restrict the value function (domain [*lo, *lo + *total], stored lengths
 * scaled by al) to [a, b]: trims segments from both ends, right first.
 */
static void
restrict_to(dispatch_dp *w, double *lo, double *total, double al, double a,
			double b)
{
	double		cut = *lo + *total - b;

	if (cut > 0.0)
	{
		*total -= cut;
		while (cut > DP_EPS && w->n > 0)
		{
			double	   *l = &w->ln[w->head + w->n - 1];

			if (*l * al <= cut + DP_EPS)
			{
				cut -= *l * al;
				w->n--;
			}
			else
			{
				*l -= cut / al;
				cut = 0.0;
			}
		}
	}
	cut = a - *lo;
	if (cut > 0.0)
	{
		*total -= cut;
		*lo = a;
		while (cut > DP_EPS && w->n > 0)
		{
			double	   *l = &w->ln[w->head];

			if (*l * al <= cut + DP_EPS)
			{
				cut -= *l * al;
				w->head++;
				w->n--;
			}
			else
			{
				*l -= cut / al;
				cut = 0.0;
			}
		}
	}
	if (*total < 0.0)
		*total = 0.0;
}

/*
 * The piecewise version.  On the way back, Y[k] is the leftmost minimiser
 * of W(y) + s[k] y (nonincreasing in k); on the way forward, from z = r x
 * the best next state is max(z + b[0], max_k min(z + b[k+1], Y[k])),
 * clamped to W's domain: the leftmost zero of W'(y) + g'(y - z).
 */
derms_rc
dispatch_dp_solve_pwl(dispatch_dp *w, const dispatch_dp_pstep *st, int T,
					  double x0, double *d, double *x, derms_err *err)
{
	double		lo,
				total,
				as = 1.0,
				ao = 0.0,
				al = 1.0;

	assert(w != NULL && st != NULL && T > 0 && T <= w->Tmax);
	w->head = DISPATCH_DP_MAXP * T + 4;
	w->n = 0;
	if (st[T - 1].hi < st[T - 1].lo - 1e-9)
		return derms_err_set(err, DERMS_ERANGE,
							 "state bounds of the last interval are empty");
	lo = st[T - 1].lo;
	total = 0.0;
	if (st[T - 1].hi - st[T - 1].lo > DP_EPS)
	{
		total = st[T - 1].hi - st[T - 1].lo;
		w->sl[w->head] = 0.0;
		w->ln[w->head] = total;
		w->n = 1;
	}
	for (int t = T - 1; t >= 0; t--)
	{
		const dispatch_dp_pstep *s = &st[t];
		mark	   *m = &w->mk[t];
		double	   *Y = &w->Y[(size_t) t * DISPATCH_DP_MAXP];
		int			idx[DISPATCH_DP_MAXP];
		double		th[DISPATCH_DP_MAXP];
		double		y;
		int			i;

		assert(s->r > 0.0 && s->n >= 1 && s->n <= DISPATCH_DP_MAXP);
		ao -= s->rho;
		if (lo + total < s->lo - 1e-9 || lo > s->hi + 1e-9 || s->lo > s->hi + 1e-9)
			return derms_err_set(err, DERMS_ERANGE,
								 "no feasible state at interval %d", t);
		restrict_to(w, &lo, &total, al, s->lo, s->hi);
		m->lo = lo;
		m->hi = lo + total;
		/* crossings, steepest piece (smallest threshold) first */
		y = lo;
		i = 0;
		for (int k = s->n - 1; k >= 0; k--)
		{
			assert(k == s->n - 1 || s->s[k] <= s->s[k + 1] + 1e-9);
			th[k] = (-s->s[k] - ao) / as;
			while (i < w->n && w->sl[w->head + i] < th[k])
				y += w->ln[w->head + i++] * al;
			idx[k] = i;
			Y[k] = y;
		}
		/* infimal convolution: flattest piece (largest index) first */
		for (int k = 0; k < s->n; k++)
			if (s->b[k + 1] - s->b[k] > DP_EPS)
				insert_at(w, idx[k], (s->b[k + 1] - s->b[k]) / al, th[k]);
		lo -= s->b[s->n];
		total += s->b[s->n] - s->b[0];
		if (s->r != 1.0)
		{
			lo /= s->r;
			total /= s->r;
			al /= s->r;
			as *= s->r;
			ao *= s->r;
		}
	}
	if (x0 < lo - 1e-7 || x0 > lo + total + 1e-7)
		return derms_err_set(err, DERMS_ERANGE,
							 "initial state %.6g outside the feasible range [%.6g, %.6g]",
							 x0, lo, lo + total);
	for (int t = 0; t < T; t++)
	{
		const dispatch_dp_pstep *s = &st[t];
		const mark *m = &w->mk[t];
		const double *Y = &w->Y[(size_t) t * DISPATCH_DP_MAXP];
		double		z = s->r * x0,
					y = z + s->b[0],
					a,
					b;

		for (int k = 0; k < s->n; k++)
			y = fmax(y, fmin(z + s->b[k + 1], Y[k]));
		a = fmax(z + s->b[0], m->lo);
		b = fmin(z + s->b[s->n], m->hi);
		if (a > b)
		{
			/* only rounding can get here: the recursion proved it feasible */
			double		mid = (a + b) / 2.0;

			a = b = mid;
		}
		y = clampd(y, a, b);
		d[t] = y - z;
		x[t] = y;
		x0 = y;
	}
	return DERMS_OK;
}
