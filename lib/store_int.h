/*
 * store_int.h - the driver table behind store.h; only the store_*.c files
 * include it.  Tools see an opaque struct store and the operations of
 * store.h; this header is where a backend plugs in.
 *
 * The line between policy and driver (as River draws it):
 *
 *   policy, written once     store.c (open, the schema gate, transactions
 *                            and their replays), store_migrate.c
 *                            (migrations), store_users.c (md-user),
 *                            store_posts.c (ingest, finalize and its hook
 *                            outbox, the status of a post, max
 *                            attempts), store_jobs.c
 *                            (md-job), store_enqueue.c (md-enqueue),
 *                            store_read.c (md-feed's pages, md-status's
 *                            figures), store_work.c (the worker's
 *                            outcomes, the dead rule, rescue, live
 *                            workers), store_content.c (removing
 *                            content): every rule,
 *                            refusal text, sequence
 *                            and transaction bound of those
 *   primitives, per backend  store_sqlite.c, store_pg.c: one statement
 *                            (or one round trip) each, named for what it
 *                            does, rows mapped to C values; no decision
 *                            beyond the SQL itself
 *
 * Where a backend has a faster way, the primitive is that way: the
 * PostgreSQL claim with its batched acknowledgement is one prepared
 * statement, bulk enqueue is COPY; the SQLite primitive for the same thing
 * may be several statements inside the transaction the policy opened.
 * The worker's primitives (claim, heartbeat, succeed, settle, expired,
 * counts, wake-ups) are fenced on a run (struct fence): the policy above
 * them (store_work.c) decides dead or retry, rescue and release.
 *
 * Transactions.  store_txn() runs a body between begin and commit, rolls
 * back on failure and runs the whole body again while the driver says
 * nothing can have been committed (PostgreSQL: a deadlock, or a connection
 * lost before COMMIT), up to STORE_TRIES times.  A body returns 0 (commit),
 * an exit code (roll back, fail) or STORE_ROLLBACK (roll back, succeed: a
 * refusal).  A body must start from scratch each time.
 *
 * Errors: as in store.h, primitives log the reason and return an exit code
 * from exits.h; the caller adds nothing.
 */
#ifndef MD_STORE_INT_H
#define MD_STORE_INT_H

#include <stdint.h>

#include "store.h"

#define STORE_TRIES 3
#define STORE_ROLLBACK (-1)

/* Embedded migrations (generated from sql/<backend>/NNN_name.sql). */
struct migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct migration migrations_sqlite[];
extern const int migrations_sqlite_count;
extern const struct migration migrations_postgres[];
extern const int migrations_postgres_count;

/* How a run ends (job_settle): available again at now + delay, dead, or
 * available now with its attempt given back. */
enum settle { SETTLE_RETRY, SETTLE_DEAD, SETTLE_RELEASE };

/* A running job whose lease expired (jobs_expired). */
struct expired {
	struct fence run;
	int attempts, max_attempts;
	char *worker;           /* locked_by, malloc'd; may be NULL */
};

/* A job an ingest asks for. */
struct new_job {
	const char *profile, *queue;
	int max_attempts;
};

typedef void (*applied_cb)(void *arg, int version, const char *applied_at);

/* A job an enqueue adds (jobs_insert sets id). */
struct job_row {
	const char *media, *profile, *queue, *trace_id;
	int max_attempts;
	int64_t id;
};

/* Ref i of a batch names media of kind (MD_KIND_*); trace may be NULL. */
typedef void (*ref_cb)(void *arg, int i, const char *media, unsigned kind, const char *trace);
/* Pair (media m, profile p) has the live job id, of queue and state. */
typedef void (*live_cb)(void *arg, int m, int p, int64_t id, const char *queue,
			const char *state);

/* A row of a finalize primitive about media: an id, a text, as each says. */
typedef void (*media_cb)(void *arg, const char *media, int64_t id, const char *text);
/* A post a finalize settled: its media, id, new status and trace id ("" when
 * it has none). */
typedef void (*settle_cb)(void *arg, const char *media, int64_t post, const char *status,
			  const char *trace);

