/*
 * tests/dispatch/test_rainflow.c
 *	  Tests for dispatch/rainflow.c: the ASTM E1049-85 worked example
 *	  (Fig. 6 / Table: loads -2 1 -3 5 -1 3 -4 4 -2).
 */
#include <math.h>

#include "dispatch/rainflow.h"
#include "tests/suites.h"

START_TEST(test_astm_example)
{
	static const double x[] = {-2, 1, -3, 5, -1, 3, -4, 4, -2};
	/* range -> count, Fig. 6: 3 x0.5, 4 x1.5, 6 x0.5, 8 x1.0, 9 x0.5 */
	static const double want[11] = {0, 0, 0, 0.5, 1.5, 0, 0.5, 0, 1.0, 0.5, 0};
	double		got[11] = {0};
	double		work[9];
	dispatch_cycle c[9];
	int			n = dispatch_rainflow(x, 9, work, c);

	for (int i = 0; i < n; i++)
	{
		int			r = (int) lround(c[i].range);

		ck_assert_int_le(r, 10);
		got[r] += c[i].count;
	}
	for (int r = 0; r <= 10; r++)
		ck_assert_msg(fabs(got[r] - want[r]) < 1e-12,
					  "range %d: %g cycles, want %g", r, got[r], want[r]);
}
END_TEST

START_TEST(test_plateaus_and_monotone)
{
	static const double x[] = {0, 0, 1, 2, 2, 3, 1, 1, 0};
	double		work[9];
	dispatch_cycle c[9];
	int			n = dispatch_rainflow(x, 9, work, c);

	/* 0 -> 3 -> 0: two half cycles of range 3 */
	ck_assert_int_eq(n, 2);
	ck_assert_double_eq_tol(c[0].range, 3.0, 1e-12);
	ck_assert_double_eq_tol(c[0].count + c[1].count, 1.0, 1e-12);
	ck_assert_int_eq(dispatch_rainflow(x, 1, work, c), 0);
}
END_TEST

Suite *
dispatch_rainflow_suite(void)
{
	Suite	   *s = suite_create("dispatch_rainflow");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_astm_example);
	tcase_add_test(tc, test_plateaus_and_monotone);
	suite_add_tcase(s, tc);
	return s;
}
