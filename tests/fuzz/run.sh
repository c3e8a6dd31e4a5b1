#!/bin/sh
# run.sh SECONDS FUZZER... - run each libFuzzer target for SECONDS.
#
# Each target tests/fuzz/fuzz-NAME starts from the seeds committed in
# tests/fuzz/corpus/NAME/ and a scratch corpus that is thrown away; a
# crash, a leak, a sanitizer report or a timeout fails the run, and the
# input that caused it is kept in tests/fuzz/crashes/ and named on stderr.
# MD_FUZZ_JOBS targets run at once (default: the number of cores); their
# reports come in the order of the arguments.
set -u
[ $# -ge 2 ] || { echo "usage: run.sh SECONDS FUZZER..." >&2; exit 64; }
secs=$1
shift
cd "$(dirname "$0")/../.."
jobs=${MD_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
status=0
work=$(mktemp -d /tmp/md-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p tests/fuzz/crashes

# fuzz BIN: one target's run; its exit status in $work/NAME.rc
fuzz() {
	name=${1##*/fuzz-}
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$work/$name"
	"$1" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=0 \
		-artifact_prefix="tests/fuzz/crashes/$name-" \
		"$work/$name" $( [ -d "$seeds" ] && echo "$seeds" ) \
		>"$work/$name.log" 2>&1
	echo $? >"$work/$name.rc"
}

# report BIN: what its run said
report() {
	name=${1##*/fuzz-}
	printf 'fuzz %s: %ss\n' "$name" "$secs"
	if [ "$(cat "$work/$name.rc" 2>/dev/null)" != 0 ]; then
		tail -n 40 "$work/$name.log" >&2
		echo "fuzz $name: FAILED (input kept in tests/fuzz/crashes/)" >&2
		status=1
	else
		grep -E '^(Done|#[0-9]+.*DONE)' "$work/$name.log" | tail -n 1
	fi
}

while [ $# -gt 0 ]; do
	batch= n=0
	while [ $# -gt 0 ] && [ "$n" -lt "$jobs" ]; do
		batch="$batch $1" n=$((n + 1))
		fuzz "$1" &
		shift
	done
	wait
	for bin in $batch; do report "$bin"; done
done
exit $status
