#include "spawn.h"
#include "clock.h"
#include "sandbox.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void child_limit(int res, uint64_t v)
{
	struct rlimit rl = { (rlim_t)v, (rlim_t)v };
	if (v)
		setrlimit(res, &rl);
}

/*
 * The program file execve() is given: prog itself when it holds a slash,
 * else the first executable PATH entry.  Returns a new string, or NULL with
 * errno set (ENOENT, or EACCES when only unexecutable ones were found).
 */
static char *find_prog(const char *prog)
{
	const char *path;
	int e = ENOENT;

	if (!*prog) {
		errno = ENOENT;
		return NULL;
	}
	if (strchr(prog, '/'))
		return xstrdup(prog);
	path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		char *p = xstrfmt("%.*s/%s", (int)n, n ? path : ".", prog);
		struct stat sb;
		if (!access(p, X_OK) && !stat(p, &sb) && S_ISREG(sb.st_mode))
			return p;
		if (errno == EACCES)
			e = EACCES;
		free(p);
		if (!end)
			break;
		path = end + 1;
	}
	errno = e;
	return NULL;
}

/* The minimal environment of a child: see spawn.h.  Free with env_free. */
static char **env_minimal(const struct spawn_opts *o)
{
	const char *path = getenv("PATH");
	char **env = xcalloc(5, sizeof(*env));
	int n = 0;

	env[n++] = xstrfmt("PATH=%s", path && *path ? path : "/usr/bin:/bin");
	env[n++] = xstrdup("LC_ALL=C");
	if (o->cwd) {
		env[n++] = xstrfmt("HOME=%s", o->cwd);
		env[n++] = xstrfmt("TMPDIR=%s", o->cwd);
	}
	return env;
}

static void env_free(char **env)
{
	for (char **e = env; e && *e; e++)
		free(*e);
	free(env);
}

/* Every signal back to its default action, as a new program expects. */
static void signals_default(void)
{
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
}

int spawn_tie_to_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0))
		return -1;
	/* the parent may have died before the prctl: then no signal comes,
	 * and this child has been handed to init or a subreaper */
	if (getppid() != parent) {
		errno = ESRCH;
		return -1;
	}
	return 0;
}

/* What spawn_start prepares for an exec child before the fork. */
struct launch {
	char *prog;             /* the file to execve() */
	char **envp;            /* NULL: the caller's environment */
	int ruleset;            /* Landlock ruleset, -1: none */
	int (*fn)(void *);      /* the function variant: run this instead */
	void *arg;
};

static void __attribute__((noreturn))
child_exec(const struct spawn_opts *o, const struct launch *l, pid_t parent, int in, int out,
	   int err, int report)
{
	sigset_t none;
	int e;

	if (spawn_tie_to_parent(parent))
		_exit(127);     /* no one is left to read a report */
	setpgid(0, 0);
	signals_default();
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		goto fail;
	if (o->cwd && chdir(o->cwd))
		goto fail;
	if (o->nice)
		errno = 0, (void)!nice(o->nice);
	child_limit(RLIMIT_AS, o->rlimit_as);
	child_limit(RLIMIT_FSIZE, o->rlimit_fsize);
	if (o->rlimit_cpu > 0)
		child_limit(RLIMIT_CPU, (uint64_t)(o->rlimit_cpu + 0.999));
	if (l->ruleset >= 0) {
		if (sandbox_enter(l->ruleset))
			goto fail;
	} else if (o->confine && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		goto fail;
	}
	execve(l->prog, o->argv, l->envp ? l->envp : environ);
fail:
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
}

/* The function variant's child: signals still blocked, see spawn.h. */
static void __attribute__((noreturn))
child_fn(const struct launch *l, pid_t parent, int in, int out)
{
	if (spawn_tie_to_parent(parent))
		_exit(127);
	setpgid(0, 0);
	signals_default();
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0)
		_exit(127);
	_exit(l->fn(l->arg));
}

static void keep_tail(char *tail, size_t *tlen, const char *buf, size_t n)
{
	size_t cap = SPAWN_TAIL - 1;

	if (n >= cap) {
		memcpy(tail, buf + n - cap, cap);
		*tlen = cap;
	} else {
		if (*tlen + n > cap) {
			size_t drop = *tlen + n - cap;
			memmove(tail, tail + drop, *tlen - drop);
			*tlen -= drop;
		}
		memcpy(tail + *tlen, buf, n);
		*tlen += n;
	}
	tail[*tlen] = '\0';
}

