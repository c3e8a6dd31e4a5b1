#!/bin/bash
# tests/bench/sizing.sh - what one upload costs, the figures behind the
# README's "Sizing": N uploads of each of three typical kinds, made with
# ffmpeg,
#
#   video     10 s of 1280x720 at 30 fps, H.264 High at about 6 Mbit/s
#             (above the 5 Mbit/s of a copied source, so its mp4 is
#             encoded) and stereo AAC, the copies made distinct by a
#             metadata tag
#   photo     a 1920x1080 JPEG, each a different frame
#   gif       3 s of 480x270 at 15 fps, each of a different hue
#
# each kind's uploads taken one at a time through the life of a post on a
# fresh database and storage: md-ingest of one file (one process per
# upload, as a site takes them), md-enqueue of the default profile set
# (janitor.profiles, mp4,thumb: an image gets only thumb) for its post,
# md-work -j 1 --drain of each queue (video: mp4; default: thumb), and one
# md-finalize.  For each kind and phase it prints, per upload:
#
#   statements   every statement the server ran for the tools, BEGIN and
#                COMMIT included (pg_stat_statements, track = all), and the
#                transactions committed (pg_stat_database)
#   WAL          bytes of WAL written (pg_current_wal_insert_lsn() before
#                and after; a CHECKPOINT before each phase, full_page_writes
#                on, so the first change of each page in a phase writes a
#                full page image), and those images (wal_fpi)
#   storage      bytes of the original and of each profile's rendition
#                files, and of the upload's rows (media, post, jobs and
#                renditions; pg_column_size, without their indexes)
#   worker       per job of each profile: CPU seconds of md-work and its
#                commands (/usr/bin/time around md-work -j 1, divided by the
#                jobs), and the median wall seconds from started_at to
#                finished_at in the job table
#
# as rows "figure value", and every figure as KIND<TAB>FIGURE<TAB>VALUE in
# $MD_BENCH_SIZING_TSV when it is set.  CPU and wall times are those of
# this machine with whatever else runs on it: the CPU seconds are the
# average of the jobs of a profile, the wall seconds their median, and two
# runs can differ by a fifth on a busy machine.
#
# The cluster is always its own (pg_stat_statements must be loaded at the
# server's start, and full page writes are on here, unlike the test
# clusters): it is started by tests/pg-cluster.sh, then restarted with
# those settings, and autovacuum off, so that no vacuum's WAL falls into
# a phase.  The work phase's statements are mostly the worker's own
# rhythm: its heartbeat and the jobs' progress, every few seconds while a
# job runs, so they grow with the job's length.  Environment:
# MD_BENCH_SIZING_N (uploads of each kind, default 8; 0 skips these
# figures), MD_BENCH_SIZING_TSV.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
N=${MD_BENCH_SIZING_N:-8}
[ "$N" -gt 0 ] || { echo "# sizing: skipped (MD_BENCH_SIZING_N=0)"; exit 0; }
PROFILES=mp4,thumb
declare -A KIND=([video]=video [photo]=image [gif]=animated)

bench_start sizing
unset PGHOST PGUSER
bench_pg
bindir=$(sh "$root/tests/pg-cluster.sh" bindir)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
# pg-cluster.sh's settings but full_page_writes, and the statistics
as_pg "$bindir/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -m fast -w -t 60 \
	-o "-c listen_addresses='' -c unix_socket_directories='$pgdir' -c fsync=off \
-c synchronous_commit=off -c full_page_writes=on -c max_connections=100 \
-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all \
-c autovacuum=off" restart >/dev/null
psql -XAtq -c "CREATE EXTENSION pg_stat_statements" >/dev/null
createdb md_sizing
export MD_DB="postgresql:///md_sizing?host=$PGHOST&user=postgres"
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/sizing.yaml
export MD_CONFIG_NOSYSTEM=1
: >"$MD_CONFIG"
md-db -q init
# psql on the postgres database, so that its own statements are not counted
q() { PGOPTIONS="-c client_min_messages=warning" psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "$1"; }
qm() { psql -XAtq -v ON_ERROR_STOP=1 -d md_sizing -c "$1"; }
DB="(SELECT oid FROM pg_database WHERE datname = 'md_sizing')"
tsv=${MD_BENCH_SIZING_TSV:-}
[ -z "$tsv" ] || : >"$tsv"
fig() {  # fig KIND FIGURE VALUE
	printf '%-56s %12s\n' "sizing $1: $2" "$3"
	[ -z "$tsv" ] || printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$tsv"
}
div() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { printf f, (b > 0 ? a / b : 0) }'; }

