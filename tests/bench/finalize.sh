#!/bin/bash
# tests/bench/finalize.sh - the fan-in's figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   finalize    media/s of one md-finalize run over M finished media (one
#               post each, processing; three succeeded jobs each, thumb,
#               poster and mp4, with the results a worker writes; one media
#               in fifty has its mp4 dead), on PostgreSQL and on SQLite,
#               beside the bare SQL of the same finalize: psql or sqlite3
#               running, in transactions of 500 media, the same set-based
#               statements (pick, renditions, posts completed or failed with
#               the dead reasons, finalized_at, the feed's version), so the
#               ratio is what the tool costs above its statements (its
#               process, the records it prints, the originals it removes)
#
# Both sides start from the same rows, made fresh for every run by SQL
# (generate_series; a recursive CTE on SQLite), and both are checked after
# it: every post settled, the failed ones with the dead job's reason, a
# rendition per succeeded job, every job finalized.
#
# Run by run.sh with the cluster it started (PGHOST, PGUSER set), or alone,
# when it starts a throwaway cluster of its own.  Environment: MD_BENCH_RUNS
# (medians of how many runs, default 5), MD_BENCH_FINALIZE_MEDIA (10000; 0
# skips these figures).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RUNS=${MD_BENCH_RUNS:-5}
M=${MD_BENCH_FINALIZE_MEDIA:-10000}
B=500
[ "$M" -gt 0 ] || { echo "# finalize: skipped (MD_BENCH_FINALIZE_MEDIA=0)"; exit 0; }

bench_start fin

bench_pg
createdb md_fin
PGURL="postgresql:///md_fin?host=$PGHOST&user=postgres"
SQURL="sqlite:$tmp/fin.db"
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/finalize.yaml
export MD_CONFIG_NOSYSTEM=1
printf 'worker:\n  batch: 100\n' >"$MD_CONFIG"
chmod 600 "$MD_CONFIG"
q() { PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d md_fin -c "$1"; }
rate() { awk -v n="$M" -v a="$1" -v b="$2" 'BEGIN { printf "%.0f", n / (b - a) }'; }

MD_DB=$PGURL md-db -q init
MD_DB=$SQURL md-db -q init
DEAD="ffmpeg exited with status 1: Invalid data found when processing input"

# The rows, in SQL both backends read: media g of 1..M, its hash, its
# three jobs (ids 3g-2..3g), its post.  $1: the expression of the media's
# hash; $2: that of now; $3: the cast of a JSON text to the result's type.
rows_sql() {
	local h=$1 t=$2 key="'renditions/' || substr($1, 1, 2) || '/' || substr($1, 3, 2) || '/' || $1 || '/'"
	cat <<SQL
INSERT INTO users (username) VALUES ('bench');
INSERT INTO media (sha256, kind, mime, format, ext, bytes, width, height)
	SELECT $h, 'video', 'video/mp4', 'mov,mp4,m4a,3gp,3g2,mj2', 'mp4', 4000000 + g, 1280, 720 FROM n;
INSERT INTO posts (owner, media, caption, status, trace_id)
	SELECT 1, $h, 'clip ' || g, 'processing', printf('%032x', g) FROM n;
WITH p(n, profile, file, mime, w, h, codec) AS (VALUES (1, 'thumb', 'thumb.webp', 'image/webp', 320, 180, 'webp'),
	(2, 'poster', 'poster.jpg', 'image/jpeg', 1280, 720, 'mjpeg'), (3, 'mp4', 'video.mp4', 'video/mp4', 1280, 720, 'h264'))
INSERT INTO jobs (media, profile, queue, state, attempts, claims, last_error, result, trace_id,
		started_at, finished_at)
	SELECT $h, p.profile, 'media', CASE WHEN p.profile = 'mp4' AND g % 50 = 0 THEN 'dead' ELSE 'succeeded' END,
	1, 1, CASE WHEN p.profile = 'mp4' AND g % 50 = 0 THEN '$DEAD' END,
	(CASE WHEN p.profile = 'mp4' AND g % 50 = 0 THEN NULL ELSE
	'{"key":"' || $key || p.profile || '/' || (3 * g - 3 + p.n) || '-1/' || p.file || '","bytes":' ||
	(10000 + g * p.n) || ',"mime":"' || p.mime || '","width":' || p.w || ',"height":' || p.h ||
	',"files":["' || p.file || '"],"probe":{"codec":"' || p.codec || '","duration":12.5}}' END)$3,
	printf('%032x', g), $t, $t
	FROM n CROSS JOIN p ORDER BY g, p.n;
SQL
}

