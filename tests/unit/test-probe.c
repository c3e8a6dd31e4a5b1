/*
 * test-probe.c - the probe's acceptance rules (probe_int.h), #included by
 * test-lib.c: each rule fed facts directly, no ffprobe run.
 */
#include "probe_int.h"

/* A good 64x48 H.264 video of 10 s with sound, in MP4: every rule passes. */
static struct probe_facts facts_video(void)
{
	struct probe_facts f = { .has_video = 1, .has_audio = 1, .duration = 10,
				 .decodable = 10, .kind = MD_KIND_VIDEO };

	xsnprintf(f.format, sizeof(f.format), "mov,mp4,m4a,3gp,3g2,mj2");
	f.fmt = probe_format_find(f.format);
	xsnprintf(f.v.type, sizeof(f.v.type), "video");
	xsnprintf(f.v.codec, sizeof(f.v.codec), "h264");
	xsnprintf(f.v.time_base, sizeof(f.v.time_base), "1/12800");
	f.v.width = 64;
	f.v.height = 48;
	f.v.packets = 250;
	xsnprintf(f.a.type, sizeof(f.a.type), "audio");
	xsnprintf(f.a.codec, sizeof(f.a.codec), "aac");
	return f;
}

/* An animated GIF of n frames of w x h. */
static struct probe_facts facts_gif(int w, int h, int64_t n)
{
	struct probe_facts f = { .has_video = 1, .duration = 2 };

	xsnprintf(f.format, sizeof(f.format), "gif");
	f.fmt = probe_format_find(f.format);
	f.kind = probe_kind(f.fmt, n);
	xsnprintf(f.v.codec, sizeof(f.v.codec), "gif");
	f.v.width = w;
	f.v.height = h;
	f.v.packets = n;
	return f;
}

typedef int (*probe_rule_fn)(const struct conf *, const struct probe_facts *, char **);

/* The rule rejects f with a reason holding want (NULL: it passes f). */
static void rule_is(probe_rule_fn rule, const struct conf *c, const struct probe_facts *f,
		    const char *want, const char *name)
{
	char *why = NULL;
	int rc = rule(c, f, &why);

	if (want)
		ok(rc == 1 && why && strstr(why, want), name);
	else
		ok(rc == 0 && !why, name);
	if (why && (!want || !strstr(why, want)))
		printf("#   reason: '%s'\n", why);
	free(why);
}

static void test_probe_kind(void)
{
	ok(probe_format_find("mov,mp4,m4a,3gp,3g2,mj2") && !strcmp(probe_format_find("mov,mp4")->ext, "mp4"),
	   "mov is accepted, stored as mp4");
	ok(!probe_format_find("hls") && !probe_format_find("rm") && !probe_format_find("mp3") &&
	   !probe_format_find(""), "playlists, RealMedia and audio-only demuxers are not accepted");
	ok(!probe_format_find("movie"), "a demuxer is matched by its whole name");
	ok(probe_kind(probe_format_find("gif"), 2) == MD_KIND_ANIMATED &&
	   probe_kind(probe_format_find("gif"), 1) == MD_KIND_IMAGE,
	   "a GIF of two frames is animated, of one an image");
	ok(probe_kind(probe_format_find("png_pipe"), 5) == MD_KIND_IMAGE,
	   "a still-image demuxer is an image whatever its frames");
	ok(probe_kind(probe_format_find("matroska"), 1) == MD_KIND_VIDEO, "matroska is video");
}

