/*
 * md-feed - the read side: posts newest first, with tags and renditions,
 * one query per page, keyset pagination.
 */
#include "atom.h"
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "feed_html.h"
#include "file.h"
#include "hash.h"
#include "log.h"
#include "quote.h"
#include "rendition.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sigv4.h"
#include "storage.h"

static const char synopsis[] =
	"usage: md-feed [common options] [-t TAG|--tag TAG] [-u USER|--user USER]\n"
	"               [--status STATUS|all] [-n N|--limit N] [--before CURSOR] [--all]\n"
	"               [--base-url URL | --presign DURATION] [--out DIR [--feed-url URL]]\n";

enum { OPT_STATUS = OPT_TOOL_BASE, OPT_BEFORE, OPT_ALL, OPT_BASE_URL, OPT_PRESIGN, OPT_OUT, OPT_FEED_URL };

static const struct cli_option options[] = {
	{ 't', "tag", "TAG", "only posts with this tag" },
	{ 'u', "user", "USER", "only posts of this user" },
	{ OPT_STATUS, "status", "STATUS", "pending, processing, completed (default), failed or all" },
	{ 'n', "limit", "N", "posts per page (default 20, at most 1000)" },
	{ OPT_BEFORE, "before", "CURSOR", "the posts after CURSOR (a post's \"cursor\"; its post_id in TSV)" },
	{ OPT_ALL, "all", NULL, "every page, one query per page of --limit posts" },
	{ OPT_BASE_URL, "base-url", "URL", "make rendition URLs absolute" },
	{ OPT_PRESIGN, "presign", "DURATION", "rendition URLs signed to read a private bucket\n"
	  "for DURATION (1s to 7d; s3:// storage)" },
	{ OPT_OUT, "out", "DIR", "render every page of the feed as static files in DIR\n"
	  "(index.html, index.json, atom.xml, tags/TAG.*) if it changed since the last time" },
	{ OPT_FEED_URL, "feed-url", "URL", "with --out: the URL DIR is served at, for the Atom\n"
	  "feeds' ids and self links" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct feed_query fq = { .status = "completed", .limit = 20 };
static char *base;
static char *feed_base;         /* --feed-url, ending in '/' */
static const char *out_dir;
static int all_pages;           /* --all */
static double presign_secs;     /* --presign */
static struct storage st;       /* the storage that signs, with --presign */

/* What the query prefixes keys with under --presign, so that they can be
 * told apart and signed: no key holds a ':'. */
#define PRESIGN_MARK "md-presign:"

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;
	int k;

	switch (o) {
	case 't': fq.tag = *arg == '#' ? arg + 1 : arg; break;
	case 'u': fq.user = arg; break;
	case OPT_STATUS:
		if (!strcmp(arg, "all")) {
			fq.status = NULL;
			break;
		}
		if ((k = name_index(post_statuses, POST_NSTATUSES, arg)) >= 0) {
			fq.status = post_statuses[k];
			break;
		}
		usage_error(&cli, "bad --status '%s': pending, processing, completed, failed or all", arg);
	case 'n':
		if (parse_int(arg, 1, 1000, &v))
			usage_error(&cli, "bad --limit '%s': 1 to 1000", arg);
		fq.limit = (int)v;
		break;
	case OPT_BEFORE:
		if (cursor_parse(arg, &fq.before))
			usage_error(&cli, "bad cursor '%s'", arg);
		break;
	case OPT_ALL: all_pages = 1; break;
	case OPT_FEED_URL:
		free(feed_base);
		feed_base = base_url_prefix(arg);
		break;
	case OPT_OUT:
		if (!*arg)
			usage_error(&cli, "--out needs a directory");
		out_dir = arg;
		break;
	case OPT_BASE_URL:
		free(base);
		base = base_url_prefix(arg);
		break;
	case OPT_PRESIGN:
		if (parse_duration(arg, &presign_secs) || presign_secs < 1 ||
		    presign_secs > SIGV4_EXPIRES_MAX)
			usage_error(&cli, "bad --presign '%s': 1s to 7d", arg);
		break;
	default: return -1;
	}
	return 0;
}

/* json with each string "PRESIGN_MARK<key>" made the presigned URL of
 * key; NULL when json is.  Caller frees. */
static char *presign_json(const char *json)
{
	struct strbuf out = STRBUF_INIT;
	const char *p = json, *m;
	size_t ml = strlen(PRESIGN_MARK);

	if (!json)
		return NULL;
	while ((m = strstr(p, "\"" PRESIGN_MARK))) {
		const char *key = m + 1 + ml, *end = strchr(key, '"');
		char *k;

		if (!end)
			break;
		sb_add(&out, p, (size_t)(m + 1 - p));
		k = xstrndup(key, (size_t)(end - key));
		if (storage_presign(&st, k, (long)presign_secs, &out))
			die(MD_EXIT_SOFTWARE, "cannot sign a URL of '%s': %s", k, strerror(errno));
		free(k);
		p = end;
	}
	sb_adds(&out, p);
	return sb_detach(&out, NULL);
}

/* r, or with --presign a copy in *tmp whose URLs are signed: free
 * tmp's two JSON texts after (signed_row_release). */
static const struct feed_row *signed_row(const struct feed_row *r, struct feed_row *tmp)
{
	if (!presign_secs)
		return r;
	*tmp = *r;
	tmp->renditions_json = presign_json(r->renditions_json);
	tmp->rendition_list_json = presign_json(r->rendition_list_json);
	return tmp;
}

static void signed_row_release(const struct feed_row *r, struct feed_row *tmp)
{
	if (r != tmp)
		return;
	free((char *)tmp->renditions_json);
	free((char *)tmp->rendition_list_json);
}

/* A post's keyset position: --before it gives the posts after it. */
static void add_cursor(struct emit *e, int64_t post_id)
{
	char cur[24];

	xsnprintf(cur, sizeof(cur), "%lld", (long long)post_id);
	emit_str(e, "cursor", cur);
}

/* One post as a record; shared shape with md-finalize and md-status, and
 * with --json its cursor. */
static int print_row(void *arg, const struct feed_row *row)
{
	struct feed_row tmp;
	const struct feed_row *r = signed_row(row, &tmp);
	struct emit e;

	emit_begin(&e, cli.json);
	emit_post_row(&e, r);
	if (cli.json)
		add_cursor(&e, r->post_id);
	signed_row_release(r, &tmp);
	return emit_end(&e, stdout) ? MD_EXIT_IOERR : 0;
}

/* ---------- --out: the static feed ---------- */

/*
 * Every page of every feed, the feed of all posts and one per tag, in one
 * pass over the posts: a query per feed would read the posts again for
 * each tag, and a post with many tags would be aggregated again for each.
 * The posts are read oldest first, PASS_ROWS at a time (keyset, as
 * --before); each post's record is made once and shared by the feeds that
 * hold it.
 *
 * Pages are anchored to the oldest post: page 1 holds a feed's limit
 * oldest posts, page k the limit after those, and the last page, the
 * newest, what is left (1 to limit posts).  A page's posts stay where they
 * are when posts are added, so a new post changes only the newest page of
 * its feeds (and makes a new one when that is full), and a post that
 * changes or goes only its own page and those after it.  A feed's page is
 * written as soon as it is full and one more post comes (so it knows it is
 * not the newest); the newest page at the end.  A record lives while a
 * page not yet written holds it, or the page before that (the Atom
 * document holds the limit newest posts), so memory is bounded by two
 * pages per feed.
 *
 * Files, for a feed named NAME (index, or tags/TAG with TAG as
 * feed_tag_name makes it): NAME.N.json and NAME.N.html for page N, from 1;
 * NAME.json and NAME.html, the newest page again (what a reader opens);
 * NAME's Atom document (atom.xml, or tags/TAG.xml) of the limit newest
 * posts.  A file is replaced only when its bytes change; the files of
 * pages and tags that are gone are removed.
 *
 * Comparing is cheap: DIR/.digests holds the SHA-256 of the JSON of every
 * page but the newest, with its JSON and HTML files' sizes.  The HTML is
 * made of the same records, page number and links, so a page whose JSON
 * digest is the one on record, and whose two files have the sizes on
 * record, is left as it is without making its HTML or reading a file back.
 * The record is used only with the same options and md-feed version as it
 * was made with (its first line), and is taken away while a render runs:
 * after one that failed, the next compares the files' bytes.  The files
 * written are made durable together, FLUSH_FILES at a time (one syncfs,
 * then the renames, then the folders' fsync) rather than each on its own.
 */
#define PASS_ROWS 1000
#define FLUSH_FILES 512

struct rec {
	struct feed_row row;    /* a copy that owns its strings */
	char *json;             /* the record, as on --json, without newline */
	int refs;               /* pages that hold it */
};

struct feed {
	char *tag;              /* NULL: all posts */
	char *name;             /* its files' name: "index", "tags/TAG" */
	char *href;             /* the same as a relative URL from its folder */
	struct rec **posts;     /* the page being filled, oldest first, at most fq.limit */
	struct rec **prev;      /* the page before it, full (none on page 1) */
	int n;
	int page;               /* the number of the page being filled, from 1 */
};

struct digest {
	char *name;             /* "index.3", "tags/cats.12" */
	char hex[HASH_HEX_LEN + 1];
	long long json_size, html_size;
};

struct out {
	struct feed *feeds;     /* [0]: all posts; then by tag, strcmp order */
	int nfeeds;
	int written, same, removed;
	int64_t last;           /* the last post read: the pass's cursor */
	struct digest *old;     /* the digests on record, by name */
	size_t nold;
	struct strbuf digests;  /* this render's */
	char **tmp, **final;    /* files written, not yet in place */
	int ntmp;
};


static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static struct rec *rec_new(const struct feed_row *r)
{
	struct rec *c = xcalloc(1, sizeof(*c));
	struct emit e;

	c->row.post_id = r->post_id;
	c->row.user = dup_or_null(r->user);
	c->row.caption = dup_or_null(r->caption);
	c->row.status = dup_or_null(r->status);
	c->row.created_at = dup_or_null(r->created_at);
	c->row.media = dup_or_null(r->media);
	c->row.kind = dup_or_null(r->kind);
	c->row.tags_json = dup_or_null(r->tags_json);
	c->row.rendition_list_json = dup_or_null(r->rendition_list_json);
	emit_begin(&e, 1);
	emit_post_fields(&e, r);
	add_cursor(&e, r->post_id);
	sb_addch(&e.sb, '}');
	c->json = sb_detach(&e.sb, NULL);
	return c;
}

static void rec_unref(struct rec *c)
{
	if (--c->refs > 0)
		return;
	free((char *)c->row.user);
	free((char *)c->row.caption);
	free((char *)c->row.status);
	free((char *)c->row.created_at);
	free((char *)c->row.media);
	free((char *)c->row.kind);
	free((char *)c->row.tags_json);
	free((char *)c->row.rendition_list_json);
	free(c->json);
	free(c);
}

/* Does DIR/name hold exactly sb's bytes? */
static int same_bytes(const char *path, const struct strbuf *sb)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), same = 0;
	struct stat s;

	if (fd < 0)
		return 0;
	if (!fstat(fd, &s) && S_ISREG(s.st_mode) && (size_t)s.st_size == sb->len) {
		char *buf = xmalloc(sb->len + 1);
		size_t got = 0;
		ssize_t k;
		while (got < sb->len && (k = read(fd, buf + got, sb->len - got)) > 0)
			got += (size_t)k;
		same = got == sb->len && !memcmp(buf, sb->buf, sb->len);
		free(buf);
	}
	close(fd);
	return same;
}

