/*
 * storage_fs.c - the filesystem backend of storage.h: key K is the file
 * ROOT/K; temp files live in ROOT/tmp, scratch directories in ROOT/work,
 * so that every put and publish is a rename on one filesystem.
 *
 * A folder is published by moving its files into a staging directory
 * ROOT/tmp/.pub-*, each fsynced, and renaming that directory into place
 * (exchanging it with the folder already there, if any, which is then
 * removed): a reader sees the old folder or the new one.
 *
 * Modes and owners.  Files are created 0666 and directories 0777, less
 * the umask (storage.umask, applied by cli.c), so that the umask alone
 * says who may read what is stored; a job's scratch directory is 0700
 * whatever it is.  The group is the kernel's: a setgid root hands its
 * group and its setgid bit down to every directory made below it, and
 * temp files are made in ROOT/tmp, so a file keeps the group when it is
 * renamed into place.  Opening checks that this process may write the
 * root and its four folders (owner.h): root on another user's storage is
 * refused before anything is written.
 */
#include "storage_int.h"
#include "fault.h"
#include "log.h"
#include "owner.h"
#include "strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fs {
	char *root;     /* absolute, no trailing slash */
	char *tmp;      /* root/tmp */
};

#define FS(st) ((const struct fs *)(st)->be)

static char *fs_path(const struct storage *st, const char *key)
{
	return xstrfmt("%s/%s", FS(st)->root, key);
}

/* May this process write the root and its folders?  0, or -1 after
 * logging why (owner.h). */
static int check_owner(const char *root)
{
	static const char *sub[] = { "originals", "renditions", "tmp", "work" };
	int rc = owner_check("storage", root);

	for (size_t i = 0; !rc && i < sizeof(sub) / sizeof(sub[0]); i++) {
		char *p = xstrfmt("%s/%s", root, sub[i]);
		rc = owner_check("storage", p);
		free(p);
	}
	return rc;
}

static int fs_open(struct storage *st, const char *url, const struct storage_conf *c)
{
	struct fs *fs;
	char *root;

	if (!*url) {
		error("empty storage path");
		return -1;
	}
	if (url[0] == '/') {
		root = xstrdup(url);
	} else {
		char *cwd = getcwd(NULL, 0);
		if (!cwd) {
			error_errno("cannot get the current directory");
			return -1;
		}
		root = xstrfmt("%s/%s", cwd, url);
		free(cwd);
	}
	size_t n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		root[--n] = '\0';
	if (check_owner(root)) {
		free(root);
		return -1;
	}
	fs = xmalloc(sizeof(*fs));
	fs->root = root;
	fs->tmp = xstrfmt("%s/tmp", n == 1 ? "" : root);
	st->be = fs;
	return 0;
}

static void fs_close(struct storage *st)
{
	struct fs *fs = st->be;

	if (!fs)
		return;
	free(fs->root);
	free(fs->tmp);
	free(fs);
}

static int mkdir_one(const char *p)
{
	if (!fault_mkdir(p, 0777) || errno == EEXIST)
		return 0;
	return -1;
}

static int fs_init(const struct storage *st)
{
	static const char *sub[] = { "originals", "renditions", "tmp", "work" };
	char *p = xstrfmt("%s/", FS(st)->root);
	int rc = mkdir_parents(p);

	free(p);
	for (size_t i = 0; !rc && i < sizeof(sub) / sizeof(sub[0]); i++) {
		p = fs_path(st, sub[i]);
		rc = mkdir_one(p);
		free(p);
	}
	return rc;
}

static char *fs_name(const struct storage *st, const char *key)
{
	return key ? fs_path(st, key) : xstrdup(FS(st)->root);
}

static const char *fs_tmpdir(const struct storage *st)
{
	return FS(st)->tmp;
}

static int fs_tmpfile(const struct storage *st, const char *prefix, char **path)
{
	char *pre = xstrfmt("%s/.%s-%ld-", FS(st)->tmp, prefix, (long)getpid());
	int fd = file_create_tmp(pre, "", 0666, path);

	if (fd < 0 && errno == ENOENT) {
		/* first use: create tmp/ */
		if (!mkdir_parents(FS(st)->tmp) && !mkdir_one(FS(st)->tmp))
			fd = file_create_tmp(pre, "", 0666, path);
	}
	free(pre);
	return fd;
}

