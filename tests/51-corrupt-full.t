#!/bin/bash
# 51-corrupt-full.t - a damaged database and a full disk.  md-db check
# finds damage (exit 65, a line per problem) and the schema's missing
# objects; a tool that meets a damaged page, or a file that is not a
# database, says "database 'x' is corrupt: ...; run 'md-db check'" once,
# exits 65 and writes nothing.  On PostgreSQL the server's corruption and
# disk-full errors (XX001, 53100, raised here by a trigger) map the same
# way.  On a full disk (a small tmpfs in a private mount namespace: root
# and unshare(1) needed, else skipped) a tool says "disk full" and exits
# 75 having written nothing; it can read while another process holds the
# database open, and works again once there is room.
. "$(dirname "$0")/lib.sh"
md_require_tools
# the whole script in its own mount namespace, where it may mount a tmpfs
if [ -z "${MD_T51_NS-}" ] && [ -z "${MD_TEST_PGHOST-}" ] && [ "$(id -u)" = 0 ] &&
	have unshare && unshare -m true 2>/dev/null; then
	MD_T51_NS=1 exec unshare -m bash "$0" "$@"
fi
md_setup

IN=$MD_TMP/in
md_samples "$IN"
run md-db init
is "$rc" 0 "md-db init" || diag "$err"
run md-ingest -e noop "$IN/still.png" "$IN/photo.jpg"
is "$rc" 0 "two posts with a job each" || diag "$err"
run md-work --drain
run md-finalize
is "$rc" 0 "processed and finalized" || diag "$err"
sha=$(sha256 "$IN/still.png")

# --- md-db check on a sound database -----------------------------------------
run md-db check
is "$rc" 0 "md-db check: a sound database exits 0" || diag "$err"
is "$out" "" "md-db check: nothing on stdout"
like "$err" "no problem found" "md-db check: says so on stderr"

# --- missing objects, then an old schema version -----------------------------
db_query "DROP INDEX jobs_running" >/dev/null
run md-db check
is "$rc" 65 "md-db check: a missing index is damage (65)"
is "$out" $'index\tindex \'jobs_running\' is missing' "md-db check: one line names it"
run md-db --json check
json_lines_ok "$out" && like "$out" '^\{"part":"index","problem":' "md-db check --json: JSON Lines" ||
	fail "md-db check --json: JSON Lines" "$out"
