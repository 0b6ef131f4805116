/*
 * tests/dispatch/test_exchange.c
 *	  Tests for dispatch/exchange.c: a pair of batteries netted by hand
 *	  (the move is cut where one battery's end-of-horizon energy binds),
 *	  and seeded instances with deliberately crossing schedules, where
 *	  the moves must keep every device and feeder limit, leave the fleet's
 *	  net injection unchanged in every interval, and lower the cost by
 *	  exactly the wear they report.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dispatch/check.h"
#include "dispatch/device.h"
#include "dispatch/exchange.h"
#include "dispatch/generate.h"
#include "dispatch/instance.h"
#include "tests/suites.h"

/*
 * tests/data/dispatch/exchange.json: a and b lossless, 1 MWh, at half
 * charge, $100 per MWh discharged.  In hour one a discharges 0.4 MW and
 * b charges 0.4 MW.  b must end with 0.8 MWh and holds 0.9, so only
 * 0.1 MW can be netted: a keeps 0.3 MW out, b 0.3 MW in, $10 saved.
 */
START_TEST(test_hand)
{
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s;
	derms_err	err;
	double		before,
				saved;
	int			moves = 0;

	ck_assert_int_eq(dispatch_instance_load(a, "tests/data/dispatch/exchange.json",
											&in, &err), DERMS_OK);
	s = dispatch_schedule_new(in->nres, in->T);
	ck_assert_ptr_nonnull(s);
	s->pd[0] = 0.4;				/* a, hour one */
	s->e[0] = 0.1;
	s->e[1] = 0.1;
	s->pc[2] = 0.4;				/* b, hour one */
	s->e[2] = 0.9;
	s->e[3] = 0.9;
	s->degr_cost[0] = 40.0;
	s->efc[0] = 0.4;
	ck_assert_int_eq(dispatch_check_schedule(in, s, 1e-9, &err), 0);
	dispatch_schedule_evaluate(in, s);
	before = s->cost.total;
	saved = dispatch_exchange_net(in, s, &moves);
	ck_assert_int_eq(moves, 1);
	ck_assert_double_eq_tol(saved, 10.0, 1e-9);
	ck_assert_double_eq_tol(s->pd[0], 0.3, 1e-12);
	ck_assert_double_eq_tol(s->pc[2], 0.3, 1e-12);
	ck_assert_double_eq_tol(s->e[1], 0.2, 1e-12);
	ck_assert_double_eq_tol(s->e[3], 0.8, 1e-12);
	ck_assert_double_eq_tol(s->degr_cost[0], 30.0, 1e-9);
	ck_assert_double_eq_tol(s->efc[0], 0.3, 1e-12);
	ck_assert_int_eq(dispatch_check_schedule(in, s, 1e-9, &err), 0);
	dispatch_schedule_evaluate(in, s);
	ck_assert_double_eq_tol(s->cost.total, before - 10.0, 1e-9);
	/* nothing is left to net */
	ck_assert_double_eq(dispatch_exchange_net(in, s, &moves), 0.0);
	ck_assert_int_eq(moves, 0);
	dispatch_schedule_free(s);
	arena_destroy(a);
}
END_TEST

/* Deterministic noise in [-1, 1]. */
static double
noise(uint64_t *z)
{
	uint64_t	x = (*z += 0x9e3779b97f4a7c15ULL);

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return (double) (x >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/*
 * Tier XS: every device at its own optimum for the energy price plus
 * its own random noise (so some charge while others discharge), then
 * the exchange.
 */
START_TEST(test_random)
{
	dispatch_gen g;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f = open_memstream(&buf, &len);
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s;
	dispatch_dev_work *w;
	derms_err	err;
	dispatch_costs c0;
	double	   *c,
			   *net0,
				degr0,
				saved;
	uint64_t	z = (uint64_t) _i * 7919 + 1;
	int			T,
				moves = 0,
				nbad0,
				nbad;

	ck_assert_int_eq(dispatch_gen_tier("XS", &g, &err), DERMS_OK);
	ck_assert_int_eq(dispatch_gen_write(&g, (uint64_t) _i + 1, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_int_eq(dispatch_instance_parse(a, buf, len, &in, &err), DERMS_OK);
	T = in->T;
	s = dispatch_schedule_new(in->nres, T);
	w = dispatch_dev_work_new(T);
	c = malloc(sizeof(double) * (size_t) T);
	net0 = calloc((size_t) T, sizeof(double));
	ck_assert(s && w && c && net0);
	for (int r = 0; r < in->nres; r++)
	{
		size_t		k = (size_t) r * T;
		dispatch_dev_cost dc;

		for (int t = 0; t < T; t++)
			c[t] = in->dt * (in->price[t] + 40.0 * noise(&z));
		ck_assert_int_eq(dispatch_dev_solve(w, in, r, c, NULL, &s->pc[k],
											&s->pd[k], &s->e[k], &dc, &err),
						 DERMS_OK);
		s->degr_cost[r] = dc.degr;
		s->efc[r] = dc.efc;
		s->flex_cost[r] = dc.flex;
		for (int t = 0; t < T; t++)
			net0[t] += s->pd[k + t] - s->pc[k + t];
	}
	dispatch_schedule_evaluate(in, s);
	c0 = s->cost;
	degr0 = s->cost.degradation;
	nbad0 = dispatch_check_schedule(in, s, 1e-7, NULL);
	saved = dispatch_exchange_net(in, s, &moves);
	ck_assert_msg(moves > 0 && saved > 0.0, "seed %d: no move (%d, %g)",
				  _i + 1, moves, saved);
	/* the start may overload a feeder; the moves never add to that */
	nbad = dispatch_check_schedule(in, s, 1e-7, &err);
	ck_assert_msg(nbad <= nbad0, "seed %d: %d violations (were %d), first %s",
				  _i + 1, nbad, nbad0, err.msg);
	for (int t = 0; t < T; t++)
	{
		double		net = 0.0;

		for (int r = 0; r < in->nres; r++)
			net += s->pd[(size_t) r * T + t] - s->pc[(size_t) r * T + t];
		ck_assert_msg(fabs(net - net0[t]) <= 1e-9, "seed %d: interval %d "
					  "net %.12g, was %.12g", _i + 1, t, net, net0[t]);
	}
	dispatch_schedule_evaluate(in, s);
	ck_assert_double_eq_tol(s->cost.degradation, degr0 - saved, 1e-9);
	ck_assert_double_eq_tol(s->cost.energy, c0.energy, 1e-9);
	ck_assert_double_eq_tol(s->cost.shortfall, c0.shortfall, 1e-9);
	ck_assert_double_le_tol(s->cost.feeder, c0.feeder, 1e-9);
	ck_assert_msg(s->cost.total <= c0.total - saved + 1e-9,
				  "seed %d: cost %.9g, before %.9g, saved %.9g", _i + 1,
				  s->cost.total, c0.total, saved);
	dispatch_dev_work_free(w);
	dispatch_schedule_free(s);
	free(c);
	free(net0);
	arena_destroy(a);
	free(buf);
}
END_TEST

Suite *
dispatch_exchange_suite(void)
{
	Suite	   *s = suite_create("dispatch_exchange");
	TCase	   *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hand);
	tcase_add_loop_test(tc, test_random, 0, 6);
	suite_add_tcase(s, tc);
	return s;
}
