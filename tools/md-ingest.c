/*
 * md-ingest - take files in: hash, copy, probe, publish, record.
 *
 * Per file, in one read pass the bytes are hashed (SHA-256) and copied to
 * storage tmp/; ffprobe decides on the copy what it is; the original is
 * published at its content address; a transaction records the media (if
 * new), the post, its tags and, with --enqueue, its jobs.  A rejected
 * file leaves nothing behind: no row, no stored file, no temp file.
 *
 * Several files are in flight at once (-j, one ffprobe each, polled
 * together through spawn.h): the window holds them in input order, and
 * the finished run at its head (up to GROUP files, what got ready while
 * the probes ran) is published, then committed in one transaction, then
 * reported in that order.  So a
 * record is out only after its commit, the records keep the input order,
 * and an original is durable before the row that names it.
 * With --skip-posted, a file whose media the owner posted already is
 * reported as that post ("exists"), and nothing is written: an import cut
 * short can be run again as it was.
 */
#include "cli.h"
#include "emit.h"
#include "exits.h"
#include "hash.h"
#include "log.h"
#include "probe.h"
#include "progress.h"
#include "spawn.h"
#include "storage.h"
#include "store.h"
#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char synopsis[] =
	"usage: md-ingest [-qv] [-c FILE] [--db URL] [--storage URL] [--log-format FMT]\n"
	"                 [--log-level LEVEL] [--json] [-r] [-L] [-0] [-u NAME|--user NAME]\n"
	"                 [--caption TEXT] [-t TAG|--tag TAG]... [-e PROFILES|--enqueue PROFILES]\n"
	"                 [-j N] [--move] [--skip-posted] [-n|--dry-run] [--trace-id ID]\n"
	"                 [--] PATH... | -\n";

enum { OPT_CAPTION = OPT_TOOL_BASE, OPT_MOVE, OPT_SKIP_POSTED, OPT_TRACE };

/* Tags of one post: each is a name of 1 to 64 bytes (user_name_valid). */
#define TAGS_MAX 32
/* Files committed in one transaction, at most; -j's bound; the window. */
#define GROUP 64
#define JOBS_MAX 128
#define WIN_MAX (GROUP + JOBS_MAX)
/* A multiple of copy_hash's buffer: written bytes sent to the disk early. */
#define WRITEBACK_CHUNK (8 << 20)

