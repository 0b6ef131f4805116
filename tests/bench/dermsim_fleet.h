/*
 * tests/bench/dermsim_fleet.h
 *	  dermsim's devices before they speak: one real certificate per device
 *	  (issued by the demo PKI, reused across runs), the identity the
 *	  server will see, and the battery each device simulates.
 *
 * NOTES
 *	  Included by tests/bench/dermsim.c only, so everything here is static.
 *	  Device i's certificate is DIR/dermsim-NNNNN.pem (leaf + intermediate)
 *	  and DIR/dermsim-NNNNN.key, issued with pki_issue() when either file is
 *	  missing.  pki_issue fsyncs every file and costs milliseconds, most of
 *	  it waiting for the disk, so the missing ones are issued by several
 *	  forked processes side by side; the certificates then stay in DIR for
 *	  the next run.  A half-written pair (one file of the two) is removed
 *	  and issued again.
 *	  The PEM text of each pair is read at start-up; the OpenSSL objects
 *	  are parsed from it at the device's first connection (sim_cred_parse)
 *	  and kept, because OpenSSL 3 takes about a millisecond to decode a
 *	  PEM key: more than the handshake itself.
 *
 *	  The battery is deliberately simple: energy moves at a setpoint that
 *	  changes at random, stops at the SoC limits, and reverses there.  It
 *	  is what the DERStatus and MirrorMeterReading posts report.  A DER
 *	  control with a power target (sim_battery_force) overrides the random
 *	  setpoint while it lasts.
 */
#ifndef DERMS_BENCH_DERMSIM_FLEET_H
#define DERMS_BENCH_DERMSIM_FLEET_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "server/identity.h"
#include "server/pki.h"

#define SIM_CERT_PREFIX "dermsim-"
#define SIM_PEM_MAX (64 * 1024)	/* larger files are not ours */

/* One device's credentials, all new (freed by sim_cred_free). */
typedef struct sim_cred
{
	char	   *cert_pem;		/* leaf + intermediate */
	size_t		cert_len;
	char	   *key_pem;
	size_t		key_len;
	derms_identity id;
	X509	   *x509;			/* the leaf, parsed on first use */
	EVP_PKEY   *pkey;
} sim_cred;

/* A battery behind an inverter. */
typedef struct sim_battery
{
	double		capacity_wh;
	double		max_w;			/* charge and discharge limit */
	double		soc;			/* 0..1 */
	double		setpoint_w;		/* > 0 charges, < 0 discharges */
	double		next_change;	/* when the setpoint changes, monotonic s */
	double		updated;		/* last sim_battery_step, monotonic s */
	double		forced_w;		/* a control's setpoint ... */
	double		forced_until;	/* ... until then, monotonic s */
} sim_battery;

#define SIM_SOC_MIN 0.05
#define SIM_SOC_MAX 0.95

/* ---- certificates ---- */

static void
sim_cert_paths(const char *dir, int i, char *pem, char *key, size_t size)
{
	snprintf(pem, size, "%s/" SIM_CERT_PREFIX "%05d.pem", dir, i);
	snprintf(key, size, "%s/" SIM_CERT_PREFIX "%05d.key", dir, i);
}

