/*
 * jwt.h - the tokens md-user issues: HS256 JSON Web Tokens (RFC 7519),
 * signed and verified strictly.
 *
 * A token is three parts of unpadded base64url (RFC 4648 section 5)
 * separated by dots: the header, the claim set and the signature, the
 * HMAC-SHA-256 of "header.claims" keyed with auth.jwt_secret.
 *
 * The header is exactly {"alg":"HS256","typ":"JWT"} as far as its keys go:
 * "alg" is required and must be "HS256"; "typ" may be left out but, when
 * present, must be "JWT"; any other key, "crit" included, is refused (an
 * unknown critical extension must not be ignored, RFC 7515 section 4.1.11).
 *
 * The claim set is a JSON object; only its top-level members are read:
 *
 *   sub  string, required: the user name (user_name_valid())
 *   iat  integer, required: issued at, seconds since the epoch
 *   exp  integer, required: expires at; the token is valid while now < exp,
 *        and exp must be later than iat
 *   nbf  integer, optional: not before; refused while now + JWT_LEEWAY < nbf
 *   iss  string, optional: when present it must be "memedroid"
 *   aud  refused: memedroid tokens have no audience, and a token meant for
 *        another one is not for us
 *
 * iat too may not lie more than JWT_LEEWAY seconds in the future.  The
 * times are JSON integers from 0 to JWT_TIME_MAX (9999-12-31T23:59:59Z):
 * 1e9, 1.0, "1" or a number past the range are refused, not rounded.  Other
 * members (jti, private claims) are allowed and left alone.
 *
 * Verification is strict, so that one token has one reading: the token is
 * at most JWT_MAX_LEN bytes; each part is canonical base64url (only the
 * URL alphabet, no padding, the unused low bits of the last character
 * zero), so no two strings decode to the same bytes; header and claims
 * are parsed as JSON (Jansson) with duplicate keys refused at every
 * depth; the header is checked before the signature, the signature is
 * compared in constant time before the claims are parsed.
 *
 * Nothing here logs or exits; errors are returned.  The key is never
 * copied.
 */
#ifndef MD_JWT_H
#define MD_JWT_H

#include <stddef.h>

struct strbuf;

#define JWT_MAX_LEN 8192              /* bytes in a whole token */
#define JWT_SECRET_MIN 32             /* bytes in auth.jwt_secret */
#define JWT_LEEWAY 60                 /* seconds of clock skew allowed to nbf and iat */
#define JWT_TIME_MAX 253402300799LL   /* 9999-12-31T23:59:59Z */
#define JWT_ISSUER "memedroid"
#define JWT_HS256_LEN 32              /* bytes in an HMAC-SHA-256 */

/* What a valid token says.  Filled by jwt_verify(), freed by
 * jwt_claims_release(). */
struct jwt_claims {
	char *sub;              /* the user name */
	long long iat, exp;
	long long nbf;          /* 0 when the token has none */
	char *json;             /* the whole claim set as compact JSON, one line */
};

/*
 * A signed token for the user sub, issued at iat and expiring at exp
 * (seconds since the epoch), with iss "memedroid", keyed with key[0..keylen).
 * Returns the token, NUL-terminated, no newline, in memory the caller
 * frees; NULL when sub is not a valid user name, the times are not
 * 0 <= iat < exp <= JWT_TIME_MAX, the key is empty, or memory ran out.
 * What it returns verifies with the same key at any time in [iat, exp).
 */
char *jwt_sign(const void *key, size_t keylen, const char *sub, long long iat, long long exp);

/*
 * Verify token[0..len) against key[0..keylen) at the time now.
 * Returns 0 and fills *out (release it with jwt_claims_release()) when the
 * token is valid; otherwise -1, *out zeroed, and *why set to a static
 * lowercase reason such as "bad signature" or "expired".  The token need
 * not be NUL-terminated; one holding a NUL byte is refused.
 */
int jwt_verify(const void *key, size_t keylen, const char *token, size_t len, long long now,
	       struct jwt_claims *out, const char **why);

void jwt_claims_release(struct jwt_claims *c);

/*
 * Is secret a poor HMAC key?  Returns NULL when it looks fine, or a
 * static reason: shorter than JWT_SECRET_MIN bytes, fewer than 16
 * distinct bytes, or one short run of bytes repeated (such as 32 "a"s or
 * "abcd" eight times).  A heuristic against placeholders, not a measure
 * of entropy: use a random secret, like `openssl rand -base64 48`.
 */
const char *jwt_secret_weakness(const char *secret);

/* Append d[0..n) to sb as unpadded base64url (RFC 4648 section 5). */
void jwt_b64url_encode(struct strbuf *sb, const unsigned char *d, size_t n);

/*
 * Decode canonical base64url: the URL alphabet only, no padding, a length
 * that is not 1 modulo 4, and zero bits below the last whole byte.  So
 * each byte string has exactly one encoding.  Returns the bytes,
 * NUL-terminated, their number in *outlen, in memory the caller frees;
 * NULL for anything else.
 */
unsigned char *jwt_b64url_decode(const char *s, size_t n, size_t *outlen);

/*
 * The HMAC-SHA-256 of data[0..n) keyed with key[0..keylen) into mac:
 * 0, or -1 when OpenSSL fails (then mac is untouched).
 */
int jwt_hs256(const void *key, size_t keylen, const char *data, size_t n,
	      unsigned char mac[JWT_HS256_LEN]);

#endif
