/*
 * protocols/openadr/model.h
 *	  OpenADR 3.1.0 object model: strict validation of the request bodies
 *	  (programRequest, eventRequest, reportRequest, subscriptionRequest,
 *	  BL/VEN venRequest and resourceRequest) and serialization of stored
 *	  objects to the response schemas.
 *
 * NOTES
 *	  Pure functions over jansson values; no database, no HTTP, so the
 *	  fuzzer and the unit tests drive them directly.  A validated body is
 *	  "normalized": server-provided metadata (id, createdDateTime,
 *	  modificationDateTime, objectType, and clientID where the server owns
 *	  it) is dropped, reportDescriptor defaults are filled in, and integral
 *	  reals in integer fields become integers.  That normalized body is
 *	  what the store keeps as jsonb.  Errors name the JSON path:
 *	  "intervals[2].payloads[0].type: required".
 */
#ifndef DERMS_OADR_MODEL_H
#define DERMS_OADR_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "server/err.h"

typedef enum oadr_kind
{
	OADR_PROGRAM = 0,
	OADR_EVENT,
	OADR_REPORT,
	OADR_SUBSCRIPTION,
	OADR_VEN,
	OADR_RESOURCE
} oadr_kind;

#define OADR_NKINDS 6

#define OADR_ID_MAX 128			/* objectID, clientID, names: code points */

/* Which variant of venRequest / resourceRequest a body was. */
typedef enum oadr_variant
{
	OADR_VARIANT_PLAIN = 0,		/* programs, events, reports, subscriptions */
	OADR_VARIANT_BL,			/* BL_VEN_REQUEST, BL_RESOURCE_REQUEST */
	OADR_VARIANT_VEN			/* VEN_VEN_REQUEST, VEN_RESOURCE_REQUEST */
} oadr_variant;

/* A validated request. */
typedef struct oadr_doc
{
	json_t	   *body;			/* new: the normalized body */
	oadr_variant variant;
	char		client_id[OADR_ID_MAX * 4 + 1];	/* BL variants: the body's
												 * clientID; else "" */
} oadr_doc;

/* "PROGRAM", "EVENT", ...: the objectType of stored objects. */
const char *oadr_kind_type(oadr_kind kind);

/*
 * Parse and validate a request body of kind.  On success out->body is a
 * new reference the caller must json_decref.  DERMS_EPARSE for malformed
 * JSON (message with line and column), DERMS_EINVAL for a schema
 * violation (message "path: what").
 */
derms_rc	oadr_model_parse(oadr_kind kind, const char *text, size_t len,
							 oadr_doc *out, derms_err *err);

/* The same for an already parsed value (borrowed). */
derms_rc	oadr_model_check(oadr_kind kind, json_t *in, oadr_doc *out,
							 derms_err *err);

/*
 * The response object: objectMetadata plus the body's fields plus
 * clientID (reports, subscriptions, vens, resources; NULL omits it).
 * created and modified are RFC 3339 UTC text.  Returns a new reference or
 * NULL on allocation failure; body is borrowed.
 */
json_t	   *oadr_model_object(oadr_kind kind, const char *id,
							  const char *created, const char *modified,
							  json_t *body, const char *client_id);

/* objectID: ^[a-zA-Z0-9_-]*$, 1..128 characters. */
bool		oadr_model_object_id(const char *s);

/* RFC 3339 date-time; *epoch (may be NULL) gets UTC seconds. */
bool		oadr_model_datetime(const char *s, int64_t *epoch);

/* The spec's ISO 8601 duration pattern. */
bool		oadr_model_duration(const char *s);

/*
 * When an event's intervals end, from its (validated) body: the event's
 * intervalPeriod gives the default start and duration of interval i
 * (start + i * duration), an interval's own intervalPeriod overrides it.
 * *bounded is false when any start or duration is missing, the start is
 * the "now" placeholder (year 1), or the duration is P9999Y or longer:
 * such an event never stops being active.
 */
void		oadr_model_event_end(json_t *body, bool *bounded, int64_t *end_epoch);

#endif							/* DERMS_OADR_MODEL_H */
