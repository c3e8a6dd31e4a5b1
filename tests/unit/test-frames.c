/*
 * test-frames.c - the ZIP packer (lib/pack.c), the frames and web
 * profiles' own work (lib/frames.c, lib/web.c) and their config keys.
 * Included by test-lib.c.
 */
#include "frames.h"
#include "pack.h"
#include "web.h"

#include <time.h>
#include <utime.h>

/* A JPEG's first bytes: SOI, an APP0 of 4 bytes, SOF0 of w x h, EOI. */
static size_t fake_jpeg(unsigned char *b, int w, int h, int app1)
{
	static const unsigned char head[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 6, 'J', 'F', 'I', 'F' };
	size_t n = sizeof(head);

	memcpy(b, head, n);
	if (app1) {
		static const unsigned char exif[] = { 0xff, 0xe1, 0, 8, 'E', 'x', 'i', 'f', 0, 0 };
		memcpy(b + n, exif, sizeof(exif));
		n += sizeof(exif);
	}
	const unsigned char sof[] = { 0xff, 0xc0, 0, 11, 8, (unsigned char)(h >> 8), (unsigned char)h,
				      (unsigned char)(w >> 8), (unsigned char)w, 1, 1, 0x11, 0 };
	memcpy(b + n, sof, sizeof(sof));
	n += sizeof(sof);
	b[n++] = 0xff;
	b[n++] = 0xd9;
	return n;
}

static void put_file(const char *path, const void *data, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *name = xstrfmt("written: %s", base);

	ok(!write_file_atomic(path, data, len), name);
	free(name);
}

static char *slurp(const char *path, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	char chunk[4096];
	size_t got;
	FILE *f = fopen(path, "rb");

	if (f) {
		while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
			sb_add(&sb, chunk, got);
		fclose(f);
	}
	return sb_detach(&sb, len);
}

struct zip_seen {
	struct strbuf names;
};

static int note_entry(void *arg, int i, const char *name, const unsigned char *data, size_t len,
		      struct strbuf *why)
{
	struct zip_seen *s = arg;

	sb_addf(&s->names, "%d:%s:%zu;", i, name, len);
	return 0;
}

static void test_pack(void)
{
	char *a = xstrfmt("%s/a.bin", tmpdir), *b = xstrfmt("%s/b.bin", tmpdir);
	char *z1 = xstrfmt("%s/one.zip", tmpdir), *z2 = xstrfmt("%s/two.zip", tmpdir);
	struct pack_entry e[] = { { a, "first.bin" }, { b, "second.bin" } };
	struct strbuf why = STRBUF_INIT;
	struct zip_seen s = { STRBUF_INIT };
	struct utimbuf ut = { 1000000000, 1000000000 };
	size_t l1, l2;

	put_file(a, "hello", 5);
	put_file(b, "world!", 6);
	ok(!pack_zip(z1, e, 2, &why), "pack_zip writes an archive");
	ok(pack_zip(z1, e, 2, &why) == -1 && strstr(why.buf, "one.zip"),
	   "pack_zip does not replace an archive");
	/* other file times, another time zone: the same bytes */
	utime(a, &ut);
	setenv("TZ", "Asia/Kathmandu", 1);
	tzset();
	ok(!pack_zip(z2, e, 2, &why), "pack_zip again, in another zone");
	unsetenv("TZ");
	tzset();
	char *d1 = slurp(z1, &l1), *d2 = slurp(z2, &l2);
	ok(l1 == l2 && l1 > 0 && !memcmp(d1, d2, l1), "the same files make the same archive bytes");
	ok(l1 == 2 * 30 + 2 * 46 + 9 + 10 + 9 + 10 + 5 + 6 + 22,
	   "stored, no extra field, no comment: headers, names and data only");
	ok(pack_each(z1, 100, note_entry, &s, &why) == 2 &&
	   !strcmp(s.names.buf, "0:first.bin:5;1:second.bin:6;"), "pack_each reads the entries in order");
	sb_reset(&why);
	ok(pack_each(z1, 5, note_entry, &s, &why) == -1 && strstr(why.buf, "more than 5"),
	   "pack_each refuses an entry larger than its limit");
	d1[l1 - 30] ^= 0xff;   /* in the central directory */
	put_file(z2, d1, l1);
	sb_reset(&why);
	ok(pack_each(z2, 100, note_entry, &s, &why) == -1 && why.len, "a damaged archive does not open");
	sb_reset(&why);
	ok(pack_each(a, 100, note_entry, &s, &why) == -1 && strstr(why.buf, "a.bin"),
	   "a file that is no archive does not open");
	free(d1);
	free(d2);
	sb_release(&s.names);
	sb_release(&why);
	free(a), free(b), free(z1), free(z2);
}

