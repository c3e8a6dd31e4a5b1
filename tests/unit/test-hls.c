/*
 * test-hls.c - the hls rendition's pure parts (lib/hls.c): the ladder and
 * its rungs, the encode's arguments, media playlists read and written, the
 * rates, the codec from an avcC box, the master playlist.
 * Included by test-lib.c.
 */
#include "hls.h"
#include "vfilter.h"

static void test_hls_ladder(void)
{
	int l[HLS_MAX_RUNGS];

	ok(hls_parse_ladder("360,720,1080", l) == 3 && l[0] == 360 && l[2] == 1080,
	   "hls.ladder: 360,720,1080 reads three rungs");
	ok(hls_parse_ladder("1080, 360 ,720,360", l) == 3 && l[0] == 360 && l[1] == 720,
	   "hls.ladder: sorted, spaces allowed, duplicates dropped");
	ok(hls_parse_ladder("2,8192", l) == 2, "hls.ladder: 2 and 8192 are the bounds");
	ok(hls_parse_ladder("", l) == -1 && hls_parse_ladder("360,", l) == -1 &&
	   hls_parse_ladder("361", l) == -1 && hls_parse_ladder("0", l) == -1 &&
	   hls_parse_ladder("8194", l) == -1 && hls_parse_ladder("-360", l) == -1 &&
	   hls_parse_ladder("360p", l) == -1 && hls_parse_ladder("1,2,4,6,8,10,12,14,16", l) == -1 &&
	   hls_parse_ladder("99999999999999999999", l) == -1,
	   "hls.ladder: empty, odd, out of range, signed, suffixed, too many, huge refused");

	static const char flat[] = "hls:\n  ladder: 480,240\n", list[] = "hls:\n  ladder: [720, 360]\n";
	static const char odd[] = "hls:\n  ladder: 361\n", key[] = "hls:\n  ladders: 360\n";
	struct conf c;
	conf_init(&c);
	ok(c.hls_nladder == 3 && c.hls_ladder[1] == 720 && conf_profile(&c, "hls") &&
	   conf_profile(&c, "hls")->output_kind == OUTPUT_HLS, "the built-in hls: 360,720,1080");
	ok(!conf_load_buffer(&c, "h.yaml", flat, sizeof(flat) - 1) && c.hls_nladder == 2 &&
	   c.hls_ladder[0] == 240, "hls.ladder in the config, a comma list");
	ok(!conf_load_buffer(&c, "h.yaml", list, sizeof(list) - 1) && c.hls_nladder == 2 &&
	   c.hls_ladder[1] == 720, "hls.ladder in the config, a YAML list");
	ok(conf_load_buffer(&c, "h.yaml", odd, sizeof(odd) - 1) == MD_EXIT_CONFIG &&
	   conf_load_buffer(&c, "h.yaml", key, sizeof(key) - 1) == MD_EXIT_CONFIG &&
	   c.hls_nladder == 2, "a bad ladder or key under hls: refused, the ladder kept");
	conf_release(&c);
}

static void test_hls_rungs(void)
{
	int l[] = { 360, 720, 1080 };
	struct hls_rung r[HLS_MAX_RUNGS];
	struct source s = { .width = 1920, .height = 1080 };

	ok(hls_rungs(l, 3, &s, r) == 3 && r[0].width == 640 && r[0].height == 360 &&
	   r[2].width == 1920 && r[2].height == 1080 && !strcmp(r[1].name, "720p"),
	   "1080p landscape: 640x360, 1280x720, 1920x1080");
	s = (struct source){ .width = 1280, .height = 720 };
	ok(hls_rungs(l, 3, &s, r) == 2 && r[1].height == 720, "720p: no rung above the source");
	s = (struct source){ .width = 320, .height = 240 };
	ok(hls_rungs(l, 3, &s, r) == 1 && r[0].width == 320 && r[0].height == 240 &&
	   !strcmp(r[0].name, "240p"), "a source below the lowest rung: one rung of its own size");
	s = (struct source){ .width = 1920, .height = 1080, .rotation = -90 };
	ok(hls_rungs(l, 3, &s, r) == 3 && r[0].width == 360 && r[0].height == 640,
	   "rotated: the rungs are upright, sized by the short side");
	s = (struct source){ .width = 720, .height = 576, .sar_num = 16, .sar_den = 11 };
	ok(hls_rungs(l, 3, &s, r) == 1 && r[0].width == 654 && r[0].height == 360,
	   "non-square pixels: the display aspect, both sides even");
	s = (struct source){ .width = 333, .height = 199 };
	ok(hls_rungs(l, 3, &s, r) == 1 && r[0].height == 198 && r[0].width == 332,
	   "odd sides: even rung of its own size");
	s = (struct source){ 0 };
	ok(hls_rungs(l, 3, &s, r) == 0, "unknown size: no rung");
}

