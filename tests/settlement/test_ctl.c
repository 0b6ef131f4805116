/*
 * tests/settlement/test_ctl.c
 *	  "dermsctl settle baseline" end to end: the real program on a small
 *	  CSV, its output, and its errors (exit 2, one line, empty stdout).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/settlement/helpers.h"
#include "tests/suites.h"

/* Two resources, 2024-07-01 .. 07-15 PDT hourly, level 10 + hour / 4 (B one
 * more); A drops to 2 kWh during the 14:00-16:00 event on 07-15, and B's
 * 14:00 reading that day is missing. */
static char *
make_inputs(void)
{
	char	   *dir = test_mkdtemp("settle");
	char		path[512];
	FILE	   *f;

	ck_assert_ptr_nonnull(dir);
	snprintf(path, sizeof(path), "%s/r.csv", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "resource,interval_start,interval_minutes,kwh\n");
	for (int r = 0; r < 2; r++)
		for (int day = 1; day <= 15; day++)
			for (int hour = 0; hour < 24; hour++)
			{
				double		v = 10 + hour / 4.0 + r;

				if (r == 1 && day == 15 && hour == 14)
					continue;
				if (r == 0 && day == 15 && (hour == 14 || hour == 15))
					v = 2;
				fprintf(f, "%c,2024-07-%02dT%02d:00:00-07:00,60,%.2f\n",
						"AB"[r], day, hour, v);
			}
	fclose(f);
	settle_test_write(dir, "bad.csv",
			   "resource,interval_start,interval_minutes,kwh\n"
			   "A,2024-07-01T00:00:00Z,60,1\n"
			   "A,2024-07-01T01:00:00Z,60,one\n");
	settle_test_write(dir, "instr.csv",
			   "resource,interval_start,interval_minutes,kwh\n"
			   "A,2024-07-15T14:00-07:00,60,10\n");
	settle_test_write(dir, "prices.csv",
			   "interval_start,interval_minutes,price_per_mwh\n"
			   "2024-07-15T21:00:00Z,60,50\n"
			   "2024-07-15T22:00:00Z,60,80\n");
	return dir;
}

#define EVENT " --event 2024-07-15T14:00-07:00/2024-07-15T16:00-07:00"

START_TEST(test_end_to_end)
{
	char	   *dir = make_inputs();
	static char out[65536];
	char		errb[4096];
	int			rc;
	int			lines = 0;

	rc = settle_test_ctl(dir, "", "baseline --method caiso-10in10 --input r.csv" EVENT,
					out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_str_eq(errb, "");
	for (char *p = out; *p; p++)
		lines += (*p == '\n');
	ck_assert_int_eq(lines, 1 + 4 + 2);
	ck_assert_ptr_nonnull(strstr(out, "resource,interval_start_utc,interval_start_local,baseline_kwh,"));
	/* 9 like weekdays (07-04 is a holiday), all 13.5 at 14:00 */
	ck_assert_ptr_nonnull(strstr(out,
								 "A,2024-07-15T21:00:00Z,2024-07-15T14:00:00-07:00,13.500000,0.000000,13.500000,2.000000,11.500000,,,,,,,\n"));
	/* B's missing hour: interpolated 14.5, flagged */
	ck_assert_ptr_nonnull(strstr(out,
								 "B,2024-07-15T21:00:00Z,2024-07-15T14:00:00-07:00,14.500000,0.000000,14.500000,14.500000,0.000000,,,,,,,estimated\n"));
	ck_assert_ptr_nonnull(strstr(out,
								 "*total*,2024-07-15T21:00:00Z,2024-07-15T14:00:00-07:00,28.000000,0.000000,28.000000,16.500000,11.500000,,,,,,,estimated\n"));

	rc = settle_test_ctl(dir, "", "baseline --method caiso-10in10 --input r.csv --instruction instr.csv --prices prices.csv" EVENT,
					out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_ptr_nonnull(strstr(out,
								 "A,2024-07-15T21:00:00Z,2024-07-15T14:00:00-07:00,13.500000,0.000000,13.500000,2.000000,11.500000,10.000000,0.000000,1.500000,1.150000,50.000000,0.575000,\n"));
	ck_assert_ptr_nonnull(strstr(out,
								 "A,2024-07-15T22:00:00Z,2024-07-15T15:00:00-07:00,13.750000,0.000000,13.750000,2.000000,11.750000,,,,,80.000000,0.940000,\n"));
	free(dir);
}
END_TEST

static const struct
{
	const char *args;
	const char *want;
}			bad_runs[] = {
	{"baseline --method caiso --input r.csv" EVENT, "unknown method \"caiso\""},
	{"baseline --method caiso-10in10 --input r.csv --tz Mars/Base" EVENT, "--tz: unknown time zone \"Mars/Base\""},
	{"baseline --method caiso-10in10 --input bad.csv" EVENT, "bad.csv line 3: kwh: \"one\""},
	{"baseline --method caiso-10in10 --input missing.csv" EVENT, "could not open \"missing.csv\""},
	{"baseline --method caiso-10in10 --input r.csv --event 2024-08-15T14:00-07:00/2024-08-15T16:00-07:00", "outside the data for resource \"A\""},
	{"baseline --method pjm-cbl --tz America/Los_Angeles --input r.csv --event 2024-07-02T14:00-07:00/2024-07-02T15:00-07:00", "not enough history for resource \"A\""},
	{"baseline --method caiso-10in10 --input r.csv --event 2024-07-15T14:00-07:00", "--event: want START/END"},
	{"baseline --method caiso-10in10 --input r.csv --event 2024-07-15T14:30-07:00/2024-07-15T16:00-07:00", "60-minute interval boundaries"},
	{"baseline --method caiso-10in10 --input r.csv --event 2024-07-14T14:00-07:00/2024-07-15T16:00-07:00", "within one trading day"},
	{"baseline --method caiso-10in10" EVENT, "--input is required"},
	{"baseline --method caiso-10in10 --input r.csv --frobnicate 1" EVENT, "unknown option \"--frobnicate\""},
	{"baseline --method caiso-10in10 --input r.csv --interval 30" EVENT, "--interval: \"30\" is not 5, 15 or 60"},
	{"baseline --method caiso-10in10 --input r.csv --interval 5" EVENT, "has 60-minute data; cannot settle at 5-minute"},
	{"frobnicate", "unknown command \"frobnicate\" (known: baseline, export, import, import-instructions, import-prices, statement)"},
	{"export --iso caiso", "--aggregation is required"},
};

START_TEST(test_bad_runs)
{
	char	   *dir = make_inputs();
	static char out[65536];
	char		errb[4096];
	int			rc;

	rc = settle_test_ctl(dir, "", bad_runs[_i].args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_int_eq(rc, 2);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(errb, bad_runs[_i].want) != NULL, "got \"%s\", want \"%s\"",
				  errb, bad_runs[_i].want);
	ck_assert_msg(strncmp(errb, "dermsctl: settle: ", 18) == 0, "%s", errb);
	/* exactly one line */
	ck_assert_ptr_eq(strchr(errb, '\n'), errb + strlen(errb) - 1);
	free(dir);
}
END_TEST

Suite *
settle_ctl_suite(void)
{
	Suite	   *s = suite_create("settle_ctl");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_end_to_end);
	tcase_add_loop_test(tc, test_bad_runs, 0,
						(int) (sizeof(bad_runs) / sizeof(bad_runs[0])));
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
