#include "placeholder.h"
#include "blurhash.h"
#include "log.h"
#include "quote.h"
#include "spawn.h"

#include <stdio.h>
#include <string.h>

/* Raw RGB of the picture scaled to PLACEHOLDER_WIDTH across, into out. */
static int decode_small(const struct placeholder_ctx *pc, const char *path, struct strbuf *out,
			struct strbuf *why)
{
	char vf[64];
	char *argv[] = {
		"ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-threads", "1",
		"-protocol_whitelist", "file", "-i", (char *)path, "-map", "0:v:0", "-frames:v", "1",
		"-vf", vf, "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1", NULL
	};
	const char *rd[] = { path, NULL }, *wr[] = { pc->workdir, NULL };
	struct spawn_opts o = {
		.argv = argv, .stdin_fd = -1, .out = out, .out_max = 1 << 20,
		.timeout = pc->timeout, .cancel = pc->cancel, .cwd = pc->workdir,
		.rlimit_as = conf_memory_limit(pc->conf), .confine = pc->conf->sandbox,
		.read = rd, .write = wr,
	};
	struct spawn_result res;

	xsnprintf(vf, sizeof(vf), "scale=%d:-2:flags=area", PLACEHOLDER_WIDTH);
	if (spawn_run(&o, &res)) {
		sb_adds(why, "ffmpeg ");
		spawn_describe(&res, why);
		return -1;
	}
	if (res.out_truncated) {
		sb_adds(why, "ffmpeg printed too much");
		return -1;
	}
	return 0;
}

int placeholder_make(const struct placeholder_ctx *pc, const char *path, struct strbuf *facts,
		     struct strbuf *why)
{
	const size_t row = PLACEHOLDER_WIDTH * 3;
	struct strbuf px = STRBUF_INIT;
	char hash[BLURHASH_SIZE];
	int rc = -1;

	if (decode_small(pc, path, &px, why))
		goto out;
	if (!px.len || px.len % row) {
		sb_addf(why, "ffmpeg made %zu bytes, not rows of %d RGB pixels", px.len,
			PLACEHOLDER_WIDTH);
		goto out;
	}
	if (blurhash_encode((const uint8_t *)px.buf, PLACEHOLDER_WIDTH, (int)(px.len / row), row, 3,
			    BLURHASH_NX, BLURHASH_NY, hash) < 0) {
		sb_adds(why, "the picture is too large to hash");
		goto out;
	}
	sb_adds(facts, ",\"blurhash\":");
	json_add_str(facts, hash);
	sb_addf(facts, ",\"blurhash_components\":[%d,%d]", BLURHASH_NX, BLURHASH_NY);
	rc = 0;
out:
	sb_release(&px);
	return rc;
}

void placeholder_add(const struct placeholder_ctx *pc, const char *path, struct strbuf *facts)
{
	struct strbuf why = STRBUF_INIT;

	if (placeholder_make(pc, path, facts, &why))
		warning("no placeholder for '%s': %s", path, why.buf);
	sb_release(&why);
}
