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
 * The posts are read newest first, PASS_ROWS at a time (keyset, as
 * --before); each post's record is made once and shared by the feeds that
 * hold it.  A feed's page is written as soon as it is full and one more
 * post comes (so it knows it has a next page), its last page at the end;
 * a record lives while a page not yet written holds it, so memory is
 * bounded by one page per feed.
 *
 * Files, for a feed named NAME (index, or tags/TAG with TAG as
 * feed_tag_name makes it): NAME.json and NAME.html for its first page,
 * NAME.N.json and NAME.N.html for page N, NAME's Atom document (atom.xml,
 * or tags/TAG.xml) of its first page.  A file is replaced only when its
 * bytes change; the files of pages and tags that are gone are removed.
 */
#define PASS_ROWS 1000

struct rec {
	struct feed_row row;    /* a copy that owns its strings */
	char *json;             /* the record, as on --json, without newline */
	int refs;               /* pages not yet written that hold it */
};

struct feed {
	char *tag;              /* NULL: all posts */
	char *name;             /* its files' name: "index", "tags/TAG" */
	char *href;             /* the same as a relative URL from its folder */
	struct rec **posts;     /* the page being filled, at most fq.limit */
	int n;
	int page;               /* the number of that page, from 1 */
};

struct out {
	struct feed *feeds;     /* [0]: all posts; then by tag, strcmp order */
	int nfeeds;
	int written, same, removed;
	int64_t last;           /* the last post read: the pass's cursor */
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

/* Replace DIR/name by sb atomically, unless it already holds the same. */
static int put_file(struct out *o, const char *name, const struct strbuf *sb)
{
	char *path = xstrfmt("%s/%s", out_dir, name);
	int rc = 0;

	if (same_bytes(path, sb)) {
		o->same++;
	} else if (write_file_atomic(path, sb->buf, sb->len)) {
		error_errno("cannot write '%s'", path);
		rc = MD_EXIT_IOERR;
	} else {
		o->written++;
	}
	free(path);
	return rc;
}

/* The file name, or with href its URL from its folder, of page n of f. */
static char *page_name(const struct feed *f, int n, const char *ext, int href)
{
	const char *stem = href ? f->href : f->name;

	return n > 1 ? xstrfmt("%s.%d.%s", stem, n, ext) : xstrfmt("%s.%s", stem, ext);
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

static int page_json(struct out *o, const struct feed *f, int has_next)
{
	struct strbuf sb = STRBUF_INIT;
	char *name = page_name(f, f->page, "json", 0), *h;
	int rc;

	sb_addf(&sb, "{\"page\":%d,\"posts\":[", f->page);
	for (int i = 0; i < f->n; i++) {
		if (i)
			sb_addch(&sb, ',');
		sb_adds(&sb, f->posts[i]->json);
	}
	sb_adds(&sb, "],\"prev\":");
	if (f->page > 1) {
		json_add_str(&sb, (h = page_name(f, f->page - 1, "json", 1)));
		free(h);
	} else {
		sb_adds(&sb, "null");
	}
	sb_adds(&sb, ",\"next\":");
	if (has_next) {
		json_add_str(&sb, (h = page_name(f, f->page + 1, "json", 1)));
		free(h);
	} else {
		sb_adds(&sb, "null");
	}
	sb_adds(&sb, "}\n");
	rc = put_file(o, name, &sb);
	free(name);
	sb_release(&sb);
	return rc;
}

static int page_html(struct out *o, const struct feed *f, const struct feed_row **rows, int has_next)
{
	struct strbuf sb = STRBUF_INIT;
	char *name = page_name(f, f->page, "html", 0), *title = feed_title(f);
	char *atom = atom_name(f, 1);
	char *prev = f->page > 1 ? page_name(f, f->page - 1, "html", 1) : NULL;
	char *next = has_next ? page_name(f, f->page + 1, "html", 1) : NULL;
	struct feed_page p = { title, f->tag ? "../" : "", atom, prev, next, f->page };
	int rc;

	feed_html_page(&sb, &p, rows, f->n);
	rc = put_file(o, name, &sb);
	free(name);
	free(title);
	free(atom);
	free(prev);
	free(next);
	sb_release(&sb);
	return rc;
}

/* The Atom document of f's first page: its id and self link are absolute
 * with --feed-url; without, self is relative and the id a urn:uuid: of
 * the feed's name and filters. */
static int page_atom(struct out *o, const struct feed *f, const struct feed_row **rows)
{
	struct strbuf sb = STRBUF_INIT, id = STRBUF_INIT, self = STRBUF_INIT;
	char *name = atom_name(f, 0), *title = feed_title(f), *alt = page_name(f, 1, "html", 1);
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
	atom_write(&sb, &a, rows, f->n);
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

/* Write the page of f being filled and let go of its records. */
static int page_write(struct out *o, struct feed *f, int has_next)
{
	const struct feed_row **rows = xcalloc(f->n ? f->n : 1, sizeof(*rows));
	int rc;

	for (int i = 0; i < f->n; i++)
		rows[i] = &f->posts[i]->row;
	rc = page_json(o, f, has_next);
	if (!rc)
		rc = page_html(o, f, rows, has_next);
	if (!rc && f->page == 1)
		rc = page_atom(o, f, rows);
	free(rows);
	for (int i = 0; i < f->n; i++)
		rec_unref(f->posts[i]);
	f->n = 0;
	f->page++;
	return rc;
}

static int feed_add(struct out *o, struct feed *f, struct rec *c)
{
	int rc = 0;

	if (f->n == fq.limit && (rc = page_write(o, f, 1)))
		return rc;
	if (!f->posts)
		f->posts = xmalloc(fq.limit * sizeof(*f->posts));
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
		for (int k = 0; k < f->n; k++)
			rec_unref(f->posts[k]);
		free(f->posts);
		free(f->tag);
		free(f->name);
		free(f->href);
	}
	free(o->feeds);
}

/* Read every post once, fill and write the pages, then the last ones. */
static int render_pass(struct store *db, struct out *o)
{
	struct feed_query q = fq;
	int64_t next;
	int rc;

	q.tag = NULL;
	q.limit = PASS_ROWS;
	q.before = 0;
	do {
		next = 0;
		if ((rc = store_feed(db, &q, pass_row, o, &next)))
			return rc;
		q.before = o->last;
	} while (next);
	for (int i = 0; i < o->nfeeds; i++)
		if ((rc = page_write(o, &o->feeds[i], 0)))
			return rc;
	return 0;
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
	if (*rest < '2' || *rest > '9')
		return 0;
	n = strtol(rest, &end, 10);
	if (strcmp(end, ".json") && strcmp(end, ".html"))
		return 0;
	return !f || n >= f->page;
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

static int render(struct store *db)
{
	struct strbuf ver = STRBUF_INIT;
	struct out o = { 0 };
	int64_t version;
	char *stamp = xstrfmt("%s/.version", out_dir);
	int rc;
	FILE *f;

	if ((rc = store_feed_version(db, &version)))
		goto out;
	sb_addf(&ver, "%lld %s %s %s %d %s\n", (long long)version, fq.status ? fq.status : "all",
		fq.user ? fq.user : "-", fq.base_url, fq.limit, feed_base ? feed_base : "-");
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
	add_feed(&o, NULL);
	if ((rc = store_feed_tags(db, fq.status, add_feed, &o)))
		goto out;
	qsort(o.feeds + 1, o.nfeeds - 1, sizeof(*o.feeds), feed_cmp);
	if ((rc = render_pass(db, &o)) || (rc = prune_dir(&o, "")) || (rc = prune_dir(&o, "tags/")))
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
