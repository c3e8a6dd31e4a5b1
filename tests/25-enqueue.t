#!/bin/bash
# 25-enqueue.t - what md-enqueue makes of its input, on either backend:
# one job per (media, profile), never a duplicate of a live one unless
# --force, post ids and hashes of one media counted as one, skipped
# profiles and unknown refs reported in input order, the options stored
# on the jobs, and a bulk input kept in input order (ids and output).
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

md_sample_dirs

md_db_init
md_ingest_samples
img=$(sample_field photo.jpg media)
img_post=$(sample_field photo.jpg post_id)
vid=$(sample_field video.mp4 media)
vid_post=$(sample_field video.mp4 post_id)
gif=$(sample_field anim.gif media)
png=$(sample_field still.png media)
unknown=$(printf 'nothing' | sha256sum | cut -c1-64)

# --- one input: hashes, post ids, repeats, unknown refs -------------------------
printf '%s\n' "$img" "$vid_post" "$img" "$vid" "$unknown" 999999 "$img_post" >"$T/refs"
run_in "$T/refs" md-enqueue -p mp4,thumb
is "$rc" 1 "md-enqueue with two unknown refs among known ones exits 1" || diag "$err"
printf '%s\n' "$out" >"$T/1.tsv"
is "$(db_count jobs)" 3 "3 jobs: thumb of the image, mp4 and thumb of the video"
is "$(cut -f2,3,5 "$T/1.tsv" | tr '\t\n' ' /')" \
"$img thumb available/$vid mp4 available/$vid thumb available/\
$img thumb available/$vid mp4 available/$vid thumb available/$img thumb available/" \
	"one line per (ref, profile) in input order; skipped and unknown refs print nothing"
is "$(grep -c 'msg=skipped' <<<"$err")" 3 "mp4 for the image noted as skipped on stderr, each time"
j_img=$(awk -F '\t' 'NR == 1 { print $1 }' "$T/1.tsv")
j_mp4=$(awk -F '\t' 'NR == 2 { print $1 }' "$T/1.tsv")
j_thumb=$(awk -F '\t' 'NR == 3 { print $1 }' "$T/1.tsv")
ok "new job ids grow in input order" [ "$j_img" -lt "$j_mp4" ] && [ "$j_mp4" -lt "$j_thumb" ]
is "$(awk -F '\t' 'NR == 4 || NR == 7 { print $1 }' "$T/1.tsv" | sort -u)" "$j_img" \
	"the image named again (by hash and by post id) gets the job made for it"
is "$(awk -F '\t' 'NR == 5 || NR == 6 { print $1 }' "$T/1.tsv" | tr '\n' ' ')" \
	"$j_mp4 $j_thumb " "the video by hash gets the jobs made for its post"
is "$(grep -c 'no such post or media' <<<"$err")" 2 "both unknown refs reported on stderr"
like "$err" "ref=$unknown" "the unknown hash is named"
like "$err" "ref=999999" "the unknown post id is named"
is "$(db_query "SELECT count(*) FROM jobs j JOIN posts p ON p.id = $vid_post
	WHERE j.media = '$vid' AND j.trace_id = p.trace_id")" 2 \
	"the video's jobs carry its post's trace id"

# --- again: nothing new -----------------------------------------------------------
run md-enqueue -p thumb "$img" "$vid"
is "$rc" 0 "md-enqueue of media with live jobs exits 0" || diag "$err"
is "$(cut -f1,5 <<<"$out" | tr '\t\n' ' /')" "$j_img available/$j_thumb available/" \
	"the live jobs are printed instead"
is "$(db_count jobs)" 3 "no job added"

db_query "UPDATE jobs SET state = 'running', queue = 'elsewhere' WHERE id = $j_thumb"
run md-enqueue -p thumb "$vid"
is "$(cut -f1,4,5 <<<"$out")" "$j_thumb"$'\telsewhere\trunning' \
	"a running job is printed with its own queue and state"
db_query "UPDATE jobs SET state = 'dead' WHERE id = $j_mp4"
run md-enqueue -p mp4 "$vid"
j_mp4b=$(cut -f1 <<<"$out")
ok "a dead job is not live: a new one is made ($j_mp4 -> $j_mp4b)" [ "$j_mp4b" -gt "$j_mp4" ]
is "$(db_count jobs)" 4 "4 jobs now"

