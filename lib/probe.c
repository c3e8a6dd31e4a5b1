#include "probe.h"
#include "probe_int.h"
#include "ffval.h"
#include "emit.h"
#include "log.h"
#include "reason.h"
#include "spawn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPTED_DEMUXERS \
	"mov,matroska,avi,flv,mpegts,ogg,gif,png_pipe,jpeg_pipe,webp_pipe," \
	"bmp_pipe,tiff_pipe,apng"

const char probe_demuxers[] = ACCEPTED_DEMUXERS;

/*
 * The probe opens audio-only containers too, never accepted, so that such
 * a file is told "audio only" rather than refused unread by the whitelist.
 * They hold no picture to decode; reading their headers is all it does.
 */
static const char probe_whitelist[] = ACCEPTED_DEMUXERS
	",mp3,wav,w64,flac,aac,aiff,caf,amr,wv,ape,tta,ac3,eac3,dts,au";

/*
 * Decodable content shorter than this share of what the header claims is
 * a truncated file.
 */
#define DECODABLE_SHARE 0.9
/* ... and by more than this, in seconds: a last packet of unknown length */
#define DECODABLE_SLACK 0.5

/*
 * ffprobe prints some 130 bytes a packet: 64 MiB is over an hour of 60 fps
 * video with its sound, far past any limit on the duration.
 */
#define PROBE_OUT_MAX (64 << 20)

static const struct probe_format formats[] = {
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

#define MAX_STREAMS 16

/* The packet being read: its lines come one after the other. */
struct packet {
	long long n;            /* its number in the output, -1 none */
	int has_pts, has_dts;
	double pts, dts, duration;
};

struct parsed {
	char format[96];
	double duration;        /* what the header claims */
	double start;
	int nstreams;
	struct probe_stream s[MAX_STREAMS];
	int encrypted;          /* encryption side data or sample entry */
	int timed;              /* some packet had a timestamp */
	double end;             /* the latest end of a packet read */
	int end_open;           /* that packet's duration was not given */
	int timed_nonneg;       /* some packet had a timestamp >= 0 */
	double first;           /* the earliest such timestamp */
	struct packet pk;
};

/* The packet read so far ends where it is decodable content ends. */
static void packet_done(struct parsed *pr)
{
	struct packet *k = &pr->pk;

	if (k->n >= 0 && (k->has_pts || k->has_dts)) {
		double t = k->has_pts ? k->pts : k->dts, end = t + k->duration;
		if (!pr->timed || end > pr->end) {
			pr->end = end;
			pr->end_open = k->duration <= 0;
		}
		pr->timed = 1;
		/* before 0 is pre-roll (encoder priming, B-frame delay) */
		if (t >= 0 && (!pr->timed_nonneg || t < pr->first))
			pr->first = t;
		if (t >= 0)
			pr->timed_nonneg = 1;
	}
	memset(k, 0, sizeof(*k));
	k->n = -1;
}

/* One "packets.packet.N.key" line: key at k, its value val. */
static void parse_packet(struct parsed *pr, const char *line, const char *val)
{
	const char *p = line + 15, *k;
	long long n = 0;
	size_t nd = strspn(p, "0123456789");

	if (!nd || nd > 12 || p[nd] != '.')
		return;
	for (size_t i = 0; i < nd; i++)
		n = n * 10 + (p[i] - '0');
	k = p + nd + 1;
	if (n != pr->pk.n) {
		packet_done(pr);
		pr->pk.n = n;
	}
	if (!strcmp(k, "pts_time"))
		pr->pk.has_pts = ffval_time(val, &pr->pk.pts);
	else if (!strcmp(k, "dts_time"))
		pr->pk.has_dts = ffval_time(val, &pr->pk.dts);
	else if (!strcmp(k, "duration_time"))
		pr->pk.duration = ffval_real(val);
	else if (strstr(k, "side_data_type") && !strcmp(val, "Encryption info"))
		pr->encrypted = 1;
}

/* One "streams.stream.N.k" line: k of stream s, its value val. */
static void parse_stream(struct parsed *pr, struct probe_stream *s, const char *k,
			 const char *val)
{
	if (!strcmp(k, "codec_type"))
		ffval_copy(s->type, sizeof(s->type), val);
	else if (!strcmp(k, "codec_name"))
		ffval_copy(s->codec, sizeof(s->codec), val);
	else if (!strcmp(k, "codec_tag_string"))
		ffval_copy(s->tag, sizeof(s->tag), val);
	else if (!strcmp(k, "time_base"))
		ffval_copy(s->time_base, sizeof(s->time_base), val);
	else if (!strcmp(k, "nb_frames"))
		s->declared = ffval_int(val, 0, INT64_MAX, 0);
	else if (!strcmp(k, "pix_fmt"))
		ffval_copy(s->pix_fmt, sizeof(s->pix_fmt), val);
	else if (!strcmp(k, "avg_frame_rate"))
		ffval_copy(s->rate, sizeof(s->rate), val);
	else if (!strcmp(k, "width"))
		s->width = (int)ffval_int(val, -1, INT_MAX, 0);
	else if (!strcmp(k, "height"))
		s->height = (int)ffval_int(val, -1, INT_MAX, 0);
	else if (!strcmp(k, "nb_read_packets"))
		s->packets = ffval_int(val, -1, INT64_MAX, -1);
	else if (!strcmp(k, "disposition.attached_pic"))
		s->attached_pic = ffval_int(val, 0, 1, 0) == 1;
	else if (strstr(k, "side_data_list") && strstr(k, ".rotation"))
		s->rotation = (int)ffval_int(val, -360, 360, 0);
	else if (strstr(k, "side_data_list") && strstr(k, ".side_data_type") &&
		 !strncmp(val, "Encryption ", 11))
		pr->encrypted = 1;
}

static void parse_flat(char *text, struct parsed *pr)
{
	char *line, *save = NULL;

	memset(pr, 0, sizeof(*pr));
	pr->pk.n = -1;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char val[128];
		const char *k;
		int i;

		if (!ffval_line(line, val, sizeof(val)))
			continue;
		if (!strncmp(line, "packets.packet.", 15)) {
			parse_packet(pr, line, val);
		} else if (!strcmp(line, "format.format_name")) {
			ffval_copy(pr->format, sizeof(pr->format), val);
		} else if (!strcmp(line, "format.duration")) {
			pr->duration = ffval_real(val);
		} else if (!strcmp(line, "format.start_time")) {
			if (!ffval_time(val, &pr->start))
				pr->start = 0;
		} else if ((i = ffval_stream(line, MAX_STREAMS, &k)) >= 0) {
			if (i + 1 > pr->nstreams)
				pr->nstreams = i + 1;
			parse_stream(pr, &pr->s[i], k, val);
		}
	}
	packet_done(pr);
}

