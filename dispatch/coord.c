/*
 * dispatch/coord.c
 *	  Price coordination of exact per-device subproblems: Dantzig-Wolfe
 *	  decomposition with blocks of devices, a small CLP master, Wentges
 *	  dual smoothing and a Lagrangian lower bound at every iteration.
 *
 * NOTES
 *	  Coupling rows (the only ones the master holds besides one convexity
 *	  row per block): a target row per interval with a target, a reserve
 *	  row per interval with a reserve, and feeder rows, added lazily: the
 *	  row of group g at t enters only once the columns seen so far could
 *	  break the limit (before that every convex combination respects it).
 *	  All rows have penalised slacks, so the master is always feasible.
 *
 *	  At duals d, each block b solves its devices exactly at the power
 *	  price c_t = dt * price_t + y_t + nu_{g,t} and stored-energy price
 *	  rho_t; the sum of the block optima plus the row terms
 *	  (d > 0 ? d * lower : d * upper) is a valid lower bound (weak
 *	  duality), whatever d is.  The master's objective is the cost of a
 *	  schedule that is feasible for every device (a convex combination of
 *	  feasible schedules of each device) and for every feeder row it holds.
 *	  The gap is (master - best bound) / max(|master|, |bound|, 1).
 *
 *	  Device schedules are not kept per column: a column remembers the
 *	  iteration whose duals produced it, and the final schedule re-solves
 *	  those devices at those duals (the subproblem solvers are
 *	  deterministic) and mixes them with the master's weights.
 *	  Pricing runs on in->opt.threads threads, blocks split round-robin.
 */
#include "coord.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <Clp_C_Interface.h>
#pragma GCC diagnostic pop

#include "dispatch/device.h"

#define COIN_DBL_MAX DBL_MAX
#ifndef DUAL_SIGN
#define DUAL_SIGN 1.0
#endif

typedef struct block
{
	int			group;
	int			first;			/* index into order[] */
	int			n;
} block;

typedef struct coord
{
	const dispatch_instance *in;
	int			T,
				G,
				B,
				nth;
	int		   *order;			/* resources sorted by group */
	block	   *blk;
	/* duals used for pricing, this iteration */
	double	   *y,
			   *rho,
			   *nu;
	/* pricing results per block */
	double	   *bS,
			   *bE,
			   *bC,
			   *bV;
	/* recovery: weights per (block, iteration) to mix, NULL when pricing */
	const double *mixw;
	int			mixk;
	dispatch_schedule *sched;
	derms_rc	rc;
	derms_err	err;
	pthread_mutex_t mu;
} coord;

