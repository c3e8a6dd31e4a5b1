/*
 * test-storage.c - storage by key (storage.h, the filesystem backend) and
 * the file primitives under it (file.h).  Included by test-lib.c.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_storage_keys(void)
{
	char *k;

	k = storage_original_key("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789", "mp4");
	is_str(k, "originals/ab/cd/abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789.mp4",
	       "original key is sharded by hash");
	free(k);
	k = storage_rendition_key("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
				  "thumb", 42, 3, "thumb.jpg");
	is_str(k, "renditions/ab/cd/abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	       "/thumb/42-3/thumb.jpg",
	       "rendition key is sharded by hash, in a folder of its run (job 42, claim 3)");
	free(k);
	k = storage_rendition_key("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
				  "hls", 7, 1, NULL);
	is_str(k, "renditions/ab/cd/abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789/hls/7-1",
	       "a run's folder");
	free(k);
}

/* A temp file of storage st holding text, closed; its path. */
static char *tmp_with(const struct storage *st, const char *text)
{
	char *tmp = NULL;
	int fd = storage_tmpfile(st, "t", &tmp);

	if (fd < 0)
		return NULL;
	if (write_all(fd, text, strlen(text)) || close(fd)) {
		unlink(tmp);
		free(tmp);
		return NULL;
	}
	return tmp;
}

/* Write text to dir/name, making dir's sub-directories. */
static int put_local(const char *dir, const char *name, const char *text)
{
	char *p = xstrfmt("%s/%s", dir, name);
	int rc = write_file_atomic(p, text, strlen(text));

	free(p);
	return rc;
}

