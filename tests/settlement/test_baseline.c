/*
 * tests/settlement/test_baseline.c
 *	  Tests for settlement/baseline.c on worked examples built by hand from
 *	  the rule definitions cited beside each test (see settlement/DESIGN.md
 *	  for the documents).  Each example gives every history day one flat
 *	  level, so the expected baseline is a mean of day levels.
 */
#include <math.h>
#include <string.h>

#include "settlement/baseline.h"
#include "settlement/calendar.h"
#include "settlement/tz.h"
#include "tests/settlement/helpers.h"
#include "tests/suites.h"

#define EPS 1e-9

/* Levels for the current example */
static int64_t g_event_day;
static double g_window;			/* event day, adjustment window hours */
static int	g_win_from,
			g_win_to;			/* local hours [from, to) */
static double g_event;			/* event day, other hours */
static int64_t g_special[8];	/* days at level 1000 */
static double g_level_of[40];	/* by day of month; 0 = use the dom */

static double
level(int64_t day, int hour)
{
	int			y,
				m,
				d;

	if (day == g_event_day)
		return (hour >= g_win_from && hour < g_win_to) ? g_window : g_event;
	for (int i = 0; i < 8; i++)
		if (g_special[i] == day)
			return 1000.0;
	settle_civil_from_days(day, &y, &m, &d);
	if (m == 7 && g_level_of[d] != 0.0)
		return g_level_of[d];
	return d;
}

static void
reset_levels(void)
{
	memset(g_special, 0, sizeof(g_special));
	memset(g_level_of, 0, sizeof(g_level_of));
}

/* Run method on resource "r" of set for [start, end); nrows rows. */
static derms_rc
run_method(const char *method, settle_series_set *set,
		   const settle_dayset *events, int32_t S, int64_t start,
		   int64_t end, settle_row *rows, settle_baseline_info *info,
		   derms_err *err)
{
	const settle_method *m = settle_method_find(method);
	settle_calendar cal;
	int64_t		evday = settle_tz_local_day(start);
	derms_rc	rc;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(settle_series_set_estimate(set, NULL, err), DERMS_OK);
	ck_assert_int_eq(settle_calendar_build(&cal, evday - settle_method_history_days(m) - 1,
										   evday, S, NULL, events, err), DERMS_OK);
	rc = settle_baseline_compute(m, &cal, settle_series_find(set, "r"),
								 start, end, rows, info, err);
	settle_calendar_free(&cal);
	return rc;
}

static int64_t
at(const char *iso)
{
	int64_t		t;
	derms_err	err;

	ck_assert_int_eq(settle_parse_instant(iso, strlen(iso), &t, &err), DERMS_OK);
	return t;
}

/*
 * CAISO BPM for Demand Response sec. 7.1, 10-in-10: event Monday
 * 2024-07-15 14:00-16:00 PDT.  Like days: the 10 most recent weekdays,
 * skipping 2024-07-04 (NERC holiday) and 2024-07-10 (listed event day):
 * 07-12, 11, 09, 08, 05, 03, 02, 01, 06-28, 06-27, levels = day of month,
 * mean 106 / 10 = 10.6.  Load point adjustment from 10:00-13:00 (the three
 * hours ending one hour before the event): actual 20 / 10.6 = 1.89,
 * capped at 1.2 -> adjusted 12.72; actual 5 -> delivered 7.72.  With 11.66
 * in the window the factor is 1.1 (uncapped) -> 11.66, delivered 6.66.
 */