# put the index back as its migration made it
sql=$(cat "$MD_ROOT"/sql/"$MD_BACKEND"/*.sql | grep -i '^CREATE INDEX jobs_running' | tail -n 1)
db_query "$sql" >/dev/null
run md-db check
is "$rc" 0 "md-db check: sound again once the index is back" || diag "$out" "$err"
# a database migrated by a newer release
db_query "INSERT INTO schema_migrations (version, name) VALUES (999, 'future')" >/dev/null
run md-db check
is "$rc" 78 "md-db check: only a schema version it does not know is 78"
like "$out" $'^schema\tversion 999, this release knows [0-9]+: upgrade memedroid$' \
	"md-db check: says so"
db_query "DELETE FROM schema_migrations WHERE version = 999" >/dev/null

if [ "$MD_BACKEND" = postgres ]; then
	# --- PostgreSQL: the server's own corruption and disk-full errors -------
	raise() {
		db_query "SET client_min_messages = warning;
			CREATE OR REPLACE FUNCTION md_t51_raise() RETURNS trigger LANGUAGE plpgsql AS
			\$\$BEGIN RAISE EXCEPTION 'could not read block 7' USING ERRCODE = '$1'; END\$\$;
			DROP TRIGGER IF EXISTS md_t51 ON posts;
			CREATE TRIGGER md_t51 BEFORE INSERT ON posts FOR EACH ROW EXECUTE FUNCTION md_t51_raise()" \
			>/dev/null
	}
	media=$(db_count media)
	raise data_corrupted
	run md-ingest "$IN/anim.gif"
	is "$rc" 65 "XX001 (data_corrupted): md-ingest exits 65"
	like "$err" "is corrupt: .*could not read block 7; run 'md-db check'" "XX001: said as corruption"
	is "$(db_count media)" "$media" "XX001: the ingest's transaction is rolled back"
	raise disk_full
	run md-ingest "$IN/anim.gif"
	is "$rc" 75 "53100 (disk_full): md-ingest exits 75"
	like "$err" ": disk full: could not read block 7" "53100: said as a full disk"
	is "$(db_count media)" "$media" "53100: the ingest's transaction is rolled back"
	db_query "DROP TRIGGER md_t51 ON posts; DROP FUNCTION md_t51_raise()" >/dev/null
	# with amcheck, every B-tree index is checked too
	if db_query "CREATE EXTENSION IF NOT EXISTS amcheck" >/dev/null 2>&1; then
		run md-db check
		is "$rc" 0 "md-db check with amcheck: sound indexes pass" || diag "$out" "$err"
	else
		skip "the amcheck extension is not available" 1
	fi
	done_testing
fi

# --- SQLite: four pages overwritten ------------------------------------------
DB=$(_md_sqlite_path)
good=$MD_TMP/good.db
cp "$DB" "$good"
[ ! -s "$DB-wal" ] || BAIL_OUT "the WAL was not checkpointed at close"
page=$(db_query "PRAGMA page_size")
page_of() { sqlite3 "$good" "SELECT rootpage FROM sqlite_schema WHERE name = '$1'"; }
# the root pages of the posts, jobs, media and tags tables, as a bad disk might
for t in posts jobs media tags; do
	p=$(page_of "$t")
	head -c "$page" /dev/zero | tr '\0' '\245' |
		dd of="$DB" bs="$page" seek=$((p - 1)) count=1 conv=notrunc status=none
done
before=$(sha256 "$DB")

run md-db check
is "$rc" 65 "md-db check: damaged pages are 65"
like "$out" $'^integrity\t' "md-db check: integrity_check's findings, one per line"
like "$err" "is damaged: [0-9]+ problems? found" "md-db check: a summary on stderr"

new=$MD_TMP/new.png
ff -f lavfi -i testsrc2=size=40x30 -frames:v 1 "$new"
for cmd in "md-status" "md-feed" "md-job list" "md-work --drain" \
	"md-enqueue -p thumb $sha" "md-ingest -e noop $new"; do
	# shellcheck disable=SC2086
	run $cmd
	is "$rc" 65 "damaged: $cmd exits 65"
	like "$err" "database '$DB' is corrupt: .*: database disk image is malformed; run 'md-db check'" \
		"damaged: $cmd says so and names md-db check"
	is "$(grep -c 'level=error' <<<"$err")" 1 "damaged: $cmd says it once"
done
# SQLite finds damage where it reads: these read no damaged page here
for cmd in "md-finalize" "md-user list"; do
	# shellcheck disable=SC2086
	run $cmd
	is "$rc" 0 "damaged elsewhere: $cmd, which reads no damaged page, works" || diag "$err"
done
is "$(sha256 "$DB")" "$before" "no tool changed the damaged file"
ok "and none left a WAL behind" test ! -s "$DB-wal"

# --- a file that is not a database --------------------------------------------
head -c 20000 /dev/zero | tr '\0' 'x' >"$DB"
rm -f "$DB-wal" "$DB-shm"
for cmd in "md-status" "md-db status" "md-ingest $new" "md-db check"; do
	# shellcheck disable=SC2086
	run $cmd
	is "$rc" 65 "not a database: $cmd exits 65"
	like "$err" "database '$DB' is corrupt: open: file is not a database" "not a database: $cmd says so"
done
is "$(head -c 5 "$DB")" xxxxx "not a database: nothing was written into it"

# --- a full disk ----------------------------------------------------------------
if [ -z "${MD_T51_NS-}" ]; then
	skip "a full disk needs root and unshare(1) to mount a tmpfs" 13
	done_testing
fi
FULL=$MD_TMP/full
mkdir "$FULL"
mount -t tmpfs -o size=1m,mode=0700 tmpfs "$FULL" || BAIL_OUT "cannot mount a tmpfs"
cp "$good" "$FULL/md.db"
export MD_DB=sqlite:$FULL/md.db
jobs=$(db_count jobs)
fill() { dd if=/dev/zero of="$FULL/fill" bs=4k status=none 2>/dev/null; :; }
fill

run md-status
is "$rc" 75 "full disk: a read with no other process exits 75"
like "$err" "cannot make its WAL index '$FULL/md.db-shm': disk full: No space left on device" \
	"full disk: says why: the WAL index cannot be made"
run md-enqueue -p thumb "$sha"
is "$rc" 75 "full disk: md-enqueue exits 75"
like "$err" "disk full" "full disk: md-enqueue says disk full, not I/O error"

# another process holds the database open: its WAL index exists
rm -f "$FULL/fill" "$FULL/md.db-shm" "$FULL/md.db-wal"
printf 'worker:\n  poll_interval: 1d\n' >"$MD_TMP/idle.yaml"
md-work -c "$MD_TMP/idle.yaml" --poll-only >/dev/null 2>"$MD_TMP/w.err" &
wpid=$!
ok "a worker holds the database open" wait_for "worker started" grep -q 'worker started' "$MD_TMP/w.err"
fill
run md-status
is "$rc" 0 "full disk, database open elsewhere: md-status reads" || diag "$err"
run md-feed
is "$rc" 0 "full disk, database open elsewhere: md-feed reads" || diag "$err"
run md-enqueue -p thumb "$sha"
is "$rc" 75 "full disk: a write still exits 75"
like "$err" "disk full" "full disk: and says disk full"
kill -TERM "$wpid"
wait "$wpid"
rm -f "$FULL/fill"
is "$(db_count jobs)" "$jobs" "full disk: nothing was written"
run md-enqueue -p thumb "$sha"
is "$rc" 0 "room again: md-enqueue works" || diag "$err"
is "$(db_count jobs)" "$((jobs + 1))" "room again: the job is there"
run md-db check
is "$rc" 0 "room again: md-db check finds nothing wrong" || diag "$out" "$err"
umount "$FULL"
done_testing
