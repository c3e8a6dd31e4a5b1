#include "probe.h"
#include "emit.h"
#include "log.h"
#include "spawn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char probe_demuxers[] =
	"mov,matroska,avi,flv,mpegts,ogg,gif,png_pipe,jpeg_pipe,webp_pipe,"
	"bmp_pipe,tiff_pipe,apng";

static const struct {
	const char *demuxer, *ext, *mime;
	int image;              /* still-image demuxer */
	int maybe_animated;     /* frames > 1 means animated */
} formats[] = {
	{ "mov", "mp4", "video/mp4", 0, 0 },
	{ "matroska", "mkv", "video/x-matroska", 0, 0 },
	{ "avi", "avi", "video/x-msvideo", 0, 0 },
	{ "flv", "flv", "video/x-flv", 0, 0 },
	{ "mpegts", "ts", "video/mp2t", 0, 0 },
	{ "ogg", "ogv", "video/ogg", 0, 0 },
	{ "gif", "gif", "image/gif", 1, 1 },
	{ "apng", "png", "image/apng", 1, 1 },
	{ "png_pipe", "png", "image/png", 1, 0 },
	{ "jpeg_pipe", "jpg", "image/jpeg", 1, 0 },
	{ "webp_pipe", "webp", "image/webp", 1, 0 },
	{ "bmp_pipe", "bmp", "image/bmp", 1, 0 },
	{ "tiff_pipe", "tif", "image/tiff", 1, 0 },
};

struct stream {
	char type[16], codec[32], pix_fmt[32], rate[32];
	int width, height, attached_pic, rotation;
	int64_t packets;
};

#define MAX_STREAMS 16

struct parsed {
	char format[96];
	double duration;
	int nstreams;
	struct stream s[MAX_STREAMS];
};

/* Copy src into dst[n], cutting it short if need be. */
static void scopy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* Value of a flat-output line: unquote "..." with backslash escapes. */
static void unquote(const char *v, char *out, size_t n)
{
	size_t o = 0;

	if (*v != '"') {
		snprintf(out, n, "%s", v);
		return;
	}
	for (v++; *v && *v != '"' && o + 1 < n; v++) {
		if (*v == '\\' && v[1])
			v++;
		out[o++] = *v;
	}
	out[o] = '\0';
}

/*
 * Numbers in ffprobe's output, which comes from the file and so from
 * anyone: read strictly, out-of-range values clamped, junk as unknown.
 * No conversion may be undefined whatever the text says.
 */

/* An integer value clamped to [lo, hi]; dflt for "N/A" or junk. */
static long long num_int(const char *v, long long lo, long long hi, long long dflt)
{
	const char *d = *v == '-' ? v + 1 : v;
	char *end;
	long long x;

	if (*d < '0' || *d > '9')
		return dflt;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (*end)
		return dflt;
	/* ERANGE gives LLONG_MIN or LLONG_MAX: clamped below like any other */
	return x < lo ? lo : x > hi ? hi : x;
}

/* A finite, non-negative decimal ("12.345000"); 0 for "N/A" or junk. */
static double num_real(const char *v)
{
	char *end;
	double x;

	if (*v < '0' || *v > '9')
		return 0;
	x = strtod(v, &end);
	if (*end || !isfinite(x) || x < 0)
		return 0;
	return x;
}

/* A rate "30000/1001" or "25"; 0 when unknown ("0/0") or absurd. */
static double parse_rate(const char *r)
{
	char num[32];
	const char *slash = strchr(r, '/');
	double n, d = 1, q;

	if (!slash)
		return num_real(r);
	if ((size_t)(slash - r) >= sizeof(num))
		return 0;
	memcpy(num, r, (size_t)(slash - r));
	num[slash - r] = '\0';
	n = num_real(num);
	d = num_real(slash + 1);
	if (!(d > 0))
		return 0;
	q = n / d;
	return isfinite(q) ? q : 0;
}