START_TEST(test_caiso_10in10)
{
	static const double window[2] = {20.0, 11.66};
	static const double adjusted[2] = {12.72, 11.66};
	settle_series_set *set = settle_series_set_create();
	settle_dayset ev = {NULL, 0};
	int64_t		evday[1];
	settle_row	rows[2];
	settle_baseline_info info;
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	reset_levels();
	g_event_day = settle_test_day(2024, 7, 15);
	g_window = window[_i];
	g_win_from = 10;
	g_win_to = 13;
	g_event = 5.0;
	g_special[0] = settle_test_day(2024, 7, 10);
	g_special[1] = settle_test_day(2024, 7, 4);
	evday[0] = settle_test_day(2024, 7, 10);
	ev.days = evday;
	ev.n = 1;
	settle_test_fill(set, "r", settle_test_day(2024, 6, 10), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("caiso-10in10", set, &ev, 3600,
								at("2024-07-15T14:00-07:00"),
								at("2024-07-15T16:00-07:00"), rows, &info, &err),
					 DERMS_OK);
	ck_assert_int_eq(info.ndays, 10);
	for (int k = 0; k < 2; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 10.6, EPS);
		ck_assert_double_eq_tol(rows[k].baseline + rows[k].adjustment,
								adjusted[_i], EPS);
		ck_assert_double_eq_tol(rows[k].actual, 5.0, EPS);
		ck_assert_double_eq_tol(rows[k].delivered, adjusted[_i] - 5.0, EPS);
		ck_assert_uint_eq(rows[k].flags, 0);
	}
	ck_assert_int_eq(rows[1].start, at("2024-07-15T22:00:00Z"));
	settle_series_set_destroy(set);
}
END_TEST

/*
 * CAISO BPM for Demand Response sec. 7.1, weekend/holiday 4-in-4: event
 * Saturday 2024-07-13.  The 4 most recent weekend/holiday days are 07-07,
 * 07-06, 07-04 (holiday) and 06-30: (7 + 6 + 4 + 30) / 4 = 11.75.
 */
START_TEST(test_caiso_weekend)
{
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[1];
	settle_baseline_info info;
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	reset_levels();
	g_event_day = settle_test_day(2024, 7, 13);
	g_window = 11.75;
	g_win_from = 10;
	g_win_to = 13;
	g_event = 5.0;
	settle_test_fill(set, "r", settle_test_day(2024, 6, 10), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("caiso-10in10", set, NULL, 3600,
								at("2024-07-13T14:00-07:00"),
								at("2024-07-13T15:00-07:00"), rows, &info, &err),
					 DERMS_OK);
	ck_assert_int_eq(info.ndays, 4);
	ck_assert_double_eq_tol(rows[0].baseline, 11.75, EPS);
	ck_assert_double_eq_tol(rows[0].adjustment, 0.0, EPS);
	ck_assert_double_eq_tol(rows[0].delivered, 6.75, EPS);
	settle_series_set_destroy(set);
}
END_TEST

/*
 * PJM OATT Att. K-Appendix sec. 3.3A.2 / Manual 11 sec. 10, High 4 of 5:
 * event Wednesday 2024-07-17 14:00-16:00 EDT.  The 5 most recent weekdays
 * 07-16, 15, 12, 11, 10 have levels 10, 20, 30, 2, 40; their mean is 20.4
 * and 2 < 25% x 20.4, so 07-11 is a low-usage day, replaced by 07-09 (50).
 * High 4 of {10, 20, 30, 40, 50} = 35.  Symmetric additive adjustment over
 * 10:00-13:00: actual 38 - 35 = +3 -> 38; with 33 it is -2 -> 33.
 */
START_TEST(test_pjm_high4of5)
{
	static const double window[2] = {38.0, 33.0};
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[2];
	settle_baseline_info info;
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	reset_levels();
	g_level_of[16] = 10;
	g_level_of[15] = 20;
	g_level_of[12] = 30;
	g_level_of[11] = 2;
	g_level_of[10] = 40;
	g_level_of[9] = 50;
	g_event_day = settle_test_day(2024, 7, 17);
	g_window = window[_i];
	g_win_from = 10;
	g_win_to = 13;
	g_event = 30.0;
	settle_test_fill(set, "r", settle_test_day(2024, 6, 20), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("pjm-cbl", set, NULL, 3600,
								at("2024-07-17T14:00-04:00"),
								at("2024-07-17T16:00-04:00"), rows, &info, &err),
					 DERMS_OK);
	ck_assert_int_eq(info.ndays, 4);
	ck_assert_int_eq(info.days[0], settle_test_day(2024, 7, 9));
	for (int k = 0; k < 2; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 35.0, EPS);
		ck_assert_double_eq_tol(rows[k].adjustment, window[_i] - 35.0, EPS);
		ck_assert_double_eq_tol(rows[k].delivered, window[_i] - 30.0, EPS);
	}
	settle_series_set_destroy(set);
}
END_TEST

