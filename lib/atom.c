/*
 * atom.c - the static feed's Atom documents (see atom.h).
 */
#include "atom.h"

#include <string.h>
#include <time.h>

#include "emit.h"
#include "feed_html.h"
#include "hash.h"
#include "quote.h"
#include "rendition.h"

#define TITLE_CHARS 80

void atom_uuid(struct strbuf *sb, const void *name, size_t len)
{
	static const char hexd[] = "0123456789abcdef";
	char hex[HASH_HEX_LEN + 1];
	struct hash h;

	hash_init(&h);
	hash_update(&h, name, len);
	hash_final(&h, hex);
	hex[12] = '8';                                          /* version 8 */
	hex[16] = hexd[8 | ((strchr(hexd, hex[16]) - hexd) & 3)];  /* variant 10 */
	sb_adds(sb, "urn:uuid:");
	for (int i = 0; i < 32; i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			sb_addch(sb, '-');
		sb_addch(sb, hex[i]);
	}
}

static const char *kind_word(const char *kind)
{
	if (kind && !strcmp(kind, "video"))
		return "Video";
	if (kind && !strcmp(kind, "animated"))
		return "Animation";
	return "Image";
}

void atom_title(struct strbuf *sb, const struct feed_row *r)
{
	const char *s = r->caption ? r->caption : "", *e;
	int chars = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (!*s) {
		sb_addf(sb, "%s by %s, ", kind_word(r->kind), r->user ? r->user : "someone");
		if (r->created_at)
			sb_add(sb, r->created_at, strnlen(r->created_at, 10));
		return;
	}
	/* the first line, at most TITLE_CHARS characters (bytes that are
	 * not UTF-8 count one each; xml_add_text replaces them later) */
	for (e = s; *e && *e != '\n' && *e != '\r' && chars < TITLE_CHARS; chars++) {
		unsigned cp;
		size_t n = utf8_decode(e, &cp);
		e += n ? n : 1;
	}
	size_t start = sb->len;
	sb_add(sb, s, (size_t)(e - s));
	while (sb->len > start && (sb->buf[sb->len - 1] == ' ' || sb->buf[sb->len - 1] == '\t'))
		sb_setlen(sb, sb->len - 1);
	if (*e && *e != '\n' && *e != '\r')
		sb_adds(sb, "\xe2\x80\xa6");    /* U+2026 */
}

static void add_text_el(struct strbuf *sb, const char *el, const char *text)
{
	sb_addf(sb, "    <%s>", el);
	xml_add_text(sb, text);
	sb_addf(sb, "</%s>\n", el);
}

static int add_enclosure(void *arg, const struct rendition_view *v)
{
	const void **a = arg;
	struct strbuf *sb = (struct strbuf *)a[0];
	const struct atom_feed *f = a[1];
	const char *type = rendition_mime(v->url);

	sb_adds(sb, "    <link rel=\"enclosure\" href=\"");
	feed_add_href(sb, f->root, v->url);
	sb_addf(sb, "\" type=\"%s\" title=\"", type);
	xml_add_text(sb, v->profile);
	sb_adds(sb, "\"");
	/* an HLS master's bytes are the whole ladder's, not the file's */
	if (v->bytes > 0 && strcmp(type, "application/vnd.apple.mpegurl"))
		sb_addf(sb, " length=\"%lld\"", (long long)v->bytes);
	sb_adds(sb, "/>\n");
	return 0;
}

static int add_category(void *arg, const char *tag)
{
	struct strbuf *sb = arg;

	sb_adds(sb, "    <category term=\"");
	xml_add_text(sb, tag);
	sb_adds(sb, "\"/>\n");
	return 0;
}

/* The entry's content: the caption and the picture or the video, as HTML
 * (then escaped once more as the element's text). */
