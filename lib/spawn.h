/*
 * spawn.h - the one way memedroid runs another program (ffmpeg, ffprobe,
 * hooks) or a function of its own in a child (md-work's job runners).
 *
 * A child gets an argv array passed to execve(): never a shell.  argv[0]
 * is looked up on the caller's PATH before the fork.  The child runs in
 * its own process group with stdin from /dev/null (or a given fd), stdout
 * discarded or captured, stderr captured (its tail is kept for error
 * messages), under a wall-clock timeout, resource limits and nice.
 *
 * Environment: a child gets a minimal one, not the caller's: PATH (the
 * caller's, or /usr/bin:/bin), LC_ALL=C, and HOME and TMPDIR set to cwd
 * when one is given; nothing else, so no database password (PGPASSWORD,
 * MD_DB), cloud key (AWS_*) or other secret of the caller reaches it.
 * keep_env passes the caller's whole environment instead: only for a
 * command the administrator wrote for that purpose (md-finalize --exec),
 * never for a job command.
 *
 * Confinement: with confine set, the child gets no new privileges
 * (PR_SET_NO_NEW_PRIVS) and, where the kernel has Landlock, sees only the
 * system directories, its program, the read paths and the write
 * directories (see sandbox.h).  A kernel without Landlock runs it
 * unconfined (one log line says so); any other failure to confine fails
 * the run, never runs it unconfined.  A failed exec is reported through a
 * close-on-exec pipe, so "ffmpeg is not installed" is told apart from
 * "ffmpeg failed".
 *
 * Stopping: on timeout, cancel, spawn_stop(), or when a progress file
 * given by the caller (ffmpeg's -progress output) stops growing for
 * stall_timeout, the whole group gets SIGTERM, then SIGKILL kill_grace
 * later (two seconds unless told).  That escalation is written once, here.
 *
 * Dying with the caller: every child asks the kernel for SIGKILL when the
 * process that started it dies (PR_SET_PDEATHSIG), first thing after the
 * fork, and exits at once if that process is already gone.  So a kill -9
 * of md-work takes its job runners with it, a runner's death its ffmpeg
 * or ffprobe, md-ingest's its ffprobe and md-finalize's its --exec hook:
 * nothing a dead process started runs on.  Three limits, all the
 * kernel's: the signal follows the *thread* that forked, so spawn only
 * from the main thread (memedroid has no other); the kernel clears the
 * request when the child execs a set-user-ID, set-group-ID or
 * file-capability program (a confined child cannot: it has no_new_privs);
 * and only what spawn starts is tied, not the children of a child (a step
 * written as "sh -c 'ffmpeg ...; ...'" leaves its ffmpeg untied: exec
 * instead).  Neither the own process group, the rlimits nor Landlock
 * changes any of this: the signal is the kernel's, sent by the dying
 * parent whatever the child's confinement.
 *
 * Reaping: the child is watched through a pidfd (pidfd_open(2)) polled
 * beside its pipes, so nothing wakes up on a timer to ask whether it has
 * exited; its group's leftovers are killed before it is reaped, while its
 * process group id cannot yet be reused.
 *
 * Calls, blocking:
 *
 *   spawn_run(&o, &res)          start, wait, finish in one call
 *
 * or without blocking, the child's descriptors in the caller's poll():
 *
 *   spawn_start(&o, &sp)         (or spawn_start_fn: a function, not a program)
 *   loop:
 *       n += spawn_pollfds(&sp, pf + n)      at most SPAWN_NFDS entries
 *       timeout = min(..., spawn_due(&sp))
 *       poll(pf, n, timeout)
 *       if (spawn_poll(&sp, pf + first, count)) -> the child is gone
 *   spawn_finish(&sp, &res)      reap (blocking until gone), release
 *
 * spawn_stop() starts the escalation at any time; spawn_finish() may be
 * called at any time too and then waits, still honouring the timeout.
 * Every started spawn is finished exactly once.
 */
#ifndef MD_SPAWN_H
#define MD_SPAWN_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "strbuf.h"

struct spawn_opts {
	char *const *argv;
	int stdin_fd;                   /* -1: /dev/null */
	struct strbuf *out;             /* capture stdout here, or NULL: discard */
	size_t out_max;                 /* cap on captured stdout (0: 16 MiB) */
	double timeout;                 /* seconds of wall clock, 0: none */
	double kill_grace;              /* SIGTERM to SIGKILL (0: 2 s; < 0: never) */
	int nice;
	uint64_t rlimit_as;             /* 0: leave as is */
	uint64_t rlimit_fsize;
	double rlimit_cpu;
	const char *cwd;                /* NULL: inherit; else also HOME, TMPDIR */
	int keep_env;                   /* the caller's environment, not a minimal one */
	int confine;                    /* Landlock: read, write and system paths only */
	const char *const *read;        /* NULL-terminated: files or dirs to read */
	const char *const *write;       /* NULL-terminated: dirs to read and write */
	const char *progress_path;      /* a file the child keeps growing */
	double stall_timeout;           /* kill when it stops growing this long */
	/* each time progress_path grew: the last out_time_us it holds, in
	 * seconds (ffmpeg -progress: how far into the media the step is) */
	void (*on_progress)(void *arg, double seconds);
	void *progress_arg;
	volatile sig_atomic_t *cancel;  /* non-zero: stop the child now */
	/* NULL-terminated strings to look for in the child's stderr, wherever
	 * they fall (the tail keeps only the end): the first one seen is told
	 * in spawn_result.seen, whatever the exit status */
	const char *const *watch;
};

