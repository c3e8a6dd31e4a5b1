#!/bin/bash
# 47-fencing.t - every run of a job is fenced on its claim: a cancelled
# running job is stopped within a heartbeat and nothing of it is published;
# a worker paused past its lease (SIGSTOP) has its late result refused by
# the database and its files removed, while the run that took over is the
# registered rendition.  Both backends.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/cfg.yaml
# The step waits for a gate file; it writes its pid (the shell's: it runs
# the loop) beside it, outside its work directory, which the sandbox would
# not allow.
cat >"$CFG" <<EOF
worker:
  lease: 5s
  poll_interval: 200ms
  sandbox: false
profiles:
  gated:
    kinds: [video, animated, image]
    output: out.txt
    steps:
      - [sh, -c, 'echo \$\$ >"\$1.pid"; while [ ! -e "\$1.go" ]; do sleep 0.05; done; echo done >"\$2"',
         sh, "$MD_TMP/run", "{output}"]
EOF
run md-db -c "$CFG" init
run md-ingest -c "$CFG" "$IN/still.png"
sha=$(sha256 "$IN/still.png")
q() { db_query "SELECT $1 FROM jobs WHERE profile = 'gated' ORDER BY id DESC LIMIT 1"; }
step_pid() { cat "$MD_TMP/run.pid" 2>/dev/null; }
step_running() { [ -s "$MD_TMP/run.pid" ] && kill -0 "$(step_pid)" 2>/dev/null; }
step_gone() { ! kill -0 "$(step_pid)" 2>/dev/null; }

# --- cancel of a running job -----------------------------------------------
run md-enqueue -c "$CFG" -p gated "$sha"
job=$(cut -f1 <<<"$out")
md-work -c "$CFG" -j 1 >"$MD_TMP/w1.out" 2>"$MD_TMP/w1.err" &
w1=$!
ok "the job starts" wait_for "step running" step_running
run md-job -c "$CFG" cancel "$job"
is "$rc" 0 "md-job cancel of the running job" || diag "$err"
ok "its command is stopped within a heartbeat" wait_for "step stopped" step_gone
is "$(q state)" cancelled "the job stays cancelled"
is "$(count_files "$STORE/renditions/$(shard "$sha")/gated")" 0 "nothing of it is published"
no_work() { [ "$(count_files "$STORE/work")" = 0 ]; }
ok "its work directory is removed" wait_for "work removed" no_work
ok "the worker says so" grep -q 'job cancelled, or rescued for another worker' "$MD_TMP/w1.err"
ok "the worker goes on" kill -0 "$w1"
kill -TERM "$w1"
wait "$w1"
is "$?" 0 "md-work exits 0 on SIGTERM"

# --- a worker paused past its lease ----------------------------------------
rm -f "$MD_TMP"/run.*
run md-job -c "$CFG" retry "$job"
is "$rc" 0 "the job is retried" || diag "$err"
md-work -c "$CFG" -j 1 >"$MD_TMP/a.out" 2>"$MD_TMP/a.err" &
wa=$!
ok "worker A runs it" wait_for "step running" step_running
a_step=$(step_pid)
a_claim=$(q claims)
kill -STOP "$wa"
if [ "$MD_BACKEND" = postgres ]; then now="now()"; else now="strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"; fi
expired() { [ "$(db_query "SELECT count(*) FROM jobs WHERE profile = 'gated'
	AND state = 'running' AND lease_until < $now")" = 1 ]; }
ok "A's lease runs out while it is stopped" wait_for "lease expired" expired
rm -f "$MD_TMP/run.pid"
md-work -c "$CFG" -j 1 --once >"$MD_TMP/b.out" 2>"$MD_TMP/b.err" &
wb=$!
ok "worker B rescues the job and runs it again" wait_for "B's step running" step_running
b_claim=$(q claims)
is "$b_claim" "$((a_claim + 1))" "B's run is the next claim"
touch "$MD_TMP/run.go"     # both steps may finish
wait "$wb"
is "$?" 0 "B exits 0"
is "$(q state)" succeeded "B's run succeeded"
kill -CONT "$wa"
a_gone() { ! kill -0 "$a_step" 2>/dev/null; }
ok "A's step ends" wait_for "A's step gone" a_gone
a_said() { grep -Eq 'rescued for another worker|lease lost' "$MD_TMP/a.err"; }
ok "A learns that its run lost the job" wait_for "A's notice" a_said
a_dir=$STORE/renditions/$(shard "$sha")/gated/$job-$a_claim
a_cleaned() { [ ! -e "$a_dir" ]; }
ok "nothing of A's run stays in storage" wait_for "A's folder removed" a_cleaned
kill -TERM "$wa"
wait "$wa"
run md-finalize -c "$CFG"
is "$rc" 0 "md-finalize" || diag "$err"
key=$(db_query "SELECT storage_key FROM renditions WHERE media = '$sha' AND profile = 'gated'")
like "$key" "/gated/$job-$b_claim/out.txt$" "the registered rendition is B's run"
is "$(cat "$STORE/$key" 2>/dev/null)" done "and its file is there"
is "$(q attempts)" 2 "two attempts: A's lost lease and B's run"

done_testing
