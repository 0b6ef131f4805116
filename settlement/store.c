/*
 * settlement/store.c
 *	  Bulk import of meter data, instructions and prices, and the loading
 *	  of an export's inputs from the database.
 *
 * NOTES
 *	  Import of readings streams: each line is validated as it is read and,
 *	  while no line has failed, sent on through COPY into a temporary
 *	  staging table, so the server ingests while we parse.  After the first
 *	  bad line the rest are only validated (every bad line is reported) and
 *	  the COPY is abandoned.  One INSERT .. SELECT .. ON CONFLICT then moves
 *	  the staging rows into settlement_readings; a row whose value and
 *	  length are unchanged is left alone, so a repeated import changes no
 *	  version.  Loading reads settlement_interval_data through COPY TO
 *	  STDOUT ordered by DER and time, straight into the dense series, and
 *	  hashes each DER's rows as they stream (the "query result stream").
 */
#include "store.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "settlement/afile.h"
#include "settlement/meter_read.h"
#include "settlement/tz.h"

#define COPY_CHUNK (1 << 20)

/* ---- small helpers ---- */

static derms_rc
db_fail(PGconn *c, PGresult *r, derms_err *err, const char *what)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	derms_err_set(err, DERMS_EDB, "%s: %s", what, m ? m : PQerrorMessage(c));
	err->msg[strcspn(err->msg, "\n")] = '\0';
	PQclear(r);
	return DERMS_EDB;
}

/* Run sql with params; the result is new (PQclear) or NULL with err. */
static PGresult *
exec(PGconn *c, const char *sql, int n, const char *const *p, derms_err *err)
{
	PGresult   *r = PQexecParams(c, sql, n, NULL, p, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		db_fail(c, r, err, "database");
		return NULL;
	}
	return r;
}

static derms_rc
exec_ok(PGconn *c, const char *sql, derms_err *err)
{
	PGresult   *r = exec(c, sql, 0, NULL, err);

	if (r == NULL)
		return DERMS_EDB;
	PQclear(r);
	return DERMS_OK;
}

static void
rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE)
		PQclear(PQexec(c, "ROLLBACK"));
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void
hex32(const unsigned char *md, char hex[SETTLE_SHA256_HEX])
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

/* ---- resource names -> DER ids (import) ---- */

typedef struct resmap_ent
{
	char	   *name;
	int64_t		id;
	int64_t		last;			/* last interval start seen in the file */
	int32_t		len_s;			/* 0 until the first row */
} resmap_ent;

typedef struct resmap
{
	resmap_ent *v;
	size_t		cap;			/* power of two */
	size_t		n;
} resmap;

static uint32_t
fnv(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h;
}

static resmap_ent *
resmap_find(const resmap *m, const char *name, size_t len)
{
	size_t		j;

	if (m->cap == 0)
		return NULL;
	for (j = fnv(name, len) & (m->cap - 1); m->v[j].name != NULL;
		 j = (j + 1) & (m->cap - 1))
		if (strncmp(m->v[j].name, name, len) == 0 && m->v[j].name[len] == '\0')
			return &m->v[j];
	return NULL;
}

