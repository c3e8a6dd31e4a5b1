#!/bin/bash
# 60-corpus.t - real-world files (../shared/corpus): every one is accepted or
# rejected cleanly (exit 0 or 65; never a crash or a hang), the accepted ones
# go through mp4,thumb and end completed or failed, and every rendition of a
# completed post is a file ffprobe reads.
. "$(dirname "$0")/lib.sh"

CORPUS=$MD_ROOT/../shared/corpus
[ -d "$CORPUS" ] || plan skip_all "no corpus at ../shared/corpus (relative to the project root)"
CORPUS=$(cd "$CORPUS" && pwd -P)
md_require_tools
md_setup
T=$MD_TMP/out
mkdir -p "$T"

md_db_init

mapfile -d '' files < <(cd "$CORPUS" && find . -type f ! -name MANIFEST.tsv \
	! -name README.md -print0 | sed -z 's|^\./||' | sort -z)
ok "corpus has files (${#files[@]})" test "${#files[@]}" -gt 0

# --- ingest each file alone ------------------------------------------------------------
declare -A status
: >"$T/accepted.json"
unnamed=
for rel in "${files[@]}"; do
	timeout -k 5 60 md-ingest --json "$CORPUS/$rel" >"$T/o" 2>"$T/e" </dev/null
	st=$?
	status[$rel]=$st
	case $st in
	0)
		pass "$rel: accepted (exit 0)"
		jq -c 'select(has("post_id"))' "$T/o" >>"$T/accepted.json"
		;;
	65)
		pass "$rel: rejected (exit 65)"
		grep -qF "tool=md-ingest msg=\"'$CORPUS/$rel': " "$T/e" || unnamed="$unnamed$rel: $(head -n 1 "$T/e")
"
		;;
	124|137)
		fail "$rel: md-ingest exits 0 or 65" "  md-ingest hung: killed after 60 s"
		;;
	*)
		fail "$rel: md-ingest exits 0 or 65" "  exit status $st$([ "$st" -ge 128 ] &&
			echo " (crashed: signal $((st - 128)))")" "$(tail -n 5 "$T/e")"
		;;
	esac
done
if [ -z "$unnamed" ]; then
	pass "every rejected file is named on stderr with its reason"
else
	fail "every rejected file is named on stderr with its reason" \
		"  $(printf '%s' "$unnamed" | grep -c .) files were not, e.g.:" \
		"$(printf '%s' "$unnamed" | head -n 3)"
fi
is "$(count_files "$STORE/tmp")" 0 "ingest left nothing in tmp/"

n_ok=$(wc -l <"$T/accepted.json")
n_rej=0
for rel in "${files[@]}"; do [ "${status[$rel]}" = 65 ] && n_rej=$((n_rej + 1)); done
diag "corpus: ${#files[@]} files, $n_ok accepted, $n_rej rejected"
is "$(db_count posts)" "$n_ok" "one post per accepted file"
is "$(count_files "$STORE/originals")" "$(db_count media)" "one original per media row"

# --- files that must be rejected or accepted ------------------------------------------
must() {  # must WANT_STATUS REL WHY
	if [ -z "${status[$2]+set}" ]; then
		skip "$2 not in the corpus"
	else
		is "${status[$2]}" "$1" "$2: $3"
	fi
}
for rel in "${files[@]}"; do
	case $rel in
	*.m3u8) must 65 "$rel" "a playlist is never accepted" ;;
	esac
	[ -s "$CORPUS/$rel" ] || must 65 "$rel" "a zero-byte file is rejected"
done
must 65 peertube/video_short_fake.webm "text named .webm is rejected"
must 65 small/mp3.mp3 "audio only (and broken) is rejected"
must 65 peertube/sample.ogg "audio-only Ogg is rejected"
must 65 peertube/video_short_0p.mp4 "an MP4 with only an audio track is rejected"
must 0 peertube/video_short.mp4 "a plain H.264/AAC MP4 is accepted"
must 0 pillow/iss634.gif "an animated GIF is accepted"
must 0 peertube/exif.jpg "a JPEG is accepted"

kind_of() { jq -r --arg p "$CORPUS/$1" 'select(.path == $p) | .kind' "$T/accepted.json"; }
is "$(kind_of peertube/video_short.mp4)" video "video_short.mp4 is a video"
is "$(kind_of pillow/iss634.gif)" animated "iss634.gif is animated"

# --- process the accepted ones -----------------------------------------------------------
run_in "$T/accepted.json" md-enqueue -p mp4,thumb
is "$rc" 0 "md-enqueue -p mp4,thumb of the accepted files exits 0" || diag "$err"
ok "md-enqueue made jobs" test "$(db_count jobs)" -gt 0

MD_TEST_TIMEOUT=900 run md-work --drain -j 2
is "$rc" 0 "md-work --drain -j 2 exits 0 (no crash, no hang)" || diag "$(printf '%s\n' "$err" | tail -n 20)"
note "md-work: $out"
is "$(db_count jobs "state NOT IN ('succeeded', 'dead')")" 0 "every job is succeeded or dead"

MD_TEST_TIMEOUT=300 run md-finalize
is "$rc" 0 "md-finalize exits 0" || diag "$err"
is "$(db_count posts "status NOT IN ('completed', 'failed')")" 0 \
	"every accepted post ends completed or failed (no pending/processing left)"

run md-feed --status all --limit 1000 --json
is "$rc" 0 "md-feed --status all --limit 1000 --json"
printf '%s\n' "$out" | jq -c 'select(has("post_id"))' >"$T/feed.json"
is "$(wc -l <"$T/feed.json")" "$n_ok" "md-feed lists every accepted post"
n_done=$(jq -s 'map(select(.status == "completed")) | length' "$T/feed.json")
n_failed=$(jq -s 'map(select(.status == "failed")) | length' "$T/feed.json")
diag "posts: $n_done completed, $n_failed failed"
ok "failed posts say why (error is not empty)" jq -se \
	'map(select(.status == "failed")) | all(.[]; .error | type == "string" and length > 0)' \
	"$T/feed.json"
jq -r 'select(.status == "failed") | .media + " " + .error' "$T/feed.json" |
	while IFS= read -r l; do diag "failed: $l"; done

# every rendition of a completed post: its file exists and ffprobe reads it
unreadable=
n_rend=0
while IFS=$'\t' read -r media profile key; do
	n_rend=$((n_rend + 1))
	f=$(rendition_file "$key")
	if [ ! -s "$f" ]; then
		unreadable="$unreadable
$media $profile: missing $f"
	elif ! e=$(ffprobe -v error -show_entries stream=codec_type -of csv=p=0 "$f" 2>&1) ||
		! printf '%s\n' "$e" | grep -qx video; then
		unreadable="$unreadable
$media $profile: ffprobe: $e"
	fi
done < <(jq -r 'select(.status == "completed") | .media as $m |
	.renditions | to_entries[] | [$m, .key, .value] | @tsv' "$T/feed.json")
ok "completed posts have renditions ($n_rend)" test "$n_rend" -gt 0
is "$unreadable" "" "ffprobe reads a video stream in every rendition of every completed post"

for rel in peertube/video_short.mp4 pillow/iss634.gif; do
	s=$(sha256 "$CORPUS/$rel")
	ok "$rel: completed with mp4 and thumb" jq -se --arg m "$s" \
		'map(select(.media == $m)) | length >= 1 and all(.[]; .status == "completed" and
		(.renditions | has("mp4") and has("thumb")))' "$T/feed.json"
done
is "$(count_files "$STORE/tmp")$(count_files "$STORE/work")" 00 "tmp/ and work/ are empty at the end"

done_testing
