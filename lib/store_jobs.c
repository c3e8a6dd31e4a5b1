/*
 * store_jobs.c - job control (md-job) above the drivers: which state may
 * be retried or cancelled, the refusal texts, and what else moves with
 * the job (its media's failed posts wait again, dead siblings count
 * again, the feed changes).  One transaction each (store_txn).
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

char *job_control_refusal(enum job_op op, const char *state)
{
	if (!state)
		return xstrdup("no such job");
	if (op == JOB_CANCEL && strcmp(state, "available") && strcmp(state, "running") &&
	    strcmp(state, "dead"))
		return xstrfmt("the job is %s: only available, running or dead jobs can be "
			       "cancelled", state);
	if (op == JOB_RETRY && strcmp(state, "dead") && strcmp(state, "cancelled"))
		return xstrfmt("the job is %s: only dead or cancelled jobs can be retried", state);
	return NULL;
}

char *job_twin_refusal(int64_t live_id, const char *live_state)
{
	return xstrfmt("job %lld for the same media and profile is %s", (long long)live_id,
		       live_state);
}

struct job_change {
	int64_t id;
	enum job_op op;
	char **refused;
	char *state, *media, *profile;
};

/* A dead job dropped: md-finalize looks at its media again, and the posts
 * it failed wait for the new verdict, which the media's other dead jobs
 * are part of again. */
static int job_cancel(struct store *s, struct job_change *c)
{
	int64_t reopened = 0;
	int rc;

	if ((rc = s->drv->job_cancel(s, c->id)) || strcmp(c->state, "dead") ||
	    (rc = s->drv->posts_reopen(s, c->media, &reopened)) || !reopened)
		return rc;
	if ((rc = s->drv->dead_unfinalize(s, c->media)))
		return rc;
	return s->drv->feed_bump(s);
}

/* Back to available, unless a twin is live; the media's failed posts
 * wait for it. */
static int job_retry(struct store *s, struct job_change *c)
{
	int64_t live = 0, reopened = 0;
	char *live_state = NULL;
	int rc;

	/* no live twin may appear between look and retry */
	if ((s->drv->jobs_lock && (rc = s->drv->jobs_lock(s))) ||
	    (rc = s->drv->live_twin(s, c->id, c->media, c->profile, &live, &live_state)))
		return rc;
	if (live_state) {
		*c->refused = job_twin_refusal(live, live_state);
		free(live_state);
		return STORE_ROLLBACK;
	}
	if ((rc = s->drv->job_reset(s, c->id)) ||
	    (rc = s->drv->posts_reopen(s, c->media, &reopened)) || !reopened)
		return rc;
	return s->drv->feed_bump(s);
}

static int job_change_body(struct store *s, void *arg)
{
	struct job_change *c = arg;
	int rc;

	free(*c->refused);
	*c->refused = NULL;
	free(c->state);
	free(c->media);
	free(c->profile);
	c->state = c->media = c->profile = NULL;
	if ((rc = s->drv->job_read(s, c->id, &c->state, &c->media, &c->profile)))
		return rc;
	if ((*c->refused = job_control_refusal(c->op, c->state)))
		return STORE_ROLLBACK;
	return c->op == JOB_CANCEL ? job_cancel(s, c) : job_retry(s, c);
}

int store_job_control(struct store *s, int64_t id, enum job_op op, char **refused)
{
	struct job_change c = { .id = id, .op = op, .refused = refused };
	int rc;

	*refused = NULL;
	rc = store_txn(s, job_change_body, &c);
	free(c.state);
	free(c.media);
	free(c.profile);
	return rc;
}

struct queue_change {
	const char *queue, *by;
	int pause, *changed;
};

static int queue_change_body(struct store *s, void *arg)
{
	struct queue_change *c = arg;
	char *q = (char *)c->queue;
	int rc;

	if ((rc = s->drv->queue_pause(s, c->queue, c->pause, c->by, c->changed)))
		return rc;
	/* the workers that sleep on notifications wake to the resumed queue */
	if (!c->pause && *c->changed && s->drv->jobs_notify)
		rc = s->drv->jobs_notify(s, &q, 1);
	return rc;
}

int store_queue_pause(struct store *s, const char *queue, int pause, const char *by,
		      int *changed)
{
	struct queue_change c = { .queue = queue, .by = by, .pause = pause, .changed = changed };

	*changed = 0;
	return store_txn(s, queue_change_body, &c);
}

int store_jobs(struct store *s, const struct job_query *q, job_info_cb cb, void *arg)
{
	return s->drv->jobs(s, q, cb, arg);
}
