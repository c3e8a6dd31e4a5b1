/*
 * md-work - the worker: claim jobs, run their profiles, record outcomes.
 *
 * One event loop, no threads: poll() over a self-pipe for signals, the
 * database's notification socket (PostgreSQL LISTEN) and the descriptors
 * of each running job's child (spawn.h: its report pipe and its pidfd).
 * Each job runs in a child (lib/runner.c) that does the media work and
 * reports one line; the database is touched only here, and every outcome
 * is fenced on the run (store.h, struct fence): the job, still running
 * under the claim we made.  A run the heartbeat finds gone (cancelled, or
 * rescued for another worker) is stopped, and what it published is
 * removed: its folder is its own (storage.h), never a registered one.
 *
 * Database outages: running jobs go on; the worker retries quietly (one
 * line when the database goes, one when it is back, at most one try a
 * second) and keeps the outcomes that finished meanwhile to record them
 * when it is back, if their runs still hold their jobs.
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
#include "clock.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "notify.h"
#include "progress.h"
#include "runner.h"
#include "sandbox.h"
#include "spawn.h"
#include "storage.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A run's report that waits for the database. */
struct outcome {
	struct job job;
	char *line;
	double seconds;
};

/* A running job: its child, and what it has said so far. */
struct slot {
	int used;
	struct job job;
	struct spawn sp;
	struct strbuf buf;      /* the child's stdout not yet taken */
	double started;
	double progress;        /* seconds into the media of the ffmpeg step */
	int progress_new;       /* not yet written to the job */
	int lost;               /* the run no longer holds its job: being stopped */
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
	char host[256];
	struct worker_reg reg;  /* its row in the workers table */
	struct strbuf queues_csv;
	int sig_fd;             /* the self-pipe's read end */
	int notify_fd;          /* LISTEN socket, or -1 */
	struct pollfd *pf;      /* room for the poll set of a turn */

	struct slot *slots;
	int nslots, nrunning;
	struct job *backlog;    /* claimed, waiting for a free slot */
	int nbacklog, backlog_cap;
	struct {
		struct fence runs[BATCH_MAX];
		int n;
	} done;                 /* short jobs done, not yet acknowledged */
	struct outcome *later;  /* outcomes the database could not take yet */
	int nlater;
	int batch;              /* jobs to claim at once */
	struct {
		long long claimed, succeeded, retried, dead, released, lost;
	} stats;

	/* clocks, in monotonic seconds */
	double next_claim, next_beat, next_rescue, next_progress, next_alive;
	double next_watchdog;   /* 0: no watchdog */
	double db_backoff, db_retry_at;   /* the database is unreachable */
	double db_down_since, db_back_at;
	int db_down, gave_up;
	double full_backoff, full_until;  /* the disk is full: no claims until then */
	int fatal;              /* a store error that ends the worker */
	int registered;         /* in the workers table */
	long long nfull;        /* jobs given back for a full disk */
	long long nunreachable; /* and for storage that could not be reached */
	int denied;             /* the storage refused: stop, exit 78 */
	int stopping, hard_stop, exhausted;
	int reload_failed;      /* the last SIGHUP found errors: said in the status */
	double stop_deadline;
	struct progress progress;       /* --drain on a terminal */
};

/*
 * The only state outside struct worker, because signal handlers need it:
 * the self-pipe's write end, and the runner child's cancel flag.
 */
static int sig_write_fd = -1;
static volatile sig_atomic_t runner_cancel;

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

/* ---------- jobs ---------- */

static void job_log_ctx(const struct worker *w, const struct job *j)
{
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)j->id);
	log_ctx_clear();
	log_ctx_set(LOG_NUM "job_id", id);
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
 * escalation) and reports.  Should it or this worker die anyway, its
 * children die with it (spawn_tie_to_parent).
 */
