#!/bin/bash
# 88-placeholder-feed.t - the thumb's rendition carries a BlurHash of the
# thumbnail (28 characters of base 83, 4x3 components, the same for the same
# input); md-feed, the static feed and md-status show every rendition of a
# post with its URL (a folder rendition's main file: its master.m3u8), its
# bytes and size, and the post's placeholder; --base-url makes every URL
# absolute.  A placeholder that cannot be made is a warning: the thumb job
# still succeeds, the post has no placeholder.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_sample_dirs
md_db_init

BH_RE='^[0-9A-Za-z#$%*+,.:;=?@^_{|}~[-]+$'
CFG=$MD_TMP/ph.yaml
# a profile whose output is a folder: a master playlist naming a media
# playlist and its segments, as an HLS rendition is; and a still with a
# placeholder of its own
cat >"$CFG" <<'EOF'
profiles:
  ladder:
    kinds: [video]
    output: master.m3u8
    output_kind: file
    steps:
      - [ffmpeg, -i, "{input}", -t, "1", -an, -c:v, libx264, -preset, ultrafast, -threads, "1",
         -f, hls, -hls_time, "1", -hls_playlist_type, vod, -hls_segment_filename, "{outdir}/seg%d.ts",
         -master_pl_name, master.m3u8, -y, "{outdir}/rung.m3u8"]
  poster:
    output: poster.jpg
    output_kind: image
    placeholder: true
    steps:
      - [ffmpeg, -i, "{input}", -frames:v, "1", -vf, "scale=64:-2", -y, "{output}"]
EOF
chmod 600 "$CFG"

run md-ingest -t clip "$IN/video.mp4"
printf '%s\n' "$out" >"$T/a.tsv"
vid=$(cut -f2 "$T/a.tsv")
run_in "$T/a.tsv" md-enqueue -c "$CFG" -p thumb,ladder,poster
is "$rc" 0 "three jobs enqueued" || diag "$err"
run md-work -c "$CFG" --drain
is "$rc" 0 "md-work --drain" || diag "$err"
run md-finalize -c "$CFG"
is "$(db_query "SELECT status FROM posts WHERE media = '$vid'")" completed "the post is completed"

# --- the thumb's metadata ------------------------------------------------------------
meta=$(db_query "SELECT metadata FROM renditions WHERE media = '$vid' AND profile = 'thumb'")
bh=$(printf '%s' "$meta" | jq -r .blurhash)
is "${#bh}" 28 "the thumb's blurhash is 28 characters (4 + 2 x 4 x 3)"
like "$bh" "$BH_RE" "all of the base 83 alphabet"
is "${bh:0:1}" L "its size flag says 4x3 components"
is "$(printf '%s' "$meta" | jq -c .blurhash_components)" "[4,3]" "the components are in the metadata"
is "$(printf '%s' "$meta" | jq -c '.output_probe.streams[0] | [.width, .height]')" "[320,240]" \
	"and the thumbnail's width and height"

# the same input gives the same hash: the thumb made again
run_in "$T/a.tsv" md-enqueue -f -p thumb
run md-work --drain
run md-finalize
is "$(db_query "SELECT count(*) FROM jobs WHERE media = '$vid' AND profile = 'thumb' AND state = 'succeeded'")" 2 \
	"the thumb was made a second time"
is "$(db_query "SELECT metadata FROM renditions WHERE media = '$vid' AND profile = 'thumb'" | jq -r .blurhash)" \
	"$bh" "its blurhash is the same"

# --- md-feed -------------------------------------------------------------------------
run md-feed --json
is "$rc" 0 "md-feed --json" || diag "$err"
post=$(printf '%s\n' "$out" | jq -c "select(.media == \"$vid\")")
is "$(printf '%s' "$post" | jq -r .placeholder)" "$bh" "the post's placeholder is the thumb's blurhash"
is "$(printf '%s' "$post" | jq -r '[.rendition_list[].profile] | join(",")')" "ladder,poster,thumb" \
	"rendition_list has every rendition, by profile"
ok "each with a URL and its bytes" jq -e \
	'[.rendition_list[] | (.url | length > 0) and .bytes > 0] | all' <<<"$post"
ok "the URLs are those of renditions" jq -e \
	'. as $p | [.rendition_list[] | .url == $p.renditions[.profile]] | all' <<<"$post"
lurl=$(jq -r '.rendition_list[] | select(.profile == "ladder") | .url' <<<"$post")
like "$lurl" '/ladder/[0-9]+-[0-9]+/master\.m3u8$' "the folder rendition's URL is its master.m3u8"
lfile=$(rendition_file "$lurl")
ok "which exists" test -s "$lfile"
ok "beside the playlist it names" test -s "$(dirname "$lfile")/$(grep -m1 -v '^#' "$lfile")"
is "$(jq -r '.rendition_list[] | select(.profile == "ladder") | .bytes' <<<"$post")" \
	"$(du -bc "$(dirname "$lfile")"/* | tail -n 1 | cut -f1)" "its bytes are the whole folder's"
