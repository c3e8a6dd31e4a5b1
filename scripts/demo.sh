#!/bin/sh
# demo.sh - the main job, end to end, on the embedded SQLite default:
# sample media is generated, ingested, processed, finalized and shown as
# a feed; every rendition is read back with ffprobe.
#
# Everything lives under ./demo (removed and made anew on each run).
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
demo=$root/demo
PATH=$root:$PATH
MD_HOME=$demo/home
export PATH MD_HOME
unset MD_DB MD_STORAGE MD_CONFIG MD_CONFIG_SYSTEM
# the host's /etc/memedroid/config.yaml is not the demo's
MD_CONFIG_NOSYSTEM=1
export MD_CONFIG_NOSYSTEM
XDG_CONFIG_HOME=$demo/config
export XDG_CONFIG_HOME

rm -rf "$demo"
mkdir -p "$demo/inbox"
sh scripts/make-samples.sh "$demo/inbox"

say() { printf '\n== %s\n' "$*"; }

say "md-db init"
md-db -q init

say "md-ingest -r inbox | md-enqueue -p mp4,thumb"
md-ingest -q -r --user demo --tag demo --caption "memedroid demo" "$demo/inbox" |
	tee "$demo/ingest.tsv" | md-enqueue -q -p mp4,thumb

say "md-work --drain -j 2"
md-work -q --drain -j 2

say "md-finalize"
md-finalize -q

say "md-feed --json"
md-feed --json --tag demo | tee "$demo/feed.jsonl" |
	jq -c 'select(.post_id) | {post_id, kind, status, renditions: (.renditions | keys)}'

say "renditions read back with ffprobe"
bad=0
for key in $(jq -r 'select(.post_id) | .renditions[]' "$demo/feed.jsonl"); do
	f=$MD_HOME/storage/$key
	if desc=$(ffprobe -v error -show_entries stream=codec_name,width,height \
		-of csv=p=0 "$f" | tr '\n' ' '); then
		printf '%-8s %s\n' ok "$(basename "$(dirname "$f")")/$(basename "$f"): $desc"
	else
		printf '%-8s %s\n' BAD "$key"
		bad=1
	fi
done
posts=$(jq -s '[.[] | select(.post_id)] | length' "$demo/feed.jsonl")
done_=$(jq -s '[.[] | select(.status == "completed")] | length' "$demo/feed.jsonl")
inputs=$(wc -l < "$demo/ingest.tsv")
say "summary"
echo "$inputs inputs, $posts posts in the feed, $done_ completed"
[ "$bad" -eq 0 ] && [ "$posts" -eq "$inputs" ] && [ "$done_" -eq "$posts" ] || {
	echo "demo: FAILED" >&2
	exit 1
}
echo "demo: all posts completed; data in $demo"
