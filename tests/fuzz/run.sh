#!/bin/sh
# run.sh SECONDS FUZZER... - run each libFuzzer target for SECONDS.
#
# Each target tests/fuzz/fuzz-NAME starts from the seeds committed in
# tests/fuzz/corpus/NAME/ and a scratch corpus that is thrown away; a
# crash, a leak, a sanitizer report or a timeout fails the run, and the
# input that caused it is kept in tests/fuzz/crashes/ and named on stderr.
set -u
[ $# -ge 2 ] || { echo "usage: run.sh SECONDS FUZZER..." >&2; exit 64; }
secs=$1
shift
cd "$(dirname "$0")/../.."
status=0
work=$(mktemp -d /tmp/md-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p tests/fuzz/crashes
for bin in "$@"; do
	name=${bin##*/fuzz-}
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$work/$name"
	printf 'fuzz %s: %ss\n' "$name" "$secs"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -print_final_stats=0 \
		-artifact_prefix="tests/fuzz/crashes/$name-" \
		"$work/$name" $( [ -d "$seeds" ] && echo "$seeds" ) \
		>"$work/$name.log" 2>&1; then
		tail -n 40 "$work/$name.log" >&2
		echo "fuzz $name: FAILED (input kept in tests/fuzz/crashes/)" >&2
		status=1
	else
		grep -E '^(Done|#[0-9]+.*DONE)' "$work/$name.log" | tail -n 1
	fi
done
exit $status