static int has_pair(char **a, const char *k, const char *v)
{
	for (int i = 0; a[i] && a[i + 1]; i++)
		if (!strcmp(a[i], k) && !strcmp(a[i + 1], v))
			return 1;
	return 0;
}

static void test_hls_args(void)
{
	int l[] = { 360, 720 };
	struct hls_rung r[HLS_MAX_RUNGS];
	struct source s = { .width = 1280, .height = 720 };
	int n = hls_rungs(l, 2, &s, r);
	char **a;

	s.has_audio = 1;
	s.duration = 2;
	s.max_fps = 25;
	a = hls_args(r, n, &s);

	ok(has_pair(a, "-filter_complex", "[0:v:0]{crop},{tonemap},"
		    "tpad=stop_mode=clone:stop_duration={duration},split=2[s0][s1];"
		    "[s0]scale=w=640:h=360" TO_BT709 "[v0];[s1]scale=w=1280:h=720" TO_BT709 "[v1]"),
	   "one decode, the last frame held, split to every rung, each scaled with the mp4 colour rules");
	ok(has_pair(a, "-t", "{duration}"), "every stream cut at the source's end");
	ok(has_pair(a, "-fps_mode", "cfr") && has_pair(a, "-r", "25.000000"),
	   "frames at the source's rate, constant");
	ok(has_pair(a, "-var_stream_map",
		    "v:0,agroup:aud,name:360p v:1,agroup:aud,name:720p a:0,agroup:aud,name:audio"),
	   "with sound: one audio rendition in the group every variant names");
	ok(has_pair(a, "-map", "0:a:0") && has_pair(a, "-sc_threshold", "0") &&
	   has_pair(a, "-force_key_frames", "expr:gte(t,n_forced*4)") &&
	   has_pair(a, "-hls_segment_type", "fmp4") && has_pair(a, "-hls_time", "4") &&
	   has_pair(a, "-map_metadata", "-1"),
	   "keyframes on the 4 s grid, no scene cuts, fMP4, metadata dropped");
	hls_args_free(a);
	s = (struct source){ .width = 1280, .height = 720 };
	a = hls_args(r, 1, &s);
	ok(has_pair(a, "-var_stream_map", "v:0,name:360p") && !has_pair(a, "-map", "0:a:0"),
	   "without sound: no audio mapped nor grouped");
	ok(!has_pair(a, "-t", "{duration}") && has_pair(a, "-filter_complex",
		"[0:v:0]{crop},{tonemap},split=1[s0];[s0]scale=w=640:h=360" TO_BT709 "[v0]"),
	   "a source of unknown duration: nothing held, nothing cut");
	hls_args_free(a);
}

static const char media_pl[] =
	"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
	"#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"init_1.mp4\"\n"
	"#EXTINF:4.000000,\nseg-00000.m4s\n#EXTINF:4.000000,\nseg-00001.m4s\r\n"
	"#EXTINF:1.022396,\nseg-00002.m4s\n#EXT-X-ENDLIST\n";

