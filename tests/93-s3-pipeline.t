#!/bin/bash
# 93-s3-pipeline.t - the whole pipeline on S3 storage (s3://BUCKET/PREFIX on
# tests/s3-server.sh's s3rver), on either database backend, every object
# the tools wrote read back with another client: the curl CLI signing with
# --aws-sigv4.
#   1. settings in the config file (the AWS_* variables set to wrong
#      values beside it, which it must win over): md-db init; md-ingest of
#      the generated samples; md-enqueue of probe, mp4, thumb, web, frames
#      and hls; md-work --drain; md-finalize.  Then every original and
#      every rendition file md-feed --json and md-status --json report is
#      fetched: 200, the bytes the database says (an HLS folder: the sum of
#      its files), the original's SHA-256; ffprobe reads the mp4, the
#      thumbs and an HLS segment (with its init), unzip -t the frames
#      archive, the master playlist names only playlists in the bucket.
#   2. md-janitor (which asks s3rver for the multipart uploads once: its
#      501 NotImplemented is not retried): after it no object in the bucket
#      is one that no row references; an object put with curl under
#      originals/ (and one in a stale rendition folder) stays while younger
#      than janitor.orphan_grace and goes once older (its age polled).
#   3. md-feed --presign 1h: each URL fetched by plain curl (no signature)
#      gives the object; a URL signed with a wrong secret gives 403.
#      md-feed --base-url: the base then the key, a URL of the object.
#   4. settings from AWS_ENDPOINT_URL_S3 and the AWS_* key pair, the config
#      file naming only the storage URL, a scratch directory of its own and
#      keep_originals: false: md-finalize removes the original object
#      (HEAD 404), the renditions stay; presigned URLs from the
#      environment's keys; a wrong AWS_SECRET_ACCESS_KEY's URL is refused.
#   5. no temp file or work directory is left in either scratch directory.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
have ffprobe && have unzip && have jq || plan skip_all "no ffprobe, unzip or jq"
# the server's key pair and region are kept in KEY, SECRET, REGION: part 1
# does not take them from the environment
s3_start

