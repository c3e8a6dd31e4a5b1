#!/bin/bash
# tests/bench/janitor.sh - the janitor's figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   wall time   seconds of one md-janitor run over J finished jobs (succeeded
#               or dead, finalized, finished 60 days ago: past
#               janitor.retention) and F stored files (originals and rendition
#               run folders, a fifth of them orphans past janitor.orphan_grace,
#               the rest referenced by rows), on PostgreSQL and on SQLite,
#               beside the bare statement that deletes the same jobs at once
#   claim p99   the p99 of the claim statement of 2 md-work processes (-j 4,
#               no-op jobs, a queue that never runs dry) while the janitor
#               runs, beside their p99 over as long a spell without it, from
#               the server's statement log (PostgreSQL)
#
# The state is made fresh for every run: rows by generate_series (a recursive
# CTE on SQLite), files by one mkdir and one touch over their list.
#
# Run by run.sh with the cluster it started (PGHOST, PGUSER set), or alone,
# when it starts a throwaway cluster of its own.  Environment:
# MD_BENCH_JANITOR_RUNS (medians of how many runs, default 1: a run takes
# minutes), MD_BENCH_JANITOR_JOBS (1000000; 0 skips these figures),
# MD_BENCH_JANITOR_FILES (20000: 100k files take this disk minutes to make),
# MD_BENCH_JANITOR_RATE (no-op jobs queued a second for the workers, 1000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RUNS=${MD_BENCH_JANITOR_RUNS:-1}
J=${MD_BENCH_JANITOR_JOBS:-1000000}
F=${MD_BENCH_JANITOR_FILES:-20000}
R=${MD_BENCH_JANITOR_RATE:-1000}
[ "$J" -gt 0 ] || { echo "# janitor: skipped (MD_BENCH_JANITOR_JOBS=0)"; exit 0; }

bench_start jan

bench_pg
pglog=$PGHOST/server.log
[ -r "$pglog" ] || { echo "bench: cannot read the server log '$pglog'" >&2; exit 1; }
createdb md_jan
PGURL="postgresql:///md_jan?host=$PGHOST&user=postgres"
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/janitor.yaml
export MD_CONFIG_NOSYSTEM=1
printf 'worker:\n  batch: 100\n  poll_interval: 100ms\n' >"$MD_CONFIG"
printf 'janitor:\n  retention: 30d\n  orphan_grace: 6h\n' >>"$MD_CONFIG"
chmod 600 "$MD_CONFIG"
q() { PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d md_jan -c "$1"; }
sq() { sqlite3 -bail "$tmp/jan.db" "$1"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
row() { printf '%-44s %12s %12s %7s\n' "$1" "$2" "$3" "$([ "$3" = - ] && echo - || ratio "$2" "$3")"; }

# The shape: M media with an original and one registered rendition (a run
# folder of one file) each, F/10 orphan originals and F/10 orphan run
# folders: 2M + F/5 = F files.  The J jobs are those of P = J/10 media and
# profile pairs (the first M of them the stored media), ten each: the newest
# of each pair succeeded (it stays), the nine before it succeeded or dead
# (pruned).
M=$((F * 2 / 5))
O=$((F / 10))
P=$((J / 10))
[ "$P" -ge "$M" ] || { echo "bench: MD_BENCH_JANITOR_JOBS must be at least 4 x MD_BENCH_JANITOR_FILES" >&2; exit 64; }
HASH="encode(sha256(('jan' || g)::bytea), 'hex')"
OLD="now() - interval '60 days'"

# the hashes, from PostgreSQL, for both backends and the file list
q "SELECT $HASH FROM generate_series(1, $P) g" >"$tmp/hashes"
q "SELECT encode(sha256(('orphan' || g)::bytea), 'hex') FROM generate_series(1, $O) g" >"$tmp/orphans"
shard() { awk '{ print substr($1, 1, 2) "/" substr($1, 3, 2) "/" $1 }'; }
{
	head -n "$M" "$tmp/hashes" | shard | sed 's|^|originals/|; s|$|.png|'
	head -n "$M" "$tmp/hashes" | shard |
		awk -v b=$((J - P)) '{ printf "renditions/%s/mp4/%d-1/video.mp4\n", $1, b + NR }'
	shard <"$tmp/orphans" | sed 's|^|originals/|; s|$|.png|'
	shard <"$tmp/orphans" | awk '{ printf "renditions/%s/mp4/%d-1/video.mp4\n", $1, NR }'
} >"$tmp/files"
[ "$(wc -l <"$tmp/files")" -eq "$F" ] || { echo "bench: the file list is not $F long" >&2; exit 1; }

make_files() {  # make_files LIST: its files and folders, last written two days ago
	(cd "$MD_STORAGE" && sed 's|/[^/]*$||' "$1" | sort -u | xargs mkdir -p &&
		xargs touch -d '2 days ago' <"$1" &&
		find originals renditions -newermt '1 hour ago' -exec touch -d '2 days ago' {} +)
}
# the orphans only: the janitor removes them, the rest stays
tail -n $((2 * O)) "$tmp/files" >"$tmp/orphan-files"

pg_state() {  # the rows on PostgreSQL
	q "TRUNCATE jobs, renditions, posts, media RESTART IDENTITY CASCADE"
	q "INSERT INTO media (sha256, kind, mime, format, ext, bytes)
		SELECT $HASH, 'image', 'image/png', 'png_pipe', 'png', 1 FROM generate_series(1, $M) g"
	q "INSERT INTO renditions (media, profile, storage_key, bytes)
		SELECT $HASH, 'mp4', 'renditions/' || substr($HASH, 1, 2) || '/' || substr($HASH, 3, 2) || '/' ||
		$HASH || '/mp4/' || ($J - $P + g) || '-1/video.mp4', 1 FROM generate_series(1, $M) g"
	q "INSERT INTO jobs (media, profile, state, attempts, claims, result, created_at, started_at,
		finished_at, finalized_at)
		SELECT encode(sha256(('jan' || ((n - 1) % $P + 1))::bytea), 'hex'), 'mp4',
		CASE WHEN n > $J - $P OR n % 5 <> 0 THEN 'succeeded' ELSE 'dead' END, 1, 1, '{}',
		$OLD, $OLD, $OLD, $OLD FROM generate_series(1, $J) n"
	q "VACUUM ANALYZE"
}

