/*
 * store_pg.c - the store on PostgreSQL (libpq): the backend for more than
 * one machine.  It behaves like store_sqlite.c in every observable way
 * (statuses, results, exit codes); only the means differ:
 *
 *  - Every value travels as a bound parameter (PQexecParams or a statement
 *    prepared once per connection for the worker's hot path); lists travel
 *    as one array parameter and are unnested in SQL, so a batch of 100,000
 *    refs is a handful of statements.
 *  - Claims take available jobs with FOR UPDATE SKIP LOCKED in one
 *    statement, which also moves the posts of their media to processing;
 *    a worker's claims start at the floor of its last full batch, so
 *    that dead index entries a long transaction keeps are not stepped
 *    over again and again (see FLOOR_SECS).
 *  - Enqueue and ingest send one NOTIFY md_jobs (payload: the queue) per
 *    queue that got jobs; workers LISTEN, or poll when MD_POLL_ONLY=1
 *    (transaction-mode connection poolers drop LISTEN).  The descriptor
 *    store_notify_fd() gives stays the same across reconnections: it is
 *    a dup of the connection's socket or, while the server is away, a
 *    timer that wakes the caller to reconnect (1 s, doubling up to 30 s).
 *  - Locks stand in for SQLite's single writer where a check-then-insert
 *    must not race.  An ingest locks its media row (FOR NO KEY UPDATE,
 *    which foreign-key checks do not wait for), so ingests of one media
 *    take turns; ingest holds the JOBS_LOCK advisory lock shared, and
 *    enqueue exclusive, while they look for live jobs and add new ones, so
 *    two transactions never both find none and both add one.  Finalize
 *    picks a media FOR NO KEY UPDATE SKIP LOCKED (held by another
 *    finalizer or an ingest: skip it), then locks its jobs and checks them
 *    again.  md-db migrate holds the MIGRATE_LOCK advisory lock.
 *
 * Failures: a lost connection, a deadlock, a serialization failure, a
 * server shutting down or a full disk (53100, said as such) is
 * MD_EXIT_TEMPFAIL; data or an index the server finds corrupt (XX001,
 * XX002) is MD_EXIT_CORRUPT.  After a lost connection the
 * connection is reset once (prepared statements and LISTEN are redone), so
 * the next call can work.  A transaction that certainly did not commit
 * (deadlock, or connection lost before COMMIT) is run again, up to
 * PG_TRIES times; an autocommit statement whose fate is unknown is not.
 */
#include "store.h"
#include "store_int.h"
#include "clock.h"
#include "dl.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* libpq, loaded by store_pg_open() (dl.h): the functions this driver calls */
#define PQ_FUNCS(X) \
	X(PQclear) X(PQcmdTuples) X(PQconnectdbParams) X(PQconninfo) X(PQconninfoFree) \
	X(PQconsumeInput) X(PQerrorMessage) X(PQexec) X(PQexecParams) X(PQexecPrepared) \
	X(PQfinish) X(PQfreemem) X(PQgetResult) X(PQgetisnull) X(PQgetlength) X(PQgetvalue) \
	X(PQnfields) X(PQnotifies) X(PQntuples) X(PQprepare) X(PQputCopyData) X(PQputCopyEnd) \
	X(PQreset) X(PQresultErrorField) X(PQresultErrorMessage) X(PQresultStatus) \
	X(PQsetNoticeProcessor) X(PQsocket) X(PQstatus) X(PQtransactionStatus)
static struct {
	PQ_FUNCS(DL_POINTER)
} pq;

/* Load libpq, once: 0, or MD_EXIT_UNAVAILABLE after an error. */
static int pq_load(void)
{
	static int loaded;
	int quiet_gnutls = !getenv("GNUTLS_NO_IMPLICIT_INIT");
	void *h;

	if (loaded)
		return 0;
	/* libpq's LDAP library brings GnuTLS, whose constructor sets up its
	 * whole crypto back end (0.8 MB resident) for nothing: libpq's TLS is
	 * OpenSSL's, and OpenLDAP starts GnuTLS itself should it ever need it
	 * (gnutls_global_init(3) on the variable) */
	if (quiet_gnutls)
		setenv("GNUTLS_NO_IMPLICIT_INIT", "1", 1);
	h = dl_open(SONAME_PQ, "a PostgreSQL database");
	if (quiet_gnutls)
		unsetenv("GNUTLS_NO_IMPLICIT_INIT");
	if (!h)
		return MD_EXIT_UNAVAILABLE;
#define X(f) if (!DL_SYM(pq, h, SONAME_PQ, f)) return MD_EXIT_UNAVAILABLE;
	PQ_FUNCS(X)
#undef X
	loaded = 1;
	return 0;
}

#define PG_TRIES 3
#define PG_MAXARGS 12
/* advisory lock keys (transaction-level; arbitrary constants) */
#define MIGRATE_LOCK "435694281298"     /* md-db migrate */
#define JOBS_LOCK "435694281299"        /* looking for live jobs, then adding */
#define CHANNEL "md_jobs"
/* The jobs of one media, found through the jobs_media index on a 64-bit
 * hash of the media hash (sql/postgres/002); the second term settles a
 * collision.  MEDIA_IS("j.media", "$1") */
#define MEDIA_IS(col, val) \
	"hashtextextended(" col ", 0) = hashtextextended(" val ", 0) AND " col " = " val
/* timestamptz as SQLite stores times: 2026-11-25T09:00:00.000Z */
#define ISO(col) "to_char((" col ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const struct store_driver pg_driver;

struct pg {
	struct store base;
	PGconn *conn;
	char *url;              /* redacted, for messages */
	unsigned prepared;      /* bit i: stmts[i] is prepared on this connection */
	int generic;            /* the session plans prepared statements once */
	int poll_only;          /* MD_POLL_ONLY=1: no LISTEN, no descriptor */
	int listening;
	int nfd;                /* what store_notify_fd() hands out: a stable
				 * descriptor, the socket of the connection or,
				 * while there is none, the reconnection timer */
	int tfd;                /* timerfd: readable when it is time to reconnect */
	int backoff;            /* seconds before the next reconnection */
	char **queues;          /* notifications counted; none: all */
	int nqueues;
	int in_txn;             /* between BEGIN and COMMIT/ROLLBACK */
	int committing;         /* COMMIT sent: its fate is unknown if the link drops */
	int replayable;         /* the running op may be replayed after a lost link */
	int retry;              /* set by pg_fail: nothing was committed, run it again */
	int last_try;           /* no try left: failures are errors, not warnings */
	int quiet;              /* store_quiet: the caller says outages itself */
	struct claim_floor {    /* where the next claim may start (see FLOOR_SECS) */
		int set;
		int priority;
		char run_at[48];        /* as the server wrote it */
		int64_t id;
		char *queues;           /* the queue filter it was found under */
		double since;           /* monotonic seconds of the last full scan */
	} floor;
};

/*
 * Run `call` (which returns 0 or an exit code) until it succeeds, fails in
 * a way that a replay cannot fix, or PG_TRIES tries are spent.  `call`
 * must start from scratch each time (it owns no state across tries).
 */
#define PG_RETRY(q, rc, call) \
	for (int try_ = 1;; try_++) { \
		(q)->retry = 0; \
		(q)->last_try = try_ >= PG_TRIES; \
		(rc) = (call); \
		if (!(rc) || !(q)->retry || (q)->last_try) \
			break; \
	}

static void floor_drop(struct pg *q)
{
	q->floor.set = 0;
}

/* ---------- parameters ---------- */

struct args {
	int n;
	const char *v[PG_MAXARGS];
	char num[PG_MAXARGS][32];
	int len[PG_MAXARGS];    /* binary values only */
	int fmt[PG_MAXARGS];    /* 1: binary */
	int binary;             /* some value is binary */
};

static void arg_str(struct args *a, const char *s)
{
	a->v[a->n++] = s;
}

static void arg_i64(struct args *a, int64_t x)
{
	xsnprintf(a->num[a->n], sizeof(a->num[0]), "%lld", (long long)x);
	a->v[a->n] = a->num[a->n];
	a->n++;
}

static void arg_dbl(struct args *a, double x)
{
	xsnprintf(a->num[a->n], sizeof(a->num[0]), "%.17g", x);
	a->v[a->n] = a->num[a->n];
	a->n++;
}

/* A value in binary format: an array built by sb_add_bin_array(). */
static void arg_bin(struct args *a, const struct strbuf *sb)
{
	a->len[a->n] = (int)sb->len;
	a->fmt[a->n] = 1;
	a->binary = 1;
	a->v[a->n++] = sb->buf;
}

static void sb_add_be32(struct strbuf *sb, uint32_t x)
{
	unsigned char b[4] = { x >> 24, x >> 16, x >> 8, x };

	sb_add(sb, b, 4);
}

/*
 * Append a one-dimensional array in the binary format of array_recv():
 * dimensions, flags, element type, then each element as a length (-1 for
 * NULL) and its bytes.  Big arrays go faster this way than as literals,
 * which the server must scan for quotes and escapes.  Elements: texts
 * (type 25, `texts`) or 64-bit integers (type 20, `ints`, NULL where
 * `isnull` says so).
 */
#define OID_INT8 20
#define OID_TEXT 25

static void sb_add_bin_array(struct strbuf *sb, const char *const *texts, const int64_t *ints,
			     const char *isnull, int n)
{
	int nulls = 0;

	for (int i = 0; i < n && !nulls; i++)
		nulls = texts ? !texts[i] : isnull && isnull[i];
	sb_add_be32(sb, 1);
	sb_add_be32(sb, (uint32_t)nulls);
	sb_add_be32(sb, texts ? OID_TEXT : OID_INT8);
	sb_add_be32(sb, (uint32_t)n);
	sb_add_be32(sb, 1);
	for (int i = 0; i < n; i++) {
		if (texts ? !texts[i] : isnull && isnull[i]) {
			sb_add_be32(sb, UINT32_MAX);
		} else if (texts) {
			size_t len = strlen(texts[i]);

			sb_add_be32(sb, (uint32_t)len);
			sb_add(sb, texts[i], len);
		} else {
			sb_add_be32(sb, 8);
			sb_add_be32(sb, (uint32_t)((uint64_t)ints[i] >> 32));
			sb_add_be32(sb, (uint32_t)ints[i]);
		}
	}
}

/* Append a text[] literal: {"a","b\"c",NULL}. */
static void sb_add_text_array(struct strbuf *sb, const char *const *v, int n)
{
	sb_addch(sb, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			sb_addch(sb, ',');
		if (!v[i]) {
			sb_adds(sb, "NULL");
			continue;
		}
		sb_addch(sb, '"');
		for (const char *p = v[i]; *p;) {
			size_t len = strcspn(p, "\"\\");

			sb_add(sb, p, len);
			if (!p[len])
				break;
			sb_addch(sb, '\\');
			sb_addch(sb, p[len]);
			p += len + 1;
		}
		sb_addch(sb, '"');
	}
	sb_addch(sb, '}');
}

/* Append an int8[] literal; elements flagged in `isnull` (if given) are NULL. */
static void sb_add_int_array(struct strbuf *sb, const int64_t *v, const char *isnull, int n)
{
	sb_addch(sb, '{');
	for (int i = 0; i < n; i++) {
		if (i)
			sb_addch(sb, ',');
		if (isnull && isnull[i])
			sb_adds(sb, "NULL");
		else
			sb_addf(sb, "%lld", (long long)v[i]);
	}
	sb_addch(sb, '}');
}

/* ---------- errors, connection ---------- */

/* SQLSTATEs worth trying again later: the caller exits 75 for them. */
static int tempfail_state(const char *st)
{
	if (!st)
		return 0;
	return !strncmp(st, "08", 2) ||     /* connection exception */
	       !strncmp(st, "40", 2) ||     /* deadlock, serialization failure */
	       !strncmp(st, "53", 2) ||     /* insufficient resources */
	       !strncmp(st, "57P", 3) ||    /* shutdown, cannot connect now */
	       !strncmp(st, "58", 2) ||     /* system error (I/O) */
	       !strcmp(st, "55P03");        /* lock not available */
}

/* The first line of a libpq message, without "ERROR:  " and the like. */
static char *first_line(const char *m)
{
	const char *p;

	if (!m || !*m)
		return xstrdup("unknown error");
	if ((p = strstr(m, ":  ")) && p - m <= 8 && p[-1] >= 'A' && p[-1] <= 'Z')
		m = p + 3;
	return xstrndup(m, strcspn(m, "\n"));
}

static void pg_notice(void *arg, const char *msg)
{
	char *line = first_line(msg);

	(void)arg;
	debug("database notice: %s", line);
	free(line);
}

/* Redo what a new connection lacks: prepared statements, LISTEN. */
static int pg_session_init(struct pg *q)
{
	q->prepared = 0;
	q->in_txn = 0;
	q->generic = 0;
	if (q->listening) {
		PGresult *res = pq.PQexec(q->conn, "LISTEN " CHANNEL);
		int ok = pq.PQresultStatus(res) == PGRES_COMMAND_OK;

		pq.PQclear(res);
		if (!ok)
			return -1;
	}
	return 0;
}

/*
 * Point the descriptor handed out by store_notify_fd() at the current
 * connection's socket or, while there is none, at a timer that becomes
 * readable when it is time to try again (1 s, doubling up to 30 s).  So a
 * caller polling it never spins on a dead socket, wakes to reconnect, and
 * never needs to ask for the descriptor again.
 */
static void pg_point_nfd(struct pg *q)
{
	int fd;

	if (q->nfd < 0)
		return;
	if (pq.PQstatus(q->conn) == CONNECTION_OK && (fd = pq.PQsocket(q->conn)) >= 0) {
		q->backoff = 0;
	} else {
		struct itimerspec t = { { 0, 0 }, { 0, 0 } };

		/* a server that comes back is seen within a second */
		q->backoff = 1;
		t.it_value.tv_sec = q->backoff;
		if (timerfd_settime(q->tfd, 0, &t, NULL))
			error_errno("cannot set the reconnection timer");
		fd = q->tfd;
	}
	if (dup2(fd, q->nfd) < 0 || fcntl(q->nfd, F_SETFD, FD_CLOEXEC) < 0)
		error_errno("cannot duplicate the database socket");
}

/* Say msg (freed) about the connection at level, or only at debug level
 * while the caller is quiet. */
static void pg_say(const struct pg *q, int level, char *msg)
{
	if (q->quiet)
		level = LOG_DEBUG;
	logkv(level, msg, (char *)NULL);
	free(msg);
}

/* Reset a broken connection once; 0 when it works again. */
static int pg_reset(struct pg *q)
{
	int rc = 0;

	floor_drop(q);
	pq.PQreset(q->conn);
	if (pq.PQstatus(q->conn) != CONNECTION_OK || pg_session_init(q))
		rc = -1;
	pg_point_nfd(q);
	if (!rc)
		pg_say(q, LOG_INFO, xstrfmt("database '%s': reconnected", q->url));
	return rc;
}

/*
 * Before a statement outside a transaction: read what the server sent
 * while we were idle, so a connection it closed (restart, idle timeout)
 * is noticed and reset before anything is sent, rather than failing a
 * statement whose fate would then be unknown.
 */
