/*
 * md-feed - the read side: posts newest first, with tags and renditions,
 * one query per page, keyset pagination.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: md-feed [common options] [-t TAG|--tag TAG] [-u USER|--user USER]\n"
	"               [--status STATUS|all] [-n N|--limit N] [--before CURSOR]\n"
	"               [--base-url URL]\n"
	"\n"
	"  -t, --tag TAG        only posts with this tag\n"
	"  -u, --user USER      only posts of this user\n"
	"      --status STATUS  pending, processing, completed (default), failed or all\n"
	"  -n, --limit N        posts per page (default 20, at most 1000)\n"
	"      --before CURSOR  the page after CURSOR (printed as 'next' by the last page)\n"
	"      --base-url URL   make rendition URLs absolute\n"
	"common options: -c FILE, --db URL, --storage DIR, --log-format text|json,\n"
	"  --log-level LEVEL, -q, -v, --json, -h, -V\n";

enum { OPT_STATUS = OPT_TOOL_BASE, OPT_BEFORE, OPT_BASE_URL };

static const struct option longopts[] = {
	{ "tag", required_argument, NULL, 't' },
	{ "user", required_argument, NULL, 'u' },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "limit", required_argument, NULL, 'n' },
	{ "before", required_argument, NULL, OPT_BEFORE },
	{ "base-url", required_argument, NULL, OPT_BASE_URL },
	{ NULL, 0, NULL, 0 }
};

static struct cli cli;
static struct feed_query fq = { .status = "completed", .limit = 20 };
static char *base;

static int on_opt(void *ctx, int o, const char *arg)
{
	static const char *statuses[] = { "pending", "processing", "completed", "failed" };
	long long v;

	switch (o) {
	case 't': fq.tag = *arg == '#' ? arg + 1 : arg; break;
	case 'u': fq.user = arg; break;
	case OPT_STATUS:
		if (!strcmp(arg, "all")) {
			fq.status = NULL;
			break;
		}
		for (size_t i = 0; i < 4; i++)
			if (!strcmp(arg, statuses[i])) {
				fq.status = statuses[i];
				return 0;
			}
		usage_error(&cli, "bad --status '%s': pending, processing, completed, failed or all", arg);
	case 'n':
		if (parse_int(arg, 1, 1000, &v))
			usage_error(&cli, "bad --limit '%s': 1 to 1000", arg);
		fq.limit = (int)v;
		break;
	case OPT_BEFORE: {
		int64_t id;
		if (!ref_is_post_id(arg, &id))
			usage_error(&cli, "bad cursor '%s'", arg);
		fq.before = id;
		break;
	}
	case OPT_BASE_URL: {
		size_t n = strlen(arg);
		free(base);
		base = n && arg[n - 1] != '/' ? xstrfmt("%s/", arg) : xstrdup(arg);
		break;
	}
	default: return -1;
	}
	return 0;
}

/* One post as a record; shared shape with md-finalize and md-status. */
static int print_row(void *arg, const struct feed_row *r)
{
	struct emit e;
	struct strbuf tags = STRBUF_INIT, rend = STRBUF_INIT;
	int rc;

	emit_begin(&e, cli.json);
	emit_int(&e, "post_id", r->post_id);
	if (cli.json) {
		emit_str(&e, "user", r->user);
		emit_str(&e, "caption", r->caption);
		emit_raw(&e, "tags", r->tags_json ? r->tags_json : "[]", NULL);
		emit_str(&e, "status", r->status);
		emit_str(&e, "created_at", r->created_at);
		emit_str(&e, "media", r->media);
		emit_str(&e, "kind", r->kind);
		emit_str(&e, "trace_id", r->trace_id);
		emit_raw(&e, "renditions", r->renditions_json ? r->renditions_json : "{}", NULL);
		emit_str(&e, "error", r->error);
	} else {
		json_flatten(r->tags_json, &tags);
		json_flatten(r->renditions_json, &rend);
		emit_str(&e, "created_at", r->created_at);
		emit_str(&e, "user", r->user);
		emit_str(&e, "status", r->status);
		emit_str(&e, "kind", r->kind);
		emit_str(&e, "media", r->media);
		emit_str(&e, "tags", tags.buf);
		emit_str(&e, "renditions", rend.buf);
		emit_str(&e, "caption", r->caption);
		emit_str(&e, "error", r->error);
	}
	rc = emit_end(&e, stdout) ? MD_EXIT_IOERR : 0;
	sb_release(&tags);
	sb_release(&rend);
	return rc;
}

int main(int argc, char **argv)
{
	int i = cli_start(&cli, argc, argv, "md-feed", usage, "t:u:n:", longopts, on_opt, NULL);
	struct store *db;
	int64_t next = 0;
	int rc;

	if (i < argc)
		usage_error(&cli, "unexpected argument '%s'", argv[i]);
	fq.base_url = base ? base : "";
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		goto out;
	rc = store_feed(db, &fq, print_row, NULL, &next);
	store_close(db);
	if (!rc && next) {
		struct emit e;
		char cur[24];
		snprintf(cur, sizeof(cur), "%lld", (long long)next);
		emit_begin(&e, cli.json);
		if (!cli.json)
			emit_str(&e, "next", "next");
		emit_str(&e, "next", cur);
		if (emit_end(&e, stdout))
			rc = MD_EXIT_IOERR;
	}
out:
	free(base);
	return cli_finish(&cli, rc);
}