/* A post a removal takes (or moves), of media and user. */
typedef void (*post_cb)(void *arg, int64_t id, const char *media, const char *user);
/* A job a removal takes. */
typedef void (*job_row_cb)(void *arg, int64_t id, const char *media, const char *profile,
			   const char *state);

struct store_driver {
	const char *name;                       /* "sqlite" | "postgres" */
	const struct migration *migrations;     /* this backend's, in order */
	const int *nmigrations;
	void (*close)(struct store *);

	/* -- transactions (store_txn) -- */
	/* BEGIN a write transaction; last: no replay follows this try */
	int (*begin)(struct store *, int last);
	int (*commit)(struct store *);
	void (*rollback)(struct store *);
	/* After a failed try: 1 when nothing was committed and the body may
	 * run again (the connection is usable), else 0.  NULL: never. */
	int (*again)(struct store *);

	/* -- migrations (store_migrate.c) -- */
	/* Schema version: 0 and *version, 1 when there is no
	 * schema_migrations table, or an exit code. */
	int (*schema_version)(struct store *, int *version);
	/* In a transaction: wait for any other migrator, create
	 * schema_migrations if missing. */
	int (*migrate_lock)(struct store *);
	/* In a transaction: run m's SQL, record it as applied. */
	int (*migration_apply)(struct store *, const struct migration *m);
	/* cb for each applied migration; nothing when the table is missing. */
	int (*migrations_applied)(struct store *, applied_cb cb, void *arg);

	/* -- users (store_users.c) -- */
	int (*users)(struct store *, const char *, user_cb, void *);   /* read */
	/* In a transaction: hold off other changes of users (NULL: the
	 * transaction does already). */
	int (*users_lock)(struct store *);
	/* In a transaction: whether name exists, whether email (if set)
	 * belongs to another user, how many posts name owns. */
	int (*user_facts)(struct store *, const char *name, const char *email,
			  int64_t *exists, int64_t *taken, int64_t *posts);
	/* In a transaction: the change itself (USER_ADD inserts, USER_PASSWD
	 * sets the hash and, when given, the email, USER_DEL deletes). */
	int (*user_write)(struct store *, enum user_op, const char *name, const char *email,
			  const char *hash);

	/* -- media and posts (store_posts.c), each in a transaction -- */
	int (*media_exists)(struct store *, const char *);      /* read */
	/* Insert the media row unless it exists (*is_new says which); an
	 * existing one is locked against other ingests where needed. */
	int (*media_add)(struct store *, const struct media_info *, int *is_new);
	/* The id of the user called name, added when new. */
	int (*user_id)(struct store *, const char *name, int64_t *id);
	/* The oldest post of media owned by the user called name, into *p
	 * (p->id 0 when none); in a write or a read transaction. */
	int (*post_of)(struct store *, const char *name, const char *media, struct post_found *p);
	/* A job for each of v[0..n-1] (distinct profiles) that has no
	 * available, running or succeeded job of the media yet; *added
	 * counts them.  Workers of their queues are woken. */
	int (*jobs_add_missing)(struct store *, const char *media, const struct new_job *v,
				int n, const char *trace_id, int *added);
	/* The media's jobs, those not finalized, and the reasons of its dead
	 * profiles that have no succeeded job ("mp4: why; thumb: why", by
	 * job id; *dead NULL when none, else malloc'd). */
	int (*media_verdict)(struct store *, const char *media, int64_t *jobs,
			     int64_t *unfinalized, char **dead);
	int (*post_add)(struct store *, int64_t owner, const char *media, const char *caption,
			const char *status, const char *error, const char *trace_id, int64_t *id);
	int (*tags_add)(struct store *, int64_t post, char *const *tags, int ntags);
	/* The feed may have changed: bump its version. */
	int (*feed_bump)(struct store *);
	/* Finalizing a batch (store_finalize_batch): each primitive is one
	 * statement over the media media[0..n-1], its rows given to a
	 * media_cb (below) where it has any. */
	/* The media of the oldest max_jobs terminal, unfinalized jobs whose
	 * media have no job left to run, at most max_media of them, oldest
	 * first: cb(arg, media, 0, ext) for each, its row locked where others
	 * could finalize it (those held by others are skipped). */
	int (*finalize_pick)(struct store *, int max_jobs, int max_media, media_cb cb, void *arg);
	/* Lock the unfinalized jobs of the media: cb(arg, media, 0, NULL) for
	 * each whose jobs are no longer all terminal (or none is left).  NULL:
	 * the transaction excludes changes already. */
	int (*finalize_lock)(struct store *, char *const *media, int n, media_cb cb, void *arg);
	/* Renditions from the unfinalized succeeded jobs' results (newest
	 * per media and profile). */
	int (*renditions_register)(struct store *, char *const *media, int n);
	/* The unfinalized dead profiles, newest job of each: cb(arg, media,
	 * 0, "profile: reason") for each, by media, then by job id. */
	int (*dead_round)(struct store *, char *const *media, int n, media_cb cb, void *arg);
	/* The pending and processing posts of media[i] get status[i] and
	 * error[i] (may be NULL): cb(arg, media, post id, status, trace id)
	 * for each, in no particular order. */
	int (*posts_settle)(struct store *, char *const *media, char *const *status,
			    char *const *error, int n, settle_cb cb, void *arg);
	/* finalized_at on the media's terminal, unfinalized jobs. */
	int (*jobs_stamp)(struct store *, char *const *media, int n);

