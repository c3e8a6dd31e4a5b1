#!/bin/sh
# batch-import.sh DIR [PROFILES] - import a directory tree in parallel:
# GNU parallel runs one md-ingest per batch of files (NUL-separated names,
# so any file name works), then every new post is enqueued.
#   batch-import.sh ~/inbox mp4,thumb
# Extra md-ingest options go in MD_INGEST_OPTS (e.g. "--user alice --tag cats").
# The paths are given relative to DIR, from inside it: md-ingest refuses a
# path that goes through a symbolic link, and so only the part of each path
# that uploaders control is checked (a link in the path to DIR is the
# admin's own).
set -eu
[ $# -ge 1 ] || { echo "usage: batch-import.sh DIR [PROFILES]" >&2; exit 64; }
dir=$1
profiles=${2:-mp4,thumb}
jobs=${MD_IMPORT_JOBS:-$(nproc)}
cd -- "$dir"
# shellcheck disable=SC2086
find . -type f -print0 |
	parallel -0 -X -j "$jobs" md-ingest -q ${MD_INGEST_OPTS:-} -- |
	md-enqueue -q -p "$profiles" -
