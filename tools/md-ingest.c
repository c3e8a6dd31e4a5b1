/*
 * md-ingest - take files in: hash, copy, probe, publish, record.
 *
 * Per file, in one read pass the bytes are hashed (SHA-256) and copied to
 * storage tmp/; ffprobe decides on the copy what it is; the original is
 * published at its content address; one transaction records the media
 * (if new), the post, its tags and, with --enqueue, its jobs.  A rejected
 * file leaves nothing behind: no row, no stored file, no temp file.
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
	"                 [--move] [--skip-posted] [-n|--dry-run] [--trace-id ID] [--] PATH... | -\n";

enum { OPT_CAPTION = OPT_TOOL_BASE, OPT_MOVE, OPT_SKIP_POSTED, OPT_TRACE };

/* Tags of one post: each is a name of 1 to 64 bytes (user_name_valid). */
#define TAGS_MAX 32

static const struct cli_option options[] = {
	{ 'r', "recursive", NULL, "descend into directories" },
	{ 'L', "follow-symlinks", NULL, "follow symlinks that point outside the given roots" },
	{ '0', "null", NULL, "with '-', paths on stdin are NUL-separated" },
	{ 'u', "user", "NAME", "owner of the posts (default $MD_USER, else login name)" },
	{ OPT_CAPTION, "caption", "TEXT", "caption of the posts" },
	{ 't', "tag", "TAG", "tag the posts (repeatable)" },
	{ 'e', "enqueue", "LIST", "create jobs for these profiles (e.g. mp4,thumb)" },
	{ OPT_MOVE, "move", NULL, "remove each source once its post is committed" },
	{ OPT_SKIP_POSTED, "skip-posted", NULL, "a media the user posted already: report that post, add none" },
	{ 'n', "dry-run", NULL, "change nothing, print what would be done" },
	{ OPT_TRACE, "trace-id", "ID", "trace id (32 hex) for the posts and their jobs" },
	CLI_OPTIONS_END
};

