#!/bin/bash
# 46-orphans.t - a worker's children die with it: after a kill -9 of md-work
# no job runner and no ffmpeg of it lives on to publish beside the next
# worker's run of the job, and a kill -9 of a runner alone takes its ffmpeg
# with it.  The step is a real ffmpeg reading a 60 s input at its own pace
# (-re); the processes are found in /proc as the worker's children and by a
# marker only this test's worker and steps carry.
. "$(dirname "$0")/lib.sh"
md_require_tools
have ffmpeg || plan skip_all "ffmpeg not installed"
md_setup

MARK=md-orphans-$$-$RANDOM
IN=$MD_TMP/in
mkdir -p "$IN"
ff -f lavfi -i testsrc=duration=60:size=64x64:rate=5 -c:v libx264 -pix_fmt yuv420p "$IN/long.mp4"
ff -f lavfi -i testsrc2=duration=60:size=64x64:rate=5 -c:v libx264 -pix_fmt yuv420p "$IN/long2.mp4"
CFG=$MD_TMP/cfg.yaml
cat >"$CFG" <<EOF
worker:
  # a runner killed under the worker is a failed attempt: not retried here
  retry_base: 1h
profiles:
  long:
    kinds: [video]
    output: out.mp4
    steps:
      - [ffmpeg, -re, -i, "{input}", -metadata, "comment=$MARK", -c:v, libx264,
         -preset, ultrafast, -f, mp4, -y, "{output}"]
EOF

# The pids whose parent is $1 (zombies left out: they are gone).
children_of() {
	local f line rest st pp
	for f in /proc/[0-9]*/stat; do
		{ read -r line <"$f"; } 2>/dev/null || continue
		rest=${line##*) }
		read -r st pp _ <<<"$rest"
		[ "$pp" = "$1" ] && [ "$st" != Z ] && { p=${f#/proc/}; echo "${p%/stat}"; }
	done
}
comm_of() { { cat "/proc/$1/comm"; } 2>/dev/null; }
# Alive, and not a zombie.
alive() {
	local line
	[ -n "$1" ] || return 1
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	[ "${line:0:1}" != Z ]
}
# Every process but this shell whose command line or environment holds
# MARK: the worker and runner by MD_TEST_MARK, ffmpeg by its argv.  Read
# with builtins only, so no process of the search is found by it.
marked() {
	local d p a
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = "$$" ] || [ "$p" = "$BASHPID" ] && continue
		for a in cmdline environ; do
			{ mapfile -d '' -t v <"$d/$a"; } 2>/dev/null || continue
			[[ "${v[*]}" == *"$MARK"* ]] && { echo "$p"; break; }
		done
	done
}
no_marked() { [ -z "$(marked)" ]; }

# wpid's runner and the runner's ffmpeg, into RUNNER and FFMPEG.
find_tree() {
	local c
	RUNNER= FFMPEG=
	for RUNNER in $(children_of "$wpid"); do
		for c in $(children_of "$RUNNER"); do
			[ "$(comm_of "$c")" = ffmpeg ] && FFMPEG=$c && return 0
		done
	done
	return 1
}
job_state() { db_query "SELECT state FROM jobs WHERE media = '$1' AND profile = 'long'"; }
running() { [ "$(job_state "$1")" = running ] && find_tree; }
gone() { [ -n "$RUNNER" ] && [ -n "$FFMPEG" ] && ! alive "$RUNNER" && ! alive "$FFMPEG"; }
published() {
	db_count renditions "media = '$1'"
	if [ -d "$STORE/renditions" ]; then
		find "$STORE/renditions" -type f -path "*$1*" | wc -l | tr -d ' '
	else
		echo 0
	fi
}

run md-db -c "$CFG" init
run md-ingest -c "$CFG" "$IN/long.mp4" "$IN/long2.mp4"
is "$rc" 0 "two 60 s videos are ingested" || diag "$err"
sha=$(sha256 "$IN/long.mp4")
sha2=$(sha256 "$IN/long2.mp4")

# --- kill -9 of md-work: its runner and the runner's ffmpeg die too ----------
run md-enqueue -c "$CFG" -p long "$sha"
MD_TEST_MARK=$MARK md-work -c "$CFG" -j 1 >"$MD_TMP/w.out" 2>"$MD_TMP/w.err" &
wpid=$!
ok "the job runs: md-work has a runner, the runner an ffmpeg" wait_for "runner and ffmpeg" running "$sha"
find_tree   # again, in this shell: ok ran it in a subshell
# the shell's "Killed" notice of its job to /dev/null, not the TAP stream
{ kill -KILL "$wpid"; wait "$wpid"; wrc=$?; } 2>/dev/null
is "$wrc" 137 "md-work is killed by SIGKILL"
MD_TEST_WAIT=10 ok "its runner and ffmpeg are gone" wait_for "runner and ffmpeg gone" gone
ok "no process of this test is left" no_marked
is "$(published "$sha")" "$(printf '0\n0')" "no rendition of the job is registered or stored"

# --- kill -9 of a runner alone: its ffmpeg dies with it ----------------------
run md-enqueue -c "$CFG" -p long "$sha2"
MD_TEST_MARK=$MARK md-work -c "$CFG" -j 1 >"$MD_TMP/w2.out" 2>"$MD_TMP/w2.err" &
wpid=$!
ok "a new worker runs the second job" wait_for "runner and ffmpeg" running "$sha2"
find_tree
kill -KILL "$RUNNER"
MD_TEST_WAIT=10 ok "the runner's ffmpeg dies with the runner" wait_for "ffmpeg gone" gone
ok "the worker lives on" kill -0 "$wpid"
kill -TERM "$wpid"
wait "$wpid"
is "$?" 0 "md-work exits 0 on SIGTERM"
ok "no process of this test is left" no_marked
is "$(published "$sha2")" "$(printf '0\n0')" "no rendition of that job either"

# whatever failed above, leave nothing running
for p in $(marked); do kill -KILL "$p" 2>/dev/null; done
done_testing
