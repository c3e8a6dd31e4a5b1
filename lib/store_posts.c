/*
 * store_posts.c - media and posts, above the drivers: the sequence of an
 * ingest (media, owner, jobs, then the post with the status its jobs
 * give, tags, the feed; or, asked to, the owner's earlier post of the
 * media and nothing written), the status of a new post of a known media,
 * the jobs a media still needs, and the sequence of finalizing a media (pick
 * one whose jobs are all terminal, register renditions, settle its posts,
 * put them in the hook outbox, stamp its jobs), and the outbox's
 * claims.  Each is one transaction (store_txn); the drivers give the
 * single statements (store_int.h).
 */
#include "store.h"
#include "store_int.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int job_max_attempts(int asked, const struct profile *p, int fallback)
{
	return asked ? asked : p->max_attempts ? p->max_attempts : fallback;
}

const char *dup_post_status(int64_t jobs, int64_t unfinalized, const char *dead)
{
	if (!jobs || unfinalized)
		return "pending";
	return dead ? "failed" : "completed";
}

int store_media_exists(struct store *s, const char *sha)
{
	return s->drv->media_exists(s, sha);
}

struct post_of {
	const char *user, *sha;
	struct post_found *p;
};

static int post_of_body(struct store *s, void *arg)
{
	struct post_of *a = arg;

	return s->drv->post_of(s, a->user, a->sha, a->p);
}

int store_post_of(struct store *s, const char *user, const char *sha, struct post_found *p)
{
	struct post_of a = { user, sha, p };

	memset(p, 0, sizeof(*p));
	return store_read_txn(s, post_of_body, &a);
}

/* The jobs an ingest asks for: the profiles that apply to the media's
 * kind, each name once; *n counts them.  Caller frees. */
static struct new_job *ingest_wanted(const struct ingest_req *r, int *n)
{
	struct new_job *v = xcalloc((size_t)r->nprofiles + 1, sizeof(*v));

	*n = 0;
	for (int i = 0; i < r->nprofiles; i++) {
		const struct profile *p = r->profiles[i];
		int dup = 0;

		if (!(p->kinds & r->media->kind))
			continue;
		for (int k = 0; k < *n && !dup; k++)
			dup = !strcmp(v[k].profile, p->name);
		if (dup)
			continue;   /* the first one is live now */
		v[*n].profile = p->name;
		v[*n].queue = p->queue;
		v[*n].max_attempts = job_max_attempts(0, p, r->max_attempts);
		(*n)++;
	}
	return v;
}

struct ingest {
	const struct ingest_req *req;
	struct ingest_res *res;
	char *err;              /* the new post's error, if failed */
};

/* The status of the new post: pending while jobs are to run, else what
 * the media's finalized jobs say. */
static int ingest_status(struct store *s, struct ingest *in)
{
	struct ingest_res *res = in->res;
	int64_t total = 0, open = 0;
	int rc;

	if (res->media_new || res->njobs) {
		xsnprintf(res->status, sizeof(res->status), "%s", "pending");
		return 0;
	}
	if ((rc = s->drv->media_verdict(s, in->req->media->sha, &total, &open, &in->err)))
		return rc;
	xsnprintf(res->status, sizeof(res->status), "%s", dup_post_status(total, open, in->err));
	if (strcmp(res->status, "failed")) {
		free(in->err);
		in->err = NULL;
	}
	return 0;
}

/* skip_posted: when the user has a post of the media, it is the answer
 * and nothing is written (STORE_ROLLBACK). */
static int ingest_posted(struct store *s, const struct ingest_req *r, struct ingest_res *res)
{
	struct post_found p;
	int rc = s->drv->post_of(s, r->user, r->media->sha, &p);

	if (rc || !p.id)
		return rc;
	res->post_id = p.id;
	res->exists = 1;
	xsnprintf(res->status, sizeof(res->status), "%s", p.status);
	return STORE_ROLLBACK;
}

static int ingest_body(struct store *s, void *arg)
{
	struct ingest *in = arg;
	const struct ingest_req *r = in->req;
	struct ingest_res *res = in->res;
	struct new_job *want;
	int64_t owner = 0;
	int rc, n;

	memset(res, 0, sizeof(*res));
	free(in->err);
	in->err = NULL;
	if ((rc = s->drv->media_add(s, r->media, &res->media_new)))
		return rc;
	/* the media row is held now: no other post of it commits meanwhile */
	if (r->skip_posted && !res->media_new && (rc = ingest_posted(s, r, res)))
		return rc;
	if ((rc = s->drv->user_id(s, r->user, &owner)))
		return rc;
	/* jobs first, so the post's status can count them */
	want = ingest_wanted(r, &n);
	rc = n ? s->drv->jobs_add_missing(s, r->media->sha, want, n, r->trace_id, &res->njobs) : 0;
	free(want);
	if (rc || (rc = ingest_status(s, in)) ||
	    (rc = s->drv->post_add(s, owner, r->media->sha, r->caption ? r->caption : "",
				   res->status, in->err, r->trace_id, &res->post_id)) ||
	    (r->ntags && (rc = s->drv->tags_add(s, res->post_id, r->tags, r->ntags))))
		return rc;
	if (!strcmp(res->status, "completed") || !strcmp(res->status, "failed"))
		return s->drv->feed_bump(s);
	return 0;
}

int store_ingest(struct store *s, const struct ingest_req *req, struct ingest_res *res)
{
	return store_ingest_batch(s, req, res, 1);
}

