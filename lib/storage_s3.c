/*
 * storage_s3.c - the S3 backend of storage.h: key K is the object
 * PREFIX/K of a bucket on any S3-compatible service (AWS, MinIO, Ceph),
 * spoken to with libcurl, which signs every request itself
 * (CURLOPT_AWS_SIGV4).  Temp files and scratch directories stay local, in
 * the scratch directory, through a filesystem backend of their own.
 *
 * What S3 gives, and how storage.h's promises are kept on it:
 *
 *   put       one PUT up to storage.part_size, a multipart upload above
 *             it; either makes the object appear whole or not at all.  A
 *             multipart upload that fails is aborted; one a killed process
 *             leaves is invisible (no object) and md-janitor aborts it.
 *   publish   each file PUT under the run's own folder, the playlists of
 *             an HLS folder after every segment and master.m3u8 last; the
 *             folder is registered in the database only after the last
 *             PUT, so no reader is ever pointed at it before it is whole.
 *   fetch     a GET into the job's work directory.
 *   list      ListObjectsV2, page by page; LastModified is the mtime.
 *   stale     a HEAD judges the object, a DELETE removes it: two
 *             requests, not one step as on a filesystem (see storage.h).
 *
 * Every request is retried on what passes: no connection, a timeout
 * (no byte for storage.timeout), 5xx, 429, SlowDown and RequestTimeout,
 * storage.retries times with exponential backoff and jitter (0.25 s
 * doubling, at most 8 s between tries).  Then it fails with errno EAGAIN
 * (the tools exit 75 or give the job back); a 403 fails at once with
 * EACCES (a configuration error, 78); a 404 with ENOENT.  What went wrong
 * is kept for storage_strerror().  The secret key and the session token
 * are never logged and never part of a message; the backend wipes its
 * copy of the secret when it is closed.
 *
 * A forked child (md-work's job runners) gets a fresh curl handle of its
 * own: the parent's connections are not shared across processes.
 */
#include "storage_int.h"
#include "conf.h"
#include "dl.h"
#include "file.h"
#include "hash.h"
#include "log.h"
#include "quote.h"
#include "sigv4.h"
#include "strbuf.h"

/* calls go through pointers (lib, below), which curl's type-checking
 * macros cannot wrap */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* libcurl and libxml2, loaded by s3_open() (dl.h): what this storage
 * calls.  xmlFree is a variable holding libxml2's free function, hence
 * (*lib.xmlFree)(p). */
#define CURL_FUNCS(X) \
	X(curl_easy_cleanup) X(curl_easy_init) X(curl_easy_perform) X(curl_easy_reset) \
	X(curl_easy_setopt) X(curl_easy_strerror) X(curl_getdate) X(curl_global_init) \
	X(curl_slist_append) X(curl_slist_free_all)
#define XML_FUNCS(X) \
	X(xmlDocGetRootElement) X(xmlFree) X(xmlFreeDoc) X(xmlNodeGetContent) X(xmlReadMemory)
static struct {
	CURL_FUNCS(DL_POINTER)
	XML_FUNCS(DL_POINTER)
} lib;

/* Load the two libraries, once: 0, or -1 after an error. */
static int s3_load(void)
{
	static int loaded;
	const char *so;
	void *h;

	if (loaded)
		return 0;
#define X(f) if (!DL_SYM(lib, h, so, f)) return -1;
	so = SONAME_CURL;
	if (!(h = dl_open(so, "S3 storage")))
		return -1;
	CURL_FUNCS(X)
	so = SONAME_XML2;
	if (!(h = dl_open(so, "S3 storage")))
		return -1;
	XML_FUNCS(X)
#undef X
	loaded = 1;
	return 0;
}

#define S3_PARTS_MAX 10000
#define S3_BODY_MAX (4 << 20)                   /* an XML answer we read, at most */
#define S3_BACKOFF_BASE 0.25
#define S3_BACKOFF_CAP 8.0

struct s3 {
	char *bucket;
	char *prefix;           /* "" or "a/b/" */
	char *endpoint;         /* scheme://host[:port], no final '/' */
	char *vhost;            /* scheme://bucket.host[:port] (virtual-host addressing) */
	char *region;
	char *access_key, *secret_key, *token;
	char *sigv4;            /* "aws:amz:REGION:s3" */
	int path_style;
	uint64_t part_size;
	int retries;
	long timeout;           /* seconds */
	CURL *curl;
	pid_t pid;              /* whose handle curl is */
	struct storage local;   /* the scratch directory */
	int last_errno;
	char last_error[512];
};

#define S3(st) ((struct s3 *)(st)->be)

/* ---------- settings ---------- */

static const char *env(const char *name)
{
	const char *s = getenv(name);
	return s && *s ? s : NULL;
}

/* Is every byte of s one a key prefix may hold? */
static int prefix_valid(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-._/!()*", *s)))
			return 0;
	return 1;
}

static void s3_free(struct s3 *s)
{
	if (s->curl && s->pid == getpid())
		lib.curl_easy_cleanup(s->curl);
	if (s->local.ops)
		storage_close(&s->local);
	if (s->secret_key)
		OPENSSL_cleanse(s->secret_key, strlen(s->secret_key));
	if (s->token)
		OPENSSL_cleanse(s->token, strlen(s->token));
	free(s->bucket);
	free(s->prefix);
	free(s->endpoint);
	free(s->vhost);
	free(s->region);
	free(s->access_key);
	free(s->secret_key);
	free(s->token);
	free(s->sigv4);
	free(s);
}