sq_state() {  # the same rows on SQLite
	rm -f "$tmp/jan.db" "$tmp/jan.db-"*
	MD_DB="sqlite:$tmp/jan.db" md-db -q init
	local old="strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-60 days')"
	sqlite3 -bail "$tmp/jan.db" <<SQL
CREATE TEMP TABLE h (g INTEGER PRIMARY KEY, sha TEXT);
.mode list
.import $tmp/hashes.rowid h
BEGIN;
INSERT INTO media (sha256, kind, mime, format, ext, bytes)
	SELECT sha, 'image', 'image/png', 'png_pipe', 'png', 1 FROM h WHERE g <= $M;
INSERT INTO renditions (media, profile, storage_key, bytes)
	SELECT sha, 'mp4', 'renditions/' || substr(sha, 1, 2) || '/' || substr(sha, 3, 2) || '/' || sha ||
	'/mp4/' || ($J - $P + g) || '-1/video.mp4', 1 FROM h WHERE g <= $M;
WITH RECURSIVE n(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM n WHERE n < $J)
INSERT INTO jobs (media, profile, state, attempts, claims, result, created_at, started_at,
	finished_at, finalized_at)
	SELECT (SELECT sha FROM h WHERE g = (n - 1) % $P + 1), 'mp4',
	CASE WHEN n > $J - $P OR n % 5 <> 0 THEN 'succeeded' ELSE 'dead' END, 1, 1, '{}',
	$old, $old, $old, $old FROM n;
COMMIT;
ANALYZE;
SQL
}
awk '{ print NR "|" $1 }' "$tmp/hashes" >"$tmp/hashes.rowid"

pruned_left() {  # jobs the janitor must leave: P succeeded, newest of each pair
	local n=$1
	[ "$n" -eq "$P" ] || { echo "bench: the janitor left $n jobs, not $P" >&2; exit 1; }
	local f
	f=$(find "$MD_STORAGE/originals" "$MD_STORAGE/renditions" -type f | wc -l)
	[ "$f" -eq $((F - 2 * O)) ] || { echo "bench: the janitor left $f files, not $((F - 2 * O))" >&2; exit 1; }
}

