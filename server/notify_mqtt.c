/*
 * server/notify_mqtt.c
 *	  The notify role's MQTT publisher: claims outbox rows of kind "mqtt",
 *	  publishes them with QoS 1 to the broker of the [mqtt] settings over
 *	  TLS with a client certificate, and marks each delivered when its
 *	  PUBACK arrives.  A broker that goes away is reconnected to with
 *	  backoff; rows wait, pending, until it is back.
 *
 * NOTES
 *	  Runs in the notify worker, inside its loop (notify.c): libmosquitto
 *	  without its thread, the socket polled by the worker, its callbacks
 *	  called from notify_mqtt_io() and notify_mqtt_turn() only.  The
 *	  callbacks touch nothing but this struct; the database is written in
 *	  notify_mqtt_turn().  A notify_mqtt is malloc'd and owns its
 *	  mosquitto handle; queries use the caller's arena.
 *
 *	  Claims are leases like the webhook ones (notify.timeout_s + 30 s),
 *	  so the webhook worker's release of rows claimed by a vanished
 *	  backend covers a killed publisher too.  An outcome is written only
 *	  if the row is still the same claim (same attempts).
 */
#include "notify_mqtt.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <mosquitto.h>

#include "log.h"
#include "metrics.h"

#define MQTT_MAX_INFLIGHT 64	/* publications awaiting PUBACK */
#define MQTT_BATCH 16			/* rows claimed per query */
#define MQTT_KEEPALIVE_S 30
#define MQTT_CONNECT_TIMEOUT_MS 10000	/* CONNECT to CONNACK */
#define MQTT_IDLE_MS 1000		/* look for due rows at least this often */
#define MQTT_BACKOFF_MIN_MS 100
#define MQTT_BACKOFF_MAX_MS 30000
#define MQTT_LEASE_EXTRA_S 30
#define MQTT_URL_PREFIX "mqtt:///"

/* One publication awaiting its PUBACK. */
typedef struct mqtt_pub
{
	int			mid;			/* libmosquitto's message id */
	int64_t		id;				/* notify_outbox row */
	int			attempts;		/* the claim */
	uint64_t	deadline_ms;	/* the lease ends: forget it */
	bool		acked;
} mqtt_pub;

struct notify_mqtt
{
	struct mosquitto *mosq;		/* owned */
	char	   *host;			/* owned */
	int			port;
	int			lease_s;
	int			max_attempts;
	bool		connected;		/* CONNACK accepted */
	bool		connecting;		/* CONNECT sent, no CONNACK yet */
	bool		lost;			/* disconnected since the last turn */
	int			failures;		/* consecutive failed connects */
	uint64_t	connect_at_ms;	/* next connect attempt */
	uint64_t	connect_started_ms;
	uint64_t	claim_at_ms;
	mqtt_pub	inflight[MQTT_MAX_INFLIGHT];
	int			ninflight;
};

static const char MQTT_CLAIM_SQL[] =
"WITH due AS (SELECT o.id FROM notify_outbox o"
"  WHERE o.state = 'pending' AND o.kind = 'mqtt' AND o.next_attempt_at <= now()"
"  ORDER BY o.id LIMIT $1::int FOR UPDATE SKIP LOCKED)"
" UPDATE notify_outbox o SET attempts = o.attempts + 1,"
"  claimed_by = pg_backend_pid(), last_attempt_at = now(),"
"  next_attempt_at = now() + $2::int * interval '1 second'"
" FROM due WHERE o.id = due.id"
" RETURNING o.id, o.attempts, o.url, o.body";

static const char MQTT_DELIVERED_SQL[] =
"UPDATE notify_outbox SET state = 'delivered', delivered_at = now(),"
" finished_at = now(), claimed_by = NULL, last_status = NULL, last_error = NULL"
" WHERE id = $1 AND state = 'pending' AND attempts = $2";

/* given back: not an attempt (the broker went away, or we stop) */
static const char MQTT_RELEASE_SQL[] =
"UPDATE notify_outbox SET claimed_by = NULL, attempts = attempts - 1,"
" next_attempt_at = now(), last_error = $3"
" WHERE id = $1 AND state = 'pending' AND attempts = $2";

