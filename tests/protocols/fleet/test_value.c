/*
 * tests/protocols/fleet/test_value.c
 *	  Tests for protocols/fleet/value.c: strict field validators.
 */
#include <string.h>

#include <check.h>

#include "protocols/fleet/value.h"
#include "tests/suites.h"

static const struct
{
	bool		(*fn) (const char *);
	const char *in;
	bool		ok;
}			cases[] = {
	{fleet_value_time, "2024-01-01T00:00:00Z", true},
	{fleet_value_time, "2024-01-01 12:30+02:00", true},
	{fleet_value_time, "2024-01-01T12:30:15.250-0500", true},
	{fleet_value_time, "2024-01-01T00:00:00", false},	/* no zone */
	{fleet_value_time, "2024-02-30T00:00:00Z", false},
	{fleet_value_time, "2024-01-01T24:00:00Z", false},
	{fleet_value_time, "2024-01-01T00:00:00Zjunk", false},
	{fleet_value_date, "2024-02-29", true},
	{fleet_value_date, "2023-02-29", false},
	{fleet_value_date, "2024-1-01", false},
	{fleet_value_date, "2024-01-01T00:00Z", false},
};

START_TEST(test_times)
{
	ck_assert_msg(cases[_i].fn(cases[_i].in) == cases[_i].ok, "\"%s\"", cases[_i].in);
}
END_TEST

START_TEST(test_numbers_lfdi)
{
	double		d;
	char		up[41];

	ck_assert(fleet_value_number("12.5", &d) && d == 12.5);
	ck_assert(fleet_value_number("-3", &d) && d == -3);
	ck_assert(fleet_value_number("1e3", &d) && d == 1000);
	ck_assert(!fleet_value_number("", NULL));
	ck_assert(!fleet_value_number(" 1", NULL));
	ck_assert(!fleet_value_number("0x10", NULL));
	ck_assert(!fleet_value_number("nan", NULL));
	ck_assert(!fleet_value_number("1e999", NULL));
	ck_assert(!fleet_value_number("1.2.3", NULL));
	ck_assert(fleet_value_lfdi("0123456789abcdef0123456789abcdef01234567", up));
	ck_assert_str_eq(up, "0123456789ABCDEF0123456789ABCDEF01234567");
	ck_assert(!fleet_value_lfdi("0123456789abcdef0123456789abcdef0123456", NULL));
	ck_assert(!fleet_value_lfdi("0123456789abcdef0123456789abcdef0123456g", NULL));
}
END_TEST

Suite *
fleet_value_suite(void)
{
	Suite	   *s = suite_create("fleet_value");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_times, 0, (int) (sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_numbers_lfdi);
	suite_add_tcase(s, tc);
	return s;
}
