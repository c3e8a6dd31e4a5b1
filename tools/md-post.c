/*
 * md-post - posts, removed.
 *
 *   md-post del [-n] ID... | -        these posts (ids also from stdin)
 *   md-post del [-n] --user NAME      every post of a user
 *   md-post del [-n] --tag TAG        every post with a tag
 *
 * The posts go in one transaction, with every media no post uses any
 * more (its jobs, renditions and row); after the commit the stored files
 * of those media are removed (content.h says why a crash in between is
 * harmless).  Every post, job, media and file removed is printed, one
 * record each; --dry-run prints the same and changes nothing.
 */
#include "cli.h"
#include "content.h"
#include "exits.h"
#include "log.h"
#include "ref.h"
#include "storage.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char synopsis[] =
	"usage: md-post [common options] del [-n|--dry-run] ID... | -\n"
	"       md-post [common options] del [-n|--dry-run] --user NAME | --tag TAG\n";

static const char commands[] =
	"  del ID...       remove these posts ('-': ids from stdin, the first field of\n"
	"                  each line, as md-ingest prints them), and every media no post\n"
	"                  uses any more, with its jobs, renditions and stored files\n";

enum { OPT_USER = OPT_TOOL_BASE, OPT_TAG };

static const struct cli_option options[] = {
	{ 'n', "dry-run", NULL, "print what would be removed, remove nothing" },
	{ OPT_USER, "user", "NAME", "del: every post of this user" },
	{ OPT_TAG, "tag", "TAG", "del: every post with this tag" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct post_selector sel;
static int dry_run, nerr, werr;

static int on_opt(void *ctx, int o, const char *arg)
{
	switch (o) {
	case 'n': dry_run = 1; break;
	case OPT_USER:
		if (!user_name_valid(arg))
			usage_error(&cli, "bad --user '%s'", arg);
		sel.user = arg;
		break;
	case OPT_TAG:
		if (!*arg || strlen(arg) > 64)
			usage_error(&cli, "bad --tag '%s'", arg);
		sel.tag = arg;
		break;
	default: return -1;
	}
	return 0;
}

static void add_id(int64_t **ids, int *n, int64_t id)
{
	if (!(*n & (*n - 1)) || !*n)
		*ids = xrealloc(*ids, (size_t)(*n ? *n * 2 : 1) * sizeof(**ids));
	(*ids)[(*n)++] = id;
}

/* The post id of each stdin line; a line without one is counted in nerr. */
static void read_stdin_ids(int64_t **ids, int *n)
{
	char *line = NULL, *ref;
	size_t cap = 0;
	ssize_t len;
	int64_t id;

	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		enum ref_line what = ref_from_line(line, (size_t)len, &ref);
		if (what == REF_SKIP)
			continue;
		if (what == REF_OK && ref_is_post_id(ref, &id)) {
			add_id(ids, n, id);
		} else {
			logkv(LOG_ERROR, "not a post id", "ref", ref, (char *)NULL);
			nerr++;
		}
		free(ref);
	}
	free(line);
}

/* The ids of the operands, and of stdin for "-". */
static void read_ids(char **argv, int argc, int64_t **ids, int *n)
{
	int from_stdin = 0;
	int64_t id;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-"))
			from_stdin = 1;
		else if (ref_is_post_id(argv[i], &id))
			add_id(ids, n, id);
		else
			usage_error(&cli, "'%s' is not a post id", argv[i]);
	}
	if (from_stdin)
		read_stdin_ids(ids, n);
}

/* Each asked id that the removal did not take is reported. */
static void report_missing(const struct removal *r)
{
	for (int i = 0; i < sel.nids; i++) {
		int found = 0;

		for (int k = 0; k < r->nposts && !found; k++)
			found = r->posts[k].id == sel.ids[i];
		if (found)
			continue;
		char id[24];
		xsnprintf(id, sizeof(id), "%lld", (long long)sel.ids[i]);
		logkv(LOG_ERROR, "no such post", LOG_NUM "post_id", id, (char *)NULL);
		nerr++;
	}
}

static int cmd_del(struct store *db, const struct storage *st)
{
	struct removal r;
	int rc = store_posts_remove(db, &sel, dry_run, &r);

	if (!rc) {
		report_missing(&r);
		werr |= content_emit(&r, cli.json) != 0;
		rc = content_files_remove(st, db, &r, dry_run, cli.json, &werr);
		if (!r.nposts && !sel.nids)
			logkv(LOG_INFO, "no post matches", "user", sel.user, "tag", sel.tag,
			      (char *)NULL);
		if (dry_run)
			logkv(LOG_INFO, "dry run: nothing removed", (char *)NULL);
		if (!rc)
			rc = md_exit_for(r.nposts || !sel.nids, nerr);
	}
	removal_release(&r);
	return rc;
}

int main(int argc, char **argv)
{
	int i = cli_start_verb_table(&cli, argc, argv, "md-post", synopsis, commands, options,
				     on_opt, NULL);
	int64_t *ids = NULL;
	struct storage st;
	struct store *db;
	int n = 0, rc;

	if (i >= argc)
		usage_error(&cli, "which command? del");
	if (strcmp(argv[i], "del"))
		usage_error(&cli, "unknown command '%s': del", argv[i]);
	i++;
	if ((sel.user != NULL) + (sel.tag != NULL) + (i < argc) != 1)
		usage_error(&cli, "del takes post ids, or --user NAME, or --tag TAG");
	read_ids(argv + i, argc - i, &ids, &n);
	sel.ids = ids;
	sel.nids = n;
	if (i < argc && !n) {
		free(ids);
		return cli_finish(&cli, nerr ? MD_EXIT_DATAERR : 0);
	}
	if (storage_open(&st, cli.conf.storage, &cli.conf.s3)) {
		free(ids);
		return cli_finish(&cli, MD_EXIT_CONFIG);
	}
	if (!(rc = store_open(cli.conf.db_url, 0, &db))) {
		rc = cmd_del(db, &st);
		store_close(db);
	}
	storage_close(&st);
	free(ids);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	return cli_finish(&cli, rc);
}
