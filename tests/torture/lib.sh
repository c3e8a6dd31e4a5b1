# tests/torture/lib.sh - the fixture of the crash experiments (make torture).
#
# Sourced by tests/torture/run.sh and by each experiment, tests/torture/x-*.sh;
# it sources tests/lib.sh for db_query, sha256, have and wait_for.
#
# A run has a directory RUN (tt_run_init): the media made once (RUN/media),
# the step wrapper (RUN/step.sh), and, for PostgreSQL, a private cluster of
# its own (RUN/pg), so that stopping and restarting it disturbs nothing else.
# Each trial (tt_trial BACKEND NAME) gets a fresh directory TD = RUN/t/NAME:
# MD_HOME, storage, configuration, a fresh database (TD/md.db, or a database
# created on the private cluster), and TD/runs.log, where every run of a job
# step writes
#	start MEDIA WORKDIR PID TIME
#	end   MEDIA WORKDIR PID TIME RC
# (TIME in seconds since the epoch, with decimals) and the harness writes
#	gone  WORKDIR TIME        an orphan of that run was last seen alive
#	pause WORKDIR T1 T2       that run was frozen from T1 to T2
# A job is its media (each trial uses one profile, "tort"), so two runs of
# one media whose lives overlap are a job run twice at once.
#
# Processes of a trial are found by its directory: every process the tools
# start for it has TD in its argv (the original, the work directory, the
# hook script) or its environment (MD_CONFIG).
#
# A trial prints one record, "key=value" fields separated by spaces
# (tt_record), which run.sh sums into the table.

TT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# tests/lib.sh: db_query, sha256, have, wait_for (its TAP part is unused)
# shellcheck source=../lib.sh
. "$TT_DIR/../lib.sh"
export PATH="$MD_ROOT:$PATH"
export LC_ALL=C.UTF-8
unset MD_CONFIG MD_CONFIG_SYSTEM MD_STORAGE MD_TRACE_ID TRACEPARENT
export MD_CONFIG_NOSYSTEM=1 MD_USER=torture

TT_JOB=${MD_TORTURE_JOB:-4}         # seconds a job's step takes (ffmpeg -re)
TT_LEASE=${MD_TORTURE_LEASE:-5s}    # the workers' lease (its floor)
TT_WAIT=${MD_TORTURE_WAIT:-90}      # longest wait for a trial's jobs, seconds

tt_now() { date +%s.%N | cut -c1-14; }

tt_log() { printf 'torture: %s\n' "$*" >&2; }

# tt_pg start|restart|halt: the run's private cluster.
tt_pg() {
	local cmd=$1; shift
	sh "$TT_DIR/../pg-cluster.sh" "$cmd" "$RUN/pg" "$@"
}

# tt_run_init [postgres]: the run's directory, media, wrapper and cluster.
tt_run_init() {
	RUN=${MD_TORTURE_RUN:-}
	if [ -z "$RUN" ]; then
		RUN=$(mktemp -d /tmp/md-torture.XXXXXX) && chmod 755 "$RUN" || exit 1
	fi
	export RUN
	mkdir -p "$RUN/media" "$RUN/t"
	tt_make_step
	if [ "${1-}" = postgres ] && [ ! -S "$RUN/pg/.s.PGSQL.5432" ]; then
		TT_PGHOST=$(tt_pg start) || { tt_log "cannot start a PostgreSQL cluster"; return 1; }
	fi
	TT_PGHOST=$RUN/pg
	export TT_PGHOST
}

# tt_media NAME SECONDS: a distinct small video of SECONDS, made once per run
# (the name is written into its metadata, so each has its own hash).
tt_media() {
	local f=$RUN/media/$1-$2s.mp4
	if [ ! -s "$f" ]; then
		ffmpeg -nostdin -loglevel error -y -f lavfi -i "testsrc=size=160x120:rate=10:duration=$2" \
			-metadata title="$1" -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$f.tmp.mp4" &&
			mv "$f.tmp.mp4" "$f" || return 1
	fi
	printf '%s\n' "$f"
}

