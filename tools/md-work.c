/*
 * md-work - the worker: claim jobs, run their profiles, record outcomes.
 *
 * One event loop, no threads: poll() over a self-pipe for signals, the
 * database's notification socket (PostgreSQL LISTEN) and one result pipe
 * per running job.  Each job runs in a child (lib/runner.c) that does the
 * media work and reports one line; the database is touched only here, and
 * every outcome is fenced on (state = running, locked_by = us).
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

static const char usage[] =
	"usage: md-work [common options] [-j N|auto] [-Q QUEUE]... [--once] [--drain]\n"
	"               [--max-jobs N] [--grace DUR] [--poll-only]\n"
	"\n"
	"  -j, --jobs N|auto   jobs at once (default from config; auto = cores / threads)\n"
	"  -Q, --queue QUEUE   serve this queue (repeatable; default all)\n"
	"      --once          claim one batch, run it, exit\n"
	"      --drain         exit 0 when no job is available and none runs\n"
	"      --max-jobs N    exit after N jobs\n"
	"      --grace DUR     on SIGTERM, time given to running jobs (default 30s)\n"
	"      --poll-only     no LISTEN: poll every worker.poll_interval (for\n"
	"                      connection poolers in transaction mode)\n"
	"common options: -c FILE, --db URL, --storage DIR, --log-format text|json,\n"
	"  --log-level LEVEL, -q, -v, --json, -h, -V\n";

enum { OPT_ONCE = OPT_TOOL_BASE, OPT_DRAIN, OPT_MAX_JOBS, OPT_GRACE, OPT_POLL_ONLY };

static const struct option longopts[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "queue", required_argument, NULL, 'Q' },
	{ "once", no_argument, NULL, OPT_ONCE },
	{ "drain", no_argument, NULL, OPT_DRAIN },
	{ "max-jobs", required_argument, NULL, OPT_MAX_JOBS },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "poll-only", no_argument, NULL, OPT_POLL_ONLY },
	{ NULL, 0, NULL, 0 }
};

static struct cli cli;
static struct {
	int jobs;               /* -1: not given */
	char **queues;
	int nqueues;
	int once, drain, poll_only;
	long long max_jobs;
	double grace;
} opt = { .jobs = -1, .grace = -1 };

struct slot {
	int used;
	struct job job;
	pid_t pid;
	int fd;
	struct strbuf buf;
	double started;
	double progress;        /* seconds into the media of the ffmpeg step */
	int progress_new;       /* not yet written to the job */
};

static struct slot *slots;
static int nslots, nrunning;
static struct store *db;
static struct storage st;
static char worker_id[300];
static int sigpipe[2] = { -1, -1 };
static struct {
	long long claimed, succeeded, retried, dead, released, lost;
} stats;

static volatile sig_atomic_t runner_cancel;

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
static struct {
	int64_t ids[BATCH_MAX];
	int n;
} done_buf;
static struct job *backlog;
static int nbacklog, backlog_cap;
static int batch;
static const char inline_result[] = "{\"files\":[],\"bytes\":0,\"duration_ms\":0}";

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;

	switch (o) {
	case 'j':
		if (!strcmp(arg, "auto"))
			opt.jobs = 0;
		else if (parse_int(arg, 1, 1024, &v))
			usage_error(&cli, "bad -j '%s': a number from 1 to 1024, or auto", arg);
		else
			opt.jobs = (int)v;
		break;
	case 'Q':
		if (!*arg || strlen(arg) > 64)
			usage_error(&cli, "bad queue name '%s'", arg);
		opt.queues = xrealloc(opt.queues, (opt.nqueues + 1) * sizeof(*opt.queues));
		opt.queues[opt.nqueues++] = (char *)arg;
		break;
	case OPT_ONCE: opt.once = 1; break;
	case OPT_DRAIN: opt.drain = 1; break;
	case OPT_POLL_ONLY: opt.poll_only = 1; break;
	case OPT_MAX_JOBS:
		if (parse_int(arg, 1, 1LL << 40, &v))
			usage_error(&cli, "bad --max-jobs '%s'", arg);
		opt.max_jobs = v;
		break;
	case OPT_GRACE:
		if (parse_duration(arg, &opt.grace))
			usage_error(&cli, "bad --grace '%s' (like 30s)", arg);
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
	(void)!write(sigpipe[1], &c, 1);
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

static void job_log_ctx(const struct job *j)
{
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)j->id);
	log_ctx_clear();
	log_ctx_set("job_id", id);
	log_ctx_set("media", j->media);
	log_ctx_set("profile", j->profile);
	log_ctx_set("worker", worker_id);
	if (j->trace_id)
		log_ctx_set("trace_id", j->trace_id);
}

