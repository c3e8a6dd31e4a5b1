/*
 * storage.h - where media bytes live, by key: a directory tree today, an
 * S3 bucket behind the same calls later.  Tools speak of keys and objects
 * only; no tool builds, opens or removes a stored path itself.
 *
 * Keys are relative names built from hashes, extensions and profile names
 * only, never from user input:
 *
 *   originals/ab/cd/<sha256>.<ext>              storage_original_key()
 *   renditions/ab/cd/<sha256>/<profile>/<files> storage_rendition_key()
 *
 * Local files.  Objects come from local temp files and go to ffmpeg as
 * local paths.  storage_tmpfile() makes a temp file, storage_workdir() a
 * job's scratch directory; the filesystem backend keeps them in tmp/ and
 * work/ under its root, on the same filesystem as the objects, so that
 * storing is a rename.  A crash leaves at most temp files there (dot-names
 * .in-*, .pub-*), which md-janitor removes.
 *
 * Order of calls: storage_open, then any of the others, then
 * storage_close.  md-db init calls storage_init once to create the layout.
 *
 *   put        write a temp file, close it, storage_put(tmp, key): the
 *              object appears whole or not at all (filesystem: fsync the
 *              file, rename it into place, fsync the directory)
 *   publish    make a folder of files (a rendition) in a scratch directory,
 *              storage_publish_dir(dir, prefix): it appears under prefix
 *              as a whole, replacing what was there, or not at all
 *   fetch      storage_fetch(key, workdir): a local path to read (the
 *              filesystem hands back the object's own path, no copy; an
 *              object store downloads into workdir)
 *   read, stat, delete, list   what their names say
 *
 * Functions return 0, or -1 with errno set, and log nothing, unless said.
 * struct storage is opaque: its backend table is in storage_int.h.
 */
#ifndef MD_STORAGE_H
#define MD_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "file.h"       /* the local file primitives, used beside storage */
#include "strbuf.h"

struct storage_ops;

/*
 * The settings of an s3:// storage (the config file's storage section;
 * what it leaves NULL or 0 comes from AWS_ENDPOINT_URL_S3,
 * AWS_ENDPOINT_URL, AWS_REGION or AWS_DEFAULT_REGION, and the pair
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY with AWS_SESSION_TOKEN).
 * A filesystem storage reads none of it.
 */
/* S3's bounds of a multipart upload's part (all but the last). */
#define STORAGE_PART_MIN ((uint64_t)5 << 20)
#define STORAGE_PART_MAX ((uint64_t)5 << 30)

struct storage_conf {
	char *endpoint;         /* "https://s3.REGION.amazonaws.com" */
	char *region;           /* "us-east-1" */
	char *addressing;       /* "path", "virtual", NULL: path unless AWS */
	char *access_key;
	char *secret_key;
	char *session_token;
	char *scratch;          /* local temp files and work directories */
	uint64_t part_size;     /* multipart above this (0: 16 MiB), >= 5 MiB */
	int retries;            /* tries after the first (-1: 5) */
	double timeout;         /* seconds without a byte (0: 30) */
};

struct storage {
	const struct storage_ops *ops;  /* the backend, storage_int.h */
	void *be;                       /* its state */
};

/* Open a storage URL: a directory path or file:// URL (made absolute),
 * or s3://BUCKET[/PREFIX] with the settings c (may be NULL for a
 * directory).  Returns 0, or -1 after logging why: a directory (or an S3
 * storage's scratch directory) this process may not write, or that
 * belongs to another user while it runs as root, is refused here, before
 * anything is written (owner.h).  Creates nothing and makes no request. */
int storage_open(struct storage *st, const char *url, const struct storage_conf *c);
/* Is st an object store (s3://) rather than a directory? */
int storage_is_remote(const struct storage *st);
void storage_close(struct storage *st);
/* Create what the storage needs (the root, originals/, renditions/, tmp/,
 * work/, mode 0777 less the umask: storage.umask). */
int storage_init(const struct storage *st);
/* How messages name key: a path or URL; key NULL names the storage
 * itself.  Caller frees. */
char *storage_name(const struct storage *st, const char *key);
/* The local directory of temp files, for messages. */
const char *storage_tmpdir(const struct storage *st);
/*
 * Why the last call failed with errno e: the object store's own account
 * when it has one ("http://HOST: Connection refused after 6 tries",
 * "PUT bucket/key: 403 SignatureDoesNotMatch ..."), else strerror(e).
 * Never holds a secret.  Valid until the next call.
 *
 * What errno says, on any backend: ENOENT no such object; EACCES the
 * store refused (a configuration error); EAGAIN the store could not be
 * reached or was busy, on every retry (try again later); anything else
 * a local or unexpected failure.
 */
const char *storage_strerror(const struct storage *st, int e);
/* The exit code (exits.h) of a tool that cannot go on after a storage
 * call failed with errno e: 78 for EACCES, 75 for EAGAIN, else 74. */
int storage_exit_code(int e);

/*
 * Keys; caller frees.  A rendition is published under a folder of its own
 * run, renditions/ab/cd/<sha>/<profile>/<job>-<claim>/, so that only the
 * run the database accepted becomes the registered rendition: a stale run
 * (rescued, cancelled, paused past its lease) writes a folder no row
 * names, and can never replace a registered file.  file NULL gives the
 * folder (a prefix).
 */
