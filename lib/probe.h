/*
 * probe.h - decide what an input file is, by its content, with ffprobe.
 *
 * The decision is the probe's, never the file name's: ffprobe runs on the
 * temp copy (which has no extension), restricted to a whitelist of
 * demuxers (mp4/mov, matroska/webm, avi, flv, mpegts, ogg, gif, png, jpeg,
 * webp, bmp, tiff, apng, plus the common audio-only containers, opened only
 * to be told "audio only") and local files only, under a time limit.  The
 * result is then checked against the limits of the configuration (bytes,
 * duration, width, height, frames, pixels x frames for animations).
 * Playlists, audio-only files, unknown codecs, zero-sized pictures and a
 * cover picture as the only stream are rejected.
 *
 * Decodable or rejected: ffprobe reads (without decoding) every packet and
 * prints its time.  Encrypted media (encryption side data, an enc* sample
 * entry) is rejected; so is a video with no packet or an unreadable time
 * scale ("no decodable frame"), and one whose packets end short of its
 * header's duration by over 10% and over half a second ("truncated: 0.3 s
 * decodable of 35.2 s").  A video's duration is then the decodable one.
 * Reasons drawn from ffprobe's stderr go through reason_clean (reason.h).
 *
 * Where the rules live: probe_int.h, one small pure function per rule
 * (encrypted, audio only, format, picture, duration, frames, time scale,
 * truncated, animation) and the table that says their order; probe.c runs
 * ffprobe (through spawn.h) and hands its output to them.
 */
#ifndef MD_PROBE_H
#define MD_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "spawn.h"
#include "strbuf.h"

struct probe {
	unsigned kind;          /* MD_KIND_* */
	char format[32];        /* demuxer to force later, e.g. "mov" */
	char ext[8];            /* extension for the stored original */
	char mime[32];
	char vcodec[32];
	char acodec[32];
	char pix_fmt[32];
	int width, height;
	int rotation;
	int has_audio;
	double duration;        /* seconds, 0 if unknown; a video's decodable one */
	double fps;
	int64_t frames;         /* video packets read */
	struct strbuf json;     /* the metadata above as a JSON object */
};

/*
 * Run ffprobe's argv on path as every reading of untrusted media is run:
 * confined like a job command (no stdin, the memory limit, the probe
 * timeout as wall clock and CPU time, Landlock reading path only); what it
 * prints into out, at most out_max bytes.  spawn_run's return.
 */
int probe_run(const struct conf *c, char **argv, const char *path, struct strbuf *out,
	      size_t out_max, struct spawn_result *res);

/*
 * Probe path.  Returns 0 when accepted (p filled; release with
 * probe_release), 1 when rejected (*why set to a one-line reason, caller
 * frees), or -1 when ffprobe could not be run at all (*why set).
 */
int probe_file(const struct conf *c, const char *path, struct probe *p, char **why);
/*
 * The same, without waiting: probe_start() runs ffprobe on path and
 * returns at once; the caller polls the child (j->sp, spawn.h's
 * spawn_pollfds, spawn_due, spawn_poll) beside others, then
 * probe_finish() reaps it and decides, with probe_file's returns (a
 * child that could not be started is the -1 of "cannot run ffprobe").
 * Every probe_start() is followed by exactly one probe_finish() or
 * probe_abort() (stop the child, reap it, decide nothing), whatever it
 * returned.  j must not move while the child runs.
 */
#define PROBE_ARGV 20
struct probe_job {
	struct spawn sp;
	struct strbuf out;
	char *path;
	char *argv[PROBE_ARGV];
	const char *rd[2];
	struct spawn_result res;
	int failed;             /* never started: res tells why */
};
int probe_start(const struct conf *c, const char *path, struct probe_job *j);
int probe_finish(const struct conf *c, struct probe_job *j, struct probe *p, char **why);
void probe_abort(struct probe_job *j);
/*
 * The decision alone, on the text ffprobe printed (-of flat, the entries
 * probe_file asks for) in text[len]: reads it, checks it against the
 * rules and the limits of c, fills p.  Returns 0 when accepted (release p
 * with probe_release) or 1 when rejected (*why set, caller frees).  Runs
 * nothing and never fails otherwise: the text comes from a hostile file,
 * so numbers out of range are clamped and junk reads as unknown.
 */
int probe_from_ffprobe(const struct conf *c, const char *text, size_t len, struct probe *p,
		       char **why);
void probe_release(struct probe *p);

/* The demuxers accepted, comma-separated (for ffmpeg's -format_whitelist). */
extern const char probe_demuxers[];

#endif
