/*
 * server/config.c
 *	  dermsd's configuration file: the settings table, the INI parser, the
 *	  cross-checks and the generator of the documented example file.
 *
 *	  Every setting is one row of config_settings[]: full name, type,
 *	  default, bounds, flags, where it lives in struct derms_config, its
 *	  reload class and a one-line description.  Loading zeroes the struct,
 *	  parses every row's default through the same code that parses the
 *	  file, then the file, then runs the cross-checks (config_checks[]) that
 *	  involve more than one setting.  Nothing here knows a key by name
 *	  except the cross-checks.
 *
 * NOTES
 *	  Syntax: "[section]" headers and "key = value" lines.  '#' and ';'
 *	  begin a comment at the start of a line or after whitespace outside
 *	  quotes.  A value may be double-quoted; inside quotes \" and \\ are
 *	  the only escapes (any other backslash is kept as is).  Leading and
 *	  trailing whitespace of unquoted values is dropped.  A section may be
 *	  opened more than once; a key may be set only once per file.
 *
 *	  Relative paths are resolved against the directory of the file
 *	  (realpath of that directory), so every stored path is absolute.  The
 *	  rest of a path is kept as written, ".." and symlinks included, so a
 *	  certificate behind a renewal tool's symlink is re-read on SIGHUP.
 *	  Files named by CONFIG_FILE settings must be readable when the file is
 *	  loaded; their contents are checked by whoever opens them.
 *
 *	  All strings in a derms_config are malloc'd and owned by it;
 *	  config_free() walks the table to release them.  On any failure
 *	  config_load() leaves the struct freed and zeroed.  Not thread-safe;
 *	  runs in the supervisor (and in tests).
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

#ifndef DERMS_PREFIX
#define DERMS_PREFIX "/usr/local"
#endif

#define CONFIG_LINE_MAX 4096	/* bytes per line, newline excluded */
#define CONFIG_FILE_MAX (1024 * 1024)	/* bytes per file */
#define CONFIG_NAME_MAX 64		/* "section.key" */
#define CONFIG_MAX_SETTINGS 96
#define CONFIG_SHOW_MAX 100		/* bytes of a bad value quoted in errors */
#define CONFIG_DEFAULT_SHOW 32	/* longer defaults are not repeated */

#define lengthof(array) (sizeof(array) / sizeof((array)[0]))

/* Row flags. */
#define CONFIG_NONEMPTY 0x01	/* an empty value is an error */
#define CONFIG_FILE		0x02	/* path must name a readable file */
#define CONFIG_LOOPBACK 0x04	/* address must be 127.0.0.0/8 or ::1 */
#define CONFIG_TZNAME	0x08	/* an IANA zone in the system tz database */

#define CONFIG_ZONEINFO "/usr/share/zoneinfo"

typedef enum config_type
{
	CONFIG_INT,
	CONFIG_BOOL,
	CONFIG_STRING,
	CONFIG_PATH,
	CONFIG_ADDRESS,
	CONFIG_LEVEL,
	CONFIG_ADDRLIST
} config_type;

/* One row of the settings table. */
typedef struct config_setting
{
	const char *name;			/* "section.key" */
	config_type type;
	const char *def;			/* default as written in the file; NULL: none */
	int			min;			/* CONFIG_INT bounds, inclusive */
	int			max;
	int			flags;			/* CONFIG_NONEMPTY ... */
	size_t		offset;			/* of the value in derms_config */
	size_t		count_offset;	/* CONFIG_ADDRLIST: of its int count */
	config_reload reload;
	const char *desc;			/* one line, for the example file */
} config_setting;

/* State of one load. */
typedef struct config_parse
{
	const char *name;			/* file name as given, for messages */
	const char *dir;			/* absolute directory for relative paths */
	derms_config *cfg;
	derms_err  *err;
	int			line;			/* current line; 0 for defaults */
	char		section[CONFIG_NAME_MAX];	/* "" before the first header */
	int			set_line[CONFIG_MAX_SETTINGS];	/* 0: not in the file */
} config_parse;

typedef derms_rc (*config_parse_fn) (config_parse *p, const config_setting *s,
									 const char *value);
typedef void (*config_release_fn) (derms_config *cfg, const config_setting *s);
typedef bool (*config_equal_fn) (const derms_config *a, const derms_config *b,
								 const config_setting *s);

/* What each type does; indexed by config_type. */
typedef struct config_type_ops
{
	const char *name;			/* shown in the example file */
	bool		quoted;			/* write the default in double quotes */
	config_parse_fn parse;
	config_release_fn release;	/* NULL when nothing is owned */
	config_equal_fn equal;
} config_type_ops;

/* A setting required whenever applies() is true (after parsing). */
typedef struct config_requirement
{
	const char *name;
	const char *cause;			/* setting whose line to blame, or NULL */
	bool		(*applies) (const derms_config *cfg);
	const char *why;
} config_requirement;

typedef derms_rc (*config_check_fn) (config_parse *p);

/* A numeric address, for comparisons. */
typedef struct config_addr
{
	int			family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];
} config_addr;

static derms_rc parse_int(config_parse *p, const config_setting *s,
						  const char *value);
static derms_rc parse_bool(config_parse *p, const config_setting *s,
						   const char *value);
static derms_rc parse_string(config_parse *p, const config_setting *s,
							 const char *value);
static derms_rc parse_path(config_parse *p, const config_setting *s,
						   const char *value);
static derms_rc parse_address(config_parse *p, const config_setting *s,
							  const char *value);
static derms_rc parse_level(config_parse *p, const config_setting *s,
							const char *value);
static derms_rc parse_addrlist(config_parse *p, const config_setting *s,
							   const char *value);
static bool tz_name_known(const char *name);
static void release_string(derms_config *cfg, const config_setting *s);
static void release_addrlist(derms_config *cfg, const config_setting *s);
static bool equal_int(const derms_config *a, const derms_config *b,
					  const config_setting *s);
static bool equal_bool(const derms_config *a, const derms_config *b,
					   const config_setting *s);
static bool equal_string(const derms_config *a, const derms_config *b,
						 const config_setting *s);
static bool equal_addrlist(const derms_config *a, const derms_config *b,
						   const config_setting *s);
static bool applies_always(const derms_config *cfg);
static bool applies_sep2_tls(const derms_config *cfg);
static bool applies_mqtt(const derms_config *cfg);
static derms_rc check_required(config_parse *p);
static derms_rc check_plain_sep2(config_parse *p);
static derms_rc check_ports(config_parse *p);
static derms_rc check_jwks(config_parse *p);
static derms_rc check_notify_networks(config_parse *p);
static derms_rc config_error(config_parse *p, int line, derms_rc code,
							 const char *fmt,...)
			__attribute__((format(printf, 4, 5)));

#define CFG_OFF(member) offsetof(derms_config, member)

/* Listener rows differ only in their section; these keep them aligned. */
#define LISTENER_ADDRESS(sect, reload_, desc_) \
	{#sect ".address", CONFIG_ADDRESS, "127.0.0.1", 0, 0, CONFIG_NONEMPTY, \
	 CFG_OFF(sect.address), 0, reload_, desc_}
#define LISTENER_PORT(sect, def_, desc_) \
	{#sect ".port", CONFIG_INT, def_, 1, 65535, 0, CFG_OFF(sect.port), 0, \
	 CONFIG_RESTART, desc_}

/*
 * The settings.  Rows of one section stay together: the example file and
 * the list of known sections are derived from this order.
 */
