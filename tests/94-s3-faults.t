#!/bin/bash
# 94-s3-faults.t - S3 storage that fails under the tools (tests/s3-server.sh's
# s3rver halted and started again, a wrong secret, a missing bucket, a
# process killed in a multipart upload), storage.retries 1 and
# storage.timeout 2s so that an outage is told quickly:
#   - md-ingest with the server halted exits 75 naming the endpoint and the
#     tries, registers nothing, leaves no temp file; the same ingest works
#     once the server is back
#   - a wrong secret: md-ingest and md-db init exit 78 (the 403 said);
#     md-db init on a bucket that does not exist says so
#   - md-work --drain with the server halted exits 75, the job given back
#     without spending an attempt, no rendition; it runs once the server is
#     back.  A 403: exit 78, the job given back the same way
#   - a running md-work: the server halted, a job is given back (the log
#     says storage), the server started again, the job succeeds
#   - md-ingest killed (SIGKILL) in a multipart upload: no object, no row;
#     md-work and its runner killed in one of a rendition: no object under
#     the run's key, no rendition row; the job taken over after the lease;
#     md-janitor removes its temp file; the ingest again works
#   - md-janitor and md-finalize (keep_originals: false) with the server
#     halted exit 75; the original md-finalize could not remove is removed
#     once the server is back and the tools run again
#   - with moto_server (Python moto) on PATH: md-janitor aborts a multipart
#     upload left behind under the storage's prefix, and only that one
#     (s3rver does not list uploads; moto says each was begun in 2010, so
#     the grace is not put to the test there)
# Once, in the SQLite pass: the storage's failures are the same on either
# database backend.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
[ "$MD_BACKEND" = sqlite ] || plan skip_all "the storage's faults are the same on either backend: run in the SQLite pass"
have ffmpeg && have jq || plan skip_all "no ffmpeg or jq"

mpid=
wpid=
stop_all() {
	[ -n "$wpid" ] && kill "$wpid" 2>/dev/null
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null
}
trap 'st=$?; stop_all; (exit $st); md_cleanup' EXIT
s3_start

