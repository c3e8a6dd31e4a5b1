/*
 * store_sqlite.c - the store on SQLite: the embedded, single-machine
 * default.  WAL mode and a busy timeout let several processes share the
 * file; every write happens inside BEGIN IMMEDIATE, which takes the write
 * lock up front, so a claim can never race another claim.
 */
#include "store.h"
#include "store_int.h"
#include "dl.h"
#include "exits.h"
#include "log.h"
#include "owner.h"
#include "storage.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* libsqlite3, loaded by store_sqlite_open() (dl.h): the functions this
 * driver calls.  A tool on PostgreSQL then maps neither the library nor
 * its pages of relocated function tables. */
#define SQ_FUNCS(X) \
	X(sqlite3_bind_double) X(sqlite3_bind_int) X(sqlite3_bind_int64) \
	X(sqlite3_bind_text) X(sqlite3_busy_timeout) X(sqlite3_changes) \
	X(sqlite3_clear_bindings) X(sqlite3_close) X(sqlite3_column_count) \
	X(sqlite3_column_double) X(sqlite3_column_int) X(sqlite3_column_int64) \
	X(sqlite3_column_text) X(sqlite3_column_type) X(sqlite3_errcode) X(sqlite3_errmsg) \
	X(sqlite3_exec) X(sqlite3_extended_errcode) X(sqlite3_finalize) X(sqlite3_free) \
	X(sqlite3_get_autocommit) X(sqlite3_last_insert_rowid) X(sqlite3_open_v2) \
	X(sqlite3_prepare_v2) X(sqlite3_prepare_v3) X(sqlite3_reset) X(sqlite3_step) \
	X(sqlite3_system_errno)
static struct {
	SQ_FUNCS(DL_POINTER)
} sl;

/* Load libsqlite3, once: 0, or MD_EXIT_UNAVAILABLE after an error. */
static int sq_load(void)
{
	static int loaded;
	void *h;

	if (loaded)
		return 0;
	if (!(h = dl_open(SONAME_SQLITE3, "a SQLite database")))
		return MD_EXIT_UNAVAILABLE;
#define X(f) if (!DL_SYM(sl, h, SONAME_SQLITE3, f)) return MD_EXIT_UNAVAILABLE;
	SQ_FUNCS(X)
#undef X
	loaded = 1;
	return 0;
}

#define FMT "'%Y-%m-%dT%H:%M:%fZ'"
#define NOW "strftime(" FMT ", 'now')"

static const struct store_driver sqlite_driver;

#define SQ_CACHE 24

struct sq {
	struct store base;
	sqlite3 *db;
	char *path;
	struct {                /* statements run once per row of a batch */
		const char *sql;        /* a string constant: compared by address */
		sqlite3_stmt *st;
	} cache[SQ_CACHE];
	int quiet;              /* store_quiet: the caller says outages itself */
};

/* ENOSPC or EDQUOT: the disk (or the quota) is full. */
static int errno_full(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* Say msg (freed), a temporary failure: an error, or only at debug level
 * while the caller is quiet. */
static void sq_say(const struct sq *q, char *msg)
{
	logkv(q->quiet ? LOG_DEBUG : LOG_ERROR, msg, (char *)NULL);
	free(msg);
}

/*
 * Log a failure and return its exit code: a full disk and a busy or
 * locked database are temporary (75), a corrupt file or one that is not a
 * database is MD_EXIT_CORRUPT, anything else a bug (70).  A full disk is
 * named as such: SQLite says "disk I/O error" when a write of its WAL
 * index fails with ENOSPC.
 */
static int sq_fail(struct sq *q, const char *what)
{
	int code = sl.sqlite3_extended_errcode(q->db), e = sl.sqlite3_system_errno(q->db);

	switch (code & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		error("database '%s' is corrupt: %s: %s; run 'md-db check'", q->path, what,
		      sl.sqlite3_errmsg(q->db));
		return MD_EXIT_CORRUPT;
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_CANTOPEN:
		if (errno_full(e) || (code & 0xff) == SQLITE_FULL) {
			sq_say(q, xstrfmt("database '%s': %s: disk full: %s", q->path, what,
					  errno_full(e) ? strerror(e) : sl.sqlite3_errmsg(q->db)));
			return MD_EXIT_TEMPFAIL;
		}
		/* FALLTHROUGH */
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PROTOCOL:
		sq_say(q, xstrfmt("database '%s': %s: %s", q->path, what, sl.sqlite3_errmsg(q->db)));
		return MD_EXIT_TEMPFAIL;
	}
	error("database '%s': %s: %s", q->path, what, sl.sqlite3_errmsg(q->db));
	return MD_EXIT_SOFTWARE;
}

static int sq_exec(struct sq *q, const char *sql)
{
	char *msg = NULL;

	if (sl.sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = sq_fail(q, sql);
		sl.sqlite3_free(msg);
		return rc;
	}
	return 0;
}

static int sq_prep(struct sq *q, const char *sql, sqlite3_stmt **st)
{
	if (sl.sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sq_fail(q, "prepare");
	}
	return 0;
}

/* The same for SQL written into sql, which is released. */
static int sq_prep_sb(struct sq *q, struct strbuf *sql, sqlite3_stmt **st)
{
	int rc = sq_prep(q, sql->buf, st);

	sb_release(sql);
	return rc;
}

/*
 * A statement prepared once per connection, for those run once per row of
 * a big batch: `sql` must be a string constant (the cache knows it by its
 * address).  The caller resets it after use (sq_release), never finalizes.
 */
static int sq_cached(struct sq *q, const char *sql, sqlite3_stmt **st)
{
	int i;

	for (i = 0; i < SQ_CACHE && q->cache[i].sql; i++)
		if (q->cache[i].sql == sql) {
			*st = q->cache[i].st;
			return 0;
		}
	if (i == SQ_CACHE) {
		error("internal: more than %d cached statements", SQ_CACHE);
		return MD_EXIT_SOFTWARE;
	}
	if (sl.sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return sq_fail(q, "prepare");
	}
	q->cache[i].sql = sql;
	q->cache[i].st = *st;
	return 0;
}

static void sq_release(sqlite3_stmt *st)
{
	sl.sqlite3_reset(st);
	sl.sqlite3_clear_bindings(st);
}

static int sq_begin(struct sq *q)
{
	return sq_exec(q, "BEGIN IMMEDIATE");
}

static int sq_commit(struct sq *q)
{
	return sq_exec(q, "COMMIT");
}

static void sq_rollback(struct sq *q)
{
	if (!sl.sqlite3_get_autocommit(q->db))
		sl.sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Step a statement that returns no row (or whose rows we ignore). */
static int sq_done(struct sq *q, sqlite3_stmt *st)
{
	int r;

	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		;
	if (r != SQLITE_DONE)
		return sq_fail(q, "step");
	return 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sl.sqlite3_column_text(st, i);
	return t ? (const char *)t : NULL;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const char *t = col_text(st, i);
	return t ? xstrdup(t) : NULL;
}

/* ---------- open, migrations ---------- */

static int sq_version(struct sq *q, int *version)
{
	sqlite3_stmt *st;
	int r;

	*version = 0;
	if (sl.sqlite3_prepare_v2(q->db, "SELECT coalesce(max(version), 0) FROM schema_migrations",
			       -1, &st, NULL) != SQLITE_OK)
		/* no table: not migrated; a schema that cannot be read: why */
		return sl.sqlite3_errcode(q->db) == SQLITE_ERROR ? 1 : sq_fail(q, "read schema version");
	r = sl.sqlite3_step(st);
	if (r == SQLITE_ROW)
		*version = sl.sqlite3_column_int(st, 0);
	sl.sqlite3_finalize(st);
	return r == SQLITE_ROW ? 0 : sq_fail(q, "read schema version");
}

static void sq_close(struct store *s)
{
	struct sq *q = (struct sq *)s;

	for (int i = 0; i < SQ_CACHE && q->cache[i].sql; i++)
		sl.sqlite3_finalize(q->cache[i].st);
	sl.sqlite3_close(q->db);
	free(q->path);
	free(q);
}

static int sq_schema_version(struct store *s, int *version)
{
	return sq_version((struct sq *)s, version);
}

static int sq_migrate_lock(struct store *s)
{
	/* BEGIN IMMEDIATE holds the write lock already */
	return sq_exec((struct sq *)s, "CREATE TABLE IF NOT EXISTS schema_migrations ("
		       "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		       "applied_at TEXT NOT NULL DEFAULT (" NOW "))");
}

static int sq_migration_apply(struct store *s, const struct migration *m)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_exec(q, m->sql)) ||
	    (rc = sq_prep(q, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", &st)))
		return rc;
	sl.sqlite3_bind_int(st, 1, m->version);
	sl.sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_migrations_applied(struct store *s, applied_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int version, rc, r;

	if ((rc = sq_version(q, &version)) == 1)
		return 0;
	if (rc || (rc = sq_prep(q, "SELECT version, applied_at FROM schema_migrations", &st)))
		return rc;
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sl.sqlite3_column_int(st, 0), col_text(st, 1));
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "read migrations");
	sl.sqlite3_finalize(st);
	return rc;
}

/*
 * A statement of the open: its failure is the open's.  The first reader
 * of a WAL database makes its WAL index, PATH-shm, which a full disk
 * refuses: the message names it.
 */
static int sq_setup(struct sq *q, const char *sql)
{
	if (sl.sqlite3_exec(q->db, sql, NULL, NULL, NULL) == SQLITE_OK)
		return 0;
	switch (sl.sqlite3_extended_errcode(q->db)) {
	case SQLITE_IOERR_SHMOPEN:
	case SQLITE_IOERR_SHMSIZE:
	case SQLITE_IOERR_SHMMAP: {
		char *what = xstrfmt("open: cannot make its WAL index '%s-shm'", q->path);
		int rc = sq_fail(q, what);
		free(what);
		return rc;
	}
	}
	return sq_fail(q, "open");
}

/*
 * May this process write the database and the files SQLite keeps beside
 * it (owner.h)?  Root on another user's database is refused before it
 * makes a -wal, a -shm or a lock file the owner could not open.
 */
static int sq_check_owner(const char *path)
{
	static const char *const side[] = { "", "-wal", "-shm", "-janitor.lock" };
	int rc = 0;

	for (size_t i = 0; !rc && i < sizeof(side) / sizeof(side[0]); i++) {
		char *p = xstrfmt("%s%s", path, side[i]);
		rc = owner_check("database", p);
		free(p);
	}
	return rc ? MD_EXIT_CONFIG : 0;
}

/* A new database is never readable by others, whatever the umask; SQLite
 * gives its -wal and -shm the database's mode. */
static int sq_create(const char *path)
{
	int fd;

	if (mkdir_parents(path)) {
		error_errno("cannot create the directory of '%s'", path);
		return MD_EXIT_CONFIG;
	}
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (fd < 0 && errno != EEXIST) {
		error_errno("cannot create database '%s'", path);
		return MD_EXIT_CONFIG;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

int store_sqlite_open(const char *path, int flags, struct store **out)
{
	struct sq *q;
	int rc;

	if (!*path) {
		error("empty SQLite database path");
		return MD_EXIT_CONFIG;
	}
	if ((rc = sq_check_owner(path)))
		return rc;
	if (!(flags & STORE_CREATE) && access(path, F_OK)) {
		error("database '%s' does not exist: run 'md-db init'", path);
		return MD_EXIT_CONFIG;
	}
	if ((flags & STORE_CREATE) && (rc = sq_create(path)))
		return rc;
	if ((rc = sq_load()))
		return rc;
	q = xcalloc(1, sizeof(*q));
	q->base.drv = &sqlite_driver;
	q->path = xstrdup(path);
	q->base.where = q->path;
	if (sl.sqlite3_open_v2(path, &q->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
			    ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0), NULL) != SQLITE_OK) {
		rc = sq_fail(q, "open");
		sq_close(&q->base);
		return rc;
	}
	sl.sqlite3_busy_timeout(q->db, 60000);
	/* cell_size_check: a damaged page is found when it is read, rather
	 * than its garbage trusted */
	if ((rc = sq_setup(q, "PRAGMA journal_mode = WAL")) ||
	    (rc = sq_setup(q, "PRAGMA synchronous = NORMAL")) ||
	    (rc = sq_setup(q, "PRAGMA foreign_keys = ON")) ||
	    (rc = sq_setup(q, "PRAGMA cell_size_check = ON"))) {
		sq_close(&q->base);
		return rc;
	}
	*out = &q->base;
	return 0;
}

/* ---------- ingest ---------- */

static int sq_media_exists(struct store *s, const char *sha)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int r, rc;

	if ((rc = sq_prep(q, "SELECT 1 FROM media WHERE sha256 = ?", &st)))
		return -rc;
	sl.sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	r = sl.sqlite3_step(st);
	sl.sqlite3_finalize(st);
	if (r == SQLITE_ROW)
		return 1;
	if (r == SQLITE_DONE)
		return 0;
	return -sq_fail(q, "look up media");
}

/*
 * The job that makes a new one for (media, profile) unnecessary: the
 * newest available, running or succeeded one.  Returns 1 and fills id,
 * queue, state when found, 0 when not, or -exitcode.
 */
static const char live_job_sql[] =
	"SELECT id, queue, state FROM jobs WHERE media = ? AND profile = ? "
	"AND state IN ('available', 'running', 'succeeded') ORDER BY id DESC LIMIT 1";

static int sq_live_job(struct sq *q, const char *media, const char *profile,
		       int64_t *id, char **queue, char **state)
{
	sqlite3_stmt *st;
	int r, rc;

	if ((rc = sq_cached(q, live_job_sql, &st)))
		return -rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	r = sl.sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*id = sl.sqlite3_column_int64(st, 0);
		*queue = col_dup(st, 1);
		*state = col_dup(st, 2);
	}
	sq_release(st);
	if (r == SQLITE_ROW)
		return 1;
	if (r == SQLITE_DONE)
		return 0;
	return -sq_fail(q, "look up jobs");
}

