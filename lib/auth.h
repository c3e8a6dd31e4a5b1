/*
 * auth.h - the users' secrets: passwords kept as bcrypt hashes, and the
 * signed tokens (jwt.h) issued for them.  md-user is the tool over it.
 *
 * Passwords are hashed and checked with crypt(3) (libxcrypt, bcrypt
 * "$2b$", cost AUTH_BCRYPT_COST) and compared in constant time.  bcrypt
 * reads only AUTH_PASSWORD_MAX (72) bytes, so a longer password is refused
 * when it is set (auth_password_acceptable) and never matches when it is
 * checked, even when its first 72 bytes would: one password, one hash.
 * A check costs the same whether the user has a hash or not.
 *
 * Call order, to set a password:
 *   if (!auth_password_acceptable(pw)) refuse;
 *   hash = auth_password_hash(pw);  ...store it...;  free(hash);
 *   auth_secret_free(pw);
 * to check one:
 *   ok = auth_password_check(pw, stored_or_NULL);
 *
 * Errors are logged (log.h) and returned; nothing here exits.
 */
#ifndef MD_AUTH_H
#define MD_AUTH_H

#include "jwt.h"

#define AUTH_BCRYPT_COST 12
#define AUTH_PASSWORD_MAX 72          /* bytes of a password bcrypt uses */
#define AUTH_TTL_MAX (3650.0 * 86400) /* the longest token lifetime, ten years */

/* Can password be set: 1 to AUTH_PASSWORD_MAX bytes?  1 or 0. */
int auth_password_acceptable(const char *password);

/*
 * The bcrypt hash of password with a new random salt and cost
 * AUTH_BCRYPT_COST ("$2b$12$..."), in memory the caller frees; NULL,
 * logged, when no salt or hash could be made.
 */
char *auth_password_hash(const char *password);

/*
 * Is password the one hashed in stored (a crypt(3) string, or NULL when
 * the user has no password or does not exist)?  1 or 0, after the same
 * work in every case; a password longer than AUTH_PASSWORD_MAX is never
 * the one.
 */
int auth_password_check(const char *password, const char *stored);

/* Wipe the string s (a password, a token), then free it.  NULL is fine. */
void auth_secret_free(char *s);

/*
 * A token for user, issued at now and valid for ttl seconds (1 to
 * AUTH_TTL_MAX), signed with secret: jwt_sign() with the length of the
 * secret taken.  NULL, with *why set to a static reason, when the
 * lifetime is out of range or signing failed.
 */
char *auth_token_issue(const char *secret, const char *user, long long now, double ttl,
		       const char **why);

/* jwt_verify() of the NUL-terminated token with the secret, at now. */
int auth_token_verify(const char *secret, const char *token, long long now,
		      struct jwt_claims *out, const char **why);

#endif