static const config_setting config_settings[] = {
	/* [database] */
	{"database.conninfo", CONFIG_STRING, "dbname=dermsd", 0, 0,
		CONFIG_NONEMPTY, CFG_OFF(db_conninfo), 0, CONFIG_SIGHUP,
	"libpq connection string, passed to PQconnectdb as is"},
	{"database.schema_dir", CONFIG_PATH, DERMS_PREFIX "/share/dermsd/schema",
		0, 0, CONFIG_NONEMPTY, CFG_OFF(db_schema_dir), 0, CONFIG_RESTART,
	"directory holding the NNNN_name.sql schema migrations"},
	{"database.migrate", CONFIG_BOOL, "true", 0, 0, 0,
		CFG_OFF(db_migrate), 0, CONFIG_RESTART,
	"apply pending schema migrations at startup"},
	{"database.reconnect_max_ms", CONFIG_INT, "30000", 100, 600000, 0,
		CFG_OFF(db_reconnect_max_ms), 0, CONFIG_SIGHUP,
	"longest wait between database reconnection attempts, in milliseconds"},

	/* [sep2] */
	LISTENER_ADDRESS(sep2, CONFIG_RESTART,
					 "address of the IEEE 2030.5 listener"),
	LISTENER_PORT(sep2, "8443", "TCP port of the IEEE 2030.5 listener"),
	{"sep2.workers", CONFIG_INT, "2", 1, 64, 0,
		CFG_OFF(sep2.workers), 0, CONFIG_RESTART,
	"http worker processes sharing the IEEE 2030.5 socket"},
	{"sep2.cert_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(sep2.cert_file), 0, CONFIG_SIGHUP,
	"server certificate chain (PEM); required when sep2.tls is true"},
	{"sep2.key_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(sep2.key_file), 0, CONFIG_SIGHUP,
	"private key of sep2.cert_file (PEM); required when sep2.tls is true"},
	{"sep2.ca_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(sep2.ca_file), 0, CONFIG_SIGHUP,
	"trust anchors for device certificates (PEM); required when sep2.tls "
	"is true"},
	{"sep2.tls_priorities", CONFIG_STRING,
		"NONE:+VERS-TLS1.2:+ECDHE-ECDSA:+AES-128-CCM-8:+AEAD:"
		"+SIGN-ECDSA-SHA256:+GROUP-SECP256R1:+COMP-NULL:+CTYPE-X509",
		0, 0, CONFIG_NONEMPTY, CFG_OFF(sep2.tls_priorities), 0, CONFIG_SIGHUP,
	"GnuTLS priority string; the default is the IEEE 2030.5 cipher suite"},
	{"sep2.tls", CONFIG_BOOL, "true", 0, 0, 0,
		CFG_OFF(sep2_tls), 0, CONFIG_RESTART,
	"terminate TLS here; false only behind a TLS-terminating proxy on "
	"this host"},
	{"sep2.trusted_proxies", CONFIG_ADDRLIST, "", 0, 0, 0,
		CFG_OFF(sep2_proxies), CFG_OFF(sep2_nproxies), CONFIG_SIGHUP,
	"proxies allowed to set sep2.proxy_header, comma or space separated"},
	{"sep2.proxy_header", CONFIG_STRING, "X-Client-LFDI", 0, 0,
		CONFIG_NONEMPTY, CFG_OFF(sep2_proxy_header), 0, CONFIG_SIGHUP,
	"request header in which a trusted proxy passes the client's LFDI"},
	{"sep2.identity_cache_s", CONFIG_INT, "30", 0, 3600, 0,
		CFG_OFF(sep2_identity_cache_s), 0, CONFIG_SIGHUP,
	"seconds a certificate-to-identity lookup is cached; 0 disables"},
	{"sep2.time_zone", CONFIG_STRING, "UTC", 0, 0,
		CONFIG_NONEMPTY | CONFIG_TZNAME, CFG_OFF(sep2_time_zone), 0, CONFIG_SIGHUP,
	"IANA time zone of the service territory, served in the Time resource"},
	{"sep2.poll_rate_s", CONFIG_INT, "900", 1, 86400, 0,
		CFG_OFF(sep2_poll_rate_s), 0, CONFIG_SIGHUP,
	"pollRate of DeviceCapability, Time, EndDevice and mirror lists, in seconds"},
	{"sep2.der_poll_rate_s", CONFIG_INT, "300", 1, 86400, 0,
		CFG_OFF(sep2_der_poll_rate_s), 0, CONFIG_SIGHUP,
	"pollRate of FunctionSetAssignments, DER programs and DER lists, in seconds"},
	{"sep2.post_rate_s", CONFIG_INT, "300", 1, 86400, 0,
		CFG_OFF(sep2_post_rate_s), 0, CONFIG_SIGHUP,
	"default EndDevice postRate (telemetry interval); end_devices.post_rate overrides"},

	/* [vtn] */
	LISTENER_ADDRESS(vtn, CONFIG_RESTART,
					 "address of the OpenADR VTN and JSON API listener"),
	LISTENER_PORT(vtn, "8444", "TCP port of the OpenADR VTN listener"),
	{"vtn.workers", CONFIG_INT, "1", 1, 64, 0,
		CFG_OFF(vtn.workers), 0, CONFIG_RESTART,
	"http worker processes sharing the VTN socket"},
	{"vtn.cert_file", CONFIG_PATH, NULL, 0, 0, CONFIG_NONEMPTY | CONFIG_FILE,
		CFG_OFF(vtn.cert_file), 0, CONFIG_SIGHUP,
	"server certificate chain (PEM); required"},
	{"vtn.key_file", CONFIG_PATH, NULL, 0, 0, CONFIG_NONEMPTY | CONFIG_FILE,
		CFG_OFF(vtn.key_file), 0, CONFIG_SIGHUP,
	"private key of vtn.cert_file (PEM); required"},
	{"vtn.ca_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(vtn.ca_file), 0, CONFIG_SIGHUP,
	"trust anchors for client certificates (PEM); optional"},
	{"vtn.tls_priorities", CONFIG_STRING,
		"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"
		"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:-VERS-SSL3.0",
		0, 0, CONFIG_NONEMPTY, CFG_OFF(vtn.tls_priorities), 0, CONFIG_SIGHUP,
	"GnuTLS priority string of the VTN listener"},
	{"vtn.token_key_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(vtn_token_key_file), 0, CONFIG_SIGHUP,
	"EC P-256 private key (PEM) that signs OpenADR access tokens (ES256); "
	"without it /auth/token answers 501"},
	{"vtn.token_ttl_s", CONFIG_INT, "3600", 60, 86400, 0,
		CFG_OFF(vtn_token_ttl_s), 0, CONFIG_SIGHUP,
	"lifetime of an access token issued by /auth/token, in seconds"},
	{"vtn.token_issuer", CONFIG_STRING, "dermsd", 0, 0, CONFIG_NONEMPTY,
		CFG_OFF(vtn_token_issuer), 0, CONFIG_SIGHUP,
	"\"iss\" of the tokens this server issues, and required of them"},
	{"vtn.public_url", CONFIG_STRING, "", 0, 0, 0,
		CFG_OFF(vtn_public_url), 0, CONFIG_SIGHUP,
	"external base URL of the VTN (https://host:port), served in /auth/server; "
	"empty: taken from the request's Host header"},
	{"vtn.jwks_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(vtn_jwks_file), 0, CONFIG_SIGHUP,
	"JWKS of an external token issuer (P-256 keys); optional"},
	{"vtn.jwks_issuer", CONFIG_STRING, "", 0, 0, 0,
		CFG_OFF(vtn_jwks_issuer), 0, CONFIG_SIGHUP,
	"\"iss\" required of tokens checked against vtn.jwks_file"},

	/* [admin] */
	{"admin.address", CONFIG_ADDRESS, "127.0.0.1", 0, 0,
		CONFIG_NONEMPTY | CONFIG_LOOPBACK, CFG_OFF(admin.address), 0,
		CONFIG_RESTART,
	"address of the health and metrics listener (plain HTTP, loopback only)"},
	LISTENER_PORT(admin, "9090", "TCP port of the health and metrics listener"),

	/* [http] */
	{"http.body_max", CONFIG_INT, "1048576", 1024, 67108864, 0,
		CFG_OFF(http_body_max), 0, CONFIG_SIGHUP,
	"largest request body accepted, in bytes"},
	{"http.header_timeout_s", CONFIG_INT, "10", 1, 300, 0,
		CFG_OFF(http_header_timeout_s), 0, CONFIG_RESTART,
	"seconds a client may take to send the request headers"},
	{"http.idle_timeout_s", CONFIG_INT, "60", 1, 3600, 0,
		CFG_OFF(http_idle_timeout_s), 0, CONFIG_RESTART,
	"seconds an idle keep-alive connection is kept open"},
	{"http.connection_limit", CONFIG_INT, "1024", 1, 100000, 0,
		CFG_OFF(http_connection_limit), 0, CONFIG_RESTART,
	"open connections per http worker"},
	{"http.memory_limit", CONFIG_INT, "65536", 32768, 16777216, 0,
		CFG_OFF(http_memory_limit), 0, CONFIG_RESTART,
	"memory per connection for headers and buffers, in bytes (zeroed per request)"},

	/* [dispatch], [notify] */
	{"dispatch.workers", CONFIG_INT, "1", 0, 16, 0,
		CFG_OFF(dispatch_workers), 0, CONFIG_RESTART,
	"dispatch scheduler processes; 0 disables dispatch"},
	{"dispatch.interval_s", CONFIG_INT, "60", 1, 3600, 0,
		CFG_OFF(dispatch_interval_s), 0, CONFIG_SIGHUP,
	"seconds between the dispatch role's checks of aggregations with targets"},
	{"dispatch.horizon_h", CONFIG_INT, "24", 1, 48, 0,
		CFG_OFF(dispatch_horizon_h), 0, CONFIG_SIGHUP,
	"hours of targets a dispatch run plans for"},
	{"dispatch.tolerance_pct", CONFIG_INT, "10", 1, 100, 0,
		CFG_OFF(dispatch_tolerance_pct), 0, CONFIG_SIGHUP,
	"re-dispatch when delivered power misses a setpoint by this % of rating"},
	{"dispatch.soc_tolerance_pct", CONFIG_INT, "5", 1, 100, 0,
		CFG_OFF(dispatch_soc_tolerance_pct), 0, CONFIG_SIGHUP,
	"re-dispatch when a SoC is this many points away from the schedule"},
	{"dispatch.offline_polls", CONFIG_INT, "3", 1, 1000, 0,
		CFG_OFF(dispatch_offline_polls), 0, CONFIG_SIGHUP,
	"sep2.post_rate_s periods without a DERStatus before a resource is offline"},
	{"notify.workers", CONFIG_INT, "1", 0, 16, 0,
		CFG_OFF(notify_workers), 0, CONFIG_RESTART,
	"subscription notification processes; 0 disables notifications"},
	{"notify.allow_http_loopback", CONFIG_BOOL, "false", 0, 0, 0,
		CFG_OFF(notify_allow_http_loopback), 0, CONFIG_SIGHUP,
	"allow plain http:// notification URLs, to loopback addresses only "
	"(tests and local receivers)"},
	{"notify.allow_networks", CONFIG_STRING, "", 0, 0, 0,
		CFG_OFF(notify_allow_networks), 0, CONFIG_SIGHUP,
	"CIDRs a notification may reach although private, loopback, link-local "
	"or reserved, comma separated"},
	{"notify.ca_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(notify_ca_file), 0, CONFIG_SIGHUP,
	"trust anchors (PEM) for notification receivers; default: the system's"},
	{"notify.timeout_s", CONFIG_INT, "10", 1, 300, 0,
		CFG_OFF(notify_timeout_s), 0, CONFIG_SIGHUP,
	"seconds one delivery may take, connecting included"},
	{"notify.max_attempts", CONFIG_INT, "10", 1, 100, 0,
		CFG_OFF(notify_max_attempts), 0, CONFIG_SIGHUP,
	"delivery attempts before a notification is given up (dead)"},
	{"notify.max_age_s", CONFIG_INT, "86400", 60, 2592000, 0,
		CFG_OFF(notify_max_age_s), 0, CONFIG_SIGHUP,
	"seconds after which a failing notification is given up (dead)"},
	{"notify.backoff_s", CONFIG_INT, "10", 1, 3600, 0,
		CFG_OFF(notify_backoff_s), 0, CONFIG_SIGHUP,
	"delay before the first retry, doubled for each further one (with jitter, "
	"at most an hour)"},
	{"notify.endpoint_dead_after", CONFIG_INT, "5", 1, 1000, 0,
		CFG_OFF(notify_endpoint_dead_after), 0, CONFIG_SIGHUP,
	"consecutive failures after which a receiver is marked dead"},
	{"notify.endpoint_cooloff_s", CONFIG_INT, "300", 1, 86400, 0,
		CFG_OFF(notify_endpoint_cooloff_s), 0, CONFIG_SIGHUP,
	"seconds between single probe deliveries to a dead receiver"},
	{"notify.retention_days", CONFIG_INT, "7", 1, 3650, 0,
		CFG_OFF(notify_retention_days), 0, CONFIG_SIGHUP,
	"days delivered, dead and refused notifications are kept"},

	/* [mqtt] */
	{"mqtt.enabled", CONFIG_BOOL, "false", 0, 0, 0,
		CFG_OFF(mqtt_enabled), 0, CONFIG_RESTART,
	"publish OpenADR notifications to an MQTT broker too, and list the "
	"binding in /notifiers"},
	{"mqtt.host", CONFIG_STRING, "127.0.0.1", 0, 0, CONFIG_NONEMPTY,
		CFG_OFF(mqtt_host), 0, CONFIG_RESTART,
	"host name or address of the MQTT broker (TLS)"},
	{"mqtt.port", CONFIG_INT, "8883", 1, 65535, 0,
		CFG_OFF(mqtt_port), 0, CONFIG_RESTART,
	"TCP port of the MQTT broker"},
	{"mqtt.ca_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(mqtt_ca_file), 0, CONFIG_RESTART,
	"trust anchors (PEM) of the broker's certificate, also served to "
	"clients as caCert; required when mqtt.enabled is true"},
	{"mqtt.cert_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(mqtt_cert_file), 0, CONFIG_RESTART,
	"the publisher's client certificate chain (PEM); required when "
	"mqtt.enabled is true"},
	{"mqtt.key_file", CONFIG_PATH, NULL, 0, 0, CONFIG_FILE,
		CFG_OFF(mqtt_key_file), 0, CONFIG_RESTART,
	"private key of mqtt.cert_file (PEM); required when mqtt.enabled is true"},
	{"mqtt.public_uri", CONFIG_STRING, "", 0, 0, 0,
		CFG_OFF(mqtt_public_uri), 0, CONFIG_SIGHUP,
	"broker URI served in /notifiers (mqtts://host:port); empty: made of "
	"mqtt.host and mqtt.port"},

	/* [supervisor] */
	{"supervisor.shutdown_timeout_s", CONFIG_INT, "5", 1, 300, 0,
		CFG_OFF(shutdown_timeout_s), 0, CONFIG_SIGHUP,
	"seconds children get to finish after SIGTERM before SIGKILL"},

	/* [log] */
	{"log.level", CONFIG_LEVEL, "info", 0, 0, 0,
		CFG_OFF(log_level), 0, CONFIG_SIGHUP,
	"most verbose level logged: error, warning, info or debug"},
};

