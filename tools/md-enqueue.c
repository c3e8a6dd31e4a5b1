/*
 * md-enqueue - create jobs: one per (media, profile).
 *
 * Reads post ids or media hashes from the arguments, or the first field
 * of each stdin line (so md-ingest's output pipes in; its JSON lines too).
 * Never duplicates a job that is available, running or succeeded for the
 * same media and profile unless --force; skips profiles that do not apply
 * to the media's kind.  Everything goes in one transaction.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "progress.h"
#include "ref.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char synopsis[] =
	"usage: md-enqueue [-qv] [-c FILE] [--db URL] [--storage URL] [--log-format FMT]\n"
	"                  [--log-level LEVEL] [--json] -p PROFILES [--priority N]\n"
	"                  [--delay DUR | --at TIME] [--max-attempts N] [--queue NAME]\n"
	"                  [-f|--force] [ID | SHA256]... | -\n";

enum { OPT_PRIORITY = OPT_TOOL_BASE, OPT_DELAY, OPT_AT, OPT_MAX_ATTEMPTS, OPT_QUEUE };

static const struct cli_option options[] = {
	{ 'p', "profiles", "LIST", "profiles to run, comma-separated (e.g. mp4,thumb)" },
	{ 'p', "profile", "LIST", NULL },
	{ OPT_PRIORITY, "priority", "N", "lower runs first (default 0)" },
	{ OPT_DELAY, "delay", "DUR", "run no earlier than DUR from now (30s, 5m, 1h)" },
	{ OPT_AT, "at", "TIME", "run no earlier than TIME (2026-11-25T10:00:00Z or @EPOCH)" },
	{ OPT_MAX_ATTEMPTS, "max-attempts", "N", "attempts before a job is dead" },
	{ OPT_QUEUE, "queue", "NAME", "queue instead of the profile's" },
	{ 'f', "force", NULL, "add jobs even if one exists for the media and profile" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct enqueue_opts eo;
static const char *profile_list;
static int nerr, nok, werr;
static struct progress prog;

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;
	double d;

	switch (o) {
	case 'p': profile_list = arg; break;
	case OPT_PRIORITY:
		if (parse_int(arg, -1000000, 1000000, &v))
			usage_error(&cli, "bad --priority '%s'", arg);
		eo.priority = (int)v;
		break;
	case OPT_DELAY:
		if (parse_duration(arg, &d))
			usage_error(&cli, "bad --delay '%s' (0s to 36525d, like 30s, 5m, 1h)", arg);
		eo.run_at = (double)time(NULL) + d;
		break;
	case OPT_AT:
		if (parse_time(arg, &d))
			usage_error(&cli, "bad --at '%s' (a UTC time from 1970 to 9999, like "
				    "2026-11-25T10:00:00Z, or @EPOCH)", arg);
		eo.run_at = d;
		break;
	case OPT_MAX_ATTEMPTS:
		if (parse_int(arg, 1, 1000, &v))
			usage_error(&cli, "bad --max-attempts '%s'", arg);
		eo.max_attempts = (int)v;
		break;
	case OPT_QUEUE:
		if (!*arg || strlen(arg) > 64)
			usage_error(&cli, "bad --queue '%s'", arg);
		eo.queue = arg;
		break;
	case 'f': eo.force = 1; break;
	default: return -1;
	}
	return 0;
}

static void result_record(const char *ref, int64_t job_id, const char *media,
			  const char *profile, const char *queue, const char *state,
			  const char *reason)
{
	struct emit e;

	if (!strcmp(state, "error")) {
		nerr++;
		logkv(LOG_ERROR, reason, "ref", ref, (char *)NULL);
		if (cli.json) {
			emit_begin(&e, 1);
			emit_str(&e, "ref", ref);
			emit_str(&e, "error", reason);
			werr |= emit_end(&e, stdout);
		}
		return;
	}
	nok++;
	if (!strcmp(state, "skipped")) {
		logkv(LOG_INFO, "skipped", "media", media, "profile", profile,
		      "reason", reason, (char *)NULL);
		if (cli.json) {
			emit_begin(&e, 1);
			emit_str(&e, "media", media);
			emit_str(&e, "profile", profile);
			emit_str(&e, "state", "skipped");
			emit_str(&e, "reason", reason);
			werr |= emit_end(&e, stdout);
		}
		return;
	}
	emit_begin(&e, cli.json);
	emit_int(&e, "job_id", job_id);
	emit_str(&e, "media", media);
	emit_str(&e, "profile", profile);
	emit_str(&e, "queue", queue);
	emit_str(&e, "state", state);
	werr |= emit_end(&e, stdout);
}

/* A record per (ref, profile), in input order: a ref is done at its first. */
static void on_result(void *arg, const char *ref, int64_t job_id, const char *media,
		      const char *profile, const char *queue, const char *state,
		      const char *reason)
{
	static const char *last;

	progress_clear_out();
	result_record(ref, job_id, media, profile, queue, state, reason);
	if (ref != last)
		progress_add(&prog, 1, 0, !strcmp(state, "error"));
	last = ref;
}

