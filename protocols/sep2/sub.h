/*
 * protocols/sep2/sub.h
 *	  IEEE 2030.5 Subscription/Notification function set: an EndDevice's
 *	  SubscriptionList (/edev/{id}/sub) and the Notifications queued in the
 *	  notify outbox when a subscribed resource changes.
 */
#ifndef DERMS_SEP2_SUB_H
#define DERMS_SEP2_SUB_H

#include "server/err.h"
#include "server/http.h"

/*
 * The subscribable attribute of the resources that take subscriptions
 * (SubscribableType 1: non-conditional subscriptions only).  Resources
 * that take none send "0".
 */
#define SEP2_SUB_YES "1"

int			sep2_sub_list_get(http_request *req);
int			sep2_sub_list_post(http_request *req);
int			sep2_sub_get(http_request *req);
int			sep2_sub_delete(http_request *req);

/*
 * The operator changed something (action as audited: "der_control.create",
 * "der_control.cancel", "der_program.create"; id the row's id): queue a
 * Notification for every subscription it concerns, on req->db, inside the
 * caller's open transaction.  Other actions concern no subscription.  A
 * failure means the transaction must be rolled back.
 */
derms_rc	sep2_sub_changed(http_request *req, const char *action,
							 const char *id, derms_err *err);

#endif							/* DERMS_SEP2_SUB_H */
