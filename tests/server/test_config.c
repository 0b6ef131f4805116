/*
 * tests/server/test_config.c
 *	  Tests of server/config.c: good files, a table of bad files with their
 *	  expected errors, reload classes, and the documented example file.
 *
 * NOTES
 *	  Runs from the repository root.  Good files live in
 *	  tests/data/config/good/, bad ones in tests/data/config/bad/NAME.conf
 *	  with the expected error substring in NAME.error (one line).  The
 *	  certificate "files" in tests/data/config/certs/ are placeholders: the
 *	  loader checks only that they are readable.  Every test frees what it
 *	  loads, so the suite is clean under ASan with CK_FORK=no.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "server/config.h"
#include "tests/suites.h"

#define DATA_DIR "tests/data/config"
#define BAD_DIR DATA_DIR "/bad"
#define GOOD_DIR DATA_DIR "/good"
#define CERT_DIR DATA_DIR "/certs"
#define EXAMPLE_FILE "deploy/dermsd.conf.example"

#ifndef DERMS_PREFIX
#define DERMS_PREFIX "/usr/local"
#endif

#define lengthof(array) (sizeof(array) / sizeof((array)[0]))

/* Every file in tests/data/config/bad/ (checked by test_bad_table_complete). */
static const char *const bad_cases[] = {
	"unknown_key",
	"not_integer",
	"int_empty",
	"port_range",
	"int_overflow",
	"negative_workers",
	"comment_needs_space",
	"no_section",
	"duplicate_key",
	"duplicate_reopened",
	"unterminated_quote",
	"junk_after_quote",
	"line_too_long",
	"unknown_section",
	"missing_bracket",
	"junk_after_section",
	"missing_equals",
	"missing_key",
	"invalid_key",
	"empty_required",
	"empty_vtn_cert",
	"bad_bool",
	"hostname_address",
	"admin_public",
	"bad_level",
	"bad_proxy",
	"bad_time_zone",
	"time_zone_traversal",
	"too_many_proxies",
	"cert_not_found",
	"cert_is_directory",
	"missing_sep2_cert",
	"missing_vtn_key",
	"notls_public",
	"notls_no_proxies",
	"port_clash",
	"port_clash_any",
	"nul_byte",
};

/* -------------------------------------------------------------- helpers */