static int sq_insert_job(struct sq *q, const char *media, const char *profile,
			 const char *queue, int priority, double run_at,
			 int max_attempts, const char *trace_id, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	static const char sql[] =
		"INSERT INTO jobs (media, profile, queue, priority, run_at, "
		"max_attempts, trace_id) VALUES (?1, ?2, ?3, ?4, "
		"CASE WHEN ?5 > 0 THEN strftime(" FMT ", ?5, 'unixepoch') ELSE " NOW " END, "
		"?6, ?7)";

	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, profile, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 3, queue, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int(st, 4, priority);
	sl.sqlite3_bind_double(st, 5, run_at);
	sl.sqlite3_bind_int(st, 6, max_attempts);
	sl.sqlite3_bind_text(st, 7, trace_id, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	sq_release(st);
	*id = sl.sqlite3_last_insert_rowid(q->db);
	return rc;
}

/*
 * The error of a failed post: each dead profile of the media with its
 * reason, "mp4: why; thumb: why", the newest dead job of each profile, in
 * the order the jobs were made, of the dead profiles that have no
 * succeeded job (md-finalize's round: sq_dead_round).  *err is NULL when
 * there is none.
 */
static int sq_dead_reasons(struct sq *q, const char *media, char **err)
{
	sqlite3_stmt *st;
	struct strbuf sb = STRBUF_INIT;
	int rc, r;

	/* a bare column beside max() is taken from the row of the max */
	rc = sq_prep(q,
		"SELECT d.profile || ': ' || coalesce(d.last_error, 'failed'), max(d.id) FROM jobs d "
		"WHERE d.media = ?1 AND d.state = 'dead' AND NOT EXISTS ("
		"  SELECT 1 FROM jobs s WHERE s.media = ?1 AND s.profile = d.profile "
		"  AND s.state = 'succeeded') GROUP BY d.profile ORDER BY 2", &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		if (sb.len)
			sb_adds(&sb, "; ");
		sb_adds(&sb, col_text(st, 0));
	}
	if (r != SQLITE_DONE) {
		rc = sq_fail(q, "read dead jobs");
		sl.sqlite3_finalize(st);
		sb_release(&sb);
		return rc;
	}
	sl.sqlite3_finalize(st);
	*err = sb.len ? sb_detach(&sb, NULL) : NULL;
	sb_release(&sb);
	return 0;
}

static int sq_media_verdict(struct store *s, const char *media, int64_t *total,
			    int64_t *open, char **dead)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_dead_reasons(q, media, dead)) ||
	    (rc = sq_prep(q, "SELECT count(*), coalesce(sum(finalized_at IS NULL), 0) "
			  "FROM jobs WHERE media = ?1", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	if (sl.sqlite3_step(st) == SQLITE_ROW) {
		*total = sl.sqlite3_column_int64(st, 0);
		*open = sl.sqlite3_column_int64(st, 1);
	} else {
		rc = sq_fail(q, "read jobs");
	}
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_tags_add(struct store *s, int64_t post, char *const *tags, int ntags)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *ins = NULL, *link = NULL;
	int rc;

	if ((rc = sq_prep(q, "INSERT INTO tags (name) VALUES (?) ON CONFLICT (name) DO NOTHING", &ins)) ||
	    (rc = sq_prep(q, "INSERT OR IGNORE INTO post_tags (post_id, tag_id) "
			  "SELECT ?, id FROM tags WHERE name = ?", &link)))
		goto out;
	for (int i = 0; i < ntags; i++) {
		sl.sqlite3_reset(ins);
		sl.sqlite3_bind_text(ins, 1, tags[i], -1, SQLITE_STATIC);
		if ((rc = sq_done(q, ins)))
			goto out;
		sl.sqlite3_reset(link);
		sl.sqlite3_bind_int64(link, 1, post);
		sl.sqlite3_bind_text(link, 2, tags[i], -1, SQLITE_STATIC);
		if ((rc = sq_done(q, link)))
			goto out;
	}
out:
	sl.sqlite3_finalize(ins);
	sl.sqlite3_finalize(link);
	return rc;
}

static int sq_media_add(struct store *s, const struct media_info *m, int *is_new)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "INSERT INTO media (sha256, kind, mime, format, ext, bytes, width, "
			  "height, duration, probe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
			  "ON CONFLICT (sha256) DO NOTHING", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, m->sha, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, kind_name(m->kind), -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 3, m->mime, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 4, m->format, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 5, m->ext, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int64(st, 6, m->bytes);
	sl.sqlite3_bind_int(st, 7, m->width);
	sl.sqlite3_bind_int(st, 8, m->height);
	if (m->duration > 0)
		sl.sqlite3_bind_double(st, 9, m->duration);
	sl.sqlite3_bind_text(st, 10, m->probe_json ? m->probe_json : "{}", -1, SQLITE_STATIC);
	if (!(rc = sq_done(q, st)))
		*is_new = sl.sqlite3_changes(q->db) > 0;
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_user_id(struct store *s, const char *user, int64_t *id)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "INSERT INTO users (username) VALUES (?1) ON CONFLICT (username) "
			  "DO UPDATE SET username = excluded.username RETURNING id", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sl.sqlite3_step(st) == SQLITE_ROW)
		*id = sl.sqlite3_column_int64(st, 0);
	else
		rc = sq_fail(q, "add user");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_post_of(struct store *s, const char *user, const char *media, struct post_found *p)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int r, rc;

	memset(p, 0, sizeof(*p));
	if ((rc = sq_prep(q, "SELECT p.id, p.status, m.kind FROM posts p "
			  "JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media "
			  "WHERE u.username = ?1 AND p.media = ?2 ORDER BY p.id LIMIT 1", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, media, -1, SQLITE_STATIC);
	if ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		p->id = sl.sqlite3_column_int64(st, 0);
		(void)snprintf(p->status, sizeof(p->status), "%s", col_text(st, 1));
		p->kind = kind_from_name(col_text(st, 2));
	} else if (r != SQLITE_DONE) {
		rc = sq_fail(q, "look up posts");
	}
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_jobs_add_missing(struct store *s, const char *media, const struct new_job *v,
			       int n, const char *trace_id, int *added)
{
	struct sq *q = (struct sq *)s;
	int rc;

	*added = 0;
	for (int i = 0; i < n; i++) {
		int64_t id;
		char *qn = NULL, *state = NULL;
		int found = sq_live_job(q, media, v[i].profile, &id, &qn, &state);

		free(qn);
		free(state);
		if (found < 0)
			return -found;
		if (found)
			continue;
		if ((rc = sq_insert_job(q, media, v[i].profile, v[i].queue, 0, 0, v[i].max_attempts,
					trace_id, &id)))
			return rc;
		++*added;
	}
	return 0;
}

static int sq_post_add(struct store *s, int64_t owner, const char *media, const char *caption,
		       const char *status, const char *err, const char *trace_id, int64_t *id)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "INSERT INTO posts (owner, media, caption, status, error, trace_id) "
			  "VALUES (?, ?, ?, ?, ?, ?)", &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, owner);
	sl.sqlite3_bind_text(st, 2, media, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 3, caption, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 4, status, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 5, err, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 6, trace_id, -1, SQLITE_STATIC);
	if (!(rc = sq_done(q, st)))
		*id = sl.sqlite3_last_insert_rowid(q->db);
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_feed_bump(struct store *s)
{
	return sq_exec((struct sq *)s, "UPDATE feed_state SET version = version + 1, changed_at = " NOW);
}

