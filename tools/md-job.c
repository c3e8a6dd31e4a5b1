/*
 * md-job - job control.
 *
 *   md-job list [filters]   jobs, newest first
 *   md-job show ID...       every field of each job
 *   md-job retry ID...      dead or cancelled jobs back to available
 *   md-job cancel ID...     available, running or dead jobs to cancelled
 *   md-job drop ID...       finished, finalized jobs' rows removed
 *   md-job pause QUEUE...   workers claim none of the queue's jobs
 *   md-job resume QUEUE...  until resumed
 *
 * show, retry, cancel and drop take '-' for the ids of stdin's lines (as
 * list and md-enqueue print them); retry, cancel and drop take each id in
 * its own transaction: a refused id (missing, or in the wrong state) is
 * reported and the others go on.
 */
#include "cli.h"
#include "content.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "log.h"
#include "ref.h"
#include "store.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-job [common options] list [-s STATE|--state STATE] [--queue NAME]\n"
	"              [-p PROFILE|--profile PROFILE] [--media SHA256] [-n N|--limit N]\n"
	"       md-job [common options] show | retry | cancel ID... | -\n"
	"       md-job [common options] drop [--dry-run] ID... | -\n"
	"       md-job [common options] pause | resume QUEUE...\n";

static const char commands[] =
	"  list              jobs, newest first: id, state, queue, profile, media,\n"
	"                    attempts, max_attempts, run_at\n"
	"  show ID...        every field of each job, one 'field<TAB>value' line each\n"
	"  retry ID...       dead or cancelled jobs back to available, attempts reset;\n"
	"                    the media's failed posts back to processing\n"
	"  cancel ID...      available, running or dead jobs to cancelled\n"
	"  drop ID...        remove the rows of succeeded, dead or cancelled jobs that\n"
	"                    md-finalize stamped\n"
	"  pause QUEUE...    workers claim no job of the queue until it is resumed\n"
	"                    (running jobs go on)\n"
	"  resume QUEUE...   workers claim the queue's jobs again\n"
	"  ('-' for the ids: one per stdin line, as list and md-enqueue print them)\n";

enum { OPT_QUEUE = OPT_TOOL_BASE, OPT_MEDIA, OPT_DRY_RUN };

