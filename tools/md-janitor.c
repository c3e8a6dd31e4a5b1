/*
 * md-janitor - housekeeping, safe to run from cron at any frequency.
 *
 * Its duties, in this order, each a few short transactions:
 *
 *   rescue    running jobs whose lease expired: available again, or dead
 *             when out of attempts (store_rescue_expired); and those of
 *             workers whose heartbeat stopped (store_reap_workers)
 *   fail      posts processing for janitor.stuck_after with no job left
 *             to run or to finalize
 *   enqueue   janitor.profiles for posts pending for janitor.pending_after
 *             with no job
 *   remove    temp files and scratch directories older than
 *             janitor.orphan_grace, and stored files no row references
 *             (originals without media, run folders that are neither a
 *             registered rendition's nor a live run's) as old
 *   missing   rows whose files are gone; with --verify, changed originals
 *   prune     finished, finalized jobs older than janitor.retention, a
 *             window of PRUNE_WINDOW jobs per transaction
 *
 * Why a commit is never robbed of its file: an ingest stores the original,
 * then commits its row; a run publishes its folder, then records its
 * success.  The janitor lists the files first and reads the rows after,
 * from one snapshot, and removes only files that were written before the
 * grace began.  A file the listing saw was stored before the rows were
 * read; if its row was not committed by then, it is a commit still to
 * come only for a writer that has stalled between the two for the whole
 * grace.  An original that a new put replaced meanwhile is judged by the
 * file there at the moment of removal (storage_delete_stale), and a run
 * folder belongs to one run only, whose row cannot become live again.
 *
 * One janitor at a time: the store's janitor lock is tried first, and a
 * second janitor says so and exits 0.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "log.h"
#include "storage.h"
#include "store.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-janitor [-qv] [-c FILE] [--db URL] [--storage URL] [--log-format FMT]\n"
	"                  [--log-level LEVEL] [--json] [-n|--dry-run] [--verify]\n";

enum { OPT_VERIFY = OPT_TOOL_BASE };

static const struct cli_option options[] = {
	{ 'n', "dry-run", NULL, "list what would be done, change nothing" },
	{ OPT_VERIFY, "verify", NULL, "re-hash every original and report those that changed" },
	CLI_OPTIONS_END
};

/* Jobs one pruning transaction looks at. */
#define PRUNE_WINDOW 1000

static struct cli cli;
static struct store *db;
static struct storage st;
static int dry_run, verify, werr, ioerr;
static double now;

static struct {
	int64_t rescued, failed, enqueued, temp, orphans, missing, changed, pruned, aborted;
} stats;

static int on_opt(void *ctx, int o, const char *arg)
{
	switch (o) {
	case 'n': dry_run = 1; break;
	case OPT_VERIFY: verify = 1; break;
	default: return -1;
	}
	return 0;
}

/* One record: action, subject, detail. */
static void record(const char *action, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void record(const char *action, const char *subject, const char *fmt, ...)
{
	struct strbuf d = STRBUF_INIT;
	struct emit e;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&d, fmt, ap);
	va_end(ap);
	emit_begin(&e, cli.json);
	emit_str(&e, "action", action);
	emit_str(&e, "subject", subject);
	emit_str(&e, "detail", d.buf);
	if (dry_run && cli.json)
		emit_bool(&e, "dry_run", 1);
	werr |= emit_end(&e, stdout);
	sb_release(&d);
}

