#!/bin/bash
# x-janitor.sh BACKEND TRIAL SEED - kill -9 of md-janitor at a random moment.
#
# Four posts are made and finalized, then everything md-janitor clears is
# laid beside them: 200 unregistered run folders beside the registered
# ones, 200 temp files and 200 work directories, 100 originals with no
# media row, 3000 dead jobs past their retention, and one more post
# whose job holds an expired lease.  md-janitor is killed with SIGKILL
# (alone on even seeds, with its process group on odd ones) at a random
# moment within five times what a dry run takes (a run removes too).  Then
# the registered renditions are compared with a snapshot taken before it
# ran, md-db check must pass, md-janitor runs again to its end (the dead one's lock must not
# hold it off), and md-work and md-finalize finish the rescued job.
# Record: orphans, stale (registered files removed or changed), half (a
# failed md-db check), debris_at_kill (what the killed run left of the
# 3700 things to clear), unreg (what the second run left of it: files and
# prunable jobs), posts and jobs lost.
. "$(dirname "$0")/lib.sh"
TT_EXP=kill-janitor TT_SEED=$3 RANDOM=$3
tt_run_init "$1" || exit 1
tt_trial "$1" "janitor-$2" || exit 1

for n in 1 2 3 4 5; do cp "$(tt_media "jan-$n" 1)" "$TD/in/$n.mp4"; done
md-ingest -q -r --enqueue tort "$TD/in/1.mp4" "$TD/in/2.mp4" "$TD/in/3.mp4" "$TD/in/4.mp4" \
	>/dev/null 2>"$TD/ingest.err" || { cat "$TD/ingest.err" >&2; exit 1; }
md-work -j 2 --drain >/dev/null 2>"$TD/work.err" || { cat "$TD/work.err" >&2; exit 1; }
md-finalize -q >/dev/null 2>>"$TD/finalize.err" || { cat "$TD/finalize.err" >&2; exit 1; }
# the fifth post's job was claimed by a worker that died: its lease expired
md-ingest -q --enqueue tort "$TD/in/5.mp4" >/dev/null 2>>"$TD/ingest.err" || exit 1
db_query "UPDATE jobs SET state = 'running', attempts = 1, claims = 1, locked_by = 'gone:1',
	started_at = '2000-01-01T00:00:00.000Z', lease_until = '2000-01-01T00:00:05.000Z'
	WHERE state = 'available'" || exit 1
tt_renditions_snap "$TD/snap"
[ "$(wc -l <"$TD/snap")" = 4 ] || { tt_log "expected 4 renditions"; exit 1; }

# the debris
media=$(db_query "SELECT media FROM renditions LIMIT 1")
sh_=$(printf '%s' "$media" | cut -c1-2)/$(printf '%s' "$media" | cut -c3-4)
mkdir -p "$STORE/tmp" "$STORE/work"
for ((i = 1; i <= 200; i++)); do
	d=$STORE/renditions/$sh_/$media/tort/$((9000 + i))-1
	mkdir -p "$d" && printf 'stale %d\n' "$i" >"$d/out.mp4"
	printf 'partial %d\n' "$i" >"$STORE/tmp/ingest.$i.tmp"
	mkdir -p "$STORE/work/job-$i" && printf 'x\n' >"$STORE/work/job-$i/out.mp4"
done
for ((i = 1; i <= 100; i++)); do
	printf 'orphan %d %s\n' "$i" "$TT_SEED" >"$TD/o"
	s=$(sha256 "$TD/o")
	mkdir -p "$STORE/originals/${s:0:2}/${s:2:2}"
	mv "$TD/o" "$STORE/originals/${s:0:2}/${s:2:2}/$s.mp4"
done
db_query "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000)
	INSERT INTO jobs (media, profile, state, attempts, claims, result, started_at, finished_at,
	  finalized_at)
	SELECT '$media', 'tort', 'dead', 1, 1, NULL, '2000-01-01T00:00:00.000Z',
	  '2000-01-01T00:00:01.000Z', '2000-01-01T00:00:02.000Z' FROM g" || exit 1

t0=$(tt_now)
md-janitor -n >/dev/null 2>>"$TD/janitor.log"
dry=$(awk -v a="$t0" -v b="$(tt_now)" 'BEGIN { printf "%d", (b - a) * 5000 + 50 }')
mode=pid; [ $((TT_SEED % 2)) = 1 ] && mode=group
tt_bg j md-janitor
jp=$TT_PID
tt_ms "$(tt_rand "$dry")"
tt_kill9 "$jp" "$mode" >/dev/null
orphans=$(tt_orphans)

# debris: what of the debris is left (files and prunable jobs)
debris() {
	local n u
	n=$(( $(find "$STORE/tmp" "$STORE/work" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l) +
		$(find "$STORE/originals" -type f | wc -l) - 5 ))
	read -r _ u < <(tt_stale "$TD/snap")
	echo $((n + u + $(db_query "SELECT count(*) FROM jobs WHERE finished_at < '2001-01-01'")))
}
at_kill=$(debris)
read -r stale _ < <(tt_stale "$TD/snap")
half=0
md-db check >"$TD/check.out" 2>&1 || { half=1; cat "$TD/check.out" >&2; }
md-janitor >>"$TD/janitor.log" 2>&1 || tt_log "md-janitor after the kill: exit $?"
unreg=$(debris)
md-work -j 2 --drain >/dev/null 2>>"$TD/work.err"
md-finalize -q >/dev/null 2>>"$TD/finalize.err"
read -r lposts ljobs < <(tt_lost 5 5)
tt_record kill=$mode dry_ms=$dry debris_at_kill=$at_kill orphans=$orphans stale=$stale half=$half \
	unreg=$unreg lostposts=$lposts lostjobs=$ljobs
tt_trial_end
