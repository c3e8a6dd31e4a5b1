/*
 * strbuf.h - growable NUL-terminated byte strings (after git's strbuf).
 *
 * Invariant: buf is never NULL once initialised with STRBUF_INIT or
 * sb_init(); buf[len] == '\0' always; the string may hold NULs.
 * Allocation failure aborts the program (xmalloc semantics): the tools are
 * short-lived and cannot do anything useful without memory.
 *
 * Call order: STRBUF_INIT (or sb_init) -> sb_add* ... -> sb_release.
 * sb_detach() hands the buffer to the caller, who frees it with free().
 */
#ifndef MD_STRBUF_H
#define MD_STRBUF_H

#include <stddef.h>
#include <stdarg.h>

struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};

extern char sb_empty[];
#define STRBUF_INIT { 0, 0, sb_empty }

void sb_init(struct strbuf *sb, size_t hint);
void sb_release(struct strbuf *sb);
void sb_reset(struct strbuf *sb);           /* len = 0, keeps memory */
void sb_grow(struct strbuf *sb, size_t extra);
void sb_add(struct strbuf *sb, const void *data, size_t len);
void sb_adds(struct strbuf *sb, const char *s);
void sb_addch(struct strbuf *sb, int c);
void sb_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void sb_setlen(struct strbuf *sb, size_t len);
char *sb_detach(struct strbuf *sb, size_t *len);
/* Remove trailing whitespace. */
void sb_rtrim(struct strbuf *sb);

/* xmalloc family: die on allocation failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Formatted string in freshly allocated memory. */
char *xstrfmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * snprintf into dst[0..n) for output known to fit (a number, a name from
 * a table, a value the schema bounds).  Returns its length; output that
 * would be cut is a bug: it aborts.  Where cutting is what is wanted,
 * write (void)snprintf and say why; any other snprintf has its result
 * checked (scripts/check-source.sh).
 */
int xsnprintf(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Is s valid UTF-8 (what a database text value must be)? */
int utf8_valid(const char *s);
/* A user name: 1 to 64 bytes of UTF-8, no space, control character or
 * comma (md-ingest --user, md-user). */
int user_name_valid(const char *s);

#endif
