#include "verify.h"
#include "frames.h"
#include "reason.h"
#include "spawn.h"
#include "web.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "output check failed: "

/* ffprobe prints numbers as strings ("35.200000") or integers; -1: none. */
static double num(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	char *end;
	double d;

	if (json_is_number(v))
		return json_number_value(v);
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end || errno || !isfinite(d) || d < 0)
		return -1;
	return d;
}

static const char *str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

/* Run ffprobe (argv) on path, confined; its standard output into out. */
static int run_ffprobe(const struct verify_ctx *vc, char **argv, const char *path,
		       struct strbuf *out, struct strbuf *why)
{
	const char *rd[] = { path, NULL };
	struct spawn_opts o = {
		.argv = argv, .stdin_fd = -1, .out = out, .out_max = 1 << 20,
		.timeout = vc->timeout, .cancel = vc->cancel,
		.rlimit_as = conf_memory_limit(vc->conf), .confine = vc->conf->sandbox, .read = rd,
	};
	struct spawn_result res;

	if (!spawn_run(&o, &res) && !res.out_truncated)
		return VERIFY_OK;
	if (res.cancelled || (vc->cancel && *vc->cancel))
		return VERIFY_CANCELLED;
	if (!res.ran) {
		sb_adds(why, "cannot run ffprobe: ");
		spawn_describe(&res, why);
		return VERIFY_ERROR;
	}
	if (res.out_truncated)
		sb_adds(why, "ffprobe said too much");
	else
		spawn_describe(&res, why);
	reason_clean(why->buf);
	return VERIFY_FAILED;
}

/* The first stream of this type that is not an attached picture. */
static const json_t *first_stream(const json_t *root, const char *type, int *count)
{
	const json_t *streams = json_object_get(root, "streams"), *first = NULL;
	size_t i;
	json_t *s;

	*count = 0;
	json_array_foreach(streams, i, s) {
		if (strcmp(str(s, "codec_type"), type))
			continue;
		const json_t *disp = json_object_get(s, "disposition");
		if (json_integer_value(json_object_get(disp, "attached_pic")))
			continue;
		if (!first)
			first = s;
		++*count;
	}
	return first;
}

/* Parse ffprobe's JSON of an output, or say why not. */
static json_t *load_probe(const char *json, struct strbuf *why)
{
	json_t *root = json_loads(json, 0, NULL);

	if (!root)
		sb_adds(why, "ffprobe printed no JSON");
	return root;
}

static int check_side(const struct profile *p, long w, long h, struct strbuf *why)
{
	if (p->max_side && (w > p->max_side || h > p->max_side)) {
		sb_addf(why, "size %ldx%ld, larger than %d on its long side", w, h, p->max_side);
		return VERIFY_FAILED;
	}
	return VERIFY_OK;
}

