#!/bin/sh
# run.sh - what `make check` runs:
#   1. the build, with -Wall -Wextra -Werror
#   2. the library's unit tests and the whole TAP suite on SQLite
#   3. the suite again on PostgreSQL (but the files that ask nothing of a
#      database), in a throwaway cluster on a Unix socket (skipped only
#      when the backend is not built in)
#   4. the unit tests and the fast tool tests in a separate AddressSanitizer
#      + UBSan build (make SANITIZE=1), on SQLite and (some of them) on
#      PostgreSQL; that build has fault injection (lib/fault.h), so
#      84-faults.t runs there; 94-s3-faults.t runs the S3 storage's
#      retries, aborts and errors under them.  A file the sanitizer build
#      runs on a backend is left out of that backend's pass above: it
#      checks the same and more there, and the suite runs each file once
#      per backend.
#   5. a short run of every fuzz target (make fuzz, FUZZ_TIME=3), two at
#      a time on two cores
# The test files run three at a time (prove -j, MD_TEST_JOBS, default 3):
# on two cores the third takes the time the others spend waiting on
# PostgreSQL, the S3 server or the disk (the suites keep the cores about
# 80% busy two at a time).  Each has its own temp directory and database,
# and waits on conditions, not on time; the files that restart the shared PostgreSQL cluster
# (48-db-outage, 55-finalize-follow) run alone.
# Every step runs even when an earlier one failed; the exit status is
# non-zero if any failed.  The cluster is stopped whatever happens.
set -u
cd "$(dirname "$0")/.."
root=$(pwd)
jobs=${MD_TEST_JOBS:-3}
status=0
pgdir=
sandir=
samples=

cleanup() {
	[ -n "$pgdir" ] && sh tests/pg-cluster.sh stop "$pgdir" >/dev/null 2>&1
	[ -n "$sandir" ] && rm -rf "$sandir"
	[ -n "$samples" ] && rm -rf "$samples"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n### %s\n' "$*"; }

# The test files of the arguments, the longest first (they transcode real
# files), so that two of them do not end the run alone
longest_first() {
	for t in tests/60-corpus.t tests/89-hls.t tests/87-frames-web.t \
		tests/78-timing-colour.t tests/85-torture-short.t tests/93-s3-pipeline.t \
		tests/94-s3-faults.t; do
		printf '%s\n' "$@" | grep -qxF "$t" && echo "$t"
	done
	printf '%s\n' "$@" | grep -vxF -e tests/60-corpus.t -e tests/89-hls.t \
		-e tests/87-frames-web.t -e tests/78-timing-colour.t -e tests/85-torture-short.t \
		-e tests/93-s3-pipeline.t -e tests/94-s3-faults.t
}

# The files the sanitizer build runs (step 4), on SQLite and on PostgreSQL
sanitized=$(printf 'tests/%s.t\n' 16-store-conform 20-dedup 71-auth-handler 25-enqueue \
	30-bad-input 35-job 38-status 39-user 40-retry-dead 49-workers 50-config-db-errors \
	84-faults 86-disk-full 94-s3-faults)
sanitized_pg=$(printf 'tests/%s.t\n' 16-store-conform 25-enqueue 35-job 84-faults)

step "build"
make --no-print-directory -j"$jobs" all tests/unit/test-lib tests/unit/conform tests/unit/presign tests/unit/source-check || exit 1

# the sample media, made once for every test that asks (tests/lib.sh:
# md_samples copies them): the same files each test would make itself
samples=$(mktemp -d /tmp/md-samples.XXXXXX) && chmod 755 "$samples" &&
	sh scripts/make-samples.sh "$samples/good" >/dev/null && : >"$samples/good.done" &&
	sh scripts/make-samples.sh --bad "$samples/bad" >/dev/null && : >"$samples/bad.done" &&
	chmod -R a+rX "$samples" && export MD_TEST_SAMPLES="$samples"

step "unit tests"
prove tests/unit/test-lib || status=1

step "suite on SQLite"
prove --timer -j"$jobs" $(longest_first $(ls tests/*.t | grep -vxF "$sanitized")) || status=1

step "suite on PostgreSQL"
if ./md-db --db 'postgresql:///nonexistent?host=/nonexistent' status 2>&1 |
	grep -q 'not built'; then
	echo "skipped: the PostgreSQL backend is not built in"
else
	pgdir=$(mktemp -d /tmp/md-pg.XXXXXX)
	# the client programs themselves, not postgresql-common's wrapper (a
	# Perl script before each psql)
	if bindir=$(sh tests/pg-cluster.sh bindir) && [ -x "$bindir/psql" ]; then
		PATH=$bindir:$PATH
	fi
	if sock=$(sh tests/pg-cluster.sh start "$pgdir"); then
		# the files that restart the cluster run alone, after the others;
		# the SQLite pass alone has the files that ask nothing of the
		# database the others do not: the media rules' transcodes and
		# output checks (70, 77, 78, 79), the frames, web and hls
		# profiles' outputs (87, 89: 93-s3-pipeline runs the three on
		# PostgreSQL, and reads what the database says of them), the
		# build (00) and the S3 signatures (92)
		alone=$(grep -l 'pg-cluster.sh" restart' tests/*.t)
		once=$(printf 'tests/%s.t\n' 70-media-edges 77-verify 78-timing-colour 79-decodable \
			87-frames-web 89-hls 00-build 92-sigv4-server)
		MD_TEST_PGHOST=$sock prove --timer -j"$jobs" \
			$(longest_first $(ls tests/*.t | grep -vxF "$alone" | grep -vxF "$once" |
				grep -vxF "$sanitized_pg")) ||
			status=1
		MD_TEST_PGHOST=$sock prove $alone || status=1
	else
		echo "cannot start a PostgreSQL cluster" >&2
		status=1
	fi
fi

step "sanitizers (ASan + UBSan): unit tests and fast tool tests"
sandir=$(mktemp -d /tmp/md-san.XXXXXX)
cp -R Makefile lib tools tests scripts sql man completions "$sandir"/
(cd "$sandir" && make --no-print-directory clean >/dev/null &&
	make --no-print-directory -j"$jobs" SANITIZE=1 all tests/unit/test-lib tests/unit/conform >/dev/null) || status=1
ASAN_OPTIONS=abort_on_error=0:detect_leaks=1:exitcode=99
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS
(cd "$sandir" && prove --timer -j"$jobs" tests/unit/test-lib $(longest_first $sanitized)) ||
	status=1
if [ -n "${sock-}" ]; then
	# the PostgreSQL driver's code: every store call (16), the bulk
	# statements (25), the job commands (35) and the faults (84); the
	# tools' own code had its sanitizer run above
	step "sanitizers on PostgreSQL: the driver's tests"
	(cd "$sandir" && MD_TEST_PGHOST=$sock prove --timer -j"$jobs" $sanitized_pg) || status=1
fi

step "fuzz targets, 3 s each"
if make --no-print-directory -j"$jobs" fuzz-build >/dev/null; then
	fuzzers=$(ls tests/fuzz/fuzz-*.c 2>/dev/null | sed 's/\.c$//')
	[ -z "$fuzzers" ] || sh tests/fuzz/run.sh 3 $fuzzers || status=1
else
	status=1
fi

exit $status
