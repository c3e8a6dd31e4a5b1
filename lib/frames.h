/*
 * frames.h - the built-in profile "frames": a video's or an animation's
 * frames at a steady rate, JPEGs packed into one ZIP, with their times.
 *
 * The profile's one ffmpeg step (conf.c) takes the first frame of each
 * interval of 1/fps seconds, fps being frames.fps (default 1), at most
 * frames.max of them (default 100); a source longer than frames.max
 * intervals gets a lower rate, frames.max over its duration, so that the
 * frames span all of it rather than its beginning only.  They are JPEGs
 * the way the thumbnail is (full range, BT.601, square pixels, rotation
 * applied) with the long side at most FRAMES_SIDE.  ffmpeg names each
 * "{workdir}/pts-N.jpg", N its own timestamp in milliseconds from the
 * start (-frame_pts in a 1/1000 time base): frames keep their real times,
 * not a grid's, so a variable frame rate is told as it is.  A clip
 * shorter than an interval, or a single frame, still gives one frame.
 *
 * Call order, in the runner:
 *   frames_plan(conf, duration, &plan) the step's {fps} and {max_frames}
 *   ...the step runs...
 *   frames_pack(&plan, workdir, zip, facts, why)
 *   ...verify.h checks the archive with frames_verify()...
 *
 * frames_pack() packs the frames, in the order of their times, into the
 * ZIP (pack.h: stored, stable bytes) as frame-0001.jpg, frame-0002.jpg...
 * and adds to facts, the rendition's metadata, ',"frames":N,"fps":F,
 * "times":[T1,...]' (seconds from the start, to the millisecond; a frame
 * the container shows before its start, at a negative time, counts as 0).
 */
#ifndef MD_FRAMES_H
#define MD_FRAMES_H

#include <stddef.h>

#include "conf.h"
#include "strbuf.h"

#define FRAMES_SIDE 1280        /* the long side of a frame, at most */
#define FRAMES_MAX_MAX 9999     /* frames.max at most: four digits a name */

struct frames_plan {
	double fps;
	int max;
	char fps_s[32], max_s[16];
	const char *vars[5];    /* "fps", "max_frames" and their values, NULL */
};

/* The plan of a job under configuration c, for a source lasting duration
 * seconds (0: not known, the rate is frames.fps). */
void frames_plan(const struct conf *c, double duration, struct frames_plan *fp);

/*
 * Pack the frames ffmpeg left in workdir into the archive zip.  Returns 0;
 * 1 with why set when the frames are wrong (none, more than the plan
 * allows), which trying again would not mend; -1 with why set when the
 * archive could not be written.
 */
int frames_pack(const struct frames_plan *fp, const char *workdir, const char *zip,
		struct strbuf *facts, struct strbuf *why);

/*
 * The check of verify.h: zip opens, holds 1 to max entries named
 * frame-0001.jpg, frame-0002.jpg... in order, each a JPEG whose long side
 * is at most max_side.  Returns 0, or -1 with the reason in why.
 */
int frames_verify(const char *zip, int max, int max_side, struct strbuf *why);

/*
 * The size of the JPEG in d[0..n), from its first frame header (SOFn).
 * Returns 0, or -1 when d is not a JPEG or ends before that header.
 */
int jpeg_size(const unsigned char *d, size_t n, int *w, int *h);

#endif
