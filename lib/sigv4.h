/*
 * sigv4.h - the pieces of AWS Signature Version 4 that libcurl does not
 * make for the S3 storage: the payload hash S3 wants in a header, and
 * presigned GET URLs (query-string authentication) for md-feed.
 *
 * libcurl (CURLOPT_AWS_SIGV4, 7.75 and later) signs a request's headers
 * itself, but in 7.88 it neither sends x-amz-content-sha256, which S3
 * requires on every signed request, nor makes a URL that carries its own
 * signature.  Everything else of SigV4 is left to it.
 *
 * What is computed, after AWS's "Signature Version 4 signing process" and
 * S3's "Authenticating Requests: Using Query Parameters":
 *
 *   signing key     kDate    = HMAC-SHA256("AWS4" secret, YYYYMMDD)
 *                   kRegion  = HMAC-SHA256(kDate, region)
 *                   kService = HMAC-SHA256(kRegion, service)
 *                   kSigning = HMAC-SHA256(kService, "aws4_request")
 *   scope           YYYYMMDD/region/service/aws4_request
 *   string to sign  "AWS4-HMAC-SHA256" LF YYYYMMDDTHHMMSSZ LF scope LF
 *                   hex(SHA256(canonical request))
 *   signature       hex(HMAC-SHA256(kSigning, string to sign))
 *
 * and, for a presigned GET, the canonical request
 *
 *   GET LF
 *   /bucket/key (path style) or /key (virtual host), URI-encoded, '/' kept LF
 *   X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2Fscope&
 *   X-Amz-Date=...&X-Amz-Expires=N[&X-Amz-Security-Token=...]&
 *   X-Amz-SignedHeaders=host LF
 *   host:HOST LF
 *   LF
 *   host LF
 *   UNSIGNED-PAYLOAD
 *
 * The query's names already sort in byte order as written, so they are
 * emitted in that order; the URL is the same query plus
 * &X-Amz-Signature=<signature>.  HOST is the endpoint's host, with its
 * port unless it is the scheme's default (what curl and browsers send as
 * Host:), prefixed by "bucket." for virtual-host addressing.
 *
 * SHA-256 and HMAC come from OpenSSL; nothing here is hand-written
 * cryptography.  Intermediate keys are wiped (OPENSSL_cleanse) before
 * the functions return; the secret itself is never copied except into
 * the wiped "AWS4" prefix buffer.  Nothing here logs, exits or reads the
 * environment or the clock: the caller passes the time, so the functions
 * are pure and the tests reproduce AWS's published examples.  Allocation
 * failure aborts (strbuf.h).
 */
#ifndef MD_SIGV4_H
#define MD_SIGV4_H

#include <stddef.h>
#include <time.h>

struct strbuf;

#define SIGV4_HEX_LEN 64                /* hex digits of a SHA-256 or a signature */
#define SIGV4_KEY_LEN 32                /* bytes of a derived signing key */
#define SIGV4_DATE_LEN 8                /* YYYYMMDD */
#define SIGV4_AMZ_DATE_LEN 16           /* YYYYMMDDTHHMMSSZ */
#define SIGV4_EXPIRES_MAX 604800        /* a presigned URL lives at most 7 days */
#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* The SHA-256 of no bytes: x-amz-content-sha256 of a GET, HEAD or DELETE. */
#define SIGV4_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/*
 * The SHA-256 of len bytes at buf as 64 lowercase hex digits and a NUL,
 * the value of x-amz-content-sha256 for a body held in memory.  For a
 * body read as a stream (an upload), hash.h gives the same digits.
 * Cannot fail.
 */
void sigv4_sha256_hex(const void *buf, size_t len, char hex[SIGV4_HEX_LEN + 1]);

/*
 * Append the len bytes at s to out, URI-encoded as SigV4 wants: the
 * unreserved characters of RFC 3986 (A-Z a-z 0-9 - . _ ~) as they are,
 * every other byte as %XY with upper-case hex digits (a space is %20,
 * never '+'; UTF-8 is encoded byte by byte).  '/' is kept when keep_slash
 * is non-zero (an object key in a path) and encoded as %2F otherwise (a
 * query value).  Cannot fail.
 */
