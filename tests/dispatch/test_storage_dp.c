/*
 * tests/dispatch/test_storage_dp.c
 *	  Tests for dispatch/storage_dp.c on cases solved by hand.
 */
#include <math.h>

#include "dispatch/storage_dp.h"
#include "tests/suites.h"

/* Lossless 1 MWh store, |d| <= 1, cost c_t per MWh charged (earned on
 * discharge), x0 = 0.  Prices 10, 50, 5, 40: buy, sell, buy, sell;
 * optimum -75 (by hand). */
START_TEST(test_arbitrage)
{
	static const double price[4] = {10, 50, 5, 40};
	dispatch_dp_step st[4];
	double		d[4],
				x[4],
				cost = 0.0;
	dispatch_dp *w = dispatch_dp_new(4);
	derms_err	err;

	for (int t = 0; t < 4; t++)
	{
		st[t].r = 1.0;
		st[t].A = st[t].B = 1.0;
		st[t].kink = 0.0;
		st[t].sL = st[t].sR = price[t];
		st[t].lo = 0.0;
		st[t].hi = 1.0;
		st[t].rho = 0.0;
	}
	ck_assert_int_eq(dispatch_dp_solve(w, st, 4, 0.0, d, x, &err), DERMS_OK);
	for (int t = 0; t < 4; t++)
		cost += price[t] * d[t];
	ck_assert_double_eq_tol(cost, -75.0, 1e-9);
	ck_assert_double_eq_tol(x[3], 0.0, 1e-9);
	/* an end target of 1 MWh: skip the last sale, -35 */
	st[3].lo = 1.0;
	ck_assert_int_eq(dispatch_dp_solve(w, st, 4, 0.0, d, x, &err), DERMS_OK);
	cost = 0.0;
	for (int t = 0; t < 4; t++)
		cost += price[t] * d[t];
	ck_assert_double_eq_tol(cost, -35.0, 1e-9);
	/* unreachable: 2.5 MWh one step after at most 1 MWh, with |d| <= 1 */
	st[3].lo = 2.5;
	st[3].hi = 2.5;
	ck_assert_int_eq(dispatch_dp_solve(w, st, 4, 0.0, d, x, &err), DERMS_ERANGE);
	dispatch_dp_free(w);
}
END_TEST

/* Self-discharge: r = 0.5 per step, hold 1 MWh from t=0 -> half is lost. */
START_TEST(test_retention)
{
	dispatch_dp_step st[2];
	double		d[2],
				x[2];
	dispatch_dp *w = dispatch_dp_new(2);

	for (int t = 0; t < 2; t++)
	{
		st[t].r = 0.5;
		st[t].A = st[t].B = 0.0;
		st[t].kink = 0.0;
		st[t].sL = st[t].sR = 0.0;
		st[t].lo = 0.0;
		st[t].hi = 10.0;
		st[t].rho = 0.0;
	}
	ck_assert_int_eq(dispatch_dp_solve(w, st, 2, 1.0, d, x, NULL), DERMS_OK);
	ck_assert_double_eq_tol(x[0], 0.5, 1e-12);
	ck_assert_double_eq_tol(x[1], 0.25, 1e-12);
	dispatch_dp_free(w);
}
END_TEST

Suite *
dispatch_storage_dp_suite(void)
{
	Suite	   *s = suite_create("dispatch_storage_dp");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_arbitrage);
	tcase_add_test(tc, test_retention);
	suite_add_tcase(s, tc);
	return s;
}