	/* -- the hook outbox (store_posts.c), each in a transaction -- */
	/* A row due now for each of posts[0..n-1], finished as status[i],
	 * with the idempotency key keys[i]. */
	int (*hook_add)(struct store *, const int64_t *posts, char *const *keys,
			char *const *status, int n);
	/* The row due first (run_at, id), claimed: attempts + 1, due again
	 * lease seconds from now; *found 0 when none is due. */
	int (*hook_claim)(struct store *, double lease, struct hook_call *c, int *found);
	/* The row id whose claims are attempts: deleted (delay < 0), or due
	 * delay seconds from now with last_error err; else nothing. */
	int (*hook_settle)(struct store *, int64_t id, int attempts, double delay,
			   const char *err);

	/* -- job control (store_jobs.c), each in a transaction -- */
	int (*jobs)(struct store *, const struct job_query *, job_info_cb, void *);  /* read */
	/* The job's state, media and profile (malloc'd; *state NULL when
	 * there is no such job), the row locked for the change. */
	int (*job_read)(struct store *, int64_t id, char **state, char **media, char **profile);
	/* The job is cancelled (and no longer finalized). */
	int (*job_cancel)(struct store *, int64_t id);
	/* The job is available now with no attempt spent, as if new; the
	 * workers of its queue are woken. */
	int (*job_reset)(struct store *, int64_t id);
	/* The media's failed posts are processing again, without error;
	 * *n counts them. */
	int (*posts_reopen)(struct store *, const char *media, int64_t *n);
	/* The media's dead jobs of profiles without a succeeded job are no
	 * longer finalized. */
	int (*dead_unfinalize)(struct store *, const char *media);
	/* Hold off enqueues looking for live jobs (NULL: the transaction
	 * does already). */
	int (*jobs_lock)(struct store *);
	/* The newest available, running or succeeded job other than id of
	 * the same media and profile: *id and *state (malloc'd), or *state
	 * NULL when none. */
	int (*live_twin)(struct store *, int64_t not_id, const char *media, const char *profile,
			 int64_t *id, char **state);

	/* -- removing content (store_content.c), each in a transaction -- */
	/* cb for each post sel selects, by id, each row locked against
	 * other changes. */
	int (*posts_pick)(struct store *, const struct post_selector *sel, post_cb cb, void *arg);
	/* Delete the posts ids[0..n-1], their tags with them. */
	int (*posts_delete)(struct store *, const int64_t *ids, int n);
	/* Lock the media row against new posts and other changes; ext is its
	 * original's extension, "" when there is no such media. */
	int (*media_lock)(struct store *, const char *media, char ext[16]);
	/* How many posts use the media. */
	int (*media_posts)(struct store *, const char *media, int64_t *n);
	/* Delete the media's jobs: cb(arg, id, media, profile, state) for
	 * each, by id. */
	int (*media_jobs_delete)(struct store *, const char *media, job_row_cb cb, void *arg);
	/* Delete the media's renditions, then the media row. */
	int (*media_delete)(struct store *, const char *media);
	/* The posts of user name are other's now: cb(arg, id, media, other)
	 * for each, by id. */
	int (*posts_reassign)(struct store *, const char *name, const char *other, post_cb cb,
			      void *arg);
	/* Delete job id if md-finalize stamped it; *n: rows deleted. */
	int (*job_delete_finalized)(struct store *, int64_t id, int64_t *n);

