/*
 * store.h - the job table and everything around it, behind one interface
 * with two backends: SQLite (store_sqlite.c, the embedded default) and
 * PostgreSQL (store_pg.c).  Tools never see which one runs: struct store
 * is opaque here.
 *
 * Where a rule lives: the rules, refusal texts, sequences and transaction
 * bounds are written once, above the backends, in store.c (opening, the
 * schema gate, transactions), store_migrate.c (migrations),
 * store_users.c (users), store_posts.c (ingest, finalize),
 * store_jobs.c (job control), store_enqueue.c (enqueue), store_read.c
 * (the feed and status reads) and store_content.c (removing content);
 * the backends are thin drivers of single-statement primitives, listed
 * with their contracts in store_int.h.
 *
 * Database URL: "sqlite:PATH" or a plain path selects SQLite;
 * "postgres://...", "postgresql://..." or a libpq keyword string
 * ("host=... dbname=...") selects PostgreSQL.
 *
 * Job state machine (the column jobs.state):
 *
 *   available --claim--> running --done--> succeeded
 *       ^                   |  \--fail, attempts left--> available (run_at later)
 *       |                   |   \-fail, permanent or out of attempts--> dead
 *       +----release--------+    (release: shutdown, attempt not spent)
 *   available|running|dead --cancel--> cancelled (a dead one: its failed
 *                                      posts go back to processing)
 *
 * A claim takes up to n available jobs with run_at <= now, ordered by
 * priority (lower first), run_at, id; each gets attempts+1, locked_by =
 * the worker id and lease_until = now + lease.  Every later change is
 * fenced: it applies only if the job is still running and locked by the
 * same worker, so a worker whose lease was taken over cannot overwrite
 * another's outcome.  md-finalize stamps finalized_at on terminal jobs.
 *
 * Posts: pending -> processing (when the first job of its media starts) ->
 * completed | failed (set by md-finalize in the same transaction that
 * registers renditions).
 *
 * Errors: functions returning int give 0 on success and, on failure, log
 * the reason and return an exit code from exits.h (MD_EXIT_TEMPFAIL when
 * the database is unreachable, busy or on a full disk, MD_EXIT_CONFIG when
 * it is not migrated, MD_EXIT_CORRUPT when the database file is damaged or
 * not a database, MD_EXIT_SOFTWARE otherwise), unless documented
 * differently; a transaction that fails is rolled back, so a tool that
 * meets a damaged page writes nothing.
 * Strings handed to callbacks are valid only during the call.
 */
#ifndef MD_STORE_H
#define MD_STORE_H

#include <stdint.h>

#include "conf.h"

struct store;

enum {
	STORE_CREATE = 1,       /* create the database if missing (md-db init) */
	STORE_NO_SCHEMA = 2,    /* do not require migrations (md-db) */
};

int store_open(const char *url, int flags, struct store **out);
void store_close(struct store *s);
/* While on, the store says its temporary failures (a lost connection and
 * its failed reconnections; a busy, locked or full SQLite file) at debug
 * level only: a caller that rides out outages says once that the database
 * is away and once that it is back. */
void store_quiet(struct store *s, int on);
const char *store_backend(const struct store *s);   /* "sqlite" | "postgres" */
/* The URL with any password replaced by "***", for messages; caller frees. */
char *store_redact_url(const char *url);

/* ---- migrations (md-db) ---- */

/* Apply every pending migration, each in its own transaction.  *applied
 * counts them.  A database newer than the tool knows -> MD_EXIT_CONFIG. */
int store_migrate(struct store *s, int *applied);
typedef void (*migration_cb)(void *arg, int version, const char *name,
			     const char *applied_at /* NULL: pending */);
int store_migration_status(struct store *s, migration_cb cb, void *arg);

/* ---- md-db check ---- */

/*
 * One problem found: the part of the check ("schema", "integrity",
 * "foreign key", "table", "index", "amcheck") and what is wrong.
 */
