#!/bin/bash
# 72-token-strict.t - md-user token --verify reads a token one way only:
# correctly signed tokens (made here with openssl, not by md-user)
# with a duplicate or nested alg, crit, a future nbf, a nested or
# duplicate exp, flipped unused bits, padding, the standard alphabet, or
# times that are not integers in range are refused.  Passwords longer
# than bcrypt's 72 bytes are refused, never cut; a weak or group-readable
# auth.jwt_secret draws a warning.
. "$(dirname "$0")/lib.sh"
md_require_tools
md_setup
md_db_init

SECRET=Zq3v9LkX2mW8pR4tY7uB1nC6dF0gH5jS-token-test
CFG=$MD_TMP/auth.yaml
printf 'auth:\n  jwt_secret: %s\n' "$SECRET" >"$CFG"
chmod 600 "$CFG"
now=$(date +%s)
past=$((now - 3600))
later=$((now + 3600))

# b64u TEXT: unpadded base64url of TEXT
b64u() { printf '%s' "$1" | basenc --base64url | tr -d '=\n'; }
# signed ENCODED_HEADER ENCODED_CLAIMS: the token, HMAC-SHA-256 (openssl)
# with $SECRET over the two parts exactly as given, signature unpadded base64url
signed() {
	printf '%s.%s.%s\n' "$1" "$2" "$(printf '%s.%s' "$1" "$2" |
		openssl dgst -sha256 -hmac "$SECRET" -binary | basenc -w0 --base64url | tr -d =)"
}
# jwt HEADER_JSON CLAIMS_JSON
jwt() { signed "$(b64u "$1")" "$(b64u "$2")"; }
verify() { run_in <(printf '%s\n' "$1") md-user -c "$CFG" token --verify; }
H='{"alg":"HS256","typ":"JWT"}'
good="{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later}"

# refused TOKEN REASON NAME: exit 1 with "invalid token: ...REASON"
refused() {
	verify "$1"
	is "$rc" 1 "$3: exit 1"
	like "$err" "invalid token: .*$2" "$3: says why" || diag "$err"
	is "$out" "" "$3: no claims printed"
}

# --- what is accepted ----------------------------------------------------------
verify "$(jwt "$H" "$good")"
is "$rc" 0 "a good token made elsewhere verifies" || diag "$err"
ok "its claims are printed on one line" jq -e ".sub == \"alice\" and .exp == $later" <<<"$out"
verify "$(jwt '{"alg":"HS256"}' "$good")"
is "$rc" 0 "typ may be left out" || diag "$err"
more=$(printf '{"sub":"alice","iat":%s,"exp":%s,"nbf":%s,"iss":"memedroid","jti":"x"}' \
	"$now" "$later" "$past")
verify "$(jwt "$H" "$more")"
is "$rc" 0 "a past nbf, iss memedroid and other claims are fine" || diag "$err"
run md-user -c "$CFG" token nobody
is "$rc" 65 "md-user token still wants a known user"

# --- the header -----------------------------------------------------------------
refused "$(jwt '{"alg":"HS256","alg":"none","typ":"JWT"}' "$good")" "duplicate key" \
	"a duplicate alg key"
refused "$(jwt '{"alg":"none","typ":"JWT","alg":"HS256"}' "$good")" "duplicate key" \
	"a duplicate alg key, HS256 last"
refused "$(jwt '{"x":{"alg":"HS256"},"alg":"none","typ":"JWT"}' "$good")" "" \
	"alg HS256 nested in another object, none at the top"
refused "$(jwt '{"typ":"JWT","x":{"alg":"HS256"}}' "$good")" "" \
	"alg only nested in another object"
refused "$(jwt '{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false}' "$good")" "crit" \
	"an unknown crit"
refused "$(jwt '{"alg":"HS256","typ":"JWT","kid":"k1"}' "$good")" "other than alg and typ" \
	"another header parameter"
refused "$(jwt '{"alg":"HS256","typ":"JWS"}' "$good")" "typ" "typ not JWT"
refused "$(jwt '["alg","HS256"]' "$good")" "not a JSON object" "a header that is an array"

# --- the claims -----------------------------------------------------------------
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"nbf\":$later}")" \
	"not valid yet" "a future nbf"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$past,\"x\":{\"exp\":9999999999},\"exp\":$past}")" \
	"expired" "a nested exp before the real, past one"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$past,\"exp\":$past,\"x\":{\"exp\":9999999999}}")" \
	"expired" "a nested exp after the real, past one"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$past,\"x\":{\"exp\":9999999999}}")" \
	"no expiry" "an exp only nested"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"exp\":$past}")" \
	"duplicate key" "a duplicate exp"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later.5}")" "not an integer" \
	"a fractional exp"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":1e10}")" "not an integer" \
	"an exp in exponent form"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":\"$later\"}")" "not an integer" \
	"an exp that is a string"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":99999999999999999999999}")" "" \
	"an exp past 64 bits"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":9223372036854775807}")" \
	"not an integer from 0 to" "an exp past the year 9999"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":1.5,\"exp\":$later}")" "iat is not an integer" \
	"a fractional iat"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"exp\":$later}")" "no issue time" "no iat"
refused "$(jwt "$H" "{\"iat\":$now,\"exp\":$later}")" "no subject" "no sub"
refused "$(jwt "$H" "{\"sub\":\"a b\",\"iat\":$now,\"exp\":$later}")" "not a user name" \
	"a sub that is no user name"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"aud\":\"x\"}")" "aud" \
	"an audience"