# head KEY [ENDPOINT BUCKET]: a signed HEAD of storage key KEY; $code
head_key() {
	code=$(curl -s -I -o /dev/null -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" \
		--user "$KEY:$SECRET" -H "x-amz-content-sha256: $EMPTY" "${2:-$endpoint}/${3:-$bucket}/$prefix/$1")
}
server() { sh "$MD_ROOT/tests/s3-server.sh" "$1" "$S3" >/dev/null; }
okey() { echo "originals/$(shard "$(sha256 "$1")").${1##*.}"; }
job() { db_query "SELECT state || ' ' || attempts FROM jobs WHERE id = $1"; }
# result_key JOB: the storage key of the rendition job JOB made (its result;
# md-finalize registers it later)
result_key() { db_query "SELECT result FROM jobs WHERE id = $1" | jq -r '.key // empty'; }
# objects KEY-PREFIX: how many objects are below KEY-PREFIX
objects() {
	curl -s -o "$MD_TMP/list" --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
		-H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket?list-type=2&prefix=$prefix%2F${1//\//%2F}"
	grep -q '<ListBucketResult' "$MD_TMP/list" || { echo "no listing: $(head -c 300 "$MD_TMP/list")"; return 1; }
	grep -o '<Key>' "$MD_TMP/list" | wc -l
}
scratch_files() { find "$MD_HOME/scratch" -mindepth 2 | sed "s|^$MD_HOME/scratch/||"; }

code=$(curl -s -o "$MD_TMP/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
	-H "x-amz-content-sha256: $EMPTY" -X PUT "$endpoint/$bucket")
is "$code" 200 "a bucket made with curl" || BAIL_OUT "cannot make a bucket: $(cat "$MD_TMP/body")"

conf() {
	cat <<-EOF
	storage:
	  url: s3://${3:-$bucket}/$prefix
	  endpoint: $endpoint
	  access_key_id: $KEY
	  secret_access_key: ${1:-$SECRET}
	  retries: 1
	  timeout: 2s
	  part_size: 5MiB
	  keep_originals: ${2:-true}
	worker:
	  poll_interval: 100ms
	  lease: 5s
	profiles:
	  copy:
	    kinds: [image]
	    output: copy.png
	    output_kind: file
	    steps:
	      - [cp, "{input}", "{output}"]
	janitor:
	  orphan_grace: 1s
	EOF
}
# the config files hold the secret: only their owner reads them
umask 077
CFG=$MD_TMP/s3.yaml WRONG=$MD_TMP/wrong.yaml
conf >"$CFG"
conf wrong >"$WRONG"
export MD_CONFIG=$CFG
md_db_init
unlike "$err" 'readable' "no warning about a config file only its owner reads"
conf >"$MD_TMP/loose.yaml"
chmod 644 "$MD_TMP/loose.yaml"
run md-db -c "$MD_TMP/loose.yaml" init
like "$err" 'readable by others' "one others can read, holding the secret, draws a warning"
IN=$MD_TMP/in
md_samples "$IN"

# --- md-ingest, the server halted ----------------------------------------------------------
server halt
run md-ingest "$IN/still.png"
is "$rc" 75 "md-ingest, the server halted: exit 75 (try again later)"
like "$err" "${endpoint//./\\.}" "it names the endpoint" || diag "$err"
like "$err" "after 2 tries" "and says after how many tries (storage.retries 1)"
is "$(db_count posts)|$(db_count media)" "0|0" "no post, no media registered"
is "$(scratch_files | grep -vxE 'tmp|work')" "" "no temp file left in the scratch directory"
server start
run md-ingest "$IN/still.png" "$IN/video.mp4"
is "$rc" 0 "the server started again: the same ingest works" || diag "$err"
head_key "$(okey "$IN/still.png")"
is "$code" 200 "the original is in the bucket"
still=$(sha256 "$IN/still.png") video=$(sha256 "$IN/video.mp4")

# --- a wrong secret, a missing bucket ---------------------------------------------------------
run md-ingest -c "$WRONG" "$IN/photo.jpg"
is "$rc" 78 "md-ingest with a wrong secret key: exit 78 (configuration)"
like "$err" "403" "it says the storage answered 403"
unlike "$err" "wrong" "without the secret"
is "$(db_count media "sha256 = '$(sha256 "$IN/photo.jpg")'")|$(db_count posts)" "0|2" "nothing registered"
run md-db -c "$WRONG" init
is "$rc" 78 "md-db init with a wrong secret key: exit 78"
like "$err" "403" "saying 403"
conf "$SECRET" true nonesuch >"$MD_TMP/nobucket.yaml"
run md-db -c "$MD_TMP/nobucket.yaml" init
is "$rc" 78 "md-db init on a bucket that does not exist: exit 78"
like "$err" "nonesuch.*does not exist" "saying the bucket does not exist"

# --- md-work --drain, the server halted or refusing -----------------------------------------------
run md-enqueue -p probe "$still"
j=$(cut -f1 <<<"$out")
server halt
run md-work --drain
is "$rc" 75 "md-work --drain, the server halted: exit 75" || diag "$err"
like "$err" "storage" "it says the storage could not be reached"
is "$(job "$j")" "available 0" "the job is back in its queue, no attempt spent"
is "$(result_key "$j")|$(db_count renditions)" "|0" "no result recorded, no rendition row"
server start
is "$(objects "renditions/$(shard "$still")/probe/")" 0 "no object was written for it"
run md-work --drain
is "$rc|$out" "0|claimed=1 succeeded=1 retried=0 dead=0 released=0" "the server back: md-work --drain runs it" ||
	diag "$err"
s3_fetch "$(result_key "$j")" "$MD_TMP/probe.json"
is "$code" 200 "its rendition is read back with curl"
ok "probe.json is JSON" jq -e . "$MD_TMP/probe.json"

run md-enqueue -p thumb "$still"
j=$(cut -f1 <<<"$out")
run md-work -c "$WRONG" --drain
is "$rc" 78 "md-work --drain with a wrong secret key: exit 78" || diag "$err"
like "$err" "403" "it says the storage refused (403)"
is "$(job "$j")" "available 0" "the job is given back, no attempt spent"
run md-work --drain
is "$rc|$out" "0|claimed=1 succeeded=1 retried=0 dead=0 released=0" "the right key: it runs" || diag "$err"

# --- a running worker through an outage -------------------------------------------------------------
md-work >"$MD_TMP/w.log" 2>&1 &
wpid=$!
server halt
run md-enqueue -p thumb "$video"
j=$(cut -f1 <<<"$out")
given_back() { grep -q 'storage' "$MD_TMP/w.log" && [ "$(job "$j")" = "available 0" ]; }
ok "the worker gives the job back (storage in its log), no attempt spent" wait_for "job given back" given_back ||
	diag "$(cat "$MD_TMP/w.log")" "$(job "$j")"
ok "the worker is still running" kill -0 "$wpid"
is "$(grep -c 'given back' "$MD_TMP/w.log")" 1 "it gives the job back once, then pauses its claims" ||
	diag "$(cat "$MD_TMP/w.log")"
server start
succeeded() { [ "$(db_query "SELECT state FROM jobs WHERE id = $j")" = succeeded ]; }
ok "the server started again: the job succeeds" wait_for "job succeeded" succeeded ||
	diag "$(tail -n 20 "$MD_TMP/w.log")"
is "$(job "$j")" "succeeded 1" "in one attempt"
s3_fetch "$(result_key "$j")" "$MD_TMP/thumb"
is "$code" 200 "its rendition is read back with curl"
like "$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$MD_TMP/thumb")" '^(mjpeg|webp|png)$' \
	"an image"
kill "$wpid"
wait "$wpid"
is "$?" 0 "md-work stops on SIGTERM, exit 0"
wpid=
run md-finalize
is "$rc" 0 "md-finalize: the 2 posts completed" || diag "$err"

# --- md-ingest killed in a multipart upload ------------------------------------------------------------
# 3800x3800 random pixels: a 41 MiB PNG, 9 parts of 5 MiB
big=$MD_TMP/big.png
ffmpeg -nostdin -hide_banner -loglevel error -y -f rawvideo -pix_fmt rgb24 -s 3800x3800 -i /dev/urandom \
	-frames:v 1 "$big"
bkey=$(okey "$big")
md-ingest "$big" >"$MD_TMP/big.out" 2>"$MD_TMP/big.err" &
ipid=$!
# s3rver keeps an upload's parts in DATA/BUCKET/._S3rver_uploads/ID/N
part_stored() { [ -n "$(find "$S3/data" -path '*uploads*' -name 1.md5 2>/dev/null)" ]; }
if wait_for "the first part stored" part_stored; then
	kill -KILL "$ipid"
	pass "the multipart upload begins: md-ingest killed (SIGKILL)"
else
	fail "the multipart upload begins" "$(cat "$MD_TMP/big.err")"
fi
{ wait "$ipid"; st=$?; } 2>/dev/null
is "$st" 137 "md-ingest died of SIGKILL"
head_key "$bkey"
is "$code" 404 "no object under the original's key (HEAD 404)"
is "$(db_count media "sha256 = '$(sha256 "$big")'")|$(db_count posts)" "0|2" "no row"
left=$(scratch_files | grep -vxE 'tmp|work')
isnt "$left" "" "its temp file is left in the scratch directory ($left)"
older() { [ -z "$(find "$MD_HOME/scratch/tmp" -type f -newermt '-2 seconds')" ]; }
ok "the temp file becomes older than orphan_grace (1s)" wait_for "temp file older than 2 s" older
run md-janitor --json
is "$rc" 0 "md-janitor" || diag "$err"
is "$(jq -r 'select(has("temp")) | .temp' <<<"$out")" 1 "it removes the temp file"
is "$(scratch_files | grep -vxE 'tmp|work')" "" "none left"
run md-ingest "$big"
is "$rc" 0 "the ingest again works" || diag "$err"
code=$(curl -s -I -o "$MD_TMP/h" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
	-H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$prefix/$bkey")
is "$code" 200 "its object is there"
is "$(tr -d '\r' <"$MD_TMP/h" | sed -n 's/^[Cc]ontent-[Ll]ength: //p')" "$(stat -c %s "$big")" "all of it"
is "$(db_count media "sha256 = '$(sha256 "$big")'")" 1 "its media is registered"

# --- md-work killed in a multipart upload of a rendition ------------------------------------------------
# the copy profile's output is the 41 MiB PNG again, published in 9 parts;
# md-work and its job runner are killed together (SIGKILL to the process
# group, as a host that dies), once a part of that upload is stored
bsha=$(sha256 "$big")
run md-enqueue -p copy "$bsha"
is "$rc" 0 "md-enqueue -p copy of the big PNG" || diag "$err"
before=$(find "$S3/data" -path '*uploads*' -name 1.md5 2>/dev/null | sort)
new_part() {
	[ -n "$(find "$S3/data" -path '*uploads*' -name 1.md5 2>/dev/null | sort |
		comm -13 <(printf '%s\n' "$before") -)" ]
}
setsid md-work --drain >"$MD_TMP/kw.out" 2>"$MD_TMP/kw.err" &
kpid=$!
if wait_for "a part of the rendition stored" new_part; then
	kill -KILL -- "-$kpid"
	pass "the rendition's multipart upload begins: md-work and its runner killed (SIGKILL)"
else
	fail "the rendition's multipart upload begins" "$(cat "$MD_TMP/kw.err")"
fi
wait "$kpid" 2>/dev/null
cjob=$(db_query "SELECT id FROM jobs WHERE profile = 'copy'")
ckey="renditions/$(shard "$bsha")/copy/$cjob-$(db_query "SELECT claims FROM jobs WHERE id = $cjob")/copy.png"
head_key "$ckey"
is "$code" 404 "no object under the rendition's key (HEAD 404)"
is "$(db_count renditions "profile = 'copy'")" 0 "no rendition row"
lease_over() {
	[ "$(db_query "SELECT count(*) FROM jobs WHERE id = $cjob AND state = 'running' AND
		lease_until < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")" = 1 ]
}
ok "the dead worker's lease runs out (5 s)" wait_for "the lease of job $cjob over" lease_over
run md-work --drain
is "$rc" 0 "md-work --drain after it: exit 0" || diag "$err"
is "$(job "$cjob")" "succeeded 2" "the job is taken over and done (its second attempt)"
run md-finalize
is "$rc" 0 "md-finalize" || diag "$err"
rkey=$(db_query "SELECT storage_key FROM renditions WHERE profile = 'copy'")
code=$(curl -s -I -o "$MD_TMP/h" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
	-H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$prefix/$rkey")
is "$code" 200 "the registered rendition is there"
is "$(tr -d '\r' <"$MD_TMP/h" | sed -n 's/^[Cc]ontent-[Ll]ength: //p')" "$(stat -c %s "$big")" "all of it"
isnt "$rkey" "$ckey" "under the second run's folder, not the killed one's"

# --- md-janitor and md-finalize, the server halted ---------------------------------------------------------
conf "$SECRET" false >"$MD_TMP/drop.yaml"
run md-ingest -c "$MD_TMP/drop.yaml" -e probe "$IN/anim.gif"
gkey=$(okey "$IN/anim.gif")
run md-work --drain
is "$rc" 0 "a GIF ingested and probed" || diag "$err"
server halt
run md-janitor
is "$rc" 75 "md-janitor, the server halted: exit 75" || diag "$err"
like "$err" "${endpoint//./\\.}" "it names the endpoint"
run md-finalize -c "$MD_TMP/drop.yaml"
is "$rc" 75 "md-finalize with keep_originals false, the server halted: exit 75" || diag "$err"
like "$err" "$gkey" "it names the original it could not remove"
server start
head_key "$gkey"
is "$code" 200 "the original is still there"
run md-finalize -c "$MD_TMP/drop.yaml"
is "$rc" 0 "the server back: md-finalize again" || diag "$err"
run md-janitor -c "$MD_TMP/drop.yaml"
is "$rc" 0 "and md-janitor" || diag "$err"
head_key "$gkey"
is "$code" 404 "the original md-finalize could not remove is removed once the server is back"

# --- moto: a multipart upload left behind is aborted ----------------------------------------------------
if ! have moto_server; then
	skip "moto_server (Python moto) is not on PATH: the multipart upload abort is not tried" 8
else
	M=$MD_TMP/moto
	mkdir -p "$M"
	# port 0: the server takes a free port and prints it
	moto_server -H 127.0.0.1 -p 0 >"$M/log" 2>&1 &
	mpid=$!
	moto_port() { sed -n 's|.*Running on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$M/log" | head -n 1; }
	moto_up() { [ -n "$(moto_port)" ] && curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$(moto_port)/"; }
	if wait_for "moto_server answers" moto_up; then
		mend=http://127.0.0.1:$(moto_port)
		ms3() {
			code=$(curl -s -o "$M/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$REGION:s3" --user "$KEY:$SECRET" \
				-H "x-amz-content-sha256: $EMPTY" "$@")
		}
		ms3 -X PUT "$mend/$bucket"
		ukey=originals/ab/cd/abcd$(printf '%060d' 0).png
		ms3 -X POST "$mend/$bucket/$prefix/$ukey?uploads="
		is "$code" 200 "moto: a multipart upload begun under the storage's prefix and left" ||
			diag "$(cat "$M/body")"
		ms3 -X POST "$mend/$bucket/other/$ukey?uploads="
		is "$code" 200 "and one outside it"
		# uploads: the keys of the uploads moto lists
		uploads() {
			ms3 "$mend/$bucket?uploads="
			grep -o '<Key>[^<]*</Key>' "$M/body" | sed 's/<[^>]*>//g' | sort | tr '\n' ' '
		}
		sed "s|endpoint: .*|endpoint: $mend|" "$CFG" >"$M/cfg.yaml"
		run md-db -c "$M/cfg.yaml" --db "sqlite:$M/md.db" init
		is "$rc" 0 "md-db init on moto" || diag "$err"
		# moto says every upload was begun in 2010: this holds at once
		old_enough() {
			local t
			ms3 "$mend/$bucket?uploads="
			t=$(grep -o '<Initiated>[^<]*</Initiated>' "$M/body" | head -n 1 | sed 's/<[^>]*>//g')
			[ -n "$t" ] && [ $(( $(date +%s) - $(date -d "$t" +%s) )) -gt 2 ]
		}
		ok "it is older than orphan_grace (1s)" wait_for "upload older than 2 s" old_enough
		run md-janitor -c "$M/cfg.yaml" --db "sqlite:$M/md.db" --json
		is "$rc|$(jq -r 'select(has("aborted")) | .aborted' <<<"$out")" "0|1" "md-janitor aborts it" ||
			diag "$out" "$err"
		is "$(jq -r 'select(.action == "abort") | .subject' <<<"$out")" "$ukey" "and names its key"
		is "$(uploads)" "other/$ukey " "moto lists only the upload outside the prefix now"
	else
		fail "moto_server answers" "$(tail -n 5 "$M/log")"
		skip "moto_server did not start" 7
	fi
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	mpid=
fi
done_testing
