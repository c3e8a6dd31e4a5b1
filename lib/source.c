#include "source.h"
#include "ffval.h"
#include "probe.h"
#include "quote.h"
#include "spawn.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An int clamped to [lo, hi]; 0 for junk. */
static int integer(const char *v, int lo, int hi)
{
	return (int)ffval_int(v, lo, hi, 0);
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

#define MAX_STREAMS 16

/* One "streams.stream.N.k" line about stream x: k, its value v. */
static void parse_stream(struct source *x, char *type, size_t ntype, int *cover,
			 const char *k, const char *v)
{
	if (!strcmp(k, "codec_type"))
		ffval_copy(type, ntype, v);
	else if (!strcmp(k, "disposition.attached_pic"))
		*cover = !strcmp(v, "1");
	else if (!strcmp(k, "codec_name"))
		ffval_copy(x->vcodec, sizeof(x->vcodec), v);
	else if (!strcmp(k, "profile"))
		ffval_copy(x->profile, sizeof(x->profile), v);
	else if (!strcmp(k, "pix_fmt"))
		ffval_copy(x->pix_fmt, sizeof(x->pix_fmt), v);
	else if (!strcmp(k, "color_range"))
		ffval_copy(x->range, sizeof(x->range), v);
	else if (!strcmp(k, "color_transfer"))
		ffval_copy(x->transfer, sizeof(x->transfer), v);
	else if (!strcmp(k, "width"))
		x->width = integer(v, 0, INT_MAX);
	else if (!strcmp(k, "height"))
		x->height = integer(v, 0, INT_MAX);
	else if (!strcmp(k, "coded_width"))
		x->coded_width = integer(v, 0, INT_MAX);
	else if (!strcmp(k, "coded_height"))
		x->coded_height = integer(v, 0, INT_MAX);
	else if (!strcmp(k, "sample_aspect_ratio"))
		ratio(v, ':', &x->sar_num, &x->sar_den);
	else if (!strcmp(k, "channels"))
		x->channels = integer(v, 0, 255);
	else if (!strcmp(k, "avg_frame_rate"))
		x->fps = ffval_rate(v);
	else if (!strcmp(k, "r_frame_rate"))
		x->max_fps = ffval_rate(v);
	else if (strstr(k, "side_data_list") && strstr(k, ".rotation"))
		x->rotation = integer(v, -360, 360);
}

void source_parse(const char *text, struct source *s)
{
	struct source st[MAX_STREAMS];
	char type[MAX_STREAMS][8];
	char *copy = xstrdup(text), *line, *save = NULL;
	int cover[MAX_STREAMS] = { 0 }, n = 0;
	double duration = 0;
	long long bit_rate = 0;

	memset(st, 0, sizeof(st));
	memset(type, 0, sizeof(type));
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char v[64];
		const char *k;
		int i;

		if (!ffval_line(line, v, sizeof(v)))
			continue;
		if (!strcmp(line, "format.duration")) {
			duration = ffval_real(v);
		} else if (!strcmp(line, "format.bit_rate")) {
			bit_rate = ffval_int(v, 0, LLONG_MAX / 2, 0);
		} else if ((i = ffval_stream(line, MAX_STREAMS, &k)) >= 0) {
			if (i + 1 > n)
				n = i + 1;
			parse_stream(&st[i], type[i], sizeof(type[i]), &cover[i], k, v);
		}
	}
	free(copy);
	/* the first video stream that is not a cover picture and the first
	 * audio stream: what the profiles map */
	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++)
		if (!strcmp(type[i], "video") && !cover[i]) {
			*s = st[i];
			break;
		}
	for (int i = 0; i < n; i++)
		if (!strcmp(type[i], "audio")) {
			s->has_audio = 1;
			ffval_copy(s->acodec, sizeof(s->acodec), st[i].vcodec);
			s->channels = st[i].channels;
			break;
		}
	s->duration = duration;
	s->bit_rate = bit_rate;
}

int source_probe(const struct conf *c, const char *path, const char *format,
		 struct source *s, struct strbuf *err)
{
	char *argv[] = {
		"ffprobe", "-v", "error", "-protocol_whitelist", "file",
		"-f", (char *)format, "-show_entries",
		"format=duration,bit_rate:stream=index,codec_type,codec_name,profile,pix_fmt,"
		"color_range,color_transfer,width,height,coded_width,coded_height,"
		"sample_aspect_ratio,"
		"avg_frame_rate,r_frame_rate,channels:stream_disposition=attached_pic:"
		"stream_side_data=rotation",
		"-of", "flat", (char *)path, NULL
	};
	struct strbuf out = STRBUF_INIT;
	struct spawn_result res;

	if (probe_run(c, argv, path, &out, 1 << 20, &res)) {
		sb_adds(err, "ffprobe of the source ");
		spawn_describe(&res, err);
		sb_release(&out);
		return -1;
	}
	source_parse(out.buf ? out.buf : "", s);
	sb_release(&out);
	return 0;
}

/* A number JSON can hold: what is not finite is unknown. */
static double known(double v)
{
	return isfinite(v) ? v : 0;
}

