#!/bin/bash
# tests/bench/run.sh - what `make bench` runs: the queue benchmarks, all on
# one throwaway PostgreSQL cluster, each figure printed beside its baseline
# from the same run, as medians of several runs and as a ratio.
#
#   burn-down    no-op jobs/s of md-work (1, 2, 4 processes, -j 4 each)
#                beside a bare-SQL baseline: pgbench running the same claim
#                (batch of B, FOR UPDATE SKIP LOCKED) and batched, fenced
#                completion statements, with the same batch size
#   peak RSS     KB of one md-work process (-j 4) draining N jobs, beside
#                the goal of 8 MB
#   latency      enqueue-to-start p50/p99 with LISTEN/NOTIFY (one md-enqueue
#                per job while an idle worker waits; the goals: 2 and 5 ms),
#                and beside the same worker woken by a psql per job running
#                a bare INSERT and NOTIFY (the floor of a new session)
#   bulk         md-enqueue of 100,000 media hashes, jobs/s
#   peer         the same burn-down by graphile-worker (npm, installed into
#                a temp dir), 1 process without its batching options, and
#                1, 2 and 4 processes with them (a local queue of 500),
#                beside as many md-work processes (worker.batch 500; the
#                goal: at least 1.5)
#   pinned       claim p50 and p99 of 2 md-work processes draining 200k
#                jobs while another session holds a transaction open for up
#                to 60 s (vacuum pinned), beside the same without it, and
#                the bare SKIP LOCKED claim's p50 the same way
#                (tests/bench/pinned.sh, on this cluster)
#   confinement  seconds of md-work draining the mp4 profile of three sample
#                clips and 10 s of 720p, with job commands confined (minimal environment,
#                rlimits, Landlock), beside the same with worker.sandbox
#                false and no limits
#   passthrough  seconds of md-work making the mp4 of 10 s of 720p that is
#                already H.264 High and stereo AAC (remuxed), beside the
#                same video with mono sound, which does not qualify
#                (encoded)
#   hls          seconds of md-work making the hls ladder (360p, 720p and the
#                sound) of 10 s of 720p, beside the same ladder made by hand:
#                one ffmpeg per rung and one for the sound, run together by
#                GNU parallel (the goal: within 5%)
#   janitor      seconds of md-janitor over 1M finished jobs and stored files,
#                and the claim p99 of 2 workers while it runs beside the same
#                without it (tests/bench/janitor.sh, on this cluster)
#   finalize     media/s of md-finalize over 10,000 finished media (3 jobs
#                each), on PostgreSQL and SQLite, beside the bare SQL of the
#                same set-based finalize (tests/bench/finalize.sh)
#   sqlite       the no-op burn-down on SQLite beside a bare-SQL loop of
#                the same statements, and md-work's peak RSS there
#                (tests/bench/sqlite.sh)
#   s3           MiB/s of uploading and downloading a 256 MiB original
#                through the S3 storage (lib/storage.h), beside the curl CLI
#                against the same server, s3rver on 127.0.0.1 (the goal: at
#                least 0.9; tests/bench/s3.sh)
#   feed         md-feed's pages at 1M posts beside sqlite3 / psql running
#                the same query, and md-feed --out's render and what one
#                change rewrites (tests/bench/feed.sh, on this cluster)
#   ingest       files/s of md-ingest -r over 1,000 small JPEGs on SQLite and
#                on this cluster, beside parallel ffprobe on every core (the
#                goal: at least 0.8), and seconds of md-ingest of a ~380 MB
#                MP4 beside openssl dgst -sha256 and cp (at most 1.1;
#                tests/bench/ingest.sh)
#   sizing       per upload of a 10 s 720p clip, a 1080p photo and a GIF
#                taken through md-ingest, md-enqueue mp4,thumb, md-work and
#                md-finalize: statements, commits and WAL bytes by phase,
#                stored bytes by profile, CPU and wall seconds per job
#                (tests/bench/sizing.sh, on a cluster of its own; the
#                figures of the README's "Sizing")
#
# Environment: MD_BENCH_RUNS (default 5), MD_BENCH_JOBS (20000),
# MD_BENCH_BATCH (100), MD_BENCH_PIN (60 seconds), MD_BENCH_PIN_JOBS
# (200100, tests/bench/pinned.sh); the janitor's, in
# tests/bench/janitor.sh (MD_BENCH_JANITOR_JOBS=0 skips it); the S3
# original's size, MD_BENCH_S3_MIB (256).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
bench_root
RUNS=${MD_BENCH_RUNS:-5}
N=${MD_BENCH_JOBS:-20000}
B=${MD_BENCH_BATCH:-100}
PIN=${MD_BENCH_PIN:-60}

