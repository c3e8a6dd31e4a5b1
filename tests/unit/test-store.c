/*
 * test-store.c - the store's policy without a database: a fake driver
 * (store_int.h) that records each primitive called, for the transaction
 * runner and the sequences of store_users.c, store_jobs.c and
 * store_posts.c, and the pure rules.  Included by test-lib.c.
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
	int stale_picks;        /* finalize_lock says stale this many times */
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
	*exists = f->exists;
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

static int fk_finalize_pick(struct store *s, char media[65], char ext[16], int *found)
{
	fk(s, "pick");
	xsnprintf(media, 65, "%s", "m");
	xsnprintf(ext, 16, "%s", "mp4");
	*found = 1;
	return 0;
}

static int fk_finalize_lock(struct store *s, const char *media, int *stale)
{
	struct fake *f = (struct fake *)s;

	fk(s, "lock");
	*stale = f->stale_picks > 0;
	f->stale_picks--;
	return 0;
}

static int fk_media_step(struct store *s, const char *media)
{
	fk(s, "step");
	return 0;
}

static int fk_dead_round(struct store *s, const char *media, char **dead)
{
	fk(s, "dead");
	*dead = xstrdup("mp4: too big");
	return 0;
}

static int fk_posts_settle(struct store *s, const char *media, const char *status,
			   const char *err, struct finalized *f)
{
	fk(s, status);
	f->nposts = 1;
	f->post_ids = xcalloc(1, sizeof(*f->post_ids));
	f->post_status = xcalloc(1, sizeof(*f->post_status));
	f->post_status[0] = xstrdup(status);
	return 0;
}

static int fk_hook_add(struct store *s, const int64_t *posts, char *const *keys, int n,
		       const char *status)
{
	fk(s, "hooks");
	ok(n == 1 && strlen(keys[0]) == 32 && !strcmp(status, "failed"),
	   "the outbox gets each finished post, its status and a 32-digit key");
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
	.job_read = fk_job_read,
	.job_cancel = fk_job_cancel,
	.job_reset = fk_job_reset,
	.posts_reopen = fk_posts_reopen,
	.dead_unfinalize = fk_dead_unfinalize,
	.feed_bump = fk_feed_bump,
	.live_twin = fk_live_twin,
	.finalize_pick = fk_finalize_pick,
	.finalize_lock = fk_finalize_lock,
	.renditions_register = fk_media_step,
	.dead_round = fk_dead_round,
	.posts_settle = fk_posts_settle,
	.jobs_stamp = fk_media_step,
	.hook_add = fk_hook_add,
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

static void test_store_posts_policy(void)
{
	struct fake f = { .log = STRBUF_INIT };
	struct finalized fin;
	struct profile p = { .name = "mp4", .max_attempts = 0 };
	int done;

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
	ok(!store_finalize_one(&f.base, 0, &fin, &done) && done, "a media is finalized");
	is_str(f.log.buf, "begin pick lock rollback begin pick lock step dead failed step bump commit ",
	       "a stale candidate is given up, the next is finalized in order");
	ok(fin.failed && fin.nposts == 1 && !strcmp(fin.post_status[0], "failed"),
	   "a dead profile fails the posts");
	finalized_release(&fin);
	fake_reset(&f);
	ok(!store_finalize_one(&f.base, 1, &fin, &done) && done, "a media is finalized for a hook");
	is_str(f.log.buf, "begin pick lock step dead failed hooks step bump commit ",
	       "the posts go in the hook outbox in the finishing transaction");
	finalized_release(&fin);
	sb_release(&f.log);
}
