/*
 * tests/settlement/helpers.c
 *	  Series builders and command-line runners shared by the settlement
 *	  suites.
 */
#include "tests/settlement/helpers.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "server/migrate.h"
#include "settlement/tz.h"
#include "tests/suites.h"

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

int64_t
settle_test_wh(int r, int64_t t)
{
	return 1 + r + (t / 300) % 7;
}

int
settle_test_ctl(const char *dir, const char *pre, const char *args, char *out,
				size_t outsz, char *errb, size_t errsz)
{
	char		cmd[4096];
	char		errpath[512];
	FILE	   *p;
	FILE	   *e;
	size_t		n;
	int			st;

	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	snprintf(cmd, sizeof(cmd), "cd %s && \"%s/dermsctl\" %s settle %s 2>stderr",
			 dir, test_build_dir(), pre, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	st = pclose(p);
	e = fopen(errpath, "r");
	ck_assert_ptr_nonnull(e);
	n = fread(errb, 1, errsz - 1, e);
	errb[n] = '\0';
	fclose(e);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void
settle_test_write(const char *dir, const char *name, const char *text)
{
	char		path[512];
	FILE	   *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

char *
settle_test_slurp(const char *dir, const char *name, size_t *len)
{
	char		path[1024];
	FILE	   *f;
	char	   *buf;
	long		n;

	if (dir != NULL)
		snprintf(path, sizeof(path), "%s/%s", dir, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t) n + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
	buf[n] = '\0';
	fclose(f);
	if (len != NULL)
		*len = (size_t) n;
	return buf;
}

PGconn *
settle_test_db(void)
{
	PGconn	   *c = PQconnectdb(test_pg_conninfo());
	derms_err	err;

	ck_assert_int_eq(PQstatus(c), CONNECTION_OK);
	ck_assert_msg(migrate_apply(c, "schema", NULL, &err) == DERMS_OK, "migrate: %s",
				  err.msg);
	return c;
}
