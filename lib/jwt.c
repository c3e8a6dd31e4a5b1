/*
 * jwt.c - HS256 JSON Web Tokens, signed and verified strictly; see jwt.h.
 */
#include "jwt.h"
#include "strbuf.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

static const char b64u_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

#define HS256_LEN JWT_HS256_LEN

/* ---------- base64url ---------- */

void jwt_b64url_encode(struct strbuf *sb, const unsigned char *d, size_t n)
{
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | d[i]) & 0xffff;
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			sb_addch(sb, b64u_alphabet[(acc >> bits) & 63]);
		}
	}
	if (bits)
		sb_addch(sb, b64u_alphabet[(acc << (6 - bits)) & 63]);
}

static int b64u_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '-' ? 62 : c == '_' ? 63 : -1;
}

unsigned char *jwt_b64url_decode(const char *s, size_t n, size_t *outlen)
{
	unsigned char *out;
	unsigned acc = 0;
	size_t k = 0;
	int bits = 0;

	if (n % 4 == 1)
		return NULL;
	out = xmalloc(n / 4 * 3 + 3);
	for (size_t i = 0; i < n; i++) {
		int v = b64u_value((unsigned char)s[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[k++] = (unsigned char)(acc >> bits);
		}
	}
	if (acc & ((1u << bits) - 1)) {
		free(out);
		return NULL;
	}
	out[k] = '\0';
	*outlen = k;
	return out;
}

/* ---------- signing ---------- */

int jwt_hs256(const void *key, size_t keylen, const char *data, size_t n,
	      unsigned char mac[HS256_LEN])
{
	unsigned char buf[EVP_MAX_MD_SIZE];
	unsigned len = 0;
	int rc = -1;

	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data, n, buf, &len) &&
	    len == HS256_LEN) {
		memcpy(mac, buf, HS256_LEN);
		rc = 0;
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

char *jwt_sign(const void *key, size_t keylen, const char *sub, long long iat, long long exp)
{
	struct strbuf tok = STRBUF_INIT;
	unsigned char mac[HS256_LEN];
	json_t *claims;
	char *body;

	if (!keylen || keylen > 0x7fffffff || !sub || !user_name_valid(sub) || iat < 0 ||
	    exp <= iat || exp > JWT_TIME_MAX)
		return NULL;
	claims = json_pack("{s:s, s:s, s:I, s:I}", "sub", sub, "iss", JWT_ISSUER,
			   "iat", (json_int_t)iat, "exp", (json_int_t)exp);
	body = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
	json_decref(claims);
	if (!body)
		return NULL;
	jwt_b64url_encode(&tok, (const unsigned char *)header_json, strlen(header_json));
	sb_addch(&tok, '.');
	jwt_b64url_encode(&tok, (const unsigned char *)body, strlen(body));
	free(body);
	if (jwt_hs256(key, keylen, tok.buf, tok.len, mac)) {
		sb_release(&tok);
		return NULL;
	}
	sb_addch(&tok, '.');
	jwt_b64url_encode(&tok, mac, sizeof(mac));
	return sb_detach(&tok, NULL);
}

/* ---------- verification ---------- */

/* A JSON object from bytes, duplicate keys refused; NULL when it is not
 * one, *dup set when a duplicate key was the reason. */
static json_t *parse_object(const unsigned char *d, size_t n, int *dup)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, &err);

	*dup = !j && json_error_code(&err) == json_error_duplicate_key;
	if (j && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

static const char *check_header(const json_t *h)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)h, key, v) {
		if (!strcmp(key, "alg")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "HS256") ||
			    json_string_length(v) != 5)
				return "not an HS256 token";
		} else if (!strcmp(key, "typ")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "JWT") ||
			    json_string_length(v) != 3)
				return "header typ is not JWT";
		} else if (!strcmp(key, "crit")) {
			return "header has critical extensions (crit)";
		} else {
			return "header has a parameter other than alg and typ";
		}
	}
	if (!json_object_get(h, "alg"))
		return "not an HS256 token";
	return NULL;
}

/*
 * The top-level member name of claims as a time: 1 and *t set when present
 * and valid, 0 when absent, -1 when not an integer in [0, JWT_TIME_MAX].
 */
static int claim_time(const json_t *claims, const char *name, long long *t)
{
	json_t *v = json_object_get(claims, name);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > JWT_TIME_MAX)
		return -1;
	*t = (long long)json_integer_value(v);
	return 1;
}