/* The size of DIR/name, -1 if it is not a regular file. */
static long long file_size(const char *name)
{
	char *path = xstrfmt("%s/%s", out_dir, name);
	struct stat s;
	long long n = stat(path, &s) || !S_ISREG(s.st_mode) ? -1 : (long long)s.st_size;

	free(path);
	return n;
}

static int sync_dir(const char *sub)
{
	char *d = xstrfmt("%s%s", out_dir, sub);
	int rc = 0;

	if (fsync_path(d)) {
		error_errno("cannot sync '%s'", d);
		rc = MD_EXIT_IOERR;
	}
	free(d);
	return rc;
}

/* Put the files written in place: one syncfs makes them all durable, then
 * each is renamed over its name, then the folders are synced. */
static int flush_files(struct out *o)
{
	int rc = 0, fd = open(out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int tags = 0;

	if (!o->ntmp) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0 || syncfs(fd)) {
		error_errno("cannot sync '%s'", out_dir);
		rc = MD_EXIT_IOERR;
	}
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < o->ntmp; i++) {
		if (!rc && rename(o->tmp[i], o->final[i])) {
			error_errno("cannot rename '%s' to '%s'", o->tmp[i], o->final[i]);
			rc = MD_EXIT_IOERR;
		}
		if (rc)
			(void)unlink(o->tmp[i]);
		tags |= !!strchr(o->final[i] + strlen(out_dir) + 1, '/');
		free(o->tmp[i]);
		free(o->final[i]);
	}
	o->ntmp = 0;
	if (!rc)
		rc = sync_dir("");
	if (!rc && tags)
		rc = sync_dir("/tags");
	return rc;
}

