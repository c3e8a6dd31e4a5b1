/*
 * spawn.h - the one way memedroid runs another program (ffmpeg, ffprobe,
 * hooks).
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
 * the run, never runs it unconfined.  On
 * timeout or cancel the whole group gets SIGTERM, then SIGKILL two seconds
 * later; the same when a progress file given by the caller (ffmpeg's
 * -progress output) stops growing for stall_timeout.  A failed exec is
 * reported through a close-on-exec pipe, so "ffmpeg is not installed" is
 * told apart from "ffmpeg failed".
 *
 * spawn_run() blocks until the child and its group are gone.
 */
#ifndef MD_SPAWN_H
#define MD_SPAWN_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct spawn_opts {
	char *const *argv;
	int stdin_fd;                   /* -1: /dev/null */
	struct strbuf *out;             /* capture stdout here, or NULL: discard */
	size_t out_max;                 /* cap on captured stdout (0: 16 MiB) */
	double timeout;                 /* seconds of wall clock, 0: none */
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
	int cancelled;
	int out_truncated;      /* stdout exceeded out_max */
	long maxrss_kb;         /* the child's peak resident set, KiB */
	const char *seen;       /* the first watch string its stderr held */
	char tail[SPAWN_TAIL];  /* last bytes of stderr, NUL-terminated */
};

/*
 * Run the program; returns 0 when it ran and exited 0, otherwise -1 with
 * res telling why (exec failure, signal, exit code, timeout, cancel).
 */
int spawn_run(const struct spawn_opts *o, struct spawn_result *res);

/* One-line description of a failed run into sb ("exited with 3: <tail>"). */
void spawn_describe(const struct spawn_result *res, struct strbuf *sb);

/* Is the program found on PATH (or is the path executable)? */
int spawn_have(const char *prog);

#endif
