#include "emit.h"
#include "log.h"
#include "store.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Length of the valid UTF-8 sequence at s, or 0. */
static size_t utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (s[0] >= 0xe0 && s[0] <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xe0 && s[1] < 0xa0)
			return 0;
		if (s[0] == 0xed && s[1] > 0x9f)
			return 0;
		return 3;
	}
	if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if (s[0] == 0xf0 && s[1] < 0x90)
			return 0;
		if (s[0] == 0xf4 && s[1] > 0x8f)
			return 0;
		return 4;
	}
	return 0;
}

void json_add_str(struct strbuf *sb, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	sb_addch(sb, '"');
	while (*s) {
		size_t n;
		switch (*s) {
		case '"': sb_adds(sb, "\\\""); s++; continue;
		case '\\': sb_adds(sb, "\\\\"); s++; continue;
		case '\n': sb_adds(sb, "\\n"); s++; continue;
		case '\r': sb_adds(sb, "\\r"); s++; continue;
		case '\t': sb_adds(sb, "\\t"); s++; continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			sb_addf(sb, "\\u%04x", *s);
			s++;
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			sb_adds(sb, "\\ufffd");
			s++;
			continue;
		}
		sb_add(sb, s, n);
		s += n;
	}
	sb_addch(sb, '"');
}

void tsv_add(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\t': sb_adds(sb, "\\t"); break;
		case '\n': sb_adds(sb, "\\n"); break;
		case '\r': sb_adds(sb, "\\r"); break;
		case '\\': sb_adds(sb, "\\\\"); break;
		default: sb_addch(sb, *s);
		}
	}
}

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
				unsigned v = 0;
				int k;
				for (k = 1; k <= 4 && p[k]; k++) {
					char c = p[k];
					v = v * 16 + (unsigned)(c >= '0' && c <= '9' ? c - '0'
						: c >= 'a' && c <= 'f' ? c - 'a' + 10
						: c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0);
				}
				p += k - 1;
				if (v < 0x80) {
					sb_addch(out, (int)v);
				} else if (v < 0x800) {
					sb_addch(out, (int)(0xc0 | (v >> 6)));
					sb_addch(out, (int)(0x80 | (v & 0x3f)));
				} else {
					sb_addch(out, (int)(0xe0 | (v >> 12)));
					sb_addch(out, (int)(0x80 | ((v >> 6) & 0x3f)));
					sb_addch(out, (int)(0x80 | (v & 0x3f)));
				}
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
