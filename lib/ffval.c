#include "ffval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy src into dst[n], cutting it short if need be. */
void ffval_copy(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);
	memcpy(dst, src, l);
	dst[l] = '\0';
}

/* Value of a flat-output line: unquote "..." with backslash escapes. */
void ffval_unquote(const char *v, char *out, size_t n)
{
	size_t o = 0;

	if (*v != '"') {
		(void)snprintf(out, n, "%s", v);       /* cut to n, as below */
		return;
	}
	for (v++; *v && *v != '"' && o + 1 < n; v++) {
		if (*v == '\\' && v[1])
			v++;
		out[o++] = *v;
	}
	out[o] = '\0';
}

/*
 * Numbers in ffprobe's output, which comes from the file and so from
 * anyone: read strictly, out-of-range values clamped, junk as unknown.
 * No conversion may be undefined whatever the text says.
 */

/* An integer value clamped to [lo, hi]; dflt for "N/A" or junk. */
long long ffval_int(const char *v, long long lo, long long hi, long long dflt)
{
	const char *d = *v == '-' ? v + 1 : v;
	char *end;
	long long x;

	if (*d < '0' || *d > '9')
		return dflt;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (*end)
		return dflt;
	/* ERANGE gives LLONG_MIN or LLONG_MAX: clamped below like any other */
	return x < lo ? lo : x > hi ? hi : x;
}

/* A finite, non-negative decimal ("12.345000"); 0 for "N/A" or junk. */
double ffval_real(const char *v)
{
	char *end;
	double x;

	if (*v < '0' || *v > '9')
		return 0;
	x = strtod(v, &end);
	if (*end || !isfinite(x) || x < 0)
		return 0;
	return x;
}

/* A finite decimal of either sign; returns 0 for "N/A" or junk. */
int ffval_time(const char *v, double *x)
{
	const char *d = *v == '-' ? v + 1 : v;
	char *end;

	if (*d < '0' || *d > '9')
		return 0;
	*x = strtod(v, &end);
	return !*end && isfinite(*x) && fabs(*x) < 1e12;
}

/* A rate "30000/1001" or "25"; 0 when unknown ("0/0") or absurd. */
double ffval_rate(const char *r)
{
	char num[32];
	const char *slash = strchr(r, '/');
	double n, d = 1, q;

	if (!slash)
		return ffval_real(r);
	if ((size_t)(slash - r) >= sizeof(num))
		return 0;
	memcpy(num, r, (size_t)(slash - r));
	num[slash - r] = '\0';
	n = ffval_real(num);
	d = ffval_real(slash + 1);
	if (!(d > 0))
		return 0;
	q = n / d;
	return isfinite(q) ? q : 0;
}

int ffval_line(char *line, char *val, size_t n)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return 0;
	*eq = '\0';
	ffval_unquote(eq + 1, val, n);
	return 1;
}

int ffval_stream(const char *key, int max, const char **rest)
{
	const char *p = key + 15;
	size_t nd;
	int i = 0;

	if (strncmp(key, "streams.stream.", 15))
		return -1;
	nd = strspn(p, "0123456789");
	if (!nd || nd > 2 || p[nd] != '.')
		return -1;
	for (size_t k = 0; k < nd; k++)
		i = i * 10 + (p[k] - '0');
	if (i >= max)
		return -1;
	*rest = p + nd + 1;
	return i;
}
