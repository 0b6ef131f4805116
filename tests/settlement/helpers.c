/*
 * tests/settlement/helpers.c
 *	  Series builders shared by the settlement suites.
 */
#include "tests/settlement/helpers.h"

#include <check.h>
#include <string.h>

#include "settlement/tz.h"

int64_t
settle_test_day(int y, int m, int d)
{
	return settle_days_from_civil(y, m, d);
}

void
settle_test_fill(settle_series_set *set, const char *res, int64_t first,
				 int64_t last, int32_t len_s, settle_test_level fn)
{
	settle_series *s;
	derms_err	err;
	int64_t		t0 = settle_tz_day_start(first);
	int64_t		t1 = settle_tz_day_start(last + 1);

	ck_assert_int_eq(settle_series_get(set, res, strlen(res), &s, &err),
					 DERMS_OK);
	for (int64_t t = t0; t < t1; t += len_s)
	{
		int64_t		lt = t + settle_tz_offset(t);
		int64_t		day = settle_tz_local_day(t);
		int			hour = (int) ((lt - day * 86400) / 3600);

		ck_assert_int_eq(settle_series_append(s, t, len_s, fn(day, hour),
											  &err), DERMS_OK);
		set->nreadings++;
	}
}
