/*
 * presign - print the presigned GET URL of one object (lib/sigv4.h), for
 * tests/92-sigv4-server.t to fetch with curl from a real S3 server.
 *
 *   presign [-p] [-t EPOCH] ENDPOINT BUCKET KEY EXPIRES
 *
 * -p: path-style addressing (virtual host otherwise); -t: sign as at
 * EPOCH seconds instead of now.  The credentials are AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (optional); the region
 * AWS_REGION (default us-east-1).  Exit 0, 64 on usage, 78 when sigv4
 * refuses the arguments.
 */
#include "conf.h"
#include "exits.h"
#include "log.h"
#include "sigv4.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] = "usage: presign [-p] [-t EPOCH] ENDPOINT BUCKET KEY EXPIRES";

int main(int argc, char **argv)
{
	struct sigv4_presign p = { 0 };
	struct strbuf url = STRBUF_INIT;
	long long v;
	int c;

	log_init("presign");
	p.now = time(NULL);
	while ((c = getopt(argc, argv, "pt:")) != -1) {
		if (c == 'p')
			p.path_style = 1;
		else if (c == 't' && !parse_int(optarg, 0, 253402300799LL, &v))
			p.now = (time_t)v;
		else
			die(MD_EXIT_USAGE, "%s", usage);
	}
	if (argc - optind != 4 || parse_int(argv[optind + 3], 1, SIGV4_EXPIRES_MAX, &v))
		die(MD_EXIT_USAGE, "%s", usage);
	p.endpoint = argv[optind];
	p.bucket = argv[optind + 1];
	p.key = argv[optind + 2];
	p.expires = (long)v;
	p.access_key = getenv("AWS_ACCESS_KEY_ID");
	p.secret_key = getenv("AWS_SECRET_ACCESS_KEY");
	p.session_token = getenv("AWS_SESSION_TOKEN");
	p.region = getenv("AWS_REGION") ? getenv("AWS_REGION") : "us-east-1";
	if (sigv4_presign_url(&p, &url))
		die(MD_EXIT_CONFIG, "cannot presign '%s': %s", p.key, strerror(errno));
	puts(url.buf);
	sb_release(&url);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(MD_EXIT_IOERR, "cannot write the URL: %s", strerror(errno));
	return MD_EXIT_OK;
}
