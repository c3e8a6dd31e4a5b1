/*
 * source.h - what a job's rendition needs to know of its source: how long
 * it lasts, whether it is HDR, whether it can be copied as it is.
 *
 * The runner asks once per job, before the steps, and only for a profile
 * that needs it (one with passthrough steps, or a step using {duration}
 * or {tonemap}): ffprobe reads the stored original, confined like a job
 * command, with the probed demuxer forced.  The text it prints comes from
 * the file, so numbers are read strictly and junk reads as unknown.
 */
#ifndef MD_SOURCE_H
#define MD_SOURCE_H

#include "conf.h"
#include "strbuf.h"

struct source {
	double duration;        /* seconds, 0 if unknown */
	char vcodec[32];
	char profile[32];       /* "Main", "High", ... */
	char pix_fmt[32];
	char range[16];         /* "tv", "pc", "unknown" */
	char transfer[32];      /* "bt709", "smpte2084", "arib-std-b67", ... */
	int width, height;
	int sar_num, sar_den;   /* 0:1 when not set */
	int rotation;
	double fps, max_fps;    /* avg_frame_rate, r_frame_rate; 0 if unknown */
	int has_audio;
	char acodec[32];
	int channels;
};

/*
 * Describe the video and audio of path, read with demuxer format.
 * Returns 0, or -1 with err set (ffprobe failed or could not run).
 */
int source_probe(const struct conf *c, const char *path, const char *format,
		 struct source *s, struct strbuf *err);
/* The same, from ffprobe's "-of flat" text (the entries source_probe
 * asks for); never fails. */
void source_parse(const char *text, struct source *s);

/* PQ (smpte2084) or HLG (arib-std-b67) transfer: tone-map to SDR. */
int source_is_hdr(const struct source *s);

/*
 * Whether a rendition capped at max_size pixels on its long side may be
 * the source's own streams, remuxed: H.264 Main or High, yuv420p, limited
 * range, not HDR, square pixels, no rotation, at most 60 frames a second,
 * within the cap, and stereo AAC or no audio.
 */
int source_can_copy(const struct source *s, int max_size);

/* The filters that bring an HDR source to SDR BT.709 limited range, or
 * "null" for any other. */
const char *source_tonemap(const struct source *s);

#endif