#define SPAWN_TAIL 4096

struct spawn_result {
	int status;             /* wait status, valid when ran */
	int ran;                /* the program was executed */
	int exec_errno;         /* errno of a failed exec, else 0 */
	int timed_out;
	int stalled;            /* progress_path stopped growing */
	int cancelled;          /* by opts.cancel or spawn_stop() */
	int out_truncated;      /* stdout exceeded out_max */
	long maxrss_kb;         /* the child's peak resident set, KiB */
	const char *seen;       /* the first watch string its stderr held */
	char tail[SPAWN_TAIL];  /* last bytes of stderr, NUL-terminated */
};

/* A running child.  The fields are spawn.c's; read only pid. */
struct spawn {
	pid_t pid;
	struct spawn_opts o;            /* a copy: what it points to must live on */
	struct spawn_result res;
	int out_fd, err_fd, pidfd;      /* -1 once closed */
	int exited;                     /* reaped: status and rusage are in res */
	int killed;                     /* 0, 1 after SIGTERM, 2 after SIGKILL */
	double deadline, kill_at;       /* monotonic seconds, 0: none */
	double last_change;             /* when progress_path last grew */
	off_t last_size;
	size_t tlen;                    /* bytes in res.tail */
};

/* The most descriptors spawn_pollfds() adds for one child. */
#define SPAWN_NFDS 3

/*
 * Start the program o->argv.  Returns 0 with sp running, or -1 when it
 * could not be started (sp->res.exec_errno and errno tell why; nothing to
 * finish).  A program that cannot be executed still starts: its exec
 * failure is told by spawn_finish().  o is copied; the strings, buffers
 * and flags it points to must outlive the child.
 */
int spawn_start(const struct spawn_opts *o, struct spawn *sp);
/*
 * The fork-a-function variant: the child runs fn(arg) and _exits with
 * what it returns.  Of o, only stdin_fd, out, out_max, timeout,
 * kill_grace and cancel apply; stdout goes to the capture pipe (or
 * /dev/null), stderr is the caller's.  fn starts in its own process group
 * with every signal at its default action and every signal blocked: it
 * sets the handlers it wants, then unblocks them (sigprocmask), so no
 * signal meant for it is lost or handled by the parent's handlers.
 */
int spawn_start_fn(const struct spawn_opts *o, int (*fn)(void *arg), void *arg,
		   struct spawn *sp);
/* Add the child's open descriptors to pf (at most SPAWN_NFDS); the count. */
int spawn_pollfds(const struct spawn *sp, struct pollfd *pf);
/*
 * Milliseconds until the child needs looking at though none of its
 * descriptors is ready (a deadline, the SIGKILL of an escalation, the look
 * at a progress file or a cancel flag), for poll(); -1: none.
 */
int spawn_due(const struct spawn *sp);
/*
 * After poll(): read what the child wrote (pf, n: the entries
 * spawn_pollfds gave, revents filled; n may be 0), reap it when it has
 * exited and apply its timers.  Returns 1 once the child is gone and its
 * output all read (call spawn_finish), 0 while it runs.
 */
int spawn_poll(struct spawn *sp, const struct pollfd *pf, int n);
/* Stop the child: SIGTERM to its group now, SIGKILL after kill_grace. */
void spawn_stop(struct spawn *sp);
/*
 * Wait until the child is gone (still honouring its timeout), reap it,
 * copy the outcome into res and release sp.  Returns 0 when it ran and
 * exited 0, otherwise -1 with res telling why (exec failure, signal, exit
 * code, timeout, stall, cancel).
 */
int spawn_finish(struct spawn *sp, struct spawn_result *res);

/* spawn_start() then spawn_finish(): the same return and res. */
int spawn_run(const struct spawn_opts *o, struct spawn_result *res);

/* One-line description of a failed run into sb ("exited with 3: <tail>"). */
void spawn_describe(const struct spawn_result *res, struct strbuf *sb);

/*
 * In a child just forked by the process parent (its getpid() before the
 * fork): ask for SIGKILL when parent dies, then make sure it has not died
 * already, before the request was made.  Returns 0, or -1 (errno set) when
 * the request failed or parent is gone: the child should _exit() then.
 * Async-signal-safe; spawn's children call it themselves.
 */
int spawn_tie_to_parent(pid_t parent);

/* Is the program found on PATH (or is the path executable)? */
int spawn_have(const char *prog);

#endif