static int s3_open(struct storage *st, const char *url, const struct storage_conf *c)
{
	static int curl_ready;
	struct s3 *s;
	const char *slash = strchr(url, '/'), *ak, *sk, *tok, *ep, *region, *scratch;
	size_t scheme_len;

	if (s3_load())
		return -1;
	s = xcalloc(1, sizeof(*s));
	s->bucket = slash ? xstrndup(url, (size_t)(slash - url)) : xstrdup(url);
	if (slash) {
		const char *p = slash + 1;
		size_t n;
		while (*p == '/')
			p++;
		n = strlen(p);
		while (n && p[n - 1] == '/')
			n--;
		s->prefix = n ? xstrfmt("%.*s/", (int)n, p) : xstrdup("");
	} else {
		s->prefix = xstrdup("");
	}
	if (!sigv4_bucket_valid(s->bucket)) {
		error("storage 's3://%s': bad bucket name '%s' (3 to 63 of a-z 0-9 . -)", url, s->bucket);
		goto fail;
	}
	if (!prefix_valid(s->prefix) || strstr(s->prefix, "//") || strstr(s->prefix, "./")) {
		error("storage 's3://%s': bad key prefix (letters, digits and - . _ / ! ( ) * only)", url);
		goto fail;
	}

	/* the config file first, then AWS_*; the credentials as a pair */
	region = c && c->region ? c->region : env("AWS_REGION") ? env("AWS_REGION")
					   : env("AWS_DEFAULT_REGION") ? env("AWS_DEFAULT_REGION") : "us-east-1";
	s->region = xstrdup(region);
	ep = c && c->endpoint ? c->endpoint : env("AWS_ENDPOINT_URL_S3") ? env("AWS_ENDPOINT_URL_S3")
									 : env("AWS_ENDPOINT_URL");
	if (ep) {
		size_t n = strlen(ep);
		while (n && ep[n - 1] == '/')
			n--;
		s->endpoint = xstrndup(ep, n);
	} else {
		s->endpoint = xstrfmt("https://s3.%s.amazonaws.com", s->region);
	}
	scheme_len = strncmp(s->endpoint, "https://", 8) ? 7 : 8;
	if (!sigv4_endpoint_valid(s->endpoint)) {
		error("storage endpoint '%s': not http://HOST[:PORT] or https://HOST[:PORT]", s->endpoint);
		goto fail;
	}
	if (c && c->addressing && !strcmp(c->addressing, "path"))
		s->path_style = 1;
	else if (c && c->addressing && !strcmp(c->addressing, "virtual"))
		s->path_style = 0;
	else
		s->path_style = ep != NULL;   /* AWS itself: virtual host; others: path */
	if (!s->path_style && strchr(s->bucket, '.') && scheme_len == 8) {
		error("storage 's3://%s': a bucket name with dots needs addressing: path over https", url);
		goto fail;
	}
	s->vhost = xstrfmt("%.*s%s.%s", (int)scheme_len, s->endpoint, s->bucket, s->endpoint + scheme_len);
	if (c && c->access_key && c->secret_key) {
		ak = c->access_key, sk = c->secret_key, tok = c->session_token;
	} else {
		ak = env("AWS_ACCESS_KEY_ID"), sk = env("AWS_SECRET_ACCESS_KEY"), tok = env("AWS_SESSION_TOKEN");
	}
	if (!ak || !sk) {
		error("storage 's3://%s': no credentials (storage.access_key_id and "
		      "storage.secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", url);
		goto fail;
	}
	s->access_key = xstrdup(ak);
	s->secret_key = xstrdup(sk);
	s->token = tok ? xstrdup(tok) : NULL;
	s->sigv4 = xstrfmt("aws:amz:%s:s3", s->region);
	s->part_size = c && c->part_size ? c->part_size : (uint64_t)16 << 20;
	if (s->part_size < STORAGE_PART_MIN || s->part_size > STORAGE_PART_MAX) {
		error("storage.part_size: %llu bytes is not 5 MiB to 5 GiB", (unsigned long long)s->part_size);
		goto fail;
	}
	s->retries = c && c->retries >= 0 ? c->retries : 5;
	s->timeout = c && c->timeout > 0 ? (long)(c->timeout + 0.999) : 30;
	scratch = c && c->scratch ? c->scratch : NULL;
	if (!scratch) {
		error("storage 's3://%s': no scratch directory for local files (storage.scratch)", url);
		goto fail;
	}
	if (storage_fs_ops.open(&s->local, scratch, NULL))
		goto fail;
	s->local.ops = &storage_fs_ops;
	if (!curl_ready) {
		if (lib.curl_global_init(CURL_GLOBAL_DEFAULT)) {
			error("cannot start libcurl");
			goto fail;
		}
		curl_ready = 1;
	}
	st->be = s;
	return 0;
fail:
	s3_free(s);
	return -1;
}

static void s3_close(struct storage *st)
{
	if (st->be)
		s3_free(st->be);
}

/* ---------- errors ---------- */

