#include "reason.h"

#include <ctype.h>
#include <string.h>

/*
 * Length of " @ 0xHEX" at s when a ']' follows it, else 0.
 */
static size_t address_at(const char *s)
{
	size_t n;

	if (strncmp(s, " @ 0x", 5))
		return 0;
	n = 5;
	while (isxdigit((unsigned char)s[n]))
		n++;
	return n > 5 && s[n] == ']' ? n : 0;
}

char *reason_clean(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		size_t n = address_at(r);
		if (n) {
			r += n;
			continue;
		}
		*w++ = (unsigned char)*r < 0x20 || *r == 0x7f ? ' ' : *r;
		r++;
	}
	while (w > s && w[-1] == ' ')
		w--;
	*w = '\0';
	return s;
}
