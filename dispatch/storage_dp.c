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
 *	                          merged into the sorted segment list;
 *	    x -> r x              scales lengths by 1/r and slopes by r.
 *	  The forward pass picks, for each step, the minimiser of W(y) +
 *	  g(y - rx): the point where W's slope crosses -sR or -sL, clamped to
 *	  the kink and to the feasible interval.  Ties go to the left, so the
 *	  result is deterministic (the coordinator relies on that).
 *	  One dispatch_dp belongs to one thread.
 */
#include "storage_dp.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DP_EPS 1e-12

typedef struct seg
{
	double		len;
	double		slope;
} seg;

typedef struct saved
{
	double		lo;
	size_t		off;
	int			n;
} saved;

struct dispatch_dp
{
	int			Tmax;
	saved	   *fn;				/* W_t for each step */
	seg		   *pool;			/* segments of all W_t */
	size_t		npool;
	size_t		cappool;
	seg		   *cur;			/* working function */
	int			ncur;
	int			capcur;
};

dispatch_dp *
dispatch_dp_new(int Tmax)
{
	dispatch_dp *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return NULL;
	w->Tmax = Tmax;
	w->fn = malloc(sizeof(saved) * (size_t) Tmax);
	w->cappool = (size_t) Tmax * 16;
	w->pool = malloc(sizeof(seg) * w->cappool);
	w->capcur = 64;
	w->cur = malloc(sizeof(seg) * (size_t) w->capcur);
	if (!w->fn || !w->pool || !w->cur)
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
	free(w->fn);
	free(w->pool);
	free(w->cur);
	free(w);
}

static int
cur_reserve(dispatch_dp *w, int extra)
{
	if (w->ncur + extra <= w->capcur)
		return 0;
	while (w->ncur + extra > w->capcur)
		w->capcur *= 2;
	w->cur = realloc(w->cur, sizeof(seg) * (size_t) w->capcur);
	return w->cur == NULL ? -1 : 0;
}

/* Insert a segment keeping slopes increasing; equal slopes merge. */
static void
cur_insert(dispatch_dp *w, double len, double slope)
{
	int			lo = 0,
				hi = w->ncur;

	if (len <= DP_EPS)
		return;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (w->cur[mid].slope < slope)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < w->ncur && w->cur[lo].slope == slope)
	{
		w->cur[lo].len += len;
		return;
	}
	memmove(&w->cur[lo + 1], &w->cur[lo], sizeof(seg) * (size_t) (w->ncur - lo));
	w->cur[lo].len = len;
	w->cur[lo].slope = slope;
	w->ncur++;
}

/* Restrict the working function (domain starts at *lo) to [a, b]. */
static int
cur_restrict(dispatch_dp *w, double *lo, double a, double b)
{
	double		total = 0.0,
				cut;
	int			k;

	for (int i = 0; i < w->ncur; i++)
		total += w->cur[i].len;
	if (*lo + total < a - 1e-9 || *lo > b + 1e-9 || a > b + 1e-9)
		return -1;
	/* right end first, so the left cut need not shift it */
	cut = *lo + total - b;
	while (cut > DP_EPS && w->ncur > 0)
	{
		seg		   *s = &w->cur[w->ncur - 1];

		if (s->len <= cut + DP_EPS)
		{
			cut -= s->len;
			w->ncur--;
		}
		else
		{
			s->len -= cut;
			cut = 0;
		}
	}
	cut = a - *lo;
	k = 0;
	while (cut > DP_EPS && k < w->ncur)
	{
		if (w->cur[k].len <= cut + DP_EPS)
		{
			cut -= w->cur[k].len;
			k++;
		}
		else
		{
			w->cur[k].len -= cut;
			cut = 0;
		}
	}
	if (k > 0)
	{
		memmove(&w->cur[0], &w->cur[k], sizeof(seg) * (size_t) (w->ncur - k));
		w->ncur -= k;
	}
	if (*lo < a)
		*lo = a;
	return 0;
}