/* Frames as ffmpeg leaves them, packed, their times said, the archive checked. */
static void test_frames(void)
{
	char *dir = xstrfmt("%s/frames", tmpdir), *zip = xstrfmt("%s/frames/f.zip", tmpdir);
	struct strbuf facts = STRBUF_INIT, why = STRBUF_INIT;
	struct frames_plan fp;
	struct conf c;
	unsigned char j[64];
	size_t n = fake_jpeg(j, 640, 360, 0);
	int w = 0, h = 0;

	ok(!jpeg_size(j, n, &w, &h) && w == 640 && h == 360, "jpeg_size reads the frame header");
	ok(jpeg_size(j, 12, &w, &h) == -1 && jpeg_size((const unsigned char *)"GIF89a", 6, &w, &h) == -1,
	   "jpeg_size refuses a cut JPEG and something else");
	mkdir(dir, 0700);
	conf_init(&c);
	c.frames_fps = 2;
	c.frames_max = 4;
	frames_plan(&c, 1.5, &fp);
	ok(!strcmp(fp.vars[0], "fps") && !strcmp(fp.vars[1], "2") && !strcmp(fp.vars[3], "4"),
	   "frames_plan gives {fps} and {max_frames}");
	frames_plan(&c, 0, &fp);
	ok(!strcmp(fp.vars[1], "2"), "frames_plan: a source of no known length at frames.fps");
	frames_plan(&c, 2, &fp);
	ok(!strcmp(fp.vars[1], "2"), "frames_plan: max frames exactly span the source at frames.fps");
	frames_plan(&c, 600, &fp);
	ok(!strcmp(fp.vars[1], "0.006666") && fp.fps * 600 <= 4 && fp.fps * 600 > 3.99,
	   "frames_plan: a long source gets a lower rate, max frames over all of it");
	frames_plan(&c, 1.5, &fp);
	ok(frames_pack(&fp, dir, zip, &facts, &why) == 1 && !strcmp(why.buf, "no frame"),
	   "no frame is a fault of the input");
	const char *names[] = { "pts-5000.jpg", "pts--21.jpg", "pts-1001.jpg", "pts-500.jpg", "pts-x.jpg",
				"x.jpg" };
	for (size_t i = 0; i < 6; i++) {
		char *p = xstrfmt("%s/%s", dir, names[i]);
		put_file(p, j, n);
		free(p);
	}
	sb_reset(&why);
	ok(!frames_pack(&fp, dir, zip, &facts, &why), "frames_pack packs the frames");
	is_str(facts.buf, ",\"frames\":4,\"fps\":2,\"times\":[0,0.5,1.001,5]",
	       "their times, in order, from their timestamps in milliseconds (-21 is 0)");
	sb_reset(&why);
	ok(!frames_verify(zip, 4, 1280, &why), "frames_verify takes the archive");
	sb_reset(&why);
	ok(frames_verify(zip, 3, 1280, &why) == -1 && !strcmp(why.buf, "more than 3 frames"),
	   "frames_verify counts them against the cap");
	sb_reset(&why);
	ok(frames_verify(zip, 4, 320, &why) == -1 && strstr(why.buf, "'frame-0001.jpg' is 640x360"),
	   "frames_verify measures each frame");
	struct pack_entry e[] = { { zip, "frame-0002.jpg" } };
	char *bad = xstrfmt("%s/bad.zip", tmpdir);
	pack_zip(bad, e, 1, &why);
	sb_reset(&why);
	ok(frames_verify(bad, 4, 1280, &why) == -1 &&
	   !strcmp(why.buf, "entry 1 is 'frame-0002.jpg', not 'frame-0001.jpg'"),
	   "frames_verify wants the names in order");
	c.frames_max = 3;
	frames_plan(&c, 1.5, &fp);
	sb_reset(&why);
	unlink(zip);
	ok(frames_pack(&fp, dir, zip, &facts, &why) == 1 && strstr(why.buf, "4 frames, more than 3"),
	   "more frames than the cap is a fault");
	/* a link among the frames, to a file the step could not read */
	char *lnk = xstrfmt("%s/pts-9000.jpg", dir);
	c.frames_max = 9;
	frames_plan(&c, 1.5, &fp);
	sb_reset(&why);
	ok(!symlink(bad, lnk) && frames_pack(&fp, dir, zip, &facts, &why) == -1 &&
	   strstr(why.buf, "pts-9000.jpg' is not a regular file") && access(zip, F_OK),
	   "frames_pack takes no symbolic link, and leaves no archive");
	unlink(lnk);
	free(lnk);
	conf_release(&c);
	sb_release(&facts);
	sb_release(&why);
	free(bad), free(dir), free(zip);
}

static int web_check(const char *name, const void *data, size_t len, struct strbuf *why)
{
	char *p = xstrfmt("%s/%s", tmpdir, name);
	int rc;

	write_file_atomic(p, data, len);
	sb_reset(why);
	rc = web_verify(p, why);
	free(p);
	return rc;
}

