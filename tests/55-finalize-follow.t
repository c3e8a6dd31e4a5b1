#!/bin/bash
# 55-finalize-follow.t - md-finalize --follow keeps running, finishes posts
# as their jobs end, and leaves with 0 on SIGTERM; two finalizers at once
# never finish the same post twice.
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
