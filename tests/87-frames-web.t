#!/bin/bash
# 87-frames-web.t - the built-in profiles frames and web, their outputs read
# back on their own: frames.zip opened with unzip -t and Python's zipfile
# (entries frame-0001.jpg... in order, each a JPEG within 1280, stored, as
# many as the metadata's "frames", whose "times" are the 1 fps grid); the
# same frames make the same archive bytes; a clip shorter than a second
# gives one frame, an animated GIF works, a rotated video gives turned
# frames, frames.max caps the count, spread over a longer source.  web: a photo tagged Orientation=6
# comes out turned, as its DECODED PIXELS show (red top becomes the right
# half), with no EXIF or GPS left; a large photo is capped at 2048 (and at
# web.max_side); a PNG with alpha stays a PNG with alpha; web.format webp
# makes WebP.  Bad frames/web values are exit 78 naming the key, and web on
# a video (frames on a photo) is skipped at enqueue.  Then every file of
# ../shared/corpus that md-ingest accepts goes through frames or web (on
# SQLite: the media work does not depend on the backend).
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init
E=$MD_TMP/in
mkdir -p "$E"

# --- samples ---------------------------------------------------------------------------
ff -f lavfi -i "testsrc2=size=640x360:rate=25:duration=3.5" -c:v libx264 -pix_fmt yuv420p "$E/clip.mp4"
ff -i "$E/clip.mp4" -c copy -metadata title=another "$E/clip-again.mp4"
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=0.4" -c:v libx264 -pix_fmt yuv420p "$E/short.mp4"
ff -f lavfi -i "testsrc2=size=320x240:rate=25:duration=1" -c:v libx264 -pix_fmt yuv420p "$E/plain.mp4"
ff -i "$E/plain.mp4" -c copy -metadata:s:v:0 rotate=90 "$E/rotated.mp4"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=25:duration=1" -c:v libx264 -preset ultrafast "$E/big.mp4"
ff -f lavfi -i "testsrc2=size=160x120:rate=10:duration=1" "$E/anim.gif"
# frames at 0, 0.3, 1.2, 2.1 and 2.4 s only
ff -f lavfi -i "testsrc2=size=320x240:rate=10:duration=2.5" -vf "select='eq(n\,0)+eq(n\,3)+eq(n\,12)+eq(n\,21)+eq(n\,24)'" \
	-fps_mode vfr -c:v libx264 "$E/vfr.mkv"
# a photo whose top half is red and bottom half blue, tagged Orientation=6
# (turn 90 degrees clockwise) and a GPS position, the EXIF written here
ff -filter_complex "color=red:s=320x80[a];color=blue:s=320x80[b];[a][b]vstack,format=yuvj420p" \
	-frames:v 1 "$MD_TMP/plain.jpg"
python3 - "$MD_TMP/plain.jpg" "$E/turned.jpg" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
# IFD0: Orientation = 6, GPSInfo -> an IFD with GPSLatitudeRef "N"
ifd0 = struct.pack(">H", 2) + struct.pack(">HHIHH", 0x0112, 3, 1, 6, 0) + \
	struct.pack(">HHII", 0x8825, 4, 1, 8 + 2 + 24 + 4) + struct.pack(">I", 0)
gps = struct.pack(">H", 1) + struct.pack(">HHI2s2x", 1, 2, 2, b"N\0") + struct.pack(">I", 0)
tiff = b"MM\0\x2a" + struct.pack(">I", 8) + ifd0 + gps
app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\0\0" + tiff
open(sys.argv[2], "wb").write(d[:2] + app1 + d[2:])
PY
ff -f lavfi -i "testsrc2=size=3000x2000" -frames:v 1 "$E/large.jpg"
ff -f lavfi -i "color=c=red@0.5:size=200x100,format=rgba" -frames:v 1 "$E/alpha.png"
is "$(ffprobe -v error -show_frames -of json "$E/turned.jpg" | jq '.frames[0].side_data_list[0].rotation')" -90 \
	"the turned photo carries its Orientation tag (ffprobe reads it as a rotation)"

