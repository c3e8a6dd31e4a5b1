#!/bin/bash
# 70-media-edges.t - the media edge cases every profile must handle
# (SPEC 6): no audio, odd sizes, rotation, non-square pixels, 10-bit
# input, palette and alpha, variable frame rate, a single frame, moov at
# the end, several audio tracks and odd channel layouts, metadata that
# must not leak.  Each input is made with ffmpeg, run through mp4 and
# thumb, and the outputs are read back with ffprobe.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

E=$MD_TMP/edge
mkdir -p "$E"
SRC="testsrc2=size=320x240:rate=25:duration=1"

ff -f lavfi -i "$SRC" -c:v libx264 -pix_fmt yuv420p "$E/noaudio.mp4"
ff -f lavfi -i "testsrc2=size=321x241:rate=25:duration=1" -c:v libx264 -pix_fmt yuv444p "$E/odd.mkv"
ff -i "$E/noaudio.mp4" -c copy -metadata:s:v:0 rotate=90 "$E/rotated.mp4"
ff -f lavfi -i "$SRC" -vf setsar=2/1 -c:v libx264 "$E/anamorphic.mp4"
ff -f lavfi -i "$SRC" -c:v libx264 -pix_fmt yuv420p10le "$E/tenbit.mp4"
ff -f lavfi -i "testsrc2=size=160x120:rate=10:duration=1" "$E/palette.gif"
ff -f lavfi -i "color=c=red@0.5:size=200x100,format=rgba" -frames:v 1 "$E/alpha.png"
ff -f lavfi -i "testsrc2=size=320x240:rate=30:duration=2" \
	-vf "select='lt(n\,10)+not(mod(n\,7))'" -fps_mode vfr -c:v libx264 "$E/vfr.mkv"
ff -f lavfi -i "$SRC" -frames:v 1 -c:v libx264 "$E/oneframe.mp4"
ff -f lavfi -i "$SRC" -f lavfi -i "sine=f=440:d=1" -f lavfi -i "anullsrc=channel_layout=5.1:sample_rate=48000" \
	-map 0:v -map 1:a -map 2:a -t 1 -c:v libx264 -c:a aac "$E/tracks.mkv"
ff -f lavfi -i "$SRC" -f lavfi -i "sine=f=440:d=1" -c:v libx264 -c:a aac \
	-metadata location="+48.8584+002.2945/" -metadata title=secret-title "$E/moov-end.mp4"

is "$(ls "$E" | wc -l)" 11 "eleven edge-case inputs were made"
ok "moov-end.mp4 has its moov atom after mdat" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if d.find(b"moov") > d.find(b"mdat") else 1)' "$E/moov-end.mp4"

run md-db init
run md-ingest --json "$E"/*
is "$rc" 0 "md-ingest accepts every edge case" || diag "$err"
printf '%s\n' "$out" >"$MD_TMP/ingest.jsonl"
run_in "$MD_TMP/ingest.jsonl" md-enqueue -p mp4,thumb -
is "$rc" 0 "md-enqueue mp4,thumb" || diag "$err"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
like "$out" 'dead=0' "no job died" || diag "$(db_query "SELECT profile, media, last_error FROM jobs WHERE state = 'dead'")"
run md-finalize
is "$rc" 0 "md-finalize"

# rend NAME PROFILE: the rendition of the input $E/NAME
rend() { rendition_of "$E/$1" "$2"; }
streams() { ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$1" | sort | tr '\n' ' '; }

for f in noaudio.mp4 odd.mkv rotated.mp4 anamorphic.mp4 tenbit.mp4 palette.gif vfr.mkv oneframe.mp4 tracks.mkv moov-end.mp4; do
	m=$(rend "$f" mp4)
	if [ -z "$m" ] || [ ! -f "$m" ]; then
		fail "$f: mp4 rendition exists"
		continue
	fi
	w=$(vprop "$m" width); h=$(vprop "$m" height)
	ok "$f: mp4 is H.264 yuv420p" test "$(vprop "$m" codec_name,pix_fmt)" = "h264,yuv420p"
	ok "$f: mp4 has even dimensions (${w}x$h)" test $((w % 2)) -eq 0 -a $((h % 2)) -eq 0
done
for f in noaudio.mp4 odd.mkv rotated.mp4 anamorphic.mp4 tenbit.mp4 palette.gif alpha.png vfr.mkv oneframe.mp4 tracks.mkv moov-end.mp4; do
	t=$(rend "$f" thumb)
	ok "$f: thumbnail is a 320 px wide JPEG" test "$(vprop "$t" codec_name,width 2>/dev/null)" = "mjpeg,320"
done

is "$(streams "$(rend noaudio.mp4 mp4)")" "video " "no audio in: no audio track out"
is "$(streams "$(rend palette.gif mp4)")" "video " "GIF to MP4: video only"
is "$(streams "$(rend tracks.mkv mp4)")" "audio video " "several audio tracks: one audio track out"
is "$(ffprobe -v error -select_streams a:0 -show_entries stream=channels -of csv=p=0 "$(rend tracks.mkv mp4)")" 2 \
	"the audio out is stereo"
r=$(rend rotated.mp4 mp4)
is "$(vprop "$r" width)x$(vprop "$r" height)" "240x320" "rotation is applied: 320x240 turned 90 degrees is 240x320"
is "$(ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation -of csv=p=0 "$r")" "" \
	"the output carries no rotation of its own"
a=$(rend anamorphic.mp4 mp4)
is "$(vprop "$a" width)x$(vprop "$a" height)" "640x240" "non-square pixels are made square (SAR 2:1 -> 640x240)"
is "$(vprop "$a" sample_aspect_ratio)" "1:1" "the output's pixels are square"
is "$(vprop "$(rend odd.mkv mp4)" width)x$(vprop "$(rend odd.mkv mp4)" height)" "320x240" \
	"321x241 becomes 320x240"
ok "the 10-bit input comes out 8-bit" test "$(vprop "$(rend tenbit.mp4 mp4)" pix_fmt)" = yuv420p
ok "a single-frame video still gets a thumbnail" test -s "$(rend oneframe.mp4 thumb)"
mm=$(rend moov-end.mp4 mp4)
ok "the mp4 output is faststart (moov before mdat)" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if 0 <= d.find(b"moov") < d.find(b"mdat") else 1)' "$mm"
tags=$(ffprobe -v error -show_entries format_tags -of flat "$mm")
unlike "$tags" 'location|secret-title' "input metadata (GPS location, title) does not leak into the output"

done_testing
