/*
 * vfilter.h - the pieces of the video renditions' ffmpeg commands that
 * every video profile shares (mp4 in conf.c, each rung of hls in hls.c),
 * written once so that the rules of SPEC section 6 cannot drift apart:
 * square pixels, BT.709 limited-range 4:2:0 tagged so, at most 60 fps.
 *
 * Strings only, to splice into argv arrays and filter graphs.
 */
#ifndef MD_VFILTER_H
#define MD_VFILTER_H

/*
 * One scale to the final size: square pixels (the width times the
 * source's SAR), the long side capped at n, each side rounded down to an even
 * number, at least 2.  setsar=1 comes last: the scale keeps the display
 * aspect by adjusting the SAR, and rounding would leave 853:852.
 */
#define DISPLAY_W "iw*sar"
#define FIT(n) "min(1," #n "/max(" DISPLAY_W ",ih))"
#define CAP(n) "scale=w='max(2,2*trunc(" DISPLAY_W "*" FIT(n) "/2))'" \
	":h='max(2,2*trunc(ih*" FIT(n) "/2))'"

/* After a scale's size: full range and any matrix to limited-range
 * BT.709, 8-bit 4:2:0, square pixels. */
#define TO_BT709 ":out_range=tv:out_color_matrix=bt709,format=yuv420p,setsar=1"

/* Timing: frames keep their own timestamps on a 1/60 s grid (at most 60
 * fps, none added). */
#define VFR_60 "-fps_mode", "vfr", "-r", "60"

/* H.264 of the rendition, tagged limited-range BT.709. */
#define H264_BT709 "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", \
	"-threads", "{threads}", "-pix_fmt", "yuv420p", "-color_range", "tv", \
	"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709"

/* Stereo AAC-LC. */
#define AAC_STEREO "-c:a", "aac", "-b:a", "128k", "-ac", "2"

/* setts: the last frame holds to the source's end ({duration}). */
#define HOLD_LAST "setts=pts=PTS:dts=DTS:duration='max(DURATION,{duration}/TB-PTS)'"

#endif
