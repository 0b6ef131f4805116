/*
 * dispatch/instance.h
 *	  Reading a dispatch instance from its JSON format (DESIGN.md, "The
 *	  instance format"), with every field checked.
 */
#ifndef DERMS_DISPATCH_INSTANCE_H
#define DERMS_DISPATCH_INSTANCE_H

#include <stdio.h>

#include "dispatch/model.h"

#define DISPATCH_FORMAT "dermsd-dispatch-instance/1"

/*
 * Parse the instance in text[0..len) into a new instance allocated from
 * a.  Unknown fields, wrong types and inconsistent values fail with
 * DERMS_EPARSE or DERMS_ERANGE and a message that starts with the path
 * of the field ("resources[3].eta_charge: ...").
 */
derms_rc	dispatch_instance_parse(arena *a, const char *text, size_t len,
									dispatch_instance **out, derms_err *err);

/* Same, from a file; "-" is stdin. */
derms_rc	dispatch_instance_load(arena *a, const char *path,
								   dispatch_instance **out, derms_err *err);

#endif							/* DERMS_DISPATCH_INSTANCE_H */
