/*
 * test-blurhash.c - the BlurHash encoder (lib/blurhash.c) against the
 * reference implementation's values.  Included by test-lib.c.
 *
 * The expected hashes come from the reference implementation published
 * by the algorithm's authors (the JavaScript package "blurhash" 2.0.5,
 * its encode(pixels, w, h, nx, ny)), run on the same synthetic pixels
 * as below, which every implementation reproduces exactly (no decoder
 * in between).  One difference is known: that package takes the largest
 * signed AC value as the maximum, where the algorithm's description and
 * the Swift and C references take the largest magnitude; the two agree
 * whenever the largest magnitude is positive (every case but "grad").
 */
#include "blurhash.h"

static uint8_t bh_px[32 * 24 * 4];

typedef void (*bh_pixel)(int x, int y, uint8_t *p);

static void bh_solid_fb(int x, int y, uint8_t *p) { (void)x, (void)y; p[0] = p[1] = p[2] = 0xfb; }
static void bh_solid(int x, int y, uint8_t *p) { (void)x, (void)y; p[0] = 0x33, p[1] = 0x66, p[2] = 0x99; }
static void bh_grad(int x, int y, uint8_t *p) { p[0] = x * 32, p[1] = y * 40, p[2] = 128; }
static void bh_grad2(int x, int y, uint8_t *p)
{
	p[0] = x * 255 / 31, p[1] = 255 - y * 255 / 23, p[2] = ((x + y) * 4) & 255;
}
static void bh_quad(int x, int y, uint8_t *p)
{
	p[0] = x < 8 ? 255 : 0, p[1] = y < 8 ? 255 : 0, p[2] = (x < 8) != (y < 8) ? 255 : 0;
}

/* The hash of w x h pixels made by f, bpp bytes each, into out. */
static int bh_make(bh_pixel f, int w, int h, int bpp, int nx, int ny, char *out)
{
	memset(bh_px, 0x5a, sizeof(bh_px));     /* alpha, and the padding: noise */
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			f(x, y, bh_px + (size_t)bpp * (y * w + x));
	return blurhash_encode(bh_px, w, h, (size_t)w * bpp, bpp, nx, ny, out);
}

static void test_blurhash_reference(void)
{
	static const struct {
		const char *name;
		bh_pixel f;
		int w, h, nx, ny;
		const char *hash;
	} v[] = {
		{ "4x4 of #fbfbfb, 1x1", bh_solid_fb, 4, 4, 1, 1, "00S?DV" },
		{ "4x4 of #336699, 4x3", bh_solid, 4, 4, 4, 3, "LP5?}kt:fQt:t:kYfQkYfQfQfQfQ" },
		{ "32x24 gradients, 4x3", bh_grad2, 32, 24, 4, 3, "L;Hew66]wzX5q2X8juf%gwfkfQfj" },
		{ "32x24 gradients, 9x5", bh_grad2, 32, 24, 9, 5,
		  "i;Hew66]wzX5a{oeWooeWoq2X8juf%fRf$fRf$fRgwfkfQfjfQfjfQfjfQo_W.jtfjfQfjfQfjfQgIfkfQfjfQfjfQfjfQ" },
		{ "16x16 quadrants, 4x3", bh_quad, 16, 16, 4, 3, "L~Lqe9}F$5KOucs{jpbxgcfffOfl" },
	};
	char out[BLURHASH_SIZE], name[128];

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
		int len = bh_make(v[k].f, v[k].w, v[k].h, 3, v[k].nx, v[k].ny, out);
		(void)snprintf(name, sizeof(name), "blurhash of %s is the reference's", v[k].name);
		is_str(out, v[k].hash, name);
		ok(len == (int)strlen(v[k].hash), "and its length is returned");
		bh_make(v[k].f, v[k].w, v[k].h, 4, v[k].nx, v[k].ny, out);
		(void)snprintf(name, sizeof(name), "RGBA pixels of %s: the same hash", v[k].name);
		is_str(out, v[k].hash, name);
	}
	/* the package says LDF=ad3;Wp^+_f9$a|rLd_e;fQe; (its signed maximum,
	 * see above): the size flag and the average colour agree */
	bh_make(bh_grad, 8, 6, 3, 4, 3, out);
	ok(out[0] == 'L' && !strncmp(out + 2, "F=ad", 4),
	   "8x6 gradients: size flag and DC as the reference's");
	is_str(out, "LjF=ad3Ba|xuzONLfQnTeqf7fQf7", "and the AC scaled by the largest magnitude");
}

static void test_blurhash_shape(void)
{
	char out[BLURHASH_SIZE], again[BLURHASH_SIZE];
	int nx, ny, good = 1;

	for (int y = 1; y <= 9; y++)
		for (int x = 1; x <= 9; x++) {
			int len = bh_make(bh_grad2, 32, 24, 3, x, y, out);
			if (len != BLURHASH_LEN(x, y) || !blurhash_valid(out, &nx, &ny) || nx != x ||
			    ny != y || strspn(out, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					      "#$%*+,-.:;=?@[]^_{|}~") != (size_t)len)
				good = 0;
		}
	ok(good, "every component count 1..9 x 1..9: length 4+2*nx*ny, size flag, base 83");
	bh_make(bh_quad, 16, 16, 3, 4, 3, out);
	bh_make(bh_quad, 16, 16, 3, 4, 3, again);
	is_str(again, out, "the same pixels give the same hash");
	memcpy(again, "xx", 3);
	errno = 0;
	ok(blurhash_encode(bh_px, 16, 16, 48, 3, 0, 3, again) == -1 && errno == EINVAL &&
	   !strcmp(again, "xx"), "0 components: EINVAL, out untouched");
	ok(blurhash_encode(bh_px, 16, 16, 48, 3, 10, 3, again) == -1, "10 components: refused");
	ok(blurhash_encode(bh_px, 16, 16, 47, 3, 4, 3, again) == -1, "a stride too short: refused");
	ok(blurhash_encode(bh_px, 0, 16, 48, 3, 4, 3, again) == -1, "no width: refused");
	ok(blurhash_encode(bh_px, 16, 16, 64, 2, 4, 3, again) == -1, "2 bytes a pixel: refused");
	ok(!blurhash_valid("LP5?}kt:fQt:t:kYfQkYfQfQfQf", NULL, NULL), "one character short: not a hash");
	ok(!blurhash_valid("LP5?}kt:fQt:t:kYfQkYfQfQfQf\"", NULL, NULL), "a quote: not a hash");
	ok(!blurhash_valid("00S?D", NULL, NULL) && !blurhash_valid("", NULL, NULL),
	   "too short: not a hash");
}