/* A file's time as ISO 8601 UTC, to the second. */
static const char *iso(double t, char buf[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		xsnprintf(buf, 32, "@%.0f", t);
	return buf;
}

/* Say a storage call failed; the exit code is the gravest seen (78 a
 * store that refuses, 75 one that cannot be reached, else 74). */
static void storage_failed(const char *what, const char *key)
{
	int e = errno, code = storage_exit_code(e);
	char *name = storage_name(&st, key);

	error("cannot %s '%s': %s", what, name, storage_strerror(&st, e));
	free(name);
	if (!ioerr || code == MD_EXIT_CONFIG || (code == MD_EXIT_TEMPFAIL && ioerr == MD_EXIT_IOERR))
		ioerr = code;
}

/* ---- rescue, stuck and pending posts ---- */

static int on_expired(void *arg, const struct jan_row *r)
{
	char id[24];

	xsnprintf(id, sizeof(id), "%lld", (long long)r->id);
	record("rescue", id, "lease of %s expired: %s", r->name ? r->name : "?",
	       r->n ? "dead, out of attempts" : "available again");
	if (dry_run)
		stats.rescued++;
	return 0;
}

/* The workers whose heartbeat stopped (worker.heartbeat): marked gone,
 * their running jobs rescued without waiting for their leases. */
static int reap(void)
{
	double hb = cli.conf.heartbeat;
	int rc, gone = 0, n = 0;

	if (hb <= 0 || dry_run)
		return 0;
	rc = store_reap_workers(db, hb * WORKER_GONE_BEATS, NULL, &gone, &n);
	if (!rc && gone)
		record("reap", "-", "%d worker%s gone, %d job%s rescued", gone, gone == 1 ? "" : "s",
		       n, n == 1 ? "" : "s");
	stats.rescued += n;
	return rc;
}

static int rescue(void)
{
	int rc, n = 0;

	if ((rc = store_expired_jobs(db, on_expired, NULL)) || dry_run)
		return rc;
	rc = store_rescue_expired(db, NULL, &n);
	stats.rescued = n;
	return rc ? rc : reap();
}

static int on_stuck(void *arg, const struct jan_row *r)
{
	char id[24], *why = xstrfmt("stuck in processing since %s: no job left to finish it",
				    r->at);
	int applied = 1, rc = 0;

	xsnprintf(id, sizeof(id), "%lld", (long long)r->id);
	if (!dry_run)
		rc = store_fail_idle_post(db, r->id, cli.conf.jan_stuck_after, why, &applied);
	if (!rc && applied) {
		record("fail", id, "%s", why);
		stats.failed++;
	}
	free(why);
	return rc;
}

struct pending {
	char **ids;
	int n;
};

static int on_pending(void *arg, const struct jan_row *r)
{
	struct pending *p = arg;

	p->ids = xrealloc(p->ids, (size_t)(p->n + 1) * sizeof(*p->ids));
	p->ids[p->n++] = xstrfmt("%lld", (long long)r->id);
	if (dry_run)
		record("enqueue", p->ids[p->n - 1], "pending with no job: %s",
		       cli.conf.jan_profiles);
	return 0;
}

static void on_enqueued(void *arg, const char *ref, int64_t job_id, const char *media,
			const char *profile, const char *queue, const char *state,
			const char *reason)
{
	if (!strcmp(state, "available")) {
		record("enqueue", ref, "%s: job %lld", profile, (long long)job_id);
		stats.enqueued++;
	} else if (!strcmp(state, "error") || !strcmp(state, "skipped")) {
		logkv(LOG_INFO, reason, LOG_NUM "post_id", ref, "profile", profile, (char *)NULL);
	}
}

/* The profiles of janitor.profiles; *n counts them. */
static const struct profile **pending_profiles(int *n)
{
	char *list = xstrdup(cli.conf.jan_profiles), *p = list, *comma;
	const struct profile **v = NULL;

	*n = 0;
	for (; p; p = comma) {
		if ((comma = strchr(p, ',')))
			*comma++ = '\0';
		if (!*p)
			continue;
		const struct profile *pf = conf_profile(&cli.conf, p);
		if (!pf)
			die(MD_EXIT_CONFIG, "janitor.profiles: unknown profile '%s'", p);
		v = xrealloc(v, (size_t)(*n + 1) * sizeof(*v));
		v[(*n)++] = pf;
	}
	free(list);
	return v;
}

static int posts(void)
{
	struct pending p = { NULL, 0 };
	int rc, np;
	const struct profile **pv = pending_profiles(&np);

	rc = store_idle_posts(db, "processing", cli.conf.jan_stuck_after, on_stuck, NULL);
	if (!rc)
		rc = store_idle_posts(db, "pending", cli.conf.jan_pending_after, on_pending, &p);
	if (!rc && !dry_run && p.n && np) {
		struct enqueue_opts eo = {
			.profiles = pv, .nprofiles = np,
			.default_attempts = cli.conf.max_attempts,
		};
		rc = store_enqueue(db, p.ids, p.n, &eo, on_enqueued, NULL);
	}
	for (int i = 0; i < p.n; i++)
		free(p.ids[i]);
	free(p.ids);
	free(pv);
	return rc;
}

/* ---- files ---- */

static void sweep_scratch(void)
{
	size_t n;
	struct storage_entry *v = storage_scratch(&st, &n);
	char t[32];

	if (!v) {
		storage_failed("read", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].mtime >= now - cli.conf.jan_orphan_grace)
			continue;
		if (!dry_run && storage_scratch_remove(&st, v[i].key)) {
			storage_failed("remove", v[i].key);
			continue;
		}
		record("remove", v[i].key, "%s, last written %s",
		       strncmp(v[i].key, "work/", 5) ? "temp file" : "work directory",
		       iso(v[i].mtime, t));
		stats.temp++;
	}
	storage_entries_free(v, n);
}