tmp=$(mktemp -d /tmp/md-bench.XXXXXX)
pgdir=$(mktemp -d /tmp/md-bench-pg.XXXXXX)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sh tests/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sock=$(sh tests/pg-cluster.sh start "$pgdir")
PGHOST=$sock
PGUSER=postgres
export PGHOST PGUSER
createdb md_bench
export MD_DB="postgresql:///md_bench?host=$sock&user=postgres"
export MD_STORAGE=$tmp/storage
export MD_CONFIG=$tmp/bench.yaml
printf 'worker:\n  batch: %d\n  poll_interval: 1s\n' "$B" >"$MD_CONFIG"
chmod 600 "$MD_CONFIG"
q() { psql -XAtq -v ON_ERROR_STOP=1 -d md_bench -c "$1"; }

md-db -q init
sha=$(printf 'bench' | sha256sum | cut -c1-64)
q "INSERT INTO media (sha256, kind, mime, format, ext, bytes) VALUES ('$sha', 'image', 'image/png', 'png_pipe', 'png', 1)"

fill() {  # fill N: N available noop jobs, nothing else
	q "TRUNCATE jobs RESTART IDENTITY"
	q "INSERT INTO jobs (media, profile, queue) SELECT '$sha', 'noop', 'default' FROM generate_series(1, $1)"
	q "VACUUM ANALYZE jobs"
}

# --- burn-down ----------------------------------------------------------------
bench_claim_sql "$tmp/claim.sql" "$B"

mdwork_rate() {  # P processes of md-work -j 4 draining N jobs: jobs/s
	local p=$1 t0 t1 i
	fill "$N"
	t0=$(now)
	local ws=
	for ((i = 0; i < p; i++)); do
		md-work -q --drain -j 4 >/dev/null &
		ws="$ws $!"
	done
	for w in $ws; do wait "$w"; done
	t1=$(now)
	local done_
	done_=$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1")
	[ "$done_" -eq "$N" ] || { echo "bench: md-work left jobs ($done_ of $N)" >&2; exit 1; }
	awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

sql_rate() {  # the same burn-down by pgbench with P clients: jobs/s
	local p=$1 t0 t1
	fill "$N"
	local per=$(( (N + B * p - 1) / (B * p) ))
	t0=$(now)
	pgbench -n -M prepared -c "$p" -j "$p" -t "$per" -f "$tmp/claim.sql" md_bench >/dev/null 2>&1
	t1=$(now)
	local done_
	done_=$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")
	[ "$done_" -eq "$N" ] || { echo "bench: pgbench left jobs ($done_ of $N)" >&2; exit 1; }
	awk -v n="$N" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }'
}

printf '# memedroid queue benchmark: %s jobs, batch %s, median of %s runs, PostgreSQL %s\n' \
	"$N" "$B" "$RUNS" "$(q 'SHOW server_version')"
printf '%-44s %12s %12s %7s\n' "figure" "memedroid" "baseline" "ratio"

for p in 1 2 4; do
	read -r m s < <(pairs mdwork_rate sql_rate "$p")
	printf '%-44s %12s %12s %7s\n' "no-op burn-down, $p process(es), jobs/s" "$m" "$s" "$(ratio "$m" "$s")"
done

mdwork_rss() {  # KB: md-work's peak resident set draining N jobs (-j 4)
	fill "$N"
	/usr/bin/time -f %M -o "$tmp/rss" md-work -q --drain -j 4 >/dev/null
	[ "$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempts = 1")" -eq "$N" ] ||
		{ echo "bench: md-work left jobs" >&2; exit 1; }
	cat "$tmp/rss"
}
target_rss() { echo 8192; }
read -r m s < <(pairs mdwork_rss target_rss)
printf '%-44s %12s %12s %7s\n' "md-work peak RSS, KB (vs 8 MB goal)" "$m" "$s" "$(ratio "$m" "$s")"

