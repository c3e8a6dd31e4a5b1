#!/bin/bash
# 10-pipeline.t - the whole happy path on generated samples:
#   md-db init; md-ingest -r DIR | md-enqueue -p mp4,thumb;
#   md-work --drain -j 2; md-finalize; md-feed --json
# then every post is completed, the records have the contract's fields, the
# renditions are in storage and ffprobe reads them as the profiles promise.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

md_sample_dirs

# expected kind and renditions per sample
declare -A kind=([video.mp4]=video [silent.webm]=video [anim.gif]=animated
	[still.png]=image [photo.jpg]=image)
declare -A sha
for f in "${!kind[@]}"; do sha[$f]=$(sha256 "$IN/$f"); done

# --- md-db init ------------------------------------------------------------
run md-db init
is "$rc" 0 "md-db init exits 0" || diag "$err"
for d in originals renditions tmp work; do
	ok "md-db init made storage $d/" test -d "$STORE/$d"
done
run md-db status
is "$rc" 0 "md-db status exits 0"
ok "md-db status lists migrations" test -n "$out"
is "$(printf '%s\n' "$out" | awk -F '\t' '$3 != "applied"' | wc -l)" 0 \
	"md-db status: every migration applied"
like "$(printf '%s\n' "$out" | head -n 1)" $'^[0-9]{3}\t[^\t]+\tapplied\t.+' \
	"md-db status line is NNN<TAB>name<TAB>applied<TAB>applied_at"
run md-db status --json
ok "md-db status --json: objects with version,name,state,applied_at, all applied" \
	jq -se 'length > 0 and all(.[]; has("version") and has("name") and
		has("applied_at") and .state == "applied")' <<<"$out"

# --- ingest | enqueue ----------------------------------------------------------
md-ingest -r "$IN" 2>"$T/ingest.err" | tee "$T/ingest.tsv" |
	md-enqueue -p mp4,thumb >"$T/enqueue.tsv" 2>"$T/enqueue.err"
st=("${PIPESTATUS[@]}")
is "${st[0]}" 0 "md-ingest -r exits 0" || diag "$(cat "$T/ingest.err")"
is "${st[2]}" 0 "md-enqueue -p mp4,thumb exits 0" || diag "$(cat "$T/enqueue.err")"

