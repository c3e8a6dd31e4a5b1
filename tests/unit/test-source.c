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

	source_parse("streams.stream.0.codec_type=\"video\"\nformat.bit_rate=\"junk\"\n"
		     "streams.stream.0.coded_width=\"-5\"\n", &s);
	ok(s.bit_rate == 0 && s.coded_width == 0, "junk reads as unknown");
}