static const struct cli_option options[] = {
	{ 'r', "recursive", NULL, "descend into directories" },
	{ 'L', "follow-symlinks", NULL, "follow symlinks that point outside the given roots" },
	{ '0', "null", NULL, "with '-', paths on stdin are NUL-separated" },
	{ 'u', "user", "NAME", "owner of the posts (default $MD_USER, else login name)" },
	{ OPT_CAPTION, "caption", "TEXT", "caption of the posts" },
	{ 't', "tag", "TAG", "tag the posts (repeatable)" },
	{ 'e', "enqueue", "LIST", "create jobs for these profiles (e.g. mp4,thumb)" },
	{ 'j', "jobs", "N", "files probed at once (default: the number of cores)" },
	{ OPT_MOVE, "move", NULL, "remove each source once its post is committed" },
	{ OPT_SKIP_POSTED, "skip-posted", NULL, "a media the user posted already: report that post, add none" },
	{ 'n', "dry-run", NULL, "change nothing, print what would be done" },
	{ OPT_TRACE, "trace-id", "ID", "trace id (32 hex) for the posts and their jobs" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct {
	int recursive, follow, nul, move, skip_posted, dry_run, jobs;
	const char *user, *caption, *trace_id, *enqueue;
	char **tags;
	int ntags;
} opt;

static struct store *db;
static struct storage st;
static const struct profile **profiles;
static int nprofiles;
static int nok, nbad, fatal;
static struct progress prog;

/*
 * A file in flight, from its walk to its record.  The window is a ring of
 * them in input order; its head is reported first.
 */
enum { IT_PROBE, IT_READY, IT_REJECT, IT_POSTED, IT_FAILED };

struct item {
	int state;
	char *path;                     /* for messages and the record */
	struct walk_file wf;            /* --move: its dirfd a dup, its name a copy */
	int64_t size;                   /* for the progress line */
	char *volatile tmp;             /* the temp copy, until published or removed */
	char sha[65];
	int64_t bytes;
	char *why;                      /* IT_REJECT */
	struct probe_job pj;            /* IT_PROBE */
	struct probe pr;                /* IT_READY */
	struct post_found posted;       /* IT_POSTED */
	char trace[33];
	char *key;
	int exists, stored;             /* the media row was there; we published */
	struct media_info mi;
	struct ingest_res res;
};

static struct item win[WIN_MAX];
static int whead, wcount, wmax, nprobing, jobs;

#define ITEM(k) (&win[(whead + (k)) % WIN_MAX])

static void on_signal(int sig)
{
	for (int k = 0; k < WIN_MAX; k++) {
		char *t = win[k].tmp;
		if (t)
			unlink(t);
	}
	progress_clear();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Is s well-formed UTF-8 (what both databases can store)? */
static int valid_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max || !utf8_valid(s))
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
			return 0;
	return 1;
}

static int on_opt(void *ctx, int o, const char *arg)
{
	switch (o) {
	case 'r': opt.recursive = 1; break;
	case 'L': opt.follow = 1; break;
	case '0': opt.nul = 1; break;
	case 'u':
		if (!user_name_valid(arg))
			usage_error(&cli, "bad user name '%s'", arg);
		opt.user = arg;
		break;
	case OPT_CAPTION:
		if (!valid_text(arg, 4096))
			usage_error(&cli, "bad caption: at most 4096 bytes of UTF-8 without control characters");
		opt.caption = arg;
		break;
	case 't':
		if (*arg == '#')
			arg++;
		if (!user_name_valid(arg))
			usage_error(&cli, "bad tag '%s': 1-64 characters, no spaces or commas", arg);
		for (int k = 0; k < opt.ntags; k++)
			if (!strcmp(opt.tags[k], arg))
				return 0;       /* the same tag twice is one tag */
		if (opt.ntags >= TAGS_MAX)
			usage_error(&cli, "too many tags: at most %d per post", TAGS_MAX);
		opt.tags = xrealloc(opt.tags, (opt.ntags + 1) * sizeof(*opt.tags));
		opt.tags[opt.ntags++] = (char *)arg;
		break;
	case 'e': opt.enqueue = arg; break;
	case 'j': {
		long long v;
		if (parse_int(arg, 1, JOBS_MAX, &v))
			usage_error(&cli, "bad -j '%s': a number from 1 to %d", arg, JOBS_MAX);
		opt.jobs = (int)v;
		break;
	}
	case OPT_MOVE: opt.move = 1; break;
	case OPT_SKIP_POSTED: opt.skip_posted = 1; break;
	case 'n': opt.dry_run = 1; break;
	case OPT_TRACE:
		if (!trace_id_valid(arg))
			usage_error(&cli, "bad trace id '%s': 32 lowercase hex digits", arg);
		opt.trace_id = arg;
		break;
	default: return -1;
	}
	return 0;
}

static void reject(const char *path, const char *why)
{
	struct emit e;

	nbad++;
	logkv(LOG_ERROR, "cannot ingest", "path", path, "error", why, (char *)NULL);
	if (cli.json) {
		emit_begin(&e, 1);
		emit_str(&e, "path", path);
		emit_str(&e, "error", why);
		if (emit_end(&e, stdout))
			fatal = MD_EXIT_IOERR;
	}
}

/* Remove the temp copy of it, if any. */
static void drop_tmp(struct item *it)
{
	char *t = it->tmp;

	if (!t)
		return;
	it->tmp = NULL;
	unlink(t);
	free(t);
}

/*
 * Copy fd into a new temp file while hashing.  Returns 0 with it->tmp set,
 * 1 when the input is refused (it->why set), or -1 on a storage error.
 */
static int copy_hash(int fd, struct item *it)
{
	static char buf[1 << 18];
	struct hash h;
	char *t;
	int out;
	ssize_t n;

	it->bytes = 0;
	out = storage_tmpfile(&st, "in", &t);
	if (out < 0) {
		error_errno("cannot create a temp file in '%s'", storage_tmpdir(&st));
		return -1;
	}
	it->tmp = t;
	hash_init(&h);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			it->why = xstrfmt("read error: %s", strerror(errno));
			goto refuse;
		}
		it->bytes += n;
		if ((uint64_t)it->bytes > cli.conf.max_bytes) {
			it->why = xstrfmt("larger than the limit of %llu bytes",
					  (unsigned long long)cli.conf.max_bytes);
			goto refuse;
		}
		hash_update(&h, buf, (size_t)n);
		if (write_all(out, buf, (size_t)n)) {
			error_errno("cannot write '%s'", t);
			goto fail;
		}
		/* start the writeback of what is written, so that the fsync
		 * of storage_put finds little left to do: the disk works while
		 * the rest is read and the copy probed */
		if (!(it->bytes % WRITEBACK_CHUNK))
			(void)sync_file_range(out, it->bytes - WRITEBACK_CHUNK, WRITEBACK_CHUNK,
					      SYNC_FILE_RANGE_WRITE);
	}
	if (!it->bytes) {
		it->why = xstrdup("empty file");
		goto refuse;
	}
	/* storage_put makes it durable, if it is kept */
	if (close(out)) {
		out = -1;
		error_errno("cannot write '%s'", t);
		goto fail;
	}
	hash_final(&h, it->sha);
	return 0;