janitor_secs() {  # janitor_secs DB: seconds of one md-janitor run
	local t0 t1
	t0=$(now)
	MD_DB=$1 md-janitor -q >/dev/null
	t1=$(now)
	secs "$t0" "$t1"
}

# The workers' load: R no-op jobs a second, queued a quarter second's worth
# at a time, as a site's uploads come, whatever the workers do.
feed() {
	local m
	m=$(head -n 1 "$tmp/hashes")
	while :; do
		q "INSERT INTO jobs (media, profile) SELECT '$m', 'noop' FROM generate_series(1, $((R / 4)))"
		sleep 0.25
	done
}
logpos() { stat -c %s "$pglog"; }
claims_p99() {  # claims_p99 FROM TO: p99 ms of the claims the log has between two offsets
	tail -c +$(($1 + 1)) "$pglog" | head -c $(($2 - $1)) | grep -a 'execute .*WITH ack AS' |
		sed -n 's/.*duration: \([0-9.]*\) ms.*/\1/p' | sort -g |
		awk '{ a[NR] = $1 } END { if (!NR) { print "bench: no claims logged" > "/dev/stderr"; exit 1 }
			i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.2f\n", a[i] }'
}

# spell: 2 workers on the no-op queue; a quiet spell as long as the janitor
# took alone, then the janitor; prints "quiet-p99 janitor-p99 janitor-secs"
spell() {
	local alone=$1 ws= a b c t
	feed >/dev/null 2>&1 &
	local fp=$!
	pids="$pids $fp"
	for i in 1 2; do
		MD_DB=$PGURL md-work -q -j 4 >/dev/null 2>>"$tmp/work.err" &
		ws="$ws $!"
	done
	pids="$pids $ws"
	until [ "$(q "SELECT count(*) FROM jobs WHERE profile = 'noop' AND state = 'succeeded'")" -gt 1000 ]; do :; done
	a=$(logpos)
	sleep "$alone"
	b=$(logpos)
	t=$(janitor_secs "$PGURL")
	c=$(logpos)
	kill "$fp"; wait "$fp" 2>/dev/null || true
	for w in $ws; do kill "$w"; wait "$w" 2>/dev/null || true; done
	pruned_left "$(q "SELECT count(*) FROM jobs WHERE profile = 'mp4'")"
	printf '%s %s %s\n' "$(claims_p99 "$a" "$b")" "$(claims_p99 "$b" "$c")" "$t"
}

MD_DB=$PGURL md-db -q init
make_files "$tmp/files"
q "ALTER DATABASE md_jan SET log_min_duration_statement = 0"
pg_alone= sq_alone= quiet= busy= with=
for ((r = 0; r < RUNS; r++)); do
	pg_state
	make_files "$tmp/orphan-files"
	t=$(janitor_secs "$PGURL")
	pruned_left "$(q "SELECT count(*) FROM jobs")"
	pg_alone="$pg_alone $t"
	pg_state
	make_files "$tmp/orphan-files"
	read -r a b c < <(spell "$t")
	quiet="$quiet $a" busy="$busy $b" with="$with $c"
	sq_state
	make_files "$tmp/orphan-files"
	sq_alone="$sq_alone $(janitor_secs "sqlite:$tmp/jan.db")"
	pruned_left "$(sq "SELECT count(*) FROM jobs")"
done
med() { printf '%s\n' "$@" | median; }
scale="$((J / 1000))k jobs, $((F / 1000))k files"
printf '# janitor: %s finished jobs, %s stored files (%s orphans), workers fed %s jobs/s, median of %s runs\n' \
	"$J" "$F" "$((2 * O))" "$R" "$RUNS"
row "janitor, $scale, s (PostgreSQL)" "$(med $pg_alone)" "-"
row "janitor, $scale, s (SQLite)" "$(med $sq_alone)" "-"
row "janitor, s, 2 workers running (vs alone)" "$(med $with)" "$(med $pg_alone)"
row "claim p99 ms, 2 workers, janitor (vs none)" "$(med $busy)" "$(med $quiet)"
