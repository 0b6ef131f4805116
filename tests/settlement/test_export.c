/*
 * tests/settlement/test_export.c
 *	  "dermsctl settle export" end to end: the real program on hand-built
 *	  interval data around the 2024 daylight-saving days, its CAISO, PJM,
 *	  ESPI, CSV and JSON files and manifest, reproducibility, estimated
 *	  intervals, bad input, the audit record, and kill -9 mid-export.
 *
 * NOTES
 *	  Readings are 5-minute, 1 + r + (t / 300) % 7 Wh for member r (0..),
 *	  so every expected quantity is an exact integer of Wh.  ESPI is
 *	  checked by splitting the Atom feed into its ESPI documents and
 *	  running xmllint on them against $DERMS_SPEC_DIR/espi/espi.xsd.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "settlement/tz.h"
#include "tests/settlement/helpers.h"
#include "tests/suites.h"

#define NFILES_CAISO 5

/*
 * nres resources "R1".. with 5-minute readings over local days day - 1
 * .. day + 1 in zone; skip_from/skip_n drop R2's readings (gap).
 */
static void
write_readings(const char *dir, const char *name, const char *zone,
			   int64_t day, int nres, int64_t skip_from, int skip_n)
{
	char		path[512];
	FILE	   *f;
	derms_err	err;
	int64_t		t0,
				t1;

	ck_assert_int_eq(settle_tz_use(zone, &err), DERMS_OK);
	t0 = settle_tz_day_start(day - 1);
	t1 = settle_tz_day_start(day + 2);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs("resource,interval_start,interval_minutes,kwh\n", f);
	for (int r = 0; r < nres; r++)
		for (int64_t t = t0; t < t1; t += 300)
		{
			char		ts[SETTLE_TIME_STRMAX];
			int64_t		wh = settle_test_wh(r, t);

			if (r == 1 && t >= skip_from && t < skip_from + 300 * skip_n)
				continue;
			settle_fmt_utc(t, ts);
			fprintf(f, "R%d,%s,5,%d.%03d\n", r + 1, ts, (int) (wh / 1000),
					(int) (wh % 1000));
		}
	fclose(f);
}