/* Whole file as a new NUL-terminated string; NULL if unreadable. */
static char *
read_file(const char *path, size_t *lenp)
{
	FILE	   *f = fopen(path, "rb");
	char	   *buf = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		n;

	if (f == NULL)
		return NULL;
	do
	{
		if (cap - len < 4096)
		{
			char	   *grown = realloc(buf, cap + 8192);

			ck_assert_ptr_nonnull(grown);
			buf = grown;
			cap += 8192;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE	   *f = fopen(path, "wb");

	ck_assert_msg(f != NULL, "could not create %s: %s", path, strerror(errno));
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	ck_assert_int_eq(fclose(f), 0);
}

static char *
cert_dir(void)
{
	char	   *dir = realpath(CERT_DIR, NULL);

	ck_assert_msg(dir != NULL, "realpath %s: %s", CERT_DIR, strerror(errno));
	return dir;
}

/* New string: the absolute path of a file in tests/data/config/certs. */
static char *
cert_path(const char *file)
{
	char	   *dir = cert_dir();
	char	   *path;

	ck_assert_int_ge(asprintf(&path, "%s/%s", dir, file), 0);
	free(dir);
	return path;
}

/*
 * got is an absolute path naming the file want (an absolute, resolved
 * path); the loader keeps ".." and symlinks as written.
 */
static void
assert_same_file(const char *got, const char *want)
{
	char	   *real;

	ck_assert_ptr_nonnull(got);
	ck_assert_msg(got[0] == '/', "path %s is not absolute", got);
	real = realpath(got, NULL);
	ck_assert_msg(real != NULL, "realpath %s: %s", got, strerror(errno));
	ck_assert_str_eq(real, want);
	free(real);
}

static bool
is_zeroed(const derms_config *cfg)
{
	static const derms_config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

static void
load_ok(const char *path, derms_config *cfg)
{
	derms_err	err;
	derms_rc	rc;

	derms_err_clear(&err);
	rc = config_load(path, cfg, &err);
	ck_assert_msg(rc == DERMS_OK, "%s: %s", path, err.msg);
}

static void
load_string_ok(const char *name, const char *text, derms_config *cfg)
{
	derms_err	err;
	derms_rc	rc;

	derms_err_clear(&err);
	rc = config_load_string(name, text, cfg, &err);
	ck_assert_msg(rc == DERMS_OK, "%s: %s", name, err.msg);
}

/* Load text (as if it were a file in good/) expecting an error with want. */
static void
load_string_fails(const char *text, const char *want)
{
	derms_config cfg;
	derms_err	err;
	derms_rc	rc;

	memset(&cfg, 0x5a, sizeof(cfg));
	rc = config_load_string(GOOD_DIR "/inline.conf", text, &cfg, &err);
	ck_assert_int_ne(rc, DERMS_OK);
	ck_assert_msg(strstr(err.msg, want) != NULL,
				  "got \"%s\", want \"%s\"", err.msg, want);
	ck_assert(is_zeroed(&cfg));
}

static void
listener_eq(const config_listener *a, const config_listener *b)
{
	ck_assert_pstr_eq(a->address, b->address);
	ck_assert_int_eq(a->port, b->port);
	ck_assert_int_eq(a->workers, b->workers);
	ck_assert_pstr_eq(a->cert_file, b->cert_file);
	ck_assert_pstr_eq(a->key_file, b->key_file);
	ck_assert_pstr_eq(a->ca_file, b->ca_file);
	ck_assert_pstr_eq(a->tls_priorities, b->tls_priorities);
}

/* Every setting of a equals that of b (path aside). */
static void
config_eq(const derms_config *a, const derms_config *b)
{
	ck_assert_pstr_eq(a->db_conninfo, b->db_conninfo);
	ck_assert_pstr_eq(a->db_schema_dir, b->db_schema_dir);
	ck_assert_int_eq(a->db_migrate, b->db_migrate);
	ck_assert_int_eq(a->db_reconnect_max_ms, b->db_reconnect_max_ms);
	listener_eq(&a->sep2, &b->sep2);
	ck_assert_int_eq(a->sep2_tls, b->sep2_tls);
	ck_assert_int_eq(a->sep2_nproxies, b->sep2_nproxies);
	for (int i = 0; i < a->sep2_nproxies; i++)
		ck_assert_pstr_eq(a->sep2_proxies[i], b->sep2_proxies[i]);
	ck_assert_pstr_eq(a->sep2_proxy_header, b->sep2_proxy_header);
	ck_assert_int_eq(a->sep2_identity_cache_s, b->sep2_identity_cache_s);
	listener_eq(&a->vtn, &b->vtn);
	listener_eq(&a->admin, &b->admin);
	ck_assert_int_eq(a->http_body_max, b->http_body_max);
	ck_assert_int_eq(a->http_header_timeout_s, b->http_header_timeout_s);
	ck_assert_int_eq(a->http_idle_timeout_s, b->http_idle_timeout_s);
	ck_assert_int_eq(a->http_connection_limit, b->http_connection_limit);
	ck_assert_int_eq(a->http_memory_limit, b->http_memory_limit);
	ck_assert_int_eq(a->dispatch_workers, b->dispatch_workers);
	ck_assert_int_eq(a->notify_workers, b->notify_workers);
	ck_assert_int_eq(a->shutdown_timeout_s, b->shutdown_timeout_s);
	ck_assert_int_eq(a->log_level, b->log_level);
}

/* The defaults, checked value by value against the contract. */
static void
assert_defaults(const derms_config *cfg)
{
	ck_assert_str_eq(cfg->db_conninfo, "dbname=dermsd");
	ck_assert_str_eq(cfg->db_schema_dir, DERMS_PREFIX "/share/dermsd/schema");
	ck_assert(cfg->db_migrate);
	ck_assert_int_eq(cfg->db_reconnect_max_ms, 30000);

	ck_assert_str_eq(cfg->sep2.address, "127.0.0.1");
	ck_assert_int_eq(cfg->sep2.port, 8443);
	ck_assert_int_eq(cfg->sep2.workers, 2);
	ck_assert_str_eq(cfg->sep2.tls_priorities,
					 "NONE:+VERS-TLS1.2:+ECDHE-ECDSA:+AES-128-CCM-8:+AEAD:"
					 "+SIGN-ECDSA-SHA256:+GROUP-SECP256R1:+COMP-NULL:"
					 "+CTYPE-X509");
	ck_assert(cfg->sep2_tls);
	ck_assert_int_eq(cfg->sep2_nproxies, 0);
	ck_assert_ptr_null(cfg->sep2_proxies[0]);
	ck_assert_str_eq(cfg->sep2_proxy_header, "X-Client-LFDI");
	ck_assert_int_eq(cfg->sep2_identity_cache_s, 30);

	ck_assert_str_eq(cfg->vtn.address, "127.0.0.1");
	ck_assert_int_eq(cfg->vtn.port, 8444);
	ck_assert_int_eq(cfg->vtn.workers, 1);
	ck_assert_str_eq(cfg->vtn.tls_priorities,
					 "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"
					 "+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:"
					 "-VERS-SSL3.0");

	ck_assert_str_eq(cfg->admin.address, "127.0.0.1");
	ck_assert_int_eq(cfg->admin.port, 9090);

	ck_assert_int_eq(cfg->http_body_max, 1048576);
	ck_assert_int_eq(cfg->http_header_timeout_s, 10);
	ck_assert_int_eq(cfg->http_idle_timeout_s, 60);
	ck_assert_int_eq(cfg->http_connection_limit, 1024);
	ck_assert_int_eq(cfg->http_memory_limit, 65536);
	ck_assert_int_eq(cfg->dispatch_workers, 1);
	ck_assert_int_eq(cfg->notify_workers, 1);
	ck_assert_int_eq(cfg->shutdown_timeout_s, 5);
	ck_assert_int_eq(cfg->log_level, LOG_INFO);
}

/*
 * Text with every "#key = value" line of an example file uncommented;
 * empty cert_file, key_file and ca_file values become the placeholder
 * certificates.  New string.
 */
static char *
uncomment_example(const char *text)
{
	static const struct
	{
		const char *key;
		const char *file;
	}			files[] = {
		{"cert_file", "server.pem"},
		{"key_file", "server.key"},
		{"ca_file", "ca.pem"},
	};
	char	   *dir = cert_dir();
	char	   *out = NULL;
	size_t		outlen = 0;
	FILE	   *f = open_memstream(&out, &outlen);
	const char *line = text;

	ck_assert_ptr_nonnull(f);
	while (*line)
	{
		const char *nl = strchr(line, '\n');
		int			len = nl ? (int) (nl - line) : (int) strlen(line);
		const char *eq = memchr(line, '=', (size_t) len);
		bool		setting = (line[0] == '#' && len > 1 &&
							   line[1] >= 'a' && line[1] <= 'z' && eq);
		bool		replaced = false;

		if (setting)
		{
			const char *value = eq + 1;

			while (*value == ' ')
				value++;
			for (size_t i = 0; i < lengthof(files) && !replaced; i++)
			{
				size_t		klen = strlen(files[i].key);

				if (strncmp(line + 1, files[i].key, klen) == 0 &&
					line[1 + klen] == ' ' && strncmp(value, "\"\"", 2) == 0)
				{
					fprintf(f, "%s = \"%s/%s\"\n", files[i].key, dir,
							files[i].file);
					replaced = true;
				}
			}
			if (!replaced)
				fprintf(f, "%.*s\n", len - 1, line + 1);
		}
		else
			fprintf(f, "%.*s\n", len, line);
		line += len + (nl ? 1 : 0);
	}
	ck_assert_int_eq(fclose(f), 0);
	free(dir);
	return out;
}

/* New string: the example as config_write_example() writes it now. */
static char *
example_text(void)
{
	char	   *out = NULL;
	size_t		outlen = 0;
	FILE	   *f = open_memstream(&out, &outlen);

	ck_assert_ptr_nonnull(f);
	config_write_example(f);
	ck_assert_int_eq(fclose(f), 0);
	return out;
}

/*
 * New string: a config setting all five required files (and vtn.ca_file
 * when with_vtn_ca) by absolute path, everything else at its default.
 */
static char *
certs_config(bool with_vtn_ca)
{
	char	   *dir = cert_dir();
	char	   *text;

	ck_assert_int_ge(asprintf(&text,
							  "[sep2]\n"
							  "cert_file = %s/server.pem\n"
							  "key_file = %s/server.key\n"
							  "ca_file = %s/ca.pem\n"
							  "[vtn]\n"
							  "cert_file = %s/server.pem\n"
							  "key_file = %s/server.key\n"
							  "%s%s%s",
							  dir, dir, dir, dir, dir,
							  with_vtn_ca ? "ca_file = " : "",
							  with_vtn_ca ? dir : "",
							  with_vtn_ca ? "/ca.pem\n" : ""), 0);
	free(dir);
	return text;
}

/* Remove a directory made by test_mkdtemp and the named files in it. */
static void
remove_tmp(char *dir, const char *const *files, size_t nfiles)
{
	for (size_t i = 0; i < nfiles; i++)
	{
		char	   *path;

		ck_assert_int_ge(asprintf(&path, "%s/%s", dir, files[i]), 0);
		unlink(path);
		free(path);
	}
	rmdir(dir);
	free(dir);
}

/* ---------------------------------------------------------- good files */

START_TEST(test_minimal)
{
	derms_config cfg;
	char	   *pem = cert_path("server.pem");
	char	   *key = cert_path("server.key");
	char	   *ca = cert_path("ca.pem");
	char	   *cwd = getcwd(NULL, 0);
	char	   *abs;

	load_ok(GOOD_DIR "/minimal.conf", &cfg);
	assert_defaults(&cfg);
	assert_same_file(cfg.sep2.cert_file, pem);
	assert_same_file(cfg.sep2.key_file, key);
	assert_same_file(cfg.sep2.ca_file, ca);
	assert_same_file(cfg.vtn.cert_file, pem);
	assert_same_file(cfg.vtn.key_file, key);
	ck_assert_ptr_null(cfg.vtn.ca_file);
	ck_assert_ptr_null(cfg.admin.cert_file);

	/* the file is remembered by absolute name */
	ck_assert_int_ge(asprintf(&abs, "%s/%s", cwd, GOOD_DIR "/minimal.conf"), 0);
	ck_assert_str_eq(cfg.path, abs);

	config_free(&cfg);
	ck_assert(is_zeroed(&cfg));
	config_free(&cfg);			/* freeing twice is harmless */
	free(abs);
	free(cwd);
	free(pem);
	free(key);
	free(ca);
}
END_TEST

START_TEST(test_full)
{
	derms_config cfg;
	char	   *pem = cert_path("server.pem");
	char	   *key = cert_path("server.key");
	char	   *ca = cert_path("ca.pem");

	load_ok(GOOD_DIR "/full.conf", &cfg);
	ck_assert_str_eq(cfg.db_conninfo,
					 "host=db.example dbname=derms user=dermsd");
	ck_assert_str_eq(cfg.db_schema_dir, "/opt/dermsd/schema");
	ck_assert(!cfg.db_migrate);
	ck_assert_int_eq(cfg.db_reconnect_max_ms, 5000);

	ck_assert_str_eq(cfg.sep2.address, "::1");	/* canonical form */
	ck_assert_int_eq(cfg.sep2.port, 18443);
	ck_assert_int_eq(cfg.sep2.workers, 8);
	assert_same_file(cfg.sep2.cert_file, pem);
	assert_same_file(cfg.sep2.key_file, key);
	assert_same_file(cfg.sep2.ca_file, ca);
	ck_assert_str_eq(cfg.sep2.tls_priorities, "NORMAL");
	ck_assert(cfg.sep2_tls);
	ck_assert_int_eq(cfg.sep2_nproxies, 3);
	ck_assert_str_eq(cfg.sep2_proxies[0], "127.0.0.1");
	ck_assert_str_eq(cfg.sep2_proxies[1], "::1");
	ck_assert_str_eq(cfg.sep2_proxies[2], "10.1.2.3");
	ck_assert_ptr_null(cfg.sep2_proxies[3]);
	ck_assert_str_eq(cfg.sep2_proxy_header, "X-SSL-Client-LFDI");
	ck_assert_int_eq(cfg.sep2_identity_cache_s, 0);

	ck_assert_str_eq(cfg.vtn.address, "127.0.0.2");
	ck_assert_int_eq(cfg.vtn.port, 18444);
	ck_assert_int_eq(cfg.vtn.workers, 3);
	assert_same_file(cfg.vtn.cert_file, pem);
	assert_same_file(cfg.vtn.key_file, key);
	assert_same_file(cfg.vtn.ca_file, ca);
	ck_assert_str_eq(cfg.vtn.tls_priorities, "SECURE256");

	ck_assert_str_eq(cfg.admin.address, "::1");
	ck_assert_int_eq(cfg.admin.port, 19090);

	ck_assert_int_eq(cfg.http_body_max, 2048);
	ck_assert_int_eq(cfg.http_header_timeout_s, 5);
	ck_assert_int_eq(cfg.http_idle_timeout_s, 120);
	ck_assert_int_eq(cfg.http_connection_limit, 10);
	ck_assert_int_eq(cfg.http_memory_limit, 65536);
	ck_assert_int_eq(cfg.dispatch_workers, 0);
	ck_assert_int_eq(cfg.notify_workers, 4);
	ck_assert_int_eq(cfg.shutdown_timeout_s, 30);
	ck_assert_int_eq(cfg.log_level, LOG_DEBUG);
	config_free(&cfg);
	free(pem);
	free(key);
	free(ca);
}
END_TEST

START_TEST(test_quoted)
{
	derms_config cfg;
	char	   *dir = realpath(GOOD_DIR, NULL);
	char	   *spaced;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&spaced, "%s/  spaced dir  ", dir), 0);
	load_ok(GOOD_DIR "/quoted.conf", &cfg);
	ck_assert_str_eq(cfg.db_conninfo,
					 "host=/run/postgresql dbname='a b' # not a comment ; "
					 "nor this");
	ck_assert_str_eq(cfg.db_schema_dir, spaced);
	ck_assert_str_eq(cfg.sep2_proxy_header, "X-\"Quoted\"-LFDI");
	ck_assert_str_eq(cfg.sep2.tls_priorities, "back\\slash \\q kept");
	ck_assert_int_eq(cfg.sep2_nproxies, 0);
	ck_assert_int_eq(cfg.log_level, LOG_WARNING);
	config_free(&cfg);
	free(spaced);
	free(dir);
}
END_TEST

START_TEST(test_comments)
{
	derms_config cfg;
	char	   *pem = cert_path("server.pem");
	char	   *key = cert_path("server.key");
	char	   *ca = cert_path("ca.pem");

	/* BOM, CRLF, ';' and '#', indentation, no final newline */
	load_ok(GOOD_DIR "/comments.conf", &cfg);
	assert_same_file(cfg.sep2.cert_file, pem);
	assert_same_file(cfg.sep2.key_file, key);
	assert_same_file(cfg.sep2.ca_file, ca);
	ck_assert_str_eq(cfg.sep2_proxy_header, "X-LFDI#kept;kept");
	ck_assert_int_eq(cfg.sep2.port, 8450);
	assert_same_file(cfg.vtn.key_file, key);
	ck_assert_str_eq(cfg.db_conninfo, "dbname=x");
	ck_assert_int_eq(cfg.log_level, LOG_ERR);
	config_free(&cfg);
	free(pem);
	free(key);
	free(ca);
}
END_TEST

START_TEST(test_relative_paths)
{
	derms_config cfg;
	char	   *good = realpath(GOOD_DIR, NULL);
	char	   *certs = cert_dir();
	char	   *want;

	ck_assert_ptr_nonnull(good);
	load_ok(GOOD_DIR "/relative.conf", &cfg);

	/* resolved against the file's directory, not the current one */
	ck_assert_int_ge(asprintf(&want, "%s/schema/../schema", good), 0);
	ck_assert_str_eq(cfg.db_schema_dir, want);
	free(want);
	ck_assert_int_ge(asprintf(&want, "%s/./../certs/server.pem", good), 0);
	ck_assert_str_eq(cfg.sep2.cert_file, want);
	free(want);
	ck_assert_int_ge(asprintf(&want, "%s/../certs/ca.pem", good), 0);
	ck_assert_str_eq(cfg.vtn.ca_file, want);
	free(want);

	/* every stored path is absolute and names the same file */
	ck_assert_int_eq(cfg.sep2.key_file[0], '/');
	ck_assert_int_eq(access(cfg.sep2.key_file, R_OK), 0);
	config_free(&cfg);

	/* the same text loaded from another directory resolves elsewhere */
	{
		char	   *text = read_file(GOOD_DIR "/relative.conf", NULL);
		derms_config other;
		derms_err	err;

		ck_assert_ptr_nonnull(text);
		ck_assert_int_ne(config_load_string(DATA_DIR "/relative.conf", text,
											&other, &err), DERMS_OK);
		ck_assert_ptr_nonnull(strstr(err.msg, "certs/server.pem\" for "
									 "\"sep2.cert_file\""));
		ck_assert(is_zeroed(&other));
		free(text);
	}
	free(certs);
	free(good);
}
END_TEST

START_TEST(test_notls)
{
	derms_config cfg;

	load_ok(GOOD_DIR "/notls.conf", &cfg);
	ck_assert(!cfg.sep2_tls);
	ck_assert_str_eq(cfg.sep2.address, "::1");
	ck_assert_int_eq(cfg.sep2_nproxies, 2);
	ck_assert_ptr_null(cfg.sep2.cert_file);
	ck_assert_ptr_null(cfg.sep2.key_file);
	ck_assert_ptr_null(cfg.sep2.ca_file);
	config_free(&cfg);
}
END_TEST

START_TEST(test_load_string)
{
	derms_config cfg;
	char	   *text = certs_config(false);
	char	   *more;

	load_string_ok("inline", text, &cfg);
	ck_assert_str_eq(cfg.path, "inline");
	assert_defaults(&cfg);
	config_free(&cfg);

	/* booleans, IPv6 literals, same port on different addresses */
	ck_assert_int_ge(asprintf(&more,
							  "%s"
							  "port = 9443\n"
							  "address = 127.0.0.2\n"
							  "[sep2]\n"
							  "port = 9443\n"
							  "address = 0::0:1\n"
							  "tls = ON\n"
							  "[database]\n"
							  "migrate = No\n"
							  "[admin]\n"
							  "address = 127.1.2.3\n"
							  "port = 1\n", text), 0);
	load_string_ok("inline", more, &cfg);
	ck_assert_str_eq(cfg.sep2.address, "::1");
	ck_assert_str_eq(cfg.vtn.address, "127.0.0.2");
	ck_assert_str_eq(cfg.admin.address, "127.1.2.3");
	ck_assert_int_eq(cfg.admin.port, 1);
	ck_assert(cfg.sep2_tls);
	ck_assert(!cfg.db_migrate);
	config_free(&cfg);
	free(more);
	free(text);
}
END_TEST

START_TEST(test_bounds)
{
	char	   *text = certs_config(false);
	char	   *edge;

	/* both ends of an integer range are inside it */
	ck_assert_int_ge(asprintf(&edge, "%s[http]\nbody_max = 1024\n"
							  "memory_limit = 16777216\n"
							  "[sep2]\nidentity_cache_s = 3600\n"
							  "[dispatch]\nworkers = 16\n"
							  "[notify]\nworkers = 0\n", text), 0);
	{
		derms_config cfg;

		load_string_ok("edge", edge, &cfg);
		ck_assert_int_eq(cfg.http_body_max, 1024);
		ck_assert_int_eq(cfg.http_memory_limit, 16777216);
		ck_assert_int_eq(cfg.sep2_identity_cache_s, 3600);
		ck_assert_int_eq(cfg.dispatch_workers, 16);
		ck_assert_int_eq(cfg.notify_workers, 0);
		config_free(&cfg);
	}
	free(edge);

	load_string_fails("[http]\nbody_max = 1023\n",
					  "inline.conf:2: value 1023 for \"http.body_max\" is out "
					  "of range (1024..67108864)");
	load_string_fails("[sep2]\nworkers = 65\n",
					  "value 65 for \"sep2.workers\" is out of range (1..64)");
	load_string_fails("[vtn]\nworkers = 0\n",
					  "value 0 for \"vtn.workers\" is out of range (1..64)");
	load_string_fails("[database]\nreconnect_max_ms = 99\n",
					  "out of range (100..600000)");
	load_string_fails("[supervisor]\nshutdown_timeout_s = 301\n",
					  "out of range (1..300)");
	load_string_fails("[sep2]\nport = 0x10\n", "not an integer");
	load_string_fails("[sep2]\nport = \" 8443\"\n", "not an integer");
	load_string_fails("[admin]\naddress = 10.0.0.1\n",
					  "must stay on loopback");
	load_string_fails("[admin]\naddress = ::ffff:127.0.0.1\n",
					  "must stay on loopback");
	load_string_fails("[vtn]\naddress = \"\"\n",
					  "empty value for \"vtn.address\"");
	load_string_fails("[sep2]\nproxy_header =\n",
					  "empty value for \"sep2.proxy_header\"");
	free(text);
}
END_TEST

/* Unknown names come with the list of known ones in the detail. */
START_TEST(test_hints)
{
	derms_config cfg;
	derms_err	err;

	ck_assert_int_eq(config_load_string("x.conf", "[vtn]\ntls = false\n",
										&cfg, &err), DERMS_EPARSE);
	ck_assert_str_eq(err.msg, "x.conf:2: unknown key \"vtn.tls\"");
	ck_assert_str_eq(err.detail, "keys of [vtn]: address, port, workers, "
					 "cert_file, key_file, ca_file, tls_priorities, "
					 "token_key_file, token_ttl_s, token_issuer, public_url, "
					 "jwks_file, jwks_issuer");

	ck_assert_int_eq(config_load_string("x.conf", "[logging]\n", &cfg, &err),
					 DERMS_EPARSE);
	ck_assert_str_eq(err.detail, "sections: database, sep2, vtn, admin, "
					 "http, dispatch, notify, mqtt, supervisor, log");

	ck_assert_int_eq(config_load_string("x.conf", "[log]\nlevel = x\n",
										&cfg, &err), DERMS_EPARSE);
	ck_assert_str_eq(err.detail, "");
}
END_TEST

/* ----------------------------------------------------------- bad files */

START_TEST(test_bad_file)
{
	const char *name = bad_cases[_i];
	char	   *conf;
	char	   *errfile;
	char	   *want;
	derms_config cfg;
	derms_err	err;
	derms_rc	rc;
	size_t		len;

	ck_assert_int_ge(asprintf(&conf, "%s/%s.conf", BAD_DIR, name), 0);
	ck_assert_int_ge(asprintf(&errfile, "%s/%s.error", BAD_DIR, name), 0);
	want = read_file(errfile, &len);
	ck_assert_msg(want != NULL, "missing %s", errfile);
	while (len > 0 && (want[len - 1] == '\n' || want[len - 1] == '\r'))
		want[--len] = '\0';
	ck_assert_msg(len > 0, "%s is empty", errfile);

	memset(&cfg, 0x5a, sizeof(cfg));
	derms_err_clear(&err);
	rc = config_load(conf, &cfg, &err);
	ck_assert_msg(rc != DERMS_OK, "%s: loaded, want error \"%s\"", name, want);
	ck_assert_int_eq(err.code, rc);
	ck_assert_msg(strstr(err.msg, want) != NULL,
				  "%s: got \"%s\", want \"%s\"", name, err.msg, want);
	/* every message starts with the file name, as given */
	ck_assert_msg(strncmp(err.msg, conf, strlen(conf)) == 0,
				  "%s: message does not name the file: %s", name, err.msg);
	ck_assert_msg(is_zeroed(&cfg), "%s: config not zeroed after error", name);

	free(want);
	free(errfile);
	free(conf);
}
END_TEST

/* Every NAME.conf in bad/ has a NAME.error and a row in bad_cases. */
START_TEST(test_bad_table_complete)
{
	DIR		   *d = opendir(BAD_DIR);
	struct dirent *e;
	size_t		nconf = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
	{
		size_t		len = strlen(e->d_name);
		bool		listed = false;

		if (len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0)
			continue;
		nconf++;
		for (size_t i = 0; i < lengthof(bad_cases); i++)
			if (strlen(bad_cases[i]) == len - 5 &&
				strncmp(bad_cases[i], e->d_name, len - 5) == 0)
				listed = true;
		ck_assert_msg(listed, "%s/%s is not in bad_cases[]", BAD_DIR,
					  e->d_name);
	}
	closedir(d);
	ck_assert_uint_eq(nconf, lengthof(bad_cases));
	ck_assert_uint_ge(nconf, 15);
}
END_TEST

START_TEST(test_missing_file)
{
	derms_config cfg;
	derms_err	err;

	memset(&cfg, 0x5a, sizeof(cfg));
	ck_assert_int_eq(config_load(DATA_DIR "/nosuch.conf", &cfg, &err),
					 DERMS_EIO);
	ck_assert_str_eq(err.msg, "could not open configuration file \""
					 DATA_DIR "/nosuch.conf\": No such file or directory");
	ck_assert(is_zeroed(&cfg));

	ck_assert_int_ne(config_load(DATA_DIR, &cfg, &err), DERMS_OK);
	ck_assert_str_eq(err.msg, "configuration file \"" DATA_DIR
					 "\" is not a regular file");
	ck_assert(is_zeroed(&cfg));
}
END_TEST

START_TEST(test_unreadable_file)
{
	char	   *dir = test_mkdtemp("config");
	const char *const files[] = {"secret.conf"};
	char	   *path;
	derms_config cfg;
	derms_err	err;

	ck_assert_ptr_nonnull(dir);
	ck_assert_int_ge(asprintf(&path, "%s/secret.conf", dir), 0);
	write_file(path, "[log]\nlevel = info\n", 19);
	ck_assert_int_eq(chmod(path, 0), 0);
	if (access(path, R_OK) == 0)
		test_skip("config unreadable file", "running with root privileges");
	else
	{
		ck_assert_int_eq(config_load(path, &cfg, &err), DERMS_EIO);
		ck_assert_ptr_nonnull(strstr(err.msg, "Permission denied"));
		ck_assert(is_zeroed(&cfg));
	}
	free(path);
	remove_tmp(dir, files, lengthof(files));
}
END_TEST

START_TEST(test_too_large)
{
	char	   *dir = test_mkdtemp("config");
	const char *const files[] = {"big.conf", "limit.conf"};
	const size_t limit = 1024 * 1024;
	char	   *path;
	char	   *text;
	char	   *certs = certs_config(false);
	size_t		certlen = strlen(certs);
	derms_config cfg;
	derms_err	err;

	ck_assert_ptr_nonnull(dir);

	/* exactly 1 MiB of comments after a valid config loads */
	text = malloc(limit + 1);
	ck_assert_ptr_nonnull(text);
	memcpy(text, certs, certlen);
	for (size_t i = certlen; i < limit; i++)
		text[i] = ((i - certlen) % 64 == 63) ? '\n' : '#';
	ck_assert_int_ge(asprintf(&path, "%s/limit.conf", dir), 0);
	write_file(path, text, limit);
	load_ok(path, &cfg);
	config_free(&cfg);
	free(path);

	/* one byte more is refused */
	text[limit] = '\n';
	ck_assert_int_ge(asprintf(&path, "%s/big.conf", dir), 0);
	write_file(path, text, limit + 1);
	memset(&cfg, 0x5a, sizeof(cfg));
	ck_assert_int_eq(config_load(path, &cfg, &err), DERMS_ERANGE);
	ck_assert_msg(strstr(err.msg, "is too large (1048577 bytes, at most "
						 "1048576)") != NULL, "got %s", err.msg);
	ck_assert(is_zeroed(&cfg));
	free(path);

	free(text);
	free(certs);
	remove_tmp(dir, files, lengthof(files));
}
END_TEST

START_TEST(test_null_err)
{
	derms_config cfg;

	/* a NULL derms_err is allowed: the message is dropped */
	ck_assert_int_eq(config_load_string("x", "[sep2]\nport = 0\n", &cfg, NULL),
					 DERMS_ERANGE);
	ck_assert(is_zeroed(&cfg));
}
END_TEST

/* --------------------------------------------------------- reload class */

START_TEST(test_restart_changes)
{
	char	   *base = certs_config(false);
	char	   *changed;
	derms_config a,
				b;
	char		buf[256];
	char		small[12];

	load_string_ok("old", base, &a);
	load_string_ok("new", base, &b);
	memset(buf, 'x', sizeof(buf));
	config_restart_changes(&a, &b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	config_free(&b);

	/* SIGHUP settings (conninfo, proxies, log level, certs) are not listed */
	ck_assert_int_ge(asprintf(&changed,
							  "%s"
							  "workers = 3\n"
							  "ca_file = ../certs/ca.pem\n"
							  "tls_priorities = NORMAL\n"
							  "[sep2]\n"
							  "port = 9443\n"
							  "trusted_proxies = 127.0.0.1\n"
							  "proxy_header = X-Other\n"
							  "identity_cache_s = 1\n"
							  "[database]\n"
							  "conninfo = dbname=other\n"
							  "migrate = false\n"
							  "schema_dir = /srv/schema\n"
							  "reconnect_max_ms = 100\n"
							  "[admin]\n"
							  "address = ::1\n"
							  "[http]\n"
							  "body_max = 4096\n"
							  "idle_timeout_s = 5\n"
							  "[supervisor]\n"
							  "shutdown_timeout_s = 9\n"
							  "[log]\n"
							  "level = debug\n", base), 0);
	load_string_ok(GOOD_DIR "/new.conf", changed, &b);
	config_restart_changes(&a, &b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "database.schema_dir, database.migrate, sep2.port, "
					 "vtn.workers, admin.address, http.idle_timeout_s");

	/* the same list the other way round */
	config_restart_changes(&b, &a, buf, sizeof(buf));
	ck_assert_str_eq(buf, "database.schema_dir, database.migrate, sep2.port, "
					 "vtn.workers, admin.address, http.idle_timeout_s");

	/* a short buffer holds whole names only, and stays terminated */
	config_restart_changes(&a, &b, small, sizeof(small));
	ck_assert_str_eq(small, "");
	{
		char		fits[32];

		config_restart_changes(&a, &b, fits, sizeof(fits));
		ck_assert_str_eq(fits, "database.schema_dir");
	}
	config_restart_changes(&a, &b, small, 0);	/* nothing written */

	/* a reload keeps the restart-class values and takes the rest */
	ck_assert_int_eq(config_keep_restart(&b, &a, NULL), DERMS_OK);
	config_restart_changes(&a, &b, buf, sizeof(buf));
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(b.sep2.port, a.sep2.port);
	ck_assert_int_eq(b.vtn.workers, a.vtn.workers);
	ck_assert_int_eq(b.db_migrate, a.db_migrate);
	ck_assert_str_eq(b.admin.address, a.admin.address);
	ck_assert_str_eq(b.db_schema_dir, a.db_schema_dir);
	ck_assert_str_eq(b.db_conninfo, "dbname=other");
	ck_assert_int_eq(b.http_body_max, 4096);
	ck_assert_int_eq(b.log_level, LOG_DEBUG);
	ck_assert_int_eq(b.sep2_nproxies, 1);

	config_free(&a);
	config_free(&b);
	free(changed);
	free(base);
}
END_TEST

/* --------------------------------------------------- the example file */

START_TEST(test_table_names)
{
	size_t		n = 0;

	for (const char *name; (name = config_setting_name(n)) != NULL; n++)
	{
		const char *dot = strchr(name, '.');

		ck_assert_msg(dot != NULL && dot != name && dot[1] != '\0' &&
					  strchr(dot + 1, '.') == NULL, "bad name %s", name);
		for (size_t j = 0; j < n; j++)
			ck_assert_str_ne(config_setting_name(j), name);
	}
	ck_assert_uint_eq(n, 65);
	ck_assert_ptr_null(config_setting_name(n + 1000));
}
END_TEST

/* Every setting shows its description, type line and reload class. */
START_TEST(test_example_documents_every_setting)
{
	char	   *text = example_text();
	size_t		nreload = 0;
	size_t		nsettings = 0;

	for (const char *p = text; (p = strstr(p, "(reload: SIGHUP)\n")); p++)
		nreload++;
	for (const char *p = text; (p = strstr(p, "(restart required)\n")); p++)
		nreload++;
	while (config_setting_name(nsettings) != NULL)
		nsettings++;
	ck_assert_uint_eq(nreload, nsettings);
	ck_assert_ptr_nonnull(strstr(text, "[database]\n"));
	ck_assert_ptr_nonnull(strstr(text, "# integer, 1..65535; default 8443 "
								 "(restart required)\n#port = 8443\n"));
	ck_assert_ptr_nonnull(strstr(text, "\n#conninfo = \"dbname=dermsd\"\n"));
	free(text);
}
END_TEST

/* The example as written, with the certificates added, gives the defaults. */
START_TEST(test_example_roundtrip)
{
	char	   *example = example_text();
	char	   *certs = certs_config(false);
	char	   *text;
	derms_config from_example,
				defaults;

	/* as is: every setting is commented out */
	ck_assert_int_ge(asprintf(&text, "%s\n%s", example, certs), 0);
	load_string_ok("example", text, &from_example);
	load_string_ok("defaults", certs, &defaults);
	config_eq(&from_example, &defaults);
	assert_defaults(&from_example);
	config_free(&from_example);
	config_free(&defaults);
	free(text);
	free(certs);

	/* uncommented: every default written in it parses to itself */
	certs = certs_config(true);
	text = uncomment_example(example);
	ck_assert_ptr_null(strstr(text, "\n#port"));
	load_string_ok("example-uncommented", text, &from_example);
	load_string_ok("defaults", certs, &defaults);
	config_eq(&from_example, &defaults);
	config_free(&from_example);
	config_free(&defaults);
	free(text);
	free(certs);
	free(example);
}
END_TEST

/*
 * deploy/dermsd.conf.example names every setting of the table under its
 * section, and still loads (uncommented, with certificates).
 */
START_TEST(test_example_file_in_sync)
{
	char	   *text = read_file(EXAMPLE_FILE, NULL);
	char	   *found = NULL;
	size_t		foundlen = 0;
	FILE	   *names;
	char		section[64] = "";
	char	   *uncommented;
	derms_config cfg;

	ck_assert_msg(text != NULL, "%s: %s (run from the repository root)",
				  EXAMPLE_FILE, strerror(errno));

	/* collect "\nsection.key\n" for every key line, commented or not */
	names = open_memstream(&found, &foundlen);
	ck_assert_ptr_nonnull(names);
	fputc('\n', names);
	for (char *line = text; *line;)
	{
		char	   *nl = strchr(line, '\n');
		size_t		len = nl ? (size_t) (nl - line) : strlen(line);
		char		key[64];

		if (line[0] == '[')
			ck_assert_int_eq(sscanf(line, "[%63[^]]]", section), 1);
		else if (sscanf(line, "#%63[a-z0-9_] =", key) == 1 ||
				 sscanf(line, "%63[a-z0-9_] =", key) == 1)
			fprintf(names, "%s.%s\n", section, key);
		line += len + (nl ? 1 : 0);
	}
	ck_assert_int_eq(fclose(names), 0);

	for (size_t i = 0; config_setting_name(i) != NULL; i++)
	{
		char	   *needle;

		ck_assert_int_ge(asprintf(&needle, "\n%s\n", config_setting_name(i)),
						 0);
		ck_assert_msg(strstr(found, needle) != NULL,
					  "%s does not mention \"%s\": regenerate it with "
					  "config_write_example()", EXAMPLE_FILE,
					  config_setting_name(i));
		free(needle);
	}

	/* and it parses: no stale or misspelt keys */
	uncommented = uncomment_example(text);
	load_string_ok(EXAMPLE_FILE, uncommented, &cfg);
	config_free(&cfg);

	free(uncommented);
	free(found);
	free(text);
}
END_TEST

Suite *
config_suite(void)
{
	Suite	   *s = suite_create("config");
	TCase	   *good = tcase_create("good");
	TCase	   *bad = tcase_create("bad");
	TCase	   *reload = tcase_create("reload");
	TCase	   *example = tcase_create("example");

	tcase_add_test(good, test_minimal);
	tcase_add_test(good, test_full);
	tcase_add_test(good, test_quoted);
	tcase_add_test(good, test_comments);
	tcase_add_test(good, test_relative_paths);
	tcase_add_test(good, test_notls);
	tcase_add_test(good, test_load_string);
	tcase_add_test(good, test_bounds);
	tcase_add_test(good, test_hints);
	suite_add_tcase(s, good);

	tcase_add_loop_test(bad, test_bad_file, 0, (int) lengthof(bad_cases));
	tcase_add_test(bad, test_bad_table_complete);
	tcase_add_test(bad, test_missing_file);
	tcase_add_test(bad, test_unreadable_file);
	tcase_add_test(bad, test_too_large);
	tcase_add_test(bad, test_null_err);
	suite_add_tcase(s, bad);

	tcase_add_test(reload, test_restart_changes);
	suite_add_tcase(s, reload);

	tcase_add_test(example, test_table_names);
	tcase_add_test(example, test_example_documents_every_setting);
	tcase_add_test(example, test_example_roundtrip);
	tcase_add_test(example, test_example_file_in_sync);
	suite_add_tcase(s, example);

	return s;
}