static int pg_ready(struct pg *q)
{
	char *m;

	if (pq.PQstatus(q->conn) == CONNECTION_OK && pq.PQconsumeInput(q->conn) &&
	    pq.PQstatus(q->conn) == CONNECTION_OK)
		return 0;
	m = first_line(pq.PQerrorMessage(q->conn));
	pg_say(q, LOG_WARN, xstrfmt("database '%s': connection lost: %s", q->url, m));
	free(m);
	if (pg_reset(q)) {
		m = first_line(pq.PQerrorMessage(q->conn));
		pg_say(q, LOG_ERROR, xstrfmt("database '%s': cannot reconnect: %s", q->url, m));
		free(m);
		return MD_EXIT_TEMPFAIL;
	}
	return 0;
}

/*
 * Log a failure and return its exit code.  Sets q->retry when nothing
 * can have been committed, so the op may run again.
 */
static int pg_fail(struct pg *q, const char *what, const PGresult *res)
{
	const char *state = res ? pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *prim = res ? pq.PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *raw = prim ? prim : res && *pq.PQresultErrorMessage(res) ?
		pq.PQresultErrorMessage(res) : pq.PQerrorMessage(q->conn);
	char *msg = first_line(raw);
	int lost = pq.PQstatus(q->conn) != CONNECTION_OK;
	int rc = lost || tempfail_state(state) ? MD_EXIT_TEMPFAIL : MD_EXIT_SOFTWARE;

	q->retry = state && !strncmp(state, "40", 2) && !q->committing;
	if (lost) {
		int safe = (q->in_txn && !q->committing) || q->replayable;

		q->in_txn = 0;
		pg_say(q, LOG_ERROR, xstrfmt("database '%s': %s: connection lost: %s", q->url, what,
					     msg));
		free(msg);
		q->retry = !pg_reset(q) && safe && !q->last_try;
		if (q->retry)
			pg_say(q, LOG_INFO, xstrfmt("database '%s': nothing was committed: trying "
						    "again", q->url));
		return rc;
	}
	if (q->retry && !q->last_try)
		warning("database '%s': %s: %s (trying again)", q->url, what, msg);
	else if (state && !strcmp(state, "53100"))
		error("database '%s': %s: disk full: %s", q->url, what, msg);
	else if (state && !strcmp(state, "42P05")) {
		/* duplicate_prepared_statement: another client's statements on
		 * the server connection a pooler gave this one */
		error("database '%s': %s: %s: a pooler in transaction mode must keep prepared "
		      "statements apart (PgBouncer 1.21 or later, max_prepared_statements)",
		      q->url, what, msg);
		rc = MD_EXIT_CONFIG;
	} else if (state && !strcmp(state, "25006")) {
		/* read_only_sql_transaction: a hot standby, or
		 * default_transaction_read_only */
		error("database '%s' is read-only (a standby?): %s: point this tool at the primary",
		      q->url, what);
		rc = MD_EXIT_CONFIG;
	}
	else if (state && (!strcmp(state, "XX001") || !strcmp(state, "XX002"))) {
		error("database '%s' is corrupt: %s: %s; run 'md-db check'", q->url, what, msg);
		rc = MD_EXIT_CORRUPT;
	} else
		error("database '%s': %s: %s", q->url, what, msg);
	free(msg);
	return rc;
}

/* Check a result: 0 and *out = res (or cleared when out is NULL), or an exit code. */
static int pg_check(struct pg *q, const char *what, PGresult *res, PGresult **out)
{
	ExecStatusType st = pq.PQresultStatus(res);
	int rc;

	if (res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)) {
		if (out)
			*out = res;
		else
			pq.PQclear(res);
		return 0;
	}
	rc = pg_fail(q, what, res);
	pq.PQclear(res);
	return rc;
}

/* One statement with bound parameters (a may be NULL). */
static int pg_exec(struct pg *q, const char *what, const char *sql, const struct args *a,
		   PGresult **out)
{
	int rc;

	if (out)
		*out = NULL;
	floor_drop(q);
	if (!q->in_txn && (rc = pg_ready(q)))
		return rc;
	return pg_check(q, what, pq.PQexecParams(q->conn, sql, a ? a->n : 0, NULL,
					      a ? a->v : NULL, a && a->binary ? a->len : NULL,
					      a && a->binary ? a->fmt : NULL, 0), out);
}

/* SQL text without parameters, possibly several statements (migrations). */
static int pg_simple(struct pg *q, const char *what, const char *sql)
{
	int rc;

	if (!q->in_txn && (rc = pg_ready(q)))
		return rc;
	return pg_check(q, what, pq.PQexec(q->conn, sql), NULL);
}

/* A statement that only reads: run again on a new connection if the link
 * drops (nothing it did can have been committed). */
static int pg_read(struct pg *q, const char *what, const char *sql, const struct args *a,
		   PGresult **out)
{
	int rc;

	q->replayable = 1;
	PG_RETRY(q, rc, pg_exec(q, what, sql, a, out));
	q->replayable = 0;
	return rc;
}

/* The worker's hot statements, prepared once per connection. */
enum { ST_CLAIM, ST_CLAIM_QUEUES, ST_SUCCEED_MANY, ST_SUCCEED_SAME, ST_SETTLE, ST_HEARTBEAT,
       ST_COUNT };

/* The rows j of the runs ids (job ids) and claims that still hold their
 * job.  By j.id = ANY(ids), an index probe per run, and the claim looked
 * up by position: a join with unnest() is planned as a nested loop that
 * unnests the arrays again for every row (a third of a claim's time).
 * The state is compared in the "C" collation so that no plan reads the
 * partial index jobs_running instead (its predicate no longer matches):
 * a full scan of it, which steps over the entry of every run that ended
 * since vacuum last could remove them. */
#define RUNS_ARE(ids, claims) \
	"WHERE j.id = ANY(" ids "::int8[]) AND j.state COLLATE \"C\" = 'running' " \
	"AND j.claims = (" claims "::int8[])[array_position(" ids "::int8[], j.id)]"
/* the value of row j in array, which goes with the job ids $1 */
#define RUN_VALUE(array) "(" array ")[array_position($1::int8[], j.id)]"

/* Not a job of a paused queue (md-job pause).  NOT IN (queue is never
 * NULL, so it means NOT EXISTS) is a hashed subplan, never made a join:
 * the claim's index scan stays in index order and LIMIT stops it early;
 * as an anti-join, estimated to keep next to nothing, a generic plan
 * sorts every available job first. */
#define NOT_PAUSED "jobs.queue NOT IN (SELECT queue FROM queue_pauses)"

/*
 * The claim floor.  A claimed job leaves a dead entry in the claim indexes
 * that only vacuum removes, and vacuum can remove none while any
 * transaction older than the claim is open: under a backlog, every later
 * claim would step over all of them, the leftmost, before finding a live
 * one.  So a worker's connection remembers the least (priority, run_at,
 * id) of its last full batch and starts its next claim there ($7..$9):
 * everything before it was claimed, or locked by another claim, when that
 * batch was taken.  A job can appear before the floor again only in a
 * rare way (a higher priority or an earlier run_at enqueued since, a
 * resumed queue, a claim rolled back), and the floor is dropped whenever
 * one may have: a short batch (the backlog is spent), a notification, any
 * other statement on the connection, a different queue filter, and
 * FLOOR_SECS after the last claim that started from the beginning.
 */
#define FLOOR_SECS 2.0
#define NO_FLOOR_PRIORITY "-2147483648"

#define CLAIM_SQL(queue_filter) \
	"WITH ack AS (" \
	/* the short jobs of the previous batch, acknowledged on the way */ \
	"  UPDATE jobs j SET state = 'succeeded', result = $6::jsonb," \
	"    finished_at = now(), lease_until = NULL, last_error = NULL" \
	"  " RUNS_ARE("$4", "$5") \
	"  RETURNING 1" \
	"), c AS (" \
	"  SELECT id FROM jobs WHERE state = 'available' AND run_at <= now()" queue_filter \
	"    AND (priority, run_at, id) >= ($7::int, $8::timestamptz, $9::int8)" \
	"    AND " NOT_PAUSED \
	"  ORDER BY priority, run_at, id LIMIT $3 FOR UPDATE SKIP LOCKED" \
	"), j AS (" \
	/* by id = ANY(array): an index probe per job whatever the planner \
	 * guesses of LIMIT $3, so one generic plan serves every batch size */ \
	"  UPDATE jobs j SET state = 'running', attempts = j.attempts + 1," \
	"    claims = j.claims + 1, locked_by = $1, started_at = now(), progress = NULL," \
	"    lease_until = now() + $2::float8 * interval '1 second'" \
	"  WHERE j.id = ANY(ARRAY(SELECT id FROM c))" \
	"  RETURNING j.id, j.media, j.profile, j.queue, j.trace_id, j.attempts," \
	"    j.max_attempts, j.priority, j.run_at, j.claims" \
	"), p AS (" \
	/* a post moves to processing when the first of its jobs starts; rows \
	 * are locked in id order so two claims cannot deadlock on them */ \
	"  UPDATE posts SET status = 'processing', updated_at = now()" \
	"  WHERE status = 'pending' AND id IN (SELECT id FROM posts" \
	"    WHERE status = 'pending' AND media IN (SELECT media FROM j) ORDER BY id FOR UPDATE)" \
	") " \
	/* one row even when nothing was claimed, to carry the ack count */ \
	"SELECT j.id, j.media, j.profile, j.queue, j.trace_id, j.attempts, j.max_attempts, " \
	"  m.kind, m.format, m.ext, (SELECT count(*) FROM ack), m.duration, j.claims, " \
	"  j.priority, j.run_at, m.source " \
	"FROM (SELECT 1) one LEFT JOIN (j LEFT JOIN LATERAL (" \
	"  SELECT kind, format, ext, duration, probe->'source' AS source FROM media " \
	"  WHERE sha256 = j.media) m ON true) ON true " \
	"ORDER BY j.priority, j.run_at, j.id"

static const struct {
	const char *name, *sql;
} stmts[ST_COUNT] = {
	[ST_CLAIM] = { "md_claim", CLAIM_SQL("") },
	[ST_CLAIM_QUEUES] = { "md_claim_queues", CLAIM_SQL(" AND queue = ANY($10::text[])") },
	[ST_SUCCEED_MANY] = { "md_succeed_many",
		"UPDATE jobs j SET state = 'succeeded', result = "
		"coalesce(" RUN_VALUE("$3::text[]") ", '{}')::jsonb, "
		"finished_at = now(), lease_until = NULL, last_error = NULL "
		RUNS_ARE("$1", "$2") },
	/* a batch of short jobs: one result for all */
	[ST_SUCCEED_SAME] = { "md_succeed_same",
		"UPDATE jobs j SET state = 'succeeded', result = $3::jsonb, finished_at = now(), "
		"lease_until = NULL, last_error = NULL " RUNS_ARE("$1", "$2") },
	/* $3: 0 retry, 1 dead, 2 release (enum settle); $6: only if expired */
	[ST_SETTLE] = { "md_settle",
		"UPDATE jobs SET "
		"state = CASE $3::int WHEN 1 THEN 'dead' ELSE 'available' END, "
		"attempts = CASE $3::int WHEN 2 THEN greatest(attempts - 1, 0) ELSE attempts END, "
		"run_at = CASE $3::int WHEN 0 THEN now() + $5::float8 * interval '1 second' "
		"  WHEN 2 THEN now() ELSE run_at END, "
		"finished_at = CASE $3::int WHEN 1 THEN now() END, "
		"last_error = CASE $3::int WHEN 2 THEN last_error ELSE $4 END, lease_until = NULL "
		"WHERE id = $1 AND claims = $2 AND state = 'running' "
		"  AND ($6::int = 0 OR lease_until < now())" },
	[ST_HEARTBEAT] = { "md_heartbeat",
		"UPDATE jobs j SET lease_until = now() + $3::float8 * interval '1 second' "
		RUNS_ARE("$1", "$2") " RETURNING j.id, j.claims" },
};

static int pg_exec_prepared(struct pg *q, const char *what, int st, const struct args *a,
			    PGresult **out)
{
	int rc;

	if (out)
		*out = NULL;
	if (!q->in_txn && (rc = pg_ready(q)))
		return rc;
	if (!(q->prepared & (1u << st))) {
		rc = pg_check(q, what, pq.PQprepare(q->conn, stmts[st].name, stmts[st].sql, 0, NULL),
			      NULL);
		if (rc)
			return rc;
		q->prepared |= 1u << st;
	}
	return pg_check(q, what, pq.PQexecPrepared(q->conn, stmts[st].name, a->n, a->v,
						NULL, NULL, 0), out);
}

static int pg_begin(struct pg *q)
{
	int rc;

	if ((rc = pg_ready(q)))
		return rc;
	q->in_txn = 1;   /* from here a lost connection commits nothing */
	if ((rc = pg_simple(q, "begin", "BEGIN")))
		q->in_txn = 0;
	return rc;
}

static int pg_commit(struct pg *q)
{
	int rc;

	q->committing = 1;
	rc = pg_simple(q, "commit", "COMMIT");
	q->committing = 0;
	q->in_txn = 0;
	return rc;
}

static void pg_rollback(struct pg *q)
{
	if (pq.PQstatus(q->conn) == CONNECTION_OK && pq.PQtransactionStatus(q->conn) != PQTRANS_IDLE)
		pq.PQclear(pq.PQexec(q->conn, "ROLLBACK"));
	q->in_txn = 0;
}

static const char *val(const PGresult *res, int row, int col)
{
	return pq.PQgetisnull(res, row, col) ? NULL : pq.PQgetvalue(res, row, col);
}

static char *val_dup(const PGresult *res, int row, int col)
{
	return pq.PQgetisnull(res, row, col) ? NULL : xstrdup(pq.PQgetvalue(res, row, col));
}

static int64_t val_i64(const PGresult *res, int row, int col)
{
	return pq.PQgetisnull(res, row, col) ? 0 : strtoll(pq.PQgetvalue(res, row, col), NULL, 10);
}

/* ---------- open, migrations ---------- */

