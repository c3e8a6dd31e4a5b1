/*
 * emit.h - records on stdout: tab-separated by default, JSON Lines with
 * --json.  One record per line whatever the data holds: in TSV, tab,
 * newline, carriage return and backslash inside a field are written as
 * \t \n \r \\; in JSON, strings are escaped and invalid UTF-8 becomes
 * U+FFFD, so a hostile file name can never split or forge a record (the
 * writers are in quote.h, which this header includes).
 *
 * Call order: emit_begin -> emit_str/int/bool/raw ... -> emit_end.
 * emit_end writes the line and returns 0, or -1 when stdout failed (the
 * tool then exits non-zero: `md-feed > /full/disk` must fail).
 */
#ifndef MD_EMIT_H
#define MD_EMIT_H

#include <stdint.h>
#include <stdio.h>

#include "quote.h"
#include "strbuf.h"

struct emit {
	int json;
	int nfields;
	struct strbuf sb;
};

void emit_begin(struct emit *e, int json);
void emit_str(struct emit *e, const char *key, const char *val);  /* NULL: null / empty */
void emit_int(struct emit *e, const char *key, int64_t v);
void emit_bool(struct emit *e, const char *key, int v);
/* JSON text as is in JSON mode; tsv (or "") in TSV mode. */
void emit_raw(struct emit *e, const char *key, const char *json, const char *tsv);
int emit_end(struct emit *e, FILE *out);

struct feed_row;
/* The fields of a post record (md-feed, md-finalize, the static feed):
 * post_id, user, caption, tags, status, created_at, media, kind,
 * trace_id, renditions, error, rendition_list, placeholder (rendition.h). */
void emit_post_fields(struct emit *e, const struct feed_row *r);
/* A post as md-feed prints it: the fields above with --json, else the TSV
 * columns post_id, created_at, user, status, kind, media, tags,
 * renditions, caption, error. */
void emit_post_row(struct emit *e, const struct feed_row *r);
/* --base-url's value as a prefix of storage keys: with a trailing slash. */
char *base_url_prefix(const char *arg);

/*
 * A feed cursor (--before; md-feed prints it as "next"): the decimal id
 * of a post, 1 to 2^63-1, digits only: no sign, space or leading zero.
 * Returns 0 and sets *id, or -1 and leaves *id alone.  An id that names
 * no post is not an error here: its page is empty.
 */
int cursor_parse(const char *s, int64_t *id);
/*
 * Flatten a JSON array of strings into "a,b" or a JSON object of strings
 * into "k=v,k2=v2" (for TSV columns).  Only what the stores produce is
 * understood; anything else is copied as is.
 */
void json_flatten(const char *json, struct strbuf *out);
/*
 * Call cb for each string of a JSON array of strings (tags_json), decoded;
 * the string is valid until cb returns.  Stops at the first non-zero
 * return of cb and returns it; 0 otherwise (also when json is NULL or not
 * an array).
 */
int json_array_each(const char *json, int (*cb)(void *arg, const char *s), void *arg);
/* Flush and close stdout, reporting an error; returns 0 or -1. */
int close_stdout(void);

#endif
