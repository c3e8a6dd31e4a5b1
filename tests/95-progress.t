#!/bin/bash
# 95-progress.t - the progress line of md-ingest -r, md-enqueue - and
# md-work --drain: on a terminal (script(1) gives one) done of total on
# standard error; never into a file, with -q or with TERM=dumb; the
# records on standard output as they were; a log line on a line of its own.
. "$(dirname "$0")/lib.sh"
md_require_tools
[ -n "${MD_TEST_PGHOST-}" ] && plan skip_all "the progress line does not depend on the database: run in the SQLite pass"
have script || plan skip_all "script(1) is not installed"
md_setup
export TERM=xterm
ESC=$'\e'

IN=$MD_TMP/in
md_samples "$IN"
echo "not a picture" >"$IN/text.jpg"
run md-db init

# on a terminal: script -qefc CMD; the typescript (stdout and stderr) in $out
tty_run() { run script -qefc "$1" /dev/null; }

tty_run "md-ingest -r -e noop $IN >$MD_TMP/ingest.tsv"
is "$rc" 1 "md-ingest -r on a terminal, one file rejected, exits 1" || diag "$out"
like "$out" $'\rmd-ingest: 0/6 files \\(0%\\)'"$ESC\\[K" "md-ingest -r: files done of the total, drawn in place"
like "$out" "md-ingest: [1-6]/6 files \\([0-9]+%\\), [0-9.]+ files/s, [0-9.]+ [KM]iB/s" \
	"and the rate of files and bytes"
like "$out" $'\r'"$ESC\\[Kmd-ingest: error: [^"$'\r'"]*text.jpg" \
	"the rejected file's error starts on a line of its own, the progress line wiped"
unlike "$out" "files[^"$'\r'"]*error:" "no log line is glued to the progress line"
# what follows the last carriage return is a wipe, or a log line written
# after one (the last file's error may come after the last redraw)
# (the terminal writes each newline as CR LF)
tail_seg=${out%$'\r'}
tail_seg=${tail_seg//$'\r\n'/$'\n'}
tail_seg=${tail_seg##*$'\r'}
unlike "$tail_seg" "files \\(" "no progress line is left at the end"
like "$tail_seg" "^$ESC\\[K" "the end wipes the line"
is "$(wc -l <"$MD_TMP/ingest.tsv")" 5 "a record per posted file on standard output"
is "$(grep -c -e "$ESC" -e $'\r' "$MD_TMP/ingest.tsv")" 0 "and nothing of the progress line in them"
is "$(awk -F '\t' 'NF == 5' "$MD_TMP/ingest.tsv" | wc -l)" 5 "each one line of five fields"

tty_run "md-ingest -n -r --json $IN >$MD_TMP/ingest.json"
ok "md-ingest --json on a terminal: every record parses" jq -e . "$MD_TMP/ingest.json"
is "$(jq -s length "$MD_TMP/ingest.json")" 6 "one per file, the rejection too"

run md-ingest -n -r "$IN"
unlike "$err" "files \\(|$ESC" "stderr a file: no progress line"
tty_run "md-ingest -q -n -r $IN >/dev/null"
unlike "$out" "md-ingest: [0-9]+/" "-q: no progress line"
tty_run "TERM=dumb md-ingest -n -r $IN >/dev/null"
unlike "$out" "md-ingest: [0-9]+/" "TERM=dumb: no progress line"
tty_run "md-ingest -n $IN/photo.jpg >/dev/null"
unlike "$out" "md-ingest: [0-9]+/" "a single file: no progress line"

# bulk md-enqueue: the ids read from stdin, a bad one failed at once
{ cut -f1 "$MD_TMP/ingest.tsv"; echo bogus; } >"$MD_TMP/ids"
tty_run "md-enqueue -f -p noop - <$MD_TMP/ids >$MD_TMP/enq.tsv"
is "$rc" 1 "md-enqueue - on a terminal, one id bad, exits 1" || diag "$out"
like "$out" $'\rmd-enqueue: 1/6 ids \\(16%\\), 1 failed' "md-enqueue -: ids done of all read, the bad one failed"
is "$(wc -l <"$MD_TMP/enq.tsv") $(grep -c -e "$ESC" -e $'\r' "$MD_TMP/enq.tsv")" "5 0" \
	"a record per job on standard output, nothing of the line in them"

# md-work --drain: the jobs available at the start, 5 noop jobs each
tty_run "md-work --drain >$MD_TMP/work.out"
is "$rc" 0 "md-work --drain on a terminal exits 0" || diag "$out"
like "$out" $'\rmd-work: 0/10 jobs \\(0%\\)' "md-work --drain: jobs done of those available"
like "$(cat "$MD_TMP/work.out")" "^claimed=10 succeeded=10" "its summary on standard output as it was"
run_in "$MD_TMP/ids" md-enqueue -f -p noop -
run md-work --drain
unlike "$err" "jobs \\(|$ESC" "stderr a file: no progress line"
is "$(db_count jobs "state = 'succeeded'")" 15 "and the jobs done"

done_testing