#define CONFIG_NSETTINGS lengthof(config_settings)

_Static_assert(CONFIG_NSETTINGS <= CONFIG_MAX_SETTINGS,
			   "raise CONFIG_MAX_SETTINGS");

static const config_type_ops config_types[] = {
	[CONFIG_INT] = {"integer", false, parse_int, NULL, equal_int},
	[CONFIG_BOOL] = {"boolean (true or false)", false, parse_bool, NULL,
	equal_bool},
	[CONFIG_STRING] = {"string", true, parse_string, release_string,
	equal_string},
	[CONFIG_PATH] = {"path", true, parse_path, release_string, equal_string},
	[CONFIG_ADDRESS] = {"numeric IPv4 or IPv6 address", false, parse_address,
	release_string, equal_string},
	[CONFIG_LEVEL] = {"error, warning, info or debug", false, parse_level,
	NULL, equal_int},
	[CONFIG_ADDRLIST] = {"list of numeric IPv4 or IPv6 addresses", true,
	parse_addrlist, release_addrlist, equal_addrlist},
};

static const struct
{
	const char *word;
	bool		value;
}			config_bool_words[] = {
	{"true", true}, {"false", false},
	{"yes", true}, {"no", false},
	{"on", true}, {"off", false},
	{"1", true}, {"0", false},
};

