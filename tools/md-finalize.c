/*
 * md-finalize - the fan-in: the one place that marks posts done.
 *
 * Media whose jobs are all terminal and not yet finalized are finalized
 * in batches of up to BATCH_MEDIA: one transaction of a few statements
 * registers their renditions, sets their waiting posts completed (every
 * job succeeded) or failed (a job is dead; the reason goes with it),
 * stamps finalized_at and bumps the feed version once.  After the commit
 * the raw originals are deleted when storage.keep_originals is false and
 * the batch's records printed, media by media.  Idempotent: a second run
 * finds nothing; two at once never finalize the same media twice (the
 * store serialises them); a finalizer killed mid-batch finalized none of
 * it, and the next one does the whole batch again.
 *
 * The --exec hook runs at least once per finished post: with --exec, the
 * finishing transaction also puts each post in the hook outbox (store.h),
 * and the hooks are run from there, each row claimed first, so no two
 * finalizers run one at once.  A row goes when its hook exits 0; a failed
 * hook is tried again later (HOOK_BASE seconds, doubling up to HOOK_MAX),
 * and given up, with an error, after HOOK_TRIES tries.  A finalizer
 * killed at any moment leaves its rows to the next one, which runs them
 * once their claim ran out (the hook's timeout and HOOK_GRACE): the same
 * post may then reach the hook twice, with the same idempotency key.
 *
 * --follow rides out an unreachable database: one line when it goes, one
 * when it is back, and between them a quiet try every few seconds.  It
 * speaks systemd's notification protocol (notify.h): READY=1 once it
 * listens, STATUS= when the count of media finalized or the database's
 * state changes, WATCHDOG=1, STOPPING=1; SIGHUP reads the configuration
 * again (RELOADING=1, then READY=1), keeping the old one when the new one
 * has errors.  SIGTERM and SIGINT end it after the batch at hand.
 */
#include "cli.h"
#include "clock.h"
#include "emit.h"
#include "exits.h"
#include "log.h"
#include "notify.h"
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
#include <time.h>
#include <unistd.h>

#define HOOK_TRIES 30            /* tries of a post's hook before it is given up */
#define HOOK_BASE 5.0            /* seconds before the first retry, doubling... */
#define HOOK_MAX 3600.0          /* ...up to an hour: 30 tries take about 21 hours */
#define HOOK_GRACE 5.0           /* a claim outlives the hook's timeout by this */
#define AWAY_MAX 5.0             /* the longest wait between tries of a lost database */
#define BATCH_MEDIA 500          /* media finalized in one transaction, between two runs of the hooks */

static const char synopsis[] =
	"usage: md-finalize [common options] [--follow] [--exec CMD] [--exec-timeout DUR]\n"
	"                   [--limit N]\n";

enum { OPT_EXEC = OPT_TOOL_BASE, OPT_EXEC_TIMEOUT, OPT_LIMIT, OPT_FOLLOW };

static const struct cli_option options[] = {
	{ OPT_FOLLOW, "follow", NULL, "keep running: finalize as jobs finish (until SIGTERM)" },
	{ OPT_EXEC, "exec", "CMD", "run CMD (split on spaces, no shell) at least once per\n"
	  "finished post, with the post as JSON on stdin" },
	{ OPT_EXEC_TIMEOUT, "exec-timeout", "DUR", "stop a hook that runs longer (default 60s)" },
	{ OPT_LIMIT, "limit", "N", "finalize at most N media" },
	CLI_OPTIONS_END
};

static struct cli cli;
static char **hook;
static double hook_timeout = 60;
static long long limit;
static struct store *db;
static struct storage st;
static int nhook_fail, werr, follow;
static int storage_rc;  /* an original not removed: the storage's exit code */
static volatile sig_atomic_t stop_sig, hup_sig;
static int reload_failed;       /* the last SIGHUP found errors */

static void on_stop(int sig)
{
	stop_sig = sig;
}

static void on_hup(int sig)
{
	hup_sig = 1;
}

/* WATCHDOG=1 when due: called between media, hooks and waits. */
static void keepalive(void)
{
	notify_watchdog(mono_now());
}

static void parse_exec(const char *arg)
{
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
}

