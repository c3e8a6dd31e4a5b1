/*
 * file.h - the local file primitives every tool shares.
 *
 * One place for the rule that makes a file appear whole (STYLE.md, atomic
 * files): write it under a temp name created with O_EXCL, fsync it, rename
 * it into place, fsync the directory.  file_commit() is the last three
 * steps, write_file_atomic() the whole of it; the filesystem storage
 * backend (storage_fs.c) and md-feed's output use them.
 *
 * Their writes, renames, fsyncs, mkdirs and temp file creations go through
 * fault.h, so a test build can make any one of them fail.
 *
 * Directories are made 0777 and files 0666 less the umask: the process's
 * umask (storage.umask, set by cli.c) alone says who may read them.
 *
 * Functions return 0, or -1 with errno set, and log nothing.
 */
#ifndef MD_FILE_H
#define MD_FILE_H

#include <dirent.h>
#include <stddef.h>

/* Write all len bytes, retrying short writes and EINTR. */
int write_all(int fd, const void *buf, size_t len);
/* fsync the file at path (not following a symlink). */
int fsync_path(const char *path);
/* fsync the directory holding path. */
int fsync_dir_of(const char *path);
/* mkdir -p for the parents of path (mode 0777 less the umask). */
int mkdir_parents(const char *path);
/* rm -rf; returns 0 when path is gone. */
int remove_tree(const char *path);

/* nbytes (at most 16) random bytes as 2*nbytes hex digits and a NUL. */
void file_random_hex(char *out, size_t nbytes);
/* Create a new file "<pre><16 random hex digits><post>" with O_EXCL and
 * O_NOFOLLOW, open for reading and writing; returns the fd and sets *path
 * (caller frees), or -1.  The directory must exist. */
int file_create_tmp(const char *pre, const char *post, int mode, char **path);
/* Put the written, closed file tmp in place as final: fsync it, create
 * final's parents, rename, fsync final's directory.  If final exists it is
 * replaced.  On failure tmp is where it was (a rename that the directory
 * fsync could not make durable is undone) and final as it was, or gone if
 * the rename replaced it. */
int file_commit(const char *tmp, const char *final);
/* Replace path with data atomically: a temp file beside it, write, then
 * file_commit.  A reader sees the old file or the new one, never half of
 * one; on failure no temp file is left. */
int write_file_atomic(const char *path, const void *data, size_t len);

/* The names in directory path, sorted, without "." and ".." (and without
 * any dot-name when skip_hidden); *n counts them.  Free each name and the
 * array.  NULL on error (errno set); an empty directory gives a non-NULL
 * array with *n = 0. */
char **list_dir(const char *path, int skip_hidden, size_t *n);
/* The same from an open directory stream, which the caller closes. */
char **list_dir_stream(DIR *d, int skip_hidden, size_t *n);

#endif
