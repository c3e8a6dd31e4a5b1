#!/bin/bash
# 36-replica.t - a PostgreSQL streaming standby (pg_basebackup -R) of a
# primary of this test's own: md-status on the primary lists it with its
# lag (TSV, JSON, Prometheus), md-status on the standby says it is one;
# md-feed serves the same pages from the standby; the tools that write,
# pointed at it, fail with a clear message (exit 78) and leave nothing
# behind.  PostgreSQL only: it runs in the PostgreSQL pass, on clusters of
# its own (a standby copies its whole primary).
. "$(dirname "$0")/lib.sh"
md_require_tools
if [ -z "${MD_TEST_PGHOST-}" ]; then
	plan skip_all "needs PostgreSQL (MD_TEST_PGHOST): runs in the PostgreSQL pass"
fi
md_setup
chmod 755 "$MD_TMP"   # the postgres user reaches the clusters' sockets
P=$MD_TMP/primary
S=$MD_TMP/standby
stop_clusters() {
	sh "$MD_ROOT/tests/pg-cluster.sh" stop "$S" >/dev/null 2>&1
	sh "$MD_ROOT/tests/pg-cluster.sh" stop "$P" >/dev/null 2>&1
}
trap '_st=$?; stop_clusters; (exit $_st); md_cleanup' EXIT

sh "$MD_ROOT/tests/pg-cluster.sh" start "$P" >/dev/null || BAIL_OUT "cannot start a primary"
createdb -h "$P" -U postgres md || BAIL_OUT "createdb failed"
PRIMARY="postgresql:///md?host=$P&user=postgres"
STANDBY="postgresql:///md?host=$S&user=postgres"
export MD_DB=$PRIMARY
pq() { psql -XAtq -h "$1" -U postgres -d md -c "$2"; }

run md-db init
is "$rc" 0 "md-db init on the primary" || diag "$err"
md_samples "$MD_TMP/in"
run md-ingest "$MD_TMP/in/still.png" "$MD_TMP/in/photo.jpg"
is "$rc" 0 "two posts on the primary" || diag "$err"
printf '%s\n' "$out" | cut -f2 >"$MD_TMP/ids"
run_in "$MD_TMP/ids" md-enqueue -p thumb -
is "$rc" 0 "their thumbnails enqueued" || diag "$err"
run md-work --drain
is "$rc" 0 "and made" || diag "$err"
run md-finalize
is "$rc" 0 "and finalized" || diag "$err"

sh "$MD_ROOT/tests/pg-cluster.sh" standby "$P" "$S" >/dev/null || BAIL_OUT "cannot make a standby"
# what the primary has written by now, replayed by the standby
lsn=$(pq "$P" "SELECT pg_current_wal_lsn()")
caught_up() {
	[ "$(pq "$S" "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] &&
		[ "$(pq "$P" "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")" = 1 ]
}
wait_for "the standby streaming and caught up" caught_up

# --- md-status on the primary and on the standby ----------------------------------
run md-status
is "$rc" 0 "md-status on the primary" || diag "$err"
like "$out" "$(printf '(^|\n)replica\twalreceiver\tstreaming\t[0-9]+\\.[0-9]\t[0-9]+(\n|$)')" \
	"it lists the standby: name, state, lag in seconds, bytes behind"
run md-status --json
is "$(printf '%s' "$out" | jq -r '.replicas[0] | "\(.replica) \(.state) \(.lag_bytes) \(.lag|type)"')" \
	"walreceiver streaming $(printf '%s' "$out" | jq '.replicas[0].lag_bytes | floor') number" "--json: replicas[]"
run md-status --prom
like "$out" 'memedroid_replica_lag_seconds\{replica="walreceiver"\} [0-9.]+' "--prom: memedroid_replica_lag_seconds"
like "$out" 'memedroid_replica_lag_bytes\{replica="walreceiver"\} [0-9]+' "--prom: memedroid_replica_lag_bytes"
run md-status --db "$STANDBY"
is "$rc" 0 "md-status on the standby" || diag "$err"
like "$out" "$(printf '(^|\n)replica\t\\(this server\\)\tstandby\t[0-9]+\\.[0-9]\t[0-9]+(\n|$)')" \
	"it says it is a standby, with the age of its last replayed commit"
like "$out" "$(printf 'posts\tcompleted\t2')" "and reads the primary's figures"

# --- md-feed reads from the standby ----------------------------------------------
run md-feed --json
want=$(printf '%s\n' "$out" | jq -r .post_id | tr '\n' ' ')
run md-feed --db "$STANDBY" --json
is "$rc" 0 "md-feed from the standby" || diag "$err"
is "$(printf '%s\n' "$out" | jq -r .post_id | tr '\n' ' ')" "$want" "the same posts as from the primary"
run md-feed --db "$STANDBY" --out "$MD_TMP/www"
is "$rc" 0 "md-feed --out from the standby" || diag "$err"
ok "its pages written" test -s "$MD_TMP/www/index.html"

# --- the writers refuse the standby -----------------------------------------------
files() { find "$STORE" -type f | sort | md5sum; }
before=$(files)
posts=$(pq "$P" "SELECT count(*) FROM posts")
run md-ingest --db "$STANDBY" "$MD_TMP/in/anim.gif"
is "$rc" 78 "md-ingest on the standby: exit 78"
like "$err" "read-only \\(a standby\\?\\).*point this tool at the primary" "it says the database is read-only and what to do"
is "$(files)" "$before" "no file stored, none left in tmp/"
is "$(pq "$P" "SELECT count(*) FROM posts")" "$posts" "no post"
png=$(pq "$P" "SELECT media FROM posts ORDER BY id LIMIT 1")
run md-enqueue --db "$STANDBY" -f -p thumb "$png"
is "$rc" 78 "md-enqueue on the standby: exit 78"
like "$err" "read-only" "saying why"
run md-work --db "$STANDBY" --drain
is "$rc" 78 "md-work on the standby: exit 78"
like "$err" "read-only" "saying why"
run md-job --db "$STANDBY" pause default
is "$rc" 78 "md-job pause on the standby: exit 78"
is "$(pq "$P" "SELECT count(*) FROM jobs WHERE state <> 'succeeded'")" 0 "no job added or changed"

done_testing