/* ---------- enqueue ---------- */

static int sq_refs_resolve(struct store *s, char *const *refs, const int64_t *post_ids, int n,
			   int traces, ref_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *by_post = NULL, *by_media = NULL;
	int rc;

	if ((rc = sq_prep(q, "SELECT p.media, m.kind, p.trace_id FROM posts p "
			  "JOIN media m ON m.sha256 = p.media WHERE p.id = ?", &by_post)) ||
	    (rc = sq_prep(q, "SELECT m.sha256, m.kind, CASE WHEN ?2 THEN (SELECT trace_id "
			  "FROM posts WHERE media = m.sha256 ORDER BY id DESC LIMIT 1) END "
			  "FROM media m WHERE m.sha256 = ?1", &by_media)))
		goto out;
	for (int i = 0; i < n && !rc; i++) {
		sqlite3_stmt *st = post_ids[i] ? by_post : by_media;
		int r;

		sl.sqlite3_reset(st);
		if (post_ids[i]) {
			sl.sqlite3_bind_int64(st, 1, post_ids[i]);
		} else {
			sl.sqlite3_bind_text(st, 1, refs[i], -1, SQLITE_STATIC);
			sl.sqlite3_bind_int(st, 2, traces);
		}
		if ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
			cb(arg, i, col_text(st, 0), kind_from_name(col_text(st, 1)), col_text(st, 2));
		else if (r != SQLITE_DONE)
			rc = sq_fail(q, "resolve");
	}
out:
	sl.sqlite3_finalize(by_post);
	sl.sqlite3_finalize(by_media);
	return rc;
}

static int sq_jobs_live(struct store *s, char *const *media, int nm, char *const *profiles,
			int np, live_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;

	for (int m = 0; m < nm; m++)
		for (int p = 0; p < np; p++) {
			char *queue = NULL, *state = NULL;
			int64_t id;
			int found = sq_live_job(q, media[m], profiles[p], &id, &queue, &state);

			if (found > 0)
				cb(arg, m, p, id, queue, state);
			free(queue);
			free(state);
			if (found < 0)
				return -found;
		}
	return 0;
}

static int sq_jobs_insert(struct store *s, struct job_row *v, int n, int priority,
			  double run_at)
{
	struct sq *q = (struct sq *)s;
	int rc = 0;

	for (int i = 0; i < n && !rc; i++)
		rc = sq_insert_job(q, v[i].media, v[i].profile, v[i].queue, priority, run_at,
				   v[i].max_attempts, v[i].trace_id, &v[i].id);
	return rc;
}

/* ---------- worker ---------- */

/* " AND col IN (ids...)" when there are ids; nothing otherwise. */
static void add_id_filter(struct strbuf *sql, const char *col, const int64_t *ids, int n)
{
	if (!n)
		return;
	sb_addf(sql, " AND %s IN (", col);
	for (int i = 0; i < n; i++)
		sb_addf(sql, "%s%lld", i ? ", " : "", (long long)ids[i]);
	sb_adds(sql, ")");
}

/* Not a job of a paused queue (md-job pause) */
#define NOT_PAUSED "NOT EXISTS (SELECT 1 FROM queue_pauses p WHERE p.queue = jobs.queue)"

static void add_queue_filter(struct strbuf *sql, int nqueues, int first_param)
{
	if (!nqueues)
		return;
	sb_adds(sql, " AND queue IN (");
	for (int i = 0; i < nqueues; i++)
		sb_addf(sql, "%s?%d", i ? ", " : "", first_param + i);
	sb_adds(sql, ")");
}

/* The claimed rows of a claim, into v (room for n); *count set. */
static int sq_claim_rows(struct sq *q, const char *worker, char *const *queues, int nqueues,
			 int n, double lease, struct job *v, int *count)
{
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st = NULL;
	int rc, r;

	sb_adds(&sql, "UPDATE jobs SET state = 'running', attempts = attempts + 1, "
		"claims = claims + 1, locked_by = ?1, started_at = " NOW ", progress = NULL, "
		"lease_until = strftime(" FMT ", julianday('now') + ?2 / 86400.0) "
		"WHERE id IN (SELECT id FROM jobs WHERE state = 'available' "
		"AND run_at <= " NOW " AND " NOT_PAUSED);
	add_queue_filter(&sql, nqueues, 4);
	sb_adds(&sql, " ORDER BY priority, run_at, id LIMIT ?3) "
		"RETURNING id, media, profile, queue, trace_id, attempts, max_attempts, claims");
	rc = sq_prep_sb(q, &sql, &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_text(st, 1, worker, -1, SQLITE_STATIC);
	sl.sqlite3_bind_double(st, 2, lease);
	sl.sqlite3_bind_int(st, 3, n);
	for (int i = 0; i < nqueues; i++)
		sl.sqlite3_bind_text(st, 4 + i, queues[i], -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW && *count < n) {
		struct job *j = &v[(*count)++];
		j->id = sl.sqlite3_column_int64(st, 0);
		xsnprintf(j->media, sizeof(j->media), "%s", col_text(st, 1));
		j->profile = col_dup(st, 2);
		j->queue = col_dup(st, 3);
		j->trace_id = col_dup(st, 4);
		j->attempts = sl.sqlite3_column_int(st, 5);
		j->max_attempts = sl.sqlite3_column_int(st, 6);
		j->claim = sl.sqlite3_column_int64(st, 7);
	}
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		rc = sq_fail(q, "claim");
	sl.sqlite3_finalize(st);
	return rc;
}

/* What the runner needs of each claimed job's media. */
static int sq_claim_media(struct sq *q, struct job *v, int count)
{
	static const char sql[] = "SELECT kind, format, ext, duration, "
		"CASE WHEN json_valid(probe) THEN json_extract(probe, '$.source') END "
		"FROM media WHERE sha256 = ?";
	sqlite3_stmt *st;
	int rc = 0;

	for (int i = 0; i < count && !rc; i++) {
		if ((rc = sq_cached(q, sql, &st)))
			break;
		sl.sqlite3_bind_text(st, 1, v[i].media, -1, SQLITE_STATIC);
		if (sl.sqlite3_step(st) == SQLITE_ROW) {
			v[i].kind = kind_from_name(col_text(st, 0));
			v[i].format = col_dup(st, 1);
			v[i].ext = col_dup(st, 2);
			v[i].duration = sl.sqlite3_column_double(st, 3);
			if (sl.sqlite3_column_type(st, 4) == SQLITE_TEXT)
				v[i].source = col_dup(st, 4);
		} else {
			rc = sq_fail(q, "read media");
		}
		sq_release(st);
	}
	return rc;
}

/* A post moves to processing when the first of its jobs starts. */
static int sq_claim_posts(struct sq *q, const struct job *v, int count)
{
	static const char sql[] = "UPDATE posts SET status = 'processing', updated_at = " NOW
		" WHERE status = 'pending' AND media = ?";
	sqlite3_stmt *st;
	int rc = 0;

	for (int i = 0; i < count && !rc; i++) {
		if ((rc = sq_cached(q, sql, &st)))
			break;
		sl.sqlite3_bind_text(st, 1, v[i].media, -1, SQLITE_STATIC);
		rc = sq_done(q, st);
		sq_release(st);
	}
	return rc;
}

static int sq_claim(struct store *s, const char *worker, char *const *queues, int nqueues,
		    int n, double lease, struct job **jobs, int *njobs)
{
	struct sq *q = (struct sq *)s;
	struct job *v = xcalloc(n > 0 ? n : 1, sizeof(*v));
	int rc, count = 0;

	if ((rc = sq_begin(q))) {
		free(v);
		return rc;
	}
	if (!(rc = sq_claim_rows(q, worker, queues, nqueues, n, lease, v, &count)) &&
	    !(rc = sq_claim_media(q, v, count)) && !(rc = sq_claim_posts(q, v, count)))
		rc = sq_commit(q);
	if (rc) {
		sq_rollback(q);
		for (int i = 0; i < count; i++)
			job_free(&v[i]);
		free(v);
		return rc;
	}
	*jobs = v;
	*njobs = count;
	return 0;
}

/* Binds a statement's parameters after ?1 (the job) and ?2 (the claim)
 * for run i. */
typedef void run_bind_fn(sqlite3_stmt *st, int i, const void *arg);

/*
 * In one transaction, step sql (cached) once for each of the n runs, with
 * ?1 the job, ?2 the claim and what bind adds; changed[i] (may be NULL)
 * says whether run i's row changed, *nchanged (may be NULL) counts them.
 */
static int sq_each_run(struct sq *q, const char *sql, const struct fence *runs, int n,
		       run_bind_fn *bind, const void *arg, char *changed, int *nchanged)
{
	sqlite3_stmt *st;
	int rc, c = 0;

	if ((rc = sq_begin(q)))
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		if ((rc = sq_cached(q, sql, &st)))
			break;
		sl.sqlite3_bind_int64(st, 1, runs[i].job);
		sl.sqlite3_bind_int64(st, 2, runs[i].claim);
		if (bind)
			bind(st, i, arg);
		if (!(rc = sq_done(q, st)) && sl.sqlite3_changes(q->db) > 0) {
			c++;
			if (changed)
				changed[i] = 1;
		}
		sq_release(st);
	}
	if (!rc)
		rc = sq_commit(q);
	if (rc) {
		sq_rollback(q);
		c = 0;
		if (changed)
			memset(changed, 0, (size_t)n);
	}
	if (nchanged)
		*nchanged = c;
	return rc;
}

/* The row of a run that still holds its job. */
#define RUN_IS "id = ?1 AND claims = ?2 AND state = 'running'"

static void bind_lease(sqlite3_stmt *st, int i, const void *arg)
{
	(void)i;
	sl.sqlite3_bind_double(st, 3, *(const double *)arg);
}

static int sq_heartbeat(struct store *s, double lease, const struct fence *runs, int n,
			char *held)
{
	static const char sql[] = "UPDATE jobs SET lease_until = strftime(" FMT
		", julianday('now') + ?3 / 86400.0) WHERE " RUN_IS;

	return sq_each_run((struct sq *)s, sql, runs, n, bind_lease, &lease, held, NULL);
}

