#!/bin/bash
# 35-job.t - md-job: list with filters, show, retry and cancel, on either
# backend; refused ids are reported and leave everything as it was, while
# the other ids of the same command go through.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

CFG=$MD_TMP/job.yaml
md_broken_profile "$CFG" no_such_filter

md_ingest_samples
img=$(sample_field photo.jpg media)
vid=$(sample_field video.mp4 media)
png=$(sample_field still.png media)

run md-enqueue -c "$CFG" -p thumb,broken "$img" "$vid" "$png"
is "$rc" 0 "md-enqueue thumb and broken for 3 media" || diag "$err"
thumb_img=$(awk -F '\t' -v m="$img" '$2 == m && $3 == "thumb" { print $1 }' <<<"$out")
broken_img=$(awk -F '\t' -v m="$img" '$2 == m && $3 == "broken" { print $1 }' <<<"$out")
thumb_vid=$(awk -F '\t' -v m="$vid" '$2 == m && $3 == "thumb" { print $1 }' <<<"$out")

# --- list --------------------------------------------------------------------------
run md-job list
is "$rc" 0 "md-job list exits 0" || diag "$err"
is "$(wc -l <<<"$out")" 6 "6 jobs listed"
ok "newest first" awk -F '\t' 'NR > 1 && $1 >= prev { exit 1 } { prev = $1 }' <<<"$out"
is "$(awk -F '\t' -v id="$thumb_img" '$1 == id { print $2, $3, $4, $5, $6, $7 }' <<<"$out")" \
	"available default thumb $img 0 5" "a line: id state queue profile media attempts max_attempts"
like "$(head -1 <<<"$out" | cut -f8)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "run_at in ISO 8601 UTC"
run md-job list -p broken
is "$(cut -f4 <<<"$out" | sort -u)" broken "-p broken: only broken jobs"
is "$(wc -l <<<"$out")" 3 "-p broken: 3"
run md-job list --media "$img" -n 1
is "$(cut -f1 <<<"$out")" "$broken_img" "--media and -n 1: the newest job of the media"
run md-job --json list --queue default --state available
is "$rc" 0 "md-job --json list --queue --state" || diag "$err"
ok "--json: one object per job, with the fields scripts rely on" jq -se \
	'length == 6 and all(.[]; (.job_id | type) == "number" and .state == "available"
	 and has("queue") and has("profile") and has("media") and has("attempts")
	 and has("max_attempts") and has("run_at") and has("last_error"))' <<<"$out"

# --- the broken jobs die; show tells why ----------------------------------------------
run md-work -c "$CFG" --drain -j 2
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"
is "$(db_count posts "status = 'failed'")" 3 "3 posts failed (their broken jobs are dead)"
run md-job list -s dead
is "$(wc -l <<<"$out")" 3 "md-job list -s dead: 3"

run md-job show "$broken_img" "$thumb_img"
is "$rc" 0 "md-job show of two jobs exits 0" || diag "$err"
is "$(awk -F '\t' '$1 == "job_id" { print $2 }' <<<"$out" | tr '\n' ' ')" "$broken_img $thumb_img " \
	"show: both, in the order asked"
is "$(awk -F '\t' '$1 == "state" { print $2 }' <<<"$out" | tr '\n' ' ')" "dead succeeded " \
	"show: their states"
like "$(awk -F '\t' '$1 == "last_error" { print $2; exit }' <<<"$out")" "no_such_filter" \
	"show: the dead job's last_error"
is "$(awk -F '\t' '$1 == "attempts" { print $2; exit }' <<<"$out")" "1/1" "show: attempts 1/1"
is "$(grep -c . <<<"$out")" 34 "show: 17 fields per job"
run md-job --json show "$thumb_img"
ok "show --json: result is an object with the rendition's key" jq -e \
	'.job_id == '"$thumb_img"' and (.result | type) == "object" and (.result.key | length > 0)' <<<"$out"
run md-job show 999999
is "$rc" 65 "show of an unknown id exits 65"
like "$err" "no such job" "and says so"

# --- retry ----------------------------------------------------------------------------
before=$(db_query "SELECT id, state, attempts FROM jobs ORDER BY id")
run md-job retry "$thumb_img" 999999
is "$rc" 65 "retry of a succeeded job and an unknown id: both refused, exit 65"
like "$err" "only dead or cancelled" "a succeeded job: the reason"
like "$err" "no such job" "an unknown id: the reason"
is "$(db_query "SELECT id, state, attempts FROM jobs ORDER BY id")" "$before" "nothing changed"

