/*
 * content.c - the records of a removal and the files it leaves to remove
 * (content.h).
 */
#include "content.h"
#include "emit.h"
#include "exits.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>

static void what(struct emit *e, int json, const char *key, const char *kind)
{
	emit_begin(e, json);
	if (json)
		emit_str(e, key, kind);
	else
		emit_str(e, "what", kind);
}

int content_emit(const struct removal *r, int json)
{
	struct emit e;
	int err = 0;

	for (int i = 0; i < r->nposts; i++) {
		what(&e, json, "removed", "post");
		emit_int(&e, "post_id", r->posts[i].id);
		emit_str(&e, "media", r->posts[i].media);
		emit_str(&e, "user", r->posts[i].user);
		err |= emit_end(&e, stdout);
	}
	for (int i = 0; i < r->nreassigned; i++) {
		what(&e, json, "reassigned", json ? "post" : "reassigned");
		emit_int(&e, "post_id", r->reassigned[i]);
		err |= emit_end(&e, stdout);
	}
	for (int i = 0; i < r->njobs; i++) {
		what(&e, json, "removed", "job");
		emit_int(&e, "job_id", r->jobs[i].id);
		emit_str(&e, "media", r->jobs[i].media);
		emit_str(&e, "profile", r->jobs[i].profile);
		emit_str(&e, "state", r->jobs[i].state);
		err |= emit_end(&e, stdout);
	}
	for (int i = 0; i < r->nmedia; i++) {
		what(&e, json, "removed", "media");
		emit_str(&e, "media", r->media[i].sha);
		emit_str(&e, "ext", r->media[i].ext);
		err |= emit_end(&e, stdout);
	}
	return err ? -1 : 0;
}

int content_emit_user(const char *name, int json)
{
	struct emit e;

	what(&e, json, "removed", "user");
	emit_str(&e, "user", name);
	return emit_end(&e, stdout);
}

static int emit_file(const char *key, int json)
{
	struct emit e;

	what(&e, json, "removed", "file");
	emit_str(&e, "key", key);
	return emit_end(&e, stdout);
}

/* Remove (or, dry, list) the stored object key, if there is one;
 * *werr when stdout failed.  0, or -1 after saying why. */
static int file_remove(const struct storage *st, const char *key, int dry_run, int json,
		       int *werr)
{
	if (storage_stat(st, key, NULL)) {
		if (errno == ENOENT)
			return 0;
	} else if (dry_run || !storage_delete(st, key)) {
		*werr |= emit_file(key, json) != 0;
		return 0;
	}
	int e = errno;
	char *name = storage_name(st, key);
	error("cannot remove '%s': %s", name, storage_strerror(st, e));
	free(name);
	errno = e;
	return -1;
}

/* The original and the rendition folder of media m. */
static int media_files_remove(const struct storage *st, const struct removed_media *m,
			      int dry_run, int json, int *werr)
{
	char *key = storage_original_key(m->sha, m->ext), *folder = storage_media_folder(m->sha);
	char *prefix = xstrfmt("%s/", folder);
	size_t n = 0;
	char **keys = storage_list(st, prefix, &n);
	int e = 0, rc = file_remove(st, key, dry_run, json, werr);

	if (rc)
		e = errno;
	if (!keys) {
		char *name = storage_name(st, folder);
		e = errno;
		error("cannot list '%s': %s", name, storage_strerror(st, e));
		free(name);
		rc = -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (file_remove(st, keys[i], dry_run, json, werr)) {
			e = errno;
			rc = -1;
		}
		free(keys[i]);
	}
	free(keys);
	/* the emptied folders, and anything that came meanwhile */
	if (!dry_run && !rc && storage_delete_folder(st, folder)) {
		e = errno;
		rc = -1;
	}
	free(prefix);
	free(folder);
	free(key);
	errno = e;
	return rc;
}

int content_files_remove(const struct storage *st, struct store *db, const struct removal *r,
			 int dry_run, int json, int *werr)
{
	int rc = 0;

	for (int i = 0; i < r->nmedia; i++) {
		const struct removed_media *m = &r->media[i];
		int back = dry_run ? 0 : store_media_exists(db, m->sha);

		if (back < 0)
			return -back;
		if (back) {
			logkv(LOG_WARN, "posted again meanwhile: its files stay", "media", m->sha,
			      (char *)NULL);
			continue;
		}
		if (media_files_remove(st, m, dry_run, json, werr))
			rc = storage_exit_code(errno);
	}
	return rc;
}