/* Write DIR/name anew unless it already holds sb's bytes: into a temp
 * file beside it, put in place by flush_files. */
static int put_file(struct out *o, const char *name, const struct strbuf *sb)
{
	char *path = xstrfmt("%s/%s", out_dir, name), *pre, *tmp = NULL;
	int fd = -1, e;

	if (same_bytes(path, sb)) {
		o->same++;
		free(path);
		return 0;
	}
	if (!mkdir_parents(path)) {
		pre = xstrfmt("%s.", path);
		fd = file_create_tmp(pre, ".tmp", 0666, &tmp);
		free(pre);
	}
	if (fd < 0 || write_all(fd, sb->buf, sb->len) || close(fd)) {
		e = errno;
		if (tmp)
			(void)unlink(tmp);
		errno = e;
		error_errno("cannot write '%s'", path);
		free(tmp);
		free(path);
		return MD_EXIT_IOERR;
	}
	if (!o->tmp) {
		o->tmp = xcalloc(FLUSH_FILES, sizeof(*o->tmp));
		o->final = xcalloc(FLUSH_FILES, sizeof(*o->final));
	}
	o->tmp[o->ntmp] = tmp;
	o->final[o->ntmp++] = path;
	o->written++;
	return o->ntmp == FLUSH_FILES ? flush_files(o) : 0;
}

