/*
 * server/notify_mqtt.h
 *	  The MQTT publisher of the notify role: outbox rows of kind "mqtt"
 *	  published to the broker with QoS 1 over TLS (libmosquitto).
 *
 * NOTES
 *	  A row's url is "mqtt:///TOPIC" and its body the payload (schema/
 *	  0015_openadr_mqtt.sql).  The notify worker owns one notify_mqtt when
 *	  mqtt.enabled is true and drives it from its own loop: it polls the
 *	  socket notify_mqtt_pollfd() names, hands readiness to
 *	  notify_mqtt_io(), and calls notify_mqtt_turn() every iteration.  No
 *	  threads: libmosquitto's callbacks run inside those calls.
 *
 *	  At least once: a row is claimed (a lease, as for webhooks) only while
 *	  connected, published, and marked delivered only when the broker's
 *	  PUBACK arrives.  A lost connection gives the unacknowledged rows back
 *	  at once (not counted as attempts); a row whose PUBACK never comes is
 *	  claimed again when its lease ends, and is dead after
 *	  notify.max_attempts such claims.  Subscribers may see duplicates.
 */
#ifndef DERMS_NOTIFY_MQTT_H
#define DERMS_NOTIFY_MQTT_H

#include <stdbool.h>
#include <stdint.h>

#include "arena.h"
#include "config.h"
#include "db.h"
#include "err.h"

typedef struct notify_mqtt notify_mqtt;

/* A publisher for cfg's [mqtt] settings (not yet connected); NULL with
 * err set when libmosquitto refuses the settings. */
notify_mqtt *notify_mqtt_create(const derms_config *cfg, derms_err *err);

/* Give back unacknowledged claims (through d), disconnect, free. */
void		notify_mqtt_destroy(notify_mqtt *m, db *d, arena *a);

/*
 * One turn at time now (monotonic ms): record acknowledgements, connect
 * or reconnect (with backoff) when due, and, when claiming and either
 * wake (a row was enqueued) or its own timer says so, claim due rows and
 * publish them.  Returns when it wants the next turn (monotonic ms).
 */
uint64_t	notify_mqtt_turn(notify_mqtt *m, db *d, arena *a, uint64_t now,
							 bool wake, bool claiming);

/* The broker socket to poll (-1: none) and the poll events it needs. */
int			notify_mqtt_pollfd(notify_mqtt *m, short *events);

/* The socket polled ready with revents. */
void		notify_mqtt_io(notify_mqtt *m, short revents);

/* Backoff before reconnect attempt n (1, 2 ...): 100 ms doubling, at most
 * 30 s.  Pure. */
uint64_t	notify_mqtt_backoff_ms(int failures);

#endif							/* DERMS_NOTIFY_MQTT_H */