is "$(wc -l <"$T/ingest.tsv")" 5 "md-ingest prints one line per input"
bad=$(awk -F '\t' 'NF != 5 || $1 !~ /^[0-9A-Za-z_-]+$/ || length($2) != 64 || $2 ~ /[^0-9a-f]/ ||
	$3 != "pending" || $4 != "new"' "$T/ingest.tsv")
is "$bad" "" "md-ingest lines: post_id<TAB>sha256<TAB>pending<TAB>new<TAB>path"
for f in "${!kind[@]}"; do
	got=$(awk -F '\t' -v p="$IN/$f" '$5 == p { print $2 }' "$T/ingest.tsv")
	is "$got" "${sha[$f]}" "md-ingest: $f has its SHA-256 and path"
done

# 3 mp4 jobs (video, video, animated) + 5 thumb jobs; 2 notices for images
jobs=$(awk -F '\t' '$5 != "skipped"' "$T/enqueue.tsv")
is "$(printf '%s\n' "$jobs" | awk -F '\t' 'NF == 5 && $5 == "available"' | wc -l)" 8 \
	"md-enqueue printed 8 jobs job_id<TAB>media<TAB>profile<TAB>queue<TAB>available"
is "$(printf '%s\n' "$jobs" | awk -F '\t' '$3 == "mp4"' | cut -f2 | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "${sha[video.mp4]}" "${sha[silent.webm]}" "${sha[anim.gif]}" | sort | tr '\n' ' ')" \
	"md-enqueue: mp4 jobs for the videos and the GIF only"
is "$(printf '%s\n' "$jobs" | awk -F '\t' '$3 == "thumb"' | wc -l)" 5 \
	"md-enqueue: a thumb job for every media"
like "$(cat "$T/enqueue.err")" "mp4" "md-enqueue notes on stderr the mp4 profile skipped for images"
is "$(db_count jobs)" 8 "jobs table has 8 rows"
is "$(db_count jobs "state = 'available'")" 8 "all 8 jobs available"
is "$(db_count media)" 5 "media table has 5 rows"
is "$(db_count posts "status = 'pending'")" 5 "5 pending posts"

# --- work, finalize ----------------------------------------------------------------
run md-work --drain -j 2
is "$rc" 0 "md-work --drain -j 2 exits 0" || diag "$err"
is "$out" "claimed=8 succeeded=8 retried=0 dead=0 released=0" "md-work summary"
is "$(db_count jobs "state = 'succeeded'")" 8 "all jobs succeeded"
is "$(db_count jobs "state <> 'succeeded'")" 0 "no job in another state"

run md-finalize
is "$rc" 0 "md-finalize exits 0" || diag "$err"
is "$(printf '%s\n' "$out" | awk -F '\t' 'NF == 3 && $3 == "completed"' | wc -l)" 5 \
	"md-finalize prints post_id<TAB>media<TAB>completed for 5 posts"
is "$(printf '%s\n' "$out" | cut -f2 | sort | tr '\n' ' ')" \
	"$(printf '%s\n' "${sha[@]}" | sort | tr '\n' ' ')" "md-finalize names each media"
run md-finalize
is "$rc|$out" "0|" "md-finalize again: nothing to do (idempotent)"
is "$(db_count posts "status = 'completed'")" 5 "5 completed posts in the database"

# --- feed ----------------------------------------------------------------------------
run md-feed --json
is "$rc" 0 "md-feed --json exits 0" || diag "$err"
printf '%s\n' "$out" >"$T/feed.json"
ok "md-feed --json: valid JSON lines" json_lines_ok "$out"
is "$(jq -s 'map(select(has("post_id"))) | length' "$T/feed.json")" 5 "md-feed lists 5 posts"
is "$(jq -s 'map(select(has("post_id") | not)) | length' "$T/feed.json")" 0 "posts only, no cursor record"
ok "md-feed records have every contract field" jq -se '
	all(.[]; has("post_id") and has("user") and has("caption") and
	    (.tags | type == "array") and has("status") and has("created_at") and
	    has("media") and has("kind") and has("trace_id") and
	    (.renditions | type == "object") and has("error"))' "$T/feed.json"
ok "every post completed, user tester, trace_id 32 hex" jq -se '
	all(.[]; .status == "completed" and .user == "tester" and
	    (.trace_id | test("^[0-9a-f]{32}$")))' "$T/feed.json"
ok "md-feed lists newest first (created_at descending)" jq -se '
	[.[].created_at] as $c | $c == ($c | sort | reverse)' "$T/feed.json"

for f in "${!kind[@]}"; do
	s=${sha[$f]}
	rec=$(jq -c --arg m "$s" 'select(.media == $m)' "$T/feed.json")
	is "$(jq -r .kind <<<"$rec")" "${kind[$f]}" "$f: kind ${kind[$f]}"
	if [ "${kind[$f]}" = image ]; then want="thumb"; else want="mp4 thumb"; fi
	is "$(jq -r '.renditions | keys | sort | join(" ")' <<<"$rec")" "$want" \
		"$f: renditions $want"

	# the original, at its content address
	orig=$(ls "$STORE/originals/$(shard "$s")".* 2>/dev/null)
	is "$(printf '%s' "$orig" | grep -c .)" 1 "$f: one original at originals/$(shard "$s").EXT"
	[ -n "$orig" ] && is "$(sha256 "$orig")" "$s" "$f: stored original has the same bytes"

	for p in $want; do
		key=$(jq -r --arg p "$p" '.renditions[$p]' <<<"$rec")
		file=$(rendition_file "$key")
		like "$file" "/renditions/${s:0:2}/${s:2:2}/$s/$p/[0-9]+-[0-9]+/[^/]+$" \
			"$f: $p rendition under renditions/ab/cd/<sha>/$p/<job>-<claim>/"
		ok "$f: $p rendition file exists and is not empty" test -s "$file"
		probe=$(ffprobe -v error -show_entries \
			stream=codec_type,codec_name,pix_fmt,width,height -of json "$file" 2>&1)
		ok "$f: ffprobe reads the $p rendition" jq -e '.streams | length > 0' <<<"$probe"
		if [ "$p" = mp4 ]; then
			v=$(jq -c '[.streams[] | select(.codec_type == "video")][0]' <<<"$probe")
			is "$(jq -r '.codec_name + " " + .pix_fmt' <<<"$v")" "h264 yuv420p" \
				"$f: mp4 is h264 yuv420p"
			w=$(jq -r .width <<<"$v") h=$(jq -r .height <<<"$v")
			ok "$f: mp4 dimensions ${w}x$h even, long side <= 1280" \
				test $((w % 2)) -eq 0 -a $((h % 2)) -eq 0 -a "$w" -le 1280 \
				-a "$h" -le 1280 -a "$w" -gt 0
			moov=$(grep -boa moov "$file" | head -n 1 | cut -d: -f1)
			mdat=$(grep -boa mdat "$file" | head -n 1 | cut -d: -f1)
			ok "$f: mp4 has +faststart (moov at $moov before mdat at $mdat)" \
				test -n "$moov" -a -n "$mdat" -a "${moov:-0}" -lt "${mdat:-0}"
			na=$(jq '[.streams[] | select(.codec_type == "audio")] | length' <<<"$probe")
			if [ "$f" = video.mp4 ]; then
				tags=$(ffprobe -v error -show_entries format_tags -of json "$file" | jq -c '.format.tags // {}')
				unlike "$tags" 'md-sample-title|48\.8584' "$f: mp4 drops the input's metadata (title, GPS location)"
				is "$na" 1 "$f: mp4 keeps the audio track"
				is "$(jq -r '.streams[] | select(.codec_type == "audio") | .codec_name' <<<"$probe")" \
					aac "$f: mp4 audio is AAC"
			else
				is "$na" 0 "$f: mp4 has no audio track (input had none)"
			fi
		else
			v=$(jq -c '[.streams[] | select(.codec_type == "video")][0]' <<<"$probe")
			like "$(jq -r .codec_name <<<"$v")" '^(mjpeg|webp|png)$' "$f: thumb is a still image"
			w=$(jq -r .width <<<"$v")
			ok "$f: thumb width $w is between 1 and 320" test "$w" -ge 1 -a "$w" -le 320
		fi
	done
done

# TSV feed: 10 fields per post, completed, renditions profile=key
run md-feed
is "$rc" 0 "md-feed (TSV) exits 0"
is "$(printf '%s\n' "$out" | awk -F '\t' 'NF == 10 && $4 == "completed" && $8 ~ /thumb=/' | wc -l)" 5 \
	"md-feed TSV: 5 lines of 10 fields, completed, with thumb=..."

# --base-url makes rendition URLs absolute
run md-feed --json --base-url https://cdn.example.org/m
ok "md-feed --base-url: every rendition URL starts with the base URL" jq -se '
	length == 5 and all(.[]; .renditions | to_entries |
		all(.value | startswith("https://cdn.example.org/m/")))' <<<"$out"

# keyset pagination: pages of 2, each after the last post's cursor, cover the 5 posts once
seen=
cursor=
for page in 1 2 3; do
	run md-feed --json --limit 2 ${cursor:+--before "$cursor"}
	is "$rc" 0 "md-feed page $page exits 0"
	seen="$seen $(jq -r '.post_id' <<<"$out" | tr '\n' ' ')"
	cursor=$(tail -n 1 <<<"$out" | jq -r .cursor)
	if [ "$page" -lt 3 ]; then
		like "$err" "more posts.*cursor=$cursor" "page $page: stderr tells the next page's cursor"
	else
		unlike "$err" "more posts" "the last page tells none"
	fi
done
is "$(tr ' ' '\n' <<<"$seen" | sed '/^$/d' | sort | tr '\n' ' ')" \
	"$(jq -r '.post_id' "$T/feed.json" | sort | tr '\n' ' ')" \
	"the pages list every post exactly once"
run md-feed --limit 2
is "$(awk -F'\t' 'NF != 10' <<<"$out" | wc -l)" 0 "TSV: post lines only, no cursor line"

# temp and work areas are clean
is "$(count_files "$STORE/tmp")" 0 "nothing left in storage tmp/"
is "$(count_files "$STORE/work")" 0 "nothing left in storage work/"

# --- --json record shapes of md-ingest and md-enqueue ------------------------------
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=96x64 -frames:v 1 \
	"$IN/new.png" || BAIL_OUT "ffmpeg failed"
newsha=$(sha256 "$IN/new.png")
run md-ingest --json --tag cats --tag dogs --caption 'hello "world"' "$IN/new.png"
is "$rc" 0 "md-ingest --json exits 0"
ok "md-ingest --json record: post_id media status dup kind path" jq -e --arg m "$newsha" \
	--arg p "$IN/new.png" 'has("post_id") and .media == $m and .status == "pending" and
	.dup == false and .kind == "image" and .path == $p' <<<"$out"
printf '%s\n' "$out" >"$T/new.json"
run_in "$T/new.json" md-enqueue --json -p mp4,thumb
is "$rc" 0 "md-enqueue --json reads md-ingest --json lines, exits 0"
ok "md-enqueue --json: thumb job record job_id media profile queue state" \
	jq -se --arg m "$newsha" 'map(select(.profile == "thumb")) | length == 1 and
	(.[0] | has("job_id") and .media == $m and (.queue | type == "string") and
	 .state == "available")' <<<"$out"
ok "md-enqueue --json: mp4 skipped for an image, with a reason" \
	jq -se --arg m "$newsha" 'map(select(.profile == "mp4")) | length == 1 and
	(.[0] | .state == "skipped" and .media == $m and (.reason | length > 0))' <<<"$out"
run md-work --drain --json
ok "md-work --drain --json summary object" jq -e '.claimed == 1 and .succeeded == 1 and
	.retried == 0 and .dead == 0 and .released == 0' <<<"$out"
run md-finalize --json
ok "md-finalize --json prints the post record, completed" jq -e --arg m "$newsha" \
	'.media == $m and .status == "completed" and (.renditions | has("thumb"))' <<<"$out"
run md-feed --json --tag dogs
ok "md-feed --tag dogs: the new post, its caption and both tags" jq -se --arg m "$newsha" '
	length == 1 and .[0].media == $m and .[0].caption == "hello \"world\"" and
	(.[0].tags | sort) == ["cats", "dogs"]' <<<"$out"

# --- trace ids: --trace-id, MD_TRACE_ID, TRACEPARENT ---------------------------------
tid1=0123456789abcdef0123456789abcdef
tid2=fedcba9876543210fedcba9876543210
tid3=4bf92f3577b34da6a3ce929d0e0e4736
run md-ingest --json --trace-id "$tid1" -e thumb "$IN/still.png"
is "$(jq -r .post_id <<<"$out")|$rc" "$(db_query "SELECT id FROM posts WHERE trace_id = '$tid1'")|0" \
	"--trace-id is stored on the post"
run env MD_TRACE_ID="$tid2" md-ingest --json "$IN/photo.jpg"
is "$(db_count posts "trace_id = '$tid2'")" 1 "MD_TRACE_ID is stored on the post"
run env TRACEPARENT="00-$tid3-00f067aa0ba902b7-01" md-ingest --json "$IN/anim.gif"
is "$(db_count posts "trace_id = '$tid3'")" 1 "the trace-id part of TRACEPARENT is stored on the post"
run md-feed --json --status all --limit 3
ok "md-feed shows the trace ids" jq -se --arg a "$tid1" --arg b "$tid2" --arg c "$tid3" \
	'[.[] | select(has("post_id")) | .trace_id] | sort == ([$a, $b, $c] | sort)' <<<"$out"

# --- logs: JSON lines with --log-format json, stdout stays data ------------------------
run md-ingest --log-format json -v "$IN/video.mp4"
is "$rc" 0 "md-ingest --log-format json -v exits 0"
ok "--log-format json: stderr has log lines" test -n "$err"
ok "--log-format json: every stderr line is a JSON object with level and msg" \
	jq -se 'all(.[]; type == "object" and has("level") and (has("msg") or has("message")))' <<<"$err"
is "$(printf '%s\n' "$out" | awk -F '\t' 'NF == 5' | wc -l)" 1 "stdout holds only the record"
run md-ingest -q "$IN/video.mp4"
is "$rc|$err" "0|" "-q: nothing on stderr when all is well"

# --- stored files are not world-readable (umask 027) --------------------------------------
is "$(find "$STORE" -perm -o=r -type f | head -n 3)" "" "no stored file is world-readable"

done_testing
