/*
 * feed_html.c - the static feed's HTML pages (see feed_html.h).
 */
#include "feed_html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "quote.h"
#include "rendition.h"

static const char style[] =
	"body{font:16px/1.4 system-ui,sans-serif;margin:0 auto;max-width:40em;padding:0 1em;"
	"color:#222;background:#fafafa}\n"
	"header,nav{display:flex;gap:1em;align-items:baseline;justify-content:space-between;"
	"padding:1em 0}\n"
	"h1{font-size:1.2em;margin:0}\n"
	"article{background:#fff;border:1px solid #ddd;border-radius:6px;margin:0 0 1.5em;padding:.75em}\n"
	"figure{margin:0}\n"
	"img,video{display:block;max-width:100%;height:auto;border-radius:4px}\n"
	"figcaption{margin:.5em 0;white-space:pre-wrap;overflow-wrap:anywhere}\n"
	".meta{color:#666;font-size:.9em;margin:.25em 0}\n"
	".tags{list-style:none;padding:0;margin:.25em 0;display:flex;flex-wrap:wrap;gap:.5em}\n";

/* ---------- what a post shows ---------- */

static void ref_set(struct media_ref *m, const struct rendition_view *v)
{
	if (m->url)
		return;
	m->url = xstrdup(v->url);
	m->type = xstrdup(rendition_mime(v->url));
	m->bytes = (long long)v->bytes;
	m->width = v->width;
	m->height = v->height;
}

/* The DC component of a BlurHash, its 2nd to 5th digits in base 83, is
 * the picture's mean colour as 0xRRGGBB. */
static void hash_colour(const char *hash, char out[8])
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";
	long v = 0;

	if (strlen(hash) < 6)
		return;
	for (int i = 2; i < 6; i++) {
		const char *d = strchr(digits, hash[i]);
		if (!d || !hash[i])
			return;
		v = v * 83 + (d - digits);
	}
	if (v <= 0xffffff)
		(void)snprintf(out, 8, "#%06lx", v);
}

static int pick(void *arg, const struct rendition_view *v)
{
	struct post_media *m = arg;
	const char *type = rendition_mime(v->url);

	if (!strcmp(v->profile, "thumb"))
		ref_set(&m->thumb, v);
	else if (!strcmp(v->profile, "web"))
		ref_set(&m->web, v);
	else if (!strcmp(type, "video/mp4"))
		ref_set(&m->video, v);
	else if (!strcmp(type, "application/vnd.apple.mpegurl"))
		ref_set(&m->hls, v);
	if (v->placeholder && (!m->colour[0] || !strcmp(v->profile, "thumb")))
		hash_colour(v->placeholder, m->colour);
	return 0;
}

void post_media_pick(const struct feed_row *r, struct post_media *m)
{
	memset(m, 0, sizeof(*m));
	(void)rendition_each(r->rendition_list_json, pick, m);
}

static void ref_release(struct media_ref *m)
{
	free(m->url);
	free(m->type);
}

void post_media_release(struct post_media *m)
{
	ref_release(&m->thumb);
	ref_release(&m->web);
	ref_release(&m->video);
	ref_release(&m->hls);
}

void feed_add_href(struct strbuf *sb, const char *root, const char *url)
{
	if (!strstr(url, "://") && *url != '/')
		sb_adds(sb, root);
	xml_add_text(sb, url);
}

void feed_tag_name(struct strbuf *sb, const char *tag, int url)
{
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			sb_addch(sb, *p);
		else
			sb_addf(sb, url ? "%%25%02X" : "%%%02X", *p);
	}
}

/* ---------- the page ---------- */

static void add_size(struct strbuf *sb, const struct media_ref *m)
{
	if (m->width > 0 && m->height > 0)
		sb_addf(sb, " width=\"%ld\" height=\"%ld\"", m->width, m->height);
}

