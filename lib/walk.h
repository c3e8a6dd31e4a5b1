/*
 * walk.h - walking a tree of untrusted files by descriptor.
 *
 * The paths md-ingest is given, and what lies below them, belong to
 * uploaders who may swap a directory for a symbolic link while the walk
 * runs.  So nothing is opened twice by name:
 *
 *   - a path given by the user is resolved one component at a time with
 *     openat(O_NOFOLLOW); a symbolic link anywhere in it is refused unless
 *     the caller follows links (-L);
 *   - below it every directory and file is opened relative to its parent's
 *     descriptor with O_NOFOLLOW, so a directory replaced by a link after
 *     it was opened changes nothing, and one replaced before is seen as
 *     the link it is;
 *   - a link met during the walk is followed only when what it opens is
 *     inside the given root (checked on the opened descriptor itself, not
 *     on a name), or always with follow set;
 *   - every directory and file is remembered by (device, inode): a second
 *     way to the same one (a "loop -> ." link, two links to one file) is
 *     skipped, so the walk is linear in the size of the tree;
 *   - the caller gets an open descriptor of the file and its parent
 *     directory, and walk_unlink() removes the name only when it is still
 *     that very file.
 *
 * Call order: fill a struct walk_opts, call walk_path() for each path;
 * the callbacks run during the call.  walk_path() never follows a link to
 * a device, FIFO or socket: it opens only directories and regular files.
 */
#ifndef MD_WALK_H
#define MD_WALK_H

#include <sys/stat.h>

/* One regular file found by the walk. */
struct walk_file {
	const char *path;       /* for messages: the given path plus the names below it */
	int dirfd;              /* the directory it was opened from */
	const char *name;       /* its name in dirfd */
	int linked;             /* reached through a symbolic link */
	int fd;                 /* open for reading, blocking; the callback may use it,
				 * walk_path() closes it */
	struct stat st;         /* fstat() of fd */
};

struct walk_opts {
	int recursive;          /* descend into directories (else they are refused) */
	int follow;             /* follow every symbolic link (-L) */
	int max_depth;          /* directories deeper than this are refused (0: 64) */
	void (*on_file)(void *ctx, struct walk_file *f);
	void (*on_refuse)(void *ctx, const char *path, const char *why);
	int (*stop)(void *ctx); /* non-zero: end the walk now (NULL: never) */
	void *ctx;
};

/*
 * Walk path: a file is passed to on_file, a directory's files (with
 * recursive) too, in name order.  Everything that is not taken gets one
 * on_refuse() call with a one-line reason.  Returns 0, or -1 when the walk
 * itself could not go on (out of descriptors: errno set, also refused).
 */
int walk_path(const struct walk_opts *o, const char *path);

/*
 * Remove f's name from its directory if it still names the very file that
 * was read (same device and inode, not a link).  Returns 0 when removed,
 * 1 when the name now holds something else (nothing removed), -1 with
 * errno on failure.
 */
int walk_unlink(const struct walk_file *f);

#endif