void sigv4_uri_encode(struct strbuf *out, const char *s, size_t len, int keep_slash);

/*
 * The two dates of a request made at time t (UTC): date gets YYYYMMDD,
 * amz_date YYYYMMDDTHHMMSSZ, each NUL-terminated.  Either may be NULL.
 * Returns 0, or -1 with errno EOVERFLOW when t is not a year 1 to 9999.
 */
int sigv4_dates(time_t t, char date[SIGV4_DATE_LEN + 1], char amz_date[SIGV4_AMZ_DATE_LEN + 1]);

/*
 * Derive the signing key (kSigning above) for secret, date (YYYYMMDD),
 * region and service ("s3") into key.  Returns 0, or -1 with errno
 * EINVAL when an argument is NULL or empty or date is not 8 digits
 * (key is then zeroed).  The caller wipes key when done with it.
 */
int sigv4_signing_key(const char *secret, const char *date, const char *region, const char *service,
		      unsigned char key[SIGV4_KEY_LEN]);

/*
 * The string to sign for a request at amz_date (YYYYMMDDTHHMMSSZ) in the
 * scope date/region/service/aws4_request, whose canonical request is the
 * canonical_len bytes at canonical; appended to out.  Cannot fail.
 */
void sigv4_string_to_sign(struct strbuf *out, const char *amz_date, const char *region, const char *service,
			  const char *canonical, size_t canonical_len);

/*
 * The signature of the string to sign sts (sts_len bytes) with the
 * signing key key: 64 lowercase hex digits and a NUL into hex.  Cannot
 * fail.
 */
void sigv4_signature(const unsigned char key[SIGV4_KEY_LEN], const char *sts, size_t sts_len,
		     char hex[SIGV4_HEX_LEN + 1]);

/* Is ep "http://HOST[:PORT]" or "https://HOST[:PORT]", a final '/'
 * allowed, nothing else (see the endpoint of a presigned GET below)? */
int sigv4_endpoint_valid(const char *ep);
/* Is b a bucket name by S3's rules for one that is also a host name (see
 * the bucket of a presigned GET below)? */
int sigv4_bucket_valid(const char *b);

/*
 * A presigned GET of one object.  Every string is borrowed, none is
 * copied or freed.
 *
 *   endpoint       "http://HOST[:PORT]" or "https://HOST[:PORT]", with no
 *                  user, path (a final '/' is allowed), query or fragment:
 *                  "https://s3.amazonaws.com", "http://127.0.0.1:9000"
 *   bucket         3 to 63 of a-z 0-9 . -, starting and ending with a
 *                  letter or digit (S3's rules for a name that can also
 *                  be a host name)
 *   key            the object's key, not encoded, not empty, no leading '/'
 *   region         "us-east-1"; service is always "s3"
 *   access_key,
 *   secret_key     the credentials; neither may be empty
 *   session_token  temporary credentials' token, or NULL
 *   path_style     1: ENDPOINT/bucket/key; 0: bucket.HOST/key
 *   now            the signing time (the URL is valid from then)
 *   expires        seconds it stays valid, 1 to SIGV4_EXPIRES_MAX
 */
struct sigv4_presign {
	const char *endpoint;
	const char *bucket;
	const char *key;
	const char *region;
	const char *access_key;
	const char *secret_key;
	const char *session_token;
	int path_style;
	time_t now;
	long expires;
};

/*
 * The canonical request of the presigned GET p (see above), appended to
 * out.  Returns 0, or -1 with errno EINVAL when p breaks a rule above
 * (out is then left as it was).
 */
int sigv4_presign_canonical(const struct sigv4_presign *p, struct strbuf *out);

/*
 * The presigned URL of p, appended to out: the endpoint's scheme, the
 * host (bucket-prefixed unless path_style), the encoded path, the query
 * of the canonical request and X-Amz-Signature last.  Anyone holding it
 * can GET that object until now + expires: it is a credential, not to be
 * logged.  Returns 0, or -1 with errno EINVAL (as above) or EOVERFLOW (a
 * time outside years 1 to 9999), out then left as it was.
 */
int sigv4_presign_url(const struct sigv4_presign *p, struct strbuf *out);

#endif
