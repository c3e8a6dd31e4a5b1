#!/bin/bash
# 80-concurrency.t - the concurrency proof: 2,000 no-op jobs worked by
# several md-work processes at once (4 x -j 4 on PostgreSQL, 2 x -j 4 on
# SQLite) each succeed exactly once with attempts = 1, none is claimed
# twice; the same with the jobs enqueued while the workers run.  And two
# md-ingest processes racing over the same 50 files make 100 posts and
# 50 media without an error.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

if [ -n "${MD_TEST_PGHOST-}" ]; then P=4; else P=2; fi
N=2000
IN=$MD_TMP/in
mkdir -p "$IN"
# 50 distinct small images: noisy frames of a test pattern
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=64x48:rate=25 -vf "noise=alls=40:allf=t" \
	-frames:v 50 "$IN/f%02d.png"
is "$(ls "$IN" | wc -l)" 50 "50 distinct images made"

run md-db init

# --- two md-ingest processes race over the same 50 files -----------------------
md-ingest -r "$IN" >"$MD_TMP/i1.out" 2>"$MD_TMP/i1.err" &
a=$!
md-ingest -r "$IN" >"$MD_TMP/i2.out" 2>"$MD_TMP/i2.err"
b=$?
wait "$a"
a=$?
is "$a $b" "0 0" "both md-ingest processes exit 0" || diag "$(cat "$MD_TMP/i1.err" "$MD_TMP/i2.err" | head)"
is "$(cat "$MD_TMP/i1.out" "$MD_TMP/i2.out" | wc -l)" 100 "100 lines printed"
is "$(db_count posts)" 100 "100 posts"
is "$(db_count media)" 50 "50 media"
is "$(count_files "$MD_HOME/storage/originals")" 50 "50 stored originals"
is "$(count_files "$MD_HOME/storage/tmp")" 0 "no temp file left"
is "$(cat "$MD_TMP/i1.out" "$MD_TMP/i2.out" | cut -f4 | sort | uniq -c | awk '{ print $2 "=" $1 }' | tr '\n' ' ')" \
	"dup=50 new=50 " "each media is new exactly once"

sha=$(sha256 "$IN/f01.png")
enqueue_n() {  # enqueue_n COUNT: COUNT new noop jobs in one md-enqueue
	yes "$sha" | head -n "$1" | md-enqueue -q -f -p noop - >/dev/null
}
workers_log() { cat "$MD_TMP"/w*.err; }
# check NAME: every noop job succeeded once, none claimed twice
check() {
	is "$(db_count jobs "profile = 'noop'")" "$N" "$1: $N jobs exist"
	is "$(db_count jobs "profile = 'noop' AND state = 'succeeded' AND attempts = 1")" "$N" \
		"$1: every job succeeded with attempts = 1"
	# each worker logs every job it completes (-v): no id twice
	local dups
	dups=$(workers_log | grep -o 'msg="short job done" job_id=[0-9]*' | sort | uniq -d | wc -l)
	is "$dups" 0 "$1: no job was claimed by two workers"
	is "$(workers_log | grep -c 'msg="short job done"')" "$N" "$1: the workers completed $N jobs in all"
	unlike "$(workers_log)" 'level=error|lease lost' "$1: no error, no lost lease"
}

# --- burn-down of a full queue --------------------------------------------------------
enqueue_n "$N"
pids=
for ((i = 0; i < P; i++)); do
	md-work -v --drain -j 4 >"$MD_TMP/w$i.out" 2>"$MD_TMP/w$i.err" &
	pids="$pids $!"
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "$P workers drained the queue and exited 0"
check "burn-down with $P workers"

# --- jobs enqueued while the workers run --------------------------------------------------
db_query "DELETE FROM jobs" >/dev/null
rm -f "$MD_TMP"/w*.err
pids=
for ((i = 0; i < P; i++)); do
	md-work -v -j 4 >"$MD_TMP/w$i.out" 2>"$MD_TMP/w$i.err" &
	pids="$pids $!"
done
for ((k = 0; k < 20; k++)); do enqueue_n $((N / 20)); done
all_done() { [ "$(db_count jobs "state = 'succeeded'")" -eq "$N" ]; }
for ((i = 0; i < 600; i++)); do all_done && break; sleep 0.1; done
ok "the running workers finish every job enqueued meanwhile" all_done
kill -TERM $pids
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
is "$fails" 0 "the workers exit 0 on SIGTERM"
check "enqueued while running"

done_testing