/* A sample entry that says its samples are encrypted (ISO 14496-12 8.12). */
static int encrypted_tag(const char *tag)
{
	return !strcmp(tag, "encv") || !strcmp(tag, "enca") || !strcmp(tag, "enct") ||
	       !strcmp(tag, "encs");
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

const struct probe_format *probe_format_find(const char *format_name)
{
	size_t n = strcspn(format_name, ",");

	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strlen(formats[i].demuxer) == n && !strncmp(formats[i].demuxer, format_name, n))
			return &formats[i];
	return NULL;
}

unsigned probe_kind(const struct probe_format *fmt, int64_t packets)
{
	if (!fmt->image)
		return MD_KIND_VIDEO;
	return fmt->maybe_animated && packets > 1 ? MD_KIND_ANIMATED : MD_KIND_IMAGE;
}

/* The streams that decide: the picture (not a cover) and the sound. */
static void facts_streams(const struct parsed *pr, struct probe_facts *f)
{
	for (int i = 0; i < pr->nstreams; i++) {
		const struct probe_stream *s = &pr->s[i];
		if (encrypted_tag(s->tag))
			f->encrypted = 1;
		if (!strcmp(s->type, "video") && !s->attached_pic && !f->has_video) {
			f->v = *s;
			f->has_video = 1;
		} else if (!strcmp(s->type, "audio") && !f->has_audio) {
			f->a = *s;
			f->has_audio = 1;
		}
	}
}