/* The last "out_time_us=N" of the progress file's tail, to on_progress. */
static void report_progress(const struct spawn_opts *o, off_t size)
{
	char buf[2048];
	off_t from = size > (off_t)sizeof(buf) - 1 ? size - (off_t)sizeof(buf) + 1 : 0;
	int fd = open(o->progress_path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	n = pread(fd, buf, sizeof(buf) - 1, from);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *p = buf + n; p > buf; p--) {
		if (!strncmp(p - 1, "\nout_time_us=", 13)) {
			char *end;
			long long us = strtoll(p + 12, &end, 10);
			if (end != p + 12 && us >= 0)
				o->on_progress(o->progress_arg, (double)us / 1e6);
			return;
		}
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int spawn_done(const struct spawn *sp)
{
	return sp->exited && sp->out_fd < 0 && sp->err_fd < 0;
}

/* A failure before the fork: nothing runs, nothing to finish. */
static int start_failed(struct spawn *sp, int e)
{
	sp->res.exec_errno = e;
	sp->exited = 1;
	errno = e;
	return -1;
}

static void spawn_init(struct spawn *sp, const struct spawn_opts *o)
{
	memset(sp, 0, sizeof(*sp));
	sp->o = *o;
	sp->pid = -1;
	sp->out_fd = sp->err_fd = sp->pidfd = -1;
	if (o->timeout > 0)
		sp->deadline = mono_now() + o->timeout;
}

/*
 * Fork the child of l, blocking every signal across the fork so that none
 * reaches the child while it still has the caller's handlers; the child
 * first ties itself to this process (spawn_tie_to_parent).  Returns the
 * pid, or -1 with errno set.
 */
static pid_t fork_child(const struct spawn_opts *o, const struct launch *l, int in, int out,
			int err, int report)
{
	sigset_t all, old;
	pid_t parent = getpid(), pid;

	fflush(stdout);
	fflush(stderr);
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	pid = fork();
	if (!pid && l->fn)
		child_fn(l, parent, in, out);
	if (!pid)
		child_exec(o, l, parent, in, out, err, report);
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid > 0)
		setpgid(pid, pid);   /* both sides, so a kill cannot race the child */
	return pid;
}

/* The exec failure the child reported, or nothing: it ran. */
static void read_report(struct spawn *sp, int fd)
{
	int e;

	if (read(fd, &e, sizeof(e)) == (ssize_t)sizeof(e))
		sp->res.exec_errno = e;
	else
		sp->res.ran = 1;
}

/* Pipes, fork, and the parent's side of them: see spawn_start. */
static int launch(struct spawn *sp, const struct launch *l)
{
	const struct spawn_opts *o = &sp->o;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), e = 0;

	if (devnull < 0 || (o->out && pipe2(outp, O_CLOEXEC)) ||
	    (!l->fn && (pipe2(errp, O_CLOEXEC) || pipe2(rep, O_CLOEXEC))))
		e = errno;
	if (!e && (sp->pid = fork_child(o, l, o->stdin_fd >= 0 ? o->stdin_fd : devnull,
					o->out ? outp[1] : devnull, errp[1], rep[1])) < 0)
		e = errno;
	close_fd(&devnull);
	close_fd(&outp[1]);
	close_fd(&errp[1]);
	close_fd(&rep[1]);
	if (e) {
		close_fd(&outp[0]);
		close_fd(&errp[0]);
		close_fd(&rep[0]);
		return start_failed(sp, e);
	}
	sp->out_fd = outp[0];
	sp->err_fd = errp[0];
	if (l->fn)
		sp->res.ran = 1;
	else
		read_report(sp, rep[0]);
	close_fd(&rep[0]);
	/* a kernel before 5.3 has no pidfd: spawn_due then asks every 50 ms */
	sp->pidfd = pidfd_open(sp->pid, 0);
	return 0;
}

int spawn_start(const struct spawn_opts *o, struct spawn *sp)
{
	struct launch l = { .ruleset = -1 };
	int rc, e;

	spawn_init(sp, o);
	l.prog = find_prog(o->argv[0]);
	if (!l.prog)
		return start_failed(sp, errno);
	if (o->confine && sandbox_abi() > 0) {
		l.ruleset = sandbox_ruleset(l.prog, o->read, o->write);
		if (l.ruleset < 0) {
			e = errno;
			free(l.prog);
			return start_failed(sp, e);
		}
	}
	l.envp = o->keep_env ? NULL : env_minimal(o);
	rc = launch(sp, &l);
	e = errno;
	free(l.prog);
	env_free(l.envp);
	if (l.ruleset >= 0)
		close(l.ruleset);
	errno = e;
	return rc;
}

