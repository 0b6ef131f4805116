/*
 * tests/dispatch/test_repair.c
 *	  Tests for dispatch/repair.c: from a feasible but poor start (every
 *	  device at its own optimum for the energy price alone), the sweeps
 *	  must keep every limit, never end dearer than they started, never
 *	  beat CLP's optimum (they return a real schedule), and on a case
 *	  solved by hand reach the optimum.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dispatch/check.h"
#include "dispatch/device.h"
#include "dispatch/exact.h"
#include "dispatch/generate.h"
#include "dispatch/instance.h"
#include "dispatch/repair.h"
#include "tests/suites.h"

/* Every device at its own optimum for the energy price (no targets). */
static dispatch_schedule *
start_schedule(const dispatch_instance *in)
{
	int			T = in->T;
	dispatch_schedule *s = dispatch_schedule_new(in->nres, T);
	dispatch_dev_work *w = dispatch_dev_work_new(T);
	double	   *c = malloc(sizeof(double) * (size_t) T);
	derms_err	err;

	ck_assert(s != NULL && w != NULL && c != NULL);
	for (int t = 0; t < T; t++)
		c[t] = in->dt * in->price[t];
	for (int r = 0; r < in->nres; r++)
	{
		size_t		k = (size_t) r * T;
		dispatch_dev_cost dc;

		ck_assert_int_eq(dispatch_dev_solve(w, in, r, c, NULL, &s->pc[k],
											&s->pd[k], &s->e[k], &dc, &err),
						 DERMS_OK);
		s->degr_cost[r] = dc.degr;
		s->efc[r] = dc.efc;
		s->flex_cost[r] = dc.flex;
	}
	dispatch_schedule_evaluate(in, s);
	dispatch_dev_work_free(w);
	free(c);
	return s;
}

static void
run_repair(const dispatch_instance *in, dispatch_schedule *s)
{
	double	   *y = calloc((size_t) in->T, sizeof(double));
	dispatch_repair_opts o = {0};

	ck_assert(y != NULL);
	o.y = y;
	o.lower_bound = -HUGE_VAL;
	o.gap_tolerance = 0.0;
	o.max_sweeps = 60;
	ck_assert_int_ge(dispatch_repair(in, s, &o), 1);
	free(y);
}

/*
 * The hand case (tests/data/dispatch/hand.json): from a start that
 * ignores the targets the sweeps find the optimum, $500, and the schedule
 * of the hand solution.
 */
START_TEST(test_hand)
{
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s;
	derms_err	err;

	ck_assert_int_eq(dispatch_instance_load(a, "tests/data/dispatch/hand.json",
											&in, &err), DERMS_OK);
	s = start_schedule(in);
	ck_assert_double_gt(s->cost.total, 501.0);
	run_repair(in, s);
	ck_assert_double_eq_tol(s->cost.total, 500.0, 1e-6);
	ck_assert_double_eq_tol(s->pd[0] - s->pc[0], 0.5, 1e-9);
	ck_assert_double_eq_tol(s->pd[1] - s->pc[1], -1.0, 1e-9);
	ck_assert_int_eq(dispatch_check_schedule(in, s, 1e-7, &err), 0);
	dispatch_schedule_free(s);
	arena_destroy(a);
}
END_TEST

/* Seeded XS instances: feasible, no dearer than the start, no cheaper
 * than CLP's optimum, and far below the start. */
START_TEST(test_random)
{
	dispatch_gen g;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s,
			   *lp = NULL;
	derms_err	err;
	double		before,
				opt;
	int			nbad;

	ck_assert_int_eq(dispatch_gen_tier("XS", &g, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_gen_write(&g, (uint64_t) _i + 1, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_int_eq(dispatch_instance_parse(a, buf, len, &in, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_exact_solve(in, &lp, &err), DERMS_OK);
	opt = lp->lower_bound;
	s = start_schedule(in);
	before = s->cost.total;
	run_repair(in, s);
	nbad = dispatch_check_schedule(in, s, 1e-6, &err);
	ck_assert_msg(nbad == 0, "seed %d: %d violations, first %s", _i + 1,
				  nbad, err.msg);
	ck_assert_msg(s->cost.total <= before, "seed %d: %.9g after, %.9g before",
				  _i + 1, s->cost.total, before);
	ck_assert_msg(s->cost.total >= opt - 1e-6 * fmax(fabs(opt), 1.0),
				  "seed %d: %.9g below the optimum %.9g", _i + 1,
				  s->cost.total, opt);
	/* most of the way from the start to the optimum */
	ck_assert_msg(s->cost.total - opt <= 0.1 * (before - opt),
				  "seed %d: start %.6g, repaired %.6g, optimum %.6g", _i + 1,
				  before, s->cost.total, opt);
	dispatch_schedule_free(s);
	dispatch_schedule_free(lp);
	arena_destroy(a);
	free(buf);
}
END_TEST

Suite *
dispatch_repair_suite(void)
{
	Suite	   *s = suite_create("dispatch_repair");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hand);
	tcase_add_loop_test(tc, test_random, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
