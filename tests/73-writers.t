#!/bin/bash
# 73-writers.t - whatever bytes a caption, a user, a tag or a file name
# holds, the tools write well-formed documents: atom.xml parses as XML 1.0
# (characters XML forbids become U+FFFD), every --json and --log-format
# json line parses as JSON (invalid UTF-8 becomes U+FFFD), a text log keeps
# one record per line and TSV one record per line; the feed cursor is read
# strictly.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
OUT=$MD_TMP/www
T=$MD_TMP/t
mkdir -p "$T"
run md-db init

# every line of FILE parses as JSON, for jq and for python3
json_file_ok() {
	jq -e . "$1" >/dev/null &&
	python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1], "rb").read().split(b"\n")[:-1], 1):
    line.decode("utf-8")
    json.loads(line)
' "$1"
}

# A caption, a user and a tag XML 1.0 cannot hold (U+FFFE, U+FFFF), with
# markup, C1 and line separators; md-ingest takes them (valid UTF-8).
cap=$'<b>&amp; "it\'s"</b>\tline\nnext \uFFFE\uFFFF \u0085\u2028 \x7f end'
user=$'eve\uFFFF'
tag=$'odd\uFFFE'
run md-ingest --user "$user" --caption "$cap" -t "$tag" -t cats "$IN/still.png"
is "$rc" 0 "md-ingest takes a caption holding U+FFFE and U+FFFF" || diag "$err"
printf '%s\n' "$out" >"$T/a.tsv"
run md-ingest --caption $'ctl \x01' "$IN/photo.jpg"
note "md-ingest with a C0 control in the caption: exit $rc"
run_in "$T/a.tsv" md-enqueue -p thumb
run md-work --drain
run md-finalize
is "$rc" 0 "the post is processed"

base='https://cdn.example/m?a=1&b="x"<y>'
run md-feed --out "$OUT" --base-url "$base"
is "$rc" 0 "md-feed --out exits 0" || diag "$err"
if have xmllint; then
	ok "atom.xml is well-formed for xmllint" xmllint --noout "$OUT/atom.xml"
else
	skip "xmllint is not installed (libxml2-utils)"
fi
ok "atom.xml parses with python3's xml.etree, and holds the data with U+FFFD for U+FFFE, U+FFFF" \
	python3 -c '
import html, sys, xml.etree.ElementTree as ET
a = "{http://www.w3.org/2005/Atom}"
cap, user, base = (s.encode("utf-8", "surrogateescape").decode("utf-8") for s in sys.argv[2:5])
bad = {0xfffe: 0xfffd, 0xffff: 0xfffd}
e = ET.parse(sys.argv[1]).getroot().find(a + "entry")
assert e.find(a + "title").text == cap.split("\n")[0].translate(bad), repr(e.find(a + "title").text)
assert cap.split("\n")[0].translate(bad) in html.unescape(e.find(a + "content").text)
assert e.find(a + "author/" + a + "name").text == user.translate(bad)
link = [l for l in e.findall(a + "link") if l.get("rel") == "enclosure"][0]
assert link.get("href").startswith(base + "/renditions/"), link.get("href")
assert link.get("type") == "image/jpeg", link.get("type")
' "$OUT/atom.xml" "$cap" "$user" "$base"
ok "index.json parses, the caption kept exactly" python3 -c '
import json, sys
p = json.load(open(sys.argv[1], encoding="utf-8"))["posts"][0]
assert p["caption"] == sys.argv[2].encode("utf-8", "surrogateescape").decode("utf-8")
' "$OUT/index.json" "$cap"
for f in "$OUT"/index.json "$OUT"/tags/*.json; do
	ok "${f#"$OUT"/} parses with jq" jq -e .posts "$f"
done
run md-feed --json
ok "md-feed --json lines parse" json_lines_ok "$out"
run md-feed
is "$(printf '%s\n' "$out" | wc -l)" 1 "md-feed TSV: one post, one line"
is "$(printf '%s\n' "$out" | awk -F'\t' '{ print NF }')" 10 "md-feed TSV: ten fields"

# File names that are not UTF-8: an invalid byte, an overlong '/', an
# encoded surrogate, a truncated sequence, and a newline and a quote.
mkdir "$T/names"
for n in $'bad\xff\xfe.png' $'over\xc0\xaf.png' $'sur\xed\xa0\x80.png' $'cut\xe2\x82.png' \
	$'nl\nq"uote.png'; do
	cp "$IN/photo.jpg" "$T/names/$n"
done
printf 'not media\n' >"$T/names/"$'junk\xff\xc0\xaf\x1b[31m\n.jpg'
md-ingest --json --log-format json -v --log-level debug -r "$T/names" >"$T/ing.out" 2>"$T/ing.err"
is "$?" 1 "md-ingest -r: the media ingested, the junk rejected (exit 1)"
is "$(wc -l <"$T/ing.out")" 6 "six records on stdout"
ok "every stdout line parses as JSON (jq, python3)" json_file_ok "$T/ing.out"
ok "every stderr line parses as JSON (jq, python3)" json_file_ok "$T/ing.err"
ok "invalid bytes in a path are U+FFFD" \
	jq -se 'map(.path | select(test("bad\ufffd\ufffd[.]png$"))) | length == 1' "$T/ing.out"
ok "a debug line names each ingested file" \
	jq -se '[.[] | select(.msg == "ingested")] | length == 5' "$T/ing.err"
ok "the rejection is logged with its path" \
	jq -se '[.[] | select(.level == "error" and
		(.path | test("junk\ufffd\ufffd\ufffd\u001b")))] | length == 1' "$T/ing.err"

# the text log: one record per line, whatever the name (the media are
# duplicates now: a record each all the same)
md-ingest -r "$T/names" >"$T/ing.tsv" 2>"$T/ing.log"
is "$(wc -l <"$T/ing.log")" 1 "text log: the rejection is one line"
ok "it is a logfmt record" grep -qE '^time=[^ ]+ level=error tool=md-ingest msg="' "$T/ing.log"
ok "its invalid bytes and controls are escaped" \
	grep -qF 'path="'"$T"'/names/junk\xff\xc0\xaf\u001b[31m\n.jpg"' "$T/ing.log"
ok "the text log is valid UTF-8" \
	python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$T/ing.log"
md-ingest -v --log-level debug -r "$T/names" >/dev/null 2>"$T/ing2.log"
is "$(grep -vc '^time=' "$T/ing2.log")" 0 "text log with debug: every line starts a record"
is "$(wc -l <"$T/ing.tsv")" 5 "TSV: five ingested, five lines"
is "$(awk -F'\t' 'NF != 5' "$T/ing.tsv" | wc -l)" 0 "TSV: five fields on every line"

# the cursor: what md-feed prints, nothing else
run md-feed --before 9223372036854775807
is "$rc" 0 "--before 2^63-1 is a cursor (an empty page)"
for c in 9223372036854775808 99999999999999999999 007 0 -1 +1 ' 1' 1x ''; do
	run md-feed --before "$c"
	is "$rc" 64 "--before '$c' is a usage error"
done

done_testing