static int
count_lines(const char *buf, const char *needle)
{
	int			n = 0;

	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Number of entries in dir not starting with '.', other than "stderr". */
static int
count_files(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *
subdir(const char *dir, const char *name)
{
	char	   *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	ck_assert_int_eq(mkdir(p, 0755), 0);
	return p;
}

static const char *const caiso_files[NFILES_CAISO] = {
	".mris-sqmd.csv", ".espi.xml", ".intervals.csv", ".intervals.json",
	".manifest.json",
};

/* Are the CAISO files of day in a and b byte-identical? */
static void
assert_same_files(const char *a, const char *b, const char *day)
{
	for (int i = 0; i < NFILES_CAISO; i++)
	{
		char		name[128];
		size_t		la,
					lb;
		char	   *x,
				   *y;

		snprintf(name, sizeof(name), "caiso_AGG1_%s%s", day, caiso_files[i]);
		x = settle_test_slurp(a, name, &la);
		y = settle_test_slurp(b, name, &lb);
		ck_assert_msg(x != NULL && y != NULL, "%s missing", name);
		ck_assert_msg(la == lb && memcmp(x, y, la) == 0, "%s differs", name);
		free(x);
		free(y);
	}
}

/* ---- CAISO and PJM layouts on the DST days ---- */

static const struct
{
	const char *day;
	int			y,
				m,
				d;
	int			caiso_rows;
	int			pjm_rows;
	const char *caiso_24;		/* INTERVAL_NUM 24: GMT and PPT ends */
	const char *caiso_25;
}			dst_days[] = {
	{"2024-03-10", 2024, 3, 10, 276, 23,
		",24,2024-03-10T10:00:00Z,2024-03-10T02:00:00-08:00,",
	",25,2024-03-10T10:05:00Z,2024-03-10T03:05:00-07:00,"},
	{"2024-11-03", 2024, 11, 3, 300, 25,
		",24,2024-11-03T09:00:00Z,2024-11-03T02:00:00-07:00,",
	",25,2024-11-03T09:05:00Z,2024-11-03T01:05:00-08:00,"},
	{"2024-07-17", 2024, 7, 17, 288, 24,
		",24,2024-07-17T09:00:00Z,2024-07-17T02:00:00-07:00,",
	",25,2024-07-17T09:05:00Z,2024-07-17T02:05:00-07:00,"},
};

START_TEST(test_caiso_layout)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char		args[1024];
	char		name[128];
	char		want[256];
	char	   *csv;
	int64_t		day = settle_days_from_civil(dst_days[_i].y, dst_days[_i].m,
											 dst_days[_i].d);
	derms_err	err;
	int64_t		t;
	int			rc;

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 3, 0, 0);
	settle_test_write(dir, "m.csv", "aggregation,resource\nAGG1,R1\nAGG1,R3\nAGG2,R2\n");
	ck_assert_int_eq(mkdir(strcat(strcpy(args, dir), "/out"), 0755), 0);
	snprintf(args, sizeof(args), "export --iso caiso --aggregation AGG1 --day %s "
			 "--input r.csv --members m.csv --out out", dst_days[_i].day);
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_ptr_nonnull(strstr(errb, "no audit record written"));
	ck_assert_ptr_nonnull(strstr(out, "exported iso=caiso aggregation=AGG1"));
	snprintf(args, sizeof(args), "%s/out", dir);
	ck_assert_int_eq(count_files(args), NFILES_CAISO);
	snprintf(name, sizeof(name), "caiso_AGG1_%s.mris-sqmd.csv", dst_days[_i].day);
	csv = settle_test_slurp(args, name, NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_msg(strncmp(csv, "RESOURCE_ID,MEASUREMENT_TYPE,UOM,INTERVAL_LENGTH,"
						  "TRADE_DATE,INTERVAL_NUM,INTERVAL_END_GMT,"
						  "INTERVAL_END_PPT,VALUE,ESTIMATED\n", 111) == 0, "%.120s", csv);
	ck_assert_int_eq(count_lines(csv, "\nAGG1,LOAD,MWH,5,"), dst_days[_i].caiso_rows);
	ck_assert_int_eq(count_lines(csv, ",N\n"), dst_days[_i].caiso_rows);
	ck_assert_msg(strstr(csv, dst_days[_i].caiso_24) != NULL, "%s", dst_days[_i].caiso_24);
	ck_assert_msg(strstr(csv, dst_days[_i].caiso_25) != NULL, "%s", dst_days[_i].caiso_25);
	/* first interval: R1 + R3 in MWh */
	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	t = settle_tz_day_start(day);
	snprintf(want, sizeof(want), "AGG1,LOAD,MWH,5,%s,1,", dst_days[_i].day);
	ck_assert_ptr_nonnull(strstr(csv, want));
	snprintf(want, sizeof(want), ",0.%06d,N\n", (int) (settle_test_wh(0, t) + settle_test_wh(2, t)));
	ck_assert_msg(strstr(csv, want) != NULL, "want %s", want);
	free(csv);
	free(dir);
}
END_TEST

START_TEST(test_pjm_layout)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char		args[1024];
	char		name[128];
	char	   *csv;
	int64_t		day = settle_days_from_civil(dst_days[_i].y, dst_days[_i].m,
											 dst_days[_i].d);
	int			rc;

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "r.csv", "America/New_York", day, 2, 0, 0);
	snprintf(args, sizeof(args), "%s/out", dir);
	ck_assert_int_eq(mkdir(args, 0755), 0);
	snprintf(args, sizeof(args), "export --iso pjm --aggregation AGG1 --day %s "
			 "--input r.csv --resources R2,R1 --out out", dst_days[_i].day);
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	snprintf(args, sizeof(args), "%s/out", dir);
	snprintf(name, sizeof(name), "pjm_AGG1_%s.pjm-hourly.csv", dst_days[_i].day);
	csv = settle_test_slurp(args, name, NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_int_eq(count_lines(csv, "\nA,AGG1,,"), dst_days[_i].pjm_rows);
	ck_assert_int_eq(count_lines(csv, "\nR,AGG1,R1,"), dst_days[_i].pjm_rows);
	ck_assert_int_eq(count_lines(csv, "\nR,AGG1,R2,"), dst_days[_i].pjm_rows);
	ck_assert_int_eq(count_lines(csv, "\n"), 1 + 3 * dst_days[_i].pjm_rows);
	ck_assert_int_eq(count_lines(csv, ",HE01,0,"), 3);
	ck_assert_int_eq(count_lines(csv, ",HE24,0,"), 3);
	if (dst_days[_i].pjm_rows == 25)
	{
		ck_assert_int_eq(count_lines(csv, ",HE02*,1,"), 3);
		ck_assert_ptr_nonnull(strstr(csv, "A,AGG1,,2024-11-03,HE02,0,2024-11-03T02:00:00-04:00,2024-11-03T06:00:00Z,"));
		ck_assert_ptr_nonnull(strstr(csv, "A,AGG1,,2024-11-03,HE02*,1,2024-11-03T02:00:00-05:00,2024-11-03T07:00:00Z,"));
	}
	else
		ck_assert_int_eq(count_lines(csv, ",1,"), 0);
	if (dst_days[_i].pjm_rows == 23)
		ck_assert_ptr_null(strstr(csv, ",HE03,"));
	else
		ck_assert_int_eq(count_lines(csv, ",HE03,0,"), 3);
	/* one hour of the aggregation: 12 five-minute readings of R1 and R2 */
	{
		derms_err	err;
		int64_t		t0,
					wh = 0;
		char		want[128];

		ck_assert_int_eq(settle_tz_use("America/New_York", &err), DERMS_OK);
		t0 = settle_tz_day_start(day);
		for (int k = 0; k < 12; k++)
			wh += settle_test_wh(0, t0 + 300 * k) + settle_test_wh(1, t0 + 300 * k);
		const char *line = strstr(csv, "\nA,AGG1,,") + 1;
		const char *eol = strchr(line, '\n') + 1;

		snprintf(want, sizeof(want), ",0.%06d,0\n", (int) wh);
		ck_assert_msg(strncmp(line + 19, "HE01,0,", 7) == 0, "%.80s", line);
		ck_assert_msg((size_t) (eol - line) > strlen(want) &&
					  strncmp(eol - strlen(want), want, strlen(want)) == 0,
					  "want %s in %.80s", want, line);
	}
	free(csv);
	free(dir);
}
END_TEST

