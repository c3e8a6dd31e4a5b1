/*
 * md-feed - the read side: posts newest first, with tags and renditions,
 * one query per page, keyset pagination.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
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
	"               [--status STATUS|all] [-n N|--limit N] [--before CURSOR]\n"
	"               [--base-url URL | --presign DURATION] [--out DIR]\n";

enum { OPT_STATUS = OPT_TOOL_BASE, OPT_BEFORE, OPT_BASE_URL, OPT_PRESIGN, OPT_OUT };

static const struct cli_option options[] = {
	{ 't', "tag", "TAG", "only posts with this tag" },
	{ 'u', "user", "USER", "only posts of this user" },
	{ OPT_STATUS, "status", "STATUS", "pending, processing, completed (default), failed or all" },
	{ 'n', "limit", "N", "posts per page (default 20, at most 1000)" },
	{ OPT_BEFORE, "before", "CURSOR", "the page after CURSOR (printed as 'next' by the last page)" },
	{ OPT_BASE_URL, "base-url", "URL", "make rendition URLs absolute" },
	{ OPT_PRESIGN, "presign", "DURATION", "rendition URLs signed to read a private bucket\n"
	  "for DURATION (1s to 7d; s3:// storage)" },
	{ OPT_OUT, "out", "DIR", "render the feed as static files in DIR (index.json,\n"
	  "tags/TAG.json, atom.xml) if it changed since the last time" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct feed_query fq = { .status = "completed", .limit = 20 };
static char *base;
static const char *out_dir;
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

/* One post as a record; shared shape with md-finalize and md-status. */
static int print_row(void *arg, const struct feed_row *row)
{
	struct feed_row tmp;
	const struct feed_row *r = signed_row(row, &tmp);
	struct emit e;

	emit_begin(&e, cli.json);
	emit_post_row(&e, r);
	signed_row_release(r, &tmp);
	return emit_end(&e, stdout) ? MD_EXIT_IOERR : 0;
}

/* ---------- --out: the static feed ---------- */

struct page {
	struct strbuf json;     /* {"posts":[...],"next":...} */
	struct strbuf atom;     /* <entry>s, for the "all" page */
	int n;
	int atom_on;
};

/* One rendition as an Atom enclosure: its URL, media type and, for a
 * single file, its length (an HLS master's bytes are the whole ladder's). */
static int atom_enclosure(void *arg, const struct rendition_view *v)
{
	struct strbuf *atom = arg;
	const char *type = rendition_mime(v->url);

	sb_adds(atom, "    <link rel=\"enclosure\" href=\"");
	xml_add_text(atom, v->url);
	sb_addf(atom, "\" type=\"%s\" title=\"", type);
	xml_add_text(atom, v->profile);
	sb_adds(atom, "\"");
	if (v->bytes > 0 && strcmp(type, "application/vnd.apple.mpegurl"))
		sb_addf(atom, " length=\"%lld\"", (long long)v->bytes);
	sb_adds(atom, "/>\n");
	return 0;
}

static int page_row(void *arg, const struct feed_row *row)
{
	struct feed_row tmp;
	const struct feed_row *r = signed_row(row, &tmp);
	struct page *pg = arg;
	struct emit e;

	emit_begin(&e, 1);
	emit_post_fields(&e, r);
	sb_addch(&e.sb, '}');
	if (pg->n++)
		sb_addch(&pg->json, ',');
	sb_add(&pg->json, e.sb.buf, e.sb.len);
	sb_release(&e.sb);
	if (pg->atom_on) {
		sb_addf(&pg->atom, "  <entry>\n    <id>urn:memedroid:post:%lld</id>\n",
			(long long)r->post_id);
		sb_adds(&pg->atom, "    <title>");
		xml_add_text(&pg->atom, r->caption && *r->caption ? r->caption : r->media);
		sb_adds(&pg->atom, "</title>\n    <updated>");
		xml_add_text(&pg->atom, r->created_at);
		sb_adds(&pg->atom, "</updated>\n    <author><name>");
		xml_add_text(&pg->atom, r->user);
		sb_adds(&pg->atom, "</name></author>\n");
		(void)rendition_each(r->rendition_list_json, atom_enclosure, &pg->atom);
		sb_adds(&pg->atom, "  </entry>\n");
	}
	signed_row_release(r, &tmp);
	return 0;
}

/* Write data to DIR/name atomically (see write_file_atomic). */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len)
{
	char *path = xstrfmt("%s/%s", dir, name);
	int rc = write_file_atomic(path, data, len);

	if (rc)
		error_errno("cannot write '%s'", path);
	free(path);
	return rc;
}

