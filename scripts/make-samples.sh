#!/bin/sh
# make-samples.sh - generate small sample media with ffmpeg's lavfi sources.
#
#   make-samples.sh DIR        good samples:
#       video.mp4    2 s 320x240 H.264 + AAC (has sound), with a title and
#                    a GPS location in its metadata
#       silent.webm  2 s 320x240 VP8, no audio stream
#       anim.gif     1 s, 10 frames, 160x120
#       still.png    320x240
#       photo.jpg    320x240
#   make-samples.sh --bad DIR  bad inputs (every one must be rejected):
#       empty.mp4        zero bytes
#       truncated.mp4    the first 2000 bytes of a real MP4 (moov at end)
#       text.jpg         a text file named .jpg
#       playlist.mp4     an HLS playlist named .mp4
#       drawing.svg      an SVG image
#       huge.png         a 12000x12000 PNG (over the 8192 limit)
#
# Everything is small and made in a few seconds.  Exit 0 on success; an
# ffmpeg failure stops the script (set -e) with ffmpeg's error on stderr.
set -eu

usage() {
	echo "usage: make-samples.sh [--bad] DIR" >&2
	exit 64
}

bad=0
case ${1-} in
--bad) bad=1; shift ;;
-h|--help) echo "usage: make-samples.sh [--bad] DIR"; exit 0 ;;
-*) usage ;;
esac
[ $# -eq 1 ] || usage
dir=$1
mkdir -p "$dir"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

if [ "$bad" -eq 0 ]; then
	ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
	   -f lavfi -i sine=frequency=440:sample_rate=44100:duration=2 \
	   -map 0:v -map 1:a -c:v libx264 -preset ultrafast -pix_fmt yuv420p \
	   -c:a aac -b:a 64k -shortest \
	   -metadata title="md-sample-title" -metadata location="+48.8584+002.2945/" \
	   "$dir/video.mp4"
	ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
	   -an -c:v libvpx -deadline realtime -cpu-used 8 -b:v 300k \
	   "$dir/silent.webm"
	ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=1 \
	   -frames:v 10 "$dir/anim.gif"
	ff -f lavfi -i testsrc2=size=320x240 -frames:v 1 "$dir/still.png"
	ff -f lavfi -i testsrc2=size=320x240 -frames:v 1 -q:v 4 "$dir/photo.jpg"
	exit 0
fi

: > "$dir/empty.mp4"
# A real MP4 cut short: without +faststart the moov atom is at the end, so
# what is left has no moov at all.
t=$dir/.full.$$.mp4
ff -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
   -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$t"
head -c 2000 "$t" > "$dir/truncated.mp4"
rm -f "$t"
printf 'this is not an image\njust some text\n' > "$dir/text.jpg"
cat > "$dir/playlist.mp4" <<'M3U'
#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:4
#EXT-X-MEDIA-SEQUENCE:0
#EXTINF:4.0,
segment0.ts
#EXTINF:4.0,
file:///etc/passwd
#EXT-X-ENDLIST
M3U
cat > "$dir/drawing.svg" <<'SVG'
<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100">
  <circle cx="50" cy="50" r="40" fill="red"/>
</svg>
SVG
# 1-bit pixels keep the file (and ffmpeg's memory) small.
ff -f lavfi -i color=c=black:size=12000x12000,format=gray -frames:v 1 \
   -pix_fmt monob "$dir/huge.png"
