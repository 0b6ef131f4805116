/*
 * tests/dispatch/test_storage_dp.c
 *	  Tests for dispatch/storage_dp.c on cases solved by hand, and the
 *	  piecewise solver against the two-piece one on seeded random steps.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

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

/*
 * Piecewise stage cost, three pieces: a lossless 2 MWh store starting
 * empty, |d| <= 2 per step, cost 0 for the first 1 MWh charged in a step
 * and 10 beyond it; in step 2 each MWh discharged earns 20 (and charging
 * costs 20, then 30).  Best: charge
 * 1 (free) in each of steps 0 and 1, sell 2 in step 2: -40.  A two-piece
 * cost could not tell the free first MWh from the dear second.
 */
START_TEST(test_pwl_three_pieces)
{
	dispatch_dp_pstep st[3];
	double		d[3],
				x[3];
	dispatch_dp *w = dispatch_dp_new(3);

	memset(st, 0, sizeof(st));
	for (int t = 0; t < 3; t++)
	{
		st[t].r = 1.0;
		st[t].lo = 0.0;
		st[t].hi = 2.0;
		st[t].n = 3;
		st[t].b[0] = -2.0;
		st[t].b[1] = 0.0;
		st[t].b[2] = 1.0;
		st[t].b[3] = 2.0;
		st[t].s[0] = 0.0;
		st[t].s[1] = 0.0;
		st[t].s[2] = 10.0;
	}
	/* step 2: each MWh discharged earns 20 (slope 20 below d = 0) */
	st[2].s[0] = 20.0;
	st[2].s[1] = 20.0;
	st[2].s[2] = 30.0;
	ck_assert_int_eq(dispatch_dp_solve_pwl(w, st, 3, 0.0, d, x, NULL), DERMS_OK);
	ck_assert_double_eq_tol(d[0], 1.0, 1e-12);
	ck_assert_double_eq_tol(d[1], 1.0, 1e-12);
	ck_assert_double_eq_tol(d[2], -2.0, 1e-12);
	ck_assert_double_eq_tol(x[2], 0.0, 1e-12);
	dispatch_dp_free(w);
}
END_TEST

static double
unif(uint64_t *s, double a, double b)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return a + (b - a) * ((z >> 11) * (1.0 / 9007199254740992.0));
}

/* The piecewise solver given a two-piece step returns what the two-piece
 * solver does, on 200 seeded random horizons with losses and bounds. */
START_TEST(test_pwl_matches_two_piece)
{
	enum
	{
		TT = 48
	};
	dispatch_dp_step a[TT];
	dispatch_dp_pstep b[TT];
	double		d1[TT],
				x1[TT],
				d2[TT],
				x2[TT];
	dispatch_dp *w = dispatch_dp_new(TT);
	uint64_t	seed = 7;

	for (int rep = 0; rep < 200; rep++)
	{
		double		x0 = unif(&seed, 0.2, 0.8);
		derms_rc	r1,
					r2;

		for (int t = 0; t < TT; t++)
		{
			double		sl = unif(&seed, -50, 50);

			a[t].r = rep % 2 ? 1.0 : unif(&seed, 0.99, 1.0);
			a[t].A = unif(&seed, 0.0, 0.3);
			a[t].B = unif(&seed, 0.0, 0.3);
			a[t].kink = 0.0;
			a[t].sL = sl;
			a[t].sR = sl + unif(&seed, 0.0, 20.0);
			a[t].lo = 0.1;
			a[t].hi = 0.9;
			a[t].rho = 0.0;
			memset(&b[t], 0, sizeof(b[t]));
			b[t].r = a[t].r;
			b[t].lo = a[t].lo;
			b[t].hi = a[t].hi;
			b[t].n = 2;
			b[t].b[0] = -a[t].B;
			b[t].b[1] = 0.0;
			b[t].b[2] = a[t].A;
			b[t].s[0] = a[t].sL;
			b[t].s[1] = a[t].sR;
		}
		a[TT - 1].lo = b[TT - 1].lo = 0.5;
		r1 = dispatch_dp_solve(w, a, TT, x0, d1, x1, NULL);
		r2 = dispatch_dp_solve_pwl(w, b, TT, x0, d2, x2, NULL);
		ck_assert_int_eq(r1, r2);
		if (r1 != DERMS_OK)
			continue;
		for (int t = 0; t < TT; t++)
			ck_assert_msg(fabs(d1[t] - d2[t]) <= 1e-9,
						  "case %d t %d: %.12g vs %.12g", rep, t, d1[t], d2[t]);
	}
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
	tcase_add_test(tc, test_pwl_three_pieces);
	tcase_add_test(tc, test_pwl_matches_two_piece);
	suite_add_tcase(s, tc);
	return s;
}