static int on_opt(void *ctx, int o, const char *arg)
{
	long long v;

	switch (o) {
	case OPT_EXEC: parse_exec(arg); break;
	case OPT_EXEC_TIMEOUT:
		if (parse_duration(arg, &hook_timeout) || hook_timeout < 1)
			usage_error(&cli, "bad --exec-timeout '%s' (at least 1s)", arg);
		break;
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

/* ---------- the hook ---------- */

/* Run the hook with json on stdin (through an unlinked temp file): 0 when
 * it exited 0, else -1 with why it did not. */
static int run_hook(const char *json, struct strbuf *why)
{
	struct spawn_result res;
	char *tmp = NULL;
	int fd = storage_tmpfile(&st, "hook", &tmp), rc = -1;

	if (fd < 0) {
		sb_addf(why, "cannot create a temp file for the hook: %s", strerror(errno));
		return -1;
	}
	unlink(tmp);
	if (write_all(fd, json, strlen(json)) || lseek(fd, 0, SEEK_SET)) {
		sb_addf(why, "cannot write the post for the hook to '%s': %s", tmp, strerror(errno));
	} else {
		/* the administrator's own command: it gets the whole environment */
		struct spawn_opts o = { .argv = hook, .stdin_fd = fd, .timeout = hook_timeout,
					.keep_env = 1 };
		if (!spawn_run(&o, &res))
			rc = 0;
		else
			spawn_describe(&res, why);
	}
	close(fd);
	free(tmp);
	return rc;
}

struct hook_post {
	const struct hook_call *c;
	struct strbuf json;
	int found;
};

/* The hook's input: the post as md-feed prints it, with the status it was
 * finished as, the idempotency key and which try this is. */
static int hook_json(void *arg, const struct feed_row *r)
{
	struct hook_post *h = arg;
	struct feed_row row = *r;
	struct emit j;

	row.status = h->c->status;
	emit_begin(&j, 1);
	emit_post_fields(&j, &row);
	emit_str(&j, "idempotency_key", h->c->key);
	emit_int(&j, "attempt", h->c->attempts);
	sb_adds(&j.sb, "}\n");
	sb_release(&h->json);
	h->json = j.sb;
	h->found = 1;
	return 0;
}

/* The hook of c failed (why): delay it, or give it up after HOOK_TRIES. */
static int hook_failed(const struct hook_call *c, const char *id, const char *why)
{
	char n[16], in[32];
	double delay;

	nhook_fail++;
	xsnprintf(n, sizeof(n), "%d", c->attempts);
	if (c->attempts >= HOOK_TRIES) {
		logkv(LOG_ERROR, "hook failed; given up", LOG_NUM "post_id", id, "key", c->key, LOG_NUM "attempts", n,
		      "error", why, (char *)NULL);
		return store_hook_clear(db, c);
	}
	delay = retry_delay(HOOK_BASE, HOOK_MAX, c->attempts);
	xsnprintf(in, sizeof(in), "%.0f", delay);
	logkv(LOG_WARN, "hook failed; will try again", LOG_NUM "post_id", id, "key", c->key,
	      LOG_NUM "attempts", n, LOG_NUM "retry_in", in, "error", why, (char *)NULL);
	return store_hook_retry(db, c, delay, why);
}

/* Run the hook of one claimed outbox row and settle the row. */
static int hook_one(const struct hook_call *c)
{
	struct hook_post h = { .c = c, .json = STRBUF_INIT };
	struct feed_query fq = { .limit = 1, .post_ids = &c->post_id, .npost_ids = 1, .base_url = "" };
	struct strbuf why = STRBUF_INIT;
	char id[24];
	int64_t next;
	int rc;

	xsnprintf(id, sizeof(id), "%lld", (long long)c->post_id);
	if ((rc = store_feed(db, &fq, hook_json, &h, &next)))
		goto out;
	if (!h.found) {
		logkv(LOG_WARN, "post gone: its hook is not run", LOG_NUM "post_id", id, (char *)NULL);
		rc = store_hook_clear(db, c);
	} else if (run_hook(h.json.buf, &why)) {
		rc = hook_failed(c, id, why.buf);
	} else {
		logkv(LOG_DEBUG, "hook ran", LOG_NUM "post_id", id, "key", c->key, (char *)NULL);
		rc = store_hook_clear(db, c);
	}
out:
	sb_release(&h.json);
	sb_release(&why);
	return rc;
}

/* Run every hook that is due, each claimed first. */
static int hooks_run(void)
{
	struct hook_call c;
	int found, rc;

	fflush(stdout);
	while (!stop_sig) {
		keepalive();
		if ((rc = store_hook_claim(db, hook_timeout + HOOK_GRACE, &c, &found)) || !found)
			return rc;
		if ((rc = hook_one(&c)))
			return rc;
	}
	return 0;
}

/* ---------- finalizing ---------- */

/* The records of a batch: each post's line waits in its media's place,
 * so that they come out media by media, in the order finalized. */
struct records {
	int64_t (*post)[2];     /* post id, index of its media: by post id */
	int nposts;
	struct strbuf *line;    /* line[i]: the records of media i */
};

static int by_post(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The log line of a post finalized, and its record (the whole post r
 * with --json) onto out. */
static void post_record(struct strbuf *out, int64_t post_id, const char *media,
			const char *status, const char *trace, const struct feed_row *r)
{
	struct emit e;
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)post_id);
	logkv(LOG_INFO, "post finalized", LOG_NUM "post_id", id, "media", media, "status", status,
	      "trace_id", trace && *trace ? trace : NULL, (char *)NULL);
	emit_begin(&e, cli.json);
	if (r) {
		emit_post_fields(&e, r);
		sb_addch(&e.sb, '}');
	} else {
		emit_int(&e, "post_id", post_id);
		emit_str(&e, "media", media);
		emit_str(&e, "status", status);
	}
	sb_addch(&e.sb, '\n');
	sb_add(out, e.sb.buf, e.sb.len);
	sb_release(&e.sb);
}

static int on_post(void *arg, const struct feed_row *r)
{
	struct records *rec = arg;
	int64_t (*hit)[2] = bsearch(&r->post_id, rec->post, rec->nposts, sizeof(*rec->post), by_post);

	if (hit)
		post_record(&rec->line[(*hit)[1]], r->post_id, r->media, r->status, r->trace_id, r);
	return 0;
}

/* The records without --json: what the batch already knows, newest post
 * first as the feed lists them, with no read of the feed. */
static void print_plain(const struct finalized *v, int n)
{
	struct strbuf out = STRBUF_INIT;

	for (int i = 0; i < n; i++)
		for (int k = v[i].nposts - 1; k >= 0; k--)
			post_record(&out, v[i].post_ids[k], v[i].media, v[i].post_status[k],
				    v[i].post_trace[k], NULL);
	if (out.len && fwrite(out.buf, 1, out.len, stdout) != out.len)
		werr = 1;
	sb_release(&out);
}

/* Print the records of the posts of v[0..n-1]; with --json, in one read
 * of the feed. */
static int print_records(const struct finalized *v, int n)
{
	struct records rec;
	int64_t *ids = NULL, next;
	int rc = 0;

	if (!cli.json) {
		print_plain(v, n);
		return 0;
	}
	rec = (struct records){ .line = xcalloc((size_t)n + 1, sizeof(*rec.line)) };
	for (int i = 0; i < n; i++) {
		sb_init(&rec.line[i], 0);
		rec.post = xrealloc(rec.post, (rec.nposts + v[i].nposts + 1) * sizeof(*rec.post));
		ids = xrealloc(ids, (rec.nposts + v[i].nposts + 1) * sizeof(*ids));
		for (int k = 0; k < v[i].nposts; k++, rec.nposts++) {
			rec.post[rec.nposts][0] = ids[rec.nposts] = v[i].post_ids[k];
			rec.post[rec.nposts][1] = i;
		}
	}
	if (rec.nposts) {
		struct feed_query fq = { .limit = rec.nposts, .post_ids = ids, .npost_ids = rec.nposts,
					 .base_url = "" };
		qsort(rec.post, rec.nposts, sizeof(*rec.post), by_post);
		rc = store_feed(db, &fq, on_post, &rec, &next);
	}
	for (int i = 0; i < n; i++) {
		const struct strbuf *l = &rec.line[i];

		if (!rc && l->len && fwrite(l->buf, 1, l->len, stdout) != l->len)
			werr = 1;
		sb_release(&rec.line[i]);
	}
	free(rec.line);
	free(rec.post);
	free(ids);
	return rc;
}

/* After the commit: the originals of the media finalized go, unless kept
 * (or a job is dead: the media may be tried again). */
static void remove_originals(const struct finalized *v, int n)
{
	for (int i = 0; i < n && !cli.conf.keep_originals; i++) {
		char *key;

		if (v[i].failed)
			continue;
		key = storage_original_key(v[i].media, v[i].ext);
		if (storage_delete(&st, key)) {
			int e = errno;
			warning("cannot remove original '%s': %s", key, storage_strerror(&st, e));
			storage_rc = storage_exit_code(e);
		}
		free(key);
	}
}

/* Finalize a batch of up to max media that are ready (and up to --limit in
 * all); *got: how many. */
static int finalize_some(long long *nmedia, long long max, int *got)
{
	struct finalized *v;
	int rc, n;

	*got = 0;
	if (limit && limit - *nmedia < max)
		max = limit - *nmedia;
	if (max <= 0 || stop_sig)
		return 0;
	keepalive();
	if ((rc = store_finalize_batch(db, hook != NULL, (int)max, &v, &n)))
		return rc;
	*nmedia += n;
	*got = n;
	remove_originals(v, n);
	rc = print_records(v, n);
	finalized_free(v, n);
	return rc;
}

/* One round: finalize what is ready, a batch at a time, running the
 * hooks that are due after every batch, so a steady stream of work never
 * holds them back. */
static int finalize_round(long long *nmedia)
{
	int rc, got;

	do {
		rc = finalize_some(nmedia, BATCH_MEDIA, &got);
		fflush(stdout);
		if (!rc && hook)
			rc = hooks_run();
	} while (!rc && got == BATCH_MEDIA && !stop_sig);
	return rc;
}

/* ---------- --follow ---------- */

/* Milliseconds to wait: secs, or less when the watchdog is due sooner. */
static int wait_ms(double secs)
{
	double wd = notify_watchdog(mono_now());

	if (wd >= 0 && wd < secs)
		secs = wd;
	return (int)(secs * 1000);
}

/*
 * Wait secs for a notification; 0, or MD_EXIT_TEMPFAIL when the database
 * turned out to be gone.  A signal ends the wait early.
 */
static int follow_wait(double secs)
{
	struct pollfd pf = { .fd = store_notify_fd(db), .events = POLLIN };

	if (poll(&pf, pf.fd >= 0 ? 1 : 0, wait_ms(secs)) > 0 && !stop_sig &&
	    store_consume_notify(db) < 0)
		return MD_EXIT_TEMPFAIL;
	return 0;
}

/*
 * SIGHUP: the configuration again (the database and the storage stay);
 * one with errors is not taken, and the status says so until a reload
 * works.
 */
static void follow_reload(void)
{
	hup_sig = 0;
	notify_reloading();
	if (conf_reload(&cli.conf)) {
		error("configuration not reloaded: it has errors; the old one stays");
		reload_failed = 1;
		notify_ready("configuration not reloaded: it has errors");
		return;
	}
	reload_failed = 0;
	info("configuration reloaded");
	notify_ready("configuration reloaded");
}

static void follow_status(const char *state, long long nmedia)
{
	notify_status("%s; %lld media finalized%s", state, nmedia,
		      reload_failed ? "; configuration not reloaded: it has errors" : "");
}

/*
 * The database is gone: try it again (the reconnection the store does
 * when its descriptor wakes us, then one read) every second, then less
 * often, up to AWAY_MAX, until it answers or a signal comes.  The store
 * is quiet meanwhile: it says each failed try at debug level only, so an
 * outage is two lines: gone, and back.
 */
static void follow_away(long long nmedia)
{
	double backoff = 1;
	int64_t v;
	int r;

	warning("database unavailable; finalizing waits for it");
	follow_status("database unavailable", nmedia);
	store_quiet(db, 1);
	for (;;) {
		struct pollfd pf = { .fd = store_notify_fd(db), .events = POLLIN };

		r = poll(&pf, pf.fd >= 0 ? 1 : 0, wait_ms(backoff));
		if (stop_sig)
			break;
		if (hup_sig)
			follow_reload();
		if (r > 0)
			store_consume_notify(db);
		r = store_feed_version(db, &v);
		if (r != MD_EXIT_TEMPFAIL)
			break;  /* back, or another failure: the next round says which */
		backoff = backoff * 2 > AWAY_MAX ? AWAY_MAX : backoff * 2;
	}
	store_quiet(db, 0);
	if (!stop_sig && !r)
		info("database available again; finalizing");
}

/* Finalize as jobs finish until a signal; an outage is waited out. */
static int follow_run(long long *nmedia)
{
	int rc;

	notify_ready(NULL);
	for (;;) {
		if (hup_sig)
			follow_reload();
		if ((rc = finalize_round(nmedia)) == MD_EXIT_TEMPFAIL)
			follow_away(*nmedia);
		else if (rc)
			break;
		if (stop_sig || (limit && *nmedia >= limit)) {
			rc = 0;
			break;
		}
		follow_status("waiting for finished jobs", *nmedia);
		if (!hup_sig && follow_wait(cli.conf.poll_interval))
			follow_away(*nmedia);
	}
	notify_stopping();
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
	if (storage_open(&st, cli.conf.storage, &cli.conf.s3)) {
		rc = MD_EXIT_CONFIG;
		store_close(db);
		goto out;
	}
	if (follow) {
		struct sigaction sa = { .sa_handler = on_stop }, hup = { .sa_handler = on_hup };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigemptyset(&hup.sa_mask);
		sigaction(SIGHUP, &hup, NULL);
		if (!(rc = store_listen(db, NULL, 0)))
			rc = follow_run(&nmedia);
	} else {
		rc = finalize_round(&nmedia);
	}
	if (nmedia)
		info("finalized %lld media", nmedia);
	store_close(db);
	storage_close(&st);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	if (!rc && storage_rc)
		rc = storage_rc;
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
