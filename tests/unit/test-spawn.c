/*
 * test-spawn.c - spawn's start / poll / finish API, #included by
 * test-lib.c: a child watched in the caller's poll set, the function
 * variant, the one kill escalation, children that die with their parent.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>

static double spawn_test_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Drive sp from a poll loop of our own, as md-work does; the loops made. */
static int spawn_test_loop(struct spawn *sp)
{
	int loops = 0;

	for (;;) {
		struct pollfd pf[SPAWN_NFDS + 1];
		int n = spawn_pollfds(sp, pf), r;

		loops++;
		r = poll(pf, (nfds_t)n, spawn_due(sp));
		if (spawn_poll(sp, pf, r > 0 ? n : 0))
			return loops;
	}
}

static int spawn_test_fn(void *arg)
{
	const char *word = arg;
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	return write(1, word, strlen(word)) == (ssize_t)strlen(word) ? 7 : 1;
}

/* Ignores SIGTERM: only the SIGKILL of the escalation ends it. */
static int spawn_test_stubborn(void *arg)
{
	sigset_t none;

	signal(SIGTERM, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)!write(1, "up\n", 3);
	for (;;)
		pause();
	return 0;
}

/* Ends on SIGTERM by itself, saying so. */
static volatile sig_atomic_t spawn_test_term;
static void spawn_test_on_term(int sig)
{
	spawn_test_term = 1;
}

static int spawn_test_polite(void *arg)
{
	struct sigaction sa = { .sa_handler = spawn_test_on_term };
	sigset_t none;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	(void)!write(1, "up\n", 3);
	while (!spawn_test_term)
		pause();
	return write(1, "bye\n", 4) == 4 ? 0 : 1;
}

/* Start fn, wait for its "up", stop it; returns its outcome. */
static int spawn_test_stop(int (*fn)(void *), double grace, struct strbuf *out,
			   struct spawn_result *r, double *secs)
{
	struct spawn_opts o = { .stdin_fd = -1, .out = out, .kill_grace = grace };
	struct spawn sp;
	double t0;

	if (spawn_start_fn(&o, fn, NULL, &sp))
		return -2;
	while (!strstr(out->buf, "up")) {
		struct pollfd pf[SPAWN_NFDS];
		int n = spawn_pollfds(&sp, pf);
		if (poll(pf, (nfds_t)n, spawn_due(&sp)) > 0 && spawn_poll(&sp, pf, n))
			break;
	}
	t0 = spawn_test_now();
	spawn_stop(&sp);
	int rc = spawn_finish(&sp, r);
	*secs = spawn_test_now() - t0;
	return rc;
}

/*
 * Is pid gone within secs?  It need not be our child: its pidfd is
 * readable once it has exited.  One still there after secs is killed, so
 * that a failing test leaves no orphan behind.
 */
static int spawn_test_gone(pid_t pid, double secs)
{
	struct pollfd pf = { .fd = pidfd_open(pid, 0), .events = POLLIN };
	int r;

	if (pf.fd < 0)
		return errno == ESRCH;
	do
		r = poll(&pf, 1, (int)(secs * 1000));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		kill(pid, SIGKILL);
	close(pf.fd);
	return r > 0;
}

/*
 * A job runner in small: starts "sleep 30" through spawn, tells "RUNNER
 * SLEEP" (their pids) on the pipe *arg, and waits for the sleep.
 */
static int spawn_test_runner(void *arg)
{
	char *argv[] = { "sleep", "30", NULL };
	struct spawn_opts o = { .argv = argv, .stdin_fd = -1 };
	struct spawn_result r;
	struct spawn sp;
	char line[64];
	sigset_t none;
	int n;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (spawn_start(&o, &sp))
		return 1;
	n = snprintf(line, sizeof(line), "%ld %ld\n", (long)getpid(), (long)sp.pid);
	if (n < 0 || (size_t)n >= sizeof(line) || write(*(int *)arg, line, (size_t)n) != n)
		return 1;
	return spawn_finish(&sp, &r) ? 1 : 0;
}

/* Read "RUNNER SLEEP" from fd into pids; 0 or -1. */
static int spawn_test_pids(int fd, pid_t pids[2])
{
	char line[64];
	ssize_t n;
	long a, b;

	do
		n = read(fd, line, sizeof(line) - 1);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	if (sscanf(line, "%ld %ld", &a, &b) != 2)
		return -1;
	pids[0] = (pid_t)a;
	pids[1] = (pid_t)b;
	return 0;
}

