/*
 * store_janitor.c - md-janitor's reads and changes above the drivers:
 * what an idle post is, which files the database references (from one
 * snapshot), and the pruning of finished jobs in short batches.
 *
 * Idle: a post whose media has no job available, running, or terminal and
 * not yet finalized, so that nothing will move it any more.  A processing
 * post that has been idle for janitor.stuck_after is failed; a pending one
 * idle for janitor.pending_after gets the default profiles enqueued.  The
 * failure is one conditional statement: a job enqueued for the media
 * meanwhile keeps the post alive.
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>

/* Expired jobs read for a dry run, at most. */
#define EXPIRED_MAX 100000

struct store_lock {
	void *held;
};

int store_janitor_lock(struct store *s, struct store_lock **lk)
{
	void *held = NULL;
	int rc = s->drv->janitor_lock(s, &held);

	*lk = NULL;
	if (!rc && held) {
		*lk = xmalloc(sizeof(**lk));
		(*lk)->held = held;
	}
	return rc;
}

void store_janitor_unlock(struct store *s, struct store_lock *lk)
{
	if (!lk)
		return;
	s->drv->janitor_unlock(s, lk->held);
	free(lk);
}

int store_expired_jobs(struct store *s, jan_cb cb, void *arg)
{
	struct expired *v = NULL;
	int nv = 0, rc;

	rc = s->drv->jobs_expired(s, NULL, EXPIRED_MAX, &v, &nv);
	for (int i = 0; i < nv; i++) {
		struct jan_row r = {
			.id = v[i].run.job, .claim = v[i].run.claim, .name = v[i].worker,
			.n = job_out_of_attempts(v[i].attempts, v[i].max_attempts),
		};
		if (!rc)
			rc = cb(arg, &r);
		free(v[i].worker);
	}
	free(v);
	return rc;
}

/* The rows of a read, kept for cb to see after it (a post's fields only). */
struct kept {
	struct jan_row *v;
	int n, cap;
};

static int keep_row(void *arg, const struct jan_row *r)
{
	struct kept *k = arg;

	if (k->n == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 64;
		k->v = xrealloc(k->v, (size_t)k->cap * sizeof(*k->v));
	}
	k->v[k->n++] = (struct jan_row){
		.kind = r->kind, .id = r->id,
		.media = r->media ? xstrdup(r->media) : NULL, .at = r->at ? xstrdup(r->at) : NULL,
	};
	return 0;
}

/* The read ends before cb sees a row: on SQLite, a write of cb's while
 * the read's statement is open could not begin once another connection
 * has written since the read began. */
int store_idle_posts(struct store *s, const char *status, double age, jan_cb cb, void *arg)
{
	struct kept k = { NULL, 0, 0 };
	int rc = s->drv->posts_idle(s, status, age, keep_row, &k);

	for (int i = 0; i < k.n; i++) {
		if (!rc)
			rc = cb(arg, &k.v[i]);
		free((char *)k.v[i].media);
		free((char *)k.v[i].at);
	}
	free(k.v);
	return rc;
}

struct fail_idle {
	int64_t id;
	double age;
	const char *error;
	int *applied;
};

static int fail_idle_body(struct store *s, void *arg)
{
	struct fail_idle *f = arg;
	int rc;

	*f->applied = 0;
	if ((rc = s->drv->post_fail_idle(s, f->id, f->age, f->error, f->applied)))
		return rc;
	return *f->applied ? s->drv->feed_bump(s) : 0;
}

int store_fail_idle_post(struct store *s, int64_t id, double age, const char *error,
			 int *applied)
{
	struct fail_idle f = { id, age, error, applied };

	return store_txn(s, fail_idle_body, &f);
}

struct refs {
	jan_cb cb;
	void *arg;
};

static int refs_body(struct store *s, void *arg)
{
	struct refs *r = arg;
	int rc = 0;

	for (int k = JAN_ORIGINAL; k <= JAN_RUN && !rc; k++)
		rc = s->drv->storage_refs(s, (enum jan_ref)k, r->cb, r->arg);
	return rc;
}

int store_storage_refs(struct store *s, jan_cb cb, void *arg)
{
	struct refs r = { cb, arg };

	return store_read_txn(s, refs_body, &r);
}

struct prune {
	int64_t after;
	int window;
	double age;
	int dry;
	int64_t *next, *n;
};

static int prune_body(struct store *s, void *arg)
{
	struct prune *p = arg;

	*p->next = 0;
	*p->n = 0;
	return s->drv->jobs_prune(s, p->after, p->window, p->age, p->dry, p->next, p->n);
}

int store_prune_jobs(struct store *s, int64_t after, int window, double age, int dry,
		     int64_t *next, int64_t *n)
{
	struct prune p = { after, window, age, dry, next, n };

	return store_txn(s, prune_body, &p);
}
