#include "emit.h"
#include "log.h"
#include "quote.h"
#include "rendition.h"
#include "store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void emit_begin(struct emit *e, int json)
{
	e->json = json;
	e->nfields = 0;
	sb_init(&e->sb, 256);
	if (json)
		sb_addch(&e->sb, '{');
}

static void field_start(struct emit *e, const char *key)
{
	if (e->json) {
		if (e->nfields)
			sb_addch(&e->sb, ',');
		json_add_str(&e->sb, key);
		sb_addch(&e->sb, ':');
	} else if (e->nfields) {
		sb_addch(&e->sb, '\t');
	}
	e->nfields++;
}

void emit_str(struct emit *e, const char *key, const char *val)
{
	field_start(e, key);
	if (e->json) {
		if (val)
			json_add_str(&e->sb, val);
		else
			sb_adds(&e->sb, "null");
	} else if (val) {
		tsv_add(&e->sb, val);
	}
}

void emit_int(struct emit *e, const char *key, int64_t v)
{
	field_start(e, key);
	sb_addf(&e->sb, "%lld", (long long)v);
}

void emit_bool(struct emit *e, const char *key, int v)
{
	field_start(e, key);
	sb_adds(&e->sb, e->json ? (v ? "true" : "false") : (v ? "1" : "0"));
}

void emit_raw(struct emit *e, const char *key, const char *json, const char *tsv)
{
	field_start(e, key);
	if (e->json)
		sb_adds(&e->sb, json ? json : "null");
	else if (tsv)
		tsv_add(&e->sb, tsv);
}

int emit_end(struct emit *e, FILE *out)
{
	int rc = 0;

	if (e->json)
		sb_addch(&e->sb, '}');
	sb_addch(&e->sb, '\n');
	if (fwrite(e->sb.buf, 1, e->sb.len, out) != e->sb.len)
		rc = -1;
	sb_release(&e->sb);
	return rc;
}

int close_stdout(void)
{
	int err = ferror(stdout);

	if (fclose(stdout) || err) {
		if (!err || errno)
			error_errno("cannot write standard output");
		else
			error("cannot write standard output");
		return -1;
	}
	return 0;
}