static const config_requirement config_requirements[] = {
	{"sep2.cert_file", "sep2.tls", applies_sep2_tls,
	"required when \"sep2.tls\" is true"},
	{"sep2.key_file", "sep2.tls", applies_sep2_tls,
	"required when \"sep2.tls\" is true"},
	{"sep2.ca_file", "sep2.tls", applies_sep2_tls,
	"required when \"sep2.tls\" is true (devices are known by their "
	"certificates)"},
	{"vtn.cert_file", NULL, applies_always,
	"the vtn listener always uses TLS"},
	{"vtn.key_file", NULL, applies_always,
	"the vtn listener always uses TLS"},
	{"mqtt.ca_file", "mqtt.enabled", applies_mqtt,
	"required when \"mqtt.enabled\" is true"},
	{"mqtt.cert_file", "mqtt.enabled", applies_mqtt,
	"required when \"mqtt.enabled\" is true"},
	{"mqtt.key_file", "mqtt.enabled", applies_mqtt,
	"required when \"mqtt.enabled\" is true"},
};

/* The listeners whose address and port must not collide. */
static const struct
{
	const char *address;		/* setting names */
	const char *port;
	size_t		offset;			/* of the config_listener */
}			config_listeners[] = {
	{"sep2.address", "sep2.port", CFG_OFF(sep2)},
	{"vtn.address", "vtn.port", CFG_OFF(vtn)},
	{"admin.address", "admin.port", CFG_OFF(admin)},
};

/* Run in order after the whole file parsed; the first failure wins. */
static const config_check_fn config_checks[] = {
	check_required,
	check_plain_sep2,
	check_ports,
	check_jwks,
	check_notify_networks,
};

#define CONFIG_NCHECKS lengthof(config_checks)

/* ---------------------------------------------------------------- helpers */

static void *
field(derms_config *cfg, const config_setting *s)
{
	return (char *) cfg + s->offset;
}

static const void *
cfield(const derms_config *cfg, const config_setting *s)
{
	return (const char *) cfg + s->offset;
}

static const config_setting *
setting_find(const char *name, size_t *index)
{
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		if (strcmp(config_settings[i].name, name) == 0)
		{
			if (index)
				*index = i;
			return &config_settings[i];
		}
	}
	return NULL;
}

/* Line that set the named setting in the file, 0 when it kept its default. */
static int
setting_line(const config_parse *p, const char *name)
{
	size_t		i;

	if (setting_find(name, &i) == NULL)
	{
		assert(!"cross-check names an unknown setting");
		return 0;
	}
	return p->set_line[i];
}

/* Length of the section part of a full name ("sep2" in "sep2.port"). */
static size_t
section_len(const char *name)
{
	const char *dot = strchr(name, '.');

	assert(dot != NULL);
	return (size_t) (dot - name);
}

/*
 * Hint listing the known sections (section NULL) or the keys of one
 * section, into err->detail.
 */
static void
hint_names(derms_err *err, const char *section)
{
	char		list[DERMS_ERR_MSG_MAX] = "";
	size_t		used = 0;
	const char *prev = NULL;
	size_t		prevlen = 0;

	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const char *name = config_settings[i].name;
		size_t		len = section_len(name);
		const char *item;
		int			itemlen;
		int			n;

		if (section != NULL)
		{
			if (len != strlen(section) || strncmp(name, section, len) != 0)
				continue;
			item = name + len + 1;
			itemlen = (int) strlen(item);
		}
		else
		{
			if (prev != NULL && len == prevlen &&
				strncmp(name, prev, len) == 0)
				continue;
			prev = name;
			prevlen = len;
			item = name;
			itemlen = (int) len;
		}
		n = snprintf(list + used, sizeof(list) - used, "%s%.*s",
					 used > 0 ? ", " : "", itemlen, item);
		if (n < 0 || (size_t) n >= sizeof(list) - used)
		{
			list[used] = '\0';	/* whole names only */
			break;
		}
		used += (size_t) n;
	}
	if (section != NULL)
		derms_err_detail(err, "keys of [%s]: %s", section, list);
	else
		derms_err_detail(err, "sections: %s", list);
}

static bool
section_known(const char *section)
{
	size_t		len = strlen(section);

	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const char *name = config_settings[i].name;

		if (section_len(name) == len && strncmp(name, section, len) == 0)
			return true;
	}
	return false;
}

/*
 * Fill p->err with "name:line: message" ("name: message" when line is 0)
 * and return code.
 */
static derms_rc
config_error(config_parse *p, int line, derms_rc code, const char *fmt,...)
{
	char		msg[DERMS_ERR_MSG_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return derms_err_set(p->err, code, "%s:%d: %s", p->name, line, msg);
	return derms_err_set(p->err, code, "%s: %s", p->name, msg);
}

static derms_rc
invalid_value(config_parse *p, const config_setting *s, const char *value,
			  const char *reason)
{
	return config_error(p, p->line, DERMS_EPARSE,
						"invalid value \"%.*s\" for \"%s\": %s",
						CONFIG_SHOW_MAX, value, s->name, reason);
}

static derms_rc
out_of_memory(config_parse *p)
{
	return config_error(p, p->line, DERMS_ENOMEM, "out of memory");
}

static bool
addr_parse(const char *text, config_addr *addr)
{
	memset(addr, 0, sizeof(*addr));
	if (inet_pton(AF_INET, text, addr->bytes) == 1)
	{
		addr->family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, addr->bytes) == 1)
	{
		addr->family = AF_INET6;
		return true;
	}
	return false;
}

static bool
addr_is_loopback(const config_addr *addr)
{
	static const unsigned char v6_loopback[16] = {[15] = 1};

	if (addr->family == AF_INET)
		return addr->bytes[0] == 127;
	return memcmp(addr->bytes, v6_loopback, sizeof(v6_loopback)) == 0;
}

static bool
addr_is_any(const config_addr *addr)
{
	static const unsigned char zero[16];
	size_t		len = (addr->family == AF_INET) ? 4 : 16;

	return memcmp(addr->bytes, zero, len) == 0;
}

