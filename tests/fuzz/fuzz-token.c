/*
 * fuzz-token - jwt_verify() on any bytes, with a fixed key and time.
 *
 * An input that starts with 'S' is "HEADER\nCLAIMS" instead: both are
 * base64url-encoded and signed here with the key, so that the header and
 * claim checks behind the signature are reached too.  Every input also
 * checks the round trip: its first bytes, when they make a user name, are
 * signed by jwt_sign() and must verify to the same sub, iat and exp.
 * Any broken promise of jwt.h aborts.
 */
#include "jwt.h"
#include "strbuf.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char key[] = "fuzz-key-Zq3v9LkX2mW8pR4tY7uB1nC6";
#define NOW 1800000000LL

static void b64u(struct strbuf *sb, const unsigned char *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8 | d[i]) & 0xffff;
		for (bits += 8; bits >= 6; bits -= 6)
			sb_addch(sb, a[(acc >> (bits - 6)) & 63]);
	}
	if (bits)
		sb_addch(sb, a[(acc << (6 - bits)) & 63]);
}

static void check(const char *tok, size_t n)
{
	struct jwt_claims c;
	const char *why = NULL;

	if (!jwt_verify(key, strlen(key), tok, n, NOW, &c, &why)) {
		if (why || !c.sub || !user_name_valid(c.sub) || c.exp <= NOW || c.iat >= c.exp ||
		    c.iat > NOW + JWT_LEEWAY || c.nbf > NOW + JWT_LEEWAY || !c.json ||
		    strchr(c.json, '\n'))
			abort();
		jwt_claims_release(&c);
	} else if (!why || c.sub || c.json) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct strbuf tok = STRBUF_INIT;
	struct jwt_claims c;
	const char *why;
	char name[65];

	if (n && d[0] == 'S') {
		const uint8_t *nl = memchr(d + 1, '\n', n - 1);
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned maclen = 0;

		if (nl) {
			b64u(&tok, d + 1, (size_t)(nl - d - 1));
			sb_addch(&tok, '.');
			b64u(&tok, nl + 1, n - (size_t)(nl + 1 - d));
			HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)tok.buf, tok.len,
			     mac, &maclen);
			sb_addch(&tok, '.');
			b64u(&tok, mac, maclen);
			check(tok.buf, tok.len);
			sb_release(&tok);
		}
	}
	check((const char *)d, n);

	size_t k = n < sizeof(name) - 1 ? n : sizeof(name) - 1;
	memcpy(name, d, k);
	name[k] = '\0';
	if (user_name_valid(name)) {
		long long iat = NOW - (long long)(n % 1000), exp = NOW + 1 + (long long)(n % 100000);
		char *t = jwt_sign(key, strlen(key), name, iat, exp);

		if (!t || jwt_verify(key, strlen(key), t, strlen(t), NOW, &c, &why) ||
		    strcmp(c.sub, name) || c.iat != iat || c.exp != exp)
			abort();
		jwt_claims_release(&c);
		free(t);
	}
	return 0;
}