# --- the uploads --------------------------------------------------------------------
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mkdir -p "$tmp/in/video" "$tmp/in/photo" "$tmp/in/gif"
ff -f lavfi -i "testsrc2=size=1280x720:rate=30:duration=10,noise=alls=12:allf=t" \
	-f lavfi -i "sine=frequency=440:sample_rate=48000:duration=10" \
	-f lavfi -i "sine=frequency=660:sample_rate=48000:duration=10" \
	-filter_complex "[1:a][2:a]amerge=inputs=2[a]" -map 0:v -map "[a]" \
	-c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p -b:v 6M -maxrate 8M -bufsize 12M \
	-c:a aac -b:a 128k -movflags +faststart "$tmp/clip.mp4"
ff -f lavfi -i "testsrc2=size=1920x1080:rate=1,noise=alls=8:allf=t" -frames:v "$N" -q:v 3 \
	"$tmp/in/photo/photo-%03d.jpg"
for ((i = 1; i <= N; i++)); do
	ff -i "$tmp/clip.mp4" -map 0 -c copy -metadata comment="upload $i" -movflags +faststart \
		"$tmp/in/video/clip-$i.mp4"
	ff -f lavfi -i "testsrc2=size=480x270:rate=15:duration=3,hue=h=$((i * 360 / (N + 1)))" \
		"$tmp/in/gif/anim-$i.gif"
done
rm "$tmp/clip.mp4"

