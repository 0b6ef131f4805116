/*
 * dispatch/coord.c
 *	  Price coordination of exact per-device subproblems: Dantzig-Wolfe
 *	  decomposition over blocks of devices with a small CLP master,
 *	  box-step (trust-region) dual stabilisation, a warm start from a
 *	  virtual-battery aggregate, and a certified Lagrangian lower bound.
 *
 * NOTES
 *	  Linking rows: a target row per interval with a target, a reserve row
 *	  per interval with a reserve, and feeder rows, added when the
 *	  columns seen so far could break a limit (or the warm start prices
 *	  it).  Every row has its penalised slacks, so the master is always
 *	  feasible; each block has a convexity row.
 *
 *	  Lower bound.  At any duals (y, rho, nu) inside the slacks' price
 *	  ranges, the sum of the blocks' exact optima at the power price
 *	  c_t = dt price_t + y_t + nu_{g,t} and stored-energy price rho_t, plus
 *	  y.target + rho.reserve + sum of nu times the binding feeder limit, is
 *	  a lower bound on the optimum (weak duality).  We report the best.
 *
 *	  Stabilisation.  Around a centre (the best duals so far) the master
 *	  gets, per linking row, two "box" columns of cost centre +- delta:
 *	  its duals then stay within delta of the centre (du Merle's boxstep,
 *	  a trust region).  The stabilised master's value is the cutting-plane
 *	  model's maximum in the box; when the Lagrangian at the new duals
 *	  gains at least a tenth of what the model predicted, the centre moves
 *	  (serious step) and the box may grow; when it loses, the box shrinks.
 *	  Columns unused for AGE_MAX master solves are deleted.
 *
 *	  Upper bound.  Each iteration also solves the master with the box
 *	  columns closed: its value is the cost of a convex combination, per
 *	  block, of device schedules, each feasible for its device, respecting
 *	  every feeder row the master holds (elastic only when nothing else
 *	  can).  The gap is (that value - best bound) / max(|.|, |.|, 1).  The
 *	  schedule itself is rebuilt at the end: a column remembers the
 *	  iteration whose duals produced it, and those blocks are re-solved at
 *	  those duals (the device solvers are deterministic) and mixed with the
 *	  master's weights, renormalised per block; the reported cost is then
 *	  re-evaluated from the schedule by dispatch_schedule_evaluate().
 *
 *	  Repair.  The first pricing pass also keeps every device's schedule;
 *	  repair.c then sweeps over the devices against the target residual
 *	  and feeder room (a second, often much better, upper bound at once).
 *	  When its gap already meets the tolerance (or time is up) that
 *	  schedule is returned ("lagrangian-repair"); otherwise the master
 *	  iterations run as below and the cheaper of the two schedules wins.
 *
 *	  Warm start: one virtual battery for the whole fleet (sums of
 *	  powers, energies and limits; weighted efficiencies, losses and wear
 *	  cost) plus all PV summed, feeder limits left out, solved as one
 *	  small LP by CLP; its target duals are the first prices, feeder
 *	  duals start at zero.  One LP of T intervals takes milliseconds where
 *	  one virtual battery per group took 13.5 s on tier M, and the first
 *	  bound was as good (S: 5886.73 against 5886.75; M: 57946.2 against
 *	  57946.6).  Only a starting point: neither bound depends on it.
 *
 *	  Warm re-solve (dispatch_coord_resolve): the pricing and the bound
 *	  are as above, but the repair starts from the previous schedule of
 *	  every resource still within its own limits, and its soft phase
 *	  starts at a tenth of the true slopes (about six sweeps, not twenty).
 *
 *	  DERMS_DISPATCH_TRACE=1 prints one line per iteration to stderr
 *	  (time, columns, rows, bounds, box size): an operator's debugging aid.
 *	  Pricing runs on in->opt.threads threads, blocks split round-robin.
 */
#include "coord.h"

#include <assert.h>
#include <float.h>
#include <stdint.h>
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

#include "dispatch/check.h"
#include "dispatch/degrade.h"
#include "dispatch/device.h"
#include "dispatch/exact.h"
#include "dispatch/repair.h"

#define COIN_DBL_MAX DBL_MAX
#define AGE_MAX 8				/* master solves a column may sit unused */
#define REPAIR_SWEEPS 60		/* repair sweeps at most */
#ifndef NOISE_EVERY
#define NOISE_EVERY 4			/* one stabilised dual step in this many */
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
	/* per-block price noise (primal diversification; no bound then) */
	double		eps;
	int			seed;
	/* recovery: weights per block to mix, NULL when pricing */
	const double *mixw;
	dispatch_schedule *sched;
	/* pricing: also store each device's schedule here, unless NULL */
	dispatch_schedule *keep;
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