static void test_hls_playlist(void)
{
	struct strbuf why = STRBUF_INIT, t = STRBUF_INIT;
	struct hls_playlist pl, again;
	int64_t peak, avg;

	ok(!hls_playlist_parse(media_pl, &pl, &why) && pl.nseg == 3 && pl.version == 7 &&
	   pl.target == 4 && pl.vod && pl.endlist && !strcmp(pl.map, "init_1.mp4") &&
	   !strcmp(pl.seg[1].uri, "seg-00001.m4s") && fabs(pl.seg[2].duration - 1.022396) < 1e-9,
	   "ffmpeg's media playlist parses (CRLF too)");
	ok(fabs(hls_playlist_duration(&pl) - 9.022396) < 1e-9, "its duration is the EXTINFs' sum");
	pl.seg[0].bytes = 100000;
	pl.seg[1].bytes = 50000;
	pl.seg[2].bytes = 10000;
	pl.seg[2].duration = 2;
	hls_playlist_rates(&pl, 1000, &peak, &avg);
	ok(peak == 202000 && avg == 161000 * 8 / 10,
	   "peak: the init with the first segment, bits over its EXTINF; average: all over all");
	hls_playlist_write(&pl, &t);
	ok(!hls_playlist_parse(t.buf, &again, &why) && again.nseg == 3 &&
	   fabs(again.seg[2].duration - 2) < 1e-9 && !strcmp(again.map, "init_1.mp4"),
	   "a written playlist parses back the same");
	ok(strstr(t.buf, "#EXT-X-TARGETDURATION:4\n") && strstr(t.buf, "#EXT-X-ENDLIST\n"),
	   "written: the target duration, the end");
	hls_playlist_release(&again);
	hls_playlist_release(&pl);

	static const char *const bad[] = {
		"", "#EXTM3\n", "#EXTM3U\n#EXTINF:4,\nseg.m4s\n",
		"#EXTM3U\nseg.m4s\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXTINF:4,\n../etc/passwd\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXTINF:4,\nhttp://x/y.m4s\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXTINF:4,\n.hidden\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXT-X-MAP:URI=\"/abs/init.mp4\"\n#EXTINF:4,\ns.m4s\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXTINF:-4,\ns.m4s\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXTINF:1e9,\ns.m4s\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXT-X-ENDLIST\n",
		"#EXTM3U\n#EXT-X-ENDLIST\n#EXTINF:4,\ns.m4s\n",
		NULL
	};
	int refused = 0;
	for (int i = 0; bad[i]; i++) {
		sb_reset(&why);
		refused += hls_playlist_parse(bad[i], &pl, &why) == -1 && why.len;
	}
	ok(refused == 12, "bad playlists refused with a reason: no header, no end, no EXTINF, "
	   "a path or URL, a hidden name, a bad duration, no segment, one after the end");
	sb_release(&t);
	sb_release(&why);
}

static void test_hls_master(void)
{
	static const unsigned char init[] = {
		0, 0, 0, 8, 'f', 't', 'y', 'p', 0, 0, 0, 20, 'a', 'v', 'c', 'C', 1, 0x64, 0x00, 0x1f, 0xff
	};
	struct hls_variant v[2] = {
		{ "360p/index.m3u8", 600000, 500000, "", 640, 360, 30, 4 },
		{ "720p/index.m3u8", 2000000, 1500000, "", 1280, 720, 29.97, 4 },
	};
	struct strbuf m = STRBUF_INIT;
	struct source s = { .max_fps = 30000.0 / 1001 };

	ok(!hls_avc_codec(init, sizeof(init), v[0].codecs, sizeof(v[0].codecs)) &&
	   !strcmp(v[0].codecs, "avc1.64001f"), "avc1.PPCCLL from the avcC box");
	ok(hls_avc_codec(init, 12, v[1].codecs, sizeof(v[1].codecs)) == -1,
	   "no avcC box: no codec");
	ok(fabs(hls_frame_rate(&s) - 29.97) < 0.001, "FRAME-RATE: the source's base rate");
	s.max_fps = 90000;
	ok(hls_frame_rate(&s) == 60, "FRAME-RATE: at most the 60 fps grid");
	xsnprintf(v[1].codecs, sizeof(v[1].codecs), "avc1.64001f,mp4a.40.2");
	xsnprintf(v[0].codecs, sizeof(v[0].codecs), "avc1.64001e,mp4a.40.2");
	hls_master_write(v, 2, "audio/index.m3u8", &m);
	is_str(m.buf,
	       "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n"
	       "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio\",DEFAULT=YES,"
	       "AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/index.m3u8\"\n"
	       "#EXT-X-STREAM-INF:BANDWIDTH=600000,AVERAGE-BANDWIDTH=500000,"
	       "CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=30.000,"
	       "AUDIO=\"aud\"\n360p/index.m3u8\n"
	       "#EXT-X-STREAM-INF:BANDWIDTH=2000000,AVERAGE-BANDWIDTH=1500000,"
	       "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=29.970,"
	       "AUDIO=\"aud\"\n720p/index.m3u8\n",
	       "the master: the audio group, then each variant with every attribute");
	sb_reset(&m);
	hls_master_write(v, 1, NULL, &m);
	ok(!strstr(m.buf, "EXT-X-MEDIA") && !strstr(m.buf, "AUDIO="),
	   "without sound: no audio group named");
	ok(strcmp("1080p", HLS_MASTER) < 0 && strcmp("360p", HLS_MASTER) < 0 &&
	   strcmp(HLS_AUDIO, HLS_MASTER) < 0,
	   "every folder sorts before the master, which is published last");
	sb_release(&m);
}

static void test_hls(void)
{
	test_hls_ladder();
	test_hls_rungs();
	test_hls_args();
	test_hls_playlist();
	test_hls_master();
}
