#!/bin/bash
# 20-dedup.t - the same content is stored and processed once, however many
# times it is posted: a second ingest of a processed directory makes new
# posts that are completed at once, with no new media row, file or job.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

md_sample_dirs

md_db_init

# --- first round: ingest, process, finalize ------------------------------------
md-ingest -r "$IN" 2>"$T/1.err" | tee "$T/1.tsv" | md-enqueue -p mp4,thumb >/dev/null 2>&1
st=("${PIPESTATUS[@]}")
is "${st[0]} ${st[2]}" "0 0" "first round: md-ingest | md-enqueue exit 0"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"

media1=$(db_count media)
posts1=$(db_count posts)
jobs1=$(db_count jobs)
orig1=$(count_files "$STORE/originals")
rend1=$(count_files "$STORE/renditions")
is "$media1 $posts1 $jobs1 $orig1" "5 5 8 5" "first round: 5 media, 5 posts, 8 jobs, 5 originals"
is "$(db_count posts "status = 'completed'")" 5 "first round: 5 posts completed"

# --- second round: the same directory again --------------------------------------
run md-ingest -r "$IN"
is "$rc" 0 "second md-ingest -r exits 0" || diag "$err"
printf '%s\n' "$out" >"$T/2.tsv"
is "$(wc -l <"$T/2.tsv")" 5 "second round: one line per input"
is "$(awk -F '\t' '$3 == "completed" && $4 == "dup"' "$T/2.tsv" | wc -l)" 5 \
	"second round: every post completed at once and marked dup"
is "$(cut -f2,5 "$T/2.tsv" | sort)" "$(cut -f2,5 "$T/1.tsv" | sort)" \
	"second round: same sha256 for the same paths"
is "$(cat "$T/1.tsv" "$T/2.tsv" | cut -f1 | sort -u | wc -l)" 10 \
	"second round: 5 new post ids, distinct from the first ones"

is "$(db_count media)" "$media1" "no new media row"
is "$(db_count posts)" 10 "5 new posts (10 in all)"
is "$(db_count posts "status = 'completed'")" 10 "all 10 posts completed"
is "$(db_count jobs)" "$jobs1" "no new job"
is "$(count_files "$STORE/originals")" "$orig1" "no new file under originals/"
is "$(count_files "$STORE/renditions")" "$rend1" "no new file under renditions/"
is "$(count_files "$STORE/tmp")" 0 "nothing left in tmp/"

# asking for the same work again never duplicates a succeeded job
run_in "$T/2.tsv" md-enqueue -p mp4,thumb
is "$rc" 0 "md-enqueue of the dup posts exits 0" || diag "$err"
is "$(db_count jobs)" "$jobs1" "md-enqueue made no duplicate job"
is "$(printf '%s\n' "$out" | awk -F '\t' 'NF == 5 && $5 == "succeeded"' | wc -l)" 8 \
	"md-enqueue printed the 8 existing succeeded jobs instead"

# the dup posts are in the feed with the renditions of the shared media
run md-feed --json
ok "md-feed: 10 completed posts, each with a thumb rendition" jq -se '
	map(select(has("post_id"))) | length == 10 and
	all(.[]; .status == "completed" and (.renditions | has("thumb")))' <<<"$out"
ok "md-feed: posts of the same media share the rendition keys" jq -se '
	map(select(has("post_id"))) | group_by(.media) |
	length == 5 and all(.[]; length == 2 and .[0].renditions == .[1].renditions)' <<<"$out"

run md-finalize
is "$rc|$out" "0|" "md-finalize has nothing to finalize for completed dups"

# --json marks the dup
run md-ingest --json "$IN/still.png"
ok "md-ingest --json: dup true, status completed" jq -e '.dup == true and
	.status == "completed" and .kind == "image"' <<<"$out"

# --- a dup of media not processed yet: pending, shares the pending job -------------
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=64x48 -frames:v 1 \
	"$IN/fresh.png" || BAIL_OUT "ffmpeg failed"
cp "$IN/fresh.png" "$IN/fresh-copy.png"
run md-ingest --json "$IN/fresh.png" "$IN/fresh-copy.png"
is "$rc" 0 "ingest of two copies of a new file in one run exits 0"
ok "one new, one dup; both pending" jq -se 'length == 2 and
	(map(.dup) | sort) == [false, true] and all(.[]; .status == "pending") and
	.[0].media == .[1].media' <<<"$out"
