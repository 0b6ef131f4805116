/*
 * protocols/openadr/notifiers.h
 *	  The OpenADR 3.1 notifier bindings: GET /notifiers, the MQTT topic
 *	  endpoints (/notifiers/mqtt/topics/...), and the MQTT publications an
 *	  object change queues in the outbox.
 *
 * NOTES
 *	  Topic names (OADR_MQTT_ROOT = "openadr3"; OP is create, update or
 *	  delete):
 *	    openadr3/[tenants/T/]KINDs/OP             a collection (BL clients)
 *	    openadr3/[tenants/T/]programs/P/OP        one program (no create)
 *	    openadr3/[tenants/T/]programs/P/events/OP the events of a program
 *	    openadr3/vens/V/OP                        one ven (no create)
 *	    openadr3/vens/V/events/OP                 events ven V can read
 *	    openadr3/vens/V/programs/OP               programs ven V can read
 *	    openadr3/vens/V/resources/OP              the resources of ven V
 *	  The utility's BL clients read everything under openadr3/; the BL
 *	  clients of aggregator T read openadr3/tenants/T/ and the ven topics
 *	  of T's vens; a VEN client reads only the ven topics of its own vens.
 *	  The broker's ACL ("dermsctl vtn mqtt sync") enforces this; payloads
 *	  on ven topics are what that VEN's client may read (targets it was
 *	  not granted removed), as with webhooks.
 */
#ifndef DERMS_OADR_NOTIFIERS_H
#define DERMS_OADR_NOTIFIERS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "model.h"
#include "server/arena.h"
#include "server/err.h"
#include "server/http.h"

#define OADR_MQTT_ROOT "openadr3"
#define OADR_MQTT_URL_PREFIX "mqtt:///"	/* notify_outbox.url of kind mqtt */

/* GET /notifiers: WEBHOOK, and MQTT when enabled and the caller has
 * broker credentials. */
int			oadr_notifiers_get(http_request *req);

/* Every GET /notifiers/mqtt/topics/... route; the route's pattern says
 * which. */
int			oadr_notifiers_topics_get(http_request *req);

/*
 * Queue, in the open transaction (after the caller's scope was left, as
 * oadr_store_notify does), the MQTT publications of operation on each row
 * of rows (OADR_COL_* columns): one per topic above that some client with
 * broker credentials may read.  *queued (may be NULL) counts them.
 */
derms_rc	oadr_notifiers_enqueue(PGconn *c, arena *a, oadr_kind kind,
								   const char *operation, PGresult *rows,
								   int *queued, derms_err *err);

/*
 * The topic for scope ("" or "tenants/T/" below the root, or NULL for the
 * ven topics' plain root), path ("programs/12/events") and operation
 * ("create", "update", "delete", "+"), into buf.  false when it does not
 * fit.  Pure.
 */
bool		oadr_mqtt_topic(char *buf, size_t len, const char *scope,
							const char *path, const char *operation);

#endif							/* DERMS_OADR_NOTIFIERS_H */
