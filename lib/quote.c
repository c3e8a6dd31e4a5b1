#include "quote.h"

size_t utf8_decode(const char *str, unsigned *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned c = s[0], min;
	size_t n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		c &= 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		c &= 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		c &= 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	/* a NUL is not a continuation byte: the loop stops on it */
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/*
 * s between double quotes, with the escapes JSON and Go's strconv.Quote
 * share; a byte that is not UTF-8 becomes \ufffd (JSON) or \xNN (logfmt).
 */
static void add_quoted(struct strbuf *sb, const char *s, int bad_as_hex)
{
	sb_addch(sb, '"');
	while (*s) {
		unsigned c;
		size_t n = utf8_decode(s, &c);

		if (!n) {
			if (bad_as_hex)
				sb_addf(sb, "\\x%02x", (unsigned char)*s);
			else
				sb_adds(sb, "\\ufffd");
			s++;
			continue;
		}
		switch (c) {
		case '"': sb_adds(sb, "\\\""); break;
		case '\\': sb_adds(sb, "\\\\"); break;
		case '\n': sb_adds(sb, "\\n"); break;
		case '\r': sb_adds(sb, "\\r"); break;
		case '\t': sb_adds(sb, "\\t"); break;
		default:
			if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029)
				sb_addf(sb, "\\u%04x", c);
			else
				sb_add(sb, s, n);
		}
		s += n;
	}
	sb_addch(sb, '"');
}

void json_add_str(struct strbuf *sb, const char *str)
{
	add_quoted(sb, str, 0);
}

/* May XML 1.0 hold c (production Char)? */
static int xml_char(unsigned c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c <= 0xd7ff) ||
	       (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

void xml_add_text(struct strbuf *sb, const char *str)
{
	const char *s = str;

	while (*s) {
		unsigned c;
		size_t n = utf8_decode(s, &c);

		if (!n || !xml_char(c)) {
			sb_adds(sb, "\xef\xbf\xbd");
			s += n ? n : 1;
			continue;
		}
		switch (c) {
		case '&': sb_adds(sb, "&amp;"); break;
		case '<': sb_adds(sb, "&lt;"); break;
		case '>': sb_adds(sb, "&gt;"); break;
		case '"': sb_adds(sb, "&quot;"); break;
		case '\'': sb_adds(sb, "&apos;"); break;
		case '\t': sb_adds(sb, "&#9;"); break;
		case '\n': sb_adds(sb, "&#10;"); break;
		case '\r': sb_adds(sb, "&#13;"); break;
		default: sb_add(sb, s, n);
		}
		s += n;
	}
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

/* Can s stand bare as a logfmt value? */
static int logfmt_bare(const char *s)
{
	unsigned c;
	size_t n;

	if (!*s)
		return 0;
	for (; *s; s += n) {
		if (!(n = utf8_decode(s, &c)))
			return 0;
		if (c <= ' ' || c == '"' || c == '=' || c == '\\' ||
		    (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029)
			return 0;
	}
	return 1;
}

void logfmt_add_val(struct strbuf *sb, const char *s)
{
	if (logfmt_bare(s))
		sb_adds(sb, s);
	else
		add_quoted(sb, s, 1);
}
