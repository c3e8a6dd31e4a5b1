/*
 * test-store.c - the store's policy without a database: a fake driver
 * (store_int.h) that records each primitive called, for the transaction
 * runner and the sequences of store_users.c, store_jobs.c, store_work.c,
 * store_posts.c, store_content.c and store_janitor.c, and the pure rules.
 * Included by test-lib.c.
 */
#include "store_int.h"

struct fake {
	struct store base;
	struct strbuf log;      /* "begin user_facts ... commit " */
	int fail_tries;         /* tries that fail with a replayable error */
	int64_t exists, taken, posts;
	const char *state;      /* job_read: NULL for no such job */
	const char *twin;       /* live_twin: NULL for none */
	int64_t reopened;
	int stale_picks;        /* finalize_lock says the whole batch is stale this many times */
	int stale_one;          /* finalize_lock says media n is stale */
	int nexpired;           /* jobs_expired: how many, attempts 2 of 3 then 3 of 3 */
	int64_t other_exists;   /* user_facts of "bo" (the new owner) */
	int npicked;            /* posts_pick: the first n of posts 1/aaa, 2/bbb, 3/aaa */
	int pick_fails;         /* posts_pick fails (replayable) this many times */
	const char *used;       /* media_posts: this media has a post left */
	const char *vanished;   /* media_lock: no such media */
	int64_t dropped;        /* job_delete_finalized: rows deleted */
	int media_new;          /* media_add: the media is new */
	int64_t posted;         /* post_of: the user's post of the media, 0 for none */
	int jan_busy;           /* janitor_lock: another janitor holds it */
	int jan_fails;          /* the janitor's writes and storage_refs(JAN_RENDITION) fail
				   (replayable) this many times, after doing their part */
	int idle_applied;       /* post_fail_idle: the post was still idle */
	int64_t prune_next;     /* jobs_prune: the window's last id */
};

static void fk(struct store *s, const char *what)
{
	sb_addf(&((struct fake *)s)->log, "%s ", what);
}

static int fk_begin(struct store *s, int last)
{
	fk(s, last ? "begin(last)" : "begin");
	return 0;
}

static int fk_commit(struct store *s)
{
	fk(s, "commit");
	return 0;
}

static void fk_rollback(struct store *s)
{
	fk(s, "rollback");
}

static int fk_again(struct store *s)
{
	return 1;
}

static int fk_users_lock(struct store *s)
{
	struct fake *f = (struct fake *)s;

	fk(s, "users_lock");
	if (f->fail_tries) {
		f->fail_tries--;
		return MD_EXIT_TEMPFAIL;
	}
	return 0;
}

static int fk_user_facts(struct store *s, const char *name, const char *email,
			 int64_t *exists, int64_t *taken, int64_t *posts)
{
	struct fake *f = (struct fake *)s;

	fk(s, "user_facts");
	*exists = name && !strcmp(name, "bo") ? f->other_exists : f->exists;
	*taken = f->taken;
	*posts = f->posts;
	return 0;
}

static int fk_user_write(struct store *s, enum user_op op, const char *name, const char *email,
			 const char *hash)
{
	fk(s, op == USER_ADD ? "add" : op == USER_DEL ? "del" : "passwd");
	return 0;
}

static int fk_job_read(struct store *s, int64_t id, char **state, char **media, char **profile)
{
	struct fake *f = (struct fake *)s;

	fk(s, "job_read");
	*state = f->state ? xstrdup(f->state) : NULL;
	*media = f->state ? xstrdup("m") : NULL;
	*profile = f->state ? xstrdup("mp4") : NULL;
	return 0;
}

#define FK_STEP(fn, what) \
	static int fn(struct store *s, int64_t id) \
	{ \
		fk(s, what); \
		return 0; \
	}
FK_STEP(fk_job_cancel, "cancel")
FK_STEP(fk_job_reset, "reset")

static int fk_posts_reopen(struct store *s, const char *media, int64_t *n)
{
	fk(s, "reopen");
	*n = ((struct fake *)s)->reopened;
	return 0;
}

static int fk_dead_unfinalize(struct store *s, const char *media)
{
	fk(s, "unfinalize");
	return 0;
}

static int fk_feed_bump(struct store *s)
{
	fk(s, "bump");
	return 0;
}

static int fk_live_twin(struct store *s, int64_t not_id, const char *media, const char *profile,
			int64_t *id, char **state)
{
	struct fake *f = (struct fake *)s;

	fk(s, "twin");
	*id = 7;
	*state = f->twin ? xstrdup(f->twin) : NULL;
	return 0;
}

/* finalize: a batch of media m (mp4) and n (png) */
static int fk_finalize_pick(struct store *s, int max_jobs, int max_media, media_cb cb, void *arg)
{
	fk(s, "pick");
	ok(max_media == 7 && max_jobs >= max_media, "the pick is asked for the batch's size");
	cb(arg, "m", 0, "mp4");
	cb(arg, "n", 0, "png");
	return 0;
}

/* Both stale stale_picks times, then n when stale_one. */
static int fk_finalize_lock(struct store *s, char *const *media, int n, media_cb cb, void *arg)
{
	struct fake *f = (struct fake *)s;

	fk(s, "lock");
	ok(n == 2 && !strcmp(media[0], "m") && !strcmp(media[1], "n"), "the batch is locked whole");
	if (f->stale_picks > 0) {
		f->stale_picks--;
		cb(arg, "m", 0, NULL);
		cb(arg, "n", 0, NULL);
	} else if (f->stale_one) {
		cb(arg, "n", 0, NULL);
	}
	return 0;
}

static int fk_batch_step(struct store *s, char *const *media, int n)
{
	fk(s, "step");
	return 0;
}

static int fk_dead_round(struct store *s, char *const *media, int n, media_cb cb, void *arg)
{
	fk(s, "dead");
	cb(arg, "m", 0, "mp4: too big");
	cb(arg, "x", 0, "not of the batch");
	cb(arg, "m", 0, "thumb: gone");
	return 0;
}

/* "settle:STATUS,STATUS" by media; m has posts 2 and 1, n post 3 */
static int fk_posts_settle(struct store *s, char *const *media, char *const *status,
			   char *const *err, int n, settle_cb cb, void *arg)
{
	struct strbuf b = STRBUF_INIT;

	sb_adds(&b, "settle:");
	for (int i = 0; i < n; i++) {
		sb_addf(&b, "%s%s", i ? "," : "", status[i]);
		ok(!strcmp(media[i], "n") ? !err[i] : !strcmp(err[i], "mp4: too big; thumb: gone"),
		   "a failed media's error: its dead profiles in order; none for a completed one");
		if (!strcmp(media[i], "m")) {
			cb(arg, "m", 2, status[i], "t2");
			cb(arg, "m", 1, status[i], "t1");
		} else {
			cb(arg, "n", 3, status[i], "");
		}
	}
	fk(s, b.buf);
	sb_release(&b);
	return 0;
}

