#include "spawn.h"
#include "sandbox.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static void __attribute__((noreturn))
child(const struct spawn_opts *o, const char *prog, char *const *envp, int ruleset,
      int in, int out, int err, int report)
{
	sigset_t none;
	int e;

	setpgid(0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
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
	if (ruleset >= 0) {
		if (sandbox_enter(ruleset))
			goto fail;
	} else if (o->confine && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		goto fail;
	}
	execve(prog, o->argv, envp);
fail:
	e = errno;
	(void)!write(report, &e, sizeof(e));
	_exit(127);
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

int spawn_run(const struct spawn_opts *o, struct spawn_result *res)
{
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, rep[2] = { -1, -1 };
	int devnull = -1, in, status = 0, e;
	size_t tlen = 0, out_max = o->out_max ? o->out_max : (16u << 20);
	double deadline = o->timeout > 0 ? now_mono() + o->timeout : 0, kill_at = 0;
	int killed = 0, ruleset = -1;
	off_t last_size = 0;
	double last_change = 0;
	char *prog = NULL, **envp = NULL;
	struct rusage ru;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	prog = find_prog(o->argv[0]);
	if (!prog) {
		res->exec_errno = errno;
		return -1;
	}
	if (o->confine && sandbox_abi() > 0) {
		ruleset = sandbox_ruleset(prog, o->read, o->write);
		if (ruleset < 0) {
			res->exec_errno = errno;
			free(prog);
			return -1;
		}
	}
	envp = o->keep_env ? NULL : env_minimal(o);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull < 0 || pipe2(errp, O_CLOEXEC) || pipe2(rep, O_CLOEXEC) ||
	    (o->out && pipe2(outp, O_CLOEXEC))) {
		res->exec_errno = errno;
		goto fail_fds;
	}
	in = o->stdin_fd >= 0 ? o->stdin_fd : devnull;
	pid = fork();
	if (pid < 0) {
		res->exec_errno = errno;
		goto fail_fds;
	}
	if (!pid)
		child(o, prog, envp ? envp : environ, ruleset, in, o->out ? outp[1] : devnull,
		      errp[1], rep[1]);
	setpgid(pid, pid);   /* both sides, so a kill cannot race the child */
	free(prog);
	env_free(envp);
	prog = NULL;
	envp = NULL;
	if (ruleset >= 0)
		close(ruleset);
	ruleset = -1;
	close(errp[1]);
	close(rep[1]);
	if (o->out)
		close(outp[1]);
	if (read(rep[0], &e, sizeof(e)) == (ssize_t)sizeof(e)) {
		res->exec_errno = e;
	} else {
		res->ran = 1;
	}
	close(rep[0]);

	/* drain stdout/stderr until both close, watching the clock */
	struct pollfd pfd[2];
	int nfd;
	for (;;) {
		char buf[8192];
		nfd = 0;
		if (errp[0] >= 0)
			pfd[nfd].fd = errp[0], pfd[nfd].events = POLLIN, nfd++;
		if (o->out && outp[0] >= 0)
			pfd[nfd].fd = outp[0], pfd[nfd].events = POLLIN, nfd++;
		if (!nfd)
			break;
		int wait_ms = 200;
		double t = now_mono();
		if (o->progress_path && (o->stall_timeout > 0 || o->on_progress) && !killed) {
			struct stat sb;
			off_t size = stat(o->progress_path, &sb) ? 0 : sb.st_size;
			if (size != last_size || !last_change) {
				if (o->on_progress && size > last_size)
					report_progress(o, size);
				last_size = size;
				last_change = t;
			} else if (o->stall_timeout > 0 && t - last_change >= o->stall_timeout) {
				res->stalled = 1;
				kill(-pid, SIGTERM);
				killed = 1;
				kill_at = t + 2;
			}
		}
		if (!killed && ((deadline && t >= deadline) || (o->cancel && *o->cancel))) {
			if (deadline && t >= deadline)
				res->timed_out = 1;
			else
				res->cancelled = 1;
			kill(-pid, SIGTERM);
			killed = 1;
			kill_at = t + 2;
		} else if (killed == 1 && t >= kill_at) {
			kill(-pid, SIGKILL);
			killed = 2;
		}
		int r = poll(pfd, nfd, wait_ms);
		if (r < 0 && errno != EINTR)
			break;
		for (int i = 0; i < nfd && r > 0; i++) {
			if (!pfd[i].revents)
				continue;
			ssize_t n = read(pfd[i].fd, buf, sizeof(buf));
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				if (pfd[i].fd == errp[0])
					errp[0] = -1;
				else
					outp[0] = -1;
				continue;
			}
			if (pfd[i].fd == errp[0]) {
				keep_tail(res->tail, &tlen, buf, (size_t)n);
				/* the tail holds this chunk and what came just
				 * before: a string cut in two is found too */
				for (int k = 0; !res->seen && o->watch && o->watch[k]; k++)
					if (strstr(res->tail, o->watch[k]))
						res->seen = o->watch[k];
			} else if (o->out->len + (size_t)n <= out_max) {
				sb_add(o->out, buf, (size_t)n);
			} else {
				res->out_truncated = 1;
			}
		}
	}
	/* what the child wrote last, even between two looks */
	if (o->progress_path && o->on_progress && !killed) {
		struct stat sb;
		if (!stat(o->progress_path, &sb) && sb.st_size > last_size)
			report_progress(o, sb.st_size);
	}
		/* pipes closed: reap, still honouring the deadline */
	memset(&ru, 0, sizeof(ru));
	for (;;) {
		pid_t w = wait4(pid, &status, WNOHANG, &ru);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		double t = now_mono();
		if (!killed && ((deadline && t >= deadline) || (o->cancel && *o->cancel))) {
			if (deadline && t >= deadline)
				res->timed_out = 1;
			else
				res->cancelled = 1;
			kill(-pid, SIGTERM);
			killed = 1;
			kill_at = t + 2;
		} else if (killed == 1 && t >= kill_at) {
			kill(-pid, SIGKILL);
			killed = 2;
		}
		poll(NULL, 0, 20);
	}
	if (killed)
		kill(-pid, SIGKILL);   /* leftovers of the group */
	res->status = status;
	res->maxrss_kb = ru.ru_maxrss;
	close(devnull);
	if (!res->ran || res->timed_out || res->cancelled || res->stalled)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;

fail_fds:
	e = errno;
	free(prog);
	env_free(envp);
	if (ruleset >= 0)
		close(ruleset);
	if (devnull >= 0)
		close(devnull);
	for (int i = 0; i < 2; i++) {
		if (outp[i] >= 0) close(outp[i]);
		if (errp[i] >= 0) close(errp[i]);
		if (rep[i] >= 0) close(rep[i]);
	}
	errno = e;
	return -1;
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
