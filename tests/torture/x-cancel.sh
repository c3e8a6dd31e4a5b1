#!/bin/bash
# x-cancel.sh BACKEND TRIAL SEED - md-job cancel of a running job.
#
# One job of 4 x TT_JOB seconds runs in md-work; at a random moment of its first 2 s it is
# cancelled with md-job cancel.  Record: the seconds until every process of
# its run is gone (cancel_s; 30 when they outlive the wait), stale files
# (anything published for it: a file under renditions/, or a rendition row)
# and whether its post became "completed" (completed_post).
. "$(dirname "$0")/lib.sh"
TT_EXP=cancel TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "cancel-$2" || exit 1

cp "$(tt_media long $((TT_JOB * 4)))" "$TD/in/a.mp4"
md-ingest -q --enqueue tort "$TD/in/a.mp4" >/dev/null 2>"$TD/ingest.err" || exit 1
tt_bg w md-work -j 1
w=$TT_PID
MD_TEST_WAIT=30 wait_for "a job starts" tt_started 1 || { tt_stop "$w"; exit 1; }
tt_ms "$(tt_rand 2000)"
wd=$(awk '$1 == "start" { print $3; exit }' "$TD/runs.log")
id=$(db_query "SELECT id FROM jobs")
md-job cancel "$id" >/dev/null 2>"$TD/cancel.err"
t0=$(tt_now)
run_alive() { grep -qaF "$wd" /proc/[0-9]*/cmdline 2>/dev/null; }
for ((i = 0; i < 300; i++)); do
	run_alive || break
	sleep 0.1
done
t1=$(tt_now)
# the worker settles: its work directory goes once the run is handled
MD_TEST_WAIT=30 wait_for "the work directory goes" test ! -e "$wd"
tt_stop "$w"
md-finalize -q >/dev/null 2>>"$TD/finalize.err"
files=$(count_files "$STORE/renditions")
rows=$(db_query "SELECT count(*) FROM renditions")
completed=$(db_query "SELECT count(*) FROM posts WHERE status = 'completed'")
tt_record cancel_s="$(echo "$t1 - $t0" | bc)" stale=$((files + rows)) completed_post=$completed \
	state="$(db_query "SELECT state FROM jobs")"
tt_trial_end