/* "settle:HOW:JOB-CLAIM[:expired]" (HOW: retry, dead, release) */
static int fk_job_settle(struct store *s, const struct fence *run, enum settle how,
			 const char *err, double delay, int expired, int *applied)
{
	static const char *const hows[] = { "retry", "dead", "release" };
	char b[64];

	xsnprintf(b, sizeof(b), "settle:%s:%lld-%lld%s", hows[how], (long long)run->job,
		  (long long)run->claim, expired ? ":expired" : "");
	fk(s, b);
	*applied = 1;
	return 0;
}

static int fk_jobs_expired(struct store *s, const char *not_worker, int max, struct expired **v,
			   int *n)
{
	struct fake *f = (struct fake *)s;

	fk(s, not_worker ? "expired(not me)" : "expired");
	*n = f->nexpired < max ? f->nexpired : max;
	*v = xcalloc((size_t)(*n ? *n : 1), sizeof(**v));
	for (int i = 0; i < *n; i++)
		(*v)[i] = (struct expired){ { 10 + i, 4 }, 2 + i, 3, xstrdup("h:1") };
	f->nexpired -= *n;
	return 0;
}

/* enqueue: post 1 and hash "aaa" are image aaa, "bbb" is a video whose
 * mp4 job 5 runs on q9; nothing else exists */
static void fk_refs_resolve_rows(char *const *refs, const int64_t *post_ids, int n, int traces,
				 ref_cb cb, void *arg)
{
	for (int i = n - 1; i >= 0; i--) {     /* in no particular order */
		if (post_ids[i] == 1)
			cb(arg, i, "aaa", MD_KIND_IMAGE, "t1");
		else if (!post_ids[i] && !strcmp(refs[i], "aaa"))
			cb(arg, i, "aaa", MD_KIND_IMAGE, traces ? "t1" : NULL);
		else if (!post_ids[i] && !strcmp(refs[i], "bbb"))
			cb(arg, i, "bbb", MD_KIND_VIDEO, traces ? "t2" : NULL);
	}
}

static int fk_refs_resolve(struct store *s, char *const *refs, const int64_t *post_ids, int n,
			   int traces, ref_cb cb, void *arg)
{
	fk(s, "resolve");
	fk_refs_resolve_rows(refs, post_ids, n, traces, cb, arg);
	return 0;
}

static int fk_jobs_live(struct store *s, char *const *media, int nm, char *const *profiles,
			int np, live_cb cb, void *arg)
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "live(%d,%d) ", nm, np);
	for (int m = 0; m < nm; m++)
		for (int p = 0; p < np; p++)
			if (!strcmp(media[m], "bbb") && !strcmp(profiles[p], "mp4"))
				cb(arg, m, p, 5, "q9", "running");
	return 0;
}

static int fk_jobs_insert(struct store *s, struct job_row *v, int n, int priority, double run_at)
{
	struct fake *f = (struct fake *)s;

	sb_adds(&f->log, "insert(");
	for (int i = 0; i < n; i++) {
		v[i].id = 100 + i;
		sb_addf(&f->log, "%s%s/%s/%s/%d/%s", i ? "," : "", v[i].media, v[i].profile, v[i].queue,
			v[i].max_attempts, v[i].trace_id ? v[i].trace_id : "-");
	}
	sb_adds(&f->log, ") ");
	return 0;
}

static int fk_jobs_notify(struct store *s, char *const *queues, int n)
{
	struct fake *f = (struct fake *)s;

	sb_adds(&f->log, "notify(");
	for (int i = 0; i < n; i++)
		sb_addf(&f->log, "%s%s", i ? "," : "", queues[i]);
	sb_adds(&f->log, ") ");
	return 0;
}

static int fk_jobs_lock(struct store *s)
{
	fk(s, "lock");
	return 0;
}

static int fk_bulk_begin(struct store *s)
{
	fk(s, "bulk");
	return 0;
}

/* reads: posts 9, 8, 7; one item of each status figure */
static int fk_feed_page(struct store *s, const struct feed_query *q, int limit, feed_cb cb,
			void *arg)
{
	struct fake *f = (struct fake *)s;
	int rc = 0;

	sb_addf(&f->log, "page(%d,%s) ", limit, q->base_url ? q->base_url : "NULL");
	for (int id = 9; id >= 7 && id > 9 - limit && !rc; id--) {
		struct feed_row row = { .post_id = id };

		rc = cb(arg, &row);
	}
	return rc;
}

static int fk_read_begin(struct store *s, int last)
{
	fk(s, "read_begin");
	return 0;
}

static int fk_status_figure(struct store *s, enum status_kind k, int dead_limit, status_cb cb,
			    void *arg)
{
	struct fake *f = (struct fake *)s;
	char q[8];
	struct status_item it = { .kind = k, .queue = q, .n = dead_limit };

	sb_addf(&f->log, "figure%d ", (int)k);
	xsnprintf(q, sizeof(q), "q%d", (int)k);
	return cb(arg, &it);
}

static int fk_hook_add(struct store *s, const int64_t *posts, char *const *keys, char *const *status,
		       int n)
{
	fk(s, "hooks");
	ok(n == 3 && posts[0] == 1 && posts[1] == 2 && posts[2] == 3 && strlen(keys[0]) == 32 &&
	   strcmp(keys[0], keys[1]) && !strcmp(status[0], "failed") && !strcmp(status[2], "completed"),
	   "the outbox gets each finished post, its status and a 32-digit key");
	return 0;
}

/* removing content: the posts 1/aaa, 2/bbb, 3/aaa of al (the first
 * npicked); media aaa has job 11 */
static int fk_posts_pick(struct store *s, const struct post_selector *sel, post_cb cb, void *arg)
{
	struct fake *f = (struct fake *)s;
	static const char *const media[] = { "aaa", "bbb", "aaa" };

	sb_addf(&f->log, "pick(%s) ", sel->user ? sel->user : sel->tag ? sel->tag : "ids");
	if (f->pick_fails) {
		f->pick_fails--;
		return MD_EXIT_TEMPFAIL;
	}
	for (int i = 0; i < f->npicked && i < 3; i++)
		cb(arg, i + 1, media[i], "al");
	return 0;
}

static int fk_posts_delete(struct store *s, const int64_t *ids, int n)
{
	struct fake *f = (struct fake *)s;

	sb_adds(&f->log, "delete(");
	for (int i = 0; i < n; i++)
		sb_addf(&f->log, "%s%lld", i ? "," : "", (long long)ids[i]);
	sb_adds(&f->log, ") ");
	return 0;
}

