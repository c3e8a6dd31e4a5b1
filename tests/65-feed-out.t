#!/bin/bash
# 65-feed-out.t - md-feed --out renders the feed as static files (index.json
# and index.html, a JSON and an HTML page and an Atom document per tag,
# atom.xml), atomically, and rewrites them only when the feed changed since
# the last render; tag names never become paths.  (tests/97-feed-html.t: the
# pages past the first, the HTML and the Atom.)
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup

IN=$MD_TMP/in
md_samples "$IN"
OUT=$MD_TMP/www
run md-db init
run md-ingest -t cats -t 'we/ird..' "$IN/still.png"
printf '%s\n' "$out" >"$MD_TMP/a.tsv"
run md-ingest -t dogs "$IN/photo.jpg"
printf '%s\n' "$out" >>"$MD_TMP/a.tsv"
run_in "$MD_TMP/a.tsv" md-enqueue -p thumb
run md-work --drain
run md-finalize
is "$rc" 0 "two posts processed"

run md-feed --out "$OUT" --base-url https://cdn.example/m
is "$rc" 0 "md-feed --out exits 0" || diag "$err"
ok "index.json is JSON with both posts" jq -e '.posts | length == 2' "$OUT/index.json"
ok "rendition URLs are absolute" jq -e \
	'[.posts[].renditions.thumb | startswith("https://cdn.example/m/renditions/")] | all' "$OUT/index.json"
ok "tags/cats.json has the cat post" jq -e '.posts | length == 1 and (.[0].tags | index("cats"))' \
	"$OUT/tags/cats.json"
ok "tags/dogs.json has the dog post" jq -e '.posts | length == 1' "$OUT/tags/dogs.json"
ok "a tag with '/' and '..' is percent-encoded into one file name" \
	test -f "$OUT/tags/we%2Fird%2E%2E.json"
is "$(find "$OUT" -type f ! -name '.version' ! -name '.digests' | wc -l)" 20 \
	"index.json, index.html, index.1.json, index.1.html, atom.xml and the same five for each of three tags"
ok "atom.xml is well-formed XML with two entries" \
	python3 -c 'import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]); sys.exit(0 if len(d.getElementsByTagName("entry")) == 2 else 1)' \
	"$OUT/atom.xml"

# unchanged feed: nothing rewritten
before=$(stat -c %Y.%i "$OUT/index.json")
run md-feed --out "$OUT" --base-url https://cdn.example/m
is "$rc" 0 "a second render exits 0"
like "$err" 'unchanged' "it says the feed is unchanged"
is "$(stat -c %Y.%i "$OUT/index.json")" "$before" "index.json was not rewritten"

# a new finished post changes the feed: rendered again
run md-ingest -t cats "$IN/anim.gif"
printf '%s\n' "$out" >"$MD_TMP/b.tsv"
run_in "$MD_TMP/b.tsv" md-enqueue -p thumb
run md-work --drain
run md-finalize
run md-feed --out "$OUT" --base-url https://cdn.example/m
like "$err" 'rendered' "after a new post the feed is rendered again"
ok "index.json now has three posts" jq -e '.posts | length == 3' "$OUT/index.json"
ok "tags/cats.json has two" jq -e '.posts | length == 2' "$OUT/tags/cats.json"
is "$(find "$OUT" -name '*.tmp' | wc -l)" 0 "no temp file is left"

run md-feed --out "$MD_TMP/in/still.png/x"
isnt "$rc" 0 "an --out under a file fails"

done_testing