static void parse_flat(char *text, struct parsed *pr)
{
	char *line, *save = NULL;

	memset(pr, 0, sizeof(*pr));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		char val[128];

		if (!eq)
			continue;
		*eq = '\0';
		unquote(eq + 1, val, sizeof(val));
		if (!strcmp(line, "format.format_name")) {
			scopy(pr->format, sizeof(pr->format), val);
		} else if (!strcmp(line, "format.duration")) {
			pr->duration = num_real(val);
		} else if (!strncmp(line, "streams.stream.", 15)) {
			const char *p = line + 15;
			size_t nd = strspn(p, "0123456789");
			int i;

			if (!nd || nd > 2 || p[nd] != '.')
				continue;
			i = nd == 1 ? p[0] - '0' : (p[0] - '0') * 10 + (p[1] - '0');
			if (i >= MAX_STREAMS)
				continue;
			struct stream *s = &pr->s[i];
			const char *k = p + nd + 1;
			if (i + 1 > pr->nstreams)
				pr->nstreams = i + 1;
			if (!strcmp(k, "codec_type"))
				scopy(s->type, sizeof(s->type), val);
			else if (!strcmp(k, "codec_name"))
				scopy(s->codec, sizeof(s->codec), val);
			else if (!strcmp(k, "pix_fmt"))
				scopy(s->pix_fmt, sizeof(s->pix_fmt), val);
			else if (!strcmp(k, "avg_frame_rate"))
				scopy(s->rate, sizeof(s->rate), val);
			else if (!strcmp(k, "width"))
				s->width = (int)num_int(val, -1, INT_MAX, 0);
			else if (!strcmp(k, "height"))
				s->height = (int)num_int(val, -1, INT_MAX, 0);
			else if (!strcmp(k, "nb_read_packets"))
				s->packets = num_int(val, -1, INT64_MAX, -1);
			else if (!strcmp(k, "disposition.attached_pic"))
				s->attached_pic = num_int(val, 0, 1, 0) == 1;
			else if (strstr(k, "side_data_list") && strstr(k, ".rotation"))
				s->rotation = (int)num_int(val, -360, 360, 0);
		}
	}
}

