/*
 * server/pki.c
 *	  The demo PKI: key generation, certificate profiles, signing and the
 *	  crash-safe writing of a PKI directory, all through the OpenSSL 3
 *	  library.
 *
 * NOTES
 *	  Every certificate is described by a row of pki_profiles[]; the code
 *	  that builds certificates has no per-kind branches.  Extensions are
 *	  built from the same strings an openssl.cnf would hold.
 *
 *	  Files are first written into a private DIR/.tmp-XXXXXX directory with
 *	  O_EXCL, fchmod'ed (0600 keys, 0644 certificates) and fsync'ed, then
 *	  moved into DIR: pki_init renames them (ca.pem last, after removing
 *	  the old one), pki_issue hard-links them so that a name taken
 *	  meanwhile is refused instead of overwritten.  The temporary
 *	  directory is removed on every path out.
 *
 *	  Objects are owned by the function that made them and freed before it
 *	  returns; nothing here keeps state between calls.  The OpenSSL error
 *	  queue is left empty on return.
 */
#include "pki.h"
#include "ossl.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define PKI_ORG "dermsd demo"
#define PKI_CURVE "P-256"
#define PKI_SERIAL_BYTES 16		/* 128-bit serial numbers */
#define PKI_CA_DAYS 7305		/* 20 years */
#define PKI_LEAF_DAYS 730		/* 2 years */
#define PKI_BACKDATE_S 300		/* notBefore is now minus this */
#define PKI_NO_EXPIRY "99991231235959Z"	/* RFC 5280 4.1.2.5 */
#define PKI_TMP_PREFIX ".tmp-"
#define PKI_FILE_MAX (PKI_NAME_MAX + 8) /* NAME.pem plus NUL, rounded */

#define PKI_KEY_MODE 0600
#define PKI_CERT_MODE 0644
#define PKI_DIR_MODE 0700

/* Rows of pki_profiles[]. */
typedef enum pki_profile_id
{
	PKI_PROF_ROOT,
	PKI_PROF_INTERMEDIATE,
	PKI_PROF_SERVER,
	PKI_PROF_DEVICE,
	PKI_PROF_AGGREGATOR,
	PKI_PROF_OPERATOR
} pki_profile_id;

/* Everything that differs between two kinds of certificate. */
struct pki_profile
{
	pki_kind	kind;			/* written into the subject's OU */
	bool		issuable;		/* pki_issue may make one */
	const char *basic_constraints;
	const char *key_usage;
	const char *ext_key_usage;	/* NULL: none */
	const char *subject_alt_name;	/* NULL: none */
	int			days;			/* lifetime; 0: notAfter PKI_NO_EXPIRY */
};

#define PKI_LEAF_BC "critical,CA:FALSE"
#define PKI_LEAF_KU "critical,digitalSignature,keyAgreement"
#define PKI_CA_KU "critical,keyCertSign,cRLSign"

static const struct pki_profile pki_profiles[] = {
	[PKI_PROF_ROOT] = {
		PKI_CA, false, "critical,CA:TRUE,pathlen:1", PKI_CA_KU,
		NULL, NULL, PKI_CA_DAYS
	},
	[PKI_PROF_INTERMEDIATE] = {
		PKI_CA, false, "critical,CA:TRUE,pathlen:0", PKI_CA_KU,
		NULL, NULL, PKI_CA_DAYS
	},
	[PKI_PROF_SERVER] = {
		PKI_SERVER, false, PKI_LEAF_BC, PKI_LEAF_KU,
		"serverAuth", "critical,IP:127.0.0.1,IP:::1,DNS:localhost",
		PKI_LEAF_DAYS
	},
	[PKI_PROF_DEVICE] = {
		PKI_DEVICE, true, PKI_LEAF_BC, PKI_LEAF_KU,
		"clientAuth", NULL, 0
	},
	[PKI_PROF_AGGREGATOR] = {
		PKI_AGGREGATOR, true, PKI_LEAF_BC, PKI_LEAF_KU,
		"clientAuth", NULL, PKI_LEAF_DAYS
	},
	[PKI_PROF_OPERATOR] = {
		PKI_OPERATOR, true, PKI_LEAF_BC, PKI_LEAF_KU,
		"clientAuth", NULL, PKI_LEAF_DAYS
	},
};

#define PKI_NPROFILES (sizeof(pki_profiles) / sizeof(pki_profiles[0]))

/* The leaves pki_init makes, in the order pki_result lists them. */
static const struct
{
	const char *name;
	pki_profile_id profile;
}			pki_demo_leaves[] = {
	{"sep2-server", PKI_PROF_SERVER},
	{"vtn-server", PKI_PROF_SERVER},
	{"device-demo", PKI_PROF_DEVICE},
	{"aggregator-demo", PKI_PROF_AGGREGATOR},
	{"operator-demo", PKI_PROF_OPERATOR},
};