/* Deterministic noise in [-1, 1] for (seed, block, interval). */
static double
noise(int seed, int b, int t)
{
	uint64_t	z = ((uint64_t) seed << 40) ^ ((uint64_t) b << 20) ^ (uint64_t) t;

	z += 0x9e3779b97f4a7c15ULL;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (double) (z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
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
			price[t] = in->dt * in->price[t] + c->y[t] + nu[t] +
				(c->eps > 0.0 ? c->eps * noise(c->seed, b, t) : 0.0);
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
			if (c->keep != NULL)
			{
				/* keep the priced schedule itself (the repair's start) */
				dispatch_schedule *s = c->keep;
				size_t		k = (size_t) r * T;

				memcpy(&s->pc[k], pc, sizeof(double) * (size_t) T);
				memcpy(&s->pd[k], pd, sizeof(double) * (size_t) T);
				memcpy(&s->e[k], e, sizeof(double) * (size_t) T);
				s->degr_cost[r] = dc.degr;
				s->efc[r] = dc.efc;
				s->flex_cost[r] = dc.flex;
			}
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
		/* a few blocks per group: enough freedom for the master to mix
		 * schedules, few enough to keep it small */
		int			want = 4 * c->G > 32 ? 4 * c->G : 32;

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

/* Kinds of master columns. */
#define COL_SLACK	0
#define COL_BOX		1
#define COL_LAM		2

/* Kinds of linking rows, for the dual ranges. */
#define ROW_CONV	0
#define ROW_TARGET	1
#define ROW_RESERVE 2
#define ROW_FEEDER	3

/* The master LP and its bookkeeping, indexed like CLP's rows/columns. */
typedef struct master
{
	Clp_Simplex *m;
	int			T;
	int		   *trow,
			   *rrow,
			   *frow;			/* frow[g*T+t], -1 = not (yet) in */
	/* rows */
	int			nrow,
				caprow;
	char	   *rkind;
	double	   *cen;			/* centre dual of each linking row */
	/* columns */
	int			ncol,
				capcol;
	char	   *kind;
	int		   *cblk,
			   *cit,
			   *cage,
			   *crow;			/* box: its row */
	signed char *csgn;			/* box: +1 or -1 */
	double	   *cS;				/* [capcol * T], LAM only */
	double	   *bmax,
			   *bmin;			/* [B*T] over each block's columns */
	int			nlam;
	/* lambda columns waiting for one Clp_addColumns call */
	int			npend;
	int		   *pstart,
			   *prow;
	double	   *pval,
			   *pcost;
	size_t		pnz,
				pcap;
} master;

static int
grow_rows(master *M, int need)
{
	if (need <= M->caprow)
		return 0;
	M->caprow = need * 2 + 64;
	M->rkind = realloc(M->rkind, (size_t) M->caprow);
	M->cen = realloc(M->cen, sizeof(double) * (size_t) M->caprow);
	return (M->rkind && M->cen) ? 0 : -1;
}

static int
grow_cols(master *M, int need)
{
	if (need <= M->capcol)
		return 0;
	M->capcol = need * 2 + 256;
	M->kind = realloc(M->kind, (size_t) M->capcol);
	M->cblk = realloc(M->cblk, sizeof(int) * (size_t) M->capcol);
	M->cit = realloc(M->cit, sizeof(int) * (size_t) M->capcol);
	M->cage = realloc(M->cage, sizeof(int) * (size_t) M->capcol);
	M->crow = realloc(M->crow, sizeof(int) * (size_t) M->capcol);
	M->csgn = realloc(M->csgn, (size_t) M->capcol);
	M->cS = realloc(M->cS, sizeof(double) * (size_t) M->capcol * M->T);
	return (M->kind && M->cblk && M->cit && M->cage && M->crow && M->csgn &&
			M->cS) ? 0 : -1;
}

/* Append a slack or box column (one entry) to CLP and the metadata. */
static int
add_unit_col(master *M, int kind, int row, double coef, double cost)
{
	double		lo = 0.0,
				up = COIN_DBL_MAX;
	int			st[2] = {0, 1};
	int			j = M->ncol;

	if (grow_cols(M, j + 1) < 0)
		return -1;
	Clp_addColumns(M->m, 1, &lo, &up, &cost, st, &row, &coef);
	M->kind[j] = (char) kind;
	M->cblk[j] = -1;
	M->cit[j] = -1;
	M->cage[j] = 0;
	M->crow[j] = row;
	M->csgn[j] = coef > 0 ? 1 : -1;
	M->ncol++;
	return 0;
}

/* A linking row: its penalised slacks and its two box columns. */
static int
add_link_slacks(master *M, int row, int rk, double cen, double pen_up,
				double pen_dn)
{
	M->rkind[row] = (char) rk;
	M->cen[row] = cen;
	if (pen_up > 0 && add_unit_col(M, COL_SLACK, row, 1.0, pen_up) < 0)
		return -1;
	if (pen_dn > 0 && add_unit_col(M, COL_SLACK, row, -1.0, pen_dn) < 0)
		return -1;
	if (add_unit_col(M, COL_BOX, row, 1.0, 0.0) < 0 ||
		add_unit_col(M, COL_BOX, row, -1.0, 0.0) < 0)
		return -1;
	return 0;
}

static int
master_init(master *M, const coord *c, const double *y0, const double *rho0)
{
	const dispatch_instance *in = c->in;
	int			T = c->T,
				nrow = 0;
	double	   *lo = malloc(sizeof(double) * ((size_t) 2 * T + c->B + 1));
	double	   *up = malloc(sizeof(double) * ((size_t) 2 * T + c->B + 1));
	int			starts[1] = {0};
	int			rc = 0;

	memset(M, 0, sizeof(*M));
	M->T = T;
	M->trow = malloc(sizeof(int) * (size_t) T);
	M->rrow = malloc(sizeof(int) * (size_t) T);
	M->frow = malloc(sizeof(int) * (size_t) T * (c->G ? c->G : 1));
	M->bmax = malloc(sizeof(double) * (size_t) T * c->B);
	M->bmin = malloc(sizeof(double) * (size_t) T * c->B);
	if (!lo || !up || !M->trow || !M->rrow || !M->frow || !M->bmax ||
		!M->bmin || grow_rows(M, 2 * T + c->B + 1) < 0)
	{
		free(lo);
		free(up);
		return -1;
	}
	for (int b = 0; b < c->B; b++, nrow++)
	{
		lo[nrow] = up[nrow] = 1.0;
		M->rkind[nrow] = ROW_CONV;
		M->cen[nrow] = 0.0;
	}
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
	M->nrow = nrow;
	for (size_t k = 0; k < (size_t) T * c->G; k++)
		M->frow[k] = -1;
	for (size_t k = 0; k < (size_t) T * c->B; k++)
	{
		M->bmax[k] = -HUGE_VAL;
		M->bmin[k] = HUGE_VAL;
	}
	M->m = Clp_newModel();
	Clp_setLogLevel(M->m, 0);
	Clp_loadProblem(M->m, 0, nrow, starts, NULL, NULL, NULL, NULL, NULL, lo, up);
	for (int t = 0; t < T && rc == 0; t++)
	{
		if (M->trow[t] >= 0)
			rc = add_link_slacks(M, M->trow[t], ROW_TARGET, y0[t],
								 in->pen_shortfall * in->dt,
								 in->pen_surplus * in->dt);
		if (rc == 0 && M->rrow[t] >= 0)
			rc = add_link_slacks(M, M->rrow[t], ROW_RESERVE, rho0[t],
								 in->pen_reserve, 0.0);
	}
	free(lo);
	free(up);
	return rc;
}

static void
master_free(master *M)
{
	if (M->m)
		Clp_deleteModel(M->m);
	free(M->trow);
	free(M->rrow);
	free(M->frow);
	free(M->rkind);
	free(M->cen);
	free(M->kind);
	free(M->cblk);
	free(M->cit);
	free(M->cage);
	free(M->crow);
	free(M->csgn);
	free(M->cS);
	free(M->bmax);
	free(M->bmin);
	free(M->pstart);
	free(M->prow);
	free(M->pval);
	free(M->pcost);
}

/* Queue the column block b produced at iteration it. */
static int
master_add_column(master *M, const coord *c, int b, int it)
{
	int			T = c->T,
				g = c->blk[b].group,
				j = M->ncol + M->npend;
	const double *S = &c->bS[(size_t) b * T],
			   *E = &c->bE[(size_t) b * T];
	size_t		need = M->pnz + 3 * (size_t) T + 1;

	if (grow_cols(M, j + 1) < 0)
		return -1;
	if (need > M->pcap)
	{
		M->pcap = need * 2;
		M->prow = realloc(M->prow, sizeof(int) * M->pcap);
		M->pval = realloc(M->pval, sizeof(double) * M->pcap);
	}
	M->pstart = realloc(M->pstart, sizeof(int) * ((size_t) M->npend + 2));
	M->pcost = realloc(M->pcost, sizeof(double) * ((size_t) M->npend + 1));
	if (!M->prow || !M->pval || !M->pstart || !M->pcost)
		return -1;
	M->pstart[M->npend] = (int) M->pnz;
#define PUT(r, v) do { M->prow[M->pnz] = (r); M->pval[M->pnz++] = (v); } while (0)
	PUT(b, 1.0);
	for (int t = 0; t < T; t++)
	{
		size_t		k = (size_t) b * T + t;

		if (M->trow[t] >= 0 && S[t] != 0.0)
			PUT(M->trow[t], S[t]);
		if (M->rrow[t] >= 0 && E[t] != 0.0)
			PUT(M->rrow[t], E[t]);
		if (M->frow[(size_t) g * T + t] >= 0 && S[t] != 0.0)
			PUT(M->frow[(size_t) g * T + t], S[t]);
		if (S[t] > M->bmax[k])
			M->bmax[k] = S[t];
		if (S[t] < M->bmin[k])
			M->bmin[k] = S[t];
	}
#undef PUT
	M->pcost[M->npend] = c->bC[b];
	M->npend++;
	M->pstart[M->npend] = (int) M->pnz;
	M->kind[j] = COL_LAM;
	M->cblk[j] = b;
	M->cit[j] = it;
	M->cage[j] = 0;
	M->crow[j] = -1;
	M->csgn[j] = 0;
	memcpy(&M->cS[(size_t) j * T], S, sizeof(double) * (size_t) T);
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
	M->ncol += M->npend;
	M->nlam += M->npend;
	M->npend = 0;
	M->pnz = 0;
	return 0;
}

/*
 * Add the feeder row of (g, t) when the columns so far could break its
 * limit or force[g*T+t] (the warm start prices it) is set.
 */
static int
master_feeder_rows(master *M, const coord *c, const double *cnu,
				   const char *force)
{
	const dispatch_instance *in = c->in;
	int			T = c->T;
	double	   *smax = calloc((size_t) T * c->G + 1, sizeof(double));
	double	   *smin = calloc((size_t) T * c->G + 1, sizeof(double));
	int		   *cols = malloc(sizeof(int) * ((size_t) M->ncol + 1));
	double	   *vals = malloc(sizeof(double) * ((size_t) M->ncol + 1));
	int			rc = 0;

	if (!smax || !smin || !cols || !vals)
		rc = -1;
	for (int b = 0; rc == 0 && b < c->B; b++)
		for (int t = 0; t < T; t++)
		{
			size_t		k = (size_t) c->blk[b].group * T + t;

			smax[k] += M->bmax[(size_t) b * T + t];
			smin[k] += M->bmin[(size_t) b * T + t];
		}
	for (int g = 0; rc == 0 && g < c->G; g++)
		for (int t = 0; rc == 0 && t < T; t++)
		{
			size_t		k = (size_t) g * T + t;
			double		lo = -in->groups[g].import_limit,
						up = in->groups[g].export_limit;
			int			n = 0,
						st[2],
						row;

			if (M->frow[k] >= 0)
				continue;
			if (!(force && force[k]) &&
				smax[k] <= up + 1e-9 && smin[k] >= lo - 1e-9)
				continue;
			for (int j = 0; j < M->ncol; j++)
				if (M->kind[j] == COL_LAM && c->blk[M->cblk[j]].group == g &&
					M->cS[(size_t) j * T + t] != 0.0)
				{
					cols[n] = j;
					vals[n++] = M->cS[(size_t) j * T + t];
				}
			st[0] = 0;
			st[1] = n;
			if (isinf(lo))
				lo = -COIN_DBL_MAX;
			if (isinf(up))
				up = COIN_DBL_MAX;
			row = Clp_numberRows(M->m);
			if (grow_rows(M, row + 1) < 0)
			{
				rc = -1;
				break;
			}
			Clp_addRows(M->m, 1, &lo, &up, st, cols, vals);
			M->nrow = row + 1;
			M->frow[k] = row;
			rc = add_link_slacks(M, row, ROW_FEEDER, cnu[k],
								 in->pen_feeder * in->dt,
								 in->pen_feeder * in->dt);
		}
	free(smax);
	free(smin);
	free(cols);
	free(vals);
	return rc;
}

/* Box columns: cost centre +- delta, or closed (upper bound 0). */
static int
master_box(master *M, double delta, int open)
{
	double	   *obj = malloc(sizeof(double) * ((size_t) M->ncol + 1));
	double	   *cup = malloc(sizeof(double) * ((size_t) M->ncol + 1));

	if (!obj || !cup)
	{
		free(obj);
		free(cup);
		return -1;
	}
	memcpy(obj, Clp_getObjCoefficients(M->m), sizeof(double) * (size_t) M->ncol);
	memcpy(cup, Clp_getColUpper(M->m), sizeof(double) * (size_t) M->ncol);
	for (int j = 0; j < M->ncol; j++)
		if (M->kind[j] == COL_BOX)
		{
			double		cen = M->cen[M->crow[j]];

			obj[j] = M->csgn[j] > 0 ? cen + delta : -(cen - delta);
			cup[j] = open ? COIN_DBL_MAX : 0.0;
		}
	Clp_chgObjCoefficients(M->m, obj);
	Clp_chgColumnUpper(M->m, cup);
	free(obj);
	free(cup);
	return 0;
}

/* Solve the master; primal simplex when open (costs changed), else dual. */
static int
master_solve(master *M, int open)
{
	if (open)
		Clp_primal(M->m, 0);
	else
		Clp_dual(M->m, 0);
	if (Clp_status(M->m) != 0)
		Clp_initialSolve(M->m);
	return Clp_status(M->m);
}

/* Delete lambda columns unused for AGE_MAX solves. */
static void
master_prune(master *M)
{
	int		   *del = malloc(sizeof(int) * ((size_t) M->ncol + 1));
	int			nd = 0,
				k = 0;

	if (del == NULL)
		return;
	for (int j = 0; j < M->ncol; j++)
		if (M->kind[j] == COL_LAM && M->cage[j] > AGE_MAX)
			del[nd++] = j;
	if (nd == 0)
	{
		free(del);
		return;
	}
	Clp_deleteColumns(M->m, nd, del);
	for (int j = 0, d = 0; j < M->ncol; j++)
	{
		if (d < nd && del[d] == j)
		{
			d++;
			continue;
		}
		M->kind[k] = M->kind[j];
		M->cblk[k] = M->cblk[j];
		M->cit[k] = M->cit[j];
		M->cage[k] = M->cage[j];
		M->crow[k] = M->crow[j];
		M->csgn[k] = M->csgn[j];
		if (k != j)
			memcpy(&M->cS[(size_t) k * M->T], &M->cS[(size_t) j * M->T],
				   sizeof(double) * (size_t) M->T);
		k++;
	}
	M->ncol = k;
	M->nlam -= nd;
	free(del);
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

/* Force duals into the ranges where the Lagrangian is finite. */
static void
clamp_duals(const coord *c, double *y, double *rho, double *nu)
{
	const dispatch_instance *in = c->in;
	int			T = c->T;

	for (int t = 0; t < T; t++)
	{
		y[t] = isnan(in->target[t]) ? 0.0 :
			fmin(fmax(y[t], -in->pen_surplus * in->dt), in->pen_shortfall * in->dt);
		rho[t] = isnan(in->reserve[t]) ? 0.0 :
			fmin(fmax(rho[t], 0.0), in->pen_reserve);
	}
	for (int g = 0; g < c->G; g++)
		for (int t = 0; t < T; t++)
		{
			double	   *v = &nu[(size_t) g * T + t];
			double		p = in->pen_feeder * in->dt;

			*v = fmin(fmax(*v, -p), p);
			if ((*v > 0 && isinf(in->groups[g].import_limit)) ||
				(*v < 0 && isinf(in->groups[g].export_limit)))
				*v = 0.0;
		}
}

/* Copy the master's duals into y, rho, nu (absent rows: 0). */
static void
master_duals(const master *M, const coord *c, double *y, double *rho,
			 double *nu)
{
	const double *d = Clp_getRowPrice(M->m);
	int			T = c->T;

	for (int t = 0; t < T; t++)
	{
		y[t] = M->trow[t] >= 0 ? d[M->trow[t]] : 0.0;
		rho[t] = M->rrow[t] >= 0 ? d[M->rrow[t]] : 0.0;
	}
	for (size_t k = 0; k < (size_t) T * c->G; k++)
		nu[k] = M->frow[k] >= 0 ? d[M->frow[k]] : 0.0;
	clamp_duals(c, y, rho, nu);
}

/* The Lagrangian bound at the duals the blocks were priced at. */
static double
lagrange_bound(const coord *c)
{
	const dispatch_instance *in = c->in;
	int			T = c->T;
	double		L = 0.0;

	for (int b = 0; b < c->B; b++)
		L += c->bV[b];
	for (int t = 0; t < T; t++)
	{
		if (!isnan(in->target[t]))
			L += c->y[t] * in->target[t];
		if (!isnan(in->reserve[t]))
			L += c->rho[t] * in->reserve[t];
	}
	for (int g = 0; g < c->G; g++)
		for (int t = 0; t < T; t++)
			L += boxterm(c->nu[(size_t) g * T + t],
						 -in->groups[g].import_limit,
						 in->groups[g].export_limit);
	return L;
}

/*
 * The warm start: one virtual battery and one PV for the whole fleet,
 * feeder limits left out, solved as an LP (T intervals: milliseconds);
 * its duals go to y and rho, and nu starts at zero.  Failure leaves them
 * zero: it is only a starting point.
 */
static void
warm_start(const coord *c, double *y, double *rho, double *nu)
{
	dispatch_group open_group = {"fleet", INFINITY, INFINITY};
	const dispatch_instance *in = c->in;
	dispatch_instance vb = *in;
	dispatch_resource res[2];
	double	   *prof = calloc((size_t) 2 * c->T, sizeof(double));
	double		w[4] = {0, 0, 0, 0};
	dispatch_resource *v = &res[0],
			   *pv = &res[1];
	int			n = 0;
	derms_err	err;

	memset(res, 0, sizeof(res));
	memset(nu, 0, sizeof(double) * (size_t) c->T * c->G);
	if (prof == NULL)
		return;
	for (int r = 0; r < in->nres; r++)
	{
		const dispatch_resource *x = &in->res[r];
		double		k = 0.0;

		if (x->kind == DISPATCH_PV)
		{
			pv->kind = DISPATCH_PV;
			pv->curtailable |= x->curtailable;
			for (int t = 0; t < c->T; t++)
				prof[t] += x->profile[t];
			continue;
		}
		if (x->kind != DISPATCH_BATTERY)
			continue;
		for (int j = 0; j < dispatch_degr_nsegments(x); j++)
			k += dispatch_degr_segment_cost(x, j) / dispatch_degr_nsegments(x);
		v->kind = DISPATCH_BATTERY;
		v->capacity += x->capacity;
		v->p_charge += x->p_charge;
		v->p_discharge += x->p_discharge;
		v->e_min += x->e_min;
		v->e_max += x->e_max;
		v->e_init += x->e_init;
		v->e_final_min += x->e_final_min;
		w[0] += x->p_charge * x->eta_c;
		w[1] += x->p_discharge / x->eta_d;
		w[2] += x->capacity * x->self_discharge;
		w[3] += x->capacity * k;
	}
	if (v->kind == DISPATCH_BATTERY && v->capacity > 0)
	{
		v->id = "virtual";
		v->eta_c = v->p_charge > 0 ? w[0] / v->p_charge : 1.0;
		v->eta_d = w[1] > 0 ? v->p_discharge / w[1] : 1.0;
		v->self_discharge = w[2] / v->capacity;
		v->degr = DISPATCH_DEGR_THROUGHPUT;
		v->cycle_life = 1.0;
		v->replacement_cost = w[3];
		v->segments = 1;
		res[n++] = *v;
	}
	if (pv->kind == DISPATCH_PV)
	{
		pv->id = "virtual-pv";
		pv->profile = prof;
		res[n++] = *pv;
	}
	if (n == 0)
		goto out;
	vb.nres = n;
	vb.res = res;
	vb.ngroups = 1;
	vb.groups = &open_group;
	vb.opt.time_limit = 0;
	if (dispatch_exact_duals(&vb, y, rho, prof + c->T, &err) != DERMS_OK)
	{
		memset(y, 0, sizeof(double) * (size_t) c->T);
		memset(rho, 0, sizeof(double) * (size_t) c->T);
	}
out:
	free(prof);
}

/*
 * Rebuild the schedule from the master's weights: for each iteration
 * whose columns carry weight, re-solve those blocks at that iteration's
 * duals and mix.  x is the master's column solution.
 */
static derms_rc
recover(coord *c, const master *M, const double *x, double *hy,
		double *hrho, double *hnu, const double *heps, int nhist)
{
	int			T = c->T;
	size_t		GT = (size_t) T * c->G;
	double	   *wsum = calloc((size_t) c->B + 1, sizeof(double));
	double	   *w = calloc((size_t) c->B + 1, sizeof(double));
	double	   *save_y = c->y,
			   *save_rho = c->rho,
			   *save_nu = c->nu;
	derms_rc	rc = DERMS_OK;

	if (!wsum || !w)
	{
		free(wsum);
		free(w);
		return derms_err_set(&c->err, DERMS_ENOMEM, "out of memory");
	}
	for (int j = 0; j < M->ncol; j++)
		if (M->kind[j] == COL_LAM && x[j] > 0.0)
			wsum[M->cblk[j]] += x[j];
	for (int k = 0; k < nhist && rc == DERMS_OK; k++)
	{
		int			any = 0;

		memset(w, 0, sizeof(double) * (size_t) c->B);
		for (int j = 0; j < M->ncol; j++)
			if (M->kind[j] == COL_LAM && M->cit[j] == k && x[j] > 1e-12)
			{
				w[M->cblk[j]] = x[j] / wsum[M->cblk[j]];
				any = 1;
			}
		if (!any)
			continue;
		c->y = &hy[(size_t) k * T];
		c->rho = &hrho[(size_t) k * T];
		c->nu = &hnu[(size_t) k * GT];
		c->eps = heps[k];
		c->seed = k;
		c->mixw = w;
		rc = run_workers(c);
	}
	c->y = save_y;
	c->rho = save_rho;
	c->nu = save_nu;
	c->mixw = NULL;
	c->eps = 0.0;
	free(wsum);
	free(w);
	return rc;
}

/*
 * Start the repair from prev where prev is still feasible for a
 * resource (its own limits; the feeders are the repair's business).
 */
static void
warm_schedule(const dispatch_instance *in, const dispatch_schedule *prev,
			  dispatch_schedule *s)
{
	int			T = in->T;

	for (int r = 0; r < in->nres; r++)
	{
		size_t		k = (size_t) r * T;

		if (dispatch_check_resource(in, prev, r, 1e-7) != 0)
			continue;
		memcpy(&s->pc[k], &prev->pc[k], sizeof(double) * (size_t) T);
		memcpy(&s->pd[k], &prev->pd[k], sizeof(double) * (size_t) T);
		memcpy(&s->e[k], &prev->e[k], sizeof(double) * (size_t) T);
		s->degr_cost[r] = prev->degr_cost[r];
		s->efc[r] = prev->efc[r];
		s->flex_cost[r] = prev->flex_cost[r];
	}
}

static derms_rc coord_solve(const dispatch_instance *in,
							const dispatch_schedule *prev,
							dispatch_schedule **out, derms_err *err);

derms_rc
dispatch_coord_solve(const dispatch_instance *in, dispatch_schedule **out,
					 derms_err *err)
{
	return coord_solve(in, NULL, out, err);
}

derms_rc
dispatch_coord_resolve(const dispatch_instance *in,
					   const dispatch_schedule *prev,
					   dispatch_schedule **out, derms_err *err)
{
	assert(prev != NULL && prev->nres == in->nres && prev->T == in->T);
	return coord_solve(in, prev, out, err);
}

static derms_rc
coord_solve(const dispatch_instance *in, const dispatch_schedule *prev,
			dispatch_schedule **out, derms_err *err)
{
	coord		c;
	master		M;
	int			T = in->T,
				G = in->ngroups,
				it = 0,
				nhist = 0,
				caphist = 0,
				trace = getenv("DERMS_DISPATCH_TRACE") != NULL;
	double		t0 = now(),
				best = -HUGE_VAL,
				ub = HUGE_VAL,
				pred = 0.0,
				delta,
				delta_min,
				noise_amp;
	double	   *cy = NULL,
			   *crho = NULL,
			   *cnu = NULL,
			   *hy = NULL,
			   *hrho = NULL,
			   *hnu = NULL,
			   *xub = NULL,
			   *heps = NULL;
	char	   *force = NULL;
	dispatch_schedule *rsched = NULL;
	const char *method = "dantzig-wolfe-boxstep";
	int			nsweep = 0;
	double		tol = in->opt.gap_tolerance;
	derms_rc	rc = DERMS_OK;
	size_t		GT = (size_t) G * T;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	memset(&M, 0, sizeof(M));
	c.in = in;
	c.T = T;
	c.G = G;
	c.nth = in->opt.threads > 0 ? in->opt.threads :
		(int) sysconf(_SC_NPROCESSORS_ONLN);
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
	c.nu = calloc(GT + 1, sizeof(double));
	cy = calloc((size_t) T, sizeof(double));
	crho = calloc((size_t) T, sizeof(double));
	cnu = calloc(GT + 1, sizeof(double));
	force = calloc(GT + 1, 1);
	c.bS = calloc((size_t) T * (c.B + 1), sizeof(double));
	c.bE = calloc((size_t) T * (c.B + 1), sizeof(double));
	c.bC = calloc((size_t) c.B + 1, sizeof(double));
	c.bV = calloc((size_t) c.B + 1, sizeof(double));
	rsched = dispatch_schedule_new(in->nres, T);
	if (!rsched || !c.y || !c.rho || !c.nu || !cy || !crho || !cnu || !force || !c.bS ||
		!c.bE || !c.bC || !c.bV)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	warm_start(&c, c.y, c.rho, c.nu);
	clamp_duals(&c, c.y, c.rho, c.nu);
	for (size_t k = 0; k < GT; k++)
		force[k] = c.nu[k] != 0.0;
	memcpy(cy, c.y, sizeof(double) * (size_t) T);
	memcpy(crho, c.rho, sizeof(double) * (size_t) T);
	memcpy(cnu, c.nu, sizeof(double) * GT);
	if (master_init(&M, &c, cy, crho) < 0)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	/* the box: a fiftieth of the dearest penalty, per interval */
	delta = 0.02 * in->dt * fmax(fmax(in->pen_shortfall, in->pen_surplus),
								 fmax(in->pen_reserve / in->dt, 1.0));
	delta_min = delta;
	{
		double		m = 0.0;

		for (int t = 0; t < T; t++)
			m += fabs(in->dt * in->price[t] + cy[t]) / T;
		noise_amp = 0.02 * fmax(m, 1e-3);
	}

	for (it = 0; it < in->opt.max_iterations; it++)
	{
		double		L,
					gain;
		int			st;

		/* remember the duals of this iteration for the recovery */
		if (nhist == caphist)
		{
			caphist = caphist ? caphist * 2 : 64;
			hy = realloc(hy, sizeof(double) * (size_t) caphist * T);
			hrho = realloc(hrho, sizeof(double) * (size_t) caphist * T);
			hnu = realloc(hnu, sizeof(double) * (size_t) caphist * (GT + 1));
			heps = realloc(heps, sizeof(double) * (size_t) caphist);
			if (!hy || !hrho || !hnu || !heps)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
		}
		memcpy(&hy[(size_t) nhist * T], c.y, sizeof(double) * (size_t) T);
		memcpy(&hrho[(size_t) nhist * T], c.rho, sizeof(double) * (size_t) T);
		memcpy(&hnu[(size_t) nhist * GT], c.nu, sizeof(double) * GT);
		c.seed = nhist;
		heps[nhist] = c.eps = (it > 0 && it % NOISE_EVERY != 0) ? noise_amp : 0.0;
		nhist++;

		c.keep = it == 0 ? rsched : NULL;
		if ((rc = run_workers(&c)) != DERMS_OK)
		{
			*err = c.err;
			goto done;
		}
		c.keep = NULL;
		L = c.eps > 0.0 ? -HUGE_VAL : lagrange_bound(&c);
		if (it == 0)
		{
			/* primal recovery by repair sweeps from the priced schedule */
			dispatch_repair_opts ro;

			if (prev != NULL)
				warm_schedule(in, prev, rsched);
			ro.y = c.y;
			ro.rho = c.rho;
			ro.order = c.order;
			ro.lower_bound = L;
			ro.gap_tolerance = tol;
			ro.deadline = in->opt.time_limit > 0 ? t0 + in->opt.time_limit : 0;
			ro.max_sweeps = REPAIR_SWEEPS;
			ro.trace = trace;
			ro.warm = prev != NULL;
			nsweep = dispatch_repair(in, rsched, &ro);
			if (nsweep < 0)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
			if (trace)
				fprintf(stderr, "dispatch: repair %d sweeps t %.3f ub %.6f "
						"lb %.6f\n", nsweep, now() - t0, rsched->cost.total, L);
			if ((rsched->cost.total - L) <= tol *
				fmax(fmax(fabs(rsched->cost.total), fabs(L)), 1.0) ||
				(in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit))
			{
				best = L;
				it = 1;
				goto repaired;
			}
		}
		gain = L - best;
		if (c.eps > 0.0)
			;					/* noisy prices: columns only, no bound */
		else if (it == 0 || gain >= 0.1 * pred)
		{
			/* serious step: the centre moves here */
			if (it > 0 && gain >= 0.5 * pred)
				delta *= 2.0;
			memcpy(cy, c.y, sizeof(double) * (size_t) T);
			memcpy(crho, c.rho, sizeof(double) * (size_t) T);
			memcpy(cnu, c.nu, sizeof(double) * GT);
		}
		else if (gain < 0.0 && delta > delta_min)
			delta *= 0.5;
		if (L > best)
			best = L;
		for (int b = 0; b < c.B; b++)
			if (master_add_column(&M, &c, b, nhist - 1) < 0)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
		if (master_flush(&M) < 0 ||
			master_feeder_rows(&M, &c, cnu, it == 0 ? force : NULL) < 0)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
		/* centres of all linking rows */
		for (int t = 0; t < T; t++)
		{
			if (M.trow[t] >= 0)
				M.cen[M.trow[t]] = cy[t];
			if (M.rrow[t] >= 0)
				M.cen[M.rrow[t]] = crho[t];
		}
		for (size_t k = 0; k < GT; k++)
			if (M.frow[k] >= 0)
				M.cen[M.frow[k]] = cnu[k];

		/* noisy rounds only add columns; the master runs every
		 * NOISE_EVERY rounds (and on the last) */
		if (it > 0 && (it + 1) % NOISE_EVERY != 0 &&
			it + 1 < in->opt.max_iterations &&
			!(in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit))
		{
			memcpy(c.y, cy, sizeof(double) * (size_t) T);
			memcpy(c.rho, crho, sizeof(double) * (size_t) T);
			memcpy(c.nu, cnu, sizeof(double) * GT);
			continue;
		}
		/* the upper bound: the master without the box */
		if (master_box(&M, delta, 0) < 0)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
		if (in->opt.time_limit > 0)
			Clp_setMaximumSeconds(M.m, fmax(t0 + in->opt.time_limit - now(),
											0.01));
		if ((st = master_solve(&M, 0)) != 0)
		{
			if (in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit)
			{
				/* out of time inside the master: the repair stands */
				it++;
				goto repaired;
			}
			rc = derms_err_set(err, DERMS_ERANGE,
							   "the master LP stopped with status %d", st);
			goto done;
		}
		ub = Clp_objectiveValue(M.m);
		{
			const double *x = Clp_getColSolution(M.m);

			free(xub);
			xub = malloc(sizeof(double) * ((size_t) M.ncol + 1));
			if (xub == NULL)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				goto done;
			}
			memcpy(xub, x, sizeof(double) * (size_t) M.ncol);
		}
		if (trace)
			fprintf(stderr, "dispatch: it %d t %.3f cols %d rows %d ub %.6f "
					"lb %.6f L %.6f delta %.4g\n", it, now() - t0, M.nlam,
					M.nrow, ub, best, L, delta);
		if ((ub - best) <= tol * fmax(fmax(fabs(ub), fabs(best)), 1.0) ||
			(in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit) ||
			it + 1 == in->opt.max_iterations)
		{
			it++;
			break;
		}
		/* the next duals: the stabilised master's */
		if (master_box(&M, delta, 1) < 0)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
		if (in->opt.time_limit > 0)
			Clp_setMaximumSeconds(M.m, fmax(t0 + in->opt.time_limit - now(),
											0.01));
		if ((st = master_solve(&M, 1)) != 0)
		{
			if (in->opt.time_limit > 0 && now() - t0 > in->opt.time_limit)
			{
				/* out of time inside the master: the repair stands */
				it++;
				goto repaired;
			}
			rc = derms_err_set(err, DERMS_ERANGE,
							   "the master LP stopped with status %d", st);
			goto done;
		}
		pred = Clp_objectiveValue(M.m) - best;
		master_duals(&M, &c, c.y, c.rho, c.nu);
		{
			const double *x = Clp_getColSolution(M.m);

			for (int j = 0; j < M.ncol; j++)
				if (M.kind[j] == COL_LAM)
					M.cage[j] = (x[j] > 1e-12 || xub[j] > 1e-12) ? 0 :
						M.cage[j] + 1;
		}
		master_prune(&M);
	}

	c.sched = dispatch_schedule_new(in->nres, T);
	if (c.sched == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = recover(&c, &M, xub, hy, hrho, hnu, heps, nhist)) != DERMS_OK)
	{
		*err = c.err;
		goto done;
	}
	dispatch_schedule_evaluate(in, c.sched);
	if (rsched->cost.total < c.sched->cost.total)
	{
repaired:
		dispatch_schedule_free(c.sched);
		c.sched = rsched;
		rsched = NULL;
		method = "lagrangian-repair";
	}
	c.sched->lower_bound = best;
	c.sched->gap = fmax(0.0, c.sched->cost.total - best) /
		fmax(fmax(fabs(c.sched->cost.total), fabs(best)), 1.0);
	c.sched->iterations = it;
	c.sched->method = method;
	c.sched->seconds = now() - t0;
	*out = c.sched;
	c.sched = NULL;
done:
	dispatch_schedule_free(c.sched);
	dispatch_schedule_free(rsched);
	master_free(&M);
	pthread_mutex_destroy(&c.mu);
	free(c.order);
	free(c.blk);
	free(c.y);
	free(c.rho);
	free(c.nu);
	free(cy);
	free(crho);
	free(cnu);
	free(force);
	free(hy);
	free(hrho);
	free(hnu);
	free(xub);
	free(heps);
	free(c.bS);
	free(c.bE);
	free(c.bC);
	free(c.bV);
	return rc;
}