static void bind_seconds(sqlite3_stmt *st, int i, const void *arg)
{
	sl.sqlite3_bind_double(st, 3, ((const double *)arg)[i]);
}

static int sq_jobs_progress(struct store *s, const struct fence *runs, const double *seconds,
			    int n)
{
	static const char sql[] = "UPDATE jobs SET progress = ?3 WHERE " RUN_IS;

	return sq_each_run((struct sq *)s, sql, runs, n, bind_seconds, seconds, NULL, NULL);
}

static void bind_result(sqlite3_stmt *st, int i, const void *arg)
{
	const char *r = ((char *const *)arg)[i];

	sl.sqlite3_bind_text(st, 3, r ? r : "{}", -1, SQLITE_STATIC);
}

static int sq_jobs_succeed(struct store *s, const struct fence *runs, char *const *results,
			   int n, int *applied)
{
	static const char sql[] = "UPDATE jobs SET state = 'succeeded', result = ?3, "
		"finished_at = " NOW ", lease_until = NULL, last_error = NULL WHERE " RUN_IS;

	return sq_each_run((struct sq *)s, sql, runs, n, bind_result, results, NULL, applied);
}

static int sq_job_settle(struct store *s, const struct fence *run, enum settle how,
			 const char *err, double delay, int expired, int *applied)
{
	struct sq *q = (struct sq *)s;
	/* ?3: 0 retry, 1 dead, 2 release (enum settle) */
	static const char sql[] = "UPDATE jobs SET "
		"state = CASE ?3 WHEN 1 THEN 'dead' ELSE 'available' END, "
		"attempts = CASE ?3 WHEN 2 THEN max(attempts - 1, 0) ELSE attempts END, "
		"run_at = CASE ?3 WHEN 0 THEN strftime(" FMT ", julianday('now') + ?5 / 86400.0) "
		"  WHEN 2 THEN " NOW " ELSE run_at END, "
		"finished_at = CASE ?3 WHEN 1 THEN " NOW " END, "
		"last_error = CASE ?3 WHEN 2 THEN last_error ELSE ?4 END, lease_until = NULL "
		"WHERE " RUN_IS " AND (?6 = 0 OR lease_until < " NOW ")";
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, run->job);
	sl.sqlite3_bind_int64(st, 2, run->claim);
	sl.sqlite3_bind_int(st, 3, (int)how);
	sl.sqlite3_bind_text(st, 4, err, -1, SQLITE_STATIC);
	sl.sqlite3_bind_double(st, 5, delay);
	sl.sqlite3_bind_int(st, 6, expired);
	if (!(rc = sq_done(q, st)))
		*applied = sl.sqlite3_changes(q->db) > 0;
	sq_release(st);
	return rc;
}

/* The running jobs sql (cached) selects, ?1 bound to a1 and ?2 to max:
 * id, claims, attempts, max_attempts, locked_by. */
static int sq_read_runs(struct sq *q, const char *sql, const char *a1, int max,
			struct expired **v, int *n)
{
	sqlite3_stmt *st;
	int rc, r;

	*n = 0;
	*v = xcalloc((size_t)(max > 0 ? max : 1), sizeof(**v));
	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int(st, 2, max);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW && *n < max) {
		struct expired *e = &(*v)[(*n)++];
		e->run.job = sl.sqlite3_column_int64(st, 0);
		e->run.claim = sl.sqlite3_column_int64(st, 1);
		e->attempts = sl.sqlite3_column_int(st, 2);
		e->max_attempts = sl.sqlite3_column_int(st, 3);
		e->worker = col_dup(st, 4);
	}
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		rc = sq_fail(q, "read running jobs");
	sq_release(st);
	return rc;
}

static int sq_jobs_expired(struct store *s, const char *not_worker, int max, struct expired **v,
			   int *n)
{
	static const char sql[] = "SELECT id, claims, attempts, max_attempts, locked_by FROM jobs "
		"WHERE state = 'running' AND lease_until < " NOW
		" AND (?1 IS NULL OR locked_by IS NOT ?1) ORDER BY id LIMIT ?2";

	return sq_read_runs((struct sq *)s, sql, not_worker, max, v, n);
}

/* A worker runs at most its slots and backlog: this bounds neither. */
#define WORKER_RUNS_MAX 10000

static int sq_jobs_of_worker(struct store *s, const char *worker, struct expired **v, int *n)
{
	static const char sql[] = "SELECT id, claims, attempts, max_attempts, locked_by FROM jobs "
		"WHERE state = 'running' AND locked_by = ?1 ORDER BY id LIMIT ?2";

	return sq_read_runs((struct sq *)s, sql, worker, WORKER_RUNS_MAX, v, n);
}

/* ---------- live workers ---------- */

static int sq_worker_upsert(struct store *s, const struct worker_reg *r)
{
	struct sq *q = (struct sq *)s;
	static const char sql[] = "INSERT INTO workers (id, host, pid, queues, slots, version) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET host = excluded.host, "
		"pid = excluded.pid, queues = excluded.queues, slots = excluded.slots, "
		"version = excluded.version, started_at = " NOW ", beat_at = " NOW ", gone_at = NULL";
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, r->host, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int64(st, 3, r->pid);
	sl.sqlite3_bind_text(st, 4, r->queues, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int(st, 5, r->slots);
	sl.sqlite3_bind_text(st, 6, r->version, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	sq_release(st);
	return rc;
}

/* Step sql (cached) with ?1 = id; *changed (may be NULL): a row changed. */
static int sq_worker_exec(struct sq *q, const char *sql, const char *id, int *changed)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (!(rc = sq_done(q, st)) && changed)
		*changed = sl.sqlite3_changes(q->db) > 0;
	sq_release(st);
	return rc;
}

static int sq_queue_pause(struct store *s, const char *queue, int pause, const char *by,
			  int *changed)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_cached(q, pause ? "INSERT INTO queue_pauses (queue, paused_by) VALUES (?1, ?2) "
			    "ON CONFLICT (queue) DO NOTHING" :
			    "DELETE FROM queue_pauses WHERE queue = ?1", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, queue, -1, SQLITE_STATIC);
	if (pause)
		sl.sqlite3_bind_text(st, 2, by, -1, SQLITE_STATIC);
	if (!(rc = sq_done(q, st)))
		*changed = sl.sqlite3_changes(q->db) > 0;
	sq_release(st);
	return rc;
}

static int sq_worker_beat(struct store *s, const char *id, int *alive)
{
	static const char sql[] = "UPDATE workers SET beat_at = " NOW
		" WHERE id = ?1 AND gone_at IS NULL";

	return sq_worker_exec((struct sq *)s, sql, id, alive);
}

static int sq_worker_delete(struct store *s, const char *id)
{
	static const char sql[] = "DELETE FROM workers WHERE id = ?1";

	return sq_worker_exec((struct sq *)s, sql, id, NULL);
}

static int sq_workers_gone(struct store *s, double after, const char *self, char ***ids, int *n)
{
	struct sq *q = (struct sq *)s;
	static const char sql[] = "UPDATE workers SET gone_at = " NOW " WHERE gone_at IS NULL "
		"AND beat_at < strftime(" FMT ", julianday('now') - ?1 / 86400.0) "
		"AND (?2 IS NULL OR id <> ?2) RETURNING id";
	sqlite3_stmt *st;
	int rc, r;

	*ids = NULL;
	*n = 0;
	if ((rc = sq_cached(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_double(st, 1, after);
	sl.sqlite3_bind_text(st, 2, self, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		*ids = xrealloc(*ids, (size_t)(*n + 1) * sizeof(**ids));
		(*ids)[(*n)++] = col_dup(st, 0);
	}
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "find gone workers");
	sq_release(st);
	return rc;
}

static int sq_queue_counts(struct store *s, char *const *queues, int nqueues,
			   int64_t *avail, int64_t *running, double *next_run)
{
	struct sq *q = (struct sq *)s;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc;

	sb_adds(&sql, "SELECT coalesce(sum(state = 'available' AND run_at <= " NOW "), 0), "
		"coalesce(sum(state = 'running'), 0), "
		"(julianday(min(CASE WHEN state = 'available' AND attempts > 0 AND run_at > " NOW
		" THEN run_at END)) - 2440587.5) * 86400.0 "
		"FROM jobs WHERE state IN ('available', 'running') AND " NOT_PAUSED);
	add_queue_filter(&sql, nqueues, 1);
	rc = sq_prep_sb(q, &sql, &st);
	if (rc)
		return rc;
	for (int i = 0; i < nqueues; i++)
		sl.sqlite3_bind_text(st, 1 + i, queues[i], -1, SQLITE_STATIC);
	if (sl.sqlite3_step(st) == SQLITE_ROW) {
		*avail = sl.sqlite3_column_int64(st, 0);
		*running = sl.sqlite3_column_int64(st, 1);
		*next_run = sl.sqlite3_column_double(st, 2);
	} else {
		rc = sq_fail(q, "count jobs");
	}
	sl.sqlite3_finalize(st);
	return rc;
}

/* ---------- finalize ---------- */

/* Append s as a JSON string (NULL: null). */
static void sb_add_json_str(struct strbuf *sb, const char *s)
{
	if (!s) {
		sb_adds(sb, "null");
		return;
	}
	sb_addch(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_addf(sb, "\\%c", c);
		else if (c < 0x20)
			sb_addf(sb, "\\u%04x", c);
		else
			sb_addch(sb, c);
	}
	sb_addch(sb, '"');
}

/* The batch as one JSON array bound to a statement: media[i], or with
 * status and err, [media[i], status[i], err[i]]. */
static void sb_add_batch(struct strbuf *sb, char *const *media, char *const *status,
			 char *const *err, int n)
{
	sb_addch(sb, '[');
	for (int i = 0; i < n; i++) {
		sb_adds(sb, i ? (status ? ",[" : ",") : (status ? "[" : ""));
		sb_add_json_str(sb, media[i]);
		if (status) {
			sb_addch(sb, ',');
			sb_add_json_str(sb, status[i]);
			sb_addch(sb, ',');
			sb_add_json_str(sb, err[i]);
			sb_addch(sb, ']');
		}
	}
	sb_addch(sb, ']');
}

/* A statement bound to the batch (sb_add_batch) as ?1: each row it returns
 * to row(st, arg), if set. */
static int sq_batch_rows(struct sq *q, const char *what, const char *sql, char *const *media,
			 char *const *status, char *const *err, int n,
			 void (*row)(sqlite3_stmt *, void *), void *arg)
{
	struct strbuf js = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, sql, &st)))
		return rc;
	sb_add_batch(&js, media, status, err, n);
	sl.sqlite3_bind_text(st, 1, js.buf, (int)js.len, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		if (row)
			row(st, arg);
	if (r != SQLITE_DONE)
		rc = sq_fail(q, what);
	sl.sqlite3_finalize(st);
	sb_release(&js);
	return rc;
}