/*
 * PJM Manual 11 sec. 10, Saturday CBL High 2 of 3: event Saturday
 * 2024-07-20; Saturdays 07-13, 07-06, 06-29 at 10, 30, 20 -> (30 + 20) / 2.
 */
START_TEST(test_pjm_saturday)
{
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[1];
	settle_baseline_info info;
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	reset_levels();
	g_level_of[13] = 10;
	g_level_of[6] = 30;
	g_event_day = settle_test_day(2024, 7, 20);
	g_window = 25.0;
	g_win_from = 10;
	g_win_to = 13;
	g_event = 5.0;
	/* 06-29 is level 29 by day of month: override through a special day */
	settle_test_fill(set, "r", settle_test_day(2024, 6, 10), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("pjm-cbl", set, NULL, 3600,
								at("2024-07-20T14:00-04:00"),
								at("2024-07-20T15:00-04:00"), rows, &info, &err),
					 DERMS_OK);
	ck_assert_int_eq(info.ndays, 2);
	ck_assert_double_eq_tol(rows[0].baseline, (30.0 + 29.0) / 2, EPS);
	settle_series_set_destroy(set);
}
END_TEST

/*
 * NYISO EDRP Manual sec. 5, Average Day CBL: event Thursday 2024-07-18
 * 14:00-16:00 EDT.  The window starts two days before (07-16; 07-17 at
 * level 1000 must not count): 07-16, 15, 12, 11, 10, 09, 08, 05, 03, 02
 * (07-04 is a holiday), mean 9.1; days below 25% of it (2.275) are dropped:
 * 07-02, then its replacement 07-01; 06-28 (28) joins.  Highest 5 of
 * {16,15,12,11,10,9,8,5,3,28}: 28+16+15+12+11 = 82 -> 16.4.  Weather-
 * sensitive adjustment over 10:00-12:00 (two hours beginning four hours
 * before): 18.04 / 16.4 = 1.1 -> 18.04; 1 / 16.4 bounded to 0.8 -> 13.12.
 */
START_TEST(test_nyiso_average_day)
{
	static const double window[2] = {18.04, 1.0};
	static const double adjusted[2] = {18.04, 13.12};
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[2];
	settle_baseline_info info;
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	reset_levels();
	g_special[0] = settle_test_day(2024, 7, 17);
	g_special[1] = settle_test_day(2024, 7, 4);
	g_event_day = settle_test_day(2024, 7, 18);
	g_window = window[_i];
	g_win_from = 10;
	g_win_to = 12;
	g_event = 10.0;
	settle_test_fill(set, "r", settle_test_day(2024, 6, 10), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("nyiso-cbl", set, NULL, 3600,
								at("2024-07-18T14:00-04:00"),
								at("2024-07-18T16:00-04:00"), rows, &info, &err),
					 DERMS_OK);
	ck_assert_int_eq(info.ndays, 5);
	for (int k = 0; k < 2; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 16.4, EPS);
		ck_assert_double_eq_tol(rows[k].baseline + rows[k].adjustment,
								adjusted[_i], EPS);
		ck_assert_double_eq_tol(rows[k].delivered, adjusted[_i] - 10.0, EPS);
	}
	settle_series_set_destroy(set);
}
END_TEST

