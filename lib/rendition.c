#include "rendition.h"
#include "blurhash.h"
#include "quote.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A number given as a number or as a decimal string ("2.040000"); -1:
 * none, negative or not a number. */
static double num(const json_t *v)
{
	const char *s;
	char *end;
	double d;

	if (json_is_number(v))
		d = json_number_value(v);
	else if ((s = json_string_value(v))) {
		errno = 0;
		d = strtod(s, &end);
		if (end == s || *end || errno)
			return -1;
	} else {
		return -1;
	}
	return isfinite(d) && d >= 0 ? d : -1;
}

/* A string member, "" when missing or not a string. */
static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

/* The first video stream of the output as probed, or NULL. */
static json_t *probed_video(json_t *meta)
{
	json_t *streams = json_object_get(json_object_get(meta, "output_probe"), "streams"), *s;
	size_t i;

	json_array_foreach(streams, i, s)
		if (!strcmp(str(s, "codec_type"), "video"))
			return s;
	return NULL;
}

/* The metadata's key, else the probed stream's. */
static double fact(json_t *meta, json_t *video, const char *key)
{
	double d = num(json_object_get(meta, key));

	return d >= 0 ? d : num(json_object_get(video, key));
}

/* How many frames: the metadata's count or list, else the probed count. */
static double frame_count(json_t *meta, json_t *video)
{
	json_t *f = json_object_get(meta, "frames");

	if (json_is_array(f))
		return (double)json_array_size(f);
	if (num(f) >= 0)
		return num(f);
	if (json_is_array((f = json_object_get(meta, "frame_times"))))
		return (double)json_array_size(f);
	return num(json_object_get(video, "nb_read_frames"));
}

/* What is shown of the rendition r (the store's object). */
static void view_of(json_t *r, struct rendition_view *v)
{
	json_t *meta = json_object_get(r, "metadata"), *video = probed_video(meta);
	json_t *format = json_object_get(json_object_get(meta, "output_probe"), "format");
	const char *bh = str(meta, "blurhash");
	int listed = json_object_get(meta, "frames") || json_object_get(meta, "frame_times");
	double w = fact(meta, video, "width"), h = fact(meta, video, "height");
	double bytes = num(json_object_get(r, "bytes"));

	v->profile = str(r, "profile");
	v->url = str(r, "url");
	v->bytes = bytes > 0 && bytes < 9e18 ? (int64_t)bytes : 0;
	v->width = w > 0 && h > 0 && w < 1e9 && h < 1e9 ? (long)w : 0;
	v->height = v->width ? (long)h : 0;
	v->frames = frame_count(meta, video);
	if (!(v->frames > 1 || (v->frames >= 0 && listed)))
		v->frames = -1;
	v->duration = num(json_object_get(meta, "duration"));
	if (v->duration < 0 && v->frames > 1)
		v->duration = num(json_object_get(format, "duration"));
	if (v->duration < 0 && v->frames > 1)
		v->duration = num(json_object_get(video, "duration"));
	v->placeholder = blurhash_valid(bh, NULL, NULL) ? bh : NULL;
}

int rendition_each(const char *agg, int (*cb)(void *arg, const struct rendition_view *v), void *arg)
{
	json_t *list = agg ? json_loads(agg, JSON_DECODE_ANY, NULL) : NULL, *r;
	struct rendition_view v;
	size_t i;
	int rc = 0;

	json_array_foreach(list, i, r) {
		view_of(r, &v);
		if ((rc = cb(arg, &v)))
			break;
	}
	json_decref(list);
	return rc;
}

struct list_ctx {
	struct strbuf *out;
	int n;
	char *placeholder;
};

static int add_json(void *arg, const struct rendition_view *v)
{
	struct list_ctx *c = arg;
	struct strbuf *out = c->out;

	if (c->n++)
		sb_addch(out, ',');
	sb_adds(out, "{\"profile\":");
	json_add_str(out, v->profile);
	sb_adds(out, ",\"url\":");
	json_add_str(out, v->url);
	sb_addf(out, ",\"bytes\":%lld", (long long)v->bytes);
	if (v->width)
		sb_addf(out, ",\"width\":%ld,\"height\":%ld", v->width, v->height);
	if (v->duration >= 0)
		sb_addf(out, ",\"duration\":%.3f", v->duration);
	if (v->frames >= 0)
		sb_addf(out, ",\"frames\":%.0f", v->frames);
	if (v->placeholder) {
		sb_adds(out, ",\"placeholder\":");
		json_add_str(out, v->placeholder);
		if (!c->placeholder || !strcmp(v->profile, "thumb")) {
			free(c->placeholder);
			c->placeholder = xstrdup(v->placeholder);
		}
	}
	sb_addch(out, '}');
	return 0;
}

void rendition_list(const char *agg, struct strbuf *out, char **placeholder)
{
	struct list_ctx c = { out, 0, NULL };

	sb_addch(out, '[');
	rendition_each(agg, add_json, &c);
	sb_addch(out, ']');
	*placeholder = c.placeholder;
}

const char *rendition_mime(const char *url)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "mp4", "video/mp4" }, { "m3u8", "application/vnd.apple.mpegurl" },
		{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "png", "image/png" },
		{ "webp", "image/webp" }, { "zip", "application/zip" },
		{ "json", "application/json" },
	};
	/* the file name: after the last '/', up to a query or fragment (a
	 * base URL may hold a '?' of its own before the key) */
	const char *slash = strrchr(url, '/');
	size_t start = slash ? (size_t)(slash - url) + 1 : 0;
	size_t end = start + strcspn(url + start, "?#"), i = end;

	while (i > start && url[i - 1] != '.')
		i--;
	if (i == start)
		return "application/octet-stream";
	for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
		if (strlen(types[k].ext) == end - i && !strncasecmp(url + i, types[k].ext, end - i))
			return types[k].type;
	return "application/octet-stream";
}
