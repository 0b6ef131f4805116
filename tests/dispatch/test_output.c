/*
 * tests/dispatch/test_output.c
 *	  Tests for dispatch/output.c: CSV quoting of ids (RFC 4180) and the
 *	  JSON schedule's escaping.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/exact.h"
#include "dispatch/instance.h"
#include "dispatch/output.h"
#include "tests/suites.h"

START_TEST(test_csv_quotes_ids)
{
	arena	   *a = arena_create(0);
	dispatch_instance *in = NULL;
	dispatch_schedule *s = NULL;
	derms_err	err;
	char	   *buf = NULL;
	size_t		len = 0;
	FILE	   *f;

	ck_assert_int_eq(dispatch_instance_load(a, "tests/data/dispatch/hand.json",
											&in, &err), DERMS_OK);
	/* ids with a comma, and then with a quote */
	ck_assert_int_eq(dispatch_exact_solve(in, &s, &err), DERMS_OK);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(dispatch_output_csv(in, s, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_msg(strstr(buf, "\n\"b,1\",battery,0,") != NULL, "%s", buf);
	free(buf);
	in->res[0].id = "say \"hi\"";
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(dispatch_output_csv(in, s, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_msg(strstr(buf, "\n\"say \"\"hi\"\"\",battery,1,") != NULL, "%s", buf);
	free(buf);
	in->res[0].id = "plain";
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(dispatch_output_csv(in, s, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_msg(strstr(buf, "\nplain,battery,0,") != NULL, "%s", buf);
	free(buf);
	in->res[0].id = "q\"";
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(dispatch_output_json(in, s, f, &err), DERMS_OK);
	fclose(f);
	ck_assert_msg(strstr(buf, "\"id\": \"q\\\"\"") != NULL, "%s", buf);
	free(buf);
	dispatch_schedule_free(s);
	arena_destroy(a);
}
END_TEST

Suite *
dispatch_output_suite(void)
{
	Suite	   *s = suite_create("dispatch_output");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_csv_quotes_ids);
	suite_add_tcase(s, tc);
	return s;
}
