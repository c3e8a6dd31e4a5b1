/*
 * progress.h - one progress line on standard error, for a person watching.
 *
 * A tool that works through many inputs (md-ingest -r, md-enqueue -,
 * md-work --drain) keeps a struct progress and tells it what was done;
 * the line says how far it is, redrawn in place with '\r':
 *
 *   md-ingest: 12/40 files (30%), 2 failed, 3.1 files/s, 12.5 MiB/s, ETA 0:09
 *
 * "12 files" alone while the total is not known yet.  The rate is the
 * average since progress_start(); bytes/s only when bytes are counted;
 * the ETA is the rest of the total at that rate (of the bytes when their
 * total is known, else of the items).
 *
 * The line is drawn only when standard error is a terminal, -q was not
 * given and TERM is not "dumb": never into a pipe, a file or a journal.
 * It is redrawn at most PROGRESS_HZ times a second (by the monotonic
 * clock), fits the terminal's width (cut, never wrapped), and is never
 * left under other output:
 *
 *   - log.c calls progress_clear() before it writes a log line, so a log
 *     line starts at the first column and the line comes back below it at
 *     the next redraw;
 *   - a tool that writes records to standard output calls
 *     progress_clear_out() before each: when standard output is the same
 *     terminal, the record takes the line's place;
 *   - progress_end() wipes it: nothing of it stays on the screen.
 *
 * One line per process: the last progress_start() is the one drawn.
 * Nothing here fails or allocates; a line that cannot be written is lost.
 *
 * Call order:
 *   struct progress p;
 *   progress_start(&p, "files", cli.quiet);
 *   progress_total(&p, n, -1);                  whenever it becomes known
 *   progress_add(&p, 1, bytes, failed);         per item; redraws when due
 *   progress_tick(&p);                          redraws when due (a loop)
 *   progress_end(&p);
 */
#ifndef MD_PROGRESS_H
#define MD_PROGRESS_H

#include <stddef.h>

#define PROGRESS_HZ 10

struct progress {
	const char *unit;       /* what is counted, plural: "files", "jobs" */
	long long done;         /* items done, failed ones included */
	long long failed;       /* of them, those that failed */
	long long total;        /* items to do; < 0: not known (yet) */
	long long bytes;        /* bytes done; < 0: not counted */
	long long total_bytes;  /* < 0: not known */
	double start;           /* monotonic seconds at progress_start() */
	double drawn;           /* when the line was last drawn */
	int on;                 /* drawing: a terminal, no -q */
	int out_tty;            /* standard output is a terminal too */
};

/* Whether a progress line may be drawn: standard error is a terminal,
 * quiet is 0 and TERM is not "dumb". */
int progress_wanted(int quiet);

/* Begin counting unit; draws nothing unless progress_wanted(quiet). */
void progress_start(struct progress *p, const char *unit, int quiet);
/* The totals, when known (either < 0: not known).  Redraws when due. */
void progress_total(struct progress *p, long long items, long long bytes);
/* items more done, bytes more read (0 when not counted), failed of them
 * failed.  Redraws when due. */
void progress_add(struct progress *p, long long items, long long bytes, long long failed);
/* Redraw when due: the rate and the ETA move with time alone. */
void progress_tick(struct progress *p);
/* Wipe the line if it is on the screen ("\r\033[K"); it comes back at the
 * next redraw.  Safe in a signal handler (a flag and one write(2)). */
void progress_clear(void);
/* progress_clear() when standard output is a terminal too: before a
 * record is written there. */
void progress_clear_out(void);
/* Wipe the line and draw no more. */
void progress_end(struct progress *p);

/*
 * The text of the line for p, elapsed seconds after its start, cut to
 * fit cols columns (no escape, no '\r'), into buf of size bytes, with
 * label before it ("md-ingest").  Returns its length.  For the tests.
 */
size_t progress_format(const struct progress *p, const char *label, double elapsed, int cols,
		       char *buf, size_t size);

#endif
