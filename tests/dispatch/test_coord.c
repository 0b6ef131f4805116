/*
 * tests/dispatch/test_coord.c
 *	  Tests for dispatch/coord.c against dispatch/exact.c (CLP): a case
 *	  solved by hand, and seeded random instances (tier XS, 40 batteries
 *	  x 24 intervals, 4 feeder groups) where the decomposition's cost must
 *	  be within 0.1 % of CLP's optimum, its certified lower bound must not
 *	  exceed that optimum, and no schedule may break a limit; and a warm
 *	  re-solve after SoC drift on tier S.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dispatch/check.h"
#include "dispatch/coord.h"
#include "dispatch/exact.h"
#include "dispatch/generate.h"
#include "dispatch/instance.h"
#include "tests/suites.h"

/*
 * One lossless 1 MWh battery at half charge, targets +1 then -1 MW over
 * two hours, end at least half charged, no prices or wear: it can give
 * only 0.5 MWh in hour one (shortfall 0.5 MWh at $1000) and takes the
 * full 1 MW in hour two.  Optimum $500.
 */
START_TEST(test_hand)
{
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s = NULL;
	derms_err	err;

	ck_assert_int_eq(dispatch_instance_load(a, "tests/data/dispatch/hand.json",
											&in, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_coord_solve(in, &s, &err), DERMS_OK);
	ck_assert_double_eq_tol(s->cost.total, 500.0, 1e-6);
	ck_assert_double_eq_tol(s->lower_bound, 500.0, 1e-6);
	ck_assert_double_eq_tol(s->shortfall_mwh, 0.5, 1e-9);
	ck_assert_double_eq_tol(s->pd[0] - s->pc[0], 0.5, 1e-9);
	ck_assert_double_eq_tol(s->pd[1] - s->pc[1], -1.0, 1e-9);
	ck_assert_int_eq(dispatch_check_schedule(in, s, 1e-7, &err), 0);
	dispatch_schedule_free(s);
	ck_assert_int_eq(dispatch_exact_solve(in, &s, &err), DERMS_OK);
	ck_assert_double_eq_tol(s->cost.total, 500.0, 1e-6);
	dispatch_schedule_free(s);
	arena_destroy(a);
}
END_TEST

START_TEST(test_random_vs_clp)
{
	dispatch_gen g;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *dw = NULL,
			   *lp = NULL;
	derms_err	err;
	double		opt,
				tol;
	int			nbad;

	ck_assert_int_eq(dispatch_gen_tier("XS", &g, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_gen_write(&g, (uint64_t) _i + 1, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_int_eq(dispatch_instance_parse(a, buf, len, &in, &err), DERMS_OK);
	in->opt.threads = 2;
	ck_assert_int_eq(dispatch_exact_solve(in, &lp, &err), DERMS_OK);
	ck_assert_msg(dispatch_coord_solve(in, &dw, &err) == DERMS_OK, "%s", err.msg);
	opt = lp->lower_bound;
	tol = 1e-6 * fmax(fabs(opt), 1.0);
	ck_assert_msg(fabs(lp->cost.total - opt) <= 1e-5 * fmax(fabs(opt), 1.0),
				  "seed %d: CLP schedule costs %.9g, LP says %.9g", _i + 1,
				  lp->cost.total, opt);
	/* certified: the bound never exceeds the optimum */
	ck_assert_msg(dw->lower_bound <= opt + tol,
				  "seed %d: bound %.9g above the optimum %.9g", _i + 1,
				  dw->lower_bound, opt);
	ck_assert_msg(dw->cost.total >= opt - tol,
				  "seed %d: cost %.9g below the optimum %.9g", _i + 1,
				  dw->cost.total, opt);
	ck_assert_msg((dw->cost.total - opt) <= 1e-3 * fabs(opt),
				  "seed %d: cost %.9g vs CLP %.9g", _i + 1, dw->cost.total, opt);
	/* the reported gap is what cost and bound say it is */
	ck_assert_double_eq_tol(dw->gap, (dw->cost.total - dw->lower_bound) /
							fmax(fmax(fabs(dw->cost.total),
									  fabs(dw->lower_bound)), 1.0), 1e-12);
	nbad = dispatch_check_schedule(in, dw, 1e-6, &err);
	ck_assert_msg(nbad == 0, "seed %d: decomposition: %d violations, first %s",
				  _i + 1, nbad, err.msg);
	nbad = dispatch_check_schedule(in, lp, 1e-6, &err);
	ck_assert_msg(nbad == 0, "seed %d: CLP: %d violations, first %s", _i + 1,
				  nbad, err.msg);
	dispatch_schedule_free(dw);
	dispatch_schedule_free(lp);
	arena_destroy(a);
	free(buf);
}
END_TEST

/* One thread or two: the same schedule (pricing is deterministic). */
START_TEST(test_threads_agree)
{
	dispatch_gen g;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s1 = NULL,
			   *s2 = NULL;
	derms_err	err;

	ck_assert_int_eq(dispatch_gen_tier("XS", &g, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_gen_write(&g, 11, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_int_eq(dispatch_instance_parse(a, buf, len, &in, &err), DERMS_OK);
	in->opt.threads = 1;
	ck_assert_int_eq(dispatch_coord_solve(in, &s1, &err), DERMS_OK);
	in->opt.threads = 2;
	ck_assert_int_eq(dispatch_coord_solve(in, &s2, &err), DERMS_OK);
	ck_assert_double_eq_tol(s1->cost.total, s2->cost.total, 1e-9);
	ck_assert_double_eq_tol(s1->lower_bound, s2->lower_bound, 1e-9);
	dispatch_schedule_free(s1);
	dispatch_schedule_free(s2);
	arena_destroy(a);
	free(buf);
}
END_TEST

/*
 * Warm re-solve (tier S seed 2, the repair alone): after 20 batteries'
 * SoC drifts down by a tenth of their capacity, re-solving from the
 * previous schedule must be feasible, faster than solving cold, and no
 * dearer than the cold solve (within 0.1 %).
 */
START_TEST(test_warm)
{
	dispatch_gen g;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s1 = NULL,
			   *cold = NULL,
			   *warm = NULL;
	derms_err	err;
	int			nbad;

	ck_assert_int_eq(dispatch_gen_tier("S", &g, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_gen_write(&g, 2, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_int_eq(dispatch_instance_parse(a, buf, len, &in, &err), DERMS_OK);
	in->opt.max_iterations = 1;
	in->opt.time_limit = 20.0;
	in->opt.threads = 2;
	ck_assert_msg(dispatch_coord_solve(in, &s1, &err) == DERMS_OK, "%s", err.msg);
	for (int r = 0; r < in->nres; r += in->nres / 20)
	{
		dispatch_resource *x = &in->res[r];

		x->e_init = fmax(x->e_min, x->e_init - 0.1 * x->capacity);
	}
	ck_assert_int_gt(dispatch_check_schedule(in, s1, 1e-7, NULL), 0);
	ck_assert_msg(dispatch_coord_solve(in, &cold, &err) == DERMS_OK, "%s", err.msg);
	ck_assert_msg(dispatch_coord_resolve(in, s1, &warm, &err) == DERMS_OK,
				  "%s", err.msg);
	nbad = dispatch_check_schedule(in, warm, 1e-6, &err);
	ck_assert_msg(nbad == 0, "warm: %d violations, first %s", nbad, err.msg);
	ck_assert_double_eq_tol(warm->lower_bound, cold->lower_bound,
							1e-9 * fabs(cold->lower_bound));
	ck_assert_msg(warm->seconds < cold->seconds, "warm %.3f s, cold %.3f s",
				  warm->seconds, cold->seconds);
	ck_assert_msg(warm->cost.total <= cold->cost.total +
				  1e-3 * fabs(cold->cost.total),
				  "warm %.6f, cold %.6f (bound %.6f)", warm->cost.total,
				  cold->cost.total, cold->lower_bound);
	fprintf(stderr, "dispatch_coord: warm re-solve %.3f s, cost %.4f; cold "
			"%.3f s, cost %.4f; bound %.4f\n", warm->seconds,
			warm->cost.total, cold->seconds, cold->cost.total,
			cold->lower_bound);
	dispatch_schedule_free(s1);
	dispatch_schedule_free(cold);
	dispatch_schedule_free(warm);
	arena_destroy(a);
	free(buf);
}
END_TEST

Suite *
dispatch_coord_suite(void)
{
	Suite	   *s = suite_create("dispatch_coord");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_hand);
	tcase_add_loop_test(tc, test_random_vs_clp, 0, 8);
	tcase_add_test(tc, test_threads_agree);
	tcase_add_test(tc, test_warm);
	suite_add_tcase(s, tc);
	return s;
}
