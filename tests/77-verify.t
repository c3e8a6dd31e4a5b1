#!/bin/bash
# 77-verify.t - every output is checked against its profile's output_kind
# before it is published: the built-in probe succeeds on every sample with
# JSON holding format and streams; a video with odd sides, full range,
# non-square pixels, no audio, the wrong duration or too large, an image of
# two frames or the wrong width, invalid JSON and a broken ZIP each make
# their job dead with a reason naming the check, and publish nothing.  A
# failed post names every dead profile; md-job cancel drops a dead job and
# md-finalize then finishes the post without it.  Reasons lose ffmpeg's
# pointer addresses.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

job_field() { db_query "SELECT $2 FROM jobs WHERE id = $1"; }
post_field() { db_query "SELECT $2 FROM posts WHERE id = $1"; }

# --- 1. the built-in probe on every sample ------------------------------------------
run md-ingest --json -e probe -r "$IN"
is "$rc" 0 "md-ingest -e probe -r" || diag "$err"
printf '%s\n' "$out" >"$T/ingest.json"
run md-work --drain -q
is "$rc" 0 "md-work --drain ran the probe jobs" || diag "$err"
is "$(db_query "SELECT count(*) FROM jobs WHERE profile = 'probe' AND state = 'succeeded'")" 5 \
	"the probe job of each of the 5 samples succeeded" ||
	diag "$(db_query "SELECT id, state, last_error FROM jobs")"
vid=$(sample_field video.mp4 media)
img=$(sample_field photo.jpg media)
pj="$(run_dir "$vid" probe)/probe.json"
ok "probe.json of video.mp4 is published" test -s "$pj"
ok "probe.json is JSON with the format and the streams" \
	jq -e '(.format | type) == "object" and (.streams | length) == 2' "$pj"

# --- 2. outputs that are wrong ------------------------------------------------------
CFG=$MD_TMP/verify.yaml
enc='-c:v, libx264, -preset, ultrafast, -threads, "1"'
cat >"$CFG" <<EOF
profiles:
  oddsize:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", -vf, "scale=101:99", $enc, -pix_fmt, yuv444p, -c:a, aac, -y, "{output}"]
  fullrange:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", $enc, -pix_fmt, yuvj420p, -c:a, aac, -y, "{output}"]
  pcrange:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", -c:v, libvpx-vp9, -deadline, realtime, -threads, "1", -pix_fmt, yuv420p, -color_range, pc, -c:a, aac, -y, "{output}"]
  sar:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", -vf, "setsar=2/1", $enc, -pix_fmt, yuv420p, -c:a, aac, -y, "{output}"]
  noaudio:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", $enc, -pix_fmt, yuv420p, -an, -y, "{output}"]
  short:
    max_attempts: 1
    output: out.mp4
    steps:
      - [ffmpeg, -i, "{input}", -t, "0.2", $enc, -pix_fmt, yuv420p, -c:a, aac, -y, "{output}"]
  badjson:
    max_attempts: 1
    output: out.json
    steps:
      - [sh, -c, 'printf "{\"format\":" >"\$0"', "{output}"]
  badzip:
    max_attempts: 1
    output: out.zip
    steps:
      - [sh, -c, 'echo not a zip >"\$0"', "{output}"]
  noisy:
    max_attempts: 1
    output: out.txt
    steps:
      - [sh, -c, 'echo "[mp3 @ 0x55d0c0a1b2c0] Format mp3 is not on the list" >&2; exit 1']
EOF
# the profiles that need the keys of the checks: max_side, output_kind, width
CFG2=$MD_TMP/verify2.yaml
cp "$CFG" "$CFG2"
cat >>"$CFG2" <<EOF
  big:
    max_attempts: 1
    output: out.mp4
    max_side: 160
    steps:
      - [ffmpeg, -i, "{input}", $enc, -pix_fmt, yuv420p, -c:a, aac, -y, "{output}"]
  twoframes:
    max_attempts: 1
    output: out.gif
    output_kind: image
    steps:
      - [ffmpeg, -i, "{input}", -vf, loop=1:1, -frames:v, "2", -f, gif, -y, "{output}"]
  narrow:
    max_attempts: 1
    output: thumb.jpg
    width: 320
    steps:
      - [ffmpeg, -i, "{input}", -vf, "scale=300:-2", -frames:v, "1", -y, "{output}"]
EOF
chmod 600 "$CFG" "$CFG2"
run md-enqueue -c "$CFG" -p oddsize,fullrange,pcrange,sar,noaudio,short "$vid"
is "$rc" 0 "md-enqueue the video profiles" || diag "$err"
printf '%s\n' "$out" >"$T/enq-vid.tsv"
run md-enqueue -c "$CFG" -p badjson,badzip,noisy "$img"
is "$rc" 0 "md-enqueue the data profiles" || diag "$err"
printf '%s\n' "$out" >"$T/enq-img.tsv"
run md-work -c "$CFG" --drain -q
is "$rc" 0 "md-work --drain ran them" || diag "$err"
run md-enqueue -c "$CFG2" -p big "$vid"
is "$rc" 0 "md-enqueue a profile with max_side" || diag "$err"
printf '%s\n' "$out" >"$T/enq-vid2.tsv"
run md-enqueue -c "$CFG2" -p twoframes,narrow "$img"
is "$rc" 0 "md-enqueue image profiles" || diag "$err"
printf '%s\n' "$out" >"$T/enq-img2.tsv"
run md-work -c "$CFG2" --drain -q
is "$rc" 0 "md-work --drain ran them" || diag "$err"
jid() { awk -F '\t' -v p="$1" '$3 == p { print $1 }' "$T"/enq-*.tsv; }

