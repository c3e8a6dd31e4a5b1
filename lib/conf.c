#include "conf.h"
#include "exits.h"
#include "frames.h"
#include "hls.h"
#include "jwt.h"
#include "log.h"
#include "strbuf.h"
#include "vfilter.h"
#include "web.h"

#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ---------- kinds ---------- */

unsigned kind_from_name(const char *name)
{
	if (!strcmp(name, "image"))
		return MD_KIND_IMAGE;
	if (!strcmp(name, "animated"))
		return MD_KIND_ANIMATED;
	if (!strcmp(name, "video"))
		return MD_KIND_VIDEO;
	if (!strcmp(name, "all"))
		return MD_KIND_ALL;
	return 0;
}

const char *kind_name(unsigned kind)
{
	switch (kind) {
	case MD_KIND_IMAGE: return "image";
	case MD_KIND_ANIMATED: return "animated";
	case MD_KIND_VIDEO: return "video";
	}
	return "unknown";
}

/* ---------- value parsers ---------- */

int parse_int(const char *s, long long min, long long max, long long *out)
{
	const char *d;
	char *end;
	long long v;

	if (!s)
		return -1;
	/* strtoll alone would skip spaces and take a '+' */
	d = *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * A plain decimal number, DIGITS[.DIGITS], then a unit: no sign, space,
 * exponent, hex, inf or nan.  The value is finite and not negative;
 * *unit points after the number.  *frac tells whether it had a fraction.
 */
static int parse_decimal(const char *s, double *v, const char **unit, int *frac)
{
	const char *p = s;
	char *end;
	size_t n;

	if (!s || !(n = strspn(p, "0123456789")))
		return -1;
	p += n;
	*frac = *p == '.';
	if (*frac) {
		if (!(n = strspn(p + 1, "0123456789")))
			return -1;
		p += 1 + n;
	}
	errno = 0;
	*v = strtod(s, &end);
	/* strtod must read exactly the grammar above, no exponent after it */
	if (errno || end != p || !isfinite(*v) || *v < 0)
		return -1;
	*unit = p;
	return 0;
}

int parse_duration(const char *s, double *secs)
{
	static const struct { const char *u; double m; } units[] = {
		{ "", 1 }, { "ms", 0.001 }, { "s", 1 }, { "m", 60 },
		{ "h", 3600 }, { "d", 86400 },
	};
	const char *unit;
	double v;
	int frac;

	if (parse_decimal(s, &v, &unit, &frac))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].u)) {
			v *= units[i].m;
			if (!(v <= DURATION_MAX))
				return -1;
			*secs = v;
			return 0;
		}
	return -1;
}

int parse_size(const char *s, uint64_t *bytes)
{
	static const struct { const char *u; uint64_t m; } units[] = {
		{ "", 1 }, { "B", 1 },
		{ "k", 1000 }, { "K", 1000 }, { "KB", 1000 }, { "kB", 1000 }, { "KiB", 1024 },
		{ "M", 1000000 }, { "MB", 1000000 }, { "MiB", 1 << 20 },
		{ "G", 1000000000 }, { "GB", 1000000000 }, { "GiB", 1 << 30 },
		{ "T", 1000000000000 }, { "TB", 1000000000000 }, { "TiB", (uint64_t)1 << 40 },
	};
	const char *unit;
	double v;
	int frac;

	if (parse_decimal(s, &v, &unit, &frac))
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t m = units[i].m, n;
		char *end;

		if (strcmp(unit, units[i].u))
			continue;
		if (frac) {
			/* 1.5GiB: in floating point, below 2^64 before converting */
			v *= (double)m;
			if (!(v < 18446744073709551616.0))
				return -1;
			*bytes = (uint64_t)v;
			return 0;
		}
		/* whole numbers exactly, up to UINT64_MAX */
		errno = 0;
		n = strtoull(s, &end, 10);
		if (errno || end != unit || n > UINT64_MAX / m)
			return -1;
		*bytes = n * m;
		return 0;
	}
	return -1;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static long long days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	int era = y / 400;                              /* y >= 0 here */
	int yoe = y - era * 400;
	int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (long long)era * 146097 + doe - 719468;
}

/* A number of exactly n digits at *p, then the character sep (0: none);
 * advances *p past both.  Returns the number, or -1. */
static int field(const char **p, int n, char sep)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	if (sep && *(*p)++ != sep)
		return -1;
	return v;
}

int parse_time(const char *s, double *t)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, leap;
	double frac = 0;
	const char *p = s;
	long long v;

	if (!s)
		return -1;
	if (*p == '@') {
		if (parse_int(p + 1, 0, TIME_MAX, &v))
			return -1;
		*t = (double)v;
		return 0;
	}
	if ((y = field(&p, 4, '-')) < 0 || (mo = field(&p, 2, '-')) < 0 ||
	    (d = field(&p, 2, 0)) < 0)
		return -1;
	if (*p != 'T' && *p != ' ')
		return -1;
	p++;
	if ((h = field(&p, 2, ':')) < 0 || (mi = field(&p, 2, ':')) < 0 ||
	    (sec = field(&p, 2, 0)) < 0)
		return -1;
	if (*p == '.') {
		double scale = 0.1;
		int n = 0;
		for (p++; *p >= '0' && *p <= '9' && n < 10; p++, n++, scale /= 10)
			frac += (*p - '0') * scale;
		if (!n || n > 9)
			return -1;
	}
	if (*p && strcmp(p, "Z") && strcmp(p, "+00:00"))
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 || sec > 59)
		return -1;
	v = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	*t = (double)v + frac;
	return 0;
}

/* ---------- built-in profiles ---------- */

/*
 * The worker adds to every ffmpeg step: -nostdin -hide_banner -threads T,
 * and before "-i {input}": -protocol_whitelist file -f <probed demuxer>
 * -max_pixels N.  So templates name only what the rendition needs.
 *
 * Filters run on frames of the source's size until a scale makes them
 * small: a filter that holds frames (thumbnail holds 50) comes after the
 * scale, or an 8192x8192 source holds gigabytes.  The encoders get the
 * worker's threads too, so a job's memory and CPU do not grow with the
 * machine's core count.
 */
#define FILE_SIZE_LIMIT ((uint64_t)4 << 30)

/*
 * Video: the decoded frame cut to the declared picture ({crop}: see
 * source.h), an HDR source tone-mapped ({tonemap}), then one scale that
 * also converts full range and any matrix to limited-range BT.709, 8-bit
 * 4:2:0, tagged so.  Timing: frames keep their own timestamps (-fps_mode
 * vfr) on a 1/60 s grid, so a frame closer than that to the one before is
 * dropped (at most 60 fps) and no other is added; setts gives the last
 * frame the rest of the source's duration, which the encoder would cut
 * to one frame: an animation's held last frame stays held.  The track's
 * time scale is the grid's, which setts computes in.
 */
static const char *mp4_step[] = {
	"ffmpeg", "-i", "{input}",
	"-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1",
	"-map_chapters", "-1", "-sn", "-dn",
	"-vf", "{crop},{tonemap}," CAP(1280) TO_BT709,
	VFR_60, "-video_track_timescale", "60", "-bsf:v", HOLD_LAST,
	H264_BT709, AAC_STEREO,
	"-movflags", "+faststart", "-f", "mp4", "-y", "{output}", NULL
};