int spawn_start_fn(const struct spawn_opts *o, int (*fn)(void *arg), void *arg,
		   struct spawn *sp)
{
	struct launch l = { .ruleset = -1, .fn = fn, .arg = arg };

	spawn_init(sp, o);
	return launch(sp, &l);
}

int spawn_pollfds(const struct spawn *sp, struct pollfd *pf)
{
	int n = 0;

	if (sp->out_fd >= 0)
		pf[n++] = (struct pollfd){ .fd = sp->out_fd, .events = POLLIN };
	if (sp->err_fd >= 0)
		pf[n++] = (struct pollfd){ .fd = sp->err_fd, .events = POLLIN };
	if (sp->pidfd >= 0 && !sp->exited)
		pf[n++] = (struct pollfd){ .fd = sp->pidfd, .events = POLLIN };
	return n;
}

/* Does the child's progress file need a look on a timer? */
static int watches_progress(const struct spawn *sp)
{
	const struct spawn_opts *o = &sp->o;

	return o->progress_path && (o->stall_timeout > 0 || o->on_progress) && !sp->killed;
}

#define LOOK_EVERY 0.2          /* seconds between looks at progress and cancel */
#define REAP_EVERY 0.05         /* ... at the child, without a pidfd */

/* until = the sooner of until and d; have: whether until holds one yet */
static void sooner(double *until, int *have, double d)
{
	if (!*have || d < *until)
		*until = d;
	*have = 1;
}

int spawn_due(const struct spawn *sp)
{
	double t = mono_now(), until = 0;
	int have = 0;

	if (spawn_done(sp))
		return -1;
	if (!sp->killed && sp->deadline)
		sooner(&until, &have, sp->deadline - t);
	if (watches_progress(sp) || (!sp->killed && sp->o.cancel))
		sooner(&until, &have, LOOK_EVERY);
	if (sp->killed == 1 && sp->kill_at)
		sooner(&until, &have, sp->kill_at - t);
	if (sp->pidfd < 0 && !sp->exited)
		sooner(&until, &have, REAP_EVERY);
	if (!have)
		return -1;
	return until > 0 ? (int)ceil(until * 1000) : 0;
}

/* SIGTERM to the group now, SIGKILL after the grace: the one escalation. */
static void stop_group(struct spawn *sp, double t)
{
	double grace = sp->o.kill_grace ? sp->o.kill_grace : 2;

	kill(-sp->pid, SIGTERM);
	sp->killed = 1;
	sp->kill_at = grace > 0 ? t + grace : 0;
}

void spawn_stop(struct spawn *sp)
{
	if (sp->killed || spawn_done(sp))
		return;
	sp->res.cancelled = 1;
	stop_group(sp, mono_now());
}

/* The progress file: report its growth, stop the child when it stalls. */
static void look_at_progress(struct spawn *sp, double t)
{
	const struct spawn_opts *o = &sp->o;
	struct stat sb;
	off_t size = stat(o->progress_path, &sb) ? 0 : sb.st_size;

	if (size != sp->last_size || !sp->last_change) {
		if (o->on_progress && size > sp->last_size)
			report_progress(o, size);
		sp->last_size = size;
		sp->last_change = t;
	} else if (o->stall_timeout > 0 && t - sp->last_change >= o->stall_timeout) {
		sp->res.stalled = 1;
		stop_group(sp, t);
	}
}

/* The child's clocks: progress, deadline, cancel, the SIGKILL of a stop. */
static void tick(struct spawn *sp)
{
	double t = mono_now();

	if (watches_progress(sp))
		look_at_progress(sp, t);
	if (!sp->killed && sp->deadline && t >= sp->deadline) {
		sp->res.timed_out = 1;
		stop_group(sp, t);
	} else if (!sp->killed && sp->o.cancel && *sp->o.cancel) {
		sp->res.cancelled = 1;
		stop_group(sp, t);
	} else if (sp->killed == 1 && sp->kill_at && t >= sp->kill_at) {
		kill(-sp->pid, SIGKILL);
		sp->killed = 2;
	}
}

/* Reap the child if it has exited (flags: WNOHANG or 0). */
static void reap(struct spawn *sp, int flags)
{
	struct rusage ru;
	int status = 0;
	pid_t w;

	/* leftovers of a stopped group, while the zombie keeps its id ours */
	if (sp->killed)
		kill(-sp->pid, SIGKILL);
	memset(&ru, 0, sizeof(ru));
	do
		w = wait4(sp->pid, &status, flags, &ru);
	while (w < 0 && errno == EINTR);
	if (!w)
		return;
	sp->exited = 1;
	sp->res.status = w == sp->pid ? status : 0;
	sp->res.maxrss_kb = ru.ru_maxrss;
	close_fd(&sp->pidfd);
}

