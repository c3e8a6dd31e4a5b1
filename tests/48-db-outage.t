#!/bin/bash
# 48-db-outage.t - PostgreSQL restarts under a running md-work: the running
# ffmpeg-like step is not killed, its outcome is recorded once the server is
# back, and the idle worker picks up new jobs again (reconnect with backoff,
# LISTEN redone).  Then an outage during which a job finishes: the worker
# keeps the outcome and records it when the server is back (one attempt),
# says the outage once and once its end, and does not spin.  PostgreSQL
# only: SQLite has no server to lose.
. "$(dirname "$0")/lib.sh"
md_require_tools
if [ -z "${MD_TEST_PGHOST-}" ]; then
	plan skip_all "needs the PostgreSQL cluster (MD_TEST_PGHOST)"
fi
md_setup

IN=$MD_TMP/in
md_samples "$IN"
cat >"$MD_TMP/cfg.yaml" <<EOF
worker:
  poll_interval: 30s
  # the step tells the test it started through a file outside its work
  # directory, which Landlock would not let it write
  sandbox: false
profiles:
  slowish:
    kinds: [video, animated, image]
    steps:
      - [sh, -c, "touch $MD_TMP/started; while [ ! -e $MD_TMP/go ]; do sleep 0.1; done"]
  during:
    kinds: [video, animated, image]
    steps:
      # runs 3 s into the outage, so the outage has a length to measure
      - [sh, -c, "touch $MD_TMP/d.started; while [ ! -e $MD_TMP/d.go ]; do sleep 0.1; done;
                  sleep 3; touch $MD_TMP/d.finished"]
EOF
export MD_CONFIG=$MD_TMP/cfg.yaml

state_of() { db_query "SELECT state FROM jobs WHERE profile = '$1' ORDER BY id DESC LIMIT 1" 2>/dev/null; }

run md-db init
run md-ingest "$IN/still.png"
sha=$(sha256 "$IN/still.png")
run md-enqueue -p slowish "$sha"
md-work -j 2 >"$MD_TMP/w.out" 2>"$MD_TMP/w.err" &
wpid=$!
ok "the job starts" wait_for "step started" test -e "$MD_TMP/started"

ok "the server restarts" sh "$MD_ROOT/tests/pg-cluster.sh" restart "$MD_TEST_PGHOST"
touch "$MD_TMP/go"
succeeded() { [ "$(state_of slowish)" = succeeded ]; }
ok "the step ran through the outage and its success is recorded" wait_for "slowish succeeded" succeeded

# a new job after the restart wakes the (reconnected) idle worker
run md-enqueue -p noop "$sha"
is "$rc" 0 "a job is enqueued after the restart" || diag "$err"
noop_done() { [ "$(state_of noop)" = succeeded ]; }
ok "the reconnected worker runs it (poll_interval is 30s: a notification woke it)" \
	wait_for "noop succeeded" noop_done
ok "the worker is still running" kill -0 "$wpid"

# --- an outage during which a job finishes ----------------------------------
cpu() { awk '{ print $14 + $15 }' "/proc/$wpid/stat"; }   # utime + stime, in ticks
run md-enqueue -p during "$sha"
ok "the next job starts" wait_for "step started" test -e "$MD_TMP/d.started"
ok "the server goes down" sh "$MD_ROOT/tests/pg-cluster.sh" halt "$MD_TEST_PGHOST"
lines0=$(wc -l <"$MD_TMP/w.err")
cpu0=$(cpu)
touch "$MD_TMP/d.go"
ok "the step finishes during the outage" wait_for "step finished" test -e "$MD_TMP/d.finished"
no_child() { [ -z "$(pgrep -P "$wpid")" ]; }
ok "and its runner has reported" wait_for "runner gone" no_child
cpu1=$(cpu)
lines1=$(wc -l <"$MD_TMP/w.err")
ok "the server comes back" sh "$MD_ROOT/tests/pg-cluster.sh" start "$MD_TEST_PGHOST"
during_done() { [ "$(state_of during)" = succeeded ]; }
ok "the outcome kept through the outage is recorded" wait_for "during succeeded" during_done
is "$(db_query "SELECT attempts FROM jobs WHERE profile = 'during'")" 1 "it ran once: attempts = 1"
ticks=$(getconf CLK_TCK)
ok "the worker did not spin: $((cpu1 - cpu0)) ticks of CPU in the outage (at most $ticks)" \
	test "$((cpu1 - cpu0))" -le "$ticks"
ok "it said the outage in at most 3 lines: $((lines1 - lines0))" test "$((lines1 - lines0))" -le 3 ||
	diag "$(tail -n +"$((lines0 + 1))" "$MD_TMP/w.err")"
back() { grep -q 'database available again' "$MD_TMP/w.err"; }
ok "and that it is back" wait_for "back logged" back
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "md-work exits 0 on SIGTERM"
is "$(db_query "SELECT attempts FROM jobs WHERE profile = 'slowish'")" 1 \
	"the job ran once: attempts = 1"

done_testing
