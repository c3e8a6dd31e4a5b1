#include "sigv4.h"

#include "hash.h"
#include "strbuf.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

void sigv4_sha256_hex(const void *buf, size_t len, char hex[SIGV4_HEX_LEN + 1])
{
	struct hash h;

	hash_init(&h);
	hash_update(&h, buf, len);
	hash_final(&h, hex);
}

void sigv4_uri_encode(struct strbuf *out, const char *s, size_t len, int keep_slash)
{
	static const char upper[] = "0123456789ABCDEF";

	sb_grow(out, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' || (c == '/' && keep_slash)) {
			sb_addch(out, c);
		} else {
			char esc[3] = { '%', upper[c >> 4], upper[c & 15] };
			sb_add(out, esc, sizeof(esc));
		}
	}
}

int sigv4_dates(time_t t, char date[SIGV4_DATE_LEN + 1], char amz_date[SIGV4_AMZ_DATE_LEN + 1])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || tm.tm_year < 1 - 1900 || tm.tm_year > 9999 - 1900) {
		errno = EOVERFLOW;
		return -1;
	}
	if (date)
		xsnprintf(date, SIGV4_DATE_LEN + 1, "%04d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	if (amz_date)
		xsnprintf(amz_date, SIGV4_AMZ_DATE_LEN + 1, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900,
			  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return 0;
}

/* out = HMAC-SHA256(key, msg); aborts on OpenSSL's failure, as hash.c does. */
static void hmac256(const void *key, size_t keylen, const char *msg, size_t len, unsigned char out[SIGV4_KEY_LEN])
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)msg, len, out, &n) || n != SIGV4_KEY_LEN)
		abort();
}

static int is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[n] == '\0';
}

int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN])
{
	struct strbuf k = STRBUF_INIT;
	unsigned char a[SIGV4_KEY_LEN], b[SIGV4_KEY_LEN];

	memset(key, 0, SIGV4_KEY_LEN);
	if (!secret || !*secret || !date || strlen(date) != SIGV4_DATE_LEN || !is_digits(date, SIGV4_DATE_LEN) ||
	    !region || !*region || !service || !*service) {
		errno = EINVAL;
		return -1;
	}
	sb_adds(&k, "AWS4");
	sb_adds(&k, secret);
	hmac256(k.buf, k.len, date, strlen(date), a);            /* kDate */
	hmac256(a, sizeof(a), region, strlen(region), b);        /* kRegion */
	hmac256(b, sizeof(b), service, strlen(service), a);      /* kService */
	hmac256(a, sizeof(a), "aws4_request", 12, key);          /* kSigning */
	OPENSSL_cleanse(k.buf, k.len);
	OPENSSL_cleanse(a, sizeof(a));
	OPENSSL_cleanse(b, sizeof(b));
	sb_release(&k);
	return 0;
}

void sigv4_string_to_sign(struct strbuf *out, const char *amz_date, const char *region, const char *service,
			  const char *canonical, size_t canonical_len)
{
	char hex[SIGV4_HEX_LEN + 1];

	sigv4_sha256_hex(canonical, canonical_len, hex);
	sb_addf(out, "%s\n%s\n%.8s/%s/%s/aws4_request\n%s", SIGV4_ALGORITHM, amz_date, amz_date, region, service,
		hex);
}

void sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts, size_t sts_len,
		     char hex[SIGV4_HEX_LEN + 1])
{
	unsigned char mac[SIGV4_KEY_LEN];

	hmac256(key, SIGV4_KEY_LEN, sts, sts_len, mac);
	for (size_t i = 0; i < sizeof(mac); i++) {
		hex[2 * i] = hexdigits[mac[i] >> 4];
		hex[2 * i + 1] = hexdigits[mac[i] & 15];
	}
	hex[SIGV4_HEX_LEN] = '\0';
}

/* An endpoint taken apart: "https://" and the Host: value (no default port). */
struct endpoint {
	const char *scheme;
	size_t scheme_len;
	const char *host;
	size_t host_len;
};

/* Split "http[s]://HOST[:PORT][/]"; 0, or -1 when it is anything else. */
static int endpoint_split(const char *ep, struct endpoint *e)
{
	const char *defport;
	size_t n, i;

	if (!strncmp(ep, "https://", 8))
		e->scheme_len = 8, defport = ":443";
	else if (!strncmp(ep, "http://", 7))
		e->scheme_len = 7, defport = ":80";
	else
		return -1;
	e->scheme = ep;
	e->host = ep + e->scheme_len;
	n = strlen(e->host);
	if (n && e->host[n - 1] == '/')
		n--;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)e->host[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
			return -1;
	}
	if (!n || e->host[0] == ':' || e->host[n - 1] == ':')
		return -1;
	if (n > strlen(defport) && !strncmp(e->host + n - strlen(defport), defport, strlen(defport)))
		n -= strlen(defport);
	e->host_len = n;
	return 0;
}

