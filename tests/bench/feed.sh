#!/bin/bash
# tests/bench/feed.sh - the read side's figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio), over P posts
# (1M) with tags and renditions, made by one SQL script (a recursive CTE on
# SQLite, generate_series on PostgreSQL):
#
#   page         seconds of one md-feed --json (process start included): the
#                first page, a page 50,000 posts deep (--before the cursor
#                there), and the same two of a tag (--tag), on SQLite and on
#                PostgreSQL, beside sqlite3 / psql running the query md-feed
#                runs, with its parameters written in, its rows to
#                /dev/null as md-feed's records are (the goal: at most 1.5)
#   --out        seconds of md-feed --out rendering every page of every feed
#                into an empty folder (SQLite), beside sqlite3 writing the
#                same records (the same query, every post, one statement) to
#                a file: what any render must read; then the seconds and
#                the files written by a render after one new post and after
#                one caption edit, beside the files that hold that post
#
# Each page figure is the median of RUNS samples of REPS calls; the --out
# figures one run each.  Run by run.sh with the cluster it started (PGHOST,
# PGUSER set), or alone, when it starts a throwaway cluster.  Environment:
# MD_BENCH_FEED_POSTS (1000000; 0 skips these figures), MD_BENCH_RUNS (5),
# MD_BENCH_FEED_OUT (1; 0 skips the --out figures, which take minutes).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
P=${MD_BENCH_FEED_POSTS:-1000000}
RUNS=${MD_BENCH_RUNS:-5}
REPS=10
[ "$P" -gt 0 ] || { echo "# feed: skipped (MD_BENCH_FEED_POSTS=0)"; exit 0; }

bench_start feed
bench_pg
export MD_HOME=$tmp MD_CONFIG_NOSYSTEM=1 MD_CONFIG=/dev/null
SQ=$tmp/feed.db
PGDB=md_bench_feed
PGURL="postgresql:///$PGDB?host=$PGHOST&user=$PGUSER"
sq() { sqlite3 "$SQ" "$1"; }
pq() { psql -XAtq -v ON_ERROR_STOP=1 -d "$PGDB" -c "$1"; }

# --- the posts: U users, 200 tags (ten common, the rest rare), a post in
# three with no tag, one in fifty failed, thumb and web or mp4 renditions
cat >"$tmp/fill-sqlite.sql" <<'SQL'
PRAGMA journal_mode = WAL;
PRAGMA synchronous = OFF;
BEGIN;
INSERT INTO users (id, username)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
	SELECT i, 'user' || i FROM n;
INSERT INTO tags (id, name)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
	SELECT i, 'tag' || i FROM n;
INSERT INTO media (sha256, kind, mime, format, ext, bytes, width, height)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :N)
	SELECT printf('%064x', i), CASE WHEN i % 5 = 0 THEN 'video' ELSE 'image' END,
	       CASE WHEN i % 5 = 0 THEN 'video/mp4' ELSE 'image/jpeg' END,
	       CASE WHEN i % 5 = 0 THEN 'mov,mp4' ELSE 'jpeg_pipe' END,
	       CASE WHEN i % 5 = 0 THEN 'mp4' ELSE 'jpg' END, 100000 + i, 1280, 720 FROM n;
INSERT INTO posts (id, owner, media, caption, status, trace_id, created_at, updated_at)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :N)
	SELECT i, 1 + i % 1000, printf('%064x', i), 'caption of post ' || i || ', a little longer than a word',
	       CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'completed' END, printf('%032x', i),
	       strftime('%Y-%m-%dT%H:%M:%fZ', 2460000.5 + i / 8640.0),
	       strftime('%Y-%m-%dT%H:%M:%fZ', 2460000.5 + i / 8640.0) FROM n;