static int start_job(struct worker *w, struct slot *s)
{
	struct spawn_opts o = { .stdin_fd = -1, .out = &s->buf, .kill_grace = -1 };

	sb_init(&s->buf, 256);
	s->w = w;
	s->started = mono_now();
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

/* ---------- the database ---------- */

/* Is the database worth a try now? */
static int db_due(const struct worker *w, double now)
{
	return now >= w->db_retry_at;
}

/* A store call failed with rc: an outage backs off (said once); anything
 * else (a damaged database, a bug) is said by the store already and ends
 * the worker at the end of this turn. */
static void db_failed(struct worker *w, int rc)
{
	if (rc != MD_EXIT_TEMPFAIL) {
		if (!w->fatal)
			w->fatal = rc;
		return;
	}
	/* a database that comes back is tried again within a second */
	w->db_backoff = w->db_backoff ? w->db_backoff * 2 : 0.125;
	if (w->db_backoff > 1)
		w->db_backoff = 1;
	w->db_retry_at = mono_now() + w->db_backoff;
	if (!w->db_down) {
		logkv(LOG_WARN, "database unavailable; running jobs go on, outcomes wait",
		      (char *)NULL);
		w->db_down = 1;
		w->db_down_since = mono_now();
		store_quiet(w->db, 1);
	}
}

/* A store call worked. */
static void db_worked(struct worker *w)
{
	w->db_backoff = 0;
	w->db_retry_at = 0;
	if (w->db_down) {
		logkv(LOG_INFO, "database available again", (char *)NULL);
		w->db_down = 0;
		w->db_back_at = mono_now();
		store_quiet(w->db, 0);
	}
}

/* rc of a store call, seen by db_failed or db_worked; rc. */
static int db_saw(struct worker *w, int rc)
{
	if (rc)
		db_failed(w, rc);
	else
		db_worked(w);
	return rc;
}

static struct fence run_of(const struct job *j)
{
	return (struct fence){ j->id, j->claim };
}

/* Remove what a run that lost its job published, if anything. */
static void drop_published(struct worker *w, const struct job *j)
{
	char *folder = storage_rendition_key(j->media, j->profile, j->id, j->claim, NULL);

	if (storage_delete_folder(&w->st, folder))
		warning("cannot remove '%s' of a lost run", folder);
	free(folder);
}

/* Write the running jobs' new progress, for md-status. */
static void flush_progress(struct worker *w)
{
	struct fence *runs = xcalloc(w->nslots + 1, sizeof(*runs));
	double *secs = xcalloc(w->nslots + 1, sizeof(*secs));
	int n = 0;

	for (int k = 0; k < w->nslots; k++) {
		struct slot *s = &w->slots[k];
		if (s->used && s->progress_new && !s->lost) {
			runs[n] = run_of(&s->job);
			secs[n++] = s->progress;
			s->progress_new = 0;
		}
	}
	if (n)
		db_saw(w, store_jobs_progress(w->db, runs, secs, n));
	free(runs);
	free(secs);
}

/* 1 recorded, 0 the run no longer holds its job, or an exit code. */
static int record_ok(struct worker *w, const struct job *j, const char *result, const char *dur)
{
	struct fence run = run_of(j);
	int applied = 0, rc = store_job_succeed(w->db, &run, result, &applied);

	if (rc)
		return rc;
	if (applied) {
		w->stats.succeeded++;
		w->full_backoff = 0;
		logkv(LOG_INFO, "job succeeded", LOG_NUM "seconds", dur, (char *)NULL);
	} else {
		drop_published(w, j);
	}
	return applied;
}

static int record_release(struct worker *w, const struct job *j);

/* A failure of this host rather than of the job: a full disk (the work
 * directory or the storage).  The job goes back without spending an
 * attempt, and no job is claimed for a while (5 s, doubling up to 5 min);
 * one-shot modes claim no more and exit 74 at the end. */
static int host_full(const char *err)
{
	return strstr(err, "No space left on device") || strstr(err, "Disk quota exceeded");
}

/* The same for storage that cannot be reached (every retry of the
 * storage failed): the job goes back, claims pause, one-shot modes exit
 * 75.  The pause is shared with a full disk's: one host trouble at a time
 * is enough to stop taking work. */
static int record_host(struct worker *w, const struct job *j, const char *err, int storage)
{
	char b[32];
	int rc = record_release(w, j);

	if (rc > 1)
		return rc;
	if (storage)
		w->nunreachable++;
	else
		w->nfull++;
	w->full_backoff = w->full_backoff ? w->full_backoff * 2 : 5;
	if (w->full_backoff > 300)
		w->full_backoff = 300;
	w->full_until = mono_now() + w->full_backoff;
	if (w->opt.once || w->opt.drain || w->opt.max_jobs)
		w->exhausted = 1;
	xsnprintf(b, sizeof(b), "%.0f", w->full_backoff);
	logkv(LOG_ERROR, storage ? "storage unreachable: the job is given back without spending "
	      "an attempt; no new job for a while" : "disk full: the job is given back without "
	      "spending an attempt; no new job for a while", "error", err, LOG_NUM "pause", b, (char *)NULL);
	return 1;
}

/* Claim no more; the running jobs have the grace to finish. */
static void begin_stop(struct worker *w, double now)
{
	w->stopping = 1;
	w->stop_deadline = now + (w->opt.grace >= 0 ? w->opt.grace : w->cli.conf.grace);
}

/* The storage refused this worker (403): the job goes back and the worker
 * stops, exiting 78; its configuration must change first. */
static int record_denied(struct worker *w, const struct job *j, const char *err)
{
	int rc = record_release(w, j);

	if (rc > 1)
		return rc;
	logkv(LOG_ERROR, "storage refused this worker: the job is given back; stopping (fix the "
	      "storage settings)", "error", err, (char *)NULL);
	w->denied = 1;
	if (!w->stopping)
		begin_stop(w, mono_now());
	return 1;
}

/* "fail\tP\tERROR", or no report at all: retry later, or dead. */
static int record_fail(struct worker *w, const struct job *j, const char *line)
{
	int permanent = 0, rc;
	const char *err = "the job runner died without a report";
	char state[16] = "";

	if (!strncmp(line, "fail\t", 5)) {
		permanent = line[5] == '0' + RUN_FAIL_PERMANENT;
		err = line[5] && line[6] == '\t' ? line + 7 : line + 5;
		if (line[5] == '0' + RUN_FAIL_STORAGE)
			return record_host(w, j, err, 1);
		if (line[5] == '0' + RUN_FAIL_DENIED)
			return record_denied(w, j, err);
	}
	if (host_full(err))
		return record_host(w, j, err, 0);
	double delay = retry_delay(w->cli.conf.retry_base, w->cli.conf.retry_max, j->attempts);
	if ((rc = store_job_fail(w->db, j, err, permanent, delay, state)))
		return rc;
	if (!state[0])
		return 0;
	if (!strcmp(state, "dead")) {
		w->stats.dead++;
		logkv(LOG_ERROR, "job dead", "error", err, (char *)NULL);
	} else {
		char d[32], at[16];
		xsnprintf(d, sizeof(d), "%.1f", delay);
		xsnprintf(at, sizeof(at), "%d", j->attempts);
		w->stats.retried++;
		logkv(LOG_WARN, "job failed, will retry", "error", err, LOG_NUM "retry_in", d,
		      LOG_NUM "attempt", at, (char *)NULL);
	}
	return 1;
}

static int record_release(struct worker *w, const struct job *j)
{
	int applied = 0, rc = store_job_release(w->db, j, &applied);

	if (rc)
		return rc;
	w->stats.released += applied;
	if (applied)
		logkv(LOG_INFO, "job released", (char *)NULL);
	return applied;
}

/* A run's report into the database: 0, or an exit code (the report then
 * waits).  A run that lost its job is only counted. */
static int record(struct worker *w, const struct job *j, const char *line, double secs)
{
	int applied;
	char dur[32];

	job_log_ctx(w, j);
	xsnprintf(dur, sizeof(dur), "%.3f", secs);
	if (!strncmp(line, "ok\t", 3))
		applied = record_ok(w, j, line + 3, dur);
	else if (!strcmp(line, "cancel"))
		applied = record_release(w, j);
	else
		applied = record_fail(w, j, line);
	if (applied > 1) {
		log_ctx_clear();
		return applied;
	}
	if (!applied) {
		w->stats.lost++;
		logkv(LOG_WARN, "lease lost: the job was cancelled, or rescued for another "
		      "worker; result discarded", (char *)NULL);
	}
	log_ctx_clear();
	return 0;
}

/* Keep a report for when the database is back; takes j. */
static void record_later(struct worker *w, struct job *j, const char *line, double secs)
{
	w->later = xrealloc(w->later, (size_t)(w->nlater + 1) * sizeof(*w->later));
	w->later[w->nlater++] = (struct outcome){ *j, xstrdup(line), secs };
	memset(j, 0, sizeof(*j));
}

/* The reports that waited, in order, while the database takes them. */
static void record_waiting(struct worker *w, double now)
{
	int done = 0;

	while (done < w->nlater && db_due(w, now)) {
		struct outcome *o = &w->later[done];
		/* another error is the store's to say; the lease then runs out */
		if (db_saw(w, record(w, &o->job, o->line, o->seconds)) == MD_EXIT_TEMPFAIL)
			break;
		job_free(&o->job);
		free(o->line);
		done++;
	}
	if (done) {
		memmove(w->later, w->later + done, (size_t)(w->nlater - done) * sizeof(*w->later));
		w->nlater -= done;
	}
}

/* Event: the child of slot s is gone (or must be waited for). */
static void finish_slot(struct worker *w, struct slot *s)
{
	struct spawn_result res;
	double secs = mono_now() - s->started;

	spawn_finish(&s->sp, &res);
	take_progress(s);
	sb_rtrim(&s->buf);
	if (s->lost) {
		job_log_ctx(w, &s->job);
		w->stats.lost++;
		logkv(LOG_WARN, "job stopped: cancelled, or rescued for another worker",
		      (char *)NULL);
		log_ctx_clear();
		if (!strncmp(s->buf.buf, "ok\t", 3))
			drop_published(w, &s->job);
	} else if (w->nlater || !db_due(w, mono_now()) ||
		   db_saw(w, record(w, &s->job, s->buf.buf, secs)) == MD_EXIT_TEMPFAIL) {
		record_later(w, &s->job, s->buf.buf, secs);
	}
	sb_release(&s->buf);
	job_free(&s->job);
	s->used = 0;
	s->lost = 0;
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
	rc = store_jobs_succeed(w->db, w->done.runs, results, w->done.n, &applied);
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
			store_job_release(w->db, &s->job, NULL);
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
	w->done.runs[w->done.n++] = run_of(j);
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
			     w->cli.conf.lease, w->done.runs, w->done.n, inline_result, &acked,
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
		int applied = 0;
		if (!store_job_release(w->db, &w->backlog[i], &applied))
			w->stats.released += applied;
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

/*
 * SIGHUP: the configuration again, for the jobs claimed from now on (the
 * running ones keep theirs: each runner is a child with its own copy).  A
 * configuration with errors is not taken: the old one stays, the error is
 * logged and kept in the status until a reload works.
 */
static void reload_config(struct worker *w)
{
	notify_reloading();
	if (conf_reload(&w->cli.conf)) {
		error("configuration not reloaded: it has errors; the old one stays");
		w->reload_failed = 1;
		notify_ready("configuration not reloaded: it has errors");
		return;
	}
	w->reload_failed = 0;
	info("configuration reloaded");
	notify_ready("configuration reloaded");
}

/* ---------- events ---------- */

/* What run() does after an event: go on, go to the wait, or leave. */
enum step { STEP_ON, STEP_WAIT, STEP_END };

/* A store call failed with *rc: an outage waits, anything else leaves. */
static enum step db_trouble(struct worker *w, int *rc)
{
	if (*rc != MD_EXIT_TEMPFAIL)
		return STEP_END;
	db_failed(w, *rc);
	*rc = 0;
	return STEP_WAIT;
}

/* Event: a lease period passed: rescue the jobs of lost workers. */
static void worker_rescue(struct worker *w, double now)
{
	int n = 0;

	/* first, so that a drain sees them */
	if (w->stopping || now < w->next_rescue || !db_due(w, now))
		return;
	if (!db_saw(w, store_rescue_expired(w->db, w->id, &n)) && n) {
		char b[16];
		xsnprintf(b, sizeof(b), "%d", n);
		logkv(LOG_WARN, "rescued jobs whose lease expired", LOG_NUM "count", b, (char *)NULL);
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
		return db_trouble(w, rc);
	db_worked(w);
	w->progress.total = w->progress.done + avail;
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

/*
 * --drain on a terminal: the jobs done (succeeded or dead: failed) of the
 * jobs available at the start, the total grown by the jobs this worker
 * holds beyond them and set again to the jobs done and available
 * whenever the drain counts the queue.  A retry is one job, done once.
 */
static void drain_progress_start(struct worker *w)
{
	int64_t avail = 0, running;
	double next_run;

	progress_start(&w->progress, "jobs", w->cli.quiet);
	if (w->progress.on && !store_queue_counts(w->db, w->opt.queues, w->opt.nqueues, &avail,
						  &running, &next_run))
		progress_total(&w->progress, avail, -1);
}

static void drain_progress(struct worker *w)
{
	struct progress *p = &w->progress;
	long long held = w->nrunning + w->nbacklog + w->nlater;

	if (!p->on)
		return;
	p->done = w->stats.succeeded + w->stats.dead + w->done.n;
	p->failed = w->stats.dead;
	if (p->total < p->done + held)
		p->total = p->done + held;
	progress_tick(p);
}

/* Event: slots are free and a claim is due.  free_slots: as the turn began. */
static enum step worker_claim(struct worker *w, double now, int free_slots, int *rc)
{
	int want, got = 0;

	if (w->stopping || w->exhausted || free_slots <= 0 || w->nbacklog || now < w->next_claim ||
	    now < w->full_until)
		return STEP_ON;
	want = w->batch > free_slots ? w->batch : free_slots;
	if (w->opt.max_jobs && w->stats.claimed + want > w->opt.max_jobs)
		want = (int)(w->opt.max_jobs - w->stats.claimed);
	if (want > 0) {
		if ((*rc = claim_jobs(w, want, &got)))
			return db_trouble(w, rc);
		db_worked(w);
		w->next_claim = got < want ? now + w->cli.conf.poll_interval : 0;
	}
	if (w->opt.once || (w->opt.max_jobs && w->stats.claimed >= w->opt.max_jobs))
		w->exhausted = 1;
	if (w->opt.drain && !w->nrunning && !w->nbacklog && !w->nlater && got < want)
		return drain_check(w, now, rc);
	return STEP_ON;
}

/* A run the heartbeat found gone: its commands stop, nothing of it stays. */
static void run_gone(struct worker *w, const struct job *j, const char *what)
{
	job_log_ctx(w, j);
	logkv(LOG_WARN, what, (char *)NULL);
	log_ctx_clear();
}

/* The runs of the heartbeat: running slots, the backlog, waiting outcomes. */
static int heartbeat_runs(const struct worker *w, struct fence *runs)
{
	int n = 0;

	for (int k = 0; k < w->nslots; k++)
		if (w->slots[k].used && !w->slots[k].lost)
			runs[n++] = run_of(&w->slots[k].job);
	for (int i = 0; i < w->nbacklog; i++)
		runs[n++] = run_of(&w->backlog[i]);
	for (int i = 0; i < w->nlater; i++)
		runs[n++] = run_of(&w->later[i].job);
	return n;
}

/* Extend the leases of our runs; stop and forget those that are gone. */
static int heartbeat(struct worker *w)
{
	int cap = w->nslots + w->nbacklog + w->nlater + 1, n, k = 0, rc;
	struct fence *runs = xcalloc((size_t)cap, sizeof(*runs));
	char *held = xcalloc((size_t)cap, 1);

	/* short jobs done wait for the next claim to be acknowledged; one
	 * that does not come (the slots busy with long jobs) must not let
	 * their leases lapse: they are acknowledged here at the latest */
	if (w->done.n && (rc = db_saw(w, flush_done(w))))
		goto out;
	n = heartbeat_runs(w, runs);
	if ((rc = db_saw(w, store_heartbeat(w->db, w->cli.conf.lease, runs, n, held))))
		goto out;
	for (int i = 0; i < w->nslots; i++) {
		struct slot *s = &w->slots[i];
		if (!s->used || s->lost || held[k++])
			continue;
		run_gone(w, &s->job, "job cancelled, or rescued for another worker: stopping it");
		s->lost = 1;
		spawn_stop(&s->sp);
	}
	n = 0;
	for (int i = 0; i < w->nbacklog; i++) {
		if (held[k++]) {
			w->backlog[n++] = w->backlog[i];
			continue;
		}
		run_gone(w, &w->backlog[i], "job cancelled before it started");
		job_free(&w->backlog[i]);
	}
	w->nbacklog = n;
	n = 0;
	for (int i = 0; i < w->nlater; i++) {
		struct outcome *o = &w->later[i];
		if (held[k++]) {
			w->later[n++] = *o;
			continue;
		}
		run_gone(w, &o->job, "lease lost while the database was away; result discarded");
		w->stats.lost++;
		if (!strncmp(o->line, "ok\t", 3))
			drop_published(w, &o->job);
		job_free(&o->job);
		free(o->line);
	}
	w->nlater = n;
out:
	free(runs);
	free(held);
	return rc;
}

/* The worker's own heartbeat, and the rescue of the jobs of workers whose
 * heartbeats stopped (WORKER_GONE_BEATS): twice a heartbeat, so a gone
 * worker is found within about two. */
static void worker_alive(struct worker *w, double now)
{
	double hb = w->cli.conf.heartbeat;
	int again = 0, gone = 0, rescued = 0;

	if (hb <= 0 || now < w->next_alive || !db_due(w, now))
		return;
	/* registered at the first turn, after the rescue has read the
	 * database: a damaged one is not written to */
	if (!w->registered) {
		if (db_saw(w, store_worker_register(w->db, &w->reg)))
			return;
		w->registered = 1;
	} else if (db_saw(w, store_worker_beat(w->db, &w->reg, &again))) {
		return;
	}
	if (again)
		logkv(LOG_WARN, "this worker was found gone (paused?): registered again",
		      (char *)NULL);
	/* back from an outage, the others' heartbeats were held up as ours
	 * was: they get as long to beat again before they count as gone */
	if (!w->stopping && now - w->db_back_at >= hb * WORKER_GONE_BEATS &&
	    !db_saw(w, store_reap_workers(w->db, hb * WORKER_GONE_BEATS, w->id, &gone, &rescued)) &&
	    gone) {
		char g[16], r[16];
		xsnprintf(g, sizeof(g), "%d", gone);
		xsnprintf(r, sizeof(r), "%d", rescued);
		logkv(LOG_WARN, "workers gone: their running jobs rescued", LOG_NUM "workers", g,
		      LOG_NUM "jobs", r, (char *)NULL);
		w->next_claim = 0;
	}
	w->next_alive = now + hb / 2;
}

/* The one-shot modes wait a lease for a database that went away, not
 * forever (a cron job would pile up behind it): then they stop as on
 * SIGTERM, and exit 75.  Their runs are others' to rescue by then. */
static void db_give_up(struct worker *w, double now)
{
	double lease = w->cli.conf.lease;

	if (!w->db_down || w->stopping || !(w->opt.once || w->opt.drain || w->opt.max_jobs) ||
	    now - w->db_down_since < lease)
		return;
	logkv(LOG_ERROR, "database unavailable for a lease: no new jobs, stopping",
	      (char *)NULL);
	w->gave_up = 1;
	begin_stop(w, now);
}

/* Event: the clocks: progress, heartbeat, watchdog, the end of the grace. */
static void worker_timers(struct worker *w, double now)
{
	double wd;

	if (w->nrunning && now >= w->next_progress && db_due(w, now)) {
		flush_progress(w);
		w->next_progress = now + PROGRESS_EVERY;
	}
	if ((w->nrunning || w->nbacklog || w->nlater || w->done.n) && now >= w->next_beat &&
	    db_due(w, now)) {
		if (!heartbeat(w))
			w->next_beat = now + w->cli.conf.lease / 3;
	}
	worker_alive(w, now);
	db_give_up(w, now);
	if ((wd = notify_watchdog(now)) >= 0)
		w->next_watchdog = now + wd;
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
		begin_stop(w, now);
		info("signal %d: no new jobs; %d running, grace %.0fs", sig, w->nrunning,
		     w->stop_deadline - now);
		notify_stopping();
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
		double at = w->next_claim > w->db_retry_at ? w->next_claim : w->db_retry_at;
		if (w->full_until > at)
			at = w->full_until;
		if (at - now < until)
			until = at - now;
	}
	if (w->nrunning || w->nbacklog || w->nlater || w->done.n) {
		/* while the database is away, the heartbeat waits for it too */
		double beat = w->next_beat > w->db_retry_at ? w->next_beat : w->db_retry_at;
		if (beat - now < until)
			until = beat - now;
	}
	if (w->nlater && w->db_retry_at - now < until)
		until = w->db_retry_at - now;
	if (w->next_watchdog > 0 && w->next_watchdog - now < until)
		until = w->next_watchdog - now;
	if (w->cli.conf.heartbeat > 0 && w->next_alive - now < until)
		until = (w->next_alive > w->db_retry_at ? w->next_alive : w->db_retry_at) - now;
	for (int i = 0; i < w->nslots; i++) {
		int ms = w->slots[i].used ? spawn_due(&w->slots[i].sp) : -1;
		if (ms >= 0 && ms / 1000.0 < until)
			until = ms / 1000.0;
	}
	return until < 0 ? 0 : (int)(until * 1000);
}

/* What store_consume_notify said: notifications wake the claim; a
 * connection it could not bring back is an outage, its return the end. */
static void notified(struct worker *w, int n)
{
	if (n < 0) {
		db_failed(w, -n);
		return;
	}
	if (w->db_down)
		db_worked(w);
	if (n > 0)
		w->next_claim = 0;
}

/* Event: wait for the next thing to happen, and hand it on. */
static int worker_wait(struct worker *w, double now)
{
	unsigned char sig;
	int np, r;

	/* notifications that arrived during other statements are already
	 * buffered: the socket will not wake us for them */
	if (w->notify_fd >= 0 && !w->stopping)
		notified(w, store_consume_notify(w->db));
	np = worker_pollfds(w);
	r = poll(w->pf, (nfds_t)np, worker_timeout(w, now));
	if (r < 0 && errno != EINTR) {
		error_errno("poll");
		return MD_EXIT_SOFTWARE;
	}
	if (r > 0 && w->pf[0].revents)
		while (read(w->sig_fd, &sig, 1) == 1)
			worker_signal(w, sig, now);
	if (r > 0 && np > 1 && w->pf[1].fd == w->notify_fd && w->pf[1].revents)
		notified(w, store_consume_notify(w->db));
	for (int i = 0; i < w->nslots; i++)
		if (w->slots[i].used)
			slot_event(w, &w->slots[i], r > 0);
	return 0;
}

/* STATUS= for systemctl status, sent when its text changes. */
static void worker_status(const struct worker *w)
{
	const char *note = w->reload_failed ? "; configuration not reloaded: it has errors" : "";

	if (w->stopping)
		notify_status("stopping: %d running", w->nrunning);
	else if (w->db_down)
		notify_status("database unavailable: %d running, %lld done%s", w->nrunning,
			      w->stats.succeeded + w->stats.dead, note);
	else
		notify_status("%d running, %lld done%s", w->nrunning,
			      w->stats.succeeded + w->stats.dead, note);
}

/* Leaving: acknowledge, give back what waits, stop and release what runs. */
static int worker_end(struct worker *w, int rc)
{
	if ((flush_done(w) || w->gave_up) && !rc)
		rc = MD_EXIT_TEMPFAIL;
	for (int i = 0; i < w->nlater; i++) {
		job_free(&w->later[i].job);
		free(w->later[i].line);
	}
	free(w->later);
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
	int rc = 0;

	w->notify_fd = w->opt.poll_only ? -1 : store_notify_fd(w->db);
	notify_ready("waiting for jobs");
	for (;;) {
		double now = mono_now();
		int free_slots = w->nslots - w->nrunning;
		enum step st = STEP_WAIT;

		record_waiting(w, now);
		drain_progress(w);
		worker_rescue(w, now);
		if ((rc = w->fatal))
			break;
		if (w->stopping && w->nbacklog && db_due(w, now))
			release_backlog(w);
		if ((rc = start_backlog(w)))
			break;
		if (db_due(w, now))
			st = worker_claim(w, now, free_slots, &rc);
		if (st == STEP_END)
			break;
		if (!w->nrunning && !w->nbacklog && !w->nlater && (w->exhausted || w->stopping) &&
		    st == STEP_ON)
			break;
		if (w->stopping && w->hard_stop && !w->nrunning && w->nlater) {
			/* the grace is over and the database still away */
			warning("%d outcome%s not recorded: the database is unavailable", w->nlater,
				w->nlater == 1 ? "" : "s");
			rc = MD_EXIT_TEMPFAIL;
			break;
		}
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
	if (gethostname(w->host, sizeof(w->host)))
		xsnprintf(w->host, sizeof(w->host), "localhost");
	w->host[sizeof(w->host) - 1] = '\0';
	xsnprintf(w->id, sizeof(w->id), "%s:%ld", w->host, (long)getpid());
	sb_init(&w->queues_csv, 64);
	for (int i = 0; i < w->opt.nqueues; i++)
		sb_addf(&w->queues_csv, "%s%s", i ? "," : "", w->opt.queues[i]);
	w->reg = (struct worker_reg){ .id = w->id, .host = w->host, .pid = (long)getpid(),
				      .queues = w->queues_csv.buf, .slots = w->nslots,
				      .version = MD_VERSION };
}

int main(int argc, char **argv)
{
	static struct worker w = { .opt = { .jobs = -1, .grace = -1 }, .sig_fd = -1 };
	int i = cli_start_table(&w.cli, argc, argv, "md-work", synopsis, NULL, options, on_opt,
				&w);
	int rc;

	/*
	 * Each batch allocates and frees the same few hundred kilobytes; with
	 * glibc's default the heap's top is given back after each and its
	 * pages faulted in again by the next: 9,500 page faults for 20,000
	 * no-op jobs instead of 1,100, and a third of the burn-down's time on
	 * a machine where a fault is dear.  Kept, the pad is address space,
	 * not memory, until a batch needs it.
	 */
	mallopt(M_TOP_PAD, 1 << 20);
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
	if (storage_open(&w.st, w.cli.conf.storage, &w.cli.conf.s3)) {
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
	if (w.opt.drain)
		drain_progress_start(&w);
	rc = run(&w);
	progress_end(&w.progress);
	/* after a database error, others find this worker gone instead */
	if (w.registered && !rc && store_worker_leave(w.db, w.id))
		warning("cannot remove this worker from the workers table");
	notify_stopping();
	if (!rc && (w.opt.drain || w.opt.once || w.opt.max_jobs) && print_summary(&w))
		rc = MD_EXIT_IOERR;
	if (!rc && (w.opt.drain || w.opt.once || w.opt.max_jobs) && w.nfull) {
		error("%lld job%s given back: the disk is full", w.nfull, w.nfull == 1 ? "" : "s");
		rc = MD_EXIT_IOERR;
	}
	if (!rc && (w.opt.drain || w.opt.once || w.opt.max_jobs) && w.nunreachable) {
		error("%lld job%s given back: the storage could not be reached", w.nunreachable,
		      w.nunreachable == 1 ? "" : "s");
		rc = MD_EXIT_TEMPFAIL;
	}
	if (!rc && w.denied)
		rc = MD_EXIT_CONFIG;
out:
	store_close(w.db);
	storage_close(&w.st);
	free(w.slots);
	free(w.pf);
	free(w.backlog);
	free(w.opt.queues);
	sb_release(&w.queues_csv);
	return cli_finish(&w.cli, rc);
}