/* Fork the runner for a claimed job into a free slot. */
static int start_job(struct slot *s)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		error_errno("cannot make a pipe");
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		error_errno("cannot fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (!pid) {
		/* the runner: never touches the database, leaves by _exit */
		struct strbuf out = STRBUF_INIT;
		struct sigaction sa = { .sa_handler = on_runner_term };
		struct runner_ctx rc = {
			.conf = &cli.conf, .st = &st, .deadline_secs = cli.conf.job_timeout,
			.cancel = &runner_cancel, .progress_fd = p[1],
		};
		close(p[0]);
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		setpgid(0, 0);
		runner_run(&rc, &s->job, &out);
		/* a report the worker cannot read counts as a dead runner */
		_exit(write_all(p[1], out.buf, out.len) ? 1 : 0);
	}
	setpgid(pid, pid);
	close(p[1]);
	s->pid = pid;
	s->fd = p[0];
	s->started = now_mono();
	s->progress_new = 0;
	sb_init(&s->buf, 256);
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
static void flush_progress(void)
{
	int64_t *ids = xcalloc(nslots + 1, sizeof(*ids));
	double *secs = xcalloc(nslots + 1, sizeof(*secs));
	int n = 0;

	for (int k = 0; k < nslots; k++)
		if (slots[k].used && slots[k].progress_new) {
			ids[n] = slots[k].job.id;
			secs[n++] = slots[k].progress;
			slots[k].progress_new = 0;
		}
	if (n && store_jobs_progress(db, worker_id, ids, secs, n))
		warning("cannot record the progress of running jobs");
	free(ids);
	free(secs);
}

static void record(struct slot *s, const char *line)
{
	struct job *j = &s->job;
	int applied = 0, rc;
	char state[16] = "";
	double secs = now_mono() - s->started;
	char dur[32];

	job_log_ctx(j);
	xsnprintf(dur, sizeof(dur), "%.3f", secs);
	if (!strncmp(line, "ok\t", 3)) {
		rc = store_job_succeed(db, worker_id, j->id, line + 3, &applied);
		if (!rc && applied) {
			stats.succeeded++;
			logkv(LOG_INFO, "job succeeded", "seconds", dur, (char *)NULL);
		}
	} else if (!strcmp(line, "cancel")) {
		rc = store_job_release(db, worker_id, j->id);
		stats.released++;
		applied = 1;
		logkv(LOG_INFO, "job released", (char *)NULL);
	} else {
		int permanent = 0;
		const char *err = "the job runner died without a report";
		if (!strncmp(line, "fail\t", 5)) {
			permanent = line[5] == '1';
			err = line[5] && line[6] == '\t' ? line + 7 : line + 5;
		}
		double delay = retry_delay(cli.conf.retry_base, cli.conf.retry_max, j->attempts);
		rc = store_job_fail(db, worker_id, j->id, err, permanent, delay, state);
		applied = !rc && state[0];
		if (applied && !strcmp(state, "dead")) {
			stats.dead++;
			logkv(LOG_ERROR, "job dead", "error", err, (char *)NULL);
		} else if (applied) {
			char d[32], at[16];
			xsnprintf(d, sizeof(d), "%.1f", delay);
			xsnprintf(at, sizeof(at), "%d", j->attempts);
			stats.retried++;
			logkv(LOG_WARN, "job failed, will retry", "error", err, "retry_in", d,
			      "attempt", at, (char *)NULL);
		}
	}
	if (!rc && !applied) {
		stats.lost++;
		logkv(LOG_WARN, "lease lost: the job was cancelled, or rescued for another "
		      "worker; result discarded", (char *)NULL);
	}
	log_ctx_clear();
}