#define PKI_NDEMO (sizeof(pki_demo_leaves) / sizeof(pki_demo_leaves[0]))

_Static_assert(2 + PKI_NDEMO <= PKI_RESULT_MAX,
			   "pki_result cannot hold the CAs and every demo leaf");

/* ca.key, intermediate.{pem,key}, trust.pem, the leaves, then ca.pem. */
#define PKI_INIT_NFILES (6 + 2 * PKI_NDEMO)

static const char *const pki_kind_names[] = {
	[PKI_DEVICE] = "device",
	[PKI_AGGREGATOR] = "aggregator",
	[PKI_OPERATOR] = "operator",
	[PKI_SERVER] = "server",
	[PKI_CA] = "ca",
};

static derms_rc pki_ossl_fail(derms_err *err, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
static derms_rc pki_check_name(const char *name, derms_err *err);
static derms_rc pki_path(char *buf, size_t size, const char *dir,
						 const char *name, const char *suffix, derms_err *err);
static derms_rc pki_mkdirs(const char *dir, derms_err *err);
static derms_rc pki_require_dir(const char *dir, derms_err *err);
static derms_rc pki_check_free(const char *dir, const char *name,
							   derms_err *err);
static derms_rc pki_sync_dir(const char *dir, derms_err *err);
static derms_rc pki_make_tmpdir(const char *dir, char *tmp, size_t size,
								derms_err *err);
static void pki_remove_tmpdir(const char *tmp);
static derms_rc pki_publish(const char *tmp, const char *dir,
							const char *const *names, int n, bool replace,
							derms_err *err);
static derms_rc pki_new_key(EVP_PKEY **out, derms_err *err);
static derms_rc pki_set_serial(X509 *x, derms_err *err);
static derms_rc pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid,
							const char *value, derms_err *err);
static derms_rc pki_new_cert(const struct pki_profile *prof, const char *cn,
							 EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
							 X509 **out, derms_err *err);
static derms_rc pki_write_bio(const char *path, BIO *bio, mode_t mode,
							  derms_err *err);
static derms_rc pki_write_key(const char *path, EVP_PKEY *key,
							  derms_err *err);
static derms_rc pki_write_certs(const char *path, X509 *first, X509 *second,
								derms_err *err);
static derms_rc pki_write_pair(const char *dir, const char *name, X509 *cert,
							   X509 *chain, EVP_PKEY *key, derms_err *err);
static derms_rc pki_fill_issued(pki_issued *out, const char *dir,
								const char *name, pki_kind kind, X509 *cert,
								derms_err *err);
static derms_rc pki_load_cert(const char *path, X509 **out, derms_err *err);
static derms_rc pki_load_key(const char *path, EVP_PKEY **out,
							 derms_err *err);
static derms_rc pki_make_client(const char *dir, const char *name,
								const struct pki_profile *prof, X509 *issuer,
								EVP_PKEY *issuer_key, pki_issued *out,
								derms_err *err);
static derms_rc pki_init_into(const char *tmp, const char *dir,
							  pki_result *res, derms_err *err);

const char *
pki_kind_name(pki_kind kind)
{
	if ((unsigned) kind < sizeof(pki_kind_names) / sizeof(pki_kind_names[0]) &&
		pki_kind_names[kind] != NULL)
		return pki_kind_names[kind];
	return "unknown";
}

/*
 * Fill err with a DERMS_ETLS failure; OpenSSL's most recent error becomes
 * the detail.  Returns DERMS_ETLS.
 */
static derms_rc
pki_ossl_fail(derms_err *err, const char *fmt,...)
{
	char		msg[DERMS_ERR_MSG_MAX];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	derms_err_set(err, DERMS_ETLS, "%s", msg);
	ossl_err_detail(err);
	return DERMS_ETLS;
}

/* A leaf name: 1..PKI_NAME_MAX of [A-Za-z0-9._-], no leading dot. */
static derms_rc
pki_check_name(const char *name, derms_err *err)
{
	size_t		n;

	if (name == NULL || *name == '\0')
		return derms_err_set(err, DERMS_EINVAL, "certificate name is empty");
	n = strlen(name);
	if (n > PKI_NAME_MAX)
		return derms_err_set(err, DERMS_EINVAL,
							 "certificate name is longer than %d characters",
							 PKI_NAME_MAX);
	for (size_t i = 0; i < n; i++)
	{
		char		c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return derms_err_set(err, DERMS_EINVAL,
								 "certificate name may hold only "
								 "A-Z, a-z, 0-9, '.', '_' and '-'");
	}
	if (name[0] == '.')
		return derms_err_set(err, DERMS_EINVAL,
							 "certificate name \"%s\" starts with a dot", name);
	return DERMS_OK;
}

