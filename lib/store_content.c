/*
 * store_content.c - removing content above the drivers: which posts go,
 * which media go with them (those no post uses any more, with their jobs
 * and renditions), what becomes of a deleted user's posts, which jobs may
 * be dropped, and the one transaction each removal is.
 *
 * Order inside the transaction: the posts are picked and locked (by id),
 * then each of their media (by hash, so two removals cannot deadlock), and
 * only then are the remaining posts of a media counted: an ingest adding a
 * post to a media waits for the lock, or had its post counted.  A dry run
 * is the same transaction rolled back.
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void removal_release(struct removal *r)
{
	for (int i = 0; i < r->nposts; i++)
		free(r->posts[i].user);
	for (int i = 0; i < r->njobs; i++) {
		free(r->jobs[i].profile);
		free(r->jobs[i].state);
	}
	free(r->posts);
	free(r->jobs);
	free(r->media);
	free(r->reassigned);
	memset(r, 0, sizeof(*r));
}

char *job_drop_refusal(const char *state, int finalized)
{
	if (!state)
		return xstrdup("no such job");
	if (strcmp(state, "succeeded") && strcmp(state, "dead") && strcmp(state, "cancelled"))
		return xstrfmt("the job is %s: only succeeded, dead or cancelled jobs can be dropped",
			       state);
	if (!finalized)
		return xstrfmt("the job is %s but not finalized: run md-finalize first", state);
	return NULL;
}

static void add_post(void *arg, int64_t id, const char *media, const char *user)
{
	struct removal *r = arg;
	struct removed_post *p;

	r->posts = xrealloc(r->posts, (size_t)(r->nposts + 1) * sizeof(*r->posts));
	p = &r->posts[r->nposts++];
	p->id = id;
	(void)snprintf(p->media, sizeof(p->media), "%s", media);
	p->user = xstrdup(user);
}

static void add_job(void *arg, int64_t id, const char *media, const char *profile,
		    const char *state)
{
	struct removal *r = arg;
	struct removed_job *j;

	r->jobs = xrealloc(r->jobs, (size_t)(r->njobs + 1) * sizeof(*r->jobs));
	j = &r->jobs[r->njobs++];
	j->id = id;
	(void)snprintf(j->media, sizeof(j->media), "%s", media);
	j->profile = xstrdup(profile);
	j->state = xstrdup(state);
}

static void add_moved(void *arg, int64_t id, const char *media, const char *user)
{
	struct removal *r = arg;

	(void)media;
	(void)user;
	r->reassigned = xrealloc(r->reassigned, (size_t)(r->nreassigned + 1) * sizeof(int64_t));
	r->reassigned[r->nreassigned++] = id;
}

static int cmp_media(const void *a, const void *b)
{
	return strcmp(((const struct removed_media *)a)->sha,
		      ((const struct removed_media *)b)->sha);
}

/* The distinct media of the picked posts into r->media, by hash. */
static void media_of_posts(struct removal *r)
{
	int n = 0;

	r->media = xcalloc((size_t)r->nposts + 1, sizeof(*r->media));
	for (int i = 0; i < r->nposts; i++)
		memcpy(r->media[i].sha, r->posts[i].media, sizeof(r->media[i].sha));
	if (r->nposts)
		qsort(r->media, (size_t)r->nposts, sizeof(*r->media), cmp_media);
	for (int i = 0; i < r->nposts; i++)
		if (!n || strcmp(r->media[n - 1].sha, r->media[i].sha))
			r->media[n++] = r->media[i];
	r->nmedia = n;
}

/* Lock each media, then keep in r->media those no post uses any more. */
static int media_unused(struct store *s, struct removal *r)
{
	int n = 0, rc;

	for (int i = 0; i < r->nmedia; i++)
		if ((rc = s->drv->media_lock(s, r->media[i].sha, r->media[i].ext)))
			return rc;
	for (int i = 0; i < r->nmedia; i++) {
		int64_t posts = 0;

		if ((rc = s->drv->media_posts(s, r->media[i].sha, &posts)))
			return rc;
		if (!posts && r->media[i].ext[0])
			r->media[n++] = r->media[i];
	}
	r->nmedia = n;
	return 0;
}

/* In a transaction: the posts of sel, and what goes with them. */
static int posts_remove(struct store *s, const struct post_selector *sel, struct removal *r)
{
	int64_t *ids;
	int rc;

	if ((rc = s->drv->posts_pick(s, sel, add_post, r)) || !r->nposts)
		return rc;
	ids = xcalloc((size_t)r->nposts, sizeof(*ids));
	for (int i = 0; i < r->nposts; i++)
		ids[i] = r->posts[i].id;
	media_of_posts(r);
	rc = s->drv->posts_delete(s, ids, r->nposts);
	free(ids);
	if (rc || (rc = media_unused(s, r)))
		return rc;
	for (int i = 0; i < r->nmedia; i++)
		if ((rc = s->drv->media_jobs_delete(s, r->media[i].sha, add_job, r)) ||
		    (rc = s->drv->media_delete(s, r->media[i].sha)))
			return rc;
	return s->drv->feed_bump(s);
}