void source_json(const struct source *s, struct strbuf *sb)
{
	const struct {
		const char *key, *value;
	} text[] = {
		{ "video_codec", s->vcodec }, { "profile", s->profile }, { "pix_fmt", s->pix_fmt },
		{ "color_range", s->range }, { "color_transfer", s->transfer },
	};

	sb_addf(sb, "{\"duration\":%.17g,\"bit_rate\":%lld", known(s->duration), s->bit_rate);
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		sb_addf(sb, ",\"%s\":", text[i].key);
		json_add_str(sb, text[i].value);
	}
	sb_addf(sb, ",\"width\":%d,\"height\":%d,\"coded_width\":%d,\"coded_height\":%d,"
		"\"sar\":[%d,%d],\"rotation\":%d,\"fps\":%.17g,\"max_fps\":%.17g,"
		"\"audio_codec\":", s->width, s->height, s->coded_width, s->coded_height,
		s->sar_num, s->sar_den, s->rotation, known(s->fps), known(s->max_fps));
	if (s->has_audio)
		json_add_str(sb, s->acodec);
	else
		sb_adds(sb, "null");
	sb_addf(sb, ",\"channels\":%d}", s->channels);
}

/* o's key k as an int in [lo, hi], else 0. */
static int get_int(json_t *o, const char *k, long long lo, long long hi)
{
	json_t *v = json_object_get(o, k);
	long long n = json_is_integer(v) ? json_integer_value(v) : 0;

	return n < lo || n > hi ? 0 : (int)n;
}

/* v as an int in [0, INT_MAX], else -1. */
static int nonneg(json_t *v)
{
	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	       json_integer_value(v) <= INT_MAX ? (int)json_integer_value(v) : -1;
}

/* o's key k as a finite number, else 0. */
static double get_real(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_number(v) ? known(json_number_value(v)) : 0;
}

/* o's key k, a string, into buf; "" when it is not one. */
static void get_text(json_t *o, const char *k, char *buf, size_t n)
{
	json_t *v = json_object_get(o, k);

	ffval_copy(buf, n, json_is_string(v) ? json_string_value(v) : "");
}

int source_from_json(const char *text, struct source *s)
{
	json_t *o = text && *text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
	json_t *sar, *bit_rate;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o) || !json_object_get(o, "video_codec")) {
		json_decref(o);
		return -1;
	}
	s->duration = get_real(o, "duration");
	bit_rate = json_object_get(o, "bit_rate");
	if (json_is_integer(bit_rate) && json_integer_value(bit_rate) > 0 &&
	    json_integer_value(bit_rate) <= LLONG_MAX / 2)
		s->bit_rate = json_integer_value(bit_rate);
	get_text(o, "video_codec", s->vcodec, sizeof(s->vcodec));
	get_text(o, "profile", s->profile, sizeof(s->profile));
	get_text(o, "pix_fmt", s->pix_fmt, sizeof(s->pix_fmt));
	get_text(o, "color_range", s->range, sizeof(s->range));
	get_text(o, "color_transfer", s->transfer, sizeof(s->transfer));
	s->width = get_int(o, "width", 0, INT_MAX);
	s->height = get_int(o, "height", 0, INT_MAX);
	s->coded_width = get_int(o, "coded_width", 0, INT_MAX);
	s->coded_height = get_int(o, "coded_height", 0, INT_MAX);
	/* as source_parse leaves it: 0:0 when not told, n:d, else 0:1 */
	sar = json_object_get(o, "sar");
	if (json_is_array(sar) && json_array_size(sar) == 2) {
		json_t *n = json_array_get(sar, 0), *d = json_array_get(sar, 1);

		s->sar_num = nonneg(n);
		s->sar_den = nonneg(d);
		if (s->sar_num < 0 || s->sar_den < 0 || (s->sar_den == 0 && s->sar_num != 0)) {
			s->sar_num = 0;
			s->sar_den = 1;
		}
	}
	s->rotation = get_int(o, "rotation", -360, 360);
	s->fps = get_real(o, "fps");
	s->max_fps = get_real(o, "max_fps");
	s->has_audio = json_is_string(json_object_get(o, "audio_codec"));
	get_text(o, "audio_codec", s->acodec, sizeof(s->acodec));
	s->channels = get_int(o, "channels", 0, 255);
	json_decref(o);
	return 0;
}

int source_is_hdr(const struct source *s)
{
	return !strcmp(s->transfer, "smpte2084") || !strcmp(s->transfer, "arib-std-b67");
}

int source_can_copy(const struct source *s, int max_size, int max_kbps)
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
	       (!max_kbps || (s->bit_rate > 0 && s->bit_rate <= max_kbps * 1000LL)) &&
	       s->width % 2 == 0 && s->height % 2 == 0 &&
	       (!s->has_audio || (!strcmp(s->acodec, "aac") && s->channels == 2));
}

void source_crop(const struct source *s, char *buf, size_t n)
{
	int w = s->width, h = s->height, cw = s->coded_width, ch = s->coded_height;
	int r;

	if (w <= 0 || h <= 0 || cw < w || ch < h || (cw == w && ch == h)) {
		xsnprintf(buf, n, "null");
		return;
	}
	if (s->rotation % 180) {
		int t = w;
		w = h, h = t, t = cw, cw = ch, ch = t;
	}
	/* what the decoder left of the crop is at the left and the top */
	r = snprintf(buf, n, "crop=w='if(eq(iw,%d),%d,iw)':h='if(eq(ih,%d),%d,ih)'"
		     ":x='iw-ow':y='ih-oh':exact=1", cw, w, ch, h);
	if (r < 0 || (size_t)r >= n)
		xsnprintf(buf, n, "null");
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
