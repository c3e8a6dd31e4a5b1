#!/bin/bash
# 57-janitor.t - md-janitor, one section per duty: the state made first, the
# janitor's exact records, the state after.  Then --dry-run changes nothing,
# a second janitor exits 0 saying so, an ingest racing the janitor keeps its
# original, and md-janitor killed at random points leaves nothing half done.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
have ffmpeg || plan skip_all "ffmpeg not installed"

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/janitor.yaml
cat >"$CFG" <<'EOF'
# written by 57-janitor.t
janitor:
  stuck_after: 1h
  pending_after: 1h
  orphan_grace: 1h
  retention: 1d
  profiles: noop
EOF
export MD_CONFIG=$CFG
S=$STORE

# SQL for "N seconds ago" in the backend's time column type
ago() {
	if [ "$MD_BACKEND" = postgres ]; then
		printf "now() - interval '%s seconds'" "$1"
	else
		printf "strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-%s seconds')" "$1"
	fi
}
# the state the janitor may change, to compare before and after a dry run
state() {
	db_query "SELECT id, state, attempts, finalized_at IS NULL FROM jobs ORDER BY id"
	db_query "SELECT id, status, coalesce(error, '') FROM posts ORDER BY id"
	(cd "$S" && find . | sort)
}
# md-janitor's records without the summary line
records() { printf '%s\n' "$out" | grep -v '^rescued=' || true; }
janitor_twice() {
	local before; before=$(state)
	run md-janitor -n
	dry=$(records)
	is "$(state)" "$before" "$1: --dry-run changes nothing"
	run md-janitor
	is "$rc" 0 "$1: md-janitor exits 0" || diag "$err"
	is "$(records)" "$dry" "$1: --dry-run listed what the run did"
}

run md-db init
is "$rc" 0 "md-db init" || diag "$err"
run md-ingest -e thumb "$IN/still.png" "$IN/photo.jpg"
is "$rc" 0 "md-ingest two images" || diag "$err"
run md-work --drain
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"
sha1=$(sha256 "$IN/still.png")
sha2=$(sha256 "$IN/photo.jpg")

run md-janitor
is "$rc" 0 "a clean site: exit 0" || diag "$err"
is "$out" "rescued=0 failed=0 enqueued=0 temp=0 orphans=0 missing=0 changed=0 pruned=0 aborted=0" \
	"a clean site: nothing to do"

# ---- rescue: a running job whose lease expired
run md-ingest -e noop "$IN/anim.gif"
sha3=$(sha256 "$IN/anim.gif")
job=$(db_query "SELECT id FROM jobs WHERE media = '$sha3'")
db_query "UPDATE jobs SET state = 'running', locked_by = 'ghost:1', attempts = 1, claims = 1,
	started_at = $(ago 600), lease_until = $(ago 60) WHERE id = $job" >/dev/null
janitor_twice "rescue"
is "$(records)" "rescue	$job	lease of ghost:1 expired: available again" "rescue: the record"
like "$out" "rescued=1 " "rescue: counted"
is "$(db_query "SELECT state FROM jobs WHERE id = $job")" available \
	"rescue: the job is available again"
run md-work --drain
run md-finalize

# ---- a post stuck in processing, and one pending, with no job
run md-ingest "$IN/video.mp4"
sha4=$(sha256 "$IN/video.mp4")
stuck=$(db_query "SELECT id FROM posts WHERE media = '$sha4'")
db_query "UPDATE posts SET status = 'processing', updated_at = $(ago 7200) WHERE id = $stuck" \
	>/dev/null
