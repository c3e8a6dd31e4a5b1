/*
 * md-work - the worker: claim jobs, run their profiles, record outcomes.
 *
 * One event loop, no threads: poll() over a self-pipe for signals, the
 * database's notification socket (PostgreSQL LISTEN) and the descriptors
 * of each running job's child (spawn.h: its report pipe and its pidfd).
 * Each job runs in a child (lib/runner.c) that does the media work and
 * reports one line; the database is touched only here, and every outcome
 * is fenced on (state = running, locked_by = us).
 *
 * The worker is one struct worker; run() is a loop that hands each event
 * to its function: worker_rescue (expired leases), worker_claim (claim,
 * or see that a drain is done), worker_timers (progress, heartbeat,
 * watchdog, the end of the grace), worker_wait (poll), and from there
 * worker_signal, slot_event (progress, a finished job) and the
 * notification socket.
 *
 * Leases are extended every third of worker.lease while jobs run; expired
 * leases of lost workers are rescued every lease period.  SIGTERM/SIGINT:
 * stop claiming, give running jobs --grace, then stop them and release
 * their jobs without spending an attempt.  A second SIGINT stops at once.
 * SIGHUP reloads the configuration for new jobs.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "runner.h"
#include "sandbox.h"
#include "spawn.h"
#include "storage.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-work [common options] [-j N|auto] [-Q QUEUE]... [--once] [--drain]\n"
	"               [--max-jobs N] [--grace DUR] [--poll-only]\n";

enum { OPT_ONCE = OPT_TOOL_BASE, OPT_DRAIN, OPT_MAX_JOBS, OPT_GRACE, OPT_POLL_ONLY };

static const struct cli_option options[] = {
	{ 'j', "jobs", "N|auto", "jobs at once (default from config; auto = cores / threads)" },
	{ 'Q', "queue", "QUEUE", "serve this queue (repeatable; default all)" },
	{ OPT_ONCE, "once", NULL, "claim one batch, run it, exit" },
	{ OPT_DRAIN, "drain", NULL, "exit 0 when no job is available and none runs" },
	{ OPT_MAX_JOBS, "max-jobs", "N", "exit after N jobs" },
	{ OPT_GRACE, "grace", "DUR", "on SIGTERM, time given to running jobs (default 30s)" },
	{ OPT_POLL_ONLY, "poll-only", NULL, "no LISTEN: poll every worker.poll_interval (for\n"
	  "connection poolers in transaction mode)" },
	CLI_OPTIONS_END
};

/*
 * Short jobs (profiles without steps, like noop) need no child: they are
 * completed here, and their completions are written in batches, with the
 * next claim (one statement per batch) or alone when the queue is empty.  Claims
 * grow while whole batches are short jobs (prefetch), so the queue
 * itself, not the round trips, sets the pace; a crash re-runs at most the
 * unacknowledged batch.  Claimed jobs that wait for a free slot sit in
 * the backlog, leased to us and kept alive by the heartbeat.
 */
#define BATCH_MAX 512
#define PROGRESS_EVERY 1.0      /* seconds between writes of jobs' progress */
static const char inline_result[] = "{\"files\":[],\"bytes\":0,\"duration_ms\":0}";

struct worker;

/* A running job: its child, and what it has said so far. */
struct slot {
	int used;
	struct job job;
	struct spawn sp;
	struct strbuf buf;      /* the child's stdout not yet taken */
	double started;
	double progress;        /* seconds into the media of the ffmpeg step */
	int progress_new;       /* not yet written to the job */
	int pfi, npf;           /* its entries in the poll set of this turn */
	struct worker *w;
};

struct worker {
	struct cli cli;
	struct {
		int jobs;               /* -1: not given */
		char **queues;
		int nqueues;
		int once, drain, poll_only;
		long long max_jobs;
		double grace;           /* < 0: not given */
	} opt;
	struct store *db;
	struct storage st;
	char id[300];           /* host:pid, the lease owner */
	int sig_fd;             /* the self-pipe's read end */
	int notify_fd;          /* LISTEN socket, or -1 */
	struct pollfd *pf;      /* room for the poll set of a turn */