char *storage_original_key(const char *sha, const char *ext);
char *storage_rendition_key(const char *sha, const char *profile, int64_t job, int64_t claim,
			    const char *file);
/* The folder of every rendition of a media: renditions/ab/cd/<sha>. */
char *storage_media_folder(const char *sha);

/* Create a new local temp file with O_EXCL, named for prefix; returns the
 * fd and sets *path (caller frees), or -1. */
int storage_tmpfile(const struct storage *st, const char *prefix, char **path);
/* Create a fresh local scratch directory; returns its path (caller frees
 * and removes it with remove_tree), or NULL. */
char *storage_workdir(const struct storage *st);

/* Store the written and closed temp file tmp as key, replacing any
 * object there.  On success tmp is gone; on failure it is still there
 * for the caller to unlink, and nothing new is stored under key. */
int storage_put(const struct storage *st, const char *tmp, const char *key);

/* Called for each file storage_publish_dir publishes: its name under the
 * prefix ("a.jpg", "hls/seg0.ts") and its size. */
typedef void storage_each_fn(void *arg, const char *name, int64_t size);
/*
 * Publish every regular file below the local directory dir (dot-names,
 * symlinks and other special files are left out) as the objects
 * prefix/<name>, replacing the folder that was there, in sorted order,
 * each reported to each() (may be NULL).  All or nothing: on failure
 * nothing of dir is left under prefix, the folder that was there is as it
 * was, what each() was told is void, and err says why ("cannot publish
 * 'NAME': reason").  A dir without files publishes nothing.  dir's files
 * are moved, not copied: the caller removes dir afterwards either way.
 */
int storage_publish_dir(const struct storage *st, const char *dir, const char *prefix,
			storage_each_fn *each, void *arg, struct strbuf *err);

/* A local path to read key from, valid until workdir is removed: the
 * object itself on the filesystem, a copy in workdir for an object store.
 * Returns it (caller frees) or NULL (ENOENT: no such object). */
char *storage_fetch(const struct storage *st, const char *key, const char *workdir);
/* Open key for reading; returns an fd (close-on-exec) or -1. */
int storage_open_read(const struct storage *st, const char *key);
/* The size of object key in *size (may be NULL); -1 with ENOENT when
 * there is none. */
int storage_stat(const struct storage *st, const char *key, int64_t *size);
/* Remove object key; 0 when it is gone, also when there was none. */
int storage_delete(const struct storage *st, const char *key);
/* The keys that begin with prefix, sorted; *n counts them.  Free each key
 * and the array.  NULL on error; no match is a non-NULL array, *n = 0. */
char **storage_list(const struct storage *st, const char *prefix, size_t *n);
/* Remove every object below folder/ (and, on a filesystem, the emptied
 * folder); 0 when none is left. */
int storage_delete_folder(const struct storage *st, const char *folder);

/*
 * Housekeeping (md-janitor).  An entry is an object, or a local temp file
 * or scratch directory, with its size and the unix time it was last
 * written (a scratch directory: its newest file, directory or itself).
 */
struct storage_entry {
	char *key;
	int64_t size;
	double mtime;
};
void storage_entries_free(struct storage_entry *v, size_t n);
/* The objects that begin with prefix, sorted by key, as storage_list. */
struct storage_entry *storage_list_entries(const struct storage *st, const char *prefix,
					   size_t *n);
/* The local temp files and scratch directories ("tmp/.in-...",
 * "work/job-..."), sorted; NULL on error. */
struct storage_entry *storage_scratch(const struct storage *st, size_t *n);
/* Remove the scratch entry key (a tree); 0 when it is gone. */
int storage_scratch_remove(const struct storage *st, const char *key);
/*
 * Remove object key only if it was last written before `before`: the one
 * judged is the one removed, so a put that replaces it meanwhile is never
 * lost (the filesystem moves it aside first, judges it, and puts a fresh
 * one back).  *removed says whether it went; a missing key is not an
 * error.
 */
int storage_delete_stale(const struct storage *st, const char *key, double before,
			 int *removed);

/*
 * Multipart uploads an object store holds unfinished (a process killed
 * mid-upload leaves one: no object, but stored parts).  md-janitor aborts
 * those older than orphan_grace.  A directory has none (an empty,
 * non-NULL list).  NULL with errno ENOSYS when the store cannot list them.
 */
struct storage_upload {
	char *key;
	char *id;
	double initiated;
};
struct storage_upload *storage_uploads(const struct storage *st, size_t *n);
void storage_uploads_free(struct storage_upload *v, size_t n);
/* Abort upload id of key; 0 also when it is gone already. */
int storage_upload_abort(const struct storage *st, const char *key, const char *id);

/*
 * A presigned GET URL of object key, valid for expires seconds (at most
 * 7 days), appended to out: anyone holding it can read the object until
 * then, so it is printed, never logged.  -1 with errno ENOTSUP on a
 * directory, EINVAL for an expiry out of range.
 */
int storage_presign(const struct storage *st, const char *key, long expires, struct strbuf *out);

#endif