static void add_figure(struct strbuf *sb, const struct feed_page *p, const struct feed_row *r,
		       const struct post_media *m)
{
	const struct media_ref *img = m->thumb.url ? &m->thumb : &m->web;

	sb_adds(sb, "<figure>");
	if (m->video.url) {
		sb_adds(sb, "<video controls muted loop playsinline preload=\"none\"");
		if (m->thumb.url) {
			sb_adds(sb, " poster=\"");
			feed_add_href(sb, p->root, m->thumb.url);
			sb_addch(sb, '"');
		}
		add_size(sb, m->thumb.url ? &m->thumb : &m->video);
		if (m->colour[0])
			sb_addf(sb, " style=\"background:%s\"", m->colour);
		sb_adds(sb, "><source src=\"");
		feed_add_href(sb, p->root, m->video.url);
		sb_adds(sb, "\" type=\"video/mp4\"></video>");
	} else if (img->url) {
		if (m->web.url && img != &m->web) {
			sb_adds(sb, "<a href=\"");
			feed_add_href(sb, p->root, m->web.url);
			sb_adds(sb, "\">");
		}
		sb_adds(sb, "<img loading=\"lazy\" decoding=\"async\" alt=\"");
		xml_add_text(sb, r->caption ? r->caption : "");
		sb_adds(sb, "\" src=\"");
		feed_add_href(sb, p->root, img->url);
		sb_addch(sb, '"');
		add_size(sb, img);
		if (m->colour[0])
			sb_addf(sb, " style=\"background:%s\"", m->colour);
		sb_adds(sb, m->web.url && img != &m->web ? "></a>" : ">");
	}
	if (m->hls.url) {
		sb_adds(sb, "<p class=\"meta\"><a href=\"");
		feed_add_href(sb, p->root, m->hls.url);
		sb_adds(sb, "\">HLS stream</a></p>");
	}
	sb_adds(sb, "</figure>\n");
}

static int add_tag(void *arg, const char *tag)
{
	const void **a = arg;
	struct strbuf *sb = (struct strbuf *)a[0];
	const struct feed_page *p = a[1];

	sb_adds(sb, "<li><a href=\"");
	sb_adds(sb, p->root);
	sb_adds(sb, "tags/");
	feed_tag_name(sb, tag, 1);
	sb_adds(sb, ".html\">#");
	xml_add_text(sb, tag);
	sb_adds(sb, "</a></li>");
	return 0;
}

static void add_post(struct strbuf *sb, const struct feed_page *p, const struct feed_row *r)
{
	struct post_media m;
	const void *arg[2] = { sb, p };

	post_media_pick(r, &m);
	sb_addf(sb, "<article id=\"post-%lld\">\n", (long long)r->post_id);
	add_figure(sb, p, r, &m);
	if (r->caption && *r->caption) {
		sb_adds(sb, "<p class=\"caption\">");
		xml_add_text(sb, r->caption);
		sb_adds(sb, "</p>\n");
	}
	sb_adds(sb, "<p class=\"meta\">by ");
	xml_add_text(sb, r->user ? r->user : "");
	sb_adds(sb, ", <time datetime=\"");
	xml_add_text(sb, r->created_at ? r->created_at : "");
	sb_adds(sb, "\">");
	if (r->created_at)
		sb_add(sb, r->created_at, strnlen(r->created_at, 10));
	sb_adds(sb, "</time></p>\n<ul class=\"tags\">");
	(void)json_array_each(r->tags_json, add_tag, arg);
	sb_adds(sb, "</ul>\n</article>\n");
	post_media_release(&m);
}

static void add_nav(struct strbuf *sb, const struct feed_page *p)
{
	sb_adds(sb, "<nav>");
	if (p->prev) {
		sb_adds(sb, "<a rel=\"prev\" href=\"");
		xml_add_text(sb, p->prev);
		sb_adds(sb, "\">&larr; newer</a>");
	} else {
		sb_adds(sb, "<span></span>");
	}
	if (p->next) {
		sb_adds(sb, "<a rel=\"next\" href=\"");
		xml_add_text(sb, p->next);
		sb_adds(sb, "\">older &rarr;</a>");
	}
	sb_adds(sb, "</nav>\n");
}

void feed_html_page(struct strbuf *sb, const struct feed_page *p, const struct feed_row *const *rows,
		    int n)
{
	sb_adds(sb, "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	xml_add_text(sb, p->title);
	if (p->page > 0)
		sb_addf(sb, ", page %d", p->page);
	sb_adds(sb, "</title>\n<link rel=\"icon\" href=\"data:,\">\n"
		"<link rel=\"alternate\" type=\"application/atom+xml\" href=\"");
	xml_add_text(sb, p->atom);
	sb_adds(sb, "\">\n<style>\n");
	sb_adds(sb, style);
	sb_adds(sb, "</style>\n</head>\n<body>\n<header><h1><a href=\"");
	sb_adds(sb, p->root);
	sb_adds(sb, "index.html\">memedroid</a> ");
	xml_add_text(sb, p->title);
	sb_adds(sb, "</h1><a href=\"");
	xml_add_text(sb, p->atom);
	sb_adds(sb, "\">Atom</a></header>\n");
	add_nav(sb, p);
	sb_adds(sb, "<main>\n");
	for (int i = 0; i < n; i++)
		add_post(sb, p, rows[i]);
	if (!n)
		sb_adds(sb, "<p>No posts yet.</p>\n");
	sb_adds(sb, "</main>\n");
	add_nav(sb, p);
	sb_adds(sb, "</body>\n</html>\n");
}