/* buf = dir "/" name suffix, or DERMS_ERANGE when it does not fit. */
static derms_rc
pki_path(char *buf, size_t size, const char *dir, const char *name,
		 const char *suffix, derms_err *err)
{
	int			n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);

	if (n < 0 || (size_t) n >= size)
		return derms_err_set(err, DERMS_ERANGE,
							 "path \"%s/%s%s\" is too long", dir, name, suffix);
	return DERMS_OK;
}

/* mkdir -p with mode 0700; an existing directory is left as it is. */
static derms_rc
pki_mkdirs(const char *dir, derms_err *err)
{
	char		buf[PATH_MAX];
	size_t		n = strlen(dir);
	bool		created = false;

	if (n >= sizeof(buf))
		return derms_err_set(err, DERMS_ERANGE,
							 "directory name \"%s\" is too long", dir);
	memcpy(buf, dir, n + 1);
	for (char *p = buf + 1;; p++)
	{
		char		c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		created = (mkdir(buf, PKI_DIR_MODE) == 0);
		if (!created && errno != EEXIST)
			return derms_err_set(err, DERMS_EIO,
								 "could not create directory \"%s\": %m", buf);
		*p = c;
		if (c == '\0')
			break;
	}
	/* The umask may have taken bits away from a directory we made. */
	if (created && chmod(dir, PKI_DIR_MODE) != 0)
		return derms_err_set(err, DERMS_EIO,
							 "could not set permissions of directory \"%s\": %m",
							 dir);
	return pki_require_dir(dir, err);
}

/* DERMS_OK when dir is an existing directory. */
static derms_rc
pki_require_dir(const char *dir, derms_err *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return derms_err_set(err,
							 errno == ENOENT ? DERMS_ENOTFOUND : DERMS_EIO,
							 "could not access directory \"%s\": %m", dir);
	if (!S_ISDIR(st.st_mode))
		return derms_err_set(err, DERMS_EINVAL,
							 "\"%s\" is not a directory", dir);
	return DERMS_OK;
}

/* DERMS_EEXIST when dir/NAME.pem or dir/NAME.key exists. */
static derms_rc
pki_check_free(const char *dir, const char *name, derms_err *err)
{
	static const char *const suffixes[] = {".pem", ".key"};
	char		path[PATH_MAX];
	struct stat st;
	derms_rc	rc;

	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
	{
		rc = pki_path(path, sizeof(path), dir, name, suffixes[i], err);
		if (rc != DERMS_OK)
			return rc;
		if (lstat(path, &st) == 0)
			return derms_err_set(err, DERMS_EEXIST,
								 "certificate \"%s\" exists already", name);
		if (errno != ENOENT)
			return derms_err_set(err, DERMS_EIO,
								 "could not access file \"%s\": %m", path);
	}
	return DERMS_OK;
}

/* Make the directory entries made or removed in dir durable. */
static derms_rc
pki_sync_dir(const char *dir, derms_err *err)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return derms_err_set(err, DERMS_EIO,
							 "could not open directory \"%s\": %m", dir);
	if (fsync(fd) != 0 && errno != EINVAL)
	{
		derms_err_set(err, DERMS_EIO,
					  "could not fsync directory \"%s\": %m", dir);
		close(fd);
		return DERMS_EIO;
	}
	close(fd);
	return DERMS_OK;
}

/* Create dir/.tmp-XXXXXX (mode 0700) and put its path into tmp. */
static derms_rc
pki_make_tmpdir(const char *dir, char *tmp, size_t size, derms_err *err)
{
	derms_rc	rc = pki_path(tmp, size, dir, PKI_TMP_PREFIX, "XXXXXX", err);

	if (rc != DERMS_OK)
		return rc;
	if (mkdtemp(tmp) == NULL)
		return derms_err_set(err, DERMS_EIO,
							 "could not create a temporary directory in \"%s\": %m",
							 dir);
	return DERMS_OK;
}

/* Remove tmp and the files in it (it never has subdirectories). */
static void
pki_remove_tmpdir(const char *tmp)
{
	DIR		   *d = opendir(tmp);
	struct dirent *de;

	if (d != NULL)
	{
		while ((de = readdir(d)) != NULL)
		{
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			(void) unlinkat(dirfd(d), de->d_name, 0);
		}
		closedir(d);
	}
	(void) rmdir(tmp);
}

/*
 * Move tmp/NAME to dir/NAME for each of names, in order, then sync dir.
 * replace: rename(2) over whatever is there.  Otherwise link(2), so that an
 * existing file gives DERMS_EEXIST; the links already made are then undone.
 */
