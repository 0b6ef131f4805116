/*
 * tests/settlement/test_meter_read.c
 *	  Tests for settlement/meter_read.c: the strict CSV reader.  Bad inputs
 *	  live in tests/data/settlement/bad/NAME.csv with the expected error
 *	  substring in NAME.err.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settlement/meter_read.h"
#include "tests/suites.h"

#define BAD_DIR "tests/data/settlement/bad/"

static const char *bad_cases[] = {
	"bad_header", "few_fields", "many_fields", "bad_time", "no_offset",
	"bad_date", "bad_minutes", "bad_kwh_exponent", "empty_kwh",
	"too_many_digits", "out_of_order", "duplicate", "mixed_lengths",
	"misaligned", "bad_resource", "empty_line", "quotes", "header_only",
};

START_TEST(test_bad_input)
{
	char		path[256];
	char	   *want;
	size_t		wlen;
	settle_series_set *set = settle_series_set_create();
	derms_err	err;

	snprintf(path, sizeof(path), BAD_DIR "%s.err", bad_cases[_i]);
	ck_assert_int_eq(settle_file_read(path, &want, &wlen, &err), DERMS_OK);
	while (wlen > 0 && want[wlen - 1] == '\n')
		want[--wlen] = '\0';
	snprintf(path, sizeof(path), BAD_DIR "%s.csv", bad_cases[_i]);
	ck_assert_int_ne(settle_meter_read(path, set, &err), DERMS_OK);
	ck_assert_msg(strstr(err.msg, want) != NULL, "%s: got \"%s\", want \"%s\"",
				  bad_cases[_i], err.msg, want);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
	free(want);
	settle_series_set_destroy(set);
}
END_TEST

START_TEST(test_good_input)
{
	const char *csv =
		"resource,interval_start,interval_minutes,kwh\r\n"
		"a,2024-07-01T00:00:00Z,5,1.25\r\n"
		"b,2024-06-30T17:00-07:00,15,-0.5\r\n"
		"a,2024-07-01T00:05:00Z,5,2\r\n"
		"a,2024-07-01T00:15:00+00:00,5,0.000001\r\n";
	settle_series_set *set = settle_series_set_create();
	derms_err	err;
	settle_series *a;

	ck_assert_int_eq(settle_meter_parse(csv, strlen(csv), "x.csv", set, &err),
					 DERMS_OK);
	ck_assert_uint_eq(set->n, 2);
	ck_assert_uint_eq(set->nreadings, 4);
	a = settle_series_find(set, "a");
	ck_assert_uint_eq(a->n, 4);
	ck_assert_double_eq(a->kwh[0], 1.25);
	ck_assert_double_eq(a->kwh[3], 0.000001);
	ck_assert_double_eq(settle_series_find(set, "b")->kwh[0], -0.5);
	ck_assert_int_eq(settle_series_find(set, "b")->len_s, 900);
	settle_series_set_destroy(set);
}
END_TEST

START_TEST(test_decimal)
{
	static const struct
	{
		const char *s;
		derms_rc	rc;
		double		v;
	}			c[] = {
		{"0", DERMS_OK, 0.0}, {"12.5", DERMS_OK, 12.5}, {"-3.25", DERMS_OK, -3.25},
		{"0.1", DERMS_OK, 0.1}, {"123456789.123456", DERMS_OK, 123456789.123456},
		{"000000000000000000001.5", DERMS_OK, 1.5},
		{"1.", DERMS_EPARSE, 0}, {".5", DERMS_EPARSE, 0}, {"1e3", DERMS_EPARSE, 0},
		{"+1", DERMS_EPARSE, 0}, {"", DERMS_EPARSE, 0}, {"-", DERMS_EPARSE, 0},
		{"1234567890123456", DERMS_ERANGE, 0}, {"nan", DERMS_EPARSE, 0},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
	{
		double		v = -99;

		ck_assert_int_eq(settle_parse_decimal(c[i].s, strlen(c[i].s), &v), c[i].rc);
		if (c[i].rc == DERMS_OK)
			ck_assert_double_eq(v, strtod(c[i].s, NULL));
	}
}
END_TEST

Suite *
settle_meter_read_suite(void)
{
	Suite	   *s = suite_create("settle_meter_read");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_bad_input, 0,
						(int) (sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_test(tc, test_good_input);
	tcase_add_test(tc, test_decimal);
	suite_add_tcase(s, tc);
	return s;
}
