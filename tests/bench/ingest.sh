#!/bin/bash
# tests/bench/ingest.sh - md-ingest's figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   small files   files/s of `md-ingest -r` over 1,000 small distinct JPEGs
#                 (one ffmpeg run writes them once: testsrc with its frame
#                 number drawn; named without an extension, as md-ingest's
#                 temp copies are, so that ffprobe picks the same demuxer), each run on a fresh database and storage,
#                 on SQLite and on PostgreSQL, beside GNU parallel running
#                 one ffprobe per file on every core with the very arguments
#                 lib/probe.c gives it: the probe is the limit, and the goal
#                 is at least 0.8 of its throughput
#   large file    seconds of md-ingest of one valid ~380 MB MP4 (a 10 s
#                 lossless H.264 clip, concatenated 19 times without
#                 re-encoding) on SQLite, beside `openssl dgst -sha256 F &&
#                 cp F DEST` into the same filesystem (the goal: at most 1.1
#                 of its time); md-ingest also probes the file (ffprobe
#                 reads every packet) and fsyncs what it stores, which that
#                 baseline does not: a second line times the baseline with
#                 `sync DEST` after the cp, the same durability
#
# Every run of md-ingest is checked: 1,000 posts and 1,000 stored originals
# (one and one for the large file), no temp file left, exit status 0.  The
# baseline's ffprobe must succeed on every file.  The inputs are read from
# the page cache on both sides (they were just written, and each side
# reads them every run).
#
# Run by run.sh on its PostgreSQL cluster (PGHOST, PGUSER), or alone (a
# cluster of its own).  Environment: MD_BENCH_RUNS (medians of how many
# runs, default 5), MD_BENCH_INGEST_FILES (1000).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
RUNS=${MD_BENCH_RUNS:-5}
NF=${MD_BENCH_INGEST_FILES:-1000}

for t in ffmpeg ffprobe parallel openssl; do
	command -v "$t" >/dev/null 2>&1 || { echo "# ingest: skipped (no $t)"; exit 0; }
done

bench_start ing

bench_pg
unset MD_DB MD_STORAGE
export MD_CONFIG=$tmp/ingest.yaml MD_CONFIG_NOSYSTEM=1 MD_HOME=$tmp/home MD_USER=bench
mkdir -p "$MD_HOME"
: >"$MD_CONFIG"
chmod 600 "$MD_CONFIG"

# --- the inputs, made once ------------------------------------------------------
mkdir "$tmp/img"
ffmpeg -nostdin -v error -f lavfi -i testsrc=size=160x120:rate=25 -frames:v "$NF" \
	-vf "drawtext=text='%{n}':fontsize=24:x=8:y=8" -q:v 5 -f image2 -c:v mjpeg "$tmp/img/f%04d" 2>/dev/null ||
	ffmpeg -nostdin -v error -f lavfi -i testsrc=size=160x120:rate=25 -frames:v "$NF" \
		-q:v 5 -f image2 -c:v mjpeg "$tmp/img/f%04d"
[ "$(ls "$tmp/img" | wc -l)" -eq "$NF" ] || { echo "bench: ffmpeg made too few images" >&2; exit 1; }
[ "$(cat "$tmp"/img/* | wc -c)" -gt 0 ] &&
	[ "$(sha256sum "$tmp"/img/* | cut -d' ' -f1 | sort -u | wc -l)" -eq "$NF" ] ||
	{ echo "bench: the images are not distinct" >&2; exit 1; }
ffmpeg -nostdin -v error -f lavfi -i testsrc2=size=1280x720:rate=30 -t 10 -c:v libx264 \
	-preset ultrafast -qp 0 -pix_fmt yuv420p "$tmp/chunk.mp4"
for _ in $(seq 19); do echo "file '$tmp/chunk.mp4'"; done >"$tmp/list.txt"
ffmpeg -nostdin -v error -f concat -safe 0 -i "$tmp/list.txt" -c copy -movflags +faststart "$tmp/big.mp4"
rm -f "$tmp/chunk.mp4"
big_mb=$(( $(stat -c %s "$tmp/big.mp4") / 1000000 ))