static derms_rc
pki_publish(const char *tmp, const char *dir, const char *const *names,
			int n, bool replace, derms_err *err)
{
	char		from[PATH_MAX];
	char		to[PATH_MAX];
	derms_rc	rc = DERMS_OK;
	int			done;

	for (done = 0; done < n; done++)
	{
		int			r;

		rc = pki_path(from, sizeof(from), tmp, names[done], "", err);
		if (rc == DERMS_OK)
			rc = pki_path(to, sizeof(to), dir, names[done], "", err);
		if (rc != DERMS_OK)
			break;
		r = replace ? rename(from, to) : link(from, to);
		if (r != 0)
		{
			if (!replace && errno == EEXIST)
				rc = derms_err_set(err, DERMS_EEXIST,
								   "file \"%s\" exists already", to);
			else
				rc = derms_err_set(err, DERMS_EIO,
								   "could not move \"%s\" to \"%s\": %m",
								   from, to);
			break;
		}
	}
	if (rc == DERMS_OK)
		return pki_sync_dir(dir, err);

	/* Undo only the links made here; never touch what was there before. */
	if (!replace)
		for (int j = 0; j < done; j++)
			if (pki_path(to, sizeof(to), dir, names[j], "", NULL) == DERMS_OK)
				(void) unlink(to);
	return rc;
}

/* A new ECDSA P-256 key; *out is new. */
static derms_rc
pki_new_key(EVP_PKEY **out, derms_err *err)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);

	*out = NULL;
	if (ctx == NULL ||
		EVP_PKEY_keygen_init(ctx) <= 0 ||
		EVP_PKEY_CTX_set_group_name(ctx, PKI_CURVE) <= 0 ||
		EVP_PKEY_generate(ctx, out) <= 0)
	{
		EVP_PKEY_CTX_free(ctx);
		EVP_PKEY_free(*out);
		*out = NULL;
		return pki_ossl_fail(err, "could not generate a P-256 key");
	}
	EVP_PKEY_CTX_free(ctx);
	return DERMS_OK;
}

/* A random, non-zero 128-bit serial number. */
static derms_rc
pki_set_serial(X509 *x, derms_err *err)
{
	unsigned char buf[PKI_SERIAL_BYTES];
	BIGNUM	   *bn;
	bool		ok;

	do
	{
		if (RAND_bytes(buf, sizeof(buf)) != 1)
			return pki_ossl_fail(err, "could not generate a serial number");
		bn = BN_bin2bn(buf, sizeof(buf), NULL);
		if (bn == NULL)
			return pki_ossl_fail(err, "could not generate a serial number");
		if (!BN_is_zero(bn))
			break;
		BN_free(bn);
	} while (true);

	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	if (!ok)
		return pki_ossl_fail(err, "could not set a serial number");
	return DERMS_OK;
}

/* Add one extension given as openssl.cnf text ("critical,..."). */
static derms_rc
pki_add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value,
			derms_err *err)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int			ok;

	if (ext == NULL)
		return pki_ossl_fail(err, "could not build %s extension \"%s\"",
							 OBJ_nid2sn(nid), value);
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok)
		return pki_ossl_fail(err, "could not add %s extension",
							 OBJ_nid2sn(nid));
	return DERMS_OK;
}

/*
 * A certificate of profile prof for key, with subject "O=dermsd demo,
 * OU=<kind>, CN=cn", signed by issuer_key under issuer's name, or
 * self-signed when issuer is NULL.  *out is new.
 */