static void finish_slot(struct slot *s)
{
	int status;

	while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
		;
	close(s->fd);
	sb_rtrim(&s->buf);
	record(s, s->buf.buf);
	sb_release(&s->buf);
	job_free(&s->job);
	s->used = 0;
	nrunning--;
}

/* ---------- main loop ---------- */

/* The store acknowledged `acked` of the short jobs in done_buf. */
static void count_acked(int acked)
{
	stats.succeeded += acked;
	if (acked < done_buf.n) {
		stats.lost += done_buf.n - acked;
		logkv(LOG_WARN, "lease lost on short jobs: results discarded", (char *)NULL);
	}
	done_buf.n = 0;
}

static int flush_done(void)
{
	char *results[BATCH_MAX];
	int applied = 0, rc;

	if (!done_buf.n)
		return 0;
	for (int i = 0; i < done_buf.n; i++)
		results[i] = (char *)inline_result;
	rc = store_jobs_succeed(db, worker_id, done_buf.ids, results, done_buf.n, &applied);
	if (rc)
		return rc;
	count_acked(applied);
	return 0;
}

static int is_inline(const struct job *j)
{
	const struct profile *p = conf_profile(&cli.conf, j->profile);
	return p && !p->nsteps;
}

/* Start backlog jobs in free slots. */
static int start_backlog(void)
{
	int k = 0;

	while (nbacklog && nrunning < nslots) {
		while (slots[k].used)
			k++;
		struct slot *s = &slots[k];
		s->job = backlog[0];
		memmove(backlog, backlog + 1, (size_t)(--nbacklog) * sizeof(*backlog));
		s->used = 1;
		nrunning++;
		job_log_ctx(&s->job);
		logkv(LOG_INFO, "job started", (char *)NULL);
		log_ctx_clear();
		if (start_job(s)) {
			/* could not fork: give the job back */
			store_job_release(db, worker_id, s->job.id);
			job_free(&s->job);
			s->used = 0;
			nrunning--;
			return MD_EXIT_SOFTWARE;
		}
	}
	return 0;
}

static int claim_jobs(int want, int *got)
{
	struct job *jobs;
	int n = 0, rc, ninline = 0;

	*got = 0;
	/* the short jobs done since the last claim are acknowledged with it */
	int acked = 0;
	rc = store_claim_ack(db, worker_id, opt.queues, opt.nqueues, want, cli.conf.lease,
			     done_buf.ids, done_buf.n, inline_result, &acked, &jobs, &n);
	if (rc)
		return rc;
	count_acked(acked);
	for (int i = 0; i < n; i++) {
		stats.claimed++;
		if (is_inline(&jobs[i])) {
			if (log_level() >= LOG_DEBUG) {
				job_log_ctx(&jobs[i]);
				logkv(LOG_DEBUG, "short job done", (char *)NULL);
				log_ctx_clear();
			}
			if (done_buf.n == BATCH_MAX && (rc = flush_done()))
				break;
			done_buf.ids[done_buf.n++] = jobs[i].id;
			job_free(&jobs[i]);
			ninline++;
			continue;
		}
		if (nbacklog == backlog_cap) {
			backlog_cap = backlog_cap ? backlog_cap * 2 : 16;
			backlog = xrealloc(backlog, (size_t)backlog_cap * sizeof(*backlog));
		}
		backlog[nbacklog++] = jobs[i];
	}
	for (int i = ninline + nbacklog; i < n; i++)
		job_free(&jobs[i]);   /* only after an error above */
	free(jobs);
	*got = n;
	/* whole batches of short jobs: claim more at once next time */
	if (n && n == want && ninline == n)
		batch = batch * 2 > cli.conf.worker_batch ? cli.conf.worker_batch : batch * 2;
	else
		batch = nslots;
	if (rc)
		return rc;
	/* an empty queue: acknowledge now rather than with a later claim */
	if (n < want && (rc = flush_done()))
		return rc;
	return start_backlog();
}

