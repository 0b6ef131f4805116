/*
 * server/migrate.c
 *	  Apply schema/NNNN_name.sql migrations once each, in order, and list
 *	  which are applied or pending.
 *
 *	  migrate_apply() reads and checksums every migration file first, then,
 *	  under a session advisory lock, compares them with schema_migrations:
 *	  a recorded migration whose file changed or vanished stops everything
 *	  before anything is applied.  Each pending file then runs in its own
 *	  transaction together with the INSERT that records it, so a failing
 *	  file leaves no trace and the ones before it stay applied.
 *
 * NOTES
 *	  Runs at startup (dermsd) and from dermsctl, never in request workers.
 *	  All memory lives in one arena per call.  Files are read once: the
 *	  bytes checksummed are the bytes executed.  The advisory lock is a
 *	  session lock, released on every return path (and by PostgreSQL if
 *	  the connection dies).  Notices raised by migration SQL go to the
 *	  connection's notice processor, which the caller owns.
 */
#include "migrate.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "arena.h"
#include "log.h"

#define MIG_CHECKSUM_LEN 64		/* SHA-256 in hex */

/* One NNNN_name.sql file, read into memory. */
struct mig_file
{
	int			version;
	const char *name;			/* file name */
	char	   *sql;			/* NUL-terminated contents */
	size_t		len;
	char		checksum[MIG_CHECKSUM_LEN + 1];
};

/* One row of schema_migrations. */
struct mig_record
{
	int			version;
	const char *name;
	const char *checksum;
	const char *applied_at;
};

/* A file and its record merged: what migrate_status reports. */
struct mig_item
{
	migrate_info info;
	const struct mig_file *file;	/* NULL when MISSING */
};

/* Everything one call works on; all of it lives in arena a. */
struct mig_run
{
	arena	   *a;
	PGconn	   *conn;
	const char *dir;
	struct mig_file *files;
	size_t		nfiles;
	struct mig_record *recs;
	size_t		nrecs;
	struct mig_item *items;
	size_t		nitems;
};

static bool mig_parse_name(const char *name, int *version);
static derms_rc mig_read_file(struct mig_run *run, const char *name,
							  struct mig_file *f, derms_err *err);
static derms_rc mig_scan(struct mig_run *run, derms_err *err);
static int	mig_file_cmp(const void *a, const void *b);
static derms_rc mig_sha256_hex(const char *data, size_t len,
							   char out[MIG_CHECKSUM_LEN + 1], derms_err *err);
static void mig_trim(char *s);
static derms_rc mig_db_error(PGconn *conn, const PGresult *res,
							 const char *what, derms_err *err);
static derms_rc mig_exec(PGconn *conn, const char *sql, const char *what,
						 derms_err *err);
static derms_rc mig_table_exists(PGconn *conn, bool *exists, derms_err *err);
static derms_rc mig_load_records(struct mig_run *run, derms_err *err);
static derms_rc mig_merge(struct mig_run *run, derms_err *err);
static derms_rc mig_check_history(const struct mig_run *run, derms_err *err);
static int	mig_error_line(const char *sql, const char *position);
static void mig_drain(PGconn *conn, PGresult *res);
static derms_rc mig_apply_one(PGconn *conn, const struct mig_file *f,
							  derms_err *err);
static void mig_rollback(PGconn *conn);

static const char mig_create_sql[] =
"CREATE TABLE schema_migrations ("
"  version integer PRIMARY KEY,"
"  name text NOT NULL,"
"  checksum text NOT NULL,"
"  applied_at timestamptz NOT NULL DEFAULT now())";

static const char mig_select_sql[] =
"SELECT version, name, checksum,"
"       to_char(applied_at AT TIME ZONE 'UTC',"
"               'YYYY-MM-DD HH24:MI:SS\"+00\"')"
"  FROM schema_migrations ORDER BY version";

static const char mig_insert_sql[] =
"INSERT INTO schema_migrations (version, name, checksum)"
" VALUES ($1::integer, $2, $3)";

const char *
migrate_state_name(migrate_state state)
{
	switch (state)
	{
		case MIGRATE_APPLIED:
			return "applied";
		case MIGRATE_PENDING:
			return "pending";
		case MIGRATE_CHANGED:
			return "changed";
		case MIGRATE_MISSING:
			return "missing";
	}
	return "unknown";
}

