/*
 * test-auth.c - lib/auth.c and the primitives of lib/jwt.c against known
 * vectors: bcrypt (Openwall crypt_blowfish's, as "$2b$"), HMAC-SHA-256
 * (RFC 4231), the HS256 signature of RFC 7515 appendix A.1, base64url
 * (RFC 4648).  #included by test-lib.c.
 */
#include "auth.h"

static void hex_of(const unsigned char *d, size_t n, char *out)
{
	static const char x[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[2 * n] = '\0';
}

static void test_bcrypt_vectors(void)
{
	static const struct { const char *hash, *password; } v[] = {
		{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U" },
		{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*" },
		{ "$2b$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U" },
		{ "$2b$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", "" },
		{ "$2b$05$/OK.fbVrR/bpIqNJ5ianF.CE5elHaaO4EbggVDjb8P19RukzXSM3e", "\xff\xff\xa3" },
	};
	/* 72 bytes, then more that bcrypt does not read */
	static const char long72[] =
		"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char long_hash[] = "$2b$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui";
	char name[128];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		xsnprintf(name, sizeof(name), "bcrypt vector %zu matches its password", i);
		ok(auth_password_check(v[i].password, v[i].hash), name);
		xsnprintf(name, sizeof(name), "bcrypt vector %zu: another password does not", i);
		ok(!auth_password_check("U*U*U*", v[i].hash), name);
	}
	ok(strlen(long72) == AUTH_PASSWORD_MAX && auth_password_check(long72, long_hash),
	   "bcrypt vector of 72 bytes matches");
	struct strbuf sb = STRBUF_INIT;
	sb_addf(&sb, "%schars after 72 are ignored", long72);
	ok(!auth_password_check(sb.buf, long_hash),
	   "the same 72 bytes and more never match: one password, one hash");
	sb_release(&sb);
	ok(!auth_password_check("U*U", NULL), "no stored hash: no match");
	ok(!auth_password_check("U*U", "*0"), "a crypt failure string: no match");
	ok(!auth_password_check("", ""), "an empty stored hash: no match");
}

static void test_password_hash(void)
{
	char *h1 = auth_password_hash("correct horse"), *h2 = auth_password_hash("correct horse");

	ok(h1 && !strncmp(h1, "$2b$12$", 7) && strlen(h1) == 60, "a new hash is $2b$, cost 12");
	ok(h1 && auth_password_check("correct horse", h1), "it matches its password");
	ok(h1 && !auth_password_check("correct hors", h1), "and not another");
	ok(h1 && h2 && strcmp(h1, h2), "two hashes of one password differ (salt)");
	free(h1);
	free(h2);
	ok(!auth_password_acceptable(""), "an empty password cannot be set");
	ok(auth_password_acceptable("x"), "a 1-byte password can");
	char p[AUTH_PASSWORD_MAX + 2];
	memset(p, 'x', sizeof(p) - 1);
	p[sizeof(p) - 1] = '\0';
	ok(!auth_password_acceptable(p), "a 73-byte password cannot");
	p[AUTH_PASSWORD_MAX] = '\0';
	ok(auth_password_acceptable(p), "a 72-byte password can");
	auth_secret_free(xstrdup("secret"));
	auth_secret_free(NULL);
}

static void test_hmac_vectors(void)
{
	static const struct { const char *key, *data, *mac; size_t keylen; } v[] = {
		/* RFC 4231 test cases 1, 2 and 6 */
		{ "\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b\x0b",
		  "Hi There",
		  "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 20 },
		{ "Jefe", "what do ya want for nothing?",
		  "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 4 },
		{ NULL, "Test Using Larger Than Block-Size Key - Hash Key First",
		  "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 131 },
	};
	unsigned char key[131], mac[JWT_HS256_LEN];
	char hex[2 * JWT_HS256_LEN + 1], name[64];

	memset(key, 0xaa, sizeof(key));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const void *k = v[i].key ? (const void *)v[i].key : key;
		int rc = jwt_hs256(k, v[i].keylen, v[i].data, strlen(v[i].data), mac);

		hex_of(mac, sizeof(mac), hex);
		xsnprintf(name, sizeof(name), "HMAC-SHA-256, RFC 4231 vector %zu", i);
		is_str(rc ? "failed" : hex, v[i].mac, name);
	}

	/* RFC 7515 A.1: the JWS signed with HS256 */
	static const char jwk[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4h"
				  "cgUuTwjAzZr1Z9CAow";
	static const char input[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
		"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
	struct strbuf sig = STRBUF_INIT;
	size_t klen = 0;
	unsigned char *k = jwt_b64url_decode(jwk, strlen(jwk), &klen);

	ok(k && klen == 64, "RFC 7515 A.1: the key decodes to 64 bytes");
	if (k && !jwt_hs256(k, klen, input, strlen(input), mac))
		jwt_b64url_encode(&sig, mac, sizeof(mac));
	is_str(sig.buf, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", "RFC 7515 A.1: the HS256 signature");
	free(k);
	sb_release(&sig);
}

static void test_b64url(void)
{
	static const char *const rfc4648[][2] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const refused[] = {
		"Z",            /* a length of 1 modulo 4 */
		"Zg==",         /* padding */
		"Zh",           /* bits set below the last byte: not canonical */
		"Zm9",          /* the same, for two bytes */
		"+_8", "-/8",   /* the standard alphabet's 62 and 63 */
		"Zm 9v", "Zm\n9v", "Zm9v.",
	};
	char name[64];

	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		struct strbuf sb = STRBUF_INIT;
		size_t n = 99;
		unsigned char *d;

		jwt_b64url_encode(&sb, (const unsigned char *)rfc4648[i][0], strlen(rfc4648[i][0]));
		xsnprintf(name, sizeof(name), "base64url of '%s' (RFC 4648)", rfc4648[i][0]);
		is_str(sb.buf, rfc4648[i][1], name);
		d = jwt_b64url_decode(rfc4648[i][1], strlen(rfc4648[i][1]), &n);
		xsnprintf(name, sizeof(name), "and '%s' decodes back", rfc4648[i][1]);
		ok(d && n == strlen(rfc4648[i][0]) && !memcmp(d, rfc4648[i][0], n), name);
		free(d);
		sb_release(&sb);
	}
	static const unsigned char high[] = { 0xfb, 0xff, 0xbf };
	struct strbuf sb = STRBUF_INIT;
	jwt_b64url_encode(&sb, high, sizeof(high));
	is_str(sb.buf, "-_-_", "base64url uses - and _ for 62 and 63");
	sb_release(&sb);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		size_t n;
		unsigned char *d = jwt_b64url_decode(refused[i], strlen(refused[i]), &n);

		xsnprintf(name, sizeof(name), "base64url refuses bad case %zu", i);
		ok(!d, name);
		free(d);
	}
}

static void test_auth_tokens(void)
{
	static const char secret[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	const char *why = NULL;
	struct jwt_claims c;
	char *tok;

	ok(!auth_token_issue(secret, "alice", 1000, 0.5, &why) && why,
	   "a token living under a second is refused");
	ok(!auth_token_issue(secret, "alice", 1000, AUTH_TTL_MAX + 1, &why) && why,
	   "a token living more than ten years is refused");
	tok = auth_token_issue(secret, "alice", 1000, 3600, &why);
	ok(tok != NULL, "a token for an hour");
	int valid = tok && !auth_token_verify(secret, tok, 1000, &c, &why);
	ok(valid && !strcmp(c.sub, "alice") && c.iat == 1000 && c.exp == 4600,
	   "it verifies: sub, iat, exp");
	if (valid)
		jwt_claims_release(&c);
	ok(tok && auth_token_verify(secret, tok, 4600, &c, &why), "not at its exp");
	ok(tok && auth_token_verify("0123456789abcdefghijklmnopqrstuvwxyZ", tok, 1000, &c, &why) &&
	   !strcmp(why, "bad signature"), "not with another secret: bad signature");
	free(tok);
}

static void test_auth(void)
{
	test_bcrypt_vectors();
	test_password_hash();
	test_hmac_vectors();
	test_b64url();
	test_auth_tokens();
}
