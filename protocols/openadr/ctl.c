/*
 * protocols/openadr/ctl.c
 *	  dermsctl vtn client create|list|revoke, vtn jwks, and vtn mqtt sync.
 *
 * NOTES
 *	  create prints client_id= and client_secret= once; only the secret's
 *	  hash is stored.  Every change is audited in the same transaction.
 */
#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "auth.h"
#include "jwt.h"
#include "notifiers.h"
#include "server/cli.h"
#include "server/pki.h"

const char	vtn_ctl_usage[] =
"vtn client create --name NAME --role bl|ven [--tenant AGGREGATOR] [--scopes \"S ...\"]\n"
"                             an OAuth2 client; prints client_id and client_secret once\n"
"vtn client list             clients, roles, tenants, scopes, revocation\n"
"vtn client revoke CLIENT_ID its tokens stop working within sep2.identity_cache_s\n"
"vtn jwks KEY.pem            the public JWKS of a token signing key\n"
"vtn mqtt sync --pki DIR --broker DIR\n"
"                             MQTT broker certificates for every client, the\n"
"                             broker's ACL from the vens, and a broker reload";

static bool
run(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult   *r = cli_exec(c, sql, n, p);

	PQclear(r);
	return r != NULL;
}

/* The audit record of a change; detail is stolen. */
static bool
audit(PGconn *c, const char *action, const char *object, json_t *detail)
{
	char	   *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	bool		ok = cli_audit(c, action, object, d ? d : "{}");

	free(d);
	json_decref(detail);
	return ok;
}