typedef void (*check_cb)(void *arg, const char *part, const char *problem);
/*
 * Check the database without changing it: its schema version, then on
 * SQLite PRAGMA integrity_check and foreign_key_check (every page is
 * read: as long as the file is large), on PostgreSQL that every table and
 * index of the schema exists and no index is invalid (an interrupted
 * CREATE INDEX CONCURRENTLY), and, where the amcheck extension is
 * installed, bt_index_check of every index.  PostgreSQL's own checksums
 * and the server's logs remain the check of its heap.  cb for each
 * problem; *schema and *damage count the schema's and the others.
 * Returns 0 when the check ran (whatever it found) or an exit code.
 */
int store_check(struct store *s, check_cb cb, void *arg, int *schema, int *damage);

/* ---- ingest ---- */

struct media_info {
	char sha[65];
	unsigned kind;          /* MD_KIND_* */
	const char *mime;
	const char *format;     /* demuxer name to force, e.g. "mov" */
	const char *ext;        /* extension of the stored original */
	int64_t bytes;
	int width, height;
	double duration;
	const char *probe_json; /* probe metadata as a JSON object */
};

/* 1 if the media row exists, 0 if not, or -exitcode. */
int store_media_exists(struct store *s, const char *sha);

struct ingest_req {
	const struct media_info *media;
	const char *user;
	const char *caption;
	char *const *tags;
	int ntags;
	const char *trace_id;
	const struct profile *const *profiles;  /* --enqueue, may be empty */
	int nprofiles;
	int max_attempts;
	int skip_posted;        /* the user posted this media already: write nothing */
};

struct ingest_res {
	int64_t post_id;
	int media_new;          /* this call inserted the media row */
	char status[16];        /* the new post's status */
	int njobs;              /* jobs created */
	int exists;             /* skip_posted: post_id and status are the user's
				 * earlier post, and nothing was written */
};

/* One transaction: media if new, user if new, post, tags, jobs.  The new
 * post of a media whose jobs are all finalized is completed (or failed)
 * at once; jobs that would duplicate live or succeeded ones are not made.
 * With skip_posted, a user who has a post of the media already gets no
 * other: the check holds the media row (or the write lock), so two
 * ingests of one file by one user at once still make one post. */
int store_ingest(struct store *s, const struct ingest_req *req, struct ingest_res *res);
/* n ingests in one transaction (md-ingest's group commit): all commit or
 * none; res[i] is req[i]'s.  A later one sees the earlier ones' rows (the
 * same media twice is new, then known).  Returns as store_ingest. */
int store_ingest_batch(struct store *s, const struct ingest_req *req, struct ingest_res *res,
		       int n);

/* A user's post of a media (store_post_of). */
struct post_found {
	int64_t id;             /* 0: the user has no post of the media */
	char status[16];
	unsigned kind;          /* the media's, MD_KIND_* */
};

/* In one read: the user's oldest post of media sha, into *p.  0 or an
 * exit code.  A hint only (an ingest may commit one right after): the
 * ingest checks again with skip_posted. */
int store_post_of(struct store *s, const char *user, const char *sha, struct post_found *p);

/* ---- enqueue ---- */

struct enqueue_opts {
	const struct profile *const *profiles;
	int nprofiles;
	int priority;
	double run_at;          /* unix time; 0: now */
	int max_attempts;       /* 0: profile's, else config default given here */
	int default_attempts;
	const char *queue;      /* NULL: the profile's queue */
	int force;
	const char *trace_id;   /* NULL: the post's or a fresh one */
};

/* state: "available", "running", "succeeded" (an existing job reused),
 * "skipped" (reason set) or "error" (ref unknown: reason set). */
typedef void (*enqueue_cb)(void *arg, const char *ref, int64_t job_id,
			   const char *media, const char *profile, const char *queue,
			   const char *state, const char *reason);

/* refs are post ids (decimal) or media sha256; all in few statements. */
int store_enqueue(struct store *s, char *const *refs, int nrefs,
		  const struct enqueue_opts *o, enqueue_cb cb, void *arg);

/* ---- worker ---- */

struct job {
	int64_t id;
	int64_t claim;          /* the fencing token: which claim of the job this run is */
	char media[65];
	char *profile;
	char *queue;
	char *trace_id;
	char *format;           /* media demuxer */
	char *ext;              /* media original extension */
	unsigned kind;
	double duration;        /* media's decodable seconds, 0 if unknown */
	char *source;           /* its probe's "source" (source.h), NULL if not kept */
	int attempts;           /* including this one */
	int max_attempts;
};

void job_free(struct job *j);