struct media_rows {
	media_cb cb;
	void *arg;
};

/* A row to a media_cb: media, then an id when there are three columns,
 * then a text. */
static void media_row(sqlite3_stmt *st, void *arg)
{
	struct media_rows *m = arg;
	int three = sl.sqlite3_column_count(st) > 2;

	m->cb(m->arg, col_text(st, 0), three ? sl.sqlite3_column_int64(st, 1) : 0,
	      col_text(st, three ? 2 : 1));
}

static int sq_batch(struct sq *q, const char *what, const char *sql, char *const *media,
		    char *const *status, char *const *err, int n, media_cb cb, void *arg)
{
	struct media_rows m = { cb, arg };

	return sq_batch_rows(q, what, sql, media, status, err, n, cb ? media_row : NULL, &m);
}

#define IN_BATCH "IN (SELECT value FROM json_each(?1))"

/* One statement on the jobs of a media, bound as ?1. */
static int sq_media_exec(struct sq *q, const char *sql, const char *media)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_finalize_pick(struct store *s, int max_jobs, int max_media, media_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	/* a walk of the unfinalized index, not a scan of every job */
	if ((rc = sq_prep(q, "SELECT media, ext FROM ("
			  "  SELECT j.media AS media, m.ext AS ext, j.id AS id FROM jobs j "
			  "  JOIN media m ON m.sha256 = j.media "
			  "  WHERE j.finalized_at IS NULL AND j.state IN ('succeeded', 'dead', 'cancelled') "
			  "  AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.media = j.media "
			  "    AND k.state IN ('available', 'running')) "
			  "  ORDER BY j.id LIMIT ?1) "
			  "GROUP BY media ORDER BY min(id) LIMIT ?2", &st)))
		return rc;
	sl.sqlite3_bind_int(st, 1, max_jobs);
	sl.sqlite3_bind_int(st, 2, max_media);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, col_text(st, 0), 0, col_text(st, 1));
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "find finished media");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_renditions_register(struct store *s, char *const *media, int n)
{
	/* ordered by id: the newest success of a profile is written last */
	return sq_batch((struct sq *)s, "register renditions",
		"INSERT INTO renditions (media, profile, storage_key, bytes, metadata) "
		"SELECT media, profile, json_extract(result, '$.key'), "
		"coalesce(json_extract(result, '$.bytes'), 0), result FROM jobs "
		"WHERE media " IN_BATCH " AND finalized_at IS NULL AND state = 'succeeded' "
		"AND json_extract(result, '$.key') IS NOT NULL ORDER BY id "
		"ON CONFLICT (media, profile) DO UPDATE SET storage_key = excluded.storage_key, "
		"bytes = excluded.bytes, metadata = excluded.metadata, created_at = " NOW,
		media, NULL, NULL, n, NULL, NULL);
}

static int sq_dead_round(struct store *s, char *const *media, int n, media_cb cb, void *arg)
{
	/* a bare column beside max() is taken from the row of the max */
	return sq_batch((struct sq *)s, "read dead jobs",
		"SELECT media, profile || ': ' || coalesce(last_error, 'failed') FROM ("
		"  SELECT media, profile, last_error, max(id) AS id FROM jobs "
		"  WHERE media " IN_BATCH " AND finalized_at IS NULL AND state = 'dead' "
		"  GROUP BY media, profile) ORDER BY media, id", media, NULL, NULL, n, cb, arg);
}

struct settle_rows {
	settle_cb cb;
	void *arg;
};

static void settle_row(sqlite3_stmt *st, void *arg)
{
	struct settle_rows *r = arg;

	r->cb(r->arg, col_text(st, 0), sl.sqlite3_column_int64(st, 1), col_text(st, 2), col_text(st, 3));
}

static int sq_posts_settle(struct store *s, char *const *media, char *const *status,
			   char *const *err, int n, settle_cb cb, void *arg)
{
	struct settle_rows r = { cb, arg };

	return sq_batch_rows((struct sq *)s, "update posts",
		"UPDATE posts SET status = b.value ->> 1, error = b.value ->> 2, updated_at = " NOW
		" FROM json_each(?1) AS b WHERE posts.media = b.value ->> 0 "
		"AND posts.status IN ('pending', 'processing') "
		"RETURNING media, id, status, coalesce(trace_id, '')",
		media, status, err, n, settle_row, &r);
}

static int sq_jobs_stamp(struct store *s, char *const *media, int n)
{
	return sq_batch((struct sq *)s, "stamp jobs",
		"UPDATE jobs SET finalized_at = " NOW " WHERE media " IN_BATCH " "
		"AND finalized_at IS NULL AND state IN ('succeeded', 'dead', 'cancelled')",
		media, NULL, NULL, n, NULL, NULL);
}

/* ---------- the hook outbox ---------- */

static int sq_hook_add(struct store *s, const int64_t *posts, char *const *keys, char *const *status,
		       int n)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "INSERT INTO hook_outbox (post_id, status, key) VALUES (?1, ?2, ?3)", &st)))
		return rc;
	for (int i = 0; i < n && !rc; i++) {
		sl.sqlite3_reset(st);
		sl.sqlite3_bind_int64(st, 1, posts[i]);
		sl.sqlite3_bind_text(st, 2, status[i], -1, SQLITE_STATIC);
		sl.sqlite3_bind_text(st, 3, keys[i], -1, SQLITE_STATIC);
		rc = sq_done(q, st);
	}
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_hook_claim(struct store *s, double lease, struct hook_call *c, int *found)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, "UPDATE hook_outbox SET attempts = attempts + 1, "
			  "run_at = strftime(" FMT ", julianday('now') + ?1 / 86400.0) "
			  "WHERE id = (SELECT id FROM hook_outbox WHERE run_at <= " NOW " "
			  "ORDER BY run_at, id LIMIT 1) "
			  "RETURNING id, post_id, status, key, attempts", &st)))
		return rc;
	sl.sqlite3_bind_double(st, 1, lease);
	r = sl.sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*found = 1;
		c->id = sl.sqlite3_column_int64(st, 0);
		c->post_id = sl.sqlite3_column_int64(st, 1);
		xsnprintf(c->status, sizeof(c->status), "%s", col_text(st, 2));
		xsnprintf(c->key, sizeof(c->key), "%s", col_text(st, 3));
		c->attempts = sl.sqlite3_column_int(st, 4);
	} else if (r != SQLITE_DONE) {
		rc = sq_fail(q, "claim a hook");
	}
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_hook_settle(struct store *s, int64_t id, int attempts, double delay, const char *err)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	rc = sq_prep(q, delay < 0 ? "DELETE FROM hook_outbox WHERE id = ?1 AND attempts = ?2" :
		     "UPDATE hook_outbox SET run_at = strftime(" FMT ", julianday('now') + ?3 / 86400.0), "
		     "last_error = ?4 WHERE id = ?1 AND attempts = ?2", &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_int64(st, 1, id);
	sl.sqlite3_bind_int(st, 2, attempts);
	if (delay >= 0) {
		sl.sqlite3_bind_double(st, 3, delay);
		sl.sqlite3_bind_text(st, 4, err, -1, SQLITE_STATIC);
	}
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

/* ---------- feed ---------- */

/* The page's query: only the filters that are set, so that the planner
 * seeks the index of the order (posts_status_newest, posts_owner_newest,
 * posts_newest) to the cursor and reads from there. */
static void sq_feed_sql(struct strbuf *sql, const struct feed_query *fq)
{
	const char *dir = fq->oldest_first ? "" : " DESC";

	sb_adds(sql,
		"SELECT p.id, u.username, p.caption, p.status, p.created_at, p.media, m.kind, "
		"p.trace_id, "
		"(SELECT json_group_array(name) FROM (SELECT t.name FROM post_tags pt "
		"  JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id ORDER BY t.name)), "
		"(SELECT json_group_object(r.profile, ?1 || r.storage_key) FROM renditions r "
		"  WHERE r.media = p.media), "
		"p.error, "
		"(SELECT json_group_array(json_object('profile', r.profile, 'url', ?1 || r.storage_key, "
		"  'bytes', r.bytes, 'metadata', CASE WHEN json_valid(r.metadata) THEN json(r.metadata) END)) "
		"  FROM (SELECT * FROM renditions WHERE media = p.media ORDER BY profile) r) "
		"FROM posts p JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media WHERE 1");
	if (fq->status)
		sb_adds(sql, " AND p.status = ?2");
	if (fq->user)
		sb_adds(sql, " AND p.owner = (SELECT id FROM users WHERE username = ?3)");
	if (fq->tag)
		sb_adds(sql, " AND EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = p.id "
			"AND pt.tag_id = (SELECT id FROM tags WHERE name = ?4))");
	if (fq->before)
		sb_addf(sql, " AND (p.created_at, p.id) %c (SELECT created_at, id FROM posts WHERE id = ?5)",
			fq->oldest_first ? '>' : '<');
	if (fq->media)
		sb_adds(sql, " AND p.media = ?7");
	add_id_filter(sql, "p.id", fq->post_ids, fq->npost_ids);
	sb_addf(sql, " ORDER BY p.created_at%s, p.id%s LIMIT ?6", dir, dir);
}

static int sq_feed_page(struct store *s, const struct feed_query *fq, int limit, feed_cb cb,
			void *arg)
{
	struct sq *q = (struct sq *)s;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, r;

	sq_feed_sql(&sql, fq);
	rc = sq_prep_sb(q, &sql, &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_text(st, 1, fq->base_url, -1, SQLITE_STATIC);
	if (fq->status)
		sl.sqlite3_bind_text(st, 2, fq->status, -1, SQLITE_STATIC);
	if (fq->user)
		sl.sqlite3_bind_text(st, 3, fq->user, -1, SQLITE_STATIC);
	if (fq->tag)
		sl.sqlite3_bind_text(st, 4, fq->tag, -1, SQLITE_STATIC);
	if (fq->before)
		sl.sqlite3_bind_int64(st, 5, fq->before);
	sl.sqlite3_bind_int(st, 6, limit);
	if (fq->media)
		sl.sqlite3_bind_text(st, 7, fq->media, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		struct feed_row row = {
			.post_id = sl.sqlite3_column_int64(st, 0),
			.user = col_text(st, 1),
			.caption = col_text(st, 2),
			.status = col_text(st, 3),
			.created_at = col_text(st, 4),
			.media = col_text(st, 5),
			.kind = col_text(st, 6),
			.trace_id = col_text(st, 7),
			.tags_json = col_text(st, 8),
			.renditions_json = col_text(st, 9),
			.error = col_text(st, 10),
			.rendition_list_json = col_text(st, 11),
		};
		if ((rc = cb(arg, &row)))
			break;
	}
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(q, "read feed");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_feed_version(struct store *s, int64_t *version)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "SELECT version FROM feed_state WHERE id = 1", &st)))
		return rc;
	if (sl.sqlite3_step(st) == SQLITE_ROW)
		*version = sl.sqlite3_column_int64(st, 0);
	else
		rc = sq_fail(q, "read feed version");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_feed_tags(struct store *s, const char *status, tag_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	rc = sq_prep(q, "SELECT DISTINCT t.name FROM tags t JOIN post_tags pt ON pt.tag_id = t.id "
		     "JOIN posts p ON p.id = pt.post_id WHERE (?1 IS NULL OR p.status = ?1) "
		     "ORDER BY t.name", &st);
	if (rc)
		return rc;
	if (status)
		sl.sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		if ((rc = cb(arg, col_text(st, 0))))
			break;
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(q, "read tags");
	sl.sqlite3_finalize(st);
	return rc;
}

