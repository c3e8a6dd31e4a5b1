#!/bin/bash
# 86-disk-full.t - a job whose step fails because the disk is full is not
# the job's fault: md-work gives it back without spending an attempt (it
# does not die, however few attempts it has), says the disk is full, stops
# claiming for a while, and in a one-shot mode exits 74.  So is a step
# that says the disk is full and exits 0 all the same, as ffmpeg may: its
# truncated output is not published.  A one-shot md-work whose SQLite
# database is on a full disk waits a lease for room, then exits 75 (as
# root, in a private mount namespace).  Both backends.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/cfg.yaml
cat >"$CFG" <<EOF
worker:
  max_attempts: 1
  sandbox: false
profiles:
  full:
    kinds: [video, animated, image]
    steps:
      - [sh, -c, 'if [ -e "\$0" ]; then exit 0; fi;
                  echo "av_interleaved_write_frame(): No space left on device" >&2; exit 1',
         "$MD_TMP/room"]
  full0:
    kinds: [video, animated, image]
    output: out.mp4
    output_kind: file
    steps:
      - [sh, -c, 'head -c 4096 /dev/zero >"\$0";
                  echo "Error writing trailer of \$0: No space left on device" >&2; exit 0',
         "{output}"]
EOF
export MD_CONFIG=$CFG
run md-db init
run md-ingest "$IN/still.png"
sha=$(sha256 "$IN/still.png")
run md-enqueue -p full "$sha"
job=$(cut -f1 <<<"$out")

run md-work --drain
is "$rc" 74 "md-work --drain exits 74 when the disk was full" || diag "$err"
like "$err" "disk full" "it says the disk is full"
like "$err" "1 job given back: the disk is full" "and how many jobs it gave back"
is "$(db_query "SELECT state || ' ' || attempts FROM jobs WHERE id = $job")" "available 0" \
	"the job is available again, no attempt spent (max_attempts is 1)"
is "$out" "claimed=1 succeeded=0 retried=0 dead=0 released=1" "the summary counts it released"

touch "$MD_TMP/room"
run md-work --drain
is "$rc" 0 "with room again, md-work --drain exits 0" || diag "$err"
is "$(db_query "SELECT state || ' ' || attempts FROM jobs WHERE id = $job")" "succeeded 1" \
	"and the job succeeds"

# a step that says the disk is full but exits 0: nothing is published
run md-enqueue -p full0 "$sha"
job=$(cut -f1 <<<"$out")
run md-work --drain
is "$rc" 74 "a step that exits 0 saying 'No space left on device': md-work exits 74" ||
	diag "$err"
is "$(db_query "SELECT state || ' ' || attempts FROM jobs WHERE id = $job")" "available 0" \
	"its job is given back, no attempt spent"
is "$(find "$MD_HOME/storage/renditions" -path "*/full0/*" -type f 2>/dev/null | wc -l)" 0 \
	"and its truncated output is not published"

# the database on a full disk: a one-shot worker does not wait forever
if [ "$(id -u)" = 0 ] && have unshare && [ -z "${MD_TEST_PGHOST-}" ]; then
	# the disk fills while the worker's job runs: its outcome cannot be
	# recorded
	cat >"$MD_TMP/dbfull.sh" <<'EOF'
set -e
mount -t tmpfs -o size=4m tmpfs "$1"
export MD_DB="sqlite:$1/md.db"
md-db -q init
md-ingest -q --enqueue slow "$2" >/dev/null
set +e
timeout 60 md-work --drain -q --grace 1s >/dev/null 2>"$3" &
w=$!
until [ "$(sqlite3 "$1/md.db" "SELECT state FROM jobs" 2>/dev/null)" = running ]; do :; done
head -c 8m /dev/zero >"$1/filler" 2>/dev/null
wait $w
echo "rc=$?"
EOF
	mkdir -p "$MD_TMP/dbfull"
	printf 'worker:\n  lease: 5s\n  sandbox: false\nprofiles:\n  slow:\n    steps:\n      - [sleep, "2"]\n' \
		>"$MD_TMP/dbfull.yaml"
	run env MD_CONFIG="$MD_TMP/dbfull.yaml" MD_HOME="$MD_TMP/dbfull-home" \
		unshare -m --propagation private bash "$MD_TMP/dbfull.sh" "$MD_TMP/dbfull" \
		"$IN/still.png" "$MD_TMP/dbfull.err"
	is "$out" "rc=75" "md-work --drain with its database on a full disk exits 75 after a lease" ||
		diag "$out $err $(tail -n 5 "$MD_TMP/dbfull.err")"
	like "$(cat "$MD_TMP/dbfull.err")" "disk full" "it says the disk is full"
	like "$(cat "$MD_TMP/dbfull.err")" "database unavailable for a lease" "and that it gives up"
	n=$(grep -c "disk full" "$MD_TMP/dbfull.err")
	ok "it is said once, not once a second (said $n times)" test "$n" -le 2
else
	skip "the database on a full disk needs root, unshare(1) and SQLite" 4
fi

done_testing