refused "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"iss\":\"other\"}")" "iss" \
	"another issuer"
refused "$(jwt "$H" "[\"sub\",\"alice\"]")" "not a JSON object" "claims that are an array"

# --- the encoding ---------------------------------------------------------------
tok=$(jwt "$H" "$good")
sig=${tok##*.}
# 32 bytes are 43 characters: the last one carries 4 bits of MAC and 2 unused
A=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_
i=${A%%"${sig: -1}"*}
flipped=${sig%?}${A:$(( ${#i} ^ 1 )):1}
isnt "$flipped" "$sig" "(the signature below differs in its last character only)"
refused "${tok%.*}.$flipped" "base64url" "the unused low bits of the signature's last character set"
c2=$(printf '{"sub":"alice","iat":%s,"exp":%s,"p":1}' "$now" "$later" | basenc -w0 --base64url)
like "$c2" '=$' "(the claims below end in padding)"
refused "$(signed "$(b64u "$H")" "$c2")" "base64url" "padding in the claims"
refused "${tok}=" "base64url" "padding after the signature"
c3=$(b64u "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"t\":\"~~~??>\"}")
like "$c3" '[-_]' "(the claims below use - or _)"
refused "$(signed "$(b64u "$H")" "$(tr -- '-_' '+/' <<<"$c3")")" "base64url" \
	"the standard base64 alphabet"
refused "${tok}.$sig" "three dot-separated parts" "four parts"
big=$(head -c 9000 /dev/zero | tr '\0' x)
verify "$(jwt "$H" "{\"sub\":\"alice\",\"iat\":$now,\"exp\":$later,\"pad\":\"$big\"}")"
is "$rc" 65 "a token over 8 KiB is not read: 65"
like "$err" "a token on standard input: too long" "says so"

# --- what md-user signs verifies, elsewhere too ------------------------------------
printf 'correct horse\n' >"$MD_TMP/pw"
run_in "$MD_TMP/pw" md-user add alice
is "$rc" 0 "md-user add alice" || diag "$err"
run md-user -c "$CFG" token --ttl 5m alice
tok=$out
is "$(signed "${tok%%.*}" "$(cut -d. -f2 <<<"$tok")")" "$tok" \
	"md-user's signature is the HMAC of its two parts"
verify "$tok"
is "$rc" 0 "and it verifies" || diag "$err"
ok "with sub, iss, iat and exp = iat + 5m" \
	jq -e '.sub == "alice" and .iss == "memedroid" and .exp - .iat == 300' <<<"$out"

# --- passwords: bcrypt reads 72 bytes --------------------------------------------
p72=$(head -c 72 /dev/zero | tr '\0' p)
before=$(db_query "SELECT username, password_hash FROM users ORDER BY username")
printf '%sx\n' "$p72" >"$MD_TMP/p73"
run_in "$MD_TMP/p73" md-user add bob
is "$rc" 65 "add with a 73-byte password: 65"
like "$err" "longer than 72 bytes" "says so"
printf '%s\n' "$(head -c 1024 /dev/zero | tr '\0' q)" >"$MD_TMP/p1024"
run_in "$MD_TMP/p1024" md-user add bob
is "$rc" 65 "add with a 1024-byte password: 65"
run_in "$MD_TMP/p73" md-user passwd alice
is "$rc" 65 "passwd with a 73-byte password: 65"
run_in "$MD_TMP/p1024" md-user passwd alice
is "$rc" 65 "passwd with a 1024-byte password: 65"
is "$(db_query "SELECT username, password_hash FROM users ORDER BY username")" "$before" \
	"nothing was changed"
printf '%s\n' "$p72" >"$MD_TMP/p72"
run_in "$MD_TMP/p72" md-user passwd alice
is "$rc" 0 "passwd with a 72-byte password" || diag "$err"
run_in "$MD_TMP/p72" md-user check alice
is "$rc" 0 "check with those 72 bytes: 0"
run_in "$MD_TMP/p73" md-user check alice
is "$rc" 1 "check with those 72 bytes and one more: 1, not a match of the first 72"

# --- the secret --------------------------------------------------------------------
printf 'auth:\n  jwt_secret: %s\n' "$(head -c 32 /dev/zero | tr '\0' a)" >"$MD_TMP/weak.yaml"
chmod 600 "$MD_TMP/weak.yaml"
run_in <(printf '%s\n' "$tok") md-user -c "$MD_TMP/weak.yaml" token --verify
like "$err" "weak.yaml:2: weak auth.jwt_secret" "a secret of 32 'a's draws a warning"
unlike "$err" "aaaaaaaa" "without the secret"
printf 'auth:\n  jwt_secret: %s\n' Ab3dE6gH9kLm2nPqAb3dE6gH9kLm2nPq \
	>"$MD_TMP/rep.yaml"
chmod 600 "$MD_TMP/rep.yaml"
run_in <(printf '%s\n' "$tok") md-user -c "$MD_TMP/rep.yaml" token --verify
like "$err" "weak auth.jwt_secret \(a short pattern repeated\)" "a repeated pattern draws a warning"
chmod 640 "$CFG"
verify "$tok"
is "$rc" 0 "a group-readable config still works"
like "$err" "holds auth.jwt_secret and is readable by others than its owner \(mode 0640\)" \
	"but draws a warning"
chmod 600 "$CFG"
verify "$tok"
is "$rc|$err" "0|" "a 0600 config with a good secret: no warning"

done_testing