/*
 * One run of a job: the job and the claim it runs under.  Every claim of a
 * job counts (jobs.claims, never decremented), so a run is named by the
 * pair, and every change a worker makes to a running job is fenced on it:
 * a worker whose job was rescued, cancelled or claimed again (by another
 * worker, or by itself after a lost lease) finds its run gone, and its
 * late result is discarded instead of overwriting another run's.
 */
struct fence {
	int64_t job, claim;
};

/* Claim up to n jobs (see above); queues NULL/0 means every queue.
 * *jobs is a malloc'd array of *njobs jobs (free each with job_free). */
int store_claim(struct store *s, const char *worker, char *const *queues, int nqueues,
		int n, double lease, struct job **jobs, int *njobs);
/*
 * Acknowledge nack short runs as succeeded, all with the same result (each
 * fenced like store_job_succeed), and claim up to n new jobs, in one round
 * trip where the backend can: a worker burning down short jobs pays one
 * statement per batch.  *acked counts the acknowledged rows.
 */
int store_claim_ack(struct store *s, const char *worker, char *const *queues, int nqueues,
		    int n, double lease, const struct fence *ack, int nack,
		    const char *ack_result, int *acked, struct job **jobs, int *njobs);
/* Extend the lease of each of the n runs to now + lease.  held[i] is 1
 * when run i is still running under its claim, 0 when it is not (it was
 * cancelled, or rescued and perhaps claimed again): its commands should
 * stop, and nothing of it may be published. */
int store_heartbeat(struct store *s, double lease, const struct fence *runs, int n,
		    char *held);
/* How far (seconds into the media) each of n runs is, for md-status;
 * runs that no longer hold their job are left alone. */
int store_jobs_progress(struct store *s, const struct fence *runs, const double *seconds,
			int n);

/* Fenced outcomes.  *applied is 1 when the row changed, 0 when the run no
 * longer holds its job (the result is then discarded). */
int store_job_succeed(struct store *s, const struct fence *run, const char *result_json,
		      int *applied);
/* The same for n runs in one statement (batched completions of short
 * jobs); *applied counts the rows that changed. */
int store_jobs_succeed(struct store *s, const struct fence *runs, char *const *results, int n,
		       int *applied);
/* Permanent, or out of attempts (job_out_of_attempts) -> dead; else
 * available at now + delay.  *new_state is "available", "dead", or ""
 * when the run no longer holds its job. */
int store_job_fail(struct store *s, const struct job *j, const char *err, int permanent,
		   double delay, char new_state[16]);
/* Back to available now without spending the attempt (shutdown, a runner
 * that could not start).  *applied as above (may be NULL). */
int store_job_release(struct store *s, const struct job *j, int *applied);
/* Jobs whose lease expired: back to available, or dead when out of
 * attempts; those leased to not_worker (NULL: none) are left alone, so a
 * worker never rescues a job it holds.  *n counts them. */
int store_rescue_expired(struct store *s, const char *not_worker, int *n);
/* Number of jobs available now, and running, for --drain; and the unix
 * time of the earliest retry waiting for its run_at (a job available
 * later that has been attempted before), 0 if none. */
int store_queue_counts(struct store *s, char *const *queues, int nqueues,
		       int64_t *available_now, int64_t *running, double *next_run);

/* The dead rule: a run that failed (or lost its lease) on attempt
 * attempts of max_attempts leaves the job dead rather than available. */
int job_out_of_attempts(int attempts, int max_attempts);

/*
 * Live workers.  Each md-work registers itself and heartbeats its row
 * every worker.heartbeat; a worker whose heartbeat stopped for
 * WORKER_GONE_BEATS heartbeats is found gone by the next worker (or
 * md-janitor), which rescues its running jobs at once, without waiting
 * for their leases: a kill -9'd worker's job runs again within about two
 * heartbeats.  A worker that was only paused finds its row gone at its
 * next heartbeat, registers again, and finds its runs taken (fencing).
 */
#define WORKER_GONE_BEATS 1.5

struct worker_reg {
	const char *id;         /* host:pid, as locked_by */
	const char *host;
	long pid;
	const char *queues;     /* comma-separated; "" for every queue */
	int slots;
	const char *version;
};

