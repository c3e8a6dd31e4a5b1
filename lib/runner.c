#include "runner.h"
#include "clock.h"
#include "emit.h"
#include "frames.h"
#include "hls.h"
#include "log.h"
#include "placeholder.h"
#include "reason.h"
#include "spawn.h"
#include "source.h"
#include "verify.h"
#include "web.h"

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
	char crop[160];         /* the cut to the declared picture, or "null" */
	double duration;        /* the source's, 0 if unknown */
	int threads;
	long long max_pixels;   /* decoders refuse frames larger than this */
	const char *const *extra;       /* a built-in's own: name, value, ..., NULL */
	char **hls;             /* what "{hls}" stands for (hls.h), or NULL */
};

/* The value of placeholder name[0..n) among the extra ones, or NULL. */
static const char *extra_var(const struct vars *v, const char *name, size_t n)
{
	for (const char *const *e = v->extra; e && e[0]; e += 2)
		if (strlen(e[0]) == n && !strncmp(e[0], name, n))
			return e[1];
	return NULL;
}

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
		else if (n == 4 && !strncmp(open + 1, "crop", 4))
			sb_adds(&sb, v->crop);
		else if (extra_var(v, open + 1, n))
			sb_adds(&sb, extra_var(v, open + 1, n));
		else
			sb_add(&sb, open, n + 2);
		t = close + 1;
	}
	return sb_detach(&sb, NULL);
}

/* Whether a profile's steps need to know the source (source.h). */
static int needs_source(const struct profile *p)
{
	if (p->npass || p->output_kind == OUTPUT_HLS)
		return 1;
	for (int s = 0; s < p->nsteps; s++)
		for (char **a = p->steps[s]; *a; a++)
			if (strstr(*a, "{duration}") || strstr(*a, "{tonemap}") ||
			    strstr(*a, "{crop}"))
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
		av_push(a, xstrdup("-filter_complex_threads"));
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
		if (v->hls && !strcmp(tmpl[i], "{hls}"))
			for (char **h = v->hls; *h; h++)
				av_push(a, expand(*h, v));
		else
			av_push(a, expand(tmpl[i], v));
	}
}

/* What ffmpeg says of a frame over -max_pixels, which it may skip and go on. */
#define TOO_BIG "exceeds specified max pixel count"
/* What a full disk makes a command say: ffmpeg may say it of a write and
 * still exit 0, leaving a truncated output behind */
#define NO_SPACE "No space left on device"
#define NO_QUOTA "Disk quota exceeded"

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

/* How a run that failed at the storage with errno e is reported: the
 * store unreachable (RUN_FAIL_STORAGE) or refusing (RUN_FAIL_DENIED) is
 * the host's trouble, not the job's; anything else is retried. */
static int storage_fail_class(int e)
{
	if (e == EAGAIN)
		return RUN_FAIL_STORAGE;
	if (e == EACCES || e == EPERM)
		return RUN_FAIL_DENIED;
	return RUN_FAIL_RETRY;
}

/* One line, without the pointer addresses of ffmpeg's log prefixes;
 * permanent is a RUN_FAIL_* class. */
static void report_fail(struct strbuf *out, int permanent, const char *msg)
{
	char *m = xstrdup(msg);

	reason_clean(m);
	sb_addf(out, "fail\t%d\t%s\n", permanent, m);
	free(m);
}

/* How far into the media the running ffmpeg step is, for md-status. */
static void tell_progress(void *arg, double seconds)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "progress\t%.3f\n", seconds);

	/* best effort: a worker that cannot read it loses nothing else */
	(void)write_all(*(const int *)arg, line, (size_t)n);
}

/* One job as it runs: what each stage below leaves for the next. */
struct run {
	const struct runner_ctx *rc;
	const struct conf *c;
	const struct profile *p;
	const struct job *j;
	struct strbuf *out;             /* the report line */
	char *work, *outdir, *output, *input;
	char ***steps;                  /* the steps, or the passthrough steps */
	int nsteps;
	struct source src;
	struct hls_rung rungs[HLS_MAX_RUNGS];   /* an hls profile's ladder */
	int nrungs;
	struct vars v;
	double t0, deadline;
	long maxrss;
	struct strbuf err, js, files;
	int64_t bytes;
	struct frames_plan fp;          /* the built-ins' own (run_plan) */
	struct web_plan wp;
	struct strbuf post;             /* what run_post adds to the result */
};

