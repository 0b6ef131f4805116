/*
 * server/config.h
 *	  dermsd's configuration: one INI file, one table of settings.
 *
 * NOTES
 *	  The file is "key = value" lines grouped under "[section]" headers;
 *	  '#' and ';' start comments; values may be double-quoted.  A setting's
 *	  full name is "section.key".  Every setting is a row of the table in
 *	  config.c (name, type, default, bounds, reload class); struct
 *	  derms_config holds the parsed values.  A config is parsed into a fresh
 *	  struct and swapped in only when valid (SIGHUP keeps the old one).
 *	  Strings inside a derms_config are owned by it (config_free).
 */
#ifndef DERMS_CONFIG_H
#define DERMS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "err.h"

#define CONFIG_MAX_PROXIES 16

typedef enum config_reload
{
	CONFIG_RESTART,				/* change takes effect at the next start */
	CONFIG_SIGHUP				/* change takes effect on reload */
} config_reload;

/* One HTTPS (or HTTP, admin only) listener. */
typedef struct config_listener
{
	char	   *address;		/* numeric IPv4 or IPv6 literal */
	int			port;
	int			workers;		/* processes sharing the socket */
	char	   *cert_file;		/* server certificate chain, PEM */
	char	   *key_file;		/* its private key, PEM */
	char	   *ca_file;		/* trust anchors for client certificates */
	char	   *tls_priorities; /* GnuTLS priority string */
} config_listener;

typedef struct derms_config
{
	char	   *path;			/* the file this came from */

	/* [database] */
	char	   *db_conninfo;	/* libpq conninfo, passed as is */
	char	   *db_schema_dir;	/* where NNNN_name.sql migrations live */
	bool		db_migrate;		/* apply migrations at startup */
	int			db_reconnect_max_ms;	/* cap of the reconnect backoff */

	/* [sep2]: the IEEE 2030.5 listener */
	config_listener sep2;
	bool		sep2_tls;		/* false only behind a TLS-terminating proxy */
	char	   *sep2_proxies[CONFIG_MAX_PROXIES];	/* trusted proxy addresses */
	int			sep2_nproxies;
	char	   *sep2_proxy_header;	/* header carrying the client's LFDI */
	int			sep2_identity_cache_s;	/* cert-to-role cache lifetime */
	char	   *sep2_time_zone; /* IANA zone served in /tm */
	int			sep2_poll_rate_s;	/* pollRate of discovery, time, lists */
	int			sep2_der_poll_rate_s;	/* pollRate of DER programs and DERs */
	int			sep2_post_rate_s;	/* EndDevice postRate (telemetry) */

	/* [vtn]: the OpenADR VTN and JSON API listener */
	config_listener vtn;
	char	   *vtn_token_key_file; /* ES256 signing key, PEM; NULL: no issuing */
	int			vtn_token_ttl_s;
	char	   *vtn_token_issuer;
	char	   *vtn_public_url; /* "" : from the Host header */
	char	   *vtn_jwks_file;	/* external issuer's keys; NULL: none */
	char	   *vtn_jwks_issuer;

	/* [admin]: health and metrics, plain HTTP */
	config_listener admin;

	/* [http]: limits shared by all listeners */
	int			http_body_max;	/* bytes */
	int			http_header_timeout_s;
	int			http_idle_timeout_s;
	int			http_connection_limit;	/* per worker */
	int			http_memory_limit;	/* per connection, bytes */

	/* [dispatch], [notify] */
	int			dispatch_workers;
	int			dispatch_interval_s;	/* between the role's passes */
	int			dispatch_horizon_h;
	int			dispatch_tolerance_pct; /* setpoint miss, % of rating */
	int			dispatch_soc_tolerance_pct; /* SoC drift, percentage points */
	int			dispatch_offline_polls; /* sep2.post_rate_s periods */
	int			notify_workers;
	bool		notify_allow_http_loopback;	/* plain http to loopback */
	char	   *notify_allow_networks;	/* CIDRs exempt from the SSRF rules */
	char	   *notify_ca_file; /* trust anchors for receivers; NULL: system */
	int			notify_timeout_s;	/* per delivery, connect included */
	int			notify_max_attempts;
	int			notify_max_age_s;	/* give up on older rows */
	int			notify_backoff_s;	/* first retry delay, doubled each time */
	int			notify_endpoint_dead_after; /* consecutive failures */
	int			notify_endpoint_cooloff_s;	/* dead endpoint probe interval */
	int			notify_retention_days;	/* finished rows kept */

	/* [mqtt]: the OpenADR MQTT notifier binding */
	bool		mqtt_enabled;
	char	   *mqtt_host;		/* the broker the notify role publishes to */
	int			mqtt_port;
	char	   *mqtt_ca_file;	/* trust anchors for the broker; served as caCert */
	char	   *mqtt_cert_file; /* the publisher's client certificate */
	char	   *mqtt_key_file;
	char	   *mqtt_public_uri;	/* "" : mqtts://host:port */

	/* [supervisor] */
	int			shutdown_timeout_s;

	/* [log] */
	int			log_level;		/* LOG_ERR .. LOG_DEBUG */
} derms_config;

/*
 * Parse the file at path into *cfg (zeroed first, defaults applied, then
 * the file, then cross-checks).  On failure *cfg is freed and err names the
 * file, the line and the key: 'dermsd.conf:12: unknown key "sep2.prot"'.
 */
derms_rc	config_load(const char *path, derms_config *cfg, derms_err *err);

/* Same, from a string (for tests); name is used in messages. */
derms_rc	config_load_string(const char *name, const char *text,
							   derms_config *cfg, derms_err *err);

void		config_free(derms_config *cfg);

/*
 * Names of the RESTART-class settings whose values differ between old and
 * new, written comma-separated into buf ("" when none).  A reload keeps the
 * old value of those and logs that a restart is needed.
 */
void		config_restart_changes(const derms_config *old_cfg,
								   const derms_config *new_cfg,
								   char *buf, size_t buflen);

/*
 * Give next the current values of the RESTART-class settings that differ
 * (a reload takes over only what can change without a restart).
 */
derms_rc	config_keep_restart(derms_config *next, const derms_config *cur,
								derms_err *err);

/* Write every setting with its default, type, bounds and reload class, as
 * the documented example file (deploy/dermsd.conf.example). */
void		config_write_example(FILE *out);

/*
 * Full name ("section.key") of the i-th row of the settings table, or NULL
 * when i is past the end; borrowed (static).  For tests and dermsctl.
 */
const char *config_setting_name(size_t i);

#endif							/* DERMS_CONFIG_H */
