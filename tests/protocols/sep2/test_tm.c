/*
 * tests/protocols/sep2/test_tm.c
 *	  Tests for protocols/sep2/tm.c: offsets and this year's daylight-saving
 *	  transitions per zone, against instants computed independently
 *	  (Python's zoneinfo), and the document against sep.xsd.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "protocols/sep2/tm.h"
#include "tests/suites.h"

static const struct
{
	const char *zone;
	time_t		probe;			/* an instant in 2026 */
	int32_t		tz_offset;
	int32_t		dst_offset;
	int64_t		dst_start;
	int64_t		dst_end;
	int			in_dst;			/* is probe inside daylight saving */
}			zones[] = {
	/* 2026-03-08 10:00Z and 2026-11-01 09:00Z; probe 2026-07-01 12:00Z */
	{"America/Los_Angeles", 1782907200, -28800, 3600, 1772964000, 1793523600, 1},
	/* southern hemisphere: DST ends in April, starts in October */
	{"Australia/Sydney", 1782907200, 36000, 3600, 1791043200, 1775318400, 0},
	{"Europe/London", 1767268800, 0, 3600, 1774746000, 1792890000, 0},
	{"Asia/Kolkata", 1782907200, 19800, 0, 0, 0, 0},
	{"UTC", 1782907200, 0, 0, 0, 0, 0},
};

START_TEST(test_zone)
{
	sep2_time	t;

	setenv("TZ", zones[_i].zone, 1);
	tzset();
	sep2_time_at(zones[_i].probe, &t);
	ck_assert_int_eq(t.current, zones[_i].probe);
	ck_assert_int_eq(t.tz_offset, zones[_i].tz_offset);
	ck_assert_int_eq(t.dst_offset, zones[_i].dst_offset);
	ck_assert_int_eq(t.dst_start, zones[_i].dst_start);
	ck_assert_int_eq(t.dst_end, zones[_i].dst_end);
	ck_assert_int_eq(t.local, zones[_i].probe + zones[_i].tz_offset +
					 (zones[_i].in_dst ? zones[_i].dst_offset : 0));
	/* one second before and at the start of DST */
	if (zones[_i].dst_start)
	{
		sep2_time_at((time_t) zones[_i].dst_start - 1, &t);
		ck_assert_int_eq(t.local, zones[_i].dst_start - 1 + zones[_i].tz_offset);
		sep2_time_at((time_t) zones[_i].dst_start, &t);
		ck_assert_int_eq(t.local, zones[_i].dst_start + zones[_i].tz_offset +
						 zones[_i].dst_offset);
	}
	unsetenv("TZ");
	tzset();
}
END_TEST

START_TEST(test_document_valid)
{
	char		doc[512], xsd[1024], file[] = "/tmp/sep2_tm_XXXXXX";
	sep2_time	t;
	struct stat st;
	int			fd, n, rc;
	char		cmd[2048];

	setenv("TZ", "America/Los_Angeles", 1);
	tzset();
	sep2_time_at(1782907200, &t);
	n = sep2_time_format(doc, sizeof(doc), &t, 900);
	ck_assert_int_gt(n, 0);
	ck_assert_ptr_nonnull(strstr(doc, "<tzOffset>-28800</tzOffset>"));
	ck_assert_ptr_nonnull(strstr(doc, "<dstOffset>3600</dstOffset>"));
	ck_assert_ptr_nonnull(strstr(doc, "<dstStartTime>1772964000</dstStartTime>"));
	unsetenv("TZ");
	tzset();

	snprintf(xsd, sizeof(xsd), "%s/sep2/sep.xsd", test_spec_dir());
	if (stat(xsd, &st) != 0)
	{
		test_skip("Time document against sep.xsd", "spec file not found");
		return;
	}
	fd = mkstemp(file);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, doc, (size_t) n), n);
	close(fd);
	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet --schema '%s' '%s' 2>/dev/null", xsd, file);
	rc = system(cmd);
	unlink(file);
	ck_assert_msg(rc == 0, "Time document not valid against sep.xsd: %s", doc);
}
END_TEST

Suite *
sep2_tm_suite(void)
{
	Suite	   *s = suite_create("sep2_tm");
	TCase	   *tc = tcase_create("time");

	tcase_add_loop_test(tc, test_zone, 0, (int) (sizeof(zones) / sizeof(zones[0])));
	tcase_add_test(tc, test_document_valid);
	suite_add_tcase(s, tc);
	return s;
}
