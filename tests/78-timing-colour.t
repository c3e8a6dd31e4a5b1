#!/bin/bash
# 78-timing-colour.t - what the mp4 and thumb profiles promise of timing
# and colour: a variable frame rate and an animation's delays kept with
# the hold of their last frame, at most 60 fps; full range, 10-bit, HDR
# and non-square or odd-sized inputs all made limited-range 8-bit
# BT.709 yuv420p with square pixels and even sizes; and a source that is
# already what the mp4 profile makes is copied, not encoded again.  Each
# input is made with ffmpeg, each rendition read back with ffprobe.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

E=$MD_TMP/src
mkdir -p "$E"
T="testsrc2=size=320x240:rate=10:duration=2"

# VFR: frames 55 to 145 ms apart, the last held 1.5 s (setts gives the
# last packet its duration; the track's time scale is setts's time base)
ff -f lavfi -i "$T" -vf "settb=1/1000,setpts='(N*0.1+if(mod(N,3),0,0.045))/TB'" \
	-fps_mode passthrough -enc_time_base 1:1000 -video_track_timescale 1000 \
	-c:v libx264 -bf 0 -pix_fmt yuv420p \
	-bsf:v "setts=duration='if(gte(PTS*TB,1.85),1.5/TB,DURATION)'" "$E/vfr.mp4"
# a GIF with uneven delays whose last frame is held 3 s: its last
# Graphic Control Extension's delay patched to 300 hundredths
ff -f lavfi -i "testsrc2=size=161x121:rate=10:duration=2" \
	-vf "settb=1/100,setpts='(N*0.1+if(mod(N,4),0,0.03))/TB'" -fps_mode passthrough "$E/hold.gif"
off=$(LC_ALL=C grep -obUaP '\x21\xf9\x04' "$E/hold.gif" | tail -1 | cut -d: -f1)
printf '\054\001' | dd of="$E/hold.gif" bs=1 seek=$((off + 4)) conv=notrunc status=none
# full range: white and black MJPEG (yuvj420p), and white MPEG-4 part 2
# in yuv420p that only the container's colr box says is full range
ff -f lavfi -i "color=white:size=320x240:rate=10:duration=1,drawbox=w=160:h=240:color=black:t=fill" \
	-pix_fmt yuvj420p -c:v mjpeg "$E/fullrange.mkv"
ff -f lavfi -i "color=white:size=176x144:rate=10:duration=1" -vf "scale=out_range=full,format=yuv420p" \
	-color_range pc -color_primaries bt470bg -color_trc bt709 -colorspace bt470bg -c:v mpeg4 \
	-movflags +write_colr "$E/pc.mp4"
# 10-bit, and HDR: 10-bit with PQ and BT.2020 tags
ff -f lavfi -i "$T" -c:v libx264 -pix_fmt yuv420p10le "$E/tenbit.mkv"
ff -f lavfi -i "testsrc2=size=640x360:rate=10:duration=1" -c:v libx264 -pix_fmt yuv420p10le \
	-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc "$E/hdr.mkv"
# odd size, pixels 10:11 (NTSC DV-like)
ff -f lavfi -i "testsrc2=size=321x241:rate=10:duration=1" -vf setsar=10/11 \
	-c:v libx264 -pix_fmt yuv444p "$E/odd-sar.mkv"
# 120 frames a second
ff -f lavfi -i "testsrc2=size=320x240:rate=120:duration=1" -c:v libx264 -preset ultrafast \
	-pix_fmt yuv420p "$E/fast.mp4"
# already right: H.264 High, yuv420p limited range, square pixels, stereo AAC
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=2" -f lavfi -i "sine=d=2" \
	-c:v libx264 -profile:v high -pix_fmt yuv420p -color_range tv -c:a aac -ac 2 -shortest "$E/ready.mp4"
# the same, but 33 Mbit/s of noise: over the copy's bit rate cap
ff -f lavfi -i "nullsrc=s=640x360:r=25:d=1,geq=lum='random(1)*255':cb=128:cr=128" \
	-c:v libx264 -profile:v high -crf 10 -pix_fmt yuv420p -color_range tv "$E/heavy.mp4"
# a Theora picture 39x31 at column 9 of a 48x32 frame whose left 8
# columns are green: the decoder cannot crop at column 9 and hands on
# frames 48 wide, the green still in them (identification header patched,
# the page's CRC written again)
ff -f lavfi -i "color=gray:size=48x32:rate=10:duration=1" \
	-vf "drawbox=x=0:y=0:w=8:h=32:color=0x00ff00:t=fill" -c:v libtheora -q:v 10 "$E/frame.ogv"