/* ---- ESPI against espi.xsd ---- */

/* Write every ESPI document inside atom:content of feed to dir/docN.xml;
 * returns how many. */
static int
split_espi(const char *feed, size_t len, const char *dir)
{
	xmlDocPtr	doc = xmlReadMemory(feed, (int) len, "espi.xml", NULL,
									XML_PARSE_NONET);
	xmlNodePtr	root;
	int			n = 0;

	ck_assert_ptr_nonnull(doc);
	root = xmlDocGetRootElement(doc);
	ck_assert_str_eq((const char *) root->name, "feed");
	for (xmlNodePtr e = root->children; e; e = e->next)
	{
		if (e->type != XML_ELEMENT_NODE || strcmp((const char *) e->name, "entry") != 0)
			continue;
		for (xmlNodePtr c = e->children; c; c = c->next)
		{
			if (c->type != XML_ELEMENT_NODE || strcmp((const char *) c->name, "content") != 0)
				continue;
			for (xmlNodePtr x = c->children; x; x = x->next)
			{
				xmlDocPtr	nd;
				char		path[512];

				if (x->type != XML_ELEMENT_NODE)
					continue;
				ck_assert_str_eq((const char *) x->ns->href, "http://naesb.org/espi");
				nd = xmlNewDoc(BAD_CAST "1.0");
				xmlDocSetRootElement(nd, xmlDocCopyNode(x, nd, 1));
				snprintf(path, sizeof(path), "%s/doc%03d.xml", dir, n++);
				ck_assert_int_gt(xmlSaveFile(path, nd), 0);
				xmlFreeDoc(nd);
			}
		}
	}
	xmlFreeDoc(doc);
	return n;
}

static int
xmllint(const char *xsd, const char *files)
{
	char		cmd[4096];
	int			st;

	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet --schema '%.1000s' %.1000s >%.1000s.log 2>&1",
			 xsd, files, files);
	st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

