/*
 * feed_html.h - the static feed's pages for people: one HTML page per page
 * of a feed (md-feed --out), and what it and the Atom feed (atom.h) pick
 * out of a post's renditions.
 *
 * A page is self-contained: a small inline stylesheet, no script, nothing
 * fetched from elsewhere but the post's media.  Every link is relative, so
 * the pages work under any base path: root is the way from the page to the
 * top of the output directory ("" or "../"), and a rendition location that
 * is a storage key (md-feed without --base-url) is joined to root, that is
 * read from DIR/renditions/... beside the pages; an absolute URL is kept.
 * Everything a user wrote (captions, tags, user names) and every URL is
 * escaped for HTML, so a caption holding markup shows as text.  The same
 * posts make the same bytes: nothing depends on the time of the render.
 *
 * Call order: post_media_pick() then post_media_release(); feed_html_page()
 * on its own.  Nothing here fails (strbuf aborts on out of memory).
 */
#ifndef MD_FEED_HTML_H
#define MD_FEED_HTML_H

#include "store.h"
#include "strbuf.h"

/* One rendition picked out for a page: NULL url when there is none. */
struct media_ref {
	char *url, *type;
	long long bytes;
	long width, height;
};

/*
 * What a post shows: its thumbnail (profile thumb), its web image (profile
 * web), its playable video (the first video/mp4 rendition), its HLS master
 * (the first .m3u8), and its placeholder colour as "#rrggbb" from the
 * BlurHash of the thumb (else of the first rendition with one), "" when it
 * has none.  Strings are copies: post_media_release() frees them.
 */
struct post_media {
	struct media_ref thumb, web, video, hls;
	char colour[8];
};

void post_media_pick(const struct feed_row *r, struct post_media *m);
void post_media_release(struct post_media *m);

/* Append to sb the location of url as seen from a page root away from the
 * top (a storage key joined to root; an absolute URL as it is), escaped for
 * an HTML or XML attribute. */
void feed_add_href(struct strbuf *sb, const char *root, const char *url);

/* Append the file name (no suffix) of tag's pages: [a-z0-9_-] as they are,
 * every other byte %XX, so no tag names a path; url: as a URL path segment
 * (each '%' written %25). */
void feed_tag_name(struct strbuf *sb, const char *tag, int url);

/* One HTML page of a feed. */
struct feed_page {
	const char *title;      /* "all posts", "#cats" */
	const char *root;       /* from the page to the top: "" or "../" */
	const char *atom;       /* href of the feed's Atom document */
	const char *prev, *next;  /* hrefs of the pages around, NULL: none */
	int page;               /* its number, from 1 (the oldest posts); 0: the
	                         * feed's front page, its newest, NAME.html */
};

void feed_html_page(struct strbuf *sb, const struct feed_page *p, const struct feed_row *const *rows,
		    int n);

#endif
