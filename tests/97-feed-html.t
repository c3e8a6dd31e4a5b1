#!/bin/bash
# 97-feed-html.t - md-feed --out writes every page of every feed (all posts
# and each tag) as JSON and HTML pages linked to the next and previous, and
# an Atom document per feed that the RFC 4287 schema accepts; captions and
# tags are escaped, a page file is rewritten only when its bytes change,
# pages past the last are removed.  A real browser opens the pages from a
# local HTTP server: every thumbnail loads and a video plays.  On stdout
# md-feed prints posts only, each with its cursor; --all walks every page.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

# five posts, three media: a video, a still and a photo, then the still and
# the photo posted again (done at once, their renditions exist)
HOSTILE='<script>document.title="pwned"</script><img src=x onerror="document.title=1">&amp;'
post() {        # post FILE PROFILES [md-ingest options]
	local f=$1 p=$2
	shift 2
	run md-ingest "$@" "$IN/$f"
	is "$rc" 0 "md-ingest $f" || diag "$err"
	if [ -n "$p" ]; then
		printf '%s\n' "$out" | run_in /dev/stdin md-enqueue -p "$p"
	fi
}
post video.mp4 mp4,thumb -t clip --caption "a clip, with a caption long enough that the Atom title of its post is cut short at eighty characters"
post still.png thumb -t cats
post photo.jpg thumb,web -t cats -t dogs
run md-work --drain
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize
post still.png "" -t cats -t '<b>"x' --caption "$HOSTILE"
post photo.jpg "" -t dogs
run md-finalize
is "$(db_query "SELECT count(*) FROM posts WHERE status = 'completed'")" 5 "five completed posts"

# --- stdout: posts only, each with its cursor; --all ---------------------------------------
run md-feed --json -n 2
is "$rc" 0 "md-feed --json -n 2" || diag "$err"
ok "jq '.renditions|keys' reads every record (posts only)" jq -e '.renditions | keys' <<<"$out"
is "$(wc -l <<<"$out")" 2 "two records"
ok "each carries its cursor" jq -se 'all(.[]; .cursor == (.post_id | tostring))' <<<"$out"
like "$err" 'more posts.*cursor=' "the next page's cursor is told on stderr"
last=$(tail -n 1 <<<"$out" | jq -r .cursor)
run md-feed --json -n 50 --before "$last"
is "$(wc -l <<<"$out")" 3 "--before the last record's cursor: the three other posts"
unlike "$err" 'more posts' "and no more to tell"
run md-feed --json -n 2 --all
is "$rc" 0 "md-feed --all -n 2" || diag "$err"
is "$(jq -r .post_id <<<"$out" | tr '\n' ' ')" \
	"$(db_query "SELECT id FROM posts ORDER BY created_at DESC, id DESC" | tr '\n' ' ')" \
	"--all: every post once, newest first, in pages of 2"
run md-feed -n 2 --all
is "$(awk -F'\t' 'NF != 10' <<<"$out" | wc -l)" 0 "TSV --all: post lines of ten fields only"

# --- every page of every feed ------------------------------------------------------------
W=$MD_TMP/www
mkdir -p "$W"
ln -s "$STORE/renditions" "$W/renditions"       # served beside the pages, as the man page says
run md-feed --out "$W" -n 2
is "$rc" 0 "md-feed --out -n 2" || diag "$err"
for f in index.json index.html index.1.json index.1.html index.2.json index.2.html index.3.json index.3.html \
	atom.xml tags/cats.json tags/cats.html tags/cats.1.json tags/cats.2.json tags/cats.2.html tags/cats.xml \
	tags/dogs.json tags/dogs.html tags/clip.html 'tags/%3Cb%3E%22x.html' 'tags/%3Cb%3E%22x.xml'; do
	ok "$f" test -s "$W/$f"
done
ok "no page past the last" test ! -e "$W/index.4.json" -a ! -e "$W/tags/dogs.2.json"
# pages anchored to the oldest post: 1 and 2 full, 3 the newest with the one left
ok "index.json is the newest page, index.3.json" cmp "$W/index.json" "$W/index.3.json"
ok "index.3.json -> index.2.json -> index.1.json, and back" jq -se '
	.[0].next == "index.2.json" and .[0].prev == null and .[0].page == 3 and .[1].prev == "index.3.json" and
	.[1].next == "index.1.json" and .[2].next == null and .[2].prev == "index.2.json" and
	([.[].posts | length] == [1, 2, 2])' "$W/index.3.json" "$W/index.2.json" "$W/index.1.json"
is "$(jq -r '.posts[].post_id' "$W"/index.3.json "$W"/index.2.json "$W"/index.1.json | tr '\n' ' ')" \
	"$(db_query "SELECT id FROM posts ORDER BY created_at DESC, id DESC" | tr '\n' ' ')" \
	"the pages hold every post once, in order"