/* Multipart uploads an object store holds unfinished, begun before the
 * grace: a process killed mid-upload left them (no object, but parts
 * that are stored and paid for).  A store that cannot list them is said
 * once, as a warning. */
static void sweep_uploads(void)
{
	size_t n;
	struct storage_upload *v = storage_uploads(&st, &n);
	char t[32];

	if (!v) {
		if (errno == ENOSYS)
			warning("the storage does not list multipart uploads, so those left behind "
				"are not looked for: %s", storage_strerror(&st, errno));
		else
			storage_failed("list the multipart uploads of", NULL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i].initiated >= now - cli.conf.jan_orphan_grace)
			continue;
		if (!dry_run && storage_upload_abort(&st, v[i].key, v[i].id)) {
			storage_failed("abort the upload of", v[i].key);
			continue;
		}
		record("abort", v[i].key, "multipart upload begun %s, never completed",
		       iso(v[i].initiated, t));
		stats.aborted++;
	}
	storage_uploads_free(v, n);
}

/* A sorted set of keys. */
struct keyset {
	char **v;
	size_t n;
};

static void keyset_add(struct keyset *k, char *key)
{
	k->v = xrealloc(k->v, (k->n + 1) * sizeof(*k->v));
	k->v[k->n++] = key;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort, dropping duplicates (a replayed read reports rows twice). */
static void keyset_sort(struct keyset *k)
{
	size_t j = 0;

	if (!k->n)
		return;
	qsort(k->v, k->n, sizeof(*k->v), cmp_str);
	for (size_t i = 0; i < k->n; i++) {
		if (j && !strcmp(k->v[j - 1], k->v[i]))
			free(k->v[i]);
		else
			k->v[j++] = k->v[i];
	}
	k->n = j;
}

static int keyset_has(const struct keyset *k, const char *key)
{
	return k->n && bsearch(&key, k->v, k->n, sizeof(*k->v), cmp_str) != NULL;
}

static void keyset_release(struct keyset *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i]);
	free(k->v);
}

/* The run folder of a rendition key (its first six parts:
 * renditions/ab/cd/<sha>/<profile>/<job>-<claim>), or NULL. */
static char *run_folder(const char *key)
{
	const char *p = key;

	for (int parts = 0; parts < 6; parts++) {
		if (!(p = strchr(p, '/')))
			return parts == 5 ? xstrdup(key) : NULL;
		p++;
	}
	return xstrndup(key, (size_t)(p - 1 - key));
}

/* What the database references: originals, run folders, and the files of
 * registered renditions (for the missing-file report). */
struct refs {
	struct keyset originals, folders, renditions;
	struct keyset media;    /* "sha\tkey" of each original, to verify */
	struct keyset raw;      /* originals to remove (keep_originals: false) */
};

static int on_ref(void *arg, const struct jan_row *r)
{
	struct refs *f = arg;
	char *key, *dir;

	switch (r->kind) {
	case JAN_ORIGINAL:
		key = storage_original_key(r->media, r->name);
		keyset_add(&f->media, xstrfmt("%s\t%s", r->media, key));
		if (r->id == 1 && !cli.conf.keep_originals)
			keyset_add(&f->raw, xstrdup(key));
		keyset_add(&f->originals, key);
		break;
	case JAN_RENDITION:
		if ((dir = run_folder(r->key)))
			keyset_add(&f->folders, dir);
		keyset_add(&f->renditions, xstrdup(r->key));
		break;
	case JAN_RUN:
		keyset_add(&f->folders, storage_rendition_key(r->media, r->name, r->id,
							      r->claim, NULL));
		break;
	}
	return 0;
}

static int cmp_entry_key(const void *key, const void *e)
{
	return strcmp(key, ((const struct storage_entry *)e)->key);
}

