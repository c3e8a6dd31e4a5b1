#!/bin/bash
# x-restart.sh BACKEND TRIAL SEED - the database goes away under load.
#
# Eight jobs of 1 s run in md-work -j 2.  At a random moment the database
# goes away for a random 1.5 to 3 s: on PostgreSQL the server is stopped and
# started again (pg_ctl, fast); on SQLite another process holds an exclusive
# lock on the file.  Record: first_s, the seconds from the moment the
# database is given back (just before pg_ctl start, so it counts the
# server's start; or just before the COMMIT that releases the lock) to the
# first job started after it (empty when none was left to start); no job
# can start between that moment and the database's return;
# jobs run twice at once; lost results (a run that succeeded, then ran
# again); posts and jobs lost once everything ran.
. "$(dirname "$0")/lib.sh"
TT_EXP=restart TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "restart-$2" || exit 1

for n in 1 2 3 4 5 6 7 8; do cp "$(tt_media "short-$n" 1)" "$TD/in/$n.mp4"; done
md-ingest -q -r --enqueue tort "$TD/in" >/dev/null 2>"$TD/ingest.err" || exit 1
tt_bg w md-work -j 2
w=$TT_PID
MD_TEST_WAIT=30 wait_for "a job starts" tt_started 1 || { tt_stop "$w"; exit 1; }
tt_ms "$(tt_rand 1000)"
down=$((1500 + $(tt_rand 1500)))
if [ "$TT_BACKEND" = postgres ]; then
	tt_pg halt
	tt_ms "$down"
	t0=$(tt_now)
	tt_pg start >/dev/null || exit 1
else
	sqlite3 -cmd '.timeout 10000' "$TD/md.db" "BEGIN EXCLUSIVE; SELECT 1;" \
		".shell sleep $(printf '%d.%03d' $((down / 1000)) $((down % 1000))); date +%s.%N | cut -c1-14 >$TD/t0" \
		"COMMIT;" >/dev/null
	t0=$(cat "$TD/t0")
fi
MD_TEST_WAIT=$TT_WAIT wait_for "every job finished" tt_jobs_done
tt_stop "$w"
first=$(awk -v t0="$t0" '$1 == "start" && $5 >= t0 { if (f == "" || $5 < f) f = $5 } END { if (f != "") printf "%.3f", f - t0 }' "$TD/runs.log")
md-finalize -q >/dev/null 2>>"$TD/finalize.err"
read -r double lostres < <(tt_runs_analyse)
read -r lposts ljobs < <(tt_lost 8 8)
tt_record down_ms=$down first_s=$first double=$double lostres=$lostres lostposts=$lposts lostjobs=$ljobs
tt_trial_end