static derms_rc
pki_new_cert(const struct pki_profile *prof, const char *cn, EVP_PKEY *key,
			 X509 *issuer, EVP_PKEY *issuer_key, X509 **out, derms_err *err)
{
	X509	   *x;
	X509_NAME  *subject;
	X509V3_CTX	ctx;
	derms_rc	rc;
	bool		ok;

	assert(prof != NULL && cn != NULL && key != NULL);
	assert((issuer == NULL) == (issuer_key == NULL));

	*out = NULL;
	x = X509_new();
	if (x == NULL)
		return pki_ossl_fail(err, "could not allocate a certificate");

	rc = pki_set_serial(x, err);
	if (rc != DERMS_OK)
		goto fail;

	subject = X509_get_subject_name(x);
	ok = X509_set_version(x, X509_VERSION_3) &&
		X509_gmtime_adj(X509_getm_notBefore(x), -PKI_BACKDATE_S) != NULL &&
		(prof->days > 0
		 ? X509_time_adj_ex(X509_getm_notAfter(x), prof->days, 0, NULL) != NULL
		 : ASN1_TIME_set_string_X509(X509_getm_notAfter(x),
									 PKI_NO_EXPIRY) == 1) &&
		X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
								   (const unsigned char *) PKI_ORG,
								   -1, -1, 0) &&
		X509_NAME_add_entry_by_txt(subject, "OU", MBSTRING_UTF8,
								   (const unsigned char *)
								   pki_kind_name(prof->kind), -1, -1, 0) &&
		X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
								   (const unsigned char *) cn, -1, -1, 0) &&
		X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x)) &&
		X509_set_pubkey(x, key);
	if (!ok)
	{
		rc = pki_ossl_fail(err, "could not fill certificate \"%s\"", cn);
		goto fail;
	}

	/* subjectKeyIdentifier goes first: the self-signed AKI copies it. */
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	if ((rc = pki_add_ext(x, &ctx, NID_basic_constraints,
						  prof->basic_constraints, err)) != DERMS_OK ||
		(rc = pki_add_ext(x, &ctx, NID_key_usage,
						  prof->key_usage, err)) != DERMS_OK ||
		(prof->ext_key_usage != NULL &&
		 (rc = pki_add_ext(x, &ctx, NID_ext_key_usage,
						   prof->ext_key_usage, err)) != DERMS_OK) ||
		(prof->subject_alt_name != NULL &&
		 (rc = pki_add_ext(x, &ctx, NID_subject_alt_name,
						   prof->subject_alt_name, err)) != DERMS_OK) ||
		(rc = pki_add_ext(x, &ctx, NID_subject_key_identifier,
						  "hash", err)) != DERMS_OK ||
		(rc = pki_add_ext(x, &ctx, NID_authority_key_identifier,
						  "keyid:always", err)) != DERMS_OK)
		goto fail;

	if (X509_sign(x, issuer ? issuer_key : key, EVP_sha256()) <= 0)
	{
		rc = pki_ossl_fail(err, "could not sign certificate \"%s\"", cn);
		goto fail;
	}
	*out = x;
	return DERMS_OK;

fail:
	X509_free(x);
	return rc;
}

