/*
 * protocols/fleet/csv.c
 *	  Strict CSV records (see csv.h).
 */
#include "csv.h"

#include <assert.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void
fleet_csv_init(fleet_csv *r, const char *data, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = data;
	r->end = data + len;
	r->line = 1;
}

void
fleet_csv_free(fleet_csv *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Skip the rest of the current line after an error. */
static void
resync(fleet_csv *r)
{
	while (r->p < r->end && *r->p != '\n')
		r->p++;
	if (r->p < r->end)
	{
		r->p++;
		r->line++;
	}
}

static derms_rc
bad(fleet_csv *r, derms_err *err, const char *what)
{
	resync(r);
	return derms_err_set(err, DERMS_EPARSE, "%s", what);
}

derms_rc
fleet_csv_next(fleet_csv *r, fleet_csv_record *rec, derms_err *err)
{
	size_t		need = (size_t) (r->end - r->p) + FLEET_CSV_MAX_FIELDS + 1;
	size_t		o = 0;
	size_t		starts[FLEET_CSV_MAX_FIELDS];
	bool		done = false;

	assert(rec != NULL);
	rec->line = r->line;
	rec->nfields = 0;
	if (r->p >= r->end)
		return DERMS_ENOTFOUND;
	/* a record is never longer than what is left of the data */
	if (need > r->cap)
	{
		size_t		cap = need < 4096 ? 4096 : need;
		char	   *nb = realloc(r->buf, cap);

		if (nb == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		r->buf = nb;
		r->cap = cap;
	}
	if (*r->p == '\n' || (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n'))
		return bad(r, err, "blank line");
	while (!done)
	{
		if (rec->nfields == FLEET_CSV_MAX_FIELDS)
			return bad(r, err, "too many fields");
		starts[rec->nfields++] = o;
		if (r->p < r->end && *r->p == '"')
		{
			r->p++;
			for (;;)
			{
				if (r->p >= r->end)
				{
					r->p = r->end;
					return derms_err_set(err, DERMS_EPARSE, "unterminated quoted field");
				}
				if (*r->p == '"')
				{
					if (r->p + 1 < r->end && r->p[1] == '"')
					{
						r->buf[o++] = '"';
						r->p += 2;
						continue;
					}
					r->p++;
					break;
				}
				if (*r->p == '\0')
					return bad(r, err, "NUL byte in field");
				if (*r->p == '\n')
					r->line++;
				r->buf[o++] = *r->p++;
			}
			if (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r')
				return bad(r, err, "text after a closing quote");
		}
		else
		{
			while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r')
			{
				if (*r->p == '"')
					return bad(r, err, "quote inside an unquoted field");
				if (*r->p == '\0')
					return bad(r, err, "NUL byte in field");
				r->buf[o++] = *r->p++;
			}
		}
		r->buf[o++] = '\0';
		if (r->p >= r->end)
			done = true;
		else if (*r->p == ',')
			r->p++;
		else if (*r->p == '\r')
		{
			if (r->p + 1 >= r->end || r->p[1] != '\n')
				return bad(r, err, "carriage return without line feed");
			r->p += 2;
			r->line++;
			done = true;
		}
		else
		{
			r->p++;
			r->line++;
			done = true;
		}
	}
	for (size_t i = 0; i < rec->nfields; i++)
		rec->fields[i] = r->buf + starts[i];
	return DERMS_OK;
}