/* Is key among the n listed entries v (sorted)? */
static int listed(const struct storage_entry *v, size_t n, const char *key)
{
	return n && bsearch(key, v, n, sizeof(*v), cmp_entry_key) != NULL;
}

static void remove_original(const struct storage_entry *e)
{
	int removed = 1;
	char t[32];

	if (!dry_run && storage_delete_stale(&st, e->key, now - cli.conf.jan_orphan_grace,
					     &removed)) {
		storage_failed("remove", e->key);
		return;
	}
	if (removed) {
		record("remove", e->key, "original of no media, last written %s", iso(e->mtime, t));
		stats.orphans++;
	}
}

/* With storage.keep_originals false, md-finalize removes the original of
 * a media whose posts are all completed; one it could not remove (the
 * storage was out of reach) goes here. */
static void sweep_raw(const struct storage_entry *v, size_t n, const struct refs *f)
{
	for (size_t i = 0; i < n; i++) {
		if (!keyset_has(&f->raw, v[i].key))
			continue;
		if (!dry_run && storage_delete(&st, v[i].key)) {
			storage_failed("remove", v[i].key);
			continue;
		}
		record("remove", v[i].key, "original of completed media (storage.keep_originals "
		       "is false)");
		stats.orphans++;
	}
}

static void sweep_originals(const struct storage_entry *v, size_t n, const struct refs *f)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].mtime < now - cli.conf.jan_orphan_grace &&
		    !keyset_has(&f->originals, v[i].key))
			remove_original(&v[i]);
}

/* Remove the run folders of v (sorted) that no row references and whose
 * newest file is older than the grace. */
static void sweep_runs(const struct storage_entry *v, size_t n, const struct refs *f)
{
	for (size_t i = 0, j; i < n; i = j) {
		char *dir = run_folder(v[i].key), t[32];
		double newest = v[i].mtime;
		size_t dl = dir ? strlen(dir) : 0;

		for (j = i + 1; dir && j < n && !strncmp(v[j].key, dir, dl) && v[j].key[dl] == '/';
		     j++)
			if (v[j].mtime > newest)
				newest = v[j].mtime;
		if (!dir || keyset_has(&f->folders, dir) ||
		    newest >= now - cli.conf.jan_orphan_grace) {
			free(dir);
			continue;
		}
		if (!dry_run && storage_delete_folder(&st, dir))
			storage_failed("remove", dir);
		else {
			record("remove", dir, "run folder of no rendition or live run, last written %s",
			       iso(newest, t));
			stats.orphans++;
		}
		free(dir);
	}
}

/* Is key gone?  The listing may predate a commit: ask again. */
static int gone(const struct storage_entry *v, size_t n, const char *key)
{
	if (listed(v, n, key))
		return 0;
	if (!storage_stat(&st, key, NULL))
		return 0;
	if (errno != ENOENT) {
		storage_failed("read", key);
		return 0;
	}
	return 1;
}

/* Does the original at key still hash to sha?  1: changed, 0: same or
 * unreadable (said). */
static int changed(const char *sha, const char *key)
{
	char buf[65536], hex[HASH_HEX_LEN + 1];
	struct hash h;
	ssize_t r;
	int fd = storage_open_read(&st, key);

	if (fd < 0) {
		if (errno != ENOENT)
			storage_failed("read", key);
		return 0;
	}
	hash_init(&h);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		hash_update(&h, buf, (size_t)r);
	close(fd);
	if (r < 0) {
		hash_abort(&h);
		storage_failed("read", key);
		return 0;
	}
	hash_final(&h, hex);
	return strcmp(hex, sha) != 0;
}

static void report_media(const struct storage_entry *v, size_t n, const struct refs *f)
{
	for (size_t i = 0; i < f->media.n; i++) {
		char *sha = f->media.v[i], *key = strchr(sha, '\t') + 1;

		key[-1] = '\0';
		if (cli.conf.keep_originals && gone(v, n, key)) {
			record("missing", key, "original of media %s", sha);
			stats.missing++;
		} else if (verify && changed(sha, key)) {
			record("changed", key, "original of media %s no longer has its hash", sha);
			stats.changed++;
		}
		key[-1] = '\t';
	}
}

static void report_renditions(const struct storage_entry *v, size_t n, const struct refs *f)
{
	for (size_t i = 0; i < f->renditions.n; i++)
		if (gone(v, n, f->renditions.v[i])) {
			record("missing", f->renditions.v[i], "registered rendition");
			stats.missing++;
		}
}

