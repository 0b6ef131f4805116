/*
 * protocols/openadr/ctl.c
 *	  dermsctl vtn client create|list|revoke, and vtn jwks.
 *
 * NOTES
 *	  create prints client_id= and client_secret= once; only the secret's
 *	  hash is stored.  Every change is audited in the same transaction.
 */
#include "ctl.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "auth.h"
#include "jwt.h"
#include "server/cli.h"

const char	vtn_ctl_usage[] =
"vtn client create --name NAME --role bl|ven [--tenant AGGREGATOR] [--scopes \"S ...\"]\n"
"                             an OAuth2 client; prints client_id and client_secret once\n"
"vtn client list             clients, roles, tenants, scopes, revocation\n"
"vtn client revoke CLIENT_ID its tokens stop working within sep2.identity_cache_s\n"
"vtn jwks KEY.pem            the public JWKS of a token signing key";

static PGresult *
exec(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult   *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		cli_fail("database error: %s", m ? m : PQerrorMessage(c));
		PQclear(r);
		return NULL;
	}
	return r;
}

static bool
run(PGconn *c, const char *sql, int n, const char *const *p)
{
	PGresult   *r = exec(c, sql, n, p);

	PQclear(r);
	return r != NULL;
}

static bool
audit(PGconn *c, const char *action, const char *object, json_t *detail)
{
	char		actor[128];
	struct passwd *pw = getpwuid(getuid());
	char	   *d = json_dumps(detail, JSON_COMPACT | JSON_SORT_KEYS);
	bool		ok;

	snprintf(actor, sizeof(actor), "dermsctl:%s", pw ? pw->pw_name : "unknown");
	{
		const char *p[4] = {actor, action, object, d ? d : "{}"};

		ok = run(c, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, p);
	}
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

		r = exec(c, "INSERT INTO tenants (name, kind) VALUES ($1, 'aggregator')"
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

		r = exec(c, "INSERT INTO vtn_clients (client_id, name, role, tenant_id, secret_hash, scopes)"
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
	PGresult   *r = exec(c,
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
	r = exec(c, "UPDATE vtn_clients SET revoked_at = COALESCE(revoked_at, now())"
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
