/*
 * verify.h - check a job's main output against what its profile says it
 * is, before anything is published, and make failure reasons fit for
 * a person.
 *
 * A profile's output is one of the kinds of conf.h.  The checks, each
 * failing with a one-line reason that names it ("duration 0.50 s, source
 * 35.20 s (more than 2% apart)"):
 *
 *   video  ffprobe -count_frames on the output: a video stream with
 *          decoded frames; a duration within 2% (or one source frame) of
 *          the source's; even width and height; the long side within the
 *          profile's max_side; pixel format yuv420p; colour range limited
 *          (tv) or unset; sample aspect ratio 1:1 or unset; an audio
 *          stream exactly when the source has one.
 *   image  one video stream that decodes to exactly one frame, as wide as
 *          the profile's width and within its max_side when they are set.
 *   json   parses as a JSON object or array; the output of an ffprobe step
 *          holds the "format" object and the "streams" list it asked for.
 *   zip    starts with a local file header (or is an empty archive) and
 *          ends with an end of central directory record.
 *   file   is a non-empty regular file (the runner checks that of every
 *          output).
 *
 * ffprobe runs through spawn like the steps: minimal environment, the
 * memory limit, and with worker.sandbox Landlock letting it read only the
 * file it probes.  The output is never given to it as "probe what this
 * is" with a data kind: a JSON file read by ffprobe is a subtitle format.
 */
#ifndef MD_VERIFY_H
#define MD_VERIFY_H

#include <signal.h>

#include "conf.h"
#include "source.h"
#include "strbuf.h"

struct verify_ctx {
	const struct conf *conf;
	double timeout;                 /* seconds for one ffprobe */
	volatile sig_atomic_t *cancel;  /* stop ffprobe when set */
};

enum {
	VERIFY_OK = 0,
	VERIFY_FAILED = 1,      /* the output is wrong: why holds the check */
	VERIFY_ERROR = -1,      /* ffprobe could not be run: why says so */
	VERIFY_CANCELLED = -2,
};

/*
 * Check the main output of profile p at path (src: the source as
 * source_probe() read it, for video outputs).  Returns a VERIFY_ code; on VERIFY_FAILED why holds the reason
 * "output check failed: ...".  On VERIFY_OK, what ffprobe read of a video
 * or image output is added to facts as a compact JSON object after
 * "\"output_probe\":" (nothing for other kinds).
 */
int verify_output(const struct verify_ctx *vc, const struct profile *p, const char *path,
		  const struct source *src, struct strbuf *facts, struct strbuf *why);

/*
 * The checks alone, on the JSON that ffprobe printed for the output
 * (-count_frames, -show_entries of the streams and the format): return
 * VERIFY_OK or VERIFY_FAILED with the reason (without the "output check
 * failed: " prefix) in why.  Run nothing.
 */
int verify_video_probe(const char *json, const struct profile *p,
		       const struct source *src, struct strbuf *why);
int verify_image_probe(const char *json, const struct profile *p, struct strbuf *why);

#endif