/* Could a socket bound to a and one bound to b receive the same packets? */
static bool
addr_overlap(const config_addr *a, const config_addr *b)
{
	if (addr_is_any(a) || addr_is_any(b))
		return true;
	return a->family == b->family &&
		memcmp(a->bytes, b->bytes, sizeof(a->bytes)) == 0;
}

/* Canonical text of a numeric address; new string, NULL when not one. */
static char *
addr_canonical(const char *text)
{
	config_addr addr;
	char		buf[INET6_ADDRSTRLEN];

	if (!addr_parse(text, &addr))
		return NULL;
	if (inet_ntop(addr.family, addr.bytes, buf, sizeof(buf)) == NULL)
		return NULL;
	return strdup(buf);
}

static void
set_string(derms_config *cfg, const config_setting *s, char *value_new)
{
	char	  **slot = field(cfg, s);

	free(*slot);
	*slot = value_new;
}

/* ---------------------------------------------------------- value parsers */

static derms_rc
parse_int(config_parse *p, const config_setting *s, const char *value)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (end == value || *end != '\0' || isspace((unsigned char) *value))
		return invalid_value(p, s, value, "not an integer");
	if (errno == ERANGE || v < s->min || v > s->max)
		return config_error(p, p->line, DERMS_ERANGE,
							"value %.*s for \"%s\" is out of range (%d..%d)",
							CONFIG_SHOW_MAX, value, s->name, s->min, s->max);
	*(int *) field(p->cfg, s) = (int) v;
	return DERMS_OK;
}

static derms_rc
parse_bool(config_parse *p, const config_setting *s, const char *value)
{
	for (size_t i = 0; i < lengthof(config_bool_words); i++)
	{
		if (strcasecmp(value, config_bool_words[i].word) == 0)
		{
			*(bool *) field(p->cfg, s) = config_bool_words[i].value;
			return DERMS_OK;
		}
	}
	return invalid_value(p, s, value, "not a boolean (use true or false)");
}

static derms_rc
parse_string(config_parse *p, const config_setting *s, const char *value)
{
	char	   *copy;

	if (*value == '\0' && (s->flags & CONFIG_NONEMPTY))
		return config_error(p, p->line, DERMS_EPARSE,
							"empty value for \"%s\"", s->name);
	if ((s->flags & CONFIG_TZNAME) && !tz_name_known(value))
		return config_error(p, p->line, DERMS_EINVAL,
							"unknown time zone \"%s\" for \"%s\": not in the tz database ("
							CONFIG_ZONEINFO ")", value, s->name);
	copy = strdup(value);
	if (copy == NULL)
		return out_of_memory(p);
	set_string(p->cfg, s, copy);
	return DERMS_OK;
}

/*
 * Is name an IANA zone the C library can load?  Only names made of the
 * characters zones use, with no "..", naming a regular file under the tz
 * database (glibc silently falls back to UTC for unknown names).
 */
static bool
tz_name_known(const char *name)
{
	char		path[512];
	struct stat st;

	if (name[0] == '/' || strstr(name, "..") != NULL ||
		strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			   "0123456789/_+-") != strlen(name))
		return false;
	if (snprintf(path, sizeof(path), "%s/%s", CONFIG_ZONEINFO, name) >= (int) sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static derms_rc
parse_path(config_parse *p, const config_setting *s, const char *value)
{
	char	   *path;
	struct stat st;

	if (*value == '\0')
	{
		if (s->flags & CONFIG_NONEMPTY)
			return config_error(p, p->line, DERMS_EPARSE,
								"empty value for \"%s\"", s->name);
		set_string(p->cfg, s, NULL);
		return DERMS_OK;
	}
	if (value[0] == '/')
		path = strdup(value);
	else
	{
		assert(p->dir != NULL);
		if (asprintf(&path, "%s/%s", p->dir, value) < 0)
			path = NULL;
	}
	if (path == NULL)
		return out_of_memory(p);

	if (s->flags & CONFIG_FILE)
	{
		const char *problem = NULL;

		if (access(path, R_OK) != 0 || stat(path, &st) != 0)
			problem = strerror(errno);
		else if (S_ISDIR(st.st_mode))
			problem = strerror(EISDIR);
		if (problem != NULL)
		{
			derms_rc	rc;

			rc = config_error(p, p->line, DERMS_EIO,
							  "could not read file \"%s\" for \"%s\": %s",
							  path, s->name, problem);
			free(path);
			return rc;
		}
	}
	set_string(p->cfg, s, path);
	return DERMS_OK;
}

static derms_rc
parse_address(config_parse *p, const config_setting *s, const char *value)
{
	config_addr addr;
	char	   *canon;

	if (*value == '\0')
		return config_error(p, p->line, DERMS_EPARSE,
							"empty value for \"%s\"", s->name);
	if (!addr_parse(value, &addr))
		return invalid_value(p, s, value,
							 "not a numeric IPv4 or IPv6 address");
	if ((s->flags & CONFIG_LOOPBACK) && !addr_is_loopback(&addr))
		return invalid_value(p, s, value,
							 "health and metrics are plain HTTP and must stay "
							 "on loopback (127.0.0.0/8 or ::1)");
	canon = addr_canonical(value);
	if (canon == NULL)
		return out_of_memory(p);
	set_string(p->cfg, s, canon);
	return DERMS_OK;
}

static derms_rc
parse_level(config_parse *p, const config_setting *s, const char *value)
{
	int			level = log_level_from_name(value);

	if (level < 0)
		return invalid_value(p, s, value,
							 "expected error, warning, info or debug");
	*(int *) field(p->cfg, s) = level;
	return DERMS_OK;
}

static derms_rc
parse_addrlist(config_parse *p, const config_setting *s, const char *value)
{
	char	   *list[CONFIG_MAX_PROXIES];
	int			n = 0;
	char	   *copy = strdup(value);
	char	   *save = NULL;
	derms_rc	rc = DERMS_OK;

	if (copy == NULL)
		return out_of_memory(p);
	for (char *tok = strtok_r(copy, ", \t", &save); tok != NULL;
		 tok = strtok_r(NULL, ", \t", &save))
	{
		config_addr addr;

		if (!addr_parse(tok, &addr))
		{
			rc = config_error(p, p->line, DERMS_EPARSE,
							  "invalid value \"%.*s\" in \"%s\": not a numeric "
							  "IPv4 or IPv6 address",
							  CONFIG_SHOW_MAX, tok, s->name);
			break;
		}
		if (n == CONFIG_MAX_PROXIES)
		{
			rc = config_error(p, p->line, DERMS_ERANGE,
							  "too many addresses for \"%s\" (at most %d)",
							  s->name, CONFIG_MAX_PROXIES);
			break;
		}
		list[n] = addr_canonical(tok);
		if (list[n] == NULL)
		{
			rc = out_of_memory(p);
			break;
		}
		n++;
	}
	free(copy);
	if (rc != DERMS_OK)
	{
		while (n > 0)
			free(list[--n]);
		return rc;
	}

	release_addrlist(p->cfg, s);
	memcpy(field(p->cfg, s), list, (size_t) n * sizeof(char *));
	*(int *) ((char *) p->cfg + s->count_offset) = n;
	return DERMS_OK;
}

static void
release_string(derms_config *cfg, const config_setting *s)
{
	set_string(cfg, s, NULL);
}

static void
release_addrlist(derms_config *cfg, const config_setting *s)
{
	char	  **list = field(cfg, s);
	int		   *count = (int *) ((char *) cfg + s->count_offset);

	for (int i = 0; i < *count; i++)
	{
		free(list[i]);
		list[i] = NULL;
	}
	*count = 0;
}

static bool
equal_int(const derms_config *a, const derms_config *b,
		  const config_setting *s)
{
	return *(const int *) cfield(a, s) == *(const int *) cfield(b, s);
}

static bool
equal_bool(const derms_config *a, const derms_config *b,
		   const config_setting *s)
{
	return *(const bool *) cfield(a, s) == *(const bool *) cfield(b, s);
}

static bool
strings_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
equal_string(const derms_config *a, const derms_config *b,
			 const config_setting *s)
{
	return strings_equal(*(char *const *) cfield(a, s),
						 *(char *const *) cfield(b, s));
}

static bool
equal_addrlist(const derms_config *a, const derms_config *b,
			   const config_setting *s)
{
	char *const *la = cfield(a, s);
	char *const *lb = cfield(b, s);
	int			na = *(const int *) ((const char *) a + s->count_offset);
	int			nb = *(const int *) ((const char *) b + s->count_offset);

	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!strings_equal(la[i], lb[i]))
			return false;
	return true;
}