	struct slot *slots;
	int nslots, nrunning;
	struct job *backlog;    /* claimed, waiting for a free slot */
	int nbacklog, backlog_cap;
	struct {
		int64_t ids[BATCH_MAX];
		int n;
	} done;                 /* short jobs done, not yet acknowledged */
	int batch;              /* jobs to claim at once */
	struct {
		long long claimed, succeeded, retried, dead, released, lost;
	} stats;

	/* clocks, in monotonic seconds */
	double next_claim, next_beat, next_rescue, next_progress, next_watchdog;
	double watchdog_every;
	double db_backoff, db_retry_at;   /* the database is unreachable */
	int stopping, hard_stop, exhausted;
	double stop_deadline;
};

/*
 * The only state outside struct worker, because signal handlers need it:
 * the self-pipe's write end, and the runner child's cancel flag.
 */
static int sig_write_fd = -1;
static volatile sig_atomic_t runner_cancel;

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_opt(void *ctx, int o, const char *arg)
{
	struct worker *w = ctx;
	long long v;

	switch (o) {
	case 'j':
		if (!strcmp(arg, "auto"))
			w->opt.jobs = 0;
		else if (parse_int(arg, 1, 1024, &v))
			usage_error(&w->cli, "bad -j '%s': a number from 1 to 1024, or auto", arg);
		else
			w->opt.jobs = (int)v;
		break;
	case 'Q':
		if (!*arg || strlen(arg) > 64)
			usage_error(&w->cli, "bad queue name '%s'", arg);
		w->opt.queues = xrealloc(w->opt.queues,
					 (w->opt.nqueues + 1) * sizeof(*w->opt.queues));
		w->opt.queues[w->opt.nqueues++] = (char *)arg;
		break;
	case OPT_ONCE: w->opt.once = 1; break;
	case OPT_DRAIN: w->opt.drain = 1; break;
	case OPT_POLL_ONLY: w->opt.poll_only = 1; break;
	case OPT_MAX_JOBS:
		if (parse_int(arg, 1, 1LL << 40, &v))
			usage_error(&w->cli, "bad --max-jobs '%s'", arg);
		w->opt.max_jobs = v;
		break;
	case OPT_GRACE:
		if (parse_duration(arg, &w->opt.grace))
			usage_error(&w->cli, "bad --grace '%s' (like 30s)", arg);
		break;
	default: return -1;
	}
	return 0;
}

/* ---------- signals, systemd ---------- */

static void on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int e = errno;
	(void)!write(sig_write_fd, &c, 1);
	errno = e;
}

static void on_runner_term(int sig)
{
	runner_cancel = 1;
}

static void sd_notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n;
	int fd;

	if (!path || !*path || (path[0] != '/' && path[0] != '@'))
		return;
	n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n));
	close(fd);
}

/* ---------- jobs ---------- */

static void job_log_ctx(const struct worker *w, const struct job *j)
{
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)j->id);
	log_ctx_clear();
	log_ctx_set("job_id", id);
	log_ctx_set("media", j->media);
	log_ctx_set("profile", j->profile);
	log_ctx_set("worker", w->id);
	if (j->trace_id)
		log_ctx_set("trace_id", j->trace_id);
}

/*
 * The runner child (spawn_start_fn): it never touches the database; its
 * stdout carries the progress lines and then the report.  It starts with
 * every signal blocked; its SIGTERM cancels the job.
 */
static int runner_main(void *arg)
{
	struct slot *s = arg;
	struct worker *w = s->w;
	struct strbuf out = STRBUF_INIT;
	struct sigaction sa = { .sa_handler = on_runner_term };
	struct runner_ctx rc = {
		.conf = &w->cli.conf, .st = &w->st, .deadline_secs = w->cli.conf.job_timeout,
		.cancel = &runner_cancel, .progress_fd = 1,
	};
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	runner_run(&rc, &s->job, &out);
	/* a report the worker cannot read counts as a dead runner */
	return write_all(1, out.buf, out.len) ? 1 : 0;
}