static void release_backlog(void)
{
	for (int i = 0; i < nbacklog; i++) {
		if (!store_job_release(db, worker_id, backlog[i].id))
			stats.released++;
		job_free(&backlog[i]);
	}
	nbacklog = 0;
}

static void stop_all(void)
{
	runner_cancel = 1;
	for (int i = 0; i < nslots; i++)
		if (slots[i].used)
			kill(-slots[i].pid, SIGTERM);
}

static int reload_config(void)
{
	struct conf nc;

	conf_init(&nc);
	if (conf_load(&nc, cli.conf.path)) {
		conf_release(&nc);
		warning("configuration not reloaded: it has errors");
		return -1;
	}
	conf_apply_env(&nc);
	/* the database and storage stay as they are */
	free(nc.db_url);
	free(nc.storage);
	nc.db_url = cli.conf.db_url;
	nc.storage = cli.conf.storage;
	cli.conf.db_url = cli.conf.storage = NULL;
	conf_release(&cli.conf);
	cli.conf = nc;
	info("configuration reloaded");
	return 0;
}

/* The database is unreachable: keep running jobs, retry with backoff. */
static double db_backoff, db_retry_at;

static void db_outage(double now)
{
	char b[32];

	db_backoff = db_backoff ? db_backoff * 2 : 1;
	if (db_backoff > 30)
		db_backoff = 30;
	db_retry_at = now + db_backoff;
	xsnprintf(b, sizeof(b), "%.0f", db_backoff);
	logkv(LOG_WARN, "database unavailable; running jobs go on, retrying", "retry_in", b,
	      (char *)NULL);
}