/*
 * A source that is already what mp4_step makes: its streams, remuxed,
 * limited range written in the H.264 headers where it was only implied.
 * Only up to 5 Mbit/s, what a 720p upload is advised to be: a heavier
 * file is encoded again, to about half of that, rather than served as is.
 */
#define MP4_COPY_KBPS 5000
static const char *mp4_copy_step[] = {
	"ffmpeg", "-i", "{input}",
	"-map", "0:v:0", "-map", "0:a:0?", "-map_metadata", "-1",
	"-map_chapters", "-1", "-sn", "-dn", "-c", "copy",
	"-bsf:v", "h264_metadata=video_full_range_flag=0",
	"-movflags", "+faststart", "-f", "mp4", "-y", "{output}", NULL
};

/*
 * The thumbnail, 320 pixels wide with square pixels: a JPEG, full range
 * and the BT.601 matrix, as JFIF says; or with thumb.format webp a WebP
 * (web.h: thumb_plan() gives the output's name, {range}, {pix_fmt} and
 * {quality}).
 */
static const char *thumb_step[] = {
	"ffmpeg", "-i", "{input}",
	"-map", "0:v:0", "-map_metadata", "-1", "-an", "-sn", "-dn",
	"-vf", "{crop},{tonemap},scale=w=320:h='max(2,2*trunc(160*ih/(" DISPLAY_W ")+0.5))'"
	":out_range={range}:out_color_matrix=bt601,thumbnail=50,format={pix_fmt},setsar=1",
	"-frames:v", "1", "-q:v", "{quality}", "-color_range", "{range}",
	"-f", "image2", "-update", "1", "-y", "{output}", NULL
};

/*
 * Frames as the thumbnail is: the first frame of each interval of 1/{fps}
 * seconds, so a clip shorter than that, or a single frame, still gives
 * one; each named by its own timestamp in milliseconds for frames_pack()
 * (frames.h).
 */
static const char *frames_step[] = {
	"ffmpeg", "-i", "{input}",
	"-map", "0:v:0", "-map_metadata", "-1", "-an", "-sn", "-dn",
	"-vf", "{crop},{tonemap},select='isnan(prev_selected_t)+gte(floor(t*{fps}),"
	"floor(prev_selected_t*{fps})+1)'," CAP(FRAMES_SIDE) ":out_range=pc:out_color_matrix=bt601"
	",format=yuvj420p,setsar=1",
	"-fps_mode", "passthrough", "-enc_time_base:v", "1:1000", "-frames:v", "{max_frames}",
	"-q:v", "4", "-color_range", "pc", "-frame_pts", "1", "-f", "image2", "-y",
	"{workdir}/pts-%d.jpg", NULL
};

/* A still for the web: what it is encoded to is web_plan()'s (web.h). */
static const char *web_step[] = {
	"ffmpeg", "-i", "{input}",
	"-map", "0:v:0", "-map_metadata", "-1", "-an", "-sn", "-dn",
	"-vf", "{crop},{tonemap}," CAP({max_side}) ":out_range={range}:out_color_matrix=bt601"
	",format={pix_fmt},setsar=1",
	"-frames:v", "1", "-q:v", "{quality}", "-color_range", "{range}",
	"-f", "image2", "-update", "1", "-y", "{output}", NULL
};

/* The ladder's arguments come from the runner: hls.h. */
static const char *hls_step[] = { "ffmpeg", "-i", "{input}", "{hls}", NULL };

static const char *probe_step[] = {
	"ffprobe", "-v", "error", "-show_format", "-show_streams",
	"-of", "json", "-o", "{output}", "{input}", NULL
};

static const struct {
	const char *name, *queue, *output;
	unsigned kinds;
	const char **step;
	const char **pass;      /* copy step, for sources this long at most */
	int pass_max_size, pass_max_kbps;
	enum output_kind output_kind;
	int max_side, width;    /* what the output is checked against */
} builtins[] = {
	{ "probe", "default", "probe.json", MD_KIND_ALL, probe_step, NULL, 0, 0, OUTPUT_JSON, 0, 0 },
	{ "mp4", "video", "video.mp4", MD_KIND_VIDEO | MD_KIND_ANIMATED, mp4_step,
	  mp4_copy_step, 1280, MP4_COPY_KBPS, OUTPUT_VIDEO, 1280, 0 },
	{ "thumb", "default", "thumb.jpg", MD_KIND_ALL, thumb_step, NULL, 0, 0, OUTPUT_IMAGE, 0, 320 },
	{ "noop", "default", NULL, MD_KIND_ALL, NULL, NULL, 0, 0, OUTPUT_NONE, 0, 0 },
	{ "frames", "video", "frames.zip", MD_KIND_VIDEO | MD_KIND_ANIMATED, frames_step, NULL, 0, 0,
	  OUTPUT_ZIP, FRAMES_SIDE, 0 },
	{ "web", "default", "web.jpg", MD_KIND_IMAGE, web_step, NULL, 0, 0, OUTPUT_IMAGE, WEB_SIDE, 0 },
	{ "hls", "video", HLS_MASTER, MD_KIND_VIDEO, hls_step, NULL, 0, 0, OUTPUT_HLS, 0, 0 },
};

/* The built-ins whose work is more than their steps (conf.h). */
static const struct {
	const char *name;
	enum profile_hook hook;
} builtin_hooks[] = {
	{ "frames", HOOK_FRAMES },
	{ "web", HOOK_WEB },
	{ "thumb", HOOK_THUMB },
};

static const char *const output_kinds[] = {
	[OUTPUT_NONE] = "none", [OUTPUT_FILE] = "file", [OUTPUT_VIDEO] = "video",
	[OUTPUT_IMAGE] = "image", [OUTPUT_JSON] = "json", [OUTPUT_ZIP] = "zip",
	[OUTPUT_HLS] = "hls",
};

int output_kind_from_name(const char *name)
{
	/* "none" is what a profile without output is, not a kind to choose */
	for (int i = OUTPUT_FILE; i <= OUTPUT_HLS; i++)
		if (!strcmp(name, output_kinds[i]))
			return i;
	return -1;
}

const char *output_kind_name(enum output_kind k)
{
	return k <= OUTPUT_HLS ? output_kinds[k] : "?";
}

enum output_kind output_kind_of_file(const char *name)
{
	static const struct {
		const char *ext;
		enum output_kind kind;
	} exts[] = {
		{ "mp4", OUTPUT_VIDEO }, { "m4v", OUTPUT_VIDEO }, { "mov", OUTPUT_VIDEO },
		{ "mkv", OUTPUT_VIDEO }, { "webm", OUTPUT_VIDEO }, { "jpg", OUTPUT_IMAGE },
		{ "jpeg", OUTPUT_IMAGE }, { "png", OUTPUT_IMAGE }, { "json", OUTPUT_JSON },
		{ "zip", OUTPUT_ZIP }, { "m3u8", OUTPUT_HLS },
	};
	const char *dot = name ? strrchr(name, '.') : NULL;

	if (!name)
		return OUTPUT_NONE;
	if (dot)
		for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++)
			if (!strcasecmp(dot + 1, exts[i].ext))
				return exts[i].kind;
	return OUTPUT_FILE;
}

