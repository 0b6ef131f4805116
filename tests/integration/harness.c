/*
 * tests/integration/harness.c
 *	  Real dermsd processes and real HTTPS clients for the integration
 *	  suite.
 *
 * NOTES
 *	  Every it_server gets its own directory, demo PKI, database (created
 *	  in the runner's private cluster) and free loopback ports, so tests do
 *	  not see each other's state.  dermsd's stderr goes to DIR/dermsd.log,
 *	  which a failing test prints.  The it_up .. it_sql_value helpers fail
 *	  the running Check test themselves; the rest return what happened.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <libpq-fe.h>

#include "server/pki.h"
#include "tests/suites.h"

static int	db_counter;

int
it_free_port(void)
{
	struct sockaddr_in sa;
	socklen_t	len = sizeof(sa);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	int			port;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof(sa)) != 0 ||
		getsockname(fd, (struct sockaddr *) &sa, &len) != 0)
	{
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int
it_run(const char *fmt,...)
{
	char		cmd[4096];
	va_list		ap;
	int			st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static char *
xasprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static bool
create_database(it_server *s)
{
	PGconn	   *c = PQconnectdb(test_pg_conninfo());
	PGresult   *r;
	char		sql[128], name[64];
	bool		ok;

	if (PQstatus(c) != CONNECTION_OK)
	{
		fprintf(stderr, "harness: %s", PQerrorMessage(c));
		PQfinish(c);
		return false;
	}
	snprintf(name, sizeof(name), "it_%d_%d", (int) getpid(), ++db_counter);
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", name);
	r = PQexec(c, sql);
	ok = PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok)
		fprintf(stderr, "harness: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	s->conninfo = xasprintf("%s dbname=%s", test_pg_conninfo(), name);
	return ok;
}

bool
it_prepare(it_server *s, const char *extra, const char *why_skip[1])
{
	pki_result	res;
	derms_err	err;
	FILE	   *f;
	const char *b = test_build_dir();

	memset(s, 0, sizeof(*s));
	if (test_pg_conninfo() == NULL)
	{
		why_skip[0] = "DERMS_TEST_PG is not set (run through tests/run.sh)";
		return false;
	}
	s->dir = test_mkdtemp("dermsd-it");
	if (s->dir == NULL)
		return false;
	chmod(s->dir, 0755);
	s->pki = xasprintf("%s/pki", s->dir);
	s->conf = xasprintf("%s/dermsd.conf", s->dir);
	s->log = xasprintf("%s/dermsd.log", s->dir);
	if (pki_init(s->pki, false, &res, &err) != DERMS_OK)
	{
		fprintf(stderr, "harness: pki: %s\n", err.msg);
		return false;
	}
	if (!create_database(s))
		return false;
	s->sep2_port = it_free_port();
	s->vtn_port = it_free_port();
	s->admin_port = it_free_port();

	f = fopen(s->conf, "w");
	if (f == NULL)
		return false;
	fprintf(f,
			"[database]\nconninfo = \"%s\"\nschema_dir = schema\nreconnect_max_ms = 1000\n"
			"[sep2]\naddress = 127.0.0.1\nport = %d\nworkers = 2\n"
			"cert_file = pki/sep2-server.pem\nkey_file = pki/sep2-server.key\nca_file = pki/trust.pem\n"
			"identity_cache_s = 0\n"
			"[vtn]\naddress = 127.0.0.1\nport = %d\n"
			"cert_file = pki/vtn-server.pem\nkey_file = pki/vtn-server.key\n"
			"token_key_file = pki/vtn-token.key\n"
			"[admin]\naddress = 127.0.0.1\nport = %d\n"
			"[supervisor]\nshutdown_timeout_s = 5\n"
			"[log]\nlevel = info\n",
			s->conninfo, s->sep2_port, s->vtn_port, s->admin_port);
	if (extra)
		fputs(extra, f);
	s->extra_conf = extra;
	fclose(f);
	/* schema_dir is relative to the config file: link the repository's */
	{
		char		cwd[4096];
		char	   *link = xasprintf("%s/schema", s->dir);

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return false;
		{
			char	   *target = xasprintf("%s/schema", cwd);

			if (symlink(target, link) != 0)
			{
				free(target);
				free(link);
				return false;
			}
			free(target);
		}
		free(link);
	}
	if (it_run("%s/dermsctl -c %s migrate >/dev/null", b, s->conf) != 0 ||
		it_run("%s/dermsctl -c %s cert register %s/device-demo.pem --role device >/dev/null",
			   b, s->conf, s->pki) != 0 ||
		it_run("%s/dermsctl -c %s cert register %s/aggregator-demo.pem --role aggregator --tenant agg1 >/dev/null",
			   b, s->conf, s->pki) != 0 ||
		it_run("%s/dermsctl -c %s cert register %s/operator-demo.pem --role operator --tenant utility >/dev/null",
			   b, s->conf, s->pki) != 0)
	{
		fprintf(stderr, "harness: dermsctl failed\n");
		return false;
	}
	return true;
}

