#include "source.h"
#include "spawn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy a value, unquoting ffprobe's "..." and cutting it to n bytes. */
static void value(const char *v, char *out, size_t n)
{
	size_t o = 0;
	int q = *v == '"';

	for (v += q; *v && (!q || *v != '"') && o + 1 < n; v++) {
		if (q && *v == '\\' && v[1])
			v++;
		out[o++] = *v;
	}
	out[o] = '\0';
}

/* Copy src into dst[n], cut short if need be. */
static void scopy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* A finite non-negative decimal; 0 for "N/A" or junk. */
static double real(const char *v)
{
	char *end;
	double x;

	if (*v < '0' || *v > '9')
		return 0;
	x = strtod(v, &end);
	return *end || !isfinite(x) || x < 0 ? 0 : x;
}

/* An integer clamped to [lo, hi]; 0 for junk. */
static int integer(const char *v, long lo, long hi)
{
	const char *d = *v == '-' ? v + 1 : v;
	char *end;
	long x;

	if (*d < '0' || *d > '9')
		return 0;
	errno = 0;
	x = strtol(v, &end, 10);
	if (*end)
		return 0;
	return (int)(x < lo ? lo : x > hi ? hi : x);
}

/* "a/b" or "a:b" into its two parts; 0 and 1 when unknown. */
static void ratio(const char *v, char sep, int *num, int *den)
{
	const char *s = strchr(v, sep);
	char a[16];

	*num = 0;
	*den = 1;
	if (!s || (size_t)(s - v) >= sizeof(a))
		return;
	memcpy(a, v, (size_t)(s - v));
	a[s - v] = '\0';
	*num = integer(a, 0, INT_MAX);
	*den = integer(s + 1, 0, INT_MAX);
	if (*den <= 0) {
		*num = 0;
		*den = 1;
	}
}

static double rate(const char *v)
{
	int n, d;

	if (!strchr(v, '/'))
		return real(v);
	ratio(v, '/', &n, &d);
	return (double)n / d;
}

void source_parse(const char *text, struct source *s)
{
	char *copy = xstrdup(text), *line, *save = NULL;
	int video = -1, audio = -1;

	memset(s, 0, sizeof(*s));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		char v[64];
		const char *k;
		int i;

		if (!eq)
			continue;
		*eq = '\0';
		value(eq + 1, v, sizeof(v));
		if (!strcmp(line, "format.duration")) {
			s->duration = real(v);
			continue;
		}
		if (strncmp(line, "streams.stream.", 15))
			continue;
		i = integer(line + 15, 0, 1000);
		k = strchr(line + 15, '.');
		if (!k++)
			continue;
		if (!strcmp(k, "codec_type")) {
			/* the first video stream that is not a cover picture,
			 * the first audio stream: what the profiles map */
			if (!strcmp(v, "video") && video < 0)
				video = i;
			else if (!strcmp(v, "audio") && audio < 0)
				audio = i;
			continue;
		}
		if (!strcmp(k, "disposition.attached_pic") && !strcmp(v, "1") && video == i) {
			struct source keep = *s;

			/* a cover picture: forget it, keep the rest */
			video = -1;
			memset(s, 0, sizeof(*s));
			s->duration = keep.duration;
			s->has_audio = keep.has_audio;
			memcpy(s->acodec, keep.acodec, sizeof(s->acodec));
			continue;
		}
		if (i == audio && !strcmp(k, "codec_name")) {
			s->has_audio = 1;
			scopy(s->acodec, sizeof(s->acodec), v);
		}
		if (i != video)
			continue;
		if (!strcmp(k, "codec_name"))
			scopy(s->vcodec, sizeof(s->vcodec), v);
		else if (!strcmp(k, "profile"))
			scopy(s->profile, sizeof(s->profile), v);
		else if (!strcmp(k, "pix_fmt"))
			scopy(s->pix_fmt, sizeof(s->pix_fmt), v);
		else if (!strcmp(k, "color_range"))
			scopy(s->range, sizeof(s->range), v);
		else if (!strcmp(k, "color_transfer"))
			scopy(s->transfer, sizeof(s->transfer), v);
		else if (!strcmp(k, "width"))
			s->width = integer(v, 0, INT_MAX);
		else if (!strcmp(k, "height"))
			s->height = integer(v, 0, INT_MAX);
		else if (!strcmp(k, "sample_aspect_ratio"))
			ratio(v, ':', &s->sar_num, &s->sar_den);
		else if (!strcmp(k, "avg_frame_rate"))
			s->fps = rate(v);
		else if (!strcmp(k, "r_frame_rate"))
			s->max_fps = rate(v);
		else if (strstr(k, "side_data_list") && strstr(k, ".rotation"))
			s->rotation = integer(v, -360, 360);
	}
	free(copy);
}

int source_probe(const struct conf *c, const char *path, const char *format,
		 struct source *s, struct strbuf *err)
{
	char *argv[] = {
		"ffprobe", "-v", "error", "-protocol_whitelist", "file",
		"-f", (char *)format, "-show_entries",
		"format=duration:stream=index,codec_type,codec_name,profile,pix_fmt,"
		"color_range,color_transfer,width,height,sample_aspect_ratio,"
		"avg_frame_rate,r_frame_rate:stream_disposition=attached_pic:"
		"stream_side_data=rotation",
		"-of", "flat", (char *)path, NULL
	};
	struct strbuf out = STRBUF_INIT;
	const char *rd[] = { path, NULL };
	struct spawn_opts o = {
		.argv = argv, .stdin_fd = -1, .out = &out, .out_max = 1 << 20,
		.timeout = c->probe_timeout, .rlimit_as = conf_memory_limit(c),
		.rlimit_cpu = c->probe_timeout, .confine = c->sandbox, .read = rd,
	};
	struct spawn_result res;

	if (spawn_run(&o, &res)) {
		sb_adds(err, "ffprobe of the source ");
		spawn_describe(&res, err);
		sb_release(&out);
		return -1;
	}
	source_parse(out.buf ? out.buf : "", s);
	sb_release(&out);
	return 0;
}

int source_is_hdr(const struct source *s)
{
	return !strcmp(s->transfer, "smpte2084") || !strcmp(s->transfer, "arib-std-b67");
}

int source_can_copy(const struct source *s, int max_size)
{
	int side = s->width > s->height ? s->width : s->height;

	return !strcmp(s->vcodec, "h264") &&
	       (!strcmp(s->profile, "Main") || !strcmp(s->profile, "High")) &&
	       !strcmp(s->pix_fmt, "yuv420p") &&
	       (!strcmp(s->range, "tv") || !strcmp(s->range, "unknown") || !*s->range) &&
	       !source_is_hdr(s) &&
	       (s->sar_num == 0 || s->sar_num == s->sar_den) && !s->rotation &&
	       s->fps > 0 && s->fps <= 60 && s->max_fps > 0 && s->max_fps <= 60 &&
	       side > 0 && (!max_size || side <= max_size) &&
	       s->width % 2 == 0 && s->height % 2 == 0 &&
	       (!s->has_audio || !strcmp(s->acodec, "aac"));
}

const char *source_tonemap(const struct source *s)
{
	if (!source_is_hdr(s))
		return "null";
	/* to linear light, BT.709 primaries, Hable's curve, then BT.709
	 * transfer and matrix in limited range: what an SDR screen shows */
	return "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,"
	       "tonemap=tonemap=hable:desat=0,zscale=t=bt709:m=bt709:r=tv,format=yuv420p";
}