static int run(void)
{
	double now = now_mono(), next_claim = 0, next_beat = 0, next_rescue = 0;
	double next_progress = 0;
	double stop_deadline = 0, next_watchdog = 0, watchdog_every = 0;
	int stopping = 0, hard_stop = 0, rc = 0, exhausted = 0;
	int notify_fd = opt.poll_only ? -1 : store_notify_fd(db);
	const char *wd = getenv("WATCHDOG_USEC");

	if (wd && *wd)
		watchdog_every = strtod(wd, NULL) / 2e6;
	sd_notify("READY=1\nSTATUS=waiting for jobs");
	for (;;) {
		now = now_mono();
		/* jobs of lost workers first, so a drain sees them */
		if (!stopping && now >= next_rescue) {
			int n = 0;
			if (!store_rescue_expired(db, &n) && n) {
				char b[16];
				xsnprintf(b, sizeof(b), "%d", n);
				logkv(LOG_WARN, "rescued jobs whose lease expired", "count", b,
				      (char *)NULL);
				next_claim = 0;
			}
			next_rescue = now + cli.conf.lease;
		}
		/* claim */
		int free_slots = nslots - nrunning;
		if (stopping && nbacklog)
			release_backlog();
		if ((rc = start_backlog()))
			break;
		if (now < db_retry_at)
			goto wait;
		if (!stopping && !exhausted && free_slots > 0 && !nbacklog && now >= next_claim) {
			int want = batch > free_slots ? batch : free_slots, got = 0;
			if (opt.max_jobs && stats.claimed + want > opt.max_jobs)
				want = (int)(opt.max_jobs - stats.claimed);
			if (want > 0) {
				if ((rc = claim_jobs(want, &got))) {
					if (rc != MD_EXIT_TEMPFAIL)
						break;
					db_outage(now);
					rc = 0;
					goto wait;
				}
				db_backoff = 0;
				if (got < want)
					next_claim = now + cli.conf.poll_interval;
				else
					next_claim = 0;
			}
			if (opt.once || (opt.max_jobs && stats.claimed >= opt.max_jobs))
				exhausted = 1;
			if (opt.drain && !nrunning && !nbacklog && got < want) {
				int64_t avail, running;
				double next_run;
				if ((rc = store_queue_counts(db, opt.queues, opt.nqueues,
							     &avail, &running, &next_run))) {
					if (rc != MD_EXIT_TEMPFAIL)
						break;
					db_outage(now);
					rc = 0;
					goto wait;
				}
				if (!avail && !next_run)
					break;
				if (!avail) {
					/* a failed job waits for its retry: drain
					 * finishes the work it began */
					struct timespec rt;
					clock_gettime(CLOCK_REALTIME, &rt);
					double wait = next_run - (rt.tv_sec + rt.tv_nsec / 1e9);
					next_claim = now + (wait > 0 ? wait : 0);
				} else {
					next_claim = 0;
				}
			}
		}
		if (!nrunning && !nbacklog && (exhausted || stopping))
			break;
		if (nrunning && now >= next_progress) {
			flush_progress();
			next_progress = now + PROGRESS_EVERY;
		}
		if (nrunning && now >= next_beat) {
			if (store_heartbeat(db, worker_id, cli.conf.lease))
				warning("cannot extend leases; will try again");
			next_beat = now + cli.conf.lease / 3;
		}
		if (watchdog_every > 0 && now >= next_watchdog) {
			sd_notify("WATCHDOG=1");
			next_watchdog = now + watchdog_every;
		}
		if (stopping && !hard_stop && now >= stop_deadline) {
			info("grace period over: stopping %d running job%s", nrunning,
			     nrunning == 1 ? "" : "s");
			stop_all();
			hard_stop = 1;
		}

wait:;
		/* notifications that arrived during other statements are
		 * already buffered: the socket will not wake us for them */
		if (notify_fd >= 0 && !stopping && store_consume_notify(db) > 0)
			next_claim = 0;
		struct pollfd *pf = xcalloc((size_t)nslots + 2, sizeof(*pf));
		int np = 0;
		pf[np].fd = sigpipe[0], pf[np].events = POLLIN, np++;
		if (notify_fd >= 0 && !stopping)
			pf[np].fd = notify_fd, pf[np].events = POLLIN, np++;
		for (int i = 0; i < nslots; i++)
			if (slots[i].used)
				pf[np].fd = slots[i].fd, pf[np].events = POLLIN, np++;
		double until = 1.0;
		if (!stopping && !exhausted && nslots - nrunning > 0) {
			double d = (next_claim > db_retry_at ? next_claim : db_retry_at) - now;
			if (d < until)
				until = d;
		}
		if (nrunning && next_beat - now < until)
			until = next_beat - now;
		if (until < 0)
			until = 0;
		int r = poll(pf, (nfds_t)np, (int)(until * 1000));
		if (r < 0 && errno != EINTR) {
			error_errno("poll");
			free(pf);
			rc = MD_EXIT_SOFTWARE;
			break;
		}
		for (int i = 0; r > 0 && i < np; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == sigpipe[0]) {
				unsigned char sig;
				while (read(sigpipe[0], &sig, 1) == 1) {
					if (sig == SIGHUP) {
						reload_config();
					} else if (!stopping) {
						stopping = 1;
						stop_deadline = now + (opt.grace >= 0 ? opt.grace
									   : cli.conf.grace);
						info("signal %d: no new jobs; %d running, grace %.0fs",
						     sig, nrunning, stop_deadline - now);
						sd_notify("STOPPING=1");
					} else if (sig == SIGINT && !hard_stop) {
						info("second interrupt: stopping now");
						stop_all();
						hard_stop = 1;
					}
				}
			} else if (pf[i].fd == notify_fd) {
				if (store_consume_notify(db) > 0)
					next_claim = 0;
			} else {
				for (int k = 0; k < nslots; k++) {
					struct slot *s = &slots[k];
					if (!s->used || s->fd != pf[i].fd)
						continue;
					char buf[4096];
					ssize_t n = read(s->fd, buf, sizeof(buf));
					if (n > 0) {
						sb_add(&s->buf, buf, (size_t)n);
						take_progress(s);
					} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
						finish_slot(s);
						next_claim = 0;
					}
					break;
				}
			}
		}
		free(pf);
		if (nrunning || !stopping) {
			char msg[64];
			xsnprintf(msg, sizeof(msg), "STATUS=%d running, %lld done", nrunning,
				 stats.succeeded + stats.dead);
			sd_notify(msg);
		}
	}
	if (flush_done() && !rc)
		rc = MD_EXIT_TEMPFAIL;
	release_backlog();
	if (nrunning) {
		/* leaving on an error: stop and release what still runs */
		stop_all();
		for (int i = 0; i < nslots; i++)
			if (slots[i].used)
				finish_slot(&slots[i]);
	}
	return rc;
}