ok "tags/cats: 3 posts on 2 pages, the newest of one" jq -se \
	'[.[].posts | length] == [1, 1, 2] and .[0].next == "cats.1.json"' \
	"$W/tags/cats.json" "$W/tags/cats.2.json" "$W/tags/cats.1.json"
# the rest depends on no backend
if [ -n "${MD_TEST_PGHOST-}" ]; then
	done_testing
	exit
fi
ok "the HTML pages link to the next and previous" grep -q 'rel="next" href="index.2.html"' "$W/index.html"
ok "  page 1 to the newer page 2" grep -q 'rel="prev" href="index.2.html"' "$W/index.1.html"
ok "  a tag page to its next" grep -q 'rel="next" href="cats.1.html"' "$W/tags/cats.html"
ok "  the newest page's title has no number" grep -q '<title>all posts</title>' "$W/index.html"
ok "  its numbered copy has" grep -q '<title>all posts, page 3</title>' "$W/index.3.html"
ok "  tags link to their page (a hostile name percent-encoded twice in the URL)" \
	grep -q 'href="../tags/%253Cb%253E%2522x.html">#&lt;b&gt;&quot;x<' "$W/tags/cats.html"
ok "nothing is fetched from elsewhere" sh -c "! grep -l 'https\?://' $W/*.html $W/tags/*.html"

# --- hostile caption and tag: inert ----------------------------------------------------------
ok "no <script> in any page" sh -c "! grep -il '<script' $W/*.html $W/tags/*.html"
ok "the caption shows as text" grep -qF '&lt;script&gt;document.title=&quot;pwned&quot;&lt;/script&gt;' \
	"$W/index.2.html"
ok "an entity in it stays text too" grep -qF '&amp;amp;' "$W/index.2.html"
ok "the hostile tag's feed has a title of text" grep -qF '<title>#&lt;b&gt;&quot;x</title>' \
	"$W/tags/%3Cb%3E%22x.html"

# --- a browser: thumbnails load, a video plays ------------------------------------------------
# The pages and the renditions (the symlink) from a local HTTP server, in
# headless Chromium: tests/browser/feed-check.html opens each page in a frame,
# and cdp-eval.py (the DevTools protocol on a pipe) waits for what it saw.
browser_check() {
	local http port res pages=index.html,index.1.html,index.2.html,tags/cats.html,tags/cats.1.html
	if [ -n "${MD_TEST_PGHOST-}" ]; then
		skip "the browser opens the pages in the SQLite pass" 4
		return
	fi
	if ! have chromium; then
		skip "no chromium (scripts/deps.sh installs it as root): the pages are not opened in a browser" 4
		return
	fi
	cp "$MD_ROOT/tests/browser/feed-check.html" "$W/"
	PYTHONUNBUFFERED=1 python3 -m http.server --bind 127.0.0.1 -d "$W" 0 >"$T/http.log" 2>&1 &
	http=$!
	wait_for "the HTTP server" grep -q ' port ' "$T/http.log"
	port=$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$T/http.log")
	res=$(HOME=$MD_TMP TMPDIR=$MD_TMP timeout 60 python3 "$MD_ROOT/tests/browser/cdp-eval.py" \
		"http://127.0.0.1:$port/feed-check.html?$pages" \
		'new Promise((r) => { const go = () => window.feedCheck ? r(window.feedCheck) : setTimeout(go, 50); go(); })' \
		2>"$T/chromium.err" | jq -r .)
	kill "$http"
	wait "$http" 2>/dev/null
	rm -f "$W/feed-check.html"
	like "$res" ' done$' "chromium: the check ran over every page" || diag "$(tail -n 5 "$T/chromium.err")"
	like "$res" '^images=[1-9][0-9]* ' "chromium: the pages have images"
	like "$res" '^images=([0-9]+) loaded=\1 broken= ' "chromium: every one of them loaded" || diag "$res"
	like "$res" 'video=[234] playing=1 ' "chromium: the video plays (readyState >= 2, a playing event)"
}
browser_check

# --- Atom ----------------------------------------------------------------------------------
if have jing; then
	for a in atom.xml tags/cats.xml 'tags/%3Cb%3E%22x.xml'; do
		jing -c "$MD_ROOT/tests/atom.rnc" "$W/$a" >"$T/jing.out" 2>&1
		is "$?" 0 "$a is valid against RFC 4287's RELAX NG schema (jing)" || diag "$(head -n 5 "$T/jing.out")"
	done
else
	skip "no jing (scripts/deps.sh installs it as root): Atom not checked against the RFC 4287 schema" 3
fi
ok "atom.xml: the RFC's rules the schema leaves to Schematron, ids, titles, links" \
	python3 - "$W/atom.xml" "$W/index.json" <<'PY'