/* ---------- job control ---------- */

#define JOB_COLUMNS \
	"id, media, profile, queue, state, priority, attempts, max_attempts, run_at, " \
	"created_at, started_at, finished_at, finalized_at, locked_by, lease_until, " \
	"last_error, trace_id, result"

static int sq_jobs(struct store *s, const struct job_query *jq, job_info_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, r;

	sb_adds(&sql, "SELECT " JOB_COLUMNS " FROM jobs "
		"WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR queue = ?2) "
		"AND (?3 IS NULL OR profile = ?3) AND (?4 IS NULL OR media = ?4)");
	add_id_filter(&sql, "id", jq->ids, jq->nids);
	sb_adds(&sql, " ORDER BY id DESC LIMIT ?5");
	rc = sq_prep_sb(q, &sql, &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_text(st, 1, jq->state, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, jq->queue, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 3, jq->profile, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 4, jq->media, -1, SQLITE_STATIC);
	sl.sqlite3_bind_int64(st, 5, jq->limit > 0 ? jq->limit : -1);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		struct job_info j = {
			.id = sl.sqlite3_column_int64(st, 0),
			.media = col_text(st, 1),
			.profile = col_text(st, 2),
			.queue = col_text(st, 3),
			.state = col_text(st, 4),
			.priority = sl.sqlite3_column_int(st, 5),
			.attempts = sl.sqlite3_column_int(st, 6),
			.max_attempts = sl.sqlite3_column_int(st, 7),
			.run_at = col_text(st, 8),
			.created_at = col_text(st, 9),
			.started_at = col_text(st, 10),
			.finished_at = col_text(st, 11),
			.finalized_at = col_text(st, 12),
			.locked_by = col_text(st, 13),
			.lease_until = col_text(st, 14),
			.last_error = col_text(st, 15),
			.trace_id = col_text(st, 16),
			.result = col_text(st, 17),
		};
		if ((rc = cb(arg, &j)))
			break;
	}
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(q, "read jobs");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_job_read(struct store *s, int64_t id, char **state, char **media, char **profile)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, "SELECT state, media, profile FROM jobs WHERE id = ?", &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, id);
	r = sl.sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*state = col_dup(st, 0);
		*media = col_dup(st, 1);
		*profile = col_dup(st, 2);
	} else if (r != SQLITE_DONE) {
		rc = sq_fail(q, "read job");
	}
	sl.sqlite3_finalize(st);
	return rc;
}

/* One statement on one job, bound as ?1. */
static int sq_job_exec(struct sq *q, const char *sql, int64_t id)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, id);
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_job_cancel(struct store *s, int64_t id)
{
	return sq_job_exec((struct sq *)s, "UPDATE jobs SET state = 'cancelled', finished_at = " NOW
			   ", lease_until = NULL, finalized_at = NULL WHERE id = ?1", id);
}

static int sq_job_reset(struct store *s, int64_t id)
{
	return sq_job_exec((struct sq *)s, "UPDATE jobs SET state = 'available', attempts = 0, "
			   "run_at = " NOW ", started_at = NULL, finished_at = NULL, "
			   "finalized_at = NULL, locked_by = NULL, lease_until = NULL, result = NULL "
			   "WHERE id = ?1", id);
}

static int sq_posts_reopen(struct store *s, const char *media, int64_t *n)
{
	struct sq *q = (struct sq *)s;
	int rc;

	rc = sq_media_exec(q, "UPDATE posts SET status = 'processing', error = NULL, "
			   "updated_at = " NOW " WHERE media = ?1 AND status = 'failed'", media);
	if (!rc)
		*n = sl.sqlite3_changes(q->db);
	return rc;
}

static int sq_dead_unfinalize(struct store *s, const char *media)
{
	return sq_media_exec((struct sq *)s, "UPDATE jobs SET finalized_at = NULL WHERE media = ?1 "
			     "AND state = 'dead' AND NOT EXISTS (SELECT 1 FROM jobs s "
			     "WHERE s.media = ?1 AND s.profile = jobs.profile "
			     "AND s.state = 'succeeded')", media);
}

static int sq_live_twin(struct store *s, int64_t not_id, const char *media, const char *profile,
			int64_t *id, char **state)
{
	char *queue = NULL;
	int found = sq_live_job((struct sq *)s, media, profile, id, &queue, state);

	free(queue);
	if (found > 0 && *id == not_id) {
		free(*state);
		*state = NULL;
	}
	return found < 0 ? -found : 0;
}

/* ---------- status ---------- */

static const char *const sq_status_sql[] = {
	[STATUS_JOBS] =
	"SELECT queue, state, count(*), "
	"  coalesce(sum(finished_at > strftime(" FMT ", 'now', '-1 minute')), 0), "
	"  coalesce(sum(finished_at > strftime(" FMT ", 'now', '-1 hour')), 0) "
	"FROM jobs GROUP BY queue, state ORDER BY queue, state",
	[STATUS_WAITING] =
	"SELECT queue, (julianday('now') - julianday(min(run_at))) * 86400 FROM jobs "
	"WHERE state = 'available' AND run_at <= " NOW " GROUP BY queue ORDER BY queue",
	[STATUS_RUNNING] =
	"SELECT j.id, j.queue, j.profile, j.media, j.locked_by, "
	"  (julianday('now') - julianday(j.started_at)) * 86400, "
	"  CASE WHEN j.progress IS NOT NULL AND m.duration > 0 "
	"    THEN min(j.progress / m.duration, 1.0) END "
	"FROM jobs j LEFT JOIN media m ON m.sha256 = j.media "
	"WHERE j.state = 'running' ORDER BY j.started_at, j.id",
	[STATUS_DEAD] =
	"SELECT id, queue, profile, media, last_error, finished_at FROM jobs "
	"WHERE state = 'dead' ORDER BY finished_at DESC, id DESC LIMIT ?1",
	[STATUS_POSTS] =
	"SELECT status, count(*) FROM posts GROUP BY status ORDER BY status",
	[STATUS_WORKERS] =
	"SELECT w.id, CASE WHEN w.gone_at IS NULL THEN 'running' ELSE 'gone' END, w.queues, w.slots, "
	"  (SELECT count(*) FROM jobs j WHERE j.state = 'running' AND j.locked_by = w.id), "
	"  (julianday('now') - julianday(w.beat_at)) * 86400, w.started_at, w.version "
	"FROM workers w WHERE w.gone_at IS NULL OR w.gone_at > strftime(" FMT ", 'now', '-1 day') "
	"ORDER BY w.id",
	[STATUS_PAUSED] =
	"SELECT queue, paused_by, paused_at, (julianday('now') - julianday(paused_at)) * 86400 "
	"FROM queue_pauses ORDER BY queue",
	[STATUS_REPLICAS] = NULL,     /* no replication */
};

/* A row of figure k. */
static void sq_status_item(sqlite3_stmt *st, enum status_kind k, struct status_item *it)
{
	switch (k) {
	case STATUS_JOBS:
		it->queue = col_text(st, 0);
		it->state = col_text(st, 1);
		it->n = sl.sqlite3_column_int64(st, 2);
		it->done_1m = sl.sqlite3_column_int64(st, 3);
		it->done_1h = sl.sqlite3_column_int64(st, 4);
		break;
	case STATUS_WAITING:
		it->queue = col_text(st, 0);
		it->seconds = sl.sqlite3_column_double(st, 1);
		break;
	case STATUS_RUNNING:
	case STATUS_DEAD:
		it->id = sl.sqlite3_column_int64(st, 0);
		it->queue = col_text(st, 1);
		it->profile = col_text(st, 2);
		it->media = col_text(st, 3);
		if (k == STATUS_RUNNING) {
			it->worker = col_text(st, 4);
			it->seconds = sl.sqlite3_column_double(st, 5);
			it->progress = sl.sqlite3_column_type(st, 6) == SQLITE_NULL ? -1
				: sl.sqlite3_column_double(st, 6);
		} else {
			it->error = col_text(st, 4);
			it->at = col_text(st, 5);
		}
		break;
	case STATUS_POSTS:
		it->state = col_text(st, 0);
		it->n = sl.sqlite3_column_int64(st, 1);
		break;
	case STATUS_WORKERS:
		it->worker = col_text(st, 0);
		it->state = col_text(st, 1);
		it->queue = col_text(st, 2);
		it->n = sl.sqlite3_column_int64(st, 3);
		it->id = sl.sqlite3_column_int64(st, 4);
		it->seconds = sl.sqlite3_column_double(st, 5);
		it->at = col_text(st, 6);
		it->profile = col_text(st, 7);
		break;
	case STATUS_PAUSED:
		it->queue = col_text(st, 0);
		it->worker = col_text(st, 1);
		it->at = col_text(st, 2);
		it->seconds = sl.sqlite3_column_double(st, 3);
		break;
	case STATUS_REPLICAS:   /* none: sq_status_sql has no statement */
		break;
	}
}

