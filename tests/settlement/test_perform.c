/*
 * tests/settlement/test_perform.c
 *	  Tests for settlement/perform.c: instructions spread pro rata, under-
 *	  and over-delivery, performance ratio and value.
 */
#include <string.h>

#include "settlement/perform.h"
#include "tests/suites.h"

#define T0 1719792000			/* 2024-07-01T00:00:00Z */

START_TEST(test_instruction_and_value)
{
	const char *instr =
		"resource,interval_start,interval_minutes,kwh\n"
		"r,2024-07-01T00:00:00Z,60,120\n"
		"q,2024-07-01T00:00:00Z,5,7\n";
	const char *prices =
		"interval_start,interval_minutes,price_per_mwh\n"
		"2024-07-01T00:00:00Z,5,100\n"
		"2024-07-01T00:05:00Z,5,200\n";
	settle_instr_set is;
	settle_price_set ps;
	settle_row	row;
	settle_perf p;
	derms_err	err;

	ck_assert_int_eq(settle_instr_parse(instr, strlen(instr), "i", &is, &err), DERMS_OK);
	ck_assert_int_eq(settle_price_parse(prices, strlen(prices), "p", &ps, &err), DERMS_OK);
	memset(&row, 0, sizeof(row));
	row.start = T0;
	row.delivered = 8.0;
	/* 120 kWh over an hour is 10 kWh per 5 minutes: 2 short, ratio 0.8 */
	settle_perform(&row, 300, "r", &is, &ps, &p);
	ck_assert(p.has_instr && p.has_ratio && p.has_price);
	ck_assert_double_eq_tol(p.instructed, 10.0, 1e-12);
	ck_assert_double_eq_tol(p.under, 2.0, 1e-12);
	ck_assert_double_eq_tol(p.over, 0.0, 1e-12);
	ck_assert_double_eq_tol(p.ratio, 0.8, 1e-12);
	ck_assert_double_eq_tol(p.value, 8.0 / 1000 * 100, 1e-12);
	/* over-delivery; the 10-minute interval averages both prices */
	row.delivered = 12.0;
	settle_perform(&row, 600, "q", &is, &ps, &p);
	ck_assert_double_eq_tol(p.instructed, 7.0, 1e-12);
	ck_assert_double_eq_tol(p.over, 5.0, 1e-12);
	ck_assert_double_eq_tol(p.price, 150.0, 1e-12);
	/* no instruction for this resource, no price past the file */
	row.start = T0 + 600;
	settle_perform(&row, 300, "z", &is, &ps, &p);
	ck_assert(!p.has_instr && !p.has_ratio && !p.has_price);
	settle_instr_free(&is);
	settle_price_free(&ps);
}
END_TEST

START_TEST(test_bad_files)
{
	const char *overlap =
		"resource,interval_start,interval_minutes,kwh\n"
		"r,2024-07-01T00:00:00Z,60,1\n"
		"r,2024-07-01T00:30:00Z,15,1\n";
	const char *badp =
		"interval_start,interval_minutes,price_per_mwh\n"
		"2024-07-01T00:00:00Z,7,100\n";
	settle_instr_set is;
	settle_price_set ps;
	derms_err	err;

	ck_assert_int_eq(settle_instr_parse(overlap, strlen(overlap), "i.csv", &is, &err),
					 DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "overlapping instructions"));
	ck_assert_int_eq(settle_price_parse(badp, strlen(badp), "p.csv", &ps, &err),
					 DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "p.csv line 2: interval_minutes"));
	ck_assert_int_eq(settle_price_parse("x\n", 2, "p.csv", &ps, &err), DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "header"));
}
END_TEST

Suite *
settle_perform_suite(void)
{
	Suite	   *s = suite_create("settle_perform");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_instruction_and_value);
	tcase_add_test(tc, test_bad_files);
	suite_add_tcase(s, tc);
	return s;
}
