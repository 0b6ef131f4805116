/*
 * protocols/sep2/ctl.c
 *	  dermsctl der program create|list, der control create|list|cancel and
 *	  der responses: the operator's IEEE 2030.5 programs and controls from
 *	  the command line.
 *
 * NOTES
 *	  The options are turned into the JSON the operator API takes and
 *	  checked by the same functions (sep2_program_from_json,
 *	  sep2_control_from_json in derp.c), then written with the same
 *	  statements; the database triggers (curve references) apply to both.
 *	  Every change and its audit_log entry (actor "dermsctl:USER", the
 *	  API's action names) commit in one transaction.  Output is
 *	  key=value for a change and tab-separated rows for a list.
 *	  Changes made here send no subscription Notifications (those are
 *	  made by the API's request path).
 */
#include "ctl.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "protocols/sep2/derp.h"
#include "server/arena.h"
#include "server/cli.h"

const char	sep2_ctl_usage[] =
"der program create --primacy N --scope all|tenant:ID|aggregation:ID|end_device:ID\n"
"                   [--description TEXT] [--default JSON]   a DER program\n"
"  der program list             programs: id, mrid, primacy, scope, description\n"
"  der control create PROGRAM --start UTC|now --duration S --base JSON\n"
"                   [--randomize-start S] [--randomize-duration S] [--description TEXT]\n"
"  der control list PROGRAM     controls: id, mrid, start, duration, cancelled, base\n"
"  der control cancel CONTROL   marks it cancelled (never deleted)\n"
"  der responses CONTROL        device responses: lfdi, status, created, received";

/* Print rows tab-separated (NULL as "-"). */
static void
print_rows(PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++)
		for (int k = 0; k < PQnfields(r); k++)
			printf("%s%c", PQgetisnull(r, i, k) ? "-" : PQgetvalue(r, i, k),
				   k + 1 < PQnfields(r) ? '\t' : '\n');
}

/*
 * Run the write sql, then its audit record, in one transaction; print id=
 * and mrid= of the row written.  missing: the message when the write
 * returns no row.
 */
static int
write_audited(PGconn *c, const char *sql, int n, const char *const *params,
			  const char *action, const char *missing)
{
	PGresult   *r;

	if (!cli_run(c, "BEGIN"))
		return 1;
	if ((r = cli_exec(c, sql, n, params)) == NULL)
		goto fail;
	if (PQntuples(r) == 0)
	{
		cli_fail("%s", missing);
		PQclear(r);
		goto fail;
	}
	if (!cli_audit(c, action, PQgetvalue(r, 0, 0), "{}"))
	{
		PQclear(r);
		goto fail;
	}
	if (!cli_run(c, "COMMIT"))
	{
		PQclear(r);
		return 1;
	}
	printf("id=%s\nmrid=%s\n", PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1));
	PQclear(r);
	return 0;
fail:
	cli_run(c, "ROLLBACK");
	return 1;
}

/* A JSON value from an option: parsed as JSON (an object for --base). */
static json_t *
json_arg(const char *name, const char *text)
{
	json_error_t jerr;
	json_t	   *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);

	if (j == NULL)
		cli_fail("--%s is not JSON: %s", name, jerr.text);
	return j;
}

/* A decimal integer option into *out; false (after saying why) if not. */
static bool
int_arg(const char *name, const char *text, json_int_t *out)
{
	char	   *end;
	long long	v = strtoll(text, &end, 10);

	if (*text == '\0' || *end != '\0')
	{
		cli_fail("--%s must be an integer, not \"%s\"", name, text);
		return false;
	}
	*out = (json_int_t) v;
	return true;
}

static bool
id_arg(const char *what, const char *text)
{
	if (*text == '\0' || strspn(text, "0123456789") != strlen(text) || strlen(text) > 18)
	{
		cli_fail("%s must be an id (digits), not \"%s\"", what, text);
		return false;
	}
	return true;
}

static int
program_create(PGconn *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"primacy", required_argument, NULL, 'p'},
		{"scope", required_argument, NULL, 's'},
		{"description", required_argument, NULL, 'd'},
		{"default", required_argument, NULL, 'D'},
		{NULL, 0, NULL, 0}
	};
	json_t	   *j = json_object();
	json_t	   *scope = json_object();
	arena	   *a = arena_create(0);
	const char *params[7];
	char		mrid[33];
	derms_err	err;
	int			ch, rc = 2;
	json_int_t	v;

	if (j == NULL || scope == NULL || a == NULL)
	{
		cli_fail("out of memory");
		rc = 1;
		goto done;
	}
	json_object_set(j, "scope", scope);
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'p':
				if (!int_arg("primacy", optarg, &v))
					goto done;
				json_object_set_new(j, "primacy", json_integer(v));
				break;
			case 's':
				{
					const char *colon = strchr(optarg, ':');

					json_object_set_new(scope, "kind", colon
										? json_stringn(optarg, (size_t) (colon - optarg))
										: json_string(optarg));
					if (colon)
					{
						if (!int_arg("scope id", colon + 1, &v))
							goto done;
						json_object_set_new(scope, "id", json_integer(v));
					}
				}
				break;
			case 'd':
				json_object_set_new(j, "description", json_string(optarg));
				break;
			case 'D':
				{
					json_t	   *d = json_arg("default", optarg);

					if (d == NULL)
						goto done;
					json_object_set_new(j, "defaultControl", d);
				}
				break;
			default:
				goto done;
		}
	}
	if (optind != argc)
	{
		cli_fail("usage: dermsctl der program create --primacy N --scope KIND[:ID] ...");
		goto done;
	}
	if (sep2_program_from_json(a, j, &params[1], &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		goto done;
	}
	if (!sep2_new_mrid(mrid))
	{
		cli_fail("could not make an mRID");
		rc = 1;
		goto done;
	}
	params[0] = mrid;
	params[6] = "dermsctl";
	rc = write_audited(c, sep2_program_insert_sql, 7, params, "der_program.create",
					   "the program was not made");
done:
	json_decref(scope);
	json_decref(j);
	if (a)
		arena_destroy(a);
	return rc;
}