/* kill -9 of the process that started a runner: runner and sleep die. */
static void spawn_test_kill_worker(void)
{
	struct spawn_opts o = { .stdin_fd = -1, .kill_grace = -1 };
	int p[2], st;
	pid_t worker, pids[2] = { -1, -1 };

	if (pipe(p)) {
		ok(0, "pipe");
		return;
	}
	fflush(stdout);         /* not twice, from the worker too */
	worker = fork();
	if (!worker) {
		struct spawn sp;
		close(p[0]);
		if (spawn_start_fn(&o, spawn_test_runner, &p[1], &sp))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	ok(worker > 0 && !spawn_test_pids(p[0], pids), "a worker starts a runner, the runner a sleep");
	close(p[0]);
	kill(worker, SIGKILL);
	waitpid(worker, &st, 0);
	ok(pids[0] > 0 && spawn_test_gone(pids[0], 5), "kill -9 of the worker kills its runner");
	ok(pids[1] > 0 && spawn_test_gone(pids[1], 5), "and so the runner's own child");
}

/* kill -9 of the runner alone: its sleep dies too. */
static void spawn_test_kill_runner(void)
{
	struct spawn_opts o = { .stdin_fd = -1, .kill_grace = -1 };
	struct spawn_result r;
	struct spawn sp;
	int p[2];
	pid_t pids[2] = { -1, -1 };

	if (pipe(p)) {
		ok(0, "pipe");
		return;
	}
	if (spawn_start_fn(&o, spawn_test_runner, &p[1], &sp)) {
		ok(0, "spawn_start_fn starts a runner");
		close(p[0]);
		close(p[1]);
		return;
	}
	close(p[1]);
	ok(!spawn_test_pids(p[0], pids), "a runner starts a sleep");
	close(p[0]);
	kill(sp.pid, SIGKILL);
	ok(spawn_finish(&sp, &r) == -1 && WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL,
	   "the runner is killed");
	ok(pids[1] > 0 && spawn_test_gone(pids[1], 5), "its child dies with it");
}

/*
 * The race at fork, made certain: a child whose parent died before it
 * could ask for the signal learns so and stands down.  T forks P, P forks
 * C and exits; only once T has reaped P does C tie itself to P.
 */
static void spawn_test_fork_race(void)
{
	int go[2], res[2], st, got[2] = { 0, 0 };
	pid_t p, c;

	fflush(stdout);
	c = fork();
	if (!c)
		_exit(spawn_tie_to_parent(getppid()) ? 1 : 0);
	ok(c > 0 && waitpid(c, &st, 0) == c && WIFEXITED(st) && !WEXITSTATUS(st),
	   "a child whose parent lives ties itself to it");
	if (pipe(go) || pipe(res)) {
		ok(0, "pipe");
		return;
	}
	p = fork();
	if (!p) {
		pid_t self = getpid();
		if (fork() == 0) {
			char b;
			close(go[1]);
			if (read(go[0], &b, 1) == 1) {
				int out[2] = { spawn_tie_to_parent(self), errno };
				(void)!write(res[1], out, sizeof(out));
			}
			_exit(0);
		}
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	waitpid(p, &st, 0);
	ok(write(go[1], "x", 1) == 1 && read(res[0], got, sizeof(got)) == (ssize_t)sizeof(got),
	   "the grandchild runs on after its parent is reaped");
	ok(got[0] == -1 && got[1] == ESRCH, "and finds its parent gone: spawn's child would _exit");
	close(go[1]);
	close(res[0]);
}

static void test_spawn_orphans(void)
{
	spawn_test_kill_worker();
	spawn_test_kill_runner();
	spawn_test_fork_race();
}

static void test_spawn_api(void)
{
	struct strbuf out = STRBUF_INIT;
	struct spawn_result r;
	struct spawn sp;
	char *two_argv[] = { "sh", "-c", "echo one; echo two >&2; exec sleep 0.3", NULL };
	char *none_argv[] = { "md-no-such-program", NULL };
	struct spawn_opts o = { .argv = two_argv, .stdin_fd = -1, .out = &out };
	double t0, secs;
	int loops;

	ok(!spawn_start(&o, &sp) && sp.pid > 0, "spawn_start starts a child and tells its pid");
	loops = spawn_test_loop(&sp);
	ok(spawn_finish(&sp, &r) == 0 && r.ran && WIFEXITED(r.status), "spawn_finish collects its status");
	is_str(out.buf, "one\n", "its stdout was read in the caller's poll loop");
	ok(strstr(r.tail, "two") != NULL, "and its stderr tail");
	/* a pipe event or two and the exit: no wake-ups on a clock */
	ok(loops <= 6, "the caller's loop woke only for the child's events, not on a timer");
	if (loops > 6)
		printf("#   loops: %d\n", loops);

	sb_reset(&out);
	o.argv = none_argv;
	ok(spawn_start(&o, &sp) == -1 && sp.res.exec_errno == ENOENT,
	   "a program not on PATH is not started");

	sb_reset(&out);
	struct spawn_opts fo = { .stdin_fd = -1, .out = &out };
	ok(!spawn_start_fn(&fo, spawn_test_fn, "from a function\n", &sp),
	   "spawn_start_fn runs a function in a child");
	spawn_test_loop(&sp);
	ok(spawn_finish(&sp, &r) == -1 && r.ran && WIFEXITED(r.status) && WEXITSTATUS(r.status) == 7,
	   "its return value is the child's exit status");
	is_str(out.buf, "from a function\n", "what it writes to stdout is captured");

	sb_reset(&out);
	ok(spawn_test_stop(spawn_test_polite, 0, &out, &r, &secs) == -1 && r.cancelled &&
	   WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && strstr(out.buf, "bye"),
	   "spawn_stop sends SIGTERM first: a child that heeds it ends on its own");
	ok(secs < 1.5, "without waiting for the grace");
	sb_reset(&out);
	ok(spawn_test_stop(spawn_test_stubborn, 0.3, &out, &r, &secs) == -1 &&
	   WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGKILL,
	   "a child that ignores SIGTERM gets SIGKILL after kill_grace");
	ok(secs >= 0.29 && secs < 2, "kill_grace is honoured (0.3 s, not the 2 s default)");

	/* a timeout ends a blocking run promptly, reaped through the pidfd */
	char *slow_argv[] = { "sleep", "30", NULL };
	struct spawn_opts so = { .argv = slow_argv, .stdin_fd = -1, .timeout = 0.2 };
	t0 = spawn_test_now();
	ok(spawn_run(&so, &r) == -1 && r.timed_out && WIFSIGNALED(r.status) &&
	   spawn_test_now() - t0 < 1, "spawn_run stops a child at its timeout, at once");
	sb_release(&out);
	test_spawn_orphans();
}