refuse:
	hash_abort(&h);
	close(out);
	drop_tmp(it);
	return 1;
fail:
	hash_abort(&h);
	if (out >= 0)
		close(out);
	drop_tmp(it);
	return -1;
}

/* dup: 0 new media, 1 known media, 2 the user's earlier post (exists) */
static void emit_post(const char *path, const char *post_id, const char *sha,
		      const char *status, int dup, unsigned kind)
{
	struct emit e;

	progress_clear_out();
	emit_begin(&e, cli.json);
	if (cli.json) {
		if (post_id)
			emit_raw(&e, "post_id", post_id, NULL);
		else
			emit_str(&e, "post_id", NULL);
	} else {
		emit_str(&e, "post_id", post_id ? post_id : "-");
	}
	emit_str(&e, "media", sha);
	emit_str(&e, "status", status);
	if (cli.json) {
		emit_bool(&e, "dup", dup);
		if (opt.skip_posted)
			emit_bool(&e, "exists", dup == 2);
		emit_str(&e, "kind", kind_name(kind));
	} else {
		emit_str(&e, "dup", dup == 2 ? "exists" : dup ? "dup" : "new");
	}
	emit_str(&e, "path", path);
	if (emit_end(&e, stdout))
		fatal = MD_EXIT_IOERR;
}

/* --move: remove the source, if it is still the file that was ingested. */
static void move_source(struct item *it)
{
	int rc = walk_unlink(&it->wf);

	if (rc < 0)
		warning("cannot remove '%s' after ingest: %s", it->path, strerror(errno));
	else if (rc > 0)
		warning("not removing '%s': it is no longer the file that was ingested",
			it->path);
}

/* Remove the original just stored for new media, unless the database
 * holds the media now (another md-ingest committed it meanwhile). */
static void drop_original(const char *sha, const char *key)
{
	if (store_media_exists(db, sha) == 0)
		(void)storage_delete(&st, key);
}

/* The user's post of the media, found: report it; with --move the source
 * goes, as its post is committed. */