/* Schema version: 0 and *version, 1 when schema_migrations is missing, or an exit code. */
static int pg_version(struct pg *q, int *version)
{
	PGresult *res;
	int rc, missing;

	*version = 0;
	if ((rc = pg_exec(q, "read schema version",
			  "SELECT to_regclass('schema_migrations') IS NULL", NULL, &res)))
		return rc;
	missing = !strcmp(pq.PQgetvalue(res, 0, 0), "t");
	pq.PQclear(res);
	if (missing)
		return 1;
	if ((rc = pg_exec(q, "read schema version",
			  "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL, &res)))
		return rc;
	*version = (int)val_i64(res, 0, 0);
	pq.PQclear(res);
	return 0;
}

static void pg_close(struct store *s)
{
	struct pg *q = (struct pg *)s;

	pq.PQfinish(q->conn);
	if (q->nfd >= 0) {
		close(q->nfd);
		close(q->tfd);
	}
	for (int i = 0; i < q->nqueues; i++)
		free(q->queues[i]);
	free(q->queues);
	free(q->floor.queues);
	free(q->url);
	free(q);
}

static int pg_schema_version(struct store *s, int *version)
{
	return pg_version((struct pg *)s, version);
}

static int pg_migrate_lock(struct store *s)
{
	struct pg *q = (struct pg *)s;
	int rc;

	if ((rc = pg_simple(q, "lock migrations", "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")")))
		return rc;
	return pg_simple(q, "create schema_migrations",
			 "CREATE TABLE IF NOT EXISTS schema_migrations ("
			 "version integer PRIMARY KEY, name text NOT NULL, "
			 "applied_at timestamptz NOT NULL DEFAULT now())");
}

static int pg_migration_apply(struct store *s, const struct migration *m)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	int rc;

	arg_i64(&a, m->version);
	arg_str(&a, m->name);
	if ((rc = pg_simple(q, m->name, m->sql)))
		return rc;
	return pg_exec(q, "record migration",
		       "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &a, NULL);
}

static int pg_migrations_read(struct pg *q, PGresult **out)
{
	int rc, version;

	*out = NULL;
	rc = pg_version(q, &version);
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	return pg_exec(q, "read migrations",
		       "SELECT version, " ISO("applied_at") " FROM schema_migrations", NULL, out);
}

static int pg_migrations_applied(struct store *s, applied_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	PGresult *res;
	int rc;

	q->replayable = 1;
	PG_RETRY(q, rc, pg_migrations_read(q, &res));
	q->replayable = 0;
	if (rc)
		return rc;
	for (int r = 0; res && r < pq.PQntuples(res); r++)
		cb(arg, (int)val_i64(res, r, 0), val(res, r, 1));
	pq.PQclear(res);
	return 0;
}

int store_pg_open(const char *conninfo, int flags, struct store **out)
{
	/* later keywords win, so anything the URL sets overrides these */
	/* over TCP, a server that went silent (a cut link, a host gone) is
	 * given up within a minute, not the kernel's quarter of an hour:
	 * keepalives while idle (a worker waiting on LISTEN), and a limit on
	 * data sent and not acknowledged; both are ignored on a Unix socket */
	const char *kw[] = { "fallback_application_name", "client_encoding", "connect_timeout",
			     "keepalives_idle", "keepalives_interval", "keepalives_count",
			     "tcp_user_timeout", "dbname", NULL };
	const char *kv[] = { log_tool(), "UTF8", "10", "20", "5", "4", "30000", conninfo, NULL };
	struct pg *q;
	int rc;

	*out = NULL;
	if ((rc = pq_load()))
		return rc;
	q = xcalloc(1, sizeof(*q));
	q->base.drv = &pg_driver;
	q->url = store_redact_url(conninfo);
	q->base.where = q->url;
	q->nfd = -1;
	q->poll_only = getenv("MD_POLL_ONLY") && !strcmp(getenv("MD_POLL_ONLY"), "1");
	q->conn = pq.PQconnectdbParams(kw, kv, 1);
	if (!q->conn)
		die(MD_EXIT_SOFTWARE, "out of memory");
	if (pq.PQstatus(q->conn) != CONNECTION_OK) {
		char *m = first_line(pq.PQerrorMessage(q->conn));
		error("database '%s': cannot connect: %s", q->url, m);
		free(m);
		pg_close(&q->base);
		return MD_EXIT_TEMPFAIL;
	}
	pq.PQsetNoticeProcessor(q->conn, pg_notice, NULL);
	/* STORE_CREATE: the database itself is made by the DBA (createdb) */
	*out = &q->base;
	return 0;
}

/* ---------- ingest ---------- */

static int pg_media_exists(struct store *s, const char *sha)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc, n;

	arg_str(&a, sha);
	rc = pg_read(q, "look up media", "SELECT 1 FROM media WHERE sha256 = $1", &a, &res);
	if (rc)
		return -rc;
	n = pq.PQntuples(res);
	pq.PQclear(res);
	return n > 0;
}

/* The owner's id, inserting the user when new; race-free. */
static int pg_user_id(struct store *s, const char *user, int64_t *id)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, user);
	rc = pg_exec(q, "add user",
		     "WITH s AS (SELECT id FROM users WHERE username = $1), "
		     "i AS (INSERT INTO users (username) SELECT $1 WHERE NOT EXISTS (SELECT 1 FROM s) "
		     "  ON CONFLICT (username) DO NOTHING RETURNING id) "
		     "SELECT id FROM s UNION ALL SELECT id FROM i", &a, &res);
	if (rc)
		return rc;
	if (!pq.PQntuples(res)) {
		/* another transaction added it since our snapshot: see it now */
		pq.PQclear(res);
		if ((rc = pg_exec(q, "add user", "SELECT id FROM users WHERE username = $1", &a, &res)))
			return rc;
		if (!pq.PQntuples(res)) {
			pq.PQclear(res);
			error("database '%s': user '%s' vanished while being added", q->url, user);
			return MD_EXIT_TEMPFAIL;
		}
	}
	*id = val_i64(res, 0, 0);
	pq.PQclear(res);
	return 0;
}

static int pg_post_of(struct store *s, const char *user, const char *media, struct post_found *p)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	memset(p, 0, sizeof(*p));
	arg_str(&a, user);
	arg_str(&a, media);
	if ((rc = pg_exec(q, "look up posts",
			  "SELECT p.id, p.status, m.kind FROM posts p "
			  "JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media "
			  "WHERE u.username = $1 AND p.media = $2 ORDER BY p.id LIMIT 1", &a, &res)))
		return rc;
	if (pq.PQntuples(res)) {
		p->id = val_i64(res, 0, 0);
		(void)snprintf(p->status, sizeof(p->status), "%s", pq.PQgetvalue(res, 0, 1));
		p->kind = kind_from_name(pq.PQgetvalue(res, 0, 2));
	}
	pq.PQclear(res);
	return 0;
}

static int pg_media_verdict(struct store *s, const char *media, int64_t *total,
			    int64_t *open, char **dead)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, media);
	rc = pg_exec(q, "read jobs",
		"SELECT count(*), count(*) FILTER (WHERE finalized_at IS NULL), "
		/* each dead profile (its newest job) with its reason */
		"  (SELECT string_agg(profile || ': ' || coalesce(last_error, 'failed'), '; ' "
		"     ORDER BY id) FROM (SELECT DISTINCT ON (d.profile) d.id, d.profile, "
		"     d.last_error FROM jobs d "
		"    WHERE " MEDIA_IS("d.media", "$1") " AND d.state = 'dead' AND NOT EXISTS ("
		"      SELECT 1 FROM jobs s WHERE " MEDIA_IS("s.media", "$1") " AND s.profile = d.profile "
		"      AND s.state = 'succeeded') ORDER BY d.profile, d.id DESC) x) "
		"FROM jobs WHERE " MEDIA_IS("media", "$1"), &a, &res);
	if (rc)
		return rc;
	*total = val_i64(res, 0, 0);
	*open = val_i64(res, 0, 1);
	*dead = val_dup(res, 0, 2);
	pq.PQclear(res);
	return 0;
}

/* Under the shared jobs lock, one statement adds the missing jobs and
 * wakes the workers of their queues. */
static int pg_jobs_add_missing(struct store *s, const char *media, const struct new_job *v,
			       int n, const char *trace_id, int *added)
{
	struct pg *q = (struct pg *)s;
	const char **names = xcalloc((size_t)n + 1, sizeof(*names));
	const char **queues = xcalloc((size_t)n + 1, sizeof(*queues));
	int64_t *attempts = xcalloc((size_t)n + 1, sizeof(*attempts));
	struct strbuf an = STRBUF_INIT, aq = STRBUF_INIT, aa = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res = NULL;
	int rc;

	*added = 0;
	for (int i = 0; i < n; i++) {
		names[i] = v[i].profile;
		queues[i] = v[i].queue;
		attempts[i] = v[i].max_attempts;
	}
	if ((rc = pg_simple(q, "lock jobs", "SELECT pg_advisory_xact_lock_shared(" JOBS_LOCK ")")))
		goto out;
	sb_add_text_array(&an, names, n);
	sb_add_text_array(&aq, queues, n);
	sb_add_int_array(&aa, attempts, NULL, n);
	arg_str(&a, media);
	arg_str(&a, an.buf);
	arg_str(&a, aq.buf);
	arg_str(&a, aa.buf);
	arg_str(&a, trace_id);
	rc = pg_exec(q, "add jobs",
		"WITH ins AS ("
		"  INSERT INTO jobs (media, profile, queue, max_attempts, trace_id) "
		"  SELECT $1, p.name, p.queue, p.attempts, $5 "
		"  FROM unnest($2::text[], $3::text[], $4::int[]) "
		"    WITH ORDINALITY AS p(name, queue, attempts, ord) "
		"  WHERE NOT EXISTS (SELECT 1 FROM jobs j "
		"    WHERE " MEDIA_IS("j.media", "$1") " AND j.profile = p.name "
		"    AND j.state IN ('available', 'running', 'succeeded')) "
		"  ORDER BY p.ord RETURNING queue) "
		"SELECT queue, count(*), pg_notify('" CHANNEL "', queue) FROM ins GROUP BY queue",
		&a, &res);
	if (rc)
		goto out;
	for (int i = 0; i < pq.PQntuples(res); i++)
		*added += (int)val_i64(res, i, 1);
	pq.PQclear(res);
out:
	sb_release(&an);
	sb_release(&aq);
	sb_release(&aa);
	free(names);
	free(queues);
	free(attempts);
	return rc;
}

static int pg_tags_add(struct store *s, int64_t post, char *const *tags, int ntags)
{
	struct pg *q = (struct pg *)s;
	struct strbuf arr = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	sb_add_text_array(&arr, (const char *const *)tags, ntags);
	arg_str(&a, arr.buf);
	/* in name order, so two ingests adding the same new tags cannot deadlock;
	 * a tag another transaction is adding is waited for, then seen */
	rc = pg_exec(q, "add tags",
		     "INSERT INTO tags (name) SELECT DISTINCT t FROM unnest($1::text[]) t "
		     "ORDER BY t ON CONFLICT (name) DO NOTHING", &a, NULL);
	if (!rc) {
		arg_i64(&a, post);
		rc = pg_exec(q, "tag post",
			     "INSERT INTO post_tags (post_id, tag_id) SELECT $2, id FROM tags "
			     "WHERE name = ANY($1::text[]) ON CONFLICT DO NOTHING", &a, NULL);
	}
	sb_release(&arr);
	return rc;
}

static int pg_media_add(struct store *s, const struct media_info *m, int *is_new)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *pr;
	int rc;

	/* a concurrent insert of the same media makes this wait, then do nothing */
	arg_str(&a, m->sha);
	arg_str(&a, kind_name(m->kind));
	arg_str(&a, m->mime);
	arg_str(&a, m->format);
	arg_str(&a, m->ext);
	arg_i64(&a, m->bytes);
	arg_i64(&a, m->width);
	arg_i64(&a, m->height);
	if (m->duration > 0)
		arg_dbl(&a, m->duration);
	else
		arg_str(&a, NULL);
	arg_str(&a, m->probe_json ? m->probe_json : "{}");
	if ((rc = pg_exec(q, "add media",
			  "INSERT INTO media (sha256, kind, mime, format, ext, bytes, width, height, "
			  "duration, probe) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb) "
			  "ON CONFLICT (sha256) DO NOTHING", &a, &pr)))
		return rc;
	*is_new = strcmp(pq.PQcmdTuples(pr), "0") != 0;
	pq.PQclear(pr);
	if (*is_new)
		return 0;
	/* serialize with other ingests, enqueues and finalizes of this media */
	a.n = 1;
	return pg_exec(q, "lock media", "SELECT 1 FROM media WHERE sha256 = $1 FOR NO KEY UPDATE",
		       &a, NULL);
}

static int pg_post_add(struct store *s, int64_t owner, const char *media, const char *caption,
		       const char *status, const char *err, const char *trace_id, int64_t *id)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *pr;
	int rc;

	arg_i64(&a, owner);
	arg_str(&a, media);
	arg_str(&a, caption);
	arg_str(&a, status);
	arg_str(&a, err);
	arg_str(&a, trace_id);
	if ((rc = pg_exec(q, "add post",
			  "INSERT INTO posts (owner, media, caption, status, error, trace_id) "
			  "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id", &a, &pr)))
		return rc;
	*id = val_i64(pr, 0, 0);
	pq.PQclear(pr);
	return 0;
}

static int pg_feed_bump(struct store *s)
{
	return pg_exec((struct pg *)s, "bump feed", "UPDATE feed_state SET version = version + 1, "
		       "changed_at = now()", NULL, NULL);
}

/* ---------- enqueue ---------- */

/*
 * A batch is a few statements whatever its size (store_enqueue.c):
 * resolve every ref, look up every live job, insert the new jobs, one
 * NOTIFY per queue.  A big batch numbers its jobs from the table's
 * sequence and COPYs them in (rows go in by the page, and the id indexes
 * only grow at their right edge); a small one, md-enqueue of one job while
 * a worker waits, is a single INSERT from arrays, a round trip less than
 * that and one less again without the big statements' set-up.
 */

/* Big statements: hash in memory, and do not spend longer compiling them
 * (JIT) than running them. */
static int pg_bulk_begin(struct store *s)
{
	return pg_simple((struct pg *)s, "set up", "SET LOCAL work_mem = '64MB'; SET LOCAL jit = off");
}

/*
 * A hash named directly takes the trace id of its newest post: one pass
 * over those posts, not one lookup per ref.  The hash itself is sent back
 * only for post ids (the caller has the others).
 */
static int pg_refs_resolve(struct store *s, char *const *refs, const int64_t *post_ids, int n,
			   int traces, ref_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct strbuf ar = STRBUF_INIT, ap = STRBUF_INIT;
	const char **rv = xcalloc((size_t)n + 1, sizeof(*rv));
	char *nopid = xcalloc((size_t)n + 1, 1);
	struct args a = { 0 };
	PGresult *res;
	int rc;

	for (int i = 0; i < n; i++) {
		nopid[i] = !post_ids[i];
		/* text that cannot be valid UTF-8 names no media: NULL, resolved to nothing */
		rv[i] = utf8_valid(refs[i]) ? refs[i] : NULL;
	}
	sb_add_bin_array(&ar, rv, NULL, NULL, n);
	sb_add_bin_array(&ap, NULL, post_ids, nopid, n);
	arg_bin(&a, &ar);
	arg_bin(&a, &ap);
	arg_str(&a, traces ? "true" : "false");
	rc = pg_exec(q, "resolve",
		"WITH r AS MATERIALIZED ("
		"  SELECT u.ord, u.pid, m.sha256, m.kind, p.trace_id "
		"  FROM unnest($1::text[], $2::int8[]) WITH ORDINALITY AS u(ref, pid, ord) "
		"  LEFT JOIN posts p ON p.id = u.pid "
		"  JOIN media m ON m.sha256 = CASE WHEN u.pid IS NULL THEN u.ref ELSE p.media END"
		"), newest AS ("
		"  SELECT DISTINCT ON (t.media) t.media, t.trace_id FROM posts t "
		"  WHERE $3::bool AND t.media IN (SELECT sha256 FROM r WHERE pid IS NULL) "
		"  ORDER BY t.media, t.id DESC"
		") "
		"SELECT r.ord, CASE WHEN r.pid IS NOT NULL THEN r.sha256 END, r.kind, "
		"  CASE WHEN r.pid IS NOT NULL THEN r.trace_id ELSE n.trace_id END "
		"FROM r LEFT JOIN newest n ON n.media = r.sha256 AND r.pid IS NULL", &a, &res);
	sb_release(&ar);
	sb_release(&ap);
	free(rv);
	free(nopid);
	if (rc)
		return rc;
	for (int k = 0; k < pq.PQntuples(res); k++) {
		int i = (int)val_i64(res, k, 0) - 1;

		if (i >= 0 && i < n)
			cb(arg, i, pq.PQgetisnull(res, k, 1) ? refs[i] : val(res, k, 1),
			   kind_from_name(val(res, k, 2)), val(res, k, 3));
	}
	pq.PQclear(res);
	return 0;
}

