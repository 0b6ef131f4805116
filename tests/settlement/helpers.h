/*
 * tests/settlement/helpers.h
 *	  Series builders shared by the settlement suites.
 */
#ifndef DERMS_TESTS_SETTLEMENT_HELPERS_H
#define DERMS_TESTS_SETTLEMENT_HELPERS_H

#include <stdint.h>

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

#endif							/* DERMS_TESTS_SETTLEMENT_HELPERS_H */