/* Register (again): the row is new, alive, beaten now. */
int store_worker_register(struct store *s, const struct worker_reg *r);
/* Heartbeat; a worker found gone meanwhile registers again (*again 1). */
int store_worker_beat(struct store *s, const struct worker_reg *r, int *again);
/* A worker that stops removes its row. */
int store_worker_leave(struct store *s, const char *id);
/* Find the workers whose heartbeat stopped more than gone_after seconds
 * ago (not self, which may be NULL), mark them gone, and rescue their
 * running jobs: available again, or dead when out of attempts.  *gone and
 * *rescued count them (either may be NULL). */
int store_reap_workers(struct store *s, double gone_after, const char *self, int *gone,
		       int *rescued);

/*
 * Wake-ups.  store_listen() subscribes to enqueue notifications for the
 * queues (all when nqueues is 0); store_notify_fd() is a descriptor to
 * poll() for them (-1 when the backend has none: SQLite, or PostgreSQL in
 * poll-only mode), and store_consume_notify() reads what arrived, returning
 * how many notifications (0 or more) or -exitcode.  Notifications may
 * already be buffered by an earlier statement: call store_consume_notify()
 * before waiting.  The descriptor stays valid across reconnections.
 */
int store_listen(struct store *s, char *const *queues, int nqueues);
int store_notify_fd(struct store *s);
int store_consume_notify(struct store *s);

/* ---- finalize ---- */

struct finalized {
	char media[65];
	char ext[16];
	int failed;             /* any job dead */
	int nposts;
	int64_t *post_ids;      /* malloc'd, ascending */
	char **post_status;     /* parallel to post_ids, malloc'd strings */
	char **post_trace;      /* the same, the posts' trace ids ("" for none) */
};

void finalized_release(struct finalized *f);
/* Release v[0..n-1] and v itself. */
void finalized_free(struct finalized *v, int n);
/*
 * Finalize a batch: up to max media whose jobs are all terminal and not yet
 * finalized (oldest first; media another finalizer holds are skipped), in
 * one transaction of a few statements whatever the batch's size; with hooks,
 * that transaction also puts each post it finished in the hook outbox
 * (below).  A job that turns terminal meanwhile waits for the next batch.
 * Returns 0 with *v (malloc'd, in the order picked; finalized_free) of *n
 * media, *n 0 when nothing is left; or an exit code.
 */
int store_finalize_batch(struct store *s, int hooks, int max, struct finalized **v, int *n);

/*
 * The hook outbox (md-finalize --exec): a row per finished post, written
 * with the finish, so a hook runs at least once per post whatever dies
 * when.  A caller claims a due row, runs the hook, then clears the row
 * (the hook exited 0, or it is given up) or delays it to its next try.
 * A claim makes the row due again lease seconds later: lease must cover
 * the longest the hook may run, so that no other claim runs it meanwhile,
 * while a claimer killed before it cleared the row leaves it to the next.
 * Clear and retry apply only to the claim that c names; a later claim of
 * the row (this one's lease ran out) is left alone.
 */
struct hook_call {
	int64_t id;             /* the outbox row */
	int64_t post_id;
	char status[16];        /* what the post was finished as */
	char key[33];           /* the idempotency key: the same on every try */
	int attempts;           /* the row's claims, this one included */
};

/* Claim the row due first: 0 with *found 1 and c filled, or *found 0. */
int store_hook_claim(struct store *s, double lease, struct hook_call *c, int *found);
/* Delete the row of c's claim. */
int store_hook_clear(struct store *s, const struct hook_call *c);
/* The row of c's claim is due again delay seconds from now; err says why. */
int store_hook_retry(struct store *s, const struct hook_call *c, double delay, const char *err);

/* ---- feed ---- */

struct feed_query {
	const char *tag;
	const char *user;
	const char *status;     /* NULL: any */
	int limit;
	int64_t before;         /* cursor: post id, 0: from the newest */
	int oldest_first;       /* read oldest first; before: the posts after it */
	const char *base_url;   /* prefix for storage keys, "" for none */
	const int64_t *post_ids;  /* if set, exactly these posts */
	int npost_ids;
	const char *media;      /* if set, only the posts of this media */
};

