#!/bin/bash
# 37-pause-check.t - queues paused for maintenance (md-job pause/resume):
# workers claim none of their jobs, md-status shows them, resuming wakes a
# running worker; md-status --check's verdicts and exit codes for a
# monitoring system; '-' for ids on stdin in md-job and md-status.  On
# either backend.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

CFG=$MD_TMP/check.yaml
md_broken_profile "$CFG" check-marker

md_ingest_samples
png=$(sample_field still.png media)
png_post=$(sample_field still.png post_id)
jpg=$(sample_field photo.jpg media)

# --- pause ---------------------------------------------------------------------------------------------
run md-job pause default
is "$rc|$out" "0|default	paused" "md-job pause: the queue and its state"
run md-job pause default
is "$rc" 0 "pausing a paused queue again: exit 0"
like "$err" "paused already" "and it says so"
run md-enqueue -p probe "$png" "$jpg"
is "$rc" 0 "jobs enqueued on the paused queue" || diag "$err"
run md-work --drain
is "$rc" 0 "md-work --drain with its queue paused: exit 0" || diag "$err"
is "$(db_count jobs "state = 'available'")" 2 "no job of a paused queue was claimed"

run md-status
like "$out" "$(printf 'paused\tdefault\t[^\t]+@[^\t]*\t')" "md-status lists the paused queue and who paused it"
run md-status --json
is "$(printf '%s' "$out" | jq -r '.paused[0].queue')" default "md-status --json: paused[].queue"
run md-status --prom
like "$out" 'memedroid_queue_paused\{queue="default"\} 1' "md-status --prom: memedroid_queue_paused"

# a worker that runs while the queue is paused takes its jobs once resumed
md-work >"$MD_TMP/w.out" 2>"$MD_TMP/w.err" &
wpid=$!
live_workers() { test "$(db_count workers "gone_at IS NULL")" = "$1"; }
done_jobs() { test "$(db_count jobs "state = 'succeeded'")" = "$1"; }
wait_for "the worker registered" live_workers 1
run md-job resume default
is "$rc|$out" "0|default	active" "md-job resume"
wait_for "the resumed queue's jobs done" done_jobs 2
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "the worker stopped cleanly"
run md-job resume default
is "$rc" 0 "resuming an active queue: exit 0"
like "$err" "was not paused" "and it says so"

# --- md-status --check ---------------------------------------------------------------------------------
run md-status --check
is "$rc" 2 "--check with no live worker: CRITICAL (2)"
like "$out" '^memedroid CRITICAL: 0 live workers \(fewer than 1\) \| .*workers=0;1:;1:$' \
	"a Nagios line with the finding and perfdata"
run md-status --check --min-workers 0
is "$rc" 0 "--min-workers 0: OK (0)"
like "$out" '^memedroid OK: 0 live workers, oldest job due 0s, 0 dead in the last hour \|' "the OK line"

run md-enqueue -c "$CFG" -p broken "$png"
run md-work -c "$CFG" --drain
is "$(db_count jobs "state = 'dead'")" 1 "one job dead"
run md-status --check --min-workers 0
is "$rc" 1 "one dead job in the last hour: WARNING (1) by default"
like "$out" "1 job dead in the last hour" "the finding says it"
run md-status --check --min-workers 0 --max-dead 1
is "$rc" 2 "--max-dead 1 (one value: the critical level too): CRITICAL"
run md-status --check --min-workers 0 --max-dead 2,3
is "$rc" 0 "--max-dead 2,3: OK"
run md-status --check --min-workers 0 --max-dead 0
is "$rc" 0 "--max-dead 0: dead jobs not judged"

run md-enqueue -c "$CFG" -p thumb "$png"
run md-status --check --min-workers 0 --max-dead 5 --max-wait 0s,1h
is "$rc" 1 "a job due longer than --max-wait's warning: WARNING"
like "$out" "queue 'default': the oldest job due has waited" "the finding names the queue"
run md-job pause default
run md-status --check --json --min-workers 0 --max-dead 5 --max-wait 0s,1h
is "$rc" 1 "a paused queue: WARNING, its wait not counted"
is "$(printf '%s' "$out" | jq -r '[.status, .code, .paused[0], (.message | test("paused"))] | @tsv')" \
	"WARNING	1	default	true" "--check --json: status, code, paused, message"
run md-job resume default

run md-status --check --db "sqlite:$MD_TMP/nowhere/none.db"
is "$rc" 3 "--check on a database that cannot be opened: UNKNOWN (3)"
like "$out" "^memedroid UNKNOWN" "and the UNKNOWN line"

# --- '-' for ids on stdin ------------------------------------------------------------------------------
run_in <(md-job list -s dead) md-job show -
is "$rc" 0 "md-job show - reads the ids md-job list prints"
like "$out" "$(printf 'profile\tbroken')" "and shows the dead job"
run_in <(md-job list --json -s dead; echo 'bogus line') md-job retry -
is "$rc" 1 "md-job retry - with JSON lines and a bad line: 1"
like "$err" "not a job id" "the bad line is named"
is "$(db_count jobs "state = 'dead'")" 0 "the JSON line's job was retried"
run_in <(md-job list -s available) md-job cancel -
is "$rc" 0 "md-job cancel - " || diag "$err"
is "$(db_count jobs "state = 'available'")" 0 "every listed job cancelled"
run_in "$T/ingest.json" md-status -
is "$rc" 0 "md-status - reads md-ingest --json's records" || diag "$err"
is "$(printf '%s\n' "$out" | grep -c '^post')" "$(wc -l <"$T/ingest.json")" "one post record per input"
run_in <(printf '%s\n' "$png_post") md-status --json -
is "$(printf '%s' "$out" | jq -r .post_id)" "$png_post" "md-status --json - with a TSV id"

# --- usage ---------------------------------------------------------------------------------------------
run md-job pause
is "$rc" 64 "md-job pause without a queue: 64"
run md-status --max-wait 5m
is "$rc" 64 "--max-wait without --check: 64"
run md-status --check --max-wait 1h,5m
is "$rc" 64 "--max-wait with CRIT below WARN: 64"
run md-status --check --min-workers 1,2
is "$rc" 64 "--min-workers with CRIT above WARN: 64"
run md-status --check --prom
is "$rc" 64 "--check with --prom: 64"
run md-job show 12x
is "$rc" 64 "md-job show with a bad id: 64"

done_testing