/* Whole file into a new NUL-terminated buffer. */
static derms_rc
sim_read_file(const char *path, char **out, size_t *len, derms_err *err)
{
	int			fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char	   *buf;
	size_t		got = 0;

	*out = NULL;
	if (fd < 0)
		return derms_err_set(err, errno == ENOENT ? DERMS_ENOTFOUND : DERMS_EIO,
							 "could not open \"%s\": %m", path);
	if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > SIM_PEM_MAX)
	{
		close(fd);
		return derms_err_set(err, DERMS_EIO, "\"%s\" is empty, too large or unreadable",
							 path);
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL)
	{
		close(fd);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	while (got < (size_t) st.st_size)
	{
		ssize_t		n = read(fd, buf + got, (size_t) st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			free(buf);
			close(fd);
			return derms_err_set(err, DERMS_EIO, "could not read \"%s\": %m", path);
		}
		got += (size_t) n;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return DERMS_OK;
}

/* Issue every missing certificate with i % jobs == slot. */
static derms_rc
sim_issue_slot(const char *dir, int n, int jobs, int slot, derms_err *err)
{
	char		pem[PATH_MAX], key[PATH_MAX], name[PKI_NAME_MAX + 1];

	for (int i = slot; i < n; i += jobs)
	{
		bool		has_pem, has_key;

		sim_cert_paths(dir, i, pem, key, sizeof(pem));
		has_pem = access(pem, F_OK) == 0;
		has_key = access(key, F_OK) == 0;
		if (has_pem && has_key)
			continue;
		if (has_pem)
			unlink(pem);
		if (has_key)
			unlink(key);
		snprintf(name, sizeof(name), SIM_CERT_PREFIX "%05d", i);
		if (pki_issue(dir, name, PKI_DEVICE, NULL, err) != DERMS_OK)
			return err ? err->code : DERMS_EIO;
	}
	return DERMS_OK;
}

/* How many of the first n devices have no complete certificate pair. */
static int
sim_count_missing(const char *dir, int n)
{
	char		pem[PATH_MAX], key[PATH_MAX];
	int			missing = 0;

	for (int i = 0; i < n; i++)
	{
		sim_cert_paths(dir, i, pem, key, sizeof(pem));
		if (access(pem, F_OK) != 0 || access(key, F_OK) != 0)
			missing++;
	}
	return missing;
}

/*
 * Make sure devices 0..n-1 have certificates in dir, issuing the missing
 * ones in jobs processes.  *issued gets how many were issued.
 */
static derms_rc
sim_fleet_issue(const char *dir, int n, int jobs, int *issued, derms_err *err)
{
	char		ca[PATH_MAX];
	int			missing;
	pid_t	   *kids;
	int			failed = 0;

	*issued = 0;
	snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
	if (access(ca, R_OK) != 0)
		return derms_err_set(err, DERMS_ENOTFOUND,
							 "no PKI in \"%s\" (no ca.pem): make one with dermsctl pki init --dir %s",
							 dir, dir);
	missing = sim_count_missing(dir, n);
	if (missing == 0)
		return DERMS_OK;
	if (jobs > missing)
		jobs = missing;
	if (jobs <= 1)
	{
		if (sim_issue_slot(dir, n, 1, 0, err) != DERMS_OK)
			return err ? err->code : DERMS_EIO;
		*issued = missing;
		return DERMS_OK;
	}
	kids = calloc((size_t) jobs, sizeof(pid_t));
	if (kids == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	fflush(NULL);
	for (int k = 0; k < jobs; k++)
	{
		kids[k] = fork();
		if (kids[k] < 0)
		{
			failed++;
			break;
		}
		if (kids[k] == 0)
		{
			derms_err	kerr;

			if (sim_issue_slot(dir, n, jobs, k, &kerr) != DERMS_OK)
			{
				fprintf(stderr, "dermsim: could not issue a device certificate: %s\n",
						kerr.msg);
				_exit(1);
			}
			_exit(0);
		}
	}
	for (int k = 0; k < jobs; k++)
	{
		int			st;

		if (kids[k] <= 0)
			continue;
		while (waitpid(kids[k], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	free(kids);
	if (failed)
		return derms_err_set(err, DERMS_EIO,
							 "%d of %d certificate issuing processes failed", failed, jobs);
	*issued = missing;
	return DERMS_OK;
}

/* Read device i's pair and identity. */
static derms_rc
sim_cred_load(const char *dir, int i, sim_cred *c, derms_err *err)
{
	char		pem[PATH_MAX], key[PATH_MAX];

	memset(c, 0, sizeof(*c));
	sim_cert_paths(dir, i, pem, key, sizeof(pem));
	if (sim_read_file(pem, &c->cert_pem, &c->cert_len, err) != DERMS_OK ||
		sim_read_file(key, &c->key_pem, &c->key_len, err) != DERMS_OK ||
		identity_from_pem_file(pem, &c->id, err) != DERMS_OK)
	{
		free(c->cert_pem);
		free(c->key_pem);
		memset(c, 0, sizeof(*c));
		return err ? err->code : DERMS_EIO;
	}
	return DERMS_OK;
}

/* Parse the leaf and the key from the PEM text; false when they are bad. */
static bool
sim_cred_parse(sim_cred *c)
{
	BIO		   *b;
	char	   *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long		derlen = 0;

	if (c->x509 && c->pkey)
		return true;
	b = BIO_new_mem_buf(c->cert_pem, (int) c->cert_len);
	if (b == NULL)
		return false;
	c->x509 = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	b = BIO_new_mem_buf(c->key_pem, (int) c->key_len);
	if (b == NULL)
		return false;
	/* DER straight to an EC key: far cheaper than OpenSSL 3's PEM decoders */
	if (PEM_read_bio(b, &name, &header, &der, &derlen) == 1)
	{
		const unsigned char *p = der;

		c->pkey = d2i_PrivateKey(EVP_PKEY_EC, NULL, &p, derlen);
		if (c->pkey == NULL)
		{
			p = der;
			c->pkey = d2i_AutoPrivateKey(NULL, &p, derlen);
		}
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(b);
	return c->x509 != NULL && c->pkey != NULL;
}

static void
sim_cred_free(sim_cred *c)
{
	X509_free(c->x509);
	EVP_PKEY_free(c->pkey);
	free(c->cert_pem);
	free(c->key_pem);
	memset(c, 0, sizeof(*c));
}

/* ---- battery ---- */

/* Uniform in [0, 1) from a caller-owned xorshift state. */
static double
sim_rand01(uint64_t *state)
{
	uint64_t	x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return (double) (x >> 11) / (double) (UINT64_C(1) << 53);
}

static void
sim_battery_init(sim_battery *b, uint64_t *rng, double now)
{
	b->capacity_wh = 5000.0 + 10000.0 * sim_rand01(rng);	/* 5-15 kWh */
	b->max_w = b->capacity_wh / 2.0;	/* a 2-hour battery */
	b->soc = 0.2 + 0.6 * sim_rand01(rng);
	b->setpoint_w = 0.0;
	b->next_change = now;
	b->updated = now;
}

/* Move the battery forward to now. */
static void
sim_battery_step(sim_battery *b, uint64_t *rng, double now)
{
	double		dt = now - b->updated;

	if (dt > 0)
	{
		b->soc += b->setpoint_w * dt / 3600.0 / b->capacity_wh;
		if (b->soc >= SIM_SOC_MAX || b->soc <= SIM_SOC_MIN)
		{
			b->soc = b->soc >= SIM_SOC_MAX ? SIM_SOC_MAX : SIM_SOC_MIN;
			b->setpoint_w = -b->setpoint_w / 2.0;	/* back off the limit */
		}
		b->updated = now;
	}
	if (now < b->forced_until)
	{
		b->setpoint_w = b->forced_w;
		return;
	}
	if (now >= b->next_change)
	{
		/* a new setpoint every 1 to 15 minutes, idle one time in four */
		double		r = sim_rand01(rng);

		b->setpoint_w = r < 0.25 ? 0.0 : (2.0 * sim_rand01(rng) - 1.0) * b->max_w;
		b->next_change = now + 60.0 + 840.0 * sim_rand01(rng);
	}
}

/* Hold the setpoint at w (> 0 charges; clamped to the rating) until then. */
static void
sim_battery_force(sim_battery *b, double w, double until)
{
	b->forced_w = w > b->max_w ? b->max_w : w < -b->max_w ? -b->max_w : w;
	b->forced_until = until;
	b->setpoint_w = b->forced_w;
}

#endif							/* DERMS_BENCH_DERMSIM_FLEET_H */