INSERT INTO renditions (media, profile, storage_key, bytes, metadata)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :N)
	SELECT printf('%064x', i), 'thumb', 'renditions/' || printf('%064x', i) || '/thumb/1/thumb.jpg', 9000 + i % 1000,
	       '{"width":320,"height":180,"placeholder":"LEHV6nWB2yk8pyo0adR*.7kCMdnj"}' FROM n
	UNION ALL
	SELECT printf('%064x', i), CASE WHEN i % 5 = 0 THEN 'mp4' ELSE 'web' END,
	       'renditions/' || printf('%064x', i) || CASE WHEN i % 5 = 0 THEN '/mp4/1/video.mp4' ELSE '/web/1/web.jpg' END,
	       80000 + i % 10000,
	       CASE WHEN i % 5 = 0 THEN '{"width":1280,"height":720,"duration":9.24,"frames":231}'
	            ELSE '{"width":1280,"height":720}' END FROM n;
INSERT INTO post_tags (post_id, tag_id)
	WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :N)
	SELECT i, 1 + (i * 7) % 10 FROM n WHERE i % 3 <> 0
	UNION ALL SELECT i, 11 + (i * 13) % 190 FROM n WHERE i % 2 = 0;
UPDATE feed_state SET version = version + 1;
COMMIT;
ANALYZE;
SQL
cat >"$tmp/fill-pg.sql" <<'SQL'
SET synchronous_commit = off;
BEGIN;
INSERT INTO users (id, username) OVERRIDING SYSTEM VALUE SELECT i, 'user' || i FROM generate_series(1, 1000) i;
INSERT INTO tags (id, name) OVERRIDING SYSTEM VALUE SELECT i, 'tag' || i FROM generate_series(1, 200) i;
INSERT INTO media (sha256, kind, mime, format, ext, bytes, width, height)
	SELECT lpad(to_hex(i), 64, '0'), CASE WHEN i % 5 = 0 THEN 'video' ELSE 'image' END,
	       CASE WHEN i % 5 = 0 THEN 'video/mp4' ELSE 'image/jpeg' END,
	       CASE WHEN i % 5 = 0 THEN 'mov,mp4' ELSE 'jpeg_pipe' END,
	       CASE WHEN i % 5 = 0 THEN 'mp4' ELSE 'jpg' END, 100000 + i, 1280, 720
	FROM generate_series(1, :N) i;
INSERT INTO posts (id, owner, media, caption, status, trace_id, created_at, updated_at) OVERRIDING SYSTEM VALUE
	SELECT i, 1 + i % 1000, lpad(to_hex(i), 64, '0'), 'caption of post ' || i || ', a little longer than a word',
	       CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'completed' END, lpad(to_hex(i), 32, '0'),
	       timestamptz '2023-02-24 00:00:00Z' + i * interval '10 seconds',
	       timestamptz '2023-02-24 00:00:00Z' + i * interval '10 seconds'
	FROM generate_series(1, :N) i;
INSERT INTO renditions (media, profile, storage_key, bytes, metadata)
	SELECT lpad(to_hex(i), 64, '0'), 'thumb', 'renditions/' || lpad(to_hex(i), 64, '0') || '/thumb/1/thumb.jpg',
	       9000 + i % 1000, '{"width":320,"height":180,"placeholder":"LEHV6nWB2yk8pyo0adR*.7kCMdnj"}'
	FROM generate_series(1, :N) i
	UNION ALL
	SELECT lpad(to_hex(i), 64, '0'), CASE WHEN i % 5 = 0 THEN 'mp4' ELSE 'web' END,
	       'renditions/' || lpad(to_hex(i), 64, '0') || CASE WHEN i % 5 = 0 THEN '/mp4/1/video.mp4' ELSE '/web/1/web.jpg' END,
	       80000 + i % 10000,
	       CASE WHEN i % 5 = 0 THEN '{"width":1280,"height":720,"duration":9.24,"frames":231}'::jsonb
	            ELSE '{"width":1280,"height":720}'::jsonb END
	FROM generate_series(1, :N) i;
INSERT INTO post_tags (post_id, tag_id)
	SELECT i, 1 + (i * 7) % 10 FROM generate_series(1, :N) i WHERE i % 3 <> 0
	UNION ALL SELECT i, 11 + (i * 13) % 190 FROM generate_series(1, :N) i WHERE i % 2 = 0;