static void test_web(void)
{
	static const char png_text[] = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR0123456789abc____"
				       "\0\0\0\x04tEXtabcd____\0\0\0\0IEND____";
	static const char webp_exif[] = "RIFF\x20\0\0\0WEBPVP8 \x02\0\0\0abEXIF\x02\0\0\0ab";
	struct strbuf why = STRBUF_INIT;
	struct web_plan wp;
	struct source src = { .pix_fmt = "yuvj420p" };
	struct conf c;
	unsigned char j[64];
	size_t n;

	n = fake_jpeg(j, 64, 32, 0);
	ok(!web_check("w.jpg", j, n, &why), "web_verify takes a JPEG with JFIF alone");
	n = fake_jpeg(j, 64, 32, 1);
	ok(web_check("w.jpg", j, n, &why) == -1 && strstr(why.buf, "APP1"),
	   "web_verify refuses EXIF left in a JPEG");
	ok(web_check("w.png", png_text, sizeof(png_text) - 1, &why) == -1 && strstr(why.buf, "tEXt"),
	   "web_verify refuses text left in a PNG");
	ok(web_check("w.webp", webp_exif, sizeof(webp_exif) - 1, &why) == -1 && strstr(why.buf, "EXIF"),
	   "web_verify refuses EXIF left in a WebP");
	ok(web_check("w.gif", "GIF89a", 6, &why) == -1, "web_verify refuses another format");
	ok(web_has_alpha("rgba") && web_has_alpha("yuva420p") && web_has_alpha("ya8") &&
	   web_has_alpha("pal8") && !web_has_alpha("yuvj420p") && !web_has_alpha("rgb24") &&
	   !web_has_alpha("gray"), "web_has_alpha");
	conf_init(&c);
	web_plan(&c, &src, &wp);
	ok(!strcmp(wp.output, "web.jpg") && !strcmp(wp.vars[1], "2048") && !strcmp(wp.vars[5], "yuvj420p"),
	   "web: a JPEG capped at 2048 by default");
	xsnprintf(src.pix_fmt, sizeof(src.pix_fmt), "rgba");
	web_plan(&c, &src, &wp);
	ok(!strcmp(wp.output, "web.png") && !strcmp(wp.vars[5], "rgba"), "web: a PNG for alpha");
	c.web_webp = 1;
	web_plan(&c, &src, &wp);
	ok(!strcmp(wp.output, "web.webp") && !strcmp(wp.vars[5], "yuva420p") && !strcmp(wp.vars[3], "tv"),
	   "web: WebP with alpha on request");
	conf_release(&c);
	sb_release(&why);
}

static void test_frames_web_conf(void)
{
	static const struct { const char *yaml, *msg; } bad[] = {
		{ "frames:\n  fps: 0\n", "d.yaml:2: bad rate (0.01 to 60 frames a second) for 'fps'" },
		{ "frames:\n  fps: 61\n", "d.yaml:2: bad rate (0.01 to 60 frames a second) for 'fps'" },
		{ "frames:\n  fps: 1e1\n", "d.yaml:2: bad rate (0.01 to 60 frames a second) for 'fps'" },
		{ "frames:\n  max: 10000\n", "d.yaml:2: bad number for 'max'" },
		{ "frames:\n  size: 3\n", "d.yaml:2: unknown key 'size'" },
		{ "web:\n  max_side: 8\n", "d.yaml:2: bad number for 'max_side'" },
		{ "web:\n  format: gif\n", "d.yaml:2: expected jpeg or webp for 'format'" },
	};
	const struct profile *p;
	struct conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		conf_init(&c);
		char *m = conf_error(&c, bad[i].yaml, strlen(bad[i].yaml));
		ok(m && strstr(m, bad[i].msg), bad[i].msg);
		if (!m || !strstr(m, bad[i].msg))
			printf("#   got: %s", m ? m : "(loaded)\n");
		free(m);
		conf_release(&c);
	}
	conf_init(&c);
	p = conf_profile(&c, "frames");
	ok(p && p->hook == HOOK_FRAMES && p->output_kind == OUTPUT_ZIP && c.frames_fps == 1 &&
	   c.frames_max == 100 && p->kinds == (MD_KIND_VIDEO | MD_KIND_ANIMATED),
	   "frames: built in, video and animated, 1 fps, 100 at most, a ZIP");
	p = conf_profile(&c, "web");
	ok(p && p->hook == HOOK_WEB && p->kinds == MD_KIND_IMAGE && p->max_side == 2048,
	   "web: built in, images, 2048 at most");
	const char *y = "web:\n  max_side: 1000\n  format: webp\nframes:\n  fps: 0.5\n  max: 9999\n"
			"profiles:\n  frames:\n    output: x.zip\n    steps: [[true]]\n";
	ok(!conf_load_buffer(&c, "d.yaml", y, strlen(y)) && c.web_webp && c.frames_fps == 0.5 &&
	   c.frames_max == 9999 && conf_profile(&c, "web")->max_side == 1000,
	   "web.max_side, web.format, frames.fps and frames.max are read");
	ok(conf_profile(&c, "frames")->hook == HOOK_NONE, "a profile of the file is no built-in");
	conf_release(&c);
}