/* Write the contents of a memory BIO to a new file path with mode. */
static derms_rc
pki_write_bio(const char *path, BIO *bio, mode_t mode, derms_err *err)
{
	char	   *data = NULL;
	long		len = BIO_get_mem_data(bio, &data);
	size_t		done = 0;
	int			fd;

	if (len <= 0 || data == NULL)
		return derms_err_set(err, DERMS_ETLS,
							 "nothing to write to file \"%s\"", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return derms_err_set(err,
							 errno == EEXIST ? DERMS_EEXIST : DERMS_EIO,
							 "could not create file \"%s\": %m", path);
	if (fchmod(fd, mode) != 0)
		goto fail;
	while (done < (size_t) len)
	{
		ssize_t		w = write(fd, data + done, (size_t) len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
		{
			if (w == 0)
				errno = EIO;
			goto fail;
		}
		done += (size_t) w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0)
	{
		fd = -1;
		goto fail;
	}
	return DERMS_OK;

fail:
	derms_err_set(err, DERMS_EIO, "could not write file \"%s\": %m", path);
	if (fd >= 0)
		close(fd);
	(void) unlink(path);
	return DERMS_EIO;
}

/* Write key as unencrypted PKCS#8 PEM, mode 0600. */
static derms_rc
pki_write_key(const char *path, EVP_PKEY *key, derms_err *err)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	derms_rc	rc;

	if (bio == NULL ||
		!PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
	{
		BIO_free(bio);
		return pki_ossl_fail(err, "could not encode private key for \"%s\"",
							 path);
	}
	rc = pki_write_bio(path, bio, PKI_KEY_MODE, err);
	BIO_free(bio);
	return rc;
}

/* Write one or two certificates as PEM, mode 0644. */
static derms_rc
pki_write_certs(const char *path, X509 *first, X509 *second, derms_err *err)
{
	BIO		   *bio = BIO_new(BIO_s_mem());
	derms_rc	rc;

	if (bio == NULL || !PEM_write_bio_X509(bio, first) ||
		(second != NULL && !PEM_write_bio_X509(bio, second)))
	{
		BIO_free(bio);
		return pki_ossl_fail(err, "could not encode certificates for \"%s\"",
							 path);
	}
	rc = pki_write_bio(path, bio, PKI_CERT_MODE, err);
	BIO_free(bio);
	return rc;
}

/* dir/NAME.key and dir/NAME.pem (cert, then chain when not NULL). */
static derms_rc
pki_write_pair(const char *dir, const char *name, X509 *cert, X509 *chain,
			   EVP_PKEY *key, derms_err *err)
{
	char		path[PATH_MAX];
	derms_rc	rc;

	if ((rc = pki_path(path, sizeof(path), dir, name, ".key", err)) != DERMS_OK ||
		(rc = pki_write_key(path, key, err)) != DERMS_OK ||
		(rc = pki_path(path, sizeof(path), dir, name, ".pem", err)) != DERMS_OK ||
		(rc = pki_write_certs(path, cert, chain, err)) != DERMS_OK)
		return rc;
	return DERMS_OK;
}

/* Describe cert, to be found as dir/NAME.pem and dir/NAME.key. */
static derms_rc
pki_fill_issued(pki_issued *out, const char *dir, const char *name,
				pki_kind kind, X509 *cert, derms_err *err)
{
	unsigned char *der = NULL;
	int			len;
	derms_rc	rc;

	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->kind = kind;
	if ((rc = pki_path(out->cert_path, sizeof(out->cert_path), dir, name,
					   ".pem", err)) != DERMS_OK ||
		(rc = pki_path(out->key_path, sizeof(out->key_path), dir, name,
					   ".key", err)) != DERMS_OK)
		return rc;
	len = i2d_X509(cert, &der);
	if (len <= 0)
		return pki_ossl_fail(err, "could not encode certificate \"%s\"", name);
	rc = identity_from_der(der, (size_t) len, &out->id, err);
	OPENSSL_free(der);
	return rc;
}

/* The first certificate in the PEM file path; *out is new. */
static derms_rc
pki_load_cert(const char *path, X509 **out, derms_err *err)
{
	FILE	   *fp = fopen(path, "re");

	*out = NULL;
	if (fp == NULL)
		return derms_err_set(err,
							 errno == ENOENT ? DERMS_ENOTFOUND : DERMS_EIO,
							 "could not open certificate file \"%s\": %m",
							 path);
	*out = PEM_read_X509(fp, NULL, ossl_no_passphrase, NULL);
	fclose(fp);
	if (*out == NULL)
	{
		derms_err_set(err, DERMS_EPARSE,
					  "no certificate found in file \"%s\"", path);
		ossl_err_detail(err);
		return DERMS_EPARSE;
	}
	return DERMS_OK;
}

/* The private key in the PEM file path; *out is new. */
static derms_rc
pki_load_key(const char *path, EVP_PKEY **out, derms_err *err)
{
	FILE	   *fp = fopen(path, "re");

	*out = NULL;
	if (fp == NULL)
		return derms_err_set(err,
							 errno == ENOENT ? DERMS_ENOTFOUND : DERMS_EIO,
							 "could not open key file \"%s\": %m", path);
	*out = PEM_read_PrivateKey(fp, NULL, ossl_no_passphrase, NULL);
	fclose(fp);
	if (*out == NULL)
	{
		derms_err_set(err, DERMS_EPARSE,
					  "no usable private key found in file \"%s\"", path);
		ossl_err_detail(err);
		return DERMS_EPARSE;
	}
	return DERMS_OK;
}

/*
 * Make a key and a client certificate of profile prof signed by issuer,
 * and add dir/NAME.pem (leaf + issuer) and dir/NAME.key without replacing
 * anything.
 */
static derms_rc
pki_make_client(const char *dir, const char *name,
				const struct pki_profile *prof, X509 *issuer,
				EVP_PKEY *issuer_key, pki_issued *out, derms_err *err)
{
	char		tmp[PATH_MAX];
	char		key_name[PKI_FILE_MAX];
	char		pem_name[PKI_FILE_MAX];
	const char *names[2] = {key_name, pem_name};
	EVP_PKEY   *key = NULL;
	X509	   *cert = NULL;
	pki_issued	issued;
	derms_rc	rc;

	snprintf(key_name, sizeof(key_name), "%s.key", name);
	snprintf(pem_name, sizeof(pem_name), "%s.pem", name);

	if ((rc = pki_new_key(&key, err)) != DERMS_OK)
		return rc;
	rc = pki_new_cert(prof, name, key, issuer, issuer_key, &cert, err);
	if (rc == DERMS_OK)
		rc = pki_fill_issued(&issued, dir, name, prof->kind, cert, err);
	if (rc == DERMS_OK)
		rc = pki_make_tmpdir(dir, tmp, sizeof(tmp), err);
	if (rc == DERMS_OK)
	{
		rc = pki_write_pair(tmp, name, cert, issuer, key, err);
		if (rc == DERMS_OK)
			rc = pki_publish(tmp, dir, names, 2, false, err);
		pki_remove_tmpdir(tmp);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	if (rc == DERMS_OK && out != NULL)
		*out = issued;
	return rc;
}

/*
 * The body of pki_init: generate everything into tmp, then publish it into
 * dir.  res, when not NULL, is filled as it goes.
 */
static derms_rc
pki_init_into(const char *tmp, const char *dir, pki_result *res,
			  derms_err *err)
{
	EVP_PKEY   *root_key = NULL;
	EVP_PKEY   *int_key = NULL;
	X509	   *root = NULL;
	X509	   *inter = NULL;
	char		files[PKI_INIT_NFILES][PKI_FILE_MAX];
	const char *names[PKI_INIT_NFILES];
	char		path[PATH_MAX];
	int			nfiles = 0;
	derms_rc	rc;

	/* The two CAs. */
	if ((rc = pki_new_key(&root_key, err)) != DERMS_OK ||
		(rc = pki_new_cert(&pki_profiles[PKI_PROF_ROOT],
						   "dermsd demo root CA", root_key, NULL, NULL,
						   &root, err)) != DERMS_OK ||
		(rc = pki_write_pair(tmp, "ca", root, NULL, root_key,
							 err)) != DERMS_OK ||
		(rc = pki_new_key(&int_key, err)) != DERMS_OK ||
		(rc = pki_new_cert(&pki_profiles[PKI_PROF_INTERMEDIATE],
						   "dermsd demo intermediate CA", int_key, root,
						   root_key, &inter, err)) != DERMS_OK ||
		(rc = pki_write_pair(tmp, "intermediate", inter, NULL, int_key,
							 err)) != DERMS_OK ||
		(rc = pki_path(path, sizeof(path), tmp, "trust", ".pem",
					   err)) != DERMS_OK ||
		(rc = pki_write_certs(path, root, inter, err)) != DERMS_OK)
		goto done;
	if (res != NULL &&
		((rc = pki_fill_issued(&res->items[res->count++], dir, "ca", PKI_CA,
							   root, err)) != DERMS_OK ||
		 (rc = pki_fill_issued(&res->items[res->count++], dir,
							   "intermediate", PKI_CA, inter,
							   err)) != DERMS_OK))
		goto done;

	/* The leaves, each with the intermediate after it. */
	for (size_t i = 0; i < PKI_NDEMO; i++)
	{
		const struct pki_profile *prof =
			&pki_profiles[pki_demo_leaves[i].profile];
		const char *name = pki_demo_leaves[i].name;
		EVP_PKEY   *key = NULL;
		X509	   *cert = NULL;

		rc = pki_new_key(&key, err);
		if (rc == DERMS_OK)
			rc = pki_new_cert(prof, name, key, inter, int_key, &cert, err);
		if (rc == DERMS_OK)
			rc = pki_write_pair(tmp, name, cert, inter, key, err);
		if (rc == DERMS_OK && res != NULL)
			rc = pki_fill_issued(&res->items[res->count++], dir, name,
								 prof->kind, cert, err);
		X509_free(cert);
		EVP_PKEY_free(key);
		if (rc != DERMS_OK)
			goto done;
		snprintf(files[nfiles++], PKI_FILE_MAX, "%s.pem", name);
		snprintf(files[nfiles++], PKI_FILE_MAX, "%s.key", name);
	}
	/* the key that signs the VTN's access tokens (ES256): no certificate */
	{
		EVP_PKEY   *key = NULL;

		rc = pki_new_key(&key, err);
		if (rc == DERMS_OK &&
			(rc = pki_path(path, sizeof(path), tmp, "vtn-token", ".key",
						   err)) == DERMS_OK)
			rc = pki_write_key(path, key, err);
		EVP_PKEY_free(key);
		if (rc != DERMS_OK)
			goto done;
		snprintf(files[nfiles++], PKI_FILE_MAX, "vtn-token.key");
	}
	snprintf(files[nfiles++], PKI_FILE_MAX, "ca.key");
	snprintf(files[nfiles++], PKI_FILE_MAX, "intermediate.pem");
	snprintf(files[nfiles++], PKI_FILE_MAX, "intermediate.key");
	snprintf(files[nfiles++], PKI_FILE_MAX, "trust.pem");
	snprintf(files[nfiles++], PKI_FILE_MAX, "ca.pem");	/* must be last */
	assert(nfiles == (int) PKI_INIT_NFILES);
	for (int i = 0; i < nfiles; i++)
		names[i] = files[i];

	/*
	 * Without ca.pem the directory is not a PKI, so from here until the
	 * last rename a crash leaves something the next pki_init redoes.
	 */
	if ((rc = pki_path(path, sizeof(path), dir, "ca", ".pem",
					   err)) != DERMS_OK)
		goto done;
	if (unlink(path) != 0 && errno != ENOENT)
	{
		rc = derms_err_set(err, DERMS_EIO,
						   "could not remove file \"%s\": %m", path);
		goto done;
	}
	if ((rc = pki_sync_dir(dir, err)) != DERMS_OK)
		goto done;
	rc = pki_publish(tmp, dir, names, nfiles, true, err);

done:
	X509_free(inter);
	X509_free(root);
	EVP_PKEY_free(int_key);
	EVP_PKEY_free(root_key);
	return rc;
}

derms_rc
pki_init(const char *dir, bool force, pki_result *res, derms_err *err)
{
	char		path[PATH_MAX];
	char		tmp[PATH_MAX];
	struct stat st;
	derms_rc	rc;

	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (dir == NULL || *dir == '\0')
		return derms_err_set(err, DERMS_EINVAL,
							 "PKI directory name is empty");
	if ((rc = pki_mkdirs(dir, err)) != DERMS_OK)
		return rc;
	if ((rc = pki_path(path, sizeof(path), dir, "ca", ".pem",
					   err)) != DERMS_OK)
		return rc;
	if (lstat(path, &st) == 0)
	{
		if (!force)
		{
			derms_err_set(err, DERMS_EEXIST,
						  "a PKI exists already in directory \"%s\"", dir);
			derms_err_detail(err, "\"%s\" exists; use force to replace the PKI",
							 path);
			return DERMS_EEXIST;
		}
	}
	else if (errno != ENOENT)
		return derms_err_set(err, DERMS_EIO,
							 "could not access file \"%s\": %m", path);
	if (res != NULL &&
		(rc = pki_path(res->trust_path, sizeof(res->trust_path), dir,
					   "trust", ".pem", err)) != DERMS_OK)
		return rc;

	if ((rc = pki_make_tmpdir(dir, tmp, sizeof(tmp), err)) != DERMS_OK)
		return rc;
	rc = pki_init_into(tmp, dir, res, err);
	pki_remove_tmpdir(tmp);
	if (rc != DERMS_OK && res != NULL)
		memset(res, 0, sizeof(*res));
	return rc;
}

derms_rc
pki_issue(const char *dir, const char *name, pki_kind kind, pki_issued *out,
		  derms_err *err)
{
	const struct pki_profile *prof = NULL;
	char		path[PATH_MAX];
	struct stat st;
	X509	   *inter = NULL;
	EVP_PKEY   *int_key = NULL;
	derms_rc	rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < PKI_NPROFILES; i++)
		if (pki_profiles[i].issuable && pki_profiles[i].kind == kind)
			prof = &pki_profiles[i];
	if (prof == NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "cannot issue a certificate of kind \"%s\"",
							 pki_kind_name(kind));
	if (dir == NULL || *dir == '\0')
		return derms_err_set(err, DERMS_EINVAL,
							 "PKI directory name is empty");
	if ((rc = pki_check_name(name, err)) != DERMS_OK)
		return rc;

	if ((rc = pki_path(path, sizeof(path), dir, "ca", ".pem",
					   err)) != DERMS_OK)
		return rc;
	if (stat(path, &st) != 0)
	{
		if (errno != ENOENT)
			return derms_err_set(err, DERMS_EIO,
								 "could not access file \"%s\": %m", path);
		derms_err_set(err, DERMS_ENOTFOUND,
					  "no PKI in directory \"%s\"", dir);
		derms_err_detail(err, "\"%s\" is missing; initialise the PKI first",
						 path);
		return DERMS_ENOTFOUND;
	}
	if ((rc = pki_check_free(dir, name, err)) != DERMS_OK)
		return rc;

	if ((rc = pki_path(path, sizeof(path), dir, "intermediate", ".pem",
					   err)) != DERMS_OK ||
		(rc = pki_load_cert(path, &inter, err)) != DERMS_OK ||
		(rc = pki_path(path, sizeof(path), dir, "intermediate", ".key",
					   err)) != DERMS_OK ||
		(rc = pki_load_key(path, &int_key, err)) != DERMS_OK)
		goto done;
	if (X509_check_private_key(inter, int_key) != 1)
	{
		rc = pki_ossl_fail(err, "intermediate key in \"%s\" does not match "
						   "its certificate", dir);
		goto done;
	}
	rc = pki_make_client(dir, name, prof, inter, int_key, out, err);

done:
	X509_free(inter);
	EVP_PKEY_free(int_key);
	return rc;
}

derms_rc
pki_self_signed_client(const char *dir, const char *name, pki_issued *out,
					   derms_err *err)
{
	EVP_PKEY   *ca_key = NULL;
	X509	   *ca = NULL;
	derms_rc	rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (dir == NULL || *dir == '\0')
		return derms_err_set(err, DERMS_EINVAL, "directory name is empty");
	if ((rc = pki_check_name(name, err)) != DERMS_OK ||
		(rc = pki_require_dir(dir, err)) != DERMS_OK ||
		(rc = pki_check_free(dir, name, err)) != DERMS_OK)
		return rc;

	if ((rc = pki_new_key(&ca_key, err)) == DERMS_OK &&
		(rc = pki_new_cert(&pki_profiles[PKI_PROF_ROOT],
						   "dermsd throwaway CA (untrusted)", ca_key,
						   NULL, NULL, &ca, err)) == DERMS_OK)
		rc = pki_make_client(dir, name, &pki_profiles[PKI_PROF_DEVICE], ca,
							 ca_key, out, err);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rc;
}