bool
it_start(it_server *s)
{
	pid_t		pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
	{
		int			fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		char	   *bin = xasprintf("%s/dermsd", test_build_dir());

		if (fd >= 0)
		{
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		if (s->notify_socket)
		{
			setenv("NOTIFY_SOCKET", s->notify_socket, 1);
			setenv("WATCHDOG_USEC", "400000", 1);
		}
		else
			unsetenv("NOTIFY_SOCKET");
		execl(bin, "dermsd", "-c", s->conf, (char *) NULL);
		_exit(127);
	}
	s->pid = pid;
	for (int i = 0; i < 300; i++)
	{
		it_response r = it_admin_get(s, "/readyz");
		int			st;

		if (r.status == 200)
		{
			it_response_free(&r);
			return true;
		}
		it_response_free(&r);
		if (waitpid(pid, &st, WNOHANG) == pid)
		{
			s->pid = 0;
			return false;
		}
		usleep(100000);
	}
	return false;
}

int
it_stop(it_server *s, int sig, int timeout_s)
{
	int			st = -1;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, sig);
	for (int i = 0; i < timeout_s * 10; i++)
	{
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
		{
			s->pid = 0;
			return st;
		}
		usleep(100000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
	s->pid = 0;
	return -2;
}

void
it_cleanup(it_server *s)
{
	if (s->pid > 0)
		it_stop(s, SIGKILL, 2);
	if (s->dir && getenv("DERMS_KEEP_TMP") == NULL)
		it_run("rm -rf '%s'", s->dir);
	free(s->dir);
	free(s->conf);
	free(s->log);
	free(s->pki);
	free(s->conninfo);
	free(s->notify_socket);
	memset(s, 0, sizeof(*s));
}

/* ---- clients ---- */

typedef struct buf
{
	char	   *p;
	size_t		len;
} buf;

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	buf		   *b = arg;
	size_t		add = size * n;
	char	   *np = realloc(b->p, b->len + add + 1);

	if (np == NULL)
		return 0;
	memcpy(np + b->len, data, add);
	b->len += add;
	np[b->len] = '\0';
	b->p = np;
	return add;
}

static it_response
perform(CURL *c, long timeout_s)
{
	it_response r;
	buf			body = {NULL, 0}, hdr = {NULL, 0};

	memset(&r, 0, sizeof(r));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	r.curl_rc = (int) curl_easy_perform(c);
	if (r.curl_rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
	r.body = body.p ? body.p : strdup("");
	r.len = body.len;
	r.headers = hdr.p ? hdr.p : strdup("");
	return r;
}

/* The method, body and headers of a request on c, run; c is cleaned up. */
static it_response
run_request(CURL *c, const char *method, const char *ctype, const char *body,
	 const char *const *headers, long timeout_s)
{
	struct curl_slist *hdrs = NULL;
	char		ct[256];
	it_response r;

	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
	{
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	}
	if (ctype)
	{
		snprintf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		hdrs = curl_slist_append(hdrs, headers[i]);
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	r = perform(c, timeout_s);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return r;
}

it_response
it_https(const it_server *s, int port, const char *method, const char *path,
		 const char *cert_name, it_tls tls, const char *ctype, const char *body)
{
	return it_https_h(s, port, method, path, cert_name, tls, ctype, body, NULL);
}

it_response
it_https_h(const it_server *s, int port, const char *method, const char *path,
		   const char *cert_name, it_tls tls, const char *ctype, const char *body,
		   const char *const *headers)
{
	CURL	   *c = curl_easy_init();
	char		url[512], cert[1024], key[1024], ca[1024];

	snprintf(url, sizeof(url), "https://127.0.0.1:%d%s", port, path);
	snprintf(ca, sizeof(ca), "%s/ca.pem", s->pki);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	if (cert_name)
	{
		if (cert_name[0] == '/')
		{
			snprintf(cert, sizeof(cert), "%s.pem", cert_name);
			snprintf(key, sizeof(key), "%s.key", cert_name);
		}
		else
		{
			snprintf(cert, sizeof(cert), "%s/%s.pem", s->pki, cert_name);
			snprintf(key, sizeof(key), "%s/%s.key", s->pki, cert_name);
		}
		curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
		curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	}
	switch (tls)
	{
		case IT_TLS_CSIP:
			curl_easy_setopt(c, CURLOPT_SSLVERSION,
							 (long) (CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
			curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST, "ECDHE-ECDSA-AES128-CCM8");
			break;
		case IT_TLS_13_ONLY:
			curl_easy_setopt(c, CURLOPT_SSLVERSION,
							 (long) (CURL_SSLVERSION_TLSv1_3 | CURL_SSLVERSION_MAX_TLSv1_3));
			break;
		case IT_TLS_GCM_ONLY:
			curl_easy_setopt(c, CURLOPT_SSLVERSION,
							 (long) (CURL_SSLVERSION_TLSv1_2 | CURL_SSLVERSION_MAX_TLSv1_2));
			curl_easy_setopt(c, CURLOPT_SSL_CIPHER_LIST,
							 "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384");
			break;
		case IT_TLS_DEFAULT:
			break;
	}
	return run_request(c, method, ctype, body, headers, 10L);
}

it_response
it_http(int port, const char *method, const char *path, const char *ctype,
		const char *body, const char *const *headers, long timeout_s)
{
	CURL	   *c = curl_easy_init();
	char		url[1024];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	return run_request(c, method, ctype, body, headers, timeout_s);
}

it_response
it_admin_get(const it_server *s, const char *path)
{
	return it_http(s->admin_port, "GET", path, NULL, NULL, NULL, 10L);
}

void
it_response_free(it_response *r)
{
	free(r->body);
	free(r->headers);
	r->body = r->headers = NULL;
}

/* ---- helpers for Check tests ---- */

bool
it_setup(it_server *s, const char *extra, const char *suite)
{
	const char *why[1] = {"could not prepare"};

	if (it_prepare(s, extra, why))
		return true;
	if (test_pg_conninfo() == NULL)
	{
		test_skip(suite, why[0]);
		return false;
	}
	ck_abort_msg("harness setup failed: %s", why[0]);
	return false;
}

void
it_launch(it_server *s)
{
	if (!it_start(s))
	{
		it_run("cat '%s' >&2", s->log);
		ck_abort_msg("dermsd did not become ready");
	}
}

bool
it_up(it_server *s, const char *extra, const char *suite)
{
	if (!it_setup(s, extra, suite))
		return false;
	it_launch(s);
	return true;
}

void
it_sample_fleet(it_server *s)
{
	static const char *const kinds[] = {
		"feeders", "markets", "aggregations", "sites", "ders", "enrollments"
	};
	const char *b = test_build_dir();
	pki_issued	two;
	derms_err	err;

	ck_assert_int_eq(pki_issue(s->pki, "aggregator-two", PKI_AGGREGATOR, &two, &err),
					 DERMS_OK);
	ck_assert_int_eq(it_run("%s/dermsctl -c %s cert register %s --role aggregator"
							" --tenant agg2 >/dev/null", b, s->conf, two.cert_path), 0);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		ck_assert_int_eq(it_run("%s/dermsctl -c %s import %s tests/data/fleet/%s.csv"
								" >/dev/null", b, s->conf, kinds[i], kinds[i]), 0);
}

void
it_vtn_client(const it_server *s, const char *args, char *id, char *secret)
{
	char		cmd[2048];
	char		line[IT_VTN_CRED_MAX];
	FILE	   *p;

	id[0] = secret[0] = '\0';
	snprintf(cmd, sizeof(cmd), "%s/dermsctl -c %s vtn client create %s",
			 test_build_dir(), s->conf, args);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	while (fgets(line, sizeof(line), p))
	{
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "client_id=", 10) == 0)
			snprintf(id, IT_VTN_CRED_MAX, "%s", line + 10);
		else if (strncmp(line, "client_secret=", 14) == 0)
			snprintf(secret, IT_VTN_CRED_MAX, "%s", line + 14);
	}
	ck_assert_int_eq(pclose(p), 0);
	ck_assert_msg(id[0] && secret[0], "dermsctl printed no credentials");
}

char *
it_vtn_token(const it_server *s, const char *id, const char *secret,
			 const char *scope)
{
	char		body[2048];
	it_response r;
	char	   *tok = NULL;

	snprintf(body, sizeof(body),
			 "grant_type=client_credentials&client_id=%s&client_secret=%s%s%s",
			 id, secret, scope ? "&scope=" : "", scope ? scope : "");
	r = it_https(s, s->vtn_port, "POST", "/auth/token", NULL, IT_TLS_DEFAULT,
				 "application/x-www-form-urlencoded", body);
	if (r.status == 200)
	{
		json_t	   *j = json_loads(r.body, 0, NULL);
		const char *t = json_string_value(json_object_get(j, "access_token"));

		ck_assert_msg(t != NULL, "no access_token in %s", r.body);
		tok = strdup(t);
		json_decref(j);
	}
	it_response_free(&r);
	return tok;
}

it_response
it_bearer(const it_server *s, const char *method, const char *path,
		  const char *token, const char *ctype, const char *body)
{
	char	   *h = NULL;
	const char *hs[2] = {NULL, NULL};
	it_response r;

	if (token)
	{
		ck_assert_int_ge(asprintf(&h, "Authorization: Bearer %s", token), 0);
		hs[0] = h;
	}
	r = it_https_h(s, s->vtn_port, method, path, NULL, IT_TLS_DEFAULT, ctype,
				   body, hs);
	free(h);
	return r;
}

char *
it_sql_value(const it_server *s, const char *sql)
{
	PGconn	   *c = PQconnectdb(s->conninfo);
	PGresult   *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);
	char	   *v;

	ck_assert_msg(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "%s: %s", sql,
				  PQerrorMessage(c));
	v = strdup(st == PGRES_TUPLES_OK && PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
	PQclear(r);
	PQfinish(c);
	return v;
}

/* ---- processes ---- */

int
it_children(pid_t parent, const char *comm, pid_t *pids, int max)
{
	DIR		   *d = opendir("/proc");
	struct dirent *e;
	int			n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max)
	{
		char		path[64], line[512];
		FILE	   *f;
		pid_t		pid = (pid_t) atoi(e->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
		f = fopen(path, "r");
		if (f == NULL)
			continue;
		if (fgets(line, sizeof(line), f))
		{
			/* pid (comm) state ppid ... ; comm may hold spaces */
			char	   *lp = strchr(line, '(');
			char	   *rp = strrchr(line, ')');
			int			ppid = 0;
			char		state;

			if (lp && rp && rp > lp &&
				sscanf(rp + 2, "%c %d", &state, &ppid) == 2 &&
				ppid == parent && state != 'Z')
			{
				*rp = '\0';
				if (comm == NULL || strcmp(lp + 1, comm) == 0)
					pids[n++] = pid;
			}
		}
		fclose(f);
	}
	closedir(d);
	return n;
}

bool
it_pid_alive(pid_t pid)
{
	char		path[64], line[256];
	FILE	   *f;
	bool		alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(line, sizeof(line), f))
	{
		char	   *rp = strrchr(line, ')');

		alive = rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
	}
	fclose(f);
	return alive;
}