/* ---- the digests on record ---- */

static int digest_cmp(const void *a, const void *b)
{
	return strcmp(((const struct digest *)a)->name, ((const struct digest *)b)->name);
}

/* Read DIR/.digests when its first line is header, and take it away. */
static int digests_load(struct out *o, const char *header)
{
	char *path = xstrfmt("%s/.digests", out_dir), *line = NULL;
	size_t cap = 0, alloc = 0;
	FILE *f = fopen(path, "r");
	int ok = 0, rc = 0;

	if (f && getline(&line, &cap, f) > 0 && !strcmp(line, header))
		ok = 1;
	while (ok && getline(&line, &cap, f) > 0) {
		struct digest d;
		int at = 0;
		if (sscanf(line, "%64s %lld %lld %n", d.hex, &d.json_size, &d.html_size, &at) != 3 || !at)
			continue;
		line[strcspn(line, "\n")] = '\0';
		d.name = xstrdup(line + at);
		if (o->nold == alloc) {
			alloc = alloc ? 2 * alloc : 1024;
			o->old = xrealloc(o->old, alloc * sizeof(*o->old));
		}
		o->old[o->nold++] = d;
	}
	if (f)
		fclose(f);
	free(line);
	qsort(o->old, o->nold, sizeof(*o->old), digest_cmp);
	if (unlink(path) && errno != ENOENT) {
		error_errno("cannot remove '%s'", path);
		rc = MD_EXIT_IOERR;
	}
	free(path);
	return rc;
}

/* Is page stem (NAME.N) on record with these JSON bytes, and are its two
 * files there with the sizes on record?  Its HTML's size in *html. */
static int digest_same(const struct out *o, const char *stem, const char *hex, size_t json_len,
		       long long *html)
{
	struct digest key = { .name = (char *)stem }, *d;
	char *j, *h;
	int same;

	d = o->nold ? bsearch(&key, o->old, o->nold, sizeof(*o->old), digest_cmp) : NULL;
	if (!d || strcmp(d->hex, hex) || d->json_size != (long long)json_len)
		return 0;
	j = xstrfmt("%s.json", stem);
	h = xstrfmt("%s.html", stem);
	same = file_size(j) == d->json_size && file_size(h) == d->html_size;
	free(j);
	free(h);
	*html = d->html_size;
	return same;
}

/* ---- the pages ---- */

/* The file name, or with href its URL from its folder, of page n of f;
 * n 0: the front page, NAME.ext. */
