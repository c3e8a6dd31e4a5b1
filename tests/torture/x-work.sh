#!/bin/bash
# x-work.sh BACKEND TRIAL SEED - kill -9 of md-work at a random moment.
#
# Two jobs of the "tort" profile (each TT_JOB seconds of ffmpeg) run in one
# md-work -j 2.  Once the first has started, after a random delay within a
# job's length, md-work is killed with SIGKILL: alone (even seeds) or with
# its whole process group (odd seeds).  Its processes still alive 2 s later
# are orphans.  A new md-work then runs every job to its end (rescuing the
# dead worker's leases), md-finalize registers the renditions, whose bytes
# are recorded; once the orphans are gone (or killed after 60 s), the
# registered files are compared again.  Record: orphans, jobs run twice at
# once, lost results (a run that succeeded after the kill, then ran again),
# stale files, unregistered files, posts and jobs lost.
. "$(dirname "$0")/lib.sh"
TT_EXP=kill-work TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "work-$2" || exit 1

for n in a b; do cp "$(tt_media "job-$n" "$TT_JOB")" "$TD/in/$n.mp4"; done
md-ingest -q -r --enqueue tort "$TD/in" >/dev/null 2>"$TD/ingest.err" || { cat "$TD/ingest.err" >&2; exit 1; }

mode=pid; [ $((TT_SEED % 2)) = 1 ] && mode=group
tt_bg w1 md-work -j 2
w1=$TT_PID
MD_TEST_WAIT=30 wait_for "a job starts" tt_started 1 || { tt_stop "$w1"; exit 1; }
tt_ms "$(tt_rand $((TT_JOB * 1000)))"
kt=$(tt_kill9 "$w1" "$mode")
orphans=$(tt_orphans)

tt_bg w2 md-work -j 2
w2=$TT_PID
MD_TEST_WAIT=$TT_WAIT wait_for "every job finished" tt_jobs_done
tt_stop "$w2"
md-finalize -q >/dev/null 2>>"$TD/finalize.err"
tt_renditions_snap "$TD/snap"
tt_orphans_gone 60
tt_janitor
read -r double lostres < <(tt_runs_analyse "$kt")
read -r stale unreg < <(tt_stale "$TD/snap")
read -r lposts ljobs < <(tt_lost 2 2)
tt_record kill=$mode orphans=$orphans double=$double lostres=$lostres stale=$stale unreg=$unreg \
	lostposts=$lposts lostjobs=$ljobs
tt_trial_end