pg_state() {
	q "TRUNCATE hook_outbox, renditions, jobs, post_tags, posts, media, users RESTART IDENTITY CASCADE"
	q "UPDATE feed_state SET version = 0"
	{
		echo "BEGIN; CREATE TEMP TABLE n AS SELECT g FROM generate_series(1, $M) g;"
		rows_sql "encode(sha256(('fin' || g)::bytea), 'hex')" "now()" ::jsonb | sed 's/printf(/format(/g;
			s/%032x/%s/g'
		echo "COMMIT; VACUUM ANALYZE;"
	} | PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d md_fin >/dev/null
}

sq_state() {
	rm -f "$tmp/fin.db" "$tmp/fin.db-"*
	MD_DB=$SQURL md-db -q init
	{
		echo "BEGIN; CREATE TEMP TABLE n AS WITH RECURSIVE r(g) AS (SELECT 1 UNION ALL"
		echo "	SELECT g + 1 FROM r WHERE g < $M) SELECT g FROM r;"
		echo "CREATE TEMP TABLE hs (g INTEGER PRIMARY KEY, sha TEXT);"
		echo ".mode list"
		echo ".import $tmp/hashes.rowid hs"
		rows_sql "(SELECT sha FROM hs WHERE hs.g = n.g)" "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')" ""
		echo "COMMIT; ANALYZE;"
	} | sqlite3 -bail "$tmp/fin.db"
}
# SQLite has no sha256(): the hashes come from PostgreSQL
q "SELECT g || '|' || encode(sha256(('fin' || g)::bytea), 'hex') FROM generate_series(1, $M) g" \
	>"$tmp/hashes.rowid"

# The bare SQL of one batch: the same statements as md-finalize's.
pg_batch_sql() {
	cat <<'SQL'
BEGIN;
CREATE TEMP TABLE b ON COMMIT DROP AS
WITH c AS (SELECT m.sha256, j.id FROM jobs j JOIN media m ON m.sha256 = j.media
	WHERE j.finalized_at IS NULL AND j.state IN ('succeeded', 'dead', 'cancelled')
	AND NOT EXISTS (SELECT 1 FROM jobs k WHERE hashtextextended(k.media, 0) = hashtextextended(j.media, 0)
		AND k.media = j.media AND k.state IN ('available', 'running') OFFSET 0)
	ORDER BY j.id LIMIT 2000 FOR NO KEY UPDATE OF m SKIP LOCKED)
SELECT sha256 AS m FROM c GROUP BY sha256 ORDER BY min(id) LIMIT 500;
INSERT INTO renditions (media, profile, storage_key, bytes, metadata)
SELECT DISTINCT ON (j.media, j.profile) j.media, j.profile, j.result->>'key',
	coalesce((j.result->>'bytes')::numeric, 0)::bigint, j.result
	FROM jobs j JOIN b ON hashtextextended(j.media, 0) = hashtextextended(b.m, 0) AND j.media = b.m
	WHERE j.finalized_at IS NULL AND j.state = 'succeeded' AND j.result->>'key' IS NOT NULL
	ORDER BY j.media, j.profile, j.id DESC
ON CONFLICT (media, profile) DO UPDATE SET storage_key = excluded.storage_key,
	bytes = excluded.bytes, metadata = excluded.metadata, created_at = now();
UPDATE posts p SET status = CASE WHEN d.e IS NULL THEN 'completed' ELSE 'failed' END, error = d.e,
	updated_at = now()
	FROM (SELECT b.m, (SELECT string_agg(x.profile || ': ' || coalesce(x.last_error, 'failed'), '; '
		ORDER BY x.id) FROM (SELECT DISTINCT ON (j.profile) j.id, j.profile, j.last_error FROM jobs j
		WHERE hashtextextended(j.media, 0) = hashtextextended(b.m, 0) AND j.media = b.m
		AND j.finalized_at IS NULL AND j.state = 'dead' ORDER BY j.profile, j.id DESC) x) AS e
		FROM b) d
	WHERE p.media = d.m AND p.status IN ('pending', 'processing');
UPDATE jobs j SET finalized_at = now() FROM b
	WHERE hashtextextended(j.media, 0) = hashtextextended(b.m, 0) AND j.media = b.m
	AND j.finalized_at IS NULL AND j.state IN ('succeeded', 'dead', 'cancelled');
UPDATE feed_state SET version = version + 1, changed_at = now();
COMMIT;
SQL
}