int verify_video_probe(const char *json, const struct profile *p,
		       const struct source *src, struct strbuf *why)
{
	json_t *root = load_probe(json, why);
	int rc = VERIFY_FAILED, nv, na;

	if (!root)
		return VERIFY_FAILED;
	const json_t *v = first_stream(root, "video", &nv);
	first_stream(root, "audio", &na);
	if (!v) {
		sb_adds(why, "no video stream");
		goto out;
	}
	double frames = num(v, "nb_read_frames");
	if (frames <= 0) {
		sb_adds(why, "no decodable video frame");
		goto out;
	}
	double d = num(json_object_get(root, "format"), "duration");
	if (d < 0)
		d = num(v, "duration");
	if (src->duration > 0) {
		double slack = src->duration * 0.02;
		double fps = src->fps > 0 ? src->fps : src->max_fps;
		if (fps > 0 && 1 / fps > slack)
			slack = 1 / fps;
		if (d < 0 || fabs(d - src->duration) > slack + 0.0005) {
			sb_addf(why, "duration %.2f s, source %.2f s (more than %s apart)",
				d < 0 ? 0 : d, src->duration,
				slack > src->duration * 0.02 ? "one frame" : "2%");
			goto out;
		}
	}
	long w = (long)json_integer_value(json_object_get(v, "width"));
	long h = (long)json_integer_value(json_object_get(v, "height"));
	if (w <= 0 || h <= 0 || w % 2 || h % 2) {
		sb_addf(why, "size %ldx%ld, not even", w, h);
		goto out;
	}
	if (check_side(p, w, h, why))
		goto out;
	if (strcmp(str(v, "pix_fmt"), "yuv420p")) {
		sb_addf(why, "pixel format %s, not yuv420p", *str(v, "pix_fmt") ? str(v, "pix_fmt") : "unknown");
		goto out;
	}
	if (!strcmp(str(v, "color_range"), "pc")) {
		sb_adds(why, "colour range pc (full), not tv (limited)");
		goto out;
	}
	const char *sar = str(v, "sample_aspect_ratio");
	if (*sar && strcmp(sar, "1:1") && strcmp(sar, "0:1") && strcmp(sar, "N/A")) {
		sb_addf(why, "sample aspect ratio %s, not 1:1", sar);
		goto out;
	}
	if (na && !src->has_audio) {
		sb_adds(why, "an audio stream, the source has none");
		goto out;
	}
	if (!na && src->has_audio) {
		sb_adds(why, "no audio stream, the source has one");
		goto out;
	}
	rc = VERIFY_OK;
out:
	json_decref(root);
	return rc;
}

int verify_image_probe(const char *json, const struct profile *p, struct strbuf *why)
{
	json_t *root = load_probe(json, why);
	int rc = VERIFY_FAILED, nv;

	if (!root)
		return VERIFY_FAILED;
	const json_t *v = first_stream(root, "video", &nv);
	if (!v) {
		sb_adds(why, "no picture");
		goto out;
	}
	double frames = num(v, "nb_read_frames");
	if (nv != 1 || frames != 1) {
		if (frames <= 0)
			sb_adds(why, "no decodable picture");
		else
			sb_addf(why, "%.0f frames, not one picture", nv > 1 ? nv : frames);
		goto out;
	}
	long w = (long)json_integer_value(json_object_get(v, "width"));
	long h = (long)json_integer_value(json_object_get(v, "height"));
	if (w <= 0 || h <= 0) {
		sb_addf(why, "size %ldx%ld", w, h);
		goto out;
	}
	if (p->width && w != p->width) {
		sb_addf(why, "width %ld, not %d", w, p->width);
		goto out;
	}
	if (check_side(p, w, h, why))
		goto out;
	rc = VERIFY_OK;
out:
	json_decref(root);
	return rc;
}

/* The step that writes the output with ffprobe, if one does. */
static char **ffprobe_step(const struct profile *p)
{
	for (int s = p->nsteps - 1; s >= 0; s--) {
		char **a = p->steps[s];
		const char *prog = strrchr(a[0], '/') ? strrchr(a[0], '/') + 1 : a[0];
		if (strcmp(prog, "ffprobe"))
			continue;
		for (int i = 1; a[i]; i++)
			if (strstr(a[i], "{output}"))
				return a;
	}
	return NULL;
}

static int has_arg(char **argv, const char *s)
{
	for (int i = 1; argv[i]; i++)
		if (!strcmp(argv[i], s))
			return 1;
	return 0;
}

static int verify_json(const struct profile *p, const char *path, struct strbuf *why)
{
	json_error_t e;
	json_t *root = json_load_file(path, 0, &e);
	char **probe = ffprobe_step(p);
	int rc = VERIFY_FAILED;

	if (!root) {
		sb_addf(why, "not JSON: %s at line %d", e.text, e.line);
		return VERIFY_FAILED;
	}
	if (probe && has_arg(probe, "-show_format") &&
	    !json_is_object(json_object_get(root, "format"))) {
		sb_adds(why, "the probe has no \"format\"");
		goto out;
	}
	if (probe && has_arg(probe, "-show_streams") &&
	    !json_array_size(json_object_get(root, "streams"))) {
		sb_adds(why, "the probe has no \"streams\"");
		goto out;
	}
	rc = VERIFY_OK;
out:
	json_decref(root);
	return rc;
}