static const char *check_claims(const json_t *c, long long now, struct jwt_claims *out)
{
	json_t *sub = json_object_get(c, "sub"), *iss = json_object_get(c, "iss");
	int r;

	if (!(r = claim_time(c, "exp", &out->exp)))
		return "no expiry";
	if (r < 0)
		return "exp is not an integer from 0 to 253402300799";
	if (out->exp <= now)
		return "expired";
	if (!sub)
		return "no subject (sub)";
	if (!json_is_string(sub) || json_string_length(sub) != strlen(json_string_value(sub)) ||
	    !user_name_valid(json_string_value(sub)))
		return "sub is not a user name";
	if (!(r = claim_time(c, "iat", &out->iat)))
		return "no issue time (iat)";
	if (r < 0)
		return "iat is not an integer from 0 to 253402300799";
	if (out->iat > now + JWT_LEEWAY)
		return "issued in the future (iat)";
	if (out->exp <= out->iat)
		return "expires before it was issued";
	if ((r = claim_time(c, "nbf", &out->nbf)) < 0)
		return "nbf is not an integer from 0 to 253402300799";
	if (r && out->nbf > now + JWT_LEEWAY)
		return "not valid yet (nbf)";
	if (iss && (!json_is_string(iss) || strcmp(json_string_value(iss), JWT_ISSUER) ||
		    json_string_length(iss) != strlen(JWT_ISSUER)))
		return "issuer (iss) is not " JWT_ISSUER;
	if (json_object_get(c, "aud"))
		return "has an audience (aud)";
	out->sub = xstrdup(json_string_value(sub));
	return NULL;
}

int jwt_verify(const void *key, size_t keylen, const char *token, size_t len, long long now,
	       struct jwt_claims *out, const char **why)
{
	unsigned char *head = NULL, *body = NULL, *sig = NULL, mac[HS256_LEN];
	size_t headlen, bodylen, siglen;
	const char *dot1, *dot2;
	json_t *h = NULL, *c = NULL;
	int dup;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!keylen || keylen > 0x7fffffff) {
		*why = "no key";
		return -1;
	}
	if (len > JWT_MAX_LEN) {
		*why = "too long (more than 8192 bytes)";
		return -1;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token))) {
		*why = "not a JWT (three dot-separated parts)";
		return -1;
	}
	if (!(head = jwt_b64url_decode(token, (size_t)(dot1 - token), &headlen)) ||
	    !(body = jwt_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &bodylen)) ||
	    !(sig = jwt_b64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), &siglen))) {
		*why = "not base64url (unpadded, URL alphabet, canonical)";
		goto out;
	}
	if (!(h = parse_object(head, headlen, &dup))) {
		*why = dup ? "duplicate key in the header" : "header is not a JSON object";
		goto out;
	}
	if ((*why = check_header(h)))
		goto out;
	if (jwt_hs256(key, keylen, token, (size_t)(dot2 - token), mac)) {
		*why = "cannot compute HMAC-SHA-256";
		goto out;
	}
	if (siglen != HS256_LEN || CRYPTO_memcmp(sig, mac, HS256_LEN)) {
		*why = "bad signature";
		goto out;
	}
	if (!(c = parse_object(body, bodylen, &dup))) {
		*why = dup ? "duplicate key in the claims" : "claims are not a JSON object";
		goto out;
	}
	if ((*why = check_claims(c, now, out)))
		goto out;
	if (!(out->json = json_dumps(c, JSON_COMPACT)))
		*why = "out of memory";
out:
	json_decref(h);
	json_decref(c);
	free(head);
	if (body)
		OPENSSL_cleanse(body, bodylen);
	free(body);
	free(sig);
	if (*why) {
		jwt_claims_release(out);
		return -1;
	}
	return 0;
}

void jwt_claims_release(struct jwt_claims *c)
{
	free(c->sub);
	free(c->json);
	memset(c, 0, sizeof(*c));
}

/* ---------- secrets ---------- */

const char *jwt_secret_weakness(const char *secret)
{
	size_t n = strlen(secret), distinct = 0, *border, period;
	unsigned char seen[256] = { 0 };

	if (n < JWT_SECRET_MIN)
		return "shorter than 32 bytes";
	for (size_t i = 0; i < n; i++)
		if (!seen[(unsigned char)secret[i]]++)
			distinct++;
	if (distinct < 16)
		return "fewer than 16 distinct characters";
	/* the shortest period, from the KMP failure function */
	border = xcalloc(n, sizeof(*border));
	for (size_t i = 1, k = 0; i < n; i++) {
		while (k && secret[i] != secret[k])
			k = border[k - 1];
		if (secret[i] == secret[k])
			k++;
		border[i] = k;
	}
	period = n - border[n - 1];
	free(border);
	if (period <= n / 2)
		return "a short pattern repeated";
	return NULL;
}
