/*
 * protocols/fleet/export.c
 *	  ISO registration export: CSV, JSON and a manifest per aggregation.
 *
 * NOTES
 *	  One REPEATABLE READ transaction reads the aggregation and its
 *	  members, so the CSV and the JSON describe the same snapshot.  Numbers
 *	  are formatted by PostgreSQL (numeric rounded to 3 decimals) and go
 *	  into both files as the same text; JSON is written by jansson with
 *	  sorted keys.  Files: aggregation-ID-members.csv,
 *	  aggregation-ID-members.json, aggregation-ID-manifest.json.
 *	  The minimum aggregation size is checked in the same snapshot before
 *	  any file is written.
 */
#include "export.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "enroll.h"
#include "sql.h"
#include "value.h"

/* Member columns, in file order; kinds say how JSON renders them. */
typedef enum
{
	X_TEXT,
	X_INT,
	X_NUM
} xkind;

static const struct
{
	const char *name;
	xkind		kind;
}			member_cols[] = {
	{"der_id", X_TEXT},
	{"der_kind", X_TEXT},
	{"meter_id", X_TEXT},
	{"address", X_TEXT},
	{"feeder", X_TEXT},
	{"transformer", X_TEXT},
	{"pricing_node", X_TEXT},
	{"time_zone", X_TEXT},
	{"nameplate_kw", X_NUM},
	{"nameplate_kva", X_NUM},
	{"energy_kwh", X_NUM},
	{"max_charge_kw", X_NUM},
	{"max_discharge_kw", X_NUM},
	{"export_cap_kw", X_NUM},
	{"lfdi", X_TEXT},
	{"effective_from", X_TEXT},
	{"effective_to", X_TEXT},
};

#define NMEMBER_COLS (sizeof(member_cols) / sizeof(member_cols[0]))

#define KW(col) "round((" col " / 1000.0)::numeric, 3)::text"

static const char members_sql[] =
	"SELECT coalesce(r.external_id, r.id::text), r.kind, s.meter_id, s.address, f.name,"
	" s.transformer, s.pricing_node, s.time_zone, " KW("r.rated_w") ", " KW("r.rated_va") ","
	" " KW("r.rated_wh") ", " KW("r.max_charge_w") ", " KW("r.max_discharge_w") ","
	" round(r.export_cap_kw::numeric, 3)::text, r.lfdi, "
	FLEET_TS("m.effective_from") ", " FLEET_TS("m.effective_to")
	" FROM aggregation_members m JOIN der_resources r ON r.id = m.der_id"
	" LEFT JOIN sites s ON s.id = r.site_id LEFT JOIN feeders f ON f.id = s.feeder_id"
	" WHERE m.aggregation_id = $1 AND ($2::timestamptz IS NULL OR"
	"  (m.effective_from <= $2::timestamptz AND"
	"   (m.effective_to IS NULL OR m.effective_to > $2::timestamptz)))"
	" ORDER BY 1, m.effective_from";

static const char agg_sql[] =
	"SELECT g.id, g.name, t.name, k.name, g.iso_resource_id, g.pricing_node,"
	" round(coalesce(g.min_size_kw, k.min_size_kw)::numeric, 3)::text, "
	FLEET_TS("g.effective_from") ", " FLEET_TS("g.effective_to")
	" FROM aggregations g JOIN tenants t ON t.id = g.tenant_id"
	" LEFT JOIN iso_markets k ON k.id = g.iso_market_id WHERE g.id = $1";

/* size at $2 (NULL: now) against the minimum: size, minimum, below, at */
static const char size_sql[] =
	"SELECT round((coalesce(sum(r.rated_w), 0) / 1000.0)::numeric, 3)::text,"
	" round(coalesce(g.min_size_kw, k.min_size_kw, 100)::numeric, 3)::text,"
	" coalesce(sum(r.rated_w), 0) / 1000.0 < coalesce(g.min_size_kw, k.min_size_kw, 100),"
	" coalesce(k.name, 'none'), g.name"
	" FROM aggregations g LEFT JOIN iso_markets k ON k.id = g.iso_market_id"
	" LEFT JOIN aggregation_members m ON m.aggregation_id = g.id"
	"  AND m.effective_from <= coalesce($2::timestamptz, now())"
	"  AND (m.effective_to IS NULL OR m.effective_to > coalesce($2::timestamptz, now()))"
	" LEFT JOIN der_resources r ON r.id = m.der_id"
	" WHERE g.id = $1 GROUP BY g.id, g.name, g.min_size_kw, k.min_size_kw, k.name";

static const char *const agg_fields[] = {
	"aggregation_id", "name", "aggregator", "iso_market", "iso_resource_id",
	"pricing_node", "min_size_kw", "effective_from", "effective_to"
};