static char **argv_dup(const char **argv)
{
	size_t n = 0;
	char **out;

	while (argv[n])
		n++;
	out = xcalloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(argv[i]);
	return out;
}

static void profile_release(struct profile *p)
{
	free(p->name);
	free(p->queue);
	free(p->output);
	for (int i = 0; i < p->nsteps; i++) {
		for (char **a = p->steps[i]; *a; a++)
			free(*a);
		free(p->steps[i]);
	}
	free(p->steps);
	for (int i = 0; i < p->npass; i++) {
		for (char **a = p->pass[i]; *a; a++)
			free(*a);
		free(p->pass[i]);
	}
	free(p->pass);
	memset(p, 0, sizeof(*p));
}

static struct profile *profile_slot(struct conf *c, const char *name)
{
	for (int i = 0; i < c->nprofiles; i++)
		if (!strcmp(c->profiles[i].name, name)) {
			profile_release(&c->profiles[i]);
			c->profiles[i].name = xstrdup(name);
			return &c->profiles[i];
		}
	c->profiles = xrealloc(c->profiles, (c->nprofiles + 1) * sizeof(*c->profiles));
	struct profile *p = &c->profiles[c->nprofiles++];
	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	return p;
}

const struct profile *conf_profile(const struct conf *c, const char *name)
{
	for (int i = 0; i < c->nprofiles; i++)
		if (!strcmp(c->profiles[i].name, name))
			return &c->profiles[i];
	return NULL;
}

/*
 * The default address-space limit of a job command: 512 MiB per thread,
 * plus 1 GiB.  RLIMIT_AS counts what a program maps, not what it touches,
 * and ffmpeg with libx264 maps about 150 MiB of thread stacks and malloc
 * arenas per thread: the mp4 profile on a 4K source or an 8192x8192 one
 * needs 640 MiB of address space with 2 threads, 1.5 GiB with 8, 3 GiB
 * with 16.  This leaves about three times that.
 */
uint64_t conf_memory_limit(const struct conf *c)
{
	if (c->rlimit_as != MEMORY_AUTO)
		return c->rlimit_as;
	return ((uint64_t)c->worker_threads + 2) << 29;
}

double conf_cpu_limit(const struct conf *c)
{
	if (c->rlimit_cpu >= 0)
		return c->rlimit_cpu;
	return c->job_timeout * c->worker_threads;
}

long long conf_max_pixels(const struct conf *c)
{
	return ((long long)c->max_width + 128) * ((long long)c->max_height + 128);
}

/* ---------- defaults, environment ---------- */

char *md_home(void)
{
	const char *s = getenv("MD_HOME");
	if (s && *s)
		return xstrdup(s);
	s = getenv("XDG_DATA_HOME");
	if (s && *s)
		return xstrfmt("%s/memedroid", s);
	s = getenv("HOME");
	if (!s || !*s) {
		struct passwd *pw = getpwuid(getuid());
		s = pw ? pw->pw_dir : "/";
	}
	return xstrfmt("%s/.local/share/memedroid", s);
}

static enum profile_hook builtin_hook(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_hooks) / sizeof(builtin_hooks[0]); i++)
		if (!strcmp(name, builtin_hooks[i].name))
			return builtin_hooks[i].hook;
	return HOOK_NONE;
}

/* The built-in profiles, as conf_init() starts them. */
static void conf_init_builtins(struct conf *c)
{
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
		struct profile *p = profile_slot(c, builtins[i].name);
		p->queue = xstrdup(builtins[i].queue);
		p->output = builtins[i].output ? xstrdup(builtins[i].output) : NULL;
		p->kinds = builtins[i].kinds;
		p->output_kind = builtins[i].output_kind;
		p->max_side = builtins[i].max_side;
		p->width = builtins[i].width;
		p->hook = builtin_hook(p->name);
		p->placeholder = !strcmp(builtins[i].name, "thumb");
		if (builtins[i].step) {
			p->nsteps = 1;
			p->steps = xcalloc(1, sizeof(*p->steps));
			p->steps[0] = argv_dup(builtins[i].step);
		}
		if (builtins[i].pass) {
			p->npass = 1;
			p->pass = xcalloc(1, sizeof(*p->pass));
			p->pass[0] = argv_dup(builtins[i].pass);
			p->pass_max_size = builtins[i].pass_max_size;
			p->pass_max_kbps = builtins[i].pass_max_kbps;
		}
	}
}

void conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_INFO;
	c->keep_originals = 1;
	c->umask = 027;
	c->s3.retries = -1;
	c->worker_jobs = 0;
	c->worker_threads = 2;
	c->worker_batch = 512;
	c->token_ttl = 3600;
	c->lease = 60;
	c->heartbeat = 5;
	c->job_timeout = 600;
	c->stall_timeout = 120;
	c->retry_base = 10;
	c->retry_max = 3600;
	c->max_attempts = 5;
	c->poll_interval = 1;
	c->grace = 30;
	c->nice = 10;
	c->rlimit_as = MEMORY_AUTO;
	c->rlimit_fsize = FILE_SIZE_LIMIT;
	c->rlimit_cpu = -1;
	c->sandbox = 1;
	c->max_bytes = (uint64_t)512 << 20;
	c->max_duration = 600;
	c->max_width = 8192;
	c->max_height = 8192;
	c->max_frames = 10000;
	c->max_pixels_frames = 4e9;
	c->probe_timeout = 30;
	c->jan_stuck_after = 6 * 3600;
	c->jan_pending_after = 3600;
	c->jan_orphan_grace = 6 * 3600;
	c->jan_retention = 30 * 86400;
	c->jan_profiles = xstrdup("mp4,thumb");
	c->frames_fps = 1;
	c->frames_max = 100;
	c->web_max_side = WEB_SIDE;
	c->hls_nladder = hls_parse_ladder("360,720,1080", c->hls_ladder);
	conf_init_builtins(c);
}

void conf_apply_env(struct conf *c)
{
	const char *s;

	if ((s = getenv("MD_DB")) && *s) {
		free(c->db_url);
		c->db_url = xstrdup(s);
	}
	if ((s = getenv("MD_STORAGE")) && *s) {
		free(c->storage);
		c->storage = xstrdup(s);
	}
	if (!c->db_url || !c->storage || !c->s3.scratch) {
		char *home = md_home();
		if (!c->db_url)
			c->db_url = xstrfmt("sqlite:%s/memedroid.db", home);
		if (!c->storage)
			c->storage = xstrfmt("%s/storage", home);
		if (!c->s3.scratch)
			c->s3.scratch = xstrfmt("%s/scratch", home);
		free(home);
	}
}

int conf_reload(struct conf *c)
{
	struct conf nc;

	conf_init(&nc);
	if (conf_load(&nc, c->path)) {
		conf_release(&nc);
		return MD_EXIT_CONFIG;
	}
	conf_apply_env(&nc);
	free(nc.db_url);
	free(nc.storage);
	nc.db_url = c->db_url;
	nc.storage = c->storage;
	nc.log_format = c->log_format;
	nc.log_level = c->log_level;
	c->db_url = c->storage = NULL;
	conf_release(c);
	*c = nc;
	return 0;
}

