#!/bin/bash
# 86-disk-full.t - a job whose step fails because the disk is full is not
# the job's fault: md-work gives it back without spending an attempt (it
# does not die, however few attempts it has), says the disk is full, stops
# claiming for a while, and in a one-shot mode exits 74.  Both backends.
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

done_testing
