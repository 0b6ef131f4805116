/*
 * server/notify.h
 *	  The notification outbox: enqueueing webhook deliveries inside the
 *	  caller's transaction, the rules deciding which addresses a delivery
 *	  may connect to, and the "notify" worker role that delivers them.
 *
 * NOTES
 *	  Producers (IEEE 2030.5 subscriptions, OpenADR 3 webhooks) call
 *	  notify_enqueue() in the transaction that makes the change, so a
 *	  committed change always has its notification queued and an aborted
 *	  one never does.  Delivery is at least once: receivers must tolerate
 *	  duplicates.  The table and the life of a row are described in
 *	  schema/0009_notify_outbox.sql.
 */
#ifndef DERMS_NOTIFY_H
#define DERMS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "arena.h"
#include "db.h"
#include "err.h"
#include "supervisor.h"

#define NOTIFY_CHANNEL "dermsd_outbox"	/* LISTEN/NOTIFY channel */
#define NOTIFY_NO_TENANT 0		/* tenant_id argument: none */
#define NOTIFY_MAX_NETWORKS 32	/* entries of notify.allow_networks */

/*
 * Queue one POST of body (body_len bytes, sent as content_type, with
 * "Authorization: Bearer <bearer>" when bearer is not NULL) to url, in the
 * current transaction of d.  kind names the producer ("sep2",
 * "openadr"); subscription_ref is the producer's opaque id of the
 * subscription; tenant_id is NOTIFY_NO_TENANT or the tenant it concerns.
 * The workers are woken at commit.  *id (may be NULL) receives the row id.
 * Scratch memory comes from a.
 */
derms_rc	notify_enqueue(db *d, arena *a, const char *kind,
						   int64_t tenant_id, const char *subscription_ref,
						   const char *url, const char *bearer,
						   const char *content_type, const void *body,
						   size_t body_len, int64_t *id, derms_err *err);

/* What an address is, as far as the SSRF rules care. */
typedef enum notify_addr_class
{
	NOTIFY_ADDR_PUBLIC = 0,		/* global unicast */
	NOTIFY_ADDR_UNSPECIFIED,	/* 0.0.0.0/8, :: */
	NOTIFY_ADDR_LOOPBACK,		/* 127.0.0.0/8, ::1 */
	NOTIFY_ADDR_PRIVATE,		/* RFC 1918, fec0::/10 */
	NOTIFY_ADDR_LINK_LOCAL,		/* 169.254.0.0/16, fe80::/10 */
	NOTIFY_ADDR_UNIQUE_LOCAL,	/* fc00::/7 */
	NOTIFY_ADDR_MULTICAST,		/* 224.0.0.0/4, ff00::/8 */
	NOTIFY_ADDR_CGNAT,			/* 100.64.0.0/10 */
	NOTIFY_ADDR_RESERVED		/* documentation, benchmarking, 240/4, ... */
} notify_addr_class;

/*
 * Class of an AF_INET or AF_INET6 socket address.  IPv4-mapped, NAT64
 * (64:ff9b::/96) and 6to4 addresses are classed by the IPv4 address they
 * carry.  Other families are NOTIFY_ADDR_RESERVED.
 */
notify_addr_class notify_addr_classify(const struct sockaddr *sa);

/* "public", "loopback", "link-local" ...; static. */
const char *notify_addr_class_name(notify_addr_class c);

typedef struct notify_network
{
	int			family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* host bits cleared */
	int			prefix;
} notify_network;

typedef struct notify_networks
{
	int			n;
	notify_network net[NOTIFY_MAX_NETWORKS];
} notify_networks;

/* Parse "10.1.0.0/16, fd00::/8, 192.0.2.7" ("" is the empty list). */
derms_rc	notify_networks_parse(const char *text, notify_networks *out,
								  derms_err *err);

/* Is sa in one of nets?  IPv4-mapped addresses match IPv4 networks. */
bool		notify_networks_contain(const notify_networks *nets,
									const struct sockaddr *sa);

/* Which connections a delivery may make. */
typedef struct notify_policy
{
	bool		allow_http_loopback;
	notify_networks allow;
} notify_policy;

/*
 * May a delivery (plain_http: the URL's scheme is http) connect to sa?
 * When not, why (why_len bytes) says so in one line.
 */
bool		notify_addr_allowed(const notify_policy *p, bool plain_http,
								const struct sockaddr *sa, char *why,
								size_t why_len);

/*
 * Delay before the next attempt after the attempts-th failed one: base_s
 * doubled per further attempt, capped at an hour, then "equal jitter"
 * (uniformly in [d/2, d]) drawn from rnd.  Milliseconds.
 */
int64_t		notify_backoff_ms(int base_s, int attempts, uint32_t rnd);

/* The "notify" role's main function (see worker_main_fn). */
int			notify_main(derms_config *cfg, const worker_env *env);

#endif							/* DERMS_NOTIFY_H */