struct ingest_batch {
	struct ingest *in;
	int n;
};

/* Each ingest in turn; one the user posted already (skip_posted) wrote
 * nothing and is told by its res.exists, the others still commit; when
 * none wrote anything, nothing commits. */
static int ingest_batch_body(struct store *s, void *arg)
{
	struct ingest_batch *b = arg;
	int rc, wrote = 0;

	for (int i = 0; i < b->n; i++) {
		if ((rc = ingest_body(s, &b->in[i])) && rc != STORE_ROLLBACK)
			return rc;
		wrote |= !rc;
	}
	return wrote ? 0 : STORE_ROLLBACK;
}

int store_ingest_batch(struct store *s, const struct ingest_req *req, struct ingest_res *res, int n)
{
	struct ingest_batch b = { xcalloc((size_t)n, sizeof(*b.in)), n };
	int rc;

	for (int i = 0; i < n; i++) {
		b.in[i].req = &req[i];
		b.in[i].res = &res[i];
		memset(&res[i], 0, sizeof(res[i]));
	}
	rc = store_txn(s, ingest_batch_body, &b);
	for (int i = 0; i < n; i++)
		free(b.in[i].err);
	free(b.in);
	return rc;
}

struct finalize {
	struct finalized *f;
	int hooks;              /* put the finished posts in the hook outbox */
	int done;               /* a media was finalized */
	int stale;              /* the candidate changed under us */
};

/* The posts f finished go in the hook outbox, each with a new key. */
static int finalize_hooks(struct store *s, const struct finalized *f, const char *status)
{
	char **keys = xcalloc((size_t)f->nposts + 1, sizeof(*keys));
	int rc;

	for (int i = 0; i < f->nposts; i++) {
		keys[i] = xmalloc(33);
		trace_id_new(keys[i]);
	}
	rc = s->drv->hook_add(s, f->post_ids, keys, f->nposts, status);
	for (int i = 0; i < f->nposts; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

static int finalize_body(struct store *s, void *arg)
{
	struct finalize *fz = arg;
	struct finalized *f = fz->f;
	const char *status;
	char *err = NULL;
	int rc, found = 0;

	finalized_release(f);
	fz->done = fz->stale = 0;
	/* the oldest terminal, unfinalized job whose media has nothing left to run */
	if ((rc = s->drv->finalize_pick(s, f->media, f->ext, &found)))
		return rc;
	if (!found)
		return STORE_ROLLBACK;
	/* the candidate was chosen from a snapshot: check again, rows locked */
	if (s->drv->finalize_lock && (rc = s->drv->finalize_lock(s, f->media, &fz->stale)))
		return rc;
	if (fz->stale)
		return STORE_ROLLBACK;
	if ((rc = s->drv->renditions_register(s, f->media)) ||
	    /* every dead profile of this round, with its reason */
	    (rc = s->drv->dead_round(s, f->media, &err)))
		return rc;
	f->failed = err != NULL;
	status = f->failed ? "failed" : "completed";
	rc = s->drv->posts_settle(s, f->media, status, err, f);
	free(err);
	if (rc || (fz->hooks && f->nposts && (rc = finalize_hooks(s, f, status))) ||
	    (rc = s->drv->jobs_stamp(s, f->media)) || (rc = s->drv->feed_bump(s)))
		return rc;
	fz->done = 1;
	return 0;
}

int store_finalize_one(struct store *s, int hooks, struct finalized *f, int *done)
{
	struct finalize fz = { .f = f, .hooks = hooks };
	int rc = 0;

	memset(f, 0, sizeof(*f));
	*done = 0;
	/* a candidate that changed under us is rare; look for another */
	for (int i = 0; i < 10; i++) {
		fz.stale = 0;
		if ((rc = store_txn(s, finalize_body, &fz)) || !fz.stale)
			break;
	}
	if (rc || !fz.done)
		finalized_release(f);
	*done = !rc && fz.done;
	return rc;
}

/* ---- the hook outbox ---- */

struct hook_op {
	struct hook_call *claim;        /* store_hook_claim fills it */
	const struct hook_call *c;      /* the claim settled */
	double lease, delay;            /* delay < 0: clear */
	const char *err;
	int found;
};

static int hook_claim_body(struct store *s, void *arg)
{
	struct hook_op *op = arg;

	op->found = 0;
	return s->drv->hook_claim(s, op->lease, op->claim, &op->found);
}

int store_hook_claim(struct store *s, double lease, struct hook_call *c, int *found)
{
	struct hook_op op = { .claim = c, .lease = lease };
	int rc;

	memset(c, 0, sizeof(*c));
	rc = store_txn(s, hook_claim_body, &op);
	*found = !rc && op.found;
	return rc;
}

static int hook_settle_body(struct store *s, void *arg)
{
	struct hook_op *op = arg;

	return s->drv->hook_settle(s, op->c->id, op->c->attempts, op->delay, op->err);
}

int store_hook_clear(struct store *s, const struct hook_call *c)
{
	struct hook_op op = { .c = c, .delay = -1 };

	return store_txn(s, hook_settle_body, &op);
}

int store_hook_retry(struct store *s, const struct hook_call *c, double delay, const char *err)
{
	struct hook_op op = { .c = c, .delay = delay < 0 ? 0 : delay, .err = err };

	return store_txn(s, hook_settle_body, &op);
}
