#!/bin/bash
# tests/bench/sqlite.sh - the SQLite figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   burn-down   no-op jobs/s of one md-work process (-j 4, worker.batch B)
#               draining N jobs from a SQLite database, beside the bare-SQL
#               loop of the same statements in one process, each prepared
#               once, in the same batch size (tests/bench/sqlite-loop.c; the
#               goal: at least 0.8)
#   peak RSS    KB of md-work draining the same N jobs (/usr/bin/time's
#               maximum resident set), beside the goal of 8 MB
#
# Both sides start from the same N available jobs, made afresh each run,
# and must leave every one succeeded after one attempt.  Run by run.sh, or
# alone.  Environment: MD_BENCH_RUNS (5), MD_BENCH_JOBS (20000),
# MD_BENCH_BATCH (100).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_root
RUNS=${MD_BENCH_RUNS:-5}
N=${MD_BENCH_JOBS:-20000}
B=${MD_BENCH_BATCH:-100}
loop=$root/tests/bench/sqlite-loop
[ -x "$loop" ] || { echo "bench: no $loop: run make bench" >&2; exit 1; }

tmp=$(mktemp -d /tmp/md-bench-sq.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

export MD_DB=$tmp/md.db
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/bench.yaml
export MD_CONFIG_NOSYSTEM=1
printf 'worker:\n  batch: %d\n  poll_interval: 1s\n' "$B" >"$MD_CONFIG"
chmod 600 "$MD_CONFIG"
md-db -q init
sq() { sqlite3 -batch "$MD_DB" "$1"; }
sha=$(printf 'bench' | sha256sum | cut -c1-64)
sq "INSERT INTO media (sha256, kind, mime, format, ext, bytes) VALUES ('$sha', 'image', 'image/png', 'png_pipe', 'png', 1)"

fill() {  # fill N: N available noop jobs, nothing else
	sq "DELETE FROM jobs;
		WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $1)
		INSERT INTO jobs (media, profile, queue) SELECT '$sha', 'noop', 'default' FROM g;
		ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
}
all_done() {  # every job succeeded after one attempt, or the bench stops
	[ "$(sq "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1")" -eq "$N" ] ||
		{ echo "bench: $1 left jobs" >&2; exit 1; }
}
rate() { awk -v n="$N" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", n / (b - a) }'; }

mdwork_rate() {
	local t0 t1
	fill "$N"
	t0=$(now)
	md-work -q --drain -j 4 >/dev/null
	t1=$(now)
	all_done md-work
	rate "$t0" "$t1"
}
loop_rate() {
	local t0 t1
	fill "$N"
	t0=$(now)
	"$loop" "$MD_DB" "$B" >/dev/null
	t1=$(now)
	all_done sqlite-loop
	rate "$t0" "$t1"
}
mdwork_rss() {
	fill "$N"
	/usr/bin/time -f %M -o "$tmp/rss" md-work -q --drain -j 4 >/dev/null
	all_done md-work
	cat "$tmp/rss"
}
target_rss() { echo 8192; }


read -r m s < <(pairs mdwork_rate loop_rate)
printf '%-44s %12s %12s %7s\n' "SQLite burn-down, jobs/s (vs bare-SQL loop)" "$m" "$s" "$(ratio "$m" "$s")"
read -r m s < <(pairs mdwork_rss target_rss)
printf '%-44s %12s %12s %7s\n' "md-work peak RSS, KB, SQLite (vs 8 MB goal)" "$m" "$s" "$(ratio "$m" "$s")"