# --- the peer: graphile-worker, where Node.js is present -------------------------
gw_rate() {  # gw_rate MODE P: jobs/s of P graphile-worker processes, concurrency 4 each
	psql -XAtq -d md_bench -c "DROP SCHEMA IF EXISTS graphile_worker CASCADE" 2>/dev/null
	NODE_PATH=$tmp/gw/node_modules GW_DB="postgresql:///md_bench?host=$sock&user=postgres" \
		node tests/bench/graphile.js "$N" "$1" "$tmp/gw.out" "$2" >"$tmp/gw.log" 2>&1 ||
		{ echo "bench: graphile-worker failed: $(tail -n 3 "$tmp/gw.log")" >&2; echo 0; return; }
	# it deletes the jobs it ran
	[ "$(q "SELECT count(*) FROM graphile_worker._private_jobs")" -eq 0 ] ||
		{ echo "bench: graphile-worker left jobs" >&2; exit 1; }
	cat "$tmp/gw.out"
}
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
	mkdir -p "$tmp/gw" && (cd "$tmp/gw" && npm init -y >/dev/null 2>&1 &&
	npm install --silent --no-audit --no-fund graphile-worker@0.17 >/dev/null 2>&1); then
	gwv=$(cd "$tmp/gw" && node -p 'require("graphile-worker/package.json").version')
	echo "# graphile-worker $gwv: concurrency 4 a process, as md-work -j 4"
	# md-work's side of each pair: P processes, as the peer's, claiming up
	# to 500 jobs at once, as the peer's local queue holds 500
	printf 'worker:\n  batch: 500\n  poll_interval: 1s\n' >"$tmp/peer.yaml"
	chmod 600 "$tmp/peer.yaml"
	mdwork_p() { MD_CONFIG=$tmp/peer.yaml mdwork_rate "$2"; }
	for run in "plain 1" "batched 1" "batched 2" "batched 4"; do
		read -r mode p <<<"$run"
		read -r m1 g < <(pairs mdwork_p gw_rate "$mode" "$p")
		printf '%-44s %12s %12s %7s\n' "vs graphile-worker $mode, $p proc, jobs/s" "$m1" "$g" \
			"$(ratio "$m1" "$g")"
	done
else
	echo "# graphile-worker: skipped (no Node.js/npm, or the npm registry is unreachable)"
fi

# --- enqueue-to-start latency ---------------------------------------------------
q "TRUNCATE jobs RESTART IDENTITY"
md-work -q -j 4 >/dev/null 2>"$tmp/worker.err" &
wpid=$!
pids="$pids $wpid"
# the worker LISTENs before its first claim: once it idles, it listens
until [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'md-work' AND state = 'idle'")" -gt 0 ]; do :; done
L=$((RUNS * 40))
for ((i = 0; i < L; i++)); do
	md-enqueue -q -f -p noop "$sha" >/dev/null
done
until [ "$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")" -eq "$L" ]; do :; done
kill "$wpid"; wait "$wpid" 2>/dev/null || true
latency() {  # "p50 p99" of started_at - created_at over the jobs, in ms
	q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2) || ' ' ||
	round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2)
	FROM (SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM jobs) t"
}
lat=$(latency)
# the floor under it: the same worker woken by the bare statements, each
# job inserted and notified by a psql of its own (a new session, as each
# md-enqueue is: created_at is its transaction's start, and a new
# session's first INSERT loads the table's catalog entries)
q "TRUNCATE jobs RESTART IDENTITY"
md-work -q -j 4 >/dev/null 2>"$tmp/worker.err" &
wpid=$!
pids="$pids $wpid"
until [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'md-work' AND state = 'idle'")" -gt 0 ]; do :; done
for ((i = 0; i < L; i++)); do
	psql -XAtq -v ON_ERROR_STOP=1 -d md_bench -c "BEGIN" \
		-c "INSERT INTO jobs (media, profile, queue) VALUES ('$sha', 'noop', 'default')" \
		-c "SELECT pg_notify('md_jobs', 'default')" -c "COMMIT" >/dev/null