void
fleet_export_sha256(const void *data, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

/* ---- building the documents in memory ---- */

typedef struct sbuf
{
	char	   *p;
	size_t		len;
	size_t		cap;
	bool		oom;
} sbuf;

static void
sb_put(sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = (b->len + n + 1) * 2;
		char	   *np = realloc(b->p, cap);

		if (np == NULL)
		{
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_csv_field(sbuf *b, const char *v)
{
	if (strpbrk(v, ",\"\r\n") == NULL)
	{
		sb_put(b, v, strlen(v));
		return;
	}
	sb_put(b, "\"", 1);
	for (const char *s = v; *s; s++)
	{
		if (*s == '"')
			sb_put(b, "\"\"", 2);
		else
			sb_put(b, s, 1);
	}
	sb_put(b, "\"", 1);
}

static json_t *
json_value(xkind kind, const char *v, bool null)
{
	if (null)
		return json_null();
	if (kind == X_NUM || kind == X_INT)
	{
		double		d;

		if (kind == X_INT)
			return json_integer(strtoll(v, NULL, 10));
		if (fleet_value_number(v, &d))
			return json_real(d);
	}
	return json_string(v);
}

/* ---- atomic files ---- */

static derms_rc
write_atomic(arena *a, const char *dir, const char *name, const char *data,
			 size_t len, const char **path_out, derms_err *err)
{
	const char *path = arena_printf(a, "%s/%s", dir, name);
	const char *tmp = arena_printf(a, "%s/.%s.tmp", dir, name);
	int			fd;
	size_t		off = 0;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return derms_err_set(err, DERMS_EIO, "could not create \"%s\": %s", tmp, strerror(errno));
	while (off < len)
	{
		ssize_t		n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
		{
			derms_err_set(err, DERMS_EIO, "could not write \"%s\": %s", tmp, strerror(errno));
			close(fd);
			unlink(tmp);
			return err->code;
		}
		off += (size_t) n;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not fsync \"%s\": %s", tmp, strerror(errno));
		unlink(tmp);
		return err->code;
	}
	if (rename(tmp, path) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not rename \"%s\": %s", tmp, strerror(errno));
		unlink(tmp);
		return err->code;
	}
	if (path_out)
		*path_out = path;
	return DERMS_OK;
}

static derms_rc
fsync_dir(const char *dir, derms_err *err)
{
	int			fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not fsync directory \"%s\": %s", dir,
					  strerror(errno));
		if (fd >= 0)
			close(fd);
		return err->code;
	}
	close(fd);
	return DERMS_OK;
}

/* jansson text of j (stolen), into the arena; NULL on failure. */
static char *
dump_json(arena *a, json_t *j)
{
	char	   *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
	char	   *out = NULL;

	json_decref(j);
	if (s)
	{
		out = arena_printf(a, "%s\n", s);
		free(s);
	}
	return out;
}

static void
add_file(json_t *files, const char *name, const char *data, size_t len, size_t rows)
{
	char		hex[65];
	json_t	   *f = json_object();

	fleet_export_sha256(data, len, hex);
	json_object_set_new(f, "name", json_string(name));
	json_object_set_new(f, "sha256", json_string(hex));
	json_object_set_new(f, "bytes", json_integer((json_int_t) len));
	json_object_set_new(f, "rows", json_integer((json_int_t) rows));
	json_array_append_new(files, f);
}