struct feed_row {
	int64_t post_id;
	const char *user, *caption, *status, *created_at, *media, *kind;
	const char *trace_id, *tags_json, *renditions_json, *error;
	/* every rendition, by profile: [{"profile","url","bytes","metadata"}]
	 * (url: base_url and the storage key; rendition.h reads it) */
	const char *rendition_list_json;
};

typedef int (*feed_cb)(void *arg, const struct feed_row *row);

/* Calls cb for each post of the page (one query); *next is the cursor of
 * the next page or 0.  A non-zero return of cb stops and is returned. */
int store_feed(struct store *s, const struct feed_query *q, feed_cb cb, void *arg,
	       int64_t *next);

/*
 * The feed cache (md-feed --out): the version md-finalize and md-ingest
 * bump whenever the feed may have changed, and the tags of the posts of a
 * status (cb once per tag, by name).
 */
int store_feed_version(struct store *s, int64_t *version);
typedef int (*tag_cb)(void *arg, const char *tag);
int store_feed_tags(struct store *s, const char *status, tag_cb cb, void *arg);

/* ---- job control (md-job) ---- */

struct job_query {
	const char *state, *queue, *profile, *media;    /* NULL: any */
	const int64_t *ids;     /* if set, exactly these jobs */
	int nids;
	int limit;              /* 0: no limit */
};

/* Times are ISO 8601 UTC or NULL; result is JSON text or NULL. */
struct job_info {
	int64_t id;
	const char *media, *profile, *queue, *state;
	int priority, attempts, max_attempts;
	const char *run_at, *created_at, *started_at, *finished_at, *finalized_at;
	const char *locked_by, *lease_until, *last_error, *trace_id, *result;
};

typedef int (*job_info_cb)(void *arg, const struct job_info *j);

/* Calls cb for each job matching q, newest first.  A non-zero return of cb
 * stops and is returned. */
int store_jobs(struct store *s, const struct job_query *q, job_info_cb cb, void *arg);

enum job_op {
	JOB_RETRY,      /* dead or cancelled -> available, attempts 0; its
			 * media's failed posts back to processing */
	JOB_CANCEL,     /* available or running -> cancelled (a running job's
			 * worker finds its lease gone and discards the result) */
};

/* Apply op to one job.  0 with *refused NULL when done, 0 with *refused
 * (malloc'd) saying why when the job is missing or in the wrong state, or
 * an exit code. */
int store_job_control(struct store *s, int64_t id, enum job_op op, char **refused);

/* Pause (pause 1) or resume (0) the claims of one queue: workers claim
 * none of its jobs while it is paused; running ones go on.  by names who
 * did it (user@host).  *changed: 0 when it already was so.  Resuming
 * wakes the workers that listen.  0 or an exit code. */
int store_queue_pause(struct store *s, const char *queue, int pause, const char *by,
		      int *changed);

/* ---- status (md-status) ---- */

enum status_kind {
	STATUS_JOBS,            /* queue, state, n; done_1m, done_1h: of those,
				 * finished in the last minute, hour */
	STATUS_WAITING,         /* queue, seconds: age of the oldest job due */
	STATUS_RUNNING,         /* id, queue, profile, media, worker, seconds
				 * since it started, progress */
	STATUS_DEAD,            /* id, queue, profile, media, error, at (finished) */
	STATUS_POSTS,           /* state (the post status), n */
	STATUS_WORKERS,         /* worker (id), state ("running" or "gone"),
				 * queue (its queues, "" for all), n (slots),
				 * id (jobs it runs now), seconds (since its
				 * last heartbeat), at (started), profile (its
				 * version); live ones and those gone within a day */
	STATUS_PAUSED,          /* queue, worker (who paused it: user@host),
				 * at (when), seconds (since) */
	STATUS_REPLICAS,        /* PostgreSQL streaming replication: on a
				 * primary, each standby: worker (its name),
				 * state ("hidden" to a user without
				 * pg_monitor), seconds (replay lag), n (bytes
				 * of WAL it has yet to replay; -1 for either:
				 * not known);
				 * on a standby, itself: worker "(this
				 * server)", state "standby", seconds since
				 * the last replayed commit, n (bytes received
				 * and not replayed).  None on SQLite. */
};

struct status_item {
	enum status_kind kind;
	const char *queue, *state, *profile, *media, *worker, *error, *at;
	int64_t id, n, done_1m, done_1h;
	double seconds;
	double progress;        /* RUNNING: 0 to 1 of the media, < 0: unknown */
};

