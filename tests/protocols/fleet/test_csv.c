/*
 * tests/protocols/fleet/test_csv.c
 *	  Tests for protocols/fleet/csv.c: the strict CSV reader.
 */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "protocols/fleet/csv.h"
#include "tests/suites.h"

/* Each case: input, then the records it yields, "|"-joined fields, or
 * "!LINE:reason" for an error. */
static const struct
{
	const char *in;
	const char *want[4];
}			cases[] = {
	{"a,b\n1,2\n", {"a|b", "1|2"}},
	{"a,b\r\n1,2\r\n", {"a|b", "1|2"}},
	{"a,b\n1,2", {"a|b", "1|2"}},
	{"x,\"q,\"\"uo\"\"te\"\n", {"x|q,\"uo\"te"}},
	{"x,\"two\nlines\"\ny,z\n", {"x|two\nlines", "y|z"}},
	{"a,,\n", {"a||"}},
	{"a\"b\nc\n", {"!1:quote inside an unquoted field", "c"}},
	{"\"ab\"c\nd\n", {"!1:text after a closing quote", "d"}},
	{"a\n\nb\n", {"a", "!2:blank line", "b"}},
	{"a\n\"open\n", {"a", "!2:unterminated quoted field"}},
	{"a\rb\n", {"!1:carriage return without line feed"}},
};

START_TEST(test_records)
{
	fleet_csv	r;
	fleet_csv_record rec;
	derms_err	err;
	size_t		k = 0;
	derms_rc	rc;

	fleet_csv_init(&r, cases[_i].in, strlen(cases[_i].in));
	while ((rc = fleet_csv_next(&r, &rec, &err)) != DERMS_ENOTFOUND)
	{
		char		got[1024] = "";

		ck_assert_msg(k < 4 && cases[_i].want[k], "case %d: extra record", _i);
		if (rc != DERMS_OK)
			snprintf(got, sizeof(got), "!%ld:%s", rec.line, err.msg);
		else
			for (size_t i = 0; i < rec.nfields; i++)
			{
				if (i)
					strcat(got, "|");
				strcat(got, rec.fields[i]);
			}
		ck_assert_msg(strcmp(got, cases[_i].want[k]) == 0, "case %d record %zu: got \"%s\" want \"%s\"",
					  _i, k, got, cases[_i].want[k]);
		k++;
	}
	ck_assert_msg(k == 4 || cases[_i].want[k] == NULL, "case %d: missing record %zu", _i, k);
	fleet_csv_free(&r);
}
END_TEST

START_TEST(test_empty)
{
	fleet_csv	r;
	fleet_csv_record rec;
	derms_err	err;

	fleet_csv_init(&r, "", 0);
	ck_assert_int_eq(fleet_csv_next(&r, &rec, &err), DERMS_ENOTFOUND);
	fleet_csv_free(&r);
}
END_TEST

Suite *
fleet_csv_suite(void)
{
	Suite	   *s = suite_create("fleet_csv");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_records, 0, (int) (sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}