void conf_release(struct conf *c)
{
	free(c->path);
	free(c->jwt_secret);
	free(c->db_url);
	free(c->storage);
	free(c->s3.endpoint);
	free(c->s3.region);
	free(c->s3.addressing);
	free(c->s3.access_key);
	if (c->s3.secret_key)
		explicit_bzero(c->s3.secret_key, strlen(c->s3.secret_key));
	free(c->s3.secret_key);
	if (c->s3.session_token)
		explicit_bzero(c->s3.session_token, strlen(c->s3.session_token));
	free(c->s3.session_token);
	free(c->s3.scratch);
	free(c->jan_profiles);
	for (int i = 0; i < c->nprofiles; i++)
		profile_release(&c->profiles[i]);
	free(c->profiles);
	memset(c, 0, sizeof(*c));
}

/* ---------- YAML: a small tree with line numbers ---------- */

enum ytype { Y_SCALAR, Y_MAP, Y_SEQ };

struct ynode {
	enum ytype type;
	int line;
	char *value;            /* scalars */
	int n;                  /* children; a map holds key, value pairs */
	struct ynode **kid;
};

static void ynode_free(struct ynode *y)
{
	if (!y)
		return;
	for (int i = 0; i < y->n; i++)
		ynode_free(y->kid[i]);
	free(y->kid);
	free(y->value);
	free(y);
}

static void ynode_add(struct ynode *y, struct ynode *k)
{
	y->kid = xrealloc(y->kid, (y->n + 1) * sizeof(*y->kid));
	y->kid[y->n++] = k;
}

/*
 * Limits on what a config file may be, so that no file can exhaust the
 * stack or the memory: the tree is built recursively, one level of C
 * recursion per level of YAML nesting, and libyaml itself slows down with
 * the nesting.  A real config is a few kilobytes, four levels deep.
 */
#define YAML_MAX_BYTES (1 << 20)
#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 100000

struct yparse {
	yaml_parser_t p;
	const char *file;
	int failed;
	int depth;              /* collections open */
	int nodes;              /* nodes made */
};

static struct ynode *yparse_node(struct yparse *yp, yaml_event_t *ev);

/* Reads children until the matching end event. */
static struct ynode *yparse_collection(struct yparse *yp, enum ytype type, int line)
{
	struct ynode *y;
	yaml_event_t ev;

	if (yp->depth >= YAML_MAX_DEPTH) {
		error("%s:%d: nested deeper than %d levels", yp->file, line, YAML_MAX_DEPTH);
		yp->failed = 1;
		return NULL;
	}
	yp->depth++;
	y = xcalloc(1, sizeof(*y));
	y->type = type;
	y->line = line;
	for (;;) {
		if (!yaml_parser_parse(&yp->p, &ev)) {
			ynode_free(y);
			return NULL;
		}
		if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			yp->depth--;
			return y;
		}
		struct ynode *k = yparse_node(yp, &ev);
		yaml_event_delete(&ev);
		if (!k) {
			ynode_free(y);
			return NULL;
		}
		ynode_add(y, k);
	}
}

static struct ynode *yparse_node(struct yparse *yp, yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;
	struct ynode *y;

	if (++yp->nodes > YAML_MAX_NODES) {
		error("%s:%d: more than %d values", yp->file, line, YAML_MAX_NODES);
		yp->failed = 1;
		return NULL;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		y = xcalloc(1, sizeof(*y));
		y->type = Y_SCALAR;
		y->line = line;
		y->value = xstrndup((const char *)ev->data.scalar.value,
				    ev->data.scalar.length);
		return y;
	case YAML_MAPPING_START_EVENT:
		return yparse_collection(yp, Y_MAP, line);
	case YAML_SEQUENCE_START_EVENT:
		return yparse_collection(yp, Y_SEQ, line);
	case YAML_ALIAS_EVENT:
		error("%s:%d: aliases are not supported", yp->file, line);
		yp->failed = 1;
		return NULL;
	default:
		error("%s:%d: unexpected YAML event", yp->file, line);
		yp->failed = 1;
		return NULL;
	}
}

/*
 * Parses len bytes of YAML (named file in messages) into a tree; a NULL
 * root for an empty document.  Returns 0, or -1 after logging
 * "FILE:LINE: what is wrong".
 */
static int yparse_buffer(const char *file, const char *buf, size_t len, struct ynode **root)
{
	struct yparse yp = { .file = file };
	yaml_event_t ev;
	int rc = -1;

	*root = NULL;
	if (len > YAML_MAX_BYTES) {
		error("%s: larger than %d bytes", file, YAML_MAX_BYTES);
		return -1;
	}
	if (memchr(buf, '\0', len)) {
		error("%s: holds a NUL byte", file);
		return -1;
	}
	if (!yaml_parser_initialize(&yp.p))
		return -1;
	yaml_parser_set_input_string(&yp.p, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&yp.p, &ev))
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		if (ev.type == YAML_MAPPING_START_EVENT ||
		    ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_SCALAR_EVENT ||
		    ev.type == YAML_ALIAS_EVENT) {
			if (*root) {
				error("%s:%d: only one YAML document is allowed", file,
				      (int)ev.start_mark.line + 1);
				yaml_event_delete(&ev);
				yp.failed = 1;
				break;
			}
			*root = yparse_node(&yp, &ev);
			if (!*root) {
				yaml_event_delete(&ev);
				break;
			}
		}
		yaml_event_delete(&ev);
	}
	if (rc && !yp.failed)
		error("%s:%d: %s", file, (int)yp.p.problem_mark.line + 1,
		      yp.p.problem ? yp.p.problem : "invalid YAML");
	yaml_parser_delete(&yp.p);
	if (rc) {
		ynode_free(*root);
		*root = NULL;
	}
	return rc;
}

/* The same for an open file, read whole first (up to the size limit). */
static int yparse_file(const char *file, FILE *f, struct ynode **root)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[8192];
	size_t n;
	int rc;

	*root = NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		sb_add(&sb, chunk, n);
		if (sb.len > YAML_MAX_BYTES)
			break;
	}
	if (ferror(f)) {
		error_errno("cannot read config '%s'", file);
		sb_release(&sb);
		return -1;
	}
	rc = yparse_buffer(file, sb.buf, sb.len, root);
	sb_release(&sb);
	return rc;
}

/* ---------- applying the tree ---------- */

struct capply {
	struct conf *c;
	const char *file;
};

static int bad(struct capply *a, const struct ynode *y, const char *key, const char *what)
{
	error("%s:%d: %s '%s'", a->file, y->line, what, key);
	return -1;
}

static int want_scalar(struct capply *a, const struct ynode *v, const char *key)
{
	if (v->type != Y_SCALAR)
		return bad(a, v, key, "expected a single value for");
	return 0;
}

static int set_string(struct capply *a, const struct ynode *v, const char *key, char **dst)
{
	if (want_scalar(a, v, key))
		return -1;
	free(*dst);
	*dst = xstrdup(v->value);
	return 0;
}