sq_batch_sql() {
	cat <<'SQL'
BEGIN IMMEDIATE;
CREATE TEMP TABLE b AS SELECT media AS m FROM (SELECT j.media, j.id FROM jobs j
	JOIN media mm ON mm.sha256 = j.media
	WHERE j.finalized_at IS NULL AND j.state IN ('succeeded', 'dead', 'cancelled')
	AND NOT EXISTS (SELECT 1 FROM jobs k WHERE k.media = j.media AND k.state IN ('available', 'running'))
	ORDER BY j.id LIMIT 2000) GROUP BY media ORDER BY min(id) LIMIT 500;
INSERT INTO renditions (media, profile, storage_key, bytes, metadata)
SELECT media, profile, json_extract(result, '$.key'), coalesce(json_extract(result, '$.bytes'), 0), result
	FROM jobs WHERE media IN (SELECT m FROM b) AND finalized_at IS NULL AND state = 'succeeded'
	AND json_extract(result, '$.key') IS NOT NULL ORDER BY id
ON CONFLICT (media, profile) DO UPDATE SET storage_key = excluded.storage_key,
	bytes = excluded.bytes, metadata = excluded.metadata,
	created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
CREATE TEMP TABLE d AS SELECT m, group_concat(r, '; ') AS e FROM (SELECT media AS m,
	profile || ': ' || coalesce(last_error, 'failed') AS r, max(id) AS id FROM jobs
	WHERE media IN (SELECT m FROM b) AND finalized_at IS NULL AND state = 'dead'
	GROUP BY media, profile ORDER BY media, id) GROUP BY m;
UPDATE posts SET status = CASE WHEN d.e IS NULL THEN 'completed' ELSE 'failed' END, error = d.e,
	updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
	FROM b LEFT JOIN d ON d.m = b.m WHERE posts.media = b.m AND posts.status IN ('pending', 'processing');
UPDATE jobs SET finalized_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE media IN (SELECT m FROM b)
	AND finalized_at IS NULL AND state IN ('succeeded', 'dead', 'cancelled');
UPDATE feed_state SET version = version + 1, changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
DROP TABLE b;
DROP TABLE d;
COMMIT;
SQL
}
NB=$(( (M + B - 1) / B ))
for ((i = 0; i < NB; i++)); do pg_batch_sql; done >"$tmp/pg-bare.sql"
for ((i = 0; i < NB; i++)); do sq_batch_sql; done >"$tmp/sq-bare.sql"

# What both sides must leave: posts settled, renditions, every job finalized.
CHECK="SELECT (SELECT count(*) FROM posts WHERE status = 'completed' AND error IS NULL) || ' ' ||
	(SELECT count(*) FROM posts WHERE status = 'failed' AND error = 'mp4: $DEAD') || ' ' ||
	(SELECT count(*) FROM renditions) || ' ' || (SELECT count(*) FROM jobs WHERE finalized_at IS NULL)"
WANT="$((M - M / 50)) $((M / 50)) $((3 * M - M / 50)) 0"
check() {  # check SIDE GOT
	[ "$2" = "$WANT" ] || { echo "bench: $1 left '$2', not '$WANT'" >&2; exit 1; }
}

# timed SIDE STATE CHECK CMD...: media/s of CMD from the fresh rows STATE
# makes, its result read by CHECK and checked
timed() {
	local side=$1 state=$2 chk=$3 t0 t1
	shift 3
	"$state"
	t0=$(now)
	"$@" >/dev/null 2>&1
	t1=$(now)
	check "$side" "$("$chk" "$CHECK")"
	rate "$t0" "$t1"
}
sqc() { sqlite3 "$tmp/fin.db" "$1"; }
pg_tool() { timed "md-finalize on PostgreSQL" pg_state q env MD_DB="$PGURL" md-finalize; }
pg_bare() {
	timed "the bare SQL on PostgreSQL" pg_state q psql -XAtq -v ON_ERROR_STOP=1 -d md_fin -f "$tmp/pg-bare.sql"
}
sq_tool() { timed "md-finalize on SQLite" sq_state sqc env MD_DB="$SQURL" md-finalize; }
sq_bare() { timed "the bare SQL on SQLite" sq_state sqc sqlite3 -bail "$tmp/fin.db" ".read $tmp/sq-bare.sql"; }


read -r m s < <(pairs pg_tool pg_bare)
row "finalize $M media, PostgreSQL, media/s" "$m" "$s"
read -r m s < <(pairs sq_tool sq_bare)
row "finalize $M media, SQLite, media/s" "$m" "$s"
