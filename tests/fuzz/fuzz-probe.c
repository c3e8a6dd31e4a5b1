/*
 * fuzz-probe - text as ffprobe's flat output into probe_from_ffprobe:
 * accepted or rejected, never a crash; what is accepted has sane
 * numbers within the limits (so the probe JSON, whose only %f numbers
 * are the duration and the rate, holds no nan or inf).
 */
#include "conf.h"
#include "log.h"
#include "probe.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct conf c;
	static int ready;
	struct probe p;
	char *why = NULL;
	int rc;

	if (!ready) {
		log_set_level(-1);
		conf_init(&c);
		ready = 1;
	}
	rc = probe_from_ffprobe(&c, (const char *)d, n, &p, &why);
	if (rc == 0) {
		if (why || p.width <= 0 || p.width > c.max_width || p.height <= 0 ||
		    p.height > c.max_height || p.frames <= 0 || !isfinite(p.duration) ||
		    p.duration < 0 || p.duration > c.max_duration || !isfinite(p.fps) ||
		    p.fps < 0)
			abort();
		probe_release(&p);
	} else if (rc != 1 || !why) {
		abort();
	}
	free(why);
	return 0;
}