START_TEST(test_not_enough_history)
{
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[1];
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	reset_levels();
	g_event_day = settle_test_day(2024, 7, 17);
	settle_test_fill(set, "r", settle_test_day(2024, 7, 15), g_event_day, 3600,
					 level);
	ck_assert_int_eq(run_method("pjm-cbl", set, NULL, 3600,
								at("2024-07-17T14:00-04:00"),
								at("2024-07-17T15:00-04:00"), rows, NULL, &err),
					 DERMS_ENOTFOUND);
	ck_assert_ptr_nonnull(strstr(err.msg, "not enough history for resource \"r\": 2 eligible"));
	/* and an event after the data */
	ck_assert_int_eq(run_method("pjm-cbl", set, NULL, 3600,
								at("2024-07-18T14:00-04:00"),
								at("2024-07-18T15:00-04:00"), rows, NULL, &err),
					 DERMS_EINVAL);
	ck_assert_ptr_nonnull(strstr(err.msg, "outside the data"));
	settle_series_set_destroy(set);
}
END_TEST

static double
hour_level(int64_t day, int hour)
{
	return day == g_event_day ? hour - (hour >= 14 && hour < 15 ? 1 : 0) : hour;
}

/*
 * Spring forward, 5-minute settlement: Sunday 2024-03-10 in New York has
 * 276 intervals.  PJM Sunday CBL (High 2 of 3 Sundays); each reading's
 * level is its local hour, so the 14:00 EDT baseline must be 14 (the same
 * local clock time on 03-03, 02-25, 02-18), not 13 or 15.
 */
START_TEST(test_spring_forward)
{
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[12];
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	g_event_day = settle_test_day(2024, 3, 10);
	settle_test_fill(set, "r", settle_test_day(2024, 2, 1), g_event_day, 300,
					 hour_level);
	ck_assert_uint_eq(settle_series_find(set, "r")->n,
					  (size_t) (38 * 288 + 276));
	ck_assert_int_eq(run_method("pjm-cbl", set, NULL, 300,
								at("2024-03-10T14:00-04:00"),
								at("2024-03-10T15:00-04:00"), rows, NULL, &err),
					 DERMS_OK);
	for (int k = 0; k < 12; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 14.0, EPS);
		ck_assert_double_eq_tol(rows[k].adjustment, 0.0, EPS);
		ck_assert_double_eq_tol(rows[k].delivered, 1.0, EPS);
	}
	settle_series_set_destroy(set);
}
END_TEST

static double
mgo_level(int64_t day, int hour)
{
	return day == g_event_day ? 50.0 : hour;
}

/*
 * Fall back, 5-minute settlement: Sunday 2024-11-03 in New York has 300
 * intervals and 01:00-02:00 twice.  MGO (CAISO BPM DR sec. 7, 4-in-4 on
 * the device's output for weekends): both 1 AM hours take the local-hour-1
 * baseline of 1 kWh; delivered = output 50 - 1.
 */
START_TEST(test_fall_back_mgo)
{
	settle_series_set *set = settle_series_set_create();
	settle_row	rows[24];
	char		buf[SETTLE_TIME_STRMAX];
	derms_err	err;

	ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
	g_event_day = settle_test_day(2024, 11, 3);
	settle_test_fill(set, "r", settle_test_day(2024, 10, 1), g_event_day, 300,
					 mgo_level);
	ck_assert_int_eq(run_method("mgo", set, NULL, 300,
								at("2024-11-03T05:00:00Z"),
								at("2024-11-03T07:00:00Z"), rows, NULL, &err),
					 DERMS_OK);
	for (int k = 0; k < 24; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 1.0, EPS);
		ck_assert_double_eq_tol(rows[k].delivered, 49.0, EPS);
	}
	settle_fmt_local(rows[0].start, buf);
	ck_assert_str_eq(buf, "2024-11-03T01:00:00-04:00");
	settle_fmt_local(rows[12].start, buf);
	ck_assert_str_eq(buf, "2024-11-03T01:00:00-05:00");
	settle_series_set_destroy(set);
}
END_TEST

