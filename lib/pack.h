/*
 * pack.h - ZIP archives of a job's files, written and read with libzip.
 *
 * pack_zip() writes one archive of the files it is given, in the order
 * given, each under the name given: stored, not deflated (the files are
 * JPEGs, which deflate does not shrink), with a fixed time (1980-01-01
 * 00:00, the first a ZIP can say) and fixed Unix attributes (a regular
 * file, mode 0644), no comment and no extra field.  So the same files
 * make the same archive bytes, on any machine, in any time zone, whatever
 * the files' own times.  libzip writes the archive under a temporary name
 * beside it and renames it into place when it is whole.
 *
 * pack_each() opens an archive (libzip checks its central directory
 * against itself) and hands each entry, read whole and its CRC checked,
 * to a callback, in the archive's order.
 *
 * Both return 0 (pack_each: the number of entries), or -1 with a one-line
 * reason in why; neither logs.
 */
#ifndef MD_PACK_H
#define MD_PACK_H

#include <stddef.h>

#include "strbuf.h"

struct pack_entry {
	const char *path;       /* the file to store */
	const char *name;       /* its name in the archive */
};

/* Write the archive zip (which must not exist) of the n files of e. */
int pack_zip(const char *zip, const struct pack_entry *e, int n, struct strbuf *why);

/*
 * The callback of pack_each: entry i (from 0) called name, its len bytes
 * of data.  It returns 0 to go on, or -1 after saying why in why.
 */
typedef int (*pack_entry_fn)(void *arg, int i, const char *name, const unsigned char *data,
			     size_t len, struct strbuf *why);

/*
 * Read every entry of the archive zip, each at most max_bytes long, and
 * call fn on it.  Returns the number of entries, or -1 (the archive does
 * not open, an entry is larger than max_bytes or does not read back with
 * its CRC, or fn said no) with why set.
 */
int pack_each(const char *zip, size_t max_bytes, pack_entry_fn fn, void *arg, struct strbuf *why);

#endif