static int fk_media_lock(struct store *s, const char *media, char ext[16])
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "lock(%s) ", media);
	xsnprintf(ext, 16, "%s", f->vanished && !strcmp(media, f->vanished) ? "" : "png");
	return 0;
}

static int fk_media_posts(struct store *s, const char *media, int64_t *n)
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "count(%s) ", media);
	*n = f->used && !strcmp(media, f->used);
	return 0;
}

static int fk_media_jobs_delete(struct store *s, const char *media, job_row_cb cb, void *arg)
{
	sb_addf(&((struct fake *)s)->log, "jobs(%s) ", media);
	if (!strcmp(media, "aaa"))
		cb(arg, 11, media, "thumb", "running");
	return 0;
}

static int fk_media_delete(struct store *s, const char *media)
{
	sb_addf(&((struct fake *)s)->log, "media(%s) ", media);
	return 0;
}

static int fk_posts_reassign(struct store *s, const char *name, const char *other, post_cb cb,
			     void *arg)
{
	sb_addf(&((struct fake *)s)->log, "reassign(%s>%s) ", name, other);
	cb(arg, 1, "aaa", other);
	cb(arg, 2, "bbb", other);
	return 0;
}

static int fk_job_delete_finalized(struct store *s, int64_t id, int64_t *n)
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "drop(%lld) ", (long long)id);
	*n = f->dropped;
	return 0;
}

static int fk_media_add(struct store *s, const struct media_info *m, int *is_new)
{
	fk(s, "media_add");
	*is_new = ((struct fake *)s)->media_new;
	return 0;
}

static int fk_user_id(struct store *s, const char *name, int64_t *id)
{
	fk(s, "user_id");
	*id = 3;
	return 0;
}

static int fk_post_of(struct store *s, const char *name, const char *media, struct post_found *p)
{
	fk(s, "post_of");
	memset(p, 0, sizeof(*p));
	if ((p->id = ((struct fake *)s)->posted))
		xsnprintf(p->status, sizeof(p->status), "%s", "completed");
	return 0;
}

static int fk_media_verdict(struct store *s, const char *media, int64_t *jobs, int64_t *unfinalized,
			    char **dead)
{
	fk(s, "verdict");
	*jobs = *unfinalized = 0;
	*dead = NULL;
	return 0;
}

static int fk_post_add(struct store *s, int64_t owner, const char *media, const char *caption,
		       const char *status, const char *error, const char *trace_id, int64_t *id)
{
	fk(s, "post_add");
	*id = 9;
	return 0;
}

/* housekeeping: the janitor's lock is the int jan_held */
static int jan_held;

static int fk_janitor_lock(struct store *s, void **held)
{
	struct fake *f = (struct fake *)s;

	fk(s, "jlock");
	*held = f->jan_busy ? NULL : &jan_held;
	return f->jan_busy < 0 ? MD_EXIT_IOERR : 0;
}

static void fk_janitor_unlock(struct store *s, void *held)
{
	fk(s, held == &jan_held ? "junlock" : "junlock(?)");
}

/* jan_fails: this try fails after doing its part */
static int fk_jan_fail(struct fake *f)
{
	if (!f->jan_fails)
		return 0;
	f->jan_fails--;
	return MD_EXIT_TEMPFAIL;
}

/* posts 1 and 2 of media aaa and bbb */
static int fk_posts_idle(struct store *s, const char *status, double age, jan_cb cb, void *arg)
{
	int rc = 0;

	sb_addf(&((struct fake *)s)->log, "idle(%s,%g) ", status, age);
	for (int i = 1; i <= 2 && !rc; i++) {
		struct jan_row r = { .id = i, .media = i == 1 ? "aaa" : "bbb", .at = "t" };
		rc = cb(arg, &r);
	}
	fk(s, "/idle");
	return rc;
}

static int fk_post_fail_idle(struct store *s, int64_t id, double age, const char *error,
			     int *applied)
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "fail_idle(%lld,%g,%s) ", (long long)id, age, error);
	*applied = f->jan_fails ? 1 : f->idle_applied;
	return fk_jan_fail(f);
}

/* a row of each kind, of media aaa; the renditions' read fails jan_fails times */
static int fk_storage_refs(struct store *s, enum jan_ref kind, jan_cb cb, void *arg)
{
	struct fake *f = (struct fake *)s;
	struct jan_row r = { .kind = kind, .media = "aaa", .name = kind ? "mp4" : "png",
			     .key = kind == JAN_RENDITION ? "renditions/k" : NULL,
			     .id = kind == JAN_RUN ? 7 : 0, .claim = kind == JAN_RUN ? 2 : 0 };
	int rc;

	sb_addf(&f->log, "refs(%d) ", (int)kind);
	if ((rc = cb(arg, &r)))
		return rc;
	return kind == JAN_RENDITION ? fk_jan_fail(f) : 0;
}

static int fk_jobs_prune(struct store *s, int64_t after, int window, double age, int dry,
			 int64_t *next, int64_t *n)
{
	struct fake *f = (struct fake *)s;

	sb_addf(&f->log, "prune(%lld,%d,%g%s) ", (long long)after, window, age, dry ? ",dry" : "");
	if (f->jan_fails) {
		*next = 99;
		*n = 5;
		return fk_jan_fail(f);
	}
	*next = f->prune_next;
	if (*next)
		*n = *next - after;
	return 0;
}

static const struct store_driver fake_driver = {
	.name = "fake",
	.begin = fk_begin,
	.commit = fk_commit,
	.rollback = fk_rollback,
	.again = fk_again,
	.users_lock = fk_users_lock,
	.user_facts = fk_user_facts,
	.user_write = fk_user_write,
	.media_add = fk_media_add,
	.user_id = fk_user_id,
	.post_of = fk_post_of,
	.media_verdict = fk_media_verdict,
	.post_add = fk_post_add,
	.job_read = fk_job_read,
	.job_cancel = fk_job_cancel,
	.job_reset = fk_job_reset,
	.posts_reopen = fk_posts_reopen,
	.dead_unfinalize = fk_dead_unfinalize,
	.feed_bump = fk_feed_bump,
	.live_twin = fk_live_twin,
	.finalize_pick = fk_finalize_pick,
	.finalize_lock = fk_finalize_lock,
	.renditions_register = fk_batch_step,
	.dead_round = fk_dead_round,
	.posts_settle = fk_posts_settle,
	.jobs_stamp = fk_batch_step,
	.job_settle = fk_job_settle,
	.jobs_expired = fk_jobs_expired,
	.bulk_begin = fk_bulk_begin,
	.refs_resolve = fk_refs_resolve,
	.jobs_live = fk_jobs_live,
	.jobs_insert = fk_jobs_insert,
	.jobs_notify = fk_jobs_notify,
	.feed_page = fk_feed_page,
	.read_begin = fk_read_begin,
	.status_figure = fk_status_figure,
	.hook_add = fk_hook_add,
	.posts_pick = fk_posts_pick,
	.posts_delete = fk_posts_delete,
	.media_lock = fk_media_lock,
	.media_posts = fk_media_posts,
	.media_jobs_delete = fk_media_jobs_delete,
	.media_delete = fk_media_delete,
	.posts_reassign = fk_posts_reassign,
	.job_delete_finalized = fk_job_delete_finalized,
	.janitor_lock = fk_janitor_lock,
	.janitor_unlock = fk_janitor_unlock,
	.posts_idle = fk_posts_idle,
	.post_fail_idle = fk_post_fail_idle,
	.storage_refs = fk_storage_refs,
	.jobs_prune = fk_jobs_prune,
};

