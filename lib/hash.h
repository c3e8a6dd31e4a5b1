/*
 * hash.h - SHA-256 through OpenSSL's EVP interface, streamed.
 *
 * Call order: hash_init -> hash_update* -> hash_final (writes 64 lowercase
 * hex digits and a NUL).  hash_final releases the context; hash_abort
 * releases it without a digest.  Failures of OpenSSL abort: they do not
 * happen short of memory exhaustion.
 */
#ifndef MD_HASH_H
#define MD_HASH_H

#include <stddef.h>

#define HASH_HEX_LEN 64

struct hash {
	void *ctx;
};

void hash_init(struct hash *h);
void hash_update(struct hash *h, const void *data, size_t len);
void hash_final(struct hash *h, char hex[HASH_HEX_LEN + 1]);
void hash_abort(struct hash *h);

/* Is s exactly 64 lowercase hex digits? */
int hash_is_hex(const char *s);

#endif
