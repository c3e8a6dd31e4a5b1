/*
 * probe_int.h - the probe's acceptance rules, one small pure function
 * each, for probe.c and its unit tests (tools use probe.h).
 *
 * probe_from_ffprobe() is three steps:
 *
 *   probe_facts_read(text, len, &f)   ffprobe's flat output -> the facts
 *   probe_decide(c, &f, &why)         the rules, in order; the first that
 *                                     rejects gives the reason
 *   probe_fill(&f, p)                 the facts -> struct probe and its JSON
 *
 * Each rule returns 0 when the file passes it, or 1 with *why set to a
 * one-line reason (the caller frees it).  The rules read only the facts
 * and the limits of c: they run nothing and touch no file, so a test can
 * feed them any values.  Their order is part of the contract (an
 * encrypted audio file is "encrypted", not "audio only") and is written
 * once, in probe_decide's table.
 */
#ifndef MD_PROBE_INT_H
#define MD_PROBE_INT_H

#include <stdint.h>

#include "conf.h"
#include "probe.h"
#include "source.h"

/* An accepted demuxer: what the stored original is called and served as. */
struct probe_format {
	const char *demuxer, *ext, *mime;
	int image;              /* still-image demuxer */
	int maybe_animated;     /* frames > 1 means animated */
};

/* One stream as ffprobe told it. */
struct probe_stream {
	char type[16], codec[32], tag[16], pix_fmt[32], rate[32], time_base[32];
	int width, height, attached_pic, rotation;
	int64_t packets;        /* packets read (-count_packets) */
	int64_t declared;       /* frames the container declares, 0 unknown */
};

/* What the rules look at. */
struct probe_facts {
	char format[96];        /* ffprobe's format_name, "mov,mp4,m4a,3gp,3g2,mj2" */
	const struct probe_format *fmt;   /* its demuxer, NULL: not accepted */
	int encrypted;          /* encryption side data or sample entry */
	int has_video, has_audio;
	struct probe_stream v;  /* the first video stream not a cover picture */
	struct probe_stream a;  /* the first audio stream */
	double duration;        /* what the header claims, seconds */
	double decodable;       /* start to the end of the last packet, 0 unknown */
	unsigned kind;          /* MD_KIND_*, valid when fmt is set */
	struct source src;      /* what a job reads of it (source.h) */
};

/* The accepted demuxer named first in format_name, or NULL. */
const struct probe_format *probe_format_find(const char *format_name);
/* Image, animated (an animated demuxer with more than one frame) or video. */
unsigned probe_kind(const struct probe_format *fmt, int64_t packets);

/* Read ffprobe's flat output (see probe_from_ffprobe) into f. */
void probe_facts_read(const char *text, size_t len, struct probe_facts *f);

int probe_rule_encrypted(const struct conf *c, const struct probe_facts *f, char **why);
int probe_rule_audio_only(const struct conf *c, const struct probe_facts *f, char **why);
int probe_rule_format(const struct conf *c, const struct probe_facts *f, char **why);
/* a video stream, a known codec, a readable size within the limits */
int probe_rule_picture(const struct conf *c, const struct probe_facts *f, char **why);
/* the longer of the header's and the decodable duration, within the limit */
int probe_rule_duration(const struct conf *c, const struct probe_facts *f, char **why);
/* at least one frame could be read */
int probe_rule_frames(const struct conf *c, const struct probe_facts *f, char **why);
/* a video's time scale the demuxer could read */
int probe_rule_time_scale(const struct conf *c, const struct probe_facts *f, char **why);
/* a video's packets reach close enough to its header's duration */
int probe_rule_truncated(const struct conf *c, const struct probe_facts *f, char **why);
/* an animation's frames, and pixels x frames, within the limits */
int probe_rule_animation(const struct conf *c, const struct probe_facts *f, char **why);

/* Every rule in order: 0 when accepted, else 1 and the first reason. */
int probe_decide(const struct conf *c, const struct probe_facts *f, char **why);
/* The accepted facts into p (release with probe_release). */
void probe_fill(const struct probe_facts *f, struct probe *p);

/*
 * The reason for a run of ffprobe that failed, from spawn_describe()'s
 * text: the temp file's path becomes "input"; a demuxer refused by the
 * whitelist is named.  Returns 1 with *why set.
 */
int probe_failure_reason(const char *described, const char *path, char **why);

#endif