/* A fresh directory "<root>/<sub>/<name>-<pid>-<random>" of mode (less
 * the umask), or NULL. */
static char *unique_dir(const struct storage *st, const char *sub, const char *name, int mode)
{
	char r[33];

	for (int tries = 0; tries < 16; tries++) {
		file_random_hex(r, 8);
		char *p = xstrfmt("%s/%s/%s-%ld-%s", FS(st)->root, sub, name, (long)getpid(), r);
		if (!fault_mkdir(p, (mode_t)mode))
			return p;
		int e = errno;
		if (e == ENOENT && !mkdir_parents(p))
			;   /* created sub/, try again */
		else if (e != EEXIST) {
			free(p);
			errno = e;
			return NULL;
		}
		free(p);
	}
	return NULL;
}

static char *fs_workdir(const struct storage *st)
{
	return unique_dir(st, "work", "job", 0700);
}

static int fs_put(const struct storage *st, const char *tmp, const char *key)
{
	char *final = fs_path(st, key);
	int rc = file_commit(tmp, final);

	free(final);
	return rc;
}

static char *fs_fetch(const struct storage *st, const char *key, const char *workdir)
{
	char *p = fs_path(st, key);

	if (!access(p, R_OK))
		return p;
	free(p);
	return NULL;
}

static int fs_open_read(const struct storage *st, const char *key)
{
	char *p = fs_path(st, key);
	int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	free(p);
	return fd;
}

static int fs_stat(const struct storage *st, const char *key, int64_t *size)
{
	char *p = fs_path(st, key);
	struct stat sb;
	int rc = stat(p, &sb);

	free(p);
	if (rc)
		return -1;
	if (!S_ISREG(sb.st_mode)) {
		errno = ENOENT;   /* a folder is not an object */
		return -1;
	}
	if (size)
		*size = sb.st_size;
	return 0;
}

static int fs_remove(const struct storage *st, const char *key)
{
	char *p = fs_path(st, key);
	int rc = unlink(p);

	free(p);
	return rc && errno != ENOENT ? -1 : 0;
}

static double mtime_of(const struct stat *sb)
{
	return (double)sb->st_mtim.tv_sec + sb->st_mtim.tv_nsec / 1e9;
}

static void entry_add(struct storage_entry **v, size_t *n, char *key, int64_t size, double mtime)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].key = key;
	(*v)[*n].size = size;
	(*v)[(*n)++].mtime = mtime;
}

/* Add the objects below root/rel that begin with prefix. */
static void list_tree(const struct storage *st, const char *rel, const char *prefix,
		      struct storage_entry **v, size_t *n)
{
	char *d = rel[0] ? fs_path(st, rel) : xstrdup(FS(st)->root);
	size_t nn;
	char **names = list_dir(d, 1, &nn);

	for (size_t i = 0; names && i < nn; i++) {
		char *key = rel[0] ? xstrfmt("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *p = fs_path(st, key);
		struct stat sb;
		size_t kl = strlen(key), pl = strlen(prefix);

		if (!rel[0] && (!strcmp(key, "tmp") || !strcmp(key, "work")))
			;   /* local files, not objects */
		else if (strncmp(key, prefix, kl < pl ? kl : pl) || lstat(p, &sb))
			;
		else if (S_ISDIR(sb.st_mode))
			list_tree(st, key, prefix, v, n);
		else if (S_ISREG(sb.st_mode) && kl >= pl) {
			entry_add(v, n, key, sb.st_size, mtime_of(&sb));
			key = NULL;
		}
		free(key);
		free(p);
		free(names[i]);
	}
	free(names);
	free(d);
}

/* Remove the empty directories below p, then p itself if it is empty. */
static void prune_tree(const char *p)
{
	size_t n;
	char **names = list_dir(p, 1, &n);

	for (size_t i = 0; names && i < n; i++) {
		char *c = xstrfmt("%s/%s", p, names[i]);
		struct stat sb;
		if (!lstat(c, &sb) && S_ISDIR(sb.st_mode))
			prune_tree(c);
		free(c);
		free(names[i]);
	}
	free(names);
	(void)rmdir(p);
}

static void fs_prune(const struct storage *st, const char *folder)
{
	char *p = fs_path(st, folder);

	prune_tree(p);
	free(p);
}

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct storage_entry *)a)->key,
		      ((const struct storage_entry *)b)->key);
}