/* The stages return 0 to go on, or -1 once they have written the report. */

/* A scratch directory with out/ in it, and the original to read. */
static int run_prepare(struct run *r)
{
	char *key = storage_original_key(r->j->media, r->j->ext);

	r->work = storage_workdir(r->rc->st);
	if (!r->work) {
		sb_addf(&r->err, "cannot create a work directory: %s", strerror(errno));
		report_fail(r->out, 0, r->err.buf);
		goto fail;
	}
	r->input = storage_fetch(r->rc->st, key, r->work);
	if (!r->input) {
		int e = errno;
		if (e == ENOENT) {
			sb_addf(&r->err, "original '%s' is missing: %s", key, strerror(e));
			report_fail(r->out, 1, r->err.buf);
		} else {
			sb_addf(&r->err, "cannot fetch the original '%s': %s", key,
				storage_strerror(r->rc->st, e));
			report_fail(r->out, storage_fail_class(e), r->err.buf);
		}
		goto fail;
	}
	r->outdir = xstrfmt("%s/out", r->work);
	if (mkdir(r->outdir, 0750)) {
		sb_addf(&r->err, "cannot create '%s': %s", r->outdir, strerror(errno));
		report_fail(r->out, 0, r->err.buf);
		goto fail;
	}
	r->output = xstrfmt("%s/%s", r->outdir, r->p->output ? r->p->output : "out");
	free(key);
	return 0;
fail:
	free(key);
	return -1;
}

/* The placeholders' values; the source probed when the steps or the
 * output check need it, read once for both. */
static int run_source(struct run *r)
{
	const struct profile *p = r->p;

	r->v = (struct vars){
		.input = r->input, .output = r->output, .outdir = r->outdir,
		.workdir = r->work, .format = r->j->format, .threads = r->c->worker_threads,
		.max_pixels = conf_max_pixels(r->c), .tonemap = "null", .crop = "null",
	};
	r->steps = p->steps;
	r->nsteps = p->nsteps;
	if (!needs_source(p) && p->output_kind != OUTPUT_VIDEO)
		return 0;
	/* as the ingest's probe read it, else read again (a media ingested
	 * before the probe kept it) */
	if (source_from_json(r->j->source, &r->src) &&
	    source_probe(r->c, r->input, r->j->format, &r->src, &r->err)) {
		report_fail(r->out, 0, r->err.buf);
		return -1;
	}
	/* what can be decoded of it, as the ingest measured, not what its
	 * header claims: the output holds that long, no longer */
	if (r->j->duration > 0)
		r->src.duration = r->j->duration;
	r->v.duration = r->src.duration;
	r->v.tonemap = source_tonemap(&r->src);
	source_crop(&r->src, r->v.crop, sizeof(r->v.crop));
	if (p->npass && source_can_copy(&r->src, p->pass_max_size, p->pass_max_kbps)) {
		r->steps = p->pass;
		r->nsteps = p->npass;
	}
	if (p->output_kind == OUTPUT_HLS) {
		r->nrungs = hls_rungs(r->c->hls_ladder, r->c->hls_nladder, &r->src, r->rungs);
		if (!r->nrungs) {
			report_fail(r->out, 1, "the source's picture size is not known");
			return -1;
		}
		r->v.hls = hls_args(r->rungs, r->nrungs, &r->src);
	}
	return 0;
}

/*
 * The built-in profiles' own work (frames.h, web.h): before the steps,
 * their placeholders and the output's name; after them, the frames packed.
 */
static void run_plan(struct run *r)
{
	if (r->p->hook == HOOK_FRAMES) {
		frames_plan(r->c, r->src.duration, &r->fp);
		r->v.extra = r->fp.vars;
	} else if (r->p->hook == HOOK_WEB || r->p->hook == HOOK_THUMB) {
		if (r->p->hook == HOOK_WEB)
			web_plan(r->c, &r->src, &r->wp);
		else
			thumb_plan(r->c, &r->src, &r->wp);
		free(r->output);
		r->output = xstrfmt("%s/%s", r->outdir, r->wp.output);
		r->v.output = r->output;
		r->v.extra = r->wp.vars;
	}
}