static char *page_name(const struct feed *f, int n, const char *ext, int href)
{
	const char *stem = href ? f->href : f->name;

	return n ? xstrfmt("%s.%d.%s", stem, n, ext) : xstrfmt("%s.%s", stem, ext);
}

static char *atom_name(const struct feed *f, int href)
{
	if (!f->tag)
		return xstrdup("atom.xml");
	return href ? xstrfmt("%s.xml", f->href) : xstrfmt("%s.xml", f->name);
}

static char *feed_title(const struct feed *f)
{
	return f->tag ? xstrfmt("#%s", f->tag) : xstrdup("all posts");
}

static void add_link(struct strbuf *sb, const struct feed *f, int n)
{
	char *h;

	if (n < 1) {
		sb_adds(sb, "null");
		return;
	}
	json_add_str(sb, (h = page_name(f, n, "json", 1)));
	free(h);
}

/* The JSON of the page being filled, its posts newest first; prev is the
 * newer page, next the older. */
static void page_json(struct strbuf *sb, const struct feed *f, int newest)
{
	sb_addf(sb, "{\"page\":%d,\"posts\":[", f->page);
	for (int i = f->n - 1; i >= 0; i--) {
		sb_adds(sb, f->posts[i]->json);
		if (i)
			sb_addch(sb, ',');
	}
	sb_adds(sb, "],\"prev\":");
	add_link(sb, f, newest ? 0 : f->page + 1);
	sb_adds(sb, ",\"next\":");
	add_link(sb, f, f->page - 1);
	sb_adds(sb, "}\n");
}

/* The HTML of the page being filled: front, as NAME.html (no page number
 * in its title). */
static void page_html(struct strbuf *sb, const struct feed *f, const struct feed_row **rows, int newest,
		      int front)
{
	char *title = feed_title(f), *atom = atom_name(f, 1);
	char *prev = newest ? NULL : page_name(f, f->page + 1, "html", 1);
	char *next = f->page > 1 ? page_name(f, f->page - 1, "html", 1) : NULL;
	struct feed_page p = { title, f->tag ? "../" : "", atom, prev, next, front ? 0 : f->page };

	feed_html_page(sb, &p, rows, f->n);
	free(title);
	free(atom);
	free(prev);
	free(next);
}

/* The Atom document of f's newest posts, rows[0..n): its id and self link
 * are absolute with --feed-url; without, self is relative and the id a
 * urn:uuid: of the feed's name and filters. */
static int page_atom(struct out *o, const struct feed *f, const struct feed_row **rows, int n)
{
	struct strbuf sb = STRBUF_INIT, id = STRBUF_INIT, self = STRBUF_INIT;
	char *name = atom_name(f, 0), *title = feed_title(f), *alt = page_name(f, 0, "html", 1);
	struct atom_feed a = { NULL, title, fq.user ? fq.user : "memedroid", NULL, alt,
			       f->tag ? "../" : "" };
	char *href = atom_name(f, 1);
	int rc;

	if (feed_base) {
		sb_addf(&self, "%s%s%s", feed_base, f->tag ? "tags/" : "", href);
		sb_adds(&id, self.buf);
	} else {
		sb_adds(&self, href);
		sb_addf(&id, "memedroid feed\n%s\n%s\n%s", f->name, fq.user ? fq.user : "",
			fq.status ? fq.status : "all");
		char *key = sb_detach(&id, NULL);
		atom_uuid(&id, key, strlen(key));
		free(key);
	}
	a.id = id.buf;
	a.self = self.buf;
	atom_write(&sb, &a, rows, n);
	rc = put_file(o, name, &sb);
	free(name);
	free(title);
	free(alt);
	free(href);
	sb_release(&sb);
	sb_release(&id);
	sb_release(&self);
	return rc;
}

/* The rows of the page being filled, newest first; with atom, then those
 * of the page before, up to fq.limit in all. */
static const struct feed_row **page_rows(const struct feed *f, int atom, int *n)
{
	const struct feed_row **rows = xcalloc(fq.limit + 1, sizeof(*rows));

	*n = 0;
	for (int i = f->n - 1; i >= 0; i--)
		rows[(*n)++] = &f->posts[i]->row;
	for (int i = fq.limit - 1; atom && f->page > 1 && *n < fq.limit; i--)
		rows[(*n)++] = &f->prev[i]->row;
	return rows;
}

/* A full page that is not the newest: left alone when its digest and
 * files are those on record. */