check() {  # check PROFILE MEDIA ERE: dead, reason matches, nothing published
	local id reason
	id=$(jid "$1")
	reason=$(job_field "$id" last_error)
	is "$(job_field "$id" state)" dead "$1: the job is dead"
	like "$reason" "$3" "$1: the reason names the check" || diag "$reason"
	is "$(count_files "$STORE/renditions/$(shard "$2")/$1")" 0 "$1: nothing is published"
}
check oddsize "$vid" '^output check failed: size 101x99, not even$'
check fullrange "$vid" '^output check failed: pixel format yuvj420p, not yuv420p$'
check pcrange "$vid" '^output check failed: colour range pc \(full\)'
check sar "$vid" '^output check failed: sample aspect ratio 2:1, not 1:1$'
check noaudio "$vid" '^output check failed: no audio stream, the source has one$'
check short "$vid" '^output check failed: duration 0\.[0-9]+ s, source 2\.[0-9]+ s \(more than 2% apart\)$'
check big "$vid" '^output check failed: size 320x240, larger than 160 on its long side$'
check twoframes "$img" '^output check failed: 2 frames, not one picture$'
check narrow "$img" '^output check failed: width 300, not 320$'
check badjson "$img" '^output check failed: not JSON: '
check badzip "$img" '^output check failed: not a ZIP archive'
id=$(jid noisy)
like "$(job_field "$id" last_error)" '\[mp3\] Format mp3 is not on the list$' \
	"a reason from stderr loses the pointer address"
unlike "$(job_field "$id" last_error)" '0x55d0c0a1b2c0' "no address is left in it"

# --- 3. the failed posts name every dead profile -------------------------------------
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"
vpost=$(jq -r 'select(.path | endswith("/video.mp4")) | .post_id' "$T/ingest.json")
ipost=$(jq -r 'select(.path | endswith("/photo.jpg")) | .post_id' "$T/ingest.json")
is "$(post_field "$vpost" status)" failed "the video's post failed"
verr=$(post_field "$vpost" error)
like "$verr" '^oddsize: output check failed: size 101x99, not even; fullrange: .*; pcrange: .*; sar: .*; noaudio: .*; short: .*; big: output check failed: size 320x240' \
	"its error names each dead profile with its reason, in order" || diag "$verr"
ierr=$(post_field "$ipost" error)
like "$ierr" '^badjson: .*; badzip: .*; noisy: .*\[mp3\].*; twoframes: .*; narrow: output check failed: width 300' \
	"the image's post names its five" || diag "$ierr"

# --- 4. md-job cancel drops a dead job -------------------------------------------------
run md-job cancel "$(jid short)"
is "$rc" 0 "md-job cancel of a dead job" || diag "$err"
is "$(job_field "$(jid short)" state)" cancelled "the dead job is cancelled"
is "$(post_field "$vpost" status)" processing "its failed post waits for a new verdict"
run md-finalize
is "$rc" 0 "md-finalize again" || diag "$err"
is "$(post_field "$vpost" status)" failed "the post fails again on its other dead jobs"
verr=$(post_field "$vpost" error)
like "$verr" '^oddsize: .*; big: ' "its error names them" || diag "$verr"
unlike "$verr" 'short:' "but not the cancelled one"
for p in badjson badzip noisy twoframes narrow; do
	run md-job cancel "$(jid "$p")"
	[ "$rc" = 0 ] || diag "cancel $p: $err"
done
run md-finalize
is "$rc" 0 "md-finalize after cancelling every dead job of the image" || diag "$err"
is "$(post_field "$ipost" status)" completed "its post is completed"
is "$(post_field "$ipost" error)" "" "with no error"
is "$(db_query "SELECT count(*) FROM jobs WHERE media = '$img' AND finalized_at IS NULL")" 0 \
	"every job of the image is finalized"
run md-job cancel "$(jid short)"
is "$rc" 65 "a cancelled job cannot be cancelled again (65)" || diag "rc $rc: $err"
like "$err" 'only available, running or dead jobs can be cancelled' "with the reason"

# --- 5. output_kind is checked at load --------------------------------------------------
printf 'profiles:\n  x:\n    output: a.bin\n    output_kind: movie\n' >"$T/bad.yaml"
chmod 600 "$T/bad.yaml"
run md-work -c "$T/bad.yaml" --drain
is "$rc" 78 "an unknown output_kind is a configuration error (78)"
like "$err" "bad\\.yaml:4: expected video, image, json, zip, hls or file for 'output_kind'" \
	"naming the file, the line and the key"

done_testing