/* ------------------------------------------------------------ cross-checks */

static bool
applies_always(const derms_config *cfg)
{
	(void) cfg;
	return true;
}

static bool
applies_sep2_tls(const derms_config *cfg)
{
	return cfg->sep2_tls;
}

static bool
applies_mqtt(const derms_config *cfg)
{
	return cfg->mqtt_enabled;
}

static derms_rc
check_required(config_parse *p)
{
	for (size_t i = 0; i < lengthof(config_requirements); i++)
	{
		const config_requirement *r = &config_requirements[i];
		const config_setting *s = setting_find(r->name, NULL);

		assert(s != NULL && s->type == CONFIG_PATH);
		if (!r->applies(p->cfg) || *(char **) field(p->cfg, s) != NULL)
			continue;
		return config_error(p, r->cause ? setting_line(p, r->cause) : 0,
							DERMS_EINVAL, "missing \"%s\": %s",
							r->name, r->why);
	}
	return DERMS_OK;
}

/* Tokens of an external issuer are believed only with its "iss" named. */
static derms_rc
check_jwks(config_parse *p)
{
	if (p->cfg->vtn_jwks_file == NULL || p->cfg->vtn_jwks_issuer[0] != '\0')
		return DERMS_OK;
	return config_error(p, setting_line(p, "vtn.jwks_file"), DERMS_EINVAL,
						"missing \"vtn.jwks_issuer\": required when "
						"\"vtn.jwks_file\" is set");
}

/* notify.allow_networks must be a list of CIDRs. */
static derms_rc
check_notify_networks(config_parse *p)
{
	notify_networks nets;
	derms_err	err;

	if (notify_networks_parse(p->cfg->notify_allow_networks, &nets, &err) == DERMS_OK)
		return DERMS_OK;
	return config_error(p, setting_line(p, "notify.allow_networks"), DERMS_EINVAL,
						"invalid value for \"notify.allow_networks\": %s", err.msg);
}

/*
 * Without TLS, dermsd cannot see device certificates: the identity comes
 * from a header set by the proxy, so only a proxy on this host may reach
 * the listener and only named proxies are believed.
 */
static derms_rc
check_plain_sep2(config_parse *p)
{
	derms_config *cfg = p->cfg;
	config_addr addr;

	if (cfg->sep2_tls)
		return DERMS_OK;
	if (!addr_parse(cfg->sep2.address, &addr) || !addr_is_loopback(&addr))
	{
		int			line = setting_line(p, "sep2.address");

		return config_error(p, line ? line : setting_line(p, "sep2.tls"),
							DERMS_EINVAL,
							"\"sep2.tls\" is false but \"sep2.address\" %s is "
							"not a loopback address: without TLS the listener "
							"must only be reachable by a TLS-terminating proxy "
							"on this host", cfg->sep2.address);
	}
	if (cfg->sep2_nproxies == 0)
		return config_error(p, setting_line(p, "sep2.tls"), DERMS_EINVAL,
							"\"sep2.tls\" is false but "
							"\"sep2.trusted_proxies\" is empty: without TLS "
							"the client's identity comes only from \"%s\", "
							"so name the proxy that sets it",
							cfg->sep2_proxy_header);
	return DERMS_OK;
}

static derms_rc
check_ports(config_parse *p)
{
	const size_t nlisteners = lengthof(config_listeners);

	for (size_t j = 1; j < nlisteners; j++)
	{
		const config_listener *b = (const config_listener *)
			((const char *) p->cfg + config_listeners[j].offset);

		for (size_t i = 0; i < j; i++)
		{
			const config_listener *a = (const config_listener *)
				((const char *) p->cfg + config_listeners[i].offset);
			config_addr aa,
						ba;
			int			line = 0;
			const char *blame[4];

			if (a->port != b->port)
				continue;
			if (!addr_parse(a->address, &aa) || !addr_parse(b->address, &ba))
				continue;		/* cannot happen: parsed already */
			if (!addr_overlap(&aa, &ba))
				continue;

			/* blame the latest line among the four settings involved */
			blame[0] = config_listeners[i].address;
			blame[1] = config_listeners[i].port;
			blame[2] = config_listeners[j].address;
			blame[3] = config_listeners[j].port;
			for (int k = 0; k < 4; k++)
			{
				int			l = setting_line(p, blame[k]);

				if (l > line)
					line = l;
			}
			if (strcmp(a->address, b->address) == 0)
				return config_error(p, line, DERMS_EINVAL,
									"\"%s\" %d is also used by \"%s\" on "
									"the same address %s",
									config_listeners[j].port, b->port,
									config_listeners[i].port, b->address);
			return config_error(p, line, DERMS_EINVAL,
								"\"%s\" %d is also used by \"%s\" on "
								"overlapping addresses %s and %s",
								config_listeners[j].port, b->port,
								config_listeners[i].port,
								b->address, a->address);
		}
	}
	return DERMS_OK;
}

/* ------------------------------------------------------------------ parser */

static char *
skip_space(char *s)
{
	while (isspace((unsigned char) *s))
		s++;
	return s;
}

static void
trim_right(char *s)
{
	size_t		len = strlen(s);

	while (len > 0 && isspace((unsigned char) s[len - 1]))
		s[--len] = '\0';
}

/* Is the text at s (trimmed on the right) empty or only a comment? */
static bool
only_comment(const char *s)
{
	return *s == '\0' || *s == '#' || *s == ';';
}

/* Keys and section names: letters, digits, '_' and '-'. */
static bool
valid_name(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char) *s) && *s != '_' && *s != '-')
			return false;
	return true;
}

/* s points at '['; the line is trimmed on both sides. */
static derms_rc
parse_section(config_parse *p, char *s)
{
	char	   *close = strchr(s, ']');
	char	   *name;
	char	   *rest;

	if (close == NULL)
		return config_error(p, p->line, DERMS_EPARSE,
							"missing \"]\" in section header \"%.*s\"",
							CONFIG_SHOW_MAX, s);
	*close = '\0';
	rest = close + 1;
	name = skip_space(s + 1);
	trim_right(name);
	if (*rest != '\0' && !(isspace((unsigned char) *rest) &&
						   only_comment(skip_space(rest))))
		return config_error(p, p->line, DERMS_EPARSE,
							"unexpected text after section header \"[%s]\"",
							name);
	if (!valid_name(name) || strlen(name) >= sizeof(p->section) ||
		!section_known(name))
	{
		config_error(p, p->line, DERMS_EPARSE, "unknown section \"[%.*s]\"",
					 CONFIG_SHOW_MAX, name);
		hint_names(p->err, NULL);
		return DERMS_EPARSE;
	}
	strcpy(p->section, name);
	return DERMS_OK;
}