# --- --force ------------------------------------------------------------------------
run md-enqueue -f -p thumb "$img" "$img"
is "$rc" 0 "md-enqueue -f exits 0" || diag "$err"
is "$(cut -f5 <<<"$out" | sort -u)" available "two new available jobs"
is "$(cut -f1 <<<"$out" | sort -u | wc -l)" 2 "-f: one job per ref, even for a repeated one"
is "$(db_count jobs)" 6 "6 jobs now"
run md-enqueue -p thumb "$img"
is "$(cut -f1 <<<"$out")" "$(db_query "SELECT max(id) FROM jobs WHERE media = '$img'")" \
	"of several live jobs the newest is printed"

# --- options stored on the job --------------------------------------------------------
run md-enqueue --queue fast --priority 7 --max-attempts 2 --at @2000000000 -p thumb "$gif"
is "$rc" 0 "md-enqueue with --queue --priority --max-attempts --at" || diag "$err"
is "$(cut -f4,5 <<<"$out")" $'fast\tavailable' "printed in queue fast"
if [ "$MD_BACKEND" = postgres ]; then
	epoch="extract(epoch FROM run_at)::bigint"
else
	epoch="CAST(strftime('%s', run_at) AS INTEGER)"
fi
is "$(db_query "SELECT queue, priority, max_attempts, $epoch FROM jobs WHERE media = '$gif'")" \
	$'fast\t7\t2\t2000000000' "queue, priority, max_attempts and run_at stored"

# a queue name is stored as given, whatever its characters
if [ "$MD_BACKEND" = postgres ]; then tab="chr(9)"; else tab="char(9)"; fi
run md-enqueue -f --queue $'slow\\lane\tB' -p thumb "$gif"
is "$rc" 0 "md-enqueue --queue with a backslash and a tab" || diag "$err"
is "$(db_query "SELECT replace(queue, $tab, '<TAB>') FROM jobs WHERE id = $(cut -f1 <<<"$out")")" \
	'slow\lane<TAB>B' "the queue name stored as given"

if [ "$MD_BACKEND" = postgres ]; then
	# jobs are found by media through an index on a hash of the hash
	is "$(db_query "SELECT indexdef FROM pg_indexes WHERE tablename = 'jobs' AND indexdef LIKE '%media%'")" \
		"CREATE INDEX jobs_media ON public.jobs USING btree (hashtextextended(media, (0)::bigint))" \
		"PostgreSQL: jobs indexed by hashtextextended(media, 0), not by the text"
	like "$(db_query "SET enable_seqscan = off; EXPLAIN SELECT state FROM jobs
		WHERE hashtextextended(media, 0) = hashtextextended('$img', 0) AND media = '$img'")" \
		"jobs_media" "a lookup by media uses it"
else
	skip "PostgreSQL only: the jobs_media index" 2
fi

# --- bulk: input order kept, in ids and in output -----------------------------------------
for i in $(seq 400); do printf '%s\n' "$png" "$vid" "$gif" "$img" "$vid_post"; done >"$T/bulk"
run_in "$T/bulk" md-enqueue -f -p thumb
is "$rc" 0 "md-enqueue -f of 2,000 refs exits 0" || diag "$err"
is "$(wc -l <<<"$out")" 2000 "2,000 lines"
is "$(cut -f2 <<<"$out" | head -5 | tr '\n' ' ')" "$png $vid $gif $img $vid " \
	"lines in input order"
ok "job ids strictly increasing in input order" \
	awk -F '\t' 'NR > 1 && $1 <= prev { exit 1 } { prev = $1 }' <<<"$out"
is "$(db_count jobs "profile = 'thumb' AND media = '$vid'")" 801 "800 new thumb jobs of the video"
run_in "$T/bulk" md-enqueue -p thumb
is "$(cut -f1 <<<"$out" | sort -u | wc -l)" 4 "again without -f: the 4 newest jobs, printed 2,000 times"
is "$(db_count jobs)" 2008 "no job added"

# --- nothing to do ----------------------------------------------------------------------------
run_in /dev/null md-enqueue -p thumb
is "$rc $out" "0 " "empty input: exit 0, nothing printed"

done_testing
