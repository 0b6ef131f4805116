/*
 * tests/settlement/test_tz.c
 *	  Tests for settlement/tz.c: civil dates, ISO 8601 instants, zones and
 *	  the length of daylight-saving days.
 */
#include <string.h>

#include "settlement/tz.h"
#include "tests/suites.h"

START_TEST(test_civil_roundtrip)
{
	for (int64_t d = -800000; d < 800000; d += 997)
	{
		int			y,
					m,
					dd;

		settle_civil_from_days(d, &y, &m, &dd);
		ck_assert_int_eq(settle_days_from_civil(y, m, dd), d);
	}
	ck_assert_int_eq(settle_days_from_civil(1970, 1, 1), 0);
	ck_assert_int_eq(settle_days_from_civil(2024, 3, 1) -
					 settle_days_from_civil(2024, 2, 28), 2);
	ck_assert_int_eq(settle_weekday(settle_days_from_civil(2024, 7, 15)), 1);
	ck_assert_int_eq(settle_weekday(settle_days_from_civil(2024, 7, 13)), 6);
}
END_TEST

static const struct
{
	const char *s;
	long long	want;			/* -1: invalid */
}			instants[] = {
	{"2024-07-01T00:00:00Z", 1719792000},
	{"2024-07-01T00:00Z", 1719792000},
	{"2024-06-30T17:00:00-07:00", 1719792000},
	{"2024-07-01T05:30+05:30", 1719792000},
	{"2024-07-01T00:00:00", -1},
	{"2024-07-01 00:00:00Z", -1},
	{"2024-02-30T00:00:00Z", -1},
	{"2024-07-01T24:00:00Z", -1},
	{"2024-07-01T00:00:00+0700", -1},
	{"2024-07-01T00:00:00z", -1},
	{"2024-07-01T00:00:60Z", -1},
	{"2024-7-01T00:00:00Z", -1},
	{"", -1},
};

START_TEST(test_parse_instant)
{
	int64_t		t = 0;
	derms_err	err;
	derms_rc	rc = settle_parse_instant(instants[_i].s, strlen(instants[_i].s),
										  &t, &err);

	if (instants[_i].want < 0)
	{
		ck_assert_int_eq(rc, DERMS_EPARSE);
		ck_assert_ptr_nonnull(strstr(err.msg, "invalid timestamp"));
	}
	else
	{
		ck_assert_int_eq(rc, DERMS_OK);
		ck_assert_int_eq(t, instants[_i].want);
	}
}
END_TEST

START_TEST(test_zone_names)
{
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("Mars/Olympus_Mons", &err), DERMS_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "unknown time zone"));
	ck_assert_int_eq(settle_tz_use("../../etc/passwd", &err), DERMS_EINVAL);
	ck_assert_int_eq(settle_tz_use("/etc/localtime", &err), DERMS_EINVAL);
	ck_assert_int_eq(settle_tz_use("America", &err), DERMS_ENOTFOUND);
	ck_assert_int_eq(settle_tz_use("UTC", &err), DERMS_OK);
	ck_assert_int_eq(settle_tz_offset(1719792000), 0);
}
END_TEST

/* Hours in each trading day around the 2024 transitions */
START_TEST(test_dst_day_lengths)
{
	static const char *zones[] = {"America/New_York", "America/Los_Angeles"};

	for (int z = 0; z < 2; z++)
	{
		derms_err	err;
		int64_t		spring = settle_days_from_civil(2024, 3, 10);
		int64_t		fall = settle_days_from_civil(2024, 11, 3);

		ck_assert_int_eq(settle_tz_use(zones[z], &err), DERMS_OK);
		ck_assert_int_eq(settle_tz_day_start(spring + 1) -
						 settle_tz_day_start(spring), 23 * 3600);
		ck_assert_int_eq(settle_tz_day_start(fall + 1) -
						 settle_tz_day_start(fall), 25 * 3600);
		ck_assert_int_eq(settle_tz_day_start(spring) -
						 settle_tz_day_start(spring - 1), 24 * 3600);
		ck_assert_int_eq(settle_tz_local_day(settle_tz_day_start(fall)), fall);
		ck_assert_int_eq(settle_tz_local_day(settle_tz_day_start(fall) - 1),
						 fall - 1);
	}
	/* New York midnight is 05:00Z in winter, 04:00Z in summer */
	{
		derms_err	err;

		ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
		ck_assert_int_eq(settle_tz_day_start(settle_days_from_civil(2024, 1, 2)),
						 1704171600);
		ck_assert_int_eq(settle_tz_day_start(settle_days_from_civil(2024, 7, 2)),
						 1719892800);
	}
}
END_TEST

START_TEST(test_format)
{
	char		buf[SETTLE_TIME_STRMAX];
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	settle_fmt_utc(1719792000, buf);
	ck_assert_str_eq(buf, "2024-07-01T00:00:00Z");
	settle_fmt_local(1719792000, buf);
	ck_assert_str_eq(buf, "2024-06-30T17:00:00-07:00");
	settle_fmt_local(1704067200, buf);
	ck_assert_str_eq(buf, "2023-12-31T16:00:00-08:00");
	settle_fmt_date(settle_days_from_civil(2024, 2, 29), buf);
	ck_assert_str_eq(buf, "2024-02-29");
}
END_TEST

Suite *
settle_tz_suite(void)
{
	Suite	   *s = suite_create("settle_tz");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_civil_roundtrip);
	tcase_add_loop_test(tc, test_parse_instant, 0,
						(int) (sizeof(instants) / sizeof(instants[0])));
	tcase_add_test(tc, test_zone_names);
	tcase_add_test(tc, test_dst_day_lengths);
	tcase_add_test(tc, test_format);
	suite_add_tcase(s, tc);
	return s;
}