/*
 * Start the runner for a claimed job in slot s.  A runner is stopped by
 * SIGTERM alone, never killed: it stops its own children (spawn's
 * escalation) and reports, and killing it would orphan them.
 */
static int start_job(struct worker *w, struct slot *s)
{
	struct spawn_opts o = { .stdin_fd = -1, .out = &s->buf, .kill_grace = -1 };

	sb_init(&s->buf, 256);
	s->w = w;
	s->started = now_mono();
	s->progress_new = 0;
	if (spawn_start_fn(&o, runner_main, s, &s->sp)) {
		error_errno("cannot start a job runner");
		sb_release(&s->buf);
		return -1;
	}
	return 0;
}

/*
 * The runner's progress lines ("progress\tSECONDS"), which come before its
 * report: keep the last, drop them from the buffer.  A partial line waits
 * for the rest.
 */
static void take_progress(struct slot *s)
{
	static const char tag[] = "progress\t";
	size_t used = 0;

	while (s->buf.len - used > sizeof(tag) - 1 &&
	       !memcmp(s->buf.buf + used, tag, sizeof(tag) - 1)) {
		char *nl = memchr(s->buf.buf + used, '\n', s->buf.len - used);
		if (!nl)
			break;
		s->progress = strtod(s->buf.buf + used + sizeof(tag) - 1, NULL);
		s->progress_new = 1;
		used = (size_t)(nl - s->buf.buf) + 1;
	}
	if (used) {
		memmove(s->buf.buf, s->buf.buf + used, s->buf.len - used);
		sb_setlen(&s->buf, s->buf.len - used);
	}
}

/* Write the running jobs' new progress, for md-status. */
static void flush_progress(struct worker *w)
{
	int64_t *ids = xcalloc(w->nslots + 1, sizeof(*ids));
	double *secs = xcalloc(w->nslots + 1, sizeof(*secs));
	int n = 0;

	for (int k = 0; k < w->nslots; k++) {
		struct slot *s = &w->slots[k];
		if (s->used && s->progress_new) {
			ids[n] = s->job.id;
			secs[n++] = s->progress;
			s->progress_new = 0;
		}
	}
	if (n && store_jobs_progress(w->db, w->id, ids, secs, n))
		warning("cannot record the progress of running jobs");
	free(ids);
	free(secs);
}

static int record_ok(struct worker *w, const struct job *j, const char *result, const char *dur)
{
	int applied = 0, rc = store_job_succeed(w->db, w->id, j->id, result, &applied);

	if (!rc && applied) {
		w->stats.succeeded++;
		logkv(LOG_INFO, "job succeeded", "seconds", dur, (char *)NULL);
	}
	return rc ? -1 : applied;
}

/* "fail\tP\tERROR", or no report at all: retry later, or dead. */
static int record_fail(struct worker *w, const struct job *j, const char *line)
{
	int permanent = 0, rc;
	const char *err = "the job runner died without a report";
	char state[16] = "";

	if (!strncmp(line, "fail\t", 5)) {
		permanent = line[5] == '1';
		err = line[5] && line[6] == '\t' ? line + 7 : line + 5;
	}
	double delay = retry_delay(w->cli.conf.retry_base, w->cli.conf.retry_max, j->attempts);
	rc = store_job_fail(w->db, w->id, j->id, err, permanent, delay, state);
	if (rc || !state[0])
		return rc ? -1 : 0;
	if (!strcmp(state, "dead")) {
		w->stats.dead++;
		logkv(LOG_ERROR, "job dead", "error", err, (char *)NULL);
	} else {
		char d[32], at[16];
		xsnprintf(d, sizeof(d), "%.1f", delay);
		xsnprintf(at, sizeof(at), "%d", j->attempts);
		w->stats.retried++;
		logkv(LOG_WARN, "job failed, will retry", "error", err, "retry_in", d,
		      "attempt", at, (char *)NULL);
	}
	return 1;
}