# s3 CURL-ARG... URL-PATH: a request signed with the server's keys, to
# $endpoint/URL-PATH; $code, the body in $MD_TMP/body
s3() {
	local path=${!#}
	code=$(curl -s -o "$MD_TMP/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
		--user "$KEY:$SECRET" -H "x-amz-content-sha256: $EMPTY" "${@:1:$#-1}" "$endpoint/$path")
}
# head KEY: a signed HEAD of storage key KEY; $code
head_key() {
	code=$(curl -s -I -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
		--user "$KEY:$SECRET" -H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$prefix/$1")
}
# put FILE KEY: a signed PUT of FILE as storage key KEY; $code
put() {
	code=$(curl -s -o "$MD_TMP/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
		--user "$KEY:$SECRET" -H "x-amz-content-sha256: $(sha256 "$1")" -T "$1" \
		"$endpoint/$bucket/$prefix/$2")
}
# bucket_keys: the storage keys in the bucket below the prefix (the prefix
# cut off), sorted, one a line (ListObjectsV2; the query encoded as SigV4
# wants it, which curl 7.88 does not do itself)
bucket_keys() {
	s3 "$bucket?list-type=2&max-keys=1000&prefix=$prefix%2F"
	[ "$code" = 200 ] || { diag "list: $code $(head -c 300 "$MD_TMP/body")"; return 1; }
	grep -q '<IsTruncated>false</IsTruncated>' "$MD_TMP/body" || diag "list: more than one page"
	grep -o '<Key>[^<]*</Key>' "$MD_TMP/body" | sed "s|^<Key>$prefix/||; s|</Key>\$||" | sort
}
# age KEY: seconds since the object KEY was last written (its Last-Modified)
age() {
	local lm
	lm=$(curl -s -I --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
		-H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$prefix/$1" |
		tr -d '\r' | sed -n 's/^[Ll]ast-[Mm]odified: //p')
	[ -n "$lm" ] || return 1
	echo $(( $(date +%s) - $(date -d "$lm" +%s) ))
}
# referenced: the storage keys the database names: every file of
# every rendition (its folder's files, in its metadata) and the original of
# every media whose original is kept (argument: SQL condition on media m)
referenced() {
	db_query "SELECT storage_key, metadata FROM renditions" |
		while IFS=$'\t' read -r k meta; do
			jq -r --arg d "${k%/*}" '.files[] | $d + "/" + .' <<<"$meta"
		done
	db_query "SELECT 'originals/' || substr(sha256, 1, 2) || '/' || substr(sha256, 3, 2) || '/' ||
		sha256 || '.' || ext FROM media m WHERE ${1:-true}"
}
# the objects no row references
unreferenced() {
	comm -23 <(bucket_keys) <(referenced "$@" | sort)
}
scratch_left() {
	find "$1" -mindepth 2 | sed "s|^$1/||"
}

s3 -X PUT "$bucket"
is "$code" 200 "a bucket made with curl" || BAIL_OUT "cannot make a bucket: $(cat "$MD_TMP/body")"

# --- 1. the pipeline, settings in the config file -------------------------------------
CFG=$MD_TMP/s3.yaml
# it holds the secret: only its owner reads it
touch "$CFG"
chmod 600 "$CFG"
cat >"$CFG" <<EOF
storage:
  url: s3://$bucket/$prefix
  endpoint: $endpoint
  region: $REGION
  access_key_id: $KEY
  secret_access_key: $SECRET
janitor:
  orphan_grace: 3s
EOF
export MD_CONFIG=$CFG
# wrong values the config file must win over
export AWS_ENDPOINT_URL=http://127.0.0.1:9 AWS_ACCESS_KEY_ID=nobody AWS_SECRET_ACCESS_KEY=wrong

md_db_init
ok "md-db init makes the local scratch directories" test -d "$MD_HOME/scratch/tmp" -a -d "$MD_HOME/scratch/work"
is "$(bucket_keys | wc -l)" 0 "and writes no object"

md_sample_dirs
md_ingest_samples
is "$(jq -s 'map(select(.status == "pending")) | length' "$T/ingest.json")" 5 "5 samples ingested, pending"
posts=$(jq -r .post_id "$T/ingest.json")

# every original: at its content address, the bytes ingested
while IFS=$'\t' read -r sha ext bytes; do
	s3_fetch "originals/$(shard "$sha").$ext" "$T/orig"
	is "$code" 200 "original $ext read back with curl"
	is "$(stat -c %s "$T/orig")" "$bytes" "its size is media.bytes ($bytes)"
	is "$(sha256 "$T/orig")" "$sha" "its SHA-256 is its name"
done < <(db_query "SELECT sha256, ext, bytes FROM media")

profiles=probe,mp4,thumb,web,frames,hls
run md-enqueue -p "$profiles" $posts
is "$rc" 0 "md-enqueue -p $profiles" || diag "$err"
njobs=$(db_count jobs)
is "$njobs" 20 "20 jobs: probe and thumb for each, mp4 and frames for the videos and the GIF, hls for the videos, web for the stills"
run md-work --drain -j 2
is "$rc" 0 "md-work --drain -j 2 exits 0" || diag "$err"
is "$out" "claimed=$njobs succeeded=$njobs retried=0 dead=0 released=0" "every job succeeded" ||
	diag "$(db_query "SELECT id, profile, state, last_error FROM jobs WHERE state <> 'succeeded'")"
run md-finalize
is "$rc" 0 "md-finalize exits 0" || diag "$err"
is "$(db_count posts "status = 'completed'")" 5 "5 posts completed"
ok "nothing in the default local storage directory" test ! -e "$STORE"

run md-feed --json
is "$rc" 0 "md-feed --json" || diag "$err"
printf '%s\n' "$out" | jq -c 'select(has("post_id"))' >"$T/feed.json"
is "$(wc -l <"$T/feed.json")" 5 "md-feed lists the 5 posts"
run md-status --json $posts
is "$rc" 0 "md-status --json" || diag "$err"
is "$(jq -cS '{post_id, renditions}' <<<"$out" | sort)" "$(jq -cS '{post_id, renditions}' "$T/feed.json" | sort)" \
	"md-status reports the renditions md-feed does"
like "$(jq -r '.renditions[]' "$T/feed.json" | head -n 1)" '^renditions/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}/' \
	"the feed's renditions are storage keys"

# every rendition file the database names: read back, the bytes it says
mkdir -p "$T/got"
n=0
while IFS=$'\t' read -r media profile key bytes meta; do
	d=${key%/*}
	sum=0 bad=
	for f in $(jq -r '.files[]' <<<"$meta"); do
		local_file=$T/got/$media/$profile/$f
		mkdir -p "${local_file%/*}"
		s3_fetch "$d/$f" "$local_file"
		[ "$code" = 200 ] || bad="$bad $f:$code"
		sum=$((sum + $(stat -c %s "$local_file")))
	done
	is "$bad|$sum" "|$bytes" "${media:0:8} $profile: every file read back, $bytes bytes in all"
	n=$((n + 1))
done < <(db_query "SELECT media, profile, storage_key, bytes, metadata FROM renditions ORDER BY media, profile")
is "$n" "$njobs" "a rendition row for each job"
# and the keys the feed names are those files
missing=$(jq -r '.media as $m | .renditions | to_entries[] | "\($m)/\(.key)/\(.value | split("/") | last)"' \
	"$T/feed.json" | while read -r p; do [ -s "$T/got/$p" ] || echo "$p"; done)
is "$missing" "" "every key md-feed reports was read back"

# what the files are
video=$(sha256 "$IN/video.mp4")
gif=$(sha256 "$IN/anim.gif")
photo=$(sha256 "$IN/photo.jpg")
G=$T/got/$video
is "$(vprop "$G/mp4/video.mp4" codec_name,pix_fmt)" "h264,yuv420p" "ffprobe: the mp4 is H.264 yuv420p"
is "$(ffprobe -v error -select_streams a:0 -show_entries stream=codec_name -of csv=p=0 "$G/mp4/video.mp4")" aac \
	"with its AAC audio"
like "$(vprop "$T/got/$gif/mp4/video.mp4" codec_name)" '^h264' "the GIF's mp4 too"
like "$(vprop "$G/thumb/thumb.jpg" codec_name)" '^(mjpeg|webp|png)$' "the thumb is a still image"
like "$(vprop "$T/got/$photo/web/web.jpg" codec_name)" '^(mjpeg|webp)$' "the web image too"
ok "probe.json is JSON" jq -e . "$G/probe/probe.json"
ok "unzip -t passes the frames archive" unzip -tq "$G/frames/frames.zip"
ok "the GIF's too" unzip -tq "$T/got/$gif/frames/frames.zip"
# hls: the master names only playlists in the bucket; a rung's first
# segment, with its init section, is a video ffprobe reads
hkey=$(db_query "SELECT storage_key FROM renditions WHERE media = '$video' AND profile = 'hls'")
hdir=${hkey%/*}
bucket_keys >"$T/keys"
named=$( { grep -v '^#' "$G/hls/master.m3u8"; grep -o 'URI="[^"]*"' "$G/hls/master.m3u8" | sed 's/^URI="//; s/"$//'; } |
	grep . | sort -u)
ok "the master names playlists" test -n "$named"
absent=$(for p in $named; do grep -qxF "$hdir/$p" "$T/keys" || echo "$p"; done)
is "$absent" "" "every playlist the master names is in the bucket"
rung=$(grep -v '^#' "$G/hls/master.m3u8" | grep . | head -n 1)
rungdir=${rung%/*}
init=$(grep -o 'EXT-X-MAP:URI="[^"]*"' "$G/hls/$rung" | sed 's/.*URI="//; s/"$//')
seg=$(grep -v '^#' "$G/hls/$rung" | grep . | head -n 1)
ok "the rung $rung names a segment" test -n "$seg"
s3_fetch "$hdir/$rungdir/$seg" "$T/seg"
is "$code" 200 "its first segment $seg, read with curl"
if [ -n "$init" ]; then
	s3_fetch "$hdir/$rungdir/$init" "$T/init"
	is "$code" 200 "its init section $init"
	cat "$T/init" "$T/seg" >"$T/seg.mp4"
else
	skip "the rung has no init section" 1
	cp "$T/seg" "$T/seg.mp4"
fi
is "$(vprop "$T/seg.mp4" codec_name)" h264 "ffprobe reads the segment: H.264"

# --- 2. md-janitor: nothing unreferenced left; an orphan goes after its grace ------------
n501=$(grep -ac 'uploads= 501 ' "$S3/server.log")
run md-janitor --json
is "$rc" 0 "md-janitor exits 0" || diag "$err"
like "$err" 'does not list multipart uploads' "it warns that s3rver does not list multipart uploads"
is "$(( $(grep -ac 'uploads= 501 ' "$S3/server.log") - n501 ))" 1 \
	"it asks once: a 501 NotImplemented is not retried"
is "$(jq -r 'select(has("orphans")) | .orphans' <<<"$out")" 0 "it finds no orphan after the pipeline"
is "$(unreferenced)" "" "every object in the bucket is one the database references"

head -c 3000 /dev/urandom >"$T/stray"
stray=originals/$(shard "$(sha256 "$T/stray")").jpg
put "$T/stray" "$stray"
is "$code" 200 "an unreferenced object put with curl under originals/"
stale="renditions/$(shard "$video")/mp4/999-1/video.mp4"
put "$T/stray" "$stale"
is "$code" 200 "and one in a rendition folder no row names"
run md-janitor --json
is "$rc" 0 "md-janitor, the objects younger than orphan_grace" || diag "$err"
head_key "$stray"
is "$code" 200 "the young one under originals/ stays"
head_key "$stale"
is "$code" 200 "so does the young rendition"
older() { local a; a=$(age "$stray") && [ "$a" -gt 4 ]; }
ok "the objects' age passes orphan_grace (3s)" wait_for "the stray object older than 4 s" older
run md-janitor --json
is "$rc" 0 "md-janitor once they are older" || diag "$err"
is "$(jq -r 'select(has("orphans")) | .orphans' <<<"$out")" 2 "it counts 2 orphans" || diag "$out" "$err"
is "$(jq -r 'select(.action == "remove") | .subject' <<<"$out" | sort | tr '\n' ' ')" "$stray ${stale%/*} " \
	"and names the object and the run folder"
head_key "$stray"
is "$code" 404 "the object under originals/ is gone (HEAD 404)"
head_key "$stale"
is "$code" 404 "the stale rendition too"
is "$(unreferenced)" "" "the bucket holds only referenced objects"
is "$(referenced | sort | comm -13 "$T/keys" -)" "" "and every referenced object is still there"

# --- 3. presigned URLs and --base-url ------------------------------------------------------
run md-feed --json --presign 1h
is "$rc" 0 "md-feed --presign 1h" || diag "$err"
printf '%s\n' "$out" | jq -c 'select(has("post_id"))' >"$T/presign.json"
urls=$(jq -r '.media as $m | .renditions | to_entries[] | "\($m)/\(.key)/\(.value | split("?")[0] | split("/") | last)\t\(.value)"' \
	"$T/presign.json")
is "$(grep -c . <<<"$urls")" "$njobs" "a presigned URL for every rendition"
like "$(head -n 1 <<<"$urls" | cut -f2)" "^$endpoint/$bucket/$prefix/renditions/[^?]+\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&.*X-Amz-Expires=3600" \
	"path style at the endpoint, under the prefix, valid an hour"
bad=
while IFS=$'\t' read -r p url; do
	c=$(curl -s -o "$T/pre" -w '%{http_code}' "$url")
	{ [ "$c" = 200 ] && cmp -s "$T/pre" "$T/got/$p"; } || bad="$bad $p:$c"
done <<<"$urls"
is "$bad" "" "each URL, fetched by plain curl, gives 200 and the object's bytes"
like "$(head -n 1 <<<"$urls")" "X-Amz-Credential=$KEY%2F" "signed with the config file's key, not the environment's"
(umask 077 && sed "s/secret_access_key: .*/secret_access_key: wrong/" "$CFG" >"$MD_TMP/wrong.yaml")
run md-feed -c "$MD_TMP/wrong.yaml" --json --presign 1h -n 1
is "$rc" 0 "md-feed --presign with a wrong secret signs anyway (no request made)" || diag "$err"
url=$(printf '%s\n' "$out" | jq -r 'select(has("post_id")) | .renditions | to_entries[0].value')
is "$(curl -s -o "$T/pre" -w '%{http_code}' "$url")" 403 "its URL is refused: 403"
run md-feed --json --presign 1h --base-url https://cdn.example
is "$rc" 64 "--presign with --base-url: a usage error (64)"
run md-feed --storage "$MD_TMP/dir" --json --presign 1h
is "$rc" 78 "--presign with a directory storage: exit 78"
like "$err" 'needs s3://' "saying it needs s3:// storage"

base=$endpoint/$bucket/$prefix
run md-feed --json --base-url "$base"
is "$rc" 0 "md-feed --base-url BUCKET-URL" || diag "$err"
printf '%s\n' "$out" | jq -c 'select(has("post_id"))' >"$T/base.json"
is "$(jq -r '.renditions[]' "$T/base.json" | sed "s|^$base/||" | sort)" \
	"$(jq -r '.renditions[]' "$T/feed.json" | sort)" "it prefixes each key with the base URL and a /"
bad=
while IFS=$'\t' read -r p url; do
	c=$(curl -s -o "$T/pre" -w '%{http_code}' "$url")
	{ [ "$c" = 200 ] && cmp -s "$T/pre" "$T/got/$p"; } || bad="$bad $p:$c"
done < <(jq -r '.media as $m | .renditions | to_entries[] | "\($m)/\(.key)/\(.value | split("/") | last)\t\(.value)"' \
	"$T/base.json")
is "$bad" "" "each such URL is the object (s3rver serves an unsigned GET)"

# --- 4. settings from the environment; keep_originals: false ---------------------------------
CFG2=$MD_TMP/s3-env.yaml
cat >"$CFG2" <<EOF
storage:
  url: s3://$bucket/$prefix
  scratch: $MD_TMP/scratch2
  keep_originals: false
EOF
export MD_CONFIG=$CFG2
export AWS_ENDPOINT_URL_S3=$endpoint AWS_ENDPOINT_URL=http://127.0.0.1:9 \
	AWS_ACCESS_KEY_ID=$KEY AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=$REGION
run md-db init
is "$rc" 0 "md-db init, the endpoint and keys from AWS_ENDPOINT_URL_S3 and AWS_*" || diag "$err"
ok "it makes storage.scratch" test -d "$MD_TMP/scratch2/tmp" -a -d "$MD_TMP/scratch2/work"
ff -f lavfi -i testsrc2=size=160x120:rate=10:duration=1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$T/extra.mp4"
esha=$(sha256 "$T/extra.mp4")
ekey=originals/$(shard "$esha").mp4
run md-ingest --json -e mp4,thumb "$T/extra.mp4"
is "$rc" 0 "md-ingest -e mp4,thumb" || diag "$err"
eid=$(jq -r .post_id <<<"$out")
head_key "$ekey"
is "$code" 200 "its original is in the bucket"
run md-work --drain
is "$rc|$out" "0|claimed=2 succeeded=2 retried=0 dead=0 released=0" "md-work --drain runs its 2 jobs" || diag "$err"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"
is "$(db_query "SELECT status FROM posts WHERE id = $eid")" completed "the post is completed"
head_key "$ekey"
is "$code" 404 "keep_originals: false: md-finalize removed the original (HEAD 404)"
bad=
for k in $(db_query "SELECT storage_key FROM renditions WHERE media = '$esha'"); do
	head_key "$k"
	[ "$code" = 200 ] || bad="$bad $k:$code"
done
is "$bad" "" "its renditions stay"
run md-feed --json --presign 10m -n 1
is "$rc" 0 "md-feed --presign 10m, keys from the environment" || diag "$err"
url=$(printf '%s\n' "$out" | jq -r 'select(has("post_id")) | .renditions.mp4')
is "$(curl -s -o "$T/pre" -w '%{http_code}' "$url")" 200 "its mp4 URL gives the object"
is "$(vprop "$T/pre" codec_name)" h264 "an H.264 mp4"
AWS_SECRET_ACCESS_KEY=wrong run md-feed --json --presign 10m -n 1
url=$(printf '%s\n' "$out" | jq -r 'select(has("post_id")) | .renditions.mp4')
is "$(curl -s -o "$T/pre" -w '%{http_code}' "$url")" 403 "a URL signed with a wrong AWS_SECRET_ACCESS_KEY: 403"

run md-janitor --json
is "$rc" 0 "md-janitor" || diag "$err"
is "$(unreferenced "m.sha256 <> '$esha'")" "" "no object the database does not reference, the removed original not missed"

# --- 5. no temp file left -------------------------------------------------------------------
is "$(scratch_left "$MD_HOME/scratch")" "" "nothing left in \$MD_HOME/scratch but its tmp/ and work/"
is "$(scratch_left "$MD_TMP/scratch2")" "" "nor in storage.scratch"
done_testing