START_TEST(test_espi_valid)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char		xsd[1024];
	char		path[1024];
	char	   *feed;
	char	   *docs;
	char	   *outdir;
	size_t		len;
	int			rc;
	int			n;
	int64_t		day = settle_days_from_civil(2024, 11, 3);

	ck_assert_ptr_nonnull(dir);
	snprintf(xsd, sizeof(xsd), "%s/espi/espi.xsd", test_spec_dir());
	if (access(xsd, R_OK) != 0)
	{
		test_skip("settle_export ESPI validation", "espi.xsd not found under DERMS_SPEC_DIR");
		free(dir);
		return;
	}
	if (system("command -v xmllint >/dev/null 2>&1") != 0)
	{
		test_skip("settle_export ESPI validation", "xmllint not installed");
		free(dir);
		return;
	}
	/* a gap, so ReadingQuality appears too */
	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &(derms_err) {0}), DERMS_OK);
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 2,
				   settle_tz_day_start(day) + 3600, 2);
	outdir = subdir(dir, "out");
	rc = settle_test_ctl(dir, "", "export --iso caiso --aggregation AGG1 --day 2024-11-03 "
					"--input r.csv --out out --allow-estimated --method mbma "
					"--event 2024-11-03T14:00-08:00/2024-11-03T15:00-08:00",
					out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	feed = settle_test_slurp(outdir, "caiso_AGG1_2024-11-03.espi.xml", &len);
	ck_assert_ptr_nonnull(feed);
	/* 2 usage points + the aggregation, 300 readings each */
	ck_assert_int_eq(count_lines(feed, "<IntervalReading>"), 3 * 300);
	ck_assert_int_eq(count_lines(feed, "<quality>9</quality>"), 2 * 2);
	docs = subdir(dir, "docs");
	n = split_espi(feed, len, docs);
	/* ReadingType + 3 x (UsagePoint, MeterReading, IntervalBlock) */
	ck_assert_int_eq(n, 10);
	snprintf(path, sizeof(path), "%s/doc*.xml", docs);
	rc = xmllint(xsd, path);
	ck_assert_msg(rc == 0, "xmllint failed (%d); see %s.log", rc, path);
	/* the check can fail: an IntervalReading with its value first */
	settle_test_write(docs, "bad.xml",
			   "<IntervalBlock xmlns=\"http://naesb.org/espi\"><IntervalReading>"
			   "<value>1</value><timePeriod><duration>300</duration>"
			   "<start>0</start></timePeriod></IntervalReading></IntervalBlock>\n");
	snprintf(path, sizeof(path), "%s/bad.xml", docs);
	ck_assert_int_ne(xmllint(xsd, path), 0);
	free(feed);
	free(docs);
	free(outdir);
	free(dir);
}
END_TEST

/* ---- totals, reproducibility ---- */

/* "12.345" kWh -> Wh */
static int64_t
parse_kwh(const char *s)
{
	long		w,
				f;

	ck_assert_int_eq(sscanf(s, "%ld.%3ld", &w, &f), 2);
	return w * 1000 + (s[0] == '-' ? -f : f);
}

START_TEST(test_totals_sum_of_members)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char	   *outdir;
	char	   *csv;
	char	   *man;
	int64_t		day = settle_days_from_civil(2024, 7, 17);
	int64_t		agg[300] = {0},
				sum[300] = {0},
				total = 0;
	int			naggrows = 0;
	int			rc;
	char		line[512];
	FILE	   *f;

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 4, 0, 0);
	settle_test_write(dir, "m.csv", "aggregation,resource\nAGG1,R4\nAGG1,R1\nAGG1,R2\nAGGX,R3\n");
	outdir = subdir(dir, "out");
	rc = settle_test_ctl(dir, "", "export --iso caiso --aggregation AGG1 --day 2024-07-17 "
					"--input r.csv --members m.csv --out out",
					out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	csv = settle_test_slurp(outdir, "caiso_AGG1_2024-07-17.intervals.csv", NULL);
	ck_assert_ptr_nonnull(csv);
	f = fmemopen(csv, strlen(csv), "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_str_eq(line, "level,resource,aggregation,interval_start_utc,interval_end_utc,"
					 "kwh,baseline_kwh,delivered_kwh,estimated,baseline_estimated,"
					 "instructed_kwh,price_per_mwh,value\n");
	for (int i = 0; fgets(line, sizeof(line), f) != NULL; i++)
	{
		char	   *fld[13];
		char	   *p = line;

		for (int j = 0; j < 13; j++)
			fld[j] = strsep(&p, ",");
		ck_assert_ptr_nonnull(fld[12]);
		ck_assert_str_eq(fld[2], "AGG1");
		ck_assert_str_ne(fld[1], "R3");
		if (strcmp(fld[0], "aggregation") == 0)
		{
			agg[naggrows++] = parse_kwh(fld[5]);
			total += parse_kwh(fld[5]);
		}
		else
			sum[i % 288] += parse_kwh(fld[5]);
	}
	fclose(f);
	ck_assert_int_eq(naggrows, 288);
	for (int k = 0; k < 288; k++)
		ck_assert_msg(agg[k] == sum[k] && agg[k] > 0, "interval %d: %ld != %ld", k,
					  (long) agg[k], (long) sum[k]);
	man = settle_test_slurp(outdir, "caiso_AGG1_2024-07-17.manifest.json", NULL);
	ck_assert_ptr_nonnull(man);
	snprintf(line, sizeof(line), "\"totals\":{\"aggregation\":{\"kwh\":%ld.%03ld,",
			 (long) (total / 1000), (long) (total % 1000));
	ck_assert_msg(strstr(man, line) != NULL, "want %s", line);
	ck_assert_ptr_nonnull(strstr(man, "\"members\":[\"R1\",\"R2\",\"R4\"]"));
	ck_assert_ptr_nonnull(strstr(man, "\"estimated\":{\"count\":0,"));
	free(man);
	free(csv);
	free(outdir);
	free(dir);
}
END_TEST