	/* -- enqueue (store_enqueue.c), in a transaction -- */
	/* A few big statements follow (a batch of 1000 refs or more): set
	 * the transaction up for them (NULL: nothing to do). */
	int (*bulk_begin)(struct store *);
	/* refs[0..n-1] resolved in one statement: ref i names the media of
	 * post post_ids[i] when that is not 0, else the media whose hash it
	 * is.  cb for each ref that names one (in no particular order), with
	 * the trace id of that post or, for a hash when traces is set, of the
	 * media's newest post (else NULL). */
	int (*refs_resolve)(struct store *, char *const *refs, const int64_t *post_ids, int n,
			    int traces, ref_cb cb, void *arg);
	/* The newest available, running or succeeded job of each pair of
	 * media[0..nm-1] and profiles[0..np-1] that has one: cb(arg, m, p,
	 * ...) for each, in one statement. */
	int (*jobs_live)(struct store *, char *const *media, int nm, char *const *profiles,
			 int np, live_cb cb, void *arg);
	/* Insert v[0..n-1], each with priority and run_at (unix time; 0:
	 * now), and set their ids, ascending in the order of v. */
	int (*jobs_insert)(struct store *, struct job_row *v, int n, int priority, double run_at);
	/* Wake the workers of queues[0..n-1] (NULL: no wake-ups). */
	int (*jobs_notify)(struct store *, char *const *queues, int n);

	/* -- the reads of md-feed and md-status (store_read.c) -- */
	/* One page of posts: cb for each row of q, at most limit of them
	 * (q->limit is the caller's, limit what to fetch), one query; a
	 * non-zero return of cb stops and is returned. */
	int (*feed_page)(struct store *, const struct feed_query *q, int limit, feed_cb cb,
			 void *arg);
	int (*feed_version)(struct store *, int64_t *);
	int (*feed_tags)(struct store *, const char *, tag_cb, void *);
	/* BEGIN a transaction that only reads, every statement of it seeing
	 * the same snapshot; ended by commit or rollback (after a failure
	 * here, nothing is left open). */
	int (*read_begin)(struct store *, int last);
	/* cb for each row of one figure of md-status (store.h), in its order,
	 * one query; a non-zero return of cb stops and is returned. */
	int (*status_figure)(struct store *, enum status_kind k, int dead_limit, status_cb cb,
			     void *arg);

	/* -- housekeeping (store_janitor.c) -- */
	/* The janitor's lock, tried: *held NULL when another has it. */
	int (*janitor_lock)(struct store *, void **held);
	void (*janitor_unlock)(struct store *, void *held);
	/* The idle posts of store_idle_posts, by id (read). */
	int (*posts_idle)(struct store *, const char *status, double age, jan_cb cb, void *arg);
	/* In a transaction: post id failed with error if still idle
	 * processing; *applied. */
	int (*post_fail_idle)(struct store *, int64_t id, double age, const char *error,
			      int *applied);
	/* In a read transaction: cb for each row of kind (store_storage_refs). */
	int (*storage_refs)(struct store *, enum jan_ref kind, jan_cb cb, void *arg);
	/* In a transaction: store_prune_jobs's window and its deletion. */
	int (*jobs_prune)(struct store *, int64_t after, int window, double age, int dry,
			  int64_t *next, int64_t *n);

