/*
 * tests/settlement/test_calendar.c
 *	  Tests for settlement/calendar.c: 276 and 300 five-minute intervals on
 *	  daylight-saving days, local clock mapping, NERC holidays, date lists.
 */
#include <string.h>

#include "settlement/calendar.h"
#include "settlement/tz.h"
#include "tests/suites.h"

static const char *zones[] = {"America/New_York", "America/Los_Angeles"};

START_TEST(test_dst_slots)
{
	settle_calendar cal;
	derms_err	err;
	int64_t		spring = settle_days_from_civil(2024, 3, 10);
	int64_t		fall = settle_days_from_civil(2024, 11, 3);

	ck_assert_int_eq(settle_tz_use(zones[_i], &err), DERMS_OK);
	ck_assert_int_eq(settle_calendar_build(&cal, spring - 1, spring + 1, 300,
										   NULL, NULL, &err), DERMS_OK);
	ck_assert_int_eq(cal.days[0].nslots, 288);
	ck_assert_int_eq(cal.days[1].nslots, 276);
	ck_assert_int_eq(cal.days[2].nslots, 288);
	/* 02:00-02:55 does not exist; 03:00 is slot 24 */
	ck_assert_int_eq(settle_calendar_slot(&cal, 1, 24), -1);
	ck_assert_int_eq(settle_calendar_slot(&cal, 1, 35), -1);
	ck_assert_int_eq(settle_calendar_slot(&cal, 1, 36), 24);
	ck_assert_int_eq(settle_calendar_local(&cal, 1, 24), 36);
	settle_calendar_free(&cal);

	ck_assert_int_eq(settle_calendar_build(&cal, fall, fall, 300, NULL, NULL,
										   &err), DERMS_OK);
	ck_assert_int_eq(cal.days[0].nslots, 300);
	/* 01:00 occurs twice; both map to local index 12, the first wins */
	ck_assert_int_eq(settle_calendar_local(&cal, 0, 12), 12);
	ck_assert_int_eq(settle_calendar_local(&cal, 0, 24), 12);
	ck_assert_int_eq(settle_calendar_slot(&cal, 0, 12), 12);
	ck_assert_int_eq(settle_calendar_slot(&cal, 0, 24), 36);
	settle_calendar_free(&cal);

	/* 15- and 60-minute settlement on the same days */
	ck_assert_int_eq(settle_calendar_build(&cal, spring, spring, 900, NULL,
										   NULL, &err), DERMS_OK);
	ck_assert_int_eq(cal.days[0].nslots, 92);
	settle_calendar_free(&cal);
	ck_assert_int_eq(settle_calendar_build(&cal, fall, fall, 3600, NULL,
										   NULL, &err), DERMS_OK);
	ck_assert_int_eq(cal.days[0].nslots, 25);
	settle_calendar_free(&cal);
}
END_TEST

START_TEST(test_nerc_holidays)
{
	static const int hol[][3] = {
		{2022, 1, 1}, {2022, 5, 30}, {2022, 7, 4}, {2022, 9, 5},
		{2022, 11, 24}, {2022, 12, 26}, {2023, 1, 2}, {2024, 5, 27},
		{2024, 7, 4}, {2024, 9, 2}, {2024, 11, 28}, {2024, 12, 25},
	};
	static const int not_hol[][3] = {
		{2021, 12, 24}, {2024, 7, 5}, {2024, 5, 20}, {2024, 11, 21},
		{2024, 2, 19}, {2024, 1, 15},
	};

	for (size_t i = 0; i < sizeof(hol) / sizeof(hol[0]); i++)
		ck_assert_msg(settle_nerc_holiday(settle_days_from_civil(hol[i][0], hol[i][1], hol[i][2])),
					  "%d-%d-%d", hol[i][0], hol[i][1], hol[i][2]);
	/* 2024-07-05 is not a holiday: July 4th fell on a Thursday */
	for (size_t i = 0; i < sizeof(not_hol) / sizeof(not_hol[0]); i++)
		ck_assert_msg(!settle_nerc_holiday(settle_days_from_civil(not_hol[i][0], not_hol[i][1], not_hol[i][2])),
					  "%d-%d-%d", not_hol[i][0], not_hol[i][1], not_hol[i][2]);
}
END_TEST

START_TEST(test_dayset_and_classes)
{
	const char *txt = "# events\n2024-07-10\n\n2024-07-03  \n";
	const char *bad = "2024-07-10\n2024-13-01\n";
	settle_dayset ds;
	settle_calendar cal;
	derms_err	err;
	int64_t		jul10 = settle_days_from_civil(2024, 7, 10);

	ck_assert_int_eq(settle_dayset_parse(txt, strlen(txt), "ev", &ds, &err),
					 DERMS_OK);
	ck_assert_uint_eq(ds.n, 2);
	ck_assert(settle_dayset_has(&ds, jul10));
	ck_assert(!settle_dayset_has(&ds, jul10 + 1));
	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	ck_assert_int_eq(settle_calendar_build(&cal, jul10 - 7, jul10 + 3, 3600,
										   NULL, &ds, &err), DERMS_OK);
	ck_assert(cal.days[7].event);
	ck_assert(cal.days[1].holiday);	/* 2024-07-04 */
	ck_assert_int_eq(settle_day_classify(&cal.days[1], SETTLE_SCHEME_WEEKDAY_SAT_SUN),
					 SETTLE_CLASS_SUNHOL);
	ck_assert_int_eq(settle_day_classify(&cal.days[1], SETTLE_SCHEME_WEEKDAY_WEEKEND),
					 SETTLE_CLASS_WEEKEND);
	ck_assert_int_eq(settle_day_classify(&cal.days[3], SETTLE_SCHEME_WEEKDAY_SAT_SUN),
					 SETTLE_CLASS_SATURDAY);
	ck_assert_int_eq(settle_day_classify(&cal.days[7], SETTLE_SCHEME_WEEKDAY_SAT_SUN),
					 SETTLE_CLASS_WEEKDAY);
	ck_assert_int_eq(settle_calendar_find(&cal, jul10), 7);
	ck_assert_int_eq(settle_calendar_find(&cal, jul10 + 30), -1);
	settle_calendar_free(&cal);
	settle_dayset_free(&ds);

	ck_assert_int_eq(settle_dayset_parse(bad, strlen(bad), "ev.txt", &ds, &err),
					 DERMS_EPARSE);
	ck_assert_ptr_nonnull(strstr(err.msg, "ev.txt line 2"));
}
END_TEST

Suite *
settle_calendar_suite(void)
{
	Suite	   *s = suite_create("settle_calendar");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_dst_slots, 0, 2);
	tcase_add_test(tc, test_nerc_holidays);
	tcase_add_test(tc, test_dayset_and_classes);
	suite_add_tcase(s, tc);
	return s;
}