/* A page of the feed (fq as given, tag set or not) as JSON into DIR/name. */
static int render_page(struct store *db, const char *name, const char *tag, struct strbuf *atom)
{
	struct feed_query q = fq;
	struct page pg = { STRBUF_INIT, STRBUF_INIT, 0, atom != NULL };
	int64_t next = 0;
	int rc;

	q.tag = tag;
	q.before = 0;
	sb_adds(&pg.json, "{\"posts\":[");
	if ((rc = store_feed(db, &q, page_row, &pg, &next)))
		goto out;
	if (next)
		sb_addf(&pg.json, "],\"next\":\"%lld\"}\n", (long long)next);
	else
		sb_adds(&pg.json, "],\"next\":null}\n");
	if (write_atomic(out_dir, name, pg.json.buf, pg.json.len))
		rc = MD_EXIT_IOERR;
	if (atom)
		sb_add(atom, pg.atom.buf, pg.atom.len);
out:
	sb_release(&pg.json);
	sb_release(&pg.atom);
	return rc;
}

/* Tag names become file names only percent-encoded: [a-z0-9_-] stay. */
static char *tag_file(const char *tag)
{
	struct strbuf sb = STRBUF_INIT;

	sb_adds(&sb, "tags/");
	for (const unsigned char *p = (const unsigned char *)tag; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
			sb_addch(&sb, *p);
		else
			sb_addf(&sb, "%%%02X", *p);
	}
	sb_adds(&sb, ".json");
	return sb_detach(&sb, NULL);
}

struct tag_list {
	char **v;
	int n;
};

static int collect_tag(void *arg, const char *tag)
{
	struct tag_list *t = arg;
	t->v = xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
	t->v[t->n++] = xstrdup(tag);
	return 0;
}

/*
 * The tag pages, in one pass over the posts: a query per tag would read
 * the posts again for each tag, and a post with many tags would be
 * aggregated again for each of its pages.  The posts are read newest
 * first, a page of PASS_ROWS at a time (keyset, as --before); each
 * post's record is made once and shared by the pages that hold it; a page
 * is written as soon as it is full (the first fq.limit posts of its tag,
 * and one more to know there is a next page), the others at the end.  A
 * record lives while a page not yet written holds it, so memory is
 * bounded by what is written.
 */
#define PASS_ROWS 1000

struct rec {
	int64_t post_id;
	char *json;             /* the record, as on --json, without newline */
	int refs;               /* pages not yet written that hold it */
};

struct tag_page {
	const char *name;
	struct rec **posts;     /* at most fq.limit */
	int n;
	int written;
};

struct tag_pass {
	struct tag_page *pages; /* sorted by name, strcmp order */
	int npages;
	int pending;            /* pages not yet written */
	const struct feed_row *row;
	struct rec *rec;        /* the row's record, made when first needed */
	int64_t last;           /* the last post read: the pass's cursor */
	int nrows;
};

static void rec_unref(struct rec *r)
{
	if (--r->refs == 0) {
		free(r->json);
		free(r);
	}
}

/* Write a tag page and let go of its records; next: its cursor or 0. */
static int tag_page_write(struct tag_page *pg, int64_t next)
{
	struct strbuf sb = STRBUF_INIT;
	char *name = tag_file(pg->name);
	int rc = 0;

	sb_adds(&sb, "{\"posts\":[");
	for (int i = 0; i < pg->n; i++) {
		if (i)
			sb_addch(&sb, ',');
		sb_adds(&sb, pg->posts[i]->json);
		rec_unref(pg->posts[i]);
	}
	if (next)
		sb_addf(&sb, "],\"next\":\"%lld\"}\n", (long long)next);
	else
		sb_adds(&sb, "],\"next\":null}\n");
	if (write_atomic(out_dir, name, sb.buf, sb.len))
		rc = MD_EXIT_IOERR;
	free(pg->posts);
	pg->posts = NULL;
	pg->n = 0;
	pg->written = 1;
	free(name);
	sb_release(&sb);
	return rc;
}

static int page_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tag_page *)a)->name, ((const struct tag_page *)b)->name);
}

/* One tag of the row being read: onto its page, or the page is full. */
static int pass_tag(void *arg, const char *tag)
{
	struct tag_pass *t = arg;
	struct tag_page key = { .name = tag }, *pg;

	pg = bsearch(&key, t->pages, t->npages, sizeof(*pg), page_cmp);
	if (!pg || pg->written)         /* a tag new since the list was read */
		return 0;
	if (pg->n == fq.limit) {
		t->pending--;
		return tag_page_write(pg, pg->posts[pg->n - 1]->post_id);
	}
	if (!t->rec) {
		struct emit e;
		t->rec = xcalloc(1, sizeof(*t->rec));
		t->rec->post_id = t->row->post_id;
		emit_begin(&e, 1);
		emit_post_fields(&e, t->row);
		sb_addch(&e.sb, '}');
		t->rec->json = sb_detach(&e.sb, NULL);
	}
	if (!pg->posts)
		pg->posts = xmalloc(fq.limit * sizeof(*pg->posts));
	t->rec->refs++;
	pg->posts[pg->n++] = t->rec;
	return 0;
}