static struct cli cli;
static struct {
	int recursive, follow, nul, move, skip_posted, dry_run;
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

/* the temp file being written, removed by the signal handler */
static char *volatile cur_tmp;

static void on_signal(int sig)
{
	char *t = cur_tmp;
	if (t)
		unlink(t);
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

/*
 * Copy fd into a new temp file while hashing.  Returns 0 with *tmp set,
 * 1 when the input is refused (why set), or -1 on a storage error.
 */
static int copy_hash(int fd, const char *path, char **tmp, char sha[65], int64_t *bytes,
		     char **why)
{
	static char buf[1 << 18];
	struct hash h;
	int out;
	ssize_t n;

	*bytes = 0;
	out = storage_tmpfile(&st, "in", tmp);
	if (out < 0) {
		error_errno("cannot create a temp file in '%s'", storage_tmpdir(&st));
		return -1;
	}
	cur_tmp = *tmp;
	hash_init(&h);
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			*why = xstrfmt("read error: %s", strerror(errno));
			goto refuse;
		}
		*bytes += n;
		if ((uint64_t)*bytes > cli.conf.max_bytes) {
			*why = xstrfmt("larger than the limit of %llu bytes",
				       (unsigned long long)cli.conf.max_bytes);
			goto refuse;
		}
		hash_update(&h, buf, (size_t)n);
		if (write_all(out, buf, (size_t)n)) {
			error_errno("cannot write '%s'", *tmp);
			goto fail;
		}
	}
	if (!*bytes) {
		*why = xstrdup("empty file");
		goto refuse;
	}
	/* storage_put makes it durable, if it is kept */
	if (close(out)) {
		out = -1;
		error_errno("cannot write '%s'", *tmp);
		goto fail;
	}
	hash_final(&h, sha);
	return 0;
refuse:
	hash_abort(&h);
	close(out);
	unlink(*tmp);
	cur_tmp = NULL;
	free(*tmp);
	*tmp = NULL;
	return 1;
fail:
	hash_abort(&h);
	if (out >= 0)
		close(out);
	unlink(*tmp);
	cur_tmp = NULL;
	free(*tmp);
	*tmp = NULL;
	(void)path;
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
static void move_source(struct walk_file *f)
{
	int rc = walk_unlink(f);

	if (rc < 0)
		warning("cannot remove '%s' after ingest: %s", f->path, strerror(errno));
	else if (rc > 0)
		warning("not removing '%s': it is no longer the file that was ingested",
			f->path);
}

static const char *trace_for_post(char buf[33])
{
	if (opt.trace_id)
		return opt.trace_id;
	trace_id_new(buf);
	return buf;
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
static void report_exists(struct walk_file *f, int64_t id, const char *sha, const char *status,
			  unsigned kind)
{
	char idbuf[24];

	xsnprintf(idbuf, sizeof(idbuf), "%lld", (long long)id);
	logkv(LOG_DEBUG, "posted already", "path", f->path, LOG_NUM "post_id", idbuf, "status", status,
	      (char *)NULL);
	emit_post(f->path, idbuf, sha, status, 2, kind);
	nok++;
	if (opt.move && !opt.dry_run)
		move_source(f);
}

/*
 * --skip-posted, before the probe: 1 when the user has a post of the
 * media (reported), 0 when not, -1 on error (fatal set).  A hint that
 * spares the probe of a file imported before; the ingest checks again in
 * its transaction.
 */
static int posted_before(struct walk_file *f, const char *sha)
{
	struct post_found p;
	int rc;

	if (!opt.skip_posted)
		return 0;
	if ((rc = store_post_of(db, opt.user, sha, &p))) {
		fatal = rc;
		return -1;
	}
	if (!p.id)
		return 0;
	report_exists(f, p.id, sha, p.status, p.kind);
	return 1;
}

/* Publish the temp file tmp as the original at key: 0, or -1 (fatal set). */
static int publish(const char *tmp, const char *key)
{
	if (storage_put(&st, tmp, key)) {
		int e = errno;
		char *name = storage_name(&st, key);

		error("cannot publish '%s': %s", name, storage_strerror(&st, e));
		free(name);
		fatal = storage_exit_code(e);
		return -1;
	}
	cur_tmp = NULL;
	return 0;
}

/* The post (and media, tags, jobs) of the probed file, in one transaction. */
static int ingest_post(const char *sha, int64_t bytes, const struct probe *pr,
		       struct ingest_res *res)
{
	char tb[33];
	struct media_info mi = {
		.kind = pr->kind, .mime = pr->mime, .format = pr->format, .ext = pr->ext,
		.bytes = bytes, .width = pr->width, .height = pr->height,
		.duration = pr->duration, .probe_json = pr->json.buf,
	};
	memcpy(mi.sha, sha, sizeof(mi.sha));
	struct ingest_req req = {
		.media = &mi, .user = opt.user, .caption = opt.caption,
		.tags = opt.tags, .ntags = opt.ntags, .trace_id = trace_for_post(tb),
		.profiles = profiles, .nprofiles = nprofiles,
		.max_attempts = cli.conf.max_attempts, .skip_posted = opt.skip_posted,
	};
	log_ctx_set("trace_id", req.trace_id);
	return store_ingest(db, &req, res);
}

/*
 * Store the probed temp file tmp as the original (unless it is there
 * already) and record the post.  Sets fatal on failure; tmp is gone or
 * left for the caller to remove.
 */
static void record(struct walk_file *f, const char *tmp, const char *sha, int64_t bytes,
		   const struct probe *pr)
{
	const char *path = f->path;
	char idbuf[24], *key = storage_original_key(sha, pr->ext);
	int rc, exists = store_media_exists(db, sha), stored = 0;
	struct ingest_res res;

	if (exists < 0) {
		fatal = -exists;
		goto out;
	}
	if (opt.dry_run) {
		emit_post(path, NULL, sha, exists ? "dup" : "pending", exists, pr->kind);
		nok++;
		goto out;
	}
	if (!exists || storage_stat(&st, key, NULL)) {
		if (publish(tmp, key))
			goto out;
		stored = 1;
	}
	if ((rc = ingest_post(sha, bytes, pr, &res))) {
		/* nothing references a file we just stored for new media */
		if (stored && !exists)
			drop_original(sha, key);
		fatal = rc;
		goto out;
	}
	if (res.exists) {
		/* posted by another md-ingest since posted_before() looked */
		report_exists(f, res.post_id, sha, res.status, pr->kind);
		goto out;
	}
	xsnprintf(idbuf, sizeof(idbuf), "%lld", (long long)res.post_id);
	log_ctx_set(LOG_NUM "post_id", idbuf);
	logkv(LOG_DEBUG, "ingested", "path", path, "status", res.status,
	      "kind", kind_name(pr->kind), (char *)NULL);
	emit_post(path, idbuf, sha, res.status, !res.media_new, pr->kind);
	nok++;
	if (opt.move)
		move_source(f);
out:
	free(key);
}

/* Probe the copy tmp and record its post, or reject it. */
static void probe_record(struct walk_file *f, const char *tmp, const char *sha, int64_t bytes)
{
	struct probe pr;
	char *why = NULL;
	int rc = probe_file(&cli.conf, tmp, &pr, &why);

	if (rc) {
		if (rc < 0) {
			error("%s", why);
			fatal = MD_EXIT_UNAVAILABLE;
		} else {
			reject(f->path, why);
		}
		free(why);
		return;
	}
	log_ctx_set("media", sha);
	record(f, tmp, sha, bytes, &pr);
	probe_release(&pr);
	log_ctx_clear();
}

static void ingest_file(struct walk_file *f)
{
	const char *path = f->path;
	char sha[65], *tmp = NULL, *why = NULL;
	int64_t bytes;
	int rc;

	/* refused before a byte is copied; copy_hash() checks again as it
	 * reads, for a file that grows meanwhile */
	if ((uint64_t)f->st.st_size > cli.conf.max_bytes) {
		why = xstrfmt("larger than the limit of %llu bytes",
			      (unsigned long long)cli.conf.max_bytes);
		reject(path, why);
		free(why);
		return;
	}
	rc = copy_hash(f->fd, path, &tmp, sha, &bytes, &why);
	if (rc < 0) {
		fatal = MD_EXIT_IOERR;
		return;
	}
	if (rc > 0) {
		reject(path, why);
		free(why);
		return;
	}
	if (!posted_before(f, sha))
		probe_record(f, tmp, sha, bytes);
	/* gone when stored; a temp file still there is removed */
	if (cur_tmp) {
		unlink(tmp);
		cur_tmp = NULL;
	}
	free(tmp);
}

static void on_refuse(void *ctx, const char *path, const char *why)
{
	reject(path, why);
	progress_add(&prog, 1, 0, 1);
}

static void on_file(void *ctx, struct walk_file *f)
{
	int bad = nbad;

	ingest_file(f);
	progress_add(&prog, 1, f->st.st_size, nbad > bad);
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

static void read_stdin_paths(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int delim = opt.nul ? '\0' : '\n';

	while (!fatal && (n = getdelim(&line, &cap, delim, stdin)) > 0) {
		if (line[n - 1] == delim)
			line[--n] = '\0';
		if (!opt.nul && n && line[n - 1] == '\r')
			line[--n] = '\0';
		if (!n)
			continue;
		walk_top(line);
	}
	free(line);
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