/* The runner's report of slot s, into the database. */
static void record(struct worker *w, struct slot *s, const char *line)
{
	const struct job *j = &s->job;
	int applied;
	char dur[32];

	job_log_ctx(w, j);
	xsnprintf(dur, sizeof(dur), "%.3f", now_mono() - s->started);
	if (!strncmp(line, "ok\t", 3)) {
		applied = record_ok(w, j, line + 3, dur);
	} else if (!strcmp(line, "cancel")) {
		store_job_release(w->db, w->id, j->id);
		w->stats.released++;
		applied = 1;
		logkv(LOG_INFO, "job released", (char *)NULL);
	} else {
		applied = record_fail(w, j, line);
	}
	if (!applied) {
		w->stats.lost++;
		logkv(LOG_WARN, "lease lost: the job was cancelled, or rescued for another "
		      "worker; result discarded", (char *)NULL);
	}
	log_ctx_clear();
}

/* Event: the child of slot s is gone (or must be waited for). */
static void finish_slot(struct worker *w, struct slot *s)
{
	struct spawn_result res;

	spawn_finish(&s->sp, &res);
	take_progress(s);
	sb_rtrim(&s->buf);
	record(w, s, s->buf.buf);
	sb_release(&s->buf);
	job_free(&s->job);
	s->used = 0;
	w->nrunning--;
}

/* Event: slot s's descriptors after poll(): progress, or its end. */
static void slot_event(struct worker *w, struct slot *s, int polled)
{
	if (spawn_poll(&s->sp, w->pf + s->pfi, polled ? s->npf : 0)) {
		finish_slot(w, s);
		w->next_claim = 0;
	} else {
		take_progress(s);
	}
}

/* ---------- claims ---------- */

/* The store acknowledged `acked` of the short jobs in w->done. */
static void count_acked(struct worker *w, int acked)
{
	w->stats.succeeded += acked;
	if (acked < w->done.n) {
		w->stats.lost += w->done.n - acked;
		logkv(LOG_WARN, "lease lost on short jobs: results discarded", (char *)NULL);
	}
	w->done.n = 0;
}

static int flush_done(struct worker *w)
{
	char *results[BATCH_MAX];
	int applied = 0, rc;

	if (!w->done.n)
		return 0;
	for (int i = 0; i < w->done.n; i++)
		results[i] = (char *)inline_result;
	rc = store_jobs_succeed(w->db, w->id, w->done.ids, results, w->done.n, &applied);
	if (rc)
		return rc;
	count_acked(w, applied);
	return 0;
}

static int is_inline(const struct worker *w, const struct job *j)
{
	const struct profile *p = conf_profile(&w->cli.conf, j->profile);
	return p && !p->nsteps;
}

/* Start backlog jobs in free slots. */
static int start_backlog(struct worker *w)
{
	int k = 0;

	while (w->nbacklog && w->nrunning < w->nslots) {
		while (w->slots[k].used)
			k++;
		struct slot *s = &w->slots[k];
		s->job = w->backlog[0];
		memmove(w->backlog, w->backlog + 1, (size_t)(--w->nbacklog) * sizeof(*w->backlog));
		s->used = 1;
		w->nrunning++;
		job_log_ctx(w, &s->job);
		logkv(LOG_INFO, "job started", (char *)NULL);
		log_ctx_clear();
		if (start_job(w, s)) {
			/* could not fork: give the job back */
			store_job_release(w->db, w->id, s->job.id);
			job_free(&s->job);
			s->used = 0;
			w->nrunning--;
			return MD_EXIT_SOFTWARE;
		}
	}
	return 0;
}

static void backlog_add(struct worker *w, const struct job *j)
{
	if (w->nbacklog == w->backlog_cap) {
		w->backlog_cap = w->backlog_cap ? w->backlog_cap * 2 : 16;
		w->backlog = xrealloc(w->backlog, (size_t)w->backlog_cap * sizeof(*w->backlog));
	}
	w->backlog[w->nbacklog++] = *j;
}

/* A short job claimed: done at once, acknowledged later.  0, or the rc
 * of a flush that failed (the job is then left to the caller). */
