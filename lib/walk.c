#include "walk.h"
#include "storage.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The (device, inode) pairs met so far: open addressing, grown at half full. */
struct seen {
	struct seen_slot { dev_t dev; ino_t ino; int used; } *slot;
	size_t cap, n;
};

static size_t seen_hash(dev_t dev, ino_t ino, size_t cap)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev;

	h ^= h >> 29;
	return (size_t)(h & (cap - 1));
}

/* Remember (dev, ino); returns 1 if it was already there. */
static int seen_add(struct seen *s, dev_t dev, ino_t ino)
{
	size_t i;

	if (2 * (s->n + 1) > s->cap) {
		struct seen old = *s;

		s->cap = old.cap ? 2 * old.cap : 64;
		s->slot = xcalloc(s->cap, sizeof(*s->slot));
		s->n = 0;
		for (i = 0; i < old.cap; i++)
			if (old.slot[i].used)
				seen_add(s, old.slot[i].dev, old.slot[i].ino);
		free(old.slot);
	}
	for (i = seen_hash(dev, ino, s->cap); s->slot[i].used; i = (i + 1) & (s->cap - 1))
		if (s->slot[i].dev == dev && s->slot[i].ino == ino)
			return 1;
	s->slot[i].dev = dev;
	s->slot[i].ino = ino;
	s->slot[i].used = 1;
	s->n++;
	return 0;
}

struct walk {
	const struct walk_opts *o;
	struct seen seen;
	char *root;             /* real path of the root directory, NULL: unknown */
	int failed;
};

static void refuse(struct walk *w, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse(struct walk *w, const char *path, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	w->o->on_refuse(w->o->ctx, path, sb.buf);
	sb_release(&sb);
}

static int stopped(const struct walk *w)
{
	return w->failed || (w->o->stop && w->o->stop(w->o->ctx));
}

/* The kernel's path of what fd is open on, or NULL (no /proc). */
static char *fd_path(int fd)
{
	char link[64], buf[PATH_MAX];
	ssize_t n;

	if (snprintf(link, sizeof(link), "/proc/self/fd/%d", fd) >= (int)sizeof(link))
		return NULL;
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0 || buf[0] != '/')
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Is what fd is open on at or below the root? */
static int inside_root(const struct walk *w, int fd)
{
	char *real;
	size_t n;
	int in;

	if (!w->root || !(real = fd_path(fd)))
		return 0;
	n = strlen(w->root);
	in = !strcmp(w->root, "/") ||
	     (!strncmp(real, w->root, n) && (real[n] == '/' || real[n] == '\0'));
	free(real);
	return in;
}

static char *child_path(const char *dir, const char *name)
{
	size_t l = strlen(dir);

	return xstrfmt("%s%s%s", dir, l && dir[l - 1] == '/' ? "" : "/", name);
}

/*
 * Names of the entries of the directory open on fd, sorted, without "."
 * and ".."; NULL with errno on failure.  fd stays open.
 */
static char **read_names(int fd, size_t *n)
{
	int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	DIR *d;
	char **names;

	if (dup_fd < 0)
		return NULL;
	/* the duplicate shares the offset: read from the start */
	if (lseek(dup_fd, 0, SEEK_SET) < 0 || !(d = fdopendir(dup_fd))) {
		int e = errno;
		close(dup_fd);
		errno = e;
		return NULL;
	}
	names = list_dir_stream(d, 0, n);
	closedir(d);
	return names;
}

static void walk_at(struct walk *w, int dirfd, const char *name, const char *path, int depth,
		    int top);

static void walk_dir(struct walk *w, int fd, const char *path, int depth)
{
	size_t n;
	char **names = read_names(fd, &n);

	if (!names) {
		refuse(w, path, "cannot read directory: %s", strerror(errno));
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!stopped(w)) {
			char *p = child_path(path, names[i]);
			walk_at(w, fd, names[i], p, depth + 1, 0);
			free(p);
		}
		free(names[i]);
	}
	free(names);
}

/*
 * Open name in dirfd as a directory or a regular file, following a link
 * only as the rules say.  Returns the descriptor with *st filled and
 * *linked set, or -1 after refusing it.
 */
static int open_entry(struct walk *w, int dirfd, const char *name, const char *path, int top,
		      struct stat *st, int *linked)
{
	struct stat lst;
	int fd, flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;

