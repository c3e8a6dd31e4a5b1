#include "web.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int web_has_alpha(const char *f)
{
	static const char *const marks[] = {
		"rgba", "bgra", "argb", "abgr", "yuva", "ya8", "ya16", "gbrap", "pal8",
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (!strncmp(f, marks[i], strlen(marks[i])))
			return 1;
	return 0;
}

void web_plan(const struct conf *c, const struct source *src, struct web_plan *wp)
{
	int alpha = web_has_alpha(src->pix_fmt);
	const char *range = "pc", *fmt, *quality = "3";

	if (c->web_webp) {
		wp->output = "web.webp";
		range = "tv";
		fmt = alpha ? "yuva420p" : "yuv420p";
		quality = "80";         /* libwebp reads -q:v as its 0-100 quality */
	} else if (alpha) {
		wp->output = "web.png";
		fmt = "rgba";
	} else {
		wp->output = "web.jpg";
		fmt = "yuvj420p";
	}
	xsnprintf(wp->side, sizeof(wp->side), "%d", c->web_max_side);
	const char *vars[] = {
		"max_side", wp->side, "range", range, "pix_fmt", fmt, "quality", quality, NULL
	};
	memcpy(wp->vars, vars, sizeof(vars));
}

void thumb_plan(const struct conf *c, const struct source *src, struct web_plan *wp)
{
	int webp = c->thumb_webp;
	const char *vars[] = {
		"range", webp ? "tv" : "pc",
		"pix_fmt", !webp ? "yuvj420p" : web_has_alpha(src->pix_fmt) ? "yuva420p" : "yuv420p",
		"quality", webp ? "75" : "4", NULL
	};

	wp->output = webp ? "thumb.webp" : "thumb.jpg";
	wp->side[0] = '\0';
	memcpy(wp->vars, vars, sizeof(vars));
}

static unsigned be32(const unsigned char *p)
{
	return (unsigned)p[0] << 24 | (unsigned)p[1] << 16 | (unsigned)p[2] << 8 | p[3];
}

static unsigned le32(const unsigned char *p)
{
	return (unsigned)p[3] << 24 | (unsigned)p[2] << 16 | (unsigned)p[1] << 8 | p[0];
}

/* The segments before the first scan: no APP1 (EXIF, XMP), no APP13 (IPTC). */
static int jpeg_clean(const unsigned char *d, size_t n, struct strbuf *why)
{
	for (size_t i = 2; i + 4 <= n;) {
		unsigned m = d[i + 1], len = (unsigned)d[i + 2] << 8 | d[i + 3];
		if (d[i] != 0xff || m == 0xda || m == 0xd9)
			return 0;
		if (m == 0xff) {
			i++;
			continue;
		}
		if (m == 0xe1 || m == 0xed) {
			sb_addf(why, "metadata left in the JPEG (APP%u)", m - 0xe0);
			return -1;
		}
		i += 2 + len;
	}
	return 0;
}

static int png_clean(const unsigned char *d, size_t n, struct strbuf *why)
{
	static const char *const bad[] = { "eXIf", "tEXt", "zTXt", "iTXt" };

	for (size_t i = 8; i + 8 <= n;) {
		size_t len = be32(d + i);
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			if (!memcmp(d + i + 4, bad[k], 4)) {
				sb_addf(why, "metadata left in the PNG (%s)", bad[k]);
				return -1;
			}
		if (len > n - i - 8)
			break;
		i += 12 + len;
	}
	return 0;
}

static int webp_clean(const unsigned char *d, size_t n, struct strbuf *why)
{
	for (size_t i = 12; i + 8 <= n;) {
		size_t len = le32(d + i + 4);
		if (!memcmp(d + i, "EXIF", 4) || !memcmp(d + i, "XMP ", 4)) {
			sb_addf(why, "metadata left in the WebP (%.4s)", (const char *)d + i);
			return -1;
		}
		if (len > n - i - 8)
			break;
		i += 8 + len + (len & 1);
	}
	return 0;
}

/* The whole file at path, at most 256 MiB, into sb. */
static int read_whole(const char *path, struct strbuf *sb, struct strbuf *why)
{
	FILE *f = fopen(path, "rb");
	char chunk[65536];
	size_t got;

	if (!f) {
		sb_addf(why, "cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0 && sb->len < (size_t)256 << 20)
		sb_add(sb, chunk, got);
	if (ferror(f) || sb->len >= (size_t)256 << 20) {
		sb_addf(why, "cannot read '%s': %s", path, ferror(f) ? strerror(errno) : "too large");
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int web_verify(const char *path, struct strbuf *why)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *d;
	int rc = -1;

	if (read_whole(path, &sb, why))
		goto out;
	d = (const unsigned char *)sb.buf;
	if (sb.len >= 4 && d[0] == 0xff && d[1] == 0xd8)
		rc = jpeg_clean(d, sb.len, why);
	else if (sb.len >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8))
		rc = png_clean(d, sb.len, why);
	else if (sb.len >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4))
		rc = webp_clean(d, sb.len, why);
	else
		sb_adds(why, "not a JPEG, PNG or WebP image");
out:
	sb_release(&sb);
	return rc;
}
