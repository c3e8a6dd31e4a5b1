#include "storage_int.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int storage_open(struct storage *st, const char *url, const struct storage_conf *c)
{
	const struct storage_ops *ops = &storage_fs_ops;

	st->ops = NULL;
	st->be = NULL;
	if (!strncmp(url, "s3://", 5)) {
		ops = &storage_s3_ops;
		url += 5;
	} else if (!strncmp(url, "file://", 7)) {
		url += 7;
	} else if (strstr(url, "://")) {
		error("storage '%s': not a directory, file:// or s3:// URL", url);
		return -1;
	}
	if (ops->open(st, url, c))
		return -1;
	st->ops = ops;
	return 0;
}

int storage_is_remote(const struct storage *st)
{
	return st->ops == &storage_s3_ops;
}

const char *storage_strerror(const struct storage *st, int e)
{
	const char *why = st->ops && st->ops->why ? st->ops->why(st, e) : NULL;

	return why ? why : strerror(e);
}

int storage_exit_code(int e)
{
	if (e == EACCES || e == EPERM)
		return MD_EXIT_CONFIG;
	if (e == EAGAIN)
		return MD_EXIT_TEMPFAIL;
	return MD_EXIT_IOERR;
}

struct storage_upload *storage_uploads(const struct storage *st, size_t *n)
{
	*n = 0;
	if (!st->ops->uploads)
		return xmalloc(sizeof(struct storage_upload));
	return st->ops->uploads(st, n);
}

void storage_uploads_free(struct storage_upload *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].key);
		free(v[i].id);
	}
	free(v);
}

int storage_upload_abort(const struct storage *st, const char *key, const char *id)
{
	if (!st->ops->upload_abort)
		return 0;
	return st->ops->upload_abort(st, key, id);
}

int storage_presign(const struct storage *st, const char *key, long expires, struct strbuf *out)
{
	if (!st->ops->presign) {
		errno = ENOTSUP;
		return -1;
	}
	return st->ops->presign(st, key, expires, out);
}

void storage_close(struct storage *st)
{
	if (st->ops)
		st->ops->close(st);
	st->ops = NULL;
	st->be = NULL;
}

int storage_init(const struct storage *st)
{
	return st->ops->init(st);
}

char *storage_name(const struct storage *st, const char *key)
{
	return st->ops->name(st, key);
}

const char *storage_tmpdir(const struct storage *st)
{
	return st->ops->tmpdir(st);
}

char *storage_original_key(const char *sha, const char *ext)
{
	return xstrfmt("originals/%.2s/%.2s/%s.%s", sha, sha + 2, sha, ext);
}

char *storage_rendition_key(const char *sha, const char *profile, int64_t job, int64_t claim,
			    const char *file)
{
	return xstrfmt("renditions/%.2s/%.2s/%s/%s/%lld-%lld%s%s", sha, sha + 2, sha, profile,
		       (long long)job, (long long)claim, file ? "/" : "", file ? file : "");
}

char *storage_media_folder(const char *sha)
{
	return xstrfmt("renditions/%.2s/%.2s/%s", sha, sha + 2, sha);
}

int storage_tmpfile(const struct storage *st, const char *prefix, char **path)
{
	return st->ops->tmpfile(st, prefix, path);
}

char *storage_workdir(const struct storage *st)
{
	return st->ops->workdir(st);
}

int storage_put(const struct storage *st, const char *tmp, const char *key)
{
	return st->ops->put(st, tmp, key);
}

int storage_publish_dir(const struct storage *st, const char *dir, const char *prefix,
			storage_each_fn *each, void *arg, struct strbuf *err)
{
	return st->ops->publish_dir(st, dir, prefix, each, arg, err);
}

char *storage_fetch(const struct storage *st, const char *key, const char *workdir)
{
	return st->ops->fetch(st, key, workdir);
}

int storage_open_read(const struct storage *st, const char *key)
{
	return st->ops->open_read(st, key);
}

int storage_stat(const struct storage *st, const char *key, int64_t *size)
{
	return st->ops->stat(st, key, size);
}

int storage_delete(const struct storage *st, const char *key)
{
	return st->ops->remove(st, key);
}

char **storage_list(const struct storage *st, const char *prefix, size_t *n)
{
	struct storage_entry *v = st->ops->list(st, prefix, n);
	char **keys;

	if (!v)
		return NULL;
	keys = xmalloc((*n + 1) * sizeof(*keys));
	for (size_t i = 0; i < *n; i++)
		keys[i] = v[i].key;
	free(v);
	return keys;
}

struct storage_entry *storage_list_entries(const struct storage *st, const char *prefix,
					   size_t *n)
{
	return st->ops->list(st, prefix, n);
}

void storage_entries_free(struct storage_entry *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free(v[i].key);
	free(v);
}

struct storage_entry *storage_scratch(const struct storage *st, size_t *n)
{
	return st->ops->scratch(st, n);
}

int storage_scratch_remove(const struct storage *st, const char *key)
{
	return st->ops->scratch_remove(st, key);
}

int storage_delete_stale(const struct storage *st, const char *key, double before,
			 int *removed)
{
	*removed = 0;
	return st->ops->delete_stale(st, key, before, removed);
}

int storage_delete_folder(const struct storage *st, const char *folder)
{
	char *prefix = xstrfmt("%s/", folder);
	size_t n = 0;
	char **keys = storage_list(st, prefix, &n);
	int rc = keys ? 0 : -1;

	for (size_t i = 0; i < n; i++) {
		if (storage_delete(st, keys[i]))
			rc = -1;
		free(keys[i]);
	}
	free(keys);
	free(prefix);
	if (!rc && st->ops->prune)
		st->ops->prune(st, folder);
	return rc;
}
