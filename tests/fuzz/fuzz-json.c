/*
 * fuzz-json - the writers of quote.h on arbitrary bytes (up to the first
 * NUL, as the tools get them).  Whatever comes in:
 *   json_add_str    output is one JSON string that Jansson parses, and
 *                   which decodes back to the input when that was valid
 *                   UTF-8;
 *   xml_add_text    output is valid UTF-8 holding only XML 1.0 characters,
 *                   no markup character and no raw tab, LF or CR, and it
 *                   unescapes back to the input when the input held only
 *                   XML characters;
 *   logfmt_add_val  output is valid UTF-8 on one line; bare only when it
 *                   holds no space, quote or =;
 *   tsv_add         output holds no tab, LF or CR.
 * and the readers of emit.h (json_flatten, json_array_each) on the same
 * bytes, for the sanitizers: they must never read past the string.
 */
#include "emit.h"
#include "quote.h"
#include "strbuf.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Walk s as UTF-8: 1 when valid and every code point passes ok(). */
static int utf8_all(const char *s, size_t len, int (*ok)(unsigned))
{
	const char *end = s + len;
	unsigned c;
	size_t n;

	for (; s < end; s += n) {
		if (!(n = utf8_decode(s, &c)) || (ok && !ok(c)))
			return 0;
	}
	return 1;
}

static int xml_ok(unsigned c)
{
	if (c == '<' || c == '>' || c == '"' || c == '\'' || c == '\t' || c == '\n' || c == '\r')
		return 0;
	return (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) ||
	       (c >= 0x10000 && c <= 0x10ffff);
}

static int xml_char(unsigned c)
{
	return c == '\t' || c == '\n' || c == '\r' || xml_ok(c) || c == '<' || c == '>' ||
	       c == '"' || c == '\'';
}

static int line_ok(unsigned c)
{
	return c != '\n' && c != '\r';
}

/* The text behind xml_add_text's entities and references, or NULL. */
static char *xml_unescape(const char *s)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' }, { "&quot;", '"' },
		{ "&apos;", '\'' }, { "&#9;", '\t' }, { "&#10;", '\n' }, { "&#13;", '\r' },
	};
	struct strbuf sb = STRBUF_INIT;

	while (*s) {
		size_t i;

		if (*s != '&') {
			sb_addch(&sb, *s++);
			continue;
		}
		for (i = 0; i < sizeof(ents) / sizeof(*ents); i++)
			if (!strncmp(s, ents[i].ent, strlen(ents[i].ent)))
				break;
		if (i == sizeof(ents) / sizeof(*ents)) {
			sb_release(&sb);
			return NULL;
		}
		sb_addch(&sb, ents[i].c);
		s += strlen(ents[i].ent);
	}
	return sb_detach(&sb, NULL);
}

static void check_json(const char *in)
{
	struct strbuf sb = STRBUF_INIT;
	json_error_t err;
	json_t *v;

	sb_addch(&sb, '[');
	json_add_str(&sb, in);
	sb_addch(&sb, ']');
	for (size_t i = 0; i < sb.len; i++)
		if ((unsigned char)sb.buf[i] < 0x20)
			abort();
	if (!(v = json_loads(sb.buf, 0, &err)) || !json_is_array(v) || json_array_size(v) != 1 ||
	    !json_is_string(json_array_get(v, 0)))
		abort();
	if (utf8_valid(in) && strcmp(json_string_value(json_array_get(v, 0)), in))
		abort();
	json_decref(v);
	sb_release(&sb);
}

static void check_xml(const char *in)
{
	struct strbuf sb = STRBUF_INIT;
	char *back;

	xml_add_text(&sb, in);
	if (!utf8_all(sb.buf, sb.len, xml_ok))
		abort();
	if (!(back = xml_unescape(sb.buf)))
		abort();
	if (utf8_all(in, strlen(in), xml_char) && strcmp(back, in))
		abort();
	free(back);
	sb_release(&sb);
}

static void check_logfmt(const char *in)
{
	struct strbuf sb = STRBUF_INIT;

	logfmt_add_val(&sb, in);
	if (!sb.len || !utf8_all(sb.buf, sb.len, line_ok))
		abort();
	if (sb.buf[0] != '"' && strpbrk(sb.buf, " \"=\\\t"))
		abort();
	if (sb.buf[0] == '"' && (sb.len < 2 || sb.buf[sb.len - 1] != '"'))
		abort();
	sb_release(&sb);
}

static void check_tsv(const char *in)
{
	struct strbuf sb = STRBUF_INIT;

	tsv_add(&sb, in);
	if (strpbrk(sb.buf, "\t\n\r"))
		abort();
	sb_release(&sb);
}

static int count_str(void *arg, const char *s)
{
	(*(size_t *)arg) += strlen(s) + 1;
	return 0;
}

static void check_readers(const char *in)
{
	struct strbuf sb = STRBUF_INIT;
	size_t total = 0;

	json_flatten(in, &sb);
	json_array_each(in, count_str, &total);
	sb_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		return 0;
	memcpy(s, d, n);
	s[n] = '\0';
	check_json(s);
	check_xml(s);
	check_logfmt(s);
	check_tsv(s);
	check_readers(s);
	free(s);
	return 0;
}
