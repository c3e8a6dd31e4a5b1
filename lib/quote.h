/*
 * quote.h - untrusted bytes written into JSON, XML, TSV and logfmt
 * (after git's quote.c).
 *
 * Every text the tools print may hold what a user typed or named a file:
 * any byte but NUL.  Each writer here appends s to sb so that the result
 * is always well formed in its language, whatever s holds, and one
 * record stays one line:
 *
 *   json_add_str    a JSON string literal (RFC 8259), quotes included;
 *                   valid UTF-8 that is printable passes through, C0 and
 *                   C1 controls, DEL, U+2028 and U+2029 are written \uXXXX,
 *                   each byte that does not begin a valid UTF-8 sequence
 *                   (overlong forms, surrogates, code points past U+10FFFF,
 *                   bytes C0, C1, F5-FF, truncated sequences) is \ufffd.
 *   xml_add_text    XML 1.0 character data, good in an element or in a
 *                   quoted attribute: & < > " ' are entities, tab, LF and
 *                   CR character references (so no parser normalises
 *                   them), and every character XML 1.0 forbids (C0
 *                   controls, U+FFFE, U+FFFF, surrogates, invalid UTF-8)
 *                   is U+FFFD.
 *   tsv_add         a TSV field: tab, LF, CR and backslash are \t \n \r \\;
 *                   other bytes as they are.
 *   logfmt_add_val  a logfmt value: bare when it is non-empty, valid UTF-8
 *                   and free of spaces, controls, = " and \; else quoted
 *                   as Go's strconv.Quote does: \" \\ \n \r \t, other
 *                   controls \u00XX, invalid bytes \xNN.
 *
 * None of them fails (strbuf aborts on out of memory); s must not be NULL.
 */
#ifndef MD_QUOTE_H
#define MD_QUOTE_H

#include <stddef.h>

#include "strbuf.h"

/*
 * Decode the UTF-8 sequence at s (NUL-terminated): its length 1-4 with
 * the code point in *cp, or 0 when s does not begin a well-formed
 * sequence (RFC 3629: no overlong form, surrogate or code point past
 * U+10FFFF).  Never reads past a NUL.  *s must not be NUL.
 */
size_t utf8_decode(const char *s, unsigned *cp);

void json_add_str(struct strbuf *sb, const char *s);
void xml_add_text(struct strbuf *sb, const char *s);
void tsv_add(struct strbuf *sb, const char *s);
void logfmt_add_val(struct strbuf *sb, const char *s);

#endif