static const char MQTT_DEAD_SQL[] =
"UPDATE notify_outbox SET state = 'dead', finished_at = now(),"
" claimed_by = NULL, last_error = $3"
" WHERE id = $1 AND state = 'pending' AND attempts = $2";

static int	lib_users;			/* mosquitto_lib_init once per process */

uint64_t
notify_mqtt_backoff_ms(int failures)
{
	uint64_t	d = MQTT_BACKOFF_MIN_MS;

	for (int i = 1; i < failures && d < MQTT_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d > MQTT_BACKOFF_MAX_MS ? MQTT_BACKOFF_MAX_MS : d;
}

/* ---- libmosquitto callbacks: this struct only ---- */

static void
on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	notify_mqtt *m = obj;

	(void) mosq;
	m->connecting = false;
	if (rc == 0)
	{
		m->connected = true;
		m->failures = 0;
		m->claim_at_ms = 0;
		log_msg(LOG_INFO, "connected to the MQTT broker %s:%d", m->host, m->port);
		return;
	}
	log_msg(LOG_WARNING, "the MQTT broker %s:%d refused the connection: %s",
			m->host, m->port, mosquitto_connack_string(rc));
	m->lost = true;
}

static void
on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	notify_mqtt *m = obj;

	(void) mosq;
	if (m->connected)
		log_msg(LOG_WARNING, "lost the MQTT broker %s:%d: %s", m->host, m->port,
				mosquitto_strerror(rc));
	m->connected = false;
	m->connecting = false;
	m->lost = true;
}

static void
on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	notify_mqtt *m = obj;

	(void) mosq;
	for (int i = 0; i < m->ninflight; i++)
		if (m->inflight[i].mid == mid)
		{
			m->inflight[i].acked = true;
			break;
		}
}

/* ---- life ---- */

notify_mqtt *
notify_mqtt_create(const derms_config *cfg, derms_err *err)
{
	notify_mqtt *m;
	char		client_id[64];
	int			rc;

	assert(cfg != NULL && cfg->mqtt_enabled);
	if (lib_users++ == 0)
		mosquitto_lib_init();
	m = calloc(1, sizeof(*m));
	if (m == NULL || (m->host = strdup(cfg->mqtt_host)) == NULL)
	{
		free(m);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto fail;
	}
	m->port = cfg->mqtt_port;
	m->lease_s = cfg->notify_timeout_s + MQTT_LEASE_EXTRA_S;
	m->max_attempts = cfg->notify_max_attempts;
	snprintf(client_id, sizeof(client_id), "dermsd-notify-%d", (int) getpid());
	m->mosq = mosquitto_new(client_id, true, m);
	if (m->mosq == NULL)
	{
		derms_err_set(err, DERMS_ENOMEM, "could not create an MQTT client");
		goto fail_m;
	}
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_max_inflight_messages_set(m->mosq, MQTT_MAX_INFLIGHT);
	rc = mosquitto_tls_set(m->mosq, cfg->mqtt_ca_file, NULL, cfg->mqtt_cert_file,
						   cfg->mqtt_key_file, NULL);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_tls_opts_set(m->mosq, 1, "tlsv1.2", NULL);
	if (rc != MOSQ_ERR_SUCCESS)
	{
		derms_err_set(err, DERMS_EINVAL, "could not set up TLS for MQTT: %s",
					  mosquitto_strerror(rc));
		goto fail_m;
	}
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	return m;

fail_m:
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	free(m->host);
	free(m);
fail:
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
	return NULL;
}

/* Write the outcome sql ($1 id, $2 attempts, $3 why) of p. */
static bool
outcome(db *d, arena *a, const char *sql, const mqtt_pub *p, const char *why)
{
	char		id[24], attempts[16];
	const char *params[3] = {id, attempts, why};
	derms_err	err;

	snprintf(id, sizeof(id), "%" PRId64, p->id);
	snprintf(attempts, sizeof(attempts), "%d", p->attempts);
	if (db_exec(d, a, sql, why ? 3 : 2, params, NULL, &err) == NULL)
	{
		log_msg(LOG_WARNING, "could not record MQTT publication %" PRId64 ": %s",
				p->id, err.msg);
		return false;
	}
	return true;
}

