/*
 * atom.h - an Atom feed (RFC 4287) of posts, as md-feed --out writes it.
 *
 * The document is valid against the RFC's RELAX NG schema (its Appendix
 * B): the feed has its id, title, updated (the newest entry's, so the same
 * posts make the same bytes; the time of the render when there is none),
 * author and links rel="self" and rel="alternate"; each entry has
 *
 *   id         urn:uuid: of a name-based UUID (RFC 9562 version 8, the
 *              first 128 bits of SHA-256 over the post id, its media and
 *              its time): the same post keeps its id whatever the feed's
 *              URL, options or page, and no two posts share one;
 *   title      the caption's first line, at most 80 characters (cut with
 *              an ellipsis), else "Video by alice, 2026-11-30" (Image,
 *              Animation);
 *   updated, published   the post's time; author its user;
 *   link rel="alternate" its video, else its web image, else its
 *              thumbnail, else the HTML page that shows it;
 *   link rel="enclosure" one per rendition, with its media type, title
 *              the profile, and its length in bytes for a single file;
 *   category   one per tag;
 *   content    type="html": the caption and the thumbnail or video.
 *
 * Relative locations (a storage key, the HTML page) are relative to the
 * Atom document itself: root is the way from it to the top of the output
 * directory, as for the HTML pages (feed_html.h).
 */
#ifndef MD_ATOM_H
#define MD_ATOM_H

#include "store.h"
#include "strbuf.h"

struct atom_feed {
	const char *id;         /* an IRI: the document's absolute URL, or a urn: */
	const char *title;
	const char *author;     /* the feed's author name */
	const char *self;       /* href of this document */
	const char *alternate;  /* href of the HTML page of the same posts */
	const char *root;       /* from the document to the top: "" or "../" */
};

/* Append the whole document with an entry for each of rows[0..n). */
void atom_write(struct strbuf *sb, const struct atom_feed *f, const struct feed_row *const *rows, int n);

/* Append "urn:uuid:" and the UUID that name (len bytes) hashes to. */
void atom_uuid(struct strbuf *sb, const void *name, size_t len);

/* Append the title of r (see above), not escaped. */
void atom_title(struct strbuf *sb, const struct feed_row *r);

#endif
