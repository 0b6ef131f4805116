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

/* Run a command; returns its exit status (-1 when it could not run). */
int			it_run(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* Children of pid whose /proc comm equals name; fills pids, returns count. */
int			it_children(pid_t parent, const char *comm, pid_t *pids, int max);
bool		it_pid_alive(pid_t pid);

/* Poll cond every 100 ms for up to timeout_ms. */
#define IT_WAIT(cond, timeout_ms) \
	({ bool ok_ = false; for (int w_ = 0; w_ < (timeout_ms) / 100; w_++) { \
		if (cond) { ok_ = true; break; } usleep(100000); } ok_; })

#endif							/* DERMS_TESTS_HARNESS_H */
