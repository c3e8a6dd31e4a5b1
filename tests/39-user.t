#!/bin/bash
# 39-user.t - md-user, on either backend: add, list, passwd, del, check
# (exit 0 or 1), tokens signed with auth.jwt_secret and checked by an
# independent HMAC (openssl), refused changes that leave the table as it
# was, and usage errors.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init

SECRET=0123456789abcdef0123456789abcdef-test
CFG=$MD_TMP/auth.yaml
printf 'auth:\n  jwt_secret: %s\n  token_ttl: 10m\n' "$SECRET" >"$CFG"
chmod 600 "$CFG"
users() { db_query "SELECT username, coalesce(email, '-'), password_hash IS NOT NULL FROM users ORDER BY username" | tr '\t\n' ' /'; }

# --- add, list -------------------------------------------------------------------
printf 'correct horse\n' >"$MD_TMP/pw"
run_in "$MD_TMP/pw" md-user add --email alice@example.org alice
is "$rc" 0 "md-user add alice" || diag "$err"
hash=$(db_query "SELECT password_hash FROM users WHERE username = 'alice'")
like "$hash" '^\$2b\$12\$.{53}$' "the password is kept as a bcrypt hash (cost 12)"
unlike "$hash" "correct horse" "not the password itself"
run_in "$MD_TMP/pw" md-user add bob
is "$rc" 0 "md-user add bob, no email" || diag "$err"
before=$(users)

run_in "$MD_TMP/pw" md-user add alice
is "$rc" 65 "adding alice again: 65"
like "$err" "user 'alice' exists" "says so"
run_in "$MD_TMP/pw" md-user add --email alice@example.org carol
is "$rc" 65 "an email already taken: 65"
like "$err" "belongs to another user" "says so"
run_in /dev/null md-user add carol
is "$rc" 65 "no password on stdin: 65"
like "$err" "none given" "says so"
is "$(users)" "$before" "the refused adds left nothing behind"

run md-user list
is "$rc" 0 "md-user list" || diag "$err"
is "$(cut -f1-4 <<<"$out" | tr '\t\n' ' /')" "alice alice@example.org yes 0/bob  yes 0/" \
	"list: name, email, password set, posts"
run md-user --json list
ok "list --json" jq -se 'length == 2 and .[0].user == "alice" and .[0].password == true
	and .[1].email == null and (.[0].created_at | test("Z$"))' <<<"$out"

# a user made by md-ingest has no password until passwd gives it one
md_sample_dirs
run md-ingest --user dave "$IN/still.png"
is "$rc" 0 "md-ingest --user dave" || diag "$err"
run md-user list
is "$(awk -F '\t' '$1 == "dave" { print $3, $4 }' <<<"$out")" "no 1" "dave: no password, one post"

# any name md-ingest accepts, md-user manages
run md-ingest --user '-odd@name/é' "$IN/photo.jpg"
is "$rc" 0 "md-ingest --user with an unusual name" || diag "$err"
run_in "$MD_TMP/pw" md-user passwd -- '-odd@name/é'
is "$rc" 0 "md-user passwd of that user" || diag "$err"
run_in "$MD_TMP/pw" md-user check -- '-odd@name/é'
is "$rc" 0 "and check"

# --- check -------------------------------------------------------------------------
run_in "$MD_TMP/pw" md-user check alice
is "$rc $out" "0 " "check with the right password: exit 0, nothing printed"
printf 'correct horsE\n' >"$MD_TMP/bad"
run_in "$MD_TMP/bad" md-user check alice
is "$rc" 1 "a wrong password: exit 1"
run_in "$MD_TMP/pw" md-user check nobody
is "$rc" 1 "an unknown user: exit 1"
run_in "$MD_TMP/pw" md-user check dave
is "$rc" 1 "a user without a password: exit 1"

# --- passwd ------------------------------------------------------------------------
printf 'new secret\n' >"$MD_TMP/pw2"
run_in "$MD_TMP/pw2" md-user passwd --email dave@example.org dave
is "$rc" 0 "md-user passwd dave" || diag "$err"
run_in "$MD_TMP/pw2" md-user check dave
is "$rc" 0 "dave's new password works"
is "$(db_query "SELECT email FROM users WHERE username = 'dave'")" dave@example.org "and his email is set"
run_in "$MD_TMP/pw2" md-user passwd nobody
is "$rc" 65 "passwd of an unknown user: 65"