static void add_content(struct strbuf *sb, const struct atom_feed *f, const struct feed_row *r,
			const struct post_media *m)
{
	struct strbuf html = STRBUF_INIT;

	if (r->caption && *r->caption) {
		sb_adds(&html, "<p>");
		xml_add_text(&html, r->caption);
		sb_adds(&html, "</p>");
	}
	if (m->video.url) {
		sb_adds(&html, "<video controls src=\"");
		feed_add_href(&html, f->root, m->video.url);
		if (m->thumb.url) {
			sb_adds(&html, "\" poster=\"");
			feed_add_href(&html, f->root, m->thumb.url);
		}
		sb_adds(&html, "\"></video>");
	} else if (m->web.url || m->thumb.url) {
		sb_adds(&html, "<img alt=\"\" src=\"");
		feed_add_href(&html, f->root, m->web.url ? m->web.url : m->thumb.url);
		sb_adds(&html, "\">");
	}
	sb_adds(sb, "    <content type=\"html\">");
	xml_add_text(sb, html.buf ? html.buf : "");
	sb_adds(sb, "</content>\n");
	sb_release(&html);
}

static void add_entry(struct strbuf *sb, const struct atom_feed *f, const struct feed_row *r)
{
	struct strbuf t = STRBUF_INIT;
	struct post_media m;
	const struct media_ref *alt;
	const void *arg[2] = { sb, f };
	const char *when = r->created_at ? r->created_at : "1970-01-01T00:00:00Z";

	post_media_pick(r, &m);
	alt = m.video.url ? &m.video : m.web.url ? &m.web : m.thumb.url ? &m.thumb : NULL;
	sb_addf(&t, "memedroid post\n%lld\n%s\n%s", (long long)r->post_id, r->media ? r->media : "", when);
	sb_adds(sb, "  <entry>\n    <id>");
	atom_uuid(sb, t.buf, t.len);
	sb_reset(&t);
	atom_title(&t, r);
	sb_adds(sb, "</id>\n");
	add_text_el(sb, "title", t.buf);
	add_text_el(sb, "updated", when);
	add_text_el(sb, "published", when);
	sb_adds(sb, "    <author><name>");
	xml_add_text(sb, r->user && *r->user ? r->user : "unknown");
	sb_adds(sb, "</name></author>\n    <link rel=\"alternate\" href=\"");
	if (alt) {
		feed_add_href(sb, f->root, alt->url);
		sb_adds(sb, "\" type=\"");
		xml_add_text(sb, alt->type);
	} else {
		xml_add_text(sb, f->alternate);
		sb_addf(sb, "#post-%lld\" type=\"text/html", (long long)r->post_id);
	}
	sb_adds(sb, "\"/>\n");
	(void)rendition_each(r->rendition_list_json, add_enclosure, arg);
	(void)json_array_each(r->tags_json, add_category, sb);
	add_content(sb, f, r, &m);
	sb_adds(sb, "  </entry>\n");
	post_media_release(&m);
	sb_release(&t);
}

void atom_write(struct strbuf *sb, const struct atom_feed *f, const struct feed_row *const *rows, int n)
{
	const char *updated = NULL;
	char now[32];

	for (int i = 0; i < n; i++)
		if (rows[i]->created_at && (!updated || strcmp(rows[i]->created_at, updated) > 0))
			updated = rows[i]->created_at;
	if (!updated) {
		time_t t = time(NULL);
		struct tm tm;
		strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
		updated = now;
	}
	sb_adds(sb, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
	sb_adds(sb, "  <id>");
	xml_add_text(sb, f->id);
	sb_adds(sb, "</id>\n  <title>");
	xml_add_text(sb, f->title);
	sb_adds(sb, "</title>\n  <updated>");
	xml_add_text(sb, updated);
	sb_adds(sb, "</updated>\n  <author><name>");
	xml_add_text(sb, f->author);
	sb_adds(sb, "</name></author>\n  <generator>memedroid</generator>\n"
		"  <link rel=\"self\" type=\"application/atom+xml\" href=\"");
	xml_add_text(sb, f->self);
	sb_adds(sb, "\"/>\n  <link rel=\"alternate\" type=\"text/html\" href=\"");
	xml_add_text(sb, f->alternate);
	sb_adds(sb, "\"/>\n");
	for (int i = 0; i < n; i++)
		add_entry(sb, f, rows[i]);
	sb_adds(sb, "</feed>\n");
}
