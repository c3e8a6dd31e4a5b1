/*
 * source.h - what a job's rendition needs to know of its source: how long
 * it lasts, whether it is HDR, whether it can be copied as it is.
 *
 * The runner asks once per job, before the steps, and only for a profile
 * that needs it (one with passthrough steps, or a step using {duration}
 * or {tonemap}).  The ingest's probe reads it already (probe.h keeps it in
 * the media's probe JSON, under "source"), and the claim hands it on; a
 * media ingested before that was kept is read again here: ffprobe on the
 * stored original, confined like a job command, with the probed demuxer
 * forced.  The text it prints comes from the file, so numbers are read
 * strictly and junk reads as unknown, from ffprobe or from the JSON.
 */
#ifndef MD_SOURCE_H
#define MD_SOURCE_H

#include "conf.h"
#include "strbuf.h"

struct source {
	double duration;        /* seconds, 0 if unknown */
	long long bit_rate;     /* the whole file's, bits/s, 0 if unknown */
	char vcodec[32];
	char profile[32];       /* "Main", "High", ... */
	char pix_fmt[32];
	char range[16];         /* "tv", "pc", "unknown" */
	char transfer[32];      /* "bt709", "smpte2084", "arib-std-b67", ... */
	int width, height;
	int coded_width, coded_height;  /* the decoder's frame before its crop */
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

/* s as a JSON object, appended to sb: every field, exactly. */
void source_json(const struct source *s, struct strbuf *sb);
/* The same back: 0, or -1 (s zeroed) when text is NULL, empty, not a JSON
 * object or not one source_json wrote; a value of the wrong type or out
 * of range reads as unknown. */
int source_from_json(const char *text, struct source *s);

/* PQ (smpte2084) or HLG (arib-std-b67) transfer: tone-map to SDR. */
int source_is_hdr(const struct source *s);

/*
 * Whether a rendition capped at max_size pixels on its long side and
 * max_kbps kilobits a second (0: no cap) may be the source's own streams,
 * remuxed: H.264 Main or High, yuv420p, limited range, not HDR, square
 * pixels, no rotation, at most 60 frames a second, within the caps (a
 * bit rate that is not known is over the cap), and stereo AAC or no
 * audio.
 */
int source_can_copy(const struct source *s, int max_size, int max_kbps);

/*
 * The filter that cuts a decoded frame to the picture the stream declares,
 * into buf, or "null".  A decoder crops the left edge only to an aligned
 * column (a Theora picture offset of 9, an H.264 crop of 8 on the left):
 * the frame it hands on is wider than the picture, the rest of the crop
 * still at its left, where an encoder put anything it liked.  Only a frame
 * of the coded width is cut, so a stream that changes size is left alone;
 * a rotated source's sizes are taken turned, as the frames come turned.
 */
void source_crop(const struct source *s, char *buf, size_t n);

/* The filters that bring an HDR source to SDR BT.709 limited range, or
 * "null" for any other. */
const char *source_tonemap(const struct source *s);

#endif