/* Local file header first, end of central directory record in the tail. */
static int verify_zip(const char *path, struct strbuf *why)
{
	unsigned char head[4], *tail;
	FILE *f = fopen(path, "rb");
	long size, n;
	int found = 0;

	if (!f) {
		sb_addf(why, "cannot open '%s': %s", path, strerror(errno));
		return VERIFY_FAILED;
	}
	if (fread(head, 1, 4, f) != 4 || head[0] != 'P' || head[1] != 'K' ||
	    !((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6))) {
		fclose(f);
		sb_adds(why, "not a ZIP archive (no local file header)");
		return VERIFY_FAILED;
	}
	/* the record is 22 bytes and its comment at most 65535 */
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0) {
		fclose(f);
		sb_addf(why, "cannot read '%s': %s", path, strerror(errno));
		return VERIFY_FAILED;
	}
	n = size < 65557 ? size : 65557;
	tail = xmalloc((size_t)n);
	if (fseek(f, size - n, SEEK_SET) == 0 && fread(tail, 1, (size_t)n, f) == (size_t)n)
		for (long i = n - 22; i >= 0 && !found; i--)
			found = tail[i] == 'P' && tail[i + 1] == 'K' && tail[i + 2] == 5 &&
				tail[i + 3] == 6;
	free(tail);
	fclose(f);
	if (!found) {
		sb_adds(why, "not a whole ZIP archive (no end of central directory)");
		return VERIFY_FAILED;
	}
	return VERIFY_OK;
}

/* Compact what ffprobe printed, for the job's result. */
static void add_facts(struct strbuf *facts, const char *json)
{
	json_t *root = json_loads(json, 0, NULL);
	char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;

	if (s) {
		sb_adds(facts, "\"output_probe\":");
		sb_adds(facts, s);
	}
	free(s);
	json_decref(root);
}

int verify_output(const struct verify_ctx *vc, const struct profile *p, const char *path,
		  const struct source *src, struct strbuf *facts, struct strbuf *why)
{
	char threads[16];
	/* the decode that counts the frames gets the job's threads, as its steps */
	xsnprintf(threads, sizeof(threads), "%d",
		  vc->conf->worker_threads > 0 ? vc->conf->worker_threads : 1);
	char *argv[] = {
		"ffprobe", "-v", "error", "-threads", threads, "-protocol_whitelist", "file",
		"-count_frames",
		"-show_entries", "format=format_name,duration:stream=codec_type,codec_name,width,"
		"height,pix_fmt,color_range,sample_aspect_ratio,duration,nb_read_frames"
		":stream_disposition=attached_pic", "-of", "json", (char *)path, NULL
	};
	struct strbuf out = STRBUF_INIT, e = STRBUF_INIT;
	int rc;

	switch (p->output_kind) {
	case OUTPUT_VIDEO:
	case OUTPUT_IMAGE:
		if ((rc = run_ffprobe(vc, argv, path, &out, &e)) == VERIFY_FAILED)
			sb_adds(&e, " (unreadable)");
		else if (!rc)
			rc = p->output_kind == OUTPUT_VIDEO ?
				verify_video_probe(out.buf, p, src, &e) :
				verify_image_probe(out.buf, p, &e);
		if (!rc && p->hook == HOOK_WEB && web_verify(path, &e))
			rc = VERIFY_FAILED;
		if (!rc)
			add_facts(facts, out.buf);
		break;
	case OUTPUT_JSON:
		rc = verify_json(p, path, &e);
		break;
	case OUTPUT_ZIP:
		rc = verify_zip(path, &e);
		if (!rc && p->hook == HOOK_FRAMES && frames_verify(path, vc->conf->frames_max,
								   p->max_side, &e))
			rc = VERIFY_FAILED;
		break;
	default:
		rc = VERIFY_OK;
	}
	if (rc == VERIFY_FAILED)
		sb_adds(why, PREFIX);
	if (rc)
		sb_adds(why, e.buf);
	sb_release(&out);
	sb_release(&e);
	return rc;
}