static const struct cli_option options[] = {
	{ 's', "state", "STATE", "list: available, running, succeeded, dead or cancelled" },
	{ OPT_QUEUE, "queue", "NAME", "list: only jobs of this queue" },
	{ 'p', "profile", "PROFILE", "list: only jobs of this profile" },
	{ OPT_MEDIA, "media", "SHA256", "list: only jobs of this media" },
	{ 'n', "limit", "N", "list: at most N jobs (default 100; 0: all)" },
	{ OPT_DRY_RUN, "dry-run", NULL, "drop: print what would be removed, remove nothing" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct job_query jq = { .limit = 100 };
static int filtered, dry_run;
static int werr;

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;
	int k;

	switch (o) {
	case 's':
		if ((k = name_index(job_states, JOB_NSTATES, arg)) >= 0) {
			jq.state = job_states[k];
			filtered = 1;
			break;
		}
		usage_error(&cli, "bad --state '%s': available, running, succeeded, dead or cancelled",
			    arg);
	case OPT_QUEUE: jq.queue = arg; filtered = 1; break;
	case 'p': jq.profile = arg; filtered = 1; break;
	case OPT_MEDIA:
		if (!hash_is_hex(arg))
			usage_error(&cli, "bad --media '%s': a 64-digit lowercase sha256", arg);
		jq.media = arg;
		filtered = 1;
		break;
	case OPT_DRY_RUN: dry_run = 1; break;
	case 'n':
		if (parse_int(arg, 0, 1000000000, &v))
			usage_error(&cli, "bad --limit '%s'", arg);
		jq.limit = (int)v;
		filtered = 1;
		break;
	default: return -1;
	}
	return 0;
}

static int print_list(void *arg, const struct job_info *j)
{
	struct emit e;

	emit_begin(&e, cli.json);
	emit_int(&e, "job_id", j->id);
	emit_str(&e, "state", j->state);
	emit_str(&e, "queue", j->queue);
	emit_str(&e, "profile", j->profile);
	emit_str(&e, "media", j->media);
	emit_int(&e, "attempts", j->attempts);
	emit_int(&e, "max_attempts", j->max_attempts);
	emit_str(&e, "run_at", j->run_at);
	if (cli.json) {
		emit_int(&e, "priority", j->priority);
		emit_str(&e, "locked_by", j->locked_by);
		emit_str(&e, "last_error", j->last_error);
	}
	werr |= emit_end(&e, stdout);
	return 0;
}

static void show_line(const char *field, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	/* one line per field, whatever the value holds */
	sb_adds(&sb, field);
	sb_addch(&sb, '\t');
	tsv_add(&sb, value ? value : "");
	sb_addch(&sb, '\n');
	if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		werr = 1;
	sb_release(&sb);
}

static int print_show(void *arg, const struct job_info *j)
{
	int *seen = arg;
	char num[3][24];

	(*seen)++;
	if (cli.json) {
		struct emit e;

		emit_begin(&e, 1);
		emit_int(&e, "job_id", j->id);
		emit_str(&e, "state", j->state);
		emit_str(&e, "queue", j->queue);
		emit_str(&e, "profile", j->profile);
		emit_str(&e, "media", j->media);
		emit_int(&e, "priority", j->priority);
		emit_int(&e, "attempts", j->attempts);
		emit_int(&e, "max_attempts", j->max_attempts);
		emit_str(&e, "run_at", j->run_at);
		emit_str(&e, "created_at", j->created_at);
		emit_str(&e, "started_at", j->started_at);
		emit_str(&e, "finished_at", j->finished_at);
		emit_str(&e, "finalized_at", j->finalized_at);
		emit_str(&e, "locked_by", j->locked_by);
		emit_str(&e, "lease_until", j->lease_until);
		emit_str(&e, "last_error", j->last_error);
		emit_str(&e, "trace_id", j->trace_id);
		emit_raw(&e, "result", j->result, NULL);
		werr |= emit_end(&e, stdout);
		return 0;
	}
	if (*seen > 1)
		fputc('\n', stdout);
	xsnprintf(num[0], sizeof(num[0]), "%lld", (long long)j->id);
	xsnprintf(num[1], sizeof(num[1]), "%d", j->priority);
	xsnprintf(num[2], sizeof(num[2]), "%d/%d", j->attempts, j->max_attempts);
	show_line("job_id", num[0]);
	show_line("state", j->state);
	show_line("queue", j->queue);
	show_line("profile", j->profile);
	show_line("media", j->media);
	show_line("priority", num[1]);
	show_line("attempts", num[2]);
	show_line("run_at", j->run_at);
	show_line("created_at", j->created_at);
	show_line("started_at", j->started_at);
	show_line("finished_at", j->finished_at);
	show_line("finalized_at", j->finalized_at);
	show_line("locked_by", j->locked_by);
	show_line("lease_until", j->lease_until);
	show_line("last_error", j->last_error);
	show_line("trace_id", j->trace_id);
	show_line("result", j->result);
	return 0;
}

/*
 * The ids of the arguments, or of stdin's lines for '-' (each bad line
 * counted in *nbad); *n is set to their number.  A bad argument is a
 * usage error.
 */
static int64_t *take_ids(char **argv, int *n, int *nbad)
{
	int64_t *ids;

	*nbad = 0;
	if (*n == 1 && !strcmp(argv[0], "-")) {
		char **v = NULL;
		size_t nv = 0, cap = 0;

		*nbad = (int)ref_read(stdin, 1, &v, &nv, &cap);
		ids = xcalloc(nv + 1, sizeof(*ids));
		for (size_t i = 0; i < nv; i++) {
			ref_is_post_id(v[i], &ids[i]);
			free(v[i]);
		}
		free(v);
		*n = (int)nv;
		return ids;
	}
	ids = xcalloc(*n + 1, sizeof(*ids));
	for (int i = 0; i < *n; i++)
		if (!ref_is_post_id(argv[i], &ids[i]))
			usage_error(&cli, "'%s' is not a job id ('-': ids from stdin)", argv[i]);
	return ids;
}

/* A log field for job id */
static const char *id_str(int64_t id, char buf[24])
{
	xsnprintf(buf, 24, "%lld", (long long)id);
	return buf;
}

static int cmd_show(struct store *db, char **argv, int n)
{
	int nok = 0, nbad, rc = 0;
	int64_t *ids = take_ids(argv, &n, &nbad);
	char num[24];

	/* one at a time, so they come out in the order asked */
	for (int i = 0; i < n && !rc; i++) {
		struct job_query one = { .ids = &ids[i], .nids = 1 };
		int seen = nok;

		if ((rc = store_jobs(db, &one, print_show, &seen)))
			break;
		if (seen > nok) {
			nok++;
		} else {
			nbad++;
			logkv(LOG_ERROR, "no such job", LOG_NUM "job_id", id_str(ids[i], num), (char *)NULL);
		}
	}
	free(ids);
	return rc ? rc : md_exit_for(nok, nbad);
}

/* A refused id: said on stderr, and as a record with --json; freed. */
static void report_refused(int64_t id, char *refused)
{
	char num[24];

	logkv(LOG_ERROR, refused, LOG_NUM "job_id", id_str(id, num), (char *)NULL);
	if (cli.json) {
		struct emit e;

		emit_begin(&e, 1);
		emit_int(&e, "job_id", id);
		emit_str(&e, "error", refused);
		werr |= emit_end(&e, stdout);
	}
	free(refused);
}

static int cmd_control(struct store *db, enum job_op op, char **argv, int n)
{
	int nok = 0, nbad, rc = 0;
	int64_t *ids = take_ids(argv, &n, &nbad);
	const char *done = op == JOB_RETRY ? "available" : "cancelled";
	char num[24];

	for (int i = 0; i < n && !rc; i++) {
		char *refused = NULL;
		struct emit e;

		if ((rc = store_job_control(db, ids[i], op, &refused)))
			break;
		if (refused) {
			nbad++;
			report_refused(ids[i], refused);
			continue;
		}
		nok++;
		logkv(LOG_DEBUG, op == JOB_RETRY ? "job retried" : "job cancelled", LOG_NUM "job_id",
		      id_str(ids[i], num), (char *)NULL);
		emit_begin(&e, cli.json);
		emit_int(&e, "job_id", ids[i]);
		emit_str(&e, "state", done);
		werr |= emit_end(&e, stdout);
	}
	free(ids);
	return rc ? rc : md_exit_for(nok, nbad);
}

/* Each job removed in its own transaction; what went is printed. */
static int cmd_drop(struct store *db, char **argv, int n)
{
	int nok = 0, nbad, rc = 0;
	int64_t *ids = take_ids(argv, &n, &nbad);

	for (int i = 0; i < n && !rc; i++) {
		struct removal r;
		char *refused = NULL;

		if (!(rc = store_job_drop(db, ids[i], dry_run, &r, &refused))) {
			if (refused) {
				nbad++;
				report_refused(ids[i], refused);
			} else {
				nok++;
				werr |= content_emit(&r, cli.json) != 0;
			}
		}
		removal_release(&r);
	}
	free(ids);
	if (!rc && dry_run)
		logkv(LOG_INFO, "dry run: nothing removed", (char *)NULL);
	return rc ? rc : md_exit_for(nok, nbad);
}

/* Who pauses: the login name and the host, for md-status */
static void who(char *buf, size_t n)
{
	struct passwd *pw = getpwuid(getuid());
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1))
		host[0] = '\0';
	if (pw)
		(void)snprintf(buf, n, "%s@%s", pw->pw_name, host);
	else
		(void)snprintf(buf, n, "%ld@%s", (long)getuid(), host);
}