static int say(struct s3 *s, int e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int say(struct s3 *s, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(s->last_error, sizeof(s->last_error), fmt, ap);   /* cut is fine */
	va_end(ap);
	s->last_errno = e;
	errno = e;
	return -1;
}

static const char *s3_why(const struct storage *st, int e)
{
	struct s3 *s = S3(st);

	return s->last_errno == e && s->last_error[0] ? s->last_error : NULL;
}

/* ---------- XML answers ---------- */

static xmlDoc *xml_read(const struct strbuf *b)
{
	if (!b->len || b->len > INT32_MAX)
		return NULL;
	return lib.xmlReadMemory(b->buf, (int)b->len, "s3.xml", NULL,
			     XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlNode *xml_child(xmlNode *n, const char *name)
{
	for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
			return c;
	return NULL;
}

/* The text of n's child name, or NULL; caller frees. */
static char *xml_text(xmlNode *n, const char *name)
{
	xmlNode *c = xml_child(n, name);
	xmlChar *t;
	char *r;

	if (!c)
		return NULL;
	t = lib.xmlNodeGetContent(c);
	r = xstrdup(t ? (const char *)t : "");
	(*lib.xmlFree)(t);
	return r;
}

/* "2026-12-01T02:42:16.000Z" as unix time, or 0. */
static double iso_time(const char *s)
{
	double t;

	return parse_time(s, &t) ? 0 : t;
}

/* An S3 error body's Code and Message, into code/msg. */
static void error_of(const struct strbuf *body, char *code, size_t ncode, char *msg, size_t nmsg)
{
	xmlDoc *d = xml_read(body);
	xmlNode *r = d ? lib.xmlDocGetRootElement(d) : NULL;

	code[0] = msg[0] = '\0';
	if (r && !strcmp((const char *)r->name, "Error")) {
		char *c = xml_text(r, "Code"), *m = xml_text(r, "Message");
		if (c)
			xsnprintf(code, ncode, "%s", c);
		if (m)
			xsnprintf(msg, nmsg, "%s", m);
		free(c);
		free(m);
	}
	if (d)
		lib.xmlFreeDoc(d);
}

/* ---------- requests ---------- */

struct req {
	const char *method;     /* GET PUT HEAD DELETE POST */
	const char *key;        /* the object's whole key; NULL: the bucket */
	const char *query;      /* "a=1&b=2": names sorted, values encoded */
	int in_fd;              /* the body: in_len bytes of in_fd at in_off, */
	int64_t in_off, in_len;
	const char *in_mem;     /* or in memory */
	const char *sha;        /* the body's SHA-256 (hex); NULL: no body */
	int out_fd;             /* a 2xx body goes there; -1: into body */
	/* the answer */
	long status;
	struct strbuf body;     /* an XML answer, or an error's */
	char etag[128];
	int64_t length;
	double mtime;
	/* the transfer */
	int64_t pos;
	int out_errno;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n;
	int64_t left = q->in_len - q->pos;

	if ((int64_t)want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (q->in_mem) {
		memcpy(buf, q->in_mem + q->pos, want);
	} else {
		ssize_t got;
		do
			got = pread(q->in_fd, buf, want, q->in_off + q->pos);
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			q->out_errno = got < 0 ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		want = (size_t)got;
	}
	q->pos += (int64_t)want;
	return want;
}

static int on_seek(void *arg, curl_off_t off, int origin)
{
	struct req *q = arg;

	if (origin != SEEK_SET || off < 0 || off > q->in_len)
		return CURL_SEEKFUNC_FAIL;
	q->pos = off;
	return CURL_SEEKFUNC_OK;
}

static size_t on_write(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;

	if (q->status >= 200 && q->status < 300 && q->out_fd >= 0) {
		if (write_all(q->out_fd, buf, len)) {
			q->out_errno = errno;
			return 0;
		}
		return len;
	}
	if (q->body.len + len > S3_BODY_MAX) {
		q->out_errno = EFBIG;
		return 0;
	}
	sb_add(&q->body, buf, len);
	return len;
}

static int header_is(const char *h, size_t n, const char *name, const char **val)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(h, name, k) || h[k] != ':')
		return 0;
	*val = h + k + 1;
	while (**val == ' ' || **val == '\t')
		(*val)++;
	return 1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, l = len;
	char line[256];
	const char *v;

	while (l && (buf[l - 1] == '\r' || buf[l - 1] == '\n'))
		l--;
	if (l >= sizeof(line))
		return len;
	memcpy(line, buf, l);
	line[l] = '\0';
	if (!strncmp(line, "HTTP/", 5)) {
		const char *sp = strchr(line, ' ');
		q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		q->etag[0] = '\0';
		q->length = -1;
		q->mtime = 0;
	} else if (header_is(line, l, "etag", &v)) {
		xsnprintf(q->etag, sizeof(q->etag), "%s", v);
	} else if (header_is(line, l, "content-length", &v)) {
		q->length = strtoll(v, NULL, 10);
	} else if (header_is(line, l, "last-modified", &v)) {
		time_t t = lib.curl_getdate(v, NULL);
		q->mtime = t > 0 ? (double)t : 0;
	}
	return len;
}

static CURL *handle(struct s3 *s)
{
	/* a forked child leaves its parent's handle and connections alone */
	if (s->curl && s->pid != getpid())
		s->curl = NULL;
	if (!s->curl) {
		s->curl = lib.curl_easy_init();
		s->pid = getpid();
	}
	if (s->curl)
		lib.curl_easy_reset(s->curl);
	return s->curl;
}

static void url_of(const struct s3 *s, const struct req *q, struct strbuf *u)
{
	if (s->path_style) {
		sb_addf(u, "%s/%s", s->endpoint, s->bucket);
		if (q->key) {   /* the bucket itself is "/bucket", no final '/' */
			sb_addch(u, '/');
			sigv4_uri_encode(u, q->key, strlen(q->key), 1);
		}
	} else {
		sb_addf(u, "%s/", s->vhost);
		if (q->key)
			sigv4_uri_encode(u, q->key, strlen(q->key), 1);
	}
	if (q->query)
		sb_addf(u, "?%s", q->query);
}

/* Is an S3 error code of a 400 a refusal of the settings (the wrong
 * region, an expired or malformed token) rather than of the request? */
static int refusal(const char *code)
{
	static const char *const codes[] = {
		"AuthorizationHeaderMalformed", "ExpiredToken", "InvalidToken", "TokenRefreshRequired",
		"InvalidAccessKeyId", "SignatureDoesNotMatch", "RequestTimeTooSkewed",
		"AuthorizationQueryParametersError", "IllegalLocationConstraintException",
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (!strcmp(code, codes[i]))
			return 1;
	return 0;
}

/* Is a curl failure one that passes? */
static int curl_transient(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static void backoff(int attempt)
{
	double d = S3_BACKOFF_BASE * (double)(1 << (attempt < 6 ? attempt : 6));
	char hx[3];
	struct timespec ts;

	if (d > S3_BACKOFF_CAP)
		d = S3_BACKOFF_CAP;
	file_random_hex(hx, 1);
	d *= 0.5 + (double)strtol(hx, NULL, 16) / 512.0;   /* jitter: half to the whole of it */
	ts.tv_sec = (time_t)d;
	ts.tv_nsec = (long)((d - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Make request q, retrying what passes.  0 on a 2xx answer; -1 with errno
 * ENOENT (404), EACCES (403), EAGAIN (it did not pass), EIO (another
 * answer), or a local errno (the body could not be read or written).
 */
static int request(struct s3 *s, struct req *q)
{
	struct strbuf url = STRBUF_INIT, hsha = STRBUF_INIT, htok = STRBUF_INIT;
	char cerr[CURL_ERROR_SIZE];
	int rc = -1;

	url_of(s, q, &url);
	sb_addf(&hsha, "x-amz-content-sha256: %s", q->sha ? q->sha : SIGV4_EMPTY_SHA256);
	if (s->token)
		sb_addf(&htok, "x-amz-security-token: %s", s->token);
	for (int attempt = 0;; attempt++) {
		CURL *c = handle(s);
		struct curl_slist *hs = NULL;
		CURLcode cc;
		char code[64], msg[256];

		if (!c) {
			rc = say(s, ENOMEM, "cannot make a curl handle");
			break;
		}
		hs = lib.curl_slist_append(hs, hsha.buf);
		if (s->token)
			hs = lib.curl_slist_append(hs, htok.buf);
		if (q->sha && !strcmp(q->method, "POST"))
			hs = lib.curl_slist_append(hs, "Content-Type: application/xml");
		q->status = 0;
		q->pos = 0;
		q->out_errno = 0;
		q->length = -1;
		q->etag[0] = '\0';
		sb_reset(&q->body);
		if (q->out_fd >= 0 && (ftruncate(q->out_fd, 0) || lseek(q->out_fd, 0, SEEK_SET) < 0)) {
			rc = say(s, errno, "cannot write the download: %s", strerror(errno));
			lib.curl_slist_free_all(hs);
			break;
		}
		cerr[0] = '\0';
		lib.curl_easy_setopt(c, CURLOPT_URL, url.buf);
		lib.curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
		lib.curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		lib.curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		lib.curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
		lib.curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
		lib.curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret_key);
		lib.curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
		lib.curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->timeout);
		lib.curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		lib.curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->timeout);
		lib.curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
		lib.curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
		lib.curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
		lib.curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
		if (!strcmp(q->method, "HEAD")) {
			lib.curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		} else if (!strcmp(q->method, "PUT") || !strcmp(q->method, "POST")) {
			int put = !strcmp(q->method, "PUT");

			lib.curl_easy_setopt(c, put ? CURLOPT_UPLOAD : CURLOPT_POST, 1L);
			lib.curl_easy_setopt(c, put ? CURLOPT_INFILESIZE_LARGE : CURLOPT_POSTFIELDSIZE_LARGE,
					     (curl_off_t)q->in_len);
			lib.curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			lib.curl_easy_setopt(c, CURLOPT_READDATA, q);
			lib.curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
			lib.curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
		} else if (strcmp(q->method, "GET")) {
			lib.curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
		}
		cc = lib.curl_easy_perform(c);
		lib.curl_slist_free_all(hs);
		if (q->out_errno) {
			rc = say(s, q->out_errno, "%s: %s", q->out_errno == EFBIG ? "answer too long" : "local file",
				 strerror(q->out_errno));
			break;
		}
		if (cc == CURLE_OK) {
			if (q->status >= 200 && q->status < 300) {
				rc = 0;
				break;
			}
			error_of(&q->body, code, sizeof(code), msg, sizeof(msg));
			if (q->status == 404 && !strcmp(code, "NoSuchBucket")) {
				/* not a missing object: the settings name no bucket */
				rc = say(s, EACCES, "bucket '%s' does not exist at %s", s->bucket,
					 s->endpoint);
				break;
			}
			if (q->status == 404) {
				rc = say(s, ENOENT, "%s/%s: %s", s->bucket, q->key ? q->key : "",
					 code[0] ? code : "not found");
				break;
			}
			if (q->status == 403 || (q->status == 400 && refusal(code))) {
				rc = say(s, EACCES, "%s %s/%s: %ld %s%s%s (check storage's credentials, "
					 "region and endpoint)", q->method, s->bucket, q->key ? q->key : "",
					 q->status, code[0] ? code : "Forbidden", msg[0] ? ": " : "", msg);
				break;
			}
			if (!((q->status >= 500 && q->status != 501) || q->status == 429 ||
			      (q->status == 400 && !strcmp(code, "RequestTimeout")))) {
				rc = say(s, EIO, "%s %s/%s: %ld %s%s%s", q->method, s->bucket, q->key ? q->key : "",
					 q->status, code[0] ? code : "", msg[0] ? ": " : "", msg);
				break;
			}
			say(s, EAGAIN, "%s: %ld %s after %d tries", s->endpoint, q->status,
			    code[0] ? code : "", attempt + 1);
		} else if (curl_transient(cc)) {
			say(s, EAGAIN, "%s: %s after %d tries", s->endpoint,
			    cerr[0] ? cerr : lib.curl_easy_strerror(cc), attempt + 1);
		} else {
			rc = say(s, EIO, "%s: %s", s->endpoint, cerr[0] ? cerr : lib.curl_easy_strerror(cc));
			break;
		}
		if (attempt >= s->retries) {
			errno = EAGAIN;
			rc = -1;
			break;
		}
		backoff(attempt);
	}
	sb_release(&url);
	sb_release(&hsha);
	if (htok.len)
		OPENSSL_cleanse(htok.buf, htok.len);
	sb_release(&htok);
	return rc;
}

static void req_init(struct req *q, const char *method, const char *key)
{
	memset(q, 0, sizeof(*q));
	q->method = method;
	q->key = key;
	q->in_fd = -1;
	q->out_fd = -1;
	sb_init(&q->body, 0);
}

/* The whole key of storage key k. */
static char *full_key(const struct s3 *s, const char *k)
{
	return xstrfmt("%s%s", s->prefix, k);
}

/* Append name=value to the query qs, value encoded, '&' before it if qs
 * has a parameter already.  The caller adds them in name order, as SigV4
 * signs them. */
static void query_add(struct strbuf *qs, const char *name, const char *value)
{
	sb_addf(qs, "%s%s=", qs->len ? "&" : "", name);
	sigv4_uri_encode(qs, value, strlen(value), 0);
}

/* ---------- the operations ---------- */

static int s3_init(const struct storage *st)
{
	struct s3 *s = S3(st);
	const char *sub[] = { "tmp/", "work/" };
	struct req q;
	int rc = 0;

	for (size_t i = 0; !rc && i < 2; i++) {
		char *p = storage_name(&s->local, sub[i]);
		rc = mkdir_parents(p);
		free(p);
	}
	if (rc)
		return say(s, errno, "cannot create the scratch directory '%s': %s",
			   storage_tmpdir(&s->local), strerror(errno));
	req_init(&q, "HEAD", NULL);
	rc = request(s, &q);
	sb_release(&q.body);
	if (rc && errno == ENOENT)      /* a HEAD has no body to say NoSuchBucket */
		say(s, EACCES, "bucket '%s' does not exist at %s (create it first)", s->bucket,
		    s->endpoint);
	return rc;
}

static char *s3_name(const struct storage *st, const char *key)
{
	struct s3 *s = S3(st);

	return xstrfmt("s3://%s/%s%s", s->bucket, s->prefix, key ? key : "");
}

static const char *s3_tmpdir(const struct storage *st)
{
	return storage_tmpdir(&S3(st)->local);
}

static int s3_tmpfile(const struct storage *st, const char *prefix, char **path)
{
	return storage_tmpfile(&S3(st)->local, prefix, path);
}

static char *s3_workdir(const struct storage *st)
{
	return storage_workdir(&S3(st)->local);
}

/* SHA-256 of len bytes of fd at off. */
static int sha_range(int fd, int64_t off, int64_t len, char hex[HASH_HEX_LEN + 1])
{
	static char buf[1 << 17];
	struct hash h;

	hash_init(&h);
	while (len > 0) {
		ssize_t n = pread(fd, buf, len < (int64_t)sizeof(buf) ? (size_t)len : sizeof(buf), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			hash_abort(&h);
			errno = e;
			return -1;
		}
		hash_update(&h, buf, (size_t)n);
		off += n;
		len -= n;
	}
	hash_final(&h, hex);
	return 0;
}

/* DELETE key?uploadId=id (key whole): 0, also when it is gone already. */
static int upload_delete(struct s3 *s, const char *key, const char *id)
{
	struct strbuf qs = STRBUF_INIT;
	struct req q;
	int rc;

	query_add(&qs, "uploadId", id);
	req_init(&q, "DELETE", key);
	q.query = qs.buf;
	rc = request(s, &q);
	if (rc && errno == ENOENT)
		rc = 0;
	sb_release(&q.body);
	sb_release(&qs);
	return rc;
}

/* Abort a failed upload, keeping the account of why it failed. */
static void abort_upload(struct s3 *s, const char *key, const char *id)
{
	int e = errno, le = s->last_errno;
	char saved[sizeof(s->last_error)];

	memcpy(saved, s->last_error, sizeof(saved));
	if (upload_delete(s, key, id))
		warning("cannot abort the upload of '%s' (md-janitor will): %s", key, s->last_error);
	memcpy(s->last_error, saved, sizeof(saved));
	s->last_errno = le;
	errno = e;
}

/* Upload size bytes of fd as key in parts of s->part_size. */
static int put_multipart(struct s3 *s, int fd, int64_t size, const char *key)
{
	int64_t psize = (int64_t)s->part_size;
	int nparts, rc = -1;
	struct strbuf qs = STRBUF_INIT, done = STRBUF_INIT;
	char *id = NULL, sha[HASH_HEX_LEN + 1];
	struct req q;
	xmlDoc *d;

	while ((size + psize - 1) / psize > S3_PARTS_MAX)
		psize *= 2;     /* more than 10,000 parts: larger ones */
	nparts = (int)((size + psize - 1) / psize);
	req_init(&q, "POST", key);
	q.query = "uploads=";
	if (request(s, &q))
		goto out;
	d = xml_read(&q.body);
	if (d) {
		id = xml_text(lib.xmlDocGetRootElement(d), "UploadId");
		lib.xmlFreeDoc(d);
	}
	if (!id || !*id) {
		say(s, EIO, "%s/%s: no UploadId in the answer to CreateMultipartUpload", s->bucket, key);
		goto out;
	}
	sb_adds(&done, "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (int i = 0; i < nparts; i++) {
		int64_t off = (int64_t)i * psize, len = size - off < psize ? size - off : psize;

		if (sha_range(fd, off, len, sha)) {
			say(s, errno, "cannot read the upload: %s", strerror(errno));
			goto abort;
		}
		char pn[16];
		xsnprintf(pn, sizeof(pn), "%d", i + 1);
		sb_reset(&qs);
		query_add(&qs, "partNumber", pn);
		query_add(&qs, "uploadId", id);
		sb_release(&q.body);
		req_init(&q, "PUT", key);
		q.query = qs.buf;
		q.in_fd = fd;
		q.in_off = off;
		q.in_len = len;
		q.sha = sha;
		if (request(s, &q))
			goto abort;
		if (!q.etag[0]) {
			say(s, EIO, "%s/%s: no ETag for part %d", s->bucket, key, i + 1);
			goto abort;
		}
		sb_addf(&done, "<Part><PartNumber>%d</PartNumber><ETag>", i + 1);
		xml_add_text(&done, q.etag);
		sb_adds(&done, "</ETag></Part>");
	}
	sb_adds(&done, "</CompleteMultipartUpload>");
	sigv4_sha256_hex(done.buf, done.len, sha);
	sb_reset(&qs);
	query_add(&qs, "uploadId", id);
	sb_release(&q.body);
	req_init(&q, "POST", key);
	q.query = qs.buf;
	q.in_mem = done.buf;
	q.in_len = (int64_t)done.len;
	q.sha = sha;
	if (request(s, &q))
		goto abort;
	/* CompleteMultipartUpload may fail with 200 and an Error body; its
	 * result is CompleteMultipartUploadResult (older servers: ...Response) */
	d = xml_read(&q.body);
	if (!d || !lib.xmlDocGetRootElement(d) ||
	    !strcmp((const char *)lib.xmlDocGetRootElement(d)->name, "Error")) {
		char code[64], msg[256];
		error_of(&q.body, code, sizeof(code), msg, sizeof(msg));
		if (d)
			lib.xmlFreeDoc(d);
		debug("CompleteMultipartUpload answered %ld: %.*s", q.status, (int)q.body.len, q.body.buf);
		if (!strcmp(code, "InternalError") || !strcmp(code, "SlowDown"))
			say(s, EAGAIN, "%s/%s: CompleteMultipartUpload: %s", s->bucket, key, code);
		else
			say(s, EIO, "%s/%s: CompleteMultipartUpload: %s %s", s->bucket, key,
			    code[0] ? code : "no result", msg);
		goto abort;
	}
	lib.xmlFreeDoc(d);
	rc = 0;
	goto out;
abort:
	abort_upload(s, key, id);
out:
	sb_release(&q.body);
	sb_release(&qs);
	sb_release(&done);
	free(id);
	return rc;
}

/* Upload the local file path as whole key k. */
static int put_file(struct s3 *s, const char *path, const char *k)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = -1;
	char *key = full_key(s, k), sha[HASH_HEX_LEN + 1];
	struct stat sb;
	struct req q;

	req_init(&q, "PUT", key);
	if (fd < 0 || fstat(fd, &sb)) {
		say(s, errno, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	if ((uint64_t)sb.st_size > s->part_size) {
		rc = put_multipart(s, fd, sb.st_size, key);
		goto out;
	}
	if (sha_range(fd, 0, sb.st_size, sha)) {
		say(s, errno, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	q.in_fd = fd;
	q.in_len = sb.st_size;
	q.sha = sha;
	rc = request(s, &q);
out:
	sb_release(&q.body);
	if (fd >= 0)
		close(fd);
	free(key);
	return rc;
}

static int s3_put(const struct storage *st, const char *tmp, const char *key)
{
	if (put_file(S3(st), tmp, key))
		return -1;
	if (unlink(tmp))
		warning("cannot remove '%s' after storing it: %s", tmp, strerror(errno));
	return 0;
}

/* GET key k into fd. */
static int get_into(struct s3 *s, const char *k, int fd)
{
	char *key = full_key(s, k);
	struct req q;
	int rc;

	req_init(&q, "GET", key);
	q.out_fd = fd;
	rc = request(s, &q);
	sb_release(&q.body);
	free(key);
	return rc;
}

static char *s3_fetch(const struct storage *st, const char *key, const char *workdir)
{
	const char *base = strrchr(key, '/');
	char *p = xstrfmt("%s/%s", workdir, base ? base + 1 : key);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640), e;

	if (fd < 0) {
		e = errno;
		free(p);
		errno = e;
		return NULL;
	}
	/* no fsync: a work directory does not outlive a crash of its job */
	if (get_into(S3(st), key, fd)) {
		e = errno;
		close(fd);
		unlink(p);
		free(p);
		errno = e;
		return NULL;
	}
	close(fd);
	return p;
}

static int s3_open_read(const struct storage *st, const char *key)
{
	struct s3 *s = S3(st);
	char *tmp;
	int fd = storage_tmpfile(&s->local, "get", &tmp), e;

	if (fd < 0)
		return -1;
	unlink(tmp);
	free(tmp);
	if (get_into(s, key, fd) || lseek(fd, 0, SEEK_SET) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int head(struct s3 *s, const char *k, int64_t *size, double *mtime)
{
	char *key = full_key(s, k);
	struct req q;
	int rc;

	req_init(&q, "HEAD", key);
	rc = request(s, &q);
	if (!rc) {
		if (size)
			*size = q.length;
		if (mtime)
			*mtime = q.mtime;
	}
	sb_release(&q.body);
	free(key);
	return rc;
}

static int s3_stat(const struct storage *st, const char *key, int64_t *size)
{
	return head(S3(st), key, size, NULL);
}

static int s3_remove(const struct storage *st, const char *k)
{
	struct s3 *s = S3(st);
	char *key = full_key(s, k);
	struct req q;
	int rc;

	req_init(&q, "DELETE", key);
	rc = request(s, &q);
	if (rc && errno == ENOENT)
		rc = 0;
	sb_release(&q.body);
	free(key);
	return rc;
}

static void entry_add(struct storage_entry **v, size_t *n, size_t *cap, char *key, int64_t size,
		      double mtime)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = (struct storage_entry){ key, size, mtime };
}

/*
 * One page of a bucket listing: a GET of the bucket with query, whose
 * answer's root must be the element result (op names the call for
 * messages); the root, with *doc to free, or NULL (said; ENOSYS when the
 * store does not implement op).
 */
static xmlNode *list_page(struct s3 *s, const char *query, const char *op, const char *result,
			  xmlDoc **doc)
{
	struct req q;
	xmlNode *r = NULL;

	*doc = NULL;
	req_init(&q, "GET", NULL);
	q.query = query;
	if (request(s, &q)) {
		char code[64], msg[256];
		error_of(&q.body, code, sizeof(code), msg, sizeof(msg));
		if (!strcmp(code, "NotImplemented"))
			say(s, ENOSYS, "%s does not implement %s (NotImplemented)", s->endpoint, op);
	} else {
		*doc = xml_read(&q.body);
		r = *doc ? lib.xmlDocGetRootElement(*doc) : NULL;
		if (!r || strcmp((const char *)r->name, result)) {
			say(s, EIO, "%s: %s gave no %s", s->bucket, op, result);
			r = NULL;
		}
	}
	sb_release(&q.body);
	return r;
}

/* The marker of the next page, in r's element name, when r says that it
 * is truncated; NULL at the last page, or (*bad set, said) when a
 * truncated page has none. */
static char *next_page(struct s3 *s, xmlNode *r, const char *name, int *bad)
{
	char *trunc = xml_text(r, "IsTruncated"), *next = NULL;

	if (trunc && !strcmp(trunc, "true")) {
		next = xml_text(r, name);
		if (!next || !*next) {
			free(next);
			next = NULL;
			*bad = say(s, EIO, "%s: a truncated listing without %s", s->bucket, name);
		}
	}
	free(trunc);
	return next;
}

/* Is c the element name? */
static int is_elem(const xmlNode *c, const char *name)
{
	return c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name);
}

static struct storage_entry *s3_list(const struct storage *st, const char *prefix, size_t *n)
{
	struct s3 *s = S3(st);
	struct storage_entry *v = xmalloc(sizeof(*v));
	size_t cap = 1, plen = strlen(s->prefix);
	char *full = full_key(s, prefix), *token = NULL;
	struct strbuf qs = STRBUF_INIT;
	int rc = 0;

	*n = 0;
	do {
		xmlDoc *d;
		xmlNode *r;

		sb_reset(&qs);
		if (token)
			query_add(&qs, "continuation-token", token);
		query_add(&qs, "list-type", "2");
		query_add(&qs, "prefix", full);
		free(token);
		token = NULL;
		if (!(r = list_page(s, qs.buf, "ListObjectsV2", "ListBucketResult", &d))) {
			rc = -1;
		} else {
			for (xmlNode *c = r->children; c; c = c->next) {
				char *key, *size, *mod;
				if (!is_elem(c, "Contents"))
					continue;
				key = xml_text(c, "Key");
				size = xml_text(c, "Size");
				mod = xml_text(c, "LastModified");
				if (key && strlen(key) > plen && !strncmp(key, s->prefix, plen))
					entry_add(&v, n, &cap, xstrdup(key + plen), size ? strtoll(size, NULL, 10) : 0,
						  iso_time(mod));
				free(key);
				free(size);
				free(mod);
			}
			token = next_page(s, r, "NextContinuationToken", &rc);
		}
		if (d)
			lib.xmlFreeDoc(d);
	} while (!rc && token);
	free(token);
	free(full);
	sb_release(&qs);
	if (rc) {
		int e = errno;
		storage_entries_free(v, *n);
		errno = e;
		return NULL;
	}
	return v;       /* S3 lists in key (UTF-8 byte) order */
}

static struct storage_entry *s3_scratch(const struct storage *st, size_t *n)
{
	return storage_scratch(&S3(st)->local, n);
}

static int s3_scratch_remove(const struct storage *st, const char *key)
{
	return storage_scratch_remove(&S3(st)->local, key);
}

static int s3_delete_stale(const struct storage *st, const char *key, double before, int *removed)
{
	struct s3 *s = S3(st);
	double mtime = 0;

	if (head(s, key, NULL, &mtime))
		return errno == ENOENT ? 0 : -1;
	if (mtime >= before || mtime <= 0)
		return 0;
	if (s3_remove(st, key))
		return -1;
	*removed = 1;
	return 0;
}

/* ---------- publishing a folder ---------- */

struct pubfile {
	char *name;     /* below the folder: "a.jpg", "hls/720/seg-1.m4s" */
	int rank;       /* 0 a file, 1 a playlist, 2 master.m3u8: uploaded in that order */
};

static int pub_cmp(const void *a, const void *b)
{
	const struct pubfile *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	return strcmp(x->name, y->name);
}

static int rank_of(const char *name)
{
	const char *base = strrchr(name, '/');
	size_t n = strlen(name);

	base = base ? base + 1 : name;
	if (!strcmp(base, "master.m3u8"))
		return 2;
	return n > 5 && !strcmp(name + n - 5, ".m3u8");
}

static int collect(const char *dir, const char *rel, struct pubfile **v, size_t *n, size_t *cap)
{
	char *d = rel ? xstrfmt("%s/%s", dir, rel) : xstrdup(dir);
	size_t nn;
	char **names = list_dir(d, 1, &nn);
	int rc = names ? 0 : -1;

	for (size_t i = 0; names && i < nn; i++) {
		char *r = rel ? xstrfmt("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *p = xstrfmt("%s/%s", dir, r);
		struct stat sb;

		if (!rc && !lstat(p, &sb) && S_ISDIR(sb.st_mode)) {
			rc = collect(dir, r, v, n, cap);
			free(r);
		} else if (!rc && S_ISREG(sb.st_mode)) {
			if (*n == *cap) {
				*cap = *cap ? *cap * 2 : 16;
				*v = xrealloc(*v, *cap * sizeof(**v));
			}
			(*v)[(*n)++] = (struct pubfile){ r, rank_of(r) };
		} else {
			free(r);
		}
		free(p);
		free(names[i]);
	}
	free(names);
	free(d);
	return rc;
}

static int s3_publish_dir(const struct storage *st, const char *dir, const char *prefix,
			  storage_each_fn *each, void *arg, struct strbuf *err)
{
	struct s3 *s = S3(st);
	struct pubfile *v = NULL;
	size_t n = 0, cap = 0, done = 0, nold = 0;
	struct storage_entry *old = NULL;
	char *folder = xstrfmt("%s/", prefix);
	int rc = -1;

	if (collect(dir, NULL, &v, &n, &cap)) {
		sb_addf(err, "cannot publish '%s': %s", dir, strerror(errno));
		goto out;
	}
	qsort(v, n, sizeof(*v), pub_cmp);
	old = s3_list(st, folder, &nold);
	if (!old) {
		sb_addf(err, "cannot publish '%s': %s", prefix, s->last_error);
		goto out;
	}
	for (; done < n; done++) {
		char *p = xstrfmt("%s/%s", dir, v[done].name), *k = xstrfmt("%s%s", folder, v[done].name);
		struct stat sb;
		int bad = put_file(s, p, k) || stat(p, &sb);

		free(k);
		free(p);
		if (bad) {
			int e = errno;
			sb_addf(err, "cannot publish '%s': %s", v[done].name,
				s->last_errno == e && s->last_error[0] ? s->last_error : strerror(e));
			errno = e;
			break;
		}
		if (each)
			each(arg, v[done].name, sb.st_size);
	}
	if (done < n) {
		/* undo: nothing of dir stays under prefix */
		int e = errno, le = s->last_errno;
		for (size_t i = 0; i < done; i++) {
			char *k = xstrfmt("%s%s", folder, v[i].name);
			int was = 0;
			for (size_t j = 0; j < nold; j++)
				was |= !strcmp(old[j].key, k);
			if (!was)
				(void)s3_remove(st, k);
			free(k);
		}
		s->last_errno = le;
		errno = e;
		goto out;
	}
	/* what the folder held that dir does not */
	for (size_t j = 0; j < nold; j++) {
		int keep = 0;
		for (size_t i = 0; i < n && !keep; i++)
			keep = !strcmp(old[j].key + strlen(folder), v[i].name);
		if (!keep && s3_remove(st, old[j].key))
			warning("cannot remove '%s' of the folder replaced: %s", old[j].key, s->last_error);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	storage_entries_free(old, nold);
	free(folder);
	return rc;
}

/* ---------- multipart uploads left behind ---------- */

static struct storage_upload *s3_uploads(const struct storage *st, size_t *n)
{
	struct s3 *s = S3(st);
	struct storage_upload *v = NULL;
	size_t cap = 0, plen = strlen(s->prefix);
	char *kmark = NULL, *umark = NULL;
	struct strbuf qs = STRBUF_INIT;
	int rc = 0;

	*n = 0;
	do {
		xmlDoc *d;
		xmlNode *r;

		sb_reset(&qs);
		if (kmark)
			query_add(&qs, "key-marker", kmark);
		query_add(&qs, "prefix", s->prefix);
		if (umark)
			query_add(&qs, "upload-id-marker", umark);
		query_add(&qs, "uploads", "");
		free(kmark);
		free(umark);
		kmark = umark = NULL;
		if (!(r = list_page(s, qs.buf, "ListMultipartUploads", "ListMultipartUploadsResult", &d))) {
			rc = -1;
		} else {
			for (xmlNode *c = r->children; c; c = c->next) {
				char *key, *id, *init;
				if (!is_elem(c, "Upload"))
					continue;
				key = xml_text(c, "Key");
				id = xml_text(c, "UploadId");
				init = xml_text(c, "Initiated");
				if (key && id && strlen(key) > plen && !strncmp(key, s->prefix, plen)) {
					if (*n == cap) {
						cap = cap ? cap * 2 : 16;
						v = xrealloc(v, cap * sizeof(*v));
					}
					v[(*n)++] = (struct storage_upload){ xstrdup(key + plen), id, iso_time(init) };
					id = NULL;
				}
				free(key);
				free(id);
				free(init);
			}
			kmark = next_page(s, r, "NextKeyMarker", &rc);
			umark = kmark ? xml_text(r, "NextUploadIdMarker") : NULL;
		}
		if (d)
			lib.xmlFreeDoc(d);
	} while (!rc && kmark);
	free(kmark);
	free(umark);
	sb_release(&qs);
	if (rc) {
		int e = errno;
		storage_uploads_free(v, *n);
		errno = e;
		return NULL;
	}
	if (!v)
		v = xmalloc(sizeof(*v));
	return v;
}

static int s3_upload_abort(const struct storage *st, const char *k, const char *id)
{
	struct s3 *s = S3(st);
	char *key = full_key(s, k);
	int rc = upload_delete(s, key, id);

	free(key);
	return rc;
}

/* ---------- presigned URLs ---------- */

static int s3_presign(const struct storage *st, const char *k, long expires, struct strbuf *out)
{
	struct s3 *s = S3(st);
	char *key = full_key(s, k);
	struct sigv4_presign p = {
		.endpoint = s->endpoint, .bucket = s->bucket, .key = key, .region = s->region,
		.access_key = s->access_key, .secret_key = s->secret_key, .session_token = s->token,
		.path_style = s->path_style, .now = time(NULL), .expires = expires,
	};
	int rc = sigv4_presign_url(&p, out);

	free(key);
	return rc;
}

const struct storage_ops storage_s3_ops = {
	.scheme = "s3",
	.open = s3_open,
	.close = s3_close,
	.init = s3_init,
	.name = s3_name,
	.tmpdir = s3_tmpdir,
	.tmpfile = s3_tmpfile,
	.workdir = s3_workdir,
	.put = s3_put,
	.publish_dir = s3_publish_dir,
	.fetch = s3_fetch,
	.open_read = s3_open_read,
	.stat = s3_stat,
	.remove = s3_remove,
	.list = s3_list,
	.scratch = s3_scratch,
	.scratch_remove = s3_scratch_remove,
	.delete_stale = s3_delete_stale,
	.why = s3_why,
	.uploads = s3_uploads,
	.upload_abort = s3_upload_abort,
	.presign = s3_presign,
};
