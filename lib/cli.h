/*
 * cli.h - the skeleton every md-* tool shares: common options, the
 * configuration search, logging set-up, --help and --version.
 *
 * Common options: -c/--config FILE, --db URL, --storage URL,
 * --log-format human|text|json, --log-level LEVEL, -q, -v, --json, -h/--help,
 * -V/--version.  Precedence: flag > environment > config file > default.
 *
 * Options come before operands (POSIX): parsing stops at the first operand
 * or at "--", so an operand that begins with '-' (a file, a user name) is
 * never read as an option, wherever it comes from.
 *
 * Each tool writes each of its options once, in a table of struct
 * cli_option: getopt_long's short string and long array and the option
 * lines of --help are made from it, so the parser and the help cannot
 * disagree.  --help prints the synopsis ("usage: ..." lines), a blank
 * line, the body (the verbs or the operands, or NULL), a line per option
 * and the common options.
 *
 * Call order in main():
 *   struct cli cli;
 *   int i = cli_start_table(&cli, argc, argv, "md-x", synopsis, body, options, fn, ctx);
 *   ...argv[i..] are the operands; cli.conf holds the settings...
 *   return cli_finish(&cli, code);
 *
 * Tools made of verbs (md-db, md-job, md-user) call cli_start_verb_table()
 * instead: "md-x [options] VERB [options] [--] OPERAND...".  The options
 * between the verb and its operands are parsed as well (the same table),
 * except --help and --version, which are a usage error there: they would
 * exit 0 whatever the operands are.  It returns the index of the verb;
 * argv is reordered so that the verb's operands follow it directly.
 *
 * cli_start_table() does not return on --help (exit 0), --version (exit 0),
 * a usage error (message and usage on stderr, exit 64) or a configuration
 * error (exit 78).  The tool's own options go to fn(ctx, opt, optarg),
 * which returns 0 or -1 for a bad value (after printing why).
 */
#ifndef MD_CLI_H
#define MD_CLI_H

#include <getopt.h>

#include "conf.h"

enum {
	OPT_COMMON_BASE = 0x1000,
	OPT_DB,
	OPT_STORAGE,
	OPT_LOG_FORMAT,
	OPT_LOG_LEVEL,
	OPT_JSON,
	OPT_TOOL_BASE = 0x2000,     /* tools number their long-only options from here */
};

struct cli {
	const char *tool;
	const char *usage;
	struct conf conf;
	int json;
	int quiet;
	int verbose;
};

typedef int (*cli_opt_fn)(void *ctx, int opt, const char *arg);

/*
 * One option of a tool.  id is the letter of its short form ('p' for -p),
 * or for a long-only option a number from OPT_TOOL_BASE; name is its long
 * form without "--" (or NULL); arg names its value ("N", "CMD"), NULL for
 * a flag; help is its line in --help ("\n" starts a continuation line).
 * A row whose help is NULL is an old spelling of the option before it
 * (the same id, another long name): parsed, never listed.
 * A table ends with CLI_OPTIONS_END.  fn() receives id.
 */
struct cli_option {
	int id;
	const char *name;
	const char *arg;
	const char *help;
};
#define CLI_OPTIONS_END { 0, NULL, NULL, NULL }

int cli_start_table(struct cli *cli, int argc, char **argv, const char *tool,
		    const char *synopsis, const char *body, const struct cli_option *opts,
		    cli_opt_fn fn, void *ctx);
int cli_start_verb_table(struct cli *cli, int argc, char **argv, const char *tool,
			 const char *synopsis, const char *body, const struct cli_option *opts,
			 cli_opt_fn fn, void *ctx);

/* A usage error for an operand the tool does not take (exit 64). */
void cli_extra_operand(const struct cli *cli, const char *arg) __attribute__((noreturn));
/* Close stdout (reporting write errors), release, return the exit code. */
int cli_finish(struct cli *cli, int code);
/* Print "md-x: MSG" and the usage on stderr, exit 64. */
void usage_error(const struct cli *cli, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* The version of the suite. */
#define MD_VERSION "0.1.0"

#endif
