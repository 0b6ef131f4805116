/*
 * protocols/fleet/ctl.c
 *	  The operator's fleet commands: review enrollment requests, end
 *	  enrollments, bulk import, ISO export, and the fleet as of a time.
 *
 * NOTES
 *	  Runs in dermsctl only.  One arena per command.  Results go to stdout
 *	  as tab-separated rows with a header line; errors to stderr, one line
 *	  each, import errors as "FILE:LINE: FIELD: REASON".
 */
#include "ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enroll.h"
#include "export.h"
#include "import.h"
#include "query.h"
#include "sql.h"
#include "server/cli.h"

const char	fleet_ctl_usage_enroll[] =
	"enroll list [--status S] | approve ID | reject ID --reason TEXT\n"
	"  enroll request --der ID --aggregation ID --from TIME [--to TIME] [--feeder NAME]\n"
	"  enroll remove --der ID --aggregation ID --at TIME";
const char	fleet_ctl_usage_import[] =
	"import [--mode insert|upsert] feeders|markets|aggregations|sites|ders|enrollments FILE.csv";
const char	fleet_ctl_usage_fleet[] =
	"fleet show [--as-of TIME] [--aggregation ID]\n"
	"  fleet export --aggregation ID --out DIR [--as-of TIME] [--allow-below-minimum]";

#define MAX_OPTS 8
#define MAX_POS 4
#define MAX_FLAGS 2

typedef struct args
{
	const char *names[MAX_OPTS];	/* allowed "--name"s, NULL-terminated */
	const char *vals[MAX_OPTS];
	const char *pos[MAX_POS];
	int			npos;
	const char *flags[MAX_FLAGS];	/* allowed "--flag"s without a value */
	bool		set[MAX_FLAGS];
} args;

/* Parse argv[from..] into options (each takes a value) and positionals. */
static bool
parse(args *g, int argc, char **argv, int from)
{
	for (int i = from; i < argc; i++)
	{
		if (strncmp(argv[i], "--", 2) == 0)
		{
			int			k;
			bool		flag = false;

			for (k = 0; k < MAX_FLAGS && g->flags[k]; k++)
				if (strcmp(g->flags[k], argv[i] + 2) == 0)
				{
					g->set[k] = flag = true;
					break;
				}
			if (flag)
				continue;
			for (k = 0; k < MAX_OPTS && g->names[k]; k++)
				if (strcmp(g->names[k], argv[i] + 2) == 0)
					break;
			if (k == MAX_OPTS || g->names[k] == NULL)
			{
				cli_fail("unknown option \"%s\"", argv[i]);
				return false;
			}
			if (i + 1 >= argc)
			{
				cli_fail("option \"%s\" needs a value", argv[i]);
				return false;
			}
			g->vals[k] = argv[++i];
		}
		else if (g->npos < MAX_POS)
			g->pos[g->npos++] = argv[i];
		else
		{
			cli_fail("too many arguments");
			return false;
		}
	}
	return true;
}

static bool
flag(const args *g, const char *name)
{
	for (int k = 0; k < MAX_FLAGS && g->flags[k]; k++)
		if (strcmp(g->flags[k], name) == 0)
			return g->set[k];
	return false;
}

static const char *
opt(const args *g, const char *name)
{
	for (int k = 0; k < MAX_OPTS && g->names[k]; k++)
		if (strcmp(g->names[k], name) == 0)
			return g->vals[k];
	return NULL;
}

static bool
opt_id(const args *g, const char *name, int64_t *out)
{
	const char *v = opt(g, name);

	if (v == NULL || !fleet_sql_parse_id(v, out))
	{
		cli_fail("--%s needs a positive integer id", name);
		return false;
	}
	return true;
}

static void
print_result(PGresult *r)
{
	int			nf = PQnfields(r);

	for (int i = 0; i < nf; i++)
		printf("%s%s", i ? "\t" : "", PQfname(r, i));
	printf("\n");
	for (int row = 0; row < PQntuples(r); row++)
	{
		for (int i = 0; i < nf; i++)
			printf("%s%s", i ? "\t" : "",
				   PQgetisnull(r, row, i) ? "-" : PQgetvalue(r, row, i));
		printf("\n");
	}
}

static int
report(const derms_err *err)
{
	cli_fail("%s", err->msg);
	if (err->detail[0])
		cli_fail("detail: %s", err->detail);
	return 1;
}