static void report_exists(struct item *it, int64_t id, const char *status, unsigned kind)
{
	char idbuf[24];

	xsnprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	logkv(LOG_DEBUG, "posted already", "path", it->path, LOG_NUM "post_id", idbuf, "status", status,
	      (char *)NULL);
	emit_post(it->path, idbuf, it->sha, status, 2, kind);
	nok++;
	if (opt.move && !opt.dry_run)
		move_source(it);
}

/*
 * --skip-posted, before the probe: 1 when the user has a post of the
 * media (it->posted, reported in its turn), 0 when not, -1 on error
 * (fatal set).  A hint that spares the probe of a file imported before;
 * the ingest checks again in its transaction.
 */
static int posted_before(struct item *it)
{
	int rc;

	if (!opt.skip_posted)
		return 0;
	if ((rc = store_post_of(db, opt.user, it->sha, &it->posted))) {
		fatal = rc;
		return -1;
	}
	return it->posted.id != 0;
}

/* A new item at the window's tail. */
static struct item *item_add(const char *path, int64_t size)
{
	struct item *it = &win[(whead + wcount++) % WIN_MAX];

	memset(it, 0, sizeof(*it));
	it->path = xstrdup(path);
	it->size = size;
	it->wf.dirfd = -1;
	it->wf.fd = -1;
	return it;
}

static void item_free(struct item *it)
{
	if (it->state == IT_PROBE) {
		probe_abort(&it->pj);
		nprobing--;
	} else if (it->state == IT_READY) {
		probe_release(&it->pr);
	}
	drop_tmp(it);
	if (it->wf.dirfd >= 0)
		close(it->wf.dirfd);
	free((char *)it->wf.name);
	free(it->path);
	free(it->why);
	free(it->key);
	memset(it, 0, sizeof(*it));
}

/* Reap the probe of it and take its verdict. */
static void finish_probe(struct item *it)
{
	int rc = probe_finish(&cli.conf, &it->pj, &it->pr, &it->why);

	nprobing--;
	if (rc < 0) {
		error("%s", it->why);
		fatal = MD_EXIT_UNAVAILABLE;
		it->state = IT_FAILED;
	} else {
		it->state = rc ? IT_REJECT : IT_READY;
	}
}

/* Hash and copy f, then start its probe (or settle it: refused, posted). */
static void start_file(struct item *it, struct walk_file *f)
{
	int rc;

	it->state = IT_REJECT;
	/* refused before a byte is copied; copy_hash() checks again as it
	 * reads, for a file that grows meanwhile */
	if ((uint64_t)f->st.st_size > cli.conf.max_bytes) {
		it->why = xstrfmt("larger than the limit of %llu bytes",
				  (unsigned long long)cli.conf.max_bytes);
		return;
	}
	if ((rc = copy_hash(f->fd, it)) < 0)
		fatal = MD_EXIT_IOERR;
	if (rc)
		goto out;
	if (opt.move) {
		it->wf = *f;
		it->wf.path = it->path;
		it->wf.name = xstrdup(f->name);
		it->wf.fd = -1;
		if ((it->wf.dirfd = fcntl(f->dirfd, F_DUPFD_CLOEXEC, 0)) < 0) {
			error_errno("cannot keep the directory of '%s'", it->path);
			fatal = MD_EXIT_IOERR;
			rc = -1;
			goto out;
		}
	}
	if ((rc = posted_before(it)))
		goto out;
	it->state = IT_PROBE;
	nprobing++;
	if (probe_start(&cli.conf, it->tmp, &it->pj))
		finish_probe(it);       /* not started: "cannot run ffprobe" */
	return;
out:
	if (rc < 0)
		it->state = IT_FAILED;
	else if (it->posted.id)
		it->state = IT_POSTED;
}

/* Wait for the probes in flight (block: until one has news; else only
 * look) and settle those that ended.  0, or -1 (fatal set). */
