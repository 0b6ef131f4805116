/*
 * settlement/meter_read.c
 *	  Strict reader for documented CSV interval data.
 *
 * NOTES
 *	  The whole file is read into one buffer and parsed in place: 32
 *	  million readings are about 1.5 GB, so the field parsers avoid
 *	  strtod() and copies.  A decimal with at most 15 significant digits
 *	  is an exact integer divided by an exact power of ten, which IEEE
 *	  division rounds correctly, so the result equals strtod()'s.
 */
#include "meter_read.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settlement/tz.h"

static const double pow10_tab[16] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12,
	1e13, 1e14, 1e15
};

derms_rc
settle_file_read(const char *path, char **buf, size_t *len, derms_err *err)
{
	int			fd;
	struct stat st;
	char	   *b;
	size_t		got = 0;

	assert(path != NULL && buf != NULL && len != NULL);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return derms_err_set(err, DERMS_EIO, "could not open \"%s\": %m",
							 path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return derms_err_set(err, DERMS_EIO, "\"%s\" is not a regular file",
							 path);
	}
	b = malloc((size_t) st.st_size + 1);
	if (b == NULL)
	{
		close(fd);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory reading \"%s\"",
							 path);
	}
	while (got < (size_t) st.st_size)
	{
		ssize_t		r = read(fd, b + got, (size_t) st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
		{
			derms_err_set(err, DERMS_EIO, "could not read \"%s\": %m", path);
			free(b);
			close(fd);
			return DERMS_EIO;
		}
		if (r == 0)
			break;
		got += (size_t) r;
	}
	close(fd);
	b[got] = '\0';
	*buf = b;
	*len = got;
	return DERMS_OK;
}

void
settle_lines_init(settle_lines *it, const char *buf, size_t len)
{
	it->buf = buf;
	it->len = len;
	it->pos = 0;
	it->lineno = 0;
}

int
settle_lines_next(settle_lines *it, const char **line, size_t *len)
{
	const char *p;
	const char *nl;
	size_t		n;

	if (it->pos >= it->len)
		return 0;
	p = it->buf + it->pos;
	nl = memchr(p, '\n', it->len - it->pos);
	n = nl ? (size_t) (nl - p) : it->len - it->pos;
	it->pos += n + (nl ? 1 : 0);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	it->lineno++;
	*line = p;
	*len = n;
	return 1;
}

int
settle_split(const char *line, size_t len, int nf, const char **f,
			 size_t *fl)
{
	size_t		start = 0;
	int			k = 0;

	for (size_t i = 0; i <= len; i++)
	{
		if (i == len || line[i] == ',')
		{
			if (k == nf)
				return 0;
			f[k] = line + start;
			fl[k] = i - start;
			k++;
			start = i + 1;
		}
	}
	return k == nf;
}

int
settle_resource_ok(const char *s, size_t len)
{
	if (len == 0 || len > SETTLE_RESOURCE_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
			  c == '-'))
			return 0;
	}
	return 1;
}

derms_rc
settle_parse_decimal(const char *s, size_t len, double *out)
{
	size_t		i = 0;
	bool		neg = false;
	uint64_t	mant = 0;
	int			sig = 0;
	int			frac = 0;
	size_t		intdigits = 0;
	double		v;

	if (i < len && s[i] == '-')
	{
		neg = true;
		i++;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, intdigits++)
	{
		if (mant != 0 || s[i] != '0')
			sig++;
		mant = mant * 10 + (uint64_t) (s[i] - '0');
		if (sig > 15)
			return DERMS_ERANGE;
	}
	if (intdigits == 0)
		return DERMS_EPARSE;
	if (i < len && s[i] == '.')
	{
		i++;
		if (i == len)
			return DERMS_EPARSE;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
		{
			if (mant != 0 || s[i] != '0')
				sig++;
			mant = mant * 10 + (uint64_t) (s[i] - '0');
			frac++;
			if (sig > 15 || frac > 15)
				return DERMS_ERANGE;
		}
	}
	if (i != len)
		return DERMS_EPARSE;
	v = (double) mant / pow10_tab[frac];
	*out = neg ? -v : v;
	return DERMS_OK;
}

static derms_rc
line_error(derms_err *err, derms_rc rc, const char *label, size_t lineno,
		   const char *field, const char *what)
{
	if (field != NULL)
		return derms_err_set(err, rc, "%s line %zu: %s: %s", label, lineno,
							 field, what);
	return derms_err_set(err, rc, "%s line %zu: %s", label, lineno, what);
}

