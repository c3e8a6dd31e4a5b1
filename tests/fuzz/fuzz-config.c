/*
 * fuzz-config - YAML bytes into the config loader: each input must load
 * or be refused (MD_EXIT_CONFIG), never crash, hang or leak.
 */
#include "conf.h"
#include "exits.h"
#include "log.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	struct conf c;
	int rc;

	log_set_level(-1);
	conf_init(&c);
	rc = conf_load_buffer(&c, "fuzz.yaml", (const char *)d, n);
	if (rc != 0 && rc != MD_EXIT_CONFIG)
		abort();
	conf_release(&c);
	return 0;
}