/* ---- enroll ---- */

static int
enroll_cmd(PGconn *c, arena *a, int argc, char **argv)
{
	args		g = {{"status", "reason", "der", "aggregation", "at", "from", "to", "feeder"}, {NULL}, {NULL}, 0,
	{NULL}, {false}};
	derms_err	err;
	const char *sub = argc > 1 ? argv[1] : "";
	int64_t		id = 0;

	if (argc < 2 || !parse(&g, argc, argv, 2))
		return 2;
	if (strcmp(sub, "list") == 0)
	{
		PGresult   *r;

		if (fleet_enroll_list(c, a, 0, opt(&g, "status"), 0, &r, &err) != DERMS_OK)
			return report(&err);
		print_result(r);
		return 0;
	}
	if (strcmp(sub, "approve") == 0 || strcmp(sub, "reject") == 0)
	{
		if (g.npos != 1 || !fleet_sql_parse_id(g.pos[0], &id))
		{
			cli_fail("enroll %s needs one request ID", sub);
			return 2;
		}
		if (sub[0] == 'a')
		{
			fleet_enroll_out out;

			if (fleet_enroll_approve(c, a, id, cli_actor(), &out, &err) != DERMS_OK)
			{
				if (out.findings_json)
					cli_fail("findings: %s", out.findings_json);
				return report(&err);
			}
			printf("approved request=%lld warnings=%s\n", (long long) id,
				   out.warnings[0] ? out.warnings : "none");
			return 0;
		}
		if (opt(&g, "reason") == NULL)
		{
			cli_fail("enroll reject needs --reason TEXT");
			return 2;
		}
		if (fleet_enroll_reject(c, a, id, opt(&g, "reason"), cli_actor(), &err) != DERMS_OK)
			return report(&err);
		printf("rejected request=%lld\n", (long long) id);
		return 0;
	}
	if (strcmp(sub, "request") == 0)
	{
		fleet_enroll_in in = {0};
		fleet_enroll_out out;

		if (!opt_id(&g, "der", &in.der_id) || !opt_id(&g, "aggregation", &in.aggregation_id))
			return 2;
		in.feeder = opt(&g, "feeder");
		in.effective_from = opt(&g, "from");
		in.effective_to = opt(&g, "to");
		in.actor = cli_actor();
		if (in.effective_from == NULL)
		{
			cli_fail("enroll request needs --from TIME");
			return 2;
		}
		if (fleet_enroll_request(c, a, &in, &out, &err) != DERMS_OK)
			return report(&err);
		printf("request=%lld failed_checks=%s warnings=%s\nfindings=%s\n", (long long) out.id,
			   out.failed[0] ? out.failed : "none", out.warnings[0] ? out.warnings : "none",
			   out.findings_json);
		return 0;
	}
	if (strcmp(sub, "remove") == 0)
	{
		int64_t		der,
					agg;

		if (!opt_id(&g, "der", &der) || !opt_id(&g, "aggregation", &agg))
			return 2;
		if (opt(&g, "at") == NULL)
		{
			cli_fail("enroll remove needs --at TIME");
			return 2;
		}
		if (fleet_enroll_remove(c, a, der, agg, opt(&g, "at"), cli_actor(), &err) != DERMS_OK)
			return report(&err);
		printf("removed der=%lld aggregation=%lld at=%s\n", (long long) der,
			   (long long) agg, opt(&g, "at"));
		return 0;
	}
	cli_fail("unknown enroll command \"%s\"", sub);
	return 2;
}

/* ---- import ---- */

