/*
 * content.h - what md-post del, md-user del and md-job drop share once
 * the store has removed rows (store.h, "removing content"): the records
 * that say what went, and the removal of the stored files of the media
 * that went.
 *
 * Order: the rows go in one transaction (store_posts_remove and its
 * kin), then, after the commit, content_files_remove() removes each
 * removed media's original and every object under its rendition folder.
 * A crash in between leaves only files that no row names: md-janitor
 * removes them, and a rerun finds nothing more to remove.  A media that
 * was posted again since the commit (an md-ingest of the same file) keeps
 * its files.
 *
 * Records on stdout, one per line (emit.h), the first field saying what:
 *
 *   post     post_id  media  user      a post removed
 *   reassigned post_id media user      a post given to user
 *   job      job_id   media  profile  state
 *   media    media    ext
 *   file     key                        a stored object removed
 *   user     user
 *
 * With --json: {"removed": "post", "post_id", "media", "user"} and so on,
 * the key of each column as named above ("reassigned": "post" for a post
 * given away).  A dry run prints the same records for what would go.
 */
#ifndef MD_CONTENT_H
#define MD_CONTENT_H

#include "storage.h"
#include "store.h"

/* Print r's records: posts, reassigned posts, jobs, media.  0, or -1 when
 * stdout failed. */
int content_emit(const struct removal *r, int json);
/* Print the record of a removed user.  0, or -1 when stdout failed. */
int content_emit_user(const char *name, int json);

/*
 * Remove the stored files of r's media (dry_run: list them only), a file
 * record for each.  Returns 0; MD_EXIT_IOERR when some could not be
 * removed (each said on stderr: md-janitor removes them later); an exit
 * code from the store when it could not say whether a media is back.
 * *werr is set when stdout failed.
 */
int content_files_remove(const struct storage *st, struct store *db, const struct removal *r,
			 int dry_run, int json, int *werr);

#endif