# --- del ---------------------------------------------------------------------------
run md-user del dave
is "$rc" 65 "del of a user who owns a post: 65"
like "$err" "owns 1 post" "says so"
run md-user del bob
is "$rc" 0 "del of a user without posts" || diag "$err"
is "$(db_count users "username = 'bob'")" 0 "bob is gone"
run md-user del bob
is "$rc" 65 "del again: 65"

# --- tokens ------------------------------------------------------------------------
run md-user -c "$CFG" token alice
is "$rc" 0 "md-user token alice" || diag "$err"
tok=$out
like "$tok" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "a JWT: three base64url parts"
b64d() { local s=$1; while [ $(( ${#s} % 4 )) -ne 0 ]; do s="$s="; done; printf '%s' "$s" | basenc -d --base64url; }
is "$(b64d "${tok%%.*}" | jq -c .)" '{"alg":"HS256","typ":"JWT"}' "header: HS256"
claims=$(b64d "$(cut -d. -f2 <<<"$tok")")
ok "claims: sub alice, exp = iat + 10m (auth.token_ttl)" \
	jq -e '.sub == "alice" and .exp - .iat == 600 and (.iat - now | fabs) < 300' <<<"$claims"
sig=$(printf '%s' "${tok%.*}" | openssl dgst -sha256 -hmac "$SECRET" -binary | basenc --base64url | tr -d '=')
is "${tok##*.}" "$sig" "the signature is HMAC-SHA-256 of header.claims with auth.jwt_secret"
run md-user -c "$CFG" token --ttl 1h alice
is "$(b64d "$(cut -d. -f2 <<<"$out")" | jq '.exp - .iat')" 3600 "--ttl 1h"

run_in <(printf '%s\n' "$tok") md-user -c "$CFG" token --verify
is "$rc" 0 "token --verify of a good token" || diag "$err"
is "$(jq -c .sub <<<"$out")" '"alice"' "prints its claims"
run_in <(printf '%sx\n' "$tok") md-user -c "$CFG" token --verify
is "$rc" 1 "a tampered signature: exit 1"
like "$err" "bad signature" "says so"
forged=$(printf '{"sub":"root","exp":9999999999}' | basenc --base64url | tr -d '=')
run_in <(printf '%s.%s.%s\n' "${tok%%.*}" "$forged" "${tok##*.}") md-user -c "$CFG" token --verify
is "$rc" 1 "other claims under the same signature: exit 1"
old_body=$(printf '{"sub":"alice","exp":1000}' | basenc --base64url | tr -d '=')
old_sig=$(printf '%s.%s' "${tok%%.*}" "$old_body" | openssl dgst -sha256 -hmac "$SECRET" -binary |
	basenc --base64url | tr -d '=')
run_in <(printf '%s.%s.%s\n' "${tok%%.*}" "$old_body" "$old_sig") md-user -c "$CFG" token --verify
is "$rc" 1 "an expired token: exit 1"
like "$err" "expired" "says so"
run_in <(printf 'not-a-token\n') md-user -c "$CFG" token --verify
is "$rc" 1 "garbage: exit 1"
run md-user -c "$CFG" token nobody
is "$rc" 65 "a token for an unknown user: 65"
run md-user token alice
is "$rc" 78 "no auth.jwt_secret: 78"
like "$err" "auth.jwt_secret" "names the key"
printf 'auth:\n  jwt_secret: short\n' >"$MD_TMP/short.yaml"
run md-user -c "$MD_TMP/short.yaml" token alice
is "$rc" 78 "a secret under 32 characters: 78"
like "$err" "short.yaml:2: too short" "with the file and line"
chmod 644 "$CFG"
run md-user -c "$CFG" token alice
like "$err" "holds auth.jwt_secret and is readable by others" "a world-readable secret draws a warning"
unlike "$err$out" "$SECRET" "the secret never appears in messages"

# --- usage ---------------------------------------------------------------------------
run md-user
is "$rc" 64 "no command: 64"
run md-user add
is "$rc" 64 "add without a name: 64"
run md-user add $'tab\tname'
is "$rc" 64 "a name with a tab: 64"
run md-user -c "$CFG" token --ttl 0s alice
is "$rc" 64 "--ttl 0s: 64"
run md-user add 'a b'
is "$rc" 64 "a name with a space: 64"
run md-user list --email x@y
is "$rc" 64 "--email with list: 64"
run md-user add --email nope eve
is "$rc" 64 "a bad email: 64"
run md-user check alice bob
is "$rc" 64 "too many arguments: 64"

done_testing
