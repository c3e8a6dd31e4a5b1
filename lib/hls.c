#include "hls.h"
#include "file.h"
#include "vfilter.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "output check failed: "

/* ---------- the ladder ---------- */

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

int hls_parse_ladder(const char *text, int *out)
{
	int v[HLS_MAX_RUNGS], n = 0, k = 0;
	const char *p = text;

	if (!text)
		return -1;
	for (;;) {
		long long x = 0;
		int digits = 0;

		while (*p == ' ')
			p++;
		for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
			x = x * 10 + (*p - '0');
		while (*p == ' ')
			p++;
		if (!digits || x < 2 || x > 8192 || x % 2 || n == HLS_MAX_RUNGS)
			return -1;
		v[n++] = (int)x;
		if (!*p)
			break;
		if (*p++ != ',')
			return -1;
	}
	qsort(v, (size_t)n, sizeof(v[0]), cmp_int);
	for (int i = 0; i < n; i++)
		if (!k || out[k - 1] != v[i])
			out[k++] = v[i];
	return k;
}

/* x rounded to the nearest even number, at least 2. */
static int even(double x)
{
	double e = 2 * floor(x / 2 + 0.5);
	return e < 2 ? 2 : (int)e;
}

int hls_rungs(const int *ladder, int n, const struct source *s, struct hls_rung *out)
{
	double dw, dh, t, sh;
	int k = 0;

	if (s->width <= 0 || s->height <= 0)
		return 0;
	dw = s->width;
	dh = s->height;
	if (s->sar_num > 0 && s->sar_den > 0)
		dw = dw * s->sar_num / s->sar_den;
	if (s->rotation % 180) {
		t = dw;
		dw = dh;
		dh = t;
	}
	sh = dw < dh ? dw : dh;
	for (int i = 0; i < n && k < HLS_MAX_RUNGS; i++)
		if (ladder[i] <= sh)
			out[k++].size = ladder[i];
	if (!k) {
		int own = 2 * (int)(sh / 2);    /* its own short side, even */
		out[k++].size = own < 2 ? 2 : own;
	}
	for (int i = 0; i < k; i++) {
		double f = out[i].size / sh;
		out[i].width = dw <= dh ? out[i].size : even(dw * f);
		out[i].height = dw <= dh ? even(dh * f) : out[i].size;
		xsnprintf(out[i].name, sizeof(out[i].name), "%dp", out[i].size);
	}
	return k;
}

/* ---------- the encode ---------- */

