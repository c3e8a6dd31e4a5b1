#!/bin/bash
# x-outage.sh BACKEND TRIAL SEED - a long outage: md-work's CPU and log.
#
# MD_TORTURE_PAR workers (default 1), each with its own database and one job
# running (a clip longer than the outage) and one free slot, live through
# one outage of MD_TORTURE_OUTAGE seconds (default 40): on PostgreSQL the
# server is stopped; on SQLite another process holds an exclusive lock on
# each file.  One record per worker: cpu_s, the CPU seconds md-work itself
# used during the outage (utime + stime from /proc/PID/stat; not its
# children's), and log_lines, the lines it logged during it.
. "$(dirname "$0")/lib.sh"
TT_EXP=outage TT_SEED=$3 RANDOM=$3
out=${MD_TORTURE_OUTAGE:-40}
par=${MD_TORTURE_PAR:-1}
tt_run_init "$1" || exit 1
hz=$(getconf CLK_TCK)
declare -a tds wp dbs
for ((k = 0; k < par; k++)); do
	tt_trial "$1" "outage-$2-$k" || exit 1
	cp "$(tt_media "long-$out" $((out + 8)))" "$TD/in/a.mp4"
	md-ingest -q --enqueue tort "$TD/in/a.mp4" >/dev/null 2>"$TD/ingest.err" || exit 1
	tt_bg w md-work -j 2
	tds[k]=$TD wp[k]=$TT_PID dbs[k]=$TT_PGDB
	MD_TEST_WAIT=30 wait_for "a job starts" tt_started 1 || exit 1
done
declare -a cpu0 lines0 locks
for ((k = 0; k < par; k++)); do
	TD=${tds[k]}
	if [ "$TT_BACKEND" = sqlite ]; then
		sqlite3 -cmd '.timeout 10000' "$TD/md.db" "BEGIN EXCLUSIVE; SELECT 1;" ".shell sleep $out" \
			"COMMIT;" >/dev/null &
		locks[k]=$!
	fi
done
[ "$TT_BACKEND" = postgres ] && tt_pg halt
for ((k = 0; k < par; k++)); do
	cpu0[k]=$(tt_cpu "${wp[k]}") lines0[k]=$(wc -l <"${tds[k]}/w.err")
done
sleep "$out"
for ((k = 0; k < par; k++)); do
	c=$(tt_cpu "${wp[k]}") l=$(wc -l <"${tds[k]}/w.err")
	rec[k]="cpu_s=$(echo "scale=2; ($c - ${cpu0[k]}) / $hz" | bc) log_lines=$((l - lines0[k]))"
done
if [ "$TT_BACKEND" = postgres ]; then
	tt_pg start >/dev/null
else
	wait "${locks[@]}"
fi
declare -a alive
for ((k = 0; k < par; k++)); do
	alive[k]=1; kill -0 "${wp[k]}" 2>/dev/null || alive[k]=0
	kill -TERM "${wp[k]}" 2>/dev/null
done
for ((k = 0; k < par; k++)); do
	TD=${tds[k]} TT_PGDB=${dbs[k]}
	tt_stop "${wp[k]}"
	TT_SEED=$3.$k tt_record outage_s=$out ${rec[k]} worker_alive=${alive[k]}
	tt_trial_end
done