static int pg_jobs_live(struct store *s, char *const *media, int nm, char *const *profiles,
			int np, live_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct strbuf am = STRBUF_INIT, ap = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	sb_add_bin_array(&am, (const char *const *)media, NULL, NULL, nm);
	sb_add_text_array(&ap, (const char *const *)profiles, np);
	arg_bin(&a, &am);
	arg_str(&a, ap.buf);
	rc = pg_exec(q, "look up live jobs",
		"SELECT DISTINCT ON (j.media, j.profile) m.ord, array_position($2::text[], j.profile), "
		"  j.id, j.queue, j.state "
		"FROM unnest($1::text[]) WITH ORDINALITY AS m(sha256, ord) "
		"JOIN jobs j ON " MEDIA_IS("j.media", "m.sha256") " "
		"WHERE j.profile = ANY($2::text[]) AND j.state IN ('available', 'running', 'succeeded') "
		"ORDER BY j.media, j.profile, j.id DESC", &a, &res);
	sb_release(&am);
	sb_release(&ap);
	if (rc)
		return rc;
	for (int k = 0; k < pq.PQntuples(res); k++)
		cb(arg, (int)val_i64(res, k, 0) - 1, (int)val_i64(res, k, 1) - 1, val_i64(res, k, 2),
		   val(res, k, 3), val(res, k, 4));
	pq.PQclear(res);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The n ids of res, ascending, to v in order (the rows of v went in in
 * their order, each numbered by the sequence as it went). */
static void pg_set_ids(const PGresult *res, struct job_row *v, int n)
{
	int64_t *ids = xcalloc((size_t)n, sizeof(*ids));

	for (int i = 0; i < n; i++)
		ids[i] = val_i64(res, i, 0);
	qsort(ids, (size_t)n, sizeof(*ids), cmp_i64);
	for (int i = 0; i < n; i++)
		v[i].id = ids[i];
	free(ids);
}

/* n ids from the jobs' sequence, ascending, into v. */
static int pg_number_jobs(struct pg *q, struct job_row *v, int n)
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, n);
	if ((rc = pg_exec(q, "number jobs",
			  "SELECT nextval('jobs_id_seq') FROM generate_series(1, $1::int)", &a, &res)))
		return rc;
	if (pq.PQntuples(res) != n) {
		error("database '%s': number jobs: %d ids for %d jobs", q->url, pq.PQntuples(res), n);
		pq.PQclear(res);
		return MD_EXIT_SOFTWARE;
	}
	pg_set_ids(res, v, n);
	pq.PQclear(res);
	return 0;
}

/* A unix time as a timestamptz COPY reads, to the microsecond, rounded
 * (not cut: .123456 is not stored as .123455). */
static void copy_time(char *at, size_t size, double when)
{
	time_t t = (time_t)when;
	long us = lround((when - (double)t) * 1e6);
	struct tm tm;

	if (us >= 1000000) {
		t++;
		us -= 1000000;
	}
	gmtime_r(&t, &tm);
	strftime(at, size, "%Y-%m-%d %H:%M:%S", &tm);
	xsnprintf(at + strlen(at), size - strlen(at), ".%06ld+00", us);
}

/* COPY text format: backslash escapes, \N for NULL. */
static void sb_add_copy_field(struct strbuf *sb, const char *s)
{
	if (!s) {
		sb_adds(sb, "\\N");
		return;
	}
	for (;;) {
		size_t n = strcspn(s, "\\\t\n\r");

		sb_add(sb, s, n);
		s += n;
		if (!*s)
			break;
		sb_addch(sb, '\\');
		sb_addch(sb, *s == '\t' ? 't' : *s == '\n' ? 'n' : *s == '\r' ? 'r' : '\\');
		s++;
	}
}

static void sb_add_copy_job(struct strbuf *sb, const struct job_row *j, int priority,
			    const char *at)
{
	sb_addf(sb, "%lld\t", (long long)j->id);
	sb_add_copy_field(sb, j->media);
	sb_addch(sb, '\t');
	sb_add_copy_field(sb, j->profile);
	sb_addch(sb, '\t');
	sb_add_copy_field(sb, j->queue);
	sb_addf(sb, "\t%d\t%d\t", priority, j->max_attempts);
	sb_add_copy_field(sb, j->trace_id);
	if (*at)
		sb_addf(sb, "\t%s", at);
	sb_addch(sb, '\n');
}

/* Below this many jobs, one INSERT from arrays (one round trip); from it
 * on, COPY (three, but the rows stream). */
#define COPY_MIN_JOBS 1000

/* A few jobs: one statement, the columns as arrays. */
static int pg_jobs_insert_few(struct pg *q, struct job_row *v, int n, int priority,
			      double run_at)
{
	const char **cols = xcalloc((size_t)n * 4 + 1, sizeof(*cols));
	int64_t *att = xcalloc((size_t)n + 1, sizeof(*att));
	struct strbuf arr[5] = { STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT, STRBUF_INIT };
	struct args a = { 0 };
	PGresult *res;
	int rc;

	for (int i = 0; i < n; i++) {
		cols[i] = v[i].media;
		cols[n + i] = v[i].profile;
		cols[2 * n + i] = v[i].queue;
		cols[3 * n + i] = v[i].trace_id;
		att[i] = v[i].max_attempts;
	}
	for (int k = 0; k < 4; k++) {
		sb_add_bin_array(&arr[k], cols + (size_t)k * n, NULL, NULL, n);
		arg_bin(&a, &arr[k]);
	}
	sb_add_bin_array(&arr[4], NULL, att, NULL, n);
	arg_bin(&a, &arr[4]);
	arg_i64(&a, priority);
	arg_dbl(&a, run_at);
	rc = pg_exec(q, "add jobs",
		"INSERT INTO jobs (media, profile, queue, trace_id, max_attempts, priority, run_at) "
		"SELECT u.m, u.p, u.q, u.t, u.a, $6::int, "
		"  CASE WHEN $7::float8 > 0 THEN to_timestamp($7::float8) ELSE now() END "
		"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[]) "
		"  WITH ORDINALITY AS u(m, p, q, t, a, ord) ORDER BY u.ord RETURNING id", &a, &res);
	for (int k = 0; k < 5; k++)
		sb_release(&arr[k]);
	free(cols);
	free(att);
	if (rc)
		return rc;
	if (pq.PQntuples(res) == n) {
		pg_set_ids(res, v, n);
	} else {
		error("database '%s': add jobs: %d ids for %d jobs", q->url, pq.PQntuples(res), n);
		rc = MD_EXIT_SOFTWARE;
	}
	pq.PQclear(res);
	return rc;
}

/* Ids in the order of v, then the rows by COPY. */
static int pg_jobs_insert(struct store *s, struct job_row *v, int n, int priority,
			  double run_at)
{
	struct pg *q = (struct pg *)s;
	struct strbuf buf = STRBUF_INIT;
	PGresult *res;
	char at[64] = "";
	int rc, sent = 1;

	if (n < COPY_MIN_JOBS)
		return pg_jobs_insert_few(q, v, n, priority, run_at);
	if ((rc = pg_number_jobs(q, v, n)))
		return rc;
	if (run_at > 0)
		copy_time(at, sizeof(at), run_at);
	res = pq.PQexec(q->conn, *at
		? "COPY jobs (id, media, profile, queue, priority, max_attempts, trace_id, run_at) FROM STDIN"
		: "COPY jobs (id, media, profile, queue, priority, max_attempts, trace_id) FROM STDIN");
	if (pq.PQresultStatus(res) != PGRES_COPY_IN)
		return pg_check(q, "add jobs", res, NULL);
	pq.PQclear(res);
	for (int i = 0; i < n && sent; i++) {
		sb_add_copy_job(&buf, &v[i], priority, at);
		/* in pieces, so the server parses while the rest is written */
		if (buf.len >= 1 << 16) {
			sent = pq.PQputCopyData(q->conn, buf.buf, (int)buf.len) == 1;
			sb_reset(&buf);
		}
	}
	if (sent && buf.len)
		sent = pq.PQputCopyData(q->conn, buf.buf, (int)buf.len) == 1;
	sb_release(&buf);
	pq.PQputCopyEnd(q->conn, sent ? NULL : "client could not send the rows");
	rc = pg_check(q, "add jobs", pq.PQgetResult(q->conn), NULL);
	while ((res = pq.PQgetResult(q->conn)))
		pq.PQclear(res);
	return rc;
}

static int pg_jobs_notify(struct store *s, char *const *queues, int n)
{
	struct strbuf nq = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	if (!n)
		return 0;
	sb_add_text_array(&nq, (const char *const *)queues, n);
	arg_str(&a, nq.buf);
	rc = pg_exec((struct pg *)s, "notify workers", "SELECT pg_notify('" CHANNEL "', q) "
		     "FROM unnest($1::text[]) q", &a, NULL);
	sb_release(&nq);
	return rc;
}

/* ---------- worker ---------- */

/* Two int8[] literals, the jobs and the claims of n runs. */
static void sb_add_runs(struct strbuf *ids, struct strbuf *claims, const struct fence *runs,
			int n)
{
	sb_addch(ids, '{');
	sb_addch(claims, '{');
	for (int i = 0; i < n; i++) {
		sb_addf(ids, "%s%lld", i ? "," : "", (long long)runs[i].job);
		sb_addf(claims, "%s%lld", i ? "," : "", (long long)runs[i].claim);
	}
	sb_addch(ids, '}');
	sb_addch(claims, '}');
}

/* The jobs of a claim's answer (the row without a job carries only the
 * count of acknowledgements). */
static struct job *claimed_jobs(const PGresult *res, int *count)
{
	int rows = pq.PQntuples(res);
	struct job *v = xcalloc(rows > 0 ? rows : 1, sizeof(*v));

	*count = 0;
	for (int i = 0; i < rows; i++) {
		if (pq.PQgetisnull(res, i, 0))
			continue;
		struct job *j = &v[(*count)++];
		j->id = val_i64(res, i, 0);
		xsnprintf(j->media, sizeof(j->media), "%s", pq.PQgetvalue(res, i, 1));
		j->profile = val_dup(res, i, 2);
		j->queue = val_dup(res, i, 3);
		j->trace_id = val_dup(res, i, 4);
		j->attempts = (int)val_i64(res, i, 5);
		j->max_attempts = (int)val_i64(res, i, 6);
		j->kind = kind_from_name(pq.PQgetvalue(res, i, 7));
		j->format = val_dup(res, i, 8);
		j->ext = val_dup(res, i, 9);
		j->duration = pq.PQgetisnull(res, i, 11) ? 0 : strtod(pq.PQgetvalue(res, i, 11), NULL);
		j->claim = val_i64(res, i, 12);
		j->source = pq.PQgetisnull(res, i, 15) ? NULL : val_dup(res, i, 15);
	}
	return v;
}

/* The floor parameters of a claim under the queue filter qs ("" for all):
 * the remembered floor if it still holds, else the beginning. */
static void floor_args(struct pg *q, struct args *a, const char *qs)
{
	double now = mono_now();

	if (q->floor.set && (now - q->floor.since >= FLOOR_SECS || strcmp(q->floor.queues, qs)))
		floor_drop(q);
	if (!q->floor.set) {
		q->floor.since = now;
		arg_str(a, NO_FLOOR_PRIORITY);
		arg_str(a, "-infinity");
		arg_str(a, "0");
		return;
	}
	arg_i64(a, q->floor.priority);
	arg_str(a, q->floor.run_at);
	arg_i64(a, q->floor.id);
}

/* After a claim of n that found the answer res: a full batch leaves its
 * first (least) job as the floor, a short one none. */
static void floor_keep(struct pg *q, const PGresult *res, int n, int njobs, const char *qs)
{
	if (n <= 0 || njobs < n || pq.PQgetisnull(res, 0, 0) ||
	    (size_t)pq.PQgetlength(res, 0, 14) >= sizeof(q->floor.run_at)) {
		floor_drop(q);
		return;
	}
	if (!q->floor.queues || strcmp(q->floor.queues, qs)) {
		free(q->floor.queues);
		q->floor.queues = xstrdup(qs);
	}
	q->floor.priority = (int)val_i64(res, 0, 13);
	xsnprintf(q->floor.run_at, sizeof(q->floor.run_at), "%s", pq.PQgetvalue(res, 0, 14));
	q->floor.id = val_i64(res, 0, 0);
	q->floor.set = 1;
}

static int pg_claim_ack(struct store *s, const char *worker, char *const *queues, int nqueues,
			int n, double lease, const struct fence *ack, int nack,
			const char *ack_result, int *acked, struct job **jobs, int *njobs)
{
	struct pg *q = (struct pg *)s;
	struct strbuf qa = STRBUF_INIT, ai = STRBUF_INIT, ac = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	/* a worker's connection: its hot statements are written so that the
	 * generic plan is the good one, so plan them once, not at every
	 * execution (other tools keep custom plans for their big statements) */
	if (!q->generic) {
		pq.PQclear(pq.PQexec(q->conn, "SET plan_cache_mode = force_generic_plan"));
		q->generic = 1;
	}
	sb_add_runs(&ai, &ac, ack, nack);
	arg_str(&a, worker);
	arg_dbl(&a, lease);
	arg_i64(&a, n > 0 ? n : 0);
	arg_str(&a, ai.buf);
	arg_str(&a, ac.buf);
	arg_str(&a, ack_result ? ack_result : "{}");
	if (nqueues)
		sb_add_text_array(&qa, (const char *const *)queues, nqueues);
	floor_args(q, &a, nqueues ? qa.buf : "");
	if (nqueues)
		arg_str(&a, qa.buf);
	/* not replayed after an unknown outcome: the acks are fenced, and the
	 * claimed jobs of a lost answer come back when their lease expires */
	PG_RETRY(q, rc, pg_exec_prepared(q, "claim", nqueues ? ST_CLAIM_QUEUES : ST_CLAIM, &a, &res));
	sb_release(&ai);
	sb_release(&ac);
	if (rc) {
		floor_drop(q);
		sb_release(&qa);
		return rc;
	}
	*acked = pq.PQntuples(res) ? (int)val_i64(res, 0, 10) : 0;
	*jobs = claimed_jobs(res, njobs);
	floor_keep(q, res, n, *njobs, nqueues ? qa.buf : "");
	sb_release(&qa);
	pq.PQclear(res);
	return 0;
}

static int pg_claim(struct store *s, const char *worker, char *const *queues, int nqueues,
		    int n, double lease, struct job **jobs, int *njobs)
{
	int acked;

	return pg_claim_ack(s, worker, queues, nqueues, n, lease, NULL, 0, NULL, &acked,
			    jobs, njobs);
}

/* Statement st on the n runs ($1, $2) and a third parameter p3; res as
 * pg_exec_prepared's. */
static int pg_runs_exec(struct pg *q, const char *what, int st, const struct fence *runs, int n,
			const char *p3, int replayable, PGresult **res)
{
	struct strbuf ai = STRBUF_INIT, ac = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	sb_add_runs(&ai, &ac, runs, n);
	arg_str(&a, ai.buf);
	arg_str(&a, ac.buf);
	arg_str(&a, p3);
	q->replayable = replayable;
	PG_RETRY(q, rc, pg_exec_prepared(q, what, st, &a, res));
	q->replayable = 0;
	sb_release(&ai);
	sb_release(&ac);
	return rc;
}

