/*
 * web.h - the built-in profile "web": a still image re-encoded for the
 * web, turned upright, its long side capped, its metadata gone.
 *
 * The profile's one ffmpeg step (conf.c) leaves the EXIF orientation to
 * ffmpeg, which turns a JPEG by its Orientation tag itself (since 5.1,
 * all eight values, the mirrored ones too), as it turns a video by its
 * display matrix; then one scale caps the long side at web.max_side
 * (default 2048) with square pixels, and the output carries no metadata
 * (-map_metadata -1; the encoders write no EXIF, XMP or text of their own).
 *
 * What it is encoded to depends on the source and on web.format:
 *   jpeg (default)  web.jpg: full range, BT.601, as the thumbnail; a
 *                   source with an alpha channel (or a palette, which may
 *                   hold transparency) gives web.png instead, RGBA
 *   webp            web.webp: BT.601 limited range 4:2:0, with its alpha
 *                   plane when the source has one
 *
 * Call order, in the runner, once the source is probed (source.h):
 *   web_plan(conf, &src, &plan)    the output's name and the step's
 *                                  {max_side} {range} {pix_fmt} {quality}
 *   ...the step runs, verify.h checks the image, then web_verify()...
 */
#ifndef MD_WEB_H
#define MD_WEB_H

#include "conf.h"
#include "source.h"
#include "strbuf.h"

#define WEB_SIDE 2048           /* web.max_side by default */

struct web_plan {
	const char *output;     /* "web.jpg", "web.png" or "web.webp" */
	char side[16];
	const char *vars[9];    /* name, value pairs, then NULL */
};

void web_plan(const struct conf *c, const struct source *src, struct web_plan *wp);

/*
 * The plan of the built-in thumb (conf.c): thumb.jpg, full range BT.601,
 * or with thumb.format webp thumb.webp, limited range 4:2:0 with its alpha
 * plane when the source has one.  Its {range}, {pix_fmt} and {quality}.
 */
void thumb_plan(const struct conf *c, const struct source *src, struct web_plan *wp);

/* Whether frames of this ffmpeg pixel format may hold transparency. */
int web_has_alpha(const char *pix_fmt);

/*
 * The metadata check of verify.h on the image at path: no EXIF, XMP,
 * IPTC or text in it (JPEG APP1 and APP13 segments; PNG eXIf, tEXt,
 * zTXt, iTXt chunks; WebP EXIF and XMP chunks).  Returns 0, or -1 with
 * the reason in why.
 */
int web_verify(const char *path, struct strbuf *why);

#endif