static int inline_done(struct worker *w, struct job *j)
{
	int rc;

	if (log_level() >= LOG_DEBUG) {
		job_log_ctx(w, j);
		logkv(LOG_DEBUG, "short job done", (char *)NULL);
		log_ctx_clear();
	}
	if (w->done.n == BATCH_MAX && (rc = flush_done(w)))
		return rc;
	w->done.ids[w->done.n++] = j->id;
	job_free(j);
	return 0;
}

static int claim_jobs(struct worker *w, int want, int *got)
{
	struct job *jobs;
	int n = 0, rc, ninline = 0, acked = 0;

	*got = 0;
	/* the short jobs done since the last claim are acknowledged with it */
	rc = store_claim_ack(w->db, w->id, w->opt.queues, w->opt.nqueues, want,
			     w->cli.conf.lease, w->done.ids, w->done.n, inline_result, &acked,
			     &jobs, &n);
	if (rc)
		return rc;
	count_acked(w, acked);
	for (int i = 0; i < n; i++) {
		w->stats.claimed++;
		if (!is_inline(w, &jobs[i]))
			backlog_add(w, &jobs[i]);
		else if ((rc = inline_done(w, &jobs[i])))
			break;
		else
			ninline++;
	}
	for (int i = ninline + w->nbacklog; i < n; i++)
		job_free(&jobs[i]);   /* only after an error above */
	free(jobs);
	*got = n;
	/* whole batches of short jobs: claim more at once next time */
	if (n && n == want && ninline == n)
		w->batch = w->batch * 2 > w->cli.conf.worker_batch ? w->cli.conf.worker_batch
								   : w->batch * 2;
	else
		w->batch = w->nslots;
	if (rc)
		return rc;
	/* an empty queue: acknowledge now rather than with a later claim */
	if (n < want && (rc = flush_done(w)))
		return rc;
	return start_backlog(w);
}

static void release_backlog(struct worker *w)
{
	for (int i = 0; i < w->nbacklog; i++) {
		if (!store_job_release(w->db, w->id, w->backlog[i].id))
			w->stats.released++;
		job_free(&w->backlog[i]);
	}
	w->nbacklog = 0;
}

static void stop_all(struct worker *w)
{
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].used)
			spawn_stop(&w->slots[i].sp);
}

static int reload_config(struct worker *w)
{
	struct conf nc;

	conf_init(&nc);
	if (conf_load(&nc, w->cli.conf.path)) {
		conf_release(&nc);
		warning("configuration not reloaded: it has errors");
		return -1;
	}
	conf_apply_env(&nc);
	/* the database and storage stay as they are */
	free(nc.db_url);
	free(nc.storage);
	nc.db_url = w->cli.conf.db_url;
	nc.storage = w->cli.conf.storage;
	w->cli.conf.db_url = w->cli.conf.storage = NULL;
	conf_release(&w->cli.conf);
	w->cli.conf = nc;
	info("configuration reloaded");
	return 0;
}

/* ---------- events ---------- */

/* What run() does after an event: go on, go to the wait, or leave. */
enum step { STEP_ON, STEP_WAIT, STEP_END };

/* The database is unreachable: keep running jobs, retry with backoff. */
static void db_outage(struct worker *w, double now)
{
	char b[32];

	w->db_backoff = w->db_backoff ? w->db_backoff * 2 : 1;
	if (w->db_backoff > 30)
		w->db_backoff = 30;
	w->db_retry_at = now + w->db_backoff;
	xsnprintf(b, sizeof(b), "%.0f", w->db_backoff);
	logkv(LOG_WARN, "database unavailable; running jobs go on, retrying", "retry_in", b,
	      (char *)NULL);
}

/* A store call failed with *rc: an outage waits, anything else leaves. */
static enum step db_trouble(struct worker *w, double now, int *rc)
{
	if (*rc != MD_EXIT_TEMPFAIL)
		return STEP_END;
	db_outage(w, now);
	*rc = 0;
	return STEP_WAIT;
}

