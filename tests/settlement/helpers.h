/*
 * tests/settlement/helpers.h
 *	  Series builders and command-line runners shared by the settlement
 *	  suites.
 */
#ifndef DERMS_TESTS_SETTLEMENT_HELPERS_H
#define DERMS_TESTS_SETTLEMENT_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "settlement/series.h"

/* kWh of one interval, from its local date and local hour */
typedef double (*settle_test_level) (int64_t day, int hour);

/* Append len_s readings for local dates first..last (prevailing zone must
 * be set); the level is looked up per local date and hour. */
void		settle_test_fill(settle_series_set *set, const char *res,
							 int64_t first, int64_t last, int32_t len_s,
							 settle_test_level fn);

/* days since the epoch */
int64_t		settle_test_day(int y, int m, int d);

/* Wh of member r's 5-minute reading at t in the suites' data sets:
 * 1 + r + (t / 300) % 7, so every expected quantity is whole Wh. */
int64_t		settle_test_wh(int r, int64_t t);

/*
 * Run "dermsctl PRE settle ARGS" in dir (pre may be ""); stdout into out
 * and stderr into errb (both NUL-terminated); returns the exit code.
 */
int			settle_test_ctl(const char *dir, const char *pre, const char *args,
							char *out, size_t outsz, char *errb, size_t errsz);

/* Write text to dir/name. */
void		settle_test_write(const char *dir, const char *name, const char *text);

/* The contents of dir/name (dir NULL: name is the path), new and
 * NUL-terminated, its length into *len if given; NULL when absent. */
char	   *settle_test_slurp(const char *dir, const char *name, size_t *len);

/* A connection to the test cluster (DERMS_TEST_PG) with the schema
 * applied; the caller finishes it. */
PGconn	   *settle_test_db(void);

#endif							/* DERMS_TESTS_SETTLEMENT_HELPERS_H */