static void args_push(char ***v, int *n, char *s)
{
	*v = xrealloc(*v, (size_t)(*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/*
 * The last frame held to the source's end, as mp4's setts does: but an
 * fMP4 fragment keeps no duration of its last sample, so the frame is
 * cloned instead, and "-t {duration}" cuts every stream there.
 */
#define HOLD_CLONE "tpad=stop_mode=clone:stop_duration={duration}"

/* The filter graph: one decode, cut and tone-mapped, split to the rungs. */
static char *hls_graph(const struct hls_rung *r, int n, int hold)
{
	struct strbuf g = STRBUF_INIT;

	sb_addf(&g, "[0:v:0]{crop},{tonemap},%ssplit=%d", hold ? HOLD_CLONE "," : "", n);
	for (int i = 0; i < n; i++)
		sb_addf(&g, "[s%d]", i);
	for (int i = 0; i < n; i++)
		sb_addf(&g, ";[s%d]scale=w=%d:h=%d" TO_BT709 "[v%d]", i, r[i].width, r[i].height, i);
	return sb_detach(&g, NULL);
}

/* "v:0,agroup:aud,name:360p ... a:0,agroup:aud,name:audio" */
static char *hls_stream_map(const struct hls_rung *r, int n, int audio)
{
	struct strbuf m = STRBUF_INIT;

	for (int i = 0; i < n; i++)
		sb_addf(&m, "%sv:%d,%sname:%s", i ? " " : "", i, audio ? "agroup:aud," : "",
			r[i].name);
	if (audio)
		sb_adds(&m, " a:0,agroup:aud,name:" HLS_AUDIO);
	return sb_detach(&m, NULL);
}

char **hls_args(const struct hls_rung *r, int n, const struct source *s)
{
	static const char *const common[] = {
		"-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn", H264_BT709,
		"-force_key_frames", "expr:gte(t,n_forced*4)", "-sc_threshold", "0", "-g", "240",
		AAC_STEREO,
		"-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
		"-hls_segment_type", "fmp4", "-hls_flags", "independent_segments",
		"-hls_fmp4_init_filename", "init.mp4",
		"-hls_segment_filename", "{outdir}/%v/seg-%05d.m4s", NULL
	};
	int audio = s->has_audio, hold = s->duration > 0, k = 0;
	char **v = NULL;

	args_push(&v, &k, xstrdup("-filter_complex"));
	args_push(&v, &k, hls_graph(r, n, hold));
	for (int i = 0; i < n; i++) {
		args_push(&v, &k, xstrdup("-map"));
		args_push(&v, &k, xstrfmt("[v%d]", i));
	}
	if (audio) {
		args_push(&v, &k, xstrdup("-map"));
		args_push(&v, &k, xstrdup("0:a:0"));
	}
	for (int i = 0; common[i]; i++)
		args_push(&v, &k, xstrdup(common[i]));
	/* a constant rate: see hls.h */
	args_push(&v, &k, xstrdup("-fps_mode"));
	args_push(&v, &k, xstrdup("cfr"));
	args_push(&v, &k, xstrdup("-r"));
	args_push(&v, &k, xstrfmt("%.6f", hls_frame_rate(s)));
	if (hold) {
		args_push(&v, &k, xstrdup("-t"));
		args_push(&v, &k, xstrdup("{duration}"));
	}
	args_push(&v, &k, xstrdup("-var_stream_map"));
	args_push(&v, &k, hls_stream_map(r, n, audio));
	args_push(&v, &k, xstrdup("-y"));
	args_push(&v, &k, xstrdup("{outdir}/%v/" HLS_PLAYLIST));
	return v;
}

void hls_args_free(char **args)
{
	for (char **a = args; a && *a; a++)
		free(*a);
	free(args);
}

/* ---------- media playlists ---------- */

/* A URI memedroid serves as it is: a file beside the playlist. */
static int plain_name(const char *s)
{
	return *s && *s != '.' && !strchr(s, '/') && !strchr(s, '\\') &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ==
	       strlen(s);
}

/* A decimal at s (no sign, no exponent), in [0, 1e6]; -1 for junk. */
static double decimal(const char *s, const char **end)
{
	size_t n = strspn(s, "0123456789");
	char *e;
	double d;

	if (!n)
		return -1;
	if (s[n] == '.')
		n += 1 + strspn(s + n + 1, "0123456789");
	errno = 0;
	d = strtod(s, &e);
	if (errno || e != s + n || !(d >= 0 && d <= 1e6))
		return -1;
	*end = e;
	return d;
}

/* One tag line of a playlist; pending is the EXTINF waiting for its URI. */
static int parse_tag(struct hls_playlist *pl, const char *l, double *pending, struct strbuf *why)
{
	const char *e;
	double d;

	if (!strncmp(l, "#EXTINF:", 8)) {
		if ((d = decimal(l + 8, &e)) < 0 || (*e && *e != ','))
			return sb_addf(why, "bad EXTINF '%s'", l), -1;
		*pending = d;
	} else if (!strncmp(l, "#EXT-X-TARGETDURATION:", 22)) {
		if ((d = decimal(l + 22, &e)) < 0 || *e)
			return sb_addf(why, "bad target duration '%s'", l), -1;
		pl->target = (int)d;
	} else if (!strncmp(l, "#EXT-X-VERSION:", 15)) {
		if ((d = decimal(l + 15, &e)) < 0 || *e)
			return sb_addf(why, "bad version '%s'", l), -1;
		pl->version = (int)d;
	} else if (!strncmp(l, "#EXT-X-MAP:URI=\"", 16)) {
		const char *q = strchr(l + 16, '"');
		if (!q || q[1] || pl->map)
			return sb_addf(why, "bad map '%s'", l), -1;
		pl->map = xstrndup(l + 16, (size_t)(q - l - 16));
		if (!plain_name(pl->map))
			return sb_addf(why, "map '%s' is not a file beside the playlist", pl->map), -1;
	} else if (!strcmp(l, "#EXT-X-PLAYLIST-TYPE:VOD")) {
		pl->vod = 1;
	} else if (!strcmp(l, "#EXT-X-ENDLIST")) {
		pl->endlist = 1;
	}
	return 0;
}

/* One URI line: the segment that the pending EXTINF announced. */
static int parse_uri(struct hls_playlist *pl, const char *l, double *pending, struct strbuf *why)
{
	if (*pending < 0)
		return sb_addf(why, "segment '%s' without EXTINF", l), -1;
	if (!plain_name(l))
		return sb_addf(why, "segment '%s' is not a file beside the playlist", l), -1;
	if (pl->endlist)
		return sb_addf(why, "segment '%s' after the end", l), -1;
	pl->seg = xrealloc(pl->seg, (size_t)(pl->nseg + 1) * sizeof(*pl->seg));
	pl->seg[pl->nseg].uri = xstrdup(l);
	pl->seg[pl->nseg].duration = *pending;
	pl->seg[pl->nseg++].bytes = -1;
	*pending = -1;
	return 0;
}

int hls_playlist_parse(const char *text, struct hls_playlist *pl, struct strbuf *why)
{
	double pending = -1;
	const char *p = text;
	int first = 1, rc = 0;

	memset(pl, 0, sizeof(*pl));
	while (*p && !rc) {
		size_t len = strcspn(p, "\n");
		char *l = xstrndup(p, len);

		p += len + (p[len] == '\n');
		if (len && l[len - 1] == '\r')
			l[len - 1] = '\0';
		if (first && strcmp(l, "#EXTM3U"))
			rc = (sb_adds(why, "no #EXTM3U"), -1);
		else if (!first && *l == '#')
			rc = parse_tag(pl, l, &pending, why);
		else if (!first && *l)
			rc = parse_uri(pl, l, &pending, why);
		first = 0;
		free(l);
	}
	if (!rc && first)
		rc = (sb_adds(why, "empty playlist"), -1);
	if (!rc && (!pl->endlist || !pl->nseg))
		rc = (sb_adds(why, pl->nseg ? "no #EXT-X-ENDLIST" : "no segment"), -1);
	if (rc)
		hls_playlist_release(pl);
	return rc;
}

void hls_playlist_release(struct hls_playlist *pl)
{
	for (int i = 0; i < pl->nseg; i++)
		free(pl->seg[i].uri);
	free(pl->seg);
	free(pl->map);
	memset(pl, 0, sizeof(*pl));
}

void hls_playlist_write(const struct hls_playlist *pl, struct strbuf *out)
{
	double longest = 0;

	for (int i = 0; i < pl->nseg; i++)
		if (pl->seg[i].duration > longest)
			longest = pl->seg[i].duration;
	sb_addf(out, "#EXTM3U\n#EXT-X-VERSION:%d\n", pl->version > 0 ? pl->version : 7);
	/* RFC 8216 4.3.3.1: each EXTINF rounded is at most the target */
	sb_addf(out, "#EXT-X-TARGETDURATION:%d\n", (int)floor(longest + 0.5));
	sb_adds(out, "#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n"
		"#EXT-X-INDEPENDENT-SEGMENTS\n");
	if (pl->map)
		sb_addf(out, "#EXT-X-MAP:URI=\"%s\"\n", pl->map);
	for (int i = 0; i < pl->nseg; i++)
		sb_addf(out, "#EXTINF:%.6f,\n%s\n", pl->seg[i].duration, pl->seg[i].uri);
	sb_adds(out, "#EXT-X-ENDLIST\n");
}

double hls_playlist_duration(const struct hls_playlist *pl)
{
	double d = 0;

	for (int i = 0; i < pl->nseg; i++)
		d += pl->seg[i].duration;
	return d;
}

void hls_playlist_rates(const struct hls_playlist *pl, int64_t init_bytes,
			int64_t *peak, int64_t *avg)
{
	double top = 0, total = 0, bytes = 0;

	for (int i = 0; i < pl->nseg; i++) {
		double b = (double)pl->seg[i].bytes + (i ? 0 : (double)init_bytes);
		double d = pl->seg[i].duration;
		if (d > 0 && b * 8 / d > top)
			top = b * 8 / d;
		bytes += b;
		total += d;
	}
	*peak = (int64_t)ceil(top);
	*avg = total > 0 ? (int64_t)ceil(bytes * 8 / total) : 0;
}

/* ---------- the master ---------- */

double hls_frame_rate(const struct source *s)
{
	if (s->max_fps > 0 && s->max_fps <= 60)
		return s->max_fps;
	if (s->fps > 0 && s->fps <= 60 && s->max_fps <= 0)
		return s->fps;
	return 60;
}

int hls_avc_codec(const unsigned char *buf, size_t n, char *out, size_t outn)
{
	/* the box: size, "avcC", then version 1, profile, flags, level */
	for (size_t i = 4; i + 8 <= n; i++)
		if (!memcmp(buf + i, "avcC", 4) && buf[i + 4] == 1) {
			(void)snprintf(out, outn, "avc1.%02x%02x%02x", buf[i + 5], buf[i + 6],
				       buf[i + 7]);
			return 0;
		}
	return -1;
}

void hls_master_write(const struct hls_variant *v, int n, const char *audio_uri,
		      struct strbuf *out)
{
	sb_adds(out, "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
	if (audio_uri)
		sb_addf(out, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"audio\","
			"DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\",URI=\"%s\"\n", audio_uri);
	for (int i = 0; i < n; i++) {
		sb_addf(out, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,"
			"CODECS=\"%s\",RESOLUTION=%dx%d,FRAME-RATE=%.3f%s\n%s\n",
			(long long)v[i].peak, (long long)v[i].avg, v[i].codecs, v[i].width,
			v[i].height, v[i].fps, audio_uri ? ",AUDIO=\"aud\"" : "", v[i].uri);
	}
}

/* ---------- the check, after the encode ---------- */

struct fin {
	const struct verify_ctx *vc;
	const char *outdir, *workdir;
	const struct source *src;
	struct strbuf *why;     /* the reason, without PREFIX */
};

/* A file of at most max bytes into *buf (NUL-terminated); -1, errno set. */
static int read_small(const char *path, size_t max, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	ssize_t n;

	if (fd < 0)
		return -1;
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || sb.len + (size_t)n > max) {
			int e = n < 0 ? errno : EFBIG;
			close(fd);
			sb_release(&sb);
			errno = e;
			return -1;
		}
		sb_add(&sb, chunk, (size_t)n);
	}
	close(fd);
	*buf = sb_detach(&sb, len);
	return 0;
}

/* The size of dir/name, a regular file, or -1. */
static int64_t file_size(const char *dir, const char *name)
{
	char *p = xstrfmt("%s/%s", dir, name);
	struct stat st;
	int64_t n = lstat(p, &st) || !S_ISREG(st.st_mode) ? -1 : (int64_t)st.st_size;

	free(p);
	return n;
}

/* outdir/name/index.m3u8 parsed, every file it names there and sized. */
static int load_playlist(struct fin *f, const char *name, struct hls_playlist *pl,
			 int64_t *init_bytes)
{
	char *dir = xstrfmt("%s/%s", f->outdir, name), *path = xstrfmt("%s/" HLS_PLAYLIST, dir);
	char *text = NULL;
	int rc = VERIFY_FAILED;

	memset(pl, 0, sizeof(*pl));
	if (read_small(path, 1 << 20, &text, NULL)) {
		sb_addf(f->why, "%s: cannot read its playlist: %s", name, strerror(errno));
		goto out;
	}
	sb_addf(f->why, "%s: ", name);
	if (hls_playlist_parse(text, pl, f->why))
		goto out;
	if (!pl->map || (*init_bytes = file_size(dir, pl->map)) <= 0) {
		sb_addf(f->why, "no init segment '%s'", pl->map ? pl->map : "");
		goto out;
	}
	for (int i = 0; i < pl->nseg; i++)
		if ((pl->seg[i].bytes = file_size(dir, pl->seg[i].uri)) <= 0) {
			sb_addf(f->why, "segment '%s' is missing or empty", pl->seg[i].uri);
			goto out;
		}
	sb_reset(f->why);
	rc = VERIFY_OK;
out:
	if (rc)
		hls_playlist_release(pl);
	free(text);
	free(path);
	free(dir);
	return rc;
}

/* Append dir/name to fd. */
static int append_file(int fd, const char *dir, const char *name)
{
	char *buf, *p = xstrfmt("%s/%s", dir, name);
	size_t len;
	int rc = read_small(p, (size_t)1 << 31, &buf, &len);

	free(p);
	if (rc)
		return -1;
	rc = write_all(fd, buf, len);
	free(buf);
	return rc;
}

/* The rung's init and segments joined into one file, path: a fragmented MP4. */
static int join_rung(struct fin *f, const char *name, const struct hls_playlist *pl,
		     const char *path)
{
	char *dir = xstrfmt("%s/%s", f->outdir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0666);
	int rc = fd < 0 || append_file(fd, dir, pl->map);

	for (int i = 0; !rc && i < pl->nseg; i++)
		rc = append_file(fd, dir, pl->seg[i].uri);
	if ((fd >= 0 && close(fd)) || rc) {
		sb_addf(f->why, "cannot write '%s': %s", path, strerror(errno));
		free(dir);
		return VERIFY_ERROR;
	}
	free(dir);
	return VERIFY_OK;
}

/* The joined rung through the video check; its duration and rate. */
static int probe_rung(struct fin *f, const struct hls_rung *r, const char *path,
		      struct hls_variant *v, double *duration)
{
	struct profile p = { .output_kind = OUTPUT_VIDEO };
	struct source s = *f->src;
	struct strbuf facts = STRBUF_INIT, e = STRBUF_INIT;
	int rc;

	s.has_audio = 0;        /* the sound is a rendition of its own */
	rc = verify_output(f->vc, &p, path, &s, &facts, &e);
	if (rc) {
		/* verify_output's reason, less its prefix */
		const char *m = strncmp(e.buf, PREFIX, strlen(PREFIX)) ? e.buf : e.buf + strlen(PREFIX);
		sb_addf(f->why, "%s: %s", r->name, m);
		goto out;
	}
	json_t *root = json_loads(facts.buf + strlen("\"output_probe\":"), 0, NULL);
	json_t *st = json_array_get(json_object_get(root, "streams"), 0);
	const char *d = json_string_value(json_object_get(json_object_get(root, "format"),
							  "duration"));
	v->width = (int)json_integer_value(json_object_get(st, "width"));
	v->height = (int)json_integer_value(json_object_get(st, "height"));
	*duration = d ? strtod(d, NULL) : 0;
	v->fps = hls_frame_rate(f->src);
	json_decref(root);
	if (v->width != r->width || v->height != r->height) {
		sb_addf(f->why, "%s: size %dx%d, not %dx%d", r->name, v->width, v->height,
			r->width, r->height);
		rc = VERIFY_FAILED;
	}
out:
	sb_release(&facts);
	sb_release(&e);
	return rc;
}

/* Text t (released) written to path atomically; a failure said in why. */
static int put_text(struct fin *f, const char *path, struct strbuf *t)
{
	int rc = write_file_atomic(path, t->buf, t->len);

	if (rc)
		sb_addf(f->why, "cannot write '%s': %s", path, strerror(errno));
	sb_release(t);
	return rc ? VERIFY_ERROR : VERIFY_OK;
}

/*
 * The last EXTINF set to what the rung really lasts, at least the source's
 * duration (its last frame is held as long), the playlist written again:
 * ffmpeg's counts the last segment's frames at the grid's 1/60 s.
 */
static int fix_last(struct fin *f, const char *name, struct hls_playlist *pl, double duration)
{
	struct hls_segment *last = &pl->seg[pl->nseg - 1];
	double d = duration > f->src->duration ? duration : f->src->duration;
	double rest = d - (hls_playlist_duration(pl) - last->duration);
	struct strbuf t = STRBUF_INIT;
	char *path;
	int rc;

	if (rest <= last->duration)
		return VERIFY_OK;
	last->duration = rest;
	hls_playlist_write(pl, &t);
	path = xstrfmt("%s/%s/" HLS_PLAYLIST, f->outdir, name);
	rc = put_text(f, path, &t);
	free(path);
	return rc;
}

/* The codec of outdir/name's init segment, into codecs. */
static int init_codec(struct fin *f, const char *name, const char *init, char *codecs, size_t n)
{
	char *buf, *p = xstrfmt("%s/%s/%s", f->outdir, name, init);
	size_t len;
	int rc = read_small(p, 1 << 20, &buf, &len);

	free(p);
	if (rc) {
		sb_addf(f->why, "%s: cannot read '%s': %s", name, init, strerror(errno));
		return VERIFY_FAILED;
	}
	rc = hls_avc_codec((unsigned char *)buf, len, codecs, n);
	free(buf);
	if (rc)
		sb_addf(f->why, "%s: no H.264 configuration in '%s'", name, init);
	return rc ? VERIFY_FAILED : VERIFY_OK;
}

/* One rung: checked, its last EXTINF fixed, its variant filled. */
static int finish_rung(struct fin *f, const struct hls_rung *r, struct hls_variant *v)
{
	struct hls_playlist pl;
	int64_t init = 0;
	double duration = 0;
	char *scratch = xstrfmt("%s/hls-check.mp4", f->workdir);
	int rc;

	if ((rc = load_playlist(f, r->name, &pl, &init)))
		goto out;
	if (!(rc = join_rung(f, r->name, &pl, scratch)))
		rc = probe_rung(f, r, scratch, v, &duration);
	(void)unlink(scratch);
	if (!rc)
		rc = fix_last(f, r->name, &pl, duration);
	if (!rc)
		rc = init_codec(f, r->name, pl.map, v->codecs, sizeof(v->codecs));
	if (!rc) {
		hls_playlist_rates(&pl, init, &v->peak, &v->avg);
		v->duration = hls_playlist_duration(&pl);
	}
	hls_playlist_release(&pl);
out:
	free(scratch);
	return rc;
}

/*
 * The audio rendition: there exactly when the source has sound, its files
 * all there; its rates.  Its length is the sound's, which may end before
 * the picture or after it: the rungs' check holds the duration.
 */
static int finish_audio(struct fin *f, int64_t *peak, int64_t *avg)
{
	char *dir = xstrfmt("%s/" HLS_AUDIO, f->outdir);
	struct hls_playlist pl;
	struct stat st;
	int64_t init = 0;
	int there = !lstat(dir, &st), rc;

	free(dir);
	*peak = *avg = 0;
	if (!f->src->has_audio) {
		if (there)
			sb_adds(f->why, "an audio rendition, the source has no sound");
		return there ? VERIFY_FAILED : VERIFY_OK;
	}
	if ((rc = load_playlist(f, HLS_AUDIO, &pl, &init)))
		return rc;
	hls_playlist_rates(&pl, init, peak, avg);
	hls_playlist_release(&pl);
	return rc;
}

static void add_facts(struct strbuf *facts, const struct hls_rung *r,
		      const struct hls_variant *v, int n, int audio)
{
	/* the top rung's size and the length, as a feed shows them (rendition.h) */
	if (n)
		sb_addf(facts, "\"width\":%d,\"height\":%d,\"duration\":%.3f,",
			v[n - 1].width, v[n - 1].height, v[n - 1].duration);
	sb_adds(facts, "\"hls\":{\"rungs\":[");
	for (int i = 0; i < n; i++)
		sb_addf(facts, "%s{\"name\":\"%s\",\"width\":%d,\"height\":%d,\"bandwidth\":%lld,"
			"\"average_bandwidth\":%lld,\"codecs\":\"%s\"}", i ? "," : "", r[i].name,
			v[i].width, v[i].height, (long long)v[i].peak, (long long)v[i].avg,
			v[i].codecs);
	sb_addf(facts, "],\"audio\":%s}", audio ? "true" : "false");
}

/* master.m3u8, the last file written into outdir. */
static int write_master(struct fin *f, const struct hls_variant *v, int n)
{
	struct strbuf m = STRBUF_INIT;
	char *path = xstrfmt("%s/" HLS_MASTER, f->outdir);
	int rc;

	hls_master_write(v, n, f->src->has_audio ? HLS_AUDIO "/" HLS_PLAYLIST : NULL, &m);
	rc = put_text(f, path, &m);
	free(path);
	return rc;
}

int hls_finish(const struct verify_ctx *vc, const char *outdir, const char *workdir,
	       const struct hls_rung *r, int n, const struct source *src,
	       struct strbuf *facts, struct strbuf *why)
{
	struct fin f = { vc, outdir, workdir, src, NULL };
	struct hls_variant v[HLS_MAX_RUNGS];
	char uri[HLS_MAX_RUNGS][32];
	struct strbuf e = STRBUF_INIT;
	int64_t apeak, aavg;
	int rc = VERIFY_OK;

	f.why = &e;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < n && !rc; i++) {
		xsnprintf(uri[i], sizeof(uri[i]), "%s/" HLS_PLAYLIST, r[i].name);
		v[i].uri = uri[i];
		rc = finish_rung(&f, &r[i], &v[i]);
	}
	if (!rc)
		rc = finish_audio(&f, &apeak, &aavg);
	for (int i = 0; !rc && i < n; i++) {
		v[i].peak += apeak;
		v[i].avg += aavg;
		if (src->has_audio) {
			size_t l = strlen(v[i].codecs);
			(void)snprintf(v[i].codecs + l, sizeof(v[i].codecs) - l, ",mp4a.40.2");
		}
	}
	if (!rc)
		rc = write_master(&f, v, n);
	if (!rc)
		add_facts(facts, r, v, n, src->has_audio);
	if (rc == VERIFY_FAILED)
		sb_adds(why, PREFIX);
	if (rc)
		sb_adds(why, e.buf);
	sb_release(&e);
	return rc;
}
