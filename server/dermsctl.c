/*
 * server/dermsctl.c
 *	  dermsctl: the operator's command-line tool.
 *
 * NOTES
 *	  One table of commands.  Commands that touch the database take the
 *	  conninfo from the configuration file (-c) or --db, run in one
 *	  transaction, and write an audit_log entry for every change.  Output
 *	  meant for scripts is "key=value" or tab-separated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cli.h"
#include "config.h"
#include "dispatch/ctl.h"
#include "identity.h"
#include "log.h"
#include "migrate.h"
#include "pki.h"
#include "protocols/fleet/ctl.h"
#include "protocols/grid/publish.h"
#include "protocols/openadr/ctl.h"
#include "protocols/sep2/ctl.h"
#include "settlement/ctl.h"
#include "version.h"

typedef struct ctl_opts
{
	const char *config_path;
	const char *conninfo;
	const char *schema_dir;
	derms_config cfg;
	bool		have_cfg;
} ctl_opts;

typedef int (*ctl_fn) (ctl_opts *o, int argc, char **argv);

static int	cmd_migrate(ctl_opts *o, int argc, char **argv);
static int	cmd_pki(ctl_opts *o, int argc, char **argv);
static int	cmd_cert(ctl_opts *o, int argc, char **argv);
static int	cmd_status(ctl_opts *o, int argc, char **argv);
static int	cmd_device(ctl_opts *o, int argc, char **argv);
static int	cmd_dispatch(ctl_opts *o, int argc, char **argv);
static int	cmd_settle(ctl_opts *o, int argc, char **argv);
static int	cmd_fleet(ctl_opts *o, int argc, char **argv);
static int	cmd_vtn(ctl_opts *o, int argc, char **argv);
static int	cmd_der(ctl_opts *o, int argc, char **argv);

static const struct
{
	const char *name;
	ctl_fn		fn;
	const char *usage;
}			commands[] = {
	{"migrate", cmd_migrate, "migrate                      apply pending schema migrations"},
	{"pki", cmd_pki, "pki init [--dir DIR] [--force]\n"
	 "  pki issue-device NAME [--dir DIR]\n"
	 "  pki issue --kind device|aggregator|operator NAME [--dir DIR]"},
	{"cert", cmd_cert, "cert register FILE --role device|aggregator|operator [--tenant NAME]\n"
	 "  cert list\n"
	 "  cert revoke FILE|LFDI [--reason TEXT]"},
	{"status", cmd_status, "status                       database, migrations, certificates, readiness"},
	{"device", cmd_device, "device pin FILE|LFDI PIN     the EndDevice's Registration PIN\n"
	 "  device post-rate FILE|LFDI SECONDS|default"},
	{"dispatch", cmd_dispatch, "dispatch ...                 fleet dispatch (dermsctl dispatch --help)"},
	{"settle", cmd_settle, "settle ...                   settlement (dermsctl settle --help)"},
	{"enroll", cmd_fleet, fleet_ctl_usage_enroll},
	{"import", cmd_fleet, fleet_ctl_usage_import},
	{"fleet", cmd_fleet, fleet_ctl_usage_fleet},
	{"vtn", cmd_vtn, vtn_ctl_usage},
	{"der", cmd_der, sep2_ctl_usage},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	fprintf(out, "Usage: dermsctl [-c FILE] [--db CONNINFO] [--schema DIR] COMMAND ...\n\nCommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %s\n", commands[i].usage);
	fprintf(out, "\n  -c FILE         dermsd configuration (database and schema settings)\n"
			"  --db CONNINFO   libpq connection string (overrides the configuration)\n"
			"  --schema DIR    migrations directory (overrides the configuration)\n");
}

/* ---- database helpers ---- */

