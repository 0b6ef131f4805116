/*
 * tests/integration/test_dermsim.c
 *	  The device-fleet simulator (tests/bench/dermsim.c) against a real
 *	  dermsd: twenty devices, each with its own certificate, discover,
 *	  register and poll for a few seconds without a single error, and
 *	  every one of them ends up in end_devices.
 *
 * NOTES
 *	  dermsim is a bench program ($DERMS_BUILD/bench/dermsim), which `make
 *	  tests-build` does not build.  When it is missing the test looks in
 *	  build/bench, then runs `make -s bench-build` from the repository root
 *	  (the runner's working directory), and prints SKIP if that fails.
 *	  Without the test cluster (DERMS_TEST_PG) the test prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"
#include "server/identity.h"
#include "tests/suites.h"

#define DERMSIM_DEVICES 20

static it_server srv;

/* Path of a usable dermsim, new; NULL (after a SKIP line) when none. */
static char *
find_dermsim(void)
{
	char	   *path = NULL;

	if (asprintf(&path, "%s/bench/dermsim", test_build_dir()) < 0)
		return NULL;
	if (access(path, X_OK) == 0)
		return path;
	free(path);
	/* another variant's tree, or build it in the default one */
	if (access("build/bench/dermsim", X_OK) != 0 &&
		(access("Makefile", R_OK) != 0 ||
		 it_run("make -s bench-build >/dev/null 2>&1") != 0 ||
		 access("build/bench/dermsim", X_OK) != 0))
	{
		test_skip("dermsim", "dermsim is not built and `make -s bench-build` failed");
		return NULL;
	}
	return strdup("build/bench/dermsim");
}

/* value of " name=" in line as an integer; -1 when absent */
static long long
field(const char *line, const char *name)
{
	char		key[64];
	const char *p;

	snprintf(key, sizeof(key), " %s=", name);
	p = strstr(line, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

/* How many of dermsim's devices have an end_devices row. */
static long
registered_devices(void)
{
	PGconn	   *c = PQconnectdb(srv.conninfo);
	PGresult   *r;
	char		arr[DERMSIM_DEVICES * (IDENTITY_LFDI_HEX_LEN + 1) + 4];
	const char *params[1] = {arr};
	size_t		len = 0;
	long		n = -1;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	arr[len++] = '{';
	for (int i = 0; i < DERMSIM_DEVICES; i++)
	{
		char		path[4096];
		derms_identity id;
		derms_err	err;

		snprintf(path, sizeof(path), "%s/dermsim-%05d.pem", srv.pki, i);
		ck_assert_msg(identity_from_pem_file(path, &id, &err) == DERMS_OK,
					  "%s", err.msg);
		len += (size_t) snprintf(arr + len, sizeof(arr) - len, "%s%s", i ? "," : "", id.lfdi);
	}
	snprintf(arr + len, sizeof(arr) - len, "}");
	r = PQexecParams(c, "SELECT count(DISTINCT lfdi) FROM end_devices"
					 " WHERE lfdi = ANY($1::text[])", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "test_dermsim: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return n;
}

START_TEST(test_dermsim_fleet)
{
	const char *why[1] = {"could not prepare"};
	char	   *sim, *out;
	char		line[2048] = "";
	FILE	   *f;
	int			rc;

	sim = find_dermsim();
	if (sim == NULL)
		return;
	if (!it_prepare(&srv, NULL, why))
	{
		free(sim);
		if (test_pg_conninfo() == NULL)
		{
			test_skip("dermsim", why[0]);
			return;
		}
		ck_abort_msg("harness setup failed: %s", why[0]);
	}
	if (!it_start(&srv))
	{
		it_run("cat '%s' >&2", srv.log);
		ck_abort_msg("dermsd did not become ready");
	}
	ck_assert_int_ge(asprintf(&out, "%s/dermsim.out", srv.dir), 0);
	rc = it_run("'%s' --url https://127.0.0.1:%d --pki '%s' --devices %d --duration 3"
				" --poll-rate 0.5 --register --report-every 1 >'%s' 2>&1",
				sim, srv.sep2_port, srv.pki, DERMSIM_DEVICES, out);
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	{
		char		buf[2048];

		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "bench: dermsim:", 15) == 0)
				snprintf(line, sizeof(line), "%s", buf);
	}
	fclose(f);
	if (rc != 0 || line[0] == '\0' || field(line, "errors") != 0)
	{
		it_run("cat '%s' >&2", out);
		it_run("tail -n 20 '%s' >&2", srv.log);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_msg(line[0] != '\0', "dermsim printed no summary");
	ck_assert_int_eq(field(line, "devices"), DERMSIM_DEVICES);
	ck_assert_int_eq(field(line, "errors"), 0);
	ck_assert_int_gt(field(line, "requests"), 0);
	ck_assert_int_eq(field(line, "registered"), DERMSIM_DEVICES);
	ck_assert_int_eq(field(line, "polling"), DERMSIM_DEVICES);
	/* one full handshake per device: the connections were kept alive */
	ck_assert_int_eq(field(line, "handshakes"), DERMSIM_DEVICES);
	ck_assert_int_eq(registered_devices(), DERMSIM_DEVICES);
	free(out);
	free(sim);
	it_cleanup(&srv);
}
END_TEST

Suite *
dermsim_suite(void)
{
	Suite	   *s = suite_create("dermsim");
	TCase	   *tc = tcase_create("fleet");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dermsim_fleet);
	suite_add_tcase(s, tc);
	return s;
}