static int set_bool(struct capply *a, const struct ynode *v, const char *key, int *dst)
{
	if (want_scalar(a, v, key))
		return -1;
	if (!strcmp(v->value, "true") || !strcmp(v->value, "yes") || !strcmp(v->value, "on"))
		*dst = 1;
	else if (!strcmp(v->value, "false") || !strcmp(v->value, "no") || !strcmp(v->value, "off"))
		*dst = 0;
	else
		return bad(a, v, key, "expected true or false for");
	return 0;
}

/* A duration of at most max seconds (itself at most DURATION_MAX). */
static int set_duration_max(struct capply *a, const struct ynode *v, const char *key,
			    double max, const char *range, double *dst)
{
	double d;

	if (want_scalar(a, v, key))
		return -1;
	if (parse_duration(v->value, &d) || d > max) {
		char *what = xstrfmt("bad duration (%s, like 30s, 5m, 1h) for", range);
		bad(a, v, key, what);
		free(what);
		return -1;
	}
	*dst = d;
	return 0;
}

static int set_duration(struct capply *a, const struct ynode *v, const char *key, double *dst)
{
	return set_duration_max(a, v, key, DURATION_MAX, "0s to 36525d", dst);
}

/*
 * A duration with a floor: one that means nothing below it (a lease that
 * expires before its first renewal, a timeout that stops every job at
 * once, a poll that spins).  0 is also taken when off_ok (the check
 * turned off).  name is the key's full name, for the message.
 */
struct dur_bound {
	const char *name;       /* "worker.lease" */
	double min, max;
	const char *min_text;   /* "5s" */
	const char *range;      /* "5s to 36525d" */
	int off_ok;             /* 0 accepted: the check is off */
};

static int set_duration_bound(struct capply *a, const struct ynode *v, const char *key,
			      const struct dur_bound *b, double *dst)
{
	double d = 0;

	if (set_duration_max(a, v, key, b->max, b->range, &d))
		return -1;
	if (d < b->min && !(b->off_ok && d == 0)) {
		error("%s:%d: %s %s is below its minimum of %s%s", a->file, v->line, b->name,
		      v->value, b->min_text, b->off_ok ? " (0 turns it off)" : "");
		return -1;
	}
	*dst = d;
	return 0;
}

static const struct dur_bound
	lease_bound = { "worker.lease", LEASE_MIN, DURATION_MAX, "5s", "5s to 36525d", 0 },
	timeout_bound = { "worker.job_timeout", 1, DURATION_MAX, "1s", "1s to 36525d", 0 },
	stall_bound = { "worker.stall_timeout", 5, DURATION_MAX, "5s", "0s, or 5s to 36525d", 1 },
	poll_bound = { "worker.poll_interval", 0.1, 86400, "100ms", "100ms to 1d", 0 },
	probe_bound = { "limits.probe_timeout", 1, DURATION_MAX, "1s", "1s to 36525d", 0 };

static int set_size(struct capply *a, const struct ynode *v, const char *key, uint64_t *dst)
{
	if (want_scalar(a, v, key))
		return -1;
	if (parse_size(v->value, dst))
		return bad(a, v, key, "bad size (like 512MiB) for");
	return 0;
}

/* A size, or "unlimited" (the same as 0), or "auto" (the default, aut). */
static int set_limit(struct capply *a, const struct ynode *v, const char *key, uint64_t *dst,
		     uint64_t aut)
{
	if (v->type == Y_SCALAR && !strcmp(v->value, "unlimited")) {
		*dst = 0;
		return 0;
	}
	if (v->type == Y_SCALAR && !strcmp(v->value, "auto")) {
		*dst = aut;
		return 0;
	}
	if (set_size(a, v, key, dst))
		return -1;
	if (*dst == MEMORY_AUTO)
		*dst -= 1;
	return 0;
}

static int set_int(struct capply *a, const struct ynode *v, const char *key,
		   long long min, long long max, long long *dst)
{
	if (want_scalar(a, v, key))
		return -1;
	if (parse_int(v->value, min, max, dst))
		return bad(a, v, key, "bad number for");
	return 0;
}

#define SET_INT(field, min, max) do { \
	long long t_; \
	if (set_int(a, v, k, min, max, &t_)) return -1; \
	field = t_; \
} while (0)

/* An octal umask that leaves the owner every right: "027", "0022", "7". */
static int set_umask(struct capply *a, const struct ynode *v, const char *key, int *dst)
{
	const char *s = v->value;
	int m = 0;

	if (want_scalar(a, v, key))
		return -1;
	for (; *s >= '0' && *s <= '7' && s - v->value < 4; s++)
		m = m * 8 + (*s - '0');
	if (!v->value[0] || *s || m > 0777 || (m & 0700))
		return bad(a, v, key, "not an octal umask that leaves the owner rwx (like 027) for");
	*dst = m;
	return 0;
}

static int apply_storage(struct capply *a, const struct ynode *v, const char *k)
{
	struct storage_conf *s3 = &a->c->s3;

	if (!strcmp(k, "path") || !strcmp(k, "url"))
		return set_string(a, v, k, &a->c->storage);
	if (!strcmp(k, "keep_originals"))
		return set_bool(a, v, k, &a->c->keep_originals);
	if (!strcmp(k, "umask"))
		return set_umask(a, v, k, &a->c->umask);
	if (!strcmp(k, "endpoint"))
		return set_string(a, v, k, &s3->endpoint);
	if (!strcmp(k, "region"))
		return set_string(a, v, k, &s3->region);
	if (!strcmp(k, "access_key_id"))
		return set_string(a, v, k, &s3->access_key);
	if (!strcmp(k, "secret_access_key"))
		return set_string(a, v, k, &s3->secret_key);
	if (!strcmp(k, "session_token"))
		return set_string(a, v, k, &s3->session_token);
	if (!strcmp(k, "scratch"))
		return set_string(a, v, k, &s3->scratch);
	if (!strcmp(k, "addressing")) {
		if (want_scalar(a, v, k))
			return -1;
		if (strcmp(v->value, "path") && strcmp(v->value, "virtual"))
			return bad(a, v, k, "not path or virtual:");
		return set_string(a, v, k, &s3->addressing);
	}
	if (!strcmp(k, "part_size")) {
		if (set_size(a, v, k, &s3->part_size))
			return -1;
		if (s3->part_size < STORAGE_PART_MIN || s3->part_size > STORAGE_PART_MAX)
			return bad(a, v, k, "not 5MiB to 5GiB:");
		return 0;
	}
	if (!strcmp(k, "retries"))
		SET_INT(s3->retries, 0, 100);
	else if (!strcmp(k, "timeout"))
		return set_duration_max(a, v, k, 3600, "1s to 1h", &s3->timeout);
	else
		return bad(a, v, k, "unknown key");
	return 0;
}

static int apply_log(struct capply *a, const struct ynode *v, const char *k)
{
	if (!strcmp(k, "format")) {
		if (want_scalar(a, v, k))
			return -1;
		if (log_parse_format(v->value, &a->c->log_format))
			return bad(a, v, k, "expected human, text or json for");
		return 0;
	}
	if (!strcmp(k, "level")) {
		if (want_scalar(a, v, k))
			return -1;
		if (log_parse_level(v->value, &a->c->log_level))
			return bad(a, v, k, "expected error, warn, info or debug for");
		return 0;
	}
	return bad(a, v, k, "unknown key");
}