static int pg_heartbeat(struct store *s, double lease, const struct fence *runs, int n,
			char *held)
{
	PGresult *res;
	char l[32];
	int rc;

	xsnprintf(l, sizeof(l), "%.17g", lease);
	/* replaying a lease extension is harmless */
	if ((rc = pg_runs_exec((struct pg *)s, "heartbeat", ST_HEARTBEAT, runs, n, l, 1, &res)))
		return rc;
	for (int r = 0; r < pq.PQntuples(res); r++)
		for (int i = 0; i < n; i++)
			if (runs[i].job == val_i64(res, r, 0) && runs[i].claim == val_i64(res, r, 1))
				held[i] = 1;
	pq.PQclear(res);
	return 0;
}

static int pg_jobs_succeed(struct store *s, const struct fence *runs, char *const *results, int n,
			   int *applied)
{
	struct strbuf ar = STRBUF_INIT;
	PGresult *res;
	int rc, same = results[0] != NULL;

	for (int i = 1; i < n && same; i++)
		same = results[i] && (results[i] == results[0] || !strcmp(results[i], results[0]));
	if (!same)
		sb_add_text_array(&ar, (const char *const *)results, n);
	rc = pg_runs_exec((struct pg *)s, "record success", same ? ST_SUCCEED_SAME : ST_SUCCEED_MANY,
			  runs, n, same ? results[0] : ar.buf, 0, &res);
	sb_release(&ar);
	if (rc)
		return rc;
	*applied = (int)strtol(pq.PQcmdTuples(res), NULL, 10);
	pq.PQclear(res);
	return 0;
}

static int pg_job_settle(struct store *s, const struct fence *run, enum settle how,
			 const char *err, double delay, int expired, int *applied)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, run->job);
	arg_i64(&a, run->claim);
	arg_i64(&a, (int64_t)how);
	arg_str(&a, err);
	arg_dbl(&a, delay);
	arg_i64(&a, expired != 0);
	/* a job released or retried may sort before the floor */
	floor_drop(q);
	PG_RETRY(q, rc, pg_exec_prepared(q, "end a run", ST_SETTLE, &a, &res));
	if (rc)
		return rc;
	*applied = strcmp(pq.PQcmdTuples(res), "0") != 0;
	pq.PQclear(res);
	return 0;
}

/* The running jobs sql selects (id, claims, attempts, max_attempts,
 * locked_by) with parameters a, into *v and *n. */
static int pg_read_runs(struct pg *q, const char *sql, const struct args *a, struct expired **v,
			int *n)
{
	PGresult *res;
	int rc;

	if ((rc = pg_read(q, "read running jobs", sql, a, &res)))
		return rc;
	*n = pq.PQntuples(res);
	*v = xcalloc((size_t)(*n > 0 ? *n : 1), sizeof(**v));
	for (int i = 0; i < *n; i++) {
		(*v)[i].run.job = val_i64(res, i, 0);
		(*v)[i].run.claim = val_i64(res, i, 1);
		(*v)[i].attempts = (int)val_i64(res, i, 2);
		(*v)[i].max_attempts = (int)val_i64(res, i, 3);
		(*v)[i].worker = val_dup(res, i, 4);
	}
	pq.PQclear(res);
	return 0;
}

static int pg_jobs_expired(struct store *s, const char *not_worker, int max, struct expired **v,
			   int *n)
{
	struct args a = { 0 };

	arg_str(&a, not_worker);
	arg_i64(&a, max);
	return pg_read_runs((struct pg *)s,
		"SELECT id, claims, attempts, max_attempts, locked_by FROM jobs "
		"WHERE state = 'running' AND lease_until < now() "
		"  AND ($1::text IS NULL OR locked_by IS DISTINCT FROM $1) ORDER BY id LIMIT $2",
		&a, v, n);
}

static int pg_jobs_of_worker(struct store *s, const char *worker, struct expired **v, int *n)
{
	struct args a = { 0 };

	arg_str(&a, worker);
	return pg_read_runs((struct pg *)s,
		"SELECT id, claims, attempts, max_attempts, locked_by FROM jobs "
		"WHERE state = 'running' AND locked_by = $1 ORDER BY id", &a, v, n);
}

/* ---------- live workers ---------- */

static int pg_worker_upsert(struct store *s, const struct worker_reg *r)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	int rc;

	arg_str(&a, r->id);
	arg_str(&a, r->host);
	arg_i64(&a, r->pid);
	arg_str(&a, r->queues);
	arg_i64(&a, r->slots);
	arg_str(&a, r->version);
	q->replayable = 1;      /* the same row again */
	PG_RETRY(q, rc, pg_exec(q, "register the worker",
		"INSERT INTO workers (id, host, pid, queues, slots, version) "
		"VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET host = excluded.host, "
		"pid = excluded.pid, queues = excluded.queues, slots = excluded.slots, "
		"version = excluded.version, started_at = now(), beat_at = now(), gone_at = NULL",
		&a, NULL));
	q->replayable = 0;
	return rc;
}

/* A statement on the worker $1; *changed (may be NULL): a row changed. */
static int pg_worker_exec(struct pg *q, const char *what, const char *sql, const char *id,
			  int *changed)
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, id);
	q->replayable = 1;      /* a heartbeat or a removal again does no harm */
	PG_RETRY(q, rc, pg_exec(q, what, sql, &a, &res));
	q->replayable = 0;
	if (rc)
		return rc;
	if (changed)
		*changed = strcmp(pq.PQcmdTuples(res), "0") != 0;
	pq.PQclear(res);
	return 0;
}

static int pg_queue_pause(struct store *s, const char *queue, int pause, const char *by,
			  int *changed)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, queue);
	if (pause)
		arg_str(&a, by);
	if ((rc = pg_exec(q, pause ? "pause a queue" : "resume a queue", pause ?
			  "INSERT INTO queue_pauses (queue, paused_by) VALUES ($1, $2) "
			  "ON CONFLICT (queue) DO NOTHING" : "DELETE FROM queue_pauses WHERE queue = $1",
			  &a, &res)))
		return rc;
	*changed = strcmp(pq.PQcmdTuples(res), "0") != 0;
	pq.PQclear(res);
	return 0;
}

static int pg_worker_beat(struct store *s, const char *id, int *alive)
{
	return pg_worker_exec((struct pg *)s, "worker heartbeat",
		"UPDATE workers SET beat_at = now() WHERE id = $1 AND gone_at IS NULL", id, alive);
}

static int pg_worker_delete(struct store *s, const char *id)
{
	return pg_worker_exec((struct pg *)s, "unregister the worker",
			      "DELETE FROM workers WHERE id = $1", id, NULL);
}

static int pg_workers_gone(struct store *s, double after, const char *self, char ***ids, int *n)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_dbl(&a, after);
	arg_str(&a, self);
	PG_RETRY(q, rc, pg_exec(q, "find gone workers",
		"UPDATE workers SET gone_at = now() WHERE gone_at IS NULL "
		"AND beat_at < now() - $1::float8 * interval '1 second' "
		"AND ($2::text IS NULL OR id <> $2) RETURNING id", &a, &res));
	if (rc)
		return rc;
	*n = pq.PQntuples(res);
	*ids = xcalloc((size_t)(*n > 0 ? *n : 1), sizeof(**ids));
	for (int i = 0; i < *n; i++)
		(*ids)[i] = val_dup(res, i, 0);
	pq.PQclear(res);
	return 0;
}

static int pg_queue_counts(struct store *s, char *const *queues, int nqueues,
			   int64_t *avail, int64_t *running, double *next_run)
{
	struct pg *q = (struct pg *)s;
	struct strbuf qa = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	if (nqueues)
		sb_add_text_array(&qa, (const char *const *)queues, nqueues);
	arg_str(&a, nqueues ? qa.buf : NULL);
	q->replayable = 1;
	/* three subqueries, so each uses its partial index */
	PG_RETRY(q, rc, pg_exec(q, "count jobs",
		"SELECT (SELECT count(*) FROM jobs WHERE state = 'available' AND run_at <= now() "
		"    AND ($1::text[] IS NULL OR queue = ANY($1::text[])) AND " NOT_PAUSED "), "
		"  (SELECT count(*) FROM jobs WHERE state = 'running' "
		"    AND ($1::text[] IS NULL OR queue = ANY($1::text[]))), "
		"  (SELECT extract(epoch FROM min(run_at)) FROM jobs WHERE state = 'available' "
		"    AND attempts > 0 AND run_at > now() AND ($1::text[] IS NULL OR queue = ANY($1::text[])) "
		"    AND " NOT_PAUSED ")",
		&a, &res));
	q->replayable = 0;
	sb_release(&qa);
	if (rc)
		return rc;
	*avail = val_i64(res, 0, 0);
	*running = val_i64(res, 0, 1);
	*next_run = pq.PQgetisnull(res, 0, 2) ? 0 : strtod(pq.PQgetvalue(res, 0, 2), NULL);
	pq.PQclear(res);
	return 0;
}

/* ---------- wake-ups ---------- */

static int pg_listen(struct store *s, char *const *queues, int nqueues)
{
	struct pg *q = (struct pg *)s;
	int rc;

	for (int i = 0; i < q->nqueues; i++)
		free(q->queues[i]);
	free(q->queues);
	q->queues = xcalloc(nqueues + 1, sizeof(*q->queues));
	for (int i = 0; i < nqueues; i++)
		q->queues[i] = xstrdup(queues[i]);
	q->nqueues = nqueues;
	if (q->poll_only || q->listening)
		return 0;
	q->replayable = 1;
	PG_RETRY(q, rc, pg_simple(q, "listen", "LISTEN " CHANNEL));
	q->replayable = 0;
	if (rc)
		return rc;
	q->listening = 1;
	if ((q->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0 ||
	    (q->nfd = fcntl(q->tfd, F_DUPFD_CLOEXEC, 0)) < 0) {
		error_errno("cannot make a timer");
		return MD_EXIT_SOFTWARE;
	}
	pg_point_nfd(q);
	return 0;
}

static int pg_notify_fd(struct store *s)
{
	struct pg *q = (struct pg *)s;

	return q->poll_only ? -1 : q->nfd;
}

static int pg_consume_notify(struct store *s)
{
	struct pg *q = (struct pg *)s;
	PGnotify *nf;
	int n = 0;

	if (q->poll_only || !q->listening)
		return 0;
	if (pq.PQstatus(q->conn) != CONNECTION_OK) {
		/* the reconnection timer fired */
		uint64_t ticks;
		ssize_t r = read(q->tfd, &ticks, sizeof(ticks));

		(void)r;
		goto reconnect;
	}
	if (!pq.PQconsumeInput(q->conn) || pq.PQstatus(q->conn) != CONNECTION_OK) {
		char *m = first_line(pq.PQerrorMessage(q->conn));

		pg_say(q, LOG_WARN, xstrfmt("database '%s': connection lost: %s", q->url, m));
		free(m);
		goto reconnect;
	}
	while ((nf = pq.PQnotifies(q->conn))) {
		int want = !q->nqueues;

		for (int i = 0; i < q->nqueues && !want; i++)
			want = !strcmp(q->queues[i], nf->extra);
		if (want && !strcmp(nf->relname, CHANNEL))
			n++;
		/* new jobs may sort before the floor */
		if (!strcmp(nf->relname, CHANNEL))
			floor_drop(q);
		pq.PQfreemem(nf);
	}
	return n;
reconnect:
	if (pg_reset(q)) {
		/* the descriptor is the timer now: it wakes the caller to try again */
		char *m = first_line(pq.PQerrorMessage(q->conn));
		pg_say(q, LOG_ERROR, xstrfmt("database '%s': cannot reconnect (next try in %d s): %s",
					     q->url, q->backoff, m));
		free(m);
		return -MD_EXIT_TEMPFAIL;
	}
	/* wake-ups sent while we were away are lost: have the caller look */
	return 1;
}

/* ---------- finalize ---------- */

/* The rows of res to cb: the media, an id (when there is a third
 * column), a text. */
static void media_rows(PGresult *res, media_cb cb, void *arg)
{
	int three = pq.PQnfields(res) > 2;

	for (int i = 0; i < pq.PQntuples(res); i++)
		cb(arg, val(res, i, 0), three ? val_i64(res, i, 1) : 0, val(res, i, three ? 2 : 1));
	pq.PQclear(res);
}

/* A statement over the media of a batch, bound as $1 (text[]); its rows to
 * cb when cb is set. */
static int pg_batch(struct pg *q, const char *what, const char *sql, char *const *media, int n,
		    media_cb cb, void *arg)
{
	struct strbuf am = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res = NULL;
	int rc;

	sb_add_bin_array(&am, (const char *const *)media, NULL, NULL, n);
	arg_bin(&a, &am);
	rc = pg_exec(q, what, sql, &a, cb ? &res : NULL);
	sb_release(&am);
	if (!rc && cb)
		media_rows(res, cb, arg);
	return rc;
}

/* One statement on the jobs of a media, bound as $1. */
static int pg_media_exec(struct pg *q, const char *what, const char *sql, const char *media)
{
	struct args a = { 0 };

	arg_str(&a, media);
	return pg_exec(q, what, sql, &a, NULL);
}

/* The batch's media joined to their jobs j through the jobs_media index. */
#define BATCH_JOBS "jobs j JOIN unnest($1::text[]) AS b(m) ON " MEDIA_IS("j.media", "b.m") " "

/*
 * The candidates are locked (SKIP LOCKED: another finalizer, or an ingest
 * or enqueue adding to one, holds it); pg_finalize_lock then locks their
 * unfinalized jobs and checks them again.  Media of jobs past max_media
 * stay locked until the commit, left to the next batch of this finalizer.
 */
static int pg_finalize_pick(struct store *s, int max_jobs, int max_media, media_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res = NULL;
	int rc;

	arg_i64(&a, max_jobs);
	arg_i64(&a, max_media);
	rc = pg_exec(q, "find finished media",
		/* the oldest terminal, unfinalized jobs whose media have nothing
		 * left to run: a walk of the unfinalized index, not a scan */
		"WITH c AS (SELECT m.sha256, m.ext, j.id FROM jobs j JOIN media m ON m.sha256 = j.media "
		"  WHERE j.finalized_at IS NULL AND j.state IN ('succeeded', 'dead', 'cancelled') "
		/* OFFSET 0 keeps the check a probe of jobs_media per candidate:
		 * as an anti join, with few jobs left to run, the planner
		 * prefers one scan of the whole table per call */
		"  AND NOT EXISTS (SELECT 1 FROM jobs k WHERE " MEDIA_IS("k.media", "j.media") " "
		"    AND k.state IN ('available', 'running') OFFSET 0) "
		"  ORDER BY j.id LIMIT $1 FOR NO KEY UPDATE OF m SKIP LOCKED) "
		"SELECT sha256, ext FROM c GROUP BY sha256, ext ORDER BY min(id) LIMIT $2", &a, &res);
	if (!rc)
		media_rows(res, cb, arg);
	return rc;
}

static int pg_finalize_lock(struct store *s, char *const *media, int n, media_cb cb, void *arg)
{
	return pg_batch((struct pg *)s, "lock jobs",
		"SELECT u.m, NULL FROM unnest($1::text[]) AS u(m) LEFT JOIN ("
		"  SELECT j.media, j.state FROM " BATCH_JOBS "WHERE j.finalized_at IS NULL "
		"  FOR UPDATE OF j) k ON k.media = u.m GROUP BY u.m "
		"HAVING count(k.media) = 0 OR count(*) FILTER (WHERE k.state IN ('available', 'running')) > 0",
		media, n, cb, arg);
}

static int pg_renditions_register(struct store *s, char *const *media, int n)
{
	return pg_batch((struct pg *)s, "register renditions",
		"INSERT INTO renditions (media, profile, storage_key, bytes, metadata) "
		"SELECT DISTINCT ON (j.media, j.profile) j.media, j.profile, j.result->>'key', "
		"  coalesce((j.result->>'bytes')::numeric, 0)::bigint, j.result FROM " BATCH_JOBS
		"WHERE j.finalized_at IS NULL AND j.state = 'succeeded' AND j.result->>'key' IS NOT NULL "
		"ORDER BY j.media, j.profile, j.id DESC "
		"ON CONFLICT (media, profile) DO UPDATE SET storage_key = excluded.storage_key, "
		"bytes = excluded.bytes, metadata = excluded.metadata, created_at = now()",
		media, n, NULL, NULL);
}

static int pg_dead_round(struct store *s, char *const *media, int n, media_cb cb, void *arg)
{
	return pg_batch((struct pg *)s, "read dead jobs",
		"SELECT media, profile || ': ' || coalesce(last_error, 'failed') FROM ("
		"  SELECT DISTINCT ON (j.media, j.profile) j.id, j.media, j.profile, j.last_error "
		"  FROM " BATCH_JOBS "WHERE j.finalized_at IS NULL AND j.state = 'dead' "
		"  ORDER BY j.media, j.profile, j.id DESC) d ORDER BY media, id", media, n, cb, arg);
}

static int pg_posts_settle(struct store *s, char *const *media, char *const *status,
			   char *const *err, int n, settle_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct strbuf am = STRBUF_INIT, as = STRBUF_INIT, ae = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res = NULL;
	int rc;

	sb_add_bin_array(&am, (const char *const *)media, NULL, NULL, n);
	sb_add_bin_array(&as, (const char *const *)status, NULL, NULL, n);
	sb_add_bin_array(&ae, (const char *const *)err, NULL, NULL, n);
	arg_bin(&a, &am);
	arg_bin(&a, &as);
	arg_bin(&a, &ae);
	rc = pg_exec(q, "update posts",
		"UPDATE posts p SET status = b.s, error = b.e, updated_at = now() "
		"FROM unnest($1::text[], $2::text[], $3::text[]) AS b(m, s, e) "
		"WHERE p.media = b.m AND p.status IN ('pending', 'processing') "
		"RETURNING p.media, p.id, p.status, coalesce(p.trace_id, '')", &a, &res);
	sb_release(&am);
	sb_release(&as);
	sb_release(&ae);
	if (rc)
		return rc;
	for (int i = 0; i < pq.PQntuples(res); i++)
		cb(arg, val(res, i, 0), val_i64(res, i, 1), val(res, i, 2), val(res, i, 3));
	pq.PQclear(res);
	return 0;
}

static int pg_jobs_stamp(struct store *s, char *const *media, int n)
{
	return pg_batch((struct pg *)s, "stamp jobs",
		"UPDATE jobs j SET finalized_at = now() FROM unnest($1::text[]) AS b(m) "
		"WHERE " MEDIA_IS("j.media", "b.m") " AND j.finalized_at IS NULL "
		"AND j.state IN ('succeeded', 'dead', 'cancelled')", media, n, NULL, NULL);
}

/* ---------- the hook outbox ---------- */

static int pg_hook_add(struct store *s, const int64_t *posts, char *const *keys, char *const *status,
		       int n)
{
	struct pg *q = (struct pg *)s;
	struct strbuf ap = STRBUF_INIT, ak = STRBUF_INIT, as = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	sb_add_bin_array(&ap, NULL, posts, NULL, n);
	sb_add_bin_array(&ak, (const char *const *)keys, NULL, NULL, n);
	sb_add_bin_array(&as, (const char *const *)status, NULL, NULL, n);
	arg_bin(&a, &ap);
	arg_bin(&a, &ak);
	arg_bin(&a, &as);
	rc = pg_exec(q, "add hooks", "INSERT INTO hook_outbox (post_id, key, status) "
		     "SELECT p, k, s FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(p, k, s)", &a, NULL);
	sb_release(&ap);
	sb_release(&ak);
	sb_release(&as);
	return rc;
}

/* SKIP LOCKED: a row another finalizer is claiming is not waited for. */
static int pg_hook_claim(struct store *s, double lease, struct hook_call *c, int *found)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_dbl(&a, lease);
	rc = pg_exec(q, "claim a hook",
		"UPDATE hook_outbox SET attempts = attempts + 1, "
		"  run_at = now() + $1::float8 * interval '1 second' "
		"WHERE id = (SELECT id FROM hook_outbox WHERE run_at <= now() "
		"  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
		"RETURNING id, post_id, status, key, attempts", &a, &res);
	if (rc)
		return rc;
	if ((*found = pq.PQntuples(res) > 0)) {
		c->id = val_i64(res, 0, 0);
		c->post_id = val_i64(res, 0, 1);
		xsnprintf(c->status, sizeof(c->status), "%s", pq.PQgetvalue(res, 0, 2));
		xsnprintf(c->key, sizeof(c->key), "%s", pq.PQgetvalue(res, 0, 3));
		c->attempts = (int)val_i64(res, 0, 4);
	}
	pq.PQclear(res);
	return 0;
}