static void fake_reset(struct fake *f)
{
	sb_release(&f->log);
	memset(f, 0, sizeof(*f));
	f->base.drv = &fake_driver;
	f->base.where = "fake";
}

static void test_store_users_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	char *why;

	fake_reset(&f);
	ok(!store_user_change(&f.base, USER_ADD, "ann", NULL, "h", &why) && !why,
	   "a new user is added");
	is_str(f.log.buf, "begin users_lock user_facts add commit ",
	       "adding a user: lock, facts, write, commit in one transaction");
	fake_reset(&f);
	f.exists = 1;
	ok(!store_user_change(&f.base, USER_ADD, "ann", NULL, "h", &why), "a refusal is no error");
	is_str(why, "user 'ann' exists", "an existing name is refused");
	is_str(f.log.buf, "begin users_lock user_facts rollback ", "a refusal writes nothing");
	free(why);
	fake_reset(&f);
	f.exists = 1;
	f.posts = 2;
	store_user_change(&f.base, USER_DEL, "ann", NULL, NULL, &why);
	is_str(why, "user 'ann' owns 2 posts", "a user with posts is not deleted");
	free(why);
	fake_reset(&f);
	f.fail_tries = 1;
	ok(!store_user_change(&f.base, USER_PASSWD, "ann", NULL, "h", &why) && why,
	   "a replayable failure is replayed");
	is_str(f.log.buf, "begin users_lock rollback begin users_lock user_facts rollback ",
	       "the replay starts from scratch");
	free(why);
	fake_reset(&f);
	f.fail_tries = STORE_TRIES;
	ok(store_user_change(&f.base, USER_ADD, "ann", NULL, "h", &why) == MD_EXIT_TEMPFAIL,
	   "replays stop after STORE_TRIES tries");
	ok(strstr(f.log.buf, "begin(last)") != NULL, "the driver is told of the last try");
	free(why);
	sb_release(&f.log);
}

static void test_store_work_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct job j = { .id = 5, .claim = 2, .attempts = 1, .max_attempts = 3 };
	char st[16];
	int n = -1;

	ok(!job_out_of_attempts(2, 3) && job_out_of_attempts(3, 3) && job_out_of_attempts(4, 3),
	   "out of attempts once attempts reach max_attempts");
	fake_reset(&f);
	store_job_fail(&f.base, &j, "boom", 0, 10, st);
	is_str(st, "available", "a temporary failure with attempts left: available");
	is_str(f.log.buf, "settle:retry:5-2 ", "one fenced step on the run");
	fake_reset(&f);
	store_job_fail(&f.base, &j, "bad input", 1, 10, st);
	is_str(f.log.buf, "settle:dead:5-2 ", "a permanent failure: dead at once");
	fake_reset(&f);
	j.attempts = 3;
	store_job_fail(&f.base, &j, "boom", 0, 10, st);
	is_str(st, "dead", "the last attempt: dead");
	fake_reset(&f);
	store_job_release(&f.base, &j, NULL);
	is_str(f.log.buf, "settle:release:5-2 ", "a release gives the attempt back");
	fake_reset(&f);
	f.nexpired = 2;
	ok(!store_rescue_expired(&f.base, "h:2", &n) && n == 2, "two expired runs rescued");
	is_str(f.log.buf, "expired(not me) settle:retry:10-4:expired settle:dead:11-4:expired ",
	       "rescue: each expired run, only if still expired; the one out of attempts dead");
	sb_release(&f.log);
}

static void test_store_jobs_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	char *why;

	fake_reset(&f);
	store_job_control(&f.base, 3, JOB_RETRY, &why);
	is_str(why, "no such job", "a missing job is refused");
	free(why);
	fake_reset(&f);
	f.state = "succeeded";
	store_job_control(&f.base, 3, JOB_CANCEL, &why);
	is_str(why, "the job is succeeded: only available, running or dead jobs can be cancelled",
	       "a finished job is not cancelled");
	free(why);
	fake_reset(&f);
	f.state = "dead";
	f.twin = "running";
	store_job_control(&f.base, 3, JOB_RETRY, &why);
	is_str(why, "job 7 for the same media and profile is running", "a live twin refuses a retry");
	free(why);
	fake_reset(&f);
	f.state = "dead";
	f.reopened = 1;
	ok(!store_job_control(&f.base, 3, JOB_RETRY, &why) && !why, "a dead job is retried");
	is_str(f.log.buf, "begin job_read twin reset reopen bump commit ",
	       "a retry reopens the failed posts and bumps the feed");
	fake_reset(&f);
	f.state = "dead";
	f.reopened = 2;
	store_job_control(&f.base, 3, JOB_CANCEL, &why);
	is_str(f.log.buf, "begin job_read cancel reopen unfinalize bump commit ",
	       "cancelling a dead job puts its media back before md-finalize");
	fake_reset(&f);
	f.state = "running";
	store_job_control(&f.base, 3, JOB_CANCEL, &why);
	is_str(f.log.buf, "begin job_read cancel commit ", "cancelling a running job is one step");
	sb_release(&f.log);
}

static void test_store_ingest_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct media_info m = { .sha = "m", .kind = MD_KIND_IMAGE };
	struct ingest_req req = { .media = &m, .user = "ann", .skip_posted = 1 };
	struct ingest_res res;

	fake_reset(&f);
	f.posted = 5;
	ok(!store_ingest(&f.base, &req, &res) && res.exists && res.post_id == 5,
	   "skip_posted: the user's post of a known media is the answer");
	is_str(res.status, "completed", "skip_posted: with that post's status");
	is_str(f.log.buf, "begin media_add post_of rollback ",
	       "skip_posted: looked for under the media's lock, nothing written");
	fake_reset(&f);
	ok(!store_ingest(&f.base, &req, &res) && !res.exists && res.post_id == 9,
	   "skip_posted: a known media the user did not post gets a post");
	is_str(f.log.buf, "begin media_add post_of user_id verdict post_add commit ",
	       "skip_posted: the check, then the ingest in the same transaction");
	fake_reset(&f);
	f.media_new = 1;
	f.posted = 5;
	ok(!store_ingest(&f.base, &req, &res) && !res.exists && res.post_id == 9 &&
	   !strcmp(res.status, "pending"), "skip_posted: a new media gets a pending post");
	is_str(f.log.buf, "begin media_add user_id post_add commit ",
	       "skip_posted: no post of a media new to the store is looked for");
	fake_reset(&f);
	f.posted = 5;
	req.skip_posted = 0;
	ok(!store_ingest(&f.base, &req, &res) && !res.exists && res.post_id == 9,
	   "without skip_posted, the user's second post of a media");
	is_str(f.log.buf, "begin media_add user_id verdict post_add commit ",
	       "without skip_posted, no post is looked for");
	sb_release(&f.log);
}