is "$(db_count media)" $((media1 + 1)) "one new media row for the two copies"
is "$(count_files "$STORE/originals")" $((orig1 + 1)) "one new original for the two copies"
printf '%s\n' "$out" >"$T/3.json"
run_in "$T/3.json" md-enqueue -p thumb
is "$(db_count jobs)" $((jobs1 + 1)) "one thumb job for the two posts of the same media"
run md-work --drain
is "$rc" 0 "md-work --drain"
run md-finalize
is "$(printf '%s\n' "$out" | awk -F '\t' '$3 == "completed"' | wc -l)" 2 \
	"md-finalize completes both posts of the shared media"

# --- several md-ingest at once on the same new files: no error, no duplicate ---------
CC=$MD_TMP/concurrent
mkdir -p "$CC"
for i in 1 2 3; do
	ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=$((40 + 2 * i))x40" \
		-frames:v 1 "$CC/c$i.png" || BAIL_OUT "ffmpeg failed"
done
media0=$(db_count media)
orig0=$(count_files "$STORE/originals")
pids=()
for i in 1 2 3 4; do
	timeout 120 md-ingest --json -r "$CC" >"$T/cc$i.json" 2>"$T/cc$i.err" </dev/null &
	pids+=($!)
done
codes=
for p in "${pids[@]}"; do wait "$p"; codes="$codes$? "; done
is "$codes" "0 0 0 0 " "4 concurrent md-ingest -r on the same files all exit 0"
is "$(cat "$T"/cc*.json | jq -s 'map(select(.dup == false)) | length')" 3 \
	"each new file is 'new' in exactly one of the runs"
is "$(db_count media)" $((media0 + 3)) "3 new media rows, not more"
is "$(count_files "$STORE/originals")" $((orig0 + 3)) "3 new originals, not more"
is "$(count_files "$STORE/tmp")" 0 "nothing left in tmp/"

# --- -j: probes at once, commits in groups, records in input order --------------
J=$MD_TMP/jobs
mkdir -p "$J"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=48x32:rate=5 -frames:v 6 "$J/p%d.png" ||
	BAIL_OUT "ffmpeg failed"
cp "$J/p1.png" "$J/p1-copy.png"
cp "$J/p4.png" "$J/p4-copy.png"
echo "not a media file" >"$J/p3-bad.png"
media0=$(db_count media)
orig0=$(count_files "$STORE/originals")
run md-ingest --json -j 4 -u jfour -r "$J"
is "$rc" 1 "-j 4: exits 1, one input rejected" || diag "$err"
printf '%s\n' "$out" >"$T/j4.json"
run md-ingest --json -j 1 -u jone -r "$J"
is "$rc" 1 "-j 1: exits 1 too"
printf '%s\n' "$out" >"$T/j1.json"
is "$(jq -r '.path | sub(".*/"; "")' "$T/j4.json" | tr '\n' ' ')" \
	"p1-copy.png p1.png p2.png p3-bad.png p3.png p4-copy.png p4.png p5.png p6.png " \
	"-j 4: one record per input, the rejected one too, in input order"
is "$(jq -c '[.path, .media, .error, .kind]' "$T/j4.json")" "$(jq -c '[.path, .media, .error, .kind]' "$T/j1.json")" \
	"-j 4 and -j 1: the same records in the same order"
is "$(jq -r 'select(.media) | .dup' "$T/j4.json" | tr '\n' ' ')" "false true false false false true false false " \
	"-j 4: a media twice in one run is new once, then dup"
is "$(db_count media)/$(count_files "$STORE/originals")" "$((media0 + 6))/$((orig0 + 6))" \
	"-j 4: six new media, six originals"
per_user() {
	db_query "SELECT p.media || ' ' || count(*) || ' ' || min(p.status) FROM posts p
		JOIN users u ON u.id = p.owner WHERE u.username = '$1' GROUP BY p.media ORDER BY p.media"
}
is "$(per_user jfour)" "$(per_user jone)" "-j 4 and -j 1: the same posts per media"
is "$(count_files "$STORE/tmp")" 0 "-j: nothing left in tmp/"
mkdir -p "$MD_TMP/mv"
cp "$J"/p1.png "$J"/p1-copy.png "$J"/p2.png "$J"/p3-bad.png "$MD_TMP/mv/"
run md-ingest -j 4 --move -u jmove -r "$MD_TMP/mv"
is "$rc" 1 "-j 4 --move: exits 1, one input rejected" || diag "$err"
is "$(printf '%s\n' "$out" | wc -l)/$(ls "$MD_TMP/mv")" "3/p3-bad.png" \
	"-j 4 --move: every posted source removed, the rejected one left"

done_testing
