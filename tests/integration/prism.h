/*
 * tests/integration/prism.h
 *	  Prism (@stoplight/prism-cli) as a validating proxy in front of a test
 *	  dermsd's VTN listener.
 *
 * NOTES
 *	  Prism checks every request and response that passes it against
 *	  openadr3-3.1.0.yaml (it_prism_start) or another OpenAPI document such
 *	  as protocols/fleet/fleet-v1.yaml (it_prism_start_spec) and names what does not conform in an
 *	  "sl-violations" response header; a test that sends valid requests
 *	  fails on any such header (it_prism_clean).  Prism answers invalid
 *	  requests itself, so negative cases go straight to dermsd.  Prism is
 *	  found through DERMS_PRISM (tests/run.sh sets it when
 *	  tests/prism-install.sh installed it) and the YAML through
 *	  DERMS_SPEC_DIR; without either the caller prints a SKIP.
 */
#ifndef DERMS_TEST_PRISM_H
#define DERMS_TEST_PRISM_H

#include <stdbool.h>
#include <sys/types.h>

#include "harness.h"

typedef struct it_prism
{
	pid_t		pid;			/* 0 when not running */
	int			port;			/* plain HTTP on 127.0.0.1 */
	char	   *log;
} it_prism;

/*
 * Start Prism proxying to s's VTN listener and wait until it listens.
 * false with *why set when Prism or the YAML is absent (skip) or it did not
 * start (fail: *why says so, *skip false).
 */
bool		it_prism_start(it_prism *p, const it_server *s, bool *skip,
						   const char **why);

/*
 * The same with another OpenAPI document (spec_path, kept by the caller
 * until Prism has started).  Prism absent is a skip; an unreadable
 * document is a failure.
 */
bool		it_prism_start_spec(it_prism *p, const it_server *s,
								const char *spec_path, bool *skip,
								const char **why);
void		it_prism_stop(it_prism *p);

/* A request through Prism (headers: "Name: value", NULL-terminated). */
it_response it_prism_request(const it_prism *p, const char *method,
							 const char *path, const char *ctype,
							 const char *body, const char *const *headers);

/* The sl-violations header of r (malloc'd), or NULL when there is none. */
char	   *it_prism_violations(const it_response *r);

#endif							/* DERMS_TEST_PRISM_H */
