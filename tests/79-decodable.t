#!/bin/bash
# 79-decodable.t - decodable or rejected, at ingest: encrypted (CENC) MP4,
# audio-only files of every container, an MP4 cut short by head -c and one
# whose mdhd time scale is 0 are each rejected with a reason that says
# what is wrong, no reason holds a pointer address, nothing of them is
# stored, and a good file is still accepted with its true duration.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

M=$MD_TMP/media
mkdir -p "$M"
SRC=(-f lavfi -i "testsrc2=size=320x240:rate=25" -f lavfi -i "sine=f=440")

# a good clip of 3 s and one of 35.2 s whose moov (and so its claim) comes first
ff "${SRC[@]}" -t 3 -c:v libx264 -preset ultrafast -c:a aac -movflags +faststart "$M/good.mp4"
ff "${SRC[@]}" -t 35.2 -c:v libx264 -preset ultrafast -c:a aac -movflags +faststart "$M/long.mp4"
head -c 100000 "$M/long.mp4" >"$M/truncated.mp4"
# CENC: the mov muxer encrypts the samples (AES-CTR), the kid says whose key
ff "${SRC[@]}" -t 2 -c:v libx264 -preset ultrafast -c:a aac \
	-encryption_scheme cenc-aes-ctr -encryption_key 00112233445566778899aabbccddeeff \
	-encryption_kid 0123456789abcdef0123456789abcdef "$M/cenc.mp4"
# the video track's mdhd time scale patched to 0
cp "$M/good.mp4" "$M/timescale0.mp4"
python3 - "$M/timescale0.mp4" <<'EOF' || BAIL_OUT "cannot patch mdhd"
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
i = d.find(b"mdhd")             # size, 'mdhd', version+flags, ctime, mtime, timescale
assert i > 0 and d[i + 4] == 0, "a version 0 mdhd"
d[i + 16:i + 20] = b"\0\0\0\0"
open(p, "wb").write(d)
EOF
for e in mp3 wav flac m4a ogg opus; do
	ff -f lavfi -i "sine=f=440:d=2" "$M/audio.$e"
done
ok "every input was made" test "$(ls "$M" | wc -l)" -eq 11

md_db_init

# rejected FILE ERE NAME: md-ingest exits 65, the --json reason matches ERE,
# has no pointer address, and no row or stored file is left of FILE
rejected() {
	local f=$M/$1 why
	run md-ingest --json "$f"
	is "$rc" 65 "$1: rejected (exit 65)" || diag "$out" "$err"
	why=$(jq -r 'select(has("error")) | .error' <<<"$out")
	like "$why" "$2" "$1: $3"
	unlike "$why$err" '@ 0x|0x[0-9a-f]{8}' "$1: the reason has no pointer address"
	is "$(db_count media "sha256 = '$(sha256 "$f")'")" 0 "$1: no media row"
}

rejected cenc.mp4 '^encrypted media is not supported$' "says encrypted"
for e in mp3 wav flac m4a ogg opus; do
	rejected "audio.$e" '^audio only' "the same clear reason, audio only"
done
rejected truncated.mp4 '^truncated: 0\.[0-9] s decodable of 35\.2 s$' \
	"says how much of the claimed 35.2 s is decodable"
rejected timescale0.mp4 '^no decodable frame' "says no decodable frame"
is "$(db_count media)$(db_count posts)$(count_files "$STORE/originals")$(count_files "$STORE/tmp")" \
	0000 "nothing was stored of any rejected file"

# a reason that comes from ffprobe's stderr: a format ffmpeg knows and we
# do not take, and a file it cannot read
printf 'not a video at all, only text that ffprobe cannot read\n' >"$M/junk.mp4"
cp "$M/good.mp4" "$M/moovless.mp4"
python3 -c 'import sys; p=sys.argv[1]; d=open(p,"rb").read().replace(b"moov", b"moox"); open(p,"wb").write(d)' \
	"$M/moovless.mp4"
run md-ingest --json "$M/junk.mp4" "$M/moovless.mp4"
is "$rc" 65 "unreadable files: rejected"
unlike "$out$err" '@ 0x' "no '@ 0x…' pointer address in the reasons from ffprobe"
like "$(jq -r 'select(.path | endswith("moovless.mp4")) | .error' <<<"$out")" \
	'^not a readable media file \(\[mov,mp4,m4a,3gp,3g2,mj2\] ' "ffmpeg's log prefix is kept, its address dropped"

# the good file, and the long one whole: accepted with their true duration
run md-ingest --json "$M/good.mp4" "$M/long.mp4"
is "$rc" 0 "good.mp4 and long.mp4 are accepted" || diag "$err"
dur() { db_query "SELECT duration FROM media WHERE sha256 = '$(sha256 "$M/$1")'"; }
ok "good.mp4: duration 3 s recorded ($(dur good.mp4))" \
	awk -v d="$(dur good.mp4)" 'BEGIN { exit !(d > 2.95 && d < 3.1) }'
ok "long.mp4: duration 35.2 s recorded ($(dur long.mp4))" \
	awk -v d="$(dur long.mp4)" 'BEGIN { exit !(d > 35.1 && d < 35.3) }'

done_testing