static int poll_probes(int block)
{
	struct pollfd pf[JOBS_MAX * SPAWN_NFDS];
	struct item *who[JOBS_MAX];
	int first[JOBS_MAX], cnt[JOBS_MAX], m = 0, n = 0, timeout = block ? -1 : 0;

	for (int k = 0; k < wcount && m < JOBS_MAX; k++) {
		struct item *it = ITEM(k);
		int due;

		if (it->state != IT_PROBE)
			continue;
		who[m] = it;
		first[m] = n;
		cnt[m] = spawn_pollfds(&it->pj.sp, pf + n);
		n += cnt[m];
		due = spawn_due(&it->pj.sp);
		if (block && due >= 0 && (timeout < 0 || due < timeout))
			timeout = due;
		m++;
	}
	if (!m)
		return 0;
	if (poll(pf, (nfds_t)n, timeout) < 0) {
		if (errno != EINTR) {
			error_errno("cannot wait for ffprobe");
			fatal = MD_EXIT_SOFTWARE;
			return -1;
		}
		for (int k = 0; k < n; k++)
			pf[k].revents = 0;
	}
	for (int k = 0; k < m; k++)
		if (spawn_poll(&who[k]->pj.sp, pf + first[k], cnt[k]))
			finish_probe(who[k]);
	return 0;
}

/* The finished files at the window's head, up to a group (0: the head
 * is still being probed, or failed). */
static int head_run(void)
{
	int n = 0;

	while (n < wcount && n < GROUP && ITEM(n)->state != IT_PROBE && ITEM(n)->state != IT_FAILED)
		n++;
	return n;
}

/* Publish the temp copy of it as its original: 0, or -1 (fatal set). */
static int publish(struct item *it)
{
	if (storage_put(&st, it->tmp, it->key)) {
		int e = errno;
		char *name = storage_name(&st, it->key);

		error("cannot publish '%s': %s", name, storage_strerror(&st, e));
		free(name);
		fatal = storage_exit_code(e);
		return -1;
	}
	free(it->tmp);
	it->tmp = NULL;
	it->stored = 1;
	return 0;
}

/* Before the commit of the i-th file of a group: is its media known, and
 * its original stored (by it, or by an earlier file of the group)?  0, or
 * -1 (fatal set). */
static int prepare(struct item *it, int i)
{
	int e;

	it->key = storage_original_key(it->sha, it->pr.ext);
	if ((e = store_media_exists(db, it->sha)) < 0) {
		fatal = -e;
		return -1;
	}
	it->exists = e;
	if (opt.dry_run)
		return 0;
	for (int k = 0; k < i; k++)
		if (ITEM(k)->stored && !strcmp(ITEM(k)->sha, it->sha))
			return 0;
	if (!e || storage_stat(&st, it->key, NULL))
		return publish(it);
	return 0;
}

/* Fill the ingest request of it. */
static void item_req(struct item *it, struct ingest_req *req)
{
	const struct probe *pr = &it->pr;

	it->mi = (struct media_info){
		.kind = pr->kind, .mime = pr->mime, .format = pr->format, .ext = pr->ext,
		.bytes = it->bytes, .width = pr->width, .height = pr->height,
		.duration = pr->duration, .probe_json = pr->json.buf,
	};
	memcpy(it->mi.sha, it->sha, sizeof(it->mi.sha));
	if (opt.trace_id)
		xsnprintf(it->trace, sizeof(it->trace), "%s", opt.trace_id);
	else
		trace_id_new(it->trace);
	*req = (struct ingest_req){
		.media = &it->mi, .user = opt.user, .caption = opt.caption,
		.tags = opt.tags, .ntags = opt.ntags, .trace_id = it->trace,
		.profiles = profiles, .nprofiles = nprofiles,
		.max_attempts = cli.conf.max_attempts, .skip_posted = opt.skip_posted,
	};
}

