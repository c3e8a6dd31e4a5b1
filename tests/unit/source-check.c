/*
 * source-check - for each file, whether what the ingest's probe keeps of
 * the source (the "source" of its probe JSON, lib/probe.h) is exactly
 * what the worker would read of the stored file itself (source_probe,
 * lib/source.h), field by field; TAP on standard output.
 *
 *   source-check FILE...
 *
 * A file the probe rejects is a skip.  Exit 0 when every file agrees,
 * 1 otherwise, 64 on usage.
 */
#include "conf.h"
#include "exits.h"
#include "log.h"
#include "probe.h"
#include "source.h"
#include "strbuf.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fields of a and b that differ, named into diff. */
static void compare(const struct source *a, const struct source *b, struct strbuf *diff)
{
#define NUM(f) if (a->f != b->f) sb_addf(diff, " " #f)
#define STR(f) if (strcmp(a->f, b->f)) sb_addf(diff, " " #f)
	NUM(duration); NUM(bit_rate); STR(vcodec); STR(profile); STR(pix_fmt); STR(range);
	STR(transfer); NUM(width); NUM(height); NUM(coded_width); NUM(coded_height);
	NUM(sar_num); NUM(sar_den); NUM(rotation); NUM(fps); NUM(max_fps); NUM(has_audio);
	STR(acodec); NUM(channels);
#undef NUM
#undef STR
}

/* The probe JSON's "source", as text (free it), or NULL. */
static char *kept_source(const char *probe_json)
{
	json_t *o = json_loads(probe_json, 0, NULL);
	char *text = json_object_get(o, "source") ?
		json_dumps(json_object_get(o, "source"), JSON_COMPACT) : NULL;

	json_decref(o);
	return text;
}

static int check(const struct conf *c, const char *path, int n)
{
	struct probe p;
	struct source kept, read;
	struct strbuf err = STRBUF_INIT, diff = STRBUF_INIT;
	char *why = NULL, *text, *abs = realpath(path, NULL);
	int rc = abs ? probe_file(c, abs, &p, &why) : -1;

	if (rc) {
		if (rc == 1)
			printf("ok %d - %s # skip %s\n", n, path, why);
		else
			printf("not ok %d - %s: %s\n", n, path, abs ? why : strerror(errno));
		free(why);
		free(abs);
		return rc < 0;
	}
	text = kept_source(p.json.buf);
	if (source_from_json(text, &kept)) {
		printf("not ok %d - %s: the probe kept no source\n", n, path);
		rc = 1;
	} else if (source_probe(c, abs, p.format, &read, &err)) {
		printf("not ok %d - %s: %s\n", n, path, err.buf);
		rc = 1;
	} else {
		compare(&kept, &read, &diff);
		if (diff.len)
			printf("not ok %d - %s: differ in%s\n", n, path, diff.buf);
		else
			printf("ok %d - %s\n", n, path);
		rc = diff.len > 0;
	}
	free(text);
	free(abs);
	sb_release(&err);
	sb_release(&diff);
	probe_release(&p);
	return rc;
}

int main(int argc, char **argv)
{
	struct conf c;
	int bad = 0;

	log_init("source-check");
	if (argc < 2) {
		fputs("usage: source-check FILE...\n", stderr);
		return EX_USAGE;
	}
	conf_init(&c);
	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++)
		bad |= check(&c, argv[i], i);
	conf_release(&c);
	return bad;
}