START_TEST(test_reproducible)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char	   *a,
			   *b,
			   *other;
	char		args[1024];
	int64_t		day = settle_days_from_civil(2024, 11, 3);
	int			rc;

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 3, 0, 0);
	settle_test_write(dir, "m.csv", "aggregation,resource\nAGG1,R1\nAGG1,R2\nAGG1,R3\n");
	settle_test_write(dir, "p.csv", "interval_start,interval_minutes,price_per_mwh\n"
			   "2024-11-03T14:00-08:00,60,42.5\n");
	a = subdir(dir, "a");
	b = subdir(dir, "b");
	other = subdir(dir, "other");
	for (int i = 0; i < 2; i++)
	{
		snprintf(args, sizeof(args), "export --iso caiso --aggregation AGG1 "
				 "--day 2024-11-03 --input r.csv --members m.csv --prices p.csv "
				 "--method mbma --event 2024-11-03T14:00-08:00/2024-11-03T15:00-08:00 "
				 "--out %s", i ? "b" : "a");
		rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
		ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	}
	assert_same_files(a, b, "2024-11-03");
	/* the same inputs from another directory and path */
	snprintf(args, sizeof(args), "cp %s/r.csv %s/m.csv %s/p.csv %s/", dir, dir, dir, other);
	ck_assert_int_eq(system(args), 0);
	snprintf(args, sizeof(args), "export --iso caiso --aggregation AGG1 "
			 "--day 2024-11-03 --input other/r.csv --members other/m.csv "
			 "--prices other/p.csv --method mbma "
			 "--event 2024-11-03T14:00-08:00/2024-11-03T15:00-08:00 --out other");
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	assert_same_files(a, other, "2024-11-03");
	/* the event shows up: baseline, delivered, price and value */
	{
		char	   *csv = settle_test_slurp(a, "caiso_AGG1_2024-11-03.intervals.csv", NULL);

		ck_assert_ptr_nonnull(csv);
		ck_assert_ptr_nonnull(strstr(csv, ",2024-11-03T22:00:00Z,2024-11-03T22:05:00Z,"));
		ck_assert_int_eq(count_lines(csv, ",42.500000,"), 4 * 12);
		free(csv);
	}
	free(a);
	free(b);
	free(other);
	free(dir);
}
END_TEST

/* ---- estimated intervals ---- */

