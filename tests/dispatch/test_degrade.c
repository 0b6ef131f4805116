/*
 * tests/dispatch/test_degrade.c
 *	  Tests for dispatch/degrade.c against values worked out by hand:
 *	  replacement 1000 $, capacity 1 MWh, N100 = 1000, k_p = 2, J = 4:
 *	  phi(d) = d^2 / 1000, segment costs R J (phi(j/J) - phi((j-1)/J))
 *	  = 0.25, 0.75, 1.25, 1.75 $/MWh; a full cycle costs 1 $.
 */
#include <math.h>

#include "dispatch/degrade.h"
#include "dispatch/rainflow.h"
#include "tests/suites.h"

static dispatch_resource
pack(void)
{
	dispatch_resource r = {0};

	r.kind = DISPATCH_BATTERY;
	r.capacity = 1.0;
	r.replacement_cost = 1000.0;
	r.cycle_life = 1000.0;
	r.depth_exponent = 2.0;
	r.segments = 4;
	r.degr = DISPATCH_DEGR_CYCLE_DEPTH;
	return r;
}

START_TEST(test_segment_costs)
{
	dispatch_resource r = pack();
	static const double want[4] = {0.25, 0.75, 1.25, 1.75};
	double		full = 0.0;

	ck_assert_int_eq(dispatch_degr_nsegments(&r), 4);
	for (int j = 0; j < 4; j++)
	{
		ck_assert_double_eq_tol(dispatch_degr_segment_cost(&r, j), want[j], 1e-12);
		full += dispatch_degr_segment_cost(&r, j) * 0.25;
	}
	ck_assert_double_eq_tol(full, 1000.0 * dispatch_degr_phi(&r, 1.0), 1e-12);
	r.degr = DISPATCH_DEGR_THROUGHPUT;
	ck_assert_int_eq(dispatch_degr_nsegments(&r), 1);
	ck_assert_double_eq_tol(dispatch_degr_segment_cost(&r, 0), 1.0, 1e-12);
	r.degr = DISPATCH_DEGR_NONE;
	ck_assert_double_eq_tol(dispatch_degr_segment_cost(&r, 0), 0.0, 1e-12);
}
END_TEST

START_TEST(test_rainflow_cost)
{
	dispatch_resource r = pack();
	/* 0.9 -> 0.4 -> 0.9 -> 0.1 -> 0.9: one 0.5 cycle, half 0.8 cycles */
	static const double e[] = {0.9, 0.4, 0.9, 0.1, 0.9};
	double		work[5];
	dispatch_cycle cyc[5];
	double		cost,
				efc;

	dispatch_degr_rainflow(&r, e, 5, work, cyc, &cost, &efc);
	/* python3: 1000*(0.5**2/1000) + 2*0.5*1000*(0.8**2/1000) = 0.89 */
	ck_assert_double_eq_tol(cost, 0.25 + 0.64, 1e-12);
	ck_assert_double_eq_tol(efc, 0.5 + 0.8, 1e-12);
}
END_TEST

Suite *
dispatch_degrade_suite(void)
{
	Suite	   *s = suite_create("dispatch_degrade");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_segment_costs);
	tcase_add_test(tc, test_rainflow_cost);
	suite_add_tcase(s, tc);
	return s;
}
