#include "ref.h"
#include "hash.h"
#include "log.h"
#include "store.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int ref_valid(const char *s)
{
	int64_t id;

	return ref_is_post_id(s, &id) || hash_is_hex(s);
}

/* A cursor over the bytes of one line. */
struct cur {
	const char *p, *end;
};

/* How many bytes from p, before end, are in set. */
static size_t span(const char *p, const char *end, const char *set)
{
	size_t n = 0;

	while (p + n < end && p[n] && strchr(set, p[n]))
		n++;
	return n;
}

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r' || *c->p == '\n'))
		c->p++;
}

/*
 * A JSON string at c->p: moves past it and sets [*s, *s + *n) to its raw
 * contents (escapes left as they are).  Returns 0, or -1 if malformed.
 */
static int scan_string(struct cur *c, const char **s, size_t *n)
{
	if (c->p >= c->end || *c->p != '"')
		return -1;
	*s = ++c->p;
	while (c->p < c->end && *c->p != '"') {
		if ((unsigned char)*c->p < 0x20)
			return -1;
		if (*c->p == '\\' && ++c->p >= c->end)
			return -1;
		c->p++;
	}
	if (c->p >= c->end)
		return -1;
	*n = (size_t)(c->p - *s);
	c->p++;
	return 0;
}

/* Any JSON value: moves past it.  Nesting is counted, not recursed. */
static int skip_value(struct cur *c)
{
	size_t depth = 0;
	const char *s;
	size_t n;

	do {
		skip_ws(c);
		if (c->p >= c->end)
			return -1;
		switch (*c->p) {
		case '"':
			if (scan_string(c, &s, &n))
				return -1;
			break;
		case '{': case '[':
			depth++;
			c->p++;
			continue;
		case '}': case ']':
			if (!depth)
				return -1;
			depth--;
			c->p++;
			break;
		case ',': case ':':
			if (!depth)
				return -1;
			c->p++;
			continue;
		default:
			/* a number, true, false or null */
			if (!(n = span(c->p, c->end, "0123456789+-.eEtruefalsn")))
				return -1;
			c->p += n;
			break;
		}
	} while (depth);
	return 0;
}

static int is_key(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

/* A top-level id_key (a number) or, when want_media, "media" of a JSON
 * object; the id first. */
static enum ref_line ref_from_json(const char *line, size_t len, const char *id_key,
				   int want_media, char **ref)
{
	struct cur c = { line, line + len };
	char *post = NULL, *media = NULL;
	const char *k, *v;
	size_t kn, vn;

	skip_ws(&c);
	if (c.p >= c.end || *c.p++ != '{')
		return REF_SKIP;
	skip_ws(&c);
	if (c.p < c.end && *c.p == '}') {
		c.p++;
		goto done;
	}
	for (;;) {
		skip_ws(&c);
		if (scan_string(&c, &k, &kn))
			goto bad;
		skip_ws(&c);
		if (c.p >= c.end || *c.p++ != ':')
			goto bad;
		skip_ws(&c);
		v = c.p;
		if (want_media && is_key(k, kn, "media") && c.p < c.end && *c.p == '"') {
			if (scan_string(&c, &v, &vn))
				goto bad;
			if (!media && vn == HASH_HEX_LEN) {
				media = xstrndup(v, vn);
				if (!hash_is_hex(media)) {
					free(media);
					media = NULL;
				}
			}
		} else {
			if (skip_value(&c))
				goto bad;
			vn = (size_t)(c.p - v);
			if (!post && is_key(k, kn, id_key) && vn == span(v, c.p, "0123456789") &&
			    vn < 19) {
				post = xstrndup(v, vn);
				if (!ref_valid(post)) {
					free(post);
					post = NULL;
				}
			}
		}
		skip_ws(&c);
		if (c.p < c.end && *c.p == ',') {
			c.p++;
			continue;
		}
		if (c.p < c.end && *c.p == '}') {
			c.p++;
			break;
		}
		goto bad;
	}
done:
	skip_ws(&c);
	if (c.p != c.end)
		goto bad;
	if (post) {
		free(media);
		*ref = post;
		return REF_OK;
	}
	if (media) {
		*ref = media;
		return REF_OK;
	}
	return REF_SKIP;
bad:
	free(post);
	free(media);
	return REF_SKIP;
}

/* The reference of a line: a job id (jobs) or a post id or sha256. */
static enum ref_line from_line(const char *line, size_t len, int jobs, char **ref)
{
	int64_t id;
	size_t n;

	*ref = NULL;
	if (len && *line == '{')
		return ref_from_json(line, len, jobs ? "job_id" : "post_id", !jobs, ref);
	for (n = 0; n < len && line[n] != '\t' && line[n] != ' '; n++)
		;
	if (!n || (n == 1 && *line == '-'))
		return REF_SKIP;
	*ref = xstrndup(line, n);
	if (strlen(*ref) != n || !(jobs ? ref_is_post_id(*ref, &id) : ref_valid(*ref)))
		return REF_BAD;
	return REF_OK;
}

enum ref_line ref_from_line(const char *line, size_t len, char **ref)
{
	return from_line(line, len, 0, ref);
}

enum ref_line ref_job_from_line(const char *line, size_t len, char **ref)
{
	return from_line(line, len, 1, ref);
}

size_t ref_read(FILE *f, int jobs, char ***v, size_t *n, size_t *cap)
{
	char *line = NULL, *r;
	size_t lcap = 0, nbad = 0;
	ssize_t len;

	while ((len = getline(&line, &lcap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		enum ref_line what = from_line(line, (size_t)len, jobs, &r);
		if (what == REF_SKIP)
			continue;
		if (what == REF_BAD) {
			logkv(LOG_ERROR, jobs ? "not a job id" : "neither a post id nor a sha256",
			      "ref", r, (char *)NULL);
			nbad++;
			free(r);
			continue;
		}
		if (*n == *cap)
			*v = xrealloc(*v, (*cap = *cap ? *cap * 2 : 64) * sizeof(**v));
		(*v)[(*n)++] = r;
	}
	free(line);
	return nbad;
}
