#include "storage.h"
#include "log.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <unistd.h>

int storage_open(struct storage *st, const char *url)
{
	st->root = NULL;
	if (!strncmp(url, "s3://", 5)) {
		error("storage '%s': s3:// storage is not supported by this build", url);
		return -1;
	}
	if (!strncmp(url, "file://", 7))
		url += 7;
	if (!*url) {
		error("empty storage path");
		return -1;
	}
	if (url[0] == '/') {
		st->root = xstrdup(url);
	} else {
		char *cwd = getcwd(NULL, 0);
		if (!cwd) {
			error_errno("cannot get the current directory");
			return -1;
		}
		st->root = xstrfmt("%s/%s", cwd, url);
		free(cwd);
	}
	size_t n = strlen(st->root);
	while (n > 1 && st->root[n - 1] == '/')
		st->root[--n] = '\0';
	return 0;
}

void storage_close(struct storage *st)
{
	free(st->root);
	st->root = NULL;
}

static int mkdir_one(const char *p)
{
	if (!mkdir(p, 0750) || errno == EEXIST)
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

int storage_init_dirs(struct storage *st)
{
	static const char *sub[] = { "originals", "renditions", "tmp", "work" };
	char *p = xstrfmt("%s/", st->root);
	int rc = mkdir_parents(p);

	free(p);
	for (size_t i = 0; !rc && i < 4; i++) {
		p = xstrfmt("%s/%s", st->root, sub[i]);
		rc = mkdir_one(p);
		free(p);
	}
	return rc;
}

char *storage_original_key(const char *sha, const char *ext)
{
	return xstrfmt("originals/%.2s/%.2s/%s.%s", sha, sha + 2, sha, ext);
}

char *storage_rendition_key(const char *sha, const char *profile, const char *file)
{
	if (file)
		return xstrfmt("renditions/%.2s/%.2s/%s/%s/%s", sha, sha + 2, sha, profile, file);
	return xstrfmt("renditions/%.2s/%.2s/%s/%s", sha, sha + 2, sha, profile);
}

char *storage_path(const struct storage *st, const char *key)
{
	return xstrfmt("%s/%s", st->root, key);
}

static void random_hex(char *out, size_t nbytes)
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

int storage_tmpfile(const struct storage *st, const char *prefix, char **path)
{
	for (int tries = 0; tries < 16; tries++) {
		char r[33];
		random_hex(r, 8);
		char *p = xstrfmt("%s/tmp/.%s-%ld-%s", st->root, prefix, (long)getpid(), r);
		int fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (fd >= 0) {
			*path = p;
			return fd;
		}
		int e = errno;
		free(p);
		if (e == ENOENT) {
			/* first use: create tmp/ */
			char *d = xstrfmt("%s/tmp", st->root);
			int rc = mkdir_parents(d) || mkdir_one(d);
			free(d);
			if (rc)
				return -1;
			continue;
		}
		if (e != EEXIST) {
			errno = e;
			return -1;
		}
	}
	errno = EEXIST;
	return -1;
}

char *storage_workdir(const struct storage *st)
{
	char r[33];

	for (int tries = 0; tries < 16; tries++) {
		random_hex(r, 8);
		char *p = xstrfmt("%s/work/job-%ld-%s", st->root, (long)getpid(), r);
		if (!mkdir(p, 0750))
			return p;
		int e = errno;
		if (e == ENOENT && !mkdir_parents(p))
			;   /* created work/, try again */
		else if (e != EEXIST) {
			free(p);
			errno = e;
			return NULL;
		}
		free(p);
	}
	return NULL;
}

/* Open path read-only with flags, fsync it, close it: 0 or -1 (errno). */
static int fsync_open(const char *path, int flags)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | flags), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd))
		rc = -1;
	return rc;
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

int storage_publish(const char *tmp, const char *final)
{
	if (mkdir_parents(final))
		return -1;
	if (rename(tmp, final))
		return -1;
	return fsync_dir_of(final);
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

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
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

int fsync_path(const char *path)
{
	return fsync_open(path, O_NOFOLLOW);
}

int write_file_atomic(const char *path, const void *data, size_t len)
{
	char r[33];
	char *tmp;
	int fd, e;

	if (mkdir_parents(path))
		return -1;
	random_hex(r, 8);
	tmp = xstrfmt("%s.%s.tmp", path, r);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	if (write_all(fd, data, len) || fsync(fd)) {
		e = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) || rename(tmp, path)) {
		e = errno;
		goto fail;
	}
	free(tmp);
	return fsync_dir_of(path);
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
