/*
 * hls.h - the hls rendition: an HLS VOD ladder made by one ffmpeg run,
 * checked, and its master playlist written by memedroid.
 *
 * The ladder.  hls.ladder (config) lists rungs by the short side of the
 * picture, as "720p" means for a landscape clip (its height) and for one
 * shot upright (its width): default 360,720,1080.  A rung above the
 * source's short side is left out; a source below the lowest rung gets
 * one rung of its own size.  Each rung keeps the display aspect with
 * square pixels, both sides even.
 *
 * The encode.  A step "{hls}" (the built-in profile hls is
 * "ffmpeg -i {input} {hls}") is replaced by the runner with the arguments
 * hls_args() makes: one decode, split to every rung (the mp4 profile's
 * crop, tone-mapping and colour rules, vfilter.h), keyframes forced
 * on a 4 s grid with scene cuts off, so every rung is cut at the same
 * times; fMP4 segments of about 4 s, one folder per rung ("360p/": its
 * index.m3u8, its init segment, seg-NNNNN.m4s).  A source with sound gets ONE audio
 * rendition, "audio/", an audio-only playlist in the group "aud" that every
 * variant names: the sound is encoded and stored once, not once per rung.
 * The frames come at a constant rate, the source's (hls_frame_rate), a
 * gap filled with the frame before it, where mp4 keeps a variable rate:
 * an fMP4 fragment starts where the samples before it end by their
 * durations, and ffmpeg gives each sample one frame of the output rate,
 * so with gaps every segment after the first would start early.
 *
 * The check and the master, hls_finish(), before anything is published:
 * every rung's playlist parses and ends, every file it names is a plain
 * name in its folder and exists; the rung's init and segments, joined in a
 * scratch file, pass the video output check of verify.h (decoded frames,
 * the source's duration within 2%, yuv420p, limited range, SAR 1:1) and
 * are exactly the rung's size; the audio playlist is there exactly when
 * the source has sound.  ffmpeg's last EXTINF counts the last segment's
 * frames at 1/60 s each (the grid), not their real span: it is set to the
 * rung's duration as ffprobe read it, less the segments before it.  Then
 * master.m3u8 (RFC 8216) is written, last of all the files: BANDWIDTH
 * the peak over the segments of bytes x 8 / EXTINF, AVERAGE-BANDWIDTH
 * all bytes x 8 / the total duration, the init segment counted with the
 * first segment (a player fetches both before it plays anything), the
 * audio rendition's rates added to each variant's; CODECS from the
 * streams themselves (avc1.PPCCLL from the avcC box of the init segment,
 * mp4a.40.2: AAC-LC); RESOLUTION; FRAME-RATE (hls_frame_rate).
 * The folder is published whole by storage_publish_dir, and the files go
 * in name order, the rung folders (digits, "audio") before "master.m3u8":
 * a master never names a file that is not there yet.
 *
 * The parsing and writing functions do no I/O and are unit-tested
 * (tests/unit/test-hls.c); hls_finish() reads and writes files and runs
 * ffprobe through verify.h.
 */
#ifndef MD_HLS_H
#define MD_HLS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "source.h"
#include "strbuf.h"
#include "verify.h"

#define HLS_SEGMENT_SECS 4
#define HLS_MASTER "master.m3u8"
#define HLS_PLAYLIST "index.m3u8"
#define HLS_AUDIO "audio"

/*
 * The rungs of text "360,720,1080" (or "360, 720"): even numbers from 2
 * to 8192, sorted, duplicates dropped, at most HLS_MAX_RUNGS (conf.h) into
 * out.  Returns their count, or -1 for anything else (empty too).
 */
int hls_parse_ladder(const char *text, int *out);

struct hls_rung {
	int size;               /* the ladder's value: the short side */
	int width, height;
	char name[16];          /* "720p": its folder */
};

/*
 * The rungs of the ladder (n values, sorted) for source s, as displayed
 * (rotation, SAR), into out[HLS_MAX_RUNGS].  Returns their count, at least
 * 1, or 0 when the source's size is not known.
 */