/* Give back every unacknowledged publication. */
static void
release_all(notify_mqtt *m, db *d, arena *a, const char *why)
{
	for (int i = 0; i < m->ninflight; i++)
		if (m->inflight[i].acked)
		{
			if (outcome(d, a, MQTT_DELIVERED_SQL, &m->inflight[i], NULL))
				METRICS_ADD(notify_delivered, 1);
		}
		else
			outcome(d, a, MQTT_RELEASE_SQL, &m->inflight[i], why);
	m->ninflight = 0;
}

void
notify_mqtt_destroy(notify_mqtt *m, db *d, arena *a)
{
	if (m == NULL)
		return;
	if (d != NULL && a != NULL)
		release_all(m, d, a, "the publisher stopped");
	if (m->connected)
		mosquitto_disconnect(m->mosq);
	mosquitto_destroy(m->mosq);
	free(m->host);
	free(m);
	if (--lib_users == 0)
		mosquitto_lib_cleanup();
}

/* ---- the turn ---- */

/* Record PUBACKs and forget publications whose lease ended. */
static void
settle(notify_mqtt *m, db *d, arena *a, uint64_t now)
{
	int			kept = 0;

	for (int i = 0; i < m->ninflight; i++)
	{
		mqtt_pub   *p = &m->inflight[i];

		if (p->acked)
		{
			if (outcome(d, a, MQTT_DELIVERED_SQL, p, NULL))
			{
				METRICS_ADD(notify_delivered, 1);
				log_msg(LOG_DEBUG, "MQTT publication %" PRId64 " acknowledged", p->id);
			}
			continue;
		}
		if (now >= p->deadline_ms)
		{
			log_msg(LOG_WARNING, "MQTT publication %" PRId64
					" was not acknowledged in time; it will be claimed again", p->id);
			continue;
		}
		m->inflight[kept++] = *p;
	}
	m->ninflight = kept;
}

static void
schedule_reconnect(notify_mqtt *m, uint64_t now)
{
	m->failures++;
	m->connect_at_ms = now + notify_mqtt_backoff_ms(m->failures);
}

/* Start connecting when due. */
static void
ensure_connected(notify_mqtt *m, uint64_t now)
{
	int			rc;

	if (m->connected)
		return;
	if (m->connecting)
	{
		if (now - m->connect_started_ms < MQTT_CONNECT_TIMEOUT_MS)
			return;
		log_msg(LOG_WARNING, "the MQTT broker %s:%d did not answer CONNECT", m->host,
				m->port);
		mosquitto_disconnect(m->mosq);
		m->connecting = false;
		schedule_reconnect(m, now);
		return;
	}
	if (now < m->connect_at_ms)
		return;
	rc = m->failures == 0 && m->connect_started_ms == 0
		? mosquitto_connect_async(m->mosq, m->host, m->port, MQTT_KEEPALIVE_S)
		: mosquitto_reconnect_async(m->mosq);
	m->connect_started_ms = now;
	if (rc != MOSQ_ERR_SUCCESS)
	{
		if (m->failures == 0 || (m->failures & (m->failures - 1)) == 0)
			log_msg(LOG_WARNING, "could not connect to the MQTT broker %s:%d: %s",
					m->host, m->port, rc == MOSQ_ERR_ERRNO ? strerror(errno)
					: mosquitto_strerror(rc));
		schedule_reconnect(m, now);
		return;
	}
	m->connecting = true;
	m->lost = false;
	/* the socket may already be connected: get CONNECT going */
	mosquitto_loop_write(m->mosq, 1);
}

