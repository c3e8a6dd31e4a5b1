/*
 * storage.h - where media bytes live: a directory tree today (an S3
 * bucket is planned behind the same calls).
 *
 * Layout under the root, sharded by hash so no directory grows huge:
 *
 *   originals/ab/cd/<sha256>.<ext>
 *   renditions/ab/cd/<sha256>/<profile>/<files>
 *   tmp/    files being written (.in-*, .pub-*), removed by md-janitor
 *   work/   per-job scratch directories of md-work
 *
 * Keys are built from hashes, extensions and profile names only: no user
 * input ever becomes a path.  tmp/ and work/ are on the same filesystem as
 * the published trees, so publishing is a rename.
 *
 * Publish protocol (storage_publish): the caller has written and fsynced
 * the temp file; the final directory is created, the file renamed into
 * place, and the directory fsynced.  A reader sees the whole file or none;
 * a crash leaves at most a temp file.
 *
 * Functions return 0 or -1 with errno set and log nothing, unless said.
 */
#ifndef MD_STORAGE_H
#define MD_STORAGE_H

#include <dirent.h>
#include <stddef.h>

struct storage {
	char *root;
};

/* Open a storage URL (a directory path or file:// URL).  Returns 0, or
 * -1 after logging why (an s3:// URL is not supported yet). */
int storage_open(struct storage *st, const char *url);
void storage_close(struct storage *st);
/* Create root, originals/, renditions/, tmp/, work/ (mode 0750). */
int storage_init_dirs(struct storage *st);

/* Keys relative to the root; caller frees. */
char *storage_original_key(const char *sha, const char *ext);
char *storage_rendition_key(const char *sha, const char *profile, const char *file);
/* Absolute path of a key; caller frees. */
char *storage_path(const struct storage *st, const char *key);

/* Create a new temp file in tmp/ with O_EXCL; returns the fd and sets
 * *path (caller frees), or -1. */
int storage_tmpfile(const struct storage *st, const char *prefix, char **path);
/* Create a fresh scratch directory under work/; returns path or NULL. */
char *storage_workdir(const struct storage *st);

/* mkdir -p for the parents of path (mode 0750). */
int mkdir_parents(const char *path);
/* rename(tmp, final) after creating final's directory, then fsync the
 * directory.  If final exists already, it is replaced. */
int storage_publish(const char *tmp, const char *final);
/* fsync the directory holding path. */
int fsync_dir_of(const char *path);
/* rm -rf; returns 0 when path is gone. */
int remove_tree(const char *path);

/* File primitives the tools share (0, or -1 with errno set). */
/* Write all len bytes, retrying short writes and EINTR. */
int write_all(int fd, const void *buf, size_t len);
/* fsync the file at path (not following a symlink). */
int fsync_path(const char *path);
/* Replace path with data atomically: an O_EXCL temp file beside it, write,
 * fsync, rename, fsync the directory; parents are created.  A reader sees
 * the old file or the new one, never half of one. */
int write_file_atomic(const char *path, const void *data, size_t len);
/* The names in directory path, sorted, without "." and ".." (and without
 * any dot-name when skip_hidden); *n counts them.  Free each name and the
 * array.  NULL on error (errno set); an empty directory gives a non-NULL
 * array with *n = 0. */
char **list_dir(const char *path, int skip_hidden, size_t *n);
/* The same from an open directory stream, which the caller closes. */
char **list_dir_stream(DIR *d, int skip_hidden, size_t *n);

#endif