static int run_post(struct run *r)
{
	int rv;

	if (r->p->hook != HOOK_FRAMES)
		return 0;
	if (!(rv = frames_pack(&r->fp, r->work, r->output, &r->post, &r->err)))
		return 0;
	report_fail(r->out, rv > 0, r->err.buf);
	return -1;
}

/* How step s ended, in the report when it ended the job. */
static int run_step_result(struct run *r, int s, const char *prog, int rv,
			   const struct spawn_result *res)
{
	const struct conf *c = r->c;

	if (res->maxrss_kb > r->maxrss)
		r->maxrss = res->maxrss_kb;
	if (!rv && res->seen && !strcmp(res->seen, TOO_BIG)) {
		sb_addf(&r->err, "step %d (%s): a frame is larger than %dx%d: %s", s + 1,
			prog, c->max_width, c->max_height, res->seen);
		report_fail(r->out, 1, r->err.buf);
		return -1;
	}
	if (rv && (res->cancelled || (r->rc->cancel && *r->rc->cancel))) {
		sb_adds(r->out, "cancel\n");
		return -1;
	}
	/* a full disk, whatever the exit status: the worker gives the job
	 * back and pauses, as it is not the job's fault */
	if (res->seen && strcmp(res->seen, TOO_BIG)) {
		sb_addf(&r->err, "step %d (%s): %s", s + 1, prog, res->seen);
		report_fail(r->out, 0, r->err.buf);
		return -1;
	}
	if (!rv)
		return 0;
	sb_addf(&r->err, "step %d (%s) ", s + 1, prog);
	spawn_describe(res, &r->err);
	report_fail(r->out, is_permanent(res), r->err.buf);
	return -1;
}

/* Step s, confined: it reads its input, writes its work directory. */
static int run_step(struct run *r, int s)
{
	/* the decoder's refusal of an oversized frame, and a full disk: the
	 * command goes on (or ends) and may well exit 0 */
	static const char *const watch[] = { TOO_BIG, NO_SPACE, NO_QUOTA, NULL };
	const struct conf *c = r->c;
	const char *rd[] = { r->input, NULL }, *wr[] = { r->work, NULL };
	struct argv_buf a = { 0 };
	struct spawn_result res;
	double left = r->deadline - mono_now();

	if (left <= 0) {
		report_fail(r->out, 1, "job timed out");
		return -1;
	}
	build_argv(r->steps[s], &r->v, &a);
	struct spawn_opts o = {
		.argv = a.v, .stdin_fd = -1, .timeout = left, .nice = c->nice,
		.rlimit_as = conf_memory_limit(c), .rlimit_fsize = c->rlimit_fsize,
		.rlimit_cpu = conf_cpu_limit(c), .cwd = r->work, .cancel = r->rc->cancel,
		.confine = c->sandbox, .read = rd, .write = wr, .watch = watch,
	};
	char *progress = xstrfmt("%s/progress", r->work);
	if (!strcmp(base_name(a.v[0]), "ffmpeg")) {
		o.progress_path = progress;
		o.stall_timeout = c->stall_timeout;
		if (r->rc->progress_fd > 0) {
			o.on_progress = tell_progress;
			o.progress_arg = (void *)&r->rc->progress_fd;
		}
	}
	int rv = spawn_run(&o, &res);
	unlink(progress);
	free(progress);
	rv = run_step_result(r, s, a.v[0], rv, &res);
	av_free(&a);
	return rv;
}

/* The main output is there and what its kind promises, before anything
 * is published; an hls profile's master is written by the check. */