python3 - "$E/frame.ogv" "$E/offset.ogv" <<'PY'
import sys
d = bytearray(open(sys.argv[1], 'rb').read())
i = d.index(b'\x80theora')
d[i + 14:i + 17] = (39).to_bytes(3, 'big')   # picture width
d[i + 17:i + 20] = (31).to_bytes(3, 'big')   # picture height
d[i + 20], d[i + 21] = 9, 0                   # offset from the left, bottom
def crc(b):
    c = 0
    for x in b:
        c ^= x << 24
        for _ in range(8):
            c = (c << 1) ^ 0x104c11db7 if c & 0x80000000 else c << 1
    return c
n = d[26]
end = 27 + n + sum(d[27:27 + n])
d[22:26] = bytes(4)
d[22:26] = crc(d[:end]).to_bytes(4, 'little')
open(sys.argv[2], 'wb').write(d)
PY
rm -f "$E/frame.ogv"
is "$(ls "$E" | wc -l)" 11 "eleven inputs were made"

run md-db init
run md-ingest -e mp4,thumb "$E"/*
is "$rc" 0 "md-ingest -e mp4,thumb accepts every input" || diag "$err"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
like "$out" 'dead=0' "no job died" ||
	diag "$(db_query "SELECT profile, media, last_error FROM jobs WHERE state = 'dead'")"
run md-finalize
is "$rc" 0 "md-finalize"

# rend NAME PROFILE: the rendition of the input $E/NAME
rend() { rendition_of "$E/$1" "$2"; }
dur() { fprop "$1" duration; }
# what can be decoded of a source: from its start (the container's, or the
# first frame's when earlier) to the end of its last packet, as a player
# shows it; a header may claim more
decodable() {
	{ ffprobe -v error -show_entries format=start_time -of csv=p=0 "$1"
	  ffprobe -v error -show_entries packet=pts_time,duration_time -of csv=p=0 "$1"; } |
	awk -F, 'NR == 1 { s = $1 + 0; next }
		$1 != "N/A" { if ($1 + 0 < s) s = $1 + 0; e2 = $1 + $2; if (e2 > e) e = e2 }
		END { printf "%.6f\n", e - s }'
}
# within PCT percent: a b pct
near() { awk -v a="$1" -v b="$2" -v p="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= b * p / 100) }'; }
# a rate "n/d" at most 60
sane_rate() { awk -v r="$1" 'BEGIN { split(r, f, "/"); exit !(f[2] > 0 && f[1] / f[2] > 0 && f[1] / f[2] <= 60) }'; }
# the smallest and largest luma byte of the first frame, as coded
luma() { ffmpeg -v error -i "$1" -frames:v 1 -vf extractplanes=y -f rawvideo - |
	od -An -v -tu1 | tr -s ' ' '\n' | sed '/^$/d' | sort -n | sed -n '1p;$p' | tr '\n' ' '; }

for f in vfr.mp4 hold.gif fullrange.mkv pc.mp4 tenbit.mkv hdr.mkv odd-sar.mkv fast.mp4 ready.mp4 \
	offset.ogv heavy.mp4; do
	m=$(rend "$f" mp4)
	if [ -z "$m" ] || [ ! -f "$m" ]; then
		fail "$f: mp4 rendition exists"
		continue
	fi
	s=$(decodable "$E/$f") d=$(dur "$m")
	ok "$f: duration $d is within 2% of the source's decodable $s" near "$d" "$s" 2
	ok "$f: yuv420p limited range ($(vprop "$m" pix_fmt,color_range))" \
		test "$(vprop "$m" pix_fmt,color_range)" = yuv420p,tv
	ok "$f: square pixels ($(vprop "$m" sample_aspect_ratio))" \
		test "$(vprop "$m" sample_aspect_ratio)" = 1:1
	w=$(vprop "$m" width) h=$(vprop "$m" height)
	ok "$f: even size (${w}x$h)" test $((w % 2)) -eq 0 -a $((h % 2)) -eq 0
	for r in avg_frame_rate r_frame_rate; do
		ok "$f: $r $(vprop "$m" $r) is at most 60" sane_rate "$(vprop "$m" $r)"
	done
	t=$(rend "$f" thumb)
	ok "$f: thumbnail is a full-range JPEG, square pixels, 320 wide" \
		test "$(vprop "$t" codec_name,pix_fmt,width 2>/dev/null)" = mjpeg,320,yuvj420p
done

# the held last frames: the output's last frame starts where the
# source's does and lasts as long (to the end of what can be decoded)
start() { fprop "$1" start_time; }
last() { ffprobe -v error -select_streams v:0 -show_entries packet=pts_time -of csv=p=0 "$1" |
	sort -g | tail -1; }
for f in vfr.mp4 hold.gif; do
	m=$(rend "$f" mp4) ls=$(last "$E/$f") lm=$(last "$m")
	ok "$f: the last frame is held $(awk "BEGIN{print $(dur "$m") - $lm}") s as in the source" \
		near "$(awk "BEGIN{print $(dur "$m") - $lm}")" \
		"$(awk "BEGIN{print $(decodable "$E/$f") + $(start "$E/$f") - $ls}")" 5
done
n=$(vprop "$(rend fast.mp4 mp4)" nb_frames)
ok "120 fps for 1 s: every other frame kept ($n)" test "$n" -ge 59 -a "$n" -le 61
is "$(vprop "$(rend odd-sar.mkv mp4)" width)x$(vprop "$(rend odd-sar.mkv mp4)" height)" 290x240 \
	"321x241 at 10:11 is shown 292x241: 290x240 with square pixels"
# limited LO HI: the luma bytes span LO..HI, give or take the encoder's noise
limited() { set -- $(luma "$1") "$2" "$3"; [ "$1" -ge 16 ] && [ "$2" -le 235 ] &&
	[ $(($1 - $3)) -le 4 ] && [ $(($4 - $2)) -le 4 ]; }
ok "a full-range white and black source is coded 16..235 ($(luma "$(rend fullrange.mkv mp4)"))" \
	limited "$(rend fullrange.mkv mp4)" 16 235
ok "MPEG-4 flagged full range by its container is coded 16..235 too ($(luma "$(rend pc.mp4 mp4)"))" \
	limited "$(rend pc.mp4 mp4)" 235 235
# green COLUMNS...: the columns of a picture's first frame that are green
green() {
	python3 - "$1" <<'PY'
import re, subprocess, sys
p = subprocess.run(['ffmpeg', '-v', 'info', '-i', sys.argv[1], '-frames:v', '1',
		    '-vf', 'format=rgb24,showinfo', '-f', 'rawvideo', '-'], capture_output=True)
w, h = map(int, re.findall(r' s:(\d+)x(\d+)', p.stderr.decode())[-1])
px = p.stdout
print(' '.join(str(x) for x in range(w)
	       if sum(px[3 * (y * w + x) + 1] - px[3 * (y * w + x)] for y in range(h)) / h > 60))
PY
}
o=$(rend offset.ogv mp4) t=$(rend offset.ogv thumb)
is "$(vprop "$o" width)x$(vprop "$o" height)" 38x30 "a 39x31 Theora picture at an offset comes out 38x30"
is "$(green "$o")" "" "and none of the frame outside the picture is shown"
is "$(vprop "$t" width)x$(vprop "$t" height)" 320x254 "its thumbnail is 320x254"
is "$(green "$t")" "" "and shows none of it either"
h=$(rend hdr.mkv mp4)
is "$(vprop "$h" color_transfer,color_primaries,color_space)" bt709,bt709,bt709 \
	"HDR (PQ, BT.2020) comes out tone-mapped, tagged BT.709"
is "$(vprop "$(rend tenbit.mkv mp4)" pix_fmt)" yuv420p "10-bit comes out 8-bit"
# pass-through: the video packets are the source's, byte for byte
pk() { ffmpeg -v error -i "$1" -map 0:v:0 -c copy -f md5 -; }
isnt "$(pk "$(rend heavy.mp4 mp4)")" "$(pk "$E/heavy.mp4")" \
	"the same at 33 Mbit/s is encoded again (over the 5 Mbit/s of passthrough)"
rate() { fprop "$1" bit_rate; }
ok "and comes out lighter ($(rate "$(rend heavy.mp4 mp4)") bit/s)" \
	test "$(rate "$(rend heavy.mp4 mp4)")" -lt "$(rate "$E/heavy.mp4")"
is "$(pk "$(rend ready.mp4 mp4)")" "$(pk "$E/ready.mp4")" \
	"a source already H.264 High yuv420p with AAC is remuxed, not encoded again"
ok "the remuxed file is faststart (moov before mdat)" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(0 if 0 <= d.find(b"moov") < d.find(b"mdat") else 1)' "$(rend ready.mp4 mp4)"
isnt "$(pk "$(rend fast.mp4 mp4)")" "$(pk "$E/fast.mp4")" "a source over 60 fps is encoded"

done_testing