static int
control_create(PGconn *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"start", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'd'},
		{"randomize-start", required_argument, NULL, 'r'},
		{"randomize-duration", required_argument, NULL, 'R'},
		{"description", required_argument, NULL, 'D'},
		{"base", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0}
	};
	json_t	   *j = json_object();
	arena	   *a = arena_create(0);
	const char *params[9];
	char		mrid[33];
	derms_err	err;
	int			ch, rc = 2;
	json_int_t	v;

	if (j == NULL || a == NULL)
	{
		cli_fail("out of memory");
		rc = 1;
		goto done;
	}
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 's':
				if (strcmp(optarg, "now") == 0)
					v = (json_int_t) time(NULL);
				else if (!int_arg("start", optarg, &v))
					goto done;
				json_object_set_new(j, "start", json_integer(v));
				break;
			case 'd':
			case 'r':
			case 'R':
				{
					const char *key = ch == 'd' ? "duration"
						: ch == 'r' ? "randomizeStart" : "randomizeDuration";

					if (!int_arg(key, optarg, &v))
						goto done;
					json_object_set_new(j, key, json_integer(v));
				}
				break;
			case 'D':
				json_object_set_new(j, "description", json_string(optarg));
				break;
			case 'b':
				{
					json_t	   *b = json_arg("base", optarg);

					if (b == NULL)
						goto done;
					json_object_set_new(j, "base", b);
				}
				break;
			default:
				goto done;
		}
	}
	if (optind != argc - 1 || !id_arg("PROGRAM", argv[optind]))
	{
		cli_fail("usage: dermsctl der control create PROGRAM --start UTC|now --duration S --base JSON");
		goto done;
	}
	if (sep2_control_from_json(a, j, &params[2], &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		goto done;
	}
	if (!sep2_new_mrid(mrid))
	{
		cli_fail("could not make an mRID");
		rc = 1;
		goto done;
	}
	params[0] = argv[optind];
	params[1] = mrid;
	params[8] = "dermsctl";
	rc = write_audited(c, sep2_control_insert_sql, 9, params, "der_control.create",
					   "no such program");
done:
	json_decref(j);
	if (a)
		arena_destroy(a);
	return rc;
}

static int
list(PGconn *c, const char *sql, const char *arg)
{
	const char *p[1] = {arg};
	PGresult   *r = cli_exec(c, sql, arg ? 1 : 0, arg ? p : NULL);

	if (r == NULL)
		return 1;
	print_rows(r);
	PQclear(r);
	return 0;
}

int
sep2_ctl_main(PGconn *c, int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	const char *verb = argc > 2 ? argv[2] : "";

	if (strcmp(what, "program") == 0 && strcmp(verb, "create") == 0)
		return program_create(c, argc - 2, argv + 2);
	if (strcmp(what, "program") == 0 && strcmp(verb, "list") == 0 && argc == 3)
		return list(c, "SELECT id, mrid, primacy, scope_kind || COALESCE(':' || scope_id, ''),"
					" description FROM der_programs ORDER BY id", NULL);
	if (strcmp(what, "control") == 0 && strcmp(verb, "create") == 0)
		return control_create(c, argc - 2, argv + 2);
	if (strcmp(what, "control") == 0 && strcmp(verb, "list") == 0 && argc == 4)
	{
		if (!id_arg("PROGRAM", argv[3]))
			return 2;
		return list(c, "SELECT id, mrid, start_time, duration_s,"
					" CASE WHEN cancelled_at IS NULL THEN 'active' ELSE 'cancelled' END, base"
					" FROM der_controls WHERE program_id = $1 ORDER BY start_time, id", argv[3]);
	}
	if (strcmp(what, "control") == 0 && strcmp(verb, "cancel") == 0 && argc == 4)
	{
		const char *p[1] = {argv[3]};
		PGresult   *r;

		if (!id_arg("CONTROL", argv[3]))
			return 2;
		/* tell "cancelled already" from "no such control", as the API does */
		if ((r = cli_exec(c, "SELECT cancelled_at IS NOT NULL FROM der_controls WHERE id = $1",
						  1, p)) == NULL)
			return 1;
		if (PQntuples(r) == 0 || PQgetvalue(r, 0, 0)[0] == 't')
		{
			cli_fail("control %s %s", argv[3], PQntuples(r) ? "is cancelled already"
					 : "does not exist");
			PQclear(r);
			return 1;
		}
		PQclear(r);
		return write_audited(c, "UPDATE der_controls SET cancelled_at = now() WHERE id = $1"
							 " AND cancelled_at IS NULL RETURNING id, mrid", 1, p,
							 "der_control.cancel", "the control is cancelled already");
	}
	if (strcmp(what, "responses") == 0 && argc == 3)
	{
		if (!id_arg("CONTROL", argv[2]))
			return 2;
		return list(c, "SELECT end_device_lfdi, status, created_time,"
					" extract(epoch FROM received_at)::bigint"
					" FROM der_control_responses WHERE control_id = $1 ORDER BY id", argv[2]);
	}
	fprintf(stderr, "usage:\n  dermsctl %s\n", sep2_ctl_usage);
	return 2;
}