static int
save_fn(dispatch_dp *w, int t, double lo)
{
	if (w->npool + (size_t) w->ncur > w->cappool)
	{
		while (w->npool + (size_t) w->ncur > w->cappool)
			w->cappool *= 2;
		w->pool = realloc(w->pool, sizeof(seg) * w->cappool);
		if (w->pool == NULL)
			return -1;
	}
	memcpy(&w->pool[w->npool], w->cur, sizeof(seg) * (size_t) w->ncur);
	w->fn[t].lo = lo;
	w->fn[t].off = w->npool;
	w->fn[t].n = w->ncur;
	w->npool += (size_t) w->ncur;
	return 0;
}

/* Leftmost minimiser of W(y) + s*y over W's domain. */
static double
crossing(const seg *sg, int n, double lo, double s)
{
	double		y = lo;

	for (int i = 0; i < n; i++)
	{
		if (sg[i].slope + s >= 0.0)
			break;
		y += sg[i].len;
	}
	return y;
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
	double		lo;

	assert(w != NULL && st != NULL && T > 0 && T <= w->Tmax);
	w->npool = 0;
	w->ncur = 0;
	lo = st[T - 1].lo;
	if (st[T - 1].hi - st[T - 1].lo > DP_EPS)
	{
		w->cur[0].len = st[T - 1].hi - st[T - 1].lo;
		w->cur[0].slope = 0.0;
		w->ncur = 1;
	}
	if (st[T - 1].hi < st[T - 1].lo - 1e-9)
		return derms_err_set(err, DERMS_ERANGE,
							 "state bounds of the last interval are empty");
	for (int t = T - 1; t >= 0; t--)
	{
		const dispatch_dp_step *s = &st[t];

		assert(s->r > 0.0 && s->A >= 0.0 && s->B >= 0.0);
		assert(s->sL <= s->sR + 1e-9);
		for (int i = 0; i < w->ncur; i++)
			w->cur[i].slope -= s->rho;
		if (cur_restrict(w, &lo, s->lo, s->hi) < 0)
			return derms_err_set(err, DERMS_ERANGE,
								 "no feasible state at interval %d", t);
		if (save_fn(w, t, lo) < 0)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		if (cur_reserve(w, 2) < 0)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		lo -= s->A;
		cur_insert(w, s->A - s->kink, -s->sR);
		cur_insert(w, s->kink + s->B, -s->sL);
		if (s->r != 1.0)
		{
			lo /= s->r;
			for (int i = 0; i < w->ncur; i++)
			{
				w->cur[i].len /= s->r;
				w->cur[i].slope *= s->r;
			}
		}
	}
	{
		double		total = 0.0;

		for (int i = 0; i < w->ncur; i++)
			total += w->cur[i].len;
		if (x0 < lo - 1e-7 || x0 > lo + total + 1e-7)
			return derms_err_set(err, DERMS_ERANGE,
								 "initial state %.6g outside the feasible range [%.6g, %.6g]",
								 x0, lo, lo + total);
	}
	for (int t = 0; t < T; t++)
	{
		const dispatch_dp_step *s = &st[t];
		const saved *f = &w->fn[t];
		const seg  *sg = &w->pool[f->off];
		double		hiW = f->lo,
					xr = s->r * x0,
					yR,
					yL,
					y,
					a,
					b;

		for (int i = 0; i < f->n; i++)
			hiW += sg[i].len;
		yR = crossing(sg, f->n, f->lo, s->sR);
		yL = crossing(sg, f->n, f->lo, s->sL);
		y = clampd(xr + s->kink, yR, yL);
		a = fmax(xr - s->B, f->lo);
		b = fmin(xr + s->A, hiW);
		if (a > b)
		{
			/* only rounding can get here: the recursion proved it feasible */
			double		m = (a + b) / 2.0;

			a = b = m;
		}
		y = clampd(y, a, b);
		d[t] = y - xr;
		x[t] = y;
		x0 = y;
	}
	return DERMS_OK;
}