run md-job retry "$broken_img" 999999
is "$rc" 1 "retry of a dead job and an unknown id exits 1"
is "$out" "$broken_img"$'\tavailable' "the dead job is available again"
is "$(db_query "SELECT state, attempts, CASE WHEN finished_at IS NULL AND finalized_at IS NULL THEN 1 ELSE 0 END FROM jobs WHERE id = $broken_img")" \
	$'available\t0\t1' "attempts reset, finished and finalized cleared"
is "$(db_query "SELECT status FROM posts WHERE media = '$img'")" processing \
	"the media's failed post is processing again"
is "$(db_query "SELECT status FROM posts WHERE media = '$vid'")" failed "the others' posts stay failed"

# a live twin: retrying a second dead job of the same media and profile
run md-enqueue -c "$CFG" -f -p broken "$png"
run md-work -c "$CFG" --drain
twin=$(db_query "SELECT id FROM jobs WHERE media = '$png' AND profile = 'broken' ORDER BY id LIMIT 1")
run md-job retry "$twin"
is "$rc" 0 "retry of one dead job of a (media, profile)" || diag "$err"
other=$(db_query "SELECT max(id) FROM jobs WHERE media = '$png' AND profile = 'broken'")
run md-job retry "$other"
is "$rc" 65 "retry of its dead twin is refused"
like "$err" "job $twin for the same media and profile is available" "naming the live job"

# --- cancel ------------------------------------------------------------------------------
run md-enqueue -f -p thumb "$vid"
fresh=$(cut -f1 <<<"$out")
run md-job cancel "$twin" "$fresh" "$thumb_vid"
is "$rc" 1 "cancel of two available jobs and a succeeded one exits 1"
is "$(cut -f1,2 <<<"$out" | tr '\t\n' ' /')" "$twin cancelled/$fresh cancelled/" \
	"the available ones cancelled"
like "$err" "job_id=$thumb_vid" "the succeeded one named"
like "$err" "only available, running or dead" "with the reason"
is "$(db_query "SELECT state FROM jobs WHERE id = $thumb_vid")" succeeded "the succeeded job untouched"
run md-work -c "$CFG" --drain
is "$(db_query "SELECT state FROM jobs WHERE id IN ($fresh, $twin) GROUP BY state")" cancelled \
	"md-work does not run cancelled jobs"

# a running job: its worker's result is discarded (its step waits for a
# gate file, which the test opens once the job is cancelled)
cat >"$MD_TMP/slow.yaml" <<'EOF'
profiles:
  slow:
    kinds: [video, animated, image]
    output: copy.jpg
    steps:
      - [sh, -c, "i=0; while [ ! -e \"$2\" ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done; cp \"$0\" \"$1\"", "{input}", "{output}", "@GATE@"]
EOF
sed -i "s|@GATE@|$MD_TMP/slow.gate|" "$MD_TMP/slow.yaml"
run md-enqueue -c "$MD_TMP/slow.yaml" -p slow "$img"
slow=$(cut -f1 <<<"$out")
md-work -c "$MD_TMP/slow.yaml" --drain 2>"$T/slow.err" &
wpid=$!
slow_running() { [ "$(db_query "SELECT state FROM jobs WHERE id = $slow")" = running ]; }
wait_for "the slow job running" slow_running
run md-job cancel "$slow"
is "$rc $out" "0 $slow"$'\tcancelled' "cancel of a running job"
: >"$MD_TMP/slow.gate"
wait "$wpid"
is "$(db_query "SELECT state FROM jobs WHERE id = $slow")" cancelled \
	"its worker finished and the job stays cancelled"
like "$(cat "$T/slow.err")" "lease lost: the job was cancelled" "the worker says why it dropped the result"

# --- usage ---------------------------------------------------------------------------------
run md-job
is "$rc" 64 "no command: 64"
run md-job frobnicate 1
is "$rc" 64 "unknown command: 64"
run md-job retry
is "$rc" 64 "retry without ids: 64"
run md-job cancel abc
is "$rc" 64 "a non-numeric id: 64"
run md-job list 5
is "$rc" 64 "list with an argument: 64"
run md-job list --state bogus
is "$rc" 64 "a bad --state: 64"
like "$err" "available, running, succeeded, dead or cancelled" "naming the states"
run md-job show -s dead 1
is "$rc" 64 "show with a list filter: 64"

done_testing