static int apply_worker(struct capply *a, const struct ynode *v, const char *k)
{
	struct conf *c = a->c;

	if (!strcmp(k, "jobs")) {
		if (v->type == Y_SCALAR && !strcmp(v->value, "auto")) {
			c->worker_jobs = 0;
			return 0;
		}
		SET_INT(c->worker_jobs, 1, 1024);
		return 0;
	}
	if (!strcmp(k, "threads")) { SET_INT(c->worker_threads, 1, 256); return 0; }
	if (!strcmp(k, "batch")) { SET_INT(c->worker_batch, 1, 512); return 0; }
	if (!strcmp(k, "max_attempts")) { SET_INT(c->max_attempts, 1, 1000); return 0; }
	if (!strcmp(k, "nice")) { SET_INT(c->nice, 0, 19); return 0; }
	if (!strcmp(k, "lease")) return set_duration_bound(a, v, k, &lease_bound, &c->lease);
	if (!strcmp(k, "heartbeat"))
		return set_duration_max(a, v, k, 3600, "0s to 1h", &c->heartbeat);
	if (!strcmp(k, "job_timeout"))
		return set_duration_bound(a, v, k, &timeout_bound, &c->job_timeout);
	if (!strcmp(k, "stall_timeout"))
		return set_duration_bound(a, v, k, &stall_bound, &c->stall_timeout);
	if (!strcmp(k, "retry_base")) return set_duration(a, v, k, &c->retry_base);
	if (!strcmp(k, "retry_max")) return set_duration(a, v, k, &c->retry_max);
	if (!strcmp(k, "poll_interval"))
		return set_duration_bound(a, v, k, &poll_bound, &c->poll_interval);
	if (!strcmp(k, "grace")) return set_duration(a, v, k, &c->grace);
	if (!strcmp(k, "cpu_limit")) {
		if (v->type == Y_SCALAR && !strcmp(v->value, "auto")) {
			c->rlimit_cpu = -1;
			return 0;
		}
		if (v->type == Y_SCALAR && !strcmp(v->value, "unlimited")) {
			c->rlimit_cpu = 0;
			return 0;
		}
		return set_duration(a, v, k, &c->rlimit_cpu);
	}
	if (!strcmp(k, "memory_limit"))
		return set_limit(a, v, k, &c->rlimit_as, MEMORY_AUTO);
	if (!strcmp(k, "file_size_limit"))
		return set_limit(a, v, k, &c->rlimit_fsize, FILE_SIZE_LIMIT);
	if (!strcmp(k, "sandbox")) return set_bool(a, v, k, &c->sandbox);
	return bad(a, v, k, "unknown key");
}

static int apply_janitor(struct capply *a, const struct ynode *v, const char *k)
{
	struct conf *c = a->c;

	if (!strcmp(k, "stuck_after")) return set_duration(a, v, k, &c->jan_stuck_after);
	if (!strcmp(k, "pending_after")) return set_duration(a, v, k, &c->jan_pending_after);
	if (!strcmp(k, "orphan_grace")) return set_duration(a, v, k, &c->jan_orphan_grace);
	if (!strcmp(k, "retention")) return set_duration(a, v, k, &c->jan_retention);
	if (!strcmp(k, "profiles")) return set_string(a, v, k, &c->jan_profiles);
	return bad(a, v, k, "unknown key");
}

static int apply_limits(struct capply *a, const struct ynode *v, const char *k)
{
	struct conf *c = a->c;

	if (!strcmp(k, "bytes")) return set_size(a, v, k, &c->max_bytes);
	if (!strcmp(k, "duration")) return set_duration(a, v, k, &c->max_duration);
	if (!strcmp(k, "probe_timeout"))
		return set_duration_bound(a, v, k, &probe_bound, &c->probe_timeout);
	if (!strcmp(k, "width")) { SET_INT(c->max_width, 1, 1 << 20); return 0; }
	if (!strcmp(k, "height")) { SET_INT(c->max_height, 1, 1 << 20); return 0; }
	if (!strcmp(k, "frames")) { SET_INT(c->max_frames, 1, (long long)1 << 40); return 0; }
	if (!strcmp(k, "pixels_frames")) {
		long long t;
		if (set_int(a, v, k, 1, (long long)1 << 62, &t))
			return -1;
		c->max_pixels_frames = (double)t;
		return 0;
	}
	return bad(a, v, k, "unknown key");
}

/* frames: and web:, the settings of those built-in profiles (frames.h, web.h) */
static int apply_frames(struct capply *a, const struct ynode *v, const char *k)
{
	struct conf *c = a->c;

	if (!strcmp(k, "fps")) {
		const char *unit;
		double d;
		int frac;

		if (want_scalar(a, v, k))
			return -1;
		if (parse_decimal(v->value, &d, &unit, &frac) || *unit || d < 0.01 || d > 60)
			return bad(a, v, k, "bad rate (0.01 to 60 frames a second) for");
		c->frames_fps = d;
		return 0;
	}
	if (!strcmp(k, "max")) { SET_INT(c->frames_max, 1, FRAMES_MAX_MAX); return 0; }
	return bad(a, v, k, "unknown key");
}

static int apply_web(struct capply *a, const struct ynode *v, const char *k)
{
	struct conf *c = a->c;

	if (!strcmp(k, "max_side")) { SET_INT(c->web_max_side, 16, 16384); return 0; }
	if (!strcmp(k, "format")) {
		if (want_scalar(a, v, k))
			return -1;
		if (strcmp(v->value, "jpeg") && strcmp(v->value, "webp"))
			return bad(a, v, k, "expected jpeg or webp for");
		c->web_webp = !strcmp(v->value, "webp");
		return 0;
	}
	return bad(a, v, k, "unknown key");
}

static int apply_thumb(struct capply *a, const struct ynode *v, const char *k)
{
	if (!strcmp(k, "format")) {
		if (want_scalar(a, v, k))
			return -1;
		if (strcmp(v->value, "jpeg") && strcmp(v->value, "webp"))
			return bad(a, v, k, "expected jpeg or webp for");
		a->c->thumb_webp = !strcmp(v->value, "webp");
		return 0;
	}
	return bad(a, v, k, "unknown key");
}

/* The built-in web profile checks its output against web.max_side. */
static void apply_builtin_settings(struct conf *c)
{
	for (int i = 0; i < c->nprofiles; i++)
		if (c->profiles[i].hook == HOOK_WEB)
			c->profiles[i].max_side = c->web_max_side;
}

/*
 * The input rule of an ffmpeg or ffprobe step: it reads the job's media and
 * nothing else, as "-i {input}" (ffmpeg: exactly one; ffprobe: "{input}" as
 * its operand or after "-i"), so that the worker's protections (local files
 * only, the probed demuxer, the pixel cap) apply to every input.  "{input}"
 * anywhere else ("file:{input}", "movie={input}") is refused too.  Other
 * programs are not parsed: the sandbox bounds what they read.
 */