START_TEST(test_estimated_then_actual)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char	   *outdir,
			   *ref;
	char	   *csv;
	char	   *man;
	int64_t		day = settle_days_from_civil(2024, 3, 10);
	derms_err	err;
	int			rc;
	const char *args = "export --iso caiso --aggregation AGG1 --day 2024-03-10 "
		"--input r.csv --out out";

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_eq(settle_tz_use("America/Los_Angeles", &err), DERMS_OK);
	/* R2 misses 3 readings from 08:00 PDT */
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 2,
				   settle_tz_day_start(day) + 7 * 3600, 3);
	outdir = subdir(dir, "out");
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_int_eq(rc, 2);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(errb, "3 member intervals of aggregation \"AGG1\" on 2024-03-10 are estimated") != NULL, "%s", errb);
	ck_assert_ptr_nonnull(strstr(errb, "--allow-estimated"));
	ck_assert_int_eq(count_files(outdir), 0);

	rc = settle_test_ctl(dir, "", "export --iso caiso --aggregation AGG1 --day 2024-03-10 "
					"--input r.csv --out out --allow-estimated",
					out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_ptr_nonnull(strstr(out, " estimated=3 "));
	csv = settle_test_slurp(outdir, "caiso_AGG1_2024-03-10.mris-sqmd.csv", NULL);
	ck_assert_ptr_nonnull(csv);
	ck_assert_int_eq(count_lines(csv, ",Y\n"), 3);
	ck_assert_ptr_nonnull(strstr(csv, ",2024-03-10T15:05:00Z,2024-03-10T08:05:00-07:00,"));
	free(csv);
	man = settle_test_slurp(outdir, "caiso_AGG1_2024-03-10.manifest.json", NULL);
	ck_assert_ptr_nonnull(man);
	ck_assert_ptr_nonnull(strstr(man, "\"estimated\":{\"count\":3,\"allowed\":true,"));
	ck_assert_ptr_nonnull(strstr(man, "{\"resource\":\"R2\",\"interval_start_utc\":\"2024-03-10T15:00:00Z\"}"));
	ck_assert_ptr_nonnull(strstr(man, "{\"resource\":\"R2\",\"interval_start_utc\":\"2024-03-10T15:10:00Z\"}"));
	free(man);

	/* the actual data arrives: re-export replaces every file */
	write_readings(dir, "r.csv", "America/Los_Angeles", day, 2, 0, 0);
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_ptr_nonnull(strstr(out, " estimated=0 "));
	ck_assert_int_eq(count_files(outdir), NFILES_CAISO);
	csv = settle_test_slurp(outdir, "caiso_AGG1_2024-03-10.mris-sqmd.csv", NULL);
	ck_assert_int_eq(count_lines(csv, ",Y\n"), 0);
	ck_assert_int_eq(count_lines(csv, ",N\n"), 276);
	free(csv);
	ref = subdir(dir, "ref");
	rc = settle_test_ctl(dir, "", "export --iso caiso --aggregation AGG1 --day 2024-03-10 "
					"--input r.csv --out ref", out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	assert_same_files(outdir, ref, "2024-03-10");
	free(ref);
	free(outdir);
	free(dir);
}
END_TEST

/* ---- bad input ---- */

static const struct
{
	const char *args;
	const char *want;
}			bad_exports[] = {
	{"--iso caiso --aggregation NOPE --day 2024-11-03 --input r.csv --members m.csv --out out",
	"unknown aggregation \"NOPE\" (not in m.csv)"},
	{"--iso caiso --aggregation AGG1 --day 2024-12-25 --input r.csv --members m.csv --out out",
	"no data for aggregation \"AGG1\" on 2024-12-25"},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input ooo.csv --out out",
	"ooo.csv line 3: interval_start: out-of-order interval for resource \"R1\""},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --out out --tz America/New_York",
	"--tz: caiso trading days are in America/Los_Angeles, not \"America/New_York\""},
	{"--iso generic --aggregation AGG1 --day 2024-11-03 --input r.csv --out out --tz Mars/Base",
	"--tz: unknown time zone \"Mars/Base\""},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --out missing/out",
	"could not use output directory \"missing/out\""},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --out r.csv",
	"output \"r.csv\" is not a directory"},
	{"--iso ercot --aggregation AGG1 --day 2024-11-03 --input r.csv --out out",
	"--iso: unknown ISO \"ercot\""},
	{"--iso caiso --aggregation AGG1 --day 2024-11-31 --input r.csv --out out",
	"--day: invalid date \"2024-11-31\""},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --out out --method mbma",
	"--method and --event go together"},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --resources R1,R9 --out out",
	"no data for resource \"R9\" of aggregation \"AGG1\""},
	{"--iso caiso --aggregation AGG1,AGG2 --day 2024-11-03 --input r.csv --out out",
	"several aggregations need --members"},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input r.csv --out out --interval 60 --method caiso-10in10 --event 2024-11-02T14:00-07:00/2024-11-02T15:00-07:00",
	"--event must lie within trading day 2024-11-03"},
	{"--iso caiso --aggregation AGG1 --day 2024-11-03 --input missing.csv --out out",
	"could not open \"missing.csv\""},
};