/* Event: a lease period passed: rescue the jobs of lost workers. */
static void worker_rescue(struct worker *w, double now)
{
	int n = 0;

	/* first, so that a drain sees them */
	if (w->stopping || now < w->next_rescue)
		return;
	if (!store_rescue_expired(w->db, &n) && n) {
		char b[16];
		xsnprintf(b, sizeof(b), "%d", n);
		logkv(LOG_WARN, "rescued jobs whose lease expired", "count", b, (char *)NULL);
		w->next_claim = 0;
	}
	w->next_rescue = now + w->cli.conf.lease;
}

/* --drain claimed less than it asked for: is the queue done? */
static enum step drain_check(struct worker *w, double now, int *rc)
{
	int64_t avail, running;
	double next_run;

	if ((*rc = store_queue_counts(w->db, w->opt.queues, w->opt.nqueues, &avail, &running,
				      &next_run)))
		return db_trouble(w, now, rc);
	if (!avail && !next_run)
		return STEP_END;
	if (!avail) {
		/* a failed job waits for its retry: drain finishes the work it began */
		struct timespec rt;
		clock_gettime(CLOCK_REALTIME, &rt);
		double wait = next_run - (rt.tv_sec + rt.tv_nsec / 1e9);
		w->next_claim = now + (wait > 0 ? wait : 0);
	} else {
		w->next_claim = 0;
	}
	return STEP_ON;
}

/* Event: slots are free and a claim is due.  free_slots: as the turn began. */
static enum step worker_claim(struct worker *w, double now, int free_slots, int *rc)
{
	int want, got = 0;

	if (w->stopping || w->exhausted || free_slots <= 0 || w->nbacklog || now < w->next_claim)
		return STEP_ON;
	want = w->batch > free_slots ? w->batch : free_slots;
	if (w->opt.max_jobs && w->stats.claimed + want > w->opt.max_jobs)
		want = (int)(w->opt.max_jobs - w->stats.claimed);
	if (want > 0) {
		if ((*rc = claim_jobs(w, want, &got)))
			return db_trouble(w, now, rc);
		w->db_backoff = 0;
		w->next_claim = got < want ? now + w->cli.conf.poll_interval : 0;
	}
	if (w->opt.once || (w->opt.max_jobs && w->stats.claimed >= w->opt.max_jobs))
		w->exhausted = 1;
	if (w->opt.drain && !w->nrunning && !w->nbacklog && got < want)
		return drain_check(w, now, rc);
	return STEP_ON;
}

/* Event: the clocks: progress, heartbeat, watchdog, the end of the grace. */
static void worker_timers(struct worker *w, double now)
{
	if (w->nrunning && now >= w->next_progress) {
		flush_progress(w);
		w->next_progress = now + PROGRESS_EVERY;
	}
	if (w->nrunning && now >= w->next_beat) {
		if (store_heartbeat(w->db, w->id, w->cli.conf.lease))
			warning("cannot extend leases; will try again");
		w->next_beat = now + w->cli.conf.lease / 3;
	}
	if (w->watchdog_every > 0 && now >= w->next_watchdog) {
		sd_notify("WATCHDOG=1");
		w->next_watchdog = now + w->watchdog_every;
	}
	if (w->stopping && !w->hard_stop && now >= w->stop_deadline) {
		info("grace period over: stopping %d running job%s", w->nrunning,
		     w->nrunning == 1 ? "" : "s");
		stop_all(w);
		w->hard_stop = 1;
	}
}

/* Event: a signal.  HUP reloads; TERM/INT stop claiming; a second INT stops now. */
static void worker_signal(struct worker *w, int sig, double now)
{
	if (sig == SIGHUP) {
		reload_config(w);
	} else if (!w->stopping) {
		w->stopping = 1;
		w->stop_deadline = now + (w->opt.grace >= 0 ? w->opt.grace : w->cli.conf.grace);
		info("signal %d: no new jobs; %d running, grace %.0fs", sig, w->nrunning,
		     w->stop_deadline - now);
		sd_notify("STOPPING=1");
	} else if (sig == SIGINT && !w->hard_stop) {
		info("second interrupt: stopping now");
		stop_all(w);
		w->hard_stop = 1;
	}
}

