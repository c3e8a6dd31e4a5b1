/*
 * exits.h - the exit codes every memedroid tool shares.
 *
 * They follow sysexits.h and are a documented contract (md(7), EXIT STATUS
 * of every page): scripts and cron rely on them, so a tool never exits with
 * a number that is not named here.
 */
#ifndef MD_EXITS_H
#define MD_EXITS_H

#include <sysexits.h>

enum {
	MD_EXIT_OK = 0,            /* everything done */
	MD_EXIT_PARTIAL = 1,       /* some inputs failed, the rest were done */
	MD_EXIT_USAGE = EX_USAGE,          /* 64: bad command line */
	MD_EXIT_DATAERR = EX_DATAERR,      /* 65: every input was bad */
	MD_EXIT_CORRUPT = EX_DATAERR,      /* 65: the database is corrupt */
	MD_EXIT_UNAVAILABLE = EX_UNAVAILABLE, /* 69: ffmpeg/ffprobe or libpq missing */
	MD_EXIT_SOFTWARE = EX_SOFTWARE,    /* 70: internal error (a bug) */
	MD_EXIT_IOERR = EX_IOERR,          /* 74: cannot write output or storage */
	MD_EXIT_TEMPFAIL = EX_TEMPFAIL,    /* 75: database unreachable: retry later */
	MD_EXIT_CONFIG = EX_CONFIG,        /* 78: bad config, unmigrated database */
};

/* Exit status for a run that handled `ok` inputs well and `bad` badly. */
static inline int md_exit_for(int ok, int bad)
{
	if (!bad)
		return MD_EXIT_OK;
	return ok ? MD_EXIT_PARTIAL : MD_EXIT_DATAERR;
}

#endif
