/*
 * sqlite-loop DB BATCH - the bare-SQL baseline of the SQLite burn-down
 * (tests/bench/sqlite.sh): in one process, the statements md-work's SQLite
 * driver runs for no-op jobs (lib/store_sqlite.c), each prepared once, in
 * a loop until a claim finds nothing:
 *
 *   claim      BEGIN IMMEDIATE; the claim of BATCH jobs (UPDATE ...
 *              RETURNING); each job's media read; each job's pending posts
 *              moved to processing; COMMIT
 *   complete   BEGIN IMMEDIATE; each job's fenced completion; COMMIT
 *
 * with the connection set up as the driver sets it (WAL, synchronous
 * NORMAL, foreign keys, cell size checks).  Prints the jobs completed.
 * Exit 0, or 1 with sqlite's message on stderr.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#define FMT "'%Y-%m-%dT%H:%M:%fZ'"
#define NOW "strftime(" FMT ", 'now')"
#define RUN_IS "id = ?1 AND claims = ?2 AND state = 'running'"

static const char claim_sql[] =
	"UPDATE jobs SET state = 'running', attempts = attempts + 1, "
	"claims = claims + 1, locked_by = ?1, started_at = " NOW ", progress = NULL, "
	"lease_until = strftime(" FMT ", julianday('now') + ?2 / 86400.0) "
	"WHERE id IN (SELECT id FROM jobs WHERE state = 'available' "
	"AND run_at <= " NOW " AND NOT EXISTS (SELECT 1 FROM queue_pauses p WHERE p.queue = jobs.queue)"
	" ORDER BY priority, run_at, id LIMIT ?3) "
	"RETURNING id, media, profile, queue, trace_id, attempts, max_attempts, claims";
static const char media_sql[] = "SELECT kind, format, ext, duration, "
	"CASE WHEN json_valid(probe) THEN json_extract(probe, '$.source') END "
	"FROM media WHERE sha256 = ?";
static const char posts_sql[] = "UPDATE posts SET status = 'processing', updated_at = " NOW
	" WHERE status = 'pending' AND media = ?";
static const char done_sql[] = "UPDATE jobs SET state = 'succeeded', result = ?3, "
	"finished_at = " NOW ", lease_until = NULL, last_error = NULL WHERE " RUN_IS;
static const char result[] = "{\"files\":[],\"bytes\":0,\"duration_ms\":0}";

static sqlite3 *db;

static void die(const char *what)
{
	fprintf(stderr, "sqlite-loop: %s: %s\n", what, sqlite3_errmsg(db));
	exit(1);
}

static void run(const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		die(sql);
}

static sqlite3_stmt *prep(const char *sql)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
		die("prepare");
	return st;
}

static void step_done(sqlite3_stmt *st)
{
	int r;

	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		;
	if (r != SQLITE_DONE)
		die("step");
	sqlite3_reset(st);
}

int main(int argc, char **argv)
{
	sqlite3_stmt *claim, *media, *posts, *done;
	long long *ids, *claims, total = 0;
	char (*sha)[65];
	int batch, n;

	if (argc != 3 || (batch = (int)strtol(argv[2], NULL, 10)) < 1) {
		fprintf(stderr, "usage: sqlite-loop DB BATCH\n");
		return 64;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL))
		die("open");
	sqlite3_busy_timeout(db, 60000);
	run("PRAGMA journal_mode = WAL");
	run("PRAGMA synchronous = NORMAL");
	run("PRAGMA foreign_keys = ON");
	run("PRAGMA cell_size_check = ON");
	claim = prep(claim_sql);
	media = prep(media_sql);
	posts = prep(posts_sql);
	done = prep(done_sql);
	ids = calloc((size_t)batch, sizeof(*ids));
	claims = calloc((size_t)batch, sizeof(*claims));
	sha = calloc((size_t)batch, sizeof(*sha));
	if (!ids || !claims || !sha)
		return 1;
	do {
		n = 0;
		run("BEGIN IMMEDIATE");
		sqlite3_bind_text(claim, 1, "bench:1", -1, SQLITE_STATIC);
		sqlite3_bind_double(claim, 2, 300);
		sqlite3_bind_int(claim, 3, batch);
		while (sqlite3_step(claim) == SQLITE_ROW && n < batch) {
			ids[n] = sqlite3_column_int64(claim, 0);
			(void)snprintf(sha[n], sizeof(sha[n]), "%s", sqlite3_column_text(claim, 1));
			claims[n++] = sqlite3_column_int64(claim, 7);
		}
		sqlite3_reset(claim);
		for (int i = 0; i < n; i++) {
			sqlite3_bind_text(media, 1, sha[i], -1, SQLITE_STATIC);
			if (sqlite3_step(media) != SQLITE_ROW)
				die("read media");
			sqlite3_reset(media);
			sqlite3_bind_text(posts, 1, sha[i], -1, SQLITE_STATIC);
			step_done(posts);
		}
		run("COMMIT");
		if (!n)
			break;
		run("BEGIN IMMEDIATE");
		for (int i = 0; i < n; i++) {
			sqlite3_bind_int64(done, 1, ids[i]);
			sqlite3_bind_int64(done, 2, claims[i]);
			sqlite3_bind_text(done, 3, result, -1, SQLITE_STATIC);
			step_done(done);
			total += sqlite3_changes(db);
		}
		run("COMMIT");
	} while (n);
	printf("%lld\n", total);
	sqlite3_finalize(claim);
	sqlite3_finalize(media);
	sqlite3_finalize(posts);
	sqlite3_finalize(done);
	sqlite3_close(db);
	return 0;
}