typedef int (*status_cb)(void *arg, const struct status_item *it);

/* The figures of md-status, by kind in the order above, each kind sorted
 * (queue, state; running by start; dead by death, newest first, at most
 * dead_limit). */
int store_status(struct store *s, int dead_limit, status_cb cb, void *arg);

/* ---- users (md-user) ---- */

struct user_info {
	const char *name, *email, *password_hash, *created_at;  /* NULL: none */
	int64_t posts;
};

typedef int (*user_cb)(void *arg, const struct user_info *u);

/* cb for the user called name, or every user by name when name is NULL. */
int store_users(struct store *s, const char *name, user_cb cb, void *arg);

enum user_op {
	USER_ADD,       /* a new user: name, email (or NULL), hash */
	USER_PASSWD,    /* an existing user's password hash */
	USER_DEL,       /* a user who owns no post */
};

/* 0 with *refused NULL when done, 0 with *refused (malloc'd) saying why
 * (name or email taken, no such user, posts left), or an exit code. */
int store_user_change(struct store *s, enum user_op op, const char *name, const char *email,
		      const char *hash, char **refused);

/* ---- removing content (md-post del, md-user del, md-job drop) ---- */

/*
 * What one removal took away, in the order it was taken: the posts (with
 * their post_tags), then of each media that no post uses any more its
 * jobs, renditions and the media row itself; or the jobs md-job drop
 * removed.  The stored files of the removed media are not the store's:
 * the caller removes them after the commit (lib/content.h), and a crash
 * before that leaves only files no row names, which md-janitor removes.
 * Arrays malloc'd; removal_release() frees them.
 */
struct removed_post {
	int64_t id;
	char media[65];
	char *user;
};
struct removed_job {
	int64_t id;
	char media[65];
	char *profile, *state;
};
struct removed_media {
	char sha[65];
	char ext[16];           /* of its original */
};
struct removal {
	struct removed_post *posts;
	int nposts;
	struct removed_job *jobs;
	int njobs;
	struct removed_media *media;
	int nmedia;
	int64_t *reassigned;    /* md-user del --reassign-to: the posts moved */
	int nreassigned;
};
void removal_release(struct removal *r);

/* Which posts: exactly ids[0..nids-1] (none when nids is 0), or those of
 * user, or those tagged tag (one of the three). */
struct post_selector {
	const int64_t *ids;
	int nids;
	const char *user, *tag;
};

/*
 * Remove the selected posts, and every media none of the remaining posts
 * uses, with its jobs (whatever their state: a running job's worker finds
 * its run gone and discards it) and renditions, in one transaction; the
 * feed version moves.  dry_run: the same, rolled back, so r says exactly
 * what would go.  r is filled (release it either way); ids that name no
 * post are simply not in it.
 */
int store_posts_remove(struct store *s, const struct post_selector *sel, int dry_run,
		       struct removal *r);

enum user_posts {
	USER_POSTS_REFUSE,      /* a user who owns posts is refused */
	USER_POSTS_DELETE,      /* removed as by store_posts_remove */
	USER_POSTS_REASSIGN,    /* given to another user */
};

/* Delete user name, and its posts as how says (other: the new owner), in
 * one transaction.  0 with *refused NULL when done (r says what went or
 * moved), 0 with *refused (malloc'd) saying why not, or an exit code. */
int store_user_remove(struct store *s, const char *name, enum user_posts how, const char *other,
		      int dry_run, struct removal *r, char **refused);

/* Remove job id's row: only a finished (succeeded, dead or cancelled) job
 * that md-finalize has stamped.  As store_user_remove; r->jobs gets it. */
int store_job_drop(struct store *s, int64_t id, int dry_run, struct removal *r, char **refused);
/* Why user name may not be removed with its posts as how says (other:
 * the new owner, other_exists: whether that user exists), or NULL;
 * malloc'd.  A refusal of posts left names the two ways out. */
char *user_remove_refusal(const char *name, enum user_posts how, const char *other,
			  int exists, int64_t posts, int other_exists);
/* Why a job in state may not be dropped (finalized: finalized_at is set;
 * state NULL: no such job), or NULL; malloc'd. */
