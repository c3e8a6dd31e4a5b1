/*
 * test-progress.c - the text of the progress line (lib/progress.c): the
 * count with and without a total, the rates, the ETA, and the cut to the
 * terminal's width.  Included by test-lib.c.
 */
#include "progress.h"

static void pg_is(const struct progress *p, double elapsed, int cols, const char *want,
		  const char *name)
{
	char buf[600];

	progress_format(p, "md-x", elapsed, cols, buf, sizeof(buf));
	is_str(buf, want, name);
}

static void test_progress(void)
{
	struct progress p = { .unit = "files", .total = -1, .bytes = -1, .total_bytes = -1 };
	char buf[600];
	size_t n;

	pg_is(&p, 0, 80, "md-x: 0 files", "progress: nothing done, no total");
	p.done = 12;
	pg_is(&p, 4, 80, "md-x: 12 files, 3.0 files/s", "progress: a growing count and its rate");
	p.total = 40;
	pg_is(&p, 4, 80, "md-x: 12/40 files (30%), 3.0 files/s, ETA 0:09",
	      "progress: done of total, rate and ETA (28 left at 3/s)");
	p.failed = 2;
	p.bytes = 50LL << 20;
	pg_is(&p, 4, 80, "md-x: 12/40 files (30%), 2 failed, 3.0 files/s, 12.5 MiB/s, ETA 0:09",
	      "progress: failures and bytes per second");
	p.total_bytes = 100LL << 20;
	pg_is(&p, 4, 100, "md-x: 12/40 files (30%), 2 failed, 3.0 files/s, 12.5 MiB/s, ETA 0:04",
	      "progress: the ETA of the bytes when their total is known");
	p = (struct progress){ .unit = "jobs", .done = 3000, .total = 100000, .bytes = -1,
			       .total_bytes = -1 };
	pg_is(&p, 30, 80, "md-x: 3000/100000 jobs (3%), 100 jobs/s, ETA 16:10",
	      "progress: a rate of 10 or more is whole");
	p.done = 1;
	pg_is(&p, 30, 80, "md-x: 1/100000 jobs (0%), 0.0 jobs/s, ETA 833:19:30",
	      "progress: hours in the ETA");
	p.done = 100000;
	pg_is(&p, 30, 80, "md-x: 100000/100000 jobs (100%), 3333 jobs/s",
	      "progress: no ETA when all is done");
	p = (struct progress){ .unit = "ids", .total = 0, .bytes = 800, .total_bytes = -1 };
	pg_is(&p, 2, 80, "md-x: 0/0 ids (100%), 400 B/s", "progress: bytes under a KiB, an empty total");
	p = (struct progress){ .unit = "files", .done = 12, .total = 40, .bytes = -1,
			       .total_bytes = -1 };
	pg_is(&p, 4, 45, "md-x: 12/40 files (30%), 3.0 files/s",
	      "progress: too wide, whole pieces go from the end");
	pg_is(&p, 4, 20, "md-x: 12/40 files (", "progress: the first piece cut, the last column free");
	pg_is(&p, 4, 1, "", "progress: a width of one column leaves nothing");
	n = progress_format(&p, "md-x", 4, 300, buf, 10);
	ok(n == 9 && !strcmp(buf, "md-x: 12/"), "progress: cut to the buffer");
	p.done = 0;
	pg_is(&p, 100, 80, "md-x: 0/40 files (0%)", "progress: no rate nor ETA before the first item");
}