static int pass_row(void *arg, const struct feed_row *row)
{
	struct feed_row tmp;
	const struct feed_row *r = signed_row(row, &tmp);
	struct tag_pass *t = arg;
	int rc;

	t->row = r;
	t->rec = NULL;
	t->last = r->post_id;
	t->nrows++;
	rc = json_array_each(r->tags_json, pass_tag, t);
	if (t->rec && !t->rec->refs) {
		free(t->rec->json);
		free(t->rec);
	}
	t->rec = NULL;
	signed_row_release(r, &tmp);
	return rc;
}

static int render_tags(struct store *db, const struct tag_list *tags)
{
	struct tag_pass t = {
		.pages = xcalloc(tags->n ? tags->n : 1, sizeof(*t.pages)),
		.npages = tags->n,
		.pending = tags->n,
	};
	struct feed_query q = fq;
	int64_t next;
	int rc = 0;

	for (int i = 0; i < tags->n; i++)
		t.pages[i].name = tags->v[i];
	if (t.npages)
		qsort(t.pages, t.npages, sizeof(*t.pages), page_cmp);
	q.tag = NULL;
	q.limit = PASS_ROWS;
	q.before = 0;
	while (t.pending) {
		next = 0;
		t.nrows = 0;
		if ((rc = store_feed(db, &q, pass_row, &t, &next)) || !next)
			break;
		q.before = t.last;
	}
	for (int i = 0; i < t.npages; i++) {
		if (t.pages[i].written)
			continue;
		if (!rc)
			rc = tag_page_write(&t.pages[i], 0);
		else {
			for (int k = 0; k < t.pages[i].n; k++)
				rec_unref(t.pages[i].posts[k]);
			free(t.pages[i].posts);
		}
	}
	free(t.pages);
	return rc;
}

static int render(struct store *db)
{
	struct strbuf atom = STRBUF_INIT, ver = STRBUF_INIT;
	struct tag_list tags = { NULL, 0 };
	int64_t version;
	char *stamp = xstrfmt("%s/.version", out_dir);
	int rc;
	FILE *f;

	if ((rc = store_feed_version(db, &version)))
		goto out;
	sb_addf(&ver, "%lld %s %s %s %d\n", (long long)version, fq.status ? fq.status : "all",
		fq.user ? fq.user : "-", fq.base_url, fq.limit);
	/* signed URLs expire: a presigned feed is made anew every time */
	if (!presign_secs && (f = fopen(stamp, "r"))) {
		char line[1024] = "";
		if (fgets(line, sizeof(line), f) && !strcmp(line, ver.buf)) {
			fclose(f);
			info("feed unchanged since the last render (version %lld)", (long long)version);
			goto out;
		}
		fclose(f);
	}
	if ((rc = render_page(db, "index.json", NULL, &atom)))
		goto out;
	if ((rc = store_feed_tags(db, fq.status, collect_tag, &tags)))
		goto out;
	if ((rc = render_tags(db, &tags)))
		goto out;
	struct strbuf doc = STRBUF_INIT;
	char now[64];
	time_t t = time(NULL);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	sb_addf(&doc, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
		"  <title>memedroid</title>\n  <id>urn:memedroid:feed</id>\n"
		"  <updated>%s</updated>\n", now);
	sb_add(&doc, atom.buf, atom.len);
	sb_adds(&doc, "</feed>\n");
	if (write_atomic(out_dir, "atom.xml", doc.buf, doc.len) ||
	    write_atomic(out_dir, ".version", ver.buf, ver.len))
		rc = MD_EXIT_IOERR;
	sb_release(&doc);
	if (!rc)
		info("feed rendered: version %lld, %d tag%s", (long long)version, tags.n,
		     tags.n == 1 ? "" : "s");
out:
	for (int i = 0; i < tags.n; i++)
		free(tags.v[i]);
	free(tags.v);
	free(stamp);
	sb_release(&atom);
	sb_release(&ver);
	return rc;
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-feed", synopsis, NULL, options, on_opt,
				NULL);
	struct store *db;
	int64_t next = 0;
	int rc;

	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
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
	if (out_dir) {
		rc = render(db);
		store_close(db);
		goto out;
	}
	rc = store_feed(db, &fq, print_row, NULL, &next);
	store_close(db);
	if (!rc && next) {
		struct emit e;
		char cur[24];
		xsnprintf(cur, sizeof(cur), "%lld", (long long)next);
		emit_begin(&e, cli.json);
		if (!cli.json)
			emit_str(&e, "next", "next");
		emit_str(&e, "next", cur);
		if (emit_end(&e, stdout))
			rc = MD_EXIT_IOERR;
	}
out:
	free(base);
	if (st.ops)
		storage_close(&st);
	return cli_finish(&cli, rc);
}