static void
resmap_free(resmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].name);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Every DER with an external id. */
static derms_rc
resmap_load(PGconn *c, resmap *m, derms_err *err)
{
	PGresult   *r = exec(c, "SELECT external_id, id FROM der_resources"
						 " WHERE external_id IS NOT NULL", 0, NULL, err);
	int			n;

	memset(m, 0, sizeof(*m));
	if (r == NULL)
		return DERMS_EDB;
	n = PQntuples(r);
	m->cap = 64;
	while (m->cap < (size_t) n * 2)
		m->cap *= 2;
	m->v = calloc(m->cap, sizeof(resmap_ent));
	if (m->v == NULL)
	{
		PQclear(r);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++)
	{
		const char *name = PQgetvalue(r, i, 0);
		size_t		j = fnv(name, strlen(name)) & (m->cap - 1);

		while (m->v[j].name != NULL)
			j = (j + 1) & (m->cap - 1);
		m->v[j].name = strdup(name);
		m->v[j].id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
		if (m->v[j].name == NULL)
		{
			PQclear(r);
			resmap_free(m);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
		m->n++;
	}
	PQclear(r);
	return DERMS_OK;
}

/* ---- import of readings ---- */

typedef struct copybuf
{
	PGconn	   *c;
	char	   *buf;
	size_t		len;
	bool		failed;
} copybuf;

static void
copy_flush(copybuf *b)
{
	if (b->len > 0 && !b->failed &&
		PQputCopyData(b->c, b->buf, (int) b->len) != 1)
		b->failed = true;
	b->len = 0;
}

static void
copy_put(copybuf *b, const char *s, size_t n)
{
	if (b->len + n > COPY_CHUNK)
		copy_flush(b);
	memcpy(b->buf + b->len, s, n);
	b->len += n;
}

/* One bad row: report it and count it. */
static void
bad_row(FILE *report, size_t *nbad, const char *label, size_t lineno,
		const char *field, const char *fmt, ...)
__attribute__((format(printf, 6, 7)));

static void
bad_row(FILE *report, size_t *nbad, const char *label, size_t lineno,
		const char *field, const char *fmt, ...)
{
	va_list		ap;

	(*nbad)++;
	if (report == NULL)
		return;
	fprintf(report, "%s line %zu: ", label, lineno);
	if (field != NULL)
		fprintf(report, "%s: ", field);
	va_start(ap, fmt);
	vfprintf(report, fmt, ap);
	va_end(ap);
	fputc('\n', report);
}

/*
 * Validate every line of buf; while none failed, stream the good ones into
 * the COPY.  *tmin and *tmax get the span of interval starts.
 */
static void
import_scan(const char *buf, size_t len, const char *label, resmap *m,
			copybuf *cb, FILE *report, size_t *rows, size_t *nbad,
			int64_t *tmin, int64_t *tmax)
{
	settle_lines it;
	const char *line;
	size_t		ll;
	derms_err	sub;

	settle_lines_init(&it, buf, len);
	if (!settle_lines_next(&it, &line, &ll) ||
		ll != strlen(SETTLE_CSV_HEADER) ||
		memcmp(line, SETTLE_CSV_HEADER, ll) != 0)
	{
		bad_row(report, nbad, label, 1, NULL,
				"header must be \"" SETTLE_CSV_HEADER "\"");
		return;
	}
	while (settle_lines_next(&it, &line, &ll))
	{
		const char *f[4];
		size_t		fl[4];
		int64_t		start;
		int			minutes;
		double		kwh;
		derms_rc	rc;
		resmap_ent *e;
		char		tmp[96];
		int			n;

		if (ll == 0)
		{
			if (it.pos >= it.len)
				break;
			bad_row(report, nbad, label, it.lineno, NULL, "empty line");
			continue;
		}
		if (memchr(line, '"', ll) != NULL || memchr(line, '\0', ll) != NULL)
		{
			bad_row(report, nbad, label, it.lineno, NULL,
					"quotes and NUL bytes are not allowed");
			continue;
		}
		if (!settle_split(line, ll, 4, f, fl))
		{
			bad_row(report, nbad, label, it.lineno, NULL,
					"want 4 fields: " SETTLE_CSV_HEADER);
			continue;
		}
		if (!settle_resource_ok(f[0], fl[0]))
		{
			bad_row(report, nbad, label, it.lineno, "resource",
					"invalid id \"%.*s\" (1-64 of A-Z a-z 0-9 _ . : -)",
					(int) (fl[0] > 80 ? 80 : fl[0]), f[0]);
			continue;
		}
		if ((e = resmap_find(m, f[0], fl[0])) == NULL)
		{
			bad_row(report, nbad, label, it.lineno, "resource",
					"unknown resource \"%.*s\" (no DER has that external id)",
					(int) fl[0], f[0]);
			continue;
		}
		if (settle_parse_instant(f[1], fl[1], &start, &sub) != DERMS_OK)
		{
			bad_row(report, nbad, label, it.lineno, "interval_start", "%s",
					sub.msg);
			continue;
		}
		if (fl[2] == 1 && f[2][0] == '5')
			minutes = 5;
		else if (fl[2] == 2 && f[2][0] == '1' && f[2][1] == '5')
			minutes = 15;
		else if (fl[2] == 2 && f[2][0] == '6' && f[2][1] == '0')
			minutes = 60;
		else
		{
			bad_row(report, nbad, label, it.lineno, "interval_minutes",
					"\"%.*s\" is not 5, 15 or 60",
					(int) (fl[2] > 40 ? 40 : fl[2]), f[2]);
			continue;
		}
		rc = settle_parse_decimal(f[3], fl[3], &kwh);
		if (rc != DERMS_OK)
		{
			bad_row(report, nbad, label, it.lineno, "kwh", "\"%.*s\" is not %s",
					(int) (fl[3] > 40 ? 40 : fl[3]), f[3],
					rc == DERMS_ERANGE ? "a decimal of at most 15 significant digits"
					: "a decimal number (-?digits[.digits])");
			continue;
		}
		if (start % (minutes * 60) != 0)
		{
			bad_row(report, nbad, label, it.lineno, "interval_start",
					"not aligned to its %d-minute length in UTC", minutes);
			continue;
		}
		if (e->len_s != 0 && e->len_s != minutes * 60)
		{
			bad_row(report, nbad, label, it.lineno, "interval_minutes",
					"mixed interval lengths for resource \"%s\": %d and %d minutes",
					e->name, (int) (e->len_s / 60), minutes);
			continue;
		}
		if (e->len_s != 0 && start <= e->last)
		{
			bad_row(report, nbad, label, it.lineno, "interval_start",
					start == e->last ? "duplicate interval for resource \"%s\""
					: "out-of-order interval for resource \"%s\" (earlier than the previous one)",
					e->name);
			continue;
		}
		e->len_s = minutes * 60;
		e->last = start;
		(*rows)++;
		if (*rows == 1 || start < *tmin)
			*tmin = start;
		if (*rows == 1 || start > *tmax)
			*tmax = start;
		if (*nbad > 0)
			continue;
		n = snprintf(tmp, sizeof(tmp), "%" PRId64 "\t%" PRId64 "\t%d\t", e->id,
					 start, minutes * 60);
		copy_put(cb, tmp, (size_t) n);
		copy_put(cb, f[3], fl[3]);
		copy_put(cb, "\n", 1);
	}
	if (*rows == 0 && *nbad == 0)
		bad_row(report, nbad, label, it.lineno, NULL, "no readings");
}

/* Resources of the file whose stored data has another interval length. */
static derms_rc
import_check_lengths(PGconn *c, const resmap *m, const char *label,
					 FILE *report, size_t *nbad, derms_err *err)
{
	char	   *ids = NULL,
			   *lens = NULL;
	size_t		idl,
				lenl;
	FILE	   *fi = open_memstream(&ids, &idl);
	FILE	   *fn = open_memstream(&lens, &lenl);
	bool		first = true;
	PGresult   *r;
	const char *p[2];

	if (fi == NULL || fn == NULL)
	{
		if (fi)
			fclose(fi);
		if (fn)
			fclose(fn);
		free(ids);
		free(lens);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	fputc('{', fi);
	fputc('{', fn);
	for (size_t i = 0; i < m->cap; i++)
		if (m->v[i].name != NULL && m->v[i].len_s != 0)
		{
			fprintf(fi, "%s%" PRId64, first ? "" : ",", m->v[i].id);
			fprintf(fn, "%s%d", first ? "" : ",", (int) m->v[i].len_s);
			first = false;
		}
	fputc('}', fi);
	fputc('}', fn);
	fclose(fi);
	fclose(fn);
	p[0] = ids;
	p[1] = lens;
	r = exec(c, "SELECT d.external_id, u.l / 60, e.interval_s / 60"
			 " FROM unnest($1::bigint[], $2::int[]) AS u(d, l)"
			 " JOIN der_resources d ON d.id = u.d"
			 " CROSS JOIN LATERAL (SELECT s.interval_s FROM settlement_readings s"
			 "   WHERE s.der_id = u.d AND s.interval_s <> u.l LIMIT 1) e"
			 " ORDER BY 1", 2, p, err);
	free(ids);
	free(lens);
	if (r == NULL)
		return DERMS_EDB;
	for (int i = 0; i < PQntuples(r); i++)
		bad_row(report, nbad, label, 0, "resource",
				"\"%s\" has %s-minute data in the file but %s-minute data in the database",
				PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
	PQclear(r);
	return DERMS_OK;
}

/* Insert the import row; *id gets its id. */
static derms_rc
import_row(PGconn *c, const char *kind, const char *path, const char *sha,
		   size_t rows, const char *actor, int64_t *id, derms_err *err)
{
	char		nrows[32];
	const char *p[5];
	PGresult   *r;

	snprintf(nrows, sizeof(nrows), "%zu", rows);
	p[0] = kind;
	p[1] = base_name(path);
	p[2] = sha;
	p[3] = nrows;
	p[4] = actor;
	r = exec(c, "INSERT INTO settlement_imports (kind, file_name, file_sha256, rows,"
			 " imported_by) VALUES ($1, $2, $3, $4, $5) RETURNING id", 5, p, err);
	if (r == NULL)
		return DERMS_EDB;
	*id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return DERMS_OK;
}

/* Record the counts of a finished import and its audit record. */
static derms_rc
import_finish(PGconn *c, const char *kind, const char *path, const char *sha,
			  const char *actor, settle_import_result *out, derms_err *err)
{
	char		v[4][32];
	char		detail[512];
	const char *p[4];
	PGresult   *r;

	out->unchanged = (int64_t) out->rows - out->inserted - out->replaced;
	snprintf(v[0], sizeof(v[0]), "%" PRId64, out->import_id);
	snprintf(v[1], sizeof(v[1]), "%" PRId64, out->inserted);
	snprintf(v[2], sizeof(v[2]), "%" PRId64, out->replaced);
	snprintf(v[3], sizeof(v[3]), "%" PRId64, out->unchanged);
	for (int i = 0; i < 4; i++)
		p[i] = v[i];
	r = exec(c, "UPDATE settlement_imports SET inserted = $2, replaced = $3,"
			 " unchanged = $4 WHERE id = $1", 4, p, err);
	if (r == NULL)
		return DERMS_EDB;
	PQclear(r);
	snprintf(detail, sizeof(detail),
			 "{\"import_id\":%" PRId64 ",\"file_sha256\":\"%s\",\"rows\":%zu,"
			 "\"inserted\":%" PRId64 ",\"replaced\":%" PRId64 ",\"unchanged\":%" PRId64 "}",
			 out->import_id, sha, out->rows, out->inserted, out->replaced,
			 out->unchanged);
	p[0] = actor;
	p[1] = kind;
	p[2] = base_name(path);
	p[3] = detail;
	r = exec(c, "SELECT audit_append($1, 'settle.import.' || $2, $3, $4::jsonb)",
			 4, p, err);
	if (r == NULL)
		return DERMS_EDB;
	PQclear(r);
	return DERMS_OK;
}

/* Read the two counts of an upsert ("inserted, replaced"). */
static derms_rc
upsert_counts(PGresult *r, settle_import_result *out)
{
	out->inserted = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->replaced = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	PQclear(r);
	return DERMS_OK;
}

derms_rc
settle_store_import_readings(PGconn *c, const char *path, const char *actor,
							 FILE *report, settle_import_result *out,
							 derms_err *err)
{
	char	   *buf = NULL;
	size_t		len;
	char		sha[SETTLE_SHA256_HEX];
	resmap		m;
	copybuf		cb = {0};
	PGresult   *r;
	int64_t		tmin = 0,
				tmax = 0;
	char		span[2][32];
	const char *p[2];
	derms_rc	rc;

	assert(c != NULL && path != NULL && out != NULL);
	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	if ((rc = settle_file_read(path, &buf, &len, err)) != DERMS_OK)
		return rc;
	if ((rc = settle_sha256_hex(buf, len, sha, err)) != DERMS_OK ||
		(rc = resmap_load(c, &m, err)) != DERMS_OK)
		goto done;
	if ((cb.buf = malloc(COPY_CHUNK)) == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	cb.c = c;
	if ((rc = exec_ok(c, "BEGIN", err)) != DERMS_OK ||
		(rc = exec_ok(c, "CREATE TEMP TABLE settle_stage (der_id bigint, t bigint,"
					  " len integer, kwh double precision) ON COMMIT DROP",
					  err)) != DERMS_OK)
		goto done;
	r = PQexec(c, "COPY settle_stage FROM STDIN");
	if (PQresultStatus(r) != PGRES_COPY_IN)
	{
		rc = db_fail(c, r, err, "could not start COPY");
		goto done;
	}
	PQclear(r);
	import_scan(buf, len, path, &m, &cb, report, &out->rows, &out->nbad,
				&tmin, &tmax);
	copy_flush(&cb);
	if (PQputCopyEnd(c, out->nbad > 0 ? "invalid input" : NULL) != 1)
		cb.failed = true;
	r = PQgetResult(c);
	if (out->nbad == 0 && (cb.failed || PQresultStatus(r) != PGRES_COMMAND_OK))
	{
		rc = db_fail(c, r, err, "could not COPY the readings");
		goto done;
	}
	PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	if (out->nbad == 0 &&
		(rc = import_check_lengths(c, &m, path, report, &out->nbad, err)) != DERMS_OK)
		goto done;
	if (out->nbad > 0)
	{
		rc = derms_err_set(err, DERMS_EPARSE,
						   "%zu bad row%s in %s; nothing imported", out->nbad,
						   out->nbad == 1 ? "" : "s", path);
		goto done;
	}
	/* partitions for every month the file touches */
	snprintf(span[0], sizeof(span[0]), "%" PRId64, tmin);
	snprintf(span[1], sizeof(span[1]), "%" PRId64, tmax);
	p[0] = span[0];
	p[1] = span[1];
	if ((r = exec(c, "SELECT settlement_readings_ensure_month(g)"
				  " FROM generate_series(date_trunc('month', to_timestamp($1::bigint)"
				  "   AT TIME ZONE 'UTC'), to_timestamp($2::bigint) AT TIME ZONE 'UTC',"
				  "   interval '1 month') AS g", 2, p, err)) == NULL)
	{
		rc = DERMS_EDB;
		goto done;
	}
	PQclear(r);
	if ((rc = import_row(c, "readings", path, sha, out->rows, actor,
						 &out->import_id, err)) != DERMS_OK)
		goto done;
	snprintf(span[0], sizeof(span[0]), "%" PRId64, out->import_id);
	p[0] = span[0];
	r = exec(c, "WITH up AS (INSERT INTO settlement_readings AS r"
			 "  (der_id, interval_start, interval_s, kwh, import_id)"
			 "  SELECT der_id, to_timestamp(t), len, kwh, $1 FROM settle_stage"
			 "  ON CONFLICT (der_id, interval_start) DO UPDATE"
			 "  SET interval_s = EXCLUDED.interval_s, kwh = EXCLUDED.kwh,"
			 "   import_id = EXCLUDED.import_id, replaced_import_id = r.import_id"
			 "  WHERE (r.kwh, r.interval_s) IS DISTINCT FROM (EXCLUDED.kwh, EXCLUDED.interval_s)"
			 "  RETURNING replaced_import_id IS NULL AS fresh)"
			 " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up",
			 1, p, err);
	if (r == NULL)
	{
		rc = DERMS_EDB;
		goto done;
	}
	upsert_counts(r, out);
	if ((rc = import_finish(c, "readings", path, sha, actor, out, err)) != DERMS_OK)
		goto done;
	rc = exec_ok(c, "COMMIT", err);
done:
	if (rc != DERMS_OK)
		rollback(c);
	free(cb.buf);
	free(buf);
	resmap_free(&m);
	return rc;
}

/* ---- instructions and prices ---- */

/* "{a,b,...}" array literals of the columns of an upsert */
typedef struct cols
{
	FILE	   *f[4];
	char	   *s[4];
	size_t		l[4];
	int			n;
} cols;

static derms_rc
cols_open(cols *k, int n, derms_err *err)
{
	memset(k, 0, sizeof(*k));
	k->n = n;
	for (int i = 0; i < n; i++)
	{
		if ((k->f[i] = open_memstream(&k->s[i], &k->l[i])) == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		fputc('{', k->f[i]);
	}
	return DERMS_OK;
}

static void
cols_close(cols *k)
{
	for (int i = 0; i < k->n; i++)
		if (k->f[i] != NULL)
		{
			fputc('}', k->f[i]);
			fclose(k->f[i]);
			k->f[i] = NULL;
		}
}

static void
cols_free(cols *k)
{
	cols_close(k);
	for (int i = 0; i < k->n; i++)
		free(k->s[i]);
}

/*
 * Write the parsed rows of k in one transaction: the import row, the
 * upsert sql ($1..$N the N columns of k, $N+1 the import id, $N+2 extra
 * unless NULL) answering the two counts, then the counts and the audit
 * record.  The caller rolls back on failure.
 */
static derms_rc
import_cols(PGconn *c, const char *kind, const char *path, const char *sha,
			const char *actor, cols *k, const char *sql, const char *extra,
			settle_import_result *out, derms_err *err)
{
	char		idbuf[32];
	const char *p[6];
	int			np = 0;
	PGresult   *r;
	derms_rc	rc;

	assert(k->n + 2 <= (int) (sizeof(p) / sizeof(p[0])));
	cols_close(k);
	if ((rc = exec_ok(c, "BEGIN", err)) != DERMS_OK ||
		(rc = import_row(c, kind, path, sha, out->rows, actor,
						 &out->import_id, err)) != DERMS_OK)
		return rc;
	snprintf(idbuf, sizeof(idbuf), "%" PRId64, out->import_id);
	for (int i = 0; i < k->n; i++)
		p[np++] = k->s[i];
	p[np++] = idbuf;
	if (extra != NULL)
		p[np++] = extra;
	if ((r = exec(c, sql, np, p, err)) == NULL)
		return DERMS_EDB;
	upsert_counts(r, out);
	if ((rc = import_finish(c, kind, path, sha, actor, out, err)) != DERMS_OK)
		return rc;
	return exec_ok(c, "COMMIT", err);
}

derms_rc
settle_store_import_instructions(PGconn *c, const char *path,
								 const char *actor, settle_import_result *out,
								 derms_err *err)
{
	char	   *buf = NULL;
	size_t		len;
	char		sha[SETTLE_SHA256_HEX];
	settle_instr_set set = {0};
	resmap		m;
	cols		k;
	derms_rc	rc;

	memset(out, 0, sizeof(*out));
	memset(&m, 0, sizeof(m));
	memset(&k, 0, sizeof(k));
	if ((rc = settle_file_read(path, &buf, &len, err)) != DERMS_OK)
		return rc;
	if ((rc = settle_sha256_hex(buf, len, sha, err)) != DERMS_OK ||
		(rc = settle_instr_parse(buf, len, path, &set, err)) != DERMS_OK ||
		(rc = resmap_load(c, &m, err)) != DERMS_OK ||
		(rc = cols_open(&k, 4, err)) != DERMS_OK)
		goto done;
	for (size_t i = 0; i < set.n; i++)
	{
		const resmap_ent *e = resmap_find(&m, set.v[i].res, strlen(set.v[i].res));

		if (e == NULL)
		{
			rc = derms_err_set(err, DERMS_ENOTFOUND,
							   "%s: unknown resource \"%s\" (no DER has that external id)",
							   path, set.v[i].res);
			goto done;
		}
		fprintf(k.f[0], "%s%" PRId64, i ? "," : "", e->id);
		fprintf(k.f[1], "%s%" PRId64, i ? "," : "", set.v[i].start);
		fprintf(k.f[2], "%s%d", i ? "," : "", (int) set.v[i].len_s);
		fprintf(k.f[3], "%s%.17g", i ? "," : "", set.v[i].kwh);
	}
	out->rows = set.n;
	rc = import_cols(c, "instructions", path, sha, actor, &k,
					 "WITH up AS (INSERT INTO settlement_instructions AS i"
					 "  (der_id, interval_start, interval_s, kwh, import_id)"
					 "  SELECT d, to_timestamp(t), l, v, $5"
					 "  FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::float8[]) AS u(d, t, l, v)"
					 "  ON CONFLICT (der_id, interval_start) DO UPDATE"
					 "  SET interval_s = EXCLUDED.interval_s, kwh = EXCLUDED.kwh,"
					 "   import_id = EXCLUDED.import_id, replaced_import_id = i.import_id"
					 "  WHERE (i.kwh, i.interval_s) IS DISTINCT FROM (EXCLUDED.kwh, EXCLUDED.interval_s)"
					 "  RETURNING replaced_import_id IS NULL AS fresh)"
					 " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up",
					 NULL, out, err);
done:
	if (rc != DERMS_OK)
		rollback(c);
	cols_free(&k);
	resmap_free(&m);
	settle_instr_free(&set);
	free(buf);
	return rc;
}

derms_rc
settle_store_import_prices(PGconn *c, const char *path, const char *iso,
						   const char *actor, settle_import_result *out,
						   derms_err *err)
{
	char	   *buf = NULL;
	size_t		len;
	char		sha[SETTLE_SHA256_HEX];
	settle_price_set set = {0};
	cols		k;
	derms_rc	rc;

	memset(out, 0, sizeof(*out));
	memset(&k, 0, sizeof(k));
	if (settle_iso_find(iso) == NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "--iso: unknown ISO \"%.32s\" (known: caiso|pjm|nyiso|generic)",
							 iso);
	if ((rc = settle_file_read(path, &buf, &len, err)) != DERMS_OK)
		return rc;
	if ((rc = settle_sha256_hex(buf, len, sha, err)) != DERMS_OK ||
		(rc = settle_price_parse(buf, len, path, &set, err)) != DERMS_OK ||
		(rc = cols_open(&k, 3, err)) != DERMS_OK)
		goto done;
	for (size_t i = 0; i < set.n; i++)
	{
		fprintf(k.f[0], "%s%" PRId64, i ? "," : "", set.v[i].start);
		fprintf(k.f[1], "%s%d", i ? "," : "", (int) set.v[i].len_s);
		fprintf(k.f[2], "%s%.17g", i ? "," : "", set.v[i].price);
	}
	out->rows = set.n;
	rc = import_cols(c, "prices", path, sha, actor, &k,
					 "WITH up AS (INSERT INTO settlement_prices AS p"
					 "  (iso, interval_start, interval_s, price_per_mwh, import_id)"
					 "  SELECT $5, to_timestamp(t), l, v, $4"
					 "  FROM unnest($1::bigint[], $2::int[], $3::float8[]) AS u(t, l, v)"
					 "  ON CONFLICT (iso, interval_start) DO UPDATE"
					 "  SET interval_s = EXCLUDED.interval_s, price_per_mwh = EXCLUDED.price_per_mwh,"
					 "   import_id = EXCLUDED.import_id, replaced_import_id = p.import_id"
					 "  WHERE (p.price_per_mwh, p.interval_s)"
					 "   IS DISTINCT FROM (EXCLUDED.price_per_mwh, EXCLUDED.interval_s)"
					 "  RETURNING replaced_import_id IS NULL AS fresh)"
					 " SELECT count(*) FILTER (WHERE fresh), count(*) FILTER (WHERE NOT fresh) FROM up",
					 iso, out, err);
done:
	if (rc != DERMS_OK)
		rollback(c);
	cols_free(&k);
	settle_price_free(&set);
	free(buf);
	return rc;
}

/* ---- the fleet of an export ---- */

void
settle_store_fleet_free(settle_dbfleet *f)
{
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->nders; i++)
		free(f->ders[i].name);
	free(f->ders);
	free(f->byname);
	free(f->aggs);
	settle_members_free(&f->members);
	memset(f, 0, sizeof(*f));
}

static int
cmp_agg(const void *a, const void *b)
{
	return strcmp(((const settle_dbagg *) a)->label,
				  ((const settle_dbagg *) b)->label);
}

static int
cmp_der_id(const void *a, const void *b)
{
	const settle_dbder *x = a;
	const settle_dbder *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static int
cmp_der_name(const void *a, const void *b)
{
	return strcmp((*(settle_dbder *const *) a)->name,
				  (*(settle_dbder *const *) b)->name);
}

static int
cmp_pair2(const void *a, const void *b)
{
	const char *const *x = a;
	const char *const *y = b;
	int			d = strcmp(x[0], y[0]);

	return d != 0 ? d : strcmp(x[1], y[1]);
}

const settle_dbagg *
settle_store_agg_find(const settle_dbfleet *f, const char *label)
{
	settle_dbagg key;

	snprintf(key.label, sizeof(key.label), "%s", label);
	return bsearch(&key, f->aggs, f->naggs, sizeof(settle_dbagg), cmp_agg);
}

/* The label of an aggregation: its ISO resource id, else its id. */
static void
agg_label(PGresult *r, int row, char *out)
{
	const char *rid = PQgetvalue(r, row, 2);

	if (!PQgetisnull(r, row, 2) && settle_resource_ok(rid, strlen(rid)))
		snprintf(out, SETTLE_RESOURCE_MAX + 1, "%s", rid);
	else
		snprintf(out, SETTLE_RESOURCE_MAX + 1, "%s", PQgetvalue(r, row, 0));
}

/* Check each id of spec names an aggregation; fills the error. */
static derms_rc
fleet_check_named(PGconn *c, const char *spec, const settle_dbfleet *f,
				  derms_err *err)
{
	char	   *copy = strdup(spec);
	char	   *save = NULL;
	derms_rc	rc = DERMS_OK;

	if (copy == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	for (char *tok = strtok_r(copy, ",", &save); tok != NULL && rc == DERMS_OK;
		 tok = strtok_r(NULL, ",", &save))
	{
		bool		found = false;
		const char *p[1] = {tok};
		PGresult   *r;

		for (size_t i = 0; i < f->naggs && !found; i++)
		{
			char		idtext[32];

			snprintf(idtext, sizeof(idtext), "%" PRId64, f->aggs[i].id);
			found = strcmp(f->aggs[i].label, tok) == 0 || strcmp(idtext, tok) == 0;
		}
		if (found)
			continue;
		r = exec(c, "SELECT 1 FROM aggregations WHERE iso_resource_id = $1"
				 " OR (($1 ~ '^[0-9]{1,18}$') AND id = $1::bigint)", 1, p, err);
		if (r == NULL)
			rc = DERMS_EDB;
		else if (PQntuples(r) == 0)
			rc = derms_err_set(err, DERMS_ENOTFOUND, "unknown aggregation \"%s\"", tok);
		else
			rc = derms_err_set(err, DERMS_ENOTFOUND,
							   "aggregation \"%s\" has no members on that trading day",
							   tok);
		PQclear(r);
	}
	free(copy);
	return rc;
}

derms_rc
settle_store_fleet(PGconn *c, const char *spec, const char *iso, int64_t at,
				   settle_dbfleet *out, derms_err *err)
{
	char		atbuf[32];
	const char *p[3];
	PGresult   *r;
	int			n;
	char	  **pairs = NULL;
	derms_rc	rc = DERMS_OK;
	bool		all = strcmp(spec, "all") == 0;

	memset(out, 0, sizeof(*out));
	snprintf(atbuf, sizeof(atbuf), "%" PRId64, at);
	p[0] = atbuf;
	p[1] = all ? NULL : spec;
	p[2] = all && strcmp(iso, "generic") != 0 ? iso : NULL;
	r = exec(c, "SELECT g.id, g.tenant_id, g.iso_resource_id,"
			 " lower(coalesce(k.name, g.iso, '')), d.id, d.external_id"
			 " FROM aggregations g"
			 " JOIN aggregation_members m ON m.aggregation_id = g.id"
			 " JOIN der_resources d ON d.id = m.der_id"
			 " LEFT JOIN iso_markets k ON k.id = g.iso_market_id"
			 " WHERE m.effective_from <= to_timestamp($1::bigint)"
			 "  AND (m.effective_to IS NULL OR m.effective_to > to_timestamp($1::bigint))"
			 "  AND ($2::text IS NULL OR g.iso_resource_id = ANY (string_to_array($2, ','))"
			 "   OR g.id::text = ANY (string_to_array($2, ',')))"
			 "  AND ($3::text IS NULL OR lower(coalesce(k.name, g.iso, '')) = $3)"
			 " ORDER BY g.id, d.id", 3, p, err);
	if (r == NULL)
		return DERMS_EDB;
	n = PQntuples(r);
	out->aggs = calloc((size_t) n + 1, sizeof(settle_dbagg));
	out->ders = calloc((size_t) n + 1, sizeof(settle_dbder));
	pairs = calloc((size_t) n * 2 + 1, sizeof(char *));
	if (out->aggs == NULL || out->ders == NULL || pairs == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++)
	{
		const char *ext = PQgetvalue(r, i, 5);
		settle_dbagg *g;

		if (PQgetisnull(r, i, 5) || !settle_resource_ok(ext, strlen(ext)))
		{
			rc = derms_err_set(err, DERMS_EINVAL,
							   "DER %s of aggregation %s has no usable external id (1-64 of [A-Za-z0-9_.:-])",
							   PQgetvalue(r, i, 4), PQgetvalue(r, i, 0));
			goto done;
		}
		if (i == 0 || strcmp(PQgetvalue(r, i, 0), PQgetvalue(r, i - 1, 0)) != 0)
		{
			g = &out->aggs[out->naggs++];
			g->id = strtoll(PQgetvalue(r, i, 0), NULL, 10);
			g->tenant_id = strtoll(PQgetvalue(r, i, 1), NULL, 10);
			agg_label(r, i, g->label);
			snprintf(g->market, sizeof(g->market), "%s", PQgetvalue(r, i, 3));
		}
		g = &out->aggs[out->naggs - 1];
		pairs[2 * i] = strdup(g->label);
		pairs[2 * i + 1] = strdup(ext);
		out->ders[out->nders].id = strtoll(PQgetvalue(r, i, 4), NULL, 10);
		out->ders[out->nders].name = strdup(ext);
		out->nders++;
		if (pairs[2 * i] == NULL || pairs[2 * i + 1] == NULL ||
			out->ders[out->nders - 1].name == NULL)
		{
			rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
			goto done;
		}
	}
	qsort(out->aggs, out->naggs, sizeof(settle_dbagg), cmp_agg);
	for (size_t i = 1; i < out->naggs; i++)
		if (strcmp(out->aggs[i].label, out->aggs[i - 1].label) == 0)
		{
			rc = derms_err_set(err, DERMS_EINVAL,
							   "aggregations %" PRId64 " and %" PRId64 " share the ISO resource id \"%s\"",
							   out->aggs[i - 1].id, out->aggs[i].id, out->aggs[i].label);
			goto done;
		}
	/* DERs: unique by id (a DER is in one aggregation per market) */
	qsort(out->ders, out->nders, sizeof(settle_dbder), cmp_der_id);
	{
		size_t		w = 0;

		for (size_t i = 0; i < out->nders; i++)
		{
			if (w > 0 && out->ders[w - 1].id == out->ders[i].id)
			{
				free(out->ders[i].name);
				continue;
			}
			out->ders[w++] = out->ders[i];
		}
		out->nders = w;
	}
	out->byname = calloc(out->nders + 1, sizeof(settle_dbder *));
	if (out->byname == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < out->nders; i++)
		out->byname[i] = &out->ders[i];
	qsort(out->byname, out->nders, sizeof(settle_dbder *), cmp_der_name);
	/* membership, sorted as settle_members wants it */
	if (n > 0)
		qsort(pairs, (size_t) n, 2 * sizeof(char *), cmp_pair2);
	out->members.agg = calloc((size_t) n + 1, sizeof(char *));
	out->members.res = calloc((size_t) n + 1, sizeof(char *));
	if (out->members.agg == NULL || out->members.res == NULL)
	{
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto done;
	}
	for (int i = 0; i < n; i++)
	{
		out->members.agg[i] = pairs[2 * i];
		out->members.res[i] = pairs[2 * i + 1];
		pairs[2 * i] = pairs[2 * i + 1] = NULL;
	}
	out->members.n = (size_t) n;
	if (!all)
		rc = fleet_check_named(c, spec, out, err);
	else if (out->naggs == 0)
		rc = derms_err_set(err, DERMS_ENOTFOUND,
						   "no %s aggregation has members on that trading day",
						   iso);
done:
	if (pairs != NULL)
		for (int i = 0; i < 2 * n; i++)
			free(pairs[i]);
	free(pairs);
	PQclear(r);
	if (rc != DERMS_OK)
		settle_store_fleet_free(out);
	return rc;
}

/* "{id,id,...}" of the fleet's DERs; new */
static char *
der_array(const settle_dbfleet *f)
{
	char	   *s = NULL;
	size_t		l;
	FILE	   *m = open_memstream(&s, &l);

	if (m == NULL)
		return NULL;
	fputc('{', m);
	for (size_t i = 0; i < f->nders; i++)
		fprintf(m, "%s%" PRId64, i ? "," : "", f->ders[i].id);
	fputc('}', m);
	if (fclose(m) != 0)
	{
		free(s);
		return NULL;
	}
	return s;
}

static settle_dbder *
der_by_id(settle_dbfleet *f, int64_t id, size_t *hint)
{
	settle_dbder key;
	settle_dbder *d;

	if (*hint < f->nders && f->ders[*hint].id == id)
		return &f->ders[*hint];
	key.id = id;
	d = bsearch(&key, f->ders, f->nders, sizeof(settle_dbder), cmp_der_id);
	if (d != NULL)
		*hint = (size_t) (d - f->ders);
	return d;
}

/* Split a COPY text row into n tab-separated fields in place. */
static bool
split_tabs(char *row, int n, char **fv)
{
	char	   *p = row;

	for (int i = 0; i < n; i++)
	{
		char	   *t = strchr(p, i + 1 < n ? '\t' : '\n');

		if (t == NULL)
			return false;
		*t = '\0';
		fv[i] = p;
		p = t + 1;
	}
	return true;
}

derms_rc
settle_store_load_readings(PGconn *c, settle_dbfleet *f, int64_t from,
						   int64_t to, settle_series_set *set,
						   derms_err *err)
{
	char	   *ids = der_array(f);
	char	   *sql = NULL;
	PGresult   *r;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	settle_dbder *cur = NULL;
	settle_series *s = NULL;
	size_t		hint = 0;
	char	   *row = NULL;
	int			n;
	derms_rc	rc = DERMS_OK;

	if (ids == NULL || md == NULL ||
		asprintf(&sql, "COPY (SELECT der_id, extract(epoch FROM interval_start)::bigint,"
				 " interval_s, kwh, coalesce(import_id, 0)"
				 " FROM settlement_interval_data"
				 " WHERE der_id = ANY ('%s'::bigint[])"
				 "  AND interval_start >= to_timestamp(%" PRId64 ")"
				 "  AND interval_start < to_timestamp(%" PRId64 ")"
				 " ORDER BY der_id, interval_start) TO STDOUT", ids, from, to) < 0)
	{
		free(ids);
		EVP_MD_CTX_free(md);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	free(ids);
	/* every member has a series, even one without data */
	for (size_t i = 0; i < f->nders; i++)
	{
		settle_series *x;

		if ((rc = settle_series_get(set, f->ders[i].name, strlen(f->ders[i].name),
									&x, err)) != DERMS_OK)
		{
			free(sql);
			EVP_MD_CTX_free(md);
			return rc;
		}
	}
	r = PQexec(c, sql);
	free(sql);
	if (PQresultStatus(r) != PGRES_COPY_OUT)
	{
		EVP_MD_CTX_free(md);
		return db_fail(c, r, err, "could not read the readings");
	}
	PQclear(r);
	while ((n = PQgetCopyData(c, &row, 0)) > 0)
	{
		char	   *fv[5];
		int64_t		id;

		if (rc != DERMS_OK)
		{
			PQfreemem(row);
			continue;			/* drain */
		}
		id = strtoll(row, NULL, 10);
		if (cur == NULL || cur->id != id)
		{
			if (cur != NULL)
				EVP_DigestFinal_ex(md, cur->sha, NULL);
			cur = der_by_id(f, id, &hint);
			assert(cur != NULL);
			s = settle_series_find(set, cur->name);
			EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		}
		/* the row as streamed */
		EVP_DigestUpdate(md, row, (size_t) n);
		if (!split_tabs(row, 5, fv))
		{
			rc = derms_err_set(err, DERMS_EDB, "unexpected COPY row");
			PQfreemem(row);
			continue;
		}
		cur->rows++;
		{
			int64_t		imp = strtoll(fv[4], NULL, 10);

			if (imp > cur->version)
				cur->version = imp;
		}
		rc = settle_series_append(s, strtoll(fv[1], NULL, 10),
								  (int32_t) strtol(fv[2], NULL, 10),
								  strtod(fv[3], NULL), err);
		if (rc == DERMS_OK)
			set->nreadings++;
		PQfreemem(row);
	}
	if (cur != NULL)
		EVP_DigestFinal_ex(md, cur->sha, NULL);
	EVP_MD_CTX_free(md);
	r = PQgetResult(c);
	if (n == -2 || PQresultStatus(r) != PGRES_COMMAND_OK)
	{
		if (rc == DERMS_OK)
			rc = db_fail(c, r, err, "could not read the readings");
		else
			PQclear(r);
	}
	else
		PQclear(r);
	while ((r = PQgetResult(c)) != NULL)
		PQclear(r);
	/* DERs with no rows hash as the empty stream */
	for (size_t i = 0; i < f->nders && rc == DERMS_OK; i++)
		if (f->ders[i].rows == 0)
			EVP_Digest("", 0, f->ders[i].sha, NULL, EVP_sha256(), NULL);
	return rc;
}

/* Combine the per-DER digests of label's members into in. */
static derms_rc
agg_digest(const settle_dbfleet *f, const char *label, bool instr,
		   settle_xinput *in, derms_err *err)
{
	size_t		first;
	size_t		nm = settle_members_of(&f->members, label, &first);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char out[32];

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
	{
		EVP_MD_CTX_free(md);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	in->rows = 0;
	in->version = 0;
	for (size_t i = first; i < first + nm; i++)
	{
		settle_dbder key;
		settle_dbder *kp = &key;
		settle_dbder *const *d;
		char		hex[SETTLE_SHA256_HEX];
		char		line[160];
		int			len;

		key.name = f->members.res[i];
		d = bsearch(&kp, f->byname, f->nders, sizeof(settle_dbder *), cmp_der_name);
		assert(d != NULL);
		hex32(instr ? (*d)->instr_sha : (*d)->sha, hex);
		len = snprintf(line, sizeof(line), "%s:%s\n", (*d)->name, hex);
		EVP_DigestUpdate(md, line, (size_t) len);
		in->rows += instr ? (*d)->instr_rows : (*d)->rows;
		if ((instr ? (*d)->instr_version : (*d)->version) > in->version)
			in->version = instr ? (*d)->instr_version : (*d)->version;
	}
	EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	hex32(out, in->sha256);
	in->path = NULL;
	in->bytes = 0;
	return DERMS_OK;
}

derms_rc
settle_store_agg_input(const settle_dbfleet *f, const char *label,
					   settle_xinput *in, derms_err *err)
{
	in->role = "readings";
	in->relation = "settlement_interval_data";
	return agg_digest(f, label, false, in, err);
}

derms_rc
settle_store_agg_instr_input(const settle_dbfleet *f, const char *label,
							 settle_xinput *in, derms_err *err)
{
	in->role = "instructions";
	in->relation = "settlement_instructions";
	return agg_digest(f, label, true, in, err);
}

static int
cmp_instr2(const void *a, const void *b)
{
	const settle_instr *x = a;
	const settle_instr *y = b;
	int			d = strcmp(x->res, y->res);

	if (d != 0)
		return d;
	return (x->start > y->start) - (x->start < y->start);
}

derms_rc
settle_store_load_instructions(PGconn *c, settle_dbfleet *f, int64_t from,
							   int64_t to, settle_instr_set *out,
							   derms_err *err)
{
	char	   *ids = der_array(f);
	char		fb[32],
				tb[32];
	const char *p[3];
	PGresult   *r;
	size_t		hint = 0;
	int			n;

	memset(out, 0, sizeof(*out));
	if (ids == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	snprintf(fb, sizeof(fb), "%" PRId64, from);
	snprintf(tb, sizeof(tb), "%" PRId64, to);
	p[0] = ids;
	p[1] = fb;
	p[2] = tb;
	r = exec(c, "SELECT der_id, extract(epoch FROM interval_start)::bigint, interval_s,"
			 " kwh::text, import_id FROM settlement_instructions"
			 " WHERE der_id = ANY ($1::bigint[])"
			 "  AND interval_start < to_timestamp($3::bigint)"
			 "  AND interval_start + interval_s * interval '1 second' > to_timestamp($2::bigint)"
			 " ORDER BY der_id, interval_start", 3, p, err);
	free(ids);
	if (r == NULL)
		return DERMS_EDB;
	n = PQntuples(r);
	out->v = calloc((size_t) n + 1, sizeof(settle_instr));
	if (out->v == NULL)
	{
		PQclear(r);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < f->nders; i++)
		EVP_Digest("", 0, f->ders[i].instr_sha, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < n;)
	{
		settle_dbder *d = der_by_id(f, strtoll(PQgetvalue(r, i, 0), NULL, 10), &hint);
		EVP_MD_CTX *md = EVP_MD_CTX_new();

		assert(d != NULL);
		if (md == NULL)
		{
			PQclear(r);
			settle_instr_free(out);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		for (; i < n && strtoll(PQgetvalue(r, i, 0), NULL, 10) == d->id; i++)
		{
			settle_instr *in = &out->v[out->n++];
			char		line[160];
			int			len;
			int64_t		imp = strtoll(PQgetvalue(r, i, 4), NULL, 10);

			snprintf(in->res, sizeof(in->res), "%s", d->name);
			in->start = strtoll(PQgetvalue(r, i, 1), NULL, 10);
			in->len_s = (int32_t) strtol(PQgetvalue(r, i, 2), NULL, 10);
			in->kwh = strtod(PQgetvalue(r, i, 3), NULL);
			len = snprintf(line, sizeof(line), "%s,%" PRId64 ",%d,%s\n", d->name,
						   in->start, (int) in->len_s, PQgetvalue(r, i, 3));
			EVP_DigestUpdate(md, line, (size_t) len);
			d->instr_rows++;
			if (imp > d->instr_version)
				d->instr_version = imp;
		}
		EVP_DigestFinal_ex(md, d->instr_sha, NULL);
		EVP_MD_CTX_free(md);
	}
	PQclear(r);
	qsort(out->v, out->n, sizeof(settle_instr), cmp_instr2);
	return DERMS_OK;
}

derms_rc
settle_store_load_prices(PGconn *c, const char *iso, int64_t from, int64_t to,
						 settle_price_set *out, settle_xinput *in,
						 derms_err *err)
{
	char		fb[32],
				tb[32];
	const char *p[3];
	PGresult   *r;
	char	   *text = NULL;
	size_t		tl;
	FILE	   *m;
	int			n;
	derms_rc	rc;

	memset(out, 0, sizeof(*out));
	snprintf(fb, sizeof(fb), "%" PRId64, from);
	snprintf(tb, sizeof(tb), "%" PRId64, to);
	p[0] = iso;
	p[1] = fb;
	p[2] = tb;
	r = exec(c, "SELECT extract(epoch FROM interval_start)::bigint, interval_s,"
			 " price_per_mwh::text, import_id FROM settlement_prices"
			 " WHERE iso = $1 AND interval_start < to_timestamp($3::bigint)"
			 "  AND interval_start + interval_s * interval '1 second' > to_timestamp($2::bigint)"
			 " ORDER BY interval_start", 3, p, err);
	if (r == NULL)
		return DERMS_EDB;
	n = PQntuples(r);
	out->v = calloc((size_t) n + 1, sizeof(settle_price));
	m = open_memstream(&text, &tl);
	if (out->v == NULL || m == NULL)
	{
		if (m)
			fclose(m);
		free(text);
		PQclear(r);
		settle_price_free(out);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	in->role = "prices";
	in->relation = "settlement_prices";
	in->path = NULL;
	in->rows = (size_t) n;
	in->version = 0;
	for (int i = 0; i < n; i++)
	{
		settle_price *pr = &out->v[out->n++];
		int64_t		imp = strtoll(PQgetvalue(r, i, 3), NULL, 10);

		pr->start = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		pr->len_s = (int32_t) strtol(PQgetvalue(r, i, 1), NULL, 10);
		pr->price = strtod(PQgetvalue(r, i, 2), NULL);
		fprintf(m, "%s,%" PRId64 ",%d,%s\n", iso, pr->start, (int) pr->len_s,
				PQgetvalue(r, i, 2));
		if (imp > in->version)
			in->version = imp;
	}
	PQclear(r);
	fclose(m);
	rc = settle_sha256_hex(text ? text : "", text ? tl : 0, in->sha256, err);
	free(text);
	return rc;
}
