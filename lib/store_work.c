/*
 * store_work.c - the worker's outcomes above the drivers: the dead rule
 * (permanent, or out of attempts), retry and release, the rescue of
 * expired leases and of gone workers' jobs, and the fencing that goes with each (struct fence in
 * store.h).  The drivers only move a run's row as they are told.
 */
#include "store.h"
#include "store_int.h"
#include "log.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/* Jobs one rescue reads at a time, and how many rounds it makes. */
#define RESCUE_BATCH 200
#define RESCUE_ROUNDS 10

int job_out_of_attempts(int attempts, int max_attempts)
{
	return attempts >= max_attempts;
}

int store_claim(struct store *s, const char *worker, char *const *queues, int nqueues,
		int n, double lease, struct job **jobs, int *njobs)
{
	*jobs = NULL;
	*njobs = 0;
	return s->drv->claim(s, worker, queues, nqueues, n, lease, jobs, njobs);
}

int store_claim_ack(struct store *s, const char *worker, char *const *queues, int nqueues,
		    int n, double lease, const struct fence *ack, int nack,
		    const char *ack_result, int *acked, struct job **jobs, int *njobs)
{
	int rc;

	*jobs = NULL;
	*njobs = 0;
	*acked = 0;
	if (s->drv->claim_ack)
		return s->drv->claim_ack(s, worker, queues, nqueues, n, lease, ack, nack,
					 ack_result, acked, jobs, njobs);
	if (nack) {
		char **res = xcalloc((size_t)nack, sizeof(*res));
		for (int i = 0; i < nack; i++)
			res[i] = (char *)ack_result;
		rc = store_jobs_succeed(s, ack, res, nack, acked);
		free(res);
		if (rc)
			return rc;
	}
	return s->drv->claim(s, worker, queues, nqueues, n, lease, jobs, njobs);
}

int store_heartbeat(struct store *s, double lease, const struct fence *runs, int n, char *held)
{
	memset(held, 0, (size_t)n);
	return n ? s->drv->heartbeat(s, lease, runs, n, held) : 0;
}

int store_jobs_progress(struct store *s, const struct fence *runs, const double *seconds, int n)
{
	return n ? s->drv->jobs_progress(s, runs, seconds, n) : 0;
}

int store_job_succeed(struct store *s, const struct fence *run, const char *result_json,
		      int *applied)
{
	char *r = (char *)result_json;

	return store_jobs_succeed(s, run, &r, 1, applied);
}

int store_jobs_succeed(struct store *s, const struct fence *runs, char *const *results, int n,
		       int *applied)
{
	*applied = 0;
	return n ? s->drv->jobs_succeed(s, runs, results, n, applied) : 0;
}

int store_job_fail(struct store *s, const struct job *j, const char *err, int permanent,
		   double delay, char new_state[16])
{
	struct fence run = { j->id, j->claim };
	int dead = permanent || job_out_of_attempts(j->attempts, j->max_attempts);
	int applied = 0, rc;

	new_state[0] = '\0';
	rc = s->drv->job_settle(s, &run, dead ? SETTLE_DEAD : SETTLE_RETRY, err, delay, 0, &applied);
	if (!rc && applied)
		xsnprintf(new_state, 16, "%s", dead ? "dead" : "available");
	return rc;
}

int store_job_release(struct store *s, const struct job *j, int *applied)
{
	struct fence run = { j->id, j->claim };
	int a = 0;

	if (!applied)
		applied = &a;
	*applied = 0;
	return s->drv->job_settle(s, &run, SETTLE_RELEASE, NULL, 0, 0, applied);
}

int store_rescue_runs(struct store *s, const struct expired *v, int nv, int expired,
		      const char *why, int *n)
{
	int rc = 0;

	for (int i = 0; i < nv && !rc; i++) {
		int dead = job_out_of_attempts(v[i].attempts, v[i].max_attempts), applied = 0;
		char *err = why ? xstrdup(why) : xstrfmt("lease expired: worker %s lost the job",
							 v[i].worker ? v[i].worker : "?");
		rc = s->drv->job_settle(s, &v[i].run, dead ? SETTLE_DEAD : SETTLE_RETRY, err, 0,
					expired, &applied);
		*n += applied;
		free(err);
	}
	return rc;
}

static void expired_free(struct expired *v, int n)
{
	for (int i = 0; i < n; i++)
		free(v[i].worker);
	free(v);
}

int store_rescue_expired(struct store *s, const char *not_worker, int *n)
{
	int rc = 0;

	*n = 0;
	for (int round = 0; round < RESCUE_ROUNDS && !rc; round++) {
		struct expired *v = NULL;
		int nv = 0;

		if ((rc = s->drv->jobs_expired(s, not_worker, RESCUE_BATCH, &v, &nv)))
			break;
		rc = store_rescue_runs(s, v, nv, 1, NULL, n);
		expired_free(v, nv);
		if (nv < RESCUE_BATCH)
			break;
	}
	return rc;
}

/* ---- live workers (store.h) ---- */

int store_worker_register(struct store *s, const struct worker_reg *r)
{
	return s->drv->worker_upsert(s, r);
}

int store_worker_beat(struct store *s, const struct worker_reg *r, int *again)
{
	int alive = 0, rc = s->drv->worker_beat(s, r->id, &alive);

	*again = !rc && !alive;
	return rc || alive ? rc : s->drv->worker_upsert(s, r);
}

int store_worker_leave(struct store *s, const char *id)
{
	return s->drv->worker_delete(s, id);
}

/* Rescue the running jobs of the gone worker id. */
static int reap_one(struct store *s, const char *id, double after, int *rescued)
{
	struct expired *v = NULL;
	int nv = 0, rc;
	char *why;

	if ((rc = s->drv->jobs_of_worker(s, id, &v, &nv)))
		return rc;
	why = xstrfmt("worker %s is gone: no heartbeat for %.0f s", id, after);
	rc = store_rescue_runs(s, v, nv, 0, why, rescued);
	free(why);
	expired_free(v, nv);
	return rc;
}

int store_reap_workers(struct store *s, double gone_after, const char *self, int *gone,
		       int *rescued)
{
	char **ids = NULL;
	int n = 0, r = 0, rc;

	if (gone)
		*gone = 0;
	if ((rc = s->drv->workers_gone(s, gone_after, self, &ids, &n)))
		return rc;
	for (int i = 0; i < n; i++) {
		if (!rc)
			rc = reap_one(s, ids[i], gone_after, &r);
		free(ids[i]);
	}
	free(ids);
	if (gone)
		*gone = n;
	if (rescued)
		*rescued = r;
	return rc;
}