/* The rows of the first n files, in one transaction: 0, or -1 (fatal
 * set, and the originals stored for them of new media removed). */
static int commit_rows(int n)
{
	struct ingest_req req[GROUP];
	struct ingest_res res[GROUP];
	struct item *who[GROUP];
	int m = 0, rc;

	for (int i = 0; i < n; i++)
		if (ITEM(i)->state == IT_READY) {
			who[m] = ITEM(i);
			item_req(who[m], &req[m]);
			m++;
		}
	if (!m || opt.dry_run)
		return 0;
	if ((rc = store_ingest_batch(db, req, res, m))) {
		/* nothing references a file we just stored for new media */
		for (int k = 0; k < m; k++)
			if (who[k]->stored && !who[k]->exists)
				drop_original(who[k]->sha, who[k]->key);
		fatal = rc;
		return -1;
	}
	for (int k = 0; k < m; k++)
		who[k]->res = res[k];
	return 0;
}

/* The record of a committed (or refused, or posted) file. */
static void report_item(struct item *it)
{
	char idbuf[24];
	unsigned kind = it->pr.kind;

	if (it->state == IT_REJECT) {
		reject(it->path, it->why);
		return;
	}
	if (it->state == IT_POSTED) {
		report_exists(it, it->posted.id, it->posted.status, it->posted.kind);
		return;
	}
	log_ctx_set("media", it->sha);
	log_ctx_set("trace_id", it->trace);
	if (opt.dry_run) {
		emit_post(it->path, NULL, it->sha, it->exists ? "dup" : "pending", it->exists, kind);
		nok++;
	} else if (it->res.exists) {
		/* posted by another md-ingest since posted_before() looked */
		report_exists(it, it->res.post_id, it->res.status, kind);
	} else {
		xsnprintf(idbuf, sizeof(idbuf), "%lld", (long long)it->res.post_id);
		log_ctx_set(LOG_NUM "post_id", idbuf);
		logkv(LOG_DEBUG, "ingested", "path", it->path, "status", it->res.status,
		      "kind", kind_name(kind), (char *)NULL);
		emit_post(it->path, idbuf, it->sha, it->res.status, !it->res.media_new, kind);
		nok++;
		if (opt.move)
			move_source(it);
	}
	log_ctx_clear();
}

/*
 * The group of the first n files: publish the originals in order, commit
 * the rows of those published in one transaction, then report them in
 * order and let them go.  A failure stops at the file it hit: those
 * before it are still committed and reported.  0, or -1 (fatal set).
 */
static int commit_group(int n)
{
	int cut = 0;

	while (cut < n && (ITEM(cut)->state != IT_READY || !prepare(ITEM(cut), cut)))
		cut++;
	if (cut && commit_rows(cut))
		return -1;
	for (int i = 0; i < cut; i++) {
		struct item *it = ITEM(0);

		report_item(it);
		progress_add(&prog, 1, it->size, it->state == IT_REJECT);
		item_free(it);
		whead = (whead + 1) % WIN_MAX;
		wcount--;
	}
	return cut < n ? -1 : 0;
}

/* Commit the finished run at the head when it is a whole group, when no
 * probe runs (nothing to wait for), or when forced (the window is full). */
static void flush(int force)
{
	int n = head_run();

	if (n && !fatal && (force || n == GROUP || !nprobing))
		(void)commit_group(n);
}

/*
 * After a file is taken: keep at most -j probes and a window's files in
 * flight.  Before it waits for a probe, what is ready at the head commits,
 * while every probe slot is busy: a group is what got ready meanwhile, up
 * to GROUP files, so the commits keep pace with the probes.
 */
static void pump(void)
{
	if (poll_probes(0))
		return;
	flush(0);
	while (!fatal && (nprobing >= jobs || wcount >= wmax)) {
		if (head_run())
			flush(1);
		else if (poll_probes(1))
			return;
	}
}