/* Append code point c as UTF-8; one that text cannot hold as U+FFFD. */
static void add_utf8(struct strbuf *out, unsigned c)
{
	if (!c || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		c = 0xfffd;
	if (c < 0x80) {
		sb_addch(out, (int)c);
	} else if (c < 0x800) {
		sb_addch(out, (int)(0xc0 | (c >> 6)));
		sb_addch(out, (int)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		sb_addch(out, (int)(0xe0 | (c >> 12)));
		sb_addch(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		sb_addch(out, (int)(0x80 | (c & 0x3f)));
	} else {
		sb_addch(out, (int)(0xf0 | (c >> 18)));
		sb_addch(out, (int)(0x80 | ((c >> 12) & 0x3f)));
		sb_addch(out, (int)(0x80 | ((c >> 6) & 0x3f)));
		sb_addch(out, (int)(0x80 | (c & 0x3f)));
	}
}

/* The 4 hex digits at p as a number, or -1 (never reads past a NUL). */
static long hex4(const char *p)
{
	long v = 0;

	for (int k = 0; k < 4; k++) {
		char c = p[k];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Read one JSON string literal at *p (after its opening quote). */
static void read_json_string(const char **pp, struct strbuf *out)
{
	const char *p = *pp;

	while (*p && *p != '"') {
		if (*p == '\\' && p[1]) {
			p++;
			switch (*p) {
			case 'n': sb_addch(out, '\n'); break;
			case 't': sb_addch(out, '\t'); break;
			case 'r': sb_addch(out, '\r'); break;
			case 'b': sb_addch(out, '\b'); break;
			case 'f': sb_addch(out, '\f'); break;
			case 'u': {
				long v = hex4(p + 1), lo;
				if (v < 0) {
					add_utf8(out, 0xfffd);
					break;
				}
				p += 4;
				/* a surrogate pair is one code point */
				if (v >= 0xd800 && v <= 0xdbff && p[1] == '\\' && p[2] == 'u' &&
				    (lo = hex4(p + 3)) >= 0xdc00 && lo <= 0xdfff) {
					v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
					p += 6;
				}
				add_utf8(out, (unsigned)v);
				break;
			}
			default: sb_addch(out, *p);
			}
			p++;
			continue;
		}
		sb_addch(out, *p++);
	}
	if (*p == '"')
		p++;
	*pp = p;
}

void json_flatten(const char *json, struct strbuf *out)
{
	const char *p = json;

	if (!json)
		return;
	while (*p == ' ')
		p++;
	if (*p != '[' && *p != '{') {
		sb_adds(out, json);
		return;
	}
	/* every value the stores produce here is a string */
	for (p++; *p && *p != ']' && *p != '}';) {
		if (*p == '"') {
			p++;
			read_json_string(&p, out);
			continue;
		}
		if (*p == ':')
			sb_addch(out, '=');
		else if (*p == ',')
			sb_addch(out, ',');
		p++;
	}
}

int json_array_each(const char *json, int (*cb)(void *arg, const char *s), void *arg)
{
	struct strbuf sb = STRBUF_INIT;
	const char *p = json;
	int rc = 0;

	if (!json)
		return 0;
	while (*p == ' ')
		p++;
	if (*p != '[')
		return 0;
	for (p++; *p && *p != ']' && !rc;) {
		if (*p != '"') {
			p++;
			continue;
		}
		p++;
		sb_reset(&sb);
		read_json_string(&p, &sb);
		rc = cb(arg, sb.buf);
	}
	sb_release(&sb);
	return rc;
}

/* "rendition_list" and "placeholder" (rendition.h). */
static void emit_renditions(struct emit *e, const struct feed_row *r)
{
	struct strbuf list = STRBUF_INIT;
	char *ph;

	rendition_list(r->rendition_list_json, &list, &ph);
	emit_raw(e, "rendition_list", list.buf, NULL);
	emit_str(e, "placeholder", ph);
	free(ph);
	sb_release(&list);
}

void emit_post_fields(struct emit *e, const struct feed_row *r)
{
	emit_int(e, "post_id", r->post_id);
	emit_str(e, "user", r->user);
	emit_str(e, "caption", r->caption);
	emit_raw(e, "tags", r->tags_json ? r->tags_json : "[]", NULL);
	emit_str(e, "status", r->status);
	emit_str(e, "created_at", r->created_at);
	emit_str(e, "media", r->media);
	emit_str(e, "kind", r->kind);
	emit_str(e, "trace_id", r->trace_id);
	emit_raw(e, "renditions", r->renditions_json ? r->renditions_json : "{}", NULL);
	emit_str(e, "error", r->error);
	emit_renditions(e, r);
}

void emit_post_row(struct emit *e, const struct feed_row *r)
{
	struct strbuf tags = STRBUF_INIT, rend = STRBUF_INIT;

	if (e->json) {
		emit_post_fields(e, r);
		return;
	}
	/* TSV: the lists flattened (a,b and profile=url,...) */
	json_flatten(r->tags_json, &tags);
	json_flatten(r->renditions_json, &rend);
	emit_int(e, "post_id", r->post_id);
	emit_str(e, "created_at", r->created_at);
	emit_str(e, "user", r->user);
	emit_str(e, "status", r->status);
	emit_str(e, "kind", r->kind);
	emit_str(e, "media", r->media);
	emit_str(e, "tags", tags.buf);
	emit_str(e, "renditions", rend.buf);
	emit_str(e, "caption", r->caption);
	emit_str(e, "error", r->error);
	sb_release(&tags);
	sb_release(&rend);
}

char *base_url_prefix(const char *arg)
{
	size_t n = strlen(arg);

	return n && arg[n - 1] != '/' ? xstrfmt("%s/", arg) : xstrdup(arg);
}

int cursor_parse(const char *s, int64_t *id)
{
	int64_t v = 0;

	/* what md-feed prints: decimal, no sign, space or leading zero */
	if (*s < '1' || *s > '9')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*id = v;
	return 0;
}