static int run_check(struct run *r)
{
	const struct conf *c = r->c;
	struct stat sb;
	int vr;

	if (!r->p->output)
		return 0;
	if (r->p->output_kind != OUTPUT_HLS &&
	    (stat(r->output, &sb) || !S_ISREG(sb.st_mode) || !sb.st_size)) {
		sb_addf(&r->err, "the profile made no output '%s'", base_name(r->output));
		report_fail(r->out, 1, r->err.buf);
		return -1;
	}
	double left = r->deadline - mono_now();
	struct verify_ctx vc = {
		.conf = c, .cancel = r->rc->cancel,
		.timeout = left > c->probe_timeout ? left : c->probe_timeout,
	};
	sb_addch(&r->js, ',');
	if (r->p->output_kind == OUTPUT_HLS)
		vr = hls_finish(&vc, r->outdir, r->work, r->rungs, r->nrungs, &r->src, &r->js,
				&r->err);
	else
		vr = verify_output(&vc, r->p, r->output, &r->src, &r->js, &r->err);
	if (vr == VERIFY_OK && r->js.len == 1)
		sb_reset(&r->js);
	if (vr == VERIFY_CANCELLED) {
		sb_adds(r->out, "cancel\n");
		return -1;
	}
	if (vr) {
		report_fail(r->out, vr == VERIFY_FAILED, r->err.buf);
		return -1;
	}
	return 0;
}

/* Each published file goes into the result's "files" and "bytes". */
static void add_file(void *arg, const char *name, int64_t size)
{
	struct run *r = arg;

	r->bytes += size;
	if (r->files.len > 1)
		sb_addch(&r->files, ',');
	json_add_str(&r->files, name);
}

/* Everything in out/ becomes the rendition's folder; the "ok" report. */
static int run_publish(struct run *r)
{
	const struct job *j = r->j;
	char *prefix = storage_rendition_key(j->media, j->profile, j->id, j->claim, NULL);
	int rv;

	sb_addch(&r->files, '[');
	rv = storage_publish_dir(r->rc->st, r->outdir, prefix, add_file, r, &r->err);
	free(prefix);
	if (rv) {
		report_fail(r->out, storage_fail_class(errno), r->err.buf);
		return -1;
	}
	sb_addch(&r->files, ']');
	sb_adds(r->out, "ok\t{");
	if (r->p->output) {
		char *rkey = storage_rendition_key(j->media, j->profile, j->id, j->claim,
						   base_name(r->output));
		sb_adds(r->out, "\"key\":");
		json_add_str(r->out, rkey);
		sb_addch(r->out, ',');
		free(rkey);
	}
	sb_addf(r->out, "\"files\":%s,\"bytes\":%lld,\"duration_ms\":%lld,\"max_rss_kb\":%ld%s%s}\n",
		r->files.buf, (long long)r->bytes, (long long)((mono_now() - r->t0) * 1000),
		r->maxrss, r->js.buf, r->post.buf);
	return 0;
}

static void run_release(struct run *r)
{
	if (r->work && remove_tree(r->work))
		warning("cannot remove work directory '%s': %s", r->work, strerror(errno));
	free(r->input);
	free(r->work);
	free(r->outdir);
	free(r->output);
	hls_args_free(r->v.hls);
	sb_release(&r->err);
	sb_release(&r->js);
	sb_release(&r->files);
	sb_release(&r->post);
}

void runner_run(const struct runner_ctx *rc, const struct job *j, struct strbuf *out)
{
	struct run r = {
		.rc = rc, .c = rc->conf, .p = conf_profile(rc->conf, j->profile), .j = j,
		.out = out, .t0 = mono_now(),
		.err = STRBUF_INIT, .js = STRBUF_INIT, .files = STRBUF_INIT, .post = STRBUF_INIT,
	};

	r.deadline = r.t0 + rc->deadline_secs;
	if (!r.p) {
		report_fail(out, 1, "unknown profile");
		return;
	}
	if (!r.p->nsteps) {
		sb_adds(out, "ok\t{\"files\":[],\"bytes\":0,\"duration_ms\":0}\n");
		return;
	}
	if (run_prepare(&r) || run_source(&r))
		goto out;
	run_plan(&r);
	for (int s = 0; s < r.nsteps; s++)
		if (run_step(&r, s))
			goto out;
	if (!run_post(&r) && !run_check(&r)) {
		if (r.p->placeholder && r.p->output) {
			double left = r.deadline - mono_now();
			struct placeholder_ctx pc = { r.c, r.work, left > 1 ? left : 1, rc->cancel };
			placeholder_add(&pc, r.output, &r.js);
		}
		(void)run_publish(&r);
	}
out:
	run_release(&r);
}