/* The poll set of this turn: signals, notifications, each job's child. */
static int worker_pollfds(struct worker *w)
{
	int np = 0;

	w->pf[np++] = (struct pollfd){ .fd = w->sig_fd, .events = POLLIN };
	if (w->notify_fd >= 0 && !w->stopping)
		w->pf[np++] = (struct pollfd){ .fd = w->notify_fd, .events = POLLIN };
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		if (!s->used)
			continue;
		s->pfi = np;
		s->npf = spawn_pollfds(&s->sp, w->pf + np);
		np += s->npf;
	}
	return np;
}

/* Milliseconds poll() may sleep: until a claim, a heartbeat or a child is due. */
static int worker_timeout(const struct worker *w, double now)
{
	double until = 1.0;

	if (!w->stopping && !w->exhausted && w->nslots - w->nrunning > 0) {
		double d = (w->next_claim > w->db_retry_at ? w->next_claim : w->db_retry_at) - now;
		if (d < until)
			until = d;
	}
	if (w->nrunning && w->next_beat - now < until)
		until = w->next_beat - now;
	for (int i = 0; i < w->nslots; i++) {
		int ms = w->slots[i].used ? spawn_due(&w->slots[i].sp) : -1;
		if (ms >= 0 && ms / 1000.0 < until)
			until = ms / 1000.0;
	}
	return until < 0 ? 0 : (int)(until * 1000);
}

/* Event: wait for the next thing to happen, and hand it on. */
static int worker_wait(struct worker *w, double now)
{
	unsigned char sig;
	int np, r;

	/* notifications that arrived during other statements are already
	 * buffered: the socket will not wake us for them */
	if (w->notify_fd >= 0 && !w->stopping && store_consume_notify(w->db) > 0)
		w->next_claim = 0;
	np = worker_pollfds(w);
	r = poll(w->pf, (nfds_t)np, worker_timeout(w, now));
	if (r < 0 && errno != EINTR) {
		error_errno("poll");
		return MD_EXIT_SOFTWARE;
	}
	if (r > 0 && w->pf[0].revents)
		while (read(w->sig_fd, &sig, 1) == 1)
			worker_signal(w, sig, now);
	if (r > 0 && np > 1 && w->pf[1].fd == w->notify_fd && w->pf[1].revents &&
	    store_consume_notify(w->db) > 0)
		w->next_claim = 0;
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].used)
			slot_event(w, &w->slots[i], r > 0);
	return 0;
}

static void worker_status(const struct worker *w)
{
	char msg[64];

	if (!w->nrunning && w->stopping)
		return;
	xsnprintf(msg, sizeof(msg), "STATUS=%d running, %lld done", w->nrunning,
		 w->stats.succeeded + w->stats.dead);
	sd_notify(msg);
}

/* Leaving: acknowledge, give back what waits, stop and release what runs. */
static int worker_end(struct worker *w, int rc)
{
	if (flush_done(w) && !rc)
		rc = MD_EXIT_TEMPFAIL;
	release_backlog(w);
	if (w->nrunning) {
		/* leaving on an error: stop and release what still runs */
		stop_all(w);
		for (int i = 0; i < w->nslots; i++)
			if (w->slots[i].used)
				finish_slot(w, &w->slots[i]);
	}
	return rc;
}

static int run(struct worker *w)
{
	const char *wd = getenv("WATCHDOG_USEC");
	int rc = 0;

	w->notify_fd = w->opt.poll_only ? -1 : store_notify_fd(w->db);
	if (wd && *wd)
		w->watchdog_every = strtod(wd, NULL) / 2e6;
	sd_notify("READY=1\nSTATUS=waiting for jobs");
	for (;;) {
		double now = now_mono();
		int free_slots = w->nslots - w->nrunning;
		enum step st = STEP_WAIT;

		worker_rescue(w, now);
		if (w->stopping && w->nbacklog)
			release_backlog(w);
		if ((rc = start_backlog(w)))
			break;
		if (now >= w->db_retry_at)
			st = worker_claim(w, now, free_slots, &rc);
		if (st == STEP_END)
			break;
		if (st == STEP_ON && !w->nrunning && !w->nbacklog && (w->exhausted || w->stopping))
			break;
		if (st == STEP_ON)
			worker_timers(w, now);
		if ((rc = worker_wait(w, now)))
			break;
		worker_status(w);
	}
	return worker_end(w, rc);
}

