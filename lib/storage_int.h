/*
 * storage_int.h - the backend table behind storage.h; only storage.c and
 * the backends include it.
 *
 * A backend is one struct storage_ops.  storage.c picks it by the URL's
 * scheme, calls open, then forwards each storage_*() call to it; keys are
 * built in storage.c and reach the backend already made.  Each operation
 * has the contract of its storage.h function.  The filesystem backend
 * (storage_fs.c) is the first; an S3 backend adds a table here and an
 * entry in storage.c's list, and no tool changes.
 */
#ifndef MD_STORAGE_INT_H
#define MD_STORAGE_INT_H

#include "storage.h"

struct storage_ops {
	const char *scheme;     /* "file", "s3" */
	/* url without "scheme://"; sets st->be, or logs why and fails */
	int (*open)(struct storage *st, const char *url, const struct storage_conf *c);
	void (*close)(struct storage *st);
	int (*init)(const struct storage *st);
	char *(*name)(const struct storage *st, const char *key);
	const char *(*tmpdir)(const struct storage *st);
	int (*tmpfile)(const struct storage *st, const char *prefix, char **path);
	char *(*workdir)(const struct storage *st);
	int (*put)(const struct storage *st, const char *tmp, const char *key);
	int (*publish_dir)(const struct storage *st, const char *dir, const char *prefix,
			   storage_each_fn *each, void *arg, struct strbuf *err);
	char *(*fetch)(const struct storage *st, const char *key, const char *workdir);
	int (*open_read)(const struct storage *st, const char *key);
	int (*stat)(const struct storage *st, const char *key, int64_t *size);
	int (*remove)(const struct storage *st, const char *key);
	struct storage_entry *(*list)(const struct storage *st, const char *prefix, size_t *n);
	struct storage_entry *(*scratch)(const struct storage *st, size_t *n);
	int (*scratch_remove)(const struct storage *st, const char *key);
	int (*delete_stale)(const struct storage *st, const char *key, double before,
			    int *removed);
	/* optional: remove the empty directories at and below folder */
	void (*prune)(const struct storage *st, const char *folder);
	/* optional: the last failure's account, if it failed with errno e */
	const char *(*why)(const struct storage *st, int e);
	/* optional: multipart uploads, presigned URLs (an object store) */
	struct storage_upload *(*uploads)(const struct storage *st, size_t *n);
	int (*upload_abort)(const struct storage *st, const char *key, const char *id);
	int (*presign)(const struct storage *st, const char *key, long expires, struct strbuf *out);
};

extern const struct storage_ops storage_fs_ops;
extern const struct storage_ops storage_s3_ops;

#endif