static int check_step(struct capply *a, const struct ynode *st, char **argv, const char *name)
{
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	int ffmpeg = !strcmp(prog, "ffmpeg"), ffprobe = !strcmp(prog, "ffprobe");
	int ninput = 0;
	const char *f = a->file;

	if (!ffmpeg && !ffprobe)
		return 0;
	for (int m = 1; argv[m]; m++) {
		const struct ynode *at = st->kid[m];
		if (!strcmp(argv[m], "-i")) {
			if (!argv[m + 1] || strcmp(argv[m + 1], "{input}")) {
				error("%s:%d: profile '%s': %s may read only '-i {input}', "
				      "not '-i %s'", f, at->line, name, prog,
				      argv[m + 1] ? argv[m + 1] : "");
				return -1;
			}
			if (ninput++) {
				error("%s:%d: profile '%s': %s may read one input, '-i {input}'",
				      a->file, at->line, name, prog);
				return -1;
			}
			m++;
		} else if (ffprobe && !strcmp(argv[m], "{input}")) {
			if (ninput++) {
				error("%s:%d: profile '%s': ffprobe may read one input, '{input}'",
				      a->file, at->line, name);
				return -1;
			}
		} else if (strstr(argv[m], "{input}")) {
			error("%s:%d: profile '%s': '{input}' may appear only as '-i {input}' "
			      "in %s, not in '%s'", a->file, at->line, name, prog, argv[m]);
			return -1;
		}
	}
	if (!ninput) {
		error("%s:%d: profile '%s': %s must read '-i {input}'", f, st->line, name, prog);
		return -1;
	}
	return 0;
}

/* A list of argv lists, each checked by check_step, added to *steps. */
static int apply_steps(struct capply *a, const struct ynode *v, const char *k, const char *name,
		       int *nsteps, char ****steps)
{
	if (v->type != Y_SEQ)
		return bad(a, v, k, "expected a list of argv lists for");
	for (int j = 0; j < v->n; j++) {
		const struct ynode *st = v->kid[j];
		if (st->type != Y_SEQ || !st->n)
			return bad(a, st, k, "expected a non-empty argv list in");
		char **argv = xcalloc(st->n + 1, sizeof(*argv));
		*steps = xrealloc(*steps, (*nsteps + 1) * sizeof(**steps));
		(*steps)[(*nsteps)++] = argv;
		for (int m = 0; m < st->n; m++) {
			if (st->kid[m]->type != Y_SCALAR)
				return bad(a, st->kid[m], k, "expected strings in");
			argv[m] = xstrdup(st->kid[m]->value);
		}
		if (check_step(a, st, argv, name))
			return -1;
	}
	return 0;
}

/* The kinds a profile runs for: a list of image, animated, video. */
static int apply_kinds(struct capply *a, const struct ynode *v, const char *k, unsigned *kinds)
{
	if (v->type != Y_SEQ)
		return bad(a, v, k, "expected a list of kinds for");
	*kinds = 0;
	for (int j = 0; j < v->n; j++) {
		unsigned b = v->kid[j]->type == Y_SCALAR ? kind_from_name(v->kid[j]->value) : 0;
		if (!b)
			return bad(a, v->kid[j], k, "expected image, animated or video in");
		*kinds |= b;
	}
	return 0;
}

/* One key k of profile name, its value v, into tmp; *kind is set by
 * output_kind.  -1 after saying what is wrong. */
static int apply_profile_key(struct capply *a, const struct ynode *kn, const struct ynode *v,
			     const char *name, struct profile *tmp, int *kind)
{
	const char *k = kn->value ? kn->value : "?";
	long long t;

	if (!strcmp(k, "kinds"))
		return apply_kinds(a, v, k, &tmp->kinds);
	if (!strcmp(k, "queue"))
		return set_string(a, v, k, &tmp->queue);
	if (!strcmp(k, "output")) {
		if (set_string(a, v, k, &tmp->output))
			return -1;
		if (strchr(tmp->output, '/') || tmp->output[0] == '.' || !*tmp->output)
			return bad(a, v, k, "output must be a plain file name for");
		return 0;
	}
	if (!strcmp(k, "output_kind")) {
		*kind = v->type == Y_SCALAR ? output_kind_from_name(v->value) : -1;
		return *kind < 0 ? bad(a, v, k, "expected video, image, json, zip, hls or file for") : 0;
	}
	if (!strcmp(k, "max_side") || !strcmp(k, "width")) {
		if (set_int(a, v, k, 2, 65536, &t))
			return -1;
		*(k[0] == 'w' ? &tmp->width : &tmp->max_side) = (int)t;
		return 0;
	}
	if (!strcmp(k, "max_attempts")) {
		if (set_int(a, v, k, 1, 1000, &t))
			return -1;
		tmp->max_attempts = (int)t;
		return 0;
	}
	if (!strcmp(k, "placeholder"))
		return set_bool(a, v, k, &tmp->placeholder);
	if (!strcmp(k, "steps"))
		return apply_steps(a, v, k, name, &tmp->nsteps, &tmp->steps);
	if (!strcmp(k, "passthrough"))
		return apply_steps(a, v, k, name, &tmp->npass, &tmp->pass);
	if (!strcmp(k, "passthrough_max_size") || !strcmp(k, "passthrough_max_kbps")) {
		if (set_int(a, v, k, 0, 1 << 20, &t))
			return -1;
		*(k[16] == 's' ? &tmp->pass_max_size : &tmp->pass_max_kbps) = (int)t;
		return 0;
	}
	return bad(a, kn, k, "unknown key");
}

