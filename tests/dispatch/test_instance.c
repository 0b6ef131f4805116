/*
 * tests/dispatch/test_instance.c
 *	  Tests for dispatch/instance.c: a hand instance read back field by
 *	  field, generated instances read back, and bad files refused with a
 *	  message naming the field (tests/data/dispatch/bad/).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/generate.h"
#include "dispatch/instance.h"
#include "tests/suites.h"

static const struct
{
	const char *file;
	derms_rc	rc;
	const char *msg;			/* expected substring */
}			bad_cases[] = {
	{"zero_capacity", DERMS_ERANGE, "resources[0].capacity_mwh: 0 is not greater than 0"},
	{"eta_above_one", DERMS_ERANGE, "resources[0].eta_charge: 1.2 is not within (0, 1]"},
	{"soc_above_max", DERMS_ERANGE, "resources[0].soc: 0.95 is outside [soc_min, soc_max]"},
	{"unknown_field", DERMS_EPARSE, "resources[0].colour: unknown field"},
	{"intervals_string", DERMS_EPARSE, "intervals: expected an integer"},
	{"wrong_format", DERMS_EPARSE, "format: "},
	{"short_targets", DERMS_ERANGE, "targets.mw: has 1 values"},
	{"negative_power", DERMS_ERANGE, "resources[0].charge_mw: -1 is not at least 0"},
	{"truncated", DERMS_EPARSE, "line 2"},
};

START_TEST(test_bad_input)
{
	char		path[256];
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	derms_err	err;
	derms_rc	rc;

	snprintf(path, sizeof(path), "tests/data/dispatch/bad/%s.json",
			 bad_cases[_i].file);
	rc = dispatch_instance_load(a, path, &in, &err);
	ck_assert_msg(rc != DERMS_OK, "%s was accepted", path);
	ck_assert_msg(strstr(err.msg, bad_cases[_i].msg) != NULL,
				  "%s: message \"%s\" lacks \"%s\"", path, err.msg,
				  bad_cases[_i].msg);
	ck_assert_msg(rc == bad_cases[_i].rc || rc == DERMS_EPARSE ||
				  rc == DERMS_ERANGE, "%s: rc %d", path, (int) rc);
	arena_destroy(a);
}
END_TEST

/* The hand instance: SoC fractions become MWh, targets stay MW. */
START_TEST(test_hand_fields)
{
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	derms_err	err;
	const dispatch_resource *b;

	ck_assert_int_eq(dispatch_instance_load(a, "tests/data/dispatch/hand.json",
											&in, &err), DERMS_OK);
	ck_assert_int_eq(in->T, 2);
	ck_assert_double_eq_tol(in->dt, 1.0, 1e-12);
	ck_assert_double_eq_tol(in->target[0], 1.0, 1e-12);
	ck_assert_double_eq_tol(in->target[1], -1.0, 1e-12);
	ck_assert(isnan(in->reserve[0]));
	ck_assert_int_eq(in->nres, 1);
	b = &in->res[0];
	ck_assert_str_eq(b->id, "b,1");
	ck_assert_int_eq(b->kind, DISPATCH_BATTERY);
	ck_assert_double_eq_tol(b->e_init, 0.5, 1e-12);
	ck_assert_double_eq_tol(b->e_final_min, 0.5, 1e-12);
	ck_assert_double_eq_tol(b->e_max, 1.0, 1e-12);
	ck_assert_double_eq_tol(in->pen_shortfall, 1000.0, 1e-12);
	arena_destroy(a);
}
END_TEST

/* What the generator writes, the reader reads: sizes and limits agree. */
START_TEST(test_generated_round_trip)
{
	static const char *const tiers[] = {"XS", "S"};

	for (int i = 0; i < 2; i++)
	{
		dispatch_gen g;
		char	   *buf = NULL;
		size_t		len = 0;
		FILE	   *f = open_memstream(&buf, &len);
		arena	   *a = arena_create(0);
		dispatch_instance *in = NULL;
		derms_err	err;

		ck_assert_int_eq(dispatch_gen_tier(tiers[i], &g, &err), DERMS_OK);
		ck_assert_int_eq(dispatch_gen_write(&g, 7, f, &err), DERMS_OK);
		fclose(f);
		ck_assert_msg(dispatch_instance_parse(a, buf, len, &in, &err) == DERMS_OK,
					  "%s", err.msg);
		ck_assert_int_eq(in->T, g.T);
		ck_assert_int_eq(in->nres, g.batteries + g.evs + g.pvs);
		ck_assert_int_eq(in->ngroups, g.groups);
		for (int r = 0; r < in->nres; r++)
		{
			const dispatch_resource *x = &in->res[r];

			ck_assert(x->e_min <= x->e_init && x->e_init <= x->e_max);
			ck_assert(x->eta_c > 0 && x->eta_c <= 1 && x->eta_d > 0 && x->eta_d <= 1);
		}
		arena_destroy(a);
		free(buf);
	}
	{
		dispatch_gen g;
		derms_err	err;

		ck_assert_int_eq(dispatch_gen_tier("XL", &g, &err), DERMS_EINVAL);
	}
}
END_TEST

Suite *
dispatch_instance_suite(void)
{
	Suite	   *s = suite_create("dispatch_instance");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bad_input, 0,
						(int) (sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_hand_fields);
	tcase_add_test(tc, test_generated_round_trip);
	suite_add_tcase(s, tc);
	return s;
}
