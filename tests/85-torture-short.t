#!/bin/bash
# 85-torture-short.t - the short make torture: one trial of each crash
# experiment that takes seconds (kill -9 of md-work and of md-janitor, a
# worker frozen past its lease, the database gone under load, a 3 s outage, cancel of a
# running job), on SQLite (on PostgreSQL, in a private cluster, with
# MD_TEST_PGHOST and MD_TORTURE_SHORT_PG=1).  Every loss column must be
# 0, the outage cost under 1 CPU-second and 100 log lines, the first job
# after the database is back start within 1 s and a cancelled job's
# processes be gone within 3 s (a heartbeat is a third of the 5 s lease).
# make torture runs 30 trials of everything.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

exps=work,janitor,stop,restart,outage,cancel
short() {
	MD_TORTURE_SEED=${MD_TORTURE_SEED:-$RANDOM} MD_TORTURE_PAR=1 MD_TORTURE_JOB=2 \
		MD_TORTURE_RECORDS=$MD_TMP/rec.$1 bash "$MD_ROOT/tests/torture/run.sh" -n 1 -o 3 -b "$1" -e "$exps" \
		>"$MD_TMP/out.$1" 2>&1
}
# one backend: SQLite; make check's PostgreSQL pass has 48-db-outage, and
# make torture runs both (MD_TORTURE_SHORT_PG=1 runs PostgreSQL here)
backends=sqlite
if [ -n "${MD_TEST_PGHOST-}" ]; then
	[ "${MD_TORTURE_SHORT_PG-}" = 1 ] || plan skip_all "runs in the SQLite pass (MD_TORTURE_SHORT_PG=1 for this one)"
	backends=postgres
fi
short "$backends"
for b in $backends; do note "$(cat "$MD_TMP/out.$b")"; done

# check EXP BACKEND COLUMN OP LIMIT: one TAP line
check() {
	local e=$1 b=$2 c=$3 op=$4 lim=$5 v r=fail
	v=$(bash "$MD_ROOT/tests/torture/table.sh" "$MD_TMP/rec.$b" | awk -v e="$e" -v b="$b" -v c="$c" '
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		$1 == e && $2 == b { print $col[c] }')
	[ -z "$v" ] || [ "$v" = - ] && return 0
	if awk -v v="$v" -v l="$lim" -v op="$op" 'BEGIN { exit !(op == "=" ? v + 0 == l + 0 : v + 0 < l + 0) }'; then r=ok; fi
	if [ "$r" = ok ]; then
		pass "$e on $b: $c $op $lim"
	else
		fail "$e on $b: $c $op $lim" "  got $v"
	fi
}
for b in $backends; do
	is "$(grep -c 'error=1' "$MD_TMP/rec.$b")" 0 "every trial on $b ran to its end" ||
		diag "$(grep 'error=1' "$MD_TMP/rec.$b")"
	for e in kill-work kill-janitor sigstop restart outage cancel; do
		for c in orphans double stale unreg lostres losthook lost half; do
			check "$e" "$b" "$c" = 0
		done
	done
	check outage "$b" cpu_s "<" 1
	check outage "$b" lines "<" 100
	check restart "$b" first_s "<" 1
	check cancel "$b" cancel_s "<" 3
done
done_testing