int sigv4_endpoint_valid(const char *ep)
{
	struct endpoint e;

	return ep && !endpoint_split(ep, &e);
}

int sigv4_bucket_valid(const char *b)
{
	size_t n = strlen(b);

	if (n < 3 || n > 63)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = b[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && ((c != '.' && c != '-') || i == 0 || i == n - 1))
			return 0;
	}
	return 1;
}

static int presign_valid(const struct sigv4_presign *p, struct endpoint *e)
{
	if (!p->endpoint || endpoint_split(p->endpoint, e) || !p->bucket || !sigv4_bucket_valid(p->bucket) ||
	    !p->key || !*p->key || p->key[0] == '/' || !p->region || !*p->region ||
	    !p->access_key || !*p->access_key || !p->secret_key || !*p->secret_key ||
	    (p->session_token && !*p->session_token) || p->expires < 1 || p->expires > SIGV4_EXPIRES_MAX) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* The host, the path and the query (no signature) of the presigned GET p. */
static void presign_parts(const struct sigv4_presign *p, const struct endpoint *e, const char *amz_date,
			  struct strbuf *host, struct strbuf *path, struct strbuf *query)
{
	if (!p->path_style)
		sb_addf(host, "%s.", p->bucket);
	sb_add(host, e->host, e->host_len);

	sb_addch(path, '/');
	if (p->path_style) {
		sigv4_uri_encode(path, p->bucket, strlen(p->bucket), 0);
		sb_addch(path, '/');
	}
	sigv4_uri_encode(path, p->key, strlen(p->key), 1);

	sb_adds(query, "X-Amz-Algorithm=" SIGV4_ALGORITHM "&X-Amz-Credential=");
	sigv4_uri_encode(query, p->access_key, strlen(p->access_key), 0);
	sb_addf(query, "%%2F%.8s%%2F", amz_date);
	sigv4_uri_encode(query, p->region, strlen(p->region), 0);
	sb_addf(query, "%%2Fs3%%2Faws4_request&X-Amz-Date=%s&X-Amz-Expires=%ld", amz_date, p->expires);
	if (p->session_token) {
		sb_adds(query, "&X-Amz-Security-Token=");
		sigv4_uri_encode(query, p->session_token, strlen(p->session_token), 0);
	}
	sb_adds(query, "&X-Amz-SignedHeaders=host");
}

/* Everything of a presigned GET but the signature, checked. */
struct presigned {
	struct endpoint e;
	char amz_date[SIGV4_AMZ_DATE_LEN + 1];
	struct strbuf host, path, query, canonical;
};

static void presigned_release(struct presigned *ps)
{
	sb_release(&ps->host);
	sb_release(&ps->path);
	sb_release(&ps->query);
	sb_release(&ps->canonical);
}

static int presigned_make(const struct sigv4_presign *p, struct presigned *ps)
{
	sb_init(&ps->host, 0);
	sb_init(&ps->path, 0);
	sb_init(&ps->query, 0);
	sb_init(&ps->canonical, 0);
	if (presign_valid(p, &ps->e) || sigv4_dates(p->now, NULL, ps->amz_date))
		return -1;
	presign_parts(p, &ps->e, ps->amz_date, &ps->host, &ps->path, &ps->query);
	sb_addf(&ps->canonical, "GET\n%s\n%s\nhost:%s\n\nhost\n" SIGV4_UNSIGNED_PAYLOAD, ps->path.buf,
		ps->query.buf, ps->host.buf);
	return 0;
}

int sigv4_presign_canonical(const struct sigv4_presign *p, struct strbuf *out)
{
	struct presigned ps;
	int ret = presigned_make(p, &ps);

	if (!ret)
		sb_add(out, ps.canonical.buf, ps.canonical.len);
	presigned_release(&ps);
	return ret;
}

int sigv4_presign_url(const struct sigv4_presign *p, struct strbuf *out)
{
	struct presigned ps;
	struct strbuf sts = STRBUF_INIT;
	unsigned char key[SIGV4_KEY_LEN];
	char date[SIGV4_DATE_LEN + 1], sig[SIGV4_HEX_LEN + 1];

	if (presigned_make(p, &ps)) {
		presigned_release(&ps);
		return -1;
	}
	memcpy(date, ps.amz_date, SIGV4_DATE_LEN);
	date[SIGV4_DATE_LEN] = '\0';
	sigv4_string_to_sign(&sts, ps.amz_date, p->region, "s3", ps.canonical.buf, ps.canonical.len);
	if (sigv4_signing_key(p->secret_key, date, p->region, "s3", key))
		abort();        /* presign_valid() has checked every argument */
	sigv4_signature(key, sts.buf, sts.len, sig);
	OPENSSL_cleanse(key, sizeof(key));
	sb_add(out, ps.e.scheme, ps.e.scheme_len);
	sb_addf(out, "%s%s?%s&X-Amz-Signature=%s", ps.host.buf, ps.path.buf, ps.query.buf, sig);
	sb_release(&sts);
	presigned_release(&ps);
	return 0;
}