static struct storage_entry *fs_list(const struct storage *st, const char *prefix, size_t *n)
{
	struct storage_entry *v = xmalloc(sizeof(*v));

	*n = 0;
	list_tree(st, "", prefix, &v, n);
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_entry);
	return v;
}

/* The size and the newest mtime of the tree at p (itself included). */
static void tree_age(const char *p, const struct stat *top, int64_t *size, double *mtime)
{
	size_t n;
	char **names = S_ISDIR(top->st_mode) ? list_dir(p, 0, &n) : NULL;

	*size += top->st_size;
	if (mtime_of(top) > *mtime)
		*mtime = mtime_of(top);
	for (size_t i = 0; names && i < n; i++) {
		char *c = xstrfmt("%s/%s", p, names[i]);
		struct stat sb;
		if (!lstat(c, &sb))
			tree_age(c, &sb, size, mtime);
		free(c);
		free(names[i]);
	}
	free(names);
}

/* Add the entries of the local directory sub (tmp, work); -1 when it
 * cannot be read (a missing one is empty). */
static int scratch_dir(const struct storage *st, const char *sub, struct storage_entry **v,
		       size_t *n)
{
	char *d = fs_path(st, sub);
	size_t nn;
	char **names = list_dir(d, 0, &nn);

	free(d);
	if (!names)
		return errno == ENOENT ? 0 : -1;
	for (size_t i = 0; i < nn; i++) {
		char *key = xstrfmt("%s/%s", sub, names[i]), *p = fs_path(st, key);
		struct stat sb;
		int64_t size = 0;
		double mtime = 0;

		if (!lstat(p, &sb)) {
			tree_age(p, &sb, &size, &mtime);
			entry_add(v, n, key, size, mtime);
		} else {
			free(key);
		}
		free(p);
		free(names[i]);
	}
	free(names);
	return 0;
}

static struct storage_entry *fs_scratch(const struct storage *st, size_t *n)
{
	struct storage_entry *v = xmalloc(sizeof(*v));

	*n = 0;
	if (scratch_dir(st, "tmp", &v, n) || scratch_dir(st, "work", &v, n)) {
		int e = errno;
		storage_entries_free(v, *n);
		errno = e;
		return NULL;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_entry);
	return v;
}

static int fs_scratch_remove(const struct storage *st, const char *key)
{
	char *p = fs_path(st, key);
	int rc = remove_tree(p);

	free(p);
	return rc;
}

/* Move the object aside into tmp/ (so that the file judged is the file
 * removed), then remove it if it is stale, else put it back unless a
 * newer put took its place. */
static int fs_delete_stale(const struct storage *st, const char *key, double before,
			   int *removed)
{
	char r[17], *p = fs_path(st, key), *aside;
	struct stat sb;
	int rc = 0;

	file_random_hex(r, 8);
	aside = xstrfmt("%s/.gc-%ld-%s", FS(st)->tmp, (long)getpid(), r);
	if (fault_rename(p, aside)) {
		rc = errno == ENOENT ? 0 : -1;
	} else if (lstat(aside, &sb) || mtime_of(&sb) >= before) {
		/* fresh: back in place, unless a newer put is there already */
		if (link(aside, p) && errno != EEXIST)
			rc = -1;    /* kept aside in tmp/, and said */
		else if (unlink(aside) || fsync_dir_of(p))
			rc = -1;
	} else if (unlink(aside) || fsync_dir_of(p)) {
		rc = -1;
	} else {
		*removed = 1;
	}
	free(aside);
	free(p);
	return rc;
}

/* What publish_dir carries down the tree it stages. */
struct stage {
	const struct storage *st;
	const char *src, *dir, *prefix;  /* local folder, staging folder, prefix */
	storage_each_fn *each;
	void *arg;
	struct strbuf *err;
	int nfiles;
};

static void stage_fail(struct stage *s, const char *rel)
{
	int e = errno;
	char *key = rel ? xstrfmt("%s/%s", s->prefix, rel) : xstrdup(s->prefix);
	char *name = fs_path(s->st, key);

	sb_addf(s->err, "cannot publish '%s': %s", name, strerror(e));
	free(name);
	free(key);
	errno = e;
}

