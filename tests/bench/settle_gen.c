/*
 * tests/bench/settle_gen.c
 *	  Writes the settlement benchmark's interval data: N resources x D days
 *	  of 5-minute readings ending on the event day, as settle CSV.
 *
 *	  settle_gen OUT.csv RESOURCES DAYS
 *
 * NOTES
 *	  Trading days are in America/New_York; the last day is 2024-07-17 (a
 *	  Wednesday), so 11 days hold 7 like weekdays for the PJM CBL.  Loads
 *	  are deterministic (a daily shape plus per-resource noise).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "settlement/tz.h"

int
main(int argc, char **argv)
{
	FILE	   *f;
	long		nres,
				ndays;
	int64_t		last = settle_days_from_civil(2024, 7, 17);
	int64_t		t0,
				t1;
	static char buf[1 << 20];
	derms_err	err;

	if (argc != 4 || (nres = atol(argv[2])) <= 0 || (ndays = atol(argv[3])) <= 0)
	{
		fprintf(stderr, "usage: settle_gen OUT.csv RESOURCES DAYS\n");
		return 2;
	}
	if (settle_tz_use("America/New_York", &err) != DERMS_OK)
	{
		fprintf(stderr, "settle_gen: %s\n", err.msg);
		return 1;
	}
	t0 = settle_tz_day_start(last - ndays + 1);
	t1 = settle_tz_day_start(last + 1);
	f = fopen(argv[1], "w");
	if (f == NULL)
	{
		perror(argv[1]);
		return 1;
	}
	setvbuf(f, buf, _IOFBF, sizeof(buf));
	fputs("resource,interval_start,interval_minutes,kwh\n", f);
	for (long r = 0; r < nres; r++)
	{
		uint32_t	x = (uint32_t) r * 2654435761u + 1;

		for (int64_t t = t0; t < t1; t += 300)
		{
			char		ts[SETTLE_TIME_STRMAX];
			int			hod = (int) ((t / 3600 + 20) % 24);
			double		v;

			x = x * 1103515245u + 12345u;
			v = 0.5 + (hod >= 9 && hod < 20 ? 1.0 : 0.3) + (x >> 16) % 1000 / 4000.0;
			settle_fmt_utc(t, ts);
			fprintf(f, "meter-%05ld,%s,5,%.3f\n", r, ts, v);
		}
	}
	if (fclose(f) != 0)
	{
		perror(argv[1]);
		return 1;
	}
	return 0;
}