static int read_key(const struct storage *st, const char *key, char *buf, size_t len)
{
	int fd = storage_open_read(st, key);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

static void test_storage_objects(struct storage *st)
{
	char *tmp, *name, *path, got[64] = "";
	int64_t size = -1;

	tmp = tmp_with(st, "hi");
	ok(tmp != NULL, "a temp file is written");
	ok(!storage_put(st, tmp, "originals/aa/bb/x.txt") && access(tmp, F_OK),
	   "put renames the temp file into place");
	name = storage_name(st, "originals/aa/bb/x.txt");
	ok(!access(name, R_OK), "the object is the file under the root (the layout on disk)");
	ok(!storage_stat(st, "originals/aa/bb/x.txt", &size) && size == 2, "stat gives its size");
	ok(storage_stat(st, "originals/aa/bb/none", NULL) && errno == ENOENT,
	   "stat of a missing key is ENOENT");
	ok(!read_key(st, "originals/aa/bb/x.txt", got, sizeof(got)) && !strcmp(got, "hi"),
	   "open_read reads it back");
	path = storage_fetch(st, "originals/aa/bb/x.txt", "/nonexistent");
	is_str(path, name, "fetch hands back the stored file itself, no copy");
	free(path);
	ok(!storage_fetch(st, "originals/aa/bb/none", "/nonexistent") && errno == ENOENT,
	   "fetch of a missing key fails with ENOENT");
	ok(!storage_delete(st, "originals/aa/bb/x.txt") && access(name, F_OK) &&
	   !storage_delete(st, "originals/aa/bb/x.txt"), "delete removes it, and again is fine");
	free(name);
	free(tmp);
}

static void publish_count(void *arg, const char *name, int64_t size)
{
	struct strbuf *sb = arg;

	sb_addf(sb, "%s:%lld ", name, (long long)size);
}

static void test_storage_publish(struct storage *st)
{
	struct strbuf seen = STRBUF_INIT, err = STRBUF_INIT;
	char *work = storage_workdir(st), *out = xstrfmt("%s/out", work);
	char *link = xstrfmt("%s/link", out);
	const char *pre = "renditions/aa/bb/s/p";
	size_t n = 0;
	char **keys;

	ok(work && !put_local(out, "b.txt", "bb") && !put_local(out, "a/1.ts", "1") &&
	   !put_local(out, ".hidden", "h") && !symlink("/etc/passwd", link),
	   "a scratch folder of outputs is made");
	ok(!storage_publish_dir(st, out, pre, publish_count, &seen, &err),
	   "a folder is published");
	is_str(seen.buf, "a/1.ts:1 b.txt:2 ", "each file is reported, in order, with its size");
	keys = storage_list(st, "renditions/aa/bb/s/", &n);
	ok(keys && n == 2 && !strcmp(keys[0], "renditions/aa/bb/s/p/a/1.ts") &&
	   !strcmp(keys[1], "renditions/aa/bb/s/p/b.txt"),
	   "list by prefix finds its files, and no dot-name or symlink");
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	keys = storage_list(st, "renditions/zz", &n);
	ok(keys && n == 0, "a prefix that matches nothing lists nothing");
	free(keys);
	ok(!put_local(out, "c.txt", "c") &&
	   !storage_publish_dir(st, out, pre, NULL, NULL, &err), "a folder is published again");
	keys = storage_list(st, pre, &n);
	ok(keys && n == 1 && !strcmp(keys[0], "renditions/aa/bb/s/p/c.txt"),
	   "the new folder replaces the old one as a whole");
	for (size_t i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
	keys = list_dir(storage_tmpdir(st), 0, &n);
	ok(keys && n == 0, "nothing is left in tmp/");
	free(keys);
	ok(!remove_tree(work), "the scratch directory is removed");
	free(link);
	free(out);
	free(work);
	sb_release(&seen);
	sb_release(&err);
}

/* s3:// settings, names and errors; no request reaches a server (the
 * one that is tried is refused at once, on a loopback port nothing
 * listens on).  tests/93-s3-pipeline.t and 94-s3-faults.t talk to one. */
static void test_storage_s3(void)
{
	static const char *aws[] = { "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
				     "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
				     "AWS_ENDPOINT_URL_S3" };
	char *scratch = xstrfmt("%s/scratch", tmpdir), *name;
	struct storage_conf c = {
		.endpoint = "http://127.0.0.1:1", .access_key = "AKCONF", .secret_key = "SKCONF",
		.scratch = scratch, .retries = 0,
	};
	struct storage st, fs;
	struct strbuf u = STRBUF_INIT;
	int64_t size;
	size_t n;

	for (size_t i = 0; i < sizeof(aws) / sizeof(aws[0]); i++)
		unsetenv(aws[i]);
	ok(!storage_open(&st, "s3://media/a/b/", &c), "an s3:// URL opens with an endpoint and keys");
	ok(storage_is_remote(&st), "it is an object store");
	name = storage_name(&st, "originals/x.jpg");
	is_str(name, "s3://media/a/b/originals/x.jpg", "its objects are named by URL, under the prefix");
	free(name);
	ok(!storage_presign(&st, "k.jpg", 60, &u) &&
	   !strncmp(u.buf, "http://127.0.0.1:1/media/a/b/k.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
		    "X-Amz-Credential=AKCONF%2F", 84) && strstr(u.buf, "X-Amz-Expires=60&"),
	   "a presigned URL: path style at the endpoint, the config's key, the expiry");
	errno = 0;
	ok(storage_stat(&st, "originals/x.jpg", &size) && errno == EAGAIN,
	   "an endpoint that refuses connections: EAGAIN once the retries are spent");
	ok(!strncmp(storage_strerror(&st, EAGAIN), "http://127.0.0.1:1: ", 20) &&
	   strstr(storage_strerror(&st, EAGAIN), " after 1 tries"),
	   "the store's account names the endpoint and the tries");
	ok(storage_exit_code(EAGAIN) == 75, "a store out of reach: exit 75");
	ok(storage_exit_code(EACCES) == 78, "a store that refuses: exit 78");
	ok(storage_exit_code(EIO) == 74, "anything else: exit 74");
	storage_close(&st);

	setenv("AWS_ACCESS_KEY_ID", "AKENV", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "SKENV", 1);
	setenv("AWS_ENDPOINT_URL", "https://minio.example:9000/", 1);
	setenv("AWS_REGION", "eu-west-3", 1);
	struct storage_conf bare = { .scratch = scratch, .retries = -1 };
	sb_reset(&u);
	ok(!storage_open(&st, "s3://media", &bare) && !storage_presign(&st, "k", 60, &u) &&
	   !strncmp(u.buf, "https://minio.example:9000/media/k?", 35) &&
	   strstr(u.buf, "AKENV%2F") && strstr(u.buf, "%2Feu-west-3%2Fs3%2F"),
	   "what the config leaves unset comes from AWS_*");
	storage_close(&st);
	struct storage_conf half = { .access_key = "AKCONF", .scratch = scratch, .retries = -1 };
	sb_reset(&u);
	ok(!storage_open(&st, "s3://media", &half) && !storage_presign(&st, "k", 60, &u) &&
	   strstr(u.buf, "AKENV%2F"), "the credentials come as a pair: half a pair in the config is not used");
	storage_close(&st);
	struct storage_conf virt = { .addressing = "virtual", .scratch = scratch, .retries = -1 };
	sb_reset(&u);
	ok(!storage_open(&st, "s3://media/p", &virt) && !storage_presign(&st, "k", 60, &u) &&
	   !strncmp(u.buf, "https://media.minio.example:9000/p/k?", 37),
	   "virtual-host addressing puts the bucket in the host name");
	storage_close(&st);
	for (size_t i = 0; i < sizeof(aws) / sizeof(aws[0]); i++)
		unsetenv(aws[i]);

	ok(storage_open(&st, "s3://Bad_Bucket/x", &c), "a bucket name S3 refuses is refused");
	ok(storage_open(&st, "s3://ab", &c), "so is one of two letters");
	ok(storage_open(&st, "s3://media/a b", &c), "a prefix with a space is refused");
	struct storage_conf ftp = c;
	ftp.endpoint = "ftp://127.0.0.1";
	ok(storage_open(&st, "s3://media", &ftp), "an endpoint that is not http(s) is refused");
	ftp.endpoint = "http://127.0.0.1/path";
	ok(storage_open(&st, "s3://media", &ftp), "so is one with a path");
	struct storage_conf nokeys = { .endpoint = "http://127.0.0.1:1", .scratch = scratch, .retries = -1 };
	ok(storage_open(&st, "s3://media", &nokeys), "no credentials anywhere: refused");
	struct storage_conf small = c;
	small.part_size = 1 << 20;
	ok(storage_open(&st, "s3://media", &small), "a part size under 5 MiB is refused");
	ok(storage_open(&st, "gs://media", &c), "an unknown scheme is refused");

	ok(!storage_open(&fs, scratch, NULL), "a directory opens without S3 settings");
	ok(!storage_is_remote(&fs), "it is not an object store");
	errno = 0;
	sb_reset(&u);
	ok(storage_presign(&fs, "k", 60, &u) && errno == ENOTSUP, "a directory signs no URL");
	struct storage_upload *up = storage_uploads(&fs, &n);
	ok(up && n == 0, "and holds no multipart upload");
	storage_uploads_free(up, n);
	storage_close(&fs);
	sb_release(&u);
	free(scratch);
}

static void test_storage(void)
{
	struct storage st;
	char *root = xstrfmt("%s/store", tmpdir), *name;

	test_storage_keys();
	test_storage_s3();
	ok(!storage_open(&st, root, NULL) && !storage_init(&st), "storage directories are made");
	name = storage_name(&st, NULL);
	is_str(name, root, "the storage is named by its root");
	free(name);
	test_storage_objects(&st);
	test_storage_publish(&st);
	char *fa = xstrfmt("%s/feed/tags/a.json", root);
	ok(!write_file_atomic(fa, "{}\n", 3) && !write_file_atomic(fa, "[1]\n", 4),
	   "write_file_atomic creates and then replaces a file");
	FILE *rf = fopen(fa, "r");
	char got[16] = "";
	ok(rf && fgets(got, sizeof(got), rf) && !strcmp(got, "[1]\n"), "the reader sees the new contents");
	if (rf)
		fclose(rf);
	char *fdir = xstrfmt("%s/feed/tags", root);
	size_t nn;
	char **names = list_dir(fdir, 0, &nn);
	ok(names && nn == 1 && !strcmp(names[0], "a.json"), "no temp file is left beside it");
	for (size_t i = 0; names && i < nn; i++)
		free(names[i]);
	free(names);
	ok(!list_dir("/nonexistent-md-dir", 0, &nn), "list_dir of a missing directory fails");
	free(fdir);
	free(fa);
	ok(!remove_tree(root) && access(root, F_OK), "remove_tree removes everything");
	free(root);
	storage_close(&st);
}