/* Claim due rows into the free slots and publish them. */
static void
claim_publish(notify_mqtt *m, db *d, arena *a, uint64_t now)
{
	int			want = MQTT_MAX_INFLIGHT - m->ninflight;
	char		limit[16], lease[16];
	const char *params[2] = {limit, lease};
	derms_err	err;
	PGresult   *r;
	int			n;

	if (want > MQTT_BATCH)
		want = MQTT_BATCH;
	if (want <= 0)
		return;
	snprintf(limit, sizeof(limit), "%d", want);
	snprintf(lease, sizeof(lease), "%d", m->lease_s);
	r = db_exec(d, a, MQTT_CLAIM_SQL, 2, params, NULL, &err);
	if (r == NULL)
	{
		log_msg(LOG_WARNING, "could not claim MQTT publications: %s", err.msg);
		m->claim_at_ms = now + MQTT_IDLE_MS;
		return;
	}
	n = PQntuples(r);
	for (int i = 0; i < n; i++)
	{
		mqtt_pub	p;
		const char *url = PQgetvalue(r, i, 2);
		unsigned char *body;
		size_t		len = 0;
		int			rc;

		memset(&p, 0, sizeof(p));
		p.id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		p.attempts = atoi(PQgetvalue(r, i, 1));
		p.deadline_ms = now + (uint64_t) m->lease_s * 1000;
		if (p.attempts > m->max_attempts)
		{
			outcome(d, a, MQTT_DEAD_SQL, &p, "no PUBACK after notify.max_attempts claims");
			METRICS_ADD(notify_dead, 1);
			continue;
		}
		if (strncmp(url, MQTT_URL_PREFIX, strlen(MQTT_URL_PREFIX)) != 0)
		{
			outcome(d, a, MQTT_DEAD_SQL, &p, "not an mqtt:/// url");
			continue;
		}
		body = PQunescapeBytea((const unsigned char *) PQgetvalue(r, i, 3), &len);
		if (body == NULL)
		{
			outcome(d, a, MQTT_RELEASE_SQL, &p, "out of memory");
			continue;
		}
		rc = mosquitto_publish(m->mosq, &p.mid, url + strlen(MQTT_URL_PREFIX),
							   (int) len, body, 1, false);
		PQfreemem(body);
		if (rc != MOSQ_ERR_SUCCESS)
		{
			/* a topic or payload the broker can never take is dead */
			if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_PAYLOAD_SIZE ||
				rc == MOSQ_ERR_MALFORMED_UTF8)
				outcome(d, a, MQTT_DEAD_SQL, &p, mosquitto_strerror(rc));
			else
				outcome(d, a, MQTT_RELEASE_SQL, &p, mosquitto_strerror(rc));
			continue;
		}
		m->inflight[m->ninflight++] = p;
	}
	if (n > 0)
		mosquitto_loop_write(m->mosq, MQTT_BATCH);
	m->claim_at_ms = n == want ? now : now + MQTT_IDLE_MS;
}

uint64_t
notify_mqtt_turn(notify_mqtt *m, db *d, arena *a, uint64_t now, bool wake,
				 bool claiming)
{
	uint64_t	next = now + MQTT_IDLE_MS;

	assert(m != NULL && d != NULL && a != NULL);
	settle(m, d, a, now);
	if (m->lost)
	{
		m->lost = false;
		release_all(m, d, a, "the MQTT broker connection was lost");
		if (!m->connecting && !m->connected)
			schedule_reconnect(m, now);
	}
	ensure_connected(m, now);
	if (!m->connected)
		return m->connecting ? now + 100 : (m->connect_at_ms > now ? m->connect_at_ms : now);
	mosquitto_loop_misc(m->mosq);
	if (claiming && (wake || now >= m->claim_at_ms))
		claim_publish(m, d, a, now);
	if (claiming && m->claim_at_ms < next)
		next = m->claim_at_ms;
	return next;
}

int
notify_mqtt_pollfd(notify_mqtt *m, short *events)
{
	int			fd = mosquitto_socket(m->mosq);

	*events = POLLIN;
	if (fd >= 0 && mosquitto_want_write(m->mosq))
		*events |= POLLOUT;
	return fd;
}

void
notify_mqtt_io(notify_mqtt *m, short revents)
{
	if (revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL))
		mosquitto_loop_read(m->mosq, MQTT_BATCH);
	if ((revents & POLLOUT) && mosquitto_socket(m->mosq) >= 0)
		mosquitto_loop_write(m->mosq, MQTT_BATCH);
}