struct remove_posts {
	const struct post_selector *sel;
	int dry_run;
	struct removal *r;
};

static int posts_remove_body(struct store *s, void *arg)
{
	struct remove_posts *c = arg;
	int rc;

	removal_release(c->r);
	if ((rc = posts_remove(s, c->sel, c->r)))
		return rc;
	return c->dry_run ? STORE_ROLLBACK : 0;
}

int store_posts_remove(struct store *s, const struct post_selector *sel, int dry_run,
		       struct removal *r)
{
	struct remove_posts c = { sel, dry_run, r };

	memset(r, 0, sizeof(*r));
	/* an empty list of ids selects no post, not every post: the drivers
	 * read "no id filter" as "no ids" */
	if (!sel->user && !sel->tag && sel->nids <= 0)
		return 0;
	return store_txn(s, posts_remove_body, &c);
}

/* ---- users ---- */

char *user_remove_refusal(const char *name, enum user_posts how, const char *other,
			  int exists, int64_t posts, int other_exists)
{
	if (!exists)
		return xstrfmt("no such user '%s'", name);
	if (how == USER_POSTS_REASSIGN && !strcmp(name, other))
		return xstrfmt("cannot give the posts of '%s' to '%s' itself", name, other);
	if (how == USER_POSTS_REASSIGN && !other_exists)
		return xstrfmt("no such user '%s' to give the posts to", other);
	if (how == USER_POSTS_REFUSE && posts)
		return xstrfmt("user '%s' owns %lld post%s: delete them (--delete-posts) or give "
			       "them to another user (--reassign-to NAME)", name, (long long)posts,
			       posts == 1 ? "" : "s");
	return NULL;
}

struct remove_user {
	const char *name, *other;
	enum user_posts how;
	int dry_run;
	struct removal *r;
	char **refused;
};

static int user_remove_body(struct store *s, void *arg)
{
	struct remove_user *c = arg;
	struct post_selector sel = { .user = c->name };
	int64_t exists = 0, taken = 0, posts = 0, other = 0, unused = 0;
	int rc;

	removal_release(c->r);
	free(*c->refused);
	*c->refused = NULL;
	if ((s->drv->users_lock && (rc = s->drv->users_lock(s))) ||
	    (rc = s->drv->user_facts(s, c->name, NULL, &exists, &taken, &posts)) ||
	    (c->how == USER_POSTS_REASSIGN &&
	     (rc = s->drv->user_facts(s, c->other, NULL, &other, &taken, &unused))))
		return rc;
	*c->refused = user_remove_refusal(c->name, c->how, c->other, exists > 0, posts, other > 0);
	if (*c->refused)
		return STORE_ROLLBACK;
	if (c->how == USER_POSTS_DELETE)
		rc = posts_remove(s, &sel, c->r);
	else if (c->how == USER_POSTS_REASSIGN && posts &&
		 !(rc = s->drv->posts_reassign(s, c->name, c->other, add_moved, c->r)))
		rc = s->drv->feed_bump(s);   /* the feed names the owner */
	if (rc || (rc = s->drv->user_write(s, USER_DEL, c->name, NULL, NULL)))
		return rc;
	return c->dry_run ? STORE_ROLLBACK : 0;
}

int store_user_remove(struct store *s, const char *name, enum user_posts how, const char *other,
		      int dry_run, struct removal *r, char **refused)
{
	struct remove_user c = { name, other, how, dry_run, r, refused };

	memset(r, 0, sizeof(*r));
	*refused = NULL;
	return store_txn(s, user_remove_body, &c);
}

/* ---- jobs ---- */

struct drop_job {
	int64_t id;
	int dry_run;
	struct removal *r;
	char **refused;
};

static int job_drop_body(struct store *s, void *arg)
{
	struct drop_job *c = arg;
	char *state = NULL, *media = NULL, *profile = NULL;
	int64_t n = 0;
	int rc;

	removal_release(c->r);
	free(*c->refused);
	*c->refused = NULL;
	if ((rc = s->drv->job_read(s, c->id, &state, &media, &profile)))
		goto out;
	if (!(*c->refused = job_drop_refusal(state, 1)) &&
	    !(rc = s->drv->job_delete_finalized(s, c->id, &n)) && !n)
		*c->refused = job_drop_refusal(state, 0);
	if (!rc && !*c->refused)
		add_job(c->r, c->id, media, profile, state);
	if (!rc && (*c->refused || c->dry_run))
		rc = STORE_ROLLBACK;
out:
	free(state);
	free(media);
	free(profile);
	return rc;
}

int store_job_drop(struct store *s, int64_t id, int dry_run, struct removal *r, char **refused)
{
	struct drop_job c = { id, dry_run, r, refused };

	memset(r, 0, sizeof(*r));
	*refused = NULL;
	return store_txn(s, job_drop_body, &c);
}
