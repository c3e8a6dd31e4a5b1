#!/bin/bash
# 45-worker-signals.t - md-work's shutdown: SIGTERM stops claiming, gives
# running jobs --grace, then stops them and releases their jobs without
# spending an attempt, and exits 0.  A worker whose lease was taken over
# discards its result (fencing), and expired leases are rescued.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/cfg.yaml
cat >"$CFG" <<EOF
worker:
  lease: 5s
  # the step tells the test its pid through a file outside its work
  # directory, which Landlock would not let it write
  sandbox: false
profiles:
  slow:
    kinds: [video, animated, image]
    steps:
      - [sh, -c, "echo started > $MD_TMP/started.\$\$; exec sleep 60"]
EOF

job_state() { db_query "SELECT state || ' ' || attempts FROM jobs WHERE profile = 'slow'"; }
started() { compgen -G "$MD_TMP/started.*" >/dev/null; }

run md-db -c "$CFG" init
run md-ingest -c "$CFG" "$IN/still.png"
sha=$(sha256 "$IN/still.png")
run md-enqueue -c "$CFG" -p slow "$sha"
is "$rc" 0 "a slow job is enqueued"

# --- SIGTERM with a short grace: the job is stopped and released --------------
md-work -c "$CFG" --grace 0.5s >"$MD_TMP/w.out" 2>"$MD_TMP/w.err" &
wpid=$!
ok "the worker starts the job" wait_for "job running" started
is "$(job_state)" "running 1" "the job is running, attempt 1"
kill -TERM "$wpid"
wait "$wpid"
wrc=$?
is "$wrc" 0 "md-work exits 0 after SIGTERM"
is "$(job_state)" "available 0" "the job is released without spending an attempt"
like "$(cat "$MD_TMP/w.err")" 'grace' "the worker says it is stopping"
for f in "$MD_TMP"/started.*; do step_pid=${f##*.}; done
nok "the step's process is gone" kill -0 "$step_pid"
is "$(count_files "$MD_HOME/storage/work")" 0 "the work directory is cleaned up"

# --- a lost lease: the other worker's claim wins, this one discards ----------
rm -f "$MD_TMP"/started.*
md-work -c "$CFG" --grace 10s >"$MD_TMP/w2.out" 2>"$MD_TMP/w2.err" &
wpid=$!
ok "the worker starts the job again" wait_for "job running" started
# another worker takes the job over (as after a lease expiry and a new claim)
db_query "UPDATE jobs SET locked_by = 'other:1', claims = claims + 1 WHERE profile = 'slow'" >/dev/null
ok "the worker notices its run lost the job, at its next heartbeat" wait_for "run stopped" \
	grep -q 'rescued for another worker: stopping it' "$MD_TMP/w2.err"
for f in "$MD_TMP"/started.*; do step_pid=${f##*.}; done
step_gone() { ! kill -0 "$step_pid" 2>/dev/null; }
ok "and stops its commands" wait_for "step stopped" step_gone
kill -TERM "$wpid"
wait "$wpid"
is "$(db_query "SELECT state || ' ' || locked_by FROM jobs WHERE profile = 'slow'")" \
	"running other:1" "the job still belongs to the other worker: the result was discarded"

# --- rescue: an expired lease goes back to available, and runs again ---------
db_query "UPDATE jobs SET lease_until = '2000-01-01T00:00:00.000Z' WHERE profile = 'slow'" >/dev/null
cat >"$MD_TMP/fast.yaml" <<EOF
profiles:
  slow:
    kinds: [video, animated, image]
EOF
run md-work -c "$MD_TMP/fast.yaml" --drain
is "$rc" 0 "md-work --drain exits 0" || diag "$err"
like "$err" 'rescued' "the worker rescues the expired lease"
is "$(db_query "SELECT state FROM jobs WHERE profile = 'slow'")" succeeded \
	"the rescued job is run again and succeeds"

# --- SIGHUP: the configuration (profiles) is read again for new jobs ----------
printf 'worker:\n  poll_interval: 200ms\n' >"$MD_TMP/hup.yaml"
md-work -c "$MD_TMP/hup.yaml" >"$MD_TMP/w3.out" 2>"$MD_TMP/w3.err" &
wpid=$!
ok "the worker is up" wait_for "worker started" grep -q 'worker started' "$MD_TMP/w3.err"
printf '%s\n' 'worker:' '  poll_interval: 200ms' 'profiles:' '  late:' \
	'    kinds: [video, animated, image]' '    steps:' '      - [sh, -c, "exit 0"]' >"$MD_TMP/hup.yaml"
kill -HUP "$wpid"
ok "SIGHUP reloads the configuration" wait_for "reloaded" grep -q 'configuration reloaded' "$MD_TMP/w3.err"
run md-enqueue -c "$MD_TMP/hup.yaml" -p late "$sha"
is "$rc" 0 "a job of a profile that exists only in the new configuration" || diag "$err"
late_done() { [ "$(db_query "SELECT state FROM jobs WHERE profile = 'late'")" = succeeded ]; }
ok "the running worker knows the new profile and runs it" wait_for "late succeeded" late_done
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "the worker exits 0"

done_testing