static int page_full(struct out *o, const struct feed *f)
{
	struct strbuf js = STRBUF_INIT, hs = STRBUF_INIT;
	char *stem = page_name(f, f->page, "", 0), hex[HASH_HEX_LEN + 1];
	long long html = 0;
	struct hash h;
	int rc = 0;

	stem[strlen(stem) - 1] = '\0';          /* "NAME.N" */
	page_json(&js, f, 0);
	hash_init(&h);
	hash_update(&h, js.buf, js.len);
	hash_final(&h, hex);
	if (digest_same(o, stem, hex, js.len, &html)) {
		o->same += 2;
	} else {
		int n;
		const struct feed_row **rows = page_rows(f, 0, &n);
		char *jn = page_name(f, f->page, "json", 0), *hn = page_name(f, f->page, "html", 0);
		page_html(&hs, f, rows, 0, 0);
		html = (long long)hs.len;
		if (!(rc = put_file(o, jn, &js)))
			rc = put_file(o, hn, &hs);
		free(rows);
		free(jn);
		free(hn);
	}
	sb_addf(&o->digests, "%s %zu %lld %s\n", hex, js.len, html, stem);
	free(stem);
	sb_release(&js);
	sb_release(&hs);
	return rc;
}

/* The newest page: as NAME.N and as NAME, and the Atom document. */
static int page_newest(struct out *o, const struct feed *f)
{
	struct strbuf js = STRBUF_INIT, hs = STRBUF_INIT;
	int n, rc = 0;
	const struct feed_row **rows = page_rows(f, 1, &n);

	page_json(&js, f, 1);
	for (int front = 0; front < 2 && !rc; front++) {
		char *jn = page_name(f, front ? 0 : f->page, "json", 0);
		char *hn = page_name(f, front ? 0 : f->page, "html", 0);
		sb_reset(&hs);
		page_html(&hs, f, rows, 1, front);
		if (!(rc = put_file(o, jn, &js)))
			rc = put_file(o, hn, &hs);
		free(jn);
		free(hn);
	}
	if (!rc)
		rc = page_atom(o, f, rows, n);
	free(rows);
	sb_release(&js);
	sb_release(&hs);
	return rc;
}

static void feed_drop(struct feed *f)
{
	for (int i = 0; i < f->n; i++)
		rec_unref(f->posts[i]);
	for (int i = 0; f->page > 1 && i < fq.limit; i++)
		rec_unref(f->prev[i]);
	f->n = 0;
}

static int feed_add(struct out *o, struct feed *f, struct rec *c)
{
	int rc;

	if (!f->posts) {
		f->posts = xcalloc(fq.limit, sizeof(*f->posts));
		f->prev = xcalloc(fq.limit, sizeof(*f->prev));
	}
	if (f->n == fq.limit) {         /* full, and not the newest */
		struct rec **t = f->prev;
		if ((rc = page_full(o, f)))
			return rc;
		for (int i = 0; f->page > 1 && i < fq.limit; i++)
			rec_unref(t[i]);
		f->prev = f->posts;
		f->posts = t;
		f->n = 0;
		f->page++;
	}
	c->refs++;
	f->posts[f->n++] = c;
	return 0;
}

static int feed_cmp(const void *a, const void *b)
{
	return strcmp(((const struct feed *)a)->tag, ((const struct feed *)b)->tag);
}

struct pass {
	struct out *o;
	struct rec *rec;
};

/* One tag of the post being read: onto its feed's page. */
static int pass_tag(void *arg, const char *tag)
{
	struct pass *p = arg;
	struct feed key = { .tag = (char *)tag }, *f;

	f = bsearch(&key, p->o->feeds + 1, p->o->nfeeds - 1, sizeof(*f), feed_cmp);
	if (!f)         /* a tag new since the list was read */
		return 0;
	return feed_add(p->o, f, p->rec);
}

static int pass_row(void *arg, const struct feed_row *row)
{
	struct feed_row tmp;
	const struct feed_row *r = signed_row(row, &tmp);
	struct out *o = arg;
	struct pass p = { o, rec_new(r) };
	int rc;

	signed_row_release(r, &tmp);
	o->last = row->post_id;
	p.rec->refs++;          /* held while it is placed */
	rc = feed_add(o, &o->feeds[0], p.rec);
	if (!rc)
		rc = json_array_each(p.rec->row.tags_json, pass_tag, &p);
	rec_unref(p.rec);
	return rc;
}

