/*
 * tests/integration/harness.h
 *	  Starting a real dermsd against the test PostgreSQL cluster, and
 *	  talking to it over real sockets (libcurl with OpenSSL, so the TLS
 *	  client is not the server's own library).
 */
#ifndef DERMS_TESTS_HARNESS_H
#define DERMS_TESTS_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct it_server
{
	char	   *dir;			/* private directory: pki/, dermsd.conf, log */
	char	   *conf;
	char	   *log;
	char	   *pki;
	char	   *conninfo;		/* the test database */
	int			sep2_port;
	int			vtn_port;
	int			admin_port;
	pid_t		pid;			/* supervisor, 0 when not running */
	const char *extra_conf;		/* appended to dermsd.conf, may be NULL */
	char	   *notify_socket;	/* NOTIFY_SOCKET for dermsd, may be NULL */
} it_server;

/* TLS client profiles */
typedef enum it_tls
{
	IT_TLS_CSIP,				/* TLS 1.2, ECDHE-ECDSA-AES128-CCM8 */
	IT_TLS_13_ONLY,				/* TLS 1.3 only */
	IT_TLS_GCM_ONLY,			/* TLS 1.2, AES-GCM only */
	IT_TLS_DEFAULT				/* whatever the client prefers */
} it_tls;

typedef struct it_response
{
	int			curl_rc;		/* CURLcode; 0 when the exchange completed */
	long		status;			/* HTTP status, 0 when none */
	char	   *body;			/* NUL-terminated, malloc'd */
	size_t		len;
	char	   *headers;		/* raw response headers, malloc'd */
} it_response;

/* Set up PKI, database and config in a fresh directory; false to skip.
 * extra (may be NULL) is appended to the generated configuration. */
bool		it_prepare(it_server *s, const char *extra, const char *why_skip[1]);
bool		it_start(it_server *s);		/* start and wait for /readyz 200 */
int			it_stop(it_server *s, int sig, int timeout_s);	/* exit status */
void		it_cleanup(it_server *s);

/* A request to https://127.0.0.1:PORT/PATH as the named client cert
 * (NULL: none) from the PKI dir, or plain HTTP to the admin port. */
it_response it_https(const it_server *s, int port, const char *method,
					 const char *path, const char *cert_name, it_tls tls,
					 const char *ctype, const char *body);
/* The same with extra request headers ("Name: value", NULL-terminated). */
it_response it_https_h(const it_server *s, int port, const char *method,
					   const char *path, const char *cert_name, it_tls tls,
					   const char *ctype, const char *body,
					   const char *const *headers);
it_response it_admin_get(const it_server *s, const char *path);
void		it_response_free(it_response *r);

/* A free TCP port on 127.0.0.1 (-1 when none could be had). */
int			it_free_port(void);

/* Plain HTTP to 127.0.0.1:PORT/PATH (headers: "Name: value",
 * NULL-terminated, may be NULL). */
it_response it_http(int port, const char *method, const char *path,
					const char *ctype, const char *body,
					const char *const *headers, long timeout_s);

/* Run a command; returns its exit status (-1 when it could not run). */
int			it_run(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Children of pid whose /proc comm equals name; fills pids, returns count. */
int			it_children(pid_t parent, const char *comm, pid_t *pids, int max);
bool		it_pid_alive(pid_t pid);

/*
 * Helpers for Check tests: each failure fails the running test.
 *
 * it_up: it_prepare and it_start.  Returns false after a SKIP line for
 * suite when there is no test cluster; a failed setup or a dermsd that does
 * not become ready (its log is printed) fails the test.  it_setup and
 * it_launch are its two halves, for tests that do more before dermsd runs.
 */
bool		it_up(it_server *s, const char *extra, const char *suite);
bool		it_setup(it_server *s, const char *extra, const char *suite);
void		it_launch(it_server *s);

/*
 * The sample fleet of tests/data/fleet imported with dermsctl, and a second
 * aggregator certificate "aggregator-two" registered for tenant agg2.  Call
 * between it_setup and it_launch.
 */
void		it_sample_fleet(it_server *s);

/* Size of the client_id and client_secret buffers of it_vtn_client. */
#define IT_VTN_CRED_MAX 512

/* "dermsctl vtn client create ARGS": the printed client_id and
 * client_secret into id and secret (IT_VTN_CRED_MAX bytes each). */
void		it_vtn_client(const it_server *s, const char *args, char *id,
						  char *secret);

/* A token from POST /auth/token by client_secret_post, with scope unless
 * NULL; new, or NULL when the server refuses. */
char	   *it_vtn_token(const it_server *s, const char *id, const char *secret,
						 const char *scope);

/* A request to the VTN listener without a client certificate, with
 * "Authorization: Bearer TOKEN" unless token is NULL. */
it_response it_bearer(const it_server *s, const char *method, const char *path,
					  const char *token, const char *ctype, const char *body);

/* SQL on s's database: the first column of the first row, new ("" when
 * there is none). */
char	   *it_sql_value(const it_server *s, const char *sql);

/* Poll cond every 100 ms for up to timeout_ms. */
#define IT_WAIT(cond, timeout_ms) \
	({ bool ok_ = false; for (int w_ = 0; w_ < (timeout_ms) / 100; w_++) { \
		if (cond) { ok_ = true; break; } usleep(100000); } ok_; })

#endif							/* DERMS_TESTS_HARNESS_H */
