/*
 * fuzz-cursor - md-feed's --before CURSOR (cursor_parse) on arbitrary
 * bytes.  A cursor is accepted exactly when it is what md-feed prints for
 * some post id: the decimal of 1 to 2^63-1, without sign, space or
 * leading zero; then it reads back to the same text.
 */
#include "emit.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is s the canonical decimal of an id in 1..INT64_MAX? */
static int canonical(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 19 || *s == '0')
		return 0;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return n < 19 || strcmp(s, "9223372036854775807") <= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1), back[24];
	int64_t id = -7;
	int rc;

	if (!s)
		return 0;
	memcpy(s, d, n);
	s[n] = '\0';
	rc = cursor_parse(s, &id);
	if (rc != (canonical(s) ? 0 : -1))
		abort();
	if (rc == 0) {
		int len = snprintf(back, sizeof(back), "%lld", (long long)id);
		if (id < 1 || len < 0 || len >= (int)sizeof(back))
			abort();
		if (strcmp(back, s))
			abort();
	} else if (id != -7) {
		abort();
	}
	free(s);
	return 0;
}