static void test_store_posts_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct finalized *fin;
	struct profile p = { .name = "mp4", .max_attempts = 0 };
	int n;

	ok(!strcmp(dup_post_status(0, 0, NULL), "pending"), "a media without jobs: pending");
	ok(!strcmp(dup_post_status(3, 1, "x"), "pending"), "jobs not finalized: pending");
	ok(!strcmp(dup_post_status(3, 0, "mp4: x"), "failed"), "a dead profile: failed");
	ok(!strcmp(dup_post_status(3, 0, NULL), "completed"), "all finalized, none dead: completed");
	ok(job_max_attempts(0, &p, 4) == 4, "max attempts: the default");
	p.max_attempts = 2;
	ok(job_max_attempts(0, &p, 4) == 2, "max attempts: the profile's over the default");
	ok(job_max_attempts(9, &p, 4) == 9, "max attempts: the one asked for over all");

	fake_reset(&f);
	f.stale_picks = 1;
	ok(!store_finalize_batch(&f.base, 0, 7, &fin, &n) && n == 2, "a batch is finalized");
	is_str(f.log.buf, "begin pick lock rollback begin pick lock step dead settle:failed,completed "
	       "step bump commit ", "a batch gone stale is given up, the next is finalized in one transaction");
	ok(n == 2 && !strcmp(fin[0].media, "m") && !strcmp(fin[0].ext, "mp4") && fin[0].failed &&
	   fin[0].nposts == 2 && fin[0].post_ids[0] == 1 && fin[0].post_ids[1] == 2 &&
	   !strcmp(fin[0].post_status[0], "failed"), "a dead profile fails the media's posts, by id");
	ok(n == 2 && fin[0].nposts == 2 && !strcmp(fin[0].post_trace[0], "t1") &&
	   !strcmp(fin[0].post_trace[1], "t2") && !strcmp(fin[1].post_trace[0], ""),
	   "each post keeps its trace id as its id is put in order");
	ok(n == 2 && !strcmp(fin[1].media, "n") && !fin[1].failed && fin[1].nposts == 1 &&
	   fin[1].post_ids[0] == 3 && !strcmp(fin[1].post_status[0], "completed"),
	   "a media without a dead job completes its posts");
	finalized_free(fin, n);
	fake_reset(&f);
	f.stale_one = 1;
	ok(!store_finalize_batch(&f.base, 0, 7, &fin, &n) && n == 1 && !strcmp(fin[0].media, "m"),
	   "a media gone stale is left out of the batch");
	is_str(f.log.buf, "begin pick lock step dead settle:failed step bump commit ",
	       "the rest of the batch is finalized");
	finalized_free(fin, n);
	fake_reset(&f);
	ok(!store_finalize_batch(&f.base, 1, 7, &fin, &n) && n == 2, "a batch is finalized for a hook");
	is_str(f.log.buf, "begin pick lock step dead settle:failed,completed hooks step bump commit ",
	       "the posts go in the hook outbox in the finishing transaction");
	finalized_free(fin, n);
	sb_release(&f.log);
	test_store_ingest_policy();
}

static void enq_line(void *arg, const char *ref, int64_t job_id, const char *media,
		     const char *profile, const char *queue, const char *state, const char *reason)
{
	sb_addf(arg, "%s %s %s %lld %s %s%s%s\n", ref, profile ? profile : "-", state,
		(long long)job_id, queue ? queue : "-", media ? media : "-", reason ? ": " : "",
		reason ? reason : "");
}

static void test_store_enqueue_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct store_driver d = fake_driver;
	struct profile thumb = { .name = "thumb", .kinds = MD_KIND_ALL, .queue = "q1" };
	struct profile mp4 = { .name = "mp4", .kinds = MD_KIND_VIDEO, .queue = "q2",
			       .max_attempts = 2 };
	const struct profile *pv[] = { &thumb, &mp4, &thumb };
	struct enqueue_opts o = { .profiles = pv, .nprofiles = 2, .default_attempts = 3 };
	char *refs[] = { "1", "bbb", "zzz", "1", "aaa" };
	struct strbuf out = STRBUF_INIT;

	d.jobs_lock = fk_jobs_lock;
	fake_reset(&f);
	f.base.drv = &d;
	ok(!store_enqueue(&f.base, refs, 5, &o, enq_line, &out), "a batch is enqueued");
	is_str(f.log.buf, "begin lock resolve live(2,2) insert(aaa/thumb/q1/3/t1,"
	       "bbb/thumb/q1/3/t2) notify(q1) commit ",
	       "enqueue: locked, resolved, live jobs looked up, new jobs added, workers woken");
	is_str(out.buf,
	       "1 thumb available 100 q1 aaa\n"
	       "1 mp4 skipped 0 - aaa: profile 'mp4' does not apply to image media\n"
	       "bbb thumb available 101 q1 bbb\n"
	       "bbb mp4 running 5 q9 bbb\n"
	       "zzz - error 0 - -: no such post or media\n"
	       "1 thumb available 100 q1 aaa\n"
	       "1 mp4 skipped 0 - aaa: profile 'mp4' does not apply to image media\n"
	       "aaa thumb available 100 q1 aaa\n"
	       "aaa mp4 skipped 0 - aaa: profile 'mp4' does not apply to image media\n",
	       "enqueue: ref by ref, profile by profile; a live job reused, repeats share a job");

	fake_reset(&f);
	f.base.drv = &d;
	sb_reset(&out);
	o.force = 1;
	o.queue = "qx";
	o.max_attempts = 7;
	o.trace_id = "tt";
	store_enqueue(&f.base, refs + 1, 1, &o, enq_line, &out);
	is_str(f.log.buf, "begin resolve insert(bbb/thumb/qx/7/tt,bbb/mp4/qx/7/tt) "
	       "notify(qx) commit ", "--force: no lock, no look for live jobs");
	is_str(out.buf, "bbb thumb available 100 qx bbb\nbbb mp4 available 101 qx bbb\n",
	       "--force: a new job even beside a live one, on the queue asked for");

	fake_reset(&f);
	f.base.drv = &d;
	sb_reset(&out);
	o = (struct enqueue_opts){ .profiles = pv, .nprofiles = 3, .default_attempts = 3 };
	store_enqueue(&f.base, refs + 4, 1, &o, enq_line, &out);
	is_str(f.log.buf, "begin lock resolve live(1,2) insert(aaa/thumb/q1/3/t1) notify(q1) "
	       "commit ", "a profile named twice is looked up once");
	ok(strstr(out.buf, "aaa thumb available 100 q1 aaa\naaa mp4 skipped") &&
	   strstr(out.buf, "skipped 0 - aaa: profile 'mp4' does not apply to image media\n"
		  "aaa thumb available 100 q1 aaa\n"), "a profile named twice gets one job");
	sb_release(&out);
	sb_release(&f.log);
}

