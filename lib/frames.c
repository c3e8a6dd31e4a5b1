#include "frames.h"
#include "file.h"
#include "pack.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void frames_plan(const struct conf *c, double duration, struct frames_plan *fp)
{
	fp->fps = c->frames_fps;
	fp->max = c->frames_max;
	/*
	 * A source longer than max intervals: the rate lowered so that max
	 * frames span all of it.  Rounded down, to six digits, so that
	 * floor(t * fps) stays below max for every t before the end.
	 */
	if (duration > 0 && duration * fp->fps > fp->max)
		fp->fps = floor(fp->max / duration * 1e6) / 1e6;
	if (fp->fps <= 0)
		fp->fps = 1e-6;
	xsnprintf(fp->fps_s, sizeof(fp->fps_s), "%.6g", fp->fps);
	xsnprintf(fp->max_s, sizeof(fp->max_s), "%d", fp->max);
	fp->vars[0] = "fps";
	fp->vars[1] = fp->fps_s;
	fp->vars[2] = "max_frames";
	fp->vars[3] = fp->max_s;
	fp->vars[4] = NULL;
}

/*
 * N of a name "pts-N.jpg" into *pts, or -1 for another name.  N may be
 * negative: a frame the container shows before its start (an edit list,
 * reordered frames).
 */
static int frame_pts(const char *name, long long *pts)
{
	const char *d = name + 4;
	int neg = *d == '-';
	size_t n;

	d += neg;
	if (strncmp(name, "pts-", 4) || !(n = strspn(d, "0123456789")) || n > 12 ||
	    strcmp(d + n, ".jpg"))
		return -1;
	*pts = 0;
	for (size_t i = 0; i < n; i++)
		*pts = *pts * 10 + (d[i] - '0');
	if (neg)
		*pts = -*pts;
	return 0;
}

static int by_pts(const void *a, const void *b)
{
	long long x = 0, y = 0;

	frame_pts(*(char *const *)a, &x);
	frame_pts(*(char *const *)b, &y);
	return (x > y) - (x < y);
}

/* The frames' names in workdir, in the order of their times; *n of them. */
static char **frame_names(const char *workdir, size_t *n, struct strbuf *why)
{
	size_t all, k = 0;
	char **names = list_dir(workdir, 1, &all);
	long long pts;

	if (!names) {
		sb_addf(why, "cannot list '%s': %s", workdir, strerror(errno));
		return NULL;
	}
	for (size_t i = 0; i < all; i++)
		if (!frame_pts(names[i], &pts))
			names[k++] = names[i];
		else
			free(names[i]);
	qsort(names, k, sizeof(*names), by_pts);
	*n = k;
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* ',"frames":N,"fps":F,"times":[...]' of the frames names[0..n). */
static void add_facts(const struct frames_plan *fp, char **names, size_t n, struct strbuf *facts)
{
	long long pts = 0;

	sb_addf(facts, ",\"frames\":%zu,\"fps\":%s,\"times\":[", n, fp->fps_s);
	for (size_t i = 0; i < n; i++) {
		frame_pts(names[i], &pts);
		/* one shown before the start is shown at it */
		sb_addf(facts, "%s%.10g", i ? "," : "", pts > 0 ? (double)pts / 1000 : 0.0);
	}
	sb_addch(facts, ']');
}

int frames_pack(const struct frames_plan *fp, const char *workdir, const char *zip,
		struct strbuf *facts, struct strbuf *why)
{
	size_t n;
	char **names = frame_names(workdir, &n, why);
	struct pack_entry *e;
	int rc = -1;

	if (!names)
		return -1;
	if (!n || n > (size_t)fp->max) {
		/* what ffmpeg made of the input: trying again makes the same */
		if (n)
			sb_addf(why, "%zu frames, more than %d", n, fp->max);
		else
			sb_adds(why, "no frame");
		free_names(names, n);
		return 1;
	}
	e = xcalloc(n, sizeof(*e));
	for (size_t i = 0; i < n; i++) {
		e[i].path = xstrfmt("%s/%s", workdir, names[i]);
		e[i].name = xstrfmt("frame-%04zu.jpg", i + 1);
	}
	if (!pack_zip(zip, e, (int)n, why)) {
		add_facts(fp, names, n, facts);
		rc = 0;
	}
	for (size_t i = 0; i < n; i++) {
		free((char *)e[i].path);
		free((char *)e[i].name);
	}
	free(e);
	free_names(names, n);
	return rc;
}

int jpeg_size(const unsigned char *d, size_t n, int *w, int *h)
{
	size_t i = 2;

	if (n < 4 || d[0] != 0xff || d[1] != 0xd8)
		return -1;
	while (i + 4 <= n) {
		unsigned m = d[i + 1], len = (unsigned)d[i + 2] << 8 | d[i + 3];
		if (d[i] != 0xff)
			return -1;
		if (m == 0xff) {        /* fill byte */
			i++;
			continue;
		}
		/* SOF0..SOF15, but DHT (c4), JPG (c8) and DAC (cc) */
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
			if (i + 9 > n)
				return -1;
			*h = d[i + 5] << 8 | d[i + 6];
			*w = d[i + 7] << 8 | d[i + 8];
			return *w > 0 && *h > 0 ? 0 : -1;
		}
		if (m == 0xda || m == 0xd9 || len < 2)  /* scan or end first */
			return -1;
		i += 2 + len;
	}
	return -1;
}

struct frames_check {
	int max, max_side;
};

static int check_entry(void *arg, int i, const char *name, const unsigned char *data,
		       size_t len, struct strbuf *why)
{
	const struct frames_check *fc = arg;
	char want[32];
	int w, h;

	if (i >= fc->max) {
		sb_addf(why, "more than %d frames", fc->max);
		return -1;
	}
	xsnprintf(want, sizeof(want), "frame-%04d.jpg", i + 1);
	if (strcmp(name, want)) {
		sb_addf(why, "entry %d is '%s', not '%s'", i + 1, name, want);
		return -1;
	}
	if (jpeg_size(data, len, &w, &h)) {
		sb_addf(why, "'%s' is not a JPEG", name);
		return -1;
	}
	if (w > fc->max_side || h > fc->max_side) {
		sb_addf(why, "'%s' is %dx%d, larger than %d on its long side", name, w, h,
			fc->max_side);
		return -1;
	}
	return 0;
}

int frames_verify(const char *zip, int max, int max_side, struct strbuf *why)
{
	struct frames_check fc = { max, max_side };
	int n = pack_each(zip, (size_t)64 << 20, check_entry, &fc, why);

	if (n < 0)
		return -1;
	if (!n) {
		sb_adds(why, "no frame in the archive");
		return -1;
	}
	return 0;
}