/* One read from one of the child's pipes; EOF closes it. */
static void drain(struct spawn *sp, int fd)
{
	const struct spawn_opts *o = &sp->o;
	size_t out_max = o->out_max ? o->out_max : (16u << 20);
	char buf[8192];
	ssize_t n = read(fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close_fd(fd == sp->err_fd ? &sp->err_fd : &sp->out_fd);
		return;
	}
	if (fd == sp->err_fd) {
		keep_tail(sp->res.tail, &sp->tlen, buf, (size_t)n);
		/* the tail holds this chunk and what came just before: a
		 * string cut in two is found too */
		for (int k = 0; !sp->res.seen && o->watch && o->watch[k]; k++)
			if (strstr(sp->res.tail, o->watch[k]))
				sp->res.seen = o->watch[k];
	} else if (o->out->len + (size_t)n <= out_max) {
		sb_add(o->out, buf, (size_t)n);
	} else {
		sp->res.out_truncated = 1;
	}
}

int spawn_poll(struct spawn *sp, const struct pollfd *pf, int n)
{
	if (spawn_done(sp))
		return 1;
	for (int i = 0; i < n; i++) {
		if (!pf[i].revents)
			continue;
		if (pf[i].fd == sp->pidfd)
			reap(sp, WNOHANG);
		else if (pf[i].fd == sp->out_fd || pf[i].fd == sp->err_fd)
			drain(sp, pf[i].fd);
	}
	if (!sp->exited && sp->pidfd < 0)
		reap(sp, WNOHANG);
	if (!spawn_done(sp))
		tick(sp);
	return spawn_done(sp);
}

static int spawn_outcome(struct spawn *sp, struct spawn_result *res)
{
	const struct spawn_result *r = &sp->res;

	*res = *r;
	if (!r->ran || r->timed_out || r->cancelled || r->stalled)
		return -1;
	return WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0 ? 0 : -1;
}

int spawn_finish(struct spawn *sp, struct spawn_result *res)
{
	const struct spawn_opts *o = &sp->o;
	struct pollfd pf[SPAWN_NFDS];

	while (!spawn_done(sp)) {
		int n = spawn_pollfds(sp, pf), r = poll(pf, (nfds_t)n, spawn_due(sp));
		if (r < 0 && errno != EINTR) {
			/* cannot watch it any more: wait for it plainly */
			close_fd(&sp->out_fd);
			close_fd(&sp->err_fd);
			if (!sp->exited)
				reap(sp, 0);
			break;
		}
		spawn_poll(sp, pf, r > 0 ? n : 0);
	}
	close_fd(&sp->pidfd);
	/* what the child wrote last, even between two looks */
	if (o->progress_path && o->on_progress && !sp->killed && sp->res.ran) {
		struct stat sb;
		if (!stat(o->progress_path, &sb) && sb.st_size > sp->last_size)
			report_progress(o, sb.st_size);
	}
	return spawn_outcome(sp, res);
}

int spawn_run(const struct spawn_opts *o, struct spawn_result *res)
{
	struct spawn sp;

	if (spawn_start(o, &sp)) {
		int e = errno;
		*res = sp.res;
		errno = e;
		return -1;
	}
	return spawn_finish(&sp, res);
}

void spawn_describe(const struct spawn_result *res, struct strbuf *sb)
{
	if (res->exec_errno)
		sb_addf(sb, "cannot run: %s", strerror(res->exec_errno));
	else if (res->timed_out)
		sb_adds(sb, "timed out");
	else if (res->stalled)
		sb_adds(sb, "stalled: no progress, stopped");
	else if (res->cancelled)
		sb_adds(sb, "cancelled");
	else if (WIFSIGNALED(res->status))
		sb_addf(sb, "killed by signal %d", WTERMSIG(res->status));
	else
		sb_addf(sb, "exited with %d", WEXITSTATUS(res->status));
	/* the last non-empty lines of stderr, on one line */
	const char *t = res->tail;
	size_t n = strlen(t);
	while (n && (t[n - 1] == '\n' || t[n - 1] == ' ' || t[n - 1] == '\r'))
		n--;
	if (!n)
		return;
	size_t start = n > 600 ? n - 600 : 0;
	sb_adds(sb, ": ");
	for (size_t i = start; i < n; i++) {
		char c = t[i];
		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if ((unsigned char)c >= 0x20)
			sb_addch(sb, c);
	}
}

int spawn_have(const char *prog)
{
	char *p = find_prog(prog);
	int ok = p != NULL;

	free(p);
	return ok;
}