static int sq_status_figure(struct store *s, enum status_kind k, int dead_limit, status_cb cb,
			    void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r = SQLITE_DONE;

	if (!sq_status_sql[k])  /* a figure SQLite does not have */
		return 0;
	if ((rc = sq_prep(q, sq_status_sql[k], &st)))
		return rc;
	if (k == STATUS_DEAD)
		sl.sqlite3_bind_int(st, 1, dead_limit);
	while (!rc && (r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		struct status_item it = { .kind = k };

		sq_status_item(st, k, &it);
		rc = cb(arg, &it);
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(q, "read status");
	sl.sqlite3_finalize(st);
	return rc;
}

/* ---------- users ---------- */

static int sq_users(struct store *s, const char *name, user_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, "SELECT u.username, u.email, u.password_hash, u.created_at, "
			  "(SELECT count(*) FROM posts p WHERE p.owner = u.id) FROM users u "
			  "WHERE ?1 IS NULL OR u.username = ?1 ORDER BY u.username", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		struct user_info u = {
			.name = col_text(st, 0),
			.email = col_text(st, 1),
			.password_hash = col_text(st, 2),
			.created_at = col_text(st, 3),
			.posts = sl.sqlite3_column_int64(st, 4),
		};
		if ((rc = cb(arg, &u)))
			break;
	}
	if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
		rc = sq_fail(q, "read users");
	sl.sqlite3_finalize(st);
	return rc;
}

/* The count a query gives, into *n. */
static int sq_count(struct sq *q, const char *sql, const char *a1, const char *a2, int64_t *n)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, sql, &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, a1, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, a2, -1, SQLITE_STATIC);
	if (sl.sqlite3_step(st) == SQLITE_ROW)
		*n = sl.sqlite3_column_int64(st, 0);
	else
		rc = sq_fail(q, "read users");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_user_facts(struct store *s, const char *name, const char *email,
			 int64_t *exists, int64_t *taken, int64_t *posts)
{
	struct sq *q = (struct sq *)s;
	int rc;

	if ((rc = sq_count(q, "SELECT count(*) FROM users WHERE username = ?1", name, NULL,
			   exists)) ||
	    (email && (rc = sq_count(q, "SELECT count(*) FROM users WHERE email = ?1 "
				     "AND username <> ?2", email, name, taken))))
		return rc;
	return sq_count(q, "SELECT count(*) FROM posts p JOIN users u ON u.id = p.owner "
			"WHERE u.username = ?1", name, NULL, posts);
}

static int sq_user_write(struct store *s, enum user_op op, const char *name, const char *email,
			 const char *hash)
{
	static const char *const sql[] = {
		[USER_ADD] = "INSERT INTO users (username, email, password_hash) "
			"VALUES (?1, ?2, ?3)",
		[USER_PASSWD] = "UPDATE users SET password_hash = ?3, email = coalesce(?2, email) "
			"WHERE username = ?1",
		[USER_DEL] = "DELETE FROM users WHERE username = ?1",
	};
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, sql[op], &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (op != USER_DEL) {
		sl.sqlite3_bind_text(st, 2, email, -1, SQLITE_STATIC);
		sl.sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	}
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

/* ---------- removing content ---------- */

static int sq_posts_pick(struct store *s, const struct post_selector *sel, post_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	struct strbuf sql = STRBUF_INIT;
	sqlite3_stmt *st;
	int rc, r;

	sb_adds(&sql, "SELECT p.id, p.media, u.username FROM posts p JOIN users u ON u.id = p.owner "
		"WHERE (?1 IS NULL OR u.username = ?1) AND (?2 IS NULL OR p.id IN "
		"(SELECT pt.post_id FROM post_tags pt JOIN tags t ON t.id = pt.tag_id "
		"WHERE t.name = ?2))");
	add_id_filter(&sql, "p.id", sel->ids, sel->nids);
	sb_adds(&sql, " ORDER BY p.id");
	rc = sq_prep_sb(q, &sql, &st);
	if (rc)
		return rc;
	sl.sqlite3_bind_text(st, 1, sel->user, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, sel->tag, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sl.sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 2));
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "read posts");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_posts_delete(struct store *s, const int64_t *ids, int n)
{
	struct strbuf sql = STRBUF_INIT;
	int rc;

	if (!n)
		return 0;
	sb_adds(&sql, "DELETE FROM posts WHERE true");
	add_id_filter(&sql, "id", ids, n);
	rc = sq_exec((struct sq *)s, sql.buf);
	sb_release(&sql);
	return rc;
}

