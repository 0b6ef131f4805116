/*
 * dispatch/lp.h
 *	  Linear programmes for CLP: a small builder, the columns and rows of
 *	  one resource, and reading a resource's schedule back.
 */
#ifndef DERMS_DISPATCH_LP_H
#define DERMS_DISPATCH_LP_H

#include "dispatch/model.h"

#define DISPATCH_LP_INF 1e30

typedef struct dispatch_lp dispatch_lp;

/* Rows that tie a resource to the fleet at interval t; -1 = none. */
typedef struct dispatch_lp_links
{
	const int  *target;			/* [T] row of sum of net injections */
	const int  *feeder;			/* [T] row of the resource's group */
	const int  *reserve;		/* [T] row of stored battery energy */
} dispatch_lp_links;

/* new; NULL on ENOMEM. */
dispatch_lp *dispatch_lp_new(void);
void		dispatch_lp_free(dispatch_lp *lp);

int			dispatch_lp_row(dispatch_lp *lp, double lo, double up);
int			dispatch_lp_col(dispatch_lp *lp, double lo, double up, double obj);
void		dispatch_lp_coef(dispatch_lp *lp, int row, int col, double v);
/* Subtract a constant k from a row's activity: bounds move by +k. */
void		dispatch_lp_row_shift(dispatch_lp *lp, int row, double k);
void		dispatch_lp_add_const(dispatch_lp *lp, double k);

/*
 * Add resource r with objective sum_t -c[t] * net_t - rho[t] * stored_t
 * plus its own costs (degradation, shed).  rho may be NULL.  Returns the
 * first column of the resource (the layout is private to lp.c).
 */
int			dispatch_lp_add_resource(dispatch_lp *lp, const dispatch_instance *in,
									 int r, const double *c, const double *rho,
									 const dispatch_lp_links *links);

/* Solve with CLP.  DERMS_ERANGE if not optimal (message in err). */
derms_rc	dispatch_lp_solve(dispatch_lp *lp, double time_limit, derms_err *err);
double		dispatch_lp_objective(const dispatch_lp *lp);
/* CLP's dual of a row after a solve (d objective / d bound); 0 for -1. */
double		dispatch_lp_row_dual(const dispatch_lp *lp, int row);

/* Read resource r (first column col0) into pc, pd, e ([T] each) and its
 * degradation, equivalent full cycles and shed cost. */
void		dispatch_lp_extract(const dispatch_lp *lp, const dispatch_instance *in,
								int r, int col0, double *pc, double *pd,
								double *e, double *degr, double *efc,
								double *flex);

/* Solve resource r alone (no links) exactly; the device layer's route for
 * batteries with several cycle-depth segments. */
derms_rc	dispatch_lp_solve_resource(const dispatch_instance *in, int r,
									   const double *c, const double *rho,
									   double *pc, double *pd, double *e,
									   double *degr, double *efc, double *flex,
									   derms_err *err);

#endif							/* DERMS_DISPATCH_LP_H */
