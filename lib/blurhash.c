#include "blurhash.h"

#include <errno.h>
#include <math.h>

static const char digits83[] =
	"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~";

/* v in n base 83 digits at out, most significant first; returns out + n. */
static char *put83(char *out, long v, int n)
{
	for (int k = n - 1; k >= 0; k--) {
		out[k] = digits83[v % 83];
		v /= 83;
	}
	return out + n;
}

static int digit83(char c)
{
	for (int k = 0; k < 83; k++)
		if (digits83[k] == c)
			return k;
	return -1;
}

static double srgb_to_linear(int v)
{
	double c = v / 255.0;

	return c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4);
}

/* Back to 0..255: clamped to 0..1, then rounded half up. */
static long linear_to_srgb(double v)
{
	v = v < 0 ? 0 : v > 1 ? 1 : v;
	if (v <= 0.0031308)
		return (long)(v * 12.92 * 255 + 0.5);
	return (long)((1.055 * pow(v, 1 / 2.4) - 0.055) * 255 + 0.5);
}

/* One component (i across, j down): the mean of colour times basis. */
static void component(const uint8_t *px, int w, int h, size_t stride, int bpp,
		      const double *lin, int i, int j, double f[3])
{
	const double pi = 3.14159265358979323846;
	double norm = i == 0 && j == 0 ? 1 : 2, r = 0, g = 0, b = 0;

	for (int y = 0; y < h; y++) {
		const uint8_t *row = px + (size_t)y * stride;
		double cy = cos(pi * j * y / h);
		for (int x = 0; x < w; x++) {
			double basis = cos(pi * i * x / w) * cy;
			const uint8_t *p = row + (size_t)x * bpp;
			r += basis * lin[p[0]];
			g += basis * lin[p[1]];
			b += basis * lin[p[2]];
		}
	}
	norm /= (double)w * h;
	f[0] = r * norm;
	f[1] = g * norm;
	f[2] = b * norm;
}

/* One AC channel against the maximum: 0..18, 9 for zero. */
static long quant_ac(double c, double max)
{
	double v = c / max, s = v < 0 ? -sqrt(-v) : sqrt(v);
	double q = floor(s * 9 + 9.5);

	return q < 0 ? 0 : q > 18 ? 18 : (long)q;
}

int blurhash_encode(const uint8_t *px, int w, int h, size_t stride, int bpp, int nx, int ny,
		    char *out)
{
	double f[BLURHASH_MAX * BLURHASH_MAX][3], lin[256], max = 0, scale = 1;
	int n = nx * ny;
	char *p = out;

	if (!px || w < 1 || h < 1 || (bpp != 3 && bpp != 4) || stride < (size_t)w * bpp ||
	    nx < 1 || nx > BLURHASH_MAX || ny < 1 || ny > BLURHASH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (int v = 0; v < 256; v++)
		lin[v] = srgb_to_linear(v);
	for (int j = 0; j < ny; j++)
		for (int i = 0; i < nx; i++)
			component(px, w, h, stride, bpp, lin, i, j, f[j * nx + i]);
	p = put83(p, (nx - 1) + (ny - 1) * 9, 1);
	if (n > 1) {
		for (int k = 1; k < n; k++)
			for (int c = 0; c < 3; c++)
				max = fmax(max, fabs(f[k][c]));
		double q = floor(max * 166 - 0.5);
		long qmax = q < 0 ? 0 : q > 82 ? 82 : (long)q;
		scale = (qmax + 1) / 166.0;
		p = put83(p, qmax, 1);
	} else {
		p = put83(p, 0, 1);
	}
	p = put83(p, (linear_to_srgb(f[0][0]) << 16) | (linear_to_srgb(f[0][1]) << 8) |
		  linear_to_srgb(f[0][2]), 4);
	for (int k = 1; k < n; k++)
		p = put83(p, quant_ac(f[k][0], scale) * 361 + quant_ac(f[k][1], scale) * 19 +
			  quant_ac(f[k][2], scale), 2);
	*p = '\0';
	return (int)(p - out);
}

int blurhash_valid(const char *s, int *nx, int *ny)
{
	size_t len = 0;
	int d;

	if (!s || (d = digit83(s[0])) < 0 || d > 80)
		return 0;
	for (const char *c = s; *c; c++, len++)
		if (digit83(*c) < 0)
			return 0;
	if (len < 6 || len != (size_t)BLURHASH_LEN(d % 9 + 1, d / 9 + 1))
		return 0;
	if (nx)
		*nx = d % 9 + 1;
	if (ny)
		*ny = d / 9 + 1;
	return 1;
}