static PGconn *
ctl_connect(ctl_opts *o)
{
	const char *ci = o->conninfo;
	PGconn	   *c;

	if (ci == NULL && o->have_cfg)
		ci = o->cfg.db_conninfo;
	if (ci == NULL)
	{
		cli_fail("no database: pass -c FILE or --db CONNINFO");
		return NULL;
	}
	c = PQconnectdb(ci);
	if (PQstatus(c) != CONNECTION_OK)
	{
		cli_fail("could not connect to the database: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* ---- migrate ---- */

static const char *
schema_dir(ctl_opts *o)
{
	if (o->schema_dir)
		return o->schema_dir;
	if (o->have_cfg)
		return o->cfg.db_schema_dir;
	return DERMS_PREFIX "/share/dermsd/schema";
}

static int
cmd_migrate(ctl_opts *o, int argc, char **argv)
{
	PGconn	   *c;
	derms_err	err;
	int			n = 0;

	(void) argv;
	if (argc != 1)
	{
		cli_fail("migrate takes no arguments");
		return 2;
	}
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	if (migrate_apply(c, schema_dir(o), &n, &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		PQfinish(c);
		return 1;
	}
	printf("applied=%d\n", n);
	PQfinish(c);
	return 0;
}

/* ---- pki ---- */

static void
print_issued(const pki_issued *it)
{
	printf("%-16s %-10s %s\n", it->name, pki_kind_name(it->kind), it->cert_path);
	if (it->kind != PKI_CA && it->kind != PKI_SERVER)
		printf("%-16s %-10s LFDI=%s SFDI=%llu\n", "", "", it->id.lfdi,
			   (unsigned long long) it->id.sfdi);
}

static int
cmd_pki(ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"force", no_argument, NULL, 'f'},
		{"kind", required_argument, NULL, 'k'},
		{NULL, 0, NULL, 0}
	};
	const char *dir = "/etc/dermsd/pki";
	const char *kind_s = NULL;
	bool		force = false;
	derms_err	err;
	int			c;

	(void) o;
	if (argc < 2)
	{
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		if (c == 'd')
			dir = optarg;
		else if (c == 'f')
			force = true;
		else if (c == 'k')
			kind_s = optarg;
		else
			return 2;
	}
	if (strcmp(argv[1], "init") == 0)
	{
		pki_result res;

		if (optind != argc)
		{
			cli_fail("pki init takes no positional arguments");
			return 2;
		}
		if (pki_init(dir, force, &res, &err) != DERMS_OK)
		{
			cli_fail("%s", err.msg);
			return err.code == DERMS_EEXIST ? 3 : 1;
		}
		printf("demo PKI created in %s (trust bundle %s)\n", dir, res.trust_path);
		for (int i = 0; i < res.count; i++)
			print_issued(&res.items[i]);
		return 0;
	}
	if (strcmp(argv[1], "issue-device") == 0 || strcmp(argv[1], "issue") == 0)
	{
		pki_kind	kind = PKI_DEVICE;
		pki_issued	it;

		if (strcmp(argv[1], "issue") == 0)
		{
			if (kind_s == NULL)
			{
				cli_fail("pki issue needs --kind device|aggregator|operator");
				return 2;
			}
			if (strcmp(kind_s, "device") == 0)
				kind = PKI_DEVICE;
			else if (strcmp(kind_s, "aggregator") == 0)
				kind = PKI_AGGREGATOR;
			else if (strcmp(kind_s, "operator") == 0)
				kind = PKI_OPERATOR;
			else
			{
				cli_fail("unknown kind \"%s\": use device, aggregator or operator", kind_s);
				return 2;
			}
		}
		if (optind + 1 != argc)
		{
			cli_fail("pki %s needs exactly one NAME", argv[1]);
			return 2;
		}
		if (pki_issue(dir, argv[optind], kind, &it, &err) != DERMS_OK)
		{
			cli_fail("%s", err.msg);
			return 1;
		}
		print_issued(&it);
		return 0;
	}
	cli_fail("unknown pki command \"%s\"", argv[1]);
	return 2;
}

/* ---- cert ---- */

/* Subject and notAfter of the first certificate in a PEM file. */
static bool
cert_details(const char *path, char *subject, size_t slen, char *not_after, size_t nlen)
{
	FILE	   *f = fopen(path, "r");
	X509	   *x;
	const ASN1_TIME *na;
	struct tm	tm;

	if (f == NULL)
		return false;
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL)
		return false;
	X509_NAME_oneline(X509_get_subject_name(x), subject, (int) slen);
	na = X509_get0_notAfter(x);
	if (na && ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(not_after, nlen, "%Y-%m-%d %H:%M:%S+00", &tm);
	else
		not_after[0] = '\0';
	X509_free(x);
	return true;
}

static int
cert_register(ctl_opts *o, const char *file, const char *role, const char *tenant)
{
	derms_identity id;
	derms_err	err;
	char		subject[512], not_after[64], sfdi[32], tenant_id[32] = "";
	PGconn	   *c;
	PGresult   *r;

	if (identity_from_pem_file(file, &id, &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		return 1;
	}
	if (!cert_details(file, subject, sizeof(subject), not_after, sizeof(not_after)))
	{
		cli_fail("could not read certificate \"%s\"", file);
		return 1;
	}
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	if (!cli_run(c, "BEGIN"))
		goto fail;
	if (tenant)
	{
		const char *p[2] = {tenant, strcmp(role, "operator") == 0 ? "utility" : "aggregator"};

		r = cli_exec(c, "INSERT INTO tenants (name, kind) VALUES ($1, $2)"
					 " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id",
					 2, p);
		if (r == NULL)
			goto fail;
		snprintf(tenant_id, sizeof(tenant_id), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	snprintf(sfdi, sizeof(sfdi), "%llu", (unsigned long long) id.sfdi);
	{
		const char *p[7] = {id.fingerprint, id.lfdi, sfdi, role,
			tenant ? tenant_id : NULL, subject, not_after[0] ? not_after : NULL};

		r = cli_exec(c, "INSERT INTO certificates (fingerprint, lfdi, sfdi, role, tenant_id, subject, not_after)"
					 " VALUES ($1, $2, $3, $4, $5, $6, $7)"
					 " ON CONFLICT (fingerprint) DO UPDATE SET role = EXCLUDED.role,"
					 " tenant_id = EXCLUDED.tenant_id RETURNING id, revoked",
					 7, p);
		if (r == NULL)
			goto fail;
		if (PQgetvalue(r, 0, 1)[0] == 't')
			fprintf(stderr, "dermsctl: note: certificate %s is revoked and stays revoked\n", id.lfdi);
		PQclear(r);
	}
	{
		char		detail[256];

		snprintf(detail, sizeof(detail), "{\"role\": \"%s\", \"tenant_id\": %s}", role,
				 tenant ? tenant_id : "null");
		if (!cli_audit(c, "cert.register", id.lfdi, detail))
			goto fail;
	}
	if (!cli_run(c, "COMMIT"))
		goto fail;
	printf("registered LFDI=%s SFDI=%llu role=%s\n", id.lfdi, (unsigned long long) id.sfdi, role);
	PQfinish(c);
	return 0;
fail:
	PQfinish(c);
	return 1;
}

static int
cert_list(ctl_opts *o)
{
	PGconn	   *c;
	PGresult   *r;

	if ((c = ctl_connect(o)) == NULL)
		return 1;
	r = cli_exec(c, "SELECT c.lfdi, c.sfdi, c.role, COALESCE(t.name, '-'),"
				 " CASE WHEN c.revoked THEN 'revoked' ELSE 'valid' END, COALESCE(c.subject, '')"
				 " FROM certificates c LEFT JOIN tenants t ON t.id = c.tenant_id ORDER BY c.id",
				 0, NULL);
	if (r == NULL)
	{
		PQfinish(c);
		return 1;
	}
	printf("LFDI\tSFDI\tROLE\tTENANT\tSTATE\tSUBJECT\n");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%s\t%s\t%s\t%s\t%s\t%s\n", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
			   PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), PQgetvalue(r, i, 4),
			   PQgetvalue(r, i, 5));
	PQclear(r);
	PQfinish(c);
	return 0;
}

/*
 * A certificate file or an LFDI on the command line: the identity, and
 * whether it came from a file.  Returns 0, or the exit code after saying why.
 */
static int
identity_arg(const char *arg, derms_identity *id, bool *from_file)
{
	derms_err	err;

	memset(id, 0, sizeof(*id));
	*from_file = access(arg, R_OK) == 0;
	if (*from_file)
	{
		if (identity_from_pem_file(arg, id, &err) != DERMS_OK)
		{
			cli_fail("%s", err.msg);
			return 1;
		}
		return 0;
	}
	if (!identity_from_lfdi(arg, id))
	{
		cli_fail("\"%s\" is neither a readable certificate file nor a 40-digit LFDI", arg);
		return 2;
	}
	return 0;
}

static int
cert_revoke(ctl_opts *o, const char *arg, const char *reason)
{
	derms_identity id;
	bool		from_file;
	PGconn	   *c;
	PGresult   *r;
	int			n;
	int			rc = identity_arg(arg, &id, &from_file);

	if (rc != 0)
		return rc;
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	if (!cli_run(c, "BEGIN"))
		goto fail;
	{
		const char *p[2] = {id.lfdi, reason};

		r = cli_exec(c, "UPDATE certificates SET revoked = true, revoked_at = now(),"
					 " revoked_reason = $2 WHERE lfdi = $1 AND NOT revoked", 2, p);
		if (r == NULL)
			goto fail;
		n = atoi(PQcmdTuples(r));
		PQclear(r);
	}
	if (n == 0)
	{
		const char *p[1] = {id.lfdi};

		r = cli_exec(c, "SELECT 1 FROM certificates WHERE lfdi = $1", 1, p);
		if (r == NULL)
			goto fail;
		n = PQntuples(r);
		PQclear(r);
		if (n > 0)
		{
			printf("LFDI=%s is already revoked\n", id.lfdi);
			cli_run(c, "ROLLBACK");
			PQfinish(c);
			return 0;
		}
		if (!from_file)
		{
			cli_fail("no certificate with LFDI %s is registered; pass the certificate file to revoke it", id.lfdi);
			goto fail;
		}
		/* not registered yet: record it as a revoked device certificate */
		{
			char		sfdi[32];
			const char *p2[4] = {id.fingerprint, id.lfdi, sfdi, reason};

			snprintf(sfdi, sizeof(sfdi), "%llu", (unsigned long long) id.sfdi);
			r = cli_exec(c, "INSERT INTO certificates (fingerprint, lfdi, sfdi, role, revoked, revoked_at, revoked_reason)"
						 " VALUES ($1, $2, $3, 'device', true, now(), $4)", 4, p2);
			if (r == NULL)
				goto fail;
			PQclear(r);
		}
	}
	if (!cli_audit(c, "cert.revoke", id.lfdi, "{}") || !cli_run(c, "COMMIT"))
		goto fail;
	printf("revoked LFDI=%s\n", id.lfdi);
	PQfinish(c);
	return 0;
fail:
	PQfinish(c);
	return 1;
}

static int
cmd_cert(ctl_opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"role", required_argument, NULL, 'r'},
		{"tenant", required_argument, NULL, 't'},
		{"reason", required_argument, NULL, 'R'},
		{NULL, 0, NULL, 0}
	};
	const char *role = NULL, *tenant = NULL, *reason = "revoked by operator";
	int			c;

	if (argc < 2)
	{
		usage(stderr);
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1)
	{
		if (c == 'r')
			role = optarg;
		else if (c == 't')
			tenant = optarg;
		else if (c == 'R')
			reason = optarg;
		else
			return 2;
	}
	if (strcmp(argv[1], "register") == 0)
	{
		if (optind + 1 != argc || role == NULL)
		{
			cli_fail("usage: cert register FILE --role device|aggregator|operator [--tenant NAME]");
			return 2;
		}
		if (strcmp(role, "device") != 0 && strcmp(role, "aggregator") != 0 &&
			strcmp(role, "operator") != 0)
		{
			cli_fail("unknown role \"%s\": use device, aggregator or operator", role);
			return 2;
		}
		if (strcmp(role, "aggregator") == 0 && tenant == NULL)
		{
			cli_fail("an aggregator certificate needs --tenant NAME");
			return 2;
		}
		return cert_register(o, argv[optind], role, tenant);
	}
	if (strcmp(argv[1], "list") == 0)
		return cert_list(o);
	if (strcmp(argv[1], "revoke") == 0)
	{
		if (optind + 1 != argc)
		{
			cli_fail("usage: cert revoke FILE|LFDI [--reason TEXT]");
			return 2;
		}
		return cert_revoke(o, argv[optind], reason);
	}
	cli_fail("unknown cert command \"%s\"", argv[1]);
	return 2;
}

/* ---- device ---- */

/*
 * dermsctl device pin FILE|LFDI PIN
 * dermsctl device post-rate FILE|LFDI SECONDS|default
 * Both act on a registered EndDevice and are audited.
 */
static int
cmd_device(ctl_opts *o, int argc, char **argv)
{
	derms_identity id;
	bool		from_file;
	const char *params[2];
	const char *sql, *action;
	char		detail[128];
	PGconn	   *c;
	PGresult   *r;
	int			rc;

	if (argc != 4 || (strcmp(argv[1], "pin") != 0 && strcmp(argv[1], "post-rate") != 0))
	{
		cli_fail("usage: device pin FILE|LFDI PIN | device post-rate FILE|LFDI SECONDS|default");
		return 2;
	}
	if ((rc = identity_arg(argv[2], &id, &from_file)) != 0)
		return rc;
	params[0] = id.lfdi;
	params[1] = argv[3];
	if (strcmp(argv[1], "pin") == 0)
	{
		char	   *end;
		unsigned long pin = strtoul(argv[3], &end, 10);

		/* six digits at most, the last one the sum-of-digits check digit */
		if (argv[3][0] == '\0' || *end != '\0' || strspn(argv[3], "0123456789") != strlen(argv[3]) ||
			pin > 999999 || (unsigned long) identity_sfdi_check_digit(pin / 10) != pin % 10)
		{
			cli_fail("PIN \"%s\" is not up to six digits ending in its check digit", argv[3]);
			return 2;
		}
		sql = "UPDATE end_devices SET registration_pin = $2, changed_at = now() WHERE lfdi = $1 RETURNING id";
		action = "end_device.pin";
		snprintf(detail, sizeof(detail), "{}");
	}
	else
	{
		char	   *end;
		long		v = strtol(argv[3], &end, 10);

		if (strcmp(argv[3], "default") == 0)
			params[1] = NULL;
		else if (*end != '\0' || v <= 0 || v > 86400)
		{
			cli_fail("post rate \"%s\" must be 1..86400 seconds or \"default\"", argv[3]);
			return 2;
		}
		sql = "UPDATE end_devices SET post_rate = $2, changed_at = now() WHERE lfdi = $1 RETURNING id";
		action = "end_device.post_rate";
		snprintf(detail, sizeof(detail), "{\"post_rate\": %s}", params[1] ? params[1] : "null");
	}
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	if (!cli_run(c, "BEGIN") || (r = cli_exec(c, sql, 2, params)) == NULL)
	{
		PQfinish(c);
		return 1;
	}
	if (PQntuples(r) == 0)
	{
		PQclear(r);
		PQfinish(c);
		cli_fail("no EndDevice with LFDI %s is registered", id.lfdi);
		return 1;
	}
	PQclear(r);
	if (!cli_audit(c, action, id.lfdi, detail) || !cli_run(c, "COMMIT"))
	{
		PQfinish(c);
		return 1;
	}
	PQfinish(c);
	printf("%s set for LFDI=%s\n", strcmp(argv[1], "pin") == 0 ? "PIN" : "postRate", id.lfdi);
	return 0;
}

/* ---- status ---- */

static void
print_migration(const migrate_info *mi, void *arg)
{
	int		   *pending = arg;

	if (mi->state != MIGRATE_APPLIED)
		(*pending)++;
	printf("migration %s: %s%s%s\n", mi->name, migrate_state_name(mi->state),
		   mi->applied_at ? " at " : "", mi->applied_at ? mi->applied_at : "");
}

/* GET path from the admin listener; the status line and body to stdout. */
static int
admin_get(const derms_config *cfg, const char *path)
{
	struct sockaddr_storage ss;
	socklen_t	sslen;
	char		req[256], buf[4096];
	int			fd;
	size_t		got = 0;
	ssize_t		n;
	struct pollfd pfd;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, cfg->admin.address, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
	{
		((struct sockaddr_in *) &ss)->sin_family = AF_INET;
		((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) cfg->admin.port);
		sslen = sizeof(struct sockaddr_in);
	}
	else if (inet_pton(AF_INET6, cfg->admin.address, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
	{
		((struct sockaddr_in6 *) &ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) cfg->admin.port);
		sslen = sizeof(struct sockaddr_in6);
	}
	else
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *) &ss, sslen) != 0)
	{
		printf("dermsd: not reachable on %s:%d (%s)\n", cfg->admin.address,
			   cfg->admin.port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", path);
	if (write(fd, req, strlen(req)) < 0)
	{
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (got < sizeof(buf) - 1 && poll(&pfd, 1, 5000) > 0 &&
		   (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t) n;
	close(fd);
	buf[got] = '\0';
	{
		char	   *body = strstr(buf, "\r\n\r\n");
		int			code = 0;

		sscanf(buf, "HTTP/1.%*d %d", &code);
		printf("dermsd %s: %d\n%s", path, code, body ? body + 4 : "");
		return code;
	}
}

static int
cmd_status(ctl_opts *o, int argc, char **argv)
{
	PGconn	   *c;
	derms_err	err;
	int			pending = 0;
	int			rc = 0;

	(void) argc;
	(void) argv;
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	printf("database: connected (server %d)\n", PQserverVersion(c));
	if (migrate_status(c, schema_dir(o), print_migration, &pending, &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		rc = 1;
	}
	else
	{
		PGresult   *r = cli_exec(c, "SELECT role, count(*) FILTER (WHERE NOT revoked),"
								 " count(*) FILTER (WHERE revoked) FROM certificates GROUP BY role ORDER BY role",
								 0, NULL);

		for (int i = 0; r && i < PQntuples(r); i++)
			printf("certificates %s: %s valid, %s revoked\n", PQgetvalue(r, i, 0),
				   PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
		if (r)
			PQclear(r);
	}
	if (pending)
		rc = 1;
	PQfinish(c);
	if (o->have_cfg && admin_get(&o->cfg, "/readyz") != 200)
		rc = 1;
	return rc;
}

/* ---- modules with their own command-line front ends ---- */

/* dispatch: offline in dispatch/ctl.c; "run" and "show" on our connection */
static int
cmd_dispatch(ctl_opts *o, int argc, char **argv)
{
	dispatch_run_request rq;
	PGconn	   *c;
	int			rc;

	if (argc < 2 || (strcmp(argv[1], "run") != 0 && strcmp(argv[1], "show") != 0))
		return dispatch_ctl_main(argc, argv);
	memset(&rq, 0, sizeof(rq));
	rq.horizon_h = o->have_cfg ? o->cfg.dispatch_horizon_h : 24;
	rq.offline_s = o->have_cfg ? o->cfg.dispatch_offline_polls * o->cfg.sep2_post_rate_s : 900;
	rq.actor = cli_actor();
	rq.publish = grid_publish_run;
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	rc = dispatch_ctl_db_main(c, &rq, argc, argv);
	PQfinish(c);
	return rc;
}

/* settle: offline; "settle export" audits when a database is given */
static int
cmd_settle(ctl_opts *o, int argc, char **argv)
{
	const char *ci = o->conninfo;

	if (ci == NULL && o->have_cfg)
		ci = o->cfg.db_conninfo;
	return settle_ctl_main(ci, argc, argv);
}

/* enroll, import, fleet: protocols/fleet/ctl.c on our connection */
static int
cmd_fleet(ctl_opts *o, int argc, char **argv)
{
	PGconn	   *c;
	int			rc;

	if ((c = ctl_connect(o)) == NULL)
		return 1;
	rc = fleet_ctl_main(c, argc, argv);
	PQfinish(c);
	return rc;
}

/* der: protocols/sep2/ctl.c */
static int
cmd_der(ctl_opts *o, int argc, char **argv)
{
	PGconn	   *c;
	int			rc;

	if ((c = ctl_connect(o)) == NULL)
		return 1;
	rc = sep2_ctl_main(c, argc, argv);
	PQfinish(c);
	return rc;
}

/* vtn: protocols/openadr/ctl.c; "vtn jwks" needs no database */
static int
cmd_vtn(ctl_opts *o, int argc, char **argv)
{
	PGconn	   *c;
	int			rc;

	if (argc == 3 && strcmp(argv[1], "jwks") == 0)
		return vtn_ctl_jwks(argv[2]);
	if (argc < 2 || (strcmp(argv[1], "client") != 0 && strcmp(argv[1], "mqtt") != 0))
	{
		fprintf(stderr, "usage:\n  dermsctl %s\n", vtn_ctl_usage);
		return 2;
	}
	if ((c = ctl_connect(o)) == NULL)
		return 1;
	rc = vtn_ctl_main(c, argc, argv);
	PQfinish(c);
	return rc;
}

int
main(int argc, char **argv)
{
	ctl_opts	o;
	derms_err	err;
	int			i = 1;
	int			rc;

	memset(&o, 0, sizeof(o));
	log_init("dermsctl");
	log_set_level(LOG_WARNING);	/* results go to stdout */
	while (i < argc && argv[i][0] == '-')
	{
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			o.config_path = argv[i + 1];
		else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
			o.conninfo = argv[i + 1];
		else if (strcmp(argv[i], "--schema") == 0 && i + 1 < argc)
			o.schema_dir = argv[i + 1];
		else if (strcmp(argv[i], "-V") == 0 || strcmp(argv[i], "--version") == 0)
		{
			printf("dermsctl %s\n", DERMS_VERSION);
			return 0;
		}
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
		{
			usage(stdout);
			return 0;
		}
		else
		{
			usage(stderr);
			return 2;
		}
		i += 2;
	}
	if (i >= argc)
	{
		usage(stderr);
		return 2;
	}
	if (o.config_path)
	{
		if (config_load(o.config_path, &o.cfg, &err) != DERMS_OK)
		{
			cli_fail("%s", err.msg);
			return 78;
		}
		o.have_cfg = true;
	}
	for (size_t k = 0; k < NCOMMANDS; k++)
	{
		if (strcmp(argv[i], commands[k].name) == 0)
		{
			rc = commands[k].fn(&o, argc - i, argv + i);
			if (o.have_cfg)
				config_free(&o.cfg);
			return rc;
		}
	}
	cli_fail("unknown command \"%s\"", argv[i]);
	usage(stderr);
	if (o.have_cfg)
		config_free(&o.cfg);
	return 2;
}
