/*
 * test-spawn.c - spawn's start / poll / finish API, #included by
 * test-lib.c: a child watched in the caller's poll set, the function
 * variant, the one kill escalation.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
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
}
