#!/bin/bash
# 92-sigv4-server.t - a real S3 protocol server (tests/s3-server.sh: s3rver
# on 127.0.0.1) against the curl CLI and lib/sigv4's presigned URLs
# (tests/unit/presign): a bucket made, an object put and read back with
# curl --aws-sigv4, the same object fetched through path-style presigned
# URLs, odd keys included (s3rver cannot check virtual-host ones); a wrong
# secret, a tampered, an expired URL refused;
# and what libcurl 7.88 leaves to us: a header-signed request without
# x-amz-content-sha256 is refused.  Once, in the SQLite pass: no database
# is involved.
. "$(dirname "$0")/lib.sh"
md_setup
[ "$MD_BACKEND" = sqlite ] || plan skip_all "no database involved: run in the SQLite pass"
have node && have npm && have curl || plan skip_all "no node, npm or curl (scripts/deps.sh installs them as root)"
presign=$MD_ROOT/tests/unit/presign
[ -x "$presign" ] || plan skip_all "tests/unit/presign is not built (make tests/unit/presign)"

S3=$MD_TMP/s3
trap 'st=$?; sh "$MD_ROOT/tests/s3-server.sh" stop "$S3" >/dev/null 2>&1; (exit $st); md_cleanup' EXIT
endpoint=$(sh "$MD_ROOT/tests/s3-server.sh" start "$S3" 2>"$MD_TMP/s3.err") ||
	plan skip_all "no S3 server: $(tail -n 1 "$MD_TMP/s3.err")"
. "$S3/env"
port=${endpoint##*:}
bucket=md-test
EMPTY=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855

# s3 [-u KEY:SECRET] CURL-ARG... - curl signing with SigV4; $code, $body
s3() {
	local user=$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY
	[ "$1" = -u ] && { user=$2; shift 2; }
	code=$(curl -s -o "$MD_TMP/body" -w '%{http_code}' --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$user" "$@")
	body=$(tr -d '\0' <"$MD_TMP/body" | head -c 4096)
}
# get URL - an unsigned GET, as a browser fetches a presigned URL
get() {
	code=$(curl -s -o "$MD_TMP/got" -w '%{http_code}' "$1")
}

like "$endpoint" '^http://127\.0\.0\.1:[0-9]+$' "s3-server.sh prints an endpoint on 127.0.0.1"
like "$(cat "$S3/pid")" '^[0-9]+$' "and leaves its pid in DIR/pid"

s3 -X PUT "$endpoint/$bucket"
is "$code" 400 "curl 7.88 --aws-sigv4 alone: refused, it sends no x-amz-content-sha256"
like "$body" 'x-amz-content-sha256' "the server names the missing header"
s3 -H "x-amz-content-sha256: $EMPTY" -X PUT "$endpoint/$bucket"
is "$code" 200 "a bucket made, with the empty payload's hash"

head -c 100000 /dev/urandom >"$MD_TMP/obj"
hash=$(sha256 "$MD_TMP/obj")
key="renditions/ab/cd/$hash/thumb/thumb.jpg"
s3 -H "x-amz-content-sha256: $hash" -T "$MD_TMP/obj" "$endpoint/$bucket/$key"
is "$code" 200 "an object put, signed with its SHA-256" || diag "$body"
s3 -H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$key"
is "$code" 200 "and read back"
ok "the same bytes" cmp -s "$MD_TMP/obj" "$MD_TMP/body"

s3 -u "$AWS_ACCESS_KEY_ID:wrong" -H "x-amz-content-sha256: $EMPTY" "$endpoint/$bucket/$key"
is "$code" 403 "a GET signed with a wrong secret: 403"
like "$body" SignatureDoesNotMatch "SignatureDoesNotMatch"
s3 -u "$AWS_ACCESS_KEY_ID:wrong" -H "x-amz-content-sha256: $hash" -T "$MD_TMP/obj" "$endpoint/$bucket/other"
is "$code" 403 "a PUT signed with a wrong secret: 403"

run "$presign" -p "$endpoint" "$bucket" "$key" 300
is "$rc" 0 "presign makes a path-style URL" || diag "$err"
url=$out
like "$url" "^$endpoint/$bucket/$key\\?X-Amz-Algorithm=AWS4-HMAC-SHA256&" "at the endpoint, the bucket in the path"
get "$url"
is "$code" 200 "the server accepts lib/sigv4's presigned URL"
ok "and serves the object" cmp -s "$MD_TMP/obj" "$MD_TMP/got"

run "$presign" "http://s3.localhost:$port" "$bucket" "$key" 300
like "$out" "^http://$bucket\\.s3\\.localhost:$port/$key\\?" "presign makes a virtual-host URL"
# s3rver rewrites bucket.s3.localhost/key to /bucket/key before it checks
# the signature, so it signs a path that was not sent; AWS's example (in
# test-sigv4) signs the path as sent, /key, and so does lib/sigv4
skip "s3rver checks a virtual-host URL's signature over its rewritten path /bucket/key" 2

get "${url/thumb.jpg?/thumb.jpeg?}"
is "$code" 403 "the URL of one key does not open another"
AWS_SECRET_ACCESS_KEY=wrong run "$presign" -p "$endpoint" "$bucket" "$key" 300
get "$out"
is "$code" 403 "a URL signed with a wrong secret: 403"
run "$presign" -p -t $(( $(date +%s) - 3600 )) "$endpoint" "$bucket" "$key" 60
get "$out"
is "$code" 403 "a URL past its expiry: 403"
like "$(cat "$MD_TMP/got")" 'expired' "the server says it has expired"

# curl 7.88 signs the path as it is given: it must be encoded as SigV4
# wants (jq's @uri, say, leaves ( ) as they are, and the server, which
# encodes them, computes another signature): take it from presign's URL
odd="originals/ab/cd/a b+c=d&e~f(é).txt"
run "$presign" -p "$endpoint" "$bucket" "$odd" 300
url2=$out
enc=${url2%%\?*}
s3 -H "x-amz-content-sha256: $hash" -T "$MD_TMP/obj" "$enc"
is "$code" 200 "an object put under a key with a space, + = & ~ ( ) and UTF-8, encoded by sigv4" || diag "$body"
like "$enc" '/a%20b%2Bc%3Dd%26e~f%28%C3%A9%29\.txt$' "the key's bytes encoded, '/' and '~' kept"
get "$url2"
is "$code" 200 "its presigned URL is accepted" || diag "$(cat "$MD_TMP/got")"
ok "and serves it" cmp -s "$MD_TMP/obj" "$MD_TMP/got"

sh "$MD_ROOT/tests/s3-server.sh" halt "$S3"
nok "halted, the server no longer answers" curl -s -o /dev/null --max-time 2 "$endpoint/"
run sh "$MD_ROOT/tests/s3-server.sh" start "$S3"
is "$out" "$endpoint" "started again on the same port"
get "$url"
ok "with the object kept" cmp -s "$MD_TMP/obj" "$MD_TMP/got"
done_testing