/* Pause or resume each queue; one already so is said, not an error. */
static int cmd_pause(struct store *db, int pause, char **argv, int n)
{
	char by[320];
	int rc = 0;

	who(by, sizeof(by));
	for (int i = 0; i < n && !rc; i++) {
		struct emit e;
		int changed;

		if ((rc = store_queue_pause(db, argv[i], pause, by, &changed)))
			break;
		if (!changed)
			logkv(LOG_INFO, pause ? "the queue was paused already" :
			      "the queue was not paused", "queue", argv[i], (char *)NULL);
		emit_begin(&e, cli.json);
		emit_str(&e, "queue", argv[i]);
		emit_str(&e, "state", pause ? "paused" : "active");
		werr |= emit_end(&e, stdout);
	}
	return rc;
}

static int is_verb(const char *cmd)
{
	static const char *const verbs[] = { "list", "show", "retry", "cancel", "drop", "pause",
					     "resume" };

	for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
		if (!strcmp(cmd, verbs[i]))
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	int i = cli_start_verb_table(&cli, argc, argv, "md-job", synopsis, commands, options,
				     on_opt, NULL);
	struct store *db;
	const char *cmd;
	int rc;

	if (i >= argc)
		usage_error(&cli, "which command? list, show, retry, cancel, drop, pause or resume");
	cmd = argv[i++];
	if (!is_verb(cmd))
		usage_error(&cli, "unknown command '%s': list, show, retry, cancel, drop, pause or "
			    "resume", cmd);
	int queues = !strcmp(cmd, "pause") || !strcmp(cmd, "resume");
	if (dry_run && strcmp(cmd, "drop"))
		usage_error(&cli, "--dry-run is for drop");
	if (!strcmp(cmd, "list")) {
		if (i < argc)
			cli_extra_operand(&cli, argv[i]);
	} else {
		if (filtered)
			usage_error(&cli, "%s takes %s, not list's filters", cmd,
				    queues ? "queues" : "job ids");
		if (i >= argc)
			usage_error(&cli, "%s needs at least one %s", cmd, queues ? "queue" : "job id");
		for (int k = i; queues && k < argc; k++)
			if (!*argv[k] || strlen(argv[k]) > 64)
				usage_error(&cli, "bad queue name '%s'", argv[k]);
	}

	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	if (!strcmp(cmd, "list"))
		rc = store_jobs(db, &jq, print_list, NULL);
	else if (!strcmp(cmd, "show"))
		rc = cmd_show(db, argv + i, argc - i);
	else if (!strcmp(cmd, "drop"))
		rc = cmd_drop(db, argv + i, argc - i);
	else if (queues)
		rc = cmd_pause(db, !strcmp(cmd, "pause"), argv + i, argc - i);
	else
		rc = cmd_control(db, !strcmp(cmd, "retry") ? JOB_RETRY : JOB_CANCEL,
				 argv + i, argc - i);
	store_close(db);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	return cli_finish(&cli, rc);
}