START_TEST(test_bad_exports)
{
	char	   *dir = test_mkdtemp("settle-x");
	static char out[8192];
	char		errb[4096];
	char		args[1024];
	char	   *outdir;
	int			rc;

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "r.csv", "America/Los_Angeles",
				   settle_days_from_civil(2024, 11, 3), 2, 0, 0);
	settle_test_write(dir, "m.csv", "aggregation,resource\nAGG1,R1\nAGG1,R2\n");
	settle_test_write(dir, "ooo.csv", "resource,interval_start,interval_minutes,kwh\n"
			   "R1,2024-11-03T08:05:00Z,5,1\nR1,2024-11-03T08:00:00Z,5,1\n");
	outdir = subdir(dir, "out");
	snprintf(args, sizeof(args), "export %s", bad_exports[_i].args);
	rc = settle_test_ctl(dir, "", args, out, sizeof(out), errb, sizeof(errb));
	ck_assert_int_eq(rc, 2);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(errb, bad_exports[_i].want) != NULL, "got \"%s\", want \"%s\"",
				  errb, bad_exports[_i].want);
	ck_assert_msg(strncmp(errb, "dermsctl: settle: ", 18) == 0, "%s", errb);
	ck_assert_ptr_eq(strchr(errb, '\n'), errb + strlen(errb) - 1);
	ck_assert_int_eq(count_files(outdir), 0);
	free(outdir);
	free(dir);
}
END_TEST

/* ---- the audit record ---- */

START_TEST(test_audit)
{
	const char *ci = test_pg_conninfo();
	char	   *dir;
	static char out[8192];
	char		errb[4096];
	char		pre[1024];
	char		sha[65];
	const char *p;
	const char *params[1];
	PGconn	   *c;
	PGresult   *r;
	int			rc;

	if (ci == NULL)
	{
		test_skip("settle_export audit", "DERMS_TEST_PG not set");
		return;
	}
	c = settle_test_db();
	dir = test_mkdtemp("settle-x");
	write_readings(dir, "r.csv", "America/New_York",
				   settle_days_from_civil(2024, 11, 3), 2, 0, 0);
	free(subdir(dir, "out"));
	snprintf(pre, sizeof(pre), "--db '%s'", ci);
	rc = settle_test_ctl(dir, pre, "export --iso pjm --aggregation AUD1 --day 2024-11-03 "
					"--input r.csv --out out", out, sizeof(out), errb, sizeof(errb));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, errb);
	ck_assert_ptr_null(strstr(errb, "no audit record"));
	p = strstr(out, " sha256=");
	ck_assert_ptr_nonnull(p);
	memcpy(sha, p + 8, 64);
	sha[64] = '\0';
	ck_assert_ptr_null(strstr(out, "audit=none"));
	params[0] = sha;
	r = PQexecParams(c, "SELECT object, detail->>'day', detail->>'aggregation', "
					 "detail->>'manifest' FROM audit_log WHERE action = 'settle.export' "
					 "AND detail->>'manifest_sha256' = $1", 1, NULL, params, NULL, NULL, 0);
	ck_assert_int_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	ck_assert_int_eq(PQntuples(r), 1);
	ck_assert_str_eq(PQgetvalue(r, 0, 0), "AUD1/2024-11-03");
	ck_assert_str_eq(PQgetvalue(r, 0, 1), "2024-11-03");
	ck_assert_str_eq(PQgetvalue(r, 0, 2), "AUD1");
	ck_assert_str_eq(PQgetvalue(r, 0, 3), "pjm_AUD1_2024-11-03.manifest.json");
	PQclear(r);
	/* the sha256 named is the manifest's */
	{
		char		cmd[1024];
		char		got[128] = "";
		FILE	   *f;

		snprintf(cmd, sizeof(cmd), "sha256sum %s/out/pjm_AUD1_2024-11-03.manifest.json", dir);
		f = popen(cmd, "r");
		ck_assert_ptr_nonnull(f);
		ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
		pclose(f);
		ck_assert_int_eq(strncmp(got, sha, 64), 0);
	}
	PQfinish(c);
	free(dir);
}
END_TEST

/* ---- kill -9 mid-export ---- */

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Is there a hidden temporary in dir? */
static bool
has_temp(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	bool		found = false;

	if (d == NULL)
		return false;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") != NULL)
			found = true;
	closedir(d);
	return found;
}