int hls_rungs(const int *ladder, int n, const struct source *s, struct hls_rung *out);

/*
 * The arguments that replace "{hls}" in a step, for rungs r[0..n) of
 * source s: its audio mapped when it has sound; when its duration is
 * known, its last frame held to its end and every stream cut there; the
 * frames at its rate (hls_frame_rate), constant.  NULL-terminated, still
 * holding placeholders ({crop}, {tonemap}, {duration}, {threads},
 * {outdir}) for the runner to expand.  Free with hls_args_free.
 */
char **hls_args(const struct hls_rung *r, int n, const struct source *s);
void hls_args_free(char **args);

struct hls_segment {
	char *uri;
	double duration;        /* its EXTINF */
	int64_t bytes;          /* filled by the caller, -1 unknown */
};

/* A media playlist, as far as memedroid reads and writes one. */
struct hls_playlist {
	int version;
	int target;             /* EXT-X-TARGETDURATION */
	char *map;              /* EXT-X-MAP URI, the init segment, or NULL */
	int nseg;
	struct hls_segment *seg;
	int vod, endlist;
};

/*
 * Parse a media playlist's text: #EXTM3U first, EXTINF before each URI,
 * the tags above read, other tags skipped.  Each URI and the map must be
 * a plain file name (no '/', not starting with '.'), as ffmpeg writes
 * them.  Returns 0, or -1 with the reason in why (and pl released).
 */
int hls_playlist_parse(const char *text, struct hls_playlist *pl, struct strbuf *why);
void hls_playlist_release(struct hls_playlist *pl);
/* The playlist as text, VOD, ended. */
void hls_playlist_write(const struct hls_playlist *pl, struct strbuf *out);
/* The sum of the EXTINFs. */
double hls_playlist_duration(const struct hls_playlist *pl);
/*
 * Bits per second of a playlist whose segments' bytes are known, the
 * init segment's (init_bytes) counted with the first: the peak over the
 * segments and the average.  0 and 0 for an empty playlist.
 */
void hls_playlist_rates(const struct hls_playlist *pl, int64_t init_bytes,
			int64_t *peak, int64_t *avg);

/*
 * "avc1.PPCCLL" from an init segment's bytes: the profile, constraint
 * flags and level of the first avcC box, into out.  Returns 0, or -1
 * when there is none.
 */
int hls_avc_codec(const unsigned char *buf, size_t n, char *out, size_t outn);

/*
 * The FRAME-RATE of every rung: the most frames a second the output may
 * have, the source's base rate (r_frame_rate) up to the 60 fps grid that
 * every rung keeps, else its average, else 60.
 */
double hls_frame_rate(const struct source *s);

struct hls_variant {
	const char *uri;        /* "720p/index.m3u8" */
	int64_t peak, avg;      /* bits per second, audio included */
	char codecs[64];        /* "avc1.64001f,mp4a.40.2" */
	int width, height;
	double fps;
	double duration;        /* seconds, the playlist's EXTINFs summed */
};

/*
 * The master playlist of n variants; audio_uri, when not NULL, the audio
 * rendition's playlist, which every variant then names (AUDIO="aud").
 */
void hls_master_write(const struct hls_variant *v, int n, const char *audio_uri,
		      struct strbuf *out);

/*
 * After the encode into outdir: check every rung (r[0..n)) and the audio
 * rendition against source src, fix each last EXTINF, write outdir's
 * master.m3u8.  workdir holds the scratch file of the check (outside
 * outdir).  facts gets "\"hls\":{...}" (the rungs and their rates).
 * Returns a VERIFY_ code of verify.h, why set when it is not VERIFY_OK
 * ("output check failed: 720p: ..." for VERIFY_FAILED).
 */
int hls_finish(const struct verify_ctx *vc, const char *outdir, const char *workdir,
	       const struct hls_rung *r, int n, const struct source *src,
	       struct strbuf *facts, struct strbuf *why);

#endif
