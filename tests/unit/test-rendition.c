/*
 * test-rendition.c - what the read side shows of a post's renditions
 * (lib/rendition.c), from lists as the stores aggregate them.  Included
 * by test-lib.c.
 */
#include "rendition.h"

static void rendition_is(const char *agg, const char *want, const char *want_ph, const char *name)
{
	struct strbuf sb = STRBUF_INIT;
	char *ph;

	rendition_list(agg, &sb, &ph);
	is_str(sb.buf, want, name);
	if (want_ph)
		is_str(ph, want_ph, "and its placeholder");
	else
		ok(!ph, "and no placeholder");
	free(ph);
	sb_release(&sb);
}

static void test_rendition_list(void)
{
	rendition_is(NULL, "[]", NULL, "no list: []");
	rendition_is("[not json", "[]", NULL, "a list that is not JSON: []");
	rendition_is("[]", "[]", NULL, "no rendition: []");
	rendition_is("[{\"profile\":\"mp4\",\"url\":\"u/video.mp4\",\"bytes\":1000,\"metadata\":"
		     "{\"output_probe\":{\"streams\":[{\"codec_type\":\"audio\"},{\"codec_type\":\"video\","
		     "\"width\":640,\"height\":360,\"nb_read_frames\":\"50\",\"duration\":\"2.000000\"}],"
		     "\"format\":{\"duration\":\"2.040000\"}}}},"
		     "{\"profile\":\"thumb\",\"url\":\"u/thumb.jpg\",\"bytes\":9,\"metadata\":"
		     "{\"output_probe\":{\"streams\":[{\"codec_type\":\"video\",\"width\":320,"
		     "\"height\":180,\"nb_read_frames\":\"1\",\"duration\":\"0.04\"}]},"
		     "\"blurhash\":\"LP5?}kt:fQt:t:kYfQkYfQfQfQfQ\"}}]",
		     "[{\"profile\":\"mp4\",\"url\":\"u/video.mp4\",\"bytes\":1000,\"width\":640,\"height\":360,"
		     "\"duration\":2.040,\"frames\":50},"
		     "{\"profile\":\"thumb\",\"url\":\"u/thumb.jpg\",\"bytes\":9,\"width\":320,\"height\":180,"
		     "\"placeholder\":\"LP5?}kt:fQt:t:kYfQkYfQfQfQfQ\"}]",
		     "LP5?}kt:fQt:t:kYfQkYfQfQfQfQ",
		     "video: size, format duration, frames; still: size and placeholder, no duration");
	rendition_is("[{\"profile\":\"frames\",\"url\":\"u/frames.zip\",\"bytes\":5,\"metadata\":"
		     "{\"frame_times\":[0,1,2]}},"
		     "{\"profile\":\"hls\",\"url\":\"u/hls/master.m3u8\",\"bytes\":7,\"metadata\":"
		     "{\"width\":1280,\"height\":720,\"duration\":3.5,\"frames\":[0.0]}},"
		     "{\"profile\":\"odd\",\"url\":\"u/x\",\"bytes\":\"x\",\"metadata\":null}]",
		     "[{\"profile\":\"frames\",\"url\":\"u/frames.zip\",\"bytes\":5,\"frames\":3},"
		     "{\"profile\":\"hls\",\"url\":\"u/hls/master.m3u8\",\"bytes\":7,\"width\":1280,"
		     "\"height\":720,\"duration\":3.500,\"frames\":1},"
		     "{\"profile\":\"odd\",\"url\":\"u/x\",\"bytes\":0}]",
		     NULL, "the metadata's own facts first; a count from a list; no metadata: the URL");
	rendition_is("[{\"profile\":\"big\",\"url\":\"u\",\"bytes\":1e300,\"metadata\":"
		     "{\"width\":1e300,\"height\":2,\"duration\":-1,\"frames\":\"x\"}}]",
		     "[{\"profile\":\"big\",\"url\":\"u\",\"bytes\":0}]", NULL,
		     "sizes out of range, a negative duration, a count that is no number: not shown");
	rendition_is("[{\"profile\":\"a\",\"url\":\"a\",\"bytes\":1,\"metadata\":{\"blurhash\":\"00S?DV\"}},"
		     "{\"profile\":\"b\",\"url\":\"b\",\"bytes\":1,\"metadata\":{\"blurhash\":\"<b>\"}}]",
		     "[{\"profile\":\"a\",\"url\":\"a\",\"bytes\":1,\"placeholder\":\"00S?DV\"},"
		     "{\"profile\":\"b\",\"url\":\"b\",\"bytes\":1}]",
		     "00S?DV", "a placeholder that is not a BlurHash is not shown; no thumb: the first");
	rendition_is("[{\"profile\":\"a\",\"url\":\"a\",\"bytes\":1,\"metadata\":{\"blurhash\":\"00S?DV\"}},"
		     "{\"profile\":\"thumb\",\"url\":\"t\",\"bytes\":1,\"metadata\":{\"blurhash\":\"00O?Cp\"}}]",
		     "[{\"profile\":\"a\",\"url\":\"a\",\"bytes\":1,\"placeholder\":\"00S?DV\"},"
		     "{\"profile\":\"thumb\",\"url\":\"t\",\"bytes\":1,\"placeholder\":\"00O?Cp\"}]",
		     "00O?Cp", "the post's placeholder is the thumb's");
	is_str(rendition_mime("https://cdn/x/hls/1-1/master.m3u8"), "application/vnd.apple.mpegurl",
	       "rendition_mime: an HLS master");
	is_str(rendition_mime("r/video.mp4?sig=a.b#t=1"), "video/mp4",
	       "rendition_mime: the query and fragment are not the name");
	is_str(rendition_mime("r/WEB.JPG"), "image/jpeg", "rendition_mime: any case");
	is_str(rendition_mime("r/frames.zip"), "application/zip", "rendition_mime: the frames' ZIP");
	is_str(rendition_mime("r.d/out"), "application/octet-stream",
	       "rendition_mime: no extension in the name");
	is_str(rendition_mime("r/x.mkv"), "application/octet-stream", "rendition_mime: one it does not know");
}