/* Start dermsctl exporting big.csv into out (in dir); returns the pid. */
static pid_t
spawn_export(const char *dir, const char *outname)
{
	char		prog[1024];
	pid_t		pid;

	snprintf(prog, sizeof(prog), "%s/dermsctl", test_build_dir());
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
	{
		int			fd;

		if (chdir(dir) != 0)
			_exit(126);
		fd = open("child.log", O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0)
		{
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(prog, "dermsctl", "settle", "export", "--iso", "caiso",
			  "--aggregation", "AGG1", "--day", "2024-11-03", "--input", "big.csv",
			  "--out", outname, (char *) NULL);
		_exit(127);
	}
	return pid;
}

START_TEST(test_kill9)
{
	char	   *dir = test_mkdtemp("settle-x");
	char	   *ref;
	double		t0,
				full;
	int			st;
	pid_t		pid;
	unsigned	seed = (unsigned) time(NULL);

	ck_assert_ptr_nonnull(dir);
	write_readings(dir, "big.csv", "America/Los_Angeles",
				   settle_days_from_civil(2024, 11, 3), 300, 0, 0);
	ref = subdir(dir, "ref");
	t0 = now_ms();
	pid = spawn_export(dir, "ref");
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	full = now_ms() - t0;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "reference export failed");
	ck_assert_int_eq(count_files(ref), NFILES_CAISO);
	printf("settle_export kill9: full export %.0f ms, seed %u\n", full, seed);
	srand(seed);
	for (int it = 0; it < 10; it++)
	{
		char		name[32];
		char	   *kd;
		double		u = (double) rand() / RAND_MAX;

		/* even iterations: anywhere in the run; odd ones: while writing */
		int			delay = (int) (it % 2 ? 80 * u : full * u);
		int			present = 0;
		int			temps = 0;
		DIR		   *d;
		struct dirent *de;

		snprintf(name, sizeof(name), "k%d", it);
		kd = subdir(dir, name);
		pid = spawn_export(dir, name);
		if (it % 2)
		{
			/* wait for the first temporary to appear, then a little */
			double		until = now_ms() + 10 * full;

			while (!has_temp(kd) && now_ms() < until)
				usleep(500);
		}
		usleep((useconds_t) delay * 1000);
		kill(pid, SIGKILL);
		ck_assert_int_eq(waitpid(pid, &st, 0), pid);
		/* every file under a final name is complete: equal to the reference */
		d = opendir(kd);
		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d)) != NULL)
		{
			size_t		la,
						lb;
			char	   *a,
					   *b;

			if (de->d_name[0] == '.')
			{
				/* ".", "..", or a hidden temporary: never a final name */
				temps += strstr(de->d_name, ".tmp.") != NULL;
				continue;
			}
			a = settle_test_slurp(kd, de->d_name, &la);
			b = settle_test_slurp(ref, de->d_name, &lb);
			ck_assert_msg(b != NULL, "unexpected file %s", de->d_name);
			ck_assert_msg(a != NULL && la == lb && memcmp(a, b, la) == 0,
						  "iteration %d (kill after %d ms): %s is partial",
						  it, delay, de->d_name);
			present++;
			free(a);
			free(b);
		}
		closedir(d);
		/* the manifest is written last: with it, every file is there */
		{
			char	   *m = settle_test_slurp(kd, "caiso_AGG1_2024-11-03.manifest.json", NULL);

			if (m != NULL)
				ck_assert_int_eq(present, NFILES_CAISO);
			free(m);
		}
		printf("settle_export kill9: iteration %d killed %d ms after %s: %d complete files, %d hidden temporaries\n",
			   it, delay, it % 2 ? "the first temporary" : "the start", present, temps);
		free(kd);
	}
	free(ref);
	free(dir);
}
END_TEST

Suite *
settle_export_suite(void)
{
	Suite	   *s = suite_create("settle_export");
	TCase	   *tc = tcase_create("core");
	TCase	   *tk = tcase_create("kill9");

	tcase_add_loop_test(tc, test_caiso_layout, 0,
						(int) (sizeof(dst_days) / sizeof(dst_days[0])));
	tcase_add_loop_test(tc, test_pjm_layout, 0,
						(int) (sizeof(dst_days) / sizeof(dst_days[0])));
	tcase_add_test(tc, test_espi_valid);
	tcase_add_test(tc, test_totals_sum_of_members);
	tcase_add_test(tc, test_reproducible);
	tcase_add_test(tc, test_estimated_then_actual);
	tcase_add_loop_test(tc, test_bad_exports, 0,
						(int) (sizeof(bad_exports) / sizeof(bad_exports[0])));
	tcase_add_test(tc, test_audit);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tcase_add_test(tk, test_kill9);
	tcase_set_timeout(tk, 120);
	suite_add_tcase(s, tk);
	return s;
}