void probe_facts_read(const char *text, size_t len, struct probe_facts *f)
{
	struct parsed pr;
	struct source src;
	char *copy = xstrndup(text, len);

	/* what a job will want to know of it (source.h), from the same text */
	source_parse(copy, &src);
	parse_flat(copy, &pr);
	free(copy);
	memset(f, 0, sizeof(*f));
	f->src = src;
	ffval_copy(f->format, sizeof(f->format), pr.format);
	f->fmt = probe_format_find(pr.format);
	f->encrypted = pr.encrypted;
	facts_streams(&pr, f);
	f->duration = pr.duration;
	/*
	 * The content read, from the file's start to the end of its last
	 * packet (0 when no packet was timed); the start is the header's or
	 * the first packet's, whichever is earlier, pre-roll aside.
	 */
	double start = pr.timed_nonneg && pr.first < pr.start ? pr.first : pr.start;
	f->decodable = pr.timed && pr.end > start ? pr.end - start : 0;
	/* a last packet without a duration (FLV gives none) shows for one
	 * frame of the video's rate */
	if (f->decodable > 0 && pr.end_open && f->has_video && ffval_rate(f->v.rate) > 0)
		f->decodable += 1 / ffval_rate(f->v.rate);
	if (f->fmt)
		f->kind = probe_kind(f->fmt, f->v.packets);
}

int probe_rule_encrypted(const struct conf *c, const struct probe_facts *f, char **why)
{
	return f->encrypted ? reject(why, "encrypted media is not supported") : 0;
}

int probe_rule_audio_only(const struct conf *c, const struct probe_facts *f, char **why)
{
	/* whatever the container: what is in it decides this one */
	return !f->has_video && f->has_audio ?
		reject(why, "audio only: no video or image stream") : 0;
}

int probe_rule_format(const struct conf *c, const struct probe_facts *f, char **why)
{
	return f->fmt ? 0 : reject(why, "format '%s' is not accepted", f->format);
}

int probe_rule_picture(const struct conf *c, const struct probe_facts *f, char **why)
{
	const struct probe_stream *v = &f->v;

	if (!f->has_video)
		return reject(why, "no video or image stream");
	if (!*v->codec || !strcmp(v->codec, "unknown") || !strcmp(v->codec, "none"))
		return reject(why, "unsupported video codec");
	if (v->width <= 0 || v->height <= 0)
		return reject(why, "cannot read the picture size (%dx%d)", v->width, v->height);
	if (v->width > c->max_width || v->height > c->max_height)
		return reject(why, "picture %dx%d exceeds the limit %dx%d", v->width, v->height,
			      c->max_width, c->max_height);
	return 0;
}

int probe_rule_duration(const struct conf *c, const struct probe_facts *f, char **why)
{
	double longest = f->decodable > f->duration ? f->decodable : f->duration;

	if (longest > c->max_duration)
		return reject(why, "duration %.1fs exceeds the limit %.0fs", longest,
			      c->max_duration);
	return 0;
}

int probe_rule_frames(const struct conf *c, const struct probe_facts *f, char **why)
{
	if (f->v.packets <= 0)
		return reject(why, "no decodable frame: no frames could be read from the "
			      "video stream");
	return 0;
}

int probe_rule_time_scale(const struct conf *c, const struct probe_facts *f, char **why)
{
	const struct probe_stream *v = &f->v;

	/*
	 * A time scale the demuxer could not read becomes 1/1 (an mdhd of
	 * 0): the frames it declares come out as one packet with no usable
	 * time, and a transcode of it holds no picture.
	 */
	if (f->kind == MD_KIND_VIDEO && !strcmp(v->time_base, "1/1") &&
	    v->declared > v->packets)
		return reject(why, "no decodable frame: the video stream has no valid "
			      "time scale (%lld of %lld frames readable)",
			      (long long)v->packets, (long long)v->declared);
	return 0;
}

int probe_rule_truncated(const struct conf *c, const struct probe_facts *f, char **why)
{
	if (f->kind == MD_KIND_VIDEO && f->decodable > 0 && f->duration > 0 &&
	    f->decodable < DECODABLE_SHARE * f->duration &&
	    f->duration - f->decodable > DECODABLE_SLACK)
		return reject(why, "truncated: %.1f s decodable of %.1f s", f->decodable,
			      f->duration);
	return 0;
}

int probe_rule_animation(const struct conf *c, const struct probe_facts *f, char **why)
{
	const struct probe_stream *v = &f->v;

	if (f->kind != MD_KIND_ANIMATED)
		return 0;
	if (v->packets > c->max_frames)
		return reject(why, "%lld frames exceed the limit %lld", (long long)v->packets,
			      (long long)c->max_frames);
	if ((double)v->width * v->height * (double)v->packets > c->max_pixels_frames)
		return reject(why, "%dx%d pixels x %lld frames exceed the limit %.0f", v->width,
			      v->height, (long long)v->packets, c->max_pixels_frames);
	return 0;
}