static int
client_create(PGconn *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"role", required_argument, NULL, 'r'},
		{"tenant", required_argument, NULL, 't'},
		{"scopes", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0}
	};
	const char *name = NULL;
	const char *role = NULL;
	const char *tenant = NULL;
	const char *scopes_arg = NULL;
	unsigned	rbit;
	unsigned	scopes;
	char		id[64];
	char		secret[VTN_SECRET_LEN + 1];
	char		hash[VTN_SECRET_HASH_MAX];
	char		arr[256];
	char		tenant_id[32] = "";
	char		bad[80];
	derms_err	err;
	int			ch;
	PGresult   *r;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		switch (ch)
		{
			case 'n':
				name = optarg;
				break;
			case 'r':
				role = optarg;
				break;
			case 't':
				tenant = optarg;
				break;
			case 's':
				scopes_arg = optarg;
				break;
			default:
				return 2;
		}
	}
	if (optind != argc || name == NULL || role == NULL)
	{
		cli_fail("usage: dermsctl vtn client create --name NAME --role bl|ven [--tenant AGGREGATOR]");
		return 2;
	}
	if (strcmp(role, "bl") == 0)
		rbit = HTTP_ROLE_BL;
	else if (strcmp(role, "ven") == 0)
		rbit = HTTP_ROLE_VEN;
	else
	{
		cli_fail("--role must be bl or ven, not \"%s\"", role);
		return 2;
	}
	if (rbit == HTTP_ROLE_VEN && tenant == NULL)
	{
		cli_fail("a VEN client belongs to an aggregator: --tenant is required");
		return 2;
	}
	if (strlen(name) == 0 || strlen(name) > 128)
	{
		cli_fail("--name must be 1 to 128 characters");
		return 2;
	}
	scopes = vtn_role_scopes(rbit);
	if (scopes_arg)
	{
		if (!vtn_scopes_parse(scopes_arg, &scopes, bad, sizeof(bad)))
		{
			cli_fail("unknown scope \"%s\"", bad);
			return 2;
		}
		if (scopes & ~vtn_role_scopes(rbit))
		{
			vtn_scopes_format(scopes & ~vtn_role_scopes(rbit), arr, sizeof(arr));
			cli_fail("scopes not allowed for role %s: %s", role, arr);
			return 2;
		}
	}
	vtn_scopes_pgarray(scopes, arr, sizeof(arr));
	if (vtn_client_credentials(role, id, secret, hash, &err) != DERMS_OK)
	{
		cli_fail("%s", err.msg);
		return 1;
	}

	if (!run(c, "BEGIN", 0, NULL))
		return 1;
	if (tenant)
	{
		const char *p[1] = {tenant};

		r = cli_exec(c, "INSERT INTO tenants (name, kind) VALUES ($1, 'aggregator')"
					 " ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name"
					 " RETURNING id, kind", 1, p);
		if (r == NULL)
			goto fail;
		if (strcmp(PQgetvalue(r, 0, 1), "aggregator") != 0)
		{
			PQclear(r);
			cli_fail("tenant \"%s\" is not an aggregator (the utility's own "
					 "clients are made without --tenant)", tenant);
			goto fail;
		}
		snprintf(tenant_id, sizeof(tenant_id), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	{
		const char *p[6] = {id, name, role, tenant ? tenant_id : NULL, hash, arr};

		r = cli_exec(c, "INSERT INTO vtn_clients (client_id, name, role, tenant_id, secret_hash, scopes)"
					 " VALUES ($1, $2, $3, $4, $5, $6::text[])"
					 " ON CONFLICT (name) DO NOTHING RETURNING id", 6, p);
		if (r == NULL)
			goto fail;
		if (PQntuples(r) != 1)
		{
			PQclear(r);
			cli_fail("a client named \"%s\" exists already", name);
			goto fail;
		}
		PQclear(r);
	}
	if (!audit(c, "vtn.client.create", id,
			   json_pack("{s:s, s:s, s:s?, s:s}", "name", name, "role", role,
						 "tenant", tenant, "scopes", arr)) ||
		!run(c, "COMMIT", 0, NULL))
		goto fail;
	printf("client_id=%s\nclient_secret=%s\n", id, secret);
	return 0;

fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return 1;
}

static int
client_list(PGconn *c)
{
	PGresult   *r = cli_exec(c,
							 "SELECT v.client_id, v.name, v.role, COALESCE(t.name, '-'),"
							 "       array_to_string(v.scopes, ' '),"
							 "       COALESCE(to_char(v.revoked_at AT TIME ZONE 'UTC',"
							 "                'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-')"
							 "  FROM vtn_clients v LEFT JOIN tenants t ON t.id = v.tenant_id"
							 " ORDER BY v.id", 0, NULL);

	if (r == NULL)
		return 1;
	printf("%-28s %-24s %-4s %-20s %-20s %s\n", "CLIENT_ID", "NAME", "ROLE",
		   "TENANT", "REVOKED", "SCOPES");
	for (int i = 0; i < PQntuples(r); i++)
		printf("%-28s %-24s %-4s %-20s %-20s %s\n", PQgetvalue(r, i, 0),
			   PQgetvalue(r, i, 1), PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
			   PQgetvalue(r, i, 5), PQgetvalue(r, i, 4));
	PQclear(r);
	return 0;
}

static int
client_revoke(PGconn *c, const char *id)
{
	const char *p[1] = {id};
	PGresult   *r;

	if (!run(c, "BEGIN", 0, NULL))
		return 1;
	r = cli_exec(c, "UPDATE vtn_clients SET revoked_at = COALESCE(revoked_at, now())"
				 " WHERE client_id = $1 RETURNING name", 1, p);
	if (r == NULL)
		goto fail;
	if (PQntuples(r) != 1)
	{
		PQclear(r);
		cli_fail("no client \"%s\"", id);
		goto fail;
	}
	PQclear(r);
	if (!audit(c, "vtn.client.revoke", id, json_object()) ||
		!run(c, "COMMIT", 0, NULL))
		goto fail;
	printf("client %s revoked\n", id);
	return 0;

fail:
	PQclear(PQexec(c, "ROLLBACK"));
	return 1;
}

/* ---- vtn mqtt sync ---- */

#define MQTT_PUBLISHER "dermsd-mqtt"	/* the notify role's certificate (CN) */
#define MQTT_PEM_MAX 65536

/* The file at path (malloc'd, NUL-terminated), or NULL after cli_fail. */
static char *
slurp(const char *path)
{
	FILE	   *f = fopen(path, "r");
	char	   *buf;
	size_t		n;

	if (f == NULL)
	{
		cli_fail("could not open file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MQTT_PEM_MAX + 1);
	n = buf ? fread(buf, 1, MQTT_PEM_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n == 0 || n > MQTT_PEM_MAX)
	{
		cli_fail("file \"%s\" is empty or too large", path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * A certificate for name in the PKI pki (issued unless its files exist),
 * and when c is not NULL, stored in vtn_mqtt_clients.
 */
static bool
mqtt_cert(PGconn *c, const char *pki, const char *name, pki_kind kind, bool *issued)
{
	char		cert_path[PATH_MAX], key_path[PATH_MAX];
	struct stat st;
	derms_err	err;
	char	   *cert;
	char	   *key;
	bool		ok;

	snprintf(cert_path, sizeof(cert_path), "%s/%s.pem", pki, name);
	snprintf(key_path, sizeof(key_path), "%s/%s.key", pki, name);
	*issued = false;
	if (stat(cert_path, &st) != 0 || stat(key_path, &st) != 0)
	{
		if (pki_issue(pki, name, kind, NULL, &err) != DERMS_OK)
		{
			cli_fail("could not issue a certificate for \"%s\": %s", name, err.msg);
			return false;
		}
		*issued = true;
	}
	if (c == NULL)
		return true;
	if ((cert = slurp(cert_path)) == NULL)
		return false;
	if ((key = slurp(key_path)) == NULL)
	{
		free(cert);
		return false;
	}
	{
		const char *p[3] = {name, cert, key};

		ok = run(c, "INSERT INTO vtn_mqtt_clients (client_id, cert_pem, key_pem)"
				 " VALUES ($1, $2, $3) ON CONFLICT (client_id) DO UPDATE"
				 " SET cert_pem = EXCLUDED.cert_pem, key_pem = EXCLUDED.key_pem,"
				 " issued_at = now()", 3, p);
	}
	explicit_bzero(key, strlen(key));
	free(cert);
	free(key);
	return ok;
}

/* One "topic read ROOT/vens/V/#" line per id of the space-separated list. */
static void
acl_vens(FILE *f, const char *ids)
{
	const char *p = ids;

	while (*p)
	{
		size_t		n = strcspn(p, " ");

		if (n > 0)
			fprintf(f, "topic read " OADR_MQTT_ROOT "/vens/%.*s/#\n", (int) n, p);
		p += n;
		while (*p == ' ')
			p++;
	}
}

/*
 * dermsctl vtn mqtt sync --pki DIR --broker DIR: a certificate (CN =
 * client_id) for every client that has none, the broker's ACL file
 * (BROKER/acl) written anew from vtn_clients and oadr_vens, and SIGHUP to
 * the broker of BROKER/mosquitto.pid so it reads it.
 */
static int
mqtt_sync(PGconn *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"pki", required_argument, NULL, 'p'},
		{"broker", required_argument, NULL, 'b'},
		{NULL, 0, NULL, 0}
	};
	const char *pki = NULL;
	const char *broker = NULL;
	char		acl[PATH_MAX], tmp[PATH_MAX], pidfile[PATH_MAX];
	int			issued = 0;
	int			ch;
	bool		fresh;
	PGresult   *r;
	FILE	   *f;
	const char *reload = "broker not running";

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
	{
		if (ch == 'p')
			pki = optarg;
		else if (ch == 'b')
			broker = optarg;
		else
			return 2;
	}
	if (optind != argc || pki == NULL || broker == NULL)
	{
		cli_fail("usage: dermsctl vtn mqtt sync --pki DIR --broker DIR");
		return 2;
	}
	if (!mqtt_cert(NULL, pki, MQTT_PUBLISHER, PKI_OPERATOR, &fresh))
		return 1;
	issued += fresh;

	/* certificates for the clients that have none */
	r = cli_exec(c, "SELECT c.client_id, c.role FROM vtn_clients c"
				 " WHERE c.revoked_at IS NULL AND NOT EXISTS"
				 "  (SELECT 1 FROM vtn_mqtt_clients q WHERE q.client_id = c.client_id)"
				 " ORDER BY c.id", 0, NULL);
	if (r == NULL)
		return 1;
	for (int i = 0; i < PQntuples(r); i++)
	{
		pki_kind	kind = strcmp(PQgetvalue(r, i, 1), "ven") == 0 ? PKI_AGGREGATOR
			: PKI_OPERATOR;

		if (!mqtt_cert(c, pki, PQgetvalue(r, i, 0), kind, &fresh))
		{
			PQclear(r);
			return 1;
		}
		issued += fresh;
	}
	PQclear(r);

	/* the ACL: who may read which topics (notifiers.h) */
	r = cli_exec(c, "SELECT c.client_id, c.role, c.tenant_id,"
				 "  (SELECT coalesce(string_agg(v.id::text, ' ' ORDER BY v.id), '')"
				 "   FROM oadr_vens v WHERE (c.role = 'ven' AND v.client_id = c.client_id)"
				 "    OR (c.role = 'bl' AND v.tenant_id = c.tenant_id))"
				 " FROM vtn_clients c JOIN vtn_mqtt_clients q ON q.client_id = c.client_id"
				 " WHERE c.revoked_at IS NULL ORDER BY c.id", 0, NULL);
	if (r == NULL)
		return 1;
	snprintf(acl, sizeof(acl), "%s/acl", broker);
	snprintf(tmp, sizeof(tmp), "%s/acl.tmp", broker);
	if ((f = fopen(tmp, "w")) == NULL)
	{
		cli_fail("could not write file \"%s\": %s", tmp, strerror(errno));
		PQclear(r);
		return 1;
	}
	fprintf(f, "# Written by dermsctl vtn mqtt sync; rewritten on every run.\n"
			"user " MQTT_PUBLISHER "\ntopic write " OADR_MQTT_ROOT "/#\n");
	for (int i = 0; i < PQntuples(r); i++)
	{
		const char *role = PQgetvalue(r, i, 1);

		fprintf(f, "\nuser %s\n", PQgetvalue(r, i, 0));
		if (strcmp(role, "bl") == 0 && PQgetisnull(r, i, 2))
			fprintf(f, "topic read " OADR_MQTT_ROOT "/#\n");
		else
		{
			if (strcmp(role, "bl") == 0)
				fprintf(f, "topic read " OADR_MQTT_ROOT "/tenants/%s/#\n",
						PQgetvalue(r, i, 2));
			acl_vens(f, PQgetvalue(r, i, 3));
		}
	}
	PQclear(r);
	if (fchmod(fileno(f), 0644) != 0 || fclose(f) != 0 || rename(tmp, acl) != 0)
	{
		cli_fail("could not write file \"%s\": %s", acl, strerror(errno));
		return 1;
	}

	/* the broker reads its ACL again on SIGHUP */
	snprintf(pidfile, sizeof(pidfile), "%s/mosquitto.pid", broker);
	if ((f = fopen(pidfile, "r")) != NULL)
	{
		long		pid = 0;

		if (fscanf(f, "%ld", &pid) == 1 && pid > 1 && kill((pid_t) pid, SIGHUP) == 0)
			reload = "broker reloaded";
		fclose(f);
	}
	if (!audit(c, "vtn.mqtt.sync", broker,
			   json_pack("{s:i, s:s}", "issued", issued, "reload", reload)))
		return 1;
	printf("mqtt: %d certificate(s) issued, ACL %s written, %s\n", issued, acl, reload);
	return 0;
}

int
vtn_ctl_jwks(const char *keyfile)
{
	derms_err	err;
	jwt_key    *k = jwt_key_load_private(keyfile, &err);
	json_t	   *jwks;
	char	   *s;

	if (k == NULL)
	{
		cli_fail("%s", err.msg);
		return 1;
	}
	jwks = json_pack("{s:[o]}", "keys", jwt_key_public_jwk(k));
	jwt_key_free(k);
	s = json_dumps(jwks, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(jwks);
	if (s == NULL)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

int
vtn_ctl_main(PGconn *c, int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "mqtt") == 0 && strcmp(argv[2], "sync") == 0)
		return mqtt_sync(c, argc - 2, argv + 2);
	if (argc >= 3 && strcmp(argv[1], "client") == 0)
	{
		if (strcmp(argv[2], "create") == 0)
			return client_create(c, argc - 2, argv + 2);
		if (strcmp(argv[2], "list") == 0 && argc == 3)
			return client_list(c);
		if (strcmp(argv[2], "revoke") == 0 && argc == 4)
			return client_revoke(c, argv[3]);
	}
	fprintf(stderr, "usage:\n  dermsctl %s\n", vtn_ctl_usage);
	return 2;
}
