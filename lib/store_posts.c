/*
 * store_posts.c - media and posts, above the drivers: the sequence of an
 * ingest (media, owner, jobs, then the post with the status its jobs
 * give, tags, the feed; or, asked to, the owner's earlier post of the
 * media and nothing written), the status of a new post of a known media,
 * the jobs a media still needs, and the sequence of finalizing a batch of
 * media (pick those whose jobs are all terminal, lock them, register their
 * renditions, settle their posts, put them in the hook outbox, stamp their
 * jobs: a statement each for the whole batch), and the outbox's claims.
 * Each is one transaction (store_txn); the drivers give the single
 * statements (store_int.h).
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

/* ---- finalizing a batch ---- */

struct fbatch {
	struct finalized *v;    /* the media picked, oldest first */
	int n, cap, max;
	char **media;           /* v[i].media, for the drivers */
	struct finalized **sorted;      /* v by media, for the rows that come back */
	struct strbuf *why;     /* why[i]: the dead reasons of v[i] */
	char *gone;             /* gone[i]: v[i] is no longer ready */
	int hooks, stale;       /* stale: every candidate changed under us */
};

/* Free the arrays beside v; v[] itself stays. */
static void fbatch_arrays_free(struct fbatch *b)
{
	for (int i = 0; b->why && i < b->n; i++)
		sb_release(&b->why[i]);
	free(b->why);
	free(b->media);
	free(b->sorted);
	free(b->gone);
	b->why = NULL;
	b->media = NULL;
	b->sorted = NULL;
	b->gone = NULL;
}

/* Empty the batch, for a try from scratch. */
static void fbatch_clear(struct fbatch *b)
{
	fbatch_arrays_free(b);
	for (int i = 0; i < b->n; i++)
		finalized_release(&b->v[i]);
	b->n = 0;
}

static void fb_picked(void *arg, const char *media, int64_t id, const char *ext)
{
	struct fbatch *b = arg;
	struct finalized *f;

	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->v = xrealloc(b->v, b->cap * sizeof(*b->v));
	}
	f = &b->v[b->n++];
	memset(f, 0, sizeof(*f));
	xsnprintf(f->media, sizeof(f->media), "%s", media);
	xsnprintf(f->ext, sizeof(f->ext), "%s", ext ? ext : "");
}

static int by_media(const void *a, const void *b)
{
	return strcmp((*(struct finalized *const *)a)->media, (*(struct finalized *const *)b)->media);
}

/* The arrays of the batch as it stands (after the pick, after dropping). */
static void fbatch_index(struct fbatch *b)
{
	free(b->media);
	free(b->sorted);
	free(b->gone);
	b->media = xcalloc((size_t)b->n + 1, sizeof(*b->media));
	b->sorted = xcalloc((size_t)b->n + 1, sizeof(*b->sorted));
	b->gone = xcalloc((size_t)b->n + 1, 1);
	for (int i = 0; i < b->n; i++) {
		b->media[i] = b->v[i].media;
		b->sorted[i] = &b->v[i];
	}
	qsort(b->sorted, b->n, sizeof(*b->sorted), by_media);
}

/* The index of media in the batch, -1 when it is not there. */
static int fbatch_find(const struct fbatch *b, const char *media)
{
	struct finalized key, *k = &key, **hit;

	xsnprintf(key.media, sizeof(key.media), "%s", media);
	hit = bsearch(&k, b->sorted, b->n, sizeof(*b->sorted), by_media);
	return hit ? (int)(*hit - b->v) : -1;
}

static void fb_stale(void *arg, const char *media, int64_t id, const char *text)
{
	struct fbatch *b = arg;
	int i = fbatch_find(b, media);

	if (i >= 0)
		b->gone[i] = 1;
}

/* Drop the media the lock found no longer ready. */
static void fbatch_drop(struct fbatch *b)
{
	int k = 0;

	for (int i = 0; i < b->n; i++)
		if (!b->gone[i])
			b->v[k++] = b->v[i];
	b->n = k;
	fbatch_index(b);
}

static void fb_dead(void *arg, const char *media, int64_t id, const char *why)
{
	struct fbatch *b = arg;
	int i = fbatch_find(b, media);

	if (i < 0)
		return;
	if (b->why[i].len)
		sb_adds(&b->why[i], "; ");
	sb_adds(&b->why[i], why);
}

static void fb_settled(void *arg, const char *media, int64_t id, const char *status,
		       const char *trace)
{
	struct fbatch *b = arg;
	int i = fbatch_find(b, media);
	struct finalized *f;
	size_t n;

	if (i < 0)
		return;
	f = &b->v[i];
	n = (size_t)f->nposts + 1;
	f->post_ids = xrealloc(f->post_ids, n * sizeof(*f->post_ids));
	f->post_status = xrealloc(f->post_status, n * sizeof(*f->post_status));
	f->post_trace = xrealloc(f->post_trace, n * sizeof(*f->post_trace));
	f->post_ids[f->nposts] = id;
	f->post_status[f->nposts] = xstrdup(status);
	f->post_trace[f->nposts++] = xstrdup(trace ? trace : "");
}