/* The rules, in the order they are told. */
static int (*const rules[])(const struct conf *, const struct probe_facts *, char **) = {
	probe_rule_encrypted,
	probe_rule_audio_only,
	probe_rule_format,
	probe_rule_picture,
	probe_rule_duration,
	probe_rule_frames,
	probe_rule_time_scale,
	probe_rule_truncated,
	probe_rule_animation,
};

int probe_decide(const struct conf *c, const struct probe_facts *f, char **why)
{
	*why = NULL;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (rules[i](c, f, why))
			return 1;
	return 0;
}

static void probe_json(const struct probe_facts *f, struct probe *p)
{
	sb_init(&p->json, 256);
	sb_adds(&p->json, "{\"format\":");
	json_add_str(&p->json, f->format);
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
	if (f->has_audio)
		json_add_str(&p->json, p->acodec);
	else
		sb_adds(&p->json, "null");
	sb_adds(&p->json, ",\"source\":");
	source_json(&f->src, &p->json);
	sb_addch(&p->json, '}');
}

/* A VP8, VP9 or AV1 video in a container that says webm is served as WebM. */
static int is_webm(const struct probe_facts *f)
{
	const char *vc = f->v.codec;

	return f->kind == MD_KIND_VIDEO && !strcmp(f->fmt->demuxer, "matroska") &&
	       strstr(f->format, "webm") &&
	       (!strcmp(vc, "vp8") || !strcmp(vc, "vp9") || !strcmp(vc, "av1"));
}

void probe_fill(const struct probe_facts *f, struct probe *p)
{
	const struct probe_stream *v = &f->v;

	memset(p, 0, sizeof(*p));
	p->kind = f->kind;
	ffval_copy(p->format, sizeof(p->format), f->fmt->demuxer);
	ffval_copy(p->ext, sizeof(p->ext), is_webm(f) ? "webm" : f->fmt->ext);
	ffval_copy(p->mime, sizeof(p->mime), is_webm(f) ? "video/webm" : f->fmt->mime);
	ffval_copy(p->vcodec, sizeof(p->vcodec), v->codec);
	ffval_copy(p->pix_fmt, sizeof(p->pix_fmt), v->pix_fmt);
	if (f->has_audio)
		ffval_copy(p->acodec, sizeof(p->acodec), f->a.codec);
	p->has_audio = f->has_audio;
	p->width = v->width;
	p->height = v->height;
	p->rotation = v->rotation;
	/* a video's duration is what can be decoded of it, when that is known */
	p->duration = p->kind == MD_KIND_VIDEO && f->decodable > 0 ? f->decodable : f->duration;
	p->fps = ffval_rate(v->rate);
	p->frames = v->packets;
	probe_json(f, p);
}

int probe_from_ffprobe(const struct conf *c, const char *text, size_t len, struct probe *p,
		       char **why)
{
	struct probe_facts f;

	memset(p, 0, sizeof(*p));
	probe_facts_read(text, len, &f);
	if (probe_decide(c, &f, why))
		return 1;
	probe_fill(&f, p);
	return 0;
}

int probe_failure_reason(const char *described, const char *path, char **why)
{
	struct strbuf clean = STRBUF_INIT;
	size_t plen = strlen(path);
	int rc;

	/* ffprobe names the temp copy: say "input" instead */
	for (const char *q = described; *q;) {
		if (plen && !strncmp(q, path, plen)) {
			sb_adds(&clean, "input");
			q += plen;
		} else {
			sb_addch(&clean, *q++);
		}
	}
	reason_clean(clean.buf);
	const char *t = strstr(clean.buf, ": ");
	const char *wl = strstr(clean.buf, "] Format not on whitelist");
	const char *name = wl ? memrchr(clean.buf, '[', (size_t)(wl - clean.buf)) : NULL;
	if (name)
		/* named by the demuxer ffmpeg found: "[rm] Format not…" */
		rc = reject(why, "format '%.*s' is not accepted", (int)(wl - name - 1), name + 1);
	else
		rc = reject(why, "not a readable media file (%s)", t ? t + 2 : clean.buf);
	sb_release(&clean);
	return rc;
}

