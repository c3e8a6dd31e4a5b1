/*
 * storage-cp - copy one file into a storage, or one object out of it,
 * through lib/storage.h: what tests/bench/s3.sh times beside the curl CLI.
 *
 *   storage-cp [-p PART_SIZE] URL SCRATCH put FILE KEY
 *   storage-cp [-p PART_SIZE] URL SCRATCH get KEY DIR
 *
 * URL is a storage URL (s3://BUCKET[/PREFIX] or a directory); SCRATCH the
 * local directory of its temp files.  The other settings come from the
 * AWS_* variables (storage.h); -p sets storage.part_size.
 *
 * put hard-links FILE into SCRATCH/tmp (so FILE must be on the same
 * filesystem) and stores that link as KEY: storage_put consumes its temp
 * file, and no copy of FILE is made or timed.  FILE itself is left alone.
 * get fetches KEY into DIR (storage_fetch) and prints the path written.
 *
 * Exit 0; 64 on usage; else storage_exit_code() of the failure, after
 * printing storage_strerror()'s account of it.
 */
#include "conf.h"
#include "exits.h"
#include "log.h"
#include "storage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] = "usage: storage-cp [-p PART_SIZE] URL SCRATCH put FILE KEY | get KEY DIR";

static int cp_put(const struct storage *st, const char *file, const char *key)
{
	char *tmp;
	int fd = storage_tmpfile(st, "cp", &tmp), e;

	if (fd < 0)
		die(MD_EXIT_IOERR, "cannot make a temp file in '%s': %s", storage_tmpdir(st), strerror(errno));
	/* the name is ours (O_EXCL): put the file there in its place */
	if (close(fd) || unlink(tmp) || link(file, tmp)) {
		e = errno;
		unlink(tmp);
		die(MD_EXIT_IOERR, "cannot link '%s' into '%s': %s", file, storage_tmpdir(st), strerror(e));
	}
	if (storage_put(st, tmp, key)) {
		e = errno;
		unlink(tmp);
		die(storage_exit_code(e), "cannot put '%s': %s", key, storage_strerror(st, e));
	}
	free(tmp);
	return MD_EXIT_OK;
}

static int cp_get(const struct storage *st, const char *key, const char *dir)
{
	char *p = storage_fetch(st, key, dir);

	if (!p)
		die(storage_exit_code(errno), "cannot get '%s': %s", key, storage_strerror(st, errno));
	puts(p);
	free(p);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(MD_EXIT_IOERR, "cannot write the path: %s", strerror(errno));
	return MD_EXIT_OK;
}

int main(int argc, char **argv)
{
	struct storage_conf c = { .retries = -1 };
	struct storage st;
	int opt, rc;

	log_init("storage-cp");
	while ((opt = getopt(argc, argv, "p:")) != -1) {
		if (opt == 'p' && !parse_size(optarg, &c.part_size))
			continue;
		die(MD_EXIT_USAGE, "%s", usage);
	}
	argv += optind;
	if (argc - optind != 5 || (strcmp(argv[2], "put") && strcmp(argv[2], "get")))
		die(MD_EXIT_USAGE, "%s", usage);
	c.scratch = argv[1];
	if (storage_open(&st, argv[0], &c))
		return MD_EXIT_CONFIG;
	if (!strcmp(argv[2], "put"))
		rc = cp_put(&st, argv[3], argv[4]);
	else
		rc = cp_get(&st, argv[3], argv[4]);
	storage_close(&st);
	return rc;
}
