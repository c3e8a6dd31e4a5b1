#!/bin/bash
# tests/bench/s3.sh - the S3 storage's figures of `make bench`, printed as
# run.sh prints its own (figure, memedroid, baseline, ratio):
#
#   upload     MiB/s of storing a 256 MiB original through lib/storage.h
#              (tests/unit/storage-cp put: the file hard-linked into the
#              scratch directory, so no copy is timed; a multipart upload
#              in parts of storage.part_size, default 16 MiB), beside the
#              curl CLI's one signed PUT of the same file, the SHA-256 of
#              its x-amz-content-sha256 header included (the library hashes
#              the body too; both by OpenSSL: `openssl dgst`, as coreutils'
#              sha256sum is several times slower and would flatter the
#              library)
#   one PUT    the same upload with part_size above the file's size: one
#              PUT, as curl makes, which tells the library's own cost from
#              the server's assembling of a multipart upload (s3rver copies
#              every part into the object at CompleteMultipartUpload: about
#              2 s of 256 MiB here, which a real store does not spend)
#   download   MiB/s of fetching it (storage-cp get: storage_fetch into a
#              directory) beside curl's signed GET into a file
#
# Each transfer starts after a sync, with no dirty pages of the one before.
# The ratios are memedroid's throughput over curl's: the goal is at least
# 0.9.  The server is s3rver on 127.0.0.1 (tests/s3-server.sh), in a temp
# directory, stopped at exit; both sides speak to the same server, run for
# run, the one first in one run going second in the next.  Every download
# is checked against the source's sha256: a run that reads back other
# bytes fails the bench.  Skipped, saying why, without Node.js and npm (or
# when the server cannot be installed or started).
#
# Run by run.sh, or alone.  Environment: MD_BENCH_RUNS (medians of how many
# runs, default 5), MD_BENCH_S3_MIB (the original's size, 256).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
root=$(pwd)
RUNS=${MD_BENCH_RUNS:-5}
MIB=${MD_BENCH_S3_MIB:-256}
cp_bin=$root/tests/unit/storage-cp

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "# s3: skipped (no Node.js/npm for the S3 server, tests/s3-server.sh)"
	exit 0
fi
[ -x "$cp_bin" ] || { echo "bench: tests/unit/storage-cp is not built (make tests/unit/storage-cp)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/md-bench-s3.XXXXXX)
cleanup() {
	sh tests/s3-server.sh stop "$tmp/s3" >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! endpoint=$(sh tests/s3-server.sh start "$tmp/s3" 2>"$tmp/s3.err"); then
	echo "# s3: skipped (no S3 server: $(tail -n 1 "$tmp/s3.err"))"
	exit 0
fi
# the server's settings only: none of the caller's AWS_* over them
unset AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN AWS_DEFAULT_REGION
. "$tmp/s3/env"
bucket=md-bench
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
# s3curl CURL-ARG...: the curl CLI, signing with SigV4
s3curl() {
	curl -sS -f --aws-sigv4 "aws:amz:$AWS_REGION:s3" -u "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" "$@"
}
s3curl -H "x-amz-content-sha256: $EMPTY" -X PUT "$endpoint/$bucket" -o /dev/null

sha() { openssl dgst -sha256 -r "$1" | cut -c1-64; }
rate() { awk -v m="$MIB" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", m / (b - a) }'; }

src=$tmp/original.bin
head -c $((MIB << 20)) /dev/urandom >"$src"
sum=$(sha "$src")
mkdir -p "$tmp/scratch" "$tmp/get"
# both sides read the original from the page cache
cat "$src" >/dev/null

# Each prints MiB/s.  Both downloads read the object the library's last
# multipart upload made, so they check that upload as well.
lib_put() {  # lib_put [-p PART_SIZE]
	local t0 t1
	sync
	t0=$(now)
	"$cp_bin" "$@" "s3://$bucket" "$tmp/scratch" put "$src" originals/lib.bin
	t1=$(now)
	rate "$t0" "$t1"
}
lib_put1() { lib_put -p 5GiB; }  # S3's largest part: one PUT
curl_put() {
	local t0 t1 h
	sync
	t0=$(now)
	h=$(sha "$src")
	s3curl -H "x-amz-content-sha256: $h" -T "$src" "$endpoint/$bucket/originals/curl.bin" -o /dev/null
	t1=$(now)
	rate "$t0" "$t1"
}
# check FILE WHO: the bytes read back are the original's
check() {
	[ "$(sha "$1")" = "$sum" ] ||
		{ echo "bench: $2 read back other bytes than the original's" >&2; exit 1; }
	rm -rf "$tmp/get"/*
}
lib_get() {
	local t0 t1 p
	sync
	t0=$(now)
	p=$("$cp_bin" "s3://$bucket" "$tmp/scratch" get originals/lib.bin "$tmp/get")
	t1=$(now)
	check "$p" storage-cp
	rate "$t0" "$t1"
}
curl_get() {
	local t0 t1
	sync
	t0=$(now)
	s3curl -H "x-amz-content-sha256: $EMPTY" -o "$tmp/get/curl.bin" "$endpoint/$bucket/originals/lib.bin"
	t1=$(now)
	check "$tmp/get/curl.bin" curl
	rate "$t0" "$t1"
}

# runs F G: RUNS runs of F and of G, the first of them alternating, so that
# a noisy spell (or the disk writing back the run before) falls on both
# sides; prints "median(F) median(G)"
runs() {
	local f=$1 g=$2 r a= b=
	for ((r = 0; r < RUNS; r++)); do
		if ((r % 2)); then
			b="$b $("$g")"
			a="$a $("$f")"
		else
			a="$a $("$f")"
			b="$b $("$g")"
		fi
	done
	printf '%s %s\n' "$(printf '%s\n' $a | median)" "$(printf '%s\n' $b | median)"
}

printf '# s3: a %s MiB original, s3rver %s on 127.0.0.1, curl %s, median of %s runs\n' "$MIB" \
	"$(cd "${MD_TEST_CACHE:-/var/tmp/memedroid-test-cache}/s3" &&
		node -p 'require("@20minutes/s3rver/package.json").version' 2>/dev/null || echo '?')" \
	"$(curl --version | awk 'NR == 1 { print $2 }')" "$RUNS"
# the one PUT first: the multipart upload makes the object read back below
read -r m1 c1 < <(runs lib_put1 curl_put)
read -r m c < <(runs lib_put curl_put)
printf '%-44s %12s %12s %7s\n' "S3 upload, MiB/s (vs curl -T)" "$m" "$c" "$(ratio "$m" "$c")"
printf '%-44s %12s %12s %7s\n' "S3 upload as one PUT, MiB/s (vs curl -T)" "$m1" "$c1" "$(ratio "$m1" "$c1")"
read -r m c < <(runs lib_get curl_get)
printf '%-44s %12s %12s %7s\n' "S3 download, MiB/s (vs curl -o)" "$m" "$c" "$(ratio "$m" "$c")"