derms_rc
fleet_export_aggregation(PGconn *c, arena *a, int64_t agg_id, const char *as_of,
						 const char *dir, unsigned flags, const char *actor,
						 fleet_export_result *out, derms_err *err)
{
	const char *p[2] = {fleet_sql_i64(a, agg_id), as_of};
	PGresult   *ag,
			   *mr,
			   *sz;
	sbuf		csv = {NULL, 0, 0, false};
	json_t	   *doc,
			   *agg,
			   *members,
			   *manifest,
			   *files;
	char	   *json_text,
			   *man_text;
	const char *csv_name = arena_printf(a, "aggregation-%lld-members.csv", (long long) agg_id);
	const char *json_name = arena_printf(a, "aggregation-%lld-members.json", (long long) agg_id);
	const char *man_name = arena_printf(a, "aggregation-%lld-manifest.json", (long long) agg_id);
	int			n;

	assert(out != NULL && dir != NULL && actor != NULL);
	memset(out, 0, sizeof(*out));
	if (as_of && !fleet_value_time(as_of))
		return derms_err_set(err, DERMS_EINVAL,
							 "as_of: not a timestamp with zone (YYYY-MM-DDTHH:MM:SSZ)");
	if (fleet_sql_exec(c, a, "BEGIN ISOLATION LEVEL REPEATABLE READ", 0, NULL, NULL, err) == NULL)
		return err->code;
	if ((ag = fleet_sql_exec(c, a, agg_sql, 1, p, NULL, err)) == NULL ||
		(mr = fleet_sql_exec(c, a, members_sql, 2, p, NULL, err)) == NULL)
		goto fail;
	if (PQntuples(ag) == 0)
	{
		derms_err_set(err, DERMS_ENOTFOUND, "aggregation: no aggregation %lld", (long long) agg_id);
		goto fail;
	}
	n = PQntuples(mr);

	/* the minimum size, before anything is written */
	if ((sz = fleet_sql_exec(c, a, size_sql, 2, p, NULL, err)) == NULL)
		goto fail;
	out->size_kw = strtod(PQgetvalue(sz, 0, 0), NULL);
	out->min_size_kw = strtod(PQgetvalue(sz, 0, 1), NULL);
	if (PQgetvalue(sz, 0, 2)[0] == 't')
	{
		if (!(flags & FLEET_EXPORT_ALLOW_BELOW_MIN))
		{
			derms_err_set(err, DERMS_EPERM,
						  "aggregation: aggregation %lld \"%s\" has %s kW in force at %s,"
						  " below its minimum size of %s kW (market %s)",
						  (long long) agg_id, PQgetvalue(sz, 0, 4), PQgetvalue(sz, 0, 0),
						  as_of ? as_of : "the time of export", PQgetvalue(sz, 0, 1),
						  PQgetvalue(sz, 0, 3));
			derms_err_detail(err, "--allow-below-minimum exports it anyway and records that in the manifest");
			goto fail;
		}
		out->below_minimum = true;
	}

	/* CSV */
	for (size_t i = 0; i < NMEMBER_COLS; i++)
	{
		if (i)
			sb_put(&csv, ",", 1);
		sb_put(&csv, member_cols[i].name, strlen(member_cols[i].name));
	}
	sb_put(&csv, "\r\n", 2);
	for (int row = 0; row < n; row++)
	{
		for (size_t i = 0; i < NMEMBER_COLS; i++)
		{
			if (i)
				sb_put(&csv, ",", 1);
			sb_csv_field(&csv, PQgetvalue(mr, row, (int) i));
		}
		sb_put(&csv, "\r\n", 2);
	}
	if (csv.oom)
	{
		free(csv.p);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto fail;
	}

	/* JSON */
	agg = json_object();
	for (size_t i = 0; i < sizeof(agg_fields) / sizeof(agg_fields[0]); i++)
		json_object_set_new(agg, agg_fields[i],
							json_value(i == 0 ? X_INT : i == 6 ? X_NUM : X_TEXT,
									   PQgetvalue(ag, 0, (int) i),
									   PQgetisnull(ag, 0, (int) i)));
	members = json_array();
	for (int row = 0; row < n; row++)
	{
		json_t	   *m = json_object();

		for (size_t i = 0; i < NMEMBER_COLS; i++)
			json_object_set_new(m, member_cols[i].name,
								json_value(member_cols[i].kind, PQgetvalue(mr, row, (int) i),
										   PQgetisnull(mr, row, (int) i)));
		json_array_append_new(members, m);
	}
	doc = json_object();
	json_object_set(doc, "aggregation", agg);
	json_object_set_new(doc, "as_of", as_of ? json_string(as_of) : json_null());
	json_object_set_new(doc, "members", members);
	json_text = dump_json(a, doc);

	/* manifest */
	manifest = json_object();
	files = json_array();
	add_file(files, csv_name, csv.p ? csv.p : "", csv.len, (size_t) n);
	if (json_text)
		add_file(files, json_name, json_text, strlen(json_text), (size_t) n);
	json_object_set_new(manifest, "aggregation", agg);
	json_object_set_new(manifest, "as_of", as_of ? json_string(as_of) : json_null());
	json_object_set_new(manifest, "files", files);
	if (out->below_minimum)
	{
		json_t	   *bm = json_object();

		json_object_set_new(bm, "size_kw", json_value(X_NUM, PQgetvalue(sz, 0, 0), false));
		json_object_set_new(bm, "min_size_kw", json_value(X_NUM, PQgetvalue(sz, 0, 1), false));
		json_object_set_new(bm, "as_of", as_of ? json_string(as_of) : json_null());
		json_object_set_new(manifest, "below_minimum", bm);
	}
	json_object_set_new(manifest, "format", json_string("dermsd-iso-registration-1"));
	man_text = dump_json(a, manifest);
	if (json_text == NULL || man_text == NULL)
	{
		free(csv.p);
		derms_err_set(err, DERMS_ENOMEM, "out of memory");
		goto fail;
	}
	if (write_atomic(a, dir, csv_name, csv.p ? csv.p : "", csv.len, &out->csv_path, err) != DERMS_OK ||
		write_atomic(a, dir, json_name, json_text, strlen(json_text), &out->json_path, err) != DERMS_OK ||
		write_atomic(a, dir, man_name, man_text, strlen(man_text), &out->manifest_path, err) != DERMS_OK ||
		fsync_dir(dir, err) != DERMS_OK)
	{
		free(csv.p);
		goto fail;
	}
	free(csv.p);
	if (fleet_sql_audit(c, a, actor, "fleet.export", arena_printf(a, "aggregation:%lld", (long long) agg_id),
						arena_printf(a, "{\"rows\": %d, \"below_minimum\": %s}", n,
									 out->below_minimum ? "true" : "false"), err) != DERMS_OK ||
		fleet_sql_commit(c, a, err) != DERMS_OK)
		goto fail;
	out->rows = (size_t) n;
	return DERMS_OK;
fail:
	fleet_sql_rollback(c);
	return err->code;
}