/* Move the regular files below src/rel into the staging folder. */
static int stage_tree(struct stage *s, const char *rel)
{
	char *dpath = rel[0] ? xstrfmt("%s/%s", s->src, rel) : xstrdup(s->src);
	size_t n;
	char **names = list_dir(dpath, 1, &n);
	int rc = 0;

	if (!names) {
		sb_addf(s->err, "cannot open '%s': %s", dpath, strerror(errno));
		free(dpath);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char *relp = rel[0] ? xstrfmt("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *from = xstrfmt("%s/%s", s->src, relp);
		struct stat sb;

		if (!rc && !lstat(from, &sb)) {
			if (S_ISDIR(sb.st_mode)) {
				rc = stage_tree(s, relp);
			} else if (S_ISREG(sb.st_mode)) {
				char *to = xstrfmt("%s/%s", s->dir, relp);
				if ((rc = file_commit(from, to)))
					stage_fail(s, relp);
				else if (s->each)
					s->each(s->arg, relp, sb.st_size);
				s->nfiles++;
				free(to);
			}
		}
		free(relp);
		free(from);
		free(names[i]);
	}
	free(names);
	free(dpath);
	return rc;
}

/* Swap directories a and b (b must exist); 0 or -1 (errno). */
static int exchange(const char *a, const char *b)
{
	char *aside;
	int rc = -1, e;

	if (fault_hit(FAULT_RENAME, -1))
		return -1;
	if (!renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a filesystem that cannot exchange: b aside, a in, the old b to a */
	aside = xstrfmt("%s.old", a);
	if (!rename(b, aside)) {
		if (!rename(a, b)) {
			(void)rename(aside, a);  /* else left in tmp/ for md-janitor */
			rc = 0;
		} else {
			e = errno;
			(void)rename(aside, b);
			errno = e;
		}
	}
	free(aside);
	return rc;
}

/* Put the staging folder in place as final; after it, stage holds the
 * folder that was there, if any.  Undone when it cannot be made durable. */
static int swap_in(const char *stage, const char *final)
{
	int swapped = 0, e;

	if (mkdir_parents(final))
		return -1;
	if (fault_rename(stage, final)) {
		if ((errno != EEXIST && errno != ENOTEMPTY) || exchange(stage, final))
			return -1;
		swapped = 1;
	}
	if (!fsync_dir_of(final))
		return 0;
	e = errno;
	(void)(swapped ? exchange(stage, final) : rename(final, stage));
	errno = e;
	return -1;
}

static int fs_publish_dir(const struct storage *st, const char *dir, const char *prefix,
			  storage_each_fn *each, void *arg, struct strbuf *err)
{
	struct stage s = {
		.st = st, .src = dir, .prefix = prefix, .each = each, .arg = arg, .err = err,
	};
	/* the staging folder becomes the published one: the umask's mode */
	char *stage = unique_dir(st, "tmp", ".pub", 0777), *final;
	int rc;

	if (!stage) {
		sb_addf(err, "cannot create a staging directory in '%s': %s", FS(st)->tmp,
			strerror(errno));
		return -1;
	}
	s.dir = stage;
	rc = stage_tree(&s, "");
	if (!rc && s.nfiles) {
		final = fs_path(st, prefix);
		if ((rc = swap_in(stage, final)))
			stage_fail(&s, NULL);
		free(final);
	}
	/* the staging folder, or the folder it replaced */
	(void)remove_tree(stage);
	free(stage);
	return rc;
}

const struct storage_ops storage_fs_ops = {
	.scheme = "file",
	.open = fs_open,
	.close = fs_close,
	.init = fs_init,
	.name = fs_name,
	.tmpdir = fs_tmpdir,
	.tmpfile = fs_tmpfile,
	.workdir = fs_workdir,
	.put = fs_put,
	.publish_dir = fs_publish_dir,
	.fetch = fs_fetch,
	.open_read = fs_open_read,
	.stat = fs_stat,
	.remove = fs_remove,
	.list = fs_list,
	.scratch = fs_scratch,
	.scratch_remove = fs_scratch_remove,
	.delete_stale = fs_delete_stale,
	.prune = fs_prune,
};
