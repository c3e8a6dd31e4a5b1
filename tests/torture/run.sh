#!/bin/bash
# run.sh - make torture: the crash experiments of issue 10, and their table.
#
#   tests/torture/run.sh [-n TRIALS] [-b BACKENDS] [-e EXPERIMENTS] [-o SECONDS]
#
# Runs each experiment (tests/torture/x-EXP.sh; EXPERIMENTS is a comma list
# of ingest, work, finalize, janitor, stop, restart, outage, cancel,
# diskfull; all by default) TRIALS times (30) on each backend (BACKENDS: sqlite,postgres;
# postgres runs in a private cluster started here) and prints one line per
# experiment and backend: trials, and the sums of what they counted.
#   orphans   processes of a killed tool alive 0.5 s after the kill
#   double    jobs with two runs alive at once
#   stale     registered rendition files replaced or changed afterwards, or
#             published for a cancelled job
#   unreg     files under renditions/ beside no registered key (after a
#             killed md-janitor: what its next run left of the debris,
#             files or jobs due for pruning)
#   lostres   runs that succeeded, then their job ran again
#   losthook  finished posts the --exec hook never saw
#   lost      posts not completed and jobs not succeeded after the reruns
#   half      half-written or unregistered originals, torn renditions, a
#             database md-db check finds damaged
#   cpu_s, lines   most CPU seconds and log lines of one md-work during the
#             outage of SECONDS (-o, 40)
#   first_s   slowest start of the first job after the database was given
#             back (the lock's COMMIT, or pg_ctl start, began)
#   cancel_s  slowest end of a cancelled job's processes
#   errors    trials that did not run to their end (see their stderr)
# Each trial prints its record (key=value) on the way, with its seed: the
# run's seed is MD_TORTURE_SEED (printed; default from the clock), trial i
# has seed MD_TORTURE_SEED + i, and MD_TORTURE_SEED=S run.sh -n 1 -e EXP
# replays the trial of seed S+1.  The outage runs MD_TORTURE_PAR workers
# (5) through each outage, each its own trial.  MD_TORTURE_RECORDS=FILE
# keeps the records; MD_TORTURE_KEEP=1 keeps the trials' directories.
# Other knobs: MD_TORTURE_JOB (a job's seconds, 4), MD_TORTURE_LEASE (5s).
# It takes about 50 minutes with the defaults on two cores.
set -u
here=$(cd "$(dirname "$0")" && pwd)
n=30 backends=sqlite,postgres exps=ingest,work,finalize,janitor,stop,restart,outage,cancel,diskfull
export MD_TORTURE_OUTAGE=${MD_TORTURE_OUTAGE:-40}
while getopts n:b:e:o: o; do
	case $o in
	n) n=$OPTARG ;;
	b) backends=$OPTARG ;;
	e) exps=$OPTARG ;;
	o) MD_TORTURE_OUTAGE=$OPTARG ;;
	*) echo "usage: run.sh [-n TRIALS] [-b BACKENDS] [-e EXPERIMENTS] [-o SECONDS]" >&2; exit 64 ;;
	esac
done
shift $((OPTIND - 1))
[ $# = 0 ] || { echo "usage: run.sh [-n TRIALS] [-b BACKENDS] [-e EXPERIMENTS] [-o SECONDS]" >&2; exit 64; }

seed=${MD_TORTURE_SEED:-$(( $(date +%s) % 1000000 ))}
par=${MD_TORTURE_PAR:-5}
RUN=$(mktemp -d /tmp/md-torture.XXXXXX) && chmod 755 "$RUN" || exit 1
export MD_TORTURE_RUN=$RUN
records=${MD_TORTURE_RECORDS:-$RUN/records}
: >"$records"
cleanup() {
	[ -d "$RUN/pg" ] && sh "$here/../pg-cluster.sh" stop "$RUN/pg" >/dev/null 2>&1
	[ "${MD_TORTURE_KEEP:-0}" = 1 ] || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "# torture: seed $seed, $n trials, backends $backends, outage ${MD_TORTURE_OUTAGE}s"

# trial EXP BACKEND I SEED: one trial; a record with error=1 when it failed
trial() {
	local out rc
	out=$(bash "$here/x-$1.sh" "$2" "$3" "$4" 2>>"$RUN/stderr")
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | tee -a "$records"
	if [ -z "$out" ] || [ "$rc" != 0 ]; then
		echo "exp=$1 backend=$2 seed=$4 error=1" | tee -a "$records"
		tail -n 5 "$RUN/stderr" | sed 's/^/#   /'
	fi
}

for b in ${backends//,/ }; do
	if [ "$b" = postgres ]; then
		sh "$here/../pg-cluster.sh" start "$RUN/pg" >/dev/null || { echo "cannot start PostgreSQL" >&2; exit 1; }
	fi
	for e in ${exps//,/ }; do
		if [ "$e" = outage ]; then
			for ((i = 1; i <= n; i += par)); do
				MD_TORTURE_PAR=$(( n - i + 1 < par ? n - i + 1 : par )) trial outage "$b" "$i" $((seed + i))
			done
			continue
		fi
		for ((i = 1; i <= n; i++)); do
			trial "$e" "$b" "$i" $((seed + i))
		done
	done
done

echo
echo "# torture: seed $seed; columns are sums over the trials, cpu_s, lines, first_s and cancel_s maxima"
bash "$here/table.sh" "$records"
