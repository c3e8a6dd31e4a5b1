/*
 * dl.h - the libraries a tool loads only when it needs them.
 *
 * libsqlite3 (a SQLite database), libpq (a PostgreSQL database), libcurl
 * and libxml2 (S3 storage) are not linked into the tools: each is opened
 * with dlopen(3) the first time a store or a storage of its kind is
 * opened.  A tool on SQLite and a
 * filesystem (the default) then maps a dozen libraries instead of
 * forty-six; its start (the loader relocating each of them) and its
 * resident size shrink by half.  The headers are the usual ones: a
 * driver keeps a struct of pointers typed after the prototypes it calls
 * (typeof), filled by dl_sym(), so a prototype that changes still breaks
 * the build.
 *
 * The sonames are the ones the build found (Makefile: DL_SONAMES).
 */
#ifndef MD_DL_H
#define MD_DL_H

#ifndef SONAME_SQLITE3
#define SONAME_SQLITE3 "libsqlite3.so.0"
#endif
#ifndef SONAME_PQ
#define SONAME_PQ "libpq.so.5"
#endif
#ifndef SONAME_CURL
#define SONAME_CURL "libcurl.so.4"
#endif
#ifndef SONAME_XML2
#define SONAME_XML2 "libxml2.so.2"
#endif

/* The library `soname`, loaded once (later calls return the same handle),
 * or NULL after an error naming `what` needs it, e.g. "PostgreSQL". */
void *dl_open(const char *soname, const char *what);

/* The address of `name` in the library `h` (from dl_open(soname)), or
 * NULL after an error. */
void *dl_sym(void *h, const char *soname, const char *name);

/*
 * A driver names the functions it calls in a list macro, LIST(X) calling
 * X(f) for each, and keeps them in a table of pointers typed after their
 * prototypes:
 *
 *	static struct { LIST(DL_POINTER) } t;
 *
 * which its loader fills, stopping at the first one missing:
 *
 *	#define X(f) if (!DL_SYM(t, h, soname, f)) return -1;
 */
#define DL_POINTER(f) __typeof__(f) *f;
#define DL_SYM(t, h, soname, f) ((t).f = (__typeof__((t).f))dl_sym(h, soname, #f))

#endif