	/* -- operations -- */
	int (*claim)(struct store *, const char *, char *const *, int, int, double,
		     struct job **, int *);
	int (*claim_ack)(struct store *, const char *, char *const *, int, int, double,
			 const struct fence *, int, const char *, int *, struct job **, int *);
			 /* optional: NULL does jobs_succeed, then claim */
	int (*heartbeat)(struct store *, double, const struct fence *, int, char *);
	int (*jobs_progress)(struct store *, const struct fence *, const double *, int);
	int (*jobs_succeed)(struct store *, const struct fence *, char *const *, int, int *);
	/* The run ends as how says (below), with err as last_error (not for
	 * SETTLE_RELEASE); SETTLE_RETRY runs again at now + delay.  With
	 * expired, only if its lease has run out.  *applied: the row changed. */
	int (*job_settle)(struct store *, const struct fence *, enum settle how, const char *err,
			  double delay, int expired, int *applied);
	/* Up to max running jobs whose lease expired, except not_worker's
	 * (NULL: any): *v (malloc'd) of *n. */
	int (*jobs_expired)(struct store *, const char *not_worker, int max, struct expired **v,
			    int *n);
	/* -- live workers (store_work.c) -- */
	/* Insert (pause) or delete (resume) the queue_pauses row of queue;
	 * *changed: a row was. */
	int (*queue_pause)(struct store *, const char *queue, int pause, const char *by,
			   int *changed);
	/* Insert or replace the row of r: alive, started and beaten now. */
	int (*worker_upsert)(struct store *, const struct worker_reg *r);
	/* Beat the row of id if it is alive; *alive says whether it was. */
	int (*worker_beat)(struct store *, const char *id, int *alive);
	int (*worker_delete)(struct store *, const char *id);
	/* Mark gone the live workers (not self) silent for more than after
	 * seconds; their ids into *ids (malloc'd, each malloc'd), *n. */
	int (*workers_gone)(struct store *, double after, const char *self, char ***ids, int *n);
	/* The running jobs leased to worker: *v (malloc'd) of *n. */
	int (*jobs_of_worker)(struct store *, const char *worker, struct expired **v, int *n);
	/* optional: store_quiet */
	void (*quiet)(struct store *, int on);
	int (*queue_counts)(struct store *, char *const *, int, int64_t *, int64_t *, double *);
	int (*listen)(struct store *, char *const *, int);
	int (*notify_fd)(struct store *);
	int (*consume_notify)(struct store *);
	/* -- md-db check (store_check.c): read only -- */
	/* cb for each problem of the file and, when objects, of the tables
	 * and indexes the migrations made (not the version); *n counts them. */
	int (*check)(struct store *, int objects, check_cb cb, void *arg, int *n);
};

/* What every driver's handle starts with. */
struct store {
	const struct store_driver *drv;
	const char *where;      /* the database, for messages: path or redacted URL */
};

/* Driver constructors: connect (or open the file) and set *out; the
 * schema gate is store_open's (store.c). */
int store_sqlite_open(const char *path, int flags, struct store **out);
int store_pg_open(const char *conninfo, int flags, struct store **out);

/* ---- rules, pure functions (unit-tested without a database) ---- */

/* A job's max attempts: the one asked for, else the profile's, else the
 * configured default. */
int job_max_attempts(int asked, const struct profile *p, int fallback);
/* The status of a new post of a known media whose jobs number jobs, of
 * which unfinalized are not finalized, with dead the reasons of its dead
 * profiles (NULL: none). */
const char *dup_post_status(int64_t jobs, int64_t unfinalized, const char *dead);

/* Run body(s, arg) in one transaction, replayed as described above. */
int store_txn(struct store *s, int (*body)(struct store *, void *), void *arg);
/* The same in a transaction that only reads one snapshot (read_begin). */
int store_read_txn(struct store *s, int (*body)(struct store *, void *), void *arg);

/* Rescue the runs of v (jobs whose worker is gone or whose lease expired:
 * expired says which, and then only if it still is), each with the reason
 * why (freed by the caller); *n counts those that moved.  store_work.c. */
int store_rescue_runs(struct store *s, const struct expired *v, int nv, int expired,
		      const char *why, int *n);

/* The schema version a store of this driver must have. */
int store_schema_wanted(const struct store *s);
/* Log that the database is newer than this tool; MD_EXIT_CONFIG. */
int store_schema_newer(const struct store *s, int version);

#endif
