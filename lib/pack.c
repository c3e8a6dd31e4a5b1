#include "pack.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <zip.h>

/* libzip's message for one of its error codes. */
static void zip_why(struct strbuf *why, const char *what, const char *path, int code)
{
	zip_error_t ze;

	zip_error_init_with_code(&ze, code);
	sb_addf(why, "%s '%s': %s", what, path, zip_error_strerror(&ze));
	zip_error_fini(&ze);
}

/*
 * The archive's one time, 1980-01-01 00:00: a ZIP holds an MS-DOS time of
 * the local zone, which libzip makes from a time_t with localtime(), so
 * the time_t is the one that localtime() turns into that date.
 */
static time_t pack_time(void)
{
	struct tm tm = { .tm_year = 80, .tm_mon = 0, .tm_mday = 1, .tm_isdst = -1 };

	return mktime(&tm);
}

/* Entry e, added as index i, stored with the fixed time and attributes. */
static int add_entry(zip_t *za, const struct pack_entry *e, time_t t, struct strbuf *why)
{
	zip_source_t *src;
	zip_int64_t i;
	struct stat sb;

	/* a file the step made, never a link it left to something else */
	if (lstat(e->path, &sb) || !S_ISREG(sb.st_mode)) {
		sb_addf(why, "'%s' is not a regular file", e->path);
		return -1;
	}
	if (!(src = zip_source_file(za, e->path, 0, -1))) {
		sb_addf(why, "cannot read '%s': %s", e->path, zip_strerror(za));
		return -1;
	}
	if ((i = zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8)) < 0) {
		sb_addf(why, "cannot add '%s': %s", e->name, zip_strerror(za));
		zip_source_free(src);
		return -1;
	}
	if (zip_set_file_compression(za, (zip_uint64_t)i, ZIP_CM_STORE, 0) ||
	    zip_file_set_mtime(za, (zip_uint64_t)i, t, 0) ||
	    zip_file_set_external_attributes(za, (zip_uint64_t)i, 0, ZIP_OPSYS_UNIX,
					     (zip_uint32_t)(S_IFREG | 0644) << 16)) {
		sb_addf(why, "cannot set up '%s': %s", e->name, zip_strerror(za));
		return -1;
	}
	return 0;
}

int pack_zip(const char *zip, const struct pack_entry *e, int n, struct strbuf *why)
{
	time_t t = pack_time();
	int code = 0;
	zip_t *za = zip_open(zip, ZIP_CREATE | ZIP_EXCL, &code);

	if (!za) {
		zip_why(why, "cannot create", zip, code);
		return -1;
	}
	for (int k = 0; k < n; k++)
		if (add_entry(za, &e[k], t, why)) {
			zip_discard(za);
			return -1;
		}
	if (zip_close(za)) {
		sb_addf(why, "cannot write '%s': %s", zip, zip_strerror(za));
		zip_discard(za);
		return -1;
	}
	return 0;
}

/* Entry i read whole into *data (the caller frees it). */
static int read_entry(zip_t *za, zip_uint64_t i, const zip_stat_t *st, unsigned char **data,
		      struct strbuf *why)
{
	zip_file_t *f = zip_fopen_index(za, i, 0);
	zip_int64_t got;

	*data = NULL;
	if (!f) {
		sb_addf(why, "entry '%s' does not open: %s", st->name, zip_strerror(za));
		return -1;
	}
	*data = xmalloc(st->size + 1);
	got = zip_fread(f, *data, st->size);
	/* one more read to reach the end, where libzip checks the CRC */
	if (got == (zip_int64_t)st->size && zip_fread(f, *data + st->size, 1) == 0) {
		zip_fclose(f);
		return 0;
	}
	sb_addf(why, "entry '%s' does not read back: %s", st->name,
		got < 0 ? zip_file_strerror(f) : "short");
	zip_fclose(f);
	free(*data);
	*data = NULL;
	return -1;
}

static int each_entry(zip_t *za, zip_uint64_t i, size_t max_bytes, pack_entry_fn fn, void *arg,
		      struct strbuf *why)
{
	unsigned char *data;
	zip_stat_t st;
	int rc;

	zip_stat_init(&st);
	if (zip_stat_index(za, i, 0, &st) || !(st.valid & ZIP_STAT_NAME) ||
	    !(st.valid & ZIP_STAT_SIZE)) {
		sb_addf(why, "entry %llu: %s", (unsigned long long)i + 1, zip_strerror(za));
		return -1;
	}
	if (st.size > max_bytes) {
		sb_addf(why, "entry '%s' is %llu bytes, more than %zu", st.name,
			(unsigned long long)st.size, max_bytes);
		return -1;
	}
	if (read_entry(za, i, &st, &data, why))
		return -1;
	rc = fn(arg, (int)i, st.name, data, (size_t)st.size, why);
	free(data);
	return rc;
}

int pack_each(const char *zip, size_t max_bytes, pack_entry_fn fn, void *arg, struct strbuf *why)
{
	int code = 0;
	zip_t *za = zip_open(zip, ZIP_RDONLY | ZIP_CHECKCONS, &code);
	zip_int64_t n;

	if (!za) {
		zip_why(why, "cannot open", zip, code);
		return -1;
	}
	n = zip_get_num_entries(za, 0);
	for (zip_int64_t i = 0; i < n; i++)
		if (each_entry(za, (zip_uint64_t)i, max_bytes, fn, arg, why)) {
			zip_discard(za);
			return -1;
		}
	zip_discard(za);
	return n > 0x7fffffff ? 0x7fffffff : (int)n;
}
