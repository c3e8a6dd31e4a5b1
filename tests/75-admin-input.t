#!/bin/bash
# 75-admin-input.t - what an administrator types is checked before it is
# used: a config file nested 100,000 deep is refused with its file and
# line (78) at once, by every tool, instead of overflowing the stack;
# durations past 100 years, exponents, nan, inf and signs are config
# errors (78) or usage errors (64), so no undefined conversion can send
# the database a garbage time; a good --at is stored to the second; and
# only a JSON record's own post_id or media is enqueued.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init

IN=$MD_TMP/in
md_samples "$IN"
run md-ingest "$IN/still.png"
is "$rc" 0 "md-ingest still.png" || diag "$err"
post=$(cut -f1 <<<"$out")
sha=$(sha256 "$IN/still.png")

# milliseconds since the epoch
ms() { date +%s%3N; }

# --- YAML nested 100,000 deep: flow [, flow {a:, block - ------------------------
python3 - "$MD_TMP" <<'PY'
import sys
d = sys.argv[1]
open(d + "/flow-seq.yaml", "w").write("worker: " + "[" * 100000 + "\n")
open(d + "/flow-map.yaml", "w").write("worker: " + "{a: " * 100000 + "\n")
open(d + "/block-seq.yaml", "w").write("# deep\nworker:\n  " + "- " * 100000 + "x\n")
PY
for f in flow-seq:1 flow-map:1 block-seq:3; do
	name=${f%:*} line=${f#*:}
	for cmd in "md-status" "md-enqueue -p thumb $post" "md-feed" "md-work --drain" "md-db status"; do
		read -r tool rest <<<"$cmd"
		t0=$(ms)
		# shellcheck disable=SC2086
		run "$tool" -c "$MD_TMP/$name.yaml" $rest
		t1=$(ms)
		is "$rc" 78 "$name, 100000 deep: ${cmd%% *} exits 78"
		like "$err" "$name\\.yaml:$line: nested deeper than 64 levels" \
			"$name: ${cmd%% *} names the file and the line"
		ok "$name: ${cmd%% *} refuses it in under 2 s ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 2000 ]
	done
done
is "$(db_count jobs)" 0 "no job was made from a refused config"

# --- durations in the config -------------------------------------------------
for v in 1e308d 1e309s nan inf -1s 99999999999999999999d 36526d 0x10s "' 5s'"; do
	printf 'worker:\n  lease: %s\n' "$v" >"$MD_TMP/d.yaml"
	run md-status -c "$MD_TMP/d.yaml"
	is "$rc" 78 "worker.lease: $v is a config error (78)"
	like "$err" "d\\.yaml:2: bad duration \\(5s to 36525d" "worker.lease: $v: file, line and range"
done
printf 'worker:\n  poll_interval: 2d\n' >"$MD_TMP/d.yaml"
run md-status -c "$MD_TMP/d.yaml"
is "$rc" 78 "worker.poll_interval: 2d is past its 1d maximum"
# durations that mean nothing below a floor: a lease that lapses before its
# renewal, a timeout that stops every job, a poll that spins
for kv in "worker lease 4.9s 5s" "worker lease 1ms 5s" "worker job_timeout 0s 1s" \
	"worker stall_timeout 1s 5s" "worker poll_interval 0s 100ms" "limits probe_timeout 0s 1s"; do
	set -- $kv
	printf '%s:\n  %s: %s\n' "$1" "$2" "$3" >"$MD_TMP/d.yaml"
	run md-status -c "$MD_TMP/d.yaml"
	is "$rc" 78 "$1.$2: $3 is below its minimum (78)"
	like "$err" "d\\.yaml:2: $1\\.$2 $3 is below its minimum of $4" "$1.$2: $3: the key and the minimum"
done
printf 'worker:\n  lease: 5s\n  stall_timeout: 0s\n  poll_interval: 100ms\n' >"$MD_TMP/d.yaml"
run md-status -c "$MD_TMP/d.yaml"
is "$rc" 0 "the floors themselves load, and stall_timeout 0s turns the watchdog off" || diag "$err"
printf 'limits:\n  bytes: 18446744073709551616\n' >"$MD_TMP/d.yaml"
run md-status -c "$MD_TMP/d.yaml"
is "$rc" 78 "limits.bytes: 2^64 is a config error"
printf 'worker:\n  lease: 36525d\n  poll_interval: 1d\nlimits:\n  bytes: 18446744073709551615\n' \
	>"$MD_TMP/d.yaml"
run md-status -c "$MD_TMP/d.yaml"
is "$rc" 0 "the largest values load (36525d, 1d, UINT64_MAX bytes)" || diag "$err"

# --- md-enqueue --delay and --at --------------------------------------------------
for a in "--delay 1e308" "--delay 36526d" "--delay nan" "--delay -5s" \
	"--at 2030-01-01T00:00:00.5e300Z" "--at 5e300Z" "--at @1e300" "--at @99999999999999999999" \
	"--at 2023-02-29T00:00:00Z" "--at 10000-01-01T00:00:00Z" "--at 1969-12-31T23:59:59Z" \
	"--at @253402300800"; do
	# shellcheck disable=SC2086
	run md-enqueue $a -p thumb "$post"
	is "$rc" 64 "md-enqueue $a exits 64"
	like "$err" "bad ${a%% *} '" "md-enqueue $a: the message names the option"
done
is "$(db_count jobs)" 0 "no job rows from refused times"

if [ "$MD_BACKEND" = postgres ]; then
	epoch="extract(epoch FROM run_at)::bigint"
else
	epoch="CAST(strftime('%s', run_at) AS INTEGER)"
fi
run md-enqueue --at 2031-05-06T07:08:09Z -p thumb "$post"
is "$rc" 0 "md-enqueue --at 2031-05-06T07:08:09Z" || diag "$err"
is "$(db_query "SELECT $epoch FROM jobs")" 1935817689 "the job runs at exactly that time"
run md-enqueue -f --at 9999-12-31T23:59:59Z -p thumb "$post"
is "$rc" 0 "md-enqueue --at the last second of 9999" || diag "$err"
is "$(db_query "SELECT $epoch FROM jobs WHERE id = $(cut -f1 <<<"$out")")" 253402300799 \
	"stored as 9999-12-31T23:59:59Z"
run md-enqueue -f --at 2024-02-29T12:00:00+00:00 -p thumb "$post"
is "$(db_query "SELECT $epoch FROM jobs WHERE id = $(cut -f1 <<<"$out")")" 1709208000 \
	"a leap day with +00:00"
t0=$(date +%s)
run md-enqueue -f --delay 36525d -p thumb "$post"
t1=$(date +%s)
got=$(db_query "SELECT $epoch FROM jobs WHERE id = $(cut -f1 <<<"$out")")
ok "--delay 36525d: 100 years from now ($got)" \
	[ "$got" -ge $((t0 + 3155760000)) -a "$got" -le $((t1 + 3155760001)) ]

# --- other time options ---------------------------------------------------------
run md-work --grace 1e308 --drain
is "$rc" 64 "md-work --grace 1e308 exits 64"
run md-user token --ttl 1e308 nobody
is "$rc" 64 "md-user token --ttl 1e308 exits 64"
like "$err" "bad --ttl" "md-user names --ttl"
printf 'auth:\n  token_ttl: 1e308d\n' >"$MD_TMP/d.yaml"
run md-user -c "$MD_TMP/d.yaml" list
is "$rc" 78 "auth.token_ttl: 1e308d is a config error"

# --- md-enqueue's input: only the record's own post_id or media --------------------
n=$(db_count jobs)
printf '%s\n' '{"path":"x\"post_id\":'"$post"',","error":"not a readable media file"}' \
	'{"path":"\"media\":\"'"$sha"'\"","error":"bad"}' '{"post_id":'"$post"'' \
	>"$MD_TMP/lines"
run_in "$MD_TMP/lines" md-enqueue -f -p thumb
is "$rc|$(db_count jobs)" "0|$n" "a post_id or media quoted inside a record enqueues nothing"
printf '%s\n' '{"error":"x","post_id":'"$post"',"path":"a\"post_id\":999"}' >"$MD_TMP/lines"
run_in "$MD_TMP/lines" md-enqueue -f -p thumb
is "$rc|$(db_count jobs)" "0|$((n + 1))" "the record's own post_id is enqueued, wherever it stands"

done_testing
