/*
 * protocols/fleet/value.h
 *	  Strict validators for the field values the fleet accepts from CSV
 *	  files and JSON bodies: timestamps, dates, numbers, LFDIs.
 *
 * NOTES
 *	  Pure functions, no allocation.  They are stricter than PostgreSQL's
 *	  input functions on purpose: a timestamp must carry its zone, a
 *	  number must be plain decimal.  Validating before the statement keeps
 *	  a bad value from aborting the transaction and lets the caller name
 *	  the field.
 */
#ifndef DERMS_FLEET_VALUE_H
#define DERMS_FLEET_VALUE_H

#include <stdbool.h>

/* "YYYY-MM-DDTHH:MM[:SS[.frac]]" then "Z" or "+HH[:MM]"/"-HH[:MM]"; a
 * space may stand for the "T". */
bool		fleet_value_time(const char *s);

/* "YYYY-MM-DD", a real calendar date. */
bool		fleet_value_date(const char *s);

/* Plain decimal ("-12", "3.5", "1e3"), finite; *out may be NULL. */
bool		fleet_value_number(const char *s, double *out);

/* 40 hex digits; out (may be NULL) receives the upper-case form. */
bool		fleet_value_lfdi(const char *s, char out[41]);

#endif							/* DERMS_FLEET_VALUE_H */
