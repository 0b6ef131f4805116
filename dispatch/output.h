/*
 * dispatch/output.h
 *	  Writing schedules: the JSON schedule format and CSV.
 */
#ifndef DERMS_DISPATCH_OUTPUT_H
#define DERMS_DISPATCH_OUTPUT_H

#include <stdio.h>

#include "dispatch/model.h"

#define DISPATCH_SCHEDULE_FORMAT "dermsd-dispatch-schedule/1"

derms_rc	dispatch_output_json(const dispatch_instance *in,
								 const dispatch_schedule *s, FILE *f,
								 derms_err *err);
derms_rc	dispatch_output_csv(const dispatch_instance *in,
								const dispatch_schedule *s, FILE *f,
								derms_err *err);

#endif							/* DERMS_DISPATCH_OUTPUT_H */