/* Files first, rows after (see the top of this file). */
static int files(void)
{
	size_t no = 0, nr = 0;
	struct storage_entry *orig = storage_list_entries(&st, "originals/", &no);
	struct storage_entry *rend = storage_list_entries(&st, "renditions/", &nr);
	struct refs f = { 0 };
	int rc = 0;

	if (!orig || !rend) {
		storage_failed("list", NULL);
	} else if (!(rc = store_storage_refs(db, on_ref, &f))) {
		keyset_sort(&f.originals);
		keyset_sort(&f.folders);
		keyset_sort(&f.renditions);
		keyset_sort(&f.media);
		keyset_sort(&f.raw);
		sweep_originals(orig, no, &f);
		sweep_raw(orig, no, &f);
		sweep_runs(rend, nr, &f);
		report_media(orig, no, &f);
		report_renditions(rend, nr, &f);
	}
	keyset_release(&f.originals);
	keyset_release(&f.folders);
	keyset_release(&f.renditions);
	keyset_release(&f.media);
	keyset_release(&f.raw);
	storage_entries_free(orig, no);
	storage_entries_free(rend, nr);
	return rc;
}

/* ---- jobs ---- */

static int prune(void)
{
	int64_t after = 0, next, n;
	int rc;

	for (;;) {
		if ((rc = store_prune_jobs(db, after, PRUNE_WINDOW, cli.conf.jan_retention, dry_run,
					   &next, &n)) || !next)
			return rc;
		if (n) {
			char range[48];
			xsnprintf(range, sizeof(range), "%lld-%lld", (long long)after + 1,
				  (long long)next);
			record("prune", range, "%lld finished jobs", (long long)n);
			stats.pruned += n;
		}
		after = next;
	}
}

static int print_summary(void)
{
	struct emit e;

	emit_begin(&e, cli.json);
	if (!cli.json) {
		char b[256];
		xsnprintf(b, sizeof(b), "rescued=%lld failed=%lld enqueued=%lld temp=%lld "
			  "orphans=%lld missing=%lld changed=%lld pruned=%lld aborted=%lld",
			  (long long)stats.rescued, (long long)stats.failed,
			  (long long)stats.enqueued, (long long)stats.temp,
			  (long long)stats.orphans, (long long)stats.missing,
			  (long long)stats.changed, (long long)stats.pruned,
			  (long long)stats.aborted);
		emit_str(&e, "summary", b);
	} else {
		emit_int(&e, "rescued", stats.rescued);
		emit_int(&e, "failed", stats.failed);
		emit_int(&e, "enqueued", stats.enqueued);
		emit_int(&e, "temp", stats.temp);
		emit_int(&e, "orphans", stats.orphans);
		emit_int(&e, "missing", stats.missing);
		emit_int(&e, "changed", stats.changed);
		emit_int(&e, "pruned", stats.pruned);
		emit_int(&e, "aborted", stats.aborted);
		emit_bool(&e, "dry_run", dry_run);
	}
	return emit_end(&e, stdout);
}

static int run(void)
{
	int rc;

	now = (double)time(NULL);
	if ((rc = rescue()) || (rc = posts()))
		return rc;
	sweep_scratch();
	sweep_uploads();
	if ((rc = files()))
		return rc;
	return prune();
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-janitor", synopsis, NULL, options, on_opt,
				NULL);
	struct store_lock *lk = NULL;
	int rc;

	if (i < argc)
		cli_extra_operand(&cli, argv[i]);
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	if ((rc = store_janitor_lock(db, &lk)) || !lk) {
		if (!rc)
			info("another md-janitor is running: nothing to do");
		store_close(db);
		return cli_finish(&cli, rc);
	}
	if (storage_open(&st, cli.conf.storage, &cli.conf.s3)) {
		store_janitor_unlock(db, lk);
		store_close(db);
		return cli_finish(&cli, MD_EXIT_CONFIG);
	}
	rc = run();
	if (!rc && print_summary())
		werr = 1;
	storage_close(&st);
	store_janitor_unlock(db, lk);
	store_close(db);
	if (!rc && werr)
		rc = MD_EXIT_IOERR;
	if (!rc && ioerr)
		rc = ioerr;
	return cli_finish(&cli, rc);
}