import json, re, sys, xml.etree.ElementTree as ET
a = "{http://www.w3.org/2005/Atom}"
feed = ET.parse(sys.argv[1]).getroot()
page = json.load(open(sys.argv[2]))["posts"]
links = {l.get("rel"): l.get("href") for l in feed.findall(a + "link")}
assert links == {"self": "atom.xml", "alternate": "index.html"}, links
assert feed.find(a + "id").text.startswith("urn:uuid:")
assert feed.find(a + "author/" + a + "name").text
entries = feed.findall(a + "entry")
assert len(entries) == 2, len(entries)
for e, p in zip(entries, page):
    assert re.fullmatch(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}",
                        e.find(a + "id").text), e.find(a + "id").text
    assert e.find(a + "author/" + a + "name").text == p["user"]
    assert e.find(a + "updated").text == p["created_at"]
    rels = [l.get("rel") for l in e.findall(a + "link")]
    assert rels.count("alternate") == 1 and rels.count("enclosure") == len(p["rendition_list"]), rels
    assert e.find(a + "content").get("type") == "html"
    t = e.find(a + "title").text
    assert not re.fullmatch(r"[0-9a-f]{64}", t), t
    if not p["caption"]:
        assert re.fullmatch(r"(Image|Video|Animation) by \S+, \d{4}-\d\d-\d\d", t), t
# the newest: the plain photo (no caption), then the hostile still
assert entries[0].find(a + "title").text.startswith("Image by "), entries[0].find(a + "title").text
assert "<script>" in entries[1].find(a + "title").text   # text, escaped in the XML
PY
run md-feed --json -t clip
clip_title=$(python3 -c 'import sys, xml.etree.ElementTree as ET
a = "{http://www.w3.org/2005/Atom}"
print(ET.parse(sys.argv[1]).getroot().find(a + "entry/" + a + "title").text)' "$W/tags/clip.xml")
is "$clip_title" "a clip, with a caption long enough that the Atom title of its post is cut short…" \
	"a long caption is cut at 80 characters with an ellipsis"
id1=$(grep -m1 -o '<entry>' -A1 "$W/tags/clip.xml" | sed -n 's/.*<id>\(.*\)<\/id>/\1/p')
run md-feed --out "$MD_TMP/www2" --feed-url https://feeds.example/m/ -n 5
ok "--feed-url: ids and self links absolute" grep -q \
	'<link rel="self" type="application/atom+xml" href="https://feeds.example/m/tags/clip.xml"/>' \
	"$MD_TMP/www2/tags/clip.xml"
is "$(grep -m1 -o '<entry>' -A1 "$MD_TMP/www2/tags/clip.xml" | sed -n 's/.*<id>\(.*\)<\/id>/\1/p')" "$id1" \
	"an entry keeps its id whatever the feed's URL and page size"

# --- rewrite only what changed; stale pages removed ------------------------------------------
stamp() { stat -c %i.%Y "$@" | tr '\n' ' '; }
old=$(stamp "$W"/index.1.* "$W"/index.2.* "$W"/tags/cats.1.*)
dogs=$(stamp "$W/tags/dogs.json" "$W/tags/dogs.html" "$W/tags/dogs.xml")
clip=$(stamp "$W/tags/clip.json" "$W/tags/clip.html" "$W/tags/clip.xml")
post still.png "" -t cats --caption "late"
run md-finalize
run md-feed --out "$W" -n 2
is "$rc" 0 "md-feed --out after a new post" || diag "$err"
like "$err" 'feed rendered.*written' "it says what it wrote"
is "$(stamp "$W/tags/dogs.json" "$W/tags/dogs.html" "$W/tags/dogs.xml")" "$dogs" \
	"a tag without the new post: its files are not rewritten"
is "$(stamp "$W/tags/clip.json" "$W/tags/clip.html" "$W/tags/clip.xml")" "$clip" "nor those of another"
ok "the feed of all posts has a third page of 2" jq -e '.posts | length == 2' "$W/index.3.json"
is "$(stamp "$W"/index.1.* "$W"/index.2.* "$W"/tags/cats.1.*)" "$old" \
	"the older pages of its feeds are not rewritten: only the newest changed"
ok "tags/cats.2.json, the newest, has it" jq -e '.posts | length == 2 and .[0].caption == "late"' \
	"$W/tags/cats.2.json"

# deleted posts: the pages past the new last one and the tag that is gone are removed
run md-post del --tag clip
is "$rc" 0 "md-post del --tag clip" || diag "$err"
run md-post del --tag '<b>"x'
run md-feed --out "$W" -n 2
is "$rc" 0 "md-feed --out after two deletions" || diag "$err"
ok "index.3.* removed" test ! -e "$W/index.3.json" -a ! -e "$W/index.3.html"
ok "the files of a tag with no post left removed" test ! -e "$W/tags/clip.html" -a ! -e "$W/tags/clip.xml" \
	-a ! -e "$W/tags/clip.json"
ok "the oldest page says so, the newest too" jq -se '.[0].next == null and .[1].prev == null' \
	"$W/index.1.json" "$W/index.2.json"
ok "what is not the feed's is left alone" test -L "$W/renditions"
done_testing
