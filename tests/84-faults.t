#!/bin/bash
# 84-faults.t - a write, rename, fsync or temp file creation that fails
# (MD_FAULT, lib/fault.h) leaves nothing behind: md-ingest stops with exit
# 74 and a message naming the file, with no row, no stored file and no temp
# file for the input it was storing, while the inputs before it are whole;
# md-work's publish of a rendition folder fails the job for a retry, with
# nothing of the folder stored and no temp or scratch file, while the other
# job of the same run is published.  The binaries must be built with the
# switch (make FAULTS=1, or SANITIZE=1 as make check does); else skipped.
. "$(dirname "$0")/lib.sh"
md_require_tools
grep -qa 'MD_FAULT' "$MD_ROOT/md-ingest" ||
	plan skip_all "md-ingest has no fault injection: build with make FAULTS=1 or SANITIZE=1"
md_setup

CFG=$MD_TMP/faults.yaml
cat >"$CFG" <<'EOF2'
# written by 84-faults.t
worker:
  retry_base: 0s
  retry_max: 0s
  max_attempts: 5
profiles:
  one:
    kinds: [image]
    output: one.txt
    steps:
      - [sh, -c, "echo one > {output}"]
  two:
    kinds: [image]
    output: a.txt
    steps:
      - [sh, -c, "echo a > {outdir}/a.txt && echo b > {outdir}/b.txt"]
EOF2
run md-db -c "$CFG" init
is "$rc" 0 "md-db init" || diag "$err"

n=0
# new_png: PNG=a small PNG of new content (one read, one write of it)
new_png() {
	n=$((n + 1))
	PNG=$MD_TMP/in-$n.png
	ffmpeg -nostdin -loglevel error -f lavfi -i "testsrc2=size=$((16 + 2 * n))x24" \
		-frames:v 1 "$PNG" || BAIL_OUT "ffmpeg failed"
}

leftovers() { find "$STORE/tmp" "$STORE/work" -mindepth 1 2>/dev/null | wc -l; }

# ingest_fault SPEC ERE: a then b; the fault hits b
ingest_fault() {
	local spec=$1 want=$2 a b sa sb
	new_png; a=$PNG
	new_png; b=$PNG
	sa=$(sha256 "$a") sb=$(sha256 "$b")
	MD_FAULT=$spec run md-ingest -c "$CFG" "$a" "$b"
	is "$rc" 74 "$spec: md-ingest exits 74 (EX_IOERR)" || diag "$err"
	like "$err" "tool=md-ingest msg=\"$want\"" "$spec: the message says what could not be done and why"
	is "$(db_count media "sha256 = '$sb'")/$(db_count posts "media = '$sb'")" 0/0 \
		"$spec: no row for the input that failed"
	is "$(count_files "$STORE/originals/$(shard "$sb" | cut -d/ -f1-2)")" 0 \
		"$spec: no stored file for it"
	is "$(leftovers)" 0 "$spec: no temp file"
	is "$(db_count posts "media = '$sa'")" 1 "$spec: the input before it is recorded"
	ok "$spec: and its original is stored" test -s "$STORE/originals/$(shard "$sa").png"
}

# A small file is one temp file (open), one write, then stored: fsync of
# the file, rename, fsync of its directory.  The second file's calls:
ingest_fault open:2:EIO "cannot create a temp file in '$STORE/tmp': Input/output error"
ingest_fault write:2:ENOSPC "cannot write '$STORE/tmp/\.in-[^']*': No space left on device"
ingest_fault fsync:3:EIO "cannot publish '$STORE/originals/[^']*\.png': Input/output error"
ingest_fault rename:2:ENOSPC "cannot publish '$STORE/originals/[^']*\.png': No space left on device"
ingest_fault fsync:4:EIO "cannot publish '$STORE/originals/[^']*\.png': Input/output error"

new_png
run md-ingest -c "$CFG" "$PNG"
is "$rc" 0 "without MD_FAULT the same binary ingests" || diag "$err"

# work_fault SPEC: jobs one (1 file) and two (2 files) on a new image; the
# fault hits the publish of two only (each runner counts from the fork)
work_fault() {
	local spec=$1 f s j
	new_png; f=$PNG
	s=$(sha256 "$f")
	run md-ingest -c "$CFG" -e one,two "$f"
	is "$rc" 0 "$spec: ingest with jobs one and two" || diag "$err"
	MD_FAULT=$spec run md-work -c "$CFG" --once -j 2
	is "$rc" 0 "$spec: md-work exits 0" || diag "$err"
	is "$out" "claimed=2 succeeded=1 retried=1 dead=0 released=0" "$spec: one job published, one retried"
	j="media = '$s' AND profile = 'two'"
	is "$(db_query "SELECT state FROM jobs WHERE $j")" available "$spec: two is back for a retry"
	like "$(db_query "SELECT last_error FROM jobs WHERE $j")" \
		"^cannot publish '$STORE/renditions/[^']*/two[^']*': Input/output error" \
		"$spec: its last_error says why"
	is "$(count_files "$STORE/renditions/$(shard "$s")/two")" 0 "$spec: nothing of its folder is stored"
	is "$(leftovers)" 0 "$spec: no temp file, no scratch directory"
	is "$(db_query "SELECT state FROM jobs WHERE media = '$s' AND profile = 'one'")" succeeded \
		"$spec: the other job of the run succeeded"
	ok "$spec: and its rendition is stored" test -s "$(run_dir "$s" one)/one.txt"
	run md-work -c "$CFG" --drain
	is "$(db_query "SELECT state FROM jobs WHERE $j")" succeeded "$spec: the retry succeeds" ||
		diag "$err"
	is "$(cd "$(run_dir "$s" two)" && echo *)" "a.txt b.txt" \
		"$spec: and stores the whole folder"
}

# publishing a folder: each file fsynced and renamed into a staging
# folder, its directory fsynced, then the folder renamed into place and its
# parent fsynced.  one: 2 renames, 3 fsyncs; two: 3 renames, 5 fsyncs.
work_fault rename:3:EIO      # the folder into place
work_fault fsync:4:EIO       # two's second file
work_fault fsync:5:EIO       # the parent of the folder: undone

run md-finalize -c "$CFG"
is "$rc" 0 "md-finalize registers what was published" || diag "$err"
is "$(db_count renditions)" "$(db_count jobs "state = 'succeeded'")" "one rendition row per succeeded job"
done_testing
