/*
 * tests/integration/test_dermsim.c
 *	  The device-fleet simulator (tests/bench/dermsim.c) against a real
 *	  dermsd: twenty devices, each with its own certificate, discover,
 *	  register and poll for a few seconds without a single error, and
 *	  every one of them ends up in end_devices.  With --der, the same
 *	  fleet finds its DER programs, answers a short control made before the
 *	  run (received, started, completed) and one the operator makes in a
 *	  new program while it runs (received, started), and reports DER status, availability
 *	  and telemetry; the database shows every device's Responses.
 *
 * NOTES
 *	  dermsim is a bench program ($DERMS_BUILD/bench/dermsim), which `make
 *	  tests-build` does not build.  When it is missing the test builds it
 *	  into the same tree (`make BUILD=$DERMS_BUILD .../bench/dermsim` from
 *	  the repository root, the runner's working directory), and prints SKIP
 *	  if that fails.
 *	  Without the test cluster (DERMS_TEST_PG) the test prints SKIP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "harness.h"
#include "server/identity.h"
#include "server/pki.h"
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
	/* not built yet: build it into the same tree as the tests */
	if (access("Makefile", R_OK) != 0 ||
		it_run("make -s BUILD='%s' '%s' >/dev/null 2>&1", test_build_dir(), path) != 0 ||
		access(path, X_OK) != 0)
	{
		free(path);
		test_skip("dermsim", "dermsim is not built and `make BUILD=... bench/dermsim` failed");
		return NULL;
	}
	return path;
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

/* The LFDIs of dermsim's devices as a text[] literal into arr. */
static void
fleet_lfdis(char *arr, size_t size)
{
	size_t		len = 0;

	arr[len++] = '{';
	for (int i = 0; i < DERMSIM_DEVICES; i++)
	{
		char		path[4096];
		derms_identity id;
		derms_err	err;

		snprintf(path, sizeof(path), "%s/dermsim-%05d.pem", srv.pki, i);
		ck_assert_msg(identity_from_pem_file(path, &id, &err) == DERMS_OK,
					  "%s", err.msg);
		len += (size_t) snprintf(arr + len, size - len, "%s%s", i ? "," : "", id.lfdi);
	}
	snprintf(arr + len, size - len, "}");
}

/* The first column of sql's first row as a number ($1: the fleet's LFDIs). */
static long
fleet_count(const char *sql)
{
	PGconn	   *c = PQconnectdb(srv.conninfo);
	PGresult   *r;
	char		arr[DERMSIM_DEVICES * (IDENTITY_LFDI_HEX_LEN + 1) + 4];
	const char *params[1] = {arr};
	long		n = -1;

	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	fleet_lfdis(arr, sizeof(arr));
	r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) == PGRES_TUPLES_OK)
		n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	else
		fprintf(stderr, "test_dermsim: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return n;
}

