/*
 * test-source.c - what a job learns of its source (lib/source.c):
 * ffprobe's flat text read, the copy rule and the crop filter.
 * Included by test-lib.c.
 */
#include "source.h"

static const char ready_flat[] =
	"streams.stream.0.codec_type=\"video\"\n"
	"streams.stream.0.codec_name=\"h264\"\n"
	"streams.stream.0.profile=\"High\"\n"
	"streams.stream.0.pix_fmt=\"yuv420p\"\n"
	"streams.stream.0.color_range=\"tv\"\n"
	"streams.stream.0.width=640\n"
	"streams.stream.0.height=360\n"
	"streams.stream.0.coded_width=640\n"
	"streams.stream.0.coded_height=368\n"
	"streams.stream.0.sample_aspect_ratio=\"1:1\"\n"
	"streams.stream.0.avg_frame_rate=\"25/1\"\n"
	"streams.stream.0.r_frame_rate=\"25/1\"\n"
	"streams.stream.1.codec_type=\"audio\"\n"
	"streams.stream.1.codec_name=\"aac\"\n"
	"streams.stream.1.channels=2\n"
	"format.duration=\"2.000000\"\n"
	"format.bit_rate=\"1200000\"\n";

static void test_source(void)
{
	struct source s;
	char crop[160];

	source_parse(ready_flat, &s);
	ok(s.width == 640 && s.coded_height == 368 && s.has_audio && s.channels == 2 &&
	   s.bit_rate == 1200000 && s.duration == 2.0, "source_parse reads sizes, audio, bit rate");
	ok(source_can_copy(&s, 1280, 5000), "H.264 High 640x360 at 1.2 Mbit/s is copied");
	ok(!source_can_copy(&s, 1280, 1000), "over the bit rate cap it is not");
	ok(source_can_copy(&s, 1280, 0), "no cap: copied");
	s.bit_rate = 0;
	ok(!source_can_copy(&s, 1280, 5000), "a bit rate not known is over a cap");
	s.bit_rate = 1200000;
	ok(!source_can_copy(&s, 320, 5000), "over the size cap it is not");

	/* 1080p coded as 1088 lines: the decoder crops the bottom itself */
	source_crop(&s, crop, sizeof(crop));
	is_str(crop, "crop=w='if(eq(iw,640),640,iw)':h='if(eq(ih,368),360,ih)'"
	       ":x='iw-ow':y='ih-oh':exact=1", "a coded frame larger than the picture is cut to it");
	s.coded_height = 360;
	source_crop(&s, crop, sizeof(crop));
	is_str(crop, "null", "a frame the size of the picture is left alone");
	s.coded_width = 0;
	source_crop(&s, crop, sizeof(crop));
	is_str(crop, "null", "an unknown coded size is left alone");
	/* a Theora picture 39x31 in a 48x32 frame, turned a quarter */
	s.width = 39, s.height = 31, s.coded_width = 48, s.coded_height = 32, s.rotation = -90;
	source_crop(&s, crop, sizeof(crop));
	is_str(crop, "crop=w='if(eq(iw,32),31,iw)':h='if(eq(ih,48),39,ih)'"
	       ":x='iw-ow':y='ih-oh':exact=1", "a turned source's sizes are turned too");

	/* kept in the probe JSON and read back by the worker: exactly */
	struct source a, b;
	struct strbuf j = STRBUF_INIT;

	source_parse(ready_flat, &a);
	a.fps = 30000.0 / 1001, a.rotation = -90, a.sar_num = 4, a.sar_den = 3;
	xsnprintf(a.transfer, sizeof(a.transfer), "smpte2084");
	source_json(&a, &j);
	ok(!source_from_json(j.buf, &b) && !memcmp(&a, &b, sizeof(a)),
	   "source_json, source_from_json: every field back as it was");
	ok(source_is_hdr(&b) && b.fps == 30000.0 / 1001, "an HDR transfer and an NTSC rate survive");
	sb_reset(&j);
	source_parse("streams.stream.0.codec_type=\"video\"\n", &a);
	source_json(&a, &j);
	ok(!source_from_json(j.buf, &b) && !memcmp(&a, &b, sizeof(a)),
	   "a source of which nothing is known comes back the same too");
	sb_release(&j);
	ok(source_from_json(NULL, &b) == -1 && source_from_json("", &b) == -1 &&
	   source_from_json("[1]", &b) == -1 && source_from_json("{\"width\":1}", &b) == -1 &&
	   source_from_json("{\"video_codec\":", &b) == -1,
	   "source_from_json: nothing, not an object, not a source, broken: -1");
	ok(!source_from_json("{\"video_codec\":7,\"width\":-3,\"height\":1e99,\"sar\":[1,0],"
			     "\"rotation\":720,\"fps\":\"25\",\"channels\":300,\"bit_rate\":-1,"
			     "\"audio_codec\":false}", &b) &&
	   !*b.vcodec && b.width == 0 && b.height == 0 && b.sar_num == 0 && b.sar_den == 1 &&
	   b.rotation == 0 && b.fps == 0 && b.channels == 0 && b.bit_rate == 0 && !b.has_audio,
	   "source_from_json: wrong types and values out of range read as unknown");

	source_parse("streams.stream.0.codec_type=\"video\"\nformat.bit_rate=\"junk\"\n"
		     "streams.stream.0.coded_width=\"-5\"\n", &s);
	ok(s.bit_rate == 0 && s.coded_width == 0, "junk reads as unknown");
}