done
until [ "$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")" -eq "$L" ]; do :; done
kill "$wpid"; wait "$wpid" 2>/dev/null || true
bare=$(latency)
printf '%-44s %12s %12s %7s\n' "enqueue-to-start p50, ms (LISTEN/NOTIFY)" "${lat% *}" "2 (goal)" "$(ratio "${lat% *}" 2)"
printf '%-44s %12s %12s %7s\n' "enqueue-to-start p99, ms" "${lat#* }" "5 (goal)" "$(ratio "${lat#* }" 5)"
printf '%-44s %12s %12s %7s\n' "  p50, ms (vs psql INSERT + NOTIFY)" "${lat% *}" "${bare% *}" "$(ratio "${lat% *}" "${bare% *}")"
printf '%-44s %12s %12s %7s\n' "  p99, ms (vs psql INSERT + NOTIFY)" "${lat#* }" "${bare#* }" "$(ratio "${lat#* }" "${bare#* }")"

# --- bulk enqueue -----------------------------------------------------------------
q "TRUNCATE jobs RESTART IDENTITY"
q "INSERT INTO media (sha256, kind, mime, format, ext, bytes)
	SELECT encode(sha256(g::text::bytea), 'hex'), 'image', 'image/png', 'png_pipe', 'png', 1
	FROM generate_series(1, 100000) g ON CONFLICT DO NOTHING"
q "SELECT encode(sha256(g::text::bytea), 'hex') FROM generate_series(1, 100000) g" >"$tmp/ids"
bulk() {
	q "TRUNCATE jobs RESTART IDENTITY"
	local t0 t1
	t0=$(now)
	md-enqueue -q -p noop - <"$tmp/ids" >/dev/null
	t1=$(now)
	[ "$(q 'SELECT count(*) FROM jobs')" -eq 100000 ] || { echo "bench: bulk enqueue lost jobs" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100000 / (b - a) }'
}
copyrate() {  # baseline: COPY of the same 100k rows by psql
	q "TRUNCATE jobs RESTART IDENTITY"
	sed "s/\$/\tnoop\tdefault/" "$tmp/ids" >"$tmp/ids.tsv"
	local t0 t1
	t0=$(now)
	psql -XAtq -d md_bench -c "\\copy jobs (media, profile, queue) FROM '$tmp/ids.tsv'"
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", 100000 / (b - a) }'
}
read -r m s < <(pairs bulk copyrate)
printf '%-44s %12s %12s %7s\n' "bulk enqueue of 100k ids, jobs/s (vs COPY)" "$m" "$s" "$(ratio "$m" "$s")"

# --- claim latency with vacuum pinned -------------------------------------------
bash tests/bench/pinned.sh

# --- the cost of confinement ------------------------------------------------------
q "TRUNCATE jobs RESTART IDENTITY"
sh scripts/make-samples.sh "$tmp/samples" >/dev/null
# and a typical upload: 10 s of 720p with sound
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
	-f lavfi -i sine=duration=10 -c:v libx264 -preset ultrafast -c:a aac "$tmp/samples/clip720.mp4"
md-ingest -q "$tmp/samples/video.mp4" "$tmp/samples/silent.webm" "$tmp/samples/anim.gif" \
	"$tmp/samples/clip720.mp4" >"$tmp/clips"
cut -f2 "$tmp/clips" >"$tmp/clip-ids"
cp "$MD_CONFIG" "$tmp/open.yaml"
printf '  sandbox: false\n  memory_limit: unlimited\n  cpu_limit: unlimited\n  file_size_limit: unlimited\n' \
	>>"$tmp/open.yaml"
mp4_secs() {  # mp4_secs IDFILE CONFIG: seconds for one worker to make the mp4 of each id
	local t0 t1 n
	q "TRUNCATE jobs RESTART IDENTITY"
	n=$(md-enqueue -q -f -p mp4 - <"$1" | wc -l)
	t0=$(now)
	md-work -q -c "$2" --drain -j 1 >/dev/null
	t1=$(now)
	[ "$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")" -eq "$n" ] ||
		{ echo "bench: the mp4 jobs failed ($1, $2)" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
transcode() { mp4_secs "$tmp/clip-ids" "$1"; }
confined() { transcode "$MD_CONFIG"; }
unconfined() { transcode "$tmp/open.yaml"; }
read -r m s < <(pairs confined unconfined)
printf '%-44s %12s %12s %7s\n' "mp4 of 4 clips, s (confined vs not)" "$m" "$s" "$(ratio "$m" "$s")"

# --- passthrough: copy vs encode --------------------------------------------------
# the same H.264 High 720p video, with stereo AAC (copied) and mono (encoded)
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=1280x720:rate=30:duration=10 \
	-f lavfi -i sine=duration=10 -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
	-c:a aac -ac 2 "$tmp/samples/ready720.mp4"
ffmpeg -nostdin -loglevel error -i "$tmp/samples/ready720.mp4" -c:v copy -c:a aac -ac 1 \
	"$tmp/samples/mono720.mp4"
md-ingest -q "$tmp/samples/ready720.mp4" | cut -f2 >"$tmp/ready-id"
md-ingest -q "$tmp/samples/mono720.mp4" | cut -f2 >"$tmp/mono-id"
copied() { mp4_secs "$tmp/ready-id" "$MD_CONFIG"; }
encoded() { mp4_secs "$tmp/mono-id" "$MD_CONFIG"; }
read -r m s < <(pairs copied encoded)
printf '%-44s %12s %12s %7s\n' "mp4 of 10 s 720p, s (copied vs encoded)" "$m" "$s" "$(ratio "$m" "$s")"

# --- hls: one ffmpeg run for the ladder, beside one per rung under parallel --------
hls_secs() {  # seconds for one worker to make the hls ladder of the 720p clip
	local t0 t1
	q "TRUNCATE jobs RESTART IDENTITY"
	md-enqueue -q -f -p hls - <"$tmp/ready-id" >/dev/null
	t0=$(now)
	md-work -q --drain -j 1 >/dev/null
	t1=$(now)
	[ "$(q "SELECT count(*) FROM jobs WHERE state = 'succeeded'")" -eq 1 ] ||
		{ echo "bench: the hls job failed" >&2; exit 1; }
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
# the same ladder by hand: the same encoder settings, each rung its own run
hand_rung() {  # hand_rung W H NAME | hand_rung audio
	local o=$tmp/hand/$1
	mkdir -p "$o"
	if [ "$1" = audio ]; then
		ffmpeg -nostdin -loglevel error -y -i "$tmp/samples/ready720.mp4" -map 0:a:0 -c:a aac \
			-b:a 128k -ac 2 -f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 \
			-hls_segment_filename "$o/seg-%05d.m4s" "$o/index.m3u8"
		return
	fi
	ffmpeg -nostdin -loglevel error -y -threads 2 -i "$tmp/samples/ready720.mp4" -map 0:v:0 \
		-vf "scale=w=$1:h=$2:out_range=tv:out_color_matrix=bt709,format=yuv420p,setsar=1" \
		-fps_mode vfr -r 60 -c:v libx264 -preset veryfast -crf 23 -threads 2 \
		-force_key_frames 'expr:gte(t,n_forced*4)' -sc_threshold 0 -g 240 \
		-f hls -hls_time 4 -hls_playlist_type vod -hls_segment_type fmp4 \
		-hls_segment_filename "$o/seg-%05d.m4s" "$o/index.m3u8"
}
export -f hand_rung
export tmp
hand_secs() {
	local t0 t1
	rm -rf "$tmp/hand"
	t0=$(now)
	parallel --will-cite --halt now,fail=1 --colsep ' ' hand_rung {1} {2} ::: "640 360" "1280 720" audio
	t1=$(now)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}
read -r m s < <(pairs hls_secs hand_secs)
printf '%-44s %12s %12s %7s\n' "hls of 10 s 720p, s (vs ffmpeg x3 | parallel)" "$m" "$s" "$(ratio "$m" "$s")"

# --- the janitor: its wall time, and the workers' claims while it runs -----------
bash tests/bench/janitor.sh
bash tests/bench/finalize.sh

# --- S3 storage: upload and download beside the curl CLI -------------------------
bash tests/bench/s3.sh

# --- SQLite: the burn-down beside a bare-SQL loop, md-work's peak RSS -------------
bash tests/bench/sqlite.sh

# --- the read side: md-feed's pages and --out at 1M posts ------------------------
bash tests/bench/feed.sh

# --- ingest: small files beside parallel ffprobe, a large file beside openssl + cp --
bash tests/bench/ingest.sh

# --- sizing: what one upload of each kind costs the database, the storage, the workers --
bash tests/bench/sizing.sh
