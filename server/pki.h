/*
 * server/pki.h
 *	  The demo PKI: a root CA, an intermediate CA, server certificates for
 *	  both listeners and client certificates, made with the OpenSSL 3
 *	  library (never the openssl command).
 *
 * NOTES
 *	  Layout of a PKI directory (mode 0700 when pki_init creates it):
 *	    ca.pem ca.key                      root CA (self-signed)
 *	    intermediate.pem intermediate.key  intermediate CA, signed by root
 *	    trust.pem                          root + intermediate: the bundle a
 *	                                       listener verifies clients with
 *	    NAME.pem NAME.key                  a leaf: NAME.pem is the leaf
 *	                                       followed by the intermediate
 *	  pki_init writes sep2-server, vtn-server, device-demo, aggregator-demo
 *	  and operator-demo.  All keys are ECDSA P-256, written 0600 as
 *	  unencrypted PKCS#8 PEM; signatures are ecdsa-with-SHA256; serials are
 *	  128 random bits.
 *
 *	  ca.pem is the "PKI complete" marker: pki_init writes everything into
 *	  DIR/.tmp-XXXXXX, removes an old ca.pem, renames the other files into
 *	  place and renames ca.pem last.  A crash therefore leaves either no
 *	  ca.pem (the next pki_init starts over) or a whole, consistent PKI; a
 *	  crashed run may leave a stale .tmp-XXXXXX directory behind.
 *	  pki_issue refuses to work in a directory without ca.pem.  A forced
 *	  pki_init leaves other files alone: certificates issued under the old
 *	  PKI stay in the directory but no longer chain to trust.pem.
 *
 *	  These are offline tools for dermsctl and the tests; they are not
 *	  meant for a request path (key generation and fsync are slow).
 */
#ifndef DERMS_PKI_H
#define DERMS_PKI_H

#include <limits.h>
#include <stdbool.h>

#include "err.h"
#include "identity.h"

#define PKI_NAME_MAX 64			/* longest leaf name */
#define PKI_RESULT_MAX 8		/* entries in a pki_result */

typedef enum pki_kind
{
	PKI_DEVICE,					/* IEEE 2030.5 end device; never expires */
	PKI_AGGREGATOR,				/* IEEE 2030.5 aggregator or OpenADR VEN */
	PKI_OPERATOR,				/* a human or tool on the JSON API */
	PKI_SERVER,					/* a listener (sep2-server, vtn-server) */
	PKI_CA						/* the root or the intermediate */
} pki_kind;

/* One certificate written by this module. */
typedef struct pki_issued
{
	char		name[PKI_NAME_MAX + 1]; /* "device-demo", "ca" ... */
	pki_kind	kind;
	char		cert_path[PATH_MAX];	/* DIR/NAME.pem */
	char		key_path[PATH_MAX]; /* DIR/NAME.key */
	derms_identity id;			/* of the first certificate in cert_path */
} pki_issued;

/* What pki_init wrote, in this order: ca, intermediate, then the leaves. */
typedef struct pki_result
{
	int			count;
	pki_issued	items[PKI_RESULT_MAX];
	char		trust_path[PATH_MAX];	/* DIR/trust.pem */
} pki_result;

/*
 * Create a complete demo PKI in dir (created with mode 0700, parents too,
 * when absent; an existing directory keeps its mode).  DERMS_EEXIST when
 * dir/ca.pem exists and force is false; with force the old PKI is
 * replaced.  res may be NULL.
 */
derms_rc	pki_init(const char *dir, bool force, pki_result *res,
					 derms_err *err);

/*
 * Issue one client certificate of the given kind (PKI_DEVICE,
 * PKI_AGGREGATOR or PKI_OPERATOR, written into the subject's OU), signed by
 * the intermediate in dir, as dir/NAME.pem and dir/NAME.key.  name is 1 to
 * PKI_NAME_MAX of [A-Za-z0-9._-] not starting with '.' (else
 * DERMS_EINVAL).  DERMS_EEXIST when either file exists, DERMS_ENOTFOUND
 * when dir holds no PKI.  out may be NULL.
 */
derms_rc	pki_issue(const char *dir, const char *name, pki_kind kind,
					  pki_issued *out, derms_err *err);

/*
 * Write a device client certificate dir/NAME.pem (leaf + its CA) and
 * dir/NAME.key signed by a brand-new throwaway CA that is in no trust
 * bundle and whose key is discarded: a client from an unknown CA, for
 * tests.  dir must exist; name rules and errors are those of pki_issue.
 */
derms_rc	pki_self_signed_client(const char *dir, const char *name,
								   pki_issued *out, derms_err *err);

/* "device", "aggregator", "operator", "server", "ca"; "unknown" else. */
const char *pki_kind_name(pki_kind kind);

#endif							/* DERMS_PKI_H */
