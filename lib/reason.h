/*
 * reason.h - make a message from ffmpeg or ffprobe fit to be a reason.
 *
 * A reason is what a person reads to act on a rejected file or a dead
 * job: one line, naming the component that complained, with no run-time
 * detail that differs from run to run.  FFmpeg prefixes its log lines
 * with the logging context and its address ("[mp3 @ 0x55d0c1a2b640]",
 * nested as "[bmp @ 0x55…] [IMGUTILS @ 0x7ffc…]"): the name is kept, the
 * address is dropped.
 */
#ifndef MD_REASON_H
#define MD_REASON_H

/*
 * Reduce every "[name @ 0xHEX]" in s to "[name]", in place, and turn any
 * line break or other control character into a space, and cut the
 * trailing spaces.  Returns s.  Text
 * that is not of that form (a "0x00 at pos 12" in ffmpeg's words) is
 * left alone.
 */
char *reason_clean(char *s);

#endif