static void test_probe_rules(void)
{
	struct conf c;
	struct probe_facts f;
	struct probe p;
	char *why;

	conf_init(&c);
	f = facts_video();
	ok(probe_decide(&c, &f, &why) == 0 && !why, "a good video passes every rule");

	f.encrypted = 1;
	rule_is(probe_rule_encrypted, &c, &f, "encrypted media", "encrypted media is rejected");
	f.has_video = 0;
	ok(probe_decide(&c, &f, &why) == 1 && strstr(why, "encrypted"),
	   "encrypted is told before audio only");
	free(why);

	f = facts_video();
	rule_is(probe_rule_audio_only, &c, &f, NULL, "video with sound is not audio only");
	f.has_video = 0;
	rule_is(probe_rule_audio_only, &c, &f, "audio only", "sound alone is audio only");
	f.fmt = NULL;
	ok(probe_decide(&c, &f, &why) == 1 && strstr(why, "audio only"),
	   "audio only is told whatever the container");
	free(why);

	f = facts_video();
	f.fmt = probe_format_find("hls");
	xsnprintf(f.format, sizeof(f.format), "hls");
	rule_is(probe_rule_format, &c, &f, "format 'hls' is not accepted", "a playlist's format is refused by name");

	f = facts_video();
	f.has_video = 0;
	f.has_audio = 0;
	rule_is(probe_rule_picture, &c, &f, "no video or image stream", "no stream at all");
	f = facts_video();
	xsnprintf(f.v.codec, sizeof(f.v.codec), "none");
	rule_is(probe_rule_picture, &c, &f, "unsupported video codec", "codec none");
	f = facts_video();
	f.v.width = 0;
	rule_is(probe_rule_picture, &c, &f, "cannot read the picture size (0x48)", "a zero width");
	f = facts_video();
	f.v.width = c.max_width + 1;
	rule_is(probe_rule_picture, &c, &f, "exceeds the limit", "a width over the limit");
	f.v.width = c.max_width;
	rule_is(probe_rule_picture, &c, &f, NULL, "a width at the limit");

	f = facts_video();
	f.duration = c.max_duration + 1;
	rule_is(probe_rule_duration, &c, &f, "exceeds the limit", "a header's duration over the limit");
	f.duration = 1;
	f.decodable = c.max_duration + 1;
	rule_is(probe_rule_duration, &c, &f, "exceeds the limit",
		"packets reaching past the limit, whatever the header says");

	f = facts_video();
	f.v.packets = 0;
	rule_is(probe_rule_frames, &c, &f, "no decodable frame", "no packet read");

	f = facts_video();
	xsnprintf(f.v.time_base, sizeof(f.v.time_base), "1/1");
	f.v.packets = 1;
	f.v.declared = 250;
	rule_is(probe_rule_time_scale, &c, &f, "no valid time scale (1 of 250 frames readable)",
		"a 1/1 time scale that hides declared frames");
	f.v.declared = 1;
	rule_is(probe_rule_time_scale, &c, &f, NULL, "a 1/1 time scale with every frame readable");

	f = facts_video();
	f.duration = 35.2;
	f.decodable = 0.3;
	rule_is(probe_rule_truncated, &c, &f, "truncated: 0.3 s decodable of 35.2 s", "a truncated video");
	f.duration = 10;
	f.decodable = 9.2;
	rule_is(probe_rule_truncated, &c, &f, NULL, "over 90% decodable is whole");
	f.duration = 1;
	f.decodable = 0.6;
	rule_is(probe_rule_truncated, &c, &f, NULL, "under half a second short is whole");
	f.decodable = 0;
	rule_is(probe_rule_truncated, &c, &f, NULL, "no timed packet: not told truncated");
	f = facts_gif(64, 48, 2);
	f.duration = 10;
	f.decodable = 1;
	rule_is(probe_rule_truncated, &c, &f, NULL, "an animation is never truncated");

	f = facts_gif(64, 48, c.max_frames + 1);
	rule_is(probe_rule_animation, &c, &f, "frames exceed the limit", "too many frames");
	f = facts_gif(4000, 4000, 300);
	rule_is(probe_rule_animation, &c, &f, "pixels x 300 frames exceed the limit",
		"too many pixels x frames");
	f = facts_gif(4000, 4000, 1);
	rule_is(probe_rule_animation, &c, &f, NULL, "a single big frame is an image, not an animation");

	f = facts_video();
	probe_fill(&f, &p);
	ok(p.kind == MD_KIND_VIDEO && !strcmp(p.ext, "mp4") && !strcmp(p.mime, "video/mp4") &&
	   p.duration == 10 && p.frames == 250 && p.has_audio && !strcmp(p.acodec, "aac"),
	   "probe_fill: an accepted video's probe");
	probe_release(&p);
	xsnprintf(f.format, sizeof(f.format), "matroska,webm");
	f.fmt = probe_format_find(f.format);
	xsnprintf(f.v.codec, sizeof(f.v.codec), "vp9");
	probe_fill(&f, &p);
	ok(!strcmp(p.ext, "webm") && !strcmp(p.mime, "video/webm"), "VP9 in matroska,webm is WebM");
	probe_release(&p);

	probe_failure_reason("exited with 1: [rm @ 0x55d0] Format not on whitelist 'mov,matroska'",
			     "/tmp/x/tmp.123", &why);
	is_str(why, "format 'rm' is not accepted", "a demuxer off the whitelist is named");
	free(why);
	probe_failure_reason("exited with 1: /tmp/x/tmp.123: Invalid data found when processing input",
			     "/tmp/x/tmp.123", &why);
	ok(why && !strstr(why, "/tmp/x") && strstr(why, "not a readable media file"),
	   "ffprobe's complaint is told without the temp file's path");
	free(why);
	conf_release(&c);
}