/* ffprobe's argv for path, into argv[PROBE_ARGV] (NULL-terminated). */
static void ffprobe_argv(const char *path, char **argv)
{
	char *v[] = {
		"ffprobe", "-v", "error", "-hide_banner",
		"-format_whitelist", (char *)probe_whitelist,
		"-protocol_whitelist", "file",
		"-count_packets",
		"-show_entries",
		"format=format_name,duration,start_time,bit_rate:stream=index,codec_type,"
		"codec_name,codec_tag_string,width,height,pix_fmt,nb_frames,nb_read_packets,"
		"avg_frame_rate,time_base,profile,color_range,color_transfer,coded_width,"
		"coded_height,sample_aspect_ratio,r_frame_rate,channels:"
		"stream_disposition=attached_pic:stream_side_data=rotation,"
		"side_data_type:packet=pts_time,dts_time,duration_time:"
		"packet_side_data=side_data_type",
		"-of", "flat", (char *)path, NULL
	};

	_Static_assert(sizeof(v) / sizeof(*v) <= PROBE_ARGV, "PROBE_ARGV too small");
	memcpy(argv, v, sizeof(v));
}

/* The spawn options of probe_run, reading rd (path, NULL) only. */
static void probe_opts(const struct conf *c, char **argv, const char **rd, struct strbuf *out,
		       size_t out_max, struct spawn_opts *o)
{
	*o = (struct spawn_opts){
		.argv = argv, .stdin_fd = -1, .out = out, .out_max = out_max,
		.timeout = c->probe_timeout, .rlimit_as = conf_memory_limit(c),
		.rlimit_cpu = c->probe_timeout, .confine = c->sandbox, .read = rd,
	};
}

int probe_run(const struct conf *c, char **argv, const char *path, struct strbuf *out,
	      size_t out_max, struct spawn_result *res)
{
	const char *rd[] = { path, NULL };
	struct spawn_opts o;

	probe_opts(c, argv, rd, out, out_max, &o);
	return spawn_run(&o, res);
}

/* The decision on ffprobe's run (r: spawn's return, res, out). */
static int probe_outcome(const struct conf *c, const char *path, int r,
			 const struct spawn_result *res, const struct strbuf *out,
			 struct probe *p, char **why)
{
	struct strbuf err = STRBUF_INIT;
	int rc;

	if (r && res->exec_errno) {
		*why = xstrfmt("cannot run ffprobe: %s", strerror(res->exec_errno));
		rc = -1;
	} else if (r && res->timed_out) {
		rc = reject(why, "probe timed out after %.0fs", c->probe_timeout);
	} else if (r) {
		spawn_describe(res, &err);
		rc = probe_failure_reason(err.buf, path, why);
	} else if (res->out_truncated) {
		rc = reject(why, "too many packets to probe (over %d MiB of ffprobe output)",
			    PROBE_OUT_MAX >> 20);
	} else {
		rc = probe_from_ffprobe(c, out->buf, out->len, p, why);
	}
	sb_release(&err);
	return rc;
}

int probe_start(const struct conf *c, const char *path, struct probe_job *j)
{
	struct spawn_opts o;

	memset(j, 0, sizeof(*j));
	sb_init(&j->out, 0);
	j->path = xstrdup(path);
	j->rd[0] = j->path;
	ffprobe_argv(j->path, j->argv);
	probe_opts(c, j->argv, j->rd, &j->out, PROBE_OUT_MAX, &o);
	if (path[0] != '/') {
		error("internal: probe path '%s' is not absolute", path);
		j->res.exec_errno = EINVAL;
		j->failed = 1;
		return -1;
	}
	if (spawn_start(&o, &j->sp)) {
		j->res = j->sp.res;
		if (!j->res.exec_errno)
			j->res.exec_errno = errno ? errno : EAGAIN;
		j->failed = 1;
		return -1;
	}
	return 0;
}

int probe_finish(const struct conf *c, struct probe_job *j, struct probe *p, char **why)
{
	int r = -1, rc;

	memset(p, 0, sizeof(*p));
	*why = NULL;
	if (!j->failed)
		r = spawn_finish(&j->sp, &j->res);
	rc = probe_outcome(c, j->path, r, &j->res, &j->out, p, why);
	sb_release(&j->out);
	free(j->path);
	j->path = NULL;
	return rc;
}

void probe_abort(struct probe_job *j)
{
	if (!j->failed) {
		spawn_stop(&j->sp);
		(void)spawn_finish(&j->sp, &j->res);
	}
	sb_release(&j->out);
	free(j->path);
	j->path = NULL;
}

int probe_file(const struct conf *c, const char *path, struct probe *p, char **why)
{
	struct probe_job j;

	(void)probe_start(c, path, &j);
	return probe_finish(c, &j, p, why);
}

void probe_release(struct probe *p)
{
	sb_release(&p->json);
}
