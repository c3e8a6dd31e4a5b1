#!/bin/bash
# 96-logs.t - log lines as a person, a pipe and journald see them: the
# human form on a terminal (git style, no time) unless --log-format or
# log.format says otherwise; logfmt in a pipe; JSON with ids, counts and
# durations as numbers; each key once per line; a hostile file name that
# forges no line in any form; the syslog priority before each line when
# JOURNAL_STREAM names stderr, and none when it names another file.
# Once, in the SQLite pass: the log does not depend on the database.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
T=$MD_TMP
[ "$MD_BACKEND" = sqlite ] || plan skip_all "the log does not depend on the database: run in the SQLite pass"
have script || plan skip_all "no script(1) (util-linux) for a terminal"
have jq && have python3 || plan skip_all "no jq or python3"

md_db_init
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=32x24 -frames:v 1 "$T/a.png" ||
	BAIL_OUT "ffmpeg failed"
cp "$T/a.png" "$T/b.png"
mkdir "$T/bad"
bad="$T/bad/x
level=error msg=forged"$'\e]0;owned\a\e[2J'".png"
printf 'not media' >"$bad"

# tty CMD - CMD's output (stdout and stderr) on a terminal, CRs dropped
tty() { script -qefc "$1" /dev/null </dev/null | tr -d '\r'; }
# no_dup_keys FILE - every JSON line of FILE holds each key once
no_dup_keys() {
	python3 -c 'import json, sys
def pairs(p):
    keys = [k for k, _ in p]
    if len(keys) != len(set(keys)):
        sys.exit("duplicate key in " + repr(keys))
    return dict(p)
for line in open(sys.argv[1]):
    json.loads(line, object_pairs_hook=pairs)' "$1"
}

# --- a person at a terminal -------------------------------------------------------
h=$(tty "md-ingest -q '$bad'; md-job show 424242")
like "$h" "^md-ingest: error: cannot ingest '$T/bad/x\\\\nlevel=error msg=forged\\\\x1b\\]0;owned\\\\x07\\\\x1b\\[2J\\.png': " \
	"human: tool, 'error:', the event, the name with its controls escaped, the reason"
is "$(grep -c . <<<"$h")" 2 "human: one line per event, none forged by the name"
like "$h" $'\n''md-job: error: no such job \(job 424242\)$' "human: the id composed into the line"
unlike "$h" '(^|'$'\n'')(time=|level=|\{)' "human: no time, no logfmt or JSON"
ok "human: no escape byte reaches the terminal" test "$(printf '%s' "$h" | tr -d -c '\033\007' | wc -c)" -eq 0
like "$(tty "md-job --log-format text show 424242")" '^time=[^ ]+ level=error tool=md-job msg="no such job" job_id=424242$' \
	"--log-format text wins over the terminal"
printf 'log:\n  format: json\n' >"$T/json.yaml"
run jq -e 'select(.msg == "no such job") | .job_id == 424242' <<<"$(tty "md-job -c '$T/json.yaml' show 424242")"
is "$rc" 0 "log.format: json in the config wins over the terminal too"
like "$(md-job --log-format human show 424242 2>&1)" '^md-job: error: no such job \(job 424242\)$' \
	"--log-format human asks for it in a pipe"

# --- a pipe: logfmt, then JSON ----------------------------------------------------------
run md-ingest -v "$T/a.png" "$bad"
is "$rc" 1 "md-ingest of a good and a bad file exits 1"
like "$err" '(^|'$'\n'')time=[^ ]+ level=debug tool=md-ingest msg=ingested path=[^ ]+ status=[a-z]+ kind=image .*post_id=1[^0-9]' \
	"logfmt in a pipe: the event as msg, the post id a bare field"
is "$(grep -c '^time=' <<<"$err")" "$(grep -c . <<<"$err")" "logfmt: every line is a record, none forged by the name"
dups=$(while IFS= read -r l; do
	grep -oE ' [a-z_]+=' <<<"${l#*msg=}" | sort | uniq -d
done <<<"$err")
is "$dups" "" "logfmt: no key twice in a line"

md-ingest -v --log-format json "$T/a.png" "$T/b.png" "$bad" >/dev/null 2>"$T/ing.json"
ok "json: every line is a JSON object" jq -e 'type == "object"' "$T/ing.json"
ok "json: post_id is a number" jq -se '[.[] | select(.post_id)] | length >= 2 and all(.post_id | type == "number")' \
	"$T/ing.json"
ok "json: no key twice in a line (the post already found and the context's)" no_dup_keys "$T/ing.json"
ok "json: the hostile name is a string field of one line" \
	jq -se --arg p "$bad" '[.[] | select(.msg == "cannot ingest" and .path == $p)] | length == 1' "$T/ing.json"

run md-enqueue -p thumb 1
is "$rc" 0 "md-enqueue a thumbnail" || diag "$err"
md-work --once --log-format json >/dev/null 2>"$T/work.json"
ok "json: md-work's job lines hold job_id as a number" \
	jq -se '[.[] | select(.msg == "job succeeded")] | length == 1 and
		all(.job_id == 1 and (.seconds | type == "number") and .profile == "thumb")' "$T/work.json"
ok "json: md-work's lines hold each key once" no_dup_keys "$T/work.json"
run md-job -v --log-format json retry 1
ok "json: md-job's job_id is a number" jq -se 'any(.job_id == 1)' <<<"$err"

# --- journald ---------------------------------------------------------------------
: >"$T/j.err"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$T/j.err") md-ingest -v "$T/a.png" "$bad" >/dev/null 2>"$T/j.err"
j=$(cat "$T/j.err")
like "$j" '(^|'$'\n'')<3>level=error tool=md-ingest msg="cannot ingest" ' "journald: <3> before an error"
like "$j" '(^|'$'\n'')<7>level=debug tool=md-ingest msg=' "journald: <7> before debug"
is "$(grep -vc '^<[3467]>level=' <<<"$j")" 0 "journald: every line has its priority and no time (journald stamps it)"
: >"$T/j.json"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$T/j.json") md-job --log-format json show 424242 2>"$T/j.json"
ok "journald: the JSON form keeps its priority too" grep -q '^<3>{"level":"error"' "$T/j.json"
# stderr is n.err, made first; the stream named is j.err's (an inode
# number made up, such as j.err's plus one, may be the very one n.err gets)
: >"$T/n.err"
JOURNAL_STREAM=$(stat -L -c '%d:%i' "$T/j.err") md-job show 424242 2>>"$T/n.err"
ok "another file's JOURNAL_STREAM: no priority, the time kept" grep -q '^time=[^ ]* level=error' "$T/n.err"

done_testing