SELECT setval(pg_get_serial_sequence('posts', 'id'), :N);
SELECT setval(pg_get_serial_sequence('users', 'id'), 1000);
SELECT setval(pg_get_serial_sequence('tags', 'id'), 200);
UPDATE feed_state SET version = version + 1;
COMMIT;
VACUUM ANALYZE;
SQL
md-db -q --db "sqlite:$SQ" init
sed "s/:N/$P/g" "$tmp/fill-sqlite.sql" | sqlite3 "$SQ" >/dev/null
dropdb --if-exists "$PGDB" 2>/dev/null
createdb "$PGDB"
md-db -q --db "$PGURL" init
psql -XAtq -v ON_ERROR_STOP=1 -d "$PGDB" -v N="$P" -f "$tmp/fill-pg.sql" >/dev/null

# --- one page: md-feed beside the same query by sqlite3 / psql -------------------
TAG=tag3
DEEP=50000
[ "$P" -gt $((DEEP * 3)) ] || DEEP=$((P / 3))
# the query md-feed runs (lib/store_sqlite.c, lib/store_pg.c), parameters
# written in: $1 the filters, the page of 20 and the row after it
sq_query() {
	printf '%s' "SELECT p.id, u.username, p.caption, p.status, p.created_at, p.media, m.kind, p.trace_id,
 (SELECT json_group_array(name) FROM (SELECT t.name FROM post_tags pt JOIN tags t ON t.id = pt.tag_id
  WHERE pt.post_id = p.id ORDER BY t.name)),
 (SELECT json_group_object(r.profile, '' || r.storage_key) FROM renditions r WHERE r.media = p.media),
 p.error,
 (SELECT json_group_array(json_object('profile', r.profile, 'url', '' || r.storage_key, 'bytes', r.bytes,
  'metadata', CASE WHEN json_valid(r.metadata) THEN json(r.metadata) END))
  FROM (SELECT * FROM renditions WHERE media = p.media ORDER BY profile) r)
 FROM posts p JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media
 WHERE 1 AND p.status = 'completed' $1 ORDER BY p.created_at DESC, p.id DESC LIMIT 21"
}
pg_query() {
	printf '%s' "SELECT p.id, u.username, p.caption, p.status,
 to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), p.media, m.kind, p.trace_id,
 coalesce((SELECT '[' || string_agg(to_json(t.name)::text, ',' ORDER BY t.name) || ']'
  FROM post_tags pt JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = p.id), '[]'),
 coalesce((SELECT '{' || string_agg(to_json(r.profile)::text || ':' || to_json('' || r.storage_key)::text, ','
  ORDER BY r.profile) || '}' FROM renditions r WHERE r.media = p.media), '{}'),
 p.error,
 coalesce((SELECT json_agg(json_build_object('profile', r.profile, 'url', '' || r.storage_key, 'bytes', r.bytes,
  'metadata', r.metadata) ORDER BY r.profile)::text FROM renditions r WHERE r.media = p.media), '[]')
 FROM posts p JOIN users u ON u.id = p.owner JOIN media m ON m.sha256 = p.media
 WHERE true AND p.status = 'completed' $1 ORDER BY p.created_at DESC, p.id DESC LIMIT 21"
}
tag_sql="AND EXISTS (SELECT 1 FROM post_tags pt WHERE pt.post_id = p.id AND pt.tag_id = (SELECT id FROM tags WHERE name = '$TAG'))"
before_sql() { printf '%s' "AND (p.created_at, p.id) < (SELECT created_at, id FROM posts WHERE id = $1)"; }
deep=$(sq "SELECT id FROM posts WHERE status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 1 OFFSET $((DEEP - 1))")
tdeep=$(sq "SELECT id FROM posts p WHERE status = 'completed' $tag_sql ORDER BY created_at DESC, id DESC
	LIMIT 1 OFFSET $((DEEP / 10 - 1))")
check_same() {  # the two sides print the same posts
	local a b
	a=$(md-feed --db "$1" --json $2 2>/dev/null | jq -r .post_id | tr '\n' ' ')
	b=$($3 "$4" | cut -d"$5" -f1 | head -n 20 | tr '\n' ' ')
	[ "$a" = "$b" ] || { echo "bench: md-feed and the query differ: $a / $b" >&2; exit 1; }
}
reps() {  # reps CMD...: seconds per call, REPS calls
	local t0 i
	t0=$(now)
	for ((i = 0; i < REPS; i++)); do "$@" >/dev/null 2>&1; done
	awk -v a="$t0" -v b="$(now)" -v n="$REPS" 'BEGIN { printf "%.4f", (b - a) / n }'
}
page_pair() {  # page_pair NAME DBURL MD-OPTIONS CLI SQL
	local a= b= r
	for ((r = 0; r < RUNS; r++)); do
		# shellcheck disable=SC2086
		a="$a $(reps md-feed --db "$2" --json $3)"
		b="$b $(reps $4 "$5")"
	done
	row "$1" "$(printf '%s\n' $a | median)" "$(printf '%s\n' $b | median)"
}
sqcli() { sqlite3 "$SQ" "$1"; }
pqcli() { psql -XAtq -d "$PGDB" -c "$1"; }
printf '# memedroid read side: %s posts, pages of 20, median of %s runs of %s calls\n' "$P" "$RUNS" "$REPS"
for be in sqlite pg; do
	if [ $be = sqlite ]; then url=sqlite:$SQ cli=sqcli mk=sq_query name=SQLite sep='|'
	else url=$PGURL cli=pqcli mk=pg_query name=PostgreSQL sep='|'; fi
	check_same "$url" "--before $deep" $cli "$($mk "$(before_sql "$deep")")" "$sep"
	check_same "$url" "-t $TAG" $cli "$($mk "$tag_sql")" "$sep"
	page_pair "md-feed first page, s ($name)" "$url" "" $cli "$($mk "")"
	page_pair "md-feed $DEEP deep, s ($name)" "$url" "--before $deep" $cli "$($mk "$(before_sql "$deep")")"
	page_pair "md-feed --tag first page, s ($name)" "$url" "-t $TAG" $cli "$($mk "$tag_sql")"
	page_pair "md-feed --tag $((DEEP / 10)) deep, s ($name)" "$url" "-t $TAG --before $tdeep" $cli \
		"$($mk "$tag_sql $(before_sql "$tdeep")")"
done

# --- md-feed --out ----------------------------------------------------------------
[ "${MD_BENCH_FEED_OUT:-1}" != 0 ] || exit 0
W=$tmp/www
written() { sed -n 's/.* \([0-9]*\) files\? written.*/\1/p' "$1"; }
t0=$(now)
md-feed --db "sqlite:$SQ" --out "$W" 2>"$tmp/render.log"
t1=$(now)
# the floor of any render: the same records, every post, one statement
sqlite3 "$SQ" "$(sq_query "" | sed 's/ LIMIT 21//')" >"$tmp/all.txt"
t2=$(now)
full=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
row "md-feed --out of $P posts, s (vs sqlite3)" "$full" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')"
files=$(find "$W" -type f | wc -l)
# a new post with two tags: the newest page of three feeds (its JSON and
# HTML, twice: NAME.N and NAME) and three Atom documents
sq "INSERT INTO posts (owner, media, caption, status, trace_id, created_at)
	SELECT 1, media, 'a new post', 'completed', trace_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM posts WHERE id = 1;
	INSERT INTO post_tags SELECT max(id), 1 FROM posts; INSERT INTO post_tags SELECT max(id), 150 FROM posts;
	UPDATE feed_state SET version = version + 1"
t0=$(now)
md-feed --db "sqlite:$SQ" --out "$W" 2>"$tmp/new.log"
t1=$(now)
row "  after a new post, s (vs the full render)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$full"
row "  after a new post, files written (vs needed)" "$(written "$tmp/new.log")" 15
# a caption edit deep down: its page in each of its feeds (JSON and HTML)
mid=$((P / 2 + 1))
ntags=$(sq "SELECT count(*) FROM post_tags WHERE post_id = $mid")
sq "UPDATE posts SET caption = 'edited', updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = $mid;
	UPDATE feed_state SET version = version + 1"
t0=$(now)
md-feed --db "sqlite:$SQ" --out "$W" 2>"$tmp/edit.log"
t1=$(now)
row "  after a caption edit, s (vs the full render)" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$full"
row "  after a caption edit, files written (vs needed)" "$(written "$tmp/edit.log")" $((2 * (ntags + 1)))
printf '# --out: %s files, %s\n' "$files" "$(du -sh "$W" | cut -f1)"
