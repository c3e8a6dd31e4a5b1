/*
 * fuzz-enqueue - one line of md-enqueue's input into ref_from_line: a
 * reference it returns is a post id or a sha256, and a skipped line
 * returns nothing.
 */
#include "ref.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	/* a copy without a terminating NUL: a read past the end shows */
	char *line = malloc(n ? n : 1);
	char *ref;
	enum ref_line r;

	if (!line)
		return 0;
	memcpy(line, d, n);
	r = ref_from_line(line, n, &ref);
	if ((r == REF_OK && !ref_valid(ref)) || (r == REF_SKIP && ref) || (r != REF_SKIP && !ref))
		abort();
	free(ref);
	free(line);
	return 0;
}