derms_rc
settle_meter_parse(const char *buf, size_t len, const char *label,
				   settle_series_set *set, derms_err *err)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	settle_series *cur = NULL;
	char		msg[DERMS_ERR_MSG_MAX];
	derms_err	sub;

	assert(buf != NULL && set != NULL);
	settle_lines_init(&it, buf, len);
	if (!settle_lines_next(&it, &line, &ll) ||
		ll != strlen(SETTLE_CSV_HEADER) ||
		memcmp(line, SETTLE_CSV_HEADER, ll) != 0)
		return line_error(err, DERMS_EPARSE, label, 1, NULL,
						  "header must be \"" SETTLE_CSV_HEADER "\"");
	while (settle_lines_next(&it, &line, &ll))
	{
		const char *f[4];
		size_t		fl[4];
		int64_t		start;
		int			minutes;
		double		kwh;
		derms_rc	rc;

		if (ll == 0)
		{
			/* a final newline is not an empty line */
			if (it.pos >= it.len)
				break;
			return line_error(err, DERMS_EPARSE, label, it.lineno, NULL,
							  "empty line");
		}
		if (memchr(line, '"', ll) != NULL)
			return line_error(err, DERMS_EPARSE, label, it.lineno, NULL,
							  "quotes are not allowed");
		if (!settle_split(line, ll, 4, f, fl))
			return line_error(err, DERMS_EPARSE, label, it.lineno, NULL,
							  "want 4 fields: " SETTLE_CSV_HEADER);
		if (!settle_resource_ok(f[0], fl[0]))
		{
			snprintf(msg, sizeof(msg),
					 "invalid id \"%.*s\" (1-64 of A-Z a-z 0-9 _ . : -)",
					 (int) (fl[0] > 80 ? 80 : fl[0]), f[0]);
			return line_error(err, DERMS_EPARSE, label, it.lineno,
							  "resource", msg);
		}
		if (settle_parse_instant(f[1], fl[1], &start, &sub) != DERMS_OK)
			return line_error(err, DERMS_EPARSE, label, it.lineno,
							  "interval_start", sub.msg);
		if (fl[2] == 1 && f[2][0] == '5')
			minutes = 5;
		else if (fl[2] == 2 && f[2][0] == '1' && f[2][1] == '5')
			minutes = 15;
		else if (fl[2] == 2 && f[2][0] == '6' && f[2][1] == '0')
			minutes = 60;
		else
		{
			snprintf(msg, sizeof(msg), "\"%.*s\" is not 5, 15 or 60",
					 (int) (fl[2] > 40 ? 40 : fl[2]), f[2]);
			return line_error(err, DERMS_EPARSE, label, it.lineno,
							  "interval_minutes", msg);
		}
		rc = settle_parse_decimal(f[3], fl[3], &kwh);
		if (rc != DERMS_OK)
		{
			snprintf(msg, sizeof(msg), "\"%.*s\" is not %s",
					 (int) (fl[3] > 40 ? 40 : fl[3]), f[3],
					 rc == DERMS_ERANGE ? "a decimal of at most 15 significant digits"
					 : "a decimal number (-?digits[.digits])");
			return line_error(err, DERMS_EPARSE, label, it.lineno, "kwh",
							  msg);
		}
		if (cur == NULL || strncmp(cur->name, f[0], fl[0]) != 0 ||
			cur->name[fl[0]] != '\0')
		{
			rc = settle_series_get(set, f[0], fl[0], &cur, &sub);
			if (rc != DERMS_OK)
				return derms_err_set(err, rc, "%s", sub.msg);
		}
		rc = settle_series_append(cur, start, minutes * 60, kwh, &sub);
		if (rc != DERMS_OK)
			return line_error(err, rc, label, it.lineno, "interval_start",
							  sub.msg);
		set->nreadings++;
	}
	if (set->nreadings == 0)
		return derms_err_set(err, DERMS_EPARSE, "%s: no readings", label);
	return DERMS_OK;
}

derms_rc
settle_meter_read(const char *path, settle_series_set *set, derms_err *err)
{
	char	   *buf;
	size_t		len;
	derms_rc	rc;

	rc = settle_file_read(path, &buf, &len, err);
	if (rc != DERMS_OK)
		return rc;
	if (memchr(buf, '\0', len) != NULL)
		rc = derms_err_set(err, DERMS_EPARSE, "%s: contains a NUL byte", path);
	else
		rc = settle_meter_parse(buf, len, path, set, err);
	free(buf);
	return rc;
}