/*
 * Cut the value starting at v (already past the spaces after '=') in
 * place: remove quotes and escapes, or cut a trailing comment and spaces.
 */
static derms_rc
parse_value_text(config_parse *p, const char *key, char *v)
{
	if (*v == '"')
	{
		char	   *in = v + 1;
		char	   *out = v;

		for (;;)
		{
			if (*in == '\0')
				return config_error(p, p->line, DERMS_EPARSE,
									"unterminated quoted value for \"%s\"",
									key);
			if (*in == '"')
				break;
			if (in[0] == '\\' && (in[1] == '"' || in[1] == '\\'))
				in++;
			*out++ = *in++;
		}
		*out = '\0';
		in++;
		if (*in != '\0' && !(isspace((unsigned char) *in) &&
							 only_comment(skip_space(in))))
			return config_error(p, p->line, DERMS_EPARSE,
								"unexpected text after quoted value for \"%s\"",
								key);
		return DERMS_OK;
	}

	/* a comment needs a space before it (v[-1] is a space or the NUL
	 * that replaced '=') */
	for (char *c = v; *c; c++)
	{
		if ((*c == '#' || *c == ';') && isspace((unsigned char) c[-1]))
		{
			*c = '\0';
			break;
		}
	}
	trim_right(v);
	return DERMS_OK;
}

/* s is the line, trimmed on both sides, not a comment nor a section. */
static derms_rc
parse_assignment(config_parse *p, char *s)
{
	char	   *eq = strchr(s, '=');
	char		full[CONFIG_NAME_MAX * 2 + 2];
	const config_setting *setting;
	size_t		index;
	char	   *value;
	derms_rc	rc;

	if (eq == NULL)
		return config_error(p, p->line, DERMS_EPARSE,
							"missing \"=\" after \"%.*s\"", CONFIG_SHOW_MAX, s);
	*eq = '\0';
	trim_right(s);
	if (*s == '\0')
		return config_error(p, p->line, DERMS_EPARSE,
							"missing key before \"=\"");
	if (!valid_name(s) || strlen(s) >= CONFIG_NAME_MAX)
		return config_error(p, p->line, DERMS_EPARSE,
							"invalid key \"%.*s\"", CONFIG_SHOW_MAX, s);
	if (p->section[0] == '\0')
		return config_error(p, p->line, DERMS_EPARSE,
							"key \"%s\" outside of any [section]", s);
	snprintf(full, sizeof(full), "%s.%s", p->section, s);
	setting = setting_find(full, &index);
	if (setting == NULL)
	{
		config_error(p, p->line, DERMS_EPARSE, "unknown key \"%s\"", full);
		hint_names(p->err, p->section);
		return DERMS_EPARSE;
	}
	if (p->set_line[index] != 0)
		return config_error(p, p->line, DERMS_EPARSE,
							"duplicate key \"%s\" (first set on line %d)",
							full, p->set_line[index]);

	value = skip_space(eq + 1);
	rc = parse_value_text(p, full, value);
	if (rc != DERMS_OK)
		return rc;
	rc = config_types[setting->type].parse(p, setting, value);
	if (rc != DERMS_OK)
		return rc;
	p->set_line[index] = p->line;
	return DERMS_OK;
}

static derms_rc
parse_line(config_parse *p, char *line)
{
	char	   *s = skip_space(line);

	trim_right(s);
	if (only_comment(s))
		return DERMS_OK;
	if (*s == '[')
		return parse_section(p, s);
	return parse_assignment(p, s);
}

/* text holds len bytes, no NUL among them; text[len] need not be NUL. */
static derms_rc
parse_text(config_parse *p, const char *text, size_t len)
{
	char		buf[CONFIG_LINE_MAX + 1];
	size_t		pos = 0;

	/* a UTF-8 byte order mark is not part of the first line */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;

	while (pos < len)
	{
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t		linelen = nl ? (size_t) (nl - (text + pos)) : len - pos;
		derms_rc	rc;

		p->line++;
		if (linelen > CONFIG_LINE_MAX)
			return config_error(p, p->line, DERMS_EPARSE,
								"line too long (more than %d bytes)",
								CONFIG_LINE_MAX);
		memcpy(buf, text + pos, linelen);
		buf[linelen] = '\0';
		rc = parse_line(p, buf);
		if (rc != DERMS_OK)
			return rc;
		pos += linelen + 1;
	}
	return DERMS_OK;
}

/* Parse every row's default; only allocation can fail. */
static derms_rc
apply_defaults(config_parse *p)
{
	assert(p->line == 0);
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const config_setting *s = &config_settings[i];
		derms_rc	rc;

		if (s->def == NULL)
			continue;
		rc = config_types[s->type].parse(p, s, s->def);
		/* a default that does not parse is our bug */
		assert(rc == DERMS_OK || rc == DERMS_ENOMEM);
		if (rc != DERMS_OK)
			return rc;
	}
	return DERMS_OK;
}

/*
 * Directory for relative paths: the realpath of the directory part of
 * name, or the current directory when that does not resolve (strings
 * loaded for tests).  New string, NULL on failure.
 */
static char *
dir_of(const char *name)
{
	const char *slash = strrchr(name, '/');
	char	   *dir;
	char	   *real;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == name)
		dir = strdup("/");
	else
		dir = strndup(name, (size_t) (slash - name));
	if (dir == NULL)
		return NULL;
	real = realpath(dir, NULL);
	free(dir);
	if (real == NULL)
		real = getcwd(NULL, 0);
	return real;
}

/* Parse len bytes of text; on failure cfg is freed. */
static derms_rc
load_text(const char *name, const char *text, size_t len, char *path_new,
		  derms_config *cfg, derms_err *err)
{
	config_parse *p;
	derms_rc	rc = DERMS_OK;
	char	   *dir;

	assert(name != NULL && text != NULL && cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));
	cfg->path = path_new;

	p = calloc(1, sizeof(*p));
	dir = dir_of(name);
	if (p == NULL || dir == NULL || cfg->path == NULL)
	{
		free(p);
		free(dir);
		config_free(cfg);
		return derms_err_set(err, DERMS_ENOMEM, "%s: out of memory", name);
	}
	p->name = name;
	p->dir = dir;
	p->cfg = cfg;
	p->err = err;

	rc = apply_defaults(p);
	if (rc == DERMS_OK && memchr(text, '\0', len) != NULL)
	{
		const char *nul = memchr(text, '\0', len);
		int			line = 1;

		for (const char *c = text; c < nul; c++)
			line += (*c == '\n');
		rc = config_error(p, line, DERMS_EPARSE,
						  "invalid NUL byte in configuration file");
	}
	if (rc == DERMS_OK)
		rc = parse_text(p, text, len);
	for (size_t i = 0; rc == DERMS_OK && i < CONFIG_NCHECKS; i++)
		rc = config_checks[i] (p);

	free(dir);
	free(p);
	if (rc != DERMS_OK)
		config_free(cfg);
	return rc;
}

/* ---------------------------------------------------------------- exported */