/* NAESB WEQ-015 MBMA: the 15 minutes before deployment, held. */
START_TEST(test_mbma)
{
	settle_series_set *set = settle_series_set_create();
	settle_series *s;
	settle_row	rows[6];
	derms_err	err;
	int64_t		t0 = at("2024-07-01T13:00:00Z");

	ck_assert_int_eq(settle_tz_use("UTC", &err), DERMS_OK);
	ck_assert_int_eq(settle_series_get(set, "r", 1, &s, &err), DERMS_OK);
	for (int i = 0; i < 24; i++)
	{
		double		v = i < 9 ? 100.0 : i < 12 ? 8.0 + i - 9 : 4.0;

		ck_assert_int_eq(settle_series_append(s, t0 + i * 300, 300, v, &err),
						 DERMS_OK);
	}
	ck_assert_int_eq(run_method("mbma", set, NULL, 300, t0 + 3600,
								t0 + 3600 + 1800, rows, NULL, &err), DERMS_OK);
	for (int k = 0; k < 6; k++)
	{
		ck_assert_double_eq_tol(rows[k].baseline, 9.0, EPS);	/* 8, 9, 10 */
		ck_assert_double_eq_tol(rows[k].delivered, 5.0, EPS);
	}
	settle_series_set_destroy(set);
}
END_TEST

/* Gaps are estimated and flagged in both the actual and the baseline. */
START_TEST(test_estimated_flags)
{
	settle_series_set *set = settle_series_set_create();
	settle_series *s;
	settle_row	rows[2];
	derms_err	err;
	int64_t		ev = at("2024-07-15T14:00-07:00");

	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	reset_levels();
	g_event_day = settle_test_day(2024, 7, 15);
	g_window = 10.0;
	g_win_from = 10;
	g_win_to = 13;
	g_event = 5.0;
	settle_test_fill(set, "r", settle_test_day(2024, 6, 10), g_event_day, 3600,
					 level);
	s = settle_series_find(set, "r");
	/* the event's first hour, and 15:00 on 07-12 (a like day) */
	s->kwh[(ev - s->t0) / 3600] = NAN;
	s->kwh[(ev + 3600 - 3 * 86400 - s->t0) / 3600] = NAN;
	ck_assert_int_eq(run_method("caiso-10in10", set, NULL, 3600, ev, ev + 7200,
								rows, NULL, &err), DERMS_OK);
	ck_assert_uint_eq(rows[0].flags, SETTLE_F_EST_ACTUAL);
	ck_assert_uint_eq(rows[1].flags, SETTLE_F_EST_BASELINE);
	ck_assert_double_eq_tol(rows[0].actual, (5.0 + 5.0) / 2, EPS);
	settle_series_set_destroy(set);
}
END_TEST

START_TEST(test_method_table)
{
	static const char *names[] = {"caiso-10in10", "pjm-cbl", "nyiso-cbl", "mbma", "mgo"};

	for (size_t i = 0; i < 5; i++)
	{
		const settle_method *m = settle_method_find(names[i]);

		ck_assert_ptr_nonnull(m);
		ck_assert_ptr_nonnull(m->rule);
		ck_assert_ptr_nonnull(strstr(settle_method_names(), names[i]));
		ck_assert_int_le(m->weekday.want_days, SETTLE_MAX_DAYS_USED);
		ck_assert_int_le(m->weekend.want_days, SETTLE_MAX_DAYS_USED);
		ck_assert_int_le(m->weekday.min_days, m->weekday.want_days);
	}
	ck_assert_ptr_null(settle_method_find("caiso"));
}
END_TEST

Suite *
settle_baseline_suite(void)
{
	Suite	   *s = suite_create("settle_baseline");
	TCase	   *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_caiso_10in10, 0, 2);
	tcase_add_test(tc, test_caiso_weekend);
	tcase_add_loop_test(tc, test_pjm_high4of5, 0, 2);
	tcase_add_test(tc, test_pjm_saturday);
	tcase_add_loop_test(tc, test_nyiso_average_day, 0, 2);
	tcase_add_test(tc, test_not_enough_history);
	tcase_add_test(tc, test_spring_forward);
	tcase_add_test(tc, test_fall_back_mgo);
	tcase_add_test(tc, test_mbma);
	tcase_add_test(tc, test_estimated_flags);
	tcase_add_test(tc, test_method_table);
	suite_add_tcase(s, tc);
	return s;
}