static int print_summary(void)
{
	struct emit e;

	emit_begin(&e, cli.json);
	if (!cli.json) {
		char b[256];
		xsnprintf(b, sizeof(b), "claimed=%lld succeeded=%lld retried=%lld dead=%lld "
			 "released=%lld", stats.claimed, stats.succeeded, stats.retried,
			 stats.dead, stats.released);
		emit_str(&e, "summary", b);
	} else {
		emit_int(&e, "claimed", stats.claimed);
		emit_int(&e, "succeeded", stats.succeeded);
		emit_int(&e, "retried", stats.retried);
		emit_int(&e, "dead", stats.dead);
		emit_int(&e, "released", stats.released);
		emit_int(&e, "lost", stats.lost);
	}
	return emit_end(&e, stdout);
}

int main(int argc, char **argv)
{
	int i = cli_start(&cli, argc, argv, "md-work", usage, "j:Q:", longopts, on_opt, NULL);
	char host[256];
	int rc;

	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
	if (opt.jobs < 0)
		opt.jobs = cli.conf.worker_jobs;
	if (opt.jobs == 0) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		opt.jobs = (int)(cores / cli.conf.worker_threads);
		if (opt.jobs < 1)
			opt.jobs = 1;
	}
	if (!spawn_have("ffmpeg") || !spawn_have("ffprobe")) {
		error("ffmpeg is not installed");
		return cli_finish(&cli, MD_EXIT_UNAVAILABLE);
	}
	if (gethostname(host, sizeof(host)))
		xsnprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	xsnprintf(worker_id, sizeof(worker_id), "%s:%ld", host, (long)getpid());

	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	if (storage_open(&st, cli.conf.storage)) {
		store_close(db);
		return cli_finish(&cli, MD_EXIT_CONFIG);
	}
	if (cli.conf.sandbox)
		sandbox_abi();   /* once here, not in every runner: is there Landlock? */
	if (pipe2(sigpipe, O_CLOEXEC | O_NONBLOCK)) {
		error_errno("cannot make a pipe");
		return cli_finish(&cli, MD_EXIT_SOFTWARE);
	}
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	nslots = opt.jobs;
	batch = nslots;
	slots = xcalloc((size_t)nslots, sizeof(*slots));
	if (!opt.poll_only && (rc = store_listen(db, opt.queues, opt.nqueues)))
		goto out;
	logkv(LOG_INFO, "worker started", "worker", worker_id, "backend", store_backend(db),
	      (char *)NULL);
	rc = run();
	sd_notify("STOPPING=1");
	if (!rc && (opt.drain || opt.once || opt.max_jobs) && print_summary())
		rc = MD_EXIT_IOERR;
out:
	store_close(db);
	storage_close(&st);
	free(slots);
	free(backlog);
	free(opt.queues);
	return cli_finish(&cli, rc);
}