/* Is a failed file in the window? */
static int window_failed(void)
{
	for (int k = 0; k < wcount; k++)
		if (ITEM(k)->state == IT_FAILED)
			return 1;
	return 0;
}

/*
 * Finish every file in flight: wait for the probes and commit.  After a
 * failure, only the files taken before the one that failed are.
 */
static void drain(void)
{
	while (wcount && !(fatal && !window_failed()) && ITEM(0)->state != IT_FAILED) {
		int n = head_run();

		if (n ? commit_group(n) : poll_probes(1))
			break;
	}
}

/* Let go of what is left in the window: stop its probes, remove its
 * temp copies. */
static void drop_window(void)
{
	while (wcount) {
		item_free(ITEM(0));
		whead = (whead + 1) % WIN_MAX;
		wcount--;
	}
}

static void on_refuse(void *ctx, const char *path, const char *why)
{
	struct item *it = item_add(path, 0);

	it->state = IT_REJECT;
	it->why = xstrdup(why);
	pump();
}

static void on_file(void *ctx, struct walk_file *f)
{
	start_file(item_add(f->path, f->st.st_size), f);
	pump();
}

static int on_stop(void *ctx)
{
	return fatal;
}

static void walk_top(const char *path)
{
	struct walk_opts o = {
		.recursive = opt.recursive, .follow = opt.follow,
		.on_file = on_file, .on_refuse = on_refuse, .stop = on_stop,
	};

	if (walk_path(&o, path))
		fatal = MD_EXIT_IOERR;
}

static void count_refuse(void *ctx, const char *path, const char *why)
{
	(*(long long *)ctx)++;
}

static void count_file(void *ctx, struct walk_file *f)
{
	(*(long long *)ctx)++;
	prog.total_bytes += f->st.st_size;
}

/*
 * The progress line, on a terminal: the paths given are walked once
 * first, opening each file but reading none, so that the line shows done
 * of total; paths read from stdin are not known in advance, and the line
 * counts up.  Every file or refused path is an item.
 */
static void progress_begin(char **paths, int n, int from_stdin)
{
	struct walk_opts o = { .recursive = opt.recursive, .follow = opt.follow,
			       .on_file = count_file, .on_refuse = count_refuse };
	long long total = 0;

	progress_start(&prog, "files", cli.quiet);
	if (!prog.on || from_stdin)
		return;
	o.ctx = &total;
	prog.total_bytes = 0;
	for (int k = 0; k < n; k++)
		(void)walk_path(&o, paths[k]);
	if (total < 2)
		progress_end(&prog);    /* one file: nothing to watch */
	else
		progress_total(&prog, total, prog.total_bytes);
}