static int pg_hook_settle(struct store *s, int64_t id, int attempts, double delay, const char *err)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };

	arg_i64(&a, id);
	arg_i64(&a, attempts);
	if (delay < 0)
		return pg_exec(q, "clear a hook", "DELETE FROM hook_outbox WHERE id = $1 AND attempts = $2",
			       &a, NULL);
	arg_dbl(&a, delay);
	arg_str(&a, err);
	return pg_exec(q, "delay a hook", "UPDATE hook_outbox SET last_error = $4, "
		       "run_at = now() + $3::float8 * interval '1 second' "
		       "WHERE id = $1 AND attempts = $2", &a, NULL);
}

/* ---------- feed ---------- */

/* The page's query, and its arguments into a: only the filters that are
 * set, so that the plan seeks the index of the order to the cursor. */
static void pg_feed_sql(struct strbuf *sql, struct args *a, const struct feed_query *fq,
			const char *ids, int limit)
{
	const char *dir = fq->oldest_first ? "" : " DESC";

	arg_str(a, fq->base_url);
	/*
	 * Tags and renditions are aggregated here, in the one query; written
	 * out compact (["a","b"], {"k":"v"}) as SQLite's json_group_array and
	 * json_group_object do, so both backends print the same bytes.
	 */
	sb_adds(sql,
		"SELECT p.id, u.username, p.caption, p.status, " ISO("p.created_at") ", p.media, "
		"  m.kind, p.trace_id, "
		"  coalesce((SELECT '[' || string_agg(to_json(t.name)::text, ',' ORDER BY t.name) || ']' "
		"    FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '[]'), "
		"  coalesce((SELECT '{' || string_agg(to_json(r.profile)::text || ':' || "
		"      to_json($1 || r.storage_key)::text, ',' ORDER BY r.profile) || '}' "
		"    FROM renditions r WHERE r.media = p.media), '{}'), "
		"  p.error, "
		"  coalesce((SELECT json_agg(json_build_object('profile', r.profile, "
		"      'url', $1 || r.storage_key, 'bytes', r.bytes, 'metadata', r.metadata) "
		"      ORDER BY r.profile)::text "
		"    FROM renditions r WHERE r.media = p.media), '[]') "
		"FROM posts p JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media "
		"WHERE true");
	if (fq->status) {
		arg_str(a, fq->status);
		sb_addf(sql, " AND p.status = $%d", a->n);
	}
	if (fq->user) {
		arg_str(a, fq->user);
		sb_addf(sql, " AND p.owner = (SELECT id FROM users WHERE username = $%d)", a->n);
	}
	if (fq->tag) {
		arg_str(a, fq->tag);
		sb_addf(sql, " AND EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = p.id "
			"AND pt.tag_id = (SELECT id FROM tags WHERE name = $%d))", a->n);
	}
	if (fq->before) {
		arg_i64(a, fq->before);
		sb_addf(sql, " AND (p.created_at, p.id) %c (SELECT created_at, id FROM posts WHERE id = $%d)",
			fq->oldest_first ? '>' : '<', a->n);
	}
	if (ids) {
		arg_str(a, ids);
		sb_addf(sql, " AND p.id = ANY($%d::bigint[])", a->n);
	}
	if (fq->media) {
		arg_str(a, fq->media);
		sb_addf(sql, " AND p.media = $%d", a->n);
	}
	arg_i64(a, limit);
	sb_addf(sql, " ORDER BY p.created_at%s, p.id%s LIMIT $%d", dir, dir, a->n);
}

static int pg_feed_page(struct store *s, const struct feed_query *fq, int limit, feed_cb cb,
			void *arg)
{
	struct pg *q = (struct pg *)s;
	struct strbuf ids = STRBUF_INIT, sql = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res;
	int rc = 0;

	if (fq->npost_ids)
		sb_add_int_array(&ids, fq->post_ids, NULL, fq->npost_ids);
	pg_feed_sql(&sql, &a, fq, fq->npost_ids ? ids.buf : NULL, limit);
	q->replayable = 1;
	PG_RETRY(q, rc, pg_exec(q, "read feed", sql.buf, &a, &res));
	sb_release(&sql);
	q->replayable = 0;
	sb_release(&ids);
	if (rc)
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct feed_row row = {
			.post_id = val_i64(res, i, 0),
			.user = val(res, i, 1),
			.caption = val(res, i, 2),
			.status = val(res, i, 3),
			.created_at = val(res, i, 4),
			.media = val(res, i, 5),
			.kind = val(res, i, 6),
			.trace_id = val(res, i, 7),
			.tags_json = val(res, i, 8),
			.renditions_json = val(res, i, 9),
			.error = val(res, i, 10),
			.rendition_list_json = val(res, i, 11),
		};
		rc = cb(arg, &row);
	}
	pq.PQclear(res);
	return rc;
}

static int pg_feed_version(struct store *s, int64_t *version)
{
	struct pg *q = (struct pg *)s;
	PGresult *res;
	int rc;

	rc = pg_read(q, "read feed version", "SELECT version FROM feed_state WHERE id = 1",
		     NULL, &res);
	if (rc)
		return rc;
	*version = pq.PQntuples(res) ? val_i64(res, 0, 0) : 0;
	pq.PQclear(res);
	return 0;
}

static int pg_feed_tags(struct store *s, const char *status, tag_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, status);
	rc = pg_read(q, "read tags",
		"SELECT DISTINCT t.name FROM tags t JOIN post_tags pt ON pt.tag_id = t.id "
		"JOIN posts p ON p.id = pt.post_id WHERE ($1::text IS NULL OR p.status = $1) "
		"ORDER BY t.name", &a, &res);
	if (rc)
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++)
		rc = cb(arg, val(res, i, 0));
	pq.PQclear(res);
	return rc;
}

/* ---------- job control ---------- */

static int pg_jobs(struct store *s, const struct job_query *jq, job_info_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct strbuf ids = STRBUF_INIT;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	if (jq->nids)
		sb_add_int_array(&ids, jq->ids, NULL, jq->nids);
	arg_str(&a, jq->state);
	arg_str(&a, jq->queue);
	arg_str(&a, jq->profile);
	arg_str(&a, jq->media);
	arg_str(&a, jq->nids ? ids.buf : NULL);
	arg_i64(&a, jq->limit);
	rc = pg_read(q, "read jobs",
		"SELECT id, media, profile, queue, state, priority, attempts, max_attempts, "
		ISO("run_at") ", " ISO("created_at") ", " ISO("started_at") ", "
		ISO("finished_at") ", " ISO("finalized_at") ", locked_by, " ISO("lease_until") ", "
		"last_error, trace_id, result "
		"FROM jobs WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR queue = $2) "
		"AND ($3::text IS NULL OR profile = $3) "
		"AND ($4::text IS NULL OR " MEDIA_IS("media", "$4::text") ") "
		"AND ($5::int8[] IS NULL OR id = ANY($5::int8[])) "
		"ORDER BY id DESC LIMIT CASE WHEN $6::int > 0 THEN $6::int END", &a, &res);
	sb_release(&ids);
	if (rc)
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct job_info j = {
			.id = val_i64(res, i, 0),
			.media = val(res, i, 1),
			.profile = val(res, i, 2),
			.queue = val(res, i, 3),
			.state = val(res, i, 4),
			.priority = (int)val_i64(res, i, 5),
			.attempts = (int)val_i64(res, i, 6),
			.max_attempts = (int)val_i64(res, i, 7),
			.run_at = val(res, i, 8),
			.created_at = val(res, i, 9),
			.started_at = val(res, i, 10),
			.finished_at = val(res, i, 11),
			.finalized_at = val(res, i, 12),
			.locked_by = val(res, i, 13),
			.lease_until = val(res, i, 14),
			.last_error = val(res, i, 15),
			.trace_id = val(res, i, 16),
			.result = val(res, i, 17),
		};
		rc = cb(arg, &j);
	}
	pq.PQclear(res);
	return rc;
}

static int pg_job_read(struct store *s, int64_t id, char **state, char **media, char **profile)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, id);
	if ((rc = pg_exec(q, "read job", "SELECT state, media, profile FROM jobs WHERE id = $1 "
			  "FOR UPDATE", &a, &res)))
		return rc;
	if (pq.PQntuples(res)) {
		*state = val_dup(res, 0, 0);
		*media = val_dup(res, 0, 1);
		*profile = val_dup(res, 0, 2);
	}
	pq.PQclear(res);
	return 0;
}

/* One statement on one job, bound as $1. */
static int pg_job_exec(struct pg *q, const char *what, const char *sql, int64_t id)
{
	struct args a = { 0 };

	arg_i64(&a, id);
	return pg_exec(q, what, sql, &a, NULL);
}

static int pg_job_cancel(struct store *s, int64_t id)
{
	return pg_job_exec((struct pg *)s, "cancel job", "UPDATE jobs SET state = 'cancelled', "
			   "finished_at = now(), lease_until = NULL, finalized_at = NULL WHERE id = $1",
			   id);
}

static int pg_job_reset(struct store *s, int64_t id)
{
	return pg_job_exec((struct pg *)s, "retry job",
			   "WITH j AS (UPDATE jobs SET state = 'available', attempts = 0, run_at = now(), "
			   "  started_at = NULL, finished_at = NULL, finalized_at = NULL, locked_by = NULL, "
			   "  lease_until = NULL, result = NULL WHERE id = $1 RETURNING queue) "
			   "SELECT pg_notify('" CHANNEL "', queue) FROM j", id);
}

static int pg_posts_reopen(struct store *s, const char *media, int64_t *n)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, media);
	if ((rc = pg_exec(q, "reopen posts", "UPDATE posts SET status = 'processing', error = NULL, "
			  "updated_at = now() WHERE media = $1 AND status = 'failed'", &a, &res)))
		return rc;
	*n = strtoll(pq.PQcmdTuples(res), NULL, 10);
	pq.PQclear(res);
	return 0;
}

