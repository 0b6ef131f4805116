/*
 * tests/protocols/fleet/fixture.h
 *	  A fresh, migrated database per test for the fleet suites, with the
 *	  tenants agg1, agg2 (aggregators) and utility, and the sample fleet of
 *	  the CSV files in tests/data/fleet/ on request.
 *
 * NOTES
 *	  Needs the private cluster of tests/run.sh (DERMS_TEST_PG); without
 *	  it fleet_fx_setup() returns NULL and the test prints SKIP.  The
 *	  database is dropped WITH (FORCE) by fleet_fx_teardown().
 */
#ifndef DERMS_TESTS_FLEET_FIXTURE_H
#define DERMS_TESTS_FLEET_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include <libpq-fe.h>

/* new connection to a new database, or NULL (SKIP printed) without PG */
PGconn	   *fleet_fx_setup(const char *test);
void		fleet_fx_teardown(void);

/* conninfo of the current test database; borrowed */
const char *fleet_fx_conninfo(void);

/* import the sample fleet (feeders ... enrollments); fails the test on error */
void		fleet_fx_import_sample(PGconn *c);

/* run SQL, fail the test unless it succeeds; returns the first value as
 * a malloc'd string ("" when no rows) */
char	   *fleet_fx_sql(PGconn *c, const char *sql);

/* id of the row a single-value query returns */
int64_t		fleet_fx_id(PGconn *c, const char *sql);

#endif							/* DERMS_TESTS_FLEET_FIXTURE_H */
