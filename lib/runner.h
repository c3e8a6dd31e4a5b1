/*
 * runner.h - run one job's profile on its media and publish the outputs.
 *
 * This is what md-work does for each claimed job, in a child process so
 * the worker's event loop never blocks: make a scratch directory
 * (storage_workdir), fetch the original (storage_fetch), run each step
 * of the profile through spawn (argv templates with {input} {output}
 * {outdir} {workdir} {threads} {duration} {tonemap} {crop} expanded;
 * ffmpeg gets -nostdin -hide_banner -threads T -filter_threads T, and
 * its input, like ffprobe's, -protocol_whitelist file, the probed demuxer
 * forced and -max_pixels from the width and height limits), check the
 * main output (verify.h), for a profile with a placeholder add the
 * BlurHash of that output to the result (placeholder.h: a failure is only
 * logged), publish the files of out/ as one folder under the rendition's
 * key (storage_publish_dir: the whole folder or nothing), and remove the
 * scratch directory, whatever happened.  In runner.c each of these is a
 * stage of its own: run_prepare, run_source, run_plan, run_step, run_post,
 * run_check, run_publish, run_release; run_plan and run_post are the work
 * of the built-in profiles frames and web in C (frames.h, web.h: their own
 * placeholders, the output's name, the frames packed into their ZIP).
 *
 * Every step is confined (spawn.h): a minimal environment with HOME and
 * TMPDIR in the scratch directory, the memory, CPU and file size limits
 * of the configuration, and, with worker.sandbox, Landlock letting it read
 * its input and read and write the scratch directory, nothing else of
 * storage.  A frame the decoder refused as larger than the limits fails
 * the job as bad input, even when ffmpeg exited 0.  The result JSON holds
 * max_rss_kb, the largest peak resident set of the steps.
 *
 * The runner never touches the database: it reports one line, which the
 * worker records (fenced) in the job table:
 *   "ok\t<result JSON>\n"
 *   "fail\t<class>\t<error text>\n"
 *   "cancel\n"
 * where class is a RUN_FAIL_* below.
 */
#ifndef MD_RUNNER_H
#define MD_RUNNER_H

#include <signal.h>

#include "conf.h"
#include "storage.h"
#include "store.h"
#include "strbuf.h"

enum {
	RUN_FAIL_RETRY = 0,     /* the job failed: retried while attempts last */
	RUN_FAIL_PERMANENT = 1, /* it cannot succeed (bad input): dead at once */
	RUN_FAIL_STORAGE = 2,   /* the storage could not be reached, on every
				 * retry: the host's trouble, not the job's */
	RUN_FAIL_DENIED = 3,    /* the storage refused (403): a configuration error */
};

struct runner_ctx {
	const struct conf *conf;
	const struct storage *st;
	double deadline_secs;            /* job timeout */
	volatile sig_atomic_t *cancel;   /* set by SIGTERM in the runner */
	int progress_fd;                 /* > 0: "progress\tSECONDS\n" lines go
					  * there while an ffmpeg step runs */
};

/* Run job j; the report line goes into out.  Never fails otherwise. */
void runner_run(const struct runner_ctx *rc, const struct job *j, struct strbuf *out);

#endif