static int reject(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(char **why, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(&sb, fmt, ap);
	va_end(ap);
	*why = sb_detach(&sb, NULL);
	return 1;
}

int probe_file(const struct conf *c, const char *path, struct probe *p, char **why)
{
	char *argv[] = {
		"ffprobe", "-v", "error", "-hide_banner",
		"-format_whitelist", (char *)probe_demuxers,
		"-protocol_whitelist", "file",
		"-count_packets",
		"-show_entries",
		"format=format_name,duration:stream=index,codec_type,codec_name,width,height,"
		"pix_fmt,nb_read_packets,avg_frame_rate:stream_disposition=attached_pic:"
		"stream_side_data=rotation",
		"-of", "flat", (char *)path, NULL
	};
	const char *rd[] = { path, NULL };
	struct strbuf out = STRBUF_INIT, err = STRBUF_INIT;
	/* confined like a job command: it reads untrusted bytes */
	struct spawn_opts o = {
		.argv = argv, .stdin_fd = -1, .out = &out, .out_max = 1 << 20,
		.timeout = c->probe_timeout, .rlimit_as = conf_memory_limit(c),
		.rlimit_cpu = c->probe_timeout, .confine = c->sandbox, .read = rd,
	};
	struct spawn_result res;
	int rc;

	memset(p, 0, sizeof(*p));
	*why = NULL;
	if (path[0] != '/') {
		error("internal: probe path '%s' is not absolute", path);
		return -1;
	}
	if (spawn_run(&o, &res)) {
		if (res.exec_errno) {
			*why = xstrfmt("cannot run ffprobe: %s", strerror(res.exec_errno));
			sb_release(&out);
			return -1;
		}
		if (res.timed_out)
			rc = reject(why, "probe timed out after %.0fs", c->probe_timeout);
		else {
			spawn_describe(&res, &err);
			/* ffprobe names the temp copy: say "input" instead */
			struct strbuf clean = STRBUF_INIT;
			size_t plen = strlen(path);
			for (const char *q = err.buf; *q;) {
				if (!strncmp(q, path, plen)) {
					sb_adds(&clean, "input");
					q += plen;
				} else {
					sb_addch(&clean, *q++);
				}
			}
			const char *t = strstr(clean.buf, ": ");
			rc = reject(why, "not a readable media file (%s)", t ? t + 2 : clean.buf);
			sb_release(&clean);
		}
		sb_release(&out);
		sb_release(&err);
		return rc;
	}
	rc = probe_from_ffprobe(c, out.buf, out.len, p, why);
	sb_release(&out);
	return rc;
}

int probe_from_ffprobe(const struct conf *c, const char *text, size_t len, struct probe *p,
		       char **why)
{
	struct parsed pr;
	const struct stream *v = NULL, *a = NULL;
	char *copy = xstrndup(text, len);

	memset(p, 0, sizeof(*p));
	*why = NULL;
	parse_flat(copy, &pr);
	free(copy);

	size_t fi;
	char first[32];
	snprintf(first, sizeof(first), "%.*s", (int)strcspn(pr.format, ","), pr.format);
	for (fi = 0; fi < sizeof(formats) / sizeof(formats[0]); fi++)
		if (!strcmp(formats[fi].demuxer, first))
			break;
	if (fi == sizeof(formats) / sizeof(formats[0]))
		return reject(why, "format '%s' is not accepted", pr.format);
	for (int i = 0; i < pr.nstreams; i++) {
		const struct stream *s = &pr.s[i];
		if (!strcmp(s->type, "video") && !s->attached_pic && !v)
			v = s;
		else if (!strcmp(s->type, "audio") && !a)
			a = s;
	}
	if (!v) {
		if (a)
			return reject(why, "audio only: no video or image stream");
		return reject(why, "no video or image stream");
	}
	if (!*v->codec || !strcmp(v->codec, "unknown") || !strcmp(v->codec, "none"))
		return reject(why, "unsupported video codec");
	if (v->width <= 0 || v->height <= 0)
		return reject(why, "cannot read the picture size (%dx%d)", v->width, v->height);
	if (v->width > c->max_width || v->height > c->max_height)
		return reject(why, "picture %dx%d exceeds the limit %dx%d", v->width, v->height,
			      c->max_width, c->max_height);
	if (pr.duration > c->max_duration)
		return reject(why, "duration %.1fs exceeds the limit %.0fs", pr.duration,
			      c->max_duration);
	if (v->packets <= 0)
		return reject(why, "no frames could be read from the video stream");

	if (formats[fi].image)
		p->kind = formats[fi].maybe_animated && v->packets > 1 ? MD_KIND_ANIMATED
								     : MD_KIND_IMAGE;
	else
		p->kind = MD_KIND_VIDEO;
	if (p->kind == MD_KIND_ANIMATED) {
		if (v->packets > c->max_frames)
			return reject(why, "%lld frames exceed the limit %lld",
				      (long long)v->packets, (long long)c->max_frames);
		if ((double)v->width * v->height * (double)v->packets > c->max_pixels_frames)
			return reject(why, "%dx%d pixels x %lld frames exceed the limit %.0f",
				      v->width, v->height, (long long)v->packets,
				      c->max_pixels_frames);
	}
	snprintf(p->format, sizeof(p->format), "%s", formats[fi].demuxer);
	snprintf(p->ext, sizeof(p->ext), "%s", formats[fi].ext);
	snprintf(p->mime, sizeof(p->mime), "%s", formats[fi].mime);
	if (p->kind == MD_KIND_VIDEO && !strcmp(first, "matroska") &&
	    strstr(pr.format, "webm") && (!strcmp(v->codec, "vp8") ||
	    !strcmp(v->codec, "vp9") || !strcmp(v->codec, "av1"))) {
		snprintf(p->ext, sizeof(p->ext), "webm");
		snprintf(p->mime, sizeof(p->mime), "video/webm");
	}
	snprintf(p->vcodec, sizeof(p->vcodec), "%s", v->codec);
	snprintf(p->pix_fmt, sizeof(p->pix_fmt), "%s", v->pix_fmt);
	if (a)
		snprintf(p->acodec, sizeof(p->acodec), "%s", a->codec);
	p->has_audio = a != NULL;
	p->width = v->width;
	p->height = v->height;
	p->rotation = v->rotation;
	p->duration = pr.duration;
	p->fps = parse_rate(v->rate);
	p->frames = v->packets;

	sb_init(&p->json, 256);
	sb_adds(&p->json, "{\"format\":");
	json_add_str(&p->json, pr.format);
	sb_addf(&p->json, ",\"kind\":\"%s\",\"width\":%d,\"height\":%d,\"rotation\":%d,"
		"\"frames\":%lld", kind_name(p->kind), p->width, p->height, p->rotation,
		(long long)p->frames);
	if (p->duration > 0)
		sb_addf(&p->json, ",\"duration\":%.3f", p->duration);
	if (p->fps > 0)
		sb_addf(&p->json, ",\"fps\":%.3f", p->fps);
	sb_adds(&p->json, ",\"video_codec\":");
	json_add_str(&p->json, p->vcodec);
	sb_adds(&p->json, ",\"pix_fmt\":");
	json_add_str(&p->json, p->pix_fmt);
	sb_adds(&p->json, ",\"audio_codec\":");
	if (a)
		json_add_str(&p->json, p->acodec);
	else
		sb_adds(&p->json, "null");
	sb_addch(&p->json, '}');
	return 0;
}

void probe_release(struct probe *p)
{
	sb_release(&p->json);
}
