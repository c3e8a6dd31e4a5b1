/*
 * rendition.h - a post's renditions as the read side shows them: md-feed,
 * the static feed (md-feed --out), md-status and md-finalize's records
 * carry "rendition_list", one object per rendition, and "placeholder".
 *
 * The store hands over every rendition of the post in the feed's one
 * query, as it registered them (feed_row.rendition_list_json): the
 * profile, the URL (--base-url and the storage key, which names the
 * profile's main output: a file, or for a profile that makes a folder,
 * the file its output names in it, such as hls/.../master.m3u8), the
 * bytes of all its files, and the metadata (the job's result).  What is
 * shown of each, by profile name, keys in this order, each only when
 * known:
 *
 *   profile, url, bytes   always
 *   width, height         the metadata's own, else the output's first
 *                         video stream as probed when it was checked
 *                         (both, or neither: below 10^9 each)
 *   duration              seconds: the metadata's own, else the probed
 *                         duration of an output of more than one frame
 *   frames                the metadata's "frames" (a count, or a list
 *                         whose length is the count) or "frame_times"
 *                         (a list), else the probed frame count when
 *                         more than one
 *   placeholder           the BlurHash the metadata holds (placeholder.h),
 *                         only when it has the shape of one
 *
 * The post's "placeholder" is the thumb's, else the first rendition's
 * that has one, else null.  Metadata that is missing or not JSON shows
 * only profile, url and bytes; a list that is not JSON shows as [].
 */
#ifndef MD_RENDITION_H
#define MD_RENDITION_H

#include <stdint.h>

#include "strbuf.h"

/* One rendition as shown; the strings live until the callback returns. */
struct rendition_view {
	const char *profile, *url;
	int64_t bytes;
	long width, height;             /* 0: not known */
	double duration;                /* seconds, -1: not known */
	double frames;                  /* -1: not known */
	const char *placeholder;        /* NULL: none */
};

/*
 * Call cb for each rendition in agg (the store's list; NULL or not JSON:
 * none), in its order (by profile).  Stops at the first non-zero return
 * of cb and returns it; 0 otherwise.
 */
int rendition_each(const char *agg, int (*cb)(void *arg, const struct rendition_view *v),
		   void *arg);

/*
 * Append to out the JSON array of the renditions in agg (the store's
 * list; NULL: none), and set *placeholder to the post's placeholder
 * (malloc'd; NULL when there is none).
 */
void rendition_list(const char *agg, struct strbuf *out, char **placeholder);

/*
 * The media type of a rendition by its URL's file name: video/mp4,
 * application/vnd.apple.mpegurl (.m3u8), image/jpeg, image/png,
 * image/webp, application/zip, application/json; anything else
 * application/octet-stream.  A query string or fragment is not part of
 * the name.
 */
const char *rendition_mime(const char *url);

#endif