/* Read more of stdin into in: 0, or 1 at its end (or on an error, told). */
static int read_more(struct strbuf *in)
{
	ssize_t r;

	sb_grow(in, 1 << 16);
	while ((r = read(0, in->buf + in->len, 1 << 16)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		error_errno("cannot read standard input");
		fatal = MD_EXIT_IOERR;
	}
	if (r <= 0)
		return 1;
	sb_setlen(in, in->len + (size_t)r);
	return 0;
}

/*
 * The paths on stdin, one a line (or NUL-separated with -0).  Before it
 * waits for more input, what is in flight is finished and reported: a
 * writer that sends a path and waits for its record gets it.
 */
static void read_stdin_paths(void)
{
	struct strbuf in = STRBUF_INIT;
	size_t off = 0;
	int delim = opt.nul ? '\0' : '\n', eof = 0;

	while (!fatal) {
		char *line = in.buf + off, *end = memchr(line, delim, in.len - off);
		size_t n;

		if (!end && !eof) {
			struct pollfd pf = { .fd = 0, .events = POLLIN };
			if (poll(&pf, 1, 0) < 1)
				drain();
			memmove(in.buf, in.buf + off, in.len - off);
			sb_setlen(&in, in.len - off);
			off = 0;
			eof = read_more(&in);
			continue;
		}
		if (!end && off == in.len)
			break;
		n = end ? (size_t)(end - line) : in.len - off;
		off += n + (end != NULL);
		line[n] = '\0';
		if (!opt.nul && n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n)
			walk_top(line);
	}
	sb_release(&in);
}

static void parse_profiles(void)
{
	char *list = xstrdup(opt.enqueue), *save = NULL;

	for (char *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		const struct profile *pf = conf_profile(&cli.conf, p);
		if (!pf)
			usage_error(&cli, "unknown profile '%s'", p);
		profiles = xrealloc(profiles, (nprofiles + 1) * sizeof(*profiles));
		profiles[nprofiles++] = pf;
	}
	free(list);
	if (!nprofiles)
		usage_error(&cli, "--enqueue needs a list of profiles");
}

/* -j, else the cores online; the window: the probes and a group. */
static void set_jobs(void)
{
	jobs = opt.jobs ? opt.jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (jobs < 1)
		jobs = 1;
	if (jobs > JOBS_MAX)
		jobs = JOBS_MAX;
	wmax = jobs + GROUP;
}

int main(int argc, char **argv)
{
	int i = cli_start_table(&cli, argc, argv, "md-ingest", synopsis, NULL, options, on_opt,
				NULL);
	int rc, from_stdin = 0;
	char tb[33];

	if (i >= argc)
		usage_error(&cli, "no input: give paths, or '-' to read them from stdin");
	/* a record is out as soon as its post is committed */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int k = i; k < argc; k++)
		if (!strcmp(argv[k], "-"))
			from_stdin = 1;
	if (opt.enqueue)
		parse_profiles();
	set_jobs();
	if (!opt.trace_id) {
		const char *t = getenv("MD_TRACE_ID"), *tp = getenv("TRACEPARENT");
		if (t && *t && trace_id_valid(t))
			opt.trace_id = t;
		else if (tp && strlen(tp) >= 35 && tp[2] == '-' && tp[35] == '-') {
			xsnprintf(tb, sizeof(tb), "%.32s", tp + 3);
			if (trace_id_valid(tb))
				opt.trace_id = tb;
		}
	}
	if (!opt.user) {
		const char *u = getenv("MD_USER");
		if (u && *u)
			opt.user = u;
		else {
			struct passwd *pw = getpwuid(geteuid());
			opt.user = pw ? pw->pw_name : "unknown";
		}
		if (!user_name_valid(opt.user))
			usage_error(&cli, "bad user name '%s'", opt.user);
	}
	if (!spawn_have("ffprobe")) {
		error("ffprobe is not installed (it comes with ffmpeg)");
		return cli_finish(&cli, MD_EXIT_UNAVAILABLE);
	}
	if ((rc = store_open(cli.conf.db_url, 0, &db)))
		return cli_finish(&cli, rc);
	if (storage_open(&st, cli.conf.storage, &cli.conf.s3)) {
		store_close(db);
		return cli_finish(&cli, MD_EXIT_CONFIG);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);

	progress_begin(argv + i, argc - i, from_stdin);
	for (int k = i; k < argc && !fatal; k++) {
		if (!strcmp(argv[k], "-")) {
			if (from_stdin == 1) {
				read_stdin_paths();
				from_stdin = 2;
			}
			continue;
		}
		walk_top(argv[k]);
	}
	drain();
	drop_window();
	progress_end(&prog);
	if (fflush(stdout))
		fatal = MD_EXIT_IOERR;
	store_close(db);
	storage_close(&st);
	free(profiles);
	free(opt.tags);
	rc = fatal ? fatal : md_exit_for(nok, nbad);
	if (!fatal && !nok && !nbad)
		rc = MD_EXIT_DATAERR;  /* nothing found to ingest */
	return cli_finish(&cli, rc);
}
