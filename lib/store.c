#include "store.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static int is_pg_url(const char *url)
{
	return !strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13) ||
	       (strchr(url, '=') && strncmp(url, "sqlite:", 7));
}

int store_open(const char *url, int flags, struct store **out)
{
	*out = NULL;
	if (!url || !*url) {
		error("no database URL");
		return MD_EXIT_CONFIG;
	}
	if (is_pg_url(url))
		return store_pg_open(url, flags, out);
	if (!strncmp(url, "sqlite://", 9))
		url += 9;
	else if (!strncmp(url, "sqlite:", 7))
		url += 7;
	return store_sqlite_open(url, flags, out);
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

const char *store_backend(const struct store *s)
{
	return s->ops->name;
}

char *store_redact_url(const char *url)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p;

	if (!strncmp(url, "postgres://", 11) || !strncmp(url, "postgresql://", 13)) {
		const char *auth = strstr(url, "://") + 3;
		const char *at = strchr(auth, '@');
		const char *colon = strchr(auth, ':');
		if (at && colon && colon < at) {
			sb_add(&sb, url, (size_t)(colon - url) + 1);
			sb_adds(&sb, "***");
			sb_adds(&sb, at);
		} else {
			sb_adds(&sb, url);
		}
		/* password=... in the query string */
		char *q = strstr(sb.buf, "password=");
		if (q) {
			char *end = strchr(q, '&');
			struct strbuf t = STRBUF_INIT;
			sb_add(&t, sb.buf, (size_t)(q - sb.buf) + 9);
			sb_adds(&t, "***");
			if (end)
				sb_adds(&t, end);
			sb_release(&sb);
			sb = t;
		}
		return sb_detach(&sb, NULL);
	}
	if ((p = strstr(url, "password="))) {
		/* keyword string: password=secret or password='se cret' */
		sb_add(&sb, url, (size_t)(p - url) + 9);
		sb_adds(&sb, "***");
		p += 9;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && *p != ' ')
				p++;
		}
		sb_adds(&sb, p);
		return sb_detach(&sb, NULL);
	}
	return xstrdup(url);
}

int store_migrate(struct store *s, int *applied)
{
	return s->ops->migrate(s, applied);
}

int store_migration_status(struct store *s, migration_cb cb, void *arg)
{
	return s->ops->migration_status(s, cb, arg);
}

int store_media_exists(struct store *s, const char *sha)
{
	return s->ops->media_exists(s, sha);
}

int store_ingest(struct store *s, const struct ingest_req *req, struct ingest_res *res)
{
	memset(res, 0, sizeof(*res));
	return s->ops->ingest(s, req, res);
}

int store_enqueue(struct store *s, char *const *refs, int nrefs,
		  const struct enqueue_opts *o, enqueue_cb cb, void *arg)
{
	return s->ops->enqueue(s, refs, nrefs, o, cb, arg);
}

int store_claim(struct store *s, const char *worker, char *const *queues, int nqueues,
		int n, double lease, struct job **jobs, int *njobs)
{
	*jobs = NULL;
	*njobs = 0;
	return s->ops->claim(s, worker, queues, nqueues, n, lease, jobs, njobs);
}

int store_claim_ack(struct store *s, const char *worker, char *const *queues, int nqueues,
		    int n, double lease, const int64_t *ack_ids, int nack,
		    const char *ack_result, int *acked, struct job **jobs, int *njobs)
{
	int rc;

	*jobs = NULL;
	*njobs = 0;
	*acked = 0;
	if (s->ops->claim_ack)
		return s->ops->claim_ack(s, worker, queues, nqueues, n, lease, ack_ids, nack,
					 ack_result, acked, jobs, njobs);
	if (nack) {
		char **res = xcalloc((size_t)nack, sizeof(*res));
		for (int i = 0; i < nack; i++)
			res[i] = (char *)ack_result;
		rc = store_jobs_succeed(s, worker, ack_ids, res, nack, acked);
		free(res);
		if (rc)
			return rc;
	}
	return s->ops->claim(s, worker, queues, nqueues, n, lease, jobs, njobs);
}

int store_heartbeat(struct store *s, const char *worker, double lease)
{
	return s->ops->heartbeat(s, worker, lease);
}

int store_job_succeed(struct store *s, const char *worker, int64_t id,
		      const char *result_json, int *applied)
{
	*applied = 0;
	return s->ops->job_succeed(s, worker, id, result_json, applied);
}

int store_jobs_succeed(struct store *s, const char *worker, const int64_t *ids,
		       char *const *results, int n, int *applied)
{
	int rc = 0, one;

	*applied = 0;
	if (!n)
		return 0;
	if (s->ops->jobs_succeed)
		return s->ops->jobs_succeed(s, worker, ids, results, n, applied);
	for (int i = 0; i < n && !rc; i++) {
		one = 0;
		rc = s->ops->job_succeed(s, worker, ids[i], results[i], &one);
		*applied += one;
	}
	return rc;
}

int store_job_fail(struct store *s, const char *worker, int64_t id, const char *err,
		   int permanent, double delay, char new_state[16])
{
	new_state[0] = '\0';
	return s->ops->job_fail(s, worker, id, err, permanent, delay, new_state);
}