# --- md-ingest, on a fresh database and storage each run -----------------------
fresh() {  # fresh BACKEND: MD_DB and MD_STORAGE of a new, initialised site
	rm -rf "$tmp/st" "$tmp/db.sqlite"*
	export MD_STORAGE=$tmp/st
	if [ "$1" = pg ]; then
		dropdb --if-exists md_ing 2>/dev/null
		createdb md_ing
		export MD_DB="postgresql:///md_ing?host=$PGHOST&user=postgres"
	else
		export MD_DB="sqlite://$tmp/db.sqlite"
	fi
	md-db -q init
}
posts() {
	if [ "$1" = pg ]; then
		psql -XAtq -d md_ing -c "SELECT count(*) FROM posts"
	else
		sqlite3 "$tmp/db.sqlite" "SELECT count(*) FROM posts"
	fi
}
check() {  # check BACKEND N: N posts and originals, no temp file
	local p o t
	p=$(posts "$1")
	o=$(find "$tmp/st/originals" -type f | wc -l)
	t=$(find "$tmp/st/tmp" -mindepth 1 2>/dev/null | wc -l)
	[ "$p/$o/$t" = "$2/$2/0" ] ||
		{ echo "bench: md-ingest left $p posts, $o originals, $t temp files (want $2/$2/0)" >&2; exit 1; }
}
ingest_rate() {  # ingest_rate BACKEND: files/s of md-ingest -r over the images
	local t0 t1
	fresh "$1"
	t0=$(now)
	md-ingest -q -r "$tmp/img" >"$tmp/ing.out" || { echo "bench: md-ingest failed" >&2; exit 1; }
	t1=$(now)
	[ "$(wc -l <"$tmp/ing.out")" -eq "$NF" ] || { echo "bench: md-ingest printed too few records" >&2; exit 1; }
	[ "$(cut -f4 "$tmp/ing.out" | sort -u)" = new ] || { echo "bench: md-ingest found duplicates" >&2; exit 1; }
	check "$1" "$NF"
	awk -v n="$NF" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
# ffprobe as lib/probe.c runs it (run_ffprobe), on every core
WL=mov,matroska,avi,flv,mpegts,ogg,gif,png_pipe,jpeg_pipe,webp_pipe,bmp_pipe,tiff_pipe,apng
WL=$WL,mp3,wav,w64,flac,aac,aiff,caf,amr,wv,ape,tta,ac3,eac3,dts,au
ENTRIES="format=format_name,duration,start_time:stream=index,codec_type,codec_name,"
ENTRIES+="codec_tag_string,width,height,pix_fmt,nb_frames,nb_read_packets,avg_frame_rate,"
ENTRIES+="time_base:stream_disposition=attached_pic:stream_side_data=rotation,"
ENTRIES+="side_data_type:packet=pts_time,dts_time,duration_time:packet_side_data=side_data_type"
probe_rate() {  # files/s of parallel -j$(nproc) ffprobe over the images
	local t0 t1
	t0=$(now)
	parallel --will-cite --halt now,fail=1 -j"$(nproc)" ffprobe -v error -hide_banner \
		-format_whitelist "$WL" -protocol_whitelist file -count_packets \
		-show_entries "$ENTRIES" -of flat {} ::: "$tmp"/img/* >"$tmp/probe.out" ||
		{ echo "bench: ffprobe failed" >&2; exit 1; }
	t1=$(now)
	[ "$(grep -c '^format.format_name=' "$tmp/probe.out")" -eq "$NF" ] ||
		{ echo "bench: ffprobe printed too few formats" >&2; exit 1; }
	awk -v n="$NF" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }'
}
ingest_sqlite() { ingest_rate sqlite; }
ingest_pg() { ingest_rate pg; }

big_ingest() {  # seconds of md-ingest of the large file
	local t0 t1
	fresh sqlite
	t0=$(now)
	md-ingest -q "$tmp/big.mp4" >/dev/null || { echo "bench: md-ingest of the large file failed" >&2; exit 1; }
	t1=$(now)
	check sqlite 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
big_copy() {  # big_copy [sync]: seconds of openssl dgst -sha256 and cp of it (then sync)
	local t0 t1
	rm -f "$tmp/copy"
	t0=$(now)
	openssl dgst -sha256 "$tmp/big.mp4" >/dev/null && cp "$tmp/big.mp4" "$tmp/copy"
	[ -z "${1:-}" ] || sync "$tmp/copy"
	t1=$(now)
	cmp -s "$tmp/big.mp4" "$tmp/copy" || { echo "bench: cp made another file" >&2; exit 1; }
	rm -f "$tmp/copy"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

read -r m s < <(pairs ingest_sqlite probe_rate)
row "ingest $NF JPEGs, SQLite, files/s (ffprobe)" "$m" "$s"
read -r m s < <(pairs ingest_pg probe_rate)
row "ingest $NF JPEGs, PostgreSQL, files/s (ffprobe)" "$m" "$s"
read -r m s < <(pairs big_ingest big_copy)
row "ingest $big_mb MB, s (openssl sha256 + cp)" "$m" "$s"
read -r m s < <(pairs big_ingest big_copy sync)
row "ingest $big_mb MB, s (openssl sha256 + cp + sync)" "$m" "$s"