	*linked = 0;
	if (fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW)) {
		refuse(w, path, "cannot stat: %s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(lst.st_mode)) {
		if (top && !w->o->follow) {
			refuse(w, path, "is a symbolic link (use -L to follow it)");
			return -1;
		}
		if (fstatat(dirfd, name, &lst, 0)) {
			if (errno == ENOENT)
				refuse(w, path, "dangling symlink");
			else
				refuse(w, path, "cannot follow symlink: %s", strerror(errno));
			return -1;
		}
		*linked = 1;
	} else {
		flags |= O_NOFOLLOW;
	}
	if (!S_ISDIR(lst.st_mode) && !S_ISREG(lst.st_mode)) {
		refuse(w, path, "not a regular file");
		return -1;
	}
	if (S_ISDIR(lst.st_mode) && !w->o->recursive) {
		refuse(w, path, "is a directory (use -r)");
		return -1;
	}
	fd = openat(dirfd, name, flags | (S_ISDIR(lst.st_mode) ? O_DIRECTORY : 0));
	if (fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			refuse(w, path, "changed while it was read (now a symbolic link)");
		else
			refuse(w, path, "cannot open: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			w->failed = 1;
		return -1;
	}
	if (fstat(fd, st) || st->st_dev != lst.st_dev || st->st_ino != lst.st_ino) {
		refuse(w, path, "changed while it was read");
		close(fd);
		return -1;
	}
	if (*linked && !w->o->follow && !inside_root(w, fd)) {
		refuse(w, path, "symlink points outside the given directory (use -L)");
		close(fd);
		return -1;
	}
	return fd;
}

static void walk_at(struct walk *w, int dirfd, const char *name, const char *path, int depth,
		    int top)
{
	struct stat st;
	int linked, fd = open_entry(w, dirfd, name, path, top, &st, &linked);

	if (fd < 0)
		return;
	if (seen_add(&w->seen, st.st_dev, st.st_ino)) {
		/* a second way to something already walked: a loop, or two
		 * links to one file; taking it again would repeat the work */
		if (!top)
			refuse(w, path, "already met in this walk (a link to it, or a loop)");
		close(fd);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		if (depth >= (w->o->max_depth ? w->o->max_depth : 64))
			refuse(w, path, "directory nested too deep (more than %d levels)",
			       w->o->max_depth ? w->o->max_depth : 64);
		else
			walk_dir(w, fd, path, depth);
		close(fd);
		return;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		refuse(w, path, "cannot read: %s", strerror(errno));
		close(fd);
		return;
	}
	struct walk_file f = {
		.path = path, .dirfd = dirfd, .name = name, .linked = linked, .fd = fd, .st = st,
	};
	w->o->on_file(w->o->ctx, &f);
	close(fd);
}

/*
 * The directory holding the last component of path, opened without
 * following a link (unless follow) in any component; *last is set to that
 * component ("." when there is none).  Returns the descriptor, or -1 with
 * *why set (allocated).
 */
static int open_parent(const char *path, int follow, char **last, char **why)
{
	char *copy = xstrdup(path), *p = copy, *slash;
	int fd, next;

	*last = NULL;
	*why = NULL;
	while (*p == '/')
		p++;
	fd = open(p != copy ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*why = xstrfmt("cannot open: %s", strerror(errno));
		free(copy);
		return -1;
	}
	for (;;) {
		slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		if (*p) {
			next = openat(fd, p, O_PATH | O_DIRECTORY | O_CLOEXEC |
				      (follow ? 0 : O_NOFOLLOW));
			if (next < 0) {
				struct stat st;
				int e = errno;

				if (!follow && !fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) &&
				    S_ISLNK(st.st_mode))
					*why = xstrfmt("goes through the symbolic link '%.*s' "
						       "(use -L to follow it)",
						       (int)(slash - copy), path);
				else
					*why = xstrfmt("cannot open: %s", strerror(e));
				close(fd);
				free(copy);
				return -1;
			}
			close(fd);
			fd = next;
		}
		p = slash + 1;
		while (*p == '/')
			p++;
	}
	*last = xstrdup(*p ? p : ".");
	free(copy);
	return fd;
}

int walk_path(const struct walk_opts *o, const char *path)
{
	struct walk w = { .o = o };
	char *last, *why;
	int dirfd = open_parent(path, o->follow, &last, &why);
	struct stat st;

	if (dirfd < 0) {
		o->on_refuse(o->ctx, path, why);
		free(why);
		return 0;
	}
	/* the root: the given directory, or the one holding the given file */
	if (!fstatat(dirfd, last, &st, o->follow ? 0 : AT_SYMLINK_NOFOLLOW) &&
	    S_ISDIR(st.st_mode)) {
		int rfd = openat(dirfd, last, O_PATH | O_DIRECTORY | O_CLOEXEC |
				 (o->follow ? 0 : O_NOFOLLOW));
		if (rfd >= 0) {
			w.root = fd_path(rfd);
			close(rfd);
		}
	} else {
		w.root = fd_path(dirfd);
	}
	walk_at(&w, dirfd, last, path, 0, 1);
	close(dirfd);
	free(last);
	free(w.root);
	free(w.seen.slot);
	return w.failed ? -1 : 0;
}

int walk_unlink(const struct walk_file *f)
{
	struct stat now;

	if (fstatat(f->dirfd, f->name, &now, AT_SYMLINK_NOFOLLOW))
		return -1;
	if (now.st_dev != f->st.st_dev || now.st_ino != f->st.st_ino || !S_ISREG(now.st_mode))
		return 1;
	return unlinkat(f->dirfd, f->name, 0);
}