static int add_feed(void *arg, const char *tag)
{
	struct out *o = arg;
	struct feed *f;
	struct strbuf sb = STRBUF_INIT;

	o->feeds = xrealloc(o->feeds, (o->nfeeds + 1) * sizeof(*o->feeds));
	f = memset(&o->feeds[o->nfeeds++], 0, sizeof(*f));
	f->page = 1;
	if (!tag) {
		f->name = xstrdup("index");
		f->href = xstrdup("index");
		return 0;
	}
	f->tag = xstrdup(tag);
	sb_adds(&sb, "tags/");
	feed_tag_name(&sb, tag, 0);
	f->name = sb_detach(&sb, NULL);
	feed_tag_name(&sb, tag, 1);
	f->href = sb_detach(&sb, NULL);
	return 0;
}

static void out_release(struct out *o)
{
	for (int i = 0; i < o->nfeeds; i++) {
		struct feed *f = &o->feeds[i];
		feed_drop(f);
		free(f->posts);
		free(f->prev);
		free(f->tag);
		free(f->name);
		free(f->href);
	}
	free(o->feeds);
	for (size_t i = 0; i < o->nold; i++)
		free(o->old[i].name);
	free(o->old);
	for (int i = 0; i < o->ntmp; i++) {
		(void)unlink(o->tmp[i]);
		free(o->tmp[i]);
		free(o->final[i]);
	}
	free(o->tmp);
	free(o->final);
	sb_release(&o->digests);
}

/* Read every post once, oldest first, fill and write the pages, then the
 * newest of each feed. */
static int render_pass(struct store *db, struct out *o)
{
	struct feed_query q = fq;
	int64_t next;
	int rc;

	q.tag = NULL;
	q.limit = PASS_ROWS;
	q.before = 0;
	q.oldest_first = 1;
	do {
		next = 0;
		if ((rc = store_feed(db, &q, pass_row, o, &next)))
			return rc;
		q.before = o->last;
	} while (next);
	for (int i = 0; i < o->nfeeds; i++)
		if ((rc = page_newest(o, &o->feeds[i])))
			return rc;
	return flush_files(o);
}

/*
 * Is name, in the folder of feed f's files (NULL: no feed of that name),
 * one of the files this renders, or one it rendered once that is now
 * gone?  1: stale, remove; 0: current, or not a name of the feed's files.
 */
static int stale_name(const struct feed *f, const char *rest)
{
	char *end;
	long n;

	if (!strcmp(rest, "json") || !strcmp(rest, "html") || !strcmp(rest, "xml"))
		return !f;
	if (*rest < '1' || *rest > '9')
		return 0;
	n = strtol(rest, &end, 10);
	if (strcmp(end, ".json") && strcmp(end, ".html"))
		return 0;
	return !f || n > f->page;
}
static int prune_dir(struct out *o, const char *sub)
{
	char *dir = *sub ? xstrfmt("%s/%s", out_dir, sub) : xstrdup(out_dir);
	size_t n = 0;
	char **names = list_dir(dir, 1, &n);
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		char *dot = strchr(names[i], '.'), *path;
		const struct feed *f = NULL;
		if (dot) {
			*dot = '\0';
			for (int k = *sub ? 1 : 0; k < (*sub ? o->nfeeds : 1) && !f; k++)
				if (!strcmp(o->feeds[k].name + strlen(sub), names[i]))
					f = &o->feeds[k];
			if ((*sub || f) && stale_name(f, dot + 1)) {
				*dot = '.';
				path = xstrfmt("%s/%s", dir, names[i]);
				if (!unlink(path))
					o->removed++;
				else if (errno != ENOENT) {
					error_errno("cannot remove '%s'", path);
					rc = MD_EXIT_IOERR;
				}
				free(path);
			}
		}
		free(names[i]);
	}
	free(names);
	free(dir);
	return rc;
}