static int print_summary(const struct worker *w)
{
	struct emit e;

	emit_begin(&e, w->cli.json);
	if (!w->cli.json) {
		char b[256];
		xsnprintf(b, sizeof(b), "claimed=%lld succeeded=%lld retried=%lld dead=%lld "
			 "released=%lld", w->stats.claimed, w->stats.succeeded, w->stats.retried,
			 w->stats.dead, w->stats.released);
		emit_str(&e, "summary", b);
	} else {
		emit_int(&e, "claimed", w->stats.claimed);
		emit_int(&e, "succeeded", w->stats.succeeded);
		emit_int(&e, "retried", w->stats.retried);
		emit_int(&e, "dead", w->stats.dead);
		emit_int(&e, "released", w->stats.released);
		emit_int(&e, "lost", w->stats.lost);
	}
	return emit_end(&e, stdout);
}

/* -j: given, or the configuration's; auto is cores / threads. */
static int worker_jobs(const struct worker *w)
{
	int jobs = w->opt.jobs >= 0 ? w->opt.jobs : w->cli.conf.worker_jobs;

	if (jobs == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = (int)(cores / w->cli.conf.worker_threads);
		if (jobs < 1)
			jobs = 1;
	}
	return jobs;
}

/* The self-pipe and the handlers of TERM, INT and HUP. */
static int signals_init(struct worker *w)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK)) {
		error_errno("cannot make a pipe");
		return -1;
	}
	w->sig_fd = p[0];
	sig_write_fd = p[1];
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void worker_id(struct worker *w)
{
	char host[256];

	if (gethostname(host, sizeof(host)))
		xsnprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	xsnprintf(w->id, sizeof(w->id), "%s:%ld", host, (long)getpid());
}

int main(int argc, char **argv)
{
	static struct worker w = { .opt = { .jobs = -1, .grace = -1 }, .sig_fd = -1 };
	int i = cli_start_table(&w.cli, argc, argv, "md-work", synopsis, NULL, options, on_opt,
				&w);
	int rc;

	if (i < argc)
		cli_extra_operand(&w.cli, argv[i]);
	w.nslots = worker_jobs(&w);
	if (!spawn_have("ffmpeg") || !spawn_have("ffprobe")) {
		error("ffmpeg is not installed");
		return cli_finish(&w.cli, MD_EXIT_UNAVAILABLE);
	}
	worker_id(&w);
	if ((rc = store_open(w.cli.conf.db_url, 0, &w.db)))
		return cli_finish(&w.cli, rc);
	if (storage_open(&w.st, w.cli.conf.storage)) {
		store_close(w.db);
		return cli_finish(&w.cli, MD_EXIT_CONFIG);
	}
	if (w.cli.conf.sandbox)
		sandbox_abi();   /* once here, not in every runner: is there Landlock? */
	if (signals_init(&w))
		return cli_finish(&w.cli, MD_EXIT_SOFTWARE);
	w.batch = w.nslots;
	w.slots = xcalloc((size_t)w.nslots, sizeof(*w.slots));
	w.pf = xcalloc((size_t)w.nslots * SPAWN_NFDS + 2, sizeof(*w.pf));
	if (!w.opt.poll_only && (rc = store_listen(w.db, w.opt.queues, w.opt.nqueues)))
		goto out;
	logkv(LOG_INFO, "worker started", "worker", w.id, "backend", store_backend(w.db),
	      (char *)NULL);
	rc = run(&w);
	sd_notify("STOPPING=1");
	if (!rc && (w.opt.drain || w.opt.once || w.opt.max_jobs) && print_summary(&w))
		rc = MD_EXIT_IOERR;
out:
	store_close(w.db);
	storage_close(&w.st);
	free(w.slots);
	free(w.pf);
	free(w.backlog);
	free(w.opt.queues);
	return cli_finish(&w.cli, rc);
}