/* The profiles of -p, each known to the configuration; *np of them. */
static const struct profile **parse_profiles(int *np)
{
	const struct profile **pv = NULL;
	char *save = NULL, *list;

	if (!profile_list)
		usage_error(&cli, "which profiles? give -p PROFILES (e.g. -p mp4,thumb)");
	list = xstrdup(profile_list);
	*np = 0;
	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		const struct profile *pf = conf_profile(&cli.conf, p);
		if (!pf)
			usage_error(&cli, "unknown profile '%s'", p);
		pv = xrealloc(pv, (*np + 1) * sizeof(*pv));
		pv[(*np)++] = pf;
	}
	free(list);
	if (!*np)
		usage_error(&cli, "-p needs at least one profile");
	return pv;
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-enqueue", synopsis, NULL, options, on_opt,
				NULL);
	char **refs = NULL;
	const struct profile **pv;
	size_t nrefs = 0, cap = 0;
	struct store *db;
	int np, rc;

	pv = parse_profiles(&np);
	int from_stdin = i >= argc;
	for (int k = i; k < argc; k++) {
		if (!strcmp(argv[k], "-")) {
			from_stdin = 1;
			continue;
		}
		if (!ref_valid(argv[k]))
			usage_error(&cli, "'%s' is neither a post id nor a sha256", argv[k]);
		if (nrefs == cap)
			refs = xrealloc(refs, (cap = cap ? cap * 2 : 64) * sizeof(*refs));
		refs[nrefs++] = xstrdup(argv[k]);
	}
	if (from_stdin)
		nerr += (int)ref_read(stdin, 0, &refs, &nrefs, &cap);
	/* on a terminal, once every id is read: the ids done of them all,
	 * the bad ones among them failed */
	if (nrefs + (size_t)nerr > 1) {
		progress_start(&prog, "ids", cli.quiet);
		prog.done = prog.failed = nerr;
		progress_total(&prog, (long long)nrefs + nerr, -1);
	}

	eo.profiles = pv;
	eo.nprofiles = np;
	eo.default_attempts = cli.conf.max_attempts;
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		goto out;
	if (nrefs)
		rc = store_enqueue(db, refs, (int)nrefs, &eo, on_result, NULL);
	store_close(db);
	if (!rc) {
		if (werr)
			rc = MD_EXIT_IOERR;
		else if (!nrefs && !nerr)
			rc = 0;
		else
			rc = md_exit_for(nok, nerr);
	}
out:
	progress_end(&prog);
	for (size_t k = 0; k < nrefs; k++)
		free(refs[k]);
	free(refs);
	free(pv);
	return cli_finish(&cli, rc);
}
