#include "file.h"
#include "fault.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = fault_write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Open path read-only with flags, fsync it, close it: 0 or -1 (errno). */
static int fsync_open(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags), rc, e;

	if (fd < 0)
		return -1;
	rc = fault_fsync(fd);
	e = errno;
	if (close(fd))
		return -1;
	errno = e;
	return rc;
}

int fsync_path(const char *path)
{
	return fsync_open(path, O_NOFOLLOW);
}

int fsync_dir_of(const char *path)
{
	char *d = xstrdup(path);
	char *slash = strrchr(d, '/');
	int rc;

	if (slash == d)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else {
		free(d);
		d = xstrdup(".");
	}
	rc = fsync_open(d, O_DIRECTORY);
	free(d);
	return rc;
}

static int mkdir_one(const char *p)
{
	if (!fault_mkdir(p, 0777) || errno == EEXIST)
		return 0;
	return -1;
}

int mkdir_parents(const char *path)
{
	char *p = xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		rc = mkdir_one(p);
		*s = '/';
		if (rc)
			break;
	}
	free(p);
	return rc;
}

int remove_tree(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char *p = xstrfmt("%s/%s", path, e->d_name);
		if (remove_tree(p))
			rc = -1;
		free(p);
	}
	closedir(d);
	if (rmdir(path))
		rc = -1;
	return rc;
}

void file_random_hex(char *out, size_t nbytes)
{
	unsigned char b[16];
	static const char d[] = "0123456789abcdef";

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
		for (size_t i = 0; i < nbytes; i++)
			b[i] = (unsigned char)(rand() ^ getpid());
	}
	for (size_t i = 0; i < nbytes; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

int file_create_tmp(const char *pre, const char *post, int mode, char **path)
{
	for (int tries = 0; tries < 16; tries++) {
		char r[33];
		file_random_hex(r, 8);
		char *p = xstrfmt("%s%s%s", pre, r, post);
		int fd = fault_create(p, O_RDWR | O_EXCL | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
		if (fd >= 0) {
			*path = p;
			return fd;
		}
		free(p);
		if (errno != EEXIST)
			return -1;
	}
	errno = EEXIST;
	return -1;
}

int file_commit(const char *tmp, const char *final)
{
	int e;

	if (fsync_path(tmp) || mkdir_parents(final) || fault_rename(tmp, final))
		return -1;
	if (!fsync_dir_of(final))
		return 0;
	/* not durable: take it back, so that the caller's cleanup is whole */
	e = errno;
	(void)rename(final, tmp);
	errno = e;
	return -1;
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	char *pre, *tmp;
	int fd, e;

	if (mkdir_parents(path))
		return -1;
	pre = xstrfmt("%s.", path);
	fd = file_create_tmp(pre, ".tmp", 0666, &tmp);
	free(pre);
	if (fd < 0)
		return -1;
	if (write_all(fd, data, len)) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) || file_commit(tmp, path)) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **list_dir(const char *path, int skip_hidden, size_t *n)
{
	DIR *d = opendir(path);
	char **names;

	*n = 0;
	if (!d)
		return NULL;
	names = list_dir_stream(d, skip_hidden, n);
	closedir(d);
	return names;
}

char **list_dir_stream(DIR *d, int skip_hidden, size_t *n)
{
	struct dirent *e;
	char **names;

	*n = 0;
	names = xmalloc(sizeof(*names));
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    (skip_hidden && e->d_name[0] == '.'))
			continue;
		names = xrealloc(names, (*n + 1) * sizeof(*names));
		names[(*n)++] = xstrdup(e->d_name);
	}
	qsort(names, *n, sizeof(*names), cmp_name);
	return names;
}