run md-ingest --json -e frames,web "$E"/*
is "$rc" 0 "md-ingest -e frames,web" || diag "$err"
printf '%s\n' "$out" >"$MD_TMP/ingest.json"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
like "$out" 'dead=0' "no job died" ||
	diag "$(db_query "SELECT profile, media, last_error FROM jobs WHERE state = 'dead'")"
is "$(db_query "SELECT count(*) FROM jobs WHERE profile = 'frames'")" 8 "frames: a job for each video and the GIF"
is "$(db_query "SELECT count(*) FROM jobs WHERE profile = 'web'")" 3 "web: a job for each still image"
run md-finalize
is "$rc" 0 "md-finalize"

rend() { rendition_of "$E/$1" "$2"; }
meta() { db_query "SELECT metadata FROM renditions WHERE media = '$(sha256 "$E/$1")' AND profile = '$2'"; }
vprop() { ffprobe -v error -select_streams v:0 -show_entries "stream=$2" -of csv=p=0 "$1"; }

# zip_check NAME: the archive of NAME's frames holds what its metadata says
zip_check() {
	local z m n
	z=$(rend "$1" frames)
	m=$(meta "$1" frames)
	ok "$1: frames.zip passes unzip -t" unzip -tq "$z"
	n=$(jq -r .frames <<<"$m")
	ok "$1: the metadata's frames ($n) and times agree" jq -e '(.times | length) == .frames' <<<"$m"
	ok "$1: $n entries frame-0001.jpg... in order, stored, JPEGs within 1280" python3 - "$z" "$n" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = [i.filename for i in z.infolist()]
want = ["frame-%04d.jpg" % (k + 1) for k in range(int(sys.argv[2]))]
assert names == want, names
for i in z.infolist():
	assert i.compress_type == zipfile.ZIP_STORED, i
	d = z.read(i)
	assert d[:2] == b"\xff\xd8", i.filename
sys.exit(0)
PY
}

# --- frames ----------------------------------------------------------------------------
for f in clip.mp4 short.mp4 rotated.mp4 big.mp4 anim.gif vfr.mkv; do
	zip_check "$f"
done
is "$(meta clip.mp4 frames | jq -c '[.frames, .fps, .times]')" "[4,1,[0,1,2,3]]" \
	"3.5 s at 1 fps: 4 frames at 0, 1, 2, 3 s"
is "$(meta short.mp4 frames | jq -c '[.frames, .times]')" "[1,[0]]" "a clip of 0.4 s gives one frame"
is "$(meta anim.gif frames | jq -c '[.frames, .times]')" "[1,[0]]" "a GIF of 1 s gives one frame"
is "$(meta vfr.mkv frames | jq -c '.times')" "[0,1.2,2.1]" "variable frame rate: each frame's own time"
X=$MD_TMP/x
mkdir -p "$X"
unzip -q -o -d "$X/rot" "$(rend rotated.mp4 frames)"
is "$(vprop "$X/rot/frame-0001.jpg" width,height)" "240,320" "a video rotated 90 degrees gives turned frames"
unzip -q -o -d "$X/big" "$(rend big.mp4 frames)"
is "$(vprop "$X/big/frame-0001.jpg" width,height,pix_fmt)" "1280,720,yuvj420p" \
	"1920x1080 gives 1280x720 full-range JPEG frames"
unzip -q -o -d "$X/clip" "$(rend clip.mp4 frames)"
is "$(vprop "$X/clip/frame-0001.jpg" width,height)" "640,360" "a frame within the cap keeps its size"
ok "the same frames make the same archive bytes" \
	cmp "$(rend clip.mp4 frames)" "$(rend clip-again.mp4 frames)"

# --- web -------------------------------------------------------------------------------
w=$(rend turned.jpg web)
like "$w" '/web\.jpg$' "a photo becomes web.jpg"
is "$(vprop "$w" width,height)" "160,320" "Orientation=6: 320x160 comes out 160x320"
# the pixels, decoded: turned clockwise, the red top is now the right half
px() { ffmpeg -v error -i "$1" -vf "format=rgb24,crop=1:1:$2:$3" -f rawvideo - | od -An -tu1 | tr -s ' '; }
rgb_is() {  # rgb_is "R G B" WANT NAME: each channel within 40 of WANT
	python3 -c 'import sys; a=[int(x) for x in sys.argv[1].split()]; b=[int(x) for x in sys.argv[2].split()]
sys.exit(0 if len(a) == 3 and all(abs(x - y) <= 40 for x, y in zip(a, b)) else 1)' "$1" "$2"
}
ok "the left half is blue (the bottom turned)" rgb_is "$(px "$w" 40 160)" "0 0 255"
ok "the right half is red (the top turned)" rgb_is "$(px "$w" 120 160)" "255 0 0"
ok "no EXIF left in web.jpg" python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(b"Exif" in d)' "$w"
if have exiftool; then
	is "$(exiftool -s -s -s -gps:all -exif:all "$w")" "" "exiftool finds no EXIF or GPS in web.jpg"
else
	skip "exiftool not installed (Debian libimage-exiftool-perl)"
fi
is "$(vprop "$(rend large.jpg web)" width,height)" "2048,1364" "3000x2000 is capped at 2048 on its long side"
p=$(rend alpha.png web)
like "$p" '/web\.png$' "a PNG with alpha becomes web.png"
is "$(vprop "$p" codec_name,pix_fmt)" "png,rgba" "web.png keeps the alpha channel"
ok "and its value, red at half opacity" python3 -c 'import sys; r, g, b, a = map(int, sys.argv[1].split())
sys.exit(0 if (r, g, b) == (255, 0, 0) and 126 <= a <= 129 else 1)' \
	"$(ffmpeg -v error -i "$p" -vf "crop=1:1:10:10" -f rawvideo -pix_fmt rgba - | od -An -tu1)"
is "$(db_query "SELECT count(*) FROM renditions WHERE profile = 'web'")" 3 "three web renditions"

# --- configured: frames.max, frames.fps, web.max_side, web.format ----------------------
C=$MD_TMP/conf
mkdir -p "$C"
ff -i "$E/clip.mp4" -c copy -metadata title=third "$C/clip3.mp4"
{ cat "$E/turned.jpg"; printf 'x'; } >"$C/turned2.jpg"
ff -f lavfi -i "color=c=blue@0.25:size=200x100,format=rgba" -frames:v 1 "$C/alpha2.png"
CFG=$MD_TMP/fw.yaml
printf 'frames:\n  fps: 2\n  max: 3\nweb:\n  max_side: 100\n  format: webp\nthumb:\n  format: webp\n' >"$CFG"
run md-ingest --json -e frames,web,thumb "$C"/*
is "$rc" 0 "md-ingest of three more" || diag "$err"
run md-work -c "$CFG" --drain
is "$rc" 0 "md-work --drain with frames and web settings" || diag "$err"
like "$out" 'dead=0' "no job died" ||
	diag "$(db_query "SELECT profile, media, last_error FROM jobs WHERE state = 'dead'")"
run md-finalize
cr() { rendition_of "$C/$1" "$2"; }
m=$(db_query "SELECT result FROM jobs WHERE media = '$(sha256 "$C/clip3.mp4")' AND profile = 'frames'")
# 3.5 s at 2 fps would be 7 frames: 3 spread over all of it, 3/3.5 a second,
# the first frame of each 1.167 s of 25 fps
is "$(jq -c '[.frames, .times]' <<<"$m")" "[3,[0,1.2,2.36]]" \
	"frames.fps 2, frames.max 3 on 3.5 s: 3 frames spread over all of it (0, 1.2, 2.36 s)"
d=$(db_query "SELECT duration FROM media WHERE sha256 = '$(sha256 "$C/clip3.mp4")'")
ok "at the rate of 3 frames over its $d s, not 2 fps ($(jq .fps <<<"$m"))" \
	awk -v f="$(jq .fps <<<"$m")" -v d="$d" 'BEGIN { exit !(f * d <= 3 && f * d > 2.999) }'
is "$(python3 -c 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).namelist()))' "$(cr clip3.mp4 frames)")" 3 \
	"and the archive holds 3"
t=$(cr turned2.jpg web)
like "$t" '/web\.webp$' "web.format webp: web.webp"
is "$(vprop "$t" codec_name,width,height)" "webp,50,100" "turned, capped at web.max_side 100"
ok "the WebP's left half is blue" rgb_is "$(px "$t" 10 50)" "0 0 255"
ok "no EXIF left in web.webp" python3 -c 'import sys; d=open(sys.argv[1],"rb").read(); sys.exit(b"EXIF" in d or b"Exif" in d)' "$t"
a=$(cr alpha2.png web)
is "$(vprop "$a" codec_name,pix_fmt)" "webp,yuva420p" "a PNG with alpha becomes a WebP with alpha"
t=$(cr clip3.mp4 thumb)
like "$t" '/thumb\.webp$' "thumb.format webp: thumb.webp"
is "$(vprop "$t" codec_name,width,height,pix_fmt)" "webp,320,180,yuv420p" "a WebP 320 wide"
is "$(vprop "$(cr alpha2.png thumb)" codec_name,width,pix_fmt)" "webp,320,yuva420p" \
	"the thumb of a PNG with alpha keeps its alpha in WebP"
like "$(db_query "SELECT metadata FROM renditions WHERE media = '$(sha256 "$C/clip3.mp4")' AND profile = 'thumb'" |
	jq -r .blurhash)" '^L.{27}$' "the WebP thumb has its placeholder"

# --- refused ---------------------------------------------------------------------------
bad_conf() {  # bad_conf YAML KEY
	printf '%b' "$1" >"$MD_TMP/bad.yaml"
	run md-work -c "$MD_TMP/bad.yaml" --drain
	is "$rc" 78 "md-work refuses $2 '${1//\\n/ }' (exit 78)"
	like "$err" "bad\.yaml:2: .*'$2'" "and names the file, the line and the key"
}
bad_conf 'frames:\n  fps: 0\n' fps
bad_conf 'thumb:\n  format: gif\n' format
bad_conf 'frames:\n  fps: fast\n' fps
bad_conf 'frames:\n  max: 0\n' max
bad_conf 'web:\n  max_side: -5\n' max_side
bad_conf 'web:\n  format: gif\n' format
run md-enqueue --json -p web,frames "$(sha256 "$E/clip.mp4")" "$(sha256 "$E/turned.jpg")"
is "$rc" 0 "md-enqueue web,frames on a video and a photo"
is "$(jq -r 'select(.state == "skipped") | .reason' <<<"$out" | sort | tr '\n' ';')" \
	"profile 'frames' does not apply to image media;profile 'web' does not apply to video media;" \
	"web on a video and frames on a photo are skipped with the reason"

# --- the corpus ------------------------------------------------------------------------
# once, on SQLite: the media work is the same on either backend
CORPUS=$MD_ROOT/../shared/corpus
if [ ! -d "$CORPUS" ] || [ "$MD_BACKEND" != sqlite ]; then
	skip "$([ -d "$CORPUS" ] && echo "the corpus runs on SQLite only" ||
		echo "no corpus at ../shared/corpus (relative to the project root)")" 4
	done_testing
	exit
fi
CORPUS=$(cd "$CORPUS" && pwd -P)
mapfile -d '' files < <(cd "$CORPUS" && find . -type f ! -name MANIFEST.tsv ! -name README.md \
	-print0 | sed -z 's|^\./||' | sort -z)
: >"$MD_TMP/corpus.json"
nbig=0
for rel in "${files[@]}"; do
	corpus_wanted "$CORPUS" "$rel" || { nbig=$((nbig + 1)); continue; }
	timeout -k 5 60 md-ingest --json -e frames,web "$CORPUS/$rel" >>"$MD_TMP/corpus.json" 2>/dev/null </dev/null
done
mapfile -t cm < <(jq -r 'select(has("media")) | .media' "$MD_TMP/corpus.json" | sort -u)
note "corpus: ${#files[@]} files, $nbig larger or longer left to make media-check, ${#cm[@]} accepted"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain over the corpus" || diag "$err"
run md-finalize

# Each job's outputs, checked here: frames.zip against its metadata, the web
# image decoded, within 2048, without EXIF; the reasons of dead ones shown.
nf=0 nw=0 ndead=0 bad=
for m in "${cm[@]}"; do
	name=$(jq -r --arg m "$m" 'select(.media == $m) | .path' "$MD_TMP/corpus.json" | head -n 1)
	name=${name#"$CORPUS/"}
	while IFS=$'\t' read -r prof state why; do
		[ "$state" = dead ] && { ndead=$((ndead + 1)); note "$name: $prof dead: $why"; continue; }
		[ "$state" = succeeded ] || { bad="$bad $name:$prof:$state"; continue; }
		res=$(db_query "SELECT result FROM jobs WHERE media = '$m' AND profile = '$prof'")
		f=$STORE/$(jq -r .key <<<"$res")
		if [ "$prof" = frames ]; then
			nf=$((nf + 1))
			python3 - "$f" "$(jq -c '[.frames, (.times | length)]' <<<"$res")" <<'PY' || bad="$bad $name:frames"
import json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
n, nt = json.loads(sys.argv[2])
assert z.testzip() is None
assert n == nt and z.namelist() == ["frame-%04d.jpg" % (k + 1) for k in range(n)], z.namelist()
assert all(z.read(x)[:2] == b"\xff\xd8" for x in z.namelist())
PY
		else
			nw=$((nw + 1))
			wh=$(vprop "$f" width,height)
			python3 -c 'import sys; w, h = map(int, sys.argv[1].split(",")); d = open(sys.argv[2], "rb").read()
sys.exit(0 if 0 < w <= 2048 and 0 < h <= 2048 and b"Exif" not in d and b"EXIF" not in d else 1)' \
				"$wh" "$f" || bad="$bad $name:web($wh)"
		fi
	done < <(db_query "SELECT profile, state, coalesce(last_error, '') FROM jobs
		WHERE media = '$m' AND profile IN ('frames', 'web')")
done
note "corpus: $nf frames archives, $nw web images, $ndead dead jobs"
ok "the corpus gives frames archives and web images ($nf, $nw)" test "$nf" -gt 0 -a "$nw" -gt 0
is "$bad" "" "every frames archive and web image of the corpus is what it promises"
o6=$(ls "$CORPUS"/pillow/hopper_orientation_6.jpg 2>/dev/null)
if [ -n "$o6" ]; then
	is "$(vprop "$(rendition_of "$o6" web)" width,height)" \
		"$(vprop "$o6" height),$(vprop "$o6" width)" "pillow's hopper_orientation_6.jpg comes out turned"
else
	skip "no hopper_orientation_6.jpg in the corpus"
fi
done_testing
