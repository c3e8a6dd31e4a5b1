#include "runner.h"
#include "emit.h"
#include "log.h"
#include "reason.h"
#include "spawn.h"
#include "source.h"
#include "verify.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct argv_buf {
	char **v;
	int n, cap;
};

static void av_push(struct argv_buf *a, char *s)
{
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 32;
		a->v = xrealloc(a->v, a->cap * sizeof(*a->v));
	}
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

static void av_free(struct argv_buf *a)
{
	for (int i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

struct vars {
	const char *input, *output, *outdir, *workdir, *format;
	const char *tonemap;    /* filters to SDR, "null" for an SDR source */
	double duration;        /* the source's, 0 if unknown */
	int threads;
	long long max_pixels;   /* decoders refuse frames larger than this */
};

/* Expand {name} placeholders in one template argument. */
static char *expand(const char *t, const struct vars *v)
{
	struct strbuf sb = STRBUF_INIT;

	while (*t) {
		const char *open = strchr(t, '{');
		if (!open) {
			sb_adds(&sb, t);
			break;
		}
		sb_add(&sb, t, (size_t)(open - t));
		const char *close = strchr(open, '}');
		if (!close) {
			sb_adds(&sb, open);
			break;
		}
		size_t n = (size_t)(close - open - 1);
		if (n == 5 && !strncmp(open + 1, "input", 5))
			sb_adds(&sb, v->input);
		else if (n == 6 && !strncmp(open + 1, "output", 6))
			sb_adds(&sb, v->output);
		else if (n == 6 && !strncmp(open + 1, "outdir", 6))
			sb_adds(&sb, v->outdir);
		else if (n == 7 && !strncmp(open + 1, "workdir", 7))
			sb_adds(&sb, v->workdir);
		else if (n == 7 && !strncmp(open + 1, "threads", 7))
			sb_addf(&sb, "%d", v->threads);
		else if (n == 8 && !strncmp(open + 1, "duration", 8))
			sb_addf(&sb, "%.6f", v->duration);
		else if (n == 7 && !strncmp(open + 1, "tonemap", 7))
			sb_adds(&sb, v->tonemap);
		else
			sb_add(&sb, open, n + 2);
		t = close + 1;
	}
	return sb_detach(&sb, NULL);
}

/* Whether a profile's steps need to know the source (source.h). */
static int needs_source(const struct profile *p)
{
	if (p->npass)
		return 1;
	for (int s = 0; s < p->nsteps; s++)
		for (char **a = p->steps[s]; *a; a++)
			if (strstr(*a, "{duration}") || strstr(*a, "{tonemap}"))
				return 1;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/*
 * What every input of an ffmpeg or ffprobe step gets: local files only,
 * the demuxer the probe accepted, and decoders that refuse a frame larger
 * than the limits allow, whatever the container's header said.
 */
static void push_input_opts(struct argv_buf *a, const struct vars *v)
{
	av_push(a, xstrdup("-protocol_whitelist"));
	av_push(a, xstrdup("file"));
	av_push(a, xstrdup("-f"));
	av_push(a, xstrdup(v->format));
	av_push(a, xstrdup("-max_pixels"));
	av_push(a, xstrfmt("%lld", v->max_pixels));
}

/*
 * The argv of one step, with the options every ffmpeg/ffprobe gets.  The
 * profile parser (conf.c) has made sure the only input of such a step is
 * "{input}": after its one "-i" for ffmpeg, as the one operand (or after
 * "-i") for ffprobe.
 */
static void build_argv(char *const *tmpl, const struct vars *v, struct argv_buf *a)
{
	const char *prog = base_name(tmpl[0]);
	int ffmpeg = !strcmp(prog, "ffmpeg"), ffprobe = !strcmp(prog, "ffprobe");

	av_push(a, xstrdup(tmpl[0]));
	if (ffmpeg) {
		av_push(a, xstrdup("-nostdin"));
		av_push(a, xstrdup("-hide_banner"));
		av_push(a, xstrdup("-loglevel"));
		av_push(a, xstrdup("error"));
		av_push(a, xstrdup("-threads"));
		av_push(a, xstrfmt("%d", v->threads));
		av_push(a, xstrdup("-filter_threads"));
		av_push(a, xstrfmt("%d", v->threads));
		/* progress lines feed the stall watchdog */
		av_push(a, xstrdup("-progress"));
		av_push(a, xstrfmt("%s/progress", v->workdir));
	}
	if (ffprobe)
		push_input_opts(a, v);
	for (int i = 1; tmpl[i]; i++) {
		if (ffmpeg && !strcmp(tmpl[i], "-i"))
			push_input_opts(a, v);
		av_push(a, expand(tmpl[i], v));
	}
}

/* What ffmpeg says of a frame over -max_pixels, which it may skip and go on. */
#define TOO_BIG "exceeds specified max pixel count"

/* Errors that will not go away by trying again. */
static int is_permanent(const struct spawn_result *r)
{
	static const char *marks[] = {
		"Invalid data found when processing input",
		"does not contain any stream",
		"Decoder (codec",
		"Unsupported codec",
		"could not find codec parameters",
		"Could not find codec parameters",
		"Output file does not contain any stream",
		"Invalid argument",
		"No such filter",
		"Error initializing complex filters",
		"Error reinitializing filters",
		"Failed to inject frame into filter network",
		"Nothing was written into output file",
		"Cannot allocate memory",       /* the memory limit is fixed */
		TOO_BIG,
	};

	if (r->timed_out)
		return 1;   /* a step over its time budget counts as bad input */
	/* so is one over its CPU time or output size limit */
	if (r->ran && WIFSIGNALED(r->status) &&
	    (WTERMSIG(r->status) == SIGXCPU || WTERMSIG(r->status) == SIGXFSZ))
		return 1;
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (strstr(r->tail, marks[i]))
			return 1;
	return 0;
}

/* One line, without the pointer addresses of ffmpeg's log prefixes. */
static void report_fail(struct strbuf *out, int permanent, const char *msg)
{
	char *m = xstrdup(msg);

	reason_clean(m);
	sb_addf(out, "fail\t%d\t%s\n", permanent, m);
	free(m);
}

/*
 * Publish every regular file of outdir (and of its sub-directories, for
 * multi-file renditions) under renditions/.../<profile>/.  Returns 0, or
 * -1 with err set.  Adds "files":[...] and the byte total to js.
 */
static int publish_dir(const struct runner_ctx *rc, const char *outdir, const char *rel,
		       const char *final_dir, struct strbuf *files, int64_t *bytes,
		       struct strbuf *err)
{
	char *dpath = rel[0] ? xstrfmt("%s/%s", outdir, rel) : xstrdup(outdir);
	size_t n;
	char **names = list_dir(dpath, 1, &n);
	int rc2 = 0;

	if (!names) {
		sb_addf(err, "cannot open '%s': %s", dpath, strerror(errno));
		free(dpath);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char *relp = rel[0] ? xstrfmt("%s/%s", rel, names[i]) : xstrdup(names[i]);
		char *src = xstrfmt("%s/%s", outdir, relp);
		char *dst = xstrfmt("%s/%s", final_dir, relp);
		struct stat sb;

		if (!rc2 && lstat(src, &sb) == 0) {
			if (S_ISDIR(sb.st_mode)) {
				rc2 = publish_dir(rc, outdir, relp, final_dir, files, bytes, err);
			} else if (S_ISREG(sb.st_mode)) {
				if (fsync_path(src) || storage_publish(src, dst)) {
					sb_addf(err, "cannot publish '%s': %s", dst, strerror(errno));
					rc2 = -1;
				} else {
					*bytes += sb.st_size;
					if (files->len > 1)
						sb_addch(files, ',');
					json_add_str(files, relp);
				}
			}
		}
		free(relp);
		free(src);
		free(dst);
		free(names[i]);
	}
	free(names);
	free(dpath);
	return rc2;
}

/* How far into the media the running ffmpeg step is, for md-status. */
static void tell_progress(void *arg, double seconds)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "progress\t%.3f\n", seconds);

	/* best effort: a worker that cannot read it loses nothing else */
	(void)write_all(*(const int *)arg, line, (size_t)n);
}

void runner_run(const struct runner_ctx *rc, const struct job *j, struct strbuf *out)
{
	const struct conf *c = rc->conf;
	const struct profile *p = conf_profile(c, j->profile);
	char *key = NULL, *input = NULL, *work = NULL, *outdir = NULL, *output = NULL;
	char *final_dir = NULL;
	struct strbuf err = STRBUF_INIT, js = STRBUF_INIT, files = STRBUF_INIT;
	double t0 = now_mono(), deadline = t0 + rc->deadline_secs;
	int64_t bytes = 0;
	long maxrss = 0;
	/* the decoder's refusal of an oversized frame: ffmpeg goes on with
	 * the other frames and may well exit 0 */
	static const char *const too_big[] = { TOO_BIG, NULL };

	if (!p) {
		report_fail(out, 1, "unknown profile");
		return;
	}
	if (!p->nsteps) {
		sb_adds(out, "ok\t{\"files\":[],\"bytes\":0,\"duration_ms\":0}\n");
		return;
	}
	key = storage_original_key(j->media, j->ext);
	input = storage_path(rc->st, key);
	if (access(input, R_OK)) {
		sb_addf(&err, "original '%s' is missing: %s", key, strerror(errno));
		report_fail(out, 1, err.buf);
		goto out;
	}
	work = storage_workdir(rc->st);
	if (!work) {
		sb_addf(&err, "cannot create a work directory: %s", strerror(errno));
		report_fail(out, 0, err.buf);
		goto out;
	}
	outdir = xstrfmt("%s/out", work);
	if (mkdir(outdir, 0750)) {
		sb_addf(&err, "cannot create '%s': %s", outdir, strerror(errno));
		report_fail(out, 0, err.buf);
		goto out;
	}
	output = xstrfmt("%s/%s", outdir, p->output ? p->output : "out");
	struct vars v = {
		.input = input, .output = output, .outdir = outdir, .workdir = work,
		.format = j->format, .threads = c->worker_threads,
		.max_pixels = conf_max_pixels(c),
	};
	/* the steps, or the passthrough steps for a source that needs no work */
	char ***steps = p->steps;
	int nsteps = p->nsteps;
	struct source src = { 0 };
	v.tonemap = "null";
	/* read once: for the steps, and for the check of a video output */
	if (needs_source(p) || p->output_kind == OUTPUT_VIDEO) {
		if (source_probe(c, input, j->format, &src, &err)) {
			report_fail(out, 0, err.buf);
			goto out;
		}
		/* what can be decoded of it, as the ingest measured, not what
		 * its header claims: the output holds that long, no longer */
		if (j->duration > 0)
			src.duration = j->duration;
		v.duration = src.duration;
		v.tonemap = source_tonemap(&src);
		if (p->npass && source_can_copy(&src, p->pass_max_size)) {
			steps = p->pass;
			nsteps = p->npass;
		}
	}
	/* a job command reads its input, writes its work directory */
	const char *rd[] = { input, NULL }, *wr[] = { work, NULL };
	for (int s = 0; s < nsteps; s++) {
		struct argv_buf a = { 0 };
		struct spawn_result res;
		double left = deadline - now_mono();

		if (left <= 0) {
			report_fail(out, 1, "job timed out");
			goto out;
		}
		build_argv(steps[s], &v, &a);
		struct spawn_opts o = {
			.argv = a.v, .stdin_fd = -1, .timeout = left, .nice = c->nice,
			.rlimit_as = conf_memory_limit(c), .rlimit_fsize = c->rlimit_fsize,
			.rlimit_cpu = conf_cpu_limit(c), .cwd = work, .cancel = rc->cancel,
			.confine = c->sandbox, .read = rd, .write = wr, .watch = too_big,
		};
		char *progress = xstrfmt("%s/progress", work);
		if (!strcmp(base_name(a.v[0]), "ffmpeg")) {
			o.progress_path = progress;
			o.stall_timeout = c->stall_timeout;
			if (rc->progress_fd > 0) {
				o.on_progress = tell_progress;
				o.progress_arg = (void *)&rc->progress_fd;
			}
		}
		int r = spawn_run(&o, &res);
		unlink(progress);
		free(progress);
		if (res.maxrss_kb > maxrss)
			maxrss = res.maxrss_kb;
		if (!r && res.seen) {
			sb_addf(&err, "step %d (%s): a frame is larger than %dx%d: %s", s + 1,
				a.v[0], c->max_width, c->max_height, res.seen);
			report_fail(out, 1, err.buf);
			av_free(&a);
			goto out;
		}
		if (r) {
			if (res.cancelled || (rc->cancel && *rc->cancel)) {
				sb_adds(out, "cancel\n");
			} else {
				sb_addf(&err, "step %d (%s) ", s + 1, a.v[0]);
				spawn_describe(&res, &err);
				report_fail(out, is_permanent(&res), err.buf);
			}
			av_free(&a);
			goto out;
		}
		av_free(&a);
	}
	if (p->output) {
		struct stat sb;
		if (stat(output, &sb) || !S_ISREG(sb.st_mode) || !sb.st_size) {
			sb_addf(&err, "the profile made no output '%s'", p->output);
			report_fail(out, 1, err.buf);
			goto out;
		}
		/* checked before anything is published */
		struct verify_ctx vc = {
			.conf = c, .cancel = rc->cancel,
			.timeout = deadline - now_mono() > c->probe_timeout ?
				deadline - now_mono() : c->probe_timeout,
		};
		int vr = VERIFY_OK;
		if (vr == VERIFY_OK) {
			sb_addch(&js, ',');
			vr = verify_output(&vc, p, output, &src, &js, &err);
			if (vr == VERIFY_OK && js.len == 1)
				sb_reset(&js);
		}
		if (vr == VERIFY_CANCELLED) {
			sb_adds(out, "cancel\n");
			goto out;
		}
		if (vr) {
			report_fail(out, vr == VERIFY_FAILED, err.buf);
			goto out;
		}
	}
	/* publish: everything in out/ goes to renditions/.../<profile>/ */
	char *dkey = storage_rendition_key(j->media, j->profile, NULL);
	final_dir = storage_path(rc->st, dkey);
	free(dkey);
	sb_addch(&files, '[');
	if (publish_dir(rc, outdir, "", final_dir, &files, &bytes, &err)) {
		report_fail(out, 0, err.buf);
		goto out;
	}
	sb_addch(&files, ']');
	sb_adds(out, "ok\t{");
	if (p->output) {
		char *rkey = storage_rendition_key(j->media, j->profile, p->output);
		sb_adds(out, "\"key\":");
		json_add_str(out, rkey);
		sb_addch(out, ',');
		free(rkey);
	}
	sb_addf(out, "\"files\":%s,\"bytes\":%lld,\"duration_ms\":%lld,\"max_rss_kb\":%ld%s}\n",
		files.buf, (long long)bytes, (long long)((now_mono() - t0) * 1000), maxrss, js.buf);
out:
	if (work && remove_tree(work))
		warning("cannot remove work directory '%s': %s", work, strerror(errno));
	free(key);
	free(input);
	free(work);
	free(outdir);
	free(output);
	free(final_dir);
	sb_release(&err);
	sb_release(&js);
	sb_release(&files);
}
