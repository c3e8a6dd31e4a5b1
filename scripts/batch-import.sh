#!/bin/sh
# batch-import.sh DIR [PROFILES] - import a directory tree in parallel:
# GNU parallel runs one md-ingest per batch of files (NUL-separated names,
# so any file name works); each post is made with its jobs for PROFILES
# (default mp4,thumb) in one transaction.
#   batch-import.sh ~/inbox mp4,thumb
# Extra md-ingest options go in MD_INGEST_OPTS (e.g. "--user alice --tag cats").
#
# After a failure or a kill, run it again as it was: with --skip-posted,
# a file whose media the owner posted already is reported as that post
# and not posted again, and it is not probed again either.
#
# Standard output: one JSON record per file, as md-ingest --json prints
# them (a post, with "exists": true for a file posted before, or a
# rejection).  Standard error, on a terminal: "N/M files" as they are
# done, then a summary.
#
# Exit status, as md-ingest's: 0 every file posted (or posted before),
# 1 some rejected, 65 every file rejected, none found, or no such
# directory, 69 without GNU parallel, 74 standard output not written,
# otherwise the first failure of an md-ingest (128+N when killed by
# signal N).
#
# The paths are given relative to DIR, from inside it: md-ingest refuses a
# path that goes through a symbolic link, and so only the part of each path
# that uploaders control is checked (a link in the path to DIR is the
# admin's own).
set -eu
me=batch-import.sh
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: $me DIR [PROFILES]" >&2
	exit 64
fi
dir=$1
profiles=${2:-mp4,thumb}
jobs=${MD_IMPORT_JOBS:-$(nproc)}
command -v parallel >/dev/null 2>&1 || { echo "$me: GNU parallel is not installed" >&2; exit 69; }
if [ ! -d "$dir" ]; then
	why="No such file or directory"
	[ -e "$dir" ] && why="Not a directory"
	echo "$me: cannot open '$dir': $why" >&2
	exit 65
fi
cd -- "$dir" 2>/dev/null || { echo "$me: cannot open '$dir': Permission denied" >&2; exit 65; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/batch-import.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

listed=0
find . -type f -print0 >"$tmp/files" || listed=1   # find named what it could not read
total=$(tr -cd '\000' <"$tmp/files" | wc -c)
if [ "$total" -eq 0 ]; then
	echo "$me: no file to import in '$dir'" >&2
	exit 65
fi
tty=0
[ -t 2 ] && tty=1

# every record out as it comes; on a terminal, the count of files done
out=0
# shellcheck disable=SC2086
{
	rc=0
	parallel -0 -X -j "$jobs" --line-buffer --joblog "$tmp/joblog" \
		md-ingest -q --json --skip-posted -e "$profiles" ${MD_INGEST_OPTS:-} -- \
		<"$tmp/files" || rc=$?
	echo "$rc" >"$tmp/parallel.rc"
} | awk -v total="$total" -v tty="$tty" -v me="$me" '
	{ print; n++ }
	/^\{"path":/ { bad++ }
	/"exists":true/ { old++ }
	tty { printf "\r%d/%d files", n, total > "/dev/stderr"; fflush("/dev/stderr") }
	END {
		if (tty)
			printf "\r%s: %d/%d files: %d posted, %d posted before, %d rejected\n",
				me, n, total, n - bad - old, old, bad > "/dev/stderr"
	}' || out=$?
if [ "$out" -ne 0 ]; then
	echo "$me: cannot write standard output" >&2
	exit 74
fi

# the exit status of the batches (joblog: Exitval is field 7, Signal 8)
status=$(awk -F '\t' 'NR > 1 {
		c = $8 ? 128 + $8 : $7
		if (c != 0 && c != 1 && c != 65) { if (!fatal) fatal = c; next }
		seen[c]++; n++
	}
	END {
		if (fatal) print fatal
		else if (!n) print 70
		else if (seen[0] == n) print 0
		else if (seen[65] == n) print 65
		else print 1
	}' "$tmp/joblog" 2>/dev/null) || :
status=${status:-70}
if [ "$status" -eq 70 ]; then
	echo "$me: GNU parallel ran no md-ingest (exit status $(cat "$tmp/parallel.rc"))" >&2
	exit 70
fi
[ "$status" -eq 0 ] && [ "$listed" -ne 0 ] && status=1
exit "$status"
