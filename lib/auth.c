/*
 * auth.c - bcrypt passwords and the tokens issued for users; see auth.h.
 */
#include "auth.h"
#include "log.h"
#include "strbuf.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <string.h>

/* A hash of nothing anyone knows: what a check without one compares
 * against, so that it does the same work. */
static const char dummy_hash[] = "$2b$12$sXJJ5lJ2w1N7nWmmkzalzOu2RXg7vriYYEHwFK52q3Agi/c/1rPce";

int auth_password_acceptable(const char *password)
{
	size_t n = strlen(password);

	return n >= 1 && n <= AUTH_PASSWORD_MAX;
}

char *auth_password_hash(const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd;
	char *out = NULL;

	if (!crypt_gensalt_rn("$2b$", AUTH_BCRYPT_COST, NULL, 0, salt, sizeof(salt))) {
		error_errno("cannot make a bcrypt salt");
		return NULL;
	}
	cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_r(password, salt, cd);
	if (h && h[0] != '*')
		out = xstrdup(h);
	else
		error("cannot hash the password with bcrypt");
	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return out;
}

int auth_password_check(const char *password, const char *stored)
{
	struct crypt_data *cd = xcalloc(1, sizeof(*cd));
	const char *h = crypt_r(password, stored ? stored : dummy_hash, cd);
	int ok = stored && h && h[0] != '*' && strlen(h) == strlen(stored) &&
		 CRYPTO_memcmp(h, stored, strlen(stored)) == 0;

	OPENSSL_cleanse(cd, sizeof(*cd));
	free(cd);
	return ok && strlen(password) <= AUTH_PASSWORD_MAX;
}

void auth_secret_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

char *auth_token_issue(const char *secret, const char *user, long long now, double ttl,
		       const char **why)
{
	char *tok;

	if (!(ttl >= 1 && ttl <= AUTH_TTL_MAX)) {
		*why = "a token lives 1s to 3650d";
		return NULL;
	}
	tok = jwt_sign(secret, strlen(secret), user, now, now + (long long)ttl);
	if (!tok)
		*why = "cannot sign a token";
	return tok;
}

int auth_token_verify(const char *secret, const char *token, long long now,
		      struct jwt_claims *out, const char **why)
{
	return jwt_verify(secret, strlen(secret), token, strlen(token), now, out, why);
}