/*
 * Is name "NNNN_[a-z0-9_]+.sql"?  On success *version is NNNN.
 */
static bool
mig_parse_name(const char *name, int *version)
{
	size_t		len = strlen(name);
	int			v = 0;

	/* "0001" "_" at least one char ".sql" */
	if (len < 4 + 1 + 1 + 4 || strcmp(name + len - 4, ".sql") != 0)
		return false;
	for (int i = 0; i < 4; i++)
	{
		if (name[i] < '0' || name[i] > '9')
			return false;
		v = v * 10 + (name[i] - '0');
	}
	if (name[4] != '_')
		return false;
	for (size_t i = 5; i < len - 4; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	*version = v;
	return true;
}

static derms_rc
mig_sha256_hex(const char *data, size_t len, char out[MIG_CHECKSUM_LEN + 1],
			   derms_err *err)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen * 2 != MIG_CHECKSUM_LEN)
		return derms_err_set(err, DERMS_EIO, "could not compute SHA-256");
	for (unsigned int i = 0; i < mdlen; i++)
	{
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0x0f];
	}
	out[MIG_CHECKSUM_LEN] = '\0';
	return DERMS_OK;
}

/*
 * Read dir/name whole into the arena, refusing non-regular files, files
 * over MIGRATE_MAX_FILE bytes and NUL bytes (PQexec takes a C string).
 */