typedef struct worker
{
	coord	   *c;
	int			tid;
} worker;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Price block b at the current duals, or mix it into the schedule. */
static void *
work_blocks(void *arg)
{
	worker	   *w = arg;
	coord	   *c = w->c;
	const dispatch_instance *in = c->in;
	int			T = c->T;
	dispatch_dev_work *dw = dispatch_dev_work_new(T);
	double	   *pc = malloc(sizeof(double) * 4 * (size_t) T);
	double	   *pd = pc ? pc + T : NULL,
			   *e = pc ? pc + 2 * T : NULL,
			   *price = pc ? pc + 3 * T : NULL;
	derms_err	err;

	if (dw == NULL || pc == NULL)
	{
		pthread_mutex_lock(&c->mu);
		if (c->rc == DERMS_OK)
			c->rc = derms_err_set(&c->err, DERMS_ENOMEM, "out of memory");
		pthread_mutex_unlock(&c->mu);
		goto out;
	}
	for (int b = w->tid; b < c->B && c->rc == DERMS_OK; b += c->nth)
	{
		const block *bk = &c->blk[b];
		const double *nu = &c->nu[(size_t) bk->group * T];
		double		lam = 1.0,
					own = 0.0;
		double	   *S = &c->bS[(size_t) b * T],
				   *E = &c->bE[(size_t) b * T];

		if (c->mixw != NULL)
		{
			lam = c->mixw[b];
			if (lam <= 0.0)
				continue;
		}
		else
		{
			memset(S, 0, sizeof(double) * (size_t) T);
			memset(E, 0, sizeof(double) * (size_t) T);
		}
		for (int t = 0; t < T; t++)
			price[t] = in->dt * in->price[t] + c->y[t] + nu[t];
		for (int i = 0; i < bk->n; i++)
		{
			int			r = c->order[bk->first + i];
			dispatch_dev_cost dc;
			derms_rc	rc;

			rc = dispatch_dev_solve(dw, in, r, price, c->rho, pc, pd, e, &dc,
									&err);
			if (rc != DERMS_OK)
			{
				pthread_mutex_lock(&c->mu);
				if (c->rc == DERMS_OK)
				{
					c->rc = derms_err_set(&c->err, rc,
										  "resources[%d] (\"%s\"): %s", r,
										  in->res[r].id, err.msg);
				}
				pthread_mutex_unlock(&c->mu);
				break;
			}
			if (c->mixw != NULL)
			{
				dispatch_schedule *s = c->sched;
				size_t		k = (size_t) r * T;

				for (int t = 0; t < T; t++)
				{
					s->pc[k + t] += lam * pc[t];
					s->pd[k + t] += lam * pd[t];
					s->e[k + t] += lam * e[t];
				}
				s->degr_cost[r] += lam * dc.degr;
				s->efc[r] += lam * dc.efc;
				s->flex_cost[r] += lam * dc.flex;
				continue;
			}
			own += dc.degr + dc.flex;
			for (int t = 0; t < T; t++)
			{
				S[t] += pd[t] - pc[t];
				if (in->res[r].kind == DISPATCH_BATTERY)
					E[t] += e[t];
			}
		}
		if (c->mixw == NULL)
		{
			double		C = own,
						V;

			for (int t = 0; t < T; t++)
				C -= in->dt * in->price[t] * S[t];
			V = C;
			for (int t = 0; t < T; t++)
				V -= (c->y[t] + nu[t]) * S[t] + c->rho[t] * E[t];
			c->bC[b] = C;
			c->bV[b] = V;
		}
	}
out:
	dispatch_dev_work_free(dw);
	free(pc);
	return NULL;
}

