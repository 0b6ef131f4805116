/*
 * tests/integration/prism.c
 *	  Prism as a validating proxy for the OpenADR and fleet API tests (see
 *	  prism.h).
 */
#include "prism.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/suites.h"

static bool
port_open(int port)
{
	struct sockaddr_in sa;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);
	bool		ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t) port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

bool
it_prism_start(it_prism *p, const it_server *s, bool *skip, const char **why)
{
	const char *bin = getenv("DERMS_PRISM");
	const char *spec_dir = test_spec_dir();
	static char spec[4096];

	memset(p, 0, sizeof(*p));
	snprintf(spec, sizeof(spec), "%s/openadr3/openadr3-3.1.0.yaml", spec_dir ? spec_dir : "");
	if (bin != NULL && access(bin, X_OK) == 0 &&
		(spec_dir == NULL || access(spec, R_OK) != 0))
	{
		*skip = true;
		*why = "openadr3/openadr3-3.1.0.yaml not found under DERMS_SPEC_DIR";
		return false;
	}
	return it_prism_start_spec(p, s, spec, skip, why);
}

bool
it_prism_start_spec(it_prism *p, const it_server *s, const char *spec, bool *skip,
					const char **why)
{
	const char *bin = getenv("DERMS_PRISM");
	char		upstream[64];
	char		port_s[16];
	char		ca[4096];
	pid_t		pid;

	memset(p, 0, sizeof(*p));
	*skip = true;
	if (bin == NULL || access(bin, X_OK) != 0)
	{
		*why = "Prism is not installed (run tests/prism-install.sh)";
		return false;
	}
	if (access(spec, R_OK) != 0)
	{
		*skip = false;
		*why = "the OpenAPI document for Prism is not readable";
		return false;
	}
	*skip = false;
	p->port = it_free_port();
	if (p->port < 0)
	{
		*why = "no free port for Prism";
		return false;
	}
	snprintf(upstream, sizeof(upstream), "https://127.0.0.1:%d", s->vtn_port);
	snprintf(port_s, sizeof(port_s), "%d", p->port);
	snprintf(ca, sizeof(ca), "%s/ca.pem", s->pki);
	if (asprintf(&p->log, "%s/prism.log", s->dir) < 0)
		return false;

	pid = fork();
	if (pid < 0)
	{
		*why = "fork failed";
		return false;
	}
	if (pid == 0)
	{
		int			fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0)
		{
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		/* its own process group, so stopping it stops node's children */
		setpgid(0, 0);
		setenv("NODE_EXTRA_CA_CERTS", ca, 1);
		execl(bin, "prism", "proxy", spec, upstream, "--host", "127.0.0.1",
			  "--port", port_s, (char *) NULL);
		_exit(127);
	}
	p->pid = pid;
	for (int i = 0; i < 600; i++)
	{
		int			st;

		if (port_open(p->port))
			return true;
		if (waitpid(pid, &st, WNOHANG) == pid)
		{
			p->pid = 0;
			*why = "Prism exited at startup (see prism.log)";
			it_run("tail -n 20 '%s' >&2", p->log);
			return false;
		}
		usleep(100000);
	}
	*why = "Prism did not listen within 60 s";
	it_prism_stop(p);
	return false;
}

void
it_prism_stop(it_prism *p)
{
	if (p->pid > 0)
	{
		kill(-p->pid, SIGTERM);
		kill(p->pid, SIGTERM);
		for (int i = 0; i < 50; i++)
		{
			if (waitpid(p->pid, NULL, WNOHANG) == p->pid)
			{
				p->pid = 0;
				break;
			}
			usleep(100000);
		}
		if (p->pid > 0)
		{
			kill(-p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
		}
	}
	free(p->log);
	memset(p, 0, sizeof(*p));
}

it_response
it_prism_request(const it_prism *p, const char *method, const char *path,
				 const char *ctype, const char *body, const char *const *headers)
{
	return it_http(p->port, method, path, ctype, body, headers, 30L);
}

char *
it_prism_violations(const it_response *r)
{
	const char *h = r->headers;

	while (h && *h)
	{
		const char *eol = strstr(h, "\r\n");
		size_t		n = eol ? (size_t) (eol - h) : strlen(h);

		if (n > 14 && strncasecmp(h, "sl-violations:", 14) == 0)
			return strndup(h + 14, n - 14);
		h = eol ? eol + 2 : NULL;
	}
	return NULL;
}