static int pg_dead_unfinalize(struct store *s, const char *media)
{
	return pg_media_exec((struct pg *)s, "reopen dead jobs",
			     "UPDATE jobs k SET finalized_at = NULL WHERE "
			     MEDIA_IS("k.media", "$1::text") " AND k.state = 'dead' "
			     "AND NOT EXISTS (SELECT 1 FROM jobs s "
			     "  WHERE " MEDIA_IS("s.media", "$1::text") " AND s.profile = k.profile "
			     "  AND s.state = 'succeeded')", media);
}

static int pg_jobs_lock(struct store *s)
{
	return pg_simple((struct pg *)s, "lock jobs", "SELECT pg_advisory_xact_lock(" JOBS_LOCK ")");
}

static int pg_live_twin(struct store *s, int64_t not_id, const char *media, const char *profile,
			int64_t *id, char **state)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, not_id);
	arg_str(&a, media);
	arg_str(&a, profile);
	if ((rc = pg_exec(q, "look up live jobs", "SELECT id, state FROM jobs WHERE "
			  MEDIA_IS("media", "$2::text") " AND profile = $3 AND id <> $1 "
			  "AND state IN ('available', 'running', 'succeeded') ORDER BY id DESC LIMIT 1",
			  &a, &res)))
		return rc;
	if (pq.PQntuples(res)) {
		*id = val_i64(res, 0, 0);
		*state = val_dup(res, 0, 1);
	}
	pq.PQclear(res);
	return 0;
}

/* ---------- status ---------- */

static const char *const pg_status_sql[] = {
	[STATUS_JOBS] =
	"SELECT queue, state, count(*), "
	"  count(*) FILTER (WHERE finished_at > now() - interval '1 minute'), "
	"  count(*) FILTER (WHERE finished_at > now() - interval '1 hour') "
	"FROM jobs GROUP BY queue, state ORDER BY queue, state",
	[STATUS_WAITING] =
	"SELECT queue, extract(epoch FROM now() - min(run_at)) FROM jobs "
	"WHERE state = 'available' AND run_at <= now() GROUP BY queue ORDER BY queue",
	[STATUS_RUNNING] =
	"SELECT j.id, j.queue, j.profile, j.media, j.locked_by, "
	"  extract(epoch FROM now() - j.started_at), "
	"  CASE WHEN j.progress IS NOT NULL AND m.duration > 0 "
	"    THEN least(j.progress / m.duration, 1.0) END "
	"FROM jobs j LEFT JOIN media m ON m.sha256 = j.media "
	"WHERE j.state = 'running' ORDER BY j.started_at, j.id",
	[STATUS_DEAD] =
	"SELECT id, queue, profile, media, last_error, " ISO("finished_at") " FROM jobs "
	"WHERE state = 'dead' ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT $1",
	[STATUS_POSTS] =
	"SELECT status, count(*) FROM posts GROUP BY status ORDER BY status",
	[STATUS_WORKERS] =
	"SELECT w.id, CASE WHEN w.gone_at IS NULL THEN 'running' ELSE 'gone' END, w.queues, w.slots, "
	"  (SELECT count(*) FROM jobs j WHERE j.state = 'running' AND j.locked_by = w.id), "
	"  extract(epoch FROM now() - w.beat_at), " ISO("w.started_at") ", w.version "
	"FROM workers w WHERE w.gone_at IS NULL OR w.gone_at > now() - interval '1 day' "
	"ORDER BY w.id",
	[STATUS_PAUSED] =
	"SELECT queue, paused_by, " ISO("paused_at") ", extract(epoch FROM now() - paused_at) "
	"FROM queue_pauses ORDER BY queue",
	/* pg_current_wal_lsn() fails on a standby: the primary's branch
	 * computes it only for rows that pass NOT pg_is_in_recovery().  A
	 * user without pg_read_all_stats (pg_monitor) sees only the pid of
	 * each standby: state "hidden", lags not known (-1) */
	[STATUS_REPLICAS] =
	"SELECT coalesce(nullif(application_name, ''), host(client_addr), 'pid ' || pid), "
	"  coalesce(state, 'hidden'), "
	"  CASE WHEN state IS NULL THEN -1 ELSE coalesce(extract(epoch FROM replay_lag), 0) END, "
	"  coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::int8, -1) "
	"FROM pg_stat_replication WHERE NOT pg_is_in_recovery() "
	"UNION ALL "
	"SELECT '(this server)', 'standby', "
	"  coalesce(extract(epoch FROM now() - pg_last_xact_replay_timestamp()), 0), "
	"  coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::int8, -1) "
	"WHERE pg_is_in_recovery() ORDER BY 1",
};

/* Row i of figure k. */
static void pg_status_item(const PGresult *r, int i, enum status_kind k, struct status_item *it)
{
	switch (k) {
	case STATUS_JOBS:
		it->queue = val(r, i, 0);
		it->state = val(r, i, 1);
		it->n = val_i64(r, i, 2);
		it->done_1m = val_i64(r, i, 3);
		it->done_1h = val_i64(r, i, 4);
		break;
	case STATUS_WAITING:
		it->queue = val(r, i, 0);
		it->seconds = strtod(pq.PQgetvalue(r, i, 1), NULL);
		break;
	case STATUS_RUNNING:
	case STATUS_DEAD:
		it->id = val_i64(r, i, 0);
		it->queue = val(r, i, 1);
		it->profile = val(r, i, 2);
		it->media = val(r, i, 3);
		if (k == STATUS_RUNNING) {
			it->worker = val(r, i, 4);
			it->seconds = strtod(pq.PQgetvalue(r, i, 5), NULL);
			it->progress = pq.PQgetisnull(r, i, 6) ? -1 : strtod(pq.PQgetvalue(r, i, 6), NULL);
		} else {
			it->error = val(r, i, 4);
			it->at = val(r, i, 5);
		}
		break;
	case STATUS_POSTS:
		it->state = val(r, i, 0);
		it->n = val_i64(r, i, 1);
		break;
	case STATUS_WORKERS:
		it->worker = val(r, i, 0);
		it->state = val(r, i, 1);
		it->queue = val(r, i, 2);
		it->n = val_i64(r, i, 3);
		it->id = val_i64(r, i, 4);
		it->seconds = strtod(pq.PQgetvalue(r, i, 5), NULL);
		it->at = val(r, i, 6);
		it->profile = val(r, i, 7);
		break;
	case STATUS_PAUSED:
		it->queue = val(r, i, 0);
		it->worker = val(r, i, 1);
		it->at = val(r, i, 2);
		it->seconds = strtod(pq.PQgetvalue(r, i, 3), NULL);
		break;
	case STATUS_REPLICAS:
		it->worker = val(r, i, 0);
		it->state = val(r, i, 1);
		it->seconds = strtod(pq.PQgetvalue(r, i, 2), NULL);
		it->n = val_i64(r, i, 3);
		break;
	}
}

static int pg_status_figure(struct store *s, enum status_kind k, int dead_limit, status_cb cb,
			    void *arg)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, dead_limit);
	if ((rc = pg_exec(q, "read status", pg_status_sql[k], k == STATUS_DEAD ? &a : NULL, &res)))
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct status_item it = { .kind = k };

		pg_status_item(res, i, k, &it);
		rc = cb(arg, &it);
	}
	pq.PQclear(res);
	return rc;
}

static int pg_jobs_progress(struct store *s, const struct fence *runs, const double *seconds,
			    int n)
{
	struct pg *q = (struct pg *)s;
	struct strbuf ai = STRBUF_INIT, ac = STRBUF_INIT, as = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	sb_add_runs(&ai, &ac, runs, n);
	sb_addch(&as, '{');
	for (int i = 0; i < n; i++)
		sb_addf(&as, "%s%.3f", i ? "," : "", seconds[i]);
	sb_addch(&as, '}');
	arg_str(&a, ai.buf);
	arg_str(&a, ac.buf);
	arg_str(&a, as.buf);
	q->replayable = 1;     /* the same values again do no harm */
	PG_RETRY(q, rc, pg_exec(q, "record progress",
		"UPDATE jobs j SET progress = " RUN_VALUE("$3::float8[]") " "
		RUNS_ARE("$1", "$2"), &a, NULL));
	q->replayable = 0;
	sb_release(&ai);
	sb_release(&ac);
	sb_release(&as);
	return rc;
}

/* ---------- users ---------- */

static int pg_users(struct store *s, const char *name, user_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, name);
	rc = pg_read(q, "read users",
		"SELECT u.username, u.email, u.password_hash, " ISO("u.created_at") ", "
		"(SELECT count(*) FROM posts p WHERE p.owner = u.id) FROM users u "
		"WHERE $1::text IS NULL OR u.username = $1 ORDER BY u.username", &a, &res);
	if (rc)
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct user_info u = {
			.name = val(res, i, 0),
			.email = val(res, i, 1),
			.password_hash = val(res, i, 2),
			.created_at = val(res, i, 3),
			.posts = val_i64(res, i, 4),
		};
		rc = cb(arg, &u);
	}
	pq.PQclear(res);
	return rc;
}

static int pg_users_lock(struct store *s)
{
	/* one change of users at a time: the facts read stay true */
	return pg_simple((struct pg *)s, "lock users", "LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE");
}

static int pg_user_facts(struct store *s, const char *name, const char *email,
			 int64_t *exists, int64_t *taken, int64_t *posts)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, name);
	arg_str(&a, email);
	if ((rc = pg_exec(q, "read users",
			  "SELECT (SELECT count(*) FROM users WHERE username = $1), "
			  "(SELECT count(*) FROM users WHERE email = $2 AND username <> $1), "
			  "(SELECT count(*) FROM posts p JOIN users u ON u.id = p.owner "
			  "  WHERE u.username = $1)", &a, &res)))
		return rc;
	*exists = val_i64(res, 0, 0);
	*taken = val_i64(res, 0, 1);
	*posts = val_i64(res, 0, 2);
	pq.PQclear(res);
	return 0;
}

static int pg_user_write(struct store *s, enum user_op op, const char *name, const char *email,
			 const char *hash)
{
	static const char *const sql[] = {
		[USER_ADD] = "INSERT INTO users (username, email, password_hash) "
			"VALUES ($1, $2, $3)",
		[USER_PASSWD] = "UPDATE users SET password_hash = $3, email = coalesce($2, email) "
			"WHERE username = $1",
		[USER_DEL] = "DELETE FROM users WHERE username = $1",
	};
	static const char *const what[] = {
		[USER_ADD] = "add user", [USER_PASSWD] = "set password", [USER_DEL] = "delete user",
	};
	struct args a = { 0 };

	arg_str(&a, name);
	if (op != USER_DEL) {
		arg_str(&a, email);
		arg_str(&a, hash);
	}
	return pg_exec((struct pg *)s, what[op], sql[op], &a, NULL);
}

/* ---------- removing content ---------- */

/* The rows of a statement that returns (id, media, user) to cb. */
static int pg_post_rows(struct pg *q, const char *what, const char *sql, const struct args *a,
			post_cb cb, void *arg)
{
	PGresult *res;
	int rc;

	if ((rc = pg_exec(q, what, sql, a, &res)))
		return rc;
	for (int i = 0; i < pq.PQntuples(res); i++)
		cb(arg, val_i64(res, i, 0), val(res, i, 1), val(res, i, 2));
	pq.PQclear(res);
	return 0;
}

static int pg_posts_pick(struct store *s, const struct post_selector *sel, post_cb cb, void *arg)
{
	struct strbuf ids = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	if (sel->nids)
		sb_add_int_array(&ids, sel->ids, NULL, sel->nids);
	arg_str(&a, sel->user);
	arg_str(&a, sel->tag);
	arg_str(&a, sel->nids ? ids.buf : NULL);
	rc = pg_post_rows((struct pg *)s, "read posts",
			  "SELECT p.id, p.media, u.username FROM posts p JOIN users u ON u.id = p.owner "
			  "WHERE ($1::text IS NULL OR u.username = $1) AND ($2::text IS NULL OR p.id IN "
			  "(SELECT pt.post_id FROM post_tags pt JOIN tags t ON t.id = pt.tag_id "
			  "WHERE t.name = $2)) AND ($3::int8[] IS NULL OR p.id = ANY($3::int8[])) "
			  "ORDER BY p.id FOR UPDATE OF p", &a, cb, arg);
	sb_release(&ids);
	return rc;
}

static int pg_posts_delete(struct store *s, const int64_t *ids, int n)
{
	struct strbuf v = STRBUF_INIT;
	struct args a = { 0 };
	int rc;

	sb_add_int_array(&v, ids, NULL, n);
	arg_str(&a, v.buf);
	rc = pg_exec((struct pg *)s, "delete posts", "DELETE FROM posts WHERE id = ANY($1::int8[])",
		     &a, NULL);
	sb_release(&v);
	return rc;
}

static int pg_media_lock(struct store *s, const char *media, char ext[16])
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	ext[0] = '\0';
	arg_str(&a, media);
	if ((rc = pg_exec((struct pg *)s, "lock media", "SELECT ext FROM media WHERE sha256 = $1 "
			  "FOR UPDATE", &a, &res)))
		return rc;
	if (pq.PQntuples(res))
		(void)snprintf(ext, 16, "%s", val(res, 0, 0));
	pq.PQclear(res);
	return 0;
}

static int pg_media_posts(struct store *s, const char *media, int64_t *n)
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, media);
	if ((rc = pg_exec((struct pg *)s, "count posts", "SELECT count(*) FROM posts "
			  "WHERE media = $1", &a, &res)))
		return rc;
	*n = val_i64(res, 0, 0);
	pq.PQclear(res);
	return 0;
}

static int pg_media_jobs_delete(struct store *s, const char *media, job_row_cb cb, void *arg)
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, media);
	if ((rc = pg_exec((struct pg *)s, "delete jobs",
			  "WITH d AS (DELETE FROM jobs WHERE " MEDIA_IS("media", "$1::text")
			  " RETURNING id, media, profile, state) SELECT * FROM d ORDER BY id",
			  &a, &res)))
		return rc;
	for (int i = 0; i < pq.PQntuples(res); i++)
		cb(arg, val_i64(res, i, 0), val(res, i, 1), val(res, i, 2), val(res, i, 3));
	pq.PQclear(res);
	return 0;
}

static int pg_media_delete(struct store *s, const char *media)
{
	struct pg *q = (struct pg *)s;
	int rc;

	if ((rc = pg_media_exec(q, "delete renditions", "DELETE FROM renditions WHERE media = $1",
				media)))
		return rc;
	return pg_media_exec(q, "delete media", "DELETE FROM media WHERE sha256 = $1", media);
}

static int pg_posts_reassign(struct store *s, const char *name, const char *other, post_cb cb,
			     void *arg)
{
	struct args a = { 0 };

	arg_str(&a, name);
	arg_str(&a, other);
	return pg_post_rows((struct pg *)s, "reassign posts",
			    "WITH p AS (UPDATE posts SET updated_at = now(), owner = "
			    "(SELECT id FROM users WHERE username = $2) WHERE owner = "
			    "(SELECT id FROM users WHERE username = $1) RETURNING id, media) "
			    "SELECT id, media, $2 FROM p ORDER BY id", &a, cb, arg);
}