# The step of the "tort" profile: logs its start and end in the trial's
# runs.log and transcodes at the input's own pace (-re), so a job takes as
# long as its clip; the work directory goes into the output's metadata, so
# two runs of one job never make the same bytes.
tt_make_step() {
	cat >"$RUN/step.sh" <<'EOF'
#!/bin/sh
# step.sh INPUT OUTPUT WORKDIR LOG: one run of a torture job
in=$1 out=$2 wd=$3 log=$4
m=${in##*/}; m=${m%%.*}
now() { date +%s.%N | cut -c1-14; }
echo "start $m $wd $$ $(now)" >>"$log"
# tied to this shell, as a step's own children should be (md-work(1), CAVEATS)
setpriv --pdeathsig KILL -- \
ffmpeg -nostdin -hide_banner -loglevel error -re -i "$in" -metadata comment="run $wd" \
	-c:v libx264 -preset ultrafast -threads 1 -pix_fmt yuv420p -an -y "$out"
rc=$?
echo "end $m $wd $$ $(now) $rc" >>"$log"
exit $rc
EOF
	chmod 755 "$RUN/step.sh"
}

# tt_trial BACKEND NAME [YAML]: a fresh trial directory, configuration and
# database; YAML is added under worker:.
tt_trial() {
	TT_BACKEND=$1
	TD=$RUN/t/$2
	rm -rf "$TD"
	mkdir -p "$TD/home" "$TD/in"
	export MD_HOME=$TD/home
	STORE=$MD_HOME/storage
	export XDG_CONFIG_HOME=$TD/config XDG_DATA_HOME=$TD/data
	if [ "$TT_BACKEND" = postgres ]; then
		TT_PGDB=tt_$(printf '%s' "$2" | tr -c 'a-zA-Z0-9' '_')
		dropdb -h "$TT_PGHOST" -U postgres --if-exists "$TT_PGDB" >/dev/null 2>&1
		createdb -h "$TT_PGHOST" -U postgres "$TT_PGDB" || return 1
		export MD_DB="postgresql:///$TT_PGDB?host=$TT_PGHOST&user=postgres"
	else
		TT_PGDB=
		export MD_DB="sqlite:$TD/md.db"
	fi
	cat >"$TD/cfg.yaml" <<EOF
worker:
  lease: $TT_LEASE
  poll_interval: 200ms
  retry_base: 1s
  retry_max: 2s
  grace: 5s
  # the step writes the trial's runs.log, outside its work directory
  sandbox: false
${3-}
# md-janitor runs once every tool of the trial has stopped: nothing is in
# flight, so what a crash left goes at once
janitor:
  orphan_grace: 0s
profiles:
  tort:
    kinds: [video, animated, image]
    output: out.mp4
    output_kind: file
    steps:
      - [sh, "$RUN/step.sh", "{input}", "{output}", "{workdir}", "$TD/runs.log"]
EOF
	export MD_CONFIG=$TD/cfg.yaml
	: >"$TD/runs.log"
	md-db init >"$TD/init.log" 2>&1 || { cat "$TD/init.log" >&2; return 1; }
}

# tt_trial_end: drop the trial's database and directory (kept with
# MD_TORTURE_KEEP=1).
tt_trial_end() {
	if [ -n "${TT_PGDB-}" ]; then
		dropdb -h "$TT_PGHOST" -U postgres --force --if-exists "$TT_PGDB" >/dev/null 2>&1
	fi
	[ "${MD_TORTURE_KEEP:-0}" = 1 ] || rm -rf "$TD"
}

# tt_procs: pids of live processes of this trial (TD in argv or environment),
# but not this shell's own; zombies are dead already.
tt_procs() {
	local f pid
	grep -laF "$TD" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null |
	while IFS=/ read -r _ _ pid _; do
		[ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
		[ "$(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null)" = Z ] && continue
		[ -d "/proc/$pid" ] && echo "$pid"
	done | sort -un
}

# tt_orphans: after a kill, the processes of the trial still alive 0.5 s
# later (into TD/orphans); prints their number.
tt_orphans() {
	local i left a
	for ((i = 0; i < 5; i++)); do
		left=$(tt_procs)
		[ -z "$left" ] && break
		sleep 0.1
	done
	# a process with no argv left is exiting
	for i in $left; do
		a=$({ tr '\0' ' ' <"/proc/$i/cmdline"; } 2>/dev/null)
		[ -n "$a" ] && printf '%s\n' "$i" && printf '%s: %s\n' "$i" "$a" >>"$TD/orphans.txt"
	done >"$TD/orphans"
	wc -l <"$TD/orphans" | tr -d ' '
}

# The work directory named in a process's argv, if any.
tt_proc_wd() {
	{ tr '\0' '\n' <"/proc/$1/cmdline"; } 2>/dev/null | grep -o "$STORE/work/[^/]*" | head -n 1
}

# tt_orphans_gone [SECONDS]: wait until the orphans in TD/orphans are gone
# (at most SECONDS, 60; then they are killed), writing a "gone" line for
# the runs they belonged to.
tt_orphans_gone() {
	local max=$(( ${1:-60} * 10 )) i p wd alive
	declare -A wdof
	while read -r p; do
		wd=$(tt_proc_wd "$p")
		[ -n "$wd" ] && wdof[$p]=$wd
	done <"$TD/orphans"
	for ((i = 0; i < max; i++)); do
		alive=
		for p in "${!wdof[@]}"; do
			if [ -d "/proc/$p" ] && [ "$(cut -d' ' -f3 "/proc/$p/stat" 2>/dev/null)" != Z ]; then
				alive=1
			else
				echo "gone ${wdof[$p]} $(tt_now)" >>"$TD/runs.log"
				unset "wdof[$p]"
			fi
		done
		[ -z "$alive" ] && return 0
		sleep 0.1
	done
	for p in "${!wdof[@]}"; do
		kill -KILL "$p" 2>/dev/null
		echo "gone ${wdof[$p]} $(tt_now)" >>"$TD/runs.log"
	done
	while read -r p; do kill -KILL "$p" 2>/dev/null; done <"$TD/orphans"
	return 1
}

# tt_runs_analyse [KILLTIME]: from runs.log, "DOUBLE LOST": the jobs with two
# runs alive at once, and the jobs whose run succeeded and then ran again (a
# lost result).  A run with no end line ended at its "gone" line, else at
# KILLTIME (it died with its worker), else now.
tt_runs_analyse() {
	awk -v kill="${1:-}" -v now="$(tt_now)" '
	$1 == "start" { n++; med[n] = $2; wd[n] = $3; st[n] = $5; byw[$3] = n; en[n] = "" }
	$1 == "end"   { i = byw[$3]; if (i) { en[i] = $5; rc[i] = $6 } }
	$1 == "gone"  { i = byw[$2]; if (i && en[i] == "") gone[i] = $3 }
	$1 == "pause" { i = byw[$2]; if (i) { p1[i] = $3; p2[i] = $4 } }
	function alive(i, t) {
		if (t < st[i] || t >= en[i]) return 0
		if (p1[i] != "" && t >= p1[i] && t < p2[i]) return 0
		return 1
	}
	END {
		for (i = 1; i <= n; i++)
			if (en[i] == "") en[i] = gone[i] != "" ? gone[i] : (kill != "" ? kill : now)
		for (i = 1; i <= n; i++) for (j = 1; j <= n; j++) {
			if (i == j || med[i] != med[j]) continue
			# j started while i was alive (not frozen)
			if (alive(i, st[j]) && !(st[j] == st[i] && j < i)) dbl[med[i]] = 1
			# a run that ended before its worker was killed lost
			# its result to the kill itself; one that ended after
			# it (an orphan run) is counted
			if (rc[i] == "0" && st[j] >= en[i] && (kill == "" || en[i] > kill)) lost[med[i]] = 1
		}
		for (m in dbl) d++
		for (m in lost) l++
		print d + 0, l + 0
	}' "$TD/runs.log"
}

# tt_renditions_snap FILE: each registered rendition: key, sha256, inode.
tt_renditions_snap() {
	local key f
	db_query "SELECT storage_key FROM renditions ORDER BY storage_key" | while read -r key; do
		f=$STORE/$key
		if [ -f "$f" ]; then
			echo "$key $(sha256 "$f") $(stat -c %i "$f")"
		else
			echo "$key missing -"
		fi
	done >"$1"
}

# tt_janitor: md-janitor, once it exists, removes what a crash left.
tt_janitor() {
	[ -x "$MD_ROOT/md-janitor" ] && "$MD_ROOT/md-janitor" >>"$TD/janitor.log" 2>&1
	return 0
}

# tt_stale SNAPSHOT: "STALE UNREG": registered files whose bytes or inode
# changed since SNAPSHOT (or that the database no longer names the same),
# and files under renditions/ beside no registered key.
tt_stale() {
	local stale unreg
	tt_renditions_snap "$TD/snap.after"
	stale=$(join -a 1 -a 2 -e x -o 0,1.2,1.3,2.2,2.3 <(sort "$1") <(sort "$TD/snap.after") |
		awk '$2 != $4 || $3 != $5 || $2 == "missing"' | wc -l)
	cut -d' ' -f1 "$TD/snap.after" | while read -r k; do dirname "$k"; done | sort -u >"$TD/keydirs"
	unreg=0
	if [ -d "$STORE/renditions" ]; then
		unreg=$(cd "$STORE" && find renditions -type f | while read -r f; do
			grep -qxF "$(dirname "$f")" "$TD/keydirs" || echo "$f"
		done | wc -l)
	fi
	echo "$stale $unreg"
}

# tt_jobs_done: every job of the trial is finished (succeeded, dead or
# cancelled).
tt_jobs_done() {
	[ "$(db_query "SELECT count(*) FROM jobs WHERE state IN ('available', 'running')" 2>/dev/null)" = 0 ]
}

# tt_lost: "LOSTPOSTS LOSTJOBS": posts not completed and jobs not succeeded
# after the reruns (given EXPECTED posts and jobs).
tt_lost() {
	local posts jobs
	posts=$(db_query "SELECT count(*) FROM posts WHERE status = 'completed'" 2>/dev/null)
	jobs=$(db_query "SELECT count(*) FROM jobs WHERE state = 'succeeded'" 2>/dev/null)
	echo "$(( $1 - ${posts:-0} )) $(( $2 - ${jobs:-0} ))"
}

# tt_bg NAME CMD...: start CMD in its own session, output in TD/NAME.out
# and TD/NAME.err; its pid in TT_PID.
tt_bg() {
	local name=$1; shift
	setsid "$@" >"$TD/$name.out" 2>"$TD/$name.err" </dev/null &
	TT_PID=$!
	disown "$TT_PID"
}

# tt_gone PID [TENTHS]: wait until PID is gone (at most TENTHS / 10 s, 30 s).
tt_gone() {
	local i
	for ((i = 0; i < ${2:-300}; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# tt_stop PID: SIGTERM and wait (SIGKILL after 30 s).
tt_stop() {
	kill -TERM "$1" 2>/dev/null
	tt_gone "$1" || kill -KILL "$1" 2>/dev/null
	tt_gone "$1" 10
	return 0
}

# tt_kill9 PID MODE: SIGKILL the process (MODE pid) or its process group
# (MODE group); prints the time.
tt_kill9() {
	if [ "$2" = group ]; then
		kill -KILL -- "-$1" 2>/dev/null
	else
		kill -KILL "$1" 2>/dev/null
	fi
	tt_now
	tt_gone "$1" 50
}

# tt_rand MAX: a random number in [0, MAX) from the trial's seed (RANDOM).
tt_rand() { echo $(( (RANDOM * 32768 + RANDOM) % $1 )); }

# tt_ms MS: sleep MS milliseconds (the random moment of a kill).
tt_ms() { sleep "$(printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)))"; }

# tt_started [N]: at least N (1) runs have started.
tt_started() { [ "$(grep -c '^start ' "$TD/runs.log")" -ge "${1:-1}" ]; }

# tt_record FIELD=VALUE...: the trial's record, on standard output.
tt_record() { echo "exp=$TT_EXP backend=$TT_BACKEND seed=$TT_SEED $*"; }

# tt_cpu PID: utime + stime of PID in clock ticks.
tt_cpu() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
