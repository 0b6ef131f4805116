/*
 * tests/settlement/test_series.c
 *	  Tests for settlement/series.c: ordering rules, estimation flags and
 *	  aggregation sums.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "settlement/series.h"
#include "tests/suites.h"

#define T0 1719792000			/* 2024-07-01T00:00:00Z */

START_TEST(test_order_rules)
{
	settle_series_set *set = settle_series_set_create();
	settle_series *s;
	derms_err	err;

	ck_assert_int_eq(settle_series_get(set, "r1", 2, &s, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0, 300, 1.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0, 300, 1.0, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "duplicate interval"));
	ck_assert_int_eq(settle_series_append(s, T0 + 600, 300, 1.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0 + 300, 300, 1.0, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "out-of-order"));
	ck_assert_int_eq(settle_series_append(s, T0 + 3600, 900, 1.0, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "mixed interval lengths"));
	ck_assert_int_eq(settle_series_append(s, T0 + 960, 300, 1.0, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "not aligned"));
	ck_assert_int_eq(settle_series_append(s, T0 + 86400LL * 1200, 300, 1.0, &err),
					 DERMS_ERANGE);
	/* a second resource is found again by name */
	{
		settle_series *s2,
				   *again;

		ck_assert_int_eq(settle_series_get(set, "r2xx", 2, &s2, &err), DERMS_OK);
		ck_assert_ptr_ne(s, s2);
		ck_assert_int_eq(settle_series_get(set, "r1", 2, &again, &err), DERMS_OK);
		ck_assert_ptr_eq(again, s);
		ck_assert_ptr_eq(settle_series_find(set, "r2"), s2);
		ck_assert_ptr_null(settle_series_find(set, "r3"));
	}
	settle_series_set_destroy(set);
}
END_TEST

START_TEST(test_many_resources)
{
	settle_series_set *set = settle_series_set_create();
	derms_err	err;
	char		name[32];

	for (int i = 0; i < 5000; i++)
	{
		settle_series *s;
		int			n = snprintf(name, sizeof(name), "res-%d", i);

		ck_assert_int_eq(settle_series_get(set, name, (size_t) n, &s, &err), DERMS_OK);
		ck_assert_int_eq(settle_series_append(s, T0, 3600, i, &err), DERMS_OK);
	}
	ck_assert_uint_eq(set->n, 5000);
	ck_assert_double_eq(settle_series_find(set, "res-4321")->kwh[0], 4321.0);
	settle_series_set_destroy(set);
}
END_TEST

/* DESIGN.md "Missing intervals": straight line between actual readings */
START_TEST(test_estimation)
{
	settle_series_set *set = settle_series_set_create();
	settle_series *s;
	derms_err	err;
	size_t		n = 0;
	settle_agg	a;

	ck_assert_int_eq(settle_series_get(set, "m", 1, &s, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0, 300, 1.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0 + 300, 300, 2.0, &err), DERMS_OK);
	/* 3 missing: T0+600, 900, 1200 */
	ck_assert_int_eq(settle_series_append(s, T0 + 1500, 300, 6.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0 + 1800, 300, 1.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0 + 2100, 300, 2.0, &err), DERMS_OK);
	ck_assert_int_eq(settle_series_append(s, T0 + 2400, 300, 3.0, &err), DERMS_OK);
	ck_assert(isnan(s->kwh[3]));
	ck_assert_int_eq(settle_series_set_estimate(set, &n, &err), DERMS_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(s->nestimated, 3);
	ck_assert_double_eq_tol(s->kwh[2], 3.0, 1e-12);
	ck_assert_double_eq_tol(s->kwh[3], 4.0, 1e-12);
	ck_assert_double_eq_tol(s->kwh[4], 5.0, 1e-12);
	ck_assert(s->est[2] && s->est[3] && s->est[4]);
	ck_assert(!s->est[1] && !s->est[5]);

	/* aggregation: exactly the sum of the members, estimated if any is */
	settle_series_sum(s, T0, 900, &a);
	ck_assert_double_eq_tol(a.kwh, 1.0 + 2.0 + 3.0, 1e-12);
	ck_assert(a.estimated);
	ck_assert_int_eq(a.inside, 3);
	settle_series_sum(s, T0 + 1800, 900, &a);
	ck_assert_double_eq_tol(a.kwh, 6.0, 1e-12);
	ck_assert(!a.estimated);
	/* past the last reading: held and flagged */
	settle_series_sum(s, T0 + 2700, 900, &a);
	ck_assert_double_eq_tol(a.kwh, 9.0, 1e-12);
	ck_assert(a.estimated);
	ck_assert_int_eq(a.inside, 0);
	ck_assert(settle_series_covers_all(s, T0, T0 + 2700));
	ck_assert(!settle_series_covers_all(s, T0, T0 + 3000));
	ck_assert(settle_series_covers_any(s, T0 - 600, T0 + 300));
	ck_assert(!settle_series_covers_any(s, T0 - 600, T0));
	settle_series_set_destroy(set);
}
END_TEST

Suite *
settle_series_suite(void)
{
	Suite	   *s = suite_create("settle_series");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_order_rules);
	tcase_add_test(tc, test_many_resources);
	tcase_add_test(tc, test_estimation);
	suite_add_tcase(s, tc);
	return s;
}
