#!/bin/sh
# batch-import.sh DIR [PROFILES] - import a directory tree in parallel:
# GNU parallel runs one md-ingest per batch of files (NUL-separated names,
# so any file name works); each post is made with its jobs for PROFILES
# (default mp4,thumb) in one transaction.
#   batch-import.sh ~/inbox mp4,thumb
# Extra md-ingest options go in MD_INGEST_OPTS (e.g. "--user alice --tag cats");
# MD_IMPORT_JOBS md-ingests run at once (default: the cores), each given
# at most MD_IMPORT_BATCH files (default 16).
#
# After a failure or a kill, run it again as it was: with --skip-posted,
# a file whose media the owner posted already is reported as that post
# and not posted again, and it is not probed again either.
#
# Standard output: one JSON record per file, as md-ingest --json prints
# them (a post, with "exists": true for a file posted before, or a
# rejection).  Standard error: on a terminal, GNU parallel's progress bar
# (the batches done, an ETA); at the end, a summary:
#   batch-import.sh: 6/6 files in 3 s: 3 posted (1 duplicate media), 2 posted before, 1 rejected
# (a duplicate media: a new post of a media stored already; posted before:
# the owner's post of it, reported, none added; "N not done" follows when
# an md-ingest failed before it reported every file of its batch).
#
# Exit status, as md-ingest's: 0 every file posted (or posted before),
# 1 some rejected, 65 every file rejected or none found, 64 a usage
# error or a DIR that cannot be opened, 69 without GNU parallel, 74
# standard output not written, otherwise the first failure of an
# md-ingest (128+N when killed by signal N).
#
# The paths are given relative to DIR, from inside it: md-ingest refuses a
# path that goes through a symbolic link, and so only the part of each path
# that uploaders control is checked (a link in the path to DIR is the
# admin's own).
set -eu
me=batch-import.sh
usage="usage: $me DIR [PROFILES]"
case ${1-} in
-h|--help)
	echo "$usage"
	echo "import every file below DIR with md-ingest --skip-posted, PROFILES (default"
	echo "mp4,thumb) enqueued; run it again as it was after a failure"
	exit 0 ;;
esac
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "$usage" >&2
	exit 64
fi
dir=$1
profiles=${2:-mp4,thumb}
jobs=${MD_IMPORT_JOBS:-$(nproc)}
batch=${MD_IMPORT_BATCH:-16}
command -v parallel >/dev/null 2>&1 || { echo "$me: GNU parallel is not installed" >&2; exit 69; }
# DIR is the one operand: one that cannot be opened is a usage error
if [ ! -d "$dir" ]; then
	why="No such file or directory"
	[ -e "$dir" ] && why="Not a directory"
	printf "%s: cannot open '%s': %s\n%s\n" "$me" "$dir" "$why" "$usage" >&2
	exit 64
fi
cd -- "$dir" 2>/dev/null || {
	printf "%s: cannot open '%s': Permission denied\n%s\n" "$me" "$dir" "$usage" >&2
	exit 64
}
started=$(date +%s)

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
# on a terminal (not in a pipe), GNU parallel's bar: batches done, ETA
bar=
[ -t 2 ] && bar=--bar

# every record out as it comes, counted for the summary
out=0
# shellcheck disable=SC2086
{
	rc=0
	parallel -0 -X -n "$batch" -j "$jobs" $bar --line-buffer --joblog "$tmp/joblog" \
		md-ingest -q --json --skip-posted -e "$profiles" ${MD_INGEST_OPTS:-} -- \
		<"$tmp/files" || rc=$?
	echo "$rc" >"$tmp/parallel.rc"
} | awk -v counts="$tmp/counts" '
	{ print; n++ }
	/^\{"path":/ { bad++ }
	/"exists":true/ { old++; next }
	/"dup":true/ { dup++ }
	END { printf "%d %d %d %d\n", n, bad, old, dup > counts }' || out=$?
if [ "$out" -ne 0 ]; then
	echo "$me: cannot write standard output" >&2
	exit 74
fi
read -r n bad old dup <"$tmp/counts" || n=0 bad=0 old=0 dup=0
left=
[ "$n" -lt "$total" ] && left=", $((total - n)) not done"
echo "$me: $n/$total files in $(($(date +%s) - started)) s: $((n - bad - old)) posted" \
	"($dup duplicate media), $old posted before, $bad rejected$left" >&2

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