struct seen {
	struct strbuf sb;
	int stop_at;
};

static int seen_post(void *arg, const struct feed_row *row)
{
	struct seen *v = arg;

	sb_addf(&v->sb, "%lld ", (long long)row->post_id);
	return row->post_id == v->stop_at ? 42 : 0;
}

static int seen_item(void *arg, const struct status_item *it)
{
	struct seen *v = arg;

	sb_addf(&v->sb, "%s/%lld ", it->queue, (long long)it->n);
	return 0;
}

static void test_store_read_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct feed_query q = { .limit = 2 };
	struct seen v = { .sb = STRBUF_INIT };
	int64_t next = -1;

	fake_reset(&f);
	ok(!store_feed(&f.base, &q, seen_post, &v, &next), "a feed page");
	is_str(f.log.buf, "page(3,) ", "one query, a row more than the page, no prefix by default");
	is_str(v.sb.buf, "9 8 ", "the page's posts");
	ok(next == 8, "a row past the page: the cursor is the page's last post");
	sb_reset(&v.sb);
	q.limit = 5;
	ok(!store_feed(&f.base, &q, seen_post, &v, &next) && next == 0, "the last page: no cursor");
	v.stop_at = 8;
	sb_reset(&v.sb);
	ok(store_feed(&f.base, &q, seen_post, &v, &next) == 42 && !strcmp(v.sb.buf, "9 8 "),
	   "the caller's stop is returned");

	fake_reset(&f);
	sb_reset(&v.sb);
	ok(!store_status(&f.base, 10, seen_item, &v), "status");
	is_str(f.log.buf, "read_begin figure0 figure1 figure2 figure3 figure4 figure5 figure6 figure7 commit ",
	       "status: every figure in one snapshot, in order");
	is_str(v.sb.buf, "q0/10 q1/10 q2/10 q3/10 q4/10 q5/10 q6/10 q7/10 ", "status: the items, after the reads");
	sb_release(&v.sb);
	sb_release(&f.log);
}

/* r as "post:1/aaa/al ... media:aaa.png job:11/aaa/thumb/running moved:1" */
static void removal_line(struct strbuf *sb, const struct removal *r)
{
	sb_reset(sb);
	for (int i = 0; i < r->nposts; i++)
		sb_addf(sb, "post:%lld/%s/%s ", (long long)r->posts[i].id, r->posts[i].media,
			r->posts[i].user);
	for (int i = 0; i < r->nmedia; i++)
		sb_addf(sb, "media:%s.%s ", r->media[i].sha, r->media[i].ext);
	for (int i = 0; i < r->njobs; i++)
		sb_addf(sb, "job:%lld/%s/%s/%s ", (long long)r->jobs[i].id, r->jobs[i].media,
			r->jobs[i].profile, r->jobs[i].state);
	for (int i = 0; i < r->nreassigned; i++)
		sb_addf(sb, "moved:%lld ", (long long)r->reassigned[i]);
}

static void test_store_content_posts(struct fake *f, struct strbuf *got)
{
	int64_t ids[] = { 3, 1, 2, 9 };
	struct post_selector sel = { .ids = ids, .nids = 4 }, tag = { .tag = "cats" };
	struct removal r;

	fake_reset(f);
	f->npicked = 3;
	f->used = "bbb";
	ok(!store_posts_remove(&f->base, &sel, 0, &r), "posts are removed");
	is_str(f->log.buf, "begin pick(ids) delete(1,2,3) lock(aaa) lock(bbb) count(aaa) count(bbb) "
	       "jobs(aaa) media(aaa) bump commit ", "one transaction: the posts, each media locked "
	       "once by hash before any is counted, the unused one's jobs and row, the feed");
	removal_line(got, &r);
	is_str(got->buf, "post:1/aaa/al post:2/bbb/al post:3/aaa/al media:aaa.png "
	       "job:11/aaa/thumb/running ", "the removal: the posts, the unused media, its jobs");
	removal_release(&r);
	fake_reset(f);
	f->npicked = 3;
	f->used = "bbb";
	store_posts_remove(&f->base, &sel, 1, &r);
	is_str(f->log.buf, "begin pick(ids) delete(1,2,3) lock(aaa) lock(bbb) count(aaa) count(bbb) "
	       "jobs(aaa) media(aaa) bump rollback ", "a dry run: the same steps, rolled back");
	removal_line(got, &r);
	is_str(got->buf, "post:1/aaa/al post:2/bbb/al post:3/aaa/al media:aaa.png "
	       "job:11/aaa/thumb/running ", "a dry run says what would go");
	removal_release(&r);
	fake_reset(f);
	ok(!store_posts_remove(&f->base, &tag, 0, &r) && !r.nposts && !r.nmedia,
	   "no post matches: nothing removed, no error");
	is_str(f->log.buf, "begin pick(cats) commit ", "no post: nothing but the pick");
	removal_release(&r);
	fake_reset(f);
	f->npicked = 3;
	sel.nids = 0;
	ok(!store_posts_remove(&f->base, &sel, 0, &r) && !r.nposts && !f->log.len,
	   "an empty list of ids removes no post (not every post) and asks nothing");
	removal_release(&r);
	fake_reset(f);
	f->npicked = 2;
	f->vanished = "bbb";
	f->pick_fails = 1;
	ok(!store_posts_remove(&f->base, &tag, 0, &r), "a replayed removal");
	is_str(f->log.buf, "begin pick(cats) rollback begin pick(cats) delete(1,2) lock(aaa) "
	       "lock(bbb) count(aaa) count(bbb) jobs(aaa) media(aaa) bump commit ",
	       "the replay starts from scratch");
	removal_line(got, &r);
	is_str(got->buf, "post:1/aaa/al post:2/bbb/al media:aaa.png job:11/aaa/thumb/running ",
	       "a replay reports once; a media that has no row is not removed");
	removal_release(&r);
}