static int sq_media_lock(struct store *s, const char *media, char ext[16])
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	ext[0] = '\0';
	if ((rc = sq_prep(q, "SELECT ext FROM media WHERE sha256 = ?1", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	if ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		(void)snprintf(ext, 16, "%s", col_text(st, 0));
	else if (r != SQLITE_DONE)
		rc = sq_fail(q, "read media");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_media_posts(struct store *s, const char *media, int64_t *n)
{
	return sq_count((struct sq *)s, "SELECT count(*) FROM posts WHERE media = ?1", media, NULL, n);
}

static int sq_media_jobs_delete(struct store *s, const char *media, job_row_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, "SELECT id, media, profile, state FROM jobs WHERE media = ?1 "
			  "ORDER BY id", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, media, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sl.sqlite3_column_int64(st, 0), col_text(st, 1), col_text(st, 2),
		   col_text(st, 3));
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "read jobs");
	sl.sqlite3_finalize(st);
	return rc ? rc : sq_media_exec(q, "DELETE FROM jobs WHERE media = ?1", media);
}

static int sq_media_delete(struct store *s, const char *media)
{
	struct sq *q = (struct sq *)s;
	int rc;

	if ((rc = sq_media_exec(q, "DELETE FROM renditions WHERE media = ?1", media)))
		return rc;
	return sq_media_exec(q, "DELETE FROM media WHERE sha256 = ?1", media);
}

static int sq_posts_reassign(struct store *s, const char *name, const char *other, post_cb cb,
			     void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc, r;

	if ((rc = sq_prep(q, "SELECT id, media FROM posts WHERE owner = "
			  "(SELECT id FROM users WHERE username = ?1) ORDER BY id", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((r = sl.sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sl.sqlite3_column_int64(st, 0), col_text(st, 1), other);
	if (r != SQLITE_DONE)
		rc = sq_fail(q, "read posts");
	sl.sqlite3_finalize(st);
	if (rc || (rc = sq_prep(q, "UPDATE posts SET updated_at = " NOW ", owner = "
				"(SELECT id FROM users WHERE username = ?2) WHERE owner = "
				"(SELECT id FROM users WHERE username = ?1)", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sl.sqlite3_bind_text(st, 2, other, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_job_delete_finalized(struct store *s, int64_t id, int64_t *n)
{
	struct sq *q = (struct sq *)s;
	int rc = sq_job_exec(q, "DELETE FROM jobs WHERE id = ?1 AND finalized_at IS NOT NULL", id);

	*n = rc ? 0 : sl.sqlite3_changes(q->db);
	return rc;
}

/* ---------- md-db check ---------- */

/* The tables and indexes of the migrations, as they stand at the last. */
static const char *const sq_objects[][2] = {
	{ "table", "users" }, { "table", "media" }, { "table", "posts" }, { "table", "tags" },
	{ "table", "post_tags" }, { "table", "jobs" }, { "table", "renditions" },
	{ "table", "feed_state" }, { "index", "posts_newest" }, { "index", "posts_status_newest" },
	{ "index", "posts_owner_newest" }, { "index", "posts_media" }, { "index", "post_tags_tag" },
	{ "index", "jobs_claim" }, { "index", "jobs_claim_queue" }, { "index", "jobs_media_profile" },
	{ "index", "jobs_unfinalized" }, { "index", "jobs_running" }, { "table", "hook_outbox" },
	{ "index", "hook_outbox_due" }, { "index", "hook_outbox_post" }, { "table", "workers" },
	{ "index", "workers_live" }, { "table", "queue_pauses" },
};

/* cb for each line of a row of findings but "ok" and section headers. */
static void sq_check_lines(char *text, const char *part, check_cb cb, void *arg, int *n)
{
	for (char *line = text, *end; line; line = end) {
		if ((end = strchr(line, '\n')))
			*end++ = '\0';
		if (*line && strcmp(line, "ok") && strncmp(line, "*** ", 4)) {
			cb(arg, part, line);
			(*n)++;
		}
	}
}

/*
 * Run a checking statement: a problem for each line of its rows (columns
 * joined by spaces) but "ok".  Damage that stops the statement itself is
 * a problem found too, unless its rows told of some already.
 */
static int sq_check_rows(struct sq *q, const char *sql, const char *part, check_cb cb, void *arg,
			 int *n)
{
	struct strbuf sb = STRBUF_INIT;
	sqlite3_stmt *st;
	int r, rc = 0, before = *n;

	if (sl.sqlite3_prepare_v2(q->db, sql, -1, &st, NULL) != SQLITE_OK) {
		st = NULL;
		r = sl.sqlite3_errcode(q->db);
	} else {
		while ((r = sl.sqlite3_step(st)) == SQLITE_ROW) {
			sb_reset(&sb);
			for (int i = 0; i < sl.sqlite3_column_count(st); i++)
				sb_addf(&sb, "%s%s", i ? " " : "", col_text(st, i) ? col_text(st, i) : "-");
			sq_check_lines(sb.buf, part, cb, arg, n);
		}
	}
	if (r != SQLITE_DONE && ((r & 0xff) == SQLITE_CORRUPT || (r & 0xff) == SQLITE_NOTADB)) {
		if (*n == before) {
			cb(arg, part, sl.sqlite3_errmsg(q->db));
			(*n)++;
		}
	} else if (r != SQLITE_DONE) {
		rc = sq_fail(q, part);
	}
	sl.sqlite3_finalize(st);
	sb_release(&sb);
	return rc;
}

static int sq_check(struct store *s, int objects, check_cb cb, void *arg, int *n)
{
	struct sq *q = (struct sq *)s;
	size_t nobj = sizeof(sq_objects) / sizeof(sq_objects[0]);
	int rc;

	*n = 0;
	/* on a damaged file the rest would only repeat that it is damaged */
	if ((rc = sq_check_rows(q, "PRAGMA integrity_check", "integrity", cb, arg, n)) || *n ||
	    (rc = sq_check_rows(q, "SELECT f.\"table\" || coalesce(' row ' || f.rowid, '') || "
				"': no row of ' || f.parent || ' it refers to' "
				"FROM pragma_foreign_key_check AS f", "foreign key", cb, arg, n)))
		return rc;
	for (size_t i = 0; objects && i < nobj; i++) {
		char *sql = xstrfmt("SELECT '%s ''%s'' is missing' WHERE NOT EXISTS (SELECT 1 FROM "
				    "sqlite_schema WHERE type = '%s' AND name = '%s')", sq_objects[i][0],
				    sq_objects[i][1], sq_objects[i][0], sq_objects[i][1]);
		rc = sq_check_rows(q, sql, sq_objects[i][0], cb, arg, n);
		free(sql);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---------- housekeeping (md-janitor) ---------- */

/* age seconds ago, bound as ?N */
#define AGO(n) "strftime(" FMT ", 'now', '-' || ?" n " || ' seconds')"
/* the media of p has no job left to run or to finalize */
#define IDLE_MEDIA(p) \
	"NOT EXISTS (SELECT 1 FROM jobs j WHERE j.media = " p ".media " \
	"AND (j.state IN ('available', 'running') OR j.finalized_at IS NULL))"

static int sq_janitor_lock(struct store *s, void **held)
{
	struct sq *q = (struct sq *)s;
	char *path = xstrfmt("%s-janitor.lock", q->path);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);

	*held = NULL;
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		if (fd >= 0 && e == EWOULDBLOCK) {
			free(path);
			return 0;
		}
		error("cannot lock '%s': %s", path, strerror(e));
		free(path);
		return MD_EXIT_IOERR;
	}
	free(path);
	*held = xmalloc(sizeof(int));
	*(int *)*held = fd;
	return 0;
}

static void sq_janitor_unlock(struct store *s, void *held)
{
	close(*(int *)held);
	free(held);
}

/* cb for each row of st: the columns as jan_row fields, in the order
 * id, media, name, key, at, claim (as many as st has). */
static int sq_jan_rows(struct sq *q, sqlite3_stmt *st, enum jan_ref kind, jan_cb cb, void *arg)
{
	int r, rc = 0, nc = sl.sqlite3_column_count(st);

	while (!rc && (r = sl.sqlite3_step(st)) == SQLITE_ROW) {
		struct jan_row row = {
			.kind = kind, .id = sl.sqlite3_column_int64(st, 0),
			.media = nc > 1 ? col_text(st, 1) : NULL,
			.name = nc > 2 ? col_text(st, 2) : NULL,
			.key = nc > 3 ? col_text(st, 3) : NULL,
			.at = nc > 4 ? col_text(st, 4) : NULL,
			.claim = nc > 5 ? sl.sqlite3_column_int64(st, 5) : 0,
		};
		rc = cb(arg, &row);
	}
	if (!rc && r != SQLITE_DONE)
		rc = sq_fail(q, "read");
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_posts_idle(struct store *s, const char *status, double age, jan_cb cb, void *arg)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "SELECT p.id, p.media, NULL, NULL, p.updated_at FROM posts p "
			  "WHERE p.status = ?1 AND p.updated_at < " AGO("2") " AND " IDLE_MEDIA("p")
			  " ORDER BY p.id", &st)))
		return rc;
	sl.sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
	sl.sqlite3_bind_double(st, 2, age);
	return sq_jan_rows(q, st, JAN_ORIGINAL, cb, arg);
}

static int sq_post_fail_idle(struct store *s, int64_t id, double age, const char *error,
			     int *applied)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "UPDATE posts SET status = 'failed', error = ?3, updated_at = " NOW
			  " WHERE id = ?1 AND status = 'processing' AND updated_at < " AGO("2")
			  " AND " IDLE_MEDIA("posts"), &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, id);
	sl.sqlite3_bind_double(st, 2, age);
	sl.sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
	rc = sq_done(q, st);
	*applied = !rc && sl.sqlite3_changes(q->db) > 0;
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_storage_refs(struct store *s, enum jan_ref kind, jan_cb cb, void *arg)
{
	static const char *const sql[] = {
		/* id 1: every post of the media completed (its raw original
		 * goes when storage.keep_originals is false) */
		[JAN_ORIGINAL] = "SELECT CASE WHEN EXISTS (SELECT 1 FROM posts p WHERE p.media = m.sha256) "
				 "AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.media = m.sha256 AND "
				 "p.status <> 'completed') THEN 1 ELSE 0 END, m.sha256, m.ext FROM media m",
		[JAN_RENDITION] = "SELECT 0, media, profile, storage_key FROM renditions",
		[JAN_RUN] = "SELECT id, media, profile, NULL, NULL, claims FROM jobs "
			    "WHERE state = 'running' OR (state = 'succeeded' AND finalized_at IS NULL)",
	};
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, sql[kind], &st)))
		return rc;
	return sq_jan_rows(q, st, kind, cb, arg);
}

/* The prunable jobs (store_prune_jobs) of the window ?1 < id <= ?2. */
#define PRUNABLE \
	"FROM jobs WHERE id > ?1 AND id <= ?2 AND state IN ('succeeded', 'dead', 'cancelled') " \
	"AND finalized_at IS NOT NULL AND coalesce(finished_at, created_at) < " AGO("3") \
	" AND NOT (state = 'succeeded' AND NOT EXISTS (SELECT 1 FROM jobs k " \
	"WHERE k.media = jobs.media AND k.profile = jobs.profile AND k.state = 'succeeded' " \
	"AND k.id > jobs.id))"

static int sq_jobs_prune(struct store *s, int64_t after, int window, double age, int dry,
			 int64_t *next, int64_t *n)
{
	struct sq *q = (struct sq *)s;
	sqlite3_stmt *st;
	int rc;

	if ((rc = sq_prep(q, "SELECT max(id) FROM (SELECT id FROM jobs WHERE id > ?1 "
			  "ORDER BY id LIMIT ?2)", &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, after);
	sl.sqlite3_bind_int(st, 2, window);
	if (sl.sqlite3_step(st) == SQLITE_ROW)
		*next = sl.sqlite3_column_int64(st, 0);
	else
		rc = sq_fail(q, "read the jobs to prune");
	sl.sqlite3_finalize(st);
	if (rc || !*next)
		return rc;
	if ((rc = sq_prep(q, dry ? "SELECT count(*) " PRUNABLE : "DELETE " PRUNABLE, &st)))
		return rc;
	sl.sqlite3_bind_int64(st, 1, after);
	sl.sqlite3_bind_int64(st, 2, *next);
	sl.sqlite3_bind_double(st, 3, age);
	if (dry) {
		if (sl.sqlite3_step(st) == SQLITE_ROW)
			*n = sl.sqlite3_column_int64(st, 0);
		else
			rc = sq_fail(q, "count the jobs to prune");
	} else if (!(rc = sq_done(q, st))) {
		*n = sl.sqlite3_changes(q->db);
	}
	sl.sqlite3_finalize(st);
	return rc;
}

static int sq_txn_begin(struct store *s, int last)
{
	return sq_begin((struct sq *)s);
}

/* A deferred transaction reads one snapshot (WAL) and takes no lock. */
static int sq_read_begin(struct store *s, int last)
{
	return sq_exec((struct sq *)s, "BEGIN");
}

static int sq_txn_commit(struct store *s)
{
	return sq_commit((struct sq *)s);
}

static void sq_txn_rollback(struct store *s)
{
	sq_rollback((struct sq *)s);
}

static void sq_quiet(struct store *s, int on)
{
	((struct sq *)s)->quiet = on;
}

static const struct store_driver sqlite_driver = {
	.name = "sqlite",
	.migrations = migrations_sqlite,
	.nmigrations = &migrations_sqlite_count,
	.close = sq_close,
	.begin = sq_txn_begin,
	.commit = sq_txn_commit,
	.rollback = sq_txn_rollback,
	.quiet = sq_quiet,
	.schema_version = sq_schema_version,
	.migrate_lock = sq_migrate_lock,
	.migration_apply = sq_migration_apply,
	.migrations_applied = sq_migrations_applied,
	.user_facts = sq_user_facts,
	.user_write = sq_user_write,
	.media_exists = sq_media_exists,
	.media_add = sq_media_add,
	.user_id = sq_user_id,
	.post_of = sq_post_of,
	.jobs_add_missing = sq_jobs_add_missing,
	.media_verdict = sq_media_verdict,
	.post_add = sq_post_add,
	.tags_add = sq_tags_add,
	.feed_bump = sq_feed_bump,
	.finalize_pick = sq_finalize_pick,
	.renditions_register = sq_renditions_register,
	.dead_round = sq_dead_round,
	.posts_settle = sq_posts_settle,
	.jobs_stamp = sq_jobs_stamp,
	.hook_add = sq_hook_add,
	.hook_claim = sq_hook_claim,
	.hook_settle = sq_hook_settle,
	.claim = sq_claim,
	.heartbeat = sq_heartbeat,
	.jobs_succeed = sq_jobs_succeed,
	.job_settle = sq_job_settle,
	.jobs_expired = sq_jobs_expired,
	.jobs_of_worker = sq_jobs_of_worker,
	.worker_upsert = sq_worker_upsert,
	.worker_beat = sq_worker_beat,
	.worker_delete = sq_worker_delete,
	.queue_pause = sq_queue_pause,
	.workers_gone = sq_workers_gone,
	.queue_counts = sq_queue_counts,
	.jobs = sq_jobs,
	.job_read = sq_job_read,
	.job_cancel = sq_job_cancel,
	.job_reset = sq_job_reset,
	.posts_reopen = sq_posts_reopen,
	.dead_unfinalize = sq_dead_unfinalize,
	.live_twin = sq_live_twin,
	.jobs_progress = sq_jobs_progress,
	.users = sq_users,
	.refs_resolve = sq_refs_resolve,
	.jobs_live = sq_jobs_live,
	.jobs_insert = sq_jobs_insert,
	.feed_page = sq_feed_page,
	.feed_version = sq_feed_version,
	.feed_tags = sq_feed_tags,
	.read_begin = sq_read_begin,
	.status_figure = sq_status_figure,
	.posts_pick = sq_posts_pick,
	.posts_delete = sq_posts_delete,
	.media_lock = sq_media_lock,
	.media_posts = sq_media_posts,
	.media_jobs_delete = sq_media_jobs_delete,
	.media_delete = sq_media_delete,
	.posts_reassign = sq_posts_reassign,
	.job_delete_finalized = sq_job_delete_finalized,
	.check = sq_check,
	.janitor_lock = sq_janitor_lock,
	.janitor_unlock = sq_janitor_unlock,
	.posts_idle = sq_posts_idle,
	.post_fail_idle = sq_post_fail_idle,
	.storage_refs = sq_storage_refs,
	.jobs_prune = sq_jobs_prune,
};
