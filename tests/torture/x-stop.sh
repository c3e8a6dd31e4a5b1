#!/bin/bash
# x-stop.sh BACKEND TRIAL SEED - a worker frozen past its lease (SIGSTOP).
#
# Worker A runs one job of TT_JOB seconds; at a random moment of it, A and
# every process it started are stopped with SIGSTOP (as a paused machine
# would be).  Worker B rescues the expired lease and runs the job to
# success; md-finalize registers the rendition, whose bytes are recorded.
# Then A is resumed (SIGCONT) and left to finish its run and its publish.
# Record: jobs run twice at once (not counting the time A was frozen),
# stale files (the registered file replaced or changed after A resumed),
# unregistered files, posts and jobs lost.
. "$(dirname "$0")/lib.sh"
TT_EXP=sigstop TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "stop-$2" || exit 1

cp "$(tt_media job-a "$TT_JOB")" "$TD/in/a.mp4"
md-ingest -q --enqueue tort "$TD/in/a.mp4" >/dev/null 2>"$TD/ingest.err" || exit 1
tt_bg wa md-work -j 1
wa=$TT_PID
MD_TEST_WAIT=30 wait_for "a job starts" tt_started 1 || { tt_stop "$wa"; exit 1; }
tt_ms "$(tt_rand $((TT_JOB * 700)))"
frozen=$(tt_procs)
kill -STOP "$wa" $frozen 2>/dev/null
t1=$(tt_now)
read -r wda pida < <(awk '$1 == "start" { print $3, $4; exit }' "$TD/runs.log")
tt_bg wb md-work -j 1
wb=$TT_PID
succeeded() { [ "$(db_query "SELECT state FROM jobs")" = succeeded ]; }
MD_TEST_WAIT=$TT_WAIT wait_for "the job succeeds" succeeded
tt_stop "$wb"
md-finalize -q >/dev/null 2>>"$TD/finalize.err"
tt_renditions_snap "$TD/snap"
kill -CONT "$wa" $frozen 2>/dev/null
echo "pause $wda $t1 $(tt_now)" >>"$TD/runs.log"
# A's run ends (or A, finding its run gone, stops it: then its step has
# no end line), then A records (or is refused) and cleans its work directory
a_done() {
	{ grep -q "^end [^ ]* $wda " "$TD/runs.log" || ! kill -0 "$pida" 2>/dev/null; } &&
		[ ! -e "$wda" ]
}
MD_TEST_WAIT=60 wait_for "the frozen run ends" a_done
grep -q "^end [^ ]* $wda " "$TD/runs.log" || echo "gone $wda $(tt_now)" >>"$TD/runs.log"
tt_stop "$wa"
tt_janitor
read -r double lostres < <(tt_runs_analyse)
read -r stale unreg < <(tt_stale "$TD/snap")
read -r lposts ljobs < <(tt_lost 1 1)
tt_record double=$double stale=$stale unreg=$unreg lostposts=$lposts lostjobs=$ljobs
tt_trial_end