static int apply_profile(struct capply *a, const struct ynode *pv, const char *name)
{
	struct profile tmp = { 0 };
	int kind = -1;

	if (pv->type != Y_MAP)
		return bad(a, pv, name, "expected a mapping for profile");
	for (const char *s = name; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
			return bad(a, pv, name, "profile names are [a-z0-9_-], not");
	tmp.kinds = MD_KIND_ALL;
	for (int i = 0; i + 1 < pv->n; i += 2)
		if (apply_profile_key(a, pv->kid[i], pv->kid[i + 1], name, &tmp, &kind))
			goto out;
	if (kind >= 0 && !tmp.output) {
		bad(a, pv, name, "output_kind without output in profile");
		goto out;
	}
	tmp.output_kind = kind >= 0 ? (enum output_kind)kind : output_kind_of_file(tmp.output);
	struct profile *p = profile_slot(a->c, name);
	free(p->name);
	*p = tmp;
	p->name = xstrdup(name);
	if (!p->queue)
		p->queue = xstrdup("default");
	return 0;
out:
	tmp.name = NULL;
	profile_release(&tmp);
	return -1;
}

static int apply_auth(struct capply *a, const struct ynode *v, const char *k)
{
	if (!strcmp(k, "jwt_secret")) {
		const char *weak;

		if (set_string(a, v, k, &a->c->jwt_secret))
			return -1;
		if (strlen(a->c->jwt_secret) < JWT_SECRET_MIN)
			return bad(a, v, k, "too short (32 characters at least) for");
		/* a placeholder still signs tokens: said, not refused */
		if ((weak = jwt_secret_weakness(a->c->jwt_secret)))
			warning("%s:%d: weak auth.jwt_secret (%s): use a random one, such as "
				"the output of 'openssl rand -base64 48'", a->file, v->line, weak);
		return 0;
	}
	if (!strcmp(k, "token_ttl"))
		return set_duration(a, v, k, &a->c->token_ttl);
	return bad(a, v, k, "unknown key");
}

/* hls.ladder: "360,720,1080" or a list of numbers. */
static int apply_hls(struct capply *a, const struct ynode *v, const char *k)
{
	struct strbuf t = STRBUF_INIT;
	int n;

	if (strcmp(k, "ladder"))
		return bad(a, v, k, "unknown key");
	if (v->type == Y_SCALAR)
		sb_adds(&t, v->value);
	for (int j = 0; v->type == Y_SEQ && j < v->n; j++)
		sb_addf(&t, "%s%s", j ? "," : "", v->kid[j]->type == Y_SCALAR ? v->kid[j]->value : "");
	n = v->type == Y_MAP ? -1 : hls_parse_ladder(t.buf, a->c->hls_ladder);
	sb_release(&t);
	if (n < 0)
		return bad(a, v, k, "expected up to 8 even sizes from 2 to 8192 (360,720) for");
	a->c->hls_nladder = n;
	return 0;
}

typedef int (*section_fn)(struct capply *, const struct ynode *, const char *);

static int apply_section(struct capply *a, const struct ynode *sec, const char *name, section_fn fn)
{
	if (sec->type != Y_MAP)
		return bad(a, sec, name, "expected a mapping for");
	for (int i = 0; i + 1 < sec->n; i += 2) {
		const struct ynode *k = sec->kid[i];
		if (k->type != Y_SCALAR)
			return bad(a, k, name, "expected plain keys in");
		if (fn(a, sec->kid[i + 1], k->value))
			return -1;
	}
	return 0;
}

static int apply_root(struct capply *a, const struct ynode *root)
{
	if (root->type != Y_MAP)
		return bad(a, root, "(top level)", "expected a mapping at");
	for (int i = 0; i + 1 < root->n; i += 2) {
		const struct ynode *kn = root->kid[i], *v = root->kid[i + 1];
		const char *k = kn->type == Y_SCALAR ? kn->value : "?";
		int rc;

		if (!strcmp(k, "database") || !strcmp(k, "db"))
			rc = set_string(a, v, k, &a->c->db_url);
		else if (!strcmp(k, "storage"))
			rc = v->type == Y_SCALAR ? set_string(a, v, k, &a->c->storage)
						 : apply_section(a, v, k, apply_storage);
		else if (!strcmp(k, "log"))
			rc = apply_section(a, v, k, apply_log);
		else if (!strcmp(k, "worker"))
			rc = apply_section(a, v, k, apply_worker);
		else if (!strcmp(k, "limits"))
			rc = apply_section(a, v, k, apply_limits);
		else if (!strcmp(k, "janitor"))
			rc = apply_section(a, v, k, apply_janitor);
		else if (!strcmp(k, "profiles"))
			rc = apply_section(a, v, k, apply_profile);
		else if (!strcmp(k, "auth"))
			rc = apply_section(a, v, k, apply_auth);
		else if (!strcmp(k, "frames"))
			rc = apply_section(a, v, k, apply_frames);
		else if (!strcmp(k, "web"))
			rc = apply_section(a, v, k, apply_web);
		else if (!strcmp(k, "thumb"))
			rc = apply_section(a, v, k, apply_thumb);
		else if (!strcmp(k, "hls"))
			rc = apply_section(a, v, k, apply_hls);
		else
			rc = bad(a, kn, k, "unknown key");
		if (rc)
			return -1;
	}
	apply_builtin_settings(a->c);
	return 0;
}

/* Does a database URL or keyword string carry a password? */
static int url_has_password(const char *url)
{
	const char *p;

	if (strstr(url, "password="))
		return 1;
	if ((p = strstr(url, "://"))) {
		const char *at = strchr(p + 3, '@'), *colon = strchr(p + 3, ':');
		return at && colon && colon < at;
	}
	return 0;
}

static int conf_read(struct conf *c, const char *path)
{
	struct ynode *root = NULL;
	struct stat st;
	FILE *f;
	int rc;

	f = fopen(path, "r");
	if (!f) {
		error_errno("cannot open config '%s'", path);
		return MD_EXIT_CONFIG;
	}
	/* a secret in a file its group or others can read draws a warning */
	int others = !fstat(fileno(f), &st) && (st.st_mode & (S_IRGRP | S_IROTH));
	rc = yparse_file(path, f, &root);
	fclose(f);
	if (rc)
		return MD_EXIT_CONFIG;
	char *before = c->db_url ? xstrdup(c->db_url) : NULL;
	char *had_secret = c->jwt_secret ? xstrdup(c->jwt_secret) : NULL;
	int had_s3 = c->s3.secret_key || c->s3.session_token;
	if (root) {
		struct capply a = { c, path };
		/* an empty scalar document is an empty file */
		if (!(root->type == Y_SCALAR && !*root->value))
			rc = apply_root(&a, root);
		ynode_free(root);
	}
	if (!rc && others && c->db_url && (!before || strcmp(before, c->db_url)) &&
	    url_has_password(c->db_url))
		warning("config '%s' holds a database password and is readable by others "
			"than its owner (mode %04o)", path, (unsigned)(st.st_mode & 07777));
	if (!rc && others && c->jwt_secret && (!had_secret || strcmp(had_secret, c->jwt_secret)))
		warning("config '%s' holds auth.jwt_secret and is readable by others "
			"than its owner (mode %04o)", path, (unsigned)(st.st_mode & 07777));
	if (!rc && others && !had_s3 && (c->s3.secret_key || c->s3.session_token))
		warning("config '%s' holds storage.secret_access_key or storage.session_token and "
			"is readable by others than its owner (mode %04o)", path,
			(unsigned)(st.st_mode & 07777));
	free(had_secret);
	free(before);
	if (rc)
		return MD_EXIT_CONFIG;
	free(c->path);
	c->path = xstrdup(path);
	return 0;
}

int conf_load_buffer(struct conf *c, const char *name, const char *buf, size_t len)
{
	struct ynode *root;
	int rc;

	if (yparse_buffer(name, buf, len, &root))
		return MD_EXIT_CONFIG;
	if (!root)
		return 0;
	struct capply a = { c, name };
	rc = root->type == Y_SCALAR && !*root->value ? 0 : apply_root(&a, root);
	ynode_free(root);
	return rc ? MD_EXIT_CONFIG : 0;
}

int conf_load(struct conf *c, const char *flag_path)
{
	const char *s;
	char *p;
	int rc;

	if (flag_path)
		return conf_read(c, flag_path);
	if ((s = getenv("MD_CONFIG")) && *s)
		return conf_read(c, s);
	if ((s = getenv("XDG_CONFIG_HOME")) && *s)
		p = xstrfmt("%s/memedroid/config.yaml", s);
	else if ((s = getenv("HOME")) && *s)
		p = xstrfmt("%s/.config/memedroid/config.yaml", s);
	else
		p = NULL;
	if (p && !access(p, F_OK)) {
		rc = conf_read(c, p);
		free(p);
		return rc;
	}
	free(p);
	if ((s = getenv("MD_CONFIG_NOSYSTEM")) && *s && strcmp(s, "0"))
		return 0;
	if (!(s = getenv("MD_CONFIG_SYSTEM")) || !*s)
		s = CONF_SYSTEM_FILE;
	if (!access(s, F_OK))
		return conf_read(c, s);
	return 0;
}
