/*
 * placeholder.h - the BlurHash of a job's image output, for its
 * rendition's metadata: what md-feed prints as a post's "placeholder", so
 * a client paints the post before its image has loaded.
 *
 * The runner calls placeholder_add() for a profile that asks for it (the
 * built-in thumb; a profile of the configuration with "placeholder:
 * true") after its output was made and verified, before it is published.
 * The picture is decoded and scaled down to 32 pixels across by ffmpeg,
 * run like any job command (spawn.h: minimal environment, the memory limit
 * of the configuration, and with worker.sandbox Landlock letting it read
 * the picture and its work directory, nothing else), as raw RGB on its
 * standard output; blurhash.h encodes BLURHASH_NX x BLURHASH_NY
 * components of that.
 *
 * A placeholder is a nicety: when it cannot be made (ffmpeg missing or
 * failing, a picture that does not decode to one frame), a warning is
 * logged and the job goes on without one; it never fails a job.
 */
#ifndef MD_PLACEHOLDER_H
#define MD_PLACEHOLDER_H

#include <signal.h>

#include "conf.h"
#include "strbuf.h"

#define PLACEHOLDER_WIDTH 32    /* the picture is scaled to this many pixels across */

struct placeholder_ctx {
	const struct conf *conf;
	const char *workdir;            /* ffmpeg's working directory, HOME, TMPDIR */
	double timeout;                 /* seconds for ffmpeg */
	volatile sig_atomic_t *cancel;  /* stop ffmpeg when set */
};

/*
 * Make the BlurHash of the picture at path and append to facts, the
 * members of a JSON object being written (each after a comma):
 *   ,"blurhash":"<hash>","blurhash_components":[NX,NY]
 * Returns 0, or -1 with nothing appended and why saying what failed (the
 * caller logs it and goes on).
 */
int placeholder_make(const struct placeholder_ctx *pc, const char *path, struct strbuf *facts,
		     struct strbuf *why);

/* placeholder_make(), a failure logged as a warning naming the file. */
void placeholder_add(const struct placeholder_ctx *pc, const char *path, struct strbuf *facts);

#endif
