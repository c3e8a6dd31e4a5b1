#!/bin/bash
# 49-workers.t - live workers: each md-work registers itself and
# heartbeats; md-status lists them, idle ones too, with what each runs; a
# worker killed with SIGKILL is found gone by another worker, which
# rescues its running job at once, long before the job's lease would run
# out; a worker that stops removes its row.  Both backends.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
CFG=$MD_TMP/cfg.yaml
# a lease far longer than the test: only the heartbeat can bring the job back
cat >"$CFG" <<EOF
worker:
  lease: 10m
  heartbeat: 1s
  poll_interval: 200ms
  sandbox: false
profiles:
  gated:
    kinds: [video, animated, image]
    steps:
      - [sh, -c, 'echo \$\$ >>"\$1.pids"; while [ ! -e "\$1.go" ]; do sleep 0.05; done', sh, "$MD_TMP/run"]
EOF
export MD_CONFIG=$CFG
run md-db init
run md-ingest "$IN/still.png"
sha=$(sha256 "$IN/still.png")
wrec() { md-status | awk -F '\t' -v w="$1" '$1 == "worker" && $2 == w'; }

# --- an idle worker is listed -----------------------------------------------
md-work -j 2 -Q default -Q other >"$MD_TMP/a.out" 2>"$MD_TMP/a.err" &
wa=$!
host=$(hostname)
listed() { [ -n "$(wrec "$host:$wa")" ]; }
ok "md-status lists the idle worker" wait_for "worker A listed" listed
IFS=$'\t' read -r _ id state queues slots running age started version <<<"$(wrec "$host:$wa")"
is "$state/$queues/$slots/$running" "running/default,other/2/0" \
	"its state, queues, slots and running jobs"
like "$age" '^[0-9]+\.[0-9]$' "the age of its last heartbeat"
like "$started" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "when it started"
ok "its version" test -n "$version"
run md-status --json
is "$(jq -r --arg w "$host:$wa" '.workers[] | select(.worker == $w) | .slots' <<<"$out")" 2 \
	"--json: the workers array"
like "$(md-status --prom)" $'\nmemedroid_workers 1\n' "--prom: one live worker"

# --- a worker killed with SIGKILL: its job is rescued by another -----------
run md-enqueue -p gated "$sha"
job=$(cut -f1 <<<"$out")
running_once() { [ "$(wc -l <"$MD_TMP/run.pids" 2>/dev/null || echo 0)" -ge 1 ]; }
ok "worker A runs the job" wait_for "step running" running_once
is "$(wrec "$host:$wa" | cut -f6)" 1 "md-status: worker A runs one job"
md-work -j 1 >"$MD_TMP/b.out" 2>"$MD_TMP/b.err" &
wb=$!
b_listed() { [ -n "$(wrec "$host:$wb")" ]; }
ok "worker B is up and idle" wait_for "worker B listed" b_listed
t0=$(date +%s.%N)
kill -KILL "$wa"
wait "$wa" 2>/dev/null
# the killed worker's step may outlive it; it stops at the gate either way
running_twice() { [ "$(wc -l <"$MD_TMP/run.pids" 2>/dev/null || echo 0)" -ge 2 ]; }
ok "worker B runs the job again" wait_for "second run" running_twice
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
note "a killed worker's job ran again after $secs s (heartbeat 1s, lease 10m)"
ok "long before its lease would have run out ($secs s)" awk -v s="$secs" 'BEGIN { exit !(s < 60) }'
is "$(db_query "SELECT claims || ' ' || locked_by FROM jobs WHERE id = $job")" "2 $host:$wb" \
	"the job's second claim is worker B's"
like "$(db_query "SELECT last_error FROM jobs WHERE id = $job")" "worker $host:$wa is gone" \
	"the rescue says why"
ok "worker B says it rescued a gone worker's job" grep -q 'workers gone' "$MD_TMP/b.err"
is "$(wrec "$host:$wa" | cut -f3)" gone "md-status lists worker A as gone"
touch "$MD_TMP/run.go"
done_ok() { [ "$(db_query "SELECT state FROM jobs WHERE id = $job")" = succeeded ]; }
ok "the job succeeds" wait_for "job succeeded" done_ok

# --- a worker that stops removes its row ------------------------------------
kill -TERM "$wb"
wait "$wb"
is "$?" 0 "worker B exits 0 on SIGTERM"
is "$(wrec "$host:$wb")" "" "and is no longer listed"
is "$(db_count workers "id = '$host:$wb'")" 0 "its row is gone"

# --- md-janitor finds a gone worker too ------------------------------------
rm -f "$MD_TMP"/run.*
run md-enqueue -p gated --force "$sha"
job2=$(cut -f1 <<<"$out")
md-work -j 1 >"$MD_TMP/c.out" 2>"$MD_TMP/c.err" &
wc=$!
ok "worker C runs a job" wait_for "step running" running_once
kill -KILL "$wc"
wait "$wc" 2>/dev/null
reaped() { md-janitor >"$MD_TMP/j.out" 2>&1 && grep -q $'^reap\t' "$MD_TMP/j.out"; }
ok "md-janitor finds worker C gone" wait_for "janitor reaps" reaped
like "$(grep $'^reap\t' "$MD_TMP/j.out")" "1 worker gone, 1 job rescued" "and says what it did"
is "$(db_query "SELECT state FROM jobs WHERE id = $job2")" available "C's job is available again"
touch "$MD_TMP/run.go"

done_testing