/* store_user_remove with how and other; its log, refusal and removal */
static char *user_rm(struct fake *f, enum user_posts how, const char *other, int dry_run,
		     struct strbuf *got)
{
	struct removal r;
	char *why = NULL;

	if (store_user_remove(&f->base, "al", how, other, dry_run, &r, &why))
		sb_adds(&f->log, "FAILED");
	removal_line(got, &r);
	removal_release(&r);
	return why;
}

static void test_store_content_users(struct fake *f, struct strbuf *got)
{
	char *why;

	fake_reset(f);
	is_str(why = user_rm(f, USER_POSTS_REFUSE, NULL, 0, got), "no such user 'al'",
	       "no such user is refused");
	is_str(f->log.buf, "begin users_lock user_facts rollback ", "a refusal writes nothing");
	free(why);
	fake_reset(f);
	f->exists = 1;
	f->posts = 2;
	is_str(why = user_rm(f, USER_POSTS_REFUSE, NULL, 0, got), "user 'al' owns 2 posts: delete "
	       "them (--delete-posts) or give them to another user (--reassign-to NAME)",
	       "a user with posts is refused, the two ways out named");
	free(why);
	fake_reset(f);
	f->exists = 1;
	ok(!(why = user_rm(f, USER_POSTS_REFUSE, NULL, 0, got)), "a user without posts is removed");
	is_str(f->log.buf, "begin users_lock user_facts del commit ", "facts, then the user");
	fake_reset(f);
	f->exists = 1;
	f->posts = 2;
	f->npicked = 2;
	ok(!(why = user_rm(f, USER_POSTS_DELETE, NULL, 0, got)), "a user is removed with the posts");
	is_str(f->log.buf, "begin users_lock user_facts pick(al) delete(1,2) lock(aaa) lock(bbb) "
	       "count(aaa) count(bbb) jobs(aaa) media(aaa) jobs(bbb) media(bbb) bump del commit ",
	       "the posts go as by md-post del --user, then the user, in one transaction");
	is_str(got->buf, "post:1/aaa/al post:2/bbb/al media:aaa.png media:bbb.png "
	       "job:11/aaa/thumb/running ", "the posts, the media and the jobs that went");
	fake_reset(f);
	f->exists = f->other_exists = 1;
	f->posts = 2;
	ok(!(why = user_rm(f, USER_POSTS_REASSIGN, "bo", 0, got)), "a user is removed, posts given");
	is_str(f->log.buf, "begin users_lock user_facts user_facts reassign(al>bo) bump del commit ",
	       "both users looked at, the posts moved, the feed bumped, the user removed");
	is_str(got->buf, "moved:1 moved:2 ", "the posts moved");
	fake_reset(f);
	f->exists = f->other_exists = 1;
	ok(!(why = user_rm(f, USER_POSTS_REASSIGN, "bo", 1, got)), "a dry run of a reassignment");
	is_str(f->log.buf, "begin users_lock user_facts user_facts del rollback ",
	       "no posts: nothing moved, no bump; a dry run rolls back");
	fake_reset(f);
	f->exists = 1;
	f->posts = 1;
	is_str(why = user_rm(f, USER_POSTS_REASSIGN, "bo", 0, got),
	       "no such user 'bo' to give the posts to", "a new owner that does not exist is refused");
	is_str(f->log.buf, "begin users_lock user_facts user_facts rollback ", "and nothing written");
	free(why);
	fake_reset(f);
	f->exists = f->other_exists = 1;
	is_str(why = user_rm(f, USER_POSTS_REASSIGN, "al", 0, got),
	       "cannot give the posts of 'al' to 'al' itself", "giving the posts to oneself is refused");
	free(why);
}

/* store_job_drop of job 3 in state; its refusal, or NULL */
static char *job_rm(struct fake *f, const char *state, int64_t dropped, int dry_run,
		    struct strbuf *got)
{
	struct removal r;
	char *why = NULL;

	fake_reset(f);
	f->state = state;
	f->dropped = dropped;
	if (store_job_drop(&f->base, 3, dry_run, &r, &why))
		sb_adds(&f->log, "FAILED");
	removal_line(got, &r);
	removal_release(&r);
	return why;
}

static void test_store_content_jobs(struct fake *f, struct strbuf *got)
{
	char *why;

	is_str(why = job_rm(f, NULL, 0, 0, got), "no such job", "drop of no such job is refused");
	is_str(f->log.buf, "begin job_read rollback ", "after one read");
	free(why);
	is_str(why = job_rm(f, "running", 0, 0, got), "the job is running: only succeeded, dead or "
	       "cancelled jobs can be dropped", "a running job is not dropped");
	is_str(f->log.buf, "begin job_read rollback ", "nor tried");
	free(why);
	is_str(why = job_rm(f, "dead", 0, 0, got), "the job is dead but not finalized: run "
	       "md-finalize first", "a job md-finalize has not stamped is not dropped");
	is_str(f->log.buf, "begin job_read drop(3) rollback ", "the delete found nothing, rolled back");
	free(why);
	ok(!(why = job_rm(f, "succeeded", 1, 0, got)), "a finalized job is dropped");
	is_str(f->log.buf, "begin job_read drop(3) commit ", "read, delete, commit");
	is_str(got->buf, "job:3/m/mp4/succeeded ", "the job that went");
	ok(!(why = job_rm(f, "cancelled", 1, 1, got)), "a dry run of a drop");
	is_str(f->log.buf, "begin job_read drop(3) rollback ", "the same, rolled back");
	is_str(got->buf, "job:3/m/mp4/cancelled ", "says what would go");
	ok(!job_drop_refusal("dead", 1) && !job_drop_refusal("cancelled", 1),
	   "dead and cancelled jobs, finalized, may be dropped");
}

static void test_store_content_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct strbuf got = STRBUF_INIT;

	test_store_content_posts(&f, &got);
	test_store_content_users(&f, &got);
	test_store_content_jobs(&f, &got);
	sb_release(&got);
	sb_release(&f.log);
}

/* What the janitor's reads called back: "kind:id/media/name/key/claim/n " */
struct jrows {
	struct strbuf sb;
	int stop_at;            /* return 3 at the row of this id */
	struct fake *f;         /* "row" in its log for each */
};

static int jan_line(void *arg, const struct jan_row *r)
{
	struct jrows *v = arg;

	if (v->f)
		fk(&v->f->base, "row");

	sb_addf(&v->sb, "%d:%lld/%s/%s/%s/%lld/%lld ", (int)r->kind, (long long)r->id,
		r->media ? r->media : "-", r->name ? r->name : "-", r->key ? r->key : "-",
		(long long)r->claim, (long long)r->n);
	return v->stop_at && r->id == v->stop_at ? 3 : 0;
}