char *job_drop_refusal(const char *state, int finalized);
/* ---- housekeeping (md-janitor: store_janitor.c) ---- */

/*
 * One row of the janitor's reads.  A post: id, media, at (updated_at).
 * A stored file's owner (store_storage_refs): kind, media, name (the
 * original's extension, or the profile), key (a rendition's storage key),
 * id and claim (a live run; for an original, id 1 when every post of the
 * media is completed).  Expired jobs: id, name (the worker), n
 * (1: it goes dead, 0: available again).
 */
enum jan_ref { JAN_ORIGINAL, JAN_RENDITION, JAN_RUN };
struct jan_row {
	enum jan_ref kind;
	int64_t id, claim, n;
	const char *media, *name, *key, *at;
};
typedef int (*jan_cb)(void *arg, const struct jan_row *r);

struct store_lock;
/* Take the janitor's lock, held until store_janitor_unlock (or the
 * process ends): *lk NULL when another janitor holds it.  SQLite: flock
 * on PATH-janitor.lock; PostgreSQL: a session advisory lock on a
 * connection of its own. */
int store_janitor_lock(struct store *s, struct store_lock **lk);
void store_janitor_unlock(struct store *s, struct store_lock *lk);
/* cb for each running job whose lease expired (what store_rescue_expired
 * would do). */
int store_expired_jobs(struct store *s, jan_cb cb, void *arg);
/* cb for each post of status ("pending", "processing") not updated for
 * age seconds whose media has no job left to run or to finalize, once the
 * read is over: cb may write. */
int store_idle_posts(struct store *s, const char *status, double age, jan_cb cb, void *arg);
/* Fail post id with error if it is still an idle processing post (as
 * above), and bump the feed; *applied says whether it was. */
int store_fail_idle_post(struct store *s, int64_t id, double age, const char *error,
			 int *applied);
/* cb for every file the database references, from one snapshot: each
 * media's original, each registered rendition, and each live run (a job
 * running under its claim, or succeeded and not yet finalized).  cb may
 * see a row twice (a replayed read). */
int store_storage_refs(struct store *s, jan_cb cb, void *arg);
/*
 * One batch of the pruning of finished jobs: among the next `window` jobs
 * by id after `after`, those succeeded, dead or cancelled, finalized, and
 * finished more than age seconds ago, except the newest succeeded job of
 * each media and profile (the record that its rendition exists, which
 * ingest and enqueue look for).  dry: count them only.  *next is the last
 * id of the window, 0 when there are no more jobs; *n counts the pruned.
 * One short transaction.
 */
int store_prune_jobs(struct store *s, int64_t after, int window, double age, int dry,
		     int64_t *next, int64_t *n);

/* ---- names ---- */

/* The job states and the post statuses, in the order of their lives, as
 * the schema spells them. */
#define JOB_NSTATES 5
#define POST_NSTATUSES 4
extern const char *const job_states[JOB_NSTATES];
extern const char *const post_statuses[POST_NSTATUSES];
/* The index of s in names[0..n-1], or -1. */
int name_index(const char *const *names, int n, const char *s);

/* ---- rules the backends share ---- */

/* Why op may not be applied to a job in state (NULL: no such job), or
 * NULL when it may; malloc'd. */
char *job_control_refusal(enum job_op op, const char *state);
/* Why a retry is refused while job live_id of the same media and profile
 * is live_state; malloc'd. */
char *job_twin_refusal(int64_t live_id, const char *live_state);
/* Why op may not be applied to user name (exists: the user does; taken:
 * email belongs to another user; posts: the user's), or NULL; malloc'd. */
char *user_change_refusal(enum user_op op, const char *name, const char *email, int exists,
			  int taken, int64_t posts);

/* Is "ref" a post id (all digits, fits int64)?  Sets *id. */
int ref_is_post_id(const char *ref, int64_t *id);
/* Backoff before retry number `attempts`: min(max, base*2^(attempts-1))
 * with +-20% jitter. */
double retry_delay(double base, double max, int attempts);
/* A fresh random trace id (32 lowercase hex) into out[33]. */
void trace_id_new(char out[33]);
/* Validate a trace id (32 lowercase hex, not all zeros). */
int trace_id_valid(const char *s);

#endif
