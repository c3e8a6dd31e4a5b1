/*
 * fuzz-duration - one string into every value parser: parse_duration,
 * parse_size, parse_int and parse_time.  What they accept must be within
 * the documented ranges; nothing may overflow (UBSan checks the
 * conversions).
 */
#include "conf.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	double t;
	uint64_t b;
	long long v;

	if (!s)
		return 0;
	memcpy(s, d, n);
	s[n] = '\0';
	if (!parse_duration(s, &t) && !(t >= 0 && t <= DURATION_MAX))
		abort();
	parse_size(s, &b);
	if (!parse_int(s, -1000, 1000, &v) && (v < -1000 || v > 1000))
		abort();
	if (!parse_time(s, &t) && !(t >= 0 && t < (double)TIME_MAX + 1))
		abort();
	free(s);
	return 0;
}