int store_job_release(struct store *s, const char *worker, int64_t id)
{
	return s->ops->job_release(s, worker, id);
}

int store_rescue_expired(struct store *s, int *n)
{
	*n = 0;
	return s->ops->rescue_expired(s, n);
}

int store_queue_counts(struct store *s, char *const *queues, int nqueues,
		       int64_t *available_now, int64_t *running, double *next_run)
{
	*available_now = *running = 0;
	*next_run = 0;
	return s->ops->queue_counts(s, queues, nqueues, available_now, running, next_run);
}

int store_listen(struct store *s, char *const *queues, int nqueues)
{
	return s->ops->listen ? s->ops->listen(s, queues, nqueues) : 0;
}

int store_notify_fd(struct store *s)
{
	return s->ops->notify_fd ? s->ops->notify_fd(s) : -1;
}

int store_consume_notify(struct store *s)
{
	return s->ops->consume_notify ? s->ops->consume_notify(s) : 0;
}

int store_finalize_one(struct store *s, struct finalized *f, int *done)
{
	memset(f, 0, sizeof(*f));
	*done = 0;
	return s->ops->finalize_one(s, f, done);
}

int store_feed(struct store *s, const struct feed_query *q, feed_cb cb, void *arg,
	       int64_t *next)
{
	*next = 0;
	return s->ops->feed(s, q, cb, arg, next);
}

void job_free(struct job *j)
{
	if (!j)
		return;
	free(j->profile);
	free(j->queue);
	free(j->trace_id);
	free(j->format);
	free(j->ext);
	memset(j, 0, sizeof(*j));
}

void finalized_release(struct finalized *f)
{
	for (int i = 0; i < f->nposts; i++)
		free(f->post_status[i]);
	free(f->post_status);
	free(f->post_ids);
	memset(f, 0, sizeof(*f));
}

int ref_is_post_id(const char *ref, int64_t *id)
{
	char *end;
	long long v;

	if (!*ref || strlen(ref) > 18)
		return 0;
	for (const char *p = ref; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	errno = 0;
	v = strtoll(ref, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	*id = v;
	return 1;
}

double retry_delay(double base, double max, int attempts)
{
	double d = base * pow(2, attempts > 1 ? attempts - 1 : 0);
	unsigned r;

	if (d > max)
		d = max;
	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)rand();
	return d * (0.8 + 0.4 * (r / (double)UINT32_MAX));
}

void trace_id_new(char out[33])
{
	static const char d[] = "0123456789abcdef";
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		for (int i = 0; i < 16; i++)
			b[i] = (unsigned char)rand();
	b[0] |= 1;    /* never all zeros */
	for (int i = 0; i < 16; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[32] = '\0';
}

int trace_id_valid(const char *s)
{
	int nonzero = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
		if (s[i] != '0')
			nonzero = 1;
	}
	return i == 32 && nonzero;
}

int store_feed_version(struct store *s, int64_t *version)
{
	*version = 0;
	return s->ops->feed_version(s, version);
}

int store_feed_tags(struct store *s, const char *status, tag_cb cb, void *arg)
{
	return s->ops->feed_tags(s, status, cb, arg);
}

int store_jobs(struct store *s, const struct job_query *q, job_info_cb cb, void *arg)
{
	return s->ops->jobs(s, q, cb, arg);
}

int store_job_control(struct store *s, int64_t id, enum job_op op, char **refused)
{
	*refused = NULL;
	return s->ops->job_control(s, id, op, refused);
}

int store_status(struct store *s, int dead_limit, status_cb cb, void *arg)
{
	return s->ops->status(s, dead_limit, cb, arg);
}

int store_jobs_progress(struct store *s, const char *worker, const int64_t *ids,
			const double *seconds, int n)
{
	return s->ops->jobs_progress(s, worker, ids, seconds, n);
}

int store_users(struct store *s, const char *name, user_cb cb, void *arg)
{
	return s->ops->users(s, name, cb, arg);
}

int store_user_change(struct store *s, enum user_op op, const char *name, const char *email,
		      const char *hash, char **refused)
{
	*refused = NULL;
	return s->ops->user_change(s, op, name, email, hash, refused);
}

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

char *user_change_refusal(enum user_op op, const char *name, const char *email, int exists,
			  int taken, int64_t posts)
{
	if (op == USER_ADD && exists)
		return xstrfmt("user '%s' exists", name);
	if (op != USER_ADD && !exists)
		return xstrfmt("no such user '%s'", name);
	if (email && taken)
		return xstrfmt("email '%s' belongs to another user", email);
	if (op == USER_DEL && posts)
		return xstrfmt("user '%s' owns %lld post%s", name, (long long)posts,
			       posts == 1 ? "" : "s");
	return NULL;
}

const char *const job_states[JOB_NSTATES] = { "available", "running", "succeeded", "dead",
					      "cancelled" };
const char *const post_statuses[POST_NSTATUSES] = { "pending", "processing", "completed",
						    "failed" };

int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (s && !strcmp(names[i], s))
			return i;
	return -1;
}