static derms_rc
mig_read_file(struct mig_run *run, const char *name, struct mig_file *f,
			  derms_err *err)
{
	char		path[PATH_MAX];
	struct stat st;
	size_t		got = 0;
	int			fd;
	int			e;

	if (snprintf(path, sizeof(path), "%s/%s", run->dir, name) >=
		(int) sizeof(path))
		return derms_err_set(err, DERMS_EINVAL,
							 "migration path \"%s/%s\" is too long",
							 run->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
	{
		e = errno;
		return derms_err_set(err, DERMS_EIO,
							 "could not open migration \"%s\": %s",
							 path, strerror(e));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		return derms_err_set(err, DERMS_EINVAL,
							 "migration \"%s\" is not a regular file", path);
	}
	if (st.st_size > MIGRATE_MAX_FILE)
	{
		close(fd);
		return derms_err_set(err, DERMS_ERANGE,
							 "migration \"%s\" is larger than %d bytes",
							 path, MIGRATE_MAX_FILE);
	}

	/* One byte more than the limit, to notice a file that grew. */
	f->sql = arena_alloc(run->a, (size_t) st.st_size + 2);
	if (f->sql == NULL)
	{
		close(fd);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	while (got < (size_t) st.st_size + 1)
	{
		ssize_t		n = read(fd, f->sql + got, (size_t) st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
		{
			e = errno;
			close(fd);
			return derms_err_set(err, DERMS_EIO,
								 "could not read migration \"%s\": %s",
								 path, strerror(e));
		}
		if (n == 0)
			break;
		got += (size_t) n;
	}
	close(fd);
	if (got != (size_t) st.st_size)
		return derms_err_set(err, DERMS_EIO,
							 "migration \"%s\" changed while being read", path);
	f->sql[got] = '\0';
	if (memchr(f->sql, '\0', got) != NULL)
		return derms_err_set(err, DERMS_EINVAL,
							 "migration \"%s\" contains a NUL byte", path);
	f->len = got;
	f->name = arena_strdup(run->a, name);
	if (f->name == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	return mig_sha256_hex(f->sql, f->len, f->checksum, err);
}

static int
mig_file_cmp(const void *a, const void *b)
{
	const struct mig_file *fa = a;
	const struct mig_file *fb = b;

	if (fa->version != fb->version)
		return fa->version < fb->version ? -1 : 1;
	return strcmp(fa->name, fb->name);
}

/*
 * Read every migration file of run->dir into run->files, sorted by
 * version.  Two files with one version are an error.
 */
static derms_rc
mig_scan(struct mig_run *run, derms_err *err)
{
	DIR		   *d;
	struct dirent *de;
	size_t		cap = 16;
	derms_rc	rc = DERMS_OK;
	int			e;

	d = opendir(run->dir);
	if (d == NULL)
	{
		e = errno;
		return derms_err_set(err, DERMS_EIO,
							 "could not open schema directory \"%s\": %s",
							 run->dir, strerror(e));
	}
	run->files = arena_calloc(run->a, cap, sizeof(*run->files));
	if (run->files == NULL)
	{
		closedir(d);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	for (;;)
	{
		int			version;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
		{
			if (errno != 0)
			{
				e = errno;
				rc = derms_err_set(err, DERMS_EIO,
								   "could not read schema directory \"%s\": %s",
								   run->dir, strerror(e));
			}
			break;
		}
		if (!mig_parse_name(de->d_name, &version))
			continue;
		if (run->nfiles == cap)
		{
			struct mig_file *grown;

			/* The old array stays in the arena; directories are small. */
			grown = arena_calloc(run->a, cap * 2, sizeof(*grown));
			if (grown == NULL)
			{
				rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
				break;
			}
			memcpy(grown, run->files, cap * sizeof(*grown));
			run->files = grown;
			cap *= 2;
		}
		run->files[run->nfiles].version = version;
		rc = mig_read_file(run, de->d_name, &run->files[run->nfiles], err);
		if (rc != DERMS_OK)
			break;
		run->nfiles++;
	}
	closedir(d);
	if (rc != DERMS_OK)
		return rc;

	qsort(run->files, run->nfiles, sizeof(*run->files), mig_file_cmp);
	for (size_t i = 1; i < run->nfiles; i++)
		if (run->files[i].version == run->files[i - 1].version)
			return derms_err_set(err, DERMS_EINVAL,
								 "duplicate migration version %04d: \"%s\" and \"%s\" in \"%s\"",
								 run->files[i].version,
								 run->files[i - 1].name, run->files[i].name,
								 run->dir);
	return DERMS_OK;
}

/* Drop trailing newlines and spaces (libpq messages end in "\n"). */
static void
mig_trim(char *s)
{
	size_t		n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/*
 * Fill err from a failed result (res may be NULL) as
 * "<what>: <PostgreSQL's message>", with SQLSTATE, detail, hint and
 * context in err->detail.
 */
static derms_rc
mig_db_error(PGconn *conn, const PGresult *res, const char *what,
			 derms_err *err)
{
	char		msg[DERMS_ERR_MSG_MAX];
	const char *primary = NULL;
	const char *sqlstate = NULL;
	const char *detail = NULL;
	const char *hint = NULL;
	const char *context = NULL;

	if (res != NULL)
	{
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
		hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
		context = PQresultErrorField(res, PG_DIAG_CONTEXT);
	}
	if (primary != NULL)
		snprintf(msg, sizeof(msg), "%s", primary);
	else if (res != NULL && *PQresultErrorMessage(res) != '\0')
		snprintf(msg, sizeof(msg), "%s", PQresultErrorMessage(res));
	else if (*PQerrorMessage(conn) != '\0')
		snprintf(msg, sizeof(msg), "%s", PQerrorMessage(conn));
	else
		snprintf(msg, sizeof(msg), "unexpected result status %s",
				 res ? PQresStatus(PQresultStatus(res)) : "(none)");
	mig_trim(msg);

	derms_err_set(err, DERMS_EDB, "%s: %s", what, msg);
	derms_err_detail(err, "SQLSTATE %s%s%s%s%s%s%s",
					 sqlstate ? sqlstate : "(none)",
					 detail ? "; detail: " : "", detail ? detail : "",
					 hint ? "; hint: " : "", hint ? hint : "",
					 context ? "; context: " : "", context ? context : "");
	return DERMS_EDB;
}

/* Run a statement that returns no rows. */
static derms_rc
mig_exec(PGconn *conn, const char *sql, const char *what, derms_err *err)
{
	PGresult   *res = PQexec(conn, sql);
	derms_rc	rc = DERMS_OK;

	if (res == NULL ||
		(PQresultStatus(res) != PGRES_COMMAND_OK &&
		 PQresultStatus(res) != PGRES_TUPLES_OK))
		rc = mig_db_error(conn, res, what, err);
	PQclear(res);
	return rc;
}

static derms_rc
mig_table_exists(PGconn *conn, bool *exists, derms_err *err)
{
	PGresult   *res;

	res = PQexec(conn,
				 "SELECT to_regclass('schema_migrations') IS NOT NULL");
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK ||
		PQntuples(res) != 1)
	{
		derms_rc	rc = mig_db_error(conn, res, "could not look for "
									  "table schema_migrations", err);

		PQclear(res);
		return rc;
	}
	*exists = (strcmp(PQgetvalue(res, 0, 0), "t") == 0);
	PQclear(res);
	return DERMS_OK;
}

/* Copy schema_migrations into run->recs, by version. */
static derms_rc
mig_load_records(struct mig_run *run, derms_err *err)
{
	PGresult   *res;
	int			n;

	res = PQexec(run->conn, mig_select_sql);
	if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		derms_rc	rc = mig_db_error(run->conn, res,
									  "could not read schema_migrations", err);

		PQclear(res);
		return rc;
	}
	n = PQntuples(res);
	run->recs = arena_calloc(run->a, (size_t) n + 1, sizeof(*run->recs));
	if (run->recs == NULL)
	{
		PQclear(res);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++)
	{
		struct mig_record *r = &run->recs[i];

		r->version = atoi(PQgetvalue(res, i, 0));
		r->name = arena_strdup(run->a, PQgetvalue(res, i, 1));
		r->checksum = arena_strdup(run->a, PQgetvalue(res, i, 2));
		r->applied_at = arena_strdup(run->a, PQgetvalue(res, i, 3));
		if (r->name == NULL || r->checksum == NULL || r->applied_at == NULL)
		{
			PQclear(res);
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		}
	}
	run->nrecs = (size_t) n;
	PQclear(res);
	return DERMS_OK;
}

/*
 * Merge files and records (both sorted by version) into run->items.
 */
static derms_rc
mig_merge(struct mig_run *run, derms_err *err)
{
	size_t		i = 0;
	size_t		j = 0;

	run->items = arena_calloc(run->a, run->nfiles + run->nrecs + 1,
							  sizeof(*run->items));
	if (run->items == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	run->nitems = 0;
	while (i < run->nfiles || j < run->nrecs)
	{
		struct mig_item *it = &run->items[run->nitems++];
		const struct mig_file *f = i < run->nfiles ? &run->files[i] : NULL;
		const struct mig_record *r = j < run->nrecs ? &run->recs[j] : NULL;

		if (f != NULL && (r == NULL || f->version < r->version))
		{
			it->info.version = f->version;
			it->info.name = f->name;
			it->info.state = MIGRATE_PENDING;
			it->info.checksum = f->checksum;
			it->info.applied_at = NULL;
			it->file = f;
			i++;
		}
		else if (f == NULL || r->version < f->version)
		{
			it->info.version = r->version;
			it->info.name = r->name;
			it->info.state = MIGRATE_MISSING;
			it->info.checksum = r->checksum;
			it->info.applied_at = r->applied_at;
			it->file = NULL;
			j++;
		}
		else
		{
			it->info.version = f->version;
			it->info.name = f->name;
			it->info.state = strcmp(f->checksum, r->checksum) == 0 ?
				MIGRATE_APPLIED : MIGRATE_CHANGED;
			it->info.checksum = f->checksum;
			it->info.applied_at = r->applied_at;
			it->file = f;
			i++;
			j++;
		}
	}
	return DERMS_OK;
}

/* Applied history must match the files exactly. */
static derms_rc
mig_check_history(const struct mig_run *run, derms_err *err)
{
	for (size_t k = 0; k < run->nitems; k++)
	{
		const struct mig_item *it = &run->items[k];

		if (it->info.state == MIGRATE_CHANGED)
		{
			derms_err_set(err, DERMS_EINVAL,
						  "migration \"%s/%s\" was changed after it was applied",
						  run->dir, it->info.name);
			for (size_t j = 0; j < run->nrecs; j++)
				if (run->recs[j].version == it->info.version)
					derms_err_detail(err,
									 "recorded checksum %s, file checksum %s; put schema changes in a new migration",
									 run->recs[j].checksum, it->info.checksum);
			return DERMS_EINVAL;
		}
		if (it->info.state == MIGRATE_MISSING)
			return derms_err_set(err, DERMS_EINVAL,
								 "migration %04d (\"%s\") was applied but its file is missing from \"%s\"",
								 it->info.version, it->info.name, run->dir);
	}
	return DERMS_OK;
}

/*
 * Line number (1-based) of a 1-based character position in sql, as
 * PostgreSQL reports it in PG_DIAG_STATEMENT_POSITION; 0 when unknown.
 */
static int
mig_error_line(const char *sql, const char *position)
{
	long		pos;
	long		chars = 0;
	int			line = 1;
	char	   *end;

	if (position == NULL)
		return 0;
	errno = 0;
	pos = strtol(position, &end, 10);
	if (errno != 0 || *end != '\0' || pos < 1)
		return 0;
	for (const char *p = sql; *p != '\0'; p++)
	{
		/* count characters, not bytes: skip UTF-8 continuation bytes */
		if (((unsigned char) *p & 0xC0) == 0x80)
			continue;
		if (++chars >= pos)
			break;
		if (*p == '\n')
			line++;
	}
	return line;
}

/*
 * A migration that started COPY leaves the connection in copy mode: end
 * it and read the remaining results so the connection is usable again.
 */
static void
mig_drain(PGconn *conn, PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COPY_IN)
		PQputCopyEnd(conn, "COPY FROM STDIN is not supported in migrations");
	else if (st == PGRES_COPY_OUT)
	{
		char	   *buf;

		while (PQgetCopyData(conn, &buf, 0) > 0)
			PQfreemem(buf);
	}
	else
		return;
	while ((res = PQgetResult(conn)) != NULL)
		PQclear(res);
}

static void
mig_rollback(PGconn *conn)
{
	PGresult   *res;

	if (PQtransactionStatus(conn) == PQTRANS_IDLE ||
		PQtransactionStatus(conn) == PQTRANS_UNKNOWN)
		return;
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
}

/*
 * BEGIN; the file; INSERT INTO schema_migrations; COMMIT.  On failure the
 * transaction is rolled back and err names the file.
 */
static derms_rc
mig_apply_one(PGconn *conn, const struct mig_file *f, derms_err *err)
{
	char		what[DERMS_ERR_MSG_MAX];
	char		version[16];
	const char *params[3];
	PGresult   *res;
	ExecStatusType st;
	derms_rc	rc;

	snprintf(what, sizeof(what), "could not apply migration \"%s\"", f->name);
	rc = mig_exec(conn, "BEGIN", what, err);
	if (rc != DERMS_OK)
		return rc;

	res = PQexec(conn, f->sql);
	st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT)
	{
		mig_drain(conn, res);
		PQclear(res);
		mig_rollback(conn);
		return derms_err_set(err, DERMS_EINVAL,
							 "could not apply migration \"%s\": COPY is not supported in migrations",
							 f->name);
	}
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		st != PGRES_EMPTY_QUERY)
	{
		int			line = 0;

		if (res != NULL)
			line = mig_error_line(f->sql, PQresultErrorField(res,
												 PG_DIAG_STATEMENT_POSITION));
		if (line > 0)
			snprintf(what, sizeof(what),
					 "could not apply migration \"%s\": line %d",
					 f->name, line);
		rc = mig_db_error(conn, res, what, err);
		PQclear(res);
		mig_rollback(conn);
		return rc;
	}
	PQclear(res);

	if (PQtransactionStatus(conn) != PQTRANS_INTRANS)
	{
		/* It ran COMMIT or ROLLBACK itself: some of it may be committed. */
		mig_rollback(conn);
		derms_err_set(err, DERMS_EINVAL,
					  "could not apply migration \"%s\": it ends its own transaction",
					  f->name);
		derms_err_detail(err,
						 "remove BEGIN/COMMIT/ROLLBACK from it; part of it may be committed, check the schema by hand");
		return DERMS_EINVAL;
	}

	snprintf(version, sizeof(version), "%d", f->version);
	params[0] = version;
	params[1] = f->name;
	params[2] = f->checksum;
	res = PQexecParams(conn, mig_insert_sql, 3, NULL, params, NULL, NULL, 0);
	if (res == NULL || PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		snprintf(what, sizeof(what),
				 "could not record migration \"%s\"", f->name);
		rc = mig_db_error(conn, res, what, err);
		PQclear(res);
		mig_rollback(conn);
		return rc;
	}
	PQclear(res);

	/* Deferred constraints fail here, still naming the file. */
	rc = mig_exec(conn, "COMMIT", what, err);
	if (rc == DERMS_OK && PQtransactionStatus(conn) != PQTRANS_IDLE)
		rc = derms_err_set(err, DERMS_EDB,
						   "%s: COMMIT did not end the transaction", what);
	if (rc != DERMS_OK)
	{
		mig_rollback(conn);
		return rc;
	}
	return DERMS_OK;
}

derms_rc
migrate_apply(PGconn *conn, const char *schema_dir, int *napplied,
			  derms_err *err)
{
	struct mig_run run = {0};
	bool		locked = false;
	bool		exists = false;
	derms_rc	rc;

	assert(conn != NULL);
	assert(schema_dir != NULL);

	if (napplied != NULL)
		*napplied = 0;
	if (PQstatus(conn) != CONNECTION_OK)
		return derms_err_set(err, DERMS_EDB,
							 "could not apply migrations: not connected to the database");
	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		return derms_err_set(err, DERMS_EINVAL,
							 "could not apply migrations: the connection is inside a transaction");

	run.a = arena_create(0);
	if (run.a == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	run.conn = conn;
	run.dir = schema_dir;

	/* Read everything before touching the database. */
	rc = mig_scan(&run, err);
	if (rc != DERMS_OK)
		goto done;

	rc = mig_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
				  "could not take the migration lock", err);
	if (rc != DERMS_OK)
		goto done;
	locked = true;

	rc = mig_table_exists(conn, &exists, err);
	if (rc == DERMS_OK && !exists)
		rc = mig_exec(conn, mig_create_sql,
					  "could not create table schema_migrations", err);
	if (rc == DERMS_OK)
		rc = mig_load_records(&run, err);
	if (rc == DERMS_OK)
		rc = mig_merge(&run, err);
	if (rc == DERMS_OK)
		rc = mig_check_history(&run, err);
	if (rc != DERMS_OK)
		goto done;

	for (size_t k = 0; k < run.nitems; k++)
	{
		const struct mig_item *it = &run.items[k];

		if (it->info.state != MIGRATE_PENDING)
			continue;
		rc = mig_apply_one(conn, it->file, err);
		if (rc != DERMS_OK)
			break;
		log_msg(LOG_INFO, "applied migration %s", it->file->name);
		if (napplied != NULL)
			(*napplied)++;
	}

done:
	if (locked)
	{
		PGresult   *res;

		mig_rollback(conn);
		res = PQexec(conn, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")");
		if (res == NULL || PQresultStatus(res) != PGRES_TUPLES_OK)
			log_msg(LOG_WARNING,
					"could not release the migration lock: %s",
					PQerrorMessage(conn));
		PQclear(res);
	}
	arena_destroy(run.a);
	return rc;
}

derms_rc
migrate_status(PGconn *conn, const char *schema_dir, migrate_status_cb cb,
			   void *arg, derms_err *err)
{
	struct mig_run run = {0};
	bool		exists = false;
	derms_rc	rc;

	assert(conn != NULL);
	assert(schema_dir != NULL);
	assert(cb != NULL);

	run.a = arena_create(0);
	if (run.a == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	run.conn = conn;
	run.dir = schema_dir;

	rc = mig_scan(&run, err);
	if (rc == DERMS_OK)
		rc = mig_table_exists(conn, &exists, err);
	if (rc == DERMS_OK && exists)
		rc = mig_load_records(&run, err);
	if (rc == DERMS_OK)
		rc = mig_merge(&run, err);
	if (rc == DERMS_OK)
		for (size_t k = 0; k < run.nitems; k++)
			cb(&run.items[k].info, arg);
	arena_destroy(run.a);
	return rc;
}
