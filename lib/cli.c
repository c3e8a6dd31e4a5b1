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

/* what the common options said, applied once all are read */
struct opts_seen {
	const char *config, *db, *storage, *lfmt, *llevel;
	int npend;
};

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

/*
 * Collect options from argv[0..argc) (argv[0] is the program, or the verb)
 * until the first operand or "--"; returns the index of the first operand.
 * after_verb: the options of a verb's own part, where --help and --version
 * are refused (they would answer 0 for whatever the operands are).
 */
static int collect(struct cli *cli, int argc, char **argv, int after_verb, struct opts_seen *seen)
{
	int c;

	opterr = 0;
	optind = 0;     /* glibc: start afresh on this array */
	while ((c = getopt_long(argc, argv, short_opts, all_opts, NULL)) != -1) {
		switch (c) {
		case 'c': seen->config = optarg; break;
		case OPT_DB: seen->db = optarg; break;
		case OPT_STORAGE: seen->storage = optarg; break;
		case OPT_LOG_FORMAT: seen->lfmt = optarg; break;
		case OPT_LOG_LEVEL: seen->llevel = optarg; break;
		case 'q': cli->quiet = 1; break;
		case 'v': cli->verbose = 1; break;
		case OPT_JSON: cli->json = 1; break;
		case 'h':
		case 'V':
			if (after_verb)
				usage_error(cli, "'%s' goes before the command ('%s %s')",
					    argv[optind - 1], cli->tool, argv[optind - 1]);
			if (c == 'h') {
				fputs(cli->usage, stdout);
			} else {
				printf("%s %s\n", cli->tool, MD_VERSION);
			}
			exit(close_stdout() ? MD_EXIT_IOERR : 0);
		case ':':
			usage_error(cli, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			if (optopt)
				usage_error(cli, "unknown option '-%c'", optopt);
			usage_error(cli, "unknown option '%s'", argv[optind - 1]);
		default:
			pend[seen->npend].opt = c;
			pend[seen->npend].arg = optarg;
			seen->npend++;
		}
	}
	return optind;
}

/*
 * Check the common options' values, read the config file and the
 * environment, and lay the flags over them; the log is set up as soon as
 * the log flags are known, so that reading the config logs with them.
 * Exits on a bad value (64) or a bad config (78).
 */
static void configure(struct cli *cli, const struct opts_seen *seen)
{
	const char *config = seen->config, *db = seen->db, *storage = seen->storage;
	const char *lfmt = seen->lfmt, *llevel = seen->llevel;
	int rc, fmt = LOG_FORMAT_AUTO;

	if (lfmt && log_parse_format(lfmt, &fmt))
		usage_error(cli, "--log-format must be human, text or json, not '%s'", lfmt);
	int lvl = LOG_INFO;
	if (llevel && log_parse_level(llevel, &lvl))
		usage_error(cli, "--log-level must be error, warn, info or debug, not '%s'", llevel);

	conf_init(&cli->conf);
	/* the log flags apply to what reading the config says, too */
	if (lfmt)
		log_set_format(fmt);
	if (llevel)
		log_set_level(lvl);
	if (cli->verbose)
		log_set_level(LOG_DEBUG);
	if (cli->quiet)
		log_set_level(LOG_ERROR);
	rc = conf_load(&cli->conf, config);
	if (rc)
		exit(rc);
	if (cli->conf.path)
		logkv(LOG_DEBUG, "config file read", "config", cli->conf.path, (char *)NULL);
	else
		logkv(LOG_DEBUG, "no config file", (char *)NULL);
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
		cli->conf.log_format = fmt;
	if (llevel)
		cli->conf.log_level = lvl;
	if (cli->verbose)
		cli->conf.log_level = LOG_DEBUG;
	if (cli->quiet)
		cli->conf.log_level = LOG_ERROR;
	log_set_format(cli->conf.log_format);
	log_set_level(cli->conf.log_level);
	/* who may read what the tool makes: storage.umask (027 until read) */
	umask((mode_t)cli->conf.umask);
}

static int start(struct cli *cli, int argc, char **argv, const char *tool, const char *usage,
		 const char *shortopts, const struct option *longopts, cli_opt_fn fn, void *ctx,
		 int verbs)
{
	size_t ncommon = sizeof(common_long) / sizeof(common_long[0]), ntool = 0;
	struct opts_seen seen = { 0 };
	int i;

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
	/* '+': options end at the first operand, whatever follows it */
	short_opts = xstrfmt("+:c:qvhV%s", shortopts ? shortopts : "");

	/* options are collected first: the config must be read before the
	 * tool's own options are applied over it */
	pend = xcalloc(argc + 1, sizeof(*pend));

	i = collect(cli, argc, argv, 0, &seen);
	if (verbs && i < argc && strcmp(argv[i - 1], "--")) {
		/* the verb's options sit between it and its operands; the
		 * verb is moved next to its operands, after those options */
		int verb = i, first = verb + collect(cli, argc - verb, argv + verb, 1, &seen);
		char *name = argv[verb];

		memmove(argv + verb, argv + verb + 1, (size_t)(first - verb - 1) * sizeof(*argv));
		argv[first - 1] = name;
		i = first - 1;
	}
	free(all_opts);
	free(short_opts);
	all_opts = NULL;
	short_opts = NULL;

	configure(cli, &seen);
	for (int k = 0; k < seen.npend; k++)
		if (fn(ctx, pend[k].opt, pend[k].arg))
			usage_error(cli, "bad value for an option");
	free(pend);
	pend = NULL;
	return i;
}

/* made from a tool's table; kept reachable, as the usage is until exit */
static char *table_usage, *table_short;
static struct option *table_long;

static void add_option_line(struct strbuf *sb, const struct cli_option *o)
{
	size_t start = sb->len;
	const char *h;

	if (o->id > 0 && o->id < 0x100)
		sb_addf(sb, "  -%c%s%s", o->id, o->name ? ", --" : "", o->name ? o->name : "");
	else
		sb_addf(sb, "      --%s", o->name);
	if (o->arg)
		sb_addf(sb, " %s", o->arg);
	do
		sb_addch(sb, ' ');
	while (sb->len - start < 24);
	for (h = o->help; *h; h++) {
		sb_addch(sb, *h);
		if (*h == '\n')
			sb_addf(sb, "%24s", "");
	}
	sb_addch(sb, '\n');
}

/* The --help text, the short string and the long array of a table. */
static void from_table(const char *synopsis, const char *body, const struct cli_option *opts)
{
	struct strbuf help = STRBUF_INIT, shorts = STRBUF_INIT;
	size_t n = 0, k = 0;

	while (opts && opts[n].id)
		n++;
	table_long = xcalloc(n + 1, sizeof(*table_long));
	sb_adds(&help, synopsis);
	sb_addch(&help, '\n');
	if (body)
		sb_adds(&help, body);
	for (size_t i = 0; i < n; i++) {
		const struct cli_option *o = &opts[i];

		if (o->help)
			add_option_line(&help, o);
		if (o->id < 0x100 && o->help) {
			sb_addch(&shorts, o->id);
			if (o->arg)
				sb_addch(&shorts, ':');
		}
		if (o->name)
			table_long[k++] = (struct option){ o->name, o->arg ? required_argument :
							    no_argument, NULL, o->id };
	}
	sb_adds(&help, "common options: -c FILE, --db URL, --storage URL, --log-format human|text|json,\n"
		"  --log-level LEVEL, -q, -v, --json, -h, -V\n");
	table_usage = sb_detach(&help, NULL);
	table_short = sb_detach(&shorts, NULL);
}

int cli_start_table(struct cli *cli, int argc, char **argv, const char *tool,
		    const char *synopsis, const char *body, const struct cli_option *opts,
		    cli_opt_fn fn, void *ctx)
{
	from_table(synopsis, body, opts);
	return start(cli, argc, argv, tool, table_usage, table_short, table_long, fn, ctx, 0);
}

int cli_start_verb_table(struct cli *cli, int argc, char **argv, const char *tool,
			 const char *synopsis, const char *body, const struct cli_option *opts,
			 cli_opt_fn fn, void *ctx)
{
	from_table(synopsis, body, opts);
	return start(cli, argc, argv, tool, table_usage, table_short, table_long, fn, ctx, 1);
}

void cli_extra_operand(const struct cli *cli, const char *arg)
{
	if (arg[0] == '-' && arg[1])
		usage_error(cli, "unexpected argument '%s' (options go before operands)", arg);
	usage_error(cli, "unexpected argument '%s'", arg);
}

int cli_finish(struct cli *cli, int code)
{
	if (close_stdout() && !code)
		code = MD_EXIT_IOERR;
	conf_release(&cli->conf);
	return code;
}