at=$(db_query "SELECT updated_at FROM posts WHERE id = $stuck")
[ "$MD_BACKEND" = postgres ] &&
	at=$(db_query "SELECT to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')
		FROM posts WHERE id = $stuck")
janitor_twice "stuck"
is "$(records)" "fail	$stuck	stuck in processing since $at: no job left to finish it" \
	"stuck: the record"
is "$(db_query "SELECT status FROM posts WHERE id = $stuck")" failed "stuck: the post failed"
like "$(db_query "SELECT error FROM posts WHERE id = $stuck")" "no job left" \
	"stuck: its error says why"

run md-ingest "$IN/silent.webm"
sha5=$(sha256 "$IN/silent.webm")
pend=$(db_query "SELECT id FROM posts WHERE media = '$sha5'")
run md-janitor
is "$(records)" "" "pending: a fresh pending post is left alone"
db_query "UPDATE posts SET updated_at = $(ago 7200) WHERE id = $pend" >/dev/null
run md-janitor -n
is "$(records)" "enqueue	$pend	pending with no job: noop" "pending: --dry-run's record"
run md-janitor
pjob=$(db_query "SELECT id FROM jobs WHERE media = '$sha5'")
is "$(records)" "enqueue	$pend	noop: job $pjob" "pending: the record"
is "$(db_query "SELECT profile || ' ' || state FROM jobs WHERE media = '$sha5'")" \
	"noop available" "pending: the default profile is enqueued"
run md-work --drain
run md-finalize

# ---- temp and work files
mkdir -p "$S/work/job-1-old/out" "$S/work/job-2-new" "$S/tmp"
echo x >"$S/work/job-1-old/out/video.mp4"
echo x >"$S/tmp/.in-1-old"
echo x >"$S/tmp/.in-2-new"
touch -d '2020-01-01 00:00:00 UTC' "$S/work/job-1-old/out/video.mp4" "$S/work/job-1-old/out" \
	"$S/work/job-1-old" "$S/tmp/.in-1-old"
janitor_twice "temp"
is "$(records)" "remove	tmp/.in-1-old	temp file, last written 2020-01-01T00:00:00Z
remove	work/job-1-old	work directory, last written 2020-01-01T00:00:00Z" "temp: the records"
ok "temp: the old ones are gone" test ! -e "$S/work/job-1-old" -a ! -e "$S/tmp/.in-1-old"
ok "temp: the fresh ones stay" test -d "$S/work/job-2-new" -a -f "$S/tmp/.in-2-new"

# ---- stored files no row references
fake=$(printf 'f%.0s' $(seq 64))
okey=originals/ff/ff/$fake.png
mkdir -p "$S/originals/ff/ff"
echo x >"$S/$okey"
reg=$(db_query "SELECT storage_key FROM renditions WHERE media = '$sha1'")
regdir=${reg%/*}
orphan=${regdir%/*}/999-1
cp -r "$S/$regdir" "$S/$orphan"
fresh=${regdir%/*}/999-2
cp -r "$S/$regdir" "$S/$fresh"
find "$S/originals" "$S/renditions" -exec touch -d '2020-01-01 00:00:00 UTC' {} +
touch "$S/$fresh"/*
janitor_twice "orphans"
is "$(records)" "remove	$okey	original of no media, last written 2020-01-01T00:00:00Z
remove	$orphan	run folder of no rendition or live run, last written 2020-01-01T00:00:00Z" "orphans: the records"
ok "orphans: the unreferenced original is gone" test ! -e "$S/$okey"
ok "orphans: the old run folder is gone" test ! -e "$S/$orphan"
ok "orphans: the fresh run folder stays (grace)" test -d "$S/$fresh"
ok "orphans: the registered rendition stays" test -f "$S/$reg"
is "$(count_files "$S/originals")" 5 "orphans: every media's original stays"

# ---- missing and changed files
orig2=originals/$(shard "$sha2").$(db_query "SELECT ext FROM media WHERE sha256 = '$sha2'")
reg2=$(db_query "SELECT storage_key FROM renditions WHERE media = '$sha2'")
mv "$S/$reg2" "$MD_TMP/reg2"
cp -p "$S/$orig2" "$MD_TMP/orig2"
printf 'tampered' >>"$S/$orig2"
run md-janitor
is "$(records)" "missing	$reg2	registered rendition" "missing: the record"
run md-janitor --verify
is "$(records)" "changed	$orig2	original of media $sha2 no longer has its hash
missing	$reg2	registered rendition" "--verify: the changed original"
like "$out" "missing=1 changed=1" "--verify: counted"
rm "$S/$orig2"
run md-janitor
is "$(records)" "missing	$orig2	original of media $sha2
missing	$reg2	registered rendition" "missing: an original without its file"
mv "$MD_TMP/orig2" "$S/$orig2"
mv "$MD_TMP/reg2" "$S/$reg2"
run md-janitor --verify
like "$out" "missing=0 changed=0" "the files put back: nothing to report"

# ---- pruning finished jobs
run md-enqueue -f -p thumb "$sha1"
run md-work --drain
run md-finalize
old=$(db_query "SELECT min(id) FROM jobs WHERE media = '$sha1'")
oldrun=renditions/$(shard "$sha1")/thumb/$old-1
new=$(db_query "SELECT max(id) FROM jobs WHERE media = '$sha1'")
last=$(db_query "SELECT max(id) FROM jobs")
db_query "UPDATE jobs SET finished_at = $(ago 200000)" >/dev/null
janitor_twice "prune"
is "$(records)" "remove	$oldrun	run folder of no rendition or live run, last written 2020-01-01T00:00:00Z
prune	1-$last	1 finished jobs" "prune: the records (the replaced rendition's old folder too)"
is "$(db_query "SELECT count(*) FROM jobs WHERE id = $old")" 0 "prune: the superseded job is gone"
is "$(db_query "SELECT count(*) FROM jobs WHERE id = $new")" 1 \
	"prune: the newest succeeded job of a media and profile stays"
run md-enqueue -p thumb "$sha1"
like "$out" "succeeded" "prune: enqueue still finds the rendition's job"

# ---- one at a time
if [ "$MD_BACKEND" = postgres ]; then
	mkfifo "$MD_TMP/lockfifo"
	psql -XAtq -d "$MD_DB" <"$MD_TMP/lockfifo" >/dev/null &
	lockpid=$!
	exec 8>"$MD_TMP/lockfifo"
	echo "SELECT pg_advisory_lock(435694281300);" >&8
	lock_held() { [ "$(db_query "SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND objid = 1902584404")" = 1 ]; }
	wait_for "the lock held" lock_held
else
	exec 8>"$(_md_sqlite_path)-janitor.lock"
	flock 8
fi
run md-janitor
is "$rc" 0 "a second janitor exits 0"
is "$out" "" "a second janitor does nothing"
like "$err" "another md-janitor is running" "a second janitor says so"
exec 8>&-
[ -n "${lockpid:-}" ] && wait "$lockpid"
run md-janitor
like "$out" "^rescued=" "the lock released: the janitor runs"

# ---- race: ingests store originals over stale orphans while janitors run
R=$MD_TMP/race
mkdir -p "$R"
ext=$(db_query "SELECT ext FROM media WHERE sha256 = '$sha1'")
for i in $(seq 20); do
	cp "$IN/still.png" "$R/r$i.png"
	printf 'race %s' "$i" >>"$R/r$i.png"
	s=$(sha256 "$R/r$i.png")
	mkdir -p "$S/originals/$(shard "$s" | cut -d/ -f1-2)"
	cp "$R/r$i.png" "$S/originals/$(shard "$s").$ext"
	touch -d '2020-01-01 00:00:00 UTC' "$S/originals/$(shard "$s").$ext"
done
(for i in $(seq 30); do md-janitor -q >/dev/null 2>&1; done) &
jpid=$!
for i in $(seq 20); do md-ingest -q "$R/r$i.png" >/dev/null 2>>"$MD_TMP/race.err"; done
wait "$jpid"
is "$(db_query "SELECT count(*) FROM media")" 25 "race: every file was ingested"
run md-janitor -n --verify
like "$out" "missing=0 changed=0 " "race: no ingested media lost its original"

# ---- kill -9 at random points: nothing lost, nothing half-deleted, a rerun finishes
rm -rf "$S/originals/ff"
for n in $(seq 20); do
	for i in $(seq 30); do
		d=$S/renditions/ff/ff/$fake/thumb/$n-$i
		mkdir -p "$d/hls"
		echo a >"$d/a.jpg"; echo b >"$d/hls/b.ts"
		touch -d '2020-01-01 00:00:00 UTC' "$d/a.jpg" "$d/hls/b.ts"
	done
	db_query "UPDATE jobs SET finished_at = $(ago 200000)" >/dev/null
	md-janitor -q >/dev/null 2>&1 &
	kpid=$!
	sleep "0.0$((RANDOM % 10))"
	kill -9 "$kpid" 2>/dev/null
	wait "$kpid" 2>/dev/null
	run md-janitor -n --verify
	like "$out" " missing=0 changed=0 " "kill -9 #$n: no registered file was lost"
done
run md-janitor
is "$rc" 0 "after the kills, a rerun exits 0" || diag "$err"
run md-janitor
like "$out" "orphans=0 " "after the rerun, nothing is left to remove"
is "$(count_files "$S/renditions/ff")" 0 "after the rerun, no orphan run folder is left"

done_testing
