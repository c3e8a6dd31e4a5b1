#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "strbuf.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct option common_long[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "storage", required_argument, NULL, OPT_STORAGE },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};

static const struct cli *usage_cli;
/* kept reachable so an early exit() is not a leak */
static struct option *all_opts;
static char *short_opts;
static struct pending { int opt; char *arg; } *pend;

void usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli->tool);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s", cli->usage);
	exit(MD_EXIT_USAGE);
}

int cli_start(struct cli *cli, int argc, char **argv, const char *tool, const char *usage,
	      const char *shortopts, const struct option *longopts, cli_opt_fn fn, void *ctx)
{
	size_t ncommon = sizeof(common_long) / sizeof(common_long[0]), ntool = 0;
	const char *config = NULL, *db = NULL, *storage = NULL, *lfmt = NULL, *llevel = NULL;
	int c, rc;

	memset(cli, 0, sizeof(*cli));
	cli->tool = tool;
	cli->usage = usage;
	usage_cli = cli;
	umask(027);
	log_init(tool);
	while (longopts && longopts[ntool].name)
		ntool++;
	all_opts = xcalloc(ncommon + ntool + 1, sizeof(*all_opts));
	memcpy(all_opts, common_long, sizeof(common_long));
	if (ntool)
		memcpy(all_opts + ncommon, longopts, ntool * sizeof(*all_opts));
	short_opts = xstrfmt(":c:qvhV%s", shortopts ? shortopts : "");

	/* options are collected first: the config must be read before the
	 * tool's own options are applied over it */
	pend = xcalloc(argc + 1, sizeof(*pend));
	int npend = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, short_opts, all_opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case OPT_DB: db = optarg; break;
		case OPT_STORAGE: storage = optarg; break;
		case OPT_LOG_FORMAT: lfmt = optarg; break;
		case OPT_LOG_LEVEL: llevel = optarg; break;
		case 'q': cli->quiet = 1; break;
		case 'v': cli->verbose = 1; break;
		case OPT_JSON: cli->json = 1; break;
		case 'h':
			fputs(usage, stdout);
			exit(close_stdout() ? MD_EXIT_IOERR : 0);
		case 'V':
			printf("%s %s\n", tool, MD_VERSION);
			exit(close_stdout() ? MD_EXIT_IOERR : 0);
		case ':':
			usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				usage_error(cli, "unknown option '-%c'", optopt);
			usage_error(cli, "unknown option '%s'", argv[optind - 1]);
		default:
			pend[npend].opt = c;
			pend[npend].arg = optarg;
			npend++;
		}
	}
	free(all_opts);
	free(short_opts);
	all_opts = NULL;
	short_opts = NULL;

	if (lfmt) {
		if (strcmp(lfmt, "text") && strcmp(lfmt, "json"))
			usage_error(cli, "--log-format must be text or json, not '%s'", lfmt);
	}
	int lvl = LOG_INFO;
	if (llevel && log_parse_level(llevel, &lvl))
		usage_error(cli, "--log-level must be error, warn, info or debug, not '%s'", llevel);

	conf_init(&cli->conf);
	/* the log flags apply to what reading the config says, too */
	if (lfmt)
		log_set_json(!strcmp(lfmt, "json"));
	if (llevel)
		log_set_level(lvl);
	if (cli->verbose)
		log_set_level(LOG_DEBUG);
	if (cli->quiet)
		log_set_level(LOG_ERROR);
	rc = conf_load(&cli->conf, config);
	if (rc)
		exit(rc);
	conf_apply_env(&cli->conf);
	if (db) {
		free(cli->conf.db_url);
		cli->conf.db_url = xstrdup(db);
	}
	if (storage) {
		free(cli->conf.storage);
		cli->conf.storage = xstrdup(storage);
	}
	if (lfmt)
		cli->conf.log_json = !strcmp(lfmt, "json");
	if (llevel)
		cli->conf.log_level = lvl;
	if (cli->verbose)
		cli->conf.log_level = LOG_DEBUG;
	if (cli->quiet)
		cli->conf.log_level = LOG_ERROR;
	log_set_json(cli->conf.log_json);
	log_set_level(cli->conf.log_level);

	for (int i = 0; i < npend; i++)
		if (fn(ctx, pend[i].opt, pend[i].arg))
			usage_error(cli, "bad value for an option");
	free(pend);
	pend = NULL;
	return optind;
}

int cli_finish(struct cli *cli, int code)
{
	if (close_stdout() && !code)
		code = MD_EXIT_IOERR;
	conf_release(&cli->conf);
	return code;
}