static int pg_job_delete_finalized(struct store *s, int64_t id, int64_t *n)
{
	struct args a = { 0 };
	PGresult *res;
	int rc;

	*n = 0;
	arg_i64(&a, id);
	if ((rc = pg_exec((struct pg *)s, "drop job", "DELETE FROM jobs WHERE id = $1 "
			  "AND finalized_at IS NOT NULL", &a, &res)))
		return rc;
	*n = strtoll(pq.PQcmdTuples(res), NULL, 10);
	pq.PQclear(res);
	return 0;
}

static int pg_txn_begin(struct store *s, int last)
{
	struct pg *q = (struct pg *)s;

	q->retry = 0;
	q->last_try = last;
	return pg_begin(q);
}

/* One snapshot for every statement, and no write. */
/* ---------- housekeeping (md-janitor) ---------- */

#define JANITOR_LOCK "435694281300"     /* one md-janitor at a time (session-level) */
/* age seconds ago, the parameter $N */
#define AGO(n) "now() - make_interval(secs => $" n "::float8)"
/* the media of p has no job left to run or to finalize */
#define IDLE_MEDIA(p) \
	"NOT EXISTS (SELECT 1 FROM jobs j WHERE " MEDIA_IS("j.media", p ".media") \
	" AND (j.state IN ('available', 'running') OR j.finalized_at IS NULL))"

/* The janitor's lock lives on a connection of its own, so that the
 * store's reconnections can never drop it unseen. */
static int pg_janitor_lock(struct store *s, void **held)
{
	struct pg *q = (struct pg *)s;
	PQconninfoOption *opts = pq.PQconninfo(q->conn), *o;
	const char *kw[64], *kv[64];
	int n = 0, rc = 0;
	PGconn *c;
	PGresult *res;

	*held = NULL;
	if (!opts)
		die(MD_EXIT_SOFTWARE, "out of memory");
	for (o = opts; o->keyword && n < 63; o++)
		if (o->val && *o->val) {
			kw[n] = o->keyword;
			kv[n++] = o->val;
		}
	kw[n] = kv[n] = NULL;
	c = pq.PQconnectdbParams(kw, kv, 0);
	pq.PQconninfoFree(opts);
	if (!c)
		die(MD_EXIT_SOFTWARE, "out of memory");
	res = pq.PQstatus(c) == CONNECTION_OK
		? pq.PQexec(c, "SELECT pg_try_advisory_lock(" JANITOR_LOCK ")") : NULL;
	if (pq.PQresultStatus(res) != PGRES_TUPLES_OK) {
		char *m = first_line(pq.PQerrorMessage(c));
		error("database '%s': cannot take the janitor's lock: %s", q->url, m);
		free(m);
		rc = MD_EXIT_TEMPFAIL;
	} else if (!strcmp(pq.PQgetvalue(res, 0, 0), "t")) {
		*held = c;
	}
	pq.PQclear(res);
	if (!*held)
		pq.PQfinish(c);
	return rc;
}

static void pg_janitor_unlock(struct store *s, void *held)
{
	pq.PQfinish(held);
}

/* cb for each row of res: the columns as jan_row fields, in the order id,
 * media, name, key, at, claim (as many as res has). */
static int pg_jan_rows(PGresult *res, enum jan_ref kind, jan_cb cb, void *arg)
{
	int rc = 0, nc = pq.PQnfields(res);

	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct jan_row row = {
			.kind = kind, .id = val_i64(res, i, 0),
			.media = nc > 1 ? val(res, i, 1) : NULL,
			.name = nc > 2 ? val(res, i, 2) : NULL,
			.key = nc > 3 ? val(res, i, 3) : NULL,
			.at = nc > 4 ? val(res, i, 4) : NULL,
			.claim = nc > 5 ? val_i64(res, i, 5) : 0,
		};
		rc = cb(arg, &row);
	}
	pq.PQclear(res);
	return rc;
}

static int pg_posts_idle(struct store *s, const char *status, double age, jan_cb cb, void *arg)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_str(&a, status);
	arg_dbl(&a, age);
	if ((rc = pg_read(q, "read idle posts",
			  "SELECT p.id, p.media, NULL, NULL, " ISO("p.updated_at") " FROM posts p "
			  "WHERE p.status = $1 AND p.updated_at < " AGO("2") " AND " IDLE_MEDIA("p")
			  " ORDER BY p.id", &a, &res)))
		return rc;
	return pg_jan_rows(res, JAN_ORIGINAL, cb, arg);
}

static int pg_post_fail_idle(struct store *s, int64_t id, double age, const char *error,
			     int *applied)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, id);
	arg_dbl(&a, age);
	arg_str(&a, error);
	if ((rc = pg_exec(q, "fail a stuck post",
			  "UPDATE posts SET status = 'failed', error = $3, updated_at = now() "
			  "WHERE id = $1 AND status = 'processing' AND updated_at < " AGO("2")
			  " AND " IDLE_MEDIA("posts"), &a, &res)))
		return rc;
	*applied = strtoll(pq.PQcmdTuples(res), NULL, 10) > 0;
	pq.PQclear(res);
	return 0;
}

static int pg_storage_refs(struct store *s, enum jan_ref kind, jan_cb cb, void *arg)
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
	struct pg *q = (struct pg *)s;
	PGresult *res;
	int rc;

	if ((rc = pg_exec(q, "read the stored files' rows", sql[kind], NULL, &res)))
		return rc;
	return pg_jan_rows(res, kind, cb, arg);
}

/* The prunable jobs (store_prune_jobs) of the window $1 < id <= $2. */
#define PRUNABLE \
	"FROM jobs WHERE id > $1 AND id <= $2 AND state IN ('succeeded', 'dead', 'cancelled') " \
	"AND finalized_at IS NOT NULL AND coalesce(finished_at, created_at) < " AGO("3") \
	" AND NOT (state = 'succeeded' AND NOT EXISTS (SELECT 1 FROM jobs k " \
	"WHERE " MEDIA_IS("k.media", "jobs.media") " AND k.profile = jobs.profile " \
	"AND k.state = 'succeeded' AND k.id > jobs.id))"

static int pg_jobs_prune(struct store *s, int64_t after, int window, double age, int dry,
			 int64_t *next, int64_t *n)
{
	struct pg *q = (struct pg *)s;
	struct args a = { 0 };
	PGresult *res;
	int rc;

	arg_i64(&a, after);
	arg_i64(&a, window);
	if ((rc = pg_exec(q, "read the jobs to prune", "SELECT max(id) FROM (SELECT id FROM jobs "
			  "WHERE id > $1 ORDER BY id LIMIT $2) w", &a, &res)))
		return rc;
	*next = val_i64(res, 0, 0);
	pq.PQclear(res);
	if (!*next)
		return 0;
	a.n = 1;
	arg_i64(&a, *next);
	arg_dbl(&a, age);
	if ((rc = pg_exec(q, "prune jobs", dry ? "SELECT count(*) " PRUNABLE : "DELETE " PRUNABLE,
			  &a, &res)))
		return rc;
	*n = dry ? val_i64(res, 0, 0) : strtoll(pq.PQcmdTuples(res), NULL, 10);
	pq.PQclear(res);
	return 0;
}

static int pg_read_begin(struct store *s, int last)
{
	int rc;

	if ((rc = pg_txn_begin(s, last)) ||
	    !(rc = pg_simple((struct pg *)s, "set up",
			     "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")))
		return rc;
	pg_rollback((struct pg *)s);    /* store_txn ends only what began */
	return rc;
}

static int pg_txn_commit(struct store *s)
{
	return pg_commit((struct pg *)s);
}

static void pg_txn_rollback(struct store *s)
{
	pg_rollback((struct pg *)s);
}

static void pg_quiet(struct store *s, int on)
{
	((struct pg *)s)->quiet = on;
}

static int pg_txn_again(struct store *s)
{
	return ((struct pg *)s)->retry;
}

/* ---------- md-db check ---------- */

/* Each row a problem: the tables and indexes of the migrations, as they
 * stand at the last, that are missing, and indexes left invalid. */
#define CHECK_OBJECTS_SQL \
	"SELECT o.kind, o.kind || ' ''' || o.name || ''' is missing' FROM (VALUES " \
	"  ('table', 'users'), ('table', 'media'), ('table', 'posts'), ('table', 'tags'), " \
	"  ('table', 'post_tags'), ('table', 'jobs'), ('table', 'renditions'), " \
	"  ('table', 'feed_state'), ('index', 'posts_newest'), ('index', 'posts_status_newest'), " \
	"  ('index', 'posts_owner_newest'), ('index', 'posts_media'), ('index', 'post_tags_tag'), " \
	"  ('index', 'jobs_claim'), ('index', 'jobs_claim_queue'), ('index', 'jobs_media'), " \
	"  ('index', 'jobs_unfinalized'), ('index', 'jobs_running'), ('table', 'hook_outbox'), " \
	"  ('index', 'hook_outbox_due'), ('index', 'hook_outbox_post'), ('table', 'workers'), " \
	"  ('index', 'workers_live'), ('table', 'queue_pauses')) AS o(kind, name) " \
	"WHERE to_regclass(quote_ident(o.name)) IS NULL " \
	"UNION ALL " \
	"SELECT 'index', 'index ''' || c.relname || ''' is invalid (an interrupted build?): " \
	"REINDEX it' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid " \
	"JOIN pg_namespace n ON n.oid = c.relnamespace " \
	"WHERE n.nspname = current_schema() AND NOT (i.indisvalid AND i.indisready AND i.indislive)"

/* The B-tree indexes of the schema, when amcheck is installed. */
#define CHECK_BTREES_SQL \
	"SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace " \
	"JOIN pg_am a ON a.oid = c.relam " \
	"JOIN pg_index i ON i.indexrelid = c.oid AND i.indisvalid " \
	"WHERE c.relkind = 'i' AND a.amname = 'btree' AND n.nspname = current_schema() " \
	"AND EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck') ORDER BY c.relname"

/* bt_index_check of each B-tree index: an error it raises is a problem. */
static int pg_check_btrees(struct pg *q, check_cb cb, void *arg, int *n)
{
	PGresult *res;
	int rc;

	if ((rc = pg_read(q, "list indexes", CHECK_BTREES_SQL, NULL, &res)))
		return rc;
	for (int i = 0; i < pq.PQntuples(res) && !rc; i++) {
		struct args a = { 0 };
		PGresult *r;

		arg_str(&a, val(res, i, 0));
		r = pq.PQexecParams(q->conn, "SELECT bt_index_check($1::oid::regclass)", a.n, NULL, a.v,
				 NULL, NULL, 0);
		if (pq.PQresultStatus(r) == PGRES_TUPLES_OK) {
			pq.PQclear(r);
		} else if (pq.PQstatus(q->conn) != CONNECTION_OK) {
			rc = pg_check(q, "amcheck", r, NULL);
		} else {
			const char *m = pq.PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
			char *p = xstrfmt("index '%s': %s", val(res, i, 1), m ? m : "failed");

			cb(arg, "amcheck", p);
			(*n)++;
			free(p);
			pq.PQclear(r);
		}
	}
	pq.PQclear(res);
	return rc;
}

static int pg_check_db(struct store *s, int objects, check_cb cb, void *arg, int *n)
{
	struct pg *q = (struct pg *)s;
	PGresult *res;
	int rc;

	*n = 0;
	if (objects) {
		if ((rc = pg_read(q, "check tables and indexes", CHECK_OBJECTS_SQL, NULL, &res)))
			return rc;
		for (int i = 0; i < pq.PQntuples(res); i++, (*n)++)
			cb(arg, val(res, i, 0), val(res, i, 1));
		pq.PQclear(res);
	}
	return pg_check_btrees(q, cb, arg, n);
}

static const struct store_driver pg_driver = {
	.name = "postgres",
	.migrations = migrations_postgres,
	.nmigrations = &migrations_postgres_count,
	.close = pg_close,
	.begin = pg_txn_begin,
	.commit = pg_txn_commit,
	.rollback = pg_txn_rollback,
	.again = pg_txn_again,
	.schema_version = pg_schema_version,
	.migrate_lock = pg_migrate_lock,
	.migration_apply = pg_migration_apply,
	.migrations_applied = pg_migrations_applied,
	.users_lock = pg_users_lock,
	.user_facts = pg_user_facts,
	.user_write = pg_user_write,
	.media_exists = pg_media_exists,
	.media_add = pg_media_add,
	.user_id = pg_user_id,
	.post_of = pg_post_of,
	.jobs_add_missing = pg_jobs_add_missing,
	.media_verdict = pg_media_verdict,
	.post_add = pg_post_add,
	.tags_add = pg_tags_add,
	.feed_bump = pg_feed_bump,
	.finalize_pick = pg_finalize_pick,
	.finalize_lock = pg_finalize_lock,
	.renditions_register = pg_renditions_register,
	.dead_round = pg_dead_round,
	.posts_settle = pg_posts_settle,
	.jobs_stamp = pg_jobs_stamp,
	.hook_add = pg_hook_add,
	.hook_claim = pg_hook_claim,
	.hook_settle = pg_hook_settle,
	.claim = pg_claim,
	.claim_ack = pg_claim_ack,
	.heartbeat = pg_heartbeat,
	.jobs_succeed = pg_jobs_succeed,
	.job_settle = pg_job_settle,
	.jobs_expired = pg_jobs_expired,
	.jobs_of_worker = pg_jobs_of_worker,
	.worker_upsert = pg_worker_upsert,
	.worker_beat = pg_worker_beat,
	.worker_delete = pg_worker_delete,
	.workers_gone = pg_workers_gone,
	.quiet = pg_quiet,
	.queue_counts = pg_queue_counts,
	.listen = pg_listen,
	.notify_fd = pg_notify_fd,
	.consume_notify = pg_consume_notify,
	.jobs = pg_jobs,
	.job_read = pg_job_read,
	.job_cancel = pg_job_cancel,
	.job_reset = pg_job_reset,
	.posts_reopen = pg_posts_reopen,
	.dead_unfinalize = pg_dead_unfinalize,
	.jobs_lock = pg_jobs_lock,
	.live_twin = pg_live_twin,
	.jobs_progress = pg_jobs_progress,
	.users = pg_users,
	.bulk_begin = pg_bulk_begin,
	.refs_resolve = pg_refs_resolve,
	.jobs_live = pg_jobs_live,
	.jobs_insert = pg_jobs_insert,
	.jobs_notify = pg_jobs_notify,
	.queue_pause = pg_queue_pause,
	.feed_page = pg_feed_page,
	.feed_version = pg_feed_version,
	.feed_tags = pg_feed_tags,
	.read_begin = pg_read_begin,
	.status_figure = pg_status_figure,
	.posts_pick = pg_posts_pick,
	.posts_delete = pg_posts_delete,
	.media_lock = pg_media_lock,
	.media_posts = pg_media_posts,
	.media_jobs_delete = pg_media_jobs_delete,
	.media_delete = pg_media_delete,
	.posts_reassign = pg_posts_reassign,
	.job_delete_finalized = pg_job_delete_finalized,
	.check = pg_check_db,
	.janitor_lock = pg_janitor_lock,
	.janitor_unlock = pg_janitor_unlock,
	.posts_idle = pg_posts_idle,
	.post_fail_idle = pg_post_fail_idle,
	.storage_refs = pg_storage_refs,
	.jobs_prune = pg_jobs_prune,
};
