#!/bin/bash
# 61-source-kept.t - what a job reads of its source (lib/source.h) is the
# ingest's: md-ingest's probe keeps it in the media's probe JSON under
# "source", the claim hands it on, and md-work runs no ffprobe of its own
# on the source.  A media ingested before the probe kept it (its probe
# without "source", as a database from before) is read again by the
# worker, and comes out the same.  And on real files, on SQLite (no
# database takes part), what the probe keeps is field for field what the
# worker's own ffprobe of the file reads: the sample media and, of
# ../shared/corpus, lib.sh's corpus_wanted files the manifest tags video
# or animated (make media-check: every file).
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

# An ffprobe shim first on PATH logs the source probes the worker runs
# (the only ffprobe asked for color_transfer).  It writes beside the test,
# which the confinement of a job forbids: it is off here.
ffprobe_shim <<SH
case "\$*" in *color_transfer*) echo "\$*" >>"$MD_TMP/source.runs" ;; esac
SH

run md-ingest --json --enqueue mp4 "$IN/video.mp4" "$IN/silent.webm"
is "$rc" 0 "md-ingest of two videos, mp4 enqueued" || diag "$err"
v=$(jq -r 'select(.path | endswith("video.mp4")) | .media' <<<"$out")
w=$(jq -r 'select(.path | endswith("silent.webm")) | .media' <<<"$out")
ok "both ingested" test ${#v} = 64 -a ${#w} = 64

# the probe JSON as the database holds it, as text
probe_of() { db_query "SELECT probe FROM media WHERE sha256 = '$1'"; }
src=$(probe_of "$v" | jq -c .source)
is "$(jq -r '[.video_codec, .profile, .pix_fmt, .width, .height, .coded_width,
	.coded_height, (.sar | join(":")), .audio_codec, .channels] | join(" ")' <<<"$src")" \
	"h264 $(vprop "$IN/video.mp4" profile) yuv420p 320 240 320 240 1:1 aac $(ffprobe -v error \
	-select_streams a:0 -show_entries stream=channels -of csv=p=0 "$IN/video.mp4")" \
	"the probe keeps the source: codec, profile, sizes, coded sizes, pixels, audio"
like "$(jq -r '.fps, .max_fps, .bit_rate' <<<"$src" | paste -sd ' ')" '^25 25 [1-9][0-9]*$' \
	"and its rates"
is "$(probe_of "$w" | jq -r '.source.audio_codec, .source.video_codec' | paste -sd ' ')" \
	"null vp8" "a video without sound keeps no audio codec"

# the webm as a media ingested before the probe kept its source
if [ "$MD_BACKEND" = sqlite ]; then
	db_query "UPDATE media SET probe = json_remove(probe, '\$.source') WHERE sha256 = '$w'"
else
	db_query "UPDATE media SET probe = probe - 'source' WHERE sha256 = '$w'"
fi
is "$(probe_of "$w" | jq -c 'has("source")')" false "the webm's probe has no source now"

rm -f "$MD_TMP/source.runs"
PATH=$SHIM:$PATH run md-work --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
is "$(db_count jobs "state = 'succeeded' AND profile = 'mp4'")" 2 "both mp4 jobs succeeded"
runs=$(cat "$MD_TMP/source.runs" 2>/dev/null)
is "$(printf '%s' "$runs" | grep -c .)" 1 "one source probe, for the media that kept none" ||
	diag "$runs"
unlike "$runs" "video\.mp4|$v" "none for the media whose probe kept it"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"

# each rendition as its source: the kept one and the one read again
for m in "$v" "$w"; do
	f=$(rendition_file "$(db_query "SELECT storage_key FROM renditions
		WHERE media = '$m' AND profile = 'mp4'")")
	ok "the mp4 of ${m:0:12} is stored" test -s "$f"
	is "$(vprop "$f" codec_name,width,height)" "h264,320,240" \
		"the mp4 of ${m:0:12}: H.264 at the source's size"
done
is "$(vprop "$(rendition_file "$(db_query "SELECT storage_key FROM renditions
	WHERE media = '$w' AND profile = 'mp4'")")" sample_aspect_ratio)" 1:1 \
	"the source read again: square pixels"

if [ "$MD_BACKEND" = sqlite ]; then
	files=("$IN"/*)
	CORPUS=$MD_ROOT/../shared/corpus
	if [ -d "$CORPUS" ]; then
		CORPUS=$(cd "$CORPUS" && pwd -P)
		while IFS= read -r rel; do
			corpus_wanted "$CORPUS" "$rel" && files+=("$CORPUS/$rel")
		done < <(awk -F'\t' -v all="${MD_TEST_CORPUS:-}" \
			'NR > 1 && (all == "all" || $8 ~ /^\[(video|animated-image)[];]/) { print $3 }' \
			"$CORPUS/MANIFEST.tsv")
	else
		note "no corpus at ../shared/corpus: the sample media only"
	fi
	run "$MD_ROOT/tests/unit/source-check" "${files[@]}"
	is "$rc" 0 "source-check: the kept source is the worker's own read, on ${#files[@]} files" ||
		diag "$(grep '^not ok' <<<"$out")"
	ok "source-check compared files, not only skipped them" \
		test "$(grep -c '^ok [0-9]* - [^#]*$' <<<"$out")" -ge 5
fi

done_testing