derms_rc
config_load(const char *path, derms_config *cfg, derms_err *err)
{
	struct stat st;
	char	   *text;
	char	   *abs;
	size_t		len = 0;
	int			fd;
	derms_rc	rc;

	assert(path != NULL && cfg != NULL);
	memset(cfg, 0, sizeof(*cfg));

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return derms_err_set(err, DERMS_EIO,
							 "could not open configuration file \"%s\": %s",
							 path, strerror(errno));
	if (fstat(fd, &st) != 0)
	{
		rc = derms_err_set(err, DERMS_EIO,
						   "could not stat configuration file \"%s\": %s",
						   path, strerror(errno));
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode))
	{
		close(fd);
		return derms_err_set(err, DERMS_EINVAL,
							 "configuration file \"%s\" is not a regular file",
							 path);
	}
	if (st.st_size > CONFIG_FILE_MAX)
	{
		close(fd);
		return derms_err_set(err, DERMS_ERANGE,
							 "configuration file \"%s\" is too large (%lld "
							 "bytes, at most %d)",
							 path, (long long) st.st_size, CONFIG_FILE_MAX);
	}

	/* one byte more than allowed, to notice a file that grew meanwhile */
	text = malloc(CONFIG_FILE_MAX + 1);
	if (text == NULL)
	{
		close(fd);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	while (len < CONFIG_FILE_MAX + 1)
	{
		ssize_t		n = read(fd, text + len, CONFIG_FILE_MAX + 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			rc = derms_err_set(err, DERMS_EIO,
							   "could not read configuration file \"%s\": %s",
							   path, strerror(errno));
			close(fd);
			free(text);
			return rc;
		}
		if (n == 0)
			break;
		len += (size_t) n;
	}
	close(fd);
	if (len > CONFIG_FILE_MAX)
	{
		free(text);
		return derms_err_set(err, DERMS_ERANGE,
							 "configuration file \"%s\" is too large (more "
							 "than %d bytes)", path, CONFIG_FILE_MAX);
	}

	/* remember the file by absolute name: the supervisor may chdir */
	if (path[0] == '/')
		abs = strdup(path);
	else
	{
		char	   *cwd = getcwd(NULL, 0);

		if (cwd == NULL || asprintf(&abs, "%s/%s", cwd, path) < 0)
			abs = NULL;
		free(cwd);
	}

	rc = load_text(path, text, len, abs, cfg, err);
	free(text);
	return rc;
}

derms_rc
config_load_string(const char *name, const char *text, derms_config *cfg,
				   derms_err *err)
{
	assert(name != NULL && text != NULL);
	return load_text(name, text, strlen(text), strdup(name), cfg, err);
}

void
config_free(derms_config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const config_setting *s = &config_settings[i];

		if (config_types[s->type].release != NULL)
			config_types[s->type].release(cfg, s);
	}
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

void
config_restart_changes(const derms_config *old_cfg,
					   const derms_config *new_cfg,
					   char *buf, size_t buflen)
{
	size_t		used = 0;

	assert(old_cfg != NULL && new_cfg != NULL);
	if (buf == NULL || buflen == 0)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const config_setting *s = &config_settings[i];
		int			n;

		if (s->reload != CONFIG_RESTART ||
			config_types[s->type].equal(old_cfg, new_cfg, s))
			continue;
		n = snprintf(buf + used, buflen - used, "%s%s",
					 used > 0 ? ", " : "", s->name);
		if (n < 0 || (size_t) n >= buflen - used)
		{
			buf[used] = '\0';	/* whole names only */
			break;
		}
		used += (size_t) n;
	}
}

derms_rc
config_keep_restart(derms_config *next, const derms_config *cur, derms_err *err)
{
	assert(next != NULL && cur != NULL);
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const config_setting *s = &config_settings[i];

		if (s->reload != CONFIG_RESTART ||
			config_types[s->type].equal(cur, next, s))
			continue;
		switch (s->type)
		{
			case CONFIG_INT:
			case CONFIG_LEVEL:
				*(int *) field(next, s) = *(const int *) cfield(cur, s);
				break;
			case CONFIG_BOOL:
				*(bool *) field(next, s) = *(const bool *) cfield(cur, s);
				break;
			case CONFIG_STRING:
			case CONFIG_PATH:
			case CONFIG_ADDRESS:
				{
					const char *v = *(char *const *) cfield(cur, s);
					char	   *dup = NULL;

					if (v != NULL && (dup = strdup(v)) == NULL)
						return derms_err_set(err, DERMS_ENOMEM, "out of memory");
					release_string(next, s);
					*(char **) field(next, s) = dup;
				}
				break;
			case CONFIG_ADDRLIST:
				{
					char *const *from = cfield(cur, s);
					char	  **to = field(next, s);
					int			n = *(const int *) ((const char *) cur + s->count_offset);
					int		   *count = (int *) ((char *) next + s->count_offset);

					release_addrlist(next, s);
					for (int k = 0; k < n; k++)
					{
						if ((to[k] = strdup(from[k])) == NULL)
							return derms_err_set(err, DERMS_ENOMEM, "out of memory");
						*count = k + 1;
					}
				}
				break;
		}
	}
	return DERMS_OK;
}

/* Write s as a double-quoted value. */
static void
write_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++)
	{
		if (*s == '"' || *s == '\\')
			fputc('\\', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

/*
 * Three lines per setting: the description; type, bounds, default and
 * reload class; the setting commented out with its default.
 */
static void
write_setting(FILE *out, const config_setting *s)
{
	const config_type_ops *ops = &config_types[s->type];
	const char *key = s->name + section_len(s->name) + 1;

	fprintf(out, "\n# %s\n", s->desc);
	fprintf(out, "# %s",
			(s->flags & CONFIG_FILE) ? "path of a readable file" : ops->name);
	if (s->type == CONFIG_INT)
		fprintf(out, ", %d..%d", s->min, s->max);
	if (s->def == NULL)
		fprintf(out, "; no default");
	else if (s->def[0] == '\0')
		fprintf(out, "; default empty");
	else if (strlen(s->def) > CONFIG_DEFAULT_SHOW)
		fprintf(out, "; default below");
	else if (ops->quoted)
	{
		fprintf(out, "; default ");
		write_quoted(out, s->def);
	}
	else
		fprintf(out, "; default %s", s->def);
	fprintf(out, " %s\n", s->reload == CONFIG_SIGHUP ?
			"(reload: SIGHUP)" : "(restart required)");

	fprintf(out, "#%s = ", key);
	if (ops->quoted || s->def == NULL)
		write_quoted(out, s->def ? s->def : "");
	else
		fputs(s->def, out);
	fputc('\n', out);
}

void
config_write_example(FILE *out)
{
	const char *section = NULL;
	size_t		seclen = 0;

	assert(out != NULL);
	fputs("# dermsd.conf: configuration of dermsd, the utility DERMS headend\n"
		  "#\n"
		  "# Printed by `dermsd --example-config` from the settings table in\n"
		  "# server/config.c; regenerate it that way instead of editing by hand.\n"
		  "#\n"
		  "# \"key = value\" lines under \"[section]\" headers.  '#' and ';' "
		  "start a\n"
		  "# comment at the beginning of a line or after whitespace.  "
		  "Values may be\n"
		  "# double-quoted; inside quotes, \\\" and \\\\ are escapes.  "
		  "Relative paths\n"
		  "# are resolved against the directory of this file.  Every setting "
		  "is shown\n"
		  "# commented out with its default: remove the '#' to change it.\n"
		  "#\n"
		  "# \"(reload: SIGHUP)\" settings take effect on \"systemctl reload "
		  "dermsd\";\n"
		  "# \"(restart required)\" ones keep their old value until a "
		  "restart.\n", out);

	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
	{
		const config_setting *s = &config_settings[i];
		size_t		len = section_len(s->name);

		if (section == NULL || len != seclen ||
			strncmp(section, s->name, len) != 0)
		{
			section = s->name;
			seclen = len;
			fprintf(out, "\n[%.*s]\n", (int) len, s->name);
		}
		write_setting(out, s);
	}
}

const char *
config_setting_name(size_t i)
{
	return i < CONFIG_NSETTINGS ? config_settings[i].name : NULL;
}
