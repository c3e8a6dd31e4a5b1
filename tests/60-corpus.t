#!/bin/bash
# 60-corpus.t - real-world files (../shared/corpus): every one (on
# PostgreSQL, one of each container and codec, and the files named below)
# is accepted or rejected cleanly (exit 0 or 65; never a crash or a hang),
# the accepted ones go through probe (and thumb,mp4: the files lib.sh's
# corpus_wanted takes, every file under make media-check; on PostgreSQL
# probe only) and end completed or failed, and every rendition of a
# completed post meets the profile's promises, checked here on its own
# with ffprobe and jq (decoded frames, duration, size, pixel format and range,
# square pixels, audio as the source; one 320 px frame; JSON with streams).
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
# PostgreSQL takes the files of each container and codec (lib.sh:
# corpus_wanted) and those named below: what it keeps of a file is the
# same rows whatever the file (the SQLite pass takes every file, and make
# media-check too)
named=" peertube/video_short_fake.webm small/mp3.mp3 peertube/sample.ogg peertube/video_short_0p.mp4
	peertube/video_short.mp4 pillow/iss634.gif peertube/exif.jpg "
if [ "$MD_BACKEND" != sqlite ] && [ "${MD_TEST_CORPUS:-}" != all ]; then
	all=("${files[@]}") files=()
	for rel in "${all[@]}"; do
		case $named in *[[:space:]]"$rel"[[:space:]]*) files+=("$rel"); continue ;; esac
		corpus_wanted "$CORPUS" "$rel" && files+=("$rel")
	done
	note "PostgreSQL: ${#files[@]} of the ${#all[@]} files, one of each container and codec"
fi

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
		grep -F 'tool=md-ingest msg="cannot ingest" path=' "$T/e" | grep -qF "$CORPUS/$rel" || unnamed="$unnamed$rel: $(head -n 1 "$T/e")
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
# every accepted file is probed; on SQLite the files make check takes
# (lib.sh: corpus_wanted, one of each container and codec; all of them
# under make media-check) also get the thumbnail and the mp4 transcode.
# PostgreSQL probes them all (their metadata into its JSON) and transcodes
# nothing: the media work is the same on either backend, and the SQLite
# pass does it
light=probe heavy=thumb,mp4
[ "$MD_BACKEND" = sqlite ] || light=probe heavy=
: >"$T/wanted.json"
while IFS= read -r rec; do
	rel=$(jq -r .path <<<"$rec")
	corpus_wanted "$CORPUS" "${rel#"$CORPUS"/}" && printf '%s\n' "$rec" >>"$T/wanted.json"
done <"$T/accepted.json"
run_in "$T/accepted.json" md-enqueue -p "$light"
is "$rc" 0 "md-enqueue -p $light of the accepted files exits 0" || diag "$err"
if [ -n "$heavy" ]; then
	note "$heavy of $(wc -l <"$T/wanted.json") of them (make media-check: all)"
	run_in "$T/wanted.json" md-enqueue -p "$heavy"
	is "$rc" 0 "md-enqueue -p $heavy of those exits 0" || diag "$err"
fi
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

# rules PROFILE FILE MEDIA: what is wrong with a rendition, or nothing
rules() {
	local profile=$1 f=$2 media=$3 j src
	case $profile in
	probe)
		jq -e '(.format | type == "object") and (.streams | length > 0)' "$f" >/dev/null 2>&1 ||
			echo "probe.json is not JSON with format and streams"
		return ;;
	thumb)
		j=$(ffprobe -v error -count_frames -select_streams v -show_entries \
			stream=codec_name,width,nb_read_frames -of json "$f") || { echo "ffprobe failed"; return; }
		jq -e '.streams | length == 1 and .[0].width == 320 and
			(.[0].nb_read_frames | tonumber) == 1' <<<"$j" >/dev/null ||
			echo "thumb: not one frame 320 wide: $(jq -c .streams <<<"$j")"
		return ;;
	mp4) ;;
	*) return ;;
	esac
	j=$(ffprobe -v error -count_frames -show_entries \
		stream=codec_type,width,height,pix_fmt,color_range,sample_aspect_ratio,nb_read_frames:format=duration \
		-of json "$f") || { echo "ffprobe failed"; return; }
	src=$(db_query "SELECT duration, probe FROM media WHERE sha256 = '$media'")
	local d=${src%%$'\t'*} sp=${src#*$'\t'}
	jq -r --argjson d "${d:-0}" --argjson sp "$sp" '
		[.streams[] | select(.codec_type == "video")] as $v |
		[.streams[] | select(.codec_type == "audio")] as $a |
		(.format.duration | tonumber? // 0) as $od |
		(if ($sp.fps // 0) > 0 then 1 / $sp.fps else 0.1 end) as $frame |
		if ($v | length) != 1 then "video streams: \($v | length)"
		elif ($v[0].nb_read_frames | tonumber) < 1 then "no decoded frame"
		elif $v[0].width % 2 != 0 or $v[0].height % 2 != 0 then "odd size \($v[0].width)x\($v[0].height)"
		elif ([$v[0].width, $v[0].height] | max) > 1280 then "long side over 1280"
		elif $v[0].pix_fmt != "yuv420p" then "pix_fmt \($v[0].pix_fmt)"
		elif ($v[0].color_range // "tv") != "tv" and $v[0].color_range != "unknown" then "range \($v[0].color_range)"
		elif ($v[0].sample_aspect_ratio // "1:1") != "1:1" and $v[0].sample_aspect_ratio != "0:1" then "SAR \($v[0].sample_aspect_ratio)"
		elif (($a | length) > 0) != (($sp.audio_codec // null) != null) then "audio \($a | length) stream(s), source \($sp.audio_codec)"
		elif $d > 0 and (($od - $d) | fabs) > ([0.02 * $d, $frame] | max) then "duration: \($od), source \($d)"
		else empty end' <<<"$j"
}

# every rendition of a completed post: its file exists and meets its rules
unreadable=
n_rend=0
while IFS=$'\t' read -r media profile key; do
	n_rend=$((n_rend + 1))
	f=$(rendition_file "$key")
	if [ ! -s "$f" ]; then
		unreadable="$unreadable
$media $profile: missing $f"
	elif e=$(rules "$profile" "$f" "$media") && [ -n "$e" ]; then
		unreadable="$unreadable
$media $profile: $e"
	fi
done < <(jq -r 'select(.status == "completed") | .media as $m |
	.renditions | to_entries[] | [$m, .key, .value] | @tsv' "$T/feed.json")
ok "completed posts have renditions ($n_rend)" test "$n_rend" -gt 0
is "$unreadable" "" "every rendition of every completed post meets its profile's rules (ffprobe, jq)"

for rel in peertube/video_short.mp4 pillow/iss634.gif; do
	s=$(sha256 "$CORPUS/$rel")
	p=${light#probe}
	{ [ ! -f "$CORPUS/$rel" ] || corpus_wanted "$CORPUS" "$rel"; } && p=$p,$heavy
	p=${p#,}
	ok "$rel: completed with $p" jq -se --arg m "$s" --arg p "$p" \
		'map(select(.media == $m)) | length >= 1 and all(.[]; .status == "completed" and
		(.renditions as $r | $p | split(",") | all(. as $k | $r | has($k))))' "$T/feed.json"
done
is "$(count_files "$STORE/tmp")$(count_files "$STORE/work")" 00 "tmp/ and work/ are empty at the end"

done_testing