/* How many of dermsim's devices have an end_devices row. */
static long
registered_devices(void)
{
	return fleet_count("SELECT count(DISTINCT lfdi) FROM end_devices"
					   " WHERE lfdi = ANY($1::text[])");
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

/* POST JSON to the operator API; the status, and "id" into *id. */
static long
api_post(const char *path, const char *body, long *id)
{
	it_response r = it_https(&srv, srv.vtn_port, "POST", path, "operator-demo",
							 IT_TLS_DEFAULT, "application/json", body);
	long		st = r.status;
	const char *p = strstr(r.body, "\"id\":");

	if (id && p)
		*id = strtol(p + 5, NULL, 10);
	if (st >= 400)
		fprintf(stderr, "API POST %s: %ld %s\n", path, st, r.body);
	it_response_free(&r);
	return st;
}

START_TEST(test_dermsim_der)
{
	const char *why[1] = {"could not prepare"};
	char	   *sim, *out, *done;
	char		line[4096] = "", path[256], body[256], q[512];
	long		prog, prog2, c_short, c_late;
	FILE	   *f;

	sim = find_dermsim();
	if (sim == NULL)
		return;
	if (!it_prepare(&srv, "[vtn]\nca_file = pki/trust.pem\n", why))
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
	/* the fleet's certificates now, so that each device has a battery DER */
	for (int i = 0; i < DERMSIM_DEVICES; i++)
	{
		pki_issued	is;
		derms_err	err;
		char		name[32];

		snprintf(name, sizeof(name), "dermsim-%05d", i);
		ck_assert_msg(pki_issue(srv.pki, name, PKI_DEVICE, &is, &err) == DERMS_OK, "%s", err.msg);
	}
	ck_assert_int_eq(fleet_count("WITH ins AS (INSERT INTO der_resources (kind, lfdi)"
								 " SELECT 'battery', unnest($1::text[]) RETURNING 1)"
								 " SELECT count(*) FROM ins"), DERMSIM_DEVICES);
	/* a program for all, with a control that ends during the run */
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":10,\"scope\":{\"kind\":\"all\"}}", &prog), 201);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":8,"
			 "\"base\":{\"opModTargetW\":{\"multiplier\":0,\"value\":2000}}}",
			 (long long) time(NULL));
	ck_assert_int_eq(api_post(path, body, &c_short), 201);

	ck_assert_int_ge(asprintf(&out, "%s/dermsim.out", srv.dir), 0);
	ck_assert_int_ge(asprintf(&done, "%s/dermsim.done", srv.dir), 0);
	ck_assert_int_eq(it_run("('%s' --url https://127.0.0.1:%d --pki '%s' --devices %d --duration 14"
							" --poll-rate 2 --der --der-poll-rate 0.5 --post-rate 1 --register"
							" --report-every 0 >'%s' 2>&1; echo $? >'%s') &",
							sim, srv.sep2_port, srv.pki, DERMSIM_DEVICES, out, done), 0);
	/*
	 * While it runs, the operator makes another control, in a second
	 * program (in the same one it would supersede the first).
	 */
	sleep(3);
	ck_assert_int_eq(api_post("/api/v1/der-programs",
							  "{\"primacy\":20,\"scope\":{\"kind\":\"all\"}}", &prog2), 201);
	snprintf(path, sizeof(path), "/api/v1/der-programs/%ld/controls", prog2);
	snprintf(body, sizeof(body), "{\"start\":%lld,\"duration\":3600,"
			 "\"base\":{\"opModMaxLimW\":5000}}", (long long) time(NULL));
	ck_assert_int_eq(api_post(path, body, &c_late), 201);
	ck_assert_msg(IT_WAIT(access(done, R_OK) == 0, 60000), "dermsim did not finish");

	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	{
		char		buf[4096];

		while (fgets(buf, sizeof(buf), f))
			if (strncmp(buf, "bench: dermsim:", 15) == 0)
				snprintf(line, sizeof(line), "%s", buf);
	}
	fclose(f);
	if (line[0] == '\0' || field(line, "errors") != 0 ||
		field(line, "rsp_completed") != DERMSIM_DEVICES)
	{
		it_run("cat '%s' >&2", out);
		it_run("tail -n 20 '%s' >&2", srv.log);
	}
	ck_assert_msg(line[0] != '\0', "dermsim printed no summary");
	ck_assert_int_eq(field(line, "errors"), 0);
	ck_assert_int_eq(field(line, "registered"), DERMSIM_DEVICES);
	ck_assert_int_eq(field(line, "with_der"), DERMSIM_DEVICES);
	/* both controls reached every device, and every device answered */
	ck_assert_int_ge(field(line, "controls"), 2 * DERMSIM_DEVICES);
	ck_assert_int_ge(field(line, "rsp_received"), 2 * DERMSIM_DEVICES);
	ck_assert_int_ge(field(line, "rsp_started"), 2 * DERMSIM_DEVICES);
	ck_assert_int_eq(field(line, "rsp_completed"), DERMSIM_DEVICES);
	ck_assert_int_gt(field(line, "ders"), 0);
	ck_assert_int_gt(field(line, "dera"), 0);
	ck_assert_int_gt(field(line, "mmr"), 0);
	for (int k = 0; k < 2; k++)
		for (int st = 1; st <= 3; st++)
		{
			long		want = (k == 1 && st == 3) ? 0 : DERMSIM_DEVICES;

			snprintf(q, sizeof(q), "SELECT count(DISTINCT end_device_lfdi) FROM der_control_responses"
					 " WHERE control_id = %ld AND status = %d AND end_device_lfdi = ANY($1::text[])",
					 k ? c_late : c_short, st);
			ck_assert_msg(fleet_count(q) == want, "control %d status %d: %ld devices, not %ld",
						  k, st, fleet_count(q), want);
		}
	/* status, availability and telemetry are in the database */
	ck_assert_int_eq(fleet_count("SELECT count(DISTINCT d.lfdi) FROM der_reports r"
								 " JOIN der_resources d ON d.id = r.der_id WHERE r.resource = 'status'"
								 " AND d.lfdi = ANY($1::text[])"), DERMSIM_DEVICES);
	ck_assert_int_eq(fleet_count("SELECT count(DISTINCT d.lfdi) FROM der_reports r"
								 " JOIN der_resources d ON d.id = r.der_id"
								 " WHERE r.resource = 'availability' AND d.lfdi = ANY($1::text[])"),
					 DERMSIM_DEVICES);
	ck_assert_int_ge(fleet_count("SELECT count(*) FROM readings WHERE $1::text[] IS NOT NULL"),
					 2 * DERMSIM_DEVICES);
	free(out);
	free(done);
	free(sim);
	it_cleanup(&srv);
}
END_TEST

Suite *
dermsim_suite(void)
{
	Suite	   *s = suite_create("dermsim");
	TCase	   *tc = tcase_create("fleet");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_dermsim_fleet);
	tcase_add_test(tc, test_dermsim_der);
	suite_add_tcase(s, tc);
	return s;
}
