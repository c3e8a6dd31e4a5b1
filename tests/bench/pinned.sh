#!/bin/bash
# tests/bench/pinned.sh - the claim figures with vacuum pinned, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   claim p50, p99  of the claim statements of 2 md-work processes (-j 4,
#                   batch B, no-op jobs) draining a backlog of N jobs while
#                   another session holds a transaction open (its xid holds
#                   back the xmin horizon: no dead row or index entry can be
#                   removed while it lives), beside the same drain without
#                   it, from the server's statement log
#   bare SQL p50    the same backlog drained by pgbench running the plain
#                   SKIP LOCKED claim and completion (2 clients, batch B),
#                   pinned beside not pinned: what a claim that always
#                   starts from the left of the index pays
#
# A run fills the backlog afresh for each side.  Run by run.sh with the
# cluster it started (PGHOST, PGUSER set), or alone, when it starts a
# throwaway cluster of its own.  Environment: MD_BENCH_RUNS (default 3),
# MD_BENCH_BATCH (100), MD_BENCH_PIN (how long the open transaction may
# live, 60 seconds: longer than a drain), MD_BENCH_PIN_JOBS (200100, as
# 2 clients x 1000 claims of B and one more batch).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RUNS=${MD_BENCH_RUNS:-3}
B=${MD_BENCH_BATCH:-100}
PIN=${MD_BENCH_PIN:-60}
N=${MD_BENCH_PIN_JOBS:-200100}

bench_start pin

bench_pg
pglog=$PGHOST/server.log
[ -r "$pglog" ] || { echo "bench: cannot read the server log '$pglog'" >&2; exit 1; }
createdb md_pin
export MD_DB="postgresql:///md_pin?host=$PGHOST&user=postgres"
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/pin.yaml
export MD_CONFIG_NOSYSTEM=1
printf 'worker:\n  batch: %d\n  poll_interval: 100ms\n' "$B" >"$MD_CONFIG"
chmod 600 "$MD_CONFIG"
q() { PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d md_pin -c "$1"; }
# pct P: the P-th percentile of the numbers on stdin
pct() {
	sort -g | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) { print "bench: no claims" > "/dev/stderr"; exit 1 }
		i = int(NR * p / 100); if (i < NR * p / 100) i++; if (i < 1) i = 1; printf "%.2f\n", a[i] }'
}

md-db -q init
sha=$(printf 'bench' | sha256sum | cut -c1-64)
q "INSERT INTO media (sha256, kind, mime, format, ext, bytes) VALUES ('$sha', 'image', 'image/png', 'png_pipe', 'png', 1)"

fill() {
	q "TRUNCATE jobs RESTART IDENTITY"
	q "INSERT INTO jobs (media, profile, queue) SELECT '$sha', 'noop', 'default' FROM generate_series(1, $N)"
	q "VACUUM ANALYZE jobs"
}
pin_start() {  # an open transaction with an xid, until pin_stop
	psql -XAtq -d md_pin -c "BEGIN; SELECT txid_current(); SELECT pg_sleep($PIN); COMMIT;" >/dev/null 2>&1 &
	pinpid=$!
	pids="$pids $pinpid"
	until [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep($PIN)%'
		AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()")" -gt 0 ]; do :; done
}
pin_stop() {
	kill "$pinpid" 2>/dev/null || true
	wait "$pinpid" 2>/dev/null || true
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep($PIN)%'
		AND pid <> pg_backend_pid()" >/dev/null
}
done_check() {
	local d
	d=$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")
	[ "$d" -eq "$N" ] || { echo "bench: $1 left jobs ($d of $N succeeded)" >&2; exit 1; }
}

# md-work side: prints "p50 p99" of its claim statements
mdwork() {  # mdwork pin|nopin
	local a b ws=
	fill
	[ "$1" = pin ] && pin_start
	a=$(stat -c %s "$pglog")
	for i in 1 2; do
		md-work -q --drain -j 4 >/dev/null &
		ws="$ws $!"
	done
	for w in $ws; do wait "$w"; done
	b=$(stat -c %s "$pglog")
	[ "$1" = pin ] && pin_stop
	done_check md-work
	tail -c +$((a + 1)) "$pglog" | head -c $((b - a)) | grep -a 'execute md_claim' |
		sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' >"$tmp/claims"
	printf '%s %s\n' "$(pct 50 <"$tmp/claims")" "$(pct 99 <"$tmp/claims")"
}

bench_claim_sql "$tmp/claim.sql" "$B"
bare() {  # bare pin|nopin: p50 of the pgbench transaction, ms
	fill
	[ "$1" = pin ] && pin_start
	pgbench -n -M prepared -c 2 -j 2 -t $(((N + 2 * B - 1) / (2 * B))) -l --log-prefix="$tmp/lat" \
		-f "$tmp/claim.sql" md_pin >/dev/null 2>&1
	[ "$1" = pin ] && pin_stop
	done_check pgbench
	cat "$tmp"/lat.* | awk '{ print $3 / 1000 }' | pct 50
	rm -f "$tmp"/lat.*
}

q "ALTER DATABASE md_pin SET log_min_duration_statement = 0"
p50= p99= f50= f99= b_pin= b_free=
for ((r = 0; r < RUNS; r++)); do
	read -r x y < <(mdwork nopin); f50="$f50 $x" f99="$f99 $y"
	read -r x y < <(mdwork pin); p50="$p50 $x" p99="$p99 $y"
	b_free="$b_free $(bare nopin)"
	b_pin="$b_pin $(bare pin)"
done
q "ALTER DATABASE md_pin RESET log_min_duration_statement"
med() { printf '%s\n' "$@" | median; }
printf '# vacuum pinned: %s jobs drained, batch %s, a transaction open up to %s s, median of %s runs\n' \
	"$N" "$B" "$PIN" "$RUNS"
row "claim p50 ms, vacuum pinned (vs not pinned)" "$(med $p50)" "$(med $f50)"
row "claim p99 ms, vacuum pinned (vs not pinned)" "$(med $p99)" "$(med $f99)"
row "bare-SQL claim p50 ms, pinned (vs not)" "$(med $b_pin)" "$(med $b_free)"