# --- the measures -----------------------------------------------------------------
# statements and commits of the md_sizing database, the WAL position
stmts() { q "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE dbid = $DB"; }
fpis() { q "SELECT coalesce(sum(wal_fpi), 0) FROM pg_stat_statements WHERE dbid = $DB"; }
commits() { q "SELECT pg_stat_force_next_flush(); SELECT xact_commit FROM pg_stat_database WHERE datid = $DB" | tail -n1; }
lsn() { q "SELECT pg_current_wal_insert_lsn()"; }
# until the tools' server processes are gone, and with them their
# statistics flushed (a backend flushes them as it exits, after its client
# has gone)
settled() {
	local i
	for ((i = 0; i < 500; i++)); do
		[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datid = $DB")" -gt 0 ] || return 0
		sleep 0.01
	done
	echo "bench: the tools' server processes did not end" >&2
	exit 1
}
# phase KIND NAME CMD...: CMD run once; its statements, commits, WAL and
# full page images, kept as S_NAME, C_NAME, W_NAME, F_NAME, and its wall
# seconds, T_NAME (totals)
phase() {
	local kind=$1 name=$2 l0 c0 t0
	shift 2
	q "CHECKPOINT" >/dev/null
	q "SELECT pg_stat_statements_reset()" >/dev/null
	c0=$(commits)
	l0=$(lsn)
	t0=$(now)
	"$@" >/dev/null
	printf -v "T_$name" %s "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')"
	settled
	printf -v "S_$name" %s "$(stmts)"
	printf -v "C_$name" %s "$(( $(commits) - c0 ))"
	printf -v "W_$name" %s "$(q "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$l0')")"
	printf -v "F_$name" %s "$(fpis)"
}
ids=()
ingest_each() {
	local f id
	ids=()
	for f in "$tmp/in/$1"/*; do
		id=$(md-ingest -q -u sizing "$f" | cut -f1)
		[ -n "$id" ] || { echo "bench: md-ingest took no post of $f" >&2; exit 1; }
		ids+=("$id")
	done
}
enqueue_each() {
	local id
	for id in "${ids[@]}"; do md-enqueue -q -p "$PROFILES" "$id" >/dev/null 2>&1; done
}
# work_queues KIND: md-work -j 1 --drain on each queue that has jobs,
# timed; CPU_<profile> the CPU seconds, J_<profile> the jobs
work_queues() {
	local queue profile jobs cpu
	while IFS='|' read -r queue profile jobs; do
		/usr/bin/time -f '%U %S' -o "$tmp/time" md-work -q -j 1 -Q "$queue" --drain >/dev/null
		cpu=$(awk '{ print $1 + $2 }' "$tmp/time")
		printf -v "CPU_$profile" %s "$cpu"
		printf -v "J_$profile" %s "$jobs"
	done < <(qm "SELECT queue, min(profile), count(*) FROM jobs WHERE state = 'available' GROUP BY queue ORDER BY queue")
}
# bytes of the files below storage DIR whose path has PATTERN
bytes() { find "$MD_STORAGE/$1" -type f -path "$2" -printf '%s\n' 2>/dev/null | awk '{ s += $1 } END { print s + 0 }'; }


per_phase() {  # per_phase KIND LABEL VAR [FMT]: a row for each phase, VAR_<phase> / N
	local ph v
	for ph in ingest enqueue work finalize; do
		v=${3}_$ph
		# shellcheck disable=SC2086
		fig "$1" "$2, $ph" "$(div "${!v}" "$N" ${4:-})"
	done
}
for kind in video photo gif; do
	o0=$(bytes originals '*')
	declare -A r0=()
	for p in ${PROFILES//,/ }; do r0[$p]=$(bytes renditions "*/$p/*"); done
	for p in ${PROFILES//,/ }; do unset "CPU_$p" "J_$p"; done

	phase "$kind" ingest ingest_each "$kind"
	phase "$kind" enqueue enqueue_each
	phase "$kind" work work_queues
	phase "$kind" finalize md-finalize -q

	bad=$(qm "SELECT count(*) FROM posts WHERE status <> 'completed'")
	[ "$bad" -eq 0 ] || { echo "bench: $bad posts not completed" >&2; qm "SELECT id, status, error FROM posts WHERE status <> 'completed'" >&2; exit 1; }

	tot_s=0 tot_c=0 tot_w=0 tot_f=0
	for ph in ingest enqueue work finalize; do
		s=S_$ph c=C_$ph w=W_$ph f=F_$ph
		fig "$kind" "statements/upload, $ph" "$(div "${!s}" "$N")"
		tot_s=$((tot_s + ${!s})) tot_c=$((tot_c + ${!c})) tot_w=$((tot_w + ${!w})) tot_f=$((tot_f + ${!f}))
	done
	fig "$kind" "statements/upload, all" "$(div "$tot_s" "$N")"
	fig "$kind" "commits/upload, all" "$(div "$tot_c" "$N")"
	per_phase "$kind" "WAL bytes/upload" W %.0f
	fig "$kind" "WAL bytes/upload, all" "$(div "$tot_w" "$N" %.0f)"
	fig "$kind" "full page images/upload, all" "$(div "$tot_f" "$N")"
	per_phase "$kind" "wall s/upload" T %.2f
	fig "$kind" "row bytes/upload" "$(div "$(qm "SELECT
		(SELECT coalesce(sum(pg_column_size(m.*)), 0) FROM media m WHERE m.kind = '${KIND[$kind]}') +
		(SELECT coalesce(sum(pg_column_size(p.*)), 0) FROM posts p JOIN media m ON m.sha256 = p.media
			WHERE m.kind = '${KIND[$kind]}') +
		(SELECT coalesce(sum(pg_column_size(j.*)), 0) FROM jobs j JOIN media m ON m.sha256 = j.media
			WHERE m.kind = '${KIND[$kind]}') +
		(SELECT coalesce(sum(pg_column_size(r.*)), 0) FROM renditions r JOIN media m ON m.sha256 = r.media
			WHERE m.kind = '${KIND[$kind]}')")" "$N" %.0f)"
	fig "$kind" "original bytes/upload" "$(div "$(( $(bytes originals '*') - o0 ))" "$N" %.0f)"
	for p in ${PROFILES//,/ }; do
		cpu=CPU_$p jobs=J_$p
		[ -n "${!jobs:-}" ] || continue
		fig "$kind" "$p bytes/upload" "$(div "$(( $(bytes renditions "*/$p/*") - r0[$p] ))" "$N" %.0f)"
		fig "$kind" "$p jobs" "${!jobs}"
		fig "$kind" "$p CPU s/job (md-work -j 1)" "$(div "${!cpu}" "${!jobs}" %.2f)"
		fig "$kind" "$p wall s/job, median" "$(qm "SELECT extract(epoch FROM finished_at - started_at)
			FROM jobs j JOIN media m ON m.sha256 = j.media WHERE m.kind = '${KIND[$kind]}'
			AND j.profile = '$p'" | median | xargs printf %.2f)"
	done
done