/* The render, once the stamp said the feed or the options changed. */
static int render_all(struct store *db, struct out *o, const char *opts)
{
	char *header = xstrfmt("md-feed %s %s\n", MD_VERSION, opts), *path;
	struct strbuf sb = STRBUF_INIT;
	int rc;

	if ((rc = digests_load(o, header)))
		goto out;
	add_feed(o, NULL);
	if ((rc = store_feed_tags(db, fq.status, add_feed, o)))
		goto out;
	qsort(o->feeds + 1, o->nfeeds - 1, sizeof(*o->feeds), feed_cmp);
	if ((rc = render_pass(db, o)) || (rc = prune_dir(o, "")) || (rc = prune_dir(o, "tags/")))
		goto out;
	sb_adds(&sb, header);
	sb_add(&sb, o->digests.buf ? o->digests.buf : "", o->digests.len);
	path = xstrfmt("%s/.digests", out_dir);
	if (write_file_atomic(path, sb.buf, sb.len)) {
		error_errno("cannot write '%s'", path);
		rc = MD_EXIT_IOERR;
	}
	free(path);
out:
	sb_release(&sb);
	free(header);
	return rc;
}

static int render(struct store *db)
{
	struct strbuf ver = STRBUF_INIT;
	struct out o = { .digests = STRBUF_INIT };
	int64_t version;
	char *stamp = xstrfmt("%s/.version", out_dir), *opts = NULL;
	int rc;
	FILE *f;

	if ((rc = store_feed_version(db, &version)))
		goto out;
	opts = xstrfmt("%s %s %s %d %s", fq.status ? fq.status : "all", fq.user ? fq.user : "-",
		       fq.base_url, fq.limit, feed_base ? feed_base : "-");
	sb_addf(&ver, "%lld %s\n", (long long)version, opts);
	/* signed URLs expire: a presigned feed is made anew every time */
	if (!presign_secs && (f = fopen(stamp, "r"))) {
		char line[2048] = "";
		if (fgets(line, sizeof(line), f) && !strcmp(line, ver.buf)) {
			fclose(f);
			info("feed unchanged since the last render (version %lld)", (long long)version);
			goto out;
		}
		fclose(f);
	}
	if ((rc = render_all(db, &o, opts)))
		goto out;
	if (write_file_atomic(stamp, ver.buf, ver.len)) {
		error_errno("cannot write '%s'", stamp);
		rc = MD_EXIT_IOERR;
	}
	if (!rc)
		info("feed rendered: version %lld, %d tag%s, %d file%s written, %d unchanged, %d removed",
		     (long long)version, o.nfeeds - 1, o.nfeeds == 2 ? "" : "s", o.written,
		     o.written == 1 ? "" : "s", o.same, o.removed);
out:
	out_release(&o);
	free(opts);
	free(stamp);
	sb_release(&ver);
	return rc;
}

/*
 * The posts on stdout, one record each: a page, or with --all every page,
 * a query each.  Only posts: when a page is not the last, its cursor goes
 * to stderr, as an info line for a person (each record carries its own).
 */
static int list_posts(struct store *db)
{
	struct feed_query q = fq;
	int64_t next;
	int rc;

	for (;;) {
		next = 0;
		if ((rc = store_feed(db, &q, print_row, NULL, &next)) || !next)
			return rc;
		if (!all_pages) {
			char cur[24];
			xsnprintf(cur, sizeof(cur), "%lld", (long long)next);
			logkv(LOG_INFO, "more posts: the next page is --before CURSOR", "cursor", cur, NULL);
			return 0;
		}
		if (fflush(stdout))
			return MD_EXIT_IOERR;
		q.before = next;
	}
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-feed", synopsis, NULL, options, on_opt,
				NULL);
	struct store *db;
	int rc;

	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
	if (feed_base && !out_dir)
		usage_error(&cli, "--feed-url is for --out");
	if (all_pages && out_dir)
		usage_error(&cli, "--all and --out: --out writes every page already");
	fq.base_url = base ? base : "";
	if (presign_secs) {
		if (base)
			usage_error(&cli, "--presign and --base-url: one or the other");
		if (storage_open(&st, cli.conf.storage, &cli.conf.s3)) {
			rc = MD_EXIT_CONFIG;
			goto out;
		}
		if (!storage_is_remote(&st)) {
			error("--presign needs s3:// storage; '%s' is a directory", cli.conf.storage);
			rc = MD_EXIT_CONFIG;
			goto out;
		}
		fq.base_url = PRESIGN_MARK;
	}
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		goto out;
	rc = out_dir ? render(db) : list_posts(db);
	store_close(db);
out:
	free(base);
	free(feed_base);
	if (st.ops)
		storage_close(&st);
	return cli_finish(&cli, rc);
}