static char *
read_all(const char *path, size_t *len)
{
	FILE	   *f = fopen(path, "rb");
	struct stat st;
	char	   *buf;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || (buf = malloc((size_t) st.st_size + 1)) == NULL)
	{
		fclose(f);
		return NULL;
	}
	*len = fread(buf, 1, (size_t) st.st_size, f);
	buf[*len] = '\0';
	if (ferror(f))
	{
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int
import_cmd(PGconn *c, arena *a, int argc, char **argv)
{
	args		g = {{"mode"}, {NULL}, {NULL}, 0, {NULL}, {false}};
	fleet_import_result res;
	fleet_import_mode mode = FLEET_IMPORT_INSERT;
	derms_err	err;
	size_t		len = 0;
	char	   *data;
	const char *kind,
			   *file;
	derms_rc	rc;

	if (!parse(&g, argc, argv, 1) || g.npos != 2)
	{
		cli_fail("usage: %s", fleet_ctl_usage_import);
		return 2;
	}
	kind = g.pos[0];
	file = g.pos[1];
	if (opt(&g, "mode") && !fleet_import_parse_mode(opt(&g, "mode"), &mode))
	{
		cli_fail("--mode must be insert or upsert, not \"%s\"", opt(&g, "mode"));
		return 2;
	}
	if (fleet_import_header(a, kind) == NULL)
	{
		cli_fail("unknown import kind \"%s\"", kind);
		return 2;
	}
	if ((data = read_all(file, &len)) == NULL)
	{
		cli_fail("could not read \"%s\": %s", file, strerror(errno));
		return 1;
	}
	rc = fleet_import(c, a, kind, mode, data, len, cli_actor(), file, &res, &err);
	free(data);
	if (rc != DERMS_OK)
	{
		for (size_t i = 0; i < res.nerrors; i++)
			fprintf(stderr, "%s:%ld: %s: %s\n", file, res.errors[i].line,
					res.errors[i].field, res.errors[i].reason);
		return report(&err);
	}
	printf("imported %s=%zu mode=%s\n", kind, res.rows,
		   mode == FLEET_IMPORT_UPSERT ? "upsert" : "insert");
	return 0;
}

/* ---- fleet ---- */

static int
fleet_cmd(PGconn *c, arena *a, int argc, char **argv)
{
	args		g = {{"as-of", "aggregation", "out"}, {NULL}, {NULL}, 0,
	{"allow-below-minimum"}, {false}};
	derms_err	err;
	const char *sub = argc > 1 ? argv[1] : "";
	int64_t		agg = 0;

	if (argc < 2 || !parse(&g, argc, argv, 2) || g.npos != 0)
	{
		cli_fail("usage: %s", fleet_ctl_usage_fleet);
		return 2;
	}
	if (opt(&g, "aggregation") && !opt_id(&g, "aggregation", &agg))
		return 2;
	if (strcmp(sub, "show") == 0)
	{
		PGresult   *r;

		if (fleet_query_as_of(c, a, 0, opt(&g, "as-of"), agg, &r, &err) != DERMS_OK)
			return report(&err);
		print_result(r);
		return 0;
	}
	if (strcmp(sub, "export") == 0)
	{
		fleet_export_result res;

		if (agg == 0 || opt(&g, "out") == NULL)
		{
			cli_fail("fleet export needs --aggregation ID and --out DIR");
			return 2;
		}
		if (fleet_export_aggregation(c, a, agg, opt(&g, "as-of"), opt(&g, "out"),
									 flag(&g, "allow-below-minimum")
									 ? FLEET_EXPORT_ALLOW_BELOW_MIN : 0,
									 cli_actor(), &res, &err) != DERMS_OK)
			return report(&err);
		printf("rows=%zu\nsize_kw=%.3f\nmin_size_kw=%.3f\nbelow_minimum=%s\n"
			   "csv=%s\njson=%s\nmanifest=%s\n", res.rows, res.size_kw, res.min_size_kw,
			   res.below_minimum ? "yes" : "no", res.csv_path, res.json_path,
			   res.manifest_path);
		return 0;
	}
	cli_fail("unknown fleet command \"%s\"", sub);
	return 2;
}

static const struct
{
	const char *name;
	int			(*fn) (PGconn *c, arena *a, int argc, char **argv);
}			fleet_commands[] = {
	{"enroll", enroll_cmd},
	{"import", import_cmd},
	{"fleet", fleet_cmd},
};

int
fleet_ctl_main(PGconn *conn, int argc, char **argv)
{
	arena	   *a;
	int			rc = 2;

	if (argc < 1)
		return 2;
	if ((a = arena_create(0)) == NULL)
	{
		cli_fail("out of memory");
		return 1;
	}
	for (size_t i = 0; i < sizeof(fleet_commands) / sizeof(fleet_commands[0]); i++)
		if (strcmp(argv[0], fleet_commands[i].name) == 0)
			rc = fleet_commands[i].fn(conn, a, argc, argv);
	arena_destroy(a);
	return rc;
}