static void test_store_janitor_lock(struct fake *f)
{
	struct store_lock *lk = NULL;

	fake_reset(f);
	ok(!store_janitor_lock(&f->base, &lk) && lk, "the janitor's lock is taken");
	store_janitor_unlock(&f->base, lk);
	is_str(f->log.buf, "jlock junlock ", "and released with what the driver gave, "
	       "outside any transaction");
	fake_reset(f);
	f->jan_busy = 1;
	lk = (struct store_lock *)f;
	ok(!store_janitor_lock(&f->base, &lk) && !lk, "another janitor holds it: no lock, no error");
	store_janitor_unlock(&f->base, lk);
	is_str(f->log.buf, "jlock ", "no lock: nothing to release");
	fake_reset(f);
	f->jan_busy = -1;
	lk = (struct store_lock *)f;
	ok(store_janitor_lock(&f->base, &lk) == MD_EXIT_IOERR && !lk,
	   "the lock cannot be tried: the driver's error, no lock");
}

static void test_store_janitor_reads(struct fake *f, struct jrows *v)
{
	fake_reset(f);
	sb_reset(&v->sb);
	f->nexpired = 2;
	ok(!store_expired_jobs(&f->base, jan_line, v), "expired runs are read");
	is_str(f->log.buf, "expired ", "one read, every worker's runs, nothing settled");
	is_str(v->sb.buf, "0:10/-/h:1/-/4/0 0:11/-/h:1/-/4/1 ",
	       "each run, its claim and worker; n: whether it would go dead");
	fake_reset(f);
	sb_reset(&v->sb);
	f->nexpired = 3;
	v->stop_at = 11;
	ok(store_expired_jobs(&f->base, jan_line, v) == 3, "cb's stop is returned");
	is_str(v->sb.buf, "0:10/-/h:1/-/4/0 0:11/-/h:1/-/4/1 ", "and no run after it is seen");
	fake_reset(f);
	sb_reset(&v->sb);
	v->stop_at = 0;
	v->f = f;
	ok(!store_idle_posts(&f->base, "processing", 60, jan_line, v), "idle posts are read");
	is_str(f->log.buf, "idle(processing,60) /idle row row ", "one read, of the status and age "
	       "asked for, over before cb sees a row (cb may write)");
	is_str(v->sb.buf, "0:1/aaa/-/-/0/0 0:2/bbb/-/-/0/0 ", "each post, its media");
	v->f = NULL;
	sb_reset(&v->sb);
	v->stop_at = 1;
	ok(store_idle_posts(&f->base, "pending", 1, jan_line, v) == 3, "cb's stop is returned");
	is_str(v->sb.buf, "0:1/aaa/-/-/0/0 ", "and no post after it is seen");
	v->stop_at = 0;
}

/* store_fail_idle_post of post 5: applied, and the log in *log */
static int fail_idle(struct fake *f, int still_idle, int fails)
{
	int applied = -1;

	fake_reset(f);
	f->idle_applied = still_idle;
	f->jan_fails = fails;
	if (store_fail_idle_post(&f->base, 5, 60, "stuck", &applied))
		sb_adds(&f->log, "FAILED");
	return applied;
}

static void test_store_janitor_fail(struct fake *f)
{
	ok(fail_idle(f, 1, 0) == 1, "a stuck post is failed");
	is_str(f->log.buf, "begin fail_idle(5,60,stuck) bump commit ",
	       "one conditional write and the feed's bump, in one transaction");
	ok(fail_idle(f, 0, 0) == 0, "a post no longer idle is not");
	is_str(f->log.buf, "begin fail_idle(5,60,stuck) commit ", "and the feed is not bumped");
	ok(fail_idle(f, 0, 1) == 0, "a replay says what the last try did");
	is_str(f->log.buf, "begin fail_idle(5,60,stuck) rollback begin fail_idle(5,60,stuck) commit ",
	       "no bump for what a rolled back try did");
}

static void test_store_janitor_refs(struct fake *f, struct jrows *v)
{
	fake_reset(f);
	sb_reset(&v->sb);
	ok(!store_storage_refs(&f->base, jan_line, v), "the stored files' rows are read");
	is_str(f->log.buf, "read_begin refs(0) refs(1) refs(2) commit ",
	       "originals, renditions, runs: one snapshot");
	is_str(v->sb.buf, "0:0/aaa/png/-/0/0 1:0/aaa/mp4/renditions/k/0/0 2:7/aaa/mp4/-/2/0 ",
	       "an original's extension, a rendition's key, a run's job and claim");
	fake_reset(f);
	sb_reset(&v->sb);
	f->jan_fails = 1;
	ok(!store_storage_refs(&f->base, jan_line, v), "a replayed read");
	is_str(f->log.buf, "read_begin refs(0) refs(1) rollback read_begin refs(0) refs(1) refs(2) "
	       "commit ", "starts again from the originals");
	is_str(v->sb.buf, "0:0/aaa/png/-/0/0 1:0/aaa/mp4/renditions/k/0/0 0:0/aaa/png/-/0/0 "
	       "1:0/aaa/mp4/renditions/k/0/0 2:7/aaa/mp4/-/2/0 ", "cb sees the rows read before "
	       "the replay again (store.h says so)");
}

/* store_prune_jobs after 100: "next n" and the log */
static const char *prune_of(struct fake *f, int64_t next, int fails, int dry)
{
	static char b[64];
	int64_t nx = -1, n = -1;

	fake_reset(f);
	f->prune_next = next;
	f->jan_fails = fails;
	if (store_prune_jobs(&f->base, 100, 500, 3600, dry, &nx, &n))
		sb_adds(&f->log, "FAILED");
	xsnprintf(b, sizeof(b), "%lld %lld", (long long)nx, (long long)n);
	return b;
}

static void test_store_janitor_prune(struct fake *f)
{
	is_str(prune_of(f, 600, 0, 0), "600 500", "a window pruned: its end, the count");
	is_str(f->log.buf, "begin prune(100,500,3600) commit ", "one short transaction");
	prune_of(f, 600, 0, 1);
	is_str(f->log.buf, "begin prune(100,500,3600,dry) commit ", "a dry run asks for a count");
	is_str(prune_of(f, 0, 0, 0), "0 0", "no jobs after: the end, nothing pruned");
	is_str(prune_of(f, 0, 1, 0), "0 0", "a replay says what the last try did");
	is_str(f->log.buf, "begin prune(100,500,3600) rollback begin prune(100,500,3600) commit ",
	       "the window read again from the start");
}

static void test_store_janitor_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct jrows v = { .sb = STRBUF_INIT };

	test_store_janitor_lock(&f);
	test_store_janitor_reads(&f, &v);
	test_store_janitor_fail(&f);
	test_store_janitor_refs(&f, &v);
	test_store_janitor_prune(&f);
	sb_release(&v.sb);
	sb_release(&f.log);
}