is "$(jq -c '.rendition_list[] | select(.profile == "thumb") | [.width, .height, .placeholder]' <<<"$post")" \
	"[320,240,\"$bh\"]" "the thumb shows its size and placeholder"
pbh=$(jq -r '.rendition_list[] | select(.profile == "poster") | .placeholder' <<<"$post")
like "$pbh" "$BH_RE" "a profile with placeholder: true has one of its own"
is "$(jq -c '.rendition_list[] | select(.profile == "poster") | [.width, .height]' <<<"$post")" "[64,48]" \
	"and its own size"
is "$(jq -r '.rendition_list[] | select(.profile == "ladder") | has("placeholder")' <<<"$post")" false \
	"a profile without one shows none"

run md-feed --json --base-url https://cdn.example/m
ok "--base-url makes every listed URL absolute" jq -se \
	'[.[] | select(.post_id) | .rendition_list[].url | startswith("https://cdn.example/m/renditions/")] | all and length == 3' \
	<<<"$out"
run md-feed
is "$(printf '%s\n' "$out" | head -n 1 | awk -F'\t' '{ print NF }')" 10 "the TSV output keeps its ten fields"

# --- the static feed -----------------------------------------------------------------
W=$MD_TMP/www
run md-feed --out "$W" --base-url https://cdn.example/m
is "$rc" 0 "md-feed --out" || diag "$err"
for page in index.json tags/clip.json; do
	ok "$page: the placeholder and every rendition with an absolute URL" jq -e --arg bh "$bh" \
		'.posts[0] | .placeholder == $bh and (.rendition_list | length == 3) and
		 ([.rendition_list[].url | startswith("https://cdn.example/m/")] | all)' "$W/$page"
done
ok "atom.xml: an enclosure for every rendition, with its media type, and its length for a file" \
	python3 - "$W/atom.xml" "$W/index.json" <<'PY'
import json, sys, xml.etree.ElementTree as ET
a = "{http://www.w3.org/2005/Atom}"
e = ET.parse(sys.argv[1]).getroot().find(a + "entry")
got = {l.get("title"): (l.get("href"), l.get("type"), l.get("length"))
       for l in e.findall(a + "link") if l.get("rel") == "enclosure"}
post = json.load(open(sys.argv[2]))["posts"][0]
want = {r["profile"]: (r["url"], None, str(r["bytes"])) for r in post["rendition_list"]}
want["thumb"] = (want["thumb"][0], "image/jpeg", want["thumb"][2])
want["poster"] = (want["poster"][0], "image/jpeg", want["poster"][2])
want["ladder"] = (want["ladder"][0], "application/vnd.apple.mpegurl", None)
assert got == want, (got, want)
PY

# --- md-status -----------------------------------------------------------------------
run md-status "$vid"
is "$rc" 0 "md-status MEDIA" || diag "$err"
is "$(printf '%s\n' "$out" | grep -c '^rendition	')" 3 "a rendition record for each rendition"
is "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "rendition" && $2 == "thumb" { print $5 "x" $6, $9 }')" \
	"320x240 $bh" "the thumb's: its size and placeholder"
like "$(printf '%s\n' "$out" | awk -F'\t' '$1 == "rendition" && $2 == "ladder" { print $3 }')" \
	'master\.m3u8$' "the ladder's: its master playlist"
run md-status --json "$vid"
ok "md-status --json: the post's rendition_list and placeholder" jq -e --arg bh "$bh" \
	'.placeholder == $bh and (.rendition_list | length == 3)' <<<"$out"

# --- a placeholder that cannot be made -----------------------------------------------
# an ffmpeg that makes everything but raw pixels
real=$(command -v ffmpeg)
mkdir -p "$MD_TMP/shim"
cat >"$MD_TMP/shim/ffmpeg" <<EOF
#!/bin/sh
case " \$* " in *" rawvideo "*) echo "no raw video here" >&2; exit 1 ;; esac
exec "$real" "\$@"
EOF
chmod 755 "$MD_TMP/shim/ffmpeg"
run md-ingest -t still "$IN/still.png"
printf '%s\n' "$out" >"$T/b.tsv"
img=$(cut -f2 "$T/b.tsv")
run_in "$T/b.tsv" md-enqueue -p thumb
PATH=$MD_TMP/shim:$PATH run md-work --drain
is "$rc" 0 "the thumb job ends well" || diag "$err"
like "$err" "no placeholder for '.*thumb\.jpg': ffmpeg exited with 1" "the failed placeholder is logged"
is "$(db_query "SELECT state FROM jobs WHERE media = '$img'")" succeeded "the job succeeded"
run md-finalize
is "$(db_query "SELECT metadata FROM renditions WHERE media = '$img' AND profile = 'thumb'" | jq -r 'has("blurhash")')" \
	false "its rendition has no blurhash"
run md-feed --json -t still
ok "md-feed: the post has its thumb and a null placeholder" jq -e \
	'.placeholder == null and (.rendition_list | length == 1) and (.rendition_list[0] | has("placeholder") | not)' \
	<<<"$out"

done_testing
