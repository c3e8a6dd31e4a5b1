/*
 * md-finalize - the fan-in: the one place that marks posts done.
 *
 * For every media whose jobs are all terminal and not yet finalized, one
 * transaction registers its renditions, sets its waiting posts completed
 * (every job succeeded) or failed (a job is dead; the reason goes with
 * it), stamps finalized_at and bumps the feed version.  After the commit:
 * the raw original is deleted when storage.keep_originals is false, and
 * the --exec hook runs once per finished post with the post as JSON on
 * stdin.  Idempotent: a second run finds nothing; two at once never
 * finalize the same media twice (the store serialises them).
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "spawn.h"
#include "storage.h"
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-finalize [common options] [--follow] [--exec CMD] [--limit N]\n";

enum { OPT_EXEC = OPT_TOOL_BASE, OPT_LIMIT, OPT_FOLLOW };

static const struct cli_option options[] = {
	{ OPT_FOLLOW, "follow", NULL, "keep running: finalize as jobs finish (until SIGTERM)" },
	{ OPT_EXEC, "exec", "CMD", "run CMD (split on spaces, no shell) once per finished post,\n"
	  "with the post as JSON on stdin" },
	{ OPT_LIMIT, "limit", "N", "finalize at most N media" },
	CLI_OPTIONS_END
};

static struct cli cli;
static char **hook;
static long long limit;
static struct store *db;
static struct storage st;
static int nhook_fail, werr, follow;
static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
	stop_sig = sig;
}

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;

	switch (o) {
	case OPT_EXEC: {
		char *copy = xstrdup(arg), *save = NULL;
		int n = 0;
		for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
			hook = xrealloc(hook, (n + 2) * sizeof(*hook));
			hook[n++] = xstrdup(w);
			hook[n] = NULL;
		}
		free(copy);
		if (!n)
			usage_error(&cli, "--exec needs a command");
		break;
	}
	case OPT_FOLLOW: follow = 1; break;
	case OPT_LIMIT:
		if (parse_int(arg, 1, 1LL << 40, &v))
			usage_error(&cli, "bad --limit '%s'", arg);
		limit = v;
		break;
	default: return -1;
	}
	return 0;
}

/* Run the hook with the post JSON on stdin (through an unlinked temp file). */
static void run_hook(const char *json, const char *post_id)
{
	struct spawn_result res;
	char *tmp = NULL;
	int fd = storage_tmpfile(&st, "hook", &tmp);

	if (fd < 0) {
		error_errno("cannot create a temp file for the hook");
		nhook_fail++;
		return;
	}
	unlink(tmp);
	if (write_all(fd, json, strlen(json)) || lseek(fd, 0, SEEK_SET)) {
		error_errno("cannot write the post for the hook to '%s'", tmp);
		close(fd);
		free(tmp);
		nhook_fail++;
		return;
	}
	/* the administrator's own command: it gets the whole environment */
	struct spawn_opts o = { .argv = hook, .stdin_fd = fd, .timeout = 60, .keep_env = 1 };
	if (spawn_run(&o, &res)) {
		struct strbuf why = STRBUF_INIT;
		spawn_describe(&res, &why);
		logkv(LOG_WARN, "hook failed", "post_id", post_id, "error", why.buf, (char *)NULL);
		sb_release(&why);
		nhook_fail++;
	}
	close(fd);
	free(tmp);
}

static int on_post(void *arg, const struct feed_row *r)
{
	struct emit e, j;
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)r->post_id);
	logkv(LOG_INFO, "post finalized", "post_id", id, "media", r->media, "status", r->status,
	      "trace_id", r->trace_id, (char *)NULL);
	emit_begin(&j, 1);
	emit_post_fields(&j, r);
	sb_adds(&j.sb, "}\n");
	if (cli.json) {
		if (fwrite(j.sb.buf, 1, j.sb.len, stdout) != j.sb.len)
			werr = 1;
	} else {
		emit_begin(&e, 0);
		emit_int(&e, "post_id", r->post_id);
		emit_str(&e, "media", r->media);
		emit_str(&e, "status", r->status);
		if (emit_end(&e, stdout))
			werr = 1;
	}
	if (hook) {
		fflush(stdout);
		run_hook(j.sb.buf, id);
	}
	sb_release(&j.sb);
	return 0;
}

/* Finalize every media that is ready (up to --limit in all). */
static int finalize_all(long long *nmedia)
{
	int rc = 0;

	while ((!limit || *nmedia < limit) && !stop_sig) {
		struct finalized f;
		int done;

		if ((rc = store_finalize_one(db, &f, &done)) || !done)
			break;
		(*nmedia)++;
		if (!cli.conf.keep_originals && !f.failed) {
			char *key = storage_original_key(f.media, f.ext);
			if (storage_delete(&st, key))
				warning("cannot remove original '%s': %s", key, strerror(errno));
			free(key);
		}
		if (f.nposts) {
			struct feed_query fq = {
				.limit = f.nposts, .post_ids = f.post_ids, .npost_ids = f.nposts,
				.base_url = "",
			};
			int64_t next;
			rc = store_feed(db, &fq, on_post, NULL, &next);
		}
		finalized_release(&f);
		if (rc)
			break;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-finalize", synopsis, NULL, options, on_opt,
				NULL);
	long long nmedia = 0;
	int rc;

	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		goto out;
	if (storage_open(&st, cli.conf.storage)) {
		rc = MD_EXIT_CONFIG;
		store_close(db);
		goto out;
	}
	if (follow) {
		struct sigaction sa = { .sa_handler = on_stop };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		if ((rc = store_listen(db, NULL, 0)))
			goto done;
	}
	for (;;) {
		rc = finalize_all(&nmedia);
		fflush(stdout);
		if (rc || !follow || stop_sig || (limit && nmedia >= limit))
			break;
		/* wait for a notification or the poll interval; a signal
		 * interrupts the wait */
		struct pollfd pf = { .fd = store_notify_fd(db), .events = POLLIN };
		int r = poll(&pf, pf.fd >= 0 ? 1 : 0, (int)(cli.conf.poll_interval * 1000));
		if (r > 0)
			store_consume_notify(db);
		if (stop_sig)
			break;
	}
done:
	if (nmedia)
		info("finalized %lld media", nmedia);
	store_close(db);
	storage_close(&st);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	if (!rc && nhook_fail)
		rc = MD_EXIT_PARTIAL;
out:
	if (hook) {
		for (char **h = hook; *h; h++)
			free(*h);
		free(hook);
	}
	return cli_finish(&cli, rc);
}
