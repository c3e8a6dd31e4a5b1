#!/bin/bash
# 55-finalize-follow.t - md-finalize --follow keeps running, finishes posts
# as their jobs end, and leaves with 0 on SIGTERM; on PostgreSQL it rides
# out a restart of the server, quietly; two finalizers at once never
# finish the same post twice.  The restart cuts every connection to the
# cluster: tests/run.sh runs this file alone.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
printf 'worker:\n  poll_interval: 200ms\n' >"$MD_TMP/cfg.yaml"
export MD_CONFIG=$MD_TMP/cfg.yaml


run md-db init
md-finalize --follow >"$MD_TMP/f.out" 2>"$MD_TMP/f.err" &
fpid=$!
run md-ingest "$IN/still.png" "$IN/photo.jpg"
is "$rc" 0 "two images ingested"
printf '%s\n' "$out" >"$MD_TMP/ingest.tsv"
run_in "$MD_TMP/ingest.tsv" md-enqueue -p thumb
run md-work --drain
is "$rc" 0 "md-work --drain" || diag "$err"
lines() { [ "$(grep -c $'\tcompleted$' "$MD_TMP/f.out")" -eq 2 ]; }
ok "the following finalizer finishes both posts" wait_for "two completed lines" lines
is "$(db_count posts "status = 'completed'")" 2 "both posts are completed in the database"
ok "it is still running" kill -0 "$fpid"
kill -TERM "$fpid"
wait "$fpid"
is "$?" 0 "SIGTERM ends md-finalize --follow with 0"

# a restart of PostgreSQL under md-finalize --follow
if [ "$MD_BACKEND" = postgres ]; then
	md-finalize --follow >"$MD_TMP/r.out" 2>"$MD_TMP/r.err" &
	fpid=$!
	completed() { grep -q $'\t'"$(sha256 "$1")"$'\tcompleted$' "$MD_TMP/r.out"; }
	run md-ingest -e noop "$IN/anim.gif"
	run md-work --drain
	ok "it finishes a post before the restart" wait_for "anim.gif completed" completed "$IN/anim.gif"
	ok "the server restarts" sh "$MD_ROOT/tests/pg-cluster.sh" restart "$MD_TEST_PGHOST"
	run md-ingest -e noop "$IN/silent.webm"
	is "$rc" 0 "a media is ingested after the restart" || diag "$err"
	run md-work --drain
	ok "md-finalize --follow finishes it: it rode out the restart" \
		wait_for "silent.webm completed" completed "$IN/silent.webm"
	ok "it is still running" kill -0 "$fpid"
	kill -TERM "$fpid"
	wait "$fpid"
	is "$?" 0 "SIGTERM ends it with 0 after the restart"
	noisy=$(grep -cE 'level=(warn|error)' "$MD_TMP/r.err")
	ok "the outage took at most a few lines of warnings ($noisy)" test "$noisy" -le 4 ||
		diag "$(cat "$MD_TMP/r.err")"
	nok "no line said it gave up" grep -q 'exit' "$MD_TMP/r.err"
fi

# two finalizers racing over the same finished media
run md-ingest "$IN"/*
printf '%s\n' "$out" >"$MD_TMP/ingest2.tsv"
run_in "$MD_TMP/ingest2.tsv" md-enqueue -f -p noop
run md-work --drain
md-finalize >"$MD_TMP/a.out" 2>/dev/null &
a=$!
md-finalize >"$MD_TMP/b.out" 2>/dev/null
wait "$a"
total=$(cat "$MD_TMP/a.out" "$MD_TMP/b.out" | wc -l)
uniq_=$(cat "$MD_TMP/a.out" "$MD_TMP/b.out" | cut -f1 | sort -u | wc -l)
is "$total" "$uniq_" "no post is finished twice by two finalizers at once"
is "$(db_count jobs "finalized_at IS NULL")" 0 "every job is finalized"

done_testing