/* f's posts by id, each with its status and trace id (an insertion sort:
 * a media has few posts, and the database gave them nearly in order). */
static void finalized_sort(struct finalized *f)
{
	for (int i = 1; i < f->nposts; i++) {
		int64_t id = f->post_ids[i];
		char *st = f->post_status[i], *tr = f->post_trace[i];
		int j = i;

		for (; j > 0 && f->post_ids[j - 1] > id; j--) {
			f->post_ids[j] = f->post_ids[j - 1];
			f->post_status[j] = f->post_status[j - 1];
			f->post_trace[j] = f->post_trace[j - 1];
		}
		f->post_ids[j] = id;
		f->post_status[j] = st;
		f->post_trace[j] = tr;
	}
}

/* Every post of the batch goes in the hook outbox, each with a new key. */
static int fbatch_hooks(struct store *s, const struct fbatch *b)
{
	int64_t *posts = NULL;
	char **keys = NULL, **status = NULL;
	int n = 0, rc = 0;

	for (int i = 0; i < b->n; i++) {
		const struct finalized *f = &b->v[i];

		posts = xrealloc(posts, (n + f->nposts + 1) * sizeof(*posts));
		keys = xrealloc(keys, (n + f->nposts + 1) * sizeof(*keys));
		status = xrealloc(status, (n + f->nposts + 1) * sizeof(*status));
		for (int k = 0; k < f->nposts; k++, n++) {
			posts[n] = f->post_ids[k];
			status[n] = f->post_status[k];
			keys[n] = xmalloc(33);
			trace_id_new(keys[n]);
		}
	}
	if (n)
		rc = s->drv->hook_add(s, posts, keys, status, n);
	for (int i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(status);
	free(posts);
	return rc;
}

/* The posts of the batch settled: completed, or failed with the reasons. */
static int fbatch_settle(struct store *s, struct fbatch *b)
{
	char **status = xcalloc((size_t)b->n + 1, sizeof(*status));
	char **err = xcalloc((size_t)b->n + 1, sizeof(*err));
	int rc;

	for (int i = 0; i < b->n; i++) {
		b->v[i].failed = b->why[i].len > 0;
		status[i] = b->v[i].failed ? "failed" : "completed";
		err[i] = b->v[i].failed ? b->why[i].buf : NULL;
	}
	rc = s->drv->posts_settle(s, b->media, status, err, b->n, fb_settled, b);
	for (int i = 0; i < b->n && !rc; i++)
		finalized_sort(&b->v[i]);
	free(status);
	free(err);
	return rc;
}

/* Pick the batch and lock it; STORE_ROLLBACK when nothing is left. */
static int fbatch_pick(struct store *s, struct fbatch *b)
{
	int rc;

	/* the oldest terminal, unfinalized jobs whose media have nothing left to run */
	if ((rc = s->drv->finalize_pick(s, b->max * 4, b->max, fb_picked, b)))
		return rc;
	fbatch_index(b);
	if (!b->n)
		return STORE_ROLLBACK;
	/* the candidates were chosen from a snapshot: check again, rows locked */
	if (s->drv->finalize_lock) {
		if ((rc = s->drv->finalize_lock(s, b->media, b->n, fb_stale, b)))
			return rc;
		fbatch_drop(b);
	}
	b->stale = !b->n;
	return b->n ? 0 : STORE_ROLLBACK;
}

static int finalize_body(struct store *s, void *arg)
{
	struct fbatch *b = arg;
	int rc;

	fbatch_clear(b);
	b->stale = 0;
	if ((rc = fbatch_pick(s, b)))
		return rc;
	b->why = xcalloc((size_t)b->n + 1, sizeof(*b->why));
	for (int i = 0; i < b->n; i++)
		sb_init(&b->why[i], 0);
	if ((rc = s->drv->renditions_register(s, b->media, b->n)) ||
	    /* every dead profile of this round, with its reason */
	    (rc = s->drv->dead_round(s, b->media, b->n, fb_dead, b)) ||
	    (rc = fbatch_settle(s, b)) ||
	    (b->hooks && (rc = fbatch_hooks(s, b))) ||
	    (rc = s->drv->jobs_stamp(s, b->media, b->n)))
		return rc;
	return s->drv->feed_bump(s);
}

void finalized_free(struct finalized *v, int n)
{
	for (int i = 0; i < n; i++)
		finalized_release(&v[i]);
	free(v);
}

int store_finalize_batch(struct store *s, int hooks, int max, struct finalized **v, int *n)
{
	struct fbatch b = { .hooks = hooks, .max = max > 0 ? max : 1 };
	int rc = 0;

	*v = NULL;
	*n = 0;
	/* a batch whose every candidate changed under us is rare; look again */
	for (int i = 0; i < 10; i++) {
		if ((rc = store_txn(s, finalize_body, &b)) || !b.stale)
			break;
	}
	if (rc || b.stale) {
		fbatch_clear(&b);
		free(b.v);
		return rc;
	}
	fbatch_arrays_free(&b);
	*v = b.v;
	*n = b.n;
	return 0;
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
