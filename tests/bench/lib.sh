# tests/bench/lib.sh - what the bench scripts share.  Source it (bash)
# from a script in tests/bench/, after `set -euo pipefail`:
#
#	bench_root        cd to the project root (root=), the tools first on
#	                  PATH
#	bench_start NAME  bench_root, and tmp= a fresh temp dir; at exit the processes
#	                  in $pids are killed, bench_on_exit is run when the
#	                  script defines it, a cluster bench_pg started is
#	                  stopped and $tmp removed
#	bench_pg          PGHOST and PGUSER: run.sh's cluster when it set
#	                  them, else a throwaway one of this script's own
#	bench_claim_sql F B  the bare-SQL baseline's transaction for pgbench
#	                  into F: claim B available jobs (FOR UPDATE SKIP
#	                  LOCKED, the order md-work claims in) and complete them
#	now               seconds since the epoch, with nanoseconds
#	median            the median of the numbers on stdin, one per line
#	ratio A B         A / B, two decimals
#	row LABEL A B     one line of the table: the figure, its baseline,
#	                  the ratio
#	pairs F G [ARG]   RUNS runs of F and of G, alternating, so that a
#	                  noisy spell of the machine falls on both sides;
#	                  prints "median(F) median(G)"

bench_root() {
	cd "$(dirname "${BASH_SOURCE[0]}")/../.."
	root=$(pwd)
	PATH=$root:$PATH
}

bench_start() {
	bench_root
	tmp=$(mktemp -d "/tmp/md-bench-$1.XXXXXX")
	pgdir=
	pids=
	trap _bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

_bench_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
	[ -z "$pgdir" ] || sh tests/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}

bench_pg() {
	if [ -z "${PGHOST:-}" ]; then
		pgdir=$(mktemp -d /tmp/md-bench-pg.XXXXXX)
		PGHOST=$(sh tests/pg-cluster.sh start "$pgdir")
		PGUSER=postgres
		export PGHOST PGUSER
	fi
}

bench_claim_sql() {
	cat >"$1" <<SQL
BEGIN;
WITH c AS (SELECT id FROM jobs WHERE state = 'available' AND run_at <= now()
	ORDER BY priority, run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
UPDATE jobs j SET state = 'running', attempts = j.attempts + 1, locked_by = 'bench:' || :client_id,
	started_at = now(), lease_until = now() + interval '60 seconds'
FROM c WHERE j.id = c.id RETURNING j.id, j.media, j.profile;
UPDATE jobs SET state = 'succeeded', result = '{}', finished_at = now(), lease_until = NULL
	WHERE state = 'running' AND locked_by = 'bench:' || :client_id;
COMMIT;
SQL
}

now() { date +%s.%N; }
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() { printf '%-44s %12s %12s %7s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

pairs() {
	local f=$1 g=$2 r a= b=
	shift 2
	for ((r = 0; r < RUNS; r++)); do
		a="$a $("$f" "$@")"
		b="$b $("$g" "$@")"
	done
	printf '%s %s\n' "$(printf '%s\n' $a | median)" "$(printf '%s\n' $b | median)"
}