static derms_rc
run_workers(coord *c)
{
	pthread_t	th[64];
	worker		w[64];
	int			started = 0;

	c->rc = DERMS_OK;
	for (int i = 0; i < c->nth; i++)
	{
		w[i].c = c;
		w[i].tid = i;
	}
	for (int i = 1; i < c->nth; i++)
	{
		if (pthread_create(&th[i], NULL, work_blocks, &w[i]) != 0)
			break;
		started = i;
	}
	work_blocks(&w[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(th[i], NULL);
	if (started != c->nth - 1 && c->rc == DERMS_OK)
		c->rc = derms_err_set(&c->err, DERMS_EIO, "could not start threads");
	return c->rc;
}

static int
cmp_group(const void *a, const void *b, void *arg)
{
	const dispatch_instance *in = ((const struct coord *) arg)->in;
	int			x = *(const int *) a,
				y = *(const int *) b;

	if (in->res[x].group != in->res[y].group)
		return in->res[x].group < in->res[y].group ? -1 : 1;
	return x < y ? -1 : x > y;
}

static derms_rc
make_blocks(coord *c, derms_err *err)
{
	const dispatch_instance *in = c->in;
	int			N = in->nres,
				bs = in->opt.block_size;

	c->order = malloc(sizeof(int) * ((size_t) N + 1));
	c->blk = malloc(sizeof(block) * ((size_t) N + (size_t) c->G + 1));
	if (!c->order || !c->blk)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (int r = 0; r < N; r++)
		c->order[r] = r;
	qsort_r(c->order, (size_t) N, sizeof(int), cmp_group, c);
	if (bs <= 0)
	{
		/* about one block per two intervals, at least one per group */
		int			want = 2 * c->T > 64 ? c->T : 64;

		bs = (N + want - 1) / want;
		if (bs < 1)
			bs = 1;
	}
	c->B = 0;
	for (int i = 0; i < N;)
	{
		int			g = in->res[c->order[i]].group,
					j = i;

		while (j < N && in->res[c->order[j]].group == g && j - i < bs)
			j++;
		c->blk[c->B].group = g;
		c->blk[c->B].first = i;
		c->blk[c->B].n = j - i;
		c->B++;
		i = j;
	}
	return DERMS_OK;
}

/* The master LP and its bookkeeping. */
typedef struct master
{
	Clp_Simplex *m;
	int			T,
				G,
				B;
	int		   *trow,
			   *rrow,
			   *frow;			/* frow[g*T+t], -1 = not (yet) in */
	double	   *flo,
			   *fup;
	int			nlam;			/* lambda columns */
	int			caplam;
	int		   *lam_col,
			   *lam_blk,
			   *lam_it;
	double	   *lam_S;			/* [nlam * T] block net injection */
	double	   *bmax,
			   *bmin;			/* [B*T] over the block's columns */
	/* columns waiting for one Clp_addColumns call */
	int			npend;
	int		   *pstart;
	int		   *prow;
	double	   *pval;
	double	   *pcost;
	size_t		pnz,
				pcap;
} master;

static int
master_grow(master *M)
{
	if (M->nlam < M->caplam)
		return 0;
	M->caplam = M->caplam ? M->caplam * 2 : 1024;
	M->lam_col = realloc(M->lam_col, sizeof(int) * (size_t) M->caplam);
	M->lam_blk = realloc(M->lam_blk, sizeof(int) * (size_t) M->caplam);
	M->lam_it = realloc(M->lam_it, sizeof(int) * (size_t) M->caplam);
	M->lam_S = realloc(M->lam_S, sizeof(double) * (size_t) M->caplam * M->T);
	return (M->lam_col && M->lam_blk && M->lam_it && M->lam_S) ? 0 : -1;
}

static void
add_slack(master *M, int row, double cost, double coef)
{
	double		lo = 0.0,
				up = COIN_DBL_MAX;
	int			st[2] = {0, 1};

	Clp_addColumns(M->m, 1, &lo, &up, &cost, st, &row, &coef);
}

static int
master_init(master *M, const coord *c)
{
	const dispatch_instance *in = c->in;
	int			T = c->T,
				nrow = 0;
	double	   *lo = malloc(sizeof(double) * ((size_t) 3 * T + c->B + 1));
	double	   *up = malloc(sizeof(double) * ((size_t) 3 * T + c->B + 1));
	int			zero = 0;

	memset(M, 0, sizeof(*M));
	M->T = T;
	M->G = c->G;
	M->B = c->B;
	M->trow = malloc(sizeof(int) * (size_t) T);
	M->rrow = malloc(sizeof(int) * (size_t) T);
	M->frow = malloc(sizeof(int) * (size_t) T * c->G);
	M->bmax = malloc(sizeof(double) * (size_t) T * c->B);
	M->bmin = malloc(sizeof(double) * (size_t) T * c->B);
	if (!lo || !up || !M->trow || !M->rrow || !M->frow || !M->bmax || !M->bmin)
	{
		free(lo);
		free(up);
		return -1;
	}
	for (int b = 0; b < c->B; b++, nrow++)
		lo[nrow] = up[nrow] = 1.0;
	for (int t = 0; t < T; t++)
	{
		M->trow[t] = M->rrow[t] = -1;
		if (!isnan(in->target[t]))
		{
			lo[nrow] = up[nrow] = in->target[t];
			M->trow[t] = nrow++;
		}
	}
	for (int t = 0; t < T; t++)
		if (!isnan(in->reserve[t]))
		{
			lo[nrow] = in->reserve[t];
			up[nrow] = COIN_DBL_MAX;
			M->rrow[t] = nrow++;
		}
	for (size_t k = 0; k < (size_t) T * c->G; k++)
		M->frow[k] = -1;
	for (size_t k = 0; k < (size_t) T * c->B; k++)
	{
		M->bmax[k] = -HUGE_VAL;
		M->bmin[k] = HUGE_VAL;
	}
	M->m = Clp_newModel();
	Clp_setLogLevel(M->m, 0);
	{
		int		   *starts = calloc(1, sizeof(int));

		Clp_loadProblem(M->m, 0, nrow, starts, NULL, NULL, NULL, NULL, NULL,
						lo, up);
		free(starts);
	}
	(void) zero;
	for (int t = 0; t < T; t++)
	{
		if (M->trow[t] >= 0)
		{
			add_slack(M, M->trow[t], in->pen_shortfall * in->dt, 1.0);
			add_slack(M, M->trow[t], in->pen_surplus * in->dt, -1.0);
		}
		if (M->rrow[t] >= 0)
			add_slack(M, M->rrow[t], in->pen_reserve, 1.0);
	}
	free(lo);
	free(up);
	return 0;
}

static void
master_free(master *M)
{
	if (M->m)
		Clp_deleteModel(M->m);
	free(M->trow);
	free(M->rrow);
	free(M->frow);
	free(M->lam_col);
	free(M->lam_blk);
	free(M->lam_it);
	free(M->lam_S);
	free(M->bmax);
	free(M->bmin);
	free(M->pstart);
	free(M->prow);
	free(M->pval);
	free(M->pcost);
}

/* Add the column block b produced at iteration it. */
static int
master_add_column(master *M, const coord *c, int b, int it)
{
	int			T = c->T,
				g = c->blk[b].group;
	const double *S = &c->bS[(size_t) b * T],
			   *E = &c->bE[(size_t) b * T];
	int		   *rows = malloc(sizeof(int) * (3 * (size_t) T + 1));
	double	   *vals = malloc(sizeof(double) * (3 * (size_t) T + 1));
	int			n = 0,
				st[2];
	double		lo = 0.0,
				up = COIN_DBL_MAX,
				cost = c->bC[b];

	if (!rows || !vals || master_grow(M) < 0)
	{
		free(rows);
		free(vals);
		return -1;
	}
	rows[n] = b;
	vals[n++] = 1.0;
	for (int t = 0; t < T; t++)
	{
		if (M->trow[t] >= 0)
		{
			rows[n] = M->trow[t];
			vals[n++] = S[t];
		}
		if (M->rrow[t] >= 0)
		{
			rows[n] = M->rrow[t];
			vals[n++] = E[t];
		}
		if (M->frow[(size_t) g * T + t] >= 0)
		{
			rows[n] = M->frow[(size_t) g * T + t];
			vals[n++] = S[t];
		}
		if (S[t] > M->bmax[(size_t) b * T + t])
			M->bmax[(size_t) b * T + t] = S[t];
		if (S[t] < M->bmin[(size_t) b * T + t])
			M->bmin[(size_t) b * T + t] = S[t];
	}
	(void) st;
	(void) lo;
	(void) up;
	M->lam_col[M->nlam] = Clp_numberColumns(M->m) + M->npend;
	M->lam_blk[M->nlam] = b;
	M->lam_it[M->nlam] = it;
	memcpy(&M->lam_S[(size_t) M->nlam * T], S, sizeof(double) * (size_t) T);
	M->nlam++;
	if (M->pnz + (size_t) n > M->pcap)
	{
		M->pcap = (M->pnz + (size_t) n) * 2;
		M->prow = realloc(M->prow, sizeof(int) * M->pcap);
		M->pval = realloc(M->pval, sizeof(double) * M->pcap);
	}
	M->pstart = realloc(M->pstart, sizeof(int) * ((size_t) M->npend + 2));
	M->pcost = realloc(M->pcost, sizeof(double) * ((size_t) M->npend + 1));
	if (!M->prow || !M->pval || !M->pstart || !M->pcost)
	{
		free(rows);
		free(vals);
		return -1;
	}
	M->pstart[M->npend] = (int) M->pnz;
	memcpy(&M->prow[M->pnz], rows, sizeof(int) * (size_t) n);
	memcpy(&M->pval[M->pnz], vals, sizeof(double) * (size_t) n);
	M->pnz += (size_t) n;
	M->pcost[M->npend] = cost;
	M->npend++;
	M->pstart[M->npend] = (int) M->pnz;
	free(rows);
	free(vals);
	return 0;
}

static int
master_flush(master *M)
{
	double	   *lo,
			   *up;

	if (M->npend == 0)
		return 0;
	lo = calloc((size_t) M->npend, sizeof(double));
	up = malloc(sizeof(double) * (size_t) M->npend);
	if (!lo || !up)
	{
		free(lo);
		free(up);
		return -1;
	}
	for (int i = 0; i < M->npend; i++)
		up[i] = COIN_DBL_MAX;
	Clp_addColumns(M->m, M->npend, lo, up, M->pcost, M->pstart, M->prow, M->pval);
	free(lo);
	free(up);
	M->npend = 0;
	M->pnz = 0;
	return 0;
}

/* Add feeder rows that the columns so far could violate. */
static int
master_feeder_rows(master *M, const coord *c)
{
	const dispatch_instance *in = c->in;
	int			T = c->T,
				added = 0;
	double	   *smax = calloc((size_t) T * c->G, sizeof(double));
	double	   *smin = calloc((size_t) T * c->G, sizeof(double));

	if (!smax || !smin)
	{
		free(smax);
		free(smin);
		return -1;
	}
	for (int b = 0; b < c->B; b++)
		for (int t = 0; t < T; t++)
		{
			size_t		k = (size_t) c->blk[b].group * T + t;

			smax[k] += M->bmax[(size_t) b * T + t];
			smin[k] += M->bmin[(size_t) b * T + t];
		}
	for (int g = 0; g < c->G; g++)
		for (int t = 0; t < T; t++)
		{
			size_t		k = (size_t) g * T + t;
			double		lo = -in->groups[g].import_limit,
						up = in->groups[g].export_limit;
			int			n = 0,
						st[2];
			int		   *cols;
			double	   *vals;
			int			row;

			if (M->frow[k] >= 0 ||
				(smax[k] <= up + 1e-9 && smin[k] >= lo - 1e-9))
				continue;
			cols = malloc(sizeof(int) * ((size_t) M->nlam + 1));
			vals = malloc(sizeof(double) * ((size_t) M->nlam + 1));
			if (!cols || !vals)
			{
				free(cols);
				free(vals);
				free(smax);
				free(smin);
				return -1;
			}
			for (int j = 0; j < M->nlam; j++)
				if (c->blk[M->lam_blk[j]].group == g &&
					M->lam_S[(size_t) j * T + t] != 0.0)
				{
					cols[n] = M->lam_col[j];
					vals[n++] = M->lam_S[(size_t) j * T + t];
				}
			st[0] = 0;
			st[1] = n;
			if (isinf(lo))
				lo = -COIN_DBL_MAX;
			if (isinf(up))
				up = COIN_DBL_MAX;
			row = Clp_numberRows(M->m);
			Clp_addRows(M->m, 1, &lo, &up, st, cols, vals);
			M->frow[k] = row;
			add_slack(M, row, in->pen_feeder * in->dt, -1.0);
			add_slack(M, row, in->pen_feeder * in->dt, 1.0);
			free(cols);
			free(vals);
			added++;
		}
	free(smax);
	free(smin);
	return added;
}

static double
boxterm(double d, double lo, double up)
{
	if (d > 0)
		return d * lo;
	if (d < 0)
		return d * up;
	return 0.0;
}

/* Copy the master's duals into y, rho, nu. */
static void
master_duals(const master *M, const coord *c, double *y, double *rho,
			 double *nu)
{
	const double *d = Clp_getRowPrice(M->m);
	int			T = c->T;

	for (int t = 0; t < T; t++)
	{
		y[t] = M->trow[t] >= 0 ? DUAL_SIGN * d[M->trow[t]] : 0.0;
		rho[t] = M->rrow[t] >= 0 ? fmax(DUAL_SIGN * d[M->rrow[t]], 0.0) : 0.0;
	}
	for (size_t k = 0; k < (size_t) T * c->G; k++)
		nu[k] = M->frow[k] >= 0 ? DUAL_SIGN * d[M->frow[k]] : 0.0;
}

/* The Lagrangian bound at the duals the blocks were priced at. */
static double
lagrange_bound(const master *M, const coord *c)
{
	const dispatch_instance *in = c->in;
	int			T = c->T;
	double		L = 0.0;

	for (int b = 0; b < c->B; b++)
		L += c->bV[b];
	for (int t = 0; t < T; t++)
	{
		if (M->trow[t] >= 0)
			L += c->y[t] * in->target[t];
		if (M->rrow[t] >= 0)
			L += c->rho[t] * in->reserve[t];
	}
	for (int g = 0; g < c->G; g++)
		for (int t = 0; t < T; t++)
			if (M->frow[(size_t) g * T + t] >= 0)
				L += boxterm(c->nu[(size_t) g * T + t],
							 -in->groups[g].import_limit,
							 in->groups[g].export_limit);
	return L;
}

derms_rc
dispatch_coord_solve(const dispatch_instance *in, dispatch_schedule **out,
					 derms_err *err)
{
	coord		c;
	master		M;
	int			T = in->T,
				G = in->ngroups,
				it = 0,
				nhist = 0,
				caphist = 0;
	double		t0 = now(),
				best = -HUGE_VAL,
				ub = HUGE_VAL,
				alpha = 0.5;
	double	   *my = NULL,
			   *mrho = NULL,
			   *mnu = NULL,
			   *by = NULL,
			   *brho = NULL,
			   *bnu = NULL;
	double	   *hy = NULL,
			   *hrho = NULL,
			   *hnu = NULL;
	double		tol = in->opt.gap_tolerance;
	derms_rc	rc = DERMS_OK;
	size_t		GT = (size_t) G * T;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	memset(&M, 0, sizeof(M));
	c.in = in;
	c.T = T;
	c.G = G;
	c.nth = in->opt.threads > 0 ? in->opt.threads : (int) sysconf(_SC_NPROCESSORS_ONLN);
	if (c.nth < 1)
		c.nth = 1;
	if (c.nth > 64)
		c.nth = 64;
	pthread_mutex_init(&c.mu, NULL);
	if ((rc = make_blocks(&c, err)) != DERMS_OK)
		goto done;
	if (c.nth > c.B)
		c.nth = c.B > 0 ? c.B : 1;
	c.y = calloc((size_t) T, sizeof(double));
	c.rho = calloc((size_t) T, sizeof(double));
	c.nu = calloc(GT, sizeof(double));
	my = calloc((size_t) T, sizeof(double));
	mrho = calloc((size_t) T, sizeof(double));
	mnu = calloc(GT, sizeof(double));
	by = calloc((size_t) T, sizeof(double));
	brho = calloc((size_t) T, sizeof(double));
	bnu = calloc(GT, sizeof(double));
	c.bS = calloc((size_t) T * (c.B + 1), sizeof(double));
	c.bE = calloc((size_t) T * (c.B + 1), sizeof(double));
	c.bC = calloc((size_t) c.B + 1, sizeof(double));
	c.bV = calloc((size_t) c.B + 1, sizeof(double));
	if (!c.y || !c.rho || !c.nu || !my || !mrho || !mnu || !by || !brho ||
		!bnu || !c.bS || !c.bE || !c.bC || !c.bV || master_init(&M, &c) < 0)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}

	for (it = 0; it < in->opt.max_iterations; it++)
	{
		double		L;
		int			improving = 0;

		/* remember the duals of this iteration for the recovery */
		if (nhist == caphist)
		{
			caphist = caphist ? caphist * 2 : 64;
			hy = realloc(hy, sizeof(double) * (size_t) caphist * T);
			hrho = realloc(hrho, sizeof(double) * (size_t) caphist * T);
			hnu = realloc(hnu, sizeof(double) * (size_t) caphist * GT);
			if (!hy || !hrho || !hnu)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
		}
		memcpy(&hy[(size_t) nhist * T], c.y, sizeof(double) * (size_t) T);
		memcpy(&hrho[(size_t) nhist * T], c.rho, sizeof(double) * (size_t) T);
		memcpy(&hnu[(size_t) nhist * GT], c.nu, sizeof(double) * GT);
		nhist++;

		if ((rc = run_workers(&c)) != DERMS_OK)
		{
			*err = c.err;
			goto done;
		}
		L = lagrange_bound(&M, &c);
		if (L > best)
		{
			best = L;
			memcpy(by, c.y, sizeof(double) * (size_t) T);
			memcpy(brho, c.rho, sizeof(double) * (size_t) T);
			memcpy(bnu, c.nu, sizeof(double) * GT);
		}
		/* columns that price out against the master's own duals */
		{
			const double *mu = it > 0 ? Clp_getRowPrice(M.m) : NULL;

			for (int b = 0; b < c.B; b++)
			{
				double		rcst = c.bC[b];
				const double *S = &c.bS[(size_t) b * T],
						   *E = &c.bE[(size_t) b * T];
				const double *nu = &mnu[(size_t) c.blk[b].group * T];

				if (mu != NULL)
				{
					rcst -= DUAL_SIGN * mu[b];
					for (int t = 0; t < T; t++)
						rcst -= (my[t] + nu[t]) * S[t] + mrho[t] * E[t];
				}
				if (mu == NULL || rcst < -1e-9 * fmax(1.0, fabs(c.bC[b])))
				{
					if (master_add_column(&M, &c, b, nhist - 1) < 0)
					{
						rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
						goto done;
					}
					improving++;
				}
			}
		}
		if (master_flush(&M) < 0 || master_feeder_rows(&M, &c) < 0)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
		if (improving > 0 || it == 0)
		{
			Clp_primal(M.m, 0);
			if (Clp_status(M.m) != 0)
				Clp_initialSolve(M.m);
			if (Clp_status(M.m) != 0)
			{
				rc = derms_err_set(err, DERMS_ERANGE,
								   "the master LP stopped with status %d",
								   Clp_status(M.m));
				goto done;
			}
			ub = Clp_objectiveValue(M.m);
			master_duals(&M, &c, my, mrho, mnu);
		}
		if (getenv("DERMS_DISPATCH_TRACE"))
			fprintf(stderr, "it %d t %.3f cols %d rows %d ub %.6f lb %.6f\n", it,
					now() - t0, M.nlam, Clp_numberRows(M.m), ub, best);
		if ((ub - best) <= tol * fmax(fmax(fabs(ub), fabs(best)), 1.0))
		{
			it++;
			break;
		}
		if (improving == 0 && alpha == 0.0)
		{
			/* no column prices out at the master's duals: optimal */
			it++;
			break;
		}
		if (in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit)
		{
			it++;
			break;
		}
		/* Wentges smoothing towards the best duals; off after a mispricing */
		alpha = improving > 0 ? 0.5 : 0.0;
		for (int t = 0; t < T; t++)
		{
			c.y[t] = alpha * by[t] + (1 - alpha) * my[t];
			c.rho[t] = alpha * brho[t] + (1 - alpha) * mrho[t];
		}
		for (size_t k = 0; k < GT; k++)
			c.nu[k] = alpha * bnu[k] + (1 - alpha) * mnu[k];
	}

	/* recovery: mix the columns with the master's weights */
	c.sched = dispatch_schedule_new(in->nres, T);
	if (c.sched == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	{
		const double *x = Clp_getColSolution(M.m);
		double	   *w = calloc((size_t) c.B + 1, sizeof(double));
		double	   *save_y = c.y,
				   *save_rho = c.rho,
				   *save_nu = c.nu;

		if (w == NULL)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
		for (int k = 0; k < nhist && rc == DERMS_OK; k++)
		{
			int			any = 0;

			memset(w, 0, sizeof(double) * (size_t) c.B);
			for (int j = 0; j < M.nlam; j++)
				if (M.lam_it[j] == k && x[M.lam_col[j]] > 1e-12)
				{
					w[M.lam_blk[j]] = x[M.lam_col[j]];
					any = 1;
				}
			if (!any)
				continue;
			c.y = &hy[(size_t) k * T];
			c.rho = &hrho[(size_t) k * T];
			c.nu = &hnu[(size_t) k * GT];
			c.mixw = w;
			rc = run_workers(&c);
			if (rc != DERMS_OK)
				*err = c.err;
		}
		c.y = save_y;
		c.rho = save_rho;
		c.nu = save_nu;
		c.mixw = NULL;
		free(w);
		if (rc != DERMS_OK)
			goto done;
	}
	/* weights of a block sum to one up to CLP's tolerance: renormalise */
	dispatch_schedule_evaluate(in, c.sched);
	c.sched->lower_bound = best;
	c.sched->gap = fmax(0.0, c.sched->cost.total - best) /
		fmax(fmax(fabs(c.sched->cost.total), fabs(best)), 1.0);
	c.sched->iterations = it;
	c.sched->method = "dantzig-wolfe";
	c.sched->seconds = now() - t0;
	*out = c.sched;
	c.sched = NULL;
done:
	dispatch_schedule_free(c.sched);
	master_free(&M);
	pthread_mutex_destroy(&c.mu);
	free(c.order);
	free(c.blk);
	free(c.y);
	free(c.rho);
	free(c.nu);
	free(my);
	free(mrho);
	free(mnu);
	free(by);
	free(brho);
	free(bnu);
	free(hy);
	free(hrho);
	free(hnu);
	free(c.bS);
	free(c.bE);
	free(c.bC);
	free(c.bV);
	return rc;
}
